-- The layout of a build: elements whose size leaves much of each page empty
-- are packed by splitting the least-linked ones into chunk tuples.
SET client_min_messages = warning;
SELECT setseed(0.29);

-- 700 dimensions: two whole elements fill only three quarters of a page
CREATE TABLE packed (id int, v real[]);
ALTER TABLE packed ALTER COLUMN v SET STORAGE EXTERNAL;
CREATE TABLE packed_centers (c int, v real[]);
INSERT INTO packed_centers SELECT c, ARRAY(SELECT random() * 4 + 0 * c FROM generate_series(1, 700))::real[]
	FROM generate_series(1, 6) c;
INSERT INTO packed SELECT i, (SELECT array_agg(x + random() + 0 * i)::real[] FROM unnest(v) x)
	FROM generate_series(1, 600) i JOIN packed_centers ON c = i % 6 + 1;
SET max_parallel_maintenance_workers = 0;
CREATE INDEX packed_idx ON packed USING hnsw (v) INCLUDE (id);

-- what each page holds: whole elements, and split ones with their chunks
CREATE FUNCTION layout_summary(idx regclass, OUT pages bigint, OUT split_elements bigint,
	OUT chunks bigint, OUT pages_with_both bigint) LANGUAGE sql AS $$
	WITH items AS (
		SELECT b, i.* FROM generate_series(1, (SELECT pages - 1 FROM hnsw_index_info(idx))) b,
			hnsw_page_items(idx, b) i)
	SELECT (SELECT pages FROM hnsw_index_info(idx)),
		-- a split element's chain of chunks ends with one that links nowhere
		(SELECT count(*) FROM items WHERE kind = 'chunk' AND link IS NULL),
		(SELECT count(*) FROM items WHERE kind = 'chunk'),
		(SELECT count(*) FROM (SELECT b FROM items GROUP BY b
			HAVING bool_or(kind = 'chunk') AND bool_or(kind = 'element')) p)
$$;
-- whole, the 600 elements would take 300 pages; about a quarter are split
SELECT pages < 250 AS smaller, split_elements BETWEEN 60 AND 150 AS some_split,
	chunks >= split_elements AS chunked, pages_with_both > 50 AS chunks_fill_element_pages
	FROM layout_summary('packed_idx');
SELECT count(*) FROM hnsw_verify('packed_idx');

-- every row is found by its own vector, and an index-only scan hands back
-- the same vector as the table, split or not
SET enable_seqscan = off;
SET hnsw.ef_search = 20;
EXPLAIN (COSTS OFF) SELECT id, v FROM packed ORDER BY v <-> '{1}' LIMIT 1;
SELECT count(*) AS found_itself FROM packed a
	WHERE (SELECT b.id FROM packed b ORDER BY b.v <-> a.v LIMIT 1) = a.id;
SELECT count(*) AS same_vector FROM packed a
	WHERE (SELECT b.v FROM packed b ORDER BY b.v <-> a.v LIMIT 1) = a.v;
SET enable_indexonlyscan = off;
SELECT count(*) AS found_itself_plain FROM packed a
	WHERE (SELECT b.id FROM packed b ORDER BY b.v <-> a.v LIMIT 1) = a.id;
RESET enable_indexonlyscan;

-- recall@10 of 20 queries against an exact scan
CREATE FUNCTION packed_recall() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	hits int := 0;
	q real[];
	got int;
BEGIN
	FOR q IN SELECT (SELECT array_agg(x + random())::real[] FROM unnest(v) x)
			FROM packed_centers, generate_series(1, 4) LOOP
		SET LOCAL enable_indexscan = off;
		SET LOCAL enable_indexonlyscan = off;
		SET LOCAL enable_seqscan = on;
		CREATE TEMP TABLE exact ON COMMIT DROP AS SELECT id FROM packed ORDER BY v <-> q LIMIT 10;
		SET LOCAL enable_indexscan = on;
		SET LOCAL enable_indexonlyscan = on;
		SET LOCAL enable_seqscan = off;
		SELECT count(*) INTO got FROM (SELECT id FROM packed ORDER BY v <-> q LIMIT 10) a
			WHERE id IN (SELECT id FROM exact);
		DROP TABLE exact;
		hits := hits + got;
	END LOOP;
	RETURN hits / 240.0;
