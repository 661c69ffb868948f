#!/bin/sh
# bench/lanes.sh — fairness: get_account's latency at a steady 200 calls/s
# (2 clients x 100/s, open loop: bench_mcp_load with BENCH_RATE), alone and
# while 4 clients call an expensive tool as fast as it answers: book_stats,
# then a search_accounts text match that finds nothing (every row read),
# then one that matches (a random "ompany N": a page of 20 of up to a few
# thousand candidates).
# The figure is get_account's p99 under load as a ratio to its unloaded p99
# in the same run; the goal is <= 2x.
#
# Knobs: LANES_BENCH_ACCOUNTS (1000000), LANES_BENCH_SECONDS (10),
# LANES_BENCH_THREADS (airlock --threads, 4), LANES_BENCH_SLOW (--slow-threads, 1;
# 0 leaves the flag out, to measure a build from before the lanes with
# AIRLOCK=path/to/it).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=lanes.sh
. "$ROOT/bench/lib.sh"
LOAD=${LOAD:-$ROOT/build/release/bench/bench_mcp_load}
ACCOUNTS=${LANES_BENCH_ACCOUNTS:-1000000}
SECS=${LANES_BENCH_SECONDS:-10}
THREADS=${LANES_BENCH_THREADS:-4}
SLOW=${LANES_BENCH_SLOW:-1}

[ -x "$AIRLOCK" ] && [ -x "$LOAD" ] || { echo "lanes.sh: run 'make bench' (builds airlock and bench_mcp_load)" >&2; exit 1; }

bench_tmp
DB=$T/book.db
bench_book "$DB" "$ACCOUNTS"
TOKEN=$("$AIRLOCK" token create --connector read --agent bench --db "$DB" 2>/dev/null)

# LANES_BENCH_SLOW=0: no --slow-threads, for a binary from before the lanes
if [ "$SLOW" -gt 0 ]; then set -- --slow-threads "$SLOW"; else set --; fi
bench_serve "$DB" "$T/airlock.log" --threads "$THREADS" "$@"
port=$aport

# random accounts, a fresh one per call (not one cached page)
probe() { # OUT
	BENCH_RATE=100 BENCH_RANDOM_MAX=$ACCOUNTS "$LOAD" "$port" /mcp/read 2 "$SECS" 1 get_account \
		'{"account_id":"ACC@RANDOM@"}' "$TOKEN" >"$1"
}
# load TOOL ARGS OUT: 4 clients call TOOL as fast as it answers, while the
# probe runs
load() {
	"$LOAD" "$port" /mcp/read 4 $((SECS + 2)) 0 "$1" "$2" "$TOKEN" >"$3" &
	lpid=$!
	sleep 1
	probe "$4"
	wait "$lpid" || true
}

probe "$T/alone"
load book_stats '{}' "$T/stats" "$T/under_stats"
load search_accounts '{"text":"no such name"}' "$T/search" "$T/under_search"
export BENCH_RANDOM_MAX=$ACCOUNTS # the loading clients' @RANDOM@ too
load search_accounts '{"text":"ompany @RANDOM@","limit":20}' "$T/hit" "$T/under_hit"
unset BENCH_RANDOM_MAX

python3 - "$T" "$ACCOUNTS" "$SECS" "$THREADS" "$SLOW" <<'PY'
import json, sys
t, accounts, secs, threads, slow = sys.argv[1:]
r = {k: json.load(open(f"{t}/{k}")) for k in ("alone", "stats", "under_stats", "search", "under_search", "hit", "under_hit")}
a = r["alone"]
print(f"get_account at 200 calls/s (2 clients x 100/s, open loop), {accounts} accounts, {secs} s, airlock --threads {threads} --slow-threads {slow}")
print(f"  alone:                 p50 {a['p50_ms']:.2f} ms  p99 {a['p99_ms']:.2f} ms  ({a['requests']} calls, {a['errors']} errors)")
for load, under, what in (("stats", "under_stats", "4 x book_stats"), ("search", "under_search", "4 x text search"),
                          ("hit", "under_hit", "4 x text hit")):
    u, l = r[under], r[load]
    ratio = u["p99_ms"] / a["p99_ms"] if a["p99_ms"] else float("inf")
    print(f"  under {what:16} p50 {u['p50_ms']:.2f} ms  p99 {u['p99_ms']:.2f} ms  ({u['requests']} calls, {u['errors']} errors)"
          f"  p99 ratio {ratio:.2f}x (goal <= 2x)   [{what}: {l['requests']} answered, p50 {l['p50_ms']:.0f} ms]")
PY
