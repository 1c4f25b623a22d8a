/*-------------------------------------------------------------------------
 *
 * graph.c
 *	  The algorithms of the HNSW paper (Malkov & Yashunin), independent of
 *	  where the graph is kept.
 *
 * Elements are reached only through the HnswGraph callbacks, so the same
 * code searches the in-memory graph of a build and the graph on index
 * pages; nothing here touches a buffer.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"

#include "hnsw.h"

/*
 * A set of visited element ids: open addressing with linear probing over a
 * power-of-two table, kept at most half full.  No element id is 0 (on disk
 * that would be block 0, the metapage; in a build's area, its header), so 0
 * marks a free slot.  A search asks it once per neighbour it meets, so it
 * is kept to a multiply, a shift and, mostly, one probe.
 */
typedef struct VisitedSet
{
	HnswElemId *slots;
	uint64		mask;
	int			shift;			/* 64 - log2(number of slots) */
	uint64		count;
} VisitedSet;

static void
visited_init(VisitedSet *set, uint64 expected)
{
	int			bits = 8;

	while (((uint64) 1 << bits) < expected * 2)
		bits++;
	set->slots = palloc_extended(sizeof(HnswElemId) << bits,
								 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	set->mask = ((uint64) 1 << bits) - 1;
	set->shift = 64 - bits;
	set->count = 0;
}

static inline uint64
visited_slot(VisitedSet *set, HnswElemId id)
{
	/* Fibonacci hashing: the high bits of id times 2^64 / golden ratio */
	return (id * UINT64CONST(0x9E3779B97F4A7C15)) >> set->shift;
}

/*
 * Add id; true if it was not there yet.  0, which no element has (a damaged
 * list may still name it), counts as seen: it is never visited.
 */
static bool
visited_add(VisitedSet *set, HnswElemId id)
{
	uint64		i = visited_slot(set, id);

	if (unlikely(id == 0))
		return false;
	while (set->slots[i] != 0)
	{
		if (set->slots[i] == id)
			return false;
		i = (i + 1) & set->mask;
	}
	set->slots[i] = id;
	if (++set->count * 2 > set->mask)
	{
		/* more than half full: double, and place every id again */
		HnswElemId *old = set->slots;
		uint64		nold = set->mask + 1;

		visited_init(set, nold);
		for (uint64 j = 0; j < nold; j++)
			if (old[j] != 0)
			{
				uint64		k = visited_slot(set, old[j]);

				while (set->slots[k] != 0)
					k = (k + 1) & set->mask;
				set->slots[k] = old[j];
				set->count++;
			}
		pfree(old);
	}
	return true;
}

static void
visited_free(VisitedSet *set)
{
	pfree(set->slots);
}

/*
 * A binary heap of candidates: a min-heap on distance when sign is 1, a
 * max-heap when sign is -1.
 */
typedef struct CandidateHeap
{
	HnswCandidate *items;
	int			count;
	int			capacity;
	int			sign;
} CandidateHeap;

static void
heap_init(CandidateHeap *h, int capacity, int sign)
{
	h->capacity = Max(capacity, 16);
	h->items = palloc(sizeof(HnswCandidate) * h->capacity);
	h->count = 0;
	h->sign = sign;
}

/* true if a belongs above b */
static inline bool
heap_before(CandidateHeap *h, const HnswCandidate *a, const HnswCandidate *b)
{
	return h->sign > 0 ? a->distance < b->distance : a->distance > b->distance;
}

static void
heap_push(CandidateHeap *h, const HnswCandidate *c)
{
	int			i;

	if (h->count == h->capacity)
	{
		h->capacity *= 2;
		h->items = repalloc(h->items, sizeof(HnswCandidate) * h->capacity);
	}
	i = h->count++;
	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (!heap_before(h, c, &h->items[parent]))
			break;
		h->items[i] = h->items[parent];
		i = parent;
	}
	h->items[i] = *c;
}

static HnswCandidate
heap_pop(CandidateHeap *h)
{
	HnswCandidate top = h->items[0];
	HnswCandidate last = h->items[--h->count];
	int			i = 0;

	for (;;)
	{
		int			child = 2 * i + 1;

		if (child >= h->count)
			break;
		if (child + 1 < h->count &&
			heap_before(h, &h->items[child + 1], &h->items[child]))
			child++;
		if (!heap_before(h, &h->items[child], &last))
			break;
		h->items[i] = h->items[child];
		i = child;
	}
	if (h->count > 0)
		h->items[i] = last;
	return top;
}

