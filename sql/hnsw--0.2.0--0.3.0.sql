-- hnsw 0.2.0 -> 0.3.0: filter columns (operator classes for the columns
-- after the first).  Indexes built by 0.2.0 keep working unchanged.

\echo Use "ALTER EXTENSION hnsw UPDATE TO '0.3.0'" to load this file. \quit

-- The first release of 0.2.0 lacked the distances its script gained later
-- (probability vectors, float8[], int2[] and int8[], text): a database
-- installed from it gets them here, as 0.2.0's script now makes them.
DO $do$
BEGIN
	IF to_regprocedure('hellinger_distance(real[], real[])') IS NULL THEN
		EXECUTE $more$
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
$more$;
	END IF;
END
$do$;

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
