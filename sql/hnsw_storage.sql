-- storage = int8: elements hold codes of one byte per dimension, the walk
-- measures those, and the candidates are ranked by the exact distances to
-- the values themselves (kept in chunk tuples).
--
-- Every recall here is measured by hnsw_measure_recall, which checks that
-- its plan is an index scan of the index named (one index per table).
SET client_min_messages = notice;
SET hnsw.seed = 21;
SET max_parallel_maintenance_workers = 0;
SELECT setseed(0.125);
-- 4,000 rows in 50 clusters of 48 dimensions, and 100 queries like them
CREATE TABLE st_centres AS SELECT c,
	ARRAY(SELECT (random() * 2 - 1)::real FROM generate_series(1, 48 + 0 * c)) AS v
FROM generate_series(0, 49) c;
CREATE TABLE st_float (id int PRIMARY KEY, v real[]);
INSERT INTO st_float SELECT i,
	ARRAY(SELECT (x + (random() + random() + random() - 1.5) * 0.4)::real
		  FROM unnest((SELECT v FROM st_centres WHERE c = i % 50)) x)
FROM generate_series(1, 4000) i;
CREATE TABLE st_int8 AS SELECT * FROM st_float;
ALTER TABLE st_int8 ADD PRIMARY KEY (id);
CREATE TABLE st_queries AS SELECT g AS qid,
	ARRAY(SELECT (x + (random() + random() + random() - 1.5) * 0.4)::real
		  FROM unnest((SELECT v FROM st_centres WHERE c = (g * 7) % 50)) x) AS v
FROM generate_series(1, 100) g;

-- the same data, options and seed: float4 and int8
CREATE INDEX st_float_idx ON st_float USING hnsw (v) WITH (m = 8, ef_construction = 32);
CREATE INDEX st_int8_idx ON st_int8 USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = int8);
SELECT * FROM hnsw_verify('st_int8_idx');
SELECT storage, format_version FROM hnsw_index_info('st_int8_idx');

