/*-------------------------------------------------------------------------
 *
 * scan.c
 *	  Ordered index scans: ORDER BY column <-> value.
 *
 * The first call to amgettuple searches the graph (greedy descent through
 * the upper layers, then a beam of hnsw.ef_search on layer 0) and later
 * calls hand out the rows found, nearest first.  No page stays locked
 * between calls, and none pinned, except in index-only scans (below).
 *
 * Index-only scans: an element holds the value itself and the filter and
 * INCLUDE columns, so the scan can hand out the whole index row, and the
 * executor then reads neither the heap (for rows on all-visible pages) nor
 * the TOAST table to compute the ORDER BY distance again.  The element is
 * read again as it is handed out, and its page stays pinned until the next
 * call: the pin interlock with VACUUM's cleanup locks that makes that safe,
 * and why a standby offers no index-only scans, are in src/README's
 * "Concurrency".
 *
 * Quals on the index's columns (scan keys, see filter.c) are checked on
 * each element the walk reaches: one that fails them is walked through but
 * never returned, so the search fills its beam with matching rows.
 *
 * Quals on filter columns that few of the index's rows pass (at most
 * hnsw.exact_filter_rows) are answered another way: the scan finds
 * the rows that pass them in the filter directory (directory.c) and ranks
 * them all exactly, which costs a read of the directory and one distance
 * per matching row, where a walk would pass through a thousand rows for
 * each one that matches.  The scan tells which case it is in by reading
 * the directory: it stops reading, and walks, as soon as too many pass.
 * A walk has a budget, though: when the rows that pass lie far from the
 * query (a category unlike the query), it wanders through the rows that
 * fail, and once it has passed through as many elements as rows are
 * projected to pass, it stops and ranks those rows instead.  So a filtered
 * scan costs at most about twice the cheaper way, unless far more rows
 * pass than projected: ranking them could then cost far more than the walk
 * so far, and the walk goes on without a limit.
 *
 * A scan without ORDER BY (the planner picks one only when nothing else
 * is allowed, as its cost is prohibitive) reads every element page in
 * order and hands out each live element that passes the quals.
 *
 * Iterative scans (hnsw.iterative_scan): when the executor wants more rows
 * than the search found (a WHERE clause rejected many, or the LIMIT is
 * above ef_search), the search of layer 0 goes on with twice the beam, from
 * where it stopped (the elements the narrower beam left out are taken
 * back, nothing is measured twice), and the elements not returned yet are
 * handed out, nearest first; and so on, until the graph has no more to give
 * or hnsw.max_scan_tuples rows have been returned.  With
 * strict_order a row farther than one already returned is never followed
 * by a nearer one (a nearer one found late is skipped); relaxed_order
 * returns it anyway.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/xlog.h"
#include "executor/instrument.h"
#include "lib/binaryheap.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/float.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

/*
 * A walk stopped by its budget (the rows projected to pass its quals)
 * ranks the rows that pass instead, unless more than this many times the
 * projection pass.
 */
#define HNSW_WALK_BUDGET_SLACK	4

/*
 * A lazy re-rank asks for the value pages of this many candidates ahead of
 * the one it reads
 */
#define HNSW_RERANK_PREFETCH	8

/* A candidate of a lazy re-rank (see rank_next) */
typedef struct HnswPendingCandidate
{
	HnswCandidate c;			/* distance: measured on its code, then exact */
	double		bound;			/* the exact distance is at least this */
	HnswExternalValue full;		/* where its value is */
	ItemPointerData heaptid;	/* its row */
} HnswPendingCandidate;

