# Shared by the scripts that install what the tests need (sourced, as
# root): Debian packages, and release sources from ../shared/vendor
# (beside the project; HNSW_VENDOR overrides), checked against its
# SHA256SUMS.
#
#   apt_install PACKAGE ...   install those of the packages that are missing
#   vendor_tarball FILE       print the path of FILE in the vendor folder,
#                             after checking its checksum; exit if missing

export DEBIAN_FRONTEND=noninteractive
vendor=${HNSW_VENDOR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/vendor}

apt_install()
{
	local have
	have=$(dpkg-query -W -f='${Status}\n' "$@" 2>/dev/null | grep -c '^install ok installed' || true)
	if [ "$have" -ne $# ]; then
		apt-get update -qq >&2
		apt-get install -y -qq --no-install-recommends "$@" >/dev/null
	fi
}

vendor_tarball()
{
	if [ ! -f "$vendor/$1" ]; then
		echo "$vendor/$1 is missing" >&2
		exit 1
	fi
	(cd "$vendor" && grep " $1\$" SHA256SUMS | sha256sum -c --quiet -) >&2
	echo "$vendor/$1"
}
