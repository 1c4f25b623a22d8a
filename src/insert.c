/*-------------------------------------------------------------------------
 *
 * insert.c
 *	  The graph on index pages, and inserting one element into it.
 *
 * Locking: an insert holds the metapage's heavyweight lock (ShareLock, or
 * ExclusiveLock when its element becomes the entry point) for the one
 * insert, takes buffer locks in the one order src/README gives, and
 * rewrites a list only if it still holds what the new one was computed
 * from.  The whole protocol is src/README's "Concurrency".
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "nodes/execnodes.h"

#include "hnsw.h"

/* How often a neighbour list update is recomputed after a lost race */
#define HNSW_LINK_RETRIES		10

typedef struct HnswDiskGraph
{
	HnswGraph	graph;
	Relation	index;
	HnswBufferCache *cache;
	HnswValueBuffer scratch;	/* for external values */
	uint32		dimensions;		/* the metapage's */
	HTAB	   *values;			/* copies disk_value made; NULL: no cache */

	/* an insert's: the new element's layer-0 list (see relink_dropped) */
	const HnswCandidate *new_list;
	int			new_count;
	bool		relinking;		/* in relink_dropped: no nested checks */
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

static bool
disk_distance_to(HnswGraph *graph, Datum value, HnswElemId id, double limit,
				 double *distance, bool *deleted)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	Buffer		buf = read_share(g, HnswElemIdGetBlock(id));
	HnswElementTuple etup;

	if (!BufferIsValid(buf))
		return false;
	etup = HnswGetElement(g->index, BufferGetPage(buf), HnswElemIdGetOffset(id));
	if (etup != NULL)
	{
		struct varlena *v = HnswElementValue(g->index, etup, &g->scratch);

		if (v == NULL)
			etup = NULL;		/* its chunks went with it */
		else
		{
			check_value(g, id, v);
			*distance = HnswComputeDistanceWithin(graph->distance, value,
												  PointerGetDatum(v), limit);
			*deleted = (etup->flags & HNSW_ELEMENT_DELETED) != 0;
			if (graph->filter && !*deleted &&
				!HnswFilterMatches(graph->filter, PointerGetDatum(v), etup))
				*deleted = true;
		}
	}
	UnlockReleaseBuffer(buf);
	return etup != NULL;
}

/*
 * Prefetch for a hop (see HnswGraph): only pages whose buffer we remember,
 * since finding the others would cost the lookup the prefetch is meant to
 * hide.  Reading a buffer's memory without a pin or lock is harmless here:
 * nothing is read into variables, the CPU is only asked to load the lines.
 */
static void
disk_prefetch(HnswGraph *graph, HnswElemId id, bool deep)
{
	HnswDiskGraph *g = (HnswDiskGraph *) graph;
	BlockNumber blkno = HnswElemIdGetBlock(id);
	int			slot = blkno & g->cache->mask;
	Page		page;

	if (g->cache->recent[slot].blkno != blkno ||
		BufferIsLocal(g->cache->recent[slot].buffer))
		return;
	page = BufferGetPage(g->cache->recent[slot].buffer);
	if (!deep)
	{
		/*
		 * What pinning, locking and checking the page will touch: the
		 * buffer's descriptor (pin count and content lock), the page header
		 * with the first line pointers, and the special space at its end.
		 */
		__builtin_prefetch(GetBufferDescriptor(g->cache->recent[slot].buffer - 1));
		__builtin_prefetch(page);
		__builtin_prefetch(page + BLCKSZ - MAXALIGN(sizeof(HnswPageOpaqueData)));
	}
	else
	{
		ItemId		itemid = PageGetItemId(page, HnswElemIdGetOffset(id));
		unsigned	off = ItemIdGetOffset(itemid);
		unsigned	len = ItemIdGetLength(itemid);

		/* an unlocked read may see garbage: stay inside the page */
		if (off >= BLCKSZ || len > BLCKSZ - off)
			return;

		/*
		 * The first 1.5 kB: past that the hardware prefetchers are streaming
		 * the rest, and a distance that passes the search's limit (see
		 * HnswComputeDistanceWithin) may never need it.
		 */
		for (unsigned i = 0; i < Min(len, 1536); i += HNSW_PREFETCH_STRIDE)
			__builtin_prefetch(page + off + i);
	}
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
		n = Min(etup->nneighbors, max);
		for (int i = 0; i < n; i++)
			out[i] = HnswElemIdFromTid(&etup->neighbors[i]);
		UnlockReleaseBuffer(buf);
		return n;
	}

	upper = etup->upper;
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

