/*-------------------------------------------------------------------------
 *
 * distance.c
 *	  Distances between values stored in an index.
 *
 * An index recognises its operator class's support function when it is one
 * of this extension's C functions and calls the kernel of the table in use
 * (kernels.c) directly on the stored values; any other support function is
 * called through fmgr.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/regproc.h"
#include "utils/rel.h"

#include "hnsw.h"
#include "kernels.h"

/*
 * Set up dist for the key column of index: which kernel its support
 * function corresponds to, if any.
 */
void
HnswInitDistance(HnswDistance *dist, Relation index)
{
	FmgrInfo   *proc;
	static const struct
	{
		PGFunction	fn;
		HnswKernel	kernel;
	}			known[] = {
		{hnsw_float4_l2_distance, HNSW_KERNEL_L2},
		{hnsw_float4_cosine_distance, HNSW_KERNEL_COSINE},
		{hnsw_float4_l1_distance, HNSW_KERNEL_L1},
		{hnsw_float4_negative_inner_product, HNSW_KERNEL_NEG_IP},
		{hnsw_bit_hamming_distance, HNSW_KERNEL_BIT_HAMMING},
		{hnsw_bit_jaccard_distance, HNSW_KERNEL_BIT_JACCARD},
		{hnsw_int4_hamming_distance, HNSW_KERNEL_INT4_HAMMING},
		{hnsw_int4_jaccard_distance, HNSW_KERNEL_INT4_JACCARD},
	},
				float8_known[] = {
		{hnsw_float8_l2_distance, HNSW_KERNEL_L2},
		{hnsw_float8_cosine_distance, HNSW_KERNEL_COSINE},
		{hnsw_float8_l1_distance, HNSW_KERNEL_L1},
		{hnsw_float8_negative_inner_product, HNSW_KERNEL_NEG_IP},
	};

	if (!OidIsValid(index_getprocid(index, 1, HNSW_DISTANCE_PROC)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("first column of hnsw index \"%s\" has no distance",
						RelationGetRelationName(index)),
				 errhint("The first column of an hnsw index is the one ORDER BY measures distances on; filter columns follow it.")));
	proc = index_getprocinfo(index, 1, HNSW_DISTANCE_PROC);
	dist->kernel = HNSW_KERNEL_FMGR;
	dist->procinfo = proc;
	dist->collation = index->rd_indcollation[0];
	dist->float8_values = false;
	for (int i = 0; i < lengthof(known); i++)
		if (proc->fn_addr == known[i].fn)
			dist->kernel = known[i].kernel;

	/*
	 * float8[] values are measured through their support function, unless the
	 * index stores codes of them: then the codes have a kernel.  The storage
	 * is the metapage's once there is one (ALTER INDEX can change the option,
	 * not what was built), else the option's, for the build.
	 */
	for (int i = 0; i < lengthof(float8_known); i++)
		if (proc->fn_addr == float8_known[i].fn)
		{
			int			storage = RelationGetNumberOfBlocks(index) > 0 ?
				HnswReadMetaPage(index).storage : HnswGetOptions(index)->storage;

			if (storage != HNSW_STORAGE_FLOAT4 &&
				HnswStorageTakes(storage, float8_known[i].kernel))
			{
				dist->kernel = float8_known[i].kernel;
				dist->float8_values = true;
			}
		}
	dist->fixed_dimensions = (dist->kernel != HNSW_KERNEL_FMGR &&
							  dist->kernel != HNSW_KERNEL_INT4_JACCARD);
	dist->index = index;
	dist->cxt = CurrentMemoryContext;
	dist->quantizer = NULL;
	dist->walk_query = (Datum) 0;
	dist->walk_ready = false;
}

/*
 * May a and b be int8 codes?  Only for the float4 kernels, whose values
 * otherwise are arrays (an array's dimension count where a code has
 * a negative marker, see HnswCodeData).
 */
static inline bool
any_code(HnswDistance *dist, Datum a, Datum b)
{
	switch (dist->kernel)
	{
		case HNSW_KERNEL_L2:
		case HNSW_KERNEL_COSINE:
		case HNSW_KERNEL_L1:
		case HNSW_KERNEL_NEG_IP:
			return HnswIsCode(a) || HnswIsCode(b);
		default:
			return false;
	}
}

