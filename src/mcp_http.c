/* mcp_http.c — MCP over Streamable HTTP (see mcp_http.h). */
#include "mcp_http.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit.h"
#include "jsonrpc.h"
#include "mcp.h"
#include "oauth.h"
#include "oauth_http.h"
#include "policy.h"
#include "tools.h"
#include "token.h"
#include "upstream.h"

#define SESSION_BUCKETS 1024
#define OWNER_BUCKETS 64
/* an owner's evictions and expiries go to the log at most this often */
#define OWNER_REPORT_SECONDS 10
#define SESSION_ID_BYTES 32
#define JSON_TYPE "application/json"
#define SSE_TYPE "text/event-stream"

/* A server per connector on one of the store's pooled connections (the
 * pool's init hook makes them with the connection), used by one request at
 * a time; requests take one from the pool and give it back. */
struct worker {
	struct store *store;
	struct mcp_server srv[2];
	struct store_conn *conn; /* the pooled connection this rides on */
};

struct owner;

struct session {
	char id[SESSION_ID_BYTES * 2 + 1];
	enum mcp_connector connector;
	char agent[72];
	struct mcp_session ses;
	pthread_mutex_t lock; /* one request at a time per session */
	time_t last_used;
	int refs;             /* the table's and every request's */
	int ended;
	struct session *next; /* bucket chain */
	/* the owner's sessions, least recently used first */
	struct owner *owner;
	struct session *lru_prev, *lru_next;
};

/* The sessions of one token (with --no-auth: of one agent). Each owner has
 * at most sessions_per_token: a new one evicts its least recently used, so
 * one token that opens sessions in a loop only ever displaces its own. */
struct owner {
	char key[96]; /* "read:TOKENID" */
	enum mcp_connector connector;
	char agent[72];
	unsigned n;
	struct session *lru_head, *lru_tail;
	unsigned long evicted, expired; /* not reported yet */
	time_t reported;
	struct owner *next;
};

struct mcp_http;

struct route_ctx {
	struct mcp_http *m;
	enum mcp_connector connector;
};

struct mcp_http {
	struct mcp_http_config cfg;
	struct route_ctx routes[2];
	char *db_path, *agent, *iv;
	pthread_mutex_t lock; /* the session table */
	struct store_pool *pool; /* connections, each with its worker */
	struct session *buckets[SESSION_BUCKETS];
	unsigned nsessions;
	struct owner *owners[OWNER_BUCKETS];
	struct audit_queue *logq; /* read calls' log entries, committed in groups */
};

static void worker_free(void *state);
static int worker_init(struct store *s, void *arg, void **state, struct err *err);

int mcp_http_new(struct mcp_http **out, const struct mcp_http_config *cfg, struct err *err)
{
	struct store_pool_hooks hooks = {.init = worker_init, .fini = worker_free};
	struct mcp_http *m = calloc(1, sizeof *m);
	int rc;

	*out = NULL;
	if (!m || sodium_init() < 0) {
		free(m);
		return err_set(err, AIRLOCK_ENOMEM, "cannot set up the MCP endpoints");
	}
	m->cfg = *cfg;
	m->db_path = strdup(cfg->db_path);
	m->agent = strdup(cfg->agent ? cfg->agent : "anonymous");
	m->iv = cfg->instruction_version ? strdup(cfg->instruction_version) : NULL;
	if (!m->db_path || !m->agent || (cfg->instruction_version && !m->iv)) {
		mcp_http_free(m);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&m->lock, NULL);
	hooks.arg = m;
	rc = audit_queue_open(&m->logq, m->db_path, err);
	if (!rc)
		rc = store_pool_new_hooked(&m->pool, m->db_path, &hooks, err);
	if (rc) {
		mcp_http_free(m);
		return rc;
	}
	if (!m->cfg.max_sessions)
		m->cfg.max_sessions = 10000;
	if (!m->cfg.idle_seconds)
		m->cfg.idle_seconds = 30 * 60;
	if (!m->cfg.sessions_per_token)
		m->cfg.sessions_per_token = 100;
	*out = m;
	return 0;
}

/* The pool's fini hook: the connection itself is the pool's to close. */
static void worker_free(void *state)
{
	struct worker *w = state;

	mcp_server_free(&w->srv[0]);
	mcp_server_free(&w->srv[1]);
	free(w);
}

static void session_unref(struct session *s)
{
	if (--s->refs == 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
	}
}

static void owners_report(struct mcp_http *m, time_t now, int all);

void mcp_http_free(struct mcp_http *m)
{
	struct session *s, *sn;
	struct owner *o, *on;
	int i;

	if (!m)
		return;
	if (m->logq)
		owners_report(m, 0, 1); /* what was evicted since the last entry */
	audit_queue_close(m->logq);
	for (i = 0; i < OWNER_BUCKETS; i++)
		for (o = m->owners[i]; o; o = on) {
			on = o->next;
			free(o);
		}
	store_pool_free(m->pool);
	for (i = 0; i < SESSION_BUCKETS; i++)
		for (s = m->buckets[i]; s; s = sn) {
			sn = s->next;
			session_unref(s);
		}
	if (m->db_path)
		pthread_mutex_destroy(&m->lock);
	free(m->db_path);
	free(m->agent);
	free(m->iv);
	free(m);
}

