/* token.c — connector tokens (see token.h). */
#include "token.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "fmt.h"
#include "oauth.h"

#define SECRET_BYTES 32
#define HASH_BYTES 32
#define PREFIX "alk_"

static int init_sodium(struct err *err)
{
	if (sodium_init() < 0)
		return err_set(err, AIRLOCK_EIO, "libsodium failed to initialise");
	return 0;
}

/* The hash binds the secret to its id, so a hash copied to another row
 * does not verify there. */
static void hash_secret(const char *id, const char *secret, size_t n,
			unsigned char out[HASH_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, HASH_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)"airlock-token-v1:", 17);
	crypto_generichash_update(&st, (const unsigned char *)id, strlen(id));
	crypto_generichash_update(&st, (const unsigned char *)":", 1);
	crypto_generichash_update(&st, (const unsigned char *)secret, n);
	crypto_generichash_final(&st, out, HASH_BYTES);
}

int token_create(struct store *s, const char *connector, const char *agent,
		 const char *created_by, char *token, size_t len, struct token_info *info,
		 struct err *err)
{
	unsigned char idb[TOKEN_ID_LEN / 2], sec[SECRET_BYTES], h[HASH_BYTES];
	char id[TOKEN_ID_LEN + 1], secret[64], hhex[HASH_BYTES * 2 + 1], now[32];
	struct store_stmt *st;
	int rc;

	if (strcmp(connector, "read") && strcmp(connector, "write"))
		return err_set(err, AIRLOCK_EINVAL, "connector must be read or write, not '%s'",
			       connector);
	if (len < TOKEN_MAX)
		return err_set(err, AIRLOCK_EINVAL, "token buffer too small");
	/* refused at the door: a cut name would make two agents one principal */
	if (strlen(agent) >= sizeof info->agent)
		return err_set(err, AIRLOCK_EINVAL,
			       "agent name is too long (%zu bytes, at most %zu)", strlen(agent),
			       sizeof info->agent - 1);
	rc = init_sodium(err);
	if (rc)
		return rc;
	randombytes_buf(idb, sizeof idb);
	randombytes_buf(sec, sizeof sec);
	sodium_bin2hex(id, sizeof id, idb, sizeof idb);
	sodium_bin2base64(secret, sizeof secret, sec, sizeof sec,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	hash_secret(id, secret, strlen(secret), h);
	sodium_bin2hex(hhex, sizeof hhex, h, sizeof h);
	book_now(now, sizeof now);
	rc = store_prepare(s,
			   "INSERT INTO connector_token(id,connector,agent,secret_hash,created_at,"
			   "created_by) VALUES(?1,?2,?3,?4,?5,?6)",
			   &st, err);
	if (rc)
		goto out;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, connector);
	store_bind_text(st, 3, agent);
	store_bind_text(st, 4, hhex);
	store_bind_text(st, 5, now);
	store_bind_text(st, 6, created_by);
	rc = store_step(st, err);
	store_done(st);
	if (rc != STORE_DONE)
		goto out;
	rc = fmt_buf(token, len, err, "token", PREFIX "%s_%s", id, secret);
	if (!rc && info)
		rc =
		    fmt_buf(info->id, sizeof info->id, err, "token id", "%s", id) ||
			    fmt_buf(info->connector, sizeof info->connector, err, "connector", "%s",
				    connector) ||
			    fmt_buf(info->agent, sizeof info->agent, err, "agent name", "%s", agent)
			? AIRLOCK_EINVAL
			: 0;
out:
	sodium_memzero(sec, sizeof sec);
	sodium_memzero(secret, sizeof secret);
	return rc;
}

