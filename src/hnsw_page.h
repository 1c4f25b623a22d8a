/*-------------------------------------------------------------------------
 *
 * hnsw_page.h
 *	  On-disk format of an hnsw index: page layout, metapage, tuples.
 *
 * Everything a reader needs to decode an hnsw index file is in this header;
 * the algorithms live elsewhere (see hnsw.h).
 *
 * Block 0 is the metapage.  Every other page is an element page holding two
 * kinds of tuples, added with PageAddItem and addressed by (block, offset):
 *
 *	- an element tuple: the heap TID of the row, the element's level, its
 *	  layer-0 neighbour list (2 * m slots) and the key value itself, so that
 *	  one buffer access gives a hop on layer 0 both the vector and the
 *	  neighbour ids;
 *	- an upper tuple, only for elements whose level is above 0: the
 *	  neighbour lists of layers 1 .. level (m slots each).  It is placed on
 *	  the same page as its element whenever there is room;
 *	- chunk tuples, holding the value of an element whose value is kept
 *	  out of its element tuple: a value too large for a page, or one a
 *	  build split off to fill the room whole elements leave (layout.c).
 *
 * An index with filter columns also has directory pages, a chain from the
 * metapage's directory_head: one small tuple per element, its id and its
 * filter columns, so that a scan whose quals match few rows can find them
 * all by reading a few pages instead of the whole graph (directory.c).
 *
 * Tuples never change size after they are written: neighbour lists are
 * rewritten in place.  VACUUM marks the element of a dead row deleted,
 * repairs the lists that point at it, and finally removes both tuples with
 * PageIndexTupleDeleteNoCompact, so line pointer numbers (and therefore the
 * ids of all other elements) stay stable while their space is reused.
 *
 * Copyright (c) 2026, the hnsw developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef HNSW_PAGE_H
#define HNSW_PAGE_H

#include "access/itup.h"
#include "port/pg_bitutils.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"

/* Fixed block numbers */
#define HNSW_METAPAGE_BLKNO		0
#define HNSW_FIRST_DATA_BLKNO	1

/* Identity of the index format, checked whenever the metapage is read */
#define HNSW_MAGIC				0x484E5357	/* "HNSW" */
#define HNSW_FORMAT_VERSION		6
#define HNSW_OLDEST_FORMAT_VERSION	1	/* still read: see HnswMetaPageData */

/* The level of an element is at most HNSW_MAX_LAYERS - 1 */
#define HNSW_MAX_LAYERS			16

/*
 * Special space of every page.  hnsw_page_id is the last two bytes of the
 * page, as in other index AMs, so tools can tell which AM wrote the page.
 */
typedef struct HnswPageOpaqueData
{
	uint16		flags;			/* page type, see below */
	uint16		next_hi;		/* directory pages: the next one's block */
	uint16		next_lo;		/* number, high and low half; 0 for none */
	uint16		hnsw_page_id;	/* HNSW_PAGE_ID */
} HnswPageOpaqueData;

typedef HnswPageOpaqueData *HnswPageOpaque;

#define HNSW_PAGE_META			(1 << 0)
#define HNSW_PAGE_ELEMENTS		(1 << 1)
#define HNSW_PAGE_DIRECTORY		(1 << 2)

/* Value unused by core AMs (GiST 0xFF81, SP-GiST 0xFF82, bloom 0xFF83) */
#define HNSW_PAGE_ID			0xFF95

#define HnswPageGetOpaque(page) \
	((HnswPageOpaque) PageGetSpecialPointer(page))
#define HnswPageIsMeta(page) \
	((HnswPageGetOpaque(page)->flags & HNSW_PAGE_META) != 0)
#define HnswPageIsElements(page) \
	((HnswPageGetOpaque(page)->flags & HNSW_PAGE_ELEMENTS) != 0)
#define HnswPageIsDirectory(page) \
	((HnswPageGetOpaque(page)->flags & HNSW_PAGE_DIRECTORY) != 0)
#define HnswPageGetNext(page) \
	(((BlockNumber) HnswPageGetOpaque(page)->next_hi << 16) | \
	 HnswPageGetOpaque(page)->next_lo)
#define HnswPageSetNext(page, blkno) \
	(HnswPageGetOpaque(page)->next_hi = (uint16) ((blkno) >> 16), \
	 HnswPageGetOpaque(page)->next_lo = (uint16) ((blkno) & 0xFFFF))

