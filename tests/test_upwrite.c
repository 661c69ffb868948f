/* test_upwrite.c — how an upstream write tool's arguments are read: JSON
 * pointers with "*" find every record id and field (and nothing else), and
 * a policy's mapping of a write tool loads into what upwrite reads, or
 * fails at its line. The whole path against real servers is
 * tests/e2e/upstream_write.sh. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "upwrite.h"

/* The concrete pointers matched, "a,b,c". */
static void matched(json_t *root, const char *ptr, char *buf, size_t len)
{
	json_t *m = upwrite_match(root, ptr), *e;
	size_t i, used = 0;

	buf[0] = '\0';
	json_array_foreach(m, i, e)
	{
		int n = snprintf(buf + used, len - used, "%s%s", i ? "," : "",
				 json_string_value(json_array_get(e, 0)));

		assert_true(n > 0 && (size_t)n < len - used);
		used += (size_t)n;
	}
	json_decref(m);
}

static void test_pointers_find_every_record(void **state)
{
	json_t *a = json_loads("{\"objectType\":\"companies\",\"inputs\":["
			       "{\"id\":\"1\",\"properties\":{\"tier\":\"2\"}},"
			       "{\"id\":\"2\",\"properties\":{}},"
			       "{\"nid\":\"3\"}],"
			       "\"a/b\":{\"c~d\":5},\"n\":[[1,2],[3]]}",
			       0, NULL);
	char buf[512];

	(void)state;
	assert_non_null(a);
	matched(a, "/inputs/*/id", buf, sizeof buf);
	assert_string_equal(buf, "/inputs/0/id,/inputs/1/id");
	matched(a, "/inputs/*/properties", buf, sizeof buf);
	assert_string_equal(buf, "/inputs/0/properties,/inputs/1/properties");
	matched(a, "/objectType", buf, sizeof buf);
	assert_string_equal(buf, "/objectType");
	/* escaped segments are matched unescaped and written escaped again */
	matched(a, "/a~1b/c~0d", buf, sizeof buf);
	assert_string_equal(buf, "/a~1b/c~0d");
	matched(a, "/n/*/*", buf, sizeof buf);
	assert_string_equal(buf, "/n/0/0,/n/0/1,/n/1/0");
	matched(a, "/inputs/1/id", buf, sizeof buf);
	assert_string_equal(buf, "/inputs/1/id");
	/* what is not there matches nothing: never a guess */
	matched(a, "/inputs/*/ID", buf, sizeof buf);
	assert_string_equal(buf, "");
	matched(a, "/objectType/*", buf, sizeof buf);
	assert_string_equal(buf, "");
	matched(a, "/inputs/9/id", buf, sizeof buf);
	assert_string_equal(buf, "");
	json_decref(a);
}

/* A hostile argument nested deeper than any mapping reads is not walked
 * without bound. */
static void test_deep_arguments_are_bounded(void **state)
{
	char text[4096], ptr[1024];
	size_t n = 0, p = 0;
	json_t *a, *m;
	int i;

	(void)state;
	for (i = 0; i < 200; i++)
		text[n++] = '[';
	for (i = 0; i < 200; i++)
		text[n++] = ']';
	text[n] = '\0';
	for (i = 0; i < 200 && p + 3 < sizeof ptr; i++) {
		ptr[p++] = '/';
		ptr[p++] = '*';
	}
	ptr[p] = '\0';
	a = json_loads(text, 0, NULL);
	assert_non_null(a);
	m = upwrite_match(a, ptr);
	assert_non_null(m);
	assert_int_equal(json_array_size(m), 0);
	json_decref(m);
	json_decref(a);
}

/* A policy whose write workflow lists wf_tool, with these upstream tools. */
static const char *write_policy(const char *tools, const char *wf_tool)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof path, "/tmp/airlock-upwrite-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f,
		"version: 1\n"
		"workflows:\n"
		"  crm-retier:\n"
		"    effect: write\n"
		"    tools: [%s]\n"
		"    reversible: true\n"
		"    stage_max: 10\n"
		"    fields: [tier]\n"
		"upstreams:\n"
		"  crm:\n"
		"    transport: stdio\n"
		"    command: x\n"
		"    tools:\n%s",
		wf_tool, tools);
	fclose(f);
	return path;
}

