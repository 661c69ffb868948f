#!/bin/sh
# files.sh — how airlock opens and creates its files, from the side of a
# careless operator: a typo in --db, rm airlock.db* under a running server,
# umask 000, a database the server cannot write, files others can read; and
# a refused request_send printed without "(null)".
. "$(dirname "$0")/lib.sh"

# A path that is not there is an error, and stays not there.
expect 1 "verify of a missing database fails" "$AIRLOCK" verify --db "$T/typo.db"
has "... saying there is none and what to run" "$T/err" "^airlock: verify: no database at $T/typo.db \(run 'airlock init' to create one\)$"
[ -e "$T/typo.db" ] && notok "... and creates no file" "$(ls -l "$T")" || ok "... and creates no file"
for v in queue log token; do
	expect 1 "$v on a missing database fails" "$AIRLOCK" $v --db "$T/typo.db" $([ $v = token ] && echo list)
done
[ -n "$(ls "$T" | grep typo)" ] && notok "none of them created it" "$(ls "$T")" || ok "none of them created it"

# umask 000: the book, its -wal/-shm and the signing key are still private.
(umask 000 && "$AIRLOCK" init >"$T/out" 2>"$T/err")
same "init under umask 000" "$?" 0
"$AIRLOCK" token create --connector read --agent r1 >/dev/null 2>&1 # a write: -wal and -shm exist
for f in "$AIRLOCK_DB" "$AIRLOCK_DB.key"; do
	same "$(basename "$f") is 0600 under umask 000" "$(stat -c %a "$f")" 600
done
# Files others can read: a warning at start.
chmod 644 "$AIRLOCK_DB"
expect 0 "init on a 0644 database" "$AIRLOCK" init
has "... warns that others can read it" "$T/err" "warning: $AIRLOCK_DB has mode 644: .*chmod 600"
chmod 600 "$AIRLOCK_DB"

# rm airlock.db* under a running serve: writes are refused, never "staged"
# into the deleted file, and nothing is recreated.
WT=$("$AIRLOCK" token create --connector write --agent w1 2>/dev/null)
umask 000 # the -wal and -shm files serve makes take the database's 0600
serve_start
umask 022
U="http://127.0.0.1:$port/mcp"
post() { # post TOKEN BODY [SID]
	curl -s -m 10 -o "$T/body" -D "$T/hdr" -w '%{http_code}' -H "Content-Type: application/json" \
		-H "Accept: application/json, text/event-stream" -H "Authorization: Bearer $1" \
		${3:+-H "Mcp-Session-Id: $3"} --data-binary "$2" "$U/write" >"$T/code"
}
post "$WT" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
SID=$(sed -n 's/^Mcp-Session-Id: *\([0-9a-f]*\).*/\1/ip' "$T/hdr" | tr -d '\r')
CALL='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"propose_changes","arguments":{"workflow":"retier","scope":"segment=smb","rationale":"t","items":[{"record_id":"A1","field":"tier","value":1,"reason":"r"}]}}}'
post "$WT" "$CALL" "$SID"
has "a proposal before the rm is staged" "$T/body" 'decision.*staged'
same "-wal and -shm made under umask 000 are 0600" "$(stat -c %a "$AIRLOCK_DB-wal" "$AIRLOCK_DB-shm" | tr '\n' ' ')" "600 600 "
rm -f "$AIRLOCK_DB" "$AIRLOCK_DB-wal" "$AIRLOCK_DB-shm"
for i in 1 2 3; do
	post "$WT" "$CALL" "$SID"
	hasnt "proposal $i after rm airlock.db* is not staged" "$T/body" 'staged'
done
has "... it is an error naming the removed database" "$T/body" 'removed or replaced.*"isError":true'
[ -e "$AIRLOCK_DB" ] && notok "... and no new database appears" "$(ls -l "$T")" || ok "... and no new database appears"
has "serve says so on stderr" "$T/serve.log" "database $AIRLOCK_DB was removed while airlock had it open; refusing every write"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
expect 1 "verify afterwards fails instead of reporting 0 entries" "$AIRLOCK" verify
has "... with no database at" "$T/err" "no database at"

# A database the server cannot write: refused at start. Root writes any
# file, so the server runs as nobody on a database nobody may only read.
expect 0 "a new database" "$AIRLOCK" init
chmod 640 "$AIRLOCK_DB"
expect 0 "mcp on a database others can read starts" sh -c "\"$AIRLOCK\" mcp --connector read --agent a </dev/null"
has "... and warns about it" "$T/err" "^airlock: mcp: warning: $AIRLOCK_DB has mode 640: .*chmod 600"
chmod 600 "$AIRLOCK_DB"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	RO=$(mktemp -d /tmp/airlock-ro-XXXXXX)
	cp "$AIRLOCK_DB" "$RO/airlock.db"
	cp "$AIRLOCK_POLICY" "$RO/airlock.yaml"
	chmod 755 "$RO" && chmod 644 "$RO/airlock.db" "$RO/airlock.yaml"
	asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	expect 1 "serve as a user who may only read the database refuses to start" \
		asnobody "$AIRLOCK" serve --listen 127.0.0.1:0 --db "$RO/airlock.db" --policy "$RO/airlock.yaml"
	has "... saying it is read-only" "$T/err" "^airlock: serve: database $RO/airlock.db is read-only for this user"
	expect 1 "mcp too" asnobody "$AIRLOCK" mcp --connector read --agent a --db "$RO/airlock.db" --policy "$RO/airlock.yaml"
	has "... saying it is read-only" "$T/err" "read-only for this user"
	chmod 666 "$RO/airlock.db"
	expect 1 "a writable file in a folder it cannot write: refused too" \
		asnobody "$AIRLOCK" serve --listen 127.0.0.1:0 --db "$RO/airlock.db" --policy "$RO/airlock.yaml"
	has "... naming the folder" "$T/err" "cannot write in $RO, the folder of database"
	rm -rf "$RO"
else
	ok "# SKIP read-only database (needs root and setpriv)"
	ok "# SKIP"
	ok "# SKIP"
	ok "# SKIP"
	ok "# SKIP"
	ok "# SKIP"
fi

# A refused request_send prints its reasons, not "workflow: (null)".
sql "INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at) VALUES
 ('A0001','Company 1','smb','EMEA',3,'prospect','2026-11-01T00:00:00Z')" >/dev/null
sql " INSERT INTO contact(id,account_id,name,email,updated_at) VALUES
 ('C1','A0001','Ann Lee','ann@company1.test','2026-11-01T00:00:00Z')" >/dev/null
cat >"$T/d.json" <<'J'
{"account_id": "A0001", "contact_ids": ["C1"], "subject": "Hello", "body": "Hi Ann",
 "audience": "lifecycle=prospect"}
J
expect 0 "a draft" "$AIRLOCK" propose "$T/d.json" --tool draft_email --as agent:writer
D=$(sql "SELECT id FROM draft LIMIT 1")
sql "UPDATE contact SET do_not_contact=1 WHERE id='C1'"
echo "{\"draft_ids\": [\"$D\"]}" >"$T/s.json"
"$AIRLOCK" propose "$T/s.json" --tool request_send --as agent:writer >"$T/out" 2>"$T/err"
has "request_send to a contact now do-not-contact is refused" "$T/out" "^decision: refused"
hasnt "... without printing (null)" "$T/out" "\(null\)"
has "... with its reason" "$T/out" "why: "

echo "1..$TN"
