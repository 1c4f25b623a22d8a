/*-------------------------------------------------------------------------
 *
 * cost.c
 *	  Cost estimate of an hnsw index scan.
 *
 * An ordered scan does most of its work before the first row: it visits
 * about ef_search * (2 m) elements on layer 0 plus a few per upper layer,
 * each a buffer access and a distance, and more when quals on filter
 * columns leave few elements to fill its beam.  A sequential scan with a
 * sort computes a distance per row, so the index wins once the table is a
 * few times larger than the number of elements a search visits.  The index
 * is only useful with an ORDER BY on its distance operator; without one the
 * path is priced out.  Quals that few rows pass cost a read of the filter
 * directory and a visit per matching row instead.
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
#include "optimizer/paths.h"
#include "utils/selfuncs.h"
#include "utils/rel.h"

#include "hnsw.h"

/*
 * Elements a walk visits per row it returns beyond its first search, and
 * per matching row a filtered walk passes over (a walk for 10 rows that 1%
 * of the rows match visits some thousands of elements)
 */
#define HNSW_VISITS_PER_ROW		4.0

/*
 * What the first touch of a cached index page costs a visit, as a share of
 * seq_page_cost: calibrated so that the planner's choices between this
 * index, sequential scans with a sort, bitmap heap scans and filtered scans
 * match which was faster on Fashion-MNIST
 */
#define HNSW_VISIT_PAGE_SHARE	0.15

/*
 * What a distance costs a visit where the index has a kernel for it (the
 * built-in distances on arrays and bits), as a share of what the operator's
 * function costs a sequential scan: the index computes it on its own copy
 * of the value, in the page, with a SIMD kernel, while a sequential scan
 * calls the function on the heap's value, which it must first detoast (a
 * vector of more than about 500 floats lives out of line, each read a TOAST
 * index probe and a page or two) and check.  Other distances (text, a
 * user's own) the index computes by calling the function too.
 * Costing both alike made the planner rank a few thousand rows exactly
 * where a search was much faster (bench/RESULTS.md has the figures).
 */
#define HNSW_DISTANCE_SHARE		0.1

/* Filter directory tuples on a page (of a few integer columns) */
#define HNSW_DIRECTORY_TUPLES_PER_PAGE	200.0

/* The LIMIT of a typical nearest-neighbour query */
#define HNSW_TYPICAL_LIMIT		10

