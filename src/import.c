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
#include "import_int.h"

#define IMPORT_PROGRESS_EVERY 4096

/* A preset maps a field from the first of its column names the header has
 * (any case), and its values with the rules of import_values.c: Type and
 * Lifecycle Stage to lifecycle, a country to its region, CRM numbers,
 * dates and yes/no values. */
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
	{"lifecycle", {"Type", "Account Type"}},
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
	{"lifecycle", {"Lifecycle Stage", "lifecyclestage"}},
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

/* A map file's "value.FIELD" (crm → value) and "default.FIELD" (crm NULL). */
struct map_value {
	char *field, *crm, *value;
};

struct map {
	const struct preset *preset;
	struct map_pair *pairs;
	int n;
	struct map_value *vals;
	int nvals;
};

static void map_free(struct map *m)
{
	int i;

	for (i = 0; i < m->n; i++) {
		free(m->pairs[i].from);
		free(m->pairs[i].to);
	}
	free(m->pairs);
	for (i = 0; i < m->nvals; i++) {
		free(m->vals[i].field);
		free(m->vals[i].crm);
		free(m->vals[i].value);
	}
	free(m->vals);
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
		(void)snprintf(buf + used, len - used, ", custom.NAME");
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
		if (!f || (f->system && strcmp(f->name, "merged_into") != 0)) {
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
	if (f && f->system && strcmp(f->name, "merged_into") != 0)
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
			(void)snprintf(*out, n, "custom.%s", name); /* sized above */
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

/* 1 when the map names column from itself (a --map pair or map file). */
static int by_hand(const struct map *m, const char *from)
{
	int k;

	for (k = 0; k < m->n; k++)
		if (!strcmp(m->pairs[k].from, from))
			return 1;
	return 0;
}

/* Resolves a header with a parsed map (see import_map_header). */
static int map_resolve(enum book_kind kind, const struct map *m, const char *const *header,
		       int n, char ***targets, struct err *err)
{
	char **t;
	int *user = NULL, i, k, rc = 0;

	*targets = NULL;
	t = calloc((size_t)n + 1, sizeof *t);
	user = calloc((size_t)n + 1, sizeof *user);
	if (!t || !user) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	for (k = 0; k < m->n && rc == 0; k++) {
		for (i = 0; i < n && strcmp(header[i], m->pairs[k].from); i++)
			;
		if (i == n) {
			rc = err_set(err, AIRLOCK_EINVAL, "--map: the header has no column '%s'",
				     m->pairs[k].from);
			break;
		}
		user[i] = 1;
		if (strcmp(m->pairs[k].to, "-"))
			t[i] = strdup(m->pairs[k].to);
		if (strcmp(m->pairs[k].to, "-") && !t[i])
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (rc == 0 && m->preset)
		rc = apply_preset(m->preset, header, n, t, user, err);
	for (i = 0; i < n && rc == 0; i++)
		if (!user[i] && !t[i])
			rc = default_target(kind, header[i], i, &t[i], err);
	if (rc == 0)
		rc = check_targets(kind, header, t, n, err);
out:
	free(user);
	if (rc) {
		import_targets_free(t, n);
		return rc;
	}
	*targets = t;
	return 0;
}

int import_map_header(enum book_kind kind, const char *map, const char *const *header, int n,
		      char ***targets, struct err *err)
{
	struct map m = {0};
	int rc = 0;

	*targets = NULL;
	if (map)
		rc = map_parse(kind, map, &m, err);
	if (rc == 0)
		rc = map_resolve(kind, &m, header, n, targets, err);
	map_free(&m);
	return rc;
}

static int map_value_add(struct map *m, const char *field, const char *crm, const char *value)
{
	struct map_value *nv = realloc(m->vals, (size_t)(m->nvals + 1) * sizeof *nv);

	if (!nv)
		return AIRLOCK_ENOMEM;
	m->vals = nv;
	nv = &m->vals[m->nvals];
	nv->field = strdup(field);
	nv->crm = crm ? strdup(crm) : NULL;
	nv->value = strdup(value);
	if (!nv->field || (crm && !nv->crm) || !nv->value) {
		free(nv->field);
		free(nv->crm);
		free(nv->value);
		return AIRLOCK_ENOMEM;
	}
	m->nvals++;
	return 0;
}

/* One row of a map file: what,crm,airlock (see import.h). */
static int map_file_row(enum book_kind kind, struct map *m, const struct csv_record *rec,
			int first, struct err *err)
{
	const char *what = rec->fields[0], *crm = rec->fields[1], *to = rec->fields[2];
	const struct book_field *f;
	char *from, *target;
	int rc, i;

	if (!strcmp(what, "preset")) {
		if (m->preset || m->n || m->nvals || !first)
			return err_set(err, AIRLOCK_EINVAL,
				       "a preset row must come first and only once");
		from = strdup(crm);
		return from ? map_add(m, kind, from, NULL, 1, err)
			    : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (!strcmp(what, "column")) {
		from = strdup(crm);
		target = strdup(to);
		if (!from || !target) {
			free(from);
			free(target);
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		}
		return map_add(m, kind, from, target, 0, err);
	}
	if (!strncmp(what, "value.", 6) || !strncmp(what, "default.", 8)) {
		const char *field = strchr(what, '.') + 1;
		int is_default = what[0] == 'd';
		json_t *j = NULL;

		f = field_named(kind, field);
		if (!f || f->system)
			return err_set(err, AIRLOCK_EINVAL, "'%s' is not a %s field", field,
				       book_kind_name(kind));
		if (!is_default && !*crm)
			return err_set(err, AIRLOCK_EINVAL,
				       "%s needs the CRM's value in the second column", what);
		/* the airlock value must be one the field takes */
		rc = book_value_parse(f, to, &j, err);
		json_decref(j);
		if (rc)
			return rc;
		for (i = 0; i < m->nvals; i++)
			if (!strcmp(m->vals[i].field, f->name) &&
			    (is_default ? !m->vals[i].crm
					: m->vals[i].crm && !strcasecmp(m->vals[i].crm, crm)))
				return err_set(err, AIRLOCK_EINVAL, "%s '%s' is given twice", what,
					       crm);
		rc = map_value_add(m, f->name, is_default ? NULL : crm, to);
		return rc ? err_set(err, rc, "out of memory") : 0;
	}
	return err_set(err, AIRLOCK_EINVAL,
		       "'%s' is not preset, column, value.FIELD or default.FIELD", what);
}

/* Reads a map file (CSV, header what,crm,airlock) into m, after --map. */
static int map_file_parse(enum book_kind kind, const char *path, struct map *m, struct err *err)
{
	struct csv_reader *r = NULL;
	struct csv_record rec;
	FILE *f = fopen(path, "rb");
	int rc, first = 1;

	if (!f)
		return err_set(err, AIRLOCK_EIO, "cannot open map file %s: %s", path,
			       strerror(errno));
	rc = csv_reader_new(&r, f, NULL, err);
	if (rc == 0 && (rc = csv_read(r, &rec, err)) == CSV_RECORD) {
		if (rec.nfields != 3 || strcmp(rec.fields[0], "what") || strcmp(rec.fields[1], "crm") ||
		    strcmp(rec.fields[2], "airlock"))
			rc = err_set(err, AIRLOCK_EINVAL,
				     "%s:%ld: the header must be what,crm,airlock", path, rec.line);
		else
			rc = 0;
	} else if (rc == CSV_EOF)
		rc = err_set(err, AIRLOCK_EINVAL, "%s:1: the map file is empty", path);
	while (rc == 0 && (rc = csv_read(r, &rec, err)) == CSV_RECORD) {
		if (rec.nfields != 3) {
			rc = err_set(err, AIRLOCK_EINVAL, "%s:%ld: %d fields, a map row has 3",
				     path, rec.line, rec.nfields);
			break;
		}
		rc = map_file_row(kind, m, &rec, first && !m->preset && !m->n, err);
		if (rc)
			err_prefix(err, "%s:%ld", path, rec.line);
		first = 0;
	}
	if (rc == CSV_EOF)
		rc = 0;
	csv_reader_free(r);
	fclose(f);
	return rc;
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

static int idset_has(const struct idset *set, const char *id)
{
	uint64_t h = id_hash(id, strlen(id));
	size_t k;

	if (!set->cap)
		return 0;
	for (k = h & (set->cap - 1); set->slots[k].off; k = (k + 1) & (set->cap - 1))
		if (set->slots[k].hash == h && !strcmp(set->arena + set->slots[k].off, id))
			return 1;
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

	/* value mapping, for a mapped import (--map or a map file) */
	struct map m;
	int mapped;
	const char *preset;      /* "salesforce", "hubspot" or NULL */
	enum import_rule *rule;  /* per loader column */
	char **hname;            /* header names, per header column */
	char (*conv)[128];       /* per loader column: the translated value */
	struct vcache *cache;    /* lifecycle and region answers seen so far */
	int hs_lc_col;           /* the IMPORT_HS_LIFECYCLE column (hubspot), or -1 */
	const char *hs_lc;       /* its value on the record being loaded */
	const struct import_options *opt;
	int64_t errors;

	/* --refresh */
	json_t *rf;        /* = the result's refresh object (borrowed) */
	int64_t last_seq;  /* the last change-set's end in the log */
	int64_t next_seq;  /* the seq this import's log entry will take */
	char now[32];
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

/* Lifecycle and region lookups walk tables of hundreds of spellings, and
 * an export repeats a few dozen values a hundred thousand times: answers
 * (static strings, or NULL for "maps to nothing") are kept by value.
 * Open addressing with linear probing, so two frequent values whose hashes
 * meet do not evict each other on every row (direct-mapped, a Salesforce
 * file's "Former Customer" and "Netherlands" shared a slot and walked the
 * country table for one row in twenty); once three quarters full, a new
 * value is just computed. */
#define VCACHE_SLOTS 1024
#define VCACHE_KEY 64
struct vcache {
	int used;
	struct vslot {
		int rule; /* 0 = empty */
		char key[VCACHE_KEY];
		const char *out;
	} slot[VCACHE_SLOTS];
};

static const char *lookup(struct job *j, enum import_rule rule, const char *in)
{
	size_t len = strlen(in), k;
	struct vslot *v = NULL;
	const char *out;

	if (len < VCACHE_KEY && j->cache)
		for (k = (size_t)(id_hash(in, len) ^ (uint64_t)rule);; k++) {
			v = &j->cache->slot[k & (VCACHE_SLOTS - 1)];
			if (!v->rule)
				break;
			if (v->rule == (int)rule && !memcmp(v->key, in, len + 1))
				return v->out;
		}
	out = rule == IMPORT_RULE_LIFECYCLE ? import_lifecycle_of(j->preset, in)
					    : import_region_of(in);
	if (v && j->cache->used < VCACHE_SLOTS / 4 * 3) {
		j->cache->used++;
		v->rule = (int)rule;
		memcpy(v->key, in, len + 1);
		v->out = out;
	}
	return out;
}

/* A field a guard reads: never filled in with its permissive default. */
static int guarded(const char *field)
{
	return !strcmp(field, "lifecycle") || !strcmp(field, "do_not_contact") ||
	       !strcmp(field, "unsubscribed");
}

static const char *map_default(const struct job *j, const char *field)
{
	int i;

	for (i = 0; i < j->m.nvals; i++)
		if (!j->m.vals[i].crm && !strcmp(j->m.vals[i].field, field))
			return j->m.vals[i].value;
	return NULL;
}

/* How each loaded column's values are read. Only a mapped import (a preset,
 * pairs or a map file) translates values; a plain file is read as airlock
 * writes it. A preset or map file must also say where lifecycle comes
 * from, so no account silently becomes a prospect. */
static int plan_values(struct job *j, struct err *err)
{
	const struct book_field *f;
	int i, has_lifecycle = 0;

	j->mapped = j->m.preset || j->m.n || j->m.nvals;
	j->preset = j->m.preset ? j->m.preset->name : NULL;
	j->rule = calloc((size_t)j->nload + 1, sizeof *j->rule);
	j->conv = calloc((size_t)j->nload + 1, sizeof *j->conv);
	j->cache = j->mapped ? calloc(1, sizeof *j->cache) : NULL;
	if (!j->rule || !j->conv || (j->mapped && !j->cache))
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; i < j->nload; i++) {
		const char *t = j->targets[i], *h = j->hname[j->load_col[i]];

		j->rule[i] = IMPORT_RULE_TEXT;
		if (!strcmp(t, "lifecycle"))
			has_lifecycle = 1;
		if (!j->mapped || !(f = book_field_find(j->kind, t)))
			continue;
		if (!strcmp(t, "lifecycle"))
			j->rule[i] = IMPORT_RULE_LIFECYCLE;
		else if (!strcmp(t, "region") && strcasestr(h, "country"))
			j->rule[i] = IMPORT_RULE_REGION;
		else if (f->type == BOOK_INT || f->type == BOOK_REAL)
			j->rule[i] = IMPORT_RULE_NUMBER;
		else if (f->type == BOOK_TIME)
			j->rule[i] = IMPORT_RULE_DATE;
		else if (f->type == BOOK_BOOL)
			j->rule[i] = IMPORT_RULE_BOOL;
	}
	if (j->kind == BOOK_ACCOUNT && (j->m.preset || j->m.nvals) && !has_lifecycle &&
	    !map_default(j, "lifecycle"))
		return err_set(err, AIRLOCK_EINVAL,
			       "no column gives lifecycle (Salesforce Type, HubSpot Lifecycle "
			       "Stage): map one, or give default.lifecycle in a map file; an "
			       "account is not assumed to be a prospect");
	return 0;
}

static const char *rule_accepted(const struct job *j, enum import_rule r)
{
	switch (r) {
	case IMPORT_RULE_LIFECYCLE: return import_lifecycle_accepted(j->preset);
	case IMPORT_RULE_REGION:
		return "an ISO 3166 country name, alpha-2 or alpha-3 code (or value.region rows "
		       "in a map file)";
	case IMPORT_RULE_NUMBER: return "a number such as 1200000, 1,200,000 or $1,200,000.00";
	case IMPORT_RULE_DATE:
		return "2026-03-01, 2026-03-01 09:30, 2026-03-01T09:30:00.000Z or 3/1/2026 9:30 AM";
	case IMPORT_RULE_BOOL: return "Yes, No, Y, N, 1, 0, true, false";
	default: return "";
	}
}

/* Translates column i's value (loader column) in place; a value that maps
 * to nothing is "LINE:COL: what" (import_csv puts FILE: in front). */
static int map_value(struct job *j, int i, long line, struct err *err)
{
	const char *in = j->values[i], *out = NULL, *field = j->targets[i];
	int col = j->load_col[i], k;

	for (k = 0; k < j->m.nvals; k++)
		if (j->m.vals[k].crm && !strcmp(j->m.vals[k].field, field) &&
		    !strcasecmp(j->m.vals[k].crm, in)) {
			j->values[i] = j->m.vals[k].value;
			return 0;
		}
	/* HubSpot's "other" (or no stage): airlock's own lifecycle column, when
	 * the file has it, says which (a partner, a competitor, a former
	 * customer that went out to HubSpot) */
	if (j->rule[i] == IMPORT_RULE_LIFECYCLE && j->hs_lc && *j->hs_lc &&
	    (!*in || !strcasecmp(in, "other"))) {
		out = import_lifecycle_of(NULL, j->hs_lc);
		if (!out)
			return err_set(err, AIRLOCK_EINVAL,
				       "%ld:%d: column '%s': '%s' maps to no lifecycle (accepted: %s)",
				       line, j->hs_lc_col + 1, j->hname[j->hs_lc_col], j->hs_lc,
				       import_lifecycle_accepted(NULL));
		j->values[i] = out;
		return 0;
	}
	if (!*in) {
		if ((out = map_default(j, field)) != NULL) {
			j->values[i] = out;
			return 0;
		}
		if (guarded(field))
			return err_set(err, AIRLOCK_EINVAL,
				       "%ld:%d: column '%s' is empty: %s cannot be determined (give "
				       "default.%s in a map file to choose one)",
				       line, col + 1, j->hname[col], field, field);
		return 0;
	}
	switch (j->rule[i]) {
	case IMPORT_RULE_LIFECYCLE:
	case IMPORT_RULE_REGION: out = lookup(j, j->rule[i], in); break;
	case IMPORT_RULE_NUMBER:
		out = import_number(in, j->conv[i], sizeof j->conv[i]) ? NULL : j->conv[i];
		break;
	case IMPORT_RULE_DATE:
		out = import_date(in, j->conv[i], sizeof j->conv[i]) ? NULL : j->conv[i];
		break;
	case IMPORT_RULE_BOOL: out = import_bool(in); break;
	default: return 0;
	}
	if (!out)
		out = map_default(j, field);
	if (!out)
		return err_set(err, AIRLOCK_EINVAL, "%ld:%d: column '%s': '%s' maps to no %s (accepted: %s)",
			       line, col + 1, j->hname[col], in, field, rule_accepted(j, j->rule[i]));
	j->values[i] = out;
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
	if (map && (rc = map_parse(j->kind, map, &j->m, err)))
		return err_prefix(err, "%ld", hdr.line);
	if (j->opt && j->opt->map_file && (rc = map_file_parse(j->kind, j->opt->map_file, &j->m, err)))
		return rc;
	rc = map_resolve(j->kind, &j->m, (const char *const *)hdr.fields, hdr.nfields,
			 &j->targets, err);
	if (rc)
		return err_prefix(err, "%ld", hdr.line);
	j->hname = calloc((size_t)j->ncols, sizeof *j->hname);
	if (!j->hname)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; i < j->ncols; i++)
		if (!(j->hname[i] = strdup(hdr.fields[i])))
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	/* with the hubspot preset, airlock's own lifecycle column is read with
	 * the stage (map_value), not loaded as a custom field of its own;
	 * mapped by hand, it is what the map says */
	j->hs_lc_col = -1;
	if (j->kind == BOOK_ACCOUNT && j->m.preset && !strcasecmp(j->m.preset->name, "hubspot"))
		for (i = 0; i < j->ncols; i++)
			if (!strcasecmp(hdr.fields[i], IMPORT_HS_LIFECYCLE) && j->targets[i] &&
			    !strncmp(j->targets[i], "custom.", 7) && !by_hand(&j->m, hdr.fields[i])) {
				free(j->targets[i]);
				j->targets[i] = NULL;
				j->hs_lc_col = i;
			}
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
	rc = plan_values(j, err);
	if (rc)
		return err_prefix(err, "%ld", hdr.line);
	rc = book_loader_new(j->s, j->kind, (const char *const *)j->targets, j->nload, &j->loader,
			     err);
	return rc ? err_prefix(err, "%ld", hdr.line) : 0;
}

static int dry_run_error(struct job *j, struct err *err);

/* Checks and loads one record; errors get "LINE: " in front. */
static int load_record(struct job *j, const struct csv_record *rec, struct import_result *res,
		       struct err *err)
{
	long first;
	int i, rc, outcome, bad;

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
	j->hs_lc = j->hs_lc_col >= 0 ? rec->fields[j->hs_lc_col] : NULL;
	bad = 0;
	for (i = 0; i < j->nload && j->mapped; i++)
		if ((rc = map_value(j, i, rec->line, err))) {
			if (!j->opt || !j->opt->dry_run)
				return rc;
			/* a dry run lists every value that maps to nothing */
			dry_run_error(j, err);
			bad = 1;
		}
	if (bad) {
		res->error_rows++;
		return 0;
	}
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

	(void)snprintf(kinds, sizeof kinds, "%ss", book_kind_name(j->kind));
	args = json_pack("{s:s,s:s,s:I}", "kind", kinds, "file", j->path,
			 "rows", (json_int_t)res->rows);
	if (!args)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (j->rf)
		json_object_set_new(
			args, "refresh",
			json_pack("{s:I,s:I,s:I,s:I,s:I}", "new", (json_int_t)res->inserted,
				  "changed", (json_int_t)res->updated, "conflicts",
				  (json_int_t)json_array_size(json_object_get(j->rf, "conflicts")),
				  "deleted",
				  (json_int_t)json_array_size(json_object_get(j->rf, "deleted")),
				  "overwritten",
				  (json_int_t)json_array_size(json_object_get(j->rf, "overwritten"))));
	(void)snprintf(
	    summary, sizeof summary, "%s %lld %ss from %s (%lld new, %lld updated, %lld unchanged)",
	    j->rf ? "refreshed" : "imported", (long long)res->rows, book_kind_name(j->kind),
	    j->path, (long long)res->inserted, (long long)res->updated, (long long)res->unchanged);
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

static int scalar_int(struct store *s, const char *sql, int64_t *out, struct err *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	if (rc)
		return rc;
	rc = store_step(st, err);
	*out = rc == STORE_ROW ? store_col_int(st, 0) : 0;
	store_done(st);
	return rc < 0 ? rc : 0;
}

static int refresh_begin(struct job *j, struct import_result *out, struct err *err)
{
	int rc;

	out->refresh = json_pack("{s:[],s:[],s:[]}", "conflicts", "deleted", "overwritten");
	if (!out->refresh)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	j->rf = out->refresh;
	book_now(j->now, sizeof j->now);
	rc = scalar_int(j->s, "SELECT coalesce(max(until_seq),0) FROM changeset WHERE mode='last'", &j->last_seq, err);
	if (rc == 0)
		rc = scalar_int(j->s, "SELECT seq+1 FROM action_log_head", &j->next_seq, err);
	return rc;
}

/* d["custom." + key] = v (a reference taken over); custom keys have no
 * length bound of their own, so the name is allocated, never cut. */
static int custom_set(json_t *d, const char *key, json_t *v)
{
	size_t n = strlen(key) + 8;
	char *name = malloc(n);
	int rc;

	if (!name) {
		json_decref(v);
		return -1;
	}
	(void)snprintf(name, n, "custom.%s", key); /* sized above */
	rc = json_object_set_new(d, name, v);
	free(name);
	return rc;
}

/* The fields (built-in names, custom.KEY) whose values differ between two
 * images of a record, with the new values. */
static json_t *record_diff(json_t *old, json_t *cur)
{
	json_t *d = json_object(), *v, *oc, *nc;
	const char *k;

	if (!d)
		return NULL;
	json_object_foreach(cur, k, v)
	{
		if (!strcmp(k, "version") || !strcmp(k, "updated_at") || !strcmp(k, "custom"))
			continue;
		if (!json_equal(v, json_object_get(old, k)))
			json_object_set(d, k, v);
	}
	oc = json_object_get(old, "custom");
	nc = json_object_get(cur, "custom");
	json_object_foreach(nc, k, v)
		if (!json_equal(v, json_object_get(oc, k)) && custom_set(d, k, json_incref(v)))
			goto fail;
	json_object_foreach(oc, k, v)
		if (!json_object_get(nc, k) && custom_set(d, k, json_null()))
			goto fail;
	return d;
fail:
	json_decref(d);
	return NULL;
}

static json_t *field_value(json_t *rec, const char *field)
{
	if (!strncmp(field, "custom.", 7))
		return json_object_get(json_object_get(rec, "custom"), field + 7);
	return json_object_get(rec, field);
}

/* What the CRM changed on one record: kept for show, turned into conflicts
 * of waiting items, and checked against applied, unexported changes. */
static int refresh_note(struct job *j, const char *id, json_t *old, json_t *diff,
			struct err *err)
{
	struct store_stmt *st;
	char *txt = json_dumps(diff, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	if (!txt)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = store_prepare(j->s,
			   /* an upsert both engines speak (not SQLite's OR REPLACE) */
			   "INSERT INTO crm_refresh(record_id,log_seq,at,crm) VALUES(?1,?2,?3,?4)"
			   " ON CONFLICT(record_id,log_seq) DO UPDATE SET at=excluded.at,"
			   " crm=excluded.crm",
			   &st, err);
	if (rc == 0) {
		store_bind_text(st, 1, id);
		store_bind_int(st, 2, j->next_seq);
		store_bind_text(st, 3, j->now);
		store_bind_text(st, 4, txt);
		rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
		store_done(st);
	}
	free(txt);
	if (rc == 0)
		rc = store_prepare(j->s,
				   "SELECT b.id,i.idx FROM batch_item i JOIN batch b ON b.id=i.batch_id"
				   " WHERE i.record_id=?1 AND i.state='pending' AND b.state IN"
				   " ('staged','sampled','blocked','approved') ORDER BY b.id,i.idx",
				   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	while ((rc = store_step(st, err)) == STORE_ROW)
		json_array_append_new(json_object_get(j->rf, "conflicts"),
				      json_pack("{s:I,s:I,s:s,s:O}", "batch",
						(json_int_t)store_col_int(st, 0), "item",
						(json_int_t)store_col_int(st, 1), "record_id", id,
						"crm", diff));
	store_done(st);
	if (rc != STORE_DONE)
		return rc;
	rc = store_prepare(j->s,
			   "SELECT b.id,i.changes FROM batch_item i JOIN batch b ON b.id=i.batch_id"
			   " WHERE i.record_id=?1 AND i.state='pending' AND b.state='applied' AND"
			   " b.action IN ('update','merge') AND (SELECT max(seq) FROM action_log a"
			   " WHERE a.tool='apply' AND a.batch_id=CAST(b.id AS TEXT)) > ?2 AND NOT"
			   " EXISTS (SELECT 1 FROM changeset c WHERE c.batch_id=b.id)"
			   " ORDER BY b.id,i.idx",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	store_bind_int(st, 2, j->last_seq);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		json_t *ch = json_loads(store_col_text(st, 1), 0, NULL), *v;
		const char *k;

		json_object_foreach(ch, k, v)
		{
			if (!json_object_get(diff, k))
				continue;
			json_array_append_new(
				json_object_get(j->rf, "overwritten"),
				json_pack("{s:s,s:s,s:I,s:O,s:O}", "record_id", id, "field", k,
					  "batch", (json_int_t)store_col_int(st, 0), "airlock",
					  field_value(old, k) ? field_value(old, k) : json_null(),
					  "crm", json_object_get(diff, k)));
		}
		json_decref(ch);
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

static int refresh_record(struct job *j, const struct csv_record *rec, struct import_result *res,
			  struct err *err)
{
	json_t *old = NULL, *cur = NULL, *diff = NULL;
	const char *id;
	int rc;

	if (rec->nfields != j->ncols || !rec->lens[j->id_col] ||
	    rec->lens[j->id_col] > BOOK_ID_MAX)
		return load_record(j, rec, res, err);
	id = rec->fields[j->id_col];
	rc = book_get(j->s, BOOK_ACCOUNT, id, &old, err);
	if (rc == AIRLOCK_ENOTFOUND) {
		memset(err, 0, sizeof *err);
		return load_record(j, rec, res, err);
	}
	if (rc)
		return rc;
	/* the field values are in rec, which load_record does not change */
	rc = load_record(j, rec, res, err);
	if (rc == 0)
		rc = book_get(j->s, BOOK_ACCOUNT, id, &cur, err);
	if (rc == 0 && json_integer_value(json_object_get(cur, "version")) !=
			       json_integer_value(json_object_get(old, "version"))) {
		diff = record_diff(old, cur);
		rc = diff ? refresh_note(j, id, old, diff, err)
			  : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	json_decref(old);
	json_decref(cur);
	json_decref(diff);
	return rc;
}

/* Accounts the CRM no longer has: reported, never deleted (a merge or a
 * deletion in the CRM is a person's call to make here too). */
static int refresh_end(struct job *j, struct import_result *out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	(void)out;
	rc = store_prepare(j->s, "SELECT id FROM account WHERE merged_into IS NULL ORDER BY id",
			   &st, err);
	if (rc)
		return rc;
	while ((rc = store_step(st, err)) == STORE_ROW)
		if (!idset_has(&j->ids, store_col_text(st, 0)))
			json_array_append_new(json_object_get(j->rf, "deleted"),
					      json_string(store_col_text(st, 0)));
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

/* Remembers how this mapped import named each field and translated which
 * values, so a change-set can write the CRM's columns and values back. */
static int remember_map(struct job *j, struct err *err)
{
	static const char *const rules[] = {"text", "lifecycle", "region", "number", "date", "bool"};
	struct store_stmt *st;
	int i, rc = 0;

	for (i = 0; i < j->nload && rc == 0; i++) {
		if (!strncmp(j->targets[i], "custom.", 7))
			continue;
		rc = store_prepare(j->s,
				   "INSERT INTO crm_map(kind,field,crm_column,preset,rule)"
				   " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(kind,field) DO UPDATE SET"
				   " crm_column=excluded.crm_column, preset=excluded.preset,"
				   " rule=excluded.rule",
				   &st, err);
		if (rc)
			return rc;
		store_bind_text(st, 1, book_kind_name(j->kind));
		store_bind_text(st, 2, j->targets[i]);
		store_bind_text(st, 3, j->hname[j->load_col[i]]);
		if (j->preset)
			store_bind_text(st, 4, j->preset);
		else
			store_bind_null(st, 4);
		store_bind_text(st, 5, rules[j->rule[i]]);
		rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
		store_done(st);
	}
	for (i = 0; i < j->m.nvals && rc == 0; i++) {
		if (!j->m.vals[i].crm)
			continue;
		rc = store_prepare(j->s,
				   "INSERT INTO crm_value(kind,field,crm_value,value) VALUES(?1,?2,?3,?4)"
				   " ON CONFLICT(kind,field,crm_value) DO UPDATE SET value=excluded.value",
				   &st, err);
		if (rc)
			return rc;
		store_bind_text(st, 1, book_kind_name(j->kind));
		store_bind_text(st, 2, j->m.vals[i].field);
		store_bind_text(st, 3, j->m.vals[i].crm);
		store_bind_text(st, 4, j->m.vals[i].value);
		rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
		store_done(st);
	}
	return rc;
}

int import_csv(struct store *s, enum book_kind kind, const char *path, const char *map,
	       const char *principal, const struct import_progress *progress,
	       struct import_result *out, struct err *err)
{
	struct import_options o = {0};

	o.map = map;
	o.principal = principal;
	o.progress = progress;
	return import_run(s, kind, path, &o, out, err);
}

/* A row's value error in a dry run: reported, counted, and the row left
 * out; anything else still stops the run. */
static int dry_run_error(struct job *j, struct err *err)
{
	char msg[ERR_MSG_MAX + 512];

	j->errors++;
	if (j->opt->report) {
		(void)snprintf(msg, sizeof msg, "%s:%s", j->path, err->msg);
		j->opt->report(j->opt->report_ctx, msg);
	}
	memset(err, 0, sizeof *err);
	return 0;
}

int import_run(struct store *s, enum book_kind kind, const char *path,
	       const struct import_options *opt, struct import_result *out, struct err *err)
{
	const struct import_progress *progress = opt->progress;
	struct job j = {0};
	struct csv_record rec;
	uint64_t total;
	int rc, began = 0;

	memset(out, 0, sizeof *out);
	j.s = s;
	j.kind = kind;
	j.path = path;
	j.opt = opt;
	if (opt->refresh && kind != BOOK_ACCOUNT)
		return err_set(err, AIRLOCK_EINVAL, "--refresh is for accounts");
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
	rc = start(&j, opt->map, err);
	if (rc == 0 && opt->refresh)
		rc = refresh_begin(&j, out, err);
	while (rc == 0 && (rc = csv_read(j.r, &rec, err)) == CSV_RECORD) {
		rc = opt->refresh ? refresh_record(&j, &rec, out, err)
				  : load_record(&j, &rec, out, err);
		if (rc == 0 && progress && progress->fn && out->rows % IMPORT_PROGRESS_EVERY == 0)
			progress->fn(progress->ctx, out->rows, csv_reader_offset(j.r), total);
	}
	if (rc == CSV_EOF) {
		rc = book_loader_finish(j.loader, err);
		if (rc)
			err_prefix(err, "%lld", (long long)book_loader_failed_tag(j.loader));
	}
	out->bytes = csv_reader_offset(j.r);
	out->errors = j.errors;
	if (rc == 0 && opt->refresh)
		rc = refresh_end(&j, out, err);
	if (rc == 0 && j.mapped)
		rc = remember_map(&j, err);
	if (rc == 0)
		rc = log_import(&j, opt->principal, out, err);
	if (rc == 0 && !opt->dry_run)
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
		json_decref(out->refresh);
		memset(out, 0, sizeof *out);
	}
	book_loader_free(j.loader);
	import_targets_free(j.targets, j.ncols);
	if (j.hname)
		import_targets_free(j.hname, j.ncols);
	free(j.rule);
	free(j.conv);
	free(j.cache);
	map_free(&j.m);
	free(j.load_col);
	free(j.values);
	idset_free(&j.ids);
	csv_reader_free(j.r);
	if (j.f && j.f != stdin)
		fclose(j.f);
	return rc;
}
