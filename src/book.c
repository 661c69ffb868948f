/* book.c — accounts, contacts, signals: field catalogue, JSON images, queries. */
#include "book.h"
#include "book_cache.h"

#include "clock.h"
#include "csv.h"
#include "fmt.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const segments[] = {"smb", "mid-market", "enterprise", NULL};
static const char *const lifecycles[] = {"prospect", "customer", "former_customer",
					 "competitor", "partner", NULL};

static const struct book_field account_fields[] = {
	{"id", BOOK_TEXT, 1, NULL, 0, 0, 0},
	{"name", BOOK_TEXT, 1, NULL, 0, 0, 0},
	{"domain", BOOK_TEXT, 0, NULL, 0, 0, 0},
	{"segment", BOOK_ENUM, 0, segments, 0, 0, 0},
	{"region", BOOK_TEXT, 0, NULL, 0, 0, 0},
	{"industry", BOOK_TEXT, 0, NULL, 0, 0, 0},
	{"owner", BOOK_TEXT, 0, NULL, 0, 0, 0},
	{"tier", BOOK_INT, 0, NULL, 1, 4, 0},
	{"lifecycle", BOOK_ENUM, 0, lifecycles, 0, 0, 0},
	{"do_not_contact", BOOK_BOOL, 0, NULL, 0, 0, 0},
	{"arr", BOOK_REAL, 0, NULL, 0, 0, 0},
	{"employees", BOOK_INT, 0, NULL, 0, 10000000, 0},
	{"custom", BOOK_JSON, 0, NULL, 0, 0, 1},
	{"merged_into", BOOK_TEXT, 0, NULL, 0, 0, 1},
	{"version", BOOK_INT, 0, NULL, 0, 0, 1},
	{"updated_at", BOOK_TIME, 0, NULL, 0, 0, 1},
};

static const struct book_field contact_fields[] = {
	{"id", BOOK_TEXT, 1, NULL, 0, 0, 0},
	{"account_id", BOOK_TEXT, 1, NULL, 0, 0, 0},
	{"name", BOOK_TEXT, 0, NULL, 0, 0, 0},
	{"email", BOOK_TEXT, 0, NULL, 0, 0, 0},
	{"title", BOOK_TEXT, 0, NULL, 0, 0, 0},
	{"do_not_contact", BOOK_BOOL, 0, NULL, 0, 0, 0},
	{"unsubscribed", BOOK_BOOL, 0, NULL, 0, 0, 0},
	{"custom", BOOK_JSON, 0, NULL, 0, 0, 1},
	{"version", BOOK_INT, 0, NULL, 0, 0, 1},
	{"updated_at", BOOK_TIME, 0, NULL, 0, 0, 1},
};

static const struct book_field signal_fields[] = {
	{"id", BOOK_TEXT, 1, NULL, 0, 0, 0},
	{"account_id", BOOK_TEXT, 1, NULL, 0, 0, 0},
	{"kind", BOOK_TEXT, 1, NULL, 0, 0, 0},
	{"observed_at", BOOK_TIME, 1, NULL, 0, 0, 0},
	{"detail", BOOK_TEXT, 0, NULL, 0, 0, 0},
	{"version", BOOK_INT, 0, NULL, 0, 0, 1},
	{"updated_at", BOOK_TIME, 0, NULL, 0, 0, 1},
};

#define NFIELDS(a) ((int)(sizeof a / sizeof a[0]))

struct kind_info {
	const char *name, *plural, *table;
	const struct book_field *fields;
	int nfields;
	const char *select; /* "SELECT <all columns> FROM <table>" */
	const char *insert; /* "INSERT INTO <table>(<all columns>) VALUES(?1..?N)" */
};

static const struct kind_info kinds[BOOK_KIND_COUNT] = {
	{"account", "accounts", "account", account_fields, NFIELDS(account_fields),
	 "SELECT id,name,domain,segment,region,industry,owner,tier,lifecycle,do_not_contact,"
	 "arr,employees,custom,merged_into,version,updated_at FROM account",
	 "INSERT INTO account(id,name,domain,segment,region,industry,owner,tier,lifecycle,"
	 "do_not_contact,arr,employees,custom,merged_into,version,updated_at) VALUES(?1,?2,?3,"
	 "?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"},
	{"contact", "contacts", "contact", contact_fields, NFIELDS(contact_fields),
	 "SELECT id,account_id,name,email,title,do_not_contact,unsubscribed,custom,version,"
	 "updated_at FROM contact",
	 "INSERT INTO contact(id,account_id,name,email,title,do_not_contact,unsubscribed,custom,"
	 "version,updated_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"},
	{"signal", "signals", "signal", signal_fields, NFIELDS(signal_fields),
	 "SELECT id,account_id,kind,observed_at,detail,version,updated_at FROM signal",
	 "INSERT INTO signal(id,account_id,kind,observed_at,detail,version,updated_at)"
	 " VALUES(?1,?2,?3,?4,?5,?6,?7)"},
};

const struct book_field *book_fields(enum book_kind kind, int *n)
{
	*n = kinds[kind].nfields;
	return kinds[kind].fields;
}

const struct book_field *book_field_find(enum book_kind kind, const char *name)
{
	int i;

	for (i = 0; i < kinds[kind].nfields; i++)
		if (strcmp(kinds[kind].fields[i].name, name) == 0)
			return &kinds[kind].fields[i];
	return NULL;
}

int book_kind_parse(const char *s, enum book_kind *out, struct err *err)
{
	int i;

	for (i = 0; i < BOOK_KIND_COUNT; i++) {
		if (strcmp(s, kinds[i].name) == 0 || strcmp(s, kinds[i].plural) == 0) {
			*out = (enum book_kind)i;
			return 0;
		}
	}
	return err_set(err, AIRLOCK_EINVAL,
		       "unknown record kind '%s' (expected accounts, contacts or signals)", s);
}

const char *book_kind_name(enum book_kind kind) { return kinds[kind].name; }
const char *book_kind_table(enum book_kind kind) { return kinds[kind].table; }

void book_now(char *buf, size_t len)
{
	clock_format(clock_now(), buf, len);
}

/* Accepts YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z]; normalised to full UTC. */
static int parse_time(const char *text, char *buf, size_t len)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
	size_t tl = strlen(text);

	if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	if (tl > 10) {
		int m2 = 0;

		if (text[10] != 'T' && text[10] != ' ')
			return -1;
		if (sscanf(text + 11, "%2d:%2d%n", &h, &mi, &m2) != 2 || m2 != 5)
			return -1;
		n = 16;
		if (text[n] == ':') {
			if (sscanf(text + n + 1, "%2d%n", &sec, &m2) != 1 || m2 != 2)
				return -1;
			n += 3;
		}
		if (text[n] == 'Z')
			n++;
		if ((size_t)n != tl)
			return -1;
	}
	if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -1;
	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, sec);
	return 0;
}

static int enum_has(const char *const *values, const char *v)
{
	for (; *values; values++)
		if (strcmp(*values, v) == 0)
			return 1;
	return 0;
}

static void enum_list(const char *const *values, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; *values && used < len; values++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", *values);
}

int book_id_check(const struct book_field *f, const char *text, struct err *err)
{
	size_t n = strlen(f->name);

	/* id and account_id: the fields that name a record */
	if (strcmp(f->name, "id") != 0 && !(n > 3 && !strcmp(f->name + n - 3, "_id")))
		return 0;
	if (strlen(text) > BOOK_ID_MAX)
		return err_set(err, AIRLOCK_EINVAL, "%s: '%.32s…' is longer than %d bytes", f->name,
			       text, BOOK_ID_MAX);
	return 0;
}

int book_value_parse(const struct book_field *f, const char *text, json_t **out, struct err *err)
{
	char *end, tbuf[64], list[256];
	long long ll;
	double d;

	*out = NULL;
	if (!text || !*text) {
		if (f->required)
			return err_set(err, AIRLOCK_EINVAL, "%s is required", f->name);
		*out = json_null();
		return 0;
	}
	switch (f->type) {
	case BOOK_TEXT:
		if (book_id_check(f, text, err))
			return AIRLOCK_EINVAL;
		*out = json_string(text);
		break;
	case BOOK_INT:
		errno = 0;
		ll = strtoll(text, &end, 10);
		if (errno || *end || end == text)
			return err_set(err, AIRLOCK_EINVAL, "%s: '%s' is not a whole number", f->name,
				       text);
		if (f->min < f->max && (ll < f->min || ll > f->max))
			return err_set(err, AIRLOCK_EINVAL, "%s: %lld is outside %lld..%lld", f->name,
				       ll, (long long)f->min, (long long)f->max);
		*out = json_integer(ll);
		break;
	case BOOK_REAL:
		errno = 0;
		d = strtod(text, &end);
		if (errno || *end || end == text || !isfinite(d))
			return err_set(err, AIRLOCK_EINVAL, "%s: '%s' is not a number", f->name, text);
		*out = json_real(d);
		break;
	case BOOK_BOOL:
		if (!strcmp(text, "1") || !strcasecmp(text, "true") || !strcasecmp(text, "yes"))
			*out = json_true();
		else if (!strcmp(text, "0") || !strcasecmp(text, "false") ||
			 !strcasecmp(text, "no"))
			*out = json_false();
		else
			return err_set(err, AIRLOCK_EINVAL,
				       "%s: '%s' is not a yes/no value (true, false, 1, 0)", f->name,
				       text);
		break;
	case BOOK_ENUM:
		if (!enum_has(f->values, text)) {
			enum_list(f->values, list, sizeof list);
			return err_set(err, AIRLOCK_EINVAL, "%s: '%s' is not one of %s", f->name,
				       text, list);
		}
		*out = json_string(text);
		break;
	case BOOK_TIME:
		if (parse_time(text, tbuf, sizeof tbuf))
			return err_set(err, AIRLOCK_EINVAL,
				       "%s: '%s' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)",
				       f->name, text);
		*out = json_string(tbuf);
		break;
	case BOOK_JSON:
		*out = json_loads(text, JSON_DECODE_ANY, NULL);
		if (!*out || !json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			return err_set(err, AIRLOCK_EINVAL, "%s: not a JSON object", f->name);
		}
		break;
	}
	/* jansson refuses text that is not UTF-8 the way it fails to
	 * allocate: tell the two apart, a caller treats them differently */
	if (!*out && !csv_utf8_valid(text, strlen(text), NULL))
		return err_set(err, AIRLOCK_EINVAL, "%s: the value is not valid UTF-8", f->name);
	if (!*out)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	return 0;
}

