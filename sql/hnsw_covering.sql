-- Index-only scans: an hnsw element stores the value itself and the filter
-- and INCLUDE columns, so a query that needs only those reads neither the
-- heap (on all-visible pages) nor its TOAST table.
SET client_min_messages = warning;
SELECT setseed(0.57);
CREATE TABLE cov (id int, grp int, name text, meta jsonb, v real[]);
INSERT INTO cov
SELECT i, i % 10, 'name' || i, jsonb_build_object('i', i),
	ARRAY(SELECT random() + 0 * i FROM generate_series(1, 8))::real[]
FROM generate_series(1, 2000) i;
-- NULLs in INCLUDE columns come back as NULLs
INSERT INTO cov (id, v) VALUES (0, '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}');
CREATE INDEX cov_idx ON cov USING hnsw (v) INCLUDE (id, name, meta);
-- INCLUDE columns are not searched: no filter directory, as without them
SELECT m.flags_directory
FROM (SELECT count(*) > 0 AS flags_directory
	  FROM generate_series(1, (hnsw_index_info('cov_idx')).pages - 1) b,
		   hnsw_page_items('cov_idx', b) WHERE kind = 'directory') m;
SELECT count(*) AS problems FROM hnsw_verify('cov_idx');
VACUUM ANALYZE cov;
SET enable_seqscan = off;
SET enable_bitmapscan = off;

