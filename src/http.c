/* http.c — libmicrohttpd behind http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "text.h"

#define MAX_ROUTES 32

/* A connection from accept to close, as the watchdog sees it: which part of
 * a request it is in and since when. MHD's idle timeout restarts with every
 * byte, so a client sending one header line every few seconds would hold a
 * connection for ever; these deadlines count from the phase's start. */
enum phase {
	PHASE_HEAD, /* waiting for a request's head (or the next one) */
	PHASE_BODY, /* the head is in; reading the body */
	PHASE_BUSY  /* being handled or answered: our time, not the client's */
};

struct track {
	MHD_socket fd;
	unsigned char who[8]; /* the client: IPv4 address, or IPv6 /64 */
	enum phase phase;
	struct timespec since;
	size_t body; /* bytes of body so far */
	int cut;     /* shut down by the watchdog */
	struct track *prev, *next;
};

struct route {
	char path[64];
	http_handler fn;
	http_classifier classify; /* NULL: every request takes the fast lane */
	http_io_ok io_ok;         /* NULL: none runs on the I/O thread */
	void *ctx;
};

/* A handler thread and the lane it serves. */
struct handler {
	struct http_server *s;
	enum http_lane lane;
	pthread_t t;
};

struct http_server {
	struct http_config cfg;
	char host[64];
	struct MHD_Daemon *d;
	int port;
	int nroutes;
	struct route routes[MAX_ROUTES];
	pthread_mutex_t lock;
	pthread_cond_t drained;
	int taken;    /* requests queued and not answered yet */
	int stopping; /* http_server_free has begun: no new requests */
	/* The handler threads and their queues, one per lane, first come
	 * first served: a connection waits for the next free handler of its
	 * lane, not for the other connections its I/O thread happens to
	 * carry, and a cheap call never waits behind an expensive one (the
	 * fast lane's threads classify each request and pass the expensive
	 * ones on to the slow lane's own threads). */
	struct handler *handlers;
	unsigned nhandlers;
	pthread_mutex_t qlock; /* the queues' own, so it never waits on lock */
	struct conn *queue_head[HTTP_LANES], *queue_tail[HTTP_LANES];
	pthread_cond_t queued[HTTP_LANES];
	int quit[HTTP_LANES]; /* a lane's threads end once its queue is empty */
	/* The watchdog: every open connection, and a thread that shuts down
	 * those past their deadline. tlock is held while a connection's
	 * socket is shut down, and MHD says CLOSED (which takes tlock) before
	 * it closes the socket, so the descriptor cannot be another's then. */
	pthread_mutex_t tlock;
	pthread_cond_t tquit_cond;
	struct track *tracks;
	unsigned ntracks;
	unsigned long refused_reserve; /* since the last report */
	time_t reserve_reported;
	pthread_t watchdog;
	int watchdog_on, tquit;
	unsigned long cut_head, cut_body; /* since the last report */
	time_t reported;
	pthread_mutex_t loglock; /* on_mhd_error's window */
	time_t log_window;
	unsigned log_lines;
	unsigned long log_dropped;
};

/* Per-request state between MHD's calls. */
struct conn {
	char *body;
	size_t len, cap;
	int too_large;
	/* Once the body is in, the connection is suspended until its answer is
	 * ready: queued for a handler thread, then maybe deferred (http_defer). */
	struct http_server *srv;
	struct MHD_Connection *mhd;
	int route;
	const char *url, *method; /* MHD's, valid until the request completes */
	int taken;                /* queued; answer is sent once resumed */
	int classified;           /* its lane is known */
	void *kept;               /* http_keep's, until the handler runs */
	void (*kept_drop)(void *);
	struct http_response answer;
	struct conn *next;
};

