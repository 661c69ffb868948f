/* clock.c — "now", formatting and parsing of airlock's UTC timestamps. */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

time_t clock_now(void)
{
	const char *pin = getenv("AIRLOCK_NOW");
	time_t t;
	char *end;
	long long v;

	if (pin && *pin) {
		errno = 0;
		v = strtoll(pin, &end, 10);
		if (!errno && !*end)
			return (time_t)v;
		if (clock_parse(pin, &t) == 0)
			return t;
	}
	return time(NULL);
}

void clock_format(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && len)
		buf[0] = '\0';
}

int clock_parse(const char *text, time_t *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, s = 0, n = 0;
	size_t len = strlen(text);

	if (len == 10) {
		if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
			return -1;
	} else if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 ||
		   (size_t)n != len) {
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
	    s > 60)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*out = timegm(&tm);
	return 0;
}
