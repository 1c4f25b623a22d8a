-- Vectors larger than a page: their values go to chunk tuples.
SET client_min_messages = warning;
SELECT setseed(0.11);

-- recall@10 of 10 queries against an exact scan
CREATE FUNCTION large_recall(tab regclass) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	hits int := 0;
	q real[];
	kth float8;
	got int;
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL hnsw.ef_search = 60;
	FOR q IN EXECUTE format('SELECT v FROM %s WHERE id <= 10', tab) LOOP
		EXECUTE format('SELECT (v <-> $1) + 0 FROM %s ORDER BY 1 OFFSET 9 LIMIT 1', tab)
			INTO kth USING q;
		EXECUTE format('SELECT count(*) FROM (SELECT v <-> $1 AS d FROM %s ORDER BY v <-> $1 LIMIT 10) a WHERE d <= $2', tab)
			INTO got USING q, kth;
		hits := hits + got;
	END LOOP;
	RETURN hits / 100.0;
END $$;

-- 4,000 dimensions: clustered data, built in memory, then inserts on disk
CREATE TABLE large4k (id int, v real[]);
ALTER TABLE large4k ALTER COLUMN v SET STORAGE EXTERNAL;
CREATE TABLE centers (c int, v real[]);
INSERT INTO centers SELECT c, ARRAY(SELECT random() * 10 + 0 * c FROM generate_series(1, 4000))::real[]
	FROM generate_series(1, 8) c;
INSERT INTO large4k SELECT i, (SELECT array_agg(x + random() + 0 * i)::real[] FROM unnest(v) x)
	FROM generate_series(1, 300) i JOIN centers ON c = i % 8 + 1;
CREATE INDEX large4k_idx ON large4k USING hnsw (v);
INSERT INTO large4k SELECT i, (SELECT array_agg(x + random() + 0 * i)::real[] FROM unnest(v) x)
	FROM generate_series(301, 400) i JOIN centers ON c = i % 8 + 1;
SELECT large_recall('large4k') >= 0.95 AS recall_4000_ok;
SELECT count(*) FROM hnsw_verify('large4k_idx');
SELECT dimensions, elements FROM hnsw_index_info('large4k_idx');
-- an element page holds the element; its value is in chunks of a page each
SELECT kind, value_bytes FROM hnsw_page_items('large4k_idx',
	(SELECT min(b) FROM generate_series(1, (SELECT pages - 1 FROM hnsw_index_info('large4k_idx'))) b
	 WHERE EXISTS (SELECT FROM hnsw_page_items('large4k_idx', b) WHERE kind = 'element'))) LIMIT 2;
SELECT count(*) > 0 AS has_chunks FROM generate_series(1, (SELECT pages - 1 FROM hnsw_index_info('large4k_idx'))) b,
	hnsw_page_items('large4k_idx', b) WHERE kind = 'chunk';

-- VACUUM removes the chunks of deleted elements and reuses their space
SELECT pg_relation_size('large4k_idx') AS before \gset
DELETE FROM large4k WHERE id > 200;
VACUUM large4k;
SELECT count(*) FROM hnsw_verify('large4k_idx');
INSERT INTO large4k SELECT i, (SELECT array_agg(x + random() + 0 * i)::real[] FROM unnest(v) x)
	FROM generate_series(401, 600) i JOIN centers ON c = i % 8 + 1;
SELECT pg_relation_size('large4k_idx') <= :before * 1.2 AS space_reused;
SELECT large_recall('large4k') >= 0.95 AS recall_4000_after_vacuum_ok;

-- 16,000 dimensions
CREATE TABLE large16k (id int, v real[]);
ALTER TABLE large16k ALTER COLUMN v SET STORAGE EXTERNAL;
INSERT INTO large16k SELECT i, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 16000))::real[]
	FROM generate_series(1, 120) i;
CREATE INDEX large16k_idx ON large16k USING hnsw (v);
INSERT INTO large16k SELECT i, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 16000))::real[]
	FROM generate_series(121, 160) i;
SELECT large_recall('large16k') >= 0.95 AS recall_16000_ok;
SELECT count(*) FROM hnsw_verify('large16k_idx');
SELECT dimensions, elements FROM hnsw_index_info('large16k_idx');
-- every row found by its own vector
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE l.id = (SELECT id FROM large16k m ORDER BY m.v <-> l.v LIMIT 1)) AS found,
	count(*) AS rows FROM large16k l;
RESET enable_seqscan;

-- the limit: a value of more than 1 MB
CREATE TABLE huge (b varbit);
CREATE INDEX ON huge USING hnsw (b);
INSERT INTO huge SELECT repeat('1', 9000000)::varbit;
DROP TABLE large4k, large16k, centers, huge;
DROP FUNCTION large_recall(regclass);
