#!/bin/sh
# e2e: `airlock init` and `airlock demo` on a PostgreSQL database, and where
# the log's signing key lives when the database is a URL, not a file. From
# the side of an operator who moved the book to a server: the key must not
# land in a folder named "postgres:" under the current directory, a second
# init must never replace it, and a missing key must say what to do.
. "$(dirname "$0")/lib.sh"

if [ -z "${AIRLOCK_TEST_PG:-}" ] || ! command -v psql >/dev/null; then
	echo "# AIRLOCK_TEST_PG is not set: skipped (tests/run starts a cluster)"
	echo "1..0"
	exit 0
fi
db=airlock_init_$$
psql -q "$AIRLOCK_TEST_PG" -c "CREATE DATABASE $db" >/dev/null 2>&1
trap 'psql -q "$AIRLOCK_TEST_PG" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null 2>&1; rm -rf "$T"' EXIT
P=$(printf '%s' "$AIRLOCK_TEST_PG" | sed "s|:///[^?]*?|:///$db?|")
export AIRLOCK_DB="$P"
export HOME="$T/home" XDG_CONFIG_HOME=
mkdir -p "$HOME"
unset AIRLOCK_KEY
cd "$T" || exit 1

expect 0 "init on a PostgreSQL URL" "$AIRLOCK" init
has "... says which database" "$T/out" "initialised postgres"
[ ! -e "$T/postgres:" ] && [ ! -e "$T/postgresql:" ] && ok "no folder named after the URL's scheme" ||
	notok "init wrote under ./postgres*:" "$(ls -a "$T")"
n=$(find "$HOME/.config/airlock/keys" -name '*.key' 2>/dev/null | wc -l)
same "one key in ~/.config/airlock/keys" "$n" "1"
key=$(find "$HOME/.config/airlock/keys" -name '*.key' | head -1)
same "the key is 0600" "$(stat -c %a "$key" 2>/dev/null)" "600"
same "its folder is 0700" "$(stat -c %a "$HOME/.config/airlock/keys" 2>/dev/null)" "700"
sum=$(sha256sum "$key" | cut -c1-64)

expect 0 "a second init" "$AIRLOCK" init
same "... keeps the key" "$(sha256sum "$key" | cut -c1-64)" "$sum"

expect 0 "demo fills the PostgreSQL book" "$AIRLOCK" demo --accounts 30
same "30 accounts" "$("$AIRLOCK" sql "SELECT count(*) FROM account")" "30"
expect 0 "a checkpoint is signed with that key" "$AIRLOCK" log checkpoint -o "$T/ck.json"
expect 0 "verify checks the checkpoint's signature" "$AIRLOCK" verify --checkpoint "$T/ck.json"

# another host (no key in its HOME): a clear refusal, not a path under ./
expect 1 "another host without the key cannot sign" \
	env HOME="$T/other" "$AIRLOCK" log checkpoint -o "$T/ck2.json"
has "... says there is no signing key" "$T/err" "no signing key for this PostgreSQL database"
has "... and names AIRLOCK_KEY" "$T/err" "AIRLOCK_KEY"
# AIRLOCK_KEY names the copied key wherever it is
cp "$key" "$T/copied.key" && chmod 600 "$T/copied.key"
expect 0 "AIRLOCK_KEY points at a copied key" \
	env HOME="$T/other" AIRLOCK_KEY="$T/copied.key" "$AIRLOCK" log checkpoint -o "$T/ck3.json"
expect 0 "... whose checkpoint verifies" \
	env HOME="$T/other" AIRLOCK_KEY="$T/copied.key" "$AIRLOCK" verify --checkpoint "$T/ck3.json"
# a key from another database does not pass for this one
AIRLOCK_KEY="$T/wrong.key" AIRLOCK_DB="$T/x.db" "$AIRLOCK" init >/dev/null 2>&1
expect 1 "a checkpoint checked against another key fails" \
	env AIRLOCK_KEY="$T/wrong.key" "$AIRLOCK" verify --checkpoint "$T/ck.json"
echo "1..$TN"
