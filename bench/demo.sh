#!/bin/bash
# The main job and its benchmark, on a fresh Debian 12 machine, as root:
# installs what it needs, builds and installs hnsw, starts a throwaway
# PostgreSQL cluster (run as the "postgres" user), loads
# Fashion-MNIST (or an ann-benchmarks HDF5 file), builds the index, answers
# queries and prints recall, latency and throughput, then the same figures
# for in-process hnswlib measured in the same run, and the ratios.
# Results go to $HNSW_OUT (default /var/tmp/hnsw-bench) as results.json and
# results.png.
#
#   sudo bash bench/demo.sh [--pg 15|18] [--small] [--queries N] [--ef-construction N] [--ef-search 10,40] [--hdf5 FILE]
#
# --pg picks the server: 15 (Debian 12's, the default) or 18 (built from
# ../shared/vendor and cached, see test/build-postgres.sh).
# With --huge-pages the cluster runs with huge_pages = on, its 2 GB of
# shared buffers in 2 MB pages; the kernel's pool of huge pages
# (vm.nr_hugepages) is raised for the run if it is smaller, and put back.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
packages="dataset-fashion-mnist python3 python3-numpy python3-psycopg2 python3-h5py
	python3-hnswlib python3-matplotlib"
. "$top/test/pg.sh"

# --pg is this script's; the other options are demo.py's
major=15
args=()
while [ $# -gt 0 ]; do
	if [ "$1" = "--pg" ]; then
		major=$2
		shift 2
	else
		args+=("$1")
		shift
	fi
done
set -- "${args[@]}"
pg_install "$major"

cache=${HNSW_CACHE:-/var/tmp/hnsw-cache}
out=${HNSW_OUT:-/var/tmp/hnsw-bench}
mkdir -p "$cache" "$out"
chown postgres:postgres "$cache" "$out"

# shared_buffers, and room for the rest of shared memory, in 2 MB pages
huge_pages=try
for arg in "$@"; do
	if [ "$arg" = "--huge-pages" ]; then
		huge_pages=on
		pool=/proc/sys/vm/nr_hugepages
		before=$(cat $pool)
		if [ "$before" -lt 1100 ]; then
			echo 1100 2>/dev/null > $pool || true
			if [ "$(cat $pool)" -lt 1100 ]; then
				echo "--huge-pages: could not reserve 1100 huge pages of 2 MB" \
					"(vm.nr_hugepages is $(cat $pool); run as root, with that much free memory)" >&2
				exit 1
			fi
		fi
	fi
done

cluster=$(mktemp -d /tmp/hnsw-bench-cluster.XXXXXX)
trap 'cluster_stop "$cluster"; rm -rf "$cluster"; [ -z "${before:-}" ] || echo $before 2>/dev/null > $pool || true' EXIT
cluster_start "$cluster" -c shared_buffers=2GB -c maintenance_work_mem=2GB \
	-c max_wal_size=4GB -c jit=off -c huge_pages=$huge_pages
runuser -u postgres -- env HNSW_CACHE="$cache" MPLCONFIGDIR="$out/.matplotlib" \
	PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" PGDATABASE="$PGDATABASE" \
	PGBENCH="$PG_BINDIR/pgbench" \
	/usr/bin/python3 "$top/bench/demo.py" --json "$out/results.json" --png "$out/results.png" "$@"
