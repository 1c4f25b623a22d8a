/*-------------------------------------------------------------------------
 *
 * quantize.c
 *	  Codes: the values of an index with storage = int8, half or bit.
 *
 * An element of such an index holds, in place of its float4[] (or
 * float8[]) value, a code (HnswCodeData) of one byte per dimension (int8),
 * of one IEEE binary16 value per dimension (half) or of one bit per
 * dimension (bit), and the value itself in chunk tuples the code leads to.
 * A search walks on the codes: the distance from a query (a float4[]) to
 * an element is computed on the element's decoded vector (int8: lo[i] +
 * step[i] * code[i]; half: the halves widened) by the int8 and half
 * kernels (kernels.h), and the distance between two elements (inserts and
 * VACUUM choosing neighbours) decodes one of them first.  A scan's own
 * query (HnswSetWalkQuery) measures int8 codes a shorter way, for L2,
 * cosine and inner product: from sums over the query taken once and one
 * integer dot product with the code bytes (walk_distance), a little off
 * from the distance to the decoded vector, which the scan allows for.
 * The candidates a scan found are then ranked again by the exact distance
 * to their values (scan.c), so what a scan returns and its order are
 * exact.  A float8[] value is coded from its doubles narrowed to floats
 * (value_floats), and a float8[] query walks narrowed too
 * (HnswNarrowValue); the exact ranking measures the doubles.
 *
 * The per-dimension ranges (lo, and step = (hi - lo) / 255) are learned
 * by the build from its rows (the minimum and maximum of each dimension,
 * trimmed where a few values lie far beyond the rest: HnswRangesTrim),
 * frozen, and kept in chunk tuples the metapage leads to; values outside
 * them are clamped in their codes (their exact distances come from the
 * values themselves).  A build without rows learns none: its index keeps
 * the values themselves, as do inserts into it, until a REINDEX.  Half codes
 * need no ranges: each dimension is rounded to the nearest binary16 value
 * (beyond 65504, to 65504).
 *
 * Bit codes are taken of the residual r = x - centre (the centre being the
 * mean of the build's values clamped into trimmed ranges, learned and
 * frozen as int8 ranges are) after
 * a fixed rotation R: random signs, zeros up to a multiple of 8, and the
 * normalised Walsh-Hadamard transform (see rotate; format 5's codes were
 * padded to a power of 2).  R spreads r's length over every
 * dimension, so that keeping only the signs loses little of it.  A code
 * holds the signs of R r and two terms (HnswBitCodeHeader): |r| and the
 * ratio |r| / |R r|_1, whose product is the factor |r|^2 / |R r|_1.  For
 * any vector v, factor * sum(sign((R r)[i]) * (R v)[i]) estimates r . v =
 * R r . R v: it is R r's projection onto its sign vector, scaled so that
 * v = r gives |r|^2 exactly (RaBitQ's estimator).  Hence
 * |x - q|^2 = |r|^2 + |q - c|^2 - 2 r . (q - c) and
 * x . q = c . q + r . q are estimated from one masked sum over the rotated
 * query (the bit_masked_sum kernel); the query is rotated, and the sums
 * that do not depend on the element taken, once per query (the quantizer
 * keeps them).  The estimates are rough: a search of a bit index keeps
 * more candidates for its re-ranking (scan.c).
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"
#include "kernels.h"

/* A prepared float4[] or float8[] (see HnswPrepareValue): its length */
#define NFLOATS(d)	(ARR_DIMS((ArrayType *) DatumGetPointer(d))[0])

/*
 * The n floats of a prepared value of n dimensions: a float4[]'s own, or a
 * float8[]'s narrowed into out, what codes are made of and measured against.
 * A double is narrowed to the nearest float, but no farther out than
 * sqrt(FLT_MAX / 4n): then no float sum of the kernels over two such
 * vectors (squares of differences, products) overflows, so that a walk
 * from a value far beyond every range still measures the codes apart.  (The
 * error terms and bounds are measured from the doubles, so exact ranking
 * does not depend on it.)
 */
static const float *
value_floats(Datum value, float *out, int n)
{
	ArrayType  *a = (ArrayType *) DatumGetPointer(value);
	const double *x;
	double		limit;

	if (ARR_DIMS(a)[0] != n)
		elog(ERROR, "value of %d dimensions for codes of %d", ARR_DIMS(a)[0], n);
	/* the common case, once per distance of a walk: nothing to do */
	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		return (const float *) ARR_DATA_PTR(a);
	if (out == NULL)
		elog(ERROR, "float8[] value where a float4[] one was expected");
	x = (const double *) ARR_DATA_PTR(a);
	limit = sqrt((double) FLT_MAX / (4.0 * Max(n, 1)));
	for (int i = 0; i < n; i++)
		out[i] = (float) Max(-limit, Min(limit, x[i]));
	return out;
}

/* The doubles of a prepared float8[]; NULL for a float4[] */
static const double *
value_doubles(Datum value)
{
	ArrayType  *a = (ArrayType *) DatumGetPointer(value);

	return ARR_ELEMTYPE(a) == FLOAT8OID ? (const double *) ARR_DATA_PTR(a) : NULL;
}