int http_is_loopback(const char *host)
{
	struct in_addr a4;

	if (!strcasecmp(host, "localhost") || !strcmp(host, "::1") || !strcmp(host, "[::1]"))
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

int http_server_new(struct http_server **out, const struct http_config *cfg, struct err *err)
{
	struct http_server *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	s->cfg = *cfg;
	if (snprintf(s->host, sizeof s->host, "%s", cfg->host) >= (int)sizeof s->host) {
		free(s);
		return err_set(err, AIRLOCK_EINVAL, "listen address '%s' is too long", cfg->host);
	}
	s->cfg.host = s->host;
	s->port = cfg->port; /* the bound one once started, when this is 0 */
	if (!s->cfg.max_body)
		s->cfg.max_body = 4u << 20;
	if (!s->cfg.timeout_s)
		s->cfg.timeout_s = 30;
	if (!s->cfg.threads)
		s->cfg.threads = 4;
	if (!s->cfg.slow_threads)
		s->cfg.slow_threads = 1;
	if (!s->cfg.max_conns)
		s->cfg.max_conns = 2048;
	if (!s->cfg.max_conns_per_addr)
		s->cfg.max_conns_per_addr = 64;
	if (!s->cfg.head_timeout_s)
		s->cfg.head_timeout_s = 10;
	if (!s->cfg.body_min_rate)
		s->cfg.body_min_rate = 1024;
	pthread_mutex_init(&s->tlock, NULL);
	pthread_mutex_init(&s->loglock, NULL);
	pthread_cond_init(&s->tquit_cond, NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->drained, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->queued[HTTP_LANE_FAST], NULL);
	pthread_cond_init(&s->queued[HTTP_LANE_SLOW], NULL);
	pthread_cond_init(&s->queued[HTTP_LANE_WAIT], NULL);
	*out = s;
	return 0;
}

int http_route(struct http_server *s, const char *path, http_handler fn, void *ctx,
	       struct err *err)
{
	return http_route_lanes(s, path, fn, NULL, ctx, err);
}

int http_route_lanes(struct http_server *s, const char *path, http_handler fn,
		     http_classifier classify, void *ctx, struct err *err)
{
	struct route *r;

	if (s->nroutes >= MAX_ROUTES || strlen(path) >= sizeof r->path)
		return err_set(err, AIRLOCK_EINVAL, "cannot add route %s", path);
	r = &s->routes[s->nroutes++];
	(void)snprintf(r->path, sizeof r->path, "%s", path); /* length checked above */
	r->fn = fn;
	r->classify = classify;
	r->ctx = ctx;
	return 0;
}

int http_route_io(struct http_server *s, const char *path, http_io_ok ok, struct err *err)
{
	int i;

	for (i = 0; i < s->nroutes; i++)
		if (!strcmp(s->routes[i].path, path)) {
			s->routes[i].io_ok = ok;
			return 0;
		}
	return err_set(err, AIRLOCK_EINVAL, "no route %s to run on the I/O thread", path);
}

void http_requeue(struct http_response *res)
{
	res->requeue = 1;
}

const char *http_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)req->native, MHD_HEADER_KIND,
					   name);
}

const char *http_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)req->native,
					   MHD_GET_ARGUMENT_KIND, name);
}

const char *http_cookie(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)req->native, MHD_COOKIE_KIND,
					   name);
}

void http_client_addr(const struct http_request *req, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	    (struct MHD_Connection *)req->native, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	(void)snprintf(buf, len, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
			  (socklen_t)len);
}

void http_add_header(struct http_response *res, const char *name, const char *value)
{
	char *v;

	if (res->nheaders >= HTTP_MAX_HEADERS || strlen(name) >= sizeof res->headers[0].name)
		return;
	v = strdup(value);
	if (!v)
		return;
	(void)snprintf(res->headers[res->nheaders].name, sizeof res->headers[0].name, "%s", name);
	res->headers[res->nheaders++].value = v;
}

void http_respond_owned(struct http_response *res, int status, const char *content_type,
			char *body, size_t len)
{
	free(res->body);
	res->status = body || !len ? status : 500;
	res->content_type = content_type;
	res->body = body;
	res->body_len = body ? len : 0;
}

void http_respond(struct http_response *res, int status, const char *content_type,
		  const char *body)
{
	char *b = body ? strdup(body) : NULL;

	http_respond_owned(res, status, content_type, b, body ? strlen(body) : 0);
	if (body && !b)
		res->status = 500;
}

/* Splits "name:port", "[v6]:port" or "name" into host and port (-1 none). */
static int split_host(const char *in, char *host, size_t len, long *port)
{
	const char *colon;
	size_t n;
	char *end;

	*port = -1;
	if (in[0] == '[') {
		const char *close = strchr(in, ']');

		if (!close)
			return -1;
		n = (size_t)(close - in) + 1;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (!colon && close[1])
			return -1;
	} else {
		colon = strchr(in, ':');
		n = colon ? (size_t)(colon - in) : strlen(in);
	}
	if (n == 0 || n >= len)
		return -1;
	memcpy(host, in, n);
	host[n] = '\0';
	if (colon) {
		*port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end || *port < 0 || *port > 65535)
			return -1;
	}
	return 0;
}

/* DNS rebinding: a web page can make a browser send requests to our port
 * under its own name. Only names that mean this server are accepted: the
 * loopback names when bound to loopback, else the bound address itself. */
