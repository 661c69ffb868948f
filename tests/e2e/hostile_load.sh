#!/bin/sh
# hostile_load.sh — one client must not starve the others (issue 14): slow
# connections, sign-in spraying and a session flood, each while a probe
# from another address times a cheap MCP call (book_stats) and a console
# page (GET /login). During each attack the probe's p99 stays under 100 ms
# with no failed request, and the server's RSS under 128 MB. The attacker
# is tests/attack.c, from 127.0.0.2 and up (loopback only), bounded in time.
# Also: a duplicated Host or Origin header, and a path that is not UTF-8.
. "$(dirname "$0")/lib.sh"

ATTACK=${ATTACK:-$(dirname "$AIRLOCK")/tests/attack}
if [ ! -x "$ATTACK" ]; then
	notok "the attacker is built" "$ATTACK is missing (make test builds it)"
	exit 0
fi
# ASan keeps freed memory in a quarantine (256 MB by default) to catch use
# after free: that is the sanitizer's memory, not the server's, and under a
# flood of cheap requests it alone passes 128 MB. The other checks stay on.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"

expect 0 "init" "$AIRLOCK" init
RT=$("$AIRLOCK" token create --connector read --agent prober 2>/dev/null)
AT=$("$AIRLOCK" token create --connector read --agent flooder 2>/dev/null)
# the book's first reviewer is its admin (cli_identity's bootstrap rule)
expect 0 "a reviewer to sign in as" sh -c "echo alice-password | '$AIRLOCK' reviewer add alice --role admin --password-stdin"

# rss_watch: the largest VmRSS (kB) of $pid, sampled until $T/rss.stop exists
rss_watch() {
	max=0
	rm -f "$T/rss.stop"
	while [ ! -e "$T/rss.stop" ]; do
		r=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
		[ -n "$r" ] && [ "$r" -gt "$max" ] && max=$r
		sleep 0.1
	done
	echo "$max" >"$T/rss.max"
}

