/* attack.c — a hostile client for tests/e2e/hostile_load.sh: the attacks
 * of issue 14 against `airlock serve` on loopback, and the probe that
 * measures what a well-behaved client gets meanwhile.
 *
 * usage:
 *   attack probe PORT TOKEN SECONDS
 *       from 127.0.0.1: an MCP session (book_stats) and the console page
 *       (GET /login), one after the other for SECONDS; prints
 *       "n=N fail=N p50=MS p99=MS max=MS" (a failed request counts as 5 s)
 *   attack slow PORT FROM N SECONDS
 *       N connections from address FROM, each sending one header line every
 *       2 s and never ending its head; a connection the server closes is
 *       opened again. Prints "opened=N closed_by_server=N peak_open=N"
 *   attack trickle PORT FROM WHAT INTERVAL_MS MAX_S
 *       one connection that trickles its head (WHAT=head) or its body
 *       (WHAT=body), a byte every INTERVAL_MS; prints the seconds until the
 *       server closed it, or MAX_S when it never did
 *   attack signin PORT FROM CLIENTS SECONDS
 *       CLIENTS threads posting /login with random names, each at most every
 *       5 ms (FROM ending in
 *       '.', e.g. "127.0.1.": thread i from FROM(i+1)); prints
 *       "tries=N s401=N s429=N s503=N other=N"
 *   attack anon PORT FROM CLIENTS SECONDS
 *       CLIENTS threads (FROM as for signin) posting to /mcp/read, without a
 *       token, calls that look expensive (book_stats, a "text" argument and
 *       an array of 20,000 items, under the 64 KB the lanes decode), each at
 *       most every 5 ms; prints "tries=N s401=N other=N"
 *   attack sessions PORT FROM TOKEN N CONCURRENCY
 *       N MCP initialize calls with one read token; prints "ok=N s503=N other=N"
 *
 * Loopback only: every connection goes to 127.0.0.1; FROM is the source
 * address (127.0.0.2 …), so that the attacker and the probe are different
 * clients to the server. Bounded: every loop ends at its deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FAIL_MS 5000.0
#define MAX_LAT 200000

static int port;
static const char *from_addr;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A connection to 127.0.0.1:port from `from` (NULL: any); -1 on failure. */
static int dial(const char *from, double timeout_s)
{
	struct sockaddr_in a = {0}, src = {0};
	struct timeval tv;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	tv.tv_sec = (time_t)timeout_s;
	tv.tv_usec = (suseconds_t)((timeout_s - (double)tv.tv_sec) * 1e6);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (from) {
		src.sin_family = AF_INET;
		inet_pton(AF_INET, from, &src.sin_addr);
		if (bind(fd, (struct sockaddr *)&src, sizeof src)) {
			close(fd);
			return -1;
		}
	}
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One HTTP/1.1 exchange on a kept-alive connection. Returns the status (-1
 * when the connection failed); the Mcp-Session-Id header into sid when
 * sid is not NULL and the answer has one. */
static int exchange(int fd, const char *method, const char *path, const char *headers,
		    const char *body, char *sid, size_t sid_len)
{
	char req[4096], resp[65536], *p, *h;
	size_t got = 0, need;
	long cl = 0;
	int n, status;

	n = snprintf(req, sizeof req,
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Length: %zu\r\n\r\n",
		     method, path, port, headers, body ? strlen(body) : 0);
	if (n < 0 || (size_t)n >= sizeof req || send_all(fd, req, (size_t)n) ||
	    (body && send_all(fd, body, strlen(body))))
		return -1;
	for (;;) {
		ssize_t r = recv(fd, resp + got, sizeof resp - 1 - got, 0);

		if (r <= 0)
			return -1;
		got += (size_t)r;
		resp[got] = '\0';
		if ((p = strstr(resp, "\r\n\r\n")) != NULL)
			break;
		if (got >= sizeof resp - 1)
			return -1;
	}
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	for (h = strstr(resp, "\r\n"); h && h < p; h = strstr(h + 2, "\r\n")) {
		if (!strncasecmp(h + 2, "Content-Length:", 15))
			cl = strtol(h + 17, NULL, 10);
		if (sid && !strncasecmp(h + 2, "Mcp-Session-Id:", 15)) {
			const char *v = h + 17;
			size_t i = 0;

			while (*v == ' ')
				v++;
			while (i + 1 < sid_len && v[i] && v[i] != '\r')
				i++;
			memcpy(sid, v, i);
			sid[i] = '\0';
		}
	}
	need = (size_t)(p + 4 - resp) + (size_t)cl;
	if (need >= sizeof resp)
		return -1;
	while (got < need) {
		ssize_t r = recv(fd, resp + got, need - got, 0);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return status;
}

#define MCP_HEADERS                                                                                \
	"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
#define INIT_BODY                                                                                  \
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":" \
	"\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"attack\",\"version\":"      \
	"\"1\"}}}"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ---- probe ---------------------------------------------------------------- */

static int probe(const char *token, double seconds)
{
	static double lat[MAX_LAT];
	char hdr[1024], sid[160] = "", sh[sizeof hdr + sizeof sid + 32];
	double end = now_s() + seconds, t0;
	size_t n = 0;
	long fail = 0;
	int fd = -1, st, i = 0;

	snprintf(hdr, sizeof hdr, MCP_HEADERS "Authorization: Bearer %s\r\n", token);
	while (now_s() < end && n < MAX_LAT) {
		t0 = now_s();
		if (fd < 0)
			fd = dial(NULL, FAIL_MS / 1000);
		st = -1;
		if (fd >= 0 && !sid[0]) {
			st = exchange(fd, "POST", "/mcp/read", hdr, INIT_BODY, sid, sizeof sid);
			if (st == 200 && sid[0]) {
				snprintf(sh, sizeof sh, "%sMcp-Session-Id: %s\r\n", hdr, sid);
				st = exchange(fd, "POST", "/mcp/read", sh,
					      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
					      "initialized\"}",
					      NULL, 0);
				st = st == 202 ? 200 : -1;
			}
		} else if (fd >= 0 && i % 2 == 0) {
			st = exchange(
			    fd, "POST", "/mcp/read", sh,
			    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
			    "\"name\":\"book_stats\",\"arguments\":{}}}",
			    NULL, 0);
			if (st == 404)
				sid[0] = '\0'; /* the session is gone: counted, then a new one */
		} else if (fd >= 0) {
			st = exchange(fd, "GET", "/login", "", NULL, NULL, 0);
		}
		i++;
		if (st != 200) {
			fail++;
			lat[n++] = FAIL_MS;
			if (fd >= 0)
				close(fd);
			fd = -1;
			if (now_s() - t0 < 0.05)
				usleep(50000); /* refused at once: do not spin */
		} else
			lat[n++] = (now_s() - t0) * 1000;
		usleep(10000);
	}
	if (fd >= 0)
		close(fd);
	if (!n)
		n = 1, lat[0] = FAIL_MS;
	qsort(lat, n, sizeof lat[0], cmp_double);
	printf("n=%zu fail=%ld p50=%.1f p99=%.1f max=%.1f\n", n, fail, lat[n / 2],
	       lat[(size_t)((double)(n - 1) * 0.99)], lat[n - 1]);
	return 0;
}

/* ---- slow connections ----------------------------------------------------- */

static int slow(int nconn, double seconds)
{
	int *fds = calloc((size_t)nconn, sizeof *fds);
	long opened = 0, closed = 0, open_now = 0, peak = 0;
	double end = now_s() + seconds, next = 0;
	char buf[512], line[64];
	int i, k = 0;

	if (!fds)
		return 1;
	for (i = 0; i < nconn; i++)
		fds[i] = -1;
	while (now_s() < end) {
		/* (re)open what is missing, then one header line on each */
		for (i = 0; i < nconn && now_s() < end; i++) {
			if (fds[i] >= 0)
				continue;
			fds[i] = dial(from_addr, 0.2);
			if (fds[i] < 0)
				continue;
			opened++;
			open_now++;
			snprintf(buf, sizeof buf, "GET /login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n",
				 port);
			if (send_all(fds[i], buf, strlen(buf))) {
				close(fds[i]);
				fds[i] = -1;
				open_now--;
				closed++;
			}
		}
		if (open_now > peak)
			peak = open_now;
		if (now_s() < next) {
			usleep(100000);
		} else {
			next = now_s() + 2;
			snprintf(line, sizeof line, "X-Slow-%d: 1\r\n", k++);
			for (i = 0; i < nconn; i++) {
				struct pollfd pf = {fds[i], POLLIN, 0};

				if (fds[i] < 0)
					continue;
				/* anything to read (an answer, the end) means the server
				 * let go of this head */
				if (poll(&pf, 1, 0) > 0 || send(fds[i], line, strlen(line),
								MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
					close(fds[i]);
					fds[i] = -1;
					open_now--;
					closed++;
				}
			}
		}
	}
	for (i = 0; i < nconn; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	printf("opened=%ld closed_by_server=%ld peak_open=%ld\n", opened, closed, peak);
	return 0;
}

static int trickle(const char *what, int interval_ms, double max_s)
{
	char buf[512];
	double t0 = now_s();
	int fd = dial(from_addr, 1), body = !strcmp(what, "body");
	const char *rest = "X-Trickle: 0123456789\r\n";
	size_t i = 0;

	if (fd < 0) {
		printf("cannot connect\n");
		return 1;
	}
	if (body) {
		snprintf(buf, sizeof buf,
			 "POST /login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
			 "application/json\r\nContent-Length: 100000\r\n\r\n",
			 port);
		send_all(fd, buf, strlen(buf));
	} else {
		snprintf(buf, sizeof buf, "GET /login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", port);
		send_all(fd, buf, strlen(buf));
	}
	while (now_s() - t0 < max_s) {
		struct pollfd pf = {fd, POLLIN, 0};
		char c = body ? ' ' : rest[i++ % strlen(rest)];

		if (poll(&pf, 1, interval_ms) > 0 && recv(fd, buf, sizeof buf, 0) <= 0)
			break; /* closed */
		if (pf.revents & POLLIN)
			continue; /* an answer: read on until the close */
		if (send(fd, &c, 1, MSG_NOSIGNAL) < 0)
			break;
	}
	printf("%.1f\n", now_s() - t0 < max_s ? now_s() - t0 : max_s);
	close(fd);
	return 0;
}

/* ---- sign-in spraying ----------------------------------------------------- */

static double spray_end;
static long tries, s401, s429, s503, sother;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void *spray(void *arg)
{
	unsigned seed = (unsigned)(size_t)arg * 2654435761u ^ (unsigned)getpid();
	char body[256], from[64];
	int fd = -1, st;

	/* "127.0.1." : thread i comes from 127.0.1.(i+1), a client of its own */
	snprintf(from, sizeof from, "%s", from_addr);
	if (from[0] && from[strlen(from) - 1] == '.')
		snprintf(from, sizeof from, "%s%d", from_addr, (int)(size_t)arg + 1);
	while (now_s() < spray_end) {
		if (fd < 0)
			fd = dial(from, 10);
		snprintf(body, sizeof body,
			 "{\"name\":\"u%08x%08x\",\"password\":\"wrong-password\"}", rand_r(&seed),
			 rand_r(&seed));
		st = fd < 0 ? -1
			    : exchange(fd, "POST", "/login", "Content-Type: application/json\r\n",
				       body, NULL, 0);
		pthread_mutex_lock(&count_lock);
		tries++;
		if (st == 401)
			s401++;
		else if (st == 429)
			s429++;
		else if (st == 503)
			s503++;
		else
			sother++;
		pthread_mutex_unlock(&count_lock);
		if (st < 0) {
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
		/* at most 200 tries a second per client: a spray, not a CPU
		 * benchmark of the two machines sharing the cores */
		usleep(5000);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int signin(int clients, double seconds)
{
	pthread_t th[256];
	int i;

	if (clients > 256)
		clients = 256;
	spray_end = now_s() + seconds;
	for (i = 0; i < clients; i++)
		pthread_create(&th[i], NULL, spray, (void *)(size_t)i);
	for (i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	printf("tries=%ld s401=%ld s429=%ld s503=%ld other=%ld\n", tries, s401, s429, s503, sother);
	return 0;
}

/* ---- unauthenticated expensive-looking calls ------------------------------- */

static char *anon_body;
static long a_tries, a_401, a_other;

static void *anon(void *arg)
{
	char from[64];
	int fd = -1, st;

	snprintf(from, sizeof from, "%s", from_addr);
	if (from[0] && from[strlen(from) - 1] == '.')
		snprintf(from, sizeof from, "%s%d", from_addr, (int)(size_t)arg + 1);
	while (now_s() < spray_end) {
		if (fd < 0)
			fd = dial(from, 10);
		st = fd < 0 ? -1
			    : exchange(fd, "POST", "/mcp/read",
				       "Content-Type: application/json\r\n"
				       "Accept: application/json, text/event-stream\r\n",
				       anon_body, NULL, 0);
		pthread_mutex_lock(&count_lock);
		a_tries++;
		if (st == 401)
			a_401++;
		else
			a_other++;
		pthread_mutex_unlock(&count_lock);
		if (st < 0) {
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
		usleep(5000); /* as the sign-in spray: an attack, not a CPU benchmark */
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int anon_calls(int clients, double seconds)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
				   "\"params\":{\"name\":\"book_stats\",\"arguments\":{"
				   "\"text\":\"x\",\"ids\":[0";
	pthread_t th[256];
	size_t n = 0, i;
	int k;

	anon_body = malloc(sizeof head + 20000 * 2 + 8);
	if (!anon_body)
		return 1;
	memcpy(anon_body, head, sizeof head - 1);
	n = sizeof head - 1;
	for (i = 0; i < 20000; i++) {
		anon_body[n++] = ',';
		anon_body[n++] = '1';
	}
	memcpy(anon_body + n, "]}}}", 5);
	if (clients > 256)
		clients = 256;
	spray_end = now_s() + seconds;
	for (k = 0; k < clients; k++)
		pthread_create(&th[k], NULL, anon, (void *)(size_t)k);
	for (k = 0; k < clients; k++)
		pthread_join(th[k], NULL);
	printf("tries=%ld s401=%ld other=%ld\n", a_tries, a_401, a_other);
	free(anon_body);
	return 0;
}

/* ---- session flood -------------------------------------------------------- */

static const char *flood_token;
static long flood_left, f_ok, f_503, f_other;

static void *flood(void *arg)
{
	char hdr[1024];
	int fd = -1, st;

	(void)arg;
	snprintf(hdr, sizeof hdr, MCP_HEADERS "Authorization: Bearer %s\r\n", flood_token);
	for (;;) {
		pthread_mutex_lock(&count_lock);
		if (flood_left <= 0) {
			pthread_mutex_unlock(&count_lock);
			break;
		}
		flood_left--;
		pthread_mutex_unlock(&count_lock);
		if (fd < 0)
			fd = dial(from_addr, 10);
		st = fd < 0 ? -1 : exchange(fd, "POST", "/mcp/read", hdr, INIT_BODY, NULL, 0);
		pthread_mutex_lock(&count_lock);
		if (st == 200)
			f_ok++;
		else if (st == 503)
			f_503++;
		else
			f_other++;
		pthread_mutex_unlock(&count_lock);
		if (st < 0) {
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int sessions(const char *token, long n, int conc)
{
	pthread_t th[64];
	int i;

	if (conc > 64)
		conc = 64;
	flood_token = token;
	flood_left = n;
	for (i = 0; i < conc; i++)
		pthread_create(&th[i], NULL, flood, NULL);
	for (i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	printf("ok=%ld s503=%ld other=%ld\n", f_ok, f_503, f_other);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 5 && !strcmp(argv[1], "probe")) {
		port = (int)strtol(argv[2], NULL, 10);
		return probe(argv[3], strtod(argv[4], NULL));
	}
	if (argc >= 4) {
		port = (int)strtol(argv[2], NULL, 10);
		from_addr = argv[3];
	}
	if (argc == 6 && !strcmp(argv[1], "slow"))
		return slow((int)strtol(argv[4], NULL, 10), strtod(argv[5], NULL));
	if (argc == 7 && !strcmp(argv[1], "trickle"))
		return trickle(argv[4], (int)strtol(argv[5], NULL, 10), strtod(argv[6], NULL));
	if (argc == 6 && !strcmp(argv[1], "signin"))
		return signin((int)strtol(argv[4], NULL, 10), strtod(argv[5], NULL));
	if (argc == 6 && !strcmp(argv[1], "anon"))
		return anon_calls((int)strtol(argv[4], NULL, 10), strtod(argv[5], NULL));
	if (argc == 7 && !strcmp(argv[1], "sessions"))
		return sessions(argv[4], strtol(argv[5], NULL, 10), (int)strtol(argv[6], NULL, 10));
	fprintf(stderr, "usage: see the head of tests/attack.c\n");
	return 2;
}