/*
 * A prepared array: HnswPrepareValue made it a plain (untoasted, 4-byte
 * header) copy, and the index stores it so, so no detoasting call is due
 * on the way to the kernel.
 */
static inline ArrayType *
prepared_array(Datum d)
{
	Assert(!VARATT_IS_EXTENDED(DatumGetPointer(d)));
	return (ArrayType *) DatumGetPointer(d);
}

/*
 * Is a (not a code) a float8[]?  In an index with float8_values, values
 * are float8[] but for the narrowed copies a walk and a build measure
 * (HnswNarrowValue), which meet only codes or one another.
 */
static inline bool
is_float8_array(Datum a)
{
	return ARR_ELEMTYPE(prepared_array(a)) == FLOAT8OID;
}

#define F4(d) ((const float *) ARR_DATA_PTR(prepared_array(d)))
#define DIM(d) (ARR_DIMS(prepared_array(d))[0])

/*
 * The limit a bounded kernel (l2_squared_within, l1_within and their int8
 * and half forms) gets for a distance limit of kernel's: set a little
 * above the true one, so that a sum that stopped early is past it however
 * the final sum would have rounded, and nothing the full distance would
 * have put below limit is ever cut short.  False if there is none (other
 * distances, or a limit beyond what a float sum can reach).
 */
bool
HnswKernelLimit(HnswKernel kernel, double limit, float *bound)
{
	double		b;

	if (!(limit < HNSW_DISTANCE_NO_LIMIT))
		return false;
	switch (kernel)
	{
		case HNSW_KERNEL_L2:
			b = Max(limit, 0.0);
			b = b * b * 1.0001;
			break;
		case HNSW_KERNEL_L1:
			b = limit + fabs(limit) * 0.0001;
			break;
		default:
			return false;
	}
	if (fabs(b) >= FLT_MAX)
		return false;
	*bound = (float) b;
	return true;
}

/*
 * HnswComputeDistance for a caller that only needs to know whether the
 * distance is below limit: the distance when it is, and otherwise any
 * value at or above limit.  L2 and L1 stop summing once the sum is past
 * the limit (the bounded kernels, for codes too); the others compute it
 * all.
 */
double
HnswComputeDistanceWithin(HnswDistance *dist, Datum a, Datum b, double limit)
{
	float		bound;

	if (any_code(dist, a, b))
		return HnswCodeDistance(dist, a, b, limit);
	if ((dist->float8_values && is_float8_array(a)) ||
		!HnswKernelLimit(dist->kernel, limit, &bound))
		return HnswComputeDistance(dist, a, b);
	if (dist->kernel == HNSW_KERNEL_L2)
		return sqrt((double) hnsw_kernels->l2_squared_within(F4(a), F4(b), DIM(a),
															 bound));
	return hnsw_kernels->l1_within(F4(a), F4(b), DIM(a), bound);
}

/* The distance between a and b by the support function; never NaN */
static double
support_distance(HnswDistance *dist, Datum a, Datum b)
{
	double		d;

	d = DatumGetFloat8(FunctionCall2Coll(dist->procinfo, dist->collation, a, b));
	if (isnan(d))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("distance function %s returned NaN",
						format_procedure(dist->procinfo->fn_oid))));
	return d;
}

/*
 * Distance between two values prepared by HnswPrepareValue.  The values
 * were checked when prepared, so the kernels run without further checks.
 */
