/*-------------------------------------------------------------------------
 *
 * inspect.c
 *	  The introspection functions, in the manner of pageinspect:
 *	  hnsw_index_info(), hnsw_graph() and hnsw_page_items().
 *
 * They read under AccessShareLock (inserts go on), through verify.c's
 * reading of the whole index, and error out on anything hnsw_verify()
 * would report.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "hnsw.h"

PG_FUNCTION_INFO_V1(hnsw_index_info);
PG_FUNCTION_INFO_V1(hnsw_graph);
PG_FUNCTION_INFO_V1(hnsw_page_items);

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
	HnswVerifyState vs;
	TupleDesc	tupdesc;
	Datum		values[17];
	bool		nulls[17];
	int64		deleted = 0;
	int64		per_layer[HNSW_MAX_LAYERS];
	int64		degree[HNSW_MAX_LAYERS];
	int			layers = 0;
	Datum		counts[HNSW_MAX_LAYERS];
	Datum		means[HNSW_MAX_LAYERS];
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	HnswVerifyReadIndex(&vs, PG_GETARG_OID(0));

	memset(per_layer, 0, sizeof(per_layer));
	memset(degree, 0, sizeof(degree));
	for (int k = 0; k < vs.nelements; k++)
	{
		HnswVerifyElement *e = &vs.elements[k];

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
	/* (extension versions before 0.4.0 declare the columns up to here) */
	values[i++] = CStringGetTextDatum(vs.meta.storage == HNSW_STORAGE_HALF ? "half" :
									  vs.meta.storage == HNSW_STORAGE_INT8 ?
									  (vs.meta.ranges.size > 0 ? "int8" : "int8, no ranges yet") :
									  vs.meta.storage == HNSW_STORAGE_BIT ?
									  (vs.meta.ranges.size > 0 ? "bit" : "bit, no centre yet") :
									  "float4");
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
	HnswVerifyState vs;
	ReturnSetInfo *rsinfo;
	ItemPointerData *tids = palloc(sizeof(ItemPointerData) * 2 * HNSW_MAX_M);

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HnswVerifyReadIndex(&vs, PG_GETARG_OID(0));

	for (int k = 0; k < vs.nelements; k++)
	{
		HnswVerifyElement *e = &vs.elements[k];
		ItemPointerData element;

		ItemPointerSet(&element, HnswElemIdGetBlock(e->id), HnswElemIdGetOffset(e->id));
		for (int l = 0; l <= e->level; l++)
		{
			Datum		values[5];
			bool		nulls[5] = {false, false, false, false, false};
			int			n = 0;

			for (int j = 0; j < e->counts[l]; j++)
			{
				HnswVerifyElement *nb = HnswVerifyFindElement(&vs, e->neighbors[l][j]);

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
	HnswVerifyState vs;
	ReturnSetInfo *rsinfo;
	int64		blkno = PG_GETARG_INT64(1);
	Buffer		buf;
	Page		page;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	memset(&vs, 0, sizeof(vs));
	HnswVerifyOpenIndex(&vs, PG_GETARG_OID(0), AccessShareLock);
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
		ItemPointerData upper;
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
			upper = HnswElementGetUpper(etup);
			values[5] = PointerGetDatum(&upper);
			values[6] = PointerGetDatum(construct_array(&count, 1, INT4OID, 4, true,
														TYPALIGN_INT));
			{
				HnswElemId	ids[2 * HNSW_MAX_M];
				ItemPointerData tids[2 * HNSW_MAX_M];
				int			n = HnswElementGetNeighbors(vs.index, etup, ids,
														lengthof(ids));

				for (int i = 0; i < n; i++)
					ItemPointerSet(&tids[i], HnswElemIdGetBlock(ids[i]),
								   HnswElemIdGetOffset(ids[i]));
				values[7] = tid_array(tids, n);
			}
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
