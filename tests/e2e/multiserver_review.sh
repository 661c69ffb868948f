#!/bin/sh
# e2e: people and senders on two `airlock serve` over one PostgreSQL
# database (issue 20). From the side of reviewers who press apply at the
# same moment on two servers' consoles and on the command line, round after
# round: one apply wins, the others are told the batch is applied, the book
# changes once and the log verifies. From the side of two send workers (one
# per host) delivering the same approved drafts through one relay at once,
# and of one of them killed with SIGKILL while the relay holds its message:
# every message reaches the relay once; the one in flight is reported
# "unknown", never sent again on its own. Loopback only; bounded.
. "$(dirname "$0")/lib.sh"

if [ -z "${AIRLOCK_TEST_PG:-}" ] || ! command -v psql >/dev/null || ! command -v curl >/dev/null; then
	echo "# AIRLOCK_TEST_PG is not set (or no psql/curl): skipped"
	echo "1..0"
	exit 0
fi
ROUNDS=${MS_ROUNDS:-8}
SINK_PY="$(cd "$(dirname "$0")/.." && pwd)/smtp_sink.py"
db=airlock_msr_$$
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	psql -q "$AIRLOCK_TEST_PG" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
psql -q "$AIRLOCK_TEST_PG" -c "CREATE DATABASE $db" >/dev/null 2>&1
export AIRLOCK_DB=$(printf '%s' "$AIRLOCK_TEST_PG" | sed "s|:///[^?]*?|:///$db?|")
export AIRLOCK_KEY="$T/airlock.key"
export XDG_RUNTIME_DIR="$T"
# retier's cap lowered to 3: each round's 4-account proposal waits for a
# person, who approves it plainly
sed 's/stage_max: 200 /stage_max: 3 /' "$AIRLOCK_POLICY" >"$T/msr.yaml"
export AIRLOCK_POLICY="$T/msr.yaml"
sql() { "$AIRLOCK" sql "$1"; }
wsql() { "$AIRLOCK" sql --write "$1" >/dev/null; }

expect 0 "init on PostgreSQL" "$AIRLOCK" init
expect 0 "a 200-account book" "$AIRLOCK" demo --accounts 200
# carol (admin) signs in on the command line; alice and dave review on the
# two consoles
for r in carol:admin alice:reviewer dave:reviewer; do
	echo "${r%%:*}-password" | "$AIRLOCK" reviewer add "${r%%:*}" --role "${r#*:}" --password-stdin >/dev/null 2>&1
	[ "${r%%:*}" = carol ] && { echo carol-password | "$AIRLOCK" login carol >/dev/null 2>&1; }
done
same "three reviewers" "$(sql "SELECT count(*) FROM reviewer")" 3

# start NAME: `airlock serve` on a free loopback port; sets port_NAME
start() {
	"$AIRLOCK" serve --listen 127.0.0.1:0 >"$T/serve_$1.log" 2>&1 &
	pids="$pids $!"
	for _ in $(seq 150); do
		p=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/serve_$1.log" 2>/dev/null)
		[ -n "$p" ] && break
		sleep 0.1
	done
	eval "port_$1=$p"
	[ -n "$p" ] && ok "server $1 listens" || notok "server $1 listens" "$(cat "$T/serve_$1.log")"
}
start a
start b

# signin WHO PORT: a console session; the cookie in $T/WHO.jar, the CSRF
# token printed
signin() {
	curl -s -m 30 -c "$T/$1.jar" -H 'Content-Type: application/json' \
		--data "{\"name\":\"$1\",\"password\":\"$1-password\"}" "http://127.0.0.1:$2/login" |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("csrf",""))'
}
CS_A=$(signin alice "$port_a")
CS_B=$(signin dave "$port_b")
[ -n "$CS_A" ] && [ -n "$CS_B" ] && ok "alice signed in on a, dave on b" || notok "console sign-in" "a: $CS_A" "b: $CS_B"

# console_apply WHO PORT CSRF BATCH OUT: POST /api/batches/BATCH/apply;
# the status in OUT.code, the body in OUT
console_apply() {
	curl -s -m 60 -o "$5" -w '%{http_code}' -b "$T/$1.jar" -H "X-CSRF-Token: $3" \
		-H 'Content-Type: application/json' -X POST \
		"http://127.0.0.1:$2/api/batches/$4/apply" >"$5.code"
}

