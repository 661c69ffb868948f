#!/bin/sh
# mcp_http.sh — MCP Streamable HTTP at the HTTP level with curl: sessions,
# status codes, tokens and revocation, Host/Origin checks, body limit, the
# stateless revision, and the action log/book untouched by refusals.
. "$(dirname "$0")/lib.sh"

expect 0 "init" "$AIRLOCK" init
sql "INSERT INTO account(id,name,segment,tier,updated_at) VALUES('A1','Acme','smb',2,'2026-01-01T00:00:00Z');"
RT=$("$AIRLOCK" token create --connector read --agent r1 2>/dev/null)
WT=$("$AIRLOCK" token create --connector write --agent w1 2>/dev/null)
case "$RT" in alk_*) ok "token create prints the token" ;; *) notok "token create prints the token" "$RT" ;; esac
expect 0 "token list" "$AIRLOCK" token list
hasnt "token list never shows a secret" "$T/out" "alk_"
has "token list shows the agents" "$T/out" "r1 +"
secret=${RT#alk_*_}
same "only a hash is stored" "$(sql "SELECT count(*) FROM connector_token WHERE secret_hash LIKE '%$secret%' OR id LIKE '%$secret%'")" 0
expect 2 "token create without --agent is a usage error" "$AIRLOCK" token create --connector read
expect 2 "token create with a bad connector" "$AIRLOCK" token create --connector admin --agent x
has "... naming it" "$T/err" "--connector read or write"

serve_start
U="http://127.0.0.1:$port/mcp"
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'

# post PATH TOKEN BODY [curl args...]: status in $T/code, headers in $T/hdr, body in $T/body
post() {
	p=$1 tok=$2 body=$3
	shift 3
	curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -H "Content-Type: ${CTYPE:-application/json}" \
		-H "Accept: ${ACCEPT:-application/json, text/event-stream}" ${tok:+-H "Authorization: Bearer $tok"} \
		"$@" --data-binary "$body" "$U/$p" >"$T/code"
}
code() { cat "$T/code"; }

post read "$RT" "$INIT"
same "initialize: 200" "$(code)" 200
SID=$(sed -n 's/^Mcp-Session-Id: *\([0-9a-f]*\).*/\1/ip' "$T/hdr" | tr -d '\r')
same "initialize issues a 256-bit session id" "${#SID}" 64
post read "$RT" "$INIT"
SID2=$(sed -n 's/^Mcp-Session-Id: *\([0-9a-f]*\).*/\1/ip' "$T/hdr" | tr -d '\r')
[ "$SID" != "$SID2" ] && ok "session ids differ" || notok "session ids differ"
post read "$RT" '{"jsonrpc":"2.0","method":"notifications/initialized"}' -H "Mcp-Session-Id: $SID"
same "notification: 202" "$(code)" 202
post read "$RT" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' -H "Mcp-Session-Id: $SID"
same "tools/list in the session: 200" "$(code)" 200
has "... lists search_accounts" "$T/body" '"search_accounts"'
post read "$RT" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
same "no session id: 400" "$(code)" 400
has "... saying to initialize" "$T/body" "Mcp-Session-Id"
post read "$RT" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' -H "Mcp-Session-Id: 00$SID"
same "unknown session id: 404" "$(code)" 404
post write "$WT" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' -H "Mcp-Session-Id: $SID"
same "a read session is unknown on /mcp/write: 404" "$(code)" 404
post read "$RT" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' -H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 1999-01-01'
same "unsupported MCP-Protocol-Version: 400" "$(code)" 400
post read "$RT" '{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"debug"}}' -H "Mcp-Session-Id: $SID"
post read "$RT" '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"book_stats","arguments":{}}}' -H "Mcp-Session-Id: $SID"
has "log notifications stream as SSE before the answer" "$T/hdr" "text/event-stream"
has "... with the notification" "$T/body" "notifications/message"
has "... and the result" "$T/body" '"id":4,"result"'
post read "$RT" '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"search_accounts","arguments":{"tier":"x"}}}' -H "Mcp-Session-Id: $SID"
has "bad argument: isError naming it" "$T/body" "argument 'tier' must be an integer"
# A page the server kept (book_cache.h) never outlives the row: a hand
# edit from another process, with no version bumped, shows on the next page.
SEARCH='{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"search_accounts","arguments":{"limit":5}}}'
post read "$RT" "$SEARCH" -H "Mcp-Session-Id: $SID"
post read "$RT" "$SEARCH" -H "Mcp-Session-Id: $SID"
has "search_accounts pages the book" "$T/body" 'Acme'
sql "UPDATE account SET name='Renamed by hand' WHERE id='A1'" >/dev/null
post read "$RT" "$SEARCH" -H "Mcp-Session-Id: $SID"
has "... and shows a hand edit from another process on the next page" "$T/body" 'Renamed by hand'
hasnt "... not the page it had" "$T/body" 'Acme'
sql "DELETE FROM account WHERE id='A1'" >/dev/null
sql "INSERT INTO account(id,name,segment,tier,updated_at) VALUES('A1','Acme','smb',2,'2026-01-01T00:00:00Z')" >/dev/null
post read "$RT" "$SEARCH" -H "Mcp-Session-Id: $SID"
has "... or a row deleted and inserted again" "$T/body" 'Acme'
hasnt "... with nothing of the edit before" "$T/body" "Renamed by hand"
# a page with no filter reads its ids from the id index: an account merged
# by hand after its object was kept leaves the page, and comes back
sql "INSERT INTO account(id,name,segment,tier,updated_at) VALUES('A2','Bolt','smb',2,'2026-01-01T00:00:00Z')" >/dev/null
post read "$RT" "$SEARCH" -H "Mcp-Session-Id: $SID"
post read "$RT" "$SEARCH" -H "Mcp-Session-Id: $SID"
sql "UPDATE account SET merged_into='A2' WHERE id='A1'" >/dev/null
post read "$RT" "$SEARCH" -H "Mcp-Session-Id: $SID"
has "... a merged account leaves the page" "$T/body" 'Bolt'
hasnt "... all of it" "$T/body" 'Acme'
post read "$RT" "$SEARCH" -H "Mcp-Session-Id: $SID"
hasnt "... also once its page is kept" "$T/body" 'Acme'
sql "UPDATE account SET merged_into=NULL WHERE id='A1'" >/dev/null
post read "$RT" "$SEARCH" -H "Mcp-Session-Id: $SID"
has "... and comes back when unmerged" "$T/body" 'Acme'
post read "$RT" '[{"jsonrpc":"2.0","id":1,"method":"ping"}]' -H "Mcp-Session-Id: $SID"
same "batch: 400" "$(code)" 400
has "... saying batches are not supported" "$T/body" "batch"
post read "$RT" '{"jsonrpc":' -H "Mcp-Session-Id: $SID"
same "malformed JSON: 400" "$(code)" 400
has "... parse error" "$T/body" "-32700"

# Credentials
post read "" "$INIT"
same "no token: 401" "$(code)" 401
has "... with WWW-Authenticate" "$T/hdr" "WWW-Authenticate: Bearer"
post read "alk_0123456789abcdef_forged" "$INIT"
same "unknown token: 401" "$(code)" 401
post write "$RT" "$INIT"
same "read token on /mcp/write: 403" "$(code)" 403
has "... saying which token is needed" "$T/body" "needs a write token"
post read "$WT" "$INIT"
same "write token on /mcp/read: 403" "$(code)" 403
post read "$WT" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' -H "Mcp-Session-Id: $SID"
same "another agent's token cannot use the session" "$(code)" 403

# Transport rules
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RT" "$U/read" >"$T/code"
same "GET: 405 (no server stream)" "$(code)" 405
ACCEPT='application/json' post read "$RT" "$INIT"
same "Accept without text/event-stream: 406" "$(code)" 406
CTYPE='text/plain' post read "$RT" "$INIT"
same "Content-Type not JSON: 415" "$(code)" 415
post read "$RT" "$INIT" -H 'Host: evil.example.com'
same "foreign Host: 403" "$(code)" 403
post read "$RT" "$INIT" -H 'Origin: http://evil.example.com'
same "foreign Origin: 403" "$(code)" 403
post read "$RT" "$INIT" -H "Origin: http://localhost:$port"
same "loopback Origin: 200" "$(code)" 200
post read "$RT" "$INIT" -H "Host: localhost:$port"
same "Host localhost: 200" "$(code)" 200
head -c 5000000 /dev/zero | tr '\0' ' ' >"$T/big"
curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	-H 'Accept: application/json, text/event-stream' -H "Authorization: Bearer $RT" \
	--data-binary @"$T/big" "$U/read" >"$T/code"
same "body over 4 MiB: 413" "$(code)" 413
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nowhere" >"$T/code"
same "unknown path: 404" "$(code)" 404

# The stateless revision: no session, version in _meta and the header
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
post read "$RT" "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{$META}}" -H 'MCP-Protocol-Version: 2026-07-28'
same "server/discover without a session: 200" "$(code)" 200
has "... lists 2026-07-28" "$T/body" '"supportedVersions":\["2026-07-28"'
hasnt "... issues no session" "$T/hdr" "Mcp-Session-Id"
post read "$RT" "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"get_account\",\"arguments\":{\"account_id\":\"A1\"},$META}}" -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call'
has "stateless tools/call answers with resultType" "$T/body" '"resultType":"complete"'
post read "$RT" "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{$META}}" -H 'MCP-Protocol-Version: 2025-11-25'
same "header and _meta disagree: 400" "$(code)" 400
has "... header mismatch -32020" "$T/body" "-32020"
post read "$RT" "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{$META}}" -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call'
same "Mcp-Method disagrees: 400" "$(code)" 400
# the same two beside a session id: agreement is the request's, whatever
# else it carries (it was checked only without a session, so a proxy
# routing on the header could be shown one method while another ran)
post read "$RT" "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{$META}}" -H 'MCP-Protocol-Version: 2025-11-25' -H "Mcp-Session-Id: $SID"
same "header and _meta disagree beside a session id: 400" "$(code)" 400
has "... header mismatch -32020" "$T/body" "-32020"
post read "$RT" "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"get_account\",\"arguments\":{\"account_id\":\"A1\"}}}" -H 'Mcp-Method: tools/list' -H "Mcp-Session-Id: $SID"
same "Mcp-Method disagrees beside a session id: 400" "$(code)" 400
hasnt "... and nothing ran" "$T/body" '"result"'

# Ending a session
curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $RT" -H "Mcp-Session-Id: $SID" "$U/read" >"$T/code"
same "DELETE ends the session: 204" "$(code)" 204
post read "$RT" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' -H "Mcp-Session-Id: $SID"
same "ended session: 404" "$(code)" 404
curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $RT" "$U/read" >"$T/code"
same "DELETE without a session id: 400" "$(code)" 400

# Revocation takes effect at once
id=$("$AIRLOCK" token list --json | python3 -c 'import json,sys; print([t["id"] for t in json.load(sys.stdin) if t["agent"]=="r1"][0])')
expect 0 "token revoke" "$AIRLOCK" token revoke "$id"
post read "$RT" "$INIT"
same "revoked token: 401" "$(code)" 401
expect 1 "revoking twice fails" "$AIRLOCK" token revoke "$id"
has "... saying so" "$T/err" "already revoked"

kill -TERM "$pid"
wait "$pid"
same "SIGTERM: clean exit" "$?" 0
same "the book did not change" "$(sql "SELECT CAST(tier AS TEXT)||version FROM account WHERE id='A1'")" 21
