-- hnsw 0.3.0 -> 0.4.0: recall measured in SQL.  (0.4.0 has no install
-- script of its own: CREATE EXTENSION installs 0.3.0 and runs this.)

\echo Use "ALTER EXTENSION hnsw UPDATE TO '0.4.0'" to load this file. \quit

-- Recall of one query: the index's answer, as a scan gives it, against the
-- exact answer over the same rows.  Runs two queries in the caller's
-- session and with its privileges: ORDER BY the index's distance operator
-- LIMIT k, once with only index scans allowed (and the plan checked to be
-- an ordered scan of this index), once with index scans off (a sequential scan and
-- a sort).  A row the index returns counts as a hit if its distance is at
-- most the exact k-th distance, so ties count.  quals, SQL of a WHERE
-- clause on the table (filter columns, say), restricts both.  The planner
-- settings are put back before it returns.
CREATE FUNCTION hnsw_measure_recall(index regclass, query anyelement,
	k integer DEFAULT 10, ef_search integer DEFAULT NULL, quals text DEFAULT NULL,
	OUT recall float8, OUT index_kth_distance float8, OUT exact_kth_distance float8,
	OUT index_ms float8, OUT exact_ms float8)
	RETURNS record
	LANGUAGE plpgsql VOLATILE
	AS $fn$
DECLARE
	tbl regclass;
	col name;
	op text;
	knn text;
	plan text;
	t timestamptz;
	index_d float8[];
	exact_d float8[];
	saved text[];
	names text[] := ARRAY['enable_seqscan', 'enable_indexscan', 'enable_indexonlyscan',
						  'enable_bitmapscan', 'enable_sort', 'hnsw.ef_search'];
BEGIN
	IF k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'k must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ef_search IS NOT NULL AND (ef_search < 1 OR ef_search > 1000) THEN
		RAISE EXCEPTION 'ef_search must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the index's table, key column and ORDER BY operator
	SELECT i.indrelid::regclass, a.attname,
		   format('OPERATOR(%I.%s)', n.nspname, o.oprname)
	INTO tbl, col, op
	FROM pg_index i
		 JOIN pg_class c ON c.oid = i.indexrelid
		 JOIN pg_am am ON am.oid = c.relam AND am.amname = 'hnsw'
		 JOIN pg_opclass oc ON oc.oid = i.indclass[0]
		 JOIN pg_amop ao ON ao.amopfamily = oc.opcfamily AND ao.amoppurpose = 'o'
						 AND ao.amoplefttype = oc.opcintype
		 JOIN pg_operator o ON o.oid = ao.amopopr
		 JOIN pg_namespace n ON n.oid = o.oprnamespace
		 LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	WHERE i.indexrelid = index;
	IF NOT FOUND THEN
		RAISE EXCEPTION '"%" is not an hnsw index', index USING ERRCODE = 'wrong_object_type';
	END IF;
	IF col IS NULL THEN
		RAISE EXCEPTION 'hnsw_measure_recall does not support an index on an expression'
			USING ERRCODE = 'feature_not_supported';
	END IF;
	knn := format('SELECT (%1$I %2$s $1)::float8 AS d FROM %3$s WHERE %4$s ORDER BY %1$I %2$s $1 LIMIT %5$s',
				  col, op, tbl, coalesce(quals, 'true'), k);

	-- planning it once loads the library, which defines hnsw.ef_search
	EXECUTE 'EXPLAIN ' || knn USING query;
	SELECT array_agg(current_setting(s)) INTO saved FROM unnest(names) s;
	BEGIN
		IF ef_search IS NOT NULL THEN
			PERFORM set_config('hnsw.ef_search', ef_search::text, true);
		END IF;
		-- the index, as a scan would use it
		PERFORM set_config('enable_seqscan', 'off', true);
		PERFORM set_config('enable_bitmapscan', 'off', true);
		PERFORM set_config('enable_sort', 'off', true);
		EXECUTE 'EXPLAIN (FORMAT JSON) ' || knn INTO plan USING query;
		-- an ordered scan of this index, not a full scan of it under a sort
		IF strpos(plan, format('"Index Name": "%s"', (SELECT relname FROM pg_class WHERE oid = index))) = 0
		   OR strpos(plan, '"Order By"') = 0 OR strpos(plan, '"Node Type": "Sort"') > 0 THEN
			RAISE EXCEPTION 'the query does not use index "%"', index
				USING ERRCODE = 'object_not_in_prerequisite_state',
					  DETAIL = 'The plan: ' || plan,
					  HINT = 'Another index on the column may answer it; drop it for the measurement, or measure that one.';
		END IF;
		t := clock_timestamp();
		EXECUTE format('SELECT array_agg(d) FROM (%s) s', knn) INTO index_d USING query;
		index_ms := extract(epoch FROM clock_timestamp() - t) * 1000;

		-- the exact answer: no index at all
		PERFORM set_config('enable_seqscan', 'on', true);
		PERFORM set_config('enable_sort', 'on', true);
		PERFORM set_config('enable_indexscan', 'off', true);
		PERFORM set_config('enable_indexonlyscan', 'off', true);
		t := clock_timestamp();
		EXECUTE format('SELECT array_agg(d ORDER BY d) FROM (%s) s', knn) INTO exact_d USING query;
		exact_ms := extract(epoch FROM clock_timestamp() - t) * 1000;
	EXCEPTION WHEN OTHERS THEN
		PERFORM set_config(names[i], saved[i], true) FROM generate_subscripts(names, 1) i;
		RAISE;
	END;
	PERFORM set_config(names[i], saved[i], true) FROM generate_subscripts(names, 1) i;

	IF exact_d IS NULL THEN
		-- no rows: nothing to miss
		recall := 1;
		RETURN;
	END IF;
	index_kth_distance := index_d[cardinality(index_d)];
	exact_kth_distance := exact_d[cardinality(exact_d)];
	recall := (SELECT count(*) FROM unnest(index_d) d WHERE d <= exact_kth_distance)::float8
		/ cardinality(exact_d);
