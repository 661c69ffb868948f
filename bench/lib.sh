# bench/lib.sh — what the HTTP benches share, sourced (`. bench/lib.sh`)
# after they set NAME (their name in messages) and, if they like, AIRLOCK:
#   bench_tmp             T: a fresh directory, removed at exit with every
#                         server bench_track was told of; AIRLOCK_POLICY in it
#   bench_track PID       kill PID at exit (bench_untrack PID once it is gone)
#   bench_book DB N       a new database holding N synthetic accounts
#                         ('ACC0000001', 'Company 1', company1.example, ...;
#                         segments, regions, tiers and lifecycles spread
#                         evenly), made with SQL in the sqlite3 shell
#   bench_wait_port LOG [REGEX]  the port a server wrote to LOG (airlock's
#                         "listening on http://127.0.0.1:PORT" by default)
#   bench_serve DB LOG ARGS...   starts `airlock serve` on 127.0.0.1:0 with
#                         ARGS, tracked; sets apid and aport
#   bench_stop PID        stops a tracked server and waits for it
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
AIRLOCK=${AIRLOCK:-$ROOT/build/release/airlock}
NAME=${NAME:-bench}
_bench_pids=

bench_cleanup() {
	for _p in $_bench_pids; do
		kill "$_p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${T:-}" ] && rm -rf "$T"
}

bench_tmp() {
	T=$(mktemp -d)
	export AIRLOCK_POLICY="$T/airlock.yaml"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_track() { _bench_pids="$_bench_pids $1"; }

bench_untrack() {
	_l=
	for _p in $_bench_pids; do
		[ "$_p" = "$1" ] || _l="$_l $_p"
	done
	_bench_pids=$_l
}

bench_book() { # DB N
	"$AIRLOCK" init --db "$1" >/dev/null
	sqlite3 "$1" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<$2)
INSERT INTO account(id,name,domain,segment,region,industry,owner,tier,lifecycle,arr,employees,updated_at)
SELECT printf('ACC%07d',i), printf('Company %d',i), printf('company%d.example',i),
 CASE i%3 WHEN 0 THEN 'smb' WHEN 1 THEN 'mid-market' ELSE 'enterprise' END,
 CASE i%4 WHEN 0 THEN 'emea' WHEN 1 THEN 'na' WHEN 2 THEN 'apac' ELSE 'latam' END,
 CASE i%5 WHEN 0 THEN 'software' WHEN 1 THEN 'retail' WHEN 2 THEN 'finance' WHEN 3 THEN 'health' ELSE 'media' END,
 printf('rep%d',i%40), 1+i%4,
 CASE i%7 WHEN 0 THEN 'customer' WHEN 1 THEN 'former_customer' ELSE 'prospect' END,
 (i%500)*1000.0, 10+i%5000, '2026-01-01T00:00:00Z' FROM n;"
}

bench_wait_port() { # LOG [REGEX] → port
	_re=${2:-'.*listening on http:\/\/127.0.0.1:\([0-9]*\).*'}
	for _ in $(seq 200); do
		_port=
		[ -f "$1" ] && _port=$(sed -n "s/$_re/\\1/p" "$1" | head -1)
		[ -n "$_port" ] && { echo "$_port"; return 0; }
		sleep 0.1
	done
	echo "$NAME: server did not start: $(cat "$1")" >&2
	return 1
}

bench_serve() { # DB LOG ARGS...
	_db=$1
	_log=$2
	shift 2
	"$AIRLOCK" serve --db "$_db" --listen 127.0.0.1:0 "$@" 2>"$_log" &
	apid=$!
	bench_track "$apid"
	aport=$(bench_wait_port "$_log")
}

bench_stop() { # PID
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null || true
	bench_untrack "$1"
}
