/*-------------------------------------------------------------------------
 *
 * health.c
 *	  hnsw_index_health(): how well the graph serves searches, and what to
 *	  do about it.
 *
 * The figures come from reading the whole index (verify.c) and the table
 * rows its elements point to:
 *
 * - dead rows: elements whose rows no transaction can see any more, and
 *   elements VACUUM has marked and not yet removed.  A search passes
 *   through them and returns none, so a beam holds fewer live rows;
 * - unreachable: elements of visible rows that no search can reach from the
 *   entry point (pruning can leave an element without in-links; VACUUM
 *   links such elements back, see reconnect.c);
 * - the mean and lowest out-degree on each layer, over live elements;
 * - the free space on the index's pages (VACUUM's, which inserts reuse).
 *
 * The advice names what to do when a figure crosses its line (below; README
 * "Monitoring" states them): VACUUM for dead rows and unreachable
 * elements, REINDEX for a graph whose lists have thinned or an index mostly
 * free space, a higher hnsw.ef_search when sampled recall (sample.c) is
 * low.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "hnsw.h"

PG_FUNCTION_INFO_V1(hnsw_index_health);

/* VACUUM when this share of the elements belongs to dead rows */
#define HNSW_ADVICE_DEAD_SHARE		0.10

/*
 * REINDEX when layer 0's mean out-degree is under this share of what a
 * build gives (lists of 2m, or of all other elements in a small index)
 */
#define HNSW_ADVICE_DEGREE_SHARE	0.5

/* REINDEX when more than this share of an index of some size is free */
#define HNSW_ADVICE_FREE_SHARE		0.5
#define HNSW_ADVICE_FREE_MIN_PAGES	1024

/* Raise hnsw.ef_search when sampled recall is below this */
#define HNSW_ADVICE_RECALL			0.90

/* Free bytes on the pages of index, but its metapage */
static int64
free_space(Relation index, BlockNumber nblocks)
{
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	int64		free = 0;

	for (BlockNumber blkno = HNSW_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
		/* share: only the header is read */
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		free += PageIsNew(page) ? BLCKSZ : PageGetExactFreeSpace(page);
		UnlockReleaseBuffer(buf);
	}
	FreeAccessStrategy(strategy);
	return free;
}

/*
 * hnsw_index_health(index regclass): elements, dead rows, unreachable
 * elements, mean and lowest out-degree per layer, free space, advice.
 */
