/*-------------------------------------------------------------------------
 *
 * layout.c
 *	  Where a build puts each tuple: the page layout of a new index.
 *
 * A build knows every element before it writes a page, so it can pack them
 * better than inserts, one at a time, can.  Elements go to pages whole and
 * in the order the build gives (neighbours together, areawrite.c),
 * as many as fit; an element's upper tuple follows it, on the same page
 * when both fit.
 *
 * Whole elements can leave much of every page unused: at 784 float4
 * dimensions and m = 16 an element tuple takes 3.4 kB, two fit on a page,
 * and 1.4 kB of each 8 kB page (a sixth of the index) would stay empty.
 * When that share is large, some elements are split instead: their element
 * tuple (header, neighbour list, and an HnswExternalValue in place of the
 * value) and their value, cut into chunk tuples, fill the space the whole
 * elements leave, page after page.  The format is that of values
 * too large for a page (hnsw_page.h), so everything that reads an index
 * already reads split elements.
 *
 * A split element costs a search two or three page accesses instead of one,
 * so the elements split are those the fewest layer-0 lists point to: the
 * ones searches reach least (at 784 dimensions about one element in six
 * is split, and searches did not get slower).  Elements on layers above 0
 * are never split, since every search passes through the top of the graph;
 * nor more than a quarter of them, however much room that leaves.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "hnsw.h"

/* Split elements only if whole ones would leave this share of pages empty */
#define HNSW_SPLIT_MIN_WASTE	0.05

/* Split at most this share of the elements */
#define HNSW_SPLIT_MAX_SHARE	0.25

/* Smallest piece of a value worth a chunk tuple of its own */
#define HNSW_MIN_CHUNK_DATA		128

#define ITEM_SIZE(size)		(MAXALIGN(size) + sizeof(ItemIdData))

typedef struct LayoutState
{
	HnswLayout *layout;
	const HnswLayoutElement *elements;
	int			capacity;		/* of layout->placements */
	BlockNumber blkno;			/* the page being filled */
	OffsetNumber off;			/* its last offset used */
	Size		room;			/* and the bytes still free on it */

	/* split elements waiting for room, in placement order */
	uint32	   *queue;
	uint32		qhead;
	uint32		qtail;
	bool	   *tuple_placed;	/* has the split element its tuple yet? */
	uint32	   *bytes_placed;	/* how much of its value is placed */
	int32	   *last_chunk;		/* its last chunk placed so far, or -1 */
} LayoutState;

/* Usable bytes of an empty element page */
static inline Size
page_room(void)
{
	return BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(HnswPageOpaqueData));
}

/* How many element tuples of esize bytes an empty page holds */
int
HnswLayoutPerPage(Size esize)
{
	return page_room() / ITEM_SIZE(esize);
}

static void
next_page(LayoutState *ls)
{
	ls->blkno++;
	ls->off = 0;
	ls->room = page_room();
}

/*
 * Add a placement of size bytes to the current page; returns its number
 * (the array of placements may move).
 */
static int32
place(LayoutState *ls, HnswPlaceKind kind, uint32 element, Size size)
{
	HnswLayout *layout = ls->layout;
	HnswPlacement *p;

	Assert(ITEM_SIZE(size) <= ls->room);
	if (layout->nplacements == ls->capacity)
	{
		ls->capacity *= 2;
		layout->placements = repalloc_huge(layout->placements,
										   sizeof(HnswPlacement) * ls->capacity);
	}
	p = &layout->placements[layout->nplacements];
	ItemPointerSet(&p->tid, ls->blkno, ++ls->off);
	p->kind = kind;
	p->element = element;
	p->start = 0;
	p->len = 0;
	p->next = -1;
	ls->room -= ITEM_SIZE(size);
	return layout->nplacements++;
}

/*
 * Fill what is left of the current page with the split elements waiting:
 * each one's element tuple, and its value in chunks as large as the room
 * allows, oldest first.
 */
