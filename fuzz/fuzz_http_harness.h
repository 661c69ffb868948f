/* fuzz_http_harness.h — the HTTP server as a network client reaches it:
 * libmicrohttpd's request parsing, http.c's Host/Origin checks, queue and
 * routing, the console's routes (sign-in, the JSON API, assets) and the MCP
 * endpoints; shared by fuzz/fuzz_http.c and tests/test_fuzz.c.
 *
 * The server runs in this process on 127.0.0.1 (an ephemeral port), over a
 * real database with a book, the default policy, and a signed-in admin
 * reviewer. One input is the raw bytes a client sends on one connection
 * (then it closes its sending side and reads the answer): "$S" in the input
 * becomes that reviewer's session id and "$T" its CSRF token, "$P" the
 * port, so the fuzzer gets past sign-in and the CSRF check and reaches the
 * API's handlers. A sign-out in an input ends the session: the next input
 * signs in again.
 *
 * Oracles beyond the sanitizers: every answer starts with an HTTP status
 * line; no answer is a 500 (an error airlock did not handle: bad bytes in
 * a path must be a 4xx, not "out of memory"); the server keeps answering
 * (a probe GET after each input gets its answer). */
#ifndef AIRLOCK_FUZZ_HTTP_HARNESS_H
#define AIRLOCK_FUZZ_HTTP_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "book.h"
#include "console.h"
#include "http.h"
#include "mcp_http.h"
#include "policy.h"
#include "reviewer.h"
#include "store.h"

#include "fuzz_common.h"

struct fuzz_http {
	char dir[96], db[160], pol[160];
	struct store *store;
	struct policy *policy;
	struct mcp_http *mcp;
	struct console *con;
	struct http_server *srv;
	int port;
	struct reviewer_session who;
};

#define FUZZ_HTTP_PASSWORD "fuzz-password-1"

static void fuzz_http_insert(struct store *s, enum book_kind kind, const char *json)
{
	struct err err = {0};
	json_t *rec = json_loads(json, 0, NULL);

	if (!rec || book_insert(s, kind, rec, &err))
		fuzz_die("http", "cannot make the book", err.msg);
	json_decref(rec);
}

/* Signs the harness's admin in. Inputs may sign it out, remove it through
 * the API, or lock its name with wrong passwords: then (re-)add it, or use
 * a fresh name. */
static void fuzz_http_login(struct fuzz_http *f)
{
	struct err err = {0};
	char name[32];
	int k, rc;

	for (k = 0; k < 10000; k++) {
		snprintf(name, sizeof name, k ? "fuzzer%d" : "fuzzer", k);
		rc = reviewer_add(f->store, name, REVIEWER_ADMIN, FUZZ_HTTP_PASSWORD, "human:fuzz",
				  &err);
		if (rc && rc != AIRLOCK_EEXIST)
			fuzz_die("http", "reviewer_add", err.msg);
		if (reviewer_login_password(f->store, name, FUZZ_HTTP_PASSWORD, &f->who, &err) == 0)
			return;
	}
	fuzz_die("http", "cannot sign in", err.msg);
}

