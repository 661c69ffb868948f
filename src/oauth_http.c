/* oauth_http.c — the OAuth routes of airlock serve (see oauth_http.h). */
#include "oauth_http.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addrlimit.h"
#include "console_assets.h"
#include "oauth.h"
#include "store.h"

#define JSON_TYPE "application/json"
#define TEXT_TYPE "text/plain; charset=utf-8"
#define PRM_PATH "/.well-known/oauth-protected-resource"
#define FORM_MAX 1024 /* one form value */
/* the consent page is the console's (console/oauth.html): same headers */
#define CSP                                                                                        \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "        \
	"object-src 'none'"

/* Client registrations one address may make in a minute: registration is
 * open to anyone (RFC 7591) and each is a durable write, and only the
 * newest 2,000 clients without a grant are kept, so a flood from one
 * address would push out every client still waiting for consent. */
#define REGISTER_PER_MINUTE 20

struct oauth_http {
	struct store_pool *workers;
	char *public_url;
	struct addrlimit *registrations; /* per address, REGISTER_PER_MINUTE */
};

int oauth_http_base(const char *public_url, const struct http_request *req, char *out, size_t len)
{
	const char *host;
	size_t n;

	if (public_url) {
		n = strlen(public_url);
		while (n && public_url[n - 1] == '/')
			n--;
		if (n >= len)
			return -1;
		memcpy(out, public_url, n);
		out[n] = '\0';
		return 0;
	}
	host = http_header(req, "Host");
	if (!host || !*host ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
		strlen(host))
		return -1;
	return (size_t)snprintf(out, len, "%s://%s", http_is_tls(req) ? "https" : "http", host) <
		       len
		   ? 0
		   : -1;
}

static int url_encode_append(char **buf, size_t *n, size_t *cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t need = strlen(s) * 3 + 1;
	char *nb;

	if (*n + need > *cap) {
		size_t nc = (*n + need) * 2;

		nb = realloc(*buf, nc);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			(*buf)[(*n)++] = (char)c;
		} else {
			(*buf)[(*n)++] = '%';
			(*buf)[(*n)++] = hex[c >> 4];
			(*buf)[(*n)++] = hex[c & 15];
		}
	}
	(*buf)[*n] = '\0';
	return 0;
}

static int raw_append(char **buf, size_t *n, size_t *cap, const char *s)
{
	size_t l = strlen(s);
	char *nb;

	if (*n + l + 1 > *cap) {
		size_t nc = (*n + l + 1) * 2;

		nb = realloc(*buf, nc);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *n, s, l + 1);
	*n += l;
	return 0;
}

