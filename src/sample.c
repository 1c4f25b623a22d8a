/*-------------------------------------------------------------------------
 *
 * sample.c
 *	  Recall sampled in production: hnsw.sample_recall and the view
 *	  hnsw_stat_recall.
 *
 * With hnsw.sample_recall = f > 0, each ordered index scan is sampled
 * with probability f: the scan remembers the rows it hands out (their
 * heap TIDs and distances, at most HNSW_SAMPLE_MAX_K), and when it ends
 * (or is rescanned) the backend computes the exact answer from the index's
 * own elements: every element is read, the scan's quals on the index's
 * columns applied, the distance to the query computed, and the nearest
 * rows the scan's snapshot sees kept.  The recall@k of the scan, k being
 * the rows it handed out that its snapshot sees, is the share of them at
 * or nearer than the exact k-th distance (ties count as hits).  What the
 * query returned is never changed: the work happens after the scan has
 * handed out its rows, in the same backend and transaction, and an error
 * in it (say, a cancel) is the query's error, as any other.
 *
 * The cost of a sample is one read of the whole index, so the samples are
 * capped: at most hnsw.sample_recall_max_per_second in the whole cluster;
 * a sampled scan over the cap is counted as skipped and not measured.
 *
 * The results are kept in shared memory, one slot per database, index,
 * hnsw.ef_search, k and whether the scan had quals on the index's columns
 * (HNSW_SAMPLE_SLOTS slots; when all are taken, new keys are counted as
 * lost).  A spinlock guards them: every critical section is a few
 * additions or a copy of the slots.  The memory is a named DSM segment
 * from PostgreSQL 17 on; before, it is requested at startup and exists
 * only if hnsw is in shared_preload_libraries.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/tableam.h"
#include "common/pg_prng.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "hnsw.h"

#ifdef HNSW_HAS_DSM_REGISTRY
#include "storage/dsm_registry.h"
#endif

PG_FUNCTION_INFO_V1(hnsw_stat_recall);
PG_FUNCTION_INFO_V1(hnsw_stat_recall_reset);

#define HNSW_SAMPLE_SLOTS	256

typedef struct HnswRecallSlot
{
	Oid			dbid;			/* InvalidOid: free */
	Oid			index;
	int			ef_search;
	int			k;
	bool		filtered;
	int64		scans;			/* measured */
	int64		skipped;		/* sampled, over the cap */
	double		sum;			/* of the recalls measured */
	double		lowest;
	TimestampTz last;
} HnswRecallSlot;

typedef struct HnswRecallShared
{
	slock_t		mutex;
	TimestampTz window_start;	/* of the current second of the cap */
	int			window_samples;
	int64		lost;			/* samples with no free slot */
	HnswRecallSlot slots[HNSW_SAMPLE_SLOTS];
} HnswRecallShared;

double		hnsw_sample_recall = 0;
int			hnsw_sample_recall_max_per_second = 10;

static HnswRecallShared *shared = NULL;

#ifndef HNSW_HAS_DSM_REGISTRY
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
#endif

static void
init_shared(void *ptr)
{
	HnswRecallShared *s = (HnswRecallShared *) ptr;

	memset(s, 0, sizeof(HnswRecallShared));
	SpinLockInit(&s->mutex);
}

#ifndef HNSW_HAS_DSM_REGISTRY
static void
sample_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(HnswRecallShared)));
}

static void
sample_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("hnsw recall samples", sizeof(HnswRecallShared),
							 &found);
	if (!found)
		init_shared(shared);
	LWLockRelease(AddinShmemInitLock);
}
#endif

/* From _PG_init: ask for the shared memory where that is done at startup */
void
HnswInitSampling(void)
{
#ifndef HNSW_HAS_DSM_REGISTRY
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = sample_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = sample_shmem_startup;
#endif
}

/*
 * The shared slots, attached on first use; NULL where they do not exist
 * (before 17, without shared_preload_libraries).
 */
static HnswRecallShared *
get_shared(void)
{
#ifdef HNSW_HAS_DSM_REGISTRY
	if (shared == NULL)
	{
		bool		found;

		shared = GetNamedDSMSegment("hnsw recall samples",
									sizeof(HnswRecallShared), init_shared,
									&found);
	}
#endif
	return shared;
}

