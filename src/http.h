/* http.h — airlock's HTTP server (libmicrohttpd): routes, bounded request
 * bodies, timeouts, and the Host/Origin checks that stop DNS rebinding, for
 * every route (the MCP endpoints now, the console later).
 *
 * Owns: the daemon, its worker threads, per-connection body buffers, and
 * the limits that keep one client from starving the others: connections
 * in all and per address, and a deadline for each request's head and a
 * byte-rate floor for its body that a trickle of bytes does not reset (a
 * watchdog thread closes the connections that miss them).
 *
 * Never: knows what a route means; authenticates (routes do that); accepts
 * a request whose Host is not the address it serves, or whose Origin is
 * another site, or that names more than one Host or Origin, or whose path
 * is not UTF-8.
 *
 * Handlers run on handler threads, several at once: what they share they
 * must lock. Requests whose bodies are in wait in a queue, first come first
 * served, for the next free handler thread (one I/O thread reads and
 * writes the connections), so no connection waits behind others that
 * happen to share a thread; only a route's requests that it calls cheap
 * and non-blocking (http_route_io) run on the I/O thread itself, with no
 * hand-off. There are three lanes, each with its queue and
 * its own threads: a route may name a classifier that calls a request
 * cheap or expensive before it runs, and an expensive one waits for (and
 * runs on) the slow lane's threads only, which yield the CPU to the fast
 * lane's, so a cheap call never queues behind expensive ones; an expensive
 * one whose client has closed its connection meanwhile is not run; calls
 * that wait on another server have the wait lane (below). A handler
 * fills struct http_response; the server frees the body and header values
 * it holds after sending. */
#ifndef AIRLOCK_HTTP_H
#define AIRLOCK_HTTP_H

#include <stddef.h>

#include "err.h"

#define HTTP_MAX_HEADERS 12

struct http_server;

struct http_request {
	const char *method; /* "POST", "GET", ... */
	const char *path;   /* without the query */
	const char *body;   /* NUL-terminated copy; body_len bytes */
	size_t body_len;
	void *native;       /* the MHD_Connection, for http_header() */
	int on_io_thread;   /* run on the I/O thread (http_route_io): must not
			       block; http_requeue() hands it to the queue */
	const void *kept;   /* for the handler: what the route's io_ok or
			       classifier kept (http_keep); NULL when nothing */
	void *conn;         /* the server's */
};

struct http_response {
	int status;
	const char *content_type; /* static string; NULL = none */
	char *body;               /* malloc'd, freed by the server; may be NULL */
	size_t body_len;
	int nheaders;
	struct {
		char name[48];
		char *value; /* malloc'd, freed by the server */
	} headers[HTTP_MAX_HEADERS];
	void *internal; /* the server's */
	int requeue;    /* set by http_requeue */
};

typedef void (*http_handler)(void *ctx, const struct http_request *req,
			     struct http_response *res);

struct http_config {
	const char *host;        /* numeric address or "localhost" */
	int port;                /* 0 = any free port */
	size_t max_body;         /* larger bodies get 413 */
	unsigned timeout_s;      /* idle connection timeout */
	unsigned threads;        /* fast-lane handler threads (4 when 0) */
	unsigned slow_threads;   /* slow-lane handler threads: how many expensive
				    requests run at once (1 when 0) */
	unsigned wait_threads;   /* wait-lane handler threads (none when 0) */
	unsigned max_conns;      /* connections in all (2048 when 0) */
	unsigned max_conns_per_addr; /* from one client address (64 when 0) */
	unsigned head_timeout_s; /* a request's head, start to end (10 when 0); an
				    idle keep-alive connection gets as long */
	unsigned body_min_rate;  /* bytes/s a body must average once it has had
				    head_timeout_s (1024 when 0) */
	const char *server_name; /* for the Server header; may be NULL */
	const char *tls_cert_pem; /* HTTPS: the certificate chain (PEM text) and its */
	const char *tls_key_pem;  /* key; both NULL = plain HTTP. The caller keeps
				     both until the server is freed. */
};

/* The lanes (see above). The wait lane is for calls that wait on another
 * server rather than use the CPU (an upstream MCP server's tools): its
 * threads keep the normal CPU priority, since a thread at the slow lane's
 * lower one answered late whenever the machine was busy; without wait
 * threads (wait_threads 0) such calls take the slow lane. */
