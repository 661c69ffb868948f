#!/bin/sh
# Keeps the snprintf sweep done: a call whose result is discarded must say so,
# (void)snprintf(...), and be one whose cut cannot happen or changes only what
# a person reads; everything else checks the result or uses fmt_buf() (fmt.h),
# which fails instead of cutting. Fails on a bare snprintf/vsnprintf statement.
bad=$(grep -nE '^[[:space:]]*v?snprintf[[:space:]]*\(' src/*.c 2>/dev/null || true)
if [ -n "$bad" ]; then
	echo "snprintf.sh: result discarded; check it, use fmt_buf(), or write (void)snprintf where a cut is harmless:" >&2
	echo "$bad" >&2
	exit 1
fi