/* replace callback: layer-0 lists, by VACUUM (so always WAL-logged) */
static bool
disk_replace(HnswGraph *graph, HnswElemId target, const HnswElemId *seen,
			 int nseen, HnswCandidate *list, int nlist)
{
	return HnswReplaceNeighbors(((HnswDiskGraph *) graph)->index, target, NULL,
								0, seen, nseen, list, nlist, true);
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
 * Check a value against the dimension fixed in the metapage.
 */
static void
check_dimensions(Relation index, HnswDistance *dist, HnswMetaPageData *meta,
				 Datum value)
{
	uint32		dims = HnswValueDimensions(dist, value);

	if (dist->fixed_dimensions && meta->dimensions != 0 &&
		dims != meta->dimensions)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %u dimensions, not %u", meta->dimensions, dims),
				 errdetail("Index \"%s\" holds vectors of %u dimensions.",
						   RelationGetRelationName(index), meta->dimensions)));
}

/*
 * Raise an error if the index cannot store this value.  A value too large
 * for a page with its element is stored in chunks (see HnswWriteChunks), up
 * to HNSW_MAX_VALUE_SIZE.
 */
void
HnswCheckElementSize(Relation index, int m, Datum value)
{
	Size		size = VARSIZE_ANY(DatumGetPointer(value));

	if (size > HNSW_MAX_VALUE_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("index row size %zu exceeds hnsw maximum %zu for index \"%s\"",
						size, (Size) HNSW_MAX_VALUE_SIZE,
						RelationGetRelationName(index)),
				 errdetail("A value of an hnsw index may take at most %d bytes.",
						   HNSW_MAX_VALUE_SIZE)));
}

/*
 * Lock blkno exclusively if it has room for size bytes; else return
 * InvalidBuffer (and correct the free space map).
 */
static Buffer
lock_if_room(Relation index, BlockNumber blkno, Size size, bool *fresh)
{
	Buffer		buf;
	Page		page;

	if (blkno == HNSW_METAPAGE_BLKNO || !HnswBlockExists(index, blkno))
		return InvalidBuffer;
	buf = ReadBuffer(index, blkno);
	/* exclusive: we are going to add tuples */
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	page = BufferGetPage(buf);
	*fresh = PageIsNew(page);
	if (*fresh)
		return buf;
	HnswCheckPage(index, page, blkno);
	if (!HnswPageIsElements(page))
	{
		/* a filter directory page, at the end of the index */
		UnlockReleaseBuffer(buf);
		return InvalidBuffer;
	}
	if (PageGetExactFreeSpace(page) >= size)
		return buf;
	RecordPageWithFreeSpace(index, blkno, PageGetExactFreeSpace(page));
	UnlockReleaseBuffer(buf);
	return InvalidBuffer;
}

/*
 * Find a page with room for size bytes (line pointers included) and return
 * it exclusively locked; *fresh says it needs initialising.  Space freed by
 * VACUUM comes from the free space map; otherwise new elements go to the
 * last page, and when that is full the index grows by a page.
 */