int
HnswCandidateCompare(const void *a, const void *b)
{
	const HnswCandidate *x = a;
	const HnswCandidate *y = b;

	if (x->distance != y->distance)
		return x->distance < y->distance ? -1 : 1;
	/* ties broken by id, so results do not depend on qsort's whims */
	return (x->id > y->id) - (x->id < y->id);
}

/* qsort/bsearch comparator of element ids, ascending */
int
HnswElemIdCompare(const void *a, const void *b)
{
	HnswElemId	x = *(const HnswElemId *) a;
	HnswElemId	y = *(const HnswElemId *) b;

	return (x > y) - (x < y);
}

static pg_prng_state level_state;
static pg_prng_state tie_state;
static bool level_state_seeded = false;

/*
 * Seed the level draws and the order of ties (shuffle_ties).  A build
 * seeds them with a constant so the same rows in the same order give the
 * same graph; otherwise the first draw seeds them at random.
 */
void
HnswSeedLevels(uint64 seed)
{
	pg_prng_seed(&level_state, seed);
	pg_prng_seed(&tie_state, seed ^ UINT64CONST(0x5DEECE66D));
	level_state_seeded = true;
}

/*
 * Draw the level of a new element: floor(-ln(U) * mL) with the paper's
 * mL = 1/ln(m) times the index's level_scale, capped so an element is on at
 * most max_layers layers.
 */
int
HnswRandomLevel(HnswGraph *graph)
{
	double		u;
	double		level;

	if (!level_state_seeded)
		HnswSeedLevels(pg_prng_uint64(&pg_global_prng_state));
	/* pg_prng_double is in [0, 1); 1 - it is in (0, 1] */
	u = 1.0 - pg_prng_double(&level_state);
	level = floor(-log(u) * graph->level_scale / log((double) graph->m));
	return (int) Min(level, (double) (graph->max_layers - 1));
}

/* Set the options of the index on graph */
void
HnswGraphSetOptions(HnswGraph *graph, int m, int ef_construction,
					int max_layers, double level_scale,
					bool extend_candidates, bool keep_pruned)
{
	graph->m = m;
	graph->ef_construction = ef_construction;
	graph->max_layers = max_layers;
	graph->level_scale = level_scale;
	graph->extend_candidates = extend_candidates;
	graph->keep_pruned = keep_pruned;
}

/*
 * extendCandidates (lines 3-8 of Algorithm 4): add to the candidates the
 * neighbours on layer of each of them, measured from base.  Returns the
 * new array (nearest first) and sets *n.
 */
static HnswCandidate *
extend_candidates(HnswGraph *graph, Datum base, int layer,
				  HnswCandidate *candidates, int *n)
{
	int			max = HnswMaxNeighbors(graph->m, layer);
	int			count = *n;
	int			capacity = count * (max + 1) + 1;
	HnswCandidate *all = palloc(sizeof(HnswCandidate) * capacity);
	HnswElemId *neighbors = palloc(sizeof(HnswElemId) * max);
	VisitedSet	seen;

	visited_init(&seen, capacity);
	memcpy(all, candidates, sizeof(HnswCandidate) * count);
	for (int i = 0; i < count; i++)
		visited_add(&seen, all[i].id);
	for (int i = 0; i < *n; i++)
	{
		int			k = graph->neighbors(graph, candidates[i].id, layer, neighbors);

		for (int j = 0; j < k; j++)
		{
			HnswCandidate *c = &all[count];

			if (!visited_add(&seen, neighbors[j]))
				continue;
			c->id = neighbors[j];
			if (graph->distance_to(graph, base, c->id, HNSW_DISTANCE_NO_LIMIT,
								   &c->distance, &c->deleted) &&
				!c->deleted)
				count++;
		}
	}
	qsort(all, count, sizeof(HnswCandidate), HnswCandidateCompare);
	visited_free(&seen);
	pfree(neighbors);
	*n = count;
	return all;
}

