-- Filter columns: quals on the columns after the first are checked while the
-- scan walks the graph, so a selective WHERE still gets its LIMIT of rows
-- without iterating, and rows that fail never reach the executor.
SET client_min_messages = warning;
SELECT setseed(0.31);
CREATE TABLE fc (id int, tenant int, big bigint, small smallint, label text,
	flag boolean, tags int4[], ltags int8[], words text[], v real[]);
INSERT INTO fc
SELECT i, i % 100, (i % 1000)::bigint * 10000000000, (i % 7)::int2,
	'label' || (i % 10), i % 3 = 0, ARRAY[i % 50, 100 + i % 20],
	ARRAY[(i % 50)::bigint], ARRAY['w' || (i % 30)],
	ARRAY(SELECT random() + 0 * i FROM generate_series(1, 8))::real[]
FROM generate_series(1, 3000) i;
-- a row with NULL filter columns is indexed, and no qual on them passes it
INSERT INTO fc (id, v) VALUES (0, '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}');
CREATE INDEX fc_idx ON fc USING hnsw (v, tenant, big, small, label, flag, tags, ltags, words);
ANALYZE fc;
SELECT a.attname, o.opcname FROM pg_index i
	JOIN pg_attribute a ON a.attrelid = i.indexrelid
	JOIN pg_opclass o ON o.oid = i.indclass[a.attnum - 1]
WHERE i.indexrelid = 'fc_idx'::regclass ORDER BY a.attnum;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
-- without iterating: what comes back is the filter columns' doing
SET hnsw.iterative_scan = off;
-- the walk of the graph; ranking from the filter directory comes below
SET hnsw.exact_filter_rows = 0;

-- EXPLAIN shows the quals the index checks as its Index Cond (= ANY goes
-- above the scan, as a Filter: see below)
EXPLAIN (COSTS OFF) SELECT id FROM fc
WHERE tenant = 7 AND label = ANY ('{label7,label8}') AND tags && '{7}'
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10;

-- For a qual: the rows the index returns (at most 10), the rows an exact
-- scan returns, how many of the exact ones the index found, whether any
-- returned row fails the qual, and whether they come in distance order.
CREATE FUNCTION fc_check(cond text, q real[])
RETURNS TABLE (n bigint, exact_n bigint, hits bigint, wrong bigint, ordered bool)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($f$
		WITH got AS (SELECT id, d, row_number() OVER () AS pos
					 FROM (SELECT id, v <-> %2$L::real[] AS d FROM fc WHERE %1$s
						   ORDER BY v <-> %2$L::real[] LIMIT 10) s),
		     exact AS (SELECT id FROM fc WHERE (%1$s) IS TRUE
					   ORDER BY (v <-> %2$L::real[]) + 0 LIMIT 10)
		SELECT (SELECT count(*) FROM got), (SELECT count(*) FROM exact),
		       (SELECT count(*) FROM got JOIN exact USING (id)),
		       (SELECT count(*) FROM got JOIN fc USING (id) WHERE (%1$s) IS NOT TRUE),
		       (SELECT coalesce(bool_and(d >= prev), true)
				FROM (SELECT d, lag(d) OVER (ORDER BY pos) AS prev FROM got) o)
	$f$, cond, q);
END $$;
CREATE FUNCTION fc_summary(cond text)
RETURNS TABLE (qual text, all_rows bool, recall_ok bool, wrong bigint, ordered bool)
LANGUAGE sql AS $$
	SELECT cond, bool_and(n = exact_n), sum(hits) >= 0.9 * sum(exact_n),
	       sum(wrong)::bigint, bool_and(ordered)
	FROM generate_series(0, 9) c,
	     fc_check(cond, ARRAY(SELECT (c + 0.5) / 10 FROM generate_series(1, 8))::real[])
$$;
SELECT s.* FROM unnest(ARRAY[
	'tenant = 7', 'tenant < 2', 'tenant <= 1', 'tenant > 98', 'tenant >= 99',
	'tenant = 7::bigint', 'big = 70000000000', 'big < 20000000000',
	'small = 3', 'small >= 6', 'label = ''label3''', 'label > ''label8''',
	'tags && ''{7}''', 'tags @> ''{7,107}''', 'tags = ''{7,107}''', 'tags <@ ''{1,2,101,102}''',
	'ltags && ''{7}''::int8[]', 'words && ''{w7}''',
	'tenant < 10 AND small = 3 AND words && ''{w1,w2}'''
]) cond, fc_summary(cond) s;

