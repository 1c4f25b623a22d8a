/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every difference between the PostgreSQL versions hnsw builds against
 *	  (15 and 18, tested; 16 and 17 by the same tests of PG_VERSION_NUM,
 *	  untested).  No other file tests PG_VERSION_NUM.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef HNSW_COMPAT_H
#define HNSW_COMPAT_H

#include "access/relscan.h"
#include "nodes/execnodes.h"
#include "optimizer/optimizer.h"
#include "commands/vacuum.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"

/*
 * A function that never returns.  18 spells it pg_noreturn, before the
 * declaration (C11's _Noreturn); before 18, pg_attribute_noreturn() went
 * after it, and the GCC attribute it stands for may go first too.
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/* 18 tells vacuum_delay_point whether ANALYZE or VACUUM calls it */
#if PG_VERSION_NUM >= 180000
#define HnswVacuumDelayPoint()	vacuum_delay_point(false)
#else
#define HnswVacuumDelayPoint()	vacuum_delay_point()
#endif

/*
 * One more page at the end of fork, pinned and exclusively locked before
 * any other backend can see it.  From 16 on ExtendBufferedRel takes the
 * relation extension lock itself, for as short a time as it can; before,
 * the caller held it around a read of P_NEW.
 */
static inline Buffer
HnswExtendRelation(Relation index, ForkNumber fork)
{
#if PG_VERSION_NUM >= 160000
	return ExtendBufferedRel(BMR_REL(index), fork, NULL, EB_LOCK_FIRST);
#else
	Buffer		buf;

	/* the extension lock keeps two backends from adding the same block */
	LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBufferExtended(index, fork, P_NEW, RBM_ZERO_AND_LOCK, NULL);
	UnlockRelationForExtension(index, ExclusiveLock);
	return buf;
#endif
}

/*
 * The file a relation is stored in, as ReadRecentBuffer wants it: 16
 * renamed RelFileNode to RelFileLocator.
 */
#if PG_VERSION_NUM >= 160000
#define HnswRelationFile(rel)	((rel)->rd_locator)
#else
#define HnswRelationFile(rel)	((rel)->rd_node)
#endif

/*
 * A scan starts one search of the graph (its first, or a wider one of an
 * iterative scan): counted in pg_stat_user_indexes.idx_scan and, from 18
 * on, in the "Index Searches" of EXPLAIN ANALYZE.
 */
static inline void
HnswCountSearch(IndexScanDesc scan)
{
	pgstat_count_index_scan(scan->indexRelation);
#if PG_VERSION_NUM >= 180000
	if (scan->instrument)
		scan->instrument->nsearches++;
#endif
}

/*
 * Fields of the index AM routine that later versions added: 17 lets the
 * planner give an index build parallel workers when the AM says it can
 * use them (before, hnsw asked plan_create_index_workers itself, see
 * build.c, which reads the planner's choice with HnswPlannedBuildWorkers),
 * 18 asks the AM how many levels a search descends (the
 * planner keeps it in IndexOptInfo.tree_height, read by cost.c).
 */
#if PG_VERSION_NUM >= 170000
#define HNSW_AM_CAN_BUILD_PARALLEL(amroutine) ((amroutine)->amcanbuildparallel = true)
#define HnswPlannedBuildWorkers(heap, index, indexInfo) \
	((indexInfo)->ii_ParallelWorkers)
#else
#define HNSW_AM_CAN_BUILD_PARALLEL(amroutine) ((void) 0)
#define HnswPlannedBuildWorkers(heap, index, indexInfo) \
	plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index))
#endif

#if PG_VERSION_NUM >= 180000
#define HNSW_AM_TREE_HEIGHT(amroutine, fn) ((amroutine)->amgettreeheight = (fn))
#define HnswIndexTreeHeight(indexinfo) ((indexinfo)->tree_height)
#else
#define HNSW_AM_TREE_HEIGHT(amroutine, fn) ((void) 0)
#define HnswIndexTreeHeight(indexinfo) (-1)
#endif

/*
 * 18 lets an extension add lines to the nodes EXPLAIN prints
 * (explain_per_node_hook, explain.c).
 */
#if PG_VERSION_NUM >= 180000
#define HNSW_HAS_EXPLAIN_HOOKS
#endif

/*
 * 17 lets an extension create shared memory when first used, by name
 * (GetNamedDSMSegment, sample.c); before, only at startup, from
 * shared_preload_libraries.
 */
#if PG_VERSION_NUM >= 170000
#define HNSW_HAS_DSM_REGISTRY
#endif

#endif							/* HNSW_COMPAT_H */