int book_value_check(const struct book_field *f, json_t *v, json_t **out, struct err *err)
{
	char buf[64];

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (f->required)
			return err_set(err, AIRLOCK_EINVAL, "%s is required", f->name);
		*out = json_null();
		return 0;
	}
	if (json_is_string(v))
		return book_value_parse(f, json_string_value(v), out, err);
	if (json_is_integer(v) && (f->type == BOOK_INT || f->type == BOOK_REAL)) {
		(void)snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		return book_value_parse(f, buf, out, err);
	}
	if (json_is_real(v) && f->type == BOOK_REAL) {
		*out = json_real(json_real_value(v));
		return 0;
	}
	if (json_is_boolean(v) && f->type == BOOK_BOOL) {
		*out = json_incref(v);
		return 0;
	}
	if (json_is_object(v) && f->type == BOOK_JSON) {
		*out = json_incref(v);
		return 0;
	}
	return err_set(err, AIRLOCK_EINVAL, "%s: wrong type of value", f->name);
}

static json_t *row_to_json(enum book_kind kind, struct store_stmt *st);
static json_t *row_to_json_some(enum book_kind kind, struct store_stmt *st, json_t *want);

/* store_collect's row function: ctx points at the kind. */
static json_t *kind_row(struct store_stmt *st, void *ctx)
{
	return row_to_json(*(const enum book_kind *)ctx, st);
}

/* Reads the row the statement points at into a JSON object. */
static json_t *row_to_json(enum book_kind kind, struct store_stmt *st)
{
	return row_to_json_some(kind, st, NULL);
}

/* The same with only the fields named in want (a set; NULL: every one). */
static json_t *row_to_json_some(enum book_kind kind, struct store_stmt *st, json_t *want)
{
	const struct kind_info *k = &kinds[kind];
	json_t *o = json_object(), *v;
	int i;

	if (!o)
		return NULL;
	for (i = 0; i < k->nfields; i++) {
		const struct book_field *f = &k->fields[i];

		if (want && !json_object_get(want, f->name))
			continue;

		if (store_col_is_null(st, i))
			v = json_null();
		else if (f->type == BOOK_INT)
			v = json_integer(store_col_int(st, i));
		else if (f->type == BOOK_REAL)
			v = json_real(store_col_double(st, i));
		else if (f->type == BOOK_BOOL)
			v = json_boolean(store_col_int(st, i));
		else if (f->type == BOOK_JSON) {
			const char *t = store_col_text(st, i);
			int oom = 1;

			/* unreadable text reads as no custom fields; but a failed
			 * allocation (no text at all is SQLite out of memory) must
			 * fail the read: a before-image without them would erase
			 * them on undo */
			v = t ? store_json_load(t, 0, &oom) : NULL;
			if (!v && !oom)
				v = json_object();
		} else
			v = json_string(store_col_text(st, i));
		if (!v || json_object_set_new(o, f->name, v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int book_get(struct store *s, enum book_kind kind, const char *id, json_t **out, struct err *err)
{
	char sql[512];
	struct store_stmt *st;
	int rc;

	*out = NULL;
	if (strlen(id) > BOOK_ID_MAX)
		return err_set(err, AIRLOCK_EINVAL, "%s id '%.32s…' is longer than %d bytes",
			       kinds[kind].name, id, BOOK_ID_MAX);
	(void)snprintf(sql, sizeof sql, "%s WHERE id=?1", kinds[kind].select);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*out = row_to_json(kind, st);
		rc = *out ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	} else if (rc == STORE_DONE)
		rc = err_set(err, AIRLOCK_ENOTFOUND, "no %s with id '%s'", kinds[kind].name, id);
	store_done(st);
	return rc;
}

/* An account's before-image as SQLite writes it (book_get_many's images):
 * the keys sorted as staging's dump sorts them, every value as row_to_json
 * reads it (integers and booleans from their columns, unreadable custom
 * text as {}). NULL, so that the caller dumps the object instead, where
 * SQLite's text could read back as another value: a real whose 17 digits
 * SQLite does not read back as itself, custom text jansson would not read
 * (a NUL escape) or whose depth its limits may judge apart (long text). */
#define ACCOUNT_IMAGE_SQL                                                                       \
	"CASE WHEN arr IS NOT NULL AND CAST(printf('%!.17g',arr) AS REAL) IS NOT arr THEN NULL"  \
	" WHEN length(custom)>4000 OR instr(custom,'\\u0000')>0 THEN NULL ELSE json_object("    \
	"'arr',CASE WHEN arr IS NULL THEN NULL ELSE json(printf('%!.17g',arr)) END,"             \
	"'custom',CASE WHEN custom IS NULL THEN NULL WHEN NOT json_valid(custom) THEN"            \
	" json('{}') WHEN json_type(custom) IN ('object','array') THEN json(custom) ELSE"         \
	" json('{}') END,"                                                                       \
	"'do_not_contact',CASE WHEN do_not_contact IS NULL THEN NULL WHEN"                        \
	" CAST(do_not_contact AS INTEGER) THEN json('true') ELSE json('false') END,"              \
	"'domain',CAST(domain AS TEXT),'employees',CAST(employees AS INTEGER),"                   \
	"'id',CAST(id AS TEXT),'industry',CAST(industry AS TEXT),"                                \
	"'lifecycle',CAST(lifecycle AS TEXT),'merged_into',CAST(merged_into AS TEXT),"            \
	"'name',CAST(name AS TEXT),'owner',CAST(owner AS TEXT),'region',CAST(region AS TEXT),"   \
	"'segment',CAST(segment AS TEXT),'tier',CAST(tier AS INTEGER),"                           \
	"'updated_at',CAST(updated_at AS TEXT),'version',CAST(version AS INTEGER)) END"

int book_get_many(struct store *s, enum book_kind kind, json_t *ids, json_t *fields,
		  json_t **out, json_t **images, struct err *err)
{
	char fmt[512], list[160], sql[2048];
	struct store_stmt *st;
	json_t *o = json_object(), *im = NULL, *rec;
	int rc, text = 0;

	*out = NULL;
	if (images) {
		*images = NULL;
		text = kind == BOOK_ACCOUNT && !strcmp(store_backend_name(s), "sqlite");
		im = json_object();
	}
	if (!o || (images && !im)) {
		json_decref(o);
		json_decref(im);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	/* the image column after the fields (its SQL holds a '%': an argument,
	 * never a format) */
	if (text) {
		const char *sel = kinds[kind].select, *from = strstr(sel, " FROM ");

		rc = !from || store_sql_list(s, 1, list, sizeof list)
			 ? err_set(err, AIRLOCK_EINVAL, "internal: a list query does not fit")
			 : fmt_buf(sql, sizeof sql, err, "a list query", "%.*s,%s%s WHERE id IN %s",
				   (int)(from - sel), sel, ACCOUNT_IMAGE_SQL, from, list);
		if (!rc)
			rc = store_prepare(s, sql, &st, err);
	} else {
		rc = fmt_buf(fmt, sizeof fmt, err, "a list query", "%s WHERE id IN %%s",
			     kinds[kind].select);
		if (!rc)
			rc = store_prepare_list(s, fmt, 1, &st, err);
	}
	if (rc) {
		json_decref(o);
		json_decref(im);
		return rc;
	}
	store_bind_list(st, 1, ids);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		int nf = kinds[kind].nfields, img = text && !store_col_is_null(st, nf);

		/* a record whose image is its text needs only the fields asked for;
		 * any other is dumped whole */
		rec = row_to_json_some(kind, st, img ? fields : NULL);
		if (!rec || json_object_set_new(o, store_col_text(st, 0), rec) ||
		    (img &&
		     json_object_set_new(im, store_col_text(st, 0),
					 json_stringn_nocheck(store_col_text(st, nf),
							      (size_t)store_col_bytes(st, nf))))) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			break;
		}
	}
	store_done(st);
	if (rc < 0) {
		json_decref(o);
		json_decref(im);
		return rc;
	}
	*out = o;
	if (images)
		*images = im;
	return 0;
}

/* Binds a JSON value to a parameter according to the field's type. */
static void bind_value(struct store_stmt *st, int idx, const struct book_field *f, json_t *v)
{
	char *txt;

	if (!v || json_is_null(v))
		store_bind_null(st, idx);
	else if (f->type == BOOK_INT || f->type == BOOK_BOOL)
		store_bind_int(st, idx, json_is_boolean(v) ? json_is_true(v) : json_integer_value(v));
	else if (f->type == BOOK_REAL)
		store_bind_double(st, idx, json_number_value(v));
	else if (f->type == BOOK_JSON) {
		/* no text is out of memory, never "{}": that would erase the
		 * custom fields */
		txt = store_json_dump(v, JSON_COMPACT | JSON_SORT_KEYS);
		if (txt)
			store_bind_text(st, idx, txt);
		else
			store_bind_failed(st);
		free(txt);
	} else
		store_bind_text(st, idx, json_string_value(v));
}

/* Binds a field's value, mapping an empty value of a NOT NULL column to its
 * default (lifecycle prospect, flags false, custom {}) the same way for an
 * insert, an update and a restore, so an empty CSV cell never reaches the
 * database as a constraint error. */
static void bind_field(struct store_stmt *st, int idx, const struct book_field *f, json_t *v)
{
	int empty = !v || json_is_null(v);

	if (f->type == BOOK_JSON && !json_is_object(v))
		store_bind_text(st, idx, "{}");
	else if (empty && !strcmp(f->name, "lifecycle"))
		store_bind_text(st, idx, "prospect");
	else if (empty && f->type == BOOK_BOOL)
		store_bind_int(st, idx, 0);
	else
		bind_value(st, idx, f, v);
}

/* Normalises every built-in field of rec (types, required ones present) into
 * a fresh object. Unknown keys are an error: custom fields go under custom. */
static int normalise(enum book_kind kind, json_t *rec, int partial, json_t **out, struct err *err)
{
	const struct kind_info *k = &kinds[kind];
	const char *key;
	json_t *v, *nv, *o;
	int i, rc;

	*out = NULL;
	if (!json_is_object(rec))
		return err_set(err, AIRLOCK_EINVAL, "%s must be a JSON object", k->name);
	json_object_foreach(rec, key, v)
	{
		if (!book_field_find(kind, key))
			return err_set(err, AIRLOCK_EINVAL, "unknown %s field '%s'", k->name, key);
	}
	o = json_object();
	if (!o)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; i < k->nfields; i++) {
		const struct book_field *f = &k->fields[i];

		if (f->system && strcmp(f->name, "custom") != 0)
			continue;
		v = json_object_get(rec, f->name);
		if (!v && partial)
			continue;
		rc = book_value_check(f, v, &nv, err);
		if (rc) {
			json_decref(o);
			return rc;
		}
		/* the stored form of an empty value, so an upsert of an empty
		 * cell over the default is not seen as a change */
		if (json_is_null(nv) && !strcmp(f->name, "lifecycle"))
			nv = json_string("prospect");
		else if (json_is_null(nv) && f->type == BOOK_BOOL)
			nv = json_false();
		json_object_set_new(o, f->name, nv);
	}
	*out = o;
	return 0;
}

static int insert_norm(struct store *s, enum book_kind kind, json_t *n, const char *now,
		       struct err *err)
{
	const struct kind_info *k = &kinds[kind];
	struct store_stmt *st;
	int i, p = 0, rc;

	/* a literal, not built per row: bulk inserts (demo, import) spent more
	 * time printing this statement than SQLite spent running it */
	rc = store_prepare(s, k->insert, &st, err);
	if (rc)
		return rc;
	for (i = 0; i < k->nfields; i++) {
		const struct book_field *f = &k->fields[i];
		json_t *v = json_object_get(n, f->name);

		p = i + 1;
		if (!strcmp(f->name, "version"))
			store_bind_int(st, p, 1);
		else if (!strcmp(f->name, "updated_at"))
			store_bind_text(st, p, now);
		else
			bind_field(st, p, f, v);
	}
	rc = store_step(st, err);
	store_done(st);
	if (rc == STORE_DONE)
		return 0;
	if (rc == AIRLOCK_EINVAL && strstr(err->msg, "UNIQUE"))
		return err_set(err, AIRLOCK_EEXIST, "%s '%s' already exists", k->name,
			       json_string_value(json_object_get(n, "id")));
	if (rc == AIRLOCK_EINVAL && strstr(err->msg, "FOREIGN KEY"))
		return err_set(err, AIRLOCK_EINVAL, "account '%s' does not exist",
			       json_string_value(json_object_get(n, "account_id")));
	return rc;
}

int book_insert(struct store *s, enum book_kind kind, json_t *rec, struct err *err)
{
	char now[32];

	book_now(now, sizeof now);
	return book_insert_at(s, kind, rec, now, err);
}

int book_insert_at(struct store *s, enum book_kind kind, json_t *rec, const char *at,
		   struct err *err)
{
	char when[32];
	json_t *n;
	int rc;

	if (!at || parse_time(at, when, sizeof when))
		return err_set(err, AIRLOCK_EINVAL, "updated_at: '%s' is not a date",
			       at ? at : "");
	rc = normalise(kind, rec, 0, &n, err);
	if (rc)
		return rc;
	rc = insert_norm(s, kind, n, when, err);
	json_decref(n);
	return rc;
}

/* Builds "UPDATE t SET a=?3,b=?4,version=version+1,updated_at=?2 WHERE id=?1
 * [AND version=?N]" over the keys of n; column names come from the field
 * catalogue only, values are bound. */
static int update_norm(struct store *s, enum book_kind kind, const char *id, json_t *n,
		       int64_t expect_version, struct err *err)
{
	const struct kind_info *k = &kinds[kind];
	char sql[1024], now[32];
	size_t used;
	struct store_stmt *st;
	int i, p = 3, rc;

	used = (size_t)snprintf(sql, sizeof sql, "UPDATE %s SET ", k->table);
	for (i = 0; i < k->nfields; i++) {
		if (!json_object_get(n, k->fields[i].name) || !strcmp(k->fields[i].name, "id"))
			continue;
		used += (size_t)snprintf(sql + used, sizeof sql - used, "%s=?%d,", k->fields[i].name,
					 p++);
	}
	used += (size_t)snprintf(sql + used, sizeof sql - used,
				 "version=version+1,updated_at=?2 WHERE id=?1");
	if (expect_version >= 0)
		(void)snprintf(sql + used, sizeof sql - used, " AND version=?%d", p);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	book_now(now, sizeof now);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, now);
	p = 3;
	for (i = 0; i < k->nfields; i++) {
		json_t *v = json_object_get(n, k->fields[i].name);

		if (!v || !strcmp(k->fields[i].name, "id"))
			continue;
		bind_field(st, p++, &k->fields[i], v);
	}
	if (expect_version >= 0)
		store_bind_int(st, p, expect_version);
	rc = store_step(st, err);
	store_done(st);
	if (rc == AIRLOCK_EINVAL && strstr(err->msg, "FOREIGN KEY"))
		return err_set(err, AIRLOCK_EINVAL, "account '%s' does not exist",
			       json_string_value(json_object_get(n, "account_id")));
	if (rc != STORE_DONE)
		return rc;
	/* Zero rows means the record moved (or went) between our read and this
	 * write: reporting success would claim a change that never happened. */
	if (store_changes(s) != 1)
		return err_set(err, AIRLOCK_ECONFLICT, "%s '%s' changed while it was being updated",
			       k->name, id);
	return 0;
}

