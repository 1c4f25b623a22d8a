/*-------------------------------------------------------------------------
 *
 * inspect.c
 *	  Reading an hnsw index whole for SQL: hnsw_verify(), an amcheck-style
 *	  check, and the introspection functions hnsw_index_info(),
 *	  hnsw_graph() and hnsw_page_items().
 *
 * hnsw_verify() reads every page under a ShareLock on the index (so no insert or VACUUM
 * changes it meanwhile; on a standby, where that lock cannot be had, the
 * check runs alongside replay) and reports what is wrong as rows: the metapage
 * (magic, version, options), page identities, element and upper tuples,
 * neighbour references that do not lead to an element, layer counts, the
 * entry point, and elements of visible rows that cannot be reached from the
 * entry point.  A healthy index gives no rows.  The introspection
 * functions read under AccessShareLock (inserts go on) and error out on
 * anything hnsw_verify() would report.
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
#include "utils/builtins.h"
#include "utils/rel.h"

#include "hnsw.h"

PG_FUNCTION_INFO_V1(hnsw_verify);
PG_FUNCTION_INFO_V1(hnsw_index_info);
PG_FUNCTION_INFO_V1(hnsw_graph);
PG_FUNCTION_INFO_V1(hnsw_page_items);

/* Reports at most this many unreachable elements one by one */
#define HNSW_VERIFY_MAX_UNREACHABLE 100

/* What the check remembers of one element */
typedef struct VerifyElement
{
	HnswElemId	id;
	ItemPointerData heaptid;
	int			level;
	bool		deleted;
	bool		reached;
	uint32		filter_hash;	/* of its filter columns' bytes */
	int			in_directory;	/* its tuples in the filter directory */
	int			counts[HNSW_MAX_LAYERS];
	HnswElemId *neighbors[HNSW_MAX_LAYERS];
} VerifyElement;

typedef struct VerifyState
{
	ReturnSetInfo *rsinfo;
	Relation	index;
	HnswDistance dist;
	HnswMetaPageData meta;
	BlockNumber nblocks;
	VerifyElement *elements;	/* in id order */
	int			nelements;
	int			capacity;
	BlockNumber ndirectory_pages;
	int64		nproblems;
} VerifyState;

static void
report(VerifyState *vs, BlockNumber blkno, int off, const char *fmt,...)
	pg_attribute_printf(4, 5);

static void
report(VerifyState *vs, BlockNumber blkno, int off, const char *fmt,...)
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
	HnswElemId	x = ((const VerifyElement *) a)->id;
	HnswElemId	y = ((const VerifyElement *) b)->id;

	return (x > y) - (x < y);
}

static VerifyElement *
find_element(VerifyState *vs, HnswElemId id)
{
	VerifyElement key;

	key.id = id;
	return bsearch(&key, vs->elements, vs->nelements, sizeof(VerifyElement),
				   element_cmp);
}

