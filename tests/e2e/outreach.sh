#!/bin/sh
# outreach.sh — sending approved drafts through a real SMTP server on
# 127.0.0.1 (tests/smtp_sink.py, started here on a free port): every message
# arrives exactly once with the right headers; airlock killed (SIGKILL) in
# the middle of a send never duplicates a message and reports the one in
# flight as unknown; an unreachable relay leaves messages pending, reported,
# and delivered once it is back; the audience guard runs again at send time.
#
# Drafts are made through the library by tests/test_outreach.c; here they are
# inserted with sqlite3 in the documented schema (draft, draft_recipient),
# already approved, and `airlock outbox deliver` does the rest.
. "$(dirname "$0")/lib.sh"
SINK_PY="$(cd "$(dirname "$0")/.." && pwd)/smtp_sink.py"
SINKS=""
trap 'for p in $SINKS; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
FROM="Airlock Sales <sales@example.test>"

# start_sink NAME [options]: a sink writing to $T/NAME; sets PORT and SINK.
start_sink() {
	name=$1
	shift
	rm -f "$T/$name.port"
	python3 "$SINK_PY" --maildir "$T/$name" --port-file "$T/$name.port" "$@" \
		2>>"$T/sink.log" &
	SINK=$!
	SINKS="$SINKS $SINK"
	i=0
	while [ ! -s "$T/$name.port" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	PORT=$(cat "$T/$name.port")
}

stop_sink() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# messages NAME: how many messages the sink NAME holds
messages() {
	ls "$T/$1/new/" 2>/dev/null | grep -c '\.eml$'
}

# headers NAME: "to|message-id|subject" of each message, sorted
headers() {
	python3 - "$T/$1" <<'EOF'
import email, glob, os, sys
from email import policy
rows = []
for f in glob.glob(os.path.join(sys.argv[1], "new", "*.eml")):
    with open(f, "rb") as fh:
        m = email.message_from_binary_file(fh, policy=policy.default)
    rows.append("%s|%s|%s" % (m["To"].addresses[0].addr_spec, m["Message-ID"], m["Subject"]))
print("\n".join(sorted(rows)))
EOF
}

deliver() {
	"$AIRLOCK" outbox deliver --host 127.0.0.1 --from "$FROM" --timeout 20 "$@"
}

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
expect 0 "init" "$AIRLOCK" init
sql "INSERT INTO account(id,name,domain,segment,region,lifecycle,updated_at) VALUES
 ('a1','Acme','acme.test','smb','EMEA','prospect','$now'),
 ('a2','Globex','globex.test','smb','EMEA','prospect','$now')"
sql "INSERT INTO contact(id,account_id,name,email,updated_at) VALUES
 ('c1','a1','Bob Émile','bob@acme.test','$now'),
 ('c2','a1','Carol','carol@acme.test','$now'),
 ('c3','a2','Gina','gina@globex.test','$now'),
 ('c4','a2','Hank','hank@globex.test','$now'),
 ('c5','a2','Ivy','ivy@globex.test','$now'),
 ('c6','a2','Jo','jo@globex.test','$now'),
 ('c7','a2','Kim','kim@globex.test','$now'),
 ('c8','a1','Dora','dora@acme.test','$now')"
sql "INSERT INTO signal(id,account_id,kind,observed_at,updated_at) VALUES
 ('s1','a1','hiring','2026-01-01T00:00:00Z','$now')"
sql "INSERT INTO brief(id,account_id,text,evidence,principal,instruction_version,created_at) VALUES
 ('br_1','a1','Acme is hiring five engineers.','[\"s1\"]','agent:research','v3','$now');"

# approve_draft ID ACCOUNT SUBJECT CONTACT...: an approved draft
approve_draft() {
	id=$1 acc=$2 subj=$3
	shift 3
	sql "INSERT INTO draft(id,account_id,subject,body,audience,workflow,principal,
	  instruction_version,status,created_at,updated_at) VALUES('$id','$acc','$subj',
	  'Hi,' || char(10) || '.' || char(10) || 'A line that starts with a dot follows:'
	  || char(10) || '.hidden' || char(10) || 'Thanks' || char(10),
	  'segment=smb','outbound','agent:writer','v1','approved','$now','$now')"
	pos=0
	for c in "$@"; do
		sql "INSERT INTO draft_recipient(draft_id,position,contact_id,address,name)
		  SELECT '$id',$pos,id,email,name FROM contact WHERE id='$c'"
		pos=$((pos + 1))
	done
}

