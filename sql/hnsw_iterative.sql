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
CREATE FUNCTION it_check(c int, mode text) RETURNS TABLE (n bigint, ordered bool, hits bigint)
LANGUAGE plpgsql AS $$
DECLARE
	q real[] := ARRAY(SELECT (c % 10) / 10.0 + 0.05 FROM generate_series(1, 8))::real[];
BEGIN
	EXECUTE format('SET LOCAL hnsw.iterative_scan = %s', mode);
	RETURN QUERY
	WITH got AS (SELECT id, v <-> q AS d, row_number() OVER () AS pos
				 FROM (SELECT id, v FROM it WHERE cat = c ORDER BY v <-> q LIMIT 10) s),
	     exact AS (SELECT id FROM it WHERE cat = c ORDER BY (v <-> q) + 0 LIMIT 10)
	SELECT (SELECT count(*) FROM got),
	       (SELECT bool_and(d >= coalesce(prev, 0)) FROM (SELECT d, lag(d) OVER (ORDER BY pos) AS prev FROM got) o),
	       (SELECT count(*) FROM got JOIN exact USING (id));
END $$;
SELECT min(n) AS min_rows, bool_and(ordered) AS all_ordered, sum(hits) >= 0.9 * sum(n) AS recall_ok
FROM generate_series(0, 19) c, it_check(c, 'strict_order');
SELECT min(n) AS min_rows, sum(hits) >= 0.9 * sum(n) AS recall_ok
FROM generate_series(0, 19) c, it_check(c, 'relaxed_order');

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
DROP FUNCTION it_check(int, text);
