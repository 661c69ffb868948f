/* audit_queue.c — group commit of action log entries for the threads of
 * one process (audit.h). */
#include "audit.h"
#include "audit_int.h"

#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

/* One submitted entry, owned by the queue until its callback has run. */
struct pending {
	json_t *o; /* the prepared entry */
	int64_t seq;
	int rc;
	struct err err;
	audit_queue_done_fn done;
	void *ctx;
	struct pending *next;
};

/* A writer thread with its own connection commits, in one transaction,
 * every entry queued while it was busy with the one before. */
#define GATHER_NS 500000L
#define WAL_LIMIT_PAGES 4096
struct audit_queue {
	struct store *store; /* the writer thread's */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct pending *head, **tail;
	int stopping;
};

static void write_group(struct store *s, struct pending *group)
{
	unsigned char head[AUDIT_HASH_BYTES];
	struct err err = {0};
	struct pending *p;
	int64_t seq;
	int rc;

	if (!group->next) {
		group->rc = audit_entry_append(s, group->o, &group->seq, &group->err);
		return;
	}
	rc = store_begin(s, &err);
	if (rc == 0)
		rc = audit_head(s, &seq, head, &err);
	for (p = group; rc == 0 && p; p = p->next) {
		rc = audit_entry_write(s, p->o, &seq, head, &err);
		p->seq = seq;
	}
	if (rc == 0)
		rc = audit_head_move(s, seq, head, &err);
	if (rc == 0)
		rc = store_commit(s, &err);
	else if (store_in_transaction(s))
		store_rollback(s);
	if (rc == 0)
		return;
	/* each in its own transaction, so one bad entry does not take the
	 * others down */
	for (p = group; p; p = p->next)
		p->rc = audit_entry_append(s, p->o, &p->seq, &p->err);
}

static void *writer(void *arg)
{
	static const struct timespec gather = {0, GATHER_NS};
	struct audit_queue *q = arg;
	struct pending *group, *p, *next;
	long last_size = 0;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->head && !q->stopping)
			pthread_cond_wait(&q->work, &q->lock);
		if (!q->head)
			break;
		if (last_size > 1) {
			/* Under concurrent load, let the group fill a little: every
			 * commit rewrites the same few pages (log leaf, index leaves,
			 * head) to the WAL and later the checkpoint, so fewer, larger
			 * groups cost far less CPU, which shortens every queue in
			 * the process. A lone caller (groups of one) never waits. */
			pthread_mutex_unlock(&q->lock);
			nanosleep(&gather, NULL);
			pthread_mutex_lock(&q->lock);
		}
		group = q->head;
		q->head = NULL;
		q->tail = &q->head;
		pthread_mutex_unlock(&q->lock);
		for (last_size = 0, p = group; p; p = p->next)
			last_size++;
		write_group(q->store, group);
		for (p = group; p; p = next) {
			next = p->next;
			json_decref(p->o);
			p->done(p->ctx, p->rc, p->rc ? &p->err : NULL, p->seq);
			free(p);
		}
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int audit_queue_open(struct audit_queue **out, const char *db_path, struct err *err)
{
	struct audit_queue *q = calloc(1, sizeof *q);
	int rc;

	*out = NULL;
	if (!q)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = audit_sodium_ready(err);
	/* 16 MB of WAL at most, however long the load lasts. The triggers
	 * off on this connection only: the chain and the head are computed
	 * here, under the write lock, from the head read in the same
	 * transaction, so the triggers that check a stray INSERT's chain (a
	 * trigger program per entry: max(seq), the entry before) check
	 * nothing this writer can get wrong. Every other connection, in this
	 * process or another, still meets them. */
	if (rc == 0)
		rc = store_open_with(&q->store, db_path,
				     &(struct store_options){.durability = STORE_RELAXED,
							     .wal_limit_pages = WAL_LIMIT_PAGES,
							     .triggers_off = 1},
				     err);
	if (rc) {
		free(q);
		return rc;
	}
	q->tail = &q->head;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	if (pthread_create(&q->thread, NULL, writer, q) != 0) {
		pthread_cond_destroy(&q->work);
		pthread_mutex_destroy(&q->lock);
		store_close(q->store);
		free(q);
		return err_set(err, AIRLOCK_ENOMEM, "cannot start the action log's writer thread");
	}
	pthread_setname_np(q->thread, "airlock-log");
	*out = q;
	return 0;
}

int audit_queue_submit(struct audit_queue *q, const struct audit_entry *e,
		       audit_queue_done_fn done, void *ctx, struct err *err)
{
	struct pending *p = calloc(1, sizeof *p);
	int rc;

	if (!p)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = audit_entry_prepare(e, &p->o, err);
	if (rc) {
		free(p);
		return rc;
	}
	p->done = done;
	p->ctx = ctx;
	pthread_mutex_lock(&q->lock);
	*q->tail = p;
	q->tail = &p->next;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* audit_queue_append's wait for its own entry. */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int finished, rc;
	struct err err;
	int64_t seq;
};

static void wake(void *ctx, int rc, const struct err *err, int64_t seq)
{
	struct waiter *w = ctx;

	pthread_mutex_lock(&w->lock);
	w->finished = 1;
	w->rc = rc;
	if (err)
		w->err = *err;
	w->seq = seq;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

int audit_queue_append(struct audit_queue *q, const struct audit_entry *e, int64_t *seq,
		       struct err *err)
{
	struct waiter w = {.rc = 0};
	int rc;

	if (seq)
		*seq = 0;
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cv, NULL);
	rc = audit_queue_submit(q, e, wake, &w, err);
	if (rc == 0) {
		pthread_mutex_lock(&w.lock);
		while (!w.finished)
			pthread_cond_wait(&w.cv, &w.lock);
		pthread_mutex_unlock(&w.lock);
		rc = w.rc;
		if (rc && err)
			*err = w.err;
		if (rc == 0 && seq)
			*seq = w.seq;
	}
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.lock);
	return rc;
}

void audit_queue_close(struct audit_queue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->lock);
	store_close(q->store);
	free(q);
}
