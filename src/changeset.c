/* changeset.c — applied changes back to the CRM (see changeset.h). */
#include "changeset.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "audit.h"
#include "book.h"
#include "csv.h"
#include "import_int.h"

int changeset_format_parse(const char *s, enum changeset_format *out, struct err *err)
{
	if (!strcasecmp(s, "salesforce"))
		*out = CHANGESET_SALESFORCE;
	else if (!strcasecmp(s, "hubspot"))
		*out = CHANGESET_HUBSPOT;
	else if (!strcasecmp(s, "airlock"))
		*out = CHANGESET_AIRLOCK;
	else
		return err_set(err, AIRLOCK_EINVAL,
			       "--format: '%s' is not salesforce, hubspot or airlock", s);
	return 0;
}

static const char *format_name(enum changeset_format f)
{
	return f == CHANGESET_SALESFORCE ? "salesforce"
	       : f == CHANGESET_HUBSPOT	 ? "hubspot"
					 : "airlock";
}

struct cs {
	struct store *s;
	enum changeset_format fmt;
	json_t *recs;	  /* id → {field: [start, end]} */
	json_t *unmerged; /* ids whose merge was undone in the range */
	int64_t since_seq, until_seq, batch;
	const char *mode;
};

/* Notes one field's move from `from` to `to`: the first move of the range
 * fixes the start, every later one the end. */
static int note(struct cs *c, const char *id, const char *field, json_t *from, json_t *to)
{
	json_t *r = json_object_get(c->recs, id), *pair;

	if (!r) {
		r = json_object();
		if (!r || json_object_set_new(c->recs, id, r))
			return AIRLOCK_ENOMEM;
	}
	pair = json_object_get(r, field);
	if (!pair)
		return json_object_set_new(
			   r, field,
			   json_pack("[OO]", from ? from : json_null(), to ? to : json_null()))
			   ? AIRLOCK_ENOMEM
			   : 0;
	return json_array_set(pair, 1, to ? to : json_null()) ? AIRLOCK_ENOMEM : 0;
}

static json_t *value_in(json_t *image, const char *field)
{
	if (!strncmp(field, "custom.", 7))
		return json_object_get(json_object_get(image, "custom"), field + 7);
	return json_object_get(image, field);
}

/* One apply or undo of a batch: its applied items' fields move from before
 * to the change (apply) or back (undo). */
