# review.sh — the reviewer at volume (issue 18) through the binary: the
# batch summary that show and sample print (moves grouped, evidence
# coverage and age, reason/evidence disagreements, overlap with other
# waiting batches, what a merge moves), item numbers and drawn marks in
# show, drawn items printed whole by sample, and judge over listed items,
# each verdict its own logged act and never "all".
. "$(dirname "$0")/lib.sh"

export AIRLOCK_NOW=2026-12-01T00:00:00Z
$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<120)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)
 SELECT 'A'||substr(CAST(10000+i AS TEXT),2),'Company '||i,'mid-market','EMEA',CASE WHEN i<=97 THEN 4 ELSE 3 END,
  'prospect','2026-11-01T00:00:00Z' FROM n" >/dev/null
sql " INSERT INTO signal(id,account_id,kind,observed_at,detail,updated_at) VALUES
 ('S1','A0001','news','2026-11-20T00:00:00Z','layoffs of about 10% of staff','2026-11-20T00:00:00Z'),
 ('S2','A0002','hiring','2026-11-25T00:00:00Z','posted 9 open roles','2026-11-25T00:00:00Z'),
 ('S3','A0050','hiring','2026-11-25T00:00:00Z','hiring a VP of Sales','2026-11-25T00:00:00Z'),
 ('S4','A0004','hiring','2025-01-10T00:00:00Z','hiring a VP of Sales','2025-01-10T00:00:00Z')" >/dev/null
sql " INSERT INTO contact(id,account_id,name,email,updated_at) VALUES
 ('C1','A0120','Ann Lee','ann@company120.test','2026-11-01T00:00:00Z'),
 ('C2','A0120','Bo Sun','bo@company120.test','2026-11-01T00:00:00Z')" >/dev/null

# A hostile (or careless) agent: 120 re-tiers, most citing nothing, one
# saying "hiring" next to a layoffs signal, one citing another account's
# signal, one citing a signal two years old.
python3 - "$T/p1.json" <<'PY'
import json, sys
items = []
for i in range(1, 121):
    it = {'record_id': 'A%04d' % i, 'field': 'tier', 'value': 3 if i <= 97 else 2,
          'reason': 'fits the ICP'}
    if i == 1: it.update(reason='hiring fast', evidence=['S1'])
    if i == 2: it.update(reason='hiring fast', evidence=['S2'])
    if i == 3: it.update(reason='hiring fast')
    if i == 4: it.update(reason='hiring', evidence=['S4'])
    items.append(it)
json.dump({'workflow': 'retier', 'scope': 'region=EMEA', 'rationale': 'quarterly re-tier',
           'items': items}, open(sys.argv[1], 'w'))
PY
expect 0 "a 120-item re-tier" $AIRLOCK propose "$T/p1.json" --as agent:scout
B=$(sql "SELECT max(id) FROM batch")
# evidence about another record is refused at the door (gate); one stored
# before that check, or by a hand edit, is still flagged to the reviewer
sql "UPDATE batch_item SET evidence='[\"S3\"]' WHERE batch_id=$B AND record_id='A0003'"
expect 0 "show" $AIRLOCK show "$B" --limit 0
has "the moves are grouped with counts" "$T/out" "120 record\(s\): tier 4 → 3 ×97; tier 3 → 2 ×23"
has "evidence coverage is counted" "$T/out" "evidence: 4 of 120 item\(s\) cite some; 116 cite none"
has "a signal older than the policy's age is counted" "$T/out" "1 cite a signal older than 180 days"
has "a reason the evidence does not support is flagged by item" "$T/out" "1 item\(s\) give a reason the evidence does not support \(items 1\)"
has "evidence about another record is flagged" "$T/out" "1 item\(s\) cite evidence about another record \(items 3\)"
has "items are numbered from 1" "$T/out" "#1 ~ account A0001  Company 1"
has "... up to the last" "$T/out" "#120 ~ account A0120"
hasnt "nothing is marked drawn before a sample" "$T/out" "#[0-9]+ ★drawn"
expect 0 "show --json" $AIRLOCK show "$B" --json
expect 0 "the summary is JSON for scripts too" $AIRLOCK show "$B" --json --summary
same "the summary's flag counts" "$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(s['flag_counts'].get('reason_without_evidence'), s['flag_counts'].get('evidence_other_record'), s['flag_counts'].get('evidence_too_old'), s['moves'][0]['count'])" "$T/out")" "1 1 1 97"

# a policy with a longer evidence age flags nothing old
sed 's/evidence_max_age: 180d/evidence_max_age: 1000d/' "$AIRLOCK_POLICY" >"$T/long.yaml"
expect 0 "the age is the policy's" $AIRLOCK show "$B" --policy "$T/long.yaml"
hasnt "... nothing is too old under 1000 days" "$T/out" "older than"
sed 's/evidence_max_age: 180d/evidence_max_age: soon/' "$AIRLOCK_POLICY" >"$T/bad.yaml"
expect 1 "a bad evidence_max_age is refused" $AIRLOCK policy check "$T/bad.yaml"
has "... naming the key and its expected form" "$T/out" "evidence_max_age must be a positive duration"

