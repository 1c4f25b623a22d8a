/*-------------------------------------------------------------------------
 *
 * hnsw.h
 *	  In-memory state, options, GUCs and prototypes of the hnsw index AM.
 *
 * The on-disk format is in hnsw_page.h.  Prototypes are grouped by the file
 * that defines them.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef HNSW_H
#define HNSW_H

#include <math.h>

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "fmgr.h"
#include "nodes/pathnodes.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/relcache.h"
#include "utils/varbit.h"

#include "compat.h"
#include "hnsw_page.h"

/*
 * Operator strategy and support function numbers.  The first column's
 * operator class has the distance; the filter columns' classes have the
 * search operators of strategies 2 and up, which a scan checks during its
 * walk (filter.c).
 */
#define HNSW_DISTANCE_STRATEGY	1	/* the ORDER BY operator */
#define HNSW_LT_STRATEGY		2	/* < */
#define HNSW_LE_STRATEGY		3	/* <= */
#define HNSW_EQ_STRATEGY		4	/* = */
#define HNSW_GE_STRATEGY		5	/* >= */
#define HNSW_GT_STRATEGY		6	/* > */
#define HNSW_OVERLAP_STRATEGY	7	/* && */
#define HNSW_CONTAINS_STRATEGY	8	/* @> */
#define HNSW_CONTAINED_STRATEGY 9	/* <@ */
#define HNSW_NSTRATEGIES		9
#define HNSW_DISTANCE_PROC		1	/* (type, type) -> float8 */
#define HNSW_NPROCS				1

/* Reloption bounds and defaults */
#define HNSW_DEFAULT_M			16
#define HNSW_MIN_M				2
#define HNSW_MAX_M				100
#define HNSW_DEFAULT_EF_CONSTRUCTION 64
#define HNSW_MIN_EF_CONSTRUCTION 4
#define HNSW_MAX_EF_CONSTRUCTION 1000
#define HNSW_DEFAULT_LEVEL_SCALE 1.0
#define HNSW_MIN_LEVEL_SCALE	0.05
#define HNSW_MAX_LEVEL_SCALE	10.0

/* Phases of CREATE INDEX, shown in pg_stat_progress_create_index */
#define HNSW_PHASE_LOAD			2	/* table scan into the in-memory graph */
#define HNSW_PHASE_INSERT		3	/* table scan into the on-disk graph */
#define HNSW_PHASE_WRITE		4	/* writing the graph to pages */
#define HNSW_PHASE_LOG			5	/* WAL-logging the pages */

/* Seed of the level draws of a build: equal builds give equal graphs */
#define HNSW_BUILD_SEED			UINT64CONST(0x484E5357)

/* GUC bounds and defaults */
#define HNSW_DEFAULT_EF_SEARCH	40
#define HNSW_MIN_EF_SEARCH		1
#define HNSW_MAX_EF_SEARCH		1000

/* Largest arrays the distance functions accept */
#define HNSW_MAX_DIMENSIONS		100000

typedef struct HnswOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			m;
	int			ef_construction;
	int			max_layers;
	double		level_scale;
	bool		extend_candidates;
	bool		keep_pruned;
	int			filter_links;	/* value links per scalar filter column */
	int			storage;		/* HNSW_STORAGE_* */
} HnswOptions;

/*
 * Built-in distances the index computes without going through fmgr.  An
 * operator class whose support function is one of this extension's C
 * distance functions gets the matching kernel; any other function (a
 * user's own distance) is called through fmgr.
 */
typedef enum HnswKernel
{
	HNSW_KERNEL_FMGR = 0,		/* call the support function */
	HNSW_KERNEL_L2,
	HNSW_KERNEL_COSINE,
	HNSW_KERNEL_L1,
	HNSW_KERNEL_NEG_IP,
	HNSW_KERNEL_BIT_HAMMING,
	HNSW_KERNEL_BIT_JACCARD,
	HNSW_KERNEL_INT4_HAMMING,
	HNSW_KERNEL_INT4_JACCARD
} HnswKernel;

/* How to compute the distance between two stored values of one index */
/*
 * What codes of an index with storage int8, half or bit are read with:
 * its frozen ranges or centre, ready to code and decode (quantize.c)
 */