static int host_allowed(const struct http_server *s, const char *hostport)
{
	char host[256];
	long port;

	if (split_host(hostport, host, sizeof host, &port))
		return 0;
	if (port >= 0 && port != __atomic_load_n(&s->port, __ATOMIC_ACQUIRE))
		return 0;
	if (http_is_loopback(s->host))
		return !strcasecmp(host, "localhost") || !strcmp(host, "[::1]") ||
		       http_is_loopback(host);
	if (!strcmp(s->host, "0.0.0.0") || !strcmp(s->host, "::"))
		return 1; /* the operator chose every interface: names are theirs */
	return !strcasecmp(host, s->host) ||
	       (host[0] == '[' && !strncasecmp(host + 1, s->host, strlen(s->host)));
}

static int origin_allowed(const struct http_server *s, const char *origin)
{
	const char *hp;

	if (!strncasecmp(origin, "http://", 7))
		hp = origin + 7;
	else if (!strncasecmp(origin, "https://", 8))
		hp = origin + 8;
	else
		return 0; /* "null", file://, chrome-extension://: not a site we serve */
	if (strchr(hp, '/'))
		return 0;
	return host_allowed(s, hp);
}

/* ---- the watchdog ------------------------------------------------------ */

static double since_s(const struct timespec *then, const struct timespec *now)
{
	return (double)(now->tv_sec - then->tv_sec) + (double)(now->tv_nsec - then->tv_nsec) / 1e9;
}

/* The client a connection counts against: an IPv4 address, or an IPv6 /64
 * (a host picks freely inside its /64); zeros when unknown. */
static void client_key(const struct sockaddr *sa, unsigned char who[8])
{
	memset(who, 0, 8);
	if (sa && sa->sa_family == AF_INET)
		memcpy(who, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa && sa->sa_family == AF_INET6)
		memcpy(who, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
}

/* The reserve: the last eighth of the connections (at least 2) goes only to
 * a client holding fewer than RESERVE_LIGHT of them. Without it, 32
 * addresses at the per-address limit (32 × 64 = 2,048) took every
 * connection there was, and a console user or a signed-in agent, who
 * needs one or two, was turned away; with it they must hold 1,792, and
 * the last 256 stay for the light clients (an attacker needs 64 more
 * addresses, each holding fewer than RESERVE_LIGHT, to take those too).
 * Nobody is authenticated when a connection opens: a light client is
 * the best that can be known then. */
#define RESERVE_LIGHT 4

static unsigned reserve_of(const struct http_server *s)
{
	unsigned r = s->cfg.max_conns / 8;

	return r < 2 ? 2 : r;
}

/* MHD's accept policy: 1 (MHD_YES) unless the connections are within the
 * reserve and this client already holds RESERVE_LIGHT or more. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_server *s = cls;
	unsigned char who[8];
	unsigned held = 0;
	struct track *t;
	int ok = 1;

	(void)addrlen;
	client_key(addr, who);
	pthread_mutex_lock(&s->tlock);
	if (s->ntracks + reserve_of(s) >= s->cfg.max_conns) {
		for (t = s->tracks; t && held < RESERVE_LIGHT; t = t->next)
			held += !memcmp(t->who, who, sizeof who);
		ok = held < RESERVE_LIGHT;
		if (!ok)
			s->refused_reserve++;
	}
	pthread_mutex_unlock(&s->tlock);
	return ok ? MHD_YES : MHD_NO;
}

/* MHD's connection notifications: every connection is tracked from accept
 * to close (CLOSED comes before MHD closes the socket). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	struct track *t = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		t = ci ? calloc(1, sizeof *t) : NULL;
		if (!t)
			return; /* untracked: only MHD's idle timeout applies */
		t->fd = ci->connect_fd;
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		client_key(ci ? ci->client_addr : NULL, t->who);
		t->phase = PHASE_HEAD;
		clock_gettime(CLOCK_MONOTONIC, &t->since);
		pthread_mutex_lock(&s->tlock);
		t->next = s->tracks;
		if (s->tracks)
			s->tracks->prev = t;
		s->tracks = t;
		s->ntracks++;
		pthread_mutex_unlock(&s->tlock);
		*socket_context = t;
		return;
	}
	if (!t)
		return;
	pthread_mutex_lock(&s->tlock);
	if (t->prev)
		t->prev->next = t->next;
	else
		s->tracks = t->next;
	if (t->next)
		t->next->prev = t->prev;
	s->ntracks--;
	pthread_mutex_unlock(&s->tlock);
	free(t);
	*socket_context = NULL;
}

/* Moves c's track to phase (the clock restarts), or adds body bytes. */
static void track_set(struct http_server *s, struct MHD_Connection *c, enum phase phase,
		      size_t body)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct track *t = ci ? ci->socket_context : NULL;

	if (!t)
		return;
	pthread_mutex_lock(&s->tlock);
	if (body)
		t->body += body;
	else {
		t->phase = phase;
		t->body = 0;
		clock_gettime(CLOCK_MONOTONIC, &t->since);
	}
	pthread_mutex_unlock(&s->tlock);
}