static Buffer
page_with_room(Relation index, Size size, bool *fresh)
{
	BlockNumber blkno = GetPageWithFreeSpace(index, size);
	Buffer		buf;

	if (blkno != InvalidBlockNumber)
	{
		buf = lock_if_room(index, blkno, size, fresh);
		if (BufferIsValid(buf))
			return buf;
	}
	buf = lock_if_room(index, RelationGetNumberOfBlocks(index) - 1, size, fresh);
	if (BufferIsValid(buf))
		return buf;
	*fresh = true;
	return HnswNewBuffer(index, MAIN_FORKNUM);
}

static OffsetNumber
add_tuple(Relation index, Page page, void *tuple, Size size)
{
	OffsetNumber off = PageAddItem(page, (Item) tuple, size,
								   InvalidOffsetNumber, false, false);

	if (off == InvalidOffsetNumber)
		elog(ERROR, "failed to add tuple to index \"%s\"",
			 RelationGetRelationName(index));
	return off;
}

/*
 * Write value as a chain of chunk tuples and fill in ext to lead to them.
 * Each chunk goes where an element would (space VACUUM freed, the last
 * page, or a new one), one page locked at a time.  The chain is written
 * from its end, so every chunk knows its successor.
 */
void
HnswWriteChunks(Relation index, Datum value, HnswExternalValue *ext, bool wal)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	Size		size = VARSIZE_ANY(v);
	int			nchunks = (size + HNSW_CHUNK_DATA_SIZE - 1) / HNSW_CHUNK_DATA_SIZE;
	ItemPointerData next;
	HnswChunkTuple chunk = palloc0(HNSW_MAX_TUPLE_SIZE);

	SET_VARSIZE(ext, sizeof(HnswExternalValue));
	ext->size = size;
	ext->token = pg_prng_uint64(&pg_global_prng_state);
	ItemPointerSetInvalid(&next);
	for (int i = nchunks - 1; i >= 0; i--)
	{
		Size		start = (Size) i * HNSW_CHUNK_DATA_SIZE;
		Size		len = Min(HNSW_CHUNK_DATA_SIZE, size - start);
		Size		tuple_size = HnswFormChunk(chunk, ext->token,
											   i == nchunks - 1 ? NULL : &next,
											   (char *) v + start, len);
		bool		fresh;
		Buffer		buf = page_with_room(index, tuple_size + sizeof(ItemIdData), &fresh);
		HnswPageEdit edit;
		Page		page;
		OffsetNumber off;

		HnswEditStart(&edit, index, wal);
		page = HnswEditPage(&edit, buf, fresh);
		if (fresh)
			HnswInitPage(page, HNSW_PAGE_ELEMENTS);
		off = add_tuple(index, page, chunk, tuple_size);
		HnswEditFinish(&edit);
		ItemPointerSet(&next, BufferGetBlockNumber(buf), off);
		RecordPageWithFreeSpace(index, BufferGetBlockNumber(buf),
								PageGetExactFreeSpace(BufferGetPage(buf)));
		UnlockReleaseBuffer(buf);
	}
	ext->first = next;
	pfree(chunk);
}

/*
 * Write a new element (and its upper tuple, for level > 0) to a page, and
 * make it the entry point if new_entry.  directory, if not NULL, is its
 * filter columns, which go into the filter directory in the same WAL
 * record.  Returns its id.
 */
