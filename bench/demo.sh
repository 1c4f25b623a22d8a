#!/bin/bash
# The main job, on a fresh Debian 12 machine, as root: installs what it
# needs, builds and installs hnsw, starts a throwaway PostgreSQL cluster
# (pg_virtualenv, run as the "postgres" user), loads Fashion-MNIST, builds
# the index and answers queries, printing recall, latency and throughput.
#
#   sudo bash bench/demo.sh [--queries N] [--train-limit N] [--ef-search 40,100] [--hdf5 FILE]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PG_MAJOR=15

packages="build-essential postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-common
	dataset-fashion-mnist python3 python3-numpy python3-psycopg2 python3-h5py"
. "$top/test/setup.sh"

cache=${HNSW_CACHE:-/var/tmp/hnsw-cache}
mkdir -p "$cache"
chown postgres:postgres "$cache"

runuser -u postgres -- env HNSW_CACHE="$cache" \
	pg_virtualenv -v $PG_MAJOR -o shared_buffers=2GB -o maintenance_work_mem=2GB \
	-o max_wal_size=4GB -o jit=off \
	/usr/bin/python3 "$top/bench/demo.py" "$@"
