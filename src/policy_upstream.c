/* policy_upstream.c — the upstreams: section of airlock.yaml: upstream MCP
 * servers, how to reach them, and which of their tools the agent may use
 * with what effect (policy.h's struct policy_upstream).
 *
 *   upstreams:
 *     crm:
 *       transport: stdio                 # or http
 *       command: dbhub                   # stdio: program and arguments, no shell
 *       args: [--transport, stdio, --config, crm.toml]
 *       env: {DB_PASSWORD: CRM_DB_PASSWORD}   # child's variable: airlock's variable
 *       url: https://mcp.example/mcp     # http only
 *       headers: {Authorization: CRM_AUTH}    # header: variable holding its value
 *       timeout: 30s
 *       max_message: 4194304
 *       tools:
 *         get_account: read
 *         update_tier: write             # no mapping: calls are held (refused)
 *         update_account:                # a mapping: calls become batches
 *           effect: update               # update | create | delete | send
 *           records: /id                 # pointers into the arguments ("*": each element)
 *           fields: [/tier]              # or one pointer to an object field -> value
 *           before: {tool: get_account, args: {id: "{id}"}, path: /rows/0}
 *           undo: same                   # same | irreversible | {tool: NAME}
 *           fixed: {/objectType: companies}   # context that must hold this text
 *
 * Secrets never sit in the file: env and headers name environment
 * variables. A tool not under tools: is neither shown nor callable. */
#include "policy_int.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPSTREAMS_MAX 32
#define UPSTREAM_TOOLS_MAX 500
#define UPSTREAM_NAME_MAX 32
#define UPSTREAM_TOOL_NAME_MAX 64
#define UPSTREAM_LIST_MAX 64 /* args, env, headers */

enum {
	U_TRANSPORT,
	U_COMMAND,
	U_ARGS,
	U_ENV,
	U_URL,
	U_HEADERS,
	U_TIMEOUT,
	U_MAXMSG,
	U_TOOLS,
	U_NKEYS
};
static const char *const upstream_keys[U_NKEYS] = {
    "transport", "command", "args", "env", "url", "headers", "timeout", "max_message", "tools"};
static const char *const effect_names[] = {"read", "draft", "write", "send"};

enum { M_EFFECT, M_RECORDS, M_FIELDS, M_BEFORE, M_UNDO, M_FIXED, M_NKEYS };
static const char *const map_keys[M_NKEYS] = {"effect", "records", "fields",
					      "before", "undo",    "fixed"};
enum { B_TOOL, B_ARGS, B_PATH, B_NKEYS };
static const char *const before_keys[B_NKEYS] = {"tool", "args", "path"};
#define UPSTREAM_POINTERS_MAX 16
#define UPSTREAM_POINTER_MAX 256

/* Lowercase letters, digits and '-': no '_', so NAME__TOOL splits one way. */
static int upstream_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > UPSTREAM_NAME_MAX || !islower((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
			return 0;
	return 1;
}

/* What MCP allows in a tool name: [A-Za-z0-9_.-], 1 to 64 here. */
static int tool_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > UPSTREAM_TOOL_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

static int env_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* An HTTP header name: a token of letters, digits and '-'. */
static int header_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return 0;
	return 1;
}

/* http(s)://HOST... with no blanks or control characters. */
static int url_ok(const char *u)
{
	const char *p;

	if (strlen(u) > 2048)
		return 0;
	if (!strncmp(u, "http://", 7))
		p = u + 7;
	else if (!strncmp(u, "https://", 8))
		p = u + 8;
	else
		return 0;
	if (!isalnum((unsigned char)*p) && *p != '[')
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127)
			return 0;
	return 1;
}