/* Shuts down the connections past their deadline: MHD sees the end of the
 * stream and closes them itself. One line on stderr per burst, at most
 * every 10 s, says how many and why. */
static void *watchdog_main(void *arg)
{
	struct http_server *s = arg;
	struct timespec now, until;
	struct track *t;
	double el;

	pthread_mutex_lock(&s->tlock);
	while (!s->tquit) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->tquit_cond, &s->tlock, &until);
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (t = s->tracks; t; t = t->next) {
			if (t->cut || t->phase == PHASE_BUSY)
				continue;
			el = since_s(&t->since, &now);
			if (el <= (double)s->cfg.head_timeout_s)
				continue;
			if (t->phase == PHASE_HEAD)
				s->cut_head++;
			else if ((double)t->body < el * (double)s->cfg.body_min_rate)
				s->cut_body++;
			else
				continue;
			shutdown(t->fd, SHUT_RDWR);
			t->cut = 1;
		}
		if ((s->cut_head || s->cut_body) && time(NULL) - s->reported >= 10) {
			fprintf(stderr,
				"airlock serve: http: closed %lu connection%s that sent no complete "
				"request head in %u s and %lu whose body came slower than %u bytes/s\n",
				s->cut_head, s->cut_head == 1 ? "" : "s", s->cfg.head_timeout_s,
				s->cut_body, s->cfg.body_min_rate);
			s->cut_head = s->cut_body = 0;
			s->reported = time(NULL);
		}
		if (s->refused_reserve && time(NULL) - s->reserve_reported >= 10) {
			fprintf(stderr,
				"airlock serve: http: refused %lu connection%s from clients already"
				" holding %d or more while the last %u of %u were left\n",
				s->refused_reserve, s->refused_reserve == 1 ? "" : "s", RESERVE_LIGHT,
				reserve_of(s), s->cfg.max_conns);
			s->refused_reserve = 0;
			s->reserve_reported = time(NULL);
		}
	}
	pthread_mutex_unlock(&s->tlock);
	return NULL;
}

/* Counts the request's Host and Origin headers: a second one could be what
 * a proxy or browser acted on while we checked the first. */
struct header_count {
	int host, origin;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct header_count *hc = cls;

	(void)kind;
	(void)value;
	if (!strcasecmp(key, MHD_HTTP_HEADER_HOST))
		hc->host++;
	else if (!strcasecmp(key, "Origin"))
		hc->origin++;
	return MHD_YES;
}

/* 1 when s is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, n, cp, i;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		s += n + 1;
	}
	return 1;
}

static enum MHD_Result send_response(struct MHD_Connection *c, struct http_response *res)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	int i;

	r = MHD_create_response_from_buffer(res->body_len, res->body ? res->body : (void *)"",
					    res->body ? MHD_RESPMEM_MUST_FREE
						      : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(res->body);
		res->body = NULL;
		ret = MHD_NO;
		goto out;
	}
	res->body = NULL; /* MHD owns it now */
	if (res->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	for (i = 0; i < res->nheaders; i++)
		if (!strcasecmp(res->headers[i].name, "Cache-Control"))
			break;
	if (i == res->nheaders)
		MHD_add_response_header(r, "Cache-Control", "no-store");
	for (i = 0; i < res->nheaders; i++)
		MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
	ret = MHD_queue_response(c, (unsigned)res->status, r);
	MHD_destroy_response(r);
out:
	for (i = 0; i < res->nheaders; i++)
		free(res->headers[i].value);
	res->nheaders = 0;
	return ret;
}

