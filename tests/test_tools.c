/* test_tools.c — the one tool registry: every layer that names a tool
 * (tools/list and tools/call, the gate's dispatch, the policy's tool lists,
 * help text) agrees with the registry's rows; a row added at run time (as an
 * upstream server's tool would be) appears in each of them, a hidden row in
 * none; and rows that would shadow or mislabel a tool are refused. */
#include "testutil.h"

#include <fcntl.h>

#include "cli.h"
#include "gate.h"
#include "mcp.h"
#include "policy.h"
#include "tools.h"

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/airlock-tools-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tools_reset();
	return 0;
}

static int remove_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_policy(const char *text)
{
	static char path[400];
	FILE *f;

	snprintf(path, sizeof path, "%s/p.yaml", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* What cli_put_usage prints for a verb (malloc'd). */
static char *usage_of(const char *verb)
{
	char path[400], *buf;
	int fd, saved;
	long n;
	FILE *f;

	snprintf(path, sizeof path, "%s/usage.txt", tmpdir);
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	cli_put_usage(cli_find(verb)->usage);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The names tools/list of a server answers, in order, as "a b c". */
static void listed(struct mcp_server *srv, struct mcp_session *ses, char *buf, size_t len)
{
	const char *msg = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}";
	char *reply = NULL;
	json_t *r, *t;
	size_t i;

	assert_int_equal(mcp_handle(srv, ses, msg, strlen(msg), &reply), 0);
	r = json_loads(reply, 0, NULL);
	free(reply);
	assert_non_null(r);
	buf[0] = '\0';
	json_array_foreach(json_object_get(json_object_get(r, "result"), "tools"), i, t)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s ",
			 json_string_value(json_object_get(t, "name")));
	json_decref(r);
}

/* The tools/call answer (decoded) for name with args. */
static json_t *call(struct mcp_server *srv, struct mcp_session *ses, const char *name,
		    const char *args)
{
	char msg[1024], *reply = NULL;
	json_t *r;

	snprintf(msg, sizeof msg,
		 "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"%s\",\"arguments\":%s}}",
		 name, args);
	mcp_handle(srv, ses, msg, strlen(msg), &reply);
	r = json_loads(reply, 0, NULL);
	free(reply);
	assert_non_null(r);
	return r;
}

static void initialize(struct mcp_server *srv, struct mcp_session *ses)
{
	const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
			   "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
			   "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
	const char *ready = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
	char *reply = NULL;

	mcp_session_init(ses, "tester");
	assert_int_equal(mcp_handle(srv, ses, init, strlen(init), &reply), 0);
	free(reply);
	reply = NULL;
	mcp_handle(srv, ses, ready, strlen(ready), &reply);
	free(reply);
}

/* A policy that lists every visible tool of the registry in a workflow of
 * its effect (malloc'd YAML). */
static char *policy_for_registry(void)
{
	static const struct {
		enum policy_effect e;
		const char *head;
	} wfs[] = {
	    {EFFECT_READ, "  r:\n    effect: read\n    tools: ["},
	    {EFFECT_WRITE, "  w:\n    effect: write\n    reversible: false\n    fields: [tier]\n"
			   "    tools: ["},
	    {EFFECT_DRAFT, "  d:\n    effect: draft\n    tools: ["},
	    {EFFECT_SEND, "  s:\n    effect: send\n    reversible: false\n    tools: ["},
	};
	char *y = calloc(1, 16384);
	const struct tools_row *row;
	size_t w;
	int i, k;

	assert_non_null(y);
	strcat(y, "version: 1\nworkflows:\n");
	for (w = 0; w < sizeof wfs / sizeof wfs[0]; w++) {
		strcat(y, wfs[w].head);
		for (i = 0, k = 0; (row = tools_at(i)); i++)
			if (row->effect == wfs[w].e && !tools_hidden(row)) {
				if (k++)
					strcat(y, ", ");
				strcat(y, row->name);
			}
		strcat(y, "]\n");
	}
	return y;
}

/* Every layer agrees with the registry, row by row. */
static void check_layers_agree(void)
{
	struct testdb db;
	struct mcp_server rd, wr;
	struct mcp_session rs, ws;
	struct err err = {0};
	struct gate g = {0};
	struct gate_call gc = {0};
	const struct tools_row *row;
	char rlist[4096], wlist[4096], want[64], *help_mcp, *help_propose, *yaml;
	enum policy_effect e;
	json_t *problems = NULL, *res, *args = json_object();
	int i, nvisible = 0;
	struct store *s = testutil_store_open(&db);

	assert_ok(mcp_server_init(&rd, MCP_READ, s, NULL, &err), &err);
	assert_ok(mcp_server_init(&wr, MCP_WRITE, s, NULL, &err), &err);
	initialize(&rd, &rs);
	initialize(&wr, &ws);
	listed(&rd, &rs, rlist, sizeof rlist);
	listed(&wr, &ws, wlist, sizeof wlist);
	help_mcp = usage_of("mcp");
	help_propose = usage_of("propose");
	yaml = policy_for_registry();
	assert_ok(policy_check(write_policy(yaml), &problems, &err), &err);
	if (json_array_size(problems))
		fail_msg("a policy naming every tool by its effect has problems: %s\n%s",
			 json_dumps(problems, 0), yaml);
	json_decref(problems);
	free(yaml);
	g.store = s;
	gc.principal = "agent:tester";
	gc.surface = "cli";
	for (i = 0; (row = tools_at(i)); i++) {
		int read = row->connector == TOOLS_READ, hidden = tools_hidden(row);

		snprintf(want, sizeof want, "%s ", row->name);
		/* tools/list: on its own connector only, and only while visible */
		assert_int_equal(strstr(read ? rlist : wlist, want) != NULL, !hidden);
		assert_null(strstr(read ? wlist : rlist, want));
		assert_int_equal(mcp_tool_connector(row->name), hidden ? -1 : (int)row->connector);
		/* the policy: the same effect and routing */
		assert_ok(policy_tool_effect(row->name, &e), &err);
		assert_int_equal(e, row->effect);
		assert_int_equal(policy_tool_routed(row->name), row->routed);
		/* help: `mcp --help` names every visible tool, `propose --help`
		 * every visible write tool */
		assert_int_equal(strstr(help_mcp, row->name) != NULL, !hidden);
		assert_int_equal(strstr(help_propose, row->name) != NULL, !hidden && !read);
		/* the gate: a write tool is dispatched (with no policy, refused on
		 * the record), a read tool never reaches it */
		gc.tool = row->name;
		res = NULL;
		memset(&err, 0, sizeof err);
		if (read) {
			assert_int_equal(gate_call_tool(&g, &gc, args, &res, &err), AIRLOCK_EINVAL);
			assert_non_null(strstr(err.msg, "does not go through the gate"));
		} else if (!hidden) {
			/* its own checks answer (a decision, or what its arguments lack) */
			if (gate_call_tool(&g, &gc, args, &res, &err) == 0)
				assert_non_null(json_object_get(res, "decision"));
			else
				assert_null(strstr(err.msg, "does not go through the gate"));
		}
		json_decref(res);
		nvisible += !hidden;
	}
	/* nothing listed that is not a row */
	for (i = 0, e = 0; rlist[i]; i++)
		e += rlist[i] == ' ';
	for (i = 0; wlist[i]; i++)
		e += wlist[i] == ' ';
	assert_int_equal((int)e, nvisible);
	json_decref(args);
	free(help_mcp);
	free(help_propose);
	mcp_server_free(&rd);
	mcp_server_free(&wr);
	testutil_store_close(&db);
}

static void test_every_layer_agrees(void **state)
{
	const struct tools_row *row;

	(void)state;
	/* airlock's own ten tools, read connector first, names unique */
	assert_int_equal(tools_count(), 10);
	assert_string_equal(tools_at(0)->name, "search_accounts");
	row = tools_default_write();
	assert_non_null(row);
	assert_string_equal(row->name, "propose_changes");
	assert_true(row->routed);
	assert_int_equal(row->fields_kind, TOOLS_FIELDS_NAME);
	check_layers_agree();
}

/* ---- rows added at run time ---- */

static int probe_calls;

static int probe_run(struct mcp_server *srv, struct mcp_session *ses, const struct tools_row *row,
		     json_t *args, json_t **result, struct err *err)
{
	(void)srv;
	(void)ses;
	(void)err;
	probe_calls++;
	*result = json_pack("{s:s,s:O}", "tool", row->name, "q", json_object_get(args, "q"));
	return 0;
}

static int probe_gate(struct gate *g, const struct gate_call *call, const struct tools_row *row,
		      json_t *args, json_t **result, struct err *err)
{
	(void)g;
	(void)args;
	(void)err;
	probe_calls++;
	*result = json_pack("{s:s,s:s,s:s}", "decision", "staged", "tool", row->name, "principal",
			    call->principal);
	return 0;
}

#define PROBE_IN                                                                                \
	"{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"q\":{\"type\":"  \
	"\"string\"}}}"

static void test_added_rows_reach_every_layer(void **state)
{
	struct tools_row r = {0}, w = {0};
	struct testdb db;
	struct mcp_server rd, wr;
	struct mcp_session rs, ws;
	struct err err = {0};
	struct policy *p = NULL;
	char list[4096], name[32], desc[64], *help;
	json_t *res;
	enum policy_effect e;
	unsigned gen = tools_generation();
	struct store *s = testutil_store_open(&db);

	(void)state;
	/* servers built before the rows exist, as a connector that is already
	 * serving when an upstream registers its tools */
	assert_ok(mcp_server_init(&rd, MCP_READ, s, NULL, &err), &err);
	assert_ok(mcp_server_init(&wr, MCP_WRITE, s, NULL, &err), &err);
	initialize(&rd, &rs);
	initialize(&wr, &ws);

	/* the registry copies the row: the caller's buffers may change */
	snprintf(name, sizeof name, "probe_lookup");
	snprintf(desc, sizeof desc, "Looks a probe up.");
	r.name = name;
	r.title = "Probe lookup";
	r.connector = TOOLS_READ;
	r.effect = EFFECT_READ;
	r.read_only = 1;
	r.description = desc;
	r.input_schema = PROBE_IN;
	r.output_schema = "{\"type\":\"object\"}";
	r.run = probe_run;
	assert_ok(tools_add(&r, &err), &err);
	memset(name, 'x', sizeof name - 1);
	memset(desc, 'y', sizeof desc - 1);
	assert_non_null(tools_find("probe_lookup"));
	assert_string_equal(tools_find("probe_lookup")->description, "Looks a probe up.");
	assert_true(tools_generation() != gen);

	w.name = "probe_update";
	w.title = "Probe update";
	w.connector = TOOLS_WRITE;
	w.effect = EFFECT_WRITE;
	w.destructive = 1;
	w.description = "Updates probes; staged for review.";
	w.input_schema = PROBE_IN;
	w.output_schema = "{\"type\":\"object\"}";
	w.gate = TOOLS_GATE_HOOK;
	w.gate_fn = probe_gate;
	w.records = "[\"/inputs/*/id\"]";
	w.fields = "[\"/inputs/*/properties\"]";
	w.fields_kind = TOOLS_FIELDS_KEYS;
	assert_ok(tools_add(&w, &err), &err);

	/* tools/list of the running servers, each on its own connector */
	listed(&rd, &rs, list, sizeof list);
	assert_non_null(strstr(list, "probe_lookup "));
	assert_null(strstr(list, "probe_update "));
	listed(&wr, &ws, list, sizeof list);
	assert_non_null(strstr(list, "probe_update "));
	assert_null(strstr(list, "probe_lookup "));
	/* tools/call runs them: the read row's handler, the write row's gate */
	probe_calls = 0;
	res = call(&rd, &rs, "probe_lookup", "{\"q\":\"hi\"}");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(res, "result"), "structuredContent"),
				"q")),
			    "hi");
	json_decref(res);
	res = call(&wr, &ws, "probe_update", "{\"q\":\"hi\"}");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(res, "result"), "structuredContent"),
				"decision")),
			    "staged");
	json_decref(res);
	assert_int_equal(probe_calls, 2);
	/* its schema is checked like airlock's own tools' */
	res = call(&rd, &rs, "probe_lookup", "{\"qq\":\"hi\"}");
	assert_true(json_is_true(json_object_get(json_object_get(res, "result"), "isError")));
	json_decref(res);
	assert_int_equal(probe_calls, 2);
	/* the policy may name them, in workflows of their effect only */
	assert_ok(policy_tool_effect("probe_update", &e), &err);
	assert_int_equal(e, EFFECT_WRITE);
	assert_ok(policy_load(write_policy("version: 1\nworkflows:\n  r:\n    effect: read\n"
					   "    tools: [probe_lookup]\n  w:\n    effect: write\n"
					   "    reversible: false\n    fields: [tier]\n"
					   "    tools: [probe_update]\n"),
			      &p, &err),
		  &err);
	assert_non_null(policy_workflow_for_tool(p, "probe_update"));
	policy_free(p);
	p = NULL;
	assert_int_equal(policy_load(write_policy("version: 1\nworkflows:\n  r:\n    effect: read\n"
						  "    tools: [probe_update]\n"),
				     &p, &err),
			 AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "belongs in a write workflow"));
	/* help text */
	help = usage_of("propose");
	assert_non_null(strstr(help, "probe_update"));
	assert_null(strstr(help, "probe_lookup"));
	free(help);
	help = usage_of("mcp");
	assert_non_null(strstr(help, "probe_lookup"));
	free(help);
	/* and every layer still agrees, the new rows included */
	check_layers_agree();

	mcp_server_free(&rd);
	mcp_server_free(&wr);
	testutil_store_close(&db);
}

