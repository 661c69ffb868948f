#!/bin/sh
# console_api.sh — the console's JSON API and its security with curl against
# a real `airlock serve` on a free loopback port: no access without sign-in,
# CSRF tokens, agent tokens refused, roles, separation of duties, the verbs
# on a demo book, API errors, login links and rate limiting, security
# headers, and webhook notifications to a local receiver with retries.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/console.inc"

# A webhook receiver: records each body; answers 500 to the first post so
# airlock must retry, 200 after.
cat >"$T/hook.py" <<'PY'
import http.server, json, sys
out, portfile = sys.argv[1], sys.argv[2]
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        n[0] += 1
        with open(out, "a") as f:
            f.write(json.dumps({"n": n[0], "ct": self.headers.get("Content-Type"), "body": body.decode()}) + "\n")
        self.send_response(500 if n[0] == 1 else 200)
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 "$T/hook.py" "$T/hook.log" "$T/hook.port" &
HOOK_PID=$!
trap 'console_stop; kill $HOOK_PID 2>/dev/null; lib_cleanup' EXIT
for _ in $(seq 50); do [ -s "$T/hook.port" ] && break; sleep 0.1; done
HOOK_PORT=$(cat "$T/hook.port")

console_book 800 || { notok "the demo book and reviewers"; exit 1; }
ok "a demo book with three reviewers"
hash=$(sql "SELECT pw_hash FROM reviewer WHERE name='alice'")
case "$hash" in '$argon2id$'*) ok "passwords are kept as Argon2id hashes" ;; *) notok "passwords are kept as Argon2id hashes" "$hash" ;; esac
same "the password itself is nowhere in the database" "$(sql "SELECT count(*) FROM reviewer WHERE pw_hash LIKE '%alice-password%'")" 0
expect 1 "reviewer add of an existing name fails" sh -c "echo another-password | '$AIRLOCK' reviewer add alice --password-stdin"
has "... saying so" "$T/err" "reviewer 'alice' exists"
expect 1 "a short password is refused" sh -c "echo short | '$AIRLOCK' reviewer add erin --password-stdin"
has "... naming the rule" "$T/err" "shorter than 8"
expect 2 "a bad role is a usage error" "$AIRLOCK" reviewer add erin --role boss
expect 2 "a bad name is a usage error" "$AIRLOCK" reviewer add 'x y'
expect 2 "reviewer with no subcommand is a usage error" "$AIRLOCK" reviewer
expect 2 "--password-stdin with --link is a usage error" "$AIRLOCK" reviewer add erin --password-stdin --link
expect 1 "removing an unknown reviewer fails" "$AIRLOCK" reviewer remove nobody
has "... naming it" "$T/err" "there is no reviewer 'nobody'"
expect 0 "reviewer list" "$AIRLOCK" reviewer list
has "... shows roles" "$T/out" "^bob +viewer +password"
hasnt "... and no hash" "$T/out" "argon2"

# the policy: the default one plus a webhook
cp "$AIRLOCK_POLICY" "$T/policy.yaml"
printf 'notify:\n  webhook: http://127.0.0.1:%s/hook\n  console_url: http://console.example:8750/\n' "$HOOK_PORT" >>"$T/policy.yaml"
export AIRLOCK_POLICY="$T/policy.yaml"
expect 0 "policy check accepts notify" "$AIRLOCK" policy check
cp "$AIRLOCK_POLICY" "$T/bad.yaml"
sed -i 's|webhook: http://127.0.0.1|webhook: ftp://127.0.0.1|' "$T/bad.yaml"
expect 1 "policy check refuses a webhook that is not http(s)" "$AIRLOCK" policy check --policy "$T/bad.yaml"
cat "$T/out" "$T/err" >"$T/both"
has "... naming file, line and key" "$T/both" "bad.yaml:[0-9]+:[0-9]+: .*webhook"
printf 'notify:\n  console_url: "http://x y"\n' >"$T/bad2.yaml"
sed -n '1,/^smtp:/p' "$AIRLOCK_POLICY" | sed '$d' >"$T/bad3.yaml"
cat "$T/bad2.yaml" >>"$T/bad3.yaml"
expect 1 "policy check refuses a console_url with a space, and notify without webhook" "$AIRLOCK" policy check --policy "$T/bad3.yaml"
cat "$T/out" "$T/err" >"$T/both"
has "... the url" "$T/both" "console_url"
has "... the missing webhook" "$T/both" "notify has no webhook"

