/* console.c — the console's routes, sign-in and the gate every API request
 * passes: no agent token, a live session, a CSRF token on anything that
 * is not a read, a role that allows it (console.h). */
#include "console.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "console_assets.h"
#include "console_int.h"
#include "csv.h"
#include "drift.h"
#include "fmt.h"
#include "policy.h"
#include "staging.h"

#define COOKIE "airlock_session"
#define JSON_TYPE "application/json"
#define CSP                                                                                        \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "        \
	"object-src 'none'"

struct memo_slot {
	struct console_memo_key key;
	char *text;
	size_t len;
	json_t *head;
	uint64_t used; /* the clock of the last hit: the least recent goes first */
};

struct console {
	struct console_config cfg;
	char *db_path;
	struct store_pool *workers;
	struct console_pool *signin;
	pthread_mutex_t memo_lock;
	struct memo_slot memo[CONSOLE_MEMO_SLOTS];
	uint64_t memo_clock;
};

/* ---- responses ---------------------------------------------------------- */

int console_status(int code)
{
	switch (code) {
	case AIRLOCK_EINVAL:
		return 400;
	case AIRLOCK_EDENIED:
		return 403;
	case AIRLOCK_ENOTFOUND:
		return 404;
	case AIRLOCK_ESTATE:
	case AIRLOCK_ECONFLICT:
	case AIRLOCK_EEXIST:
		return 409;
	case AIRLOCK_EBUSY:
		return 503;
	}
	return 500;
}

void console_json(struct http_response *res, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;

	json_decref(body);
	if (!text) {
		http_respond(res, 500, JSON_TYPE, "{\"error\":\"out of memory\"}");
		return;
	}
	http_respond_owned(res, status, JSON_TYPE, text, strlen(text));
}

/* Replaces each byte that is not part of valid UTF-8 with '?': a message
 * quoting a path, a query argument, or cut at ERR_MSG_MAX inside a
 * character must still be a JSON string (else the answer was a 500). */
static void utf8_scrub(char *s)
{
	size_t len = strlen(s), off = 0, bad;

	while (off < len && !csv_utf8_valid(s + off, len - off, &bad)) {
		s[off + bad] = '?';
		off += bad + 1;
	}
}

void console_error(struct http_response *res, int status, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	utf8_scrub(msg);
	console_json(res, status, json_pack("{s:s}", "error", msg));
}

void console_fail(struct http_response *res, const struct err *err)
{
	console_error(res, console_status(err->code), "%s",
		      err->msg[0] ? err->msg : err_name(err->code));
}

