/* bench_ceiling.c — the read path's ceiling on this machine: a tiny
 * libmicrohttpd server that answers every POST with a page given once (the
 * very bytes airlock answers a search_accounts call with), after appending
 * one small row per request to a SQLite table in WAL mode, committed in
 * groups by one writer thread (synchronous=NORMAL, as airlock's writer of
 * read entries: a WAL commit without fsync). The
 * answer leaves once its row is committed, as airlock's does. bench/readpath.sh
 * drives it and airlock serve with the same load and compares the CPU each
 * server spends per request.
 *
 * usage: bench_ceiling DB PAGE_FILE
 *        bench_ceiling DB PAGES_FILE --keyed [--book BOOK]
 * With --keyed, PAGES_FILE holds many answers, each after the arguments it
 * answers ("ARGS_LEN PAGE_LEN\n" ARGS PAGE, repeated): a request gets the
 * page of the arguments it carries (the text after "arguments": up to the
 * body's closing "}}", as bench_mcp_load sends them; one binary search
 * over the sorted arguments), and its log row holds those arguments. Any
 * other request (initialize) gets the first page.
 * With --book BOOK too (keyed only), BOOK is a copy of airlock's book, and
 * the request's page is also read from it on the I/O thread before its row
 * is queued: airlock's own book_search_json (the query, 21 rows, the
 * page's JSON) in a read transaction of airlock's store, the page after
 * the one the walk found before it (the answers are in walk order in the
 * file, each cursor leading to the next). The answer is still the stored
 * bytes: what is measured is the ceiling plus reading the page from the
 * book, the floor of any server that reads the book per call. Its rows
 * still go to DB, so no commit drops the book's page cache (airlock's log
 * shares the book's file, which a write's atomicity with its entry
 * needs, so its reader's cache is dropped after every log commit).
 * Prints "listening on http://127.0.0.1:PORT" on stderr; SIGTERM/SIGINT
 * stops it. An initialize (or any request) gets an Mcp-Session-Id header,
 * so bench_mcp_load can drive it like airlock. */
#include <arpa/inet.h>
#include <stddef.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book.h"
#include "err.h"
#include "store.h"

struct page {
	char *args, *text;
	size_t args_len, text_len;
	char *after; /* --book: the id the page starts after, or NULL */
};

struct req {
	struct MHD_Connection *c;
	size_t body_seen;
	int queued, done;
	const struct page *answer;
	struct req *next;
	char body[4096]; /* last: not zeroed */
};

static struct page *pages;
static size_t npages;
static sqlite3 *db;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static struct req *pending;
static int stopping;
static long long seq;
static struct store *book; /* --book: the I/O thread's connection */

static void die(const char *what)
{
	fprintf(stderr, "bench_ceiling: %s\n", what);
	exit(1);
}

/* The writer: every request queued while it committed the group before is
 * one row of the next group; then their connections are resumed. */