typedef struct HnswScanOpaqueData
{
	HnswDistance dist;
	bool		searched;		/* has the graph been searched? */
	Datum		query;			/* prepared query value; 0 = none */
	Datum		walk_query;		/* what the graph is walked with: the query,
								 * or a float8[] one narrowed (codes) */
	HnswFilter *filter;			/* the scan keys; NULL if none */
	HnswCandidate *results;		/* nearest first */
	int			nresults;
	int			nfound;			/* what the search found (re-ranking may keep
								 * fewer) */
	int			next;			/* next result to return */
	int			ef;				/* beam of the last search */
	bool		exact;			/* results are every matching element */
	double		walk_budget;	/* elements the walks may visit; 0: not set
								 * (no limit), -1: no limit */
	int64		walked;			/* elements the walks have visited */
	HnswSearch *layer0;			/* the walk on layer 0, to go on with */
	HTAB	   *returned;		/* ids handed out, once the scan iterates */
	int64		nreturned;
	double		last_distance;	/* of the last row handed out */
	MemoryContext scan_cxt;		/* reset at every rescan */

	/* scans without ORDER BY: where to go on reading */
	BlockNumber next_block;
	OffsetNumber next_offset;

	/* index-only scans */
	Buffer		pinned;			/* page of the last row handed out */
	bool		value_returned; /* can the first column be returned? */
	bool		note_rows;		/* note rows' distances (rowdistances.c) */
	TupleDesc	filter_desc;	/* of the columns after the first */
	MemoryContext row_cxt;		/* the row handed out; reset per row */

	HnswScanStats stats;		/* summed over rescans */
	int			storage;		/* HNSW_STORAGE_* of the index */
	bool		coded;			/* storage int8, half or bit: elements hold
								 * codes */

	/*
	 * An index with codes: the candidates of the last search not yet ranked
	 * by their exact distances, by the least those can be, and those ranked
	 * but not yet in results (indexes into pending), nearest first
	 */
	HnswPendingCandidate *pending;
	int			npending;
	int			next_pending;
	binaryheap *ranked;
	double		query_norm;		/* |query| (bounds of inner products) */
	double		query_error_l2; /* |query - walk_query| */
	double		query_error_l1; /* the same in L1 */
	uint32		dimensions;		/* of the index's values */
	Relation	heap;			/* whose rows' pages are asked for ahead; NULL
								 * in an index-only scan */

	/* hnsw.sample_recall: is this search sampled, and what it handed out */
	bool		sampled;
	int			sample_ef;		/* hnsw.ef_search when it began */
	HnswSampledRow *handed;		/* in scan_cxt */
	int			nhanded;
} HnswScanOpaqueData;

typedef HnswScanOpaqueData *HnswScanOpaque;

/*
 * Is the value an index stores, for distances of this kind, the column's
 * value as it was given?  It is, except for Jaccard distance on int4[],
 * whose sets are stored sorted and without repeats.
 */
static bool
hnsw_value_returnable(HnswDistance *dist)
{
	return dist->kernel != HNSW_KERNEL_INT4_JACCARD;
}

/*
 * amcanreturn: which columns an index-only scan can have.  The filter and
 * INCLUDE columns are stored as given; the first column as given for all
 * distances but one.  None during recovery: see the file header.
 */
bool
hnswcanreturn(Relation index, int attno)
{
	HnswDistance dist;

	if (RecoveryInProgress())
		return false;
	if (attno > 1)
		return true;
	/* an int8 or half index's elements hold codes, not the values */
	if (HnswReadMetaPage(index).storage != HNSW_STORAGE_FLOAT4)
		return false;
	HnswInitDistance(&dist, index);
	return hnsw_value_returnable(&dist);
}

/* Drop the pin an index-only scan kept on the last row's page */
static void
release_pinned(HnswScanOpaque so)
{
	if (BufferIsValid(so->pinned))
		ReleaseBuffer(so->pinned);
	so->pinned = InvalidBuffer;
}

IndexScanDesc
hnswbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	HnswScanOpaque so = palloc0(sizeof(HnswScanOpaqueData));

	HnswInitDistance(&so->dist, index);
	so->scan_cxt = AllocSetContextCreate(CurrentMemoryContext, "hnsw scan",
										 ALLOCSET_DEFAULT_SIZES);
	so->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "hnsw scan row",
										ALLOCSET_DEFAULT_SIZES);
	so->pinned = InvalidBuffer;
	so->storage = HnswReadMetaPage(index).storage;
	so->coded = so->storage != HNSW_STORAGE_FLOAT4;
	so->value_returned = hnsw_value_returnable(&so->dist) && !so->coded;
	so->filter_desc = HnswFilterDesc(index);
	so->stats.index = RelationGetRelid(index);
	/* the AM provides the arrays for the distances it returns */
	scan->xs_orderbyvals = palloc0(sizeof(Datum) * Max(norderbys, 1));
	scan->xs_orderbynulls = palloc0(sizeof(bool) * Max(norderbys, 1));
	scan->opaque = so;
	return scan;
}

/*
 * Measure the recall of the search just done, if it was sampled
 * (sample.c), before its results go.
 */
static void
finish_sample(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	if (so->sampled && so->nhanded > 0)
		HnswSampleRecall(scan, &so->dist, so->query, so->filter,
						 so->sample_ef, so->handed, so->nhanded);
	so->sampled = false;
	so->nhanded = 0;
}

