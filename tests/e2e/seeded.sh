# seeded.sh — seeded checks inside sample and judge (issue 21), from the
# attacker's side: a reviewer (or an agent reading what it may read) trying
# to tell the planted item from the real ones before judging it; a sample
# that would approve itself with its check unjudged; a reviewer who passed
# a check approving the batch anyway; a planted item reaching apply or
# export. The check: shown in the slot of one drawn item until judged,
# revealed after, recorded in the reviewer's reliability.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console.inc"
trap 'console_stop; rm -rf "$T"' EXIT

# one seeded check in every sample (check_every: 1), on every workflow
sed 's/^    defect_rate: 0.05 .*/&\n    check_every: 1/' "$AIRLOCK_POLICY" >"$T/p.yaml"
export AIRLOCK_POLICY="$T/p.yaml"
expect 0 "a policy with check_every checks" $AIRLOCK policy check
printf 'version: 1\nworkflows:\n  retier:\n    effect: write\n    tools: [propose_changes]\n    reversible: true\n    stage_max: 10\n    fields: [tier]\n    sampling:\n      check_every: -1\n' >"$T/bad.yaml"
expect 1 "a negative check_every is refused" $AIRLOCK policy check "$T/bad.yaml"
has "... naming the key" "$T/out" "check_every"
$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<600)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)
 SELECT 'A'||substr(CAST(10000+i AS TEXT),2),'Company '||i,'mid-market','EMEA',3,'prospect','2026-11-01T00:00:00Z' FROM n" >/dev/null
sql " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<600)
 INSERT INTO signal(id,account_id,kind,observed_at,updated_at)
 SELECT 'S'||substr(CAST(10000+i AS TEXT),2),'A'||substr(CAST(10000+i AS TEXT),2),'intent','2026-11-20','2026-11-20T00:00:00Z' FROM n" >/dev/null
# each record also has an old signal (older than evidence_max_age) and every
# second one news of layoffs: what a check may cite of the record's own
sql " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<600)
 INSERT INTO signal(id,account_id,kind,observed_at,detail,updated_at)
 SELECT 'O'||substr(CAST(10000+i AS TEXT),2),'A'||substr(CAST(10000+i AS TEXT),2),'intent','2025-12-01','visited the pricing page','2025-12-01T00:00:00Z' FROM n" >/dev/null
sql " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<600)
 INSERT INTO signal(id,account_id,kind,observed_at,detail,updated_at)
 SELECT 'L'||substr(CAST(10000+i AS TEXT),2),'A'||substr(CAST(10000+i AS TEXT),2),'news','2026-11-25','announced layoffs of about 12% of staff','2026-11-25T00:00:00Z' FROM n WHERE i%2=0" >/dev/null
items() { # items FIRST LAST VALUE: re-tiers citing each account's own signal
	python3 -c "import json,sys; f,l,v=map(int,sys.argv[1:]); print(json.dumps({'workflow':'retier','scope':'region=EMEA','rationale':'t','items':[{'record_id':'A%04d'%i,'field':'tier','value':v,'reason':'intent surge at A%04d'%i,'evidence':['S%04d'%i]} for i in range(f,l+1)]}))" "$@"
}
# what would name a check: the table, its base, its kinds
TELL='seeded|based_on|contradicting_evidence|unsupported_reason|stale_evidence|evidence_of_another|change_contradicts'
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
	"$TELL|\"kind\""
expect 0 "the text view" $AIRLOCK show "$B" --limit 0
has "... marks the slot as drawn like the others" "$T/out" "^  #$SLOT ★drawn ~ account"
expect 0 "the batch's log, which anyone reviewing may read" $AIRLOCK log --batch "$B" --json
hasnt "... says nothing of the check" "$T/out" "$TELL"
# the agent polls its batch: what it may read tells it nothing either
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}' \
	'{"jsonrpc":"2.0","method":"notifications/initialized"}' \
	"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"batch_status\",\"arguments\":{\"batch_id\":\"$B\"}}}" >"$T/mcp.in"
$AIRLOCK mcp --connector read --agent scout <"$T/mcp.in" >"$T/mcp.out" 2>"$T/mcp.err"
has "the agent's batch_status answers" "$T/mcp.out" '"id":2,"result"'
hasnt "... with nothing of the check in it" "$T/mcp.out" "$TELL"
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
hasnt "... carries nothing of a check" "$T/exp.all" "$TELL"
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

# --- a reviewer who has learnt what checks used to look like ("tier 3 → 3",
# evidence of another account) compares a seeded sample with one where the
# agent really made the same mistake: nothing but the item's content says
# which is which ---
# the console's view too: a reviewer, rita, reads the batch page's JSON
# (with a reviewer in the book, the CLI acts as the one signed in: rita)
export AIRLOCK_POLICY="$T/p.yaml"
echo rita-password | $AIRLOCK reviewer add rita --role admin --password-stdin >/dev/null 2>&1
echo rita-password | $AIRLOCK login rita >/dev/null 2>&1 || notok "rita signs in on the command line"
console_serve || notok "serve starts" "$(cat "$T/serve.log")"
curl -s -o /dev/null -c "$T/rita" -H 'Content-Type: application/json' \
	--data '{"name":"rita","password":"rita-password"}' "$BASE/login"
