#!/bin/sh
# cost.sh — a hostile agent against the read tools on a big book: a call
# past its time budget is stopped with a clear error and frees its thread;
# hammering book_stats and search does not push a cheap call's latency far;
# pathological search texts neither fail nor match differently than the
# plain LIKE the search has always meant.
. "$(dirname "$0")/lib.sh"
# ASan keeps freed memory in a quarantine (256 MB by default): without it
# the server's RSS is its own (plus the shadow), checked below
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"

N=60000
expect 0 "init" "$AIRLOCK" init
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<$N)
INSERT INTO account(id,name,domain,segment,region,tier,updated_at)
SELECT printf('ACC%06d',i),
 CASE i%7 WHEN 0 THEN printf('Zürich %d%% Labs',i) WHEN 1 THEN printf('under_score %d',i)
  ELSE printf('Company %d \"Q\"',i) END,
 CASE i%5 WHEN 0 THEN NULL ELSE printf('c%d.example',i) END,
 CASE i%3 WHEN 0 THEN 'smb' WHEN 1 THEN 'mid-market' ELSE 'enterprise' END,
 CASE i%2 WHEN 0 THEN 'NA' ELSE 'EMEA' END, 1+i%4, '2026-01-01T00:00:00Z' FROM n;"
same "book_stats' tallies follow a bulk insert in SQL" \
	"$(sql "SELECT n FROM book_tally WHERE dim='accounts'")" "$N"

cat >"$T/client.py" <<'PY'
import json, sqlite3, statistics, sys, threading, time, urllib.request, os
port, mode = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/mcp/read"

