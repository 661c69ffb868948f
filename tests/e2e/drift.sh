# drift.sh — the drift monitor through the binary: an agent proposes
# re-tiers day after day (with `airlock propose`, the clock pinned to each
# day); on day 14 its instruction version changes and it starts putting
# most accounts in tier 1, while its drafts start repeating themselves.
# `airlock drift` must show the alert with the version change as its
# likely cause; ack, baseline and the bad inputs follow.
. "$(dirname "$0")/lib.sh"

DAY0=1767571200 # 2026-01-05T00:00:00Z, a Monday
at() { echo $((DAY0 + $1 * 86400 + ${2:-36000})); }

$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<120)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,owner,updated_at)
 SELECT 'A'||substr(CAST(1000+i AS TEXT),2),'Company '||i,'smb','EMEA',3,'prospect','dana','2026-01-01T00:00:00Z' FROM n" >/dev/null
sql " WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i<719)
 INSERT INTO signal(id,account_id,kind,observed_at,detail,updated_at)
 SELECT printf('S%03d_%d',i/6+1,i%6),printf('A%03d',i/6+1),CASE i%6 WHEN 0 THEN 'hiring'
  WHEN 1 THEN 'funding' WHEN 2 THEN 'intent' WHEN 3 THEN 'usage' WHEN 4 THEN 'news'
  ELSE 'tech_install' END,'2026-01-01','x','2026-01-01T00:00:00Z' FROM n" >/dev/null
sql " CREATE TABLE IF NOT EXISTS draft(id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
  subject TEXT NOT NULL, body TEXT NOT NULL, audience TEXT NOT NULL, workflow TEXT,
  principal TEXT NOT NULL, instruction_version TEXT, status TEXT NOT NULL DEFAULT 'draft',
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL)" >/dev/null

# A policy that stages every day's proposal: the gate refuses a call with
# no policy, and 21 days of 60 records must all be recorded.
cat >"$T/drift.yaml" <<'Y'
version: 1
defaults:
  max_pending_batches: 100
workflows:
  retier:
    effect: write
    tools: [propose_changes]
    reversible: true
    stage_max: 100000
    fields: [tier]
Y

# One day's proposal: 60 re-tiers of distinct accounts to 1, 2 or 4 (never
# 3, the current tier, which the gate would refuse as no change), with a
# tier-1 share of P, each citing one signal of its own account.
proposal() {
	python3 - "$1" "$2" <<'PY'
import json, random, sys
day, p = int(sys.argv[1]), float(sys.argv[2])
r = random.Random(day)
accounts = r.sample(range(1, 121), 60)
items = [{"record_id": "A%03d" % a, "field": "tier",
          "value": 1 if r.random() < p else r.choice([2, 4]),
          "reason": "signal", "evidence": ["S%03d_%d" % (a, r.randrange(6))]} for a in accounts]
# the agent claims a version of its own; the connector's pin must win
print(json.dumps({"workflow": "retier", "scope": "region=EMEA", "rationale": "daily",
                  "instruction_version": "forged-%d" % day, "items": items}))
PY
}

# One day's drafts: 50 bodies of 60 random words; with chance DUP a light
# edit of an earlier one of the day.
drafts() {
	python3 - "$1" "$2" "$3" "$AIRLOCK_DB" <<'PY'
import random, sqlite3, sys, time
day, dup, t0, db = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = random.Random(1000 + day)
con = sqlite3.connect(db)
bodies = []
for i in range(50):
    if bodies and r.random() < dup:
        w = r.choice(bodies).split()
        w[r.randrange(len(w))] = "changed"
        b = " ".join(w)
    else:
        b = " ".join("w%d" % r.randrange(400) for _ in range(60))
    bodies.append(b)
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + i * 1500))
    con.execute("INSERT INTO draft(id,account_id,subject,body,audience,principal,"
                "instruction_version,created_at,updated_at) VALUES(?,?,?,?,?,?,?,?,?)",
                ("D%d-%d" % (day, i), "A001", "hi", b, "all", "agent:scout",
                 "v1" if day < 14 else "v2", ts, ts))
con.commit()
PY
}

fails=0
for d in $(seq 0 20); do
	if [ "$d" -lt 14 ]; then p=0.2 iv=v1 dup=0.05; else p=0.7 iv=v2 dup=0.6; fi
	proposal "$d" "$p" >"$T/p.json"
	AIRLOCK_NOW=$(at "$d") $AIRLOCK propose "$T/p.json" --as agent:scout \
		--instruction-version "$iv" --policy "$T/drift.yaml" >/dev/null 2>&1 || fails=$((fails + 1))
	drafts "$d" "$dup" "$(at "$d" 3600)" || fails=$((fails + 1))
