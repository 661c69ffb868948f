#!/bin/sh
# e2e: `airlock migrate --to TARGET`, SQLite to another SQLite file and (when
# tests/run started one) to PostgreSQL: every row copied, the action log
# verified on both sides and ending at one head; a tampered source, a
# target that holds a book, and the source itself are refused.
. "$(dirname "$0")/lib.sh"

export AIRLOCK_NOW=2026-12-01T00:00:00Z
"$AIRLOCK" init >/dev/null 2>&1 || echo "# init failed"
"$AIRLOCK" sql --write "INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)
 SELECT 'A' || (100 + n.i), 'Company ' || n.i, 'mid-market', 'EMEA', 3, 'prospect',
 '2026-11-01T00:00:00Z' FROM (SELECT 1 AS i UNION ALL SELECT 2 UNION ALL SELECT 3
 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6) n" >/dev/null 2>&1 ||
	echo "# accounts failed"
python3 -c "import json; print(json.dumps({'workflow':'retier','scope':'region=EMEA','rationale':'t','items':[{'record_id':'A%d'%i,'field':'tier','value':2,'reason':'r'} for i in range(101,107)]}))" >"$T/p.json"
expect 0 "a batch is proposed" "$AIRLOCK" propose "$T/p.json" --as agent:scout
"$AIRLOCK" log checkpoint -o "$T/ck" >/dev/null 2>&1
B=$("$AIRLOCK" sql "SELECT max(id) FROM batch")
entries=$("$AIRLOCK" sql "SELECT count(*) FROM action_log")
[ "$entries" -gt 1 ] 2>/dev/null && ok "the source log has entries ($entries)" ||
	notok "source log" "$entries"

# to another SQLite file
expect 0 "migrate to a new SQLite file" "$AIRLOCK" migrate --to "$T/copy.db"
has "it says both logs verify" "$T/out" "verifies on both sides, $entries entries"
same "the batch came along" "$("$AIRLOCK" sql --db "$T/copy.db" "SELECT count(*) FROM batch_item WHERE batch_id = $B")" "6"
same "the tallies are the target's own count" \
	"$("$AIRLOCK" sql --db "$T/copy.db" "SELECT n FROM book_tally WHERE dim = 'accounts'")" "6"
same "the copy's flag for early-stopping text pages is its own, and true of its rows" \
	"$("$AIRLOCK" sql --db "$T/copy.db" "SELECT count(*) FROM account_order WHERE in_id_order = (
	  SELECT NOT EXISTS (SELECT 1 FROM (SELECT rowid - lag(rowid) OVER (ORDER BY id) AS d
	  FROM account) WHERE d < 0))")" "1"
expect 0 "the copy verifies on its own" "$AIRLOCK" verify --db "$T/copy.db"

# refused: the same target again (it holds a book now), the source itself
expect 1 "a target that holds a book is refused" "$AIRLOCK" migrate --to "$T/copy.db"
has "... saying why" "$T/err" "empty database only"
expect 1 "the source itself is refused" "$AIRLOCK" migrate --to "$AIRLOCK_DB"
expect 2 "--to is required" "$AIRLOCK" migrate

# a source whose log was edited behind airlock's back (the triggers
# dropped by someone with the file) is not carried anywhere
cp "$AIRLOCK_DB" "$T/tampered.db"
sqlite3 "$T/tampered.db" "DROP TRIGGER action_log_no_update;
 UPDATE action_log SET body = body || ' ' WHERE seq = 1" 2>/dev/null
expect 1 "a tampered source is refused" "$AIRLOCK" migrate --db "$T/tampered.db" --to "$T/t2.db"
has "... because its log does not verify" "$T/err" "does not verify"
same "nothing was written to the target" \
	"$("$AIRLOCK" sql --db "$T/t2.db" "SELECT count(*) FROM account" 2>/dev/null || echo none)" "none"

if [ -n "${AIRLOCK_TEST_PG:-}" ] && command -v psql >/dev/null; then
	db=airlock_mig_$$
	psql -q "$AIRLOCK_TEST_PG" -c "CREATE DATABASE $db" >/dev/null 2>&1
	P=$(printf '%s' "$AIRLOCK_TEST_PG" | sed "s|:///[^?]*?|:///$db?|")
	expect 0 "postgres: migrate" "$AIRLOCK" migrate --to "$P"
	has "postgres: both logs verify" "$T/out" "to postgres .*verifies on both sides, $entries entries"
	expect 0 "postgres: verify on the copy" "$AIRLOCK" verify --db "$P"
	same "postgres: the same head" "$(sed -n 's/.*head \([0-9a-f]*\).*/\1/p' "$T/out")" \
		"$("$AIRLOCK" verify | sed -n 's/.*head \([0-9a-f]*\).*/\1/p')"
	same "postgres: the batch's items" \
		"$("$AIRLOCK" sql --db "$P" "SELECT count(*) FROM batch_item WHERE batch_id = $B")" "6"
	same "postgres: the tallies" \
		"$("$AIRLOCK" sql --db "$P" "SELECT n FROM book_tally WHERE dim = 'accounts'")" "6"
	# a new batch there gets the next id, not one the copy already used
	expect 0 "postgres: a new batch id after the copied ones" "$AIRLOCK" sql --db "$P" --write \
		"INSERT INTO batch(principal,surface,workflow,tool,action,state,radius,items,created_at,updated_at)
		 VALUES('agent:x','cli','retier','propose_changes','update','rejected',0,0,'t','t')"
	same "postgres: ... $((B + 1))" "$("$AIRLOCK" sql --db "$P" "SELECT max(id) FROM batch")" "$((B + 1))"
	expect 1 "postgres: a second migrate into it is refused" "$AIRLOCK" migrate --to "$P"
	psql -q "$AIRLOCK_TEST_PG" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null 2>&1
else
	echo "# AIRLOCK_TEST_PG is not set: the PostgreSQL half is skipped"
fi
echo "1..$TN"
