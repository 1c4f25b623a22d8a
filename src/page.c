/*-------------------------------------------------------------------------
 *
 * page.c
 *	  Page primitives of the hnsw index, its tuples, and the only caller of
 *	  GenericXLog.
 *
 * Every change to a page goes through HnswEditStart / HnswEditPage /
 * HnswEditFinish.  With WAL, that is a GenericXLog record covering at most
 * MAX_GENERIC_XLOG_PAGES pages; during a build, pages are changed in place
 * and the whole index is WAL-logged at the end with log_newpage_range.
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

#include "hnsw.h"

/* Initialise an empty page of the given type */
void
HnswInitPage(Page page, uint16 flags)
{
	HnswPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(HnswPageOpaqueData));
	opaque = HnswPageGetOpaque(page);
	opaque->flags = flags;
	opaque->hnsw_page_id = HNSW_PAGE_ID;
}

/*
 * Initialise the metapage of an empty index.  linked_columns are the filter
 * columns that get value links (see HnswLinkableColumns), if the options
 * ask for any.
 */
void
HnswInitMetaPage(Page page, HnswOptions *opts, uint32 dimensions,
				 uint32 linked_columns)
{
	HnswMetaPage meta;

	HnswInitPage(page, HNSW_PAGE_META);
	meta = HnswPageGetMeta(page);
	memset(meta, 0, sizeof(HnswMetaPageData));
	meta->magic = HNSW_MAGIC;
	meta->version = HNSW_FORMAT_VERSION;
	meta->dimensions = dimensions;
	meta->m = opts->m;
	meta->ef_construction = opts->ef_construction;
	meta->max_layers = opts->max_layers;
	meta->level_scale = opts->level_scale;
	meta->flags = (opts->extend_candidates ? HNSW_META_EXTEND_CANDIDATES : 0) |
		(opts->keep_pruned ? HNSW_META_KEEP_PRUNED : 0);
	meta->entry_level = -1;
	ItemPointerSetInvalid(&meta->entry);
	if (opts->filter_links > 0 && linked_columns != 0)
	{
		meta->value_links = opts->filter_links;
		meta->linked_columns = linked_columns;
	}
	meta->storage = opts->storage;
	((PageHeader) page)->pd_lower =
		((char *) meta + sizeof(HnswMetaPageData)) - (char *) page;
}

/*
 * The metapage's contents, with the options a version 1 metapage lacks set
 * to the values version 1 built with.
 */
HnswMetaPageData
HnswMetaPageContents(Page page)
{
	HnswMetaPageData meta = *HnswPageGetMeta(page);

	if (meta.version == 1)
	{
		meta.max_layers = HNSW_MAX_LAYERS;
		meta.level_scale = HNSW_DEFAULT_LEVEL_SCALE;
		meta.flags = HNSW_META_KEEP_PRUNED;
	}
	if (meta.version < 3)
	{
		meta.flags &= ~HNSW_META_DIRECTORY;
		meta.directory_head = meta.directory_tail = 0;
	}
	if (meta.version < 4)
	{
		meta.value_links = 0;
		meta.linked_columns = 0;
	}
	if (meta.version < 5)
	{
		meta.storage = HNSW_STORAGE_FLOAT4;
		memset(&meta.ranges, 0, sizeof(meta.ranges));
	}
	return meta;
}

/* Report a page that is not what an hnsw index should hold */
void
HnswReportCorruptedPage(Relation index, BlockNumber blkno, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" is corrupted", RelationGetRelationName(index)),
			 errdetail("Block %u: %s.", blkno, what),
			 errhint("Please REINDEX it.")));
}

/*
 * Check that a page read from the index is an hnsw page of the type its
 * block number calls for.  New, all-zero pages (left by a crash during
 * relation extension) pass.
 */
void
HnswCheckPage(Relation index, Page page, BlockNumber blkno)
{
	HnswPageOpaque opaque;

	if (PageIsNew(page))
		return;
	if (PageGetSpecialSize(page) != MAXALIGN(sizeof(HnswPageOpaqueData)))
		HnswReportCorruptedPage(index, blkno, "the special space has the wrong size");
	opaque = HnswPageGetOpaque(page);
	if (opaque->hnsw_page_id != HNSW_PAGE_ID)
		HnswReportCorruptedPage(index, blkno, "the page was not written by hnsw");
	if (blkno == HNSW_METAPAGE_BLKNO ? !HnswPageIsMeta(page) :
		!(HnswPageIsElements(page) || HnswPageIsDirectory(page)))
		HnswReportCorruptedPage(index, blkno, "the page type is wrong");
}

