# tests/e2e/policy.sh — `airlock init` writes the policy and keeps an existing
# one; `airlock policy check` good, bad, missing; `airlock radius` and its flag.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
unset AIRLOCK_POLICY

# ---- init ----
expect 0 "init writes the database and the default policy" "$AIRLOCK" init
has "init says it wrote the policy" "$T/out" "wrote the default policy to airlock.yaml"
[ -s airlock.yaml ] && ok "airlock.yaml exists" || notok "airlock.yaml exists"
has "the default policy is commented" airlock.yaml "^# airlock.yaml"
cp airlock.yaml default.yaml

echo "version: 1 # mine" >airlock.yaml
expect 0 "init again succeeds" "$AIRLOCK" init
has "init says it kept the policy" "$T/out" "kept the existing policy airlock.yaml"
same "init never overwrites an existing policy" "$(cat airlock.yaml)" "version: 1 # mine"

expect 0 "init --policy PATH writes there" "$AIRLOCK" init --policy other.yaml --json
has "json names the policy" "$T/out" '"policy": "other.yaml"'
has "json says it was written" "$T/out" '"policy_written": true'
cmp -s other.yaml default.yaml && ok "the same default text" || notok "the same default text"
expect 1 "init into a missing folder fails" "$AIRLOCK" init --policy "$T/no/such/dir/p.yaml"
has "and says why" "$T/err" "^airlock: init: cannot create .*/no/such/dir/p.yaml"

# ---- policy check ----
cp default.yaml airlock.yaml
expect 0 "the default policy passes check" "$AIRLOCK" policy check
has "ok with the workflow count" "$T/out" "^airlock.yaml: ok \(6 workflows\)$"
expect 0 "check FILE" "$AIRLOCK" policy check default.yaml
has "names the file" "$T/out" "^default.yaml: ok"
AIRLOCK_POLICY=default.yaml expect 0 "AIRLOCK_POLICY is the default path" "$AIRLOCK" policy check
has "the env path is checked" "$T/out" "^default.yaml: ok"
expect 0 "--policy picks the file" "$AIRLOCK" policy check --policy other.yaml
has "the option path is checked" "$T/out" "^other.yaml: ok"
expect 0 "check --json on a good file" "$AIRLOCK" policy check --json
has "json ok" "$T/out" '"ok": true'
has "json digest" "$T/out" '"digest": "[0-9a-f]{64}"'

cat >bad.yaml <<'EOF'
version: 1
workflows:
  retier:
    effect: write
    tools: [propose_changes]
    reversible: true
    stage_mx: 200
    fields: [tierr]
  send:
    effect: send
    tools: [request_send]
    reversible: true
EOF
expect 1 "a bad file fails check with exit 1" "$AIRLOCK" policy check bad.yaml
has "unknown key at FILE:LINE:COL with a did-you-mean" "$T/out" \
	"^bad.yaml:7:5: unknown key 'stage_mx' in workflow 'retier' \(did you mean 'stage_max'\?\)$"
has "unknown field" "$T/out" "^bad.yaml:8:14: unknown field 'tierr' \(did you mean 'tier'\?\)$"
has "reversible send" "$T/out" "^bad.yaml:12:17: a sent message cannot be unsent"
has "a count at the end" "$T/out" "^bad.yaml: 3 problems$"
expect 1 "check --json on a bad file exits 1" "$AIRLOCK" policy check --json bad.yaml
has "json not ok" "$T/out" '"ok": false'
has "json problem with line" "$T/out" '"line": 7'
n=$(grep -c '"message"' "$T/out")
same "json lists every problem" "$n" 3

printf 'version: 1\nworkflows:\n  a: [\n' >syntax.yaml
expect 1 "a yaml syntax error fails check" "$AIRLOCK" policy check syntax.yaml
has "with libyaml's position" "$T/out" "^syntax.yaml:4:1: yaml syntax error: "

: >empty.yaml
expect 1 "an empty file fails check" "$AIRLOCK" policy check empty.yaml
has "and says it is empty" "$T/out" "^empty.yaml:1:1: the file is empty"