static int update_record(struct store *s, enum book_kind kind, const char *id, json_t *fields,
			 int64_t expect_version, int64_t *new_version, struct err *err)
{
	json_t *cur = NULL, *upd = NULL, *custom = NULL, *v, *nv;
	const char *key;
	int rc;

	rc = book_get(s, kind, id, &cur, err);
	if (rc)
		return rc;
	if (expect_version >= 0 &&
	    json_integer_value(json_object_get(cur, "version")) != expect_version) {
		rc = err_set(err, AIRLOCK_ECONFLICT,
			     "%s '%s' changed since it was read (version %lld, expected %lld)",
			     kinds[kind].name, id,
			     (long long)json_integer_value(json_object_get(cur, "version")),
			     (long long)expect_version);
		goto out;
	}
	upd = json_object();
	if (!upd) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	json_object_foreach(fields, key, v)
	{
		const struct book_field *f;

		if (!strncmp(key, "custom.", 7) && key[7] && kind != BOOK_SIGNAL) {
			if (!custom)
				custom = json_deep_copy(json_object_get(cur, "custom"));
			if (!custom)
				custom = json_object();
			json_object_set(custom, key + 7, v);
			continue;
		}
		f = book_field_find(kind, key);
		if (!f || f->system || !strcmp(key, "id")) {
			rc = err_set(err, AIRLOCK_EINVAL, "%s field '%s' cannot be set",
				     kinds[kind].name, key);
			goto out;
		}
		rc = book_value_check(f, v, &nv, err);
		if (rc)
			goto out;
		json_object_set_new(upd, key, nv);
	}
	if (custom)
		json_object_set(upd, "custom", custom);
	if (json_object_size(upd) == 0) {
		rc = err_set(err, AIRLOCK_EINVAL, "no fields to set");
		goto out;
	}
	rc = update_norm(s, kind, id, upd, expect_version, err);
	if (rc == 0 && new_version)
		*new_version = json_integer_value(json_object_get(cur, "version")) + 1;
out:
	json_decref(cur);
	json_decref(upd);
	json_decref(custom);
	return rc;
}

/* The read and the write of one change must share a transaction, or another
 * writer could slip between them and the version check would judge a stale
 * read. Inside the caller's transaction they already do, and the change is a
 * single statement, so only a caller without one gets one of its own (a
 * savepoint per row would slow bulk imports for nothing). */
static int own_begin(struct store *s, int *own, struct err *err)
{
	*own = !store_in_transaction(s);
	return *own ? store_begin(s, err) : 0;
}

static int own_end(struct store *s, int own, int rc, struct err *err)
{
	if (!own)
		return rc;
	if (rc) {
		store_rollback(s);
		return rc;
	}
	return store_commit(s, err);
}

int book_update(struct store *s, enum book_kind kind, const char *id, json_t *fields,
		int64_t expect_version, int64_t *new_version, struct err *err)
{
	int own, rc = own_begin(s, &own, err);

	if (rc)
		return rc;
	rc = update_record(s, kind, id, fields, expect_version, new_version, err);
	return own_end(s, own, rc, err);
}

static int upsert_record(struct store *s, enum book_kind kind, json_t *rec, int *changed,
			 struct err *err)
{
	json_t *n = NULL, *cur = NULL, *diff = NULL, *v;
	const char *key, *id;
	char now[32];
	int rc;

	rc = normalise(kind, rec, 0, &n, err);
	if (rc)
		return rc;
	id = json_string_value(json_object_get(n, "id"));
	rc = book_get(s, kind, id, &cur, err);
	if (rc == AIRLOCK_ENOTFOUND) {
		err_clear(err);
		book_now(now, sizeof now);
		rc = insert_norm(s, kind, n, now, err);
		if (rc == 0 && changed)
			*changed = 1;
		goto out;
	}
	if (rc)
		goto out;
	diff = json_object();
	json_object_foreach(n, key, v)
	{
		json_t *old = json_object_get(cur, key);

		/* only the fields rec carries: an absent one keeps its value */
		if (!strcmp(key, "id") || !json_object_get(rec, key))
			continue;
		if (!strcmp(key, "custom") && json_object_size(v) == 0)
			continue; /* a CSV without custom columns keeps the custom fields */
		if (!old || !json_equal(old, v))
			json_object_set(diff, key, v);
	}
	if (json_object_size(diff) > 0) {
		rc = update_norm(s, kind, id, diff, -1, err);
		if (rc == 0 && changed)
			*changed = 1;
	}
out:
	json_decref(n);
	json_decref(cur);
	json_decref(diff);
	return rc;
}

int book_upsert(struct store *s, enum book_kind kind, json_t *rec, int *changed, struct err *err)
{
	int own, rc;

	if (changed)
		*changed = 0;
	rc = own_begin(s, &own, err);
	if (rc)
		return rc;
	rc = own_end(s, own, upsert_record(s, kind, rec, changed, err), err);
	if (rc && changed)
		*changed = 0;
	return rc;
}

int book_restore(struct store *s, enum book_kind kind, json_t *image, int64_t new_version,
		 struct err *err)
{
	const struct kind_info *k = &kinds[kind];
	char sql[1024], now[32];
	size_t used;
	struct store_stmt *st;
	const char *id = json_string_value(json_object_get(image, "id"));
	int i, p = 3, rc;

	if (!id)
		return err_set(err, AIRLOCK_EINVAL, "%s image has no id", k->name);
	used = (size_t)snprintf(sql, sizeof sql, "UPDATE %s SET ", k->table);
	for (i = 0; i < k->nfields; i++) {
		const char *n = k->fields[i].name;

		if (!strcmp(n, "id") || !strcmp(n, "version") || !strcmp(n, "updated_at"))
			continue;
		used += (size_t)snprintf(sql + used, sizeof sql - used, "%s=?%d,", n, p++);
	}
	(void)snprintf(sql + used, sizeof sql - used, "version=?%d,updated_at=?2 WHERE id=?1", p);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	book_now(now, sizeof now);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, now);
	p = 3;
	for (i = 0; i < k->nfields; i++) {
		const struct book_field *f = &k->fields[i];

		if (!strcmp(f->name, "id") || !strcmp(f->name, "version") ||
		    !strcmp(f->name, "updated_at"))
			continue;
		bind_field(st, p++, f, json_object_get(image, f->name));
	}
	store_bind_int(st, p, new_version);
	rc = store_step(st, err);
	store_done(st);
	if (rc == STORE_DONE)
		rc = store_changes(s) == 1 ? 0
					   : err_set(err, AIRLOCK_ENOTFOUND, "no %s with id '%s'",
						     k->name, id);
	return rc;
}

/* The custom object of one record, for a change to some of its keys: *found
 * 0 when the record is gone. An unreadable one reads as empty. */
