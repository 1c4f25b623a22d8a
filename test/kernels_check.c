/*-------------------------------------------------------------------------
 *
 * kernels_check.c
 *	  Stand-alone check of the distance kernels, to run under valgrind
 *	  (or a sanitizer): every kernel table this CPU has against the scalar
 *	  reference, for every length from 0 to 300 and every misalignment of
 *	  the inputs, with the buffers allocated to the exact length so that a
 *	  read past the end is reported; and each bounded kernel against its
 *	  own table's plain one.
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

/*
 * A bounded kernel: with a limit at or above the full sum, the plain
 * kernel's result bit for bit; with one below it, a value above the limit
 * and no larger than the full sum.
 */
static bool
within_ok(float (*plain) (const float *, const float *, int),
		  float (*within) (const float *, const float *, int, float),
		  const float *a, const float *b, int n)
{
	float		full = plain(a, b, n);
	float		low = full * 0.5f;
	float		r;

	if (within(a, b, n, INFINITY) != full || within(a, b, n, full) != full)
		return false;
	r = within(a, b, n, low);
	return full <= low || (r > low && r <= full);
}

static void
check_table(const HnswKernelTable *t)
{
	const HnswKernelTable *ref = &hnsw_scalar_kernels;

	for (int n = 0; n <= 300; n++)
		for (int shift = 0; shift < 4; shift++)
		{
			/* exactly n floats after the shift: nothing to read beyond */
			float	   *abuf = malloc(sizeof(float) * (n + shift) + 1);
			float	   *bbuf = malloc(sizeof(float) * (n + shift) + 1);
			float	   *a = abuf + shift;
			float	   *b = bbuf + shift;
			uint8	   *x = malloc(n + shift + 1);
			uint8	   *y = malloc(n + shift + 1);
			float		d1,
						n1,
						m1,
						d2,
						n2,
						m2;
			uint64		and1,
						or1,
						and2,
						or2;
			float		l2,
						l1;
			double		dots;

			for (int i = 0; i < n; i++)
			{
				a[i] = (float) (rand() % 2001 - 1000) / 100.0f;
				b[i] = (float) (rand() % 2001 - 1000) / 100.0f;
			}
			for (int i = 0; i < n + shift; i++)
			{
				x[i] = rand() & 0xFF;
				y[i] = rand() & 0xFF;
			}
			l2 = ref->l2_squared(a, b, n);
			l1 = ref->l1(a, b, n);
			dots = abs_dot(a, b, n);

			expect(close_to(t->l2_squared(a, b, n), l2, l2), t->name, "l2", n, shift);
			expect(close_to(t->inner_product(a, b, n), ref->inner_product(a, b, n), dots),
				   t->name, "ip", n, shift);
			expect(close_to(t->l1(a, b, n), l1, l1), t->name, "l1", n, shift);
			expect(within_ok(t->l2_squared, t->l2_squared_within, a, b, n),
				   t->name, "l2 within", n, shift);
			expect(within_ok(t->l1, t->l1_within, a, b, n),
				   t->name, "l1 within", n, shift);
			t->cosine_parts(a, b, n, &d1, &n1, &m1);
			ref->cosine_parts(a, b, n, &d2, &n2, &m2);
			expect(close_to(d1, d2, dots) && close_to(n1, n2, n2) && close_to(m1, m2, m2),
				   t->name, "cosine", n, shift);
			expect(t->bit_hamming(x + shift, y + shift, n) == ref->bit_hamming(x + shift, y + shift, n),
				   t->name, "hamming", n, shift);
			t->bit_jaccard(x + shift, y + shift, n, &and1, &or1);
			ref->bit_jaccard(x + shift, y + shift, n, &and2, &or2);
			expect(and1 == and2 && or1 == or2, t->name, "jaccard", n, shift);
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
	check_table(&hnsw_scalar_kernels);
#ifdef HNSW_HAVE_X86_KERNELS
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
		__builtin_cpu_supports("popcnt"))
		check_table(&hnsw_avx2_kernels);
	else
		printf("no AVX2 on this CPU: avx2 kernels not checked\n");
	if (__builtin_cpu_supports("avx512f") && !(skip && strstr(skip, "avx512")))
		check_table(HnswAvx512Kernels());
	else
		printf("avx512 kernels not checked (CPU or HNSW_KERNELS_SKIP)\n");
#endif
	printf("kernels: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
