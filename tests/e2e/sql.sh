#!/bin/sh
# e2e: `airlock sql`, the engine-blind shell for operators and tests, on
# SQLite and (when tests/run started one) PostgreSQL. From the side of a
# careless operator and of an agent that planted text in the book.
. "$(dirname "$0")/lib.sh"

"$AIRLOCK" init >/dev/null 2>&1 || echo "# init failed"
"$AIRLOCK" demo --accounts 20 >/dev/null 2>&1 || echo "# demo failed"

expect 0 "sql counts the accounts" "$AIRLOCK" sql "SELECT count(*) FROM account"
n=$(cat "$T/out")
[ "$n" -gt 0 ] 2>/dev/null && ok "the demo book has accounts ($n)" || notok "no accounts" "$n"

# a look cannot change the book: without --write the statement rolls back
expect 0 "an UPDATE without --write runs" "$AIRLOCK" sql "UPDATE account SET name = 'gone'"
expect 0 "and is rolled back" "$AIRLOCK" sql "SELECT count(*) FROM account WHERE name = 'gone'"
same "no account renamed by a look" "$(cat "$T/out")" "0"

# the action log stays append-only even through --write (a checkpoint is
# logged: the log has an entry to delete)
"$AIRLOCK" log checkpoint -o "$T/ck" >/dev/null 2>&1 || echo "# checkpoint failed"
before=$("$AIRLOCK" sql "SELECT count(*) FROM action_log")
expect 1 "--write cannot delete the action log" "$AIRLOCK" sql --write "DELETE FROM action_log"
has "the refusal says why" "$T/err" "append-only"
same "the log keeps its entries" "$("$AIRLOCK" sql "SELECT count(*) FROM action_log")" "$before"
[ "$before" -gt 0 ] 2>/dev/null && ok "the log had entries ($before)" || notok "empty log" "$before"
expect 0 "the log still verifies" "$AIRLOCK" verify

# values bind as text, never as SQL
expect 0 "a value is bound, not spliced" "$AIRLOCK" sql \
	"SELECT count(*) FROM account WHERE name = ?1" "x' OR '1'='1"
same "the injection matches nothing" "$(cat "$T/out")" "0"

# an escape sequence planted in a record reaches the terminal escaped
esc=$(printf '\033]0;owned\007')
expect 0 "--write commits an insert" "$AIRLOCK" sql --write \
	"INSERT INTO account(id, name, updated_at) VALUES('acc-esc', ?1, '2026-01-01T00:00:00Z')" \
	"evil${esc}name"
expect 0 "sql prints the planted name" "$AIRLOCK" sql "SELECT name FROM account WHERE id = 'acc-esc'"
if grep -q "$(printf '\033')" "$T/out"; then
	notok "a raw ESC reached stdout" "$(od -c "$T/out" | head -3)"
else
	ok "control bytes print as \\xNN"
fi
has "the name is still readable" "$T/out" 'evil\\x1b\]0;owned\\x07name'

expect 0 "--json gives typed rows" "$AIRLOCK" sql --json "SELECT 1 AS one, NULL AS none, 'a' AS t"
has "integers stay integers" "$T/out" '"one": 1'
has "NULL is null" "$T/out" '"none": null'

expect 2 "no statement is a usage error" "$AIRLOCK" sql
expect 1 "a missing database is not created" "$AIRLOCK" sql --db "$T/nothing.db" "SELECT 1"
[ ! -e "$T/nothing.db" ] && ok "no file appeared" || notok "sql created $T/nothing.db"

