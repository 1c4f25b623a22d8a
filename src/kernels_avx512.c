/*-------------------------------------------------------------------------
 *
 * kernels_avx512.c
 *	  Float distance kernels for x86-64 CPUs with AVX-512F.
 *
 * 16 lanes and a masked load for the tail, so no scalar loop is needed.
 * The bit kernels are the AVX2 table's (POPCNT is what matters there).
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "kernels.h"

#ifdef HNSW_HAVE_X86_KERNELS

#include <immintrin.h>

#define HNSW_AVX512 __attribute__((target("avx512f,avx2,fma,popcnt,f16c")))

/*
 * One template for the single-accumulator kernels: STEP(acc, va, vb)
 * folds one pair of 16-lane vectors into acc.  Lanes past n load as zero,
 * which adds nothing for any of the terms used here.  name##_within stops
 * once the sum passes limit (see HnswKernelTable); its check adds the
 * accumulators as the end does, so the sum it sees never exceeds the
 * final one.  bounded is a constant in each expansion.
 */
#define HNSW_AVX512_FLOAT_KERNEL(name, STEP) \
HNSW_AVX512 static inline float \
name##_body(const float *a, const float *b, int n, bool bounded, float limit) \
{ \
	__m512		acc0 = _mm512_setzero_ps(); \
	__m512		acc1 = _mm512_setzero_ps(); \
	float		sum; \
	int			i = 0; \
\
	for (; i + 32 <= n; i += 32) \
	{ \
		STEP(acc0, _mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)); \
		STEP(acc1, _mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16)); \
		if (bounded && ((i + 32) & (HNSW_KERNEL_CHECK_EVERY - 1)) == 0 && \
			(sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))) > limit) \
			return sum; \
	} \
	for (; i < n; i += 16) \
	{ \
		__mmask16	k = (n - i >= 16) ? 0xFFFF : (__mmask16) ((1u << (n - i)) - 1); \
\
		STEP(acc0, _mm512_maskz_loadu_ps(k, a + i), _mm512_maskz_loadu_ps(k, b + i)); \
	} \
	return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)); \
} \
\
HNSW_FLOAT_KERNEL_ENTRIES(HNSW_AVX512, name)

#define L2_STEP(acc, va, vb) \
	do { __m512 d_ = _mm512_sub_ps(va, vb); acc = _mm512_fmadd_ps(d_, d_, acc); } while (0)
#define IP_STEP(acc, va, vb) acc = _mm512_fmadd_ps(va, vb, acc)
#define L1_STEP(acc, va, vb) acc = _mm512_add_ps(acc, _mm512_abs_ps(_mm512_sub_ps(va, vb)))

HNSW_AVX512_FLOAT_KERNEL(avx512_l2_squared, L2_STEP)
HNSW_AVX512_FLOAT_KERNEL(avx512_inner_product, IP_STEP)
HNSW_AVX512_FLOAT_KERNEL(avx512_l1, L1_STEP)

HNSW_AVX512 static void
avx512_cosine_parts(const float *a, const float *b, int n,
					float *dot, float *norm_a, float *norm_b)
{
	__m512		d = _mm512_setzero_ps();
	__m512		na = _mm512_setzero_ps();
	__m512		nb = _mm512_setzero_ps();

	for (int i = 0; i < n; i += 16)
	{
		__mmask16	k = (n - i >= 16) ? 0xFFFF : (__mmask16) ((1u << (n - i)) - 1);
		__m512		va = _mm512_maskz_loadu_ps(k, a + i);
		__m512		vb = _mm512_maskz_loadu_ps(k, b + i);

		d = _mm512_fmadd_ps(va, vb, d);
		na = _mm512_fmadd_ps(va, va, na);
		nb = _mm512_fmadd_ps(vb, vb, nb);
	}
	*dot = _mm512_reduce_add_ps(d);
	*norm_a = _mm512_reduce_add_ps(na);
	*norm_b = _mm512_reduce_add_ps(nb);
}

/*
 * The int8 kernels: 16 dimensions at a time, the code bytes widened to
 * floats and decoded with one FMA; lanes past n load as zero (code 0, lo
 * 0, step 0, q 0), which adds nothing (without AVX512BW the last bytes of
 * the code go through a zeroed copy); bounded as the float kernels are
 */
HNSW_AVX512 static inline __m128i
load_code16(const uint8 *c, int left)
{
	uint8		tail[16] = {0};

	if (left >= 16)
		return _mm_loadu_si128((const __m128i *) c);
	memcpy(tail, c, left);
	return _mm_loadu_si128((const __m128i *) tail);
}

#define HNSW_AVX512_INT8_KERNEL(name, STEP) \
HNSW_AVX512 static inline float \
name##_body(const float *q, const float *lo, const float *step, \
			const uint8 *c, int n, bool bounded, float limit) \
{ \
	__m512		acc = _mm512_setzero_ps(); \
	float		sum; \
\
	for (int i = 0; i < n; i += 16) \
	{ \
		__mmask16	k = (n - i >= 16) ? 0xFFFF : (__mmask16) ((1u << (n - i)) - 1); \
		__m512i		ci = _mm512_cvtepu8_epi32(load_code16(c + i, n - i)); \
		__m512		vx = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, step + i), \
										 _mm512_cvtepi32_ps(ci), \
										 _mm512_maskz_loadu_ps(k, lo + i)); \
