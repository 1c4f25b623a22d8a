/*-------------------------------------------------------------------------
 *
 * diskgraph.c
 *	  The graph on index pages: the HnswGraph that inserts, scans and VACUUM
 *	  search and change, as buildgraph.c is the one a build keeps in memory.
 *
 * Elements are read through the backend's buffer cache (buffers.c), one
 * page at a time under a share lock; an insert keeps the values it reads
 * for the heuristic that wants them again.  Lists are changed by rewriting
 * the one page that holds them, only if they still hold what the new list
 * was computed from (HnswReplaceNeighbors); HnswAddLink adds a link back,
 * cutting a full list by the heuristic, and relinks the elements a cut
 * leaves with no in-link.  Locking: src/README, "Concurrency".
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/bufmgr.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

/* How often a neighbour list update is recomputed after a lost race */
#define HNSW_LINK_RETRIES		10

/* Elements dropped by cuts while relinking that relink_dropped checks */
#define HNSW_RELINK_QUEUE		64

typedef struct HnswDiskGraph
{
	HnswGraph	graph;
	Relation	index;
	HnswBufferCache *cache;
	HnswValueBuffer scratch;	/* for external values */
	uint32		dimensions;		/* the metapage's */
	HTAB	   *values;			/* copies disk_value made; NULL: no cache */

	/*
	 * an insert's: the new element and its layer-0 list as it stands (see
	 * relink_dropped; a link back to another element can cut it)
	 */
	HnswElemId	new_element;
	HnswElemId *new_list;
	int			new_count;
	bool		relinking;		/* in relink_dropped: cuts queue orphans */
	bool		force_link;		/* relink_one's last try: see HnswAddLink */
	/* elements cuts made while relinking dropped, and whose lists */
	HnswElemId	orphans[HNSW_RELINK_QUEUE];
	HnswElemId	orphan_targets[HNSW_RELINK_QUEUE];
	int			norphans;
	int			link_column;	/* a scan's: whose value links it follows */
} HnswDiskGraph;

/* An entry of HnswDiskGraph.values */
typedef struct CachedValue
{
	HnswElemId	id;
	struct varlena *value;		/* NULL: the element is gone */
	bool		deleted;		/* its row was dead when copied */
} CachedValue;

/* HnswReadShare for the disk graph g */
static inline Buffer
read_share(HnswDiskGraph *g, BlockNumber blkno)
{
	return HnswReadShare(g->index, blkno);
}

/*
 * Raise an error for a value read from the page of element id that its
 * kernel could not read safely (see HnswValueIsWellFormed).
 */
static inline void
check_value(HnswDiskGraph *g, HnswElemId id, struct varlena *v)
{
	HnswCheckStoredValue(g->index, g->graph.distance, PointerGetDatum(v),
						 g->dimensions, HnswElemIdGetBlock(id),
						 HnswElemIdGetOffset(id));
}

/*
 * Measure element id on page (its page, pinned and share-locked) as
 * distance_to does; false if the id no longer holds an element.
 */
static bool
measure_on_page(HnswDiskGraph *g, Page page, Datum value, HnswElemId id,
				double limit, double *distance, bool *deleted)
{
	HnswGraph  *graph = &g->graph;
	HnswElementTuple etup;
	struct varlena *v;

	etup = HnswGetElement(g->index, page, HnswElemIdGetOffset(id));
	if (etup == NULL)
		return false;
	v = HnswElementValue(g->index, etup, &g->scratch);
	if (v == NULL)
		return false;			/* its chunks went with it */
	check_value(g, id, v);
	*distance = HnswComputeDistanceWithin(graph->distance, value,
										  PointerGetDatum(v), limit);
	graph->distances++;
	*deleted = (etup->flags & HNSW_ELEMENT_DELETED) != 0;
	if (graph->filter && !*deleted &&
		!HnswFilterMatches(graph->filter, PointerGetDatum(v), etup))
	{
		*deleted = true;
		graph->rejected++;
	}
	return true;
}

static bool
disk_distance_to(HnswGraph *graph, Datum value, HnswElemId id, double limit,
				 double *distance, bool *deleted)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	Buffer		buf = read_share(g, HnswElemIdGetBlock(id));
	bool		found;

	if (!BufferIsValid(buf))
		return false;
	found = measure_on_page(g, BufferGetPage(buf), value, id, limit,
							distance, deleted);
	UnlockReleaseBuffer(buf);
	return found;
}