char *oauth_http_redirect_url(const char *redirect_uri, ...)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int first = !strchr(redirect_uri, '?'), bad;
	const char *k, *v;
	va_list ap;

	bad = raw_append(&buf, &n, &cap, redirect_uri);
	va_start(ap, redirect_uri);
	while (!bad && (k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (!v)
			continue;
		bad = raw_append(&buf, &n, &cap, first ? "?" : "&") ||
		      raw_append(&buf, &n, &cap, k) || raw_append(&buf, &n, &cap, "=") ||
		      url_encode_append(&buf, &n, &cap, v);
		first = 0;
	}
	va_end(ap);
	if (bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

void oauth_http_challenge(const char *public_url, const struct http_request *req,
			  const char *connector, int invalid, char *out, size_t len)
{
	char base[600];

	if (oauth_http_base(public_url, req, base, sizeof base)) {
		(void)snprintf(out, len, "Bearer realm=\"airlock\"%s",
			       invalid ? ", error=\"invalid_token\"" : "");
		return;
	}
	(void)snprintf(out, len,
		       "Bearer realm=\"airlock\", resource_metadata=\"%s" PRM_PATH "/mcp/%s\"%s",
		       base, connector, invalid ? ", error=\"invalid_token\"" : "");
}

int oauth_http_new(struct oauth_http **out, const char *db_path, const char *public_url,
		   struct err *err)
{
	struct oauth_http *o = calloc(1, sizeof *o);

	*out = NULL;
	if (!o)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	o->public_url = public_url ? strdup(public_url) : NULL;
	if (public_url && !o->public_url) {
		free(o);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (addrlimit_new(&o->registrations, REGISTER_PER_MINUTE, err) ||
	    store_pool_new(&o->workers, db_path, err)) {
		int rc = err->code;

		addrlimit_free(o->registrations);
		free(o->public_url);
		free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void oauth_http_free(struct oauth_http *o)
{
	if (!o)
		return;
	store_pool_free(o->workers);
	addrlimit_free(o->registrations);
	free(o->public_url);
	free(o);
}

/* ---- responses ---------------------------------------------------------- */

static void respond_json(struct http_response *res, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	http_add_header(res, "Cache-Control", "no-store");
	if (!text) {
		http_respond(res, 500, NULL, NULL);
		return;
	}
	http_respond_owned(res, status, JSON_TYPE, text, strlen(text));
}

static void oauth_error(struct http_response *res, int status, const char *code, const char *desc)
{
	respond_json(res, status,
		     json_pack("{s:s,s:s}", "error", code, "error_description", desc ? desc : ""));
}

/* 1 when the method is one of a comma-separated list; else a 405. */
static int method_ok(const struct http_request *req, struct http_response *res, const char *allow)
{
	const char *p = strstr(allow, req->method);
	size_t n = strlen(req->method);

	if (p && (p[n] == '\0' || p[n] == ',') && (p == allow || p[-1] == ' '))
		return 1;
	http_add_header(res, "Allow", allow);
	oauth_error(res, 405, "invalid_request", "method not allowed");
	return 0;
}

static int base_of(struct oauth_http *o, const struct http_request *req, struct http_response *res,
		   char *base, size_t len)
{
	if (oauth_http_base(o->public_url, req, base, len) == 0)
		return 0;
	oauth_error(res, 400, "invalid_request", "cannot tell this server's URL from the Host");
	return -1;
}

/* ---- metadata ----------------------------------------------------------- */

/* RFC 9728: what protects a connector. The path form names one connector;
 * the root form the server (clients that try it first get both URLs'
 * authorization server, which is the same). */
static void on_prm(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct oauth_http *o = ctx;
	const char *rest = req->path + strlen(PRM_PATH);
	char base[600], resource[700];

	if (!method_ok(req, res, "GET, HEAD") || base_of(o, req, res, base, sizeof base))
		return;
	if (*rest && strcmp(rest, "/mcp/read") && strcmp(rest, "/mcp/write") && strcmp(rest, "/")) {
		oauth_error(res, 404, "invalid_request",
			    "no protected resource there: /mcp/read and /mcp/write are");
		return;
	}
	/* base under 600 bytes, rest one of three short paths: nothing is cut */
	(void)snprintf(resource, sizeof resource, "%s%s", base, strcmp(rest, "/") ? rest : "");
	http_add_header(res, "Access-Control-Allow-Origin", "*");
	respond_json(res, 200,
		     json_pack("{s:s,s:[s],s:[s],s:s,s:s}", "resource", resource,
			       "authorization_servers", base, "bearer_methods_supported", "header",
			       "resource_name", "airlock", "resource_documentation",
			       "https://github.com/airlock (README: OAuth)"));
}

static void on_asm(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct oauth_http *o = ctx;
	char base[600], a[700], t[700], r[700], v[700];

	if (!method_ok(req, res, "GET, HEAD") || base_of(o, req, res, base, sizeof base))
		return;
	/* base is under 600 bytes, each buffer 700: no URL is cut */
	(void)snprintf(a, sizeof a, "%s/oauth/authorize", base);
	(void)snprintf(t, sizeof t, "%s/oauth/token", base);
	(void)snprintf(r, sizeof r, "%s/oauth/register", base);
	(void)snprintf(v, sizeof v, "%s/oauth/revoke", base);
	http_add_header(res, "Access-Control-Allow-Origin", "*");
	respond_json(res, 200,
		     json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s],s:[s],s:[ss],s:[s],s:[s],s:[s],s:b}",
			       "issuer", base, "authorization_endpoint", a, "token_endpoint", t,
			       "registration_endpoint", r, "revocation_endpoint", v,
			       "response_types_supported", "code", "response_modes_supported",
			       "query", "grant_types_supported", "authorization_code",
			       "refresh_token", "code_challenge_methods_supported", "S256",
			       "token_endpoint_auth_methods_supported", "none",
			       "revocation_endpoint_auth_methods_supported", "none",
			       "authorization_response_iss_parameter_supported", 1));
}

/* ---- registration ------------------------------------------------------- */

static void on_register(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct oauth_http *o = ctx;
	struct store_conn *w;
	struct err err = {0};
	json_t *meta, *out = NULL;
	char addr[64];

	if (!method_ok(req, res, "POST"))
		return;
	http_client_addr(req, addr, sizeof addr);
	if (!addrlimit_admit(o->registrations, addr)) {
		http_add_header(res, "Retry-After", "60");
		oauth_error(res, 429, "temporarily_unavailable",
			    "too many client registrations from this address: wait a minute and "
			    "try again");
		return;
	}
	meta = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
	if (!json_is_object(meta)) {
		json_decref(meta);
		oauth_error(res, 400, "invalid_client_metadata", "the body must be a JSON object");
		return;
	}
	w = store_pool_take(o->workers, &err);
	if (!w) {
		json_decref(meta);
		oauth_error(res, 500, "server_error", "airlock cannot open its database");
		return;
	}
	if (oauth_client_register(w->store, meta, &out, &err))
		oauth_error(res, err.code == AIRLOCK_EINVAL ? 400 : 500,
			    err.code != AIRLOCK_EINVAL	       ? "server_error"
			    : strstr(err.msg, "redirect_uris") ? "invalid_redirect_uri"
							       : "invalid_client_metadata",
			    err.msg);
	else
		respond_json(res, 201, out);
	json_decref(meta);
	store_pool_give(o->workers, w);
}

/* ---- authorization ------------------------------------------------------ */

static void plain_error(struct http_response *res, int status, const char *msg)
{
	char buf[1400];

	(void)snprintf(
	    buf, sizeof buf,
	    "airlock cannot start this sign-in: %.1000s.\nThe application that sent you here is "
	    "misconfigured; nothing was granted.\n",
	    msg);
	http_respond(res, status, TEXT_TYPE, buf);
}

/* The console's oauth.html (consent, grants). */
static void serve_page(struct http_response *res)
{
	int i;

	for (i = 0; i < console_asset_count; i++)
		if (!strcmp(console_assets[i].path, "/oauth.html")) {
			char *copy = malloc(console_assets[i].len + 1);

			if (!copy) {
				http_respond(res, 500, NULL, NULL);
				return;
			}
			memcpy(copy, console_assets[i].data, console_assets[i].len);
			http_respond_owned(res, 200, console_assets[i].content_type, copy,
					   console_assets[i].len);
			return;
		}
	http_respond(res, 500, TEXT_TYPE, "the consent page is missing from this build\n");
}

static void on_authorize(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct oauth_http *o = ctx;
	struct oauth_request rq = {0};
	struct store_conn *w;
	struct err err = {0};
	const char *oerr;
	char base[600], name[128];

	http_add_header(res, "Content-Security-Policy", CSP);
	http_add_header(res, "Referrer-Policy", "no-referrer");
	http_add_header(res, "X-Frame-Options", "DENY");
	/* consent is a person's, in a browser: an agent's bearer token has no
	 * business here (the console refuses it on every route too) */
	if (http_header(req, "Authorization")) {
		plain_error(res, 403,
			    "an Authorization header (an agent's token) is refused here: consent "
			    "is given by a person signed in to the console");
		return;
	}
	if (!method_ok(req, res, "GET, HEAD") || base_of(o, req, res, base, sizeof base))
		return;
	rq.response_type = http_query(req, "response_type");
	rq.client_id = http_query(req, "client_id");
	rq.redirect_uri = http_query(req, "redirect_uri");
	rq.state = http_query(req, "state");
	rq.code_challenge = http_query(req, "code_challenge");
	rq.code_challenge_method = http_query(req, "code_challenge_method");
	rq.resource = http_query(req, "resource");
	rq.scope = http_query(req, "scope");
	w = store_pool_take(o->workers, &err);
	if (!w) {
		plain_error(res, 500, "airlock cannot open its database");
		return;
	}
	/* Until client and redirect URI are known to belong together, an error
	 * is shown here: redirecting would make this an open redirector. */
	if (oauth_client_check(w->store, rq.client_id, rq.redirect_uri, name, sizeof name, &err)) {
		plain_error(res, err.code == AIRLOCK_EDENIED ? 400 : 500, err.msg);
		store_pool_give(o->workers, w);
		return;
	}
	store_pool_give(o->workers, w);
	if (oauth_request_check(&rq, base, &oerr, &err)) {
		char *url = oauth_http_redirect_url(rq.redirect_uri, "error", oerr,
						    "error_description", err.msg, "state", rq.state,
						    "iss", base, (const char *)NULL);

		if (!url) {
			http_respond(res, 500, NULL, NULL);
			return;
		}
		http_add_header(res, "Location", url);
		free(url);
		http_respond(res, 302, NULL, NULL);
		return;
	}
	/* The request is sound: the consent page (it reads the query itself,
	 * and the console's API checks everything again at consent). */
	serve_page(res);
}

/* /oauth/grants: the same page lists the grants (the console's API). */
static void on_grants_page(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	http_add_header(res, "Content-Security-Policy", CSP);
	http_add_header(res, "Referrer-Policy", "no-referrer");
	http_add_header(res, "X-Frame-Options", "DENY");
	if (http_header(req, "Authorization")) {
		plain_error(res, 403, "an Authorization header (an agent's token) is refused here");
		return;
	}
	if (method_ok(req, res, "GET, HEAD"))
		serve_page(res);
}

/* ---- token -------------------------------------------------------------- */

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* The decoded value of key in a form body; 1 found, 0 absent, -1 when too
 * long or given twice (RFC 6749 3.2: parameters must not repeat). */
static int form_get(const char *body, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key), o;
	const char *p = body;
	int found = 0;

	out[0] = '\0';
	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			if (found)
				return -1;
			found = 1;
			p += klen + 1;
			for (o = 0; *p && *p != '&'; p++) {
				int c = (unsigned char)*p;

				if (c == '+')
					c = ' ';
				else if (c == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
					c = hexval(p[1]) * 16 + hexval(p[2]);
					p += 2;
				}
				if (o + 1 >= len || c == 0)
					return -1;
				out[o++] = (char)c;
			}
			out[o] = '\0';
			continue;
		}
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return found;
}

