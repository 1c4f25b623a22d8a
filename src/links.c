/*-------------------------------------------------------------------------
 *
 * links.c
 *	  Value links: per scalar filter column, links from every element to
 *	  the nearest elements that have the same value in that column.
 *
 * A scan with a qual "column = constant" on a filter column walks the
 * graph through all elements and keeps only the matching ones in its beam
 * (filter.c); when one row in ten matches, it passes through about nine
 * failing elements, and reads each one's page, for every matching one it
 * finds.  With value links (CREATE INDEX ... WITH (filter_links = 16)) it
 * walks from each matching element along that element's links for the
 * column instead, which lead to elements of the same value only: its walk
 * stays among the matching rows, as an unfiltered search stays in the
 * graph.  Elements that fail the quals (where the walk starts, mostly) are
 * still expanded through their ordinary neighbour lists.
 *
 * An element's links are chosen without a search of their own: its layer-0
 * search, for its ordinary neighbours, met the ef_construction elements
 * nearest to it, and the nearest of those that share its value are cut
 * down to its links by the paper's heuristic, as a neighbour list is.  Each
 * of them gets a link back to it, which takes the place of its farthest
 * link when its list is full and the new element is nearer (the distance
 * of every link is stored beside it for that, so no value is read): lists
 * drift toward the nearest elements of the same value.  The walk relies
 * on the ordinary graph to bring it near the query first.
 *
 * "The same value" is judged by a 64-bit key (the value itself for
 * integers and booleans, a hash of its bytes otherwise), and only for
 * columns whose equality is that of their bytes (HnswLinkableColumns).  A
 * key collision, or VACUUM giving a linked element's place to another row,
 * leaves a link to an element of another value: the scan checks every
 * element it reaches, so such a link costs a visit, never a wrong row.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/itup.h"
#include "common/hashfn.h"
#include "port/pg_bitutils.h"
#include "storage/bufmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "hnsw.h"

/*
 * The filter columns of index that can have value links, as a bit mask
 * (bit i: filter column i, index column i + 2): key columns (INCLUDE ones
 * are never searched) that are not arrays (their quals are && and
 * containment, not equality) and whose collation, if any, is
 * deterministic (equal values have equal bytes).  At most 32.
 */
uint32
HnswLinkableColumns(Relation index)
{
	TupleDesc	desc = RelationGetDescr(index);
	int			nkeys = IndexRelationGetNumberOfKeyAttributes(index);
	uint32		linked = 0;

	for (int attno = 2; attno <= nkeys && attno - 2 < 32; attno++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, attno - 1);
		Oid			collation = index->rd_indcollation[attno - 1];

		if (type_is_array(att->atttypid))
			continue;
		if (OidIsValid(collation) && !get_collation_isdeterministic(collation))
			continue;
		linked |= (uint32) 1 << (attno - 2);
	}
	return linked;
}

/* Number of linked columns in a mask of them */
int
HnswLinkedColumnCount(uint32 linked)
{
	return pg_popcount32(linked);
}

/*
 * The keys of the linked columns of filter (an IndexTuple of desc, the
 * filter columns), one per linked column in column order.  Returns a mask
 * (bit j: the j-th linked column) of those that are not NULL (a value
 * whose length runs past the tuple counts as NULL: hnsw_verify and the
 * scan's checks report such damage).
 */
uint32
HnswValueKeys(TupleDesc desc, IndexTuple filter, uint32 linked, uint64 *keys)
{
	uint32		valid = 0;
	int			j = 0;

	for (int i = 0; i < 32 && (linked >> i) != 0; i++)
	{
		Form_pg_attribute att;
		Datum		datum;
		bool		isnull;

		if ((linked & ((uint32) 1 << i)) == 0)
			continue;
		keys[j] = 0;
		if (filter == NULL || i >= desc->natts)
		{
			j++;
			continue;
		}
		att = TupleDescAttr(desc, i);
		datum = index_getattr(filter, i + 1, desc, &isnull);
		/* a damaged length must not send the hash off the tuple */
		if (!isnull && att->attlen == -1 &&
			(char *) DatumGetPointer(datum) + VARSIZE_ANY(DatumGetPointer(datum)) >
			(char *) filter + IndexTupleSize(filter))
			isnull = true;
		if (!isnull)
		{
			if (att->attbyval)
				keys[j] = (uint64) datum;
			else if (att->attlen == -1)
			{
				struct varlena *v = PG_DETOAST_DATUM_PACKED(datum);

				keys[j] = DatumGetUInt64(hash_any_extended((unsigned char *) VARDATA_ANY(v),
														   VARSIZE_ANY_EXHDR(v), 0));
			}
			else if (att->attlen > 0)
				keys[j] = DatumGetUInt64(hash_any_extended((unsigned char *) DatumGetPointer(datum),
														   att->attlen, 0));
			else
				keys[j] = DatumGetUInt64(hash_any_extended((unsigned char *) DatumGetPointer(datum),
														   strlen(DatumGetCString(datum)), 0));
			valid |= (uint32) 1 << j;
		}
		j++;
	}
	return valid;
}

