/* upstream.c — a client of one upstream MCP server: stdio or Streamable
 * HTTP (upstream.h). */
#include "upstream.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsonrpc.h"

extern char **environ;

#define PROTOCOL_VERSION "2025-06-18"
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 30000
#define TOOLS_MAX 1000 /* definitions kept from one upstream */
#define PAGES_MAX 20   /* tools/list pages followed */
#define SESSION_ID_MAX 256
#define POOL_MAX 64         /* idle HTTP handles kept (each keeps its connection) */
#define BODY_FIRST 16384    /* an answer's buffer grows from this to the limit */
#define RELIST_SOON_MS 1000 /* upstream_relist: at most this often */

/* A stdio call waiting for the answer with its id. */
struct waiter {
	int64_t id;
	json_t *resp; /* set by whichever caller read it */
	struct waiter *next;
};

/* A handle for tools/call: its connection is kept open, and its multi
 * handle lets the caller work while the upstream answers (http_post). Its
 * options and headers stay set from one call to the next while the
 * session they name (sid, ready) is the same; its answer buffer is kept
 * while it is no larger than BODY_FIRST. */
struct handle {
	CURL *easy;
	CURLM *multi;
	struct curl_slist *hdrs; /* NULL: options not set yet */
	char sid[SESSION_ID_MAX];
	int ready;
	char *body;
	size_t body_cap;
};

static void handle_free(struct handle *h)
{
	if (h->easy)
		curl_easy_cleanup(h->easy);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	curl_slist_free_all(h->hdrs);
	free(h->body);
	memset(h, 0, sizeof *h);
}

