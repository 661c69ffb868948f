/* addrlimit.h — how many requests of one kind each client address may make
 * in a minute (sign-in attempts, OAuth client registrations): the one
 * per-address limiter, in memory, a bounded table. Owns no table and never
 * touches the database; it only counts. Thread-safe. */
#ifndef AIRLOCK_ADDRLIMIT_H
#define AIRLOCK_ADDRLIMIT_H

#include "err.h"

struct addrlimit;

/* per_minute: what one address may do in a minute (0: 20). */
int addrlimit_new(struct addrlimit **out, unsigned per_minute, struct err *err);
void addrlimit_free(struct addrlimit *l);
/* Counts a request from addr (its /64 for IPv6): 1 when it is within
 * per_minute of this address's minute, 0 when over. An address forgotten
 * to make room starts afresh; one at its limit is forgotten last, so an
 * attacker who brings in many new addresses does not reset the limit of
 * one that has used its tries. */
int addrlimit_admit(struct addrlimit *l, const char *addr);

#endif