void
hnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys,
		   int norderbys)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	release_pinned(so);
	finish_sample(scan);
	HnswForgetRowDistances(so);
	MemoryContextReset(so->scan_cxt);
	so->searched = false;
	so->query = (Datum) 0;
	so->walk_query = (Datum) 0;
	HnswSetWalkQuery(&so->dist, (Datum) 0);
	so->filter = NULL;
	so->results = NULL;
	so->nresults = 0;
	so->nfound = 0;
	so->next = 0;
	so->pending = NULL;
	so->npending = 0;
	so->next_pending = 0;
	so->ranked = NULL;
	so->heap = scan->xs_want_itup ? NULL : scan->heapRelation;
	so->ef = so->coded ? HnswRerankBeam(hnsw_ef_search, so->storage) : hnsw_ef_search;
	so->exact = false;
	so->walk_budget = 0;
	so->walked = 0;
	so->layer0 = NULL;
	so->returned = NULL;
	so->nreturned = 0;
	so->last_distance = -get_float8_infinity();
	so->next_block = HNSW_FIRST_DATA_BLKNO;
	so->next_offset = FirstOffsetNumber;

	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys,
				scan->numberOfOrderBys * sizeof(ScanKeyData));

	/*
	 * Note the distances of the rows handed out for the ORDER BY function to
	 * find (rowdistances.c) when that function is the index's distance
	 * itself: then the distances the scan hands out are its values
	 */
	so->note_rows = scan->numberOfOrderBys == 1 && scan->orderByData != NULL &&
		scan->orderByData[0].sk_func.fn_oid == so->dist.procinfo->fn_oid &&
		HnswScanCanNoteRows(scan);
	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
}

/*
 * Rank exactly the elements ids[] that the filter directory says match:
 * each is read on its own page and checked again (the directory may name
 * an element VACUUM has removed since), and the results are all of them,
 * nearest first.
 */
static void
rank_exactly(HnswScanOpaque so, HnswGraph *graph, HnswElemId *ids, int nids)
{
	/* how far ahead of the distance being computed to prefetch */
	const int	ahead = 4;

	/* as many rows as a walk would give at most */
	int			keep = Min(nids, hnsw_iterative_scan == HNSW_ITERATIVE_OFF ?
						   so->ef : hnsw_max_scan_tuples);
	int			capacity = Min(nids, 2 * keep);

	so->results = palloc(sizeof(HnswCandidate) * Max(capacity, 1));
	so->nresults = 0;
	for (int i = 0; i < Min(ahead, nids); i++)
		graph->prefetch(graph, ids[i], false);
	for (int i = 0; i < nids; i++)
	{
		HnswCandidate *c;

		if (so->nresults == capacity)
		{
			/* full: keep the nearest, so memory stays twice what is kept */
			qsort(so->results, so->nresults, sizeof(HnswCandidate),
				  HnswCandidateCompare);
			so->nresults = keep;
		}
		if (i + ahead < nids)
			graph->prefetch(graph, ids[i + ahead], false);
		if (i + 1 < nids)
			graph->prefetch(graph, ids[i + 1], true);
		c = &so->results[so->nresults];
		c->id = ids[i];
		if (graph->distance_to(graph, so->walk_query, ids[i], HNSW_DISTANCE_NO_LIMIT,
							   &c->distance, &c->deleted) &&
			!c->deleted)
			so->nresults++;
	}
	qsort(so->results, so->nresults, sizeof(HnswCandidate), HnswCandidateCompare);
	so->nresults = Min(so->nresults, keep);
	so->exact = true;
}

/*
 * Where the value of the candidate p (an element of an index with codes)
 * is: the HnswExternalValue in its code, into p->full, and the least its
 * exact distance can be into p->bound (see HnswCodeLeastDistance); false
 * if the element is gone or dead.
 */
static bool
full_value_place(HnswScanOpaque so, Relation index, HnswPendingCandidate *p)
{
	HnswElemId	id = p->c.id;
	Buffer		buf = HnswReadShare(index, HnswElemIdGetBlock(id));
	HnswElementTuple etup;
	bool		found = false;

	if (!BufferIsValid(buf))
		return false;
	etup = HnswGetElement(index, BufferGetPage(buf), HnswElemIdGetOffset(id));
	if (etup != NULL && !(etup->flags & HNSW_ELEMENT_DELETED))
	{
		struct varlena *code = HnswElementValue(index, etup, NULL);

		if (code != NULL && HnswIsCode(PointerGetDatum(code)))
		{
			HnswCheckStoredValue(index, &so->dist, PointerGetDatum(code),
								 so->dimensions, HnswElemIdGetBlock(id),
								 HnswElemIdGetOffset(id));
			p->full = ((HnswCodeData *) code)->full;
			p->heaptid = etup->heaptid;
			p->bound = HnswCodeLeastDistance(&so->dist, (HnswCodeData *) code,
											 p->c.distance, so->query_norm,
											 so->query_error_l2,
											 so->query_error_l1);
			found = true;
		}
	}
	UnlockReleaseBuffer(buf);
	return found;
}

/*
 * The value itself of element id, read from the chunks full leads to
 * (palloc'd); NULL if they are gone (VACUUM removed the element since).
 */
static struct varlena *
full_value(HnswScanOpaque so, Relation index, HnswElemId id, uint32 dimensions,
		   const HnswExternalValue *full)
{
	struct varlena *v = HnswReadExternal(index, full, NULL);

	if (v != NULL && (HnswIsCode(PointerGetDatum(v)) ||
					  !HnswValueIsWellFormed(&so->dist, PointerGetDatum(v), dimensions)))
		HnswReportCorruptedPage(index, HnswElemIdGetBlock(id),
								"the value a code leads to is malformed");
	return v;
}

