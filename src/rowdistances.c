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
 * reads.  A vector compressed in the row costs its decompression, several
 * times the distance itself.
 *
 * So a scan notes, for each row it hands out, the TOAST pointer of the
 * row's vector, or a copy of its compressed bytes, and its distance; and
 * the distance functions of real[] and float8[] answer a call whose
 * arguments are that vector and the scan's query with the noted distance,
 * without reading or decompressing the vector.  It is the same answer: a
 * TOAST pointer names one value, which does not change while the row is
 * visible to anyone, and equal compressed bytes are one value; the
 * function is the scan's ORDER BY function (the same OID), and a scan
 * notes rows only when that is the index's own distance function, whose
 * values its exact distances are (computed by the same kernels, or by
 * calling it); the query is compared byte for byte; and each of these
 * distances treats its two arrays alike in either order.
 *
 * The row's vector is read from the table's page when the scan hands the
 * row out (the executor reads that page next, so it costs a buffer hit); of
 * a HOT chain, from its first tuple: an indexed column is unchanged along a
 * chain, to its very bytes (else the update would not have been HOT).
 * Only a heap table and an index on a plain column take part, and only
 * plain index scans (an index-only scan reads no rows).
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
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

#define HNSW_ROW_NOTES	16

typedef struct RowNote
{
	const void *owner;			/* the scan that noted it; NULL: unused */
	Oid			fn_oid;			/* its ORDER BY function */
	const struct varlena *query;	/* its query, in the scan's memory */
	bool		in_line;		/* the vector is compressed in the row */
	struct varatt_external pointer; /* else the row's vector, out of line */
	char	   *bytes;			/* in_line: a copy of the compressed datum */
	Size		nbytes;
	Size		bytes_allocated;	/* in TopMemoryContext, kept for reuse */
	double		distance;
} RowNote;

static RowNote notes[HNSW_ROW_NOTES];
static int	nnotes;				/* notes in use */
static int	next_note;			/* the slot the next note takes */
static bool callbacks_registered;

static void
forget_all(void)
{
	/* the slots keep their copies' memory for the next notes */
	for (int i = 0; i < HNSW_ROW_NOTES; i++)
		notes[i].owner = NULL;
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
 * Note in note how the value of column attno in the heap row at tid (the
 * first tuple of its HOT chain) will come to a distance function: its TOAST
 * pointer, or a copy of its bytes if it is compressed in line.  False if it
 * is neither (a value in line and not compressed is read as cheaply as it
 * could be compared), a NULL, or no tuple is there any more.
 */
static bool
note_row_vector(Relation heap, ItemPointer tid, AttrNumber attno,
				RowNote *note)
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
			struct varlena *v;

			tuple.t_data = (HeapTupleHeader) PageGetItem(page, lp);
			tuple.t_len = ItemIdGetLength(lp);
			tuple.t_tableOid = RelationGetRelid(heap);
			ItemPointerSet(&tuple.t_self, ItemPointerGetBlockNumber(tid), off);
			value = heap_getattr(&tuple, attno, RelationGetDescr(heap), &isnull);
			v = (struct varlena *) DatumGetPointer(value);
			if (isnull)
				;
			else if (VARATT_IS_EXTERNAL_ONDISK(v))
			{
				VARATT_EXTERNAL_GET_POINTER(note->pointer, v);
				note->in_line = false;
				found = true;
			}
			else if (VARATT_IS_COMPRESSED(v))
			{
				if (note->bytes_allocated < VARSIZE(v))
				{
					if (note->bytes)
						pfree(note->bytes);
					note->bytes = MemoryContextAlloc(TopMemoryContext, VARSIZE(v));
					note->bytes_allocated = VARSIZE(v);
				}
				memcpy(note->bytes, v, VARSIZE(v));
				note->nbytes = VARSIZE(v);
				note->in_line = true;
				found = true;
			}
		}
	}
	UnlockReleaseBuffer(buf);
	return found;
}

/*
 * Is v, an argument of a distance function, the vector that note was
 * taken of?
 */
static inline bool
is_noted_vector(const RowNote *note, const struct varlena *v)
{
	if (note->in_line)
		return VARATT_IS_COMPRESSED(v) && VARSIZE(v) == note->nbytes &&
			memcmp(v, note->bytes, note->nbytes) == 0;
	if (VARATT_IS_EXTERNAL_ONDISK(v))
	{
		struct varatt_external pointer;

		VARATT_EXTERNAL_GET_POINTER(pointer, v);
		return memcmp(&note->pointer, &pointer, sizeof(pointer)) == 0;
	}
	return false;
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
		heap->rd_tableam == GetHeapamTableAmRoutine() && attno > 0 &&
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

	/* a slot is taken only by a note, so a failed one leaves it unused */
	if (note->owner != NULL)
	{
		note->owner = NULL;
		nnotes--;
	}
	if (!note_row_vector(scan->heapRelation, &scan->xs_heaptid,
						 scan->indexRelation->rd_index->indkey.values[0],
						 note))
		return;
	if (!callbacks_registered)
	{
		RegisterXactCallback(xact_callback, NULL);
		RegisterSubXactCallback(subxact_callback, NULL);
		callbacks_registered = true;
	}
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
		struct varlena *query = NULL;

		if (!VARATT_IS_EXTERNAL_ONDISK(v) && !VARATT_IS_COMPRESSED(v))
			continue;
		for (int i = 0; i < HNSW_ROW_NOTES; i++)
		{
			RowNote    *note = &notes[i];

			if (note->owner == NULL || note->fn_oid != fcinfo->flinfo->fn_oid ||
				!is_noted_vector(note, v))
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
