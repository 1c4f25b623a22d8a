-- The index: options, planning, NULLs, inserts, VACUUM, errors.

SET client_min_messages = warning;
SELECT setseed(0.25);
CREATE TABLE items (id int PRIMARY KEY, v real[]);
INSERT INTO items
	SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 8))
	FROM generate_series(1, 1000) i;
INSERT INTO items VALUES (1001, NULL);

-- operator classes are valid
SELECT opcname, amvalidate(opc.oid)
FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
WHERE amname = 'hnsw' ORDER BY opcname;

-- reloptions: bounds, unknown names
CREATE INDEX ON items USING hnsw (v) WITH (m = 1);
CREATE INDEX ON items USING hnsw (v) WITH (m = 101);
CREATE INDEX ON items USING hnsw (v) WITH (ef_construction = 3);
CREATE INDEX ON items USING hnsw (v) WITH (ef_construction = 1001);
CREATE INDEX ON items USING hnsw (v) WITH (colour = 1);
-- (a second column is a filter column: see hnsw_filter)
CREATE INDEX items_v_id_idx ON items USING hnsw (v, id);
DROP INDEX items_v_id_idx;
CREATE UNIQUE INDEX ON items USING hnsw (v);
CREATE INDEX ON items USING hnsw (id);

CREATE INDEX items_v_idx ON items USING hnsw (v) WITH (m = 8, ef_construction = 40);
\d items

-- the index serves ORDER BY ... LIMIT, and only that (on a table this
-- small a sort is cheaper unless seq scans are off; see hnsw_recall)
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '{0,0,0,0,0,0,0,0}' LIMIT 5;
-- (PostgreSQL 18 marks a disabled seq scan "Disabled": expected/hnsw_index_1.out)
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE v <-> '{0,0,0,0,0,0,0,0}' < 1;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <=> '{1,0,0,0,0,0,0,0}' LIMIT 5;

-- exact answers for the nearest rows: an element's own vector is at distance 0
SELECT id, v <-> (SELECT v FROM items WHERE id = 42) AS d
FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 42) LIMIT 1;

-- NULLs are not indexed; a NULL query finds nothing through the index
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> (SELECT NULL::real[]) LIMIT 5) s;
-- a scan returns ef_search rows, or with iterative scans (the default) all
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '{1,1,1,1,1,1,1,1}' LIMIT 2000) s;
SET hnsw.iterative_scan = off;
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '{1,1,1,1,1,1,1,1}' LIMIT 2000) s;
SET hnsw.ef_search = 1000;
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '{1,1,1,1,1,1,1,1}' LIMIT 2000) s;
RESET hnsw.ef_search;
RESET hnsw.iterative_scan;

-- the results come in distance order
SELECT bool_and(d >= prev) AS ordered FROM (
	SELECT d, lag(d, 1, 0.0) OVER () AS prev FROM (
		SELECT v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' AS d FROM items
		ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 40) s) s;

-- query checks: dimension, NaN, empty
SELECT id FROM items ORDER BY v <-> '{1,2,3}' LIMIT 1;
SELECT id FROM items ORDER BY v <-> '{1,2,3,4,5,6,7,NaN}' LIMIT 1;
SELECT id FROM items ORDER BY v <-> '{}' LIMIT 1;

-- inserts after the build are found; bad rows are refused
INSERT INTO items VALUES (2001, '{9,9,9,9,9,9,9,9}');
SELECT id FROM items ORDER BY v <-> '{9,9,9,9,9,9,9,9}' LIMIT 1;
INSERT INTO items VALUES (2002, '{1,2,3}');
INSERT INTO items VALUES (2003, '{1,2,3,4,5,6,7,Infinity}');
INSERT INTO items VALUES (2004, '{1,2,3,4,5,6,7,NULL}');
INSERT INTO items VALUES (2005, '{}');

