/*-------------------------------------------------------------------------
 *
 * kernels_scalar.c
 *	  Portable distance kernels: the reference every other table is
 *	  tested against, and the fallback on CPUs without AVX2.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_bitutils.h"

#include <math.h>

#include "kernels.h"

/*
 * The float kernels differ only in what they accumulate per element, so
 * they are generated from one template.  name##_within stops once the sum
 * passes limit (see HnswKernelTable); bounded is a constant in each
 * expansion, so the plain kernel has no checks.
 */
#define HNSW_SCALAR_FLOAT_KERNEL(name, term) \
static inline float \
name##_body(const float *a, const float *b, int n, bool bounded, float limit) \
{ \
	float		sum = 0.0f; \
\
	for (int i = 0; i < n; i++) \
	{ \
		sum += (term); \
		if (bounded && ((i + 1) & (HNSW_KERNEL_CHECK_EVERY - 1)) == 0 && \
			sum > limit) \
			return sum; \
	} \
	return sum; \
} \
\
HNSW_FLOAT_KERNEL_ENTRIES(, name)

HNSW_SCALAR_FLOAT_KERNEL(scalar_l2_squared, (a[i] - b[i]) * (a[i] - b[i]))
HNSW_SCALAR_FLOAT_KERNEL(scalar_inner_product, a[i] * b[i])
HNSW_SCALAR_FLOAT_KERNEL(scalar_l1, fabsf(a[i] - b[i]))

static void
scalar_cosine_parts(const float *a, const float *b, int n,
					float *dot, float *norm_a, float *norm_b)
{
	float		d = 0.0f,
				na = 0.0f,
				nb = 0.0f;

	for (int i = 0; i < n; i++)
	{
		d += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	*dot = d;
	*norm_a = na;
	*norm_b = nb;
}

static uint64
scalar_bit_hamming(const uint8 *a, const uint8 *b, int nbytes)
{
	uint64		count = 0;

	for (int i = 0; i < nbytes; i++)
		count += pg_number_of_ones[a[i] ^ b[i]];
	return count;
}

static void
scalar_bit_jaccard(const uint8 *a, const uint8 *b, int nbytes,
				   uint64 *and_count, uint64 *or_count)
{
	uint64		ac = 0,
				oc = 0;

	for (int i = 0; i < nbytes; i++)
	{
		ac += pg_number_of_ones[a[i] & b[i]];
		oc += pg_number_of_ones[a[i] | b[i]];
	}
	*and_count = ac;
	*or_count = oc;
}

/*
 * The int8 kernels: each dimension decoded, then the float kernel's term
 * (see HnswKernelTable); bounded as the float kernels are
 */
#define HNSW_SCALAR_INT8_KERNEL(name, term) \
static inline float \
name##_body(const float *q, const float *lo, const float *step, \
			const uint8 *c, int n, bool bounded, float limit) \
{ \
	float		sum = 0.0f; \
\
	for (int i = 0; i < n; i++) \
	{ \
		float		x = lo[i] + step[i] * (float) c[i]; \
\
		sum += (term); \
		if (bounded && ((i + 1) & (HNSW_KERNEL_CHECK_EVERY - 1)) == 0 && \
			sum > limit) \
			return sum; \
	} \
	return sum; \
} \
\
HNSW_INT8_KERNEL_ENTRIES(, name)

HNSW_SCALAR_INT8_KERNEL(scalar_int8_l2_squared, (q[i] - x) * (q[i] - x))
HNSW_SCALAR_INT8_KERNEL(scalar_int8_inner_product, q[i] * x)
HNSW_SCALAR_INT8_KERNEL(scalar_int8_l1, fabsf(q[i] - x))

static int64
scalar_int8_dot_units(const int16 *u, const uint8 *c, int n)
{
	int64		sum = 0;

	for (int i = 0; i < n; i++)
		sum += (int32) u[i] * c[i];
	return sum;
}

/* The half kernels: each value widened, then the float kernel's term */
#define HNSW_SCALAR_HALF_KERNEL(name, term) \
static inline float \
name##_body(const float *q, const uint16 *h, int n, bool bounded, \
			float limit) \
{ \
	float		sum = 0.0f; \
\
	for (int i = 0; i < n; i++) \
	{ \
		float		x = hnsw_half_to_float(h[i]); \
\
		sum += (term); \
		if (bounded && ((i + 1) & (HNSW_KERNEL_CHECK_EVERY - 1)) == 0 && \
			sum > limit) \
			return sum; \
	} \
	return sum; \
} \
\
HNSW_HALF_KERNEL_ENTRIES(, name)

HNSW_SCALAR_HALF_KERNEL(scalar_half_l2_squared, (q[i] - x) * (q[i] - x))
HNSW_SCALAR_HALF_KERNEL(scalar_half_inner_product, q[i] * x)
HNSW_SCALAR_HALF_KERNEL(scalar_half_l1, fabsf(q[i] - x))

/* Storage bit: v summed over the set bits */
static float
scalar_bit_masked_sum(const float *v, const uint8 *bits, int n)
{
	float		sum = 0.0f;

	for (int i = 0; i < n; i++)
		if (bits[i / 8] & (1 << (i % 8)))
			sum += v[i];
	return sum;
}

const HnswKernelTable hnsw_scalar_kernels = {
	"scalar",
	scalar_l2_squared,
	scalar_inner_product,
	scalar_l1,
	scalar_l2_squared_within,
	scalar_l1_within,
	scalar_cosine_parts,
	scalar_bit_hamming,
	scalar_bit_jaccard,
	scalar_int8_l2_squared,
	scalar_int8_inner_product,
	scalar_int8_l1,
	scalar_int8_dot_units,
	scalar_int8_l2_squared_within,
	scalar_int8_l1_within,
	scalar_half_l2_squared,
	scalar_half_inner_product,
	scalar_half_l1,
	scalar_half_l2_squared_within,
	scalar_half_l1_within,
	scalar_bit_masked_sum
};
