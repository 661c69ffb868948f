#!/bin/sh
# mcp_load.sh — the read connector under many concurrent clients: every
# answered call has its own entry in one chain that verifies, answers are
# right while their log entries are committed in groups, and a SIGKILL
# under load loses no entry of an answer that left.
. "$(dirname "$0")/lib.sh"

N=300
expect 0 "init" "$AIRLOCK" init
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<$N)
INSERT INTO account(id,name,segment,tier,do_not_contact,arr,custom,updated_at)
SELECT printf('ACC%04d',i), printf('Company %d',i),
 CASE i%3 WHEN 0 THEN 'smb' WHEN 1 THEN 'mid-market' ELSE 'enterprise' END, 1+i%4, i%2,
 i*10.5, '{\"k\":' || i || '}', '2026-01-01T00:00:00Z' FROM n;"
RT=$("$AIRLOCK" token create --connector read --agent loader 2>/dev/null)



# client.py PORT TOKEN THREADS CALLS OUT: each thread opens a session and
# makes CALLS search_accounts calls (CALLS 0: until the server goes away),
# checking every page against the book; appends one line per answered call
# to OUT and prints a summary line.
cat >"$T/client.py" <<'PY'
import json, sys, threading, urllib.request, sqlite3, os
port, token, nthreads, calls, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
url = f"http://127.0.0.1:{port}/mcp/read"
db = sqlite3.connect(os.environ["AIRLOCK_DB"])
ids = [r[0] for r in db.execute("SELECT id FROM account ORDER BY id")]
db.close()
lock = threading.Lock()
stats = {"answered": 0, "wrong": 0, "errors": 0}
log = open(out, "a")

def post(body, sid=None):
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
         "Authorization": "Bearer " + token}
    if sid: h["Mcp-Session-Id"] = sid
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=h)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers.get("Mcp-Session-Id"), r.read()

