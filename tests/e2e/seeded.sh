# seeded.sh — seeded checks inside sample and judge (issue 21), from the
# attacker's side: a reviewer (or an agent reading what it may read) trying
# to tell the planted item from the real ones before judging it; a sample
# that would approve itself with its check unjudged; a reviewer who passed
# a check approving the batch anyway; a planted item reaching apply or
# export. The check: shown in the slot of one drawn item until judged,
# revealed after, recorded in the reviewer's reliability.
. "$(dirname "$0")/lib.sh"

# one seeded check in every sample (check_every: 1), on every workflow
sed 's/^    defect_rate: 0.05 .*/&\n    check_every: 1/' "$AIRLOCK_POLICY" >"$T/p.yaml"
export AIRLOCK_POLICY="$T/p.yaml"
expect 0 "a policy with check_every checks" $AIRLOCK policy check
printf 'version: 1\nworkflows:\n  retier:\n    effect: write\n    tools: [propose_changes]\n    reversible: true\n    stage_max: 10\n    fields: [tier]\n    sampling:\n      check_every: -1\n' >"$T/bad.yaml"
expect 1 "a negative check_every is refused" $AIRLOCK policy check "$T/bad.yaml"
has "... naming the key" "$T/out" "check_every"
$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<500)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)
 SELECT 'A'||substr(CAST(10000+i AS TEXT),2),'Company '||i,'mid-market','EMEA',3,'prospect','2026-11-01T00:00:00Z' FROM n" >/dev/null
sql " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<500)
 INSERT INTO signal(id,account_id,kind,observed_at,updated_at)
 SELECT 'S'||substr(CAST(10000+i AS TEXT),2),'A'||substr(CAST(10000+i AS TEXT),2),'intent','2026-11-20','2026-11-20T00:00:00Z' FROM n" >/dev/null
items() { # items FIRST LAST VALUE: re-tiers citing each account's own signal
	python3 -c "import json,sys; f,l,v=map(int,sys.argv[1:]); print(json.dumps({'workflow':'retier','scope':'region=EMEA','rationale':'t','items':[{'record_id':'A%04d'%i,'field':'tier','value':v,'reason':'intent surge at A%04d'%i,'evidence':['S%04d'%i]} for i in range(f,l+1)]}))" "$@"
}
j() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# new_batch FIRST LAST: proposes, samples as maria; sets B, SLOT
new_batch() {
	items "$1" "$2" 2 >"$T/p.json"
	$AIRLOCK propose "$T/p.json" --as agent:scout >/dev/null 2>&1
	B=$(sql "SELECT max(id) FROM batch")
	$AIRLOCK sample "$B" --as maria --json >"$T/sample.json" 2>"$T/err" || echo "sample failed: $(cat "$T/err")"
	SLOT=$(sql "SELECT slot FROM seeded_check WHERE batch_id=$B")
}
# real_items B: the drawn items that are not the check's slot
real_items() { sql "SELECT idx FROM batch_item WHERE batch_id=$1 AND sampled=1"; }

# --- the reviewer's and the agent's side: nothing tells the check apart ---
new_batch 1 60
N=60
PLAN=$(sql "SELECT count(*) FROM batch_item WHERE batch_id=$B AND sampled=1")
same "a check was planted in the sample" "$(sql "SELECT count(*) FROM seeded_check WHERE batch_id=$B")" 1
same "... in the slot of a drawn item" \
	"$(j "$T/sample.json" "$SLOT in d['items'] and d['n']==len(d['items'])==$PLAN+1")" True
expect 0 "the drawn items follow from the public seed, slot included" $AIRLOCK sample "$B" --check
same "... so the seed cannot single it out" "$(j "$T/sample.json" "len(set(d['items']))")" "$((PLAN + 1))"
expect 0 "the reviewer's view of the batch" $AIRLOCK show "$B" --json
cp "$T/out" "$T/show.json"
same "... shows the slot with the check's change, reasons and evidence" \
	"$(j "$T/show.json" "[ (i['changes'],i['reasons'],i['evidence']) for i in d['item_list'] if i['idx']==$SLOT][0]")" \
	"$(sql "SELECT item FROM seeded_check WHERE batch_id=$B" | python3 -c "import json,sys; c=json.load(sys.stdin); print((c['changes'],c['reasons'],c['evidence']))")"
same "... every item with the same keys" \
	"$(j "$T/show.json" "len(set(tuple(sorted(i)) for i in d['item_list']))")" 1
