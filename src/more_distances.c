/*-------------------------------------------------------------------------
 *
 * more_distances.c
 *	  Distances beyond the SIMD-kernel ones: between probability vectors
 *	  (Hellinger, Jensen-Shannon, Jeffreys), on float8[] (L2, cosine, L1,
 *	  inner product), Hamming and Jaccard on int2[] and int8[], and
 *	  Levenshtein on text.
 *
 * The index calls these through fmgr, like a user's own distance, and
 * checks every value it stores or searches for by measuring its distance
 * to itself (see HnswPrepareValue), so the checks here guard the index too.
 * Functions that differ only in their element type are generated from one
 * template each.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "hnsw.h"

/* Longest strings Levenshtein distance takes, in characters */
#define HNSW_MAX_LEVENSHTEIN_LENGTH 2000

static void
check_same_length(int na, int nb)
{
	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vectors have different dimensions: %d and %d", na, nb)));
}

/* A finite result from finite inputs; only overflow can break that */
static double
finite_result(double d)
{
	if (unlikely(isinf(d) || isnan(d)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("distance out of range: overflow")));
	return d;
}

/*
 * Probability vectors: real[] with no negative entries.  They are taken as
 * given; normalise them to sum 1 for the usual meaning of the distances.
 */
static int
check_probabilities(ArrayType *a)
{
	int			n = HnswCheckFloat4Array(a);
	const float *x = (const float *) ARR_DATA_PTR(a);

	for (int i = 0; i < n; i++)
		if (x[i] < 0.0f)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("probability vector must not have negative entries"),
					 errdetail("Element %d is %g.", i + 1, (double) x[i])));
	return n;
}

#define PROBABILITY_ARGS(a, b, n) \
	ArrayType  *a = HNSW_GETARG_DETOASTED(0); \
	ArrayType  *b = HNSW_GETARG_DETOASTED(1); \
	int			n = check_probabilities(a); \
	const float *a##x = (const float *) ARR_DATA_PTR(a); \
	const float *b##x = (const float *) ARR_DATA_PTR(b); \
	check_same_length(n, check_probabilities(b))

PG_FUNCTION_INFO_V1(hnsw_hellinger_distance);
PG_FUNCTION_INFO_V1(hnsw_jensen_shannon_distance);
PG_FUNCTION_INFO_V1(hnsw_jeffreys_divergence);

/* Hellinger distance: sqrt(1/2 * sum (sqrt p - sqrt q)^2), in [0, 1] */
Datum
hnsw_hellinger_distance(PG_FUNCTION_ARGS)
{
	double		sum = 0.0;

	PROBABILITY_ARGS(p, q, n);
	for (int i = 0; i < n; i++)
	{
		double		d = sqrt((double) px[i]) - sqrt((double) qx[i]);

		sum += d * d;
	}
	PG_RETURN_FLOAT8(finite_result(sqrt(0.5 * sum)));
}

/* p * ln(p / m), with 0 * ln(0) = 0 */
static inline double
kl_term(double p, double m)
{
	return p > 0.0 ? p * log(p / m) : 0.0;
}

/*
 * Jensen-Shannon distance: the square root of the Jensen-Shannon
 * divergence 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2, natural
 * logarithm (so in [0, sqrt(ln 2)] for distributions).
 */
Datum
hnsw_jensen_shannon_distance(PG_FUNCTION_ARGS)
{
	double		sum = 0.0;

	PROBABILITY_ARGS(p, q, n);
	for (int i = 0; i < n; i++)
	{
		double		m = 0.5 * ((double) px[i] + (double) qx[i]);

		sum += kl_term(px[i], m) + kl_term(qx[i], m);
	}
	/* rounding can leave a hair below zero for equal inputs */
	PG_RETURN_FLOAT8(finite_result(sqrt(Max(0.5 * sum, 0.0))));
}

/*
 * Jeffreys divergence, the symmetrised Kullback-Leibler divergence:
 * sum (p - q) (ln p - ln q).  Infinite when one vector has a zero where
 * the other has not (the divergence is then unbounded); that sorts after
 * every finite distance.
 */
Datum
hnsw_jeffreys_divergence(PG_FUNCTION_ARGS)
{
	double		sum = 0.0;

	PROBABILITY_ARGS(p, q, n);
	for (int i = 0; i < n; i++)
	{
		double		a = px[i];
		double		b = qx[i];

		if (a == b)
			continue;
		if (a == 0.0 || b == 0.0)
			PG_RETURN_FLOAT8(get_float8_infinity());
		sum += (a - b) * (log(a) - log(b));
	}
	PG_RETURN_FLOAT8(sum);
}

/*
 * float8[]: the four float distances, computed in double precision.
 */
static int
check_float8_array(ArrayType *a)
{
	int			n = HnswCheckArray(a, FLOAT8OID);
	const double *x = (const double *) ARR_DATA_PTR(a);

	for (int i = 0; i < n; i++)
		if (unlikely(isnan(x[i]) || isinf(x[i])))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s not allowed in vector", isnan(x[i]) ? "NaN" : "infinite value"),
					 errdetail("Element %d is %s.", i + 1, isnan(x[i]) ? "NaN" : "infinite")));
	return n;
}

