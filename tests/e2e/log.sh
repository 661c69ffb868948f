# tests/e2e/log.sh — the action log through the real binary: init makes the
# signing key, verify on an empty and a full log, tampering with the file
# by hand (sqlite3, python3 as an attacker who knows the format), signed
# checkpoints, and the log's filters.
. "$(dirname "$0")/lib.sh"
KEY="$AIRLOCK_DB.key"

expect 0 "init creates the database" "$AIRLOCK" init
if [ -f "$KEY" ] && [ "$(stat -c %a "$KEY")" = 600 ]; then ok "init creates DB.key with mode 600"; else notok "key file" "$(ls -l "$KEY" 2>&1)"; fi
before=$(sha256sum "$KEY")
expect 0 "init again is fine" "$AIRLOCK" init
same "init never replaces the key" "$(sha256sum "$KEY")" "$before"

expect 0 "verify an empty log" "$AIRLOCK" verify
has "an empty log has 0 entries and a zero head" "$T/out" '^0 entries, head 0{64}$'
expect 0 "log of an empty log" "$AIRLOCK" log
same "prints nothing" "$(cat "$T/out")" ""

expect 0 "checkpoint an empty log" "$AIRLOCK" log checkpoint -o "$T/cp0.json"
has "says what it signed" "$T/out" "checkpoint of entry 0, head 0{64}, written to"
has "the checkpoint has a signature" "$T/cp0.json" '"signature": "[0-9a-f]{128}"'
expect 0 "checkpoint to stdout, as alice" "$AIRLOCK" log checkpoint --as alice
has "stdout gets the checkpoint JSON" "$T/out" '"format": "airlock.checkpoint.v1"'
has "covering entry 1" "$T/out" '"seq": 1'
"$AIRLOCK" log checkpoint -o "$T/cp2.json" >/dev/null 2>&1

expect 0 "verify 3 entries" "$AIRLOCK" verify
has "three entries (each checkpoint is logged)" "$T/out" '^3 entries, head [0-9a-f]{64}$'
expect 0 "verify --checkpoint" "$AIRLOCK" verify --checkpoint "$T/cp2.json"
has "names the checkpoint and its key" "$T/out" "entry 2 matches, signed by this database's key"
expect 0 "verify --json" "$AIRLOCK" verify --json
has "json ok" "$T/out" '"ok": true'
has "json count" "$T/out" '"entries": 3'

expect 0 "log lists entries" "$AIRLOCK" log
same "newest first" "$(head -1 "$T/out" | awk '{print $1}')" 3
same "three lines" "$(wc -l <"$T/out")" 3
expect 0 "log --principal" "$AIRLOCK" log --principal human:alice
same "one entry by alice" "$(wc -l <"$T/out")" 1
has "alice took the checkpoint of entry 1" "$T/out" 'human:alice  cli  log checkpoint  — signed a checkpoint of entry 1'
expect 0 "log --tool --limit --json" "$AIRLOCK" log --tool "log checkpoint" --limit 2 --json
same "two entries" "$(grep -c '"seq": [0-9]*,$' "$T/out")" 2
has "entries carry their hash" "$T/out" '"hash": "[0-9a-f]{64}"'
expect 0 "log --since 1h" "$AIRLOCK" log --since 1h
same "all three are recent" "$(wc -l <"$T/out")" 3
expect 0 "log --since a future date" "$AIRLOCK" log --since 2999-01-01
same "none" "$(wc -l <"$T/out")" 0
expect 0 "log --record with no match" "$AIRLOCK" log --record A-1
same "none for A-1" "$(wc -l <"$T/out")" 0
expect 2 "log --since nonsense" "$AIRLOCK" log --since yesterday
has "names the option and the forms" "$T/err" "^airlock: log: --since: 'yesterday' is not a time"
expect 2 "log --limit 0" "$AIRLOCK" log --limit 0
has "limit range" "$T/err" "--limit: '0' is not a whole number"
expect 2 "verify with an extra argument" "$AIRLOCK" verify now
expect 2 "checkpoint with an unknown option" "$AIRLOCK" log checkpoint --force

expect 1 "verify a missing checkpoint file" "$AIRLOCK" verify --checkpoint "$T/nope.json"
has "names the file" "$T/err" "nope.json"
sed 's/"seq": 2/"seq": 1/' "$T/cp2.json" >"$T/cp-bad.json"
expect 1 "verify a checkpoint whose seq was changed" "$AIRLOCK" verify --checkpoint "$T/cp-bad.json"
has "signature does not match" "$T/err" "checkpoint .*cp-bad.json: the signature does not match"

