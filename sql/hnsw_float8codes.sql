-- storage int8, half and bit on float8[]: the walk measures codes made
-- from the values narrowed to floats, and the candidates are ranked by the
-- exact distances of the float8 operators (in double precision) to the
-- values themselves, kept whole in chunk tuples.
--
-- Every recall here is measured by hnsw_measure_recall, which checks that
-- its plan is an index scan of the index named (one index per table).
SET client_min_messages = notice;
SET hnsw.seed = 21;
SET max_parallel_maintenance_workers = 0;
SELECT setseed(0.25);
-- 3,000 rows in 40 clusters of 32 dimensions, and 60 queries like them
CREATE TABLE f8_centres AS SELECT c,
	ARRAY(SELECT random() * 2 - 1 FROM generate_series(1, 32 + 0 * c)) AS v
FROM generate_series(0, 39) c;
CREATE TABLE f8_plain (id int PRIMARY KEY, v float8[]);
INSERT INTO f8_plain SELECT i,
	ARRAY(SELECT x + (random() + random() + random() - 1.5) * 0.4
		  FROM unnest((SELECT v FROM f8_centres WHERE c = i % 40)) x)
FROM generate_series(1, 3000) i;
CREATE TABLE f8_coded AS SELECT * FROM f8_plain;
ALTER TABLE f8_coded ADD PRIMARY KEY (id);
CREATE TABLE f8_queries AS SELECT g AS qid,
	ARRAY(SELECT x + (random() + random() + random() - 1.5) * 0.4
		  FROM unnest((SELECT v FROM f8_centres WHERE c = (g * 7) % 40)) x) AS v
FROM generate_series(1, 60) g;