\
		STEP(acc, _mm512_maskz_loadu_ps(k, q + i), vx); \
		if (bounded && ((i + 16) & (HNSW_KERNEL_CHECK_EVERY - 1)) == 0 && \
			(sum = _mm512_reduce_add_ps(acc)) > limit) \
			return sum; \
	} \
	return _mm512_reduce_add_ps(acc); \
} \
\
HNSW_INT8_KERNEL_ENTRIES(HNSW_AVX512, name)

HNSW_AVX512_INT8_KERNEL(avx512_int8_l2_squared, L2_STEP)
HNSW_AVX512_INT8_KERNEL(avx512_int8_inner_product, IP_STEP)
HNSW_AVX512_INT8_KERNEL(avx512_int8_l1, L1_STEP)

/* 16 halves from h, of which left are there, the others zero */
HNSW_AVX512 static inline __m256i
load_half16(const uint16 *h, int left)
{
	uint16		tail[16] = {0};

	if (left >= 16)
		return _mm256_loadu_si256((const __m256i *) h);
	memcpy(tail, h, sizeof(uint16) * left);
	return _mm256_loadu_si256((const __m256i *) tail);
}

/* The half kernels: 16 dimensions at a time, widened by VCVTPH2PS; bounded */
#define HNSW_AVX512_HALF_KERNEL(name, STEP) \
HNSW_AVX512 static inline float \
name##_body(const float *q, const uint16 *h, int n, bool bounded, \
			float limit) \
{ \
	__m512		acc = _mm512_setzero_ps(); \
	float		sum; \
\
	for (int i = 0; i < n; i += 16) \
	{ \
		__mmask16	k = (n - i >= 16) ? 0xFFFF : (__mmask16) ((1u << (n - i)) - 1); \
\
		STEP(acc, _mm512_maskz_loadu_ps(k, q + i), \
			 _mm512_cvtph_ps(load_half16(h + i, n - i))); \
		if (bounded && ((i + 16) & (HNSW_KERNEL_CHECK_EVERY - 1)) == 0 && \
			(sum = _mm512_reduce_add_ps(acc)) > limit) \
			return sum; \
	} \
	return _mm512_reduce_add_ps(acc); \
} \
\
HNSW_HALF_KERNEL_ENTRIES(HNSW_AVX512, name)

HNSW_AVX512_HALF_KERNEL(avx512_half_l2_squared, L2_STEP)
HNSW_AVX512_HALF_KERNEL(avx512_half_inner_product, IP_STEP)
HNSW_AVX512_HALF_KERNEL(avx512_half_l1, L1_STEP)

/*
 * Storage bit: 16 dimensions at a time, two bytes of bits being the lane
 * mask of the addition itself
 */
HNSW_AVX512 static float
avx512_bit_masked_sum(const float *v, const uint8 *bits, int n)
{
	__m512		acc = _mm512_setzero_ps();

	for (int i = 0; i < n; i += 16)
	{
		int			left = n - i;
		__mmask16	k = left >= 16 ? 0xFFFF : (__mmask16) ((1u << left) - 1);
		__mmask16	set = (__mmask16) (bits[i / 8] |
									   (left > 8 ? bits[i / 8 + 1] << 8 : 0));

		acc = _mm512_mask_add_ps(acc, k & set, acc, _mm512_maskz_loadu_ps(k & set, v + i));
	}
	return _mm512_reduce_add_ps(acc);
}

/* Filled in by HnswAvx512Kernels(): the bit kernels come from AVX2 */
static HnswKernelTable avx512_table;

const HnswKernelTable *
HnswAvx512Kernels(void)
{
	avx512_table = hnsw_avx2_kernels;
	avx512_table.name = "avx512";
	avx512_table.l2_squared = avx512_l2_squared;
	avx512_table.inner_product = avx512_inner_product;
	avx512_table.l1 = avx512_l1;
	avx512_table.l2_squared_within = avx512_l2_squared_within;
	avx512_table.l1_within = avx512_l1_within;
	avx512_table.cosine_parts = avx512_cosine_parts;
	avx512_table.int8_l2_squared = avx512_int8_l2_squared;
	avx512_table.int8_inner_product = avx512_int8_inner_product;
	avx512_table.int8_l1 = avx512_int8_l1;
	avx512_table.int8_l2_squared_within = avx512_int8_l2_squared_within;
	avx512_table.int8_l1_within = avx512_int8_l1_within;
	avx512_table.half_l2_squared = avx512_half_l2_squared;
	avx512_table.half_inner_product = avx512_half_inner_product;
	avx512_table.half_l1 = avx512_half_l1;
	avx512_table.half_l2_squared_within = avx512_half_l2_squared_within;
	avx512_table.half_l1_within = avx512_half_l1_within;
	avx512_table.bit_masked_sum = avx512_bit_masked_sum;
	return &avx512_table;
}

#endif							/* HNSW_HAVE_X86_KERNELS */