/*
 * distances_on_page callback: the ids at the head of ids[] on the page of
 * ids[0], measured under one pin and share lock of it.  Compact lists are
 * in the order of their ids, so the neighbours a build placed on one page
 * come together.
 */
static int
disk_distances_on_page(HnswGraph *graph, Datum value, const HnswElemId *ids,
					   int n, double limit, HnswCandidate *out, bool *found)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	BlockNumber blkno = HnswElemIdGetBlock(ids[0]);
	Buffer		buf = read_share(g, blkno);
	int			k;

	for (k = 1; k < n && HnswElemIdGetBlock(ids[k]) == blkno; k++)
		;
	for (int i = 0; i < k; i++)
	{
		out[i].id = ids[i];
		found[i] = BufferIsValid(buf) &&
			measure_on_page(g, BufferGetPage(buf), value, ids[i], limit,
							&out[i].distance, &out[i].deleted);
	}
	if (BufferIsValid(buf))
		UnlockReleaseBuffer(buf);
	return k;
}

/* prefetch callback (see HnswGraph and HnswPrefetchElement) */
static void
disk_prefetch(HnswGraph *graph, HnswElemId id, bool deep)
{
	HnswPrefetchElement(((HnswDiskGraph *) graph)->cache, id, deep);
}

/*
 * Copy the neighbours of id on layer into out.  For layers above 0 the
 * list is in the element's upper tuple, usually on the same page.
 */
static int
disk_neighbors(HnswGraph *graph, HnswElemId id, int layer, HnswElemId *out)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	Buffer		buf = read_share(g, HnswElemIdGetBlock(id));
	HnswElementTuple etup;
	ItemPointerData upper;
	HnswUpperTuple utup;
	int			n = 0;
	int			max = HnswMaxNeighbors(graph->m, layer);

	if (!BufferIsValid(buf))
		return 0;
	etup = HnswGetElement(g->index, BufferGetPage(buf), HnswElemIdGetOffset(id));
	if (etup == NULL || etup->level < layer)
	{
		UnlockReleaseBuffer(buf);
		return 0;
	}
	if (layer == 0)
	{
		n = HnswElementGetNeighbors(g->index, etup, out, max);
		UnlockReleaseBuffer(buf);
		return n;
	}

	upper = HnswElementGetUpper(etup);
	if (ItemPointerGetBlockNumberNoCheck(&upper) != HnswElemIdGetBlock(id))
	{
		UnlockReleaseBuffer(buf);
		buf = read_share(g, ItemPointerGetBlockNumberNoCheck(&upper));
		if (!BufferIsValid(buf))
			return 0;
	}
	utup = HnswGetUpper(g->index, BufferGetPage(buf),
						ItemPointerGetOffsetNumberNoCheck(&upper));
	if (utup != NULL && utup->level >= layer &&
		HnswElemIdFromTid(&utup->element) == id)
	{
		n = Min(utup->counts[layer - 1], Min(max, utup->m));
		for (int i = 0; i < n; i++)
			out[i] = HnswElemIdFromTid(&HnswUpperTupleList(utup, layer)[i]);
	}
	UnlockReleaseBuffer(buf);
	return n;
}

/* value_neighbors callback (see HnswGraph) */
static int
disk_value_neighbors(HnswGraph *graph, HnswElemId id, HnswElemId *out)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	Buffer		buf = read_share(g, HnswElemIdGetBlock(id));
	HnswElementTuple etup;
	int			n = -1;

	if (!BufferIsValid(buf))
		return -1;
	etup = HnswGetElement(g->index, BufferGetPage(buf), HnswElemIdGetOffset(id));
	if (etup != NULL)
		n = HnswElementValueLinks(etup, g->link_column, out);
	UnlockReleaseBuffer(buf);
	return n;
}

/*
 * Have searches of a scan's graph follow the value links of linked column
 * j (the j-th of the metapage's linked_columns) from matching elements.
 */
void
HnswFollowValueLinks(HnswGraph *graph, int j)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;

	g->link_column = j;
	graph->value_neighbors = disk_value_neighbors;
}

/*
 * A palloc'd copy of the value of id, NULL if it is gone; *deleted says
 * whether its row was dead.
 */
