#!/bin/bash
# The whole test suite of hnsw, on a fresh Debian 12 machine, as root:
# installs what it needs, and for each server version (PostgreSQL 15 from
# Debian, 18 built from ../shared/vendor) builds and installs the extension
# and runs the pg_regress and TAP tests (PostgreSQL::Test::Cluster) in
# throwaway clusters, as the "postgres" user because PostgreSQL refuses to
# run as root.  Once: the distance kernels natively and under valgrind, the
# pg_regress tests against a server under valgrind (PostgreSQL 18 with
# assertions and USE_VALGRIND, built for the fuzz stage),
# pg_upgrade from 15 to 18 (TAP test 006, when both are tested), Citus
# (TAP 009, on 18: built from ../shared/vendor too), indexes of the older
# on-disk formats built by their commits (TAP 011, on 15), the fuzz stage
# (test/fuzz.sh, on an assertion-enabled build of 18), the pgindent style
# of the C sources, and the benchmark in its small mode (on the last
# version).  Everything is compiled with -Werror.
#
#   sudo bash test/run.sh [--pg 15|18] ...     (default: every version)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
packages="valgrind dataset-fashion-mnist"
. "$top/test/pg.sh"
# the suite builds with every warning an error
export HNSW_MAKEFLAGS="COPT=-Werror"

versions=""
while [ $# -gt 0 ]; do
	case $1 in
		--pg)
			versions="$versions $2"
			shift 2
			;;
		*)
			echo "usage: $0 [--pg 15|18] ..." >&2
			exit 2
			;;
	esac
done
versions=${versions:-$PG_VERSIONS}
first=$(echo $versions | cut -d' ' -f1)
last=$(echo $versions | awk '{print $NF}')

passed=0
failed=0
# run one stage of the suite, timing and counting it; the suite goes on
# after a failure
stage()
{
	local name=$1 start status=0
	shift
	echo "=== $name"
	start=$(date +%s)
	"$@" || status=$?
	if [ $status -eq 0 ]; then
		passed=$((passed + 1))
		echo "=== $name: passed in $(($(date +%s) - start)) s"
	else
		failed=$((failed + 1))
		echo "=== $name FAILED (after $(($(date +%s) - start)) s)"
	fi
}

