/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  hnsw_verify(), an amcheck-style check of an hnsw index, and reading an
 *	  index whole for the introspection functions (inspect.c).
 *
 * hnsw_verify() reads every page under a ShareLock on the index (so no
 * insert or VACUUM changes it meanwhile; on a standby, where that lock
 * cannot be had, the check runs alongside replay) and reports what is wrong
 * as rows: the metapage (magic, version, options), page identities, element
 * and upper tuples, neighbour references that do not lead to an element,
 * layer counts, the entry point, the filter directory, and elements of
 * visible rows that cannot be reached from the entry point.  A healthy index
 * gives no rows.  Each check is a function of its own; the introspection
 * functions read the index through the same ones, under AccessShareLock,
 * and error out on anything hnsw_verify() would report.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/tuptable.h"
#include "utils/snapmgr.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "hnsw.h"

PG_FUNCTION_INFO_V1(hnsw_verify);

/* Reports at most this many unreachable elements one by one */
#define HNSW_VERIFY_MAX_UNREACHABLE 100

static void
			report(HnswVerifyState *vs, BlockNumber blkno, int off, const char *fmt,...)
			pg_attribute_printf(4, 5);

static void
report(HnswVerifyState *vs, BlockNumber blkno, int off, const char *fmt,...)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	char		buf[512];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	/* the introspection functions want a sound index, not a list */
	if (vs->rsinfo == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is corrupted", RelationGetRelationName(vs->index)),
				 errdetail("Block %u, item %d: %s.", blkno, off, buf),
				 errhint("hnsw_verify() lists the problems; REINDEX rebuilds the index.")));
	values[0] = Int64GetDatum((int64) blkno);
	values[1] = Int32GetDatum(off);
	nulls[1] = (off <= 0);
	values[2] = CStringGetTextDatum(buf);
	tuplestore_putvalues(vs->rsinfo->setResult, vs->rsinfo->setDesc, values, nulls);
	vs->nproblems++;
}

static int
element_cmp(const void *a, const void *b)
{
	HnswElemId	x = ((const HnswVerifyElement *) a)->id;
	HnswElemId	y = ((const HnswVerifyElement *) b)->id;

	return (x > y) - (x < y);
}

HnswVerifyElement *
HnswVerifyFindElement(HnswVerifyState *vs, HnswElemId id)
{
	HnswVerifyElement key;

	key.id = id;
	return bsearch(&key, vs->elements, vs->nelements, sizeof(HnswVerifyElement),
				   element_cmp);
}