/*
 * Choose an element's value links from pool, the candidates of its layer-0
 * search (nearest first), whose keys are pool_keys[i * ncolumns + j] and
 * whose non-NULL columns are pool_valid[i].  For each linked column j
 * where the element (value, whose id is self if the pool may hold it) is
 * not NULL, the nearest candidates with its key, at most
 * HNSW_VALUE_LINK_CANDIDATES of them, are cut down to nslots by the
 * paper's heuristic (as a neighbour list is), and go to out[j * nslots
 * ...], counts[j] of them.
 */
void
HnswChooseValueLinks(HnswGraph *graph, Datum value, int ncolumns, int nslots,
					 const uint64 *keys, uint32 valid, HnswElemId self,
					 const HnswCandidate *pool, int npool,
					 const uint64 *pool_keys, const uint32 *pool_valid,
					 HnswCandidate *out, int *counts)
{
	int			max = HNSW_VALUE_LINK_CANDIDATES(nslots);
	HnswCandidate *same = palloc(sizeof(HnswCandidate) * max);

	for (int j = 0; j < ncolumns; j++)
	{
		int			n = 0;

		counts[j] = 0;
		if ((valid & ((uint32) 1 << j)) == 0)
			continue;
		for (int i = 0; i < npool && n < max; i++)
		{
			if (pool[i].deleted || pool[i].id == self ||
				(pool_valid[i] & ((uint32) 1 << j)) == 0 ||
				pool_keys[i * ncolumns + j] != keys[j])
				continue;
			same[n++] = pool[i];
		}
		counts[j] = HnswSelectNeighbors(graph, value, 0, false, same, n, nslots,
										&out[j * nslots]);
	}
	pfree(same);
}

/*
 * Where a link at distance goes in a list of count links (of nslots) whose
 * distances are distances[]: at count if there is room, else in place of
 * the farthest if it is nearer than that one; -1 if it does not go in.
 */
int
HnswValueLinkSlot(const float4 *distances, int count, int nslots,
				  float4 distance)
{
	int			farthest = 0;

	if (count < nslots)
		return count;
	for (int i = 1; i < count; i++)
		if (distances[i] > distances[farthest])
			farthest = i;
	return distance < distances[farthest] ? farthest : -1;
}

/*
 * Set up the value links of element tuple etup (formed with room for them)
 * from the chosen links.
 */
void
HnswSetValueLinks(HnswElementTuple etup, const HnswCandidate *links,
				  const int *counts)
{
	HnswValueLinks vl = HnswElementTupleGetLinks(etup);

	for (int j = 0; j < vl->ncolumns; j++)
	{
		float4	   *distances = HnswValueLinksDistances(vl, j);
		ItemPointerData *ids = HnswValueLinksIds(vl, j);

		vl->counts[j] = counts[j];
		for (int i = 0; i < counts[j]; i++)
		{
			const HnswCandidate *c = &links[j * vl->nslots + i];

			distances[i] = (float4) c->distance;
			ItemPointerSet(&ids[i], HnswElemIdGetBlock(c->id),
						   HnswElemIdGetOffset(c->id));
		}
	}
}

/*
 * The value links of etup for linked column j, into out; -1 if it has none
 * (an element written before the index had links, or a NULL value).
 */
