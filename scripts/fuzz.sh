#!/bin/sh
# Runs libFuzzer harnesses one after the other, nice'd; new inputs go to
# build/fuzz/corpus-NAME, crashers to fuzz/regress/NAME/ (commit them: make
# check replays them). Prints per harness the executions, executions per
# second and whether it crashed, then the total; exits 1 when any harness
# stopped on a finding.
#  - FUZZ_TIME=S: each harness S seconds (default 60) — make fuzz;
#  - FUZZ_RUNS=N: each harness until it has executed N inputs — make soak
#    (10,000,000). It first runs FUZZ_CALIBRATE seconds (default 30),
#    prints the rate measured and the time the rest will take, then goes
#    on from the same corpus for the remaining executions.
# http runs with -detect_leaks=0: its server threads allocate after the
# input returns, so libFuzzer's per-input malloc/free balance never holds
# and would run a whole-heap leak scan after nearly every input; leaks are
# still reported when the process exits.
# Usage: FUZZ_TIME=600 sh scripts/fuzz.sh mcp http csv policy scope smtp
t=${FUZZ_TIME:-60}
want=${FUZZ_RUNS:-}
cal=${FUZZ_CALIBRATE:-30}
total=0
bad=0
summary=""
[ $# -gt 0 ] || set -- mcp http csv policy scope smtp

# run NAME LOG FLAGS...: one libFuzzer run; sets rc, runs, secs
run() {
	name=$1 log=$2
	shift 2
	nice "$bin" "$@" -timeout=10 -max_len=$len -print_final_stats=1 $extra \
		-artifact_prefix="fuzz/regress/$name/" "build/fuzz/corpus-$name" "fuzz/corpus/$name" \
		>"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
	runs=${runs:-0}
	[ -n "$secs" ] && [ "$secs" -gt 0 ] || secs=1
}

for name in "$@"; do
	bin=build/fuzz/fuzz_$name
	[ -x "$bin" ] || { echo "fuzz $name: $bin is not built (make fuzz-build)"; bad=1; continue; }
	case $name in
	csv | mcp) len=65536 ;;
	http) len=16384 ;;
	*) len=8192 ;;
	esac
	extra=""
	[ "$name" = http ] && extra="-detect_leaks=0"
	mkdir -p "build/fuzz/corpus-$name" "fuzz/regress/$name"
	log=build/fuzz/$name.log
	if [ -n "$want" ]; then
		run "$name" "$log" -max_total_time="$cal"
		done_runs=$runs done_secs=$secs
		if [ $rc -eq 0 ] && [ "$runs" -lt "$want" ]; then
			rate=$((runs / secs))
			[ "$rate" -gt 0 ] || rate=1
			left=$((want - runs))
			echo "fuzz $name: $((rate))/s measured; $left more runs take about $((left / rate / 60)) min"
			run "$name" "$log.soak" -runs="$left"
			done_runs=$((done_runs + runs)) done_secs=$((done_secs + secs))
			log=$log.soak
		fi
		runs=$done_runs secs=$done_secs
	else
		run "$name" "$log" -max_total_time="$t"
	fi
	total=$((total + runs))
	if [ $rc -ne 0 ]; then
		bad=1
		echo "fuzz $name: FOUND a crash or broken oracle after $runs runs: see $log and fuzz/regress/$name/"
		grep -m3 -E 'ERROR|fuzz_[a-z]+:|runtime error' "$log"
	else
		echo "fuzz $name: $runs runs in ${secs}s ($((runs / secs))/s), nothing found"
	fi
	summary="$summary
  $name: $runs runs in ${secs}s ($((runs / secs))/s)"
done
echo "fuzz: executions per harness:$summary"
echo "fuzz: $total runs in all"
exit $bad
