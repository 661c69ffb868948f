/* addrlimit.c — the per-address count of requests of one kind a minute
 * (addrlimit.h). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addrlimit.h"

/* Addresses remembered and where each may sit: its hash's slot or the next
 * few. When those are taken, the one forgotten is the least worth keeping
 * (limit_rank): an address at its limit is forgotten last, so an attacker
 * who brings in many new addresses does not reset the limit of one that
 * has used its tries. */
#define LIMIT_SLOTS 4096
#define LIMIT_PROBE 8

struct limit_slot {
	char key[INET6_ADDRSTRLEN + 4];
	time_t window; /* start of its minute */
	unsigned count;
};

struct addrlimit {
	pthread_mutex_t lock;
	unsigned per_minute;
	struct limit_slot *slots; /* LIMIT_SLOTS, under lock */
};

int addrlimit_new(struct addrlimit **out, unsigned per_minute, struct err *err)
{
	struct addrlimit *l = calloc(1, sizeof *l);

	*out = NULL;
	if (!l || !(l->slots = calloc(LIMIT_SLOTS, sizeof *l->slots))) {
		free(l);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	l->per_minute = per_minute ? per_minute : 20;
	pthread_mutex_init(&l->lock, NULL);
	*out = l;
	return 0;
}

void addrlimit_free(struct addrlimit *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->slots);
	free(l);
}

/* The address an attempt counts against: IPv4 as is, IPv6 by its /64 (one
 * host usually has a whole /64 to pick addresses from). */
static void limit_key(const char *addr, char *key, size_t len)
{
	struct in6_addr a6;

	if (inet_pton(AF_INET6, addr, &a6) == 1) {
		memset(a6.s6_addr + 8, 0, 8);
		inet_ntop(AF_INET6, &a6, key, (socklen_t)len);
		return;
	}
	(void)snprintf(key, len, "%s", addr); /* an address string: at most INET6_ADDRSTRLEN */
}

static unsigned limit_hash(const char *k)
{
	unsigned h = 2166136261u;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

/* How much a slot is worth keeping (lower: forgotten first): free, then a
 * minute that has ended, then an address under its limit, then one at it. */
static int limit_rank(const struct addrlimit *p, const struct limit_slot *sl, time_t now)
{
	if (!sl->key[0])
		return 0;
	if (now - sl->window >= 60)
		return 1;
	return sl->count < p->per_minute ? 2 : 3;
}

int addrlimit_admit(struct addrlimit *p, const char *addr)
{
	char key[sizeof p->slots[0].key];
	time_t now = time(NULL);
	struct limit_slot *sl, *use = NULL;
	unsigned h, i;
	int ok;

	limit_key(addr, key, sizeof key);
	h = limit_hash(key);
	pthread_mutex_lock(&p->lock);
	for (i = 0; i < LIMIT_PROBE; i++) {
		sl = &p->slots[(h + i) % LIMIT_SLOTS];
		if (!strcmp(sl->key, key)) {
			use = sl;
			break;
		}
		/* else the least worth keeping; of equals, the oldest minute */
		if (!use || limit_rank(p, sl, now) < limit_rank(p, use, now) ||
		    (limit_rank(p, sl, now) == limit_rank(p, use, now) && sl->window < use->window))
			use = sl;
	}
	if (strcmp(use->key, key)) {
		memcpy(use->key, key, sizeof use->key); /* same size, NUL-terminated */
		use->window = now;
		use->count = 0;
	}
	if (now - use->window >= 60) {
		use->window = now;
		use->count = 0;
	}
	ok = use->count < p->per_minute;
	if (ok)
		use->count++;
	pthread_mutex_unlock(&p->lock);
	return ok;
}