sed 's/^version: 1/versoin: 1/' "$AIRLOCK_POLICY" >"$T/typo.yaml"
expect 1 "a misspelt version key is reported, not a crash (regression)" "$AIRLOCK" policy check --policy "$T/typo.yaml"
cat "$T/out" "$T/err" >"$T/both"
has "... naming the key" "$T/both" "unknown key 'versoin'"

# the agent's work, with HTML in a signal's text
sql "INSERT INTO signal(id,account_id,kind,observed_at,detail,updated_at) VALUES('SXSS',
 (SELECT min(id) FROM account),'news','2026-11-20T00:00:00Z',
 '<img src=x onerror=\"window.__xss=1\"><script>window.__xss=1</script> & more','2026-11-20T00:00:00Z')"
B1=$(console_propose 40 scout 0 SXSS)
B2=$(console_propose 300 bulk 100)
B3=$(console_propose 10 helper 500)
set -- $(console_send mailer "Hello <b>there</b>" "<script>alert(1)</script> see you")
D1=$1 S1=$2
same "batch $B1 is staged" "$(sql "SELECT state FROM batch WHERE id=$B1")" staged
same "batch $B2 (300 > stage_max 200) is blocked" "$(sql "SELECT state FROM batch WHERE id=$B2")" blocked
same "the send $S1 is blocked for approval" "$(sql "SELECT state||action FROM batch WHERE id=$S1")" blockedsend
sql "UPDATE batch SET principal='human:alice' WHERE id=$B3"
same "notifications were queued for the waiting batches" "$(sql "SELECT count(*) FROM notify")" 4
WT=$("$AIRLOCK" token create --connector write --agent scout 2>/dev/null)

console_serve || { notok "serve started" "$(cat "$T/serve.log")"; exit 1; }
ok "serve started with the console"
has "serve names the console's address" "$T/serve.log" "console at http://console.example:8750/"

# req METHOD PATH [curl args]: status in $T/code, body in $T/body, headers in $T/hdr
req() {
	m=$1 p=$2
	shift 2
	curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$m" "$@" "$BASE$p" >"$T/code"
}
code() { cat "$T/code"; }
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d = d[int(k)] if isinstance(d, list) else d.get(k)
print(d if not isinstance(d,(dict,list)) else json.dumps(d))' "$T/body" "$1"; }

# the page
req GET /
same "GET /: 200" "$(code)" 200
has "... HTML" "$T/hdr" "Content-Type: text/html"
has "... a Content-Security-Policy without inline script" "$T/hdr" "Content-Security-Policy: default-src 'self'; script-src 'self';"
has "... X-Frame-Options DENY" "$T/hdr" "X-Frame-Options: DENY"
has "... Referrer-Policy no-referrer" "$T/hdr" "Referrer-Policy: no-referrer"
has "... nosniff" "$T/hdr" "X-Content-Type-Options: nosniff"
has "... a strong ETag" "$T/hdr" 'ETag: "sha256-[0-9a-f]{32}"'
has "... Cache-Control" "$T/hdr" "Cache-Control: no-cache"
hasnt "the page has no inline script" "$T/body" "<script>"
etag=$(sed -n 's/^ETag: *//p' "$T/hdr" | tr -d '\r')
req GET / -H "If-None-Match: $etag"
same "If-None-Match: 304" "$(code)" 304
req GET /
has "the page asks for its script by its digest" "$T/body" 'src="/app.js\?v=[0-9a-f]{32}"'
hasnt "... one script and one stylesheet: the replay view's files only in an inert template" "$T/body" '^<script src="/replay|^<link rel="stylesheet" href="/replay'
v=$(sed -n 's|.*src="/app.js?v=\([0-9a-f]*\)".*|\1|p' "$T/body")
req GET "/app.js?v=$v"
same "app.js by its digest: 200" "$(code)" 200
has "... which the browser may keep for good" "$T/hdr" "Cache-Control: public, max-age=31536000, immutable"
req GET "/app.js?v=0123456789abcdef0123456789abcdef"
has "another digest (an old page, a guess) is only revalidated" "$T/hdr" "Cache-Control: no-cache"
req GET /app.js
same "app.js: 200" "$(code)" 200
has "... as JavaScript" "$T/hdr" "Content-Type: text/javascript"
hasnt "app.js never uses innerHTML" "$T/body" "innerHTML"
req GET /nope.js
same "an unknown asset: 404" "$(code)" 404
req POST /
same "POST to the page: 405" "$(code)" 405
req GET / -H "Host: evil.example:$PORT"
same "another Host: 403 (DNS rebinding)" "$(code)" 403