struct token_form {
	char grant_type[40], code[OAUTH_TOKEN_MAX], client_id[64], redirect_uri[OAUTH_URI_MAX + 1];
	char verifier[160], refresh[OAUTH_TOKEN_MAX], resource[OAUTH_URI_MAX + 1];
	int has_resource;
};

static int token_form_read(const struct http_request *req, struct token_form *f, const char **bad)
{
	const char *ct = http_header(req, "Content-Type");
	const char *body = req->body ? req->body : "";
	struct {
		const char *key;
		char *out;
		size_t len;
	} fields[] = {
	    {"grant_type", f->grant_type, sizeof f->grant_type},
	    {"code", f->code, sizeof f->code},
	    {"client_id", f->client_id, sizeof f->client_id},
	    {"redirect_uri", f->redirect_uri, sizeof f->redirect_uri},
	    {"code_verifier", f->verifier, sizeof f->verifier},
	    {"refresh_token", f->refresh, sizeof f->refresh},
	    {"resource", f->resource, sizeof f->resource},
	};
	size_t i;
	int r;

	memset(f, 0, sizeof *f);
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
		*bad = "Content-Type must be application/x-www-form-urlencoded";
		return -1;
	}
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		r = form_get(body, fields[i].key, fields[i].out, fields[i].len);
		if (r < 0) {
			*bad = "a parameter is repeated, too long or holds a NUL";
			return -1;
		}
		if (i == 6)
			f->has_resource = r;
	}
	return 0;
}