/*
 * Read the metapage and check it: magic number and format version.  An
 * index written by a different format version must be rebuilt.
 */
HnswMetaPageData
HnswReadMetaPage(Relation index)
{
	Buffer		buf;
	Page		page;
	HnswMetaPageData meta;

	buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
	/* share lock: we only copy the metapage out */
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (PageIsNew(page))
		HnswReportCorruptedPage(index, HNSW_METAPAGE_BLKNO, "the metapage is empty");
	HnswCheckPage(index, page, HNSW_METAPAGE_BLKNO);
	meta = HnswMetaPageContents(page);
	UnlockReleaseBuffer(buf);

	if (meta.magic != HNSW_MAGIC)
		HnswReportCorruptedPage(index, HNSW_METAPAGE_BLKNO, "the magic number is wrong");
	if (meta.version < HNSW_OLDEST_FORMAT_VERSION ||
		meta.version > HNSW_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has format version %u, but this build of hnsw reads versions %d to %d",
						RelationGetRelationName(index), meta.version,
						HNSW_OLDEST_FORMAT_VERSION, HNSW_FORMAT_VERSION),
				 errhint("Please REINDEX it.")));
	if (meta.m < HNSW_MIN_M || meta.m > HNSW_MAX_M ||
		meta.entry_level >= meta.max_layers ||
		meta.max_layers < 1 || meta.max_layers > HNSW_MAX_LAYERS ||
		meta.storage > HNSW_STORAGE_BIT ||
		!(meta.level_scale >= HNSW_MIN_LEVEL_SCALE &&
		  meta.level_scale <= HNSW_MAX_LEVEL_SCALE))
		HnswReportCorruptedPage(index, HNSW_METAPAGE_BLKNO,
								"the metapage holds impossible values");
	return meta;
}

/*
 * Begin changing pages.  wal is false only while a build writes pages that
 * it WAL-logs wholesale at the end.
 */
void
HnswEditStart(HnswPageEdit *edit, Relation index, bool wal)
{
	edit->xlog = wal ? GenericXLogStart(index) : NULL;
	edit->nbuffers = 0;
}

/*
 * Add an exclusively locked buffer to the edit and return the page image
 * to change (with WAL, a copy that becomes the page at HnswEditFinish).
 * fresh says the page is being initialised, so WAL carries it whole.
 */
Page
HnswEditPage(HnswPageEdit *edit, Buffer buffer, bool fresh)
{
	Page		page;

	for (int i = 0; i < edit->nbuffers; i++)
		if (edit->buffers[i] == buffer)
			return edit->pages[i];
	if (edit->nbuffers >= MAX_GENERIC_XLOG_PAGES)
		elog(ERROR, "hnsw edit touches too many pages");
	if (edit->xlog)
		page = GenericXLogRegisterBuffer(edit->xlog, buffer,
										 fresh ? GENERIC_XLOG_FULL_IMAGE : 0);
	else
		page = BufferGetPage(buffer);
	edit->buffers[edit->nbuffers] = buffer;
	edit->pages[edit->nbuffers] = page;
	edit->nbuffers++;
	return page;
}

/* Apply the edit: write its WAL record, or just mark the pages dirty */
void
HnswEditFinish(HnswPageEdit *edit)
{
	if (edit->xlog)
		GenericXLogFinish(edit->xlog);
	else
		for (int i = 0; i < edit->nbuffers; i++)
			MarkBufferDirty(edit->buffers[i]);
	edit->xlog = NULL;
	edit->nbuffers = 0;
}

/* Give up an edit: nothing was changed (pages changed without WAL stay) */
void
HnswEditAbort(HnswPageEdit *edit)
{
	if (edit->xlog)
		GenericXLogAbort(edit->xlog);
	edit->xlog = NULL;
	edit->nbuffers = 0;
}

/* Finish the edit if changed, else abort it: nothing is written */
void
HnswEditEnd(HnswPageEdit *edit, bool changed)
{
	if (changed)
		HnswEditFinish(edit);
	else
		HnswEditAbort(edit);
}

/*
 * Extend the index by one page and return it pinned and exclusively
 * locked.  The caller initialises it inside an edit.
 *
 * The content lock is taken before the new buffer becomes valid, so no
 * other backend (one looking at the last block for room, say) can lock and
 * initialise the page before we do (see HnswExtendRelation).
 */