/*
 * The float4[] a search of an index with codes (read by q) walks with for
 * the float8[] value (palloc'd); how far it is from the value, the L2 and
 * L1 norms of the difference rounded up, and the value's norm, which the
 * bounds of a scan's re-ranking take in (HnswCodeLeastDistance), into
 * those not NULL.
 *
 * A dimension far beyond what the codes can hold is brought in to one span
 * of its int8 range beyond it (half: to twice the largest half): the
 * codes' distances from a value farther out differ by less than a float
 * of that size can tell, and the walk would find none nearer than another.
 * A row of such a value is then still found by its own vector, whose
 * narrowed copy lies beside its clamped code.  (Bit codes' estimates are
 * computed in double precision from a scaled query.)  Without q (a build,
 * before there are codes), only narrowed.
 */
Datum
HnswNarrowValue(HnswQuantizer *q, Datum value, double *error_l2,
				double *error_l1, double *norm)
{
	int			n = NFLOATS(value);
	const double *x = value_doubles(value);
	float	   *y = palloc(sizeof(float) * Max(n, 1));
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	double		sq = 0,
				l1 = 0,
				norm_sq = 0;

	Assert(x != NULL);
	value_floats(value, y, n);
	for (int i = 0; i < n; i++)
	{
		double		d;

		if (q && q->storage == HNSW_STORAGE_INT8)
		{
			double		span = 255.0 * q->step[i];

			y[i] = (float) Max((double) q->lo[i] - span,
							   Min((double) q->lo[i] + 2 * span, (double) y[i]));
		}
		else if (q && q->storage == HNSW_STORAGE_HALF)
			y[i] = Max(-131008.0f, Min(131008.0f, y[i]));
		d = fabs(x[i] - (double) y[i]);

		sq += d * d;
		l1 += d;
		norm_sq += x[i] * x[i];
		elems[i] = Float4GetDatum(y[i]);
	}
	if (error_l2)
		*error_l2 = sqrt(sq) * (1 + DBL_EPSILON * n);
	if (error_l1)
		*error_l1 = l1 * (1 + DBL_EPSILON * n);
	if (norm)
		*norm = sqrt(norm_sq);
	return PointerGetDatum(construct_array(elems, n, FLOAT4OID, sizeof(float4),
										   true, TYPALIGN_INT));
}

/* Is d a code rather than a float4[]?  (See HnswCodeData.) */
bool
HnswIsCode(Datum d)
{
	int32		marker = ((HnswCodeData *) DatumGetPointer(d))->marker;

	return marker == HNSW_CODE_INT8 || marker == HNSW_CODE_HALF ||
		HnswIsBitMarker(marker);
}

/* The marker of a storage's codes, as format 6 writes them */
int32
HnswCodeMarker(int storage)
{
	switch (storage)
	{
		case HNSW_STORAGE_HALF:
			return HNSW_CODE_HALF;
		case HNSW_STORAGE_BIT:
			return HNSW_CODE_BIT;
		default:
			return HNSW_CODE_INT8;
	}
}

/*
 * The marker of the codes of the index whose metapage is meta: bit codes
 * were rotated over a power of 2 of dimensions before format 6
 */
int32
HnswMetaCodeMarker(const HnswMetaPageData *meta)
{
	if (meta->storage == HNSW_STORAGE_BIT && meta->version < 6)
		return HNSW_CODE_BIT_POW2;
	return HnswCodeMarker(meta->storage);
}

/* Ranges being learned: lo[] the minima, step[] the maxima so far */
HnswRangesData *
HnswRangesStart(int dimensions)
{
	HnswRangesData *r = palloc(HnswRangesSize(dimensions));

	SET_VARSIZE(r, HnswRangesSize(dimensions));
	r->dimensions = dimensions;
	for (int i = 0; i < dimensions; i++)
	{
		r->values[i] = INFINITY;
		r->values[dimensions + i] = -INFINITY;
	}
	return r;
}

/*
 * Widen the ranges being learned to take the float4[] value (a build's: a
 * float8[] one is narrowed there, see HnswBuildElement)
 */
void
HnswRangesAdd(HnswRangesData *r, Datum value)
{
	const float *x = value_floats(value, NULL, r->dimensions);
	float	   *lo = r->values;
	float	   *hi = r->values + r->dimensions;

	for (int i = 0; i < r->dimensions; i++)
	{
		lo[i] = Min(lo[i], x[i]);
		hi[i] = Max(hi[i], x[i]);
	}
}

/* qsort comparator of floats (no NaN among them) */
static int
compare_floats(const void *a, const void *b)
{
	float		x = *(const float *) a;
	float		y = *(const float *) b;

	return (x > y) - (x < y);
}

/*
 * Narrow the range of dimension i being learned (the minimum and maximum
 * of all values) to no more than twice the spread of most values beyond
 * them: the 1st to the 99th percentile of a sample of the dimension's
 * values (nsample of them, sorted here), widened by twice their distance
 * on either side.  A few values far out (a bad row, a unit mistaken) would
 * otherwise stretch the range so wide that all other values share a
 * handful of its 256 steps, and a search on the codes finds little; they
 * are clamped instead, and ranked exactly like every value.  Data without
 * such outliers keeps its minimum and maximum (a normal distribution's
 * widened span reaches 11 standard deviations either side); a dimension
 * with no spread among most values (nearly all zero, say) keeps them too.
 */
void
HnswRangesTrim(HnswRangesData *r, int i, float *sample, int nsample)
{
	float	   *lo = r->values;
	float	   *hi = r->values + r->dimensions;
	int			tail = (nsample - 1) / 100;
	double		low,
				high,
				spread;

	if (nsample < 100)
		return;
	qsort(sample, nsample, sizeof(float), compare_floats);
	low = sample[tail];
	high = sample[nsample - 1 - tail];
	spread = high - low;
	if (!(spread > 0))
		return;
	lo[i] = (float) Max((double) lo[i], low - 2 * spread);
	hi[i] = (float) Min((double) hi[i], high + 2 * spread);
}