/*
 * SEARCH-LAYER (Algorithm 2 of the paper): beam search for the ef elements
 * of one layer nearest to query, starting from the given entries (whose
 * distances are known).  HnswSearchBegin sets it up and HnswSearchRun runs
 * it; a search can be run again with a wider beam, and then goes on where
 * it stopped rather than from the start (an iterative scan).
 *
 * Elements of dead rows are traversed like any other, so deletions do not
 * cut the graph, but with skip_deleted they never enter the result set.
 * A search that reaches graph->max_visits stops there (see HnswGraph).
 */
struct HnswSearch
{
	Datum		query;
	int			layer;
	bool		skip_deleted;
	bool		resumable;		/* may be run again with a wider beam */
	CandidateHeap candidates;	/* C: to expand, nearest first */
	CandidateHeap found;		/* W: best so far, farthest first */
	VisitedSet	visited;
	HnswElemId *neighbors;
	HnswCandidate *measured;	/* expand's: neighbours just measured */
	bool	   *measured_found;
	bool		widened;		/* has run before: see HnswSearchRun */

	/*
	 * Elements near enough for the beam that a walk along value links did not
	 * expand, since they fail the scan's quals (see HnswSearchRun)
	 */
	HnswCandidate *passed;
	int			npassed;
	int			passed_capacity;

	/*
	 * Elements whose distance is known but that the beam left out (not near
	 * enough when met, or pushed out of W since): a wider beam takes them
	 * back.
	 */
	HnswCandidate *left;
	int			nleft;
	int			left_capacity;
};

static void
leave_out(HnswSearch *s, const HnswCandidate *c)
{
	if (!s->resumable)
		return;
	if (s->nleft == s->left_capacity)
	{
		s->left_capacity = Max(64, s->left_capacity * 2);
		s->left = s->left ? repalloc(s->left, sizeof(HnswCandidate) * s->left_capacity) :
			palloc(sizeof(HnswCandidate) * s->left_capacity);
	}
	s->left[s->nleft++] = *c;
}

/* Remember c, which a walk along value links passes by */
static void
pass_by(HnswSearch *s, const HnswCandidate *c)
{
	if (s->npassed == s->passed_capacity)
	{
		s->passed_capacity = Max(64, s->passed_capacity * 2);
		s->passed = s->passed ? repalloc(s->passed, sizeof(HnswCandidate) * s->passed_capacity) :
			palloc(sizeof(HnswCandidate) * s->passed_capacity);
	}
	s->passed[s->npassed++] = *c;
}

/* W's farthest once W holds ef elements: past it, distances may be cut */
static inline double
beam_limit(HnswSearch *s, int ef)
{
	return s->found.count >= ef ? s->found.items[0].distance :
		HNSW_DISTANCE_NO_LIMIT;
}

/* beam_distance's c->beyond, for a distance measured with limit */
static inline void
set_beyond(HnswCandidate *c, double limit)
{
	c->beyond = limit < HNSW_DISTANCE_NO_LIMIT && !(c->distance < limit);
}

/*
 * The distance of c->id from the query, as far as the search needs it:
 * once W holds ef elements, only whether it beats W's farthest, so a
 * distance past that may be left unfinished (c->beyond; the kernels stop
 * early, see HnswComputeDistanceWithin).  False if the element is gone.
 */
static inline bool
beam_distance(HnswGraph *graph, HnswSearch *s, HnswCandidate *c, int ef)
{
	double		limit = beam_limit(s, ef);

	if (!graph->distance_to(graph, s->query, c->id, limit, &c->distance,
							&c->deleted))
		return false;
	set_beyond(c, limit);
	return true;
}

/*
 * Measure neighbors[0 .. n) from the head on, as many as one read of the
 * graph gives (distances_on_page) or one, into s->measured and
 * s->measured_found; returns how many.  They share the limit of the beam
 * when the first is measured: a limit since lowered by one of them only
 * lets the others' distances be finished where they need not have been.
 */
