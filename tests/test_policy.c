/* test_policy.c — the policy: loading the default, every kind of broken file
 * with its FILE:LINE:COL, all problems at once, lookups, radius, and every
 * edge of policy_decide(); a truncation and mutation loop over the parser. */
#include "testutil.h"

#include <sodium.h>

#include "policy.h"

/* ---- files in a temporary folder ---- */

static char tmpdir[256];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/airlock-policy-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes len bytes to tmpdir/name; returns the path (static buffer). */
static const char *write_bytes(const char *name, const char *text, size_t len)
{
	static char path[400];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char *write_file(const char *name, const char *text)
{
	return write_bytes(name, text, strlen(text));
}

static struct policy *load_text(const char *text)
{
	struct err err = {0};
	struct policy *p = NULL;

	assert_ok(policy_load(write_file("ok.yaml", text), &p, &err), &err);
	assert_non_null(p);
	return p;
}

/* ---- the default policy ---- */

static void test_default_loads(void **state)
{
	const struct policy_workflow *wf;
	struct policy *p;

	(void)state;
	p = load_text(policy_default_yaml());
	assert_int_equal(p->nworkflows, 6);
	wf = policy_workflow(p, "retier");
	assert_non_null(wf);
	assert_int_equal(wf->effect, EFFECT_WRITE);
	assert_true(wf->reversible);
	assert_int_equal(wf->stage_max, 200);
	assert_int_equal(wf->ttl_seconds, 7 * 86400);
	assert_int_equal(wf->max_pending, 20);
	assert_true(wf->sampling.confidence == 0.95);
	assert_true(wf->sampling.defect_rate == 0.05);
	assert_int_equal(wf->nfields, 1);
	assert_string_equal(wf->fields[0], "tier");
	assert_false(wf->unattended);
	assert_int_equal(policy_workflow(p, "field_update")->stage_max, 100);
	assert_false(policy_workflow(p, "merge")->reversible);
	assert_int_equal(policy_workflow(p, "outreach")->effect, EFFECT_DRAFT);
	assert_int_equal(policy_workflow(p, "send")->effect, EFFECT_SEND);
	assert_false(policy_workflow(p, "send")->reversible);
	assert_int_equal(policy_workflow(p, "read")->ntools, 5);
	assert_null(policy_workflow(p, "nope"));
	assert_int_equal(p->audience.ncompetitor_domains, 2);
	assert_int_equal(p->audience.max_touches, 1);
	assert_int_equal(p->audience.touch_window_days, 14);
	assert_string_equal(p->smtp.host, "127.0.0.1");
	assert_int_equal(p->smtp.port, 2525);
	assert_int_equal(p->smtp.tls, TLS_NONE);
	assert_int_equal(p->smtp.timeout_seconds, 30);
	assert_int_equal(p->smtp.max_attempts, 5);
	assert_null(p->smtp.username);
	assert_int_equal(strlen(p->digest), 64);
	policy_free(p);
}

static void test_digest_is_blake2b_of_bytes(void **state)
{
	const char *text = policy_default_yaml();
	unsigned char h[32];
	char hex[65];
	struct policy *p, *q;
	char *changed;

	(void)state;
	assert_true(sodium_init() >= 0);
	crypto_generichash(h, sizeof h, (const unsigned char *)text, strlen(text), NULL, 0);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	p = load_text(text);
	assert_string_equal(p->digest, hex);
	/* one byte of a comment changes the version */
	changed = strdup(text);
	assert_non_null(changed);
	changed[2] = 'A';
	q = load_text(changed);
	assert_string_not_equal(p->digest, q->digest);
	free(changed);
	policy_free(p);
	policy_free(q);
}

static void test_lookups(void **state)
{
	struct policy *p;
	const struct policy_workflow *retier, *fu, *merge;

	(void)state;
	p = load_text(policy_default_yaml());
	retier = policy_workflow(p, "retier");
	fu = policy_workflow(p, "field_update");
	merge = policy_workflow(p, "merge");
	assert_ptr_equal(policy_workflow_for_tool(p, "propose_changes"), retier);
	assert_ptr_equal(policy_workflow_for_tool(p, "propose_merge"), merge);
	assert_ptr_equal(policy_workflow_for_tool(p, "get_account"), policy_workflow(p, "read"));
	assert_null(policy_workflow_for_tool(p, "rm_rf"));
	assert_null(policy_workflow_for_tool(p, NULL));
	assert_null(policy_workflow_for_tool(NULL, "get_account"));
	/* a routed call names its workflow, which must list the tool */
	assert_ptr_equal(policy_workflow_for_call(p, "propose_changes", "field_update"), fu);
	assert_ptr_equal(policy_workflow_for_call(p, "propose_changes", NULL), retier);
	assert_null(policy_workflow_for_call(p, "propose_changes", "merge"));
	assert_null(policy_workflow_for_call(p, "propose_changes", "nope"));
	assert_null(policy_workflow_for_call(p, "request_send", "retier"));
	assert_true(policy_tool_routed("propose_changes"));
	assert_false(policy_tool_routed("propose_merge"));
	assert_false(policy_tool_routed(NULL));
	assert_true(policy_workflow_has_tool(fu, "propose_changes"));
	assert_false(policy_workflow_has_tool(fu, "propose_merge"));
	/* fields */
	assert_true(policy_field_allowed(retier, "tier"));
	assert_false(policy_field_allowed(retier, "owner"));
	assert_false(policy_field_allowed(retier, "custom.score"));
	assert_true(policy_field_allowed(fu, "owner"));
	assert_true(policy_field_allowed(fu, "custom.score"));
	assert_false(policy_field_allowed(fu, "custom."));
	assert_false(policy_field_allowed(fu, "custom.*"));
	assert_false(policy_field_allowed(fu, "tier"));
	assert_false(policy_field_allowed(fu, "version"));
	assert_false(policy_field_allowed(NULL, "tier"));
	assert_false(policy_field_allowed(policy_workflow(p, "read"), "tier"));
	assert_string_equal(policy_effect_name(EFFECT_SEND), "send");
	assert_string_equal(policy_decision_name(DECISION_STAGED), "staged");
	policy_free(p);
}

static void test_inheritance_and_overrides(void **state)
{
	const struct policy_workflow *a, *b;
	struct policy *p;

	(void)state;
	p = load_text("version: 1\n"
		      "defaults:\n"
		      "  ttl: 12h\n"
		      "  max_pending_batches: 3\n"
		      "  sampling: {confidence: 99%, defect_rate: 0.02}\n"
		      "workflows:\n"
		      "  a:\n"
		      "    effect: write\n"
		      "    tools: [propose_changes]\n"
		      "    reversible: true\n"
		      "    stage_max: 10\n"
		      "    fields: [tier, custom.score]\n"
		      "  b:\n"
		      "    fields: [owner]\n" /* before effect: order does not matter */
		      "    tools: [propose_changes]\n"
		      "    effect: write\n"
		      "    reversible: true\n"
		      "    stage_max: 5\n"
		      "    ttl: 90s\n"
		      "    max_pending_batches: 1\n"
		      "    sampling: {defect_rate: 0.1}\n"
		      "    unattended: true\n"
		      "    unattended_max: 5\n");
	a = policy_workflow(p, "a");
	b = policy_workflow(p, "b");
	assert_int_equal(a->ttl_seconds, 12 * 3600);
	assert_int_equal(a->max_pending, 3);
	assert_true(a->sampling.confidence > 0.9899 && a->sampling.confidence < 0.9901);
	assert_true(a->sampling.defect_rate == 0.02);
	assert_int_equal(b->ttl_seconds, 90);
	assert_int_equal(b->max_pending, 1);
	assert_true(b->sampling.confidence > 0.9899 && b->sampling.confidence < 0.9901);
	assert_true(b->sampling.defect_rate == 0.1);
	assert_true(b->unattended);
	assert_int_equal(b->unattended_max, 5);
	assert_string_equal(b->fields[0], "owner");
	/* no audience, no smtp: safe built-ins */
	assert_null(p->smtp.host);
	assert_int_equal(p->audience.max_touches, 1);
	assert_int_equal(p->audience.touch_window_days, 14);
	policy_free(p);
}

/* ---- broken files ---- */

struct bad_case {
	const char *name;
	const char *yaml;
	int line, col;
	const char *msg; /* the whole message, or a part of it when it ends in '~' */
};

#define WF_HEAD "version: 1\nworkflows:\n"
#define RETIER                                                                                     \
	"  retier:\n"                                                                              \
	"    effect: write\n"                                                                      \
	"    tools: [propose_changes]\n"                                                           \
	"    reversible: true\n"                                                                   \
	"    stage_max: 200\n"                                                                     \
	"    fields: [tier]\n"

static const struct bad_case bad_cases[] = {
    {"unknown key, with a did-you-mean",
     WF_HEAD "  retier:\n"
	     "    effect: write\n"
	     "    tools: [propose_changes]\n"
	     "    reversible: true\n"
	     "    stage_mx: 200\n"
	     "    fields: [tier]\n",
     7, 5, "unknown key 'stage_mx' in workflow 'retier' (did you mean 'stage_max'?)"},
    {"unknown top-level key", "version: 1\nworkflow:\n  x: 1\n", 2, 1,
     "unknown key 'workflow' at the top level (did you mean 'workflows'?)"},
    {"unknown key, nothing close", WF_HEAD RETIER "    colour: blue\n", 9, 5,
     "unknown key 'colour' in workflow 'retier'"},
    {"unknown key in sampling",
     "version: 1\ndefaults:\n  sampling:\n    confidense: 0.9\n" WF_HEAD RETIER, 4, 5,
     "unknown key 'confidense' in the sampling of defaults (did you mean 'confidence'?)"},
    {"quoted number is text", WF_HEAD RETIER "    max_pending_batches: \"5\"\n", 9, 26,
     "max_pending_batches must be a positive integer, not '5' (quoted: text)"},
    {"list where a number goes",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: [1]\n    fields: [tier]\n",
     7, 16, "stage_max must be a positive integer, not a list"},
    {"zero stage_max",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: 0\n    fields: [tier]\n",
     7, 16, "stage_max must be a positive integer, not '0'"},
    {"negative stage_max",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: -5\n    fields: [tier]\n",
     7, 16, "stage_max must be a positive integer, not '-5'"},
    {"fractional stage_max",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: 2.5\n    fields: [tier]\n",
     7, 16, "stage_max must be a positive integer, not '2.5'"},
    {"empty value points at the key",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max:\n    fields: [tier]\n",
     7, 5, "stage_max must be a positive integer, not an empty value"},
    {"confidence 1", "version: 1\ndefaults:\n  sampling: {confidence: 1}\n" WF_HEAD RETIER, 3, 26,
     "confidence must be a number between 0 and 1 (exclusive) such as 0.95 or 95%, not '1'"},
    {"confidence 0", "version: 1\ndefaults:\n  sampling: {confidence: 0}\n" WF_HEAD RETIER, 3, 26,
     "confidence must be a number between 0 and 1 (exclusive)~"},
    {"confidence 95", "version: 1\ndefaults:\n  sampling: {confidence: 95}\n" WF_HEAD RETIER, 3, 26,
     "confidence must be a number between 0 and 1 (exclusive)~"},
    {"defect_rate 1.5", WF_HEAD RETIER "    sampling:\n      defect_rate: 1.5\n", 10, 20,
     "defect_rate must be a number between 0 and 1 (exclusive)~"},
    {"defect_rate negative", WF_HEAD RETIER "    sampling:\n      defect_rate: -0.1\n", 10, 20,
     "defect_rate must be a number between 0 and 1 (exclusive)~"},
    {"defect_rate nan", WF_HEAD RETIER "    sampling:\n      defect_rate: nan\n", 10, 20,
     "defect_rate must be a number between 0 and 1 (exclusive)~"},
    {"a tool in two workflows",
     WF_HEAD "  outreach:\n    effect: draft\n    tools: [draft_email, save_brief]\n"
	     "  notes:\n    effect: draft\n    tools: [save_brief]\n",
     8, 13,
     "tool 'save_brief' is already in workflow 'outreach' (line 5): a tool belongs to one "
     "workflow, except propose_changes, whose calls name their workflow"},
    {"a tool twice in one workflow",
     WF_HEAD "  outreach:\n    effect: draft\n    tools: [draft_email, draft_email]\n", 5, 26,
     "tool 'draft_email' is listed twice in workflow 'outreach'"},
    {"empty tool list", WF_HEAD "  outreach:\n    effect: draft\n    tools: []\n", 5, 12,
     "workflow 'outreach' has no tools: list the tools it accepts"},
    {"no tools key", WF_HEAD "  outreach:\n    effect: draft\n", 3, 3,
     "workflow 'outreach' has no tools: list the tools it accepts"},
    {"tools not a list", WF_HEAD "  outreach:\n    effect: draft\n    tools: draft_email\n", 5, 12,
     "tools must be a list of tool names, e.g. [propose_changes], not 'draft_email'"},
    {"unknown tool", WF_HEAD "  outreach:\n    effect: draft\n    tools: [draft_emial]\n", 5, 13,
     "unknown tool 'draft_emial' (did you mean 'draft_email'?)"},
    {"a write tool in a read workflow",
     WF_HEAD "  read:\n    effect: read\n    tools: [get_account, propose_changes]\n", 5, 26,
     "tool 'propose_changes' proposes changes to the book: it belongs in a write workflow, "
     "not in workflow 'read' (effect read)"},
    {"bad effect", WF_HEAD "  retier:\n    effect: delete\n    tools: [propose_changes]\n", 4, 13,
     "effect must be one of read, draft, write, send, not 'delete'"},
    {"effect typo", WF_HEAD "  outreach:\n    effect: drafts\n    tools: [save_brief]\n", 4, 13,
     "effect must be one of read, draft, write, send, not 'drafts' (did you mean 'draft'?)"},
    {"no effect", WF_HEAD "  outreach:\n    tools: [save_brief]\n", 3, 3,
     "workflow 'outreach' has no effect: add effect: read, draft, write or send"},
    {"fields on a draft workflow",
     WF_HEAD "  outreach:\n    effect: draft\n    tools: [save_brief]\n    fields: [owner]\n", 6, 5,
     "fields apply only to write workflows; workflow 'outreach' has effect draft"},
    {"fields on a send workflow",
     WF_HEAD "  send:\n    effect: send\n    tools: [request_send]\n    fields: [owner]\n", 6, 5,
     "fields apply only to write workflows; workflow 'send' has effect send"},
    {"stage_max on a read workflow",
     WF_HEAD "  read:\n    effect: read\n    tools: [get_account]\n    stage_max: 5\n", 6, 5,
     "stage_max applies only to write and send workflows; workflow 'read' has effect read"},
    {"write workflow with no fields",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: 200\n",
     3, 3,
     "write workflow 'retier' has no fields: list the fields it may change, e.g. fields: "
     "[tier]"},
    {"write workflow with an empty field list",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: 200\n    fields: []\n",
     8, 13, "write workflow 'retier' has no fields~"},
    {"unknown field",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: 200\n    fields: [tierr]\n",
     8, 14, "unknown field 'tierr' (did you mean 'tier'?)"},
    {"system field",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: 200\n    fields: [tier, version]\n",
     8, 20, "field 'version' is maintained by airlock and cannot be written by a workflow"},
    {"identity field",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: 200\n    fields: [id]\n",
     8, 14, "field 'id' is the record's identity and cannot be written by a workflow"},
    {"bare custom",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: 200\n    fields: [custom]\n",
     8, 14, "name custom fields one by one as custom.NAME, or all of them as custom.*"},
    {"bad custom name",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: 200\n    fields: [custom.a-b]\n",
     8, 14, "custom field 'custom.a-b' must be custom.NAME~"},
    {"field twice",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    stage_max: 200\n    fields: [tier, tier]\n",
     8, 20, "field 'tier' is listed twice in workflow 'retier'"},
    {"duplicate top-level key", "version: 1\nversion: 1\n" WF_HEAD RETIER, 2, 1,
     "duplicate key 'version' at the top level (first at line 1)"},
    {"duplicate key in a workflow", WF_HEAD RETIER "    stage_max: 300\n", 9, 5,
     "duplicate key 'stage_max' in workflow 'retier' (first at line 7)"},
    {"duplicate workflow", WF_HEAD RETIER RETIER, 9, 3,
     "duplicate workflow 'retier' (first at line 3)"},
    {"yaml syntax error", "version: 1\nworkflows:\n  retier: [\n", 4, 1, "yaml syntax error: ~"},
    {"yaml bad indentation", "version: 1\nworkflows:\n  a:\n    effect: read\n   tools: []\n", 5, 4,
     "yaml syntax error: ~"},
    {"tab indentation", "version: 1\nworkflows:\n\tretier: {}\n", 3, 1, "yaml syntax error: ~"},
    {"empty file", "", 1, 1, "the file is empty~"},
    {"comments only", "# nothing here\n\n", 1, 1, "the file is empty~"},
    {"not a mapping: a list", "- version: 1\n", 1, 1,
     "the policy must be a mapping (version: 1, workflows: ...), not a list"},
    {"not a mapping: text", "hello\n", 1, 1,
     "the policy must be a mapping (version: 1, workflows: ...), not 'hello'"},
    {"second document", WF_HEAD RETIER "---\nversion: 1\n", 10, 1,
     "a second YAML document: the policy is one document"},
    {"send marked reversible",
     WF_HEAD "  send:\n    effect: send\n    tools: [request_send]\n    reversible: true\n", 6, 17,
     "a sent message cannot be unsent: send workflow 'send' must not be reversible"},
    {"reversible write without stage_max",
     WF_HEAD "  retier:\n    effect: write\n    tools: [propose_changes]\n"
	     "    reversible: true\n    fields: [tier]\n",
     3, 3, "reversible workflow 'retier' has no stage_max~"},
    {"reversible yes",
     WF_HEAD RETIER "  merge:\n    effect: write\n    tools: [propose_merge]\n"
		    "    reversible: yes\n    fields: [owner]\n",
     12, 17, "reversible must be true or false, not 'yes'"},
    {"duration without unit", "version: 1\ndefaults:\n  ttl: 7\n" WF_HEAD RETIER, 3, 8,
     "ttl must be a positive duration such as 7d, 12h, 30m or 90s, not '7'"},
    {"duration zero", "version: 1\ndefaults:\n  ttl: 0d\n" WF_HEAD RETIER, 3, 8,
     "ttl must be a positive duration~"},
    {"duration unknown unit", "version: 1\ndefaults:\n  ttl: 2w\n" WF_HEAD RETIER, 3, 8,
     "ttl must be a positive duration~"},
    {"duration in words", WF_HEAD RETIER "    ttl: 7 days\n", 9, 10,
     "ttl must be a positive duration such as 7d, 12h, 30m or 90s, not '7 days'"},
    {"duration overflow", WF_HEAD RETIER "    ttl: 9999999999999999999d\n", 9, 10,
     "ttl must be a positive duration~"},
    {"duration negative", WF_HEAD RETIER "    ttl: -1h\n", 9, 10,
     "ttl must be a positive duration~"},
    {"version 2", "version: 2\nworkflows:\n" RETIER, 1, 10,
     "version must be 1 (the only version of the format), not '2'"},
    {"no version", "workflows:\n" RETIER, 1, 1,
     "missing 'version: 1' (the version of the policy format)"},
    {"no workflows", "version: 1\n", 1, 1,
     "missing 'workflows': without them every tool call is blocked"},
    {"empty workflows", "version: 1\nworkflows: {}\n", 2, 12, "no workflows: ~"},
    {"bad workflow name", WF_HEAD "  Re Tier:\n    effect: read\n    tools: [get_account]\n", 3, 3,
     "a workflow name must start with a letter~"},
    {"workflow not a mapping", WF_HEAD "  retier: write\n", 3, 11,
     "workflow 'retier' must be a mapping of its settings (tools, effect, ...), not 'write'"},
    {"unattended_max without unattended", WF_HEAD RETIER "    unattended_max: 5\n", 9, 5,
     "unattended_max is set but workflow 'retier' is not unattended (unattended: true)"},
    {"unattended on a draft workflow",
     WF_HEAD "  outreach:\n    effect: draft\n    tools: [save_brief]\n    unattended: true\n", 6,
     5,
     "unattended applies only to write and send workflows; workflow 'outreach' has effect "
     "draft"},
    {"unattended_max over stage_max",
     WF_HEAD RETIER "    unattended: true\n    unattended_max: 500\n", 10, 21,
     "unattended_max 500 exceeds stage_max 200~"},
    {"password in smtp",
     WF_HEAD RETIER "smtp:\n  host: mail\n  from: a@b.example\n  password: hunter2\n", 12, 3,
     "a password never goes in the policy file~"},
    {"smtp bad tls", WF_HEAD RETIER "smtp:\n  host: mail\n  from: a@b.example\n  tls: ssl\n", 12, 8,
     "tls must be none, starttls or tls, not 'ssl'"},
    {"smtp bad port", WF_HEAD RETIER "smtp:\n  host: mail\n  from: a@b.example\n  port: 70000\n",
     12, 9, "port must be a port from 1 to 65535, not '70000'"},
    {"smtp no host", WF_HEAD RETIER "smtp:\n  from: a@b.example\n", 9, 1,
     "smtp has no host: give the relay's host name"},
    {"smtp bad from", WF_HEAD RETIER "smtp:\n  host: mail\n  from: nobody\n", 11, 9,
     "from must be an email address, not 'nobody'"},
    {"smtp bad password_env",
     WF_HEAD RETIER "smtp:\n  host: mail\n  from: a@b.example\n  username: u\n"
		    "  password_env: MY-PASS\n",
     13, 17, "password_env must be the name of an environment variable, not 'MY-PASS'"},
    {"smtp username without password_env",
     WF_HEAD RETIER "smtp:\n  host: mail\n  from: a@b.example\n  username: u\n", 12, 3,
     "smtp has a username but no password_env"},
    {"smtp bad timeout", WF_HEAD RETIER "smtp:\n  host: mail\n  from: a@b.example\n  timeout: 30\n",
     12, 12, "timeout must be a positive duration~"},
    {"audience bad domain",
     WF_HEAD RETIER "audience:\n  competitor_domains: [https://rival.example/]\n", 10, 24,
     "a competitor domain must be a bare domain~"},
    {"audience zero touches", WF_HEAD RETIER "audience:\n  max_touches_per_contact: 0\n", 10, 28,
     "max_touches_per_contact must be a positive integer, not '0'"},
    {"non-text key", WF_HEAD RETIER "[a]: 1\n", 9, 1, "keys must be plain names at the top level"},
    {"nul byte", "version: 1\nworkflows:\n  a\x01: {}\n", 3, 4, "yaml syntax error: ~"},
};

/* "PATH:L:C: MSG" for case c, checked against got; 1 on a mismatch, printed. */
static int message_differs(const struct bad_case *c, const char *path, const char *got)
{
	char want[1400];
	size_t n;
	int bad;

	snprintf(want, sizeof want, "%s:%d:%d: %s", path, c->line, c->col, c->msg);
	n = strlen(want);
	if (want[n - 1] == '~')
		bad = strncmp(got, want, n - 1) != 0;
	else
		bad = strcmp(got, want) != 0 &&
		      !(strncmp(got, want, n) == 0 && strstr(got + n, "(and more"));
	if (bad)
		print_error("case '%s':\n  got  %s\n  want %s\n", c->name, got, want);
	return bad;
}

static void test_bad_files(void **state)
{
	size_t i;
	int nbad = 0;

	(void)state;
	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		const char *path = write_file("bad.yaml", c->yaml);
		struct err err = {0};
		struct policy *p = (struct policy *)1;
		json_t *probs = NULL, *first;
		char msg[1400];

		assert_int_equal(policy_load(path, &p, &err), AIRLOCK_EINVAL);
		assert_null(p);
		nbad += message_differs(c, path, err.msg);
		/* policy_check's first problem is the same one */
		assert_ok(policy_check(path, &probs, &err), &err);
		assert_true(json_array_size(probs) >= 1);
		first = json_array_get(probs, 0);
		snprintf(msg, sizeof msg, "%s:%d:%d: %s",
			 json_string_value(json_object_get(first, "file")),
			 (int)json_integer_value(json_object_get(first, "line")),
			 (int)json_integer_value(json_object_get(first, "col")),
			 json_string_value(json_object_get(first, "message")));
		nbad += message_differs(c, path, msg);
		json_decref(probs);
	}
	if (nbad)
		fail_msg("%d messages differ", nbad);
}

