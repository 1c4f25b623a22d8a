/*-------------------------------------------------------------------------
 *
 * areawrite.c
 *	  Writing the in-memory graph of CREATE INDEX to pages.
 *
 * Once every row is in the area (buildgraph.c), HnswAreaWrite writes it
 * out after the metapage, without WAL (build.c logs the pages whole at
 * the end): for storage int8, half and bit first what the codes are read
 * with and every value's chunks, then the elements, placed by the layout
 * (layout.c) so that lists can name their elements, then the filter
 * directory, and last the metapage's entry point.  Elements go to pages
 * in an order that keeps neighbours together (plan_order), not the rows'.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "common/pg_prng.h"

#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "buildarea.h"

/* Copy the value links of e into its element tuple, ids made TIDs */
static void
write_links(HnswBuildArea *area, HnswBuildElement *e, ItemPointerData *etids,
			HnswElementTuple etup)
{
	AreaLinks  *links = element_links(e);
	int			nslots = area->link_slots;
	HnswCandidate *list = palloc(sizeof(HnswCandidate) * area->nlinked * nslots);
	int			counts[HNSW_MAX_LINKED_COLUMNS];

	for (int j = 0; j < area->nlinked; j++)
	{
		counts[j] = links->counts[j];
		for (int i = 0; i < counts[j]; i++)
		{
			HnswCandidate *c = &list[j * nslots + i];

			c->id = HnswElemIdFromTid(&etids[area_element(area, links_ids(area, links, j)[i])->number]);
			c->distance = links_distances(area, links, j)[i];
		}
	}
	HnswSetValueLinks(etup, list, counts);
	pfree(list);
}

/* What the steps of HnswAreaWrite share */
typedef struct AreaWrite
{
	HnswBuildArea *area;
	Relation	index;
	int			n;				/* elements */
	HnswExternalValue **exts;	/* per element: its value's chunks, if any */
	HnswLayoutElement *sizes;	/* per element: its tuples' sizes */
	uint16	   *headbytes;		/* and of its header and layer-0 list */
	uint32	   *order;			/* element numbers in the order of their pages */
	uint64	   *tokens;			/* per element: the token of split chunks */
	HnswLayout *layout;

	/* storage int8: the ranges learned, and each element's value's chunks */
	HnswQuantizer *quantizer;
	HnswExternalValue ranges;
	HnswExternalValue *fulls;
} AreaWrite;

/*
 * What element number i stores as its value: its value, or with int8
 * storage its code (palloc'd: free_stored frees it)
 */
static Datum
stored_value(AreaWrite *w, int i)
{
	Datum		value = element_full_value(w->area, area_element(w->area, area_numbered(w->area, i)));

	if (w->quantizer == NULL)
		return value;
	return HnswEncode(w->quantizer, value, &w->fulls[i]);
}

static void
free_stored(AreaWrite *w, Datum stored)
{
	if (w->quantizer != NULL)
		pfree(DatumGetPointer(stored));
}

/* The size of what element number i stores, without coding it */
static Size
stored_size(AreaWrite *w, int i)
{
	HnswBuildElement *e = area_element(w->area, area_numbered(w->area, i));

	if (w->quantizer == NULL)
		return VARSIZE_ANY(DatumGetPointer(element_full_value(w->area, e)));
	return HnswCodeSize(w->quantizer->marker, w->quantizer->dimensions);
}

static void finish_page(Relation index, HnswPageEdit *edit, Buffer buf,
						Page page);

/*
 * Every element's value as chunks on pages of their own, appended one
 * after another (nothing else writes to the index during a build), into
 * w->fulls; a value too large for one chunk goes through HnswWriteChunks.
 */
