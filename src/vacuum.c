/*-------------------------------------------------------------------------
 *
 * vacuum.c
 *	  VACUUM of an hnsw index: drop the elements of dead rows and mend the
 *	  graph around them.
 *
 * Three passes over the index:
 *	1. Mark the elements whose rows are dead as deleted.  From then on
 *	   scans pass through them but never return them, and inserts do not
 *	   link to them.  Then wait for inserts already under way (they may have
 *	   chosen a now-deleted element as a neighbour before it was marked).
 *	2. Repair: every live element whose neighbour list names a deleted
 *	   element gets a new list, chosen by the paper's heuristic from its
 *	   live neighbours and the deleted neighbours' neighbours: a local
 *	   repair, not a search of the whole graph per element.  If the entry
 *	   point was deleted, the highest live element becomes the entry point.
 *	   A list too busy with concurrent inserts to be rewritten after a few
 *	   tries has its deleted elements struck out in place instead.  Value
 *	   links (links.c) that name deleted elements are chosen again the same
 *	   way, from the deleted elements' own value links.
 *	3. Remove the deleted elements' tuples, keeping line pointer numbers
 *	   (so other ids stay valid), and give their space to the free space map;
 *	   first their tuples in the filter directory, if the index has one.
 *	4. Link back the live elements nothing leads to: a breadth-first walk
 *	   over layer 0 from the entry point, which reads each list once, finds
 *	   them; each is then searched for like a new element and linked from its
 *	   nearest neighbours.  (Pruning a full list, by an insert or by the
 *	   repair, can take away an element's last in-link.)  VACUUM runs this
 *	   pass also when it has nothing to delete.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "commands/vacuum.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "hnsw.h"

typedef struct HnswVacuumState
{
	Relation	index;
	HnswDistance dist;
	HnswMetaPageData meta;
	HnswGraph  *graph;
	HnswElemId *deleted;		/* ids of deleted elements, ascending */
	int			ndeleted;
	int			capacity;
	HnswElemId	highest;		/* live element of the highest level */
	int			highest_level;
	HnswElemId *live;			/* ids of live elements, ascending */
	int			nlive;
	int			live_capacity;
	int			message_level;	/* for VACUUM VERBOSE */
	MemoryContext tmp_cxt;
} HnswVacuumState;

/* How often a repair is recomputed after losing the race for a list */
#define HNSW_REPAIR_RETRIES		10

static bool
is_deleted(HnswVacuumState *vs, HnswElemId id)
{
	return bsearch(&id, vs->deleted, vs->ndeleted, sizeof(HnswElemId),
				   HnswElemIdCompare) != NULL;
}

/* is_deleted() in the shape HnswDropNeighbors wants */
static bool
drop_deleted(void *arg, HnswElemId id)
{
	return is_deleted((HnswVacuumState *) arg, id);
}

/* Remember a live element; called in id order */
static void
append_live(HnswVacuumState *vs, HnswElemId id)
{
	if (vs->nlive == vs->live_capacity)
	{
		vs->live_capacity *= 2;
		vs->live = repalloc_huge(vs->live, sizeof(HnswElemId) * vs->live_capacity);
	}
	vs->live[vs->nlive++] = id;
}

/*
 * Read a data page for VACUUM to change, exclusively locked; InvalidBuffer
 * for a page never initialised (left by a crash while the index grew).
 *
 * cleanup asks for a cleanup lock: also no other backend may hold a pin on
 * the page.  Pass 1 takes one on every page before it marks elements
 * deleted, as B-tree VACUUM does on its leaf pages: an index-only scan
 * keeps the page of the row it handed out pinned until the executor has
 * looked at the row's visibility map bit (see scan.c), so no element it
 * checked and found alive can be marked, removed, and its row's heap page
 * made all-visible in between.
 */
