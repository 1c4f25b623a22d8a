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

-- Every operator class: hnsw_measure_recall against the recall computed
-- by hand, for 4 queries each, on a weak graph of 500 rows of its type.
-- By hand: the index's top 10 (its plan asserted to be an index scan of
-- that index) against the exact 10th distance (no index).
CREATE FUNCTION class_values(typ text, n int) RETURNS text LANGUAGE sql AS $$
	SELECT CASE typ
		WHEN 'real[]' THEN format('ARRAY(SELECT (random() + 0.01)::real FROM generate_series(1, %s + 0 * g))', n)
		WHEN 'double precision[]' THEN format('ARRAY(SELECT random() + 0.01 FROM generate_series(1, %s + 0 * g))', n)
		WHEN 'smallint[]' THEN format('ARRAY(SELECT (random() * 20)::int2 FROM generate_series(1, %s + 0 * g))', n)
		WHEN 'integer[]' THEN format('ARRAY(SELECT (random() * 20)::int4 FROM generate_series(1, %s + 0 * g))', n)
		WHEN 'bigint[]' THEN format('ARRAY(SELECT (random() * 20)::int8 FROM generate_series(1, %s + 0 * g))', n)
		WHEN 'bit' THEN format('(SELECT string_agg(CASE WHEN random() < 0.5 THEN ''1'' ELSE ''0'' END, '''') FROM generate_series(1, %s * 4 + 0 * g))::bit(%s)', n, n * 4)
		WHEN 'bit varying' THEN format('(SELECT string_agg(CASE WHEN random() < 0.5 THEN ''1'' ELSE ''0'' END, '''') FROM generate_series(1, %s * 4 + 0 * g))::varbit', n)
		WHEN 'text' THEN 'substr(md5(random()::text), 1, 5 + (g % 4))'
	END
$$;
CREATE FUNCTION class_recall(opclass name, typ text, op text,
	OUT queries int, OUT agrees boolean, OUT index_plans boolean, OUT mean_recall float8)
LANGUAGE plpgsql AS $$
DECLARE
	coltype text := CASE typ WHEN 'bit' THEN 'bit(32)' ELSE typ END;
	query text;
	by_hand float8;
	kth float8;
	measured float8;
	plan text;
	line text;
BEGIN
	queries := 0;
	agrees := true;
	index_plans := true;
	mean_recall := 0;
	EXECUTE format('CREATE TABLE cls (id int, v %s)', coltype);
	EXECUTE format('INSERT INTO cls SELECT g, %s FROM generate_series(1, 500) g', class_values(typ, 8));
	EXECUTE format('CREATE INDEX cls_idx ON cls USING hnsw (v %I) WITH (m = 4, ef_construction = 8)', opclass);
	EXECUTE format('CREATE TABLE cls_q AS SELECT g, %s AS v FROM generate_series(1, 4) g', class_values(typ, 8));
	FOR i IN 1 .. 4
	LOOP
		query := format('(SELECT v FROM cls_q WHERE g = %s)', i);
		PERFORM set_config('enable_seqscan', 'off', true);
		PERFORM set_config('enable_bitmapscan', 'off', true);
		PERFORM set_config('enable_sort', 'off', true);
		PERFORM set_config('hnsw.ef_search', '4', true);
		plan := '';
		FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT v %s %s FROM cls ORDER BY v %s %s LIMIT 10',
								   op, query, op, query)
		LOOP
			plan := plan || line;
		END LOOP;
		index_plans := index_plans AND plan LIKE '%Index%Scan using cls_idx%';
		EXECUTE format('CREATE TEMP TABLE cls_found AS SELECT (v %s %s)::float8 AS d FROM cls ORDER BY v %s %s LIMIT 10',
					   op, query, op, query);
		PERFORM set_config('enable_seqscan', 'on', true);
		PERFORM set_config('enable_sort', 'on', true);
		PERFORM set_config('enable_indexscan', 'off', true);
		EXECUTE format('SELECT (v %s %s)::float8 FROM cls ORDER BY 1 OFFSET 9 LIMIT 1', op, query)
			INTO kth;
		PERFORM set_config('enable_indexscan', 'on', true);
		EXECUTE 'SELECT count(*) FILTER (WHERE d <= $1)::float8 / 10 FROM cls_found' INTO by_hand USING kth;
		DROP TABLE cls_found;
		EXECUTE format('SELECT recall FROM hnsw_measure_recall(''cls_idx'', %s, 10, 4)', query)
			INTO measured;
		agrees := agrees AND measured = by_hand;
		mean_recall := mean_recall + measured;
		queries := queries + 1;
	END LOOP;
	mean_recall := mean_recall / queries;
	DROP TABLE cls, cls_q;
