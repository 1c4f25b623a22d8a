#!/bin/bash
# Run the pg_regress tests against a server running under valgrind, and
# fail if valgrind reports a memory error in a stack that passes through
# hnsw.so (errors elsewhere in the server, such as the uninitialised
# padding PostgreSQL writes to WAL, are not ours and are not counted).
#
# Run as the postgres user from a writable copy of the tree, after
# "make install":   bash test/valgrind.sh [TEST ...]
# The tests default to all of sql/ but hnsw_kernels (hnsw_types goes first:
# it drops and creates the extension): valgrind's CPU has no AVX-512, which
# that test finds missing against /proc/cpuinfo (the kernels run under
# valgrind in test/kernels_check instead).  VALGRIND_PORT sets the server's
# port (default 54329), so that two copies can run side by side.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
work=$(mktemp -d /tmp/hnsw-valgrind.XXXXXX)
port=${VALGRIND_PORT:-54329}

"$bindir/initdb" -D "$work/data" -A trust -N >/dev/null
valgrind --quiet --trace-children=yes --error-limit=no --num-callers=30 \
	--log-file="$work/valgrind.%p.log" \
	"$bindir/postgres" -D "$work/data" -p $port -k "$work" \
	-c shared_buffers=32MB -c autovacuum=off -c max_parallel_workers_per_gather=0 \
	-c jit=off >"$work/server.log" 2>&1 &
server=$!
for i in $(seq 1 120); do
	"$bindir/pg_isready" -q -h "$work" -p $port && break
	sleep 1
done

status=0
if [ $# -gt 0 ]; then
	tests="$*"
else
	tests="hnsw_types $(cd "$top/sql" && ls hnsw_*.sql | sed 's/\.sql$//' | grep -vx 'hnsw_types\|hnsw_kernels' | tr '\n' ' ')"
fi
make -C "$top" -s installcheck TAP_TESTS= ISOLATION= REGRESS="$tests" \
	PGHOST="$work" PGPORT=$port || status=$?
"$bindir/pg_ctl" -D "$work/data" -m fast -w -t 300 stop >/dev/null || true
wait $server || true

# One valgrind error report is a block of lines; keep those naming hnsw.so.
# PostgreSQL writes the unused tail of WAL pages to disk uninitialised
# (valgrind-clean only in builds with USE_VALGRIND); a WAL write reported
# inside our call stack (log_newpage_range, say) is that, not ours.
ours=$(cat "$work"/valgrind.*.log | awk '
	function keep() { return block ~ /hnsw\.so/ && !(block ~ /Syscall param p?write(64)?\(buf\)/ && block ~ /XLog/); }
	/^==[0-9]+== [A-Z]/ && !inblock { inblock = 1; block = ""; }
	inblock { block = block $0 "\n"; }
	/^==[0-9]+== $/ && inblock { if (keep()) printf "%s", block; inblock = 0; }
	END { if (inblock && keep()) printf "%s", block; }')
if [ -n "$ours" ]; then
	echo "valgrind found memory errors in hnsw:"
	echo "$ours" | head -200
	status=1
else
	echo "valgrind: no memory errors in hnsw.so ($(ls "$work"/valgrind.*.log | wc -l) server processes watched)"
fi
[ $status -ne 0 ] && [ -f "$top/regression.diffs" ] && cat "$top/regression.diffs"
rm -rf "$work"
exit $status
