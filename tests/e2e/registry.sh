# tests/e2e/registry.sh — the one tool registry, seen from the binary: the
# tools each connector lists are the tools `propose --tool` takes, `help`
# names and `policy check` knows, with nothing on one surface that another
# lacks; and tools/list is unchanged by the registry (the names, schemas and
# descriptions an agent reads).
. "$(dirname "$0")/lib.sh"

expect 0 "init" "$AIRLOCK" init
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
INITD='{"jsonrpc":"2.0","method":"notifications/initialized"}'
LIST='{"jsonrpc":"2.0","id":2,"method":"tools/list"}'

# names CONNECTOR: the names tools/list answers, one a line, in order
names() {
	printf '%s\n' "$INIT" "$INITD" "$LIST" |
		"$AIRLOCK" mcp --connector "$1" --agent reg 2>/dev/null | tail -1 |
		grep -o '"name":"[a-z_]*","title"' | sed 's/"name":"\([a-z_]*\)".*/\1/'
}
names read >"$T/read"
names write >"$T/write"
same "the read connector lists the five research tools" "$(tr '\n' ' ' <"$T/read")" \
	"search_accounts get_account list_signals book_stats batch_status "
same "the write connector lists the five gated tools" "$(tr '\n' ' ' <"$T/write")" \
	"propose_changes propose_merge draft_email save_brief request_send "

"$AIRLOCK" help propose >"$T/help_propose"
"$AIRLOCK" help mcp >"$T/help_mcp"
echo '{}' >"$T/empty.json"
for t in $(cat "$T/write"); do
	# a write tool is a tool propose takes: the gate answers, not the usage check
	"$AIRLOCK" propose --as agent:reg --tool "$t" "$T/empty.json" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -ne 2 ] && ! grep -q 'must be a write tool' "$T/err"; then
		ok "propose --tool $t reaches the gate"
	else
		notok "propose --tool $t reaches the gate" "exit $rc" "$(cat "$T/err")"
	fi
	has "propose --help names $t" "$T/help_propose" "$t"
	has "mcp --help names $t" "$T/help_mcp" "$t"
done
for t in $(cat "$T/read"); do
	# an agent (or a careless script) cannot push a read tool through the gate
	expect 2 "propose --tool $t is refused: not a write tool" \
		"$AIRLOCK" propose --as agent:reg --tool "$t" "$T/empty.json"
	cp "$T/err" "$T/err_read_tool"
	hasnt "propose --help does not offer $t" "$T/help_propose" "$t"
	has "mcp --help names $t" "$T/help_mcp" "$t"
done
for t in $(cat "$T/write"); do
	has "the refusal lists the write tool $t" "$T/err_read_tool" "$t"
done
expect 2 "propose --tool of no tool is refused" \
	"$AIRLOCK" propose --as agent:reg --tool propose_chnages "$T/empty.json"
has "it says which tools there are" "$T/err" \
	'must be a write tool: propose_changes, propose_merge, draft_email, save_brief or request_send'

# policy check knows exactly the listed tools: each in a workflow of its
# effect passes, an unknown one is a problem with a did-you-mean
{
	echo "version: 1"
	echo "workflows:"
	echo "  r:"
	echo "    effect: read"
	echo "    tools: [$(tr '\n' ',' <"$T/read" | sed 's/,$//')]"
	echo "  w:"
	echo "    effect: write"
	echo "    reversible: false"
	echo "    fields: [tier]"
	echo "    tools: [propose_changes, propose_merge]"
	echo "  d:"
	echo "    effect: draft"
	echo "    tools: [draft_email, save_brief]"
	echo "  s:"
	echo "    effect: send"
	echo "    reversible: false"
	echo "    tools: [request_send]"
} >"$T/all.yaml"
expect 0 "policy check: every listed tool is a tool the policy knows" \
	"$AIRLOCK" policy check "$T/all.yaml"
sed 's/request_send/request_sned/' "$T/all.yaml" >"$T/bad.yaml"
expect 1 "policy check: a tool no connector lists is a problem" \
	"$AIRLOCK" policy check "$T/bad.yaml"
has "with the name it meant" "$T/out" "unknown tool 'request_sned'.*request_send"
