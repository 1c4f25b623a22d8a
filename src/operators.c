/*-------------------------------------------------------------------------
 *
 * operators.c
 *	  SQL-callable distance functions and the checks on their arguments.
 *
 * The index calls the same checks (through distance.c) on every value it
 * stores and on every query value, so a value that the functions reject
 * can never be indexed either.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/varbit.h"

#include "hnsw.h"
#include "kernels.h"

PG_FUNCTION_INFO_V1(hnsw_float4_l2_distance);
PG_FUNCTION_INFO_V1(hnsw_float4_cosine_distance);
PG_FUNCTION_INFO_V1(hnsw_float4_l1_distance);
PG_FUNCTION_INFO_V1(hnsw_float4_inner_product);
PG_FUNCTION_INFO_V1(hnsw_float4_negative_inner_product);
PG_FUNCTION_INFO_V1(hnsw_bit_hamming_distance);
PG_FUNCTION_INFO_V1(hnsw_bit_jaccard_distance);
PG_FUNCTION_INFO_V1(hnsw_int4_hamming_distance);
PG_FUNCTION_INFO_V1(hnsw_int4_jaccard_distance);

/*
 * The last stored (TOASTed) values a distance function was called with, and
 * what they came to, per argument: for a value out of line its TOAST
 * pointer, for a value compressed in line a copy of its compressed bytes.
 */
typedef struct DetoastCache
{
	struct varatt_external pointer[2];
	struct varlena *compressed[2];	/* NULL: the value was out of line */
	struct varlena *value[2];
} DetoastCache;

/*
 * Argument argno of a distance function, detoasted.  In
 * ORDER BY v <-> (SELECT v FROM queries ...) the query vector reaches every
 * call as it is stored (an InitPlan's result keeps it so): a TOAST pointer,
 * or a value compressed in the row.  Every row's distance would fetch it
 * from the TOAST table, or decompress it, again: a value behind the same
 * TOAST pointer, or with the same compressed bytes, as in the call before
 * is fetched or decompressed once per expression and kept in fn_extra.  (A
 * pointer names one value for as long as the query can see it; compressed
 * bytes are compared whole, which costs a small part of decompressing
 * them.)
 */
void *
HnswDetoastArg(FunctionCallInfo fcinfo, int argno)
{
	struct varlena *v = (struct varlena *) PG_GETARG_POINTER(argno);
	struct varatt_external pointer;
	DetoastCache *cache;
	MemoryContext old_cxt;
	bool		ondisk = VARATT_IS_EXTERNAL_ONDISK(v);

	if (!(ondisk || VARATT_IS_COMPRESSED(v)) || fcinfo->flinfo == NULL ||
		argno > 1)
		return pg_detoast_datum(v);
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(DetoastCache));
	cache = (DetoastCache *) fcinfo->flinfo->fn_extra;
	if (cache->value[argno] != NULL)
	{
		struct varlena *c = cache->compressed[argno];

		if (ondisk && c == NULL)
		{
			VARATT_EXTERNAL_GET_POINTER(pointer, v);
			if (memcmp(&cache->pointer[argno], &pointer, sizeof(pointer)) == 0)
				return cache->value[argno];
		}
		else if (!ondisk && c != NULL && VARSIZE(c) == VARSIZE(v) &&
				 memcmp(c, v, VARSIZE(v)) == 0)
			return cache->value[argno];
		pfree(cache->value[argno]);
		if (c != NULL)
			pfree(c);
		cache->value[argno] = cache->compressed[argno] = NULL;
	}
	old_cxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	cache->value[argno] = detoast_attr(v);
	if (ondisk)
		VARATT_EXTERNAL_GET_POINTER(cache->pointer[argno], v);
	else
	{
		cache->compressed[argno] = palloc(VARSIZE(v));
		memcpy(cache->compressed[argno], v, VARSIZE(v));
	}
	MemoryContextSwitchTo(old_cxt);
	return cache->value[argno];
}

/*
 * Check that an array is a usable vector: one dimension, at least one
 * element, no NULLs, of the expected element type.  Returns its length.
 */
int
HnswCheckArray(ArrayType *a, Oid elemtype)
{
	int			n;

	if (ARR_ELEMTYPE(a) != elemtype)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("array of type %s expected", format_type_be(elemtype))));
	if (ARR_NDIM(a) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least one dimension"),
				 errdetail("An empty array is not a vector.")));
	if (ARR_NDIM(a) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must be a one-dimensional array"),
				 errdetail("The array has %d dimensions.", ARR_NDIM(a))));
	if (ARR_HASNULL(a) && array_contains_nulls(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("vector must not contain NULL elements")));
	n = ARR_DIMS(a)[0];
	if (n > HNSW_MAX_DIMENSIONS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector has %d dimensions, more than the maximum of %d",
						n, HNSW_MAX_DIMENSIONS)));
	return n;
}