# another waiting batch touching the same records is named
python3 -c "import json; print(json.dumps({'workflow':'retier','scope':'region=EMEA','rationale':'again','items':[{'record_id':'A%04d'%i,'field':'tier','value':1,'reason':'r'} for i in range(1,6)]}))" >"$T/p2.json"
expect 0 "a second batch on five of the records" $AIRLOCK propose "$T/p2.json" --as agent:other
B2=$(sql "SELECT max(id) FROM batch")
expect 0 "show the first again" $AIRLOCK show "$B" --limit 1
has "the overlap is named" "$T/out" "records also in other waiting batches: batch $B2 \(staged, 5 record\(s\)\)"

# sample prints the drawn items whole
expect 0 "a reviewer draws the sample" $AIRLOCK sample "$B" --as maria
has "the summary comes with the sample" "$T/out" "tier 4 → 3 ×97"
DRAWN=$(sql "SELECT idx FROM batch_item WHERE batch_id=$B AND sampled=1 ORDER BY idx LIMIT 1")
has "each drawn item is printed with its number and name" "$T/out" "#$DRAWN ★drawn ~ account A$(printf %04d "$DRAWN")  Company $DRAWN"
has "... its old → new" "$T/out" "tier: [0-9] → [0-9]"
has "... and its reason" "$T/out" "reason: "
N=$(sql "SELECT count(*) FROM batch_item WHERE batch_id=$B AND sampled=1")
same "every drawn item is printed" "$(grep -Ec '#[0-9]+ ★drawn' "$T/out")" "$N"
expect 0 "show marks the drawn items" $AIRLOCK show "$B" --limit 0
same "... each of them" "$(grep -Ec '#[0-9]+ ★drawn' "$T/out")" "$N"

# judge: listed items only, each its own act
expect 2 "judge with no item is a usage error (no pass-all)" $AIRLOCK judge "$B" pass --as lee
expect 2 "'all' is not an item" $AIRLOCK judge "$B" all pass --as lee
expect 2 "an item listed twice is refused" $AIRLOCK judge "$B" "$DRAWN" "$DRAWN" pass --as lee
same "... and nothing was recorded" "$(sql "SELECT count(*) FROM batch_item WHERE batch_id=$B AND verdict IS NOT NULL")" 0
set -- $(sql "SELECT idx FROM batch_item WHERE batch_id=$B AND sampled=1 ORDER BY idx LIMIT 3")
LOGS=$(sql "SELECT count(*) FROM action_log")
expect 0 "three verdicts in one command" $AIRLOCK judge "$B" "$1" "$2" "$3" pass --as lee
same "three items have verdicts" "$(sql "SELECT count(*) FROM batch_item WHERE batch_id=$B AND verdict='pass'")" 3
same "... each logged as its own act" "$(($(sql "SELECT count(*) FROM action_log") - LOGS))" 3
has "... and the rest is counted" "$T/out" "$((N - 3)) sampled item\(s\) still to judge"
REST=$(sql "SELECT idx FROM batch_item WHERE batch_id=$B AND sampled=1 AND verdict IS NULL ORDER BY idx")
# shellcheck disable=SC2086
expect 0 "the rest pass, listed" $AIRLOCK judge "$B" $REST pass --as lee
has "the last verdict approves" "$T/out" "every sampled item passed"
same "every drawn item judged by its own log entry" "$(sql "SELECT count(*) FROM action_log WHERE batch_id='$B' AND tool='judge'")" "$N"

# a merge says what moves with it
printf '{"workflow":"merge","survivor_id":"A0119","merged_ids":["A0120"],"rationale":"duplicates"}' >"$T/m.json"
expect 0 "a merge is proposed" $AIRLOCK propose "$T/m.json" --tool propose_merge --as agent:scout
BM=$(sql "SELECT max(id) FROM batch")
expect 0 "show the merge" $AIRLOCK show "$BM"
has "the contacts and signals that move are counted" "$T/out" "merges 1 account\(s\) into 1 survivor\(s\): 2 contact\(s\) and 0 signal\(s\) move"

# a notification carries the summary (what, how many, radius, the worst
# flag) and the deep link; the agent's text in it stays plain text
cp "$AIRLOCK_POLICY" "$T/hook.yaml"
printf 'notify:\n  webhook: http://127.0.0.1:9/hook\n  console_url: http://console.example:8750/\n' >>"$T/hook.yaml"
python3 -c "import json; print(json.dumps({'workflow':'retier','scope':'region=EMEA','rationale':'r','items':[{'record_id':'A%04d'%i,'field':'tier','value':1,'reason':'hiring <!channel>'} for i in range(30,32)]}))" >"$T/p3.json"
expect 0 "a batch under a policy with a webhook" $AIRLOCK propose "$T/p3.json" --as agent:scout --policy "$T/hook.yaml"
B3=$(sql "SELECT max(id) FROM batch")
sql "SELECT text || ' @ ' || url FROM notify WHERE ref LIKE 'batch:$B3:%'" >"$T/note"
has "the notification says what the batch does" "$T/note" "batch $B3 .*2 record\(s\): tier 4 → 1 ×2; radius 2"
has "... and its worst flag" "$T/note" "worst: 2 item\(s\) give a reason the evidence does not support"
has "... with the deep link to the batch" "$T/note" "@ /b/$B3$"