# 1. apply pressed at once on both consoles and the command line, ROUNDS
# times, each round a fresh 4-account batch
# "id|new tier" (each account's tier moved on by one, so no item is a no-op)
ids=$(sql "SELECT id || '|' || (tier % 4 + 1) FROM account ORDER BY id")
won_total=0 bad=
r=1
while [ "$r" -le "$ROUNDS" ]; do
	printf '%s\n' $ids | sed -n "$((r * 4 + 1)),$((r * 4 + 4))p" |
		awk -F'|' 'BEGIN { printf "{\"workflow\":\"retier\",\"scope\":\"tier IN (1,2,3,4)\",\"rationale\":\"race\",\"items\":[" }
		{ printf "%s{\"record_id\":\"%s\",\"field\":\"tier\",\"value\":%s,\"reason\":\"r\"}", (NR > 1 ? "," : ""), $1, $2 }
		END { print "]}" }' >"$T/prop.json"
	"$AIRLOCK" propose "$T/prop.json" --as "agent:scout$r" --json >"$T/prop.out" 2>&1
	B=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$T/prop.out" 2>/dev/null)
	if [ -z "$B" ] || ! "$AIRLOCK" approve "$B" >"$T/appr.out" 2>&1; then
		bad="$bad round $r: batch '$B' not approved: $(head -c 300 "$T/prop.out" "$T/appr.out")"
		r=$((r + 1))
		continue
	fi
	console_apply alice "$port_a" "$CS_A" "$B" "$T/ca" &
	j1=$!
	console_apply dave "$port_b" "$CS_B" "$B" "$T/cb" &
	j2=$!
	"$AIRLOCK" apply "$B" >"$T/cli.out" 2>&1
	rc=$?
	wait $j1 $j2
	won=$(( ($(cat "$T/ca.code") == 200) + ($(cat "$T/cb.code") == 200) + (rc == 0) ))
	won_total=$((won_total + won))
	[ "$won" = 1 ] || bad="$bad round $r: $won applies won (a $(cat "$T/ca.code"), b $(cat "$T/cb.code"), cli $rc)"
	# every loser is told why, in words
	for f in ca cb; do
		[ "$(cat "$T/$f.code")" = 200 ] && continue
		[ "$(cat "$T/$f.code")" = 409 ] && grep -q "is applied" "$T/$f" ||
			bad="$bad round $r: console $f answered $(cat "$T/$f.code"): $(head -c 200 "$T/$f")"
	done
	[ "$rc" = 0 ] || grep -q "is applied" "$T/cli.out" ||
		bad="$bad round $r: the CLI's refusal: $(head -c 200 "$T/cli.out")"
	[ "$(sql "SELECT state FROM batch WHERE id=$B")" = applied ] || bad="$bad round $r: batch $B not applied"
	[ "$(sql "SELECT count(*) FROM action_log WHERE batch_id='$B' AND tool='apply'")" = 1 ] ||
		bad="$bad round $r: apply logged $(sql "SELECT count(*) FROM action_log WHERE batch_id='$B' AND tool='apply'") times"
	r=$((r + 1))
done
same "each of $ROUNDS batches applied by exactly one of three reviewers (bad rounds: ${bad:-none})" "$won_total:${bad:-}" "$ROUNDS:"
same "the book changed once per account: $((ROUNDS * 4)) at version 2, none past it" \
	"$(sql "SELECT count(*) FILTER (WHERE version = 2) || ' ' || count(*) FILTER (WHERE version > 2) FROM account")" \
	"$((ROUNDS * 4)) 0"
expect 0 "the log verifies after the races" "$AIRLOCK" verify

# 2. the outbox across two hosts' send workers: 24 approved drafts, one
# recipient each, delivered by two `outbox deliver` at once
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
wsql "INSERT INTO account(id,name,domain,segment,region,lifecycle,updated_at)
 SELECT 'ms_a'||g,'Send '||g,'send'||g||'.test','smb','EMEA','prospect','$now' FROM generate_series(1,30) g"
wsql "INSERT INTO contact(id,account_id,name,email,updated_at)
 SELECT 'ms_c'||g,'ms_a'||g,'Person '||g,'p'||g||'@send'||g||'.test','$now' FROM generate_series(1,30) g"
