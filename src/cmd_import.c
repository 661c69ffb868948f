/* cmd_import.c — `airlock import KIND FILE.csv`: load a CSV file into the
 * book in one transaction, with a progress bar on a terminal. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_identity.h"
#include "import.h"

struct bar {
	const char *what; /* "accounts" */
	double start, last;
	int drawn;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Redraws at most ten times a second; the line is cleared when done. */
static void bar_draw(void *ctx, int64_t rows, uint64_t bytes, uint64_t total)
{
	struct bar *b = ctx;
	double t = now_seconds(), el = t - b->start;

	if (b->drawn && t - b->last < 0.1)
		return;
	b->last = t;
	b->drawn = 1;
	fprintf(stderr, "\rimporting %s: %lld rows, %.1f", b->what, (long long)rows,
		(double)bytes / 1e6);
	if (total)
		fprintf(stderr, " of %.1f MB (%d%%)", (double)total / 1e6,
			(int)(100.0 * (double)bytes / (double)total));
	else
		fputs(" MB", stderr);
	if (el > 0.05)
		fprintf(stderr, ", %.0f rows/s", (double)rows / el);
	fputs("\033[K", stderr);
	fflush(stderr);
}

static void bar_clear(struct bar *b)
{
	if (b->drawn)
		fputs("\r\033[K", stderr);
}

static void report_line(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

/* --refresh: what needs a person's eye, one line each. */
static void print_refresh(json_t *rf)
{
	json_t *c, *v;
	size_t i;
	const char *k;

	json_array_foreach(json_object_get(rf, "conflicts"), i, c)
	{
		printf("conflict: batch %lld item %lld: account %s changed in the CRM:",
		       (long long)json_integer_value(json_object_get(c, "batch")),
		       (long long)json_integer_value(json_object_get(c, "item")),
		       json_string_value(json_object_get(c, "record_id")));
		json_object_foreach(json_object_get(c, "crm"), k, v)
		{
			char *t = book_value_text(v);

			printf(" %s=%s", k, t ? t : "?");
			free(t);
		}
		putchar('\n');
	}
	json_array_foreach(json_object_get(rf, "overwritten"), i, c)
	{
		char *a = book_value_text(json_object_get(c, "airlock"));
		char *b = book_value_text(json_object_get(c, "crm"));

		printf("warning: account %s %s: '%s' applied in batch %lld is not exported yet; "
		       "the CRM's '%s' replaces it (airlock export changes first to keep it)\n",
		       json_string_value(json_object_get(c, "record_id")),
		       json_string_value(json_object_get(c, "field")), a ? a : "?",
		       (long long)json_integer_value(json_object_get(c, "batch")), b ? b : "?");
		free(a);
		free(b);
	}
	json_array_foreach(json_object_get(rf, "deleted"), i, v)
		printf("deleted in the CRM: account %s (kept here; merge or remove it by hand)\n",
		       json_string_value(v));
	printf("refresh: %zu conflict(s), %zu deleted in the CRM, %zu applied change(s) "
	       "overwritten\n",
	       json_array_size(json_object_get(rf, "conflicts")),
	       json_array_size(json_object_get(rf, "deleted")),
	       json_array_size(json_object_get(rf, "overwritten")));
}

static int print_summary(struct cli *cli, enum book_kind kind, const char *path,
			 const struct import_result *r, int dry_run)
{
	const char *name = book_kind_name(kind);
	char kinds[32];
	json_t *o;
	int rc;

	if (cli->json) {
		(void)snprintf(kinds, sizeof kinds, "%ss", name);
		o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "kind", kinds, "file",
			      path, "rows", (json_int_t)r->rows, "inserted",
			      (json_int_t)r->inserted, "updated", (json_int_t)r->updated,
			      "unchanged", (json_int_t)r->unchanged, "bytes", (json_int_t)r->bytes);
		if (!o)
			return cli_fail(cli, "out of memory");
		if (dry_run)
			json_object_set_new(o, "dry_run", json_true());
		if (dry_run)
			json_object_set_new(o, "errors", json_integer(r->errors));
		if (r->refresh)
			json_object_set(o, "refresh", r->refresh);
		rc = cli_print_json(cli, o);
		json_decref(o);
		return rc;
	}
	if (r->refresh)
		print_refresh(r->refresh);
	if (dry_run) {
		printf("dry run: %lld %s%s in %s: %lld new, %lld changed, %lld unchanged, %lld "
		       "error%s (the book is untouched)\n",
		       (long long)(r->rows + r->error_rows), name,
		       r->rows + r->error_rows == 1 ? "" : "s",
		       path, (long long)r->inserted, (long long)r->updated, (long long)r->unchanged,
		       (long long)r->errors, r->errors == 1 ? "" : "s");
		return r->errors ? CLI_FAIL : CLI_OK;
	}
	printf("%s %lld %s%s from %s (%lld new, %lld updated, %lld unchanged)\n",
	       r->refresh ? "refreshed" : "imported", (long long)r->rows, name,
	       r->rows == 1 ? "" : "s", path, (long long)r->inserted, (long long)r->updated,
	       (long long)r->unchanged);
	return CLI_OK;
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS,
					     {"map", required_argument, NULL, 'm'},
					     {"map-file", required_argument, NULL, 'M'},
					     {"dry-run", no_argument, NULL, 'n'},
					     {"refresh", no_argument, NULL, 'R'},
					     {"quiet", no_argument, NULL, 'q'},
					     {NULL, 0, NULL, 0}};
	struct import_progress progress = {0};
	struct import_options o = {0};
	struct import_result res;
	struct err err = {0};
	char what[32];
	struct bar bar = {0};
	enum book_kind kind;
	const char *map = NULL, *path;
	struct store *s;
	int c, h, quiet = 0, rc;

	while ((c = getopt_long(argc, argv, "hm:M:nRq", opts, NULL)) != -1) {
		h = cli_common_option(cli, c, optarg);
		if (h < 0)
			return CLI_OK;
		if (h > 0)
			continue;
		if (c == 'm')
			map = optarg;
		else if (c == 'M')
			o.map_file = optarg;
		else if (c == 'n')
			o.dry_run = 1;
		else if (c == 'R')
			o.refresh = 1;
		else if (c == 'q')
			quiet = 1;
		else
			return cli_usage(cli, "unknown option");
	}
	if (argc - optind < 2)
		return cli_usage(cli, "name the records and the file: accounts|contacts|signals "
				      "FILE.csv");
	if (argc - optind > 2)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + 2]);
	if (book_kind_parse(argv[optind], &kind, &err))
		return cli_usage(cli, "%s", err.msg);
	path = argv[optind + 1];
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	rc = cli_person(cli, CLI_NEED_ADMIN);
	if (rc)
		return rc;
	if (!quiet && cli_stderr_tty()) {
		(void)snprintf(what, sizeof what, "%ss", book_kind_name(kind));
		bar.what = what;
		bar.start = now_seconds();
		progress.fn = bar_draw;
		progress.ctx = &bar;
	}
	o.map = map;
	o.principal = cli_principal(cli);
	o.progress = &progress;
	o.report = report_line;
	rc = import_run(s, kind, path, &o, &res, &err);
	bar_clear(&bar);
	if (rc)
		return cli_fail_err(cli, &err);
	rc = print_summary(cli, kind, path, &res, o.dry_run);
	json_decref(res.refresh);
	return rc;
}
