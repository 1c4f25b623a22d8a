/*-------------------------------------------------------------------------
 *
 * buildgraph.c
 *	  The in-memory graph of CREATE INDEX: an area of memory that one
 *	  backend, or a leader and its parallel workers, insert into.
 *
 * The area is one block of memory, local or in dynamic shared memory, so
 * everything in it is addressed by offsets.  Elements are carved from its
 * front; a directory of their offsets, indexed by element number (the
 * order of insertion, which is the order they are written to pages in),
 * grows from its back.  When the two meet the area is full and the build
 * goes on on disk (see build.c).
 *
 * An element's id in the graph, and in the neighbour lists, is not its
 * number but its offset in MAXALIGN units, and its value comes right after
 * its header: so the search, which meets a neighbour's id and wants its
 * value, can find and prefetch it with arithmetic alone, where a directory
 * lookup and then a header read each waited for memory, on the build's
 * hottest path.
 *
 * Locking, when the area is shared (a parallel build): mutex, flush_lock,
 * entry_lock and one lock per element, always taken in that order; the
 * rules are in src/README's "Concurrency".  A build without workers uses
 * the same code with the locking left out.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "common/pg_prng.h"

#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

/*
 * One element of the in-memory graph.  The value follows the header (at
 * ELEMENT_VALUE_OFFSET), then the filter columns if any, then the lists.
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

/* The graph callbacks over an area, private to one process */
typedef struct AreaGraph
{
	HnswGraph	graph;
	HnswBuildArea *area;
} AreaGraph;

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

static inline IndexTuple
element_filter(HnswBuildElement *e)
{
	return e->filter_offset ? (IndexTuple) ((char *) e + e->filter_offset) : NULL;
}

static inline void
lock_element(HnswBuildArea *area, HnswBuildElement *e, LWLockMode mode)
{
	if (area->shared)
		LWLockAcquire(&e->lock, mode);
}

static inline void
unlock_element(HnswBuildArea *area, HnswBuildElement *e)
{
	if (area->shared)
		LWLockRelease(&e->lock);
}

/*
 * Set up an area of size bytes at mem.  shared says other processes will
 * use it too, so it needs its locks.
 */
HnswBuildArea *
HnswAreaInit(void *mem, Size size, HnswOptions *opts, uint32 linked_columns,
			 bool shared)
{
	HnswBuildArea *area = (HnswBuildArea *) mem;

	memset(area, 0, sizeof(HnswBuildArea));
	/* ids are 32-bit offsets in MAXALIGN units: use at most 32 GB */
	area->size = Min(size, (Size) PG_UINT32_MAX * MAXIMUM_ALIGNOF);
	area->opts = *opts;
	area->m = opts->m;
	if (opts->filter_links > 0 && linked_columns != 0)
	{
		area->linked_columns = linked_columns;
		area->nlinked = HnswLinkedColumnCount(linked_columns);
		area->link_slots = opts->filter_links;
	}
	area->shared = shared;
	area->front = MAXALIGN(sizeof(HnswBuildArea));
	area->entry_level = -1;
	SpinLockInit(&area->mutex);
	if (shared)
	{
		area->lwlock_tranche = LWLockNewTrancheId();
		LWLockRegisterTranche(area->lwlock_tranche, "hnsw_build");
		LWLockInitialize(&area->entry_lock, area->lwlock_tranche);
		LWLockInitialize(&area->flush_lock, area->lwlock_tranche);
	}
	return area;
}

static bool
area_distance_to(HnswGraph *graph, Datum value, HnswElemId id, double limit,
				 double *distance, bool *deleted)
{
	HnswBuildElement *e = area_element(((AreaGraph *) graph)->area, id);

	*distance = HnswComputeDistanceWithin(graph->distance, value,
										  element_value(e), limit);
	*deleted = false;
	return true;
}

static int
area_neighbors(HnswGraph *graph, HnswElemId id, int layer, HnswElemId *out)
{
	HnswBuildArea *area = ((AreaGraph *) graph)->area;
	HnswBuildElement *e = area_element(area, id);
	uint32	   *list;
	int			n;

	if (layer > e->level)
		return 0;
	list = element_list(area, e, layer);
	lock_element(area, e, LW_SHARED);
	n = e->counts[layer];
	for (int i = 0; i < n; i++)
		out[i] = list[i];
	unlock_element(area, e);
	return n;
}

