# tests/e2e/demo.sh — `airlock demo`: the summary, the book it leaves, bad options.
. "$(dirname "$0")/lib.sh"

# The default book into $AIRLOCK_DB.
expect 0 "demo generates the default book" "$AIRLOCK" demo
has "summary names the counts" "$T/out" '^demo book: 4,000 accounts, [0-9,]+ contacts, [0-9,]+ signals \(seed 1, '
has "summary names the database" "$T/out" "^database: +$AIRLOCK_DB\$"
has "summary shows segments" "$T/out" '^  smb +[0-9,]+ +[0-9.]+%'
has "summary shows regions" "$T/out" 'EMEA +[0-9,]+ +[0-9.]+%'
has "summary shows tiers" "$T/out" '^  tier 1 +[0-9,]+ +[0-9.]+%'
has "summary shows lifecycles" "$T/out" 'former_customer +[0-9,]+'
has "summary shows signal kinds" "$T/out" '^  tech_install +[0-9,]+'
has "summary shows who may not be contacted" "$T/out" 'not to be contacted'
has "summary says what to try next" "$T/out" '^try next:'
hasnt "no trailing blanks in the summary" "$T/out" ' $'
hasnt "no progress line when stderr is not a terminal" "$T/err" '.'
cp "$T/out" "$T/summary"
# The hints run as written: the binary as it was run, every required option.
has "hints name the binary as it was run" "$T/summary" "^  $AIRLOCK export accounts --db "
hint=$(sed -n 's/^  \(.* mcp --connector .*\)   # .*/\1/p' "$T/summary")
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' >"$T/in"
expect 0 "the mcp hint runs as written" sh -c "$hint <'$T/in'"
has "and answers initialize" "$T/out" '"id":1,"result"'
# The SQL hint is airlock's own (it holds for a PostgreSQL URL too) and runs.
hint=$(sed -n 's/^  \(.* sql --db .*\)$/\1/p' "$T/summary")
has "the sql hint is airlock sql" "$T/summary" "^  $AIRLOCK sql --db "
expect 0 "the sql hint runs as written" sh -c "$hint"
has "and prints accounts" "$T/out" '^[^|]+[|](smb|mid-market|enterprise)[|][1-4][|]'

# The summary's counts are the database's.
first=$(sed -n 's/^demo book: \([0-9,]*\) accounts, \([0-9,]*\) contacts, \([0-9,]*\) signals.*/\1 \2 \3/p' "$T/summary" | tr -d ,)
same "the database holds what the summary says" \
	"$(sql 'SELECT count(*) FROM account') $(sql 'SELECT count(*) FROM contact') $(sql 'SELECT count(*) FROM signal')" \
	"$first"
smb=$(sed -n 's/^  smb *\([0-9,]*\) .*/\1/p' "$T/summary" | tr -d ,)
same "the segment counts are the database's" "$smb" "$(sql "SELECT count(*) FROM account WHERE segment='smb'")"
dnc=$(sed -n 's/.*  accounts *\([0-9,]*\) .*/\1/p' "$T/summary" | tr -d ,)
same "the do-not-contact count is the database's" "$dnc" "$(sql 'SELECT count(*) FROM account WHERE do_not_contact=1')"
same "every contact belongs to an account" "$(sql 'SELECT count(*) FROM contact WHERE account_id NOT IN (SELECT id FROM account)')" 0
same "the database is sound" "$(sql 'PRAGMA integrity_check')" ok

# A database that already holds accounts is refused and left alone.
expect 1 "demo refuses a database that holds accounts" "$AIRLOCK" demo
has "the refusal says why and what to do" "$T/err" "^airlock: demo: $AIRLOCK_DB already holds 4000 accounts; .*pass --db with a new file"
same "the refused database is unchanged" "$(sql 'SELECT count(*) FROM account')" 4000

# --json, a seed, a size, --db.
expect 0 "demo --accounts 200 --seed 7 --json" "$AIRLOCK" demo --accounts 200 --seed 7 --json --db "$T/b.db"
cp "$T/out" "$T/b.json"
check_json() {
	python3 - "$T/b.json" "$T/b.db" <<'EOF'
import json, sqlite3, sys
o = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
def n(q): return db.execute(q).fetchone()[0]
assert o["db"] == sys.argv[2], o["db"]
assert o["seed"] == 7 and o["accounts"] == 200, (o["seed"], o["accounts"])
assert o["contacts"] == n("SELECT count(*) FROM contact")
assert o["signals"] == n("SELECT count(*) FROM signal")
assert sum(o["by_segment"].values()) == 200
assert sum(o["by_tier"].values()) == 200
assert o["by_region"]["NA"] == n("SELECT count(*) FROM account WHERE region='NA'")
assert o["by_lifecycle"]["prospect"] == n("SELECT count(*) FROM account WHERE lifecycle='prospect'")
assert sum(o["signals_by_kind"].values()) == o["signals"]
assert o["accounts_do_not_contact"] == n("SELECT count(*) FROM account WHERE do_not_contact=1")
assert isinstance(o["seconds"], float)
EOF
}
if err=$(check_json 2>&1); then ok "--json prints the summary as JSON matching the database"; else notok "--json prints the summary as JSON matching the database" "$err"; fi
hasnt "--json prints no text summary" "$T/b.json" '^demo book'