END
$fn$;
COMMENT ON FUNCTION hnsw_measure_recall(regclass, anyelement, integer, integer, text) IS 'recall@k of an hnsw index for one query vector against an exact search over the same rows (quals: an optional WHERE clause), with the k-th distance and the time of each';

-- The same for sample rows of the table, each row's own value the query:
-- the mean and the lowest recall
CREATE FUNCTION hnsw_measure_recall_sample(index regclass, sample integer,
	k integer DEFAULT 10, ef_search integer DEFAULT NULL, quals text DEFAULT NULL,
	OUT queries integer, OUT mean_recall float8, OUT min_recall float8,
	OUT mean_index_ms float8, OUT mean_exact_ms float8)
	RETURNS record
	LANGUAGE plpgsql VOLATILE
	AS $fn$
DECLARE
	tbl regclass;
	col name;
	r record;
	m record;
	sum_recall float8 := 0;
	sum_index float8 := 0;
	sum_exact float8 := 0;
BEGIN
	IF sample IS NULL OR sample < 1 THEN
		RAISE EXCEPTION 'sample must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT i.indrelid::regclass, a.attname INTO tbl, col
	FROM pg_index i
		 JOIN pg_class c ON c.oid = i.indexrelid
		 JOIN pg_am am ON am.oid = c.relam AND am.amname = 'hnsw'
		 LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	WHERE i.indexrelid = index;
	IF NOT FOUND THEN
		RAISE EXCEPTION '"%" is not an hnsw index', index USING ERRCODE = 'wrong_object_type';
	END IF;
	queries := 0;
	min_recall := NULL;
	FOR r IN EXECUTE format('SELECT %1$I AS v FROM %2$s WHERE %1$I IS NOT NULL AND %3$s ORDER BY random() LIMIT %4$s',
							col, tbl, coalesce(quals, 'true'), sample)
	LOOP
		m := hnsw_measure_recall(index, r.v, k, ef_search, quals);
		queries := queries + 1;
		sum_recall := sum_recall + m.recall;
		sum_index := sum_index + m.index_ms;
		sum_exact := sum_exact + m.exact_ms;
		min_recall := least(coalesce(min_recall, m.recall), m.recall);
	END LOOP;
	IF queries > 0 THEN
		mean_recall := sum_recall / queries;
		mean_index_ms := sum_index / queries;
		mean_exact_ms := sum_exact / queries;
	END IF;
