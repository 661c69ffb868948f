/* oauth_http.h — the OAuth routes of airlock serve (the MCP authorization
 * spec, 2025-11-25), on top of http.h and oauth.h:
 *
 *   /.well-known/oauth-protected-resource[/mcp/read|/mcp/write]  RFC 9728
 *   /.well-known/oauth-authorization-server                      RFC 8414
 *   /oauth/register   dynamic client registration                RFC 7591
 *   /oauth/authorize  checks the request, then the consent page (the
 *                     console's; an admin signs in and consents there)
 *   /oauth/grants     the grants given (the same page), revocable by an admin
 *   /oauth/token      authorization_code (PKCE S256) and refresh_token
 *   /oauth/revoke     RFC 7009
 *
 * Owns: those routes and their per-worker database connections.
 *
 * Never: sends a browser to a redirect URI that the client did not
 * register exactly; issues a code itself (only the console's consent does,
 * for a signed-in admin); answers with anything cacheable.
 *
 * oauth_http_free() must run after the HTTP server stopped. */
#ifndef AIRLOCK_OAUTH_HTTP_H
#define AIRLOCK_OAUTH_HTTP_H

#include "err.h"
#include "http.h"

struct oauth_http;

/* The server's URL as clients see it: public_url when given (behind a
 * proxy), else http://HOST (https:// over TLS) from the request (http.c let only the served
 * address through). No '/' at the end; -1 when it does not fit or the Host
 * holds characters a URL cannot. */
int oauth_http_base(const char *public_url, const struct http_request *req, char *out, size_t len);

/* redirect_uri with "?k=v" (or "&k=v" when it has a query) for each
 * non-NULL value of the NULL-terminated key/value list, URL-encoded;
 * malloc'd, NULL when out of memory. */
char *oauth_http_redirect_url(const char *redirect_uri, ...) __attribute__((sentinel));

/* The WWW-Authenticate value of a 401 on /mcp/CONNECTOR ("read", "write"):
 * Bearer with resource_metadata pointing at the connector's metadata, and
 * error="invalid_token" when invalid is set. */
void oauth_http_challenge(const char *public_url, const struct http_request *req,
			  const char *connector, int invalid, char *out, size_t len);

int oauth_http_new(struct oauth_http **out, const char *db_path, const char *public_url,
		   struct err *err);
int oauth_http_routes(struct oauth_http *o, struct http_server *srv, struct err *err);
void oauth_http_free(struct oauth_http *o);

#endif