/*
 * The beam of the first search of an index with codes for a given ef_search:
 * hnsw.rerank_depth if that is more; by default (0) a quarter more than
 * ef_search for int8 and half, four times ef_search for bit.  The walk
 * measures codes, whose distances are off: candidates a float4 beam of
 * ef_search would have kept can fall just outside a beam of codes of the
 * same width.  For int8 and half a quarter more took them back in tests;
 * the estimates from bit codes are far rougher (README "Storage").
 */
int
HnswRerankBeam(int ef_search, int storage)
{
	if (hnsw_rerank_depth > 0)
		return Max(ef_search, hnsw_rerank_depth);
	if (storage == HNSW_STORAGE_BIT)
		return Min(ef_search * 4, HNSW_MAX_EF_SEARCH * 4);
	return ef_search + (ef_search + 3) / 4;
}

/* The nearer of two ranked candidates (indexes into pending) is the greater */
static int
compare_ranked(Datum a, Datum b, void *arg)
{
	HnswScanOpaque so = (HnswScanOpaque) arg;

	return -HnswCandidateCompare(&so->pending[DatumGetInt32(a)].c,
								 &so->pending[DatumGetInt32(b)].c);
}

/* Order pending candidates by the least their exact distances can be */
static int
compare_bounds(const void *a, const void *b)
{
	const HnswPendingCandidate *x = a;
	const HnswPendingCandidate *y = b;

	if (x->bound != y->bound)
		return x->bound < y->bound ? -1 : 1;
	return HnswCandidateCompare(&x->c, &y->c);
}

/*
 * Ask for the page of the first chunk of pending candidate i, if any, and
 * for the page of its row: candidates are read in about the order their
 * rows are handed out, and the executor reads each row it is handed at
 * once, so in an index larger than memory that read, too, is already
 * under way (PostgreSQL's index scans ask for no heap page ahead).
 */
static void
prefetch_pending(HnswScanOpaque so, Relation index, int i)
{
	if (i >= so->npending)
		return;
	if (ItemPointerIsValid(&so->pending[i].full.first))
		HnswPrefetchIndexPage(index,
							  ItemPointerGetBlockNumberNoCheck(&so->pending[i].full.first));
	if (so->heap != NULL && ItemPointerIsValid(&so->pending[i].heaptid))
		HnswPrefetchTablePage(so->heap,
							  ItemPointerGetBlockNumberNoCheck(&so->pending[i].heaptid));
}

/*
 * Begin ranking the candidates of a search of an index with codes by the
 * exact distances to their values: the first depth of them (0: all), the
 * others dropped, as are those VACUUM has removed since.  The candidates
 * are read lazily, by rank_next, in the order of the least their exact
 * distances can be (the distance on the code less its error bound, and a
 * margin for rounding): a candidate is handed out once no
 * candidate not yet read can be nearer.  So a scan hands out exact
 * distances in exact order, the same rows an eager ranking of every
 * candidate would, while reading only the values of the candidates that
 * could still come first: about as many as rows are asked for where the
 * codes are close (int8, half), all where they give no bound (bit).  The
 * results array is filled again, nearest first, as rows are wanted.
 */
static void
rerank_start(HnswScanOpaque so, Relation index, int depth)
{
	int			n = depth > 0 ? Min(depth, so->nresults) : so->nresults;

	so->pending = palloc(sizeof(HnswPendingCandidate) * Max(n, 1));
	so->npending = 0;
	for (int i = 0; i < n; i++)
	{
		HnswPendingCandidate *p = &so->pending[so->npending];

		p->c = so->results[i];
		if (full_value_place(so, index, p))
			so->npending++;
	}
	qsort(so->pending, so->npending, sizeof(HnswPendingCandidate), compare_bounds);
	so->next_pending = 0;
	so->ranked = binaryheap_allocate(Max(so->npending, 1), compare_ranked, so);
	so->nresults = 0;
	for (int i = 0; i < HNSW_RERANK_PREFETCH; i++)
		prefetch_pending(so, index, i);
}

/*
 * The next candidate in exact order, appended to results: false when none
 * is left (or the search found no codes to rank).  Reads values until the
 * nearest ranked candidate is no farther than the least any unread one can
 * be.
 */