/* The cases above must each be a one-line fix away from good: the base they
 * are built on loads. */
static void test_bad_case_base_is_good(void **state)
{
	(void)state;
	policy_free(load_text(WF_HEAD RETIER));
}

static void test_check_reports_every_problem(void **state)
{
	static const char text[] = "version: 1\n"		    /* 1 */
				   "defaults:\n"		    /* 2 */
				   "  ttl: soon\n"		    /* 3 */
				   "workflows:\n"		    /* 4 */
				   "  retier:\n"		    /* 5 */
				   "    effect: write\n"	    /* 6 */
				   "    tools: [propose_changes]\n" /* 7 */
				   "    reversible: true\n"	    /* 8 */
				   "    stage_max: 0\n"		    /* 9 */
				   "    fields: [tierr]\n"	    /* 10 */
				   "  outreach:\n"		    /* 11 */
				   "    effect: draft\n"	    /* 12 */
				   "    tools: [draft_email]\n"	    /* 13 */
				   "  drafts:\n"		    /* 14 */
				   "    effect: draft\n"	    /* 15 */
				   "    tools: [draft_email]\n"	    /* 16 */
				   "    fields: [owner]\n"	    /* 17 */
				   "smtp:\n"			    /* 18 */
				   "  host: mail\n"		    /* 19 */
				   "  from: a@b.example\n"	    /* 20 */
				   "  tls: ssl\n";		    /* 21 */
	static const struct {
		int line, col;
		const char *start;
	} want[] = {
	    {3, 8, "ttl must be a positive duration"},
	    {9, 16, "stage_max must be a positive integer, not '0'"},
	    {10, 14, "unknown field 'tierr'"},
	    {16, 13, "tool 'draft_email' is already in workflow 'outreach' (line 13)"},
	    {17, 5, "fields apply only to write workflows"},
	    {21, 8, "tls must be none, starttls or tls"},
	};
	struct err err = {0};
	json_t *probs, *pr;
	const char *path = write_file("many.yaml", text);
	size_t i;

	(void)state;
	assert_ok(policy_check(path, &probs, &err), &err);
	if (json_array_size(probs) != sizeof want / sizeof want[0]) {
		char *dump = json_dumps(probs, JSON_INDENT(1));

		fail_msg("wanted %zu problems, got: %s", sizeof want / sizeof want[0], dump);
	}
	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		pr = json_array_get(probs, i);
		assert_string_equal(json_string_value(json_object_get(pr, "file")), path);
		assert_int_equal(json_integer_value(json_object_get(pr, "line")), want[i].line);
		assert_int_equal(json_integer_value(json_object_get(pr, "col")), want[i].col);
		assert_true(strncmp(json_string_value(json_object_get(pr, "message")),
				    want[i].start, strlen(want[i].start)) == 0);
	}
	json_decref(probs);
	/* a good file has none */
	assert_ok(policy_check(write_file("good.yaml", policy_default_yaml()), &probs, &err), &err);
	assert_int_equal(json_array_size(probs), 0);
	json_decref(probs);
}

