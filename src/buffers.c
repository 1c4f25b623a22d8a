/*-------------------------------------------------------------------------
 *
 * buffers.c
 *	  Each backend's cache of the shared buffers that hold an index's
 *	  blocks, and reading or locking element pages through it.
 *
 * The cache remembers the buffer of each block read lately, in a slot
 * chosen by block number modulo the number of slots.  A query visits a few
 * hundred pages, mostly the same ones as the queries before it (upper
 * layers, the neighbourhood of the entry point, and on a small index
 * everything), and ReadRecentBuffer() pins a remembered buffer without a
 * lookup in the shared buffer table.  The cache
 * lives in the index's relcache entry (rd_amcache), so it lasts across
 * queries and goes when the index's storage changes.  A remembered buffer
 * since given to another page is noticed by ReadRecentBuffer().
 *
 * It has a slot for every block of the index (8 bytes each), up to
 * HNSW_RECENT_BUFFERS_MAX slots (1 MB, an index of 1 GB) per index and
 * backend; on a larger index blocks share slots.  It grows when an
 * operation starts (HnswInitDiskGraph) and finds the index grown past it,
 * never during one: graphs hold a pointer to it.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "hnsw.h"

#define HNSW_RECENT_BUFFERS_MIN	1024
#define HNSW_RECENT_BUFFERS_MAX	131072

/*
 * A buffer cache for index with a slot for each of its nblocks blocks (as
 * far as the maximum allows), keeping what old remembered.
 */
static HnswBufferCache *
make_buffer_cache(Relation index, BlockNumber nblocks, HnswBufferCache *old)
{
	uint32		nslots = HNSW_RECENT_BUFFERS_MIN;
	HnswBufferCache *cache;

	while (nslots < nblocks && nslots < HNSW_RECENT_BUFFERS_MAX)
		nslots *= 2;
	cache = MemoryContextAlloc(index->rd_indexcxt,
							   offsetof(HnswBufferCache, recent) +
							   sizeof(HnswRecentBuffer) * nslots);
	cache->nblocks = nblocks;
	cache->mask = nslots - 1;
	for (uint32 i = 0; i < nslots; i++)
		cache->recent[i].blkno = InvalidBlockNumber;
	if (old != NULL)
	{
		for (uint32 i = 0; i <= old->mask; i++)
			if (old->recent[i].blkno != InvalidBlockNumber)
				cache->recent[old->recent[i].blkno & cache->mask] = old->recent[i];
		pfree(old);
	}
	return cache;
}

/* The buffer cache of index, made on first use */
static HnswBufferCache *
buffer_cache(Relation index)
{
	if (index->rd_amcache == NULL)
		index->rd_amcache = make_buffer_cache(index,
											  RelationGetNumberOfBlocks(index),
											  NULL);
	return (HnswBufferCache *) index->rd_amcache;
}

/*
 * The buffer cache of index for an operation about to start: grown first if
 * the index has outgrown it.
 */
HnswBufferCache *
HnswBufferCacheForOperation(Relation index)
{
	HnswBufferCache *cache = buffer_cache(index);

	if (cache->nblocks > cache->mask + 1 &&
		cache->mask + 1 < HNSW_RECENT_BUFFERS_MAX)
	{
		cache = make_buffer_cache(index, cache->nblocks, cache);
		index->rd_amcache = cache;
	}
	return cache;
}

/*
 * Does blkno exist in index?  Asking the storage manager for the size costs
 * a system call, so the size is asked again only for a block past the end
 * of what we knew (an hnsw index never shrinks).
 */
bool
HnswBlockExists(Relation index, BlockNumber blkno)
{
	HnswBufferCache *cache = buffer_cache(index);

	if (blkno >= cache->nblocks)
		cache->nblocks = RelationGetNumberOfBlocks(index);
	return blkno < cache->nblocks;
}

/*
 * Pin block blkno of index through the index's cache of recent buffers.
 * The caller has checked that the block exists.
 */
static Buffer
read_recent(Relation index, BlockNumber blkno)
{
	HnswBufferCache *cache = buffer_cache(index);
	HnswRecentBuffer *slot = &cache->recent[blkno & cache->mask];
	Buffer		buf;

	if (slot->blkno == blkno &&
		ReadRecentBuffer(HnswRelationFile(index), MAIN_FORKNUM, blkno, slot->buffer))
		return slot->buffer;
	buf = ReadBuffer(index, blkno);
	slot->blkno = blkno;
	slot->buffer = buf;
	return buf;
}

/*
 * Pin block blkno of index, an element page, through the index's cache of
 * recent buffers, lock it in mode and check it.  Returns InvalidBuffer if
 * blkno is the metapage or past the end of the index (a stale id).
 */
