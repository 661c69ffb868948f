# replay.sh — policy replay (issue 21): a known history of proposals,
# decided again. The policy that decided it reproduces every logged
# decision (a replay that diverged from the gate fails here); a candidate
# with a smaller stage_max, a narrower allow-list, unattended re-tiers or
# a lower max_pending_batches changes exactly the decisions it should;
# nothing is written but one log entry; a candidate that does not load is
# refused and logs nothing.
. "$(dirname "$0")/lib.sh"

# max_pending_batches 4: the fifth waiting batch of one agent is refused
sed 's/^  max_pending_batches: 20 /  max_pending_batches: 4 /' "$AIRLOCK_POLICY" >"$T/p.yaml"
export AIRLOCK_POLICY="$T/p.yaml"
expect 0 "the policy in force checks" $AIRLOCK policy check
$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<400)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,owner,updated_at)
 SELECT 'A'||substr(CAST(10000+i AS TEXT),2),'Company '||i,'mid-market','EMEA',3,'prospect','ann','2026-11-01T00:00:00Z' FROM n" >/dev/null
items() { # items WORKFLOW FIELD FIRST LAST VALUE
	python3 -c "import json,sys; w,fl=sys.argv[1:3]; f,l=map(int,sys.argv[3:5]); v=sys.argv[5]; v=int(v) if v.isdigit() else v; print(json.dumps({'workflow':w,'scope':'region=EMEA','rationale':'t','items':[{'record_id':'A%04d'%i,'field':fl,'value':v,'reason':'r'} for i in range(f,l+1)]}))" "$@"
}
propose() { # propose WHO FILE: the gate's decision
	$AIRLOCK propose "$2" --as "$1" --json >"$T/g" 2>&1
	python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['decision'])" "$T/g" 2>/dev/null || echo "error: $(cat "$T/g")"
}
# the history: agent scout
items retier tier 1 30 2 >"$T/h1.json"         # 30 re-tiers: staged
items retier tier 31 280 2 >"$T/h2.json"       # 250 > stage_max 200: blocked
items field_update owner 281 290 bob >"$T/h3.json" # 10 owner changes: staged
items retier tier 291 291 3 >"$T/h4.json"      # tier is 3 already: every item refused
items retier tier 292 300 1 >"$T/h5.json"      # running total 289 > 200: blocked
items retier tier 301 305 1 >"$T/h6.json"      # a fifth waiting batch: past max_pending_batches
D="$(propose agent:scout "$T/h1.json") $(propose agent:scout "$T/h2.json") $(propose agent:scout "$T/h3.json")"
D="$D $(propose agent:scout "$T/h4.json") $(propose agent:scout "$T/h5.json")"
D="$D $(propose agent:scout "$T/h6.json")"
# another agent, its own running totals
items retier tier 306 330 4 >"$T/h7.json"      # 25: staged
D="$D $(propose agent:other "$T/h7.json")"
same "the history as the gate decided it" "$D" "staged blocked staged refused blocked refused staged"
same "every decision has its snapshot, as logged" \
	"$(sql "SELECT group_concat(g.decision,' ') FROM gate_snapshot g JOIN action_log l ON l.seq=g.seq AND l.decision=g.decision ORDER BY g.seq")" \
	"$D"

BEFORE=$(sql "SELECT count(*) FROM action_log")
DUMP=$(sql ".dump batch batch_item radius_hold radius_total autonomy gate_snapshot" >/dev/null | md5sum)
expect 0 "replay of the policy in force" $AIRLOCK policy replay "$T/p.yaml" --json
cp "$T/out" "$T/same.json"
j() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
same "... replays all 7 proposals" "$(j "$T/same.json" "d['proposals']")" 7
same "... and reproduces every logged decision" "$(j "$T/same.json" "d['changed'],d['changes']")" "(0, {})"
same "... old and new decisions agree" \
	"$(j "$T/same.json" "d['decisions']['old']==d['decisions']['new']")" True
same "... old count: 3 staged, 2 blocked, 2 refused" \
	"$(j "$T/same.json" "sorted(d['decisions']['old'].items())")" \
	"[('allowed', 0), ('blocked', 2), ('refused', 2), ('staged', 3)]"
same "... the running radius of the queued proposals (30, 280, 10, 289, 25)" \
	"$(j "$T/same.json" "d['radius']['old']")" \
	"{'n': 5, 'p50': 30, 'p90': 289, 'p99': 289, 'max': 289}"
