/*-------------------------------------------------------------------------
 *
 * filter.c
 *	  Filter columns: the columns of an hnsw index after the first, and the
 *	  quals a scan checks on them while it walks the graph.
 *
 * CREATE INDEX ... USING hnsw (v float4_l2_ops, tenant, category) stores
 * tenant and category in every element, as an IndexTuple of those columns
 * after the value (see HnswElementTupleData).  Their operator classes have
 * search operators (=, <, <=, >, >=, and &&, @>, <@ for arrays), so the
 * planner hands quals such as "tenant = $2", "price < 100" or "tags && $3"
 * to the index as scan keys.  The scan checks them on every
 * element it reaches (HnswFilterMatches, called from the graph's
 * distance_to): an element that fails them is still routed through, so the
 * walk goes on through the whole neighbourhood and reaches the matching
 * elements behind it, but it is never a result.  Rows that fail the quals
 * never reach the executor.
 *
 * Keys on the first column (a text index's = or < next to its Levenshtein
 * distance) are checked on the value itself.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/skey.h"
#include "catalog/pg_type_d.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "hnsw.h"

/*
 * The tuple descriptor of index's filter columns (all but the first), or
 * NULL if it has none.
 */
TupleDesc
HnswFilterDesc(Relation index)
{
	TupleDesc	idesc = RelationGetDescr(index);
	TupleDesc	desc;

	if (idesc->natts < 2)
		return NULL;
	desc = CreateTemplateTupleDesc(idesc->natts - 1);
	for (int i = 1; i < idesc->natts; i++)
		TupleDescCopyEntry(desc, i, idesc, i + 1);
	return desc;
}

/*
 * The filter columns of one row, as stored in its element; NULL for an
 * index without filter columns.  values and isnull are those of all the
 * index's columns.
 */
IndexTuple
HnswFormFilter(Relation index, TupleDesc desc, Datum *values, bool *isnull)
{
	IndexTuple	itup;

	if (desc == NULL)
		return NULL;
	itup = index_form_tuple(desc, values + 1, isnull + 1);
	if (IndexTupleSize(itup) > HNSW_MAX_FILTER_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("filter and INCLUDE columns of index row take %zu bytes, more than the hnsw maximum %d for index \"%s\"",
						IndexTupleSize(itup), HNSW_MAX_FILTER_SIZE,
						RelationGetRelationName(index)),
				 errhint("Columns after the first one of an hnsw index are read at every step of a search; index short values there.")));
	return itup;
}

/*
 * The comparisons of integer filter columns (int2, int4, int8, against an
 * argument of any of them) that column_matches does inline: a directory
 * read checks one for every row of the index, and calling the operator's
 * function through fmgr cost more than the comparison.
 */
enum
{
	INT_FILTER_LT = 1,
	INT_FILTER_LE,
	INT_FILTER_EQ,
	INT_FILTER_GE,
	INT_FILTER_GT
};

static const struct
{
	Oid			func;
	Oid			column_type;
	Oid			argument_type;
	int8		comparison;
}			integer_comparisons[] =