static struct varlena *
copy_value(HnswDiskGraph *g, HnswElemId id, bool *deleted)
{
	Buffer		buf = read_share(g, HnswElemIdGetBlock(id));
	HnswElementTuple etup;
	struct varlena *copy = NULL;

	*deleted = false;
	if (!BufferIsValid(buf))
		return NULL;
	etup = HnswGetElement(g->index, BufferGetPage(buf), HnswElemIdGetOffset(id));
	if (etup != NULL)
	{
		copy = HnswCopyElementValue(g->index, etup);
		*deleted = (etup->flags & HNSW_ELEMENT_DELETED) != 0;
	}
	UnlockReleaseBuffer(buf);
	if (copy != NULL)
		check_value(g, id, copy);
	return copy;
}

/*
 * The cache entry of id, its value copied from its page if it was not
 * there yet.  An insert's graph keeps the copies and hands out the same
 * one again: the heuristic wants the values of the new element's
 * candidates, and then of its neighbours' neighbours when their lists are
 * pruned, mostly the same elements.  (Should VACUUM remove an element
 * meanwhile and a new one take its line pointer, one pruning decision of
 * this insert would use the old value: a list less well chosen, not a
 * wrong one.)
 */
static CachedValue *
cached_value(HnswDiskGraph *g, HnswElemId id)
{
	bool		found;
	CachedValue *cached = hash_search(g->values, &id, HASH_ENTER, &found);

	if (!found)
		cached->value = copy_value(g, id, &cached->deleted);
	return cached;
}

/* value callback: a copy of the value of id; (Datum) 0 if it is gone */
static Datum
disk_value(HnswGraph *graph, HnswElemId id)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	bool		deleted;

	if (g->values)
		return PointerGetDatum(cached_value(g, id)->value);
	return PointerGetDatum(copy_value(g, id, &deleted));
}

/*
 * measure_kept callback (see HnswGraph): distance_to through the insert's
 * cache of values, so that the heuristic, which wants the value next,
 * finds it there instead of reading the page again.  Graphs without the
 * cache, or with a scan's quals, measure as distance_to does.
 */
static bool
disk_measure_kept(HnswGraph *graph, Datum value, HnswElemId id, double limit,
				  double *distance, bool *deleted)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	CachedValue *cached;

	if (g->values == NULL || graph->filter != NULL)
		return disk_distance_to(graph, value, id, limit, distance, deleted);
	cached = cached_value(g, id);
	if (cached->value == NULL)
		return false;
	*distance = HnswComputeDistanceWithin(graph->distance, value,
										  PointerGetDatum(cached->value), limit);
	*deleted = cached->deleted;
	return true;
}

/*
 * replace callback: layer-0 lists, by VACUUM (so always WAL-logged), whole
 * or not at all (a link back from reconnect.c must not be cut off)
 */
static bool
disk_replace(HnswGraph *graph, HnswElemId target, const HnswElemId *seen,
			 int nseen, HnswCandidate *list, int nlist)
{
	return HnswReplaceNeighbors(((HnswDiskGraph *) graph)->index, target, NULL,
								0, seen, nseen, list, nlist, NULL, true, true);
}

/* Set up *graph to reach the elements on the pages of index */
void
HnswInitDiskGraph(HnswGraph **graph, Relation index, HnswDistance *dist,
				  HnswMetaPageData *meta)
{
	HnswDiskGraph *g = palloc0(sizeof(HnswDiskGraph));

	g->graph.distance = dist;
	HnswGraphSetOptions(&g->graph, meta->m, meta->ef_construction,
						meta->max_layers, meta->level_scale,
						(meta->flags & HNSW_META_EXTEND_CANDIDATES) != 0,
						(meta->flags & HNSW_META_KEEP_PRUNED) != 0);
	g->graph.distance_to = disk_distance_to;
	g->graph.distances_on_page = disk_distances_on_page;
	g->graph.neighbors = disk_neighbors;
	g->graph.value = disk_value;
	g->graph.measure_kept = disk_measure_kept;
	g->graph.prefetch = disk_prefetch;
	g->graph.replace = disk_replace;
	g->index = index;
	g->cache = HnswBufferCacheForOperation(index);
	g->scratch.cxt = CurrentMemoryContext;
	g->dimensions = meta->dimensions;
	*graph = &g->graph;
}

