#!/bin/bash
# The main job and its benchmark, on a fresh Debian 12 machine, as root:
# installs what it needs, builds and installs hnsw and pgvector 0.8.6 (from
# ../shared/vendor, a generic build as distributions ship it), compiles
# native hnswlib's driver (Debian's libhnswlib-dev, -O3 -march=native),
# starts a throwaway PostgreSQL cluster (run as the "postgres" user), loads
# Fashion-MNIST (or an ann-benchmarks HDF5 file, or the scale mode's
# synthetic set), builds the indexes, answers queries and prints recall,
# latency, throughput, build times, sizes and insert rates of every system
# measured in the same run, the ratios, and the project's targets.  Results
# go to $HNSW_OUT (default /var/tmp/hnsw-bench) as results.json, results.png
# and results-bars.png.
#
#   sudo bash bench/demo.sh [--pg 15|18] [--small] [--queries N] [--ef-construction N]
#       [--ef-search 10,40] [--hdf5 FILE] [--rows N] [--no-pgvector] [--no-hnswlib]
#
# --pg picks the server: 15 (Debian 12's, the default) or 18 (built from
# ../shared/vendor and cached, see test/build-postgres.sh).
# With --huge-pages the cluster runs with huge_pages = on, its 2 GB of
# shared buffers in 2 MB pages; the kernel's pool of huge pages
# (vm.nr_hugepages) is raised for the run if it is smaller, and put back.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
packages="dataset-fashion-mnist python3 python3-numpy python3-psycopg2 python3-h5py
	python3-hnswlib python3-matplotlib libhnswlib-dev g++"
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

# pgvector 0.8.6 for the server under test, built once
pgvector=true
native=true
for arg in "$@"; do
	[ "$arg" = "--no-pgvector" ] && pgvector=false
	[ "$arg" = "--no-hnswlib" ] && native=false
done
if $pgvector && [ ! -f "$("$PG_CONFIG" --sharedir)/extension/vector--0.8.6.sql" ]; then
	tarball=$(vendor_tarball pgvector-0.8.6.tar.gz)
	build=$(mktemp -d /tmp/hnsw-pgvector.XXXXXX)
	tar -xzf "$tarball" -C "$build"
	make -s -C "$build/pgvector-0.8.6" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >/dev/null
	make -s -C "$build/pgvector-0.8.6" PG_CONFIG="$PG_CONFIG" install >/dev/null
	rm -rf "$build"
fi

# native hnswlib, compiled as its users build it, for this machine's CPU
native_bin=""
if $native; then
	native_bin=$cache/hnswlib_native
	g++ -O3 -march=native -std=c++17 -pthread -o "$native_bin" "$top/bench/hnswlib_native.cpp"
fi

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
	PGBENCH="$PG_BINDIR/pgbench" HNSW_NATIVE_HNSWLIB="$native_bin" \
	/usr/bin/python3 "$top/bench/demo.py" --json "$out/results.json" --png "$out/results.png" "$@"
