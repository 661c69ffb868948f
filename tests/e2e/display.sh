# display.sh — what a person sees of hostile text (issue 13, item 1). An
# agent, an imported file or a careless paste puts terminal escapes (CSI,
# OSC 8 hyperlinks, OSC 52 clipboard writes), C1 controls, bidi overrides
# and isolates, bare CRs, backspaces and invalid UTF-8 into text; the
# proposal path refuses them at the door, and every printer shows what got
# in anyway (imported, or stored before the door existed) as visible
# escapes, never as bytes a terminal acts on.
. "$(dirname "$0")/lib.sh"

# inert DESC FILE: FILE is valid UTF-8 with no C0 control but \n, no DEL, no
# C1 and no bidirectional or separator character.
inert() {
	if python3 - "$2" <<'PY'; then ok "$1"; else notok "$1" "raw control bytes in $2:" "$(od -c "$2" | head -20)"; fi
import sys
data = open(sys.argv[1], 'rb').read()
try:
    text = data.decode('utf-8')
except UnicodeDecodeError as e:
    print('# invalid UTF-8 at', e.start)
    sys.exit(1)
bad = [c for c in text if (ord(c) < 0x20 and c != '\n') or 0x7f <= ord(c) <= 0x9f
       or ord(c) in (0x61c, 0x200e, 0x200f) or 0x2028 <= ord(c) <= 0x202e
       or 0x2066 <= ord(c) <= 0x2069]
if bad:
    print('# found', ' '.join('U+%04X' % ord(c) for c in bad[:10]))
    sys.exit(1)
PY
}

# every class at once: CSI cursor-up and erase-line, a bare CR, OSC 8, OSC 52,
# C1 CSI as a code point (U+009B), U+202E, U+2066, backspaces, DEL
H=$(printf 'fine\033[1A\033[2K\r     tier: 4 -> 4 \033]8;;http://evil.example/\007link\033]8;;\007 \033]52;c;cm0gLXJm\007 \302\2332J \342\200\256gpj.exe \342\201\246iso\342\201\251 bs\b\b DEL\177')
# a raw C1 CSI byte and an overlong '/': not UTF-8 at all (PostgreSQL keeps
# only UTF-8 in a UTF-8 database: there the C1 byte comes as its code point)
RAW=$(printf 'raw\2332J over\300\257long')
[ -z "$E2E_PG" ] || RAW=$(printf 'raw\302\2332J overlong')
sqlq() { printf '%s' "$1" | sed "s/'/''/g"; }
# json EXPR: the JSON text of the Python expression EXPR, in which h is $H
# (for both engines: SQLite's json_array() is not PostgreSQL's), quoted for SQL
json() {
	python3 -c 'import json,sys; h=sys.argv[2]; print(json.dumps(eval(sys.argv[1]), ensure_ascii=False, separators=(",",":")))' "$1" "$H" |
		sed "s/'/''/g"
}

$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<5)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,owner,updated_at)
 SELECT 'A'||substr(CAST(1000+i AS TEXT),2),'Company '||i,'smb','EMEA',3,'prospect','dana','2026-11-01T00:00:00Z' FROM n" >/dev/null

# --- the book's text arrives by import: signal detail, account and contact names
printf 'id,account_id,kind,observed_at,detail\nS1,A001,hiring,2026-11-20,"%s"\n' "$H" >"$T/sig.csv"
expect 0 "a signal whose detail carries escapes imports (the book is not the door)" \
	$AIRLOCK import signals "$T/sig.csv"
printf 'id,name\nA002,"Evil %s"\n' "$H" >"$T/acc.csv"
expect 0 "an account name with escapes imports" $AIRLOCK import accounts "$T/acc.csv"
printf 'id,account_id,name,email\nC1,A002,"Mal %s",mal@a002.example\n' "$H" >"$T/con.csv"
expect 0 "a contact name with escapes imports" $AIRLOCK import contacts "$T/con.csv"

# --- the door: a proposal carrying any of them is refused whole
prop() { # prop FILE RATIONALE RECORD FIELD REASON EVIDENCE (JSON string bodies)
	printf '{"workflow":"retier","scope":"region=EMEA","rationale":"%s","items":[{"record_id":"%s","field":"%s","value":1,"reason":"%s","evidence":["%s"]}]}' \
		"$2" "$3" "$4" "$5" "$6" >"$1"
}
door() { # door DESC WANT-IN-ERR ARGS-OF-prop
	d_desc=$1
	d_want=$2
	shift 2
	prop "$T/bad.json" "$@"
	expect 1 "the gate refuses $d_desc" $AIRLOCK propose "$T/bad.json" --as agent:scout
	has "the refusal names it ($d_desc)" "$T/err" "$d_want"
	inert "the refusal echoes nothing raw ($d_desc)" "$T/err"
}
door "ESC in a reason" "items\[1\]\.reason contains control character 0x1b" \
	"ok" A001 tier 'fine\u001b[1A\u001b[2K\r     tier: 4 -> 4' S1