/*
 * Have graph, an insert's, keep a copy of every value it reads (in the
 * current memory context), for the heuristic that reads them again.
 */
void
HnswDiskGraphKeepValues(HnswGraph *graph)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	HASHCTL		ctl;

	ctl.keysize = sizeof(HnswElemId);
	ctl.entrysize = sizeof(CachedValue);
	ctl.hcxt = CurrentMemoryContext;
	g->values = hash_create("hnsw insert values", 256, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Tell an insert's graph the new element and its layer-0 list (copied):
 * relink_dropped does not relink an element the new element lists, and
 * HnswAddLink keeps the copy as the list is cut (a link back to another
 * element can cut it).
 */
void
HnswDiskGraphSetNewList(HnswGraph *graph, HnswElemId id,
						const HnswCandidate *list, int count)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;

	g->new_element = id;
	if (g->new_list == NULL)
		g->new_list = MemoryContextAlloc(g->scratch.cxt,
										 sizeof(HnswElemId) * 2 * HNSW_MAX_M);
	g->new_count = Min(count, 2 * HNSW_MAX_M);
	for (int i = 0; i < g->new_count; i++)
		g->new_list[i] = list[i].id;
}

/*
 * A neighbour list locked for rewriting: the page that holds it, open in a
 * page edit, the tuple that holds the list, and what the list holds.
 */
typedef struct LockedList
{
	Buffer		buf;
	HnswPageEdit edit;
	HnswElementTuple etup;		/* for layer 0 */
	HnswUpperTuple utup;		/* for the layers above */
	HnswElemId	ids[2 * HNSW_MAX_M];
	int			count;			/* -1 if target has been removed */
} LockedList;

/*
 * Lock the page holding target's list on layer exclusively and open it for
 * editing.  upper is target's upper tuple (needed for layers above 0).
 * Returns false, with nothing locked, if the page no longer exists.
 */
static bool
lock_list(Relation index, HnswElemId target, ItemPointer upper, int layer,
		  bool wal, LockedList *ll)
{
	BlockNumber blkno;
	OffsetNumber off;
	Page		page;

	if (layer == 0)
	{
		blkno = HnswElemIdGetBlock(target);
		off = HnswElemIdGetOffset(target);
	}
	else
	{
		blkno = ItemPointerGetBlockNumber(upper);
		off = ItemPointerGetOffsetNumber(upper);
	}
	memset(ll, 0, sizeof(LockedList));
	ll->count = -1;
	/* exclusive: the list is rewritten in place */
	ll->buf = HnswLockForEdit(index, blkno, wal, &ll->edit, &page);
	if (!BufferIsValid(ll->buf))
		return false;
	if (layer == 0)
	{
		ll->etup = HnswGetElement(index, page, off);
		if (ll->etup != NULL)
			ll->count = HnswElementGetNeighbors(index, ll->etup, ll->ids,
												lengthof(ll->ids));
	}
	else
	{
		ll->utup = HnswGetUpper(index, page, off);
		if (ll->utup != NULL && HnswElemIdFromTid(&ll->utup->element) == target &&
			ll->utup->level >= layer)
		{
			ItemPointerData *slots = HnswUpperTupleList(ll->utup, layer);

			ll->count = Min(ll->utup->counts[layer - 1], ll->utup->m);
			for (int i = 0; i < ll->count; i++)
				ll->ids[i] = HnswElemIdFromTid(&slots[i]);
		}
	}
	return true;
}

/* Write (or, if !changed, forget) the edit of a locked list and unlock it */
static void
unlock_list(LockedList *ll, bool changed)
{
	HnswEditEnd(&ll->edit, changed);
	UnlockReleaseBuffer(ll->buf);
}

/*
 * Replace the neighbour list of target on layer with list, provided it
 * still holds exactly seen[] (what list was computed from) and target has
 * not been removed.  Returns false if the caller must recompute.  A compact
 * list keeps the first of list that fit its bytes: how many, in *kept
 * (unless kept is NULL; nlist if nothing was written); with whole, a list
 * that does not fit whole is not written, and false returned.
 *
 * upper is target's upper tuple (needed for layers above 0).  Takes the
 * exclusive lock on the one page that holds the list, and nothing else.
 */
