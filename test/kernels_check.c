/*-------------------------------------------------------------------------
 *
 * kernels_check.c
 *	  Stand-alone check of the distance kernels, to run under valgrind
 *	  (or a sanitizer): every kernel table, the scalar one included, against
 *	  naive loops in double precision written here, for every length from 0
 *	  to 300 and every misalignment of the inputs, with the buffers
 *	  allocated to the exact length so that a read past the end is
 *	  reported; and each bounded kernel against its own table's plain one.
 *	  A table this CPU can run that the build lacks is a failure.
 *
 *	  HNSW_KERNELS_SKIP=avx512 leaves a table out (valgrind cannot run
 *	  AVX-512 instructions).
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <math.h>

#include "kernels.h"

static int	passed = 0;
static int	failed = 0;

static void
expect(bool ok, const char *table, const char *kernel, int n, int shift)
{
	if (ok)
		passed++;
	else
	{
		failed++;
		if (failed <= 20)
			printf("MISMATCH %s %s n=%d shift=%d\n", table, kernel, n, shift);
	}
}

/* float sums differ by rounding: allow for the size of the terms summed */
static bool
close_to(double a, double b, double scale)
{
	return fabs(a - b) <= 1e-5 * fmax(1.0, scale);
}

static double
abs_dot(const float *a, const float *b, int n)
{
	double		s = 0;

	for (int i = 0; i < n; i++)
		s += fabs((double) a[i] * b[i]);
	return s;
}

/* The references: what each kernel computes, naively, in double precision */
static double
naive_l2_squared(const float *a, const float *b, int n)
{
	double		s = 0;

	for (int i = 0; i < n; i++)
		s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
	return s;
}

static double
naive_inner_product(const float *a, const float *b, int n)
{
	double		s = 0;

	for (int i = 0; i < n; i++)
		s += (double) a[i] * b[i];
	return s;
}

static double
naive_l1(const float *a, const float *b, int n)
{
	double		s = 0;

	for (int i = 0; i < n; i++)
		s += fabs((double) a[i] - b[i]);
	return s;
}

/*
 * The int8 references: code c decoded as lo + step * c in double
 * precision, then measured against q (what = 0: squared L2, 1: inner
 * product, 2: L1); *scale gets the sum of the terms' sizes
 */
static double
naive_int8(const float *q, const float *lo, const float *step,
		   const uint8 *c, int n, int what, double *scale)
{
	double		s = 0;

	*scale = 0;
	for (int i = 0; i < n; i++)
	{
		double		x = (double) lo[i] + (double) step[i] * c[i];
		double		term = what == 0 ? (q[i] - x) * (q[i] - x) :
			what == 1 ? q[i] * x : fabs(q[i] - x);

		s += term;
		*scale += fabs(term);
	}
	return s;
}

/* An IEEE binary16 value, from its definition */
static double
naive_half(uint16 h)
{
	int			e = (h >> 10) & 0x1F;
	int			m = h & 0x3FF;
	double		v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);

	return (h & 0x8000) ? -v : v;
}

/* The int8 walk's sum of units times code bytes */
static int64
naive_dot_units(const int16 *u, const uint8 *c, int n)
{
	int64		sum = 0;

	for (int i = 0; i < n; i++)
		sum += (int64) u[i] * c[i];
	return sum;
}

/*
 * The sum of units at its extremes, past the 2,048 dimensions a kernel may
 * sum in 32 bits: every product -32768 * 255 (and +32767 * 255), over
 * lengths around and beyond those blocks; an overflow changes the sign.
 */
static void
check_dot_units_extremes(const HnswKernelTable *t)
{
	static const int lengths[] = {2047, 2048, 2049, 4096 + 31, 16000};

	for (int k = 0; k < lengthof(lengths); k++)
	{
		int			n = lengths[k];
		int16	   *u = malloc(sizeof(int16) * n);
		uint8	   *c = malloc(n);

		for (int sign = 0; sign < 2; sign++)
		{
			for (int i = 0; i < n; i++)
			{
				u[i] = sign ? 32767 : -32768;
				c[i] = 255;
			}
			expect(t->int8_dot_units(u, c, n) == naive_dot_units(u, c, n),
				   t->name, "int8 dot units at extremes", n, 0);
		}
		free(u);
		free(c);
	}
}

/* The half kernels' references, as naive_int8's */
static double
naive_half_kernel(const float *q, const uint16 *h, int n, int what, double *scale)
{
	double		s = 0;

	*scale = 0;
	for (int i = 0; i < n; i++)
	{
		double		x = naive_half(h[i]);
		double		term = what == 0 ? (q[i] - x) * (q[i] - x) :
			what == 1 ? q[i] * x : fabs(q[i] - x);

		s += term;
		*scale += fabs(term);
	}
	return s;
}

/*
 * The conversions: every finite half widens to its value and narrows back
 * to itself; a float narrows to a nearest half (ties to the even one), and
 * beyond 65504 to 65504
 */