/* Freeze the ranges learned: step[] from the maxima */
void
HnswRangesFinish(HnswRangesData *r)
{
	float	   *lo = r->values;
	float	   *step = r->values + r->dimensions;

	for (int i = 0; i < r->dimensions; i++)
	{
		if (!(lo[i] <= step[i]))
		{
			/* no value seen */
			lo[i] = 0;
			step[i] = 0;
		}
		else
			step[i] = (float) (((double) step[i] - lo[i]) / 255.0);
		if (!isfinite(step[i]))
			elog(ERROR, "int8 range of dimension %d is not finite", i);
	}
}

/* What every quantizer has: its kind, dimension and scratch vectors */
static HnswQuantizer *
new_quantizer(int storage, int dimensions)
{
	HnswQuantizer *q = palloc0(sizeof(HnswQuantizer));

	q->storage = storage;
	q->marker = HnswCodeMarker(storage);
	q->dimensions = dimensions;
	q->decoded = palloc(sizeof(float) * dimensions);
	q->narrowed = palloc(sizeof(float) * dimensions);
	return q;
}

/* A quantizer for the frozen ranges r (copied into the current context) */
HnswQuantizer *
HnswMakeQuantizer(const HnswRangesData *r)
{
	int			n = r->dimensions;
	HnswQuantizer *q = new_quantizer(HNSW_STORAGE_INT8, n);

	q->lo = palloc(sizeof(float) * n);
	q->step = palloc(sizeof(float) * n);
	memcpy(q->lo, r->values, sizeof(float) * n);
	memcpy(q->step, r->values + n, sizeof(float) * n);
	return q;
}

/* A quantizer of half codes of vectors of the given dimension */
HnswQuantizer *
HnswHalfQuantizer(int dimensions)
{
	return new_quantizer(HNSW_STORAGE_HALF, dimensions);
}

/*
 * Add the float4[] value (a build's, as for HnswRangesAdd) to the sums of
 * the values a centre is learned from, each dimension clamped into the
 * ranges being learned (after HnswRangesTrim: rows far out do not pull the
 * centre away)
 */
void
HnswCentreAdd(double *sums, Datum value, const HnswRangesData *clamp)
{
	const float *x = value_floats(value, NULL, clamp->dimensions);
	const float *lo = clamp->values;
	const float *hi = clamp->values + clamp->dimensions;

	for (int i = 0; i < clamp->dimensions; i++)
		sums[i] += Max(lo[i], Min(hi[i], x[i]));
}

/* The centre of count values whose sums those are, for bit codes */
HnswRangesData *
HnswCentreFinish(const double *sums, int dimensions, int64 count)
{
	HnswRangesData *r = palloc0(HnswRangesSize(dimensions));

	SET_VARSIZE(r, HnswRangesSize(dimensions));
	r->dimensions = dimensions;
	for (int i = 0; i < dimensions; i++)
	{
		r->values[i] = count > 0 ? (float) (sums[i] / count) : 0.0f;
		if (!isfinite(r->values[i]))
			elog(ERROR, "centre of dimension %d is not finite", i);
	}
	return r;
}

/*
 * A quantizer of bit codes around the frozen centre (copied), whose codes
 * have the given marker: HNSW_CODE_BIT, or HNSW_CODE_BIT_POW2 in an index
 * of format 5
 */
HnswQuantizer *
HnswBitQuantizer(const HnswRangesData *centre, int32 marker)
{
	int			n = centre->dimensions;
	HnswQuantizer *q = new_quantizer(HNSW_STORAGE_BIT, n);

	q->marker = marker;
	q->lo = palloc(sizeof(float) * n);
	memcpy(q->lo, centre->values, sizeof(float) * n);
	q->query = palloc(sizeof(float) * n);
	q->length = HnswBitCodeLength(marker, n);
	q->rotated = palloc(sizeof(float) * q->length);
	q->shifted = palloc(sizeof(float) * q->length);
	q->scratch = palloc(sizeof(double) * q->length);
	return q;
}

/* The Walsh-Hadamard transform of x (len values, a power of 2), in place */
static void
walsh_hadamard(double *x, int len)
{
	for (int h = 1; h < len; h *= 2)
		for (int i = 0; i < len; i += 2 * h)
			for (int j = i; j < i + h; j++)
			{
				double		a = x[j];
				double		b = x[j + h];

				x[j] = a + b;
				x[j + h] = a - b;
			}
}

/*
 * The random sign of dimension i in pass p of the rotation: a fixed hash,
 * so every index rotates alike
 */
#define DIMENSION_FLIPPED(p, i) \
	((hash_uint32((uint32) (i) + (uint32) (p) * 0x9E3779B9U) & 1) != 0)

/* Flip the signs of pass p of x's len values */
static void
flip(double *x, int p, int len)
{
	for (int i = 0; i < len; i++)
		if (DIMENSION_FLIPPED(p, i))
			x[i] = -x[i];
}

/* The normalised Walsh-Hadamard transform of x (len, a power of 2) */
static void
hadamard(double *x, int len)
{
	double		scale = 1.0 / sqrt((double) len);

	walsh_hadamard(x, len);
	for (int i = 0; i < len; i++)
		x[i] *= scale;
}