bool
HnswReplaceNeighbors(Relation index, HnswElemId target, ItemPointer upper,
					 int layer, const HnswElemId *seen, int nseen,
					 HnswCandidate *list, int nlist, int *kept, bool whole,
					 bool wal)
{
	LockedList	ll;
	bool		same;

	if (kept)
		*kept = nlist;
	if (!lock_list(index, target, upper, layer, wal, &ll))
		return true;			/* gone: nothing to replace */

	same = (ll.count == nseen);
	for (int i = 0; same && i < nseen; i++)
		if (ll.ids[i] != seen[i])
			same = false;
	if (same && whole && layer == 0 &&
		(ll.etup->flags & HNSW_ELEMENT_COMPACT) &&
		HnswCompactListSize(list, nlist) > HnswElementListBytes(ll.etup))
	{
		unlock_list(&ll, false);
		return false;
	}
	if (same)
	{
		int			n = HnswSetNeighbors(ll.etup, ll.utup, layer, list, nlist);

		if (kept)
			*kept = n;
	}
	unlock_list(&ll, same);
	/* a removed target needs no new list */
	return same || ll.count < 0;
}

/*
 * Remove from target's list on layer every id for which drop() is true, in
 * place and whatever else the list holds: the fallback of a VACUUM repair
 * that keeps losing the race to rewrite a busy list, so that the list never
 * names an element about to be removed.
 */
void
HnswDropNeighbors(Relation index, HnswElemId target, ItemPointer upper,
				  int layer, bool (*drop) (void *arg, HnswElemId id),
				  void *arg)
{
	LockedList	ll;
	HnswCandidate list[2 * HNSW_MAX_M];
	int			kept = 0;

	if (!lock_list(index, target, upper, layer, true, &ll))
		return;
	for (int i = 0; i < ll.count; i++)
		if (!drop(arg, ll.ids[i]))
			list[kept++].id = ll.ids[i];
	if (ll.count >= 0 && kept < ll.count)
	{
		/* fewer ids than the list had always fit in its bytes */
		HnswSetNeighbors(ll.etup, ll.utup, layer, list, kept);
		unlock_list(&ll, true);
	}
	else
		unlock_list(&ll, false);
}

/* Is id among the n candidates of list? */
static bool
candidate_in(HnswElemId id, const HnswCandidate *list, int n)
{
	for (int i = 0; i < n; i++)
		if (list[i].id == id)
			return true;
	return false;
}

/* Is id among the n ids of list? */
static bool
id_in(HnswElemId id, const HnswElemId *list, int n)
{
	for (int i = 0; i < n; i++)
		if (list[i] == id)
			return true;
	return false;
}

/*
 * Does some list other than target's name x?  Looked for among the lists
 * of x's own neighbours (xlist, nx of them; its nearest neighbour's nearly
 * always does); ylist is room for one list.
 */
static bool
linked_by_neighbor(HnswGraph *graph, HnswElemId x, HnswElemId target,
				   const HnswElemId *xlist, int nx, HnswElemId *ylist)
{
	for (int k = 0; k < nx; k++)
		if (xlist[k] != target &&
			id_in(x, ylist, graph->neighbors(graph, xlist[k], 0, ylist)))
			return true;
	return false;
}

/*
 * Link x, which target's list no longer names, from its nearest
 * neighbours (trying the first three), unless a list of one of them names
 * it (linked_by_neighbor).  xlist and ylist are room for two lists.
 */
static void
relink_one(Relation index, HnswGraph *graph, HnswElemId target, HnswElemId x,
		   HnswElemId *xlist, HnswElemId *ylist, bool wal)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	int			nx = graph->neighbors(graph, x, 0, xlist);
	Datum		xvalue;
	HnswCandidate *near;
	int			nnear = 0;
	int			tries = 0;
	bool		gone = false;
	double		self;

	if (linked_by_neighbor(graph, x, target, xlist, nx, ylist))
		return;

	/* gone, or its row is dead: nothing to keep */
	xvalue = graph->value(graph, x);
	if (xvalue == (Datum) 0 ||
		!graph->distance_to(graph, xvalue, x, HNSW_DISTANCE_NO_LIMIT,
							&self, &gone) || gone)
		return;

	/*
	 * x's nearest neighbours, nearest first (a compact list is in the order
	 * of ids, not of distances)
	 */
	near = palloc(sizeof(HnswCandidate) * Max(nx, 1));
	for (int k = 0; k < nx; k++)
	{
		if (xlist[k] == target)
			continue;
		near[nnear].id = xlist[k];
		if (!graph->distance_to(graph, xvalue, xlist[k],
								HNSW_DISTANCE_NO_LIMIT,
								&near[nnear].distance,
								&near[nnear].deleted))
			continue;
		if (!near[nnear].deleted)
			nnear++;
	}
	qsort(near, nnear, sizeof(HnswCandidate), HnswCandidateCompare);
	for (int k = 0; k < nnear && tries < 3; k++)
	{
		HnswCandidate link;
		bool		linked;

		tries++;
		link.id = x;
		link.distance = near[k].distance;
		link.deleted = false;
		g->relinking = true;
		g->force_link = (tries == 3 || k == nnear - 1);
		linked = HnswAddLink(index, graph, near[k].id, 0, &link, wal);
		g->relinking = false;
		g->force_link = false;
		if (linked)
			break;
	}
	pfree(near);
}

