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
NAME=mcp.sh
. "$ROOT/bench/lib.sh"
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

bench_tmp
DB=$T/book.db
# A deterministic book: segments, regions, tiers and lifecycles spread evenly.
bench_book "$DB" "$ACCOUNTS"
TOKEN=$("$AIRLOCK" token create --connector read --agent bench --db "$DB" 2>/dev/null)

bench_serve "$DB" "$T/airlock.log" --threads "$THREADS"
"$LOAD" "$aport" /mcp/read "$CLIENTS" "$SECS" "$WARMUP" "$TOOL" "$ARGS" "$TOKEN" >"$T/airlock.json"
bench_stop "$apid"

nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node "$ROOT/bench/node/server.mjs" "$DB" "$nport" 2>"$T/node.log" &
npid=$!
bench_track "$npid"
bench_wait_port "$T/node.log" '.*listening on 127.0.0.1:\([0-9]*\).*' >/dev/null
"$LOAD" "$nport" /mcp/read "$CLIENTS" "$SECS" "$WARMUP" "$TOOL" "$ARGS" >"$T/node.json"
bench_stop "$npid"

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
