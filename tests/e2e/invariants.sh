# tests/e2e/invariants.sh — `airlock verify --invariants` through the real
# binary: a demo book holds every invariant; rows a person with shell access
# wrote by hand (airlock sql) are named, with the rows, and fail the verb.
. "$(dirname "$0")/lib.sh"

expect 0 "init" "$AIRLOCK" init
expect 0 "a small demo book" "$AIRLOCK" demo --accounts 40
expect 0 "the demo book holds the invariants" "$AIRLOCK" verify --invariants
has "says so" "$T/out" '^invariants hold$'
has "says what it could not check without the connector's pin" "$T/out" '^not checked I6: '
expect 0 "with the pin every agent row is checked" "$AIRLOCK" verify --invariants --instruction-version v1
hasnt "I6 is checked" "$T/out" 'not checked I6'
expect 2 "--instruction-version alone is a usage error" "$AIRLOCK" verify --instruction-version v1

a=$(sql "SELECT id FROM account ORDER BY id LIMIT 1")
b=$(sql "SELECT id FROM account ORDER BY id LIMIT 1 OFFSET 1")
sql "UPDATE account SET merged_into='$b' WHERE id='$a'"
sql "UPDATE account SET merged_into='$a' WHERE id='$b'"
expect 1 "a merge cycle written by hand fails verify --invariants" "$AIRLOCK" verify --invariants
has "names I8 and both accounts" "$T/out" "^violation I8 merged_into_merged: account $a is merged into $b, which is itself merged into $a"
has "the log itself is intact" "$T/out" 'entries, log intact$'
has "counts the violations" "$T/err" 'invariant violations?$'
expect 1 "--json lists them with their rows" "$AIRLOCK" verify --invariants --json
has "not ok" "$T/out" '"ok": false'
has "the invariant" "$T/out" '"invariant": "I8"'
has "the rows" "$T/out" "\"account_id\": \"$a\""
expect 0 "plain verify still checks only the log" "$AIRLOCK" verify

mv "$AIRLOCK_POLICY" "$T/away.yaml"
expect 1 "without a policy the rest is still checked" "$AIRLOCK" verify --invariants
has "and what needs the policy is said to be unchecked" "$T/out" '^not checked I2: no policy'
mv "$T/away.yaml" "$AIRLOCK_POLICY"