# no access without signing in; agent tokens never
for p in /api/queue /api/batches/$B1 /api/me /api/drafts /api/log /api/verify /api/autonomy; do
	req GET "$p"
	same "GET $p without a session: 401" "$(code)" 401
done
has "... saying to sign in" "$T/body" '"error":"not signed in'
req POST "/api/batches/$B1/approve"
same "POST approve without a session: 401" "$(code)" 401
req GET /api/queue -H "Authorization: Bearer $WT"
same "an agent token on the API: 403" "$(code)" 403
has "... saying the console is for people" "$T/body" "agent tokens"
req GET / -H "Authorization: Bearer $WT"
same "an agent token on the page: 403" "$(code)" 403
req POST /login -H "Authorization: Bearer $WT" -H 'Content-Type: application/json' --data '{"name":"alice","password":"alice-password"}'
same "an agent token cannot sign in: 403" "$(code)" 403

# sign in
req POST /login -H 'Content-Type: application/json' --data '{"name":"alice","password":"wrong-password"}'
same "a wrong password: 401" "$(code)" 401
w1=$(cat "$T/body")
req POST /login -H 'Content-Type: application/json' --data '{"name":"nobody","password":"wrong-password"}'
same "an unknown name: 401" "$(code)" 401
same "... with the same answer as a wrong password" "$(cat "$T/body")" "$w1"
req POST /login -H 'Content-Type: application/json' --data '{"name":'
same "a malformed login body: 400" "$(code)" 400
req POST /login -c "$T/alice" -H 'Content-Type: application/json' --data '{"name":"alice","password":"alice-password"}'
same "alice signs in: 200" "$(code)" 200
has "... the cookie is HttpOnly and SameSite=Strict" "$T/hdr" "Set-Cookie: airlock_session=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict"
CSRF=$(jget csrf)
same "... a 64-hex CSRF token" "${#CSRF}" 64
cookie=$(sed -n 's/.*airlock_session=\([0-9a-f]*\).*/\1/p' "$T/hdr" | head -1)
same "only a hash of the session id is stored" "$(sql "SELECT count(*) FROM reviewer_session WHERE id_hash='$cookie'")" 0
A="-b $T/alice"
req GET /api/me $A
same "/api/me: alice" "$(jget principal)" "human:alice"
same "... role reviewer" "$(jget role)" reviewer
same "the sign-in is logged" "$(sql "SELECT count(*) FROM action_log WHERE tool='console login' AND principal='human:alice'")" 1

# the queue
req GET /api/queue $A
same "the queue: 200" "$(code)" 200
same "... oldest first" "$(python3 -c 'import json,sys; print(",".join(str(b["id"]) for b in json.load(open(sys.argv[1]))["batches"]))' "$T/body")" "$B1,$B2,$B3,$S1"
same "... with what each waits for" "$(jget batches.1.waits_for)" "approve or reject"

# a batch
req GET "/api/batches/$B1" $A
same "a batch: 200" "$(code)" 200
same "... its items" "$(jget item_list.0.idx)" 1
same "... the diff of an item" "$(jget item_list.0.diff.0.field)" tier
same "... the cited signal's text, as data" "$(jget item_list.0.evidence.0.detail)" '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script> & more'
same "... the instruction version" "$(jget instruction_version)" retier-v3
same "... the verbs alice may use" "$(jget verbs.allowed)" '["sample", "approve", "reject"]'
req GET /api/batches/999999 $A
same "an unknown batch: 404" "$(code)" 404
has "... as a JSON error" "$T/body" '^\{"error":"no batch 999999"\}$'

# a batch's own address, /b/ID: the page with its first answers in it, as
# JSON in data blocks. B1's first item cites a signal whose text is HTML
# with a <script> of its own.
cat >"$T/blocks.py" <<'PY'
import html.parser, json, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.scripts, self.cur = [], None
    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.cur = dict(attrs)
            self.cur["_data"] = ""
            self.scripts.append(self.cur)
    def handle_data(self, d):
        if self.cur is not None:
            self.cur["_data"] += d
    def handle_endtag(self, tag):
        if tag == "script":
            self.cur = None
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
for s in p.scripts:
    if "src" in s:
        print("script", s["src"].split("?")[0], "ok" if not s["_data"] else "with text")
        continue
    if s.get("type") != "application/json":
        print("RUNNABLE script", s)
        continue
    d = s["_data"]
    v = json.loads(d)
    print("data", s.get("data-path"), "no '<'" if "<" not in d else "RAW '<'")
    if s.get("data-path", "").startswith("/api/batches/"):
        print("detail", v["item_list"][0]["evidence"][0]["detail"])
        print("verbs", ",".join(v["verbs"]["allowed"]))
    if s.get("data-path") == "/api/me":
        print("me", v["principal"], len(v["csrf"]))