static Buffer
lock_data_page(Relation index, BlockNumber blkno, bool cleanup)
{
	Buffer		buf;

	HnswVacuumDelayPoint();
	buf = ReadBuffer(index, blkno);
	/* exclusive: VACUUM sets flags on, or removes tuples from, this page */
	if (cleanup)
		LockBufferForCleanup(buf);
	else
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (PageIsNew(BufferGetPage(buf)))
	{
		UnlockReleaseBuffer(buf);
		return InvalidBuffer;
	}
	HnswCheckPage(index, BufferGetPage(buf), blkno);
	return buf;
}

/*
 * lock_data_page for the passes over every page: InvalidBuffer also for a
 * page of the filter directory, which holds no elements (HnswDirectoryRemove
 * keeps it).
 */
static Buffer
lock_element_page(Relation index, BlockNumber blkno, bool cleanup)
{
	Buffer		buf = lock_data_page(index, blkno, cleanup);

	if (BufferIsValid(buf) && HnswPageIsDirectory(BufferGetPage(buf)))
	{
		UnlockReleaseBuffer(buf);
		return InvalidBuffer;
	}
	return buf;
}

/*
 * Pass 1: mark the elements of dead rows.  Collects every deleted element
 * (also those a previous, interrupted VACUUM marked) in block order, so
 * the array comes out sorted.
 */
static void
mark_deleted(HnswVacuumState *vs, IndexBulkDeleteResult *stats,
			 IndexBulkDeleteCallback callback, void *callback_state)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);

	for (BlockNumber blkno = HNSW_FIRST_DATA_BLKNO; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		HnswPageEdit edit;
		bool		changed = false;

		buf = lock_element_page(vs->index, blkno, true);
		if (!BufferIsValid(buf))
			continue;
		HnswEditStart(&edit, vs->index, true);
		page = HnswEditPage(&edit, buf, false);
		for (OffsetNumber off = FirstOffsetNumber;
			 off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup = HnswGetElement(vs->index, page, off);

			if (etup == NULL)
				continue;
			if (!(etup->flags & HNSW_ELEMENT_DELETED))
			{
				if (!callback(&etup->heaptid, callback_state))
				{
					stats->num_index_tuples++;
					continue;
				}
				etup->flags |= HNSW_ELEMENT_DELETED;
				changed = true;
				stats->tuples_removed++;
			}
			if (vs->ndeleted == vs->capacity)
			{
				vs->capacity *= 2;
				vs->deleted = repalloc_huge(vs->deleted,
											sizeof(HnswElemId) * vs->capacity);
			}
			vs->deleted[vs->ndeleted++] = ((uint64) blkno << 16) | off;
		}
		HnswEditEnd(&edit, changed);
		UnlockReleaseBuffer(buf);
	}
}

/*
 * Give element id on layer a list without deleted elements, if it has
 * any.  Retries if an insert changes the list meanwhile; a list that keeps
 * changing has its deleted elements struck out in place.
 */
static void
repair_list(HnswVacuumState *vs, HnswElemId id, ItemPointer upper,
			Datum value, int layer)
{
	int			max = HnswMaxNeighbors(vs->meta.m, layer);
	HnswElemId *seen = palloc(sizeof(HnswElemId) * max);
	HnswElemId *pool = palloc(sizeof(HnswElemId) * max * (max + 1));
	HnswCandidate *list = palloc(sizeof(HnswCandidate) * max);
	bool		done = false;

	for (int attempt = 0; attempt < HNSW_REPAIR_RETRIES && !done; attempt++)
	{
		int			nseen = vs->graph->neighbors(vs->graph, id, layer, seen);
		int			npool = 0;
		bool		any = false;
		int			nlist;

		for (int i = 0; i < nseen; i++)
		{
			if (!is_deleted(vs, seen[i]))
			{
				pool[npool++] = seen[i];
				continue;
			}
			/* a deleted neighbour: its neighbours are candidates */
			any = true;
			npool += vs->graph->neighbors(vs->graph, seen[i], layer,
										  pool + npool);
		}
		if (!any)
		{
			done = true;
			break;
		}

		/*
		 * Drop self, deleted ones and repeats before measuring (the deleted
		 * neighbours' lists overlap: each distance is computed once)
		 */
		{
			int			k = 0;

			qsort(pool, npool, sizeof(HnswElemId), HnswElemIdCompare);
			for (int i = 0; i < npool; i++)
				if (pool[i] != id && !is_deleted(vs, pool[i]) &&
					(k == 0 || pool[k - 1] != pool[i]))
					pool[k++] = pool[i];
			npool = k;
		}
		nlist = HnswPruneNeighbors(vs->graph, value, pool, npool, NULL, max,
								   list);
		done = HnswReplaceNeighbors(vs->index, id, upper, layer, seen, nseen,
									list, nlist, NULL, false, true);
	}
	if (!done)
		HnswDropNeighbors(vs->index, id, upper, layer, drop_deleted, vs);
	pfree(seen);
	pfree(pool);
	pfree(list);
}