items 500 559 2 >"$T/p.json"
$AIRLOCK propose "$T/p.json" --as agent:scout >/dev/null 2>&1
B1=$(sql "SELECT max(id) FROM batch")
$AIRLOCK show "$B1" --json >"$T/pre.json"
$AIRLOCK sample "$B1" --json >"$T/s1.json" 2>/dev/null
SLOT=$(sql "SELECT slot FROM seeded_check WHERE batch_id=$B1")
sql "SELECT item FROM seeded_check WHERE batch_id=$B1" >"$T/check.json"
$AIRLOCK show "$B1" --json >"$T/seeded.json"
$AIRLOCK show "$B1" --limit 0 >"$T/seeded.txt"
curl -s -b "$T/rita" "$BASE/api/batches/$B1" >"$T/seeded.api.json"
same "the check keeps its item's change: the summary of moves is the one before the sample" \
	"$(j "$T/seeded.json" "(d['summary']['moves'], d['summary']['lines'][0])")" \
	"$(j "$T/pre.json" "(d['summary']['moves'], d['summary']['lines'][0])")"
same "... and cites only signals of the slot's own record" \
	"$(j "$T/check.json" "sorted(set(e[1:] for e in d['evidence']))")" "['$(printf %04d $((499 + SLOT)))']"
expect 0 "reject it (its records are free again)" $AIRLOCK reject "$B1" --reason "probe"
# the twin: the agent proposes the check's content for real
python3 - "$T/p.json" "$T/check.json" "$SLOT" >"$T/twin.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); c = json.load(open(sys.argv[2])); slot = int(sys.argv[3])
it = p['items'][slot - 1]
assert it['record_id'] == c['record_id']
it['reason'] = c['reasons'][0]; it['evidence'] = c['evidence']
print(json.dumps(p))
PY
sed 's/check_every: 1/check_every: 1000/' "$T/p.yaml" >"$T/p1000.yaml"
AIRLOCK_POLICY="$T/p1000.yaml" expect 0 "the gate lets the check's content through as a real proposal" \
	$AIRLOCK propose "$T/twin.json" --as agent:scout
B2=$(sql "SELECT max(id) FROM batch")
same "... staged like the first" "$(sql "SELECT state FROM batch WHERE id=$B2")" staged
AIRLOCK_POLICY="$T/p1000.yaml" $AIRLOCK sample "$B2" --json >"$T/s2.json" 2>/dev/null
same "a sample with checks on but none due has no check" "$(sql "SELECT count(*) FROM seeded_check WHERE batch_id=$B2")" 0
same "... and the same size and statement as the seeded one" \
	"$(j "$T/s2.json" "(d['n'], d['statement'])")" "$(j "$T/s1.json" "(d['n'], d['statement'])")"
AIRLOCK_POLICY="$T/p1000.yaml" $AIRLOCK show "$B2" --json >"$T/twin_show.json"
AIRLOCK_POLICY="$T/p1000.yaml" $AIRLOCK show "$B2" --limit 0 >"$T/twin.txt"
curl -s -b "$T/rita" "$BASE/api/batches/$B2" >"$T/twin.api.json"
norm() { # the show JSON without what names the batch or its draw
	python3 - "$1" "$2" <<'PY'
import json, sys, re
d = json.load(open(sys.argv[1])); slot = int(sys.argv[2])
for k in ('id', 'created_at', 'updated_at', 'expires_at', 'sample', 'sampled_at', 'sampled_by', 'state', 'policy_digest'):
    d.pop(k, None)
s = d.get('summary', {}); s.pop('batch_id', None)
items = d.pop('item_list')
d = re.sub(r'batch \d+', 'batch B', json.dumps(d, sort_keys=True, indent=0))
print(d)
print(json.dumps([{k: v for k, v in i.items() if k not in ('batch_id',)} for i in items], sort_keys=True, indent=0))
PY
}
norm "$T/seeded.json" "$SLOT" >"$T/n1"
norm "$T/twin_show.json" "$SLOT" >"$T/n2"
same "the seeded batch and its twin read the same: summary, counts, items, slot included" \
	"$(diff "$T/n1" "$T/n2" >/dev/null && echo same || diff "$T/n1" "$T/n2" | head -c 600)" same
apinorm() { # the console's batch JSON (what its page draws) without what names the batch
	python3 - "$1" "$2" <<'PY'
import json, sys, re
d = json.load(open(sys.argv[1])); slot = int(sys.argv[2])
for k in ('id', 'created_at', 'updated_at', 'expires_at', 'sample', 'sampled_at', 'sampled_by', 'state',
          'policy_digest', 'verbs', 'age_seconds', 'expires_in'):
    d.pop(k, None)
d.get('summary', {}).pop('batch_id', None)
items = d.pop('item_list', [])
print(re.sub(r'batch \d+', 'batch B', json.dumps(d, sort_keys=True, indent=0)))
print(json.dumps([{k: v for k, v in i.items() if k not in ('batch_id',)} for i in items], sort_keys=True, indent=0))
slot_item = [i for i in items if i.get('idx') == slot]
print('slot', json.dumps(slot_item, sort_keys=True))
PY
}
same "the console's page reads the same for both: summary, items, the slot's evidence texts" \
	"$(apinorm "$T/seeded.api.json" "$SLOT" >"$T/a1"; apinorm "$T/twin.api.json" "$SLOT" >"$T/a2"; grep -q '"item_list"\|slot \[{' "$T/a1" && diff "$T/a1" "$T/a2" >/dev/null && echo same || diff "$T/a1" "$T/a2" | head -c 800)" same
# (whether the twin's draw took that item too is chance: the mark is left out)
same "... and the text view of the slot's item is the same" \
	"$(awk -v s="  #$SLOT " 'index($0,s)==1{p=1;print;next} /^  #/{p=0} p' "$T/seeded.txt" | sed 's/★drawn //')" \
	"$(awk -v s="  #$SLOT " 'index($0,s)==1{p=1;print;next} /^  #/{p=0} p' "$T/twin.txt" | sed 's/★drawn //')"

console_stop
hasnt "serve stopped with no sanitizer report" "$T/serve.log" "ERROR: (Address|Leak)Sanitizer|runtime error"
echo "1..$TN"