static void
fill_page(LayoutState *ls)
{
	HnswLayout *layout = ls->layout;

	while (ls->qhead < ls->qtail)
	{
		uint32		e = ls->queue[ls->qhead];
		const HnswLayoutElement *el = &ls->elements[e];

		if (!ls->tuple_placed[e] && ITEM_SIZE(el->xsize) <= ls->room)
		{
			int32		p = place(ls, HNSW_PLACE_ELEMENT, e, el->xsize);

			layout->etids[e] = layout->placements[p].tid;
			ls->tuple_placed[e] = true;
		}
		else if (ls->bytes_placed[e] < el->vsize &&
				 ls->room >= ITEM_SIZE(HNSW_CHUNK_HEADER_SIZE +
									   Min(HNSW_MIN_CHUNK_DATA,
										   el->vsize - ls->bytes_placed[e])))
		{
			Size		fits = MAXALIGN_DOWN(ls->room - sizeof(ItemIdData)) -
				HNSW_CHUNK_HEADER_SIZE;
			Size		len = Min(fits, el->vsize - ls->bytes_placed[e]);
			int32		c = place(ls, HNSW_PLACE_CHUNK, e, HNSW_CHUNK_HEADER_SIZE + len);

			layout->placements[c].start = ls->bytes_placed[e];
			layout->placements[c].len = len;
			if (ls->last_chunk[e] < 0)
				layout->first_chunk[e] = c;
			else
				layout->placements[ls->last_chunk[e]].next = c;
			ls->last_chunk[e] = c;
			ls->bytes_placed[e] += len;
		}
		else
			break;				/* the page is full */

		if (ls->tuple_placed[e] && ls->bytes_placed[e] == el->vsize)
			ls->qhead++;
	}
}

/*
 * How many elements to split, and which: those with the fewest incoming
 * layer-0 links among the ones that can be (split[] is set for them).
 *
 * With k whole elements to a page of P usable bytes on average, each page
 * leaving l bytes spare, and a split element taking about s bytes wherever
 * it goes, splitting x of n elements leaves (n - x) / k pages whose spare
 * room is to hold x * s bytes, so x = n * (l / k) / (s + l / k).  k and l
 * are measured by filling pages with whole elements in the build's order,
 * as HnswPlanLayout does: elements of about P / k bytes whose sizes differ
 * a little (compact lists) leave pages of k and of k - 1 of them.
 */
static uint32
choose_split(const HnswLayoutElement *elements, const uint32 *order,
			 uint32 n, bool *split)
{
	double		parted = 0;
	uint32		candidates = 0;
	uint32		max_indegree = 0;
	double		per_page;
	double		spare;
	uint32		nsplit;
	uint32	   *histogram;
	uint32		threshold;
	uint32		below = 0;
	uint32		taken = 0;
	Size		room = page_room();
	double		pages = 1;
	double		left = 0;

	for (uint32 i = 0; i < n; i++)
	{
		const HnswLayoutElement *el = &elements[i];

		if (el->xsize == 0)
			continue;
		candidates++;
		max_indegree = Max(max_indegree, el->indegree);
	}
	if (candidates == 0)
		return 0;
	for (uint32 k = 0; k < n; k++)
	{
		const HnswLayoutElement *el = &elements[order[k]];
		Size		need = ITEM_SIZE(el->esize) +
			(el->usize > 0 ? ITEM_SIZE(el->usize) : 0);

		if (need > room)
		{
			left += room;
			pages++;
			room = page_room();
		}
		room -= Min(need, room);
	}
	per_page = n / pages;
	spare = left / Max(pages - 1, 1);
	if (per_page < 1 || spare < HNSW_SPLIT_MIN_WASTE * page_room())
		return 0;
	/* a split element's value is cut into pieces of about spare bytes */
	for (uint32 i = 0; i < n; i++)
		if (elements[i].xsize != 0)
			parted += ITEM_SIZE(elements[i].xsize) + elements[i].vsize +
				ITEM_SIZE(HNSW_CHUNK_HEADER_SIZE) * (1 + elements[i].vsize / spare);
	parted /= candidates;
	nsplit = (uint32) (n * (spare / per_page) / (parted + spare / per_page));
	nsplit = Min(nsplit, (uint32) (n * HNSW_SPLIT_MAX_SHARE));
	nsplit = Min(nsplit, candidates);
	if (nsplit == 0)
		return 0;

	/* the in-degree below which all are split, and at which some are */
	histogram = palloc0(sizeof(uint32) * (max_indegree + 1));
	for (uint32 i = 0; i < n; i++)
		if (elements[i].xsize != 0)
			histogram[elements[i].indegree]++;
	for (threshold = 0; below + histogram[threshold] < nsplit; threshold++)
		below += histogram[threshold];
	pfree(histogram);

	for (uint32 i = 0; i < n; i++)
	{
		const HnswLayoutElement *el = &elements[i];

		if (el->xsize == 0 || el->indegree > threshold)
			continue;
		if (el->indegree == threshold)
		{
			if (below + taken >= nsplit)
				continue;
			taken++;
		}
		split[i] = true;
	}
	return nsplit;
}