__attribute__((unused)) static void fuzz_http_init(struct fuzz_http *f)
{
	struct mcp_http_config mc = {0};
	struct console_config cc = {0};
	struct http_config hc = {0};
	struct err err = {0};

	memset(f, 0, sizeof *f);
	signal(SIGPIPE, SIG_IGN);
	json_object_seed(0);
	fuzz_tmpdir("http", f->dir, sizeof f->dir);
	snprintf(f->db, sizeof f->db, "%s/airlock.db", f->dir);
	snprintf(f->pol, sizeof f->pol, "%s/airlock.yaml", f->dir);
	fuzz_write_file("http", f->pol, policy_default_yaml(), strlen(policy_default_yaml()));
	if (policy_load(f->pol, &f->policy, &err))
		fuzz_die("http", "policy_load", err.msg);
	if (store_create(&f->store, f->db, &err))
		fuzz_die("http", "store_create", err.msg);
	fuzz_http_insert(f->store, BOOK_ACCOUNT,
			 "{\"id\":\"A1\",\"name\":\"Acme\",\"segment\":\"smb\",\"tier\":2,"
			 "\"custom\":{\"n\":\"03\"}}");
	fuzz_http_insert(f->store, BOOK_ACCOUNT,
			 "{\"id\":\"A2\",\"name\":\"Beta\",\"region\":\"emea\",\"custom\":{}}");
	fuzz_http_insert(f->store, BOOK_CONTACT,
			 "{\"id\":\"C1\",\"account_id\":\"A1\",\"name\":\"Ann\","
			 "\"email\":\"ann@acme.example\",\"custom\":{}}");
	/* a cheap hash: the fuzzer signs in again after each sign-out */
	reviewer_pwhash_opslimit = 1;
	reviewer_pwhash_memlimit = 8192;
	fuzz_http_login(f);
	mc.db_path = f->db;
	mc.no_auth = 1;
	mc.agent = "fuzz";
	mc.policy = f->policy;
	cc.db_path = f->db;
	cc.policy = f->policy;
	hc.host = "127.0.0.1";
	hc.port = 0;
	hc.max_body = 1 << 20;
	hc.timeout_s = 1;
	hc.threads = 2;
	if (mcp_http_new(&f->mcp, &mc, &err) || console_new(&f->con, &cc, &err) ||
	    http_server_new(&f->srv, &hc, &err) || mcp_http_routes(f->mcp, f->srv, &err) ||
	    console_routes(f->con, f->srv, &err) || http_server_start(f->srv, &err))
		fuzz_die("http", "cannot start the server", err.msg);
	f->port = http_server_port(f->srv);
}

__attribute__((unused)) static void fuzz_http_fini(struct fuzz_http *f)
{
	http_server_free(f->srv);
	console_free(f->con);
	mcp_http_free(f->mcp);
	store_close(f->store);
	policy_free(f->policy);
	fuzz_rmdir(f->dir);
}

static int64_t fuzz_http_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when out[0..got) holds a whole answer: a final status line, headers,
 * and the body its Content-Length gives (1xx interim answers skipped). */
static int fuzz_http_complete(const char *out, size_t got)
{
	const char *p = out, *end = out + got, *hdr, *cl;

	for (;;) {
		hdr = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!hdr)
			return 0;
		if ((size_t)(end - p) > 9 && p[9] == '1') { /* 100 Continue */
			p = hdr + 4;
			continue;
		}
		cl = strcasestr(p, "\r\nContent-Length:");
		if (!cl || cl > hdr)
			return 1; /* no body announced */
		return (size_t)(end - (hdr + 4)) >= strtoull(cl + 17, NULL, 10);
	}
}

/* Sends req on a new connection and reads the answer into out (up to cap
 * bytes, the rest drained; NUL-terminated); returns its length. It stops
 * at the end of the first whole answer, when the server closes, or after
 * quiet_ms with nothing to read: a request the server still waits on (a
 * body shorter than its Content-Length) is given up, as a client would.
 * With half_close the sending side is shut after the request, so the server
 * sees the end of an incomplete request at once instead of after quiet_ms
 * (most fuzz inputs are incomplete: this is most of the harness's speed).
 * The probe does not half-close: libmicrohttpd 0.9.75 at times closes a
 * half-closed connection unanswered right after another client dropped an
 * incomplete request, which for an input is only an answer not checked, but
 * for the probe would read as a dead server. -1 when the server kept
 * sending for 8 s. */