# --- usage errors ---------------------------------------------------------
expect 2 "deliver without a relay is a usage error" "$AIRLOCK" outbox deliver --from "$FROM"
has "it says which option" "$T/err" "give --host"
expect 2 "resend needs a numeric id" "$AIRLOCK" outbox resend abc
expect 1 "resend of a missing message fails" "$AIRLOCK" outbox resend 999
has "it names the message" "$T/err" "there is no outbox message 999"
expect 2 "--force outside resend" "$AIRLOCK" outbox --force
expect 2 "unknown subcommand" "$AIRLOCK" outbox send
expect 1 "unknown draft status" "$AIRLOCK" drafts --status bogus
expect 0 "empty outbox" "$AIRLOCK" outbox
has "empty outbox says so" "$T/out" "the outbox is empty"

# --- delivered exactly once, with the right headers ------------------------
start_sink good
GOOD=$SINK
approve_draft dr_one a1 "Hello — quick note" c1 c2
approve_draft dr_two a2 "Plain subject" c3
expect 0 "deliver sends the approved drafts" deliver --port "$PORT"
has "the report counts three" "$T/out" "delivered 3 messages; 0 not delivered"
same "the relay holds three messages" "$(messages good)" 3
sql "SELECT address||'|'||message_id||'|'||CASE draft_id WHEN 'dr_one' THEN 'Hello — quick note'
     ELSE 'Plain subject' END FROM outbox ORDER BY address" >"$T/want"
headers good >"$T/got"
same "To, Message-ID and Subject are the ones recorded" "$(cat "$T/got")" "$(cat "$T/want")"
same "each Message-ID is unique" "$(cut -d'|' -f2 "$T/got" | sort -u | wc -l)" 3
same "every row is sent" "$(sql "SELECT group_concat(DISTINCT state) FROM outbox")" "sent"
same "drafts are sent" "$(sql "SELECT group_concat(DISTINCT status) FROM draft")" "sent"
same "one touch per message" "$(sql "SELECT count(*) FROM touch")" 3
python3 - "$T/good" >"$T/body" <<'EOF'
import email, glob, json, os, sys
from email import policy
for f in sorted(glob.glob(os.path.join(sys.argv[1], "new", "*.eml"))):
    with open(f, "rb") as fh:
        m = email.message_from_binary_file(fh, policy=policy.default)
    if m["To"].addresses[0].addr_spec == "bob@acme.test":
        env = json.load(open(f[:-4] + ".json"))
        print(env["rcpt"], env["mail_from"], m["To"].addresses[0].display_name,
              m["Content-Type"], m["X-Airlock-Draft"])
        print(m.get_content(), end="")
EOF
has "the envelope names the recipient and sender" "$T/body" "TO:<bob@acme.test>.*FROM:<sales@example.test>"
has "the display name survives encoding" "$T/body" "Bob Émile"
has "text/plain utf-8" "$T/body" "text/plain; charset=\"?utf-8"
has "the body's dot lines arrive intact" "$T/body" "^\.hidden$"
has "a lone dot line arrives intact" "$T/body" "^\.$"
expect 0 "deliver again" deliver --port "$PORT" --now
has "nothing left to deliver" "$T/out" "nothing to deliver"
same "still exactly three messages" "$(messages good)" 3
expect 0 "drafts lists them" "$AIRLOCK" drafts --json
same "two drafts listed" "$(grep -c '"id": "dr_' "$T/out")" 2
expect 0 "a draft in full" "$AIRLOCK" drafts dr_one
has "with its body" "$T/out" "^\.hidden$"
has "and its messages" "$T/out" "sent +bob@acme.test <dr_one\.1\."
expect 0 "briefs lists the brief" "$AIRLOCK" briefs
has "the brief's first line" "$T/out" "br_1 +a1 .*Acme is hiring five engineers"
expect 0 "a brief in full" "$AIRLOCK" briefs br_1 --json
has "with its evidence" "$T/out" '"s1"'

# --- the guard runs again at send time -----------------------------------
approve_draft dr_guard a2 "Guarded" c6
sql "UPDATE contact SET unsubscribed=1 WHERE id='c6'"
expect 1 "a recipient who unsubscribed after approval is not sent to" deliver --port "$PORT"
has "the report names the rule" "$T/out" "blocked .*jo@globex.test.*unsubscribed: contact c6"
same "the relay got nothing more" "$(messages good)" 3
same "the draft is blocked" "$(sql "SELECT status FROM draft WHERE id='dr_guard'")" "blocked"
expect 0 "the outbox lists it" "$AIRLOCK" outbox
has "as blocked" "$T/out" "blocked .*jo@globex.test"
expect 0 "the draft shows why" "$AIRLOCK" drafts dr_guard
has "with the guard's finding" "$T/out" "^  unsubscribed: contact c6 \(jo@globex.test\) has unsubscribed"