def worker(t):
    try:
        sid, _ = post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "load", "version": "1"}}})
        post({"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
        i = 0
        while calls == 0 or i < calls:
            limit = 1 + (t * 7 + i) % 25
            start = (t * 13 + i * 5) % len(ids)
            args = {"limit": limit}
            _, body = post({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
                            "params": {"name": "search_accounts", "arguments": args}}, sid)
            r = json.loads(body)["result"]
            sc = r["structuredContent"]
            good = (not r["isError"] and json.loads(r["content"][0]["text"]) == sc
                    and [a["id"] for a in sc["accounts"]] == ids[:limit]
                    and sc["count"] == limit and isinstance(sc["accounts"][0]["do_not_contact"], bool)
                    and sc["accounts"][0]["custom"] == {"k": int(ids[0][3:])})
            with lock:
                stats["answered"] += 1
                if not good: stats["wrong"] += 1
                log.write("answered\n"); log.flush()
            i += 1
    except Exception as e:
        with lock: stats["errors"] += 1

th = [threading.Thread(target=worker, args=(t,)) for t in range(nthreads)]
for x in th: x.start()
for x in th: x.join()
print(stats["answered"], stats["wrong"], stats["errors"])
PY

log_count() { sql "SELECT count(*) FROM action_log WHERE tool='search_accounts'"; }

serve_start --threads 2
before=$(log_count)
python3 "$T/client.py" "$port" "$RT" 12 25 "$T/answered1" >"$T/summary1" 2>&1
read -r answered wrong errors <"$T/summary1"
same "12 clients x 25 calls all answered" "$answered $errors" "300 0"
same "... every page right (ids, types, text = structuredContent)" "$wrong" 0
same "... one log entry per call" "$(($(log_count) - before))" 300
expect 0 "... and the chain verifies" "$AIRLOCK" verify
has "... over every entry" "$T/out" "^[0-9]* entries, head"
kill -TERM "$pid"
wait "$pid"
same "SIGTERM under no load: clean exit" "$?" 0

# SIGKILL while 12 clients call as fast as they can.
serve_start --threads 2
before=$(log_count)
python3 "$T/client.py" "$port" "$RT" 12 0 "$T/answered2" >"$T/summary2" 2>&1 &
cpid=$!
for _ in $(seq 100); do
	[ -s "$T/answered2" ] && [ "$(wc -l <"$T/answered2")" -ge 200 ] && break
	sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
wait "$cpid"
sent=$(wc -l <"$T/answered2")
[ "$sent" -ge 200 ] && ok "the kill landed under load ($sent answers before it)" ||
	notok "the kill landed under load" "only $sent answers"
expect 0 "after SIGKILL the chain verifies" "$AIRLOCK" verify
logged=$(($(log_count) - before))
[ "$logged" -ge "$sent" ] && ok "every answer that left has its entry ($logged entries >= $sent answers)" ||
	notok "every answer that left has its entry" "$logged entries < $sent answers"
same "the book did not change" "$(sql "SELECT count(*), sum(version) FROM account")" "$N|$N"

# SIGTERM while 64 clients call as fast as they can (bench_mcp_load, the C
# load generator of bench/): airlock takes no new request, lets the answers
# waiting for their entries go out, and exits cleanly (MHD aborts if it is
# stopped with a connection suspended).
LOADGEN=${LOADGEN:-$(dirname "$AIRLOCK")/bench/bench_mcp_load}
if [ -x "$LOADGEN" ]; then
	for round in 1 2 3 4 5; do
		serve_start
		"$LOADGEN" "$port" /mcp/read 64 3 0 search_accounts '{"limit":20}' "$RT" \
			>"$T/load.out" 2>&1 &
		cpid=$!
		sleep 1
		kill -TERM "$pid"
		wait "$pid"
		rc=$?
		wait "$cpid"
		[ "$rc" -eq 0 ] || break
		grep -q "Fatal error" "$T/serve.log" && break
	done
	same "SIGTERM under load, 5 rounds: clean exit" "$rc" 0
	hasnt "... no abort" "$T/serve.log" "Fatal error"
	expect 0 "... and the chain verifies" "$AIRLOCK" verify

	# Sustained load: the WAL stays bounded. Without the bound it grew
	# without end (background checkpoints never let it start over), by
	# 0.9 KB (sanitizer build, big groups) to 2.6 KB (release) an entry.
	serve_start
	"$LOADGEN" "$port" /mcp/read 64 12 0 search_accounts '{"limit":20}' "$RT" \
		>"$T/load.out" 2>&1 &
	cpid=$!
	before=$(log_count)
	maxwal=0
	while kill -0 "$cpid" 2>/dev/null; do
		w=$(stat -c %s "$AIRLOCK_DB-wal" 2>/dev/null || echo 0)
		[ "$w" -gt "$maxwal" ] && maxwal=$w
		sleep 0.2
	done
	wait "$cpid"
	entries=$(($(log_count) - before))
	kill -TERM "$pid"
	wait "$pid"
	# 4096 pages of 4 KB, and what one group adds before its checkpoint
	if [ $((entries * 900)) -lt 30000000 ]; then
		# too slow a machine to have written 1.5 times the bound
		ok "sustained load: the WAL stays under 20 MB # SKIP only $entries entries in 12 s"
	elif [ "$maxwal" -le 20000000 ]; then
		ok "sustained load ($entries entries): the WAL stays under 20 MB ($maxwal bytes)"
	else
		notok "sustained load ($entries entries): the WAL stays under 20 MB" "$maxwal bytes"
	fi
	expect 0 "... and the chain verifies" "$AIRLOCK" verify

	# Fairness: four clients keep an expensive call going (book_stats,
	# made 1 s slower by the test hook, a wait that costs no CPU) while
	# two clients look accounts up 50 times a second each. A lookup never
	# queues behind book_stats: with one queue for every call, four of them
	# held every handler thread and a lookup waited up to a second (p99
	# 1-2 s). The bound leaves room for a busy machine's tail (a shared
	# 2-core machine added 120 ms to a p99 of 14 ms), not for a second.
	p99() { sed -n 's/.*"p99_ms":\([0-9.]*\).*/\1/p' "$1"; }
	export AIRLOCK_TEST_TOOL_DELAY=book_stats:1000
	serve_start --threads 4
	unset AIRLOCK_TEST_TOOL_DELAY
	BENCH_RATE=50 "$LOADGEN" "$port" /mcp/read 2 2 0 get_account '{"account_id":"ACC0001"}' \
		"$RT" >"$T/fast0.out" 2>&1
	"$LOADGEN" "$port" /mcp/read 4 6 0 book_stats '{}' "$RT" >"$T/slow.out" 2>&1 &
	cpid=$!
	sleep 1
	BENCH_RATE=50 "$LOADGEN" "$port" /mcp/read 2 3 0 get_account '{"account_id":"ACC0001"}' \
		"$RT" >"$T/fast1.out" 2>&1
	frc=$?
	wait "$cpid"
	src=$?
	u=$(p99 "$T/fast0.out")
	l=$(p99 "$T/fast1.out")
	same "lookups under 4 x book_stats all answered" "$frc $src" "0 0"
	if [ -n "$u" ] && [ -n "$l" ] &&
		awk -v u="$u" -v l="$l" 'BEGIN { exit !(l < 2 * u + 300) }'; then
		ok "... a lookup's p99 stays near its unloaded one ($l ms under load, $u ms without)"
	else
		notok "... a lookup's p99 stays near its unloaded one" \
			"$l ms under load, $u ms without: $(cat "$T/fast0.out" "$T/fast1.out")"
	fi
	# one slow-lane thread: the four book_stats clients take turns
	slow=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$T/slow.out")
	[ -n "$slow" ] && [ "$slow" -ge 3 ] && [ "$slow" -le 7 ] &&
		ok "... book_stats runs one at a time ($slow answered in 6 s, each 1 s)" ||
		notok "... book_stats runs one at a time" "$(cat "$T/slow.out")"
	# Eight clients ask for book_stats and hang up a second later: the
	# seven calls still queued have nobody to answer, so they are dropped
	# rather than holding the slow lane for seven more seconds.
	"$LOADGEN" "$port" /mcp/read 8 1 0 book_stats '{}' "$RT" >/dev/null 2>&1
	"$LOADGEN" "$port" /mcp/read 1 3 0 book_stats '{}' "$RT" >"$T/after.out" 2>&1
	after=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$T/after.out")
	[ -n "$after" ] && [ "$after" -ge 1 ] &&
		ok "... calls whose clients hung up do not hold the slow lane ($after answered in 3 s)" ||
		notok "... calls whose clients hung up do not hold the slow lane" "$(cat "$T/after.out")"
	# The tool's name written with a JSON escape is still book_stats:
	# four such clients still take turns on the slow lane.
	"$LOADGEN" "$port" /mcp/read 4 3 0 '\u0062ook_stats' '{}' "$RT" >"$T/esc.out" 2>&1
	esc=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$T/esc.out")
	[ -n "$esc" ] && [ "$esc" -ge 1 ] && [ "$esc" -le 4 ] &&
		ok "... an escaped tool name is no way around the slow lane ($esc answered in 3 s)" ||
		notok "... an escaped tool name is no way around the slow lane" "$(cat "$T/esc.out")"
	kill -TERM "$pid"
	wait "$pid"

	# Cheap reads run on the I/O thread itself, which must never wait. An
	# agent holds its session with book_stats (3 s here) and sends a
	# lookup in the same session, which has to wait for the session: if
	# that wait were the I/O thread's, every other client's requests,
	# their initialize included, would wait the 3 s with it.
	export AIRLOCK_TEST_TOOL_DELAY=book_stats:3000
	serve_start --threads 2
	unset AIRLOCK_TEST_TOOL_DELAY
	cat >"$T/busy.py" <<'PY'
import json, sys, threading, time, urllib.request
port, token = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/mcp/read"
def post(body, sid=None):
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
         "Authorization": "Bearer " + token}
    if sid: h["Mcp-Session-Id"] = sid
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=h)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers.get("Mcp-Session-Id"), json.loads(r.read())
init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
def call(name, args, i=1):
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": name, "arguments": args}}
sid, _ = post(init)
got = {}
def run(key, body):
    got[key] = post(body, sid)[1]