static void
write_value_chunks(AreaWrite *w)
{
	HnswBuildArea *area = w->area;
	HnswChunkTuple chunk = palloc0(HNSW_MAX_TUPLE_SIZE);
	Buffer		buf = InvalidBuffer;
	Page		page = NULL;
	HnswPageEdit edit;

	for (int i = 0; i < w->n; i++)
	{
		Datum		value = element_full_value(area, area_element(area, area_numbered(area, i)));
		Size		vsize = VARSIZE_ANY(DatumGetPointer(value));
		HnswExternalValue *ext = &w->fulls[i];
		Size		size;
		OffsetNumber off;

		CHECK_FOR_INTERRUPTS();
		if (vsize > HNSW_CHUNK_DATA_SIZE)
		{
			HnswWriteChunks(w->index, value, ext, false);
			continue;
		}
		/* its padding too: the code copies it onto a page */
		memset(ext, 0, sizeof(HnswExternalValue));
		SET_VARSIZE(ext, sizeof(HnswExternalValue));
		ext->size = vsize;
		ext->token = pg_prng_uint64(&pg_global_prng_state);
		size = HnswFormChunk(chunk, ext->token, NULL, DatumGetPointer(value), vsize);
		if (!BufferIsValid(buf) || PageGetFreeSpace(page) < size)
		{
			if (BufferIsValid(buf))
				finish_page(w->index, &edit, buf, page);
			buf = HnswNewBuffer(w->index, MAIN_FORKNUM);
			HnswEditStart(&edit, w->index, false);
			page = HnswEditPage(&edit, buf, true);
			HnswInitPage(page, HNSW_PAGE_ELEMENTS);
		}
		off = PageAddItem(page, (Item) chunk, size, InvalidOffsetNumber, false, false);
		if (off == InvalidOffsetNumber)
			elog(ERROR, "failed to add a chunk to index \"%s\"",
				 RelationGetRelationName(w->index));
		ItemPointerSet(&ext->first, BufferGetBlockNumber(buf), off);
	}
	if (BufferIsValid(buf))
		finish_page(w->index, &edit, buf, page);
	pfree(chunk);
}

/* Rows a dimension's ranges are trimmed by (HnswRangesTrim), at most */
#define HNSW_RANGE_SAMPLE	4096

/*
 * The ranges of the area's values being learned: every dimension's minimum
 * and maximum, trimmed by a sample of rows spread over the area
 */
static HnswRangesData *
learn_ranges(AreaWrite *w)
{
	HnswBuildArea *area = w->area;
	HnswRangesData *r = HnswRangesStart(area->dimensions);
	int			nsample = Min(w->n, HNSW_RANGE_SAMPLE);
	float	   *sample = palloc(sizeof(float) * Max(nsample, 1));
	const float **rows = palloc(sizeof(float *) * Max(nsample, 1));

	for (int i = 0; i < w->n; i++)
		HnswRangesAdd(r, element_value(area_element(area, area_numbered(area, i))));
	/* the area's values are float4[] (a float8[] one narrowed) */
	for (int s = 0; s < nsample; s++)
	{
		uint32		number = (uint32) ((int64) s * w->n / nsample);
		Datum		value = element_value(area_element(area, area_numbered(area, number)));

		rows[s] = (const float *) ARR_DATA_PTR((ArrayType *) DatumGetPointer(value));
	}
	for (int d = 0; d < (int) area->dimensions; d++)
	{
		for (int s = 0; s < nsample; s++)
			sample[s] = rows[s][d];
		HnswRangesTrim(r, d, sample, nsample);
	}
	pfree(rows);
	pfree(sample);
	return r;
}

/*
 * Pass -1, for int8, half and bit storage: with int8 learn the ranges,
 * with bit the centre, from every element's value and write them to
 * chunks; then write every value to chunks (ahead of the elements' pages,
 * so that those hold codes and lists only)
 */
static void
write_values(AreaWrite *w, int storage)
{
	HnswBuildArea *area = w->area;

	if (storage == HNSW_STORAGE_INT8)
	{
		HnswRangesData *r = learn_ranges(w);

		HnswRangesFinish(r);
		HnswWriteChunks(w->index, PointerGetDatum(r), &w->ranges, false);
		w->quantizer = HnswMakeQuantizer(r);
		pfree(r);
	}
	else if (storage == HNSW_STORAGE_BIT)
	{
		double	   *sums = palloc0(sizeof(double) * area->dimensions);
		HnswRangesData *clamp = learn_ranges(w);
		HnswRangesData *r;

		for (int i = 0; i < w->n; i++)
			HnswCentreAdd(sums, element_value(area_element(area, area_numbered(area, i))),
						  clamp);
		r = HnswCentreFinish(sums, area->dimensions, w->n);
		HnswWriteChunks(w->index, PointerGetDatum(r), &w->ranges, false);
		w->quantizer = HnswBitQuantizer(r, HNSW_CODE_BIT);
		pfree(r);
		pfree(clamp);
		pfree(sums);
	}
	else
		w->quantizer = HnswHalfQuantizer(area->dimensions);
	w->fulls = palloc_extended(sizeof(HnswExternalValue) * Max(w->n, 1),
							   MCXT_ALLOC_HUGE);
	write_value_chunks(w);
}

