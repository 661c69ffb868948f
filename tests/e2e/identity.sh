#!/bin/sh
# identity.sh — who may act as a person on the command line (issue 13.4),
# tried the way a hostile agent with a shell would: an agent principal never
# passes a human or operator verb, in any spelling; it cannot mint a
# reviewer or a token; once the book has reviewers, --as alone proves
# nothing: a person signs in with `airlock login` (the console's rules) and
# acts only as themselves; operator verbs need an admin.
. "$(dirname "$0")/lib.sh"
export XDG_RUNTIME_DIR="$T" # the session file lives in the suite's folder
unset AIRLOCK_SESSION

$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<20)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)
 SELECT 'A'||substr(CAST(1000+i AS TEXT),2),'Company '||i,'smb','EMEA',3,'prospect','2026-11-01T00:00:00Z' FROM n" >/dev/null
# every re-tier is blocked for a person (with no loadable policy the gate
# would refuse the call and queue nothing)
cat >"$T/block.yaml" <<'Y'
version: 1
defaults:
  max_pending_batches: 1000
workflows:
  retier:
    effect: write
    tools: [propose_changes]
    reversible: false
    fields: [tier]
Y
BLOCKPOL="--policy $T/block.yaml"
n=0
# batch: a new batch proposed by agent:x, blocked for a person
batch() {
	n=$((n + 1))
	printf '{"workflow":"retier","scope":"region=EMEA","rationale":"r","items":[{"record_id":"A%03d","field":"tier","value":1,"reason":"x"}]}' "$n" >"$T/p.json"
	$AIRLOCK propose "$T/p.json" --as agent:x $BLOCKPOL >/dev/null 2>&1
	sql "SELECT max(id) FROM batch"
}
reviewers() { sql "SELECT count(*) FROM reviewer"; }
tokens() { sql "SELECT count(*) FROM connector_token"; }

# --- an agent principal, in any spelling, is never a person ---------------
for as in agent:x Agent:x AGENT:x ' agent:x' 'agent:x ' '	aGeNt:x'; do
	expect 1 "reviewer add --as '$as' is refused" $AIRLOCK reviewer add mallory --role admin --as "$as"
	has "... as an agent" "$T/err" "agent:x is an agent"
	expect 1 "token create --as '$as' is refused" $AIRLOCK token create --connector write --agent x --as "$as"
done
same "no reviewer was minted" "$(reviewers)" 0
same "no token was minted" "$(tokens)" 0
B=$(batch)
expect 1 "approve --as Agent:x is refused (an agent, not the person human:Agent:x)" $AIRLOCK approve "$B" --as Agent:x
has "... naming the agent" "$T/err" "agent:x is an agent"
same "the batch is still blocked" "$(sql "SELECT state FROM batch WHERE id=$B")" blocked
sql "SELECT principal FROM action_log" >"$T/principals"
hasnt "no log entry names a person Agent:x" "$T/principals" "human:.*[Aa][Gg][Ee][Nn][Tt]"
for as in 'human:Agent:x' 'a:b' 'maria x' "$(printf 'ma\033[2Kria')" "$(printf 'maria\r')x" ''; do
	expect 2 "--as '$(printf '%s' "$as" | od -An -c | tr -s ' ' | head -c 40)' is not a person's name" $AIRLOCK approve "$B" --as "$as"
done
for verb in "drift baseline --clear" "log checkpoint" "outbox resend 1" "outbox mark-sent 1" "outbox cancel 1" \
	"drafts discard dr_x" "sample $B" "judge $B 1 pass" "reject $B --reason no" "apply $B" "undo $B" \
	"drift ack A1 --cause x" "reviewer remove nobody" "token revoke t1" "init" "demo --accounts 5"; do
	# shellcheck disable=SC2086
	expect 1 "$verb --as agent:x is refused" $AIRLOCK $verb --as agent:x
	has "... because an agent is not a person" "$T/err" "agent:x is an agent"
done
printf 'id,name\nA001,Evil\n' >"$T/a.csv"
expect 1 "import --as agent:x is refused" $AIRLOCK import accounts "$T/a.csv" --as agent:x
same "... the book is unchanged" "$(sql "SELECT name FROM account WHERE id='A001'")" "Company 1"
expect 2 "propose --as 'human:agent:x' is not an agent either" $AIRLOCK propose "$T/p.json" --as human:agent:x $BLOCKPOL
expect 0 "propose --as Agent:x is the agent agent:x" $AIRLOCK propose "$T/p.json" --as Agent:x $BLOCKPOL
same "... recorded as agent:x" "$(sql "SELECT principal FROM batch ORDER BY id DESC LIMIT 1")" "agent:x"

# --- no reviewers yet: --as is taken on trust, and the verb says so --------
expect 0 "with no reviewers, approve --as maria works" $AIRLOCK approve "$B" --as maria
has "... saying --as is taken on trust" "$T/err" "no reviewers in this book yet, so --as is taken on trust \(acting as human:maria\)"
expect 1 "login with no reviewers says nobody can sign in" $AIRLOCK login maria
has "... and how to add the first" "$T/err" "reviewer add NAME --role admin"

