/*-------------------------------------------------------------------------
 *
 * directory.c
 *	  The filter directory: every element's filter columns on a few pages
 *	  of their own, so that a scan whose quals match few rows finds those
 *	  rows without walking the graph.
 *
 * A walk of the graph finds the nearest rows that pass a filter by passing
 * through the rows that do not: when one row in a thousand passes, it
 * reads most of the graph before it has ten.  The directory holds, for
 * each element, its id and a copy of its filter columns (a few dozen
 * bytes, where the element with its vector takes kilobytes), in a chain of
 * pages from the metapage's directory_head.  A filtered scan reads it
 * first; when few tuples pass the quals, it ranks exactly the elements
 * that do (HnswDirectoryMatches), and else gives up early and walks the
 * graph.
 *
 * Maintenance:
 *	- CREATE INDEX writes the first directory page right after the
 *	  metapage, and the tuples of the elements it writes after them.
 *	- An insert adds its element's tuple to the last page in the same WAL
 *	  record as the element (see write_element), so a crash cannot leave
 *	  an element the directory does not know.  New pages are added at the
 *	  end of the chain; the metapage's directory_tail says where the end
 *	  was last seen, and whoever reads it follows the chain from there.
 *	- VACUUM removes the tuples of the elements it is about to remove.  A
 *	  scan checks each element again on its own page, so a tuple whose
 *	  element is gone, or whose line pointer now holds another element,
 *	  does no harm.
 *
 * Locking: a directory page is locked alone, except the last page, which
 * takes its place in the buffer-lock order of src/README's "Concurrency"
 * (after an inserter's element page, before the metapage or a new page).
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

/*
 * A scan projects how many rows pass its quals from the share of the
 * first this many directory tuples that do.
 */
#define HNSW_DIRECTORY_PROBE	1024

/* Where a walk along the directory chain is */
typedef struct ChainWalk
{
	BlockNumber npages;			/* pages read so far */
	BlockNumber nblocks;		/* size of the index when last asked */
} ChainWalk;

#define CHAIN_WALK_INIT {0, 0}

/*
 * Read and lock blkno, the next page of the directory chain, checking that
 * it is a directory page and that the chain has not gone round in a
 * circle (it cannot be longer than the index).  The index's size is asked
 * again only for a block past what was known: that costs a system call,
 * and the index only grows.
 */
static Buffer
lock_directory_page(Relation index, BlockNumber blkno, ChainWalk *walk,
					int mode)
{
	Buffer		buf;
	Page		page;

	if (blkno >= walk->nblocks || walk->npages >= walk->nblocks)
		walk->nblocks = RelationGetNumberOfBlocks(index);
	if (blkno == HNSW_METAPAGE_BLKNO || blkno >= walk->nblocks)
		HnswReportCorruptedPage(index, blkno, "the filter directory chain leads outside the index");
	if (++walk->npages > walk->nblocks)
		HnswReportCorruptedPage(index, blkno, "the filter directory chain goes round in a circle");
	buf = ReadBuffer(index, blkno);
	LockBuffer(buf, mode);
	page = BufferGetPage(buf);
	HnswCheckPage(index, page, blkno);
	if (PageIsNew(page) || !HnswPageIsDirectory(page))
		HnswReportCorruptedPage(index, blkno, "the filter directory chain leads to a page of another kind");
	return buf;
}

/* Bytes of the directory tuple of filter, line pointer included */
Size
HnswDirectoryTupleSize(IndexTuple filter)
{
	return MAXALIGN(HNSW_DIRECTORY_HEADER_SIZE + IndexTupleSize(filter)) +
		sizeof(ItemIdData);
}

/* Initialise page, being edited, as an empty directory page */
void
HnswInitDirectoryPage(Page page)
{
	HnswInitPage(page, HNSW_PAGE_DIRECTORY);
}

/*
 * The last directory page, exclusively locked, with room for a tuple of
 * size bytes (see HnswDirectoryTupleSize).  When the last page is full a
 * new one is linked after it, and the metapage's hint moved there.
 */
