# reliability.sh — reviewer reliability as evidence (issue 21): a reviewer
# whose record on seeded checks shows them waving wrong items through
# (a rubber stamp) cannot earn a workflow reduced inspection with their
# passes; the judge and the autonomy view say their sample was left out; a
# careful reviewer's identical sample counts; min_catch_rate off changes
# nothing.
. "$(dirname "$0")/lib.sh"

sed 's/^    defect_rate: 0.05 .*/&\n    min_catch_rate: 0.9/' "$AIRLOCK_POLICY" >"$T/p.yaml"
export AIRLOCK_POLICY="$T/p.yaml"
expect 0 "a policy with min_catch_rate checks" $AIRLOCK policy check
$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<100)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)
 SELECT 'A'||substr(CAST(10000+i AS TEXT),2),'Company '||i,'mid-market','EMEA',3,'prospect','2026-11-01T00:00:00Z' FROM n" >/dev/null
items() { # items FIRST LAST VALUE
	python3 -c "import json,sys; f,l,v=map(int,sys.argv[1:]); print(json.dumps({'workflow':'retier','scope':'region=EMEA','rationale':'t','items':[{'record_id':'A%04d'%i,'field':'tier','value':v,'reason':'r'} for i in range(f,l+1)]}))" "$@"
}
# judge_all BATCH WHO: passes every drawn item
judge_all() {
	for i in $(sql "SELECT idx FROM batch_item WHERE batch_id=$1 AND sampled=1"); do
		$AIRLOCK judge "$1" "$i" pass --as "$2" >"$T/j" 2>&1 || echo "judge $i failed: $(cat "$T/j")"
	done
}
items 1 30 2 >"$T/p1.json"
expect 0 "a 30-item re-tier" $AIRLOCK propose "$T/p1.json" --as agent:scout
B1=$(sql "SELECT max(id) FROM batch")
expect 0 "its sample" $AIRLOCK sample "$B1" --as maria
# lee judges a first sample before he has any record
judge_all "$B1" lee
WHO=$(sql "SELECT verdict_by FROM batch_item WHERE batch_id=$B1 AND verdict IS NOT NULL LIMIT 1")
same "the verdicts are lee's" "$WHO" "human:lee"
same "lee's clean sample counted before he had a record" \
	"$(sql "SELECT json_extract(state,'\$.inspected') FROM autonomy WHERE workflow='retier'")" \
	"$(sql "SELECT count(*) FROM batch_item WHERE batch_id=$B1 AND sampled=1")"
BEFORE=$(sql "SELECT state FROM autonomy WHERE workflow='retier'")
sql "INSERT INTO reviewer_check(reviewer,workflow,seen,caught,missed,updated_at)
 VALUES('$WHO','retier',20,0,20,'2026-11-01T00:00:00Z')"
items 31 60 2 >"$T/p2.json"
expect 0 "a second re-tier" $AIRLOCK propose "$T/p2.json" --as agent:scout
B2=$(sql "SELECT max(id) FROM batch")
expect 0 "its sample" $AIRLOCK sample "$B2" --as maria
judge_all "$B2" lee
has "the rubber stamp's last verdict still approves the batch" "$T/j" "every sampled item passed"
has "... and says his verdicts were not counted" "$T/j" "not counted: your catch rate on seeded checks"
same "the workflow's evidence did not move on his passes" \
	"$(sql "SELECT state FROM autonomy WHERE workflow='retier'")" "$BEFORE"
same "the discounted sample is recorded" \
	"$(sql "SELECT discounted FROM reviewer_check WHERE reviewer='$WHO'")" 1
expect 0 "the autonomy view" $AIRLOCK radius --json
has "... says one sample was left out" "$T/out" '"discounted_samples": 1'

# a careful reviewer's identical sample counts
sql "INSERT INTO reviewer_check(reviewer,workflow,seen,caught,missed,updated_at)
 VALUES('human:maria','retier',20,19,1,'2026-11-01T00:00:00Z')"
items 61 90 2 >"$T/p3.json"
expect 0 "a third re-tier" $AIRLOCK propose "$T/p3.json" --as agent:scout
B3=$(sql "SELECT max(id) FROM batch")
expect 0 "its sample" $AIRLOCK sample "$B3" --as lee
judge_all "$B3" maria
has "maria's last verdict approves" "$T/j" "every sampled item passed"
if grep -q "not counted" "$T/j"; then notok "maria's verdicts count" "$(cat "$T/j")"; else ok "maria's verdicts count"; fi
if [ "$(sql "SELECT state FROM autonomy WHERE workflow='retier'")" != "$BEFORE" ]; then
	ok "... and the workflow's evidence moved"
else
	notok "... and the workflow's evidence moved"
fi

# with min_catch_rate off the rubber stamp counts again (nothing changes
# for a book that does not use checks)
BEFORE=$(sql "SELECT state FROM autonomy WHERE workflow='retier'")
sed '/min_catch_rate/d' "$T/p.yaml" >"$T/off.yaml"
items 91 100 2 >"$T/p4.json"
AIRLOCK_POLICY="$T/off.yaml" expect 0 "a fourth re-tier" $AIRLOCK propose "$T/p4.json" --as agent:scout
B4=$(sql "SELECT max(id) FROM batch")
AIRLOCK_POLICY="$T/off.yaml" expect 0 "its sample" $AIRLOCK sample "$B4" --as maria
AIRLOCK_POLICY="$T/off.yaml" judge_all "$B4" lee
if grep -q "not counted" "$T/j"; then notok "threshold off: lee's verdicts count" "$(cat "$T/j")"; else ok "threshold off: lee's verdicts count"; fi