void
hnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				 Cost *indexStartupCost, Cost *indexTotalCost,
				 Selectivity *indexSelectivity, double *indexCorrelation,
				 double *indexPages)
{
	IndexOptInfo *index = path->indexinfo;
	double		tuples = Max(index->tuples, 1.0);
	int			m;
	int			height;
	bool		has_kernel;
	double		layers;
	double		visited;
	double		rows;
	Cost		visit_cost;
	Cost		first;
	Expr	   *orderby;
	Selectivity qual_selectivity = 1.0;
	bool		has_directory;
	bool		has_column_quals = false;
	ListCell   *lc;

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

	/*
	 * Whether the index has a kernel for its distance, its own m (more
	 * neighbours per hop, more elements visited), its upper layers (where the
	 * planner has not asked already, see hnswgettreeheight), and whether it
	 * has a filter directory (built by format 3 or later)
	 */
	{
		Relation	irel = index_open(index->indexoid, NoLock);
		HnswMetaPageData meta = HnswReadMetaPage(irel);
		HnswDistance dist;

		HnswInitDistance(&dist, irel);
		has_kernel = dist.kernel != HNSW_KERNEL_FMGR;
		m = HnswGetOptions(irel)->m;
		height = HnswIndexTreeHeight(index);
		if (height < 0)
			height = Max(meta.entry_level, 0);
		has_directory = index->ncolumns > 1 &&
			(meta.flags & HNSW_META_DIRECTORY) != 0;
		index_close(irel, NoLock);
	}
	foreach(lc, path->indexclauses)
	{
		if (((IndexClause *) lfirst(lc))->indexcol > 0)
			has_column_quals = true;
	}

	/*
	 * Elements the first search visits: about ef_search candidates expanded
	 * on layer 0, each looking at up to 2m neighbours, plus a greedy hop or
	 * two per upper layer.  Each visit is a distance (with a kernel,
	 * HNSW_DISTANCE_SHARE of what the operator's function costs) and a first
	 * touch of one index page (cached, but still HNSW_VISIT_PAGE_SHARE of
	 * what reading a page in sequence costs).
	 */
	layers = height + 1;
	visited = hnsw_ef_search * 2.0 * m + layers * m;
	orderby = (Expr *) linitial(path->indexorderbys);
	{
		QualCost	qcost;

		cost_qual_eval_node(&qcost, (Node *) orderby, root);
		visit_cost = cpu_index_tuple_cost + cpu_tuple_cost +
			(has_kernel ? HNSW_DISTANCE_SHARE : 1.0) * qcost.per_tuple +
			HNSW_VISIT_PAGE_SHARE * seq_page_cost;
	}

	/*
	 * Quals on filter columns (filter.c) are checked at every element
	 * visited, and only the elements that pass them fill the beam: to find
	 * ef_search of them the walk also passes over the elements between them,
	 * about HNSW_VISITS_PER_ROW for each.
	 */
	if (path->indexclauses != NIL)
	{
		List	   *quals = get_quals_from_indexclauses(path->indexclauses);
		QualCost	qcost;

		qual_selectivity = clauselist_selectivity(root, quals,
												  index->rel->relid,
												  JOIN_INNER, NULL);
		qual_selectivity = Max(qual_selectivity, 1.0 / tuples);
		visited += HNSW_VISITS_PER_ROW * hnsw_ef_search *
			(1.0 / qual_selectivity - 1.0);
		cost_qual_eval(&qcost, quals, root);
		visit_cost += qcost.per_tuple;
	}
	visited = Min(tuples, visited);
	rows = tuples * qual_selectivity;

	/* the first search, and fetching what it found */
	first = visited * visit_cost + Min(rows, hnsw_ef_search) * cpu_tuple_cost;

	/*
	 * Quals that few rows pass are answered from the filter directory instead
	 * (directory.c): a read of all its tuples, checking the quals on each,
	 * and a visit to each matching element; every matching row is then found,
	 * so no iteration follows.
	 */
	if (has_directory && has_column_quals && rows <= hnsw_exact_filter_rows)
	{
		QualCost	qcost;
		Cost		exact;

		cost_qual_eval(&qcost, get_quals_from_indexclauses(path->indexclauses), root);
		exact = tuples / HNSW_DIRECTORY_TUPLES_PER_PAGE * seq_page_cost +
			tuples * (cpu_index_tuple_cost + qcost.per_tuple) +
			rows * (visit_cost + cpu_tuple_cost);
		if (exact < first)
		{
			*indexStartupCost = exact;
			*indexTotalCost = exact;
			*indexSelectivity = qual_selectivity;
			*indexCorrelation = 0;
			*indexPages = tuples / HNSW_DIRECTORY_TUPLES_PER_PAGE + rows;
			return;
		}
	}

	if (hnsw_iterative_scan == HNSW_ITERATIVE_OFF)
	{
		/* the first search is all there is, before the first row */
		*indexStartupCost = first;
		*indexTotalCost = first;
		*indexSelectivity = Min(qual_selectivity, hnsw_ef_search / tuples);
	}
	else
	{
		/*
		 * An iterative scan can return every row.  Each row after those of
		 * the first search costs about HNSW_VISITS_PER_ROW visits (the wider
		 * searches go over the earlier ones again), and with filter quals
		 * that many for each row passed over.  The planner prices the first k
		 * rows by interpolating from startup to total cost, so startup is the
		 * first search less HNSW_TYPICAL_LIMIT rows at that rate: a LIMIT of
		 * that many then costs the whole first search, which it must wait
		 * for, and more rows cost more at that rate.  A LIMIT over a WHERE
		 * the executor checks pays for the rows it must pass over (and the
		 * planner adds their heap fetches), so the planner prefers filter
		 * columns when an index has them, and an exact scan where few rows
		 * match.
		 */
		Cost		per_row = HNSW_VISITS_PER_ROW * visit_cost / qual_selectivity;

		*indexStartupCost = Max(first - Min(hnsw_ef_search, HNSW_TYPICAL_LIMIT) * per_row,
								layers * visit_cost);
		*indexTotalCost = *indexStartupCost + rows * (per_row + cpu_tuple_cost);
		*indexSelectivity = qual_selectivity;
	}
	*indexCorrelation = 0;
	*indexPages = Min(index->pages, visited);
}

/*
 * The layers above layer 0 that a search descends through: the level of
 * the entry point (0 for an empty index).  The planner keeps it in
 * IndexOptInfo.tree_height where the server asks for it (see compat.h).
 */
int
hnswgettreeheight(Relation index)
{
	HnswMetaPageData meta = HnswReadMetaPage(index);

	return Max(meta.entry_level, 0);
}