if [ -n "${AIRLOCK_TEST_PG:-}" ]; then
	P=$AIRLOCK_TEST_PG
	"$AIRLOCK" sql --db "$P" --write "DROP TABLE IF EXISTS e2e_sql" >/dev/null 2>&1
	expect 0 "postgres: --write creates a table" "$AIRLOCK" sql --db "$P" --write \
		"CREATE TABLE e2e_sql(id INTEGER PRIMARY KEY, v TEXT)"
	expect 0 "postgres: --write inserts with bound values" "$AIRLOCK" sql --db "$P" --write \
		"INSERT INTO e2e_sql VALUES(?1, ?2)" 7 "O'Brien"
	expect 0 "postgres: an UPDATE without --write" "$AIRLOCK" sql --db "$P" \
		"UPDATE e2e_sql SET v = 'gone'"
	expect 0 "postgres: reads the row back" "$AIRLOCK" sql --db "$P" "SELECT id, v FROM e2e_sql"
	same "postgres: the look changed nothing" "$(cat "$T/out")" "7|O'Brien"
	AIRLOCK_DB=$P expect 0 "postgres: \$AIRLOCK_DB takes a URL" "$AIRLOCK" sql \
		"SELECT count(*) FROM e2e_sql"
	same "postgres: one row" "$(cat "$T/out")" "1"
	expect 1 "postgres: a wrong database is an error, not a new one" "$AIRLOCK" sql \
		--db "${P%%\?*}_nope?${P#*\?}" "SELECT 1"
	has "postgres: the error names it" "$T/err" "does not exist"
else
	echo "# AIRLOCK_TEST_PG is not set: the PostgreSQL half is skipped"
fi
# two statements in one: refused on either engine, never half run
n=$("$AIRLOCK" sql "SELECT count(*) FROM account")
expect 1 "two statements at once are refused" "$AIRLOCK" sql --write \
	"UPDATE account SET name = 'twice' WHERE id = 'acc-esc'; DELETE FROM account"
same "... and neither ran" "$("$AIRLOCK" sql "SELECT count(*) FROM account WHERE name = 'twice'")|$("$AIRLOCK" sql "SELECT count(*) FROM account")" "0|$n"
expect 0 "a trailing ';' and comment are one statement" "$AIRLOCK" sql "SELECT 1; -- done"

# --raw: text as stored, for scripts that parse a value (sqlite3 -batch's view)
expect 0 "--raw prints a value as stored" "$AIRLOCK" sql --raw \
	"SELECT ?1" "$(printf 'a\\b\tc')"
same "... backslash and tab unescaped" "$(cat "$T/out")" "$(printf 'a\\b\tc')"
expect 0 "without --raw the same value is escaped" "$AIRLOCK" sql "SELECT ?1" "$(printf 'a\\b\tc')"
same "... as \\\\ and \\xNN" "$(cat "$T/out")" 'a\\b\x09c'

# an operator's tool only: no MCP connector offers SQL to an agent
n=$("$AIRLOCK" sql "SELECT count(*) FROM account")
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}'
for c in read write; do
	printf '%s\n' "$init" '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
		'{"jsonrpc":"2.0","id":2,"method":"tools/list"}' \
		'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"sql","arguments":{"statement":"DELETE FROM account"}}}' |
		"$AIRLOCK" mcp --connector $c --agent sqler >"$T/mcp.out" 2>"$T/mcp.err"
	has "the $c connector lists its tools" "$T/mcp.out" '"id":2.*"tools"'
	hasnt "... none of them runs SQL" "$T/mcp.out" '"name": *"[a-z_]*(sql|query|exec)[a-z_]*"'
	has "... and a call of 'sql' is refused" "$T/mcp.out" '"id":3.*("error"|"isError": *true)'
done
same "the book kept its accounts" "$("$AIRLOCK" sql "SELECT count(*) FROM account")" "$n"

# a write through `sql --write` on the log (its guard dropped first, as the
# database's owner can) is caught by verify, and by a signed checkpoint
if [ -n "$E2E_PG" ]; then
	drop="DROP TRIGGER action_log_no_change ON action_log"
else
	drop="DROP TRIGGER action_log_no_update"
fi
expect 0 "the owner drops the log's guard through sql --write" "$AIRLOCK" sql --write "$drop"
expect 0 "... and edits an entry" "$AIRLOCK" sql --write \
	"UPDATE action_log SET body = replace(body, 'checkpoint', 'checkp0int') WHERE seq = 1"
same "... one entry changed" "$("$AIRLOCK" sql "SELECT count(*) FROM action_log WHERE body LIKE '%checkp0int%'")" 1
expect 1 "verify catches the edit" "$AIRLOCK" verify
has "... naming the entry" "$T/err" "entry 1: its content does not match its hash"
expect 1 "... and so does the signed checkpoint" "$AIRLOCK" verify --checkpoint "$T/ck"
has "... naming it too" "$T/err" "entry 1"

echo "1..$TN"