/*
 * Should a scan about to search be sampled?  Draws with probability
 * hnsw.sample_recall.  Warns once per backend where there is nowhere to
 * keep samples.
 */
bool
HnswSampleThisScan(void)
{
	static bool warned = false;

	if (hnsw_sample_recall <= 0 ||
		pg_prng_double(&pg_global_prng_state) >= hnsw_sample_recall)
		return false;
	if (get_shared() == NULL)
	{
		if (!warned)
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("hnsw.sample_recall needs hnsw in shared_preload_libraries on this server version"),
					 errhint("Add hnsw to shared_preload_libraries and restart the server.")));
		warned = true;
		return false;
	}
	return true;
}

/* The slot of key, taken if new; NULL if none is free.  Spinlock held. */
static HnswRecallSlot *
find_slot(HnswRecallShared *s, Oid index, int ef_search, int k, bool filtered)
{
	HnswRecallSlot *free_slot = NULL;

	for (int i = 0; i < HNSW_SAMPLE_SLOTS; i++)
	{
		HnswRecallSlot *slot = &s->slots[i];

		if (slot->dbid == InvalidOid)
		{
			if (free_slot == NULL)
				free_slot = slot;
			continue;
		}
		if (slot->dbid == MyDatabaseId && slot->index == index &&
			slot->ef_search == ef_search && slot->k == k &&
			slot->filtered == filtered)
			return slot;
	}
	if (free_slot)
	{
		memset(free_slot, 0, sizeof(HnswRecallSlot));
		free_slot->dbid = MyDatabaseId;
		free_slot->index = index;
		free_slot->ef_search = ef_search;
		free_slot->k = k;
		free_slot->filtered = filtered;
		free_slot->lowest = 1.0;
	}
	return free_slot;
}

/*
 * May a sample be measured now?  Counts it against the cap of
 * hnsw.sample_recall_max_per_second; one over the cap is counted as
 * skipped in its slot.
 */
static bool
take_from_cap(Oid index, int ef_search, int k, bool filtered)
{
	HnswRecallShared *s = get_shared();
	TimestampTz now = GetCurrentTimestamp();
	bool		ok;

	SpinLockAcquire(&s->mutex);
	if (now - s->window_start >= USECS_PER_SEC || now < s->window_start)
	{
		s->window_start = now;
		s->window_samples = 0;
	}
	ok = s->window_samples < hnsw_sample_recall_max_per_second;
	if (ok)
		s->window_samples++;
	else
	{
		HnswRecallSlot *slot = find_slot(s, index, ef_search, k, filtered);

		if (slot)
			slot->skipped++;
		else
			s->lost++;
	}
	SpinLockRelease(&s->mutex);
	return ok;
}

/* A candidate of the exact answer, kept in a max-heap on distance */
typedef struct ExactRow
{
	double		distance;
	ItemPointerData heaptid;
} ExactRow;

static void
sift_down(ExactRow *heap, int n, int i)
{
	for (;;)
	{
		int			largest = i;
		int			l = 2 * i + 1,
					r = 2 * i + 2;
		ExactRow	tmp;

		if (l < n && heap[l].distance > heap[largest].distance)
			largest = l;
		if (r < n && heap[r].distance > heap[largest].distance)
			largest = r;
		if (largest == i)
			return;
		tmp = heap[i];
		heap[i] = heap[largest];
		heap[largest] = tmp;
		i = largest;
	}
}

static int
exact_row_compare(const void *a, const void *b)
{
	double		da = ((const ExactRow *) a)->distance;
	double		db = ((const ExactRow *) b)->distance;

	return (da > db) - (da < db);
}

/*
 * The keep nearest elements to query that pass filter (NULL: all), by a
 * read of every element page of index; returns how many (up to keep) into
 * rows, nearest first.
 */