/*
 * One template for the float8[] functions: BODY accumulates over x[i] and
 * y[i] into the doubles declared in DECLS, RESULT is the value returned;
 * unless a scan noted the distance of the two arguments (rowdistances.c).
 */
#define FLOAT8_DISTANCE(name, DECLS, BODY, RESULT) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	ArrayType  *a; \
	ArrayType  *b; \
	int			n; \
	const double *x; \
	const double *y; \
	double		noted; \
	DECLS; \
\
	if (HnswNotedRowDistance(fcinfo, &noted)) \
		PG_RETURN_FLOAT8(noted); \
	a = HNSW_GETARG_DETOASTED(0); \
	b = HNSW_GETARG_DETOASTED(1); \
	n = check_float8_array(a); \
	x = (const double *) ARR_DATA_PTR(a); \
	y = (const double *) ARR_DATA_PTR(b); \
	check_same_length(n, check_float8_array(b)); \
	for (int i = 0; i < n; i++) \
	{ \
		BODY; \
	} \
	PG_RETURN_FLOAT8(RESULT); \
}

FLOAT8_DISTANCE(hnsw_float8_l2_distance, double sum = 0.0,
				sum += (x[i] - y[i]) * (x[i] - y[i]),
				finite_result(sqrt(sum)))
FLOAT8_DISTANCE(hnsw_float8_l1_distance, double sum = 0.0,
				sum += fabs(x[i] - y[i]),
				finite_result(sum))
FLOAT8_DISTANCE(hnsw_float8_negative_inner_product, double sum = 0.0,
				sum += x[i] * y[i],
				finite_result(-sum))
FLOAT8_DISTANCE(hnsw_float8_inner_product, double sum = 0.0,
				sum += x[i] * y[i],
				finite_result(sum))
/* 1 - cos(a, b); NaN (sorting last, never indexed) for a zero vector */
FLOAT8_DISTANCE(hnsw_float8_cosine_distance,
				double dot = 0.0; double nx = 0.0; double ny = 0.0,
				dot += x[i] * y[i]; nx += x[i] * x[i]; ny += y[i] * y[i],
				(nx == 0.0 || ny == 0.0) ? get_float8_nan() :
				1.0 - Max(-1.0, Min(1.0, dot / sqrt(nx * ny))))

/*
 * int2[] and int8[]: Hamming (positions that differ) and Jaccard (the
 * arrays as sets), one template per distance and element type.
 */
#define INT_HAMMING(name, ctype, typoid) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	ArrayType  *a = HNSW_GETARG_DETOASTED(0); \
	ArrayType  *b = HNSW_GETARG_DETOASTED(1); \
	int			n = HnswCheckArray(a, typoid); \
	const ctype *x = (const ctype *) ARR_DATA_PTR(a); \
	const ctype *y = (const ctype *) ARR_DATA_PTR(b); \
	int			count = 0; \
\
	check_same_length(n, HnswCheckArray(b, typoid)); \
	for (int i = 0; i < n; i++) \
		count += (x[i] != y[i]); \
	PG_RETURN_FLOAT8((double) count); \
}

#define INT_JACCARD(name, ctype, typoid) \
static int \
name##_cmp(const void *a, const void *b) \
{ \
	ctype		x = *(const ctype *) a; \
	ctype		y = *(const ctype *) b; \
\
	return (x > y) - (x < y); \
} \
\
static int \
name##_set(ArrayType *arr, ctype **out) \
{ \
	int			n = HnswCheckArray(arr, typoid); \
	ctype	   *x = palloc(sizeof(ctype) * n); \
	int			k = 0; \
\
	memcpy(x, ARR_DATA_PTR(arr), sizeof(ctype) * n); \
	qsort(x, n, sizeof(ctype), name##_cmp); \
	for (int i = 0; i < n; i++) \
		if (i == 0 || x[i] != x[k - 1]) \
			x[k++] = x[i]; \
	*out = x; \
	return k; \
} \
\
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	ctype	   *x; \
	ctype	   *y; \
	int			nx = name##_set(HNSW_GETARG_DETOASTED(0), &x); \
	int			ny = name##_set(HNSW_GETARG_DETOASTED(1), &y); \
	int			i = 0, \
				j = 0, \
				common = 0; \
\
	while (i < nx && j < ny) \
	{ \
		if (x[i] < y[j]) \
			i++; \
		else if (x[i] > y[j]) \
			j++; \
		else \
		{ \
			common++; \
			i++; \
			j++; \
		} \
	} \
	PG_RETURN_FLOAT8(1.0 - (double) common / (double) (nx + ny - common)); \
}

INT_HAMMING(hnsw_int2_hamming_distance, int16, INT2OID)
INT_HAMMING(hnsw_int8_hamming_distance, int64, INT8OID)
INT_JACCARD(hnsw_int2_jaccard_distance, int16, INT2OID)
INT_JACCARD(hnsw_int8_jaccard_distance, int64, INT8OID)

