/*-------------------------------------------------------------------------
 *
 * rowdistances.c
 *	  The distances of the rows a scan handed out, for the executor's own
 *	  computation of them.
 *
 * In SELECT id FROM t ORDER BY v <-> $1 LIMIT k, the ORDER BY expression is
 * a column of the index scan's target list, so PostgreSQL computes v <-> $1
 * again from the table's row of every row the scan returns.  A vector kept
 * out of line (TOAST: a real[] of more than about 500 dimensions is, unless
 * it compresses) then costs a lookup in the TOAST index and reads of its
 * chunks, per returned row, for a distance the scan has just computed: when
 * the index is in memory and the table is not, most of what such a query
 * reads.
 *
 * So a scan notes, for each row it hands out, the TOAST pointer of the
 * row's vector and its distance; and the distance functions of real[] and
 * float8[] answer a call whose arguments are that pointer and the scan's
 * query with the noted distance, without reading the vector.  It is the
 * same answer: a TOAST pointer names one value, which does not change
 * while the row is visible to anyone; the function is the scan's ORDER BY
 * function (the same OID), and a scan notes rows only when that is the
 * index's own distance function, whose values its exact distances are
 * (computed by the same kernels, or by calling it); the query is compared
 * byte for byte; and each of these distances treats its two arrays alike
 * in either order.
 *
 * The row's pointer is read from the table's page when the scan hands the
 * row out (the executor reads that page next, so it costs a buffer hit); of
 * a HOT chain, from its first tuple: an indexed column is unchanged along a
 * chain, to the very bytes of its TOAST pointer (else the update would not
 * have been HOT).  Only a heap table and an index on a plain column take
 * part, and only plain index scans (an index-only scan reads no rows).
 *
 * The notes are the last HNSW_ROW_NOTES rows handed out, each with its scan;
 * a scan's notes go when it is rescanned or ends, and all of them at the
 * end of every transaction and subtransaction (a scan that failed never
 * ends), so a note never outlives the query it belongs to.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "hnsw.h"

#define HNSW_ROW_NOTES	16

typedef struct RowNote
{
	const void *owner;			/* the scan that noted it; NULL: unused */
	Oid			fn_oid;			/* its ORDER BY function */
	const struct varlena *query;	/* its query, in the scan's memory */
	struct varatt_external pointer; /* the row's vector, out of line */
	double		distance;
} RowNote;

static RowNote notes[HNSW_ROW_NOTES];
static int	nnotes;				/* notes in use */
static int	next_note;			/* the slot the next note takes */
static bool callbacks_registered;

static void
forget_all(void)
{
	memset(notes, 0, sizeof(notes));
	nnotes = 0;
	next_note = 0;
}

static void
xact_callback(XactEvent event, void *arg)
{
	forget_all();
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB || event == SUBXACT_EVENT_COMMIT_SUB)
		forget_all();
}

/*
 * The TOAST pointer of the value of column attno in the heap row at tid (the
 * first tuple of its HOT chain); false if it has none: a value in line, a
 * NULL, or no tuple there any more.
 */
static bool
row_pointer(Relation heap, ItemPointer tid, AttrNumber attno,
			struct varatt_external *pointer)
{
	Buffer		buf;
	Page		page;
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	ItemId		lp;
	bool		found = false;

	buf = ReadBuffer(heap, ItemPointerGetBlockNumber(tid));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page))
	{
		lp = PageGetItemId(page, off);
		if (ItemIdIsRedirected(lp))
		{
			off = ItemIdGetRedirect(lp);
			lp = PageGetItemId(page, off);
		}
		if (ItemIdIsNormal(lp))
		{
			HeapTupleData tuple;
			Datum		value;
			bool		isnull;

			tuple.t_data = (HeapTupleHeader) PageGetItem(page, lp);
			tuple.t_len = ItemIdGetLength(lp);
			tuple.t_tableOid = RelationGetRelid(heap);
			ItemPointerSet(&tuple.t_self, ItemPointerGetBlockNumber(tid), off);
			value = heap_getattr(&tuple, attno, RelationGetDescr(heap), &isnull);
			if (!isnull && VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(value)))
			{
				VARATT_EXTERNAL_GET_POINTER(*pointer, DatumGetPointer(value));
				found = true;
			}
		}
	}
	UnlockReleaseBuffer(buf);
	return found;
}