-- the elements hold codes: 48 bytes of code and a 48-byte header, and the
-- values (216 bytes each) are in chunk tuples
SELECT kind, count(*), min(value_bytes), max(value_bytes)
FROM generate_series(1, pg_relation_size('st_int8_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('st_int8_idx', b)
WHERE kind IN ('element', 'chunk') GROUP BY kind ORDER BY kind;

-- recall@10 at the same ef_search: no more than 0.005 below float4's
SELECT ef, q.recall >= f.recall - 0.005 AS within_0_005, q.recall < 1 AS below_1
FROM unnest(ARRAY[10, 20]) ef,
	LATERAL (SELECT avg(recall) AS recall FROM st_queries s,
			 LATERAL hnsw_measure_recall('st_float_idx', s.v, 10, ef)) f,
	LATERAL (SELECT avg(recall) AS recall FROM st_queries s,
			 LATERAL hnsw_measure_recall('st_int8_idx', s.v, 10, ef)) q
ORDER BY ef;

-- the scan nodes of a query's plan (EXPLAIN differs between versions
-- elsewhere)
CREATE FUNCTION st_scans(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query
	LOOP
		IF line LIKE '%Scan using%' THEN
			RETURN NEXT btrim(line, ' ->');
		END IF;
	END LOOP;
END
$$;

-- The rows an index scan of tbl (columns id, v) hands out for each query
-- of queries (qid, v), LIMIT 10: how many, whether each distance is the
-- row's own, and how many come after a farther one
CREATE FUNCTION st_order(tbl text, queries text)
RETURNS TABLE (rows bigint, exact_distances boolean, out_of_order bigint)
LANGUAGE plpgsql
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
		WITH r AS (SELECT s.qid, x.n, x.id, x.d FROM %2$I s,
				   LATERAL (SELECT row_number() OVER () AS n, id, d FROM
							(SELECT id, v <-> s.v AS d FROM %1$I
							 ORDER BY v <-> s.v LIMIT 10) y) x)
		SELECT count(*), bool_and(r.d = (t.v <-> s.v)),
			   count(*) FILTER (WHERE r.d < (SELECT p.d FROM r p
											 WHERE p.qid = r.qid AND p.n = r.n - 1))
		FROM r JOIN %1$I t USING (id) JOIN %2$I s USING (qid)$q$, tbl, queries);
END
$$;

-- what a scan returns is exact: each distance is the row's own, and they
-- come in order
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_sort = off;
SELECT st_scans('SELECT id FROM st_int8 ORDER BY v <-> (SELECT v FROM st_queries WHERE qid = 1) LIMIT 10');
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_sort;
SELECT * FROM st_order('st_int8', 'st_queries');
-- EXPLAIN ANALYZE says how many values were read to rank candidates
SELECT reranked > 0 FROM (SELECT rows_reranked AS reranked FROM hnsw_last_scan()) x;

-- The walk measures an int8 code from the query's sums and an integer dot
-- product (quantize.c's walk_distance), a little off from the distance to
-- the decoded vector; the scan's lazy ranking allows for that in the least
-- distance it expects of a candidate.  Integer values 0 .. 255 (the
-- corners included) are coded exactly (ranges 0 .. 255, a step of 1), so
-- nothing else hides it: without the allowance, rows of 256 dimensions in
-- tight clusters come out of order (13 of 2,000 here, in st_order).
SELECT setseed(0.5);
CREATE TABLE st_grid (id int PRIMARY KEY, v real[]);
INSERT INTO st_grid SELECT i, ARRAY(SELECT CASE WHEN i = 1 THEN 0 WHEN i = 2 THEN 255
	ELSE least(255, greatest(0, (128 + 60 * sin(i % 20 + d) + random() * 6)::int)) END::real
	FROM generate_series(1, 256) d) FROM generate_series(1, 3000) i;
CREATE TABLE st_grid_queries AS SELECT g AS qid,
	ARRAY(SELECT (128 + 60 * sin(g % 20 + d) + random() * 6)::real
		  FROM generate_series(1, 256 + 0 * g) d) AS v
FROM generate_series(1, 200) g;
CREATE INDEX st_grid_idx ON st_grid USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = int8);
SET enable_seqscan = off;
SELECT st_scans('SELECT id FROM st_grid ORDER BY v <-> (SELECT v FROM st_grid_queries WHERE qid = 1) LIMIT 10');
RESET enable_seqscan;
SET hnsw.ef_search = 40;
SELECT * FROM st_order('st_grid', 'st_grid_queries');
RESET hnsw.ef_search;
DROP TABLE st_grid, st_grid_queries;

-- the other distances and half codes, against float4 (each pair of
-- indexes built, measured at ef_search 10 and dropped; L2 with int8 is
-- above, and every kernel of each kind is checked by test/kernels_check)
DROP INDEX st_float_idx;
DROP INDEX st_int8_idx;
CREATE FUNCTION st_within(opclass text, storage text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	f float8;
	q float8;
BEGIN
	EXECUTE format('CREATE INDEX st_float_x ON st_float USING hnsw (v %s) WITH (m = 8, ef_construction = 32)', opclass);
	EXECUTE format('CREATE INDEX st_int8_x ON st_int8 USING hnsw (v %s) WITH (m = 8, ef_construction = 32, storage = %s)', opclass, storage);
	SELECT avg(recall) INTO f FROM st_queries s, LATERAL hnsw_measure_recall('st_float_x', s.v, 10, 10);
	SELECT avg(recall) INTO q FROM st_queries s, LATERAL hnsw_measure_recall('st_int8_x', s.v, 10, 10);
	DROP INDEX st_float_x;
	DROP INDEX st_int8_x;
	RETURN q >= f - 0.005;
END
$$;
SELECT opclass, storage, st_within(opclass, storage) AS within_0_005
FROM (VALUES ('float4_l2_ops', 'half'), ('float4_cosine_ops', 'int8'),
			 ('float4_cosine_ops', 'half'), ('float4_ip_ops', 'int8'),
			 ('float4_l1_ops', 'half')) c(opclass, storage)
ORDER BY 1, 2;
DROP FUNCTION st_within(text, text);

-- a build over maintenance_work_mem: the rows after the graph was written
-- go in as inserts, coded with the ranges of the rows before
SET maintenance_work_mem = '1MB';
CREATE INDEX st_float_mem ON st_float USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = int8);
RESET maintenance_work_mem;
-- (inserts may leave an element no list leads to, until VACUUM links it
-- back: see hnsw_vacuum)
SELECT count(*) AS structural_problems FROM hnsw_verify('st_float_mem')
WHERE problem NOT LIKE '%cannot be reached%';
VACUUM st_float;
SELECT * FROM hnsw_verify('st_float_mem');
SELECT avg(recall) >= 0.95 AS recall_over_work_mem
FROM st_queries s, LATERAL hnsw_measure_recall('st_float_mem', s.v, 10, 40);
DROP INDEX st_float_mem;
-- a parallel build (the leader learns the ranges from the shared graph);
-- the workers took part if the levels differ from a build in one process
ALTER TABLE st_float SET (parallel_workers = 2);
SET max_parallel_maintenance_workers = 2;
CREATE INDEX st_float_par ON st_float USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = int8);
SET max_parallel_maintenance_workers = 0;
ALTER TABLE st_float RESET (parallel_workers);
SELECT * FROM hnsw_verify('st_float_par');
SELECT avg(recall) >= 0.95 AS recall_parallel
FROM st_queries s, LATERAL hnsw_measure_recall('st_float_par', s.v, 10, 40);
CREATE TEMP TABLE st_par_levels AS
	SELECT array_agg(layer ORDER BY heap_tid, layer) AS levels FROM hnsw_graph('st_float_par');