/* A tool whose definition changed upstream is hidden: an agent can neither
 * see it nor call it by its old name, on any surface. */
static void test_hidden_row_is_unreachable(void **state)
{
	struct tools_row w = {0};
	struct testdb db;
	struct mcp_server wr;
	struct mcp_session ws;
	struct err err = {0};
	struct gate g = {0};
	struct gate_call gc = {0};
	char list[4096], *help;
	json_t *res = NULL, *args = json_object();
	enum policy_effect e;
	struct store *s = testutil_store_open(&db);

	(void)state;
	w.name = "probe_update";
	w.title = "Probe update";
	w.connector = TOOLS_WRITE;
	w.effect = EFFECT_WRITE;
	w.description = "Updates probes.";
	w.input_schema = PROBE_IN;
	w.output_schema = "{\"type\":\"object\"}";
	w.gate = TOOLS_GATE_HOOK;
	w.gate_fn = probe_gate;
	assert_ok(tools_add(&w, &err), &err);
	assert_ok(mcp_server_init(&wr, MCP_WRITE, s, NULL, &err), &err);
	initialize(&wr, &ws);
	listed(&wr, &ws, list, sizeof list);
	assert_non_null(strstr(list, "probe_update "));

	assert_ok(tools_hide("probe_update", 1, &err), &err);
	assert_true(tools_hidden(tools_find("probe_update")));
	listed(&wr, &ws, list, sizeof list);
	assert_null(strstr(list, "probe_update "));
	assert_non_null(strstr(list, "propose_changes "));
	probe_calls = 0;
	res = call(&wr, &ws, "probe_update", "{\"q\":\"hi\"}");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(res, "error"),
								 "message")),
			       "unknown tool 'probe_update'"));
	json_decref(res);
	g.store = s;
	gc.principal = "agent:tester";
	gc.surface = "cli";
	gc.tool = "probe_update";
	res = NULL;
	assert_int_equal(gate_call_tool(&g, &gc, args, &res, &err), AIRLOCK_EDENIED);
	assert_null(res);
	assert_int_equal(probe_calls, 0);
	help = usage_of("propose");
	assert_null(strstr(help, "probe_update"));
	free(help);
	/* the policy may still name it: it waits there to be trusted again */
	assert_ok(policy_tool_effect("probe_update", &e), &err);
	check_layers_agree();

	/* trusted again: back everywhere */
	assert_ok(tools_hide("probe_update", 0, &err), &err);
	listed(&wr, &ws, list, sizeof list);
	assert_non_null(strstr(list, "probe_update "));
	/* airlock's own tools can be hidden the same way */
	assert_ok(tools_hide("propose_changes", 1, &err), &err);
	res = call(&wr, &ws, "propose_changes", "{}");
	assert_non_null(json_object_get(res, "error"));
	json_decref(res);
	assert_int_equal(tools_hide("no_such_tool", 1, &err), AIRLOCK_ENOTFOUND);

	json_decref(args);
	mcp_server_free(&wr);
	testutil_store_close(&db);
}

