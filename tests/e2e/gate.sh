# gate.sh — the human verbs on batches, driven through the binary the way a
# reviewer types them.
. "$(dirname "$0")/lib.sh"

$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<40)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,owner,updated_at)
 SELECT 'A'||substr(CAST(1000+i AS TEXT),2),'Company '||i,CASE i%2 WHEN 0 THEN 'smb' ELSE 'mid-market' END,
 'EMEA',3,'prospect','dana','2026-11-01T00:00:00Z' FROM n" >/dev/null
sql " INSERT INTO signal(id,account_id,kind,observed_at,detail,updated_at) VALUES
 ('S1','A001','hiring','2026-11-20T00:00:00Z','<script>alert(1)</script> opened 12 SDR roles','2026-11-20T00:00:00Z')" >/dev/null
cat >"$T/p.json" <<'J'
{"workflow": "retier", "scope": "region=EMEA", "rationale": "hiring signals",
 "items": [
  {"record_id": "A001", "field": "tier", "value": 1, "reason": "12 SDR roles open", "evidence": ["S1"]},
  {"record_id": "A002", "field": "tier", "value": 2, "reason": "intent"},
  {"record_id": "A999", "field": "tier", "value": 1, "reason": "ghost"}]}
J
NOPOL="--policy $T/missing.yaml"
# retier stages one record at most, so the two above are blocked for a person
cat >"$T/gate.yaml" <<'Y'
version: 1
defaults:
  max_pending_batches: 20
workflows:
  read:
    effect: read
    tools: [search_accounts, get_account, list_signals, book_stats, batch_status]
  retier:
    effect: write
    tools: [propose_changes]
    reversible: true
    stage_max: 1
    fields: [tier]
  bulk:
    effect: write
    tools: [propose_changes]
    reversible: true
    stage_max: 200
    fields: [tier]
  merge:
    effect: write
    tools: [propose_merge]
    reversible: false
    fields: [domain]
  outreach:
    effect: draft
    tools: [draft_email, save_brief]
  send:
    effect: send
    tools: [request_send]
    reversible: false
Y
POL="--policy $T/gate.yaml"

expect 0 "with no loadable policy a proposal is answered" $AIRLOCK propose "$T/p.json" --as agent:scout $NOPOL
has "no loadable policy: refused (fail closed)" "$T/out" "decision: refused"
has "the warning says every proposal is refused" "$T/err" "every proposal is refused"
same "nothing was queued" "$(sql "SELECT count(*) FROM batch")" 0
same "the refusal is logged" "$(sql "SELECT count(*) FROM action_log WHERE tool='propose_changes' AND decision='refused'")" 1
expect 0 "propose records a proposal" $AIRLOCK propose "$T/p.json" --as agent:scout $POL
has "past stage_max: blocked" "$T/out" "decision: blocked"
has "the unknown record is refused by name" "$T/out" "A999.*unknown_record"
B=$(sql "SELECT max(id) FROM batch")

expect 2 "propose without --as agent:NAME is a usage error" $AIRLOCK propose "$T/p.json" $NOPOL
expect 2 "propose with a human principal is a usage error" $AIRLOCK propose "$T/p.json" --as maria $NOPOL
printf '{"workflow": "retier", "items": [' >"$T/bad.json"
expect 1 "a truncated proposal file is named with line and column" $AIRLOCK propose "$T/bad.json" --as agent:scout $NOPOL
has "the error names the file" "$T/err" "bad.json:1:"
echo '{"workflow":"retier","scope":"region=EMEA","rationale":"x","items":[{"record_id":"A001","field":"tier"}]}' >"$T/noval.json"
expect 1 "an item without a value is refused with the argument named" $AIRLOCK propose "$T/noval.json" --as agent:scout $POL
has "names items[1].value (items count from 1)" "$T/err" "items\[1\]\.value"
same "nothing was staged by the bad proposals" "$(sql "SELECT count(*) FROM batch")" 1