PY
req GET "/b/$B1" $A
same "/b/ID, signed in: 200" "$(code)" 200
has "... HTML" "$T/hdr" "Content-Type: text/html"
has "... under the same CSP: no inline script runs" "$T/hdr" "Content-Security-Policy: default-src 'self'; script-src 'self';"
has "... never kept by a cache (a reviewer's data and CSRF token)" "$T/hdr" "Cache-Control: no-store"
python3 "$T/blocks.py" "$T/body" >"$T/blocks" 2>&1
has "... the batch's answer in a data block" "$T/blocks" "^data /api/batches/$B1 no '<'$"
has "... and /api/me's" "$T/blocks" "^data /api/me no '<'$"
has "... the signal's HTML and <script> whole inside it, as a JSON string" "$T/blocks" '^detail <img src=x onerror="window.__xss=1"><script>window.__xss=1</script> & more$'
has "... the verbs of the reviewer who asked" "$T/blocks" "^verbs sample,approve,reject$"
has "... alice's own session" "$T/blocks" "^me human:alice 64$"
same "... and no script but the page's own file (the replay view's in its template)" "$(grep -c '^script ' "$T/blocks") $(grep -c 'RUNNABLE\|RAW\|with text' "$T/blocks")" "2 0"
hasnt "... the signal's text never as HTML" "$T/body" "<img src=x|<script>window"
req GET "/b/B$B1" $A
has "/b/B12 names the same batch" "$T/body" "data-path=\"/api/batches/$B1\""
req GET "/b/$B1" -b "airlock_session=$(printf '%064d' 0)"
same "/b/ID with a made-up session: the page" "$(code)" 200
hasnt "... with no answer in it" "$T/body" "application/json|csrf"
has "... but the page's own requests asked for early (they carry the cookie a link from elsewhere does not)" "$T/body" "<link rel=\"preload\" as=\"fetch\" crossorigin href=\"/api/batches/$B1\">"
req GET "/b/$B1"
hasnt "/b/ID signed out: no answer in the page" "$T/body" "application/json"
req GET "/b/$B1" $A -H "Authorization: Bearer $WT"
same "/b/ID with an agent's token: 403, even with a reviewer's cookie" "$(code)" 403
hasnt "... and nothing of the batch" "$T/body" "item_list"
req GET "/b/nope" $A
same "/b/ and not a batch number: 404" "$(code)" 404
req GET "/b/$B1/x" $A
same "/b/ID/more: 404" "$(code)" 404
req GET "/b/999999" $A
same "/b/ of an unknown batch: the page (which says so), no answer in it" "$(code) $(grep -c 'data-path="/api/batches' "$T/body")" "200 0"
req POST "/b/$B1" $A -H "X-CSRF-Token: $CSRF"
same "/b/ID takes GET only: 405" "$(code)" 405
req GET / $A
has "/ signed in: the queue's answer in the page" "$T/body" 'data-path="/api/queue"'
has "... never cached" "$T/hdr" "Cache-Control: no-store"
req GET /api/batches/abc $A
same "a bad batch id: 400" "$(code)" 400
req GET "/api/batches/$B1/approve" $A
same "GET on a verb: 405" "$(code)" 405
req GET /api/nothing $A
same "an unknown API: 404" "$(code)" 404

# CSRF
req POST "/api/batches/$B1/sample" $A
same "sample without a CSRF token: 403" "$(code)" 403
has "... naming the header" "$T/body" "X-CSRF-Token"
req POST "/api/batches/$B1/sample" $A -H "X-CSRF-Token: $(printf '%064d' 0)"
same "sample with a wrong CSRF token: 403" "$(code)" 403
same "... and the batch is still staged" "$(sql "SELECT state FROM batch WHERE id=$B1")" staged
C="-H X-CSRF-Token:$CSRF -H Content-Type:application/json"

