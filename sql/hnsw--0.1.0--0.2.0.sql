-- hnsw 0.1.0 -> 0.2.0: introspection functions.  Indexes built by 0.1.0
-- (format version 1) keep working; they have the defaults of the options
-- 0.2.0 adds (max_layers, level_scale, extend_candidates, keep_pruned).

\echo Use "ALTER EXTENSION hnsw UPDATE TO '0.2.0'" to load this file. \quit

CREATE FUNCTION hnsw_index_info(index regclass,
	OUT format_version integer, OUT m integer, OUT ef_construction integer,
	OUT max_layers integer, OUT level_scale float8,
	OUT extend_candidates boolean, OUT keep_pruned boolean,
	OUT dimensions integer, OUT elements bigint, OUT deleted bigint,
	OUT entry_point tid, OUT entry_level integer, OUT layers integer,
	OUT elements_per_layer bigint[], OUT mean_out_degree float8[],
	OUT pages bigint)
	RETURNS record
	AS 'MODULE_PATHNAME', 'hnsw_index_info'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION hnsw_index_info(regclass) IS 'options, format version, elements, entry point and per-layer elements and mean out-degree of an hnsw index (array element i is layer i - 1)';

CREATE FUNCTION hnsw_graph(index regclass,
	OUT element tid, OUT heap_tid tid, OUT layer integer, OUT deleted boolean,
	OUT neighbor_heap_tids tid[])
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'hnsw_graph'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION hnsw_graph(regclass) IS 'the graph of an hnsw index: one row per element and layer, with the heap TIDs of the element and of its neighbours';

CREATE FUNCTION hnsw_page_items(index regclass, blkno bigint,
	OUT offnum integer, OUT kind text, OUT level integer, OUT deleted boolean,
	OUT heap_tid tid, OUT link tid, OUT counts integer[], OUT neighbors tid[],
	OUT value_bytes integer)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'hnsw_page_items'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION hnsw_page_items(regclass, bigint) IS 'the tuples of one page of an hnsw index (link: an element''s upper tuple, or an upper tuple''s element)';
