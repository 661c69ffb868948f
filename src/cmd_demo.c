/* cmd_demo.c — `airlock demo`: generate the deterministic demo book, show it. */
#include <string.h>
#include <time.h>

#include "book.h"
#include "bookgen.h"
#include "cli.h"
#include "cli_identity.h"

/* Progress on stderr only for books that take a moment: below this the
 * line would flash and be gone. */
#define DEMO_PROGRESS_MIN 20000

struct progress {
	int last_pct;
};

/* "1234567" → "1,234,567". */
static const char *fmt_count(int64_t v, char *buf, size_t len)
{
	char digits[32];
	size_t n, i, o = 0;

	(void)snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
	n = strlen(digits);
	if (v < 0 && o + 1 < len)
		buf[o++] = '-';
	for (i = 0; i < n && o + 1 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static void show_progress(void *ctx, int64_t done, int64_t total)
{
	struct progress *p = ctx;
	int pct = (int)(done * 100 / total);
	char a[32], b[32];

	if (pct == p->last_pct && done != total)
		return;
	p->last_pct = pct;
	fprintf(stderr, "\rgenerating the demo book: %s of %s accounts (%d%%)",
		fmt_count(done, a, sizeof a), fmt_count(total, b, sizeof b), pct);
	if (done == total)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

/* One block of the summary: a title and rows of label, count, share. */
struct block {
	const char *title;
	int nrows;
	char rows[12][48];
};

static void block_add(struct block *b, const char *label, int64_t n, int64_t of)
{
	char num[32];

	if (b->nrows >= (int)(sizeof b->rows / sizeof b->rows[0]))
		return;
	(void)snprintf(b->rows[b->nrows++], sizeof b->rows[0], "  %-16.16s %9s %5.1f%%", label,
		       fmt_count(n, num, sizeof num),
		       of > 0 ? 100.0 * (double)n / (double)of : 0.0);
}

/* The keys of a group, largest count first (ties by name): for groups
 * with no natural order, such as signal kinds. NULL-terminated into keys. */
static void by_count(json_t *group, const char **keys, int max)
{
	const char *key, *t;
	json_t *v;
	int n = 0, i, j;

	json_object_foreach(group, key, v)
	{
		if (n < max - 1)
			keys[n++] = key;
	}
	keys[n] = NULL;
	for (i = 1; i < n; i++) {
		for (j = i; j > 0; j--) {
			json_int_t a = json_integer_value(json_object_get(group, keys[j - 1]));
			json_int_t b = json_integer_value(json_object_get(group, keys[j]));

			if (a > b || (a == b && strcmp(keys[j - 1], keys[j]) < 0))
				break;
			t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	}
}

/* Rows of one group of book_stats: the known values in their natural order
 * first (smb before enterprise, not alphabetical), then anything else. */
static void block_fill(struct block *b, json_t *group, const char *const *order, const char *prefix,
		       int64_t of)
{
	const char *key;
	json_t *v;
	int i, known;

	char label[32];

	for (i = 0; order && order[i]; i++) {
		if (!json_object_get(group, order[i]))
			continue;
		(void)snprintf(label, sizeof label, "%s%s", prefix, order[i]);
		block_add(b, label, json_integer_value(json_object_get(group, order[i])), of);
	}
	json_object_foreach(group, key, v)
	{
		for (known = 0, i = 0; order && order[i]; i++)
			known |= !strcmp(order[i], key);
		if (!known) {
			(void)snprintf(label, sizeof label, "%s%s", prefix, key);
			block_add(b, label, json_integer_value(v), of);
		}
	}
}

static void print_pair(const struct block *l, const struct block *r)
{
	int i, n = l->nrows > r->nrows ? l->nrows : r->nrows;

	printf("\n%-40s%s\n", l->title, r->title);
	for (i = 0; i < n; i++) {
		if (i < r->nrows)
			printf("%-40s%s\n", i < l->nrows ? l->rows[i] : "", r->rows[i]);
		else
			printf("%s\n", l->rows[i]);
	}
}

/* The path as a shell word, for the commands we suggest. */
static const char *shell_word(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=:,") ==
	    strlen(s))
		return s;
	buf[o++] = '\'';
	for (; *s && o + 6 < len; s++) {
		if (*s == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else
			buf[o++] = *s;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

static void print_summary(json_t *st, const char *db, uint64_t seed, double secs,
			  const char *argv0)
{
	static const char *const seg_order[] = {"smb", "mid-market", "enterprise", NULL};
	static const char *const reg_order[] = {"NA", "EMEA", "APAC", "LATAM", NULL};
	static const char *const tier_order[] = {"1", "2", "3", "4", NULL};
	static const char *const lc_order[] = {"prospect",   "customer", "former_customer",
					       "competitor", "partner",	 NULL};
	struct block seg = {"accounts by segment", 0, {{0}}}, reg = {"by region", 0, {{0}}},
		     tier = {"by tier (1 = top priority)", 0, {{0}}},
		     lc = {"by lifecycle", 0, {{0}}}, kinds = {"signals by kind", 0, {{0}}},
		     dnc = {"not to be contacted", 0, {{0}}};
	int64_t na = json_integer_value(json_object_get(st, "accounts")),
		nc = json_integer_value(json_object_get(st, "contacts")),
		ns = json_integer_value(json_object_get(st, "signals"));
	const char *kind_order[16];
	char a[32], c[32], s[32], q[1100], pq[1100];
	const char *path = shell_word(db, q, sizeof q), *prog;

	printf("demo book: %s accounts, %s contacts, %s signals (seed %llu, %.2f s)\n",
	       fmt_count(na, a, sizeof a), fmt_count(nc, c, sizeof c), fmt_count(ns, s, sizeof s),
	       (unsigned long long)seed, secs);
	printf("database:  %s\n", db);
	block_fill(&seg, json_object_get(st, "by_segment"), seg_order, "", na);
	block_fill(&reg, json_object_get(st, "by_region"), reg_order, "", na);
	block_fill(&tier, json_object_get(st, "by_tier"), tier_order, "tier ", na);
	block_fill(&lc, json_object_get(st, "by_lifecycle"), lc_order, "", na);
	by_count(json_object_get(st, "signals_by_kind"), kind_order, 16);
	block_fill(&kinds, json_object_get(st, "signals_by_kind"), kind_order, "", ns);
	block_add(&dnc, "accounts",
		  json_integer_value(json_object_get(st, "accounts_do_not_contact")), na);
	block_add(&dnc, "contacts",
		  json_integer_value(json_object_get(st, "contacts_not_reachable")), nc);
	print_pair(&seg, &reg);
	print_pair(&tier, &lc);
	print_pair(&kinds, &dnc);
	/* hints run as written: the binary as it was run ("./airlock"), and
	 * every option a verb requires */
	prog = argv0 && strchr(argv0, '/') ? shell_word(argv0, pq, sizeof pq) : "airlock";
	printf("\ntry next:\n");
	if (cli_find("export"))
		printf("  %s export accounts --db %s | head\n", prog, path);
	if (cli_find("mcp"))
		printf("  %s mcp --connector read --agent researcher --db %s"
		       "   # an agent's connector (stdio)\n",
		       prog, path);
	if (cli_find("serve"))
		printf("  %s serve --db %s   # the review console\n", prog, path);
	/* airlock sql, not the sqlite3 tool: the hint holds for a PostgreSQL
	 * URL too, and needs nothing installed */
	if (cli_find("sql"))
		printf("  %s sql --db %s \"SELECT name, segment, tier, lifecycle FROM account"
		       " LIMIT 5\"\n",
		       prog, path);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int cmd_demo(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS,
					     {"accounts", required_argument, NULL, 'n'},
					     {"seed", required_argument, NULL, 's'},
					     {NULL, 0, NULL, 0}};
	struct bookgen_opts go;
	struct bookgen_summary sum;
	struct progress prog = {-1};
	struct err err = {0};
	struct timespec t0;
	struct store *s;
	json_t *st = NULL, *o;
	long v;
	int c, h, rc;
	double secs;

	bookgen_opts_init(&go);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'n') {
			if (cli_parse_long(cli, "--accounts", optarg, 1, BOOKGEN_MAX_ACCOUNTS, &v))
				return CLI_USAGE;
			go.accounts = v;
			continue;
		}
		if (c == 's') {
			if (cli_parse_long(cli, "--seed", optarg, 0, 2147483647L, &v))
				return CLI_USAGE;
			go.seed = (uint64_t)v;
			continue;
		}
		h = cli_common_option(cli, c, optarg);
		if (h < 0)
			return CLI_OK;
		if (h == 0)
			return cli_usage(cli, "unknown option");
	}
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	cli->create_db = 1; /* demo fills a new database (README: "pass --db with a new file") */
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if ((c = cli_operator_setup(cli)) != CLI_OK)
		return c;
	if (go.accounts >= DEMO_PROGRESS_MIN && cli_stderr_tty()) {
		go.progress = show_progress;
		go.progress_ctx = &prog;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = bookgen_generate(s, &go, &sum, &err);
	secs = seconds_since(&t0);
	if (rc == AIRLOCK_EEXIST)
		return cli_fail(cli, "%s (pass --db with a new file)", err.msg);
	if (rc)
		return cli_fail_err(cli, &err);
	if (book_stats(s, &st, &err))
		return cli_fail_err(cli, &err);
	if (cli->json) {
		o = json_pack("{s:s,s:I,s:f}", "db", store_path(s), "seed", (json_int_t)go.seed,
			      "seconds", secs);
		if (!o || json_object_update(o, st)) {
			json_decref(o);
			json_decref(st);
			return cli_fail(cli, "out of memory");
		}
		rc = cli_print_json(cli, o);
		json_decref(o);
	} else {
		print_summary(st, store_path(s), go.seed, secs, cli->argv0);
		rc = CLI_OK;
	}
	json_decref(st);
	return rc;
}
