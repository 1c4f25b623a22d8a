/*-------------------------------------------------------------------------
 *
 * insert.c
 *	  aminsert: inserting one element into the graph on index pages
 *	  (Algorithm 1 of the paper, over diskgraph.c), and writing elements,
 *	  their chunks and their directory tuples to pages.
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
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "nodes/execnodes.h"

#include "hnsw.h"

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
 * it exclusively locked; *fresh says it needs initialising.  The page of
 * near (the new element's nearest neighbour, if valid) comes first when the
 * free space map says it has the room: an element beside its neighbours
 * makes their lists' compact ids small and a search's reads few.  Else
 * space freed by VACUUM comes from the free space map; otherwise new
 * elements go to the last page, and when that is full the index grows by a
 * page.
 */
static Buffer
page_with_room(Relation index, Size size, BlockNumber near, bool *fresh)
{
	BlockNumber blkno;
	Buffer		buf;

	if (near != InvalidBlockNumber && near != HNSW_METAPAGE_BLKNO &&
		GetRecordedFreeSpace(index, near) >= size)
	{
		buf = lock_if_room(index, near, size, fresh);
		if (BufferIsValid(buf))
			return buf;
	}
	blkno = GetPageWithFreeSpace(index, size);
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

	/* its padding too: a code copies it onto a page */
	memset(ext, 0, sizeof(HnswExternalValue));
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
		Buffer		buf = page_with_room(index, tuple_size + sizeof(ItemIdData),
										 InvalidBlockNumber, &fresh);
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
 * Write a new element (and its upper tuple, for level > 0) to a page, that
 * of block near if it has room, and make it the entry point if new_entry.
 * directory, if not NULL, is its filter columns, which go into the filter
 * directory in the same WAL record.  Returns its id.
 */
static HnswElemId
write_element(Relation index, HnswElementTuple etup, Size esize,
			  HnswUpperTuple utup, Size usize, bool new_entry,
			  IndexTuple directory, BlockNumber near, bool wal)
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
		buf = page_with_room(index, together, near, &fresh);
	else
		buf = page_with_room(index, esize + sizeof(ItemIdData), near, &fresh);
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
		HnswElementSetUpper((HnswElementTuple) PageGetItem(page, PageGetItemId(page, off)),
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
 * Set the metapage's dimension: the first value inserted fixes it.  The
 * caller holds the metapage's heavyweight lock exclusively.
 */
static void
fix_dimensions(Relation index, uint32 dimensions, bool wal)
{
	Buffer		metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	HnswPageEdit edit;

	/* exclusive: we change the metapage */
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	HnswEditStart(&edit, index, wal);
	HnswPageGetMeta(HnswEditPage(&edit, metabuf, false))->dimensions = dimensions;
	HnswEditFinish(&edit);
	UnlockReleaseBuffer(metabuf);
}

/*
 * The new element's neighbours on layers 0 .. level (lines 1-8 of
 * Algorithm 1), into lists and counts, and the candidates its layer-0
 * search met into *pool.  An entry point that a concurrent VACUUM removed
 * is looked up again; if the index has no entry point (*meta says, and is
 * updated), the element has no neighbours.
 */
static void
find_neighbors(Relation index, HnswGraph *graph, Datum value, int level,
			   HnswMetaPageData *meta, HnswCandidate **lists, int *counts,
			   HnswCandidate **pool, int *npool)
{
	for (int l = 0; l <= level; l++)
		counts[l] = 0;
	if (meta->entry_level < 0)
		return;
	while (!HnswFindNeighbors(graph, value, level,
							  HnswElemIdFromTid(&meta->entry),
							  meta->entry_level, lists, counts, pool, npool))
	{
		HnswMetaPageData again = HnswReadMetaPage(index);

		if (ItemPointerEquals(&again.entry, &meta->entry) ||
			again.entry_level < 0)
		{
			meta->entry_level = -1;
			for (int l = 0; l <= level; l++)
				counts[l] = 0;
			return;
		}
		*meta = again;
	}
}

/*
 * The reverse links of new element id (lines 9-16 of Algorithm 1), on
 * layers top .. 0; elements their cuts leave unlisted are relinked.  On
 * layer 0 the new element lists up to 2m neighbours, most of them filled in
 * by keep_pruned, but links back only from those the heuristic chose and
 * from its m nearest: the m connections of the paper's line 8.  Each link
 * back is a page rewritten and logged, and every third meets a full list
 * and cuts it: fewer links back made inserts faster with no recall lost,
 * while linking back from the chosen ones alone lost recall
 * (bench/RESULTS.md has the runs).  A build, whose links cost no page
 * writes, links back from all of them (buildgraph.c).
 */
static void
link_back(Relation index, HnswGraph *graph, HnswElemId id, int top, int m,
		  HnswCandidate **lists, int *counts, bool wal)
{
	bool		linked = false;

	HnswDiskGraphSetNewList(graph, id, lists[0], counts[0]);
	for (int l = top; l >= 0; l--)
		for (int i = 0; i < counts[l]; i++)
		{
			HnswCandidate link;

			if (l == 0 && i >= m && lists[l][i].filled)
				continue;
			link.id = id;
			link.distance = lists[l][i].distance;
			link.deleted = false;
			if (HnswAddLink(index, graph, lists[l][i].id, l, &link, wal) &&
				l == 0)
				linked = true;
		}
	if (counts[0] > 0 && !linked)
		HnswRelinkNewElement(index, graph, id, wal);
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
	Datum		stored;
	HnswExternalValue *ext = NULL;
	HnswCandidate *pool = NULL;
	int			npool = 0;
	int			nlinked;
	HnswCandidate *links = NULL;
	int			link_counts[HNSW_MAX_LINKED_COLUMNS];
	Datum		walk_value;
	bool		compact;
	Size		headbytes;

	/* see the locking notes at the top of this file */
	LockPage(index, HNSW_METAPAGE_BLKNO, lockmode);
	meta = HnswReadMetaPage(index);
	HnswInitDiskGraph(&graph, index, dist, &meta);
	HnswDiskGraphKeepValues(graph);
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
		fix_dimensions(index, HnswValueDimensions(dist, value), wal);

	/* a float8[] value among codes is measured narrowed, once */
	walk_value = value;
	if (dist->float8_values && HnswMetaHasCodes(&meta))
		walk_value = HnswNarrowValue(HnswGetQuantizer(dist), value, NULL, NULL, NULL);
	HnswSetWalkQuery(dist, walk_value);
	find_neighbors(index, graph, walk_value, level, &meta, lists, counts,
				   &pool, &npool);
	HnswPausePoint("insert_before_write");

	/*
	 * int8 (once a build has learned the ranges) and half storage: the value
	 * goes to chunks, and the element gets its code
	 */
	stored = value;
	if (HnswMetaHasCodes(&meta))
	{
		HnswExternalValue full;

		HnswWriteChunks(index, value, &full, wal);
		stored = HnswEncode(HnswGetQuantizer(dist), value, &full);
	}

	/*
	 * The layer-0 list: compact from format 6 on (older indexes keep lists of
	 * slots), with the bytes this list takes and room to change
	 */
	compact = meta.version >= 6;
	headbytes = compact ?
		HnswCompactHeadBytes(meta.m, level, HnswCompactListSize(lists[0], counts[0])) :
		HnswSlotHeadBytes(meta.m);

	/* a value too large for its element's page goes to chunks first */
	if (HnswValueIsExternal(headbytes, VARSIZE_ANY(DatumGetPointer(stored)),
							HnswElementTailSize(filter, nlinked, meta.value_links)))
	{
		ext = palloc(sizeof(HnswExternalValue));
		HnswWriteChunks(index, stored, ext, wal);
	}
	etup = HnswFormElement(compact, headbytes, stored, filter, nlinked,
						   meta.value_links, level, heaptid,
						   counts[0] > 0 ? lists[0] : NULL,
						   counts[0], ext, &esize);
	if (filter && nlinked > 0)
	{
		links = palloc(sizeof(HnswCandidate) * nlinked * meta.value_links);
		HnswChooseDiskValueLinks(index, graph, walk_value, &meta, filter, pool,
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
					   (meta.flags & HNSW_META_DIRECTORY) ? filter : NULL,
					   counts[0] > 0 ? HnswElemIdGetBlock(lists[0][0].id) :
					   InvalidBlockNumber, wal);

	HnswPausePoint("insert_before_link_back");
	link_back(index, graph, id, Min(level, meta.entry_level), meta.m,
			  lists, counts, wal);
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