static int
nearest_elements(Relation index, HnswDistance *dist, Datum query,
				 HnswFilter *filter, int keep, ExactRow *rows)
{
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "hnsw recall sample",
											  ALLOCSET_DEFAULT_SIZES);
	int			n = 0;

	for (BlockNumber blkno = HNSW_FIRST_DATA_BLKNO; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
		/* share: values are read, nothing written */
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page) && HnswPageIsElements(page))
		{
			HnswCheckPage(index, page, blkno);
			for (OffsetNumber off = FirstOffsetNumber;
				 off <= PageGetMaxOffsetNumber(page); off++)
			{
				HnswElementTuple etup = HnswGetElement(index, page, off);
				MemoryContext old_cxt;
				struct varlena *v;
				double		d;

				if (etup == NULL || (etup->flags & HNSW_ELEMENT_DELETED))
					continue;
				old_cxt = MemoryContextSwitchTo(cxt);
				v = HnswElementValue(index, etup, NULL);
				if (v == NULL ||
					(filter && !HnswFilterMatches(filter, PointerGetDatum(v), etup)))
				{
					MemoryContextSwitchTo(old_cxt);
					MemoryContextReset(cxt);
					continue;
				}
				/* an int8 code: its value itself */
				if (HnswIsCode(PointerGetDatum(v)))
					v = HnswReadExternal(index, &((HnswCodeData *) v)->full, NULL);
				if (v == NULL)
				{
					MemoryContextSwitchTo(old_cxt);
					MemoryContextReset(cxt);
					continue;
				}
				d = HnswComputeDistance(dist, query, PointerGetDatum(v));
				MemoryContextSwitchTo(old_cxt);
				MemoryContextReset(cxt);
				if (isnan(d))
					continue;
				if (n < keep)
				{
					rows[n].distance = d;
					rows[n].heaptid = etup->heaptid;
					n++;
					if (n == keep)
						for (int i = keep / 2 - 1; i >= 0; i--)
							sift_down(rows, n, i);
				}
				else if (d < rows[0].distance)
				{
					rows[0].distance = d;
					rows[0].heaptid = etup->heaptid;
					sift_down(rows, n, 0);
				}
			}
		}
		UnlockReleaseBuffer(buf);
	}
	MemoryContextDelete(cxt);
	FreeAccessStrategy(strategy);
	qsort(rows, n, sizeof(ExactRow), exact_row_compare);
	return n;
}

/*
 * Measure the recall of a sampled scan that handed out nrows rows (heap
 * TIDs and distances, in order) for query, with filter on the index's
 * columns (NULL: none) and a first beam of ef_search, and keep it in the
 * shared slots.  The rows the scan's snapshot does not see count neither
 * among the scan's rows nor the exact ones.
 */
void
HnswSampleRecall(IndexScanDesc scan, HnswDistance *dist, Datum query,
				 HnswFilter *filter, int ef_search,
				 const HnswSampledRow *handed, int nrows)
{
	Relation	heap = scan->heapRelation;
	Snapshot	snapshot = scan->xs_snapshot;
	double	   *returned;
	ExactRow   *exact;
	int			k = 0,
				nexact,
				seen = 0,
				hits = 0;
	double		kth = 0;
	double		recall;
	HnswRecallShared *s;
	HnswRecallSlot *slot;

	if (heap == NULL || nrows == 0 || !IsMVCCSnapshot(snapshot))
		return;

	/* the scan's rows its snapshot sees: k of them */
	returned = palloc(sizeof(double) * nrows);
	for (int i = 0; i < nrows; i++)
	{
		ItemPointerData tid = handed[i].heaptid;
		bool		all_dead;

		if (table_index_fetch_tuple_check(heap, &tid, snapshot, &all_dead))
			returned[k++] = handed[i].distance;
	}
	if (k == 0 ||
		!take_from_cap(RelationGetRelid(scan->indexRelation), ef_search, k,
					   filter != NULL))
	{
		pfree(returned);
		return;
	}

	/*
	 * The exact k-th distance among the rows the snapshot sees: the nearest
	 * elements, more than k for the dead rows the index still holds.
	 */
	{
		int			keep = 4 * k + 64;

		exact = palloc(sizeof(ExactRow) * keep);
		nexact = nearest_elements(scan->indexRelation, dist, query, filter,
								  keep, exact);
		for (int i = 0; i < nexact && seen < k; i++)
		{
			bool		all_dead;

			if (table_index_fetch_tuple_check(heap, &exact[i].heaptid,
											  snapshot, &all_dead))
			{
				kth = exact[i].distance;
				seen++;
			}
		}
	}
	if (seen < k)
	{
		/* too many dead rows among the nearest to tell: no sample */
		pfree(returned);
		pfree(exact);
		return;
	}
	for (int i = 0; i < k; i++)
		hits += returned[i] <= kth;
	recall = (double) hits / k;

	s = get_shared();
	SpinLockAcquire(&s->mutex);
	slot = find_slot(s, RelationGetRelid(scan->indexRelation), ef_search, k,
					 filter != NULL);
	if (slot)
	{
		slot->scans++;
		slot->sum += recall;
		slot->lowest = Min(slot->lowest, recall);
		slot->last = GetCurrentTimestamp();
	}
	else
		s->lost++;
	SpinLockRelease(&s->mutex);
	pfree(returned);
	pfree(exact);
}

