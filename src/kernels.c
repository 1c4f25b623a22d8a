/*-------------------------------------------------------------------------
 *
 * kernels.c
 *	  Choosing the table of distance kernels: the CPU is examined once, and
 *	  hnsw.kernel ('auto' by default) names the table in use.
 *
 * Each instruction set's kernels live in their own file (kernels_*.c),
 * compiled with target attributes, so a generic build runs on any x86-64;
 * this file publishes the chosen table in hnsw_kernels, as core's
 * pg_popcount chooses its function pointer after CPU detection.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "hnsw.h"
#include "kernels.h"

#ifdef HNSW_HAVE_X86_KERNELS
#include <cpuid.h>
#endif

const HnswKernelTable *hnsw_kernels = &hnsw_scalar_kernels;

typedef enum
{
	HNSW_KERNELS_AUTO,
	HNSW_KERNELS_SCALAR,
	HNSW_KERNELS_AVX2,
	HNSW_KERNELS_AVX512
} HnswKernelChoice;

const struct config_enum_entry hnsw_kernel_options[] = {
	{"auto", HNSW_KERNELS_AUTO, false},
	{"scalar", HNSW_KERNELS_SCALAR, false},
	{"avx2", HNSW_KERNELS_AVX2, false},
	{"avx512", HNSW_KERNELS_AVX512, false},
	{NULL, 0, false}
};

int			hnsw_kernel_choice = HNSW_KERNELS_AUTO;

static bool cpu_has_avx2 = false;
static bool cpu_has_avx512 = false;

#ifdef HNSW_HAVE_X86_KERNELS
/* XCR0: which register states the operating system saves */
static uint64
read_xcr0(void)
{
	uint32		eax,
				edx;

	__asm__ volatile ("xgetbv":"=a" (eax), "=d"(edx):"c"(0));

	return ((uint64) edx << 32) | eax;
}
#endif

/*
 * Examine the CPU once (from _PG_init).  AVX2 needs the AVX2, FMA and
 * POPCNT bits and an OS that saves YMM state; AVX-512 also needs AVX512F
 * and ZMM/opmask state.
 */
void
HnswInitKernels(void)
{
#ifdef HNSW_HAVE_X86_KERNELS
	uint32		eax,
				ebx,
				ecx,
				edx;
	bool		osxsave,
				fma,
				popcnt,
				f16c;
	uint64		xcr0;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return;
	osxsave = (ecx & bit_OSXSAVE) != 0;
	fma = (ecx & bit_FMA) != 0;
	popcnt = (ecx & bit_POPCNT) != 0;
	f16c = (ecx & bit_F16C) != 0;
	if (!osxsave)
		return;
	xcr0 = read_xcr0();
	if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
		return;
	cpu_has_avx2 = fma && popcnt && f16c && (ebx & bit_AVX2) != 0 &&
		(xcr0 & 0x6) == 0x6;
	cpu_has_avx512 = cpu_has_avx2 && (ebx & bit_AVX512F) != 0 &&
		(xcr0 & 0xE6) == 0xE6;
#endif
	HnswKernelAssignHook(hnsw_kernel_choice, NULL);
}

/* GUC check hook for hnsw.kernel: refuse a table this CPU cannot run */
bool
HnswKernelCheckHook(int *newval, void **extra, GucSource source)
{
	if ((*newval == HNSW_KERNELS_AVX2 && !cpu_has_avx2) ||
		(*newval == HNSW_KERNELS_AVX512 && !cpu_has_avx512))
	{
		GUC_check_errdetail("This CPU does not support the \"%s\" kernels.",
							hnsw_kernel_options[*newval].name);
		return false;
	}
	return true;
}

void
HnswKernelAssignHook(int newval, void *extra)
{
	hnsw_kernels = &hnsw_scalar_kernels;
#ifdef HNSW_HAVE_X86_KERNELS
	if (newval == HNSW_KERNELS_AVX512 ||
		(newval == HNSW_KERNELS_AUTO && cpu_has_avx512))
		hnsw_kernels = HnswAvx512Kernels();
	else if (newval == HNSW_KERNELS_AVX2 ||
			 (newval == HNSW_KERNELS_AUTO && cpu_has_avx2))
		hnsw_kernels = &hnsw_avx2_kernels;
#endif
}

PG_FUNCTION_INFO_V1(hnsw_kernel_list);

/*
 * hnsw_kernels(): the values of hnsw.kernel this CPU can run, besides
 * 'auto', so tests can compare each table with the scalar reference.
 */
Datum
hnsw_kernel_list(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int i = 1; hnsw_kernel_options[i].name != NULL; i++)
	{
		Datum		value = CStringGetTextDatum(hnsw_kernel_options[i].name);
		bool		isnull = false;

		if ((i == HNSW_KERNELS_AVX2 && !cpu_has_avx2) ||
			(i == HNSW_KERNELS_AVX512 && !cpu_has_avx512))
			continue;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	return (Datum) 0;
}