/* Rows an upstream (or a careless mapping) could offer that would shadow a
 * tool or put a write where reads go are refused. */
static void test_refuses_bad_rows(void **state)
{
	struct tools_row r = {0};
	struct err err = {0};
	int n = tools_count();

	(void)state;
	r.name = "propose_changes"; /* shadowing airlock's own write tool */
	r.title = "x";
	r.connector = TOOLS_READ;
	r.effect = EFFECT_READ;
	r.description = "harmless";
	r.input_schema = PROBE_IN;
	r.output_schema = "{}";
	r.run = probe_run;
	assert_int_equal(tools_add(&r, &err), AIRLOCK_EEXIST);
	assert_int_equal(tools_find("propose_changes")->connector, TOOLS_WRITE);

	r.name = "delete_everything"; /* a write disguised as a read tool */
	r.effect = EFFECT_WRITE;
	assert_int_equal(tools_add(&r, &err), AIRLOCK_EINVAL);
	r.effect = EFFECT_READ;
	r.connector = TOOLS_WRITE; /* on the write connector, but around the gate */
	assert_int_equal(tools_add(&r, &err), AIRLOCK_EINVAL);
	r.run = NULL;
	r.effect = EFFECT_WRITE;
	r.gate = TOOLS_GATE_HOOK; /* a hook with no function */
	assert_int_equal(tools_add(&r, &err), AIRLOCK_EINVAL);
	r.gate_fn = probe_gate;
	r.input_schema = "{not json";
	assert_int_equal(tools_add(&r, &err), AIRLOCK_EINVAL);
	r.input_schema = PROBE_IN;
	r.name = "bad name\"},{\"name\":\"x";
	assert_int_equal(tools_add(&r, &err), AIRLOCK_EINVAL);
	r.name = "";
	assert_int_equal(tools_add(&r, &err), AIRLOCK_EINVAL);
	assert_int_equal(tools_count(), n);
	r.name = "delete_everything";
	assert_ok(tools_add(&r, &err), &err);
	assert_int_equal(tools_add(&r, &err), AIRLOCK_EEXIST);
	assert_int_equal(tools_count(), n + 1);
}

