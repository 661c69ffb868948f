/* test_oauth.c — airlock's authorization server in process (oauth.h), from
 * the attacker's side: redirect URIs that are not loopback or https, a code
 * replayed (its grant dies), a wrong PKCE verifier, a swapped redirect URI,
 * another client's code, an expired code and access token (AIRLOCK_NOW), a
 * spent refresh token reused (the family dies), the audience of a grant,
 * and that no code or token is stored in the clear. */
#include "testutil.h"

#include <jansson.h>
#include <sodium.h>
#include <time.h>

#include "oauth.h"
#include "token.h"

#define BASE "http://127.0.0.1:8750"
#define RU "http://127.0.0.1:9999/cb"

struct fx {
	struct testdb db;
	char client[64];
};

static int setup(void **state)
{
	static struct fx f;
	struct err err = {0};
	json_t *meta, *out;

	memset(&f, 0, sizeof f);
	unsetenv("AIRLOCK_NOW");
	testutil_store_open(&f.db);
	meta = json_pack("{s:[s],s:s}", "redirect_uris", RU, "client_name", "t");
	assert_ok(oauth_client_register(f.db.s, meta, &out, &err), &err);
	snprintf(f.client, sizeof f.client, "%s",
		 json_string_value(json_object_get(out, "client_id")));
	json_decref(meta);
	json_decref(out);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unsetenv("AIRLOCK_NOW");
	testutil_store_close(&f->db);
	return 0;
}

