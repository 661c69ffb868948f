/* token.h — the credentials of the HTTP connectors: one bearer token per
 * agent and connector kind (read or write).
 *
 * Owns: the connector_token table (migrations 30–39): a public id, the
 * connector, the agent, and a BLAKE2b-256 hash of the secret. The secret is
 * shown once, at creation, and never stored; tokens are 256 random bits, so
 * a plain hash is enough (no password stretching needed). Comparison is in
 * constant time.
 *
 * Never: logs or returns a secret after token_create(); accepts a revoked
 * token.
 *
 * Token format: "alk_" + 16 hex characters of id + "_" + 43 base64url
 * characters of secret. */
#ifndef AIRLOCK_TOKEN_H
#define AIRLOCK_TOKEN_H

#include <jansson.h>

#include "err.h"
#include "store.h"

#define TOKEN_MAX 80      /* a token with its NUL fits */
#define TOKEN_ID_LEN 16

struct token_info {
	char id[TOKEN_ID_LEN + 1];
	char connector[8]; /* "read" / "write" */
	char agent[72];
};

/* Makes a token for agent on connector ("read"/"write"); token gets the
 * whole token (≥ TOKEN_MAX bytes), info its public part. */
int token_create(struct store *s, const char *connector, const char *agent,
		 const char *created_by, char *token, size_t len, struct token_info *info,
		 struct err *err);

/* Checks a presented token. AIRLOCK_EDENIED (message safe to show) when it is
 * malformed, unknown, revoked or does not match; 0 with info filled. */
int token_verify(struct store *s, const char *token, struct token_info *info, struct err *err);

/* Every token (never a secret): [{"id","kind":"static","connector","agent",
 * "created_at","created_by","revoked_at"}] and every OAuth grant (oauth.h:
 * "kind":"oauth", with client_id, client_name, resource, revoked_why),
 * newest first. */
int token_list(struct store *s, json_t **out, struct err *err);

/* Revokes by id (an OAuth grant's id "oauth-..." revokes the grant and
 * every token of it); AIRLOCK_ENOTFOUND when no such token, AIRLOCK_ESTATE
 * when already revoked. */
int token_revoke(struct store *s, const char *id, struct err *err);

#endif