/* The pool's init hook: both connectors' servers on a new connection. */
static int worker_init(struct store *s, void *arg, void **state, struct err *err)
{
	struct mcp_http *m = arg;
	struct worker *w = calloc(1, sizeof *w);
	int rc;

	*state = NULL;
	if (!w)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	w->store = s;
	rc = mcp_server_init(&w->srv[MCP_READ], MCP_READ, s, m->iv, err);
	if (!rc)
		rc = mcp_server_init(&w->srv[MCP_WRITE], MCP_WRITE, s, m->iv, err);
	if (!rc) {
		w->srv[MCP_READ].logq = m->logq;
		w->srv[MCP_READ].defer_reads = 1;
		w->srv[MCP_WRITE].logq = m->logq;
		rc = mcp_server_set_policy(&w->srv[MCP_READ], m->cfg.policy, err);
	}
	if (!rc)
		rc = mcp_server_set_policy(&w->srv[MCP_WRITE], m->cfg.policy, err);
	if (rc) {
		worker_free(w);
		return rc;
	}
	*state = w;
	return 0;
}

static struct worker *worker_take(struct mcp_http *m, struct err *err)
{
	struct store_conn *c = store_pool_take(m->pool, err);
	struct worker *w;

	if (!c)
		return NULL;
	w = c->state;
	w->conn = c;
	return w;
}

static void worker_give(struct mcp_http *m, struct worker *w)
{
	store_pool_give(m->pool, w->conn);
}

static unsigned bucket_of(const char *id)
{
	unsigned h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % SESSION_BUCKETS;
}

/* The owner of key, created when missing (caller holds m->lock); NULL when
 * out of memory. */
static struct owner *owner_get(struct mcp_http *m, const char *key, enum mcp_connector c,
			       const char *agent)
{
	unsigned b = bucket_of(key) % OWNER_BUCKETS;
	struct owner *o;

	for (o = m->owners[b]; o; o = o->next)
		if (!strcmp(o->key, key))
			return o;
	o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	/* agent names: at most 64 bytes (mcp_agent_valid at every door, token_verify) */
	(void)snprintf(o->key, sizeof o->key, "%s", key);
	(void)snprintf(o->agent, sizeof o->agent, "%s", agent);
	o->connector = c;
	o->next = m->owners[b];
	m->owners[b] = o;
	return o;
}

/* Frees an owner with no session and nothing left to report. */
static void owner_drop_if_empty(struct mcp_http *m, struct owner *o)
{
	struct owner **p = &m->owners[bucket_of(o->key) % OWNER_BUCKETS];

	if (o->n || o->evicted || o->expired)
		return;
	for (; *p; p = &(*p)->next)
		if (*p == o) {
			*p = o->next;
			free(o);
			return;
		}
}

static void log_done(void *ctx, int rc, const struct err *err, int64_t seq)
{
	(void)ctx;
	(void)seq;
	if (rc)
		fprintf(stderr, "airlock serve: mcp: cannot log a session eviction: %s\n",
			err ? err->msg : "?");
}

/* One action log entry per owner and burst: the sessions evicted (over the
 * per-token cap) and expired (idle) since its last entry, at most every
 * OWNER_REPORT_SECONDS (all: every owner with something to say, now).
 * Caller holds m->lock; the queue only copies the entry. */
static void owners_report(struct mcp_http *m, time_t now, int all)
{
	struct owner *o, *on;
	struct err err = {0};
	char principal[96], summary[256];
	int i;

	for (i = 0; i < OWNER_BUCKETS; i++)
		for (o = m->owners[i]; o; o = on) {
			struct audit_entry e = {0};
			json_t *args, *none;
			const char *tokid = strchr(o->key, ':') + 1;

			on = o->next;
			if (!o->evicted && !o->expired)
				continue;
			if (!all && now - o->reported < OWNER_REPORT_SECONDS)
				continue;
			/* agent names: at most 64 bytes (mcp_agent_valid at every door,
			 * token_verify) */
			(void)snprintf(principal, sizeof principal, "agent:%s", o->agent);
			(void)snprintf(
			    summary, sizeof summary,
			    "%lu session%s evicted (more than %u open for one token), %lu "
			    "expired (idle over %u min)",
			    o->evicted, o->evicted == 1 ? "" : "s", m->cfg.sessions_per_token,
			    o->expired, m->cfg.idle_seconds / 60);
			args = json_pack("{s:s,s:I,s:I,s:i,s:i}", "token", tokid, "evicted",
					 (json_int_t)o->evicted, "expired", (json_int_t)o->expired,
					 "per_token", (int)m->cfg.sessions_per_token, "idle_minutes",
					 (int)(m->cfg.idle_seconds / 60));
			none = json_array();
			e.principal = principal;
			e.surface = o->connector == MCP_READ ? "mcp:read" : "mcp:write";
			e.tool = "session_limit";
			e.args = args;
			e.decision = "evicted";
			e.summary = summary;
			e.record_ids = none;
			if (!args || !none ||
			    audit_queue_submit(m->logq, &e, log_done, NULL, &err))
				fprintf(stderr, "airlock serve: mcp: %s (%s)\n", summary,
					err.msg[0] ? err.msg : "out of memory");
			json_decref(args);
			json_decref(none);
			o->evicted = o->expired = 0;
			o->reported = now;
			owner_drop_if_empty(m, o);
		}
}