static Datum
area_value(HnswGraph *graph, HnswElemId id)
{
	return element_value(area_element(((AreaGraph *) graph)->area, id));
}

/*
 * Prefetch for a hop (see HnswGraph): the element's first line, or with
 * deep every other line of the first 1.5 kB of its value (the hardware
 * prefetchers bring the lines between and stream the rest: every line was
 * no faster; for a short value the lines past it belong to the element's
 * lists or the next element: harmless).  Nothing here waits for memory.
 */
static void
area_prefetch(HnswGraph *graph, HnswElemId id, bool deep)
{
	HnswBuildElement *e = area_element(((AreaGraph *) graph)->area, id);

	if (!deep)
		__builtin_prefetch(e);
	else
	{
		for (int i = 0; i < 12; i++)
			__builtin_prefetch((const char *) e + ELEMENT_VALUE_OFFSET +
							   i * 2 * HNSW_PREFETCH_STRIDE);
	}
}

static bool
area_replace(HnswGraph *graph, HnswElemId target, const HnswElemId *seen,
			 int nseen, HnswCandidate *list, int nlist)
{
	HnswBuildArea *area = ((AreaGraph *) graph)->area;
	HnswBuildElement *e = area_element(area, target);
	uint32	   *slots = element_list(area, e, 0);
	bool		same;

	lock_element(area, e, LW_EXCLUSIVE);
	same = (e->counts[0] == nseen);
	for (int i = 0; same && i < nseen; i++)
		same = (slots[i] == seen[i]);
	if (same)
	{
		for (int i = 0; i < nlist; i++)
			slots[i] = (uint32) list[i].id;
		e->counts[0] = nlist;
	}
	unlock_element(area, e);
	return same;
}

/* The graph callbacks over area, for this process */
HnswGraph *
HnswAreaGraph(HnswBuildArea *area, HnswDistance *dist)
{
	AreaGraph  *g = palloc0(sizeof(AreaGraph));

	if (area->shared)
		LWLockRegisterTranche(area->lwlock_tranche, "hnsw_build");
	g->graph.distance = dist;
	HnswGraphSetOptions(&g->graph, area->m, area->opts.ef_construction,
						area->opts.max_layers, area->opts.level_scale,
						area->opts.extend_candidates, area->opts.keep_pruned);
	g->graph.distance_to = area_distance_to;
	g->graph.neighbors = area_neighbors;
	g->graph.value = area_value;
	g->graph.replace = area_replace;
	g->graph.prefetch = area_prefetch;
	g->area = area;
	return &g->graph;
}

/*
 * Check a value's dimension against the first one's (which fixes it).
 */
void
HnswAreaCheckDimensions(HnswBuildArea *area, uint32 dims)
{
	uint32		fixed;

	SpinLockAcquire(&area->mutex);
	if (area->dimensions == 0)
		area->dimensions = dims;
	fixed = area->dimensions;
	SpinLockRelease(&area->mutex);
	if (dims != fixed)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %u dimensions, not %u", fixed, dims),
				 errdetail("All values in an hnsw index must have the same dimension; the first one indexed has %u.",
						   fixed)));
}

/*
 * Carve an element of size bytes from the area, give it the next number and
 * set *id; NULL if the area is full.
 */
static HnswBuildElement *
area_alloc(HnswBuildArea *area, Size size, HnswElemId *id)
{
	HnswBuildElement *e = NULL;

	size = MAXALIGN(size);
	SpinLockAcquire(&area->mutex);
	if (area->front + size + (area->nelements + 1) * sizeof(Size) <= area->size)
	{
		e = (HnswBuildElement *) ((char *) area + area->front);
		e->number = area->nelements;
		*id = area->front / MAXIMUM_ALIGNOF;
		AREA_DIRECTORY(area)[-(int64) area->nelements - 1] = area->front;
		area->front += size;
		area->nelements++;
	}
	SpinLockRelease(&area->mutex);
	return e;
}

/*
 * Add link to the list of element n on layer: appended if there is room,
 * else the list is pruned by the heuristic with link among the candidates.
 */