# sample, judge, apply, undo
req POST "/api/batches/$B1/sample" $A $C
same "sample: 200" "$(code)" 200
same "... the batch is sampled" "$(jget state)" sampled
drawn=$(jget sample.items)
n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$drawn")
[ "$n" -ge 1 ] && ok "... $n items drawn" || notok "items drawn" "$drawn"
has "... with the confidence statement" "$T/body" "confidence"
req POST "/api/batches/$B1/judge" $A $C --data '{"item":0,"verdict":"pass"}'
same "judge item 0: 400" "$(code)" 400
req POST "/api/batches/$B1/judge" $A $C --data '{"item":1,"verdict":"maybe"}'
same "judge with a bad verdict: 400" "$(code)" 400
req POST "/api/batches/$B1/judge" $A $C --data 'not json'
same "a body that is not JSON: 400" "$(code)" 400
has "... saying so" "$T/body" "not JSON"
req GET "/api/batches/$B1" $A
same "the sampled batch's answer (kept for the next request)" "$(jget state)" sampled
for i in $(python3 -c 'import json,sys; print(" ".join(map(str, json.loads(sys.argv[1]))))' "$drawn"); do
	req POST "/api/batches/$B1/judge" $A $C --data "{\"item\":$i,\"verdict\":\"pass\"}"
done
first=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0])' "$drawn")
req GET "/api/batches/$B1" $A
same "the next answer has the verdicts and the new state at once" \
	"$(jget state) $(python3 -c 'import json,sys; print([i["verdict"] for i in json.load(open(sys.argv[1]))["item_list"] if i["idx"] == int(sys.argv[2])][0])' "$T/body" "$first")" "approved pass"
same "every drawn item passed: approved" "$(sql "SELECT state FROM batch WHERE id=$B1")" approved
same "... verdicts by human:alice" "$(sql "SELECT count(DISTINCT verdict_by) || max(verdict_by) FROM batch_item WHERE batch_id=$B1 AND verdict IS NOT NULL")" "1human:alice"
acct=$(sql "SELECT record_id FROM batch_item WHERE batch_id=$B1 AND idx=1")
before=$(sql "SELECT tier FROM account WHERE id='$acct'")
req POST "/api/batches/$B1/apply" $A $C
same "apply: 200" "$(code)" 200
same "... applied" "$(sql "SELECT state FROM batch WHERE id=$B1")" applied
[ "$(sql "SELECT tier FROM account WHERE id='$acct'")" != "$before" ] && ok "... the book changed" || notok "the book changed"
req POST "/api/batches/$B1/apply" $A $C
same "apply again: 409" "$(code)" 409
has "... naming the state" "$T/body" "applied"
req POST "/api/batches/$B1/undo" $A $C
same "undo: 200" "$(code)" 200
same "... undone, the tier restored" "$(sql "SELECT b.state||a.tier FROM batch b, account a WHERE b.id=$B1 AND a.id='$acct'")" "undone$before"
same "the log has the console's verbs by alice" "$(sql "SELECT tool FROM action_log WHERE batch_id='$B1' AND surface='console' AND principal='human:alice' ORDER BY seq" | awk '!seen[$0]++' | paste -sd,)" "sample,judge,apply,undo"