/*
 * out = R x: x (n values, widened to len by zeros) with its dimensions'
 * random signs, then the normalised Walsh-Hadamard transform.  When len is
 * not a power of 2 (format 6's codes: len is n rounded up to 8), the
 * transform is of the first p values, p the largest power of 2 below len;
 * then, after other random signs, of the last p, and after a third set of
 * signs, of the first p again, so that every value of R x takes in every
 * value of x.  Each step is orthogonal, and so is R.
 */
static void
rotate(const double *x, int n, int len, double *out)
{
	int			p = (int) pg_prevpower2_32((uint32) len);

	for (int i = 0; i < len; i++)
		out[i] = i >= n ? 0.0 : x[i];
	flip(out, 0, len);
	hadamard(out, p);
	if (p < len)
	{
		flip(out, 1, len);
		hadamard(out + len - p, p);
		flip(out, 2, len);
		hadamard(out, p);
	}
}

/*
 * x = R^-1 y, y of len values in place (the steps of rotate undone in
 * reverse: each transform and each flip is its own inverse); the first n
 * are x
 */
static void
unrotate(double *y, int n, int len)
{
	int			p = (int) pg_prevpower2_32((uint32) len);

	if (p < len)
	{
		hadamard(y, p);
		flip(y, 2, len);
		hadamard(y + len - p, p);
		flip(y, 1, len);
	}
	hadamard(y, p);
	flip(y, 0, len);
}

/* The halves of a half code */
#define HALVES(c)	((const uint16 *) (c)->code)

/* The bits of a bit code (format 5's have their terms ahead of them) */
#define BITS(c)		((c)->code + \
					 ((c)->marker == HNSW_CODE_BIT_POW2 ? sizeof(HnswBitCodeHeader) : 0))

/* The terms of a bit code: see HnswCodeData */
static inline HnswBitCodeHeader
bit_header(const HnswCodeData *c)
{
	HnswBitCodeHeader h;

	if (c->marker == HNSW_CODE_BIT_POW2)
		memcpy(&h, c->code, sizeof(h));
	else
	{
		h.residual_norm = c->error_l2;
		h.ratio = c->error_l1;
	}
	return h;
}

/* Fill in the bit code c of the value x (n floats) */
static void
encode_bits(HnswQuantizer *q, const float *x, int n, HnswCodeData *c)
{
	double	   *r = palloc(sizeof(double) * q->length);
	double		sq = 0,
				l1 = 0,
				norm = 0;
	HnswBitCodeHeader h;

	for (int i = 0; i < n; i++)
	{
		q->scratch[i] = (double) x[i] - q->lo[i];
		norm += (double) x[i] * x[i];
	}
	rotate(q->scratch, n, q->length, r);
	for (int i = 0; i < q->length; i++)
	{
		if (r[i] > 0)
			BITS(c)[i / 8] |= (uint8) (1 << (i % 8));
		sq += r[i] * r[i];
		l1 += fabs(r[i]);
	}
	pfree(r);
	h.residual_norm = (float) Min(sqrt(sq), (double) FLT_MAX);
	h.ratio = l1 > 0 ? (float) (sqrt(sq) / l1) : 0.0f;
	c->norm = (float) sqrt(norm);
	if (c->marker == HNSW_CODE_BIT_POW2)
	{
		memcpy(c->code, &h, sizeof(h));
		c->error_l2 = INFINITY;
		c->error_l1 = INFINITY;
	}
	else
	{
		c->error_l2 = h.residual_norm;
		c->error_l1 = h.ratio;
	}
}

/* d as a float no smaller than d */
static float
float_above(double d)
{
	float		f = (float) d;

	return (double) f < d ? nextafterf(f, INFINITY) : f;
}

/*
 * The code of the float4[] or float8[] value, whose value itself is in the
 * chunks full leads to; palloc'd.  An int8 dimension outside its range
 * gets the nearest end of it.  A float8[] is coded from its values
 * narrowed to floats, and its error terms are measured from the doubles.
 */
Datum
HnswEncode(HnswQuantizer *q, Datum value, const HnswExternalValue *full)
{
	int			n = q->dimensions;
	const float *x = value_floats(value, q->narrowed, n);
	const double *x8 = value_doubles(value);
	int32		marker = q->marker;
	HnswCodeData *c = palloc0(HnswCodeSize(marker, n));
	double		norm = 0,
				error_sq = 0,
				error_l1 = 0;

	SET_VARSIZE(c, HnswCodeSize(marker, n));
	c->marker = marker;
	c->dimensions = n;
	c->full = *full;
	if (HnswIsBitMarker(marker))
	{
		encode_bits(q, x, n, c);
		return PointerGetDatum(c);
	}
	for (int i = 0; i < n; i++)
	{
		float		decoded;
		double		error;

		if (q->storage == HNSW_STORAGE_HALF)
		{
			uint16		h = hnsw_float_to_half(x[i]);

			memcpy(c->code + 2 * i, &h, sizeof(h));
			decoded = hnsw_half_to_float(h);
		}
		else
		{
			double		level = q->step[i] > 0 ?
				rint(((double) x[i] - q->lo[i]) / q->step[i]) : 0;

			level = Max(0, Min(255, level));
			c->code[i] = (uint8) level;
			decoded = q->lo[i] + q->step[i] * (float) c->code[i];
		}
		error = (x8 ? x8[i] : (double) x[i]) - decoded;
		norm += (double) decoded * decoded;
		error_sq += error * error;
		error_l1 += fabs(error);
	}
	c->norm = (float) sqrt(norm);
	c->error_l2 = float_above(sqrt(error_sq));
	c->error_l1 = float_above(error_l1);
	return PointerGetDatum(c);
}