/* Do the value links of etup (links.c) name a deleted element? */
static bool
links_name_deleted(HnswVacuumState *vs, HnswElementTuple etup)
{
	HnswElemId	ids[HNSW_MAX_VALUE_LINKS];

	if ((etup->flags & HNSW_ELEMENT_LINKS) == 0)
		return false;
	for (int j = 0; j < HnswElementTupleGetLinks(etup)->ncolumns; j++)
	{
		int			n = HnswElementValueLinks(etup, j, ids);

		for (int i = 0; i < n; i++)
			if (is_deleted(vs, ids[i]))
				return true;
	}
	return false;
}

/*
 * Pass 2: repair the lists of live elements, and remember the live element
 * of the highest level as a possible new entry point.
 */
static void
repair_graph(HnswVacuumState *vs)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);

	for (BlockNumber blkno = HNSW_FIRST_DATA_BLKNO; blkno < nblocks; blkno++)
	{
		OffsetNumber maxoff;

		HnswVacuumDelayPoint();
		for (OffsetNumber off = FirstOffsetNumber;; off++)
		{
			Buffer		buf = ReadBuffer(vs->index, blkno);
			HnswElementTuple etup;
			HnswElemId	id = ((uint64) blkno << 16) | off;
			ItemPointerData upper;
			int			level;
			Datum		value;
			bool		stale_links;
			MemoryContext old_cxt;

			/* share: copy the element out, then work without the lock */
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			if (PageIsNew(BufferGetPage(buf)))
			{
				UnlockReleaseBuffer(buf);
				break;
			}
			HnswCheckPage(vs->index, BufferGetPage(buf), blkno);
			maxoff = PageGetMaxOffsetNumber(BufferGetPage(buf));
			if (off > maxoff)
			{
				UnlockReleaseBuffer(buf);
				break;
			}
			etup = HnswGetElement(vs->index, BufferGetPage(buf), off);
			if (etup == NULL || (etup->flags & HNSW_ELEMENT_DELETED))
			{
				UnlockReleaseBuffer(buf);
				continue;
			}
			old_cxt = MemoryContextSwitchTo(vs->tmp_cxt);
			level = etup->level;
			upper = HnswElementGetUpper(etup);
			value = PointerGetDatum(HnswCopyElementValue(vs->index, etup));
			stale_links = links_name_deleted(vs, etup);
			UnlockReleaseBuffer(buf);
			if (value != (Datum) 0)
				HnswCheckStoredValue(vs->index, &vs->dist, value,
									 vs->meta.dimensions, blkno, off);
			if (value == (Datum) 0)
			{
				/*
				 * chunks missing: hnsw_verify reports it; nothing to repair
				 * from
				 */
				MemoryContextSwitchTo(old_cxt);
				MemoryContextReset(vs->tmp_cxt);
				continue;
			}
			append_live(vs, id);

			if (level > vs->highest_level)
			{
				vs->highest_level = level;
				vs->highest = id;
			}
			for (int layer = 0; layer <= level; layer++)
				repair_list(vs, id, &upper, value, layer);
			if (stale_links)
				HnswRepairValueLinks(vs->index, vs->graph, id, value,
									 drop_deleted, vs);
			MemoryContextSwitchTo(old_cxt);
			MemoryContextReset(vs->tmp_cxt);
		}
	}
}