static bool
rank_next(HnswScanOpaque so, Relation index)
{
	MemoryContext old_cxt;
	int			nearest;

	if (so->ranked == NULL)
		return false;
	old_cxt = MemoryContextSwitchTo(so->scan_cxt);
	while (so->next_pending < so->npending)
	{
		HnswPendingCandidate *p = &so->pending[so->next_pending];
		struct varlena *v;

		if (!binaryheap_empty(so->ranked) &&
			p->bound >= so->pending[DatumGetInt32(binaryheap_first(so->ranked))].c.distance)
			break;
		prefetch_pending(so, index, so->next_pending + HNSW_RERANK_PREFETCH);
		v = full_value(so, index, p->c.id, so->dimensions, &p->full);
		if (v != NULL)
		{
			p->c.distance = HnswComputeDistance(&so->dist, so->query, PointerGetDatum(v));
			pfree(v);
			so->stats.reranked++;
			binaryheap_add(so->ranked, Int32GetDatum(so->next_pending));
		}
		so->next_pending++;
	}
	MemoryContextSwitchTo(old_cxt);
	if (binaryheap_empty(so->ranked))
		return false;
	nearest = DatumGetInt32(binaryheap_remove_first(so->ranked));
	so->results[so->nresults++] = so->pending[nearest].c;
	return true;
}

/*
 * Walk the graph (greedy descent through the upper layers, then a beam of
 * so->ef on layer 0) into so->results, and count the elements it visited
 * in so->walked.
 */
static void
walk(HnswScanOpaque so, Relation index, HnswGraph *graph,
	 HnswMetaPageData *meta)
{
	HnswCandidate entry;

	graph->visits = 0;
	so->results = NULL;
	so->nresults = 0;

	/* a wider beam goes on where the last walk stopped */
	if (so->layer0)
	{
		so->nresults = HnswSearchRun(graph, so->layer0, so->ef, &so->results);
		so->walked += graph->visits;
		return;
	}

	for (int attempt = 0; attempt < 3 && meta->entry_level >= 0; attempt++)
	{
		HnswCandidate *entries = &entry;
		int			nentries = 1;

		entry.id = HnswElemIdFromTid(&meta->entry);
		if (!graph->distance_to(graph, so->walk_query, entry.id,
								HNSW_DISTANCE_NO_LIMIT, &entry.distance,
								&entry.deleted))
		{
			/* a VACUUM moved the entry point since we read it: read again */
			*meta = HnswReadMetaPage(index);
			continue;
		}
		for (int layer = meta->entry_level; layer > 0; layer--)
		{
			HnswCandidate *found;

			if (HnswSearchLayer(graph, so->walk_query, entries, nentries, 1, layer,
								false, &found) > 0)
			{
				entries = found;
				nentries = 1;
			}
		}
		/* kept (in scan_cxt) for an iterative scan's wider beams */
		so->layer0 = HnswSearchBegin(graph, so->walk_query, entries, nentries,
									 so->ef, 0, true,
									 hnsw_iterative_scan != HNSW_ITERATIVE_OFF);
		so->nresults = HnswSearchRun(graph, so->layer0, so->ef, &so->results);
		break;
	}
	so->walked += graph->visits;
}

/*
 * Search the graph for the hnsw.ef_search elements nearest to the query.
 * A NULL query (or one with no distance to anything) finds nothing.
 */
