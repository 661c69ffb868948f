#!/bin/sh
# bench/changes.sh — `airlock export changes` of one applied batch of 10,000
# items (every item a change: industry on 10,000 accounts imported with
# --map salesforce, so values go through the reverse map), against the
# baseline of `airlock export accounts` of the same 10,000-account book in
# the same run: both read and write about the same rows. Goal: under 1 s.
# Median and every run of REPS (re-exports of the same range, --changeset 1,
# which must give the same bytes every time).
#   BENCH_CHANGES_ITEMS (10000), BENCH_REPS (5), AIRLOCK (build/release/airlock)
set -eu
N=${BENCH_CHANGES_ITEMS:-10000}
REPS=${BENCH_REPS:-5}
AIRLOCK=${AIRLOCK:-$(pwd)/build/release/airlock}
OUTDIR=$(pwd)/build/bench
BENCH=$(cd "$(dirname "$0")" && pwd)
[ -x "$AIRLOCK" ] || { echo "bench/changes: no $AIRLOCK (run make first)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUTDIR"
DB="$W/db"
A() { "$AIRLOCK" --db "$DB" "$@"; }

python3 "$BENCH/gen_accounts.py" "$N" --salesforce >"$W/sf.csv"
A init >/dev/null
A import accounts "$W/sf.csv" --map salesforce --quiet >/dev/null
python3 - "$N" >"$W/p.json" <<'PY'
import json, sys
n = int(sys.argv[1])
json.dump({"workflow": "field_update", "scope": "region IN (NA, EMEA, APAC, LATAM)", "rationale": "bench",
           "items": [{"record_id": "001%015d" % (i + 1), "field": "industry",
                      "value": "Bench %d" % (i % 7), "reason": "r"} for i in range(n)]},
          sys.stdout)
PY
A propose "$W/p.json" --as agent:bench >/dev/null 2>&1 || true  # over stage_max: blocked for a person
A approve 1 --as bench >/dev/null 2>&1 || true
A apply 1 --as bench >/dev/null 2>&1
items=$(sqlite3 "$DB" "SELECT count(*) FROM batch_item WHERE batch_id=1 AND state='pending'")
A export changes -o "$W/first" >/dev/null

run_ms() {
	name=$1
	shift
	/usr/bin/time -f '%e %U %S' -o "$W/time" "$@" >/dev/null 2>"$W/stderr" ||
		{ cat "$W/stderr" >&2; exit 1; }
	awk '{ printf "%d\n", $1 * 1000 }' "$W/time" >>"$W/$name.wall"
	awk '{ printf "%d\n", ($2 + $3) * 1000 }' "$W/time" >>"$W/$name.cpu"
}
i=0
while [ "$i" -lt "$REPS" ]; do
	run_ms changes "$AIRLOCK" --db "$DB" export changes --changeset 1 -o "$W/again$i"
	cmp -s "$W/first/accounts.csv" "$W/again$i/accounts.csv" || { echo "bench/changes: re-export differs" >&2; exit 1; }
	run_ms export "$AIRLOCK" --db "$DB" export accounts -o "$W/all.csv"
	i=$((i + 1))
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
ch=$(median "$W/changes.wall")
ex=$(median "$W/export.wall")
{
	echo "export changes: $items applied items ($(($(wc -l <"$W/first/accounts.csv") - 1)) rows), median of $REPS runs (ms, wall / cpu)"
	echo "  airlock export changes --changeset 1      $ch / $(median "$W/changes.cpu")  (goal < 1000 wall: $([ "$ch" -lt 1000 ] && echo met || echo 'NOT met'))"
	echo "  airlock export accounts (baseline)        $ex / $(median "$W/export.cpu")"
	echo "  ratio changes / export accounts:          $(awk -v a="$ch" -v b="$ex" 'BEGIN { printf "%.2f", a / b }') wall"
	for n in changes export; do
		echo "  runs $n (wall ms): $(tr '\n' ' ' <"$W/$n.wall")"
	done
} | tee "$OUTDIR/changes.txt"
