# tests/e2e/inspector.sh — airlock driven by the official MCP Inspector CLI
# (@modelcontextprotocol/inspector-cli, pinned in tests/node), as a user
# trying a server first would: tools/list on both connectors, a read call
# with the arguments an LLM typically sends (wrong case), a proposal that
# is staged and waits for a person, and an argument mistake answered with
# the item it is in — over stdio and over Streamable HTTP with a token.
. "$(dirname "$0")/lib.sh"

INSPECTOR="$(pwd)/tests/node/node_modules/.bin/mcp-inspector-cli"
if [ ! -x "$INSPECTOR" ]; then
	notok "the Inspector CLI is installed" "$INSPECTOR is missing (sh scripts/npm-deps.sh)"
	exit 1
fi
# inspector-cli 1.0.3 looks for its own package.json with a path relative
# to the working directory and imports it relative to itself; run from a
# folder whose parent has a package.json, so the first (its own) is taken.
mkdir -p "$T/insp/cwd"
echo '{}' >"$T/insp/package.json"

# insp ARGS...: the Inspector in CLI mode; JSON answer in $T/out
insp() {
	(cd "$T/insp/cwd" && timeout 60 "$INSPECTOR" --cli "$@") >"$T/out" 2>"$T/err"
}
# jget EXPR: evaluates a Python expression over the answer (j) and the
# tool's structured result (s), printing the value
jget() {
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
s = j.get("structuredContent") or {}
print(eval(sys.argv[2]))' "$T/out" "$1" 2>&1
}

expect 0 "a demo book" "$AIRLOCK" demo --accounts 200 --seed 7
STDIO_R="$AIRLOCK mcp --connector read --agent inspector --db $AIRLOCK_DB --policy $AIRLOCK_POLICY"
STDIO_W="$AIRLOCK mcp --connector write --agent inspector --db $AIRLOCK_DB --policy $AIRLOCK_POLICY"

# shellcheck disable=SC2086
insp $STDIO_R --method tools/list
same "stdio read: tools/list names the research tools" \
	"$(jget '" ".join(t["name"] for t in j["tools"])')" \
	"search_accounts get_account list_signals book_stats batch_status"
same "... each with an input and an output schema" \
	"$(jget 'all("inputSchema" in t and "outputSchema" in t for t in j["tools"])')" True

# shellcheck disable=SC2086
insp $STDIO_W --method tools/list
same "stdio write: tools/list names the gated tools" \
	"$(jget '" ".join(t["name"] for t in j["tools"])')" \
	"propose_changes propose_merge draft_email save_brief request_send"
same "... the workflow enum comes from the policy" \
	"$(jget '[t for t in j["tools"] if t["name"]=="propose_changes"][0]["inputSchema"]["properties"]["workflow"]["enum"]')" \
	"['retier', 'field_update']"

# a read call, region in the wrong case as agents write it
# shellcheck disable=SC2086
insp $STDIO_R --method tools/call --tool-name search_accounts --tool-arg region=emea --tool-arg limit=3
same "a read call answers (region=emea finds EMEA)" \
	"$(jget 'j.get("isError", False), s["count"], set(a["region"] for a in s["accounts"])')" \
	"(False, 3, {'EMEA'})"
ACC=$(jget 's["accounts"][0]["id"]')
TIER=$(jget 's["accounts"][0]["tier"]')
NEW=$((TIER % 4 + 1))
same "... and the call is in the action log as the agent" \
	"$(sql "SELECT count(*) FROM action_log WHERE principal='agent:inspector' AND tool='search_accounts'")" 1

# a proposal: staged, nothing changed
before=$(sql "SELECT count(*) FROM batch")
# shellcheck disable=SC2086
insp $STDIO_W --method tools/call --tool-name propose_changes --tool-arg workflow=retier \
	--tool-arg 'scope=region=EMEA' --tool-arg 'rationale=inspector test' \
	--tool-arg "items=[{\"record_id\":\"$ACC\",\"field\":\"tier\",\"value\":$NEW,\"reason\":\"test\"}]"
same "a proposal through the Inspector is staged" "$(jget 's["decision"], s["radius"]')" "('staged', 1)"
BATCH=$(jget 's["batch_id"]')
same "... as a new batch" "$(sql "SELECT count(*) FROM batch")" "$((before + 1))"
same "... waiting for a person, the book unchanged" \
	"$(sql "SELECT state FROM batch WHERE id=$BATCH")|$(sql "SELECT tier FROM account WHERE id='$ACC'")" \
	"staged|$TIER"
case "$(jget 's["next"]')" in
*"batch_status"*) ok "... and next tells the agent to poll batch_status" ;;
*) notok "... and next tells the agent to poll batch_status" "$(cat "$T/out")" ;;
esac

# an argument mistake in the second item: named as items[2], as it would
# be refused as item 2
# shellcheck disable=SC2086
insp $STDIO_W --method tools/call --tool-name propose_changes --tool-arg workflow=retier \
	--tool-arg 'scope=region=EMEA' --tool-arg 'rationale=x' \
	--tool-arg "items=[{\"record_id\":\"$ACC\",\"field\":\"tier\",\"value\":$NEW,\"reason\":\"a\"},{\"record_id\":\"$ACC\",\"field\":\"tier\",\"reason\":\"b\"}]"
same "a missing value in the second item is an error naming items[2].value" \
	"$(jget 'j.get("isError"), "items[2].value" in j["content"][0]["text"]')" "(True, True)"

# Streamable HTTP with a bearer token, as the Inspector's --transport http
RT=$("$AIRLOCK" token create --connector read --agent inspector-http 2>/dev/null)
WT=$("$AIRLOCK" token create --connector write --agent inspector-http 2>/dev/null)
serve_start
insp "http://127.0.0.1:$port/mcp/read" --transport http \
	--header "Authorization: Bearer $RT" --method tools/list
same "http read: tools/list" "$(jget 'len(j["tools"])')" 5
insp "http://127.0.0.1:$port/mcp/read" --transport http \
	--header "Authorization: Bearer $RT" --method tools/call --tool-name get_account \
	--tool-arg "account_id=$ACC"
same "http read: get_account answers the account" "$(jget 's["account"]["id"]')" "$ACC"
insp "http://127.0.0.1:$port/mcp/write" --transport http \
	--header "Authorization: Bearer $WT" --method tools/call --tool-name save_brief \
	--tool-arg "account_id=$ACC" --tool-arg "text=brief from the Inspector"
same "http write: save_brief is stored as a draft" "$(jget 's["decision"]')" "draft"
insp "http://127.0.0.1:$port/mcp/write" --transport http \
	--header "Authorization: Bearer $RT" --method tools/list
if [ -s "$T/out" ] && [ "$(jget 'len(j.get("tools", []))')" != 0 ]; then
	notok "a read token cannot list the write connector" "$(cat "$T/out")"
else
	ok "a read token cannot list the write connector"
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