/*
 * HnswCheckArray for real[], plus: every element is finite.  Every distance
 * call checks both its arguments, so the common case is one branch-free
 * pass: a float is NaN or infinite when its exponent bits are all ones, and
 * adding one to such an exponent carries into the sign bit, which no finite
 * value's does.
 */
int
HnswCheckFloat4Array(ArrayType *a)
{
	int			n = HnswCheckArray(a, FLOAT4OID);
	const float *x = (const float *) ARR_DATA_PTR(a);
	const uint32 *bits = (const uint32 *) x;
	uint64		carry2 = 0;
	uint64		carry2b = 0;
	uint32		carry;
	int			i = 0;

	/*
	 * Four floats a step, two to a 64-bit word: each half's sum stays within
	 * its 32 bits, so no carry crosses from one float to the other.  (The
	 * distance operators check every argument, and an index-only scan's rows
	 * come back through them, so this is on every query's path.)
	 */
	for (; i + 4 <= n; i += 4)
	{
		uint64		w1;
		uint64		w2;

		memcpy(&w1, bits + i, sizeof(w1));
		memcpy(&w2, bits + i + 2, sizeof(w2));
		carry2 |= (w1 & UINT64CONST(0x7f8000007f800000)) + UINT64CONST(0x0080000000800000);
		carry2b |= (w2 & UINT64CONST(0x7f8000007f800000)) + UINT64CONST(0x0080000000800000);
	}
	carry2 |= carry2b;
	carry = (uint32) carry2 | (uint32) (carry2 >> 32);
	for (; i < n; i++)
		carry |= (bits[i] & 0x7f800000) + 0x00800000;
	if (likely((carry & 0x80000000) == 0))
		return n;

	/* find the first bad one, for the message */
	for (i = 0; i < n; i++)
	{
		if (unlikely(isnan(x[i])))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("NaN not allowed in vector"),
					 errdetail("Element %d is NaN.", i + 1)));
		if (unlikely(isinf(x[i])))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("infinite value not allowed in vector"),
					 errdetail("Element %d is infinite.", i + 1)));
	}
	return n;
}

/* Bit strings: at least one bit */
int
HnswCheckBits(VarBit *v)
{
	if (VARBITLEN(v) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("bit string must have at least one bit")));
	return VARBITLEN(v);
}

static void
check_same_dimensions(int na, int nb)
{
	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vectors have different dimensions: %d and %d", na, nb)));
}

/* A finite result from finite inputs; only overflow can break that */
static double
check_result(double d)
{
	if (unlikely(isinf(d)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("distance out of range: overflow")));
	return d;
}

/*
 * Fetch and check two real[] arguments of the same length; or return the
 * distance a scan noted for them (rowdistances.c)
 */
#define FLOAT4_ARGS(a, b, n) \
	double		noted_; \
	ArrayType  *a; \
	ArrayType  *b; \
	int			n; \
\
	if (HnswNotedRowDistance(fcinfo, &noted_)) \
		PG_RETURN_FLOAT8(noted_); \
	a = HNSW_GETARG_DETOASTED(0); \
	b = HNSW_GETARG_DETOASTED(1); \
	n = HnswCheckFloat4Array(a); \
	check_same_dimensions(n, HnswCheckFloat4Array(b))

#define F4(arr) ((const float *) ARR_DATA_PTR(arr))

Datum
hnsw_float4_l2_distance(PG_FUNCTION_ARGS)
{
	FLOAT4_ARGS(a, b, n);

	PG_RETURN_FLOAT8(check_result(sqrt((double) hnsw_kernels->l2_squared(F4(a), F4(b), n))));
}

Datum
hnsw_float4_l1_distance(PG_FUNCTION_ARGS)
{
	FLOAT4_ARGS(a, b, n);

	PG_RETURN_FLOAT8(check_result(hnsw_kernels->l1(F4(a), F4(b), n)));
}

Datum
hnsw_float4_inner_product(PG_FUNCTION_ARGS)
{
	FLOAT4_ARGS(a, b, n);

	PG_RETURN_FLOAT8(check_result(hnsw_kernels->inner_product(F4(a), F4(b), n)));
}

Datum
hnsw_float4_negative_inner_product(PG_FUNCTION_ARGS)
{
	FLOAT4_ARGS(a, b, n);

	PG_RETURN_FLOAT8(check_result(-(double) hnsw_kernels->inner_product(F4(a), F4(b), n)));
}

/*
 * Cosine distance, 1 - cos(a, b).  It is undefined when either vector is
 * all zeros: the result is then NaN, which sorts after every number, and the
 * index does not store such vectors (as it does not store NULLs).
 */