/*
 * Can the rows scan hands out be noted: a plain index scan of a heap
 * table, on a column that may be kept out of line?  The same for every
 * row of a scan, so asked once, at its rescan.
 */
bool
HnswScanCanNoteRows(IndexScanDesc scan)
{
	Relation	heap = scan->heapRelation;
	AttrNumber	attno = scan->indexRelation->rd_index->indkey.values[0];

	return heap != NULL && !scan->xs_want_itup &&
		scan->numberOfOrderBys == 1 &&
		heap->rd_tableam == GetHeapamTableAmRoutine() &&
		OidIsValid(heap->rd_rel->reltoastrelid) && attno > 0 &&
		TupleDescAttr(RelationGetDescr(heap), attno - 1)->attstorage != TYPSTORAGE_PLAIN;
}

/*
 * Note the distance of the row the scan is handing out (scan->xs_heaptid)
 * from its query, if the row's vector is out of line.  owner names the scan
 * for HnswForgetRowDistances.  The caller has checked HnswScanCanNoteRows
 * and that the scan's distances are those of its ORDER BY function.
 */
void
HnswNoteRowDistance(IndexScanDesc scan, const void *owner, Datum query,
					double distance)
{
	RowNote    *note = &notes[next_note];

	if (!row_pointer(scan->heapRelation, &scan->xs_heaptid,
					 scan->indexRelation->rd_index->indkey.values[0],
					 &note->pointer))
		return;
	if (!callbacks_registered)
	{
		RegisterXactCallback(xact_callback, NULL);
		RegisterSubXactCallback(subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (note->owner == NULL)
		nnotes++;
	note->owner = owner;
	note->fn_oid = scan->orderByData[0].sk_func.fn_oid;
	note->query = (const struct varlena *) DatumGetPointer(query);
	note->distance = distance;
	next_note = (next_note + 1) % HNSW_ROW_NOTES;
}

/* Forget the notes of one scan (it is rescanned, or ends) */
void
HnswForgetRowDistances(const void *owner)
{
	for (int i = 0; i < HNSW_ROW_NOTES && nnotes > 0; i++)
		if (notes[i].owner == owner)
		{
			notes[i].owner = NULL;
			nnotes--;
		}
}

/*
 * For a distance function: the noted distance of its two arguments, if one
 * is the out-of-line vector of a row a scan with this function and the
 * other as its query just handed out.  Costs one test when no scan has
 * noted anything.
 */
bool
HnswNotedRowDistance(FunctionCallInfo fcinfo, double *distance)
{
	if (likely(nnotes == 0) || fcinfo->flinfo == NULL)
		return false;
	for (int row = 0; row < 2; row++)
	{
		struct varlena *v = (struct varlena *) PG_GETARG_POINTER(row);
		struct varatt_external pointer;
		struct varlena *query = NULL;

		if (!VARATT_IS_EXTERNAL_ONDISK(v))
			continue;
		VARATT_EXTERNAL_GET_POINTER(pointer, v);
		for (int i = 0; i < HNSW_ROW_NOTES; i++)
		{
			RowNote    *note = &notes[i];

			if (note->owner == NULL || note->fn_oid != fcinfo->flinfo->fn_oid ||
				memcmp(&note->pointer, &pointer, sizeof(pointer)) != 0)
				continue;
			if (query == NULL)
				query = (struct varlena *) HnswDetoastArg(fcinfo, 1 - row);
			if (VARSIZE_ANY(query) == VARSIZE_ANY(note->query) &&
				memcmp(query, note->query, VARSIZE_ANY(query)) == 0)
			{
				*distance = note->distance;
				return true;
			}
		}
	}
	return false;
}