static void tokens_answer(struct http_response *res, const struct oauth_tokens *t)
{
	respond_json(res, 200,
		     json_pack("{s:s,s:s,s:I,s:s,s:s}", "access_token", t->access, "token_type",
			       "Bearer", "expires_in", (json_int_t)t->expires_in, "refresh_token",
			       t->refresh, "scope",
			       !strcmp(t->connector, "write") ? "mcp:write" : "mcp:read"));
}

static void on_token(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct oauth_http *o = ctx;
	struct oauth_tokens t;
	struct token_form f;
	struct store_conn *w;
	struct err err = {0};
	const char *bad = NULL, *oerr = "invalid_request";
	int rc;

	if (!method_ok(req, res, "POST"))
		return;
	if (token_form_read(req, &f, &bad)) {
		oauth_error(res, 400, "invalid_request", bad);
		return;
	}
	if (strcmp(f.grant_type, "authorization_code") && strcmp(f.grant_type, "refresh_token")) {
		oauth_error(res, 400, "unsupported_grant_type",
			    "grant_type must be authorization_code or refresh_token");
		return;
	}
	w = store_pool_take(o->workers, &err);
	if (!w) {
		oauth_error(res, 500, "server_error", "airlock cannot open its database");
		return;
	}
	if (!strcmp(f.grant_type, "authorization_code"))
		rc = oauth_code_exchange(
		    w->store, *f.code ? f.code : NULL, *f.client_id ? f.client_id : NULL,
		    *f.redirect_uri ? f.redirect_uri : NULL, *f.verifier ? f.verifier : NULL,
		    f.has_resource ? f.resource : NULL, &t, &oerr, &err);
	else
		rc = oauth_refresh(w->store, *f.refresh ? f.refresh : NULL,
				   *f.client_id ? f.client_id : NULL,
				   f.has_resource ? f.resource : NULL, &t, &oerr, &err);
	store_pool_give(o->workers, w);
	if (rc == AIRLOCK_EDENIED || rc == AIRLOCK_EINVAL)
		oauth_error(res, 400, oerr, err.msg);
	else if (rc)
		oauth_error(res, 500, "server_error", err.msg);
	else
		tokens_answer(res, &t);
	memset(&t, 0, sizeof t);
	memset(&f, 0, sizeof f);
}