Buffer
HnswDirectoryTail(Relation index, Size size, bool wal)
{
	for (;;)
	{
		HnswMetaPageData meta = HnswReadMetaPage(index);
		BlockNumber blkno = meta.directory_tail;
		ChainWalk	walk = CHAIN_WALK_INIT;
		Buffer		buf;
		Buffer		newbuf;
		Buffer		metabuf;
		BlockNumber newblkno;
		HnswPageEdit edit;

		if (!(meta.flags & HNSW_META_DIRECTORY))
			elog(ERROR, "index \"%s\" has no filter directory",
				 RelationGetRelationName(index));

		/* the hint may be behind: follow the chain to its end */
		for (;;)
		{
			BlockNumber next;

			/* exclusive: we are going to add a tuple, or a page after it */
			buf = lock_directory_page(index, blkno, &walk, BUFFER_LOCK_EXCLUSIVE);
			next = HnswPageGetNext(BufferGetPage(buf));
			if (next == 0)
				break;
			UnlockReleaseBuffer(buf);
			blkno = next;
		}
		if (PageGetExactFreeSpace(BufferGetPage(buf)) >= size)
			return buf;

		/* full: link a new page after it, which nobody else knows yet */
		newbuf = HnswNewBuffer(index, MAIN_FORKNUM);
		newblkno = BufferGetBlockNumber(newbuf);
		HnswEditStart(&edit, index, wal);
		HnswInitDirectoryPage(HnswEditPage(&edit, newbuf, true));
		HnswPageSetNext(HnswEditPage(&edit, buf, false), newblkno);
		HnswEditFinish(&edit);
		UnlockReleaseBuffer(newbuf);
		UnlockReleaseBuffer(buf);

		/* exclusive, and alone: move the hint */
		metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
		LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
		HnswEditStart(&edit, index, wal);
		HnswPageGetMeta(HnswEditPage(&edit, metabuf, false))->directory_tail = newblkno;
		HnswEditFinish(&edit);
		UnlockReleaseBuffer(metabuf);
	}
}

/*
 * Add the directory tuple of element id, whose filter columns are filter,
 * to page (being edited; the caller has made sure it has room).
 */
void
HnswDirectoryAdd(Relation index, Page page, HnswElemId id, IndexTuple filter)
{
	Size		size = HnswDirectoryTupleSize(filter) - sizeof(ItemIdData);
	HnswDirectoryTuple dtup = palloc0(size);

	dtup->type = HNSW_TUPLE_DIRECTORY;
	ItemPointerSet(&dtup->element, HnswElemIdGetBlock(id), HnswElemIdGetOffset(id));
	memcpy(HnswDirectoryTupleFilter(dtup), filter, IndexTupleSize(filter));
	if (PageAddItem(page, (Item) dtup, size, InvalidOffsetNumber,
					false, false) == InvalidOffsetNumber)
		elog(ERROR, "failed to add filter directory tuple to index \"%s\"",
			 RelationGetRelationName(index));
	pfree(dtup);
}

/*
 * The directory tuple at off of a directory page, or NULL for an unused
 * line pointer; a tuple that cannot be one is reported as corruption.
 */
HnswDirectoryTuple
HnswGetDirectoryTuple(Relation index, Page page, BlockNumber blkno,
					  OffsetNumber off)
{
	ItemId		iid = PageGetItemId(page, off);
	HnswDirectoryTuple dtup;
	Size		len;

	if (!ItemIdIsUsed(iid) || !ItemIdHasStorage(iid))
		return NULL;
	dtup = (HnswDirectoryTuple) PageGetItem(page, iid);
	len = ItemIdGetLength(iid);
	if (len < HNSW_DIRECTORY_HEADER_SIZE + sizeof(IndexTupleData) ||
		dtup->type != HNSW_TUPLE_DIRECTORY ||
		IndexTupleSize(HnswDirectoryTupleFilter(dtup)) > len - HNSW_DIRECTORY_HEADER_SIZE)
		HnswReportCorruptedPage(index, blkno, "a filter directory tuple is malformed");
	return dtup;
}