# the triggers refuse edits even by hand
if sql "UPDATE action_log SET tool = 'x' WHERE seq = 2" 2>"$T/sqlerr"; then notok "update refused" "it was allowed"; else has "UPDATE is refused by a trigger" "$T/sqlerr" "append-only"; fi
if sql "DELETE FROM action_log WHERE seq = 3" 2>"$T/sqlerr"; then notok "delete refused" "it was allowed"; else has "DELETE is refused by a trigger" "$T/sqlerr" "append-only"; fi

# an attacker who knows the format rewrites the whole chain in place
cp "$AIRLOCK_DB" "$T/pristine.db"
sql "DROP TRIGGER action_log_no_update"
sql "DROP TRIGGER action_log_head_forward"
sql "UPDATE action_log SET body = replace(body, 'alice', 'mallory'),
                           principal = 'human:mallory' WHERE seq = 2"
python3 - "$AIRLOCK_DB" <<'EOF'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
prev = bytes(32)
for seq, body in db.execute("SELECT seq, body FROM action_log ORDER BY seq").fetchall():
    h = hashlib.blake2b(b"airlock.log.v1" + seq.to_bytes(8, "big") + prev + body.encode(),
                        digest_size=32).digest()
    db.execute("UPDATE action_log SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
    prev = h
db.execute("UPDATE action_log_head SET hash = ?", (prev,))
db.commit()
EOF
expect 0 "a consistent rewrite passes plain verify" "$AIRLOCK" verify
expect 1 "but not verify --checkpoint" "$AIRLOCK" verify --checkpoint "$T/cp2.json"
has "names the rewritten entry" "$T/err" "^airlock: verify: entry 2 does not have the hash the checkpoint .* signed: the log was rewritten"

# a plain edit of one column
cp "$T/pristine.db" "$AIRLOCK_DB"
rm -f "$AIRLOCK_DB-wal" "$AIRLOCK_DB-shm"
sql "DROP TRIGGER action_log_no_update"
sql "UPDATE action_log SET tool = 'approve' WHERE seq = 2"
expect 1 "verify after an edit" "$AIRLOCK" verify
has "names the entry and the column" "$T/err" "^airlock: verify: entry 2: column tool is 'approve' but its hashed body says 'log checkpoint' \(edited\)"
expect 1 "verify --json after an edit" "$AIRLOCK" verify --json
has "json names the problem" "$T/out" '"problem": "edited"'
has "json names the entry" "$T/out" '"bad_seq": 2'
expect 1 "a damaged log is not signed" "$AIRLOCK" log checkpoint -o "$T/cp-x.json"
has "says nothing was signed" "$T/err" "nothing was signed: entry 2"
if [ -e "$T/cp-x.json" ]; then notok "no checkpoint file written"; else ok "no checkpoint file written"; fi
same "and nothing was logged" "$(sql 'SELECT count(*) FROM action_log')" 3

# a deleted entry
cp "$T/pristine.db" "$AIRLOCK_DB"
rm -f "$AIRLOCK_DB-wal" "$AIRLOCK_DB-shm"
sql "DROP TRIGGER action_log_no_delete"
sql "DELETE FROM action_log WHERE seq = 2"
expect 1 "verify after a delete" "$AIRLOCK" verify
has "names the missing entry" "$T/err" "entry 2 is missing: the log goes from entry 1 to 3"

# the key must stay private
cp "$T/pristine.db" "$AIRLOCK_DB"
rm -f "$AIRLOCK_DB-wal" "$AIRLOCK_DB-shm"
chmod 644 "$KEY"
expect 1 "checkpoint refuses a key others can read" "$AIRLOCK" log checkpoint
has "says how to fix it" "$T/err" "too open.*chmod 600"
chmod 600 "$KEY"
rm -f "$KEY"
expect 1 "checkpoint without a key" "$AIRLOCK" log checkpoint
has "points at init" "$T/err" "no signing key; run 'airlock init'"
expect 0 "verify --checkpoint without the local key still checks the signature" "$AIRLOCK" verify --checkpoint "$T/cp2.json"
has "says the key could not be compared" "$T/out" "no local key to compare"