expect 1 "a missing file fails check" "$AIRLOCK" policy check missing.yaml
has "and says it cannot be read" "$T/err" "^airlock: policy: cannot read missing.yaml: No such file"
expect 2 "no subcommand is a usage error" "$AIRLOCK" policy
expect 2 "an unknown subcommand is a usage error" "$AIRLOCK" policy lint
has "names the subcommand" "$T/err" "unknown subcommand 'lint'"
expect 2 "two files is a usage error" "$AIRLOCK" policy check a.yaml b.yaml
expect 0 "policy --help" "$AIRLOCK" policy --help
has "help shows the usage" "$T/out" "^usage: airlock policy check"

# ---- radius ----
expect 0 "radius of the default policy" "$AIRLOCK" radius
has "a header row" "$T/out" "WORKFLOW +EFFECT +REVERSIBLE +STAGE_MAX +RADIUS +WHY"
has "retier is staged with radius 0" "$T/out" "^  retier +write +yes +200 +0 +staged"
has "merge is blocked" "$T/out" "^  merge +write +no +- +0 +irreversible"
has "send is blocked" "$T/out" "^  send +send +no +- +0 +sends cannot be undone"
has "read changes nothing" "$T/out" "^  read +read +- +- +0 +reads change nothing"
has "nothing flagged" "$T/out" "^nothing is flagged"
hasnt "no flag marks" "$T/out" "^!"

cat >loose.yaml <<'EOF'
version: 1
workflows:
  retier:
    effect: write
    tools: [propose_changes]
    reversible: true
    stage_max: 200
    fields: [tier]
    unattended: true
    unattended_max: 50
  blast:
    effect: send
    tools: [request_send]
    unattended: true
EOF
expect 0 "loose policy passes check (it is legal)" "$AIRLOCK" policy check loose.yaml
expect 1 "radius flags an uncapped unattended send with exit 1" "$AIRLOCK" radius --policy loose.yaml
has "the flagged row is marked" "$T/out" "^! blast +send +no +- +unbounded +unattended with no unattended_max"
has "a capped unattended write shows its cap" "$T/out" "^  retier +write +yes +200 +50 +unattended"
has "the summary says what is flagged" "$T/out" "^! 1 workflow flagged"
expect 1 "radius --json flags too" "$AIRLOCK" radius --policy loose.yaml --json
has "json flagged count" "$T/out" '"flagged": 1$'
has "json unbounded" "$T/out" '"unbounded": true'
expect 1 "radius of a bad policy fails" "$AIRLOCK" radius --policy bad.yaml
has "with the first problem" "$T/err" "^airlock: radius: bad.yaml:7:5: unknown key 'stage_mx'"
expect 1 "radius without a policy fails" "$AIRLOCK" radius --policy missing.yaml
has "and says to run init" "$T/err" "airlock init"
expect 2 "radius takes no argument" "$AIRLOCK" radius extra

# the drift: section is checked by the drift monitor's own rules
"$AIRLOCK" init --policy "$T/drift.yaml" --db "$T/drift.db" >/dev/null 2>&1
sed -i 's/^  js_alert: 0.1 /  js_alert: 7 /; s/^  min_count: 30 /  min_cnt: 30 /' "$T/drift.yaml"
expect 1 "a bad drift threshold fails the check" "$AIRLOCK" policy check "$T/drift.yaml"
has "naming the value, line and column" "$T/out" "drift.yaml:[0-9]+:13: drift: js_alert: '7' is not a number"
has "and an unknown drift key" "$T/out" "drift.yaml:[0-9]+:[0-9]+: drift: unknown key 'min_cnt'"
sed -i 's/^  js_alert: 7 /  js_alert: 0.2 /; s/^  min_cnt: 30 /  min_count: 10 /' "$T/drift.yaml"
expect 0 "good drift thresholds pass" "$AIRLOCK" policy check "$T/drift.yaml"
