/* policy_schema.c — what the keys of airlock.yaml mean: defaults,
 * workflows (tools, effect, fields, caps), audience and smtp, and the rules
 * that need several keys at once.
 *
 * Order inside a mapping does not matter: each mapping is first sorted into
 * its known keys (policy_map_keys), then checked as a whole, so a workflow's
 * `fields` are judged by its `effect` wherever that appears. */
#include "drift.h"
#include "policy_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "tools.h"

/* Built-in values for what neither a workflow nor `defaults` says. */
#define DEF_TTL (7 * 86400)
#define DEF_PENDING 20
#define DEF_EVIDENCE_MAX_AGE (180 * 86400)
#define DEF_CONFIDENCE 0.95
#define DEF_DEFECT_RATE 0.05
#define DEF_MAX_TOUCHES 1
#define DEF_TOUCH_WINDOW 14
#define DEF_SMTP_TIMEOUT 30
#define DEF_SMTP_ATTEMPTS 5
#define NAME_MAX_LEN 48 /* workflow names end up in reasons of bounded length */
#define FIELDS_MAX 256	/* lists are checked for repeats pairwise: keep them short */
#define DOMAINS_MAX 5000

/* ---- sampling and defaults ---- */

static const char *const sampling_keys[] = {"confidence", "defect_rate", "min_catch_rate",
					    "check_every"};

static void parse_sampling(struct policy_ctx *c, const struct policy_kv *in, const char *where,
			   struct policy_sampling *s)
{
	struct policy_kv kv[4];

	if (!policy_want_map(c, in, "a mapping with confidence and defect_rate"))
		return;
	policy_map_keys(c, in->v, where, sampling_keys, 4, kv);
	if (kv[0].k)
		policy_val_fraction(c, &kv[0], &s->confidence);
	if (kv[1].k)
		policy_val_fraction(c, &kv[1], &s->defect_rate);
	if (kv[2].k)
		policy_val_fraction(c, &kv[2], &s->min_catch_rate);
	/* one seeded check in every k-th sample of the workflow; 0 = off */
	if (kv[3].k)
		policy_val_int(c, &kv[3], 0, 1000000, "0 (off) or a positive integer",
			       &s->check_every);
}

static const char *const defaults_keys[] = {"ttl", "max_pending_batches", "sampling",
					    "evidence_max_age"};

static void parse_defaults(struct policy_ctx *c, const struct policy_kv *in)
{
	struct policy_kv kv[4];

	if (!policy_want_map(c, in,
			     "a mapping (ttl, max_pending_batches, sampling, evidence_max_age)"))
		return;
	policy_map_keys(c, in->v, "in defaults", defaults_keys, 4, kv);
	if (kv[0].k)
		policy_val_duration(c, &kv[0], &c->ttl);
	if (kv[1].k)
		policy_val_int(c, &kv[1], 1, INT32_MAX, "a positive integer", &c->pending);
	if (kv[2].k)
		parse_sampling(c, &kv[2], "in the sampling of defaults", &c->sampling);
	/* a review aid, not a gate: older evidence is flagged in the summary */
	if (kv[3].k)
		policy_val_duration(c, &kv[3], &c->pi->pub.evidence_max_age);
}

/* ---- tools and fields ---- */

/* The tools a policy may name are the registry's rows (tools.h), hidden
 * ones included: a tool hidden for a changed definition stays in its
 * workflow until a person trusts it again. */
int policy_tool_routed(const char *tool)
{
	const struct tools_row *t = tools_find(tool);

	return t && t->routed;
}

int policy_tool_effect(const char *tool, enum policy_effect *out)
{
	const struct tools_row *t = tools_find(tool);

	if (!t)
		return AIRLOCK_ENOTFOUND;
	*out = t->effect;
	return 0;
}

static const char *effect_does(enum policy_effect e)
{
	switch (e) {
	case EFFECT_READ:
		return "only reads";
	case EFFECT_DRAFT:
		return "stores drafts";
	case EFFECT_WRITE:
		return "proposes changes to the book";
	case EFFECT_SEND:
		return "sends messages";
	}
	return "?";
}

/* Where each tool was listed, to find one in two workflows. */
struct toolref {
	const char *tool;
	int wf;
	int line;
};

struct walk {
	struct toolref *refs;
	int nrefs, caprefs;
};

/* 1 when s is NAME__TOOL of a tool the upstreams: section lists; *t is it. */
static int upstream_listed(struct policy_ctx *c, const char *s,
			   const struct policy_upstream_tool **t)
{
	const struct policy *p = &c->pi->pub;
	const char *sep = strstr(s, "__");
	char name[64];

	if (!sep || (size_t)(sep - s) >= sizeof name)
		return 0;
	memcpy(name, s, (size_t)(sep - s));
	name[sep - s] = '\0';
	*t = policy_upstream_tool(policy_upstream(p, name), sep + 2);
	return *t != NULL;
}