expect 0 "queue lists the batch" $AIRLOCK queue
has "queue shows state and agent" "$T/out" "^$B +blocked +retier +agent:scout"
expect 0 "queue --json is JSON" $AIRLOCK queue --json
same "queue --json holds one batch" "$(python3 -c "import json,sys; print(len(json.load(open('$T/out'))))")" 1

expect 0 "show renders the diff" $AIRLOCK show "$B"
has "old → new per field" "$T/out" "tier: 3 → 1"
has "the reason is shown" "$T/out" "reason: 12 SDR roles open"
has "evidence carries the signal's own text" "$T/out" "evidence S1: hiring 2026-11-20"
has "book text is shown as text" "$T/out" "<script>alert\(1\)</script>"
has "refused items are listed" "$T/out" "refused \(1\)"
has "the allowed verbs are named" "$T/out" "next: airlock approve, reject"
expect 0 "show --json" $AIRLOCK show "B$B" --json
has "the JSON carries the items" "$T/out" '"item_list"'
expect 1 "show of a missing batch fails" $AIRLOCK show 999
has "and says so" "$T/err" "no batch 999"
expect 2 "show of a non-id is a usage error" $AIRLOCK show xyz

expect 1 "an agent cannot approve" $AIRLOCK approve "$B" --as agent:scout
has "and is told only a person can" "$T/err" "only a person"
expect 2 "reject needs a reason" $AIRLOCK reject "$B" --as maria
expect 1 "apply before approval is refused" $AIRLOCK apply "$B" --as maria
has "naming the state" "$T/err" "is blocked"
expect 0 "a person approves" $AIRLOCK approve "$B" --as maria
expect 0 "and applies" $AIRLOCK apply "$B" --as maria
same "the book changed" "$(sql "SELECT tier||','||version FROM account WHERE id='A001'")" "1,2"
sql "UPDATE account SET owner='zoe', version=version+1 WHERE id='A002'"
expect 1 "undo refuses a record changed after the apply" $AIRLOCK undo "$B" --as maria
has "and lists it" "$T/out" "account A002"
same "nothing was undone" "$(sql "SELECT tier FROM account WHERE id='A001'")" 1
expect 0 "undo --force restores" $AIRLOCK undo "$B" --as maria --force
same "A001 is back" "$(sql "SELECT tier FROM account WHERE id='A001'")" 3
same "A002's tier is back, the later owner edit kept" "$(sql "SELECT tier||','||owner FROM account WHERE id='A002'")" "3,zoe"
expect 1 "a second undo is refused" $AIRLOCK undo "$B" --as maria
expect 0 "queue is empty now" $AIRLOCK queue
has "and says so" "$T/out" "nothing waits"

# expiry: a batch waiting past its time-to-live cannot be approved
expect 0 "another proposal" $AIRLOCK propose "$T/p.json" --as agent:scout $POL
B2=$(sql "SELECT max(id) FROM batch")
AIRLOCK_NOW=$(( $(date +%s) + 8 * 86400 )) expect 1 "approving an expired batch fails" $AIRLOCK approve "$B2" --as maria
has "saying it expired" "$T/err" "expired"
AIRLOCK_NOW=$(( $(date +%s) + 8 * 86400 )) expect 0 "queue sweeps expired batches" $AIRLOCK queue
same "the batch is expired" "$(sql "SELECT state FROM batch WHERE id=$B2")" expired

# ---- a hostile agent against the gate (issue 13) ----
export AIRLOCK_POLICY="$T/gate.yaml"
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<700)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,owner,updated_at)
 SELECT 'B'||substr(CAST(10000+i AS TEXT),2),'Bulk '||i,'smb','NA',3,'prospect','dana','2026-11-01T00:00:00Z' FROM n" >/dev/null
sql " INSERT INTO contact(id,account_id,name,email,updated_at) VALUES
  ('C30','A030','Pat','pat@a30.test','2026-11-01T00:00:00Z'),
  ('A030','A030','Same id as an account','same@a30.test','2026-11-01T00:00:00Z')" >/dev/null