END $$;
SELECT packed_recall() >= 0.95 AS recall_ok;

-- VACUUM removes split elements with their chunks
SELECT split_elements AS split_before, chunks AS chunks_before FROM layout_summary('packed_idx') \gset
DELETE FROM packed WHERE id % 3 = 0;
VACUUM packed;
SELECT count(*) FROM hnsw_verify('packed_idx');
SELECT split_elements < :split_before AS fewer_split, chunks < :chunks_before AS fewer_chunks
	FROM layout_summary('packed_idx');
SELECT count(*) AS found_itself_after_vacuum FROM packed a
	WHERE (SELECT b.id FROM packed b ORDER BY b.v <-> a.v LIMIT 1) = a.id;
SELECT count(*) AS same_vector_after_vacuum FROM packed a
	WHERE (SELECT b.v FROM packed b ORDER BY b.v <-> a.v LIMIT 1) = a.v;
-- inserts go whole into the room VACUUM freed
INSERT INTO packed SELECT i, (SELECT array_agg(x + random() + 0 * i)::real[] FROM unnest(v) x)
	FROM generate_series(601, 700) i JOIN packed_centers ON c = i % 6 + 1;
SELECT count(*) AS found_itself_after_insert FROM packed a
	WHERE (SELECT b.id FROM packed b ORDER BY b.v <-> a.v LIMIT 1) = a.id;
RESET enable_seqscan;

-- small elements leave little room: nothing is split
CREATE TABLE unpacked (id int, v real[]);
INSERT INTO unpacked SELECT i, ARRAY[random(), random(), random()]::real[]
	FROM generate_series(1, 3000) i;
CREATE INDEX unpacked_idx ON unpacked USING hnsw (v);
SELECT split_elements, chunks FROM layout_summary('unpacked_idx');
SELECT count(*) FROM hnsw_verify('unpacked_idx');

-- elements go to pages with the elements they link to (areawrite.c's
-- plan_order): 3,000 elements on about 100 pages, the 32 of a list would
-- lie on about 27 pages in the order the rows came in (random here), and
-- lie on about 6
CREATE FUNCTION list_pages(idx regclass) RETURNS float8 LANGUAGE sql AS $$
	WITH g AS (SELECT element, heap_tid, neighbor_heap_tids FROM hnsw_graph(idx) WHERE layer = 0),
		links AS (SELECT g.element, n.element AS target
			FROM g, unnest(g.neighbor_heap_tids) h JOIN g n ON n.heap_tid = h)
	SELECT avg(pages) FROM (SELECT count(DISTINCT (target::text::point)[0]) AS pages
		FROM links GROUP BY element) s
$$;
SELECT list_pages('unpacked_idx') < 12 AS neighbours_share_pages;

-- format 6: layer-0 lists are compact (about 2 bytes a neighbour here),
-- so more elements share a page: these 3,000 elements of 3 dimensions and
-- m = 16 took about 100 pages with lists of 6 bytes a neighbour, 63 now
SELECT pg_relation_size('unpacked_idx') / current_setting('block_size')::int < 75 AS compact_lists;
-- an insert sizes its element's compact list to what the list takes (and
-- some room): elements inserted after the build keep as many neighbours
-- as the built ones
INSERT INTO unpacked SELECT i, ARRAY[random(), random(), random()]::real[]
	FROM generate_series(3001, 4500) i;
SELECT count(*) FROM hnsw_verify('unpacked_idx');
WITH d AS (SELECT u.id > 3000 AS inserted, cardinality(g.neighbor_heap_tids) AS degree
	FROM hnsw_graph('unpacked_idx') g JOIN unpacked u ON u.ctid = g.heap_tid WHERE g.layer = 0)
SELECT (SELECT avg(degree) FROM d WHERE inserted) >= 0.95 * (SELECT avg(degree) FROM d WHERE NOT inserted)
	AS inserted_keep_their_neighbours;
