#!/bin/sh
# Runs libFuzzer harnesses one after the other, each FUZZ_TIME seconds
# (default 60), nice'd; new inputs go to build/fuzz/corpus-NAME, crashers to
# fuzz/regress/NAME/ (commit them: make check replays them). Prints per
# harness the executions, executions per second and whether it crashed,
# then the total; exits 1 when any harness stopped on a finding.
# Usage: FUZZ_TIME=600 sh scripts/fuzz.sh mcp http csv policy scope smtp
t=${FUZZ_TIME:-60}
total=0
bad=0
[ $# -gt 0 ] || set -- mcp http csv policy scope smtp
for name in "$@"; do
	bin=build/fuzz/fuzz_$name
	[ -x "$bin" ] || { echo "fuzz $name: $bin is not built (make fuzz-build)"; bad=1; continue; }
	case $name in
	csv | mcp) len=65536 ;;
	http) len=16384 ;;
	*) len=8192 ;;
	esac
	mkdir -p "build/fuzz/corpus-$name" "fuzz/regress/$name"
	log=build/fuzz/$name.log
	nice "$bin" -max_total_time="$t" -timeout=10 -max_len=$len -print_final_stats=1 \
		-artifact_prefix="fuzz/regress/$name/" "build/fuzz/corpus-$name" "fuzz/corpus/$name" \
		>"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
	runs=${runs:-0}
	[ -n "$secs" ] && [ "$secs" -gt 0 ] || secs=$t
	total=$((total + runs))
	if [ $rc -ne 0 ]; then
		bad=1
		echo "fuzz $name: FOUND a crash or broken oracle after $runs runs: see $log and fuzz/regress/$name/"
		grep -m3 -E 'ERROR|fuzz_[a-z]+:|runtime error' "$log"
	else
		echo "fuzz $name: $runs runs in ${secs}s ($((runs / secs))/s), nothing found"
	fi
done
echo "fuzz: $total runs in all"
exit $bad