def session():
    def post(body, sid=None):
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if sid: h["Mcp-Session-Id"] = sid
        req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=h)
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.headers.get("Mcp-Session-Id"), r.read()
    sid, _ = post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "cost", "version": "1"}}})
    post({"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
    def call(tool, args):
        t0 = time.perf_counter()
        _, body = post({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": {"name": tool, "arguments": args}}, sid)
        return time.perf_counter() - t0, json.loads(body)["result"]
    return call

def like_ids(text, limit):
    # the search's meaning: lower(x) LIKE '%text%' with % _ \ escaped
    # (as bytes: ASCII letters lowered, the pattern cut to 512 bytes)
    pat = b"%"
    for ch in text.encode():
        if len(pat) >= 512 - 3: break
        c = bytes([ch])
        if c in b"%_\\": pat += b"\\"
        pat += c.lower() if c.isalpha() and ch < 128 else c
    pat = pat + b"%"
    try:
        pat = pat.decode()
    except UnicodeDecodeError:
        pass  # a cut that split a character, as airlock's may: bound as bytes
    db = sqlite3.connect(os.environ["AIRLOCK_DB"])
    db.execute("PRAGMA case_sensitive_like=0")
    r = [x[0] for x in db.execute(
        "SELECT id FROM account WHERE (lower(name) LIKE ?1 ESCAPE '\\' OR"
        " lower(coalesce(domain,'')) LIKE ?1 ESCAPE '\\') AND merged_into IS NULL"
        " ORDER BY id LIMIT ?2", (pat, limit))]
    db.close()
    return r

if mode == "budget":
    call = session()
    dt, r = call("search_accounts", {"text": "zq", "limit": 5})
    print("slow", int(r["isError"]), json.dumps(r["content"][0]["text"]), "%.3f" % dt)
    dt, r = call("get_account", {"account_id": "ACC000042"})
    print("next", int(r.get("isError", False)), r["structuredContent"]["account"]["id"])
    # crafted to be slow with the trigram index: a text in every other
    # name (each a candidate, read in id order) and an owner no account
    # has, so no page ever fills and every candidate is read
    dt, r = call("search_accounts", {"text": "company", "owner": "nobody", "limit": 5})
    print("crafted", int(r["isError"]), json.dumps(r["content"][0]["text"]), "%.3f" % dt)
    dt, r = call("get_account", {"account_id": "ACC000043"})
    print("after", int(r.get("isError", False)), r["structuredContent"]["account"]["id"])
elif mode == "texts":
    call = session()
    bad = 0
    for text in ["%", "_", "%%", "\\", "\"", "\"Q\"", "ü", "ZÜRICH", "zürich 7%", "9% lab",
                 "r_s", "UNDER_SCORE 1", "中文", "é" * 3, "%_\\\"" * 50,
                 "company 1234 \"q\"" + "x" * 180, "c12.EX", "ü" * 200, "中文" * 100, "ACC0000",
                 # 200 characters of one-letter pieces, and of '%' and '_'
                 # between letters: each a LIKE wildcard if not escaped
                 " ".join("abcdefghijklmnopqrstuvwxyz" * 8)[:200], "y%c_" * 50, "%y_1" * 50,
                 "Company 1%", "ompany 12_"]:
        dt, r = call("search_accounts", {"text": text, "limit": 50})
        got = [a["id"] for a in r["structuredContent"]["accounts"]] if not r["isError"] else None
        if got != like_ids(text, 50):
            bad += 1
            print("differs:", repr(text[:40]), got and got[:3], like_ids(text, 50)[:3], file=sys.stderr)
    # longer than the schema's 200 characters: refused as before, saying so
    for text in ["%_\\\"" * 300, "a" * 5000, "%_" * 5120]:  # the last 10 kB
        dt, r = call("search_accounts", {"text": text, "limit": 50})
        if not r["isError"] or "more than the maximum 200" not in r["content"][0]["text"]:
            bad += 1
            print("long text not refused:", r["content"][0]["text"][:200], file=sys.stderr)
    print("texts", bad)
else:  # hammer: get_account latency alone, then beside 4 hostile clients
    def p(xs, q): xs = sorted(xs); return xs[min(len(xs) - 1, int(q * len(xs)))]
    call = session()
    alone = [call("get_account", {"account_id": "ACC%06d" % (1 + i * 37 % 60000)})[0] for i in range(100)]
    stop = [False]
    def hostile(k):
        c = session()
        i = 0
        while not stop[0]:
            i += 1
            if i % 3 == 0: c("book_stats", {})
            elif i % 3 == 1: c("search_accounts", {"text": "nomatch%d%d" % (k, i), "limit": 50})
            else: c("search_accounts", {"text": "q" if i % 2 else "zq", "limit": 50})
    th = [threading.Thread(target=hostile, args=(k,)) for k in range(4)]
    for t in th: t.start()
    time.sleep(0.5)
    loaded = [call("get_account", {"account_id": "ACC%06d" % (1 + i * 53 % 60000)})[0] for i in range(100)]
    stop[0] = True
    for t in th: t.join()
    print("hammer %.1f %.1f %.1f %.1f" % (p(alone, .5) * 1000, p(alone, .99) * 1000,
                                          p(loaded, .5) * 1000, p(loaded, .99) * 1000))
PY

# A scan past its budget: stopped, said so, and the thread is free again.
serve_start --no-auth --scan-budget 1
python3 "$T/client.py" "$port" budget >"$T/budget" 2>&1
has "a 2-character text (no trigram: a scan of 60k rows) past a 1 ms budget fails" "$T/budget" \
	'^slow 1 "search_accounts: took longer than its 1 ms budget; narrow the query"'
has "... and the next call on that session is answered" "$T/budget" "^next 0 ACC000042"
has "a text every other name has, with an owner none has (every candidate read), fails too" \
	"$T/budget" '^crafted 1 "search_accounts: took longer than its 1 ms budget; narrow the query"'
has "... and the next call on that session is answered" "$T/budget" "^after 0 ACC000043"
same "... the stopped calls are in the log as failures" \
	"$(sql "SELECT count(*) FROM action_log WHERE tool='search_accounts' AND body LIKE '%budget%'")" 2
kill -TERM "$pid"
wait "$pid"

# With the default budget (2 s) the same scan is answered.
serve_start --no-auth
python3 "$T/client.py" "$port" budget >"$T/budget2" 2>&1
has "the default budget lets the scan finish" "$T/budget2" "^slow 0" || cat "$T/serve.log" >&2
has "... and the crafted page (no account matches it)" "$T/budget2" '^crafted 0 "\{\\"accounts\\":\[\],'

# Pathological texts: the same accounts as the plain LIKE, no error.
python3 "$T/client.py" "$port" texts >"$T/texts" 2>&1
has "% _ \\ quotes, accents, CJK, 200-character texts match as LIKE does; longer ones are refused" "$T/texts" "^texts 0$"

# 4 clients hammering book_stats and searches (with and without a
# trigram) beside a client reading single accounts.
python3 "$T/client.py" "$port" hammer >"$T/hammer" 2>&1
read -r _ a50 a99 l50 l99 <"$T/hammer"
awk -v a="$a50" -v l="$l50" 'BEGIN { exit !(l < 50 * (a > 1 ? a : 1) && l < 250) }' &&
	ok "get_account stays fast beside 4 hammering clients (p50 ${a50} ms alone, ${l50} ms loaded)" ||
	notok "get_account stays fast beside 4 hammering clients" "$(cat "$T/hammer")"
# Memory: the server's peak since it started (VmHWM), after the stats,
# searches and lookups above, stays under a ceiling. A server start once ran
# an Argon2id hash (64 MiB) for the unknown-name stand-in and the peak went
# from ~20 MB to ~77 MB unseen (the release build; under ASan without its
# quarantine, 52 MB against 92 MB): the ceiling is 64 MB, the goal, plus 8
# for ASan's shadow.
hwm=$(awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$pid/status")
ceiling=${RSS_CEILING_MB:-72}
[ -n "$hwm" ] && [ "$hwm" -le "$ceiling" ] &&
	ok "the server's peak RSS after the mixed load stays under $ceiling MB (${hwm} MB)" ||
	notok "the server's peak RSS after the mixed load stays under $ceiling MB" "VmHWM ${hwm:-?} MB"
kill -TERM "$pid"
wait "$pid"
same "the server stops cleanly" "$?" 0
