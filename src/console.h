/* console.h — the reviewer's web console inside `airlock serve`: the page
 * (HTML, CSS and JavaScript embedded in the binary at build time), sign-in,
 * and the JSON API under /api/ that the page and scripts use.
 *
 * Owns: the console's routes on the HTTP server (/, /login, /logout, everything under /api/,
 * /metrics and the assets), the sign-in thread (password checks one at a
 * time, off the request threads) and the count of sign-in attempts per
 * address, session cookies (HttpOnly, SameSite=Strict), the CSRF check on every state-changing request, role checks, the mapping of
 * airlock's error codes to HTTP statuses, and its per-worker database
 * connections.
 *
 * Never: decides or changes anything itself: every verb is review.h's (the
 * same code path as the CLI's), every read a module's query; lets a request
 * carrying an Authorization header (an agent's token) in; puts book text
 * into HTML (the page renders it as text; the API returns JSON; the pages
 * "/" and "/b/ID" carry their first API answers as that same JSON in
 * <script type="application/json"> data blocks, never run, every '<'
 * written \u003c so that no text can end a block).
 *
 * console_free() must run after the HTTP server stopped (no handler runs). */
#ifndef AIRLOCK_CONSOLE_H
#define AIRLOCK_CONSOLE_H

#include "err.h"
#include "http.h"

struct console;
struct policy;

struct console_config {
	const char *db_path;
	const struct policy *policy; /* borrowed; may be NULL (no relay, no audience rules) */
	int secure_cookie;	     /* add Secure to the cookie (served behind https) */
	unsigned signins_per_address; /* sign-in attempts a minute from one address; 0 = 20 */
	const char *public_url;	      /* the server's URL behind a proxy (OAuth consent);
					 NULL = from the Host header */
};

int console_new(struct console **out, const struct console_config *cfg, struct err *err);
/* Adds the console's routes: "/", "/b/ID" (a batch's page), "/login", "/logout",
 * "/metrics", "/api/" and
 * every other path (assets, else 404). Add the MCP routes too: exact routes
 * win over the console's catch-all. */
int console_routes(struct console *c, struct http_server *srv, struct err *err);
void console_free(struct console *c);

#endif