door "OSC 8 in the rationale" "argument 'rationale' contains control character 0x1b" \
	'see \u001b]8;;http://x/\u0007here\u001b]8;;\u0007' A001 tier ok S1
door "OSC 52 in the rationale" "argument 'rationale' contains control character 0x1b" \
	'\u001b]52;c;cm0gLXJm\u0007' A001 tier ok S1
door "a C1 CSI in a reason" "items\[1\]\.reason contains control character U\+009B" \
	ok A001 tier 'x\u009b2J' S1
door "U+202E in a reason" "items\[1\]\.reason contains bidirectional or separator character U\+202E" \
	ok A001 tier 'fine\u202egpj.exe' S1
door "U+2066 in the rationale" "argument 'rationale' contains bidirectional or separator character U\+2066" \
	'a\u2066b' A001 tier ok S1
door "backspaces in a reason" "items\[1\]\.reason contains control character 0x08" \
	ok A001 tier 'tier 1\b\b\b\b\b\btier 4' S1
door "a bare CR in a record id" "items\[1\]\.record_id contains control character 0x0d" \
	ok 'A001\r' tier ok S1
door "ESC in a field name" "items\[1\]\.field contains control character 0x1b" \
	ok A001 'tier\u001b[8m' ok S1
door "U+202E in an evidence id" "items\[1\]\.evidence\[1\] contains bidirectional" \
	ok A001 tier ok 'S1\u202e'
sed -i 's/"scope":"region=EMEA"/"scope":"region=EMEA\\n"/' "$T/bad.json"
expect 1 "a line break in the scope is refused" $AIRLOCK propose "$T/bad.json" --as agent:scout
has "naming the scope" "$T/err" "argument 'scope' contains control character 0x0a"
printf '{"survivor_id":"A001","merged_ids":["A003"],"rationale":"dupes","reason":"same \\u001b[2K"}' >"$T/merge.json"
expect 1 "the gate refuses ESC in a merge's reason" $AIRLOCK propose "$T/merge.json" --tool propose_merge --as agent:scout
has "naming the reason" "$T/err" "argument 'reason' contains control character 0x1b"
printf '{"survivor_id":"A001","merged_ids":["A003"],"rationale":"dupes \\u202e"}' >"$T/merge.json"
expect 1 "the gate refuses U+202E in a merge's rationale" $AIRLOCK propose "$T/merge.json" --tool propose_merge --as agent:scout
has "naming the rationale" "$T/err" "argument 'rationale' contains bidirectional"
same "nothing was staged by any of them" "$(sql "SELECT count(*) FROM batch")" 0
prop "$T/ok.json" 'hiring signals\nsecond line' A001 tier '12 SDR roles' S1
expect 0 "line breaks in free text still pass" $AIRLOCK propose "$T/ok.json" --as agent:scout
B=$(sql "SELECT max(id) FROM batch")
# the gate refuses evidence about another account: A002 cites its own signal
sql "INSERT INTO signal(id,account_id,kind,observed_at,detail,updated_at)
 VALUES('S2','A002','news','2026-11-20','plain','2026-11-20T00:00:00Z')"
prop "$T/ok2.json" 'names\nline two' A002 tier 'named' S2
expect 0 "a clean proposal on the hostile-named account" $AIRLOCK propose "$T/ok2.json" --as agent:scout
B2=$(sql "SELECT max(id) FROM batch")

# --- text that got in anyway: stored before the door, or written by a bypass
sql "UPDATE batch SET rationale='$(sqlq "$H")', scope='region=EMEA $(sqlq "$RAW")',
  principal='agent:scout $(sqlq "$H")' WHERE id=$B"
sql " UPDATE batch_item SET reasons='$(json '[h]')',
  changes='$(json '{"tier":1,"custom.note":h}')' WHERE batch_id=$B"
sql " UPDATE batch SET refused='$(json '[{"item":2,"record_id":h,"rule":"unknown_record","reason":h}]')' WHERE id=$B"