END
$$;
SELECT c.opcname, r.queries, r.agrees, r.index_plans, r.mean_recall > 0 AS found_some
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod AND a.amname = 'hnsw'
	 JOIN pg_amop ao ON ao.amopfamily = c.opcfamily AND ao.amoppurpose = 'o'
		AND ao.amoplefttype = c.opcintype
	 JOIN pg_operator o ON o.oid = ao.amopopr,
	 LATERAL class_recall(c.opcname, format_type(c.opcintype, NULL), o.oprname) r
ORDER BY 1;
DROP FUNCTION class_recall(name, text, text);
DROP FUNCTION class_values(text, int);

-- Recall sampled in production: with hnsw.sample_recall = 1 every scan
-- is measured, and the view's mean for each kind of query is the recall
-- computed by hand above for the same queries
SELECT hnsw_stat_recall_reset();
SET hnsw.sample_recall = 1;
SET hnsw.sample_recall_max_per_second = 100000;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_sort = off;
SET hnsw.ef_search = 4;
SELECT count(*) FROM queries q, LATERAL (SELECT id FROM mon ORDER BY v <-> q.v LIMIT 10) s;
SELECT count(*) FROM queries q, LATERAL (SELECT id FROM mon WHERE grp = 2 ORDER BY v <-> q.v LIMIT 10) s;
SELECT count(*) FROM queries q, LATERAL (SELECT id FROM mon ORDER BY b <~> q.b LIMIT 10) s;
SELECT count(*) FROM queries q, LATERAL (SELECT id FROM mon ORDER BY t <~> q.t LIMIT 10) s;
SELECT r.index, r.ef_search, r.filtered, r.k, r.scans, r.skipped,
	   abs(r.mean_recall - h.mean) < 0.02 AS mean_agrees, r.lowest_recall = h.lowest AS lowest_agrees,
	   r.mean_recall < 1 AS some_missed, r.last_sample IS NOT NULL AS stamped
FROM hnsw_stat_recall r
	 JOIN (SELECT what, avg(recall) AS mean, min(recall) AS lowest FROM by_hand GROUP BY what) h
	 ON h.what = CASE r.index::text WHEN 'mon_b_idx' THEN 'hamming' WHEN 'mon_t_idx' THEN 'levenshtein'
		ELSE CASE WHEN r.filtered THEN 'l2 grp = 2' ELSE 'l2' END END
ORDER BY 1, 3;
-- the cap: none measured, each counted as skipped
SET hnsw.sample_recall_max_per_second = 0;
SELECT count(*) FROM queries q, LATERAL (SELECT id FROM mon ORDER BY b <~> q.b LIMIT 10) s;
SELECT scans, skipped FROM hnsw_stat_recall WHERE index = 'mon_b_idx'::regclass;
-- off: nothing sampled
SET hnsw.sample_recall = 0;
SET hnsw.sample_recall_max_per_second = 100000;
SELECT count(*) FROM queries q, LATERAL (SELECT id FROM mon ORDER BY b <~> q.b LIMIT 10) s;
SELECT scans, skipped FROM hnsw_stat_recall WHERE index = 'mon_b_idx'::regclass;
-- the advice reads the samples: recall 0.9 and below asks for a wider beam
SELECT advice FROM hnsw_index_health('mon_b_idx');
RESET hnsw.ef_search;
RESET hnsw.sample_recall_max_per_second;
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_sort;
-- only a superuser sets the sampling, and resets the samples by default
CREATE ROLE hnsw_monitor_user;
GRANT SELECT ON mon TO hnsw_monitor_user;
SET ROLE hnsw_monitor_user;
SET hnsw.sample_recall = 0.5;
SELECT hnsw_stat_recall_reset();
SELECT count(*) > 0 AS readable FROM hnsw_stat_recall;
RESET ROLE;
SELECT hnsw_stat_recall_reset();
SELECT count(*) FROM hnsw_stat_recall;