static void
check_halves(void)
{
	for (uint32 h = 0; h < 0x10000; h++)
	{
		if (((h >> 10) & 0x1F) == 0x1F)
			continue;			/* infinities and NaNs: never in a code */
		expect(hnsw_half_to_float((uint16) h) == (float) naive_half((uint16) h),
			   "half", "widen", (int) h, 0);
		expect(hnsw_float_to_half(hnsw_half_to_float((uint16) h)) == h ||
			   (h == 0x8000 && hnsw_float_to_half(-0.0f) == 0x8000),
			   "half", "round trip", (int) h, 0);
	}
	for (int i = 0; i < 200000; i++)
	{
		float		f = ldexpf((float) rand() / RAND_MAX * 2 - 1, rand() % 44 - 28);
		uint16		h = hnsw_float_to_half(f);
		double		err = fabs(f - naive_half(h));
		bool		nearest = true;

		/* no other half is nearer: the neighbours of h in its sign */
		for (int d = -1; d <= 1; d += 2)
		{
			int			other = (int) (h & 0x7FFF) + d;
			double		oerr;

			if (other < 0 || other > 0x7BFF)
				continue;
			oerr = fabs(f - naive_half((uint16) ((h & 0x8000) | other)));
			if (oerr < err || (oerr == err && (h & 1)))
				nearest = false;
		}
		if (fabs(f) > 65504)
			nearest = (h & 0x7FFF) == 0x7BFF;
		expect(nearest, "half", "narrow", i, 0);
	}
}

static uint64
naive_popcount(uint8 x)
{
	uint64		c = 0;

	for (; x; x >>= 1)
		c += x & 1;
	return c;
}

/*
 * A bounded kernel: with a limit at or above the full sum, the plain
 * kernel's result bit for bit; with one below it, a value above the limit
 * and no larger than the full sum.  bounded_ok judges the results;
 * WITHIN_OK calls a plain kernel and its bounded form on the same
 * arguments (the bounded one's limit last).
 */
static bool
bounded_ok(float full, float at_infinity, float at_full, float at_half)
{
	float		low = full * 0.5f;

	if (at_infinity != full || at_full != full)
		return false;
	return full <= low || (at_half > low && at_half <= full);
}

#define WITHIN_OK(plain, within, ...) \
	bounded_ok(plain(__VA_ARGS__), within(__VA_ARGS__, INFINITY), \
			   within(__VA_ARGS__, plain(__VA_ARGS__)), \
			   within(__VA_ARGS__, plain(__VA_ARGS__) * 0.5f))