expect 0 "show prints the batch" $AIRLOCK show "$B"
inert "show: nothing raw" "$T/out"
has "show: the rationale's escapes are visible" "$T/out" 'rationale: fine\\e\[1A\\e\[2K\\r     tier: 4 -> 4'
has "show: OSC 8 and OSC 52 are visible" "$T/out" '\\e\]8;;http://evil.example/\\x07link.*\\e\]52;c;'
has "show: C1, bidi and backspaces are visible" "$T/out" '\\u009b2J \\u202egpj.exe \\u2066iso\\u2069 bs\\x08\\x08 DEL\\x7f'
has "show: the item's reason is escaped" "$T/out" 'reason: fine\\e\[1A'
has "show: imported signal text is escaped" "$T/out" 'evidence S1: hiring 2026-11-20 "fine\\e\[1A'
has "show: refused items are escaped" "$T/out" '✗ item 2 fine\\e\[1A'
expect 0 "show of the hostile-named account" $AIRLOCK show "$B2"
inert "show: an imported account name is escaped" "$T/out"
has "show: the account name is visible" "$T/out" 'account A002  Evil fine\\e\[1A'
has "show: a line break in a rationale is shown, not made" "$T/out" '^rationale: names\\nline two$'
expect 0 "show --json" $AIRLOCK show "$B" --json
inert "show --json: nothing raw" "$T/out"
same "show --json still carries the exact text" \
	"$(python3 -c "import json,sys; print(json.load(open('$T/out'))['rationale'] == sys.argv[1])" "$H")" True
expect 0 "queue" $AIRLOCK queue
inert "queue: nothing raw" "$T/out"
has "queue: the agent's name is visible" "$T/out" 'agent:scout fine\\e\[1A'
expect 0 "queue --json" $AIRLOCK queue --json
inert "queue --json: nothing raw" "$T/out"

st=$(sql "SELECT state FROM batch WHERE id=$B")
if [ "$st" = staged ]; then
	expect 0 "sample draws the batch" $AIRLOCK sample "$B" --as maria
	inert "sample: nothing raw" "$T/out"
	# sample prints the drawn item as show does (issue 18): field: old → new
	has "sample: a drawn item's new value is visible" "$T/out" 'custom.note: \(empty\) → fine\\e\[1A'
	expect 0 "judge with a hostile note" $AIRLOCK judge "$B" 1 pass --as maria --note "$H"
	inert "judge: nothing raw" "$T/out"
else
	ok "# SKIP batch is $st, not staged"
	ok "# SKIP"
	ok "# SKIP"
	ok "# SKIP"
	ok "# SKIP"
fi

# a careless operator pastes escapes into a reject reason: it lands in the log
expect 0 "reject with a pasted reason" $AIRLOCK reject "$B2" --as maria --reason "$H"
inert "reject: nothing raw" "$T/out"
expect 0 "log" $AIRLOCK log
inert "log: nothing raw" "$T/out"
has "log: the reason is visible" "$T/out" 'fine\\e\[1A'
expect 0 "log --json" $AIRLOCK log --json
inert "log --json: nothing raw" "$T/out"

# a person's explanation of a drift alert, pasted with escapes
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sql "INSERT INTO drift_alert(metric,label,window_seconds,window_start,window_end,test,severity,causes,first_seen,last_seen)
 VALUES('tier1_share','retier',86400,'$now','$now','z','significant','[]','$now','$now')"
A=$(sql "SELECT max(id) FROM drift_alert")
expect 0 "drift ack with a pasted cause" $AIRLOCK drift ack "A$A" --cause "$H" --as maria
inert "drift ack: nothing raw" "$T/out"
has "drift ack: the cause is visible" "$T/out" 'as human:maria: fine\\e\[1A'
expect 0 "drift --json" $AIRLOCK drift --json
inert "drift --json: nothing raw" "$T/out"

# errors that echo input
expect 2 "a hostile batch argument is a usage error" $AIRLOCK show "$H"
inert "the usage error echoes nothing raw" "$T/err"
expect 1 "a hostile draft id is not found" $AIRLOCK drafts "$H"
inert "the not-found error echoes nothing raw" "$T/err"

# --- drafts, briefs, outbox
now=2026-11-25T00:00:00Z
sql "INSERT INTO draft(id,account_id,subject,body,audience,principal,status,findings,created_at,updated_at)
 VALUES('D1','A002','$(sqlq "$H")','hello
$(sqlq "$H")','lifecycle=prospect','agent:scout','send_requested',
 '$(json '[{"rule":"r","message":h}]')','$now','$now')"
