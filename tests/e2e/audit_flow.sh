# audit_flow.sh — sample audits and sends through the binary, under the
# default policy: the sample size and statement, verdicts, a fail sending
# the batch back, the draw re-derived from its seed, separation of duties.
. "$(dirname "$0")/lib.sh"

$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<600)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)
 SELECT 'A'||substr(CAST(10000+i AS TEXT),2),'Company '||i,'mid-market','EMEA',3,'prospect','2026-11-01T00:00:00Z' FROM n" >/dev/null
sql " INSERT INTO contact(id,account_id,name,email,updated_at) VALUES
 ('C1','A0001','Ann Lee','ann@company1.test','2026-11-01T00:00:00Z')" >/dev/null
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

# approving past an unfinished sample is an override (issue 13.11): with 1
# of 45 drawn items judged a plain approve is refused, saying what is
# unfinished; --override --reason approves, shown and logged as such, and
# the workflow's evidence does not move
expect 0 "the failed batch is rejected" $AIRLOCK reject "$B" --as maria --reason "failed its sample"
items 181 310 2 >"$T/p3.json"
expect 0 "a 130-item re-tier" $AIRLOCK propose "$T/p3.json" --as agent:scout
has "is staged" "$T/out" "decision: staged"
B3=$(sql "SELECT max(id) FROM batch")
expect 1 "a plain approve of a batch never sampled is refused" $AIRLOCK approve "$B3" --as maria
has "... saying it was never sampled" "$T/err" "never sampled"
expect 0 "its sample" $AIRLOCK sample "$B3" --as maria
same "45 items are drawn" "$(sql "SELECT count(*) FROM batch_item WHERE batch_id=$B3 AND sampled=1")" 45
EVIDENCE=$(sql "SELECT state FROM autonomy WHERE workflow='retier'")
expect 0 "one verdict" $AIRLOCK judge "$B3" "$(sql "SELECT idx FROM batch_item WHERE batch_id=$B3 AND sampled=1 LIMIT 1")" pass --as lee
expect 1 "approve with 1 of 45 judged is refused" $AIRLOCK approve "$B3" --as lee
has "... saying what is unfinished" "$T/err" "unfinished: 1 of 45 drawn item\(s\) judged"
has "... and how to override" "$T/err" "airlock approve $B3 --override --reason TEXT"
same "... the batch still waits for its sample" "$(sql "SELECT state FROM batch WHERE id=$B3")" sampled
expect 2 "--override without a reason is a usage error" $AIRLOCK approve "$B3" --as lee --override
expect 2 "--reason without --override is a usage error" $AIRLOCK approve "$B3" --as lee --reason "x"
expect 1 "the proposer's colleague agent cannot override" $AIRLOCK approve "$B3" --as agent:other --override --reason "x"
expect 0 "--override --reason approves" $AIRLOCK approve "$B3" --as lee --override --reason "checked every row against the CRM report"
has "... saying it is an override" "$T/out" "OVERRIDE"
same "... recorded on the batch" "$(sql "SELECT state FROM batch WHERE id=$B3"):$(sql "SELECT override FROM batch WHERE id=$B3" | python3 -c 'import json,sys; print(json.load(sys.stdin)["reason"])')" "approved:checked every row against the CRM report"
expect 0 "show" $AIRLOCK show "$B3"
has "... shows the override" "$T/out" "OVERRIDE: approved by human:lee past the sample audit \(the sample audit of batch $B3 is unfinished: 1 of 45 drawn item\(s\) judged\); reason: checked every row"
expect 0 "log" $AIRLOCK log --batch "$B3"
has "... logs the override" "$T/out" "approve  → override  batch $B3  — OVERRIDE: approved past the sample"
same "... the workflow's evidence is unchanged by its verdict (no audit)" "$(sql "SELECT state FROM autonomy WHERE workflow='retier'")" "$EVIDENCE"
expect 0 "the overridden batch applies" $AIRLOCK apply "$B3" --as maria
same "... and still adds no evidence" "$(sql "SELECT state FROM autonomy WHERE workflow='retier'")" "$EVIDENCE"

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
	"$(sql "SELECT count(*) FROM action_log WHERE tool='request_send' AND seq IN
		(SELECT seq FROM action_log_record WHERE record_id='$D')"),$(sql "SELECT decision||':'||batch_id
		FROM action_log WHERE tool='request_send' AND seq IN
		(SELECT seq FROM action_log_record WHERE record_id='$D') ORDER BY seq" | paste -sd,)" \
	"1,blocked:$S"
expect 0 "show renders the message" $AIRLOCK show "$S"
has "with its recipient" "$T/out" "to: Ann Lee <ann@company1.test>"
expect 1 "a send cannot be undone" $AIRLOCK undo "$S" --as maria
expect 0 "rejecting the send" $AIRLOCK reject "$S" --as maria --reason "wrong week"
same "returns the draft to the rep" "$(sql "SELECT status FROM draft WHERE id='$D'")" draft
