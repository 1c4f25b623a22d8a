-- Value links (WITH (filter_links = N)): each element links to the nearest
-- elements with its value in each scalar filter column, and a scan with
-- "column = constant" walks along them among the matching rows only.
SET client_min_messages = warning;
SELECT setseed(0.47);
CREATE TABLE vl (id int, cat int, lab text, flag boolean, tags int4[], v real[]);
INSERT INTO vl
SELECT i, i % 10, 'lab' || (i % 4), i % 2 = 0, ARRAY[i % 30],
	ARRAY(SELECT random() + 0 * i FROM generate_series(1, 8))::real[]
FROM generate_series(1, 4000) i;
-- a row whose filter columns are NULL gets no links for them
INSERT INTO vl (id, v) VALUES (0, '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}');

-- bad values of the option
CREATE INDEX ON vl USING hnsw (v, cat) WITH (filter_links = -1);
CREATE INDEX ON vl USING hnsw (v, cat) WITH (filter_links = 65);

CREATE INDEX vl_idx ON vl USING hnsw (v, cat, lab, flag, tags)
	WITH (m = 8, ef_construction = 64, filter_links = 8);
ANALYZE vl;
SELECT * FROM hnsw_verify('vl_idx');
SELECT format_version FROM hnsw_index_info('vl_idx');

-- every element has links for cat, lab and flag (not for the array tags);
-- they are full, and lead to elements of the same value (checked on the
-- rows: a link is an element's TID, whose heap TID names the row)
CREATE FUNCTION vl_links(idx regclass)
RETURNS TABLE (owner_row tid, counts int[], links tid[])
LANGUAGE sql AS $$
	SELECT e.heap_tid, l.counts, l.neighbors
	FROM generate_series(1, pg_relation_size(idx) / 8192 - 1) b,
		 LATERAL hnsw_page_items(idx, b) l
		 JOIN hnsw_page_items(idx, b) e ON e.offnum = l.offnum AND e.kind = 'element'
	WHERE l.kind = 'value links'
$$;
CREATE FUNCTION vl_element_rows(idx regclass)
RETURNS TABLE (element tid, row_tid tid)
LANGUAGE sql AS $$
	SELECT format('(%s,%s)', b, e.offnum)::tid, e.heap_tid
	FROM generate_series(1, pg_relation_size(idx) / 8192 - 1) b,
		 LATERAL hnsw_page_items(idx, b) e
	WHERE e.kind = 'element'
$$;
SELECT count(DISTINCT owner_row) AS elements_with_links,
	min(cardinality(counts)) AS columns,
	bool_and(counts[1] > 0 AND counts[2] > 0 AND counts[3] > 0)
		FILTER (WHERE vl.id <> 0) AS all_linked,
	max(counts[1]) AS most_cat_links
FROM vl_links('vl_idx') l JOIN vl ON vl.ctid = l.owner_row;
SELECT (SELECT counts FROM vl_links('vl_idx') l JOIN vl ON vl.ctid = l.owner_row
		WHERE vl.id = 0 LIMIT 1) AS links_of_null_row;
-- links of the cat column: the first counts[1] of each element's links
WITH l AS (SELECT owner_row, counts, link, k
		   FROM vl_links('vl_idx'), unnest(links) WITH ORDINALITY u(link, k)),
	 e AS (SELECT * FROM vl_element_rows('vl_idx'))
SELECT count(*) >= 4000 * 4 AS many_cat_links,
	count(*) FILTER (WHERE o.cat IS DISTINCT FROM t.cat) AS to_other_cat
FROM l JOIN e ON e.element = l.link
	JOIN vl o ON o.ctid = l.owner_row JOIN vl t ON t.ctid = e.row_tid
WHERE l.k <= l.counts[1];

-- Recall of "column = constant" against an exact scan, on the walk (not
-- the filter directory, which would rank the matching rows exactly)
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET hnsw.exact_filter_rows = 0;
SET hnsw.ef_search = 20;
CREATE FUNCTION vl_recall(cond text, nq int)
RETURNS TABLE (queries int, all_rows bool, recall_ok bool, wrong bigint, ordered bool)
LANGUAGE plpgsql AS $$
DECLARE
	q real[];
	got int[];
	dists float8[];
	exact int[];
	hits int := 0;
	total int := 0;
	bad bigint := 0;
	nbad bigint;
	is_ordered bool := true;
	full_rows bool := true;
BEGIN
	FOR i IN 1 .. nq LOOP
		q := ARRAY(SELECT random() FROM generate_series(1, 8))::real[];
		-- the rows in the order the scan returned them (pos), so that
		-- "ordered" checks the scan's order, not an order imposed here
		EXECUTE format('SELECT array_agg(id ORDER BY pos), array_agg(d ORDER BY pos) FROM
			(SELECT id, d, row_number() OVER () AS pos FROM
			 (SELECT id, v <-> %2$L::real[] AS d FROM vl WHERE %1$s
			  ORDER BY v <-> %2$L::real[] LIMIT 10) s) r', cond, q) INTO got, dists;
		SET LOCAL enable_indexscan = off;
		SET LOCAL enable_indexonlyscan = off;
		SET LOCAL enable_seqscan = on;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM vl WHERE %1$s
			ORDER BY v <-> %2$L::real[] LIMIT 10) s', cond, q) INTO exact;
		SET LOCAL enable_indexscan = on;
		SET LOCAL enable_indexonlyscan = on;
		SET LOCAL enable_seqscan = off;
		full_rows := full_rows AND coalesce(cardinality(got), 0) = coalesce(cardinality(exact), 0);
		hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (exact));
		total := total + coalesce(cardinality(exact), 0);
		EXECUTE format('SELECT count(*) FROM vl WHERE id = ANY (%L) AND (%s) IS NOT TRUE',
					   got, cond) INTO STRICT nbad;
		bad := bad + nbad;
		is_ordered := is_ordered AND (SELECT coalesce(bool_and(d >= p), true) FROM
			(SELECT d, lag(d) OVER (ORDER BY k) AS p FROM unnest(dists) WITH ORDINALITY u(d, k)) o);
	END LOOP;
	RETURN QUERY SELECT nq, full_rows, round(hits::numeric / greatest(total, 1), 2) >= 0.9,
		bad, is_ordered;
