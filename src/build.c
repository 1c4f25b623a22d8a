/*-------------------------------------------------------------------------
 *
 * build.c
 *	  Building an hnsw index: CREATE INDEX, REINDEX, and the init fork of
 *	  an unlogged index.
 *
 * The graph is built in memory (bounded by maintenance_work_mem) with the
 * same algorithms the page-level inserts use, then written out in one pass
 * without WAL; the finished index is WAL-logged wholesale with
 * log_newpage_range.  If the graph outgrows maintenance_work_mem, what has
 * been built is written to pages and the remaining rows are inserted
 * one by one into the on-disk graph, as INSERT would.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "nodes/execnodes.h"

#include "hnsw.h"

/* One element of the in-memory graph */
typedef struct MemElement
{
	ItemPointerData heaptid;
	int			level;
	Datum		value;
	uint16	   *counts;			/* [level + 1] */
	HnswElemId **neighbors;		/* [level + 1][max neighbours on layer] */
} MemElement;

typedef struct HnswBuildState
{
	HnswGraph	graph;			/* callbacks over elements[] */
	Relation	heap;
	Relation	index;
	HnswDistance dist;
	int			m;
	int			ef_construction;

	MemElement *elements;
	int			nelements;
	int			capacity;
	HnswElemId	entry;
	int			entry_level;
	uint32		dimensions;

	Size		memory_used;
	Size		memory_limit;
	bool		on_disk;		/* graph written out; insert into pages */

	double		reltuples;		/* rows scanned */
	double		indtuples;		/* elements made */
	MemoryContext graph_cxt;	/* the in-memory graph */
	MemoryContext tuple_cxt;	/* reset after every row */
} HnswBuildState;

static bool
mem_distance_to(HnswGraph *graph, Datum value, HnswElemId id,
				double *distance, bool *deleted)
{
	HnswBuildState *bs = (HnswBuildState *) graph;

	*distance = HnswComputeDistance(&bs->dist, value, bs->elements[id].value);
	*deleted = false;
	return true;
}

static int
mem_neighbors(HnswGraph *graph, HnswElemId id, int layer, HnswElemId *out)
{
	MemElement *e = &((HnswBuildState *) graph)->elements[id];

	if (layer > e->level)
		return 0;
	memcpy(out, e->neighbors[layer], sizeof(HnswElemId) * e->counts[layer]);
	return e->counts[layer];
}

static Datum
mem_value(HnswGraph *graph, HnswElemId id)
{
	return ((HnswBuildState *) graph)->elements[id].value;
}

/*
 * Add a value to the in-memory graph (Algorithm 1 of the paper).
 */
