#!/bin/bash
# The fuzz stage, as root: PostgreSQL 18 built with assertions and
# valgrind-aware memory contexts (test/build-postgres.sh --debug, cached),
# hnsw built for it, and a database holding tables with hnsw indexes of
# every kind (each operator class, filter columns, INCLUDE, value links)
# owned by an ordinary role, which then runs
#   1. test/fuzz_args.py: hostile arguments for every function, index
#      build, insert and scan (a fixed seed);
#   2. sqlsmith (Debian's): random queries over those tables, with the
#      server's functions and operators, a fixed seed, a bounded number.
# Fails on a backend that died or a failed assertion (the server log), an
# internal error (XX000) from the hostile arguments, or a problem
# hnsw_verify reports on any index afterwards.  Prints statements run and
# errors by kind.
#
#   sudo bash test/fuzz.sh [--queries N] [--seed N]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
packages="sqlsmith python3-psycopg2"
. "$top/test/pg.sh"

queries=5000
seed=20261206
while [ $# -gt 0 ]; do
	case $1 in
		--queries) queries=$2; shift 2 ;;
		--seed) seed=$2; shift 2 ;;
		*) echo "usage: $0 [--queries N] [--seed N]" >&2; exit 2 ;;
	esac
done

apt_install build-essential libipc-run-perl $packages
PG_CONFIG=$(bash "$top/test/build-postgres.sh" --debug | tail -n 1)
PG_BINDIR=$("$PG_CONFIG" --bindir)
export PG_CONFIG PG_BINDIR
make -C "$top" -s clean >/dev/null 2>&1 || true
make -C "$top" -s PG_CONFIG="$PG_CONFIG" ${HNSW_MAKEFLAGS:-}
make -C "$top" -s PG_CONFIG="$PG_CONFIG" install >/dev/null

