#!/bin/sh
# mcp_stdio.sh — airlock mcp over stdio at the byte level: stdout carries
# only JSON-RPC lines, logs go to stderr, end of input ends it with exit 0,
# oversized lines and bad options are refused clearly.
. "$(dirname "$0")/lib.sh"

expect 0 "init" "$AIRLOCK" init
sql "INSERT INTO account(id,name,segment,tier,updated_at) VALUES('A1','Acme','smb',2,'2026-01-01T00:00:00Z');"
cat >"$T/in" <<'MSG'
{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}

{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}
{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_account","arguments":{"account_id":"A1"}}}
{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"search_accounts","arguments":{"limit":500}}}
not json
MSG
expect 0 "a session on stdin ends cleanly at end of input" sh -c "\"$AIRLOCK\" mcp --connector read --agent a1 <\"$T/in\""
cp "$T/out" "$T/stdout"
cp "$T/err" "$T/stderr"
same "every stdout line is a JSON-RPC 2.0 message" \
	"$(python3 -c 'import json,sys; print(all(json.loads(l).get("jsonrpc")=="2.0" for l in open(sys.argv[1])))' "$T/stdout")" True
same "one answer per request, plus log notifications" "$(grep -c '"id":' "$T/stdout")" 5
has "initialize answers with the client's version" "$T/stdout" '"protocolVersion":"2025-06-18"'
has "debug log notifications on stdout once asked for" "$T/stdout" '"method":"notifications/message"'
has "limit above 200 is a clear tool error" "$T/stdout" "argument 'limit': 500 is above the maximum 200"
has "not JSON: parse error" "$T/stdout" '"code":-32700'
has "the banner goes to stderr" "$T/stderr" "read connector for agent:a1"

head -c 4194400 /dev/zero | tr '\0' ' ' >"$T/big"
printf '\n{"jsonrpc":"2.0","id":9,"method":"ping"}\n' >>"$T/big"
expect 0 "a line over 4 MiB is refused, the next one still served" sh -c "\"$AIRLOCK\" mcp --connector write --agent a1 <\"$T/big\""
has "... with a clear error" "$T/out" "larger than the limit"
has "... and ping answered" "$T/out" '"id":9,"result":\{\}'

expect 2 "--connector is required" "$AIRLOCK" mcp --agent a1
has "... saying so" "$T/err" "--connector must be read or write"
expect 2 "--agent is required" "$AIRLOCK" mcp --connector read
expect 2 "--agent must be a plain name" "$AIRLOCK" mcp --connector read --agent 'a b'
has "... saying what is allowed" "$T/err" "letters, digits"
expect 2 "--connector admin is refused" "$AIRLOCK" mcp --connector admin --agent a1