static int
measure_some(HnswGraph *graph, HnswSearch *s, const HnswElemId *neighbors,
			 int n, int ef)
{
	double		limit = beam_limit(s, ef);
	HnswCandidate *out = s->measured;
	int			k = 1;

	if (graph->distances_on_page)
		k = graph->distances_on_page(graph, s->query, neighbors, n, limit,
									 out, s->measured_found);
	else
	{
		out[0].id = neighbors[0];
		s->measured_found[0] = graph->distance_to(graph, s->query,
												  neighbors[0], limit,
												  &out[0].distance,
												  &out[0].deleted);
	}
	for (int i = 0; i < k; i++)
	{
		set_beyond(&out[i], limit);
		out[i].filled = false;
	}
	return k;
}

/* Add c to W, keeping at most ef there; what W lets go is left out */
static void
add_found(HnswSearch *s, const HnswCandidate *c, int ef)
{
	if (s->skip_deleted && c->deleted)
		return;
	heap_push(&s->found, c);
	while (s->found.count > ef)
	{
		HnswCandidate out = heap_pop(&s->found);

		leave_out(s, &out);
	}
}

HnswSearch *
HnswSearchBegin(HnswGraph *graph, Datum query, HnswCandidate *entries,
				int nentries, int ef, int layer, bool skip_deleted,
				bool resumable)
{
	HnswSearch *s = palloc0(sizeof(HnswSearch));
	int			max_neighbors;

	s->query = query;
	s->layer = layer;
	s->skip_deleted = skip_deleted;
	s->resumable = resumable;
	heap_init(&s->candidates, ef * 2, 1);
	heap_init(&s->found, ef + 1, -1);
	visited_init(&s->visited, ef * 16);
	max_neighbors = Max(HnswMaxNeighbors(graph->m, 0), HNSW_MAX_VALUE_LINKS);
	s->neighbors = palloc(sizeof(HnswElemId) * max_neighbors);
	s->measured = palloc(sizeof(HnswCandidate) * max_neighbors);
	s->measured_found = palloc(sizeof(bool) * max_neighbors);
	for (int i = 0; i < nentries; i++)
	{
		HnswCandidate e = entries[i];

		e.beyond = false;
		visited_add(&s->visited, e.id);
		heap_push(&s->candidates, &e);
		add_found(s, &e, ef);
	}
	return s;
}

/* A wider beam than the last run's: take back what that one left out */
static void
take_back_left_out(HnswSearch *s, int ef)
{
	HnswCandidate *left = s->left;
	int			nleft = s->nleft;

	s->left = NULL;
	s->nleft = s->left_capacity = 0;
	for (int i = 0; i < nleft; i++)
	{
		heap_push(&s->candidates, &left[i]);
		if (!left[i].beyond)
			add_found(s, &left[i], ef);
	}
	pfree(left);
}

/*
 * An element a narrower beam left out without its whole distance (only
 * that it was too far then): measure it now, and put it where that takes
 * it.  The part it had was below the beam's farthest, so the whole distance
 * may still make it.
 */
static void
measure_beyond(HnswGraph *graph, HnswSearch *s, HnswCandidate *c, int ef)
{
	if (!beam_distance(graph, s, c, ef))
		return;
	if (s->found.count < ef || c->distance < s->found.items[0].distance)
	{
		heap_push(&s->candidates, c);
		add_found(s, c, ef);
	}
	else
		leave_out(s, c);
}

/*
 * Expand candidate c: measure its neighbours not seen yet, and put each
 * into the beam, among the candidates, passed by or left out.  Returns
 * false when the graph's budget of visits (max_visits) runs out.
 */
