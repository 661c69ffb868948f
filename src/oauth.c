/* oauth.c — airlock's authorization server: clients, codes, grants and
 * tokens (see oauth.h). */
#include "oauth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "clock.h"

#define SECRET_BYTES 32
#define HASH_HEX (32 * 2 + 1)
#define MAX_REDIRECTS 8
#define MAX_NAME 100
/* registration is open to anyone who can reach the server: past this many
 * clients that never got a grant, the oldest such are forgotten */
#define MAX_IDLE_CLIENTS 2000

static int init_sodium(struct err *err)
{
	if (sodium_init() < 0)
		return err_set(err, AIRLOCK_EIO, "libsodium failed to initialise");
	return 0;
}

/* The key a code or token is stored under. */
static void secret_hash(const char *secret, char out[HASH_HEX])
{
	unsigned char h[32];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)"airlock-oauth-v1:", 17);
	crypto_generichash_update(&st, (const unsigned char *)secret, strlen(secret));
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(out, HASH_HEX, h, sizeof h);
}

/* prefix + 43 base64url characters of fresh randomness. */
static void secret_new(const char *prefix, char *out, size_t len)
{
	unsigned char raw[SECRET_BYTES];
	char b64[64];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	(void)snprintf(out, len, "%s%s", prefix,
		       b64); /* len ≥ OAUTH_TOKEN_MAX: checked by callers */
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(b64, sizeof b64);
}

/* Copies a stored value into a fixed field; 1 when it does not fit (a cut
 * id, URI or agent name would name something else: the caller refuses). */
static int field(char *dst, size_t len, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	dst[0] = '\0';
	if (n >= len)
		return 1;
	if (n)
		memcpy(dst, src, n + 1);
	return 0;
}

static void at_offset(long seconds, char *buf, size_t len)
{
	clock_format(clock_now() + seconds, buf, len);
}

static int is_loopback_host(const char *h, size_t n)
{
	return (n == 9 && !strncasecmp(h, "localhost", 9)) || (n == 5 && !strncmp(h, "[::1]", 5)) ||
	       (n >= 9 && !strncmp(h, "127.", 4) && strspn(h, "0123456789.") == n);
}

int oauth_redirect_uri_ok(const char *uri)
{
	const char *host, *end;
	size_t n = uri ? strlen(uri) : 0, i;

	if (n == 0 || n > OAUTH_URI_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)uri[i] <= ' ' || uri[i] == 0x7f || uri[i] == '#' ||
		    uri[i] == '\\' || uri[i] == '"' || uri[i] == '<' || uri[i] == '>')
			return 0;
	if (!strncmp(uri, "https://", 8))
		host = uri + 8;
	else if (!strncmp(uri, "http://", 7))
		host = uri + 7;
	else
		return 0;
	end = host + strcspn(host, "/?");
	if (end == host || memchr(host, '@', (size_t)(end - host)))
		return 0;
	if (host == uri + 8)
		return 1;
	/* http: the host up to the port must be a loopback one */
	if (*host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));

		if (!rb)
			return 0;
		return is_loopback_host(host, (size_t)(rb - host + 1)) &&
		       (rb + 1 == end || rb[1] == ':');
	}
	{
		const char *colon = memchr(host, ':', (size_t)(end - host));

		return is_loopback_host(host, (size_t)((colon ? colon : end) - host));
	}
}

static int log_action(struct store *s, const char *principal, const char *surface, const char *tool,
		      json_t *args, const char *decision, const char *summary, struct err *err)
{
	struct audit_entry e = {0};
	json_t *none = json_array();
	int rc;

	if (!none)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	e.principal = principal;
	e.surface = surface;
	e.tool = tool;
	e.args = args;
	e.decision = decision;
	e.summary = summary;
	e.record_ids = none;
	rc = audit_append(s, &e, NULL, err);
	json_decref(none);
	return rc;
}

/* Forgets the oldest clients that never got a grant and have no live code,
 * beyond MAX_IDLE_CLIENTS; and spent or stale codes. */
static int prune(struct store *s, struct err *err)
{
	struct store_stmt *st;
	char now[CLOCK_TEXT_LEN];
	int rc;

	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s, "DELETE FROM oauth_code WHERE expires_at < ?1 AND grant_id IS NULL",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, now);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	rc = store_prepare(s,
			   "DELETE FROM oauth_client WHERE id IN (SELECT c.id FROM oauth_client c"
			   " WHERE NOT EXISTS (SELECT 1 FROM oauth_grant g WHERE g.client_id=c.id)"
			   " AND NOT EXISTS (SELECT 1 FROM oauth_code k WHERE k.client_id=c.id)"
			   /* no limit, in words both engines take (SQLite has no
			    * LIMIT ALL, PostgreSQL no LIMIT -1) */
			   " ORDER BY c.created_at DESC, c.id LIMIT 9223372036854775807 OFFSET ?1)",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, MAX_IDLE_CLIENTS);
	rc = store_step(st, err);
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

