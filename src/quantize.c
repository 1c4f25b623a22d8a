/*-------------------------------------------------------------------------
 *
 * quantize.c
 *	  Codes: the values of an index with storage = int8 or half.
 *
 * An element of such an index holds, in place of its float4[] value, a
 * code (HnswCodeData) of one byte per dimension (int8) or of one IEEE
 * binary16 value per dimension (half), and the value itself in chunk
 * tuples the code leads to.  A search walks on the codes: the distance
 * from a query (a float4[]) to an element is computed on the element's
 * decoded vector (int8: lo[i] + step[i] * code[i]; half: the halves
 * widened) by the int8 and half kernels (kernels.h), and the distance
 * between two elements (inserts and VACUUM choosing neighbours) decodes
 * one of them first.  The candidates a scan
 * found are then ranked again by the exact distance to their values
 * (scan.c), so what a scan returns and its order are exact.
 *
 * The per-dimension ranges (lo, and step = (hi - lo) / 255) are learned
 * by the build from its rows (the minimum and maximum of each dimension),
 * frozen, and kept in chunk tuples the metapage leads to; later values
 * outside them are clamped in their codes (their exact distances come from
 * the values themselves).  A build without rows learns none: its index
 * keeps float4 values, as do inserts into it, until a REINDEX.  Half codes
 * need no ranges: each dimension is rounded to the nearest binary16 value
 * (beyond 65504, to 65504).
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"
#include "kernels.h"

/* A prepared float4[] (see HnswPrepareValue) */
#define FLOATS(d)	((const float *) ARR_DATA_PTR((ArrayType *) DatumGetPointer(d)))
#define NFLOATS(d)	(ARR_DIMS((ArrayType *) DatumGetPointer(d))[0])

/* Is d a code rather than a float4[]?  (See HnswCodeData.) */
bool
HnswIsCode(Datum d)
{
	int32		marker = ((HnswCodeData *) DatumGetPointer(d))->marker;

	return marker == HNSW_CODE_INT8 || marker == HNSW_CODE_HALF;
}

/* The marker of a storage's codes */
static int32
code_marker(int storage)
{
	return storage == HNSW_STORAGE_HALF ? HNSW_CODE_HALF : HNSW_CODE_INT8;
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

/* Widen the ranges being learned to take the float4[] value */
void
HnswRangesAdd(HnswRangesData *r, Datum value)
{
	const float *x = FLOATS(value);
	float	   *lo = r->values;
	float	   *hi = r->values + r->dimensions;

	Assert(NFLOATS(value) == r->dimensions);
	for (int i = 0; i < r->dimensions; i++)
	{
		lo[i] = Min(lo[i], x[i]);
		hi[i] = Max(hi[i], x[i]);
	}
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

/* A quantizer for the frozen ranges r (copied into the current context) */
HnswQuantizer *
HnswMakeQuantizer(const HnswRangesData *r)
{
	HnswQuantizer *q = palloc(sizeof(HnswQuantizer));
	int			n = r->dimensions;

	q->storage = HNSW_STORAGE_INT8;
	q->dimensions = n;
	q->lo = palloc(sizeof(float) * n);
	q->step = palloc(sizeof(float) * n);
	q->decoded = palloc(sizeof(float) * n);
	memcpy(q->lo, r->values, sizeof(float) * n);
	memcpy(q->step, r->values + n, sizeof(float) * n);
	return q;
}

/* A quantizer of half codes of vectors of the given dimension */
HnswQuantizer *
HnswHalfQuantizer(int dimensions)
{
	HnswQuantizer *q = palloc0(sizeof(HnswQuantizer));

	q->storage = HNSW_STORAGE_HALF;
	q->dimensions = dimensions;
	q->decoded = palloc(sizeof(float) * dimensions);
	return q;
}

/* The halves of a half code */
#define HALVES(c)	((const uint16 *) (c)->code)

/*
 * The code of the float4[] value, whose value itself is in the chunks full
 * leads to; palloc'd.  An int8 dimension outside its range gets the
 * nearest end of it.
 */
Datum
HnswEncode(HnswQuantizer *q, Datum value, const HnswExternalValue *full)
{
	const float *x = FLOATS(value);
	int			n = q->dimensions;
	int32		marker = code_marker(q->storage);
	HnswCodeData *c = palloc0(HnswCodeSize(marker, n));
	double		norm = 0;

	if (NFLOATS(value) != n)
		elog(ERROR, "value of %d dimensions for codes of %d",
			 NFLOATS(value), n);
	SET_VARSIZE(c, HnswCodeSize(marker, n));
	c->marker = marker;
	c->dimensions = n;
	c->full = *full;
	for (int i = 0; i < n; i++)
	{
		float		decoded;

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
		norm += (double) decoded * decoded;
	}
	c->norm = (float) sqrt(norm);
	return PointerGetDatum(c);
}

/* The vector code stands for, into q->decoded */
static const float *
decode(HnswQuantizer *q, const HnswCodeData *c)
{
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
 * The quantizer of index: for int8 its frozen ranges, read from their
 * chunks; NULL if its elements hold no codes (float4 storage, or an int8
 * build without rows).
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
								"the int8 ranges are missing or broken");
	q = HnswMakeQuantizer(r);
	pfree(r);
	return q;
}

/*
 * The distance between a and b, either of which (or both) is a code of
 * dist's index, the other a float4[]; for HnswComputeDistance.
 */
double
HnswCodeDistance(HnswDistance *dist, Datum a, Datum b)
{
	HnswQuantizer *q = HnswGetQuantizer(dist);
	const HnswCodeData *c;
	const float *x;
	int			n = q->dimensions;

	if (HnswIsCode(a))
	{
		Datum		t = a;

		a = b;
		b = t;
	}
	c = (const HnswCodeData *) DatumGetPointer(b);
	if (HnswIsCode(a))
		x = decode(q, (const HnswCodeData *) DatumGetPointer(a));
	else
		x = FLOATS(a);

	if (c->marker != code_marker(q->storage))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is corrupted",
						RelationGetRelationName(dist->index)),
				 errdetail("It holds a code of another kind than its storage."),
				 errhint("Please REINDEX it.")));
