/* notify.c — the notification outbox and its webhook delivery (notify.h). */
#include "notify.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "fmt.h"
#include "policy.h"
#include "summary.h"
#include "text.h"

#define CLAIM_SECONDS 120
#define RETRY_CAP 3600

int notify_enqueue(struct store *s, const struct policy *p, const char *kind, const char *ref,
		   const char *text, const char *path, struct err *err)
{
	char now[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc;

	if (!p || !p->notify.webhook)
		return 0;
	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s,
			   "INSERT INTO notify(ref,kind,text,url,next_at,created_at)"
			   " VALUES(?1,?2,?3,?4,?5,?5) ON CONFLICT(ref) DO NOTHING",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, ref);
	store_bind_text(st, 2, kind);
	store_bind_textn(st, 3, text, (int)strnlen(text, NOTIFY_TEXT_MAX));
	store_bind_text(st, 4, path);
	store_bind_text(st, 5, now);
	rc = store_step(st, err);
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

/* Appends what the batch does and its worst flag (summary.h) to text, so a
 * person can tell from the message whether it needs them now. The text is
 * cut on a character boundary; a summary that cannot be computed leaves the
 * text as it was (the notification still points to the batch). */
static void add_summary(struct store *s, const struct policy *p, int64_t batch_id, char *text,
			size_t len)
{
	struct summary_opts o = {p->evidence_max_age, 0};
	struct err err = {0};
	json_t *sum = NULL;
	size_t used = strlen(text);
	const char *what, *worst;
	int n;

	if (used + 5 >= len || summary_batch_id(s, batch_id, &o, &sum, &err))
		return;
	what = json_string_value(json_array_get(json_object_get(sum, "lines"), 0));
	worst = json_string_value(json_object_get(sum, "worst"));
	n = snprintf(text + used, len - used, ". %s; radius %lld; %s%s", what ? what : "",
		     (long long)json_integer_value(json_object_get(sum, "radius")),
		     worst ? "worst: " : "", worst ? worst : "nothing flagged");
	if (n >= 0 && (size_t)n >= len - used) {
		/* cut where " ..." still fits, never inside a UTF-8 sequence */
		size_t end = len - 5;

		while (end > used && ((unsigned char)text[end] & 0xC0) == 0x80)
			end--;
		memcpy(text + end, " ...", 5);
	}
	json_decref(sum);
}

int notify_batch(struct store *s, const struct policy *p, int64_t batch_id, const char *state,
		 const char *workflow, const char *principal, const char *action, int64_t radius,
		 struct err *err)
{
	char text[NOTIFY_TEXT_MAX], ref[64], path[48], kind[32];
	int send = action && !strcmp(action, "send");

	if (!p || !p->notify.webhook)
		return 0;
	if (!strcmp(state, "blocked") && send)
		(void)snprintf(
		    text, sizeof text,
		    "airlock: a send of %lld message(s) by %s waits for approval (batch %lld)",
		    (long long)radius, principal, (long long)batch_id);
	else if (!strcmp(state, "blocked"))
		(void)snprintf(
		    text, sizeof text,
		    "airlock: batch %lld (%s, %s, %lld record(s)) is blocked: a person must "
		    "approve or reject it",
		    (long long)batch_id, workflow, principal, (long long)radius);
	else if (!strcmp(state, "staged"))
		(void)snprintf(
		    text, sizeof text,
		    "airlock: batch %lld (%s, %s, %lld record(s)) is staged: draw and judge its "
		    "sample audit",
		    (long long)batch_id, workflow, principal, (long long)radius);
	else if (!strcmp(state, "sampled"))
		(void)snprintf(text, sizeof text,
			       "airlock: the sample of batch %lld (%s, %s) waits for verdicts",
			       (long long)batch_id, workflow, principal);
	else
		return 0;
	add_summary(s, p, batch_id, text, sizeof text);
	(void)snprintf(ref, sizeof ref, "batch:%lld:%s", (long long)batch_id, state);
	/* the batch's own address: the server sees it and writes the batch's
	 * answer into the page (/#/batch/N, which it cannot see, still works) */
	(void)snprintf(path, sizeof path, "/b/%lld", (long long)batch_id);
	(void)snprintf(kind, sizeof kind, "%s_%s", send ? "send" : "batch", state);
	return notify_enqueue(s, p, kind, ref, text, path, err);
}

/* Slack's mrkdwn needs &, < and > escaped; everything else is literal. */
static char *slack_escape(const char *in)
{
	size_t n = strlen(in), o = 0;
	char *out = malloc(n * 5 + 1);

	if (!out)
		return NULL;
	for (; *in; in++) {
		const char *r = *in == '&'   ? "&amp;"
				: *in == '<' ? "&lt;"
				: *in == '>' ? "&gt;"
					     : NULL;

		if (r) {
			memcpy(out + o, r, strlen(r));
			o += strlen(r);
		} else
			out[o++] = *in;
	}
	out[o] = '\0';
	return out;
}

/* The text names agents and workflows, which an agent chooses: it must not
 * mention (<!channel>), link (<http://x|y>), format (*, _, ~) or carry
 * controls. So it goes out escaped for a terminal (text.h), as plain_text
 * in its block, and with mrkdwn off in the fallback (&, < and > escaped
 * there too, since Slack still reads <...> in it); only airlock's own link
 * is mrkdwn. */
char *notify_body(const char *text, const char *url)
{
	char *plain = text_escape(text, strlen(text), 0), *et = plain ? slack_escape(plain) : NULL,
	     *eu = slack_escape(url), *md = NULL, *fallback = NULL, *body = NULL;
	size_t mdlen, fblen;
	json_t *o;

	if (!et || !eu)
		goto out;
	mdlen = strlen(et) + strlen(eu) + 64;
	fblen = strlen(et) + strlen(eu) + 16;
	md = malloc(mdlen);
	fallback = malloc(fblen);
	if (!md || !fallback)
		goto out;
	(void)snprintf(md, mdlen, /* sized above */ "<%s|Open in the airlock console>", eu);
	(void)snprintf(fallback, fblen, "%s: %s", et, eu);
	o = json_pack("{s:s,s:b,s:[{s:s,s:{s:s,s:s,s:b}},{s:s,s:{s:s,s:s,s:b}}]}", "text",
		      fallback, "mrkdwn", 0, "blocks", "type", "section", "text", "type",
		      "plain_text", "text", plain, "emoji", 0, "type", "section", "text", "type",
		      "mrkdwn", "text", md, "verbatim", 1);
	if (o)
		body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
out:
	free(plain);
	free(et);
	free(eu);
	free(md);
	free(fallback);
	return body;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* Posts body; 0 delivered, 1 worth retrying, 2 refused for good. */
static int post(const struct notify_config *cfg, const char *body, char *why, size_t len)
{
	struct curl_slist *h = NULL;
	char ebuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode cc;
	CURL *c;
	int out = 1;

	c = curl_easy_init();
	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (!c || !h) {
		(void)snprintf(why, len, "out of memory");
		goto done;
	}
	curl_easy_setopt(c, CURLOPT_URL, cfg->webhook);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_TIMEOUT, cfg->timeout_seconds > 0 ? cfg->timeout_seconds : 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "airlock-notify");
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		(void)snprintf(why, len, "%s", ebuf[0] ? ebuf : curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		out = 0;
	else {
		(void)snprintf(why, len, "the webhook answered HTTP %ld", code);
		/* a refused payload or a deleted hook will not get better */
		out = code >= 400 && code < 500 && code != 408 && code != 429 ? 2 : 1;
	}
done:
	curl_slist_free_all(h);
	if (c)
		curl_easy_cleanup(c);
	return out;
}

struct due {
	int64_t id;
	int64_t attempts;
	char *text, *url;
};

/* Takes the next due row for this process: 1 with d filled, 0 none. */
static int claim(struct store *s, struct due *d, struct err *err)
{
	char now[CLOCK_TEXT_LEN], until[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc, got = 0;

	memset(d, 0, sizeof *d);
	clock_format(clock_now(), now, sizeof now);
	clock_format(clock_now() + CLAIM_SECONDS, until, sizeof until);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = store_prepare(s,
			   "SELECT id,attempts,text,url FROM notify WHERE (state='pending' AND"
			   " next_at<=?1) OR (state='sending' AND claim_until<=?1)"
			   " ORDER BY next_at, id LIMIT 1",
			   &st, err);
	if (rc)
		goto rollback;
	store_bind_text(st, 1, now);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		d->id = store_col_int(st, 0);
		d->attempts = store_col_int(st, 1);
		d->text = strdup(store_col_text(st, 2));
		d->url = strdup(store_col_text(st, 3));
		got = 1;
		rc = d->text && d->url ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	store_done(st);
	if (rc < 0)
		goto rollback;
	if (got) {
		rc = store_prepare(
		    s, "UPDATE notify SET state='sending',claim_until=?2 WHERE id=?1", &st, err);
		if (rc)
			goto rollback;
		store_bind_int(st, 1, d->id);
		store_bind_text(st, 2, until);
		rc = store_step(st, err);
		store_done(st);
		if (rc != STORE_DONE)
			goto rollback;
	}
	rc = store_commit(s, err);
	if (rc)
		goto out;
	return got;
rollback:
	store_rollback(s);
out:
	free(d->text);
	free(d->url);
	memset(d, 0, sizeof *d);
	return rc < 0 ? rc : AIRLOCK_EIO;
}

static int record(struct store *s, const struct due *d, int outcome, const char *why,
		  struct err *err)
{
	char now[CLOCK_TEXT_LEN], next[CLOCK_TEXT_LEN];
	int64_t attempts = d->attempts + 1, delay = NOTIFY_RETRY_BASE;
	struct store_stmt *st;
	const char *state;
	int rc, i;

	for (i = 1; i < attempts && delay < RETRY_CAP; i++)
		delay *= 2;
	if (delay > RETRY_CAP)
		delay = RETRY_CAP;
	clock_format(clock_now(), now, sizeof now);
	clock_format(clock_now() + delay, next, sizeof next);
	state = outcome == 0					  ? "sent"
		: outcome == 2 || attempts >= NOTIFY_MAX_ATTEMPTS ? "failed"
								  : "pending";
	rc = store_prepare(s,
			   "UPDATE notify SET state=?2,attempts=?3,next_at=?4,claim_until=NULL,"
			   "last_error=?5,sent_at=?6 WHERE id=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, d->id);
	store_bind_text(st, 2, state);
	store_bind_int(st, 3, attempts);
	store_bind_text(st, 4, outcome == 0 ? now : next);
	store_bind_text(st, 5, outcome == 0 ? NULL : why);
	store_bind_text(st, 6, outcome == 0 ? now : NULL);
	rc = store_step(st, err);
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

int notify_deliver_due(struct store *s, const struct notify_config *cfg, int max, int *sent,
		       int *failed, struct err *err)
{
	char url[2600], why[CURL_ERROR_SIZE + 64];
	struct due d;
	char *body;
	int rc = 0, n, outcome, url_ok;

	if (sent)
		*sent = 0;
	if (failed)
		*failed = 0;
	if (store_in_transaction(s))
		return err_set(err, AIRLOCK_ESTATE,
			       "notify_deliver_due: called inside a transaction");
	if (!cfg->webhook)
		return 0;
	for (n = 0; n < (max > 0 ? max : 100); n++) {
		rc = claim(s, &d, err);
		if (rc <= 0)
			break;
		/* a cut link would point a reviewer somewhere else: not sent */
		url_ok = !fmt_buf(url, sizeof url, NULL, "link", "%s%s",
				  cfg->console_url ? cfg->console_url : "", d.url);
		body = url_ok ? notify_body(d.text, url) : NULL;
		why[0] = '\0';
		outcome = body ? post(cfg, body, why, sizeof why) : 1;
		if (!url_ok)
			(void)snprintf(why, sizeof why,
				       "the console link is too long (notify.console_url)");
		else if (!body)
			(void)snprintf(why, sizeof why, "out of memory");
		free(body);
		rc = record(s, &d, outcome, why, err);
		free(d.text);
		free(d.url);
		if (rc)
			break;
		if (outcome == 0 && sent)
			(*sent)++;
		if (outcome != 0 && failed)
			(*failed)++;
	}
	return rc < 0 ? rc : 0;
}

struct notify_thread {
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	struct store *store;
	struct notify_config cfg;
	char *webhook, *console_url;
};

static void *run(void *arg)
{
	struct notify_thread *t = arg;
	struct timespec until;
	struct err err = {0};

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		pthread_mutex_unlock(&t->lock);
		if (notify_deliver_due(t->store, &t->cfg, 0, NULL, NULL, &err))
			fprintf(stderr, "airlock serve: notify: %s\n", err.msg);
		pthread_mutex_lock(&t->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		if (!t->stop)
			pthread_cond_timedwait(&t->cond, &t->lock, &until);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void thread_free(struct notify_thread *t)
{
	store_close(t->store);
	free(t->webhook);
	free(t->console_url);
	free(t);
}

int notify_thread_start(struct notify_thread **out, const char *db_path,
			const struct notify_config *cfg, struct err *err)
{
	struct notify_thread *t = calloc(1, sizeof *t);
	int rc;

	*out = NULL;
	if (!t)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	t->cfg = *cfg;
	t->webhook = cfg->webhook ? strdup(cfg->webhook) : NULL;
	t->console_url = cfg->console_url ? strdup(cfg->console_url) : NULL;
	t->cfg.webhook = t->webhook;
	t->cfg.console_url = t->console_url;
	rc = store_open_with(&t->store, db_path, NULL, err);
	if (rc) {
		thread_free(t);
		return rc;
	}
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	if (pthread_create(&t->th, NULL, run, t) != 0) {
		pthread_mutex_destroy(&t->lock);
		pthread_cond_destroy(&t->cond);
		thread_free(t);
		return err_set(err, AIRLOCK_EIO, "cannot start the notification thread");
	}
	pthread_setname_np(t->th, "airlock-notify");
	*out = t;
	return 0;
}

void notify_thread_stop(struct notify_thread *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->th, NULL);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
	thread_free(t);
}