static Buffer
read_locked(Relation index, BlockNumber blkno, int mode)
{
	Buffer		buf;

	if (blkno == HNSW_METAPAGE_BLKNO || !HnswBlockExists(index, blkno))
		return InvalidBuffer;
	buf = read_recent(index, blkno);
	LockBuffer(buf, mode);
	HnswCheckPage(index, BufferGetPage(buf), blkno);
	return buf;
}

/* read_locked, to read: share lock */
Buffer
HnswReadShare(Relation index, BlockNumber blkno)
{
	return read_locked(index, blkno, BUFFER_LOCK_SHARE);
}

/*
 * read_locked, to change the page in place: exclusive lock, and the page
 * opened in edit (with WAL if wal); *page is the image to change.  The
 * caller ends the edit (HnswEditEnd) and then releases the buffer.  Returns
 * InvalidBuffer, with nothing locked or opened, for a stale id.
 */
Buffer
HnswLockForEdit(Relation index, BlockNumber blkno, bool wal,
				HnswPageEdit *edit, Page *page)
{
	Buffer		buf = read_locked(index, blkno, BUFFER_LOCK_EXCLUSIVE);

	if (BufferIsValid(buf))
	{
		HnswEditStart(edit, index, wal);
		*page = HnswEditPage(edit, buf, false);
	}
	return buf;
}

/*
 * The value of element etup, whose page the caller holds locked: for an
 * inline value a pointer into the page; for an external one the value put
 * together from its chunks in *buffer (grown as needed in the current
 * memory context; a fresh palloc if buffer is NULL).  NULL if the chunks
 * are not there (VACUUM removed the element since its id was read).
 *
 * Chunk pages are share-locked one at a time while the element's page is
 * locked too.  Chunks may share pages with elements (a build packs them
 * into the room whole elements leave, see layout.c; inserts put them where
 * there is room), but that cannot deadlock: whoever holds a page's lock
 * exclusively waits, if at all, only for a directory page, the metapage or
 * a page just added, and VACUUM, the one writer that reads chunks under a
 * lock, holds one page at a time (src/README, "Concurrency").
 */
struct varlena *
HnswElementValue(Relation index, HnswElementTuple etup, HnswValueBuffer *buffer)
{
	HnswExternalValue ext;

	if (!(etup->flags & HNSW_ELEMENT_EXTERNAL))
		return HnswElementTupleGetValue(etup);

	memcpy(&ext, HnswElementTupleGetValue(etup), sizeof(ext));
	return HnswReadExternal(index, &ext, buffer);
}

/*
 * The value that ext leads to, put together from its chunks, into buffer
 * (or palloc'd if it is NULL); NULL if a chunk is missing.  See
 * HnswElementValue on locks.
 */
struct varlena *
HnswReadExternal(Relation index, const HnswExternalValue *extp,
				 HnswValueBuffer *buffer)
{
	HnswExternalValue ext = *extp;
	char	   *out;
	Size		done = 0;
	ItemPointerData tid;

	if (ext.size < VARHDRSZ || ext.size > HNSW_MAX_VALUE_SIZE)
		return NULL;
	if (buffer == NULL)
		out = palloc(ext.size);
	else
	{
		if (buffer->size < ext.size)
		{
			if (buffer->data)
				pfree(buffer->data);
			buffer->data = MemoryContextAlloc(buffer->cxt, ext.size);
			buffer->size = ext.size;
		}
		out = buffer->data;
	}

	tid = ext.first;
	while (done < ext.size)
	{
		Buffer		buf;
		HnswChunkTuple chunk;
		bool		ok;

		if (!ItemPointerIsValid(&tid))
			return NULL;
		/* share: we only copy the chunk out */
		buf = HnswReadShare(index, ItemPointerGetBlockNumberNoCheck(&tid));
		if (!BufferIsValid(buf))
			return NULL;
		chunk = HnswGetChunk(BufferGetPage(buf), ItemPointerGetOffsetNumberNoCheck(&tid),
							 ext.token);
		ok = chunk != NULL && chunk->len > 0 && chunk->len <= ext.size - done;
		if (ok)
		{
			memcpy(out + done, chunk->data, chunk->len);
			done += chunk->len;
			tid = chunk->next;
		}
		UnlockReleaseBuffer(buf);
		if (!ok)
			return NULL;
	}
	if (VARSIZE_ANY(out) != ext.size)
		return NULL;
	return (struct varlena *) out;
}

/* A palloc'd copy of the value of etup (page locked); NULL if it is gone */
struct varlena *
HnswCopyElementValue(Relation index, HnswElementTuple etup)
{
	struct varlena *v;
	struct varlena *copy;

	if (etup->flags & HNSW_ELEMENT_EXTERNAL)
		return HnswElementValue(index, etup, NULL);
	v = HnswElementTupleGetValue(etup);
	copy = palloc(VARSIZE_ANY(v));
	memcpy(copy, v, VARSIZE_ANY(v));
	return copy;
}

