#!/bin/sh
# e2e: the PostgreSQL server crashes (kill -9 of the postmaster and all its
# processes) while `airlock serve` is under read and write load on it, and
# is started again (issue 20). From the side of the agents and the
# operator: while the database is down every call is answered with an
# error, promptly (no crash, no hang); once it is back, airlock takes calls
# again by itself (no restart of airlock); nothing it answered as done is
# lost (an answered proposal is in the book; a read's log entry is a relaxed
# commit, which may be lost with the server: counted); the log verifies as
# one chain. A cluster of its own (tests/pg.sh),
# on a Unix socket in $T; bounded in count and time.
. "$(dirname "$0")/lib.sh"

PGSH=$(cd "$(dirname "$0")/.." && pwd)/pg.sh
if [ -z "${AIRLOCK_TEST_PG:-}" ] || ! command -v curl >/dev/null ||
	[ ! -x "${PG_BIN:-/usr/lib/postgresql/15/bin}/pg_ctl" ]; then
	echo "# AIRLOCK_TEST_PG is not set (or no curl/pg_ctl): skipped"
	echo "1..0"
	exit 0
fi
chmod 755 "$T" # the postgres user makes its cluster inside
cleanup() {
	[ -z "${pid:-}" ] || kill "$pid" 2>/dev/null
	wait 2>/dev/null
	sh "$PGSH" stop "$T/pg" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
if AIRLOCK_DB=$(sh "$PGSH" start "$T/pg" 2>"$T/pg.err"); then
	ok "a cluster of its own"
else
	notok "a cluster of its own" "$(cat "$T/pg.err")"
	echo "1..$TN"
	exit 1
fi
export AIRLOCK_DB
export AIRLOCK_KEY="$T/airlock.key"
# the caps out of the way: every refusal under load is the crash's
sed 's/stage_max: 200 /stage_max: 9000 /; s/max_pending_batches: 20 /max_pending_batches: 900 /' \
	"$AIRLOCK_POLICY" >"$T/restart.yaml"
export AIRLOCK_POLICY="$T/restart.yaml"
expect 0 "init on PostgreSQL" "$AIRLOCK" init
expect 0 "a 300-account book" "$AIRLOCK" demo --accounts 300
RT=$("$AIRLOCK" token create --connector read --agent reader 2>/dev/null)
for i in 0 1 2; do
	eval "WT$i=\$(\"\$AIRLOCK\" token create --connector write --agent writer$i 2>/dev/null)"
done
ids=$(sql "SELECT id FROM account ORDER BY id")
serve_start

META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
# call CONN TOKEN OUT BODY: one stateless MCP call; OUT gets the body,
# OUT.code the HTTP status and the seconds it took ("000" when curl got no
# answer within 15 s)
call() {
	curl -s -m 15 -o "$3" -w '%{http_code} %{time_total}\n' -H "Content-Type: application/json" \
		-H "Accept: application/json, text/event-stream" -H "Authorization: Bearer $2" \
		-H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' \
		--data-binary "$4" "http://127.0.0.1:$port/mcp/$1" >"$3.code"
}
# read OUT N: get_account of the N-th account (in id order)
read_one() {
	set -- "$1" "$(printf '%s\n' $ids | sed -n "${2}p")"
	call read "$RT" "$1" "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_account\",\"arguments\":{\"account_id\":\"$2\"},$META}}"
}
# propose TOKEN OUT FIRST N: the FIRST-th onward N accounts (in id order)
# to tier 1
propose() {
	items=$(printf '%s\n' $ids | sed -n "$3,$(($3 + $4 - 1))p" |
		awk '{ sep = (NR > 1) ? "," : ""; printf "%s{\"record_id\":\"%s\",\"field\":\"tier\",\"value\":1,\"reason\":\"r\"}", sep, $1 }')
	call write "$1" "$2" "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"propose_changes\",\"arguments\":{\"workflow\":\"retier\",\"scope\":\"tier IN (1,2,3,4)\",\"rationale\":\"restart\",\"items\":[$items]},$META}}"
}

# answered: the account's record (a read that failed says isError)
answered() { grep -q '"resultType":"complete"' "$1" && ! grep -q '"isError":true' "$1"; }
read_one "$T/first" 1
answered "$T/first" && ok "a read before the crash" ||
	notok "a read before the crash" "$(cat "$T/first.code")" "$(head -c 400 "$T/first")"

# the load: three writers (one proposal of 2 accounts at a time, each its
# own accounts) and one reader, until $T/stop appears
mkdir "$T/load"
for i in 0 1 2; do
	eval "tok=\$WT$i"
	(k=0
	while [ ! -e "$T/stop" ] && [ $k -lt 40 ]; do
		propose "$tok" "$T/load/w${i}_$k" $((i * 80 + k * 2 + 1)) 2
		k=$((k + 1))
	done) &
	load="${load:-} $!"
done
(k=0
while [ ! -e "$T/stop" ] && [ $k -lt 400 ]; do
	read_one "$T/load/r_$k" $((k % 300 + 1))
	k=$((k + 1))
done) &
load="$load $!"

# crash once the load is under way (a dozen proposals answered), not after a
# fixed sleep: on a quiet machine the writers' 120 proposals take under a
# second, and a crash after them would test nothing
for k in $(seq 100); do
	[ "$(ls "$T/load" | grep -c '^w.*\.code$')" -ge 12 ] && break
	sleep 0.05
done
sh "$PGSH" crash "$T/pg"
ok "PostgreSQL killed (-9) under load"
sleep 0.5
# while it is down: errors, promptly, and the server stays up
read_one "$T/down_r" 2
set -- $(cat "$T/down_r.code")
[ "${1:-000}" != 000 ] && ok "a read while the database is down is answered (HTTP $1 in ${2:-?} s)" ||
	notok "a read while the database is down is answered" "no answer within 15 s"
grep -q '"error"\|"isError":true' "$T/down_r" && ok "... with an error" ||
	notok "... with an error" "$(head -c 400 "$T/down_r")"
propose "$WT0" "$T/down_w" 291 2
set -- $(cat "$T/down_w.code")
[ "${1:-000}" != 000 ] && ok "a proposal while the database is down is answered (HTTP $1 in ${2:-?} s)" ||
	notok "a proposal while the database is down is answered" "no answer within 15 s"
if grep -q '"batch_id"' "$T/down_w"; then
	notok "... not as staged" "$(head -c 400 "$T/down_w")"
else
	ok "... not as staged"
fi
kill -0 "$pid" 2>/dev/null && ok "airlock serve is still running" ||
	notok "airlock serve is still running" "$(tail -20 "$T/serve.log")"
expect 1 "airlock verify says the database is unreachable" "$AIRLOCK" verify
has "... naming the database" "$T/err" "$T/pg"

if sh "$PGSH" restart "$T/pg" >/dev/null 2>"$T/pg.err"; then
	ok "PostgreSQL started again (crash recovery)"
else
	notok "PostgreSQL started again" "$(cat "$T/pg.err")"
fi
# back by itself: the first calls after the restart may still meet a lost
# connection (each connection learns of the restart on its next use); within
# a few seconds they all work
back=
for k in $(seq 50); do
	read_one "$T/back" 3
	if answered "$T/back"; then
		back=$k
		break
	fi
	sleep 0.2
done
[ -n "$back" ] && ok "reads work again without restarting airlock (try $back)" ||
	notok "reads work again without restarting airlock" "$(cat "$T/back.code")" "$(head -c 400 "$T/back")"
back=
for k in $(seq 20); do
	propose "$WT1" "$T/back_w" $((293 + k % 4)) 1
	if grep -q '"batch_id"' "$T/back_w"; then
		back=$k
		break
	fi
	sleep 0.2
done
[ -n "$back" ] && ok "proposals are staged again (try $back)" ||
	notok "proposals are staged again" "$(head -c 400 "$T/back_w")"
sleep 1
touch "$T/stop"
wait $load

# every call answered as done is kept: each staged batch (the change and
# its log entry commit durably)
answered=$(cat "$T"/load/w* 2>/dev/null | grep -o 'batch_id[^0-9]*[0-9]*' | grep -o '[0-9]*$' | sort -un)
n_ans=$(printf '%s\n' $answered | grep -c .)
failed=$(grep -L '"batch_id' "$T"/load/w*_[0-9]* | grep -vc '\.code$')
echo "# proposals: $n_ans answered as staged, $failed answered otherwise"
[ "$n_ans" -gt 0 ] && [ "$failed" -gt 0 ] && ok "the crash fell amid the load ($n_ans staged, $failed refused)" ||
	notok "the crash fell amid the load" "$n_ans staged, $failed refused"
missing=
for b in $answered; do
	[ "$(sql "SELECT count(*) FROM batch WHERE id=$b")" = 1 ] || missing="$missing $b"
done
same "every batch answered as staged is in the book" "$missing" ""
reads=0
for f in "$T"/load/r_*; do
	case $f in *.code) continue ;; esac
	! answered "$f" || reads=$((reads + 1))
done
logged=$(sql "SELECT count(*) FROM action_log WHERE principal='agent:reader' AND tool='get_account' AND decision <> 'error'")
# a read's log entry is a relaxed commit (store.h: synchronous_commit off
# on PostgreSQL): the newest may be lost with the server (seen: 1 of ~50,
# in 1 run of 3), so they are counted, not asserted; every entry that is
# kept is in the one chain verify checks below
echo "# reads answered: $reads in the load (+2 around it); logged: $logged"
expect 0 "the log verifies after the crash" "$AIRLOCK" verify
same "one chain: seqs 1..N without a gap" \
	"$(sql "SELECT count(*) = max(seq) AND count(DISTINCT prev_hash) = count(*) FROM action_log")" t
kill -0 "$pid" 2>/dev/null && ok "airlock serve ran through it" || notok "airlock serve ran through it" "$(tail -20 "$T/serve.log")"
hasnt "... with no sanitizer report" "$T/serve.log" "AddressSanitizer|runtime error|LeakSanitizer"
kill "$pid"
wait "$pid"
same "... and stops cleanly" "$?" 0
pid=
echo "1..$TN"