static void
add_link(HnswBuildArea *area, HnswGraph *graph, HnswElemId target, int layer,
		 HnswCandidate *link)
{
	HnswBuildElement *n = area_element(area, target);
	uint32	   *list = element_list(area, n, layer);
	int			max = HnswMaxNeighbors(area->m, layer);

	lock_element(area, n, LW_EXCLUSIVE);
	if (n->counts[layer] < max)
		list[n->counts[layer]++] = (uint32) link->id;
	else
	{
		HnswElemId	ids[2 * HNSW_MAX_M];
		HnswCandidate pruned[2 * HNSW_MAX_M + 1];
		int			k;

		for (int i = 0; i < n->counts[layer]; i++)
			ids[i] = list[i];
		k = HnswPruneNeighbors(graph, element_value(n), ids, n->counts[layer],
							   link, max, pruned);
		for (int i = 0; i < k; i++)
			list[i] = (uint32) pruned[i].id;
		n->counts[layer] = k;
	}
	unlock_element(area, n);
}

/*
 * Give the new element id (which nobody knows yet) its value links, chosen
 * from pool, the candidates of its layer-0 search, and give each element it
 * links to a link back (see links.c).
 */
static void
link_values(HnswBuildArea *area, HnswGraph *graph, HnswElemId id,
			HnswCandidate *pool, int npool)
{
	HnswBuildElement *e = area_element(area, id);
	AreaLinks  *links = element_links(e);
	int			ncolumns = area->nlinked;
	int			nslots = area->link_slots;
	uint64	   *pool_keys = palloc(sizeof(uint64) * ncolumns * Max(npool, 1));
	uint32	   *pool_valid = palloc(sizeof(uint32) * Max(npool, 1));
	HnswCandidate *chosen = palloc(sizeof(HnswCandidate) * ncolumns * nslots);
	int			counts[HNSW_MAX_LINKED_COLUMNS];

	for (int i = 0; i < npool; i++)
	{
		AreaLinks  *other = element_links(area_element(area, pool[i].id));

		pool_valid[i] = other->valid;
		memcpy(&pool_keys[i * ncolumns], other->keys, sizeof(uint64) * ncolumns);
	}
	HnswChooseValueLinks(graph, element_value(e), ncolumns, nslots,
						 links->keys, links->valid, id, pool, npool,
						 pool_keys, pool_valid, chosen, counts);

	lock_element(area, e, LW_EXCLUSIVE);
	for (int j = 0; j < ncolumns; j++)
	{
		for (int i = 0; i < counts[j]; i++)
		{
			links_ids(area, links, j)[i] = (uint32) chosen[j * nslots + i].id;
			links_distances(area, links, j)[i] = (float4) chosen[j * nslots + i].distance;
		}
		links->counts[j] = counts[j];
	}
	unlock_element(area, e);

	for (int j = 0; j < ncolumns; j++)
		for (int i = 0; i < counts[j]; i++)
		{
			HnswBuildElement *t = area_element(area, chosen[j * nslots + i].id);
			AreaLinks  *tl = element_links(t);
			uint32	   *ids = links_ids(area, tl, j);
			float4	   *distances = links_distances(area, tl, j);
			float4		distance = (float4) chosen[j * nslots + i].distance;
			bool		present = false;
			int			slot;

			lock_element(area, t, LW_EXCLUSIVE);
			for (int k = 0; k < tl->counts[j] && !present; k++)
				present = (ids[k] == (uint32) id);
			slot = present ? -1 :
				HnswValueLinkSlot(distances, tl->counts[j], nslots, distance);
			if (slot >= 0)
			{
				ids[slot] = (uint32) id;
				distances[slot] = distance;
				if (slot == tl->counts[j])
					tl->counts[j]++;
			}
			unlock_element(area, t);
		}
	pfree(pool_keys);
	pfree(pool_valid);
	pfree(chosen);
}

/*
 * Insert a prepared value as a new element (Algorithm 1 of the paper).
 * Returns false, having done nothing, if the area is full or has been
 * written out: the caller then goes on disk.
 */