/* Move the entry point off a deleted element */
static void
update_entry_point(HnswVacuumState *vs)
{
	Buffer		buf;
	HnswPageEdit edit;
	HnswMetaPage meta;

	if (vs->meta.entry_level < 0 ||
		!is_deleted(vs, HnswElemIdFromTid(&vs->meta.entry)))
		return;

	buf = ReadBuffer(vs->index, HNSW_METAPAGE_BLKNO);
	/* exclusive: we move the entry point */
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswEditStart(&edit, vs->index, true);
	meta = HnswPageGetMeta(HnswEditPage(&edit, buf, false));
	/* an insert may have set a new (live) entry point meanwhile */
	if (ItemPointerEquals(&meta->entry, &vs->meta.entry))
	{
		if (vs->highest_level >= 0)
		{
			ItemPointerSet(&meta->entry, HnswElemIdGetBlock(vs->highest),
						   HnswElemIdGetOffset(vs->highest));
			meta->entry_level = vs->highest_level;
		}
		else
		{
			ItemPointerSetInvalid(&meta->entry);
			meta->entry_level = -1;
		}
		HnswEditFinish(&edit);
	}
	else
		HnswEditAbort(&edit);
	UnlockReleaseBuffer(buf);
}

/*
 * Remove the chunk tuples of an external value, one page at a time.
 */
static void
remove_chunks(HnswVacuumState *vs, HnswExternalValue *ext)
{
	ItemPointerData tid = ext->first;

	while (ItemPointerIsValid(&tid) &&
		   ItemPointerGetBlockNumber(&tid) != HNSW_METAPAGE_BLKNO &&
		   ItemPointerGetBlockNumber(&tid) < RelationGetNumberOfBlocks(vs->index))
	{
		Buffer		buf = lock_data_page(vs->index, ItemPointerGetBlockNumber(&tid), false);
		HnswPageEdit edit;
		Page		page;
		HnswChunkTuple chunk;
		OffsetNumber off = ItemPointerGetOffsetNumber(&tid);

		if (!BufferIsValid(buf))
			break;
		HnswEditStart(&edit, vs->index, true);
		page = HnswEditPage(&edit, buf, false);
		chunk = HnswGetChunk(page, off, ext->token);
		if (chunk == NULL)
		{
			/* gone already (an interrupted VACUUM): the rest went too */
			HnswEditAbort(&edit);
			UnlockReleaseBuffer(buf);
			break;
		}
		ItemPointerCopy(&chunk->next, &tid);
		PageIndexTupleDeleteNoCompact(page, off);
		HnswEditFinish(&edit);
		RecordPageWithFreeSpace(vs->index, BufferGetBlockNumber(buf),
								PageGetExactFreeSpace(BufferGetPage(buf)));
		UnlockReleaseBuffer(buf);
	}
}

/*
 * Pass 3: remove the tuples of deleted elements, their upper tuples and
 * the chunks of their values; with int8 or half storage, also the chunks of the
 * values their codes lead to (an external code is read for that after the
 * pages are let go, before its own chunks go).
 */
