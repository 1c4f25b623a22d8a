-- Recall measured in SQL: hnsw_measure_recall and hnsw_measure_recall_sample.
--
-- Each measurement is checked against the same recall computed here by
-- hand: the index's top k (the plan asserted) against the exact top k,
-- ties at the k-th distance counting as hits.
SET client_min_messages = warning;
SELECT setseed(0.5);
CREATE TABLE mon (id int PRIMARY KEY, grp int, v real[], b bit(32), t text);
INSERT INTO mon SELECT i, i % 5,
	ARRAY(SELECT random()::real FROM generate_series(1, 8 + 0 * i)),
	(SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
	 FROM generate_series(1, 32 + 0 * i))::bit(32),
	substr(md5(i::text), 1, 6 + i % 4)
FROM generate_series(1, 2000) i;
-- weak graphs (m = 4, ef_construction = 8), so that recall is below 1
CREATE INDEX mon_v_idx ON mon USING hnsw (v, grp) WITH (m = 4, ef_construction = 8);
CREATE INDEX mon_b_idx ON mon USING hnsw (b) WITH (m = 4, ef_construction = 8);
CREATE INDEX mon_t_idx ON mon USING hnsw (t) WITH (m = 4, ef_construction = 8);
CREATE TABLE queries (qid int, v real[], b bit(32), t text);
INSERT INTO queries SELECT q, ARRAY(SELECT random()::real FROM generate_series(1, 8 + 0 * q)),
	(SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
	 FROM generate_series(1, 32 + 0 * q))::bit(32),
	substr(md5((q * 7)::text), 1, 8)
FROM generate_series(1, 30) q;

-- the index's answers by hand: only index scans, as the function plans them
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_sort = off;
SET hnsw.ef_search = 4;
EXPLAIN (COSTS OFF) SELECT v <-> '{0,0,0,0,0,0,0,0}' FROM mon ORDER BY v <-> '{0,0,0,0,0,0,0,0}' LIMIT 10;
CREATE TABLE by_index AS
SELECT q.qid, 'l2' AS what, s.d FROM queries q,
	LATERAL (SELECT (v <-> q.v)::float8 AS d FROM mon ORDER BY v <-> q.v LIMIT 10) s
UNION ALL
SELECT q.qid, 'l2 grp = 2', s.d FROM queries q,
	LATERAL (SELECT (v <-> q.v)::float8 AS d FROM mon WHERE grp = 2 ORDER BY v <-> q.v LIMIT 10) s
UNION ALL
SELECT q.qid, 'hamming', s.d FROM queries q,
	LATERAL (SELECT (b <~> q.b)::float8 AS d FROM mon ORDER BY b <~> q.b LIMIT 10) s
UNION ALL
SELECT q.qid, 'levenshtein', s.d FROM queries q,
	LATERAL (SELECT (t <~> q.t)::float8 AS d FROM mon ORDER BY t <~> q.t LIMIT 10) s;
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_sort;
-- and exactly: the k-th distance of each query
SET enable_indexscan = off;
CREATE TABLE kth AS
SELECT q.qid, 'l2' AS what, (SELECT (v <-> q.v)::float8 FROM mon ORDER BY 1 OFFSET 9 LIMIT 1) AS d FROM queries q
UNION ALL
SELECT q.qid, 'l2 grp = 2', (SELECT (v <-> q.v)::float8 FROM mon WHERE grp = 2 ORDER BY 1 OFFSET 9 LIMIT 1) FROM queries q
UNION ALL
SELECT q.qid, 'hamming', (SELECT (b <~> q.b)::float8 FROM mon ORDER BY 1 OFFSET 9 LIMIT 1) FROM queries q
UNION ALL
SELECT q.qid, 'levenshtein', (SELECT (t <~> q.t)::float8 FROM mon ORDER BY 1 OFFSET 9 LIMIT 1) FROM queries q;
RESET enable_indexscan;
CREATE TABLE by_hand AS
SELECT qid, what, count(*) FILTER (WHERE b.d <= k.d)::float8 / 10 AS recall
FROM by_index b JOIN kth k USING (qid, what) GROUP BY qid, what;