/* Checks the metadata a client registers with; fills *uris with a copy of
 * its redirect URIs. */
static int register_check(json_t *meta, json_t **uris, const char **name, struct err *err)
{
	json_t *ru = json_object_get(meta, "redirect_uris"), *v;
	const char *am = json_string_value(json_object_get(meta, "token_endpoint_auth_method"));
	json_t *gt = json_object_get(meta, "grant_types"),
	       *rt = json_object_get(meta, "response_types");
	size_t i;

	*uris = NULL;
	if (!json_is_object(meta))
		return err_set(err, AIRLOCK_EINVAL, "the registration must be a JSON object");
	if (!json_is_array(ru) || json_array_size(ru) == 0 || json_array_size(ru) > MAX_REDIRECTS)
		return err_set(err, AIRLOCK_EINVAL,
			       "redirect_uris must be an array of 1 to %d URIs", MAX_REDIRECTS);
	json_array_foreach(ru, i, v) if (
	    !oauth_redirect_uri_ok(
		json_string_value(v))) return err_set(err, AIRLOCK_EINVAL,
						      "redirect_uris[%zu] must be an https:// URI "
						      "or http:// on a loopback address "
						      "(127.0.0.1, [::1], localhost), without a "
						      "fragment, at most %d bytes",
						      i, OAUTH_URI_MAX);
	/* public clients only: PKCE is the proof, there is no secret to keep */
	if (am && strcmp(am, "none") && strcmp(am, "client_secret_post") &&
	    strcmp(am, "client_secret_basic"))
		return err_set(err, AIRLOCK_EINVAL,
			       "token_endpoint_auth_method '%.40s' is not supported (use none)",
			       am);
	json_array_foreach(
	    gt, i,
	    v) if (!json_is_string(v) ||
		   (strcmp(json_string_value(v), "authorization_code") &&
		    strcmp(
			json_string_value(v),
			"refresh_token"))) return err_set(err, AIRLOCK_EINVAL,
							  "grant_types may hold authorization_code "
							  "and refresh_token only");
	json_array_foreach(
	    rt, i, v) if (!json_is_string(v) ||
			  strcmp(json_string_value(v),
				 "code")) return err_set(err, AIRLOCK_EINVAL,
							 "response_types may hold code only");
	*name = json_string_value(json_object_get(meta, "client_name"));
	if (!*name || !**name)
		*name = "unnamed client";
	if (strlen(*name) > MAX_NAME)
		return err_set(err, AIRLOCK_EINVAL, "client_name is longer than %d bytes",
			       MAX_NAME);
	*uris = json_deep_copy(ru);
	return *uris ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
}

int oauth_client_register(struct store *s, json_t *meta, json_t **out, struct err *err)
{
	unsigned char raw[16];
	char id[40], now[CLOCK_TEXT_LEN], *text = NULL;
	const char *name = NULL;
	json_t *uris = NULL;
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc = init_sodium(err);
	if (rc)
		return rc;
	rc = register_check(meta, &uris, &name, err);
	if (rc)
		return rc;
	randombytes_buf(raw, sizeof raw);
	memcpy(id, "alc-", 4);
	sodium_bin2hex(id + 4, sizeof id - 4, raw, sizeof raw);
	clock_format(clock_now(), now, sizeof now);
	text = json_dumps(uris, JSON_COMPACT);
	if (!text) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_begin(s, err);
	if (rc)
		goto out;
	rc = prune(s, err);
	if (!rc)
		rc = store_prepare(s,
				   "INSERT INTO oauth_client(id,name,redirect_uris,created_at) "
				   "VALUES(?1,?2,?3,?4)",
				   &st, err);
	if (!rc) {
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, name);
		store_bind_text(st, 3, text);
		store_bind_text(st, 4, now);
		rc = store_step(st, err);
		store_done(st);
		rc = rc == STORE_DONE ? 0 : rc;
	}
	if (!rc)
		rc = store_commit(s, err);
	if (rc) {
		store_rollback(s);
		goto out;
	}
	*out = json_pack("{s:s,s:I,s:O,s:s,s:s,s:[ss],s:[s]}", "client_id", id,
			 "client_id_issued_at", (json_int_t)clock_now(), "redirect_uris", uris,
			 "client_name", name, "token_endpoint_auth_method", "none", "grant_types",
			 "authorization_code", "refresh_token", "response_types", "code");
	if (!*out)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