/*
 * The sampled recall of index in this database, over all its slots
 * weighted by scans, and the ef_search of its most sampled slot; false if
 * there is none (for hnsw_index_health's advice).
 */
bool
HnswSampledRecall(Oid index, double *recall, int *ef_search)
{
	HnswRecallShared *s = get_shared();
	double		sum = 0;
	int64		scans = 0,
				most = 0;

	if (s == NULL)
		return false;
	SpinLockAcquire(&s->mutex);
	for (int i = 0; i < HNSW_SAMPLE_SLOTS; i++)
	{
		HnswRecallSlot *slot = &s->slots[i];

		if (slot->dbid != MyDatabaseId || slot->index != index || slot->scans == 0)
			continue;
		sum += slot->sum;
		scans += slot->scans;
		if (slot->scans > most)
		{
			most = slot->scans;
			*ef_search = slot->ef_search;
		}
	}
	SpinLockRelease(&s->mutex);
	if (scans == 0)
		return false;
	*recall = sum / scans;
	return true;
}

/*
 * hnsw_stat_recall(): the slots of this database, for the view
 * hnsw_stat_recall.
 */
Datum
hnsw_stat_recall(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HnswRecallShared *s = get_shared();
	HnswRecallSlot *copy;
	int			n = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (s == NULL)
		return (Datum) 0;
	copy = palloc(sizeof(HnswRecallSlot) * HNSW_SAMPLE_SLOTS);
	SpinLockAcquire(&s->mutex);
	for (int i = 0; i < HNSW_SAMPLE_SLOTS; i++)
		if (s->slots[i].dbid == MyDatabaseId)
			copy[n++] = s->slots[i];
	SpinLockRelease(&s->mutex);

	for (int i = 0; i < n; i++)
	{
		Datum		values[9];
		bool		nulls[9];
		int			j = 0;

		memset(nulls, 0, sizeof(nulls));
		values[j++] = ObjectIdGetDatum(copy[i].index);
		values[j++] = Int32GetDatum(copy[i].ef_search);
		values[j++] = BoolGetDatum(copy[i].filtered);
		values[j++] = Int32GetDatum(copy[i].k);
		values[j++] = Int64GetDatum(copy[i].scans);
		values[j++] = Int64GetDatum(copy[i].skipped);
		nulls[j] = copy[i].scans == 0;
		values[j++] = Float8GetDatum(copy[i].scans ? copy[i].sum / copy[i].scans : 0);
		nulls[j] = copy[i].scans == 0;
		values[j++] = Float8GetDatum(copy[i].lowest);
		nulls[j] = copy[i].scans == 0;
		values[j++] = TimestampTzGetDatum(copy[i].last);
		Assert(j == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* hnsw_stat_recall_reset(): forget this database's samples */
Datum
hnsw_stat_recall_reset(PG_FUNCTION_ARGS)
{
	HnswRecallShared *s = get_shared();

	if (s != NULL)
	{
		SpinLockAcquire(&s->mutex);
		for (int i = 0; i < HNSW_SAMPLE_SLOTS; i++)
			if (s->slots[i].dbid == MyDatabaseId)
				s->slots[i].dbid = InvalidOid;
		SpinLockRelease(&s->mutex);
	}
	PG_RETURN_VOID();
}