static int read_custom(struct store *s, const struct kind_info *k, const char *id, int *found,
		       json_t **out, struct err *err)
{
	char sql[96];
	struct store_stmt *st;
	int rc;

	*out = NULL;
	*found = 0;
	(void)snprintf(sql, sizeof sql, "SELECT custom FROM %s WHERE id=?1", k->table);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*found = 1;
		*out = json_loads(store_col_text(st, 0), 0, NULL);
		if (!json_is_object(*out)) {
			json_decref(*out);
			*out = json_object();
		}
		rc = *out ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	} else if (rc == STORE_DONE)
		rc = 0;
	store_done(st);
	return rc;
}

int book_change(struct store *s, enum book_kind kind, const char *id, json_t *values,
		int64_t expect_version, int *hit, struct err *err)
{
	const struct kind_info *k = &kinds[kind];
	json_t *n = json_object(), *custom = NULL, *v;
	const char *key;
	int rc = 0, oom = !n, found = 1, has_custom = book_field_find(kind, "custom") != NULL;

	*hit = 0;
	if (!json_is_object(values)) {
		rc = err_set(err, AIRLOCK_ECORRUPT, "%s '%s': the change is not an object", k->name,
			     id);
		goto out;
	}
	if (json_object_get(values, "custom")) {
		json_object_foreach(values, key, v)
		{
			if (!strncmp(key, "custom.", 7)) {
				rc = err_set(err, AIRLOCK_ECORRUPT,
					     "%s '%s': custom set whole and by key in one change",
					     k->name, id);
				goto out;
			}
		}
	}
	/* a value lost to a failed allocation would write part of the change
	 * (or empty the custom fields) and still report it made */
	json_object_foreach(values, key, v)
	{
		const struct book_field *f;

		if (!strncmp(key, "custom.", 7) && key[7] && has_custom) {
			if (!custom) {
				rc = read_custom(s, k, id, &found, &custom, err);
				if (rc || !found)
					goto out; /* gone: the caller's conflict */
			}
			if (json_object_set(custom, key + 7, v))
				oom = 1;
			continue;
		}
		f = book_field_find(kind, key);
		if (!f || !strcmp(key, "id") || !strcmp(key, "version") ||
		    !strcmp(key, "updated_at")) {
			rc = err_set(err, AIRLOCK_ECORRUPT, "%s field '%s' cannot be changed",
				     k->name, key);
			goto out;
		}
		if (json_object_set(n, key, v))
			oom = 1;
	}
	if (custom && json_object_set(n, "custom", custom))
		oom = 1;
	if (oom) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	rc = update_norm(s, kind, id, n, expect_version, err);
	if (rc == AIRLOCK_ECONFLICT) {
		err_clear(err);
		rc = 0;
	} else if (rc == 0)
		*hit = 1;
out:
	json_decref(n);
	json_decref(custom);
	return rc;
}

int book_version(struct store *s, enum book_kind kind, const char *id, int64_t *version,
		 struct err *err)
{
	char sql[96];
	struct store_stmt *st;
	int rc;

	*version = -1;
	(void)snprintf(sql, sizeof sql, "SELECT version FROM %s WHERE id=?1", kinds[kind].table);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW)
		*version = store_col_int(st, 0);
	store_done(st);
	return rc < 0 ? rc : 0;
}

int book_merged_into(struct store *s, const char *id, int *exists, char *into, size_t len,
		     struct err *err)
{
	struct store_stmt *st;
	int rc;

