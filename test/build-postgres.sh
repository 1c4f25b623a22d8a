#!/bin/bash
# Builds PostgreSQL 18 from the release source in ../shared/vendor (beside
# the project) into a cached prefix, $HNSW_PG_PREFIX_BASE/postgresql-VERSION
# (default /opt/hnsw-deps), with TAP support and contrib, unless that prefix
# already holds a finished build.  With --debug, a second build for the
# fuzz stage, in postgresql-VERSION-debug: assertions on (--enable-cassert)
# and valgrind-aware memory contexts (USE_VALGRIND).  Prints the prefix's
# pg_config on its last line.  Run as root: it installs Debian 12's build
# dependencies with apt-get.
#
#   bash test/build-postgres.sh [--debug]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/test/vendor.sh"
version=18.6
base=${HNSW_PG_PREFIX_BASE:-/opt/hnsw-deps}
prefix=$base/postgresql-$version
configure_flags="--enable-tap-tests --without-icu --with-openssl"
cppflags=""
if [ "${1:-}" = "--debug" ]; then
	prefix=$prefix-debug
	configure_flags="$configure_flags --enable-cassert --enable-debug"
	cppflags="-DUSE_VALGRIND"
fi

if [ -f "$prefix/.complete" ]; then
	echo "$prefix/bin/pg_config"
	exit 0
fi

tarball=$(vendor_tarball "postgresql-$version.tar.bz2")
apt_install build-essential bison flex libreadline-dev zlib1g-dev libssl-dev \
	libipc-run-perl pkg-config bzip2 valgrind

build=$(mktemp -d /tmp/hnsw-pgbuild.XXXXXX)
trap 'rm -rf "$build"' EXIT
tar -xjf "$tarball" -C "$build"
cd "$build/postgresql-$version"
echo "build-postgres.sh: building PostgreSQL $version into $prefix (about 6 minutes)" >&2
./configure --prefix="$prefix" $configure_flags CPPFLAGS="$cppflags" >/dev/null
make -s -j"$(nproc)" >/dev/null 2>&1 || make -j"$(nproc)" >&2
make -s install >/dev/null
make -s -C contrib -j"$(nproc)" >/dev/null 2>&1
make -s -C contrib install >/dev/null
# the TAP modules (PostgreSQL::Test::Cluster) and pg_isolation_regress
make -s -C src/test/perl install >/dev/null
make -s -C src/test/isolation install >/dev/null 2>&1 || true
touch "$prefix/.complete"
echo "$prefix/bin/pg_config"