static void test_mapping_loads(void **state)
{
	const char *path = write_policy(
	    "      get: read\n"
	    "      upd:\n"
	    "        effect: update\n"
	    "        records: /inputs/*/id\n"
	    "        fields: /inputs/*/properties\n"
	    "        fixed: {/objectType: companies}\n"
	    "        before: {tool: get, args: {inputs: [{id: \"{id}\"}]}, path: /results/0}\n"
	    "        undo: same\n",
	    "crm__upd");
	const struct policy_upstream_tool *t;
	struct policy *p = NULL;
	struct err err = {0};

	(void)state;
	assert_ok(policy_load(path, &p, &err), &err);
	t = policy_upstream_tool(policy_upstream(p, "crm"), "upd");
	assert_non_null(t);
	assert_int_equal(t->effect, EFFECT_WRITE);
	assert_int_equal(t->map.action, UPSTREAM_UPDATE);
	assert_int_equal(t->map.nrecords, 1);
	assert_string_equal(t->map.records[0], "/inputs/*/id");
	assert_int_equal(t->map.fields_object, 1);
	assert_string_equal(t->map.fields[0], "/inputs/*/properties");
	assert_int_equal(t->map.nfixed, 1);
	assert_string_equal(t->map.fixed[0], "/objectType");
	assert_string_equal(t->map.fixed_values[0], "companies");
	assert_string_equal(t->map.before_tool, "get");
	assert_string_equal(t->map.before_args, "{\"inputs\":[{\"id\":\"{id}\"}]}");
	assert_string_equal(t->map.before_path, "/results/0");
	assert_string_equal(t->map.undo_tool, "");
	/* a plain entry stays unmapped: its calls are held */
	assert_int_equal(policy_upstream_tool(policy_upstream(p, "crm"), "get")->map.action,
			 UPSTREAM_NONE);
	policy_free(p);
	unlink(path);
}

static void refused(const char *tools, const char *want)
{
	const char *path = write_policy(tools, "propose_changes");
	struct policy *p = NULL;
	struct err err = {0};

	assert_int_equal(policy_load(path, &p, &err), AIRLOCK_EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("wanted '%s' in: %s", want, err.msg);
	unlink(path);
}

static void test_bad_mappings_fail_at_their_line(void **state)
{
	(void)state;
	refused("      upd: {effect: upsert, records: /id}\n", "must be update, create, delete");
	refused("      get: read\n      upd: {effect: update, records: [id], fields: [/t],"
		" before: {tool: get}}\n",
		"'id' is not a JSON pointer");
	refused("      upd: {effect: update, records: /id, fields: [/t]}\n", "has no before");
	refused("      upd: {effect: update, records: /id, fields: [/t], before: {tool: upd}}\n",
		"which is not a read tool");
	refused("      get: read\n      upd: {effect: update, records: /id, fields: [/t],"
		" before: {tool: get}, undo: {tool: get}}\n",
		"which is not a write tool");
	refused("      del: {effect: delete, records: /id, undo: same}\n",
		"undo must be irreversible");
	refused("      get: read\n      upd: {effect: update, records: /id, fields: [/t],"
		" before: {tool: get}, fixed: {/a/*: x}}\n",
		"without \"*\"");
}

/* A workflow may list an upstream's tool only with the effect it has. */
static void test_workflow_effect_of_upstream_tool(void **state)
{
	const char *path = write_policy("      upd: read\n", "crm__upd");
	struct policy *p = NULL;
	struct err err = {0};

	(void)state;
	assert_int_equal(policy_load(path, &p, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "belongs in a read workflow"));
	unlink(path);
	path = write_policy("      get: read\n", "crm__nope");
	assert_int_equal(policy_load(path, &p, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "unknown tool 'crm__nope'"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pointers_find_every_record),
		cmocka_unit_test(test_deep_arguments_are_bounded),
		cmocka_unit_test(test_mapping_loads),
		cmocka_unit_test(test_bad_mappings_fail_at_their_line),
		cmocka_unit_test(test_workflow_effect_of_upstream_tool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