/*
 * An external value: stored in chunk tuples, each leading to the next.
 * Chunks go wherever there is room, beside elements too: an insert puts
 * each where an element would go, a build into the room whole elements
 * leave (layout.c).  The element holds this varlena in place of the value;
 * token is repeated in each chunk, so a reader can tell the value's chunks
 * from tuples that took their place after VACUUM removed the element.
 */
typedef struct HnswExternalValue
{
	int32		vl_len_;		/* varlena header (SET_VARSIZE) */
	uint32		size;			/* bytes of the value (a varlena) */
	uint64		token;
	ItemPointerData first;		/* the first chunk */
} HnswExternalValue;

/*
 * The metapage.  The build options are frozen here: an index keeps the
 * options it was built with even if ALTER INDEX changes the reloptions
 * (they take effect at the next REINDEX).
 *
 * Format version 2 added the fields after entry; a version 1 metapage has
 * zeros there, and is read with those options' defaults (which is how
 * version 1 built its graphs), so version 1 indexes keep working.  Version
 * 3 added the filter directory; older indexes have none, and their scans
 * always walk the graph.  Version 4 added value links (see
 * HnswValueLinksData); older indexes have none, and zeros in the fields.
 * Version 5 added the storage of values (HNSW_STORAGE_*); older indexes
 * store float4 values.  Version 6 added compact layer-0 lists
 * (HNSW_ELEMENT_COMPACT); the metapage is that of version 5, and older
 * indexes keep their lists of slots, also for the elements inserted later.
 */
typedef struct HnswMetaPageData
{
	uint32		magic;			/* HNSW_MAGIC */
	uint32		version;		/* HNSW_FORMAT_VERSION */
	uint32		dimensions;		/* 0 until the first value fixes it, or for
								 * distances without a dimension */
	uint16		m;				/* max neighbours on layers > 0 */
	uint16		ef_construction;
	int16		entry_level;	/* level of the entry point; -1 = empty */
	uint16		unused;
	ItemPointerData entry;		/* element tuple of the entry point */
	/* version 2 */
	uint8		max_layers;		/* levels are 0 .. max_layers - 1 */
	uint8		flags;			/* HNSW_META_* */
	uint16		unused2;
	float4		level_scale;	/* multiplier on the level scale 1/ln(m) */
	/* version 3 */
	BlockNumber directory_head; /* first directory page; 0 = none */
	BlockNumber directory_tail; /* the last, or one before it (a hint) */
	/* version 4 */
	uint16		value_links;	/* links per linked column; 0 = none */
	uint16		unused3;
	uint32		linked_columns; /* bit i: filter column i (index column i + 2)
								 * has value links */
	/* version 5 */
	uint8		storage;		/* HNSW_STORAGE_* */
	uint8		unused4;
	uint16		unused5;
	HnswExternalValue ranges;	/* int8 and bit: the chunks of the frozen
								 * ranges or centre (HnswRangesData); size 0
								 * until a build had rows to learn them from */
} HnswMetaPageData;

/*
 * How an element holds its value (reloption storage).  float4: the value
 * as given.  int8, half and bit: a code (HnswCodeData) of one byte per
 * dimension, of IEEE binary16 values or of one bit per dimension, which
 * the walk measures, and the value itself in chunk tuples, read only to
 * rank the candidates a search found by their exact distances.
 */
#define HNSW_STORAGE_FLOAT4			0
#define HNSW_STORAGE_INT8			1
#define HNSW_STORAGE_HALF			2
#define HNSW_STORAGE_BIT			3

/*
 * Do the elements of an index with metapage meta hold codes?  int8 and bit
 * codes need what a build learns from its rows (ranges, centre).
 */
#define HnswMetaHasCodes(meta) \
	((((meta)->storage == HNSW_STORAGE_INT8 || \
	   (meta)->storage == HNSW_STORAGE_BIT) && (meta)->ranges.size > 0) || \
	 (meta)->storage == HNSW_STORAGE_HALF)

/*
 * What a build learns for int8 and bit codes, frozen.  int8: the
 * per-dimension ranges; dimension i of a value x is coded as
 * round((x[i] - lo[i]) / step[i]), clamped to 0 .. 255, and read as
 * lo[i] + step[i] * code; lo[] is followed by step[].  bit: the centre
 * (the mean of the build's values), followed by as many zeros.
 */
typedef struct HnswRangesData
{
	int32		vl_len_;		/* varlena header (SET_VARSIZE) */
	int32		dimensions;
	float4		values[FLEXIBLE_ARRAY_MEMBER];	/* lo[], then step[] */
} HnswRangesData;

