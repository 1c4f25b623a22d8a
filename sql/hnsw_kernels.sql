-- Every kernel table this CPU can run, the scalar one included, gives the
-- distances plain SQL computes in double precision, on lengths that
-- exercise every tail of the vector loops; and every table the CPU's flags
-- call for is there.

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

-- the reference: each distance as its definition says, in float8
CREATE TABLE reference AS
SELECT i.n, i.k, f.l2, f.cos, f.l1, f.ip,
	length(replace((i.ba # i.bb)::text, '0', ''))::float8 AS ham,
	CASE WHEN length(replace((i.ba | i.bb)::text, '0', '')) = 0 THEN 0
		 ELSE 1 - length(replace((i.ba & i.bb)::text, '0', ''))::float8 /
				  length(replace((i.ba | i.bb)::text, '0', '')) END AS jac
FROM kernel_inputs i,
	LATERAL (SELECT sqrt(sum((x::float8 - y) ^ 2)) AS l2,
				1 - sum(x::float8 * y) / sqrt(sum(x::float8 * x) * sum(y::float8 * y)) AS cos,
				sum(abs(x::float8 - y)) AS l1,
				-sum(x::float8 * y) AS ip
			 FROM unnest(i.a, i.b) u(x, y)) f;

-- relative error against the reference, per table
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
	   OR r.ham <> s.ham OR abs(r.jac - s.jac) > 1e-12;
	RETURN bad;
END $$;

SELECT count(*) > 0 AS has_scalar FROM hnsw_kernels() WHERE hnsw_kernels = 'scalar';
-- (which tables there are depends on the CPU; the sum must be 0 on all)
SELECT sum(kernel_mismatches(kernel)) AS mismatches FROM hnsw_kernels() AS kernel;
RESET hnsw.kernel;

-- the tables the CPU's flags call for are all offered (x86-64 only: other
-- CPUs have the scalar table alone)
WITH flags AS (
	SELECT string_to_array(substring(pg_read_file('/proc/cpuinfo') FROM 'flags\s*:\s*([^\n]*)'), ' ') AS f)
SELECT cardinality(f) > 10 AS cpu_flags_read,
	(SELECT count(*)
	 FROM (VALUES ('avx2', ARRAY['avx2', 'fma', 'popcnt']), ('avx512', ARRAY['avx512f'])) t(kernel, needs)
	 WHERE f @> needs AND t.kernel NOT IN (SELECT hnsw_kernels FROM hnsw_kernels())) AS tables_missing
FROM flags;