/* Pass 0: values too large for their element's page go to chunk pages */
static void
write_external_values(AreaWrite *w)
{
	HnswBuildArea *area = w->area;

	for (int i = 0; i < w->n; i++)
	{
		HnswBuildElement *e = area_element(area, area_numbered(area, i));
		IndexTuple	filter = element_filter(e);

		if (HnswValueIsExternal(HnswSlotHeadBytes(area->m), stored_size(w, i),
								HnswElementTailSize(filter, area->nlinked,
													area->link_slots)))
		{
			Datum		stored = stored_value(w, i);

			w->exts[i] = palloc(sizeof(HnswExternalValue));
			HnswWriteChunks(w->index, stored, w->exts[i], false);
			free_stored(w, stored);
		}
	}
}

/* The layer-0 neighbours of element number i, as element numbers, into out */
static int
numbered_neighbours(HnswBuildArea *area, uint32 i, uint32 *out)
{
	HnswBuildElement *e = area_element(area, area_numbered(area, i));
	uint32	   *ids = element_list(area, e, 0);

	for (int j = 0; j < e->counts[0]; j++)
		out[j] = area_element(area, ids[j])->number;
	return e->counts[0];
}

/*
 * The order elements go to pages in (w->order), so that elements near in
 * the graph share pages: a search that expands an element measures all its
 * neighbours, and a walk through one region of the graph then reads fewer
 * pages, the more so the more elements a page holds (the codes of int8,
 * half and bit storage).  The graph is the same in any order.
 *
 * Greedy, over a window of the last elements placed, about a page's worth:
 * the next element is the one not yet placed that the most lists of the
 * window name (ties: the newest list's first), so each page fills with
 * elements that link to each other.  When no list of the window names one
 * not yet placed, the next is the first not yet placed in row order; the
 * first is the entry point.  Each list is read from the area once, into a
 * ring of the window's lists; score[i] counts the window's lists naming i.
 */