bool
HnswAreaInsert(HnswBuildArea *area, HnswGraph *graph, Datum value,
			   IndexTuple filter, TupleDesc filter_desc, ItemPointer heaptid)
{
	int			m = area->m;
	int			level = HnswRandomLevel(graph);
	Size		vsize = VARSIZE_ANY(DatumGetPointer(value));
	Size		fsize = filter ? IndexTupleSize(filter) : 0;
	Size		lists_size = MAXALIGN(sizeof(uint32) * (2 * m + level * m));
	Size		links_size = area->nlinked > 0 ? AREA_LINKS_SIZE(area) : 0;
	Size		size = ELEMENT_VALUE_OFFSET + MAXALIGN(vsize) + MAXALIGN(fsize) +
		lists_size + links_size;
	HnswCandidate *pool = NULL;
	int			npool = 0;
	HnswCandidate *lists[HNSW_MAX_LAYERS];
	int			counts[HNSW_MAX_LAYERS];
	HnswBuildElement *e;
	HnswElemId	id;
	HnswElemId	entry;
	int			entry_level;
	bool		new_entry = false;

	if (area->shared)
	{
		/* see the locking notes at the top of this file */
		LWLockAcquire(&area->flush_lock, LW_SHARED);
		if (area->flushed)
		{
			LWLockRelease(&area->flush_lock);
			return false;
		}
	}
	e = area_alloc(area, size, &id);
	if (e == NULL)
	{
		if (area->shared)
			LWLockRelease(&area->flush_lock);
		return false;
	}

	if (area->shared)
		LWLockAcquire(&area->entry_lock, LW_SHARED);
	if (level > area->entry_level)
	{
		/* this element becomes the entry point: be the only one */
		if (area->shared)
		{
			LWLockRelease(&area->entry_lock);
			LWLockAcquire(&area->entry_lock, LW_EXCLUSIVE);
		}
		new_entry = level > area->entry_level;
	}
	entry = area->entry;
	entry_level = area->entry_level;
	if (area->shared && !new_entry)
		LWLockRelease(&area->entry_lock);

	/* the element, complete before anyone can know its number */
	e->heaptid = *heaptid;
	e->level = level;
	memcpy(DatumGetPointer(element_value(e)), DatumGetPointer(value), vsize);
	e->filter_offset = 0;
	if (filter)
	{
		e->filter_offset = ELEMENT_VALUE_OFFSET + MAXALIGN(vsize);
		memcpy(element_filter(e), filter, fsize);
	}
	e->lists_offset = ELEMENT_VALUE_OFFSET + MAXALIGN(vsize) + MAXALIGN(fsize);
	memset(e->counts, 0, sizeof(e->counts));
	e->links_offset = 0;
	if (links_size > 0)
	{
		AreaLinks  *links;

		e->links_offset = e->lists_offset + lists_size;
		links = element_links(e);
		memset(links, 0, offsetof(AreaLinks, keys));
		links->valid = HnswValueKeys(filter_desc, filter, area->linked_columns,
									 links->keys);
	}
	if (area->shared)
		LWLockInitialize(&e->lock, area->lwlock_tranche);

	for (int l = 0; l <= level; l++)
		counts[l] = 0;
	if (entry_level >= 0)
		HnswFindNeighbors(graph, value, level, entry, entry_level, lists, counts,
						  links_size > 0 ? &pool : NULL, &npool);
	if (links_size > 0)
		link_values(area, graph, id, pool, npool);

	lock_element(area, e, LW_EXCLUSIVE);
	for (int l = 0; l <= level; l++)
	{
		uint32	   *list = element_list(area, e, l);

		for (int i = 0; i < counts[l]; i++)
			list[i] = (uint32) lists[l][i].id;
		e->counts[l] = counts[l];
	}
	unlock_element(area, e);

	/* the reverse links */
	for (int l = Min(level, entry_level); l >= 0; l--)
		for (int i = 0; i < counts[l]; i++)
		{
			HnswCandidate link;

			link.id = id;
			link.distance = lists[l][i].distance;
			link.deleted = false;
			add_link(area, graph, lists[l][i].id, l, &link);
		}

	if (new_entry)
	{
		area->entry = id;
		area->entry_level = level;
		if (area->shared)
			LWLockRelease(&area->entry_lock);
	}
	if (area->shared)
		LWLockRelease(&area->flush_lock);
	return true;
}

/*
 * Link back the elements that cannot be reached (see reconnect.c), once
 * all are in.  Returns how many there were.
 */
int
HnswAreaLinkUnreachable(HnswBuildArea *area, HnswGraph *graph)
{
	HnswElemId *ids = MemoryContextAllocHuge(CurrentMemoryContext,
											 sizeof(HnswElemId) * Max(area->nelements, 1));
	int			unreached;
	int			remaining;

	for (uint32 i = 0; i < area->nelements; i++)
		ids[i] = area_numbered(area, i);
	HnswLinkUnreachable(graph, ids, area->nelements, area->entry,
						area->entry_level, &unreached, &remaining);
	pfree(ids);
	return unreached;
}