/* Check the metapage; false if nothing else can be trusted */
static bool
check_metapage(VerifyState *vs)
{
	Buffer		buf;
	Page		page;
	HnswPageOpaque opaque;

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
	opaque = HnswPageGetOpaque(page);
	vs->meta = HnswMetaPageContents(page);
	UnlockReleaseBuffer(buf);

	if (opaque->hnsw_page_id != HNSW_PAGE_ID || !(opaque->flags & HNSW_PAGE_META))
		report(vs, 0, 0, "the metapage has page id %04X and flags %04X",
			   opaque->hnsw_page_id, opaque->flags);
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
value_links_ok(VerifyState *vs, HnswElementTuple etup, Size len)
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

/* Copy a neighbour list into memory, checking its length */
static void
keep_list(VerifyState *vs, VerifyElement *e, int layer,
		  ItemPointerData *slots, int count, BlockNumber blkno, int off)
{
	int			max = HnswMaxNeighbors(vs->meta.m, layer);

	if (count > max)
	{
		report(vs, blkno, off, "layer %d holds %d neighbours, more than %d",
			   layer, count, max);
		count = max;
	}
	e->counts[layer] = count;
	e->neighbors[layer] = palloc(sizeof(HnswElemId) * Max(count, 1));
	for (int i = 0; i < count; i++)
		e->neighbors[layer][i] = HnswElemIdFromTid(&slots[i]);
}

/*
 * Pass over all pages: page identities and tuples.  Upper tuples are read
 * where their element points, so the lists of all layers are collected.
 */
static void
collect_elements(VerifyState *vs)
{
	for (BlockNumber blkno = HNSW_FIRST_DATA_BLKNO; blkno < vs->nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		HnswPageOpaque opaque;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBuffer(vs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page))
		{
			UnlockReleaseBuffer(buf);
			continue;
		}
		opaque = HnswPageGetOpaque(page);
		if (PageGetSpecialSize(page) == MAXALIGN(sizeof(HnswPageOpaqueData)) &&
			opaque->hnsw_page_id == HNSW_PAGE_ID &&
			(opaque->flags & HNSW_PAGE_DIRECTORY))
		{
			/* checked by check_directory */
			if (!(vs->meta.flags & HNSW_META_DIRECTORY))
				report(vs, blkno, 0, "filter directory page in an index without a filter directory");
			vs->ndirectory_pages++;
			UnlockReleaseBuffer(buf);
			continue;
		}
		if (PageGetSpecialSize(page) != MAXALIGN(sizeof(HnswPageOpaqueData)) ||
			opaque->hnsw_page_id != HNSW_PAGE_ID ||
			!(opaque->flags & HNSW_PAGE_ELEMENTS))
		{
			report(vs, blkno, 0, "not an hnsw element page");
			UnlockReleaseBuffer(buf);
			continue;
		}

		for (OffsetNumber off = FirstOffsetNumber;
			 off <= PageGetMaxOffsetNumber(page); off++)
		{
			ItemId		iid = PageGetItemId(page, off);
			HnswElementTuple etup;
			VerifyElement *e;
			Size		len;
			uint32		dims = 0;
			bool		well_formed;

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
			if (len < HNSW_ELEMENT_HEADER_SIZE ||
				etup->value_offset != HnswElementTupleValueOffset(vs->meta.m) ||
				etup->value_offset + VARHDRSZ > len ||
				etup->value_offset + VARSIZE_ANY(HnswElementTupleGetValue(etup)) > len ||
				etup->level >= vs->meta.max_layers)
			{
				report(vs, blkno, off, "malformed element tuple");
				continue;
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
					continue;
				}
				well_formed = HnswValueIsWellFormed(&vs->dist, PointerGetDatum(v), 0);
				if (well_formed)
					dims = HnswValueDimensions(&vs->dist, PointerGetDatum(v));
				pfree(v);
			}
			else
			{
				Datum		v = PointerGetDatum(HnswElementTupleGetValue(etup));

				well_formed = HnswValueIsWellFormed(&vs->dist, v, 0);
				if (well_formed)
					dims = HnswValueDimensions(&vs->dist, v);
			}
			if (!well_formed)
				report(vs, blkno, off, "its value is malformed");
			else if (vs->dist.fixed_dimensions && dims != vs->meta.dimensions)
				report(vs, blkno, off, "element of %u dimensions in an index of %u",
					   dims, vs->meta.dimensions);

			if (vs->nelements == vs->capacity)
			{
				vs->capacity *= 2;
				vs->elements = repalloc_huge(vs->elements,
											 sizeof(VerifyElement) * vs->capacity);
			}
			e = &vs->elements[vs->nelements++];
			memset(e, 0, sizeof(VerifyElement));
			e->id = ((uint64) blkno << 16) | off;
			e->heaptid = etup->heaptid;
			e->level = etup->level;
			e->deleted = (etup->flags & HNSW_ELEMENT_DELETED) != 0;
			if ((etup->flags & HNSW_ELEMENT_FILTER) &&
				HnswElementTupleFilterFits(etup, len))
				e->filter_hash = hash_bytes((unsigned char *) HnswElementTupleGetFilter(etup),
											IndexTupleSize(HnswElementTupleGetFilter(etup)));
			keep_list(vs, e, 0, etup->neighbors, etup->nneighbors, blkno, off);

			if (etup->level > 0)
			{
				ItemPointerData upper = etup->upper;
				BlockNumber ublk = ItemPointerGetBlockNumberNoCheck(&upper);
				OffsetNumber uoff = ItemPointerGetOffsetNumberNoCheck(&upper);
				Buffer		ubuf = buf;
				Page		upage = page;
				HnswUpperTuple utup = NULL;

				if (ublk == HNSW_METAPAGE_BLKNO || ublk >= vs->nblocks)
				{
					report(vs, blkno, off, "upper tuple (%u,%u) is outside the index", ublk, uoff);
					continue;
				}
				if (ublk != blkno)
				{
					/* another page: a second share lock, both only read */
					ubuf = ReadBuffer(vs->index, ublk);
					LockBuffer(ubuf, BUFFER_LOCK_SHARE);
					upage = BufferGetPage(ubuf);
				}
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
						keep_list(vs, e, l, HnswUpperTupleList(utup, l),
								  utup->counts[l - 1], blkno, off);
				if (ubuf != buf)
					UnlockReleaseBuffer(ubuf);
			}
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
check_directory(VerifyState *vs)
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
			VerifyElement *e;

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
			e = find_element(vs, HnswElemIdFromTid(&dtup->element));
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
		VerifyElement *e = &vs->elements[i];

		if (!e->deleted && e->in_directory != 1)
			report(vs, HnswElemIdGetBlock(e->id), HnswElemIdGetOffset(e->id),
				   "element has %d filter directory tuples, not 1", e->in_directory);
	}
}

