#!/bin/bash
# An index larger than memory (bench/memlimit.py): storage float4, int8
# and half answering the same queries with the whole cluster inside a
# cgroup v1 memory limit, on a fresh Debian 12 machine, as root (the
# cgroup and the kernel's page cache are written).  Installs what it needs,
# builds PostgreSQL 18 from ../shared/vendor (cached, test/build-postgres.sh)
# and hnsw, and makes its own cluster; the options are memlimit.py's.
#
#   sudo bash bench/memlimit.sh [--rows N] [--dims N] [--limit-mb N] ...
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
packages="python3 python3-numpy python3-psycopg2"
. "$top/test/pg.sh"

if [ ! -w /sys/fs/cgroup/memory ]; then
	echo "memlimit: no writable cgroup v1 memory controller at /sys/fs/cgroup/memory" >&2
	exit 1
fi
pg_install 18
exec /usr/bin/python3 "$top/bench/memlimit.py" --bindir "$PG_BINDIR" "$@"