	*exists = 0;
	into[0] = '\0';
	rc = store_prepare(s, "SELECT merged_into FROM account WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*exists = 1;
		rc = store_col_is_null(st, 0)
			 ? 0
			 : fmt_buf(into, len, err, "merged_into id", "%s", store_col_text(st, 0));
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

int book_merged_from(struct store *s, const char *id, char *into, size_t len, struct err *err)
{
	struct store_stmt *st;
	int rc;

	into[0] = '\0';
	rc = store_prepare(s, "SELECT id FROM account WHERE merged_into=?1 LIMIT 1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW)
		rc = fmt_buf(into, len, err, "merged account id", "%s", store_col_text(st, 0));
	store_done(st);
	return rc < 0 ? rc : 0;
}

int book_owner_of(struct store *s, enum book_kind kind, const char *id, int *found, char *account,
		  size_t len, struct err *err)
{
	char sql[96];
	struct store_stmt *st;
	int rc;

	*found = 0;
	account[0] = '\0';
	if (kind == BOOK_ACCOUNT)
		return err_set(err, AIRLOCK_EINVAL, "an account belongs to no account");
	(void)snprintf(sql, sizeof sql, "SELECT account_id FROM %s WHERE id=?1", kinds[kind].table);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*found = 1;
		if (fmt_buf(account, len, err, "account id", "%s", store_col_text(st, 0)))
			rc = AIRLOCK_ECORRUPT;
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

int book_reparent(struct store *s, const char *from, const char *to, json_t *only,
		  json_t **moved, struct err *err)
{
	static const enum book_kind children[] = {BOOK_CONTACT, BOOK_SIGNAL};
	char sql[256], now[32];
	struct store_stmt *st;
	json_t *ids, *v;
	size_t i;
	int t, rc = 0;

	book_now(now, sizeof now);
	if (moved)
		*moved = json_object();
	for (t = 0; t < 2; t++) {
		const struct kind_info *k = &kinds[children[t]];

		if (only) {
			ids = json_incref(json_object_get(only, k->plural));
		} else {
			ids = json_array();
			(void)snprintf(sql, sizeof sql,
				       "SELECT id FROM %s WHERE account_id=?1 ORDER BY id", k->table);
			rc = store_prepare(s, sql, &st, err);
			if (rc) {
				json_decref(ids);
				return rc;
			}
			store_bind_text(st, 1, from);
			while ((rc = store_step(st, err)) == STORE_ROW)
				json_array_append_new(ids, json_string(store_col_text(st, 0)));
			store_done(st);
			if (rc != STORE_DONE) {
				json_decref(ids);
				return rc;
			}
			rc = 0;
		}
		(void)snprintf(
		    sql, sizeof sql,
		    "UPDATE %s SET account_id=?2,version=version+1,updated_at=?3 WHERE id=?1",
		    k->table);
		json_array_foreach(ids, i, v)
		{
			rc = store_prepare(s, sql, &st, err);
			if (rc)
				break;
			store_bind_text(st, 1, json_string_value(v));
			store_bind_text(st, 2, to);
			store_bind_text(st, 3, now);
			rc = store_step(st, err);
			store_done(st);
			if (rc != STORE_DONE)
				break;
			rc = 0;
		}
		if (moved && *moved)
			json_object_set_new(*moved, k->plural, ids ? json_incref(ids) : json_array());
		json_decref(ids);
		if (rc)
			return rc;
	}
	return 0;
}

int book_merge_breaches(struct store *s, int max, json_t *out, struct err *err)
{
	static const struct {
		const char *rule, *sql;
	} checks[] = {
		{"merge_cycle",
		 /* a merged account whose chain comes back to it: a.id = a.merged_into, or
		  * two or more accounts merged into each other */
		 "SELECT a.id, a.merged_into, b.merged_into FROM account a JOIN account b"
		 " ON b.id=a.merged_into WHERE a.merged_into IS NOT NULL AND"
		 " (a.merged_into=a.id OR b.merged_into=a.id) LIMIT ?1"},
		{"merged_into_merged",
		 "SELECT a.id, a.merged_into, b.merged_into FROM account a JOIN account b"
		 " ON b.id=a.merged_into WHERE a.merged_into IS NOT NULL AND b.merged_into IS"
		 " NOT NULL AND a.merged_into<>a.id AND b.merged_into<>a.id LIMIT ?1"},
		{"merged_into_missing",
		 "SELECT a.id, a.merged_into, NULL FROM account a LEFT JOIN account b"
		 " ON b.id=a.merged_into WHERE a.merged_into IS NOT NULL AND b.id IS NULL LIMIT ?1"},
		{"contact_on_merged",
		 "SELECT c.id, c.account_id, a.merged_into FROM contact c JOIN account a"
		 " ON a.id=c.account_id WHERE a.merged_into IS NOT NULL LIMIT ?1"},
		{"signal_on_merged",
		 "SELECT g.id, g.account_id, a.merged_into FROM signal g JOIN account a"
		 " ON a.id=g.account_id WHERE a.merged_into IS NOT NULL LIMIT ?1"},
	};
	struct store_stmt *st;
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < sizeof checks / sizeof checks[0]; i++) {
		rc = store_prepare(s, checks[i].sql, &st, err);
		if (rc)
			return rc;
		store_bind_int(st, 1, max);
		while (json_array_size(out) < (size_t)max && (rc = store_step(st, err)) == STORE_ROW)
			json_array_append_new(
			    out, json_pack("{s:s,s:s,s:s?,s:s?}", "rule", checks[i].rule, "record_id",
					   store_col_text(st, 0), "points_to",
					   store_col_is_null(st, 1) ? NULL : store_col_text(st, 1),
					   "detail",
					   store_col_is_null(st, 2) ? NULL : store_col_text(st, 2)));
		store_done(st);
		rc = rc < 0 ? rc : 0;
	}
	return rc;
}

/* The text filter matches a case-insensitive (ASCII letters) substring of
 * name or domain: lower(x) LIKE '%text%' with % _ \ escaped, text cut to
 * the pattern's room (TEXT_PAT_MAX). The trigram index (account_text)
 * narrows the rows the LIKE is tried on; it never decides a match alone. */
#define TEXT_PAT_MAX 512
/* Above this many index candidates a page ordered by id is found sooner by
 * walking the primary key (the matches are dense) than by fetching and
 * sorting every candidate. Fetching costs about 2 us a candidate and the
 * walk about 0.5 us a row it passes (1M accounts, 20 a page, 4 MB cache):
 * they meet near 2,000 candidates, at 3-5 ms either way (4,096 was up to
 * 8 ms through the index). */
#define TEXT_INDEX_MAX_CANDIDATES 2048
/* From this many candidates up to the one above, the page walks the
 * primary key in id order and tests each entry's rowid against the
 * candidates before reading its row (the rowid is in the index entry; a
 * test costs ~30 ns against ~2 us for a row read at random): the walk
 * stops after a page of matches, ~20/C of the book in. Below it, reading
 * every candidate is cheaper. At 1M accounts, 1,024-2,047 candidates: a
 * page in 2.1 ms instead of 3.6-3.9 (median, in-process; 512-1,023 were
 * slower walking: bench/README.md, round 4 of issue 15). */
#define TEXT_INDEX_FETCH_MAX 1024

int book_text_fetch_max = TEXT_INDEX_FETCH_MAX;
int book_text_index_max = TEXT_INDEX_MAX_CANDIDATES;

/* A page whose book keeps its rowids in id order (account_order, schema.c
 * migration 9) reads the index's candidates in rowid order, which is then
 * id order, and stops after a page of matches: no candidate is read beyond
 * them, whatever their number (at 1M accounts a page of a hit in ~0.1-0.3
 * ms CPU, against 2-5 ms fetching or walking: bench/README.md, round 5 of
 * issue 15). t.r is the candidate's rowid. */
#define TEXT_STREAM_FROM                                                                   \
	"(SELECT rowid AS r FROM account_text WHERE account_text MATCH ?10 ORDER BY rowid) AS t" \
	" CROSS JOIN account ON account.rowid = t.r"

struct text_plan {
	int use_index;
	/* a plain page's query leaves merged accounts in: its loop leaves them
	 * out, and keeps their objects (book_search_json) */
	int merged_in_c;
	int stream; /* candidates in id order, the page stops early (above) */
	int walk_ids; /* rowids: walk the primary key, test them (see above) */
	/* no text, and rowid order is id order: a page walks the table from
	 * the cursor's row, not the id index with a lookup of every row in
	 * the table (a page of 20: ~6 us less) */
	int rowid_walk;
	/* for a page: the candidates' rowids as a JSON array, read once from
	 * the index (not a second time by the page's query); else NULL */
	char *rowids;
	char pat[TEXT_PAT_MAX];          /* the LIKE pattern */
	char match[2 * TEXT_PAT_MAX + 32]; /* the index query, when use_index */
};

static void text_pattern(const char *text, char *pat)
{
	size_t i, o = 0;

	pat[o++] = '%';
	for (i = 0; text[i] && o < TEXT_PAT_MAX - 3; i++) {
		char c = text[i];

		if (c == '%' || c == '_' || c == '\\')
			pat[o++] = '\\';
		pat[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	/* cut inside a character: drop its first bytes too (PostgreSQL refuses
	 * a pattern that is not UTF-8; SQLite never matched half of one) */
	if (text[i] && ((unsigned char)text[i] & 0xc0) == 0x80) {
		while (o > 1 && ((unsigned char)pat[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 1 && (unsigned char)pat[o - 1] >= 0xc0)
			o--;
	}
	pat[o++] = '%';
	pat[o] = '\0';
}

/* Characters in the UTF-8 text s[0..n), or -1 when it is not valid UTF-8. */
static long utf8_chars(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	long chars = 0;

	while (i < n) {
		if (s[i] < 0x80)
			len = 1;
		else if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4;
		else
			return -1;
		if (len > n - i)
			return -1;
		for (k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return -1;
		i += len;
		chars++;
	}
	return chars;
}

/* Trigrams asked of the index at most: a long text is narrowed enough by
 * a spread of them, and the query's cost stays bounded. */
#define TEXT_MATCH_TRIGRAMS 16

/* The index query for the pattern's text: the AND of its trigrams, each a
 * quoted string (so no character of the text is query syntax), which is a
 * superset of "contains this substring" (case folded, in name or domain:
 * detail=none has no positions or columns; the LIKE decides). 0 when the
 * index cannot narrow it: fewer than three characters (no trigram), or not
 * valid UTF-8. A text cut short inside a character is searched without
 * that character (a prefix finds a superset too). */
static int text_match(const char *pat, char *match, size_t len)
{
	char needle[TEXT_PAT_MAX];
	size_t start[TEXT_PAT_MAX + 1];
	size_t i, n = 0, o = 0, nc = 0, k, t, ntri, pick, prev = (size_t)-1;

	for (i = 1; pat[i] && pat[i + 1]; i++) { /* between the two '%' */
		if (pat[i] == '\\')
			i++;
		needle[n++] = pat[i];
	}
	/* drop a trailing partial character */
	for (i = n; i > 0 && i + 4 > n; i--) {
		unsigned char c = (unsigned char)needle[i - 1];

		if (c >= 0xc0) {
			size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

			if (n - (i - 1) < want)
				n = i - 1;
			break;
		}
		if (c < 0x80)
			break;
	}
	if (utf8_chars((const unsigned char *)needle, n) < 3)
		return 0;
	for (i = 0; i < n; i++) /* valid UTF-8: a character starts at each non-continuation byte */
		if (((unsigned char)needle[i] & 0xc0) != 0x80)
			start[nc++] = i;
	start[nc] = n;
	ntri = nc - 2;
	for (t = 0; t < TEXT_MATCH_TRIGRAMS && t < ntri; t++) {
		/* evenly spread over the text, first and last included */
		pick = ntri <= TEXT_MATCH_TRIGRAMS ? t : t * (ntri - 1) / (TEXT_MATCH_TRIGRAMS - 1);
		if (pick == prev)
			continue;
		prev = pick;
		if (o + 2 > len)
			return 0;
		if (o)
			match[o++] = ' ';
		match[o++] = '"';
		for (k = start[pick]; k < start[pick + 3]; k++) {
			if (o + 3 > len)
				return 0;
			if (needle[k] == '"')
				match[o++] = '"';
			match[o++] = needle[k];
		}
		if (o + 2 > len)
			return 0;
		match[o++] = '"';
	}
	match[o] = '\0';
	return 1;
}

/* Decides how the text filter of q runs. ordered_page: the query reads one
 * page ordered by id (q->limit > 0), where many candidates favour the walk;
 * PAGE_BY_ROWID (book_search_json's pages): such a page without text may
 * also walk the table by rowid (rowid_walk). book_search keeps the id
 * index's walk: the reference the tests hold the pages to. */
#define PAGE_BY_ROWID 2
static int text_plan_make(struct store *s, const struct book_query *q, int ordered_page,
			  struct text_plan *p, struct err *err)
{
	struct store_stmt *st;
	int64_t n = 0;
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	int rc, behind;

	p->use_index = 0;
	p->stream = 0;
	p->walk_ids = 0;
	p->rowid_walk = 0;
	p->merged_in_c = 0;
	p->rowids = NULL;
	if (!q->text) {
		if (ordered_page != PAGE_BY_ROWID || strcmp(store_backend_name(s), "sqlite") != 0)
			return 0;
		rc = store_query_int(s, "SELECT in_id_order FROM account_order", &n, err);
		p->rowid_walk = rc == 0 && n == 1;
		return rc;
	}
	text_pattern(q->text, p->pat);
	/* the trigram index is SQLite's FTS5 (schema.c, 4): on another engine
	 * the LIKE alone filters */
	if (strcmp(store_backend_name(s), "sqlite") != 0)
		return 0;
	if (!text_match(p->pat, p->match, sizeof p->match))
		return 0;
	/* after a bulk load, until the index is built: the scan alone */
	rc = book_text_index_behind(s, &behind, err);
	if (rc || behind)
		return rc;
	if (ordered_page) {
		rc = store_query_int(s, "SELECT in_id_order FROM account_order", &n, err);
		if (rc)
			return rc;
		if (n == 1) {
			p->stream = 1;
			p->use_index = 1;
			return 0;
		}
		n = 0;
		rc = store_prepare(s, "SELECT rowid FROM account_text WHERE account_text MATCH ?1 LIMIT ?2",
				   &st, err);
		if (rc)
			return rc;
		store_bind_text(st, 1, p->match);
		store_bind_int(st, 2, book_text_index_max);
		while ((rc = store_step(st, err)) == STORE_ROW) {
			if (cap - len < 24) { /* "," and an int64 */
				cap = cap ? 2 * cap : 4096;
				nb = realloc(buf, cap);
				if (!nb) {
					rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
					break;
				}
				buf = nb;
			}
			len += (size_t)snprintf(buf + len, cap - len, "%c%lld", n ? ',' : '[',
						(long long)store_col_int(st, 0));
			n++;
		}
		store_done(st);
		if (rc < 0 || n >= book_text_index_max) {
			free(buf);
			return rc < 0 ? rc : 0;
		}
		if (!n) { /* no candidate: an empty page, still through the LIKE */
			free(buf);
			buf = strdup("[]");
		} else
			memcpy(buf + len, "]", 2);
		if (!buf)
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		p->rowids = buf;
		p->walk_ids = n >= book_text_fetch_max;
	}
	p->use_index = 1;
	return 0;
}

static void text_plan_free(struct text_plan *p)
{
	free(p->rowids);
	p->rowids = NULL;
}

/* WHERE clause for a query; parameters are numbered in a fixed order so the
 * statement text depends only on which filters are present. */
static void query_where(const struct book_query *q, const struct text_plan *tp, char *buf,
			size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
#define ADD(cond) used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " AND " : " WHERE ", cond)
	if (q->text && tp->stream && q->after)
		/* the index's walk starts at the first id after the cursor
		 * (none: no row; id>?8 below still decides) */
		ADD("t.r >= (SELECT rowid FROM account WHERE id>?8 ORDER BY id LIMIT 1)");
	else if (q->text && tp->stream)
		; /* the candidates are the FROM (TEXT_STREAM_FROM) */
	else if (q->text && tp->use_index && tp->rowids && tp->walk_ids)
		/* '+': not a rowid lookup; tested on the id walk's entries */
		ADD("+rowid IN (SELECT value FROM json_each(?10))");
	else if (q->text && tp->use_index && tp->rowids)
		ADD("rowid IN (SELECT value FROM json_each(?10))");
	else if (q->text && tp->use_index)
		ADD("rowid IN (SELECT rowid FROM account_text WHERE account_text MATCH ?10)");
	else if (tp->rowid_walk && q->after)
		ADD("rowid >= (SELECT rowid FROM account WHERE id>?8 ORDER BY id LIMIT 1)");
	if (q->segment)
		ADD("segment=?1");
	if (q->region)
		ADD("region=?2");
	if (q->lifecycle)
		ADD("lifecycle=?3");
	if (q->owner)
		ADD("owner=?4");
	if (q->industry)
		ADD("industry=?5");
	if (q->text)
		ADD("(lower(name) LIKE ?6 ESCAPE '\\' OR lower(coalesce(domain,'')) LIKE ?6 ESCAPE '\\')");
	if (q->tier)
		ADD("tier=?7");
	if (q->after)
		ADD("id>?8");
	if (!q->include_merged && !tp->merged_in_c)
		ADD("merged_into IS NULL");
#undef ADD
}

static void query_bind(struct store_stmt *st, const struct book_query *q,
		       const struct text_plan *tp, int with_limit)
{
	if (q->segment)
		store_bind_text(st, 1, q->segment);
	if (q->region)
		store_bind_text(st, 2, q->region);
	if (q->lifecycle)
		store_bind_text(st, 3, q->lifecycle);
	if (q->owner)
		store_bind_text(st, 4, q->owner);
	if (q->industry)
		store_bind_text(st, 5, q->industry);
	if (q->text) {
		store_bind_text(st, 6, tp->pat);
		if (tp->use_index)
			store_bind_text(st, 10, tp->rowids ? tp->rowids : tp->match);
	}
	if (q->tier)
		store_bind_int(st, 7, q->tier);
	if (q->after)
		store_bind_text(st, 8, q->after);
	if (with_limit && q->limit > 0)
		store_bind_int(st, 9, q->limit);
}

int book_search(struct store *s, const struct book_query *q, json_t **out, struct err *err)
{
	char where[768], sql[1536];
	struct text_plan tp;
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc = text_plan_make(s, q, q->limit > 0, &tp, err);
	if (rc)
		return rc;
	query_where(q, &tp, where, sizeof where);
	/* the limit is bound, not printed: the statement cache keeps one
	 * statement per distinct text, and limits vary per call */
	/* a cut statement could still prepare and mean something else */
	if (q->limit > 0 && tp.stream) {
		/* the columns of select, read from the index's candidates */
		const char *sel = kinds[BOOK_ACCOUNT].select;
		size_t cols = strlen(sel) - strlen(" FROM account");

		rc = fmt_buf(sql, sizeof sql, err, "account query",
			     "%.*s FROM " TEXT_STREAM_FROM "%s ORDER BY t.r LIMIT ?9", (int)cols, sel,
			     where);
	} else if (q->limit > 0)
		rc = fmt_buf(sql, sizeof sql, err, "account query", "%s%s ORDER BY id LIMIT ?9",
			     kinds[BOOK_ACCOUNT].select, where);
	else
		rc = fmt_buf(sql, sizeof sql, err, "account query", "%s%s ORDER BY id",
			     kinds[BOOK_ACCOUNT].select, where);
	if (rc) {
		text_plan_free(&tp);
		return rc;
	}
	rc = store_prepare(s, sql, &st, err);
	if (rc) {
		text_plan_free(&tp);
		return rc;
	}
	query_bind(st, q, &tp, 1);
	text_plan_free(&tp);
	{
		enum book_kind k = BOOK_ACCOUNT;

		return store_collect(st, kind_row, &k, out, err);
	}
}

/* A growing buffer for one page of JSON; oom set once malloc fails. */
struct jbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static int jb_grow(struct jbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 8192;
	char *np;

	if (b->oom)
		return -1;
	while (cap < b->len + n + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->oom = 1;
		b->cap = 0; /* nothing more is written */
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

/* jb_grow unless there is room already: checked inline, as this runs a
 * few hundred times a page (after a failure cap is 0: every later call
 * fails too) */
static inline int jb_room(struct jbuf *b, size_t n)
{
	return b->len + n + 1 <= b->cap ? 0 : jb_grow(b, n);
}

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (jb_room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* s as a JSON string: quotes, backslashes and control characters escaped,
 * other bytes as they are (as SQLite's JSON functions write them). */
static void jb_string(struct jbuf *b, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run;
	char *w;

	if (jb_room(b, 6 * n + 2))
		return;
	w = b->p + b->len;
	*w++ = '"';
	for (i = 0; i < n;) {
		for (run = i; run < n && s[run] >= 0x20 && s[run] != '"' && s[run] != '\\'; run++)
			;
		memcpy(w, s + i, run - i);
		w += run - i;
		if (run == n)
			break;
		*w++ = '\\';
		switch (s[run]) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '\n': *w++ = 'n'; break;
		case '\r': *w++ = 'r'; break;
		case '\t': *w++ = 't'; break;
		case '\b': *w++ = 'b'; break;
		case '\f': *w++ = 'f'; break;
		default:
			memcpy(w, "u00", 3);
			w[3] = hex[s[run] >> 4];
			w[4] = hex[s[run] & 15];
			w += 5;
		}
		i = run + 1;
	}
	*w++ = '"';
	b->len = (size_t)(w - b->p);
}

static void jb_int(struct jbuf *b, int64_t v)
{
	char tmp[24], *e = tmp + sizeof tmp, *p = e;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	jb_put(b, p, (size_t)(e - p));
}

/* The value of column i of st as row_to_json would make field f: typed
 * integers, reals and booleans, NULL as null, the JSON column already made
 * valid by the query (an unreadable one is {}). */
static void jb_field(struct jbuf *b, const struct book_field *f, struct store_stmt *st, int i)
{
	const char *t;
	char num[64];
	double d;
	int64_t v;
	size_t n;

	if (f->type != BOOK_INT && f->type != BOOK_BOOL && f->type != BOOK_REAL) {
		/* text (JSON included): NULL only for SQL NULL */
		t = store_col_text_len(st, i, &n);
		if (!t)
			jb_put(b, "null", 4);
		else if (f->type == BOOK_JSON)
			jb_put(b, t, n);
		else
			jb_string(b, (const unsigned char *)t, n);
		return;
	}
	if (f->type == BOOK_REAL ? store_col_double_null(st, i, &d) : store_col_int_null(st, i, &v)) {
		jb_put(b, "null", 4);
		return;
	}
	if (f->type == BOOK_INT) {
		jb_int(b, v);
	} else if (f->type == BOOK_BOOL) {
		if (v)
			jb_put(b, "true", 4);
		else
			jb_put(b, "false", 5);
	} else {
		if (!isfinite(d)) {
			jb_put(b, "null", 4);
		} else if (fabs(d) < 1e15 && d == (double)(int64_t)d && !(d == 0 && signbit(d))) {
			/* what %!.15g makes of a whole number, without printf */
			jb_int(b, (int64_t)d);
			jb_put(b, ".0", 2);
		} else {
			store_real_json(d, num, sizeof num);
			jb_put(b, num, strlen(num));
		}
	}
}

/* "id,name,...": the account's columns, the JSON one made valid in SQL
 * ('{}' without a parse, as most records have no custom fields) in the
 * engine's own form (store_sql_json_text). */
static int account_columns(const struct store *s, char *buf, size_t len)
{
	const struct kind_info *k = &kinds[BOOK_ACCOUNT];
	char expr[256];
	size_t used = 0;
	int i, n;

	for (i = 0; i < k->nfields; i++) {
		const char *c = k->fields[i].name;

		if (k->fields[i].type == BOOK_JSON) {
			if (store_sql_json_text(s, c, expr, sizeof expr))
				return -1;
			c = expr;
		}
		n = snprintf(buf + used, len - used, "%s%s", i ? "," : "", c);
		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

/* Each field's '"name":', built once for the process. */
static char account_keys[NFIELDS(account_fields)][32];
static size_t account_key_len[NFIELDS(account_fields)];
static int account_cols_rc;
static pthread_once_t account_cols_once = PTHREAD_ONCE_INIT;

static int account_merged_col = -1; /* merged_into's column in a page's query */

static void build_account_cols(void)
{
	size_t i;

	for (i = 0; i < NFIELDS(account_fields); i++) {
		int n = snprintf(account_keys[i], sizeof account_keys[i], "%s\"%s\":",
				 i ? "," : "", account_fields[i].name);

		if (strcmp(account_fields[i].name, "merged_into") == 0)
			account_merged_col = (int)i;

		if (n < 0 || n >= (int)sizeof account_keys[i])
			account_cols_rc = -1;
		else
			account_key_len[i] = (size_t)n;
	}
}

/* account_columns, made once per engine for the process: 16 fields
 * printed for every page were a tenth of a page's own work. */
static pthread_mutex_t account_cols_lock = PTHREAD_MUTEX_INITIALIZER;
static char account_cols_of[2][1024];
static int account_cols_made[2];

static int account_columns_cached(const struct store *s, const char **out)
{
	int e = strcmp(store_backend_name(s), "sqlite") != 0, rc = 0;

	pthread_mutex_lock(&account_cols_lock);
	if (!account_cols_made[e]) {
		rc = account_columns(s, account_cols_of[e], sizeof account_cols_of[e]);
		account_cols_made[e] = rc == 0;
	}
	pthread_mutex_unlock(&account_cols_lock);
	*out = account_cols_of[e];
	return rc;
}

/* The page's ids and the book's generation from the snapshot, and the page
 * written from book_cache when every object is kept (book_cache.h).
 * plain: a page with no filter but its cursor, whose ids come from the id
 * index alone (no row of the table is read) and whose merged accounts are
 * left out by their kept objects; any other page's query (where) decides
 * its ids itself, LIMIT ?9 included. The ids are read a page's worth at a
 * time (a run of merged accounts only asks for more). Returns 1 when the
 * page is written (count, more, last_id set), 0 when it is to be written
 * from its columns (nothing written), or an error. */
#define PAGE_GEN "(SELECT n FROM book_gen)"
static int page_from_cache(struct store *s, const char *where, int plain,
			   const struct book_query *q1, const struct text_plan *tp, struct jbuf *b,
			   struct book_page *page, struct err *err)
{
	char sql[1024], ids[4096];
	const char *id[256];
	size_t len[256], count = 0, last, want = (size_t)q1->limit - 1, start = b->len;
	struct store_stmt *st;
	int64_t gen = 0;
	int rc, more = 0, ended = 0;

	if (want + 1 > sizeof id / sizeof id[0] || b->oom)
		return 0;
	if (plain)
		rc = fmt_buf(sql, sizeof sql, err, "account page ids query",
			     "SELECT id," PAGE_GEN " FROM account%s ORDER BY id",
			     q1->after ? " WHERE id>?8" : "");
	else if (tp->stream)
		rc = fmt_buf(sql, sizeof sql, err, "account page ids query",
			     "SELECT id," PAGE_GEN " FROM " TEXT_STREAM_FROM "%s ORDER BY t.r LIMIT ?9",
			     where);
	else
		rc = fmt_buf(sql, sizeof sql, err, "account page ids query",
			     "SELECT id," PAGE_GEN " FROM account%s ORDER BY %s LIMIT ?9", where,
			     tp->rowid_walk ? "rowid" : "id");
	if (rc)
		return rc;
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	query_bind(st, q1, tp, !plain);
	while (!more && !ended) {
		size_t n = 0, used = 0, chunk = (count < want ? want - count : 0) + 1;

		while (n < chunk) {
			const char *v;
			size_t vl;

			rc = store_step(st, err);
			if (rc == STORE_DONE) {
				ended = 1;
				break;
			}
			if (rc != STORE_ROW) {
				if (rc >= 0)
					rc = err_set(err, AIRLOCK_EIO, "unexpected end of rows");
				goto unwritten;
			}
			v = store_col_text(st, 0);
			vl = v ? strlen(v) : 0;
			gen = store_col_int(st, 1);
			if (vl > BOOK_ID_MAX || used + vl > sizeof ids) {
				/* a page of long ids: written from its columns */
				rc = 0;
				goto unwritten;
			}
			memcpy(ids + used, v, vl);
			id[n] = ids + used;
			len[n++] = vl;
			used += vl;
		}
		if (!n)
			break;
		rc = book_cache_write(gen, id, len, n, q1->include_merged, want, &b->p, &b->len,
				      &b->cap, &count, &more, &last);
		if (rc < 0)
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		if (rc <= 0)
			goto unwritten;
		if (last != SIZE_MAX) {
			memcpy(page->last_id, id[last], len[last]);
			page->last_id[len[last]] = '\0';
		}
	}
	store_done(st);
	book_cache_hit();
	page->count = count;
	page->more = more;
	return 1;
unwritten: /* nothing of it stays: the page is written from its columns */
	store_done(st);
	b->len = start;
	page->last_id[0] = '\0';
	return rc;
}

int book_search_json(struct store *s, const struct book_query *q, struct book_page *page,
		     struct err *err)
{
	const struct kind_info *k = &kinds[BOOK_ACCOUNT];
	char where[768], sql[2048];
	const char *account_cols;
	struct book_query q1 = *q;
	struct text_plan tp = {0};
	struct store_stmt *st;
	struct jbuf b = {0};
	const char *id;
	size_t id_len;
	int rc, i, kept = 1, look;
	/* SQLite's book only: its triggers move book_gen with every UPDATE or
	 * DELETE (schema.c, 62); PostgreSQL's pages are written from their
	 * columns every time */
	int cache = book_cache_bytes && strcmp(store_backend_name(s), "sqlite") == 0;
	/* no filter but the cursor: the ids from the id index alone, merged
	 * accounts left out here, not by the query (page_from_cache) */
	int plain = cache && !q->text && !q->segment && !q->region && !q->lifecycle &&
		    !q->owner && !q->industry && !q->tier;

	memset(page, 0, sizeof *page);
	if (q->limit < 1)
		return err_set(err, AIRLOCK_EINVAL, "a page needs a limit of at least 1");
	pthread_once(&account_cols_once, build_account_cols);
	if (account_cols_rc || account_columns_cached(s, &account_cols))
		return err_set(err, AIRLOCK_EINVAL, "internal: the account's columns are too long");
	if (account_merged_col < 0)
		return err_set(err, AIRLOCK_EINVAL, "internal: the account has no merged_into field");
	q1.limit = q->limit + 1; /* one more tells whether a next page exists */
	if (q->json_head)
		jb_put(&b, q->json_head, strlen(q->json_head));
	jb_put(&b, "[", 1);
	look = cache && book_cache_worth_trying();
	if (look && plain) {
		rc = page_from_cache(s, "", 1, &q1, &tp, &b, page, err);
		if (rc < 0)
			goto failed;
		if (rc) {
			rc = STORE_DONE;
			goto written;
		}
	}
	rc = text_plan_make(s, q, PAGE_BY_ROWID, &tp, err);
	if (rc)
		goto failed;
	tp.merged_in_c = plain && !q->include_merged;
	query_where(q, &tp, where, sizeof where);
	if (tp.stream) /* rowid order is id order (TEXT_STREAM_FROM) */
		rc = fmt_buf(sql, sizeof sql, err, "account page query",
			     "SELECT %s%s FROM " TEXT_STREAM_FROM "%s ORDER BY t.r LIMIT ?9",
			     account_cols, cache ? "," PAGE_GEN : "", where);
	else
		rc = fmt_buf(sql, sizeof sql, err, "account page query",
			     "SELECT %s%s FROM account%s ORDER BY %s LIMIT ?9", account_cols,
			     cache ? "," PAGE_GEN : "", where, tp.rowid_walk ? "rowid" : "id");
	if (rc == 0 && look && !plain) {
		rc = page_from_cache(s, where, 0, &q1, &tp, &b, page, err);
		if (rc > 0) {
			text_plan_free(&tp);
			rc = STORE_DONE;
			goto written;
		}
	}
	if (rc == 0)
		rc = store_prepare(s, sql, &st, err);
	if (rc)
		goto failed;
	/* merged accounts left out here: no limit, the walk stops once the
	 * page and the one after it are known */
	if (tp.merged_in_c)
		q1.limit = INT_MAX;
	query_bind(st, &q1, &tp, 1);
	text_plan_free(&tp);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		size_t start;
		/* merged into another: kept as such; left off a plain page here */
		int was_merged = cache && !store_col_is_null(st, account_merged_col);
		int merged = tp.merged_in_c && was_merged;
		/* the row after the page: there is a next page. Its object is
		 * kept too (a page from the cache looks it up), not written. */
		int after = !merged && page->count == (size_t)q->limit;

		if (after)
			page->more = 1;
		if (after && !cache) {
			rc = STORE_DONE;
			break;
		}
		if (!after && !merged && page->count++)
			jb_put(&b, ",", 1);
		start = b.len;
		jb_put(&b, "{", 1);
		for (i = 0; i < k->nfields; i++) {
			/* the key's whole slot copied (a fixed size: no call), the
			 * text kept up to its length */
			if (jb_room(&b, sizeof account_keys[i]))
				break;
			memcpy(b.p + b.len, account_keys[i], sizeof account_keys[i]);
			b.len += account_key_len[i];
			jb_field(&b, &k->fields[i], st, i);
		}
		jb_put(&b, "}", 1);
		id = store_col_text(st, 0);
		id_len = id ? strlen(id) : 0;
		if (cache && !b.oom)
			kept &= book_cache_put(store_col_int(st, k->nfields), id, id_len,
					       b.p + start, b.len - start, was_merged);
		if (merged || after) { /* kept, not on the page */
			b.len = start;
			if (after) {
				rc = STORE_DONE;
				break;
			}
			continue;
		}
		/* a cut cursor would resume the next page at the wrong record
		 * (copied, not printed: this runs for every row) */
		if (id_len >= sizeof page->last_id) {
			(void)err_set(err, AIRLOCK_EINVAL,
				      "account id is too long (%zu bytes, at most %zu)", id_len,
				      sizeof page->last_id - 1);
			rc = AIRLOCK_ECORRUPT;
			break;
		}
		if (id_len)
			memcpy(page->last_id, id, id_len);
		page->last_id[id_len] = '\0';
	}
	store_done(st);
	if (cache && kept && page->count && rc == STORE_DONE)
		book_cache_all_kept();
written:
	jb_put(&b, "]", 1);
	if (b.oom && rc == STORE_DONE)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (rc != STORE_DONE) {
		free(b.p);
		memset(page, 0, sizeof *page);
		return rc < 0 ? rc : err_set(err, AIRLOCK_EIO, "unexpected end of rows");
	}
	b.p[b.len] = '\0';
	page->json = b.p;
	page->len = b.len;
	page->cap = b.cap;
	return 0;
failed:
	text_plan_free(&tp);
	free(b.p);
	memset(page, 0, sizeof *page);
	return rc;
}

int book_count(struct store *s, const struct book_query *q, int64_t *out, struct err *err)
{
	char where[768], sql[1024];
	struct text_plan tp;
	struct store_stmt *st;
	int rc;

	*out = 0;
	rc = text_plan_make(s, q, 0, &tp, err);
	if (rc)
		return rc;
	query_where(q, &tp, where, sizeof where);
	rc = fmt_buf(sql, sizeof sql, err, "account count query", "SELECT count(*) FROM account%s",
		     where);
	if (rc) {
		text_plan_free(&tp);
		return rc;
	}
	rc = store_prepare(s, sql, &st, err);
	if (rc) {
		text_plan_free(&tp);
		return rc;
	}
	query_bind(st, q, &tp, 0);
	text_plan_free(&tp);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*out = store_col_int(st, 0);
		rc = 0;
	}
	store_done(st);
	return rc;
}

static int collect(struct store *s, enum book_kind kind, const char *sql, const char *a,
		   const char *b, int limit, json_t **out, struct err *err)
{
	struct store_stmt *st;
	int rc;

	*out = NULL;
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	if (a)
		store_bind_text(st, 1, a);
	if (b)
		store_bind_text(st, 2, b);
	store_bind_int(st, 3, limit > 0 ? limit : INT64_MAX); /* no limit, in both engines */
	return store_collect(st, kind_row, &kind, out, err);
}

int book_contacts(struct store *s, const char *account_id, json_t **out, struct err *err)
{
	return collect(s, BOOK_CONTACT,
		       "SELECT id,account_id,name,email,title,do_not_contact,unsubscribed,custom,"
		       "version,updated_at FROM contact WHERE account_id=?1 ORDER BY id LIMIT ?3",
		       account_id, NULL, 0, out, err);
}

int book_values(struct store *s, const char *what, int max, json_t **out, struct err *err)
{
	static const struct {
		const char *what, *sql;
	} q[] = {
	    {"region", "SELECT DISTINCT region FROM account WHERE region IS NOT NULL AND"
		       " region<>'' ORDER BY 1 LIMIT ?1"},
	    {"segment", "SELECT DISTINCT segment FROM account WHERE segment IS NOT NULL AND"
			" segment<>'' ORDER BY 1 LIMIT ?1"},
	    {"lifecycle", "SELECT DISTINCT lifecycle FROM account WHERE lifecycle IS NOT NULL AND"
			  " lifecycle<>'' ORDER BY 1 LIMIT ?1"},
	    {"kind", "SELECT DISTINCT kind FROM signal WHERE kind IS NOT NULL AND kind<>''"
		     " ORDER BY 1 LIMIT ?1"},
	};
	struct store_stmt *st;
	json_t *list;
	size_t i;
	int rc, oom = 0;

	*out = NULL;
	for (i = 0; i < sizeof q / sizeof q[0] && strcmp(q[i].what, what); i++)
		;
	if (i == sizeof q / sizeof q[0])
		return err_set(err, AIRLOCK_EINVAL, "internal: no values of '%s'", what);
	rc = store_prepare(s, q[i].sql, &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, (int64_t)max + 1); /* one more: to know there are too many */
	list = json_array();
	while (list && (rc = store_step(st, err)) == STORE_ROW) {
		/* a value that is not UTF-8 cannot be an enum member: left out */
		json_t *v = store_col_text(st, 0) ? json_string(store_col_text(st, 0)) : NULL;

		if (v && json_array_append_new(list, v)) {
			oom = 1;
			break;
		}
	}
	store_done(st);
	if (!list || oom) {
		json_decref(list);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	if (rc != STORE_DONE) {
		json_decref(list);
		return rc;
	}
	if ((int)json_array_size(list) > max) {
		json_decref(list);
		return 0;
	}
	*out = list;
	return 0;
}

int book_spelling(struct store *s, const char *what, const char *value, char *buf, size_t len,
		  struct err *err)
{
	struct store_stmt *st;
	const char *sql, *got;
	int rc;

	if (!strcmp(what, "region"))
		sql = "SELECT region FROM account WHERE lower(region)=lower(?1) LIMIT 1";
	else if (!strcmp(what, "kind"))
		sql = "SELECT kind FROM signal WHERE lower(kind)=lower(?1) LIMIT 1";
	else
		return err_set(err, AIRLOCK_EINVAL, "internal: no spelling of '%s'", what);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, value);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		got = store_col_text(st, 0);
		rc = got && strlen(got) < len;
		if (rc)
			(void)snprintf(buf, len, "%s", got); /* length checked above */
	} else if (rc == STORE_DONE)
		rc = 0;
	store_done(st);
	return rc;
}

int book_signals(struct store *s, const char *account_id, const char *kind, int limit,
		 json_t **out, struct err *err)
{
	const char *sql;

	if (account_id && kind)
		sql = "SELECT id,account_id,kind,observed_at,detail,version,updated_at FROM signal"
		      " WHERE account_id=?1 AND kind=?2 ORDER BY observed_at DESC, id LIMIT ?3";
	else if (account_id)
		sql = "SELECT id,account_id,kind,observed_at,detail,version,updated_at FROM signal"
		      " WHERE account_id=?1 ORDER BY observed_at DESC, id LIMIT ?3";
	else if (kind)
		sql = "SELECT id,account_id,kind,observed_at,detail,version,updated_at FROM signal"
		      " WHERE kind=?2 ORDER BY observed_at DESC, id LIMIT ?3";
	else
		sql = "SELECT id,account_id,kind,observed_at,detail,version,updated_at FROM signal"
		      " ORDER BY observed_at DESC, id LIMIT ?3";
	return collect(s, BOOK_SIGNAL, sql, account_id, kind, limit, out, err);
}

/* The verdict on one citation, given the account the signal is about (NULL:
 * no such signal). */
static enum book_evidence evidence_verdict(const char *a, int found, const char *account_id,
					   char *owner, size_t owner_len)
{
	if (owner_len)
		owner[0] = '\0';
	if (!found)
		return BOOK_EVIDENCE_NOT_FOUND;
	if (owner_len) /* shown in a message only, never compared */
		(void)snprintf(owner, owner_len, "%s", a ? a : "");
	return a && account_id && strcmp(a, account_id) == 0 ? BOOK_EVIDENCE_OK
							     : BOOK_EVIDENCE_OTHER_RECORD;
}

int book_evidence_check(struct store *s, const char *account_id, const char *signal_id,
			enum book_evidence *verdict, char *owner, size_t owner_len,
			struct err *err)
{
	struct store_stmt *st;
	int rc;

	*verdict = evidence_verdict(NULL, 0, account_id, owner, owner_len);
	rc = store_prepare(s, "SELECT account_id FROM signal WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, signal_id);
	rc = store_step(st, err);
	if (rc == STORE_ROW)
		*verdict = evidence_verdict(store_col_text(st, 0), 1, account_id, owner, owner_len);
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* Runs a two-column query over one list parameter (?1) into {col0: col1}. */
static int pairs_of(struct store *s, const char *fmt, json_t *ids, json_t **out, struct err *err)
{
	struct store_stmt *st;
	json_t *o = json_object(), *v;
	int rc;

	*out = NULL;
	if (!o)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = store_prepare_list(s, fmt, 1, &st, err);
	if (rc) {
		json_decref(o);
		return rc;
	}
	store_bind_list(st, 1, ids);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		const char *a = store_col_text(st, 0), *b = store_col_text(st, 1);

		v = b ? json_string(b) : json_null();
		if (!a || !v || json_object_set_new(o, a, v)) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			break;
		}
	}
	store_done(st);
	if (rc < 0) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

int book_evidence_owners(struct store *s, json_t *signal_ids, json_t **out, struct err *err)
{
	/* one descent of signal_owner per signal (migration 28), not the id
	 * index and then the table: SQLite's planner takes the unique id index
	 * unless told; PostgreSQL's chooses by cost and knows no INDEXED BY */
	return pairs_of(s,
			strcmp(store_backend_name(s), "sqlite") == 0
			    ? "SELECT id,account_id FROM signal INDEXED BY signal_owner WHERE id IN %s"
			    : "SELECT id,account_id FROM signal WHERE id IN %s",
			signal_ids, out, err);
}

enum book_evidence book_evidence_of(json_t *owners, const char *account_id,
				    const char *signal_id, char *owner, size_t owner_len)
{
	json_t *a = json_object_get(owners, signal_id);

	return evidence_verdict(json_string_value(a), a != NULL, account_id, owner, owner_len);
}

const char *book_evidence_rule(enum book_evidence v)
{
	switch (v) {
	case BOOK_EVIDENCE_NOT_FOUND: return "evidence_not_found";
	case BOOK_EVIDENCE_OTHER_RECORD: return "evidence_other_record";
	case BOOK_EVIDENCE_OK: break;
	}
	return NULL;
}

/* {"value": count, ...} for one GROUP BY query. */
static int group_counts(struct store *s, const char *sql, json_t *into, const char *key,
			struct err *err)
{
	struct store_stmt *st;
	json_t *o = json_object();
	int rc;

	rc = store_prepare(s, sql, &st, err);
	if (rc) {
		json_decref(o);
		return rc;
	}
	while ((rc = store_step(st, err)) == STORE_ROW) {
		const char *k = store_col_text(st, 0);

		json_object_set_new(o, k ? k : "(none)", json_integer(store_col_int(st, 1)));
	}
	store_done(st);
	if (rc != STORE_DONE) {
		json_decref(o);
		return rc;
	}
	json_object_set_new(into, key, o);
	return 0;
}

static int scalar(struct store *s, const char *sql, int64_t *out, struct err *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	if (rc)
		return rc;
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*out = store_col_int(st, 0);
		rc = 0;
	}
	store_done(st);
	return rc;
}

/* The figures come from book_tally (schema.c: migration 3), which triggers
 * keep with every change to the book, so a call reads a few dozen rows
 * however large the book is. Each group lists NULL first ("(none)"), then
 * values in byte order, as the GROUP BY queries this replaced did. */
#define TALLY_SCALAR(d) "SELECT coalesce(sum(n), 0) FROM book_tally WHERE dim='" d "'"
#define TALLY_GROUP(d)                                                                     \
	"SELECT CASE WHEN is_null THEN NULL ELSE val END, n FROM book_tally WHERE dim='" d "'" \
	" AND n > 0 ORDER BY is_null DESC, val"

int book_stats(struct store *s, json_t **out, struct err *err)
{
	static const struct {
		const char *key, *sql;
	} scalars[] = {
		{"accounts", TALLY_SCALAR("accounts")},
		{"accounts_do_not_contact", TALLY_SCALAR("accounts_do_not_contact")},
		{"contacts", TALLY_SCALAR("contacts")},
		{"contacts_not_reachable", TALLY_SCALAR("contacts_not_reachable")},
		{"signals", TALLY_SCALAR("signals")},
	}, groups[] = {
		{"by_segment", TALLY_GROUP("segment")},
		{"by_region", TALLY_GROUP("region")},
		{"by_tier", TALLY_GROUP("tier")},
		{"by_lifecycle", TALLY_GROUP("lifecycle")},
		{"signals_by_kind", TALLY_GROUP("signal_kind")},
	};
	json_t *o = json_object();
	int64_t n;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (!o)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; rc == 0 && i < sizeof scalars / sizeof scalars[0]; i++) {
		rc = scalar(s, scalars[i].sql, &n, err);
		if (rc == 0)
			json_object_set_new(o, scalars[i].key, json_integer(n));
	}
	for (i = 0; rc == 0 && i < sizeof groups / sizeof groups[0]; i++)
		rc = group_counts(s, groups[i].sql, o, groups[i].key, err);
	if (rc) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* book_stats as it was: nine aggregates over the whole book. Kept for the
 * tests and benches that check the tallies against a recount. */
int book_stats_recount(struct store *s, json_t **out, struct err *err)
{
	json_t *o = json_object();
	int64_t n;
	int rc;

	*out = NULL;
	rc = scalar(s, "SELECT count(*) FROM account WHERE merged_into IS NULL", &n, err);
	if (rc)
		goto error;
	json_object_set_new(o, "accounts", json_integer(n));
	rc = scalar(s, "SELECT count(*) FROM account WHERE merged_into IS NULL AND do_not_contact=1",
		    &n, err);
	if (rc)
		goto error;
	json_object_set_new(o, "accounts_do_not_contact", json_integer(n));
	rc = scalar(s, "SELECT count(*) FROM contact", &n, err);
	if (rc)
		goto error;
	json_object_set_new(o, "contacts", json_integer(n));
	rc = scalar(s, "SELECT count(*) FROM contact WHERE do_not_contact=1 OR unsubscribed=1", &n,
		    err);
	if (rc)
		goto error;
	json_object_set_new(o, "contacts_not_reachable", json_integer(n));
	rc = scalar(s, "SELECT count(*) FROM signal", &n, err);
	if (rc)
		goto error;
	json_object_set_new(o, "signals", json_integer(n));
	/* NULL first in both engines (SQLite's default, not PostgreSQL's): a
	 * value "(none)" then wins the key, as in book_stats */
	rc = group_counts(s, "SELECT segment,count(*) FROM account WHERE merged_into IS NULL"
			     " GROUP BY segment ORDER BY segment NULLS FIRST",
			  o, "by_segment", err);
	if (rc == 0)
		rc = group_counts(s, "SELECT region,count(*) FROM account WHERE merged_into IS NULL"
				     " GROUP BY region ORDER BY region NULLS FIRST",
				  o, "by_region", err);
	if (rc == 0)
		rc = group_counts(s, "SELECT CAST(tier AS TEXT),count(*) FROM account WHERE"
				     " merged_into IS NULL GROUP BY tier ORDER BY tier NULLS FIRST",
				  o, "by_tier", err);
	if (rc == 0)
		rc = group_counts(s, "SELECT lifecycle,count(*) FROM account WHERE merged_into IS NULL"
				     " GROUP BY lifecycle ORDER BY lifecycle NULLS FIRST",
				  o, "by_lifecycle", err);
	if (rc == 0)
		rc = group_counts(s,
				  "SELECT kind,count(*) FROM signal GROUP BY kind"
				  " ORDER BY kind NULLS FIRST",
				  o, "signals_by_kind", err);
	if (rc)
		goto error;
	*out = o;
	return 0;
error:
	json_decref(o);
	return rc;
}

int book_foreach(struct store *s, enum book_kind kind,
		 int (*fn)(json_t *rec, void *ctx, struct err *err), void *ctx, struct err *err)
{
	char sql[512];
	struct store_stmt *st;
	json_t *rec;
	int rc;

	(void)snprintf(sql, sizeof sql, "%s ORDER BY id", kinds[kind].select);
	rc = store_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	while ((rc = store_step(st, err)) == STORE_ROW) {
		rec = row_to_json(kind, st);
		if (!rec) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			break;
		}
		rc = fn(rec, ctx, err);
		json_decref(rec);
		if (rc)
			break;
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

int book_signal_kind(struct store *s, const char *id, int *found, char *kind, size_t len,
		     struct err *err)
{
	struct store_stmt *st;
	int rc;

	*found = 0;
	kind[0] = '\0';
	rc = store_prepare(s, "SELECT kind FROM signal WHERE id=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, id);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*found = 1;
		rc = fmt_buf(kind, len, err, "signal kind", "%s",
			     store_col_text(st, 0) ? store_col_text(st, 0) : "");
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}