static void *writer(void *arg)
{
	sqlite3_stmt *ins;
	struct req *group, *r;
	char at[32];
	struct timespec ts;

	(void)arg;
	if (sqlite3_prepare_v2(
		db, "INSERT INTO ceiling_log(seq, at, tool, body) VALUES (?1, ?2, ?3, ?4)", -1,
		&ins, NULL))
		die(sqlite3_errmsg(db));
	for (;;) {
		pthread_mutex_lock(&lock);
		while (!pending && !stopping)
			pthread_cond_wait(&work, &lock);
		group = pending;
		pending = NULL;
		pthread_mutex_unlock(&lock);
		if (!group)
			break;
		sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		for (r = group; r; r = r->next) {
			clock_gettime(CLOCK_REALTIME, &ts);
			snprintf(at, sizeof at, "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
			sqlite3_bind_int64(ins, 1, ++seq);
			sqlite3_bind_text(ins, 2, at, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(ins, 3, "search_accounts", -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 4, r->answer->args, (int)r->answer->args_len,
					  SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE)
				die(sqlite3_errmsg(db));
			sqlite3_reset(ins);
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL))
			die(sqlite3_errmsg(db));
		for (r = group; r;) {
			struct req *next = r->next;

			r->done = 1;
			MHD_resume_connection(r->c);
			r = next;
		}
	}
	sqlite3_finalize(ins);
	return NULL;
}

static int page_cmp(const void *a, const void *b)
{
	const struct page *x = a, *y = b;
	size_t n = x->args_len < y->args_len ? x->args_len : y->args_len;
	int c = memcmp(x->args, y->args, n);

	return c ? c : (x->args_len > y->args_len) - (x->args_len < y->args_len);
}

/* The page for the arguments in body (see the top), else the first. */
static const struct page *page_for(const char *body, size_t len)
{
	static const char key[] = "\"arguments\":";
	const char *a;
	struct page k, *hit;

	if (npages < 2 || len < 2 || !(a = memmem(body, len, key, sizeof key - 1)))
		return &pages[0];
	k.args = (char *)a + sizeof key - 1;
	if ((size_t)(k.args - body) > len - 2)
		return &pages[0];
	k.args_len = len - 2 - (size_t)(k.args - body);
	hit = bsearch(&k, pages, npages, sizeof *pages, page_cmp);
	return hit ? hit : &pages[0];
}

/* --book: reads p's page from the book as airlock does (see the top). */
static void read_page(const struct page *p)
{
	struct book_query q = {0};
	struct book_page pg;
	struct err err = {0};

	q.after = p->after;
	q.limit = 20;
	if (store_read_begin(book, &err) || book_search_json(book, &q, &pg, &err))
		die(err.msg);
	store_read_end(book);
	if (!pg.count)
		die("--book: a page read no accounts");
	free(pg.json);
}

/* --book: the id of the last account in a keyed answer (an MCP reply), or
 * NULL when it has none. */
static char *last_id(const char *text, size_t len)
{
	json_t *r = json_loadb(text, len, 0, NULL);
	json_t *acc = json_object_get(
	    json_object_get(json_object_get(r, "result"), "structuredContent"), "accounts");
	const char *id = json_string_value(
	    json_object_get(json_array_get(acc, json_array_size(acc) - 1), "id"));
	char *out = id ? strdup(id) : NULL;

	json_decref(r);
	return out;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	struct req *r = *con_cls;
	struct MHD_Response *res;
	enum MHD_Result ret;

	(void)cls, (void)url, (void)method, (void)version;
	if (!r) {
		/* the body's room is not zeroed: a calloc of it would be
		 * work the ceiling does and airlock does not */
		r = malloc(sizeof *r);
		if (!r)
			return MHD_NO;
		memset(r, 0, offsetof(struct req, body));
		r->c = c;
		*con_cls = r;
		return MHD_YES;
	}
	if (*size) {
		if (r->body_seen + *size <= sizeof r->body)
			memcpy(r->body + r->body_seen, data, *size);
		r->body_seen += *size;
		*size = 0;
		return MHD_YES;
	}
	if (!r->queued) {
		r->queued = 1;
		r->answer = r->body_seen <= sizeof r->body ? page_for(r->body, r->body_seen)
							   : &pages[0];
		if (book)
			read_page(r->answer);
		MHD_suspend_connection(c);
		pthread_mutex_lock(&lock);
		r->next = pending;
		pending = r;
		pthread_cond_signal(&work);
		pthread_mutex_unlock(&lock);
		return MHD_YES;
	}
	res = MHD_create_response_from_buffer(r->answer->text_len, r->answer->text,
					      MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(res, "Content-Type", "application/json");
	MHD_add_response_header(res, "Mcp-Session-Id", "0123456789abcdef0123456789abcdef");
	ret = MHD_queue_response(c, 200, res);
	MHD_destroy_response(res);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

/* Reads the answers (see the top): one whole file as one page, or with
 * keyed set, "ARGS_LEN PAGE_LEN\n" ARGS PAGE records, sorted by ARGS
 * (with_after: each first given the id its page starts after). */
static void pages_load(const char *path, int keyed, int with_after)
{
	char *all;
	size_t off = 0, cap = 0, al, pl;
	long n;
	int used;
	FILE *f = fopen(path, "rb");

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		die("cannot read the page");
	all = malloc((size_t)n + 1);
	if (!all || fread(all, 1, (size_t)n, f) != (size_t)n)
		die("cannot read the page");
	all[n] = '\0';
	fclose(f);
	if (!keyed) {
		pages = calloc(1, sizeof *pages);
		if (!pages)
			die("out of memory");
		pages[0] = (struct page){"{\"limit\":20}", all, 12, (size_t)n, NULL};
		npages = 1;
		return;
	}
	while (off < (size_t)n) {
		if (sscanf(all + off, "%zu %zu\n%n", &al, &pl, &used) != 2 ||
		    al + pl > (size_t)n - off - (size_t)used)
			die("a keyed page file's record is cut");
		off += (size_t)used;
		if (npages == cap) {
			cap = cap ? cap * 2 : 256;
			pages = realloc(pages, cap * sizeof *pages);
			if (!pages)
				die("out of memory");
		}
		pages[npages++] = (struct page){all + off, all + off + al, al, pl, NULL};
		off += al + pl;
	}
	if (!npages)
		die("no pages");
	if (with_after) {
		/* in walk order: each page starts after the last of the one before */
		size_t i;

		for (i = 1; i < npages; i++)
			if (!(pages[i].after = last_id(pages[i - 1].text, pages[i - 1].text_len)))
				die("--book: a page without accounts before the last");
	}
	qsort(pages, npages, sizeof *pages, page_cmp);
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	struct sockaddr_in a4 = {0};
	const union MHD_DaemonInfo *info;
	pthread_t w;
	sigset_t set;
	int sig;

	struct err err = {0};
	int keyed = argc >= 4 && !strcmp(argv[3], "--keyed");
	int with_book = keyed && argc == 6 && !strcmp(argv[4], "--book");

	if (argc != 3 && !(argc == 4 && keyed) && !with_book) {
		fprintf(stderr, "usage: bench_ceiling DB PAGE_FILE [--keyed [--book BOOK]]\n");
		return 2;
	}
	pages_load(argv[2], keyed, with_book);
	if (with_book && store_open(&book, argv[5], &err))
		die(err.msg);
	if (sqlite3_open(argv[1], &db) ||
	    sqlite3_exec(db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "CREATE TABLE IF NOT EXISTS ceiling_log(seq INTEGER PRIMARY KEY, at TEXT "
			 "NOT NULL, tool TEXT NOT NULL, body TEXT NOT NULL);",
			 NULL, NULL, NULL))
		die(sqlite3_errmsg(db));
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&w, NULL, writer, NULL))
		die("cannot start the writer");
	a4.sin_family = AF_INET;
	a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
				 MHD_ALLOW_SUSPEND_RESUME,
			     0, NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED,
			     on_completed, NULL, MHD_OPTION_CONNECTION_LIMIT, 2048u,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a4, MHD_OPTION_END);
	if (!d)
		die("cannot listen");
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr, "listening on http://127.0.0.1:%u\n", info ? info->port : 0);
	sigwait(&set, &sig);
	/* MHD must not stop with a connection suspended: let the writer
	 * answer what is queued, then stop taking requests */
	MHD_quiesce_daemon(d);
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&lock);
	pthread_join(w, NULL);
	MHD_stop_daemon(d);
	sqlite3_close(db);
	if (book)
		store_close(book);
	return 0;
}