int
HnswElementValueLinks(HnswElementTuple etup, int j, HnswElemId *out)
{
	HnswValueLinks vl;
	ItemPointerData *ids;
	int			n;

	if ((etup->flags & HNSW_ELEMENT_LINKS) == 0)
		return -1;
	vl = HnswElementTupleGetLinks(etup);
	if (j >= vl->ncolumns)
		return -1;
	/* a damaged nslots must not overrun out[] */
	n = Min(Min(vl->counts[j], vl->nslots), HNSW_MAX_VALUE_LINKS);
	if (n == 0)
		return -1;
	ids = HnswValueLinksIds(vl, j);
	for (int i = 0; i < n; i++)
		out[i] = HnswElemIdFromTid(&ids[i]);
	return n;
}

/*
 * Choose the value links of a new element of an index on disk: read the
 * keys of the pool's elements from their pages (they were read by the
 * search that found them, so they are in shared buffers).
 */
void
HnswChooseDiskValueLinks(Relation index, HnswGraph *graph, Datum value,
						 HnswMetaPageData *meta, IndexTuple filter,
						 const HnswCandidate *pool, int npool,
						 HnswCandidate *out, int *counts)
{
	TupleDesc	desc = HnswFilterDesc(index);
	int			ncolumns = HnswLinkedColumnCount(meta->linked_columns);
	uint64		keys[HNSW_MAX_LINKED_COLUMNS];
	uint32		valid;
	uint64	   *pool_keys = palloc0(sizeof(uint64) * ncolumns * Max(npool, 1));
	uint32	   *pool_valid = palloc0(sizeof(uint32) * Max(npool, 1));

	valid = HnswValueKeys(desc, filter, meta->linked_columns, keys);
	for (int i = 0; i < npool && valid != 0; i++)
	{
		Buffer		buf = HnswReadShare(index, HnswElemIdGetBlock(pool[i].id));
		HnswElementTuple etup;

		if (!BufferIsValid(buf))
			continue;
		etup = HnswGetElement(index, BufferGetPage(buf),
							  HnswElemIdGetOffset(pool[i].id));
		if (etup != NULL && (etup->flags & HNSW_ELEMENT_FILTER))
			pool_valid[i] = HnswValueKeys(desc, HnswElementTupleGetFilter(etup),
										  meta->linked_columns,
										  &pool_keys[i * ncolumns]);
		UnlockReleaseBuffer(buf);
	}
	HnswChooseValueLinks(graph, value, ncolumns, meta->value_links, keys,
						 valid, 0, pool, npool, pool_keys, pool_valid, out,
						 counts);
	pfree(pool_keys);
	pfree(pool_valid);
}

/*
 * Give each element that new element id links to (links, counts[j] of them
 * for linked column j) a link back to it (see the top of this file).
 * Takes the exclusive lock on one page at a time.
 */
void
HnswAddValueLinksBack(Relation index, HnswElemId id, int ncolumns,
					  int nslots, const HnswCandidate *links,
					  const int *counts, bool wal)
{
	for (int j = 0; j < ncolumns; j++)
		for (int i = 0; i < counts[j]; i++)
		{
			HnswElemId	target = links[j * nslots + i].id;
			float4		distance = (float4) links[j * nslots + i].distance;
			HnswPageEdit edit;
			HnswElementTuple etup;
			Buffer		buf;
			Page		page;
			bool		changed = false;

			/* exclusive: the list is rewritten in place */
			buf = HnswLockForEdit(index, HnswElemIdGetBlock(target), wal,
								  &edit, &page);
			if (!BufferIsValid(buf))
				continue;
			etup = HnswGetElement(index, page, HnswElemIdGetOffset(target));
			if (etup != NULL && (etup->flags & HNSW_ELEMENT_LINKS) &&
				!(etup->flags & HNSW_ELEMENT_DELETED))
			{
				HnswValueLinks vl = HnswElementTupleGetLinks(etup);

				if (j < vl->ncolumns && vl->nslots == nslots)
				{
					float4	   *distances = HnswValueLinksDistances(vl, j);
					ItemPointerData *ids = HnswValueLinksIds(vl, j);
					int			count = Min(vl->counts[j], nslots);
					int			slot;
					bool		present = false;

					for (int k = 0; k < count && !present; k++)
						present = (HnswElemIdFromTid(&ids[k]) == id);
					slot = present ? -1 :
						HnswValueLinkSlot(distances, count, nslots, distance);
					if (slot >= 0)
					{
						distances[slot] = distance;
						ItemPointerSet(&ids[slot], HnswElemIdGetBlock(id),
									   HnswElemIdGetOffset(id));
						if (slot == count)
							vl->counts[j] = count + 1;
						changed = true;
					}
				}
			}
			HnswEditEnd(&edit, changed);
			UnlockReleaseBuffer(buf);
		}
}

