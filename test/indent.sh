#!/bin/bash
# Formats the C sources in pgindent style (make indent): PostgreSQL's own
# pgindent and pg_bsd_indent, taken from the PostgreSQL 18 release source in
# ../shared/vendor and built once into $HNSW_PG_PREFIX_BASE/pgindent-18.6
# (default /opt/hnsw-deps), with core's typedefs list plus this project's
# typedefs, found in its sources.  --check lists the files it would change
# and fails if there are any, changing nothing.
#
#   bash test/indent.sh [--check]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/test/vendor.sh"
version=18.6
tools=${HNSW_PG_PREFIX_BASE:-/opt/hnsw-deps}/pgindent-$version

if [ ! -x "$tools/pg_bsd_indent" ]; then
	pg_config=$(bash "$top/test/build-postgres.sh" | tail -n 1)
	prefix=$(dirname "$(dirname "$pg_config")")
	src=$(mktemp -d /tmp/hnsw-pgindent.XXXXXX)
	trap 'rm -rf "$src"' EXIT
	tar -xjf "$(vendor_tarball "postgresql-$version.tar.bz2")" -C "$src" \
		postgresql-$version/src/tools/pg_bsd_indent postgresql-$version/src/tools/pgindent
	mkdir -p "$tools"
	(cd "$src/postgresql-$version/src/tools/pg_bsd_indent" &&
		cc -O2 -I. -I"$prefix/include/server" -I"$prefix/include/internal" \
			-o "$tools/pg_bsd_indent" args.c err.c indent.c io.c lexi.c parse.c pr_comment.c \
			-L"$prefix/lib" -lpgcommon -lpgport -lm)
	cp "$src/postgresql-$version/src/tools/pgindent/pgindent" \
		"$src/postgresql-$version/src/tools/pgindent/typedefs.list" "$tools/"
fi

# core's typedefs, and the names this project's typedefs declare
typedefs=$(mktemp /tmp/hnsw-typedefs.XXXXXX)
trap 'rm -f "$typedefs"' EXIT
{
	cat "$tools/typedefs.list"
	cat "$top"/src/*.h "$top"/src/*.c "$top"/test/*.c |
		perl -ne 'print "$1\n" if /^\}\s*(\w+)\s*;/;
				   print "$1\n" if /^typedef\s[^{;(]*?\b(\w+)\s*;/;
				   print "$1\n" if /^typedef\s.*\(\s*\*\s*(\w+)\s*\)/'
} | sort -u >"$typedefs"

# more_distances.c writes its functions through template macros, which
# pg_bsd_indent cannot parse: it is kept in the style by hand
files=$(cd "$top" && ls src/*.c src/*.h test/*.c | grep -v '^src/more_distances\.c$')
if [ "${1:-}" = "--check" ]; then
	cd "$top" && PATH="$tools:$PATH" perl "$tools/pgindent" --typedefs="$typedefs" \
		--indent="$tools/pg_bsd_indent" --check --diff $files
else
	cd "$top" && PATH="$tools:$PATH" perl "$tools/pgindent" --typedefs="$typedefs" \
		--indent="$tools/pg_bsd_indent" $files
fi