Buffer
HnswNewBuffer(Relation index, ForkNumber fork)
{
	return HnswExtendRelation(index, fork);
}

/*
 * The element tuple at off, or NULL if that line pointer holds no element
 * (VACUUM removed it, or it is an upper tuple).  The caller holds a lock on
 * the page.  A tuple that cannot be an element of this index is reported
 * as corruption rather than read past its end.
 */
HnswElementTuple
HnswGetElement(Relation index, Page page, OffsetNumber off)
{
	ItemId		iid;
	HnswElementTuple etup;

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return NULL;
	iid = PageGetItemId(page, off);
	if (!ItemIdIsUsed(iid) || !ItemIdHasStorage(iid))
		return NULL;
	etup = (HnswElementTuple) PageGetItem(page, iid);
	if (etup->type != HNSW_TUPLE_ELEMENT)
		return NULL;
	if (ItemIdGetLength(iid) < HNSW_ELEMENT_HEADER_SIZE ||
		etup->value_offset + VARHDRSZ > ItemIdGetLength(iid) ||
		etup->value_offset + VARSIZE_ANY(HnswElementTupleGetValue(etup)) > ItemIdGetLength(iid) ||
		etup->level >= HNSW_MAX_LAYERS ||
		etup->value_offset < HnswElementListStart(etup) ||
		(!(etup->flags & HNSW_ELEMENT_COMPACT) &&
		 HNSW_ELEMENT_HEADER_SIZE + sizeof(ItemPointerData) * etup->nneighbors > etup->value_offset) ||
		((etup->flags & HNSW_ELEMENT_FILTER) &&
		 !HnswElementTupleFilterFits(etup, ItemIdGetLength(iid))) ||
		((etup->flags & HNSW_ELEMENT_LINKS) &&
		 !HnswElementTupleLinksFit(etup, ItemIdGetLength(iid))))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is corrupted", RelationGetRelationName(index)),
				 errdetail("Element tuple at offset %u of a page is malformed.", off),
				 errhint("Please REINDEX it.")));
	return etup;
}

/* The upper tuple at off, or NULL; as HnswGetElement */
HnswUpperTuple
HnswGetUpper(Relation index, Page page, OffsetNumber off)
{
	ItemId		iid;
	HnswUpperTuple utup;

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return NULL;
	iid = PageGetItemId(page, off);
	if (!ItemIdIsUsed(iid) || !ItemIdHasStorage(iid))
		return NULL;
	utup = (HnswUpperTuple) PageGetItem(page, iid);
	if (utup->type != HNSW_TUPLE_UPPER)
		return NULL;
	if (utup->level == 0 || utup->level >= HNSW_MAX_LAYERS || utup->m == 0 ||
		ItemIdGetLength(iid) < HnswUpperTupleSize(utup->m, utup->level))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is corrupted", RelationGetRelationName(index)),
				 errdetail("Upper tuple at offset %u of a page is malformed.", off),
				 errhint("Please REINDEX it.")));
	return utup;
}

/*
 * Bytes of an element tuple after its value: the filter columns (filter,
 * NULL if the index has none) and the value links of nlinked columns with
 * nslots links each (none if nlinked is 0).
 */
Size
HnswElementTailSize(IndexTuple filter, int nlinked, int nslots)
{
	Size		fsize = filter ? IndexTupleSize(filter) : 0;

	if (filter == NULL || nlinked == 0)
		return fsize;
	return MAXALIGN(fsize) + HnswValueLinksSize(nlinked, nslots);
}

/*
 * Build an element tuple with its layer-0 neighbours, its header and list
 * taking headbytes: a compact list (format 6; see HnswCompactHeadBytes) or,
 * if !compact, one of slots (HnswSlotHeadBytes).  With
 * ext, the value is stored in chunks and the element holds ext in its place.
 * filter is the row's filter columns (NULL if the index has none); with
 * nlinked, room follows them for the value links of that many columns,
 * nslots each, all empty (see HnswSetValueLinks).
 */
