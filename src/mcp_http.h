/* mcp_http.h — MCP Streamable HTTP: the /mcp/read and /mcp/write routes of
 * airlock serve, on top of http.h and mcp.h.
 *
 * Owns: HTTP sessions (Mcp-Session-Id, cryptographically random, bounded in
 * number per token and in all, ended after an idle time; each eviction and
 * expiry in the action log, one entry per token and burst: tool
 * "session_limit"), bearer-token checks per connector, the per-worker
 * database connections, and the mapping of JSON-RPC outcomes to HTTP status
 * codes (202 for notifications, 400/404 for session problems, 405 for GET,
 * 406 for a wrong Accept, 415 for a wrong Content-Type).
 *
 * Bearer tokens are static (token.h) or OAuth access tokens (oauth.h,
 * "alo_..."), whose audience must be this connector's URL. A 401 names the
 * connector's protected-resource metadata (RFC 9728) in WWW-Authenticate.
 *
 * Never: lets a token of one connector use the other; lets a session be
 * used under another token's agent; serves without a token unless the
 * operator chose --no-auth on a loopback address.
 *
 * mcp_http_free() must run after the HTTP server stopped (no handler runs). */
#ifndef AIRLOCK_MCP_HTTP_H
#define AIRLOCK_MCP_HTTP_H

#include "err.h"
#include "http.h"

struct mcp_http;

struct policy;

struct mcp_http_config {
	const char *db_path;
	int no_auth;                     /* no tokens: every request acts as agent */
	const char *agent;               /* the agent with no_auth */
	const char *instruction_version; /* default for write calls; may be NULL */
	unsigned max_sessions;           /* in all; 0 = 10000 */
	unsigned sessions_per_token;     /* 0 = 100; a new one evicts the token's
					    least recently used */
	unsigned idle_seconds;           /* 0 = 1800 */
	const struct policy *policy;     /* borrowed; the gate's policy (NULL blocks all) */
	const char *public_url;          /* the server's URL behind a proxy, for OAuth's
					    resource (audience) and metadata; NULL = from
					    the Host header */
};

int mcp_http_new(struct mcp_http **out, const struct mcp_http_config *cfg, struct err *err);
/* Adds /mcp/read and /mcp/write to the server. */
int mcp_http_routes(struct mcp_http *m, struct http_server *srv, struct err *err);
void mcp_http_free(struct mcp_http *m);

#endif
