/*-------------------------------------------------------------------------
 *
 * build.c
 *	  Building an hnsw index: CREATE INDEX, REINDEX, and the init fork of
 *	  an unlogged index.
 *
 * The graph is built in memory (an area of maintenance_work_mem, see
 * buildgraph.c) with the same algorithms the page-level inserts use, then
 * written out in one pass without WAL; the finished index is WAL-logged
 * wholesale with log_newpage_range.  If the graph outgrows the area, what
 * has been built is written to pages and the remaining rows are inserted
 * one by one into the on-disk graph, as INSERT would.
 *
 * A parallel build (as many workers as the planner gives a CREATE INDEX on
 * the table, within max_parallel_maintenance_workers) puts the area in
 * dynamic shared memory; the leader and the workers scan the table
 * together and insert into the one shared graph; the leader writes it out.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "storage/bufmgr.h"
#include "tcop/tcopprot.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "nodes/execnodes.h"

#include "hnsw.h"

/* Keys of the parallel build's shared memory */
#define HNSW_KEY_AREA			UINT64CONST(0x484E535700000001)
#define HNSW_KEY_SCAN			UINT64CONST(0x484E535700000002)

/* One participant's state: the leader's or a worker's */
typedef struct HnswBuildState
{
	Relation	heap;
	Relation	index;
	HnswDistance dist;
	HnswBuildArea *area;
	HnswGraph  *graph;			/* callbacks over area */
	TupleDesc	filter_desc;	/* of the filter columns; NULL if none */
	bool		on_disk;		/* the area was written out: go to pages */
	bool		progress;		/* report progress (the leader) */
	double		reltuples;		/* rows scanned */
	double		indtuples;		/* elements made */
	MemoryContext tuple_cxt;	/* reset after every row */
} HnswBuildState;

/*
 * The area is full: write it to pages (once, by whoever gets there first)
 * and go on with inserts on disk.
 */
static void
flush_area(HnswBuildState *bs)
{
	HnswBuildArea *area = bs->area;

	if (area->shared)
		LWLockAcquire(&area->flush_lock, LW_EXCLUSIVE);
	if (!area->flushed)
	{
		ereport(NOTICE,
				(errmsg("hnsw graph no longer fits into maintenance_work_mem after %u elements",
						area->nelements),
				 errdetail("Building will take significantly longer."),
				 errhint("Increase maintenance_work_mem to speed up builds.")));
		if (bs->progress)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE,
										 HNSW_PHASE_WRITE);
		HnswAreaWrite(area, bs->index);
		area->flushed = true;
		if (bs->progress)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE,
										 HNSW_PHASE_INSERT);
	}
	if (area->shared)
		LWLockRelease(&area->flush_lock);
	bs->on_disk = true;
}

/*
 * The build scan's callback: one row.
 */
static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	HnswBuildState *bs = (HnswBuildState *) state;
	MemoryContext old_cxt;
	Datum		value;
	bool		skip;

	bs->reltuples++;
	if (isnull[0])
		return;

	old_cxt = MemoryContextSwitchTo(bs->tuple_cxt);
	value = HnswPrepareValue(&bs->dist, values[0], &skip);
	if (!skip)
	{
		IndexTuple	filter;

		if (bs->dist.fixed_dimensions)
			HnswAreaCheckDimensions(bs->area,
									HnswValueDimensions(&bs->dist, value));
		HnswCheckElementSize(index, bs->area->m, value);
		filter = HnswFormFilter(index, bs->filter_desc, values, isnull);

		/* a float8[] value to be coded: the graph measures it narrowed */
		if (!bs->on_disk &&
			!HnswAreaInsert(bs->area, bs->graph,
							bs->dist.float8_values ?
							HnswNarrowValue(NULL, value, NULL, NULL, NULL) : value,
							bs->dist.float8_values ? value : (Datum) 0,
							filter, bs->filter_desc, tid))
			flush_area(bs);
		if (bs->on_disk)
			HnswInsertValue(index, &bs->dist, value, filter, tid, false);
		bs->indtuples++;
		if (bs->progress)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE,
										 (int64) bs->area->nelements);
	}
	MemoryContextSwitchTo(old_cxt);
	MemoryContextReset(bs->tuple_cxt);
}