struct upstream {
	pthread_mutex_t lock;
	/* stdio calls are in flight at once, each waiting for the answer with
	 * its id (waiters): one caller at a time reads the pipe (reading), with
	 * the lock given back while it polls, and hands each answer to the
	 * caller it belongs to; the others wait on cond. gen counts stops: a
	 * call out to a child that is gone fails. starting: a start or a
	 * re-list is under way (callers wait for it on cond). */
	pthread_cond_t cond;
	struct waiter *waiters;
	int reading, starting;
	/* a message is being written (one at a time on the pipe) by writer;
	 * wpolling: it waits for room, the lock given back */
	int writing, wpolling;
	pthread_t writer;
	uint64_t gen;
	const struct policy_upstream *cfg; /* borrowed */
	int64_t next_id;
	json_t *tools; /* as of the latest start; NULL until then */
	int failures;  /* starts or requests failed in a row */
	int64_t retry_at_ms;
	char last_failure[256];
	/* stdio */
	pid_t pid; /* 0: not running */
	int in_fd, out_fd, err_fd;
	char *rbuf; /* stdout bytes not yet a whole line */
	size_t rlen, rcap;
	char tail[UPSTREAM_STDERR_TAIL];
	size_t tlen;
	int64_t listed_at_ms; /* when tools was listed */
	/* http */
	CURL *curl;     /* initialize and tools/list, under the lock */
	struct handle pool[POOL_MAX]; /* idle handles for tools/call, made on demand */
	int npool;
	int http_ready; /* initialize answered */
	char session_id[SESSION_ID_MAX];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t timeout_ms(const struct upstream *u)
{
	return (u->cfg->timeout_seconds > 0 ? u->cfg->timeout_seconds
					    : UPSTREAM_DEFAULT_TIMEOUT_S) *
	       1000;
}

static size_t max_message(const struct upstream *u)
{
	return u->cfg->max_message > 0 ? (size_t)u->cfg->max_message
				       : (size_t)UPSTREAM_DEFAULT_MAX_MESSAGE;
}

int upstream_open(const struct policy_upstream *cfg, struct upstream **out, struct err *err)
{
	struct upstream *u = calloc(1, sizeof *u);

	*out = NULL;
	if (!u)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	pthread_mutex_init(&u->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&u->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	u->cfg = cfg;
	u->in_fd = u->out_fd = u->err_fd = -1;
	u->next_id = 1;
	*out = u;
	return 0;
}

/* ---- stderr tail ---- */

static void tail_add(struct upstream *u, const char *p, size_t n)
{
	size_t i;

	if (n >= sizeof u->tail) {
		p += n - (sizeof u->tail - 1);
		n = sizeof u->tail - 1;
	}
	if (u->tlen + n >= sizeof u->tail) {
		size_t drop = u->tlen + n - (sizeof u->tail - 1);

		memmove(u->tail, u->tail + drop, u->tlen - drop);
		u->tlen -= drop;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		u->tail[u->tlen++] = (ch == '\n' || (ch >= ' ' && ch < 127)) ? (char)ch : '?';
	}
	u->tail[u->tlen] = '\0';
}

static void drain_stderr(struct upstream *u)
{
	char buf[4096];
	ssize_t n;

	if (u->err_fd < 0)
		return;
	while ((n = read(u->err_fd, buf, sizeof buf)) > 0)
		tail_add(u, buf, (size_t)n);
	if (n == 0) {
		close(u->err_fd);
		u->err_fd = -1;
	}
}

void upstream_stderr(struct upstream *u, char *buf, size_t len)
{
	const char *t;

	if (!len)
		return;
	pthread_mutex_lock(&u->lock);
	drain_stderr(u);
	/* the newest bytes are the ones that explain a death */
	t = u->tail;
	if (u->tlen >= len)
		t += u->tlen - (len - 1);
	(void)snprintf(buf, len, "%s", t);
	pthread_mutex_unlock(&u->lock);
}

/* The last line of stderr, for an error message. */
static void last_words(struct upstream *u, char *buf, size_t len)
{
	size_t end = u->tlen, start;

	while (end > 0 && (u->tail[end - 1] == '\n' || u->tail[end - 1] == ' '))
		end--;
	start = end;
	while (start > 0 && u->tail[start - 1] != '\n')
		start--;
	(void)snprintf(buf, len, "%.*s", (int)(end - start > 200 ? 200 : end - start),
		       u->tail + start);
}

/* ---- stdio process ---- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Stops the child (its whole process group: a wrapper's children too) and
 * notes the failure, so the next start waits its back-off. */
static void stdio_stop(struct upstream *u, const char *why)
{
	int64_t delay;
	int st;

	/* a caller polling the pipes without the lock is let finish first:
	 * its descriptors are closed here (it polls 100 ms at most) */
	while (u->reading || u->wpolling)
		pthread_cond_wait(&u->cond, &u->lock);
	/* every call out to this child fails now (stdio_wait sees gen move) */
	u->gen++;
	pthread_cond_broadcast(&u->cond);
	if (u->pid > 0) {
		kill(-u->pid, SIGKILL);
		kill(u->pid, SIGKILL);
		while (waitpid(u->pid, &st, 0) < 0 && errno == EINTR)
			;
		drain_stderr(u);
	}
	u->pid = 0;
	close_fd(&u->in_fd);
	close_fd(&u->out_fd);
	close_fd(&u->err_fd);
	u->rlen = 0;
	json_decref(u->tools);
	u->tools = NULL;
	if (why) {
		u->failures++;
		delay = BACKOFF_FIRST_MS;
		for (int i = 1; i < u->failures && delay < BACKOFF_MAX_MS; i++)
			delay *= 2;
		if (delay > BACKOFF_MAX_MS)
			delay = BACKOFF_MAX_MS;
		u->retry_at_ms = now_ms() + delay;
		(void)snprintf(u->last_failure, sizeof u->last_failure, "%.200s", why);
	}
}

/* The environment of the child: a few harmless variables and the ones the
 * policy names, nothing else of airlock's (its tokens stay here). */
static char **child_env(const struct policy_upstream *c)
{
	static const char *const keep[] = {"PATH", "HOME", "LANG", "TMPDIR", "NODE_PATH"};
	size_t n = sizeof keep / sizeof keep[0] + (size_t)c->nenv + 1, k = 0, i;
	char **env = calloc(n, sizeof *env);
	const char *v;

	if (!env)
		return NULL;
	for (i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if ((v = getenv(keep[i])) && asprintf(&env[k], "%s=%s", keep[i], v) >= 0)
			k++;
	for (i = 0; i < (size_t)c->nenv; i++)
		if ((v = getenv(c->env_from[i])) &&
		    asprintf(&env[k], "%s=%s", c->env_names[i], v) >= 0)
			k++;
	return env;
}

static void free_env(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static int stdio_spawn(struct upstream *u, struct err *err)
{
	const struct policy_upstream *c = u->cfg;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, rc = 0, i;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char **argv = NULL, **env = NULL;
	pid_t pid;

	/* stdin is a socket so that writing to a dead child is EPIPE, not
	 * SIGPIPE (send with MSG_NOSIGNAL) */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) || pipe2(out, O_CLOEXEC) ||
	    pipe2(er, O_CLOEXEC)) {
		rc = err_set(err, AIRLOCK_EIO, "upstream '%s': cannot make pipes: %s", c->name,
			     strerror(errno));
		goto out;
	}
	argv = calloc((size_t)c->nargs + 2, sizeof *argv);
	env = child_env(c);
	if (!argv || !env) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	argv[0] = (char *)c->command;
	for (i = 0; i < c->nargs; i++)
		argv[i + 1] = (char *)c->args[i];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[1], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, er[1], 2);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, 0);
	i = posix_spawnp(&pid, c->command, &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (i) {
		rc = err_set(err, AIRLOCK_EIO, "upstream '%s': cannot start %s: %s", c->name,
			     c->command, strerror(i));
		goto out;
	}
	u->pid = pid;
	u->in_fd = in[0];
	u->out_fd = out[0];
	u->err_fd = er[0];
	in[0] = out[0] = er[0] = -1;
	fcntl(u->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(u->err_fd, F_SETFL, O_NONBLOCK);
	u->tlen = 0;
	u->tail[0] = '\0';
out:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&er[0]);
	close_fd(&er[1]);
	free(argv);
	free_env(env);
	return rc;
}

/* The upstream closed its end: what it said last on stderr explains why.
 * Its stderr may still be on the way (it closes when the process ends):
 * wait a little for the end of it. */
static int exited(struct upstream *u, struct err *err)
{
	int64_t until = now_ms() + 500;
	char lw[256];

	while (u->err_fd >= 0 && now_ms() < until) {
		struct pollfd p = {.fd = u->err_fd, .events = POLLIN};

		if (poll(&p, 1, (int)(until - now_ms())) <= 0)
			break;
		drain_stderr(u);
	}
	last_words(u, lw, sizeof lw);
	return err_set(err, AIRLOCK_EIO, "upstream '%s' exited%s%s", u->cfg->name,
		       lw[0] ? "; its last words: " : "", lw);
}

static int stdio_take(struct upstream *u, short out_ev, short err_ev, int64_t deadline,
		      size_t *total, struct err *err);

/* Waits for the pipe's turn (another call is writing), at most 100 ms at a
 * time, the lock given back. */
static int wait_turn(struct upstream *u, uint64_t gen, int64_t deadline, struct err *err)
{
	int64_t left = deadline - now_ms(), until;
	struct timespec ts;

	if (u->gen != gen || u->in_fd < 0)
		return err_set(err, AIRLOCK_EIO, "upstream '%s' was stopped while this call was out",
			       u->cfg->name);
	if (left <= 0)
		return err_set(err, AIRLOCK_EIO, "upstream '%s' did not read its input within %lld s",
			       u->cfg->name, (long long)(timeout_ms(u) / 1000));
	until = now_ms() + (left < 100 ? left : 100);
	ts.tv_sec = (time_t)(until / 1000);
	ts.tv_nsec = (long)(until % 1000) * 1000000L;
	pthread_cond_timedwait(&u->cond, &u->lock, &ts);
	return 0;
}

/* Waits up to 100 ms (and left) for room on the child's stdin, the lock
 * given back. When no call reads the child's output, this one reads it
 * meanwhile (answers handed to their calls): a child that writes its answer
 * before it reads on would otherwise wait for us as we wait for it, until
 * the timeout. */
static int wait_room(struct upstream *u, int64_t left, int64_t deadline, size_t *total,
		     struct err *err)
{
	struct pollfd p[3] = {{.fd = u->in_fd, .events = POLLOUT},
			      {.fd = -1, .events = POLLIN},
			      {.fd = -1, .events = POLLIN}};
	uint64_t gen = u->gen;
	int reader = !u->reading && u->out_fd >= 0, n, pe;