double
HnswCosineDistance(const float *a, const float *b, int n)
{
	float		dot,
				na,
				nb;
	double		similarity;

	hnsw_kernels->cosine_parts(a, b, n, &dot, &na, &nb);
	if (na == 0.0f || nb == 0.0f)
		return get_float8_nan();
	similarity = (double) dot / sqrt((double) na * (double) nb);
	/* rounding can push the similarity a hair outside [-1, 1] */
	if (similarity > 1.0)
		similarity = 1.0;
	else if (similarity < -1.0)
		similarity = -1.0;
	return 1.0 - similarity;
}

Datum
hnsw_float4_cosine_distance(PG_FUNCTION_ARGS)
{
	FLOAT4_ARGS(a, b, n);

	PG_RETURN_FLOAT8(HnswCosineDistance(F4(a), F4(b), n));
}

/* Fetch and check two bit strings of the same length */
#define BIT_ARGS(a, b) \
	VarBit	   *a = HNSW_GETARG_DETOASTED(0); \
	VarBit	   *b = HNSW_GETARG_DETOASTED(1); \
	check_bit_lengths(a, b)

static void
check_bit_lengths(VarBit *a, VarBit *b)
{
	int			na = HnswCheckBits(a);
	int			nb = HnswCheckBits(b);

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_LENGTH_MISMATCH),
				 errmsg("bit strings have different lengths: %d and %d", na, nb)));
}

Datum
hnsw_bit_hamming_distance(PG_FUNCTION_ARGS)
{
	BIT_ARGS(a, b);

	PG_RETURN_FLOAT8((double) hnsw_kernels->bit_hamming(VARBITS(a), VARBITS(b),
														VARBITBYTES(a)));
}

/* Jaccard distance of two bit sets; two empty sets are identical (0) */
double
HnswBitJaccardDistance(VarBit *a, VarBit *b)
{
	uint64		and_count,
				or_count;

	hnsw_kernels->bit_jaccard(VARBITS(a), VARBITS(b), VARBITBYTES(a),
							  &and_count, &or_count);
	if (or_count == 0)
		return 0.0;
	return 1.0 - (double) and_count / (double) or_count;
}

Datum
hnsw_bit_jaccard_distance(PG_FUNCTION_ARGS)
{
	BIT_ARGS(a, b);

	PG_RETURN_FLOAT8(HnswBitJaccardDistance(a, b));
}

Datum
hnsw_int4_hamming_distance(PG_FUNCTION_ARGS)
{
	ArrayType  *a = HNSW_GETARG_DETOASTED(0);
	ArrayType  *b = HNSW_GETARG_DETOASTED(1);
	int			n = HnswCheckArray(a, INT4OID);

	check_same_dimensions(n, HnswCheckArray(b, INT4OID));
	PG_RETURN_FLOAT8(HnswInt4HammingDistance((const int32 *) ARR_DATA_PTR(a),
											 (const int32 *) ARR_DATA_PTR(b), n));
}

double
HnswInt4HammingDistance(const int32 *a, const int32 *b, int n)
{
	int			count = 0;

	for (int i = 0; i < n; i++)
		count += (a[i] != b[i]);
	return (double) count;
}

static int
int4_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * Sort and de-duplicate n int4 values in place; returns the new count.
 */
int
HnswInt4SortUnique(int32 *x, int n)
{
	int			k = 0;

	if (n <= 1)
		return n;
	qsort(x, n, sizeof(int32), int4_cmp);
	for (int i = 1; i < n; i++)
		if (x[i] != x[k])
			x[++k] = x[i];
	return k + 1;
}

/* Jaccard distance of two sorted, duplicate-free int4 sets */
double
HnswInt4JaccardSorted(const int32 *a, int na, const int32 *b, int nb)
{
	int			i = 0,
				j = 0,
				common = 0;

	while (i < na && j < nb)
	{
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else
		{
			common++;
			i++;
			j++;
		}
	}
	return 1.0 - (double) common / (double) (na + nb - common);
}

/* Jaccard distance of the arrays taken as sets (order and repeats ignored) */
Datum
hnsw_int4_jaccard_distance(PG_FUNCTION_ARGS)
{
	ArrayType  *a = HNSW_GETARG_DETOASTED(0);
	ArrayType  *b = HNSW_GETARG_DETOASTED(1);
	int			na = HnswCheckArray(a, INT4OID);
	int			nb = HnswCheckArray(b, INT4OID);
	int32	   *sa = palloc(sizeof(int32) * na);
	int32	   *sb = palloc(sizeof(int32) * nb);

	memcpy(sa, ARR_DATA_PTR(a), sizeof(int32) * na);
	memcpy(sb, ARR_DATA_PTR(b), sizeof(int32) * nb);
	na = HnswInt4SortUnique(sa, na);
	nb = HnswInt4SortUnique(sb, nb);
	PG_RETURN_FLOAT8(HnswInt4JaccardSorted(sa, na, sb, nb));
}