/*
 * A list of links, for HnswRepairValueLinks: add id at distance unless it
 * is there.
 */
static void
add_candidate(HnswCandidate *list, int *n, HnswElemId id, double distance)
{
	for (int i = 0; i < *n; i++)
		if (list[i].id == id)
			return;
	list[*n].id = id;
	list[*n].distance = distance;
	list[*n].deleted = false;
	(*n)++;
}

/*
 * VACUUM's repair of the value links of live element id (value is its
 * value), some of which name elements about to be removed (those for
 * which deleted() is true): each such column's list is chosen again, the
 * nearest nslots among its live links and the live links of the deleted
 * ones (as the repair of a neighbour list draws on the deleted neighbours'
 * neighbours).  The list is rewritten only if it has not changed
 * meanwhile; otherwise the deleted links are struck out, as they are when
 * no replacement is found.
 */
void
HnswRepairValueLinks(Relation index, HnswGraph *graph, HnswElemId id,
					 Datum value, bool (*deleted) (void *arg, HnswElemId id),
					 void *arg)
{
	Buffer		buf;
	HnswElementTuple etup;
	HnswValueLinks seen = NULL;
	HnswPageEdit edit;
	Page		page;
	bool		changed = false;
	bool		stale = false;
	HnswCandidate *lists;
	int		   *counts;

	/* share: copy the links out, then work without the lock */
	buf = HnswReadShare(index, HnswElemIdGetBlock(id));
	if (!BufferIsValid(buf))
		return;
	etup = HnswGetElement(index, BufferGetPage(buf), HnswElemIdGetOffset(id));
	if (etup != NULL && (etup->flags & HNSW_ELEMENT_LINKS))
	{
		HnswValueLinks vl = HnswElementTupleGetLinks(etup);
		Size		size = HnswValueLinksSize(vl->ncolumns, vl->nslots);

		seen = palloc(size);
		memcpy(seen, vl, size);
	}
	UnlockReleaseBuffer(buf);
	if (seen == NULL)
		return;

	lists = palloc(sizeof(HnswCandidate) * Max(seen->ncolumns, 1) *
				   seen->nslots * (seen->nslots + 1));
	counts = palloc0(sizeof(int) * Max(seen->ncolumns, 1));
	for (int j = 0; j < seen->ncolumns; j++)
	{
		HnswCandidate *list = &lists[j * seen->nslots * (seen->nslots + 1)];
		int			count = Min(seen->counts[j], seen->nslots);
		bool		any = false;
		int			n = 0;

		for (int i = 0; i < count; i++)
			any |= deleted(arg, HnswElemIdFromTid(&HnswValueLinksIds(seen, j)[i]));
		if (!any)
		{
			counts[j] = -1;		/* leave it as it is */
			continue;
		}
		for (int i = 0; i < count; i++)
		{
			HnswElemId	link = HnswElemIdFromTid(&HnswValueLinksIds(seen, j)[i]);
			HnswElemId	theirs[HNSW_MAX_VALUE_LINKS];
			int			ntheirs = -1;

			if (!deleted(arg, link))
			{
				add_candidate(list, &n, link, HnswValueLinksDistances(seen, j)[i]);
				continue;
			}
			/* a deleted link: its own links of this column are candidates */
			buf = HnswReadShare(index, HnswElemIdGetBlock(link));
			if (!BufferIsValid(buf))
				continue;
			etup = HnswGetElement(index, BufferGetPage(buf),
								  HnswElemIdGetOffset(link));
			if (etup != NULL)
				ntheirs = HnswElementValueLinks(etup, j, theirs);
			UnlockReleaseBuffer(buf);
			for (int k = 0; k < ntheirs; k++)
			{
				double		distance;
				bool		dead;

				if (theirs[k] == id || deleted(arg, theirs[k]))
					continue;
				if (graph->distance_to(graph, value, theirs[k], HNSW_DISTANCE_NO_LIMIT,
									   &distance, &dead) &&
					!dead)
					add_candidate(list, &n, theirs[k], distance);
			}
		}
		qsort(list, n, sizeof(HnswCandidate), HnswCandidateCompare);
		counts[j] = Min(n, seen->nslots);
	}

	/* exclusive: the lists are rewritten in place */
	buf = HnswLockForEdit(index, HnswElemIdGetBlock(id), true, &edit, &page);
	etup = NULL;
	if (BufferIsValid(buf))
		etup = HnswGetElement(index, page, HnswElemIdGetOffset(id));
	if (etup != NULL && (etup->flags & HNSW_ELEMENT_LINKS))
	{
		HnswValueLinks vl = HnswElementTupleGetLinks(etup);

		if (vl->ncolumns != seen->ncolumns || vl->nslots != seen->nslots)
			stale = true;
		for (int j = 0; j < seen->ncolumns && !stale; j++)
		{
			if (counts[j] < 0)
				continue;
			/* an insert added a link meanwhile: strike out, do not rewrite */
			if (vl->counts[j] != seen->counts[j] ||
				memcmp(HnswValueLinksIds(vl, j), HnswValueLinksIds(seen, j),
					   sizeof(ItemPointerData) * Min(seen->counts[j], seen->nslots)) != 0)
				stale = true;
		}
		if (stale)
			changed = HnswDropValueLinks(etup, deleted, arg);
		else
			for (int j = 0; j < seen->ncolumns; j++)
			{
				HnswCandidate *list = &lists[j * seen->nslots * (seen->nslots + 1)];

				if (counts[j] < 0)
					continue;
				vl->counts[j] = counts[j];
				for (int i = 0; i < counts[j]; i++)
				{
					HnswValueLinksDistances(vl, j)[i] = (float4) list[i].distance;
					ItemPointerSet(&HnswValueLinksIds(vl, j)[i],
								   HnswElemIdGetBlock(list[i].id),
								   HnswElemIdGetOffset(list[i].id));
				}
				changed = true;
			}
	}
	if (BufferIsValid(buf))
	{
		HnswEditEnd(&edit, changed);
		UnlockReleaseBuffer(buf);
	}
	pfree(lists);
	pfree(counts);
	pfree(seen);
}