static void test_unreadable_files(void **state)
{
	struct err err = {0};
	struct policy *p = NULL;
	json_t *probs = NULL;
	char path[400], *big;

	(void)state;
	snprintf(path, sizeof path, "%s/missing.yaml", tmpdir);
	assert_int_equal(policy_load(path, &p, &err), AIRLOCK_ENOTFOUND);
	assert_null(p);
	assert_non_null(strstr(err.msg, "cannot read"));
	assert_non_null(strstr(err.msg, "missing.yaml"));
	assert_true(policy_check(path, &probs, &err) < 0);
	assert_null(probs);
	/* a folder */
	assert_true(policy_load(tmpdir, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "cannot read"));
	/* oversized */
	big = malloc(1024 * 1024 + 10);
	assert_non_null(big);
	memset(big, '#', 1024 * 1024 + 10);
	write_bytes("big.yaml", big, 1024 * 1024 + 10);
	free(big);
	snprintf(path, sizeof path, "%s/big.yaml", tmpdir);
	assert_int_equal(policy_load(path, &p, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "larger than"));
}

/* Every prefix of the default file: no crash, no leak (ASan), and either ok
 * or at least one problem with a position inside the file. */
static void test_truncation_never_crashes(void **state)
{
	const char *text = policy_default_yaml();
	size_t len = strlen(text), cut, nok = 0;
	struct err err = {0};
	json_t *probs;
	const char *path;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		path = write_bytes("cut.yaml", text, cut);
		assert_ok(policy_check(path, &probs, &err), &err);
		if (json_array_size(probs) == 0) {
			struct policy *p = NULL;

			assert_ok(policy_load(path, &p, &err), &err);
			policy_free(p);
			nok++;
		} else {
			json_t *first = json_array_get(probs, 0);

			assert_true(json_integer_value(json_object_get(first, "line")) >= 1);
			assert_true(json_integer_value(json_object_get(first, "col")) >= 1);
			assert_true(strlen(json_string_value(json_object_get(first, "message"))) >
				    10);
		}
		json_decref(probs);
	}
	assert_true(nok >= 1); /* the whole file, at least */
}

