/*-------------------------------------------------------------------------
 *
 * kernels.h
 *	  Distance kernels: one table of function pointers per instruction set.
 *
 * kernels_scalar.c is the portable reference; kernels_avx2.c and
 * kernels_avx512.c hold the same kernels for those instruction sets, each
 * compiled with target attributes so that a generic build runs anywhere.
 * distance.c picks a table once, after CPU detection (or as the GUC
 * hnsw.kernel says, so tests can compare every table with the reference).
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef HNSW_KERNELS_H
#define HNSW_KERNELS_H

#include "c.h"

typedef struct HnswKernelTable
{
	const char *name;
	float		(*l2_squared) (const float *a, const float *b, int n);
	float		(*inner_product) (const float *a, const float *b, int n);
	float		(*l1) (const float *a, const float *b, int n);

	/*
	 * l2_squared and l1 for a caller that only needs to know whether the
	 * result is at most limit: the same result bit for bit when it is, and
	 * otherwise possibly a smaller sum that already exceeds limit (the sum so
	 * far, checked every HNSW_KERNEL_CHECK_EVERY elements).  Exact, because
	 * every term is non-negative: no lane of the sum ever shrinks.
	 */
	float		(*l2_squared_within) (const float *a, const float *b, int n,
									  float limit);
	float		(*l1_within) (const float *a, const float *b, int n,
							  float limit);
	/* dot product and both squared norms, in one pass */
	void		(*cosine_parts) (const float *a, const float *b, int n,
								 float *dot, float *norm_a, float *norm_b);
	uint64		(*bit_hamming) (const uint8 *a, const uint8 *b, int nbytes);
	/* popcount of a AND b and of a OR b */
	void		(*bit_jaccard) (const uint8 *a, const uint8 *b, int nbytes,
								uint64 *and_count, uint64 *or_count);

	/*
	 * A float vector q against an int8 code c (storage int8): dimension i of
	 * the coded vector is lo[i] + step[i] * c[i].  Squared L2 distance, inner
	 * product and L1 distance.
	 */
	float		(*int8_l2_squared) (const float *q, const float *lo,
									const float *step, const uint8 *c, int n);
	float		(*int8_inner_product) (const float *q, const float *lo,
									   const float *step, const uint8 *c, int n);
	float		(*int8_l1) (const float *q, const float *lo,
							const float *step, const uint8 *c, int n);

	/*
	 * The exact sum of u[i] * c[i], a query scaled to int16 units u against
	 * an int8 code c (a walk's distances from its query's sums, see
	 * quantize.c)
	 */
	int64		(*int8_dot_units) (const int16 *u, const uint8 *c, int n);
	/* int8_l2_squared and int8_l1 bounded as l2_squared_within is */
	float		(*int8_l2_squared_within) (const float *q, const float *lo,
										   const float *step, const uint8 *c,
										   int n, float limit);
	float		(*int8_l1_within) (const float *q, const float *lo,
								   const float *step, const uint8 *c, int n,
								   float limit);

	/*
	 * A float vector q against a vector h of IEEE binary16 values (storage
	 * half): squared L2 distance, inner product and L1 distance
	 */
	float		(*half_l2_squared) (const float *q, const uint16 *h, int n);
	float		(*half_inner_product) (const float *q, const uint16 *h, int n);
	float		(*half_l1) (const float *q, const uint16 *h, int n);
	/* half_l2_squared and half_l1 bounded as l2_squared_within is */
	float		(*half_l2_squared_within) (const float *q, const uint16 *h,
										   int n, float limit);
	float		(*half_l1_within) (const float *q, const uint16 *h, int n,
								   float limit);

	/*
	 * Storage bit: the sum of v[i] over the dimensions i whose bit is set in
	 * bits (bit i % 8 of byte i / 8; bits past n are not read)
	 */
	float		(*bit_masked_sum) (const float *v, const uint8 *bits, int n);
} HnswKernelTable;