/* Copy the value links of e into its element tuple, ids made TIDs */
static void
write_links(HnswBuildArea *area, HnswBuildElement *e, ItemPointerData *etids,
			HnswElementTuple etup)
{
	AreaLinks  *links = element_links(e);
	int			nslots = area->link_slots;
	HnswCandidate *list = palloc(sizeof(HnswCandidate) * area->nlinked * nslots);
	int			counts[HNSW_MAX_LINKED_COLUMNS];

	for (int j = 0; j < area->nlinked; j++)
	{
		counts[j] = links->counts[j];
		for (int i = 0; i < counts[j]; i++)
		{
			HnswCandidate *c = &list[j * nslots + i];

			c->id = HnswElemIdFromTid(&etids[area_element(area, links_ids(area, links, j)[i])->number]);
			c->distance = links_distances(area, links, j)[i];
		}
	}
	HnswSetValueLinks(etup, list, counts);
	pfree(list);
}

/* What the steps of HnswAreaWrite share */
typedef struct AreaWrite
{
	HnswBuildArea *area;
	Relation	index;
	int			n;				/* elements */
	HnswExternalValue **exts;	/* per element: its value's chunks, if any */
	HnswLayoutElement *sizes;	/* per element: its tuples' sizes */
	uint64	   *tokens;			/* per element: the token of split chunks */
	HnswLayout *layout;

	/* storage int8: the ranges learned, and each element's value's chunks */
	HnswQuantizer *quantizer;
	HnswExternalValue ranges;
	HnswExternalValue *fulls;
} AreaWrite;

/*
 * What element number i stores as its value: its value, or with int8
 * storage its code (palloc'd: free_stored frees it)
 */
static Datum
stored_value(AreaWrite *w, int i)
{
	Datum		value = element_value(area_element(w->area, area_numbered(w->area, i)));

	if (w->quantizer == NULL)
		return value;
	return HnswEncode(w->quantizer, value, &w->fulls[i]);
}

static void
free_stored(AreaWrite *w, Datum stored)
{
	if (w->quantizer != NULL)
		pfree(DatumGetPointer(stored));
}

static void finish_page(Relation index, HnswPageEdit *edit, Buffer buf,
						Page page);

/*
 * Every element's value as chunks on pages of their own, appended one
 * after another (nothing else writes to the index during a build), into
 * w->fulls; a value too large for one chunk goes through HnswWriteChunks.
 */
static void
write_value_chunks(AreaWrite *w)
{
	HnswBuildArea *area = w->area;
	HnswChunkTuple chunk = palloc0(HNSW_MAX_TUPLE_SIZE);
	Buffer		buf = InvalidBuffer;
	Page		page = NULL;
	HnswPageEdit edit;

	for (int i = 0; i < w->n; i++)
	{
		Datum		value = element_value(area_element(area, area_numbered(area, i)));
		Size		vsize = VARSIZE_ANY(DatumGetPointer(value));
		HnswExternalValue *ext = &w->fulls[i];
		Size		size;
		OffsetNumber off;

		CHECK_FOR_INTERRUPTS();
		if (vsize > HNSW_CHUNK_DATA_SIZE)
		{
			HnswWriteChunks(w->index, value, ext, false);
			continue;
		}
		SET_VARSIZE(ext, sizeof(HnswExternalValue));
		ext->size = vsize;
		ext->token = pg_prng_uint64(&pg_global_prng_state);
		size = HnswFormChunk(chunk, ext->token, NULL, DatumGetPointer(value), vsize);
		if (!BufferIsValid(buf) || PageGetFreeSpace(page) < size)
		{
			if (BufferIsValid(buf))
				finish_page(w->index, &edit, buf, page);
			buf = HnswNewBuffer(w->index, MAIN_FORKNUM);
			HnswEditStart(&edit, w->index, false);
			page = HnswEditPage(&edit, buf, true);
			HnswInitPage(page, HNSW_PAGE_ELEMENTS);
		}
		off = PageAddItem(page, (Item) chunk, size, InvalidOffsetNumber, false, false);
		if (off == InvalidOffsetNumber)
			elog(ERROR, "failed to add a chunk to index \"%s\"",
				 RelationGetRelationName(w->index));
		ItemPointerSet(&ext->first, BufferGetBlockNumber(buf), off);
	}
	if (BufferIsValid(buf))
		finish_page(w->index, &edit, buf, page);
	pfree(chunk);
}