#define HnswRangesSize(dims) \
	(offsetof(HnswRangesData, values) + sizeof(float4) * 2 * (dims))

/*
 * A code, the value of an element of an int8, half or bit index (a
 * varlena, in place of the float4[] it codes).  marker is negative where an
 * array has its number of dimensions, which never is: that tells a code
 * from a value, and the kind of code (HNSW_CODE_INT8: one byte per
 * dimension, HNSW_CODE_HALF: a uint16 binary16 per dimension,
 * HNSW_CODE_BIT and HNSW_CODE_BIT_POW2: see HnswBitCodeHeader).  norm is
 * that of the decoded vector, for bit that of the value (for cosine
 * distance); full leads to the chunks of the value itself.  error_l2 and
 * error_l1 are the L2 and L1 distances between the value and the decoded
 * vector, rounded up: a distance measured on the code is off by at most so
 * much (scan.c ranks candidates lazily with it); bit codes, whose estimates
 * are not distances to a decoded vector, have none (HnswBitCodeHeader).
 */
typedef struct HnswCodeData
{
	int32		vl_len_;		/* varlena header (SET_VARSIZE) */
	int32		marker;			/* HNSW_CODE_* */
	uint32		dimensions;
	float4		norm;
	float4		error_l2;
	float4		error_l1;
	HnswExternalValue full;
	uint8		code[FLEXIBLE_ARRAY_MEMBER];
} HnswCodeData;

#define HNSW_CODE_INT8				(-1)
#define HNSW_CODE_HALF				(-2)
#define HNSW_CODE_BIT_POW2			(-3)	/* bit, format 5 */
#define HNSW_CODE_BIT				(-4)	/* bit, format 6 */

#define HnswIsBitMarker(marker) \
	((marker) == HNSW_CODE_BIT || (marker) == HNSW_CODE_BIT_POW2)

/*
 * A bit code's bytes: with r = x - centre, the value's residual, and R r
 * its rotation (HnswBitCodeLength dimensions, see quantize.c), bit i (bit
 * i % 8 of bits[i / 8]) is set where (R r)[i] > 0; two terms make the
 * estimates of distances from it good: |r|, and |r| / |R r|_1, which times
 * |r| is the factor that turns a sum of signs into an estimate of a dot
 * product with r (as in RaBitQ).  Kept so, not as |r|^2, so that no value
 * of finite floats overflows them (|r| is at most FLT_MAX, clamped).  A
 * format 6 code (HNSW_CODE_BIT) keeps them in error_l2 and error_l1, which
 * a bit code has no use for (its estimates bound nothing); a format 5 one
 * (HNSW_CODE_BIT_POW2) has those infinite and this header ahead of its
 * bits, read with memcpy (not aligned).
 */
typedef struct HnswBitCodeHeader
{
	float4		residual_norm;	/* |r| */
	float4		ratio;			/* |r| / |R r|_1, 0 if r = 0 */
} HnswBitCodeHeader;

/*
 * The dimensions of a rotated residual: format 6 (HNSW_CODE_BIT) rounds
 * dims up to a multiple of 8, format 5 (HNSW_CODE_BIT_POW2) padded them to
 * a power of 2 (a bit code of 784 dimensions: 98 bytes instead of 128)
 */
#define HnswBitCodeLength(marker, dims) \
	((marker) == HNSW_CODE_BIT_POW2 ? \
	 pg_nextpower2_32((uint32) Max((dims), 8)) : \
	 TYPEALIGN(8, (uint32) Max((dims), 8)))

#define HnswCodeSize(marker, dims) \
	(offsetof(HnswCodeData, code) + \
	 ((marker) == HNSW_CODE_BIT_POW2 ? sizeof(HnswBitCodeHeader) : 0) + \
	 (HnswIsBitMarker(marker) ? (Size) HnswBitCodeLength((marker), (dims)) / 8 : \
	  (Size) (dims) * ((marker) == HNSW_CODE_HALF ? sizeof(uint16) : 1)))

/* Filter columns that can have value links: the bits of linked_columns */
#define HNSW_MAX_LINKED_COLUMNS		32

#define HNSW_META_EXTEND_CANDIDATES	(1 << 0)
#define HNSW_META_KEEP_PRUNED		(1 << 1)
#define HNSW_META_DIRECTORY			(1 << 2)	/* has a filter directory */

typedef HnswMetaPageData *HnswMetaPage;

