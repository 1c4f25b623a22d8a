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

#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

#include "buildarea.h"

/* The graph callbacks over an area, private to one process */
typedef struct AreaGraph
{
	HnswGraph	graph;
	HnswBuildArea *area;
} AreaGraph;

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
 * Insert a prepared value as a new element (Algorithm 1 of the paper);
 * full, if not 0, is the float8[] value that value is the narrowed copy
 * of (see HnswBuildElement).  Returns false, having done nothing, if the
 * area is full or has been written out: the caller then goes on disk.
 */
bool
HnswAreaInsert(HnswBuildArea *area, HnswGraph *graph, Datum value,
			   Datum full, IndexTuple filter, TupleDesc filter_desc,
			   ItemPointer heaptid)
{
	int			m = area->m;
	int			level = HnswRandomLevel(graph);
	Size		vsize = VARSIZE_ANY(DatumGetPointer(value));
	Size		fsize = filter ? IndexTupleSize(filter) : 0;
	Size		lists_size = MAXALIGN(sizeof(uint32) * (2 * m + level * m));
	Size		links_size = area->nlinked > 0 ? AREA_LINKS_SIZE(area) : 0;
	Size		full_size = full ? MAXALIGN(VARSIZE_ANY(DatumGetPointer(full))) : 0;
	Size		size = ELEMENT_VALUE_OFFSET + MAXALIGN(vsize) + MAXALIGN(fsize) +
		lists_size + links_size + full_size;
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
	if (full_size > 0)
	{
		area->full_values = true;	/* every insert of the build alike */
		memcpy(DatumGetPointer(element_full_value(area, e)), DatumGetPointer(full),
			   VARSIZE_ANY(DatumGetPointer(full)));
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