static void
mem_insert(HnswBuildState *bs, Datum value, ItemPointer heaptid)
{
	int			level = HnswRandomLevel(bs->m);
	HnswCandidate *lists[HNSW_MAX_LAYERS];
	int			counts[HNSW_MAX_LAYERS];
	HnswElemId	id = bs->nelements;
	MemElement *e;
	MemoryContext old_cxt;

	if (bs->nelements == bs->capacity)
	{
		bs->capacity *= 2;
		bs->elements = repalloc_huge(bs->elements,
									 sizeof(MemElement) * bs->capacity);
	}

	/* search with temporary memory; lists[] live in tuple_cxt */
	for (int l = 0; l <= level; l++)
		counts[l] = 0;
	if (bs->entry_level >= 0)
		HnswFindNeighbors(&bs->graph, value, level, bs->entry, bs->entry_level,
						  lists, counts);

	/* the element itself lives as long as the graph */
	old_cxt = MemoryContextSwitchTo(bs->graph_cxt);
	e = &bs->elements[bs->nelements++];
	e->heaptid = *heaptid;
	e->level = level;
	e->value = PointerGetDatum(palloc(VARSIZE_ANY(DatumGetPointer(value))));
	memcpy(DatumGetPointer(e->value), DatumGetPointer(value),
		   VARSIZE_ANY(DatumGetPointer(value)));
	e->counts = palloc(sizeof(uint16) * (level + 1));
	e->neighbors = palloc(sizeof(HnswElemId *) * (level + 1));
	for (int l = 0; l <= level; l++)
	{
		e->neighbors[l] = palloc(sizeof(HnswElemId) * HnswMaxNeighbors(bs->m, l));
		e->counts[l] = counts[l];
		for (int i = 0; i < counts[l]; i++)
			e->neighbors[l][i] = lists[l][i].id;
	}
	bs->memory_used += sizeof(MemElement) + VARSIZE_ANY(DatumGetPointer(value)) +
		(level + 1) * (sizeof(uint16) + sizeof(HnswElemId *)) +
		sizeof(HnswElemId) * (2 * bs->m + level * bs->m) + 64;
	MemoryContextSwitchTo(old_cxt);

	/* the reverse links, pruned by the heuristic when a list is full */
	for (int l = Min(level, bs->entry_level); l >= 0; l--)
		for (int i = 0; i < counts[l]; i++)
		{
			MemElement *n = &bs->elements[lists[l][i].id];
			int			max = HnswMaxNeighbors(bs->m, l);

			if (n->counts[l] < max)
				n->neighbors[l][n->counts[l]++] = id;
			else
			{
				HnswCandidate link = {lists[l][i].distance, id, false};
				HnswCandidate *pruned = palloc(sizeof(HnswCandidate) * max);
				int			k;

				k = HnswPruneNeighbors(&bs->graph, n->value, n->neighbors[l],
									   n->counts[l], &link, max, pruned);
				for (int j = 0; j < k; j++)
					n->neighbors[l][j] = pruned[j].id;
				n->counts[l] = k;
			}
		}

	if (level > bs->entry_level)
	{
		bs->entry = id;
		bs->entry_level = level;
	}
}

/*
 * Write the in-memory graph to pages, after the metapage, without WAL.
 * Element tuples are laid out in the order the elements were made; an
 * element's upper tuple follows it on the same page when both fit.  Their
 * places are computed first so neighbour lists can name them.
 */
