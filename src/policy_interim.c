/* policy_interim.c — INTERIM: the few policy.h functions the gate needs,
 * until the policy module lands (then this file is deleted). */
#include "policy.h"

#include <stdio.h>
#include <string.h>

const struct policy_workflow *policy_workflow(const struct policy *p, const char *name)
{
	int i;

	for (i = 0; p && i < p->nworkflows; i++)
		if (!strcmp(p->workflows[i].name, name))
			return &p->workflows[i];
	return NULL;
}

const struct policy_workflow *policy_workflow_for_tool(const struct policy *p, const char *tool)
{
	int i, j;

	for (i = 0; p && i < p->nworkflows; i++)
		for (j = 0; j < p->workflows[i].ntools; j++)
			if (!strcmp(p->workflows[i].tools[j], tool))
				return &p->workflows[i];
	return NULL;
}

int policy_field_allowed(const struct policy_workflow *wf, const char *field)
{
	int i;

	for (i = 0; i < wf->nfields; i++)
		if (!strcmp(wf->fields[i], field) ||
		    (!strcmp(wf->fields[i], "custom.*") && !strncmp(field, "custom.", 7)))
			return 1;
	return 0;
}

void policy_decide(const struct policy *p, const struct decision_input *in, struct decision *out)
{
	const struct policy_workflow *wf = in->wf;

	out->nreasons = 1;
	out->kind = DECISION_BLOCKED;
	if (!p || !wf) {
		snprintf(out->reasons[0], DECISION_REASON_LEN, "no policy: blocked");
		return;
	}
	if (wf->effect == EFFECT_DRAFT) {
		out->kind = DECISION_DRAFT;
		snprintf(out->reasons[0], DECISION_REASON_LEN, "draft");
		return;
	}
	if (wf->unattended && in->radius <= wf->unattended_max) {
		out->kind = DECISION_ALLOWED;
		snprintf(out->reasons[0], DECISION_REASON_LEN, "unattended");
		return;
	}
	if (wf->reversible && in->cumulative <= wf->stage_max && in->pending_batches < wf->max_pending) {
		out->kind = DECISION_STAGED;
		snprintf(out->reasons[0], DECISION_REASON_LEN, "staged");
		return;
	}
	snprintf(out->reasons[0], DECISION_REASON_LEN, "blocked: radius %lld cumulative %lld",
		 (long long)in->radius, (long long)in->cumulative);
}

const char *policy_decision_name(enum decision_kind k)
{
	static const char *const n[] = {"draft", "staged", "blocked", "allowed"};

	return n[k];
}

int policy_load(const char *path, struct policy **out, struct err *err)
{
	*out = NULL;
	return err_set(err, AIRLOCK_EINVAL, "%s: the policy loader is not built yet", path);
}

void policy_free(struct policy *p) { (void)p; }