/*
 * Plan the pages of a build: where each of the n elements' tuples goes,
 * from block first_block on, taking the elements in the order order[] names
 * them.  The placements come out in the order of their (block, offset),
 * which is the order to add them to new pages in.
 */
HnswLayout *
HnswPlanLayout(const HnswLayoutElement *elements, const uint32 *order,
			   uint32 n, BlockNumber first_block)
{
	HnswLayout *layout = palloc0(sizeof(HnswLayout));
	LayoutState ls;
	bool	   *split = palloc0(sizeof(bool) * Max(n, 1));

	layout->etids = palloc_extended(sizeof(ItemPointerData) * Max(n, 1),
									MCXT_ALLOC_HUGE);
	layout->utids = palloc_extended(sizeof(ItemPointerData) * Max(n, 1),
									MCXT_ALLOC_HUGE);
	layout->first_chunk = palloc_extended(sizeof(int32) * Max(n, 1),
										  MCXT_ALLOC_HUGE);
	for (uint32 i = 0; i < n; i++)
		layout->first_chunk[i] = -1;
	layout->nsplit = choose_split(elements, order, n, split);

	memset(&ls, 0, sizeof(ls));
	ls.layout = layout;
	ls.elements = elements;
	ls.capacity = Max(n + n / 2, 16);
	layout->placements = palloc_extended(sizeof(HnswPlacement) * ls.capacity,
										 MCXT_ALLOC_HUGE);
	ls.blkno = first_block;
	ls.off = 0;
	ls.room = page_room();
	if (layout->nsplit > 0)
	{
		ls.queue = palloc(sizeof(uint32) * layout->nsplit);
		ls.tuple_placed = palloc0(sizeof(bool) * n);
		ls.bytes_placed = palloc0(sizeof(uint32) * n);
		ls.last_chunk = palloc(sizeof(int32) * n);
		for (uint32 i = 0; i < n; i++)
			ls.last_chunk[i] = -1;
	}

	/*
	 * The split elements wait from the start, so that every page's gap can
	 * take some: they are the elements the fewest lists name, which an order
	 * that keeps neighbours together leaves to the end.
	 */
	for (uint32 k = 0; k < n; k++)
	{
		if (split[order[k]])
			ls.queue[ls.qtail++] = order[k];
	}
	for (uint32 k = 0; k < n; k++)
	{
		uint32		i = order[k];
		const HnswLayoutElement *el = &elements[i];
		Size		need = ITEM_SIZE(el->esize);
		int32		p;

		if (split[i])
			continue;
		/* the upper tuple too, if both fit on one page */
		if (el->usize > 0 &&
			ITEM_SIZE(el->esize) + ITEM_SIZE(el->usize) <= page_room())
			need += ITEM_SIZE(el->usize);
		if (need > ls.room)
		{
			fill_page(&ls);
			next_page(&ls);
		}
		p = place(&ls, HNSW_PLACE_ELEMENT, i, el->esize);
		layout->etids[i] = layout->placements[p].tid;
		if (el->usize > 0)
		{
			if (ITEM_SIZE(el->usize) > ls.room)
			{
				fill_page(&ls);
				next_page(&ls);
			}
			p = place(&ls, HNSW_PLACE_UPPER, i, el->usize);
			layout->utids[i] = layout->placements[p].tid;
		}
	}
	/* what is still waiting goes to pages of its own */
	for (;;)
	{
		fill_page(&ls);
		if (ls.qhead == ls.qtail)
			break;
		next_page(&ls);
	}

	pfree(split);
	if (layout->nsplit > 0)
	{
		pfree(ls.queue);
		pfree(ls.tuple_placed);
		pfree(ls.bytes_placed);
		pfree(ls.last_chunk);
	}
	return layout;
}

/* Free what HnswPlanLayout allocated */
void
HnswFreeLayout(HnswLayout *layout)
{
	pfree(layout->placements);
	pfree(layout->etids);
	pfree(layout->utids);
	pfree(layout->first_chunk);
	pfree(layout);
}
