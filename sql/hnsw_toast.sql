-- Vectors kept out of line (TOAST).  SELECT ... ORDER BY v <-> q LIMIT k
-- computes v <-> q again from the table's row of every row returned; the
-- scan notes each row's distance, and the distance function answers from
-- that note instead of reading the vector from the TOAST table
-- (rowdistances.c).  Checked here: the distances are the rows' own, exactly
-- as without the index; the query reads no TOAST block; and a distance to
-- another query, or by another operator, is computed as before.
SET client_min_messages = notice;
SET hnsw.seed = 5;
SET max_parallel_maintenance_workers = 0;
SET enable_seqscan = off;
-- 300 rows of 600 real (2,400 bytes) and 300 double precision (2,400
-- bytes): both out of line, uncompressed
CREATE TABLE tt (id int PRIMARY KEY, v real[], w float8[], tag int DEFAULT 0)
	WITH (fillfactor = 50);
ALTER TABLE tt ALTER v SET STORAGE EXTERNAL, ALTER w SET STORAGE EXTERNAL;
INSERT INTO tt SELECT i,
	ARRAY(SELECT sin(i * 0.7 + j * (1 + i % 7) * 0.01)::real FROM generate_series(1, 600) j),
	ARRAY(SELECT cos(i * 0.3 + j * (1 + i % 5) * 0.02) FROM generate_series(1, 300) j)
FROM generate_series(1, 300) i;
CREATE TABLE tt_q AS SELECT
	ARRAY(SELECT sin(12.345 + j * 0.03)::real FROM generate_series(1, 600) j) AS q,
	ARRAY(SELECT sin(54.321 + j * 0.05)::real FROM generate_series(1, 600) j) AS other,
	ARRAY(SELECT cos(7.5 + j * 0.04) FROM generate_series(1, 300) j) AS q8;
VACUUM ANALYZE tt;
SELECT pg_relation_size(reltoastrelid) > 1000000 AS out_of_line
FROM pg_class WHERE oid = 'tt'::regclass;

-- blocks of tt's TOAST table and its index read in this transaction
CREATE FUNCTION tt_toast_blocks() RETURNS bigint LANGUAGE sql AS $$
	SELECT pg_stat_get_xact_blocks_fetched(c.reltoastrelid) +
		   pg_stat_get_xact_blocks_fetched(i.indexrelid)
	FROM pg_class c JOIN pg_index i ON i.indrelid = c.reltoastrelid
	WHERE c.oid = 'tt'::regclass $$;
