# gate.sh — the human verbs on batches, driven through the binary the way a
# reviewer types them.
. "$(dirname "$0")/lib.sh"

$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sqlite3 "$AIRLOCK_DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<40)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,owner,updated_at)
 SELECT printf('A%03d',i),'Company '||i,CASE i%2 WHEN 0 THEN 'smb' ELSE 'mid-market' END,
 'EMEA',3,'prospect','dana','2026-11-01T00:00:00Z' FROM n;
 INSERT INTO signal(id,account_id,kind,observed_at,detail,updated_at) VALUES
 ('S1','A001','hiring','2026-11-20T00:00:00Z','<script>alert(1)</script> opened 12 SDR roles','2026-11-20T00:00:00Z');"
cat >"$T/p.json" <<'J'
{"workflow": "retier", "scope": "region=EMEA", "rationale": "hiring signals",
 "items": [
  {"record_id": "A001", "field": "tier", "value": 1, "reason": "12 SDR roles open", "evidence": ["S1"]},
  {"record_id": "A002", "field": "tier", "value": 2, "reason": "intent"},
  {"record_id": "A999", "field": "tier", "value": 1, "reason": "ghost"}]}
J
NOPOL="--policy $T/missing.yaml"

expect 0 "propose records a proposal" $AIRLOCK propose "$T/p.json" --as agent:scout $NOPOL
has "no loadable policy: blocked (fail closed)" "$T/out" "decision: blocked"
has "the warning says every proposal is blocked" "$T/err" "every proposal is blocked"
has "the unknown record is refused by name" "$T/out" "A999.*unknown_record"
B=$(sql "SELECT max(id) FROM batch")

expect 2 "propose without --as agent:NAME is a usage error" $AIRLOCK propose "$T/p.json" $NOPOL
expect 2 "propose with a human principal is a usage error" $AIRLOCK propose "$T/p.json" --as maria $NOPOL
printf '{"workflow": "retier", "items": [' >"$T/bad.json"
expect 1 "a truncated proposal file is named with line and column" $AIRLOCK propose "$T/bad.json" --as agent:scout $NOPOL
has "the error names the file" "$T/err" "bad.json:1:"
echo '{"workflow":"retier","scope":"region=EMEA","rationale":"x","items":[{"record_id":"A001","field":"tier"}]}' >"$T/noval.json"
expect 1 "an item without a value is refused with the argument named" $AIRLOCK propose "$T/noval.json" --as agent:scout $NOPOL
has "names items[0].value" "$T/err" "items\[0\]\.value"
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
expect 0 "another proposal" $AIRLOCK propose "$T/p.json" --as agent:scout $NOPOL
B2=$(sql "SELECT max(id) FROM batch")
AIRLOCK_NOW=$(( $(date +%s) + 8 * 86400 )) expect 1 "approving an expired batch fails" $AIRLOCK approve "$B2" --as maria
has "saying it expired" "$T/err" "expired"
AIRLOCK_NOW=$(( $(date +%s) + 8 * 86400 )) expect 0 "queue sweeps expired batches" $AIRLOCK queue
same "the batch is expired" "$(sql "SELECT state FROM batch WHERE id=$B2")" expired

# merges are re-checked at apply (issue 13.6): a hostile agent stages A→B
# and B→A while both are live, and Y→Z before X→Y; a person approves all
sqlite3 "$AIRLOCK_DB" "INSERT INTO contact(id,account_id,name,email,updated_at) VALUES
 ('C10','A010','Ann','ann@a10.test','2026-11-01T00:00:00Z'),
 ('C11','A011','Bo','bo@a11.test','2026-11-01T00:00:00Z');"
merge() { # SOURCE SURVIVOR: proposes, approves; prints the batch id
	printf '{"workflow":"merge","survivor_id":"%s","merged_ids":["%s"],"rationale":"duplicates"}' "$2" "$1" >"$T/m.json"
	$AIRLOCK propose "$T/m.json" --tool propose_merge --as agent:scout >/dev/null 2>&1
	m=$(sql "SELECT max(id) FROM batch")
	$AIRLOCK approve "$m" --as maria >/dev/null 2>&1
	echo "$m"
}
M1=$(merge A010 A011)
M2=$(merge A011 A010)
same "both merges wait approved" "$(sql "SELECT group_concat(state) FROM batch WHERE id IN ($M1,$M2)")" "approved,approved"
expect 0 "A010 → A011 applies" $AIRLOCK apply "$M1" --as maria
expect 1 "A011 → A010 then would close a cycle: refused" $AIRLOCK apply "$M2" --as maria
has "... saying so" "$T/err" "would close a cycle"
has "... naming the item" "$T/out" "account A011: merging 'A011' into 'A010'"
same "... A011 stays live" "$(sql "SELECT coalesce(merged_into,'live') FROM account WHERE id='A011'")" live
same "... and holds both contacts" "$(sql "SELECT group_concat(id) FROM (SELECT id FROM contact WHERE account_id='A011' ORDER BY id)")" "C10,C11"
XY=$(merge A012 A013)
YZ=$(merge A013 A014)
expect 0 "Y → Z applies" $AIRLOCK apply "$YZ" --as maria
expect 1 "X → Y then would merge into a merged account: refused" $AIRLOCK apply "$XY" --as maria
has "... naming the survivor's fate" "$T/err" "survivor 'A013' was merged into 'A014'"
expect 0 "--skip-conflicts applies the rest (nothing)" $AIRLOCK apply "$XY" --as maria --skip-conflicts
same "... A012 stays live" "$(sql "SELECT coalesce(merged_into,'live') FROM account WHERE id='A012'")" live
same "no account is merged into a merged account" "$(sql "SELECT count(*) FROM account a JOIN account b ON b.id=a.merged_into WHERE b.merged_into IS NOT NULL")" 0
sqlite3 "$AIRLOCK_DB" "INSERT INTO contact(id,account_id,name,email,updated_at) VALUES ('C15','A015','Cy','cy@a15.test','2026-11-01T00:00:00Z')"
M3=$(merge A015 A016)
sqlite3 "$AIRLOCK_DB" "INSERT INTO contact(id,account_id,name,email,updated_at) VALUES ('C15b','A015','Di','di@a15.test','2026-11-01T00:00:00Z')"
expect 0 "a merge applies" $AIRLOCK apply "$M3" --as maria
same "... moving the contact added after staging too" "$(sql "SELECT group_concat(account_id) FROM contact WHERE id IN ('C15','C15b')")" "A016,A016"
expect 0 "undo of the merge" $AIRLOCK undo "$M3" --as maria
same "... restores exactly" "$(sql "SELECT coalesce(merged_into,'live') || ':' || (SELECT group_concat(account_id) FROM contact WHERE id IN ('C15','C15b')) FROM account WHERE id='A015'")" "live:A015,A015"

for v in queue show approve reject apply undo propose; do
	expect 0 "$v --help" $AIRLOCK $v --help
	has "$v --help shows usage" "$T/out" "^usage: airlock $v"
done
expect 2 "an unknown verb is a usage error" $AIRLOCK frobnicate
expect 2 "an unknown option is a usage error" $AIRLOCK queue --frob