/* Check the metapage; false if nothing else can be trusted */
static bool
check_metapage(HnswVerifyState *vs)
{
	Buffer		buf;
	Page		page;
	HnswPageOpaqueData opaque;

	if (vs->nblocks == 0)
	{
		report(vs, 0, 0, "the index has no metapage (no blocks at all)");
		return false;
	}
	buf = ReadBuffer(vs->index, HNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (PageIsNew(page) ||
		PageGetSpecialSize(page) != MAXALIGN(sizeof(HnswPageOpaqueData)))
	{
		report(vs, 0, 0, "the metapage is not an hnsw page");
		UnlockReleaseBuffer(buf);
		return false;
	}
	/* copies: the page is not ours once released */
	opaque = *HnswPageGetOpaque(page);
	vs->meta = HnswMetaPageContents(page);
	UnlockReleaseBuffer(buf);

	if (opaque.hnsw_page_id != HNSW_PAGE_ID || !(opaque.flags & HNSW_PAGE_META))
		report(vs, 0, 0, "the metapage has page id %04X and flags %04X",
			   opaque.hnsw_page_id, opaque.flags);
	if (vs->meta.magic != HNSW_MAGIC)
	{
		report(vs, 0, 0, "the metapage has magic number %08X, not %08X",
			   vs->meta.magic, HNSW_MAGIC);
		return false;
	}
	if (vs->meta.version < HNSW_OLDEST_FORMAT_VERSION ||
		vs->meta.version > HNSW_FORMAT_VERSION)
	{
		report(vs, 0, 0, "the index has format version %u; this build reads versions %d to %d",
			   vs->meta.version, HNSW_OLDEST_FORMAT_VERSION, HNSW_FORMAT_VERSION);
		return false;
	}
	if (vs->meta.max_layers < 1 || vs->meta.max_layers > HNSW_MAX_LAYERS ||
		!(vs->meta.level_scale >= HNSW_MIN_LEVEL_SCALE &&
		  vs->meta.level_scale <= HNSW_MAX_LEVEL_SCALE))
	{
		report(vs, 0, 0, "the metapage has max_layers = %u and level_scale = %g",
			   vs->meta.max_layers, vs->meta.level_scale);
		return false;
	}
	if (vs->meta.m < HNSW_MIN_M || vs->meta.m > HNSW_MAX_M)
	{
		report(vs, 0, 0, "the metapage has m = %u", vs->meta.m);
		return false;
	}
	if (vs->meta.entry_level < -1 || vs->meta.entry_level >= vs->meta.max_layers)
	{
		report(vs, 0, 0, "the entry point has level %d", vs->meta.entry_level);
		return false;
	}
	return true;
}

/*
 * Are the value links of etup (len bytes) what the metapage calls for?
 */
static bool
value_links_ok(HnswVerifyState *vs, HnswElementTuple etup, Size len)
{
	HnswValueLinks vl;

	if (vs->meta.value_links == 0 || !HnswElementTupleLinksFit(etup, len))
		return false;
	vl = HnswElementTupleGetLinks(etup);
	if (vl->ncolumns != HnswLinkedColumnCount(vs->meta.linked_columns) ||
		vl->nslots != vs->meta.value_links)
		return false;
	for (int j = 0; j < vl->ncolumns; j++)
		if (vl->counts[j] > vl->nslots)
			return false;
	return true;
}

/*
 * Copy a neighbour list into memory, checking its length: that of an
 * upper tuple (slots, count of them), or etup's layer-0 list
 */
static void
keep_list(HnswVerifyState *vs, HnswVerifyElement *e, int layer,
		  HnswElementTuple etup, ItemPointerData *slots, int count,
		  BlockNumber blkno, int off)
{
	int			max = HnswMaxNeighbors(vs->meta.m, layer);

	if (etup)
		count = etup->nneighbors;
	if (count > max)
	{
		report(vs, blkno, off, "layer %d holds %d neighbours, more than %d",
			   layer, count, max);
		count = max;
	}
	e->counts[layer] = count;
	e->neighbors[layer] = palloc(sizeof(HnswElemId) * Max(count, 1));
	if (etup)
	{
		int			stray = 0;

		if (HnswElementDecodeNeighbors(etup, e->neighbors[layer], count,
									   &stray) < 0)
		{
			report(vs, blkno, off, "layer-0 list does not decode in its %d bytes",
				   (int) HnswElementListBytes(etup));
			e->counts[layer] = 0;
		}
		else if (stray > 0)
			report(vs, blkno, off, "layer-0 list has %d nonzero bytes after its last neighbour",
				   stray);
	}
	for (int i = 0; !etup && i < count; i++)
		e->neighbors[layer][i] = HnswElemIdFromTid(&slots[i]);
}

/*
 * Whether page blkno (share-locked) is an element page to collect from.  A
 * directory page is counted (check_directory reads it); anything else is
 * reported.
 */
static bool
is_element_page(HnswVerifyState *vs, Page page, BlockNumber blkno)
{
	HnswPageOpaque opaque;

	if (PageIsNew(page))
		return false;
	opaque = HnswPageGetOpaque(page);
	if (PageGetSpecialSize(page) == MAXALIGN(sizeof(HnswPageOpaqueData)) &&
		opaque->hnsw_page_id == HNSW_PAGE_ID &&
		(opaque->flags & HNSW_PAGE_DIRECTORY))
	{
		if (!(vs->meta.flags & HNSW_META_DIRECTORY))
			report(vs, blkno, 0, "filter directory page in an index without a filter directory");
		vs->ndirectory_pages++;
		return false;
	}
	if (PageGetSpecialSize(page) != MAXALIGN(sizeof(HnswPageOpaqueData)) ||
		opaque->hnsw_page_id != HNSW_PAGE_ID ||
		!(opaque->flags & HNSW_PAGE_ELEMENTS))
	{
		report(vs, blkno, 0, "not an hnsw element page");
		return false;
	}
	return true;
}

/*
 * If the well-formed value of the element at (blkno, off) is a code: the
 * index has codes of that kind, the value the code leads to is there and
 * of the index's dimension, and coding it again gives the code.
 */
static void
check_code(HnswVerifyState *vs, Datum value, BlockNumber blkno,
		   OffsetNumber off)
{
	const HnswCodeData *c;
	struct varlena *full;
	HnswQuantizer *q;

	if (!vs->dist.fixed_dimensions || vs->dist.kernel == HNSW_KERNEL_BIT_HAMMING ||
		vs->dist.kernel == HNSW_KERNEL_BIT_JACCARD ||
		vs->dist.kernel == HNSW_KERNEL_INT4_HAMMING || !HnswIsCode(value))
		return;
	c = (const HnswCodeData *) DatumGetPointer(value);
	if (!HnswMetaHasCodes(&vs->meta) ||
		c->marker != HnswMetaCodeMarker(&vs->meta))
	{
		report(vs, blkno, off, "a code of another kind than the index's storage");
		return;
	}
	full = HnswReadExternal(vs->index, &c->full, NULL);
	if (full == NULL)
	{
		report(vs, blkno, off, "the chunks of the value its code leads to are missing or broken");
		return;
	}
	if (HnswIsCode(PointerGetDatum(full)) ||
		!HnswValueIsWellFormed(&vs->dist, PointerGetDatum(full), vs->meta.dimensions))
		report(vs, blkno, off, "the value its code leads to is malformed");
	else
	{
		const HnswCodeData *again;

		q = HnswGetQuantizer(&vs->dist);
		again = (const HnswCodeData *)
			DatumGetPointer(HnswEncode(q, PointerGetDatum(full), &c->full));

		/* the code's bytes, and its terms (a bit code's are in error_*) */
		if (memcmp(again->code, c->code,
				   HnswCodeSize(c->marker, c->dimensions) - offsetof(HnswCodeData, code)) != 0 ||
			memcmp(&again->norm, &c->norm, sizeof(float4) * 3) != 0)
			report(vs, blkno, off, "its code does not match its value");
	}
	pfree(full);
}

/*
 * Has etup's layer-0 list the bytes its form gives it: a list of slots
 * exactly HnswSlotListBytes, a compact one no more than that and up to a
 * MAXALIGN'd value?  (Only format 6 writes compact lists, but they are
 * read whatever the metapage says.)
 */
static bool
list_bytes_valid(HnswVerifyState *vs, HnswElementTuple etup)
{
	Size		slots = HnswElementTupleValueOffset(HnswSlotHeadBytes(vs->meta.m));

	if (!(etup->flags & HNSW_ELEMENT_COMPACT))
		return etup->value_offset == slots;
	return etup->value_offset <= slots &&
		etup->value_offset >= HnswElementListStart(etup) &&
		etup->value_offset == MAXALIGN(etup->value_offset);
}

/*
 * Check an element tuple of len bytes: its header, filter columns, value
 * links and value (reading its chunks, if external).  False if it is too
 * broken to collect.
 */
static bool
check_element_tuple(HnswVerifyState *vs, HnswElementTuple etup, Size len,
					BlockNumber blkno, OffsetNumber off)
{
	uint32		dims = 0;
	bool		well_formed;

	if (len < HNSW_ELEMENT_HEADER_SIZE ||
		!list_bytes_valid(vs, etup) ||
		etup->value_offset + VARHDRSZ > len ||
		etup->value_offset + VARSIZE_ANY(HnswElementTupleGetValue(etup)) > len ||
		etup->level >= vs->meta.max_layers)
	{
		report(vs, blkno, off, "malformed element tuple");
		return false;
	}
	if (((etup->flags & HNSW_ELEMENT_FILTER) != 0) !=
		(RelationGetDescr(vs->index)->natts > 1))
		report(vs, blkno, off, (etup->flags & HNSW_ELEMENT_FILTER) ?
			   "element has filter columns the index does not have" :
			   "element lacks the index's filter columns");
	else if ((etup->flags & HNSW_ELEMENT_FILTER) &&
			 !HnswElementTupleFilterFits(etup, len))
		report(vs, blkno, off, "filter columns run past the end of the element tuple");
	if ((etup->flags & HNSW_ELEMENT_LINKS) &&
		!value_links_ok(vs, etup, len))
		report(vs, blkno, off, "malformed value links");
	if (etup->flags & HNSW_ELEMENT_EXTERNAL)
	{
		/* an external value: its chunks must all be there */
		struct varlena *v = HnswElementValue(vs->index, etup, NULL);

		if (v == NULL)
		{
			report(vs, blkno, off, "the chunks of its value are missing or broken");
			return false;
		}
		well_formed = HnswValueIsWellFormed(&vs->dist, PointerGetDatum(v), 0);
		if (well_formed)
		{
			dims = HnswValueDimensions(&vs->dist, PointerGetDatum(v));
			check_code(vs, PointerGetDatum(v), blkno, off);
		}
		pfree(v);
	}
	else
	{
		Datum		v = PointerGetDatum(HnswElementTupleGetValue(etup));

		well_formed = HnswValueIsWellFormed(&vs->dist, v, 0);
		if (well_formed)
		{
			dims = HnswValueDimensions(&vs->dist, v);
			check_code(vs, v, blkno, off);
		}
	}
	if (!well_formed)
		report(vs, blkno, off, "its value is malformed");
	else if (vs->dist.fixed_dimensions && dims != vs->meta.dimensions)
		report(vs, blkno, off, "element of %u dimensions in an index of %u",
			   dims, vs->meta.dimensions);
	return true;
}

/* Remember element etup (of len bytes) and its layer-0 list */
static HnswVerifyElement *
remember_element(HnswVerifyState *vs, HnswElementTuple etup, Size len,
				 BlockNumber blkno, OffsetNumber off)
{
	HnswVerifyElement *e;

	if (vs->nelements == vs->capacity)
	{
		vs->capacity *= 2;
		vs->elements = repalloc_huge(vs->elements,
									 sizeof(HnswVerifyElement) * vs->capacity);
	}
	e = &vs->elements[vs->nelements++];
	memset(e, 0, sizeof(HnswVerifyElement));
	e->id = ((uint64) blkno << 16) | off;
	e->heaptid = etup->heaptid;
	e->level = etup->level;
	e->deleted = (etup->flags & HNSW_ELEMENT_DELETED) != 0;
	if ((etup->flags & HNSW_ELEMENT_FILTER) &&
		HnswElementTupleFilterFits(etup, len))
		e->filter_hash = hash_bytes((unsigned char *) HnswElementTupleGetFilter(etup),
									IndexTupleSize(HnswElementTupleGetFilter(etup)));
	keep_list(vs, e, 0, etup, NULL, 0, blkno, off);
	return e;
}

/*
 * Collect the lists of the layers above 0 of element e (etup, on page
 * blkno, locked in buf) from its upper tuple, wherever it points.
 */
static void
collect_upper_lists(HnswVerifyState *vs, HnswVerifyElement *e, HnswElementTuple etup,
					Buffer buf, BlockNumber blkno, OffsetNumber off)
{
	ItemPointerData upper = HnswElementGetUpper(etup);
	BlockNumber ublk = ItemPointerGetBlockNumberNoCheck(&upper);
	OffsetNumber uoff = ItemPointerGetOffsetNumberNoCheck(&upper);
	Buffer		ubuf = buf;
	Page		upage;
	HnswUpperTuple utup = NULL;

	if (ublk == HNSW_METAPAGE_BLKNO || ublk >= vs->nblocks)
	{
		report(vs, blkno, off, "upper tuple (%u,%u) is outside the index", ublk, uoff);
		return;
	}
	if (ublk != blkno)
	{
		/* another page: a second share lock, both only read */
		ubuf = ReadBuffer(vs->index, ublk);
		LockBuffer(ubuf, BUFFER_LOCK_SHARE);
	}
	upage = BufferGetPage(ubuf);
	if (!PageIsNew(upage) && uoff >= FirstOffsetNumber &&
		uoff <= PageGetMaxOffsetNumber(upage) &&
		ItemIdHasStorage(PageGetItemId(upage, uoff)))
		utup = (HnswUpperTuple) PageGetItem(upage, PageGetItemId(upage, uoff));
	if (utup == NULL || utup->type != HNSW_TUPLE_UPPER ||
		HnswElemIdFromTid(&utup->element) != e->id ||
		utup->level != etup->level || utup->m != vs->meta.m ||
		ItemIdGetLength(PageGetItemId(upage, uoff)) <
		HnswUpperTupleSize(utup->m, utup->level))
		report(vs, blkno, off, "upper tuple (%u,%u) does not belong to this element",
			   ublk, uoff);
	else
		for (int l = 1; l <= etup->level; l++)
			keep_list(vs, e, l, NULL, HnswUpperTupleList(utup, l),
					  utup->counts[l - 1], blkno, off);
	if (ubuf != buf)
		UnlockReleaseBuffer(ubuf);
}

/*
 * Pass over all pages: page identities and tuples.  Upper tuples are read
 * where their element points, so the lists of all layers are collected.
 */
static void
collect_elements(HnswVerifyState *vs)
{
	for (BlockNumber blkno = HNSW_FIRST_DATA_BLKNO; blkno < vs->nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBuffer(vs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!is_element_page(vs, page, blkno))
		{
			UnlockReleaseBuffer(buf);
			continue;
		}

		for (OffsetNumber off = FirstOffsetNumber;
			 off <= PageGetMaxOffsetNumber(page); off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			HnswElementTuple etup;
			HnswVerifyElement *e;
			Size		len;

			if (!ItemIdIsUsed(iid) || !ItemIdHasStorage(iid))
				continue;
			etup = (HnswElementTuple) PageGetItem(page, iid);
			len = ItemIdGetLength(iid);
			if (etup->type == HNSW_TUPLE_UPPER || etup->type == HNSW_TUPLE_CHUNK)
				continue;		/* checked through its element */
			if (etup->type != HNSW_TUPLE_ELEMENT)
			{
				report(vs, blkno, off, "tuple of unknown type %d", etup->type);
				continue;
			}
			if (!check_element_tuple(vs, etup, len, blkno, off))
				continue;
			e = remember_element(vs, etup, len, blkno, off);
			if (etup->level > 0)
				collect_upper_lists(vs, e, etup, buf, blkno, off);
		}
		UnlockReleaseBuffer(buf);
	}
}

/*
 * The filter directory: a chain of directory pages from the metapage, whose
 * tuples name elements with the same filter columns; every live element
 * has one tuple (those of deleted elements go with them).
 */
static void
check_directory(HnswVerifyState *vs)
{
	BlockNumber blkno = vs->meta.directory_head;
	BlockNumber npages = 0;

	if (!(vs->meta.flags & HNSW_META_DIRECTORY))
		return;
	while (blkno != 0)
	{
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		if (blkno >= vs->nblocks || ++npages > vs->ndirectory_pages)
		{
			report(vs, blkno, 0, "the filter directory chain leads outside its pages");
			return;
		}
		buf = ReadBuffer(vs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) ||
			PageGetSpecialSize(page) != MAXALIGN(sizeof(HnswPageOpaqueData)) ||
			!HnswPageIsDirectory(page))
		{
			report(vs, blkno, 0, "the filter directory chain leads to a page of another kind");
			UnlockReleaseBuffer(buf);
			return;
		}
		for (OffsetNumber off = FirstOffsetNumber;
			 off <= PageGetMaxOffsetNumber(page); off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			HnswDirectoryTuple dtup;
			IndexTuple	filter;
			HnswVerifyElement *e;

			if (!ItemIdIsUsed(iid) || !ItemIdHasStorage(iid))
				continue;
			dtup = (HnswDirectoryTuple) PageGetItem(page, iid);
			filter = HnswDirectoryTupleFilter(dtup);
			if (ItemIdGetLength(iid) < HNSW_DIRECTORY_HEADER_SIZE + sizeof(IndexTupleData) ||
				dtup->type != HNSW_TUPLE_DIRECTORY ||
				IndexTupleSize(filter) > ItemIdGetLength(iid) - HNSW_DIRECTORY_HEADER_SIZE)
			{
				report(vs, blkno, off, "malformed filter directory tuple");
				continue;
			}
			e = HnswVerifyFindElement(vs, HnswElemIdFromTid(&dtup->element));
			if (e == NULL)
				report(vs, blkno, off, "filter directory tuple of (%u,%u), which is no element",
					   ItemPointerGetBlockNumberNoCheck(&dtup->element),
					   ItemPointerGetOffsetNumberNoCheck(&dtup->element));
			else if (e->filter_hash != hash_bytes((unsigned char *) filter,
												  IndexTupleSize(filter)))
				report(vs, blkno, off, "filter directory tuple of (%u,%u) differs from the element's filter columns",
					   ItemPointerGetBlockNumberNoCheck(&dtup->element),
					   ItemPointerGetOffsetNumberNoCheck(&dtup->element));
			else
				e->in_directory++;
		}
		blkno = HnswPageGetNext(page);
		UnlockReleaseBuffer(buf);
	}
	if (npages != vs->ndirectory_pages)
		report(vs, 0, 0, "%u filter directory pages are not in the chain",
			   vs->ndirectory_pages - npages);
	for (int i = 0; i < vs->nelements; i++)
	{
		HnswVerifyElement *e = &vs->elements[i];

		if (!e->deleted && e->in_directory != 1)
			report(vs, HnswElemIdGetBlock(e->id), HnswElemIdGetOffset(e->id),
				   "element has %d filter directory tuples, not 1", e->in_directory);
	}
}