/* Random byte flips, insertions and deletions (fixed seed): the same. */
static void test_mutations_never_crash(void **state)
{
	static const char alphabet[] = " :-[]{}#&*!|>'\"%@`,?\n\t\\0x\x01\xff";
	const char *text = policy_default_yaml();
	size_t len = strlen(text), n, pos, j;
	unsigned int seed = 20261126;
	struct err err = {0};
	json_t *probs;
	char *buf;
	int i, k;

	(void)state;
	buf = malloc(len + 64);
	assert_non_null(buf);
	for (i = 0; i < 1500; i++) {
		memcpy(buf, text, len);
		n = len;
		for (k = 0; k < 1 + i % 4; k++) {
			pos = (size_t)rand_r(&seed) % n;
			switch (rand_r(&seed) % 3) {
			case 0:
				buf[pos] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
				break;
			case 1:
				if (n + 1 >= len + 64)
					break;
				memmove(buf + pos + 1, buf + pos, n - pos);
				buf[pos] = alphabet[rand_r(&seed) % (sizeof alphabet - 1)];
				n++;
				break;
			default:
				j = 1 + (size_t)rand_r(&seed) % 8;
				if (pos + j > n)
					j = n - pos;
				memmove(buf + pos, buf + pos + j, n - pos - j);
				n -= j;
			}
		}
		assert_ok(policy_check(write_bytes("mut.yaml", buf, n), &probs, &err), &err);
		json_decref(probs);
	}
	free(buf);
}

