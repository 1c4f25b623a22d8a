# Shared by test/run.sh and bench/demo.sh (sourced, as root): the server
# versions hnsw is tested on, and throwaway clusters to test it in.
#
#   pg_install MAJOR      install PostgreSQL MAJOR (15: Debian 12's packages;
#                         18: built from ../shared/vendor into a cached
#                         prefix, see test/build-postgres.sh), then build and
#                         install hnsw for it; sets PG_CONFIG and PG_BINDIR
#   cluster_start DIR [-c name=value ...]
#                         initdb and start a cluster of $PG_BINDIR in DIR as
#                         the postgres user, on port $CLUSTER_PORT (default
#                         54300); exports PGHOST, PGPORT, PGUSER and
#                         PGDATABASE for it
#   cluster_stop DIR      stop it
#
# Expects $top (the source tree) and $packages (Debian packages the caller
# needs besides the server's).

if [ "$(id -u)" -ne 0 ]; then
	echo "$0 installs packages and the extension: run it as root (sudo)" >&2
	exit 1
fi
. "$top/test/vendor.sh"

# The server versions hnsw is built and tested against
PG_VERSIONS="15 18"

pg_install()
{
	local major=$1

	case $major in
		15)
			apt_install build-essential postgresql-15 postgresql-server-dev-15 \
				postgresql-common libipc-run-perl $packages
			# Debian starts a cluster of its own with the package: the tests
			# make theirs
			PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
			;;
		18)
			apt_install build-essential libipc-run-perl $packages
			PG_CONFIG=$(bash "$top/test/build-postgres.sh" | tail -n 1)
			;;
		*)
			echo "unsupported PostgreSQL version \"$major\" (supported: $PG_VERSIONS)" >&2
			return 1
			;;
	esac
	export PG_CONFIG
	PG_BINDIR=$("$PG_CONFIG" --bindir)
	export PG_BINDIR
	make -C "$top" -s clean >/dev/null 2>&1 || true
	make -C "$top" -s PG_CONFIG="$PG_CONFIG" ${HNSW_MAKEFLAGS:-}
	make -C "$top" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

cluster_start()
{
	local dir=$1 port opts=()
	shift
	while [ $# -gt 0 ]; do
		opts+=("$1" "$2")
		shift 2
	done
	mkdir -p "$dir"
	chown postgres:postgres "$dir"
	# no TCP unless opts ask for it: the socket in dir makes the port the
	# cluster's own
	port=${CLUSTER_PORT:-54300}
	runuser -u postgres -- "$PG_BINDIR/initdb" -D "$dir/data" -A trust -U postgres -N >/dev/null
	runuser -u postgres -- "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 \
		-o "-p $port -k $dir -c listen_addresses='' ${opts[*]}" start >/dev/null
	export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
}

cluster_stop()
{
	runuser -u postgres -- "$PG_BINDIR/pg_ctl" -D "$1/data" -m fast -w -t 300 stop >/dev/null || true
}