/*
 * Set reached on every element a search from entry can reach: breadth
 * first over the edges of all layers.
 */
void
HnswVerifyMarkReachable(HnswVerifyState *vs, HnswVerifyElement *entry)
{
	HnswElemId *queue = palloc(sizeof(HnswElemId) * Max(vs->nelements, 1));
	int			head = 0,
				tail = 0;

	entry->reached = true;
	queue[tail++] = entry->id;
	while (head < tail)
	{
		HnswVerifyElement *e = HnswVerifyFindElement(vs, queue[head++]);

		for (int l = 0; l <= e->level; l++)
			for (int j = 0; j < e->counts[l]; j++)
			{
				HnswVerifyElement *n = HnswVerifyFindElement(vs, e->neighbors[l][j]);

				if (n != NULL && !n->reached)
				{
					n->reached = true;
					queue[tail++] = n->id;
				}
			}
	}
	pfree(queue);
}

/*
 * Every neighbour reference leads to an element on that layer; every live
 * element is reachable from the entry point.
 */
static void
check_graph(HnswVerifyState *vs)
{
	int			unreachable = 0;
	int			live = 0;
	HnswVerifyElement *entry = NULL;
	Relation	heap;
	TupleTableSlot *slot;

	for (int i = 0; i < vs->nelements; i++)
	{
		HnswVerifyElement *e = &vs->elements[i];

		live += !e->deleted;
		for (int l = 0; l <= e->level; l++)
			for (int j = 0; j < e->counts[l]; j++)
			{
				HnswVerifyElement *n = HnswVerifyFindElement(vs, e->neighbors[l][j]);

				if (n == NULL)
					report(vs, HnswElemIdGetBlock(e->id), HnswElemIdGetOffset(e->id),
						   "neighbour (%u,%u) on layer %d is not an element",
						   HnswElemIdGetBlock(e->neighbors[l][j]),
						   HnswElemIdGetOffset(e->neighbors[l][j]), l);
				else if (n->level < l)
					report(vs, HnswElemIdGetBlock(e->id), HnswElemIdGetOffset(e->id),
						   "neighbour (%u,%u) on layer %d has level %d",
						   HnswElemIdGetBlock(n->id), HnswElemIdGetOffset(n->id),
						   l, n->level);
			}
	}

	if (vs->meta.entry_level < 0)
	{
		if (live > 0)
			report(vs, 0, 0, "the index has no entry point but %d live elements", live);
		return;
	}
	entry = HnswVerifyFindElement(vs, HnswElemIdFromTid(&vs->meta.entry));
	if (entry == NULL)
	{
		report(vs, 0, 0, "the entry point (%u,%u) is not an element",
			   ItemPointerGetBlockNumberNoCheck(&vs->meta.entry),
			   ItemPointerGetOffsetNumberNoCheck(&vs->meta.entry));
		return;
	}
	if (entry->level != vs->meta.entry_level)
		report(vs, 0, 0, "the entry point has level %d, the metapage says %d",
			   entry->level, vs->meta.entry_level);
	if (entry->deleted)
		report(vs, 0, 0, "the entry point is the element of a dead row");

	HnswVerifyMarkReachable(vs, entry);

	/*
	 * An element nobody links to is a problem only if its row is visible: a
	 * crash between writing an element and linking it can leave one behind,
	 * but then its transaction never committed and VACUUM removes it.
	 */
	heap = table_open(IndexGetRelation(RelationGetRelid(vs->index), false),
					  AccessShareLock);
	slot = table_slot_create(heap, NULL);
	for (int i = 0; i < vs->nelements; i++)
	{
		HnswVerifyElement *e = &vs->elements[i];

		if (e->reached || e->deleted)
			continue;
		if (!table_tuple_fetch_row_version(heap, &e->heaptid, GetActiveSnapshot(), slot))
			continue;
		if (++unreachable <= HNSW_VERIFY_MAX_UNREACHABLE)
			report(vs, HnswElemIdGetBlock(e->id), HnswElemIdGetOffset(e->id),
				   "the element of visible row (%u,%u) cannot be reached from the entry point",
				   ItemPointerGetBlockNumber(&e->heaptid),
				   ItemPointerGetOffsetNumber(&e->heaptid));
	}
	ExecDropSingleTupleTableSlot(slot);
	table_close(heap, AccessShareLock);
	if (unreachable > HNSW_VERIFY_MAX_UNREACHABLE)
		report(vs, 0, 0, "%d elements of visible rows in all cannot be reached from the entry point",
			   unreachable);
}