int token_verify(struct store *s, const char *token, struct token_info *info, struct err *err)
{
	unsigned char want[HASH_BYTES], got[HASH_BYTES];
	char id[TOKEN_ID_LEN + 1];
	const char *secret, *hex;
	struct store_stmt *st;
	size_t i, n = token ? strlen(token) : 0, bin_len = 0;
	int rc, match;

	memset(info, 0, sizeof *info);
	if (n < sizeof PREFIX + TOKEN_ID_LEN + 1 || n >= TOKEN_MAX ||
	    memcmp(token, PREFIX, sizeof PREFIX - 1) != 0 ||
	    token[sizeof PREFIX - 1 + TOKEN_ID_LEN] != '_')
		return err_set(err, AIRLOCK_EDENIED, "not an airlock token");
	memcpy(id, token + sizeof PREFIX - 1, TOKEN_ID_LEN);
	id[TOKEN_ID_LEN] = '\0';
	for (i = 0; i < TOKEN_ID_LEN; i++)
		if (!strchr("0123456789abcdef", id[i]))
			return err_set(err, AIRLOCK_EDENIED, "not an airlock token");
	secret = token + sizeof PREFIX + TOKEN_ID_LEN;
	rc = init_sodium(err);
	if (rc)
		return rc;
	rc = store_prepare(s,
			   "SELECT connector,agent,secret_hash FROM connector_token WHERE id=?1 AND "
			   "revoked_at IS NULL",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc != STORE_ROW) {
		store_done(st);
		return rc < 0 ? rc : err_set(err, AIRLOCK_EDENIED, "unknown or revoked token");
	}
	hex = store_col_text(st, 2);
	match = hex && sodium_hex2bin(want, sizeof want, hex, strlen(hex), NULL, &bin_len, NULL) == 0 &&
		bin_len == sizeof want;
	if (match) {
		hash_secret(id, secret, strlen(secret), got);
		match = sodium_memcmp(want, got, sizeof want) == 0;
	}
	/* a stored name that no longer fits is refused, never cut into another
	 * agent's principal */
	if (match && (fmt_buf(info->id, sizeof info->id, err, "token id", "%s", id) ||
		      fmt_buf(info->connector, sizeof info->connector, err, "token connector", "%s",
			      store_col_text(st, 0)) ||
		      fmt_buf(info->agent, sizeof info->agent, err, "token agent name", "%s",
			      store_col_text(st, 1)))) {
		store_done(st);
		memset(info, 0, sizeof *info);
		return AIRLOCK_EDENIED;
	}
	store_done(st);
	return match ? 0 : err_set(err, AIRLOCK_EDENIED, "unknown or revoked token");
}

static json_t *token_row(struct store_stmt *st, void *ctx)
{
	(void)ctx;
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:s?}", "id", store_col_text(st, 0), "kind",
			 "static", "connector", store_col_text(st, 1), "agent",
			 store_col_text(st, 2), "created_at", store_col_text(st, 3), "created_by",
			 store_col_text(st, 4), "revoked_at", store_col_text(st, 5));
}

static int newest_first(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "created_at"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "created_at"));

	return strcmp(y ? y : "", x ? x : "");
}

/* The static tokens and the OAuth grants, merged newest first. */
int token_list(struct store *s, json_t **out, struct err *err)
{
	struct store_stmt *st;
	json_t *grants = NULL, *all, **v = NULL;
	size_t i, n;
	int rc;

	*out = NULL;
	rc = store_prepare(s,
			   "SELECT id,connector,agent,created_at,created_by,revoked_at FROM "
			   "connector_token ORDER BY created_at DESC, id",
			   &st, err);
	if (rc)
		return rc;
	rc = store_collect(st, token_row, NULL, &all, err);
	if (rc)
		return rc;
	rc = oauth_grant_list(s, &grants, err);
	if (rc || json_array_extend(all, grants)) {
		json_decref(all);
		json_decref(grants);
		return rc ? rc : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	json_decref(grants);
	n = json_array_size(all);
	v = n ? malloc(n * sizeof *v) : NULL;
	if (n && !v) {
		json_decref(all);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(all, i));
	qsort(v, n, sizeof *v, newest_first);
	json_array_clear(all);
	for (i = 0; i < n; i++)
		json_array_append_new(all, v[i]);
	free(v);
	*out = all;
	return 0;
}

int token_revoke(struct store *s, const char *id, struct err *err)
{
	struct store_stmt *st;
	char now[32];
	int rc, revoked = 0, found = 0;

	/* an OAuth grant is revoked here too: `airlock token revoke` is the one
	 * place an operator ends a connector's credential */
	if (!strncmp(id, OAUTH_GRANT_PREFIX, strlen(OAUTH_GRANT_PREFIX))) {
		rc = oauth_grant_revoke(s, id, "revoked with airlock token revoke", err);
		if (rc == AIRLOCK_ENOTFOUND)
			return err_set(err, AIRLOCK_ENOTFOUND,
				       "no token with id '%s' (see airlock token list)", id);
		return rc;
	}
	rc = store_prepare(s, "SELECT revoked_at FROM connector_token WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		found = 1;
		revoked = !store_col_is_null(st, 0);
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (!found)
		return err_set(err, AIRLOCK_ENOTFOUND, "no token with id '%s' (see airlock token list)",
			       id);
	if (revoked)
		return err_set(err, AIRLOCK_ESTATE, "token %s is already revoked", id);
	book_now(now, sizeof now);
	rc = store_prepare(s, "UPDATE connector_token SET revoked_at=?2 WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, now);
	rc = store_step(st, err);
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}
