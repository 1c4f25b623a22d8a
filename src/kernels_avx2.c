/*-------------------------------------------------------------------------
 *
 * kernels_avx2.c
 *	  Distance kernels for x86-64 CPUs with AVX2, FMA, POPCNT and F16C.
 *
 * Compiled with target attributes, not -mavx2, so the rest of the
 * extension stays generic; distance.c only publishes this table after
 * CPU detection has seen all four features.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "kernels.h"

#ifdef HNSW_HAVE_X86_KERNELS

#include <immintrin.h>

#define HNSW_AVX2 __attribute__((target("avx2,fma,popcnt,f16c")))

HNSW_AVX2 static inline float
hsum256(__m256 v)
{
	__m128		lo = _mm256_castps256_ps128(v);
	__m128		hi = _mm256_extractf128_ps(v, 1);

	lo = _mm_add_ps(lo, hi);
	lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
	lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 0x55));
	return _mm_cvtss_f32(lo);
}

/*
 * The three one-accumulator float kernels share this loop: two independent
 * accumulators of 8 lanes, then a scalar tail.  STEP(acc, va, vb) folds one
 * vector pair into acc; TAIL(x, y) is the scalar term.  name##_within
 * stops once the sum passes limit (see HnswKernelTable); its check adds
 * the accumulators as the end does, so the sum it sees never exceeds the
 * final one.  bounded is a constant in each expansion.
 */
#define HNSW_AVX2_FLOAT_KERNEL(name, STEP, TAIL) \
HNSW_AVX2 static inline float \
name##_body(const float *a, const float *b, int n, bool bounded, float limit) \
{ \
	__m256		acc0 = _mm256_setzero_ps(); \
	__m256		acc1 = _mm256_setzero_ps(); \
	float		sum; \
	int			i = 0; \
\
	for (; i + 16 <= n; i += 16) \
	{ \
		STEP(acc0, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)); \
		STEP(acc1, _mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)); \
		if (bounded && ((i + 16) & (HNSW_KERNEL_CHECK_EVERY - 1)) == 0 && \
			(sum = hsum256(_mm256_add_ps(acc0, acc1))) > limit) \
			return sum; \
	} \
	for (; i + 8 <= n; i += 8) \
		STEP(acc0, _mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)); \
	sum = hsum256(_mm256_add_ps(acc0, acc1)); \
	for (; i < n; i++) \
		sum += TAIL(a[i], b[i]); \
	return sum; \
} \
\
HNSW_FLOAT_KERNEL_ENTRIES(HNSW_AVX2, name)

#define L2_STEP(acc, va, vb) \
	do { __m256 d_ = _mm256_sub_ps(va, vb); acc = _mm256_fmadd_ps(d_, d_, acc); } while (0)
#define L2_TAIL(x, y) (((x) - (y)) * ((x) - (y)))
#define IP_STEP(acc, va, vb) acc = _mm256_fmadd_ps(va, vb, acc)
#define IP_TAIL(x, y) ((x) * (y))
#define L1_STEP(acc, va, vb) \
	acc = _mm256_add_ps(acc, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(va, vb)))
#define L1_TAIL(x, y) fabsf((x) - (y))

HNSW_AVX2_FLOAT_KERNEL(avx2_l2_squared, L2_STEP, L2_TAIL)
HNSW_AVX2_FLOAT_KERNEL(avx2_inner_product, IP_STEP, IP_TAIL)
HNSW_AVX2_FLOAT_KERNEL(avx2_l1, L1_STEP, L1_TAIL)

HNSW_AVX2 static void
avx2_cosine_parts(const float *a, const float *b, int n,
				  float *dot, float *norm_a, float *norm_b)
{
	__m256		d = _mm256_setzero_ps();
	__m256		na = _mm256_setzero_ps();
	__m256		nb = _mm256_setzero_ps();
	float		sd,
				sa,
				sb;
	int			i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256		va = _mm256_loadu_ps(a + i);
		__m256		vb = _mm256_loadu_ps(b + i);

		d = _mm256_fmadd_ps(va, vb, d);
		na = _mm256_fmadd_ps(va, va, na);
		nb = _mm256_fmadd_ps(vb, vb, nb);
	}
	sd = hsum256(d);
	sa = hsum256(na);
	sb = hsum256(nb);
	for (; i < n; i++)
	{
		sd += a[i] * b[i];
		sa += a[i] * a[i];
		sb += b[i] * b[i];
	}
	*dot = sd;
	*norm_a = sa;
	*norm_b = sb;
}

HNSW_AVX2 static uint64
avx2_bit_hamming(const uint8 *a, const uint8 *b, int nbytes)
{
	uint64		count = 0;
	int			i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64		x,
					y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		count += __builtin_popcountll(x ^ y);
	}
	for (; i < nbytes; i++)
		count += __builtin_popcount(a[i] ^ b[i]);
	return count;
}