/*
 * Check and link back the elements queued by cuts made while relinking
 * (queue_orphans); the queue is empty after.
 */
static void
relink_queued(Relation index, HnswGraph *graph, HnswElemId *xlist,
			  HnswElemId *ylist, bool wal)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;

	for (int i = 0; i < g->norphans; i++)
		relink_one(index, graph, g->orphan_targets[i], g->orphans[i],
				   xlist, ylist, wal);
	g->norphans = 0;
}

/*
 * An insert's cut of target's layer-0 list (from seen to list) dropped some
 * elements.  If that was an element's last in-link, no search reaches it
 * until VACUUM links it back (README, "Known limitations").  So each one
 * dropped, unless the new element lists it, is checked and linked back by
 * relink_one.  In-links from elements that are not its neighbours are not
 * seen, so a few elements get a link they did not need.  A link back can
 * cut a list in turn: the elements such a cut drops are queued
 * (HnswAddLink, g->orphans) and checked after, at most
 * HNSW_RELINK_QUEUE of them, so that a chain of cuts ends.  The lists are
 * read one page at a time, and a link is added as any other (HnswAddLink).
 */
static void
relink_dropped(Relation index, HnswGraph *graph, HnswElemId target,
			   const HnswElemId *seen, int nseen,
			   const HnswCandidate *list, int nlist, bool wal)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	int			max = HnswMaxNeighbors(graph->m, 0);
	HnswElemId *xlist = palloc(sizeof(HnswElemId) * max);
	HnswElemId *ylist = palloc(sizeof(HnswElemId) * max);

	g->norphans = 0;
	for (int i = 0; i < nseen; i++)
	{
		HnswElemId	x = seen[i];

		if (!candidate_in(x, list, nlist) &&
			!id_in(x, g->new_list, g->new_count))
			relink_one(index, graph, target, x, xlist, ylist, wal);
	}
	relink_queued(index, graph, xlist, ylist, wal);
	pfree(xlist);
	pfree(ylist);
}

/*
 * A new element id that no list took a link to (the heuristic cut it from
 * every one it was offered to): link it as relink_one links an element a
 * cut left without in-links.
 */
void
HnswRelinkNewElement(Relation index, HnswGraph *graph, HnswElemId id,
					 bool wal)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	int			max = HnswMaxNeighbors(graph->m, 0);
	HnswElemId *xlist = palloc(sizeof(HnswElemId) * max);
	HnswElemId *ylist = palloc(sizeof(HnswElemId) * max);

	g->norphans = 0;
	/* block 0 is the metapage: no target to leave out */
	relink_one(index, graph, (HnswElemId) HNSW_METAPAGE_BLKNO << 16, id,
			   xlist, ylist, wal);
	relink_queued(index, graph, xlist, ylist, wal);
	pfree(xlist);
	pfree(ylist);
}

/*
 * Queue for relink_dropped the elements of seen that a cut of target's
 * list, made while linking an element back, left out of list (its first
 * kept), as far as the queue has room.
 */
static void
queue_orphans(HnswDiskGraph *g, HnswElemId target, const HnswElemId *seen,
			  int nseen, const HnswCandidate *list, int kept)
{
	for (int i = 0; i < nseen && g->norphans < HNSW_RELINK_QUEUE; i++)
		if (!candidate_in(seen[i], list, kept))
		{
			g->orphan_targets[g->norphans] = target;
			g->orphans[g->norphans++] = seen[i];
		}
}

