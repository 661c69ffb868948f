/* test_mcp_http.c — the MCP HTTP session table's limits, in process: a
 * token's sessions are capped (its least recently used evicted), an idle
 * session ends, and each eviction and expiry is in the action log. The
 * hostile-load side (10,000 sessions of one token while another works) is
 * tests/e2e/hostile_load.sh; this covers what a suite cannot wait for (an
 * idle time of minutes, here one second). */
#include "testutil.h"

#include <curl/curl.h>
#include <jansson.h>
#include <unistd.h>

#include "http.h"
#include "mcp.h"
#include "mcp_http.h"

struct fixture {
	struct testdb db;
	struct mcp_http *m;
	struct http_server *srv;
	int port;
};

static int setup(void **state)
{
	static struct fixture f;
	struct mcp_http_config mc = {0};
	struct http_config hc = {0};
	struct err err = {0};

	memset(&f, 0, sizeof f);
	testutil_store_open(&f.db);
	mc.db_path = f.db.path;
	mc.no_auth = 1;
	mc.agent = "tester";
	mc.idle_seconds = 1;
	mc.sessions_per_token = 2;
	hc.host = "127.0.0.1";
	hc.max_body = MCP_MAX_MESSAGE;
	assert_ok(mcp_http_new(&f.m, &mc, &err), &err);
	assert_ok(http_server_new(&f.srv, &hc, &err), &err);
	assert_ok(mcp_http_routes(f.m, f.srv, &err), &err);
	assert_ok(http_server_start(f.srv, &err), &err);
	f.port = http_server_port(f.srv);
	*state = &f;
	return 0;
}

/* Stops the server and the endpoints (which logs what is left to log). */
static void stop(struct fixture *f)
{
	http_server_free(f->srv);
	f->srv = NULL;
	mcp_http_free(f->m);
	f->m = NULL;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	stop(f);
	testutil_store_close(&f->db);
	return 0;
}

static size_t header_cb(char *buf, size_t size, size_t n, void *ud)
{
	char *sid = ud;
	size_t len = size * n, i = 15;

	if (len > 15 && !strncasecmp(buf, "Mcp-Session-Id:", 15)) {
		while (i < len && buf[i] == ' ')
			i++;
		snprintf(sid, 80, "%.*s", (int)strcspn(buf + i, "\r\n"), buf + i);
	}
	return len;
}

static size_t drop_cb(char *buf, size_t size, size_t n, void *ud)
{
	(void)buf;
	(void)ud;
	return size * n;
}

/* POSTs body to /mcp/read in session sid ("" for none); returns the HTTP
 * status, and a new session's id in new_sid when not NULL. */
static long post(struct fixture *f, const char *sid, const char *body, char *new_sid)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[64], hs[128], got[80] = "";
	long status = 0;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/mcp/read", f->port);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json, text/event-stream");
	if (sid[0]) {
		snprintf(hs, sizeof hs, "Mcp-Session-Id: %s", sid);
		h = curl_slist_append(h, hs);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, got);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, drop_cb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (new_sid)
		snprintf(new_sid, 80, "%s", got);
	return status;
}

#define INIT                                                                                       \
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":" \
	"\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"
#define PING "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}"

static void open_session(struct fixture *f, char sid[80])
{
	assert_int_equal(post(f, "", INIT, sid), 200);
	assert_int_equal(strlen(sid), 64);
}

/* The sum of args.KEY over the session_limit entries of the log (the
 * bodies read here, so either engine's store answers). */
static long logged(struct fixture *f, const char *key)
{
	struct store_stmt *st;
	struct err err = {0};
	long n = 0;
	int rc;

	assert_ok(store_prepare(f->db.s,
				"SELECT body FROM action_log WHERE tool='session_limit' AND"
				" principal='agent:tester'",
				&st, &err),
		  &err);
	while ((rc = store_step(st, &err)) == STORE_ROW) {
		json_t *body = json_loads(store_col_text(st, 0), 0, NULL);

		assert_non_null(body);
		n += (long)json_integer_value(json_object_get(json_object_get(body, "args"), key));
		json_decref(body);
	}
	assert_int_equal(rc, STORE_DONE);
	store_done(st);
	return n;
}

static void test_idle_session_ends_and_is_logged(void **state)
{
	struct fixture *f = *state;
	char s1[80], s2[80];

	open_session(f, s1);
	assert_int_equal(post(f, s1, PING, NULL), 200);
	sleep(3); /* idle 1 s, counted in whole seconds */
	assert_int_equal(post(f, s1, PING, NULL), 404);
	open_session(f, s2);
	assert_int_equal(post(f, s2, PING, NULL), 200);
	stop(f);
	assert_int_equal(logged(f, "expired"), 1);
	assert_int_equal(logged(f, "evicted"), 0);
}

static void test_token_cap_evicts_least_recently_used(void **state)
{
	struct fixture *f = *state;
	char s1[80], s2[80], s3[80];

	open_session(f, s1);
	open_session(f, s2);
	/* s1 used last: s2 is the least recently used when s3 comes */
	assert_int_equal(post(f, s1, PING, NULL), 200);
	open_session(f, s3);
	assert_int_equal(post(f, s2, PING, NULL), 404);
	assert_int_equal(post(f, s1, PING, NULL), 200);
	assert_int_equal(post(f, s3, PING, NULL), 200);
	stop(f);
	assert_int_equal(logged(f, "evicted"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_idle_session_ends_and_is_logged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_cap_evicts_least_recently_used, setup,
					    teardown),
	};

	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
