# Shared by test/run.sh and bench/demo.sh (sourced, as root): install the
# Debian packages named in $packages that are missing, then build and
# install hnsw for PostgreSQL $PG_MAJOR.  Expects $top and $PG_MAJOR.

if [ "$(id -u)" -ne 0 ]; then
	echo "$0 installs packages and the extension: run it as root (sudo)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
installed=$(dpkg-query -W -f='${Status}\n' $packages 2>/dev/null | grep -c '^install ok installed' || true)
if [ "$installed" -ne "$(echo $packages | wc -w)" ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $packages >/dev/null
fi

export PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
make -C "$top" -s
make -C "$top" -s install >/dev/null