static void
search(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	MemoryContext old_cxt = MemoryContextSwitchTo(so->scan_cxt);
	ScanKey		key = &scan->orderByData[0];
	HnswMetaPageData meta;
	HnswGraph  *graph = NULL;
	HnswElemId *ids;
	int			nids;
	bool		skip;
	uint32		dims;

	so->searched = true;
	HnswCountSearch(scan);
	so->stats.searches++;
	if (key->sk_flags & SK_ISNULL)
		goto done;
	if (so->filter == NULL && scan->numberOfKeys > 0)
		so->filter = HnswPrepareFilter(index, scan->keyData,
									   scan->numberOfKeys);
	if (so->filter && so->filter->empty)
		goto done;
	so->query = HnswPrepareValue(&so->dist, key->sk_argument, &skip);
	if (skip)
		goto done;

	/*
	 * inner product: the negated product, so |query| is its root negated (a
	 * float8[] query's comes with its narrowed copy, below)
	 */
	so->query_norm = 0;
	if (so->coded && so->dist.kernel == HNSW_KERNEL_NEG_IP && !so->dist.float8_values)
		so->query_norm = sqrt(Max(0.0, -HnswComputeDistance(&so->dist, so->query,
															so->query)));

	meta = HnswReadMetaPage(index);
	dims = HnswValueDimensions(&so->dist, so->query);
	so->walk_query = so->query;
	so->query_error_l2 = so->query_error_l1 = 0;
	if (so->dist.fixed_dimensions && meta.dimensions != 0 &&
		dims != meta.dimensions)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %u dimensions, not %u", meta.dimensions, dims),
				 errdetail("Index \"%s\" holds vectors of %u dimensions.",
						   RelationGetRelationName(index), meta.dimensions)));
	/* float8[] and codes: walk with the query narrowed, rank with itself */
	if (so->dist.float8_values && HnswMetaHasCodes(&meta))
		so->walk_query = HnswNarrowValue(HnswGetQuantizer(&so->dist), so->query, &so->query_error_l2,
										 &so->query_error_l1, &so->query_norm);
	HnswSetWalkQuery(&so->dist, so->walk_query);
	HnswInitDiskGraph(&graph, index, &so->dist, &meta);
	graph->filter = so->filter;
	if (so->stats.ef_search == 0)
		so->stats.ef_search = so->ef;
	so->stats.ef_widest = Max(so->stats.ef_widest, so->ef);
	if (so->filter && meta.value_links > 0)
	{
		AttrNumber	attno;
		int			j = HnswFilterLinkColumn(so->filter, meta.linked_columns,
											 &attno);

		if (j >= 0)
		{
			elog(DEBUG1, "index \"%s\" follows the value links of column \"%s\"",
				 RelationGetRelationName(index),
				 NameStr(TupleDescAttr(RelationGetDescr(index), attno - 1)->attname));
			HnswFollowValueLinks(graph, j);
			so->stats.value_links++;
		}
	}

	/*
	 * Quals that few rows pass: rank those rows, found in the directory. When
	 * more pass, walk, but no farther than through as many elements as are
	 * projected to pass: a walk that goes farther is lost among rows the
	 * quals reject (they are mostly far from the query), and ranking the rows
	 * that pass is then the cheaper way.
	 */
	if (so->filter && (meta.flags & HNSW_META_DIRECTORY) &&
		hnsw_exact_filter_rows > 0 && so->walk_budget == 0 &&
		HnswFilterHasColumnKeys(so->filter))
	{
		if (HnswDirectoryMatches(index, meta.directory_head, so->filter,
								 hnsw_exact_filter_rows,
								 index->rd_rel->reltuples, &ids, &nids,
								 &so->walk_budget))
		{
			elog(DEBUG1, "index \"%s\" ranks the %d rows its filter directory finds",
				 RelationGetRelationName(index), nids);
			rank_exactly(so, graph, ids, nids);
			so->stats.directory++;
			pfree(ids);
			goto ranked;
		}
		so->walk_budget = Max(so->walk_budget, hnsw_exact_filter_rows);
		elog(DEBUG1, "index \"%s\" walks its graph: more than %d rows pass the quals",
			 RelationGetRelationName(index), hnsw_exact_filter_rows);
	}

	if (so->walk_budget > 0)
		graph->max_visits = (int64) Max(so->walk_budget - so->walked, 1);
	walk(so, index, graph, &meta);
	if (graph->exhausted)
	{
		/*
		 * Rank the rows that pass instead, unless far more pass than were
		 * projected (the projection came from too few rows, or from
		 * statistics that lag behind the table): then ranking them could cost
		 * many times what the walk has cost so far, and the walk goes on,
		 * with no limit.
		 */
		if (HnswDirectoryMatches(index, meta.directory_head, so->filter,
								 (int) Min(HNSW_WALK_BUDGET_SLACK * so->walk_budget, INT_MAX),
								 0, &ids, &nids, NULL))
		{
			ereport(DEBUG1,
					(errmsg("index \"%s\" stops walking its graph and ranks the rows its filter directory finds",
							RelationGetRelationName(index)),
					 errdetail("The walk passed through %lld elements, about as many as pass the quals.",
							   (long long) so->walked)));
			rank_exactly(so, graph, ids, nids);
			so->stats.directory++;
			pfree(ids);
		}
		else
		{
			ereport(DEBUG1,
					(errmsg("index \"%s\" walks on: far more rows pass the quals than projected",
							RelationGetRelationName(index)),
					 errdetail("More than %.0f rows pass; about %.0f were projected.",
							   Min(HNSW_WALK_BUDGET_SLACK * so->walk_budget, INT_MAX),
							   so->walk_budget)));
			so->walk_budget = -1;
			graph->max_visits = 0;
			graph->exhausted = false;
			so->layer0 = NULL;	/* stopped mid-hop: start afresh */
			walk(so, index, graph, &meta);
		}
	}
ranked:
	so->nfound = so->nresults;
	/* int8, half and bit storage: the candidates by their exact distances */
	if (HnswMetaHasCodes(&meta) && so->nresults > 0)
	{
		so->dimensions = meta.dimensions;
		rerank_start(so, index, so->stats.searches == 1 ? hnsw_rerank_depth : 0);
	}
done:
	if (graph)
	{
		so->stats.expansions += graph->expansions;
		so->stats.distances += graph->distances;
		so->stats.rejected += graph->rejected;
	}
	MemoryContextSwitchTo(old_cxt);
}

/*
 * The whole index row of element etup, whose page is locked, as a heap
 * tuple in scan->xs_hitup (in so->row_cxt); false if the value's chunks
 * are gone (VACUUM removed the element).  A column the scan cannot return
 * (see hnswcanreturn) is NULL: the planner has not asked for it.
 */