static HnswElemId
write_element(Relation index, HnswElementTuple etup, Size esize,
			  HnswUpperTuple utup, Size usize, bool new_entry,
			  IndexTuple directory, bool wal)
{
	Buffer		dirbuf = InvalidBuffer;
	Size		together = esize + sizeof(ItemIdData) +
		(utup ? usize + sizeof(ItemIdData) : 0);
	bool		fresh;
	Buffer		buf;
	Buffer		ubuf = InvalidBuffer;
	Buffer		metabuf = InvalidBuffer;
	HnswPageEdit edit;
	Page		page;
	Page		upage;
	OffsetNumber off;
	OffsetNumber uoff = InvalidOffsetNumber;
	BlockNumber blkno;

	if (together <= HNSW_MAX_TUPLE_SIZE + sizeof(ItemIdData))
		buf = page_with_room(index, together, &fresh);
	else
		buf = page_with_room(index, esize + sizeof(ItemIdData), &fresh);
	blkno = BufferGetBlockNumber(buf);
	/* then the directory's last page: see the locking notes above */
	if (directory)
		dirbuf = HnswDirectoryTail(index, HnswDirectoryTupleSize(directory), wal);

	HnswEditStart(&edit, index, wal);
	page = HnswEditPage(&edit, buf, fresh);
	if (fresh)
		HnswInitPage(page, HNSW_PAGE_ELEMENTS);
	off = add_tuple(index, page, etup, esize);

	if (utup)
	{
		ItemPointerSet(&utup->element, blkno, off);
		if (PageGetExactFreeSpace(page) >= usize + sizeof(ItemIdData))
			upage = page;
		else
		{
			/* a page nobody else knows yet, so locking it cannot deadlock */
			ubuf = HnswNewBuffer(index, MAIN_FORKNUM);
			upage = HnswEditPage(&edit, ubuf, true);
			HnswInitPage(upage, HNSW_PAGE_ELEMENTS);
		}
		uoff = add_tuple(index, upage, utup, usize);
		ItemPointerSet(&((HnswElementTuple) PageGetItem(page, PageGetItemId(page, off)))->upper,
					   BufferIsValid(ubuf) ? BufferGetBlockNumber(ubuf) : blkno,
					   uoff);
	}

	if (new_entry)
	{
		HnswMetaPage meta;

		metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
		/* exclusive: the entry point moves; we hold ExclusiveLock as inserter */
		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		meta = HnswPageGetMeta(HnswEditPage(&edit, metabuf, false));
		ItemPointerSet(&meta->entry, blkno, off);
		meta->entry_level = etup->level;
	}
	if (directory)
		HnswDirectoryAdd(index, HnswEditPage(&edit, dirbuf, false),
						 ((uint64) blkno << 16) | off, directory);
	HnswEditFinish(&edit);

	RecordPageWithFreeSpace(index, blkno, PageGetExactFreeSpace(BufferGetPage(buf)));
	if (BufferIsValid(ubuf))
	{
		RecordPageWithFreeSpace(index, BufferGetBlockNumber(ubuf),
								PageGetExactFreeSpace(BufferGetPage(ubuf)));
		UnlockReleaseBuffer(ubuf);
	}
	if (BufferIsValid(metabuf))
		UnlockReleaseBuffer(metabuf);
	UnlockReleaseBuffer(buf);
	if (BufferIsValid(dirbuf))
		UnlockReleaseBuffer(dirbuf);
	return ((uint64) blkno << 16) | off;
}

/*
 * A neighbour list locked for rewriting: the page that holds it, open in a
 * page edit, and where its slots are.
 */