-- the scans of a query's plan
CREATE FUNCTION tt_scans(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query
	LOOP
		IF line LIKE '%Scan%' THEN
			RETURN NEXT btrim(line, ' ->');
		END IF;
	END LOOP;
END
$$;
-- for each of the 10 rows the index scan of query returns (its select list
-- being id and a distance d), in order: does d equal the distance computed
-- without any index (from table tab), and how many TOAST blocks did the
-- query read?
CREATE FUNCTION tt_check(query text, exact text, tab text DEFAULT 'tt',
						 OUT rows bigint, OUT exact_distances bigint,
						 OUT in_order boolean, OUT toast_blocks bigint)
LANGUAGE plpgsql AS $$
DECLARE
	before bigint := tt_toast_blocks();
BEGIN
	EXECUTE 'CREATE TEMP TABLE tt_got AS ' || query;
	toast_blocks := tt_toast_blocks() - before;
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_bitmapscan = off;
	EXECUTE 'CREATE TEMP TABLE tt_exact AS SELECT id, ' || exact || ' AS d FROM ' || tab;
	SELECT count(*), count(*) FILTER (WHERE g.d = e.d)
	INTO rows, exact_distances
	FROM tt_got g JOIN tt_exact e USING (id);
	SELECT coalesce(bool_and(d >= prev), true) INTO in_order
	FROM (SELECT d, lag(d) OVER (ORDER BY ctid) AS prev FROM tt_got) s;
	DROP TABLE tt_got, tt_exact;
END
$$;

-- float4 storage and int8, every distance of real[]: exact distances, in
-- order, and no TOAST block read
CREATE INDEX tt_l2 ON tt USING hnsw (v float4_l2_ops) WITH (m = 8);
SELECT * FROM tt_scans($$SELECT id FROM tt ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$);
BEGIN;
SELECT * FROM tt_check($$SELECT id, v <-> (SELECT q FROM tt_q) AS d FROM tt
						ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$,
					   'v <-> (SELECT q FROM tt_q)');
COMMIT;
-- the same with a distance to another query in the select list: that one
-- is computed from the vector (read from the TOAST table), and exact
BEGIN;
SELECT rows, exact_distances, toast_blocks > 0 AS toast_read
FROM tt_check($$SELECT id, v <-> (SELECT other FROM tt_q) AS d FROM tt
			   ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$,
			  'v <-> (SELECT other FROM tt_q)');
COMMIT;
-- and with another operator on the same query
BEGIN;
SELECT rows, exact_distances, toast_blocks > 0 AS toast_read
FROM tt_check($$SELECT id, v <+> (SELECT q FROM tt_q) AS d FROM tt
			   ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$,
			  'v <+> (SELECT q FROM tt_q)');
COMMIT;
DROP INDEX tt_l2;

CREATE INDEX tt_cos ON tt USING hnsw (v float4_cosine_ops) WITH (m = 8);
BEGIN;
SELECT * FROM tt_check($$SELECT id, v <=> (SELECT q FROM tt_q) AS d FROM tt
						ORDER BY v <=> (SELECT q FROM tt_q) LIMIT 10$$,
					   'v <=> (SELECT q FROM tt_q)');
COMMIT;
DROP INDEX tt_cos;
CREATE INDEX tt_l1 ON tt USING hnsw (v float4_l1_ops) WITH (m = 8);
BEGIN;
SELECT * FROM tt_check($$SELECT id, v <+> (SELECT q FROM tt_q) AS d FROM tt
						ORDER BY v <+> (SELECT q FROM tt_q) LIMIT 10$$,
					   'v <+> (SELECT q FROM tt_q)');
COMMIT;
DROP INDEX tt_l1;
CREATE INDEX tt_ip ON tt USING hnsw (v float4_ip_ops) WITH (m = 8);
BEGIN;
SELECT * FROM tt_check($$SELECT id, v <#> (SELECT q FROM tt_q) AS d FROM tt
						ORDER BY v <#> (SELECT q FROM tt_q) LIMIT 10$$,
					   'v <#> (SELECT q FROM tt_q)');
COMMIT;
DROP INDEX tt_ip;

-- int8 storage: the distances handed out are the exact ones its ranking
-- computed from the values, not those of the codes
CREATE INDEX tt_int8 ON tt USING hnsw (v float4_l2_ops) WITH (m = 8, storage = int8);
SELECT * FROM tt_scans($$SELECT id FROM tt ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$);
BEGIN;
SELECT * FROM tt_check($$SELECT id, v <-> (SELECT q FROM tt_q) AS d FROM tt
						ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$,
					   'v <-> (SELECT q FROM tt_q)');
COMMIT;

-- after updates: a HOT update (of tag, which no index holds) leaves the
-- row's TOAST pointer as it was, the index pointing at the first tuple of
-- the chain; a new vector gets a new pointer, and a new element
BEGIN;
UPDATE tt SET tag = 1 WHERE id % 3 = 0;
SELECT n_tup_hot_upd > 50 AS hot FROM pg_stat_xact_user_tables WHERE relname = 'tt';
COMMIT;
UPDATE tt SET v = ARRAY(SELECT x * 1.01 FROM unnest(v) x)::real[] WHERE id % 3 = 1;
BEGIN;
SELECT * FROM tt_check($$SELECT id, v <-> (SELECT q FROM tt_q) AS d FROM tt
						ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$,
					   'v <-> (SELECT q FROM tt_q)');
COMMIT;
-- a query vector kept out of line itself (from a table row)
CREATE TABLE tt_q_stored (q real[]);
ALTER TABLE tt_q_stored ALTER q SET STORAGE EXTERNAL;
INSERT INTO tt_q_stored SELECT q FROM tt_q;
BEGIN;
SELECT rows, exact_distances, in_order FROM tt_check($$SELECT id, v <-> (SELECT q FROM tt_q_stored) AS d FROM tt
	ORDER BY v <-> (SELECT q FROM tt_q_stored) LIMIT 10$$,
	'v <-> (SELECT q FROM tt_q)');
COMMIT;
DROP INDEX tt_int8;

-- float8[], float4 and int8 storage
CREATE INDEX tt_w ON tt USING hnsw (w float8_l2_ops) WITH (m = 8);
SELECT * FROM tt_scans($$SELECT id FROM tt ORDER BY w <-> (SELECT q8 FROM tt_q) LIMIT 10$$);
BEGIN;
SELECT * FROM tt_check($$SELECT id, w <-> (SELECT q8 FROM tt_q) AS d FROM tt
						ORDER BY w <-> (SELECT q8 FROM tt_q) LIMIT 10$$,
					   'w <-> (SELECT q8 FROM tt_q)');
COMMIT;
DROP INDEX tt_w;
CREATE INDEX tt_w8 ON tt USING hnsw (w float8_l2_ops) WITH (m = 8, storage = int8);
BEGIN;
SELECT * FROM tt_check($$SELECT id, w <-> (SELECT q8 FROM tt_q) AS d FROM tt
						ORDER BY w <-> (SELECT q8 FROM tt_q) LIMIT 10$$,
					   'w <-> (SELECT q8 FROM tt_q)');
COMMIT;

-- a transaction that failed while its scan had noted rows leaves nothing
-- behind: the next one computes the same distances
BEGIN;
SELECT id, (w <-> (SELECT q8 FROM tt_q)) / 0 FROM tt ORDER BY w <-> (SELECT q8 FROM tt_q) LIMIT 1;
ROLLBACK;
BEGIN;
SELECT rows, exact_distances, in_order FROM tt_check($$SELECT id, w <-> (SELECT q8 FROM tt_q) AS d FROM tt
	ORDER BY w <-> (SELECT q8 FROM tt_q) LIMIT 10$$,
	'w <-> (SELECT q8 FROM tt_q)');
COMMIT;

-- vectors compressed in the row (600 real, of few distinct values): the
-- scan notes a copy of each returned row's compressed bytes, and the
-- distance function answers from it; the distances are the rows' own, for
-- float4 and int8 storage (whose ranked exact distances a wrong note would
-- show), in order; another query is computed from the vector
CREATE TABLE tc (id int PRIMARY KEY, v real[]);
INSERT INTO tc SELECT i,
	ARRAY(SELECT round(sin(i * 0.7 + j * (1 + i % 7) * 0.01) * 4)::real FROM generate_series(1, 600) j)
FROM generate_series(1, 300) i;
VACUUM ANALYZE tc;
SELECT count(*) AS rows, count(*) FILTER (WHERE pg_column_compression(v) IS NOT NULL) AS compressed,
	   max(pg_column_size(v)) < 2000 AS in_line,
	   count(DISTINCT pg_column_size(v)) > 1 AS sizes_differ
FROM tc;
CREATE INDEX tc_l2 ON tc USING hnsw (v float4_l2_ops) WITH (m = 8);
SELECT * FROM tt_scans($$SELECT id FROM tc ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$);
BEGIN;
SELECT rows, exact_distances, in_order FROM tt_check($$SELECT id, v <-> (SELECT q FROM tt_q) AS d FROM tc
	ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$,
	'v <-> (SELECT q FROM tt_q)', 'tc');
SELECT rows, exact_distances, in_order FROM tt_check($$SELECT id, v <-> (SELECT other FROM tt_q) AS d FROM tc
	ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$,
	'v <-> (SELECT other FROM tt_q)', 'tc');
COMMIT;
DROP INDEX tc_l2;
CREATE INDEX tc_int8 ON tc USING hnsw (v float4_l2_ops) WITH (m = 8, storage = int8);
SELECT * FROM tt_scans($$SELECT id FROM tc ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$);
BEGIN;
SELECT rows, exact_distances, in_order FROM tt_check($$SELECT id, v <-> (SELECT q FROM tt_q) AS d FROM tc
	ORDER BY v <-> (SELECT q FROM tt_q) LIMIT 10$$,
	'v <-> (SELECT q FROM tt_q)', 'tc');
COMMIT;

DROP TABLE tt, tt_q, tt_q_stored, tc;
DROP FUNCTION tt_toast_blocks(), tt_scans(text), tt_check(text, text, text);