static bool
expand(HnswGraph *graph, HnswSearch *s, HnswCandidate *c, int ef,
	   bool follow_links)
{
	HnswElemId *neighbors = s->neighbors;
	int			n = -1;
	int			k = 0;
	bool		by_links;

	/*
	 * From an element that matches the scan's quals, its value links lead to
	 * more such elements (links.c); from the others, and from elements
	 * without value links, the layer's list.
	 */
	graph->expansions++;
	if (follow_links && !c->deleted)
		n = graph->value_neighbors(graph, c->id, neighbors);
	by_links = (n >= 0);
	if (n < 0)
		n = graph->neighbors(graph, c->id, s->layer, neighbors);

	/* keep the ones not seen yet, and have their pages on the way */
	for (int i = 0; i < n; i++)
		if (visited_add(&s->visited, neighbors[i]))
			neighbors[k++] = neighbors[i];
	n = k;
	if (graph->prefetch)
	{
		for (int i = 0; i < n; i++)
			graph->prefetch(graph, neighbors[i], false);
		for (int i = 0; i < Min(n, 2); i++)
			graph->prefetch(graph, neighbors[i], true);
	}

	/*
	 * Measure them in the order of the list, the ones on one page at a time
	 * where the graph can (measure_some)
	 */
	for (int i = 0, prefetched = Min(n, 2); i < n;)
	{
		int			count = n - i;

		if (graph->max_visits > 0)
		{
			if (graph->visits >= graph->max_visits)
			{
				graph->exhausted = true;
				return false;
			}
			count = Min(count, graph->max_visits - graph->visits);
		}
		if (graph->prefetch)
			for (; prefetched < Min(n, i + 3); prefetched++)
				graph->prefetch(graph, neighbors[prefetched], true);
		count = measure_some(graph, s, neighbors + i, count, ef);
		graph->visits += count;
		i += count;

		for (int j = 0; j < count; j++)
		{
			HnswCandidate *e = &s->measured[j];

			if (!s->measured_found[j])
				continue;		/* removed by VACUUM meanwhile */

			/*
			 * Following value links, once the walk has reached a matching
			 * element it stays among them: an element that fails the quals is
			 * no longer expanded, unless a matching element without value
			 * links (VACUUM may have left it none) leads to it.  Expanding
			 * them until the beam was full, or half full, found more of the
			 * nearest rows at the same beam but cost more than a wider beam
			 * did for the same recall.  The links of a value need not connect
			 * all its elements, so a search run again with a wider beam (an
			 * iterative scan that wants more rows) expands every element, as
			 * without links, starting with those passed by here: it reaches
			 * every matching row.
			 */
			if (!(s->found.count < ef || e->distance < s->found.items[0].distance))
				leave_out(s, e);
			else if (e->deleted && follow_links && (c->deleted || by_links) &&
					 s->found.count > 0)
				pass_by(s, e);
			else
			{
				heap_push(&s->candidates, e);
				add_found(s, e, ef);
			}
		}
	}
	return true;
}

/*
 * Run search s with a beam of ef (at least that of any run before, and
 * again only if s is resumable) until no candidate can improve on its ef
 * best.  Returns the number of results
 * and sets *result to a fresh array of them, nearest first.
 */
int
HnswSearchRun(HnswGraph *graph, HnswSearch *s, int ef, HnswCandidate **result)
{
	int			nresults;
	bool		follow_links = graph->value_neighbors != NULL && s->layer == 0 &&
		!s->widened;

	if (s->nleft > 0)
		take_back_left_out(s, ef);

	for (;;)
	{
		bool		exhausted = false;

		while (s->candidates.count > 0)
		{
			HnswCandidate c = heap_pop(&s->candidates);

			if (s->found.count >= ef && c.distance > s->found.items[0].distance)
			{
				/* a wider beam may want it */
				if (s->resumable)
					heap_push(&s->candidates, &c);
				break;
			}
			if (c.beyond)
				measure_beyond(graph, s, &c, ef);
			else if (!expand(graph, s, &c, ef, follow_links))
			{
				exhausted = true;
				break;
			}
		}
		if (exhausted)
			break;

		/*
		 * The walk along value links ran out of elements before its beam was
		 * full: the links it could reach end there (a value's links need not
		 * connect all its elements).  Go on as without links from the
		 * elements it passed by, so that a search that finds fewer than ef
		 * still means there are no more (an iterative scan relies on it).
		 */
		if (!(follow_links && s->found.count < ef && s->npassed > 0))
			break;
		follow_links = false;
		for (int i = 0; i < s->npassed; i++)
			heap_push(&s->candidates, &s->passed[i]);
		s->npassed = 0;
	}

	/* what the walk passed by is left out: a wider beam takes it back */
	for (int i = 0; i < s->npassed; i++)
		leave_out(s, &s->passed[i]);
	s->npassed = 0;
	s->widened = true;
	nresults = s->found.count;
	*result = palloc(sizeof(HnswCandidate) * Max(nresults, 1));
	memcpy(*result, s->found.items, sizeof(HnswCandidate) * nresults);
	qsort(*result, nresults, sizeof(HnswCandidate), HnswCandidateCompare);
	return nresults;
}