-- the function's, for the same queries at the same ef_search
CREATE TABLE by_function AS
SELECT q.qid, 'l2' AS what, (hnsw_measure_recall('mon_v_idx', q.v, 10, 4)).* FROM queries q
UNION ALL
SELECT q.qid, 'l2 grp = 2', (hnsw_measure_recall('mon_v_idx', q.v, 10, 4, 'grp = 2')).* FROM queries q
UNION ALL
SELECT q.qid, 'hamming', (hnsw_measure_recall('mon_b_idx', q.b, 10, 4)).* FROM queries q
UNION ALL
SELECT q.qid, 'levenshtein', (hnsw_measure_recall('mon_t_idx', q.t, 10, 4)).* FROM queries q;
-- equal for every query; the recall is not trivially 1 (but through the
-- filter column, where the filter directory ranks the 400 rows of grp 2
-- exactly); the k-th distances are the exact one and the index's own
SELECT f.what, count(*) AS queries,
	bool_and(f.recall = h.recall) AS agrees,
	round(avg(f.recall)::numeric, 3) < 1 AS some_missed,
	bool_and(f.exact_kth_distance = k.d) AS exact_kth,
	bool_and(f.index_kth_distance = (SELECT max(d) FROM by_index b WHERE b.qid = f.qid AND b.what = f.what)) AS index_kth,
	bool_and(f.index_ms >= 0 AND f.exact_ms >= 0) AS timed
FROM by_function f JOIN by_hand h USING (qid, what) JOIN kth k USING (qid, what)
GROUP BY f.what ORDER BY 1;

-- a wider search: recall no lower, and the session's setting is back
SELECT avg((hnsw_measure_recall('mon_v_idx', v, 10, 4)).recall) <=
	   avg((hnsw_measure_recall('mon_v_idx', v, 10, 100)).recall) AS wider_is_no_worse
FROM queries;
SHOW hnsw.ef_search;
SHOW enable_seqscan;
-- the session's ef_search is the default
SELECT (hnsw_measure_recall('mon_v_idx', v)).recall = (hnsw_measure_recall('mon_v_idx', v, 10, 4)).recall AS session_setting
FROM queries WHERE qid = 1;
RESET hnsw.ef_search;

-- sampled rows of the table as queries: each finds itself
SELECT queries, min_recall <= mean_recall AND mean_recall <= 1 AS ordered, min_recall > 0 AS found
FROM hnsw_measure_recall_sample('mon_v_idx', 25);
SELECT queries FROM hnsw_measure_recall_sample('mon_v_idx', 25, quals => 'grp = 9');

-- errors
SELECT * FROM hnsw_measure_recall('mon_pkey', 1);
SELECT * FROM hnsw_measure_recall('mon_v_idx', '{1,2,3,4,5,6,7,8}'::real[], 0);
SELECT * FROM hnsw_measure_recall('mon_v_idx', '{1,2,3,4,5,6,7,8}'::real[], 10, 0);
SELECT * FROM hnsw_measure_recall_sample('mon_v_idx', 0);
CREATE INDEX mon_expr_idx ON mon USING hnsw ((v || v));
SELECT * FROM hnsw_measure_recall('mon_expr_idx', '{1,2,3,4,5,6,7,8}'::real[]);

-- a query the index cannot answer (float8[] against real[]: the distance
-- is taken on the column cast) is refused, not measured on another plan
\set VERBOSITY terse
SELECT * FROM hnsw_measure_recall('mon_v_idx', '{1,2,3,4,5,6,7,8}'::float8[]);
\set VERBOSITY default

DROP TABLE mon, queries, by_index, kth, by_hand, by_function;