same "replay wrote one log entry and nothing else" "$(sql "SELECT count(*) FROM action_log")" $((BEFORE + 1))
same "... which says a replay ran" "$(sql "SELECT tool||' '||principal FROM action_log ORDER BY seq DESC LIMIT 1")" \
	"policy replay human:$(id -un)"
same "... batches, radius holds, autonomy and snapshots are untouched" \
	"$(sql ".dump batch batch_item radius_hold radius_total autonomy gate_snapshot" >/dev/null | md5sum)" "$DUMP"

# a smaller stage_max: the 30 re-tiers and agent:other's 25 are blocked
sed 's/^    stage_max: 200 .*/    stage_max: 20/' "$T/p.yaml" >"$T/small.yaml"
expect 0 "replay with stage_max 20 for retier" $AIRLOCK policy replay "$T/small.yaml" --json
same "... two re-tiers staged before are blocked now" "$(j "$T/out" "d['changes']")" \
	"{'staged->blocked': 2}"
same "... the examples name them" "$(j "$T/out" "[(e['seq'],e['old'],e['new'],e['radius_new']) for e in d['examples']]")" \
	"$(sql "SELECT '['||group_concat('('||seq||', ''staged'', ''blocked'', '||radius||')',', ')||']' FROM gate_snapshot WHERE workflow='retier' AND decision='staged' ORDER BY seq")"
same "... the reviewers approve 2 more batches, judge fewer items" \
	"$(j "$T/out" "(d['load']['new']['batches_to_approve']-d['load']['old']['batches_to_approve'], d['load']['new']['items_to_judge']<d['load']['old']['items_to_judge'])")" \
	"(2, True)"
expect 0 "the text report" $AIRLOCK policy replay "$T/small.yaml"
has "... says how many changed" "$T/out" "^policy replay: 7 proposals, 2 decided differently"
has "... counts the change" "$T/out" "staged->blocked: 2"
has "... and shows old and new side by side" "$T/out" "^old  staged +3 +blocked +2 .*per day"
has "... the new one with two more blocked" "$T/out" "^new  staged +1 +blocked +4 .*per day"

# retier may no longer write tier: every re-tier is refused
sed 's/^    fields: \[tier\] .*/    fields: [owner]/' "$T/p.yaml" >"$T/notier.yaml"
expect 0 "replay with tier out of retier's fields" $AIRLOCK policy replay "$T/notier.yaml" --json
same "... every re-tier that was queued is refused; the owner changes stay staged" \
	"$(j "$T/out" "sorted(d['changes'].items())")" \
	"[('blocked->refused', 2), ('staged->refused', 2)]"

# the cap lifted: the fifth waiting batch is queued (blocked: its running total is 294)
sed 's/^  max_pending_batches: 4 /  max_pending_batches: 20 /' "$T/p.yaml" >"$T/cap.yaml"
expect 0 "replay with max_pending_batches 20" $AIRLOCK policy replay "$T/cap.yaml" --json
same "... the proposal refused past the cap is blocked for a person" "$(j "$T/out" "d['changes']")" \
	"{'refused->blocked': 1}"

# unattended re-tiers up to 50: the small ones would have applied unattended
python3 - "$T/p.yaml" "$T/unatt.yaml" <<'EOF'
import sys
out = []
for line in open(sys.argv[1]):
    out.append(line)
    if line.startswith('    stage_max: 200'):
        out.append('    unattended: true\n    unattended_max: 50\n')
open(sys.argv[2], 'w').write(''.join(out))
EOF
expect 0 "replay with unattended re-tiers up to 50" $AIRLOCK policy replay "$T/unatt.yaml" --json
same "... every re-tier of at most 50 becomes allowed, capped or not" \
	"$(j "$T/out" "sorted(d['changes'].items())")" \
	"[('blocked->allowed', 1), ('refused->allowed', 1), ('staged->allowed', 2)]"
# the workflow gone: its proposals are refused
python3 - "$T/p.yaml" "$T/nofu.yaml" <<'EOF'
import sys, re
s = open(sys.argv[1]).read()
s = re.sub(r'\n  field_update:\n(    .*\n)+', '\n', s)
open(sys.argv[2], 'w').write(s)
EOF
expect 0 "replay without the field_update workflow" $AIRLOCK policy replay "$T/nofu.yaml" --json
same "... its proposal is refused" "$(j "$T/out" "(d['changes']['staged->refused'], d['examples'][0]['why'])")" \
	"(1, 'the candidate has no workflow that takes this call')"