/*
 * Scan the table (all of it, or this participant's share of a parallel
 * scan) into the area.  Adds what it did to the area's counters.
 */
static void
participate(HnswBuildArea *area, Relation heap, Relation index,
			IndexInfo *indexInfo, TableScanDesc scan, bool leader)
{
	HnswBuildState bs;

	memset(&bs, 0, sizeof(bs));
	bs.heap = heap;
	bs.index = index;
	bs.area = area;
	bs.progress = leader;
	HnswInitDistance(&bs.dist, index);
	bs.filter_desc = HnswFilterDesc(index);
	bs.graph = HnswAreaGraph(area, &bs.dist);
	bs.on_disk = area->flushed;
	bs.tuple_cxt = AllocSetContextCreate(CurrentMemoryContext,
										 "hnsw build tuple",
										 ALLOCSET_DEFAULT_SIZES);
	/* every participant draws its own levels; a serial build is repeatable */
	HnswSeedLevels(HNSW_BUILD_SEED + (leader ? 0 : ParallelWorkerNumber + 1));

	table_index_build_scan(heap, index, indexInfo, true, leader,
						   build_callback, &bs, scan);

	SpinLockAcquire(&area->mutex);
	area->reltuples += bs.reltuples;
	area->indtuples += bs.indtuples;
	SpinLockRelease(&area->mutex);
	MemoryContextDelete(bs.tuple_cxt);
}

/*
 * The parallel workers' entry point.
 */
void
HnswParallelBuildMain(dsm_segment *seg, shm_toc *toc)
{
	HnswBuildArea *area = shm_toc_lookup(toc, HNSW_KEY_AREA, false);
	ParallelTableScanDesc pscan = shm_toc_lookup(toc, HNSW_KEY_SCAN, false);
	LOCKMODE	heap_lockmode = area->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
	LOCKMODE	index_lockmode = area->isconcurrent ? RowExclusiveLock : AccessExclusiveLock;
	Relation	heap;
	Relation	index;
	IndexInfo  *indexInfo;

	/* the same locks as the leader, which holds them already */
	heap = table_open(area->heaprelid, heap_lockmode);
	index = index_open(area->indexrelid, index_lockmode);
	indexInfo = BuildIndexInfo(index);
	indexInfo->ii_Concurrent = area->isconcurrent;

	participate(area, heap, index, indexInfo,
				table_beginscan_parallel(heap, pscan), false);

	index_close(index, index_lockmode);
	table_close(heap, heap_lockmode);
}

/*
 * How many workers to ask for.  The planner sizes a CREATE INDEX by the
 * table's main fork, but vectors are mostly stored out of line in its
 * TOAST table, so a table of many vectors can look small to it; for a
 * plain column index (nothing for the workers to evaluate but the column)
 * count the TOAST table's pages too, on the planner's scale (one worker at
 * min_parallel_table_scan_size, one more for every tripling).  The table's
 * parallel_workers option, when set, decides alone, as for any index.
 */
static int
build_workers(Relation heap, Relation index, IndexInfo *indexInfo)
{
	int			nworkers = HnswPlannedBuildWorkers(heap, index, indexInfo);
	BlockNumber pages;
	BlockNumber threshold = (BlockNumber) Max(min_parallel_table_scan_size, 1);

	if (nworkers > 0 || max_parallel_maintenance_workers == 0 ||
		RelationGetParallelWorkers(heap, -1) != -1 ||
		indexInfo->ii_Expressions != NIL || indexInfo->ii_Predicate != NIL ||
		!OidIsValid(heap->rd_rel->reltoastrelid))
		return nworkers;

	pages = RelationGetNumberOfBlocks(heap);
	{
		Relation	toast = table_open(heap->rd_rel->reltoastrelid, AccessShareLock);

		pages += RelationGetNumberOfBlocks(toast);
		table_close(toast, AccessShareLock);
	}
	if (pages < threshold)
		return 0;
	nworkers = 1;
	while (pages >= threshold * 3 && threshold < MaxBlockNumber / 3)
	{
		nworkers++;
		threshold *= 3;
	}
	return Min(nworkers, max_parallel_maintenance_workers);
}

