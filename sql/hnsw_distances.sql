-- The distances beyond the SIMD kernels: values, errors, and indexes.
SET client_min_messages = warning;

-- probability vectors
SELECT round(hellinger_distance('{0.5,0.5}', '{0.5,0.5}')::numeric, 6) AS same,
       round(hellinger_distance('{1,0}', '{0,1}')::numeric, 6) AS disjoint,
       round(hellinger_distance('{0.25,0.75}', '{0.5,0.5}')::numeric, 6) AS between;
SELECT round(jensen_shannon_distance('{0.5,0.5}', '{0.5,0.5}')::numeric, 6) AS same,
       round(jensen_shannon_distance('{1,0}', '{0,1}')::numeric, 6) AS disjoint_sqrt_ln2,
       round(sqrt(ln(2))::numeric, 6) AS sqrt_ln2;
SELECT round(jeffreys_divergence('{0.25,0.75}', '{0.5,0.5}')::numeric, 6) AS finite,
       jeffreys_divergence('{1,0}', '{0.5,0.5}') AS infinite,
       jeffreys_divergence('{0,1}', '{0,1}') AS zero_where_both_zero;
SELECT '{0.2,0.8}'::real[] <^> '{0.8,0.2}', '{0.2,0.8}'::real[] <!> '{0.8,0.2}' > 0 AS js,
       '{0.2,0.8}'::real[] <&> '{0.8,0.2}' > 0 AS jeffreys;
SELECT hellinger_distance('{0.5,-0.5}', '{0.5,0.5}');
SELECT jensen_shannon_distance('{0.5,0.5}', '{0.3,0.3,0.4}');
SELECT jeffreys_divergence('{NaN,1}', '{0.5,0.5}');

-- float8[]
SELECT float8_l2_distance('{0,0}'::float8[], '{3,4}'::float8[]) AS l2,
       float8_l1_distance('{0,0}'::float8[], '{3,4}'::float8[]) AS l1,
       float8_inner_product('{1,2}'::float8[], '{3,4}'::float8[]) AS ip,
       float8_negative_inner_product('{1,2}'::float8[], '{3,4}'::float8[]) AS nip,
       float8_cosine_distance('{1,0}'::float8[], '{0,1}'::float8[]) AS cos,
       float8_cosine_distance('{0,0}'::float8[], '{0,1}'::float8[]) AS cos_zero;
SELECT '{1e300,0}'::float8[] <-> '{-1e300,0}'::float8[];
SELECT '{1,2}'::float8[] <-> '{1,2,3}'::float8[];
SELECT '{1,NaN}'::float8[] <-> '{1,2}'::float8[];
SELECT '{}'::float8[] <-> '{}'::float8[];

-- int2[] and int8[]
SELECT hamming_distance('{1,2,3}'::int2[], '{1,5,3}'::int2[]) AS h2,
       jaccard_distance('{1,2,2,3}'::int2[], '{3,2,4}'::int2[]) AS j2,
       hamming_distance('{1,2,3}'::int8[], '{4,5,3}'::int8[]) AS h8,
       jaccard_distance('{9000000000,1}'::int8[], '{1,9000000000}'::int8[]) AS j8;
SELECT '{1,2}'::int8[] <~> '{1}'::int8[];
SELECT '{1,NULL}'::int2[] <%> '{1}'::int2[];

-- text
SELECT levenshtein_distance('kitten', 'sitting') AS kitten,
       levenshtein_distance('', 'abc') AS from_empty,
       levenshtein_distance('héllo', 'hello') AS by_character,
       'flaw'::text <~> 'lawn' AS flaw;
SELECT levenshtein_distance(repeat('a', 2001), 'a');
-- the same as fuzzystrmatch's levenshtein on 3,000 random pairs of 0 to 90
-- characters (up to 64 in the shorter string the distance is computed a
-- column of bits at a time, past that a character at a time), some of
-- them past ASCII
CREATE EXTENSION fuzzystrmatch;
SELECT setseed(0.17);
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE levenshtein_distance(a, b) <> levenshtein(a, b)) AS differ,
       count(*) FILTER (WHERE least(length(a), length(b)) > 64) AS both_past_64
FROM (SELECT (SELECT coalesce(string_agg(substr('abcé0ж', 1 + (random() * 5)::int, 1), ''), '')
              FROM generate_series(1, (random() * 90)::int + 0 * i)) AS a,
             (SELECT coalesce(string_agg(substr('abcé0ж', 1 + (random() * 5)::int, 1), ''), '')
              FROM generate_series(1, (random() * 90)::int + 0 * i)) AS b
      FROM generate_series(1, 3000) i) pairs;
DROP EXTENSION fuzzystrmatch;

-- every new operator class validates
SELECT opcname, amvalidate(oid) FROM pg_opclass
WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'hnsw')
  AND opcname IN ('float4_hellinger_ops', 'float4_jensen_shannon_ops', 'float4_jeffreys_ops',
                  'float8_l2_ops', 'float8_cosine_ops', 'float8_l1_ops', 'float8_ip_ops',
                  'int2_hamming_ops', 'int2_jaccard_ops', 'int8_hamming_ops', 'int8_jaccard_ops',
                  'text_levenshtein_ops')
ORDER BY opcname;

-- indexes: recall@10 against an exact scan, 20 queries, seeded data
SELECT setseed(0.42);
CREATE TABLE d (id int, p real[], f float8[], s int2[], l int8[], t text);
INSERT INTO d SELECT i, p, f, s, l, t FROM (
	SELECT i,
		ARRAY(SELECT random() + 1e-4 + 0 * i FROM generate_series(1, 12))::real[] AS p,
		ARRAY(SELECT random() - 0.5 + 0 * i FROM generate_series(1, 12))::float8[] AS f,
		ARRAY(SELECT (random() * 8)::int2 + 0 * i FROM generate_series(1, 24)) AS s,
		ARRAY(SELECT (random() * 40)::int8 + 0 * i FROM generate_series(1, 10)) AS l,
		(SELECT string_agg(chr(97 + (random() * 6)::int + 0 * i + 0 * g), '') FROM generate_series(1, 12) g) AS t
	FROM generate_series(1, 1000) i) x;
