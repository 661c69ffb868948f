/* policy_yaml.c — strict YAML reading for the policy: the arena a policy
 * lives in, problems at FILE:LINE:COL, typed values, mappings sorted into
 * known keys (unknown and duplicate keys are problems), and the document
 * itself. What the keys mean is policy_schema.c.
 *
 * libyaml's document API gives a node tree with a mark on every node; the
 * schema walk knows its depth and never recurses past it, so hostile nesting
 * or alias cycles cannot make it loop. */
#include "policy_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- arena: a policy and all it points to are freed at once ---- */

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

void *policy_arena_alloc(struct policy_impl *pi, size_t n)
{
	struct arena_block *b = pi->blocks;
	size_t a = sizeof(max_align_t), cap;
	void *p;

	n = (n + a - 1) / a * a;
	if (n == 0)
		n = a;
	if (!b || b->cap - b->used < n) {
		cap = n > 4096 ? n : 4096;
		if (cap > SIZE_MAX - sizeof *b)
			return NULL;
		b = malloc(sizeof *b + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = pi->blocks;
		pi->blocks = b;
	}
	p = (unsigned char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *policy_arena_strdup(struct policy_impl *pi, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = policy_arena_alloc(pi, n);

	if (d)
		memcpy(d, s, n);
	return d;
}

void policy_free(struct policy *p)
{
	struct policy_impl *pi = (struct policy_impl *)p;
	struct arena_block *b, *next;

	if (!pi)
		return;
	for (b = pi->blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	free(pi);
}

/* ---- problems ---- */

static void vproblem(struct policy_ctx *c, const yaml_mark_t *m, const char *fmt, va_list ap)
{
	struct policy_problems *pp = c->pp;
	struct policy_problem *np;

	if (pp->n >= POLICY_PROBLEMS_MAX)
		return;
	if (pp->n == pp->cap) {
		int cap = pp->cap ? 2 * pp->cap : 8;

		np = realloc(pp->v, (size_t)cap * sizeof *np);
		if (!np) {
			pp->oom = 1;
			return;
		}
		pp->v = np;
		pp->cap = cap;
	}
	np = &pp->v[pp->n];
	np->line = m ? (int)m->line + 1 : 1;
	np->col = m ? (int)m->column + 1 : 1;
	np->seq = pp->n;
	(void)vsnprintf(np->msg, sizeof np->msg, fmt, ap);
	pp->n++;
}

void policy_problem_at(struct policy_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(c, n ? &n->start_mark : NULL, fmt, ap);
	va_end(ap);
}

int policy_is_empty(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0 &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* A problem with a value: at the value, unless the value is empty (libyaml
 * marks an empty value wherever the next token starts), then at its key. */
void policy_problem_kv(struct policy_ctx *c, const struct policy_kv *kv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(c, policy_is_empty(kv->v) ? &kv->k->start_mark : &kv->v->start_mark, fmt, ap);
	va_end(ap);
}

static int problem_cmp(const void *a, const void *b)
{
	const struct policy_problem *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq - y->seq;
}

void policy_problems_free(struct policy_problems *pp)
{
	free(pp->v);
	memset(pp, 0, sizeof *pp);
}

int policy_stop(const struct policy_ctx *c)
{
	return c->oom || c->pp->oom || c->pp->n >= POLICY_PROBLEMS_MAX;
}

/* ---- scalars ---- */

yaml_node_t *policy_node(struct policy_ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

/* The text of a scalar node (libyaml NUL-terminates it), else NULL. A scalar
 * holding a NUL byte is refused by the callers as a bad value. */
const char *policy_scalar(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* Only plain scalars are numbers and booleans: "200" in quotes is text. */
const char *policy_plain(const yaml_node_t *n)
{
	const char *s = policy_scalar(n);

	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? s : NULL;
}

/* How a bad value reads in a message: 'text', a list, a mapping. */
const char *policy_describe(const yaml_node_t *n, char *buf, size_t len)
{
	const char *s;
	size_t i;

	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (policy_is_empty(n))
		return "an empty value";
	s = (const char *)n->data.scalar.value;
	(void)snprintf(buf, len, "'%.40s%s'", s, n->data.scalar.length > 40 ? "..." : "");
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20)
			buf[i] = '?';
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE && len > 8) {
		size_t l = strlen(buf);

		(void)snprintf(buf + l, len - l, " (quoted: text)");
	}
	return buf;
}

void policy_bad_value(struct policy_ctx *c, const struct policy_kv *kv, const char *expected)
{
	char buf[80];

	policy_problem_kv(c, kv, "%s must be %s, not %s", policy_scalar(kv->k), expected,
			  policy_describe(kv->v, buf, sizeof buf));
}

int policy_val_int(struct policy_ctx *c, const struct policy_kv *kv, int64_t min, int64_t max,
		   const char *expected, int64_t *out)
{
	const char *s = policy_plain(kv->v);
	char *end;
	long long v;

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '-'))
		goto bad;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	policy_bad_value(c, kv, expected);
	return -1;
}

int policy_val_bool(struct policy_ctx *c, const struct policy_kv *kv, int *out)
{
	const char *s = policy_plain(kv->v);

	if (s && strcmp(s, "true") == 0)
		*out = 1;
	else if (s && strcmp(s, "false") == 0)
		*out = 0;
	else {
		policy_bad_value(c, kv, "true or false");
		return -1;
	}
	return 0;
}

/* A rate strictly between 0 and 1: 0.95, or 95% for those who think so. */
int policy_val_fraction(struct policy_ctx *c, const struct policy_kv *kv, double *out)
{
	const char *s = policy_plain(kv->v);
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s))
		goto bad;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		goto bad;
	if (*end == '%' && end[1] == '\0') {
		v /= 100;
		end++;
	}
	if (*end || !(v > 0 && v < 1))
		goto bad;
	*out = v;
	return 0;
bad:
	policy_bad_value(c, kv, "a number between 0 and 1 (exclusive) such as 0.95 or 95%");
	return -1;
}

/* 7d, 12h, 30m, 90s: one whole number and one unit, in seconds. */
int policy_val_duration(struct policy_ctx *c, const struct policy_kv *kv, int64_t *out)
{
	const char *s = policy_plain(kv->v);
	int64_t mult;
	char *end;
	long long v;

	if (!s || !isdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end[0] == '\0' || end[1] != '\0')
		goto bad;
	switch (*end) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		goto bad;
	}
	if (v <= 0 || v > INT64_MAX / mult)
		goto bad;
	*out = v * mult;
	return 0;
bad:
	policy_bad_value(c, kv, "a positive duration such as 7d, 12h, 30m or 90s");
	return -1;
}

