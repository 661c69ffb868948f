/* console_login.c — what keeps password sign-in from starving the server:
 * the one thread that checks passwords, fed by a short queue, and the
 * per-address count of sign-in attempts (addrlimit.c, console_int.h). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addrlimit.h"
#include "console_int.h"

/* Argon2id at libsodium's interactive cost takes ~64 MB and tens of
 * milliseconds: one thread bounds the memory, the queue bounds the wait. */
#define POOL_QUEUE 8

struct pool_job {
	console_pool_fn run;
	void *arg;
};

struct console_pool {
	char *db_path;
	pthread_t thread;
	int started, quit;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct pool_job q[POOL_QUEUE];
	unsigned head, len;
	struct addrlimit *limit; /* sign-in attempts per address */
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
	if (!p || !(p->db_path = strdup(db_path))) {
		free(p);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (addrlimit_new(&p->limit, per_minute, err)) {
		free(p->db_path);
		free(p);
		return err->code;
	}
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
	addrlimit_free(p->limit);
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

int console_pool_admit(struct console_pool *p, const char *addr)
{
	return addrlimit_admit(p->limit, addr);
}
