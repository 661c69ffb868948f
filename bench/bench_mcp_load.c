/* bench_mcp_load.c — a closed-loop load generator for MCP over Streamable
 * HTTP: C concurrent clients on loopback, each with its own session
 * (initialize, notifications/initialized; a server that gives no
 * Mcp-Session-Id is stateless and gets none), then tools/call as fast as the
 * server answers for a bounded time. Prints one JSON line with throughput
 * and latency percentiles of the tools/call requests after the warm-up.
 *
 * usage: bench_mcp_load PORT PATH CLIENTS SECONDS WARMUP_SECONDS TOOL ARGS_JSON [TOKEN]
 *
 * With BENCH_RATE=R in the environment each client calls R times a second
 * (open loop: a call's latency counts from when it was due, so a stalled
 * server is not excused by the calls it kept from being sent), else as
 * fast as the server answers. With BENCH_RANDOM_MAX=N, each "@RANDOM@" in
 * ARGS_JSON becomes a random number from 1 to N, zero-padded to 7 digits,
 * per call (random records, not one cached page). With BENCH_ARGS_FILE=F,
 * each call's arguments are a line of F picked at random (ARGS_JSON is
 * then unused): random pages whose answers a second server was given
 * beforehand (bench/readpath.sh). Two of these at once measure one kind of
 * call under load from another (bench/lanes.sh). With BENCH_SAMPLES=FILE,
 * every latency counted (after the warm-up) is also written to FILE, one
 * per line in microseconds, so that runs can be pooled (bench/upstream.sh).
 *
 * One thread, epoll, HTTP/1.1 keep-alive; understands Content-Length and
 * chunked bodies. Loopback only: the address is always 127.0.0.1. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum phase { P_INIT, P_NOTIFIED, P_CALL };

struct client {
	int fd;
	enum phase phase;
	char sid[128];
	char *out;
	size_t out_len, out_off;
	char in[1 << 20];
	size_t in_len;
	double sent_at;
	double due_at; /* BENCH_RATE: when the next call is due; 0 = queued */
};

static const char *path_arg, *tool_arg, *args_arg, *token_arg;
static int port_arg;
static double *lat;
static size_t nlat, lat_cap;
static long errors, calls_total;
static double rate_arg; /* calls per second per client; 0 = closed loop */
static long random_max; /* BENCH_RANDOM_MAX */
static char **arg_lines; /* BENCH_ARGS_FILE */
static size_t narg_lines;

static void die(const char *what);

/* ARGS_JSON with every @RANDOM@ replaced (see the top). */
static void args_expand(char *out, size_t len)
{
	const char *p = args_arg, *m;
	size_t o = 0;
	int n;

	if (narg_lines)
		p = arg_lines[(size_t)random() % narg_lines];
	while (random_max > 0 && (m = strstr(p, "@RANDOM@")) != NULL && o < len) {
		n = snprintf(out + o, len - o, "%.*s%07ld", (int)(m - p), p,
			     1 + (long)(random() % random_max));
		if (n < 0 || (size_t)n >= len - o)
			die("arguments too long");
		o += (size_t)n;
		p = m + 8;
	}
	if ((size_t)snprintf(out + o, len - o, "%s", p) >= len - o)
		die("arguments too long");
}

