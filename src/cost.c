/*-------------------------------------------------------------------------
 *
 * cost.c
 *	  Cost estimate of an hnsw index scan.
 *
 * An ordered scan does all its work before the first row: it visits about
 * ef_search * (2 m) elements on layer 0 plus a few per upper layer, each a
 * page access and a distance.  The index is only useful with an ORDER BY
 * on its distance operator; without one the path is priced out.
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
	GenericCosts costs;
	IndexOptInfo *index = path->indexinfo;
	double		tuples = Max(index->tuples, 1.0);
	int			m = HNSW_DEFAULT_M;
	double		visited;
	double		layers;

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

	layers = Max(1.0, log(tuples) / log((double) m));
	visited = Min(tuples, hnsw_ef_search * 2.0 * m + layers * m);

	MemSet(&costs, 0, sizeof(costs));
	costs.numIndexTuples = visited;
	genericcostestimate(root, path, loop_count, &costs);

	/* every element visited costs a distance computation */
	costs.indexTotalCost += visited * cpu_operator_cost * 10;

	/* the whole search happens before the first row comes back */
	*indexStartupCost = costs.indexTotalCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0;
	*indexPages = costs.numIndexPages;
}