	if (reader) {
		p[1].fd = u->out_fd;
		p[2].fd = u->err_fd;
		u->reading = 1;
	}
	u->wpolling = 1;
	pthread_mutex_unlock(&u->lock);
	n = poll(p, 3, (int)(left < 100 ? left : 100));
	pe = errno;
	pthread_mutex_lock(&u->lock);
	u->wpolling = 0;
	if (reader)
		u->reading = 0;
	pthread_cond_broadcast(&u->cond);
	if (n < 0)
		return pe == EINTR ? 0 : err_set(err, AIRLOCK_EIO, "poll: %s", strerror(pe));
	if (u->gen != gen || !reader || n == 0)
		return 0; /* stopped meanwhile: the caller sees gen move */
	return stdio_take(u, p[1].revents, p[2].revents, deadline, total, err);
}

/* Writes one message and a newline before the deadline, under u's lock.
 * One message at a time on the pipe (u->writing): a writer that waits for
 * room gives the lock back (wait_room), and no other's bytes may come
 * between its own. */
static int stdio_send(struct upstream *u, const char *msg, int64_t deadline, struct err *err)
{
	size_t len = strlen(msg), off = 0, total = 0;
	uint64_t gen = u->gen;
	char *line;
	int rc = 0;

	while (u->writing && !rc)
		rc = wait_turn(u, gen, deadline, err);
	if (rc)
		return rc;
	if (u->gen != gen || u->in_fd < 0)
		return err_set(err, AIRLOCK_EIO, "upstream '%s' was stopped while this call was out",
			       u->cfg->name);
	if (!(line = malloc(len + 1)))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	memcpy(line, msg, len);
	line[len++] = '\n';
	u->writing = 1;
	u->writer = pthread_self();
	while (off < len) {
		int64_t left;
		ssize_t n;

		if (u->gen != gen || u->in_fd < 0) {
			rc = err_set(err, AIRLOCK_EIO,
				     "upstream '%s' was stopped while this call was out",
				     u->cfg->name);
			break;
		}
		n = send(u->in_fd, line + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			rc = errno == EPIPE || errno == ECONNRESET
				 ? exited(u, err)
				 : err_set(err, AIRLOCK_EIO, "upstream '%s' is gone (%s)",
					   u->cfg->name, strerror(errno));
			break;
		}
		left = deadline - now_ms();
		if (left <= 0) {
			rc = err_set(err, AIRLOCK_EIO,
				     "upstream '%s' did not read its input within %lld s",
				     u->cfg->name, (long long)(timeout_ms(u) / 1000));
			break;
		}
		if (total > 4 * max_message(u)) {
			rc = err_set(err, AIRLOCK_EIO,
				     "upstream '%s' flooded its output (%zu bytes) instead of "
				     "reading its input",
				     u->cfg->name, total);
			break;
		}
		if ((rc = wait_room(u, left, deadline, &total, err)))
			break;
	}
	u->writing = 0;
	pthread_cond_broadcast(&u->cond);
	free(line);
	return rc;
}

/* Answers what the upstream asks of us: ping, nothing else. */
static void answer_upstream(struct upstream *u, json_t *msg, int64_t deadline)
{
	struct jsonrpc_msg m;
	struct err e = {0};
	char *reply;

	jsonrpc_classify(msg, &m);
	if (m.kind != JSONRPC_REQUEST)
		return;
	/* this thread is mid-message on the pipe (it read this while waiting
	 * for room): no reply can go out before that message ends, and
	 * waiting for its own turn would last until the deadline; the
	 * upstream's ping goes unanswered (it may ask again) */
	if (u->writing && pthread_equal(u->writer, pthread_self()))
		return;
	if (!strcmp(m.method, "ping"))
		reply = jsonrpc_result(m.id, json_object());
	else
		reply = jsonrpc_error(m.id, JSONRPC_METHOD_NOT_FOUND,
				      "airlock offers its upstreams no methods", NULL);
	if (reply)
		stdio_send(u, reply, deadline, &e);
	free(reply);
}

/* 1 when msg is the response to request id. */
static int is_response(json_t *msg, int64_t id)
{
	json_t *mid = json_object_get(msg, "id");

	return json_is_integer(mid) && json_integer_value(mid) == id &&
	       !json_object_get(msg, "method") &&
	       (json_object_get(msg, "result") || json_object_get(msg, "error"));
}

/* The whole lines buffered: each response handed to the call waiting for
 * its id (one no call waits for any more, answered after its caller gave
 * up, is dropped), the upstream's own requests answered. A line that is
 * not JSON-RPC is an error after which the caller stops the child. */
static int stdio_dispatch(struct upstream *u, int64_t deadline, struct err *err)
{
	char *nl;
	int handed = 0;

	while (u->rlen && (nl = memchr(u->rbuf, '\n', u->rlen))) {
		size_t ll = (size_t)(nl - u->rbuf);
		json_error_t je;
		json_t *msg = NULL, *mid;
		struct waiter *w;

		if (ll > 0 && jsonrpc_parse(u->rbuf, ll, &msg, &je) != 0) {
			int show = ll > 60 ? 60 : (int)ll;

			for (int i = 0; i < show; i++)
				if (!isprint((unsigned char)u->rbuf[i]))
					u->rbuf[i] = '?';
			return err_set(err, AIRLOCK_EIO,
				       "upstream '%s' wrote something that is not JSON-RPC "
				       "on its output: '%.*s'",
				       u->cfg->name, show, u->rbuf);
		}
		memmove(u->rbuf, nl + 1, u->rlen - ll - 1);
		u->rlen -= ll + 1;
		if (!msg)
			continue;
		mid = json_object_get(msg, "id");
		if (json_is_integer(mid) && !json_object_get(msg, "method") &&
		    (json_object_get(msg, "result") || json_object_get(msg, "error"))) {
			for (w = u->waiters; w && w->id != json_integer_value(mid); w = w->next)
				;
			if (w && !w->resp) {
				w->resp = msg;
				handed = 1;
				continue;
			}
			json_decref(msg);
			continue;
		}
		if (json_is_object(msg) && json_is_string(json_object_get(msg, "method")) &&
		    !strcmp(json_string_value(json_object_get(msg, "method")),
			    "notifications/tools/list_changed")) {
			/* listed afresh at the next start; until then the
			 * cached definitions stand and pins are checked
			 * against what a call finds (mcp side) */
			json_decref(u->tools);
			u->tools = NULL;
		}
		answer_upstream(u, msg, deadline);
		json_decref(msg);
	}
	if (handed)
		pthread_cond_broadcast(&u->cond);
	return 0;
}

/* Reads what the child wrote within left ms (at most 100, so that a stop
 * never waits long for the reader), the lock given back while polling.
 * *total counts the bytes this call has read without its answer. */
static int stdio_read(struct upstream *u, int64_t left, int64_t deadline, size_t *total,
		      struct err *err)
{
	uint64_t gen = u->gen;
	struct pollfd p[2] = {{.fd = u->out_fd, .events = POLLIN},
			      {.fd = u->err_fd, .events = POLLIN}};
	int n, pe;