# --- the first reviewer: no sign-in, and it must be an admin ---------------
expect 1 "the first reviewer must be an admin" sh -c "echo lee-password | $AIRLOCK reviewer add lee --password-stdin"
has "... saying why" "$T/err" "the first reviewer must be an admin"
expect 0 "the first reviewer, an admin, needs no sign-in" sh -c "echo lee-password | $AIRLOCK reviewer add lee --role admin --password-stdin"
same "one reviewer" "$(reviewers)" 1

# --- once there are reviewers, --as alone proves nothing -------------------
B=$(batch)
expect 1 "approve --as maria with nobody signed in is refused" $AIRLOCK approve "$B" --as maria
has "... telling to sign in" "$T/err" "needs a person signed in: 'airlock login NAME' first"
expect 1 "approve with no --as is refused too" $AIRLOCK approve "$B"
expect 1 "an agent cannot add the reviewer it would approve as" $AIRLOCK reviewer add maria --as agent:x
expect 1 "nor can anyone not signed in" sh -c "echo maria-password | $AIRLOCK reviewer add maria --password-stdin"
expect 1 "nor mint a token" $AIRLOCK token create --connector write --agent x
same "still one reviewer, no token" "$(reviewers) $(tokens)" "1 0"
same "the batch is still blocked" "$(sql "SELECT state FROM batch WHERE id=$B")" blocked
expect 1 "a wrong password does not sign in" sh -c "echo wrong-password | $AIRLOCK login lee"
has "... the console's message" "$T/err" "wrong name or password"
[ ! -e "$T/airlock" ] || [ -z "$(ls "$T/airlock")" ] && ok "... and writes no session" || notok "... and writes no session" "$(ls -la "$T/airlock")"

# --- login: the admin adds people; each acts only as themselves ------------
expect 0 "lee signs in" sh -c "echo lee-password | $AIRLOCK login lee"
has "... until a time" "$T/out" "signed in as lee \(admin\) until "
F=$(ls "$T"/airlock/session-* 2>/dev/null | head -1)
same "the session file is readable only by its owner" "$(stat -c %a "$F" 2>/dev/null)" 600
same "... in a private folder" "$(stat -c %a "$T/airlock")" 700
same "the database keeps only the session's hash" "$(sql "SELECT count(*) FROM reviewer_session WHERE id_hash='$(cat "$F")'")" 0
expect 0 "the admin adds a reviewer" sh -c "echo maria-password | $AIRLOCK reviewer add maria --password-stdin"
expect 0 "and a viewer" sh -c "echo vic-password1 | $AIRLOCK reviewer add vic --role viewer --password-stdin"
expect 0 "and mints a token" $AIRLOCK token create --connector write --agent x
same "who added them is recorded" "$(sql "SELECT created_by FROM reviewer WHERE name='maria'")" "human:lee"
expect 1 "lee cannot act as maria" $AIRLOCK approve "$B" --as maria
has "... one acts only as oneself" "$T/err" "--as maria: the person signed in is lee"
expect 0 "maria signs in (her password on standard input)" sh -c "echo maria-password | $AIRLOCK login maria"
expect 0 "maria approves as herself, --as omitted" $AIRLOCK approve "$B"
has "... recorded as human:maria" "$T/out" "approved by human:maria"
B2=$(batch)
expect 0 "--as naming the signed-in person is fine" $AIRLOCK approve "$B2" --as maria
expect 1 "a reviewer is not an admin: no reviewer add" $AIRLOCK reviewer add mallory --link
has "... for an admin" "$T/err" "'reviewer' is for an admin: maria is a reviewer"
expect 1 "... nor token create" $AIRLOCK token create --connector read --agent y
expect 1 "... nor log checkpoint" $AIRLOCK log checkpoint
expect 1 "... nor import" $AIRLOCK import accounts "$T/a.csv"
expect 0 "logout" $AIRLOCK logout
B3=$(batch)
expect 1 "after logout, approve is refused" $AIRLOCK approve "$B3" --as maria
expect 0 "the viewer signs in" sh -c "echo vic-password1 | $AIRLOCK login vic"
expect 1 "a viewer may not approve" $AIRLOCK approve "$B3"
has "... saying so" "$T/err" "vic is a viewer"