HnswElementTuple
HnswFormElement(bool compact, Size headbytes, Datum value, IndexTuple filter,
				int nlinked, int nslots, int level, ItemPointer heaptid,
				HnswCandidate *neighbors, int nneighbors,
				HnswExternalValue *ext, Size *size)
{
	struct varlena *v = ext ? (struct varlena *) ext :
		(struct varlena *) DatumGetPointer(value);
	Size		fsize = filter ? IndexTupleSize(filter) : 0;
	HnswElementTuple etup;

	if (filter == NULL)
		nlinked = 0;
	*size = HnswElementTupleSize(headbytes, VARSIZE_ANY(v),
								 HnswElementTailSize(filter, nlinked, nslots));
	etup = palloc0(*size);
	etup->type = HNSW_TUPLE_ELEMENT;
	etup->flags = (ext ? HNSW_ELEMENT_EXTERNAL : 0) |
		(filter ? HNSW_ELEMENT_FILTER : 0) |
		(nlinked > 0 ? HNSW_ELEMENT_LINKS : 0) |
		(compact ? HNSW_ELEMENT_COMPACT : 0);
	etup->level = level;
	etup->value_offset = HnswElementTupleValueOffset(headbytes);
	etup->heaptid = *heaptid;
	if (!compact || level > 0)
		ItemPointerSetInvalid(&etup->upper);
	HnswSetNeighbors(etup, NULL, 0, neighbors, nneighbors);
	memcpy(HnswElementTupleGetValue(etup), v, VARSIZE_ANY(v));
	if (filter)
		memcpy(HnswElementTupleGetFilter(etup), filter, fsize);
	if (nlinked > 0)
	{
		HnswValueLinks vl = HnswElementTupleGetLinks(etup);

		vl->ncolumns = nlinked;
		vl->nslots = nslots;
	}
	return etup;
}

/* Build an empty upper tuple for an element of the given level */
HnswUpperTuple
HnswFormUpper(int m, int level, Size *size)
{
	HnswUpperTuple utup;

	*size = HnswUpperTupleSize(m, level);
	utup = palloc0(*size);
	utup->type = HNSW_TUPLE_UPPER;
	utup->level = level;
	utup->m = m;
	ItemPointerSetInvalid(&utup->element);
	return utup;
}

/*
 * Fill chunk (HNSW_MAX_TUPLE_SIZE bytes) with len bytes of a value from
 * data, leading to next (NULL for the last chunk); returns the tuple's size.
 */
Size
HnswFormChunk(HnswChunkTuple chunk, uint64 token, ItemPointer next,
			  const char *data, Size len)
{
	Assert(len <= HNSW_CHUNK_DATA_SIZE);
	chunk->type = HNSW_TUPLE_CHUNK;
	chunk->len = len;
	chunk->token = token;
	if (next)
		chunk->next = *next;
	else
		ItemPointerSetInvalid(&chunk->next);
	memcpy(chunk->data, data, len);
	return MAXALIGN(HNSW_CHUNK_HEADER_SIZE + len);
}

/*
 * Compact layer-0 lists (HNSW_ELEMENT_COMPACT; the encoding is described
 * over HnswElementTupleData).
 */

/* Append x as a varint at *pos, if it fits before end */
static inline bool
put_varint(uint8 **pos, uint8 *end, uint64 x)
{
	do
	{
		if (*pos >= end)
			return false;
		*(*pos)++ = (uint8) ((x & 0x7F) | (x >= 0x80 ? 0x80 : 0));
		x >>= 7;
	} while (x != 0);
	return true;
}

/* Read a varint of at most 40 bits at *pos, before end; false if malformed */
static inline bool
get_varint(const uint8 **pos, const uint8 *end, uint64 *x)
{
	uint64		v = 0;

	for (int shift = 0; shift < 42; shift += 7)
	{
		uint8		b;

		if (*pos >= end)
			return false;
		b = *(*pos)++;
		v |= (uint64) (b & 0x7F) << shift;
		if ((b & 0x80) == 0)
		{
			*x = v;
			return v < ((uint64) 1 << 40);
		}
	}
	return false;
}

/* The offset part of a compact list entry that fits in its first varint */
#define OFFSET_BITS			4
#define OFFSET_INLINE_MAX	((1 << OFFSET_BITS) - 1)

/*
 * Encode the n ids of sorted (ascending, no repeats) into out, at most room
 * bytes; returns the bytes used, or -1 if they do not fit.  Each entry is
 * a varint of (block difference << OFFSET_BITS | the offset part, or
 * OFFSET_INLINE_MAX if it is that or more), and then, if it is, a varint of
 * the offset part less OFFSET_INLINE_MAX.  The offset part is the offset's
 * difference from the one before on the same block, else the offset.
 */
