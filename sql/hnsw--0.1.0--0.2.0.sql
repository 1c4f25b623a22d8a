-- hnsw 0.1.0 -> 0.2.0: introspection functions and more distances.  Indexes built by 0.1.0
-- (format version 1) keep working; they have the defaults of the options
-- 0.2.0 adds (max_layers, level_scale, extend_candidates, keep_pruned).

\echo Use "ALTER EXTENSION hnsw UPDATE TO '0.2.0'" to load this file. \quit

-- The first release of 0.1.0 had neither hnsw_verify nor the distances'
-- COST 100, which its script gained later: a database installed from it
-- gets both here (CREATE OR REPLACE and ALTER are no-ops where it has them).
CREATE OR REPLACE FUNCTION hnsw_verify(index regclass,
	OUT blkno bigint, OUT offnum integer, OUT problem text)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'hnsw_verify'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION hnsw_verify(regclass) IS 'check an hnsw index: metapage, pages, tuples, neighbour references, reachability; no rows when healthy';
ALTER FUNCTION l2_distance(real[], real[]) COST 100;
ALTER FUNCTION cosine_distance(real[], real[]) COST 100;
ALTER FUNCTION l1_distance(real[], real[]) COST 100;
ALTER FUNCTION inner_product(real[], real[]) COST 100;
ALTER FUNCTION negative_inner_product(real[], real[]) COST 100;
ALTER FUNCTION hamming_distance(bit, bit) COST 100;
ALTER FUNCTION hamming_distance(varbit, varbit) COST 100;
ALTER FUNCTION jaccard_distance(bit, bit) COST 100;
ALTER FUNCTION jaccard_distance(varbit, varbit) COST 100;
ALTER FUNCTION hamming_distance(int4[], int4[]) COST 100;
ALTER FUNCTION jaccard_distance(int4[], int4[]) COST 100;

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