/*
 * The vector code stands for, into q->decoded.  A bit code stands for the
 * centre plus its signs, scaled to the length of the residual, rotated
 * back.
 */
static const float *
decode(HnswQuantizer *q, const HnswCodeData *c)
{
	if (HnswIsBitMarker(c->marker))
	{
		double		a = bit_header(c).residual_norm / sqrt((double) q->length);

		for (int i = 0; i < q->length; i++)
			q->scratch[i] = (BITS(c)[i / 8] & (1 << (i % 8))) ? a : -a;
		unrotate(q->scratch, q->dimensions, q->length);
		for (int i = 0; i < q->dimensions; i++)
			q->decoded[i] = q->lo[i] + (float) q->scratch[i];
		return q->decoded;
	}
	for (int i = 0; i < q->dimensions; i++)
		q->decoded[i] = c->marker == HNSW_CODE_HALF ?
			hnsw_half_to_float(HALVES(c)[i]) :
			q->lo[i] + q->step[i] * (float) c->code[i];
	return q->decoded;
}

/*
 * The quantizer of dist's index, read from it on first use (in the context
 * dist was set up in); elog if the index has codes but no ranges.
 */
HnswQuantizer *
HnswGetQuantizer(HnswDistance *dist)
{
	if (dist->quantizer == NULL)
	{
		MemoryContext old_cxt = MemoryContextSwitchTo(dist->cxt);

		dist->quantizer = HnswLoadQuantizer(dist->index);
		MemoryContextSwitchTo(old_cxt);
		if (dist->quantizer == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("index \"%s\" is corrupted",
							RelationGetRelationName(dist->index)),
					 errdetail("It holds codes but no ranges to read them with."),
					 errhint("Please REINDEX it.")));
	}
	return dist->quantizer;
}

/*
 * The quantizer of index: for int8 and bit its frozen ranges or centre,
 * read from their chunks; NULL if its elements hold no codes (float4
 * storage, or an int8 or bit build without rows).
 */
HnswQuantizer *
HnswLoadQuantizer(Relation index)
{
	HnswMetaPageData meta = HnswReadMetaPage(index);
	HnswRangesData *r;
	HnswQuantizer *q;

	if (!HnswMetaHasCodes(&meta))
		return NULL;
	if (meta.storage == HNSW_STORAGE_HALF)
		return HnswHalfQuantizer(meta.dimensions);
	r = (HnswRangesData *) HnswReadExternal(index, &meta.ranges, NULL);
	if (r == NULL || VARSIZE(r) < offsetof(HnswRangesData, values) ||
		r->dimensions <= 0 || r->dimensions != (int) meta.dimensions ||
		VARSIZE(r) != HnswRangesSize(r->dimensions))
		HnswReportCorruptedPage(index, HNSW_METAPAGE_BLKNO,
								meta.storage == HNSW_STORAGE_BIT ?
								"the centre of the bit codes is missing or broken" :
								"the int8 ranges are missing or broken");
	q = meta.storage == HNSW_STORAGE_BIT ?
		HnswBitQuantizer(r, HnswMetaCodeMarker(&meta)) : HnswMakeQuantizer(r);
	pfree(r);
	return q;
}

/* Report a code that is not of its index's storage */
static void
code_of_another_kind(HnswDistance *dist)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("index \"%s\" is corrupted",
					RelationGetRelationName(dist->index)),
			 errdetail("It holds a code of another kind than its storage."),
			 errhint("Please REINDEX it.")));
}

/*
 * out = R in (q->dimensions values) as floats divided by *scale, their
 * largest magnitude (so that the float sums of the kernel cannot
 * overflow), and the sum of R in into *sum
 */
static void
rotate_floats(HnswQuantizer *q, const double *in, float *out, double *scale,
			  double *sum)
{
	double	   *r = palloc(sizeof(double) * q->length);
	double		largest = 0;

	rotate(in, q->dimensions, q->length, r);
	*sum = 0;
	for (int i = 0; i < q->length; i++)
	{
		largest = Max(largest, fabs(r[i]));
		*sum += r[i];
	}
	*scale = largest > 0 ? largest : 1.0;
	for (int i = 0; i < q->length; i++)
		out[i] = (float) (r[i] / *scale);
	pfree(r);
}

/*
 * Make q's sums over the query x current: kept while the query is the one
 * at the same address with the same values (a search's every distance).
 */
static void
prepare_query(HnswQuantizer *q, const float *x)
{
	int			n = q->dimensions;
	double		query_sum = 0,
				shifted_sum = 0,
				shifted_sq = 0,
				query_centre = 0,
				query_sq = 0;

	if (q->query_at == x && memcmp(q->query, x, sizeof(float) * n) == 0)
		return;
	memcpy(q->query, x, sizeof(float) * n);
	for (int i = 0; i < n; i++)
	{
		double		shifted = (double) x[i] - q->lo[i];

		shifted_sq += shifted * shifted;
		query_centre += (double) x[i] * q->lo[i];
		query_sq += (double) x[i] * x[i];
		q->scratch[i] = x[i];
	}
	/* R x and R (x - centre), and their sums */
	rotate_floats(q, q->scratch, q->rotated, &q->rotated_scale, &query_sum);
	for (int i = 0; i < n; i++)
		q->scratch[i] = (double) x[i] - q->lo[i];
	rotate_floats(q, q->scratch, q->shifted, &q->shifted_scale, &shifted_sum);
	q->query_sum = query_sum;
	q->shifted_sum = shifted_sum;
	q->shifted_sq = shifted_sq;
	q->query_centre = query_centre;
	q->query_norm = sqrt(query_sq);
	q->query_at = x;
}

