/* clock.h — airlock's notion of "now", and its one time format.
 *
 * Times are stored as UTC text "YYYY-MM-DDTHH:MM:SSZ" so they sort as
 * strings and read the same in SQLite, PostgreSQL and a log dump.
 * AIRLOCK_NOW (seconds since the epoch, or that text form) pins "now": tests
 * and the demo use it to replay days of activity in seconds. */
#ifndef AIRLOCK_CLOCK_H
#define AIRLOCK_CLOCK_H

#include <stddef.h>
#include <time.h>

#define CLOCK_TEXT_LEN 24

time_t clock_now(void);
/* Writes t as text into buf (at least CLOCK_TEXT_LEN bytes). */
void clock_format(time_t t, char *buf, size_t len);
/* Parses the text form (or YYYY-MM-DD); -1 when it is not one. */
int clock_parse(const char *text, time_t *out);

#endif
