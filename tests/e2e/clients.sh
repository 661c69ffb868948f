# tests/e2e/clients.sh — airlock started the way MCP clients start it: Claude
# Desktop and Claude Code run `airlock mcp` with cwd / and no environment,
# Claude Code (HTTP) and the Inspector reach `airlock serve`. The README's
# configurations are these commands.
. "$(dirname "$0")/lib.sh"

B="$T/book"
mkdir -p "$B"
# the operator's setup: init in the book's folder writes the book and its policy
(cd "$B" && env -u AIRLOCK_DB -u AIRLOCK_POLICY "$AIRLOCK" init >/dev/null 2>&1)
[ -f "$B/airlock.yaml" ] && [ -f "$B/airlock.db" ] && ok "init writes the book and its policy side by side" ||
	notok "init writes the book and its policy side by side" "$(ls "$B")"

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"claude-ai","version":"1"}}}'
INITD='{"jsonrpc":"2.0","method":"notifications/initialized"}'
LIST='{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
CALL='{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search_accounts","arguments":{"regoin":"emea"}}}'

# Claude Desktop: {"command": "/abs/airlock", "args": ["mcp", "--connector",
# "read", "--agent", "claude", "--db", "/abs/airlock.db"]}, cwd /, no env.
printf '%s\n' "$INIT" "$INITD" "$LIST" "$CALL" >"$T/in"
(cd / && env -i "$AIRLOCK" mcp --connector read --agent claude --db "$B/airlock.db" <"$T/in" >"$T/out" 2>"$T/err")
rc=$?
same "Claude Desktop's start (cwd /, no env) serves" "$rc" 0
has "it answers initialize" "$T/out" '"id":1,"result":\{"protocolVersion":"2025-11-25"'
has "it lists the tools" "$T/out" '"id":2,"result":\{"tools":\[\{"name":"search_accounts"'
has "it finds the policy beside the database and says which files" "$T/err" \
	"^airlock mcp: read connector for agent:claude on $B/airlock.db with policy $B/airlock.yaml \(stdio\)\$"
has "a misspelt argument is answered with the fix" "$T/out" "unknown argument 'regoin' \(did you mean 'region'\?\)"

# The write connector the same way.
printf '%s\n' "$INIT" "$INITD" '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"save_brief","arguments":{"account_id":"ZZ","text":"t"}}}' >"$T/in"
(cd / && env -i "$AIRLOCK" mcp --connector write --agent claude --db "$B/airlock.db" <"$T/in" >"$T/out" 2>"$T/err")
has "the write connector starts the same way" "$T/err" "with policy $B/airlock.yaml"
has "a tool error names the tool once" "$T/out" '"text":"save_brief: account_id: there is no account'
hasnt "never twice" "$T/out" 'save_brief: save_brief'

# Claude Code (stdio): `claude mcp add airlock -- airlock mcp ...` runs it
# from the project's folder, which has no airlock.yaml.
mkdir -p "$T/project"
printf '%s\n' "$INIT" "$INITD" "$LIST" >"$T/in"
(cd "$T/project" && env -i PATH="$(dirname "$AIRLOCK"):/usr/bin:/bin" "$(basename "$AIRLOCK")" mcp --connector read --agent code --db "$B/airlock.db" <"$T/in" >"$T/out" 2>"$T/err")
has "Claude Code's start (the binary on PATH, another cwd) serves" "$T/out" '"id":2,"result":\{"tools"'
has "and uses the book's policy" "$T/err" "with policy $B/airlock.yaml"

# An explicit --policy wins; a policy in cwd wins over the one beside the book.
cp "$B/airlock.yaml" "$T/project/airlock.yaml"
(cd "$T/project" && env -i "$AIRLOCK" mcp --connector read --agent code --db "$B/airlock.db" <"$T/in" >"$T/out" 2>"$T/err")
has "a policy in the working folder is used first" "$T/err" "with policy $T/project/airlock.yaml"
(cd / && env -i "$AIRLOCK" mcp --connector read --agent code --db "$B/airlock.db" --policy "$T/project/airlock.yaml" <"$T/in" >"$T/out" 2>"$T/err")
has "--policy is used as given" "$T/err" "with policy $T/project/airlock.yaml"