static void lru_remove(struct session *s)
{
	struct owner *o = s->owner;

	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		o->lru_head = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		o->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void lru_append(struct session *s)
{
	struct owner *o = s->owner;

	s->lru_prev = o->lru_tail;
	s->lru_next = NULL;
	if (o->lru_tail)
		o->lru_tail->lru_next = s;
	else
		o->lru_head = s;
	o->lru_tail = s;
}

/* Unlinks a session from the table (caller holds m->lock); a request
 * using it keeps its reference and finishes. */
static void unlink_session(struct mcp_http *m, struct session *s)
{
	struct session **p = &m->buckets[bucket_of(s->id)];

	for (; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			s->ended = 1;
			m->nsessions--;
			lru_remove(s);
			s->owner->n--;
			session_unref(s);
			return;
		}
}

/* Ends the sessions idle for too long: the least recently used of each
 * owner come first, so this stops at each owner's first live one (caller
 * holds m->lock). */
static void expire(struct mcp_http *m, time_t now)
{
	struct owner *o;
	int i;

	for (i = 0; i < OWNER_BUCKETS; i++)
		for (o = m->owners[i]; o; o = o->next)
			while (o->lru_head &&
			       now - o->lru_head->last_used > (time_t)m->cfg.idle_seconds) {
				o->expired++;
				unlink_session(m, o->lru_head);
			}
}

/* Finds a live session and takes a reference; NULL when unknown or ended. */
static struct session *session_get(struct mcp_http *m, const char *id)
{
	struct session *s;
	time_t now = time(NULL);

	if (strlen(id) != SESSION_ID_BYTES * 2)
		return NULL;
	pthread_mutex_lock(&m->lock);
	expire(m, now);
	for (s = m->buckets[bucket_of(id)]; s; s = s->next)
		if (sodium_memcmp(s->id, id, SESSION_ID_BYTES * 2) == 0 && !s->ended)
			break;
	if (s) {
		s->refs++;
		s->last_used = now;
		lru_remove(s);
		lru_append(s);
	}
	owners_report(m, now, 0);
	pthread_mutex_unlock(&m->lock);
	return s;
}

static void session_put(struct mcp_http *m, struct session *s)
{
	pthread_mutex_lock(&m->lock);
	session_unref(s);
	pthread_mutex_unlock(&m->lock);
}

/* The owner with the most sessions (caller holds m->lock). */
static struct owner *largest_owner(struct mcp_http *m)
{
	struct owner *o, *best = NULL;
	int i;

	for (i = 0; i < OWNER_BUCKETS; i++)
		for (o = m->owners[i]; o; o = o->next)
			if (o->n && (!best || o->n > best->n))
				best = o;
	return best;
}

/* Registers a new session of owner key. A token at its cap loses its least
 * recently used session; a full table loses the least recently used one of
 * the token holding the most, so no token's sessions crowd out another's.
 * Returns 0, or -1 when out of memory. */
static int session_add(struct mcp_http *m, struct session *s, const char *key)
{
	unsigned char raw[SESSION_ID_BYTES];
	time_t now = time(NULL);
	struct owner *o, *big;
	unsigned b;

	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(s->id, sizeof s->id, raw, sizeof raw);
	pthread_mutex_init(&s->lock, NULL);
	s->last_used = now;
	s->refs = 1;
	pthread_mutex_lock(&m->lock);
	expire(m, now);
	o = owner_get(m, key, s->connector, s->agent);
	if (!o) {
		pthread_mutex_unlock(&m->lock);
		pthread_mutex_destroy(&s->lock);
		return -1;
	}
	while (o->n >= m->cfg.sessions_per_token && o->lru_head) {
		o->evicted++;
		unlink_session(m, o->lru_head);
	}
	while (m->nsessions >= m->cfg.max_sessions && (big = largest_owner(m)) != NULL) {
		big->evicted++;
		unlink_session(m, big->lru_head);
	}
	b = bucket_of(s->id);
	s->next = m->buckets[b];
	m->buckets[b] = s;
	m->nsessions++;
	s->owner = o;
	o->n++;
	lru_append(s);
	owners_report(m, now, 0);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static void respond_rpc_error(struct http_response *res, int status, int code, const char *msg)
{
	char *body = jsonrpc_error(NULL, code, msg, NULL);

	http_respond_owned(res, status, JSON_TYPE, body, body ? strlen(body) : 0);
}

/* Why a bearer check failed: what authenticate answers with. */
struct auth_fail {
	int status;    /* 401, 403 or 500 */
	int challenge; /* 0: no WWW-Authenticate; 1: one without an error;
			  2: one with error="invalid_token" */
	char msg[200];
};

/* An OAuth access token: its grant must be live and its audience this
 * connector's URL (RFC 8707), so a token minted for /mcp/read is refused on
 * /mcp/write even before the connector check. 0, or -1 with f filled. */
static int check_oauth(struct mcp_http *m, struct worker *w, enum mcp_connector connector,
		       const char *token, const struct http_request *req, struct token_info *info,
		       struct auth_fail *f)
{
	struct oauth_access acc;
	struct err err = {0};
	char base[600], want[700];
	const char *cname = mcp_connector_name(connector);

	if (oauth_verify_access(w->store, token, &acc, &err)) {
		f->status = err.code == AIRLOCK_EDENIED ? 401 : 500;
		f->challenge = 2;
		(void)snprintf(f->msg, sizeof f->msg, "%s",
			       err.code == AIRLOCK_EDENIED
				   ? "invalid token: unknown, expired or revoked (refresh it, or "
				     "authorize again)"
				   : "cannot check the token");
		return -1;
	}
	if (oauth_http_base(m->cfg.public_url, req, base, sizeof base) ||
	    (size_t)snprintf(want, sizeof want, "%s/mcp/%s", base, cname) >= sizeof want ||
	    strcmp(acc.resource, want) != 0 || strcmp(acc.connector, cname) != 0) {
		f->status = 401;
		f->challenge = 2;
		(void)snprintf(f->msg, sizeof f->msg,
			       "this token was granted for the %s connector (%.100s), not for /mcp/%s",
			       acc.connector, acc.resource, cname);
		return -1;
	}
	/* grant ids are 16 characters, connectors "read"/"write", agents at
	 * most 64 bytes (mcp_agent_valid at consent): nothing is cut */
	(void)snprintf(info->id, sizeof info->id, "%.16s", acc.grant);
	(void)snprintf(info->connector, sizeof info->connector, "%s", acc.connector);
	(void)snprintf(info->agent, sizeof info->agent, "%s", acc.agent);
	return 0;
}

/* Bearer authentication, answering nothing: 0 with the agent's name in
 * agent and who owns its sessions in key ("read:TOKENID",
 * "read:oauth-GRANT"; with --no-auth "read:=AGENT"), or -1 with why in f.
 * The one check for both doors that ask: the handler (authenticate) and
 * the lane's judgement (classify), so an agent is placed in a lane by the
 * same token rules it is served by, static token or OAuth alike. */
static int check_bearer(struct mcp_http *m, struct worker *w, enum mcp_connector connector,
			const struct http_request *req, char *agent, size_t len, char *key,
			size_t klen, struct auth_fail *f)
{
	const char *auth = http_header(req, "Authorization");
	struct token_info info;
	struct err err = {0};

	if (m->cfg.no_auth) {
		/* agent names: at most 64 bytes (mcp_agent_valid at every door, token_verify) */
		(void)snprintf(agent, len, "%s", m->agent);
		(void)snprintf(key, klen, "%s:=%s", mcp_connector_name(connector), m->agent);
		return 0;
	}
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
		f->status = 401;
		f->challenge = 1;
		(void)snprintf(f->msg, sizeof f->msg, "%s",
			       "missing 'Authorization: Bearer TOKEN' (airlock token create, or "
			       "OAuth: see WWW-Authenticate)");
		return -1;
	}
	auth += 7;
	while (*auth == ' ')
		auth++;
	if (!strncmp(auth, OAUTH_ACCESS_PREFIX, strlen(OAUTH_ACCESS_PREFIX))) {
		if (check_oauth(m, w, connector, auth, req, &info, f))
			return -1;
	} else if (token_verify(w->store, auth, &info, &err)) {
		f->status = err.code == AIRLOCK_EDENIED ? 401 : 500;
		f->challenge = 2;
		(void)snprintf(f->msg, sizeof f->msg, "%s",
			       err.code == AIRLOCK_EDENIED ? "invalid token: unknown or revoked"
							   : "cannot check the token");
		return -1;
	}
	if (strcmp(info.connector, mcp_connector_name(connector)) != 0) {
		f->status = 403;
		f->challenge = 0;
		(void)snprintf(
		    f->msg, sizeof f->msg,
		    "this token is for the %s connector; /mcp/%s needs a %s token", info.connector,
		    mcp_connector_name(connector), mcp_connector_name(connector));
		return -1;
	}
	/* agent names: at most 64 bytes (mcp_agent_valid at every door, token_verify) */
	(void)snprintf(agent, len, "%s", info.agent);
	(void)snprintf(key, klen, "%s:%s", mcp_connector_name(connector), info.id);
	return 0;
}

/* check_bearer, answering a refusal with its status, message and (for 401)
 * the OAuth challenge. 0, or -1 with res filled. */
static int authenticate(struct mcp_http *m, struct worker *w, enum mcp_connector connector,
			const struct http_request *req, struct http_response *res, char *agent,
			size_t len, char *key, size_t klen)
{
	struct auth_fail f = {0};
	char hdr[900];

	if (check_bearer(m, w, connector, req, agent, len, key, klen, &f) == 0)
		return 0;
	if (f.challenge) {
		oauth_http_challenge(m->cfg.public_url, req, mcp_connector_name(connector),
				     f.challenge == 2, hdr, sizeof hdr);
		http_add_header(res, "WWW-Authenticate", hdr);
	}
	respond_rpc_error(res, f.status, JSONRPC_INVALID_REQUEST, f.msg);
	return -1;
}

static int accepts(const char *accept, const char *type)
{
	return accept && strcasestr(accept, type) != NULL;
}

/* Notifications produced while handling one request; sent before the
 * answer as SSE events when the client accepts them. */
struct collected {
	char *buf;
	size_t len, cap;
	int overflow;
};

static void collect_notification(void *ctx, const char *msg)
{
	struct collected *c = ctx;
	size_t need = strlen(msg) + 32;
	char *nb;

	if (c->overflow || c->len + need > (1u << 20)) {
		c->overflow = 1;
		return;
	}
	if (c->len + need > c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 4096;

		while (ncap < c->len + need)
			ncap *= 2;
		nb = realloc(c->buf, ncap);
		if (!nb) {
			c->overflow = 1;
			return;
		}
		c->buf = nb;
		c->cap = ncap;
	}
	c->len += (size_t)snprintf(c->buf + c->len, c->cap - c->len, "event: message\ndata: %s\n\n",
				   msg);
}

static void respond_reply(struct http_response *res, int rc, char *reply, struct collected *n,
			  int sse_ok)
{
	size_t rl, total;
	char *body;

	if (!reply) {
		http_respond(res, 202, NULL, NULL);
		return;
	}
	rl = strlen(reply);
	if (n->len && sse_ok) {
		total = n->len + rl + 32;
		body = malloc(total);
		if (body) {
			total = (size_t)snprintf(body, total, "%.*sevent: message\ndata: %s\n\n",
						 (int)n->len, n->buf, reply);
			http_respond_owned(res, 200, SSE_TYPE, body, total);
		} else {
			http_respond(res, 500, NULL, NULL);
		}
		free(reply);
		return;
	}
	/* Malformed messages and the stateless revision's version errors are
	 * the client's fault at the HTTP level too. */
	http_respond_owned(res,
			   rc == JSONRPC_PARSE_ERROR || rc == JSONRPC_INVALID_REQUEST ||
					   rc == MCP_ERR_UNSUPPORTED_VERSION ||
					   rc == MCP_ERR_HEADER_MISMATCH
				   ? 400
				   : 200,
			   JSON_TYPE, reply, rl);
}

/* A deferred answer's way out: the connection, and the notifications to
 * stream before the answer (SSE) when the client accepts them. */
struct resume_ctx {
	struct http_deferred *hd;
	struct collected n;
	int sse_ok;
};

/* http_resume with the reply, on whichever thread the log finished on. */
static void resume_with(void *ctx, char *reply)
{
	struct resume_ctx *rc = ctx;
	struct http_response r = {0};

	if (reply)
		respond_reply(&r, 0, reply, &rc->n, rc->sse_ok);
	else
		respond_rpc_error(&r, 500, JSONRPC_INTERNAL_ERROR, "out of memory");
	http_resume(rc->hd, &r);
	free(rc->n.buf);
	free(rc);
}

/* respond_reply, unless the call left a read's answer waiting for its log
 * entry: then the connection waits (without its thread) and the answer,
 * after the notifications collected so far (n's buffer is taken over),
 * goes out once the entry is committed. No thread waits for the log here:
 * this may run on the I/O thread. */
static void answer(struct http_response *res, struct mcp_server *srv, int rc, char *reply,
		   struct collected *n, int sse_ok)
{
	struct mcp_deferred *d = srv->deferred;
	struct resume_ctx *ctx;

	if (d) {
		srv->deferred = NULL;
		free(reply);
		ctx = calloc(1, sizeof *ctx);
		if (ctx && (ctx->hd = http_defer(res)) != NULL) {
			ctx->n = *n;
			ctx->sse_ok = sse_ok;
			memset(n, 0, sizeof *n);
			mcp_deferred_then(d, resume_with, ctx);
			return;
		}
		free(ctx);
		/* not deferrable (out of memory): this thread waits instead */
		reply = mcp_deferred_wait(d);
		rc = 0;
		if (!reply) {
			respond_rpc_error(res, 500, JSONRPC_INTERNAL_ERROR, "out of memory");
			return;
		}
	}
	respond_reply(res, rc, reply, n, sse_ok);
}

static int is_initialize(json_t *msg)
{
	json_t *m = json_object_get(msg, "method");

	return json_is_string(m) && !strcmp(json_string_value(m), "initialize") &&
	       json_object_get(msg, "id");
}

/* The 2026-07-28 transport: header and body must agree, so a proxy
 * routing on the header cannot be shown one thing and run another; with a
 * session id or without (a message naming the stateless version, or any
 * that carries an Mcp-Method header). 0, or 1 with res answered. */
static int headers_disagree(const struct http_request *req, json_t *msg,
			    struct http_response *res)
{
	const char *hv = http_header(req, "MCP-Protocol-Version");
	const char *hm = http_header(req, "Mcp-Method");
	const char *mv = mcp_meta_version(msg);
	const char *method = json_string_value(json_object_get(msg, "method"));

	if (mv && (!hv || strcmp(hv, mv) != 0)) {
		respond_rpc_error(res, 400, MCP_ERR_HEADER_MISMATCH,
				  "the MCP-Protocol-Version header must equal "
				  "params._meta[\"io.modelcontextprotocol/protocolVersion\"]");
		return 1;
	}
	if (hm && (!method || strcmp(hm, method) != 0)) {
		respond_rpc_error(res, 400, MCP_ERR_HEADER_MISMATCH,
				  "the Mcp-Method header must equal the message's method");
		return 1;
	}
	return 0;
}

/* A POST without a session: initialize starts one; the stateless revision
 * (and server/discover) needs none; anything else is refused. */
static void post_sessionless(struct mcp_http *m, struct worker *w, enum mcp_connector c,
			     const char *agent, const char *key, const struct http_request *req,
			     json_t *msg, struct http_response *res, int sse_ok)
{
	const char *mv = mcp_meta_version(msg);
	const char *method = json_string_value(json_object_get(msg, "method"));
	struct collected n = {0};
	struct session *s;
	char *reply;
	int rc;

	if (is_initialize(msg)) {
		s = calloc(1, sizeof *s);
		if (!s) {
			http_respond(res, 500, NULL, NULL);
			return;
		}
		mcp_session_init(&s->ses, agent);
		s->connector = c;
		/* agent names: at most 64 bytes (mcp_agent_valid at every door, token_verify) */
		(void)snprintf(s->agent, sizeof s->agent, "%s", agent);
		rc = mcp_handle_json(&w->srv[c], &s->ses, msg, &reply);
		if (rc == 0 && s->ses.initialized && session_add(m, s, key) != 0) {
			free(reply);
			free(s);
			respond_rpc_error(res, 500, JSONRPC_INTERNAL_ERROR, "out of memory");
			return;
		}
		if (rc == 0 && s->ses.initialized)
			http_add_header(res, "Mcp-Session-Id", s->id);
		else
			free(s);
		answer(res, &w->srv[c], rc, reply, &n, 0);
		return;
	}
	if (mv || (method && !strcmp(method, "server/discover"))) {
		struct mcp_session tmp;

		if (headers_disagree(req, msg, res))
			return;
		mcp_session_init(&tmp, agent);
		tmp.notify = collect_notification;
		tmp.notify_ctx = &n;
		rc = mcp_handle_json(&w->srv[c], &tmp, msg, &reply);
		answer(res, &w->srv[c], rc, reply, &n, sse_ok);
		free(n.buf);
		return;
	}
	respond_rpc_error(res, 400, JSONRPC_INVALID_REQUEST,
			  "missing Mcp-Session-Id header: send initialize first (or use protocol "
			  "version " MCP_STATELESS_VERSION ")");
}

static void post_in_session(struct mcp_http *m, struct worker *w, enum mcp_connector c,
			    const char *agent, const struct http_request *req, const char *sid,
			    json_t *msg, struct http_response *res, int sse_ok, int io)
{
	struct collected n = {0};
	struct session *s;
	char *reply;
	int rc;

	if (headers_disagree(req, msg, res))
		return;
	s = session_get(m, sid);

	/* Another connector's or another agent's session is as good as unknown:
	 * its existence is not for this caller to learn. */
	if (!s || s->connector != c || strcmp(s->agent, agent) != 0) {
		if (s)
			session_put(m, s);
		respond_rpc_error(res, 404, JSONRPC_INVALID_REQUEST,
				  "unknown or ended session: initialize a new one");
		return;
	}
	/* On the I/O thread nothing may wait: a session busy with another call
	 * (an expensive one on the slow lane, say) would stall every
	 * connection of that thread, so the request goes to a handler thread,
	 * which waits for the session instead. */
	if (io && pthread_mutex_trylock(&s->lock) != 0) {
		session_put(m, s);
		http_requeue(res);
		return;
	}
	if (!io)
		pthread_mutex_lock(&s->lock);
	s->ses.notify = collect_notification;
	s->ses.notify_ctx = &n;
	rc = mcp_handle_json(&w->srv[c], &s->ses, msg, &reply);
	s->ses.notify = NULL;
	s->ses.notify_ctx = NULL;
	pthread_mutex_unlock(&s->lock);
	session_put(m, s);
	answer(res, &w->srv[c], rc, reply, &n, sse_ok);
	free(n.buf);
}

/* decoded: the body as classify decoded it (jsonrpc_parse), or NULL */
static void handle_post(struct mcp_http *m, struct worker *w, enum mcp_connector c,
			const char *agent, const char *key, const struct http_request *req,
			json_t *decoded, struct http_response *res)
{
	const char *accept = http_header(req, "Accept");
	const char *ctype = http_header(req, "Content-Type");
	const char *hv = http_header(req, "MCP-Protocol-Version");
	const char *sid = http_header(req, "Mcp-Session-Id");
	json_error_t jerr;
	json_t *msg;
	char *reply, buf[200];
	int rc;

	if (!accepts(accept, JSON_TYPE) || !accepts(accept, SSE_TYPE)) {
		respond_rpc_error(res, 406, JSONRPC_INVALID_REQUEST,
				  "the Accept header must list application/json and "
				  "text/event-stream");
		return;
	}
	if (!ctype || strncasecmp(ctype, JSON_TYPE, strlen(JSON_TYPE)) != 0) {
		respond_rpc_error(res, 415, JSONRPC_INVALID_REQUEST,
				  "Content-Type must be application/json");
		return;
	}
	if (hv && !mcp_version_supported(hv) && strcmp(hv, MCP_STATELESS_VERSION) != 0) {
		(void)snprintf(buf, sizeof buf, "unsupported MCP-Protocol-Version '%.40s'", hv);
		respond_rpc_error(res, 400, JSONRPC_INVALID_REQUEST, buf);
		return;
	}
	if (decoded)
		msg = json_incref(decoded);
	else if (jsonrpc_parse(req->body, req->body_len, &msg, &jerr)) {
		struct mcp_session tmp;

		mcp_session_init(&tmp, agent);
		rc = mcp_handle(&w->srv[c], &tmp, req->body, req->body_len, &reply);
		answer(res, &w->srv[c], rc, reply, &(struct collected){0}, 0);
		return;
	}
	if (sid)
		post_in_session(m, w, c, agent, req, sid, msg, res, 1, req->on_io_thread);
	else
		post_sessionless(m, w, c, agent, key, req, msg, res, 1);
	json_decref(msg);
}

static void handle_delete(struct mcp_http *m, enum mcp_connector c, const char *agent,
			  const struct http_request *req, struct http_response *res)
{
	const char *sid = http_header(req, "Mcp-Session-Id");
	struct session *s;

	if (!sid) {
		respond_rpc_error(res, 400, JSONRPC_INVALID_REQUEST, "missing Mcp-Session-Id header");
		return;
	}
	s = session_get(m, sid);
	if (!s || s->connector != c || strcmp(s->agent, agent) != 0) {
		if (s)
			session_put(m, s);
		respond_rpc_error(res, 404, JSONRPC_INVALID_REQUEST, "unknown or ended session");
		return;
	}
	pthread_mutex_lock(&m->lock);
	unlink_session(m, s);
	session_unref(s);
	pthread_mutex_unlock(&m->lock);
	http_respond(res, 204, NULL, NULL);
}

/* What classify worked out about a request, kept for its handler
 * (http_keep): the body decoded, and when a bearer token was checked, whose
 * it is, so that neither is done twice for one call. */
struct judged {
	json_t *msg;
	int authed;
	char agent[72], key[96];
};

static void judged_drop(void *p)
{
	struct judged *j = p;

	json_decref(j->msg);
	free(j);
}

static void on_mcp(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct route_ctx *rc = ctx;
	struct mcp_http *m = rc->m;
	const struct judged *judged = req->kept;
	struct err err = {0};
	struct worker *w;
	char agent[72], key[96];

	if (strcmp(req->method, "POST") && strcmp(req->method, "DELETE")) {
		/* We offer no server-to-client stream (GET): every answer comes
		 * back on its POST. */
		http_add_header(res, "Allow", "POST, DELETE");
		http_respond(res, 405, "text/plain; charset=utf-8",
			     "this endpoint takes POST (and DELETE to end a session)\n");
		return;
	}
	w = worker_take(m, &err);
	if (!w) {
		fprintf(stderr, "airlock serve: %s\n", err.msg);
		respond_rpc_error(res, 500, JSONRPC_INTERNAL_ERROR, "airlock cannot open its database");
		return;
	}
	/* On the I/O thread (a cheap read, which never waits): the token's
	 * lookup and the call's statements in one read transaction. Not on a
	 * handler thread, whose call may wait on an upstream for seconds and
	 * would hold back every checkpoint meanwhile. A failure to begin only
	 * costs the saving. */
	if (req->on_io_thread)
		(void)store_read_begin(w->store, &err);
	if (judged && judged->authed) {
		/* the token was checked for this connector when the lane was
		 * judged (classify), a moment ago, on this very request */
		(void)snprintf(agent, sizeof agent, "%s", judged->agent);
		(void)snprintf(key, sizeof key, "%s", judged->key);
	}
	if ((judged && judged->authed) ||
	    authenticate(m, w, rc->connector, req, res, agent, sizeof agent, key, sizeof key) == 0) {
		if (!strcmp(req->method, "POST"))
			handle_post(m, w, rc->connector, agent, key, req, judged ? judged->msg : NULL,
				    res);
		else
			handle_delete(m, rc->connector, agent, req, res);
	}
	store_read_end(w->store);
	worker_give(m, w);
}

#define LANE_BODY_BYTES (64u << 10)

/* 1 when a body cannot hold an expensive call, judged without decoding it
 * (most calls are cheap, and this runs for every one): with no backslash,
 * every name and key is written as it reads, so a call that names no scan
 * tool of the registry (book_stats) nor the argument that makes one
 * expensive ("text" of search_accounts), with fewer commas than an
 * expensive array has items, is cheap. Anything else is decoded and
 * judged. */
static int surely_cheap(const char *body, size_t len)
{
	const struct tools_row *row;
	char key[TOOLS_NAME_MAX + 3];
	size_t i, commas = 0;
	int k, n;

	for (i = 0; i < len; i++)
		if (body[i] == '\\')
			return 0;
		else if (body[i] == ',')
			commas++;
	if (commas >= MCP_EXPENSIVE_ITEMS)
		return 0;
	/* a name shaped like an upstream's tool may not be in the registry yet
	 * (its upstream not listed): decoded and judged (mcp_call_expensive) */
	if (memmem(body, len, UPSTREAM_SEP, strlen(UPSTREAM_SEP)))
		return 0;
	for (k = 0; (row = tools_at(k)); k++) {
		if (row->cost == TOOLS_LOOKUP)
			continue;
		if (!row->scan_arg && memmem(body, len, row->name, strlen(row->name)))
			return 0;
		n = row->scan_arg ? snprintf(key, sizeof key, "\"%s\"", row->scan_arg) : -1;
		/* a key too long to copy is looked for the slow way */
		if (row->scan_arg && (n < 0 || (size_t)n >= sizeof key))
			return 0;
		if (n > 0 && memmem(body, len, key, (size_t)n))
			return 0;
	}
	return 1;
}

/* 1 when the request carries a token of this connector that verifies, an
 * airlock token or an OAuth access token alike (check_bearer, as the
 * handler checks it), or the server runs --no-auth. The lanes are judged before the handler
 * authenticates: without this, anyone could fill the slow lane's queue
 * with bodies that look expensive, and a signed-in agent's expensive call
 * would wait behind requests that are only refused in the end. A request
 * that fails here takes the fast lane, where it is refused at once and
 * costs one token lookup, never a decode. */
static int lane_authenticated(struct mcp_http *m, enum mcp_connector c,
			      const struct http_request *req, struct judged *j)
{
	struct auth_fail f = {0};
	struct err err = {0};
	struct worker *w;
	int ok;

	w = worker_take(m, &err);
	if (!w)
		return 0;
	ok = check_bearer(m, w, c, req, j->agent, sizeof j->agent, j->key, sizeof j->key, &f) == 0;
	worker_give(m, w);
	j->authed = ok;
	return ok;
}

/* The lane of a request (http.h), on a fast-lane thread before the handler
 * runs: decoded here (once more) only when a look at its bytes cannot rule
 * out an expensive call, which then waits for the slow lane. A body too
 * large takes the slow lane whatever it holds (its decoding costs wherever
 * it runs); one that is not JSON the fast one (it is refused at once).
 * Only an authenticated request ever takes the slow lane. */
static enum http_lane classify(void *ctx, const struct http_request *req)
{
	struct route_ctx *rc = ctx;
	struct judged j = {0}, *kept;
	json_error_t jerr;
	int slow;

	if (req->body_len <= LANE_BODY_BYTES &&
	    (strcmp(req->method, "POST") != 0 || req->body_len == 0 ||
	     surely_cheap(req->body, req->body_len)))
		return HTTP_LANE_FAST;
	/* nothing is decoded for a client that is refused anyway */
	if (!lane_authenticated(rc->m, rc->connector, req, &j))
		return HTTP_LANE_FAST;
	if (req->body_len > LANE_BODY_BYTES)
		return HTTP_LANE_SLOW;
	/* decoded as the handler decodes it (duplicate keys refused): the
	 * handler runs on what was judged here */
	if (jsonrpc_parse(req->body, req->body_len, &j.msg, &jerr))
		return HTTP_LANE_FAST;
	slow = mcp_call_expensive(j.msg);
	kept = malloc(sizeof *kept);
	if (kept) {
		*kept = j;
		http_keep(req, kept, judged_drop);
	} else {
		json_decref(j.msg); /* decoded again by the handler */
	}
	return slow == 2 ? HTTP_LANE_WAIT : slow ? HTTP_LANE_SLOW : HTTP_LANE_FAST;
}

/* 1 when a request may run on the I/O thread that read it (http_route_io):
 * a read connector's POST that surely_cheap calls cheap, on a server whose
 * policy names no upstream (an upstream's tools are re-listed, over the
 * network, by tools/list and by calls to a tool not shown: never on the
 * I/O thread). Nothing it runs waits for another thread: its log entry
 * is committed by the writer, which then resumes the connection (answer);
 * a session busy with another call sends it to a handler thread
 * (post_in_session). Writes wait for their own commit: never here. */
static enum http_io io_ok(void *ctx, const struct http_request *req)
{
	struct route_ctx *rc = ctx;
	const struct policy *p = rc->m->cfg.policy;

	if (strcmp(req->method, "POST") != 0 || req->body_len == 0 ||
	    req->body_len > LANE_BODY_BYTES)
		return HTTP_IO_QUEUE;
	if (rc->connector == MCP_READ && (!p || !p->nupstreams) &&
	    surely_cheap(req->body, req->body_len))
		return HTTP_IO_RUN;
	/* An upstream's call is judged here (a token lookup and a decode, as
	 * a cheap read costs): one hand-off less on its way to the wait lane.
	 * Anything else is judged on a fast-lane thread, as before. */
	if (p && p->nupstreams &&
	    memmem(req->body, req->body_len, UPSTREAM_SEP, strlen(UPSTREAM_SEP)) &&
	    classify(ctx, req) == HTTP_LANE_WAIT)
		return HTTP_IO_WAIT;
	return HTTP_IO_QUEUE;
}

int mcp_http_routes(struct mcp_http *m, struct http_server *srv, struct err *err)
{
	m->routes[MCP_READ].m = m->routes[MCP_WRITE].m = m;
	m->routes[MCP_READ].connector = MCP_READ;
	m->routes[MCP_WRITE].connector = MCP_WRITE;
	if (http_route_lanes(srv, "/mcp/read", on_mcp, classify, &m->routes[MCP_READ], err) ||
	    http_route_lanes(srv, "/mcp/write", on_mcp, classify, &m->routes[MCP_WRITE], err) ||
	    http_route_io(srv, "/mcp/read", io_ok, err))
		return err->code;
	return 0;
}