# reject needs a reason; a viewer cannot approve; nobody approves their own
req POST "/api/batches/$B2/reject" $A $C --data '{}'
same "reject without a reason: 400" "$(code)" 400
req POST /login -c "$T/bob" -H 'Content-Type: application/json' --data '{"name":"bob","password":"bob-password"}'
BCSRF=$(jget csrf)
req GET /api/queue -b "$T/bob"
same "a viewer reads the queue" "$(code)" 200
req POST "/api/batches/$B2/approve" -b "$T/bob" -H "X-CSRF-Token: $BCSRF"
same "a viewer cannot approve: 403" "$(code)" 403
has "... saying the role" "$T/body" "viewer"
same "... the batch is still blocked" "$(sql "SELECT state FROM batch WHERE id=$B2")" blocked
req GET "/api/batches/$B2" -b "$T/bob"
same "... and is offered no verb" "$(jget verbs.allowed)" "[]"
req GET "/api/batches/$B3" $A
same "alice's own batch offers her no approve" "$(jget verbs.allowed)" '["reject"]'
req POST "/api/batches/$B3/approve" $A $C
same "alice cannot approve her own proposal: 403" "$(code)" 403
has "... separation of duties" "$T/body" "proposed batch $B3"
same "... still staged" "$(sql "SELECT state FROM batch WHERE id=$B3")" staged
req POST "/api/batches/$B3/sample" $A $C
same "... nor sample it: 403" "$(code)" 403
req POST /login -c "$T/carol" -H 'Content-Type: application/json' --data '{"name":"carol","password":"carol-password"}'
CC="-b $T/carol -H X-CSRF-Token:$(jget csrf)"
req GET "/api/batches/$B3" -b "$T/carol"
same "the page offers carol approve only as an override" "$(jget verbs.approve_is_override)" "batch $B3 was never sampled: no item of it was read"
req POST "/api/batches/$B3/approve" $CC
same "a plain approve of a batch never sampled: 409" "$(code)" 409
has "... saying what is unfinished and how to override" "$T/body" "never sampled.*POST /api/batches/$B3/approve .*override.*true.*reason"
same "... still staged" "$(sql "SELECT state FROM batch WHERE id=$B3")" staged
req POST "/api/batches/$B3/approve" $CC --data '{"override":true}'
same "an override without a reason: 400" "$(code)" 400
req POST "/api/batches/$B3/approve" $CC --data '{"override":"yes","reason":"x"}'
same "override must be a boolean: 400" "$(code)" 400
req POST "/api/batches/$B3/approve" $CC --data '{"override":true,"reason":"read by hand"}'
same "another reviewer approves it as an override: 200" "$(code)" 200
same "... the batch shows the override" "$(jget override.reason)" "read by hand"
same "... logged as one" "$(sql "SELECT decision || ':' || surface FROM action_log WHERE batch_id='$B3' AND tool='approve'")" "override:console"
req POST "/api/batches/$B2/approve" $A $C
same "alice approves the blocked batch: 200" "$(code)" 200
same "... decided by alice" "$(sql "SELECT decided_by FROM batch WHERE id=$B2")" "human:alice"

# a batch's answer is kept between requests, never stale: each reviewer
# gets their own verbs, and a record changed behind airlock's back (no log
# entry) shows as a conflict at the next request
req GET "/api/batches/$B2" $A
same "alice may apply the approved batch" "$(jget verbs.allowed)" '["apply"]'
req GET "/api/batches/$B2" -b "$T/bob"
same "... bob, a viewer, asking right after her, gets his own verbs" "$(jget verbs.allowed)" "[]"
req GET "/api/batches/$B2" $A
same "... no conflict on item 3 yet" "$(jget item_list.2.conflict)" False
k3=$(sql "SELECT record_id FROM batch_item WHERE batch_id=$B2 AND idx=3")
sql "UPDATE account SET version=version+1 WHERE id='$k3'"
req GET "/api/batches/$B2" $A
same "a record changed without a log entry is a conflict at the next request" "$(jget item_list.2.conflict)" True
sql "UPDATE account SET version=version-1 WHERE id='$k3'"
req GET "/api/batches/$B2" $A
same "... and not once it is back" "$(jget item_list.2.conflict)" False

# a conflict: a record of the approved batch changed since it was staged
cacct=$(sql "SELECT record_id FROM batch_item WHERE batch_id=$B2 AND idx=2")
sql "UPDATE account SET version=version+1, owner='someone else' WHERE id='$cacct'"
req GET "/api/batches/$B2" $A
same "a changed record shows as a conflict" "$(jget item_list.1.conflict)" True
req POST "/api/batches/$B2/apply" $A $C
same "apply over a conflict: 409" "$(code)" 409
same "... listing the conflicting record" "$(jget report.conflicts.0.record_id)" "$cacct"
same "... nothing applied" "$(sql "SELECT state FROM batch WHERE id=$B2")" approved
req POST "/api/batches/$B2/apply" $A $C --data '{"skip_conflicts":"yes"}'
same "skip_conflicts must be a boolean: 400" "$(code)" 400
req POST "/api/batches/$B2/apply" $A $C --data '{"skip_conflicts":true}'
same "apply skipping conflicts: 200" "$(code)" 200
same "... applied, the changed record left alone" "$(sql "SELECT b.state||':'||a.owner FROM batch b, account a WHERE b.id=$B2 AND a.id='$cacct'")" "applied:someone else"

# refused items: outside the declared scope
python3 - "$(sql "SELECT id FROM account WHERE region='EMEA' ORDER BY id LIMIT 3 OFFSET 50")" \
	"$(sql "SELECT id FROM account WHERE region='NA' ORDER BY id LIMIT 1 OFFSET 50")" "$T/scoped.json" <<'PY'