	u->reading = 1;
	pthread_mutex_unlock(&u->lock);
	n = poll(p, p[1].fd >= 0 ? 2 : 1, (int)(left < 100 ? left : 100));
	pe = errno;
	pthread_mutex_lock(&u->lock);
	u->reading = 0;
	pthread_cond_broadcast(&u->cond);
	if (n < 0)
		return pe == EINTR ? 0 : err_set(err, AIRLOCK_EIO, "poll: %s", strerror(pe));
	if (u->gen != gen)
		return 0; /* stopped meanwhile: the caller fails its call */
	return stdio_take(u, p[0].revents, p[1].fd >= 0 ? p[1].revents : 0, deadline, total,
			  err);
}

/* What a poll found on the child's stdout (out_ev) and stderr (err_ev),
 * taken in under u's lock: stderr into its tail, stdout into rbuf, its
 * whole lines dispatched. *total counts the stdout bytes read. */
static int stdio_take(struct upstream *u, short out_ev, short err_ev, int64_t deadline,
		      size_t *total, struct err *err)
{
	const char *name = u->cfg->name;
	size_t cap = max_message(u);

	if (u->err_fd >= 0 && err_ev)
		drain_stderr(u);
	if (!out_ev || u->out_fd < 0)
		return 0;
	if (u->rcap - u->rlen < 65536) {
		size_t nc = u->rcap ? u->rcap * 2 : 65536;
		char *nb;

		if (nc > cap + 131072)
			nc = cap + 131072;
		if (nc <= u->rlen) /* full and no newline: over the limit */
			return err_set(err, AIRLOCK_EIO,
				       "upstream '%s' sent a message over the %zu-byte limit", name,
				       cap);
		nb = realloc(u->rbuf, nc);
		if (!nb)
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		u->rbuf = nb;
		u->rcap = nc;
	}
	ssize_t got = read(u->out_fd, u->rbuf + u->rlen, u->rcap - u->rlen);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (got <= 0)
		return exited(u, err);
	u->rlen += (size_t)got;
	*total += (size_t)got;
	return stdio_dispatch(u, deadline, err);
}

/* Waits for the response to request id (sent); *resp a new reference.
 * Under u's lock, given back while waiting, so that other calls are sent
 * and answered meanwhile. Anything hostile (not JSON, too long, too much,
 * too late, EOF) is an error after which the caller stops the child. */
static int stdio_wait(struct upstream *u, int64_t id, int64_t deadline, json_t **resp,
		      struct err *err)
{
	const char *name = u->cfg->name;
	size_t cap = max_message(u), total = 0, budget = 4 * cap;
	struct waiter w = {id, NULL, u->waiters}, **pp;
	uint64_t gen = u->gen;
	int rc = 0;