/* A taken request is over (answered, or its connection is gone). */
static void taken_done(struct http_server *s)
{
	pthread_mutex_lock(&s->lock);
	if (--s->taken == 0)
		pthread_cond_broadcast(&s->drained);
	pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result plain(struct MHD_Connection *c, int status, const char *msg)
{
	struct http_response res = {0};

	http_respond(&res, status, "text/plain; charset=utf-8", msg);
	return send_response(c, &res);
}

/* The exact route for url, else the longest prefix route; -1 when none. */
static int find_route(const struct http_server *s, const char *url)
{
	size_t best_len = 0, n;
	int i, best = -1;

	for (i = 0; i < s->nroutes; i++)
		if (!strcmp(s->routes[i].path, url))
			return i;
	for (i = 0; i < s->nroutes; i++) {
		n = strlen(s->routes[i].path);
		if (n && s->routes[i].path[n - 1] == '*' && !strncmp(s->routes[i].path, url, n - 1) &&
		    n - 1 >= best_len) {
			best = i;
			best_len = n - 1;
		}
	}
	return best;
}

/* Appends a suspended request to a lane's queue and wakes one of its
 * threads. */
static void enqueue(struct http_server *s, enum http_lane lane, struct conn *cn)
{
	pthread_mutex_lock(&s->qlock);
	cn->next = NULL;
	if (s->queue_tail[lane])
		s->queue_tail[lane]->next = cn;
	else
		s->queue_head[lane] = cn;
	s->queue_tail[lane] = cn;
	pthread_cond_signal(&s->queued[lane]);
	pthread_mutex_unlock(&s->qlock);
}

/* Lets a lane's threads drain its queue and end, and joins them. */
static void stop_lane(struct http_server *s, enum http_lane lane)
{
	unsigned i;

	pthread_mutex_lock(&s->qlock);
	s->quit[lane] = 1;
	pthread_cond_broadcast(&s->queued[lane]);
	pthread_mutex_unlock(&s->qlock);
	for (i = 0; i < s->nhandlers; i++)
		if (s->handlers[i].lane == lane)
			pthread_join(s->handlers[i].t, NULL);
}

static void run_io(struct http_server *s, struct conn *cn);

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct conn *cn = *con_cls;
	const char *host, *origin, *cl;
	struct header_count hc = {0, 0};
	int i;

	(void)version;
	if (!cn) {
		/* First call: headers only. Refuse here what we would refuse anyway,
		 * so MHD answers without reading a byte of the body. */
		cn = calloc(1, sizeof *cn);
		if (!cn)
			return MHD_NO;
		*con_cls = cn;
		track_set(s, c, PHASE_BODY, 0);
		host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
		origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
		MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &hc);
		if (!host)
			return plain(c, 400, "missing Host header\n");
		if (hc.host > 1)
			return plain(c, 400, "more than one Host header\n");
		if (hc.origin > 1)
			return plain(c, 400, "more than one Origin header\n");
		if (!host_allowed(s, host))
			return plain(c, 403,
				     "this Host is not served here (DNS rebinding protection)\n");
		if (origin && !origin_allowed(s, origin))
			return plain(c, 403, "requests from this Origin are not allowed\n");
		if (!utf8_valid((const unsigned char *)url))
			return plain(c, 400, "the URL path is not valid UTF-8\n");
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > s->cfg.max_body)
			return plain(c, 413, "request body is larger than the limit\n");
		return MHD_YES;
	}
	if (cn->taken) /* called again after http_resume */
		return send_response(c, &cn->answer);
	if (*upload_size) {
		track_set(s, c, PHASE_BODY, *upload_size);
		if (!cn->too_large && cn->len + *upload_size > s->cfg.max_body)
			cn->too_large = 1;
		if (!cn->too_large) {
			if (cn->len + *upload_size + 1 > cn->cap) {
				size_t ncap = cn->cap ? cn->cap : 4096;
				char *nb;

				while (ncap < cn->len + *upload_size + 1)
					ncap *= 2;
				nb = realloc(cn->body, ncap);
				if (!nb)
					return MHD_NO;
				cn->body = nb;
				cn->cap = ncap;
			}
			memcpy(cn->body + cn->len, upload_data, *upload_size);
			cn->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (cn->too_large)
		return plain(c, 413, "request body is larger than the limit\n");
	i = find_route(s, url);
	if (i < 0)
		return plain(c, 404, "not found\n");
	track_set(s, c, PHASE_BUSY, 0);
	pthread_mutex_lock(&s->lock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->lock);
		return plain(c, 503, "airlock is stopping\n");
	}
	s->taken++;
	pthread_mutex_unlock(&s->lock);
	/* The request waits, without this thread, for a handler thread. It is
	 * suspended before it is queued, so it cannot be resumed first. */
	cn->srv = s;
	cn->mhd = c;
	cn->route = i;
	cn->url = url;
	cn->method = method;
	cn->taken = 1;
	if (cn->body)
		cn->body[cn->len] = '\0';
	MHD_suspend_connection(c);
	if (s->routes[i].io_ok)
		run_io(s, cn);
	else
		enqueue(s, HTTP_LANE_FAST, cn);
	return MHD_YES;
}

/* Runs a queued request's route on a handler thread; answers it unless the
 * handler deferred the answer (then whoever finishes the work does). A
 * request the route calls expensive, met on the fast lane, is passed on to
 * the slow lane instead (returns without running it). */
/* 1 when the client of a suspended connection has closed it: MHD does not
 * watch a suspended socket, and an expensive call nobody waits for any
 * more would still hold a slow-lane thread. */