double
HnswComputeDistance(HnswDistance *dist, Datum a, Datum b)
{
	if (any_code(dist, a, b))
		return HnswCodeDistance(dist, a, b, HNSW_DISTANCE_NO_LIMIT);
	if (dist->float8_values && is_float8_array(a))
		return support_distance(dist, a, b);
	switch (dist->kernel)
	{
		case HNSW_KERNEL_L2:
			return sqrt((double) hnsw_kernels->l2_squared(F4(a), F4(b), DIM(a)));
		case HNSW_KERNEL_COSINE:
			return HnswCosineDistance(F4(a), F4(b), DIM(a));
		case HNSW_KERNEL_L1:
			return hnsw_kernels->l1(F4(a), F4(b), DIM(a));
		case HNSW_KERNEL_NEG_IP:
			return -(double) hnsw_kernels->inner_product(F4(a), F4(b), DIM(a));
		case HNSW_KERNEL_BIT_HAMMING:
			{
				VarBit	   *va = DatumGetVarBitP(a);

				return (double) hnsw_kernels->bit_hamming(VARBITS(va),
														  VARBITS(DatumGetVarBitP(b)),
														  VARBITBYTES(va));
			}
		case HNSW_KERNEL_BIT_JACCARD:
			return HnswBitJaccardDistance(DatumGetVarBitP(a), DatumGetVarBitP(b));
		case HNSW_KERNEL_INT4_HAMMING:
			return HnswInt4HammingDistance((const int32 *) ARR_DATA_PTR(prepared_array(a)),
										   (const int32 *) ARR_DATA_PTR(prepared_array(b)),
										   DIM(a));
		case HNSW_KERNEL_INT4_JACCARD:
			return HnswInt4JaccardSorted((const int32 *) ARR_DATA_PTR(prepared_array(a)), DIM(a),
										 (const int32 *) ARR_DATA_PTR(prepared_array(b)), DIM(b));
		case HNSW_KERNEL_FMGR:
			return support_distance(dist, a, b);
	}
	elog(ERROR, "unknown hnsw kernel %d", (int) dist->kernel);
	return 0.0;					/* keep compiler quiet */
}

/*
 * HnswPrepareValue for values the support function measures.  The function
 * checks its arguments: measuring the value against itself runs those
 * checks now, so a value it rejects is never stored (nor blamed on a later
 * row).  A value without a distance to itself (NaN) has none to anything
 * either: not indexed, like a zero vector under cosine.
 */
static Datum
prepare_by_support(HnswDistance *dist, struct varlena *v, bool *skip)
{
	double		self;

	self = DatumGetFloat8(FunctionCall2Coll(dist->procinfo, dist->collation,
											PointerGetDatum(v),
											PointerGetDatum(v)));
	*skip = isnan(self);
	return PointerGetDatum(v);
}

/*
 * Make a value ready to be stored in the index or used as a query: a
 * private, untoasted copy, checked as the distance functions check their
 * arguments, and for Jaccard on int4[] sorted and without repeats (so the
 * kernel can merge).  Sets *skip for a value that has no distance to
 * anything (a zero vector under cosine distance): it is not indexed.
 */
Datum
HnswPrepareValue(HnswDistance *dist, Datum value, bool *skip)
{
	struct varlena *v = PG_DETOAST_DATUM_COPY(value);

	*skip = false;
	if (dist->float8_values)
		return prepare_by_support(dist, v, skip);
	switch (dist->kernel)
	{
		case HNSW_KERNEL_L2:
		case HNSW_KERNEL_L1:
		case HNSW_KERNEL_NEG_IP:
			HnswCheckFloat4Array((ArrayType *) v);
			break;
		case HNSW_KERNEL_COSINE:
			{
				ArrayType  *a = (ArrayType *) v;
				int			n = HnswCheckFloat4Array(a);
				const float *x = (const float *) ARR_DATA_PTR(a);

				*skip = true;
				for (int i = 0; i < n; i++)
					if (x[i] != 0.0f)
						*skip = false;
				break;
			}
		case HNSW_KERNEL_BIT_HAMMING:
		case HNSW_KERNEL_BIT_JACCARD:
			HnswCheckBits((VarBit *) v);
			break;
		case HNSW_KERNEL_INT4_HAMMING:
			HnswCheckArray((ArrayType *) v, INT4OID);
			break;
		case HNSW_KERNEL_INT4_JACCARD:
			{
				ArrayType  *a = (ArrayType *) v;
				int			n = HnswCheckArray(a, INT4OID);
				int32	   *x = palloc(sizeof(int32) * n);
				int			k;
				Datum	   *elems;

				memcpy(x, ARR_DATA_PTR(a), sizeof(int32) * n);
				k = HnswInt4SortUnique(x, n);
				elems = palloc(sizeof(Datum) * k);
				for (int i = 0; i < k; i++)
					elems[i] = Int32GetDatum(x[i]);
				v = (struct varlena *) construct_array(elems, k, INT4OID,
													   sizeof(int32), true,
													   TYPALIGN_INT);
				break;
			}
		case HNSW_KERNEL_FMGR:
			return prepare_by_support(dist, v, skip);
	}
	return PointerGetDatum(v);
}

