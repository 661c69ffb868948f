/* fuzz_policy_harness.h — the policy file (YAML, libyaml) under fuzzing;
 * shared by fuzz/fuzz_policy.c and tests/test_fuzz.c.
 *
 * One input is a policy file. Oracles beyond the sanitizers: policy_load
 * and policy_check agree (a file that loads has no problems; a file that
 * does not load has at least one, each with a line and column and a
 * message); a loaded policy answers every lookup and decision without
 * crashing, and policy_decide never lets a write or send through
 * unattended that its workflow does not allow. */
#ifndef AIRLOCK_FUZZ_POLICY_HARNESS_H
#define AIRLOCK_FUZZ_POLICY_HARNESS_H

#include "policy.h"

#include "fuzz_common.h"

struct fuzz_policy {
	char dir[96], path[160];
};

__attribute__((unused)) static void fuzz_policy_init(struct fuzz_policy *f)
{
	fuzz_tmpdir("policy", f->dir, sizeof f->dir);
	snprintf(f->path, sizeof f->path, "%s/airlock.yaml", f->dir);
}

__attribute__((unused)) static void fuzz_policy_fini(struct fuzz_policy *f)
{
	fuzz_rmdir(f->dir);
}

static void fuzz_policy_exercise(const struct policy *p)
{
	static const char *const tools[] = {"propose_changes", "draft_email", "request_send",
					    "search_accounts", "get_account", "nope", ""};
	struct decision_input in;
	struct decision d;
	const struct policy_workflow *wf;
	const char *why;
	int flagged, i, t;
	int64_t r;

	for (t = 0; t < (int)(sizeof tools / sizeof tools[0]); t++) {
		wf = policy_workflow_for_tool(p, tools[t]);
		(void)policy_workflow_for_call(p, tools[t], wf ? wf->name : "x");
	}
	for (i = 0; i < p->nworkflows; i++) {
		wf = &p->workflows[i];
		if (policy_workflow(p, wf->name) == NULL)
			fuzz_die("policy", "a loaded workflow is not found by its name", wf->name);
		(void)policy_field_allowed(wf, "region");
		(void)policy_field_allowed(wf, "custom.x");
		for (t = 0; t < wf->ntools; t++)
			if (!policy_workflow_has_tool(wf, wf->tools[t]))
				fuzz_die("policy", "a workflow does not have its own tool",
					 wf->tools[t]);
		r = policy_radius(wf, &why, &flagged);
		if (r < 0 || !why)
			fuzz_die("policy", "a negative radius or no reason", wf->name);
		for (t = 0; t < 4; t++) {
			memset(&in, 0, sizeof in);
			in.wf = wf;
			in.radius = t == 0 ? 1 : t == 1 ? wf->stage_max : t == 2 ? INT64_MAX / 2 : 0;
			in.cumulative = in.radius + t;
			in.pending_batches = t;
			policy_decide(p, &in, &d);
			if (d.kind == DECISION_ALLOWED &&
			    (wf->effect == EFFECT_WRITE || wf->effect == EFFECT_SEND) &&
			    (!wf->unattended ||
			     (wf->unattended_max > 0 && in.radius > wf->unattended_max)))
				fuzz_die("policy", "an unattended write the workflow does not allow",
					 wf->name);
			if (d.nreasons < 0 || d.nreasons > DECISION_REASONS_MAX)
				fuzz_die("policy", "reasons out of range", wf->name);
		}
	}
}

__attribute__((unused)) static void fuzz_policy_one(struct fuzz_policy *f,
						    const unsigned char *data, size_t size)
{
	struct policy *p = NULL;
	struct err err = {0}, err2 = {0};
	json_t *problems = NULL, *pr;
	size_t i;
	int rc, rc2;

	fuzz_write_file("policy", f->path, data, size);
	rc = policy_load(f->path, &p, &err);
	rc2 = policy_check(f->path, &problems, &err2);
	if (rc2 != 0)
		fuzz_die("policy", "policy_check cannot read a file policy_load read", err2.msg);
	if (rc == 0 && json_array_size(problems) != 0) {
		char *dump = json_dumps(problems, 0);

		fuzz_die("policy", "a file that loads has problems", dump);
	}
	if (rc != 0 && json_array_size(problems) == 0)
		fuzz_die("policy", "a file that does not load has no problem", err.msg);
	if (rc != 0 && (p || !err.msg[0]))
		fuzz_die("policy", "a refusal without a message", err.msg);
	json_array_foreach(problems, i, pr)
	{
		if (!json_is_integer(json_object_get(pr, "line")) ||
		    !json_is_string(json_object_get(pr, "message")))
			fuzz_die("policy", "a problem without line or message", NULL);
	}
	json_decref(problems);
	if (p)
		fuzz_policy_exercise(p);
	policy_free(p);
}

#endif