	*resp = NULL;
	/* on the list while this call waits; taken off below, before it
	 * returns, whatever happened */
	/* cppcheck-suppress autoVariables */
	u->waiters = &w;
	/* whole lines already buffered first */
	rc = stdio_dispatch(u, deadline, err);
	while (!rc && !w.resp) {
		int64_t left = deadline - now_ms();

		if (u->gen != gen || u->out_fd < 0) {
			char lw[256];

			last_words(u, lw, sizeof lw);
			rc = err_set(err, AIRLOCK_EIO,
				     "upstream '%s' was stopped while this call was out%s%s", name,
				     lw[0] ? "; its last words: " : "", lw);
		} else if (u->rlen > cap)
			rc = err_set(err, AIRLOCK_EIO,
				     "upstream '%s' sent a message over the %zu-byte limit", name,
				     cap);
		else if (total > budget)
			rc = err_set(err, AIRLOCK_EIO,
				     "upstream '%s' flooded its output (%zu bytes without "
				     "answering)",
				     name, total);
		else if (left <= 0)
			rc = err_set(err, AIRLOCK_EIO, "upstream '%s' did not answer within %lld s",
				     name, (long long)(timeout_ms(u) / 1000));
		else if (u->reading) {
			/* another call reads: it hands this one its answer */
			struct timespec ts;
			int64_t until = now_ms() + (left < 100 ? left : 100);

			ts.tv_sec = (time_t)(until / 1000);
			ts.tv_nsec = (long)(until % 1000) * 1000000L;
			pthread_cond_timedwait(&u->cond, &u->lock, &ts);
		} else
			rc = stdio_read(u, left, deadline, &total, err);
	}
	for (pp = &u->waiters; *pp; pp = &(*pp)->next)
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	if (rc) {
		json_decref(w.resp);
		return rc;
	}
	*resp = w.resp;
	return 0;
}

/* ---- HTTP ---- */

struct body {
	char *p;
	size_t len, cap, limit; /* limit: the most cap may grow to */
	int over;
};

static size_t http_write(char *p, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t add = size * n;

	/* the limit, whatever room a buffer kept from an earlier call has */
	if (b->len + add + 1 > b->limit) {
		b->over = 1;
		return 0;
	}
	if (b->len + add + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : BODY_FIRST;
		char *np;

		while (nc < b->len + add + 1 && nc < b->limit)
			nc *= 2;
		if (nc > b->limit)
			nc = b->limit;
		if (b->len + add + 1 > nc || !(np = realloc(b->p, nc))) {
			b->over = 1;
			return 0; /* abort the transfer: the answer is over its limit */
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, p, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

struct hdrs {
	char session[SESSION_ID_MAX];
	int sse;
};

static size_t http_header(char *p, size_t size, size_t n, void *ctx)
{
	struct hdrs *h = ctx;
	size_t len = size * n, vl;
	const char *v;

	if (len > 15 && !strncasecmp(p, "mcp-session-id:", 15)) {
		v = p + 15;
		while (v < p + len && (*v == ' ' || *v == '\t'))
			v++;
		vl = (size_t)(p + len - v);
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		/* visible ASCII only (the spec's rule): it goes back into a header */
		if (vl && vl < sizeof h->session) {
			for (size_t i = 0; i < vl; i++)
				if (v[i] < 0x21 || v[i] > 0x7e)
					return len;
			memcpy(h->session, v, vl);
			h->session[vl] = '\0';
		}
	} else if (len > 13 && !strncasecmp(p, "content-type:", 13)) {
		v = p + 13;
		while (*v == ' ')
			v++;
		h->sse = !strncasecmp(v, "text/event-stream", 17);
	}
	return len;
}

/* The response to id among the events of an SSE body. */
static json_t *sse_find(char *body, size_t len, int64_t id)
{
	char *ev = body, *end = body + len;

	while (ev < end) {
		char *next = strstr(ev, "\n\n"), *line, *data = NULL;
		size_t dl = 0;
		json_t *msg = NULL;
		json_error_t je;

		if (!next)
			next = end;
		*next = '\0';
		/* data: lines joined by newlines; \r\n tolerated */
		for (line = ev; line && line < next;) {
			char *nl = strchr(line, '\n');

			if (nl)
				*nl = '\0';
			if (!strncmp(line, "data:", 5)) {
				char *d = line + 5;
				size_t l;

				if (*d == ' ')
					d++;
				l = strlen(d);
				if (l && d[l - 1] == '\r')
					l--;
				if (!data) {
					data = d;
				} else {
					memmove(data + dl, "\n", 1);
					memmove(data + dl + 1, d, l);
					l += 1;
				}
				dl += l;
				data[dl] = '\0';
			}
			line = nl ? nl + 1 : NULL;
		}
		if (data && jsonrpc_parse(data, dl, &msg, &je) == 0) {
			if (is_response(msg, id))
				return msg;
			json_decref(msg);
		}
		ev = next + 2;
	}
	return NULL;
}

/* What one POST saw of the session: the id the upstream gave, and whether
 * it said the session we named is over (404). */
struct http_seen {
	char session[SESSION_ID_MAX];
	int ended;
};

/* curl_easy_perform of curl on multi (its own), calling sent(ctx) once
 * the request has left (never when it did not). */
static CURLcode perform_multi(CURLM *multi, CURL *curl, void (*sent)(void *ctx), void *ctx)
{
	CURLcode cc = CURLE_FAILED_INIT;
	curl_off_t out = 0;
	CURLMsg *m;
	int running = 1, left, told = !sent;

	if (curl_multi_add_handle(multi, curl) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	for (;;) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		if (!told && curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &out) == CURLE_OK &&
		    out > 0) {
			told = 1;
			sent(ctx);
		}
		/* the transfer's own timeout (CURLOPT_TIMEOUT_MS) ends it */
		if (!running || curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	}
	while ((m = curl_multi_info_read(multi, &left)))
		if (m->msg == CURLMSG_DONE && m->easy_handle == curl)
			cc = m->data.result;
	curl_multi_remove_handle(multi, curl);
	return cc;
}

/* POSTs msg on hn (a handle of u's, used by one thread at a time) within
 * the session sid ("" for none; ready: initialize has been answered); for a
 * request (id > 0) *resp gets its response. Reads nothing of u but its
 * policy, so calls may run at once, outside u's lock. With hn->multi,
 * sent(ctx) is called once the request has left. */
static int http_post(const struct upstream *u, struct handle *hn, const char *sid, int ready,
		     const char *msg, int64_t id, void (*sent)(void *ctx), void *ctx,
		     json_t **resp, struct http_seen *seen, struct err *err)
{
	const struct policy_upstream *c = u->cfg;
	CURL *curl = hn->easy;
	struct curl_slist *h = NULL;
	struct body b = {0};
	struct hdrs hd = {0};
	char ebuf[CURL_ERROR_SIZE] = "", line[SESSION_ID_MAX + 64];
	long code = 0;
	CURLcode cc;
	int rc = 0, i;

	if (resp)
		*resp = NULL;
	seen->session[0] = '\0';
	seen->ended = 0;
	/* the buffer grows with the answer (most are small), never past the limit */
	b.limit = max_message(u) + 1;
	if (hn->multi) {
		b.p = hn->body;
		b.cap = hn->body_cap;
		hn->body = NULL;
		hn->body_cap = 0;
	}
	if (hn->multi && hn->hdrs && hn->ready == ready && !strcmp(hn->sid, sid))
		goto options_set; /* the same session as the handle's last call */
	h = curl_slist_append(NULL, "Content-Type: application/json");
	h = h ? curl_slist_append(h, "Accept: application/json, text/event-stream") : NULL;
	if (h && ready)
		h = curl_slist_append(h, "MCP-Protocol-Version: " PROTOCOL_VERSION);
	if (h && sid[0]) {
		(void)snprintf(line, sizeof line, "Mcp-Session-Id: %s", sid);
		h = curl_slist_append(h, line);
	}
	for (i = 0; h && i < c->nheaders; i++) {
		const char *v = getenv(c->header_env[i]);
		char *hl;

		if (!v) {
			rc =
			    err_set(err, AIRLOCK_EINVAL,
				    "upstream '%s': environment variable %s (header %s) is not set",
				    c->name, c->header_env[i], c->header_names[i]);
			goto out;
		}
		if (asprintf(&hl, "%s: %s", c->header_names[i], v) < 0) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto out;
		}
		h = curl_slist_append(h, hl);
		free(hl);
	}
	if (!h) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	/* options only: the handle keeps its connection open for the next call */
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, c->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms(u));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, http_header);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "airlock-upstream");
	if (hn->multi) {
		/* kept with the handle for its next call in this session */
		curl_slist_free_all(hn->hdrs);
		hn->hdrs = h;
		h = NULL;
		(void)snprintf(hn->sid, sizeof hn->sid, "%s", sid);
		hn->ready = ready;
	}
options_set:
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, msg);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(msg));
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hd);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, ebuf);
	cc = hn->multi ? perform_multi(hn->multi, curl, sent, ctx) : curl_easy_perform(curl);
	if (b.over) {
		rc = err_set(err, AIRLOCK_EIO,
			     "upstream '%s' sent an answer over the %zu-byte limit", c->name,
			     max_message(u));
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = err_set(err, AIRLOCK_EIO, "upstream '%s': %s", c->name,
			     ebuf[0] ? ebuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (code == 404 && sid[0]) {
		/* the session ended upstream: a new one is started next time */
		seen->ended = 1;
		rc = err_set(err, AIRLOCK_EIO, "upstream '%s' ended the session", c->name);
		goto out;
	}
	if (code < 200 || code > 299) {
		rc = err_set(err, AIRLOCK_EIO, "upstream '%s' answered HTTP %ld", c->name, code);
		goto out;
	}
	if (hd.session[0])
		(void)snprintf(seen->session, sizeof seen->session, "%s", hd.session);
	if (!resp)
		goto out;
	if (!b.p || !b.len) {
		*resp = NULL;
	} else if (hd.sse) {
		*resp = sse_find(b.p, b.len, id);
	} else {
		json_error_t je;
		json_t *m = NULL;

		if (b.len && jsonrpc_parse(b.p, b.len, &m, &je) == 0 && is_response(m, id))
			*resp = m;
		else
			json_decref(m);
	}
	if (!*resp)
		rc = err_set(err, AIRLOCK_EIO,
			     "upstream '%s' sent no JSON-RPC answer to request %lld", c->name,
			     (long long)id);
out:
	/* the handle is kept for later calls: nothing of this frame stays in it
	 * (a pooled one keeps its headers, and its buffer when small) */
	if (!hn->multi)
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, NULL);
	curl_slist_free_all(h);
	if (hn->multi && b.p && b.cap <= BODY_FIRST) {
		hn->body = b.p;
		hn->body_cap = b.cap;
	} else {
		free(b.p);
	}
	return rc;
}

