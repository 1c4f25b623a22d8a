-- hnsw 0.2.0 -> 0.3.0: filter columns (operator classes for the columns
-- after the first).  Indexes built by 0.2.0 keep working unchanged.

\echo Use "ALTER EXTENSION hnsw UPDATE TO '0.3.0'" to load this file. \quit

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