sql " INSERT INTO signal(id,account_id,kind,observed_at,detail,updated_at) VALUES
  ('S30','A030','news','2026-11-20T00:00:00Z','A030 news','2026-11-20T00:00:00Z'),
  ('S31','A031','news','2026-11-20T00:00:00Z','A031 news','2026-11-20T00:00:00Z')" >/dev/null
nbatch() { sql "SELECT count(*) FROM batch"; }

# an unknown or foreign workflow name never escapes the field guard
for w in bogus Retier "retier " merge send outreach read; do
	python3 -c 'import json,sys; print(json.dumps({"workflow": sys.argv[1], "scope": "region=EMEA",
  "rationale": "x", "items": [{"record_id": "A003", "field": "do_not_contact", "value": True},
  {"record_id": "A003", "field": "owner", "value": "mallory"},
  {"record_id": "A003", "field": "lifecycle", "value": "customer"}]}))' "$w" >"$T/w.json"
	n=$(nbatch)
	expect 0 "workflow '$w': answered" $AIRLOCK propose "$T/w.json" --as agent:hostile
	has "workflow '$w': refused whole" "$T/out" "^decision: refused"
	has "workflow '$w': the workflows that list the tool, with their fields" "$T/out" "workflow retier may write: tier"
	same "workflow '$w': nothing queued" "$(nbatch)" "$n"
done
python3 -c 'import json; print(json.dumps({"workflow": "Retier", "scope": "region=EMEA", "rationale": "x",
  "items": [{"record_id": "A003", "field": "owner", "value": "mallory"}]}))' >"$T/w.json"
expect 0 "a near miss" $AIRLOCK propose "$T/w.json" --as agent:hostile
has "gets a did-you-mean" "$T/out" "did you mean: retier"
same "every one is logged as refused" "$(sql "SELECT count(*) FROM action_log WHERE principal='agent:hostile' AND decision='refused'")" 8
same "do_not_contact, owner and lifecycle of A003 never reached a batch" \
	"$(sql "SELECT count(*) FROM batch_item WHERE record_id='A003'")" 0