a = threading.Thread(target=run, args=("stats", call("book_stats", {})))
a.start(); time.sleep(0.3)
b = threading.Thread(target=run, args=("same", call("get_account", {"account_id": "ACC0002"}, 2)))
b.start(); time.sleep(0.3)
t0 = time.time()
sid2, _ = post(init)
_, other = post(call("get_account", {"account_id": "ACC0001"}), sid2)
took = time.time() - t0
a.join(); b.join()
ok = (other["result"]["structuredContent"]["account"]["id"] == "ACC0001"
      and got["same"]["result"]["structuredContent"]["account"]["id"] == "ACC0002"
      and not got["stats"]["result"]["isError"])
print("%d %d" % (int(took * 1000), ok))
PY
	python3 "$T/busy.py" "$port" "$RT" >"$T/busy.out" 2>&1
	read -r took right <"$T/busy.out" || true
	same "a lookup waiting for its busy session, another agent's calls answered" "${right:-}" 1
	[ -n "${took:-}" ] && [ "$took" -lt 1500 ] &&
		ok "... at once, not after the 3 s book_stats ($took ms)" ||
		notok "... at once, not after the 3 s book_stats" "$(cat "$T/busy.out")" \
			"$(tail -5 "$T/serve.log")"
	kill -TERM "$pid"
	wait "$pid"
else
	notok "the load generator is built" "$LOADGEN is missing (make test builds it)"
fi

# When the log cannot take the entry, the answer is withheld.
serve_start --threads 2
sql "DROP TRIGGER action_log_head_no_delete"
sql "DELETE FROM action_log_head"
U="http://127.0.0.1:$port/mcp/read"
H1="Content-Type: application/json"
H2="Accept: application/json, text/event-stream"
curl -s -D "$T/hdr" -o /dev/null -H "$H1" -H "$H2" -H "Authorization: Bearer $RT" \
	--data-binary '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' "$U"
SID=$(sed -n 's/^Mcp-Session-Id: *\([0-9a-f]*\).*/\1/ip' "$T/hdr" | tr -d '\r')
curl -s -o "$T/body" -H "$H1" -H "$H2" -H "Authorization: Bearer $RT" -H "Mcp-Session-Id: $SID" \
	--data-binary '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search_accounts","arguments":{"limit":3}}}' "$U"
has "a read the log cannot record is refused" "$T/body" '"isError":true'
has "... saying the result is withheld, and why" "$T/body" "could not record this call in its action log (.*head record is missing.*); the result is withheld"
hasnt "... with no book data in it" "$T/body" "ACC0001"
kill -TERM "$pid"
wait "$pid"
