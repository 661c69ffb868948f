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
 *       tools: {get_account: read, update_tier: write}
 *
 * Secrets never sit in the file: env and headers name environment
 * variables. A tool not under tools: is neither shown nor callable. */
#include "policy_int.h"

#include <ctype.h>
#include <stdio.h>
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
		for (e = 0; vs && e < 4 && strcmp(vs, effect_names[e]); e++)
			;
		if (!vs || e == 4) {
			policy_problem_at(
			    c, v ? v : k,
			    "tool '%s' of upstream '%s' must be read, draft, write or "
			    "send, not %s",
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
	if (kv[U_TOOLS].k)
		parse_tools(c, u, &kv[U_TOOLS]);
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
