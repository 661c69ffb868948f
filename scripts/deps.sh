#!/bin/sh
# Installs the Debian packages airlock needs to build, test, demo and bench,
# only when something is missing: quiet and quick when all is there.
set -e
PKGS="gcc make pkg-config libsqlite3-dev sqlite3 libjansson-dev libyaml-dev
libsodium-dev libmicrohttpd-dev libcurl4-openssl-dev libcmocka-dev libjemalloc-dev
python3 hyperfine curl clang g++ chromium
libpq-dev postgresql"
# node and npm may come from another repository (nodesource): only when no
# node is on PATH do we ask Debian for its own.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing Debian packages:$missing (run as root, or install them)" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