done
same "21 days of proposals and drafts recorded" "$fails,$(sql "SELECT count(*) FROM batch")" "0,21"

# the day before the change: nothing to say
AIRLOCK_NOW=$(at 13 80000) expect 0 "drift before the change" $AIRLOCK drift
has "prints the current window and its reference" "$T/out" "window 1d, current 2026-01-18.*previous 7 windows"
has "lists the tier-1 share of the workflow, in words" "$T/out" "^share of re-tiers to tier 1, workflow retier$"
has "... with its value and the usual one in percent" "$T/out" "^    now [0-9]+%, usual [0-9]+%"
has "and the draft metrics" "$T/out" "^share of drafts that nearly repeat an earlier one$"
has "says there are no alerts" "$T/out" "^0 alerts"
hasnt "no sparkline when stdout is not a terminal" "$T/out" "▁|█"

# the day after: the alert and its cause
AIRLOCK_NOW=$(at 15 80000) expect 0 "drift after the change" $AIRLOCK drift
has "the tier-1 share alerts, with its verdict in words" "$T/out" \
	"^  A[0-9]+ significant: [0-9.]+× the usual share of re-tiers to tier 1, workflow retier, since [0-9]+ Jan 2026 \([0-9]+% against a usual [0-9]+%\)"
has "with the instruction-version change as likely cause" "$T/out" \
	"likely cause: 2026-01-19T[0-9:]+Z  agent:scout began using instruction version v2 \(before: v1\)"
hasnt "the agent's claimed versions are never taken for the version" "$T/out" "forged"
same "every batch carries the pin, the claim apart" \
	"$(sql "SELECT count(*) FROM batch WHERE instruction_version IN ('v1','v2') AND instruction_claim LIKE 'forged-%'")" 21
has "the duplicate drafts alert too" "$T/out" "^  A[0-9]+ [a-z]+: .*share of drafts that nearly repeat an earlier one"
has "and says how to acknowledge" "$T/out" "acknowledge: airlock drift ack A[0-9]+ --cause"
has "the mix is spelled out for a shifted distribution" "$T/out" "^    now: tier 1 [0-9]+%"
has "... beside the usual mix" "$T/out" "^    usual: tier [0-9] [0-9]+%"
# a manager reads words: no metric key, test name or made-up category
# reaches the CLI's report (the JSON keeps the keys for machines)
hasnt "no raw metric key in the report" "$T/out" \
	"tier1_share|tier_mix|duplicate_draft_rate|proposal_signal_kinds|tool_mix|agent_call_volume|proposal_volume|_rate\b|\{retier\}"
hasnt "no raw test name in the report" "$T/out" "two_proportion|chi_square|ewma|\bpsi\b|\bjs\b"
hasnt "no made-up category in the report" "$T/out" "\(none\)|\(other\)"
rows=$(sql "SELECT count(*) FROM drift_alert")
AIRLOCK_NOW=$(at 15 80000) expect 0 "drift again" $AIRLOCK drift
same "running it again stores no new alert" "$(sql "SELECT count(*) FROM drift_alert")" "$rows"
A=$(sql "SELECT id FROM drift_alert WHERE metric='tier1_share'")

AIRLOCK_NOW=$(at 15 80000) expect 0 "drift --json" $AIRLOCK drift --json
same "the JSON names the alert, its cause and reference" "$(python3 -c "
import json; r = json.load(open('$T/out'))
a = [a for a in r['alerts'] if a['metric'] == 'tier1_share'][0]
print(a['id'], a['workflow'], a['causes'][0]['kind'], r['reference']['kind'], len(r['windows']))")" \
	"$A retier instruction_version rolling 14"
same "every metric carries its history" "$(python3 -c "
import json; r = json.load(open('$T/out'))
print(all(len(m['history']) == 14 for m in r['metrics']))")" "True"

# acknowledging
expect 1 "an agent cannot acknowledge" $AIRLOCK drift ack "A$A" --cause "fine" --as agent:scout
has "and is told only a person can" "$T/err" "only a person can acknowledge"
expect 2 "ack needs a cause" $AIRLOCK drift ack "A$A" --as maria
has "saying so" "$T/err" "--cause is required"
expect 2 "ack of a non-id is a usage error" $AIRLOCK drift ack B7 --cause x --as maria
has "naming the bad id" "$T/err" "'B7' is not an alert id"
expect 1 "ack of an unknown alert fails" $AIRLOCK drift ack A999 --cause x --as maria
has "naming it" "$T/err" "no drift alert A999"
same "nothing was acknowledged by the bad calls" "$(sql "SELECT count(*) FROM drift_alert WHERE acked_by IS NOT NULL")" 0
expect 0 "a person acknowledges" $AIRLOCK drift ack "A$A" --cause "v2 widened the ICP on purpose" --as maria
has "with their title in words and cause" "$T/out" "acknowledged A$A \(share of re-tiers to tier 1, workflow retier\) as human:maria: v2 widened"
same "stored" "$(sql "SELECT acked_by||'|'||ack_cause FROM drift_alert WHERE id=$A")" "human:maria|v2 widened the ICP on purpose"
expect 1 "a second acknowledgement is refused" $AIRLOCK drift ack "$A" --cause "again" --as dana
has "saying who did it" "$T/err" "acknowledged by human:maria"
AIRLOCK_NOW=$(at 15 80000) expect 0 "drift shows the acknowledgement" $AIRLOCK drift
has "acknowledged by maria" "$T/out" "acknowledged by human:maria at .*: v2 widened the ICP on purpose"