/*
 * Pass -1, for int8, half and bit storage: with int8 learn the ranges,
 * with bit the centre, from every element's value and write them to
 * chunks; then write every value to chunks (ahead of the elements' pages,
 * so that those hold codes and lists only)
 */
static void
write_values(AreaWrite *w, int storage)
{
	HnswBuildArea *area = w->area;

	if (storage == HNSW_STORAGE_INT8)
	{
		HnswRangesData *r = HnswRangesStart(area->dimensions);

		for (int i = 0; i < w->n; i++)
			HnswRangesAdd(r, element_value(area_element(area, area_numbered(area, i))));
		HnswRangesFinish(r);
		HnswWriteChunks(w->index, PointerGetDatum(r), &w->ranges, false);
		w->quantizer = HnswMakeQuantizer(r);
		pfree(r);
	}
	else if (storage == HNSW_STORAGE_BIT)
	{
		double	   *sums = palloc0(sizeof(double) * area->dimensions);
		HnswRangesData *r;

		for (int i = 0; i < w->n; i++)
			HnswCentreAdd(sums, element_value(area_element(area, area_numbered(area, i))));
		r = HnswCentreFinish(sums, area->dimensions, w->n);
		HnswWriteChunks(w->index, PointerGetDatum(r), &w->ranges, false);
		w->quantizer = HnswBitQuantizer(r);
		pfree(r);
		pfree(sums);
	}
	else
		w->quantizer = HnswHalfQuantizer(area->dimensions);
	w->fulls = palloc_extended(sizeof(HnswExternalValue) * Max(w->n, 1),
							   MCXT_ALLOC_HUGE);
	write_value_chunks(w);
}

/* Pass 0: values too large for their element's page go to chunk pages */
static void
write_external_values(AreaWrite *w)
{
	HnswBuildArea *area = w->area;

	for (int i = 0; i < w->n; i++)
	{
		HnswBuildElement *e = area_element(area, area_numbered(area, i));
		IndexTuple	filter = element_filter(e);
		Datum		stored = stored_value(w, i);

		if (HnswValueIsExternal(area->m, VARSIZE_ANY(DatumGetPointer(stored)),
								HnswElementTailSize(filter, area->nlinked,
													area->link_slots)))
		{
			w->exts[i] = palloc(sizeof(HnswExternalValue));
			HnswWriteChunks(w->index, stored, w->exts[i], false);
		}
		free_stored(w, stored);
	}
}

/*
 * Pass 1: the sizes of every element's tuples and how many lists name it,
 * and from those where every tuple goes (layout.c)
 */
static void
plan_layout(AreaWrite *w)
{
	HnswBuildArea *area = w->area;
	int			m = area->m;

	for (int i = 0; i < w->n; i++)
	{
		HnswBuildElement *e = area_element(area, area_numbered(area, i));
		IndexTuple	filter = element_filter(e);
		Size		fsize = HnswElementTailSize(filter, area->nlinked,
												area->link_slots);
		Datum		stored = stored_value(w, i);
		Size		vsize = VARSIZE_ANY(DatumGetPointer(stored));
		uint32	   *ids = element_list(area, e, 0);

		free_stored(w, stored);

		w->sizes[i].vsize = vsize;
		w->sizes[i].esize = HnswElementTupleSize(m, w->exts[i] ? sizeof(HnswExternalValue) : vsize,
												 fsize);
		/* only an inline value of an element of layer 0 may be split off */
		if (!w->exts[i] && e->level == 0)
			w->sizes[i].xsize = HnswElementTupleSize(m, sizeof(HnswExternalValue), fsize);
		w->sizes[i].usize = e->level > 0 ? HnswUpperTupleSize(m, e->level) : 0;
		for (int j = 0; j < e->counts[0]; j++)
			w->sizes[area_element(area, ids[j])->number].indegree++;
	}
	w->layout = HnswPlanLayout(w->sizes, w->n, RelationGetNumberOfBlocks(w->index));
	if (w->layout->nsplit > 0)
	{
		w->tokens = palloc_extended(sizeof(uint64) * w->n, MCXT_ALLOC_HUGE);
		for (int i = 0; i < w->n; i++)
			w->tokens[i] = pg_prng_uint64(&pg_global_prng_state);
	}
}

