-- Distance functions and operators, and the checks on their arguments.

-- another access method named hnsw (pgvector's) gets a clear error
DROP EXTENSION hnsw;
CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER bthandler;
\set SHOW_CONTEXT never
CREATE EXTENSION hnsw;
\set SHOW_CONTEXT errors
DROP ACCESS METHOD hnsw;
CREATE EXTENSION hnsw;
SELECT extname, extversion FROM pg_extension WHERE extname = 'hnsw';

-- real[]
SELECT l2_distance('{0,0}', '{3,4}'), '{0,0}'::real[] <-> '{3,4}';
SELECT round(cosine_distance('{1,0}', '{0,1}')::numeric, 6), '{1,2}'::real[] <=> '{2,4}';
SELECT '{1,2}'::real[] <=> '{-1,-2}' AS opposite;
SELECT l1_distance('{1,2,3}', '{4,0,3}'), '{1,2,3}'::real[] <+> '{4,0,3}';
SELECT inner_product('{1,2,3}', '{4,5,6}'), negative_inner_product('{1,2,3}', '{4,5,6}'),
       '{1,2,3}'::real[] <#> '{4,5,6}';
-- a zero vector has no cosine distance: NaN sorts after every number
SELECT cosine_distance('{0,0}', '{1,1}');
-- bits
SELECT hamming_distance(B'10101', B'01101'), B'10101' <~> B'01101';
SELECT jaccard_distance(B'1100', B'0110'), B'1100' <%> B'0110', B'0000' <%> B'0000' AS both_empty;
SELECT '10101'::varbit <~> '10100'::varbit, '1100'::varbit <%> '1000'::varbit;
-- int4[]
SELECT hamming_distance('{1,2,3}'::int4[], '{1,5,3}'), '{1,2,3}'::int4[] <~> '{3,2,1}';
SELECT jaccard_distance('{1,2,3}'::int4[], '{3,4}'), '{1,1,2}'::int4[] <%> '{2,1}' AS same_set;
-- NULL arguments: the functions are strict
SELECT l2_distance(NULL, '{1}') IS NULL AS is_null;

-- bad input
SELECT '{}'::real[] <-> '{}';
SELECT '{1,2}'::real[] <-> '{1,2,3}';
SELECT '{1,NULL}'::real[] <-> '{1,2}';
SELECT '{{1,2},{3,4}}'::real[] <-> '{{1,2},{3,4}}';
SELECT '{1,NaN}'::real[] <-> '{1,2}';
SELECT '{1,Infinity}'::real[] <=> '{1,2}';
SELECT '{-Infinity,1}'::real[] <+> '{1,2}';
-- anywhere in a longer vector (the check goes four floats a step)
SELECT '{1,2,3,4,5,6,NaN,8,9}'::real[] <-> '{1,2,3,4,5,6,7,8,9}';
SELECT '{1,2,3,4,5,6,7,8,-Infinity}'::real[] <-> '{1,2,3,4,5,6,7,8,9}';
SELECT '{1,2,3,4,5,6,7,8,9}'::real[] <-> '{1,2,3,4,5,Infinity,7,8,9}';
SELECT '{1,2,3,4,5,6,7,8,9}'::real[] <-> '{1,2,3,4,5,6,7,8,9}';
SELECT '{3e38,3e38}'::real[] <-> '{-3e38,-3e38}';
SELECT B'101' <~> B'10';
SELECT ''::varbit <~> ''::varbit;
SELECT '{1,2}'::int4[] <~> '{1}';
SELECT '{}'::int4[] <%> '{1}';
SELECT '{1,NULL}'::int4[] <%> '{1}';
SELECT l2_distance(array_fill(1::real, ARRAY[100001]), array_fill(1::real, ARRAY[100001]));

-- TOASTed arguments: a value behind the same TOAST pointer as in the call
-- before is fetched once and kept; another pointer is another value
CREATE TABLE toasted (id int, v real[]);
ALTER TABLE toasted ALTER COLUMN v SET STORAGE EXTERNAL;
INSERT INTO toasted SELECT i, ARRAY(SELECT ((i * 1000 + k) % 997) / 997.0
	FROM generate_series(1, 1000) k)::real[] FROM generate_series(1, 20) i;
SELECT pg_relation_size(reltoastrelid) > 0 AS out_of_line FROM pg_class WHERE relname = 'toasted';
SELECT count(*) AS pairs,
	bool_and(a.v <-> b.v = (a.v || '{}'::real[]) <-> (b.v || '{}'::real[])) AS same,
	bool_and(a.v <=> b.v IS NOT DISTINCT FROM (a.v || '{}'::real[]) <=> (b.v || '{}'::real[])) AS same_cosine
FROM toasted a, toasted b;
SELECT count(*) AS rows, bool_and(d = e) AS same FROM (
	SELECT v <-> (SELECT v FROM toasted WHERE id = 3) AS d,
		(v || '{}'::real[]) <-> ((SELECT v FROM toasted WHERE id = 3) || '{}'::real[]) AS e
	FROM toasted) s;
DROP TABLE toasted;
-- values compressed in the row: the same compressed bytes as in the call
-- before are decompressed once; values of the same compressed size but
-- other bytes are other values
CREATE TABLE compressed (id int, v real[]);
ALTER TABLE compressed ALTER COLUMN v SET STORAGE MAIN;
INSERT INTO compressed SELECT i, ARRAY(SELECT (k / 100 + i % 5 + (i / 5) * 0.25)::real
	FROM generate_series(1, 1000) k) FROM generate_series(1, 20) i;
SELECT count(*) AS rows, bool_and(pg_column_compression(v) IS NOT NULL) AS all_compressed,
	count(DISTINCT pg_column_size(v)) < 20 AS sizes_shared
	FROM compressed;
SELECT count(*) AS pairs,
	bool_and(a.v <-> b.v = (a.v || '{}'::real[]) <-> (b.v || '{}'::real[])) AS same,
	bool_and(a.v <#> b.v = (a.v || '{}'::real[]) <#> (b.v || '{}'::real[])) AS same_ip
FROM compressed a, compressed b;
SELECT count(*) AS rows, bool_and(d = e) AS same, count(DISTINCT d) AS distinct_distances FROM (
	SELECT v <-> (SELECT v FROM compressed WHERE id = 7) AS d,
		(v || '{}'::real[]) <-> ((SELECT v FROM compressed WHERE id = 7) || '{}'::real[]) AS e
	FROM compressed) s;
DROP TABLE compressed;

-- the kernel GUC
SHOW hnsw.kernel;
SET hnsw.kernel = 'none';
RESET hnsw.kernel;
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SET hnsw.nonexistent = 1;