/* An IEEE binary16 value as a float (exact: every half is a float) */
static inline float
hnsw_half_to_float(uint16 h)
{
	uint32		sign = (uint32) (h & 0x8000) << 16;
	uint32		exponent = (h >> 10) & 0x1F;
	uint32		mantissa = h & 0x3FF;
	uint32		bits;
	float		f;

	if (exponent == 0x1F)
		bits = sign | 0x7F800000 | (mantissa << 13);	/* infinity, NaN */
	else if (exponent != 0)
		bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
	else if (mantissa == 0)
		bits = sign;			/* zero */
	else
	{
		/* subnormal: mantissa * 2^-24, exactly representable */
		f = (float) mantissa * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/*
 * The nearest IEEE binary16 value to f (ties to even); beyond the largest
 * finite half (65504) the largest, so that a code never holds an infinity
 * (the value itself is kept for ranking)
 */
static inline uint16
hnsw_float_to_half(float f)
{
	uint32		bits;
	uint32		sign;
	uint32		abs;
	int			exponent;
	uint32		mantissa;
	uint32		half;

	memcpy(&bits, &f, sizeof(bits));
	sign = (bits >> 16) & 0x8000;
	abs = bits & 0x7FFFFFFF;
	if (abs > 0x477FE000)		/* beyond 65504, or not finite */
		return (uint16) (sign | 0x7BFF);
	exponent = (int) (abs >> 23) - 127;
	mantissa = abs & 0x7FFFFF;
	if (exponent < -25)
		return (uint16) sign;	/* rounds to zero */
	if (exponent < -14)
	{
		/* a subnormal half: the mantissa with its implicit bit, shifted */
		uint32		m = mantissa | 0x800000;
		int			shift = -exponent - 14 + 13;
		uint32		rest = m & ((1u << shift) - 1);
		uint32		halfway = 1u << (shift - 1);

		half = m >> shift;
		if (rest > halfway || (rest == halfway && (half & 1)))
			half++;
		return (uint16) (sign | half);
	}
	half = ((uint32) (exponent + 15) << 10) | (mantissa >> 13);
	if ((mantissa & 0x1FFF) > 0x1000 ||
		((mantissa & 0x1FFF) == 0x1000 && (half & 1)))
		half++;					/* may carry into the exponent: right */
	return (uint16) (sign | half);
}

/* How many elements a bounded kernel sums between checks (a power of 2) */
#define HNSW_KERNEL_CHECK_EVERY 128

/*
 * The plain and the bounded entry points of a float kernel written as
 * name##_body(a, b, n, bounded, limit): bounded is a constant in each, so
 * the plain one has no checks.  attr is the file's target attribute.
 */
#define HNSW_FLOAT_KERNEL_ENTRIES(attr, name) \
attr static float \
name(const float *a, const float *b, int n) \
{ \
	return name##_body(a, b, n, false, 0.0f); \
} \
\
attr static pg_attribute_unused() float \
name##_within(const float *a, const float *b, int n, float limit) \
{ \
	return name##_body(a, b, n, true, limit); \
}

/* The same for the int8 kernels, name##_body(q, lo, step, c, n, ...) */
#define HNSW_INT8_KERNEL_ENTRIES(attr, name) \
attr static float \
name(const float *q, const float *lo, const float *step, const uint8 *c, \
	 int n) \
{ \
	return name##_body(q, lo, step, c, n, false, 0.0f); \
} \
\
attr static pg_attribute_unused() float \
name##_within(const float *q, const float *lo, const float *step, \
			  const uint8 *c, int n, float limit) \
{ \
	return name##_body(q, lo, step, c, n, true, limit); \
}

/* And for the half kernels, name##_body(q, h, n, ...) */
#define HNSW_HALF_KERNEL_ENTRIES(attr, name) \
attr static float \
name(const float *q, const uint16 *h, int n) \
{ \
	return name##_body(q, h, n, false, 0.0f); \
} \
\
attr static pg_attribute_unused() float \
name##_within(const float *q, const uint16 *h, int n, float limit) \
{ \
	return name##_body(q, h, n, true, limit); \
}

extern const HnswKernelTable hnsw_scalar_kernels;

#if defined(__x86_64__) && defined(__GNUC__)
#define HNSW_HAVE_X86_KERNELS 1
extern const HnswKernelTable hnsw_avx2_kernels;
extern const HnswKernelTable *HnswAvx512Kernels(void);
#endif

/* The table in use */
extern const HnswKernelTable *hnsw_kernels;

#endif							/* HNSW_KERNELS_H */
