#!/bin/bash
# hnsw beyond one server, on this machine, as root: builds PostgreSQL 18 and
# Citus from ../shared/vendor (cached, see test/build-postgres.sh and
# test/build-citus.sh) and hnsw for it, starts a Citus coordinator and two
# workers (loopback TCP, run as the "postgres" user) and runs
# bench/scaleout.py: Fashion-MNIST on one node against the same rows
# distributed over the two workers (recall and queries/s at the same
# ef_search), then a primary against the primary plus a streaming standby
# (two clients).  Figures go to $HNSW_OUT/scaleout.json (default
# /var/tmp/hnsw-bench).
#
#   sudo bash bench/scaleout.sh [--train-limit N] [--queries N] [--shards N]
#       [--ef-search 10,20,40,80] [--seconds N]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
packages="dataset-fashion-mnist python3 python3-numpy python3-psycopg2"
. "$top/test/pg.sh"
pg_install 18
bash "$top/test/build-citus.sh" "$PG_CONFIG"

cache=${HNSW_CACHE:-/var/tmp/hnsw-cache}
out=${HNSW_OUT:-/var/tmp/hnsw-bench}
mkdir -p "$cache" "$out"
chown postgres:postgres "$cache" "$out"

work=$(mktemp -d /tmp/hnsw-scaleout.XXXXXX)
chmod 755 "$work"
nodes="coordinator worker1 worker2"
cleanup()
{
	for n in $nodes standby; do
		[ -f "$work/$n/data/postmaster.pid" ] && cluster_stop "$work/$n"
	done
	rm -rf "$work"
}
trap cleanup EXIT

port=54311
for n in $nodes; do
	CLUSTER_PORT=$port cluster_start "$work/$n" -c listen_addresses=127.0.0.1 \
		-c shared_preload_libraries=citus -c citus.node_conninfo=sslmode=disable \
		-c citus.max_cached_conns_per_worker=8 \
		-c shared_buffers=1GB -c maintenance_work_mem=1GB -c max_wal_size=4GB -c jit=off
	port=$((port + 1))
done
mkdir -p "$work/standby"
chown postgres:postgres "$work/standby"
runuser -u postgres -- env HNSW_CACHE="$cache" /usr/bin/python3 "$top/bench/scaleout.py" \
	--coordinator 54311 --workers 54312,54313 --standby 54314 --standby-dir "$work/standby/data" \
	--bindir "$PG_BINDIR" --json "$out/scaleout.json" "$@"