DROP TABLE mon, queries, by_index, kth, by_hand, by_function;
DROP ROLE hnsw_monitor_user;

-- The health of a graph: m = 2 leaves elements without in-links (see
-- hnsw_vacuum), and 300 of 3,000 rows are deleted.  Each figure is
-- computed again here from hnsw_graph(): the elements a breadth-first walk
-- from the entry point reaches, and the out-degree of live rows' elements.
SET hnsw.seed = 5;
SELECT setseed(0.75);
CREATE TABLE orph (id int, v real[]);
CREATE INDEX orph_v_idx ON orph USING hnsw (v) WITH (m = 2, ef_construction = 4);
INSERT INTO orph SELECT i, ARRAY[floor(random() * 1000), floor(random() * 1000)]::real[]
FROM generate_series(1, 3000) i;
DELETE FROM orph WHERE id % 10 = 0;
CREATE TABLE orph_graph AS SELECT * FROM hnsw_graph('orph_v_idx');
CREATE TABLE orph_reached AS
WITH RECURSIVE reach(h) AS (
	SELECT g.heap_tid FROM orph_graph g, hnsw_index_info('orph_v_idx') i
	WHERE g.element = i.entry_point AND g.layer = 0
	UNION
	SELECT n FROM reach JOIN orph_graph g ON g.heap_tid = reach.h, unnest(g.neighbor_heap_tids) n
)
SELECT h FROM reach;
SELECT h.elements, h.live, h.dead,
	   h.unreachable = (SELECT count(*) FROM orph WHERE ctid NOT IN (SELECT h FROM orph_reached)) AS unreachable_right,
	   h.unreachable > 0 AS some_unreachable,
	   h.mean_out_degree = (SELECT array_agg(d ORDER BY layer) FROM
			(SELECT layer, avg(cardinality(neighbor_heap_tids))::float8 AS d FROM orph_graph g
			 JOIN orph o ON o.ctid = g.heap_tid GROUP BY layer) x) AS mean_right,
	   h.min_out_degree = (SELECT array_agg(d ORDER BY layer) FROM
			(SELECT layer, min(cardinality(neighbor_heap_tids)) AS d FROM orph_graph g
			 JOIN orph o ON o.ctid = g.heap_tid GROUP BY layer) x) AS min_right,
	   h.free_bytes > 0 AS some_free, h.free_share < 1 AS free_share_below_1,
	   h.advice ~ '^VACUUM: 10% of the elements belong to deleted rows; VACUUM: [0-9]+ elements of visible rows cannot be reached' AS advice_right
FROM hnsw_index_health('orph_v_idx') h;
CREATE TABLE orph_free AS SELECT free_bytes FROM hnsw_index_health('orph_v_idx');
-- VACUUM removes the dead rows' elements, links the others back, and the
-- space it frees shows
VACUUM orph;
SELECT h.elements, h.live, h.dead, h.unreachable, h.free_bytes > f.free_bytes AS freed, h.advice
FROM hnsw_index_health('orph_v_idx') h, orph_free f;
CREATE INDEX orph_id_idx ON orph (id);
SELECT * FROM hnsw_index_health('orph_id_idx');
DROP TABLE orph, orph_graph, orph_reached, orph_free;
RESET hnsw.seed;