/*
 * Every neighbour reference leads to an element on that layer; every live
 * element is reachable from the entry point.
 */
static void
check_graph(VerifyState *vs)
{
	HnswElemId *queue;
	int			head = 0,
				tail = 0;
	int			unreachable = 0;
	int			live = 0;
	VerifyElement *entry = NULL;
	Relation	heap;
	TupleTableSlot *slot;

	for (int i = 0; i < vs->nelements; i++)
	{
		VerifyElement *e = &vs->elements[i];

		live += !e->deleted;
		for (int l = 0; l <= e->level; l++)
			for (int j = 0; j < e->counts[l]; j++)
			{
				VerifyElement *n = find_element(vs, e->neighbors[l][j]);

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
	entry = find_element(vs, HnswElemIdFromTid(&vs->meta.entry));
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

	/* breadth-first over the edges of all layers */
	queue = palloc(sizeof(HnswElemId) * Max(vs->nelements, 1));
	entry->reached = true;
	queue[tail++] = entry->id;
	while (head < tail)
	{
		VerifyElement *e = find_element(vs, queue[head++]);

		for (int l = 0; l <= e->level; l++)
			for (int j = 0; j < e->counts[l]; j++)
			{
				VerifyElement *n = find_element(vs, e->neighbors[l][j]);

				if (n != NULL && !n->reached)
				{
					n->reached = true;
					queue[tail++] = n->id;
				}
			}
	}
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
		VerifyElement *e = &vs->elements[i];

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

/* Open indexoid, which must be an hnsw index, for reading it whole */
static void
open_index(VerifyState *vs, Oid indexoid, LOCKMODE lockmode)
{
	vs->index = relation_open(indexoid, lockmode);
	if (vs->index->rd_rel->relkind != RELKIND_INDEX ||
		vs->index->rd_indam == NULL || vs->index->rd_indam->ambuild != hnswbuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an hnsw index",
						RelationGetRelationName(vs->index))));
	HnswInitDistance(&vs->dist, vs->index);
	vs->nblocks = RelationGetNumberOfBlocks(vs->index);
	vs->capacity = 1024;
	vs->elements = palloc(sizeof(VerifyElement) * vs->capacity);
}

/*
 * Read a whole index for an introspection function: its metapage and every
 * element with its lists.  Errors out on what hnsw_verify() would report.
 * AccessShareLock: inserts may go on, so the picture is only as consistent
 * as a scan's.
 */
static void
read_index(VerifyState *vs, Oid indexoid)
{
	memset(vs, 0, sizeof(VerifyState));
	open_index(vs, indexoid, AccessShareLock);
	if (!check_metapage(vs))
		elog(ERROR, "hnsw metapage check failed without a report");
	collect_elements(vs);
}

/* An array of tids */
static Datum
tid_array(ItemPointerData *tids, int n)
{
	Datum	   *items = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		items[i] = PointerGetDatum(&tids[i]);
	return PointerGetDatum(construct_array(items, n, TIDOID,
										   sizeof(ItemPointerData), false,
										   TYPALIGN_SHORT));
}

/*
 * hnsw_index_info(index regclass): one row describing the index.
 */
Datum
hnsw_index_info(PG_FUNCTION_ARGS)
{
	VerifyState vs;
	TupleDesc	tupdesc;
	Datum		values[16];
	bool		nulls[16];
	int64		deleted = 0;
	int64		per_layer[HNSW_MAX_LAYERS];
	int64		degree[HNSW_MAX_LAYERS];
	int			layers = 0;
	Datum		counts[HNSW_MAX_LAYERS];
	Datum		means[HNSW_MAX_LAYERS];
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	read_index(&vs, PG_GETARG_OID(0));

	memset(per_layer, 0, sizeof(per_layer));
	memset(degree, 0, sizeof(degree));
	for (int k = 0; k < vs.nelements; k++)
	{
		VerifyElement *e = &vs.elements[k];

		deleted += e->deleted;
		layers = Max(layers, e->level + 1);
		for (int l = 0; l <= e->level; l++)
		{
			per_layer[l]++;
			degree[l] += e->counts[l];
		}
	}
	for (int l = 0; l < layers; l++)
	{
		counts[l] = Int64GetDatum(per_layer[l]);
		means[l] = Float8GetDatum((double) degree[l] / per_layer[l]);
	}

	memset(nulls, 0, sizeof(nulls));
	values[i++] = Int32GetDatum(vs.meta.version);
	values[i++] = Int32GetDatum(vs.meta.m);
	values[i++] = Int32GetDatum(vs.meta.ef_construction);
	values[i++] = Int32GetDatum(vs.meta.max_layers);
	values[i++] = Float8GetDatum(vs.meta.level_scale);
	values[i++] = BoolGetDatum((vs.meta.flags & HNSW_META_EXTEND_CANDIDATES) != 0);
	values[i++] = BoolGetDatum((vs.meta.flags & HNSW_META_KEEP_PRUNED) != 0);
	values[i++] = Int32GetDatum(vs.meta.dimensions);
	values[i++] = Int64GetDatum(vs.nelements);
	values[i++] = Int64GetDatum(deleted);
	nulls[i] = vs.meta.entry_level < 0;
	values[i++] = PointerGetDatum(&vs.meta.entry);
	values[i++] = Int32GetDatum(vs.meta.entry_level);
	values[i++] = Int32GetDatum(layers);
	values[i++] = PointerGetDatum(construct_array(counts, layers, INT8OID, 8,
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[i++] = PointerGetDatum(construct_array(means, layers, FLOAT8OID, 8,
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[i++] = Int64GetDatum((int64) vs.nblocks);
	Assert(i == lengthof(values));

	relation_close(vs.index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * hnsw_graph(index regclass): one row per element and layer, with the
 * heap TIDs of the element and of its neighbours on that layer.
 */
Datum
hnsw_graph(PG_FUNCTION_ARGS)
{
	VerifyState vs;
	ReturnSetInfo *rsinfo;
	ItemPointerData *tids = palloc(sizeof(ItemPointerData) * 2 * HNSW_MAX_M);

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	read_index(&vs, PG_GETARG_OID(0));

	for (int k = 0; k < vs.nelements; k++)
	{
		VerifyElement *e = &vs.elements[k];
		ItemPointerData element;

		ItemPointerSet(&element, HnswElemIdGetBlock(e->id), HnswElemIdGetOffset(e->id));
		for (int l = 0; l <= e->level; l++)
		{
			Datum		values[5];
			bool		nulls[5] = {false, false, false, false, false};
			int			n = 0;

			for (int j = 0; j < e->counts[l]; j++)
			{
				VerifyElement *nb = find_element(&vs, e->neighbors[l][j]);

				/* a reference to a removed element has no row */
				if (nb != NULL)
					tids[n++] = nb->heaptid;
			}
			values[0] = PointerGetDatum(&element);
			values[1] = PointerGetDatum(&e->heaptid);
			values[2] = Int32GetDatum(l);
			values[3] = BoolGetDatum(e->deleted);
			values[4] = tid_array(tids, n);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	relation_close(vs.index, AccessShareLock);
	return (Datum) 0;
}

/*
 * hnsw_page_items(index regclass, blkno bigint): the tuples of one element
 * page, in the manner of pageinspect.
 */
Datum
hnsw_page_items(PG_FUNCTION_ARGS)
{
	VerifyState vs;
	ReturnSetInfo *rsinfo;
	int64		blkno = PG_GETARG_INT64(1);
	Buffer		buf;
	Page		page;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	memset(&vs, 0, sizeof(vs));
	open_index(&vs, PG_GETARG_OID(0), AccessShareLock);
	vs.meta = HnswReadMetaPage(vs.index);
	if (blkno == HNSW_METAPAGE_BLKNO)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("block 0 is the metapage of index \"%s\"",
						RelationGetRelationName(vs.index)),
				 errhint("hnsw_index_info() shows what it holds.")));
	if (blkno < 0 || blkno >= vs.nblocks)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("block %lld is out of range for index \"%s\"",
						(long long) blkno, RelationGetRelationName(vs.index)),
				 errdetail("The index has %u blocks.", vs.nblocks)));

	buf = ReadBuffer(vs.index, (BlockNumber) blkno);
	/* share: we only read; the rows are made from a copy */
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	HnswCheckPage(vs.index, BufferGetPage(buf), (BlockNumber) blkno);
	page = palloc(BLCKSZ);
	memcpy(page, BufferGetPage(buf), BLCKSZ);
	UnlockReleaseBuffer(buf);

	for (OffsetNumber off = FirstOffsetNumber;
		 !PageIsNew(page) && off <= PageGetMaxOffsetNumber(page); off++)
	{
		ItemId		iid = PageGetItemId(page, off);
		Datum		values[9];
		bool		nulls[9];
		HnswElementTuple etup = HnswGetElement(vs.index, page, off);
		HnswUpperTuple utup = HnswGetUpper(vs.index, page, off);

		memset(nulls, true, sizeof(nulls));
		values[0] = Int32GetDatum(off);
		nulls[0] = false;
		nulls[1] = false;
		if (etup != NULL)
		{
			Datum		count = Int32GetDatum(etup->nneighbors);

			values[1] = CStringGetTextDatum("element");
			values[2] = Int32GetDatum(etup->level);
			values[3] = BoolGetDatum((etup->flags & HNSW_ELEMENT_DELETED) != 0);
			values[4] = PointerGetDatum(&etup->heaptid);
			values[5] = PointerGetDatum(&etup->upper);
			values[6] = PointerGetDatum(construct_array(&count, 1, INT4OID, 4, true,
														TYPALIGN_INT));
			values[7] = tid_array(etup->neighbors, etup->nneighbors);
			if (etup->flags & HNSW_ELEMENT_EXTERNAL)
			{
				HnswExternalValue ext;

				memcpy(&ext, HnswElementTupleGetValue(etup), sizeof(ext));
				values[8] = Int32GetDatum(ext.size);
			}
			else
				values[8] = Int32GetDatum(VARSIZE_ANY(HnswElementTupleGetValue(etup)));
			for (int c = 2; c <= 8; c++)
				nulls[c] = false;
			nulls[5] = etup->level == 0;
		}
		else if (utup != NULL)
		{
			Datum		counts[HNSW_MAX_LAYERS];
			ItemPointerData *all = palloc(sizeof(ItemPointerData) * utup->m * utup->level);
			int			n = 0;

			for (int l = 1; l <= utup->level; l++)
			{
				counts[l - 1] = Int32GetDatum(utup->counts[l - 1]);
				for (int j = 0; j < utup->counts[l - 1]; j++)
					all[n++] = HnswUpperTupleList(utup, l)[j];
			}
			values[1] = CStringGetTextDatum("upper");
			values[2] = Int32GetDatum(utup->level);
			values[5] = PointerGetDatum(&utup->element);
			values[6] = PointerGetDatum(construct_array(counts, utup->level, INT4OID,
														4, true, TYPALIGN_INT));
			values[7] = tid_array(all, n);
			nulls[2] = nulls[5] = nulls[6] = nulls[7] = false;
		}
		else if (ItemIdHasStorage(iid) &&
				 ((HnswChunkTuple) PageGetItem(page, iid))->type == HNSW_TUPLE_CHUNK)
		{
			HnswChunkTuple chunk = (HnswChunkTuple) PageGetItem(page, iid);

			values[1] = CStringGetTextDatum("chunk");
			values[5] = PointerGetDatum(&chunk->next);
			values[8] = Int32GetDatum(chunk->len);
			nulls[5] = !ItemPointerIsValid(&chunk->next);
			nulls[8] = false;
		}
		else if (HnswPageIsDirectory(page) &&
				 HnswGetDirectoryTuple(vs.index, page, (BlockNumber) blkno, off) != NULL)
		{
			HnswDirectoryTuple dtup = HnswGetDirectoryTuple(vs.index, page,
															(BlockNumber) blkno, off);

			values[1] = CStringGetTextDatum("directory");
			values[5] = PointerGetDatum(&dtup->element);
			nulls[5] = false;
		}
		else
			values[1] = CStringGetTextDatum(ItemIdIsUsed(iid) ? "unknown" : "unused");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

		/* an element's value links: a row of their own, kind "value links" */
		if (etup != NULL && (etup->flags & HNSW_ELEMENT_LINKS))
		{
			HnswValueLinks vl = HnswElementTupleGetLinks(etup);
			Datum	   *counts = palloc(sizeof(Datum) * Max(vl->ncolumns, 1));
			ItemPointerData *all = palloc(sizeof(ItemPointerData) *
										  Max(vl->ncolumns * vl->nslots, 1));
			int			n = 0;

			for (int j = 0; j < vl->ncolumns; j++)
			{
				int			count = Min(vl->counts[j], vl->nslots);

				counts[j] = Int32GetDatum(count);
				for (int i = 0; i < count; i++)
					all[n++] = HnswValueLinksIds(vl, j)[i];
			}
			memset(nulls, true, sizeof(nulls));
			values[0] = Int32GetDatum(off);
			values[1] = CStringGetTextDatum("value links");
			values[6] = PointerGetDatum(construct_array(counts, vl->ncolumns, INT4OID,
														4, true, TYPALIGN_INT));
			values[7] = tid_array(all, n);
			nulls[0] = nulls[1] = nulls[6] = nulls[7] = false;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	relation_close(vs.index, AccessShareLock);
	return (Datum) 0;
}

/*
 * hnsw_verify(index regclass) returns table (blkno, offnum, problem)
 */
Datum
hnsw_verify(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	VerifyState vs;
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
	open_index(&vs, indexoid, lockmode);

	if (check_metapage(&vs))
	{
		collect_elements(&vs);
		check_directory(&vs);
		check_graph(&vs);
	}
	relation_close(vs.index, lockmode);
	return (Datum) 0;
}