/* Free what search s holds */
void
HnswSearchEnd(HnswSearch *s)
{
	visited_free(&s->visited);
	pfree(s->neighbors);
	pfree(s->measured);
	pfree(s->measured_found);
	pfree(s->candidates.items);
	pfree(s->found.items);
	if (s->left)
		pfree(s->left);
	if (s->passed)
		pfree(s->passed);
	pfree(s);
}

/*
 * One search of a layer with a beam of ef; see HnswSearchBegin.  Returns
 * the number of results and sets *result to them, nearest first.
 */
int
HnswSearchLayer(HnswGraph *graph, Datum query, HnswCandidate *entries,
				int nentries, int ef, int layer, bool skip_deleted,
				HnswCandidate **result)
{
	HnswSearch *s = HnswSearchBegin(graph, query, entries, nentries, ef,
									layer, skip_deleted, false);
	int			nresults = HnswSearchRun(graph, s, ef, result);

	HnswSearchEnd(s);
	return nresults;
}

/*
 * Before the element of ids[i] is read, have the next ones on the way, as
 * rank_exactly in scan.c does: the pages of those HNSW_READ_AHEAD ahead,
 * and the value of the next.  The heuristic and the cuts read their
 * candidates one after another, each mostly from a page the search left
 * out of the CPU's caches.
 */
#define HNSW_READ_AHEAD 4

static inline void
read_ahead(HnswGraph *graph, const HnswCandidate *candidates,
		   const HnswElemId *ids, int i, int n)
{
	if (graph->prefetch == NULL)
		return;
	if (i == 0)
		for (int k = 1; k < Min(HNSW_READ_AHEAD, n); k++)
			graph->prefetch(graph, ids ? ids[k] : candidates[k].id, false);
	if (i + HNSW_READ_AHEAD < n)
		graph->prefetch(graph, ids ? ids[i + HNSW_READ_AHEAD] :
						candidates[i + HNSW_READ_AHEAD].id, false);
	if (i + 1 < n)
		graph->prefetch(graph, ids ? ids[i + 1] : candidates[i + 1].id, true);
}

/*
 * Fetch the value of candidate i into values[i] once; false if the element
 * is gone.
 */
static bool
candidate_value(HnswGraph *graph, HnswCandidate *candidates, Datum *values,
				int i)
{
	if (values[i] == (Datum) 0)
		values[i] = graph->value(graph, candidates[i].id);
	return values[i] != (Datum) 0;
}

/*
 * Put each run of candidates at the same distance (nearest first, as
 * sorted) in random order.  Such runs are mostly exact copies of one value,
 * and the heuristic keeps the first of them and turns away the rest (each
 * is at distance 0 from the first); ties broken by id instead sent every
 * list's links to the same few oldest copies, and a copy none of them
 * listed could be reached by no search.
 */
static void
shuffle_ties(HnswCandidate *candidates, int n)
{
	if (!level_state_seeded)
		HnswSeedLevels(pg_prng_uint64(&pg_global_prng_state));
	for (int i = 0; i < n;)
	{
		int			j = i + 1;

		while (j < n && candidates[j].distance == candidates[i].distance)
			j++;
		for (int k = j - 1; k > i; k--)
		{
			int			r = i + (int) pg_prng_uint64_range(&tie_state, 0, k - i);
			HnswCandidate tmp = candidates[k];

			candidates[k] = candidates[r];
			candidates[r] = tmp;
		}
		i = j;
	}
}

/*
 * SELECT-NEIGHBORS-HEURISTIC (Algorithm 4 of the paper) for base on layer:
 * with extend (the index's extend_candidates, for a new element's own
 * neighbours), the candidates' own neighbours join them first; then
 * candidates (nearest first, ties in random order: see shuffle_ties, which
 * reorders the caller's array) are taken in order, and one is kept only if it
 * is nearer to the base than to every neighbour kept so far; with
 * keep_pruned the list is then topped up with the nearest of the pruned ones
 * to fill_to entries (marked filled in selected).  Returns the number put
 * in selected.  cold says that the candidates' values have not been read
 * yet, so are worth prefetching as the loop goes.
 *
 * Exact duplicates of base (distance 0) fill at most half the list.  Among
 * many equal values the heuristic keeps them all (none is nearer to another
 * than to base), so their lists would hold nothing but each other, turn
 * away every link from outside, and a crowd of duplicates could become an
 * island that searches never enter (seen: 33 equal int2[] sets under
 * Jaccard distance that no search found).
 */