/*
 * Remove the directory tuples of the elements for which drop() is true
 * (VACUUM, before it removes the elements).
 */
void
HnswDirectoryRemove(Relation index, BlockNumber head,
					bool (*drop) (void *arg, HnswElemId id), void *arg)
{
	OffsetNumber *dead = palloc(sizeof(OffsetNumber) * MaxOffsetNumber);
	BlockNumber blkno = head;
	ChainWalk	walk = CHAIN_WALK_INIT;

	while (blkno != 0)
	{
		Buffer		buf;
		Page		page;
		int			ndead = 0;

		HnswVacuumDelayPoint();
		/* exclusive: tuples may go */
		buf = lock_directory_page(index, blkno, &walk, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber;
			 off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswDirectoryTuple dtup = HnswGetDirectoryTuple(index, page, blkno, off);

			if (dtup != NULL && drop(arg, HnswElemIdFromTid(&dtup->element)))
				dead[ndead++] = off;
		}
		if (ndead > 0)
		{
			HnswPageEdit edit;

			HnswEditStart(&edit, index, true);
			PageIndexMultiDelete(HnswEditPage(&edit, buf, false), dead, ndead);
			HnswEditFinish(&edit);
		}
		blkno = HnswPageGetNext(page);
		UnlockReleaseBuffer(buf);
	}
	pfree(dead);
}

/*
 * The elements whose directory tuples pass the keys of filter on the
 * filter columns (keys on the first column are left to the caller), into
 * *ids, ascending and each once.  Returns false, with nothing, as soon as
 * more than max_rows pass, or are projected to pass among the index's
 * expected_rows (from the share of the tuples read that pass, once
 * HNSW_DIRECTORY_PROBE have been read): then walking the graph is cheaper,
 * and *projected, if not NULL, says how many rows are expected to pass.
 */
bool
HnswDirectoryMatches(Relation index, BlockNumber head, HnswFilter *filter,
					 int max_rows, double expected_rows, HnswElemId **ids,
					 int *nids, double *projected)
{
	BlockNumber blkno = head;
	ChainWalk	walk = CHAIN_WALK_INIT;
	int64		nread = 0;
	int			n = 0;
	int			capacity = 256;
	HnswElemId *found = palloc(sizeof(HnswElemId) * capacity);

	while (blkno != 0)
	{
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		/* share: we only read */
		buf = lock_directory_page(index, blkno, &walk, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		for (OffsetNumber off = FirstOffsetNumber;
			 off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswDirectoryTuple dtup = HnswGetDirectoryTuple(index, page, blkno, off);

			if (dtup == NULL)
				continue;
			nread++;
			if (HnswFilterMatchesColumns(filter, HnswDirectoryTupleFilter(dtup)))
			{
				if (n == capacity)
				{
					capacity *= 2;
					found = repalloc_huge(found, sizeof(HnswElemId) * capacity);
				}
				found[n++] = HnswElemIdFromTid(&dtup->element);
			}
		}
		blkno = HnswPageGetNext(page);
		UnlockReleaseBuffer(buf);
		if (n > max_rows ||
			(nread >= HNSW_DIRECTORY_PROBE && expected_rows > nread &&
			 (double) n / nread * expected_rows > max_rows))
		{
			if (projected)
				*projected = (double) n / nread * Max(expected_rows, nread);
			pfree(found);
			return false;
		}
	}

	/* a tuple VACUUM has yet to remove may name a reused line pointer */
	qsort(found, n, sizeof(HnswElemId), HnswElemIdCompare);
	*nids = 0;
	for (int i = 0; i < n; i++)
		if (i == 0 || found[i] != found[i - 1])
			found[(*nids)++] = found[i];
	*ids = found;
	return true;
}
