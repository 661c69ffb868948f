#!/bin/sh
# bench/pg.sh — issue 20's measures on PostgreSQL, on a throwaway cluster
# of this machine (tests/pg.sh: Unix socket, fsync off), each a ratio
# against a baseline in the same run:
#   1. staging a 500-item proposal vs the bare libpq INSERTs of the rows it
#      writes (bench_pg; goal <= 3x)
#   2. apply and undo of PG_APPLY_ITEMS (100,000) items vs bare libpq
#      UPDATEs of the same rows (bench_pg; goal <= 2x)
#   3. MCP read throughput (logged search_accounts, limit 20) with one and
#      two `airlock serve` on one database, the same clients split across
#      the servers (goal: two >= 1.6x one), with the CPU seconds of the
#      servers and of the PostgreSQL backends over each run: where the
#      cores go.
# Runs alternate; PG_RUNS (5) of each.
#
# Knobs: PG_RUNS (5), PG_APPLY_ITEMS (100000), PG_CLIENTS (16), PG_SECONDS (5),
# PG_ACCOUNTS (2000), PG_THREADS (airlock --threads, 4).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=pg.sh
. "$ROOT/bench/lib.sh"
B=$ROOT/build/release/bench
RUNS=${PG_RUNS:-5}
N=${PG_APPLY_ITEMS:-100000}
CLIENTS=${PG_CLIENTS:-16}
SECS=${PG_SECONDS:-5}
ACCOUNTS=${PG_ACCOUNTS:-2000}
THREADS=${PG_THREADS:-4}
ARGS='{"limit":20}'

[ -x "$AIRLOCK" ] && [ -x "$B/bench_mcp_load" ] && [ -x "$B/bench_pg" ] ||
	{ echo "pg.sh: run 'make bench' (builds airlock, bench_mcp_load, bench_pg)" >&2; exit 1; }
[ -x /usr/lib/postgresql/15/bin/initdb ] && command -v psql >/dev/null ||
	{ echo "pg.sh: no PostgreSQL 15 (sh scripts/deps.sh)" >&2; exit 1; }

bench_tmp
chmod 755 "$T" # the postgres user makes its cluster inside
trap 'sh "$ROOT/tests/pg.sh" stop "$T/pg" >/dev/null 2>&1; bench_cleanup' EXIT
URL0=$(sh "$ROOT/tests/pg.sh" start "$T/pg")
PM=$(head -1 "$T/pg/data/postmaster.pid")
dburl() { printf '%s' "$URL0" | sed "s|:///[^?]*?|:///$1?|"; }
mkdb() { psql -q "$URL0" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null 2>&1; }
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"

# 1 and 2: a fresh database per run
i=1
while [ "$i" -le "$RUNS" ]; do
	mkdb stage$i
	"$B/bench_pg" "$(dburl stage$i)" "$N" >"$T/s$i.out"
	grep -v '^json' "$T/s$i.out"
	sed -n 's/^json //p' "$T/s$i.out" >"$T/s$i.json"
	psql -q "$URL0" -c "DROP DATABASE stage$i" >/dev/null 2>&1
	i=$((i + 1))
done

# 3: one and two servers on one database
mkdb mcp
export AIRLOCK_DB=$(dburl mcp)
export AIRLOCK_KEY="$T/airlock.key"
"$AIRLOCK" init >/dev/null 2>&1
"$AIRLOCK" demo --accounts "$ACCOUNTS" >/dev/null 2>&1
TOKEN=$("$AIRLOCK" token create --connector read --agent bench 2>/dev/null)
bench_serve "$AIRLOCK_DB" "$T/a.log" --threads "$THREADS"
pa=$apid porta=$aport
bench_serve "$AIRLOCK_DB" "$T/b.log" --threads "$THREADS"
pb=$apid portb=$aport

ticks() { # PID... → their user+system clock ticks
	for _p in "$@"; do awk '{ print $14 + $15 }' "/proc/$_p/stat" 2>/dev/null || echo 0; done |
		awk '{ s += $1 } END { print s + 0 }'
}
backends() { ps --ppid "$PM" -o pid= | tr '\n' ' '; }

# measure OUT PORT...: the clients split evenly across the ports, at once
measure() {
	out=$1
	shift
	per=$((CLIENTS / $#))
	be=$(backends)
	a0=$(ticks "$pa" "$pb")
	g0=$(ticks $be)
	j=0 jobs=
	for port in "$@"; do
		"$B/bench_mcp_load" "$port" /mcp/read "$per" "$SECS" 1 search_accounts "$ARGS" "$TOKEN" >"$out.$j.json" &
		jobs="$jobs $!"
		j=$((j + 1))
	done
	wait $jobs
	echo "$(($(ticks "$pa" "$pb") - a0)) $(($(ticks $be) - g0)) $(cut -d' ' -f1 /proc/loadavg)" >"$out.cpu"
}

i=1
while [ "$i" -le "$RUNS" ]; do
	measure "$T/one$i" "$porta"
	measure "$T/two$i" "$porta" "$portb"
	i=$((i + 1))
done

python3 - "$T" "$RUNS" "$N" "$CLIENTS" "$SECS" "$ACCOUNTS" "$THREADS" "$(getconf CLK_TCK)" <<'PY'
import glob, json, statistics as st, sys
t, runs, n, clients, secs, accounts, threads, hz = sys.argv[1:]
runs, hz = int(runs), float(hz)
s = [json.load(open(f"{t}/s{i}.json")) for i in range(1, runs + 1)]
def spread(k, fmt="{:.2f}"):
    v = sorted(x[k] for x in s)
    return f"median {fmt.format(st.median(v))}, {fmt.format(v[0])}-{fmt.format(v[-1])}"
print(f"stage 500 items vs bare libpq INSERTs: ratio {spread('stage_ratio')} over {runs} runs (goal <= 3)"
      f"; airlock ms {spread('stage_ms', '{:.1f}')}")
print(f"apply {n} items vs bare libpq UPDATEs: ratio {spread('apply_ratio')}; airlock ms {spread('apply_ms', '{:.0f}')}, bare ms {spread('apply_bare_ms', '{:.0f}')}")
print(f"undo {n} items vs bare libpq UPDATEs:  ratio {spread('undo_ratio')}")
print(f"MCP read throughput, logged search_accounts (limit 20), {clients} clients split across the servers,"
      f" {secs} s a run, {accounts} accounts, --threads {threads}")
print("run | one server req/s | two servers req/s | two/one | CPU s one: airlock, postgres | CPU s two: airlock, postgres | load")
ratios = []
for i in range(1, runs + 1):
    one = sum(json.load(open(f))["rps"] for f in glob.glob(f"{t}/one{i}.*.json"))
    two = sum(json.load(open(f))["rps"] for f in glob.glob(f"{t}/two{i}.*.json"))
    c1 = open(f"{t}/one{i}.cpu").read().split(); c2 = open(f"{t}/two{i}.cpu").read().split()
    ratios.append(two / one)
    print(f"{i} | {one:.0f} | {two:.0f} | {two / one:.2f}x | {int(c1[0]) / hz:.1f}, {int(c1[1]) / hz:.1f}"
          f" | {int(c2[0]) / hz:.1f}, {int(c2[1]) / hz:.1f} | {c2[2]}")
print(f"two servers / one: median {st.median(ratios):.2f}x, {min(ratios):.2f}-{max(ratios):.2f}x over {runs} runs (goal >= 1.6x)")
PY