work=$(mktemp -d /tmp/hnsw-test.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# The pg_regress tests in a throwaway cluster, then the TAP tests (each
# makes its own clusters), from a copy of the tree the postgres user can
# write its results into
regress_and_tap()
{
	local major=$1 tree=$work/tree-$1 status=0

	rm -rf "$tree"
	mkdir -p "$tree"
	cp -r "$top/Makefile" "$top/hnsw.control" "$top/sql" "$top/expected" "$top/test" "$top/src" "$tree/"
	chown -R postgres:postgres "$tree"
	# before 17, the shared memory of hnsw.sample_recall (hnsw_monitor)
	# exists only when hnsw is preloaded.  No autovacuum: the tests VACUUM
	# themselves and check what it removed, and an autovacuum ANALYZE's
	# snapshot meanwhile keeps deleted rows from it (and has CREATE INDEX
	# index recently dead ones): hnsw_bitcodes failed so once on 15
	if [ "$major" -lt 17 ]; then
		cluster_start "$work/cluster-$major" -c autovacuum=off -c shared_preload_libraries=hnsw
	else
		cluster_start "$work/cluster-$major" -c autovacuum=off
	fi
	# the churn soak (TAP 008) takes minutes: on the last version only
	runuser -u postgres -- env PG_CONFIG="$PG_CONFIG" PGHOST="$PGHOST" PGPORT="$PGPORT" \
		PGUSER=postgres HNSW_UPGRADE_FROM="${upgrade_from:-}" HNSW_REPO="$repo" \
		HNSW_SOAK="$([ "$major" = "$last" ] && echo 1 || true)" \
		make -C "$tree" installcheck || status=$?
	cluster_stop "$work/cluster-$major"
	if [ $status -ne 0 ] && [ -f "$tree/regression.diffs" ]; then
		cat "$tree/regression.diffs"
	fi
	# the TAP tests' server logs say why a node stopped or fell behind
	if [ $status -ne 0 ] && [ -d "$tree/tmp_check/log" ]; then
		for f in "$tree"/tmp_check/log/*.log; do
			echo "*** $f (last 60 lines)"
			tail -n 60 "$f"
		done
	fi
	return $status
}

# TAP 011 builds older commits: a clone of the repository the postgres user
# can read (none outside a git checkout)
repo=""
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	repo=$work/repo
	git clone --quiet --no-checkout "$top" "$repo"
	chown -R postgres:postgres "$repo"
fi

upgrade_from=""
for major in $versions; do
	echo "=== PostgreSQL $major: install and build"
	start=$(date +%s)
	pg_install "$major"
	# Citus 14 (for TAP 009) supports PostgreSQL 16 to 18
	if [ "$major" -ge 16 ]; then
		bash "$top/test/build-citus.sh" "$PG_CONFIG"
	fi
	echo "=== PostgreSQL $major: ready in $(($(date +%s) - start)) s ($PG_CONFIG)"

	# The distance kernels on their own: every table against the scalar
	# reference, natively and under valgrind (which has no AVX-512)
	if [ "$major" = "$first" ]; then
		make -C "$top" -s PG_CONFIG="$PG_CONFIG" test/kernels_check
		stage "kernels" "$top/test/kernels_check"
		stage "kernels under valgrind" env HNSW_KERNELS_SKIP=avx512 \
			valgrind -q --error-exitcode=1 "$top/test/kernels_check"
	fi

	# TAP test 006 upgrades a cluster of the previous version to this one
	stage "pg_regress and TAP, PostgreSQL $major" regress_and_tap "$major"
	upgrade_from=$("$PG_CONFIG" --bindir)
done

# Hostile arguments and sqlsmith against PostgreSQL 18 built with
# assertions and valgrind-aware memory contexts (test/fuzz.sh; the build is
# cached like the other), which the stage installs hnsw into
stage "fuzz, PostgreSQL 18 with assertions" bash "$top/test/fuzz.sh"

# The regression tests once more, against that server running under
# valgrind: any memory error in a stack through hnsw.so fails the run
# (USE_VALGRIND: also reads of freed or uninitialised palloc memory).  Two
# servers side by side, one a core, each running about half of the tests'
# time.  All tests but hnsw_kernels (see test/valgrind.sh) and hnsw_recall:
# its builds and scans are those of hnsw_index, on more rows, and under
# valgrind it alone took 19 minutes.
valgrind_regress()
{
	local config half status=0
	local halves=("hnsw_types hnsw_index hnsw_distances hnsw_layout hnsw_links hnsw_iterative hnsw_covering hnsw_vacuum hnsw_bitcodes hnsw_toast"
		"hnsw_types hnsw_filter hnsw_options hnsw_large hnsw_monitor hnsw_explain hnsw_storage hnsw_float8codes")

	config=$(bash "$top/test/build-postgres.sh" --debug | tail -n 1)
	for half in 0 1; do
		local tree=$work/tree-valgrind-$half
		rm -rf "$tree"
		mkdir -p "$tree"
		cp -r "$top/Makefile" "$top/hnsw.control" "$top/sql" "$top/expected" "$top/test" "$top/src" "$tree/"
		chown -R postgres:postgres "$tree"
		runuser -u postgres -- env PG_CONFIG="$config" VALGRIND_PORT=$((54330 + half)) \
			bash "$tree/test/valgrind.sh" ${halves[$half]} >"$work/valgrind-$half.log" 2>&1 &
	done
	for half in 0 1; do
		wait -n || status=1
	done
	cat "$work/valgrind-0.log" "$work/valgrind-1.log"
	return $status
}
stage "pg_regress under valgrind, PostgreSQL 18 with assertions" valgrind_regress

# The C sources in pgindent style (PostgreSQL 18's pgindent, built once)
stage "pgindent style" bash "$top/test/indent.sh" --check

# The benchmark in its small mode (10,000 Fashion-MNIST images, a couple of
# minutes): it must run through, and its figures must be sane (speed is
# reported there, not judged here)
small_benchmark()
{
	local out
	out=$(mktemp -d /tmp/hnsw-bench.XXXXXX)
	HNSW_OUT="$out" bash "$top/bench/demo.sh" --pg "$last" --small &&
		/usr/bin/python3 - "$out/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
hnsw = r["systems"]["hnsw"]
best = max(p["recall"] for p in hnsw["sweep"])
assert best >= 0.95, f"recall {best} at the largest ef_search"
assert "pgvector" in r["systems"], "pgvector was not measured"
assert max(p["recall"] for p in r["systems"]["pgvector"]["sweep"]) >= 0.9
assert r["hnswlib_native"]["sweep"] and r["hnswlib_native"]["build_seconds"] > 0
assert all(t["verdict"] != "not measured" for t in r["targets"]), r["targets"]
print(f"small benchmark: hnsw recall up to {best:.4f}; figures in {sys.argv[1]}")
PY
}
stage "benchmark (small), PostgreSQL $last" small_benchmark

echo "test/run.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]