static int
encode_list(const HnswElemId *sorted, int n, uint8 *out, Size room)
{
	uint8	   *pos = out;
	uint8	   *end = out + room;

	for (int i = 0; i < n; i++)
	{
		BlockNumber blkno = HnswElemIdGetBlock(sorted[i]);
		OffsetNumber off = HnswElemIdGetOffset(sorted[i]);
		BlockNumber prevblk = i > 0 ? HnswElemIdGetBlock(sorted[i - 1]) : 0;
		OffsetNumber prevoff = i > 0 ? HnswElemIdGetOffset(sorted[i - 1]) : 0;
		uint32		part = (i > 0 && blkno == prevblk) ? off - prevoff : off;

		if (!put_varint(&pos, end, ((uint64) (blkno - prevblk) << OFFSET_BITS) |
						Min(part, OFFSET_INLINE_MAX)) ||
			(part >= OFFSET_INLINE_MAX &&
			 !put_varint(&pos, end, part - OFFSET_INLINE_MAX)))
			return -1;
	}
	return pos - out;
}

/*
 * Encode as many of the first ids of list (count of them, the nearest
 * first) as fit in room bytes at out: all of them if they fit, else fewer,
 * the farthest left out.  Returns how many; *used is set to the bytes.
 */
static int
encode_candidates(const HnswCandidate *list, int count, uint8 *out,
				  Size room, int *used)
{
	HnswElemId	sorted[2 * HNSW_MAX_M];

	Assert(count <= 2 * HNSW_MAX_M);
	for (int n = count; n > 0; n--)
	{
		int			k = 0;
		int			bytes;

		for (int i = 0; i < n; i++)
			sorted[i] = list[i].id;
		qsort(sorted, n, sizeof(HnswElemId), HnswElemIdCompare);
		/* a list never names an element twice; drop repeats if it does */
		for (int i = 0; i < n; i++)
			if (k == 0 || sorted[k - 1] != sorted[i])
				sorted[k++] = sorted[i];
		bytes = encode_list(sorted, k, out, room);
		if (bytes >= 0)
		{
			*used = bytes;
			return k;
		}
	}
	*used = 0;
	return 0;
}

/* The bytes the compact list of the count ids of list takes */
Size
HnswCompactListSize(const HnswCandidate *list, int count)
{
	uint8		buf[2 * HNSW_MAX_M * 12];
	int			used;

	(void) encode_candidates(list, count, buf, sizeof(buf), &used);
	return used;
}

/*
 * The bytes of the header and compact list of an element of level whose
 * list takes used bytes now: those, and room for the list to change (a
 * later insert's link may name an element farther away), up to what
 * MAXALIGN leaves before the value; never more than a list of slots.
 */
Size
HnswCompactHeadBytes(int m, int level, Size used)
{
	return Min(HnswCompactListStart(level) + used + HNSW_LIST_ROOM(m),
			   HnswSlotHeadBytes(m));
}

/* The upper tuple of element etup (invalid for level 0) */
ItemPointerData
HnswElementGetUpper(HnswElementTuple etup)
{
	ItemPointerData upper;

	if (etup->level == 0 && (etup->flags & HNSW_ELEMENT_COMPACT))
		ItemPointerSetInvalid(&upper);
	else
		upper = etup->upper;
	return upper;
}

/* Set the upper tuple of etup, of a level above 0 */
void
HnswElementSetUpper(HnswElementTuple etup, BlockNumber blkno, OffsetNumber off)
{
	Assert(etup->level > 0);
	ItemPointerSet(&etup->upper, blkno, off);
}

/*
 * The layer-0 neighbours of etup into out (at most max), in the list's
 * order: nearest first for a list of slots, by id for a compact one.
 * Returns -1 if a compact list does not decode within its bytes.  With
 * stray, the bytes of a compact list after the ones decoded are counted
 * there unless they are all zero, as HnswSetNeighbors leaves them (the
 * verifier checks that; a scan does not).  The caller holds a lock on the
 * page.
 */
