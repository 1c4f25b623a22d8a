-- Iterative scans: a filtered query returns its LIMIT whenever enough rows
-- match, in distance order.
SET client_min_messages = warning;
SELECT setseed(0.77);
CREATE TABLE it (id int, cat int, v real[]);
INSERT INTO it SELECT i, i % 100, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 8))::real[]
	FROM generate_series(1, 3000) i;
CREATE INDEX it_v_idx ON it USING hnsw (v);
ANALYZE it;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SHOW hnsw.iterative_scan;
SHOW hnsw.max_scan_tuples;

-- 1% of the rows match: a plain scan of ef_search = 40 finds few of them
SET hnsw.iterative_scan = off;
SELECT count(*) AS rows_without_iterating
FROM (SELECT id FROM it WHERE cat = 7 ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;

-- iterating, every query gets its 10, in distance order, and they are the
-- right ones (compared with an exact scan of the matching rows)
SET hnsw.iterative_scan = strict_order;
CREATE FUNCTION knn_check(tbl text, q real[], c int, op text, mode text)
RETURNS TABLE (n bigint, ordered bool, hits bigint)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SET LOCAL hnsw.iterative_scan = %s', mode);
	RETURN QUERY EXECUTE format($f$
	WITH got AS (SELECT id, v %2$s $1 AS d, row_number() OVER () AS pos
				 FROM (SELECT id, v FROM %1$I WHERE cat = $2 ORDER BY v %2$s $1 LIMIT 10) s),
	     exact AS (SELECT id FROM %1$I WHERE cat = $2 ORDER BY (v %2$s $1) + 0 LIMIT 10)
	SELECT (SELECT count(*) FROM got),
	       (SELECT bool_and(d >= coalesce(prev, 0)) FROM (SELECT d, lag(d) OVER (ORDER BY pos) AS prev FROM got) o),
	       (SELECT count(*) FROM got JOIN exact USING (id))$f$, tbl, op) USING q, c;
END $$;
SELECT min(n) AS min_rows, bool_and(ordered) AS all_ordered, sum(hits) >= 0.9 * sum(n) AS recall_ok
FROM generate_series(0, 19) c,
	knn_check('it', ARRAY(SELECT (c % 10) / 10.0 + 0.05 FROM generate_series(1, 8))::real[], c, '<->', 'strict_order');
SELECT min(n) AS min_rows, sum(hits) >= 0.9 * sum(n) AS recall_ok
FROM generate_series(0, 19) c,
	knn_check('it', ARRAY(SELECT (c % 10) / 10.0 + 0.05 FROM generate_series(1, 8))::real[], c, '<->', 'relaxed_order');

-- a LIMIT above ef_search
SELECT count(*) AS rows_past_ef_search
FROM (SELECT id FROM it ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 500) s;
SET hnsw.iterative_scan = off;
SELECT count(*) AS rows_at_ef_search
FROM (SELECT id FROM it ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 500) s;
SET hnsw.iterative_scan = strict_order;

-- nothing matches: the scan ends (the graph exhausted, or the cap reached)
SELECT count(*) AS no_rows FROM (SELECT id FROM it WHERE cat = -1
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;
SET hnsw.max_scan_tuples = 100;
SELECT count(*) AS no_rows_capped FROM (SELECT id FROM it WHERE cat = -1
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;
-- the cap also bounds what a selective query can find
SELECT count(*) <= 3 AS capped FROM (SELECT id FROM it WHERE cat = 7
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;
RESET hnsw.max_scan_tuples;
SET hnsw.max_scan_tuples = 0;
SET hnsw.iterative_scan = sideways;

-- partial and expression indexes
CREATE INDEX it_partial ON it USING hnsw (v) WHERE cat = 7;
EXPLAIN (COSTS OFF) SELECT id FROM it WHERE cat = 7 ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 5;
SELECT count(*) AS partial_rows FROM (SELECT id FROM it WHERE cat = 7
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 50) s;
DROP INDEX it_partial;
CREATE INDEX it_expr ON it USING hnsw ((v[1:4]));
EXPLAIN (COSTS OFF) SELECT id FROM it ORDER BY v[1:4] <-> '{0.5,0.5,0.5,0.5}' LIMIT 5;
SELECT (SELECT array_agg(id) FROM (SELECT id FROM it ORDER BY v[1:4] <-> '{0.5,0.5,0.5,0.5}' LIMIT 5) a)
     = (SELECT array_agg(id) FROM (SELECT id FROM it ORDER BY (v[1:4] <-> '{0.5,0.5,0.5,0.5}') + 0 LIMIT 5) b)
	AS expression_index_exact;
DROP TABLE it;

-- Long vectors: once the beam is full, a search stops summing a distance
-- that is already past the beam's farthest (every 128 dimensions, for L2
-- and L1).  What a narrower beam left unfinished is measured whole when a
-- wider one takes it back: an iterative scan still returns the right rows,
-- in the order of their true distances.
SET hnsw.iterative_scan = strict_order;
CREATE TABLE itl (id int, cat int, v real[]);
INSERT INTO itl SELECT i, i % 50, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 300))::real[]
	FROM generate_series(1, 2000) i;
CREATE INDEX itl_l2 ON itl USING hnsw (v float4_l2_ops);
CREATE INDEX itl_l1 ON itl USING hnsw (v float4_l1_ops);
ANALYZE itl;
SET enable_seqscan = off;
SELECT op, min(n) AS min_rows, bool_and(ordered) AS all_ordered, sum(hits) >= 0.9 * sum(n) AS recall_ok
FROM (VALUES ('<->'), ('<+>')) o(op), generate_series(0, 9) c,
	knn_check('itl', ARRAY(SELECT ((c * 7 + i) % 10) / 10.0 FROM generate_series(1, 300) i)::real[],
			  c, op, 'strict_order')
GROUP BY op ORDER BY op;
-- to the last row: strict_order returns each once and in order (a row
-- found after a farther one was returned is skipped); relaxed_order
-- returns every row, each once
SELECT count(*) BETWEEN 1900 AND 2000 AS strict_rows, count(DISTINCT id) = count(*) AS each_once,
	bool_and(d >= coalesce(prev, 0)) AS all_ordered
FROM (SELECT id, d, lag(d) OVER (ORDER BY pos) AS prev
	  FROM (SELECT id, d, row_number() OVER () AS pos
			FROM (SELECT id, v <-> array_fill(0.5::real, ARRAY[300]) AS d FROM itl
				  ORDER BY v <-> array_fill(0.5::real, ARRAY[300]) LIMIT 3000) s) t) u;
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) AS relaxed_rows, count(DISTINCT id) AS distinct_rows
FROM (SELECT id FROM itl ORDER BY v <-> array_fill(0.5::real, ARRAY[300]) LIMIT 3000) s;
DROP TABLE itl;
DROP FUNCTION knn_check(text, real[], int, text, text);
RESET enable_seqscan;
RESET hnsw.iterative_scan;