/*
 * Levenshtein distance between two strings, in characters (not bytes):
 * the fewest insertions, deletions and substitutions that turn one into
 * the other.
 *
 * When the shorter string has at most LEVENSHTEIN_WORD_BITS characters,
 * the distances of a whole column of the classic dynamic programme are kept
 * as bits of two words (Myers' bit-vector algorithm, in Hyyro's form for the
 * distance between whole strings): a column costs a dozen word operations
 * instead of one step per character of the shorter string, several times
 * faster for short strings.  Longer
 * strings take the programme itself, two rows at a time.
 */
#define LEVENSHTEIN_WORD_BITS 64

PG_FUNCTION_INFO_V1(hnsw_levenshtein_distance);

static pg_wchar *
to_characters(text *t, int *len)
{
	int			bytes = VARSIZE_ANY_EXHDR(t);
	pg_wchar   *chars = palloc(sizeof(pg_wchar) * (bytes + 1));

	*len = pg_mb2wchar_with_len(VARDATA_ANY(t), chars, bytes);
	if (*len > HNSW_MAX_LEVENSHTEIN_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("string of %d characters is too long for levenshtein_distance", *len),
				 errdetail("The limit is %d characters.", HNSW_MAX_LEVENSHTEIN_LENGTH)));
	return chars;
}

/* The distance by the dynamic programme, two rows of it at a time */
static int
levenshtein_rows(const pg_wchar *s, int n, const pg_wchar *t, int m)
{
	int		   *prev = palloc(sizeof(int) * (m + 1));
	int		   *cur = palloc(sizeof(int) * (m + 1));

	for (int j = 0; j <= m; j++)
		prev[j] = j;
	for (int i = 1; i <= n; i++)
	{
		int		   *swap;

		cur[0] = i;
		for (int j = 1; j <= m; j++)
		{
			int			best = prev[j - 1] + (s[i - 1] != t[j - 1]);

			best = Min(best, prev[j] + 1);
			best = Min(best, cur[j - 1] + 1);
			cur[j] = best;
		}
		swap = prev;
		prev = cur;
		cur = swap;
	}
	return prev[m];
}

/*
 * The distance between p (1 to LEVENSHTEIN_WORD_BITS characters) and t, a
 * column of the programme per character of t.  Bit i of a column's words
 * says how the distance changes from row i to row i + 1 (the prefixes of p
 * one character apart): up by one (pv), down by one (mv) or not at all; the
 * bottom row's distance is kept in score.  eq has a bit for each position
 * of p that holds the column's character.
 */
static int
levenshtein_bits(const pg_wchar *p, int m, const pg_wchar *t, int n)
{
	uint64		ascii[128];
	pg_wchar	others[LEVENSHTEIN_WORD_BITS];	/* characters of p past ASCII */
	uint64		others_eq[LEVENSHTEIN_WORD_BITS];
	int			nothers = 0;
	uint64		pv = ~UINT64CONST(0);
	uint64		mv = 0;
	uint64		last = UINT64CONST(1) << (m - 1);
	int			score = m;

	Assert(m >= 1 && m <= LEVENSHTEIN_WORD_BITS);
	memset(ascii, 0, sizeof(ascii));
	for (int i = 0; i < m; i++)
	{
		if (p[i] < 128)
			ascii[p[i]] |= UINT64CONST(1) << i;
		else
		{
			int			k = 0;

			while (k < nothers && others[k] != p[i])
				k++;
			if (k == nothers)
			{
				others[nothers] = p[i];
				others_eq[nothers++] = 0;
			}
			others_eq[k] |= UINT64CONST(1) << i;
		}
	}

	for (int j = 0; j < n; j++)
	{
		uint64		eq = 0;
		uint64		xv,
					xh,
					ph,
					mh;

		if (t[j] < 128)
			eq = ascii[t[j]];
		else
		{
			for (int k = 0; k < nothers; k++)
				if (others[k] == t[j])
				{
					eq = others_eq[k];
					break;
				}
		}
		xv = eq | mv;
		xh = (((eq & pv) + pv) ^ pv) | eq;
		ph = mv | ~(xh | pv);
		mh = pv & xh;
		if (ph & last)
			score++;
		else if (mh & last)
			score--;
		/* row 0 of every column is one more than in the column before */
		ph = (ph << 1) | 1;
		mh <<= 1;
		pv = mh | ~(xv | ph);
		mv = ph & xv;
	}
	return score;
}

Datum
hnsw_levenshtein_distance(PG_FUNCTION_ARGS)
{
	int			n,
				m;
	pg_wchar   *s = to_characters(PG_GETARG_TEXT_PP(0), &n);
	pg_wchar   *t = to_characters(PG_GETARG_TEXT_PP(1), &m);
	int			distance;

	if (n == 0 || m == 0)
		distance = n + m;
	else if (m <= LEVENSHTEIN_WORD_BITS && m <= n)
		distance = levenshtein_bits(t, m, s, n);
	else if (n <= LEVENSHTEIN_WORD_BITS)
		distance = levenshtein_bits(s, n, t, m);
	else
		distance = levenshtein_rows(s, n, t, m);
	PG_RETURN_FLOAT8((double) distance);
}
