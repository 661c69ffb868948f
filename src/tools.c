/* tools.c — the one tool registry (tools.h).
 *
 * Rows live in a fixed array of pointers that only grows, so a reader on
 * another thread never sees a row move or vanish: the count is published
 * after the row is complete. A replaced row (tools_replace) is swapped for
 * its successor in the same place and kept until tools_reset, since a
 * reader may still hold it. Adding, replacing and hiding take a mutex
 * between writers; readers take none. */
#include "tools.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	struct tools_row row; /* first: a row pointer is its slot's */
	atomic_int hidden;
	int owned; /* the strings are ours (tools_add) */
};

static struct slot *slots[TOOLS_MAX];
static struct slot *retired[TOOLS_MAX]; /* replaced rows, freed by tools_reset */
static int nretired;
static atomic_int nslots;
static atomic_uint generation;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int nbuiltin; /* the first nbuiltin slots are static rows, never freed */

int tools_count(void) { return atomic_load(&nslots); }

/* The i-th slot as a reader sees it: tools_replace may swap it meanwhile. */
static struct slot *slot_at(int i) { return __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE); }

const struct tools_row *tools_at(int i)
{
	return i >= 0 && i < tools_count() ? &slot_at(i)->row : NULL;
}

const char *tools_gate_name(enum tools_gate g)
{
	int i, n = nbuiltin; /* built-in rows are static: no lock needed */

	for (i = 0; i < n; i++)
		if (slot_at(i)->row.gate == g)
			return slot_at(i)->row.name;
	return "?";
}

const struct tools_row *tools_find(const char *name)
{
	int i, n = tools_count();

	if (!name)
		return NULL;
	for (i = 0; i < n; i++)
		if (!strcmp(slot_at(i)->row.name, name))
			return &slot_at(i)->row;
	return NULL;
}

int tools_hidden(const struct tools_row *row)
{
	return row ? atomic_load(&((const struct slot *)(const void *)row)->hidden) : 1;
}

int tools_hide(const char *name, int hidden, struct err *err)
{
	const struct tools_row *row = tools_find(name);

	if (!row)
		return err_set(err, AIRLOCK_ENOTFOUND, "no tool '%.64s' in the registry",
			       name ? name : "(null)");
	pthread_mutex_lock(&lock);
	if (atomic_exchange(&((struct slot *)(void *)row)->hidden, hidden ? 1 : 0) != !!hidden)
		atomic_fetch_add(&generation, 1);
	pthread_mutex_unlock(&lock);
	return 0;
}

unsigned tools_generation(void) { return atomic_load(&generation); }

const struct tools_row *tools_default_write(void)
{
	int i, n = tools_count();

	for (i = 0; i < n; i++)
		if (slot_at(i)->row.connector == TOOLS_WRITE && !tools_hidden(&slot_at(i)->row))
			return &slot_at(i)->row;
	return NULL;
}

int tools_names(enum tools_connector c, const char *conj, char *buf, size_t len)
{
	int i, k, n = tools_count(), total = 0, last = -1, w;

	for (i = 0; i < n; i++)
		if (slot_at(i)->row.connector == c && !tools_hidden(&slot_at(i)->row))
			last = i;
	if (len)
		buf[0] = '\0';
	for (i = 0, k = 0; i < n; i++) {
		const struct tools_row *r = &slot_at(i)->row;

		if (r->connector != c || tools_hidden(r))
			continue;
		w = snprintf(len > (size_t)total ? buf + total : NULL,
			     len > (size_t)total ? len - (size_t)total : 0, "%s%s",
			     k == 0 ? "" : i == last ? conj : ", ", r->name);
		if (w > 0)
			total += w;
		k++;
	}
	return total;
}

static int name_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n < 1 || n > TOOLS_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

static int json_text_is(const char *text, int array)
{
	json_t *j;
	int ok;

	if (!text)
		return 0;
	j = json_loads(text, 0, NULL);
	ok = array ? json_is_array(j) : json_is_object(j);
	json_decref(j);
	return ok;
}