/*
 * Build the graph with workers, if the planner gives any and dynamic shared
 * memory is there; returns NULL (having done nothing) otherwise.  The area
 * is as large as maintenance_work_mem, allocated up front.
 */
static HnswBuildArea *
build_parallel(Relation heap, Relation index, IndexInfo *indexInfo,
			   HnswOptions *opts, uint32 linked, ParallelContext **pcxt_out)
{
	int			nworkers;
	ParallelContext *pcxt;
	Snapshot	snapshot;
	Size		area_size = (Size) maintenance_work_mem * 1024;
	Size		scan_size;
	HnswBuildArea *area;
	ParallelTableScanDesc pscan;

	if (!IsUnderPostmaster || IsParallelWorker() ||
		RelationUsesLocalBuffers(heap))
		return NULL;
	nworkers = build_workers(heap, index, indexInfo);
	if (nworkers <= 0)
		return NULL;

	EnterParallelMode();
	pcxt = CreateParallelContext("hnsw", "HnswParallelBuildMain", nworkers);
	snapshot = indexInfo->ii_Concurrent ?
		RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
	scan_size = table_parallelscan_estimate(heap, snapshot);
	shm_toc_estimate_chunk(&pcxt->estimator, area_size);
	shm_toc_estimate_chunk(&pcxt->estimator, scan_size);
	shm_toc_estimate_keys(&pcxt->estimator, 2);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		if (IsMVCCSnapshot(snapshot))
			UnregisterSnapshot(snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return NULL;
	}

	area = HnswAreaInit(shm_toc_allocate(pcxt->toc, area_size), area_size,
						opts, linked, true);
	area->heaprelid = RelationGetRelid(heap);
	area->indexrelid = RelationGetRelid(index);
	area->isconcurrent = indexInfo->ii_Concurrent;
	pscan = shm_toc_allocate(pcxt->toc, scan_size);
	table_parallelscan_initialize(heap, pscan, snapshot);
	shm_toc_insert(pcxt->toc, HNSW_KEY_AREA, area);
	shm_toc_insert(pcxt->toc, HNSW_KEY_SCAN, pscan);

	LaunchParallelWorkers(pcxt);
	ereport(DEBUG1,
			(errmsg_internal("hnsw build of \"%s\": %d parallel workers launched of %d planned",
							 RelationGetRelationName(index),
							 pcxt->nworkers_launched, nworkers)));
	/* the leader does its share too */
	participate(area, heap, index, indexInfo,
				table_beginscan_parallel(heap, pscan), true);
	WaitForParallelWorkersToFinish(pcxt);

	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	*pcxt_out = pcxt;
	return area;
}

/*
 * Write the metapage of an empty index to block 0 of fork, and for an index
 * with filter key columns the first page of its filter directory to block 1.
 * linked are the filter columns that get value links (see links.c).
 */