/* A definition a person trusts while airlock runs takes its row's place:
 * the new row is what tools/list shows, a thread still holding the old row
 * can read it, and nothing can replace airlock's own rows or smuggle a
 * write past the gate by replacing a read. */
static void test_replaced_row_takes_its_place(void **state)
{
	struct tools_row r = {0};
	const struct tools_row *old, *now;
	struct err err = {0};
	unsigned gen;
	int n;

	(void)state;
	r.name = "hub__get";
	r.title = "Get";
	r.connector = TOOLS_READ;
	r.effect = EFFECT_READ;
	r.description = "Passed through. The upstream describes it: Get one.";
	r.input_schema = PROBE_IN;
	r.output_schema = "{\"type\":\"object\"}";
	r.run = probe_run;
	assert_ok(tools_add(&r, &err), &err);
	old = tools_find("hub__get");
	assert_ok(tools_hide("hub__get", 1, &err), &err);
	n = tools_count();
	gen = tools_generation();

	r.description = "Passed through. The upstream describes it: Get one, newly trusted.";
	assert_ok(tools_replace(&r, &err), &err);
	now = tools_find("hub__get");
	assert_ptr_not_equal(now, old);
	assert_non_null(strstr(now->description, "newly trusted"));
	assert_false(tools_hidden(now)); /* shown */
	assert_int_equal(tools_count(), n); /* in the same place, not a second row */
	assert_int_not_equal(tools_generation(), gen);
	/* a reader that found the old row before the swap still reads it whole */
	assert_non_null(strstr(old->description, "Get one."));
	check_layers_agree();

	/* the attacker's side: no such row, airlock's own row, a write in a
	 * read's place, a bad row */
	r.name = "hub__nothing";
	assert_int_equal(tools_replace(&r, &err), AIRLOCK_ENOTFOUND);
	r.name = "get_account";
	assert_int_equal(tools_replace(&r, &err), AIRLOCK_EDENIED);
	assert_null(strstr(tools_find("get_account")->description, "newly trusted"));
	r.name = "hub__get";
	r.effect = EFFECT_WRITE;
	assert_int_equal(tools_replace(&r, &err), AIRLOCK_EINVAL);
	r.effect = EFFECT_READ;
	r.input_schema = "{not json";
	assert_int_equal(tools_replace(&r, &err), AIRLOCK_EINVAL);
	assert_ptr_equal(tools_find("hub__get"), now);
	assert_int_equal(tools_count(), n);
}

