-- Every kernel table this CPU can run gives the scalar reference's
-- distances, on lengths that exercise every tail of the vector loops.

SELECT setseed(0.75);
CREATE TABLE kernel_inputs AS
	SELECT n, k,
		ARRAY(SELECT (random() * 2 - 1 + 0 * k)::real FROM generate_series(1, n)) AS a,
		ARRAY(SELECT (random() * 2 - 1 + 0 * k)::real FROM generate_series(1, n)) AS b,
		(SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
		 FROM generate_series(1, n * 8 + k))::varbit AS ba,
		(SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
		 FROM generate_series(1, n * 8 + k))::varbit AS bb
	FROM generate_series(1, 67) n, generate_series(0, 2) k;

CREATE FUNCTION kernel_results() RETURNS TABLE (n int, k int, l2 float8, cos float8,
	l1 float8, ip float8, ham float8, jac float8)
LANGUAGE sql AS $$
	SELECT n, k, a <-> b, a <=> b, a <+> b, a <#> b, ba <~> bb, ba <%> bb
	FROM kernel_inputs
$$;

SET hnsw.kernel = 'scalar';
CREATE TABLE reference AS SELECT * FROM kernel_results();

-- relative error against the scalar kernels, per table
CREATE FUNCTION kernel_mismatches(kernel text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint;
BEGIN
	PERFORM set_config('hnsw.kernel', kernel, true);
	SELECT count(*) INTO bad
	FROM kernel_results() r JOIN reference s USING (n, k)
	WHERE abs(r.l2 - s.l2) > 1e-5 * greatest(1, abs(s.l2))
	   OR abs(r.cos - s.cos) > 1e-5
	   OR abs(r.l1 - s.l1) > 1e-5 * greatest(1, abs(s.l1))
	   OR abs(r.ip - s.ip) > 1e-5 * greatest(1, abs(s.ip))
	   OR r.ham <> s.ham OR r.jac <> s.jac;
	RETURN bad;
END $$;

SELECT count(*) > 0 AS has_scalar FROM hnsw_kernels() WHERE hnsw_kernels = 'scalar';
-- (which tables there are depends on the CPU; the sum must be 0 on all)
SELECT sum(kernel_mismatches(kernel)) AS mismatches FROM hnsw_kernels() AS kernel;

-- the exact Hamming counts against a plain SQL count
SELECT count(*) AS hamming_wrong FROM kernel_inputs
WHERE (ba <~> bb) <> length(replace((ba # bb)::text, '0', ''));
RESET hnsw.kernel;