out:
	free(text);
	json_decref(uris);
	return rc;
}

int oauth_client_check(struct store *s, const char *client_id, const char *redirect_uri,
		       char *client_name, size_t len, struct err *err)
{
	struct store_stmt *st;
	json_t *uris = NULL, *v;
	size_t i;
	int rc, found = 0;

	if (client_name && len)
		client_name[0] = '\0';
	if (!client_id || !*client_id)
		return err_set(err, AIRLOCK_EDENIED, "missing client_id");
	if (!redirect_uri || !*redirect_uri)
		return err_set(err, AIRLOCK_EDENIED, "missing redirect_uri");
	rc = store_prepare(s, "SELECT name,redirect_uris FROM oauth_client WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, client_id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		if (client_name)
			(void)snprintf(client_name, len, "%s", store_col_text(st, 0)); /* shown */
		uris = json_loads(store_col_text(st, 1), 0, NULL);
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (rc != STORE_ROW)
		return err_set(err, AIRLOCK_EDENIED,
			       "unknown client_id (register at /oauth/register)");
	/* exact string match: no prefix, no normalisation (OAuth 2.1 2.3.1) */
	json_array_foreach(uris, i, v) if (json_is_string(v) &&
					   !strcmp(json_string_value(v), redirect_uri)) found = 1;
	json_decref(uris);
	if (!found)
		return err_set(err, AIRLOCK_EDENIED,
			       "redirect_uri is not one this client registered (exact match)");
	return 0;
}

/* 1 when resource names this server: base, base/mcp/read or base/mcp/write;
 * connector gets "read", "write" or "" (any). */
static int resource_of(const char *resource, const char *base, const char **connector)
{
	size_t n = strlen(base);

	*connector = "";
	if (strncmp(resource, base, n))
		return 0;
	if (!strcmp(resource + n, "") || !strcmp(resource + n, "/"))
		return 1;
	if (!strcmp(resource + n, "/mcp/read"))
		*connector = "read";
	else if (!strcmp(resource + n, "/mcp/write"))
		*connector = "write";
	else
		return 0;
	return 1;
}

static int challenge_ok(const char *c)
{
	/* base64url(SHA-256) without padding: 43 characters */
	return c && strlen(c) == 43 &&
	       strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43;
}

int oauth_request_check(const struct oauth_request *rq, const char *base, const char **oerr,
			struct err *err)
{
	const char *conn;

	*oerr = "invalid_request";
	if (!rq->response_type || strcmp(rq->response_type, "code")) {
		*oerr = "unsupported_response_type";
		return err_set(err, AIRLOCK_EINVAL, "response_type must be code");
	}
	if (!rq->code_challenge)
		return err_set(err, AIRLOCK_EINVAL, "PKCE is required: send code_challenge");
	if (!rq->code_challenge_method || strcmp(rq->code_challenge_method, "S256"))
		return err_set(err, AIRLOCK_EINVAL, "code_challenge_method must be S256");
	if (!challenge_ok(rq->code_challenge))
		return err_set(
		    err, AIRLOCK_EINVAL,
		    "code_challenge must be base64url(SHA-256(verifier)), 43 characters");
	if (rq->state && strlen(rq->state) > 512)
		return err_set(err, AIRLOCK_EINVAL, "state is longer than 512 bytes");
	if (rq->scope && strlen(rq->scope) > 200)
		return err_set(err, AIRLOCK_EINVAL, "scope is longer than 200 bytes");
	if (rq->resource && !resource_of(rq->resource, base, &conn)) {
		*oerr = "invalid_target";
		return err_set(err, AIRLOCK_EINVAL, "resource must be %s/mcp/read or %s/mcp/write",
			       base, base);
	}
	return 0;
}

int oauth_code_issue(struct store *s, const struct oauth_request *rq, const char *base,
		     const char *connector, const char *agent, const char *granted_by, char *code,
		     size_t len, struct err *err)
{
	char hash[HASH_HEX], now[CLOCK_TEXT_LEN], exp[CLOCK_TEXT_LEN], resource[OAUTH_URI_MAX + 1];
	char summary[300];
	const char *oerr, *want = "";
	struct store_stmt *st;
	json_t *args;
	int rc;

	if (len < OAUTH_TOKEN_MAX)
		return err_set(err, AIRLOCK_EINVAL, "code buffer too small");
	if (!connector || (strcmp(connector, "read") && strcmp(connector, "write")))
		return err_set(err, AIRLOCK_EINVAL, "connector must be read or write");
	rc = init_sodium(err);
	if (!rc)
		rc = oauth_client_check(s, rq->client_id, rq->redirect_uri, NULL, 0, err);
	if (!rc)
		rc = oauth_request_check(rq, base, &oerr, err);
	if (rc)
		return rc;
	if (rq->resource)
		resource_of(rq->resource, base, &want);
	if (*want && strcmp(want, connector))
		return err_set(err, AIRLOCK_EINVAL,
			       "the client asked for the %s connector (resource %s), not %s", want,
			       rq->resource, connector);
	if ((size_t)snprintf(resource, sizeof resource, "%s/mcp/%s", base, connector) >=
	    sizeof resource)
		return err_set(err, AIRLOCK_EINVAL, "the server's URL is too long");
	secret_new("alc_", code, len);
	secret_hash(code, hash);
	clock_format(clock_now(), now, sizeof now);
	at_offset(OAUTH_CODE_SECONDS, exp, sizeof exp);
	rc = store_begin(s, err);
	if (rc)
		goto out;
	rc = store_prepare(
	    s,
	    "INSERT INTO oauth_code(code_hash,client_id,redirect_uri,challenge,connector,"
	    "agent,resource,scope,granted_by,created_at,expires_at) "
	    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
	    &st, err);
	if (!rc) {
		store_bind_text(st, 1, hash);
		store_bind_text(st, 2, rq->client_id);
		store_bind_text(st, 3, rq->redirect_uri);
		store_bind_text(st, 4, rq->code_challenge);
		store_bind_text(st, 5, connector);
		store_bind_text(st, 6, agent);
		store_bind_text(st, 7, resource);
		if (rq->scope)
			store_bind_text(st, 8, rq->scope);
		else
			store_bind_null(st, 8);
		store_bind_text(st, 9, granted_by);
		store_bind_text(st, 10, now);
		store_bind_text(st, 11, exp);
		rc = store_step(st, err);
		store_done(st);
		rc = rc == STORE_DONE ? 0 : rc;
	}
	if (!rc) {
		args = json_pack("{s:s,s:s,s:s,s:s,s:s}", "client_id", rq->client_id,
				 "redirect_uri", rq->redirect_uri, "connector", connector, "agent",
				 agent, "resource", resource);
		(void)snprintf(summary, sizeof summary,
			       "consent: client %.40s may act as agent:%.64s on the %s connector",
			       rq->client_id, agent, connector);
		rc = args ? log_action(s, granted_by, "console", "oauth consent", args, "granted",
				       summary, err)
			  : err_set(err, AIRLOCK_ENOMEM, "out of memory");
		json_decref(args);
	}
	if (!rc)
		rc = store_commit(s, err);
	if (rc)
		store_rollback(s);
out:
	if (rc)
		sodium_memzero(code, len);
	return rc;
}

/* Inserts an access and a refresh token of grant into out (in the
 * caller's transaction). */
static int tokens_mint(struct store *s, const char *grant, struct oauth_tokens *out,
		       struct err *err)
{
	char hash[HASH_HEX], now[CLOCK_TEXT_LEN], exp[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc, i;

	secret_new(OAUTH_ACCESS_PREFIX, out->access, sizeof out->access);
	secret_new("alr_", out->refresh, sizeof out->refresh);
	out->expires_in = OAUTH_ACCESS_SECONDS;
	clock_format(clock_now(), now, sizeof now);
	for (i = 0; i < 2; i++) {
		secret_hash(i ? out->refresh : out->access, hash);
		at_offset(i ? OAUTH_REFRESH_SECONDS : OAUTH_ACCESS_SECONDS, exp, sizeof exp);
		rc = store_prepare(s,
				   "INSERT INTO oauth_token(token_hash,grant_id,kind,created_at,"
				   "expires_at) VALUES(?1,?2,?3,?4,?5)",
				   &st, err);
		if (rc)
			return rc;
		store_bind_text(st, 1, hash);
		store_bind_text(st, 2, grant);
		store_bind_text(st, 3, i ? "refresh" : "access");
		store_bind_text(st, 4, now);
		store_bind_text(st, 5, exp);
		rc = store_step(st, err);
		store_done(st);
		if (rc != STORE_DONE)
			return rc;
	}
	return 0;
}

int oauth_grant_revoke(struct store *s, const char *grant_id, const char *why, struct err *err)
{
	struct store_stmt *st;
	char now[CLOCK_TEXT_LEN];
	int rc, found = 0, revoked = 0;

	rc = store_prepare(s, "SELECT revoked_at FROM oauth_grant WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, grant_id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		found = 1;
		revoked = !store_col_is_null(st, 0);
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (!found)
		return err_set(err, AIRLOCK_ENOTFOUND, "no grant with id '%.40s'", grant_id);
	if (revoked)
		return err_set(err, AIRLOCK_ESTATE, "grant %.40s is already revoked", grant_id);
	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s, "UPDATE oauth_grant SET revoked_at=?2, revoked_why=?3 WHERE id=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, grant_id);
	store_bind_text(st, 2, now);
	store_bind_text(st, 3, why);
	rc = store_step(st, err);
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

/* Revokes grant (when live) and logs why, as its own transaction: used
 * when a replayed code or a reused refresh token gives a thief away. */
static void revoke_family(struct store *s, const char *grant, const char *agent, const char *why)
{
	struct err e2 = {0};
	char principal[96], summary[200];
	json_t *args;

	if (store_begin(s, &e2))
		return;
	if (oauth_grant_revoke(s, grant, why, &e2)) {
		store_rollback(s);
		return;
	}
	(void)snprintf(principal, sizeof principal, "agent:%s", agent);
	(void)snprintf(summary, sizeof summary, "grant %s revoked: %s", grant, why);
	args = json_pack("{s:s,s:s}", "grant", grant, "reason", why);
	if (!args ||
	    log_action(s, principal, "oauth", "oauth revoke", args, "revoked", summary, &e2) ||
	    store_commit(s, &e2))
		store_rollback(s);
	json_decref(args);
}

static int pkce_ok(const char *verifier, const char *challenge)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char b64[64];
	size_t n = verifier ? strlen(verifier) : 0;

	if (n < 43 || n > 128 ||
	    strspn(verifier,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != n)
		return 0;
	crypto_hash_sha256(h, (const unsigned char *)verifier, n);
	sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return strlen(challenge) == strlen(b64) && sodium_memcmp(b64, challenge, strlen(b64)) == 0;
}

/* A resource named at the token endpoint must be the grant's, or the
 * server's own URL (a client that found the root metadata). */
static int resource_matches(const char *asked, const char *bound)
{
	size_t n;

	if (!asked || !strcmp(asked, bound))
		return 1;
	n = strlen(asked);
	while (n && asked[n - 1] == '/')
		n--;
	return n && !strncmp(asked, bound, n) &&
	       (!strcmp(bound + n, "/mcp/read") || !strcmp(bound + n, "/mcp/write"));
}

struct code_row {
	char client[48], redirect[OAUTH_URI_MAX + 1], challenge[64], connector[8], agent[72];
	char resource[OAUTH_URI_MAX + 1], scope[204], granted_by[96], expires[CLOCK_TEXT_LEN];
	char grant[24];
	int used;
};

static int code_load(struct store *s, const char *hash, struct code_row *r, struct err *err)
{
	struct store_stmt *st;
	int rc, bad = 0;

	rc = store_prepare(s,
			   "SELECT client_id,redirect_uri,challenge,connector,agent,resource,scope,"
			   "granted_by,expires_at,used_at IS NOT NULL,grant_id FROM oauth_code "
			   "WHERE code_hash=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, hash);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		bad |= field(r->client, sizeof r->client, store_col_text(st, 0));
		bad |= field(r->redirect, sizeof r->redirect, store_col_text(st, 1));
		bad |= field(r->challenge, sizeof r->challenge, store_col_text(st, 2));
		bad |= field(r->connector, sizeof r->connector, store_col_text(st, 3));
		bad |= field(r->agent, sizeof r->agent, store_col_text(st, 4));
		bad |= field(r->resource, sizeof r->resource, store_col_text(st, 5));
		bad |= field(r->scope, sizeof r->scope,
			     store_col_is_null(st, 6) ? "" : store_col_text(st, 6));
		bad |= field(r->granted_by, sizeof r->granted_by, store_col_text(st, 7));
		bad |= field(r->expires, sizeof r->expires, store_col_text(st, 8));
		r->used = (int)store_col_int(st, 9);
		bad |= field(r->grant, sizeof r->grant,
			     store_col_is_null(st, 10) ? "" : store_col_text(st, 10));
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (bad)
		return err_set(err, AIRLOCK_ECORRUPT, "a stored authorization code does not fit");
	return rc == STORE_ROW ? 0 : AIRLOCK_ENOTFOUND;
}

/* Makes the grant of a fresh code and its first tokens (in a transaction
 * the caller opened). */
static int grant_create(struct store *s, const char *hash, const struct code_row *r,
			struct oauth_tokens *out, struct err *err)
{
	unsigned char raw[5];
	char now[CLOCK_TEXT_LEN], principal[96], summary[300];
	struct store_stmt *st;
	json_t *args;
	int rc;

	randombytes_buf(raw, sizeof raw);
	memcpy(out->grant, OAUTH_GRANT_PREFIX, sizeof OAUTH_GRANT_PREFIX - 1);
	sodium_bin2hex(out->grant + sizeof OAUTH_GRANT_PREFIX - 1,
		       sizeof out->grant - (sizeof OAUTH_GRANT_PREFIX - 1), raw, sizeof raw);
	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(s, "UPDATE oauth_code SET used_at=?2, grant_id=?3 WHERE code_hash=?1",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, hash);
	store_bind_text(st, 2, now);
	store_bind_text(st, 3, out->grant);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	rc = store_prepare(s,
			   "INSERT INTO oauth_grant(id,client_id,connector,agent,resource,scope,"
			   "granted_by,created_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, out->grant);
	store_bind_text(st, 2, r->client);
	store_bind_text(st, 3, r->connector);
	store_bind_text(st, 4, r->agent);
	store_bind_text(st, 5, r->resource);
	if (*r->scope)
		store_bind_text(st, 6, r->scope);
	else
		store_bind_null(st, 6);
	store_bind_text(st, 7, r->granted_by);
	store_bind_text(st, 8, now);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	rc = tokens_mint(s, out->grant, out, err);
	if (rc)
		return rc;
	(void)field(out->connector, sizeof out->connector, r->connector); /* same sizes */
	(void)field(out->agent, sizeof out->agent, r->agent);		  /* same sizes */
	(void)field(out->resource, sizeof out->resource, r->resource);	  /* same sizes */
	(void)snprintf(principal, sizeof principal, "agent:%s", r->agent);
	(void)snprintf(summary, sizeof summary,
		       "grant %s: client %.40s as agent:%.64s on the %s connector", out->grant,
		       r->client, r->agent, r->connector);
	args = json_pack("{s:s,s:s,s:s,s:s}", "grant", out->grant, "client_id", r->client,
			 "connector", r->connector, "resource", r->resource);
	rc = args ? log_action(s, principal, "oauth", "oauth grant", args, "granted", summary, err)
		  : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	json_decref(args);
	return rc;
}

int oauth_code_exchange(struct store *s, const char *code, const char *client_id,
			const char *redirect_uri, const char *verifier, const char *resource,
			struct oauth_tokens *out, const char **oerr, struct err *err)
{
	struct code_row r = {0};
	char hash[HASH_HEX], now[CLOCK_TEXT_LEN];
	int rc;

	memset(out, 0, sizeof *out);
	*oerr = "invalid_request";
	if (!code || !client_id || !redirect_uri || !verifier)
		return err_set(err, AIRLOCK_EINVAL,
			       "code, client_id, redirect_uri and code_verifier are required");
	*oerr = "invalid_grant";
	if (strlen(code) >= OAUTH_TOKEN_MAX)
		return err_set(err, AIRLOCK_EDENIED, "unknown authorization code");
	rc = init_sodium(err);
	if (rc)
		return rc;
	secret_hash(code, hash);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = code_load(s, hash, &r, err);
	if (rc == AIRLOCK_ENOTFOUND)
		rc = err_set(err, AIRLOCK_EDENIED, "unknown authorization code");
	if (rc)
		goto fail;
	if (r.used) {
		store_rollback(s);
		if (*r.grant)
			revoke_family(s, r.grant, r.agent, "authorization code replayed");
		return err_set(err, AIRLOCK_EDENIED,
			       "authorization code already used: its grant is revoked");
	}
	clock_format(clock_now(), now, sizeof now);
	if (strcmp(now, r.expires) > 0) {
		rc = err_set(err, AIRLOCK_EDENIED, "authorization code expired");
		goto fail;
	}
	if (strcmp(client_id, r.client)) {
		rc = err_set(err, AIRLOCK_EDENIED, "the code was issued to another client");
		goto fail;
	}
	if (strcmp(redirect_uri, r.redirect)) {
		rc = err_set(err, AIRLOCK_EDENIED,
			     "redirect_uri differs from the authorization request's");
		goto fail;
	}
	if (!pkce_ok(verifier, r.challenge)) {
		rc = err_set(err, AIRLOCK_EDENIED,
			     "code_verifier does not match the code_challenge");
		goto fail;
	}
	if (!resource_matches(resource, r.resource)) {
		*oerr = "invalid_target";
		rc = err_set(err, AIRLOCK_EINVAL, "the consent was for resource %s", r.resource);
		goto fail;
	}
	rc = grant_create(s, hash, &r, out, err);
	if (!rc)
		rc = store_commit(s, err);
	if (!rc)
		return 0;
fail:
	store_rollback(s);
	memset(out, 0, sizeof *out);
	return rc;
}

int oauth_refresh(struct store *s, const char *refresh, const char *client_id, const char *resource,
		  struct oauth_tokens *out, const char **oerr, struct err *err)
{
	char hash[HASH_HEX], now[CLOCK_TEXT_LEN], principal[96], summary[200];
	char grant[24] = "", client[48] = "", connector[8] = "", agent[72] = "",
	     exp[CLOCK_TEXT_LEN];
	char bound[OAUTH_URI_MAX + 1] = "";
	int used = 0, revoked = 0, rc, bad = 0;
	struct store_stmt *st;
	json_t *args;

	*oerr = "invalid_request";
	if (!refresh || !client_id)
		return err_set(err, AIRLOCK_EINVAL, "refresh_token and client_id are required");
	*oerr = "invalid_grant";
	if (strlen(refresh) >= OAUTH_TOKEN_MAX)
		return err_set(err, AIRLOCK_EDENIED, "unknown refresh token");
	rc = init_sodium(err);
	if (rc)
		return rc;
	secret_hash(refresh, hash);
	memset(out, 0, sizeof *out); /* after: refresh may live in *out */
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = store_prepare(
	    s,
	    "SELECT t.grant_id,t.used_at IS NOT NULL,t.expires_at,g.client_id,"
	    "g.connector,g.agent,g.resource,g.revoked_at IS NOT NULL FROM oauth_token t "
	    "JOIN oauth_grant g ON g.id=t.grant_id WHERE t.token_hash=?1 AND "
	    "t.kind='refresh'",
	    &st, err);
	if (rc)
		goto fail;
	store_bind_text(st, 1, hash);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		bad |= field(grant, sizeof grant, store_col_text(st, 0));
		used = (int)store_col_int(st, 1);
		bad |= field(exp, sizeof exp, store_col_text(st, 2));
		bad |= field(client, sizeof client, store_col_text(st, 3));
		bad |= field(connector, sizeof connector, store_col_text(st, 4));
		bad |= field(agent, sizeof agent, store_col_text(st, 5));
		bad |= field(bound, sizeof bound, store_col_text(st, 6));
		revoked = (int)store_col_int(st, 7);
	}
	store_done(st);
	if (rc < 0)
		goto fail;
	if (bad) {
		rc = err_set(err, AIRLOCK_ECORRUPT, "a stored grant does not fit");
		goto fail;
	}
	if (rc != STORE_ROW) {
		rc = err_set(err, AIRLOCK_EDENIED, "unknown refresh token");
		goto fail;
	}
	if (revoked) {
		rc = err_set(err, AIRLOCK_EDENIED, "the grant of this refresh token is revoked");
		goto fail;
	}
	if (strcmp(client, client_id)) {
		rc =
		    err_set(err, AIRLOCK_EDENIED, "the refresh token was issued to another client");
		goto fail;
	}
	if (used) {
		store_rollback(s);
		revoke_family(s, grant, agent, "refresh token reused");
		return err_set(err, AIRLOCK_EDENIED,
			       "refresh token already used: every token of its grant is revoked");
	}
	clock_format(clock_now(), now, sizeof now);
	if (strcmp(now, exp) > 0) {
		rc = err_set(err, AIRLOCK_EDENIED, "refresh token expired");
		goto fail;
	}
	if (!resource_matches(resource, bound)) {
		*oerr = "invalid_target";
		rc = err_set(err, AIRLOCK_EINVAL, "this grant is for resource %s", bound);
		goto fail;
	}
	rc = store_prepare(s, "UPDATE oauth_token SET used_at=?2 WHERE token_hash=?1", &st, err);
	if (rc)
		goto fail;
	store_bind_text(st, 1, hash);
	store_bind_text(st, 2, now);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		goto fail;
	/* a client refreshing every 15 minutes adds two rows each time: the
	 * grant's expired ones go (a spent refresh token is kept while it could
	 * still be presented, so its reuse is still caught) */
	rc = store_prepare(s, "DELETE FROM oauth_token WHERE grant_id=?1 AND expires_at < ?2", &st,
			   err);
	if (rc)
		goto fail;
	store_bind_text(st, 1, grant);
	store_bind_text(st, 2, now);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		goto fail;
	(void)field(out->grant, sizeof out->grant, grant); /* same sizes */
	rc = tokens_mint(s, grant, out, err);
	if (rc)
		goto fail;
	(void)field(out->connector, sizeof out->connector, connector); /* same sizes */
	(void)field(out->agent, sizeof out->agent, agent);	       /* same sizes */
	(void)field(out->resource, sizeof out->resource, bound);       /* same sizes */
	(void)snprintf(principal, sizeof principal, "agent:%s", agent);
	(void)snprintf(summary, sizeof summary, "grant %s refreshed (tokens rotated)", grant);
	args = json_pack("{s:s,s:s}", "grant", grant, "client_id", client);
	rc = args ? log_action(s, principal, "oauth", "oauth refresh", args, "refreshed", summary,
			       err)
		  : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	json_decref(args);
	if (!rc)
		rc = store_commit(s, err);
	if (!rc)
		return 0;
fail:
	store_rollback(s);
	memset(out, 0, sizeof *out);
	return rc;
}

int oauth_verify_access(struct store *s, const char *token, struct oauth_access *out,
			struct err *err)
{
	char hash[HASH_HEX], now[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc, ok = 0, bad = 0;

	memset(out, 0, sizeof *out);
	if (!token || strncmp(token, OAUTH_ACCESS_PREFIX, 4) || strlen(token) >= OAUTH_TOKEN_MAX)
		return err_set(err, AIRLOCK_EDENIED, "not an airlock access token");
	rc = init_sodium(err);
	if (rc)
		return rc;
	secret_hash(token, hash);
	clock_format(clock_now(), now, sizeof now);
	rc = store_prepare(
	    s,
	    "SELECT g.id,g.connector,g.agent,g.resource,t.expires_at FROM oauth_token t "
	    "JOIN oauth_grant g ON g.id=t.grant_id WHERE t.token_hash=?1 AND "
	    "t.kind='access' AND g.revoked_at IS NULL",
	    &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, hash);
	rc = store_step(st, err);
	if (rc == STORE_ROW && strcmp(now, store_col_text(st, 4)) <= 0) {
		ok = 1;
		bad |= field(out->grant, sizeof out->grant, store_col_text(st, 0));
		bad |= field(out->connector, sizeof out->connector, store_col_text(st, 1));
		bad |= field(out->agent, sizeof out->agent, store_col_text(st, 2));
		bad |= field(out->resource, sizeof out->resource, store_col_text(st, 3));
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (bad) {
		memset(out, 0, sizeof *out);
		return err_set(err, AIRLOCK_ECORRUPT, "a stored grant does not fit");
	}
	return ok ? 0 : err_set(err, AIRLOCK_EDENIED, "unknown, expired or revoked access token");
}

int oauth_revoke_token(struct store *s, const char *token, struct err *err)
{
	char hash[HASH_HEX], grant[24] = "", agent[72] = "";
	struct store_stmt *st;
	int rc, bad = 0;

	if (!token || strlen(token) >= OAUTH_TOKEN_MAX)
		return 0;
	rc = init_sodium(err);
	if (rc)
		return rc;
	secret_hash(token, hash);
	rc = store_prepare(s,
			   "SELECT g.id,g.agent FROM oauth_token t JOIN oauth_grant g ON "
			   "g.id=t.grant_id WHERE t.token_hash=?1 AND g.revoked_at IS NULL",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, hash);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		bad |= field(grant, sizeof grant, store_col_text(st, 0));
		bad |= field(agent, sizeof agent, store_col_text(st, 1));
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (bad)
		return err_set(err, AIRLOCK_ECORRUPT, "a stored grant does not fit");
	if (*grant)
		revoke_family(s, grant, agent, "revoked by the client (RFC 7009)");
	return 0;
}

static json_t *grant_row(struct store_stmt *st, void *ctx)
{
	(void)ctx;
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:s?,s:s?}", "id",
			 store_col_text(st, 0), "kind", "oauth", "connector", store_col_text(st, 1),
			 "agent", store_col_text(st, 2), "client_id", store_col_text(st, 3),
			 "client_name", store_col_text(st, 4), "resource", store_col_text(st, 5),
			 "created_at", store_col_text(st, 6), "created_by", store_col_text(st, 7),
			 "revoked_at", store_col_text(st, 8), "revoked_why", store_col_text(st, 9));
}

int oauth_grant_list(struct store *s, json_t **out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc =
	    store_prepare(s,
			  "SELECT g.id,g.connector,g.agent,g.client_id,c.name,g.resource,"
			  "g.created_at,g.granted_by,g.revoked_at,g.revoked_why FROM oauth_grant g "
			  "LEFT JOIN oauth_client c ON c.id=g.client_id "
			  "ORDER BY g.created_at DESC, g.id",
			  &st, err);
	if (rc)
		return rc;
	return store_collect(st, grant_row, NULL, out, err);
}
