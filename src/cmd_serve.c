/* cmd_serve.c — `airlock serve`: the HTTP server with the MCP connectors
 * and the reviewer's console, and the thread that posts notifications.
 * Runs until SIGINT or SIGTERM. */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "cli.h"
#include "console.h"
#include "fmt.h"
#include "http.h"
#include "mcp.h"
#include "mcp_http.h"
#include "store.h"
#include "notify.h"
#include "oauth_http.h"
#include "policy.h"

/* --slow-threads when the policy names upstreams and the flag is not given */
#define SERVE_UPSTREAM_SLOW_THREADS 64
/* how often serve looks for a text index an import beside it left behind */
#define SERVE_INDEX_CHECK_SECONDS 5
#include "upstream.h"

#define DEFAULT_LISTEN "127.0.0.1:8750"

/* "127.0.0.1:8750", "[::1]:8750", "localhost:0" → host and port. */
static int parse_listen(const char *s, char *host, size_t len, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;
	size_t n;

	if (!colon || colon == s)
		return -1;
	n = (size_t)(colon - s);
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return -1;
		s++;
		n -= 2;
	}
	if (n >= len)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static const char *db_path(struct cli *cli)
{
	return store_target(cli->db_path);
}

/* Where links in notifications point: --public-url, else the policy's
 * notify.console_url, else this server's own address. No trailing '/'. */
