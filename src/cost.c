/*-------------------------------------------------------------------------
 *
 * cost.c
 *	  Cost estimate of an hnsw index scan.
 *
 * An ordered scan does all its work before the first row: it visits about
 * ef_search * (2 m) elements on layer 0 plus a few per upper layer, each a
 * buffer access and a distance.  A sequential scan with a sort computes a
 * distance per row, so the index wins once the table is a few times larger
 * than the number of elements a search visits.  The index is only useful
 * with an ORDER BY on its distance operator; without one the path is
 * priced out.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/selfuncs.h"
#include "utils/rel.h"

#include "hnsw.h"

void
hnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				 Cost *indexStartupCost, Cost *indexTotalCost,
				 Selectivity *indexSelectivity, double *indexCorrelation,
				 double *indexPages)
{
	IndexOptInfo *index = path->indexinfo;
	double		tuples = Max(index->tuples, 1.0);
	int			m;
	double		layers;
	double		visited;
	double		distance_cost;
	Expr	   *orderby;
	Cost		cost;

	/* not an ordered scan: nothing this index can do */
	if (path->indexorderbys == NIL)
	{
		*indexStartupCost = disable_cost;
		*indexTotalCost = disable_cost;
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	/* the index's own m: more neighbours per hop, more elements visited */
	{
		Relation	irel = index_open(index->indexoid, NoLock);

		m = HnswGetOptions(irel)->m;
		index_close(irel, NoLock);
	}

	/*
	 * Elements visited: about ef_search candidates expanded on layer 0, each
	 * looking at up to 2m neighbours, plus a greedy hop or two per upper
	 * layer.  Each visit is a buffer access and a distance computed with
	 * the operator's own function, priced as a sequential scan prices it.
	 */
	layers = Max(1.0, log(tuples) / log((double) m));
	visited = Min(tuples, hnsw_ef_search * 2.0 * m + layers * m);
	orderby = (Expr *) linitial(path->indexorderbys);
	{
		QualCost	qcost;

		cost_qual_eval_node(&qcost, (Node *) orderby, root);
		distance_cost = qcost.per_tuple;
	}

	cost = visited * (cpu_index_tuple_cost + cpu_tuple_cost + distance_cost);
	/* plus fetching the rows returned */
	cost += Min(tuples, hnsw_ef_search) * cpu_tuple_cost;

	/* the whole first search happens before the first row comes back */
	*indexStartupCost = cost;
	if (hnsw_iterative_scan == HNSW_ITERATIVE_OFF)
	{
		*indexTotalCost = cost;
		*indexSelectivity = Min(1.0, hnsw_ef_search / tuples);
	}
	else
	{
		/*
		 * An iterative scan can return every row: the searches that widen
		 * to the whole graph visit each element about twice (each search
		 * costs as much as all before it).  A LIMIT over a selective WHERE
		 * then pays in proportion to the rows it must pass over, so the
		 * planner prefers an exact scan where few rows match.
		 */
		*indexTotalCost = cost + 2.0 * tuples *
			(cpu_index_tuple_cost + cpu_tuple_cost + distance_cost) +
			tuples * cpu_tuple_cost;
		*indexSelectivity = 1.0;
	}
	*indexCorrelation = 0;
	*indexPages = Min(index->pages, visited);
}
