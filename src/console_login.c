/* console_login.c — what keeps password sign-in from starving the server:
 * the one thread that checks passwords, fed by a short queue, and the
 * per-address count of sign-in attempts (console_int.h). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console_int.h"

/* Argon2id at libsodium's interactive cost takes ~64 MB and tens of
 * milliseconds: one thread bounds the memory, the queue bounds the wait. */
#define POOL_QUEUE 8
/* Addresses remembered and where each may sit: its hash's slot or the next
 * few. When those are taken, the one forgotten is the least worth keeping
 * (limit_rank): an address at its limit is forgotten last, so an attacker
 * who brings in many new addresses does not reset the limit of one that
 * has used its tries. */
#define LIMIT_SLOTS 4096
#define LIMIT_PROBE 8

struct pool_job {
	console_pool_fn run;
	void *arg;
};

struct limit_slot {
	char key[INET6_ADDRSTRLEN + 4];
	time_t window; /* start of its minute */
	unsigned count;
};

struct console_pool {
	char *db_path;
	pthread_t thread;
	int started, quit;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct pool_job q[POOL_QUEUE];
	unsigned head, len;
	unsigned per_minute;
	struct limit_slot *slots; /* LIMIT_SLOTS, under lock */
};

static void *pool_main(void *arg)
{
	struct console_pool *p = arg;
	struct store *s = NULL;
	struct pool_job job;
	struct err err = {0};

	reviewer_prepare(); /* the first unknown name then costs one hash */
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->len && !p->quit)
			pthread_cond_wait(&p->wake, &p->lock);
		if (p->quit)
			break; /* the server has stopped: nobody waits for these */
		job = p->q[p->head];
		p->head = (p->head + 1) % POOL_QUEUE;
		p->len--;
		pthread_mutex_unlock(&p->lock);
		if (!s && store_open(&s, p->db_path, &err)) {
			fprintf(stderr, "airlock serve: console: %s\n", err.msg);
			s = NULL;
		}
		job.run(job.arg, s, 0);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	store_close(s);
	return NULL;
}

int console_pool_new(struct console_pool **out, const char *db_path, unsigned per_minute,
		     struct err *err)
{
	struct console_pool *p = calloc(1, sizeof *p);

	*out = NULL;
	if (!p || !(p->db_path = strdup(db_path)) ||
	    !(p->slots = calloc(LIMIT_SLOTS, sizeof *p->slots))) {
		if (p)
			free(p->db_path);
		free(p);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	p->per_minute = per_minute ? per_minute : 20;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (pthread_create(&p->thread, NULL, pool_main, p)) {
		console_pool_free(p);
		return err_set(err, AIRLOCK_EIO, "cannot start the sign-in thread");
	}
	p->started = 1;
	pthread_setname_np(p->thread, "airlock-signin");
	*out = p;
	return 0;
}

void console_pool_free(struct console_pool *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->quit = 1;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	/* jobs still queued belong to connections MHD has closed */
	while (p->len) {
		p->q[p->head].run(p->q[p->head].arg, NULL, 1);
		p->head = (p->head + 1) % POOL_QUEUE;
		p->len--;
	}
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->slots);
	free(p->db_path);
	free(p);
}

int console_pool_submit(struct console_pool *p, console_pool_fn run, void *arg)
{
	int rc = -1;

	pthread_mutex_lock(&p->lock);
	if (p->len < POOL_QUEUE && !p->quit) {
		p->q[(p->head + p->len) % POOL_QUEUE] = (struct pool_job){run, arg};
		p->len++;
		pthread_cond_signal(&p->wake);
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
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
static int limit_rank(const struct console_pool *p, const struct limit_slot *sl, time_t now)
{
	if (!sl->key[0])
		return 0;
	if (now - sl->window >= 60)
		return 1;
	return sl->count < p->per_minute ? 2 : 3;
}

int console_pool_admit(struct console_pool *p, const char *addr)
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