static int console_base(const char *public_url, const struct policy *p, const char *host, int port,
			int tls, char *out, size_t len, struct err *err)
{
	size_t n;
	int rc;

	/* a cut URL would send reviewers somewhere else: refused, not cut */
	if (public_url)
		rc = fmt_buf(out, len, err, "--public-url", "%s", public_url);
	else if (p && p->notify.console_url)
		rc = fmt_buf(out, len, err, "notify.console_url", "%s", p->notify.console_url);
	else
		rc = fmt_buf(out, len, err, "--host",
			     strchr(host, ':') ? "%s://[%s]:%d" : "%s://%s:%d", tls ? "https" : "http",
			     host, port);
	if (rc)
		return rc;
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

/* A PEM file into *out (malloc'd, NUL-terminated), at most 1 MiB; 0 or a
 * printed error. */
static int read_pem(struct cli *cli, const char *opt, const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	char *buf;

	*out = NULL;
	if (!f)
		return cli_fail(cli, "%s: cannot open %s: %s", opt, path, strerror(errno));
	buf = malloc((1u << 20) + 1);
	if (!buf) {
		fclose(f);
		return cli_fail(cli, "out of memory");
	}
	n = fread(buf, 1, 1u << 20, f);
	if (ferror(f) || n == 0 || n == (1u << 20) || !memmem(buf, n, "-----BEGIN ", 11)) {
		fclose(f);
		free(buf);
		return cli_fail(cli, "%s: %s is not a PEM file (or larger than 1 MiB)", opt, path);
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	return 0;
}

static int url_valid(const char *u)
{
	if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
		return 0;
	for (; *u; u++)
		if ((unsigned char)*u <= ' ' || *u == '<' || *u == '>' || *u == '|' || *u == '"')
			return 0;
	return 1;
}

/* Waits for SIGINT or SIGTERM and returns it. Meanwhile, every
 * SERVE_INDEX_CHECK_SECONDS, builds the book's text index when an import
 * that ran beside this server left it behind: until then the server's text
 * searches scan, with the same answers but at a cost that grows with the
 * book. The build holds the book's write lock as long as it takes (about a
 * second per million accounts), as the next CLI command's would. */
static int serve_wait(struct cli *cli, const sigset_t *set)
{
	const struct timespec tick = {SERVE_INDEX_CHECK_SECONDS, 0};
	struct err err = {0};
	int sig, built = 0, opened = 0;

	for (;;) {
		sig = sigtimedwait(set, NULL, &tick);
		if (sig > 0)
			return sig;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		/* opened once (a failure is said once); the connectors have
		 * their own connections */
		if (!cli->store && (opened++ || !cli_store(cli)))
			continue;
		err = (struct err){0};
		if (book_text_index_build(cli->store, &built, &err))
			fprintf(stderr, "airlock serve: text index: %s (tried again in %d s)\n",
				err.msg, SERVE_INDEX_CHECK_SECONDS);
		else if (built)
			fprintf(stderr, "airlock serve: the book's text index, left behind by an"
					" import, is built\n");
	}
}

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	enum {
		OPT_LISTEN = 0x2201,
		OPT_NOAUTH,
		OPT_AGENT,
		OPT_IV,
		OPT_THREADS,
		OPT_PUBLIC,
		OPT_MAXCONN,
		OPT_PERADDR,
		OPT_HEADTO,
		OPT_BODYRATE,
		OPT_PERTOKEN,
		OPT_SESSIDLE,
		OPT_SIGNINS,
		OPT_SLOW,
		OPT_SCAN_BUDGET,
		OPT_LOOKUP_BUDGET,
		OPT_INSECURE,
		OPT_TLS_CERT,
		OPT_TLS_KEY
	};
	static const struct option opts[] = {CLI_COMMON_OPTIONS,
					     {"listen", required_argument, NULL, OPT_LISTEN},
					     {"insecure-http", no_argument, NULL, OPT_INSECURE},
					     {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
					     {"tls-key", required_argument, NULL, OPT_TLS_KEY},
					     {"no-auth", no_argument, NULL, OPT_NOAUTH},
					     {"agent", required_argument, NULL, OPT_AGENT},
					     {"instruction-version", required_argument, NULL, OPT_IV},
					     {"threads", required_argument, NULL, OPT_THREADS},
					     {"public-url", required_argument, NULL, OPT_PUBLIC},
					     {"max-connections", required_argument, NULL, OPT_MAXCONN},
					     {"connections-per-address", required_argument, NULL,
					      OPT_PERADDR},
					     {"head-timeout", required_argument, NULL, OPT_HEADTO},
					     {"body-min-rate", required_argument, NULL, OPT_BODYRATE},
					     {"sessions-per-token", required_argument, NULL,
					      OPT_PERTOKEN},
					     {"session-idle-minutes", required_argument, NULL,
					      OPT_SESSIDLE},
					     {"signins-per-address", required_argument, NULL,
					      OPT_SIGNINS},
					     {"slow-threads", required_argument, NULL, OPT_SLOW},
					     {"scan-budget", required_argument, NULL, OPT_SCAN_BUDGET},
					     {"lookup-budget", required_argument, NULL,
					      OPT_LOOKUP_BUDGET},
					     {NULL, 0, NULL, 0}};
	/* the limits that keep one client from starving the others */
	static const struct {
		int opt;
		const char *name;
		long min, max, def;
	} limits[] = {
	    {OPT_MAXCONN, "--max-connections", 16, 60000, 2048},
	    {OPT_PERADDR, "--connections-per-address", 1, 60000, 64},
	    {OPT_HEADTO, "--head-timeout", 1, 3600, 10},
	    {OPT_BODYRATE, "--body-min-rate", 1, 1L << 30, 1024},
	    {OPT_PERTOKEN, "--sessions-per-token", 1, 100000, 100},
	    {OPT_SESSIDLE, "--session-idle-minutes", 1, 7 * 24 * 60, 30},
	    {OPT_SIGNINS, "--signins-per-address", 1, 100000, 20},
	    {OPT_SLOW, "--slow-threads", 1, 64, 1},
	};
	long lim[sizeof limits / sizeof limits[0]];
	size_t li;
	const char *listen = DEFAULT_LISTEN;
	int insecure = 0; /* --insecure-http: plain HTTP beyond loopback, said aloud */
	struct mcp_http_config mc = {0};
	struct http_config hc = {0};
	struct http_server *hs = NULL;
	struct mcp_http *mh = NULL;
	struct console_config cc = {0};
	struct console *con = NULL;
	struct oauth_http *oh = NULL;
	struct notify_config nc = {0};
	struct notify_thread *nt = NULL;
	const char *public_url = NULL;
	const char *tls_cert = NULL, *tls_key = NULL; /* --tls-cert, --tls-key: files */
	char *cert_pem = NULL, *key_pem = NULL;
	struct err err = {0};
	char host[64], base[2100], dbabs[PATH_MAX], polabs[PATH_MAX];
	long threads = 4, budget;
	int c, h, port, sig, rc = CLI_OK, slow_given = 0;
	sigset_t set;

	for (li = 0; li < sizeof limits / sizeof limits[0]; li++)
		lim[li] = limits[li].def;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		for (li = 0; li < sizeof limits / sizeof limits[0]; li++)
			if (c == limits[li].opt)
				break;
		if (li < sizeof limits / sizeof limits[0]) {
			if (cli_parse_long(cli, limits[li].name, optarg, limits[li].min,
					   limits[li].max, &lim[li]))
				return CLI_USAGE;
			slow_given |= c == OPT_SLOW;
		} else if (c == OPT_LISTEN)
			listen = optarg;
		else if (c == OPT_INSECURE)
			insecure = 1;
		else if (c == OPT_TLS_CERT)
			tls_cert = optarg;
		else if (c == OPT_TLS_KEY)
			tls_key = optarg;
		else if (c == OPT_NOAUTH)
			mc.no_auth = 1;
		else if (c == OPT_AGENT)
			mc.agent = optarg;
		else if (c == OPT_IV)
			mc.instruction_version = optarg;
		else if (c == OPT_PUBLIC)
			public_url = optarg;
		else if (c == OPT_THREADS) {
			if (cli_parse_long(cli, "--threads", optarg, 1, 64, &threads))
				return CLI_USAGE;
		} else if (c == OPT_SCAN_BUDGET || c == OPT_LOOKUP_BUDGET) {
			/* milliseconds a read tool may run (mcp.h); 0 = no limit */
			if (cli_parse_long(cli, c == OPT_SCAN_BUDGET ? "--scan-budget"
								     : "--lookup-budget",
					   optarg, 0, 3600000, &budget))
				return CLI_USAGE;
			mcp_budget_set(c == OPT_SCAN_BUDGET ? MCP_BUDGET_SCAN : MCP_BUDGET_LOOKUP,
				       (int)budget);
		} else if ((h = cli_common_option(cli, c, optarg)) < 0)
			return CLI_OK;
		else if (h == 0)
			return cli_usage(cli, "unknown option");
	}
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	if (parse_listen(listen, host, sizeof host, &port))
		return cli_usage(cli, "--listen '%s' is not ADDR:PORT (e.g. 127.0.0.1:8750)", listen);
	if (mc.no_auth && !http_is_loopback(host))
		return cli_usage(cli, "--no-auth serves without credentials, so it listens only on a "
				      "loopback address (127.0.0.1, ::1, localhost), not '%s'",
				 host);
	if (!tls_cert != !tls_key)
		return cli_usage(cli, "--tls-cert and --tls-key go together: the certificate (PEM) "
				      "and its private key (PEM)");
	if (tls_cert && insecure)
		return cli_usage(cli, "--insecure-http is for plain HTTP; with --tls-cert airlock "
				      "serves HTTPS");
	/* Tokens, session cookies and the book would cross the network in the
	 * clear: only an operator who says so (a TLS proxy in front, a private
	 * link) gets that. */
	if (!http_is_loopback(host) && !insecure && !tls_cert)
		return cli_usage(cli, "--listen '%s' is not a loopback address and airlock serves "
				      "plain HTTP: bearer tokens and reviewers' sessions would cross "
				      "the network in the clear. Listen on 127.0.0.1 behind a TLS "
				      "proxy, or pass --insecure-http to accept that",
				 host);
	if (!http_is_loopback(host) && !tls_cert)
		fprintf(stderr, "airlock serve: WARNING: --insecure-http: plain HTTP on %s; tokens "
				"and sessions are readable by anyone on the path\n",
			host);
	if (mc.agent && !mc.no_auth)
		return cli_usage(cli, "--agent is for --no-auth: with tokens, the token names the "
				      "agent");
	if (public_url && (!url_valid(public_url) || strlen(public_url) > 2000))
		return cli_usage(cli, "--public-url '%s' is not an http:// or https:// URL", public_url);
	if (mc.agent && !mcp_agent_valid(mc.agent))
		return cli_usage(cli, "--agent: 1 to 64 letters, digits, '.', '_' or '-'");
	/* Open (and migrate) the database once here, so a bad path fails now
	 * rather than on the first request. */
	if (tls_cert && (read_pem(cli, "--tls-cert", tls_cert, &cert_pem) ||
			 read_pem(cli, "--tls-key", tls_key, &key_pem))) {
		free(cert_pem);
		return CLI_FAIL;
	}
	hc.tls_cert_pem = cert_pem;
	hc.tls_key_pem = key_pem;
	if (!cli_policy(cli, 1)) {
		free(cert_pem);
		free(key_pem);
		return CLI_FAIL;
	}
	mc.policy = cli->policy;
	if (!cli_server_store(cli)) {
		free(cert_pem);
		free(key_pem);
		return CLI_FAIL;
	}
	mc.db_path = db_path(cli);
	hc.host = host;
	hc.port = port;
	hc.max_body = MCP_MAX_MESSAGE;
	hc.timeout_s = 30;
	hc.threads = (unsigned)threads;
	hc.max_conns = (unsigned)lim[0];
	hc.max_conns_per_addr = (unsigned)lim[1];
	hc.head_timeout_s = (unsigned)lim[2];
	hc.body_min_rate = (unsigned)lim[3];
	mc.sessions_per_token = (unsigned)lim[4];
	mc.idle_seconds = (unsigned)lim[5] * 60;
	cc.signins_per_address = (unsigned)lim[6];
	hc.slow_threads = (unsigned)lim[7];
	/* An upstream tool's call runs apart from the cheap ones (it may take
	 * the upstream's whole timeout) but waits on the network, not the CPU:
	 * one thread would let one agent's call hold up every other's, and 16
	 * held 64 agents to 0.4x of a 20 ms upstream's throughput
	 * (bench/README). They have a lane of their own at the normal CPU
	 * priority (the slow lane's lower one delayed each answer whenever the
	 * machine was busy), as many threads as --slow-threads says, 64 when
	 * it says nothing; scans keep the slow lane. */
	if (cli->policy->nupstreams > 0)
		hc.wait_threads = slow_given ? hc.slow_threads : SERVE_UPSTREAM_SLOW_THREADS;
	/* Block the stop signals in every thread (the workers inherit the
	 * mask) and wait for them here, so shutdown runs on this thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* libcurl's global state is set up once, before any thread uses it */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		rc = cli_fail(cli, "cannot initialise libcurl");
		goto out;
	}
	/* no request waits for a WAL checkpoint: a thread does them */
	if (store_checkpointer_start(mc.db_path, &err)) {
		rc = cli_fail_err(cli, &err);
		goto out;
	}
	cc.db_path = mc.db_path;
	cc.policy = cli->policy;
	cc.secure_cookie = (public_url && !strncmp(public_url, "https://", 8)) || tls_cert;
	/* OAuth's URLs (issuer, resources) are the public ones behind a proxy */
	mc.public_url = public_url;
	cc.public_url = public_url;
	if (mcp_http_new(&mh, &mc, &err) || console_new(&con, &cc, &err) ||
	    oauth_http_new(&oh, mc.db_path, public_url, &err) ||
	    http_server_new(&hs, &hc, &err) || mcp_http_routes(mh, hs, &err) ||
	    oauth_http_routes(oh, hs, &err) || console_routes(con, hs, &err) ||
	    http_server_start(hs, &err)) {
		rc = cli_fail_err(cli, &err);
		goto out;
	}
	if (console_base(public_url, cli->policy, host, http_server_port(hs), tls_cert != NULL, base,
			 sizeof base, &err)) {
		rc = cli_fail_err(cli, &err);
		goto out;
	}
	if (cli->policy->notify.webhook) {
		nc.webhook = cli->policy->notify.webhook;
		nc.console_url = base;
		if (notify_thread_start(&nt, mc.db_path, &nc, &err)) {
			rc = cli_fail_err(cli, &err);
			goto out;
		}
	}
	fprintf(stderr,
		"airlock serve: listening on %s://%s%s%s:%d (MCP: /mcp/read, /mcp/write)%s\n",
		tls_cert ? "https" : "http", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
		http_server_port(hs), mc.no_auth ? " WITHOUT AUTHENTICATION (--no-auth)" : "");
	/* absolute paths: the operator's log must say exactly which files */
	fprintf(stderr, "airlock serve: book %s, policy %s\n",
		realpath(mc.db_path, dbabs) ? dbabs : mc.db_path,
		realpath(cli_policy_path(cli), polabs) ? polabs : cli_policy_path(cli));
	fprintf(stderr, "airlock serve: console at %s/ (reviewers: airlock reviewer add NAME)%s\n",
		base, nt ? "; notifications to the policy's webhook" : "");
	sig = serve_wait(cli, &set);
	if (sig > 0)
		fprintf(stderr, "airlock serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
out:
	http_server_free(hs);
	notify_thread_stop(nt);
	console_free(con);
	oauth_http_free(oh);
	mcp_http_free(mh);
	upstream_shared_close(); /* after the connectors that call them */
	store_checkpointer_stop();
	curl_global_cleanup();
	if (key_pem)
		memset(key_pem, 0, strlen(key_pem));
	free(key_pem);
	free(cert_pem);
	return rc;
}
