#!/bin/sh
# scripts/gen_man.sh BIN — airlock(1) in roff on stdout, made from the
# binary's own --help texts (the verb table), so the man page can never say
# what the binary does not. help2man would need Perl and a Debian package;
# this needs only sh, sed and awk.
set -eu
BIN=$1
# roff: a backslash is \e; a line starting with . or ' would be a request
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" -e 's/^-/\\-/'; }
version=$("$BIN" --version | sed 's/^airlock //')
echo ".TH AIRLOCK 1 \"\" \"airlock $version\" \"User Commands\""
echo ".SH NAME"
echo "airlock \\- stage, log, sample and gate what an AI agent proposes against a sales book"
echo ".SH SYNOPSIS"
echo ".B airlock"
printf '%s\n' '\fIverb\fR [\fIoptions\fR]'
echo ".SH DESCRIPTION"
echo ".nf"
"$BIN" help | esc
echo ".fi"
echo ".SH VERBS"
for v in $("$BIN" help | sed -n '/^verbs:/,/^$/p' | awk 'NF > 1 { print $1 }'); do
	echo ".SS $v"
	echo ".nf"
	"$BIN" "$v" --help | esc
	echo ".fi"
done
echo ".SH ENVIRONMENT"
echo ".TP"
echo ".B AIRLOCK_DB"
echo "the database when \\-\\-db is not given (default ./airlock.db)"
echo ".TP"
echo ".B AIRLOCK_POLICY"
echo "the policy when \\-\\-policy is not given (default ./airlock.yaml; for mcp and"
echo "serve, the airlock.yaml beside the database when the working directory has none)"
echo ".TP"
echo ".B NO_COLOR"
echo "no colour in the output"