same "... the slot's record and before-image are its real item's" \
	"$(j "$T/show.json" "[(i['record_id'],i['before']['tier']) for i in d['item_list'] if i['idx']==$SLOT][0]")" \
	"('$(sql "SELECT record_id FROM batch_item WHERE batch_id=$B AND idx=$SLOT")', 3)"
hasnt "... and nothing in it says check, seed of the check, kind or base" "$T/show.json" \
	'seeded|based_on|evidence_of_another|change_contradicts|"kind"'
expect 0 "the text view" $AIRLOCK show "$B" --limit 0
has "... marks the slot as drawn like the others" "$T/out" "^  #$SLOT ★drawn ~ account"
expect 0 "the batch's log, which anyone reviewing may read" $AIRLOCK log --batch "$B" --json
hasnt "... says nothing of the check" "$T/out" 'seeded|based_on|evidence_of_another|change_contradicts'
# the agent polls its batch: what it may read tells it nothing either
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}' \
	'{"jsonrpc":"2.0","method":"notifications/initialized"}' \
	"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"batch_status\",\"arguments\":{\"batch_id\":\"$B\"}}}" >"$T/mcp.in"
$AIRLOCK mcp --connector read --agent scout <"$T/mcp.in" >"$T/mcp.out" 2>"$T/mcp.err"
has "the agent's batch_status answers" "$T/mcp.out" '"id":2,"result"'
hasnt "... with nothing of the check in it" "$T/mcp.out" 'seeded|based_on|evidence_of_another|change_contradicts'
same "the batch still holds its 60 items and radius" \
	"$(sql "SELECT items||' '||radius||' '||(SELECT count(*) FROM batch_item WHERE batch_id=$B) FROM batch WHERE id=$B")" \
	"60 60 60"
same "... and the agent's running total its 60 records" \
	"$(sql "SELECT records FROM radius_total WHERE principal='agent:scout'")" 60

# --- the sample waits for its check ---
for i in $(real_items "$B"); do $AIRLOCK judge "$B" "$i" pass --as maria >/dev/null 2>&1; done
same "every real item passed, the check unjudged: still sampled" \
	"$(sql "SELECT state FROM batch WHERE id=$B")" sampled
expect 1 "a plain approve refuses the unfinished sample" $AIRLOCK approve "$B" --as lee
has "... counting the check among the drawn items" "$T/err" "$PLAN of $((PLAN + 1)) drawn item"
expect 0 "the reviewer fails the slot's item" $AIRLOCK judge "$B" "$SLOT" fail --as maria --json
same "... which approves the batch: a caught check fails nothing" "$(j "$T/out" "d['state']")" approved
same "... and reveals it" "$(j "$T/out" "(d['seeded_check']['caught'], d['seeded_check']['note'][:35])")" \
	"(True, 'this was a seeded check, and it was')"
same "maria's record: one seen, one caught" \
	"$(sql "SELECT seen||' '||caught||' '||missed FROM reviewer_check WHERE reviewer='human:maria'")" "1 1 0"
expect 0 "after judging, show reveals the check beside the real item" $AIRLOCK show "$B" --json
same "... the slot shows its real change again" \
	"$(j "$T/out" "([i['changes'] for i in d['item_list'] if i['idx']==$SLOT][0], d['seeded_check']['slot'])")" \
	"({'tier': 2}, $SLOT)"
expect 0 "apply" $AIRLOCK apply "$B" --as maria --json
same "... applies the 60 real items, never the check" "$(j "$T/out" "d['applied']")" 60
same "... the book holds exactly what the agent proposed" \
	"$(sql "SELECT count(*) FROM account WHERE id BETWEEN 'A0001' AND 'A0060' AND tier=2")" 60

# --- a rubber stamp: the check passed blocks the batch for a second reviewer ---
BEFORE=$(sql "SELECT state FROM autonomy WHERE workflow='retier'")
new_batch 61 120
ALL=$(sql "SELECT idx FROM batch_item WHERE batch_id=$B AND sampled=1 UNION SELECT $SLOT" | tr '\n' ' ')
expect 0 "lee passes every drawn item, the check too" $AIRLOCK judge "$B" $ALL pass --as lee
has "... and is told it was a check he passed" "$T/out" "this was a seeded check and it was passed"
has "... and that a second reviewer decides" "$T/out" "a seeded check was passed: a second reviewer decides"
same "the batch is blocked, not approved" "$(sql "SELECT state FROM batch WHERE id=$B")" blocked
same "lee's record: one seen, one missed" \
	"$(sql "SELECT seen||' '||caught||' '||missed FROM reviewer_check WHERE reviewer='human:lee'")" "1 0 1"
same "his passes did not become the workflow's evidence" \
	"$(sql "SELECT state FROM autonomy WHERE workflow='retier'")" "$BEFORE"
