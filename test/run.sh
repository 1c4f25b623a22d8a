#!/bin/bash
# The whole test suite of hnsw, on a fresh Debian 12 machine, as root:
# installs what it needs, builds and installs the extension, checks the
# distance kernels (natively and under valgrind), then runs the pg_regress
# tests in a throwaway cluster (pg_virtualenv) and the TAP tests
# (PostgreSQL::Test::Cluster), the pg_regress tests against a server under
# valgrind, and the benchmark in its small mode; all as the "postgres" user
# because PostgreSQL refuses to run as root.
#
#   sudo bash test/run.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PG_MAJOR=15

packages="build-essential postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-common
	libipc-run-perl valgrind"
make -C "$top" -s clean >/dev/null 2>&1 || true
. "$top/test/setup.sh"

passed=0
failed=0
# run one stage of the suite, counting it; the suite goes on after a failure
stage()
{
	local name=$1
	shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "=== $name FAILED"
	fi
}

# The distance kernels on their own: every table against the scalar
# reference, natively and under valgrind (which has no AVX-512)
make -C "$top" -s test/kernels_check
stage "kernels" "$top/test/kernels_check"
stage "kernels under valgrind" env HNSW_KERNELS_SKIP=avx512 \
	valgrind -q --error-exitcode=1 "$top/test/kernels_check"

# The tests write results next to their inputs: give the postgres user a copy
work=$(mktemp -d /tmp/hnsw-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$top/Makefile" "$top/hnsw.control" "$top/sql" "$top/expected" "$top/test" "$top/src" "$work/"
chown -R postgres:postgres "$work"

regress_and_tap()
{
	local status=0

	runuser -u postgres -- env PG_CONFIG="$PG_CONFIG" \
		pg_virtualenv -v $PG_MAJOR make -C "$work" installcheck || status=$?
	if [ $status -ne 0 ] && [ -f "$work/regression.diffs" ]; then
		cat "$work/regression.diffs"
	fi
	# the TAP tests' server logs say why a node stopped or fell behind
	if [ $status -ne 0 ] && [ -d "$work/tmp_check/log" ]; then
		for f in "$work"/tmp_check/log/*.log; do
			echo "*** $f (last 60 lines)"
			tail -n 60 "$f"
		done
	fi
	rm -f "$work/regression.diffs"
	return $status
}
stage "pg_regress and TAP" regress_and_tap

# The regression tests once more, against a server running under valgrind:
# any memory error in a stack through hnsw.so fails the run (a few minutes)
stage "pg_regress under valgrind" \
	runuser -u postgres -- env PG_CONFIG="$PG_CONFIG" bash "$work/test/valgrind.sh"

# The benchmark in its small mode (10,000 Fashion-MNIST images, a couple of
# minutes): it must run through, and its figures must be sane (speed is
# reported there, not judged here)
small_benchmark()
{
	local out
	out=$(mktemp -d /tmp/hnsw-bench.XXXXXX)
	HNSW_OUT="$out" bash "$top/bench/demo.sh" --small &&
		/usr/bin/python3 - "$out/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
best = max(p["recall"] for p in r["sweep"])
assert best >= 0.95, f"recall {best} at the largest ef_search"
assert r["hnswlib"]["sweep"] and r["ratios"]["build"] > 0
print(f"small benchmark: recall up to {best:.4f}; figures in {sys.argv[1]}")
PY
}
stage "benchmark (small)" small_benchmark

echo "test/run.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]
