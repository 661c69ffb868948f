/* oauth.h — airlock as its own OAuth 2.1 authorization server for the HTTP
 * connectors (the MCP authorization spec, 2025-11-25): registered clients
 * (RFC 7591), authorization codes with PKCE (RFC 7636, S256 only), grants
 * bound to one connector's URL (RFC 8707), short-lived access tokens and
 * rotating refresh tokens.
 *
 * Owns: the oauth_client, oauth_code, oauth_grant and oauth_token tables
 * (migration 37). Codes and tokens are 256 random bits, kept only as a
 * BLAKE2b hash (looked up by it: a plain hash of that much randomness is
 * enough, no stretching). A grant is one consent: one client, one agent,
 * one connector; every access and refresh token descends from it, so
 * revoking the grant (or reusing a spent refresh token, or replaying a code)
 * ends the whole family.
 *
 * Never: stores or logs a code or token; accepts a redirect URI that is not
 * registered exactly, or one that is neither https nor loopback http; lets
 * a code be used twice, after OAUTH_CODE_SECONDS, by another client or with
 * a verifier whose S256 is not the challenge; lets a token of the read
 * connector's grant pass for the write connector.
 *
 * Transactions: the functions that change state (code issue, exchange,
 * refresh, revoke by token) open their own and log their action in it
 * (audit.h); oauth_grant_revoke runs in the caller's (the caller logs).
 * Every string out-parameter is caller-owned; json_t **out is the
 * caller's to json_decref. */
#ifndef AIRLOCK_OAUTH_H
#define AIRLOCK_OAUTH_H

#include <jansson.h>

#include "err.h"
#include "store.h"

#define OAUTH_CODE_SECONDS 60
#define OAUTH_ACCESS_SECONDS 900	   /* 15 minutes */
#define OAUTH_REFRESH_SECONDS (30 * 86400) /* 30 days, renewed at each use */
#define OAUTH_TOKEN_MAX 80		   /* a code or token with its NUL */
#define OAUTH_URI_MAX 512		   /* redirect URIs and resources */
#define OAUTH_GRANT_PREFIX "oauth-"	   /* grant ids: "oauth-" + 10 hex */
#define OAUTH_ACCESS_PREFIX "alo_"

/* 1 when uri may be a redirect URI: https://HOST..., or http:// on a
 * loopback host (127.0.0.1, [::1], localhost; any port), no fragment, no
 * user info, no spaces or controls, at most OAUTH_URI_MAX bytes. */
int oauth_redirect_uri_ok(const char *uri);

/* Dynamic client registration (RFC 7591): meta is the request body. *out
 * is the registration response (client_id, client_id_issued_at,
 * redirect_uris, client_name, token_endpoint_auth_method "none",
 * grant_types, response_types). AIRLOCK_EINVAL with a message fit for
 * error_description when the metadata is unacceptable. */
int oauth_client_register(struct store *s, json_t *meta, json_t **out, struct err *err);

/* An authorization request as it arrives at /oauth/authorize. */
struct oauth_request {
	const char *response_type, *client_id, *redirect_uri, *state;
	const char *code_challenge, *code_challenge_method, *resource, *scope;
};

/* Checks the client and its redirect URI (registered, exact match).
 * AIRLOCK_EDENIED when either is wrong: then the browser must NOT be sent to
 * redirect_uri. client_name gets the client's name. */
int oauth_client_check(struct store *s, const char *client_id, const char *redirect_uri,
		       char *client_name, size_t len, struct err *err);

/* The rest of the request (after oauth_client_check passed): *oerr is the
 * OAuth error code ("invalid_request", "unsupported_response_type",
 * "invalid_target") to send to redirect_uri when it returns AIRLOCK_EINVAL.
 * base is the server's URL ("https://host:port", no '/' at the end): a
 * resource must be base, base/mcp/read or base/mcp/write. */
int oauth_request_check(const struct oauth_request *rq, const char *base, const char **oerr,
			struct err *err);

/* A signed-in admin's consent: issues a code for rq bound to connector
 * ("read"/"write") and agent, with resource base/mcp/CONNECTOR (refused
 * when rq names the other connector's URL), and logs it (principal
 * granted_by, "human:NAME"). code gets the code (≥ OAUTH_TOKEN_MAX). */
int oauth_code_issue(struct store *s, const struct oauth_request *rq, const char *base,
		     const char *connector, const char *agent, const char *granted_by, char *code,
		     size_t len, struct err *err);

/* What /oauth/token answers. */
struct oauth_tokens {
	char access[OAUTH_TOKEN_MAX];
	char refresh[OAUTH_TOKEN_MAX];
	long expires_in;
	char grant[24];
	char connector[8];
	char agent[72];
	char resource[OAUTH_URI_MAX + 1];
};

/* The authorization_code grant. On failure *oerr is the OAuth error
 * ("invalid_grant", "invalid_request", "invalid_target") and err says why.
 * A code presented a second time revokes the grant it produced (RFC 9700
 * 4.2.4: someone else holds the code). resource may be NULL. */
int oauth_code_exchange(struct store *s, const char *code, const char *client_id,
			const char *redirect_uri, const char *verifier, const char *resource,
			struct oauth_tokens *out, const char **oerr, struct err *err);

/* The refresh_token grant: a new access token and a new refresh token; the
 * presented one is spent. A spent refresh token presented again revokes
 * the grant (RFC 9700 4.14.2: one of two holders is not the client). */
int oauth_refresh(struct store *s, const char *refresh, const char *client_id, const char *resource,
		  struct oauth_tokens *out, const char **oerr, struct err *err);

/* Checks an access token ("alo_..."): AIRLOCK_EDENIED (message safe to
 * show) when unknown, expired or its grant revoked; else 0 with the grant
 * id, connector, agent and resource (the audience) filled. */
struct oauth_access {
	char grant[24];
	char connector[8];
	char agent[72];
	char resource[OAUTH_URI_MAX + 1];
};
int oauth_verify_access(struct store *s, const char *token, struct oauth_access *out,
			struct err *err);

/* RFC 7009: revokes the grant of an access or refresh token, and logs it;
 * an unknown token is not an error (the RFC's rule). */
int oauth_revoke_token(struct store *s, const char *token, struct err *err);

/* Revokes a grant by id, in the caller's transaction (who logs it).
 * AIRLOCK_ENOTFOUND, or AIRLOCK_ESTATE when revoked already. */
int oauth_grant_revoke(struct store *s, const char *grant_id, const char *why, struct err *err);

/* Every grant: [{"id","kind":"oauth","connector","agent","client_id",
 * "client_name","resource","created_at","created_by","revoked_at",
 * "revoked_why"}], newest first. */
int oauth_grant_list(struct store *s, json_t **out, struct err *err);

#endif