-- probability distributions (positive everywhere, so Jeffreys is finite)
UPDATE d SET p = (SELECT array_agg(x / total)::real[]
	FROM unnest(p) x, (SELECT sum(y) AS total FROM unnest(p) y) t);

-- recall@10 of the index on col for op; raises an error unless the query
-- is an index scan (no sort), and unless 10 arbitrary rows (the first by
-- id) score below 0.5 by the same measure, the negative control
CREATE FUNCTION d_recall(col text, op text, castto text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	hits int := 0;
	arbitrary int := 0;
	q text;
	kth float8;
	got int;
	plan text;
	line text;
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL hnsw.ef_search = 100;
	FOR q IN EXECUTE format('SELECT %I::text FROM d WHERE id <= 20', col) LOOP
		-- the exact 10th distance (+ 0 keeps the index out of it)
		EXECUTE format('SELECT (%1$I %2$s %3$L::%4$s) + 0 AS dist FROM d ORDER BY 1 OFFSET 9 LIMIT 1',
					   col, op, q, castto) INTO kth;
		plan := '';
		FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT %1$I %2$s %3$L::%4$s AS dist FROM d
						ORDER BY %1$I %2$s %3$L::%4$s LIMIT 10', col, op, q, castto) LOOP
			plan := plan || line || E'\n';
		END LOOP;
		IF plan !~ 'Index (Only )?Scan using \S+ on d' OR plan ~ 'Sort' THEN
			RAISE EXCEPTION 'the recall query for % % does not use an hnsw index: %', col, op, plan;
		END IF;
		EXECUTE format('SELECT count(*) FROM (SELECT %1$I %2$s %3$L::%4$s AS dist FROM d
						ORDER BY %1$I %2$s %3$L::%4$s LIMIT 10) a WHERE dist <= $1',
					   col, op, q, castto) INTO got USING kth;
		hits := hits + got;
		EXECUTE format('SELECT count(*) FROM (SELECT %1$I %2$s %3$L::%4$s AS dist FROM d
						ORDER BY id LIMIT 10) a WHERE dist <= $1',
					   col, op, q, castto) INTO got USING kth;
		arbitrary := arbitrary + got;
	END LOOP;
	IF arbitrary >= 100 THEN
		RAISE EXCEPTION 'recall of 10 arbitrary rows for % % is %: the measure cannot fail',
			col, op, arbitrary / 200.0;
	END IF;
	RETURN hits / 200.0;
END $$;

CREATE INDEX ON d USING hnsw (p float4_hellinger_ops);
SELECT d_recall('p', '<^>', 'real[]') >= 0.95 AS hellinger_ok;
CREATE INDEX ON d USING hnsw (p float4_jensen_shannon_ops);
SELECT d_recall('p', '<!>', 'real[]') >= 0.95 AS jensen_shannon_ok;
CREATE INDEX ON d USING hnsw (p float4_jeffreys_ops);
SELECT d_recall('p', '<&>', 'real[]') >= 0.95 AS jeffreys_ok;
CREATE INDEX ON d USING hnsw (f);
SELECT d_recall('f', '<->', 'float8[]') >= 0.95 AS float8_l2_ok;
CREATE INDEX ON d USING hnsw (f float8_cosine_ops);
SELECT d_recall('f', '<=>', 'float8[]') >= 0.95 AS float8_cosine_ok;
CREATE INDEX ON d USING hnsw (f float8_l1_ops);
SELECT d_recall('f', '<+>', 'float8[]') >= 0.95 AS float8_l1_ok;
CREATE INDEX ON d USING hnsw (f float8_ip_ops);
SELECT d_recall('f', '<#>', 'float8[]') >= 0.95 AS float8_ip_ok;
CREATE INDEX ON d USING hnsw (s int2_hamming_ops);
SELECT d_recall('s', '<~>', 'int2[]') >= 0.95 AS int2_hamming_ok;
CREATE INDEX ON d USING hnsw (s int2_jaccard_ops);
SELECT d_recall('s', '<%>', 'int2[]') >= 0.95 AS int2_jaccard_ok;
CREATE INDEX ON d USING hnsw (l int8_hamming_ops);
SELECT d_recall('l', '<~>', 'int8[]') >= 0.95 AS int8_hamming_ok;
CREATE INDEX ON d USING hnsw (l int8_jaccard_ops);
SELECT d_recall('l', '<%>', 'int8[]') >= 0.95 AS int8_jaccard_ok;
CREATE INDEX d_t_idx ON d USING hnsw (t);
SELECT d_recall('t', '<~>', 'text') >= 0.95 AS levenshtein_ok;
EXPLAIN (COSTS OFF) SELECT id FROM d ORDER BY t <~> 'abcabc' LIMIT 3;

-- the index refuses what the functions refuse, at the row that is wrong
INSERT INTO d (id, p) VALUES (0, '{0.5,-0.5,0,0,0,0,0,0,0,0,0,0}');
INSERT INTO d (id, f) VALUES (0, '{1,2}');
INSERT INTO d (id, t) VALUES (0, repeat('x', 3000));
-- a zero vector has no cosine distance: not indexed, like float4's
INSERT INTO d (id, f) VALUES (-1, '{0,0,0,0,0,0,0,0,0,0,0,0}');
DROP TABLE d;
DROP FUNCTION d_recall(text, text, text);