# the baseline
expect 1 "an agent cannot pin the baseline" $AIRLOCK drift baseline --from 2026-01-05 --to 2026-01-12 --as agent:scout
expect 2 "--from without --to is a usage error" $AIRLOCK drift baseline --from 2026-01-05 --as maria
expect 2 "a bad time is a usage error" $AIRLOCK drift baseline --from 2026-13-05 --to 2026-01-12 --as maria
has "naming the option and the value" "$T/err" "--from: '2026-13-05' is not a time"
expect 1 "an empty range is refused" $AIRLOCK drift baseline --from 2026-01-12 --to 2026-01-12 --as maria
same "no baseline after the bad calls" "$(sql "SELECT count(*) FROM drift_baseline")" 0
expect 0 "a person pins the first week" $AIRLOCK drift baseline --from 2026-01-05 --to 2026-01-12 --as maria
has "and is told until when" "$T/out" "baseline pinned: 2026-01-05T00:00:00Z .. 2026-01-12T00:00:00Z"
AIRLOCK_NOW=$(at 20 80000) expect 0 "drift against the baseline" $AIRLOCK drift --json
same "the reference is the baseline, and the shift still shows" "$(python3 -c "
import json; r = json.load(open('$T/out'))
m = [m for m in r['metrics'] if m['metric'] == 'tier1_share'][0]
print(r['reference']['kind'], r['reference']['set_by'], m['status'])")" "baseline human:maria alert"
expect 0 "clear the baseline" $AIRLOCK drift baseline --clear --as maria
expect 1 "clearing twice fails" $AIRLOCK drift baseline --clear --as maria
has "saying none is pinned" "$T/err" "no baseline is pinned"

# windows and bad options
AIRLOCK_NOW=$(at 15 80000) expect 0 "six-hour windows" $AIRLOCK drift --window 6h --windows 8 --json
same "eight windows of six hours" "$(python3 -c "
import json; r = json.load(open('$T/out')); print(r['window'], r['window_seconds'], len(r['windows']))")" "6h 21600 8"
expect 2 "a window that does not divide a day" $AIRLOCK drift --window 5h
has "is refused with the forms allowed" "$T/err" "'5h' is not a window"
expect 2 "--windows 0 is refused" $AIRLOCK drift --windows 0
expect 2 "an unknown subverb is refused" $AIRLOCK drift nonsense
expect 0 "help" $AIRLOCK drift --help
has "shows the subverbs" "$T/out" "airlock drift ack ALERT --cause TEXT"

# tiny windows raise nothing: a fresh database with three items a day
export AIRLOCK_DB="$T/tiny.db"
$AIRLOCK init >/dev/null
sql "INSERT INTO account(id,name,tier,updated_at) VALUES
 ('A001','a',3,'2026-01-01T00:00:00Z'),('A002','b',3,'2026-01-01T00:00:00Z'),('A003','c',3,'2026-01-01T00:00:00Z')" >/dev/null
for d in $(seq 0 20); do
	v=$([ $((d % 2)) -eq 0 ] && echo 1 || echo 2)
	echo "{\"workflow\":\"retier\",\"scope\":\"tier=3\",\"rationale\":\"x\",\"items\":[{\"record_id\":\"A001\",\"field\":\"tier\",\"value\":$v},{\"record_id\":\"A002\",\"field\":\"tier\",\"value\":$v},{\"record_id\":\"A003\",\"field\":\"tier\",\"value\":$v}]}" >"$T/t.json"
	AIRLOCK_NOW=$(at "$d") $AIRLOCK propose "$T/t.json" --as agent:tiny --policy "$T/drift.yaml" >/dev/null 2>&1
done
AIRLOCK_NOW=$(at 20 80000) expect 0 "drift on tiny windows" $AIRLOCK drift
has "judges nothing: too little data" "$T/out" "^share of re-tiers to tier 1, workflow retier$"
has "... says so in words" "$T/out" "^    too little data to judge$"
has "and raises nothing" "$T/out" "^0 alerts"

echo "1..$TN"