-- deleted rows are never returned, and VACUUM gives their space back
DELETE FROM items WHERE id = 2001;
SELECT id FROM items ORDER BY v <-> '{9,9,9,9,9,9,9,9}' LIMIT 1;
SELECT pg_relation_size('items_v_idx') AS size_before \gset
DELETE FROM items WHERE id % 2 = 0;
VACUUM items;
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '{0,0,0,0,0,0,0,0}' LIMIT 1000) s
WHERE id % 2 = 0;
INSERT INTO items
	SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 8))
	FROM generate_series(3000, 3499) i;
-- (freed space is reused; only fragments at page ends are left over)
SELECT pg_relation_size('items_v_idx') <= :size_before * 1.1 AS space_reused;
SELECT id, v <-> (SELECT v FROM items WHERE id = 3333) AS d
FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 3333) LIMIT 1;

-- repeated delete / VACUUM / insert cycles reuse the space
\set cycle 'DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT 250); VACUUM items; INSERT INTO items SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 8)) FROM generate_series((SELECT max(id) + 1 FROM items), (SELECT max(id) + 250 FROM items)) i;'
:cycle
:cycle
:cycle
:cycle
:cycle
SELECT pg_relation_size('items_v_idx') <= :size_before * 1.2 AS size_stays_bounded;
SELECT * FROM hnsw_verify('items_v_idx');
SELECT * FROM hnsw_verify('items_pkey');
SELECT * FROM hnsw_verify('items');
-- a relation that does not exist, and an index of a table the role may not read
SELECT * FROM hnsw_verify(0);
CREATE ROLE hnsw_nobody;
SET ROLE hnsw_nobody;
SELECT * FROM hnsw_verify('items_v_idx');
SELECT * FROM hnsw_index_info('items_v_idx');
RESET ROLE;
DROP ROLE hnsw_nobody;

-- delete everything: the index is empty but usable
DELETE FROM items;
VACUUM items;
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '{0,0,0,0,0,0,0,0}' LIMIT 5) s;
INSERT INTO items VALUES (1, '{1,1,1,1,1,1,1,1}'), (2, '{2,2,2,2,2,2,2,2}');
SELECT id FROM items ORDER BY v <-> '{0,0,0,0,0,0,0,0}' LIMIT 5;
SELECT * FROM hnsw_verify('items_v_idx');

-- REINDEX, CREATE INDEX CONCURRENTLY
REINDEX INDEX items_v_idx;
CREATE INDEX CONCURRENTLY items_v_idx2 ON items USING hnsw (v float4_l1_ops);
SELECT id FROM items ORDER BY v <+> '{2,2,2,2,2,2,2,1}' LIMIT 1;
DROP INDEX items_v_idx2;

-- an empty table, then the first insert fixes the dimension
CREATE TABLE empty_t (v real[]);
CREATE INDEX ON empty_t USING hnsw (v);
INSERT INTO empty_t VALUES ('{1,2,3}');
INSERT INTO empty_t VALUES ('{1,2}');
SELECT v FROM empty_t ORDER BY v <-> '{1,2,4}' LIMIT 1;
-- a build stops at the first vector of another dimension
CREATE TABLE mixed (v real[]);
INSERT INTO mixed VALUES ('{1,2,3}'), ('{1,2}');
CREATE INDEX ON mixed USING hnsw (v);

-- values too large for a page are stored in chunks (see hnsw_large)
CREATE TABLE wide (v real[]);
INSERT INTO wide VALUES (array_fill(1::real, ARRAY[2100]));
CREATE INDEX wide_v_idx ON wide USING hnsw (v);
SELECT dimensions, elements FROM hnsw_index_info('wide_v_idx');

-- cosine: zero vectors are not indexed
CREATE TABLE cos_t (id int, v real[]);
INSERT INTO cos_t VALUES (1, '{0,0}'), (2, '{1,0}'), (3, '{0,1}'), (4, '{1,1}');
CREATE INDEX ON cos_t USING hnsw (v float4_cosine_ops);
SELECT id FROM cos_t ORDER BY v <=> '{1,0.1}' LIMIT 10;
SELECT id FROM cos_t ORDER BY v <=> '{0,0}' LIMIT 10;