/* ---- requests ---- */

/* What a POST saw of the session, applied to u (under its lock): a 404 to
 * the session in use ends it (initialize again on the next call); a session
 * id the upstream gives within it is kept. sid: the session the POST named. */
static void http_saw(struct upstream *u, const char *sid, const struct http_seen *seen)
{
	if (strcmp(sid, u->session_id) != 0)
		return; /* another thread started a new session meanwhile */
	if (seen->ended) {
		u->http_ready = 0;
		u->session_id[0] = '\0';
	} else if (seen->session[0]) {
		(void)snprintf(u->session_id, sizeof u->session_id, "%s", seen->session);
	}
}

/* A POST under u's lock (initialize, notifications, tools/list), on the
 * handle kept for them. */
static int http_locked(struct upstream *u, const char *msg, int64_t id, json_t **resp,
		       struct err *err)
{
	struct http_seen seen;
	char sid[SESSION_ID_MAX];
	int rc;

	if (!u->curl && !(u->curl = curl_easy_init()))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	(void)snprintf(sid, sizeof sid, "%s", u->session_id);
	rc = http_post(u, &(struct handle){.easy = u->curl}, sid, u->http_ready, msg, id, NULL,
		       NULL, resp, &seen, err);
	http_saw(u, sid, &seen);
	return rc;
}

/* The text of request id: method(params), params stolen. */
static char *request_text(const char *method, json_t *params, int64_t id)
{
	json_t *msg = json_pack("{s:s,s:I,s:s,s:o}", "jsonrpc", "2.0", "id", (json_int_t)id,
				"method", method, "params", params ? params : json_object());
	char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;

	json_decref(msg);
	return text;
}

/* The result object of a response (resp released). */
static int response_result(const struct upstream *u, const char *method, json_t *resp,
			   json_t **result, struct err *err)
{
	json_t *e;
	int rc = 0;

	if ((e = json_object_get(resp, "error"))) {
		const char *m = json_string_value(json_object_get(e, "message"));

		rc = err_set(err, AIRLOCK_EINVAL, "upstream '%s' refused %s: %.300s", u->cfg->name,
			     method, m ? m : "no reason given");
	} else if (!json_is_object(json_object_get(resp, "result"))) {
		rc = err_set(err, AIRLOCK_EIO, "upstream '%s' answered %s without a result object",
			     u->cfg->name, method);
	} else {
		*result = json_incref(json_object_get(resp, "result"));
	}
	json_decref(resp);
	return rc;
}

/* Sends method(params) (params stolen) and returns the result object;
 * under u's lock. sent(ctx), when given, once a stdio request has left. */
static int request(struct upstream *u, const char *method, json_t *params,
		   void (*sent)(void *ctx), void *ctx, json_t **result, struct err *err)
{
	int64_t id = u->next_id++, deadline = now_ms() + timeout_ms(u);
	json_t *resp = NULL;
	char *text = request_text(method, params, id);
	int rc;

	*result = NULL;
	if (!text)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (u->cfg->transport == UPSTREAM_HTTP) {
		rc = http_locked(u, text, id, &resp, err);
	} else {
		rc = stdio_send(u, text, deadline, err);
		if (!rc && sent)
			sent(ctx);
		if (!rc)
			rc = stdio_wait(u, id, deadline, &resp, err);
		if (rc)
			stdio_stop(u, err->msg);
	}
	free(text);
	if (rc)
		return rc;
	return response_result(u, method, resp, result, err);
}