/* Hostile YAML: deep nesting, alias cycles, many keys. */
static void test_hostile_yaml(void **state)
{
	struct err err = {0};
	json_t *probs;
	char *deep;
	size_t i, n = 100000;

	(void)state;
	deep = malloc(2 * n + 64);
	assert_non_null(deep);
	memcpy(deep, "version: 1\nworkflows: ", 22);
	for (i = 0; i < n; i++)
		deep[22 + i] = '[';
	for (i = 0; i < n; i++)
		deep[22 + n + i] = ']';
	deep[22 + 2 * n] = '\0';
	assert_ok(policy_check(write_file("deep.yaml", deep), &probs, &err), &err);
	assert_int_equal(json_array_size(probs), 1);
	assert_non_null(
	    strstr(json_string_value(json_object_get(json_array_get(probs, 0), "message")),
		   "levels deep"));
	json_decref(probs);
	/* block nesting too */
	{
		char block[4096];
		size_t o = 0;
		int lvl;

		o += (size_t)snprintf(block, sizeof block, "version: 1\nworkflows:\n");
		for (lvl = 0; lvl < 40; lvl++)
			o += (size_t)snprintf(block + o, sizeof block - o, "%*sk%d:\n", 2 * lvl + 2,
					      "", lvl);
		assert_ok(policy_check(write_file("deepblock.yaml", block), &probs, &err), &err);
		assert_true(json_array_size(probs) >= 1);
		json_decref(probs);
	}
	free(deep);
	assert_ok(policy_check(write_file("alias.yaml", "version: 1\nworkflows:\n  a: &x\n"
							"    effect: read\n    tools: *x\n"),
			       &probs, &err),
		  &err);
	assert_true(json_array_size(probs) >= 1);
	json_decref(probs);
	/* an alias to a good value is fine */
	policy_free(load_text("version: 1\nworkflows:\n  a:\n    effect: read\n"
			      "    tools: &t [get_account]\n  b:\n    effect: read\n"
			      "    tools: [book_stats]\n"));
}

