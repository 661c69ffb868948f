#!/bin/sh
# bench/readpath.sh — server CPU per logged read: airlock serve answering
# search_accounts (limit 20) over HTTP, every call in the hash-chained
# action log before its answer leaves, against this machine's ceiling for
# the same answer: bench_ceiling, libmicrohttpd answering the very same
# bytes after a bare SQLite group-commit append of one small row.
#
# The input is random pages, as agents reading the book page by page ask
# for them: before the runs, the book is walked once with next_cursor
# (READPATH_PAGES pages of 20, the whole book by default) and every page's
# arguments and answer are kept; each call then asks for one of those pages
# at random (bench_mcp_load's BENCH_ARGS_FILE), and the ceiling answers the
# very bytes airlock answered for those arguments (bench_ceiling --keyed).
# READPATH_INPUT=repeated is the method before round 7: '{"limit":20}'
# every call, the book's first page again and again. Both are
# driven by bench_mcp_load with the same clients, one after the other, runs
# alternating; CPU is the server process's user+system time (/proc) over
# the run, divided by the calls answered. The goal is airlock <= 3x.
#
# With random pages a third server runs too: the same ceiling reading each
# page from its own copy of the book with airlock's own page code before
# answering (bench_ceiling --book), the floor of any server that reads the
# book per call; airlock is printed against it as well. BENCH_RATE=R (read
# by bench_mcp_load) makes each client call R times a second, so that the
# servers are compared at the same offered load: at their own top speeds a
# slower server is also charged for the load generator's wake-ups, which
# the kernel does inside its sends.
#
# Knobs: READPATH_RUNS (5), READPATH_CLIENTS (16), READPATH_SECONDS (5),
# READPATH_ACCOUNTS (20000), READPATH_THREADS (airlock --threads, 4),
# READPATH_INPUT (random | repeated), READPATH_PAGES (the pages walked,
# ACCOUNTS/20 by default), READPATH_MERGED (the percent of accounts merged
# into another, at random, before the walk: 0 by default; a deduplicated
# book has a few).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=readpath.sh
. "$ROOT/bench/lib.sh"
B=$ROOT/build/release/bench
RUNS=${READPATH_RUNS:-5}
CLIENTS=${READPATH_CLIENTS:-16}
SECS=${READPATH_SECONDS:-5}
ACCOUNTS=${READPATH_ACCOUNTS:-20000}
THREADS=${READPATH_THREADS:-4}
INPUT=${READPATH_INPUT:-random}
PAGES=${READPATH_PAGES:-$((ACCOUNTS / 20))}
MERGED=${READPATH_MERGED:-0}
ARGS='{"limit":20}'
case $INPUT in random | repeated) ;; *) echo "readpath.sh: READPATH_INPUT is random or repeated" >&2; exit 2 ;; esac

[ -x "$AIRLOCK" ] && [ -x "$B/bench_mcp_load" ] && [ -x "$B/bench_ceiling" ] ||
	{ echo "readpath.sh: run 'make bench' (builds airlock, bench_mcp_load, bench_ceiling)" >&2; exit 1; }

bench_tmp
DB=$T/book.db
bench_book "$DB" "$ACCOUNTS"
[ "$MERGED" = 0 ] || sqlite3 "$DB" "UPDATE account SET merged_into='ACC0000001'
 WHERE abs(random()) % 100 < $MERGED AND id <> 'ACC0000001'"
# the book ceiling's own copy of the book, which it reads
[ "$INPUT" = repeated ] || sqlite3 "$DB" ".backup '$T/ceilbook.db'"
TOKEN=$("$AIRLOCK" token create --connector read --agent bench --db "$DB" 2>/dev/null)

cpu() { # PID → user+system clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

bench_serve "$DB" "$T/airlock.log" --threads "$THREADS"

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

KEYED=
if [ "$INPUT" = random ]; then
	# Walk the book with next_cursor as an agent does; keep each page's
	# arguments (one a line, for bench_mcp_load) and its answer beside them
	# (for the ceiling). Every page costs airlock a logged call, as any.
	python3 - "$aport" "$TOKEN" "$SID" "$PAGES" "$T/args" "$T/pages" <<'PY'
import http.client, json, sys
port, token, sid, want, args_out, pages_out = sys.argv[1:]
c = http.client.HTTPConnection("127.0.0.1", int(port))
hdr = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
       "Authorization": "Bearer " + token, "Mcp-Session-Id": sid}
cursor, n = None, 0
with open(args_out, "w") as fa, open(pages_out, "wb") as fp:
    while n < int(want):
        args = {"limit": 20} if cursor is None else {"limit": 20, "cursor": cursor}
        a = json.dumps(args, separators=(",", ":"))
        c.request("POST", "/mcp/read", headers=hdr, body='{"jsonrpc":"2.0","id":2,"method":"tools/call",'
                  '"params":{"name":"search_accounts","arguments":%s}}' % a)
        page = c.getresponse().read()
        res = json.loads(page)["result"]
        fa.write(a + "\n")
        ab = a.encode()
        fp.write(b"%d %d\n" % (len(ab), len(page)) + ab + page)
        n += 1
        cursor = res["structuredContent"]["next_cursor"]
        if cursor is None:
            break
print(f"readpath.sh: {n} pages walked", file=sys.stderr)
PY
	KEYED=--keyed
fi

if [ -n "$KEYED" ]; then
	"$B/bench_ceiling" "$T/ceiling.db" "$T/pages" --keyed 2>"$T/ceiling.log" &
else
	"$B/bench_ceiling" "$T/ceiling.db" "$T/page" 2>"$T/ceiling.log" &