static void check_tool(struct policy_ctx *c, struct walk *w, int wfi, struct policy_workflow *wf,
		       yaml_node_t *n, int have_effect)
{
	const struct policy_upstream_tool *uname;
	const char *names[TOOLS_MAX], *s = policy_scalar(n);
	const struct tools_row *t, *dflt = tools_default_write();
	char hb[96], routed[256], *name;
	int i, k;

	if (!s || !*s || n->type != YAML_SCALAR_NODE) {
		policy_problem_at(c, n, "a tool must be a name such as %s",
				  dflt ? dflt->name : "(no tool is registered)");
		return;
	}
	t = tools_find(s);
	if (!t && upstream_listed(c, s, &uname)) {
		/* an upstream's tool, listed in upstreams: (its registry row is
		 * made when the upstream answers) */
		if (have_effect && uname->effect != wf->effect) {
			policy_problem_at(c, n,
					  "tool '%s' %s: it belongs in a %s workflow, not in "
					  "workflow '%s' (effect %s)",
					  s, effect_does(uname->effect),
					  policy_effect_name(uname->effect), wf->name,
					  policy_effect_name(wf->effect));
			return;
		}
		if (!(name = policy_arena_strdup(c->pi, s))) {
			c->oom = 1;
			return;
		}
		((const char **)wf->tools)[wf->ntools++] = name;
		return;
	}
	if (!t) {
		for (i = 0; tools_at(i); i++)
			names[i] = tools_at(i)->name;
		policy_problem_at(c, n, "unknown tool '%.60s'%s", s,
				  policy_hint(hb, sizeof hb, s, names, i));
		return;
	}
	if (have_effect && t->effect != wf->effect) {
		policy_problem_at(c, n,
				  "tool '%s' %s: it belongs in a %s workflow, not in workflow '%s' "
				  "(effect %s)",
				  s, effect_does(t->effect), policy_effect_name(t->effect), wf->name,
				  policy_effect_name(wf->effect));
		return;
	}
	for (i = 0; i < w->nrefs; i++) {
		if (strcmp(w->refs[i].tool, s) != 0)
			continue;
		if (w->refs[i].wf == wfi) {
			policy_problem_at(c, n, "tool '%s' is listed twice in workflow '%s'", s,
					  wf->name);
			return;
		}
		if (!t->routed) {
			/* the tools whose calls name their workflow, from the registry */
			routed[0] = '\0';
			for (k = 0; tools_at(k); k++)
				if (tools_at(k)->routed)
					/* a message only: a cut list is still true */
					(void)snprintf(routed + strlen(routed),
						       sizeof routed - strlen(routed), "%s%s",
						       routed[0] ? ", " : "", tools_at(k)->name);
			policy_problem_at(c, n,
					  "tool '%s' is already in workflow '%s' (line %d): a tool "
					  "belongs to one workflow, except %s, whose "
					  "calls name their workflow",
					  s, c->pi->pub.workflows[w->refs[i].wf].name,
					  w->refs[i].line, routed[0] ? routed : "none");
			return;
		}
	}
	if (w->nrefs == w->caprefs) {
		int cap = w->caprefs ? 2 * w->caprefs : 16;
		struct toolref *nr = realloc(w->refs, (size_t)cap * sizeof *nr);

		if (!nr) {
			c->oom = 1;
			return;
		}
		w->refs = nr;
		w->caprefs = cap;
	}
	w->refs[w->nrefs].tool = t->name;
	w->refs[w->nrefs].wf = wfi;
	w->refs[w->nrefs].line = (int)n->start_mark.line + 1;
	w->nrefs++;
	/* a copy: the policy outlives no row, but owns all it points to */
	name = policy_arena_strdup(c->pi, t->name);
	if (!name) {
		c->oom = 1;
		return;
	}
	w->refs[w->nrefs - 1].tool = name;
	((const char **)wf->tools)[wf->ntools++] = name; /* ours, from the arena */
}