static void
write_metapage(Relation index, ForkNumber fork, HnswOptions *opts,
			   uint32 linked, bool wal)
{
	Buffer		buf = HnswNewBuffer(index, fork);
	Buffer		dirbuf = InvalidBuffer;
	Page		page = BufferGetPage(buf);

	if (BufferGetBlockNumber(buf) != HNSW_METAPAGE_BLKNO)
		elog(ERROR, "hnsw metapage is not the first block of index \"%s\"",
			 RelationGetRelationName(index));
	if (HnswHasFilterKeys(index))
	{
		dirbuf = HnswNewBuffer(index, fork);
		if (BufferGetBlockNumber(dirbuf) != HNSW_FIRST_DATA_BLKNO)
			elog(ERROR, "hnsw directory is not the second block of index \"%s\"",
				 RelationGetRelationName(index));
	}
	START_CRIT_SECTION();
	HnswInitMetaPage(page, opts, 0, linked);
	if (BufferIsValid(dirbuf))
	{
		HnswMetaPage meta = HnswPageGetMeta(page);

		meta->flags |= HNSW_META_DIRECTORY;
		meta->directory_head = meta->directory_tail = HNSW_FIRST_DATA_BLKNO;
		HnswInitDirectoryPage(BufferGetPage(dirbuf));
		MarkBufferDirty(dirbuf);
	}
	MarkBufferDirty(buf);
	if (wal)
	{
		log_newpage_buffer(buf, true);
		if (BufferIsValid(dirbuf))
			log_newpage_buffer(dirbuf, true);
	}
	END_CRIT_SECTION();
	if (BufferIsValid(dirbuf))
		UnlockReleaseBuffer(dirbuf);
	UnlockReleaseBuffer(buf);
}

/*
 * ambuildphasename: names of the phases in pg_stat_progress_create_index
 */
char *
hnswbuildphasename(int64 phase)
{
	switch (phase)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case HNSW_PHASE_LOAD:
			return "building graph in memory";
		case HNSW_PHASE_INSERT:
			return "inserting into graph on disk";
		case HNSW_PHASE_WRITE:
			return "writing graph to pages";
		case HNSW_PHASE_LOG:
			return "WAL-logging pages";
	}
	return NULL;
}

/*
 * ambuild: build the graph of all rows of heap.
 */
IndexBuildResult *
hnswbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	HnswOptions *opts = HnswGetOptions(index);
	ParallelContext *pcxt = NULL;
	HnswBuildArea *area;
	void	   *local = NULL;
	uint32		linked = opts->filter_links > 0 ? HnswLinkableColumns(index) : 0;

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data",
			 RelationGetRelationName(index));
	{
		HnswDistance dist;

		HnswInitDistance(&dist, index);
		HnswCheckStorage(index, &dist, opts->storage);
	}

	write_metapage(index, MAIN_FORKNUM, opts, linked, false);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
								 (int64) heap->rd_rel->reltuples);

	area = build_parallel(heap, index, indexInfo, opts, linked, &pcxt);
	if (area == NULL)
	{
		/* serial: pages of the area are touched only as it fills */
		Size		size = (Size) maintenance_work_mem * 1024;

		local = MemoryContextAllocHuge(CurrentMemoryContext, size);
		area = HnswAreaInit(local, size, opts, linked, false);
		participate(area, heap, index, indexInfo, NULL, true);
	}

	if (!area->flushed)
	{
		HnswDistance dist;

		/* pruning may have left elements that nothing leads to */
		HnswInitDistance(&dist, index);
		HnswAreaLinkUnreachable(area, HnswAreaGraph(area, &dist));
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE,
									 HNSW_PHASE_WRITE);
		HnswAreaWrite(area, index);
	}

	/* the pages were written without WAL: log them all now */
	if (RelationNeedsWAL(index))
	{
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE,
									 HNSW_PHASE_LOG);
		log_newpage_range(index, MAIN_FORKNUM, 0,
						  RelationGetNumberOfBlocks(index), true);
	}

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = area->reltuples;
	result->index_tuples = area->indtuples;

	if (pcxt)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
	}
	if (local)
		pfree(local);
	return result;
}

/*
 * ambuildempty: the init fork of an unlogged index, an empty metapage.
 */
void
hnswbuildempty(Relation index)
{
	HnswOptions *opts = HnswGetOptions(index);

	write_metapage(index, INIT_FORKNUM, opts,
				   opts->filter_links > 0 ? HnswLinkableColumns(index) : 0, true);
}