static int client_gone(struct conn *cn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(cn->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
	char b;

	return ci && recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

void http_keep(const struct http_request *req, void *data, void (*drop)(void *data))
{
	struct conn *cn = req->conn;

	if (cn->kept)
		cn->kept_drop(cn->kept);
	cn->kept = data;
	cn->kept_drop = drop;
}

/* Runs the route's handler on req with what was kept for it, which is
 * dropped once the handler returns (taken out of cn first: cn may be gone
 * by then, answered from another thread). */
static void run_handler(const struct route *r, struct conn *cn, struct http_request *req,
			struct http_response *res)
{
	void *kept = cn->kept;
	void (*drop)(void *) = cn->kept_drop;

	cn->kept = NULL;
	req->kept = kept;
	r->fn(r->ctx, req, res);
	if (kept)
		drop(kept);
}

static void run_queued(struct http_server *s, enum http_lane lane, struct conn *cn)
{
	struct http_request req;
	struct http_response res = {0};
	const struct route *r = &s->routes[cn->route];

	req.method = cn->method;
	req.path = cn->url;
	req.body = cn->body ? cn->body : "";
	req.body_len = cn->len;
	req.native = cn->mhd; /* suspended: its I/O thread does not touch it */
	req.on_io_thread = 0;
	req.kept = NULL;
	req.conn = cn;
	if (lane == HTTP_LANE_FAST && r->classify && !cn->classified) {
		cn->classified = 1;
		enum http_lane to = r->classify(r->ctx, &req);

		if (to == HTTP_LANE_WAIT && !s->cfg.wait_threads)
			to = HTTP_LANE_SLOW;
		if (to != HTTP_LANE_FAST) {
			enqueue(s, to, cn);
			return;
		}
	}
	res.status = 500;
	res.internal = cn;
	if (lane != HTTP_LANE_FAST && client_gone(cn)) {
		/* nobody to answer: resume it so MHD closes it */
		http_respond(&res, 503, "text/plain; charset=utf-8", "the client has gone\n");
		http_resume((struct http_deferred *)cn, &res);
		return;
	}
	run_handler(r, cn, &req, &res);
	/* http_defer clears res.internal; cn may be gone already then */
	if (res.internal)
		http_resume((struct http_deferred *)cn, &res);
}

/* A suspended request, on the I/O thread that read it: run here when its
 * route calls it cheap (no hand-off to a handler thread and back; the
 * answer, or the log commit it waits for, resumes the connection), else
 * queued as usual. */
static void run_io(struct http_server *s, struct conn *cn)
{
	struct http_request req;
	struct http_response res = {0};
	const struct route *r = &s->routes[cn->route];
	int i;

	req.method = cn->method;
	req.path = cn->url;
	req.body = cn->body ? cn->body : "";
	req.body_len = cn->len;
	req.native = cn->mhd;
	req.on_io_thread = 1;
	req.kept = NULL;
	req.conn = cn;
	switch (r->io_ok(r->ctx, &req)) {
	case HTTP_IO_RUN:
		break;
	case HTTP_IO_WAIT:
		cn->classified = 1;
		enqueue(s, s->cfg.wait_threads ? HTTP_LANE_WAIT : HTTP_LANE_SLOW, cn);
		return;
	default:
		enqueue(s, HTTP_LANE_FAST, cn);
		return;
	}
	cn->classified = 1; /* io_ok called it cheap */
	res.status = 500;
	res.internal = cn;
	run_handler(r, cn, &req, &res);
	if (res.requeue && res.internal) {
		/* it would have waited here: a handler thread waits instead */
		free(res.body);
		for (i = 0; i < res.nheaders; i++)
			free(res.headers[i].value);
		enqueue(s, HTTP_LANE_FAST, cn);
		return;
	}
	/* http_defer clears res.internal; cn may be gone already then */
	if (res.internal)
		http_resume((struct http_deferred *)cn, &res);
}

static void *handler_main(void *arg)
{
	struct handler *h = arg;
	struct http_server *s = h->s;
	enum http_lane lane = h->lane;
	struct conn *cn;

	/* The slow lane yields the CPU to the fast one: on a machine with
	 * fewer cores than busy threads, a cheap call would otherwise share a
	 * core with a scan and take its turn at the scheduler's pace. Raising
	 * a thread's own nice value cannot fail for lack of privilege; if it
	 * fails anyway the lanes still keep their threads apart. */
	if (lane == HTTP_LANE_SLOW) {
		id_t tid = (id_t)syscall(SYS_gettid);
		int nice_now = getpriority(PRIO_PROCESS, tid);

		(void)setpriority(PRIO_PROCESS, tid, nice_now + 10 > 19 ? 19 : nice_now + 10);
	}
	for (;;) {
		pthread_mutex_lock(&s->qlock);
		while (!s->queue_head[lane] && !s->quit[lane])
			pthread_cond_wait(&s->queued[lane], &s->qlock);
		cn = s->queue_head[lane];
		if (cn) {
			s->queue_head[lane] = cn->next;
			if (!s->queue_head[lane])
				s->queue_tail[lane] = NULL;
			cn->next = NULL;
		}
		pthread_mutex_unlock(&s->qlock);
		if (!cn)
			return NULL;
		run_queued(s, lane, cn);
	}
}

struct http_deferred *http_defer(struct http_response *res)
{
	struct conn *cn = res->internal;

	if (!cn)
		return NULL; /* deferred already */
	/* headers set so far; the connection has waited since it was queued */
	cn->answer = *res;
	cn->answer.internal = NULL;
	memset(res, 0, sizeof *res);
	return (struct http_deferred *)cn;
}

void http_resume(struct http_deferred *d, struct http_response *res)
{
	struct conn *cn = (struct conn *)d;
	struct MHD_Connection *mhd = cn->mhd;
	int i;

	cn->answer.status = res->status;
	cn->answer.content_type = res->content_type;
	cn->answer.body = res->body;
	cn->answer.body_len = res->body_len;
	for (i = 0; i < res->nheaders; i++) {
		if (cn->answer.nheaders < HTTP_MAX_HEADERS)
			cn->answer.headers[cn->answer.nheaders++] = res->headers[i];
		else
			free(res->headers[i].value);
	}
	memset(res, 0, sizeof *res);
	/* Once resumed, the connection may be answered and cn freed at any
	 * moment: nothing of cn is touched after this (MHD's lock orders
	 * these writes before its I/O thread reads them). */
	MHD_resume_connection(mhd);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	(void)toe;
	/* a keep-alive connection has head_timeout_s for its next request */
	track_set(cls, c, PHASE_HEAD, 0);
	if (cn) {
		if (cn->taken) {
			/* an answer not sent (the client went away) is dropped */
			free(cn->answer.body);
			for (int i = 0; i < cn->answer.nheaders; i++)
				free(cn->answer.headers[i].value);
			taken_done(cls);
		}
		if (cn->kept)
			cn->kept_drop(cn->kept);
		free(cn->body);
		free(cn);
		*con_cls = NULL;
	}
}

/* MHD's messages, at most MHD_LOG_BURST per 10 s: a client opening
 * connections in a loop past the limits would otherwise write a line for
 * each. */
#define MHD_LOG_BURST 20
static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	time_t now = time(NULL);
	unsigned long dropped = 0;
	int print;

	pthread_mutex_lock(&s->loglock);
	if (now - s->log_window >= 10) {
		dropped = s->log_dropped;
		s->log_window = now;
		s->log_lines = 0;
		s->log_dropped = 0;
	}
	print = s->log_lines < MHD_LOG_BURST;
	if (print)
		s->log_lines++;
	else
		s->log_dropped++;
	pthread_mutex_unlock(&s->loglock);
	if (dropped)
		fprintf(stderr, "airlock serve: http: %lu more messages in 10 s not shown\n", dropped);
	if (print) {
		/* MHD's messages may quote what a network client sent: escaped
		 * before they reach the operator's terminal */
		char msg[1024], shown[2048];

		(void)vsnprintf(msg, sizeof msg, fmt, ap);
		fputs("airlock serve: http: ", stderr);
		fputs(text_escape_buf(shown, sizeof shown, msg, TEXT_LINES), stderr);
	}
}

int http_server_start(struct http_server *s, struct err *err)
{
	struct sockaddr_in a4 = {0};
	struct sockaddr_in6 a6 = {0};
	struct sockaddr *sa;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL}};
	char h[64];
	const char *host = s->host;
	unsigned total;

	if (!strcasecmp(host, "localhost"))
		host = "127.0.0.1";
	/* a cut address could be another, valid one */
	if (fmt_buf(h, sizeof h, err, "listen address", "%s", host))
		return AIRLOCK_EINVAL;
	if (h[0] == '[' && h[strlen(h) - 1] == ']') {
		memmove(h, h + 1, strlen(h));
		h[strlen(h) - 1] = '\0';
	}
	if (inet_pton(AF_INET, h, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)s->cfg.port);
		sa = (struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, h, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)s->cfg.port);
		sa = (struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else {
		return err_set(err, AIRLOCK_EINVAL,
			       "listen address '%s' is not a numeric IPv4/IPv6 address or localhost",
			       s->host);
	}
	/* HTTPS when the operator gave a certificate: libmicrohttpd's TLS
	 * (GnuTLS); the options go in an array so the plain daemon's call is
	 * the same one */
	if (s->cfg.tls_cert_pem && s->cfg.tls_key_pem) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return err_set(err, AIRLOCK_EINVAL,
				       "this libmicrohttpd was built without TLS: serve plain HTTP "
				       "on 127.0.0.1 behind a TLS proxy instead");
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
						 (void *)s->cfg.tls_cert_pem};
		tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
						 (void *)s->cfg.tls_key_pem};
	}
	s->d = MHD_start_daemon(flags, (uint16_t)s->cfg.port, on_accept, s, on_request, s,
				MHD_OPTION_ARRAY, tls,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, s, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned)s->cfg.timeout_s, MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_conns,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->cfg.max_conns_per_addr,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->d && (flags & MHD_USE_TLS))
		return err_set(err, AIRLOCK_EIO,
			       "cannot listen on %s:%d with TLS (address in use, or the certificate "
			       "and key are not a PEM pair that belong together?)",
			       s->host, s->cfg.port);
	if (!s->d)
		return err_set(err, AIRLOCK_EIO,
			       "cannot listen on %s:%d (address in use, or not an address of this "
			       "machine?)",
			       s->host, s->cfg.port);
	/* the I/O thread may already be checking Host headers against it */
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	__atomic_store_n(&s->port, info ? info->port : s->cfg.port, __ATOMIC_RELEASE);
	if (pthread_create(&s->watchdog, NULL, watchdog_main, s))
		return err_set(err, AIRLOCK_EIO, "cannot start the connection watchdog thread");
	s->watchdog_on = 1;
	pthread_setname_np(s->watchdog, "airlock-watch");
	total = s->cfg.threads + s->cfg.slow_threads + s->cfg.wait_threads;
	s->handlers = calloc(total, sizeof *s->handlers);
	if (!s->handlers)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	/* the fast lane's threads first: http_server_free stops them first */
	for (; s->nhandlers < total; s->nhandlers++) {
		struct handler *hd = &s->handlers[s->nhandlers];

		hd->s = s;
		hd->lane = s->nhandlers < s->cfg.threads ? HTTP_LANE_FAST
			   : s->nhandlers < s->cfg.threads + s->cfg.slow_threads ? HTTP_LANE_SLOW
										   : HTTP_LANE_WAIT;
		if (pthread_create(&hd->t, NULL, handler_main, hd))
			return err_set(err, AIRLOCK_EIO, "cannot start handler thread %u of %u",
				       s->nhandlers + 1, total);
		pthread_setname_np(hd->t, hd->lane == HTTP_LANE_FAST   ? "airlock-http"
					  : hd->lane == HTTP_LANE_SLOW ? "airlock-slow"
								       : "airlock-wait");
	}
	return 0;
}