-- the planner asks for an index-only scan when the query needs only the
-- index's columns; every heap page is all-visible after VACUUM
EXPLAIN (COSTS OFF) SELECT id, name FROM cov
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 5;
-- (PostgreSQL 18's EXPLAIN ANALYZE prints rows with two decimals and the
-- scan's "Index Searches", and its EXPLAIN names an InitPlan's value
-- "(InitPlan 1).col1" and marks a disabled scan "Disabled": its output is
-- expected/hnsw_covering_1.out)
-- (explain_analyze leaves out the lines of what the graph search did,
-- which hnsw_explain tests: they depend on this graph's random levels)
CREATE FUNCTION explain_analyze(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || query
	LOOP
		IF line NOT LIKE '%Graph %' THEN
			RETURN NEXT line;
		END IF;
	END LOOP;
END
$$;
SELECT explain_analyze('SELECT id, name FROM cov
ORDER BY v <-> ''{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}'' LIMIT 5');

-- What an index-only scan returns is what an index scan of the same index
-- returns (the same rows, values and distances, in the same order), for
-- 20 queries, and the value it hands back is the row's own.
CREATE TABLE cov_queries AS
SELECT q, ARRAY(SELECT random() + 0 * q FROM generate_series(1, 8))::real[] AS v
FROM generate_series(1, 20) q;
CREATE FUNCTION cov_rows(only_index bool)
RETURNS TABLE (q int, pos bigint, id int, name text, meta jsonb, v real[], d float8)
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	SET LOCAL enable_seqscan = off;
	EXECUTE format('SET LOCAL enable_indexonlyscan = %s', only_index);
	EXECUTE format('SET LOCAL enable_indexscan = %s', NOT only_index);
	FOR r IN SELECT * FROM cov_queries ORDER BY 1 LOOP
		RETURN QUERY
		SELECT r.q, row_number() OVER (), s.* FROM (
			SELECT c.id, c.name, c.meta, c.v, c.v <-> r.v FROM cov c
			ORDER BY c.v <-> r.v LIMIT 10) s;
	END LOOP;
END $$;
EXPLAIN (COSTS OFF) SELECT id FROM cov ORDER BY v <-> (SELECT v FROM cov_queries LIMIT 1) LIMIT 10;
SELECT count(*) AS rows, count(*) FILTER (WHERE o IS NOT DISTINCT FROM i) AS same
FROM (SELECT q, pos, id, name, meta, v, d FROM cov_rows(true)) o
FULL JOIN (SELECT q, pos, id, name, meta, v, d FROM cov_rows(false)) i USING (q, pos);
-- (the table read by a sequential scan)
SET enable_seqscan = on;
SELECT count(*) AS rows, bool_and(s.v = c.v AND s.name IS NOT DISTINCT FROM c.name
	AND s.meta IS NOT DISTINCT FROM c.meta) AS own_values
FROM cov_rows(true) s JOIN cov c USING (id);
-- and they are the nearest rows (recall against an exact scan)
SELECT count(*) FILTER (WHERE e.id IS NOT NULL) >= 0.9 * count(*) AS recall_ok
FROM cov_rows(true) s
LEFT JOIN LATERAL (SELECT c.id FROM cov c, cov_queries x WHERE x.q = s.q
				   ORDER BY (c.v <-> x.v) + 0 LIMIT 10) e ON e.id = s.id;
SET enable_seqscan = off;
-- the row whose INCLUDE columns are NULL
SELECT id, name IS NULL AS name_null, meta IS NULL AS meta_null FROM cov
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 1;

-- Deleted rows: their heap pages are no longer all-visible, the executor
-- looks at the heap, and they are not returned; after VACUUM their elements
-- are gone and no heap page needs a look.
CREATE TEMP TABLE near AS
SELECT id FROM cov ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 5;
DELETE FROM cov WHERE id IN (SELECT id FROM near);
SELECT count(*) AS deleted_returned FROM (
	SELECT id FROM cov ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s
WHERE id IN (SELECT id FROM near);
VACUUM cov;
SELECT count(*) AS deleted_returned FROM (
	SELECT id FROM cov ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s
WHERE id IN (SELECT id FROM near);
SELECT explain_analyze('SELECT id FROM cov
ORDER BY v <-> ''{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}'' LIMIT 10');
-- an updated row comes back with its new INCLUDE values
UPDATE cov SET name = 'renamed' WHERE id = (
	SELECT id FROM cov ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 1);
VACUUM cov;
SELECT name FROM cov ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 1;
SELECT count(*) AS problems FROM hnsw_verify('cov_idx');

-- without ORDER BY (only when nothing else is allowed) the index hands out
-- every live row in page order, from the index alone
EXPLAIN (COSTS OFF) SELECT count(*), sum(id) FROM cov;
SELECT count(*), sum(id) FROM cov;
SET enable_seqscan = on;
SELECT count(*), sum(id) FROM cov;
SET enable_seqscan = off;

-- INCLUDE columns are not searched: a qual on one is the executor's Filter
EXPLAIN (COSTS OFF) SELECT id FROM cov WHERE name = 'name7'
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 5;

-- filter columns and INCLUDE columns together: the filter column's qual is
-- the index's, and the rows come from the index alone
CREATE INDEX cov_grp_idx ON cov USING hnsw (v, grp) INCLUDE (name);
DROP INDEX cov_idx;
VACUUM ANALYZE cov;
EXPLAIN (COSTS OFF) SELECT grp, name FROM cov WHERE grp = 3
ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 5;
SELECT count(*) AS rows, bool_and(grp = 3) AS all_match,
	bool_and(name = 'name' || id OR name = 'renamed') AS names_ok
FROM (SELECT c.id, s.grp, s.name FROM (
		SELECT grp, name FROM cov WHERE grp = 3
		ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s
	  JOIN cov c ON c.name = s.name) x;
SELECT count(*) AS problems FROM hnsw_verify('cov_grp_idx');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- Values stored out of line (in chunk tuples) come back whole
CREATE TABLE cov_big (id int, v real[]);
INSERT INTO cov_big
SELECT i, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 3000))::real[]
FROM generate_series(1, 30) i;
CREATE INDEX ON cov_big USING hnsw (v) INCLUDE (id);
VACUUM ANALYZE cov_big;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id, v FROM cov_big ORDER BY v <-> (SELECT v FROM cov_big WHERE id = 7) LIMIT 3;
CREATE TEMP TABLE big_got AS
SELECT id, v FROM cov_big ORDER BY v <-> (SELECT v FROM cov_big WHERE id = 7) LIMIT 5;
RESET enable_seqscan;
SELECT count(*) AS rows, bool_and(s.v = c.v) AS own_values
FROM big_got s JOIN cov_big c USING (id);

-- Jaccard distance on int4[] stores each set sorted and without repeats, not
-- as given: the value is read from the table, not the index
CREATE TABLE cov_sets (id int, tags int4[]);
INSERT INTO cov_sets SELECT i, ARRAY[i % 7, i % 3, i % 7] FROM generate_series(1, 200) i;
CREATE INDEX ON cov_sets USING hnsw (tags int4_jaccard_ops) INCLUDE (id);
VACUUM ANALYZE cov_sets;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id, tags FROM cov_sets ORDER BY tags <%> '{1,2}' LIMIT 3;
SELECT tags FROM cov_sets ORDER BY tags <%> '{1,2}', id LIMIT 1;
RESET enable_seqscan;

-- the size limit counts INCLUDE columns too
CREATE TABLE cov_long (v real[], note text);
CREATE INDEX ON cov_long USING hnsw (v) INCLUDE (note);
INSERT INTO cov_long
SELECT '{1,2}', string_agg(md5(i::text), '') FROM generate_series(1, 60) i;

DROP TABLE cov, cov_queries, cov_big, cov_sets, cov_long;
DROP FUNCTION cov_rows(bool);
DROP FUNCTION explain_analyze(text);