typedef struct LockedList
{
	Buffer		buf;
	HnswPageEdit edit;
	HnswElementTuple etup;		/* for layer 0 */
	HnswUpperTuple utup;		/* for the layers above */
	ItemPointerData *slots;
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
		{
			ll->slots = ll->etup->neighbors;
			ll->count = ll->etup->nneighbors;
		}
	}
	else
	{
		ll->utup = HnswGetUpper(index, page, off);
		if (ll->utup != NULL && HnswElemIdFromTid(&ll->utup->element) == target &&
			ll->utup->level >= layer)
		{
			ll->slots = HnswUpperTupleList(ll->utup, layer);
			ll->count = ll->utup->counts[layer - 1];
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
 * not been removed.  Returns false if the caller must recompute.
 *
 * upper is target's upper tuple (needed for layers above 0).  Takes the
 * exclusive lock on the one page that holds the list, and nothing else.
 */
bool
HnswReplaceNeighbors(Relation index, HnswElemId target, ItemPointer upper,
					 int layer, const HnswElemId *seen, int nseen,
					 HnswCandidate *list, int nlist, bool wal)
{
	LockedList	ll;
	bool		same;

	if (!lock_list(index, target, upper, layer, wal, &ll))
		return true;			/* gone: nothing to replace */

	same = (ll.count == nseen);
	for (int i = 0; same && i < nseen; i++)
		if (HnswElemIdFromTid(&ll.slots[i]) != seen[i])
			same = false;
	if (same)
		HnswSetNeighbors(ll.etup, ll.utup, layer, list, nlist);
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
	int			kept = 0;

	if (!lock_list(index, target, upper, layer, true, &ll))
		return;
	for (int i = 0; i < ll.count; i++)
		if (!drop(arg, HnswElemIdFromTid(&ll.slots[i])))
			ll.slots[kept++] = ll.slots[i];
	if (ll.count >= 0 && kept < ll.count)
	{
		if (layer == 0)
			ll.etup->nneighbors = kept;
		else
			ll.utup->counts[layer - 1] = kept;
		unlock_list(&ll, true);
	}
	else
		unlock_list(&ll, false);
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
 * An insert's cut of target's layer-0 list (from seen to list) dropped some
 * elements.  If that was an element's last in-link, no search reaches it
 * until VACUUM links it back (README, "Known limitations").  So for each one
 * dropped, unless the new element lists it, look for another list naming
 * it among the lists of its own neighbours (its nearest neighbour's nearly
 * always does);
 * if none does, link it from its nearest neighbours, trying the first
 * three.  In-links from elements that are not its neighbours are not seen,
 * so a few elements get a link they did not need.  The lists are read one
 * page at a time, and a link is added as any other (HnswAddLink).
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

	for (int i = 0; i < nseen; i++)
	{
		HnswElemId	x = seen[i];
		bool		listed = false;
		int			nx;
		int			tries = 0;

		for (int j = 0; j < nlist && !listed; j++)
			listed = (list[j].id == x);
		for (int j = 0; j < g->new_count && !listed; j++)
			listed = (g->new_list[j].id == x);
		if (listed)
			continue;

		nx = graph->neighbors(graph, x, 0, xlist);
		for (int k = 0; k < nx && !listed; k++)
			if (xlist[k] != target)
				listed = id_in(x, ylist, graph->neighbors(graph, xlist[k], 0, ylist));
		if (listed)
			continue;

		/* the lists are nearest first */
		for (int k = 0; k < nx && tries < 3; k++)
		{
			HnswCandidate link;
			Datum		base;

			if (xlist[k] == target)
				continue;
			tries++;
			base = graph->value(graph, xlist[k]);
			if (base == (Datum) 0)
				continue;
			link.id = x;
			if (!graph->distance_to(graph, base, x, HNSW_DISTANCE_NO_LIMIT,
									&link.distance, &link.deleted) ||
				link.deleted)
				break;			/* gone, or its row is dead: nothing to keep */
			g->relinking = true;
			listed = HnswAddLink(index, graph, xlist[k], 0, &link, wal);
			g->relinking = false;
			if (listed)
				break;
		}
	}
	pfree(xlist);
	pfree(ylist);
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

	for (int attempt = 0; attempt < HNSW_LINK_RETRIES; attempt++)
	{
		Buffer		buf = read_share(g, HnswElemIdGetBlock(target));
		HnswElementTuple etup;
		ItemPointerData upper;
		int			nseen;
		int			nlist;
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
		upper = etup->upper;
		UnlockReleaseBuffer(buf);

		/* what the list holds now */
		nseen = graph->neighbors(graph, target, layer, seen);
		for (int i = 0; i < nseen; i++)
			if (seen[i] == link->id)
			{
				linked = true;
				goto out;
			}

		if (nseen < max)
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
			nlist = HnswPruneNeighbors(graph, base, seen, nseen, link, max, list);
		}

		/* if someone changed the list meanwhile, compute it again */
		done = HnswReplaceNeighbors(index, target, &upper, layer, seen, nseen,
									list, nlist, wal);
		if (done)
		{
			for (int i = 0; i < nlist; i++)
				if (list[i].id == link->id)
					linked = true;
			/* a cut list may have left an element without in-links */
			if (layer == 0 && nseen >= max && !g->relinking)
				relink_dropped(index, graph, target, seen, nseen, list, nlist,
							   wal);
			break;
		}
	}
out:
	pfree(seen);
	pfree(list);
	return linked;
}

/*
 * Insert a prepared value as a new element (Algorithm 1 of the paper).
 * The caller has checked the value; this checks its dimension and size.
 */
void
HnswInsertValue(Relation index, HnswDistance *dist, Datum value,
				IndexTuple filter, ItemPointer heaptid, bool wal)
{
	HnswMetaPageData meta;
	HnswGraph  *graph;
	LOCKMODE	lockmode = ShareLock;
	int			level;
	HnswCandidate *lists[HNSW_MAX_LAYERS];
	int			counts[HNSW_MAX_LAYERS];
	HnswElementTuple etup;
	HnswUpperTuple utup = NULL;
	Size		esize,
				usize = 0;
	HnswElemId	id;
	HnswExternalValue *ext = NULL;
	HnswCandidate *pool = NULL;
	int			npool = 0;
	int			nlinked;
	HnswCandidate *links = NULL;
	int			link_counts[HNSW_MAX_LINKED_COLUMNS];

	/* see the locking notes at the top of this file */
	LockPage(index, HNSW_METAPAGE_BLKNO, lockmode);
	meta = HnswReadMetaPage(index);
	HnswInitDiskGraph(&graph, index, dist, &meta);
	{
		HASHCTL		ctl;

		/* the values the heuristic reads, kept for this insert */
		ctl.keysize = sizeof(HnswElemId);
		ctl.entrysize = sizeof(CachedValue);
		ctl.hcxt = CurrentMemoryContext;
		((HnswDiskGraph *) graph)->values =
			hash_create("hnsw insert values", 256, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	level = HnswRandomLevel(graph);
	if (level > meta.entry_level ||
		(dist->fixed_dimensions && meta.dimensions == 0))
	{
		/* the entry point or the metapage may change: be the only one */
		UnlockPage(index, HNSW_METAPAGE_BLKNO, lockmode);
		lockmode = ExclusiveLock;
		LockPage(index, HNSW_METAPAGE_BLKNO, lockmode);
		meta = HnswReadMetaPage(index);
	}
	check_dimensions(index, dist, &meta, value);
	HnswCheckElementSize(index, meta.m, value);
	nlinked = HnswLinkedColumnCount(meta.linked_columns);

	if (dist->fixed_dimensions && meta.dimensions == 0)
	{
		Buffer		metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
		HnswPageEdit edit;

		/* exclusive: the first value fixes the dimension */
		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		HnswEditStart(&edit, index, wal);
		HnswPageGetMeta(HnswEditPage(&edit, metabuf, false))->dimensions =
			HnswValueDimensions(dist, value);
		HnswEditFinish(&edit);
		UnlockReleaseBuffer(metabuf);
	}

	for (int l = 0; l <= level; l++)
		counts[l] = 0;
	if (meta.entry_level >= 0)
	{
		/* an entry point removed by a concurrent VACUUM: look again */
		while (!HnswFindNeighbors(graph, value, level,
								  HnswElemIdFromTid(&meta.entry),
								  meta.entry_level, lists, counts,
								  &pool, &npool))
		{
			HnswMetaPageData again = HnswReadMetaPage(index);

			if (ItemPointerEquals(&again.entry, &meta.entry) ||
				again.entry_level < 0)
			{
				meta.entry_level = -1;
				for (int l = 0; l <= level; l++)
					counts[l] = 0;
				break;
			}
			meta = again;
		}
	}

	/* a value too large for its element's page goes to chunks first */
	if (HnswValueIsExternal(meta.m, VARSIZE_ANY(DatumGetPointer(value)),
							HnswElementTailSize(filter, nlinked, meta.value_links)))
	{
		ext = palloc(sizeof(HnswExternalValue));
		HnswWriteChunks(index, value, ext, wal);
	}
	etup = HnswFormElement(meta.m, value, filter, nlinked, meta.value_links,
						   level, heaptid, counts[0] > 0 ? lists[0] : NULL,
						   counts[0], ext, &esize);
	if (filter && nlinked > 0)
	{
		links = palloc(sizeof(HnswCandidate) * nlinked * meta.value_links);
		HnswChooseDiskValueLinks(index, graph, value, &meta, filter, pool,
								 npool, links, link_counts);
		HnswSetValueLinks(etup, links, link_counts);
	}
	if (level > 0)
	{
		utup = HnswFormUpper(meta.m, level, &usize);
		for (int l = 1; l <= level; l++)
			if (counts[l] > 0)
				HnswSetNeighbors(NULL, utup, l, lists[l], counts[l]);
	}
	id = write_element(index, etup, esize, utup, usize,
					   level > meta.entry_level,
					   (meta.flags & HNSW_META_DIRECTORY) ? filter : NULL, wal);

	/*
	 * The reverse links (lines 9-16 of Algorithm 1); elements their cuts
	 * leave unlisted are relinked.  On layer 0 the new element lists up to
	 * 2m neighbours, most of them filled in by keep_pruned, but links back
	 * only from those the heuristic chose and from its m nearest: the m
	 * connections of the paper's line 8.  Each link back is a page rewritten
	 * and logged, and every third meets a full list and cuts it: fewer
	 * links back made inserts faster with no recall lost, while linking
	 * back from the chosen ones alone lost recall (bench/RESULTS.md has the
	 * runs).  A build, whose links cost no page writes, links back from all
	 * of them (buildgraph.c).
	 */
	((HnswDiskGraph *) graph)->new_list = counts[0] > 0 ? lists[0] : NULL;
	((HnswDiskGraph *) graph)->new_count = counts[0];
	for (int l = Min(level, meta.entry_level); l >= 0; l--)
		for (int i = 0; i < counts[l]; i++)
		{
			HnswCandidate link;

			if (l == 0 && i >= meta.m && lists[l][i].filled)
				continue;
			link.id = id;
			link.distance = lists[l][i].distance;
			link.deleted = false;
			HnswAddLink(index, graph, lists[l][i].id, l, &link, wal);
		}
	if (links)
		HnswAddValueLinksBack(index, id, nlinked, meta.value_links, links,
							  link_counts, wal);

	UnlockPage(index, HNSW_METAPAGE_BLKNO, lockmode);
}

/*
 * aminsert: add the row's value as a new element.  NULLs are not indexed,
 * nor values with no distance to anything (see HnswPrepareValue).
 */
bool
hnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
		   Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
		   IndexInfo *indexInfo)
{
	MemoryContext insert_cxt;
	MemoryContext old_cxt;
	HnswDistance dist;
	Datum		value;
	bool		skip;

	if (isnull[0])
		return false;

	/* everything an insert allocates goes when it is done */
	insert_cxt = AllocSetContextCreate(CurrentMemoryContext, "hnsw insert",
									   ALLOCSET_DEFAULT_SIZES);
	old_cxt = MemoryContextSwitchTo(insert_cxt);

	HnswInitDistance(&dist, index);
	value = HnswPrepareValue(&dist, values[0], &skip);
	if (!skip)
		HnswInsertValue(index, &dist, value,
						HnswFormFilter(index, HnswFilterDesc(index),
									   values, isnull),
						heap_tid, true);

	MemoryContextSwitchTo(old_cxt);
	MemoryContextDelete(insert_cxt);
	return false;
}