/* ---- radius ---- */

static struct policy *unattended_policy(void)
{
	return load_text("version: 1\n"
			 "workflows:\n"
			 "  capped:\n"
			 "    effect: write\n"
			 "    tools: [propose_changes]\n"
			 "    reversible: true\n"
			 "    stage_max: 100\n"
			 "    fields: [tier]\n"
			 "    unattended: true\n"
			 "    unattended_max: 25\n"
			 "  uncapped:\n"
			 "    effect: write\n"
			 "    tools: [propose_changes]\n"
			 "    reversible: true\n"
			 "    stage_max: 100\n"
			 "    fields: [owner]\n"
			 "    unattended: true\n"
			 "  blast:\n"
			 "    effect: send\n"
			 "    tools: [request_send]\n"
			 "    unattended: true\n"
			 "  merge:\n"
			 "    effect: write\n"
			 "    tools: [propose_merge]\n"
			 "    fields: [owner]\n"
			 "    unattended: true\n"
			 "    unattended_max: 3\n");
}

static void test_radius(void **state)
{
	struct policy *p, *q;
	const char *why = NULL;
	int flagged = -1, i;

	(void)state;
	p = load_text(policy_default_yaml());
	for (i = 0; i < p->nworkflows; i++) {
		assert_int_equal(policy_radius(&p->workflows[i], &why, &flagged), 0);
		assert_int_equal(flagged, 0);
		assert_non_null(why);
	}
	policy_radius(policy_workflow(p, "retier"), &why, &flagged);
	assert_non_null(strstr(why, "staged"));
	policy_radius(policy_workflow(p, "merge"), &why, &flagged);
	assert_non_null(strstr(why, "irreversible"));
	policy_radius(policy_workflow(p, "send"), &why, &flagged);
	assert_non_null(strstr(why, "cannot be undone"));
	policy_radius(policy_workflow(p, "read"), &why, &flagged);
	assert_non_null(strstr(why, "reads"));
	policy_radius(policy_workflow(p, "outreach"), &why, &flagged);
	assert_non_null(strstr(why, "drafts"));
	assert_int_equal(policy_radius(NULL, &why, &flagged), 0);
	assert_int_equal(flagged, 0);
	assert_int_equal(policy_radius(NULL, NULL, NULL), 0);

	q = unattended_policy();
	assert_int_equal(policy_radius(policy_workflow(q, "capped"), &why, &flagged), 25);
	assert_int_equal(flagged, 0);
	assert_non_null(strstr(why, "unattended"));
	assert_int_equal(policy_radius(policy_workflow(q, "uncapped"), &why, &flagged),
			 POLICY_RADIUS_UNBOUNDED);
	assert_int_equal(flagged, 1);
	assert_non_null(strstr(why, "no unattended_max"));
	assert_int_equal(policy_radius(policy_workflow(q, "blast"), &why, &flagged),
			 POLICY_RADIUS_UNBOUNDED);
	assert_int_equal(flagged, 1);
	assert_non_null(strstr(why, "messages"));
	assert_int_equal(policy_radius(policy_workflow(q, "merge"), &why, &flagged), 3);
	assert_int_equal(flagged, 0);
	policy_free(p);
	policy_free(q);
}

