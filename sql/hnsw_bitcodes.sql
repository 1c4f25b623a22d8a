-- storage = bit: elements hold one bit per dimension of the rotated
-- residual and two correction terms, the walk measures estimates from
-- those, and the candidates are ranked by the exact distances to the
-- values themselves (kept in chunk tuples).
--
-- Every recall here is measured by hnsw_measure_recall, which checks that
-- its plan is an index scan of the index named (one index per table).
SET client_min_messages = notice;
SET hnsw.seed = 21;
SET max_parallel_maintenance_workers = 0;
SELECT setseed(0.25);
-- 3,000 rows in 40 clusters of 96 dimensions, and 60 queries like them
CREATE TABLE bc_centres AS SELECT c,
	ARRAY(SELECT (random() * 2 - 1)::real FROM generate_series(1, 96 + 0 * c)) AS v
FROM generate_series(0, 39) c;
CREATE TABLE bc_float (id int PRIMARY KEY, v real[]);
INSERT INTO bc_float SELECT i,
	ARRAY(SELECT (x + (random() + random() + random() - 1.5) * 0.5)::real
		  FROM unnest((SELECT v FROM bc_centres WHERE c = i % 40)) x)
FROM generate_series(1, 3000) i;
CREATE TABLE bc_bit AS SELECT * FROM bc_float;
ALTER TABLE bc_bit ADD PRIMARY KEY (id);
CREATE TABLE bc_queries AS SELECT g AS qid,
	ARRAY(SELECT (x + (random() + random() + random() - 1.5) * 0.5)::real
		  FROM unnest((SELECT v FROM bc_centres WHERE c = (g * 7) % 40)) x) AS v
FROM generate_series(1, 60) g;

-- the same data, options and seed: float4 and bit (written unquoted, the
-- grammar reads it as the type's name, which the option takes too)
CREATE INDEX bc_float_idx ON bc_float USING hnsw (v) WITH (m = 8, ef_construction = 32);
CREATE INDEX bc_bit_idx ON bc_bit USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = bit);
SELECT * FROM hnsw_verify('bc_bit_idx');
SELECT storage, format_version FROM hnsw_index_info('bc_bit_idx');