-- the scan nodes of a query's plan (EXPLAIN differs between versions
-- elsewhere)
CREATE FUNCTION f8_scans(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
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

-- Each distance and storage against the float8 values themselves (storage
-- float4 of float8[] keeps them and measures them with the operator):
-- recall@10 within 0.005 of it at ef_search 10 for int8 and half, within
-- 0.02 at ef_search 20 for bit (as hnsw_bitcodes asks of real[]); every
-- row the index returns has its exact distance, in order.  Catches codes made or measured wrongly
-- from doubles (recall), and a re-rank that ranks by the codes' distances
-- or by narrowed values (exact, ordered).
CREATE FUNCTION f8_check(opclass text, op text, storage text,
						 OUT within boolean, OUT rows bigint,
						 OUT exact_distances boolean, OUT ordered boolean)
LANGUAGE plpgsql AS $$
DECLARE
	f float8;
	q float8;
	ef int := CASE WHEN storage = 'bit' THEN 20 ELSE 10 END;
BEGIN
	EXECUTE format('CREATE INDEX f8_plain_x ON f8_plain USING hnsw (v %s) WITH (m = 8, ef_construction = 32)', opclass);
	EXECUTE format('CREATE INDEX f8_coded_x ON f8_coded USING hnsw (v %s) WITH (m = 8, ef_construction = 32, storage = %s)', opclass, storage);
	SELECT avg(recall) INTO f FROM f8_queries s, LATERAL hnsw_measure_recall('f8_plain_x', s.v, 10, ef);
	SELECT avg(recall) INTO q FROM f8_queries s, LATERAL hnsw_measure_recall('f8_coded_x', s.v, 10, ef);
	within := q >= f - CASE WHEN storage = 'bit' THEN 0.02 ELSE 0.005 END;
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	SET LOCAL enable_sort = off;
	EXECUTE format($q$
		SELECT count(*), bool_and(r.d = (t.v %1$s s.v)),
			   bool_and(r.d >= coalesce(r.prev, '-Infinity'))
		FROM f8_queries s,
			 LATERAL (SELECT id, d, lag(d) OVER (ORDER BY n) AS prev FROM
					  (SELECT row_number() OVER () AS n, id, d FROM
					   (SELECT id, v %1$s s.v AS d FROM f8_coded ORDER BY v %1$s s.v LIMIT 10) x) y) r
			 JOIN f8_coded t ON t.id = r.id$q$, op)
		INTO rows, exact_distances, ordered;
	DROP INDEX f8_plain_x;
	DROP INDEX f8_coded_x;
END
$$;
SELECT opclass, storage, r.*
FROM (VALUES ('float8_l2_ops', '<->', 'int8'), ('float8_l2_ops', '<->', 'half'),
			 ('float8_l2_ops', '<->', 'bit'), ('float8_cosine_ops', '<=>', 'int8'),
			 ('float8_cosine_ops', '<=>', 'bit'), ('float8_ip_ops', '<#>', 'half'),
			 ('float8_ip_ops', '<#>', 'bit'), ('float8_l1_ops', '<+>', 'int8'))
	 c(opclass, op, storage), LATERAL f8_check(opclass, op, storage) r
ORDER BY 1, 2;

-- the index used below: int8 codes of float8[], L2
CREATE INDEX f8_idx ON f8_coded USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = int8);
SELECT storage, format_version FROM hnsw_index_info('f8_idx');
-- ALTER INDEX changes the option, not what was built: the index goes on
-- reading its codes (what follows scans it)
ALTER INDEX f8_idx SET (storage = float4);
SELECT storage FROM hnsw_index_info('f8_idx');
SELECT * FROM hnsw_verify('f8_idx');
-- the elements hold 32-byte codes; the values, 8 bytes a dimension, are in
-- chunk tuples
SELECT kind, count(*), min(value_bytes), max(value_bytes)
FROM generate_series(1, pg_relation_size('f8_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('f8_idx', b)
WHERE kind IN ('element', 'chunk') GROUP BY kind ORDER BY kind;
SET enable_seqscan = off;
SELECT f8_scans('SELECT id FROM f8_coded ORDER BY v <-> (SELECT v FROM f8_queries WHERE qid = 1) LIMIT 10');
RESET enable_seqscan;

-- Rows apart by less than a float can tell: ten copies of one row, each
-- moved by k * 1e-10 in its first dimension, added farthest first.  Their
-- codes and the query's narrowed copy are alike for all ten; only the
-- float8 distances order them, as the sequential scan does.  Catches a re-rank on narrowed values
-- (ties in an arbitrary order) or a bound that lets one out too early.
INSERT INTO f8_coded SELECT 9000 + k,
	((SELECT v[1] FROM f8_coded WHERE id = 7) + k * 1e-10) ||
	(SELECT v[2:32] FROM f8_coded WHERE id = 7)
FROM generate_series(10, 1, -1) k;
SET enable_seqscan = off;
SET hnsw.ef_search = 40;
SELECT array_agg(id) AS by_index FROM
	(SELECT id FROM f8_coded WHERE id > 9000
	 ORDER BY v <-> (SELECT v FROM f8_coded WHERE id = 7) LIMIT 10) x;
RESET enable_seqscan;
SELECT array_agg(id) AS exact FROM
	(SELECT id FROM f8_coded WHERE id > 9000
	 ORDER BY v <-> (SELECT v FROM f8_coded WHERE id = 7) LIMIT 10) x;
SELECT f8_scans('SELECT id FROM f8_coded WHERE id > 9000 ORDER BY v <-> (SELECT v FROM f8_coded WHERE id = 7) LIMIT 10');
RESET hnsw.ef_search;

-- an iterative scan past the first search's candidates: its later
-- searches walk on with the narrowed query and rank by the float8 one
SET enable_seqscan = off;
SET enable_sort = off;
SET hnsw.iterative_scan = strict_order;
SET hnsw.ef_search = 20;
CREATE TEMP TABLE f8_long AS
SELECT row_number() OVER () AS n, id, d FROM
	(SELECT id, v <-> (SELECT v FROM f8_queries WHERE qid = 2) AS d FROM f8_coded
	 ORDER BY v <-> (SELECT v FROM f8_queries WHERE qid = 2) LIMIT 300) x;
SELECT searches > 1 AS searched_on FROM hnsw_last_scan();
RESET hnsw.iterative_scan;
RESET enable_sort;
RESET enable_seqscan;
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_rows,
	   bool_and(l.d = (t.v <-> (SELECT v FROM f8_queries WHERE qid = 2))) AS exact_distances,
	   bool_and(l.d >= coalesce((SELECT p.d FROM f8_long p WHERE p.n = l.n - 1), 0)) AS ordered
FROM f8_long l JOIN f8_coded t USING (id);

-- recall sampled in production measures the float8 distances too: the
-- view's mean is the recall hnsw_measure_recall finds for the same queries
-- (at an ef_search low enough to miss some)
SET hnsw.ef_search = 4;
SELECT hnsw_stat_recall_reset();
SET hnsw.sample_recall = 1;
SET hnsw.sample_recall_max_per_second = 100000;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM f8_queries q, LATERAL (SELECT id FROM f8_coded ORDER BY v <-> q.v LIMIT 10) s;
RESET hnsw.sample_recall;
RESET hnsw.sample_recall_max_per_second;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT r.scans, abs(r.mean_recall - h.mean) < 0.02 AS mean_agrees, r.mean_recall < 1 AS some_missed
FROM hnsw_stat_recall r,
	 (SELECT avg(recall) AS mean FROM f8_queries s,
			 LATERAL hnsw_measure_recall('f8_idx', s.v, 10, current_setting('hnsw.ef_search')::int)) h
WHERE r.index = 'f8_idx'::regclass;
RESET hnsw.ef_search;

-- values beyond the frozen ranges, and beyond what a float can hold
-- (1e39): clamped for the walk, ranked exactly, each found by its own
-- vector
INSERT INTO f8_coded SELECT 10000 + i,
	ARRAY(SELECT (random() * 2 - 1) * (CASE WHEN i > 4 THEN 1e39 ELSE 1e6 * i END)
		  FROM generate_series(1, 32 + 0 * i))
FROM generate_series(1, 6) i;
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE (SELECT t.id FROM f8_coded t ORDER BY t.v <-> o.v LIMIT 1) = o.id) AS found,
	   count(*) AS beyond
FROM f8_coded o WHERE id > 10000;
RESET enable_seqscan;
SELECT * FROM hnsw_verify('f8_idx');

-- deletes and VACUUM: elements and their values' chunks go, recall stays
DELETE FROM f8_coded WHERE id % 3 = 0;
VACUUM f8_coded;
SELECT * FROM hnsw_verify('f8_idx');
SELECT avg(recall) >= 0.95 AS recall_after_vacuum
FROM f8_queries s, LATERAL hnsw_measure_recall('f8_idx', s.v, 10, 40);

-- The builds below are of a table of the rows left: a build while another
-- session's snapshot still sees deleted rows indexes them too, and the
-- recall of a walk among them varies with what else runs.  The rows far
-- out above are among them, and among the rows every build below learns
-- its ranges from: they would stretch ranges of each dimension's minimum
-- and maximum so far that all other rows share a few codes (recall 0.01
-- in the parallel build below before ranges were trimmed to the spread of
-- most values), and pull the centre of bit codes away; trimmed, recall is
-- as without them.
DROP INDEX f8_idx;
CREATE TABLE f8_live AS SELECT id, v, id % 5 AS grp FROM f8_coded;
SELECT count(*) AS far_out FROM f8_live WHERE id > 10000;

-- a build over maintenance_work_mem: the rows after the graph was written
-- go in as inserts among codes
SET maintenance_work_mem = '1MB';
CREATE INDEX f8_small_mem ON f8_live USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = half);
RESET maintenance_work_mem;
SELECT * FROM hnsw_verify('f8_small_mem');
SELECT avg(recall) >= 0.95 AS recall_small_mem
FROM f8_queries s, LATERAL hnsw_measure_recall('f8_small_mem', s.v, 10, 40);
DROP INDEX f8_small_mem;