#define DOT(x) (c->marker == HNSW_CODE_HALF ? \
				hnsw_kernels->half_inner_product(x, HALVES(c), n) : \
				hnsw_kernels->int8_inner_product(x, q->lo, q->step, c->code, n))
	switch (dist->kernel)
	{
		case HNSW_KERNEL_L2:
			return sqrt((double) (c->marker == HNSW_CODE_HALF ?
								  hnsw_kernels->half_l2_squared(x, HALVES(c), n) :
								  hnsw_kernels->int8_l2_squared(x, q->lo, q->step, c->code, n)));
		case HNSW_KERNEL_L1:
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
 * Is the code value (read from a page, its size checked against its
 * tuple) well formed for an index of the given dimensions?
 */
bool
HnswCodeIsWellFormed(Datum value, uint32 dimensions)
{
	const HnswCodeData *c = (const HnswCodeData *) DatumGetPointer(value);

	return VARSIZE(c) >= offsetof(HnswCodeData, code) &&
		(c->marker == HNSW_CODE_INT8 || c->marker == HNSW_CODE_HALF) &&
		c->dimensions > 0 &&
		(dimensions == 0 || c->dimensions == dimensions) &&
		VARSIZE(c) == HnswCodeSize(c->marker, c->dimensions) &&
		c->full.size >= VARHDRSZ && c->full.size <= HNSW_MAX_VALUE_SIZE;
}

/* Which storages a distance takes (see HnswCheckStorage) */
static bool
storage_takes(HnswKernel kernel)
{
	return kernel == HNSW_KERNEL_L2 || kernel == HNSW_KERNEL_COSINE ||
		kernel == HNSW_KERNEL_L1 || kernel == HNSW_KERNEL_NEG_IP;
}

/*
 * Refuse a storage other than float4 on an index whose first column has
 * none: they are for real[] with L2, cosine, L1 or inner product distance.
 */
void
HnswCheckStorage(Relation index, HnswDistance *dist, int storage)
{
	const char *name = storage == HNSW_STORAGE_HALF ? "half" : "int8";

	if (storage != HNSW_STORAGE_FLOAT4 && !storage_takes(dist->kernel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("storage \"%s\" is not supported for index \"%s\"",
						name, RelationGetRelationName(index)),
				 errdetail("Storage \"%s\" takes real[] columns with L2, cosine, L1 or inner product distance (operator classes float4_l2_ops, float4_cosine_ops, float4_l1_ops and float4_ip_ops).",
						   name),
				 errhint("Use storage = float4 for other types and distances.")));
}