# approved LO HI: approved drafts ms_dLO..ms_dHI, one recipient each
approved() {
	wsql "INSERT INTO draft(id,account_id,subject,body,audience,workflow,principal,instruction_version,
	 status,created_at,updated_at) SELECT 'ms_d'||g,'ms_a'||g,'Note '||g,'Hello '||g,'segment=smb',
	 'outbound','agent:writer','v1','approved','$now','$now' FROM generate_series($1,$2) g"
	wsql "INSERT INTO draft_recipient(draft_id,position,contact_id,address,name)
	 SELECT 'ms_d'||g,0,'ms_c'||g,'p'||g||'@send'||g||'.test','Person '||g FROM generate_series($1,$2) g"
}
start_sink() {
	rm -f "$T/$1.port"
	python3 "$SINK_PY" --maildir "$T/$1" --port-file "$T/$1.port" $2 2>>"$T/sink.log" &
	pids="$pids $!"
	SINK=$!
	for _ in $(seq 100); do [ -s "$T/$1.port" ] && break; sleep 0.1; done
	PORT=$(cat "$T/$1.port")
}
stop_sink() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# deliveries NAME: the Message-IDs the sink NAME holds, one a line
deliveries() {
	cat "$T/$1"/new/*.eml 2>/dev/null | tr -d '\r' | sed -n 's/^Message-ID: *//Ip'
}
FROM="Airlock Sales <sales@example.test>"
deliver() {
	"$AIRLOCK" outbox deliver --host 127.0.0.1 --port "$PORT" --from "$FROM" --timeout 20 "$@"
}
approved 1 24
start_sink relay ""
deliver >"$T/d1.out" 2>&1 &
d1=$!
deliver >"$T/d2.out" 2>&1 &
d2=$!
wait $d1 $d2
same "24 messages queued, once each" "$(sql "SELECT count(*) || ' ' || count(DISTINCT draft_id) FROM outbox")" "24 24"
same "every message sent" "$(sql "SELECT string_agg(DISTINCT state, ',') FROM outbox")" sent
same "the relay received 24 messages" "$(deliveries relay | wc -l)" 24
same "... none twice" "$(deliveries relay | sort | uniq -d | wc -l)" 0
same "one touch per message" "$(sql "SELECT count(*) FROM touch")" 24

# 3. a sender killed (SIGKILL) while the relay holds its message: the
# other host's worker never sends that one again
approved 25 30
start_sink slow "--delay-data 30"
# exec: $! is the sender itself, not a shell around it
(exec "$AIRLOCK" outbox deliver --host 127.0.0.1 --port "$PORT" --from "$FROM" --timeout 20 >"$T/d3.out" 2>&1) &
d3=$!
for _ in $(seq 150); do
	[ "$(sql "SELECT count(*) FROM outbox WHERE state='sending'")" = 1 ] &&
		[ "$(ls "$T/slow/new" 2>/dev/null | grep -c '\.eml$')" = 1 ] && break
	sleep 0.1
done
inflight=$(sql "SELECT id FROM outbox WHERE state='sending'")
[ -n "$inflight" ] && ok "a message is with the relay (outbox $inflight)" || notok "a message in flight" "$(sql "SELECT id, state FROM outbox WHERE id > 24")"
kill -9 $d3
wait $d3 2>/dev/null
stop_sink "$SINK"
# the relay is back, without the delay; the surviving host's worker runs
# twice, the second time with --now
mv "$T/slow" "$T/slow.before"
start_sink slow ""
deliver >"$T/d4.out" 2>&1
deliver --now >"$T/d5.out" 2>&1
cat "$T/slow.before"/new/*.eml "$T/slow"/new/*.eml 2>/dev/null | tr -d '\r' | sed -n 's/^Message-ID: *//Ip' >"$T/all_ids"
same "the killed sender's message is unknown, waiting for a person" \
	"$(sql "SELECT state FROM outbox WHERE id=${inflight:-0}")" unknown
same "... the others of its drafts were sent by the other worker" \
	"$(sql "SELECT count(*) FROM outbox o WHERE o.draft_id IN (SELECT 'ms_d'||g FROM generate_series(25,30) g) AND state='sent'")" 5
same "the relay holds each of the six once" "$(sort -u "$T/all_ids" | wc -l) $(sort "$T/all_ids" | uniq -d | wc -l)" "6 0"
has "the report names the unknown message" "$T/d4.out" "unknown"
expect 0 "the log verifies after the kill" "$AIRLOCK" verify
echo "1..$TN"