work=$(mktemp -d /tmp/hnsw-fuzz.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop "$work"; rm -rf "$work"' EXIT
CLUSTER_PORT=54350 cluster_start "$work" -c log_min_messages=warning -c jit=off

psql_as()
{
	local user=$1
	shift
	runuser -u postgres -- "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -U "$user" "$@"
}

psql_as postgres -d postgres -c "CREATE ROLE fuzzer LOGIN" -c "CREATE DATABASE fuzz OWNER fuzzer"
psql_as postgres -d fuzz -c "CREATE EXTENSION hnsw"
# every kind of hnsw index, on a few hundred rows of each type
psql_as fuzzer -d fuzz <<'SQL'
SELECT setseed(0.42);
CREATE TABLE fuzz_table (id int PRIMARY KEY, grp int, tags int[], v real[], v8 float8[],
						 b bit(64), vb varbit, ia int4[], sa int2[], la int8[], t text);
INSERT INTO fuzz_table
SELECT i, i % 7, ARRAY[i % 5, i % 11],
	   ARRAY(SELECT random()::real FROM generate_series(1, 16 + 0 * i)),
	   ARRAY(SELECT random() FROM generate_series(1, 16 + 0 * i)),
	   (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
		FROM generate_series(1, 64 + 0 * i))::bit(64),
	   (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
		FROM generate_series(1, 64 + 0 * i))::varbit,
	   ARRAY(SELECT DISTINCT (random() * 50)::int FROM generate_series(1, 8 + 0 * i)),
	   ARRAY(SELECT (random() * 100)::int2 FROM generate_series(1, 16 + 0 * i)),
	   ARRAY(SELECT (random() * 100)::int8 FROM generate_series(1, 16 + 0 * i)),
	   md5(i::text)
FROM generate_series(1, 400) i;
CREATE INDEX fuzz_btree ON fuzz_table (id);
CREATE INDEX fuzz_real_idx ON fuzz_table USING hnsw (v);
CREATE INDEX fuzz_cosine_idx ON fuzz_table USING hnsw (v float4_cosine_ops) INCLUDE (id);
CREATE INDEX fuzz_coded_idx ON fuzz_table USING hnsw (v float4_l1_ops, grp) WITH (storage = int8);
CREATE INDEX fuzz_bitcoded_idx ON fuzz_table USING hnsw (v float4_ip_ops) WITH (storage = 'bit');
CREATE INDEX fuzz_filter_idx ON fuzz_table USING hnsw (v, grp, tags) WITH (filter_links = 4);
CREATE INDEX fuzz_float8_idx ON fuzz_table USING hnsw (v8);
CREATE INDEX fuzz_bit_idx ON fuzz_table USING hnsw (b);
CREATE INDEX fuzz_varbit_idx ON fuzz_table USING hnsw (vb varbit_jaccard_ops);
CREATE INDEX fuzz_int_idx ON fuzz_table USING hnsw (ia int4_jaccard_ops);
CREATE INDEX fuzz_int2_idx ON fuzz_table USING hnsw (sa int2_hamming_ops);
CREATE INDEX fuzz_int8_idx ON fuzz_table USING hnsw (la int8_jaccard_ops);
CREATE INDEX fuzz_text_idx ON fuzz_table USING hnsw (t);
CREATE TABLE fuzz_small (id int, v real[]);
INSERT INTO fuzz_small SELECT i, ARRAY[i, i % 3]::real[] FROM generate_series(1, 50) i;
CREATE INDEX fuzz_small_idx ON fuzz_small USING hnsw (v) WITH (m = 2);
ANALYZE fuzz_table, fuzz_small;
SQL

status=0
echo "fuzz: hostile arguments"
runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=fuzzer PGDATABASE=fuzz \
	/usr/bin/python3 "$top/test/fuzz_args.py" --seed "$seed" || status=1

echo "fuzz: sqlsmith, $queries queries, seed $seed"
# sqlsmith reports its errors by kind on stderr as it goes; its last
# report is what it ran into
runuser -u postgres -- timeout 1200 sqlsmith --verbose --exclude-catalog --seed="$seed" --max-queries="$queries" \
	--target="host=$PGHOST port=$PGPORT dbname=fuzz user=fuzzer" >"$work/sqlsmith.out" 2>&1 ||
	echo "fuzz: sqlsmith exited with $? (it stops at a lost connection)"
# its last report: queries run, the most frequent errors, the error rate
tr '\r' '\n' <"$work/sqlsmith.out" >"$work/sqlsmith.txt"
last=$(grep -n '^queries:' "$work/sqlsmith.txt" | tail -n 1 | cut -d: -f1 || true)
# (awk, not head: a reader that stops early fails the pipeline, pipefail)
if [ -n "$last" ]; then
	tail -n +"$last" "$work/sqlsmith.txt" | grep -E '^(queries:|[0-9]+\s+ERROR)' | awk 'NR <= 11' || true
fi
grep '^error rate' "$work/sqlsmith.txt" | tail -n 1 || true

# what the server log says of crashes and assertions
if grep -E "TRAP:|terminated by signal|was terminated by|PANIC" "$work/server.log"; then
	echo "fuzz: a backend died or an assertion failed (above, from the server log)"
	status=1
fi
# and every hnsw index verifies clean, after a VACUUM (sqlsmith's writes
# may leave an element without in-links until VACUUM links it back)
psql_as postgres -d fuzz -c "VACUUM"
problems=$(psql_as postgres -d fuzz -At -c "
	SELECT string_agg(c.relname || ': ' || p.problem, E'\n')
	FROM pg_class c JOIN pg_am a ON a.oid = c.relam AND a.amname = 'hnsw',
		 LATERAL hnsw_verify(c.oid) p")
if [ -n "$problems" ]; then
	echo "fuzz: hnsw_verify found problems:"
	echo "$problems"
	status=1
fi
[ $status -eq 0 ] && echo "fuzz: no crash, no failed assertion, no internal error, every index verifies clean"
exit $status