static int notify(struct upstream *u, const char *method, struct err *err)
{
	char *text = jsonrpc_notification(method, json_object());
	int rc;

	if (!text)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (u->cfg->transport == UPSTREAM_HTTP)
		rc = http_locked(u, text, 0, NULL, err);
	else
		rc = stdio_send(u, text, now_ms() + timeout_ms(u), err);
	free(text);
	return rc;
}

/* Every page of tools/list, bounded. */
static int list_tools(struct upstream *u, struct err *err)
{
	json_t *all = json_array(), *r = NULL, *params, *tools, *t;
	const char *cursor = NULL;
	char *cur = NULL;
	size_t i;
	int rc = 0, page;

	if (!all)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (page = 0; page < PAGES_MAX; page++) {
		params = cursor ? json_pack("{s:s}", "cursor", cursor) : json_object();
		rc = request(u, "tools/list", params, NULL, NULL, &r, err);
		if (rc)
			goto out;
		tools = json_object_get(r, "tools");
		if (!json_is_array(tools)) {
			rc = err_set(err, AIRLOCK_EIO, "upstream '%s' listed no tools array",
				     u->cfg->name);
			goto out;
		}
		json_array_foreach(tools, i, t)
		{
			if (!json_is_object(t) || !json_is_string(json_object_get(t, "name")))
				continue; /* not a tool: nothing to show or call */
			if (json_array_size(all) >= TOOLS_MAX) {
				rc = err_set(err, AIRLOCK_EIO, "upstream '%s' lists over %d tools",
					     u->cfg->name, TOOLS_MAX);
				goto out;
			}
			json_array_append(all, t);
		}
		free(cur);
		cur = NULL;
		cursor = json_string_value(json_object_get(r, "nextCursor"));
		if (cursor && !(cur = strdup(cursor))) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto out;
		}
		cursor = cur;
		json_decref(r);
		r = NULL;
		if (!cursor)
			break;
	}
	json_decref(u->tools);
	u->tools = all;
	u->listed_at_ms = now_ms();
	all = NULL;
out:
	free(cur);
	json_decref(r);
	json_decref(all);
	return rc;
}

/* Starts the upstream when it is not running (within its back-off):
 * spawn, initialize, notifications/initialized, tools/list. */
static int start_locked(struct upstream *u, struct err *err)
{
	const char *name = u->cfg->name;
	json_t *r = NULL, *params;
	int64_t now = now_ms();
	int rc;

	if (u->cfg->transport == UPSTREAM_STDIO && u->pid > 0) {
		int st;

		if (waitpid(u->pid, &st, WNOHANG) == u->pid) {
			u->pid = 0; /* reaped: stdio_stop must not wait for it */
			stdio_stop(u, "the upstream exited");
		} else if (u->tools) {
			goto running;
		}
	}
	if (u->cfg->transport == UPSTREAM_HTTP && u->http_ready && u->tools)
		goto running;
	if (u->failures && now < u->retry_at_ms)
		return err_set(err, AIRLOCK_EIO,
			       "upstream '%s' is unavailable (%.200s); next attempt in %lld ms",
			       name, u->last_failure, (long long)(u->retry_at_ms - now));
	if (u->cfg->transport == UPSTREAM_STDIO && u->pid <= 0 && (rc = stdio_spawn(u, err)))
		goto fail;
	u->session_id[0] = '\0'; /* initialize names no session */
	params = json_pack("{s:s,s:{},s:{s:s,s:s}}", "protocolVersion", PROTOCOL_VERSION,
			   "capabilities", "clientInfo", "name", "airlock", "version", "1");
	if ((rc = request(u, "initialize", params, NULL, NULL, &r, err)))
		goto fail;
	json_decref(r);
	u->http_ready = 1;
	if ((rc = notify(u, "notifications/initialized", err)) || (rc = list_tools(u, err)))
		goto fail;
	return 0;
running:
	/* A server may change its tools without telling (dbhub reloads its
	 * config file and says nothing): listed afresh now and then, so a
	 * changed definition is found (and hidden) while airlock runs. */
	if (now - u->listed_at_ms < UPSTREAM_RELIST_MS)
		return 0;
	if (!(rc = list_tools(u, err)))
		return 0;
fail:
	if (u->cfg->transport == UPSTREAM_STDIO)
		stdio_stop(u, err->msg);
	else {
		u->http_ready = 0;
		u->failures++;
		u->retry_at_ms = now_ms() + BACKOFF_FIRST_MS;
		(void)snprintf(u->last_failure, sizeof u->last_failure, "%.200s", err->msg);
	}
	return rc;
}

/* start_locked, one caller at a time: its requests give the lock back
 * while they wait (stdio_wait), and a second start must not begin then. */
static int ensure_started(struct upstream *u, struct err *err)
{
	int rc;

	while (u->starting)
		pthread_cond_wait(&u->cond, &u->lock);
	u->starting = 1;
	rc = start_locked(u, err);
	u->starting = 0;
	pthread_cond_broadcast(&u->cond);
	return rc;
}

int upstream_tools(struct upstream *u, json_t **tools, struct err *err)
{
	int rc;

	*tools = NULL;
	pthread_mutex_lock(&u->lock);
	rc = ensure_started(u, err);
	if (!rc)
		*tools = json_incref(u->tools);
	pthread_mutex_unlock(&u->lock);
	return rc;
}

int upstream_relist(struct upstream *u, json_t **tools, struct err *err)
{
	int rc;

	*tools = NULL;
	pthread_mutex_lock(&u->lock);
	/* at most once a second: a caller that keeps finding a mismatch (an
	 * untrusted change) must not turn every call into a tools/list */
	if (u->tools && now_ms() - u->listed_at_ms >= RELIST_SOON_MS)
		u->listed_at_ms = 0;
	rc = ensure_started(u, err);
	if (!rc)
		*tools = json_incref(u->tools);
	pthread_mutex_unlock(&u->lock);
	return rc;
}

/* tools/call over HTTP: the lock is held only to start the session and
 * take a handle, so calls from several threads are in flight at once, each
 * on a connection kept open from one call to the next. */