typedef struct HnswQuantizer
{
	int			storage;		/* HNSW_STORAGE_INT8, _HALF or _BIT */
	int32		marker;			/* of its codes (HNSW_CODE_*) */
	int			dimensions;
	float	   *lo;				/* int8: the ranges; bit: the centre */
	float	   *step;
	float	   *decoded;		/* scratch: one code decoded */
	float	   *narrowed;		/* scratch: one float8[] value narrowed */

	/*
	 * bit: the sums over the query that every estimate from it needs, kept
	 * from one distance to the next while the query stays the same (a copy of
	 * it tells a new query at the same address)
	 */
	int			length;			/* dimensions of the rotated vectors */
	double	   *scratch;		/* length values */
	const float *query_at;		/* where the query was; NULL: none yet */
	float	   *query;			/* a copy of it */
	float	   *rotated;		/* R query (see quantize.c), / rotated_scale */
	float	   *shifted;		/* R (query - centre), / shifted_scale */
	double		rotated_scale;
	double		shifted_scale;
	double		query_sum;		/* sum of rotated[i] */
	double		shifted_sum;	/* sum of shifted[i] */
	double		shifted_sq;		/* |query - centre|^2 */
	double		query_centre;	/* query . centre */
	double		query_norm;		/* |query| */

	/*
	 * int8: the walk's query (HnswSetWalkQuery) in the units of the codes,
	 * u[i] = query[i] * step[i] as walk_units[i] * walk_unit, and its sums
	 * (see walk_distance)
	 */
	int16	   *walk_units;
	double		walk_unit;
	double		walk_lo_dot;	/* query . lo */
	double		walk_sq;		/* |query|^2 */
	double		walk_norm;		/* |query| */
	double		walk_error;		/* a dot product is off by at most so much */
} HnswQuantizer;

typedef struct HnswDistance
{
	HnswKernel	kernel;

	/*
	 * float8[] with storage int8, half or bit: the kernel is the one codes
	 * are measured with (from the values narrowed to floats); the float8[]
	 * values themselves, and so every exact distance, go through the support
	 * function
	 */
	bool		float8_values;
	bool		fixed_dimensions;	/* all values must have one dimension */
	FmgrInfo   *procinfo;		/* support function (HNSW_KERNEL_FMGR) */
	Oid			collation;

	/* codes: what reads them, loaded on the first code met (quantize.c) */
	Relation	index;
	MemoryContext cxt;			/* where this was set up */
	HnswQuantizer *quantizer;

	/*
	 * The query a search walks with (HnswSetWalkQuery), whose int8 distances
	 * take a faster way; walk_ready once the quantizer has prepared it
	 */
	Datum		walk_query;
	bool		walk_ready;
} HnswDistance;

/*
 * An element id: (block, offset) of an element tuple on disk, or the
 * position of an element in the in-memory graph of a build.
 */
typedef uint64 HnswElemId;