static void
plan_order(AreaWrite *w)
{
	HnswBuildArea *area = w->area;
	uint32		n = w->n;
	int			slots = 2 * area->m;
	Size		esize = 0;
	int			window;
	uint32	   *order;
	bool	   *placed;
	uint16	   *score;
	uint32	   *ring;
	int		   *ring_count;
	uint32		unplaced = 0;

	if (n == 0)
	{
		w->order = palloc(sizeof(uint32));
		return;
	}
	for (uint32 i = 0; i < n; i++)
		esize += w->sizes[i].esize;
	window = Min(Max(HnswLayoutPerPage(esize / n), 1), 32);

	order = palloc_extended(sizeof(uint32) * n, MCXT_ALLOC_HUGE);
	placed = palloc_extended(sizeof(bool) * n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	score = palloc_extended(sizeof(uint16) * n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	ring = palloc(sizeof(uint32) * slots * window);
	ring_count = palloc(sizeof(int) * window);

	for (uint32 k = 0; k < n; k++)
	{
		uint32		next = PG_UINT32_MAX;
		int			best = 0;
		int			slot = k % window;
		uint32	   *list = ring + slot * slots;

		/* the best-named element not yet placed, newest list first */
		for (uint32 back = 1; back <= Min(k, (uint32) window); back++)
		{
			int			r = (k - back) % window;

			for (int j = 0; j < ring_count[r]; j++)
			{
				uint32		c = ring[r * slots + j];

				if (!placed[c] && score[c] > best)
				{
					best = score[c];
					next = c;
				}
			}
		}
		if (next == PG_UINT32_MAX)
		{
			if (k == 0)
				next = area_element(area, area->entry)->number;
			else
			{
				while (placed[unplaced])
					unplaced++;
				next = unplaced;
			}
		}
		order[k] = next;
		placed[next] = true;

		/* the oldest list leaves the window, next's list enters it */
		if (k >= (uint32) window)
		{
			for (int j = 0; j < ring_count[slot]; j++)
				score[list[j]]--;
		}
		ring_count[slot] = numbered_neighbours(area, next, list);
		for (int j = 0; j < ring_count[slot]; j++)
			score[list[j]]++;
		if ((k & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(placed);
	pfree(score);
	pfree(ring);
	pfree(ring_count);
	w->order = order;
}

/* The sizes of element number i's tuples, its header and list headbytes */
static void
set_sizes(AreaWrite *w, int i, Size headbytes)
{
	HnswBuildArea *area = w->area;
	HnswBuildElement *e = area_element(area, area_numbered(area, i));
	Size		fsize = HnswElementTailSize(element_filter(e), area->nlinked,
											area->link_slots);
	Size		vsize = stored_size(w, i);

	w->headbytes[i] = headbytes;
	w->sizes[i].vsize = vsize;
	w->sizes[i].esize = HnswElementTupleSize(headbytes,
											 w->exts[i] ? sizeof(HnswExternalValue) : vsize,
											 fsize);
	/* only an inline value of an element of layer 0 may be split off */
	if (!w->exts[i] && e->level == 0)
		w->sizes[i].xsize = HnswElementTupleSize(headbytes, sizeof(HnswExternalValue), fsize);
	w->sizes[i].usize = e->level > 0 ? HnswUpperTupleSize(area->m, e->level) : 0;
}

/* The layer-0 list of element number i, its ids the TIDs of layout */
static int
placed_list(AreaWrite *w, HnswLayout *layout, int i, HnswCandidate *list)
{
	HnswBuildArea *area = w->area;
	HnswBuildElement *e = area_element(area, area_numbered(area, i));
	uint32	   *ids = element_list(area, e, 0);

	for (int j = 0; j < e->counts[0]; j++)
		list[j].id = HnswElemIdFromTid(&layout->etids[area_element(area, ids[j])->number]);
	return e->counts[0];
}

/*
 * Pass 1: the sizes of every element's tuples and how many lists name it,
 * and from those where every tuple goes (layout.c).
 *
 * A compact list's bytes depend on where its neighbours go, and where they
 * go on the sizes of the lists: so the layout is planned twice, first with
 * every list taking HnswBuildListEstimate, then with each list given what
 * it takes in that first layout and some room (HnswCompactHeadBytes).  The
 * second layout puts the elements in the same order on about as many
 * pages, so the lists take about as many bytes again; one that would need
 * more than it has keeps its nearest neighbours that fit.
 */
static void
plan_layout(AreaWrite *w)
{
	HnswBuildArea *area = w->area;
	HnswLayout *first;
	HnswCandidate list[2 * HNSW_MAX_M];

	for (int i = 0; i < w->n; i++)
	{
		HnswBuildElement *e = area_element(area, area_numbered(area, i));
		uint32	   *ids = element_list(area, e, 0);

		set_sizes(w, i, HnswCompactListStart(e->level) + HnswBuildListEstimate(area->m));
		for (int j = 0; j < e->counts[0]; j++)
			w->sizes[area_element(area, ids[j])->number].indegree++;
	}
	plan_order(w);
	first = HnswPlanLayout(w->sizes, w->order, w->n,
						   RelationGetNumberOfBlocks(w->index));
	for (int i = 0; i < w->n; i++)
	{
		int			n = placed_list(w, first, i, list);
		int			level = area_element(area, area_numbered(area, i))->level;

		set_sizes(w, i, HnswCompactHeadBytes(area->m, level,
											 HnswCompactListSize(list, n)));
	}
	HnswFreeLayout(first);
	w->layout = HnswPlanLayout(w->sizes, w->order, w->n,
							   RelationGetNumberOfBlocks(w->index));
	if (w->layout->nsplit > 0)
	{
		w->tokens = palloc_extended(sizeof(uint64) * w->n, MCXT_ALLOC_HUGE);
		for (int i = 0; i < w->n; i++)
			w->tokens[i] = pg_prng_uint64(&pg_global_prng_state);
	}
}

/*
 * The tuple of placement pl: an element tuple, an upper tuple or a chunk
 * (formed in chunk, which the caller keeps); its size in *size
 */
static Item
form_placement(AreaWrite *w, HnswPlacement *pl, HnswChunkTuple chunk,
			   Size *size)
{
	HnswBuildArea *area = w->area;
	HnswLayout *layout = w->layout;
	ItemPointerData *etids = layout->etids;
	HnswBuildElement *e = area_element(area, area_numbered(area, pl->element));
	HnswCandidate list[2 * HNSW_MAX_M];
	uint32	   *ids;
	int			n;
	Datum		stored;

	if (pl->kind == HNSW_PLACE_ELEMENT)
	{
		HnswExternalValue split;
		HnswExternalValue *ext = w->exts[pl->element];
		HnswElementTuple etup;

		if (layout->first_chunk[pl->element] >= 0)
		{
			SET_VARSIZE(&split, sizeof(HnswExternalValue));
			split.size = w->sizes[pl->element].vsize;
			split.token = w->tokens[pl->element];
			split.first = layout->placements[layout->first_chunk[pl->element]].tid;
			ext = &split;
		}
		n = placed_list(w, layout, pl->element, list);
		stored = stored_value(w, pl->element);
		etup = HnswFormElement(true, w->headbytes[pl->element], stored,
							   element_filter(e),
							   area->nlinked, area->link_slots,
							   e->level, &e->heaptid,
							   list, n, ext, size);
		free_stored(w, stored);
		if (e->links_offset != 0 && (etup->flags & HNSW_ELEMENT_LINKS))
			write_links(area, e, etids, etup);
		if (e->level > 0)
			HnswElementSetUpper(etup, ItemPointerGetBlockNumber(&layout->utids[pl->element]),
								ItemPointerGetOffsetNumber(&layout->utids[pl->element]));
		return (Item) etup;
	}
	if (pl->kind == HNSW_PLACE_UPPER)
	{
		HnswUpperTuple utup = HnswFormUpper(area->m, e->level, size);

		utup->element = etids[pl->element];
		for (int l = 1; l <= e->level; l++)
		{
			ids = element_list(area, e, l);
			for (int j = 0; j < e->counts[l]; j++)
				list[j].id = HnswElemIdFromTid(&etids[area_element(area, ids[j])->number]);
			HnswSetNeighbors(NULL, utup, l, list, e->counts[l]);
		}
		return (Item) utup;
	}
	stored = stored_value(w, pl->element);
	*size = HnswFormChunk(chunk, w->tokens[pl->element],
						  pl->next >= 0 ? &layout->placements[pl->next].tid : NULL,
						  DatumGetPointer(stored) + pl->start, pl->len);
	free_stored(w, stored);
	return (Item) chunk;
}

/* Finish the page being written in buf, and tell the free space map */
static void
finish_page(Relation index, HnswPageEdit *edit, Buffer buf, Page page)
{
	HnswEditFinish(edit);
	RecordPageWithFreeSpace(index, BufferGetBlockNumber(buf),
							PageGetExactFreeSpace(page));
	UnlockReleaseBuffer(buf);
}

/* Pass 2: write every tuple where the layout put it, page by page */
static void
write_placements(AreaWrite *w)
{
	Relation	index = w->index;
	Buffer		buf = InvalidBuffer;
	Page		page = NULL;
	HnswPageEdit edit;
	HnswChunkTuple chunk = palloc0(HNSW_MAX_TUPLE_SIZE);

	for (int p = 0; p < w->layout->nplacements; p++)
	{
		HnswPlacement *pl = &w->layout->placements[p];
		Size		size;
		Item		item;

		CHECK_FOR_INTERRUPTS();
		item = form_placement(w, pl, chunk, &size);
		if (!BufferIsValid(buf) ||
			BufferGetBlockNumber(buf) != ItemPointerGetBlockNumber(&pl->tid))
		{
			if (BufferIsValid(buf))
				finish_page(index, &edit, buf, page);
			buf = HnswNewBuffer(index, MAIN_FORKNUM);
			if (BufferGetBlockNumber(buf) != ItemPointerGetBlockNumber(&pl->tid))
				elog(ERROR, "unexpected block %u in hnsw build",
					 BufferGetBlockNumber(buf));
			HnswEditStart(&edit, index, false);
			page = HnswEditPage(&edit, buf, true);
			HnswInitPage(page, HNSW_PAGE_ELEMENTS);
		}
		if (PageAddItem(page, item, size, InvalidOffsetNumber, false, false) !=
			ItemPointerGetOffsetNumber(&pl->tid))
			elog(ERROR, "unexpected item position in hnsw build");
		if (item != (Item) chunk)
			pfree(item);
	}
	if (BufferIsValid(buf))
		finish_page(index, &edit, buf, page);
	pfree(chunk);
}

/* Pass 3: the filter directory's tuples, in element order */
static void
write_directory(AreaWrite *w)
{
	Buffer		buf = InvalidBuffer;
	Page		page = NULL;
	HnswPageEdit edit;

	if (!HnswHasFilterKeys(w->index))
		return;
	for (int i = 0; i < w->n; i++)
	{
		IndexTuple	filter = element_filter(area_element(w->area, area_numbered(w->area, i)));
		Size		size;

		if (filter == NULL)
			continue;
		size = HnswDirectoryTupleSize(filter);
		if (!BufferIsValid(buf) || PageGetExactFreeSpace(page) < size)
		{
			if (BufferIsValid(buf))
			{
				HnswEditFinish(&edit);
				UnlockReleaseBuffer(buf);
			}
			buf = HnswDirectoryTail(w->index, size, false);
			HnswEditStart(&edit, w->index, false);
			page = HnswEditPage(&edit, buf, false);
		}
		HnswDirectoryAdd(w->index, page, HnswElemIdFromTid(&w->layout->etids[i]), filter);
	}
	if (BufferIsValid(buf))
	{
		HnswEditFinish(&edit);
		UnlockReleaseBuffer(buf);
	}
}

/* Last: the metapage's entry point and dimension */
static void
write_metapage(AreaWrite *w)
{
	HnswBuildArea *area = w->area;
	Buffer		buf = ReadBuffer(w->index, HNSW_METAPAGE_BLKNO);
	HnswPageEdit edit;
	HnswMetaPage meta;

	/* exclusive: we set the entry point */
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	HnswEditStart(&edit, w->index, false);
	meta = HnswPageGetMeta(HnswEditPage(&edit, buf, false));
	meta->dimensions = area->dimensions;
	if (w->quantizer && (w->quantizer->storage == HNSW_STORAGE_INT8 ||
						 w->quantizer->storage == HNSW_STORAGE_BIT))
		meta->ranges = w->ranges;
	if (w->n > 0)
	{
		meta->entry = w->layout->etids[area_element(area, area->entry)->number];
		meta->entry_level = area->entry_level;
	}
	HnswEditFinish(&edit);
	UnlockReleaseBuffer(buf);
}

/*
 * Write the graph to pages, after the metapage, without WAL, and set the
 * metapage's entry point and dimension.  Where each tuple goes is planned
 * first (layout.c), so that lists can name their elements.  Then the
 * filter directory gets their filter columns, if there are any.
 *
 * No insert may be under way (flush_lock held exclusively, or the build
 * over).
 */
void
HnswAreaWrite(HnswBuildArea *area, Relation index)
{
	AreaWrite	w;
	int			storage;

	w.area = area;
	w.index = index;
	w.n = area->nelements;
	w.exts = palloc_extended(sizeof(HnswExternalValue *) * Max(w.n, 1),
							 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	w.sizes = palloc_extended(sizeof(HnswLayoutElement) * Max(w.n, 1),
							  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	w.headbytes = palloc_extended(sizeof(uint16) * Max(w.n, 1),
								  MCXT_ALLOC_HUGE);
	w.tokens = NULL;
	w.quantizer = NULL;
	w.fulls = NULL;

	storage = HnswReadMetaPage(index).storage;
	if (w.n > 0 && storage != HNSW_STORAGE_FLOAT4)
		write_values(&w, storage);
	else if (storage == HNSW_STORAGE_INT8 || storage == HNSW_STORAGE_BIT)
		ereport(NOTICE,
				(errmsg("index \"%s\" has no rows to learn its %s from",
						RelationGetRelationName(index),
						storage == HNSW_STORAGE_BIT ? "bit codes' centre" : "int8 ranges"),
				 errdetail("Its elements hold the values themselves, uncoded, until it is rebuilt."),
				 errhint("Build an index with storage %s after loading the table, or REINDEX it then.",
						 storage == HNSW_STORAGE_BIT ? "bit" : "int8")));
	write_external_values(&w);
	plan_layout(&w);
	write_placements(&w);
	write_directory(&w);
	write_metapage(&w);

	pfree(w.sizes);
	pfree(w.headbytes);
	pfree(w.order);
	if (w.tokens)
		pfree(w.tokens);
}