DROP INDEX st_float_par;
CREATE INDEX st_float_one ON st_float USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = int8);
SELECT (SELECT levels FROM st_par_levels) IS DISTINCT FROM
	(SELECT array_agg(layer ORDER BY heap_tid, layer) FROM hnsw_graph('st_float_one'))
	AS workers_took_part;
DROP INDEX st_float_one;

-- a wider re-rank: hnsw.rerank_depth above ef_search widens the search to
-- as many candidates, all ranked again (by default a quarter more than
-- ef_search: 50 at ef_search 40)
CREATE INDEX st_int8_idx ON st_int8 USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = int8);
CREATE TEMP TABLE st_shallow AS
SELECT avg(recall) AS recall FROM st_queries s, LATERAL hnsw_measure_recall('st_int8_idx', s.v, 10, 5);
SET hnsw.rerank_depth = 60;
SELECT (SELECT recall FROM st_shallow) < avg(recall) AS deeper_finds_more
FROM st_queries s, LATERAL hnsw_measure_recall('st_int8_idx', s.v, 10, 5);
SELECT count(*) FROM (SELECT id FROM st_int8 ORDER BY v <-> (SELECT v FROM st_queries WHERE qid = 2) LIMIT 100) s;
SELECT rows_reranked, ef_search FROM hnsw_last_scan();
-- a shallower one ranks that many of each search's candidates, and an
-- iterative scan still searches on for the rows the executor wants
SET hnsw.rerank_depth = 5;
SELECT count(*) FROM (SELECT id FROM st_int8 ORDER BY v <-> (SELECT v FROM st_queries WHERE qid = 2) LIMIT 30) s;
SELECT rows_reranked >= 30 AS reranked_enough, searches > 1 AS searched_on FROM hnsw_last_scan();
RESET hnsw.rerank_depth;
-- the candidates are ranked lazily: for 10 rows the scan read only the
-- values of the candidates whose codes say they could come first, not
-- all 50 it kept (the order checked above is exact all the same)
SELECT count(*) FROM (SELECT id FROM st_int8 ORDER BY v <-> (SELECT v FROM st_queries WHERE qid = 2) LIMIT 10) s;
SELECT rows_reranked, ef_search FROM hnsw_last_scan();
SELECT count(*) FROM (SELECT id FROM st_int8 ORDER BY v <-> (SELECT v FROM st_queries WHERE qid = 2) LIMIT 40) s;
SELECT rows_reranked > 13 AS more_rows_read_more, rows_reranked <= 50 AS at_most_all FROM hnsw_last_scan();

