/* console_int.h — what the console_*.c files share; no other module
 * includes it.
 *
 * console.c: routes, workers, assets, sign-in, the session and CSRF gate.
 * console_login.c: the sign-in thread and its queue, attempts per address.
 * console_api.c: the queue and batches (the verbs via review.h).
 * console_view.c: drafts, briefs, the log, verify, autonomy, drift.
 * console_oauth.c: OAuth consent and grants.
 * console_replay.c: policy replay, the last run and a candidate's. */
#ifndef AIRLOCK_CONSOLE_INT_H
#define AIRLOCK_CONSOLE_INT_H

#include <jansson.h>

#include "console.h"
#include "reviewer.h"
#include "store.h"


/* One API request after the gate: a signed-in reviewer whose role and CSRF
 * token were checked for the method. */
struct console_req {
	struct console *c;
	const struct policy *policy;
	struct store *s;
	const struct http_request *req;
	struct http_response *res;
	struct reviewer_session who;
	const char *rest; /* the path after "/api/" */
	int get;	  /* a GET (or HEAD): reads only */
	const char *public_url; /* console_config's */
};

/* Responses. console_json steals body (NULL: out of memory → 500). */
void console_json(struct http_response *res, int status, json_t *body);
void console_error(struct http_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* err → its HTTP status: EINVAL 400, EDENIED 403, ENOTFOUND 404, ESTATE,
 * ECONFLICT and EEXIST 409, EBUSY 503, others 500. */
void console_fail(struct http_response *res, const struct err *err);
int console_status(int code);

/* The request body as a JSON object ({} when empty); NULL after a 400. */
json_t *console_body(struct console_req *r);
/* 1 when the reviewer's role allows need; else a 403 and 0. */
int console_need(struct console_req *r, enum reviewer_role need);
/* 1 when the method is `method`; else a 405 and 0. */
int console_method(struct console_req *r, const char *method);

/* console_login.c. Password checks run on one thread of their own with its
 * own database connection, fed by a short queue: a flood of sign-ins waits
 * there (or is refused at once when it is full), never on the threads that
 * serve MCP and the console, and Argon2id's memory is taken once at a time.
 * run(arg, store, 0) is called on that thread (store NULL when it cannot
 * be opened); run(arg, NULL, 1) when the server stopped with the job still
 * queued: its connection is gone, run only frees arg. */
struct console_pool;
typedef void (*console_pool_fn)(void *arg, struct store *s, int dropped);
int console_pool_new(struct console_pool **out, const char *db_path, unsigned per_minute,
		     struct err *err);
void console_pool_free(struct console_pool *p);
/* 0 queued; -1 when the queue is full (answer 503 now). */
int console_pool_submit(struct console_pool *p, console_pool_fn run, void *arg);
/* Counts a sign-in attempt from addr (its /64 for IPv6): 1 when it is
 * within per_minute of this address's minute, 0 when over. In memory, a
 * bounded table: an address forgotten to make room starts afresh. */
int console_pool_admit(struct console_pool *p, const char *addr);

/* Answers kept (console.c): a batch's answer as last built, found again
 * only under the very same key, so a change anywhere (every change writes
 * a log entry: the log's head moves), another minute (ages in days) or
 * another evidence_max_age makes a new one. The text is a JSON object;
 * head holds what the per-request parts are computed from. A few slots,
 * the least recently used given up first. */
#define CONSOLE_MEMO_SLOTS 8
struct console_memo_key {
	int64_t batch, log_seq, minute, max_age;
};
/* 1 and new copies in *text (NUL-terminated, *len bytes) and *head; 0. */
int console_memo_get(struct console *c, const struct console_memo_key *k, char **text,
		     size_t *len, json_t **head);
/* Keeps copies (nothing kept when out of memory). */
void console_memo_put(struct console *c, const struct console_memo_key *k, const char *text,
		      size_t len, const json_t *head);

/* console_api.c */
void console_api_queue(struct console_req *r);
void console_api_batch(struct console_req *r, const char *rest);

/* console_oauth.c: consent to an OAuth client, grants (oauth.h) */
void console_api_oauth(struct console_req *r, const char *rest);

/* console_view.c */
void console_api_me(struct console_req *r);
void console_api_drafts(struct console_req *r, const char *rest);
void console_api_briefs(struct console_req *r, const char *rest);
void console_api_log(struct console_req *r);
void console_api_why(struct console_req *r);
void console_api_verify(struct console_req *r);
void console_api_autonomy(struct console_req *r);
void console_api_drift(struct console_req *r);
void console_api_reviewers(struct console_req *r);
void console_api_reliability(struct console_req *r);

/* console_replay.c: GET/POST /api/replay (policy replay, replay.h) */
void console_api_replay(struct console_req *r);

/* The signal texts a batch cites: each evidence id → {"id","kind",
 * "observed_at","detail"} or {"id","known":false}. Used by the batch view
 * and the "why" view. */
json_t *console_evidence(struct store *s, json_t *ids, json_t *cache);
/* One batch item as the page shows it: diff [{field, old, new, crm?}],
 * evidence with texts, conflict flag, crm {at, values} when an import
 * --refresh moved the record since staging, and of the before-image only
 * name, segment, region, owner and lifecycle. Steals nothing; returns a
 * new object. */
json_t *console_item_view(struct store *s, json_t *batch, json_t *item, json_t *cache);

#endif