# --- AIRLOCK_SESSION, links, removal, a tampered session file -------------
S=$(echo maria-password | $AIRLOCK login maria --print 2>/dev/null)
expect 0 "AIRLOCK_SESSION carries a session (login --print)" env AIRLOCK_SESSION="$S" $AIRLOCK reject "$B3" --reason "too broad"
has "... as maria" "$T/out" "rejected by human:maria"
expect 1 "a made-up AIRLOCK_SESSION is refused" env AIRLOCK_SESSION="$(printf '%064d' 7)" $AIRLOCK approve "$(batch)"
has "... the session has ended or never was" "$T/err" "the session has ended"
chmod 644 "$F"
expect 1 "a session file others can read is refused" $AIRLOCK approve "$(batch)"
has "... naming the file" "$T/err" "not a private file of yours"
rm -f "$F"
echo lee-password | $AIRLOCK login lee >/dev/null 2>&1
LINK=$($AIRLOCK reviewer add dan --link 2>/dev/null)
expect 0 "a one-time link signs in" $AIRLOCK login --link "$LINK"
has "... as its reviewer" "$T/out" "signed in as dan \(reviewer\)"
expect 1 "... once" $AIRLOCK login --link "$LINK"
echo lee-password | $AIRLOCK login lee >/dev/null 2>&1
expect 0 "the admin removes maria" $AIRLOCK reviewer remove maria
expect 1 "maria's AIRLOCK_SESSION stops working at once" env AIRLOCK_SESSION="$S" $AIRLOCK approve "$(batch)"
for i in 1 2 3 4 5; do echo "wrong-$i-password" | $AIRLOCK login vic >/dev/null 2>&1; done
expect 1 "five failures lock the name, even with the right password" sh -c "echo vic-password1 | $AIRLOCK login vic"
has "... for the rest of the minute" "$T/err" "too many failed sign-ins for 'vic'"
expect 0 "logout ends the session in the database" $AIRLOCK logout
same "... lee has no live session" "$(sql "SELECT count(*) FROM reviewer_session WHERE name='lee'")" 0

# --- the console's apply of a send reads the policy as it is now (13.3) ----
# airlock serve loads the policy when it starts; a competitor domain added to
# the file afterwards must still stop the send.
SINK_PY="$(cd "$(dirname "$0")/.." && pwd)/smtp_sink.py"
python3 "$SINK_PY" --maildir "$T/mail" --port-file "$T/mail.port" 2>>"$T/sink.log" &
SINKPID=$!
trap 'kill $SINKPID ${pid:-} 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/mail.port" ] && break; sleep 0.1; done
sed "s/^  port: 2525/  port: $(cat "$T/mail.port")/" "$AIRLOCK_POLICY" >"$T/serve.yaml"
export AIRLOCK_POLICY="$T/serve.yaml"
sql "UPDATE account SET domain='kaico.test' WHERE id='A020'"
sql " INSERT INTO contact(id,account_id,name,email,updated_at) VALUES('K1','A020','Kai','kai@kaico.test','2026-11-01T00:00:00Z');"
printf '{"account_id":"A020","contacts":["K1"],"subject":"Hello","body":"Hi.\\n","audience":"lifecycle=prospect"}' >"$T/d.json"
D=$($AIRLOCK propose "$T/d.json" --tool draft_email --as agent:x --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["draft_id"])')
printf '{"draft_ids":["%s"]}' "$D" >"$T/s.json"
SB=$($AIRLOCK propose "$T/s.json" --tool request_send --as agent:x --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["batch_id"])')
same "an agent's send waits for a person" "$(sql "SELECT state||' '||action FROM batch WHERE id=$SB")" "blocked send"
echo lee-password | $AIRLOCK login lee >/dev/null 2>&1
echo rita-password | $AIRLOCK reviewer add rita --password-stdin >/dev/null 2>&1
serve_start
curl -s -c "$T/jar" -H 'Content-Type: application/json' --data '{"name":"rita","password":"rita-password"}' \
	"http://127.0.0.1:$port/login" >"$T/login.json"
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T/login.json")
same "rita approves it in the console" "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/jar" -H "X-CSRF-Token: $CSRF" \
	-X POST "http://127.0.0.1:$port/api/batches/$SB/approve")" 200
sed -i 's/^    - pipelinepro.example$/    - pipelinepro.example\n    - kaico.test/' "$T/serve.yaml"
expect 0 "meanwhile kaico.test is listed as a competitor" $AIRLOCK policy check
same "the console's apply answers" "$(curl -s -o "$T/apply.json" -w '%{http_code}' -b "$T/jar" -H "X-CSRF-Token: $CSRF" \
	-X POST "http://127.0.0.1:$port/api/batches/$SB/apply")" 200
has "... the message is blocked by the policy as it is now" "$T/apply.json" "competitor"
same "... nothing reached the relay" "$(ls "$T/mail/new" 2>/dev/null | grep -c '\.eml$')" 0
same "... the outbox says blocked" "$(sql "SELECT state FROM outbox WHERE draft_id='$D'")" blocked
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

# --- every human verb in the log has a human principal, never the proposer --
same "every person's entry is human:NAME, never an agent's spelling" \
	"$(sql "SELECT count(*) FROM action_log WHERE tool IN ('approve','reject','reviewer add','reviewer remove','token create')
	   AND (substr(principal,1,6) <> 'human:' OR substr(principal,7,1) NOT BETWEEN 'a' AND 'z')")" 0
if [ -z "$E2E_PG" ]; then # SQLite's own check of its file
	same "integrity" "$(sql "PRAGMA integrity_check")" "ok"
fi