#define HnswPageGetMeta(page) ((HnswMetaPage) PageGetContents(page))

/* Tuple kinds, the first byte of every tuple */
#define HNSW_TUPLE_ELEMENT		1
#define HNSW_TUPLE_UPPER		2
#define HNSW_TUPLE_CHUNK		3
#define HNSW_TUPLE_DIRECTORY	4

/* Element flags */
#define HNSW_ELEMENT_DELETED	(1 << 0)	/* row is dead; do not return */
#define HNSW_ELEMENT_EXTERNAL	(1 << 1)	/* value in chunk tuples */
#define HNSW_ELEMENT_FILTER		(1 << 2)	/* filter columns follow the value */
#define HNSW_ELEMENT_LINKS		(1 << 3)	/* value links follow those */
#define HNSW_ELEMENT_COMPACT	(1 << 4)	/* layer-0 list compact (format 6) */

/*
 * Element tuple.  Its layer-0 list of up to 2 * m neighbours lies between
 * the header and the value, in one of two forms:
 *
 *	- slots (formats 1 to 5): neighbors[] has 2 * m ItemPointerData slots,
 *	  the first nneighbors of them valid;
 *	- compact (HNSW_ELEMENT_COMPACT, format 6): the tuple has no upper
 *	  field unless its level is above 0 (the list starts where upper would,
 *	  HnswElementListStart); then nneighbors element ids in ascending
 *	  (block, offset) order.  Each is a varint (7 bits a byte, low first,
 *	  the high bit set on all but the last byte) of the block's difference
 *	  from the one before (the first: the block) shifted left by 4, or'd
 *	  with the offset part, or with 15 if that is 15 or more, in which case
 *	  a varint of the offset part less 15 follows.  The offset part is the
 *	  offset's difference from the one before on the same block, else the
 *	  offset.  A build places elements with the elements they link to
 *	  (areawrite.c), so most ids take one or two bytes, a list of 31
 *	  about 45 instead of 192.  The list has the bytes up to value_offset,
 *	  fixed when the element is written (what it takes then, and some
 *	  room: HnswCompactHeadBytes); one that would need more loses its last
 *	  neighbours, the farthest (HnswSetNeighbors), and unused bytes are
 *	  zero.
 *
 * The key value follows at MAXALIGN'd offset
 * value_offset as a plain (untoasted, uncompressed) varlena; or, for a
 * value too large for the page (HNSW_ELEMENT_EXTERNAL), an
 * HnswExternalValue that leads to the chunk tuples holding it.  In an index
 * with filter columns (the columns after the first; HNSW_ELEMENT_FILTER),
 * their values follow the value at the next MAXALIGN'd offset, as an
 * IndexTuple of those columns (see filter.c); in an index with value links
 * (HNSW_ELEMENT_LINKS), those follow at the next MAXALIGN'd offset after
 * that.
 */
typedef struct HnswElementTupleData
{
	uint8		type;			/* HNSW_TUPLE_ELEMENT */
	uint8		level;			/* highest layer this element is on */
	uint16		flags;			/* HNSW_ELEMENT_* */
	uint16		nneighbors;		/* neighbours in the layer-0 list */
	uint16		value_offset;	/* offset of the value from tuple start */
	ItemPointerData heaptid;	/* the indexed row */
	ItemPointerData upper;		/* upper tuple; invalid when level = 0 */
	ItemPointerData neighbors[FLEXIBLE_ARRAY_MEMBER];	/* or compact bytes */
} HnswElementTupleData;

typedef HnswElementTupleData *HnswElementTuple;

#define HNSW_ELEMENT_HEADER_SIZE offsetof(HnswElementTupleData, neighbors)

/* A compact element's header ends before upper, which only level > 0 has */
#define HNSW_COMPACT_HEADER_SIZE offsetof(HnswElementTupleData, upper)
#define HnswCompactListStart(level) \
	(HNSW_COMPACT_HEADER_SIZE + ((level) > 0 ? sizeof(ItemPointerData) : 0))

/* Where etup's layer-0 list starts, and the bytes it has */
#define HnswElementListStart(etup) \
	(((etup)->flags & HNSW_ELEMENT_COMPACT) ? \
	 HnswCompactListStart((etup)->level) : HNSW_ELEMENT_HEADER_SIZE)
#define HnswElementListBytes(etup) \
	((etup)->value_offset - HnswElementListStart(etup))

/* Bytes of a layer-0 list of slots (a compact list has no more) */
#define HnswSlotListBytes(m)		(sizeof(ItemPointerData) * 2 * (m))

