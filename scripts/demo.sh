#!/bin/sh
# What `make demo` runs once ./airlock is built: a generated book, a policy,
# an agent session through the real MCP connectors, and a reviewer working
# the queue — showing at each step what the gate did. Everything lives in
# demo/ (wiped each run); a local SMTP sink stands in for the mail relay.
set -eu
cd "$(dirname "$0")/.."
DEMO=demo
A=./airlock

# demo/ is ours to wipe: it carries a marker. A demo/ without one is someone
# else's folder, and is left alone.
if [ -e "$DEMO" ] && [ ! -e "$DEMO/.airlock-demo" ]; then
	echo "demo.sh: $DEMO/ exists and was not made by this script; move it away first" >&2
	exit 1
fi
rm -rf "$DEMO"
mkdir -p "$DEMO"
: >"$DEMO/.airlock-demo"
# bold step titles only on a terminal, and never under NO_COLOR
# (https://no-color.org): piped or logged, the demo is plain text
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then B=$(printf '\033[1m') N=$(printf '\033[0m'); else B= N=; fi
export AIRLOCK_DB="$DEMO/airlock.db" AIRLOCK_POLICY="$DEMO/airlock.yaml" NO_COLOR=1

step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
run() { printf '$ %s\n' "$*"; "$@"; }

# a local mail relay for the sends, stopped when the demo ends
python3 tests/smtp_sink.py --maildir "$DEMO/mail" --port-file "$DEMO/smtp.port" &
SINK=$!
trap 'kill $SINK 2>/dev/null; wait $SINK 2>/dev/null || true' EXIT INT TERM
i=0
while [ ! -s "$DEMO/smtp.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

step "1. a book to work on: 4,000 accounts, generated from seed 1"
run $A demo --db "$AIRLOCK_DB" | sed -n '1,12p'

step "2. a policy, and the blast radius it allows before anything runs"
$A init >/dev/null
sed -i "s/^  port: 2525/  port: $(cat "$DEMO/smtp.port")/" "$AIRLOCK_POLICY"
run $A policy check
run $A radius

step "3. an agent session through the MCP connectors (airlock mcp, stdio)"
python3 scripts/demo_agent.py "$A" "$AIRLOCK_DB" session

step "4. what waits for a person"
run $A queue
STAGED=$(sqlite3 "$AIRLOCK_DB" "SELECT min(id) FROM batch WHERE state='staged' AND workflow='retier'")
BLOCKED=$(sqlite3 "$AIRLOCK_DB" "SELECT min(id) FROM batch WHERE state='blocked' AND workflow='retier'")
SEND=$(sqlite3 "$AIRLOCK_DB" "SELECT min(id) FROM batch WHERE action='send'")

step "5. the staged re-tier, as a reviewer reads it"
run $A show "$STAGED" --limit 3

step "6. its sample audit: maria reads the drawn items and judges them"
run $A sample "$STAGED" --as maria | sed -n '1,4p'
for item in $(sqlite3 "$AIRLOCK_DB" "SELECT idx FROM batch_item WHERE batch_id=$STAGED AND sampled=1"); do
	$A judge "$STAGED" "$item" pass --as maria >"$DEMO/judge.out"
done
cat "$DEMO/judge.out"
ACC=$(sqlite3 "$AIRLOCK_DB" "SELECT record_id FROM batch_item WHERE batch_id=$STAGED AND idx=1")
printf 'account %s before: tier %s\n' "$ACC" "$(sqlite3 "$AIRLOCK_DB" "SELECT tier FROM account WHERE id='$ACC'")"
run $A apply "$STAGED" --as maria
printf 'account %s after:  tier %s\n' "$ACC" "$(sqlite3 "$AIRLOCK_DB" "SELECT tier FROM account WHERE id='$ACC'")"
run $A undo "$STAGED" --as maria
printf 'account %s undone: tier %s\n' "$ACC" "$(sqlite3 "$AIRLOCK_DB" "SELECT tier FROM account WHERE id='$ACC'")"

step "7. the large re-tier was blocked: a person rejects it"
run $A reject "$BLOCKED" --as maria --reason "too broad: re-tier the long tail by segment, not all at once"

if [ -n "$SEND" ]; then
	step "8. the send request: a person approves it, and it goes out exactly once"
	run $A show "$SEND" --limit 2
	run $A approve "$SEND" --as maria
	run $A apply "$SEND" --as maria
	printf 'the relay received %s message(s):\n' "$(ls "$DEMO/mail/new"/*.eml 2>/dev/null | wc -l)"
	grep -h '^\(To\|Subject\|Message-ID\):' "$DEMO/mail/new"/*.eml 2>/dev/null | sed 's/^/   /'
fi

step "9. silent drift: two weeks of a re-tiering agent whose instructions change on day 8"
python3 scripts/demo_agent.py "$A" "$AIRLOCK_DB" drift 2>/dev/null
# the report as of the evening of the last simulated day
NOW=$(sqlite3 "$AIRLOCK_DB" "SELECT strftime('%s', max(created_at)) + 3600 FROM batch WHERE principal='agent:tierbot'")
AIRLOCK_NOW=$NOW run $A drift --windows 8 || true

step "10. every call and verb is in the hash-chained action log"
run $A log --limit 8
run $A verify

step "done"
cat <<EOT
The book, policy and log are in $DEMO/. Try:
  ./airlock --db $DEMO/airlock.db --policy $DEMO/airlock.yaml queue
  ./airlock --db $DEMO/airlock.db log --batch $BLOCKED
  ./airlock --db $DEMO/airlock.db drafts
EOT