# --- credentials ----------------------------------------------------------
start_sink authed --auth relayuser:s3cret
AUTHED=$SINK
approve_draft dr_auth a2 "With auth" c7
export AIRLOCK_SMTP_PASSWORD=wrong
expect 1 "a wrong password fails the message" deliver --port "$PORT" --user relayuser
has "the relay's refusal is reported" "$T/out" "failed .*kim@globex.test.*535"
same "a refusal is final: no retry" "$(sql "SELECT state FROM outbox WHERE draft_id='dr_auth'")" "failed"
expect 0 "a person queues it again" "$AIRLOCK" outbox resend "$(sql "SELECT id FROM outbox WHERE draft_id='dr_auth'")"
export AIRLOCK_SMTP_PASSWORD=s3cret
expect 0 "with the right password it goes" deliver --port "$PORT" --user relayuser
unset AIRLOCK_SMTP_PASSWORD
same "the relay saw the login" "$(cat "$T"/authed/new/*.json | grep -c '"auth": "relayuser"')" 1
stop_sink "$AUTHED"

# --- SIGKILL in the middle of a send --------------------------------------
start_sink slow --delay-data 4
SLOW=$SINK
SLOWPORT=$PORT
approve_draft dr_kill a2 "Killed mid-send" c4 c5
# the binary itself in the background, not the shell function: $! must be
# airlock's own pid for the kill to land on it
"$AIRLOCK" outbox deliver --host 127.0.0.1 --from "$FROM" --port "$SLOWPORT" >"$T/kill.out" 2>&1 &
APID=$!
i=0
while [ "$(messages slow)" -lt 1 ] && [ $i -lt 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 "$APID"
wait "$APID" 2>/dev/null
same "the relay took the first message before the kill" "$(messages slow)" 1
same "the database says it was being sent" \
	"$(sql "SELECT group_concat(state, ',') FROM (SELECT state FROM outbox WHERE draft_id='dr_kill' ORDER BY id)")" \
	"sending,intended"
expect 0 "after a restart, the outbox reports it" "$AIRLOCK" outbox
has "as unknown, for a person" "$T/out" "unknown .*hank@globex.test.*stopped while handing"
has "with what to do" "$T/out" "needs a person: 'airlock outbox mark-sent"
KID=$(sql "SELECT id FROM outbox WHERE draft_id='dr_kill' AND contact_id='c4'")
expect 0 "deliver after the restart sends only what never left" deliver --port "$SLOWPORT"
has "the other recipient is sent" "$T/out" "sent .*ivy@globex.test"
hasnt "the unknown one is not" "$T/out" "sent .*hank@globex.test"
same "hank got exactly one message" "$(headers slow | grep -c '^hank@globex.test|')" 1
same "ivy got exactly one message" "$(headers slow | grep -c '^ivy@globex.test|')" 1
expect 0 "deliver once more" deliver --port "$SLOWPORT" --now
same "still two messages at the relay" "$(messages slow)" 2
expect 1 "resend of an unknown message needs --force" "$AIRLOCK" outbox resend "$KID"
has "and says why" "$T/err" "outcome is unknown: the relay may already have it"
expect 0 "a person who checked the relay marks it sent" "$AIRLOCK" outbox mark-sent "$KID" --as rep
same "it is sent" "$(sql "SELECT state FROM outbox WHERE id=$KID")" "sent"
same "the draft is sent" "$(sql "SELECT status FROM draft WHERE id='dr_kill'")" "sent"
stop_sink "$SLOW"

# --- an unreachable relay --------------------------------------------------
start_sink later
DEADPORT=$PORT
stop_sink "$SINK"
approve_draft dr_down a1 "Relay down" c8
expect 1 "deliver with the relay down fails" deliver --port "$DEADPORT" --retry-base 5
has "the message is to be retried" "$T/out" "retry .*dora@acme.test"
has "with the error" "$T/out" "attempt 1 of 5 failed, next at .*relay 127.0.0.1:$DEADPORT"
has "exit status explains" "$T/err" "1 message was not delivered"
expect 0 "the outbox lists it pending" "$AIRLOCK" outbox --json
has "pending" "$T/out" '"state": "intended"'
has "with its error" "$T/out" "\"last_error\": \"relay 127.0.0.1:$DEADPORT"
expect 0 "not due yet: deliver leaves it" deliver --port "$DEADPORT"
same "still one attempt" "$(sql "SELECT attempts FROM outbox WHERE draft_id='dr_down'")" 1
start_sink later --port "$DEADPORT"
sleep 5.2
expect 0 "once the relay is back and the back-off passed, it goes" deliver --port "$DEADPORT"
same "exactly one message arrived" "$(messages later)" 1
same "it is sent after two attempts" \
	"$(sql "SELECT state||' '||attempts FROM outbox WHERE draft_id='dr_down'")" "sent 2"
expect 0 "the outbox lists only what needs a person" "$AIRLOCK" outbox
hasnt "nothing pending" "$T/out" "pending"
has "the blocked one remains" "$T/out" "blocked"

# --- a retried send runs the policy's audience rules as they are now (13.3) --
# The policy allows 1 message per contact per 14 days. Two sends to one
# contact are approved; the relay is down when the first is applied, the
# second goes out meanwhile: the retry of the first is refused by the touch
# rule. A domain listed as a competitor meanwhile is refused at retry. A
# policy that does not load sends nothing.
start_sink gone
DOWN=$PORT
stop_sink "$SINK"
start_sink retry
LIVE=$PORT
LIVESINK=$SINK
sql "INSERT INTO account(id,name,domain,segment,region,lifecycle,updated_at) VALUES
 ('a3','Newco','newco.test','smb','EMEA','prospect','$now')"
sql "INSERT INTO contact(id,account_id,name,email,updated_at) VALUES
 ('c9','a1','Nina','nina@acme.test','$now'),
 ('c10','a3','Otto','otto@newco.test','$now'),
 ('c11','a3','Pia','pia@newco.test','$now');"
grep -q 'max_touches_per_contact: 1$' "$AIRLOCK_POLICY" && grep -q 'touch_window_days: 14 ' "$AIRLOCK_POLICY" &&
	ok "the policy allows 1 message per contact per 14 days" ||
	notok "the policy allows 1 message per contact per 14 days" "$(grep -n touch "$AIRLOCK_POLICY")"
sed "s/^  port: 2525/  port: $DOWN/" "$AIRLOCK_POLICY" >"$T/down.yaml"
sed "s/^  port: 2525/  port: $LIVE/" "$AIRLOCK_POLICY" >"$T/up.yaml"
# agent_send CONTACT ACCOUNT: draft_email then request_send as an agent; prints the batch
agent_send() {
	printf '{"account_id":"%s","contacts":["%s"],"subject":"Hello %s","body":"Hi,\\nshort note.\\n","audience":"lifecycle=prospect"}' \
		"$2" "$1" "$1" >"$T/draft.json"
	d=$("$AIRLOCK" propose "$T/draft.json" --tool draft_email --as agent:writer --json 2>>"$T/agent.err" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["draft_id"])')
	printf '{"draft_ids":["%s"]}' "$d" >"$T/send.json"
	"$AIRLOCK" propose "$T/send.json" --tool request_send --as agent:writer --json 2>>"$T/agent.err" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["batch_id"])'
}
B1=$(agent_send c9 a1)
B2=$(agent_send c9 a1)
B3=$(agent_send c10 a3)
B4=$(agent_send c11 a3)
[ -n "$B1" ] && [ -n "$B2" ] && [ -n "$B3" ] && [ -n "$B4" ] && [ "$B1" != None ] && [ "$B4" != None ] &&
	ok "four sends requested by an agent ($B1 $B2 $B3 $B4)" || notok "four sends requested by an agent" "$(cat "$T/agent.err")"
