#!/bin/sh
# tests/pg.sh — a throwaway PostgreSQL cluster for the tests.
#
#   sh tests/pg.sh start DIR   make a cluster in DIR (created, must not hold
#                              one), start it, print its URL
#   sh tests/pg.sh url DIR     print the URL of the cluster in DIR
#   sh tests/pg.sh stop DIR    stop it and remove DIR
#   sh tests/pg.sh newdb URL   make a new empty database on the cluster of
#                              URL (one start printed), print its URL
#   sh tests/pg.sh dropdb URL  drop the database URL names (its sessions
#                              ended first)
#   sh tests/pg.sh copydb URL  make a new database, a copy of the one URL
#                              names (no session may be on it), print its URL
#   sh tests/pg.sh crash DIR   kill -9 the server and every process of it
#                              (a crash: no shutdown, no checkpoint)
#   sh tests/pg.sh restart DIR start the cluster in DIR again (after crash:
#                              crash recovery), print its URL
#
# Debian's postgresql 15 (scripts/deps.sh). The server listens only on a
# Unix socket inside DIR (no TCP port, nothing another host can reach), with
# trust authentication for that socket; DIR is owned by the `postgres` user
# when we run as root (postgres refuses to run as root). The URL names the
# database "airlock", created empty.
set -eu

BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|url|stop DIR" >&2; exit 2; }

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

url() {
	# libpq takes the socket's folder as host
	printf 'postgresql:///airlock?host=%s&user=postgres\n' "$(cd "$dir" && pwd)"
}

server_start() {
	# fsync off: a test cluster is thrown away, never recovered from a
	# power loss (a crash of the server is: its WAL is in the kernel)
	as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
		-o "-c listen_addresses='' -c unix_socket_directories='$(cd "$dir" && pwd)' -c fsync=off -c full_page_writes=off -c max_connections=200" \
		start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

case $cmd in
start)
	[ -x "$BIN/initdb" ] || { echo "pg.sh: no $BIN/initdb (sh scripts/deps.sh)" >&2; exit 1; }
	mkdir -p "$dir"
	[ ! -e "$dir/data" ] || { echo "pg.sh: $dir already holds a cluster" >&2; exit 1; }
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	chmod 700 "$dir"
	as_pg "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync \
		-E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	server_start
	as_pg "$BIN/createdb" -h "$(cd "$dir" && pwd)" -U postgres airlock
	url
	;;
url)
	url
	;;
newdb | dropdb | copydb)
	# the URL's socket folder, and for dropdb its database
	host=${dir#*host=}
	host=${host%%&*}
	case $dir in postgresql:///*\?*host=/*) ;; *) echo "pg.sh: not a URL of pg.sh start: $dir" >&2; exit 2 ;; esac
	if [ "$cmd" != dropdb ]; then
		name=airlock_e2e_$$_$(date +%s%N)
		if [ "$cmd" = copydb ]; then
			from=${dir#postgresql:///}
			"$BIN/createdb" -h "$host" -U postgres -T "${from%%\?*}" "$name"
		else
			"$BIN/createdb" -h "$host" -U postgres "$name"
		fi
		printf 'postgresql:///%s?host=%s&user=postgres\n' "$name" "$host"
	else
		name=${dir#postgresql:///}
		name=${name%%\?*}
		"$BIN/dropdb" -h "$host" -U postgres --force --if-exists "$name"
	fi
	;;
crash)
	pm=$(head -1 "$dir/data/postmaster.pid")
	# the children first listed, then all at once: none of them outlives
	# the postmaster holding the shared memory a restart needs
	kids=$(pgrep -P "$pm" || true)
	kill -9 "$pm" $kids
	for _ in $(seq 100); do
		alive=
		for p in $pm $kids; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	;;
restart)
	server_start
	url
	;;
stop)
	if [ -e "$dir/data/postmaster.pid" ]; then
		as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null || true
	fi
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start|url|stop|crash|restart DIR | newdb|dropdb|copydb URL" >&2
	exit 2
	;;
esac