/*
 * The estimated distance from the float4[] x to the value the bit code c
 * stands for (see the header comment): with r the value's residual, r . v
 * is estimated as factor * (2 * (v summed over the set bits) - sum(v)).
 */
static double
bit_distance(HnswDistance *dist, HnswQuantizer *q, const float *x,
			 const HnswCodeData *c)
{
	HnswBitCodeHeader h = bit_header(c);
	double		norm = h.residual_norm;
	double		factor = norm * h.ratio;
	double		d;

	prepare_query(q, x);
	switch (dist->kernel)
	{
		case HNSW_KERNEL_L2:
			{
				double		r_dot = factor *
					(2.0 * q->shifted_scale *
					 hnsw_kernels->bit_masked_sum(q->shifted, BITS(c), q->length) -
					 q->shifted_sum);

				d = sqrt(Max(0.0, norm * norm + q->shifted_sq - 2.0 * r_dot));
				break;
			}
		case HNSW_KERNEL_NEG_IP:
		case HNSW_KERNEL_COSINE:
			{
				double		dot = q->query_centre + factor *
					(2.0 * q->rotated_scale *
					 hnsw_kernels->bit_masked_sum(q->rotated, BITS(c), q->length) -
					 q->query_sum);
				double		similarity;

				if (dist->kernel == HNSW_KERNEL_NEG_IP)
				{
					d = -dot;
					break;
				}
				if (q->query_norm == 0 || c->norm == 0)
					return 1.0;
				similarity = dot / (q->query_norm * c->norm);
				d = 1.0 - Max(-1.0, Min(1.0, similarity));
				break;
			}
		default:
			elog(ERROR, "bit codes of an index with kernel %d", (int) dist->kernel);
			return 0.0;			/* keep compiler quiet */
	}
	/* a NaN (finite values give none) would lead the walk astray: far */
	return isnan(d) ? INFINITY : d;
}

/*
 * Name the query a search walks with: its distances to int8 codes then take
 * walk_distance's way.  Called again for each new query (a rescan may put
 * one where the last was); query must stay valid while dist measures from
 * it.
 */
void
HnswSetWalkQuery(HnswDistance *dist, Datum query)
{
	dist->walk_query = query;
	dist->walk_ready = false;
}

/*
 * Prepare the walk's query x for walk_distance: u[i] = x[i] * step[i] in
 * 16-bit units (the largest |u[i]| is 32767 units), x . lo, |x|^2 and |x|.
 * Each unit rounds u[i] by at most half a unit, so a dot product with a
 * code is off by at most half a unit times the sum of its bytes, at most
 * 255 a dimension: walk_error.
 */
static void
prepare_walk_query(HnswDistance *dist, HnswQuantizer *q, const float *x)
{
	int			n = q->dimensions;
	double		largest = 0,
				lo_dot = 0,
				sq = 0;

	if (q->walk_units == NULL)
		q->walk_units = MemoryContextAlloc(dist->cxt, sizeof(int16) * n);
	for (int i = 0; i < n; i++)
	{
		largest = Max(largest, fabs((double) x[i] * q->step[i]));
		lo_dot += (double) x[i] * q->lo[i];
		sq += (double) x[i] * x[i];
	}
	q->walk_unit = largest / 32767.0;
	for (int i = 0; i < n; i++)
	{
		double		units = q->walk_unit > 0 ?
			rint((double) x[i] * q->step[i] / q->walk_unit) : 0;

		q->walk_units[i] = (int16) Max(-32767.0, Min(32767.0, units));
	}
	q->walk_lo_dot = lo_dot;
	q->walk_sq = sq;
	q->walk_norm = sqrt(sq);
	q->walk_error = q->walk_unit * 0.5 * 255.0 * n * (1.0 + 1e-9);
	dist->walk_ready = true;
}

/*
 * The distance from the walk's query to the value of int8 code c, from the
 * query's sums (prepare_walk_query) and one integer dot product: with v the
 * decoded vector, lo + step * code, x . v = x . lo + sum(u[i] * code[i]),
 * and |x - v|^2 = |x|^2 + |v|^2 - 2 x . v, |v| being the code's norm.  A
 * fraction of the work of decoding every dimension (the int8 kernels), and
 * off from that by little: HnswCodeLeastDistance allows for it.  Not L1.
 */
static double
walk_distance(HnswDistance *dist, HnswQuantizer *q, const HnswCodeData *c)
{
	double		dot = q->walk_lo_dot + q->walk_unit *
		(double) hnsw_kernels->int8_dot_units(q->walk_units, c->code,
											  q->dimensions);
	double		norm = c->norm;
	double		d;

	switch (dist->kernel)
	{
		case HNSW_KERNEL_L2:
			d = sqrt(Max(0.0, q->walk_sq + norm * norm - 2.0 * dot));
			break;
		case HNSW_KERNEL_NEG_IP:
			d = -dot;
			break;
		case HNSW_KERNEL_COSINE:
			if (q->walk_norm == 0 || norm == 0)
				return 1.0;
			d = 1.0 - Max(-1.0, Min(1.0, dot / (q->walk_norm * norm)));
			break;
		default:
			elog(ERROR, "walk distance of an index with kernel %d", (int) dist->kernel);
			return 0.0;			/* keep compiler quiet */
	}
	/* a NaN (finite values give none) would lead the walk astray: far */
	return isnan(d) ? INFINITY : d;
}