for b in "$B1" "$B2" "$B3" "$B4"; do "$AIRLOCK" approve "$b" --as maria >/dev/null 2>&1; done
expect 0 "the first send is applied while the relay is down" \
	env AIRLOCK_POLICY="$T/down.yaml" "$AIRLOCK" apply "$B1" --as maria
same "... its message waits for a retry" "$(sql "SELECT state FROM outbox WHERE contact_id='c9'")" "intended"
expect 0 "the second send to the same contact goes out meanwhile" \
	env AIRLOCK_POLICY="$T/up.yaml" "$AIRLOCK" apply "$B2" --as maria
same "... the contact has one message" "$(headers retry | grep -c '^nina@acme.test|')" 1
for b in "$B3" "$B4"; do
	AIRLOCK_POLICY="$T/down.yaml" "$AIRLOCK" apply "$b" --as maria >/dev/null 2>&1
done
same "the two sends to newco.test wait too" \
	"$(sql "SELECT group_concat(state) FROM outbox WHERE contact_id IN ('c10','c11')")" "intended,intended"
before=$(sql "SELECT group_concat(id||':'||state||':'||attempts) FROM outbox WHERE state='intended' ORDER BY id")
expect 1 "a deliver whose policy is missing sends nothing" \
	env AIRLOCK_POLICY="$T/nowhere.yaml" "$AIRLOCK" outbox deliver --now --host 127.0.0.1 --port "$LIVE" --from "$FROM"
