/*-------------------------------------------------------------------------
 *
 * reconnect.c
 *	  Linking back the elements of a graph that nothing leads to.
 *
 * Pruning a full neighbour list by the heuristic (when an insert links a
 * closer element, or VACUUM repairs a list) can take away an element's
 * last in-link; no search can then find it.  A breadth-first walk over
 * layer 0 from the entry point, which reads every list once, finds such
 * elements, and counts for each reached element the links that lead to
 * it.  Each unreached element is then searched for like a new element and
 * put into the list of its nearest reached neighbour: into a free slot, or
 * in place of the link to the element that most other links also reach,
 * so that linking one element back never strands another.  The walk then
 * goes on from it (an orphaned cluster needs only one link).
 *
 * Used at the end of a build (over the in-memory graph) and by every
 * VACUUM (over the pages, while inserts may run: the walk does not follow
 * elements missing from its array, so one reached only through those gets
 * an extra link, which does no harm).
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "hnsw.h"

typedef struct Walk
{
	HnswGraph  *graph;
	const HnswElemId *ids;		/* the elements to reach, ascending */
	int			nids;
	bool	   *reached;
	uint16	   *indegree;		/* links to it from reached elements */
	int		   *queue;
	int			head;
	int			tail;
	HnswElemId *neighbors;		/* scratch for one list */
} Walk;

/* Position of id among the elements to reach, or -1 */
static int
position(Walk *walk, HnswElemId id)
{
	const HnswElemId *found = bsearch(&id, walk->ids, walk->nids,
									  sizeof(HnswElemId), HnswElemIdCompare);

	return found ? (int) (found - walk->ids) : -1;
}

/* Follow the layer-0 links of id: count them, queue what is new */
static void
walk_from(Walk *walk, HnswElemId id)
{
	int			n = walk->graph->neighbors(walk->graph, id, 0, walk->neighbors);

	for (int i = 0; i < n; i++)
	{
		int			k = position(walk, walk->neighbors[i]);

		if (k < 0)
			continue;
		if (walk->indegree[k] < PG_UINT16_MAX)
			walk->indegree[k]++;
		if (!walk->reached[k])
		{
			walk->reached[k] = true;
			walk->queue[walk->tail++] = k;
		}
	}
}

/* Walk on from everything queued */
static void
walk_on(Walk *walk)
{
	while (walk->head < walk->tail)
	{
		if (walk->head % 1024 == 0)
			CHECK_FOR_INTERRUPTS();
		walk_from(walk, walk->ids[walk->queue[walk->head++]]);
	}
}

/*
 * Link the unreached element ids[k] from a reached neighbour (see the top
 * of the file).  An element whose own list has emptied gets the neighbours
 * found.  Returns true if it is linked.
 */
static bool
relink(Walk *walk, HnswElemId entry, int entry_level, int k)
{
	HnswGraph  *graph = walk->graph;
	HnswElemId	id = walk->ids[k];
	int			max = HnswMaxNeighbors(graph->m, 0);
	HnswCandidate *lists[HNSW_MAX_LAYERS];
	int			counts[HNSW_MAX_LAYERS];
	HnswElemId *seen = palloc(sizeof(HnswElemId) * max);
	HnswCandidate *list = palloc(sizeof(HnswCandidate) * max);
	Datum		value = graph->value(graph, id);
	int			n = 0;

	if (value == (Datum) 0 ||
		!HnswFindNeighbors(graph, value, 0, entry, entry_level, lists, counts,
						   NULL, NULL))
		return false;
	/* the search may find the element itself, through one not in ids */
	for (int i = 0; i < counts[0]; i++)
		if (lists[0][i].id != id)
			lists[0][n++] = lists[0][i];

	/*
	 * An element whose list has emptied gets the neighbours found, nearest
	 * first, as many as its list's bytes hold (replace takes a list whole)
	 */
	if (n > 0 && graph->neighbors(graph, id, 0, seen) == 0)
	{
		for (int take = n; take > 0; take--)
			if (graph->replace(graph, id, seen, 0, lists[0], take))
				break;
	}

	for (int i = 0; i < n; i++)
	{
		HnswElemId	target = lists[0][i].id;
		int			t = position(walk, target);
		int			nseen;
		int			slot = -1;
		int			victim = -1;

		/* only a reached element leads anywhere */
		if (t < 0 || !walk->reached[t])
			continue;
		nseen = graph->neighbors(graph, target, 0, seen);
		for (int j = 0; j < nseen; j++)
			if (seen[j] == id)
				return true;

		/*
		 * Appended if the list has room; else, or if the list's bytes have no
		 * room (a compact list: replace takes a list whole or not at all), in
		 * place of the link to the element with the most other in-links
		 */
		for (int attempt = 0; attempt < 2; attempt++)
		{
			slot = -1;
			victim = -1;
			if (attempt == 0 && nseen < max)
				slot = nseen;
			else
			{
				for (int j = 0; j < nseen; j++)
				{
					int			v = position(walk, seen[j]);

					if (v >= 0 && walk->indegree[v] >= 2 &&
						(victim < 0 || walk->indegree[v] > walk->indegree[victim]))
					{
						victim = v;
						slot = j;
					}
				}
				if (victim < 0)
					break;
			}
			for (int j = 0; j < nseen; j++)
				list[j].id = seen[j];
			list[slot].id = id;
			if (graph->replace(graph, target, seen, nseen, list, Max(nseen, slot + 1)))
			{
				if (victim >= 0)
					walk->indegree[victim]--;
				walk->indegree[k]++;
				return true;
			}
			if (victim >= 0)
				break;
		}
	}
	return false;
}