/*
 * The tuple of placement pl: an element tuple, an upper tuple or a chunk
 * (formed in chunk, which the caller keeps); its size in *size
 */
static Item
form_placement(AreaWrite *w, HnswPlacement *pl, HnswChunkTuple chunk,
			   Size *size)
{
	HnswBuildArea *area = w->area;
	HnswLayout *layout = w->layout;
	ItemPointerData *etids = layout->etids;
	HnswBuildElement *e = area_element(area, area_numbered(area, pl->element));
	HnswCandidate list[2 * HNSW_MAX_M];
	uint32	   *ids;
	Datum		stored;

	if (pl->kind == HNSW_PLACE_ELEMENT)
	{
		HnswExternalValue split;
		HnswExternalValue *ext = w->exts[pl->element];
		HnswElementTuple etup;

		if (layout->first_chunk[pl->element] >= 0)
		{
			SET_VARSIZE(&split, sizeof(HnswExternalValue));
			split.size = w->sizes[pl->element].vsize;
			split.token = w->tokens[pl->element];
			split.first = layout->placements[layout->first_chunk[pl->element]].tid;
			ext = &split;
		}
		ids = element_list(area, e, 0);
		for (int j = 0; j < e->counts[0]; j++)
			list[j].id = HnswElemIdFromTid(&etids[area_element(area, ids[j])->number]);
		stored = stored_value(w, pl->element);
		etup = HnswFormElement(area->m, stored, element_filter(e),
							   area->nlinked, area->link_slots,
							   e->level, &e->heaptid,
							   list, e->counts[0], ext, size);
		free_stored(w, stored);
		if (e->links_offset != 0 && (etup->flags & HNSW_ELEMENT_LINKS))
			write_links(area, e, etids, etup);
		if (e->level > 0)
			etup->upper = layout->utids[pl->element];
		return (Item) etup;
	}
	if (pl->kind == HNSW_PLACE_UPPER)
	{
		HnswUpperTuple utup = HnswFormUpper(area->m, e->level, size);

		utup->element = etids[pl->element];
		for (int l = 1; l <= e->level; l++)
		{
			ids = element_list(area, e, l);
			for (int j = 0; j < e->counts[l]; j++)
				list[j].id = HnswElemIdFromTid(&etids[area_element(area, ids[j])->number]);
			HnswSetNeighbors(NULL, utup, l, list, e->counts[l]);
		}
		return (Item) utup;
	}
	stored = stored_value(w, pl->element);
	*size = HnswFormChunk(chunk, w->tokens[pl->element],
						  pl->next >= 0 ? &layout->placements[pl->next].tid : NULL,
						  DatumGetPointer(stored) + pl->start, pl->len);
	free_stored(w, stored);
	return (Item) chunk;
}

/* Finish the page being written in buf, and tell the free space map */
static void
finish_page(Relation index, HnswPageEdit *edit, Buffer buf, Page page)
{
	HnswEditFinish(edit);
	RecordPageWithFreeSpace(index, BufferGetBlockNumber(buf),
							PageGetExactFreeSpace(page));
	UnlockReleaseBuffer(buf);
}

/* Pass 2: write every tuple where the layout put it, page by page */
static void
write_placements(AreaWrite *w)
{
	Relation	index = w->index;
	Buffer		buf = InvalidBuffer;
	Page		page = NULL;
	HnswPageEdit edit;
	HnswChunkTuple chunk = palloc0(HNSW_MAX_TUPLE_SIZE);

	for (int p = 0; p < w->layout->nplacements; p++)
	{
		HnswPlacement *pl = &w->layout->placements[p];
		Size		size;
		Item		item;

		CHECK_FOR_INTERRUPTS();
		item = form_placement(w, pl, chunk, &size);
		if (!BufferIsValid(buf) ||
			BufferGetBlockNumber(buf) != ItemPointerGetBlockNumber(&pl->tid))
		{
			if (BufferIsValid(buf))
				finish_page(index, &edit, buf, page);
			buf = HnswNewBuffer(index, MAIN_FORKNUM);
			if (BufferGetBlockNumber(buf) != ItemPointerGetBlockNumber(&pl->tid))
				elog(ERROR, "unexpected block %u in hnsw build",
					 BufferGetBlockNumber(buf));
			HnswEditStart(&edit, index, false);
			page = HnswEditPage(&edit, buf, true);
			HnswInitPage(page, HNSW_PAGE_ELEMENTS);
		}
		if (PageAddItem(page, item, size, InvalidOffsetNumber, false, false) !=
			ItemPointerGetOffsetNumber(&pl->tid))
			elog(ERROR, "unexpected item position in hnsw build");
		if (item != (Item) chunk)
			pfree(item);
	}
	if (BufferIsValid(buf))
		finish_page(index, &edit, buf, page);
	pfree(chunk);
}