static void
write_graph(HnswBuildState *bs)
{
	int			n = bs->nelements;
	ItemPointerData *etids = palloc_extended(sizeof(ItemPointerData) * Max(n, 1),
											 MCXT_ALLOC_HUGE);
	ItemPointerData *utids = palloc_extended(sizeof(ItemPointerData) * Max(n, 1),
											 MCXT_ALLOC_HUGE);
	const Size	empty = BLCKSZ - SizeOfPageHeaderData -
		MAXALIGN(sizeof(HnswPageOpaqueData));
	BlockNumber blkno = RelationGetNumberOfBlocks(bs->index);
	OffsetNumber off = 0;
	Size		room = empty;
	Buffer		buf = InvalidBuffer;
	Page		page = NULL;
	HnswPageEdit edit;

	/* pass 1: where every tuple goes */
	for (int i = 0; i < n; i++)
	{
		MemElement *e = &bs->elements[i];
		Size		esize = HnswElementTupleSize(bs->m, VARSIZE_ANY(DatumGetPointer(e->value)));
		Size		usize = e->level > 0 ? HnswUpperTupleSize(bs->m, e->level) : 0;
		Size		need = esize + sizeof(ItemIdData) +
			(usize > 0 && esize + usize + 2 * sizeof(ItemIdData) <= empty ?
			 usize + sizeof(ItemIdData) : 0);

		if (need > room)
		{
			blkno++;
			off = 0;
			room = empty;
		}
		ItemPointerSet(&etids[i], blkno, ++off);
		room -= esize + sizeof(ItemIdData);
		if (usize > 0)
		{
			if (usize + sizeof(ItemIdData) > room)
			{
				blkno++;
				off = 0;
				room = empty;
			}
			ItemPointerSet(&utids[i], blkno, ++off);
			room -= usize + sizeof(ItemIdData);
		}
	}

	/* pass 2: write them, page by page, in the same order */
	HnswEditStart(&edit, bs->index, false);
	for (int i = 0; i < n; i++)
	{
		MemElement *e = &bs->elements[i];
		HnswCandidate list[2 * HNSW_MAX_M];
		HnswElementTuple etup;
		HnswUpperTuple utup = NULL;
		Size		esize,
					usize;

		CHECK_FOR_INTERRUPTS();
		for (int j = 0; j < e->counts[0]; j++)
			list[j].id = HnswElemIdFromTid(&etids[e->neighbors[0][j]]);
		etup = HnswFormElement(bs->m, e->value, e->level, &e->heaptid,
							   list, e->counts[0], &esize);
		if (e->level > 0)
		{
			etup->upper = utids[i];
			utup = HnswFormUpper(bs->m, e->level, &usize);
			utup->element = etids[i];
			for (int l = 1; l <= e->level; l++)
			{
				for (int j = 0; j < e->counts[l]; j++)
					list[j].id = HnswElemIdFromTid(&etids[e->neighbors[l][j]]);
				HnswSetNeighbors(NULL, utup, l, list, e->counts[l]);
			}
		}

		for (int t = 0; t < (utup ? 2 : 1); t++)
		{
			ItemPointer want = t == 0 ? &etids[i] : &utids[i];

			if (!BufferIsValid(buf) ||
				BufferGetBlockNumber(buf) != ItemPointerGetBlockNumber(want))
			{
				if (BufferIsValid(buf))
				{
					HnswEditFinish(&edit);
					RecordPageWithFreeSpace(bs->index, BufferGetBlockNumber(buf),
											PageGetExactFreeSpace(page));
					UnlockReleaseBuffer(buf);
				}
				buf = HnswNewBuffer(bs->index, MAIN_FORKNUM);
				if (BufferGetBlockNumber(buf) != ItemPointerGetBlockNumber(want))
					elog(ERROR, "unexpected block %u in hnsw build",
						 BufferGetBlockNumber(buf));
				HnswEditStart(&edit, bs->index, false);
				page = HnswEditPage(&edit, buf, true);
				HnswInitPage(page, HNSW_PAGE_ELEMENTS);
			}
			if (PageAddItem(page, t == 0 ? (Item) etup : (Item) utup,
							t == 0 ? esize : usize, InvalidOffsetNumber,
							false, false) != ItemPointerGetOffsetNumber(want))
				elog(ERROR, "unexpected item position in hnsw build");
		}
		pfree(etup);
		if (utup)
			pfree(utup);
	}
	if (BufferIsValid(buf))
	{
		HnswEditFinish(&edit);
		RecordPageWithFreeSpace(bs->index, BufferGetBlockNumber(buf),
								PageGetExactFreeSpace(page));
		UnlockReleaseBuffer(buf);
	}

	/* the metapage: entry point and dimension */
	buf = ReadBuffer(bs->index, HNSW_METAPAGE_BLKNO);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswEditStart(&edit, bs->index, false);
	{
		HnswMetaPage meta = HnswPageGetMeta(HnswEditPage(&edit, buf, false));

		meta->dimensions = bs->dimensions;
		if (n > 0)
		{
			meta->entry = etids[bs->entry];
			meta->entry_level = bs->entry_level;
		}
	}
	HnswEditFinish(&edit);
	UnlockReleaseBuffer(buf);

	pfree(etids);
	pfree(utids);
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
		uint32		dims = HnswValueDimensions(&bs->dist, value);

		if (bs->dist.fixed_dimensions)
		{
			if (bs->dimensions == 0)
				bs->dimensions = dims;
			else if (dims != bs->dimensions)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("expected %u dimensions, not %u",
								bs->dimensions, dims),
						 errdetail("All values in an hnsw index must have the same dimension; the first one indexed has %u.",
								   bs->dimensions)));
		}
		HnswCheckElementSize(index, bs->m, value);

		if (!bs->on_disk && bs->memory_used > bs->memory_limit)
		{
			ereport(NOTICE,
					(errmsg("hnsw graph no longer fits into maintenance_work_mem after %.0f tuples",
							bs->indtuples),
					 errdetail("Building will take significantly longer."),
					 errhint("Increase maintenance_work_mem to speed up builds.")));
			write_graph(bs);
			pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE,
										 HNSW_PHASE_INSERT);
			MemoryContextReset(bs->graph_cxt);
			bs->elements = NULL;
			bs->on_disk = true;
		}

		if (bs->on_disk)
			HnswInsertValue(index, &bs->dist, value, tid, false);
		else
			mem_insert(bs, value, tid);
		bs->indtuples++;
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE,
									 (int64) bs->indtuples);
	}
	MemoryContextSwitchTo(old_cxt);
	MemoryContextReset(bs->tuple_cxt);
}

