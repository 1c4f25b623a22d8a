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
} HnswKernelTable;

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

extern const HnswKernelTable hnsw_scalar_kernels;

#if defined(__x86_64__) && defined(__GNUC__)
#define HNSW_HAVE_X86_KERNELS 1
extern const HnswKernelTable hnsw_avx2_kernels;
extern const HnswKernelTable *HnswAvx512Kernels(void);
#endif

/* The table in use */
extern const HnswKernelTable *hnsw_kernels;

#endif							/* HNSW_KERNELS_H */
