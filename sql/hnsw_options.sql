-- The graph's options: each changes what it should, as the introspection
-- functions show.
SET client_min_messages = warning;
SELECT setseed(0.5);
CREATE TABLE opt (id int, v real[]);
INSERT INTO opt SELECT i, ARRAY(SELECT random() + 0 * i FROM generate_series(1, 16))::real[]
	FROM generate_series(1, 4000) i;

-- bounds
CREATE INDEX ON opt USING hnsw (v) WITH (max_layers = 0);
CREATE INDEX ON opt USING hnsw (v) WITH (max_layers = 17);
CREATE INDEX ON opt USING hnsw (v) WITH (level_scale = 0);
CREATE INDEX ON opt USING hnsw (v) WITH (level_scale = 11);
CREATE INDEX ON opt USING hnsw (v) WITH (extend_candidates = maybe);

-- the defaults, as hnsw_index_info() reports them (a build without workers
-- draws its levels from a fixed seed, so the counts are repeatable)
CREATE INDEX opt_default ON opt USING hnsw (v);
SELECT format_version, m, ef_construction, max_layers, level_scale,
       extend_candidates, keep_pruned, dimensions, elements, deleted,
       entry_level, layers, elements_per_layer, pages
FROM hnsw_index_info('opt_default');

-- max_layers = 1: every element on layer 0 only
CREATE INDEX opt_flat ON opt USING hnsw (v) WITH (max_layers = 1);
SELECT max_layers, layers, elements_per_layer, entry_level FROM hnsw_index_info('opt_flat');

-- level_scale below 1 puts fewer elements above layer 0, above 1 more
CREATE INDEX opt_low ON opt USING hnsw (v) WITH (level_scale = 0.5);
CREATE INDEX opt_high ON opt USING hnsw (v) WITH (level_scale = 2);
SELECT (SELECT coalesce(elements_per_layer[2], 0) FROM hnsw_index_info('opt_low'))
	 < (SELECT elements_per_layer[2] FROM hnsw_index_info('opt_default')) AS low_has_fewer_upper,
	   (SELECT elements_per_layer[2] FROM hnsw_index_info('opt_high'))
	 > (SELECT elements_per_layer[2] FROM hnsw_index_info('opt_default')) AS high_has_more_upper,
	   (SELECT layers FROM hnsw_index_info('opt_high'))
	 > (SELECT layers FROM hnsw_index_info('opt_default')) AS high_has_more_layers;

-- keep_pruned = off leaves the lists the heuristic alone chose: fewer links
CREATE INDEX opt_nokeep ON opt USING hnsw (v) WITH (keep_pruned = off);
SELECT (SELECT mean_out_degree[1] FROM hnsw_index_info('opt_nokeep'))
	 < (SELECT mean_out_degree[1] FROM hnsw_index_info('opt_default')) - 1 AS fewer_links,
	   (SELECT keep_pruned FROM hnsw_index_info('opt_nokeep')) AS keep_pruned;

-- extend_candidates = on considers the candidates' neighbours too: another graph
CREATE INDEX opt_extend ON opt USING hnsw (v) WITH (extend_candidates = on);
SELECT extend_candidates FROM hnsw_index_info('opt_extend');
SELECT count(*) > 0 AS graphs_differ FROM (
	(SELECT heap_tid, layer, neighbor_heap_tids FROM hnsw_graph('opt_extend')
	 EXCEPT SELECT heap_tid, layer, neighbor_heap_tids FROM hnsw_graph('opt_default'))) d;

