#!/bin/sh
# e2e: one database named once (--db, or $AIRLOCK_DB) reaches every
# connection airlock opens, on either engine (issue 20: the store opens them
# all). From the side of an operator whose book is a PostgreSQL URL: the
# queue and the radius report show the earned autonomy as they do for a
# file (they looked for a file of the URL's name and said nothing); verify
# and sql read the --db given, not $AIRLOCK_DB; a server started with --db
# logs its reads (the action log's own writer connection) and its
# notifications there. Runs on SQLite, and on PostgreSQL with
# AIRLOCK_E2E_PG=1.
. "$(dirname "$0")/lib.sh"

DB=$AIRLOCK_DB
expect 0 "init" "$AIRLOCK" init
expect 0 "a 30-account book" "$AIRLOCK" demo --accounts 30

expect 0 "queue" "$AIRLOCK" queue
has "... shows the earned autonomy" "$T/out" "^earned autonomy"
expect 0 "radius" "$AIRLOCK" radius
has "... shows the earned autonomy" "$T/out" "^earned autonomy"

# --db wins over $AIRLOCK_DB, which names nothing here
export AIRLOCK_DB="$T/nothing-here.db"
expect 0 "verify --db" "$AIRLOCK" verify --db "$DB"
expect 0 "sql --db reads that database" "$AIRLOCK" sql --db "$DB" "SELECT count(*) FROM account"
same "... its 30 accounts" "$(cat "$T/out")" 30
expect 0 "queue --db" "$AIRLOCK" queue --db "$DB"
has "... shows the earned autonomy" "$T/out" "^earned autonomy"
[ ! -e "$AIRLOCK_DB" ] && ok "nothing made at \$AIRLOCK_DB" || notok "a file appeared at \$AIRLOCK_DB"

# a server given --db: its reads are logged in that database by the log's
# writer, and its notification thread delivers from there
RT=$("$AIRLOCK" token create --db "$DB" --connector read --agent dbreader 2>/dev/null)
ID=$("$AIRLOCK" sql --db "$DB" "SELECT min(id) FROM account")
serve_start --db "$DB"
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
curl -s -m 20 -o "$T/read" -H "Content-Type: application/json" \
	-H "Accept: application/json, text/event-stream" -H "Authorization: Bearer $RT" \
	-H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' \
	--data-binary "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_account\",\"arguments\":{\"account_id\":\"$ID\"},$META}}" \
	"http://127.0.0.1:$port/mcp/read"
has "a read through the server given --db" "$T/read" "\"$ID\""
hasnt "... answered" "$T/read" '"isError":true'
same "... is logged in that database" \
	"$("$AIRLOCK" sql --db "$DB" "SELECT count(*) FROM action_log WHERE principal='agent:dbreader' AND tool='get_account'")" 1
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
expect 0 "the log verifies" "$AIRLOCK" verify --db "$DB"
export AIRLOCK_DB="$DB" # lib.sh drops it at the end
echo "1..$TN"