/* ---- decide ---- */

static struct decision decide(const struct policy *p, const char *wf, int64_t radius,
			      int64_t cumulative, int64_t pending)
{
	struct decision_input in = {p ? policy_workflow(p, wf) : NULL, radius, cumulative, pending};
	struct decision d;

	memset(&d, 0x5a, sizeof d); /* nothing may be left over */
	policy_decide(p, &in, &d);
	assert_true(d.nreasons >= 1 && d.nreasons <= DECISION_REASONS_MAX);
	return d;
}

#define assert_reason(d, i, text)                                                                  \
	do {                                                                                       \
		if (!strstr((d).reasons[i], (text)))                                               \
			fail_msg("reason %d '%s' lacks '%s'", (i), (d).reasons[i], (text));        \
	} while (0)

static void test_decide_read_draft_staged(void **state)
{
	struct policy *p = load_text(policy_default_yaml());
	struct decision d;

	(void)state;
	d = decide(p, "read", 0, 0, 0);
	assert_int_equal(d.kind, DECISION_ALLOWED);
	d = decide(p, "outreach", 0, 0, 0);
	assert_int_equal(d.kind, DECISION_DRAFT);
	assert_reason(d, 0, "the book does not change");
	d = decide(p, "retier", 40, 120, 0);
	assert_int_equal(d.kind, DECISION_STAGED);
	assert_int_equal(d.nreasons, 1);
	assert_string_equal(d.reasons[0],
			    "radius 40 (running total 120 waiting for a person) is within "
			    "stage_max 200 for workflow 'retier' and can be undone: staged for a "
			    "sample audit (95% confidence, 5% tolerated defects)");
	/* exactly at the cap is still staged */
	assert_int_equal(decide(p, "retier", 200, 200, 0).kind, DECISION_STAGED);
	assert_int_equal(decide(p, "retier", 1, 200, 19).kind, DECISION_STAGED);
	assert_int_equal(decide(p, "field_update", 100, 100, 0).kind, DECISION_STAGED);
	policy_free(p);
}

/* A misspelt workflow gets a did-you-mean among the workflows that list the
 * tool; another word, or a workflow of another tool, gets none. */
static void test_workflow_suggest(void **state)
{
	struct policy *p = load_text(policy_default_yaml());
	const struct policy_workflow *wf;
	enum policy_effect e;

	(void)state;
	wf = policy_workflow_suggest(p, "propose_changes", "Retier");
	assert_non_null(wf);
	assert_string_equal(wf->name, "retier");
	assert_string_equal(policy_workflow_suggest(p, "propose_changes", " retier\t")->name,
			    "retier");
	assert_string_equal(policy_workflow_suggest(p, "propose_changes", "retire")->name, "retier");
	assert_string_equal(policy_workflow_suggest(p, "propose_changes", "field-update")->name,
			    "field_update");
	assert_null(policy_workflow_suggest(p, "propose_changes", "bogus"));
	assert_null(policy_workflow_suggest(p, "propose_changes", "merge"));
	assert_null(policy_workflow_suggest(p, "propose_changes", "send"));
	assert_null(policy_workflow_suggest(p, "propose_merge", "retier"));
	assert_string_equal(policy_workflow_suggest(p, "propose_merge", "Merge")->name, "merge");
	assert_null(policy_workflow_suggest(p, "no_such_tool", "retier"));
	assert_null(policy_workflow_suggest(NULL, "propose_changes", "retier"));
	/* a name too long to compare is no slip */
	assert_null(policy_workflow_suggest(p, "propose_changes",
					    "retierretierretierretierretierretierretierretierretier"
					    "retierretierretier"));
	assert_int_equal(policy_tool_effect("request_send", &e), 0);
	assert_int_equal(e, EFFECT_SEND);
	assert_int_equal(policy_tool_effect("approve", &e), AIRLOCK_ENOTFOUND);
	policy_free(p);
}

