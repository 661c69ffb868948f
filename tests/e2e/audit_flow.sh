# audit_flow.sh — sample audits and sends through the binary, under the
# default policy: the sample size and statement, verdicts, a fail sending
# the batch back, the draw re-derived from its seed, separation of duties.
. "$(dirname "$0")/lib.sh"

$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sqlite3 "$AIRLOCK_DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<600)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)
 SELECT printf('A%04d',i),'Company '||i,'mid-market','EMEA',3,'prospect','2026-11-01T00:00:00Z' FROM n;
 INSERT INTO contact(id,account_id,name,email,updated_at) VALUES
 ('C1','A0001','Ann Lee','ann@company1.test','2026-11-01T00:00:00Z');"
items() { # items FIRST LAST VALUE
	python3 -c "import json,sys; f,l,v=map(int,sys.argv[1:]); print(json.dumps({'workflow':'retier','scope':'region=EMEA','rationale':'t','items':[{'record_id':'A%04d'%i,'field':'tier','value':v,'reason':'r'} for i in range(f,l+1)]}))" "$@"
}
items 1 150 2 >"$T/p1.json"
expect 0 "a 150-item re-tier" $AIRLOCK propose "$T/p1.json" --as agent:scout
has "is staged" "$T/out" "decision: staged"
B=$(sql "SELECT max(id) FROM batch")
expect 1 "the proposing agent cannot draw the sample" $AIRLOCK sample "$B" --as agent:scout
expect 0 "a reviewer draws the sample" $AIRLOCK sample "$B" --as maria
has "the size is the exact plan for N=150, 5%, 95%" "$T/out" "read 46 of 150 items"
has "and the statement says what it supports" "$T/out" "zero bad items in 46 of 150 ⇒ with 95% confidence fewer than 8 \(5%\) of the batch are wrong"
same "the drawn items are recorded" "$(sql "SELECT count(*) FROM batch_item WHERE batch_id=$B AND sampled=1")" 46
expect 0 "the draw re-derives from its seed" $AIRLOCK sample "$B" --check
FIRST=$(sql "SELECT idx FROM batch_item WHERE batch_id=$B AND sampled=1 ORDER BY idx LIMIT 1")
OTHER=$(sql "SELECT idx FROM batch_item WHERE batch_id=$B AND sampled=0 ORDER BY idx LIMIT 1")
sql "UPDATE batch SET sample=replace(sample,'\"items\":[','\"items\":[$OTHER,') WHERE id=$B"
expect 1 "a tampered draw is caught" $AIRLOCK sample "$B" --check
has "naming the difference" "$T/err" "the seed gives"
expect 2 "judge needs pass or fail" $AIRLOCK judge "$B" "$FIRST" maybe --as lee
expect 0 "a verdict" $AIRLOCK judge "$B" "$FIRST" pass --as lee
has "says how many remain" "$T/out" "still to judge"
expect 0 "one fail" $AIRLOCK judge "$B" "$(sql "SELECT idx FROM batch_item WHERE batch_id=$B AND sampled=1 AND verdict IS NULL LIMIT 1")" fail --as lee --note "tier 2 without a signal"
has "sends the whole batch back" "$T/out" "whole batch goes back to a person"
same "the batch is blocked" "$(sql "SELECT state FROM batch WHERE id=$B")" blocked
expect 0 "the evidence is kept per workflow" $AIRLOCK radius --json

# (46 is the plan computed independently: smallest n with C(142,n)/C(150,n) <= 0.05)
# a clean sample approves
items 151 180 2 >"$T/p2.json"
expect 0 "a 30-item re-tier" $AIRLOCK propose "$T/p2.json" --as agent:scout
B2=$(sql "SELECT max(id) FROM batch")
expect 0 "its sample" $AIRLOCK sample "$B2" --as maria
for i in $(sql "SELECT idx FROM batch_item WHERE batch_id=$B2 AND sampled=1"); do
	$AIRLOCK judge "$B2" "$i" pass --as maria >"$T/j" 2>&1 || echo "judge $i failed: $(cat "$T/j")"
done
has "the last verdict approves it" "$T/j" "every sampled item passed"
same "the batch is approved" "$(sql "SELECT state FROM batch WHERE id=$B2")" approved
expect 0 "and applies" $AIRLOCK apply "$B2" --as maria
same "the book changed" "$(sql "SELECT count(*) FROM account WHERE tier=2")" 30
same "the workflow has evidence" "$(sql "SELECT count(*) FROM autonomy WHERE workflow='retier'")" 1

# drafts and sends through the gate
cat >"$T/d.json" <<'J'
{"account_id": "A0001", "contact_ids": ["C1"], "subject": "Hello", "body": "Hi Ann",
 "audience": "lifecycle=prospect"}
J
expect 0 "draft_email through the gate" $AIRLOCK propose "$T/d.json" --tool draft_email --as agent:writer
D=$(sql "SELECT id FROM draft LIMIT 1")
echo "{\"draft_ids\": [\"$D\"]}" >"$T/s.json"
expect 0 "request_send" $AIRLOCK propose "$T/s.json" --tool request_send --as agent:writer
has "a send is blocked for a person" "$T/out" "decision: blocked"
S=$(sql "SELECT max(id) FROM batch")
same "it is a send batch of one message" "$(sql "SELECT action||','||radius FROM batch WHERE id=$S")" "send,1"
same "... logged once: the gate's decision, with the batch and the draft" \
	"$(sql "SELECT count(*)||','||group_concat(decision||':'||batch_id) FROM action_log
		WHERE tool='request_send' AND seq IN (SELECT seq FROM action_log_record WHERE record_id='$D')")" \
	"1,blocked:$S"
expect 0 "show renders the message" $AIRLOCK show "$S"
has "with its recipient" "$T/out" "to: Ann Lee <ann@company1.test>"
expect 1 "a send cannot be undone" $AIRLOCK undo "$S" --as maria
expect 0 "rejecting the send" $AIRLOCK reject "$S" --as maria --reason "wrong week"
same "returns the draft to the rep" "$(sql "SELECT status FROM draft WHERE id='$D'")" draft