/*
 * Remove from etup's value links every id for which drop() is true (by
 * VACUUM, on a page it holds exclusively).  Returns whether any went.
 */
bool
HnswDropValueLinks(HnswElementTuple etup,
				   bool (*drop) (void *arg, HnswElemId id), void *arg)
{
	HnswValueLinks vl;
	bool		changed = false;

	if ((etup->flags & HNSW_ELEMENT_LINKS) == 0)
		return false;
	vl = HnswElementTupleGetLinks(etup);
	for (int j = 0; j < vl->ncolumns; j++)
	{
		float4	   *distances = HnswValueLinksDistances(vl, j);
		ItemPointerData *ids = HnswValueLinksIds(vl, j);
		int			count = Min(vl->counts[j], vl->nslots);
		int			kept = 0;

		for (int i = 0; i < count; i++)
			if (!drop(arg, HnswElemIdFromTid(&ids[i])))
			{
				distances[kept] = distances[i];
				ids[kept++] = ids[i];
			}
		if (kept != vl->counts[j])
		{
			vl->counts[j] = kept;
			changed = true;
		}
	}
	return changed;
}

/*
 * Which of the linked columns (a mask of filter columns, see
 * HnswLinkableColumns) has an equality key in filter, as its position
 * among them, and its index column in *attno; -1 if none has.  A scan
 * follows that column's value links (links.c).
 */
int
HnswFilterLinkColumn(HnswFilter *filter, uint32 linked, AttrNumber *attno)
{
	for (int i = 0; i < filter->nkeys; i++)
	{
		HnswFilterKey *key = &filter->keys[i];
		int			column = key->attno - 2;

		if (key->strategy == HNSW_EQ_STRATEGY && column >= 0 && column < HNSW_MAX_LINKED_COLUMNS &&
			(linked & ((uint32) 1 << column)) != 0)
		{
			*attno = key->attno;
			return HnswLinkedColumnCount(linked & (((uint32) 1 << column) - 1));
		}
	}
	return -1;
}