/* A non-empty text value, copied into the policy. */
int policy_val_string(struct policy_ctx *c, const struct policy_kv *kv, const char **out)
{
	const char *s = policy_scalar(kv->v);

	if (!s || !*s) {
		policy_bad_value(c, kv, "a non-empty text");
		return -1;
	}
	*out = policy_arena_strdup(c->pi, s);
	if (!*out) {
		c->oom = 1;
		return -1;
	}
	return 0;
}

/* ---- did you mean ---- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, cur, d[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		d[j] = j;
	for (i = 1; i <= la; i++) {
		prev = d[0];
		d[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = d[j];
			d[j] = prev + (a[i - 1] != b[j - 1]);
			if (d[j - 1] + 1 < d[j])
				d[j] = d[j - 1] + 1;
			if (cur + 1 < d[j])
				d[j] = cur + 1;
			prev = cur;
		}
	}
	return d[lb];
}

/* The closest of names to s when it is close enough to be a typo. */
static const char *nearest(const char *s, const char *const *names, int n)
{
	const char *best = NULL;
	size_t bd = SIZE_MAX, d;
	int i;

	for (i = 0; i < n; i++) {
		d = edit_distance(s, names[i]);
		if (d < bd) {
			bd = d;
			best = names[i];
		}
	}
	return best && bd <= 2 && bd < strlen(best) ? best : NULL;
}