/*
 * Make every one of ids[] (ascending) reachable on layer 0 from entry, if
 * the graph allows: see the top of the file.  Sets *unreached to how many
 * were not reachable, *remaining to how many still are not, and returns
 * how many it linked back.  The graph needs its replace callback.
 */
int
HnswLinkUnreachable(HnswGraph *graph, const HnswElemId *ids, int nids,
					HnswElemId entry, int entry_level, int *unreached,
					int *remaining)
{
	Walk		walk;
	int			entry_index;
	int			relinked = 0;
	int			saved_ef = graph->ef_construction;
	MemoryContext tmp_cxt;

	*unreached = *remaining = 0;
	if (entry_level < 0 || nids == 0)
		return 0;

	walk.graph = graph;
	walk.ids = ids;
	walk.nids = nids;
	walk.reached = MemoryContextAllocHuge(CurrentMemoryContext, nids);
	memset(walk.reached, 0, nids);
	walk.indegree = MemoryContextAllocHuge(CurrentMemoryContext,
										   sizeof(uint16) * nids);
	memset(walk.indegree, 0, sizeof(uint16) * nids);
	walk.queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int) * nids);
	walk.head = walk.tail = 0;
	walk.neighbors = palloc(sizeof(HnswElemId) * HnswMaxNeighbors(graph->m, 0));

	/* an entry point missing from ids (inserted meanwhile): start past it */
	entry_index = position(&walk, entry);
	if (entry_index >= 0)
	{
		walk.reached[entry_index] = true;
		walk.queue[walk.tail++] = entry_index;
	}
	else
		walk_from(&walk, entry);
	walk_on(&walk);

	/*
	 * Link back what the walk missed, searching wider than an insert does
	 * (the candidates must include reached elements).  An element whose
	 * nearest neighbours are unreachable too can be linked only once they
	 * are: go round again while that makes progress.
	 */
	graph->ef_construction = Max(saved_ef, 2 * HnswMaxNeighbors(graph->m, 0));
	tmp_cxt = AllocSetContextCreate(CurrentMemoryContext, "hnsw relink",
									ALLOCSET_DEFAULT_SIZES);
	for (int round = 0; round < 3; round++)
	{
		int			linked_now = 0;

		for (int i = 0; i < nids; i++)
		{
			MemoryContext old_cxt;
			bool		linked;

			if (walk.reached[i])
				continue;
			CHECK_FOR_INTERRUPTS();
			*unreached += (round == 0);
			old_cxt = MemoryContextSwitchTo(tmp_cxt);
			linked = relink(&walk, entry, entry_level, i);
			MemoryContextSwitchTo(old_cxt);
			MemoryContextReset(tmp_cxt);
			if (linked)
			{
				linked_now++;
				walk.reached[i] = true;
				walk.queue[walk.tail++] = i;
				walk_on(&walk);
			}
		}
		relinked += linked_now;
		if (linked_now == 0)
			break;
	}
	graph->ef_construction = saved_ef;
	MemoryContextDelete(tmp_cxt);

	for (int i = 0; i < nids; i++)
		*remaining += !walk.reached[i];
	pfree(walk.reached);
	pfree(walk.indegree);
	pfree(walk.queue);
	pfree(walk.neighbors);
	return relinked;
}