static int
select_neighbors(HnswGraph *graph, Datum base, int layer, bool extend,
				 HnswCandidate *candidates, int ncandidates,
				 int max_neighbors, int fill_to, bool cold,
				 HnswCandidate *selected)
{
	Datum	   *values;
	int		   *kept;
	char	   *taken;			/* 1: kept by the heuristic, 2: filled in */
	int			nkept = 0;
	int			max_duplicates = Max(1, max_neighbors / 2);
	int			nduplicates = 0;

	if (extend && ncandidates > 0)
		candidates = extend_candidates(graph, base, layer, candidates,
									   &ncandidates);
	if (ncandidates <= max_neighbors)
	{
		memcpy(selected, candidates, sizeof(HnswCandidate) * ncandidates);
		for (int i = 0; i < ncandidates; i++)
			selected[i].filled = false;
		return ncandidates;
	}
	shuffle_ties(candidates, ncandidates);
	values = palloc0(sizeof(Datum) * ncandidates);
	kept = palloc(sizeof(int) * ncandidates);
	taken = palloc0(sizeof(char) * ncandidates);

	for (int i = 0; i < ncandidates && nkept < max_neighbors; i++)
	{
		bool		good = true;

		if (candidates[i].distance == 0 && nduplicates >= max_duplicates)
			continue;
		if (cold)
			read_ahead(graph, candidates, NULL, i, ncandidates);
		for (int j = 0; j < nkept && good; j++)
		{
			int			r = kept[j];

			if (!candidate_value(graph, candidates, values, i) ||
				!candidate_value(graph, candidates, values, r))
				good = false;	/* removed by VACUUM meanwhile */
			else if (HnswComputeDistanceWithin(graph->distance, values[i],
											   values[r], candidates[i].distance) <
					 candidates[i].distance)
				good = false;
		}
		if (good)
		{
			kept[nkept++] = i;
			taken[i] = 1;
			if (candidates[i].distance == 0)
				nduplicates++;
		}
	}

	/* keepPrunedConnections: fill up with the nearest pruned candidates */
	for (int i = 0; graph->keep_pruned && i < ncandidates && nkept < fill_to; i++)
	{
		if (taken[i])
			continue;
		if (candidates[i].distance == 0)
		{
			if (nduplicates >= max_duplicates)
				continue;
			nduplicates++;
		}
		kept[nkept++] = i;
		taken[i] = 2;
	}

	/* keep the list nearest first */
	for (int i = 0, k = 0; i < ncandidates; i++)
		if (taken[i])
		{
			selected[k] = candidates[i];
			selected[k++].filled = (taken[i] == 2);
		}

	pfree(values);
	pfree(kept);
	pfree(taken);
	return nkept;
}

/*
 * A new element's neighbours on a layer: the heuristic above, topped up
 * (with keep_pruned) to the full max_neighbors.
 */
int
HnswSelectNeighbors(HnswGraph *graph, Datum base, int layer, bool extend,
					HnswCandidate *candidates, int ncandidates,
					int max_neighbors, HnswCandidate *selected)
{
	return select_neighbors(graph, base, layer, extend, candidates,
							ncandidates, max_neighbors, max_neighbors, true,
							selected);
}

/*
 * Lines 1-10 of INSERT (Algorithm 1 of the paper): greedy descent from the
 * entry point to level + 1, then on each layer from min(level, entry_level)
 * down to 0 a search with ef_construction whose results, chosen by the
 * heuristic, become the new element's neighbours on that layer.
 *
 * lists[l] (allocated here) and counts[l] receive the neighbours of layer
 * l; layers above entry_level get none.  With pool, *pool and *npool
 * receive all that the search of layer 0 found (nearest first), the
 * candidates of the element's value links.  Returns false if the entry
 * point has disappeared (the caller should read the metapage again).
 */