/* Write the metapage of an empty index to block 0 of fork */
static void
write_metapage(Relation index, ForkNumber fork, int m, int ef_construction,
			   bool wal)
{
	Buffer		buf = HnswNewBuffer(index, fork);
	Page		page = BufferGetPage(buf);

	if (BufferGetBlockNumber(buf) != HNSW_METAPAGE_BLKNO)
		elog(ERROR, "hnsw metapage is not the first block of index \"%s\"",
			 RelationGetRelationName(index));
	START_CRIT_SECTION();
	HnswInitMetaPage(page, m, ef_construction, 0);
	MarkBufferDirty(buf);
	if (wal)
		log_newpage_buffer(buf, true);
	END_CRIT_SECTION();
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
	HnswBuildState bs;
	HnswOptions *opts = HnswGetOptions(index);

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data",
			 RelationGetRelationName(index));

	memset(&bs, 0, sizeof(bs));
	bs.heap = heap;
	bs.index = index;
	bs.m = opts->m;
	bs.ef_construction = opts->ef_construction;
	HnswInitDistance(&bs.dist, index);
	bs.graph.distance = &bs.dist;
	bs.graph.m = bs.m;
	bs.graph.ef_construction = bs.ef_construction;
	bs.graph.distance_to = mem_distance_to;
	bs.graph.neighbors = mem_neighbors;
	bs.graph.value = mem_value;
	bs.entry_level = -1;
	bs.memory_limit = (Size) maintenance_work_mem * 1024;
	bs.graph_cxt = AllocSetContextCreate(CurrentMemoryContext,
										 "hnsw build graph",
										 ALLOCSET_DEFAULT_SIZES);
	bs.tuple_cxt = AllocSetContextCreate(CurrentMemoryContext,
										 "hnsw build tuple",
										 ALLOCSET_DEFAULT_SIZES);
	bs.capacity = 1024;
	bs.elements = MemoryContextAlloc(bs.graph_cxt,
									 sizeof(MemElement) * bs.capacity);

	write_metapage(index, MAIN_FORKNUM, bs.m, bs.ef_construction, false);
	HnswSeedLevels(HNSW_BUILD_SEED);

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
								 (int64) heap->rd_rel->reltuples);
	table_index_build_scan(heap, index, indexInfo, true, true,
						   build_callback, &bs, NULL);

	if (!bs.on_disk)
	{
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE,
									 HNSW_PHASE_WRITE);
		write_graph(&bs);
	}

	/* the pages were written without WAL: log them all now */
	if (RelationNeedsWAL(index))
	{
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE,
									 HNSW_PHASE_LOG);
		log_newpage_range(index, MAIN_FORKNUM, 0,
						  RelationGetNumberOfBlocks(index), true);
	}

	MemoryContextDelete(bs.graph_cxt);
	MemoryContextDelete(bs.tuple_cxt);

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = bs.reltuples;
	result->index_tuples = bs.indtuples;
	return result;
}

/*
 * ambuildempty: the init fork of an unlogged index, an empty metapage.
 */
void
hnswbuildempty(Relation index)
{
	HnswOptions *opts = HnswGetOptions(index);

	write_metapage(index, INIT_FORKNUM, opts->m, opts->ef_construction, true);
}