static void parse_args(struct policy_ctx *c, struct policy_upstream *u, const struct policy_kv *kv)
{
	yaml_node_item_t *it;
	const char *s;
	int n;

	if (!policy_want_seq(c, kv, "a list of arguments, e.g. [--transport, stdio]"))
		return;
	n = policy_seq_len(kv->v);
	if (n > UPSTREAM_LIST_MAX) {
		policy_problem_kv(c, kv, "more than %d arguments", UPSTREAM_LIST_MAX);
		return;
	}
	u->args = policy_arena_alloc(c->pi, (size_t)(n + 1) * sizeof *u->args);
	if (!u->args) {
		c->oom = 1;
		return;
	}
	for (it = kv->v->data.sequence.items.start; it < kv->v->data.sequence.items.top; it++) {
		yaml_node_t *a = policy_node(c, *it);

		s = a ? policy_scalar(a) : NULL;
		if (!s) {
			policy_problem_at(c, a, "an argument must be text");
			continue;
		}
		if (!(s = policy_arena_strdup(c->pi, s))) {
			c->oom = 1;
			return;
		}
		((const char **)u->args)[u->nargs++] = s;
	}
}

/* A mapping NAME: ENVVAR (env: and headers:); names checked by ok. */
static void parse_env_map(struct policy_ctx *c, const struct policy_kv *kv, const char *what,
			  int (*ok)(const char *), const char *const **names,
			  const char *const **vars, int *n)
{
	yaml_node_pair_t *pr;
	int len;

	if (!policy_want_map(c, kv, what))
		return;
	len = policy_map_len(kv->v);
	if (len > UPSTREAM_LIST_MAX) {
		policy_problem_kv(c, kv, "more than %d entries", UPSTREAM_LIST_MAX);
		return;
	}
	*names = policy_arena_alloc(c->pi, (size_t)(len + 1) * sizeof **names);
	*vars = policy_arena_alloc(c->pi, (size_t)(len + 1) * sizeof **vars);
	if (!*names || !*vars) {
		c->oom = 1;
		return;
	}
	for (pr = kv->v->data.mapping.pairs.start; pr < kv->v->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = policy_node(c, pr->key), *v = policy_node(c, pr->value);
		const char *ks = k ? policy_scalar(k) : NULL, *vs = v ? policy_scalar(v) : NULL;

		if (!ks || !ok(ks)) {
			policy_problem_at(c, k, "'%.60s' is not a valid name here (%s)",
					  ks ? ks : "?", what);
			continue;
		}
		if (!vs || !env_ok(vs)) {
			policy_problem_at(c, v ? v : k,
					  "the value of %s must be the name of an environment "
					  "variable that holds it, never the secret itself",
					  ks);
			continue;
		}
		ks = policy_arena_strdup(c->pi, ks);
		vs = policy_arena_strdup(c->pi, vs);
		if (!ks || !vs) {
			c->oom = 1;
			return;
		}
		((const char **)*names)[*n] = ks;
		((const char **)*vars)[(*n)++] = vs;
	}
}

/* A JSON pointer into a tool's arguments or result: "" (the whole) or
 * "/a/b", a segment "*" standing for every element of an array. */
static int pointer_ok(const char *s, int whole_ok)
{
	size_t n = strlen(s);

	if (n == 0)
		return whole_ok;
	if (s[0] != '/' || n > UPSTREAM_POINTER_MAX)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s == 127)
			return 0;
	return 1;
}

/* records: and fields: — one pointer or a list of them. */
static void parse_pointers(struct policy_ctx *c, const struct policy_kv *kv, const char *what,
			   const char *const **out, int *n)
{
	yaml_node_item_t *it;
	const char *s;
	int len;

	if (kv->v && kv->v->type == YAML_SCALAR_NODE) {
		s = policy_scalar(kv->v);
		if (!s || !pointer_ok(s, 0)) {
			policy_bad_value(c, kv, "a JSON pointer into the arguments, e.g. /id or "
						"/inputs/*/id");
			return;
		}
		*out = policy_arena_alloc(c->pi, sizeof **out);
		if (!*out || !(s = policy_arena_strdup(c->pi, s))) {
			c->oom = 1;
			return;
		}
		((const char **)*out)[0] = s;
		*n = 1;
		return;
	}
	if (!policy_want_seq(c, kv, what))
		return;
	len = policy_seq_len(kv->v);
	if (len == 0 || len > UPSTREAM_POINTERS_MAX) {
		policy_problem_kv(c, kv, "give 1 to %d JSON pointers", UPSTREAM_POINTERS_MAX);
		return;
	}
	*out = policy_arena_alloc(c->pi, (size_t)len * sizeof **out);
	if (!*out) {
		c->oom = 1;
		return;
	}
	for (it = kv->v->data.sequence.items.start; it < kv->v->data.sequence.items.top; it++) {
		yaml_node_t *a = policy_node(c, *it);

		s = a ? policy_scalar(a) : NULL;
		if (!s || !pointer_ok(s, 0)) {
			policy_problem_at(c, a, "'%.60s' is not a JSON pointer such as /id or "
						"/inputs/*/id",
					  s ? s : "?");
			continue;
		}
		if (!(s = policy_arena_strdup(c->pi, s))) {
			c->oom = 1;
			return;
		}
		((const char **)*out)[(*n)++] = s;
	}
}