# Same seed, same book; and pinned, so a build or machine that generates a
# different book fails here (update the digest only when the generator is
# meant to change).
expect 0 "the same seed again" "$AIRLOCK" demo --accounts 200 --seed 7 --db "$T/c.db"
dump() {
	for t in account contact signal; do
		sqlite3 -batch -noheader "$1" "SELECT * FROM $t ORDER BY id"
	done
}
same "the same seed gives the same book" "$(dump "$T/b.db" | cksum)" "$(dump "$T/c.db" | cksum)"
expect 0 "another seed" "$AIRLOCK" demo --accounts 200 --seed 8 --db "$T/d.db"
if [ "$(dump "$T/b.db" | cksum)" != "$(dump "$T/d.db" | cksum)" ]; then ok "another seed gives another book"; else notok "another seed gives another book"; fi
same "seed 7 gives the pinned book" "$(dump "$T/b.db" | sha256sum | cut -c1-16)" "88efec91c3cf2183"

# Bad options: exit 2, a message naming the option, and no database made.
expect 2 "--accounts 0 is a usage error" "$AIRLOCK" demo --accounts 0 --db "$T/bad.db"
has "--accounts 0 says what is wrong" "$T/err" "^airlock: demo: --accounts: '0' is not a whole number from 1 to 1000000"
has "--accounts 0 points at the help" "$T/err" "see 'airlock demo --help'"
expect 2 "--accounts x is a usage error" "$AIRLOCK" demo --accounts x --db "$T/bad.db"
has "--accounts x says what is wrong" "$T/err" "^airlock: demo: --accounts: 'x' is not a whole number"
expect 2 "--accounts 1000001 is a usage error" "$AIRLOCK" demo --accounts 1000001 --db "$T/bad.db"
expect 2 "--accounts 12abc is a usage error" "$AIRLOCK" demo --accounts 12abc --db "$T/bad.db"
expect 2 "--seed -1 is a usage error" "$AIRLOCK" demo --seed -1 --db "$T/bad.db"
has "--seed -1 says what is wrong" "$T/err" "^airlock: demo: --seed: '-1' is not a whole number"
expect 2 "an unknown option is a usage error" "$AIRLOCK" demo --frobnicate --db "$T/bad.db"
expect 2 "a stray argument is a usage error" "$AIRLOCK" demo extra --db "$T/bad.db"
has "the stray argument is named" "$T/err" "unexpected argument 'extra'"
if [ ! -e "$T/bad.db" ]; then ok "no database is made on a usage error"; else notok "no database is made on a usage error"; fi
expect 1 "an unusable --db fails" "$AIRLOCK" demo --db "$T/no/such/dir/x.db"
has "the failure names the path" "$T/err" "cannot open database $T/no/such/dir/x.db"

expect 0 "demo --help" "$AIRLOCK" demo --help
has "--help shows the usage" "$T/out" '^usage: airlock demo \[--accounts N\] \[--seed S\]'

# scripts/demo.sh (what `make demo` runs), in a scratch copy of the layout it
# expects: ./airlock and scripts/ at the top.
R="$T/repo"
mkdir -p "$R/scripts" "$R/tests"
cp "$(dirname "$0")/../../scripts/demo.sh" "$(dirname "$0")/../../scripts/demo_agent.py" "$R/scripts/"
cp "$(dirname "$0")/../../tests/smtp_sink.py" "$R/tests/"
ln -s "$AIRLOCK" "$R/airlock"
expect 0 "scripts/demo.sh makes the demo folder" sh "$R/scripts/demo.sh"
has "scripts/demo.sh shows the summary" "$T/out" '^demo book: 4,000 accounts'
hasnt "piped, make demo prints no escape codes" "$T/out" "$(printf '\033')"
same "scripts/demo.sh leaves the book in demo/" "$(sqlite3 "$R/demo/airlock.db" 'SELECT count(*) FROM account')" 4000
# the session through the real connectors reaches every path of the gate
has "demo: the agent uses both connectors" "$T/out" "write connector: draft_email, propose_changes"
has "demo: a draft to a competitor is refused by the audience guard" "$T/out" "draft_email to a competitor: REFUSED"
has "demo: a small re-tier is staged" "$T/out" "re-tier 12 hot accounts to tier 2: STAGED"
has "demo: out-of-scope items are refused" "$T/out" "refused: .*\\[outside_scope\\]"
has "demo: a large re-tier is blocked" "$T/out" "tier-4 accounts to tier 3: BLOCKED"
has "demo: the send is blocked for a person" "$T/out" "request_send of the prospect draft: BLOCKED"
has "demo: the sample audit states its confidence" "$T/out" "with [0-9]+% confidence"
has "demo: apply then undo restores the record" "$T/out" "undone: tier 3"
has "demo: the approved send reaches the relay once" "$T/out" "the relay received 1 message"
has "demo: the log verifies" "$T/out" "^[0-9]+ entries, head [0-9a-f]{64}"
has "demo: the over-tiering raises a drift alert" "$T/out" "significant: .*share of re-tiers to tier 1, workflow retier"
has "demo: the alert names the instruction change as the likely cause" "$T/out" "likely cause: .*began using instruction version retier-v2"
expect 0 "scripts/demo.sh starts afresh on a second run" sh "$R/scripts/demo.sh"
rm "$R/demo/.airlock-demo"
expect 1 "scripts/demo.sh leaves a demo/ it did not make alone" sh "$R/scripts/demo.sh"
has "and says so" "$T/err" 'demo/ exists and was not made by this script'
if [ -e "$R/demo/airlock.db" ]; then ok "the foreign demo/ is untouched"; else notok "the foreign demo/ is untouched"; fi