HNSW_AVX2 static void
avx2_bit_jaccard(const uint8 *a, const uint8 *b, int nbytes,
				 uint64 *and_count, uint64 *or_count)
{
	uint64		ac = 0,
				oc = 0;
	int			i = 0;

	for (; i + 8 <= nbytes; i += 8)
	{
		uint64		x,
					y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		ac += __builtin_popcountll(x & y);
		oc += __builtin_popcountll(x | y);
	}
	for (; i < nbytes; i++)
	{
		ac += __builtin_popcount(a[i] & b[i]);
		oc += __builtin_popcount(a[i] | b[i]);
	}
	*and_count = ac;
	*or_count = oc;
}

/*
 * The int8 kernels: 16 dimensions at a time into two accumulators, their
 * code bytes widened to floats and decoded with one FMA (x = lo + step *
 * c); STEP(acc, vq, vx) folds them into acc as the float kernels do,
 * TAIL(x, y) the scalar rest; bounded as the float kernels are.
 */
#define HNSW_AVX2_INT8_DECODE(c8, i) \
	_mm256_fmadd_ps(_mm256_loadu_ps(step + (i)), \
					_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c8)), \
					_mm256_loadu_ps(lo + (i)))

#define HNSW_AVX2_INT8_KERNEL(name, STEP, TAIL) \
HNSW_AVX2 static inline float \
name##_body(const float *q, const float *lo, const float *step, \
			const uint8 *c, int n, bool bounded, float limit) \
{ \
	__m256		acc0 = _mm256_setzero_ps(); \
	__m256		acc1 = _mm256_setzero_ps(); \
	float		sum; \
	int			i = 0; \
\
	for (; i + 16 <= n; i += 16) \
	{ \
		__m128i		c16 = _mm_loadu_si128((const __m128i *) (c + i)); \
\
		STEP(acc0, _mm256_loadu_ps(q + i), HNSW_AVX2_INT8_DECODE(c16, i)); \
		STEP(acc1, _mm256_loadu_ps(q + i + 8), \
			 HNSW_AVX2_INT8_DECODE(_mm_srli_si128(c16, 8), i + 8)); \
		if (bounded && ((i + 16) & (HNSW_KERNEL_CHECK_EVERY - 1)) == 0 && \
			(sum = hsum256(_mm256_add_ps(acc0, acc1))) > limit) \
			return sum; \
	} \
	for (; i + 8 <= n; i += 8) \
		STEP(acc0, _mm256_loadu_ps(q + i), \
			 HNSW_AVX2_INT8_DECODE(_mm_loadl_epi64((const __m128i *) (c + i)), i)); \
	sum = hsum256(_mm256_add_ps(acc0, acc1)); \
	for (; i < n; i++) \
		sum += TAIL(q[i], lo[i] + step[i] * (float) c[i]); \
	return sum; \
} \
\
HNSW_INT8_KERNEL_ENTRIES(HNSW_AVX2, name)

HNSW_AVX2_INT8_KERNEL(avx2_int8_l2_squared, L2_STEP, L2_TAIL)
HNSW_AVX2_INT8_KERNEL(avx2_int8_inner_product, IP_STEP, IP_TAIL)
HNSW_AVX2_INT8_KERNEL(avx2_int8_l1, L1_STEP, L1_TAIL)

/*
 * The exact sum of u[i] * c[i]: 32 dimensions a step, the code bytes
 * widened to 16 bits and multiplied with VPMADDWD into pairs summed in 32
 * bits.  A pair sums at most 2 * 255 * 32768 < 2^24, so each 32-bit lane
 * takes 64 steps of each accumulator (2048 dimensions) before it is added
 * into the 64-bit total, far from overflowing.  dot_units16 takes 16
 * dimensions: code bytes c16 against units u.
 */
HNSW_AVX2 static inline __m256i
dot_units16(__m128i c16, const int16 *u)
{
	return _mm256_madd_epi16(_mm256_cvtepu8_epi16(c16),
							 _mm256_loadu_si256((const __m256i *) u));
}

/* The four 32-bit lanes of half a register widened and summed in 64 bits */
HNSW_AVX2 static inline __m256i
widen_lanes(__m256i acc)
{
	return _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(acc)),
							_mm256_cvtepi32_epi64(_mm256_extracti128_si256(acc, 1)));
}