-- bit strings and integer arrays
CREATE TABLE bits (id int, b bit(8), vb varbit, tags int4[]);
INSERT INTO bits VALUES
	(1, B'00000000', B'0001', '{1,2,3}'),
	(2, B'00001111', B'0011', '{3,4,5}'),
	(3, B'11111111', B'0111', '{5,6,7}');
CREATE INDEX ON bits USING hnsw (b);
CREATE INDEX ON bits USING hnsw (b bit_jaccard_ops);
CREATE INDEX ON bits USING hnsw (vb);
CREATE INDEX ON bits USING hnsw (tags int4_jaccard_ops);
CREATE INDEX ON bits USING hnsw (tags int4_hamming_ops);
SELECT id FROM bits ORDER BY b <~> B'00000111' LIMIT 1;
SELECT id FROM bits ORDER BY b <%> B'11110000' LIMIT 1;
SELECT id FROM bits ORDER BY vb <~> B'0110' LIMIT 1;
SELECT id FROM bits ORDER BY tags <%> '{7,6,6}' LIMIT 1;
SELECT id FROM bits ORDER BY tags <~> '{3,4,9}' LIMIT 1;
SELECT id FROM bits ORDER BY b <~> B'0000011' LIMIT 1;

-- unlogged tables
CREATE UNLOGGED TABLE unlogged_t (id int, v real[]);
CREATE INDEX ON unlogged_t USING hnsw (v);
INSERT INTO unlogged_t SELECT i, ARRAY[i, i]::real[] FROM generate_series(1, 100) i;
SELECT id FROM unlogged_t ORDER BY v <-> '{50.2,50.2}' LIMIT 3;

-- a build larger than maintenance_work_mem goes on on disk
SET client_min_messages = notice;
SET maintenance_work_mem = '1MB';
CREATE TABLE big (id int, v real[]);
INSERT INTO big SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 64))
	FROM generate_series(1, 3000) i;
CREATE INDEX ON big USING hnsw (v);
RESET maintenance_work_mem;
SELECT id, v <-> (SELECT v FROM big WHERE id = 2999) AS d
FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 2999) LIMIT 1;
SET client_min_messages = warning;

-- a parallel build: the leader and two workers insert into one shared
-- graph (parallel_workers makes the planner give workers to a small table)
ALTER TABLE big SET (parallel_workers = 2);
SET max_parallel_maintenance_workers = 2;
CREATE INDEX big_parallel_idx ON big USING hnsw (v);
SELECT count(*) AS structural_problems FROM hnsw_verify('big_parallel_idx')
WHERE problem NOT LIKE '%cannot be reached%';
SET enable_seqscan = off;
SET hnsw.ef_search = 100;
SELECT count(*) FILTER (WHERE b.id = (SELECT id FROM big c ORDER BY c.v <-> b.v LIMIT 1)) >= 2990
	AS found_by_own_vector
FROM big b;
-- the workers took part: each draws levels from a seed of its own, so the
-- levels differ from those of a build in one process, which a leader
-- working alone would draw again, seed for seed and row for row
CREATE TEMP TABLE parallel_levels AS
	SELECT array_agg(layer ORDER BY heap_tid, layer) AS levels FROM hnsw_graph('big_parallel_idx');
SET max_parallel_maintenance_workers = 0;
CREATE INDEX big_serial_idx ON big USING hnsw (v);
SELECT (SELECT levels FROM parallel_levels) IS DISTINCT FROM
	(SELECT array_agg(layer ORDER BY heap_tid, layer) FROM hnsw_graph('big_serial_idx'))
	AS workers_took_part;
-- (and the one-process build draws the same levels again: the comparison
-- above can tell)
CREATE INDEX big_serial_again_idx ON big USING hnsw (v);
SELECT (SELECT array_agg(layer ORDER BY heap_tid, layer) FROM hnsw_graph('big_serial_idx')) =
	(SELECT array_agg(layer ORDER BY heap_tid, layer) FROM hnsw_graph('big_serial_again_idx'))
	AS one_process_builds_repeat;