-- bit codes, their centre learned with the rows far out
CREATE INDEX f8_bit ON f8_live USING hnsw (v) WITH (m = 8, ef_construction = 32, storage = bit);
SELECT avg(recall) >= 0.95 AS recall_bit_far_out
FROM f8_queries s, LATERAL hnsw_measure_recall('f8_bit', s.v, 10, 40);
DROP INDEX f8_bit;

-- a parallel build (the leader learns the ranges from the shared graph),
-- with a filter column: a scan for one group is answered by value links,
-- or by the filter directory (hnsw.exact_filter_rows); its rows are of the
-- group, and through the directory exactly the nearest five, in order
SET max_parallel_maintenance_workers = 2;
ALTER TABLE f8_live SET (parallel_workers = 2);
CREATE INDEX f8_grp ON f8_live USING hnsw (v, grp) WITH (m = 8, ef_construction = 32, storage = int8, filter_links = 4);
RESET max_parallel_maintenance_workers;
SELECT * FROM hnsw_verify('f8_grp');
SELECT avg(recall) >= 0.95 AS recall_parallel
FROM f8_queries s, LATERAL hnsw_measure_recall('f8_grp', s.v, 10, 40);
CREATE FUNCTION f8_group_rows(exact_rows int) RETURNS TABLE (rows bigint, all_in_group boolean, same_as_exact numeric)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SET LOCAL hnsw.exact_filter_rows = %s', exact_rows);
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	SET LOCAL hnsw.ef_search = 100;
	CREATE TEMP TABLE f8_by_index AS
	SELECT s.qid, r.n, r.id FROM f8_queries s,
		LATERAL (SELECT row_number() OVER () AS n, id FROM
				 (SELECT id FROM f8_live WHERE grp = 3 ORDER BY v <-> s.v LIMIT 5) x) r;
	RESET enable_seqscan;
	RESET enable_bitmapscan;
	SET LOCAL enable_indexscan = off;
	RETURN QUERY
	SELECT count(*), bool_and(t.grp = 3),
		   round(avg((i.id = (SELECT id FROM f8_live e WHERE e.grp = 3
								 ORDER BY e.v <-> s.v OFFSET i.n - 1 LIMIT 1))::int), 2)
	FROM f8_by_index i JOIN f8_live t USING (id) JOIN f8_queries s USING (qid);
	DROP TABLE f8_by_index;