import json, sys
emea, na = sys.argv[1].split(), sys.argv[2]
items = [{"record_id": a, "field": "owner", "value": "dana", "reason": "x"} for a in emea + [na]]
json.dump({"workflow": "field_update", "scope": "region=EMEA", "rationale": "r", "items": items},
          open(sys.argv[3], "w"))
PY
B4=$("$AIRLOCK" propose "$T/scoped.json" --as agent:scoper --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["batch_id"])')
req GET "/api/batches/$B4" $A
same "an out-of-scope item is refused, shown with its rule" "$(jget refused.0.rule)" outside_scope
same "... and is not part of the batch" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["item_list"]))' "$T/body")" 3

# the send: reject with a reason, the draft goes back to the rep
req GET /api/drafts $A
same "drafts: the requested send links its batch" "$(jget drafts.0.send_batch)" "$S1"
req GET "/api/batches/$S1" $A
same "the send batch shows the draft's subject as data" "$(jget item_list.0.draft.subject)" "Hello <b>there</b>"
req POST "/api/batches/$S1/reject" $A $C --data '{"reason":"wrong contact"}'
same "reject the send: 200" "$(code)" 200
same "... rejected with its reason" "$(sql "SELECT state||':'||reject_reason FROM batch WHERE id=$S1")" "rejected:wrong contact"
same "... the draft is a draft again" "$(sql "SELECT status FROM draft WHERE id='$D1'")" draft
req PATCH "/api/drafts/$D1" $A $C --data '{"subject":"Line one\nLine two"}'
same "a two-line subject: 400" "$(code)" 400
req PATCH "/api/drafts/$D1" $A $C --data '{"subject":"A better subject","body":"Hi,\n\nshort and plain."}'
same "edit the draft: 200" "$(code)" 200
same "... stored" "$(sql "SELECT subject FROM draft WHERE id='$D1'")" "A better subject"
same "... and logged" "$(sql "SELECT count(*) FROM action_log WHERE tool='edit_draft' AND principal='human:alice' AND surface='console'")" 1
req PATCH "/api/drafts/$D1" -b "$T/bob" -H "X-CSRF-Token: $BCSRF" --data '{"subject":"x"}'
same "a viewer cannot edit a draft: 403" "$(code)" 403
req DELETE "/api/drafts/$D1" $A $C
same "discard the draft: 200" "$(code)" 200
same "... discarded" "$(sql "SELECT status FROM draft WHERE id='$D1'")" discarded
req DELETE "/api/drafts/$D1" $A $C
same "discard it again: 409" "$(code)" 409
req GET /api/drafts/nope $A
same "an unknown draft: 404" "$(code)" 404
req GET /api/briefs $A
same "briefs: 200" "$(code)" 200

# the log, why, verify, autonomy
req GET "/api/log?batch=$B1&tool=judge" $A
same "log search by batch and tool" "$(jget entries.0.tool)" judge
req GET "/api/log?record=$acct&limit=2" $A
same "log search by record, limited" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["entries"]))' "$T/body")" 2
req GET "/api/log?since=yesterday" $A
same "a bad since: 400" "$(code)" 400
req GET "/api/log?limit=0" $A
same "a bad limit: 400" "$(code)" 400
req GET "/api/log/why?batch=$B1&item=1" $A
same "why: the item" "$(jget item.record_id)" "$acct"
same "... the story starts with the proposal" "$(jget entries.0.tool)" propose_changes
req GET "/api/log/why?batch=$B1&item=9999" $A
same "why of an unknown item: 404" "$(code)" 404
req GET /api/log/why $A
same "why without a batch: 400" "$(code)" 400
req GET /api/verify $A
same "verify: the chain is intact" "$(jget ok)" True
req GET /api/autonomy $A
same "autonomy: retier's evidence" "$(python3 -c 'import json,sys; print([w["inspected"] for w in json.load(open(sys.argv[1]))["workflows"] if w["workflow"]=="retier"][0] > 0)' "$T/body")" True
req GET /api/drift $A
same "drift: the report" "$(code)" 200
same "... with its metrics" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["metrics"]) > 0 and isinstance(d["alerts"], list))' "$T/body")" True
req POST /api/drift/alerts/999/ack $A -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' -d '{"cause":"x"}'
same "ack of an unknown alert: 404" "$(code)" 404
req POST /api/drift/alerts/1/ack $A -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' -d '{}'
same "ack without a cause: 400" "$(code)" 400
req POST /api/drift/alerts/1/ack $A -H 'Content-Type: application/json' -d '{"cause":"x"}'
same "ack without a CSRF token: 403" "$(code)" 403
req GET /metrics
same "/metrics: 200" "$(code)" 200
has "/metrics is Prometheus text" "$T/body" "^# TYPE airlock_drift_"
req GET /api/reviewers $A
same "reviewers for a reviewer: 403" "$(code)" 403
req GET /api/reviewers -b "$T/carol"
same "reviewers for an admin: 200" "$(code)" 200

