/*-------------------------------------------------------------------------
 *
 * hnsw.c
 *	  Entry point of the hnsw index access method: _PG_init, the handler,
 *	  reloptions and GUCs.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"

#include "hnsw.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(hnswhandler);

int			hnsw_ef_search = HNSW_DEFAULT_EF_SEARCH;
int			hnsw_iterative_scan = HNSW_ITERATIVE_STRICT;
int			hnsw_max_scan_tuples = HNSW_DEFAULT_MAX_SCAN_TUPLES;
int			hnsw_exact_filter_rows = HNSW_DEFAULT_EXACT_FILTER_ROWS;
int			hnsw_seed = 0;
int			hnsw_rerank_depth = 0;
char	   *hnsw_debug_pause = NULL;

/*
 * hnsw.seed: a non-zero value seeds this session's level draws and tie
 * shuffles (graph.c) afresh, so that a test run can be replayed; 0 leaves
 * them seeded at random, at the first draw.
 */
static void
assign_seed(int newval, void *extra)
{
	if (newval != 0)
		HnswSeedLevels((uint64) (uint32) newval);
}

static const struct config_enum_entry iterative_scan_options[] = {
	{"off", HNSW_ITERATIVE_OFF, false},
	{"relaxed_order", HNSW_ITERATIVE_RELAXED, false},
	{"strict_order", HNSW_ITERATIVE_STRICT, false},
	{NULL, 0, false}
};

static relopt_enum_elt_def storage_options[] = {
	{"float4", HNSW_STORAGE_FLOAT4},
	{"int8", HNSW_STORAGE_INT8},
	{"half", HNSW_STORAGE_HALF},
	{"bit", HNSW_STORAGE_BIT},
	/* the grammar reads an unquoted bit as the type's name */
	{"pg_catalog.bit", HNSW_STORAGE_BIT},
	{NULL, 0}
};

static relopt_kind hnsw_relopt_kind;