sql " INSERT INTO draft_recipient VALUES('D1',0,'C1','mal@a002.example','$(sqlq "$H")')"
sql " INSERT INTO brief(id,account_id,text,evidence,principal,created_at)
 VALUES('R1','A001','$(sqlq "$H")
line two','["S1"]','agent:scout','$now')"
sql " INSERT INTO outbox(draft_id,contact_id,address,message_id,state,attempts,next_attempt_at,last_error,created_at,updated_at)
 VALUES('D1','C1','mal@a002.example','<m1@x>','failed',1,'$now','relay said: $(sqlq "$H")','$now','$now')"
for v in "drafts" "drafts D1" "briefs" "briefs R1" "outbox --all"; do
	expect 0 "$v" $AIRLOCK $v
	inert "$v: nothing raw" "$T/out"
	expect 0 "$v --json" $AIRLOCK $v --json
	inert "$v --json: nothing raw" "$T/out"
done
$AIRLOCK drafts D1 >"$T/out" 2>&1
has "drafts: the subject is visible" "$T/out" 'subject:   fine\\e\[1A'
has "drafts: the body keeps its line breaks" "$T/out" '^hello$'
$AIRLOCK briefs R1 >"$T/out" 2>&1
has "briefs: a brief keeps its line breaks" "$T/out" '^line two$'

# --- notifications: an agent names itself so that a Slack channel is pinged,
# a link forged and text bolded; a local receiver records what airlock posts
cat >"$T/hook.py" <<'PY'
import http.server, json, sys
out, portfile = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "a") as f:
            f.write(body.decode() + "\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 "$T/hook.py" "$T/hook.log" "$T/hook.port" &
HOOK_PID=$!
trap 'kill $HOOK_PID 2>/dev/null; [ -n "${pid:-}" ] && kill $pid 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do [ -s "$T/hook.port" ] && break; sleep 0.1; done
cp "$AIRLOCK_POLICY" "$T/hook-policy.yaml"
printf 'notify:\n  webhook: http://127.0.0.1:%s/hook\n  console_url: http://console.example:8750/\n' \
	"$(cat "$T/hook.port")" >>"$T/hook-policy.yaml"
EVIL='<!channel> <http://evil.example|open> *URGENT* _now_'
prop "$T/n.json" 'notify' A003 tier 'n' S1
sed -i 's/"evidence":\["S1"\]/"evidence":[]/' "$T/n.json"
# an agent's name is a name (cli_identity): mrkdwn never gets in through it
expect 2 "an agent with a hostile name is refused at the door" \
	$AIRLOCK propose "$T/n.json" --as "agent:$EVIL" --policy "$T/hook-policy.yaml"
same "... and nothing waits" "$(sql "SELECT count(*) FROM notify")" 0
# the webhook still neutralises what the stored text holds (a row written
# by hand, or by an older airlock): the hostile name put in its place
expect 0 "an agent proposes" \
	$AIRLOCK propose "$T/n.json" --as "agent:plain" --policy "$T/hook-policy.yaml"
same "a notification waits" "$(sql "SELECT count(*) FROM notify")" 1
sql "UPDATE notify SET text=replace(text,'agent:plain','agent:$EVIL')" >/dev/null
serve_start --policy "$T/hook-policy.yaml"
for _ in $(seq 100); do [ -s "$T/hook.log" ] && break; sleep 0.1; done
kill $pid 2>/dev/null
wait $pid 2>/dev/null
pid=
python3 - "$T/hook.log" >"$T/hookcheck" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    print("mrkdwn=%s" % m.get("mrkdwn"))
    print("text=" + m["text"])
    for b in m["blocks"]:
        t = b["text"]
        print("%s=%s" % (t["type"], t["text"].replace("\n", " ")))
PY
has "the post reached the receiver" "$T/hookcheck" "^text="
has "the fallback text is not mrkdwn" "$T/hookcheck" "^mrkdwn=False$"
has "... and its <!channel> and link are inert" "$T/hookcheck" "^text=.*agent:&lt;!channel&gt; &lt;http://evil.example\|open&gt;"
has "the block carries the agent's text as plain_text" "$T/hookcheck" "^plain_text=.*agent:<!channel> <http://evil.example\|open> \*URGENT\*"
hasnt "no mrkdwn block carries the agent's text" "$T/hookcheck" "^mrkdwn=.*(channel|evil|URGENT)"
has "the only mrkdwn is airlock's link" "$T/hookcheck" "^mrkdwn=<http://console.example:8750/b/[0-9]+\|Open in the airlock console>$"

echo "1..$TN"