int
HnswElementDecodeNeighbors(HnswElementTuple etup, HnswElemId *out, int max,
						   int *stray)
{
	int			n = Min(etup->nneighbors, max);
	const uint8 *pos = (const uint8 *) etup + HnswElementListStart(etup);
	const uint8 *end = (const uint8 *) etup + etup->value_offset;
	uint32		blkno = 0;
	uint32		off = 0;

	if (!(etup->flags & HNSW_ELEMENT_COMPACT))
	{
		for (int i = 0; i < n; i++)
			out[i] = HnswElemIdFromTid(&etup->neighbors[i]);
		return n;
	}
	for (int i = 0; i < n; i++)
	{
		uint64		head;
		uint64		part;
		uint64		dblk;

		if (!get_varint(&pos, end, &head))
			return -1;
		dblk = head >> OFFSET_BITS;
		part = head & OFFSET_INLINE_MAX;
		if (part == OFFSET_INLINE_MAX)
		{
			uint64		more;

			if (!get_varint(&pos, end, &more) || more > MaxOffsetNumber)
				return -1;
			part += more;
		}
		if ((uint64) blkno + dblk > MaxBlockNumber)
			return -1;
		/* after the first, the same block means a greater offset */
		if (i > 0 && dblk == 0)
		{
			if (part == 0)
				return -1;
			off += part;
		}
		else
			off = part;
		if (off == 0 || off > MaxOffsetNumber)
			return -1;
		blkno += dblk;
		out[i] = ((uint64) blkno << 16) | off;
	}
	if (stray)
	{
		*stray = 0;
		if (n == etup->nneighbors)
			for (; pos < end; pos++)
				*stray += (*pos != 0);
	}
	return n;
}

/* HnswElementDecodeNeighbors, with a list that does not decode an error */
int
HnswElementGetNeighbors(Relation index, HnswElementTuple etup,
						HnswElemId *out, int max)
{
	int			n = HnswElementDecodeNeighbors(etup, out, max, NULL);

	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is corrupted", RelationGetRelationName(index)),
				 errdetail("The neighbour list of an element does not decode."),
				 errhint("Please REINDEX it.")));
	return n;
}

/*
 * Overwrite the neighbour list of layer in an element (layer 0) or its
 * upper tuple (layers above), from a list of candidates, the nearest
 * first.  A compact list keeps as many of them as its bytes hold: the
 * farthest are left out if they do not all fit.  Returns how many it
 * kept.
 */
int
HnswSetNeighbors(HnswElementTuple etup, HnswUpperTuple utup, int layer,
				 HnswCandidate *list, int count)
{
	ItemPointerData *slots;

	if (layer == 0 && (etup->flags & HNSW_ELEMENT_COMPACT))
	{
		uint8	   *area = (uint8 *) etup + HnswElementListStart(etup);
		Size		room = HnswElementListBytes(etup);
		int			used;

		etup->nneighbors = encode_candidates(list, count, area, room, &used);
		memset(area + used, 0, room - used);
		return etup->nneighbors;
	}
	if (layer == 0)
	{
		slots = etup->neighbors;
		etup->nneighbors = count;
	}
	else
	{
		slots = HnswUpperTupleList(utup, layer);
		utup->counts[layer - 1] = count;
	}
	for (int i = 0; i < count; i++)
		ItemPointerSet(&slots[i], HnswElemIdGetBlock(list[i].id),
					   HnswElemIdGetOffset(list[i].id));
	return count;
}

/*
 * External values (see HnswExternalValue in hnsw_page.h).
 */

/*
 * Does a value of size bytes, with filter columns of filtersize, go out of
 * line in an element whose header and layer-0 list take headbytes?
 */
bool
HnswValueIsExternal(Size headbytes, Size size, Size filtersize)
{
	return HnswElementTupleSize(headbytes, size, filtersize) > HNSW_MAX_TUPLE_SIZE;
}

/*
 * The chunk at tid if it belongs to the value of token; NULL otherwise.
 * The caller holds a lock on its page.
 */
HnswChunkTuple
HnswGetChunk(Page page, OffsetNumber off, uint64 token)
{
	ItemId		iid;
	HnswChunkTuple chunk;

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return NULL;
	iid = PageGetItemId(page, off);
	if (!ItemIdIsUsed(iid) || !ItemIdHasStorage(iid) ||
		ItemIdGetLength(iid) < HNSW_CHUNK_HEADER_SIZE)
		return NULL;
	chunk = (HnswChunkTuple) PageGetItem(page, iid);
	if (chunk->type != HNSW_TUPLE_CHUNK || chunk->token != token ||
		HNSW_CHUNK_HEADER_SIZE + chunk->len > ItemIdGetLength(iid))
		return NULL;
	return chunk;
}
