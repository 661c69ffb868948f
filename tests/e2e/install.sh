# tests/e2e/install.sh — `make install`: PREFIX and DESTDIR, the binary, a
# man page and bash completion made from the binary's own help; the installed
# binary serves as "command": "airlock" in a client's config does.
. "$(dirname "$0")/lib.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
R="$T/root"
expect 0 "make install with DESTDIR and PREFIX" \
	make -s -C "$TOP" install INSTALL_BIN="$AIRLOCK" DESTDIR="$R" PREFIX=/opt/al
[ -x "$R/opt/al/bin/airlock" ] && ok "the binary is in PREFIX/bin" || notok "the binary is in PREFIX/bin" "$(find "$R")"
M="$R/opt/al/share/man/man1/airlock.1"
C="$R/opt/al/share/bash-completion/completions/airlock"
has "the man page has a NAME section" "$M" '^\.SH NAME'
has "the man page documents every verb, e.g. serve" "$M" '^\.SS serve$'
has "and the serve options, e.g. --insecure-http" "$M" 'insecure-http'
if command -v man >/dev/null 2>&1; then
	man -l "$M" >"$T/man.txt" 2>"$T/man.err"
	has "man renders it" "$T/man.txt" '^ +airlock verb \[options\]'
	hasnt "without roff warnings" "$T/man.err" 'warning'
fi
bash -n "$C" && ok "the completion is valid bash" || notok "the completion is valid bash"
# complete "airlock se" and "airlock serve --ins" as bash would
out=$(bash -c ". '$C'; COMP_WORDS=(airlock se); COMP_CWORD=1; _airlock; echo \"\${COMPREPLY[*]}\"")
same "verbs complete from the verb table" "$out" "serve"
out=$(bash -c ". '$C'; COMP_WORDS=(airlock serve --inse); COMP_CWORD=2; _airlock; echo \"\${COMPREPLY[*]}\"")
same "a verb's options complete" "$out" "--insecure-http"
out=$(bash -c ". '$C'; COMP_WORDS=(airlock mcp --con); COMP_CWORD=2; _airlock; echo \"\${COMPREPLY[*]}\"")
same "mcp's --connector completes" "$out" "--connector"

# "command": "airlock" with the installed bin on PATH, cwd /, nothing else
B="$T/book"
mkdir -p "$B"
(cd "$B" && env -u AIRLOCK_DB -u AIRLOCK_POLICY "$R/opt/al/bin/airlock" init >/dev/null 2>&1)
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}' >"$T/in"
(cd / && env -i PATH="$R/opt/al/bin:/usr/bin:/bin" airlock mcp --connector read --agent claude --db "$B/airlock.db" <"$T/in" >"$T/out" 2>"$T/err")
has "the installed airlock serves from PATH" "$T/out" '"id":1,"result"'

# the release binary allocates with jemalloc (Makefile; the sanitized one
# keeps glibc's, which ASan replaces): the deps install it, the link names it
make -s -n -B -C "$TOP" MODE=release build/release/airlock >"$T/link" 2>&1
has "the release airlock links jemalloc" "$T/link" '-o build/release/airlock .*-ljemalloc'
make -s -n -B -C "$TOP" MODE=check build/check/airlock >"$T/link" 2>&1
hasnt "the sanitized airlock does not" "$T/link" '-ljemalloc'

expect 0 "make uninstall" make -s -C "$TOP" uninstall DESTDIR="$R" PREFIX=/opt/al
same "and removes what install put there" "$(find "$R" -type f | wc -l)" 0