/*
 * The room a compact list is given beyond the bytes it takes when its
 * element is written (HnswCompactHeadBytes), a byte for every four
 * neighbours but at least 8 (an id far away takes about 3 or 4 more than
 * a near one), and what MAXALIGN leaves before the value: for later
 * inserts' links to elements farther away than the ones they replace.  A
 * list out of bytes is full, as one of 2 * m neighbours is (HnswAddLink).
 * With 4 bytes at m = 8, lists lost neighbours round after round under
 * churn (TAP 008; bench/RESULTS.md).
 */
#define HNSW_LIST_ROOM(m)			((Size) Max((m) / 2, 8))

/*
 * What a build assumes a compact list takes before it knows where the
 * elements go: 2 bytes a neighbour, about what lists of elements placed
 * with the elements they link to take.  It then sizes every list to what
 * it takes (areawrite.c).
 */
#define HnswBuildListEstimate(m)	((Size) (4 * (m)))

/* The header and list bytes of an element with a list of slots */
#define HnswSlotHeadBytes(m)	(HNSW_ELEMENT_HEADER_SIZE + HnswSlotListBytes(m))

/*
 * Where the value of an element whose header and layer-0 list take
 * headbytes goes (HNSW_ELEMENT_HEADER_SIZE and the slots; or
 * HnswCompactListStart and a compact list), and the tuple's size
 */
#define HnswElementTupleValueOffset(headbytes)	MAXALIGN(headbytes)
#define HnswElementTupleSize(headbytes, valuesize, filtersize) \
	MAXALIGN(HnswElementTupleValueOffset(headbytes) + MAXALIGN(valuesize) + (filtersize))
#define HnswElementTupleGetValue(etup) \
	((struct varlena *) ((char *) (etup) + (etup)->value_offset))
#define HnswElementTupleFilterOffset(etup) \
	((etup)->value_offset + MAXALIGN(VARSIZE_ANY(HnswElementTupleGetValue(etup))))
#define HnswElementTupleGetFilter(etup) \
	((IndexTuple) ((char *) (etup) + HnswElementTupleFilterOffset(etup)))
/* Does the filter IndexTuple of etup (flag set) lie within len bytes? */
#define HnswElementTupleFilterFits(etup, len) \
	(HnswElementTupleFilterOffset(etup) + sizeof(IndexTupleData) <= (len) && \
	 HnswElementTupleFilterOffset(etup) + \
	 IndexTupleSize(HnswElementTupleGetFilter(etup)) <= (len))

/*
 * Value links (format 4, reloption filter_links): for each linked filter
 * column (a scalar one: see HnswLinkableColumns), up to nslots links to
 * the nearest elements that have the same value in that column, each with
 * its distance from this element.  A scan whose quals include "column =
 * constant" on a linked column follows them from every element that
 * matches its quals, so its walk stays among the matching rows instead of
 * passing through the rows that fail (links.c).  "Same value" is judged by
 * a 64-bit key of the value, so a link may be wrong after a hash collision
 * or after VACUUM gave its element's place to another row; the scan checks
 * every element it reaches, so such a link only costs a visit.
 *
 * Layout: this header with one count per column, padded to 4 bytes; then,
 * per column, nslots distances (float4) and nslots element TIDs.
 */
typedef struct HnswValueLinksData
{
	uint8		ncolumns;		/* linked columns */
	uint8		nslots;			/* links per column */
	uint8		counts[FLEXIBLE_ARRAY_MEMBER];	/* valid links, per column */
} HnswValueLinksData;

typedef HnswValueLinksData *HnswValueLinks;

#define HnswValueLinksHeaderSize(ncolumns)	TYPEALIGN(4, 2 + (ncolumns))
#define HnswValueLinksColumnSize(nslots) \
	TYPEALIGN(4, (nslots) * (sizeof(float4) + sizeof(ItemPointerData)))
#define HnswValueLinksSize(ncolumns, nslots) \
	MAXALIGN(HnswValueLinksHeaderSize(ncolumns) + \
			 (ncolumns) * HnswValueLinksColumnSize(nslots))
#define HnswValueLinksDistances(vl, column) \
	((float4 *) ((char *) (vl) + HnswValueLinksHeaderSize((vl)->ncolumns) + \
				 (column) * HnswValueLinksColumnSize((vl)->nslots)))
#define HnswValueLinksIds(vl, column) \
	((ItemPointerData *) (HnswValueLinksDistances(vl, column) + (vl)->nslots))