# sign-in by link; rate limiting; sign-out; removal
"$AIRLOCK" reviewer add dan --link >"$T/link" 2>"$T/err"
has "reviewer add --link prints a link to the console" "$T/link" "^http://console.example:8750/login\?link=[0-9a-f]{64}$"
tok=$(sed 's/.*link=//' "$T/link")
req POST /login -c "$T/dan" -H 'Content-Type: application/json' --data "{\"link\":\"$tok\"}"
same "the link signs dan in" "$(jget principal)" "human:dan"
req POST /login -H 'Content-Type: application/json' --data "{\"link\":\"$tok\"}"
same "the link works once: 401" "$(code)" 401
echo eve-password-1 | "$AIRLOCK" reviewer add eve --password-stdin >/dev/null
for _ in 1 2 3 4 5; do req POST /login -H 'Content-Type: application/json' --data '{"name":"eve","password":"guess-guess"}'; done
req POST /login -H 'Content-Type: application/json' --data '{"name":"eve","password":"eve-password-1"}'
same "six attempts in a minute: 429 even with the right password" "$(code)" 429
has "... with Retry-After" "$T/hdr" "Retry-After: 60"
req POST /login -H 'Content-Type: application/x-www-form-urlencoded' --data 'name=carol&password=carol-password'
same "a form sign-in: 303 to the queue" "$(code)" 303
req POST /logout $A
same "logout without CSRF: 403" "$(code)" 403
req POST /logout $A -H "X-CSRF-Token: $CSRF"
same "logout: 204" "$(code)" 204
curl -s -o /dev/null -w '%{http_code}' -b "$T/alice" "$BASE/api/me" >"$T/code"
same "the old session no longer works: 401" "$(code)" 401
"$AIRLOCK" reviewer remove bob >/dev/null
req GET /api/me -b "$T/bob"
same "a removed reviewer's session ends: 401" "$(code)" 401
same "adding and removing reviewers is logged" "$(sql "SELECT count(*) FROM action_log WHERE tool IN ('reviewer add','reviewer remove')")" 6

# notifications: the first post fails (500), the retry gets through
for _ in $(seq 100); do
	[ "$(sql "SELECT count(*) FROM notify WHERE state<>'sent'")" -eq 0 ] && break
	sleep 0.2
done
NOTES=$(sql "SELECT count(*) FROM notify")
same "every notification was delivered" "$(sql "SELECT count(*) FROM notify WHERE state='sent'")" "$(sql "SELECT count(*) FROM notify")"
same "... one of them after a retry" "$(sql "SELECT count(*) FROM notify WHERE attempts=2")" 1
python3 - "$T/hook.log" "$B2" >"$T/hookcheck" <<'PY'
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
b2 = [json.loads(p["body"]) for p in posts if "batch %s " % sys.argv[2] in json.loads(p["body"])["text"]]
print("posts=%d" % len(posts))
print("ct=%s" % posts[0]["ct"])
print("b2=%d" % len(b2))
if b2:
    print("text=" + b2[0]["text"])
    print("block=" + " ".join(b["text"]["text"] for b in b2[0]["blocks"]).replace("\n", " "))
PY
has "the receiver got a post per event ($NOTES), and the retry" "$T/hookcheck" "^posts=$((NOTES + 1))$"
has "... as JSON" "$T/hookcheck" "^ct=application/json"
has "... the blocked batch's text with a link to its page" "$T/hookcheck" "^text=airlock: batch $B2 .*blocked.*http://console.example:8750/b/$B2$"
has "... a Slack block with the link" "$T/hookcheck" "^block=.*<http://console.example:8750/b/$B2\|Open in the airlock console>"

console_stop
hasnt "serve stopped with no sanitizer report" "$T/serve.log" "ERROR: (Address|Leak)Sanitizer|runtime error"