/* " (did you mean 'x'?)" or "". */
const char *policy_hint(char *buf, size_t len, const char *s, const char *const *names, int n)
{
	const char *m = nearest(s, names, n);

	if (!m)
		return "";
	(void)snprintf(buf, len, " (did you mean '%s'?)", m);
	return buf;
}

/* ---- mappings ---- */

/* Sorts a mapping into its known keys: out[i] is keys[i]'s pair (k NULL when
 * absent). Unknown, duplicate and non-text keys are problems. where names
 * the mapping in messages ("in workflow 'retier'"). */
void policy_map_keys(struct policy_ctx *c, yaml_node_t *map, const char *where,
		     const char *const *keys, int nkeys, struct policy_kv *out)
{
	yaml_node_pair_t *pr;
	yaml_node_t *k, *v;
	const char *s, *near;
	char hb[96];
	int i;

	memset(out, 0, (size_t)nkeys * sizeof *out);
	for (pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		if (policy_stop(c))
			break;
		k = policy_node(c, pr->key);
		v = policy_node(c, pr->value);
		if (!k || !v)
			continue;
		s = policy_scalar(k);
		if (!s || !*s) {
			policy_problem_at(c, k, "keys must be plain names %s", where);
			continue;
		}
		for (i = 0; i < nkeys; i++)
			if (strcmp(s, keys[i]) == 0)
				break;
		if (i == nkeys) {
			if (strcmp(s, "password") == 0) /* a secret in a file: say where it goes */
				policy_problem_at(
				    c, k,
				    "a password never goes in the policy file: put it "
				    "in an environment variable and name that variable "
				    "with password_env");
			else
				policy_problem_at(c, k, "unknown key '%.60s' %s%s", s, where,
						  policy_hint(hb, sizeof hb, s, keys, nkeys));
			near = nearest(s, keys, nkeys);
			for (i = 0; i < nkeys; i++)
				if (near == keys[i])
					out[i].typo = k;
			continue;
		}
		if (out[i].k) {
			policy_problem_at(c, k, "duplicate key '%s' %s (first at line %d)", s,
					  where, (int)out[i].k->start_mark.line + 1);
			continue;
		}
		out[i].k = k;
		out[i].v = v;
	}
}

/* 1 when kv holds a mapping; else a problem naming what it should hold. */
int policy_want_map(struct policy_ctx *c, const struct policy_kv *kv, const char *expected)
{
	if (kv->v->type == YAML_MAPPING_NODE)
		return 1;
	policy_bad_value(c, kv, expected);
	return 0;
}

int policy_want_seq(struct policy_ctx *c, const struct policy_kv *kv, const char *expected)
{
	if (kv->v->type == YAML_SEQUENCE_NODE)
		return 1;
	policy_bad_value(c, kv, expected);
	return 0;
}