/* Where an element's value links start (flags FILTER and LINKS set) */
#define HnswElementTupleLinksOffset(etup) \
	(HnswElementTupleFilterOffset(etup) + \
	 MAXALIGN(IndexTupleSize(HnswElementTupleGetFilter(etup))))
#define HnswElementTupleGetLinks(etup) \
	((HnswValueLinks) ((char *) (etup) + HnswElementTupleLinksOffset(etup)))

/* Do etup's value links (flags FILTER and LINKS set) lie within len bytes? */
#define HnswElementTupleLinksFit(etup, len) \
	(((etup)->flags & HNSW_ELEMENT_FILTER) && \
	 HnswElementTupleLinksOffset(etup) + 2 <= (len) && \
	 HnswElementTupleLinksOffset(etup) + \
	 HnswValueLinksSize(HnswElementTupleGetLinks(etup)->ncolumns, \
						HnswElementTupleGetLinks(etup)->nslots) <= (len))

/* Most links per column (filter_links); nslots is a uint8 */
#define HNSW_MAX_VALUE_LINKS	64

/*
 * Upper tuple: neighbour lists of layers 1 .. level, m slots each.  The list
 * of layer l starts at slot (l - 1) * m, and counts[l - 1] of it are valid.
 */
typedef struct HnswUpperTupleData
{
	uint8		type;			/* HNSW_TUPLE_UPPER */
	uint8		level;			/* same as the element's */
	uint16		m;
	ItemPointerData element;	/* back link to the element tuple */
	uint8		counts[HNSW_MAX_LAYERS - 1];
	ItemPointerData neighbors[FLEXIBLE_ARRAY_MEMBER];
} HnswUpperTupleData;

typedef HnswUpperTupleData *HnswUpperTuple;

#define HNSW_UPPER_HEADER_SIZE offsetof(HnswUpperTupleData, neighbors)
#define HnswUpperTupleSize(m, level) \
	MAXALIGN(HNSW_UPPER_HEADER_SIZE + sizeof(ItemPointerData) * (m) * (level))
#define HnswUpperTupleList(utup, layer) \
	(&(utup)->neighbors[((layer) - 1) * (utup)->m])

/* Largest tuple one element page can hold */
#define HNSW_MAX_TUPLE_SIZE \
	MAXALIGN_DOWN(BLCKSZ - SizeOfPageHeaderData - sizeof(ItemIdData) - \
				  MAXALIGN(sizeof(HnswPageOpaqueData)))


typedef struct HnswChunkTupleData
{
	uint8		type;			/* HNSW_TUPLE_CHUNK */
	uint8		unused;
	uint16		len;			/* bytes in data[] */
	uint32		unused2;
	uint64		token;			/* HnswExternalValue.token */
	ItemPointerData next;		/* next chunk; invalid for the last */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} HnswChunkTupleData;

typedef HnswChunkTupleData *HnswChunkTuple;

#define HNSW_CHUNK_HEADER_SIZE	offsetof(HnswChunkTupleData, data)
#define HNSW_CHUNK_DATA_SIZE	(HNSW_MAX_TUPLE_SIZE - HNSW_CHUNK_HEADER_SIZE)

/*
 * Directory tuple: an element and a copy of its filter columns (the
 * IndexTuple right after this header).  Every element of an index with a
 * directory has one, written in the same WAL record as the element, and
 * VACUUM removes it before the element.  A scan checks the element itself
 * again, so a tuple left behind by a crash does no harm.
 */
typedef struct HnswDirectoryTupleData
{
	uint8		type;			/* HNSW_TUPLE_DIRECTORY */
	uint8		unused;
	ItemPointerData element;
} HnswDirectoryTupleData;

typedef HnswDirectoryTupleData *HnswDirectoryTuple;

#define HNSW_DIRECTORY_HEADER_SIZE	MAXALIGN(sizeof(HnswDirectoryTupleData))
#define HnswDirectoryTupleFilter(dtup) \
	((IndexTuple) ((char *) (dtup) + HNSW_DIRECTORY_HEADER_SIZE))

/*
 * Largest IndexTuple of filter columns: they are read at every hop, and
 * must leave room for the value on the page
 */
#define HNSW_MAX_FILTER_SIZE	1024

/* Largest value an index stores (external values are read whole per hop) */
#define HNSW_MAX_VALUE_SIZE		(1024 * 1024)

#endif							/* HNSW_PAGE_H */