/*
 * Add link to the neighbour list of target on layer (lines 11-16 of
 * Algorithm 1): appended if the list has room, else the list is pruned by
 * the heuristic with link among the candidates.  Elements of dead rows get
 * no new links.  Returns true if the target's list holds link afterwards
 * (the heuristic may prune it away).
 */
bool
HnswAddLink(Relation index, HnswGraph *graph, HnswElemId target, int layer,
			HnswCandidate *link, bool wal)
{
	int			max = HnswMaxNeighbors(graph->m, layer);
	HnswElemId *seen = palloc(sizeof(HnswElemId) * max);
	HnswCandidate *list = palloc(sizeof(HnswCandidate) * (max + 1));
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	bool		linked = false;
	int			room = max;		/* fewer when a compact list is out of bytes */

	for (int attempt = 0; attempt < HNSW_LINK_RETRIES; attempt++)
	{
		Buffer		buf = read_share(g, HnswElemIdGetBlock(target));
		HnswElementTuple etup;
		ItemPointerData upper;
		int			nseen;
		int			nlist;
		int			kept;
		bool		done;

		if (!BufferIsValid(buf))
			break;
		etup = HnswGetElement(index, BufferGetPage(buf), HnswElemIdGetOffset(target));
		if (etup == NULL || (etup->flags & HNSW_ELEMENT_DELETED) ||
			etup->level < layer)
		{
			UnlockReleaseBuffer(buf);
			break;
		}
		upper = HnswElementGetUpper(etup);
		UnlockReleaseBuffer(buf);

		/* what the list holds now */
		nseen = graph->neighbors(graph, target, layer, seen);
		for (int i = 0; i < nseen; i++)
			if (seen[i] == link->id)
			{
				linked = true;
				goto out;
			}

		if (nseen < room)
		{
			for (int i = 0; i < nseen; i++)
				list[i].id = seen[i];
			list[nseen] = *link;
			nlist = nseen + 1;
		}
		else
		{
			Datum		base = graph->value(graph, target);

			if (base == (Datum) 0)
				break;			/* target removed by VACUUM meanwhile */
			/* (base belongs to the insert's value cache) */
			nlist = HnswPruneNeighbors(graph, base, seen, nseen, link,
									   Min(room, max), list);

			/*
			 * The last try to link back an element that has lost its last
			 * in-link keeps it, first (a compact list short of bytes keeps
			 * its first): the heuristic had cut it from this list's
			 * neighbourhood before, and would again.  What it displaces is
			 * checked in turn (queue_orphans).
			 */
			if (g->force_link && nlist > 0 &&
				!candidate_in(link->id, list, nlist))
			{
				nlist = Min(nlist + 1, Min(room, max));
				memmove(&list[1], &list[0], sizeof(HnswCandidate) * (nlist - 1));
				list[0] = *link;
			}
			else if (g->force_link && nlist == 0)
				list[nlist++] = *link;
		}

		/* if someone changed the list meanwhile, compute it again */
		HnswPausePoint("insert_before_list_rewrite");
		done = HnswReplaceNeighbors(index, target, &upper, layer, seen, nseen,
									list, nlist, &kept, false, wal);
		if (done)
		{
			for (int i = 0; i < kept; i++)
				if (list[i].id == link->id)
					linked = true;

			/*
			 * Appended, the link did not fit the bytes of a compact list: the
			 * list is full as a list of nseen would be, so the heuristic
			 * chooses among them and the link, as for a full list
			 */
			if (!linked && kept < nlist && nseen < room && nseen > 0)
			{
				room = nseen;
				continue;
			}

			/*
			 * a cut list (by the heuristic, or to the bytes of a compact one)
			 * may have left an element without in-links
			 */
			if (layer == 0 && target == g->new_element && g->new_list)
			{
				g->new_count = kept;
				for (int i = 0; i < kept; i++)
					g->new_list[i] = list[i].id;
			}
			if (layer == 0 && (nseen >= room || kept < nlist))
			{
				if (g->relinking)
					queue_orphans(g, target, seen, nseen, list, kept);
				else
					relink_dropped(index, graph, target, seen, nseen, list,
								   kept, wal);
			}
			break;
		}
	}
out:
	pfree(seen);
	pfree(list);
	return linked;
}