END
$fn$;
COMMENT ON FUNCTION hnsw_measure_recall_sample(regclass, integer, integer, integer, text) IS 'hnsw_measure_recall for sample random rows of the index''s table as queries: their number, the mean and lowest recall, and the mean times';

-- What the last scan did --

CREATE FUNCTION hnsw_last_scan(
	OUT index regclass, OUT ef_search integer, OUT ef_search_widest integer,
	OUT searches bigint, OUT elements_visited bigint, OUT distances bigint,
	OUT rows_rejected bigint, OUT rows_reranked bigint, OUT rows_returned bigint,
	OUT directory_searches bigint, OUT value_link_searches bigint,
	OUT shared_blks_hit bigint, OUT shared_blks_read bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'hnsw_last_scan'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hnsw_last_scan() IS 'what the last hnsw index scan this session ended did: its beam, searches, elements visited, distances computed, rows its quals rejected, and shared buffers hit and read';

-- Recall sampled in production (hnsw.sample_recall) --

CREATE FUNCTION hnsw_stat_recall_entries(
	OUT indexrelid oid, OUT ef_search integer, OUT filtered boolean,
	OUT k integer, OUT scans bigint, OUT skipped bigint,
	OUT mean_recall float8, OUT lowest_recall float8,
	OUT last_sample timestamptz)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'hnsw_stat_recall'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hnsw_stat_recall_entries() IS 'the recall samples of this database''s hnsw indexes kept in shared memory (see the view hnsw_stat_recall)';

CREATE VIEW hnsw_stat_recall AS
	SELECT s.indexrelid, s.indexrelid::regclass AS index, s.ef_search,
		   s.filtered, s.k, s.scans, s.skipped, s.mean_recall,
		   s.lowest_recall, s.last_sample
	FROM hnsw_stat_recall_entries() s;
GRANT SELECT ON hnsw_stat_recall TO PUBLIC;
COMMENT ON VIEW hnsw_stat_recall IS 'recall@k of the index scans hnsw.sample_recall sampled, per index, ef_search, k and whether the scan had quals on the index''s columns';

CREATE FUNCTION hnsw_stat_recall_reset() RETURNS void
	AS 'MODULE_PATHNAME', 'hnsw_stat_recall_reset'
	LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hnsw_stat_recall_reset() IS 'forget the recall samples of this database''s hnsw indexes';
REVOKE ALL ON FUNCTION hnsw_stat_recall_reset() FROM PUBLIC;

-- How healthy the graph is --

CREATE FUNCTION hnsw_index_health(index regclass,
	OUT elements bigint, OUT live bigint, OUT dead bigint,
	OUT unreachable bigint, OUT mean_out_degree float8[],
	OUT min_out_degree integer[], OUT free_bytes bigint,
	OUT free_share float8, OUT advice text)
	RETURNS record
	AS 'MODULE_PATHNAME', 'hnsw_index_health'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION hnsw_index_health(regclass) IS 'elements of live and of dead rows, live elements no search can reach, mean and lowest out-degree per layer of the live elements (array element i is layer i - 1), free space, and what to do about them';

-- hnsw_index_info says how elements hold their values (storage) --

DROP FUNCTION hnsw_index_info(regclass);
CREATE FUNCTION hnsw_index_info(index regclass,
	OUT format_version integer, OUT m integer, OUT ef_construction integer,
	OUT max_layers integer, OUT level_scale float8,
	OUT extend_candidates boolean, OUT keep_pruned boolean,
	OUT dimensions integer, OUT elements bigint, OUT deleted bigint,
	OUT entry_point tid, OUT entry_level integer, OUT layers integer,
	OUT elements_per_layer bigint[], OUT mean_out_degree float8[],
	OUT pages bigint, OUT storage text)
	RETURNS record
	AS 'MODULE_PATHNAME', 'hnsw_index_info'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION hnsw_index_info(regclass) IS 'options, format version, storage, elements, entry point and per-layer elements and mean out-degree of an hnsw index (array element i is layer i - 1)';