json_t *console_body(struct console_req *r)
{
	json_error_t jerr;
	json_t *v;

	if (r->req->body_len == 0)
		return json_object();
	v = json_loadb(r->req->body, r->req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		console_error(r->res, 400, "the body is not JSON: %d:%d: %s", jerr.line,
			      jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		console_error(r->res, 400, "the body must be a JSON object");
		return NULL;
	}
	return v;
}

int console_need(struct console_req *r, enum reviewer_role need)
{
	if (reviewer_role_allows(r->who.role, need))
		return 1;
	console_error(r->res, 403, "%s is a %s: this needs the %s role", r->who.name,
		      reviewer_role_name(r->who.role), reviewer_role_name(need));
	return 0;
}

int console_method(struct console_req *r, const char *method)
{
	if (!strcmp(r->req->method, method) || (!strcmp(method, "GET") && r->get))
		return 1;
	http_add_header(r->res, "Allow", method);
	console_error(r->res, 405, "%s takes %s, not %s", r->req->path, method, r->req->method);
	return 0;
}

/* Every console response: no framing, no referrer, no inline script. An
 * agent's bearer token never opens any of it. Returns 1 when the request
 * may go on. */
static int prelude(const struct http_request *req, struct http_response *res)
{
	http_add_header(res, "Content-Security-Policy", CSP);
	http_add_header(res, "Referrer-Policy", "no-referrer");
	http_add_header(res, "X-Frame-Options", "DENY");
	if (http_header(req, "Authorization")) {
		console_error(res, 403,
			      "the console is for people: agent tokens (Authorization headers) are "
			      "refused here; sign in at /login");
		return 0;
	}
	return 1;
}

/* ---- workers ------------------------------------------------------------ */

int console_new(struct console **out, const struct console_config *cfg, struct err *err)
{
	struct console *c = calloc(1, sizeof *c);

	*out = NULL;
	if (!c)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	c->cfg = *cfg;
	pthread_mutex_init(&c->memo_lock, NULL);
	c->db_path = strdup(cfg->db_path);
	if (!c->db_path) {
		free(c);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (store_pool_new(&c->workers, c->db_path, err) ||
	    console_pool_new(&c->signin, c->db_path, cfg->signins_per_address, err)) {
		int rc = err->code;

		console_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void console_free(struct console *c)
{
	int i;

	if (!c)
		return;
	console_pool_free(c->signin);
	store_pool_free(c->workers);
	for (i = 0; i < CONSOLE_MEMO_SLOTS; i++) {
		free(c->memo[i].text);
		json_decref(c->memo[i].head);
	}
	pthread_mutex_destroy(&c->memo_lock);
	free(c->db_path);
	free(c);
}

/* ---- answers kept ------------------------------------------------------- */

int console_memo_get(struct console *c, const struct console_memo_key *k, char **text,
		     size_t *len, json_t **head)
{
	int i, hit = 0;

	*text = NULL;
	*head = NULL;
	pthread_mutex_lock(&c->memo_lock);
	for (i = 0; i < CONSOLE_MEMO_SLOTS; i++) {
		struct memo_slot *m = &c->memo[i];

		if (!m->text || memcmp(&m->key, k, sizeof *k))
			continue;
		*text = malloc(m->len + 1);
		*head = json_deep_copy(m->head);
		if (*text && *head) {
			memcpy(*text, m->text, m->len + 1);
			*len = m->len;
			m->used = ++c->memo_clock;
			hit = 1;
		} else {
			free(*text);
			json_decref(*head);
			*text = NULL;
			*head = NULL;
		}
		break;
	}
	pthread_mutex_unlock(&c->memo_lock);
	return hit;
}

void console_memo_put(struct console *c, const struct console_memo_key *k, const char *text,
		      size_t len, const json_t *head)
{
	char *t = malloc(len + 1);
	json_t *h = json_deep_copy(head);
	struct memo_slot *m;
	int i;

	if (!t || !h) {
		free(t);
		json_decref(h);
		return;
	}
	memcpy(t, text, len);
	t[len] = '\0';
	pthread_mutex_lock(&c->memo_lock);
	m = &c->memo[0];
	for (i = 0; i < CONSOLE_MEMO_SLOTS; i++) {
		if (!memcmp(&c->memo[i].key, k, sizeof *k) || !c->memo[i].text) {
			m = &c->memo[i];
			break;
		}
		if (c->memo[i].used < m->used)
			m = &c->memo[i];
	}
	free(m->text);
	json_decref(m->head);
	m->key = *k;
	m->text = t;
	m->len = len;
	m->head = h;
	m->used = ++c->memo_clock;
	pthread_mutex_unlock(&c->memo_lock);
}

/* ---- assets ------------------------------------------------------------- */

static const struct console_asset *asset_find(const char *path)
{
	int i;

	if (!strcmp(path, "/") || !strcmp(path, "/login"))
		path = "/index.html";
	for (i = 0; i < console_asset_count; i++)
		if (!strcmp(console_assets[i].path, path))
			return &console_assets[i];
	return NULL;
}

static void asset_send(const struct http_request *req, struct http_response *res);

/* 1 when the method is GET or HEAD; else a 405 in res. */
static int get_only(const struct http_request *req, struct http_response *res)
{
	if (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"))
		return 1;
	http_add_header(res, "Allow", "GET, HEAD");
	http_respond(res, 405, "text/plain; charset=utf-8", "this page takes GET\n");
	return 0;
}

static void on_asset(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	if (prelude(req, res) && get_only(req, res))
		asset_send(req, res);
}

/* The embedded file at req's path (after the prelude and method check). */
static void asset_send(const struct http_request *req, struct http_response *res)
{
	const struct console_asset *a;
	const char *inm, *v;
	char *copy;

	a = asset_find(req->path);
	if (!a) {
		http_respond(res, 404, "text/plain; charset=utf-8", "not found\n");
		return;
	}
	/* The bytes change only with the binary: revalidate, answer 304; asked
	 * for by their digest (the page's own references), they never change,
	 * and the browser keeps them without asking again. */
	v = http_query(req, "v");
	http_add_header(res, "Cache-Control", v && !strcmp(v, a->version)
						  ? "public, max-age=31536000, immutable"
						  : "no-cache");
	http_add_header(res, "ETag", a->etag);
	inm = http_header(req, "If-None-Match");
	if (inm && strstr(inm, a->etag)) {
		http_respond(res, 304, NULL, NULL);
		return;
	}
	copy = malloc(a->len ? a->len : 1);
	if (!copy) {
		http_respond(res, 500, NULL, NULL);
		return;
	}
	memcpy(copy, a->data, a->len);
	http_respond_owned(res, 200, a->content_type, copy, a->len);
}

/* ---- sign-in ------------------------------------------------------------ */

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* The value of key in an application/x-www-form-urlencoded body, decoded
 * into out; 0 when found. */
static int form_value(const char *body, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key), o;
	const char *p = body;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			p += klen + 1;
			for (o = 0; *p && *p != '&'; p++) {
				int c = (unsigned char)*p;

				if (c == '+')
					c = ' ';
				else if (c == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
					c = hexval(p[1]) * 16 + hexval(p[2]);
					p += 2;
				}
				if (o + 1 >= len)
					return -1;
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 0;
		}
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return -1;
}

static void set_cookie(struct console *c, struct http_response *res, const char *id, long max_age)
{
	char cookie[256];

	(void)snprintf(cookie, sizeof cookie, /* id: 64 hex digits */
		       COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s", id, max_age,
		       c->cfg.secure_cookie ? "; Secure" : "");
	http_add_header(res, "Set-Cookie", cookie);
}

static void log_sign(struct store *s, const char *principal, const char *tool, const char *how)
{
	struct audit_entry e = {0};
	struct err err = {0};
	json_t *args = json_pack("{s:s}", "method", how), *none = json_array();

	e.principal = principal;
	e.surface = "console";
	e.tool = tool;
	e.args = args;
	e.record_ids = none;
	e.summary = !strcmp(tool, "console login") ? "signed in to the console"
						   : "signed out of the console";
	if (audit_append(s, &e, NULL, &err))
		fprintf(stderr, "airlock serve: console: %s\n", err.msg);
	json_decref(args);
	json_decref(none);
}

static json_t *me_json(const struct reviewer_session *who)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", who->name, "role",
			 reviewer_role_name(who->role), "principal", who->principal, "csrf",
			 who->csrf, "expires_at", who->expires_at);
}

/* The credentials of a sign-in request, JSON or a form. */
struct creds {
	char name[REVIEWER_NAME_MAX + 2];
	char password[REVIEWER_PASSWORD_MAX + 2];
	char link[80];
	int form;
};

static int read_creds(const struct http_request *req, struct creds *cr)
{
	const char *ct = http_header(req, "Content-Type");
	json_t *v;

	memset(cr, 0, sizeof *cr);
	if (ct && !strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
		cr->form = 1;
		form_value(req->body, "name", cr->name, sizeof cr->name);
		form_value(req->body, "password", cr->password, sizeof cr->password);
		form_value(req->body, "link", cr->link, sizeof cr->link);
		return 0;
	}
	v = json_loadb(req->body, req->body_len, 0, NULL);
	if (!json_is_object(v)) {
		json_decref(v);
		return -1;
	}
	/* a value too long for its field is a bad request, never a cut one */
	if (fmt_buf(cr->name, sizeof cr->name, NULL, "name", "%s",
		    json_string_value(json_object_get(v, "name"))
			? json_string_value(json_object_get(v, "name"))
			: "") ||
	    fmt_buf(cr->password, sizeof cr->password, NULL, "password", "%s",
		    json_string_value(json_object_get(v, "password"))
			? json_string_value(json_object_get(v, "password"))
			: "") ||
	    fmt_buf(cr->link, sizeof cr->link, NULL, "link", "%s",
		    json_string_value(json_object_get(v, "link"))
			? json_string_value(json_object_get(v, "link"))
			: "")) {
		explicit_bzero(cr, sizeof *cr);
		json_decref(v);
		return -1;
	}
	json_decref(v);
	return 0;
}

/* The answer to a sign-in: rc is the login function's. */
static void login_answer(struct console *c, struct store *s, struct http_response *res, int rc,
			 const struct err *err, const struct reviewer_session *who, int form,
			 const char *how)
{
	if (rc == AIRLOCK_EBUSY) {
		http_add_header(res, "Retry-After", "60");
		console_fail(res, err);
		res->status = 429;
	} else if (rc == AIRLOCK_EDENIED) {
		console_error(res, 401, "%s", err->msg);
	} else if (rc) {
		console_fail(res, err);
	} else {
		log_sign(s, who->principal, "console login", how);
		set_cookie(c, res, who->id, REVIEWER_SESSION_SECONDS);
		if (form) {
			http_add_header(res, "Location", "/#/queue");
			http_respond(res, 303, NULL, NULL);
		} else
			console_json(res, 200, me_json(who));
	}
}

/* A password sign-in waiting for the sign-in thread. */
struct login_job {
	struct console *c;
	struct http_deferred *d;
	struct creds cr;
};

static void login_run(void *arg, struct store *s, int dropped)
{
	struct login_job *j = arg;
	struct http_response res = {0};
	struct reviewer_session who;
	struct err err = {0};
	int rc;

	if (!dropped) {
		if (s)
			rc = reviewer_login_password(s, j->cr.name, j->cr.password, &who, &err);
		else
			rc = err_set(&err, AIRLOCK_EIO, "airlock cannot open its database");
		login_answer(j->c, s, &res, rc, &err, &who, j->cr.form, "password");
		memset(&who, 0, sizeof who);
		http_resume(j->d, &res);
	}
	memset(&j->cr, 0, sizeof j->cr);
	free(j);
}

static void on_login(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct console *c = ctx;
	struct reviewer_session who;
	struct store_conn *w;
	struct login_job *j;
	struct err err = {0};
	char addr[64];
	struct creds cr;
	int rc;

	if (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD")) {
		on_asset(ctx, req, res);
		return;
	}
	if (!prelude(req, res))
		return;
	if (strcmp(req->method, "POST")) {
		http_add_header(res, "Allow", "GET, POST");
		console_error(res, 405, "/login takes POST (name and password, or a link)");
		return;
	}
	http_client_addr(req, addr, sizeof addr);
	if (!console_pool_admit(c->signin, addr)) {
		http_add_header(res, "Retry-After", "60");
		console_error(res, 429,
			      "too many sign-in attempts from this address: wait a minute and try "
			      "again");
		return;
	}
	if (read_creds(req, &cr)) {
		console_error(
		    res, 400,
		    "sign in with a JSON object {\"name\", \"password\"} or {\"link\"}, or a "
		    "form");
		return;
	}
	if (!cr.link[0]) {
		/* Argon2id waits for the sign-in thread; this thread goes on */
		j = calloc(1, sizeof *j);
		if (!j) {
			memset(&cr, 0, sizeof cr);
			console_error(res, 500, "out of memory");
			return;
		}
		j->c = c;
		j->cr = cr;
		memset(&cr, 0, sizeof cr);
		j->d = http_defer(res);
		if (j->d && console_pool_submit(c->signin, login_run, j) == 0)
			return;
		if (j->d) {
			struct http_response busy = {0};

			http_add_header(&busy, "Retry-After", "1");
			console_error(&busy, 503, "too many sign-ins at once: try again in a moment");
			http_resume(j->d, &busy);
		} else
			console_error(res, 500, "cannot wait for the sign-in thread");
		memset(&j->cr, 0, sizeof j->cr);
		free(j);
		return;
	}
	w = store_pool_take(c->workers, &err);
	if (!w) {
		console_fail(res, &err);
		return;
	}
	rc = reviewer_login_link(w->store, cr.link, &who, &err);
	memset(cr.password, 0, sizeof cr.password);
	login_answer(c, w->store, res, rc, &err, &who, cr.form, "link");
	memset(&who, 0, sizeof who);
	store_pool_give(c->workers, w);
}

/* The session of the request's cookie; 0, or a 401 in res. */
static int session_of(struct store *s, const struct http_request *req, struct http_response *res,
		      struct reviewer_session *who)
{
	const char *id = http_cookie(req, COOKIE);
	struct err err = {0};
	int rc;

	memset(who, 0, sizeof *who);
	if (!id) {
		console_error(res, 401, "not signed in: POST /login first");
		return -1;
	}
	rc = reviewer_session_get(s, id, who, &err);
	if (rc == AIRLOCK_EDENIED) {
		console_error(res, 401, "%s: sign in again", err.msg);
		return -1;
	}
	if (rc) {
		console_fail(res, &err);
		return -1;
	}
	return 0;
}

static int csrf_ok(const struct http_request *req, struct http_response *res,
		   const struct reviewer_session *who)
{
	if (reviewer_csrf_ok(who, http_header(req, "X-CSRF-Token")))
		return 1;
	console_error(res, 403,
		      "missing or wrong CSRF token: send the X-CSRF-Token header (from /api/me)");
	return 0;
}

static void on_logout(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct console *c = ctx;
	struct reviewer_session who;
	struct store_conn *w;
	struct err err = {0};

	if (!prelude(req, res))
		return;
	if (strcmp(req->method, "POST")) {
		http_add_header(res, "Allow", "POST");
		console_error(res, 405, "/logout takes POST");
		return;
	}
	w = store_pool_take(c->workers, &err);
	if (!w) {
		console_fail(res, &err);
		return;
	}
	if (session_of(w->store, req, res, &who) == 0 && csrf_ok(req, res, &who)) {
		if (reviewer_session_end(w->store, http_cookie(req, COOKIE), &err))
			console_fail(res, &err);
		else {
			log_sign(w->store, who.principal, "console logout", "cookie");
			set_cookie(c, res, "", 0);
			http_respond(res, 204, NULL, NULL);
		}
	}
	store_pool_give(c->workers, w);
}

/* ---- the API ------------------------------------------------------------ */

static int is(const char *rest, const char *name, const char **after)
{
	size_t n = strlen(name);

	if (strncmp(rest, name, n))
		return 0;
	if (rest[n] == '\0') {
		*after = "";
		return 1;
	}
	if (rest[n] == '/') {
		*after = rest + n + 1;
		return 1;
	}
	return 0;
}

static void dispatch(struct console_req *r)
{
	const char *rest = r->rest, *after;

	if (!strcmp(rest, "me"))
		console_api_me(r);
	else if (!strcmp(rest, "queue"))
		console_api_queue(r);
	else if (is(rest, "batches", &after) && *after)
		console_api_batch(r, after);
	else if (is(rest, "drafts", &after))
		console_api_drafts(r, after);
	else if (is(rest, "briefs", &after))
		console_api_briefs(r, after);
	else if (!strcmp(rest, "log"))
		console_api_log(r);
	else if (!strcmp(rest, "log/why"))
		console_api_why(r);
	else if (!strcmp(rest, "verify"))
		console_api_verify(r);
	else if (!strcmp(rest, "autonomy"))
		console_api_autonomy(r);
	else if (is(rest, "drift", &after))
		console_api_drift(r);
	else if (!strcmp(rest, "reviewers"))
		console_api_reviewers(r);
	else if (!strcmp(rest, "reliability"))
		console_api_reliability(r);
	else if (!strcmp(rest, "replay"))
		console_api_replay(r);
	else if (is(rest, "oauth", &after) && *after)
		console_api_oauth(r, after);
	else
		console_error(r->res, 404, "no API at /api/%.100s (see the README: console API)",
			      rest);
}

static void on_api(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct console *c = ctx;
	struct console_req r = {0};
	struct store_conn *w;
	struct err err = {0};

	if (!prelude(req, res))
		return;
	w = store_pool_take(c->workers, &err);
	if (!w) {
		fprintf(stderr, "airlock serve: console: %s\n", err.msg);
		console_error(res, 500, "airlock cannot open its database");
		return;
	}
	r.c = c;
	r.policy = c->cfg.policy;
	r.public_url = c->cfg.public_url;
	r.s = w->store;
	r.req = req;
	r.res = res;
	r.rest = req->path + strlen("/api/");
	r.get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
	if (session_of(w->store, req, res, &r.who) == 0 && (r.get || csrf_ok(req, res, &r.who))) {
		/* a viewer reads; anything else needs a reviewer at least */
		if (r.get || console_need(&r, REVIEWER_REVIEWER))
			dispatch(&r);
	}
	/* a failed verb may leave nothing open: the next request starts clean */
	while (store_in_transaction(w->store))
		store_rollback(w->store);
	memset(&r.who, 0, sizeof r.who);
	store_pool_give(c->workers, w);
}

/* ---- the page with its first answers ------------------------------------ */

/* The page's first answers go into the page itself, so that a signed-in
 * reviewer opening it waits for no API round trip before the view is
 * drawn: each as the API would answer it (the same handler, the same kept
 * batch answer), in a <script type="application/json"> data block that is
 * never run (the CSP's script-src is untouched) and never parsed as HTML:
 * every '<' of the JSON is written \u003c (JSON's own escape, the same
 * string to JSON.parse), so no text in it can end the block ("</script")
 * or open a comment ("<!--"). app.js reads each block once and removes it.
 *
 * A request without a live session gets, for a batch, <link rel=preload>
 * hints instead: a notification's link followed from another site comes
 * without the SameSite=Strict cookie, and the page's own requests (which
 * carry it) start while it is parsed. */

#define PAGE_MARK "<!--airlock:data-->"

struct page {
	char *buf;
	size_t len, cap;
	int oom;
};

static void page_put(struct page *p, const char *s, size_t n)
{
	char *nb;
	size_t cap;

	if (p->oom)
		return;
	if (p->len + n + 1 > p->cap) {
		cap = (p->len + n + 1) * 2;
		nb = realloc(p->buf, cap);
		if (!nb) {
			p->oom = 1;
			return;
		}
		p->buf = nb;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void page_str(struct page *p, const char *s)
{
	page_put(p, s, strlen(s));
}

/* One answer as a data block: path is the API path app.js would ask for
 * (airlock's own text, never the request's); the JSON's '<' → \u003c. */
static void page_answer(struct page *p, const char *path, const char *json, size_t n)
{
	size_t i, from = 0;

	page_str(p, "<script type=\"application/json\" class=\"airlock-answer\" data-path=\"");
	page_str(p, path);
	page_str(p, "\">");
	for (i = 0; i < n; i++) {
		if (json[i] != '<')
			continue;
		page_put(p, json + from, i - from);
		page_str(p, "\\u003c");
		from = i + 1;
	}
	page_put(p, json + from, n - from);
	page_str(p, "</script>\n");
}

/* Runs one API handler for the page (the session already checked) and
 * writes its answer in when it is a 200. */
static void page_api(struct page *p, struct console_req *r, const char *path,
		     void (*fn)(struct console_req *r, const char *arg), const char *arg)
{
	struct http_response res = {0};
	int i;

	r->res = &res;
	r->rest = path + strlen("/api/");
	fn(r, arg);
	while (store_in_transaction(r->s))
		store_rollback(r->s);
	if (res.status == 200 && res.body)
		page_answer(p, path, res.body, res.body_len);
	free(res.body);
	for (i = 0; i < res.nheaders; i++)
		free(res.headers[i].value);
	r->res = NULL;
}

static void api_me(struct console_req *r, const char *arg)
{
	(void)arg;
	console_api_me(r);
}

static void api_queue(struct console_req *r, const char *arg)
{
	(void)arg;
	console_api_queue(r);
}

static void api_batch(struct console_req *r, const char *arg)
{
	console_api_batch(r, arg);
}

/* The page, for "/" (the queue is its first view) or a batch's own address
 * "/b/ID" (batch > 0). Without a live session "/" is the plain asset. */
static void on_page(struct console *c, const struct http_request *req, struct http_response *res,
		    int64_t batch)
{
	const struct console_asset *a = asset_find("/index.html");
	const char *mark = a ? strstr((const char *)a->data, PAGE_MARK) : NULL;
	struct console_req r = {0};
	struct http_response scratch = {0};
	struct store_conn *w = NULL;
	struct page p = {0};
	struct err err = {0};
	char path[64];
	int live = 0, i;

	if (batch > 0)
		(void)snprintf(path, sizeof path, "/api/batches/%lld", (long long)batch);
	if (http_cookie(req, COOKIE) && (w = store_pool_take(c->workers, &err)) != NULL) {
		r.c = c;
		r.policy = c->cfg.policy;
		r.public_url = c->cfg.public_url;
		r.s = w->store;
		r.req = req;
		r.get = 1;
		live = session_of(w->store, req, &scratch, &r.who) == 0;
		free(scratch.body);
		for (i = 0; i < scratch.nheaders; i++)
			free(scratch.headers[i].value);
	}
	if (!mark || (!live && batch <= 0)) {
		if (w)
			store_pool_give(c->workers, w);
		memset(&r.who, 0, sizeof r.who);
		asset_send(req, res);
		return;
	}
	page_put(&p, (const char *)a->data, (size_t)(mark - (const char *)a->data));
	if (live) {
		page_api(&p, &r, "/api/me", api_me, NULL);
		if (batch > 0)
			page_api(&p, &r, path, api_batch, path + strlen("/api/batches/"));
		else
			page_api(&p, &r, "/api/queue", api_queue, NULL);
	} else {
		page_str(&p, "<link rel=\"preload\" as=\"fetch\" crossorigin href=\"/api/me\">\n"
			     "<link rel=\"preload\" as=\"fetch\" crossorigin href=\"");
		page_str(&p, path);
		page_str(&p, "\">\n");
	}
	memset(&r.who, 0, sizeof r.who);
	if (w)
		store_pool_give(c->workers, w);
	mark += strlen(PAGE_MARK);
	page_put(&p, mark, a->len - (size_t)(mark - (const char *)a->data));
	if (p.oom) {
		free(p.buf);
		http_respond(res, 500, "text/plain; charset=utf-8", "out of memory\n");
		return;
	}
	/* a reviewer's own data and CSRF token: never kept by any cache */
	http_add_header(res, "Cache-Control", "no-store");
	http_respond_owned(res, 200, a->content_type, p.buf, p.len);
}

static void on_root(void *ctx, const struct http_request *req, struct http_response *res)
{
	if (prelude(req, res) && get_only(req, res))
		on_page(ctx, req, res, 0);
}

/* /b/ID: a batch's page, the address notifications link to (the server
 * sees it, where "/#/batch/ID" it does not; that one still works). */
static void on_batch_page(void *ctx, const struct http_request *req, struct http_response *res)
{
	const char *id = req->path + strlen("/b/");
	struct err err = {0};
	int64_t batch;

	if (!prelude(req, res) || !get_only(req, res))
		return;
	if (strlen(id) >= 24 || staging_parse_id(id, &batch, &err) || batch <= 0) {
		http_respond(res, 404, "text/plain; charset=utf-8",
			     "not found: a batch's page is /b/ and its number\n");
		return;
	}
	on_page(ctx, req, res, batch);
}

/* /metrics: the drift monitor's figures as Prometheus text, for teams that
 * already watch dashboards. Aggregates only, no book data: a scraper can
 * read it without a session (agent tokens are still refused). */
static void on_metrics(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct console *c = ctx;
	struct store_conn *w;
	struct drift_config cfg;
	struct err err = {0};
	char *text = NULL;

	if (!prelude(req, res))
		return;
	w = store_pool_take(c->workers, &err);
	if (!w) {
		http_respond(res, 500, "text/plain; charset=utf-8", "# airlock cannot open its database\n");
		return;
	}
	drift_config_default(&cfg);
	if (c->cfg.policy)
		drift_config_apply(&cfg, c->cfg.policy->drift_keys, c->cfg.policy->drift_values,
				   c->cfg.policy->ndrift, &err); /* checked when the policy loaded */
	if (drift_prometheus(w->store, &cfg, &text, &err))
		http_respond(res, 500, "text/plain; charset=utf-8", "# the drift report failed\n");
	else
		http_respond(res, 200, "text/plain; version=0.0.4; charset=utf-8", text);
	free(text);
	store_pool_give(c->workers, w);
}

int console_routes(struct console *c, struct http_server *srv, struct err *err)
{
	if (http_route(srv, "/", on_root, c, err) || http_route(srv, "/login", on_login, c, err) ||
	    http_route(srv, "/b/*", on_batch_page, c, err) ||
	    http_route(srv, "/logout", on_logout, c, err) ||
	    http_route(srv, "/metrics", on_metrics, c, err) ||
	    http_route(srv, "/api/*", on_api, c, err) || http_route(srv, "/*", on_asset, c, err))
		return err->code;
	return 0;
}