static void
remove_deleted(HnswVacuumState *vs, IndexBulkDeleteResult *stats)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);
	List	   *chunked = NIL;	/* HnswExternalValue of removed elements */

	for (BlockNumber blkno = HNSW_FIRST_DATA_BLKNO; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		HnswPageEdit edit;
		bool		changed = false;

		buf = lock_element_page(vs->index, blkno, false);
		if (!BufferIsValid(buf))
			continue;
		HnswEditStart(&edit, vs->index, true);
		page = HnswEditPage(&edit, buf, false);
		for (OffsetNumber off = FirstOffsetNumber;
			 off <= PageGetMaxOffsetNumber(page); off++)
		{
			HnswElementTuple etup = HnswGetElement(vs->index, page, off);
			HnswUpperTuple utup = HnswGetUpper(vs->index, page, off);
			HnswElemId	id = ((uint64) blkno << 16) | off;

			if ((etup != NULL && is_deleted(vs, id)) ||
				(utup != NULL && is_deleted(vs, HnswElemIdFromTid(&utup->element))))
			{
				if (etup != NULL && (etup->flags & HNSW_ELEMENT_EXTERNAL))
				{
					HnswExternalValue *ext = palloc(sizeof(HnswExternalValue));

					memcpy(ext, HnswElementTupleGetValue(etup), sizeof(HnswExternalValue));
					chunked = lappend(chunked, ext);
				}
				else if (etup != NULL && vs->meta.storage != HNSW_STORAGE_FLOAT4 &&
						 HnswCodeIsWellFormed(PointerGetDatum(HnswElementTupleGetValue(etup)),
											  vs->meta.dimensions))
				{
					HnswExternalValue *ext = palloc(sizeof(HnswExternalValue));

					*ext = ((HnswCodeData *) HnswElementTupleGetValue(etup))->full;
					chunked = lappend(chunked, ext);
				}
				PageIndexTupleDeleteNoCompact(page, off);
				changed = true;
			}
		}
		HnswEditEnd(&edit, changed);
		RecordPageWithFreeSpace(vs->index, blkno,
								PageGetExactFreeSpace(BufferGetPage(buf)));
		UnlockReleaseBuffer(buf);
	}

	/*
	 * Then their chunks.  (A crash before this leaves chunks nothing leads
	 * to: lost space until REINDEX, nothing worse.)
	 */
	{
		ListCell   *lc;

		foreach(lc, chunked)
		{
			HnswExternalValue *ext = (HnswExternalValue *) lfirst(lc);

			if (vs->meta.storage != HNSW_STORAGE_FLOAT4)
			{
				struct varlena *v = HnswReadExternal(vs->index, ext, NULL);

				/* an external code: first the chunks of its value */
				if (v != NULL && HnswIsCode(PointerGetDatum(v)) &&
					HnswCodeIsWellFormed(PointerGetDatum(v), vs->meta.dimensions))
					remove_chunks(vs, &((HnswCodeData *) v)->full);
				if (v != NULL)
					pfree(v);
			}
			remove_chunks(vs, ext);
		}
	}
	stats->num_pages = nblocks;
}

/*
 * Pass 4: link back the live elements that cannot be reached from the
 * entry point (see reconnect.c).
 */
static void
reconnect_unreachable(HnswVacuumState *vs)
{
	HnswMetaPageData meta = HnswReadMetaPage(vs->index);
	int			unreached;
	int			remaining;
	int			relinked;

	relinked = HnswLinkUnreachable(vs->graph, vs->live, vs->nlive,
								   HnswElemIdFromTid(&meta.entry),
								   meta.entry_level, &unreached, &remaining);
	if (unreached > 0)
		ereport(vs->message_level,
				(errmsg("index \"%s\": %d elements could not be reached from the entry point, %d still cannot after %d were linked back",
						RelationGetRelationName(vs->index), unreached,
						remaining, relinked)));
}

/*
 * Pass 2 without deletions: just collect the live elements and count them.
 */
static void
collect_live(HnswVacuumState *vs)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);

	for (BlockNumber blkno = HNSW_FIRST_DATA_BLKNO; blkno < nblocks; blkno++)
	{
		Buffer		buf = ReadBuffer(vs->index, blkno);
		Page		page;

		HnswVacuumDelayPoint();
		/* share: we only read */
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page))
		{
			HnswCheckPage(vs->index, page, blkno);
			for (OffsetNumber off = FirstOffsetNumber;
				 off <= PageGetMaxOffsetNumber(page); off++)
			{
				HnswElementTuple etup = HnswGetElement(vs->index, page, off);

				if (etup != NULL && !(etup->flags & HNSW_ELEMENT_DELETED))
					append_live(vs, ((uint64) blkno << 16) | off);
			}
		}
		UnlockReleaseBuffer(buf);
	}
}