void
_PG_init(void)
{
	HnswInitKernels();
	HnswInitExplain();
	HnswInitSampling();

	hnsw_relopt_kind = add_reloption_kind();
	add_int_reloption(hnsw_relopt_kind, "m",
					  "Maximum number of connections per element on layers above 0 (twice that on layer 0)",
					  HNSW_DEFAULT_M, HNSW_MIN_M, HNSW_MAX_M,
					  AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "ef_construction",
					  "Size of the dynamic candidate list while building the graph",
					  HNSW_DEFAULT_EF_CONSTRUCTION, HNSW_MIN_EF_CONSTRUCTION,
					  HNSW_MAX_EF_CONSTRUCTION, AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "max_layers",
					  "Number of layers the level of an element may use",
					  HNSW_MAX_LAYERS, 1, HNSW_MAX_LAYERS, AccessExclusiveLock);
	add_real_reloption(hnsw_relopt_kind, "level_scale",
					   "Multiplier on the level scale 1/ln(m) of the level draw",
					   HNSW_DEFAULT_LEVEL_SCALE, HNSW_MIN_LEVEL_SCALE,
					   HNSW_MAX_LEVEL_SCALE, AccessExclusiveLock);
	add_bool_reloption(hnsw_relopt_kind, "extend_candidates",
					   "Add the candidates' neighbours to the candidates of a new element's neighbours",
					   false, AccessExclusiveLock);
	add_bool_reloption(hnsw_relopt_kind, "keep_pruned",
					   "Fill neighbour lists with candidates the heuristic pruned",
					   true, AccessExclusiveLock);
	add_int_reloption(hnsw_relopt_kind, "filter_links",
					  "Links each element keeps, per scalar filter column, to the nearest elements with the same value in it",
					  0, 0, HNSW_MAX_VALUE_LINKS, AccessExclusiveLock);
	add_enum_reloption(hnsw_relopt_kind, "storage",
					   "How elements hold their values: float4 as given, or int8, half or bit codes the search walks on, the values kept for exact ranking",
					   storage_options, HNSW_STORAGE_FLOAT4,
					   "Valid values are \"float4\", \"int8\", \"half\" and \"bit\".",
					   AccessExclusiveLock);

	DefineCustomIntVariable("hnsw.ef_search",
							"Size of the dynamic candidate list of an index scan.",
							"Higher values find more of the true nearest neighbours, slower; "
							"an index scan returns at most this many rows.",
							&hnsw_ef_search, HNSW_DEFAULT_EF_SEARCH,
							HNSW_MIN_EF_SEARCH, HNSW_MAX_EF_SEARCH,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("hnsw.iterative_scan",
							 "Whether an index scan goes on searching when the executor wants more rows.",
							 "\"off\" ends a scan after hnsw.ef_search rows; \"strict_order\" searches on and "
							 "keeps distance order, skipping a nearer row found late; \"relaxed_order\" returns it.",
							 &hnsw_iterative_scan, HNSW_ITERATIVE_STRICT,
							 iterative_scan_options, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("hnsw.max_scan_tuples",
							"Most rows an iterative index scan returns.",
							"The scan ends there, with what it found, even if the executor wants more.",
							&hnsw_max_scan_tuples, HNSW_DEFAULT_MAX_SCAN_TUPLES,
							1, INT_MAX, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("hnsw.exact_filter_rows",
							"Most rows a scan's quals on filter columns may match for the scan to rank those rows exactly.",
							"Such a scan finds the matching rows in the index's filter directory and orders them all by distance, "
							"instead of walking the graph; 0 always walks the graph.",
							&hnsw_exact_filter_rows, HNSW_DEFAULT_EXACT_FILTER_ROWS,
							0, INT_MAX, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("hnsw.rerank_depth",
							"Candidates of a search of an index with storage int8, half or bit ranked by their exact distances.",
							"The search keeps that many candidates if that is more than hnsw.ef_search, and ranks them all; "
							"0 (the default) keeps a quarter more than hnsw.ef_search (int8, half) or four times as many (bit).",
							&hnsw_rerank_depth, 0, 0, 10000, PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("hnsw.seed",
							"Seed of the level draws of inserts, for replaying a test run.",
							"0 draws them from a random seed; any other value seeds this session's "
							"draws with it whenever it is set.  Builds use a seed of their own.",
							&hnsw_seed, 0, 0, INT_MAX, PGC_USERSET, 0,
							NULL, assign_seed, NULL);
	DefineCustomStringVariable("hnsw.debug_pause",
							   "For tests: a named point where this session waits while the test holds an advisory lock.",
							   "See HnswPausePoint; empty (the default) for none.",
							   &hnsw_debug_pause, "", PGC_SUSET,
							   GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	DefineCustomEnumVariable("hnsw.kernel",
							 "Instruction set of the distance kernels.",
							 "\"auto\" picks the widest this CPU supports.",
							 &hnsw_kernel_choice, 0, hnsw_kernel_options,
							 PGC_USERSET, 0, HnswKernelCheckHook,
							 HnswKernelAssignHook, NULL);
	DefineCustomRealVariable("hnsw.sample_recall",
							 "Share of index scans whose recall is measured, for the view hnsw_stat_recall.",
							 "A sampled scan computes its exact answer from the index's elements after it has "
							 "handed out its rows, which costs a read of the whole index; 0 (the default) samples none.",
							 &hnsw_sample_recall, 0, 0, 1, PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("hnsw.sample_recall_max_per_second",
							"Most sampled index scans measured per second, in the whole server.",
							"Sampled scans over it are counted as skipped in hnsw_stat_recall.",
							&hnsw_sample_recall_max_per_second, 10, 0, 100000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("hnsw");
}

/*
 * A named point in an insert, a scan or VACUUM where an isolation test can
 * hold this backend (test/specs): when hnsw.debug_pause names the point,
 * the backend takes the advisory lock HNSW_PAUSE_LOCK_KEY in share mode and
 * lets go of it at once, so it waits here for as long as a test session
 * holds that lock exclusively (pg_advisory_lock(HNSW_PAUSE_LOCK_KEY)).  No
 * caller holds a buffer lock here; heavyweight locks it holds stay held,
 * which is what the tests are about.  Unset, this costs a test of one byte.
 */
void
HnswPausePoint(const char *name)
{
	if (likely(hnsw_debug_pause == NULL || hnsw_debug_pause[0] == '\0') ||
		strcmp(hnsw_debug_pause, name) != 0)
		return;
	(void) DirectFunctionCall1(pg_advisory_lock_shared_int8,
							   Int64GetDatum(HNSW_PAUSE_LOCK_KEY));
	(void) DirectFunctionCall1(pg_advisory_unlock_shared_int8,
							   Int64GetDatum(HNSW_PAUSE_LOCK_KEY));
}

/*
 * The reloptions of index, or the defaults when none were given.
 */
HnswOptions *
HnswGetOptions(Relation index)
{
	static HnswOptions defaults = {0, HNSW_DEFAULT_M, HNSW_DEFAULT_EF_CONSTRUCTION,
		HNSW_MAX_LAYERS, HNSW_DEFAULT_LEVEL_SCALE, false, true, 0,
	HNSW_STORAGE_FLOAT4};

	if (index->rd_options)
		return (HnswOptions *) index->rd_options;
	return &defaults;
}

static bytea *
hnswoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(HnswOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(HnswOptions, ef_construction)},
		{"max_layers", RELOPT_TYPE_INT, offsetof(HnswOptions, max_layers)},
		{"level_scale", RELOPT_TYPE_REAL, offsetof(HnswOptions, level_scale)},
		{"extend_candidates", RELOPT_TYPE_BOOL, offsetof(HnswOptions, extend_candidates)},
		{"keep_pruned", RELOPT_TYPE_BOOL, offsetof(HnswOptions, keep_pruned)},
		{"filter_links", RELOPT_TYPE_INT, offsetof(HnswOptions, filter_links)},
		{"storage", RELOPT_TYPE_ENUM, offsetof(HnswOptions, storage)},
	};

	return (bytea *) build_reloptions(reloptions, validate, hnsw_relopt_kind,
									  sizeof(HnswOptions), tab, lengthof(tab));
}

/*
 * The handler: what the hnsw access method can do, and its functions.
 */
Datum
hnswhandler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = HNSW_NSTRATEGIES;
	amroutine->amsupport = HNSW_NPROCS;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = true;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = true;
	amroutine->amusemaintenanceworkmem = true;
	amroutine->amparallelvacuumoptions =
		VACUUM_OPTION_PARALLEL_BULKDEL | VACUUM_OPTION_PARALLEL_CLEANUP;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = hnswbuild;
	amroutine->ambuildempty = hnswbuildempty;
	amroutine->aminsert = hnswinsert;
	amroutine->ambulkdelete = hnswbulkdelete;
	amroutine->amvacuumcleanup = hnswvacuumcleanup;
	amroutine->amcanreturn = hnswcanreturn;
	amroutine->amcostestimate = hnswcostestimate;
	amroutine->amoptions = hnswoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = hnswbuildphasename;
	amroutine->amvalidate = hnswvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = hnswbeginscan;
	amroutine->amrescan = hnswrescan;
	amroutine->amgettuple = hnswgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = hnswendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;
	HNSW_AM_CAN_BUILD_PARALLEL(amroutine);
	HNSW_AM_TREE_HEIGHT(amroutine, hnswgettreeheight);

	PG_RETURN_POINTER(amroutine);
}
