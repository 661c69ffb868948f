/* import.c — CSV files into the book, all or nothing (see import.h). */
#include "import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "audit.h"
#include "csv.h"

#define IMPORT_PROGRESS_EVERY 4096

/* A preset maps a field from the first of its column names the header has
 * (any case). Values are not translated: a column whose values would not
 * fit a field (Salesforce "Type", HubSpot "Lifecycle Stage") stays a
 * custom field rather than failing the import. */
struct preset_field {
	const char *field;
	const char *columns[5];
};

struct preset {
	const char *name;
	enum book_kind kind;
	const struct preset_field *fields;
};

static const struct preset_field sf_accounts[] = {
	{"id", {"Account ID", "Id"}},
	{"name", {"Account Name", "Name"}},
	{"domain", {"Website"}},
	{"industry", {"Industry"}},
	{"region", {"Billing Country/Region", "Billing Country", "BillingCountry"}},
	{"owner", {"Account Owner", "Owner Name"}},
	{"arr", {"Annual Revenue", "AnnualRevenue"}},
	{"employees", {"Number of Employees", "Employees", "NumberOfEmployees"}},
	{NULL, {NULL}},
};

static const struct preset_field sf_contacts[] = {
	{"id", {"Contact ID", "Id"}},
	{"account_id", {"Account ID", "AccountId"}},
	{"name", {"Full Name", "Name"}},
	{"email", {"Email"}},
	{"title", {"Title"}},
	{"unsubscribed", {"Email Opt Out", "HasOptedOutOfEmail"}},
	{NULL, {NULL}},
};

static const struct preset_field hs_accounts[] = {
	{"id", {"Record ID", "Company ID"}},
	{"name", {"Company name", "Name"}},
	{"domain", {"Company Domain Name", "Website URL"}},
	{"industry", {"Industry"}},
	{"region", {"Country/Region", "Country"}},
	{"owner", {"Company owner"}},
	{"arr", {"Annual Revenue"}},
	{"employees", {"Number of Employees"}},
	{NULL, {NULL}},
};

static const struct preset_field hs_contacts[] = {
	{"id", {"Record ID", "Contact ID"}},
	{"account_id", {"Associated Company ID", "Associated Company IDs (Primary)"}},
	{"email", {"Email"}},
	{"title", {"Job Title"}},
	{"unsubscribed", {"Unsubscribed from all email"}},
	{NULL, {NULL}},
};

static const struct preset presets[] = {
	{"salesforce", BOOK_ACCOUNT, sf_accounts},
	{"salesforce", BOOK_CONTACT, sf_contacts},
	{"hubspot", BOOK_ACCOUNT, hs_accounts},
	{"hubspot", BOOK_CONTACT, hs_contacts},
};

struct map_pair {
	char *from, *to;
};

struct map {
	const struct preset *preset;
	struct map_pair *pairs;
	int n;
};

static void map_free(struct map *m)
{
	int i;

	for (i = 0; i < m->n; i++) {
		free(m->pairs[i].from);
		free(m->pairs[i].to);
	}
	free(m->pairs);
	memset(m, 0, sizeof *m);
}

/* "id, name, domain, …" — the fields a column may load, for messages. */
static void field_list(enum book_kind kind, char *buf, size_t len)
{
	const struct book_field *f;
	size_t used = 0;
	int i, n;

	buf[0] = '\0';
	f = book_fields(kind, &n);
	for (i = 0; i < n && used < len; i++)
		if (!f[i].system)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
						 f[i].name);
	if (used < len && kind != BOOK_SIGNAL)
		snprintf(buf + used, len - used, ", custom.NAME");
}

