# crash.sh — kill airlock (SIGKILL) at random points while it applies and
# undoes a 10,000-item batch; after every kill the batch is either wholly
# applied or not at all, the book matches its state, and the file is sound.
. "$(dirname "$0")/lib.sh"

N=${CRASH_ITEMS:-10000}
ROUNDS=${CRASH_ROUNDS:-20}
$AIRLOCK init >/dev/null || { notok "init"; exit 1; }
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<$N)
 INSERT INTO account(id,name,segment,region,tier,lifecycle,updated_at)
 SELECT 'A'||substr(CAST(1000000+i AS TEXT),2),'Company '||i,'smb','EMEA',3,'prospect','2026-11-01T00:00:00Z' FROM n" >/dev/null
python3 - "$N" >"$T/p.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"workflow": "retier", "scope": "region=EMEA", "rationale": "crash test",
  "items": [{"record_id": "A%06d" % i, "field": "tier", "value": 1, "reason": "r"} for i in range(1, n + 1)]}))
PY
# far past the default policy's stage_max the proposal is blocked: a person
# approves it (with no loadable policy it would be refused, nothing queued)
expect 0 "a $N-item proposal is recorded" $AIRLOCK propose "$T/p.json" --as agent:bulk
B=$(sql "SELECT max(id) FROM batch")
same "it is blocked for a person" "$(sql "SELECT state FROM batch WHERE id=$B")" blocked
expect 0 "a person approves it" $AIRLOCK approve "$B" --as maria

# consistent STATE: the book agrees with the batch state, and the file is sound
consistent() {
	st=$(sql "SELECT state FROM batch WHERE id=$B")
	t1=$(sql "SELECT count(*) FROM account WHERE tier=1")
	ic=$(sql "PRAGMA integrity_check")
	case "$st" in
	approved|undone) want=0 ;;
	applied) want=$N ;;
	*) want=x ;;
	esac
	[ "$ic" = ok ] && [ "$t1" = "$want" ]
}

# time one full apply so kills land inside it
cp "$AIRLOCK_DB" "$T/copy.db"
start=$(date +%s%N)
AIRLOCK_DB="$T/copy.db" $AIRLOCK apply "$B" --as maria >/dev/null 2>&1
dur_ms=$(( ($(date +%s%N) - start) / 1000000 ))
rm -f "$T"/copy.db*
[ "$dur_ms" -lt 20 ] && dur_ms=20
echo "# one apply of $N items takes ${dur_ms} ms"

bad=0
landed_inside=0
i=0
while [ $i -lt "$ROUNDS" ]; do
	i=$((i + 1))
	for verb in apply undo; do
		st=$(sql "SELECT state FROM batch WHERE id=$B")
		if [ "$verb" = apply ] && [ "$st" != approved ]; then continue; fi
		if [ "$verb" = undo ] && [ "$st" != applied ]; then continue; fi
		delay_ms=$(python3 -c "import random; print(random.randint(0, $dur_ms))")
		$AIRLOCK $verb "$B" --as maria >/dev/null 2>&1 &
		pid=$!
		sleep "$(python3 -c "print($delay_ms/1000)")"
		if kill -9 $pid 2>/dev/null; then landed_inside=$((landed_inside + 1)); fi
		wait $pid 2>/dev/null
		if ! consistent; then
			bad=$((bad + 1))
			echo "# round $i $verb killed after ${delay_ms} ms: state $st, tier-1 $(sql "SELECT count(*) FROM account WHERE tier=1")"
		fi
		# an undone batch cannot be applied again: start a fresh round
		if [ "$(sql "SELECT state FROM batch WHERE id=$B")" = undone ]; then
			$AIRLOCK propose "$T/p.json" --as agent:bulk >/dev/null 2>&1
			B=$(sql "SELECT max(id) FROM batch")
			$AIRLOCK approve "$B" --as maria >/dev/null 2>&1
		fi
	done
done
echo "# $landed_inside kills landed while the process was running"
same "after every kill the batch is all-or-nothing and the book matches" "$bad" 0
if [ "$landed_inside" -gt 0 ]; then ok "kills landed mid-run ($landed_inside)"; else notok "no kill landed while airlock ran"; fi
same "the database passes integrity_check" "$(sql "PRAGMA integrity_check")" ok
# finish: the last batch completes cleanly
st=$(sql "SELECT state FROM batch WHERE id=$B")
[ "$st" = approved ] && $AIRLOCK apply "$B" --as maria >/dev/null 2>&1
same "a batch finishes after the kills" "$(sql "SELECT count(*) FROM account WHERE tier=1")" "$N"