static int http_call(struct upstream *u, const char *tool, json_t *args,
		     void (*sent)(void *ctx), void *ctx, json_t **result, struct err *err)
{
	struct http_seen seen;
	char sid[SESSION_ID_MAX], *text;
	json_t *resp = NULL;
	struct handle h = {0};
	CURL *curl = NULL;
	int64_t id;
	int rc, ready;

	/* under u's lock (the caller's), given back before the POST */
	id = u->next_id++;
	ready = u->http_ready;
	(void)snprintf(sid, sizeof sid, "%s", u->session_id);
	if (u->npool > 0)
		h = u->pool[--u->npool];
	pthread_mutex_unlock(&u->lock);
	text = request_text(
	    "tools/call",
	    json_pack("{s:s,s:O}", "name", tool, "arguments", args ? args : json_object()), id);
	if (!h.easy)
		h.easy = curl_easy_init();
	if (!h.multi)
		h.multi = curl_multi_init();
	curl = h.easy;
	if (!text || !h.easy || !h.multi)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	else if (!(rc = http_post(u, &h, sid, ready, text, id, sent, ctx, &resp, &seen, err)))
		rc = response_result(u, "tools/call", resp, result, err);
	pthread_mutex_lock(&u->lock);
	if (text && curl && h.multi)
		http_saw(u, sid, &seen);
	free(text);
	if (h.easy && h.multi && u->npool < POOL_MAX)
		u->pool[u->npool++] = h;
	else
		handle_free(&h);
	return rc;
}

int upstream_call_sent(struct upstream *u, const char *tool, json_t *args,
		       void (*sent)(void *ctx), void *ctx, json_t **result, struct err *err)
{
	int rc;

	*result = NULL;
	pthread_mutex_lock(&u->lock);
	rc = ensure_started(u, err);
	if (!rc && u->cfg->transport == UPSTREAM_HTTP)
		rc = http_call(u, tool, args, sent, ctx, result, err);
	else if (!rc)
		rc = request(
		    u, "tools/call",
		    json_pack("{s:s,s:O}", "name", tool, "arguments", args ? args : json_object()),
		    sent, ctx, result, err);
	if (!rc)
		u->failures = 0;
	pthread_mutex_unlock(&u->lock);
	return rc;
}

int upstream_call(struct upstream *u, const char *tool, json_t *args, json_t **result,
		  struct err *err)
{
	return upstream_call_sent(u, tool, args, NULL, NULL, result, err);
}

void upstream_free(struct upstream *u)
{
	if (!u)
		return;
	stdio_stop(u, NULL);
	if (u->curl)
		curl_easy_cleanup(u->curl);
	while (u->npool > 0)
		handle_free(&u->pool[--u->npool]);
	free(u->rbuf);
	json_decref(u->tools);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* ---- pins ---- */

static const char *const pinned_keys[] = {"name",	 "title",	 "description",
					  "inputSchema", "outputSchema", "annotations"};

json_t *upstream_tool_pinned(json_t *def)
{
	json_t *o = json_object(), *v;
	size_t i;

	for (i = 0; o && i < sizeof pinned_keys / sizeof pinned_keys[0]; i++)
		if ((v = json_object_get(def, pinned_keys[i])))
			json_object_set(o, pinned_keys[i], v);
	return o;
}

int upstream_tool_hash(json_t *def, char hex[65], struct err *err)
{
	json_t *o = upstream_tool_pinned(def);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	unsigned char h[32];

	json_decref(o);
	if (!text)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	crypto_generichash(h, sizeof h, (const unsigned char *)text, strlen(text), NULL, 0);
	free(text);
	sodium_bin2hex(hex, 65, h, sizeof h);
	return 0;
}

/* ---- the process's upstreams ---- */

#define SHARED_MAX 64

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct upstream *shared[SHARED_MAX];
static int nshared;

struct upstream *upstream_shared(const struct policy_upstream *cfg, struct err *err)
{
	struct upstream *u = NULL;
	int i;

	pthread_mutex_lock(&shared_lock);
	for (i = 0; i < nshared; i++)
		if (shared[i]->cfg == cfg || !strcmp(shared[i]->cfg->name, cfg->name)) {
			u = shared[i];
			break;
		}
	if (!u && nshared == SHARED_MAX)
		err_set(err, AIRLOCK_EINVAL, "more than %d upstreams", SHARED_MAX);
	else if (!u && !upstream_open(cfg, &u, err))
		shared[nshared++] = u;
	pthread_mutex_unlock(&shared_lock);
	return u;
}

void upstream_shared_close(void)
{
	pthread_mutex_lock(&shared_lock);
	while (nshared > 0)
		upstream_free(shared[--nshared]);
	pthread_mutex_unlock(&shared_lock);
}

const char *upstream_split(const char *name, char *ubuf, size_t len)
{
	const char *sep = name ? strstr(name, UPSTREAM_SEP) : NULL;
	size_t n;

	if (!sep || sep == name || !sep[2])
		return NULL;
	n = (size_t)(sep - name);
	if (n >= len)
		return NULL;
	memcpy(ubuf, name, n);
	ubuf[n] = '\0';
	return sep + 2;
}

int upstream_inventory(const struct policy_upstream *cfg, json_t *tools, json_t **absent,
		       json_t **unlisted, struct err *err)
{
	json_t *d;
	size_t i;
	int j;

	*absent = json_array();
	*unlisted = json_array();
	if (!*absent || !*unlisted) {
		json_decref(*absent);
		json_decref(*unlisted);
		*absent = *unlisted = NULL;
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	for (j = 0; j < cfg->ntools; j++) {
		json_array_foreach(tools, i,
				   d) if (!strcmp(json_string_value(json_object_get(d, "name")),
						  cfg->tools[j].name)) break;
		if (i == json_array_size(tools))
			json_array_append_new(*absent, json_string(cfg->tools[j].name));
	}
	json_array_foreach(tools, i, d)
	{
		const char *n = json_string_value(json_object_get(d, "name"));

		for (j = 0; j < cfg->ntools && strcmp(cfg->tools[j].name, n); j++)
			;
		if (j == cfg->ntools)
			json_array_append_new(*unlisted, json_string(n));
	}
	return 0;
}
