/* cmd_export.c — `airlock export KIND [-o FILE]`: the book as RFC 4180 CSV
 * that `airlock import` reads back to the same records, byte for byte on
 * the next export.
 *
 * Columns: the kind's loadable built-in fields in catalogue order, then one
 * column per custom key that holds a value somewhere, sorted by key. A key
 * that would read back as a built-in field (any case) or starts with
 * "custom." is written as "custom.KEY". Records come ordered by id. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "book.h"
#include "changeset.h"
#include "cli.h"
#include "csv.h"

struct export {
	enum book_kind kind;
	const char **names; /* built-in columns */
	int nbuilt;
	json_t *keyset;     /* pass 1: custom keys seen with a value */
	const char **keys;  /* sorted custom keys */
	int nkeys;
	char **cells;       /* one row's text, owned */
	FILE *out;
	int64_t rows;
};

static int collect_keys(json_t *rec, void *ctx, struct err *err)
{
	struct export *x = ctx;
	const char *key;
	json_t *v;
	char *txt;
	int has;

	json_object_foreach(json_object_get(rec, "custom"), key, v)
	{
		if (json_object_get(x->keyset, key))
			continue;
		/* a key whose values are all empty would not come back on import */
		txt = book_value_text(v);
		if (!txt)
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		has = txt[0] != '\0';
		free(txt);
		if (has && json_object_set(x->keyset, key, json_true()))
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The column name for a custom key: its own, unless import would read that
 * as something else. */
static char *key_header(enum book_kind kind, const char *key)
{
	const struct book_field *f;
	size_t n;
	char *h;
	int i, nf, clash = strncasecmp(key, "custom.", 7) == 0 || !*key || !strcmp(key, "-");

	f = book_fields(kind, &nf);
	for (i = 0; i < nf && !clash; i++)
		clash = strcasecmp(f[i].name, key) == 0;
	if (!clash)
		return strdup(key);
	n = strlen(key) + 8;
	h = malloc(n);
	if (h)
		(void)snprintf(h, n, "custom.%s", key);
	return h;
}

static void free_cells(struct export *x)
{
	int i;

	for (i = 0; i < x->nbuilt + x->nkeys; i++) {
		free(x->cells[i]);
		x->cells[i] = NULL;
	}
}

static int write_header(struct export *x, struct err *err)
{
	int i, rc;

	for (i = 0; i < x->nbuilt; i++)
		x->cells[i] = strdup(x->names[i]);
	for (i = 0; i < x->nkeys; i++)
		x->cells[x->nbuilt + i] = key_header(x->kind, x->keys[i]);
	for (i = 0; i < x->nbuilt + x->nkeys; i++)
		if (!x->cells[i]) {
			free_cells(x);
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		}
	rc = csv_write_record(x->out, (const char *const *)x->cells, NULL, x->nbuilt + x->nkeys,
			      err);
	free_cells(x);
	return rc;
}

static int write_row(json_t *rec, void *ctx, struct err *err)
{
	struct export *x = ctx;
	json_t *custom = json_object_get(rec, "custom");
	int i, rc = 0;

	for (i = 0; i < x->nbuilt; i++)
		x->cells[i] = book_value_text(json_object_get(rec, x->names[i]));
	for (i = 0; i < x->nkeys; i++)
		x->cells[x->nbuilt + i] = book_value_text(json_object_get(custom, x->keys[i]));
	for (i = 0; i < x->nbuilt + x->nkeys && rc == 0; i++)
		if (!x->cells[i])
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = csv_write_record(x->out, (const char *const *)x->cells, NULL,
				      x->nbuilt + x->nkeys, err);
	free_cells(x);
	x->rows++;
	return rc;
}

/* Both passes run in one transaction, so the header's custom columns are
 * exactly those of the rows written. */
static int export_run(struct store *s, struct export *x, struct err *err)
{
	const struct book_field *f;
	const char *key;
	json_t *v;
	int i, n, rc;

	f = book_fields(x->kind, &n);
	x->names = calloc((size_t)n, sizeof *x->names);
	x->keyset = json_object();
	if (!x->names || !x->keyset)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	/* merged_into too: a merged account must not come back as a live one */
	for (i = 0; i < n; i++)
		if (!f[i].system || !strcmp(f[i].name, "merged_into"))
			x->names[x->nbuilt++] = f[i].name;
	rc = store_begin(s, err);
	if (rc)
		return rc;
	if (book_field_find(x->kind, "custom"))
		rc = book_foreach(s, x->kind, collect_keys, x, err);
	if (rc == 0) {
		x->keys = calloc(json_object_size(x->keyset) + 1, sizeof *x->keys);
		x->cells = calloc((size_t)x->nbuilt + json_object_size(x->keyset) + 1,
				  sizeof *x->cells);
		if (!x->keys || !x->cells)
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (rc == 0) {
		json_object_foreach(x->keyset, key, v)
		{
			x->keys[x->nkeys++] = key;
		}
		qsort(x->keys, (size_t)x->nkeys, sizeof *x->keys, cmp_str);
		rc = write_header(x, err);
	}
	if (rc == 0)
		rc = book_foreach(s, x->kind, write_row, x, err);
	store_rollback(s); /* read only: nothing to keep */
	if (rc == 0 && fflush(x->out) != 0)
		rc = err_set(err, AIRLOCK_EIO, "cannot write: %s", strerror(errno));
	return rc;
}

/* Writes straight to path when it is not a plain file (a device, a pipe, a
 * symbolic link), where replacing it would be wrong. */
static int export_in_place(struct store *s, struct export *x, const char *path,
			   struct err *err)
{
	int rc;

	x->out = fopen(path, "w");
	if (!x->out)
		return err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
	rc = export_run(s, x, err);
	if (fclose(x->out) != 0 && rc == 0)
		rc = err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
	x->out = NULL;
	return rc;
}

/* Writes a regular file through a temporary file beside it, renamed into
 * place, so a failed export never leaves a half-written file behind. */
static int export_to_file(struct store *s, struct export *x, const char *path, struct err *err)
{
	size_t n = strlen(path) + 16;
	struct stat st;
	char *tmp;
	mode_t mask;
	int fd, rc;

	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return export_in_place(s, x, path, err);
	tmp = malloc(n);
	if (!tmp)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	(void)snprintf(tmp, n, "%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = err_set(err, AIRLOCK_EIO, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	/* mkstemp makes the file 0600; give it the mode a plain create would */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0) {
		rc = err_set(err, AIRLOCK_EIO, "cannot set the mode of %s: %s", tmp,
			     strerror(errno));
		close(fd);
		goto out;
	}
	x->out = fdopen(fd, "w");
	if (!x->out) {
		close(fd);
		rc = err_set(err, AIRLOCK_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = export_run(s, x, err);
	if (rc == 0 && fsync(fileno(x->out)) != 0)
		rc = err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
	if (fclose(x->out) != 0 && rc == 0)
		rc = err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
	x->out = NULL;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = err_set(err, AIRLOCK_EIO, "cannot rename %s to %s: %s", tmp, path,
			     strerror(errno));
out:
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* `airlock export changes`: the change-set since a point (changeset.h). */
static int export_changes(struct cli *cli, const char *dir, const struct changeset_range *r,
			  const char *format)
{
	enum changeset_format fmt = CHANGESET_AUTO;
	struct changeset_result res;
	struct err err = {0};
	struct store *s;
	json_t *o;
	int rc, ways = (r->since != NULL) + (r->batch > 0) + (r->again > 0);

	if (!dir || !strcmp(dir, "-"))
		return cli_usage(cli, "export changes needs -o DIR (it writes accounts.csv and "
				      "merges.csv there)");
	if (ways > 1)
		return cli_usage(cli, "give one of --since, --batch, --changeset");
	if (format && changeset_format_parse(format, &fmt, &err))
		return cli_usage(cli, "%s", err.msg);
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	rc = changeset_export(s, r, fmt, dir, cli_principal(cli), &res, &err);
	if (rc)
		return cli_fail_err(cli, &err);
	if (cli->json) {
		o = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:s}", "changeset", (json_int_t)res.id,
			      "format", res.format, "dir", dir, "records", (json_int_t)res.records,
			      "merges", (json_int_t)res.merges, "unmerges",
			      (json_int_t)res.unmerges, "sha256", res.hash);
		rc = o ? cli_print_json(cli, o) : cli_fail(cli, "out of memory");
		json_decref(o);
		return rc;
	}
	printf("change-set %lld (%s): %lld record%s to %s/accounts.csv, %lld merge%s to "
	       "%s/merges.csv\nsha256 %s\n",
	       (long long)res.id, res.format, (long long)res.records, res.records == 1 ? "" : "s",
	       dir, (long long)res.merges, res.merges == 1 ? "" : "s", dir, res.hash);
	if (res.unmerges)
		printf("warning: %lld merge%s undone here after it may have reached the CRM: a "
		       "CRM cannot unmerge from a file; restore by hand the records listed in "
		       "%s/unmerges.csv\n",
		       (long long)res.unmerges, res.unmerges == 1 ? " was" : "s were", dir);
	return CLI_OK;
}

static int parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v <= 0)
		return -1;
	*out = v;
	return 0;
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS,
					     {"output", required_argument, NULL, 'o'},
					     {"since", required_argument, NULL, 'S'},
					     {"batch", required_argument, NULL, 'B'},
					     {"changeset", required_argument, NULL, 'C'},
					     {"format", required_argument, NULL, 'F'},
					     {NULL, 0, NULL, 0}};
	struct changeset_range range = {0};
	const char *format = NULL;
	int changes_only = 0;
	struct export x = {0};
	struct err err = {0};
	const char *path = NULL;
	struct store *s;
	char kinds[32];
	json_t *o;
	int c, h, rc;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		h = cli_common_option(cli, c, optarg);
		if (h < 0)
			return CLI_OK;
		if (h > 0)
			continue;
		if (c == 'o')
			path = optarg;
		else if (c == 'S')
			range.since = optarg, changes_only = 1;
		else if (c == 'B' && parse_id(optarg, &range.batch) == 0)
			changes_only = 1;
		else if (c == 'C' && parse_id(optarg, &range.again) == 0)
			changes_only = 1;
		else if (c == 'F')
			format = optarg, changes_only = 1;
		else if (c == 'B' || c == 'C')
			return cli_usage(cli, "--%s needs a positive number, not '%s'",
					 c == 'B' ? "batch" : "changeset", optarg);
		else
			return cli_usage(cli, "unknown option");
	}
	if (argc - optind == 1 && !strcmp(argv[optind], "changes"))
		return export_changes(cli, path, &range, format);
	if (changes_only)
		return cli_usage(cli, "--since, --batch, --changeset and --format are for "
				      "'export changes'");
	if (argc - optind < 1)
		return cli_usage(cli, "name the records: accounts, contacts or signals");
	if (argc - optind > 1)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
	if (book_kind_parse(argv[optind], &x.kind, &err))
		return cli_usage(cli, "%s", err.msg);
	if (cli->json && !path)
		return cli_usage(cli, "--json needs -o FILE (the CSV itself goes to standard "
				      "output)");
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if (path && strcmp(path, "-") != 0)
		rc = export_to_file(s, &x, path, &err);
	else {
		x.out = stdout;
		rc = export_run(s, &x, &err);
		path = NULL;
	}
	free(x.names);
	free(x.keys);
	free(x.cells);
	json_decref(x.keyset);
	if (rc)
		return cli_fail_err(cli, &err);
	if (!path)
		return CLI_OK;
	if (cli->json) {
		(void)snprintf(kinds, sizeof kinds, "%ss", book_kind_name(x.kind));
		o = json_pack("{s:s,s:s,s:I}", "kind", kinds, "file", path, "rows",
			      (json_int_t)x.rows);
		rc = o ? cli_print_json(cli, o) : cli_fail(cli, "out of memory");
		json_decref(o);
		return rc;
	}
	printf("exported %lld %s%s to %s\n", (long long)x.rows, book_kind_name(x.kind),
	       x.rows == 1 ? "" : "s", path);
	return CLI_OK;
}