enum http_lane { HTTP_LANE_FAST = 0, HTTP_LANE_SLOW = 1, HTTP_LANE_WAIT = 2, HTTP_LANES = 3 };

/* Says which lane a request takes, from its method, path, headers and body,
 * before the handler runs; called on a fast-lane handler thread, so it must
 * be quick (no I/O, no locks held long). It must not keep req's pointers. */
typedef enum http_lane (*http_classifier)(void *ctx, const struct http_request *req);

/* Keeps what a route's io_ok or classifier worked out about a request
 * (a decoded body, a checked token) for its handler, which finds it in
 * req->kept and must not keep it past its return: the server calls
 * drop(data) once the handler has returned, or when the request ends
 * without one. A second call drops the first's data. */
void http_keep(const struct http_request *req, void *data, void (*drop)(void *data));

/* A handler whose answer must wait for another thread (an action log entry
 * being committed) defers it: http_defer returns a handle (NULL when this
 * answer was deferred already: answer now), the handler returns, and its
 * handler thread takes the next request meanwhile. Whoever finishes the
 * work calls http_resume exactly once, from any thread, with the answer
 * (its body and header values are taken over; headers set on res before
 * http_defer are kept). */
struct http_deferred;
struct http_deferred *http_defer(struct http_response *res);
void http_resume(struct http_deferred *d, struct http_response *res);

/* Creates a server (not yet listening). */
int http_server_new(struct http_server **out, const struct http_config *cfg, struct err *err);
/* Routes a path to a handler; call before http_server_start(). A path
 * ending in a star is a prefix ("/api/" + star takes /api/queue, /api/batches/3):
 * an exact route wins, then the longest prefix. */
int http_route(struct http_server *s, const char *path, http_handler fn, void *ctx,
	       struct err *err);
/* http_route, with a classifier for the route's requests (NULL: all take
 * the fast lane, as with http_route). */
int http_route_lanes(struct http_server *s, const char *path, http_handler fn,
		     http_classifier classify, void *ctx, struct err *err);
/* Lets the requests of a route that ok() calls cheap and non-blocking run
 * on the I/O thread that read them (HTTP_IO_RUN), with no hand-off to a
 * handler thread (ok runs there too: quick, no I/O, no locks held long);
 * HTTP_IO_WAIT sends one straight to the wait lane (no fast-lane thread in
 * between), HTTP_IO_QUEUE to the fast lane's queue as usual. A request run
 * here
 * has req->on_io_thread set; a handler that finds it would have to wait
 * (a lock another request holds) calls http_requeue(res) before doing
 * anything that shows, and returns: the request then waits for a fast-lane
 * handler thread as any other. Call before http_server_start(). */
enum http_io { HTTP_IO_QUEUE = 0, HTTP_IO_RUN = 1, HTTP_IO_WAIT = 2 };
typedef enum http_io (*http_io_ok)(void *ctx, const struct http_request *req);
int http_route_io(struct http_server *s, const char *path, http_io_ok ok, struct err *err);
void http_requeue(struct http_response *res);

/* Starts listening; binding errors are reported here. */
int http_server_start(struct http_server *s, struct err *err);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);
/* Stops accepting, waits for the workers, frees everything. NULL is fine. */
void http_server_free(struct http_server *s);

/* A request header (case-insensitive name), or NULL. */
const char *http_header(const struct http_request *req, const char *name);
/* A query argument of the URL (decoded), or NULL; "" for "?name". */
const char *http_query(const struct http_request *req, const char *name);
/* A cookie of the request, or NULL. */
const char *http_cookie(const struct http_request *req, const char *name);
/* The client's address as text ("127.0.0.1", "::1"); "?" when unknown. */
void http_client_addr(const struct http_request *req, char *buf, size_t len);

/* Helpers for handlers; they never fail loudly: out of memory leaves a 500. */
void http_respond(struct http_response *res, int status, const char *content_type,
		  const char *body);
/* Takes ownership of body (malloc'd). */
void http_respond_owned(struct http_response *res, int status, const char *content_type,
			char *body, size_t len);
/* Headers a handler adds are sent as given; when it adds no Cache-Control
 * the server sends "no-store". */
void http_add_header(struct http_response *res, const char *name, const char *value);

/* 1 when the request came over TLS (the server has a certificate). */
int http_is_tls(const struct http_request *req);

/* 1 when host (an address or name) is a loopback one: 127.0.0.0/8, ::1,
 * localhost. */
int http_is_loopback(const char *host);

#endif
