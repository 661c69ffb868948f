/* notify.h — pointers to what waits for a person, posted to a webhook.
 *
 * Owns: the notify table (migration 61), an outbox of notifications (kind,
 * text, console path, state, attempts, next attempt), and their delivery to
 * a Slack-compatible incoming webhook with libcurl: a JSON body
 * {"text": ..., "blocks": [...]} with a link to the console page, retried
 * with exponential back-off (NOTIFY_RETRY_BASE doubled per attempt, at most
 * an hour between tries, NOTIFY_MAX_ATTEMPTS in all).
 *
 * Never: carries the record itself (a message is only a pointer: the batch,
 * its items and the decision stay in airlock); blocks or fails the change
 * it reports beyond a failed insert; follows redirects or speaks anything
 * but http(s).
 *
 * Enqueueing happens in the caller's transaction, so a notification exists
 * exactly when the event it points to does. One event (ref) is one row
 * however often it is enqueued. Nothing is enqueued when the policy has no
 * notify.webhook. */
#ifndef AIRLOCK_NOTIFY_H
#define AIRLOCK_NOTIFY_H

#include <stdint.h>

#include "err.h"
#include "store.h"

#define NOTIFY_MAX_ATTEMPTS 12
#define NOTIFY_RETRY_BASE 2 /* seconds before the second try */
#define NOTIFY_TEXT_MAX 600

struct policy;

/* Queues one notification: kind (e.g. "batch_blocked"), ref (the event's
 * unique name, "batch:12:blocked"), text (one line a person reads) and path
 * (the console page, "/b/12"). Does nothing when p is NULL or has no
 * webhook. */
int notify_enqueue(struct store *s, const struct policy *p, const char *kind, const char *ref,
		   const char *text, const char *path, struct err *err);

/* Queues "batch N waits for ..." for a batch that entered state (staged,
 * sampled, blocked); action "send" makes it a send awaiting approval. */
int notify_batch(struct store *s, const struct policy *p, int64_t batch_id, const char *state,
		 const char *workflow, const char *principal, const char *action, int64_t radius,
		 struct err *err);

struct notify_config {
	const char *webhook;	 /* where to post */
	const char *console_url; /* prefix of every link ("http://127.0.0.1:8750") */
	long timeout_seconds;	 /* per post; 0 = 10 */
};

/* Posts every due notification once (at most `max` of them; 0 = 100):
 * claims a row (so another airlock sharing the store skips it), posts,
 * records sent, a retry time, or failed. *sent and *failed (may be NULL)
 * count the outcomes of this call. Must not be called inside a
 * transaction: nothing is held while the webhook answers. */
int notify_deliver_due(struct store *s, const struct notify_config *cfg, int max, int *sent,
		       int *failed, struct err *err);

/* The Slack-compatible body for text and url; a new string to free(). */
char *notify_body(const char *text, const char *url);

/* A thread that calls notify_deliver_due about once a second on a store of
 * its own, until notify_thread_stop(). */
struct notify_thread;
int notify_thread_start(struct notify_thread **out, const char *db_path,
			const struct notify_config *cfg, struct err *err);
void notify_thread_stop(struct notify_thread *t);

#endif