static long fuzz_http_exchange(struct fuzz_http *f, const char *req, size_t len, char *out,
			       size_t cap, int quiet_ms, int half_close)
{
	struct sockaddr_in sa = {0};
	struct pollfd pfd;
	int64_t deadline = fuzz_http_ms() + 8000;
	size_t got = 0, sent = 0;
	char drain[4096];
	ssize_t n;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fuzz_die("http", "socket", strerror(errno));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)f->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		fuzz_die("http", "connect", strerror(errno));
	while (sent < len) {
		n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may close early on a bad request */
		sent += (size_t)n;
	}
	if (half_close)
		shutdown(fd, SHUT_WR);
	for (;;) {
		int64_t left = deadline - fuzz_http_ms();

		if (left <= 0) {
			close(fd);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, (int)(left < quiet_ms ? left : quiet_ms));
		if (n == 0)
			break;
		if (n < 0)
			continue;
		if (got < cap - 1)
			n = recv(fd, out + got, cap - 1 - got, 0);
		else
			n = recv(fd, drain, sizeof drain, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got < cap - 1) {
			got += (size_t)n;
			out[got] = '\0';
			if (fuzz_http_complete(out, got))
				break;
		}
	}
	if (half_close) {
		/* reset, not a close: libmicrohttpd keeps a connection whose head
		 * never ended until its deadline even after the client's FIN, and
		 * at this harness's pace those would soon fill the per-address
		 * limit and turn the probe away */
		struct linger lg = {1, 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(fd);
	out[got] = '\0';
	return (long)got;
}

/* How long to wait for an answer the server may not give: a request whose
 * head never ends, or whose body is shorter than its Content-Length, is one
 * the server rightly keeps waiting on (libmicrohttpd does not close it on a
 * half-close either), so such an input gets a short wait; a whole request
 * gets the long one its handler may need. */
static int fuzz_http_quiet_ms(const char *req, size_t len)
{
	const char *end = memmem(req, len, "\r\n\r\n", 4), *cl;
	size_t head, want;

	if (!end)
		return 5;
	head = (size_t)(end - req) + 4;
	for (cl = req; (cl = memmem(cl, head - (size_t)(cl - req), "\n", 1)) != NULL; cl++)
		if (!strncasecmp(cl + 1, "content-length:", 15)) {
			want = strtoull(cl + 16, NULL, 10);
			return len - head < want ? 5 : 100;
		}
	return 100;
}

/* Every status line in the answer: HTTP/1.x NNN, never 500. */
static void fuzz_http_check_answer(const char *ans, long len, const char *req)
{
	const char *p = ans;

	if (len <= 0)
		return; /* closed without an answer: MHD does that to a broken request */
	if (strncmp(ans, "HTTP/1.", 7) != 0)
		fuzz_die("http", "an answer without a status line", ans);
	while ((p = strstr(p, "HTTP/1.")) != NULL) {
		if (!strncmp(p + 8, " 500", 4) && (p == ans || p[-1] == '\n'))
			fuzz_die("http", "a 500 answer", req);
		p += 7;
	}
}

/* The input with $S, $T and $P filled in. */
static char *fuzz_http_expand(struct fuzz_http *f, const unsigned char *data, size_t size,
			      size_t *len)
{
	char port[16], *out = malloc(size * 40 + 16), *o;
	size_t i;

	if (!out)
		fuzz_die("http", "out of memory", NULL);
	snprintf(port, sizeof port, "%d", f->port);
	o = out;
	for (i = 0; i < size; i++) {
		const char *sub = NULL;

		if (data[i] == '$' && i + 1 < size) {
			if (data[i + 1] == 'S')
				sub = f->who.id;
			else if (data[i + 1] == 'T')
				sub = f->who.csrf;
			else if (data[i + 1] == 'P')
				sub = port;
		}
		if (sub) {
			memcpy(o, sub, strlen(sub));
			o += strlen(sub);
			i++;
		} else {
			*o++ = (char)data[i];
		}
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
}

__attribute__((unused)) static void fuzz_http_one(struct fuzz_http *f, const unsigned char *data,
						  size_t size)
{
	static char ans[65536];
	struct reviewer_session rs;
	struct err err = {0};
	char probe[128], *req;
	size_t len;
	long n;

	if (reviewer_session_get(f->store, f->who.id, &rs, &err) != 0)
		fuzz_http_login(f);
	req = fuzz_http_expand(f, data, size, &len);
	n = fuzz_http_exchange(f, req, len, ans, sizeof ans, fuzz_http_quiet_ms(req, len), 1);
	if (n < 0)
		fuzz_die("http", "the server kept sending for 8 s", req);
	if (getenv("FUZZ_HTTP_DEBUG"))
		fprintf(stderr, "--- %ld bytes:\n%s\n---\n", n, ans);
	fuzz_http_check_answer(ans, n, req);
	free(req);
	/* the server still answers */
	snprintf(probe, sizeof probe, "GET /api/me HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", f->port);
	n = fuzz_http_exchange(f, probe, strlen(probe), ans, sizeof ans, 8000, 0);
	if (n <= 0 || strncmp(ans, "HTTP/1.1 401", 12) != 0)
		fuzz_die("http", "the server stopped answering", ans);
}

#endif