/*
 * Whether to ask PostgreSQL to read pages ahead (PrefetchBuffer): a
 * prefetch of a page found in shared buffers costs a lookup in the buffer
 * table and gains nothing.  So each backend keeps a moving average of how
 * many of its prefetches did not find their page there (over about the last
 * 2^HNSW_MISS_SHIFT), and while fewer than one in HNSW_MISS_FEW missed,
 * only one in HNSW_RESIDENT_PROBE is asked for (which keeps the average
 * current).  An average, not a run of hits: a scan of a cached index also
 * asks ahead for pages it then does not read (candidates the ranking did
 * not need), which stay out of shared buffers and miss every time they are
 * asked for again.  Kept for tables and indexes alike: a page a skipped
 * prefetch would have started early is read when it is wanted, never
 * wrongly.
 */
#define HNSW_MISS_SHIFT			4
#define HNSW_MISS_ONE			(1 << 16)
#define HNSW_MISS_FEW			4
#define HNSW_RESIDENT_PROBE		16

/* the average, in 1/HNSW_MISS_ONE: at first, as if every prefetch missed */
static int32 miss_rate = HNSW_MISS_ONE;

static bool
all_resident(void)
{
	static uint32 skipped = 0;

	return miss_rate < HNSW_MISS_ONE / HNSW_MISS_FEW &&
		++skipped % HNSW_RESIDENT_PROBE != 0;
}

/* PrefetchBuffer, noting whether the page was in shared buffers */
static Buffer
prefetch_noting(Relation rel, BlockNumber blkno)
{
	PrefetchBufferResult result = PrefetchBuffer(rel, MAIN_FORKNUM, blkno);
	int32		missed = BufferIsValid(result.recent_buffer) ? 0 : HNSW_MISS_ONE;

	miss_rate += (missed - miss_rate) / (1 << HNSW_MISS_SHIFT);
	return result.recent_buffer;
}

/* Ask for block blkno of the table rel ahead, unless all seems cached */
void
HnswPrefetchTablePage(Relation rel, BlockNumber blkno)
{
	if (!all_resident())
		prefetch_noting(rel, blkno);
}

/*
 * Ask for block blkno of index ahead, unless all seems cached and its
 * buffer is one we remember (read_recent will pin it without a lookup);
 * the buffer PostgreSQL finds holding it, if any, is remembered, so that
 * reading it takes no second lookup.
 */
void
HnswPrefetchIndexPage(Relation index, BlockNumber blkno)
{
	HnswBufferCache *cache = buffer_cache(index);
	HnswRecentBuffer *slot = &cache->recent[blkno & cache->mask];
	Buffer		found;

	if (slot->blkno == blkno && all_resident())
		return;
	found = prefetch_noting(index, blkno);
	if (BufferIsValid(found))
	{
		slot->blkno = blkno;
		slot->buffer = found;
	}
}

/*
 * Prefetch what a hop to element id will read (see HnswGraph.prefetch): only pages whose buffer we remember,
 * since finding the others would cost the lookup the prefetch is meant to
 * hide.  Reading a buffer's memory without a pin or lock is harmless here:
 * nothing is read into variables, the CPU is only asked to load the lines.
 */
void
HnswPrefetchElement(HnswBufferCache *cache, HnswElemId id, bool deep)
{
	BlockNumber blkno = HnswElemIdGetBlock(id);
	int			slot = blkno & cache->mask;
	Page		page;

	if (cache->recent[slot].blkno != blkno ||
		BufferIsLocal(cache->recent[slot].buffer))
		return;
	page = BufferGetPage(cache->recent[slot].buffer);
	if (!deep)
	{
		/*
		 * What pinning, locking and checking the page will touch: the
		 * buffer's descriptor (pin count and content lock), the page header
		 * with the first line pointers, and the special space at its end.
		 */
		__builtin_prefetch(GetBufferDescriptor(cache->recent[slot].buffer - 1));
		__builtin_prefetch(page);
		__builtin_prefetch(page + BLCKSZ - MAXALIGN(sizeof(HnswPageOpaqueData)));
	}
	else
	{
		ItemId		itemid;
		unsigned	off;
		unsigned	len;

#ifdef USE_VALGRIND
		/* valgrind holds the page of a buffer we have not pinned unreadable */
		return;
#endif
		itemid = PageGetItemId(page, HnswElemIdGetOffset(id));
		off = ItemIdGetOffset(itemid);
		len = ItemIdGetLength(itemid);

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