int http_is_tls(const struct http_request *req)
{
	const union MHD_ConnectionInfo *ci;

	if (!req->native)
		return 0;
	ci = MHD_get_connection_info((struct MHD_Connection *)req->native,
				     MHD_CONNECTION_INFO_GNUTLS_SESSION);
	return ci && ci->tls_session != NULL;
}

int http_server_port(const struct http_server *s)
{
	return __atomic_load_n(&s->port, __ATOMIC_ACQUIRE);
}

void http_server_free(struct http_server *s)
{
	struct timespec until;

	if (!s)
		return;
	if (s->d) {
		MHD_socket lfd;

		/* MHD must not stop with a connection suspended: take no new
		 * request, then let the running handlers finish and the deferred
		 * answers go out (their log entries take milliseconds). */
		lfd = MHD_quiesce_daemon(s->d);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 10;
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		while (s->taken > 0)
			if (pthread_cond_timedwait(&s->drained, &s->lock, &until))
				break;
		if (s->taken > 0)
			fprintf(stderr,
				"airlock serve: http: stopping with %d request%s still unanswered "
				"after 10 s\n",
				s->taken, s->taken == 1 ? "" : "s");
		pthread_mutex_unlock(&s->lock);
		/* the handler threads finish what is queued, then end: the fast
		 * lane first, since it may still pass requests on to the slow */
		stop_lane(s, HTTP_LANE_FAST);
		stop_lane(s, HTTP_LANE_SLOW);
		stop_lane(s, HTTP_LANE_WAIT);
		s->nhandlers = 0;
		MHD_stop_daemon(s->d);
		if (lfd != MHD_INVALID_SOCKET)
			close(lfd);
	}
	if (s->watchdog_on) {
		pthread_mutex_lock(&s->tlock);
		s->tquit = 1;
		pthread_cond_signal(&s->tquit_cond);
		pthread_mutex_unlock(&s->tlock);
		pthread_join(s->watchdog, NULL);
	}
	pthread_cond_destroy(&s->tquit_cond);
	pthread_mutex_destroy(&s->loglock);
	pthread_mutex_destroy(&s->tlock);
	free(s->handlers);
	pthread_cond_destroy(&s->queued[HTTP_LANE_FAST]);
	pthread_cond_destroy(&s->queued[HTTP_LANE_SLOW]);
	pthread_cond_destroy(&s->queued[HTTP_LANE_WAIT]);
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->drained);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
