#!/bin/sh
# Keeps the risky libc calls out of src/ (curl's habit): each has a bounded
# or checked replacement (snprintf, memcpy with a known length, strtoll).
bad=$(grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|gets)\s*\(' src/*.c src/*.h 2>/dev/null || true)
if [ -n "$bad" ]; then
	echo "banned.sh: use the bounded replacement instead of:" >&2
	echo "$bad" >&2
	exit 1
fi