# No policy anywhere: the error says what to pass, not "airlock init" (that
# would write a second, default policy).
mkdir -p "$T/bare"
cp "$B/airlock.db" "$T/bare/airlock.db"
cp "$B/airlock.db.key" "$T/bare/" 2>/dev/null
(cd / && env -i "$AIRLOCK" mcp --connector read --agent claude --db "$T/bare/airlock.db" </dev/null >"$T/out" 2>"$T/err")
same "without a policy the server does not start" "$?" 1
has "and says to pass --policy" "$T/err" 'no policy: .*pass --policy FILE'
hasnt "and does not advise init" "$T/err" "run 'airlock init'"

# Claude Code (HTTP) and the Inspector: `airlock serve` with a token,
# started from /.
TOK=$(cd "$B" && env -u AIRLOCK_DB -u AIRLOCK_POLICY "$AIRLOCK" token create --connector read --agent code 2>/dev/null)
(cd / && exec env -i "$AIRLOCK" serve --db "$B/airlock.db" --listen 127.0.0.1:0) >"$T/serve.log" 2>&1 &
pid=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/serve.log")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] && ok "serve starts from / with no env" || notok "serve starts from / with no env" "$(cat "$T/serve.log")"
has "serve says which book and policy" "$T/serve.log" "^airlock serve: book $B/airlock.db, policy $B/airlock.yaml\$"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
	-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
	--data "$INIT" "http://127.0.0.1:$port/mcp/read")
same "Claude Code's HTTP config (bearer header) initializes" "$code" 200
has "with an MCP answer" "$T/body" '"protocolVersion":"2025-11-25"'
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null

# Plain HTTP beyond loopback only when the operator says so.
expect 2 "serve refuses a non-loopback --listen without --insecure-http" "$AIRLOCK" serve --listen 0.0.0.0:0
has "and names the way out" "$T/err" 'not a loopback address.*--insecure-http'
# 192.0.2.1 (TEST-NET-1) is nobody's address: the bind fails, after the warning
expect 1 "with --insecure-http it goes on (here to a bind that fails)" "$AIRLOCK" serve --listen 192.0.2.1:0 --insecure-http
has "and warns" "$T/err" 'WARNING: --insecure-http: plain HTTP on 192.0.2.1'

# The write tools' schemas carry the policy: workflows as an enum, what each
# may write in the description; a misspelt workflow reaches the gate, which
# refuses it on the record with the name meant.
P='{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"propose_changes","arguments":{"workflow":"%s","scope":"tier=3","rationale":"r","items":[{"record_id":"A1","field":"tier","value":2,"reason":"x"}]}}}'
printf '%s\n' "$INIT" "$INITD" "$LIST" "$(printf "$P" retir)" >"$T/in"
(cd / && env -i "$AIRLOCK" mcp --connector write --agent claude --db "$B/airlock.db" <"$T/in" >"$T/out" 2>"$T/err")
has "propose_changes' workflow is an enum of the policy's workflows" "$T/out" '"workflow":\{[^}]*"enum":\["retier","field_update"\]'
has "whose description says what each may write" "$T/out" "'retier' \(write; may write tier; up to [0-9]+ records"
has "a misspelt workflow is refused with the name meant" "$T/out" '"did_you_mean":"retier"'

# Refusals and `next` are written for the agent: the fields it may write,
# and what to do (wait, poll) rather than a reviewer's command.
(cd "$B" && env -u AIRLOCK_DB -u AIRLOCK_POLICY "$AIRLOCK" demo --accounts 20 >/dev/null 2>&1)
Q='{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"propose_changes","arguments":{"workflow":"retier","scope":"tier IN (1,2,3,4)","rationale":"r","items":[{"record_id":"A0000001","field":"%s","value":%s,"reason":"x"}]}}}'
printf '%s\n' "$INIT" "$INITD" "$(printf "$Q" tire 2)" "$(printf "$Q" tier 3)" >"$T/in"
(cd / && env -i "$AIRLOCK" mcp --connector write --agent claude --db "$B/airlock.db" <"$T/in" >"$T/out" 2>"$T/err")
has "field_not_allowed lists the fields the workflow may write" "$T/out" "may not write field 'tire'; it may write: tier"
has "a refusal's next says to fix and call the tool again" "$T/out" 'fix the refused items .* and call propose_changes again'
has "a staged batch's next tells the agent to wait and poll batch_status" "$T/out" 'wait: a person [a-z ]+ batch [0-9]+[^"]*Poll batch_status with batch_id [0-9]+'
hasnt "and names no reviewer's command" "$T/out" "'airlock (sample|show) "
