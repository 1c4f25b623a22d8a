#!/bin/bash
# The main job and its benchmark, on a fresh Debian 12 machine, as root:
# installs what it needs, builds and installs hnsw, starts a throwaway
# PostgreSQL cluster (pg_virtualenv, run as the "postgres" user), loads
# Fashion-MNIST (or an ann-benchmarks HDF5 file), builds the index, answers
# queries and prints recall, latency and throughput, then the same figures
# for in-process hnswlib measured in the same run, and the ratios.
# Results go to $HNSW_OUT (default /var/tmp/hnsw-bench) as results.json and
# results.png.
#
#   sudo bash bench/demo.sh [--small] [--queries N] [--ef-construction N] [--ef-search 10,40] [--hdf5 FILE]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PG_MAJOR=15

packages="build-essential postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-common
	dataset-fashion-mnist python3 python3-numpy python3-psycopg2 python3-h5py
	python3-hnswlib python3-matplotlib"
. "$top/test/setup.sh"

cache=${HNSW_CACHE:-/var/tmp/hnsw-cache}
out=${HNSW_OUT:-/var/tmp/hnsw-bench}
mkdir -p "$cache" "$out"
chown postgres:postgres "$cache" "$out"

runuser -u postgres -- env HNSW_CACHE="$cache" MPLCONFIGDIR="$out/.matplotlib" \
	pg_virtualenv -v $PG_MAJOR -o shared_buffers=2GB -o maintenance_work_mem=2GB \
	-o max_wal_size=4GB -o jit=off \
	/usr/bin/python3 "$top/bench/demo.py" --json "$out/results.json" --png "$out/results.png" "$@"