-- values outside the frozen ranges are clamped in their codes, ranked
-- exactly: each is found first by its own vector
INSERT INTO st_int8 SELECT 10000 + i,
	ARRAY(SELECT ((random() * 2 - 1) * (3 + i))::real FROM generate_series(1, 48 + 0 * i))
FROM generate_series(1, 8) i;
SELECT count(*) AS outside_the_ranges FROM st_int8 o
WHERE id > 10000 AND EXISTS (SELECT FROM unnest(o.v) x WHERE abs(x) > 3);
SELECT count(*) FILTER (WHERE (SELECT t.id FROM st_int8 t ORDER BY t.v <-> o.v LIMIT 1) = o.id) AS found,
	   count(*) AS outside
FROM st_int8 o WHERE id > 10000;
SELECT * FROM hnsw_verify('st_int8_idx');

-- deletes and VACUUM: the elements go with the chunks of their values
CREATE TEMP TABLE st_chunks AS
SELECT count(*) AS chunks, (SELECT count(*) FROM st_int8 WHERE id % 4 = 0) AS doomed
FROM generate_series(1, pg_relation_size('st_int8_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('st_int8_idx', b) WHERE kind = 'chunk';
DELETE FROM st_int8 WHERE id % 4 = 0;
VACUUM st_int8;
SELECT c.chunks - count(*) AS chunks_removed, c.doomed AS rows_deleted
FROM generate_series(1, pg_relation_size('st_int8_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('st_int8_idx', b), st_chunks c
WHERE kind = 'chunk' GROUP BY c.chunks, c.doomed;
SELECT * FROM hnsw_verify('st_int8_idx');
SELECT elements, live, dead, unreachable FROM hnsw_index_health('st_int8_idx');
SELECT avg(recall) >= 0.9 AS recall_after_vacuum FROM st_queries s, LATERAL hnsw_measure_recall('st_int8_idx', s.v, 10, 40);

-- an index-only scan gets the INCLUDE columns, never the codes
CREATE INDEX st_int8_cov ON st_int8 USING hnsw (v) INCLUDE (id) WITH (storage = int8);
DROP INDEX st_int8_idx;
VACUUM ANALYZE st_int8;
SET enable_seqscan = off;
SELECT st_scans('SELECT id FROM st_int8 ORDER BY v <-> (SELECT v FROM st_queries WHERE qid = 3) LIMIT 3');
SELECT st_scans('SELECT v FROM st_int8 ORDER BY v <-> (SELECT v FROM st_queries WHERE qid = 3) LIMIT 3');
SELECT (SELECT array_agg(id) FROM (SELECT id FROM st_int8 ORDER BY v <-> s.v LIMIT 3) x) =
	   (SELECT array_agg(id) FROM (SELECT id, v FROM st_int8 ORDER BY v <-> s.v LIMIT 3) x) AS same_rows
FROM st_queries s WHERE qid = 3;
RESET enable_seqscan;

-- 3,072 dimensions: the int8 code, 3,120 bytes, fits its element whole
CREATE TABLE st_wide (id int, v real[]);
INSERT INTO st_wide SELECT i, ARRAY(SELECT random()::real FROM generate_series(1, 3072 + 0 * i))
FROM generate_series(1, 60) i;
CREATE INDEX st_wide_idx ON st_wide USING hnsw (v) WITH (storage = int8);
SELECT kind, count(*), max(value_bytes)
FROM generate_series(1, pg_relation_size('st_wide_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('st_wide_idx', b)
WHERE kind = 'element' GROUP BY kind;
SELECT count(*) FILTER (WHERE (SELECT t.id FROM st_wide t ORDER BY t.v <-> o.v LIMIT 1) = o.id) AS found_self
FROM st_wide o;
SELECT * FROM hnsw_verify('st_wide_idx');
-- and with half codes, 6,192 bytes
DROP INDEX st_wide_idx;
CREATE INDEX st_wide_half ON st_wide USING hnsw (v) WITH (storage = half);
SELECT kind, count(*), max(value_bytes)
FROM generate_series(1, pg_relation_size('st_wide_half') / 8192 - 1) b,
	 LATERAL hnsw_page_items('st_wide_half', b)
WHERE kind = 'element' GROUP BY kind;
SELECT count(*) FILTER (WHERE (SELECT t.id FROM st_wide t ORDER BY t.v <-> o.v LIMIT 1) = o.id) AS found_self
FROM st_wide o;
SELECT * FROM hnsw_verify('st_wide_half');

-- built on an empty table: no ranges to learn, so float4 values (with a
-- notice) until REINDEX, which learns them
CREATE TABLE st_empty (id int, v real[]);
CREATE INDEX st_empty_idx ON st_empty USING hnsw (v) WITH (storage = int8);
SELECT storage FROM hnsw_index_info('st_empty_idx');
INSERT INTO st_empty SELECT id, v FROM st_float WHERE id <= 300;
SELECT count(*) FILTER (WHERE (SELECT t.id FROM st_empty t ORDER BY t.v <-> o.v LIMIT 1) = o.id) AS found_self
FROM st_empty o;
SELECT max(value_bytes) FROM generate_series(1, pg_relation_size('st_empty_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('st_empty_idx', b) WHERE kind = 'element';
REINDEX INDEX st_empty_idx;
SELECT storage FROM hnsw_index_info('st_empty_idx');
SELECT max(value_bytes) FROM generate_series(1, pg_relation_size('st_empty_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('st_empty_idx', b) WHERE kind = 'element';
SELECT * FROM hnsw_verify('st_empty_idx');

-- storage = half: binary16 codes, the same ranking; no ranges to learn
CREATE TABLE st_half AS SELECT * FROM st_float;
CREATE INDEX st_half_idx ON st_half USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = half);
SELECT storage FROM hnsw_index_info('st_half_idx');
SELECT kind, count(*), max(value_bytes)
FROM generate_series(1, pg_relation_size('st_half_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('st_half_idx', b)
WHERE kind = 'element' GROUP BY kind;
SET enable_seqscan = off;
SELECT st_scans('SELECT id FROM st_half ORDER BY v <-> (SELECT v FROM st_queries WHERE qid = 1) LIMIT 10');
RESET enable_seqscan;
SELECT * FROM st_order('st_half', 'st_queries');
-- values beyond the largest half (65504) are coded as 65504, and found
INSERT INTO st_half SELECT 10000 + i,
	ARRAY(SELECT ((random() * 2 - 1) * 100000 * i)::real FROM generate_series(1, 48 + 0 * i))
FROM generate_series(1, 6) i;
SELECT count(*) FILTER (WHERE (SELECT t.id FROM st_half t ORDER BY t.v <-> o.v LIMIT 1) = o.id) AS found,
	   count(*) AS beyond
FROM st_half o WHERE id > 10000;
DELETE FROM st_half WHERE id % 3 = 0;
VACUUM st_half;
SELECT * FROM hnsw_verify('st_half_idx');
SELECT avg(recall) >= 0.95 AS recall_after_vacuum
FROM st_queries s, LATERAL hnsw_measure_recall('st_half_idx', s.v, 10, 40);

-- storage int8 and half take real[] and float8[] with L2, cosine, L1 and
-- inner product only (float8[] is accepted here: hnsw_float8codes)
CREATE TABLE st_other (b bit(16), i int4[], t text, d float8[], v real[]);
CREATE INDEX ON st_other USING hnsw (b) WITH (storage = int8);
CREATE INDEX ON st_other USING hnsw (i int4_jaccard_ops) WITH (storage = int8);
CREATE INDEX ON st_other USING hnsw (t) WITH (storage = int8);
CREATE INDEX ON st_other USING hnsw (d) WITH (storage = int8);
CREATE INDEX ON st_other USING hnsw (v float4_hellinger_ops) WITH (storage = int8);
CREATE INDEX ON st_other USING hnsw (b) WITH (storage = half);
CREATE INDEX ON st_other USING hnsw (v) WITH (storage = 'int4');
CREATE INDEX ON st_other USING hnsw (v) WITH (storage = float4);

DROP TABLE st_centres, st_float, st_int8, st_half, st_queries, st_wide, st_empty, st_other;
DROP FUNCTION st_scans(text);
DROP FUNCTION st_order(text, text);