/* A YAML value as JSON: mappings, lists and text (every scalar a string). */
static json_t *yaml_json(struct policy_ctx *c, yaml_node_t *n, int depth)
{
	json_t *o;

	if (!n || depth > 16)
		return NULL;
	if (n->type == YAML_SCALAR_NODE)
		return policy_scalar(n) ? json_string(policy_scalar(n)) : NULL;
	if (n->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it;

		o = json_array();
		for (it = n->data.sequence.items.start; o && it < n->data.sequence.items.top; it++) {
			json_t *v = yaml_json(c, policy_node(c, *it), depth + 1);

			if (!v || json_array_append_new(o, v)) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
	if (n->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *pr;

		o = json_object();
		for (pr = n->data.mapping.pairs.start; o && pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = policy_node(c, pr->key);
			const char *ks = k ? policy_scalar(k) : NULL;
			json_t *v = yaml_json(c, policy_node(c, pr->value), depth + 1);

			if (!ks || !v || json_object_set_new(o, ks, v)) {
				json_decref(v);
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
	return NULL;
}

/* fixed: {POINTER: text, ...} */
static void parse_fixed(struct policy_ctx *c, struct policy_upstream_map *m,
			const struct policy_kv *kv)
{
	yaml_node_pair_t *pr;
	int len;

	if (!policy_want_map(c, kv, "a mapping of JSON pointer: the only text allowed there"))
		return;
	len = policy_map_len(kv->v);
	if (len > UPSTREAM_POINTERS_MAX) {
		policy_problem_kv(c, kv, "more than %d fixed arguments", UPSTREAM_POINTERS_MAX);
		return;
	}
	m->fixed = policy_arena_alloc(c->pi, (size_t)(len + 1) * sizeof *m->fixed);
	m->fixed_values = policy_arena_alloc(c->pi, (size_t)(len + 1) * sizeof *m->fixed_values);
	if (!m->fixed || !m->fixed_values) {
		c->oom = 1;
		return;
	}
	for (pr = kv->v->data.mapping.pairs.start; pr < kv->v->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = policy_node(c, pr->key), *v = policy_node(c, pr->value);
		const char *ks = k ? policy_scalar(k) : NULL, *vs = v ? policy_scalar(v) : NULL;

		if (!ks || !pointer_ok(ks, 0) || strchr(ks, '*')) {
			policy_problem_at(c, k, "a fixed argument is a JSON pointer without \"*\", "
						"e.g. /objectType");
			continue;
		}
		if (!vs) {
			policy_problem_at(c, v ? v : k, "the value of fixed argument %s must be text",
					  ks);
			continue;
		}
		ks = policy_arena_strdup(c->pi, ks);
		vs = policy_arena_strdup(c->pi, vs);
		if (!ks || !vs) {
			c->oom = 1;
			return;
		}
		((const char **)m->fixed)[m->nfixed] = ks;
		((const char **)m->fixed_values)[m->nfixed++] = vs;
	}
}

/* before: {tool, args: {...}, path}; args become JSON text. */
static void parse_before(struct policy_ctx *c, struct policy_upstream_map *m,
			 const struct policy_kv *kv, const char *tool)
{
	struct policy_kv b[B_NKEYS];
	json_t *args;
	char where[120], *txt;

	if (!policy_want_map(c, kv, "a mapping: {tool: a read tool, args: {...}, path: /...}"))
		return;
	(void)snprintf(where, sizeof where, "in before of tool '%s'", tool);
	policy_map_keys(c, kv->v, where, before_keys, B_NKEYS, b);
	if (!b[B_TOOL].k) {
		policy_problem_kv(c, kv, "before of tool '%s' names no tool: give the read tool "
					 "that returns a record's current values",
				  tool);
		return;
	}
	policy_val_string(c, &b[B_TOOL], &m->before_tool);
	if (b[B_PATH].k && !policy_val_string(c, &b[B_PATH], &m->before_path) &&
	    !pointer_ok(m->before_path, 1))
		policy_bad_value(c, &b[B_PATH], "a JSON pointer into the tool's result, e.g. /rows/0");
	if (!m->before_path)
		m->before_path = "";
	args = NULL;
	if (b[B_ARGS].k && policy_want_map(c, &b[B_ARGS], "a mapping of arguments (\"{id}\" "
							  "is the record id)") &&
	    !(args = yaml_json(c, b[B_ARGS].v, 0))) {
		policy_problem_kv(c, &b[B_ARGS], "the arguments of before are mappings, lists and "
						 "text, at most 16 deep");
		return;
	}
	if (!args && !(args = json_object())) {
		c->oom = 1;
		return;
	}
	txt = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(args);
	if (!txt || !(m->before_args = policy_arena_strdup(c->pi, txt)))
		c->oom = 1;
	free(txt);
}

/* undo: same | irreversible | {tool: NAME}. */
static void parse_undo(struct policy_ctx *c, struct policy_upstream_map *m,
		       const struct policy_kv *kv)
{
	const char *s = kv->v ? policy_scalar(kv->v) : NULL;
	struct policy_kv t[1];
	static const char *const undo_keys[] = {"tool"};

	if (s && !strcmp(s, "same")) {
		m->undo_tool = "";
		return;
	}
	if (s && !strcmp(s, "irreversible")) {
		m->undo_tool = NULL;
		return;
	}
	if (!kv->v || kv->v->type != YAML_MAPPING_NODE) {
		policy_bad_value(c, kv, "same, irreversible or {tool: NAME}");
		return;
	}
	policy_map_keys(c, kv->v, "in undo", undo_keys, 1, t);
	if (!t[0].k)
		policy_problem_kv(c, kv, "undo names no tool: give {tool: NAME}, same or "
					 "irreversible");
	else
		policy_val_string(c, &t[0], &m->undo_tool);
}

/* A tool entry written as a mapping: how its calls become batches. */
static void parse_map(struct policy_ctx *c, struct policy_upstream_tool *t, yaml_node_t *name,
		      yaml_node_t *map)
{
	static const char *const actions[] = {"update", "create", "delete", "send"};
	struct policy_upstream_map *m = &t->map;
	struct policy_kv kv[M_NKEYS];
	char where[120], buf[80];
	const char *s;
	int a;

	(void)snprintf(where, sizeof where, "in tool '%s'", t->name);
	policy_map_keys(c, map, where, map_keys, M_NKEYS, kv);
	m->line = (int)name->start_mark.line + 1;
	s = kv[M_EFFECT].k ? policy_plain(kv[M_EFFECT].v) : NULL;
	for (a = 0; s && a < 4 && strcmp(s, actions[a]); a++)
		;
	if (!kv[M_EFFECT].k) {
		if (POLICY_ABSENT(kv[M_EFFECT]))
			policy_problem_at(c, name, "tool '%s' has no effect: give update, create, "
						   "delete or send",
					  t->name);
		return;
	}
	if (!s || a == 4) {
		policy_problem_kv(c, &kv[M_EFFECT],
				  "effect of tool '%s' must be update, create, delete or send, not %s",
				  t->name, policy_describe(kv[M_EFFECT].v, buf, sizeof buf));
		return;
	}
	m->action = (enum policy_upstream_action)(UPSTREAM_UPDATE + a);
	t->effect = m->action == UPSTREAM_SEND ? EFFECT_SEND : EFFECT_WRITE;
	if (kv[M_RECORDS].k)
		parse_pointers(c, &kv[M_RECORDS], "a JSON pointer or a list of them", &m->records,
			       &m->nrecords);
	else if (POLICY_ABSENT(kv[M_RECORDS]))
		policy_problem_at(c, name, "tool '%s' has no records: give the pointer to the "
					   "record ids in its arguments, e.g. /id",
				  t->name);
	if (kv[M_FIELDS].k) {
		parse_pointers(c, &kv[M_FIELDS], "a JSON pointer or a list of them", &m->fields,
			       &m->nfields);
		/* one pointer written as text: an object of field -> value */
		m->fields_object = kv[M_FIELDS].v && kv[M_FIELDS].v->type == YAML_SCALAR_NODE;
	} else if (m->action == UPSTREAM_UPDATE && POLICY_ABSENT(kv[M_FIELDS]))
		policy_problem_at(c, name, "tool '%s' has no fields: give the pointers to the "
					   "fields it writes",
				  t->name);
	if (kv[M_FIXED].k)
		parse_fixed(c, m, &kv[M_FIXED]);
	if (kv[M_BEFORE].k)
		parse_before(c, m, &kv[M_BEFORE], t->name);
	else if (m->action == UPSTREAM_UPDATE && POLICY_ABSENT(kv[M_BEFORE]))
		policy_problem_at(c, name,
				  "tool '%s' has no before: an update needs the read tool that "
				  "gives a record's current values",
				  t->name);
	m->undo_tool = m->action == UPSTREAM_UPDATE ? "" : NULL;
	if (kv[M_UNDO].k) {
		parse_undo(c, m, &kv[M_UNDO]);
		if (m->action != UPSTREAM_UPDATE && m->undo_tool)
			policy_problem_kv(c, &kv[M_UNDO],
					  "tool '%s' %ss: that is irreversible, so undo must be "
					  "irreversible",
					  t->name, actions[a]);
	}
}

/* Tools a mapping names (before, undo) are tools of the same upstream, with
 * the effect they need. */
static void check_maps(struct policy_ctx *c, struct policy_upstream *u)
{
	for (int i = 0; i < u->ntools; i++) {
		const struct policy_upstream_map *m = &u->tools[i].map;
		const struct policy_upstream_tool *o;
		yaml_mark_t at = {0, (size_t)m->line - 1, 0}; /* the map's line */

		if (m->action == UPSTREAM_NONE)
			continue;
		if (m->before_tool) {
			o = policy_upstream_tool(u, m->before_tool);
			if (!o || o->effect != EFFECT_READ)
				policy_problem_mark(c, &at,
						    "before of tool '%s' names '%s', which is not a "
						    "read tool of upstream '%s'",
						    u->tools[i].name, m->before_tool, u->name);
		}
		if (m->undo_tool && *m->undo_tool) {
			o = policy_upstream_tool(u, m->undo_tool);
			if (!o || o->effect != EFFECT_WRITE)
				policy_problem_mark(c, &at,
						    "undo of tool '%s' names '%s', which is not a "
						    "write tool of upstream '%s'",
						    u->tools[i].name, m->undo_tool, u->name);
		}
	}
}

static void parse_tools(struct policy_ctx *c, struct policy_upstream *u, const struct policy_kv *kv)
{
	yaml_node_pair_t *pr;
	char buf[80];
	int n, i, e;

	if (!policy_want_map(c, kv,
			     "a mapping of the upstream's tool names to read, draft, "
			     "write or send"))
		return;
	n = policy_map_len(kv->v);
	if (n == 0 || n > UPSTREAM_TOOLS_MAX) {
		policy_problem_kv(c, kv,
				  "upstream '%s' must list 1 to %d tools: a tool not listed is "
				  "neither shown nor callable",
				  u->name, UPSTREAM_TOOLS_MAX);
		return;
	}
	u->tools = policy_arena_alloc(c->pi, (size_t)n * sizeof *u->tools);
	if (!u->tools) {
		c->oom = 1;
		return;
	}
	for (pr = kv->v->data.mapping.pairs.start;
	     pr < kv->v->data.mapping.pairs.top && !policy_stop(c); pr++) {
		yaml_node_t *k = policy_node(c, pr->key), *v = policy_node(c, pr->value);
		const char *ks = k ? policy_scalar(k) : NULL, *vs = v ? policy_plain(v) : NULL;

		if (!ks || !tool_name_ok(ks)) {
			policy_problem_at(c, k,
					  "a tool name is 1 to %d letters, digits, '_', '-' or '.'",
					  UPSTREAM_TOOL_NAME_MAX);
			continue;
		}
		if (strlen(u->name) + 2 + strlen(ks) > UPSTREAM_TOOL_NAME_MAX) {
			/* the agent's name for it, NAME__TOOL, must be a valid tool name */
			policy_problem_at(
			    c, k,
			    "'%s__%s' (the name the agent would see) is longer than %d "
			    "characters: shorten the upstream's name",
			    u->name, ks, UPSTREAM_TOOL_NAME_MAX);
			continue;
		}
		for (i = 0; i < u->ntools; i++)
			if (!strcmp(u->tools[i].name, ks))
				break;
		if (i < u->ntools) {
			policy_problem_at(c, k, "tool '%s' is listed twice in upstream '%s'", ks,
					  u->name);
			continue;
		}
		if (v && v->type == YAML_MAPPING_NODE) {
			struct policy_upstream_tool *t = &u->tools[u->ntools];

			if (!(t->name = policy_arena_strdup(c->pi, ks))) {
				c->oom = 1;
				return;
			}
			t->line = (int)k->start_mark.line + 1;
			parse_map(c, t, k, v);
			u->ntools++;
			continue;
		}
		for (e = 0; vs && e < 4 && strcmp(vs, effect_names[e]); e++)
			;
		if (!vs || e == 4) {
			policy_problem_at(
			    c, v ? v : k,
			    "tool '%s' of upstream '%s' must be read, draft, write or "
			    "send (or a mapping with effect, records, ...), not %s",
			    ks, u->name, policy_describe(v, buf, sizeof buf));
			continue;
		}
		if (!(u->tools[u->ntools].name = policy_arena_strdup(c->pi, ks))) {
			c->oom = 1;
			return;
		}
		u->tools[u->ntools].effect = (enum policy_effect)e;
		u->tools[u->ntools++].line = (int)k->start_mark.line + 1;
	}
}

static void parse_upstream(struct policy_ctx *c, struct policy_upstream *u, yaml_node_t *name,
			   yaml_node_t *map)
{
	struct policy_kv kv[U_NKEYS], in = {name, map, NULL};
	char where[80], buf[80];
	const char *s;
	int64_t v;

	if (!policy_want_map(c, &in, "a mapping (transport, command or url, tools, ...)"))
		return;
	(void)snprintf(where, sizeof where, "in upstream '%s'", u->name);
	policy_map_keys(c, map, where, upstream_keys, U_NKEYS, kv);
	s = kv[U_TRANSPORT].k ? policy_plain(kv[U_TRANSPORT].v) : NULL;
	if (POLICY_ABSENT(kv[U_TRANSPORT])) {
		policy_problem_at(c, name, "upstream '%s' has no transport: give stdio or http",
				  u->name);
		return;
	} else if (!kv[U_TRANSPORT].k) {
		return;
	} else if (s && !strcmp(s, "stdio")) {
		u->transport = UPSTREAM_STDIO;
	} else if (s && !strcmp(s, "http")) {
		u->transport = UPSTREAM_HTTP;
	} else {
		policy_problem_kv(c, &kv[U_TRANSPORT], "transport must be stdio or http, not %s",
				  policy_describe(kv[U_TRANSPORT].v, buf, sizeof buf));
		return;
	}
	if (u->transport == UPSTREAM_STDIO) {
		if (kv[U_COMMAND].k)
			policy_val_string(c, &kv[U_COMMAND], &u->command);
		else if (POLICY_ABSENT(kv[U_COMMAND]))
			policy_problem_at(c, name,
					  "upstream '%s' (stdio) has no command: give the program "
					  "airlock starts",
					  u->name);
		if (kv[U_ARGS].k)
			parse_args(c, u, &kv[U_ARGS]);
		if (kv[U_ENV].k)
			parse_env_map(c, &kv[U_ENV],
				      "env: the child's variable: airlock's variable", env_ok,
				      &u->env_names, &u->env_from, &u->nenv);
		if (kv[U_URL].k)
			policy_problem_at(c, kv[U_URL].k, "url is for transport http, not stdio");
		if (kv[U_HEADERS].k)
			policy_problem_at(c, kv[U_HEADERS].k,
					  "headers are for transport http, not stdio");
	} else {
		if (kv[U_URL].k && !policy_val_string(c, &kv[U_URL], &u->url) && !url_ok(u->url))
			policy_bad_value(c, &kv[U_URL], "an http:// or https:// URL");
		else if (POLICY_ABSENT(kv[U_URL]))
			policy_problem_at(c, name, "upstream '%s' (http) has no url", u->name);
		if (kv[U_HEADERS].k)
			parse_env_map(c, &kv[U_HEADERS],
				      "headers: the header's name: the variable holding its value",
				      header_ok, &u->header_names, &u->header_env, &u->nheaders);
		for (int i = U_COMMAND; i <= U_ENV; i++)
			if (kv[i].k)
				policy_problem_at(c, kv[i].k, "%s is for transport stdio, not http",
						  upstream_keys[i]);
	}
	if (kv[U_TIMEOUT].k)
		policy_val_duration(c, &kv[U_TIMEOUT], &u->timeout_seconds);
	if (kv[U_MAXMSG].k && !policy_val_int(c, &kv[U_MAXMSG], 1024, 64 * 1024 * 1024,
					      "a byte count from 1024 to 67108864", &v))
		u->max_message = v;
	if (kv[U_TOOLS].k) {
		parse_tools(c, u, &kv[U_TOOLS]);
		check_maps(c, u);
	}
	else if (POLICY_ABSENT(kv[U_TOOLS]))
		policy_problem_at(c, name,
				  "upstream '%s' has no tools: list each tool the agent may use "
				  "with read, draft, write or send",
				  u->name);
}

void policy_schema_upstreams(struct policy_ctx *c, const struct policy_kv *in)
{
	struct policy *p = &c->pi->pub;
	yaml_node_pair_t *pr;
	int n, i;

	if (!policy_want_map(c, in, "a mapping of upstream names to their settings"))
		return;
	n = policy_map_len(in->v);
	if (n > UPSTREAMS_MAX) {
		policy_problem_kv(c, in, "more than %d upstreams", UPSTREAMS_MAX);
		return;
	}
	p->upstreams = policy_arena_alloc(c->pi, (size_t)(n + 1) * sizeof *p->upstreams);
	if (!p->upstreams) {
		c->oom = 1;
		return;
	}
	for (pr = in->v->data.mapping.pairs.start;
	     pr < in->v->data.mapping.pairs.top && !policy_stop(c); pr++) {
		yaml_node_t *k = policy_node(c, pr->key), *v = policy_node(c, pr->value);
		const char *s = k ? policy_scalar(k) : NULL;
		struct policy_upstream *u;

		if (!k || !v)
			continue;
		if (!s || !upstream_name_ok(s)) {
			policy_problem_at(
			    c, k,
			    "an upstream name starts with a lowercase letter and holds "
			    "only lowercase letters, digits or '-' (at most %d)",
			    UPSTREAM_NAME_MAX);
			continue;
		}
		for (i = 0; i < p->nupstreams; i++)
			if (!strcmp(p->upstreams[i].name, s))
				break;
		if (i < p->nupstreams) {
			policy_problem_at(c, k, "duplicate upstream '%s' (first at line %d)", s,
					  p->upstreams[i].line);
			continue;
		}
		u = &p->upstreams[p->nupstreams++];
		if (!(u->name = policy_arena_strdup(c->pi, s))) {
			c->oom = 1;
			return;
		}
		u->line = (int)k->start_mark.line + 1;
		u->col = (int)k->start_mark.column + 1;
		parse_upstream(c, u, k, v);
	}
}

const struct policy_upstream *policy_upstream(const struct policy *p, const char *name)
{
	for (int i = 0; p && name && i < p->nupstreams; i++)
		if (!strcmp(p->upstreams[i].name, name))
			return &p->upstreams[i];
	return NULL;
}

const struct policy_upstream_tool *policy_upstream_tool(const struct policy_upstream *u,
							const char *tool)
{
	for (int i = 0; u && tool && i < u->ntools; i++)
		if (!strcmp(u->tools[i].name, tool))
			return &u->tools[i];
	return NULL;
}