expect 1 "lee cannot approve the batch himself" $AIRLOCK approve "$B" --as lee
has "... a second reviewer decides" "$T/err" "second reviewer decides"
expect 1 "... nor apply it" $AIRLOCK apply "$B" --as lee
expect 0 "a second reviewer approves it plainly" $AIRLOCK approve "$B" --as maria
expect 0 "... and it applies its 60 real items" $AIRLOCK apply "$B" --as maria --json
same "... 60 applied" "$(j "$T/out" "d['applied']")" 60

# --- a real item fails first: the check is revealed unjudged ---
new_batch 121 180
R=$(real_items "$B" | head -1)
expect 0 "a real item fails" $AIRLOCK judge "$B" "$R" fail --as maria
same "... the batch is blocked at once" "$(sql "SELECT state FROM batch WHERE id=$B")" blocked
expect 1 "the slot can no longer be judged" $AIRLOCK judge "$B" "$SLOT" fail --as maria
expect 0 "show" $AIRLOCK show "$B" --json
same "... reveals the check as never judged" \
	"$(j "$T/out" "(d['seeded_check']['verdict'], 'never judged' in d['seeded_check']['note'])")" "(None, True)"
same "no reliability record moved for it" \
	"$(sql "SELECT seen FROM reviewer_check WHERE reviewer='human:maria'")" 1

# --- property: over random batches, verdicts and overrides, a planted item
# never reaches apply or export ---
python3 - "$T" <<'EOF' >"$T/plan.txt"
import random
random.seed(21)
lo = 181
for k in range(6):
    n = random.randint(25, 36)
    print(lo, lo + n - 1, random.choice(["catch", "miss", "override"]))
    lo += n
EOF
while read -r F L HOW; do
	new_batch "$F" "$L"
	[ -n "$SLOT" ] || { notok "batch $B got a check"; continue; }
	REAL=$(real_items "$B" | tr '\n' ' ')
	case $HOW in
	catch) $AIRLOCK judge "$B" $REAL pass --as maria >/dev/null 2>&1
		$AIRLOCK judge "$B" "$SLOT" fail --as maria >/dev/null 2>&1 ;;
	miss) $AIRLOCK judge "$B" $REAL "$SLOT" pass --as lee >/dev/null 2>&1
		$AIRLOCK approve "$B" --as maria >/dev/null 2>&1 ;;
	override) $AIRLOCK approve "$B" --override --reason "read it all in the CRM" --as maria >/dev/null 2>&1 ;;
	esac
	$AIRLOCK apply "$B" --as maria --json >"$T/apply.json" 2>"$T/apply.err" || echo "# apply $B: $(cat "$T/apply.err") state $(sql "SELECT state FROM batch WHERE id=$B")"
	same "batch $B ($HOW): approved and applied with exactly its $((L - F + 1)) items" \
		"$(j "$T/apply.json" "d['applied']")" "$((L - F + 1))"
done <"$T/plan.txt"
same "every account of the batches holds the proposed tier: no planted change" \
	"$(sql "SELECT count(*) FROM account WHERE tier<>2 AND id IN (SELECT record_id FROM batch_item WHERE batch_id IN (SELECT id FROM batch WHERE state='applied'))")" 0
expect 0 "export of the changes" $AIRLOCK export changes -o "$T/exp"
cat "$T"/exp/* >"$T/exp.all" 2>/dev/null
hasnt "... carries nothing of a check" "$T/exp.all" 'seeded|based_on|evidence_of_another|change_contradicts'
same "... one row per account the applied batches changed, no more" \
	"$(python3 -c "import csv,sys; print(len(list(csv.DictReader(open(sys.argv[1])))))" "$T/exp/accounts.csv")" \
	"$(sql "SELECT count(DISTINCT record_id) FROM batch_item WHERE batch_id IN (SELECT id FROM batch WHERE state='applied')")"

# --- check_every 2: every second sample of a workflow carries one ---
sed 's/check_every: 1/check_every: 2/' "$T/p.yaml" >"$T/p2.yaml"
export AIRLOCK_POLICY="$T/p2.yaml"
NTH=$(sql "SELECT count(*) FROM batch WHERE workflow='retier' AND sample IS NOT NULL")
new_batch 420 479
C1=$(sql "SELECT count(*) FROM seeded_check WHERE batch_id=$B")
same "check_every 2: sample $((NTH + 1)) has $(( (NTH + 1) % 2 == 0 ? 1 : 0 )) check(s)" "$C1" "$(( (NTH + 1) % 2 == 0 ? 1 : 0 ))"

echo "1..$TN"
