/* gate.h — the flow of one agent action, from a write tool call to a
 * decision: refused items, then policy_decide(), then a draft, a staged
 * batch or a blocked batch, each logged with its effect.
 *
 * Owns: proposals, the answers agents see. The running radius per agent and
 * workflow lives in radius.h: the gate holds a waiting batch's records,
 * staging releases them when the batch stops waiting.
 *
 * Refuses whole (logged, nothing queued): a call with no loaded policy, a
 * workflow name the policy does not have (with a did-you-mean and the
 * workflows that list the tool), a workflow that does not list the tool or
 * has another effect, and a proposal past max_pending_batches. No proposal
 * reaches staging without its workflow.
 *
 * Never: approves, judges, applies or undoes anything — those are human verbs
 * in staging.h, never reachable from a connector. Nothing in a tool's
 * arguments or in book data can change what the gate allows. */
#ifndef AIRLOCK_GATE_H
#define AIRLOCK_GATE_H

#include <jansson.h>

#include "err.h"
#include "policy.h"
#include "store.h"

struct gate {
	struct store *store;
	const struct policy *policy; /* NULL = no loaded policy: everything blocks */
};

struct gate_call {
	const char *principal;           /* "agent:NAME" */
	const char *surface;             /* "mcp:write", "cli" */
	const char *tool;                /* propose_changes, propose_merge, draft_email,
					    save_brief, request_send */
	const char *instruction_version; /* the connector's pin (--instruction-version),
					    NULL = unpinned. An instruction_version
					    argument from the agent is never this: it is
					    recorded as the batch's instruction_claim */
};

/* Runs one write-connector tool call through the gate. *result is a JSON
 * object the connector returns as structuredContent:
 *   {"decision": "staged"|"blocked"|"draft"|"refused", "batch_id": ...,
 *    "radius": N, "cumulative_radius": N, "refused_items": [...],
 *    "reasons": [...], "next": "...", "instruction_claim": "..."?}
 * A call refused for its workflow adds "workflows" (those listing the tool,
 * with their fields) and "did_you_mean"; one refused past the cap adds
 * "pending_batches" and "max_pending_batches".
 * A refusal is a normal result (return 0). A negative return means airlock
 * itself failed (err says why) and nothing was changed; the connector
 * reports it as a tool error. AIRLOCK_EINVAL: the arguments are wrong (err
 * names the argument). */
int gate_call_tool(struct gate *g, const struct gate_call *call, json_t *args, json_t **result,
		   struct err *err);

/* What became of an agent's proposals: one batch (batch_id) or its recent
 * ones (batch_id NULL). An agent sees only its own batches. */
int gate_batch_status(struct gate *g, const char *principal, const char *batch_id,
		      json_t **result, struct err *err);

/* What the gate knew when it decided one proposal, besides the policy:
 * the decision is a pure function of (policy, workflow, this), computed by
 * gate_decide() on the live path and again by policy replay (replay.h). It
 * is recorded beside the proposal's log entry (table gate_snapshot). */
struct gate_state {
	int64_t radius;     /* distinct records the proposal alters, after refusals */
	int64_t cumulative; /* the running total with this proposal (radius.h) */
	int64_t pending;    /* the agent's batches waiting unreviewed before it */
};

struct gate_decision {
	struct decision d; /* policy_decide()'s, when radius > 0 */
	int refused;       /* every item was refused: nothing to stage */
	int capped;        /* refused: pending ≥ the workflow's max_pending_batches */
};

/* The decision on one proposal of workflow wf (one of p's): every item
 * refused → refused; else policy_decide(), and past max_pending_batches
 * anything not applied unattended is refused (capped). Touches nothing. */
void gate_decide(const struct policy *p, const struct policy_workflow *wf,
		 const struct gate_state *st, struct gate_decision *out);

/* The name the log records for it: "allowed", "staged", "blocked" or
 * "refused". */
const char *gate_decision_name(const struct gate_decision *gd);

/* What becomes of the decision on an upstream's write (gate_upstream_call;
 * policy replay models it the same): never applied unattended (allowed
 * becomes staged), and one that cannot be undone (a create, delete or
 * send) blocked for a person. Returns the reason it adds, NULL when gd
 * stays as it was. */
const char *gate_upstream_decide(struct gate_decision *gd, int irreversible);

/* A call of an upstream's write tool (upwrite.h), its records already
 * found in its arguments and their current values read from the upstream:
 * staged or blocked exactly as propose_changes is (the workflow's field
 * allow-list, the declared scope matched against each record's current
 * values, radius = distinct records, the running total, sampling per
 * record), never applied unattended: apply calls the upstream, a person's
 * verb. The agent's arguments name workflow, scope and rationale as
 * airlock_workflow (optional), airlock_scope and airlock_rationale. */
struct gate_upstream {
	const char *kind;  /* the records' namespace in the running total, "upstream:NAME" */
	int irreversible;  /* a create, delete or send: blocked for a person */
	/* [{"record_id", "changes": {field: value}, "before": {record} | null,
	 *   "item": N (its number in the refusals)}] */
	json_t *items;
	/* called in the batch's transaction once it is created, with the
	 * numbers (from 1) of the kept items' records in batch order */
	int (*staged)(struct store *s, int64_t batch_id, json_t *kept, void *ctx,
		      struct err *err);
	void *ctx;
};
int gate_upstream_call(struct gate *g, const struct gate_call *call, json_t *args,
		       const struct gate_upstream *up, json_t **result, struct err *err);

struct outreach_audience_rules;

/* Fills outreach's audience rules from the policy (all off when p is NULL). */
void gate_audience_rules(const struct policy *p, struct outreach_audience_rules *r);

#endif