# re-simulated: without the owner changes waiting, scout had 3 batches
# waiting, not 4, when the fifth came: it is no longer past the cap
same "... so the batch refused past the cap would have been queued (blocked: 294 records)" \
	"$(j "$T/out" "sorted(d['changes'].items())")" "[('refused->blocked', 1), ('staged->refused', 1)]"
same "... and it would still wait at the end, the owner changes not" \
	"$(j "$T/out" "(d['waiting']['old']['batches'], d['waiting']['new']['batches'], sorted(d['waiting']['changes'].items()))")" \
	"(5, 5, [('none->blocked', 1), ('staged->none', 1)])"

# --- the batches still waiting at the end, decided again ---
W=$(sql "SELECT count(*) FROM batch WHERE state IN ('staged','sampled','blocked')")
same "the history leaves 5 batches waiting (3 staged, 2 blocked)" "$W" 5
same "the policy in force: the same 5 wait, the same items to judge" \
	"$(j "$T/same.json" "(d['waiting']['old']==d['waiting']['new'], d['waiting']['old']['batches'], d['waiting']['old']['staged'], d['waiting']['changes'])")" \
	"(True, 5, 3, {})"
expect 0 "stage_max 20 for retier" $AIRLOCK policy replay "$T/small.yaml" --json
same "... the 2 waiting re-tiers staged are blocked now" \
	"$(j "$T/out" "(d['waiting']['changes'], d['waiting']['new']['staged'], d['waiting']['new']['blocked'])")" \
	"({'staged->blocked': 2}, 1, 4)"
same "... people would judge only the owner changes' sample (10 records) instead of three samples" \
	"$(j "$T/out" "(d['waiting']['new']['items_to_judge'], d['waiting']['old']['items_to_judge'] > d['waiting']['new']['items_to_judge'])")" \
	"(10, True)"
expect 0 "the text report says so" $AIRLOCK policy replay "$T/small.yaml"
has "... for the batches still waiting" "$T/out" "^waiting at the end: old 5 batches \(3 staged, 2 blocked\), [0-9]+ items to judge; new 5 batches \(1 staged, 4 blocked\), 10 items to judge"
# a person rejects the owner changes; scout proposes twice more
expect 0 "the owner changes are rejected" $AIRLOCK reject "$(sql "SELECT id FROM batch WHERE workflow='field_update'")" --reason "not now" --as maria
items retier tier 331 335 1 >"$T/h8.json"   # 3 waiting before it: blocked (294+5)
items retier tier 336 340 1 >"$T/h9.json"   # 4 waiting: past the cap
same "two more proposals" "$(propose agent:scout "$T/h8.json") $(propose agent:scout "$T/h9.json")" "blocked refused"
expect 0 "the policy in force still reproduces every decision" $AIRLOCK policy replay "$T/p.yaml" --json
same "... all 9, none changed" "$(j "$T/out" "(d['proposals'], d['changed'], d['waiting']['changes'])")" "(9, 0, {})"
# without field_update: the owner changes stop counting only while they
# waited (until the rejection); the fifth batch, queued in that world, waits
# on: the next proposal meets 4 waiting and is past the cap
expect 0 "replay without field_update again" $AIRLOCK policy replay "$T/nofu.yaml" --json
same "... the rejected batch's difference ended at its rejection; the new-only batch still counts" \
	"$(j "$T/out" "sorted(d['changes'].items())")" \
	"[('blocked->refused', 1), ('refused->blocked', 1), ('staged->refused', 1)]"

expect 0 "--since in the future replays nothing" $AIRLOCK policy replay "$T/small.yaml" --since 2099-01-01 --json
same "... zero proposals" "$(j "$T/out" "d['proposals']")" 0

# a careless operator: a candidate that does not load
printf 'version: 1\nworkflows:\n  retier:\n    effect: write\n    stage_max: -3\n' >"$T/bad.yaml"
N=$(sql "SELECT count(*) FROM action_log")
expect 1 "a candidate that does not load is refused" $AIRLOCK policy replay "$T/bad.yaml"
has "... naming file and line" "$T/err" "bad.yaml:[0-9]+:[0-9]+:"
same "... and nothing is logged" "$(sql "SELECT count(*) FROM action_log")" "$N"
expect 2 "replay needs a candidate" $AIRLOCK policy replay
expect 2 "--since belongs to replay" $AIRLOCK policy check --since 1d

echo "1..$TN"