static void pkce(char verifier[64], char challenge[64])
{
	unsigned char raw[32], h[crypto_hash_sha256_BYTES];

	assert_true(sodium_init() >= 0);
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(verifier, 64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_hash_sha256(h, (const unsigned char *)verifier, strlen(verifier));
	sodium_bin2base64(challenge, 64, h, sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* A consent for connector; code and verifier out. */
static void consent(struct fx *f, const char *connector, char *code, char verifier[64])
{
	struct oauth_request rq = {0};
	struct err err = {0};
	char challenge[64];

	pkce(verifier, challenge);
	rq.response_type = "code";
	rq.client_id = f->client;
	rq.redirect_uri = RU;
	rq.code_challenge = challenge;
	rq.code_challenge_method = "S256";
	assert_ok(oauth_code_issue(f->db.s, &rq, BASE, connector, "bot", "human:carol", code,
				   OAUTH_TOKEN_MAX, &err),
		  &err);
}

static int64_t count(struct store *s, const char *sql)
{
	struct err err = {0};
	int64_t n = -1;

	assert_ok(store_query_int(s, sql, &n, &err), &err);
	return n;
}

static void test_redirect_uris(void **state)
{
	(void)state;
	assert_true(oauth_redirect_uri_ok("https://app.example/cb"));
	assert_true(oauth_redirect_uri_ok("http://127.0.0.1:33418/callback"));
	assert_true(oauth_redirect_uri_ok("http://localhost/cb"));
	assert_true(oauth_redirect_uri_ok("http://[::1]:80/cb"));
	assert_false(oauth_redirect_uri_ok("http://evil.example/cb"));
	assert_false(oauth_redirect_uri_ok("http://127.0.0.1.evil.example/cb"));
	assert_false(oauth_redirect_uri_ok("http://localhost.evil.example/cb"));
	assert_false(oauth_redirect_uri_ok("http://localhost@evil.example/cb"));
	assert_false(oauth_redirect_uri_ok("https://user@app.example/cb"));
	assert_false(oauth_redirect_uri_ok("https://app.example/cb#x"));
	assert_false(oauth_redirect_uri_ok("javascript:alert(1)"));
	assert_false(oauth_redirect_uri_ok("https:///cb"));
	assert_false(oauth_redirect_uri_ok("https://app.example/c b"));
	assert_false(oauth_redirect_uri_ok(""));
}

static void test_code_flow_and_replay(void **state)
{
	struct fx *f = *state;
	struct oauth_tokens t, t2;
	struct oauth_access acc;
	struct err err = {0};
	char code[OAUTH_TOKEN_MAX], v[64], wrongv[64], wc[64];
	const char *oerr;

	consent(f, "read", code, v);
	assert_int_equal(
	    count(f->db.s, "SELECT count(*) FROM oauth_code WHERE code_hash LIKE 'alc_%'"), 0);
	pkce(wrongv, wc);
	assert_int_equal(
	    oauth_code_exchange(f->db.s, code, f->client, RU, wrongv, NULL, &t, &oerr, &err),
	    AIRLOCK_EDENIED);
	assert_string_equal(oerr, "invalid_grant");
	assert_int_equal(
	    oauth_code_exchange(f->db.s, code, f->client, RU "x", v, NULL, &t, &oerr, &err),
	    AIRLOCK_EDENIED);
	assert_int_equal(
	    oauth_code_exchange(f->db.s, code, "alc-other", RU, v, NULL, &t, &oerr, &err),
	    AIRLOCK_EDENIED);
	assert_int_equal(oauth_code_exchange(f->db.s, code, f->client, RU, v, BASE "/mcp/write", &t,
					     &oerr, &err),
			 AIRLOCK_EINVAL);
	assert_string_equal(oerr, "invalid_target");
	/* failed attempts spent nothing: the rightful client still gets its tokens */
	assert_ok(
	    oauth_code_exchange(f->db.s, code, f->client, RU, v, BASE "/mcp/read", &t, &oerr, &err),
	    &err);
	assert_ok(oauth_verify_access(f->db.s, t.access, &acc, &err), &err);
	assert_string_equal(acc.connector, "read");
	assert_string_equal(acc.resource, BASE "/mcp/read");
	assert_string_equal(acc.agent, "bot");
	/* the refresh token is not an access token */
	assert_int_equal(oauth_verify_access(f->db.s, t.refresh, &acc, &err), AIRLOCK_EDENIED);
	/* replay: refused, and the grant it made is revoked */
	assert_int_equal(
	    oauth_code_exchange(f->db.s, code, f->client, RU, v, NULL, &t2, &oerr, &err),
	    AIRLOCK_EDENIED);
	assert_int_equal(oauth_verify_access(f->db.s, t.access, &acc, &err), AIRLOCK_EDENIED);
	assert_int_equal(
	    count(f->db.s, "SELECT count(*) FROM action_log WHERE tool='oauth revoke'"), 1);
}

static void test_consent_checks(void **state)
{
	struct fx *f = *state;
	struct oauth_request rq = {0};
	struct err err = {0};
	char code[OAUTH_TOKEN_MAX], v[64], c[64];

	pkce(v, c);
	rq.response_type = "code";
	rq.client_id = f->client;
	rq.redirect_uri = "http://127.0.0.1:9999/other";
	rq.code_challenge = c;
	rq.code_challenge_method = "S256";
	assert_int_equal(
	    oauth_code_issue(f->db.s, &rq, BASE, "read", "bot", "human:c", code, sizeof code, &err),
	    AIRLOCK_EDENIED);
	rq.redirect_uri = RU;
	rq.code_challenge_method = "plain";
	assert_int_equal(
	    oauth_code_issue(f->db.s, &rq, BASE, "read", "bot", "human:c", code, sizeof code, &err),
	    AIRLOCK_EINVAL);
	rq.code_challenge_method = "S256";
	rq.resource = BASE "/mcp/read";
	assert_int_equal(oauth_code_issue(f->db.s, &rq, BASE, "write", "bot", "human:c", code,
					  sizeof code, &err),
			 AIRLOCK_EINVAL);
	rq.resource = "http://elsewhere.example/mcp/read";
	assert_int_equal(
	    oauth_code_issue(f->db.s, &rq, BASE, "read", "bot", "human:c", code, sizeof code, &err),
	    AIRLOCK_EINVAL);
	assert_int_equal(count(f->db.s, "SELECT count(*) FROM oauth_code"), 0);
}

static void test_expiry(void **state)
{
	struct fx *f = *state;
	struct oauth_tokens t;
	struct oauth_access acc;
	struct err err = {0};
	char code[OAUTH_TOKEN_MAX], v[64], now[32];
	const char *oerr;
	time_t t0 = time(NULL);

	snprintf(now, sizeof now, "%lld", (long long)t0);
	setenv("AIRLOCK_NOW", now, 1);
	consent(f, "write", code, v);
	snprintf(now, sizeof now, "%lld", (long long)t0 + OAUTH_CODE_SECONDS + 1);
	setenv("AIRLOCK_NOW", now, 1);
	assert_int_equal(
	    oauth_code_exchange(f->db.s, code, f->client, RU, v, NULL, &t, &oerr, &err),
	    AIRLOCK_EDENIED);
	assert_non_null(strstr(err.msg, "expired"));
	setenv("AIRLOCK_NOW", now, 1);
	consent(f, "write", code, v);
	assert_ok(oauth_code_exchange(f->db.s, code, f->client, RU, v, NULL, &t, &oerr, &err),
		  &err);
	assert_ok(oauth_verify_access(f->db.s, t.access, &acc, &err), &err);
	snprintf(now, sizeof now, "%lld",
		 (long long)t0 + OAUTH_CODE_SECONDS + 2 + OAUTH_ACCESS_SECONDS);
	setenv("AIRLOCK_NOW", now, 1);
	assert_int_equal(oauth_verify_access(f->db.s, t.access, &acc, &err), AIRLOCK_EDENIED);
	assert_ok(oauth_refresh(f->db.s, t.refresh, f->client, NULL, &t, &oerr, &err), &err);
	assert_ok(oauth_verify_access(f->db.s, t.access, &acc, &err), &err);
	/* the expired access token's row is gone; the spent refresh token's
	 * stays (its reuse must still be caught), with the new pair */
	assert_int_equal(count(f->db.s, "SELECT count(*) FROM oauth_token"), 3);
	assert_int_equal(oauth_refresh(f->db.s, t.refresh, f->client, NULL, &t, &oerr, &err), 0);
	assert_int_equal(
	    count(f->db.s, "SELECT count(*) FROM oauth_token WHERE used_at IS NOT NULL"), 2);
}

static void test_refresh_reuse(void **state)
{
	struct fx *f = *state;
	struct oauth_tokens t, t2, t3;
	struct oauth_access acc;
	struct err err = {0};
	char code[OAUTH_TOKEN_MAX], v[64];
	const char *oerr;

	consent(f, "read", code, v);
	assert_ok(oauth_code_exchange(f->db.s, code, f->client, RU, v, NULL, &t, &oerr, &err),
		  &err);
	assert_int_equal(oauth_refresh(f->db.s, t.refresh, "alc-other", NULL, &t2, &oerr, &err),
			 AIRLOCK_EDENIED);
	assert_ok(oauth_refresh(f->db.s, t.refresh, f->client, BASE, &t2, &oerr, &err), &err);
	assert_string_not_equal(t2.refresh, t.refresh);
	assert_ok(oauth_verify_access(f->db.s, t2.access, &acc, &err), &err);
	/* the thief (or the client) presents the spent one: the family dies */
	assert_int_equal(oauth_refresh(f->db.s, t.refresh, f->client, NULL, &t3, &oerr, &err),
			 AIRLOCK_EDENIED);
	assert_string_equal(oerr, "invalid_grant");
	assert_int_equal(oauth_verify_access(f->db.s, t2.access, &acc, &err), AIRLOCK_EDENIED);
	assert_int_equal(oauth_refresh(f->db.s, t2.refresh, f->client, NULL, &t3, &oerr, &err),
			 AIRLOCK_EDENIED);
}

static void test_list_and_revoke(void **state)
{
	struct fx *f = *state;
	struct oauth_tokens t;
	struct oauth_access acc;
	struct err err = {0};
	char code[OAUTH_TOKEN_MAX], v[64];
	const char *oerr;
	json_t *rows;

	consent(f, "write", code, v);
	assert_ok(oauth_code_exchange(f->db.s, code, f->client, RU, v, NULL, &t, &oerr, &err),
		  &err);
	assert_ok(token_list(f->db.s, &rows, &err), &err);
	assert_int_equal(json_array_size(rows), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "kind")),
			    "oauth");
	json_decref(rows);
	assert_ok(token_revoke(f->db.s, t.grant, &err), &err);
	assert_int_equal(oauth_verify_access(f->db.s, t.access, &acc, &err), AIRLOCK_EDENIED);
	assert_int_equal(token_revoke(f->db.s, t.grant, &err), AIRLOCK_ESTATE);
	assert_int_equal(token_revoke(f->db.s, "oauth-0000000000", &err), AIRLOCK_ENOTFOUND);
}

static void test_register_refuses(void **state)
{
	struct fx *f = *state;
	struct err err = {0};
	json_t *out = NULL, *meta;

	meta = json_pack("{s:[s]}", "redirect_uris", "http://evil.example/cb");
	assert_int_equal(oauth_client_register(f->db.s, meta, &out, &err), AIRLOCK_EINVAL);
	json_decref(meta);
	meta = json_pack("{s:[]}", "redirect_uris");
	assert_int_equal(oauth_client_register(f->db.s, meta, &out, &err), AIRLOCK_EINVAL);
	json_decref(meta);
	meta = json_pack("{s:[s],s:[s]}", "redirect_uris", RU, "grant_types", "client_credentials");
	assert_int_equal(oauth_client_register(f->db.s, meta, &out, &err), AIRLOCK_EINVAL);
	json_decref(meta);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redirect_uris),
	    cmocka_unit_test_setup_teardown(test_code_flow_and_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_consent_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_reuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_and_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_refuses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