Datum
hnsw_index_health(PG_FUNCTION_ARGS)
{
	HnswVerifyState vs;
	TupleDesc	tupdesc;
	Relation	heap;
	Snapshot	snapshot = GetActiveSnapshot();
	Datum		values[9];
	bool		nulls[9];
	int64		live = 0,
				dead = 0,
				unreachable = 0,
				free;
	bool	   *visible;
	int64		per_layer[HNSW_MAX_LAYERS];
	int64		degree[HNSW_MAX_LAYERS];
	int			lowest[HNSW_MAX_LAYERS];
	Datum		means[HNSW_MAX_LAYERS];
	Datum		mins[HNSW_MAX_LAYERS];
	int			layers = 0;
	double		free_share;
	double		recall;
	int			recall_ef;
	StringInfoData advice;
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	HnswVerifyReadIndex(&vs, PG_GETARG_OID(0));

	/* which elements belong to rows this transaction sees, which to dead ones */
	heap = table_open(IndexGetRelation(RelationGetRelid(vs.index), false),
					  AccessShareLock);
	visible = palloc0(sizeof(bool) * Max(vs.nelements, 1));
	for (int k = 0; k < vs.nelements; k++)
	{
		HnswVerifyElement *e = &vs.elements[k];
		bool		all_dead = false;

		CHECK_FOR_INTERRUPTS();
		if (e->deleted)
		{
			dead++;
			continue;
		}
		visible[k] = table_index_fetch_tuple_check(heap, &e->heaptid, snapshot,
												   &all_dead);
		live += visible[k];
		dead += !visible[k] && all_dead;
	}
	table_close(heap, AccessShareLock);

	if (vs.meta.entry_level >= 0)
	{
		HnswVerifyElement *entry = HnswVerifyFindElement(&vs,
														 HnswElemIdFromTid(&vs.meta.entry));

		if (entry != NULL)
			HnswVerifyMarkReachable(&vs, entry);
	}

	memset(per_layer, 0, sizeof(per_layer));
	memset(degree, 0, sizeof(degree));
	for (int k = 0; k < vs.nelements; k++)
	{
		HnswVerifyElement *e = &vs.elements[k];

		if (!visible[k])
			continue;
		unreachable += !e->reached;
		layers = Max(layers, e->level + 1);
		for (int l = 0; l <= e->level; l++)
		{
			lowest[l] = per_layer[l] == 0 ? e->counts[l] : Min(lowest[l], e->counts[l]);
			per_layer[l]++;
			degree[l] += e->counts[l];
		}
	}
	for (int l = 0; l < layers; l++)
	{
		means[l] = Float8GetDatum((double) degree[l] / per_layer[l]);
		mins[l] = Int32GetDatum(lowest[l]);
	}
	free = free_space(vs.index, vs.nblocks);
	free_share = (double) free / ((double) vs.nblocks * BLCKSZ);

	/* the advice, each line crossed */
	initStringInfo(&advice);
	if (vs.nelements > 0 && dead >= HNSW_ADVICE_DEAD_SHARE * vs.nelements)
		appendStringInfo(&advice, "%sVACUUM: %.0f%% of the elements belong to deleted rows",
						 advice.len ? "; " : "", 100.0 * dead / vs.nelements);
	if (unreachable > 0)
		appendStringInfo(&advice, "%sVACUUM: %lld elements of visible rows cannot be reached (VACUUM links them back; REINDEX if they stay)",
						 advice.len ? "; " : "", (long long) unreachable);
	if (layers > 0 &&
		DatumGetFloat8(means[0]) <
		HNSW_ADVICE_DEGREE_SHARE * Min(2 * vs.meta.m, live - 1))
		appendStringInfo(&advice, "%sREINDEX: layer 0 lists hold %.1f links on average, under half of %d",
						 advice.len ? "; " : "", DatumGetFloat8(means[0]),
						 (int) Min(2 * vs.meta.m, live - 1));
	if (vs.nblocks >= HNSW_ADVICE_FREE_MIN_PAGES &&
		free_share > HNSW_ADVICE_FREE_SHARE)
		appendStringInfo(&advice, "%sREINDEX: %.0f%% of the index is free space",
						 advice.len ? "; " : "", 100.0 * free_share);
	if (HnswSampledRecall(RelationGetRelid(vs.index), &recall, &recall_ef) &&
		recall < HNSW_ADVICE_RECALL)
		appendStringInfo(&advice, "%sraise hnsw.ef_search: sampled recall is %.2f at ef_search %d",
						 advice.len ? "; " : "", recall, recall_ef);
	if (advice.len == 0)
		appendStringInfoString(&advice, "none");

	memset(nulls, 0, sizeof(nulls));
	values[i++] = Int64GetDatum(vs.nelements);
	values[i++] = Int64GetDatum(live);
	values[i++] = Int64GetDatum(dead);
	values[i++] = Int64GetDatum(unreachable);
	values[i++] = PointerGetDatum(construct_array(means, layers, FLOAT8OID, 8,
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[i++] = PointerGetDatum(construct_array(mins, layers, INT4OID, 4,
												  true, TYPALIGN_INT));
	values[i++] = Int64GetDatum(free);
	values[i++] = Float8GetDatum(free_share);
	values[i++] = CStringGetTextDatum(advice.data);
	Assert(i == lengthof(values));

	relation_close(vs.index, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