# the same through the MCP write connector; mcp_calls AGENT PIN < lines of
# "TOOL JSON-ARGS" prints one structuredContent per call
mcp_calls() {
	python3 -c 'import json, sys
print(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}}))
print(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
for i, l in enumerate(sys.stdin):
    tool, args = l.split(" ", 1)
    print(json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call", "params": {"name": tool, "arguments": json.loads(args)}}))' |
		"$AIRLOCK" mcp --connector write --agent "$1" --instruction-version "$2" 2>>"$T/mcp.err" |
		python3 -c 'import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("id"): print(json.dumps(m["result"].get("structuredContent", m["result"])))'
}
n=$(nbatch)
mcp_calls hostile2 v1 >"$T/mcp.out" <<'CALLS'
propose_changes {"workflow": "bogus", "scope": "region=EMEA", "rationale": "x", "items": [{"record_id": "A005", "field": "owner", "value": "mallory", "reason": "r"}]}
propose_changes {"workflow": "Retier", "scope": "region=EMEA", "rationale": "x", "items": [{"record_id": "A005", "field": "do_not_contact", "value": true, "reason": "r"}]}
propose_changes {"workflow": "merge", "scope": "region=EMEA", "rationale": "x", "items": [{"record_id": "A005", "field": "lifecycle", "value": "customer", "reason": "r"}]}
propose_merge {"workflow": "retier", "survivor_id": "A005", "merged_ids": ["A007"], "rationale": "x"}
draft_email {"workflow": "send", "account_id": "A005", "contact_ids": ["C30"], "subject": "s", "body": "b", "audience": "lifecycle=prospect"}
save_brief {"workflow": "bogus", "account_id": "A005", "text": "t"}
CALLS
same "MCP: six calls, six refusals" "$(grep -c '"decision": "refused"' "$T/mcp.out")" 6
has "MCP: a did-you-mean for Retier" "$T/mcp.out" '"did_you_mean": "retier"'
same "MCP: nothing queued" "$(nbatch)" "$n"
same "MCP: no draft or brief stored" "$(sql "SELECT (SELECT count(*) FROM draft)+(SELECT count(*) FROM brief)")" 0

# borrowed and missing evidence
cat >"$T/ev.json" <<'J'
{"workflow": "bulk", "scope": "region=EMEA", "rationale": "signals",
 "items": [{"record_id": "A031", "field": "tier", "value": 1, "evidence": ["S1"]},
           {"record_id": "A013", "field": "tier", "value": 1, "evidence": ["S-NONE"]},
           {"record_id": "A015", "field": "tier", "value": 1, "evidence": ["S31", "S1"]},
           {"record_id": "A017", "field": "tier", "value": 1, "evidence": []}]}
J
expect 0 "evidence: answered" $AIRLOCK propose "$T/ev.json" --as agent:borrower
has "another account's signal is refused" "$T/out" "A031.tier +\[evidence_other_record\]"
has "a signal that does not exist is refused" "$T/out" "A013.tier +\[evidence_not_found\]"
has "one borrowed id among good ones is refused" "$T/out" "A015.tier +\[evidence_other_record\]"
same "only the item citing nothing was staged" "$(sql "SELECT record_id FROM batch_item WHERE batch_id=(SELECT max(id) FROM batch) ORDER BY idx" | paste -sd,)" A017
same "S1's text is never shown as another account's evidence" "$(sql "SELECT count(*) FROM batch_item WHERE evidence LIKE '%S1\"%' AND record_id<>'A001'")" 0

# the connector's pin is the version, the agent's argument only a claim
mcp_calls pinned retier-v1 >"$T/mcp.out" <<'CALLS'
propose_changes {"workflow": "bulk", "scope": "region=EMEA", "rationale": "x", "instruction_version": "retier-v9", "items": [{"record_id": "A019", "field": "tier", "value": 1, "reason": "r"}]}
CALLS
PB=$(sql "SELECT max(id) FROM batch")
same "the batch carries the pin" "$(sql "SELECT instruction_version FROM batch WHERE id=$PB")" retier-v1
same "and the claim apart" "$(sql "SELECT instruction_claim FROM batch WHERE id=$PB")" retier-v9
same "the log entry carries the pin" "$(sql "SELECT instruction_version FROM action_log WHERE batch_id='$PB' AND tool='propose_changes'")" retier-v1
same "the claim stays visible in the logged arguments" "$(sql "SELECT count(*) FROM action_log WHERE batch_id='$PB' AND body LIKE '%retier-v9%'")" 1
same "no log entry names the claim as its version" "$(sql "SELECT count(*) FROM action_log WHERE instruction_version='retier-v9'")" 0
expect 0 "show" $AIRLOCK show "$PB"
has "show: the version is the pin" "$T/out" "^instruction version: retier-v1"
has "show: the claim is labelled as such" "$T/out" "claimed by the agent.*retier-v9"
expect 0 "show --json" $AIRLOCK show "$PB" --json
has "show --json: the claim under its own name" "$T/out" '"instruction_claim": *"retier-v9"'

# drafts, briefs and sends alike: the pin is the version, the claim a claim
mcp_calls pinned retier-v1 >"$T/mcp.out" <<'CALLS'
draft_email {"account_id": "A030", "contact_ids": ["C30"], "subject": "hello", "body": "a short note", "audience": "lifecycle=prospect", "instruction_version": "retier-v9"}
save_brief {"account_id": "A030", "text": "news", "evidence": ["S30"], "instruction_version": "retier-v9"}
CALLS
D=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["draft_id"])' "$T/mcp.out")
same "the draft carries the pin" "$(sql "SELECT instruction_version FROM draft WHERE id='$D'")" retier-v1
same "the brief carries the pin" "$(sql "SELECT instruction_version FROM brief" | paste -sd,)" retier-v1
echo "request_send {\"draft_ids\": [\"$D\"], \"instruction_version\": \"retier-v9\"}" | mcp_calls pinned retier-v1 >"$T/mcp.out"
SB=$(sql "SELECT max(id) FROM batch WHERE action='send'")
same "the send's batch carries the pin and the claim apart" \
	"$(sql "SELECT state||' '||instruction_version||' '||instruction_claim FROM batch WHERE id=$SB")" "blocked retier-v1 retier-v9"