static bool
form_index_row(IndexScanDesc scan, HnswElementTuple etup)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	TupleDesc	desc = RelationGetDescr(index);
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	MemoryContext old_cxt;
	bool		ok = true;

	MemoryContextReset(so->row_cxt);
	old_cxt = MemoryContextSwitchTo(so->row_cxt);
	for (int i = 0; i < desc->natts; i++)
		isnull[i] = true;
	if (so->value_returned)
	{
		struct varlena *v = HnswElementValue(index, etup, NULL);

		if (v == NULL)
			ok = false;
		values[0] = PointerGetDatum(v);
		isnull[0] = false;
	}
	if (so->filter_desc && (etup->flags & HNSW_ELEMENT_FILTER))
		index_deform_tuple(HnswElementTupleGetFilter(etup), so->filter_desc,
						   values + 1, isnull + 1);
	/* heap_form_tuple copies what points into the page */
	if (ok)
	{
		scan->xs_hitup = heap_form_tuple(desc, values, isnull);
		scan->xs_hitupdesc = desc;
	}
	MemoryContextSwitchTo(old_cxt);
	return ok;
}

/*
 * Hand out element etup, on the share-locked page of buf, if it is alive:
 * its heap TID into scan->xs_heaptid, and for an index-only scan the index
 * row too.  Unlocks buf; an index-only scan that hands out the element
 * keeps it pinned (see the file header), otherwise it is released.
 */
static bool
hand_out(IndexScanDesc scan, Buffer buf, HnswElementTuple etup)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	bool		found = false;

	if (etup != NULL && !(etup->flags & HNSW_ELEMENT_DELETED))
	{
		scan->xs_heaptid = etup->heaptid;
		found = !scan->xs_want_itup || form_index_row(scan, etup);
	}
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (found && scan->xs_want_itup)
		so->pinned = buf;
	else
		ReleaseBuffer(buf);
	return found;
}

/*
 * Read element id again to hand it out (see hand_out).  False if the
 * element was removed or belongs to a dead row since the search saw it.
 */
static bool
read_row(IndexScanDesc scan, HnswElemId id)
{
	Relation	index = scan->indexRelation;
	Buffer		buf;

	/* share: we only copy out of the element */
	buf = HnswReadShare(index, HnswElemIdGetBlock(id));
	if (!BufferIsValid(buf))
		return false;
	return hand_out(scan, buf,
					HnswGetElement(index, BufferGetPage(buf),
								   HnswElemIdGetOffset(id)));
}

/*
 * The next live element that passes the quals, in page order, for a scan
 * without ORDER BY.  Each call reads its pages afresh, so no lock is held
 * between calls; elements added behind the scan may be missed and ones
 * added ahead of it seen, as in any index scan.
 */
static bool
next_in_page_order(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	BlockNumber nblocks;

	if (so->filter == NULL && scan->numberOfKeys > 0)
	{
		MemoryContext old_cxt = MemoryContextSwitchTo(so->scan_cxt);

		so->filter = HnswPrepareFilter(index, scan->keyData,
									   scan->numberOfKeys);
		MemoryContextSwitchTo(old_cxt);
	}
	if (so->filter && so->filter->empty)
		return false;

	nblocks = RelationGetNumberOfBlocks(index);
	for (; so->next_block < nblocks; so->next_block++, so->next_offset = FirstOffsetNumber)
	{
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBuffer(index, so->next_block);
		/* share: we only copy out of the elements */
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		HnswCheckPage(index, page, so->next_block);
		while (!PageIsNew(page) && HnswPageIsElements(page) &&
			   so->next_offset <= PageGetMaxOffsetNumber(page))
		{
			HnswElementTuple etup = HnswGetElement(index, page,
												   so->next_offset++);
			struct varlena *v;

			if (etup == NULL || (etup->flags & HNSW_ELEMENT_DELETED))
				continue;
			if (so->filter)
			{
				MemoryContext old_cxt;
				bool		matches;

				MemoryContextReset(so->row_cxt);
				old_cxt = MemoryContextSwitchTo(so->row_cxt);
				v = HnswElementValue(index, etup, NULL);
				matches = v != NULL &&
					HnswFilterMatches(so->filter, PointerGetDatum(v), etup);
				MemoryContextSwitchTo(old_cxt);
				if (!matches)
					continue;
			}
			if (hand_out(scan, buf, etup))
				return true;
			/* its value's chunks are gone, and the page let go: take it again */
			buf = ReadBuffer(index, so->next_block);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
		}
		UnlockReleaseBuffer(buf);
	}
	return false;
}

/*
 * Go on searching with twice the beam, for an iterative scan (walk() goes
 * on with the layer-0 search where it stopped).  Returns false when that
 * can give nothing new: the last search found fewer elements
 * than its beam (it saw every element it could reach), or the scan has
 * returned hnsw.max_scan_tuples rows.
 */