static void on_revoke(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct oauth_http *o = ctx;
	struct store_conn *w;
	struct err err = {0};
	char token[OAUTH_TOKEN_MAX];
	const char *ct = http_header(req, "Content-Type");

	if (!method_ok(req, res, "POST"))
		return;
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) ||
	    form_get(req->body ? req->body : "", "token", token, sizeof token) < 0) {
		oauth_error(res, 400, "invalid_request", "send token=... as a form");
		return;
	}
	w = store_pool_take(o->workers, &err);
	if (!w) {
		oauth_error(res, 500, "server_error", "airlock cannot open its database");
		return;
	}
	if (oauth_revoke_token(w->store, token, &err))
		oauth_error(res, 500, "server_error", err.msg);
	else
		http_respond(res, 200, NULL, NULL);
	store_pool_give(o->workers, w);
	memset(token, 0, sizeof token);
}

int oauth_http_routes(struct oauth_http *o, struct http_server *srv, struct err *err)
{
	if (http_route(srv, PRM_PATH, on_prm, o, err) ||
	    http_route(srv, PRM_PATH "/*", on_prm, o, err) ||
	    http_route(srv, "/.well-known/oauth-authorization-server", on_asm, o, err) ||
	    http_route(srv, "/oauth/register", on_register, o, err) ||
	    http_route(srv, "/oauth/authorize", on_authorize, o, err) ||
	    http_route(srv, "/oauth/grants", on_grants_page, o, err) ||
	    http_route(srv, "/oauth/token", on_token, o, err) ||
	    http_route(srv, "/oauth/revoke", on_revoke, o, err))
		return err->code;
	return 0;
}
