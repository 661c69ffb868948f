#!/bin/sh
# bench/mcp.sh — MCP tools/call throughput and latency over Streamable HTTP
# on loopback: airlock serve (read connector, bearer token on) against the
# same search_accounts tool on the official MCP TypeScript SDK server
# (bench/node/server.mjs, better-sqlite3), over the same SQLite book, driven
# by the same closed-loop load generator (bench_mcp_load) in the same run.
#
# Knobs: MCP_BENCH_CLIENTS (64), MCP_BENCH_SECONDS (10), MCP_BENCH_WARMUP (2),
# MCP_BENCH_ACCOUNTS (20000), MCP_BENCH_THREADS (airlock workers, 4).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AIRLOCK=${AIRLOCK:-$ROOT/build/release/airlock}
LOAD=$ROOT/build/release/bench/bench_mcp_load
CLIENTS=${MCP_BENCH_CLIENTS:-64}
SECS=${MCP_BENCH_SECONDS:-10}
WARMUP=${MCP_BENCH_WARMUP:-2}
ACCOUNTS=${MCP_BENCH_ACCOUNTS:-20000}
THREADS=${MCP_BENCH_THREADS:-4}
TOOL=search_accounts
ARGS=${MCP_BENCH_ARGS:-'{"limit":20}'}

[ -x "$AIRLOCK" ] && [ -x "$LOAD" ] || { echo "mcp.sh: run 'make bench' (builds airlock and bench_mcp_load)" >&2; exit 1; }
command -v node >/dev/null || { echo "mcp.sh: node is not installed (scripts/deps.sh)" >&2; exit 1; }
# The baseline's dependencies; better-sqlite3 compiles against the system
# node's headers (no prebuilt download is needed).
if [ ! -f "$ROOT/bench/node/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ]; then
	echo "mcp.sh: npm ci in bench/node (compiles better-sqlite3, about a minute)" >&2
	(cd "$ROOT/bench/node" && npm_config_nodedir=${npm_config_nodedir:-/usr} \
		npm ci --no-audit --no-fund --loglevel=error >&2)
fi

T=$(mktemp -d)
export AIRLOCK_POLICY="$T/airlock.yaml"
apid=
npid=
cleanup() {
	[ -n "$apid" ] && kill "$apid" 2>/dev/null
	[ -n "$npid" ] && kill "$npid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
DB=$T/book.db

"$AIRLOCK" init --db "$DB" >/dev/null
# A deterministic book: segments, regions, tiers and lifecycles spread evenly.
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

wait_port() { # LOG REGEX → port
	for _ in $(seq 100); do
		p=$(sed -n "s/$2/\\1/p" "$1" | head -1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
	done
	echo "mcp.sh: server did not start: $(cat "$1")" >&2
	return 1
}

"$AIRLOCK" serve --db "$DB" --listen 127.0.0.1:0 --threads "$THREADS" 2>"$T/airlock.log" &
apid=$!
aport=$(wait_port "$T/airlock.log" '.*listening on http:\/\/127.0.0.1:\([0-9]*\).*')
"$LOAD" "$aport" /mcp/read "$CLIENTS" "$SECS" "$WARMUP" "$TOOL" "$ARGS" "$TOKEN" >"$T/airlock.json"
kill "$apid"
wait "$apid" || true
apid=

nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node "$ROOT/bench/node/server.mjs" "$DB" "$nport" 2>"$T/node.log" &
npid=$!
wait_port "$T/node.log" '.*listening on 127.0.0.1:\([0-9]*\).*' >/dev/null
"$LOAD" "$nport" /mcp/read "$CLIENTS" "$SECS" "$WARMUP" "$TOOL" "$ARGS" >"$T/node.json"
kill "$npid"
wait "$npid" || true
npid=

python3 - "$T/airlock.json" "$T/node.json" "$CLIENTS" "$SECS" "$ACCOUNTS" "$THREADS" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); n = json.load(open(sys.argv[2]))
clients, secs, accounts, threads = sys.argv[3:7]
print(f"MCP tools/call search_accounts over HTTP, {clients} clients, {secs} s, {accounts} accounts, airlock --threads {threads}")
print(f"{'server':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
for name, r in (("airlock serve (C)", a), ("TypeScript SDK (Node)", n)):
    print(f"{name:<28}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>8}")
rps = a['rps'] / n['rps'] if n['rps'] else float('inf')
p99 = a['p99_ms'] / n['p99_ms'] if n['p99_ms'] else float('inf')
print(f"airlock/SDK: {rps:.1f}x req/s (goal >= 5x), p99 {p99:.2f}x (goal <= 0.20x)")
PY