static void parse_tools(struct policy_ctx *c, struct walk *w, int wfi, struct policy_workflow *wf,
			const struct policy_kv *kv, int have_effect)
{
	yaml_node_item_t *it;
	int n;

	if (!policy_want_seq(c, kv, "a list of tool names, e.g. [propose_changes]"))
		return;
	n = policy_seq_len(kv->v);
	if (n == 0) {
		policy_problem_kv(c, kv, "workflow '%s' has no tools: list the tools it accepts",
				  wf->name);
		return;
	}
	wf->tools = policy_arena_alloc(c->pi, (size_t)n * sizeof *wf->tools);
	if (!wf->tools) {
		c->oom = 1;
		return;
	}
	for (it = kv->v->data.sequence.items.start;
	     it < kv->v->data.sequence.items.top && !policy_stop(c); it++)
		check_tool(c, w, wfi, wf, policy_node(c, *it), have_effect);
}

/* custom.NAME: the rest of a custom field's name, letters, digits and '_'. */
static int custom_name_ok(const char *s)
{
	if (strcmp(s, "*") == 0)
		return 1;
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* The names a workflow may write: account fields that are not maintained by
 * airlock and not the record's identity. */
static int writable_fields(const char **names, int max)
{
	const struct book_field *f;
	int n, i, k = 0;

	f = book_fields(BOOK_ACCOUNT, &n);
	for (i = 0; i < n && k < max - 1; i++)
		if (!f[i].system && strcmp(f[i].name, "id") != 0)
			names[k++] = f[i].name;
	names[k++] = "custom.*";
	return k;
}

static void check_field(struct policy_ctx *c, struct policy_workflow *wf, yaml_node_t *n)
{
	const struct book_field *f;
	const char *names[40], *s = policy_scalar(n);
	char hb[96];
	int i;

	if (!s || !*s) {
		policy_problem_at(c, n, "a field must be a name such as tier or custom.score");
		return;
	}
	if (strncmp(s, "custom.", 7) == 0) {
		if (!custom_name_ok(s + 7)) {
			policy_problem_at(
			    c, n,
			    "custom field '%.60s' must be custom.NAME (letters, digits, "
			    "'_') or custom.* (every custom field)",
			    s);
			return;
		}
	} else if (strcmp(s, "custom") == 0) {
		policy_problem_at(c, n,
				  "name custom fields one by one as custom.NAME, or all of them "
				  "as custom.*");
		return;
	} else {
		f = book_field_find(BOOK_ACCOUNT, s);
		if (!f) {
			policy_problem_at(
			    c, n, "unknown field '%.60s'%s", s,
			    policy_hint(hb, sizeof hb, s, names, writable_fields(names, 40)));
			return;
		}
		if (f->system || strcmp(s, "id") == 0) {
			policy_problem_at(
			    c, n, "field '%s' is %s and cannot be written by a workflow", s,
			    f->system ? "maintained by airlock" : "the record's identity");
			return;
		}
	}
	for (i = 0; i < wf->nfields; i++) {
		if (strcmp(wf->fields[i], s) == 0) {
			policy_problem_at(c, n, "field '%s' is listed twice in workflow '%s'", s,
					  wf->name);
			return;
		}
	}
	((const char **)wf->fields)[wf->nfields] = policy_arena_strdup(c->pi, s);
	if (!wf->fields[wf->nfields])
		c->oom = 1;
	else
		wf->nfields++;
}

static void parse_fields(struct policy_ctx *c, struct policy_workflow *wf,
			 const struct policy_kv *kv)
{
	yaml_node_item_t *it;
	int n;

	if (!policy_want_seq(c, kv, "a list of field names, e.g. [tier] or [owner, custom.*]"))
		return;
	n = policy_seq_len(kv->v);
	if (n > FIELDS_MAX) {
		policy_problem_kv(c, kv,
				  "%d fields: list at most %d, or use custom.* for every "
				  "custom field",
				  n, FIELDS_MAX);
		return;
	}
	if (n == 0) {
		policy_problem_kv(c, kv,
				  "write workflow '%s' has no fields: list the fields it may "
				  "change, e.g. [tier]",
				  wf->name);
		return;
	}
	wf->fields = policy_arena_alloc(c->pi, (size_t)n * sizeof *wf->fields);
	if (!wf->fields) {
		c->oom = 1;
		return;
	}
	for (it = kv->v->data.sequence.items.start;
	     it < kv->v->data.sequence.items.top && !policy_stop(c); it++)
		check_field(c, wf, policy_node(c, *it));
}

/* ---- workflows ---- */

enum {
	W_TOOLS,
	W_EFFECT,
	W_REVERSIBLE,
	W_STAGE_MAX,
	W_FIELDS,
	W_SAMPLING,
	W_TTL,
	W_PENDING,
	W_UNATTENDED,
	W_UNATTENDED_MAX,
	W_NKEYS
};
static const char *const workflow_keys[W_NKEYS] = {
    "tools",	"effect", "reversible",		 "stage_max",  "fields",
    "sampling", "ttl",	  "max_pending_batches", "unattended", "unattended_max"};
static const char *const effect_names[] = {"read", "draft", "write", "send"};

static int parse_effect(struct policy_ctx *c, const struct policy_kv *kv, enum policy_effect *out)
{
	const char *s = policy_plain(kv->v);
	char hb[96], buf[80];
	int i;

	for (i = 0; s && i < 4; i++) {
		if (strcmp(s, effect_names[i]) == 0) {
			*out = (enum policy_effect)i;
			return 1;
		}
	}
	policy_problem_kv(c, kv, "effect must be one of read, draft, write, send, not %s%s",
			  policy_describe(kv->v, buf, sizeof buf),
			  s ? policy_hint(hb, sizeof hb, s, effect_names, 4) : "");
	return 0;
}

/* Keys that mean nothing unless the workflow changes the book or sends. */
static void only_for_changes(struct policy_ctx *c, const struct policy_workflow *wf,
			     const struct policy_kv *kv)
{
	const char *k = policy_scalar(kv->k);

	if (strcmp(k, "fields") == 0)
		policy_problem_at(c, kv->k,
				  "fields apply only to write workflows; workflow '%s' has "
				  "effect %s",
				  wf->name, policy_effect_name(wf->effect));
	else
		policy_problem_at(c, kv->k,
				  "%s applies only to write and send workflows; workflow '%s' "
				  "has effect %s",
				  k, wf->name, policy_effect_name(wf->effect));
}

/* The checks that need several keys at once, after each key alone. */
static void check_workflow(struct policy_ctx *c, struct policy_workflow *wf, yaml_node_t *name,
			   const struct policy_kv *kv)
{
	int changes = wf->effect == EFFECT_WRITE || wf->effect == EFFECT_SEND;
	int i;

	if (!changes) {
		for (i = W_STAGE_MAX; i <= W_UNATTENDED_MAX; i++)
			if (kv[i].k && (i == W_STAGE_MAX || i == W_FIELDS || i >= W_UNATTENDED))
				only_for_changes(c, wf, &kv[i]);
		return;
	}
	if (wf->effect == EFFECT_SEND && kv[W_FIELDS].k)
		only_for_changes(c, wf, &kv[W_FIELDS]);
	if (wf->effect == EFFECT_WRITE && POLICY_ABSENT(kv[W_FIELDS]))
		policy_problem_at(c, name,
				  "write workflow '%s' has no fields: list the fields it may "
				  "change, e.g. fields: [tier]",
				  wf->name);
	if (wf->effect == EFFECT_SEND && wf->reversible)
		policy_problem_kv(c, &kv[W_REVERSIBLE],
				  "a sent message cannot be unsent: send workflow "
				  "'%s' must not be reversible",
				  wf->name);
	if (wf->effect == EFFECT_WRITE && wf->reversible && POLICY_ABSENT(kv[W_STAGE_MAX]))
		policy_problem_at(c, name,
				  "reversible workflow '%s' has no stage_max: say how many "
				  "records a batch may alter before a human must approve it",
				  wf->name);
	if (kv[W_UNATTENDED_MAX].k && !wf->unattended)
		policy_problem_at(c, kv[W_UNATTENDED_MAX].k,
				  "unattended_max is set but workflow '%s' "
				  "is not unattended (unattended: true)",
				  wf->name);
	if (wf->unattended && wf->unattended_max > 0 && wf->stage_max > 0 &&
	    wf->unattended_max > wf->stage_max)
		policy_problem_kv(
		    c, &kv[W_UNATTENDED_MAX],
		    "unattended_max %lld exceeds stage_max %lld: a batch too large to "
		    "stage cannot go through with no human at all",
		    (long long)wf->unattended_max, (long long)wf->stage_max);
}

static void parse_workflow(struct policy_ctx *c, struct walk *w, int wfi, yaml_node_t *name,
			   yaml_node_t *body)
{
	struct policy_workflow *wf = &c->pi->pub.workflows[wfi];
	struct policy_kv kv[W_NKEYS], self = {name, body, NULL};
	char where[96];
	int have_effect = 0;

	wf->line = (int)name->start_mark.line + 1;
	wf->col = (int)name->start_mark.column + 1;
	wf->ttl_seconds = c->ttl;
	wf->max_pending = c->pending;
	wf->sampling = c->sampling;
	if (body->type != YAML_MAPPING_NODE) {
		policy_problem_kv(c, &self,
				  "workflow '%s' must be a mapping of its settings (tools, "
				  "effect, ...), not %s",
				  wf->name, policy_describe(body, where, sizeof where));
		return;
	}
	(void)snprintf(where, sizeof where, "in workflow '%s'", wf->name);
	policy_map_keys(c, body, where, workflow_keys, W_NKEYS, kv);
	if (kv[W_EFFECT].k)
		have_effect = parse_effect(c, &kv[W_EFFECT], &wf->effect);
	else if (POLICY_ABSENT(kv[W_EFFECT]))
		policy_problem_at(c, name,
				  "workflow '%s' has no effect: add effect: read, draft, write "
				  "or send",
				  wf->name);
	if (kv[W_TOOLS].k)
		parse_tools(c, w, wfi, wf, &kv[W_TOOLS], have_effect);
	else if (POLICY_ABSENT(kv[W_TOOLS]))
		policy_problem_at(c, name, "workflow '%s' has no tools: list the tools it accepts",
				  wf->name);
	if (kv[W_REVERSIBLE].k)
		policy_val_bool(c, &kv[W_REVERSIBLE], &wf->reversible);
	if (kv[W_STAGE_MAX].k)
		policy_val_int(c, &kv[W_STAGE_MAX], 1, INT32_MAX, "a positive integer",
			       &wf->stage_max);
	if (kv[W_SAMPLING].k) {
		(void)snprintf(where, sizeof where, "in the sampling of workflow '%s'", wf->name);
		parse_sampling(c, &kv[W_SAMPLING], where, &wf->sampling);
	}
	if (kv[W_TTL].k)
		policy_val_duration(c, &kv[W_TTL], &wf->ttl_seconds);
	if (kv[W_PENDING].k)
		policy_val_int(c, &kv[W_PENDING], 1, INT32_MAX, "a positive integer",
			       &wf->max_pending);
	if (kv[W_UNATTENDED].k)
		policy_val_bool(c, &kv[W_UNATTENDED], &wf->unattended);
	if (kv[W_UNATTENDED_MAX].k)
		policy_val_int(c, &kv[W_UNATTENDED_MAX], 1, INT32_MAX, "a positive integer",
			       &wf->unattended_max);
	if (!have_effect)
		return;
	if (kv[W_FIELDS].k && wf->effect == EFFECT_WRITE)
		parse_fields(c, wf, &kv[W_FIELDS]);
	check_workflow(c, wf, name, kv);
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN || !isalpha((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_' &&
		    *s != '-')
			return 0;
	return 1;
}

static void parse_workflows(struct policy_ctx *c, const struct policy_kv *in)
{
	struct policy *p = &c->pi->pub;
	struct walk w = {0};
	yaml_node_pair_t *pr;
	yaml_node_t *k, *v;
	const char *s;
	int n, i;

	if (!policy_want_map(c, in, "a mapping of workflow names to their settings"))
		return;
	n = policy_map_len(in->v);
	if (n > POLICY_WORKFLOWS_MAX) {
		policy_problem_kv(c, in,
				  "%d workflows: more than %d is not a policy a person "
				  "can review",
				  n, POLICY_WORKFLOWS_MAX);
		return;
	}
	if (n == 0) {
		policy_problem_kv(c, in,
				  "no workflows: every tool call would be blocked; define at "
				  "least one (see 'airlock init')");
		return;
	}
	p->workflows = policy_arena_alloc(c->pi, (size_t)n * sizeof *p->workflows);
	if (!p->workflows) {
		c->oom = 1;
		return;
	}
	for (pr = in->v->data.mapping.pairs.start;
	     pr < in->v->data.mapping.pairs.top && !policy_stop(c); pr++) {
		k = policy_node(c, pr->key);
		v = policy_node(c, pr->value);
		s = k ? policy_scalar(k) : NULL;
		if (!k || !v)
			continue;
		if (!s || !name_ok(s)) {
			policy_problem_at(c, k,
					  "a workflow name must start with a letter and hold only "
					  "lowercase letters, digits, '_' or '-' (at most %d)",
					  NAME_MAX_LEN);
			continue;
		}
		for (i = 0; i < p->nworkflows; i++)
			if (strcmp(p->workflows[i].name, s) == 0)
				break;
		if (i < p->nworkflows) {
			policy_problem_at(c, k, "duplicate workflow '%s' (first at line %d)", s,
					  p->workflows[i].line);
			continue;
		}
		p->workflows[p->nworkflows].name = policy_arena_strdup(c->pi, s);
		if (!p->workflows[p->nworkflows].name) {
			c->oom = 1;
			break;
		}
		parse_workflow(c, &w, p->nworkflows++, k, v);
	}
	free(w.refs);
}

/* ---- audience and smtp ---- */

static int domain_ok(const char *s)
{
	const char *dot = strchr(s, '.');

	if (!*s || *s == '.' || *s == '-' || !dot || dot[1] == '\0' || strlen(s) > 253)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-')
			return 0;
	return 1;
}

static void parse_domains(struct policy_ctx *c, const struct policy_kv *kv)
{
	struct policy_audience *a = &c->pi->pub.audience;
	yaml_node_item_t *it;
	yaml_node_t *n;
	const char *s;
	char *d;
	int i;

	if (!policy_want_seq(c, kv, "a list of domains, e.g. [rival.example]"))
		return;
	if (policy_seq_len(kv->v) > DOMAINS_MAX) {
		policy_problem_kv(c, kv, "more than %d competitor domains", DOMAINS_MAX);
		return;
	}
	a->competitor_domains =
	    policy_arena_alloc(c->pi, (size_t)policy_seq_len(kv->v) * sizeof(char *));
	if (!a->competitor_domains) {
		c->oom = 1;
		return;
	}
	for (it = kv->v->data.sequence.items.start;
	     it < kv->v->data.sequence.items.top && !policy_stop(c); it++) {
		n = policy_node(c, *it);
		s = n ? policy_scalar(n) : NULL;
		if (!s || !domain_ok(s)) {
			policy_problem_at(c, n,
					  "a competitor domain must be a bare domain such as "
					  "rival.example (no scheme, path or '@')");
			continue;
		}
		d = policy_arena_strdup(c->pi, s);
		if (!d) {
			c->oom = 1;
			return;
		}
		for (i = 0; d[i]; i++) /* domains compare case-insensitively */
			d[i] = (char)tolower((unsigned char)d[i]);
		for (i = 0; i < a->ncompetitor_domains; i++)
			if (strcmp(a->competitor_domains[i], d) == 0)
				break;
		if (i < a->ncompetitor_domains) {
			policy_problem_at(c, n, "competitor domain '%s' is listed twice", d);
			continue;
		}
		((const char **)a->competitor_domains)[a->ncompetitor_domains++] = d;
	}
}

static const char *const audience_keys[] = {"competitor_domains", "max_touches_per_contact",
					    "touch_window_days"};

static void parse_audience(struct policy_ctx *c, const struct policy_kv *in)
{
	struct policy_audience *a = &c->pi->pub.audience;
	struct policy_kv kv[3];

	if (!policy_want_map(c, in,
			     "a mapping (competitor_domains, max_touches_per_contact, "
			     "touch_window_days)"))
		return;
	policy_map_keys(c, in->v, "in audience", audience_keys, 3, kv);
	if (kv[0].k)
		parse_domains(c, &kv[0]);
	if (kv[1].k)
		policy_val_int(c, &kv[1], 1, 1000, "a positive integer", &a->max_touches);
	if (kv[2].k)
		policy_val_int(c, &kv[2], 1, 3650, "a whole number of days from 1 to 3650",
			       &a->touch_window_days);
}

enum { S_HOST, S_PORT, S_TLS, S_USER, S_PASSENV, S_FROM, S_TIMEOUT, S_ATTEMPTS, S_NKEYS };
static const char *const smtp_keys[S_NKEYS] = {"host",	       "port", "tls",	  "username",
					       "password_env", "from", "timeout", "max_attempts"};
static const char *const tls_names[] = {"none", "starttls", "tls"};

static int env_name_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static void parse_smtp_values(struct policy_ctx *c, struct policy_smtp *m,
			      const struct policy_kv *kv)
{
	const char *s;
	int64_t port = 0;
	char buf[80];
	int i;

	if (kv[S_HOST].k)
		policy_val_string(c, &kv[S_HOST], &m->host);
	if (kv[S_TLS].k) {
		s = policy_plain(kv[S_TLS].v);
		for (i = 0; s && i < 3 && strcmp(s, tls_names[i]) != 0; i++)
			;
		if (s && i < 3)
			m->tls = (enum policy_tls)i;
		else
			policy_problem_kv(c, &kv[S_TLS],
					  "tls must be none, starttls or tls, not %s",
					  policy_describe(kv[S_TLS].v, buf, sizeof buf));
	}
	m->port = m->tls == TLS_IMPLICIT ? 465 : m->tls == TLS_STARTTLS ? 587 : 25;
	if (kv[S_PORT].k &&
	    !policy_val_int(c, &kv[S_PORT], 1, 65535, "a port from 1 to 65535", &port))
		m->port = (int)port;
	if (kv[S_USER].k)
		policy_val_string(c, &kv[S_USER], &m->username);
	if (kv[S_PASSENV].k && !policy_val_string(c, &kv[S_PASSENV], &m->password_env) &&
	    !env_name_ok(m->password_env))
		policy_bad_value(c, &kv[S_PASSENV], "the name of an environment variable");
	if (kv[S_FROM].k && !policy_val_string(c, &kv[S_FROM], &m->from) && !strchr(m->from, '@'))
		policy_bad_value(c, &kv[S_FROM], "an email address");
	if (kv[S_TIMEOUT].k)
		policy_val_duration(c, &kv[S_TIMEOUT], &m->timeout_seconds);
	if (kv[S_ATTEMPTS].k)
		policy_val_int(c, &kv[S_ATTEMPTS], 1, 100, "a whole number from 1 to 100",
			       &m->max_attempts);
}

static void parse_smtp(struct policy_ctx *c, const struct policy_kv *in)
{
	struct policy_smtp *m = &c->pi->pub.smtp;
	struct policy_kv kv[S_NKEYS];

	if (!policy_want_map(c, in, "a mapping (host, port, tls, from, ...)"))
		return;
	policy_map_keys(c, in->v, "in smtp", smtp_keys, S_NKEYS, kv);
	parse_smtp_values(c, m, kv);
	if (POLICY_ABSENT(kv[S_HOST]))
		policy_problem_at(c, in->k, "smtp has no host: give the relay's host name");
	if (POLICY_ABSENT(kv[S_FROM]))
		policy_problem_at(c, in->k, "smtp has no from: give the sender's address");
	if (kv[S_USER].k && !kv[S_PASSENV].k)
		policy_problem_at(c, kv[S_USER].k, "smtp has a username but no password_env");
	if (kv[S_PASSENV].k && !kv[S_USER].k)
		policy_problem_at(c, kv[S_PASSENV].k, "smtp has a password_env but no username");
}

/* ---- notify ---- */

#define URL_MAX 2048

/* http(s)://HOST[:PORT][/PATH]: a host of letters, digits, '.', '-' (or a
 * bracketed IPv6 address), then printable characters with no space, quote,
 * '<' or '>' (they would break the Slack link syntax), no user:password@. */
static int url_ok(const char *u)
{
	const char *p;
	size_t hostlen = 0;

	if (strlen(u) > URL_MAX)
		return 0;
	if (!strncmp(u, "http://", 7))
		p = u + 7;
	else if (!strncmp(u, "https://", 8))
		p = u + 8;
	else
		return 0;
	if (*p == '[') {
		for (p++; *p && *p != ']'; p++, hostlen++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return 0;
		if (*p++ != ']')
			return 0;
	} else {
		for (; isalnum((unsigned char)*p) || *p == '.' || *p == '-'; p++)
			hostlen++;
	}
	if (hostlen == 0)
		return 0;
	if (*p == ':') {
		const char *d = ++p;

		while (isdigit((unsigned char)*p))
			p++;
		if (p == d || p - d > 5)
			return 0;
	}
	if (*p && *p != '/')
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127 || *p == '"' || *p == '<' ||
		    *p == '>' || *p == '\\' || *p == '|')
			return 0;
	return 1;
}

static const char *const notify_keys[] = {"webhook", "console_url"};

static void parse_notify(struct policy_ctx *c, const struct policy_kv *in)
{
	struct policy_notify *n = &c->pi->pub.notify;
	struct policy_kv kv[2];

	if (!policy_want_map(c, in, "a mapping (webhook, console_url)"))
		return;
	policy_map_keys(c, in->v, "in notify", notify_keys, 2, kv);
	if (kv[0].k && !policy_val_string(c, &kv[0], &n->webhook) && !url_ok(n->webhook))
		policy_bad_value(c, &kv[0],
				 "an http:// or https:// URL with a host (the incoming webhook)");
	if (kv[1].k && !policy_val_string(c, &kv[1], &n->console_url) && !url_ok(n->console_url))
		policy_bad_value(c, &kv[1],
				 "an http:// or https:// URL with a host (where reviewers open the "
				 "console)");
	if (POLICY_ABSENT(kv[0]))
		policy_problem_at(c, in->k,
				  "notify has no webhook: give the incoming webhook's URL (or drop "
				  "notify)");
}

/* ---- drift ---- */

/* drift: a mapping of the drift monitor's keys to values; each is checked
 * by the drift module itself, so the two cannot disagree on a name. */
static void parse_drift(struct policy_ctx *c, const struct policy_kv *in)
{
	struct policy *p = &c->pi->pub;
	struct drift_config scratch;
	yaml_node_pair_t *pr;
	yaml_node_t *k, *v;
	const char *ks, *vs;
	struct err err = {0};
	int n;

	if (!policy_want_map(c, in, "a mapping of drift thresholds (e.g. js_alert: 0.1)"))
		return;
	n = policy_map_len(in->v);
	p->drift_keys = policy_arena_alloc(c->pi, (size_t)(n > 0 ? n : 1) * sizeof(char *));
	p->drift_values = policy_arena_alloc(c->pi, (size_t)(n > 0 ? n : 1) * sizeof(char *));
	if (!p->drift_keys || !p->drift_values) {
		c->oom = 1;
		return;
	}
	drift_config_default(&scratch);
	for (pr = in->v->data.mapping.pairs.start; pr < in->v->data.mapping.pairs.top; pr++) {
		if (policy_stop(c))
			break;
		k = policy_node(c, pr->key);
		v = policy_node(c, pr->value);
		if (!k || !v)
			continue;
		ks = policy_scalar(k);
		vs = policy_scalar(v);
		if (!ks || !vs) {
			policy_problem_at(c, vs ? k : v, "drift: give plain key: value pairs");
			continue;
		}
		if (drift_config_set(&scratch, ks, vs, &err)) {
			policy_problem_at(c, v, "%s", err.msg);
			continue;
		}
		/* the document goes away after loading: keep copies */
		ks = policy_arena_strdup(c->pi, ks);
		vs = policy_arena_strdup(c->pi, vs);
		if (!ks || !vs) {
			c->oom = 1;
			return;
		}
		((const char **)p->drift_keys)[p->ndrift] = ks;
		((const char **)p->drift_values)[p->ndrift++] = vs;
	}
	if (!policy_stop(c) && drift_config_check(&scratch, &err))
		policy_problem_at(c, in->k, "%s", err.msg);
}

/* ---- the document ---- */

enum {
	T_VERSION,
	T_DEFAULTS,
	T_WORKFLOWS,
	T_AUDIENCE,
	T_SMTP,
	T_NOTIFY,
	T_DRIFT,
	T_UPSTREAMS,
	T_NKEYS
};
static const char *const top_keys[T_NKEYS] = {"version", "defaults", "workflows", "audience",
					      "smtp",    "notify",   "drift",     "upstreams"};

void policy_schema_root(struct policy_ctx *c, yaml_node_t *root)
{
	struct policy *p = &c->pi->pub;
	struct policy_kv kv[T_NKEYS];
	char buf[80];
	int64_t v;

	if (root->type != YAML_MAPPING_NODE) {
		policy_problem_at(c, root,
				  "the policy must be a mapping (version: 1, workflows: ...), "
				  "not %s",
				  policy_describe(root, buf, sizeof buf));
		return;
	}
	policy_map_keys(c, root, "at the top level", top_keys, T_NKEYS, kv);
	if (POLICY_ABSENT(kv[T_VERSION]))
		policy_problem_at(c, root,
				  "missing 'version: 1' (the version of the policy format)");
	else if (kv[T_VERSION].k) /* a misspelt key was reported already */
		policy_val_int(c, &kv[T_VERSION], 1, 1, "1 (the only version of the format)", &v);
	c->ttl = DEF_TTL;
	c->pending = DEF_PENDING;
	p->evidence_max_age = DEF_EVIDENCE_MAX_AGE;
	c->sampling.confidence = DEF_CONFIDENCE;
	c->sampling.defect_rate = DEF_DEFECT_RATE;
	if (kv[T_DEFAULTS].k)
		parse_defaults(c, &kv[T_DEFAULTS]);
	/* before workflows: a workflow may list an upstream's tool */
	if (kv[T_UPSTREAMS].k)
		policy_schema_upstreams(c, &kv[T_UPSTREAMS]);
	if (kv[T_WORKFLOWS].k)
		parse_workflows(c, &kv[T_WORKFLOWS]);
	else if (POLICY_ABSENT(kv[T_WORKFLOWS]))
		policy_problem_at(c, root,
				  "missing 'workflows': without them every tool call is "
				  "blocked");
	p->audience.max_touches = DEF_MAX_TOUCHES;
	p->audience.touch_window_days = DEF_TOUCH_WINDOW;
	if (kv[T_AUDIENCE].k)
		parse_audience(c, &kv[T_AUDIENCE]);
	p->smtp.port = 25;
	p->smtp.timeout_seconds = DEF_SMTP_TIMEOUT;
	p->smtp.max_attempts = DEF_SMTP_ATTEMPTS;
	if (kv[T_SMTP].k)
		parse_smtp(c, &kv[T_SMTP]);
	if (kv[T_NOTIFY].k)
		parse_notify(c, &kv[T_NOTIFY]);
	if (kv[T_DRIFT].k)
		parse_drift(c, &kv[T_DRIFT]);
}