static bool
search_wider(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	MemoryContext old_cxt;

	if (hnsw_iterative_scan == HNSW_ITERATIVE_OFF || so->query == (Datum) 0 ||
		so->exact ||
		so->nfound < so->ef || so->nreturned >= hnsw_max_scan_tuples)
		return false;

	old_cxt = MemoryContextSwitchTo(so->scan_cxt);
	if (so->returned == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(HnswElemId);
		ctl.entrysize = sizeof(HnswElemId);
		ctl.hcxt = so->scan_cxt;
		so->returned = hash_create("hnsw returned elements", 1024, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		/* what the first search handed out */
		for (int i = 0; i < so->next; i++)
			hash_search(so->returned, &so->results[i].id, HASH_ENTER, NULL);
	}
	if (so->results)
		pfree(so->results);
	so->results = NULL;
	so->nresults = 0;
	so->next = 0;
	if (so->pending)
	{
		pfree(so->pending);
		binaryheap_free(so->ranked);
	}
	so->pending = NULL;
	so->npending = 0;
	so->next_pending = 0;
	so->ranked = NULL;
	MemoryContextSwitchTo(old_cxt);

	so->ef = (int) Min((int64) so->ef * 2, (int64) INT_MAX / 4);
	search(scan);
	return true;
}

/* amgettuple, without the statistics (hnswgettuple) */
static bool
next_row(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	/* the executor is done with the row handed out last */
	release_pinned(so);
	scan->xs_recheck = false;
	if (scan->numberOfOrderBys == 0 || scan->orderByData == NULL)
	{
		if (!so->searched)
		{
			so->searched = true;
			HnswCountSearch(scan);
			so->stats.searches++;
		}
		return next_in_page_order(scan);
	}
	if (!so->searched)
	{
		search(scan);
		HnswPausePoint("scan_after_search");
		if (so->query != (Datum) 0 && HnswSampleThisScan())
		{
			so->sampled = true;
			so->sample_ef = hnsw_ef_search;
			so->handed = MemoryContextAlloc(so->scan_cxt,
											sizeof(HnswSampledRow) * HNSW_SAMPLE_MAX_K);
		}
	}

	for (;;)
	{
		while (so->next < so->nresults || rank_next(so, scan->indexRelation))
		{
			HnswCandidate *c = &so->results[so->next++];
			bool		found;

			if (so->returned)
			{
				/* handed out by an earlier search, or late for strict order */
				hash_search(so->returned, &c->id, HASH_FIND, &found);
				if (found ||
					(hnsw_iterative_scan == HNSW_ITERATIVE_STRICT &&
					 c->distance < so->last_distance))
					continue;
			}
			if (!read_row(scan, c->id))
				continue;
			if (so->returned)
				hash_search(so->returned, &c->id, HASH_ENTER, NULL);
			so->nreturned++;
			so->last_distance = Max(so->last_distance, c->distance);
			scan->xs_recheck = false;
			scan->xs_recheckorderby = false;
			scan->xs_orderbyvals[0] = Float8GetDatum(c->distance);
			scan->xs_orderbynulls[0] = false;
			if (so->sampled && so->nhanded < HNSW_SAMPLE_MAX_K)
			{
				so->handed[so->nhanded].heaptid = scan->xs_heaptid;
				so->handed[so->nhanded++].distance = c->distance;
			}
			return true;
		}
		if (!search_wider(scan))
			return false;
	}
}

/*
 * amgettuple: the next row, nearest first.  The shared buffers the scan
 * finds and reads are counted here, around all its work: the executor
 * reads the table between calls.  The row's table page, read for its note
 * (rowdistances.c), is the executor's next read and stays out too.
 */
bool
hnswgettuple(IndexScanDesc scan, ScanDirection dir)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;
	int64		hit = pgBufferUsage.shared_blks_hit;
	int64		read = pgBufferUsage.shared_blks_read;
	bool		found = next_row(scan);

	so->stats.pages_hit += pgBufferUsage.shared_blks_hit - hit;
	so->stats.pages_read += pgBufferUsage.shared_blks_read - read;
	so->stats.rows += found;
	/* after the counting: this reads the row's table page */
	if (found && so->note_rows)
		HnswNoteRowDistance(scan, so, so->query,
							DatumGetFloat8(scan->xs_orderbyvals[0]));
	return found;
}

/* The statistics of a scan that has not ended (explain.c) */
HnswScanStats *
HnswScanGetStats(IndexScanDesc scan)
{
	return &((HnswScanOpaque) scan->opaque)->stats;
}

void
hnswendscan(IndexScanDesc scan)
{
	HnswScanOpaque so = (HnswScanOpaque) scan->opaque;

	release_pinned(so);
	finish_sample(scan);
	HnswForgetRowDistances(so);
	HnswRememberScan(&so->stats);
	MemoryContextDelete(so->scan_cxt);
	MemoryContextDelete(so->row_cxt);
	pfree(so);
	scan->opaque = NULL;
}