END
$$;
-- (value links are a walk, approximate: rows no other row of the group
-- links to are missed, README's limits; the directory ranks every row)
SELECT 'value links' AS answered_by, rows, all_in_group, same_as_exact >= 0.8 AS mostly_exact
FROM f8_group_rows(0)
UNION ALL
SELECT 'directory', rows, all_in_group, same_as_exact = 1 FROM f8_group_rows(100000);
DROP INDEX f8_grp;

-- built on an empty table: no ranges, so the elements keep the float8
-- values (with a notice) until REINDEX, and rows are found all the same
CREATE TABLE f8_empty (id int, v float8[]);
CREATE INDEX f8_empty_idx ON f8_empty USING hnsw (v float8_cosine_ops) WITH (storage = int8);
INSERT INTO f8_empty SELECT id, v FROM f8_plain WHERE id <= 300;
SELECT max(value_bytes) FROM generate_series(1, pg_relation_size('f8_empty_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('f8_empty_idx', b) WHERE kind = 'element';
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE (SELECT t.id FROM f8_empty t ORDER BY t.v <=> o.v LIMIT 1) = o.id) AS found_self
FROM f8_empty o;
REINDEX INDEX f8_empty_idx;
SELECT max(value_bytes) FROM generate_series(1, pg_relation_size('f8_empty_idx') / 8192 - 1) b,
	 LATERAL hnsw_page_items('f8_empty_idx', b) WHERE kind = 'element';
SELECT count(*) FILTER (WHERE (SELECT t.id FROM f8_empty t ORDER BY t.v <=> o.v LIMIT 1) = o.id) AS found_self
FROM f8_empty o;
RESET enable_seqscan;
SELECT * FROM hnsw_verify('f8_empty_idx');

-- bad input: NaN and Infinity stay refused; bit takes no L1
INSERT INTO f8_empty VALUES (1, ARRAY['NaN'::float8, 1]);
INSERT INTO f8_empty VALUES (1, ARRAY['Infinity'::float8, 1]);
CREATE INDEX ON f8_empty USING hnsw (v float8_l1_ops) WITH (storage = bit);

DROP TABLE f8_centres, f8_plain, f8_coded, f8_live, f8_queries, f8_empty;
DROP FUNCTION f8_check(text, text, text);
DROP FUNCTION f8_group_rows(int);
DROP FUNCTION f8_scans(text);