static void
check_table(const HnswKernelTable *t)
{
	check_dot_units_extremes(t);
	for (int n = 0; n <= 300; n++)
		for (int shift = 0; shift < 4; shift++)
		{
			/* exactly n floats after the shift: nothing to read beyond */
			float	   *abuf = malloc(sizeof(float) * (n + shift) + 1);
			float	   *bbuf = malloc(sizeof(float) * (n + shift) + 1);
			float	   *a = abuf + shift;
			float	   *b = bbuf + shift;
			float	   *lobuf = malloc(sizeof(float) * (n + shift) + 1);
			float	   *stepbuf = malloc(sizeof(float) * (n + shift) + 1);
			float	   *lo = lobuf + shift;
			float	   *step = stepbuf + shift;
			uint16	   *hbuf = malloc(sizeof(uint16) * (n + shift) + 1);
			uint16	   *h = hbuf + shift;
			int16	   *unitsbuf = malloc(sizeof(int16) * (n + shift) + 1);
			int16	   *units = unitsbuf + shift;
			double		ref,
						scale;
			uint8	   *x = malloc(n + shift + 1);
			uint8	   *y = malloc(n + shift + 1);
			float		dot,
						norm_a,
						norm_b;
			uint64		and_count,
						or_count,
						hamming = 0,
						and_ref = 0,
						or_ref = 0;
			double		l2,
						l1,
						ip,
						dots;

			for (int i = 0; i < n; i++)
			{
				a[i] = (float) (rand() % 2001 - 1000) / 100.0f;
				b[i] = (float) (rand() % 2001 - 1000) / 100.0f;
				lo[i] = (float) (rand() % 2001 - 1000) / 100.0f;
				step[i] = (float) (rand() % 1000) / 10000.0f;
				h[i] = hnsw_float_to_half((float) (rand() % 2001 - 1000) / 37.0f);
				units[i] = (int16) (rand() % 65536 - 32768);
			}
			for (int i = 0; i < n + shift; i++)
			{
				x[i] = rand() & 0xFF;
				y[i] = rand() & 0xFF;
			}
			for (int i = shift; i < n + shift; i++)
			{
				hamming += naive_popcount(x[i] ^ y[i]);
				and_ref += naive_popcount(x[i] & y[i]);
				or_ref += naive_popcount(x[i] | y[i]);
			}
			l2 = naive_l2_squared(a, b, n);
			l1 = naive_l1(a, b, n);
			ip = naive_inner_product(a, b, n);
			dots = abs_dot(a, b, n);

			expect(close_to(t->l2_squared(a, b, n), l2, l2), t->name, "l2", n, shift);
			expect(close_to(t->inner_product(a, b, n), ip, dots), t->name, "ip", n, shift);
			expect(close_to(t->l1(a, b, n), l1, l1), t->name, "l1", n, shift);
			expect(WITHIN_OK(t->l2_squared, t->l2_squared_within, a, b, n),
				   t->name, "l2 within", n, shift);
			expect(WITHIN_OK(t->l1, t->l1_within, a, b, n),
				   t->name, "l1 within", n, shift);
			t->cosine_parts(a, b, n, &dot, &norm_a, &norm_b);
			expect(close_to(dot, ip, dots) &&
				   close_to(norm_a, naive_inner_product(a, a, n), norm_a) &&
				   close_to(norm_b, naive_inner_product(b, b, n), norm_b),
				   t->name, "cosine", n, shift);
			expect(t->bit_hamming(x + shift, y + shift, n) == hamming,
				   t->name, "hamming", n, shift);
			t->bit_jaccard(x + shift, y + shift, n, &and_count, &or_count);
			expect(and_count == and_ref && or_count == or_ref, t->name, "jaccard", n, shift);
			/* the int8 kernels, the codes being y's bytes */
			ref = naive_int8(a, lo, step, y + shift, n, 0, &scale);
			expect(close_to(t->int8_l2_squared(a, lo, step, y + shift, n), ref, scale),
				   t->name, "int8 l2", n, shift);
			ref = naive_int8(a, lo, step, y + shift, n, 1, &scale);
			expect(close_to(t->int8_inner_product(a, lo, step, y + shift, n), ref, scale),
				   t->name, "int8 ip", n, shift);
			ref = naive_int8(a, lo, step, y + shift, n, 2, &scale);
			expect(close_to(t->int8_l1(a, lo, step, y + shift, n), ref, scale),
				   t->name, "int8 l1", n, shift);
			expect(WITHIN_OK(t->int8_l2_squared, t->int8_l2_squared_within,
							 a, lo, step, y + shift, n),
				   t->name, "int8 l2 within", n, shift);
			expect(WITHIN_OK(t->int8_l1, t->int8_l1_within,
							 a, lo, step, y + shift, n),
				   t->name, "int8 l1 within", n, shift);
			expect(t->int8_dot_units(units, y + shift, n) ==
				   naive_dot_units(units, y + shift, n),
				   t->name, "int8 dot units", n, shift);
			/* the half kernels */
			ref = naive_half_kernel(a, h, n, 0, &scale);
			expect(close_to(t->half_l2_squared(a, h, n), ref, scale),
				   t->name, "half l2", n, shift);
			ref = naive_half_kernel(a, h, n, 1, &scale);
			expect(close_to(t->half_inner_product(a, h, n), ref, scale),
				   t->name, "half ip", n, shift);
			ref = naive_half_kernel(a, h, n, 2, &scale);
			expect(close_to(t->half_l1(a, h, n), ref, scale),
				   t->name, "half l1", n, shift);
			expect(WITHIN_OK(t->half_l2_squared, t->half_l2_squared_within, a, h, n),
				   t->name, "half l2 within", n, shift);
			expect(WITHIN_OK(t->half_l1, t->half_l1_within, a, h, n),
				   t->name, "half l1 within", n, shift);

			/*
			 * the bit kernel, over exactly the bytes of n bits (the bits past
			 * n set, which a kernel must not count)
			 */
			{
				int			nbytes = (n + 7) / 8;
				uint8	   *bits = malloc(nbytes + 1);
				double		sum = 0,
							abs_sum = 0;

				memcpy(bits, y + shift, nbytes);
				if (n % 8)
					bits[nbytes - 1] |= (uint8) (0xFF << (n % 8));
				for (int i = 0; i < n; i++)
				{
					abs_sum += fabs(a[i]);
					if (bits[i / 8] & (1 << (i % 8)))
						sum += a[i];
				}
				expect(close_to(t->bit_masked_sum(a, bits, n), sum, abs_sum),
					   t->name, "bit masked sum", n, shift);
				free(bits);
			}
			free(hbuf);
			free(unitsbuf);
			free(lobuf);
			free(stepbuf);
			free(abuf);
			free(bbuf);
			free(x);
			free(y);
		}
}

int
main(void)
{
	const char *skip = getenv("HNSW_KERNELS_SKIP");

	srand(12345);
	check_halves();
	check_table(&hnsw_scalar_kernels);
#if defined(__x86_64__)
#ifdef HNSW_HAVE_X86_KERNELS
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		__builtin_cpu_supports("popcnt"))
		check_table(&hnsw_avx2_kernels);
	else
		printf("no AVX2 on this CPU: avx2 kernels not checked\n");
	if (skip && strstr(skip, "avx512"))
		printf("avx512 kernels not checked (HNSW_KERNELS_SKIP)\n");
	else if (__builtin_cpu_supports("avx512f"))
		check_table(HnswAvx512Kernels());
	else
		printf("no AVX-512 on this CPU: avx512 kernels not checked\n");
#else
	/* an x86-64 build without its SIMD tables: a CPU's tables are missing */
	printf("MISSING: this x86-64 build has no avx2 or avx512 kernel tables\n");
	failed++;
#endif
#endif
	printf("kernels: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