/* The built-in, loadable field called name (any case), or NULL. */
static const struct book_field *field_named(enum book_kind kind, const char *name)
{
	const struct book_field *f;
	int i, n;

	f = book_fields(kind, &n);
	for (i = 0; i < n; i++)
		if (strcasecmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}

/* Checks a --map target and returns its canonical spelling in *out. */
static int map_target(enum book_kind kind, const char *to, char **out, struct err *err)
{
	const struct book_field *f;
	char list[512];

	*out = NULL;
	if (!strcmp(to, "-") || (!strncmp(to, "custom.", 7) && to[7] && kind != BOOK_SIGNAL)) {
		*out = strdup(to);
	} else {
		f = field_named(kind, to);
		if (!f || f->system) {
			field_list(kind, list, sizeof list);
			return err_set(err, AIRLOCK_EINVAL,
				       "--map: '%s' is not a field you can load into %ss (%s, or - to "
				       "skip a column)",
				       to, book_kind_name(kind), list);
		}
		*out = strdup(f->name);
	}
	return *out ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
}

/* Trims spaces and ends the token being built. */
static char *token_take(char *buf, size_t len)
{
	size_t a = 0;

	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	while (a < len && (buf[a] == ' ' || buf[a] == '\t'))
		a++;
	buf[len] = '\0';
	return strdup(buf + a);
}

static int map_add(struct map *m, enum book_kind kind, char *from, char *to, int first,
		   struct err *err)
{
	struct map_pair *np;
	int i, rc;

	if (!to) {
		/* a bare word is a preset, and only as the first entry */
		for (i = 0; first && i < (int)(sizeof presets / sizeof presets[0]); i++)
			if (!strcasecmp(presets[i].name, from) && presets[i].kind == kind)
				m->preset = &presets[i];
		if (!m->preset) {
			int known = !strcasecmp(from, "salesforce") || !strcasecmp(from, "hubspot");

			rc = known && first
				     ? err_set(err, AIRLOCK_EINVAL, "--map: no %s preset for %ss",
					       from, book_kind_name(kind))
				     : err_set(err, AIRLOCK_EINVAL,
					       "--map: '%s' is neither 'Column=field' nor a preset "
					       "(salesforce, hubspot) at the start",
					       from);
			free(from);
			return rc;
		}
		free(from);
		return 0;
	}
	if (!*from) {
		free(from);
		free(to);
		return err_set(err, AIRLOCK_EINVAL, "--map: a pair has no column name before '='");
	}
	for (i = 0; i < m->n; i++) {
		if (!strcmp(m->pairs[i].from, from)) {
			rc = err_set(err, AIRLOCK_EINVAL, "--map: column '%s' is mapped twice",
				     from);
			free(from);
			free(to);
			return rc;
		}
	}
	np = realloc(m->pairs, (size_t)(m->n + 1) * sizeof *np);
	if (!np) {
		free(from);
		free(to);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	m->pairs = np;
	m->pairs[m->n].from = from;
	rc = map_target(kind, to, &m->pairs[m->n].to, err);
	free(to);
	if (rc) {
		free(from);
		return rc;
	}
	m->n++;
	return 0;
}

/* Parses --map; see import.h for the syntax. */
static int map_parse(enum book_kind kind, const char *spec, struct map *m, struct err *err)
{
	size_t len = strlen(spec), o = 0, i;
	char *buf = malloc(len + 1), *from = NULL;
	int rc = 0, first = 1;

	memset(m, 0, sizeof *m);
	if (!buf)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; i <= len && rc == 0; i++) {
		char c = spec[i];

		if (c == '\\' && i + 1 < len) {
			buf[o++] = spec[++i];
		} else if (c == '=' && !from) {
			from = token_take(buf, o);
			o = 0;
			if (!from)
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		} else if (c == ',' || c == '\0') {
			char *tok = token_take(buf, o);

			o = 0;
			if (!tok) {
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			} else if (!from && !*tok) {
				free(tok); /* empty entry: "a=b,,c=d" or a trailing comma */
			} else if (from) {
				rc = map_add(m, kind, from, tok, first, err);
				from = NULL;
			} else
				rc = map_add(m, kind, tok, NULL, first, err);
			first = 0;
		} else if (c == '=') {
			rc = err_set(err, AIRLOCK_EINVAL,
				     "--map: two '=' in one pair (write \\= for an '=' in a name)");
		} else
			buf[o++] = c;
	}
	free(from);
	free(buf);
	if (rc)
		map_free(m);
	return rc;
}

void import_targets_free(char **targets, int n)
{
	int i;

	if (!targets)
		return;
	for (i = 0; i < n; i++)
		free(targets[i]);
	free(targets);
}

/* The field a column loads when nothing maps it: its own name. */
static int default_target(enum book_kind kind, const char *name, int col, char **out,
			  struct err *err)
{
	const struct book_field *f = field_named(kind, name);
	char list[512];
	size_t n;

	*out = NULL;
	if (!*name)
		return err_set(err, AIRLOCK_EINVAL,
			       "column %d has no name (name it in the header row)", col + 1);
	if (f && f->system)
		return err_set(err, AIRLOCK_EINVAL,
			       "column '%s' is kept by airlock and cannot be imported (skip it "
			       "with --map '%s=-')",
			       name, name);
	if (f) {
		*out = strdup(f->name);
	} else if (kind == BOOK_SIGNAL) {
		field_list(kind, list, sizeof list);
		return err_set(err, AIRLOCK_EINVAL,
			       "column '%s' is not a signal field (signals have %s; map it with "
			       "--map or skip it with --map '%s=-')",
			       name, list, name);
	} else if (!strncmp(name, "custom.", 7) && name[7]) {
		*out = strdup(name);
	} else {
		n = strlen(name) + 8;
		*out = malloc(n);
		if (*out)
			snprintf(*out, n, "custom.%s", name);
	}
	return *out ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
}

/* Assigns the preset's fields to the first matching columns not already
 * mapped by hand. */
static int apply_preset(const struct preset *p, const char *const *header, int n,
			char **targets, const int *user, struct err *err)
{
	const struct preset_field *pf;
	int a, i, done;

	for (pf = p->fields; pf->field; pf++) {
		done = 0;
		for (a = 0; a < 5 && pf->columns[a] && !done; a++) {
			for (i = 0; i < n && !done; i++) {
				if (user[i] || targets[i] || strcasecmp(header[i], pf->columns[a]))
					continue;
				targets[i] = strdup(pf->field);
				if (!targets[i])
					return err_set(err, AIRLOCK_ENOMEM, "out of memory");
				done = 1;
			}
		}
	}
	return 0;
}

/* Every field comes from at most one column, and there is an id. */
static int check_targets(enum book_kind kind, const char *const *header, char **targets,
			 int n, struct err *err)
{
	int i, j, has_id = 0;

	for (i = 0; i < n; i++) {
		if (!targets[i])
			continue;
		if (!strcmp(targets[i], "id"))
			has_id = 1;
		for (j = 0; j < i; j++)
			if (targets[j] && !strcmp(targets[i], targets[j]))
				return err_set(err, AIRLOCK_EINVAL,
					       "columns '%s' (%d) and '%s' (%d) both give %s; skip "
					       "one with --map '%s=-'",
					       header[j], j + 1, header[i], i + 1, targets[i],
					       header[i]);
	}
	if (!has_id)
		return err_set(err, AIRLOCK_EINVAL,
			       "no id column: the header needs one naming each %s (or map one, "
			       "e.g. --map 'Record ID=id')",
			       book_kind_name(kind));
	return 0;
}

int import_map_header(enum book_kind kind, const char *map, const char *const *header, int n,
		      char ***targets, struct err *err)
{
	struct map m = {0};
	char **t;
	int *user = NULL, i, k, rc = 0;

	*targets = NULL;
	t = calloc((size_t)n + 1, sizeof *t);
	user = calloc((size_t)n + 1, sizeof *user);
	if (!t || !user) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	if (map && (rc = map_parse(kind, map, &m, err)))
		goto out;
	for (k = 0; k < m.n && rc == 0; k++) {
		for (i = 0; i < n && strcmp(header[i], m.pairs[k].from); i++)
			;
		if (i == n) {
			rc = err_set(err, AIRLOCK_EINVAL, "--map: the header has no column '%s'",
				     m.pairs[k].from);
			break;
		}
		user[i] = 1;
		if (strcmp(m.pairs[k].to, "-"))
			t[i] = strdup(m.pairs[k].to);
		if (strcmp(m.pairs[k].to, "-") && !t[i])
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (rc == 0 && m.preset)
		rc = apply_preset(m.preset, header, n, t, user, err);
	for (i = 0; i < n && rc == 0; i++)
		if (!user[i] && !t[i])
			rc = default_target(kind, header[i], i, &t[i], err);
	if (rc == 0)
		rc = check_targets(kind, header, t, n, err);
out:
	map_free(&m);
	free(user);
	if (rc) {
		import_targets_free(t, n);
		return rc;
	}
	*targets = t;
	return 0;
}

/* The ids seen so far in the file and their lines: a duplicate is an error
 * even where the upsert alone would quietly keep the second row. */
struct idset {
	struct idslot {
		uint64_t hash;
		size_t off; /* into arena; 0 = empty slot */
		long line;
	} *slots;
	size_t cap, n;
	char *arena;
	size_t alen, acap;
};

static uint64_t id_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int idset_grow(struct idset *set)
{
	size_t cap = set->cap ? set->cap * 2 : 1024, i, j;
	struct idslot *ns = calloc(cap, sizeof *ns);

	if (!ns)
		return -1;
	for (i = 0; i < set->cap; i++) {
		if (!set->slots[i].off)
			continue;
		for (j = set->slots[i].hash & (cap - 1); ns[j].off; j = (j + 1) & (cap - 1))
			;
		ns[j] = set->slots[i];
	}
	free(set->slots);
	set->slots = ns;
	set->cap = cap;
	return 0;
}

/* Adds id; *first_line gets the earlier line when it was already there. */
static int idset_add(struct idset *set, const char *id, size_t len, long line, long *first_line)
{
	uint64_t h = id_hash(id, len);
	size_t j, need;
	char *na;

	*first_line = 0;
	if ((set->n + 1) * 2 > set->cap && idset_grow(set))
		return AIRLOCK_ENOMEM;
	for (j = h & (set->cap - 1); set->slots[j].off; j = (j + 1) & (set->cap - 1)) {
		if (set->slots[j].hash == h && !strcmp(set->arena + set->slots[j].off, id)) {
			*first_line = set->slots[j].line;
			return 0;
		}
	}
	need = set->alen + len + 1 + (set->alen == 0); /* offset 0 means empty */
	if (need > set->acap) {
		size_t cap = set->acap ? set->acap : 65536;

		while (cap < need)
			cap *= 2;
		na = realloc(set->arena, cap);
		if (!na)
			return AIRLOCK_ENOMEM;
		set->arena = na;
		set->acap = cap;
	}
	if (set->alen == 0)
		set->arena[set->alen++] = '\0';
	memcpy(set->arena + set->alen, id, len + 1);
	set->slots[j].hash = h;
	set->slots[j].off = set->alen;
	set->slots[j].line = line;
	set->alen += len + 1;
	set->n++;
	return 0;
}

static void idset_free(struct idset *set)
{
	free(set->slots);
	free(set->arena);
}

/* What one import holds while it runs. */
struct job {
	struct store *s;
	enum book_kind kind;
	const char *path;
	FILE *f;
	struct csv_reader *r;
	struct book_loader *loader;
	char **targets;
	int ncols;          /* header columns */
	int *load_col;      /* loader column → header column */
	int nload;
	const char **values;
	struct idset ids;
	int id_col; /* header column holding the id */
};

static int open_input(struct job *j, uint64_t *total, struct err *err)
{
	struct stat st;

	*total = 0;
	if (!strcmp(j->path, "-")) {
		j->f = stdin;
		return 0;
	}
	j->f = fopen(j->path, "rb");
	if (!j->f)
		return err_set(err, errno == ENOENT ? AIRLOCK_ENOTFOUND : AIRLOCK_EIO,
			       "cannot open %s: %s", j->path, strerror(errno));
	if (fstat(fileno(j->f), &st) == 0 && S_ISREG(st.st_mode))
		*total = (uint64_t)st.st_size;
	return 0;
}

/* Reads the header and sets up the loader's columns. */
static int start(struct job *j, const char *map, struct err *err)
{
	struct csv_record hdr;
	int rc, i;

	rc = csv_read(j->r, &hdr, err);
	if (rc == CSV_EOF)
		return err_set(err, AIRLOCK_EINVAL,
			       "1: the file is empty; it needs a header row naming the columns");
	if (rc < 0)
		return rc;
	rc = csv_reader_name_columns(j->r, &hdr, err);
	if (rc)
		return rc;
	j->ncols = hdr.nfields;
	rc = import_map_header(j->kind, map, (const char *const *)hdr.fields, hdr.nfields,
			       &j->targets, err);
	if (rc)
		return err_prefix(err, "%ld", hdr.line);
	j->load_col = calloc((size_t)j->ncols, sizeof *j->load_col);
	j->values = calloc((size_t)j->ncols, sizeof *j->values);
	if (!j->load_col || !j->values)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; i < j->ncols; i++) {
		if (!j->targets[i])
			continue;
		if (!strcmp(j->targets[i], "id"))
			j->id_col = i;
		j->targets[j->nload] = j->targets[i];
		if (j->nload != i)
			j->targets[i] = NULL;
		j->load_col[j->nload++] = i;
	}
	rc = book_loader_new(j->s, j->kind, (const char *const *)j->targets, j->nload, &j->loader,
			     err);
	return rc ? err_prefix(err, "%ld", hdr.line) : 0;
}

/* Checks and loads one record; errors get "LINE: " in front. */
static int load_record(struct job *j, const struct csv_record *rec, struct import_result *res,
		       struct err *err)
{
	long first;
	int i, rc, outcome;

	if (rec->nfields != j->ncols)
		return err_set(err, AIRLOCK_EINVAL,
			       "%ld: %d fields, but the header has %d (a missing or extra comma, "
			       "or a comma in a value that is not quoted?)",
			       rec->line, rec->nfields, j->ncols);
	if (rec->lens[j->id_col] > 0) {
		rc = idset_add(&j->ids, rec->fields[j->id_col], rec->lens[j->id_col], rec->line,
			       &first);
		if (rc)
			return err_set(err, rc, "out of memory");
		if (first)
			return err_set(err, AIRLOCK_EINVAL,
				       "%ld: id '%s' appears twice in the file (first on line %ld)",
				       rec->line, rec->fields[j->id_col], first);
	}
	for (i = 0; i < j->nload; i++)
		j->values[i] = rec->fields[j->load_col[i]];
	rc = book_loader_put(j->loader, j->values, rec->line, &outcome, err);
	if (rc)
		return err_prefix(err, "%lld", (long long)book_loader_failed_tag(j->loader));
	res->rows++;
	if (outcome == BOOK_LOAD_INSERTED)
		res->inserted++;
	else if (outcome == BOOK_LOAD_UPDATED)
		res->updated++;
	else
		res->unchanged++;
	return 0;
}

static int log_import(struct job *j, const char *principal, const struct import_result *res,
		      struct err *err)
{
	struct audit_entry e = {0};
	char summary[512], kinds[32];
	json_t *args;
	int rc;

	snprintf(kinds, sizeof kinds, "%ss", book_kind_name(j->kind));
	args = json_pack("{s:s,s:s,s:I}", "kind", kinds, "file", j->path,
			 "rows", (json_int_t)res->rows);
	if (!args)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	snprintf(summary, sizeof summary,
		 "imported %lld %ss from %s (%lld new, %lld updated, %lld unchanged)",
		 (long long)res->rows, book_kind_name(j->kind), j->path, (long long)res->inserted,
		 (long long)res->updated, (long long)res->unchanged);
	e.principal = principal ? principal : "human:unknown";
	e.surface = "cli";
	e.tool = "import";
	e.args = args;
	e.summary = summary;
	rc = audit_append(j->s, &e, NULL, err);
	json_decref(args);
	return rc;
}

/* Puts "FILE:" in front of a "LINE: what" message (no space: FILE:LINE). */
static int locate(struct err *err, const char *path)
{
	char msg[ERR_MSG_MAX];
	int code = err->code;

	if (!strncmp(err->msg, path, strlen(path)) && err->msg[strlen(path)] == ':')
		return code;
	memcpy(msg, err->msg, sizeof msg);
	if (msg[0] >= '0' && msg[0] <= '9')
		err_set(err, code, "%s:%s", path, msg);
	else
		err_set(err, code, "%s: %s", path, msg);
	return code;
}

int import_csv(struct store *s, enum book_kind kind, const char *path, const char *map,
	       const char *principal, const struct import_progress *progress,
	       struct import_result *out, struct err *err)
{
	struct job j = {0};
	struct csv_record rec;
	uint64_t total;
	int rc, began = 0;

	memset(out, 0, sizeof *out);
	j.s = s;
	j.kind = kind;
	j.path = path;
	rc = open_input(&j, &total, err);
	if (rc)
		return rc;
	rc = csv_reader_new(&j.r, j.f, NULL, err);
	if (rc)
		goto out;
	rc = store_begin(s, err);
	if (rc)
		goto out;
	began = 1;
	rc = start(&j, map, err);
	while (rc == 0 && (rc = csv_read(j.r, &rec, err)) == CSV_RECORD) {
		rc = load_record(&j, &rec, out, err);
		if (rc == 0 && progress && progress->fn && out->rows % IMPORT_PROGRESS_EVERY == 0)
			progress->fn(progress->ctx, out->rows, csv_reader_offset(j.r), total);
	}
	if (rc == CSV_EOF) {
		rc = book_loader_finish(j.loader, err);
		if (rc)
			err_prefix(err, "%lld", (long long)book_loader_failed_tag(j.loader));
	}
	out->bytes = csv_reader_offset(j.r);
	if (rc == 0)
		rc = log_import(&j, principal, out, err);
	if (rc == 0)
		rc = store_commit(s, err); /* a failed commit rolls back itself */
	else
		store_rollback(s);
	began = 0;
	if (rc == 0 && progress && progress->fn)
		progress->fn(progress->ctx, out->rows, out->bytes, total);
out:
	if (began)
		store_rollback(s);
	if (rc) {
		locate(err, path);
		memset(out, 0, sizeof *out);
	}
	book_loader_free(j.loader);
	import_targets_free(j.targets, j.ncols);
	free(j.load_col);
	free(j.values);
	idset_free(&j.ids);
	csv_reader_free(j.r);
	if (j.f && j.f != stdin)
		fclose(j.f);
	return rc;
}