/*
 * The distance between a and b, either of which (or both) is a code of
 * dist's index, the other a float4[] or float8[] (narrowed first); for
 * HnswComputeDistance, and with a limit (HNSW_DISTANCE_NO_LIMIT for none)
 * for HnswComputeDistanceWithin, whose rule it follows: an int8 or half
 * L2 or L1 distance past limit may come back as any value past it.
 * Between two codes, one is decoded first.
 */
double
HnswCodeDistance(HnswDistance *dist, Datum a, Datum b, double limit)
{
	HnswQuantizer *q = HnswGetQuantizer(dist);
	const HnswCodeData *c;
	const float *x;
	int			n = q->dimensions;
	float		bound;
	bool		bounded;

	if (HnswIsCode(a))
	{
		Datum		t = a;

		a = b;
		b = t;
	}
	c = (const HnswCodeData *) DatumGetPointer(b);
	/* the walk's query and an int8 code: walk_distance */
	if (a == dist->walk_query && c->marker == HNSW_CODE_INT8 &&
		q->marker == HNSW_CODE_INT8 && dist->kernel != HNSW_KERNEL_L1)
	{
		if (!dist->walk_ready)
			prepare_walk_query(dist, q, value_floats(a, q->narrowed, n));
		return walk_distance(dist, q, c);
	}
	if (HnswIsCode(a))
	{
		if (((const HnswCodeData *) DatumGetPointer(a))->marker != c->marker)
			code_of_another_kind(dist);
		x = decode(q, (const HnswCodeData *) DatumGetPointer(a));
	}
	else
		x = value_floats(a, q->narrowed, n);

	if (c->marker != q->marker)
		code_of_another_kind(dist);
	if (HnswIsBitMarker(c->marker))
		return bit_distance(dist, q, x, c);
	bounded = HnswKernelLimit(dist->kernel, limit, &bound);
#define DOT(x) (c->marker == HNSW_CODE_HALF ? \
				hnsw_kernels->half_inner_product(x, HALVES(c), n) : \
				hnsw_kernels->int8_inner_product(x, q->lo, q->step, c->code, n))
	switch (dist->kernel)
	{
		case HNSW_KERNEL_L2:
			if (bounded)
				return sqrt((double) (c->marker == HNSW_CODE_HALF ?
									  hnsw_kernels->half_l2_squared_within(x, HALVES(c), n, bound) :
									  hnsw_kernels->int8_l2_squared_within(x, q->lo, q->step,
																		   c->code, n, bound)));
			return sqrt((double) (c->marker == HNSW_CODE_HALF ?
								  hnsw_kernels->half_l2_squared(x, HALVES(c), n) :
								  hnsw_kernels->int8_l2_squared(x, q->lo, q->step, c->code, n)));
		case HNSW_KERNEL_L1:
			if (bounded)
				return c->marker == HNSW_CODE_HALF ?
					hnsw_kernels->half_l1_within(x, HALVES(c), n, bound) :
					hnsw_kernels->int8_l1_within(x, q->lo, q->step, c->code, n, bound);
			return c->marker == HNSW_CODE_HALF ?
				hnsw_kernels->half_l1(x, HALVES(c), n) :
				hnsw_kernels->int8_l1(x, q->lo, q->step, c->code, n);
		case HNSW_KERNEL_NEG_IP:
			return -(double) DOT(x);
		case HNSW_KERNEL_COSINE:
			{
				double		dot = DOT(x);
				double		norm = sqrt((double) hnsw_kernels->inner_product(x, x, n));
				double		similarity;

				if (norm == 0 || c->norm == 0)
					return 1.0;
				similarity = dot / (norm * c->norm);
				return 1.0 - Max(-1.0, Min(1.0, similarity));
			}
		default:
			elog(ERROR, "codes of an index with kernel %d", (int) dist->kernel);
	}
#undef DOT
	return 0.0;					/* keep compiler quiet */
}

/*
 * The least the distance from a query (of norm query_norm) to the value
 * of code c can be, the distance to the code being measured: the value
 * lies within error_l2 (L2) or error_l1 (L1) of the decoded vector, so an
 * L2 or L1 distance is off by at most that (the triangle inequality), an
 * inner product by query_norm * error_l2 (Cauchy-Schwarz), and a cosine
 * similarity by at most 2 * error_l2 / |value|, |value| being at least
 * norm - error_l2.  Each bound is widened by a margin for the rounding of
 * the float sums on both sides (the code's distance and the exact one):
 * a float sum of n terms is off by at most about n * FLT_EPSILON / 2 of
 * the sum of its terms' magnitudes, so twice that, relative, covers both
 * in the worst case; it is never below 1e-4, which is cheap (a bound a
 * little lower reads a value a little sooner) and covers the products and
 * square roots around the sums.  -Infinity where a code gives no bound
 * (bit codes).
 *
 * A float8[] query is walked with narrowed to floats (HnswNarrowValue):
 * the query measured is then off from the query itself by query_error
 * (its L2 and L1 norms), which moves the distance by as much again in the
 * same ways (an inner product by query_error_l2 * |decoded|, a cosine
 * similarity by 2 * query_error_l2 / query_norm).  0 for a float4[] query.
 */