/*
 * Whether a value read from an index page has the shape its kernel reads: a
 * plain (4-byte header, uncompressed) varlena, as HnswPrepareValue made it;
 * for the array kernels a one-dimensional array of the right element type,
 * without NULLs, whose size is exactly that of its elements; for the bit
 * kernels a bit string likewise; and of the index's dimension (if not 0)
 * where values have one.  The page code has checked that the value's size
 * fits its tuple, so with this a damaged page cannot send a kernel past the
 * value.  Values of support functions called through fmgr are theirs to
 * check.
 */
bool
HnswValueIsWellFormed(HnswDistance *dist, Datum value, uint32 dimensions)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	Oid			elemtype = dist->float8_values ? FLOAT8OID : FLOAT4OID;
	int			elemsize = dist->float8_values ? 8 : 4;

	if (VARATT_IS_EXTENDED(v))
		return false;
	switch (dist->kernel)
	{
		case HNSW_KERNEL_INT4_HAMMING:
		case HNSW_KERNEL_INT4_JACCARD:
			elemtype = INT4OID;
			/* FALLTHROUGH */
		case HNSW_KERNEL_L2:
		case HNSW_KERNEL_COSINE:
		case HNSW_KERNEL_L1:
		case HNSW_KERNEL_NEG_IP:
			if (elemtype != INT4OID && VARSIZE(v) >= offsetof(HnswCodeData, dimensions) &&
				HnswIsCode(value))
				return HnswCodeIsWellFormed(value, dimensions);
			/* FALLTHROUGH */
			{
				ArrayType  *a = (ArrayType *) v;

				if (VARSIZE(v) < ARR_OVERHEAD_NONULLS(1) ||
					ARR_NDIM(a) != 1 || ARR_HASNULL(a) ||
					ARR_ELEMTYPE(a) != elemtype || ARR_DIMS(a)[0] < 0 ||
					VARSIZE(v) != ARR_OVERHEAD_NONULLS(1) + (Size) ARR_DIMS(a)[0] * elemsize)
					return false;
				break;
			}
		case HNSW_KERNEL_BIT_HAMMING:
		case HNSW_KERNEL_BIT_JACCARD:
			if (VARSIZE(v) < VARBITTOTALLEN(0) ||
				VARBITLEN((VarBit *) v) < 0 ||
				VARSIZE(v) != VARBITTOTALLEN(VARBITLEN((VarBit *) v)))
				return false;
			break;
		case HNSW_KERNEL_FMGR:
			return true;
	}
	return !dist->fixed_dimensions || dimensions == 0 ||
		HnswValueDimensions(dist, value) == dimensions;
}

/*
 * Raise index-corrupted for a value read from the element at (blkno, off)
 * that HnswValueIsWellFormed rejects.
 */
void
HnswCheckStoredValue(Relation index, HnswDistance *dist, Datum value,
					 uint32 dimensions, BlockNumber blkno, OffsetNumber off)
{
	if (!HnswValueIsWellFormed(dist, value, dimensions))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is corrupted",
						RelationGetRelationName(index)),
				 errdetail("The value of the element at (%u,%u) is malformed.",
						   blkno, off),
				 errhint("Please REINDEX it.")));
}

/* The dimension of a prepared value; 0 for kernels without one */
uint32
HnswValueDimensions(HnswDistance *dist, Datum value)
{
	if (!dist->fixed_dimensions)
		return 0;
	if (dist->kernel == HNSW_KERNEL_BIT_HAMMING ||
		dist->kernel == HNSW_KERNEL_BIT_JACCARD)
		return VARBITLEN(DatumGetVarBitP(value));
	if (any_code(dist, value, value))
		return ((HnswCodeData *) DatumGetPointer(value))->dimensions;
	return DIM(value);
}