int policy_seq_len(const yaml_node_t *n)
{
	return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

int policy_map_len(const yaml_node_t *n)
{
	return (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

void policy_problem_mark(struct policy_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(c, m, fmt, ap);
	va_end(ap);
}

/* The line and column (0-based, in characters) of a byte offset. */
static yaml_mark_t offset_mark(const struct policy_ctx *c, size_t off)
{
	yaml_mark_t m = {off, 0, 0};
	size_t i;

	for (i = 0; i < off && i < c->len; i++) {
		if (c->buf[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if ((c->buf[i] & 0xc0) != 0x80) { /* not a UTF-8 continuation byte */
			m.column++;
		}
	}
	return m;
}

/* libyaml names the problem and the construct it was in. */
static void syntax_problem(struct policy_ctx *c, const yaml_parser_t *y)
{
	const char *what = y->problem ? y->problem : "unreadable YAML";

	if (y->error == YAML_MEMORY_ERROR) {
		c->oom = 1;
		return;
	}
	if (y->error == YAML_READER_ERROR) {
		/* bad bytes or encoding: libyaml gives a byte offset, not a mark */
		yaml_mark_t m = offset_mark(c, y->problem_offset);

		if (y->problem_value >= 0)
			policy_problem_mark(c, &m, "yaml syntax error: %s (byte 0x%02x)", what,
					    (unsigned)y->problem_value & 0xffu);
		else
			policy_problem_mark(c, &m, "yaml syntax error: %s", what);
		return;
	}
	if (y->context)
		policy_problem_mark(c, &y->problem_mark, "yaml syntax error: %s (%s at line %d)",
				    what, y->context, (int)y->context_mark.line + 1);
	else
		policy_problem_mark(c, &y->problem_mark, "yaml syntax error: %s", what);
}

/* libyaml's scanner costs O(depth) per token inside flow collections, so a
 * file of nothing but '[' would take minutes. A policy is four levels deep;
 * this pass walks the events and stops at the first one past DEPTH_MAX,
 * before the scanner has read more than a line ahead. Syntax errors are left
 * for the loader to report. Returns -1 after a problem. */
#define DEPTH_MAX 32
static int check_depth(struct policy_ctx *c)
{
	yaml_parser_t y;
	yaml_event_t ev;
	int depth = 0, rc = 0, done = 0;

	if (!yaml_parser_initialize(&y)) {
		c->oom = 1;
		return -1;
	}
	yaml_parser_set_input_string(&y, c->buf, c->len);
	while (!done && yaml_parser_parse(&y, &ev)) {
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		if (depth > DEPTH_MAX) {
			policy_problem_mark(c, &ev.start_mark,
					    "nested more than %d levels deep: a "
					    "policy is never this deep",
					    DEPTH_MAX);
			rc = -1;
		}
		done = rc || ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	if (y.error == YAML_MEMORY_ERROR) {
		c->oom = 1;
		rc = -1;
	}
	yaml_parser_delete(&y);
	return rc;
}

/* Loads the first document, then makes sure no second one follows. */
static int load_document(struct policy_ctx *c, yaml_parser_t *y, yaml_document_t *doc)
{
	yaml_document_t extra;
	yaml_node_t *root;

	if (!yaml_parser_load(y, doc)) {
		syntax_problem(c, y);
		return -1;
	}
	root = yaml_document_get_root_node(doc);
	if (!root) {
		policy_problem_mark(c, NULL,
				    "the file is empty: a policy needs version: 1 "
				    "and its workflows ('airlock init' writes a commented "
				    "example where no file exists)");
		yaml_document_delete(doc);
		return -1;
	}
	if (!yaml_parser_load(y, &extra)) {
		syntax_problem(c, y);
		yaml_document_delete(doc);
		return -1;
	}
	root = yaml_document_get_root_node(&extra);
	if (root)
		policy_problem_mark(c, &root->start_mark,
				    "a second YAML document: the policy is one "
				    "document");
	yaml_document_delete(&extra);
	if (root) {
		yaml_document_delete(doc);
		return -1;
	}
	return 0;
}

int policy_parse(const char *path, const unsigned char *buf, size_t len, struct policy **out,
		 struct policy_problems *pp)
{
	struct policy_ctx c = {0};
	yaml_parser_t y;
	yaml_document_t doc;
	int rc = 0;

	*out = NULL;
	c.pp = pp;
	c.doc = &doc;
	c.buf = buf;
	c.len = len;
	c.pi = calloc(1, sizeof *c.pi);
	if (!c.pi)
		return AIRLOCK_ENOMEM;
	c.pi->pub.path = policy_arena_strdup(c.pi, path);
	if (!c.pi->pub.path || !yaml_parser_initialize(&y)) {
		policy_free(&c.pi->pub);
		return AIRLOCK_ENOMEM;
	}
	yaml_parser_set_input_string(&y, buf, len);
	if (check_depth(&c) == 0 && load_document(&c, &y, &doc) == 0) {
		policy_schema_root(&c, yaml_document_get_root_node(&doc));
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&y);
	if (c.oom || pp->oom)
		rc = AIRLOCK_ENOMEM;
	if (pp->n > 1)
		qsort(pp->v, (size_t)pp->n, sizeof *pp->v, problem_cmp);
	if (rc || pp->n)
		policy_free(&c.pi->pub);
	else
		*out = &c.pi->pub;
	return rc;
}