static int replay(struct cs *c, int64_t batch, int undo, struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(c->s,
			   "SELECT record_id,changes,before FROM batch_item WHERE batch_id=?1"
			   " AND state='pending' ORDER BY idx",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, batch);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		const char *id = store_col_text(st, 0), *k;
		json_t *ch = json_loads(store_col_text(st, 1), 0, NULL);
		json_t *before = json_loads(store_col_text(st, 2), 0, NULL), *v;

		if (!ch || !before)
			rc = err_set(err, AIRLOCK_ECORRUPT, "batch %lld: an unreadable item",
				     (long long)batch);
		json_object_foreach(ch, k, v)
		{
			json_t *old = value_in(before, k);

			if (rc == STORE_ROW)
				rc = undo ? note(c, id, k, v, old) : note(c, id, k, old, v);
			if (rc == AIRLOCK_ENOMEM)
				rc = err_set(err, rc, "out of memory");
			else if (rc == 0)
				rc = STORE_ROW;
			if (undo && !strcmp(k, "merged_into") && json_is_string(v))
				json_array_append_new(c->unmerged, json_string(id));
		}
		json_decref(ch);
		json_decref(before);
		if (rc != STORE_ROW)
			break;
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

static int scalar(struct store *s, const char *sql, int64_t arg, int64_t *out, struct err *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	if (rc)
		return rc;
	store_bind_int(st, 1, arg);
	rc = store_step(st, err);
	*out = rc == STORE_ROW ? store_col_int(st, 0) : -1;
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* The log range of the change-set, then every apply and undo in it. */
static int collect(struct cs *c, const struct changeset_range *r, struct err *err)
{
	struct store_stmt *st;
	char since[64];
	int64_t head, v;
	int rc;

	rc = scalar(c->s, "SELECT seq FROM action_log_head WHERE id=?1", 1, &head, err);
	if (rc)
		return rc;
	c->since_seq = 0;
	c->until_seq = head;
	c->mode = "last";
	if (r->again > 0) {
		c->mode = "again";
		rc = scalar(c->s, "SELECT since_seq FROM changeset WHERE id=?1", r->again,
			    &c->since_seq, err);
		if (!rc && c->since_seq < 0)
			return err_set(err, AIRLOCK_ENOTFOUND, "no change-set %lld",
				       (long long)r->again);
		if (!rc)
			rc = scalar(c->s, "SELECT until_seq FROM changeset WHERE id=?1", r->again,
				    &c->until_seq, err);
		if (!rc)
			rc = scalar(c->s, "SELECT coalesce(batch_id,0) FROM changeset WHERE id=?1",
				    r->again, &v, err);
		if (rc)
			return rc;
		if (v > 0)
			goto batch;
	} else if (r->batch > 0) {
		v = r->batch;
		c->mode = "batch";
	batch:
		c->batch = v;
		rc = scalar(c->s,
			    "SELECT count(*) FROM batch WHERE id=?1 AND action IN"
			    " ('update','merge') AND tool NOT LIKE '%\\_\\_%' ESCAPE '\\'",
			    v, &head, err);
		if (!rc && head != 1)
			return err_set(err, AIRLOCK_ENOTFOUND, "no update or merge batch %lld",
				       (long long)v);
		rc = store_prepare(c->s,
				   "SELECT seq,tool,CAST(batch_id AS INTEGER) FROM action_log WHERE"
				   " batch_id=CAST(?1 AS TEXT) AND tool IN ('apply','undo') AND"
				   " seq>?2 AND seq<=?3 ORDER BY seq",
				   &st, err);
		if (rc)
			return rc;
		store_bind_int(st, 1, v);
		goto run;
	} else if (r->since) {
		c->mode = "since";
		if (import_date(r->since, since, sizeof since))
			return err_set(err, AIRLOCK_EINVAL,
				       "--since: '%s' is not a date (2026-03-01 or "
				       "2026-03-01T09:30:00Z)",
				       r->since);
		/* at is text: compare with the normalised date */
		rc = store_prepare(c->s, "SELECT coalesce(max(seq),0) FROM action_log WHERE at<?1",
				   &st, err);
		if (rc)
			return rc;
		store_bind_text(st, 1, since);
		rc = store_step(st, err);
		c->since_seq = rc == STORE_ROW ? store_col_int(st, 0) : 0;
		store_done(st);
		if (rc < 0)
			return rc;
	} else {
		rc = scalar(c->s,
			    "SELECT coalesce(max(until_seq),0) FROM changeset WHERE"
			    " mode='last' AND ?1=?1",
			    0, &c->since_seq, err);
		if (rc)
			return rc;
	}
	rc = store_prepare(c->s,
			   "SELECT a.seq,a.tool,b.id FROM action_log a JOIN batch b ON"
			   " a.batch_id=CAST(b.id AS TEXT) WHERE a.tool IN ('apply','undo') AND"
			   " b.action IN ('update','merge') AND a.seq>?2 AND a.seq<=?3 AND ?1=?1"
			   /* an upstream's batch is in its CRM already (upwrite.h) */
			   " AND b.tool NOT LIKE '%\\_\\_%' ESCAPE '\\'"
			   " ORDER BY a.seq",
			   &st, err);
	if (rc)
		return rc;
	store_bind_int(st, 1, 0);
run:
	store_bind_int(st, 2, c->since_seq);
	store_bind_int(st, 3, c->until_seq);
	while ((rc = store_step(st, err)) == STORE_ROW) {
		rc = replay(c, store_col_int(st, 2), !strcmp(store_col_text(st, 1), "undo"), err);
		if (rc)
			break;
		rc = STORE_ROW;
	}
	store_done(st);
	return rc == STORE_DONE ? 0 : rc;
}

/* The CRM column for a field: the column the last mapped import read it
 * from, else the preset's usual name, else the field's own. */
static char *column_of(struct cs *c, const char *field, char *rule, size_t rlen, struct err *err)
{
	struct store_stmt *st;
	char *name = NULL;
	int rc;

	rule[0] = '\0';
	if (!strncmp(field, "custom.", 7))
		return strdup(field + 7);
	if (c->fmt == CHANGESET_AIRLOCK)
		return strdup(field);
	rc = store_prepare(c->s,
			   "SELECT crm_column,rule FROM crm_map WHERE kind='account' AND field=?1",
			   &st, err);
	if (rc)
		return NULL;
	store_bind_text(st, 1, field);
	if (store_step(st, err) == STORE_ROW) {
		name = strdup(store_col_text(st, 0));
		(void)snprintf(rule, rlen, "%s", store_col_text(st, 1));
	}
	store_done(st);
	/* region came from a country: no country follows from a region, and
	 * "EMEA" in Billing Country is bad data (or refused by a picklist), so
	 * the change goes to a Region column of its own */
	if (name && !strcmp(rule, "region")) {
		free(name);
		return strdup("Region");
	}
	if (name)
		return name;
	if (!strcmp(field, "id"))
		return strdup(c->fmt == CHANGESET_SALESFORCE ? "Id" : "Record ID");
	if (!strcmp(field, "lifecycle"))
		return strdup(c->fmt == CHANGESET_SALESFORCE ? "Type" : "Lifecycle Stage");
	return strdup(field);
}

/* The CRM's spelling of one value. */
static char *crm_text(struct cs *c, const char *field, json_t *v)
{
	struct store_stmt *st;
	struct err e = {0};
	char *t;

	if (!v || json_is_null(v))
		return strdup(c->fmt == CHANGESET_SALESFORCE ? "#N/A" : "");
	t = book_value_text(v);
	if (!t || c->fmt == CHANGESET_AIRLOCK || strncmp(field, "custom.", 7) == 0)
		return t;
	/* a map file's own pair first: the value that came in goes back */
	if (store_prepare(c->s,
			  "SELECT crm_value FROM crm_value WHERE kind='account' AND field=?1 AND"
			  " value=?2 ORDER BY crm_value LIMIT 1",
			  &st, &e) == 0) {
		store_bind_text(st, 1, field);
		store_bind_text(st, 2, t);
		if (store_step(st, &e) == STORE_ROW) {
			free(t);
			t = strdup(store_col_text(st, 0));
			store_done(st);
			return t;
		}
		store_done(st);
	}
	if (!strcmp(field, "lifecycle")) {
		const char *crm = import_lifecycle_crm(
		    c->fmt == CHANGESET_SALESFORCE ? "salesforce" : "hubspot", t);

		free(t);
		return strdup(crm);
	}
	return t;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Catalogue order for built-in fields, then custom keys by name. */
static int cmp_field(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	const struct book_field *f;
	int n, i, ix = 1000, iy = 1000;

	f = book_fields(BOOK_ACCOUNT, &n);
	for (i = 0; i < n; i++) {
		if (!strcmp(f[i].name, x))
			ix = i;
		if (!strcmp(f[i].name, y))
			iy = i;
	}
	return ix != iy ? ix - iy : strcmp(x, y);
}

/* HubSpot has no lifecycle stage for a partner, a competitor or a former
 * customer: their stage goes out as "other", which says nothing when it
 * comes back, and the customer and audience guards read lifecycle. So when
 * a HubSpot change-set holds such a value, each changed lifecycle also goes
 * into a column of its own, IMPORT_HS_LIFECYCLE (a custom company
 * property), in airlock's words; the hubspot preset reads it back where
 * the stage is "other" or empty. 1 when some row needs it. */
static int hs_needs_lifecycle(struct cs *c, const char **ids, size_t nid)
{
	size_t i;
	int need = 0;

	if (c->fmt != CHANGESET_HUBSPOT)
		return 0;
	for (i = 0; i < nid && !need; i++) {
		json_t *pair = json_object_get(json_object_get(c->recs, ids[i]), "lifecycle");
		char *t = pair ? crm_text(c, "lifecycle", json_array_get(pair, 1)) : NULL;

		need = t && !strcasecmp(t, "other");
		free(t);
	}
	return need;
}

/* Writes accounts.csv, merges.csv and unmerges.csv into memory; *records,
 * *merges and *unmerges count their rows. */
static int render(struct cs *c, FILE *acc, FILE *mrg, FILE *unm, struct changeset_result *out,
		  struct err *err)
{
	const char **ids = NULL, **fields = NULL, *id, *k;
	char **cells = NULL, rule[32];
	json_t *cols = json_object(), *r, *pair;
	size_t nid = 0, nf = 0, i, q, ncell;
	int rc = 0, hs_lc;

	ids = calloc(json_object_size(c->recs) + 1, sizeof *ids);
	if (!cols || !ids) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	/* net out: a field that ends where it started did not change */
	json_object_foreach(c->recs, id, r)
	{
		int any = 0;
		void *tmp;

		json_object_foreach_safe(r, tmp, k, pair)
		{
			if (json_equal(json_array_get(pair, 0), json_array_get(pair, 1))) {
				json_object_del(r, k);
				continue;
			}
			if (!strcmp(k, "merged_into"))
				continue;
			any = 1;
			json_object_set(cols, k, json_true());
		}
		if (any || json_object_get(r, "merged_into"))
			ids[nid++] = id;
	}
	qsort(ids, nid, sizeof *ids, cmp_str);
	fields = calloc(json_object_size(cols) + 1, sizeof *fields);
	cells = calloc(json_object_size(cols) + 3, sizeof *cells);
	if (!fields || !cells) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	json_object_foreach(cols, k, pair) fields[nf++] = k;
	qsort(fields, nf, sizeof *fields, cmp_field);
	cells[0] = column_of(c, "id", rule, sizeof rule, err);
	for (q = 0; q < nf; q++)
		if (!(cells[q + 1] = column_of(c, fields[q], rule, sizeof rule, err)))
			break;
	if (q < nf || !cells[0]) {
		rc = err->code ? err->code : err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	hs_lc = hs_needs_lifecycle(c, ids, nid);
	ncell = nf + 1 + (size_t)hs_lc;
	if (hs_lc && !(cells[nf + 1] = strdup(IMPORT_HS_LIFECYCLE))) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	const char *mhead[2] = {c->fmt == CHANGESET_SALESFORCE ? "Survivor Id"
				: c->fmt == CHANGESET_HUBSPOT	? "Primary Record ID"
								: "survivor",
				c->fmt == CHANGESET_SALESFORCE ? "Merged Id"
				: c->fmt == CHANGESET_HUBSPOT	? "Merged Record ID"
								: "merged"};

	rc = csv_write_record(acc, (const char *const *)cells, NULL, (int)ncell, err);
	if (rc == 0)
		rc = csv_write_record(mrg, mhead, NULL, 2, err);
	if (rc == 0)
		rc = csv_write_record(unm, mhead, NULL, 2, err);
	for (i = 0; i < nid && rc == 0; i++) {
		json_t *m;
		int any = 0;

		r = json_object_get(c->recs, ids[i]);
		for (q = 0; q < ncell; q++) {
			free(cells[q]);
			cells[q] = NULL;
		}
		cells[0] = strdup(ids[i]);
		for (q = 0; q < nf; q++) {
			pair = json_object_get(r, fields[q]);
			cells[q + 1] =
			    pair ? crm_text(c, fields[q], json_array_get(pair, 1)) : strdup("");
			any |= pair != NULL;
		}
		if (hs_lc) {
			/* airlock's own word for every changed lifecycle, "customer"
			 * too: the property never holds a stale value of ours */
			pair = json_object_get(r, "lifecycle");
			cells[nf + 1] =
			    pair ? book_value_text(json_array_get(pair, 1)) : strdup("");
		}
		for (q = 0; q < ncell; q++)
			if (!cells[q])
				rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		if (rc == 0 && any) {
			rc = csv_write_record(acc, (const char *const *)cells, NULL, (int)ncell,
					      err);
			out->records++;
		}
		m = json_object_get(r, "merged_into");
		if (rc == 0 && m && json_is_string(json_array_get(m, 1))) {
			const char *pairv[2] = {json_string_value(json_array_get(m, 1)), ids[i]};

			rc = csv_write_record(mrg, pairv, NULL, 2, err);
			out->merges++;
		} else if (rc == 0 && m && json_is_string(json_array_get(m, 0))) {
			/* merged when exported, unmerged since: no CRM unmerges from
			 * a file, so a person restores these; the file says which */
			const char *pairv[2] = {json_string_value(json_array_get(m, 0)), ids[i]};

			rc = csv_write_record(unm, pairv, NULL, 2, err);
			out->unmerges++;
		}
	}
out:
	for (q = 0; cells && q < nf + 2; q++)
		free(cells[q]);
	free(cells);
	free(fields);
	free(ids);
	json_decref(cols);
	return rc;
}

/* The preset the last mapped import used, for CHANGESET_AUTO. */
static enum changeset_format auto_format(struct store *s)
{
	struct store_stmt *st;
	struct err e = {0};
	enum changeset_format f = CHANGESET_AIRLOCK;

	if (store_prepare(s,
			  "SELECT preset FROM crm_map WHERE kind='account' AND preset IS NOT NULL"
			  " LIMIT 1",
			  &st, &e))
		return f;
	if (store_step(st, &e) == STORE_ROW)
		changeset_format_parse(store_col_text(st, 0), &f, &e);
	store_done(st);
	return f;
}

static int write_file(const char *dir, const char *name, const char *buf, size_t len,
		      struct err *err)
{
	char path[4096];
	FILE *f;
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof path)
		return err_set(err, AIRLOCK_EINVAL, "%s: the path is too long", dir);
	f = fopen(path, "wb");
	if (!f)
		return err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
	if (fwrite(buf, 1, len, f) != len) {
		fclose(f);
		return err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	if (fclose(f) != 0)
		return err_set(err, AIRLOCK_EIO, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static int record(struct cs *c, const char *principal, struct changeset_result *out,
		  struct err *err)
{
	struct audit_entry e = {0};
	struct store_stmt *st;
	char now[32], summary[256];
	json_t *args;
	int rc;

	book_now(now, sizeof now);
	rc = store_prepare(
	    c->s,
	    "INSERT INTO changeset(at,by_whom,format,mode,since_seq,until_seq,batch_id,"
	    "records,merges,hash) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
	    &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, now);
	store_bind_text(st, 2, principal);
	store_bind_text(st, 3, out->format);
	store_bind_text(st, 4, c->mode);
	store_bind_int(st, 5, c->since_seq);
	store_bind_int(st, 6, c->until_seq);
	if (c->batch > 0)
		store_bind_int(st, 7, c->batch);
	else
		store_bind_null(st, 7);
	store_bind_int(st, 8, out->records);
	store_bind_int(st, 9, out->merges);
	store_bind_text(st, 10, out->hash);
	rc = store_step(st, err) == STORE_DONE ? 0 : err->code;
	store_done(st);
	if (rc)
		return rc;
	rc = scalar(c->s, "SELECT max(id) FROM changeset WHERE ?1=?1", 0, &out->id, err);
	if (rc)
		return rc;
	args =
	    json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:s}", "changeset", (json_int_t)out->id,
		      "format", out->format, "mode", c->mode, "since_seq", (json_int_t)c->since_seq,
		      "until_seq", (json_int_t)c->until_seq, "records", (json_int_t)out->records,
		      "merges", (json_int_t)out->merges, "sha256", out->hash);
	if (!args)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	(void)snprintf(summary, sizeof summary,
		       "change-set %lld (%s): %lld record(s), %lld merge(s), sha256 %s",
		       (long long)out->id, out->format, (long long)out->records,
		       (long long)out->merges, out->hash);
	e.principal = principal ? principal : "human:unknown";
	e.surface = "cli";
	e.tool = "export_changes";
	e.args = args;
	e.summary = summary;
	rc = audit_append(c->s, &e, NULL, err);
	json_decref(args);
	return rc;
}

int changeset_export(struct store *s, const struct changeset_range *r, enum changeset_format fmt,
		     const char *dir, const char *principal, struct changeset_result *out,
		     struct err *err)
{
	struct cs c = {0};
	char *abuf = NULL, *mbuf = NULL, *ubuf = NULL;
	size_t alen = 0, mlen = 0, ulen = 0;
	FILE *acc = NULL, *mrg = NULL, *unm = NULL;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state hs;
	int rc, i;

	memset(out, 0, sizeof *out);
	c.s = s;
	c.recs = json_object();
	c.unmerged = json_array();
	if (!c.recs || !c.unmerged) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		rc = err_set(err, AIRLOCK_EIO, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = store_begin(s, err);
	if (rc)
		goto out;
	c.fmt = fmt == CHANGESET_AUTO ? auto_format(s) : fmt;
	(void)snprintf(out->format, sizeof out->format, "%s", format_name(c.fmt));
	acc = open_memstream(&abuf, &alen);
	mrg = open_memstream(&mbuf, &mlen);
	unm = open_memstream(&ubuf, &ulen);
	if (!acc || !mrg || !unm)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (rc == 0)
		rc = collect(&c, r, err);
	if (rc == 0)
		rc = render(&c, acc, mrg, unm, out, err);
	if (acc && fclose(acc) != 0 && rc == 0)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (mrg && fclose(mrg) != 0 && rc == 0)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	if (unm && fclose(unm) != 0 && rc == 0)
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
	acc = mrg = unm = NULL;
	if (rc == 0) {
		crypto_hash_sha256_init(&hs);
		crypto_hash_sha256_update(&hs, (const unsigned char *)abuf, alen);
		crypto_hash_sha256_update(&hs, (const unsigned char *)mbuf, mlen);
		crypto_hash_sha256_final(&hs, h);
		for (i = 0; i < (int)sizeof h; i++)
			(void)snprintf(out->hash + 2 * i, 3, "%02x", h[i]);
		rc = write_file(dir, "accounts.csv", abuf, alen, err);
	}
	if (rc == 0)
		rc = write_file(dir, "merges.csv", mbuf, mlen, err);
	/* not in the hash: it is a person's to-do list, never loaded by a CRM */
	if (rc == 0)
		rc = write_file(dir, "unmerges.csv", ubuf, ulen, err);
	if (rc == 0)
		rc = record(&c, principal, out, err);
	if (rc == 0)
		rc = store_commit(s, err);
	else
		store_rollback(s);
out:
	if (acc)
		fclose(acc);
	if (mrg)
		fclose(mrg);
	if (unm)
		fclose(unm);
	free(abuf);
	free(mbuf);
	free(ubuf);
	json_decref(c.recs);
	json_decref(c.unmerged);
	return rc;
}