same "no log entry of these calls names the claim as its version" \
	"$(sql "SELECT count(*) FROM action_log WHERE instruction_version='retier-v9'")" 0
$AIRLOCK reject "$SB" --as maria --reason "not now" >/dev/null 2>&1

# past max_pending_batches nothing more is queued
for i in $(seq 1 60); do
	printf 'propose_changes {"workflow": "retier", "scope": "region=NA", "rationale": "x", "items": [{"record_id": "B%04d", "field": "tier", "value": 1, "reason": "r"}]}\n' "$i"
done | mcp_calls flood v1 >"$T/mcp.out"
same "60 one-record proposals: 20 queued" "$(sql "SELECT count(*) FROM batch WHERE principal='agent:flood'")" 20
same "the queue length stays at the cap" "$(sql "SELECT count(*) FROM batch WHERE principal='agent:flood' AND state IN ('staged','sampled','blocked')")" 20
same "40 refused" "$(grep -c '"decision": "refused"' "$T/mcp.out")" 40
has "the agent is told how many wait and the cap" "$T/mcp.out" "20 batches of this agent already wait for a person and max_pending_batches is 20"
same "each refusal is logged" "$(sql "SELECT count(*) FROM action_log WHERE principal='agent:flood' AND decision='refused'")" 40

# decoys: rejecting two one-record decoys releases only them
big() {
	python3 -c 'import json,sys; a=int(sys.argv[1]); n=int(sys.argv[2]); print(json.dumps({"workflow": "bulk",
  "scope": "region=NA", "rationale": "x", "items": [{"record_id": "B%04d" % i, "field": "tier", "value": 2} for i in range(a, a + n)]}))' "$1" "$2" >"$T/big.json"
	$AIRLOCK propose "$T/big.json" --as agent:sly --json >"$T/out" 2>"$T/err"
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["decision"], r.get("batch_id", 0), r["cumulative_radius"])' "$T/out"
}
set -- $(big 101 200)
same "big 1: 200 records staged" "$1 $3" "staged 200"
set -- $(big 301 1)
same "decoy 1 is over the running total" "$1 $3" "blocked 201"
$AIRLOCK reject "$2" --as maria --reason decoy >/dev/null 2>&1
set -- $(big 302 200)
same "after the decoy's rejection, big 2 still counts big 1" "$1 $3" "blocked 400"
set -- $(big 502 1)
$AIRLOCK reject "$2" --as maria --reason decoy >/dev/null 2>&1
set -- $(big 503 198)
same "the third big proposal is blocked: all 598 still count" "$1 $3" "blocked 598"
same "staged-but-unreviewed records of agent:sly stay within stage_max" \
	"$(sql "SELECT count(DISTINCT i.record_id) FROM batch b JOIN batch_item i ON i.batch_id=b.id WHERE b.principal='agent:sly' AND b.state IN ('staged','sampled')")" 200

# a merge counts the same records in its radius and its running total
echo '{"survivor_id": "A031", "merged_ids": ["A030"], "rationale": "duplicate"}' >"$T/m.json"
expect 0 "merge: answered" $AIRLOCK propose "$T/m.json" --tool propose_merge --as agent:merger
has "merge: blocked" "$T/out" "^decision: blocked"
has "merge: the account, its two contacts and its signal, in both totals" "$T/out" "radius: 4  cumulative: 4"
has "merge: the real reason" "$T/out" "irreversible"
hasnt "merge: no inconsistent totals" "$T/out" "inconsistent"