-- the variants still answer well: recall@10 of 20 queries against exact,
-- through whichever index the planner picks, then through opt_extend
CREATE FUNCTION opt_recall(label text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	hits int := 0;
	q real[];
BEGIN
	EXECUTE format('SET LOCAL enable_seqscan = off');
	FOR q IN SELECT v FROM opt WHERE id <= 20 LOOP
		hits := hits + (SELECT count(*) FROM
			(SELECT id FROM opt ORDER BY v <-> q LIMIT 10) a
			JOIN (SELECT id FROM (SELECT id, l2_distance(v, q) d FROM opt) x ORDER BY d LIMIT 10) b USING (id));
	END LOOP;
	RETURN hits / 200.0;
END $$;
SELECT opt_recall('any index') >= 0.9 AS recall_ok;
DROP INDEX opt_default, opt_flat, opt_low, opt_high, opt_nokeep;
SELECT opt_recall('extend') >= 0.9 AS recall_ok_extend;

-- ALTER INDEX SET changes the reloptions, the graph keeps what it was built with
ALTER INDEX opt_extend SET (max_layers = 2);
SELECT max_layers FROM hnsw_index_info('opt_extend');
REINDEX INDEX opt_extend;
SELECT max_layers, layers <= 2 AS capped FROM hnsw_index_info('opt_extend');

-- the graph of hnsw_graph() is the one on the pages: every element once on
-- layer 0, lists as long as hnsw_page_items() shows
SELECT count(*) = (SELECT elements FROM hnsw_index_info('opt_extend')) AS one_row_per_element
FROM hnsw_graph('opt_extend') WHERE layer = 0;
SELECT (SELECT sum(cardinality(neighbor_heap_tids)) FROM hnsw_graph('opt_extend') WHERE layer = 0)
	 = (SELECT sum(counts[1]) FROM generate_series(1, (SELECT pages - 1 FROM hnsw_index_info('opt_extend'))) b,
	        hnsw_page_items('opt_extend', b) WHERE kind = 'element') AS same_links;
SELECT offnum, kind, level, deleted, cardinality(neighbors) > 0 AS linked, value_bytes
FROM hnsw_page_items('opt_extend', 1) LIMIT 3;

-- the elements of deleted rows stay until VACUUM (which marks them deleted
-- and removes them in one go)
DELETE FROM opt WHERE id % 2 = 0;
SELECT elements, deleted FROM hnsw_index_info('opt_extend');
VACUUM opt;
SELECT elements, deleted FROM hnsw_index_info('opt_extend');

-- errors
SELECT * FROM hnsw_index_info('opt');
SELECT * FROM hnsw_page_items('opt_extend', 0);
SELECT * FROM hnsw_page_items('opt_extend', 100000);
DROP TABLE opt;
DROP FUNCTION opt_recall(text);

-- an extension at 0.1.0 updates to 0.2.0 and then 0.4.0 (TAP 011 reads
-- indexes that the first releases of each format wrote), and ends with
-- the operators and functions of a fresh install
SELECT count(*) AS fresh_operators FROM pg_amop
WHERE amopfamily IN (SELECT objid FROM pg_depend
	WHERE classid = 'pg_opfamily'::regclass AND deptype = 'e'
	AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hnsw'));
CREATE TEMP TABLE fresh_functions AS
SELECT p.oid::regprocedure::text AS f FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
	AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hnsw');
DROP EXTENSION hnsw CASCADE;
CREATE EXTENSION hnsw VERSION '0.1.0';
ALTER EXTENSION hnsw UPDATE TO '0.2.0';
SELECT extversion FROM pg_extension WHERE extname = 'hnsw';
ALTER EXTENSION hnsw UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'hnsw';
SELECT count(*) AS updated_operators FROM pg_amop
WHERE amopfamily IN (SELECT objid FROM pg_depend
	WHERE classid = 'pg_opfamily'::regclass AND deptype = 'e'
	AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hnsw'));
SELECT count(*) FROM pg_proc WHERE proname IN ('hnsw_index_info', 'hnsw_graph', 'hnsw_page_items');
-- the same functions as a fresh install, none missing, none more
SELECT f AS differs FROM (
	(SELECT f FROM fresh_functions EXCEPT
	 SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
	 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
		AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hnsw'))
	UNION ALL
	(SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
	 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
		AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hnsw')
	 EXCEPT SELECT f FROM fresh_functions)) x;
