#!/bin/sh
# bench/import.sh — `airlock import accounts` of a 100,000-row CSV against
# the sqlite3 shell's `.import --csv` of the same file into a bare table (no
# indexes, no constraints) in a fresh database: the floor for "rows from a
# CSV file into SQLite". Also timed, to show where the time goes: the sqlite3
# shell loading the same rows into airlock's own account table (its indexes,
# CHECK constraints, WAL), which is the work airlock cannot skip; and, as a
# diagnosis only, airlock importing into that table with its six secondary
# indexes dropped beforehand.
#
# The mapped case: the same rows as a Salesforce accounts report writes them
# (report column names, quoted values, Type picklist values, countries,
# "$1,234,567.89"), imported with --map salesforce so every row's lifecycle,
# region, revenue and head count go through the value mapping, against the
# sqlite3 shell's .import of that same file into a bare table.
#
# Each measurement is the median of REPS runs, each into a fresh database;
# the runs of the three alternate so drift on a shared machine hits all
# alike. Wall time is the figure; CPU time (user + system) is printed beside
# it because it moves less when other work shares the machine. Prints the
# figures and writes them to build/bench/import.txt.
#   BENCH_IMPORT_ROWS (100000), BENCH_REPS (5), AIRLOCK (build/release/airlock)
set -eu
ROWS=${BENCH_IMPORT_ROWS:-100000}
REPS=${BENCH_REPS:-5}
AIRLOCK=${AIRLOCK:-$(pwd)/build/release/airlock}
OUTDIR=$(pwd)/build/bench
BENCH=$(cd "$(dirname "$0")" && pwd)
[ -x "$AIRLOCK" ] || { echo "bench/import: no $AIRLOCK (run make first)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench/import: sqlite3 shell missing" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUTDIR"

python3 "$BENCH/gen_accounts.py" "$ROWS" >"$W/accounts.csv"
python3 "$BENCH/gen_accounts.py" "$ROWS" --table >"$W/table.csv"
python3 "$BENCH/gen_accounts.py" "$ROWS" --salesforce >"$W/sf.csv"

# run_ms NAME CMD...: appends the command's wall and CPU milliseconds to
# $W/NAME.wall and $W/NAME.cpu (the command must succeed)
run_ms() {
	name=$1
	shift
	/usr/bin/time -f '%e %U %S' -o "$W/time" "$@" >/dev/null 2>"$W/stderr" ||
		{ cat "$W/stderr" >&2; exit 1; }
	awk '{ printf "%d\n", $1 * 1000 }' "$W/time" >>"$W/$name.wall"
	awk '{ printf "%d\n", ($2 + $3) * 1000 }' "$W/time" >>"$W/$name.cpu"
}

fresh() { rm -f "$W"/db "$W"/db-wal "$W"/db-shm; }

i=0
while [ "$i" -lt "$REPS" ]; do
	fresh
	run_ms bare sqlite3 "$W/db" ".import --csv $W/accounts.csv t"
	fresh
	"$AIRLOCK" --db "$W/db" init >/dev/null
	run_ms table sqlite3 "$W/db" ".import --csv $W/table.csv account"
	[ "$(sqlite3 "$W/db" 'SELECT count(*) FROM account')" = "$ROWS" ] || { echo "bench/import: sqlite3 load incomplete" >&2; exit 1; }
	fresh
	"$AIRLOCK" --db "$W/db" init >/dev/null
	run_ms airlock "$AIRLOCK" --db "$W/db" import accounts "$W/accounts.csv" --quiet
	[ "$(sqlite3 "$W/db" 'SELECT count(*) FROM account')" = "$ROWS" ] || { echo "bench/import: airlock import incomplete" >&2; exit 1; }
	fresh
	"$AIRLOCK" --db "$W/db" init >/dev/null
	for ix in $(sqlite3 "$W/db" "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='account' AND sql IS NOT NULL"); do
		sqlite3 "$W/db" "DROP INDEX $ix"
	done
	run_ms noidx "$AIRLOCK" --db "$W/db" import accounts "$W/accounts.csv" --quiet
	fresh
	run_ms sfbare sqlite3 "$W/db" ".import --csv $W/sf.csv t"
	fresh
	"$AIRLOCK" --db "$W/db" init >/dev/null
	run_ms sfmap "$AIRLOCK" --db "$W/db" import accounts "$W/sf.csv" --map salesforce --quiet
	[ "$(sqlite3 "$W/db" "SELECT count(*) FROM account WHERE region IN ('NA','EMEA','APAC','LATAM')")" = "$ROWS" ] || { echo "bench/import: mapped import incomplete" >&2; exit 1; }
	# the text index is built after the import's commit, by the next
	# command that opens the book (an older airlock built it inside the
	# import): timed here, so both figures can be told apart
	if [ "$(sqlite3 "$W/db" "SELECT count(*) FROM sqlite_master WHERE name='account_text_behind'")" = 1 ]; then
		run_ms sfnext "$AIRLOCK" --db "$W/db" queue
		[ "$(sqlite3 "$W/db" "SELECT count(*) FROM account_text_behind")" = 0 ] || { echo "bench/import: the text index was not built" >&2; exit 1; }
	fi
	i=$((i + 1))
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
bare=$(median "$W/bare.wall")
table=$(median "$W/table.wall")
al=$(median "$W/airlock.wall")
ratio=$(div "$al" "$bare")
goal=$(awk -v r="$ratio" 'BEGIN { print (r <= 2.0) ? "met" : "NOT met" }')
{
	echo "import: $ROWS accounts, $(wc -c <"$W/accounts.csv") bytes, median of $REPS runs (ms, wall / cpu)"
	echo "  sqlite3 .import, bare table               $bare / $(median "$W/bare.cpu")"
	echo "  sqlite3 .import, airlock's account table  $table / $(median "$W/table.cpu")"
	echo "  airlock import accounts                   $al / $(median "$W/airlock.cpu")  ($(awk -v r="$ROWS" -v m="$al" 'BEGIN { printf "%.0f", r / m * 1000 }') rows/s)"
	echo "  (diagnosis) airlock, no secondary indexes $(median "$W/noidx.wall") / $(median "$W/noidx.cpu")  ($(div "$(median "$W/noidx.wall")" "$bare") x bare)"
	echo "  ratio airlock / bare sqlite3:             $ratio wall, $(div "$(median "$W/airlock.cpu")" "$(median "$W/bare.cpu")") cpu (goal <= 2 wall: $goal)"
	echo "  ratio airlock / sqlite3, same table:      $(div "$al" "$table") wall, $(div "$(median "$W/airlock.cpu")" "$(median "$W/table.cpu")") cpu"
	sfb=$(median "$W/sfbare.wall")
	sfm=$(median "$W/sfmap.wall")
	sfr=$(div "$sfm" "$sfb")
	echo "  salesforce format, $(wc -c <"$W/sf.csv") bytes:"
	echo "  sqlite3 .import, bare table               $sfb / $(median "$W/sfbare.cpu")"
	echo "  airlock import --map salesforce           $sfm / $(median "$W/sfmap.cpu")"
	echo "  ratio mapped / bare sqlite3:              $sfr wall, $(div "$(median "$W/sfmap.cpu")" "$(median "$W/sfbare.cpu")") cpu (goal <= 2 wall: $(awk -v r="$sfr" 'BEGIN { print (r <= 2.0) ? "met" : "NOT met" }'))"
	if [ -s "$W/sfnext.cpu" ]; then
		echo "  then the next open, building the text index $(median "$W/sfnext.wall") / $(median "$W/sfnext.cpu")"
		echo "  ratio (mapped import + that open) / bare:   $(div "$(($(median "$W/sfmap.cpu") + $(median "$W/sfnext.cpu")))" "$(median "$W/sfbare.cpu")") cpu"
	fi
	for n in bare table airlock noidx sfbare sfmap sfnext; do
		[ -s "$W/$n.wall" ] || continue
		echo "  runs $n (wall ms): $(tr '\n' ' ' <"$W/$n.wall")"
	done
} | tee "$OUTDIR/import.txt"