/* Why a row may not be added, or NULL. */
static const char *row_problem(const struct tools_row *r)
{
	if (!name_ok(r->name))
		return "a tool name is 1 to 64 of [A-Za-z0-9_.-]";
	if (!r->title || !r->description)
		return "a tool needs a title and a description";
	if (!json_text_is(r->input_schema, 0) || !json_text_is(r->output_schema, 0))
		return "its input and output schemas must be JSON objects";
	if (r->untrusted && !json_text_is(r->untrusted, 1))
		return "its untrusted pointers must be a JSON array";
	if (r->book_enums && !json_text_is(r->book_enums, 0))
		return "its book enums must be a JSON object";
	if ((r->records && !json_text_is(r->records, 1)) ||
	    (r->fields && !json_text_is(r->fields, 1)))
		return "its records and fields pointers must be JSON arrays";
	if (r->connector == TOOLS_READ &&
	    (r->effect != EFFECT_READ || !r->run || r->gate != TOOLS_GATE_NONE))
		return "a read-connector tool only reads, and needs a run function";
	if (r->connector == TOOLS_WRITE && (r->effect == EFFECT_READ || r->gate == TOOLS_GATE_NONE))
		return "a write-connector tool goes through the gate with a draft, write or send "
		       "effect";
	if (r->connector != TOOLS_READ && r->connector != TOOLS_WRITE)
		return "unknown connector";
	if (r->gate == TOOLS_GATE_HOOK && !r->gate_fn)
		return "a hook tool needs its gate function";
	if (r->connector == TOOLS_WRITE && r->run)
		return "a write-connector tool has no run function: the gate decides its calls";
	return NULL;
}

static int tools_find_in(const struct tools_row *rows, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(rows[i].name, name))
			return 1;
	return 0;
}

static void slot_free(struct slot *s)
{
	if (!s || !s->owned)
		return;
	free((char *)s->row.name);
	free((char *)s->row.title);
	free((char *)s->row.scan_arg);
	free((char *)s->row.description);
	free((char *)s->row.input_schema);
	free((char *)s->row.output_schema);
	free((char *)s->row.untrusted);
	free((char *)s->row.book_enums);
	free((char *)s->row.records);
	free((char *)s->row.fields);
	free(s);
}