has "... and says why" "$T/err" "nothing was sent: the audience rules come from the policy"
printf 'version: 1\nworkflows: [\n' >"$T/broken.yaml"
expect 1 "a deliver whose policy is broken sends nothing" \
	env AIRLOCK_POLICY="$T/broken.yaml" "$AIRLOCK" outbox deliver --now --host 127.0.0.1 --port "$LIVE" --from "$FROM"
has "... naming the file" "$T/err" "nothing was sent: .*broken.yaml"
same "... not one message left" "$(sql "SELECT group_concat(id||':'||state||':'||attempts) FROM outbox WHERE state='intended' ORDER BY id")" "$before"
same "... the relay got nothing" "$(messages retry)" 1
expect 2 "an option may not loosen the policy's touch rule" deliver --port "$LIVE" --now --max-touches 3
has "... saying so" "$T/err" "looser than the policy's 1"
expect 2 "nor its window" deliver --port "$LIVE" --now --touch-window-days 7
cp "$AIRLOCK_POLICY" "$T/rival.yaml"
sed -i 's/^    - pipelinepro.example$/    - pipelinepro.example\n    - newco.test/' "$T/rival.yaml"
expect 0 "newco.test is listed as a competitor meanwhile" "$AIRLOCK" policy check "$T/rival.yaml"
expect 1 "the retries run the policy's rules as they are now" \
	env AIRLOCK_POLICY="$T/rival.yaml" "$AIRLOCK" outbox deliver --now --host 127.0.0.1 --port "$LIVE" --from "$FROM"
has "the retry to the contact just written to is refused by the touch rule" "$T/out" \
	"blocked .*nina@acme.test.*touch_window: contact c9 \(nina@acme.test\) already has 1 message in the last 14 days"
has "the retries to the new competitor are refused" "$T/out" "blocked .*otto@newco.test.*competitor"
has "... both of them" "$T/out" "blocked .*pia@newco.test.*competitor"
same "the relay still holds the one message" "$(messages retry)" 1
same "nina got exactly one message" "$(headers retry | grep -c '^nina@acme.test|')" 1
same "nothing is left pending" "$(sql "SELECT count(*) FROM outbox WHERE state='intended'")" 0
stop_sink "$LIVESINK"

# --- a customer under an audience written with OR (13.12) ------------------
sql "INSERT INTO account(id,name,domain,segment,region,lifecycle,updated_at) VALUES
 ('a4','Cust Co','custco.test','smb','EMEA','customer','$now')"
sql "INSERT INTO contact(id,account_id,name,email,updated_at) VALUES ('c12','a4','Quinn','quinn@custco.test','$now');"
for aud in 'lifecycle=prospect OR segment=smb' 'NOT lifecycle=partner' 'segment=smb AND (lifecycle=prospect OR region=EMEA)'; do
	printf '{"account_id":"a4","contacts":["c12"],"subject":"Hi","body":"Hi.\\n","audience":"%s"}' "$aud" >"$T/cust.json"
	expect 0 "draft_email to a customer under '$aud' is answered" "$AIRLOCK" propose "$T/cust.json" --tool draft_email --as agent:writer --json
	has "... refused as prospect outreach to a customer" "$T/out" "customer_prospecting: account a4 \(Cust Co\) is a current customer"
done
same "no draft to the customer was stored" "$(sql "SELECT count(*) FROM draft WHERE account_id='a4'")" 0
printf '{"account_id":"a4","contacts":["c12"],"subject":"Renewal","body":"Hi.\\n","audience":"lifecycle=customer AND segment=smb"}' >"$T/cust.json"
expect 0 "an audience that selects customers by lifecycle may reach one" "$AIRLOCK" propose "$T/cust.json" --tool draft_email --as agent:writer --json
has "... and the draft is stored" "$T/out" '"status": "draft"'

same "integrity" "$(sql "PRAGMA integrity_check")" "ok"