bool
HnswFindNeighbors(HnswGraph *graph, Datum value, int level,
				  HnswElemId entry, int entry_level,
				  HnswCandidate **lists, int *counts,
				  HnswCandidate **pool, int *npool)
{
	HnswCandidate *entries;
	int			nentries = 1;

	for (int l = 0; l <= level; l++)
	{
		lists[l] = palloc(sizeof(HnswCandidate) * HnswMaxNeighbors(graph->m, l));
		counts[l] = 0;
	}

	if (pool)
	{
		*pool = NULL;
		*npool = 0;
	}
	entries = palloc(sizeof(HnswCandidate));
	entries[0].id = entry;
	if (!graph->distance_to(graph, value, entry, HNSW_DISTANCE_NO_LIMIT,
							&entries[0].distance, &entries[0].deleted))
		return false;

	for (int layer = entry_level; layer >= 0; layer--)
	{
		HnswCandidate *found;
		int			nfound;

		if (layer > level)
		{
			/* greedy descent: the single nearest, dead or alive */
			nfound = HnswSearchLayer(graph, value, entries, nentries, 1, layer,
									 false, &found);
		}
		else
		{
			nfound = HnswSearchLayer(graph, value, entries, nentries,
									 graph->ef_construction, layer, true,
									 &found);
			counts[layer] = HnswSelectNeighbors(graph, value, layer,
												graph->extend_candidates,
												found, nfound,
												HnswMaxNeighbors(graph->m, layer),
												lists[layer]);
		}

		/* the next layer starts from what this one found */
		if (nfound > 0)
		{
			pfree(entries);
			entries = found;
			nentries = nfound;
		}
		if (layer == 0 && pool && nfound > 0)
		{
			*pool = entries;
			*npool = nentries;
			return true;
		}
	}
	pfree(entries);
	return true;
}

/*
 * Shrink or extend a neighbour list (lines 13-16 of Algorithm 1, and the
 * repair of lists by VACUUM): the elements ids (plus extra, if not NULL),
 * measured from base, are cut down to max_neighbors by the heuristic.
 * Elements of dead rows and removed ones are dropped.  Returns the size of
 * the new list written to out (nearest first).
 *
 * keep_pruned tops the cut list up to HNSW_PRUNE_FILL(max_neighbors), a
 * little short of full: the next links then join the list without another
 * cut.  A cut costs the distances among all the list's members, and with
 * lists kept exactly full every new link to an element would pay one; the
 * slack of 1/16 spares most of those cuts and lost no recall.
 */
int
HnswPruneNeighbors(HnswGraph *graph, Datum base, const HnswElemId *ids,
				   int nids, const HnswCandidate *extra, int max_neighbors,
				   HnswCandidate *out)
{
	HnswCandidate *candidates = palloc(sizeof(HnswCandidate) * (nids + 1));
	int			n = 0;
	int			result;

	/* the heuristic below wants each member's value after its distance */
	bool		(*measure) (HnswGraph *, Datum, HnswElemId, double,
							double *, bool *) =
		graph->measure_kept ? graph->measure_kept : graph->distance_to;

	for (int i = 0; i < nids; i++)
	{
		HnswCandidate *c = &candidates[n];

		if (extra != NULL && ids[i] == extra->id)
			continue;
		read_ahead(graph, NULL, ids, i, nids);
		c->id = ids[i];
		if (measure(graph, base, c->id, HNSW_DISTANCE_NO_LIMIT, &c->distance,
					&c->deleted) &&
			!c->deleted)
			n++;
	}
	if (extra != NULL)
		candidates[n++] = *extra;
	qsort(candidates, n, sizeof(HnswCandidate), HnswCandidateCompare);
	/* the same id twice sorts next to itself: keep one */
	if (n > 1)
	{
		int			k = 1;

		for (int i = 1; i < n; i++)
			if (candidates[i].id != candidates[k - 1].id)
				candidates[k++] = candidates[i];
		n = k;
	}
	/* not extended: a full list's candidates are its own neighbourhood */
	result = select_neighbors(graph, base, 0, false, candidates, n,
							  max_neighbors, HNSW_PRUNE_FILL(max_neighbors),
							  graph->measure_kept == NULL, out);
	pfree(candidates);
	return result;
}