static int dup_str(const char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

/* A slot owning a copy of row's strings, not yet hidden. */
static int slot_new(const struct tools_row *row, struct slot **out, struct err *err)
{
	struct slot *s;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	s->row = *row;
	s->owned = 1;
	if (dup_str(&s->row.name, row->name) | dup_str(&s->row.title, row->title) |
	    dup_str(&s->row.scan_arg, row->scan_arg) |
	    dup_str(&s->row.description, row->description) |
	    dup_str(&s->row.input_schema, row->input_schema) |
	    dup_str(&s->row.output_schema, row->output_schema) |
	    dup_str(&s->row.untrusted, row->untrusted) | dup_str(&s->row.records, row->records) |
	    dup_str(&s->row.book_enums, row->book_enums) |
	    dup_str(&s->row.fields, row->fields)) {
		slot_free(s);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	atomic_init(&s->hidden, 0);
	*out = s;
	return 0;
}

int tools_add(const struct tools_row *row, struct err *err)
{
	const char *why;
	struct slot *s;
	int n, rc = 0;

	if (!row)
		return err_set(err, AIRLOCK_EINVAL, "no row to add");
	why = row_problem(row);
	if (why)
		return err_set(err, AIRLOCK_EINVAL, "tool '%.64s': %s", row->name ? row->name : "",
			       why);
	rc = slot_new(row, &s, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&lock);
	n = atomic_load(&nslots);
	if (tools_find(row->name))
		rc = err_set(err, AIRLOCK_EEXIST, "a tool named '%s' exists already", row->name);
	else if (n >= TOOLS_MAX)
		rc = err_set(err, AIRLOCK_EBUSY, "the tool registry is full (%d tools)", TOOLS_MAX);
	if (rc == 0) {
		slots[n] = s;
		atomic_store(&nslots, n + 1); /* the row is complete before it is seen */
		atomic_fetch_add(&generation, 1);
	}
	pthread_mutex_unlock(&lock);
	if (rc)
		slot_free(s);
	return rc;
}

int tools_builtin(const struct tools_row *rows, int n, struct err *err)
{
	struct slot *s;
	const char *why;
	int i, k, rc = 0;

	for (i = 0; i < n; i++)
		if ((why = row_problem(&rows[i])))
			return err_set(err, AIRLOCK_EINVAL, "tool '%.64s': %s",
				       rows[i].name ? rows[i].name : "", why);
	s = calloc((size_t)(n > 0 ? n : 1), sizeof *s);
	if (!s)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	pthread_mutex_lock(&lock);
	k = atomic_load(&nslots);
	if (k != nbuiltin) /* static rows come first: tools_reset keeps a prefix */
		rc = err_set(err, AIRLOCK_ESTATE, "static rows are registered before any other");
	else if (k + n > TOOLS_MAX)
		rc = err_set(err, AIRLOCK_EBUSY, "the tool registry is full (%d tools)", TOOLS_MAX);
	for (i = 0; rc == 0 && i < n; i++)
		if (tools_find(rows[i].name) ||
		    (i > 0 && tools_find_in(rows, i, rows[i].name)))
			rc = err_set(err, AIRLOCK_EEXIST, "a tool named '%s' exists already",
				     rows[i].name);
	if (rc == 0) {
		for (i = 0; i < n; i++) {
			s[i].row = rows[i];
			atomic_init(&s[i].hidden, 0);
			slots[k + i] = &s[i];
		}
		nbuiltin = k + n;
		atomic_store(&nslots, k + n);
		atomic_fetch_add(&generation, 1);
		s = NULL; /* the slots' now, for as long as the process runs */
	}
	pthread_mutex_unlock(&lock);
	free(s);
	return rc;
}

int tools_replace(const struct tools_row *row, struct err *err)
{
	const char *why;
	struct slot *s, *old = NULL;
	int i, n, rc = 0;

	if (!row)
		return err_set(err, AIRLOCK_EINVAL, "no row to replace");
	if ((why = row_problem(row)))
		return err_set(err, AIRLOCK_EINVAL, "tool '%.64s': %s", row->name ? row->name : "",
			       why);
	rc = slot_new(row, &s, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&lock);
	n = atomic_load(&nslots);
	for (i = 0; i < n && strcmp(slots[i]->row.name, row->name); i++)
		;
	if (i == n)
		rc = err_set(err, AIRLOCK_ENOTFOUND, "no tool '%.64s' to replace", row->name);
	else if (i < nbuiltin)
		rc = err_set(err, AIRLOCK_EDENIED, "airlock's own tool '%.64s' is not replaced",
			     row->name);
	else if (nretired >= TOOLS_MAX)
		rc = err_set(err, AIRLOCK_EBUSY,
			     "tool '%.64s': %d rows were replaced since airlock started; restart it",
			     row->name, TOOLS_MAX);
	if (rc == 0) {
		old = slots[i];
		retired[nretired++] = old;
		__atomic_store_n(&slots[i], s, __ATOMIC_RELEASE); /* complete before seen */
		atomic_fetch_add(&generation, 1);
	}
	pthread_mutex_unlock(&lock);
	if (rc)
		slot_free(s);
	return rc;
}

void tools_reset(void)
{
	int i, n;

	pthread_mutex_lock(&lock);
	while (nretired > 0)
		slot_free(retired[--nretired]);
	n = atomic_load(&nslots);
	atomic_store(&nslots, nbuiltin);
	for (i = nbuiltin; i < n; i++) {
		slot_free(slots[i]);
		slots[i] = NULL;
	}
	for (i = 0; i < nbuiltin; i++)
		atomic_store(&slots[i]->hidden, 0);
	atomic_fetch_add(&generation, 1);
	pthread_mutex_unlock(&lock);
}