# under_attack NAME SECONDS: probes for SECONDS while the attack runs, then
# checks the probe's failures and p99 and the server's largest RSS.
under_attack() {
	rss_watch &
	wpid=$!
	"$ATTACK" probe "$port" "$RT" "$2" >"$T/probe.out" 2>&1
	touch "$T/rss.stop"
	wait "$wpid"
	read -r n fail p50 p99 mx <"$T/probe.out"
	fail=${fail#fail=}
	p99=${p99#p99=}
	rss=$(cat "$T/rss.max")
	same "$1: no probe request failed ($n $p50 $mx)" "$fail" 0
	if [ "$(echo "$p99" | awk '{print ($1 < 100)}')" = 1 ]; then
		ok "$1: the probe's p99 is under 100 ms ($p99 ms)"
	else
		notok "$1: the probe's p99 is under 100 ms" "p99 $p99 ms: $(cat "$T/probe.out")"
	fi
	if [ "$rss" -lt 131072 ]; then
		ok "$1: the server's RSS stays under 128 MB ($((rss / 1024)) MB)"
	else
		notok "$1: the server's RSS stays under 128 MB" "$((rss / 1024)) MB"
	fi
}

stop() {
	kill -TERM "$pid"
	wait "$pid"
}

# 1. Connection exhaustion: 2,100 connections from one address, each sending
# a header line every 2 s. Before, 2,048 of them took every connection
# there was (MHD's limit), each kept open by its trickle, and every other
# client was refused. Now one address holds at most 64, and a head that
# has not ended in 10 s is cut however slowly it trickles.
# (2,100 sockets on each side: the suite and the server need the descriptors)
[ "$(ulimit -n)" -ge 4400 ] 2>/dev/null || ulimit -n 4400 2>/dev/null ||
	echo "# ulimit -n is $(ulimit -n): the slow-connection attack may fall short"
serve_start
"$ATTACK" slow "$port" 127.0.0.2 2100 12 >"$T/slow.out" 2>&1 &
apid=$!
sleep 1
under_attack "2,100 slow connections" 10
wait "$apid"
read -r opened closed peak <"$T/slow.out"
closed=${closed#closed_by_server=}
[ "$closed" -ge 2000 ] && ok "the server let go of the attacker's connections ($closed of $opened)" ||
	notok "the server let go of the attacker's connections" "$(cat "$T/slow.out")"
has "... and said so, once per burst" "$T/serve.log" "closed [0-9]+ connections? that sent no complete request head in 10 s"
[ "$(grep -c 'reached connection limit\|per-IP' "$T/serve.log")" -le 40 ] &&
	ok "... without a line per refused connection" ||
	notok "... without a line per refused connection" "$(grep -c 'connection limit' "$T/serve.log") lines"
stop

# The deadlines themselves, shortened: a head trickled a byte every 300 ms,
# and a body trickled the same way, are cut after --head-timeout 2 (the
# body because it is slower than --body-min-rate); before, each byte reset
# the 30 s idle timeout and both were held for ever.
serve_start --head-timeout 2
"$ATTACK" trickle "$port" 127.0.0.3 head 300 8 >"$T/head.out" 2>&1 &
hpid=$!
"$ATTACK" trickle "$port" 127.0.0.4 body 300 8 >"$T/body.out" 2>&1
wait "$hpid"
for w in head body; do
	s=$(cat "$T/$w.out")
	if [ "$(echo "$s" | awk '{print ($1 >= 1.9 && $1 < 4)}')" = 1 ]; then
		ok "a trickled $w is cut at its deadline (${s} s)"
	else
		notok "a trickled $w is cut at its deadline (2 s)" "closed after $s s"
	fi
done
# and an ordinary request on a kept-alive connection is untouched
curl -s -o /dev/null -o /dev/null -w "%{http_code} %{num_connects}\\n" "http://127.0.0.1:$port/login" \
	"http://127.0.0.1:$port/login" >"$T/ka"
same "two requests on one kept-alive connection (one connect)" "$(tr '\n' ' ' <"$T/ka")" "200 1 200 0 "
stop

# Connections per address: --connections-per-address 4 lets a fifth
# connection from the same address be refused, one from another address not.
serve_start --connections-per-address 4
"$ATTACK" slow "$port" 127.0.0.5 4 3 >"$T/four.out" 2>&1 &
apid=$!
sleep 1
curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.5 "http://127.0.0.1:$port/login" >"$T/fifth"
curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.6 "http://127.0.0.1:$port/login" >"$T/other"
wait "$apid"
same "a fifth connection from one address is refused" "$(cat "$T/fifth")" "000"
same "... one from another address is served" "$(cat "$T/other")" "200"
stop

# The connection reserve: with --max-connections 64 and 16 per address,
# four addresses at their limit held every connection and a fifth client
# was turned away. Now the last eighth (8) goes only to a client holding
# fewer than 4: past 56 the attackers' connections are closed at once, and
# the newcomer is served (before, it waited until the attack ended).
serve_start --max-connections 64 --connections-per-address 16
apids=""
for a in 7 8 9 10; do
	"$ATTACK" slow "$port" "127.0.0.$a" 16 7 >"$T/res$a.out" 2>&1 &
	apids="$apids $!"
done
sleep 1.5
curl -s -o /dev/null -w '%{http_code}' --max-time 3 --interface 127.0.0.11 "http://127.0.0.1:$port/login" >"$T/light"
# shellcheck disable=SC2086
wait $apids
same "four addresses at their limit leave a connection for a fifth client" "$(cat "$T/light")" "200"
closed=0
for a in 7 8 9 10; do
	c=$(sed -n 's/.*closed_by_server=\([0-9]*\).*/\1/p' "$T/res$a.out")
	closed=$((closed + ${c:-0}))
done
[ "$closed" -ge 8 ] && ok "... the attackers' connections past 56 were closed ($closed)" ||
	notok "... the attackers' connections past 56 were closed" "$(cat "$T"/res*.out)"
has "... and the refusals are logged, not one line each" "$T/serve.log" "refused [0-9]+ connections? from clients already holding 4"
stop

# 2. Sign-in spraying: 32 clients, each from its own address, trying random
# names. Before, each try was an Argon2id hash (64 MB) on the threads that
# serve MCP. Now hashes run one at a time on the sign-in thread behind a
# short queue (full: 503 at once), and one address has 20 tries a minute.
serve_start
"$ATTACK" signin "$port" 127.0.1. 32 10 >"$T/spray.out" 2>&1 &
apid=$!
sleep 1
under_attack "32 clients spraying sign-ins" 8
wait "$apid"
read -r tries s401 s429 s503 other <"$T/spray.out"
s429=${s429#s429=}
s503=${s503#s503=}
[ "$s429" -gt 0 ] && [ "$s503" -gt 0 ] &&
	ok "the spray was refused at once: per address (429) and with the queue full (503)" ||
	notok "the spray was refused at once: per address (429) and with the queue full (503)" "$(cat "$T/spray.out")"
same "... and answered every try" "$other" "other=0"
rows=$(sql "SELECT count(*) FROM reviewer_failure")
s401=${s401#s401=}
[ "$rows" -le "$((s401 + 8))" ] && ok "failure rows: one per checked password, no more ($rows)" ||
	notok "failure rows: one per checked password, no more" "$rows rows, $s401 checked"
# once the spray stops, a reviewer signs in as usual
curl -s -o "$T/me" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data '{"name":"alice","password":"alice-password"}' "http://127.0.0.1:$port/login" >"$T/code"
same "a reviewer signs in after the spray" "$(cat "$T/code")" 200
# one address past its 20 tries a minute, each for another name (so the
# per-name limit never applies): refused before any hash
for i in $(seq 21); do
	curl -s -o /dev/null -w '%{http_code}\n' --interface 127.0.2.1 -H 'Content-Type: application/json' \
		--data "{\"name\":\"nobody$i\",\"password\":\"wrong-password\"}" "http://127.0.0.1:$port/login"
done >"$T/codes"
same "21 tries from one address, 21 names: the first 20 checked (401), the 21st refused (429)" \
	"$(sort "$T/codes" | uniq -c | tr -s ' \n' '  ')" " 20 401 1 429 "
stop

# Unauthenticated calls that look expensive: 32 clients, no token, each
# posting book_stats with a "text" argument and 20,000 array items (under
# the 64 KB the lanes decode). Before, the lanes classifier decoded each one
# on a fast-lane thread and queued it on the slow lane, ahead of the signed-
# in probe's book_stats, only for the handler to refuse it there. Now only
# a request whose token verifies is decoded for its lane or takes the slow
# one: these cost a header check and a 401.
serve_start
"$ATTACK" anon "$port" 127.0.3. 32 8 >"$T/anon.out" 2>&1 &
apid=$!
sleep 1
under_attack "32 unauthenticated clients posting expensive-looking calls" 6
wait "$apid"
read -r tries a401 aother <"$T/anon.out"
same "... every one of them refused (401)" "$aother" "other=0"
stop

# 3. Session flood: one read token opens 10,000 sessions. Before, that
# filled the table (10,000) and every other agent's initialize got 503 for
# an hour, with no log entry. Now a token keeps its 100 most recent
# sessions; the evictions are logged, one entry per token and burst.
serve_start
"$ATTACK" sessions "$port" 127.0.0.2 "$AT" 10000 8 >"$T/flood.out" 2>&1
same "10,000 initialize calls with one token all answered" "$(cat "$T/flood.out")" "ok=10000 s503=0 other=0"
"$ATTACK" sessions "$port" 127.0.0.2 "$AT" 3000 4 >"$T/flood2.out" 2>&1 &
apid=$!
under_attack "a session flood by another token" 4
wait "$apid"
stop
n=$(sql "SELECT sum(json_extract(body,'\$.args.evicted')) FROM action_log WHERE tool='session_limit' AND principal='agent:flooder' AND surface='mcp:read'")
same "every eviction is in the action log (13,000 opened, 100 kept)" "$n" 12900
sql "SELECT count(*) || ' ' || max(json_extract(body,'\$.summary')) FROM action_log WHERE tool='session_limit'" >"$T/ev"
has "... in few entries (one per token and 10 s), naming the cap" "$T/ev" "^[1-9][0-9]? .*more than 100 open for one token"
expect 0 "... and the chain verifies" "$AIRLOCK" verify

# --sessions-per-token 2: a token's third session ends its first, and
# another token's session is untouched.
serve_start --sessions-per-token 2
U="http://127.0.0.1:$port/mcp/read"
H1="Content-Type: application/json"
H2="Accept: application/json, text/event-stream"
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
CALL='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"book_stats","arguments":{}}}'
sid() {
	curl -s -D "$T/hdr" -o /dev/null -H "$H1" -H "$H2" -H "Authorization: Bearer $1" --data-binary "$INIT" "$U"
	sed -n 's/^Mcp-Session-Id: *\([0-9a-f]*\).*/\1/ip' "$T/hdr" | tr -d '\r'
}
call() {
	curl -s -o /dev/null -w '%{http_code}' -H "$H1" -H "$H2" -H "Authorization: Bearer $1" \
		-H "Mcp-Session-Id: $2" --data-binary "$CALL" "$U"
}
P1=$(sid "$RT")
F1=$(sid "$AT")
F2=$(sid "$AT")
F3=$(sid "$AT")
same "a token's third session ends its least recently used (404)" "$(call "$AT" "$F1")" 404
same "... its newer ones live" "$(call "$AT" "$F2") $(call "$AT" "$F3")" "200 200"
same "... another token's session is untouched" "$(call "$RT" "$P1")" 200
stop

# 4. (issue 14, item 6) A path that is not UTF-8 is the client's error (it
# was a 500 "out of memory"), and a second Host or Origin header is refused
# (only the first was checked).
serve_start
curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$port/%FF%FE" >"$T/code"
same "a path that is not UTF-8: 400" "$(cat "$T/code")" 400
has "... saying so" "$T/body" "not valid UTF-8"
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/%C3%A9t%C3%A9" >"$T/code"
same "... a UTF-8 path is not refused for it (401: not signed in)" "$(cat "$T/code")" 401
raw() {
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].replace("|", "\r\n").encode())
print(s.recv(65536).decode(errors="replace").split("\r\n")[0])' "$port" "$1"
}
same "two Host headers: 400" "$(raw "GET /login HTTP/1.1|Host: 127.0.0.1:$port|Host: evil.example|Connection: close||")" "HTTP/1.1 400 Bad Request"
same "two Origin headers: 400" "$(raw "POST /login HTTP/1.1|Host: 127.0.0.1:$port|Origin: http://127.0.0.1:$port|Origin: http://evil.example|Content-Type: application/json|Content-Length: 2|Connection: close||{}")" "HTTP/1.1 400 Bad Request"
same "one of each: served" "$(raw "GET /login HTTP/1.1|Host: 127.0.0.1:$port|Origin: http://127.0.0.1:$port|Connection: close||")" "HTTP/1.1 200 OK"
stop