END $$;
SELECT 'cat = 3' AS qual, * FROM vl_recall('cat = 3', 20);
SELECT 'lab = ''lab1''' AS qual, * FROM vl_recall('lab = ''lab1''', 20);
SELECT 'cat = 7 AND tags && ''{7,17}''' AS qual, * FROM vl_recall('cat = 7 AND tags && ''{7,17}''', 20);
SELECT 'cat = 5 AND lab = ''lab1''' AS qual, * FROM vl_recall('cat = 5 AND lab = ''lab1''', 5);

-- The scan says which links it follows; a range qual follows none
SET client_min_messages = debug1;
SELECT count(*) FROM (SELECT id FROM vl WHERE cat = 2
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;
SELECT count(*) FROM (SELECT id FROM vl WHERE cat < 2
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;
-- a boolean parameter goes to the index (a constant is folded into "flag",
-- which PostgreSQL 18 gives the index too: expected/hnsw_links_1.out)
PREPARE vl_flag(boolean) AS SELECT count(*) FROM (SELECT id FROM vl WHERE flag = $1
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;
EXECUTE vl_flag(true);
SET client_min_messages = warning;

-- An iterative scan finds every row of a value (strict_order would skip
-- those found late, nearer than a row already returned); a value no row has
-- ends with none
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) AS rows_found, count(DISTINCT id) AS distinct_rows,
	bool_and(cat = 4) AS all_match
FROM (SELECT id, cat FROM vl WHERE cat = 4
	  ORDER BY v <-> '{0.1,0.9,0.1,0.9,0.1,0.9,0.1,0.9}' LIMIT 1000) s;
SELECT count(*) FROM vl WHERE cat = 4;
SELECT count(*) AS no_rows FROM (SELECT id FROM vl WHERE cat = 99
	ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}' LIMIT 10) s;

-- Inserts link new elements both ways, also of a value new to the index
INSERT INTO vl
SELECT i, CASE WHEN i % 2 = 0 THEN 10 ELSE i % 10 END, 'lab' || (i % 4), i % 2 = 0,
	ARRAY[i % 30], ARRAY(SELECT random() + 0 * i FROM generate_series(1, 8))::real[]
FROM generate_series(4001, 5000) i;
SELECT * FROM hnsw_verify('vl_idx');
SELECT 'cat = 10 (inserted)' AS qual, * FROM vl_recall('cat = 10', 20);
SELECT 'cat = 3' AS qual, * FROM vl_recall('cat = 3', 20);

-- VACUUM strikes removed elements out of the links
DELETE FROM vl WHERE id % 5 = 0;
VACUUM vl;
SELECT * FROM hnsw_verify('vl_idx');
WITH e AS (SELECT * FROM vl_element_rows('vl_idx'))
SELECT count(*) AS links_to_missing_elements
FROM vl_links('vl_idx') l, unnest(l.links) u(link) LEFT JOIN e ON e.element = u.link
WHERE e.element IS NULL;
SELECT 'cat = 3 (after VACUUM)' AS qual, * FROM vl_recall('cat = 3', 20);

-- A build that outgrows maintenance_work_mem goes on inserting on pages,
-- where the links are made the same way
RESET enable_seqscan;
SET maintenance_work_mem = '1MB';
CREATE INDEX vl_small ON vl USING hnsw (v, cat, lab, flag, tags)
	WITH (m = 8, ef_construction = 64, filter_links = 8);
RESET maintenance_work_mem;
SELECT * FROM hnsw_verify('vl_small');
SELECT count(DISTINCT owner_row) = (SELECT count(*) FROM vl) AS every_element_has_links
FROM vl_links('vl_small');
DROP INDEX vl_idx;
SET enable_seqscan = off;
SELECT 'cat = 3 (spilled build)' AS qual, * FROM vl_recall('cat = 3', 20);

-- Without filter columns, or with only arrays, there is nothing to link
CREATE INDEX vl_plain ON vl USING hnsw (v) WITH (filter_links = 8);
CREATE INDEX vl_arrays ON vl USING hnsw (v, tags) WITH (filter_links = 8);
SELECT count(*) AS value_link_rows FROM vl_links('vl_plain');
SELECT count(*) AS value_link_rows FROM vl_links('vl_arrays');
SELECT * FROM hnsw_verify('vl_plain');
SELECT * FROM hnsw_verify('vl_arrays');

-- A value whose links do not connect all its rows: 3 rows near the query,
-- 50 far away, rows of another value between.  The walk along the links of
-- the 3 runs out with 3 rows; it goes on without links (even without
-- iterating) and finds the others.
SELECT setseed(0.5);
CREATE TABLE vl2 (id int, cat int, v real[]);
INSERT INTO vl2 SELECT i, 0, ARRAY[random() * 100, random() * 100]::real[]
FROM generate_series(1, 3000) i;
INSERT INTO vl2 SELECT 10000 + i, 7, ARRAY[random(), random()]::real[]
FROM generate_series(1, 3) i;
INSERT INTO vl2 SELECT 20000 + i, 7, ARRAY[99 + random(), 99 + random()]::real[]
FROM generate_series(1, 50) i;
CREATE INDEX vl2_idx ON vl2 USING hnsw (v, cat)
	WITH (m = 8, ef_construction = 32, filter_links = 8);
SET enable_seqscan = off;
SET hnsw.exact_filter_rows = 0;
SET hnsw.ef_search = 10;
SET hnsw.iterative_scan = off;
SELECT count(*) AS rows_found, count(*) FILTER (WHERE id > 20000) AS far_rows
FROM (SELECT id FROM vl2 WHERE cat = 7 ORDER BY v <-> '{0,0}' LIMIT 10) s;
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS rows_found, count(*) FILTER (WHERE id > 20000) AS far_rows
FROM (SELECT id FROM vl2 WHERE cat = 7 ORDER BY v <-> '{0,0}' LIMIT 10) s;

DROP TABLE vl;
DROP TABLE vl2;
DROP FUNCTION vl_recall(text, int);
DROP FUNCTION vl_links(regclass);
DROP FUNCTION vl_element_rows(regclass);