static void test_decide_blocked(void **state)
{
	struct policy *p = load_text(policy_default_yaml());
	struct decision d;

	(void)state;
	/* by size */
	d = decide(p, "retier", 201, 201, 0);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_string_equal(d.reasons[0], "radius 201 exceeds stage_max 200 for workflow "
					  "'retier': blocked for a human's approval");
	/* by the running total: splitting does not get round the cap */
	d = decide(p, "retier", 40, 240, 0);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_int_equal(d.nreasons, 1);
	assert_string_equal(d.reasons[0],
			    "radius 40 (running total 240 waiting for a person) exceeds "
			    "stage_max 200 for workflow 'retier': blocked for a human's approval");
	assert_int_equal(decide(p, "field_update", 1, 101, 0).kind, DECISION_BLOCKED);
	/* irreversible */
	d = decide(p, "merge", 1, 1, 0);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_reason(d, 0, "irreversible");
	d = decide(p, "send", 1, 1, 0);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_reason(d, 0, "sends 1 message, which cannot be unsent");
	d = decide(p, "send", 3, 3, 0);
	assert_reason(d, 0, "sends 3 messages, which cannot be unsent");
	/* pending cap */
	d = decide(p, "retier", 1, 1, 20);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_string_equal(d.reasons[0], "20 batches of this agent already wait unreviewed, and "
					  "max_pending_batches is 20 for workflow 'retier': "
					  "blocked for a human's approval");
	/* every reason that applies is given */
	d = decide(p, "retier", 300, 900, 25);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_int_equal(d.nreasons, 2);
	assert_reason(d, 0, "running total 900");
	assert_reason(d, 1, "25 batches");
	policy_free(p);
}

static void test_decide_fails_closed(void **state)
{
	struct policy *p = load_text(policy_default_yaml()), *other;
	struct decision_input in = {0};
	struct decision d;

	(void)state;
	/* unknown workflow */
	d = decide(p, "nope", 1, 1, 0);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_reason(d, 0, "no workflow");
	/* no policy */
	in.wf = policy_workflow(p, "read");
	policy_decide(NULL, &in, &d);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_reason(d, 0, "no policy");
	policy_decide(p, NULL, &d);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	/* a workflow of another policy */
	other = load_text(policy_default_yaml());
	in.wf = policy_workflow(other, "read");
	policy_decide(p, &in, &d);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_reason(d, 0, "not one of the loaded policy's");
	policy_free(other);
	/* inconsistent totals */
	assert_int_equal(decide(p, "retier", -1, 0, 0).kind, DECISION_BLOCKED);
	assert_int_equal(decide(p, "retier", 5, 4, 0).kind, DECISION_BLOCKED);
	d = decide(p, "read", 0, 0, -1);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_reason(d, 0, "inconsistent");
	policy_free(p);
}

static void test_decide_unattended(void **state)
{
	struct policy *p = unattended_policy();
	struct decision d;

	(void)state;
	/* within the cap: applied with no human */
	d = decide(p, "capped", 25, 25, 0);
	assert_int_equal(d.kind, DECISION_ALLOWED);
	assert_string_equal(d.reasons[0], "radius 25 is within unattended_max 25 for workflow "
					  "'capped', which runs unattended: applied with no human");
	/* the cap is per action, whatever ran before */
	assert_int_equal(decide(p, "capped", 10, 5000, 0).kind, DECISION_ALLOWED);
	/* over the cap: the normal flow, staged... */
	d = decide(p, "capped", 26, 26, 0);
	assert_int_equal(d.kind, DECISION_STAGED);
	assert_int_equal(d.nreasons, 2);
	assert_reason(d, 0, "exceeds unattended_max 25");
	assert_reason(d, 1, "staged");
	/* ...or blocked */
	d = decide(p, "capped", 26, 150, 0);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_reason(d, 1, "exceeds stage_max 100");
	/* no cap: the policy said so, radius flags it */
	assert_int_equal(decide(p, "uncapped", 100000, 100000, 99).kind, DECISION_ALLOWED);
	assert_int_equal(decide(p, "blast", 5000, 5000, 0).kind, DECISION_ALLOWED);
	/* irreversible, explicitly unattended with a cap */
	assert_int_equal(decide(p, "merge", 3, 3, 0).kind, DECISION_ALLOWED);
	d = decide(p, "merge", 4, 4, 0);
	assert_int_equal(d.kind, DECISION_BLOCKED);
	assert_reason(d, 1, "irreversible");
	policy_free(p);
}

/* Found by fuzz_policy: a problem quoting the file's non-ASCII text, cut to
 * fit the message inside a character, made `airlock policy check` answer
 * "out of memory" instead of listing the problems. */
static void test_check_quotes_non_ascii_text(void **state)
{
	char text[1024], value[256];
	struct err err = {0};
	json_t *probs;
	int k, i;

	(void)state;
	for (k = 0; k < 4; k++) {
		size_t o = 0;

		for (i = 0; i < k; i++)
			value[o++] = 'x';
		for (i = 0; i < 60; i++) {
			memcpy(value + o, "\xc3\xa9", 2); /* é */
			o += 2;
		}
		value[o] = '\0';
		snprintf(text, sizeof text,
			 "version: 1\nworkflows:\n  w:\n    effect: write\n"
			 "    tools: [propose_changes]\n    reversible: true\n    fields: [tier]\n"
			 "    stage_max: %s\n",
			 value);
		assert_ok(policy_check(write_file("utf8.yaml", text), &probs, &err), &err);
		assert_int_equal(json_array_size(probs), 1);
		assert_non_null(strstr(json_string_value(json_object_get(json_array_get(probs, 0),
									 "message")),
				       "stage_max must be a positive integer"));
		json_decref(probs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_loads),
	    cmocka_unit_test(test_check_quotes_non_ascii_text),
	    cmocka_unit_test(test_digest_is_blake2b_of_bytes),
	    cmocka_unit_test(test_lookups),
	    cmocka_unit_test(test_inheritance_and_overrides),
	    cmocka_unit_test(test_bad_case_base_is_good),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_check_reports_every_problem),
	    cmocka_unit_test(test_unreadable_files),
	    cmocka_unit_test(test_truncation_never_crashes),
	    cmocka_unit_test(test_mutations_never_crash),
	    cmocka_unit_test(test_hostile_yaml),
	    cmocka_unit_test(test_radius),
	    cmocka_unit_test(test_decide_read_draft_staged),
	    cmocka_unit_test(test_decide_blocked),
		cmocka_unit_test(test_workflow_suggest),
	    cmocka_unit_test(test_decide_fails_closed),
	    cmocka_unit_test(test_decide_unattended),
	};
	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
