/* console_oauth.c — consent and grants in the console (/api/oauth/...):
 * the page /oauth/authorize serves asks here; an admin picks the connector
 * and the agent name and consents, and the answer is where to send the
 * browser (the client's redirect URI with the code). Grants are listed and
 * revoked here too.
 *
 *   GET  /api/oauth/request?<the authorization request>   what is asked
 *   POST /api/oauth/consent  {request..., connector, agent} admin only
 *   POST /api/oauth/deny     {request...}
 *   GET  /api/oauth/grants
 *   POST /api/oauth/grants/ID/revoke                        admin only */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "console_int.h"
#include "mcp.h"
#include "oauth.h"
#include "oauth_http.h"

#define REQ_FIELDS                                                                                 \
	X(response_type)                                                                           \
	X(client_id)                                                                               \
	X(redirect_uri)                                                                            \
	X(state)                                                                                   \
	X(code_challenge)                                                                          \
	X(code_challenge_method)                                                                   \
	X(resource)                                                                                \
	X(scope)

/* The authorization request from the query (GET) or the body (POST);
 * pointers borrow from req or body. */
static void request_read(struct console_req *r, json_t *body, struct oauth_request *rq)
{
	memset(rq, 0, sizeof *rq);
#define X(f) rq->f = body ? json_string_value(json_object_get(body, #f)) : http_query(r->req, #f);
	REQ_FIELDS
#undef X
}

/* Checks client, redirect URI and the rest; 0, or a 400 in r->res. */
static int request_ok(struct console_req *r, const struct oauth_request *rq, char *base,
		      size_t blen, char *name, size_t nlen)
{
	struct err err = {0};
	const char *oerr;

	if (oauth_http_base(r->public_url, r->req, base, blen)) {
		console_error(r->res, 400, "cannot tell this server's URL from the Host header");
		return -1;
	}
	if (oauth_client_check(r->s, rq->client_id, rq->redirect_uri, name, nlen, &err) ||
	    oauth_request_check(rq, base, &oerr, &err)) {
		console_fail(r->res, &err);
		return -1;
	}
	return 0;
}

static const char *connector_asked(const struct oauth_request *rq, const char *base)
{
	size_t n = strlen(base);

	if (!rq->resource || strncmp(rq->resource, base, n))
		return "";
	if (!strcmp(rq->resource + n, "/mcp/read"))
		return "read";
	if (!strcmp(rq->resource + n, "/mcp/write"))
		return "write";
	return "";
}

static void api_request(struct console_req *r)
{
	struct oauth_request rq;
	char base[600], name[128];

	if (!console_method(r, "GET"))
		return;
	request_read(r, NULL, &rq);
	if (request_ok(r, &rq, base, sizeof base, name, sizeof name))
		return;
	console_json(r->res, 200,
		     json_pack("{s:s,s:s,s:s,s:s,s:b}", "client_id", rq.client_id, "client_name",
			       name, "redirect_uri", rq.redirect_uri, "connector",
			       connector_asked(&rq, base), "can_consent",
			       reviewer_role_allows(r->who.role, REVIEWER_ADMIN)));
}

static void api_consent(struct console_req *r, int deny)
{
	struct oauth_request rq;
	struct err err = {0};
	char base[600], name[128], code[OAUTH_TOKEN_MAX], *url;
	const char *connector, *agent;
	json_t *body;

	if (!console_method(r, "POST") || (!deny && !console_need(r, REVIEWER_ADMIN)))
		return;
	body = console_body(r);
	if (!body)
		return;
	request_read(r, body, &rq);
	if (request_ok(r, &rq, base, sizeof base, name, sizeof name))
		goto out;
	if (deny) {
		url = oauth_http_redirect_url(rq.redirect_uri, "error", "access_denied",
					      "error_description", "the administrator declined",
					      "state", rq.state, "iss", base, (const char *)NULL);
		console_json(r->res, 200, url ? json_pack("{s:s}", "redirect", url) : NULL);
		free(url);
		goto out;
	}
	connector = json_string_value(json_object_get(body, "connector"));
	agent = json_string_value(json_object_get(body, "agent"));
	if (!connector || (strcmp(connector, "read") && strcmp(connector, "write"))) {
		console_error(r->res, 400, "connector must be read or write");
		goto out;
	}
	if (!agent || !mcp_agent_valid(agent)) {
		console_error(r->res, 400,
			      "agent: 1 to 64 letters, digits, '.', '_' or '-' (the name the "
			      "log will show for this client's calls)");
		goto out;
	}
	if (oauth_code_issue(r->s, &rq, base, connector, agent, r->who.principal, code, sizeof code,
			     &err)) {
		console_fail(r->res, &err);
		goto out;
	}
	url = oauth_http_redirect_url(rq.redirect_uri, "code", code, "state", rq.state, "iss", base,
				      (const char *)NULL);
	console_json(r->res, 200, url ? json_pack("{s:s}", "redirect", url) : NULL);
	free(url);
out:
	memset(code, 0, sizeof code);
	json_decref(body);
}

static void api_grants(struct console_req *r, const char *rest)
{
	struct err err = {0};
	char id[32], summary[120];
	const char *slash;
	json_t *rows, *args;
	struct audit_entry e = {0};

	if (!*rest) {
		if (!console_method(r, "GET"))
			return;
		if (oauth_grant_list(r->s, &rows, &err))
			console_fail(r->res, &err);
		else
			console_json(r->res, 200, json_pack("{s:o}", "grants", rows));
		return;
	}
	slash = strchr(rest, '/');
	if (!slash || strcmp(slash, "/revoke") || (size_t)(slash - rest) >= sizeof id) {
		console_error(r->res, 404, "no API at /api/oauth/grants/%.60s", rest);
		return;
	}
	if (!console_method(r, "POST") || !console_need(r, REVIEWER_ADMIN))
		return;
	memcpy(id, rest, (size_t)(slash - rest));
	id[slash - rest] = '\0';
	if (store_begin(r->s, &err)) {
		console_fail(r->res, &err);
		return;
	}
	args = json_pack("{s:s}", "grant", id);
	(void)snprintf(summary, sizeof summary, "grant %s revoked in the console", id);
	e.principal = r->who.principal;
	e.surface = "console";
	e.tool = "oauth revoke";
	e.args = args;
	e.decision = "revoked";
	e.summary = summary;
	e.record_ids = json_array();
	if (oauth_grant_revoke(r->s, id, "revoked in the console", &err) ||
	    audit_append(r->s, &e, NULL, &err) || store_commit(r->s, &err)) {
		store_rollback(r->s);
		console_fail(r->res, &err);
	} else {
		console_json(r->res, 200, json_pack("{s:s,s:b}", "id", id, "revoked", 1));
	}
	json_decref(args);
	json_decref(e.record_ids);
}

void console_api_oauth(struct console_req *r, const char *rest)
{
	if (!strcmp(rest, "request"))
		api_request(r);
	else if (!strcmp(rest, "consent"))
		api_consent(r, 0);
	else if (!strcmp(rest, "deny"))
		api_consent(r, 1);
	else if (!strcmp(rest, "grants"))
		api_grants(r, "");
	else if (!strncmp(rest, "grants/", 7))
		api_grants(r, rest + 7);
	else
		console_error(r->res, 404, "no API at /api/oauth/%.60s", rest);
}