{
#define INTEGER_COMPARISONS(prefix, column_type, argument_type) \
	{F_##prefix##LT, column_type, argument_type, INT_FILTER_LT}, \
	{F_##prefix##LE, column_type, argument_type, INT_FILTER_LE}, \
	{F_##prefix##EQ, column_type, argument_type, INT_FILTER_EQ}, \
	{F_##prefix##GE, column_type, argument_type, INT_FILTER_GE}, \
	{F_##prefix##GT, column_type, argument_type, INT_FILTER_GT}
	INTEGER_COMPARISONS(INT2, INT2OID, INT2OID),
	INTEGER_COMPARISONS(INT24, INT2OID, INT4OID),
	INTEGER_COMPARISONS(INT4, INT4OID, INT4OID),
	INTEGER_COMPARISONS(INT48, INT4OID, INT8OID),
	INTEGER_COMPARISONS(INT8, INT8OID, INT8OID),
	INTEGER_COMPARISONS(INT84, INT8OID, INT4OID),
#undef INTEGER_COMPARISONS
};

/* An integer Datum of type typid, widened */
static int64
integer_value(Datum datum, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return DatumGetInt16(datum);
		case INT4OID:
			return DatumGetInt32(datum);
		default:
			return DatumGetInt64(datum);
	}
}

/*
 * If key, on a filter column, is one of the integer comparisons above, say
 * so in key->comparison and widen its argument.
 */
static void
prepare_integer_comparison(HnswFilter *filter, HnswFilterKey *key)
{
	Oid			column_type;

	if (key->attno < 2 || filter->desc == NULL)
		return;
	column_type = TupleDescAttr(filter->desc, key->attno - 2)->atttypid;
	for (int i = 0; i < lengthof(integer_comparisons); i++)
		if (integer_comparisons[i].func == key->func->fn_oid &&
			integer_comparisons[i].column_type == column_type)
		{
			key->comparison = integer_comparisons[i].comparison;
			key->integer = integer_value(key->argument,
										 integer_comparisons[i].argument_type);
			return;
		}
}

/*
 * Turn the scan keys of a scan into a filter, in the current memory
 * context; NULL when there are none.  A key with a NULL argument (of a
 * strict operator: no row passes it) makes the filter empty, and the scan
 * returns nothing without searching.
 *
 * There are no array keys (= ANY): PostgreSQL does not give an ordered
 * scan an = ANY qual on a column after the first (it could not keep the
 * order of a btree), so amsearcharray is off and the executor checks those.
 */
HnswFilter *
HnswPrepareFilter(Relation index, ScanKey keys, int nkeys)
{
	HnswFilter *filter;

	if (nkeys == 0)
		return NULL;
	filter = palloc0(sizeof(HnswFilter));
	filter->index = index;
	filter->desc = HnswFilterDesc(index);
	filter->keys = palloc0(sizeof(HnswFilterKey) * nkeys);
	for (int i = 0; i < nkeys; i++)
	{
		ScanKey		sk = &keys[i];
		HnswFilterKey *key = &filter->keys[filter->nkeys++];

		if (sk->sk_flags & SK_ISNULL)
		{
			/* strict operators: a NULL argument matches nothing */
			filter->empty = true;
			return filter;
		}
		key->attno = sk->sk_attno;
		key->strategy = sk->sk_strategy;
		key->func = &sk->sk_func;
		key->collation = sk->sk_collation;
		key->argument = sk->sk_argument;
		prepare_integer_comparison(filter, key);
	}
	return filter;
}

/*
 * Does the filter column of key, in itup, pass it?  A NULL passes no key.
 */
static bool
column_matches(HnswFilter *filter, HnswFilterKey *key, IndexTuple itup)
{
	Datum		column;
	bool		isnull;

	column = index_getattr(itup, key->attno - 1, filter->desc, &isnull);
	if (isnull)
		return false;
	if (key->comparison != 0)
	{
		int64		value = integer_value(column,
										  TupleDescAttr(filter->desc, key->attno - 2)->atttypid);

		switch (key->comparison)
		{
			case INT_FILTER_LT:
				return value < key->integer;
			case INT_FILTER_LE:
				return value <= key->integer;
			case INT_FILTER_EQ:
				return value == key->integer;
			case INT_FILTER_GE:
				return value >= key->integer;
			default:
				return value > key->integer;
		}
	}
	/* a damaged length must not send an operator off the page */
	if (TupleDescAttr(filter->desc, key->attno - 2)->attlen == -1 &&
		(char *) DatumGetPointer(column) + VARSIZE_ANY(DatumGetPointer(column)) >
		(char *) itup + IndexTupleSize(itup))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is corrupted", RelationGetRelationName(filter->index)),
				 errdetail("A filter column value runs past the end of its tuple."),
				 errhint("Please REINDEX it.")));
	return DatumGetBool(FunctionCall2Coll(key->func, key->collation,
										  column, key->argument));
}

/*
 * Does the element pass every key of filter?  value is the element's value
 * (for keys on the first column).
 */
bool
HnswFilterMatches(HnswFilter *filter, Datum value, HnswElementTuple etup)
{
	IndexTuple	itup = NULL;

	if (filter->empty)
		return false;
	if (filter->desc != NULL && (etup->flags & HNSW_ELEMENT_FILTER))
		itup = HnswElementTupleGetFilter(etup);

	for (int i = 0; i < filter->nkeys; i++)
	{
		HnswFilterKey *key = &filter->keys[i];

		if (key->attno == 1)
		{
			if (!DatumGetBool(FunctionCall2Coll(key->func, key->collation,
												value, key->argument)))
				return false;
		}
		else if (itup == NULL || !column_matches(filter, key, itup))
			return false;
	}
	return true;
}

/*
 * Do the filter columns itup (of an element, copied into the directory)
 * pass the keys of filter on them?  Keys on the first column are not
 * checked.
 */
bool
HnswFilterMatchesColumns(HnswFilter *filter, IndexTuple itup)
{
	if (filter->empty)
		return false;
	for (int i = 0; i < filter->nkeys; i++)
	{
		HnswFilterKey *key = &filter->keys[i];

		if (key->attno > 1 && !column_matches(filter, key, itup))
			return false;
	}
	return true;
}

/* Has filter a key on a filter column (one the directory can check)? */
bool
HnswFilterHasColumnKeys(HnswFilter *filter)
{
	for (int i = 0; i < filter->nkeys; i++)
		if (filter->keys[i].attno > 1)
			return true;
	return false;
}