HNSW_AVX2 static int64
avx2_int8_dot_units(const int16 *u, const uint8 *c, int n)
{
	int64		total = 0;
	int			i = 0;

	while (i + 32 <= n)
	{
		__m256i		acc0 = _mm256_setzero_si256();
		__m256i		acc1 = _mm256_setzero_si256();
		int			end = Min(n, i + 2048);
		__m256i		sum;
		__m128i		half;

		for (; i + 32 <= end; i += 32)
		{
			__m256i		c32 = _mm256_loadu_si256((const __m256i *) (c + i));

			acc0 = _mm256_add_epi32(acc0,
									dot_units16(_mm256_castsi256_si128(c32), u + i));
			acc1 = _mm256_add_epi32(acc1,
									dot_units16(_mm256_extracti128_si256(c32, 1), u + i + 16));
		}
		sum = _mm256_add_epi64(widen_lanes(acc0), widen_lanes(acc1));
		half = _mm_add_epi64(_mm256_castsi256_si128(sum),
							 _mm256_extracti128_si256(sum, 1));
		total += _mm_cvtsi128_si64(half) + _mm_extract_epi64(half, 1);
	}
	for (; i < n; i++)
		total += (int32) u[i] * c[i];
	return total;
}

/*
 * The half kernels: 16 dimensions at a time into two accumulators, widened
 * to floats by F16C's VCVTPH2PS, then as the float kernels
 */
#define HNSW_AVX2_HALVES(i) \
	_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (h + (i))))

#define HNSW_AVX2_HALF_KERNEL(name, STEP, TAIL) \
HNSW_AVX2 static inline float \
name##_body(const float *q, const uint16 *h, int n, bool bounded, \
			float limit) \
{ \
	__m256		acc0 = _mm256_setzero_ps(); \
	__m256		acc1 = _mm256_setzero_ps(); \
	float		sum; \
	int			i = 0; \
\
	for (; i + 16 <= n; i += 16) \
	{ \
		STEP(acc0, _mm256_loadu_ps(q + i), HNSW_AVX2_HALVES(i)); \
		STEP(acc1, _mm256_loadu_ps(q + i + 8), HNSW_AVX2_HALVES(i + 8)); \
		if (bounded && ((i + 16) & (HNSW_KERNEL_CHECK_EVERY - 1)) == 0 && \
			(sum = hsum256(_mm256_add_ps(acc0, acc1))) > limit) \
			return sum; \
	} \
	for (; i + 8 <= n; i += 8) \
		STEP(acc0, _mm256_loadu_ps(q + i), HNSW_AVX2_HALVES(i)); \
	sum = hsum256(_mm256_add_ps(acc0, acc1)); \
	for (; i < n; i++) \
		sum += TAIL(q[i], hnsw_half_to_float(h[i])); \
	return sum; \
} \
\
HNSW_HALF_KERNEL_ENTRIES(HNSW_AVX2, name)

HNSW_AVX2_HALF_KERNEL(avx2_half_l2_squared, L2_STEP, L2_TAIL)
HNSW_AVX2_HALF_KERNEL(avx2_half_inner_product, IP_STEP, IP_TAIL)
HNSW_AVX2_HALF_KERNEL(avx2_half_l1, L1_STEP, L1_TAIL)

/*
 * Storage bit: 8 dimensions at a time, their byte of bits spread to a lane
 * mask (each lane keeps the bit it stands for, compared with that bit)
 */
HNSW_AVX2 static float
avx2_bit_masked_sum(const float *v, const uint8 *bits, int n)
{
	__m256i		lane_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
	__m256		acc = _mm256_setzero_ps();
	float		sum;
	int			i = 0;

	for (; i + 8 <= n; i += 8)
	{
		__m256i		b = _mm256_and_si256(_mm256_set1_epi32(bits[i / 8]), lane_bits);
		__m256		mask = _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, lane_bits));

		acc = _mm256_add_ps(acc, _mm256_and_ps(mask, _mm256_loadu_ps(v + i)));
	}
	sum = hsum256(acc);
	for (; i < n; i++)
		if (bits[i / 8] & (1 << (i % 8)))
			sum += v[i];
	return sum;
}

const HnswKernelTable hnsw_avx2_kernels = {
	"avx2",
	avx2_l2_squared,
	avx2_inner_product,
	avx2_l1,
	avx2_l2_squared_within,
	avx2_l1_within,
	avx2_cosine_parts,
	avx2_bit_hamming,
	avx2_bit_jaccard,
	avx2_int8_l2_squared,
	avx2_int8_inner_product,
	avx2_int8_l1,
	avx2_int8_dot_units,
	avx2_int8_l2_squared_within,
	avx2_int8_l1_within,
	avx2_half_l2_squared,
	avx2_half_inner_product,
	avx2_half_l1,
	avx2_half_l2_squared_within,
	avx2_half_l1_within,
	avx2_bit_masked_sum
};

#endif							/* HNSW_HAVE_X86_KERNELS */