/* Reads BENCH_ARGS_FILE: one JSON object of arguments a line. */
static void args_file_load(const char *path)
{
	char line[2048];
	size_t cap = 0, n;
	FILE *f = fopen(path, "r");

	if (!f)
		die(path);
	while (fgets(line, sizeof line, f)) {
		n = strcspn(line, "\r\n");
		if (!n)
			continue;
		line[n] = '\0';
		if (narg_lines == cap) {
			cap = cap ? cap * 2 : 256;
			arg_lines = realloc(arg_lines, cap * sizeof *arg_lines);
			if (!arg_lines)
				die("malloc");
		}
		if (!(arg_lines[narg_lines++] = strdup(line)))
			die("malloc");
	}
	fclose(f);
	if (!narg_lines)
		die("BENCH_ARGS_FILE holds no arguments");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_mcp_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void queue_request(struct client *c, const char *body, long id)
{
	char hdr[1024];
	char *b;
	size_t bl;
	int hl;

	(void)id;
	bl = strlen(body);
	hl = snprintf(hdr, sizeof hdr,
		      "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
		      "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\n"
		      "%s%s%s%s%s%sContent-Length: %zu\r\n\r\n",
		      path_arg, port_arg, c->sid[0] ? "Mcp-Session-Id: " : "", c->sid,
		      c->sid[0] ? "\r\n" : "", token_arg ? "Authorization: Bearer " : "",
		      token_arg ? token_arg : "", token_arg ? "\r\n" : "", bl);
	b = malloc((size_t)hl + bl);
	if (!b)
		die("malloc");
	memcpy(b, hdr, (size_t)hl);
	memcpy(b + hl, body, bl);
	free(c->out);
	c->out = b;
	c->out_len = (size_t)hl + bl;
	c->out_off = 0;
	/* a paced call is late from when it was due, not from when sent */
	c->sent_at = c->due_at > 0 ? c->due_at : now_s();
	c->due_at = 0;
}

static void next_request(struct client *c)
{
	static long id = 1;
	char body[4096], args[2048];

	if (c->phase == P_INIT)
		snprintf(body, sizeof body,
			 "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"initialize\",\"params\":{"
			 "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
			 "\"name\":\"bench\",\"version\":\"1\"}}}",
			 id);
	else if (c->phase == P_NOTIFIED)
		snprintf(body, sizeof body,
			 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
	else {
		args_expand(args, sizeof args);
		snprintf(body, sizeof body,
			 "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\",\"params\":{"
			 "\"name\":\"%s\",\"arguments\":%s}}",
			 id, tool_arg, args);
	}
	id++;
	queue_request(c, body, id);
}

/* Returns the length of a complete response in c->in, 0 if incomplete;
 * status, body and blen describe it (the body is de-chunked in place). */
static size_t parse_response(struct client *c, int *status, char **body, size_t *blen)
{
	char *end, *p, *cl, *te, *sid;
	size_t hlen, clen, off, total;

	c->in[c->in_len] = '\0';
	end = strstr(c->in, "\r\n\r\n");
	if (!end)
		return 0;
	hlen = (size_t)(end - c->in) + 4;
	*status = atoi(c->in + 9);
	/* Search the header only: a header that is absent must not cost a
	 * scan of the whole body (this generator shares the CPUs with the
	 * server it measures). */
	*end = '\0';
	cl = strcasestr(c->in, "\r\ncontent-length:");
	te = strcasestr(c->in, "\r\ntransfer-encoding: chunked");
	sid = strcasestr(c->in, "\r\nmcp-session-id:");
	*end = '\r';
	if (sid && !c->sid[0]) {
		sid += 17;
		while (*sid == ' ')
			sid++;
		snprintf(c->sid, sizeof c->sid, "%.*s", (int)strcspn(sid, "\r\n"), sid);
	}
	if (cl) {
		clen = strtoul(cl + 17, NULL, 10);
		if (c->in_len < hlen + clen)
			return 0;
		*body = c->in + hlen;
		*blen = clen;
		return hlen + clen;
	}
	if (te) {
		/* Walk the chunks; stop at the zero chunk and its CRLF. */
		off = hlen;
		total = 0;
		for (;;) {
			p = memmem(c->in + off, c->in_len - off, "\r\n", 2);
			if (!p)
				return 0;
			clen = strtoul(c->in + off, NULL, 16);
			if (clen == 0) {
				if (c->in_len < (size_t)(p - c->in) + 4)
					return 0;
				*body = c->in + hlen;
				*blen = total;
				return (size_t)(p - c->in) + 4;
			}
			if (c->in_len < (size_t)(p - c->in) + 2 + clen + 2)
				return 0;
			memmove(c->in + hlen + total, p + 2, clen);
			total += clen;
			/* data only moves left, onto bytes already read */
			off = (size_t)(p - c->in) + 2 + clen + 2;
		}
	}
	*body = c->in + hlen;
	*blen = 0;
	return hlen;
}

static int client_connect(void)
{
	struct sockaddr_in a = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket");
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port_arg);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a))
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct epoll_event ev, evs[256];
	struct client *cs;
	double start, warm_end, stop, t;
	int nclients, ep, i, n, status;
	long seconds, warmup;
	size_t used, blen;
	char *body;
	ssize_t r;

	if (argc < 8) {
		fprintf(stderr, "usage: bench_mcp_load PORT PATH CLIENTS SECONDS WARMUP TOOL ARGS [TOKEN]\n");
		return 2;
	}
	port_arg = (int)strtol(argv[1], NULL, 10);
	path_arg = argv[2];
	nclients = (int)strtol(argv[3], NULL, 10);
	seconds = strtol(argv[4], NULL, 10);
	warmup = strtol(argv[5], NULL, 10);
	tool_arg = argv[6];
	args_arg = argv[7];
	token_arg = argc > 8 && argv[8][0] ? argv[8] : NULL;
	rate_arg = getenv("BENCH_RATE") ? strtod(getenv("BENCH_RATE"), NULL) : 0;
	if (rate_arg < 0 || rate_arg > 100000)
		return 2;
	random_max = getenv("BENCH_RANDOM_MAX") ? strtol(getenv("BENCH_RANDOM_MAX"), NULL, 10) : 0;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	if (getenv("BENCH_ARGS_FILE"))
		args_file_load(getenv("BENCH_ARGS_FILE"));
	if (nclients < 1 || nclients > 1000 || seconds < 1 || seconds > 600)
		return 2;
	lat_cap = 1 << 22;
	lat = malloc(lat_cap * sizeof *lat);
	cs = calloc((size_t)nclients, sizeof *cs);
	ep = epoll_create1(0);
	if (!lat || !cs || ep < 0)
		die("setup");
	for (i = 0; i < nclients; i++) {
		cs[i].fd = client_connect();
		next_request(&cs[i]);
		ev.events = EPOLLIN | EPOLLOUT;
		ev.data.ptr = &cs[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev))
			die("epoll_ctl");
	}
	start = now_s();
	warm_end = start + (double)warmup;
	stop = warm_end + (double)seconds;
	while ((t = now_s()) < stop) {
		int wait_ms = 100;

		/* paced clients whose next call is due send it now */
		for (i = 0; rate_arg > 0 && i < nclients; i++) {
			struct client *c = &cs[i];

			if (c->due_at <= 0)
				continue;
			if (c->due_at <= t) {
				next_request(c);
				ev.events = EPOLLIN | EPOLLOUT;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			} else if ((c->due_at - t) * 1e3 < wait_ms) {
				wait_ms = (int)((c->due_at - t) * 1e3);
			}
		}
		n = epoll_wait(ep, evs, 256, wait_ms);
		for (i = 0; i < n; i++) {
			struct client *c = evs[i].data.ptr;

			if ((evs[i].events & EPOLLOUT) && c->out_off < c->out_len) {
				r = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
				if (r > 0)
					c->out_off += (size_t)r;
				if (c->out_off == c->out_len) {
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				}
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			r = read(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				fprintf(stderr, "bench_mcp_load: server closed a connection\n");
				return 1;
			}
			c->in_len += (size_t)r;
			used = parse_response(c, &status, &body, &blen);
			if (!used)
				continue;
			t = now_s();
			if (c->phase == P_CALL) {
				calls_total++;
				if (status != 200 || !memmem(body, blen, "\"result\"", 8) ||
				    memmem(body, blen, "\"isError\":true", 14))
					errors++;
				else if (t >= warm_end && c->sent_at >= warm_end && nlat < lat_cap)
					lat[nlat++] = t - c->sent_at;
			} else if (c->phase == P_INIT) {
				/* a stateless server (dbhub) gives no session id */
				if (status != 200 || !memmem(body, blen, "\"result\"", 8)) {
					fprintf(stderr, "bench_mcp_load: initialize failed (%d): %.300s\n",
						status, c->in);
					return 1;
				}
				c->phase = P_NOTIFIED;
			} else {
				c->phase = P_CALL;
			}
			memmove(c->in, c->in + used, c->in_len - used);
			c->in_len -= used;
			if (rate_arg > 0 && c->phase == P_CALL) {
				/* the next call is due one period after this one was;
				 * it is sent by the loop above */
				c->due_at = c->sent_at + 1.0 / rate_arg;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				continue;
			}
			next_request(c);
			ev.events = EPOLLIN | EPOLLOUT;
			ev.data.ptr = c;
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
	qsort(lat, nlat, sizeof *lat, cmp_double);
#define PCT(p) (nlat ? lat[(size_t)((double)nlat * (p))] * 1e3 : 0.0)
	printf("{\"clients\":%d,\"seconds\":%ld,\"requests\":%zu,\"errors\":%ld,\"rps\":%.1f,"
	       "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
	       nclients, seconds, nlat, errors, (double)nlat / (double)seconds, PCT(0.5), PCT(0.9),
	       PCT(0.99), PCT(0.999), nlat ? lat[nlat - 1] * 1e3 : 0.0);
#undef PCT
	if (getenv("BENCH_SAMPLES")) {
		FILE *f = fopen(getenv("BENCH_SAMPLES"), "w");
		size_t k;

		if (!f)
			die("BENCH_SAMPLES");
		for (k = 0; k < nlat; k++)
			fprintf(f, "%.1f\n", lat[k] * 1e6);
		if (fclose(f))
			die("BENCH_SAMPLES");
	}
	for (i = 0; i < nclients; i++) {
		close(cs[i].fd);
		free(cs[i].out);
	}
	free(cs);
	free(lat);
	return errors > calls_total / 100 ? 1 : 0;
}