/*
 * Open indexoid, which must be an hnsw index, for reading it whole.  The
 * caller needs SELECT on the index's table: what the functions built on
 * this show (heap TIDs, the graph, values' sizes) comes from its rows.
 */
void
HnswVerifyOpenIndex(HnswVerifyState *vs, Oid indexoid, LOCKMODE lockmode)
{
	vs->index = try_relation_open(indexoid, lockmode);
	if (vs->index == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", indexoid)));
	if (vs->index->rd_rel->relkind != RELKIND_INDEX ||
		vs->index->rd_indam == NULL || vs->index->rd_indam->ambuild != hnswbuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index",
						RelationGetRelationName(vs->index))));
	if (pg_class_aclcheck(vs->index->rd_index->indrelid, GetUserId(),
						  ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for the table of index \"%s\"",
						RelationGetRelationName(vs->index))));
	HnswInitDistance(&vs->dist, vs->index);
	vs->nblocks = RelationGetNumberOfBlocks(vs->index);
	vs->capacity = 1024;
	vs->elements = palloc(sizeof(HnswVerifyElement) * vs->capacity);
}

/*
 * Read a whole index for an introspection function: its metapage and every
 * element with its lists.  Errors out on what hnsw_verify() would report.
 * AccessShareLock: inserts may go on, so the picture is only as consistent
 * as a scan's.
 */
void
HnswVerifyReadIndex(HnswVerifyState *vs, Oid indexoid)
{
	memset(vs, 0, sizeof(HnswVerifyState));
	HnswVerifyOpenIndex(vs, indexoid, AccessShareLock);
	if (!check_metapage(vs))
		elog(ERROR, "hnsw metapage check failed without a report");
	collect_elements(vs);
}

/*
 * hnsw_verify(index regclass) returns table (blkno, offnum, problem)
 */
Datum
hnsw_verify(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	HnswVerifyState vs;
	LOCKMODE	lockmode;

	memset(&vs, 0, sizeof(vs));
	InitMaterializedSRF(fcinfo, 0);
	vs.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	/*
	 * ShareLock: no insert or VACUUM changes the index while we read it.  A
	 * standby allows no more than RowExclusiveLock; there replay may change
	 * pages under us, so a report there can be transient.
	 */
	lockmode = RecoveryInProgress() ? AccessShareLock : ShareLock;
	HnswVerifyOpenIndex(&vs, indexoid, lockmode);

	if (check_metapage(&vs))
	{
		collect_elements(&vs);
		check_directory(&vs);
		check_graph(&vs);
	}
	relation_close(vs.index, lockmode);
	return (Datum) 0;
}