double
HnswCodeLeastDistance(HnswDistance *dist, const HnswCodeData *c,
					  double measured, double query_norm,
					  double query_error_l2, double query_error_l1)
{
	double		margin = Max(1e-4, (double) c->dimensions * FLT_EPSILON);
	double		bound;

	/* a bit code's estimate bounds nothing */
	if (HnswIsBitMarker(c->marker))
		return -INFINITY;

	/*
	 * walk_distance's measure first comes back to the distance to the decoded
	 * vector: its dot product is off by at most walk_error, and the rest (the
	 * code's norm rounded to a float, the sums in doubles) by far less than
	 * 2^-20 of the magnitudes: of (|x| + |v|)^2 for the squared L2 distance,
	 * of |x| times |v| for the dot product.
	 */
	if (dist->walk_ready && c->marker == HNSW_CODE_INT8)
	{
		const HnswQuantizer *q = dist->quantizer;
		double		norms = q->walk_norm + c->norm;

		switch (dist->kernel)
		{
			case HNSW_KERNEL_L2:
				measured = sqrt(Max(0.0, measured * measured -
									2.0 * q->walk_error -
									ldexp(norms * norms, -20)));
				break;
			case HNSW_KERNEL_NEG_IP:
				measured -= q->walk_error +
					ldexp(q->walk_norm * c->norm, -20);
				break;
			case HNSW_KERNEL_COSINE:
				if (q->walk_norm > 0 && c->norm > 0)
					measured -= q->walk_error / (q->walk_norm * c->norm) +
						ldexp(1.0, -20);
				break;
			default:
				break;
		}
	}
	switch (dist->kernel)
	{
		case HNSW_KERNEL_L2:
		case HNSW_KERNEL_L1:
			{
				double		error = dist->kernel == HNSW_KERNEL_L2 ?
					(double) c->error_l2 + query_error_l2 :
					(double) c->error_l1 + query_error_l1;

				bound = measured - error - margin * (fabs(measured) + error);
				break;
			}
		case HNSW_KERNEL_NEG_IP:
			bound = measured - query_norm * c->error_l2 -
				query_error_l2 * c->norm -
				margin * (query_norm + query_error_l2) *
				((double) c->norm + c->error_l2);
			break;
		case HNSW_KERNEL_COSINE:
			{
				double		least_norm = (double) c->norm - c->error_l2;
				double		query_part = query_error_l2 > 0 ?
					2.0 * query_error_l2 / query_norm : 0.0;

				/* relative to the largest cosine distance, 2 */
				bound = least_norm > 0 ?
					measured - 2.0 * c->error_l2 / least_norm - query_part -
					2.0 * margin :
					-INFINITY;
				break;
			}
		default:
			bound = -INFINITY;
	}
	return isnan(bound) ? -INFINITY : bound;
}

/*
 * Is the code value (read from a page, its size checked against its
 * tuple) well formed for an index of the given dimensions?
 */
bool
HnswCodeIsWellFormed(Datum value, uint32 dimensions)
{
	const HnswCodeData *c = (const HnswCodeData *) DatumGetPointer(value);

	return VARSIZE(c) >= offsetof(HnswCodeData, code) &&
		HnswIsCode(value) &&
		c->error_l2 >= 0 && c->error_l1 >= 0 &&
		c->dimensions > 0 &&
		(dimensions == 0 || c->dimensions == dimensions) &&
		VARSIZE(c) == HnswCodeSize(c->marker, c->dimensions) &&
		c->full.size >= VARHDRSZ && c->full.size <= HNSW_MAX_VALUE_SIZE;
}

/*
 * Does a storage take a distance?  int8 and half: L2, cosine, L1, inner
 * product; bit: not L1, which has no estimate from signs (see HnswCheckStorage)
 */
bool
HnswStorageTakes(int storage, HnswKernel kernel)
{
	return kernel == HNSW_KERNEL_L2 || kernel == HNSW_KERNEL_COSINE ||
		kernel == HNSW_KERNEL_NEG_IP ||
		(kernel == HNSW_KERNEL_L1 && storage != HNSW_STORAGE_BIT);
}

/*
 * Refuse a storage other than float4 on an index whose first column has
 * none: they are for real[] and float8[] with L2, cosine, L1 (not bit) or
 * inner product distance.
 */
void
HnswCheckStorage(Relation index, HnswDistance *dist, int storage)
{
	const char *name = storage == HNSW_STORAGE_HALF ? "half" :
		storage == HNSW_STORAGE_BIT ? "bit" : "int8";

	if (storage == HNSW_STORAGE_FLOAT4 || HnswStorageTakes(storage, dist->kernel))
		return;
	if (storage == HNSW_STORAGE_BIT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("storage \"%s\" is not supported for index \"%s\"",
						name, RelationGetRelationName(index)),
				 errdetail("Storage \"bit\" takes real[] and float8[] columns with L2, cosine or inner product distance (operator classes float4_l2_ops, float4_cosine_ops, float4_ip_ops, float8_l2_ops, float8_cosine_ops and float8_ip_ops)."),
				 errhint("Use storage = int8 or half for L1 distance, float4 for other types and distances.")));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("storage \"%s\" is not supported for index \"%s\"",
					name, RelationGetRelationName(index)),
			 errdetail("Storage \"%s\" takes real[] and float8[] columns with L2, cosine, L1 or inner product distance (operator classes float4_l2_ops, float4_cosine_ops, float4_l1_ops, float4_ip_ops, float8_l2_ops, float8_cosine_ops, float8_l1_ops and float8_ip_ops).",
					   name),
			 errhint("Use storage = float4 for other types and distances.")));
}
