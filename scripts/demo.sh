#!/bin/sh
# What `make demo` runs once ./airlock is built: a fresh demo/ folder with a
# generated book in it, and the book's summary. Later steps (an agent session
# against this book) are added below the book.
set -eu
cd "$(dirname "$0")/.."
DEMO=demo

# demo/ is ours to wipe: it carries a marker. A demo/ without one is someone
# else's folder, and is left alone.
if [ -e "$DEMO" ] && [ ! -e "$DEMO/.airlock-demo" ]; then
	echo "demo.sh: $DEMO/ exists and was not made by this script; move it away first" >&2
	exit 1
fi
rm -rf "$DEMO"
mkdir -p "$DEMO"
: >"$DEMO/.airlock-demo"

echo "== 1. a book to work on: 4,000 accounts, generated from seed 1"
echo "   ./airlock demo --db $DEMO/airlock.db"
echo
./airlock demo --db "$DEMO/airlock.db"
