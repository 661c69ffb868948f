#!/bin/sh
# serve_tls.sh — airlock serve over HTTPS (--tls-cert/--tls-key, libmicrohttpd's
# TLS): a client that verifies against the certificate gets through, one that
# trusts nothing refuses the connection, plain HTTP on the TLS port gets no
# answer; OAuth's metadata names https URLs; the session cookie is Secure;
# and the options' misuse is refused before anything listens.
. "$(dirname "$0")/lib.sh"

expect 0 "init" "$AIRLOCK" init
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 ||
	notok "openssl made a test certificate"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-keyout "$T/other-key.pem" -out "$T/other-cert.pem" >/dev/null 2>&1
RT=$("$AIRLOCK" token create --connector read --agent tls-r 2>/dev/null)
echo carol-password | "$AIRLOCK" reviewer add carol --role admin --password-stdin >/dev/null 2>&1

expect 2 "--tls-cert without --tls-key: usage error" "$AIRLOCK" serve --listen 127.0.0.1:0 --tls-cert "$T/cert.pem"
has "... says they go together" "$T/err" "go together"
expect 2 "--tls-cert with --insecure-http: usage error" "$AIRLOCK" serve --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" --insecure-http
expect 1 "a certificate file that is not PEM: refused" "$AIRLOCK" serve --listen 127.0.0.1:0 --tls-cert "$AIRLOCK_POLICY" --tls-key "$T/key.pem"
has "... names the file" "$T/err" "not a PEM file"
expect 1 "a key that does not belong to the certificate: refused at start" timeout 20 "$AIRLOCK" serve --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/other-key.pem"
has "... says so" "$T/err" "TLS"
# a non-loopback address needs no --insecure-http with TLS: checked without
# binding it (the key file is missing, which is reported first)
expect 1 "--listen 0.0.0.0 with TLS is not refused as plain HTTP" "$AIRLOCK" serve --listen 0.0.0.0:0 --tls-cert "$T/cert.pem" --tls-key "$T/missing.pem"
hasnt "... (no 'clear' complaint)" "$T/err" "in the clear"
has "... the missing key is" "$T/err" "cannot open"

"$AIRLOCK" serve --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" >"$T/serve.log" 2>&1 &
pid=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*listening on https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/serve.log")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] && ok "serve says it listens on https://" || notok "serve says it listens on https://" "$(cat "$T/serve.log")"
B="https://127.0.0.1:$port"

code=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/cert.pem" "$B/.well-known/oauth-authorization-server")
same "a client verifying against the certificate: 200" "$code" 200
has "... the issuer is the https URL" "$T/body" "\"issuer\":\"$B\""
curl -s -o /dev/null --cacert "$T/other-cert.pem" "$B/" 2>"$T/curl.err"
rc=$?
[ "$rc" -ne 0 ] && ok "a client trusting another certificate refuses the connection (curl exit $rc)" ||
	notok "a client trusting another certificate refuses the connection"
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/" >/dev/null 2>&1
rc=$?
[ "$rc" -ne 0 ] && ok "plain HTTP on the TLS port gets no HTTP answer (curl exit $rc)" ||
	notok "plain HTTP on the TLS port gets no HTTP answer"
code=$(curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/cert.pem" -X POST "$B/mcp/read" \
	-H "Authorization: Bearer $RT" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
	--data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}')
same "MCP over HTTPS with a token: 200" "$code" 200
curl -s -o /dev/null -D "$T/hdr" --cacert "$T/cert.pem" -X POST "$B/mcp/read" -H 'Content-Type: application/json' \
	-H 'Accept: application/json, text/event-stream' --data '{}'
has "a 401 over HTTPS points to https metadata" "$T/hdr" "resource_metadata=\"$B/.well-known/oauth-protected-resource/mcp/read\""
curl -s -o /dev/null -D "$T/hdr" --cacert "$T/cert.pem" -H 'Content-Type: application/json' \
	--data '{"name":"carol","password":"carol-password"}' "$B/login"
has "the session cookie is Secure over HTTPS" "$T/hdr" "Set-Cookie: airlock_session=.*; Secure"
kill -TERM "$pid"
wait "$pid"
same "serve stops cleanly" "$?" 0
echo "1..$TN"