/* Pass 3: the filter directory's tuples, in element order */
static void
write_directory(AreaWrite *w)
{
	Buffer		buf = InvalidBuffer;
	Page		page = NULL;
	HnswPageEdit edit;

	if (!HnswHasFilterKeys(w->index))
		return;
	for (int i = 0; i < w->n; i++)
	{
		IndexTuple	filter = element_filter(area_element(w->area, area_numbered(w->area, i)));
		Size		size;

		if (filter == NULL)
			continue;
		size = HnswDirectoryTupleSize(filter);
		if (!BufferIsValid(buf) || PageGetExactFreeSpace(page) < size)
		{
			if (BufferIsValid(buf))
			{
				HnswEditFinish(&edit);
				UnlockReleaseBuffer(buf);
			}
			buf = HnswDirectoryTail(w->index, size, false);
			HnswEditStart(&edit, w->index, false);
			page = HnswEditPage(&edit, buf, false);
		}
		HnswDirectoryAdd(w->index, page, HnswElemIdFromTid(&w->layout->etids[i]), filter);
	}
	if (BufferIsValid(buf))
	{
		HnswEditFinish(&edit);
		UnlockReleaseBuffer(buf);
	}
}

/* Last: the metapage's entry point and dimension */
static void
write_metapage(AreaWrite *w)
{
	HnswBuildArea *area = w->area;
	Buffer		buf = ReadBuffer(w->index, HNSW_METAPAGE_BLKNO);
	HnswPageEdit edit;
	HnswMetaPage meta;

	/* exclusive: we set the entry point */
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswEditStart(&edit, w->index, false);
	meta = HnswPageGetMeta(HnswEditPage(&edit, buf, false));
	meta->dimensions = area->dimensions;
	if (w->quantizer && (w->quantizer->storage == HNSW_STORAGE_INT8 ||
						 w->quantizer->storage == HNSW_STORAGE_BIT))
		meta->ranges = w->ranges;
	if (w->n > 0)
	{
		meta->entry = w->layout->etids[area_element(area, area->entry)->number];
		meta->entry_level = area->entry_level;
	}
	HnswEditFinish(&edit);
	UnlockReleaseBuffer(buf);
}

/*
 * Write the graph to pages, after the metapage, without WAL, and set the
 * metapage's entry point and dimension.  Where each tuple goes is planned
 * first (layout.c), so that lists can name their elements.  Then the
 * filter directory gets their filter columns, if there are any.
 *
 * No insert may be under way (flush_lock held exclusively, or the build
 * over).
 */
void
HnswAreaWrite(HnswBuildArea *area, Relation index)
{
	AreaWrite	w;
	int			storage;

	w.area = area;
	w.index = index;
	w.n = area->nelements;
	w.exts = palloc_extended(sizeof(HnswExternalValue *) * Max(w.n, 1),
							 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	w.sizes = palloc_extended(sizeof(HnswLayoutElement) * Max(w.n, 1),
							  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	w.tokens = NULL;
	w.quantizer = NULL;
	w.fulls = NULL;

	storage = HnswReadMetaPage(index).storage;
	if (w.n > 0 && storage != HNSW_STORAGE_FLOAT4)
		write_values(&w, storage);
	else if (storage == HNSW_STORAGE_INT8 || storage == HNSW_STORAGE_BIT)
		ereport(NOTICE,
				(errmsg("index \"%s\" has no rows to learn its %s from",
						RelationGetRelationName(index),
						storage == HNSW_STORAGE_BIT ? "bit codes' centre" : "int8 ranges"),
				 errdetail("Its elements hold float4 values until it is rebuilt."),
				 errhint("Build an index with storage %s after loading the table, or REINDEX it then.",
						 storage == HNSW_STORAGE_BIT ? "bit" : "int8")));
	write_external_values(&w);
	plan_layout(&w);
	write_placements(&w);
	write_directory(&w);
	write_metapage(&w);

	pfree(w.sizes);
	if (w.tokens)
		pfree(w.tokens);
}
