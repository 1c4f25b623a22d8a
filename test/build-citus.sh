#!/bin/bash
# Builds Citus from the release source in ../shared/vendor (beside the
# project) against the PostgreSQL 18 that test/build-postgres.sh builds, and
# installs it into that server.  The build is cached beside the server's, in
# $HNSW_PG_PREFIX_BASE/citus-VERSION-pgMAJOR (default /opt/hnsw-deps), as
# the files "make install" writes; a later run copies them into the server
# again without building.  Citus is only used by the tests (TAP 009) and by
# bench/scaleout.sh: nothing of it enters this repository.  Run as root: it
# installs Debian 12's build dependencies with apt-get.
#
#   bash test/build-citus.sh PG_CONFIG
set -euo pipefail

pg_config=${1:?usage: $0 PG_CONFIG}
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/test/vendor.sh"
version=14.0.1
base=${HNSW_PG_PREFIX_BASE:-/opt/hnsw-deps}
major=$("$pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
cache=$base/citus-$version-pg$major

if [ ! -f "$cache/.complete" ]; then
	tarball=$(vendor_tarball "citus-$version.tar.gz")
	apt_install build-essential libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev \
		libssl-dev pkg-config autoconf

	build=$(mktemp -d /tmp/hnsw-citusbuild.XXXXXX)
	trap 'rm -rf "$build"' EXIT
	tar -xzf "$tarball" -C "$build"
	cd "$build/citus-$version"
	echo "build-citus.sh: building Citus $version for PostgreSQL $major (a few minutes)" >&2
	./configure PG_CONFIG="$pg_config" >/dev/null
	make -s -j"$(nproc)" >/dev/null 2>&1 || make -j"$(nproc)" >&2
	rm -rf "$cache"
	make -s install DESTDIR="$cache" >/dev/null
	touch "$cache/.complete"
fi

# DESTDIR kept the server's absolute paths: copy them into the server
tar -C "$cache" --exclude=./.complete -cf - . | tar -C / -xf -
echo "build-citus.sh: Citus $version installed into $("$pg_config" --bindir)/.." >&2