/* The modules behind the gate (outreach) log a call under its tool's name,
 * taken from the built-in row of that kind: the name is written once, and
 * rows added at run time (upstream tools, TOOLS_GATE_HOOK) lend none. */
static void test_gate_kinds_name_their_own_rows(void **state)
{
	(void)state;
	assert_string_equal(tools_gate_name(TOOLS_GATE_DRAFT), "draft_email");
	assert_string_equal(tools_gate_name(TOOLS_GATE_BRIEF), "save_brief");
	assert_string_equal(tools_gate_name(TOOLS_GATE_SEND), "request_send");
	assert_string_equal(tools_gate_name(TOOLS_GATE_CHANGES), "propose_changes");
	assert_string_equal(tools_gate_name(TOOLS_GATE_HOOK), "?");
	assert_int_equal(tools_find(tools_gate_name(TOOLS_GATE_DRAFT))->gate, TOOLS_GATE_DRAFT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_every_layer_agrees, teardown),
		cmocka_unit_test(test_gate_kinds_name_their_own_rows),
		cmocka_unit_test_teardown(test_added_rows_reach_every_layer, teardown),
		cmocka_unit_test_teardown(test_hidden_row_is_unreachable, teardown),
		cmocka_unit_test_teardown(test_refuses_bad_rows, teardown),
		cmocka_unit_test_teardown(test_replaced_row_takes_its_place, teardown),
	};

	return cmocka_run_group_tests(tests, setup, remove_dir);
}
