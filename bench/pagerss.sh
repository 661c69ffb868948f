#!/bin/sh
# bench/pagerss.sh — serve's memory while agents page through a big book:
# the account objects kept between search_accounts pages (book_cache.h) are
# bounded, whatever the book's size. A book of PAGERSS_ACCOUNTS synthetic
# accounts (1,000,000 by default; bench_book), `airlock serve --threads 4`,
# and PAGERSS_CLIENTS (4) clients each asking for pages of 20 from random
# cursors (one of 200,000 random accounts a call, none repeated on
# purpose) for PAGERSS_SECONDS (15): the kept objects fill and start again
# many times over. Prints the server's peak RSS (VmHWM) against its idle
# RSS, and its CPU per page (user + system over the run, divided by the
# pages answered). Goal: peak RSS <= 64 MB at 1M accounts (issue 15).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=pagerss.sh
. "$ROOT/bench/lib.sh"
B=$ROOT/build/release/bench
ACCOUNTS=${PAGERSS_ACCOUNTS:-1000000}
CLIENTS=${PAGERSS_CLIENTS:-4}
SECS=${PAGERSS_SECONDS:-15}

[ -x "$AIRLOCK" ] && [ -x "$B/bench_mcp_load" ] ||
	{ echo "pagerss.sh: run 'make bench' (builds airlock and bench_mcp_load)" >&2; exit 1; }
bench_tmp
DB=$T/book.db
bench_book "$DB" "$ACCOUNTS"
TOKEN=$("$AIRLOCK" token create --connector read --agent bench --db "$DB" 2>/dev/null)
# a cursor is next_cursor's form: base64url("a1:" + the last id), unpadded
python3 - "$ACCOUNTS" "$T/args" <<'PY'
import base64, random, sys
n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random()
with open(out, "w") as f:
    for _ in range(200000):
        c = base64.urlsafe_b64encode(b"a1:ACC%07d" % rng.randint(1, max(1, n - 25))).decode().rstrip("=")
        f.write('{"limit":20,"cursor":"%s"}\n' % c)
PY
bench_serve "$DB" "$T/serve.log" --threads 4
idle=$(awk '/^VmRSS/ { print $2 }' "/proc/$apid/status")
c0=$(awk '{ print $14 + $15 }' "/proc/$apid/stat")
BENCH_ARGS_FILE=$T/args "$B/bench_mcp_load" "$aport" /mcp/read "$CLIENTS" "$SECS" 0 \
	search_accounts '{"limit":20}' "$TOKEN" >"$T/load" 2>&1
c1=$(awk '{ print $14 + $15 }' "/proc/$apid/stat")
peak=$(awk '/^VmHWM/ { print $2 }' "/proc/$apid/status")
pages=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$T/load")
errors=$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' "$T/load")
bench_stop "$apid"
[ "${pages:-0}" -gt 0 ] && [ "${errors:-1}" -eq 0 ] ||
	{ echo "pagerss.sh: the load failed: $(cat "$T/load")" >&2; exit 1; }
awk -v a="$ACCOUNTS" -v i="$idle" -v p="$peak" -v n="$pages" -v t=$((c1 - c0)) \
	-v hz="$(getconf CLK_TCK)" 'BEGIN {
	printf "%d accounts, %d pages: serve RSS idle %.1f MB, peak %.1f MB (%.2fx idle; goal <= 64 MB); CPU %.1f us a page\n",
		a, n, i / 1024, p / 1024, p / i, t * 1e6 / hz / n }'
