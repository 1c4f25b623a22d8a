-- What a scan did: EXPLAIN ANALYZE's graph lines (PostgreSQL 18 on; the
-- _1 output is 15's, without them), hnsw_last_scan(), and the scans'
-- counts in pg_stat_user_indexes.
--
-- The vectors have small integer entries, so every distance is exact
-- whatever kernel computes it, and the graph (hnsw.seed, no parallel
-- workers) and each search's figures are the same on every run.
SET client_min_messages = warning;
SET hnsw.seed = 11;
SET max_parallel_maintenance_workers = 0;
SELECT setseed(0.25);
CREATE TABLE ex (id int PRIMARY KEY, cat int, v real[]);
INSERT INTO ex SELECT i, i % 10,
	ARRAY(SELECT floor(random() * 16)::real FROM generate_series(1, 6 + 0 * i))
FROM generate_series(1, 3000) i;
CREATE INDEX ex_v_idx ON ex USING hnsw (v, cat) WITH (m = 6, ef_construction = 24);
ANALYZE ex;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_sort = off;

-- before any scan: a row of NULLs
SELECT * FROM hnsw_last_scan();

-- a plain scan
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT id FROM ex ORDER BY v <-> '{8,8,8,8,8,8}' LIMIT 10;
SELECT index, ef_search, ef_search_widest, searches, rows_returned,
	   elements_visited > 0 AS visited, distances > elements_visited AS measured,
	   rows_rejected, directory_searches, value_link_searches,
	   shared_blks_hit + shared_blks_read > 0 AS pages
FROM hnsw_last_scan();

-- a beam wider than the table visits every element (all are reachable)
CREATE TABLE ex_small AS SELECT * FROM ex WHERE id <= 600;
CREATE INDEX ex_small_v_idx ON ex_small USING hnsw (v) WITH (m = 6, ef_construction = 24);
SELECT count(*) AS problems FROM hnsw_verify('ex_small_v_idx');
SET hnsw.ef_search = 1000;
SELECT count(*) FROM (SELECT id FROM ex_small ORDER BY v <-> '{8,8,8,8,8,8}' LIMIT 1) s;
SELECT index, elements_visited >= 600 AS every_element, distances >= 600 AS every_distance
FROM hnsw_last_scan();
RESET hnsw.ef_search;
DROP TABLE ex_small;

-- quals on the filter column: few rows pass, the filter directory answers
-- and each passing row is measured once
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT id FROM ex WHERE cat = 3 ORDER BY v <-> '{8,8,8,8,8,8}' LIMIT 10;
SELECT directory_searches, distances, (SELECT count(*) FROM ex WHERE cat = 3) AS passing,
	   elements_visited
FROM hnsw_last_scan();
-- the walk instead: the quals reject what they reject, counted
SET hnsw.exact_filter_rows = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT id FROM ex WHERE cat = 3 ORDER BY v <-> '{8,8,8,8,8,8}' LIMIT 10;
-- a qual no row passes rejects every element measured; one all pass, none
SELECT count(*) FROM (SELECT id FROM ex WHERE cat = 99 ORDER BY v <-> '{8,8,8,8,8,8}' LIMIT 10) s;
SELECT rows_rejected = distances AS all_rejected, rows_rejected > 0 AS some, rows_returned
FROM hnsw_last_scan();
SELECT count(*) FROM (SELECT id FROM ex WHERE cat >= 0 ORDER BY v <-> '{8,8,8,8,8,8}' LIMIT 10) s;
SELECT rows_rejected, rows_returned FROM hnsw_last_scan();
RESET hnsw.exact_filter_rows;

-- an iterative scan: each wider search counts, the beam doubling
SET hnsw.ef_search = 10;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT id FROM ex WHERE id % 7 = 0 ORDER BY v <-> '{8,8,8,8,8,8}' LIMIT 40;
SELECT searches > 1 AS widened,
	   ef_search_widest = ef_search * 2 ^ (searches - 1) AS doubled, rows_returned >= 40 AS enough
FROM hnsw_last_scan();

-- a scan rescanned in a nested loop sums its searches
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT s.id FROM (VALUES (1), (5), (9)) q(a),
	LATERAL (SELECT id FROM ex ORDER BY v <-> ARRAY[a, 8, 8, 8, 8, 8]::real[] LIMIT 3) s;
SELECT searches, rows_returned FROM hnsw_last_scan();
RESET hnsw.ef_search;

-- an index-only scan counts the same way
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT cat FROM ex ORDER BY v <-> '{8,8,8,8,8,8}' LIMIT 5;
SELECT searches, rows_returned FROM hnsw_last_scan();

-- the other formats carry the same figures as properties, and the
-- buffers with BUFFERS
CREATE FUNCTION explain_json(query text) RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ' || query INTO plan;
	RETURN plan;
END
$$;
SELECT p->'Plans'->0->>'Graph Searches' AS searches,
	   p->'Plans'->0->>'Graph Rows Rejected by Quals' AS rejected,
	   (p->'Plans'->0->>'Graph Shared Hit Blocks')::int +
	   (p->'Plans'->0->>'Graph Shared Read Blocks')::int > 0 AS pages
FROM (SELECT (j->0->'Plan') AS p FROM (SELECT explain_json(
	'SELECT id FROM ex WHERE cat = 3 ORDER BY v <-> ''{8,8,8,8,8,8}'' LIMIT 10') AS j) x) y;

-- pg_stat_user_indexes: idx_scan counts the searches, idx_tup_read the
-- rows handed out
SELECT pg_stat_force_next_flush();
CREATE TEMP TABLE before AS
SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes WHERE indexrelid = 'ex_v_idx'::regclass;
CREATE TEMP TABLE scans (searches bigint, rows bigint);
SELECT count(*) FROM (SELECT id FROM ex ORDER BY v <-> '{1,2,3,4,5,6}' LIMIT 7) s;
INSERT INTO scans SELECT searches, rows_returned FROM hnsw_last_scan();
SET hnsw.ef_search = 10;
SELECT count(*) FROM (SELECT id FROM ex WHERE id % 5 = 0 ORDER BY v <-> '{6,5,4,3,2,1}' LIMIT 30) s;
INSERT INTO scans SELECT searches, rows_returned FROM hnsw_last_scan();
RESET hnsw.ef_search;
SELECT pg_stat_force_next_flush();
SELECT s.idx_scan - b.idx_scan = (SELECT sum(searches) FROM scans) AS idx_scan_right,
	   s.idx_tup_read - b.idx_tup_read = (SELECT sum(rows) FROM scans) AS idx_tup_read_right,
	   (SELECT sum(searches) FROM scans) > 2 AS iterated
FROM pg_stat_user_indexes s, before b WHERE s.indexrelid = 'ex_v_idx'::regclass;

DROP TABLE ex;
DROP FUNCTION explain_json(text);
