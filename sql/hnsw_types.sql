-- Distance functions and operators, and the checks on their arguments.

-- another access method named hnsw (pgvector's) gets a clear error
DROP EXTENSION hnsw;
CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER bthandler;
CREATE EXTENSION hnsw;
DROP ACCESS METHOD hnsw;
CREATE EXTENSION hnsw;
\dx hnsw

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
SELECT '{3e38,3e38}'::real[] <-> '{-3e38,-3e38}';
SELECT B'101' <~> B'10';
SELECT ''::varbit <~> ''::varbit;
SELECT '{1,2}'::int4[] <~> '{1}';
SELECT '{}'::int4[] <%> '{1}';
SELECT '{1,NULL}'::int4[] <%> '{1}';
SELECT l2_distance(array_fill(1::real, ARRAY[100001]), array_fill(1::real, ARRAY[100001]));

-- the kernel GUC
SHOW hnsw.kernel;
SET hnsw.kernel = 'none';
RESET hnsw.kernel;
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SET hnsw.nonexistent = 1;