fi
cpid=$!
bench_track "$cpid"
cport=$(bench_wait_port "$T/ceiling.log")
ppid=
if [ -n "$KEYED" ]; then
	# the same ceiling, reading each page from its copy of the book with
	# airlock's own page code (bench_ceiling --book)
	"$B/bench_ceiling" "$T/bookceiling.db" "$T/pages" --keyed --book "$T/ceilbook.db" \
		2>"$T/bookceiling.log" &
	ppid=$!
	bench_track "$ppid"
	pport=$(bench_wait_port "$T/bookceiling.log")
fi
if [ -n "$KEYED" ]; then
	# the ceiling answers a page's arguments with airlock's page for them
	_a=$(awk 'NR == 7' "$T/args")
	for _p in "$aport" "$cport"; do
		curl -s -o "$T/check.$_p" -H "Content-Type: application/json" \
			-H "Accept: application/json, text/event-stream" -H "Authorization: Bearer $TOKEN" \
			-H "Mcp-Session-Id: $SID" \
			--data-binary "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"search_accounts\",\"arguments\":$_a}}" \
			"http://127.0.0.1:$_p/mcp/read"
	done
	cmp -s "$T/check.$aport" "$T/check.$cport" ||
		{ echo "readpath.sh: the ceiling's page for $_a is not airlock's" >&2; exit 1; }
fi

threads() { # PID → "name ticks" per thread
	for _t in /proc/"$1"/task/*; do
		echo "$(cat "$_t/comm" 2>/dev/null) $(awk '{ print $14 + $15 }' "$_t/stat" 2>/dev/null)"
	done
}

measure() { # PID PORT OUT
	threads "$1" >"$3.t0"
	c0=$(cpu "$1")
	if [ -n "$KEYED" ]; then
		BENCH_ARGS_FILE=$T/args "$B/bench_mcp_load" "$2" /mcp/read "$CLIENTS" "$SECS" 0 \
			search_accounts "$ARGS" "$TOKEN" >"$3.json"
	else
		"$B/bench_mcp_load" "$2" /mcp/read "$CLIENTS" "$SECS" 0 search_accounts "$ARGS" "$TOKEN" >"$3.json"
	fi
	c1=$(cpu "$1")
	threads "$1" >"$3.t1"
	echo "$((c1 - c0))" >"$3.cpu"
}

i=1
while [ "$i" -le "$RUNS" ]; do
	measure "$apid" "$aport" "$T/a$i"
	measure "$cpid" "$cport" "$T/c$i"
	[ -z "$ppid" ] || measure "$ppid" "$pport" "$T/p$i"
	i=$((i + 1))
done

python3 - "$T" "$RUNS" "$CLIENTS" "$SECS" "$ACCOUNTS" "$THREADS" "$(getconf CLK_TCK)" "$INPUT" <<'PY'
import json, os, sys
t, runs, clients, secs, accounts, threads, hz, inp = sys.argv[1:]
runs, hz = int(runs), float(hz)
what = "random pages (cursors)" if inp == "random" else "the first page every call"
print(f"logged search_accounts (limit 20, {what}) over HTTP, {clients} clients, {secs} s a run, {accounts} accounts, airlock --threads {threads}")
print("run | airlock req/s | airlock CPU us/req | ceiling req/s | ceiling CPU us/req | CPU ratio | req/s ratio")
ratios, threads, booked, booklines = [], [], [], []
for i in range(1, runs + 1):
    a = json.load(open(f"{t}/a{i}.json")); c = json.load(open(f"{t}/c{i}.json"))
    acpu = int(open(f"{t}/a{i}.cpu").read()) / hz * 1e6 / max(a["requests"], 1)
    ccpu = int(open(f"{t}/c{i}.cpu").read()) / hz * 1e6 / max(c["requests"], 1)
    ratios.append(acpu / ccpu)
    if a.get("errors") or c.get("errors"):
        print(f"run {i}: errors: airlock {a.get('errors')}, ceiling {c.get('errors')}")
    print(f"{i} | {a['rps']:.0f} | {acpu:.1f} | {c['rps']:.0f} | {ccpu:.1f} | {acpu / ccpu:.2f}x | {a['rps'] / c['rps']:.2f}x")
    if os.path.exists(f"{t}/p{i}.json"):
        p = json.load(open(f"{t}/p{i}.json"))
        pcpu = int(open(f"{t}/p{i}.cpu").read()) / hz * 1e6 / max(p["requests"], 1)
        booked.append(acpu / pcpu)
        booklines.append(f"run {i}: the ceiling reading each page from the book (bench_ceiling --book): {p['rps']:.0f} req/s, {pcpu:.1f} us/req; airlock / it {acpu / pcpu:.2f}x")
    # airlock's CPU per request by thread (name: the I/O thread is
    # MHD-single, the log's writer airlock-log)
    per = {}
    for l0, l1 in zip(open(f"{t}/a{i}.t0"), open(f"{t}/a{i}.t1")):
        n0, n1 = l0.split(), l1.split()
        if len(n0) == 2 and len(n1) == 2 and n0[0] == n1[0]:
            per[n1[0]] = per.get(n1[0], 0) + int(n1[1]) - int(n0[1])
    threads.append(" ".join(f"{k} {v / hz * 1e6 / max(a['requests'], 1):.1f}" for k, v in sorted(per.items(), key=lambda kv: -kv[1]) if v))
for i, line in enumerate(threads, 1):
    print(f"run {i}: airlock CPU us/req by thread: {line}")
for line in booklines:
    print(line)
print(f"CPU per request, airlock / ceiling: {min(ratios):.2f}-{max(ratios):.2f}x over {runs} runs (goal <= 3x)")
if booked:
    print(f"CPU per request, airlock / the ceiling reading the page: {min(booked):.2f}-{max(booked):.2f}x over {runs} runs")
PY
