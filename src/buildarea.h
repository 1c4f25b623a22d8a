/*-------------------------------------------------------------------------
 *
 * buildarea.h
 *	  The layout of the in-memory graph of CREATE INDEX, shared by
 *	  buildgraph.c (which builds it) and areawrite.c (which writes it to
 *	  pages).
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef HNSW_BUILDAREA_H
#define HNSW_BUILDAREA_H

#include "hnsw.h"

/*
 * One element of the in-memory graph.  The value follows the header (at
 * ELEMENT_VALUE_OFFSET), then the filter columns if any, then the lists.
 * A float8[] value to be coded is measured narrowed to floats in the
 * graph (its value here), and kept whole after the links (area's
 * full_values) for its chunks and code.
 */
typedef struct HnswBuildElement
{
	ItemPointerData heaptid;
	uint8		level;
	uint16		counts[HNSW_MAX_LAYERS];
	uint32		number;			/* its index in the directory */
	uint32		filter_offset;	/* from the start of this struct; 0 = none */
	uint32		lists_offset;	/* likewise: layer 0's 2m slots, then m per
								 * layer up to level, element ids */
	uint32		links_offset;	/* likewise: its AreaLinks; 0 = none */
	LWLock		lock;			/* counts, lists and links, in a shared area */
} HnswBuildElement;

#define ELEMENT_VALUE_OFFSET MAXALIGN(sizeof(HnswBuildElement))

/*
 * The value links of an element (links.c), in an area with linked columns:
 * the keys of its values in those columns, which of them are not NULL, and
 * per column how many links it has; then per column link_slots element ids
 * and link_slots distances.
 */
typedef struct AreaLinks
{
	uint32		valid;			/* bit j: linked column j is not NULL */
	uint8		counts[HNSW_MAX_LINKED_COLUMNS];
	uint64		keys[FLEXIBLE_ARRAY_MEMBER];
} AreaLinks;

#define AREA_LINKS_SIZE(area) \
	MAXALIGN(offsetof(AreaLinks, keys) + sizeof(uint64) * (area)->nlinked + \
			 (Size) (area)->nlinked * (area)->link_slots * \
			 (sizeof(uint32) + sizeof(float4)))

#define AREA_DIRECTORY(area) \
	((Size *) ((char *) (area) + (area)->size))

/* the element an id names */
static inline HnswBuildElement *
area_element(HnswBuildArea *area, HnswElemId id)
{
	return (HnswBuildElement *) ((char *) area + id * MAXIMUM_ALIGNOF);
}

/* the id of the element of directory index number */
static inline HnswElemId
area_numbered(HnswBuildArea *area, uint32 number)
{
	return AREA_DIRECTORY(area)[-(int64) number - 1] / MAXIMUM_ALIGNOF;
}

static inline uint32 *
element_list(HnswBuildArea *area, HnswBuildElement *e, int layer)
{
	return (uint32 *) ((char *) e + e->lists_offset) +
		(layer == 0 ? 0 : 2 * area->m + (layer - 1) * area->m);
}

static inline AreaLinks *
element_links(HnswBuildElement *e)
{
	return (AreaLinks *) ((char *) e + e->links_offset);
}

/* the element ids of linked column j's links; their distances follow */
static inline uint32 *
links_ids(HnswBuildArea *area, AreaLinks *links, int j)
{
	return (uint32 *) (links->keys + area->nlinked) + j * 2 * area->link_slots;
}

static inline float4 *
links_distances(HnswBuildArea *area, AreaLinks *links, int j)
{
	return (float4 *) (links_ids(area, links, j) + area->link_slots);
}

static inline Datum
element_value(HnswBuildElement *e)
{
	return PointerGetDatum((char *) e + ELEMENT_VALUE_OFFSET);
}

/* what the element's chunks hold and its code is made of */
static inline Datum
element_full_value(HnswBuildArea *area, HnswBuildElement *e)
{
	if (!area->full_values)
		return element_value(e);
	return PointerGetDatum((char *) e + e->lists_offset +
						   MAXALIGN(sizeof(uint32) * (2 * area->m + e->level * area->m)) +
						   (e->links_offset ? AREA_LINKS_SIZE(area) : 0));
}

static inline IndexTuple
element_filter(HnswBuildElement *e)
{
	return e->filter_offset ? (IndexTuple) ((char *) e + e->filter_offset) : NULL;
}

#endif							/* HNSW_BUILDAREA_H */