-- PostgreSQL 15 hands an ordered scan no = ANY (IN) qual on a column after
-- the first, and folds "flag = true" into "flag", which only btree and hash
-- take as an index qual: those are checked above the scan, and an iterative
-- scan still returns every row asked for.  (PostgreSQL 18 gives any index a
-- boolean column's qual as "flag = true": expected/hnsw_filter_1.out.)
EXPLAIN (COSTS OFF) SELECT id FROM fc WHERE tenant IN (1, 2) AND big < 20000000000 AND flag = true
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10;
SET hnsw.iterative_scan = strict_order;
SELECT s.* FROM unnest(ARRAY[
	'tenant = ANY (''{3,5,9}'')', 'tenant IN (1, 2)', 'big = ANY (''{0,10000000000}'')',
	'label = ANY (''{label1,label2}'')', 'flag = true', 'flag = false',
	'tenant = 7 AND flag = true'
]) cond, fc_summary(cond) s;
-- with a parameter, a boolean qual does go to the index
PREPARE fc_flag(boolean) AS SELECT id FROM fc WHERE flag = $1
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE fc_flag(true);
RESET plan_cache_mode;

-- nothing matches: the scan ends with no rows, also when iterating; a
-- NULL parameter (no row passes a strict operator) ends it without searching
SELECT count(*) FROM (SELECT id FROM fc WHERE tenant = 1000
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;
PREPARE fc_tenant(int) AS SELECT id FROM fc WHERE tenant = $1
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE fc_tenant(NULL);
EXECUTE fc_tenant(NULL);
SELECT count(*) FROM (SELECT id FROM fc WHERE tenant = ANY ('{}')
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;
RESET plan_cache_mode;
-- the cap ends an iterative scan: 30 rows match, the first search finds
-- 10, and a cap of 10 stops it there
SET hnsw.ef_search = 10;
SET hnsw.max_scan_tuples = 10;
SELECT count(*) AS capped FROM (SELECT id FROM fc WHERE tenant = 7
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 100) s;
RESET hnsw.max_scan_tuples;
RESET hnsw.ef_search;
-- iterating with filter columns: every matching row, in order
SELECT count(*) AS rows, bool_and(d >= prev) AS ordered FROM (
	SELECT d, lag(d) OVER () AS prev FROM (SELECT v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' AS d
		FROM fc WHERE tenant = 7 ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 100) s) o;
-- the row with NULL filter columns: found without quals
SELECT id FROM fc ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 1;
SET hnsw.iterative_scan = off;

-- inserts after the build, deletes and VACUUM keep the filter columns right
INSERT INTO fc
SELECT i, i % 100, (i % 1000)::bigint * 10000000000, (i % 7)::int2,
	'label' || (i % 10), i % 3 = 0, ARRAY[i % 50, 100 + i % 20],
	ARRAY[(i % 50)::bigint], ARRAY['w' || (i % 30)],
	ARRAY(SELECT random() + 0 * i FROM generate_series(1, 8))::real[]
FROM generate_series(3001, 4000) i;
DELETE FROM fc WHERE id % 4 = 0;
VACUUM fc;
SELECT s.* FROM unnest(ARRAY['tenant = 7', 'label = ''label3'' AND tags && ''{7,8,9}''',
	'words && ''{w7}'' AND flag = false']) cond, fc_summary(cond) s;
SELECT count(*) AS problems FROM hnsw_verify('fc_idx');

-- The filter directory (its first page follows the metapage, one tuple per
-- element; kept up through the inserts, deletes and VACUUM above): quals
-- that at most hnsw.exact_filter_rows rows pass are answered by ranking
-- every such row exactly, so the index returns what an exact scan does.
RESET hnsw.exact_filter_rows;
SELECT count(*) > 0 AS directory_tuples FROM hnsw_page_items('fc_idx', 1) WHERE kind = 'directory';
CREATE FUNCTION fc_exact(cond text)
RETURNS TABLE (qual text, same_rows bool, wrong bigint, ordered bool)
LANGUAGE sql AS $$
	SELECT cond, bool_and(n = exact_n AND hits = exact_n), sum(wrong)::bigint, bool_and(ordered)
	FROM generate_series(0, 9) c,
	     fc_check(cond, ARRAY(SELECT (c + 0.5) / 10 FROM generate_series(1, 8))::real[])
$$;
SELECT s.* FROM unnest(ARRAY[
	'tenant = 7', 'tenant < 2', 'big = 70000000000', 'small >= 6', 'label = ''label3''',
	'small = 3::int2', 'tenant = 5 AND small < 100000', 'big <= 5', 'tenant >= 97::bigint',
	'tags && ''{7}''', 'tags @> ''{7,107}''', 'ltags && ''{7}''::int8[]', 'words && ''{w7}''',
	'tenant < 10 AND small = 3 AND words && ''{w1,w2}'''
]) cond, fc_exact(cond) s;
-- iterating, every matching row in order; without, at most ef_search rows
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS rows, bool_and(d >= prev) AS ordered FROM (
	SELECT d, lag(d) OVER () AS prev FROM (SELECT v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' AS d
		FROM fc WHERE tenant = 7 ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 100) s) o;
SET hnsw.iterative_scan = off;
SET hnsw.ef_search = 5;
SELECT count(*) AS at_most_ef_search FROM (SELECT id FROM fc WHERE tenant = 7
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 20) s;
RESET hnsw.ef_search;
-- nothing matches: no rows.  (DEBUG1 says which way a scan went.)
SET client_min_messages = debug1;
SELECT count(*) FROM (SELECT id FROM fc WHERE tenant = 1000
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;
-- more rows than that pass: the scan gives up on the directory and walks
-- (half the rows pass: the walk finds its rows long before it has passed
-- through as many elements)
SET hnsw.exact_filter_rows = 50;
SELECT count(*) FROM (SELECT id FROM fc WHERE tenant < 50
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;
SET client_min_messages = warning;
SELECT s.* FROM fc_summary('tenant < 50') s;
-- the rows that pass lie far from the query: the walk passes through the
-- rows that fail until it has seen as many elements as rows are projected
-- to pass, then ranks the rows that pass; what comes back is what an exact
-- scan returns.  The index was built on the empty table and nothing has
-- counted its rows since, so the scan projects only the rows it has seen
-- pass (to the end of the directory page where it stopped): about 60 with
-- hnsw.exact_filter_rows 50, and 4 times that covers the 200 that pass;
-- about 30 with 20, and 4 times that does not, so the walk goes on.
CREATE TABLE ff (id int, side int, v real[]) WITH (autovacuum_enabled = false);
CREATE INDEX ff_idx ON ff USING hnsw (v, side);
INSERT INTO ff SELECT i, (i % 10 = 0)::int,
	ARRAY(SELECT random() + (i % 10 = 0)::int * 10 + 0 * j FROM generate_series(1, 8) j)::real[]
FROM generate_series(1, 2000) i;
SET client_min_messages = debug1;
\set VERBOSITY terse
CREATE TEMP TABLE ff_index AS SELECT id FROM ff WHERE side = 1
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10;
SET hnsw.exact_filter_rows = 20;
CREATE TEMP TABLE ff_walked_on AS SELECT id FROM ff WHERE side = 1
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10;
SET hnsw.exact_filter_rows = 50;
\set VERBOSITY default
SET client_min_messages = warning;
-- and iterating: 50 rows, which the walk and then the ranking give
SET hnsw.iterative_scan = strict_order;
CREATE TEMP TABLE ff_iterating AS SELECT id FROM ff WHERE side = 1
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 50;
SET hnsw.iterative_scan = off;
SET enable_indexscan = off;
SET enable_seqscan = on;
SELECT ARRAY(SELECT id FROM ff_index ORDER BY id) =
	ARRAY(SELECT id FROM (SELECT id FROM ff WHERE side = 1
		ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s ORDER BY id) AS same_as_exact,
	ARRAY(SELECT id FROM ff_walked_on ORDER BY id) =
	ARRAY(SELECT id FROM ff_index ORDER BY id) AS walked_on_same,
	ARRAY(SELECT id FROM ff_iterating ORDER BY id) =
	ARRAY(SELECT id FROM (SELECT id FROM ff WHERE side = 1
		ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 50) s ORDER BY id) AS iterating_same_as_exact;
RESET enable_indexscan;
SET enable_seqscan = off;
DROP TABLE ff;
RESET hnsw.exact_filter_rows;
-- an index without filter columns has no directory: block 1 holds elements
CREATE INDEX fc_plain ON fc USING hnsw (v);
SELECT count(*) FILTER (WHERE kind = 'directory') AS directory_tuples,
	count(*) FILTER (WHERE kind = 'element') > 0 AS elements
FROM hnsw_page_items('fc_plain', 1);
DROP INDEX fc_plain;

-- a partial index and an expression filter column
CREATE INDEX fc_partial ON fc USING hnsw (v, tenant) WHERE flag;
CREATE INDEX fc_expr ON fc USING hnsw (v, (tenant % 10));
-- (without fc_idx, which takes "flag" as a qual on PostgreSQL 18)
BEGIN;
DROP INDEX fc_idx;
EXPLAIN (COSTS OFF) SELECT id FROM fc WHERE flag AND tenant = 3
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10;
SELECT s.* FROM fc_summary('flag AND tenant = 3') s;
ROLLBACK;
DROP INDEX fc_partial;
DROP INDEX fc_idx;
EXPLAIN (COSTS OFF) SELECT id FROM fc WHERE tenant % 10 = 3
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10;
SELECT s.* FROM fc_summary('tenant % 10 = 3') s;
DROP INDEX fc_expr;
-- IN through the index: an array of the column as the filter column, and
-- && in the query
CREATE INDEX fc_in ON fc USING hnsw (v, (ARRAY[tenant]));
EXPLAIN (COSTS OFF) SELECT id FROM fc WHERE ARRAY[tenant] && '{3,5,9}'
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10;
SELECT s.* FROM fc_summary('ARRAY[tenant] && ''{3,5,9}''') s;
DROP INDEX fc_in;

-- quals on the first column itself (text's class has = < <= > >= beside
-- its Levenshtein distance) are checked on the stored value
CREATE TABLE fw (id int, w text);
INSERT INTO fw SELECT i, md5(i::text) FROM generate_series(1, 2000) i;
CREATE INDEX fw_idx ON fw USING hnsw (w);
ANALYZE fw;
EXPLAIN (COSTS OFF) SELECT id FROM fw WHERE w < '8' ORDER BY w <~> 'abcdef0123' LIMIT 5;
SELECT count(*) AS rows, bool_and(w < '8') AS all_pass
FROM (SELECT w FROM fw WHERE w < '8' ORDER BY w <~> 'abcdef0123' LIMIT 5) s;
-- without an ORDER BY the index reads its element pages in order, a scan
-- the planner picks only when nothing else is allowed (here: for a qual
-- alone, with sequential scans disabled); it finds every row that passes
EXPLAIN (COSTS OFF) SELECT count(*) FROM fw WHERE w < '8';
SELECT count(*) FROM fw WHERE w < '8';
-- the same count from the table itself
SET enable_seqscan = on;
SELECT count(*) FROM fw WHERE w || '' < '8';
SET enable_seqscan = off;
DROP TABLE fw;

-- errors: the vectors go first; filter values must be short
CREATE INDEX ON fc USING hnsw (tenant, v);
CREATE TABLE fc_long (label text, v real[]);
INSERT INTO fc_long SELECT string_agg(md5(i::text), ''), '{1,2}' FROM generate_series(1, 100) i;
CREATE INDEX ON fc_long USING hnsw (v, label);
DROP TABLE fc_long;

-- the operator classes pass amvalidate
SELECT o.opcname, amvalidate(o.oid) FROM pg_opclass o
WHERE o.opcmethod = (SELECT oid FROM pg_am WHERE amname = 'hnsw') AND o.opcname LIKE '%filter%'
ORDER BY 1;
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'text_levenshtein_ops';
DROP TABLE fc;
DROP FUNCTION fc_exact(text);
DROP FUNCTION fc_summary(text);
DROP FUNCTION fc_check(text, real[]);