-- the elements hold codes: 96 dimensions rotated, 12 bytes of bits and a
-- 48-byte header (which holds the two terms); the values (408 bytes each)
-- are in chunk tuples
SELECT kind, count(*), min(value_bytes), max(value_bytes)
FROM generate_series(1, pg_relation_size('bc_bit_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('bc_bit_idx', b)
WHERE kind IN ('element', 'chunk') GROUP BY kind ORDER BY kind;

-- recall@10 of an index at an ef_search and re-rank depth
CREATE FUNCTION bc_recall(idx regclass, ef int, depth int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	r float8;
BEGIN
	PERFORM set_config('hnsw.rerank_depth', depth::text, true);
	SELECT avg(recall) INTO r FROM bc_queries s, LATERAL hnsw_measure_recall(idx, s.v, 10, ef);
	RETURN r;
END
$$;
-- by default a search keeps four times ef_search candidates and ranks
-- them all again (at ef_search 10 here that was not enough: 0.85 against
-- float4's 0.93); with as many as float4 keeps it finds fewer (the
-- estimates are rough), and more candidates find more
SELECT ef, b >= f - 0.02 AS near_float4, b >= 0.9 AS at_least_0_9
FROM (SELECT ef, bc_recall('bc_bit_idx', ef, 0) AS b, bc_recall('bc_float_idx', ef, 0) AS f
	  FROM unnest(ARRAY[20, 40]) ef) r
ORDER BY ef;
SELECT bc_recall('bc_bit_idx', 10, 10) < bc_recall('bc_bit_idx', 10, 20) AS deeper_finds_more,
	   bc_recall('bc_bit_idx', 10, 20) < bc_recall('bc_bit_idx', 10, 80) AS deeper_still;

-- the scan nodes of a query's plan
CREATE FUNCTION bc_scans(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
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

-- what a scan returns is exact: each distance is the row's own, and they
-- come in order
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_sort = off;
SELECT bc_scans('SELECT id FROM bc_bit ORDER BY v <-> (SELECT v FROM bc_queries WHERE qid = 1) LIMIT 10');
CREATE TEMP TABLE bc_rows AS
SELECT s.qid, r.n, r.id, r.d
FROM bc_queries s,
	 LATERAL (SELECT row_number() OVER () AS n, id, d FROM
			  (SELECT id, v <-> s.v AS d FROM bc_bit ORDER BY v <-> s.v LIMIT 10) x) r;
-- and an iterative scan past the first search's candidates too
SET hnsw.iterative_scan = strict_order;
CREATE TEMP TABLE bc_long AS
SELECT row_number() OVER () AS n, id, d FROM
	(SELECT id, v <-> (SELECT v FROM bc_queries WHERE qid = 2) AS d FROM bc_bit
	 ORDER BY v <-> (SELECT v FROM bc_queries WHERE qid = 2) LIMIT 300) x;
SELECT searches > 1 AS searched_on FROM hnsw_last_scan();
RESET hnsw.iterative_scan;
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_sort;
SELECT count(*) AS rows,
	   bool_and(r.d = (t.v <-> s.v)) AS exact_distances,
	   bool_and(r.d >= coalesce((SELECT p.d FROM bc_rows p WHERE p.qid = r.qid AND p.n = r.n - 1), 0)) AS ordered
FROM bc_rows r JOIN bc_bit t USING (id) JOIN bc_queries s USING (qid);
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_rows,
	   bool_and(l.d >= coalesce((SELECT p.d FROM bc_long p WHERE p.n = l.n - 1), 0)) AS ordered
FROM bc_long l;

-- cosine and inner product against float4, at ef_search 20
CREATE FUNCTION bc_near(opclass text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	f float8;
	b float8;
BEGIN
	EXECUTE format('CREATE INDEX bc_float_x ON bc_float USING hnsw (v %s) WITH (m = 8, ef_construction = 32)', opclass);
	EXECUTE format('CREATE INDEX bc_bit_x ON bc_bit USING hnsw (v %s) WITH (m = 8, ef_construction = 32, storage = bit)', opclass);
	SELECT avg(recall) INTO f FROM bc_queries s, LATERAL hnsw_measure_recall('bc_float_x', s.v, 10, 20);
	SELECT avg(recall) INTO b FROM bc_queries s, LATERAL hnsw_measure_recall('bc_bit_x', s.v, 10, 20);
	DROP INDEX bc_float_x;
	DROP INDEX bc_bit_x;
	RETURN b >= f - 0.02;
END
$$;
SELECT opclass, bc_near(opclass) AS near_float4
FROM unnest(ARRAY['float4_cosine_ops', 'float4_ip_ops']) opclass ORDER BY 1;
DROP FUNCTION bc_near(text);

DROP INDEX bc_float_idx;

-- values far from the centre: each is found first by its own vector
INSERT INTO bc_bit SELECT 10000 + i,
	ARRAY(SELECT ((random() * 2 - 1) * (5 + i))::real FROM generate_series(1, 96 + 0 * i))
FROM generate_series(1, 8) i;
SELECT count(*) FILTER (WHERE (SELECT t.id FROM bc_bit t ORDER BY t.v <-> o.v LIMIT 1) = o.id) AS found,
	   count(*) AS far
FROM bc_bit o WHERE id > 10000;
SELECT * FROM hnsw_verify('bc_bit_idx');

-- deletes and VACUUM: the elements go with the chunks of their values
CREATE TEMP TABLE bc_chunks AS
SELECT count(*) AS chunks, (SELECT count(*) FROM bc_bit WHERE id % 4 = 0) AS doomed
FROM generate_series(1, pg_relation_size('bc_bit_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('bc_bit_idx', b) WHERE kind = 'chunk';
DELETE FROM bc_bit WHERE id % 4 = 0;
VACUUM bc_bit;
SELECT c.chunks - count(*) AS chunks_removed, c.doomed AS rows_deleted
FROM generate_series(1, pg_relation_size('bc_bit_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('bc_bit_idx', b), bc_chunks c
WHERE kind = 'chunk' GROUP BY c.chunks, c.doomed;
SELECT * FROM hnsw_verify('bc_bit_idx');
SELECT elements, live, dead, unreachable FROM hnsw_index_health('bc_bit_idx');
SELECT avg(recall) >= 0.9 AS recall_after_vacuum
FROM bc_queries s, LATERAL hnsw_measure_recall('bc_bit_idx', s.v, 10, 20);
-- values near the largest float, whose codes' terms must not overflow
-- (nor the estimates from them): each is found first by its own vector
-- (their distances to the other rows overflow the distance operator, so
-- they go again at once)
INSERT INTO bc_bit SELECT 10008 + i,
	ARRAY(SELECT (CASE WHEN d <= i THEN 3e38 * (-1) ^ d ELSE 0.5 END)::real FROM generate_series(1, 96) d)
FROM generate_series(1, 3) i;
SELECT count(*) FILTER (WHERE (SELECT t.id FROM bc_bit t ORDER BY t.v <-> o.v LIMIT 1) = o.id) AS found,
	   count(*) AS near_float_max
FROM bc_bit o WHERE id > 10008;
DELETE FROM bc_bit WHERE id > 10008;

-- a build over maintenance_work_mem (the rows after the graph was written
-- go in as inserts, coded around the centre of the rows before), and a
-- parallel build (the leader learns the centre from the shared graph)
SET maintenance_work_mem = '1MB';
CREATE INDEX bc_float_mem ON bc_float USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = bit);
RESET maintenance_work_mem;
VACUUM bc_float;
SELECT * FROM hnsw_verify('bc_float_mem');
SELECT avg(recall) >= 0.9 AS recall_over_work_mem
FROM bc_queries s, LATERAL hnsw_measure_recall('bc_float_mem', s.v, 10, 20);
DROP INDEX bc_float_mem;
ALTER TABLE bc_float SET (parallel_workers = 2);
SET max_parallel_maintenance_workers = 2;
CREATE INDEX bc_float_par ON bc_float USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = bit);
SET max_parallel_maintenance_workers = 0;
ALTER TABLE bc_float RESET (parallel_workers);
SELECT * FROM hnsw_verify('bc_float_par');
SELECT avg(recall) >= 0.9 AS recall_parallel
FROM bc_queries s, LATERAL hnsw_measure_recall('bc_float_par', s.v, 10, 20);
DROP INDEX bc_float_par;

-- a filter column: quals that few rows pass are ranked from the filter
-- directory, others walk the graph; either way the candidates are ranked
-- by their values, and only matching rows come back.  (A table of its
-- own, without the dead rows an UPDATE leaves: a build while another
-- session's snapshot still sees them indexes them, and the recall of the
-- walk below fell to 0.75 that way.)
CREATE TABLE bc_grp AS SELECT *, id % 10 AS grp FROM bc_float;
CREATE INDEX bc_float_grp ON bc_grp USING hnsw (v, grp) WITH (m = 8, ef_construction = 32, storage = bit);
SELECT quals, avg(recall) >= 0.9 AS recall_0_9
FROM unnest(ARRAY['grp = 3', 'grp IN (1, 2, 3, 4, 5, 6, 7)']) quals,
	 LATERAL (SELECT r.recall FROM bc_queries s,
			  LATERAL hnsw_measure_recall('bc_float_grp', s.v, 10, 40, quals) r) m
GROUP BY quals ORDER BY quals;
SET enable_seqscan = off;
SELECT count(*) AS rows, bool_and(grp = 3) AS all_match,
	   bool_and(d >= coalesce(prev, 0)) AS ordered
FROM (SELECT grp, d, lag(d) OVER (ORDER BY n) AS prev FROM
	  (SELECT row_number() OVER () AS n, grp, d FROM
	   (SELECT grp, v <-> (SELECT v FROM bc_queries WHERE qid = 5) AS d FROM bc_grp WHERE grp = 3
		ORDER BY v <-> (SELECT v FROM bc_queries WHERE qid = 5) LIMIT 50) x) y) z;
SELECT directory_searches, rows_reranked > 0 AS reranked FROM hnsw_last_scan();
RESET enable_seqscan;
DROP INDEX bc_float_grp;

-- 3,072 dimensions: the bit code, 432 bytes, fits its element whole
CREATE TABLE bc_wide (id int, v real[]);
INSERT INTO bc_wide SELECT i, ARRAY(SELECT random()::real FROM generate_series(1, 3072 + 0 * i))
FROM generate_series(1, 60) i;
CREATE INDEX bc_wide_idx ON bc_wide USING hnsw (v) WITH (storage = bit);
SELECT kind, count(*), max(value_bytes)
FROM generate_series(1, pg_relation_size('bc_wide_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('bc_wide_idx', b)
WHERE kind = 'element' GROUP BY kind;
SELECT count(*) FILTER (WHERE (SELECT t.id FROM bc_wide t ORDER BY t.v <-> o.v LIMIT 1) = o.id) AS found_self
FROM bc_wide o;
SELECT * FROM hnsw_verify('bc_wide_idx');

-- built on an empty table: no centre to learn, so float4 values (with a
-- notice) until REINDEX, which learns it
CREATE TABLE bc_empty (id int, v real[]);
CREATE INDEX bc_empty_idx ON bc_empty USING hnsw (v) WITH (storage = 'bit');
SELECT storage FROM hnsw_index_info('bc_empty_idx');
INSERT INTO bc_empty SELECT id, v FROM bc_float WHERE id <= 300;
REINDEX INDEX bc_empty_idx;
SELECT storage FROM hnsw_index_info('bc_empty_idx');
SELECT count(*) FILTER (WHERE (SELECT t.id FROM bc_empty t ORDER BY t.v <-> o.v LIMIT 1) = o.id) AS found_self
FROM bc_empty o;
SELECT * FROM hnsw_verify('bc_empty_idx');

-- storage bit takes real[] and float8[] with L2, cosine and inner product
-- only (float8[] is accepted here: hnsw_float8codes)
CREATE TABLE bc_other (b bit(16), d float8[], v real[]);
CREATE INDEX ON bc_other USING hnsw (v float4_l1_ops) WITH (storage = bit);
CREATE INDEX ON bc_other USING hnsw (b) WITH (storage = bit);
CREATE INDEX ON bc_other USING hnsw (d) WITH (storage = bit);
CREATE INDEX ON bc_other USING hnsw (v) WITH (storage = bits);

DROP TABLE bc_centres, bc_float, bc_grp, bc_bit, bc_queries, bc_wide, bc_empty, bc_other;
DROP FUNCTION bc_scans(text);
DROP FUNCTION bc_recall(regclass, int, int);
