#!/bin/sh
# Keeps one owner per table (issue 20): the SQL that touches a module's
# tables lives in that module, and the others call its functions.
#  - account, contact, signal belong to book (book*.c): staging's apply and
#    undo go through book_change/book_reparent, so the code the book's tests
#    exercise is the code that runs.
#  - radius_batch, radius_hold, radius_total belong to radius.c (schema
#    migrations aside, which create them).
#  - drift reads batch, batch_item, draft, brief, action_log and signal
#    only through their owners' scans (staging, outreach, audit, book).
# Usage: sh scripts/owners.sh [SRCDIR] (default src). Fails naming each line.
dir=${1:-src}
fail=0
report() {
	echo "owners.sh: $1:" >&2
	echo "$2" >&2
	fail=1
}
sql_on() { # pattern of SQL naming one of the tables in $1 (a|b|c)
	printf "%s" "\\b(FROM|JOIN|UPDATE|INTO|TABLE)[[:space:]]+($1)\\b"
}
bad=$(grep -nEi "$(sql_on 'account|contact|signal')" "$dir"/staging*.c 2>/dev/null || true)
[ -z "$bad" ] || report "staging writes or reads book tables itself; call book.h instead" "$bad"
# a table name kept in a string for SQL built with %s
bad=$(grep -nE '"(account|contact|signal)"' "$dir"/staging*.c 2>/dev/null || true)
[ -z "$bad" ] || report "staging names a book table for SQL of its own; call book.h instead" "$bad"
bad=$(grep -nE 'radius_(batch|hold|total)\b' "$dir"/*.c 2>/dev/null |
	grep -vE "^$dir/(radius|schema|store_pg_schema|cmd_migrate)\\.c:" |
	grep -E '"' || true)
[ -z "$bad" ] || report "the radius ledger is radius.c's; call radius.h instead" "$bad"
# drift computes statistics over other modules' tables through their scans
bad=$(grep -nEi "$(sql_on 'batch|batch_item|brief|draft|action_log|account|contact|signal')" \
	"$dir"/drift*.c 2>/dev/null || true)
[ -z "$bad" ] || report "drift reads another module's table itself; use its owner's scan" "$bad"
exit $fail
