-- hnsw--0.3.0.sql: the SQL surface of the hnsw extension

\echo Use "CREATE EXTENSION hnsw" to load this file. \quit

-- The access method ------------------------------------------------------

-- pgvector names its access method hnsw too: say so instead of failing with
-- a bare "already exists"
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_am WHERE amname = 'hnsw') THEN
		RAISE EXCEPTION 'access method "hnsw" already exists in this database'
			USING ERRCODE = 'duplicate_object',
				DETAIL = 'It was created by ' || coalesce((
					SELECT 'extension "' || e.extname || '"'
					FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
					WHERE d.classid = 'pg_am'::regclass AND d.refclassid = 'pg_extension'::regclass
					  AND d.objid = (SELECT oid FROM pg_am WHERE amname = 'hnsw')),
					'CREATE ACCESS METHOD') || '.',
				HINT = 'pgvector also names its access method hnsw; the hnsw extension and pgvector cannot be installed in the same database.';
	END IF;
END $$;

CREATE FUNCTION hnswhandler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER hnswhandler;
COMMENT ON ACCESS METHOD hnsw IS 'hierarchical navigable small world graph for nearest-neighbour search';

-- Distances on real[] ----------------------------------------------------
-- (COST 100: a distance reads a whole vector, far more than a built-in
-- operator; the planner weighs a sort over all rows against the index.)

