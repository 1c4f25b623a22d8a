/*-------------------------------------------------------------------------
 *
 * explain.c
 *	  What an hnsw index scan did: EXPLAIN ANALYZE lines and
 *	  hnsw_last_scan().
 *
 * Every scan counts what its searches did (scan.c keeps an HnswScanStats,
 * summed over the scan's rescans): the beam, the searches (more than one
 * in an iterative scan, or a scan rescanned in a nested loop), the
 * elements whose neighbour lists were read, the distances computed, the
 * elements that failed the scan's quals, whether the filter directory or
 * value links answered, and the shared buffers it found and read.
 *
 * From PostgreSQL 18 on, an extension may add lines to the nodes EXPLAIN
 * prints (explain_per_node_hook): EXPLAIN ANALYZE of an hnsw index scan
 * shows the figures under the node, the buffers only with BUFFERS (they
 * depend on what is cached; the others do not, for a given graph and
 * query).  On every version, hnsw_last_scan() returns them for the last
 * hnsw scan this session ended.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "executor/execdesc.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/execnodes.h"
#include "utils/rel.h"

#include "hnsw.h"

#ifdef HNSW_HAS_EXPLAIN_HOOKS
#include "commands/explain.h"
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif

PG_FUNCTION_INFO_V1(hnsw_last_scan);

/* The figures of the last hnsw scan this session ended */
static HnswScanStats last_scan;
static bool have_last_scan = false;

/* Called as a scan ends (hnswendscan) */
void
HnswRememberScan(const HnswScanStats *stats)
{
	if (stats->searches == 0)
		return;					/* opened, never searched */
	last_scan = *stats;
	have_last_scan = true;
}

/*
 * hnsw_last_scan(): the figures of the last hnsw index scan this session
 * ended; a row of NULLs before the first.
 */
Datum
hnsw_last_scan(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[13];
	bool		nulls[13];
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(nulls, !have_last_scan, sizeof(nulls));
	values[i++] = ObjectIdGetDatum(last_scan.index);
	values[i++] = Int32GetDatum(last_scan.ef_search);
	values[i++] = Int32GetDatum(last_scan.ef_widest);
	values[i++] = Int64GetDatum(last_scan.searches);
	values[i++] = Int64GetDatum(last_scan.expansions);
	values[i++] = Int64GetDatum(last_scan.distances);
	values[i++] = Int64GetDatum(last_scan.rejected);
	values[i++] = Int64GetDatum(last_scan.reranked);
	values[i++] = Int64GetDatum(last_scan.rows);
	values[i++] = Int64GetDatum(last_scan.directory);
	values[i++] = Int64GetDatum(last_scan.value_links);
	values[i++] = Int64GetDatum(last_scan.pages_hit);
	values[i++] = Int64GetDatum(last_scan.pages_read);
	Assert(i == lengthof(values));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

#ifdef HNSW_HAS_EXPLAIN_HOOKS

static explain_per_node_hook_type prev_explain_per_node_hook = NULL;

/* The scan of an index scan node on an hnsw index, if it has begun */
static IndexScanDesc
hnsw_scan_of(PlanState *planstate)
{
	IndexScanDesc scan = NULL;

	if (IsA(planstate, IndexScanState))
		scan = ((IndexScanState *) planstate)->iss_ScanDesc;
	else if (IsA(planstate, IndexOnlyScanState))
		scan = ((IndexOnlyScanState *) planstate)->ioss_ScanDesc;
	if (scan == NULL || scan->opaque == NULL ||
		scan->indexRelation->rd_indam->amgettuple != hnswgettuple)
		return NULL;
	return scan;
}

/*
 * Print what the hnsw scan of planstate did, for EXPLAIN ANALYZE: in text,
 *
 *   Graph Search: ef_search=40 searches=1 visited=57 distances=812
 *   Graph Quals: rejected=31 directory=0 value links=1
 *   Graph Buffers: shared hit=90 read=2
 *
 * (the quals line for scans with quals on the index's columns, the buffers
 * with BUFFERS), and the same as properties in the other formats.
 */
static void
hnsw_explain_node(PlanState *planstate, List *ancestors,
				  const char *relationship, const char *plan_name,
				  ExplainState *es)
{
	IndexScanDesc scan;

	if (prev_explain_per_node_hook)
		prev_explain_per_node_hook(planstate, ancestors, relationship,
								   plan_name, es);
	if (!es->analyze || (scan = hnsw_scan_of(planstate)) == NULL)
		return;
	{
		HnswScanStats *st = HnswScanGetStats(scan);
		bool		quals = scan->numberOfKeys > 0;

		if (es->format == EXPLAIN_FORMAT_TEXT)
		{
			ExplainIndentText(es);
			appendStringInfo(es->str, "Graph Search: ef_search=%d", st->ef_search);
			if (st->ef_widest > st->ef_search)
				appendStringInfo(es->str, " widest=%d", st->ef_widest);
			appendStringInfo(es->str, " searches=%lld visited=%lld distances=%lld",
							 (long long) st->searches,
							 (long long) st->expansions,
							 (long long) st->distances);
			if (st->reranked > 0)
				appendStringInfo(es->str, " reranked=%lld", (long long) st->reranked);
			appendStringInfoChar(es->str, '\n');
			if (quals)
			{
				ExplainIndentText(es);
				appendStringInfo(es->str,
								 "Graph Quals: rejected=%lld directory=%lld value links=%lld\n",
								 (long long) st->rejected,
								 (long long) st->directory,
								 (long long) st->value_links);
			}
			if (es->buffers)
			{
				ExplainIndentText(es);
				appendStringInfo(es->str, "Graph Buffers: shared hit=%lld read=%lld\n",
								 (long long) st->pages_hit,
								 (long long) st->pages_read);
			}
			return;
		}
		ExplainPropertyInteger("Graph ef_search", NULL, st->ef_search, es);
		ExplainPropertyInteger("Graph Widest ef_search", NULL, st->ef_widest, es);
		ExplainPropertyInteger("Graph Searches", NULL, st->searches, es);
		ExplainPropertyInteger("Graph Elements Visited", NULL, st->expansions, es);
		ExplainPropertyInteger("Graph Distances", NULL, st->distances, es);
		ExplainPropertyInteger("Graph Candidates Reranked", NULL, st->reranked, es);
		if (quals)
		{
			ExplainPropertyInteger("Graph Rows Rejected by Quals", NULL,
								   st->rejected, es);
			ExplainPropertyInteger("Graph Directory Searches", NULL,
								   st->directory, es);
			ExplainPropertyInteger("Graph Value Link Searches", NULL,
								   st->value_links, es);
		}
		if (es->buffers)
		{
			ExplainPropertyInteger("Graph Shared Hit Blocks", NULL,
								   st->pages_hit, es);
			ExplainPropertyInteger("Graph Shared Read Blocks", NULL,
								   st->pages_read, es);
		}
	}
}
#endif							/* HNSW_HAS_EXPLAIN_HOOKS */

/* From _PG_init: hook into EXPLAIN where the server lets us */
void
HnswInitExplain(void)
{
#ifdef HNSW_HAS_EXPLAIN_HOOKS
	prev_explain_per_node_hook = explain_per_node_hook;
	explain_per_node_hook = hnsw_explain_node;
#endif
}
