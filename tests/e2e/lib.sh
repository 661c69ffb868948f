# tests/e2e/lib.sh — helpers for end-to-end suites that drive the real binary.
# Each suite sources this, runs checks, and prints TAP lines ("ok N - ...").
# $AIRLOCK is the binary under test; each suite gets its own temporary folder
# $T and its own database ($AIRLOCK_DB).
set -u
: "${AIRLOCK:?set AIRLOCK to the airlock binary}"
T=$(mktemp -d)
# lib_cleanup: what the suite leaves behind goes (a suite that sets its own
# EXIT trap calls it last)
lib_cleanup() {
	[ -z "${E2E_PG:-}" ] || sh "$PGSH" dropdb "$AIRLOCK_DB" >/dev/null 2>&1
	rm -rf "$T"
}
trap lib_cleanup EXIT
export AIRLOCK_DB="$T/airlock.db"
# every suite runs under the default policy, written where the suite owns it
# (never ./airlock.yaml of the checkout)
export AIRLOCK_POLICY="$T/default-policy.yaml"
AIRLOCK_DB="$T/.policy-init.db" "$AIRLOCK" init >/dev/null 2>&1 ||
	echo "lib.sh: could not write the default policy" >&2
rm -f "$T"/.policy-init.db*
export NO_COLOR=1
TN=0
# AIRLOCK_E2E_PG=1 with $AIRLOCK_TEST_PG (the cluster tests/run starts with
# tests/pg.sh): the suite's database is a new PostgreSQL database on that
# cluster, dropped at the end, and its signing key goes under $T (not ~).
# $E2E_PG is 1 then, for the few checks that differ by engine.
E2E_PG=
if [ -n "${AIRLOCK_E2E_PG:-}" ] && [ "${AIRLOCK_E2E_PG}" != 0 ]; then
	: "${AIRLOCK_TEST_PG:?AIRLOCK_E2E_PG needs AIRLOCK_TEST_PG (sh tests/pg.sh start DIR)}"
	PGSH=$(cd "$(dirname "$0")/.." && pwd)/pg.sh
	AIRLOCK_DB=$(sh "$PGSH" newdb "$AIRLOCK_TEST_PG") || {
		echo "lib.sh: no database on $AIRLOCK_TEST_PG" >&2
		exit 1
	}
	export AIRLOCK_DB
	export XDG_CONFIG_HOME="$T/config"
	unset AIRLOCK_KEY
	E2E_PG=1
fi

ok() {
	TN=$((TN + 1))
	echo "ok $TN - $1"
}

notok() {
	TN=$((TN + 1))
	echo "not ok $TN - $1"
	shift
	for line in "$@"; do printf '#   %s\n' "$line"; done
}

# expect CODE DESC CMD...: runs CMD, stdout in $T/out, stderr in $T/err, and
# checks its exit code.
expect() {
	want=$1
	desc=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$desc"
	else
		notok "$desc" "exit $got, wanted $want: $*" "stderr: $(head -c 800 "$T/err")" \
			"stdout: $(head -c 400 "$T/out")"
	fi
}

# has DESC FILE PATTERN: FILE contains a line matching the (grep -E) PATTERN.
has() {
	if grep -Eq -- "$3" "$2"; then ok "$1"; else notok "$1" "no /$3/ in $2:" "$(head -c 800 "$2")"; fi
}

# hasnt DESC FILE PATTERN: no line of FILE matches PATTERN.
hasnt() {
	if grep -Eq -- "$3" "$2"; then notok "$1" "unwanted /$3/ in $2:" "$(grep -E -- "$3" "$2" | head -5)"; else ok "$1"; fi
}

# same DESC A B: the two strings are equal.
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "got '$2'" "wanted '$3'"; fi
}

# sql QUERY [VALUE...]: runs one statement on the suite's database,
# whichever engine holds it, through `airlock sql --write` (committed; rows
# as sqlite3 -batch -noheader prints them: '|' between columns, NULL empty,
# text as stored).
sql() {
	"$AIRLOCK" sql --write --raw "$@"
}

# serve_start [ARGS...]: starts `airlock serve ARGS` on a free loopback port,
# output in $T/serve.log; sets $pid and $port (a failed start is a "not ok").
serve_start() {
	# emptied here, not only by the redirection: that runs in the child,
	# maybe after the loop below has read the last server's port
	: >"$T/serve.log"
	"$AIRLOCK" serve --listen 127.0.0.1:0 "$@" >"$T/serve.log" 2>&1 &
	pid=$!
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/serve.log")
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || notok "serve started" "$(cat "$T/serve.log")"
}