/* Set up the state of one VACUUM pass over the index, in the current context */
static void
init_vacuum_state(HnswVacuumState *vs, IndexVacuumInfo *info)
{
	memset(vs, 0, sizeof(HnswVacuumState));
	vs->index = info->index;
	vs->meta = HnswReadMetaPage(info->index);
	HnswInitDistance(&vs->dist, info->index);
	HnswInitDiskGraph(&vs->graph, info->index, &vs->dist, &vs->meta);
	vs->capacity = 1024;
	vs->deleted = palloc(sizeof(HnswElemId) * vs->capacity);
	vs->live_capacity = 1024;
	vs->live = palloc(sizeof(HnswElemId) * vs->live_capacity);
	vs->highest_level = -1;
	vs->message_level = info->message_level;
	vs->tmp_cxt = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum element",
										ALLOCSET_DEFAULT_SIZES);
}

/*
 * ambulkdelete
 */
IndexBulkDeleteResult *
hnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			   IndexBulkDeleteCallback callback, void *callback_state)
{
	HnswVacuumState vs;
	MemoryContext vac_cxt;
	MemoryContext old_cxt;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	vac_cxt = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum",
									ALLOCSET_DEFAULT_SIZES);
	old_cxt = MemoryContextSwitchTo(vac_cxt);
	init_vacuum_state(&vs, info);

	stats->num_index_tuples = 0;
	mark_deleted(&vs, stats, callback, callback_state);
	if (vs.ndeleted > 0)
	{
		/* wait for inserts that may have seen the elements still alive */
		LockPage(info->index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
		UnlockPage(info->index, HNSW_METAPAGE_BLKNO, ExclusiveLock);

		HnswPausePoint("vacuum_before_repair");
		repair_graph(&vs);
		vs.meta = HnswReadMetaPage(info->index);
		HnswPausePoint("vacuum_before_entry_point");
		update_entry_point(&vs);

		/* and for inserts that may have read the old entry point */
		LockPage(info->index, HNSW_METAPAGE_BLKNO, ExclusiveLock);
		UnlockPage(info->index, HNSW_METAPAGE_BLKNO, ExclusiveLock);

		HnswPausePoint("vacuum_before_remove");
		/* the directory first, so that no live element lacks its tuple */
		if (vs.meta.flags & HNSW_META_DIRECTORY)
			HnswDirectoryRemove(info->index, vs.meta.directory_head,
								drop_deleted, &vs);
		remove_deleted(&vs, stats);
		IndexFreeSpaceMapVacuum(info->index);
	}
	else
		collect_live(&vs);
	reconnect_unreachable(&vs);
	stats->num_pages = RelationGetNumberOfBlocks(info->index);

	MemoryContextSwitchTo(old_cxt);
	MemoryContextDelete(vac_cxt);
	return stats;
}

/*
 * amvacuumcleanup: report the size of the index.  Without a preceding
 * bulk delete, count the live elements and link back unreachable ones.
 */
IndexBulkDeleteResult *
hnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		HnswVacuumState vs;
		MemoryContext vac_cxt;
		MemoryContext old_cxt;

		stats = palloc0(sizeof(IndexBulkDeleteResult));
		vac_cxt = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum",
										ALLOCSET_DEFAULT_SIZES);
		old_cxt = MemoryContextSwitchTo(vac_cxt);
		init_vacuum_state(&vs, info);
		collect_live(&vs);
		stats->num_index_tuples = vs.nlive;
		reconnect_unreachable(&vs);
		MemoryContextSwitchTo(old_cxt);
		MemoryContextDelete(vac_cxt);
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}
