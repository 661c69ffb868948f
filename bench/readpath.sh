#!/bin/sh
# bench/readpath.sh — server CPU per logged read: airlock serve answering
# search_accounts (limit 20) over HTTP, every call in the hash-chained
# action log before its answer leaves, against this machine's ceiling for
# the same answer: bench_ceiling, libmicrohttpd answering the very same
# bytes after a bare SQLite group-commit append of one small row. Both are
# driven by bench_mcp_load with the same clients, one after the other, runs
# alternating; CPU is the server process's user+system time (/proc) over
# the run, divided by the calls answered. The goal is airlock <= 3x.
#
# Knobs: READPATH_RUNS (5), READPATH_CLIENTS (16), READPATH_SECONDS (5),
# READPATH_ACCOUNTS (20000), READPATH_THREADS (airlock --threads, 4).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AIRLOCK=${AIRLOCK:-$ROOT/build/release/airlock}
B=$ROOT/build/release/bench
RUNS=${READPATH_RUNS:-5}
CLIENTS=${READPATH_CLIENTS:-16}
SECS=${READPATH_SECONDS:-5}
ACCOUNTS=${READPATH_ACCOUNTS:-20000}
THREADS=${READPATH_THREADS:-4}
ARGS='{"limit":20}'

[ -x "$AIRLOCK" ] && [ -x "$B/bench_mcp_load" ] && [ -x "$B/bench_ceiling" ] ||
	{ echo "readpath.sh: run 'make bench' (builds airlock, bench_mcp_load, bench_ceiling)" >&2; exit 1; }

T=$(mktemp -d)
export AIRLOCK_POLICY="$T/airlock.yaml"
apid=
cpid=
cleanup() {
	[ -n "$apid" ] && kill "$apid" 2>/dev/null
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
DB=$T/book.db

"$AIRLOCK" init --db "$DB" >/dev/null
sqlite3 "$DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<$ACCOUNTS)
INSERT INTO account(id,name,domain,segment,region,industry,owner,tier,lifecycle,arr,employees,updated_at)
SELECT printf('ACC%07d',i), printf('Company %d',i), printf('company%d.example',i),
 CASE i%3 WHEN 0 THEN 'smb' WHEN 1 THEN 'mid-market' ELSE 'enterprise' END,
 CASE i%4 WHEN 0 THEN 'emea' WHEN 1 THEN 'na' WHEN 2 THEN 'apac' ELSE 'latam' END,
 CASE i%5 WHEN 0 THEN 'software' WHEN 1 THEN 'retail' WHEN 2 THEN 'finance' WHEN 3 THEN 'health' ELSE 'media' END,
 printf('rep%d',i%40), 1+i%4,
 CASE i%7 WHEN 0 THEN 'customer' WHEN 1 THEN 'former_customer' ELSE 'prospect' END,
 (i%500)*1000.0, 10+i%5000, '2026-01-01T00:00:00Z' FROM n;"
TOKEN=$("$AIRLOCK" token create --connector read --agent bench --db "$DB" 2>/dev/null)

wait_port() { # LOG → port
	for _ in $(seq 100); do
		p=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$1" | head -1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
	done
	echo "readpath.sh: server did not start: $(cat "$1")" >&2
	return 1
}
cpu() { # PID → user+system clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

"$AIRLOCK" serve --db "$DB" --listen 127.0.0.1:0 --threads "$THREADS" 2>"$T/airlock.log" &
apid=$!
aport=$(wait_port "$T/airlock.log")

# The page airlock answers, for the ceiling to answer byte for byte.
U="http://127.0.0.1:$aport/mcp/read"
curl -s -D "$T/hdr" -o /dev/null -H "Content-Type: application/json" \
	-H "Accept: application/json, text/event-stream" -H "Authorization: Bearer $TOKEN" \
	--data-binary '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' "$U"
SID=$(sed -n 's/^Mcp-Session-Id: *\([0-9a-f]*\).*/\1/ip' "$T/hdr" | tr -d '\r')
curl -s -o "$T/page" -H "Content-Type: application/json" \
	-H "Accept: application/json, text/event-stream" -H "Authorization: Bearer $TOKEN" \
	-H "Mcp-Session-Id: $SID" \
	--data-binary "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"search_accounts\",\"arguments\":$ARGS}}" "$U"
grep -q '"result"' "$T/page" || { echo "readpath.sh: no page from airlock: $(head -c 300 "$T/page")" >&2; exit 1; }

"$B/bench_ceiling" "$T/ceiling.db" "$T/page" 2>"$T/ceiling.log" &
cpid=$!
cport=$(wait_port "$T/ceiling.log")

measure() { # PID PORT OUT
	c0=$(cpu "$1")
	"$B/bench_mcp_load" "$2" /mcp/read "$CLIENTS" "$SECS" 0 search_accounts "$ARGS" "$TOKEN" >"$3.json"
	c1=$(cpu "$1")
	echo "$((c1 - c0))" >"$3.cpu"
}

i=1
while [ "$i" -le "$RUNS" ]; do
	measure "$apid" "$aport" "$T/a$i"
	measure "$cpid" "$cport" "$T/c$i"
	i=$((i + 1))
done

python3 - "$T" "$RUNS" "$CLIENTS" "$SECS" "$ACCOUNTS" "$THREADS" "$(getconf CLK_TCK)" <<'PY'
import json, sys
t, runs, clients, secs, accounts, threads, hz = sys.argv[1:]
runs, hz = int(runs), float(hz)
print(f"logged search_accounts (limit 20) over HTTP, {clients} clients, {secs} s a run, {accounts} accounts, airlock --threads {threads}")
print("run | airlock req/s | airlock CPU us/req | ceiling req/s | ceiling CPU us/req | CPU ratio | req/s ratio")
ratios = []
for i in range(1, runs + 1):
    a = json.load(open(f"{t}/a{i}.json")); c = json.load(open(f"{t}/c{i}.json"))
    acpu = int(open(f"{t}/a{i}.cpu").read()) / hz * 1e6 / max(a["requests"], 1)
    ccpu = int(open(f"{t}/c{i}.cpu").read()) / hz * 1e6 / max(c["requests"], 1)
    ratios.append(acpu / ccpu)
    print(f"{i} | {a['rps']:.0f} | {acpu:.1f} | {c['rps']:.0f} | {ccpu:.1f} | {acpu / ccpu:.2f}x | {a['rps'] / c['rps']:.2f}x")
print(f"CPU per request, airlock / ceiling: {min(ratios):.2f}-{max(ratios):.2f}x over {runs} runs (goal <= 3x)")
PY