# merges are re-checked at apply (issue 13.6): a hostile agent stages A→B
# and B→A while both are live, and Y→Z before X→Y; a person approves all
sql "INSERT INTO contact(id,account_id,name,email,updated_at) VALUES
 ('C10','A010','Ann','ann@a10.test','2026-11-01T00:00:00Z'),
 ('C11','A011','Bo','bo@a11.test','2026-11-01T00:00:00Z')" >/dev/null
merge() { # SOURCE SURVIVOR: proposes, approves; prints the batch id
	printf '{"workflow":"merge","survivor_id":"%s","merged_ids":["%s"],"rationale":"duplicates"}' "$2" "$1" >"$T/m.json"
	$AIRLOCK propose "$T/m.json" --tool propose_merge --as agent:scout >/dev/null 2>&1
	m=$(sql "SELECT max(id) FROM batch")
	$AIRLOCK approve "$m" --as maria >/dev/null 2>&1
	echo "$m"
}
M1=$(merge A010 A011)
M2=$(merge A011 A010)
same "both merges wait approved" "$(sql "SELECT state FROM batch WHERE id IN ($M1,$M2) ORDER BY id" | paste -sd,)" "approved,approved"
expect 0 "A010 → A011 applies" $AIRLOCK apply "$M1" --as maria
expect 1 "A011 → A010 then would close a cycle: refused" $AIRLOCK apply "$M2" --as maria
has "... saying so" "$T/err" "would close a cycle"
has "... naming the item" "$T/out" "account A011: merging 'A011' into 'A010'"
same "... A011 stays live" "$(sql "SELECT coalesce(merged_into,'live') FROM account WHERE id='A011'")" live
same "... and holds both contacts" "$(sql "SELECT id FROM contact WHERE account_id='A011' ORDER BY id" | paste -sd,)" "C10,C11"
XY=$(merge A012 A013)
YZ=$(merge A013 A014)
expect 0 "Y → Z applies" $AIRLOCK apply "$YZ" --as maria
expect 1 "X → Y then would merge into a merged account: refused" $AIRLOCK apply "$XY" --as maria
has "... naming the survivor's fate" "$T/err" "survivor 'A013' was merged into 'A014'"
expect 0 "--skip-conflicts applies the rest (nothing)" $AIRLOCK apply "$XY" --as maria --skip-conflicts
same "... A012 stays live" "$(sql "SELECT coalesce(merged_into,'live') FROM account WHERE id='A012'")" live
same "no account is merged into a merged account" "$(sql "SELECT count(*) FROM account a JOIN account b ON b.id=a.merged_into WHERE b.merged_into IS NOT NULL")" 0
sql "INSERT INTO contact(id,account_id,name,email,updated_at) VALUES ('C15','A015','Cy','cy@a15.test','2026-11-01T00:00:00Z')" >/dev/null
M3=$(merge A015 A016)
sql "INSERT INTO contact(id,account_id,name,email,updated_at) VALUES ('C15b','A015','Di','di@a15.test','2026-11-01T00:00:00Z')" >/dev/null
expect 0 "a merge applies" $AIRLOCK apply "$M3" --as maria
same "... moving the contact added after staging too" "$(sql "SELECT account_id FROM contact WHERE id IN ('C15','C15b') ORDER BY id" | paste -sd,)" "A016,A016"
expect 0 "undo of the merge" $AIRLOCK undo "$M3" --as maria
same "... restores exactly" "$(sql "SELECT coalesce(merged_into,'live') FROM account WHERE id='A015'"):$(sql "SELECT account_id FROM contact WHERE id IN ('C15','C15b') ORDER BY id" | paste -sd,)" "live:A015,A015"

for v in queue show approve reject apply undo propose; do
	expect 0 "$v --help" $AIRLOCK $v --help
	has "$v --help shows usage" "$T/out" "^usage: airlock $v"
done
expect 2 "an unknown verb is a usage error" $AIRLOCK frobnicate
expect 2 "an unknown option is a usage error" $AIRLOCK queue --frob