#define HnswElemIdFromTid(tid) \
	(((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) | \
	 ItemPointerGetOffsetNumberNoCheck(tid))
#define HnswElemIdGetBlock(id)	((BlockNumber) ((id) >> 16))
#define HnswElemIdGetOffset(id) ((OffsetNumber) ((id) & 0xFFFF))

typedef struct HnswCandidate
{
	double		distance;
	HnswElemId	id;
	bool		deleted;		/* element of a dead row: route, never return */
	bool		beyond;			/* within a search (graph.c) only: distance is
								 * a bound below the true one, which was not
								 * needed then (see distance_to's limit) */
	bool		filled;			/* in a list that select_neighbors chose: put
								 * there by keep_pruned's filling up, not by
								 * the heuristic */
} HnswCandidate;

/* distance_to's limit for "the distance, however large" */
#define HNSW_DISTANCE_NO_LIMIT INFINITY

/*
 * How the graph algorithms (graph.c) reach elements.  The build's in-memory
 * graph and the index pages each provide one.
 */
typedef struct HnswGraph HnswGraph;

struct HnswGraph
{
	HnswDistance *distance;
	int			m;				/* max neighbours on layers > 0 */
	int			ef_construction;
	int			max_layers;		/* levels are 0 .. max_layers - 1 */
	double		level_scale;	/* multiplier on 1/ln(m) */
	bool		extend_candidates;	/* Algorithm 4's extendCandidates */
	bool		keep_pruned;	/* Algorithm 4's keepPrunedConnections */

	/*
	 * Distance from value to element id; when that is not below limit, it may
	 * be any value at or above limit instead (HnswComputeDistanceWithin;
	 * HNSW_DISTANCE_NO_LIMIT for the distance always).  Returns false if the
	 * id no longer holds an element (it was removed by VACUUM); sets *deleted
	 * if the element belongs to a dead row (it is traversed but never a
	 * result).
	 */
	bool		(*distance_to) (HnswGraph *graph, Datum value, HnswElemId id,
								double limit, double *distance, bool *deleted);

	/*
	 * Optional: distance_to for the first k of ids[0 .. n) (k >= 1), those
	 * that one read of the graph's memory gives (a disk graph: the ids in a
	 * row on the page of ids[0], under one pin and lock).  Sets out[i]'s id,
	 * distance and deleted, and found[i] as distance_to's result; returns k.
	 */
	int			(*distances_on_page) (HnswGraph *graph, Datum value,
									  const HnswElemId *ids, int n,
									  double limit, HnswCandidate *out,
									  bool *found);
	/* Copy the neighbour ids of id on layer into out; returns their count */
	int			(*neighbors) (HnswGraph *graph, HnswElemId id, int layer,
							  HnswElemId *out);
	/* The value of id, valid until the graph's memory context is reset */
	Datum		(*value) (HnswGraph *graph, HnswElemId id);

	/*
	 * Optional: distance_to for an element whose value the caller will ask
	 * for next; a graph that keeps the values it reads (an insert's) keeps
	 * the one read for this, so value() need not read it again.
	 */
	bool		(*measure_kept) (HnswGraph *graph, Datum value, HnswElemId id,
								 double limit, double *distance, bool *deleted);

	/*
	 * Optional: start loading into the CPU cache what distance_to(id) will
	 * read: the page header and line pointers, or with deep, the element
	 * itself (whose place needs the line pointer).  A hint; never blocks.
	 */
	void		(*prefetch) (HnswGraph *graph, HnswElemId id, bool deep);

	/*
	 * Replace the layer-0 list of target with list, provided it still holds
	 * exactly seen[]; false if it does not (reconnect.c).
	 */
	bool		(*replace) (HnswGraph *graph, HnswElemId target,
							const HnswElemId *seen, int nseen,
							HnswCandidate *list, int nlist);

	/*
	 * Optional, for a scan with "column = constant" on a column with value
	 * links: the value links of id for that column, into out (at most
	 * HNSW_MAX_VALUE_LINKS); -1 if it has none.  The search follows them,
	 * instead of the layer-0 list, from elements that match its quals.
	 */
	int			(*value_neighbors) (HnswGraph *graph, HnswElemId id,
									HnswElemId *out);

	/*
	 * Optional, for a scan with quals on the index's columns: distance_to
	 * reports an element that fails them as deleted (routed through, never a
	 * result).
	 */
	struct HnswFilter *filter;

	/*
	 * Elements whose distance HnswSearchLayer has computed, and the most it
	 * may (0: no limit).  A search that reaches the limit stops where it is
	 * and sets exhausted; its results are then incomplete.
	 */
	int64		visits;
	int64		max_visits;
	bool		exhausted;

	/*
	 * What the graph did, for a scan's statistics (scan.c): elements whose
	 * neighbour lists a search read, distances computed (diskgraph.c counts
	 * every one, visits only HnswSearchLayer's), and elements that failed the
	 * scan's quals.
	 */
	int64		expansions;
	int64		distances;
	int64		rejected;
};

/* Largest neighbour list on a layer */
#define HnswMaxNeighbors(m, layer) ((layer) == 0 ? 2 * (m) : (m))

/* hnsw.iterative_scan */
typedef enum HnswIterativeScan
{
	HNSW_ITERATIVE_OFF,
	HNSW_ITERATIVE_RELAXED,
	HNSW_ITERATIVE_STRICT
} HnswIterativeScan;

#define HNSW_DEFAULT_MAX_SCAN_TUPLES 20000
#define HNSW_DEFAULT_EXACT_FILTER_ROWS 2000

/* hnsw.c */
extern int	hnsw_ef_search;
extern int	hnsw_iterative_scan;
extern int	hnsw_max_scan_tuples;
extern int	hnsw_exact_filter_rows;
extern int	hnsw_seed;
extern int	hnsw_rerank_depth;
extern char *hnsw_debug_pause;

/* The advisory lock a backend waits on at a pause point (HnswPausePoint) */
#define HNSW_PAUSE_LOCK_KEY		INT64CONST(4847534850)
extern void HnswPausePoint(const char *name);
extern void _PG_init(void);
extern HnswOptions *HnswGetOptions(Relation index);

/* verify.c: an index read whole (for hnsw_verify and inspect.c) */
/* What the check remembers of one element */
typedef struct HnswVerifyElement
{
	HnswElemId	id;
	ItemPointerData heaptid;
	int			level;
	bool		deleted;
	bool		reached;
	uint32		filter_hash;	/* of its filter columns' bytes */
	int			in_directory;	/* its tuples in the filter directory */
	int			counts[HNSW_MAX_LAYERS];
	HnswElemId *neighbors[HNSW_MAX_LAYERS];
} HnswVerifyElement;

/* What reading a whole index keeps */
typedef struct HnswVerifyState
{
	ReturnSetInfo *rsinfo;
	Relation	index;
	HnswDistance dist;
	HnswMetaPageData meta;
	BlockNumber nblocks;
	HnswVerifyElement *elements;	/* in id order */
	int			nelements;
	int			capacity;
	BlockNumber ndirectory_pages;
	int64		nproblems;
} HnswVerifyState;

extern void HnswVerifyOpenIndex(HnswVerifyState *vs, Oid indexoid,
								LOCKMODE lockmode);
extern void HnswVerifyReadIndex(HnswVerifyState *vs, Oid indexoid);
extern HnswVerifyElement *HnswVerifyFindElement(HnswVerifyState *vs,
												HnswElemId id);
extern void HnswVerifyMarkReachable(HnswVerifyState *vs,
									HnswVerifyElement *entry);

/* operators.c */
extern int	HnswCheckArray(ArrayType *a, Oid elemtype);
extern int	HnswCheckFloat4Array(ArrayType *a);
extern int	HnswCheckBits(VarBit *v);
extern double HnswCosineDistance(const float *a, const float *b, int n);
extern double HnswBitJaccardDistance(VarBit *a, VarBit *b);
extern double HnswInt4HammingDistance(const int32 *a, const int32 *b, int n);
extern int	HnswInt4SortUnique(int32 *x, int n);
extern double HnswInt4JaccardSorted(const int32 *a, int na,
									const int32 *b, int nb);
extern PGDLLEXPORT Datum hnsw_float4_l2_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_float4_cosine_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_float4_l1_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_float4_inner_product(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_float4_negative_inner_product(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_bit_hamming_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_bit_jaccard_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_int4_hamming_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_int4_jaccard_distance(PG_FUNCTION_ARGS);

/* more_distances.c: the float8[] distances that have codes (see HnswDistance) */
extern PGDLLEXPORT Datum hnsw_float8_l2_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_float8_cosine_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_float8_l1_distance(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum hnsw_float8_negative_inner_product(PG_FUNCTION_ARGS);

/* distance.c */
extern int	hnsw_kernel_choice;
extern const struct config_enum_entry hnsw_kernel_options[];
extern bool HnswKernelCheckHook(int *newval, void **extra, GucSource source);
extern void HnswKernelAssignHook(int newval, void *extra);
extern void HnswInitKernels(void);
extern void HnswInitDistance(HnswDistance *dist, Relation index);
extern double HnswComputeDistance(HnswDistance *dist, Datum a, Datum b);
extern double HnswComputeDistanceWithin(HnswDistance *dist, Datum a, Datum b,
										double limit);
extern bool HnswKernelLimit(HnswKernel kernel, double limit, float *bound);
extern Datum HnswPrepareValue(HnswDistance *dist, Datum value, bool *skip);
extern uint32 HnswValueDimensions(HnswDistance *dist, Datum value);
extern bool HnswValueIsWellFormed(HnswDistance *dist, Datum value,
								  uint32 dimensions);
extern void HnswCheckStoredValue(Relation index, HnswDistance *dist,
								 Datum value, uint32 dimensions,
								 BlockNumber blkno, OffsetNumber off);

/* quantize.c: int8 codes */
extern bool HnswIsCode(Datum d);
extern int32 HnswCodeMarker(int storage);
extern int32 HnswMetaCodeMarker(const HnswMetaPageData *meta);
extern HnswRangesData *HnswRangesStart(int dimensions);
extern void HnswRangesAdd(HnswRangesData *r, Datum value);
extern void HnswRangesFinish(HnswRangesData *r);
extern HnswQuantizer *HnswMakeQuantizer(const HnswRangesData *r);
extern void HnswCentreAdd(double *sums, Datum value,
						  const HnswRangesData *clamp);
extern void HnswRangesTrim(HnswRangesData *r, int i, float *sample,
						   int nsample);
extern HnswRangesData *HnswCentreFinish(const double *sums, int dimensions,
										int64 count);
extern HnswQuantizer *HnswBitQuantizer(const HnswRangesData *centre,
									   int32 marker);
extern HnswQuantizer *HnswHalfQuantizer(int dimensions);
extern HnswQuantizer *HnswLoadQuantizer(Relation index);
extern HnswQuantizer *HnswGetQuantizer(HnswDistance *dist);
extern Datum HnswEncode(HnswQuantizer *q, Datum value,
						const HnswExternalValue *full);
extern void HnswSetWalkQuery(HnswDistance *dist, Datum query);
extern double HnswCodeDistance(HnswDistance *dist, Datum a, Datum b,
							   double limit);
extern bool HnswCodeIsWellFormed(Datum value, uint32 dimensions);
extern double HnswCodeLeastDistance(HnswDistance *dist, const HnswCodeData *c,
									double measured, double query_norm,
									double query_error_l2,
									double query_error_l1);
extern Datum HnswNarrowValue(HnswQuantizer *q, Datum value,
							 double *error_l2, double *error_l1,
							 double *norm);
extern bool HnswStorageTakes(int storage, HnswKernel kernel);
extern void HnswCheckStorage(Relation index, HnswDistance *dist, int storage);

/* filter.c */
typedef struct HnswFilterKey
{
	AttrNumber	attno;			/* index column, 1-based */
	StrategyNumber strategy;	/* HNSW_*_STRATEGY */
	FmgrInfo   *func;			/* the operator's function */
	Oid			collation;
	Datum		argument;
	int8		comparison;		/* an integer comparison done inline, or 0 */
	int64		integer;		/* its argument, widened */
} HnswFilterKey;

typedef struct HnswFilter
{
	Relation	index;
	TupleDesc	desc;			/* of the filter columns; NULL if none */
	int			nkeys;
	HnswFilterKey *keys;
	bool		empty;			/* no row can pass (a NULL argument) */
} HnswFilter;

/*
 * Filter columns are the index's key columns after the first; INCLUDE
 * columns are stored with them (and returned by index-only scans) but
 * never searched, so an index with no filter key column has no directory.
 */
#define HnswHasFilterKeys(index) \
	(IndexRelationGetNumberOfKeyAttributes(index) > 1)

extern TupleDesc HnswFilterDesc(Relation index);
extern IndexTuple HnswFormFilter(Relation index, TupleDesc desc,
								 Datum *values, bool *isnull);
extern HnswFilter *HnswPrepareFilter(Relation index, ScanKey keys, int nkeys);
extern bool HnswFilterMatchesColumns(HnswFilter *filter, IndexTuple itup);
extern bool HnswFilterHasColumnKeys(HnswFilter *filter);
extern bool HnswFilterMatches(HnswFilter *filter, Datum value,
							  HnswElementTuple etup);

/* graph.c */
extern void HnswSeedLevels(uint64 seed);
extern int	HnswRandomLevel(HnswGraph *graph);
extern int	HnswSearchLayer(HnswGraph *graph, Datum query,
							HnswCandidate *entries, int nentries,
							int ef, int layer, bool skip_deleted,
							HnswCandidate **result);
typedef struct HnswSearch HnswSearch;
extern HnswSearch *HnswSearchBegin(HnswGraph *graph, Datum query,
								   HnswCandidate *entries, int nentries,
								   int ef, int layer, bool skip_deleted,
								   bool resumable);
extern int	HnswSearchRun(HnswGraph *graph, HnswSearch *s, int ef,
						  HnswCandidate **result);
extern void HnswSearchEnd(HnswSearch *s);
extern void HnswGraphSetOptions(HnswGraph *graph, int m, int ef_construction,
								int max_layers, double level_scale,
								bool extend_candidates, bool keep_pruned);

/*
 * Stride of software prefetches: the 64-byte line x86-64 and most other
 * CPUs fill (PG_CACHE_LINE_SIZE, 128, is a padding size; striding by it
 * asked for every other line).
 */
#define HNSW_PREFETCH_STRIDE	64

/* how full keep_pruned leaves a list it had to cut (see HnswPruneNeighbors) */
#define HNSW_PRUNE_FILL(max_neighbors) ((max_neighbors) - (max_neighbors) / 16)

extern int	HnswSelectNeighbors(HnswGraph *graph, Datum base, int layer,
								bool extend, HnswCandidate *candidates,
								int ncandidates, int max_neighbors,
								HnswCandidate *selected);
extern bool HnswFindNeighbors(HnswGraph *graph, Datum value, int level,
							  HnswElemId entry, int entry_level,
							  HnswCandidate **lists, int *counts,
							  HnswCandidate **pool, int *npool);
extern int	HnswPruneNeighbors(HnswGraph *graph, Datum base,
							   const HnswElemId *ids, int nids,
							   const HnswCandidate *extra, int max_neighbors,
							   HnswCandidate *out);
extern int	HnswCandidateCompare(const void *a, const void *b);
extern int	HnswElemIdCompare(const void *a, const void *b);

/* page.c */
typedef struct HnswPageEdit
{
	GenericXLogState *xlog;		/* NULL while a build writes without WAL */
	int			nbuffers;
	Buffer		buffers[MAX_GENERIC_XLOG_PAGES];
	Page		pages[MAX_GENERIC_XLOG_PAGES];
} HnswPageEdit;

extern void HnswInitPage(Page page, uint16 flags);
pg_noreturn extern void HnswReportCorruptedPage(Relation index, BlockNumber blkno,
												const char *what);

/* Room for an external value put together from its chunks */
typedef struct HnswValueBuffer
{
	MemoryContext cxt;
	char	   *data;
	Size		size;
} HnswValueBuffer;

extern void HnswInitMetaPage(Page page, HnswOptions *opts, uint32 dimensions,
							 uint32 linked_columns);
extern bool HnswValueIsExternal(Size headbytes, Size size, Size filtersize);
extern void HnswWriteChunks(Relation index, Datum value,
							HnswExternalValue *ext, bool wal);
extern HnswChunkTuple HnswGetChunk(Page page, OffsetNumber off, uint64 token);
extern HnswMetaPageData HnswMetaPageContents(Page page);
extern HnswMetaPageData HnswReadMetaPage(Relation index);
extern void HnswCheckPage(Relation index, Page page, BlockNumber blkno);
extern void HnswEditStart(HnswPageEdit *edit, Relation index, bool wal);
extern Page HnswEditPage(HnswPageEdit *edit, Buffer buffer, bool fresh);
extern void HnswEditFinish(HnswPageEdit *edit);
extern void HnswEditAbort(HnswPageEdit *edit);
extern void HnswEditEnd(HnswPageEdit *edit, bool changed);
extern Buffer HnswNewBuffer(Relation index, ForkNumber fork);
extern HnswElementTuple HnswGetElement(Relation index, Page page,
									   OffsetNumber off);
extern HnswUpperTuple HnswGetUpper(Relation index, Page page,
								   OffsetNumber off);
extern int	HnswSetNeighbors(HnswElementTuple etup, HnswUpperTuple utup,
							 int layer, HnswCandidate *list, int count);
extern int	HnswElementDecodeNeighbors(HnswElementTuple etup, HnswElemId *out,
									   int max, int *stray);
extern int	HnswElementGetNeighbors(Relation index, HnswElementTuple etup,
									HnswElemId *out, int max);
extern Size HnswCompactListSize(const HnswCandidate *list, int count);
extern Size HnswCompactHeadBytes(int m, int level, Size used);
extern ItemPointerData HnswElementGetUpper(HnswElementTuple etup);
extern void HnswElementSetUpper(HnswElementTuple etup, BlockNumber blkno,
								OffsetNumber off);
extern Size HnswElementTailSize(IndexTuple filter, int nlinked, int nslots);
extern HnswElementTuple HnswFormElement(bool compact, Size headbytes,
										Datum value, IndexTuple filter,
										int nlinked, int nslots, int level,
										ItemPointer heaptid,
										HnswCandidate *neighbors,
										int nneighbors,
										HnswExternalValue *ext, Size *size);
extern HnswUpperTuple HnswFormUpper(int m, int level, Size *size);
extern Size HnswFormChunk(HnswChunkTuple chunk, uint64 token,
						  ItemPointer next, const char *data, Size len);

/*
 * The in-memory graph of a build (buildgraph.c), in local memory or, for a
 * parallel build, in dynamic shared memory; the locking rules are at the
 * top of buildgraph.c.
 */
typedef struct HnswBuildArea
{
	Size		size;			/* bytes, this header included */
	HnswOptions opts;			/* the index's options */
	int			m;				/* opts.m, used everywhere */
	uint32		linked_columns; /* filter columns with value links */
	int			nlinked;		/* how many */
	int			link_slots;		/* opts.filter_links, if nlinked > 0 */
	bool		shared;			/* used by several processes: lock */
	bool		full_values;	/* elements keep float8[] values beside their
								 * narrowed ones (see buildarea.h) */
	int			lwlock_tranche;

	slock_t		mutex;			/* guards the fields up to entry_lock */
	Size		front;			/* first free byte for elements */
	uint32		nelements;		/* directory entries, at the back */
	uint32		dimensions;		/* fixed by the first value */
	double		reltuples;		/* rows scanned, by finished participants */
	double		indtuples;		/* elements made, by finished participants */

	LWLock		entry_lock;		/* guards entry and entry_level */
	uint32		entry;
	int			entry_level;

	LWLock		flush_lock;		/* in-memory inserts share it */
	bool		flushed;		/* written to pages: insert there now */

	/* for parallel workers */
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
} HnswBuildArea;

/* reconnect.c */
extern int	HnswLinkUnreachable(HnswGraph *graph, const HnswElemId *ids,
								int nids, HnswElemId entry, int entry_level,
								int *unreached, int *remaining);

/* buildgraph.c */
extern HnswBuildArea *HnswAreaInit(void *mem, Size size, HnswOptions *opts,
								   uint32 linked_columns, bool shared);
extern HnswGraph *HnswAreaGraph(HnswBuildArea *area, HnswDistance *dist);
extern void HnswAreaCheckDimensions(HnswBuildArea *area, uint32 dims);
extern bool HnswAreaInsert(HnswBuildArea *area, HnswGraph *graph, Datum value,
						   Datum full,
						   IndexTuple filter, TupleDesc filter_desc,
						   ItemPointer heaptid);
extern void HnswAreaWrite(HnswBuildArea *area, Relation index);
extern int	HnswAreaLinkUnreachable(HnswBuildArea *area, HnswGraph *graph);

/* layout.c: where a build puts each tuple */
typedef struct HnswLayoutElement
{
	Size		esize;			/* element tuple with the value inline */
	Size		xsize;			/* with the value in chunks; 0: not split */
	Size		usize;			/* upper tuple; 0 for level 0 */
	Size		vsize;			/* bytes of the value */
	uint32		indegree;		/* layer-0 lists that name it */
} HnswLayoutElement;

typedef enum HnswPlaceKind
{
	HNSW_PLACE_ELEMENT,
	HNSW_PLACE_UPPER,
	HNSW_PLACE_CHUNK
} HnswPlaceKind;

typedef struct HnswPlacement
{
	ItemPointerData tid;
	uint8		kind;			/* HnswPlaceKind */
	uint32		element;		/* whose tuple */
	uint32		start;			/* a chunk: where its bytes of the value */
	uint32		len;			/* start, and how many */
	int32		next;			/* a chunk: the next one's placement, or -1 */
} HnswPlacement;

typedef struct HnswLayout
{
	HnswPlacement *placements;	/* in (block, offset) order */
	int32		nplacements;
	ItemPointerData *etids;		/* each element's tuple */
	ItemPointerData *utids;		/* and upper tuple */
	int32	   *first_chunk;	/* split ones: first chunk's placement; -1 */
	uint32		nsplit;
} HnswLayout;

extern HnswLayout *HnswPlanLayout(const HnswLayoutElement *elements,
								  const uint32 *order, uint32 n,
								  BlockNumber first_block);
extern void HnswFreeLayout(HnswLayout *layout);
extern int	HnswLayoutPerPage(Size esize);

/* build.c */
extern char *hnswbuildphasename(int64 phase);
struct dsm_segment;
struct shm_toc;
extern PGDLLEXPORT void HnswParallelBuildMain(struct dsm_segment *seg,
											  struct shm_toc *toc);
extern IndexBuildResult *hnswbuild(Relation heap, Relation index,
								   struct IndexInfo *indexInfo);
extern void hnswbuildempty(Relation index);

/* insert.c */
extern bool hnswinsert(Relation index, Datum *values, bool *isnull,
					   ItemPointer heap_tid, Relation heap,
					   IndexUniqueCheck checkUnique, bool indexUnchanged,
					   struct IndexInfo *indexInfo);
extern void HnswInsertValue(Relation index, HnswDistance *dist, Datum value,
							IndexTuple filter, ItemPointer heaptid, bool wal);
extern void HnswCheckElementSize(Relation index, int m, Datum value);

/* buffers.c: which shared buffer holds each block (see there) */
typedef struct HnswRecentBuffer
{
	BlockNumber blkno;
	Buffer		buffer;
} HnswRecentBuffer;

typedef struct HnswBufferCache
{
	BlockNumber nblocks;		/* size of the index when last asked */
	uint32		mask;			/* slots - 1, slots a power of 2 */
	HnswRecentBuffer recent[FLEXIBLE_ARRAY_MEMBER];
} HnswBufferCache;

extern HnswBufferCache *HnswBufferCacheForOperation(Relation index);
extern bool HnswBlockExists(Relation index, BlockNumber blkno);
extern Buffer HnswReadShare(Relation index, BlockNumber blkno);
extern Buffer HnswLockForEdit(Relation index, BlockNumber blkno, bool wal,
							  HnswPageEdit *edit, Page *page);

extern struct varlena *HnswElementValue(Relation index, HnswElementTuple etup,
										HnswValueBuffer *buffer);
extern struct varlena *HnswCopyElementValue(Relation index,
											HnswElementTuple etup);
extern struct varlena *HnswReadExternal(Relation index,
										const HnswExternalValue *ext,
										HnswValueBuffer *buffer);
extern void HnswPrefetchElement(HnswBufferCache *cache, HnswElemId id,
								bool deep);
extern void HnswPrefetchTablePage(Relation rel, BlockNumber blkno);
extern void HnswPrefetchIndexPage(Relation index, BlockNumber blkno);

/* diskgraph.c */
extern void HnswInitDiskGraph(HnswGraph **graph, Relation index,
							  HnswDistance *dist, HnswMetaPageData *meta);
extern void HnswDiskGraphKeepValues(HnswGraph *graph);
extern void HnswDiskGraphSetNewList(HnswGraph *graph, HnswElemId id,
									const HnswCandidate *list, int count);
extern void HnswRelinkNewElement(Relation index, HnswGraph *graph,
								 HnswElemId id, bool wal);
extern void HnswFollowValueLinks(HnswGraph *graph, int j);
extern bool HnswReplaceNeighbors(Relation index, HnswElemId target,
								 ItemPointer upper, int layer,
								 const HnswElemId *seen, int nseen,
								 HnswCandidate *list, int nlist, int *kept,
								 bool whole, bool wal);
extern void HnswDropNeighbors(Relation index, HnswElemId target,
							  ItemPointer upper, int layer,
							  bool (*drop) (void *arg, HnswElemId id),
							  void *arg);
extern bool HnswAddLink(Relation index, HnswGraph *graph, HnswElemId target,
						int layer, HnswCandidate *link, bool wal);

/* operators.c */
extern void *HnswDetoastArg(FunctionCallInfo fcinfo, int argno);

/* rowdistances.c */
extern bool HnswScanCanNoteRows(IndexScanDesc scan);
extern void HnswNoteRowDistance(IndexScanDesc scan, const void *owner,
								Datum query, double distance);
extern void HnswForgetRowDistances(const void *owner);
extern bool HnswNotedRowDistance(FunctionCallInfo fcinfo, double *distance);
#define HNSW_GETARG_DETOASTED(n) HnswDetoastArg(fcinfo, (n))

/* directory.c */
extern Size HnswDirectoryTupleSize(IndexTuple filter);
extern void HnswInitDirectoryPage(Page page);
extern Buffer HnswDirectoryTail(Relation index, Size size, bool wal);
extern void HnswDirectoryAdd(Relation index, Page page, HnswElemId id,
							 IndexTuple filter);
extern HnswDirectoryTuple HnswGetDirectoryTuple(Relation index, Page page,
												BlockNumber blkno,
												OffsetNumber off);
extern void HnswDirectoryRemove(Relation index, BlockNumber head,
								bool (*drop) (void *arg, HnswElemId id),
								void *arg);
extern bool HnswDirectoryMatches(Relation index, BlockNumber head,
								 HnswFilter *filter, int max_rows,
								 double expected_rows, HnswElemId **ids,
								 int *nids, double *projected);

/* links.c */
extern uint32 HnswLinkableColumns(Relation index);
extern int	HnswLinkedColumnCount(uint32 linked);
extern int	HnswFilterLinkColumn(HnswFilter *filter, uint32 linked,
								 AttrNumber *attno);
extern uint32 HnswValueKeys(TupleDesc desc, IndexTuple filter, uint32 linked,
							uint64 *keys);

/* candidates of an element's value links of one column, nearest first */
#define HNSW_VALUE_LINK_CANDIDATES(nslots) (3 * (nslots))
extern void HnswChooseValueLinks(HnswGraph *graph, Datum value, int ncolumns,
								 int nslots, const uint64 *keys,
								 uint32 valid, HnswElemId self,
								 const HnswCandidate *pool, int npool,
								 const uint64 *pool_keys,
								 const uint32 *pool_valid,
								 HnswCandidate *out, int *counts);
extern int	HnswValueLinkSlot(const float4 *distances, int count, int nslots,
							  float4 distance);
extern void HnswSetValueLinks(HnswElementTuple etup,
							  const HnswCandidate *links, const int *counts);
extern int	HnswElementValueLinks(HnswElementTuple etup, int j,
								  HnswElemId *out);
extern void HnswChooseDiskValueLinks(Relation index, HnswGraph *graph,
									 Datum value, HnswMetaPageData *meta,
									 IndexTuple filter,
									 const HnswCandidate *pool, int npool,
									 HnswCandidate *out, int *counts);
extern void HnswAddValueLinksBack(Relation index, HnswElemId id,
								  int ncolumns, int nslots,
								  const HnswCandidate *links,
								  const int *counts, bool wal);
extern void HnswRepairValueLinks(Relation index, HnswGraph *graph,
								 HnswElemId id, Datum value,
								 bool (*deleted) (void *arg, HnswElemId id),
								 void *arg);
extern bool HnswDropValueLinks(HnswElementTuple etup,
							   bool (*drop) (void *arg, HnswElemId id),
							   void *arg);

/*
 * What an index scan did, summed over its rescans: shown by EXPLAIN
 * ANALYZE (on 18) and hnsw_last_scan() (explain.c).
 */
typedef struct HnswScanStats
{
	Oid			index;
	int			ef_search;		/* beam of the first search */
	int			ef_widest;		/* widest beam of an iterative scan */
	int64		searches;		/* of the graph, iterative widenings too */
	int64		expansions;		/* elements whose neighbour lists were read */
	int64		distances;		/* distances computed */
	int64		rejected;		/* elements reached that failed the quals */
	int64		reranked;		/* values read to rank candidates (codes) */
	int64		rows;			/* rows handed out */
	int64		directory;		/* searches the filter directory answered */
	int64		value_links;	/* searches that followed value links */
	int64		pages_hit;		/* shared buffers found in the pool */
	int64		pages_read;		/* and read in */
} HnswScanStats;

/* explain.c */
extern void HnswInitExplain(void);
extern void HnswRememberScan(const HnswScanStats *stats);

/* sample.c: recall sampled in production */
#define HNSW_SAMPLE_MAX_K	100 /* rows of a scan a sample compares */

/* A row a sampled scan handed out */
typedef struct HnswSampledRow
{
	ItemPointerData heaptid;
	double		distance;
} HnswSampledRow;

extern double hnsw_sample_recall;
extern int	hnsw_sample_recall_max_per_second;
extern void HnswInitSampling(void);
extern bool HnswSampleThisScan(void);
extern void HnswSampleRecall(IndexScanDesc scan, HnswDistance *dist,
							 Datum query, struct HnswFilter *filter,
							 int ef_search, const HnswSampledRow *handed,
							 int nrows);
extern bool HnswSampledRecall(Oid index, double *recall, int *ef_search);

/* scan.c */
extern HnswScanStats *HnswScanGetStats(IndexScanDesc scan);
extern int	HnswRerankBeam(int ef_search, int storage);
extern IndexScanDesc hnswbeginscan(Relation index, int nkeys, int norderbys);
extern void hnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys,
					   ScanKey orderbys, int norderbys);
extern bool hnswgettuple(IndexScanDesc scan, ScanDirection dir);
extern void hnswendscan(IndexScanDesc scan);
extern bool hnswcanreturn(Relation index, int attno);

/* vacuum.c */
extern IndexBulkDeleteResult *hnswbulkdelete(IndexVacuumInfo *info,
											 IndexBulkDeleteResult *stats,
											 IndexBulkDeleteCallback callback,
											 void *callback_state);
extern IndexBulkDeleteResult *hnswvacuumcleanup(IndexVacuumInfo *info,
												IndexBulkDeleteResult *stats);

/* cost.c */
extern void hnswcostestimate(PlannerInfo *root, IndexPath *path,
							 double loop_count, Cost *indexStartupCost,
							 Cost *indexTotalCost,
							 Selectivity *indexSelectivity,
							 double *indexCorrelation, double *indexPages);
extern int	hnswgettreeheight(Relation index);

/* validate.c */
extern bool hnswvalidate(Oid opclassoid);

#endif							/* HNSW_H */