CREATE FUNCTION l2_distance(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_float4_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION l2_distance(real[], real[]) IS 'Euclidean distance';

CREATE FUNCTION cosine_distance(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_float4_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION cosine_distance(real[], real[]) IS 'cosine distance, 1 - cosine similarity; NaN for a zero vector';

CREATE FUNCTION l1_distance(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_float4_l1_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION l1_distance(real[], real[]) IS 'taxicab (L1) distance';

CREATE FUNCTION inner_product(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_float4_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION inner_product(real[], real[]) IS 'inner (dot) product';

CREATE FUNCTION negative_inner_product(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_float4_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION negative_inner_product(real[], real[]) IS 'negative inner product, the distance behind <#>';

CREATE OPERATOR <-> (LEFTARG = real[], RIGHTARG = real[],
	FUNCTION = l2_distance, COMMUTATOR = '<->');
CREATE OPERATOR <=> (LEFTARG = real[], RIGHTARG = real[],
	FUNCTION = cosine_distance, COMMUTATOR = '<=>');
CREATE OPERATOR <+> (LEFTARG = real[], RIGHTARG = real[],
	FUNCTION = l1_distance, COMMUTATOR = '<+>');
CREATE OPERATOR <#> (LEFTARG = real[], RIGHTARG = real[],
	FUNCTION = negative_inner_product, COMMUTATOR = '<#>');

-- Distances on bit strings -----------------------------------------------

CREATE FUNCTION hamming_distance(bit, bit) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_bit_hamming_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION hamming_distance(varbit, varbit) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_bit_hamming_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION hamming_distance(bit, bit) IS 'number of differing bits';
COMMENT ON FUNCTION hamming_distance(varbit, varbit) IS 'number of differing bits';

CREATE FUNCTION jaccard_distance(bit, bit) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_bit_jaccard_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION jaccard_distance(varbit, varbit) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_bit_jaccard_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION jaccard_distance(bit, bit) IS 'Jaccard distance of the sets of 1 bits';
COMMENT ON FUNCTION jaccard_distance(varbit, varbit) IS 'Jaccard distance of the sets of 1 bits';

CREATE OPERATOR <~> (LEFTARG = bit, RIGHTARG = bit,
	FUNCTION = hamming_distance, COMMUTATOR = '<~>');
CREATE OPERATOR <~> (LEFTARG = varbit, RIGHTARG = varbit,
	FUNCTION = hamming_distance, COMMUTATOR = '<~>');
CREATE OPERATOR <%> (LEFTARG = bit, RIGHTARG = bit,
	FUNCTION = jaccard_distance, COMMUTATOR = '<%>');
CREATE OPERATOR <%> (LEFTARG = varbit, RIGHTARG = varbit,
	FUNCTION = jaccard_distance, COMMUTATOR = '<%>');

-- Distances on int4[] ----------------------------------------------------

CREATE FUNCTION hamming_distance(int4[], int4[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_int4_hamming_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION hamming_distance(int4[], int4[]) IS 'number of positions whose values differ';

CREATE FUNCTION jaccard_distance(int4[], int4[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_int4_jaccard_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION jaccard_distance(int4[], int4[]) IS 'Jaccard distance of the arrays taken as sets';

CREATE OPERATOR <~> (LEFTARG = int4[], RIGHTARG = int4[],
	FUNCTION = hamming_distance, COMMUTATOR = '<~>');
CREATE OPERATOR <%> (LEFTARG = int4[], RIGHTARG = int4[],
	FUNCTION = jaccard_distance, COMMUTATOR = '<%>');

-- Operator classes -------------------------------------------------------

CREATE OPERATOR CLASS float4_l2_ops DEFAULT FOR TYPE real[] USING hnsw AS
	OPERATOR 1 <-> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 l2_distance(real[], real[]);

CREATE OPERATOR CLASS float4_cosine_ops FOR TYPE real[] USING hnsw AS
	OPERATOR 1 <=> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 cosine_distance(real[], real[]);

CREATE OPERATOR CLASS float4_l1_ops FOR TYPE real[] USING hnsw AS
	OPERATOR 1 <+> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 l1_distance(real[], real[]);

CREATE OPERATOR CLASS float4_ip_ops FOR TYPE real[] USING hnsw AS
	OPERATOR 1 <#> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 negative_inner_product(real[], real[]);

CREATE OPERATOR CLASS bit_hamming_ops DEFAULT FOR TYPE bit USING hnsw AS
	OPERATOR 1 <~> (bit, bit) FOR ORDER BY float_ops,
	FUNCTION 1 hamming_distance(bit, bit);

CREATE OPERATOR CLASS bit_jaccard_ops FOR TYPE bit USING hnsw AS
	OPERATOR 1 <%> (bit, bit) FOR ORDER BY float_ops,
	FUNCTION 1 jaccard_distance(bit, bit);

CREATE OPERATOR CLASS varbit_hamming_ops DEFAULT FOR TYPE varbit USING hnsw AS
	OPERATOR 1 <~> (varbit, varbit) FOR ORDER BY float_ops,
	FUNCTION 1 hamming_distance(varbit, varbit);

CREATE OPERATOR CLASS varbit_jaccard_ops FOR TYPE varbit USING hnsw AS
	OPERATOR 1 <%> (varbit, varbit) FOR ORDER BY float_ops,
	FUNCTION 1 jaccard_distance(varbit, varbit);

CREATE OPERATOR CLASS int4_jaccard_ops FOR TYPE int4[] USING hnsw AS
	OPERATOR 1 <%> (int4[], int4[]) FOR ORDER BY float_ops,
	FUNCTION 1 jaccard_distance(int4[], int4[]);

CREATE OPERATOR CLASS int4_hamming_ops FOR TYPE int4[] USING hnsw AS
	OPERATOR 1 <~> (int4[], int4[]) FOR ORDER BY float_ops,
	FUNCTION 1 hamming_distance(int4[], int4[]);

-- Kernel inspection, for tests and support ------------------------------

CREATE FUNCTION hnsw_kernels() RETURNS SETOF text
	AS 'MODULE_PATHNAME', 'hnsw_kernel_list'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION hnsw_kernels() IS 'distance kernel tables this CPU can run, for hnsw.kernel';

-- Verification ------------------------------------------------------------

CREATE FUNCTION hnsw_verify(index regclass,
	OUT blkno bigint, OUT offnum integer, OUT problem text)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'hnsw_verify'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION hnsw_verify(regclass) IS 'check an hnsw index: metapage, pages, tuples, neighbour references, reachability; no rows when healthy';

-- Introspection -----------------------------------------------------------

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

-- More distances: probability vectors, float8[], int2[] and int8[], text --

CREATE FUNCTION hellinger_distance(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_hellinger_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION hellinger_distance(real[], real[]) IS 'Hellinger distance of two probability vectors (no negative entries)';
CREATE FUNCTION jensen_shannon_distance(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_jensen_shannon_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION jensen_shannon_distance(real[], real[]) IS 'square root of the Jensen-Shannon divergence (natural logarithm) of two probability vectors';
CREATE FUNCTION jeffreys_divergence(real[], real[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_jeffreys_divergence'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
COMMENT ON FUNCTION jeffreys_divergence(real[], real[]) IS 'Jeffreys divergence (symmetrised Kullback-Leibler) of two probability vectors; infinite where one has a zero the other has not';

CREATE OPERATOR <^> (LEFTARG = real[], RIGHTARG = real[],
	FUNCTION = hellinger_distance, COMMUTATOR = '<^>');
CREATE OPERATOR <!> (LEFTARG = real[], RIGHTARG = real[],
	FUNCTION = jensen_shannon_distance, COMMUTATOR = '<!>');
CREATE OPERATOR <&> (LEFTARG = real[], RIGHTARG = real[],
	FUNCTION = jeffreys_divergence, COMMUTATOR = '<&>');

CREATE FUNCTION float8_l2_distance(float8[], float8[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_float8_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION float8_cosine_distance(float8[], float8[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_float8_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION float8_l1_distance(float8[], float8[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_float8_l1_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION float8_inner_product(float8[], float8[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_float8_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION float8_negative_inner_product(float8[], float8[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_float8_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;

CREATE OPERATOR <-> (LEFTARG = float8[], RIGHTARG = float8[],
	FUNCTION = float8_l2_distance, COMMUTATOR = '<->');
CREATE OPERATOR <=> (LEFTARG = float8[], RIGHTARG = float8[],
	FUNCTION = float8_cosine_distance, COMMUTATOR = '<=>');
CREATE OPERATOR <+> (LEFTARG = float8[], RIGHTARG = float8[],
	FUNCTION = float8_l1_distance, COMMUTATOR = '<+>');
CREATE OPERATOR <#> (LEFTARG = float8[], RIGHTARG = float8[],
	FUNCTION = float8_negative_inner_product, COMMUTATOR = '<#>');

CREATE FUNCTION hamming_distance(int2[], int2[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_int2_hamming_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION jaccard_distance(int2[], int2[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_int2_jaccard_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION hamming_distance(int8[], int8[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_int8_hamming_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION jaccard_distance(int8[], int8[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_int8_jaccard_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;

CREATE OPERATOR <~> (LEFTARG = int2[], RIGHTARG = int2[],
	FUNCTION = hamming_distance, COMMUTATOR = '<~>');
CREATE OPERATOR <%> (LEFTARG = int2[], RIGHTARG = int2[],
	FUNCTION = jaccard_distance, COMMUTATOR = '<%>');
CREATE OPERATOR <~> (LEFTARG = int8[], RIGHTARG = int8[],
	FUNCTION = hamming_distance, COMMUTATOR = '<~>');
CREATE OPERATOR <%> (LEFTARG = int8[], RIGHTARG = int8[],
	FUNCTION = jaccard_distance, COMMUTATOR = '<%>');

CREATE FUNCTION levenshtein_distance(text, text) RETURNS float8
	AS 'MODULE_PATHNAME', 'hnsw_levenshtein_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION levenshtein_distance(text, text) IS 'fewest character insertions, deletions and substitutions between two strings (at most 2000 characters each)';
CREATE OPERATOR <~> (LEFTARG = text, RIGHTARG = text,
	FUNCTION = levenshtein_distance, COMMUTATOR = '<~>');

CREATE OPERATOR CLASS float4_hellinger_ops FOR TYPE real[] USING hnsw AS
	OPERATOR 1 <^> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 hellinger_distance(real[], real[]);
CREATE OPERATOR CLASS float4_jensen_shannon_ops FOR TYPE real[] USING hnsw AS
	OPERATOR 1 <!> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 jensen_shannon_distance(real[], real[]);
CREATE OPERATOR CLASS float4_jeffreys_ops FOR TYPE real[] USING hnsw AS
	OPERATOR 1 <&> (real[], real[]) FOR ORDER BY float_ops,
	FUNCTION 1 jeffreys_divergence(real[], real[]);
CREATE OPERATOR CLASS float8_l2_ops DEFAULT FOR TYPE float8[] USING hnsw AS
	OPERATOR 1 <-> (float8[], float8[]) FOR ORDER BY float_ops,
	FUNCTION 1 float8_l2_distance(float8[], float8[]);
CREATE OPERATOR CLASS float8_cosine_ops FOR TYPE float8[] USING hnsw AS
	OPERATOR 1 <=> (float8[], float8[]) FOR ORDER BY float_ops,
	FUNCTION 1 float8_cosine_distance(float8[], float8[]);
CREATE OPERATOR CLASS float8_l1_ops FOR TYPE float8[] USING hnsw AS
	OPERATOR 1 <+> (float8[], float8[]) FOR ORDER BY float_ops,
	FUNCTION 1 float8_l1_distance(float8[], float8[]);
CREATE OPERATOR CLASS float8_ip_ops FOR TYPE float8[] USING hnsw AS
	OPERATOR 1 <#> (float8[], float8[]) FOR ORDER BY float_ops,
	FUNCTION 1 float8_negative_inner_product(float8[], float8[]);
CREATE OPERATOR CLASS int2_hamming_ops FOR TYPE int2[] USING hnsw AS
	OPERATOR 1 <~> (int2[], int2[]) FOR ORDER BY float_ops,
	FUNCTION 1 hamming_distance(int2[], int2[]);
CREATE OPERATOR CLASS int2_jaccard_ops FOR TYPE int2[] USING hnsw AS
	OPERATOR 1 <%> (int2[], int2[]) FOR ORDER BY float_ops,
	FUNCTION 1 jaccard_distance(int2[], int2[]);
CREATE OPERATOR CLASS int8_hamming_ops FOR TYPE int8[] USING hnsw AS
	OPERATOR 1 <~> (int8[], int8[]) FOR ORDER BY float_ops,
	FUNCTION 1 hamming_distance(int8[], int8[]);
CREATE OPERATOR CLASS int8_jaccard_ops FOR TYPE int8[] USING hnsw AS
	OPERATOR 1 <%> (int8[], int8[]) FOR ORDER BY float_ops,
	FUNCTION 1 jaccard_distance(int8[], int8[]);
CREATE OPERATOR CLASS text_levenshtein_ops DEFAULT FOR TYPE text USING hnsw AS
	OPERATOR 1 <~> (text, text) FOR ORDER BY float_ops,
	FUNCTION 1 levenshtein_distance(text, text);

-- Filter columns ----------------------------------------------------------
-- The columns after the first of an hnsw index: the scan checks quals on
-- them (=, <, <=, >, >=, = ANY, and &&, @>, <@ on arrays) while it walks
-- the graph, and returns only the rows that pass.

CREATE OPERATOR CLASS int2_filter_ops DEFAULT FOR TYPE int2 USING hnsw AS
	OPERATOR 2 < (int2, int2), OPERATOR 3 <= (int2, int2),
	OPERATOR 4 = (int2, int2), OPERATOR 5 >= (int2, int2),
	OPERATOR 6 > (int2, int2),
	OPERATOR 2 < (int2, int4), OPERATOR 3 <= (int2, int4),
	OPERATOR 4 = (int2, int4), OPERATOR 5 >= (int2, int4),
	OPERATOR 6 > (int2, int4);
CREATE OPERATOR CLASS int4_filter_ops DEFAULT FOR TYPE int4 USING hnsw AS
	OPERATOR 2 < (int4, int4), OPERATOR 3 <= (int4, int4),
	OPERATOR 4 = (int4, int4), OPERATOR 5 >= (int4, int4),
	OPERATOR 6 > (int4, int4),
	OPERATOR 2 < (int4, int8), OPERATOR 3 <= (int4, int8),
	OPERATOR 4 = (int4, int8), OPERATOR 5 >= (int4, int8),
	OPERATOR 6 > (int4, int8);
CREATE OPERATOR CLASS int8_filter_ops DEFAULT FOR TYPE int8 USING hnsw AS
	OPERATOR 2 < (int8, int8), OPERATOR 3 <= (int8, int8),
	OPERATOR 4 = (int8, int8), OPERATOR 5 >= (int8, int8),
	OPERATOR 6 > (int8, int8),
	OPERATOR 2 < (int8, int4), OPERATOR 3 <= (int8, int4),
	OPERATOR 4 = (int8, int4), OPERATOR 5 >= (int8, int4),
	OPERATOR 6 > (int8, int4);
CREATE OPERATOR CLASS bool_filter_ops DEFAULT FOR TYPE boolean USING hnsw AS
	OPERATOR 4 = (boolean, boolean);
CREATE OPERATOR CLASS int4_array_filter_ops DEFAULT FOR TYPE int4[] USING hnsw AS
	OPERATOR 4 = (anyarray, anyarray), OPERATOR 7 && (anyarray, anyarray),
	OPERATOR 8 @> (anyarray, anyarray), OPERATOR 9 <@ (anyarray, anyarray);
CREATE OPERATOR CLASS int8_array_filter_ops DEFAULT FOR TYPE int8[] USING hnsw AS
	OPERATOR 4 = (anyarray, anyarray), OPERATOR 7 && (anyarray, anyarray),
	OPERATOR 8 @> (anyarray, anyarray), OPERATOR 9 <@ (anyarray, anyarray);
CREATE OPERATOR CLASS text_array_filter_ops DEFAULT FOR TYPE text[] USING hnsw AS
	OPERATOR 4 = (anyarray, anyarray), OPERATOR 7 && (anyarray, anyarray),
	OPERATOR 8 @> (anyarray, anyarray), OPERATOR 9 <@ (anyarray, anyarray);
-- text's default class is the Levenshtein distance (for a first column);
-- as a filter column, text is compared with its collation's order
ALTER OPERATOR FAMILY text_levenshtein_ops USING hnsw ADD
	OPERATOR 2 < (text, text), OPERATOR 3 <= (text, text),
	OPERATOR 4 = (text, text), OPERATOR 5 >= (text, text),
	OPERATOR 6 > (text, text);