DROP INDEX big_serial_idx, big_serial_again_idx;
SET max_parallel_maintenance_workers = 2;
-- REINDEX CONCURRENTLY builds a new index beside the old one and swaps
-- them: the new one verifies clean and answers
REINDEX INDEX CONCURRENTLY big_parallel_idx;
SELECT count(*) AS structural_problems FROM hnsw_verify('big_parallel_idx')
WHERE problem NOT LIKE '%cannot be reached%';
SELECT count(*) FILTER (WHERE b.id = (SELECT id FROM big c ORDER BY c.v <-> b.v LIMIT 1)) >= 2990
	AS found_by_own_vector_after_reindex_concurrently
FROM big b;
-- and one that outgrows its shared memory on the way (NOTICE from any
-- participant, with a count that depends on timing)
SET maintenance_work_mem = '1MB';
DROP INDEX big_parallel_idx;
CREATE INDEX big_parallel_idx ON big USING hnsw (v);
RESET maintenance_work_mem;
SELECT count(*) AS structural_problems FROM hnsw_verify('big_parallel_idx')
WHERE problem NOT LIKE '%cannot be reached%';
SELECT count(*) FILTER (WHERE b.id = (SELECT id FROM big c ORDER BY c.v <-> b.v LIMIT 1)) >= 2990
	AS found_by_own_vector
FROM big b;
RESET enable_seqscan;
RESET hnsw.ef_search;
RESET max_parallel_maintenance_workers;

-- A table of 1,500 rows: a search visits fewer elements than a sequential
-- scan reads rows, and computes each distance in the page with a kernel
-- where the scan calls the operator's function on each row (detoasting
-- large vectors first), so the planner takes the index without being asked
-- (pricing a visit's distance as the function made it sort the rows)
CREATE TABLE small (id int, v real[]);
SELECT setseed(0.3);
INSERT INTO small SELECT i, ARRAY(SELECT random()::real FROM generate_series(1, 16 + 0 * i))
FROM generate_series(1, 1500) i;
CREATE INDEX ON small USING hnsw (v);
ANALYZE small;
SET plan_cache_mode = force_generic_plan;
PREPARE small_knn(real[]) AS SELECT id FROM small ORDER BY v <-> $1 LIMIT 10;
EXPLAIN (COSTS OFF) EXECUTE small_knn(array_fill(0.5::real, ARRAY[16]));
DEALLOCATE small_knn;
RESET plan_cache_mode;
DROP TABLE small;

-- a distance of the user's own, written in SQL, through an operator class
CREATE FUNCTION my_squared_l2(a real[], b real[]) RETURNS float8
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	AS $$ SELECT sum((x - y) * (x - y))::float8 FROM unnest(a, b) AS u(x, y) $$;
CREATE OPERATOR <<->> (LEFTARG = real[], RIGHTARG = real[], FUNCTION = my_squared_l2);
CREATE OPERATOR CLASS my_squared_l2_ops FOR TYPE real[] USING hnsw AS
	OPERATOR 1 <<->> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 my_squared_l2(real[], real[]);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'my_squared_l2_ops';
CREATE TABLE custom (id int, v real[]);
INSERT INTO custom SELECT i, ARRAY[i % 10, i / 10]::real[] FROM generate_series(0, 99) i;
CREATE INDEX ON custom USING hnsw (v my_squared_l2_ops);
-- (100 rows: a sort of them all is cheaper, so ask for the index)
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM custom ORDER BY v <<->> '{3.1,4.2}' LIMIT 3;
SELECT id, v <<->> '{3.1,4.2}' AS d FROM custom ORDER BY v <<->> '{3.1,4.2}' LIMIT 3;
RESET enable_seqscan;

-- an operator class that is not one: amvalidate says why
CREATE OPERATOR CLASS bad_ops FOR TYPE real[] USING hnsw AS
	OPERATOR 1 <-> (real[], real[]) FOR ORDER BY float_ops;
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'bad_ops';
RESET enable_seqscan;
