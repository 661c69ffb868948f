/* policy.h — the policy file (airlock.yaml): workflows, their effects and
 * caps, the audience rules and the SMTP relay; and policy_decide(), the
 * flowchart of the risk model made exact.
 *
 * Owns: loading and checking the YAML (libyaml), every problem reported as
 * FILE:LINE:COL; the worst-case unattended blast radius of each workflow;
 * the decision for one proposal given its radius and the agent's running
 * totals.
 *
 * Never: touches the store or the book. policy_decide() is a pure function
 * of its inputs, so it is fast and can be tested exhaustively. It fails
 * closed: anything unknown or inconsistent is DECISION_BLOCKED.
 *
 * A struct policy is owned by whoever loaded it and freed with
 * policy_free(); every pointer into it lives as long as it does. */
#ifndef AIRLOCK_POLICY_H
#define AIRLOCK_POLICY_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"

#define POLICY_DEFAULT_PATH "airlock.yaml"

enum policy_effect { EFFECT_READ, EFFECT_DRAFT, EFFECT_WRITE, EFFECT_SEND };

struct policy_sampling {
	double confidence;  /* C, e.g. 0.95 */
	double defect_rate; /* tolerated defect rate p, e.g. 0.05 */
	double min_catch_rate; /* reviewers confidently below it weigh 0 in autonomy; 0 = off */
	int64_t check_every;   /* a seeded check in every k-th sample (review.h); 0 = off */
};

struct policy_workflow {
	const char *name;
	const char *const *tools;  /* tools that belong to it */
	int ntools;
	enum policy_effect effect;
	int reversible;
	int64_t stage_max;         /* largest batch staged for sample audit; larger → blocked */
	const char *const *fields; /* fields it may write (allow-list); "custom.*" allowed */
	int nfields;
	struct policy_sampling sampling;
	int unattended;            /* explicit: may apply with no human, up to unattended_max */
	int64_t unattended_max;    /* records per action when unattended (0 = no cap given) */
	int64_t ttl_seconds;       /* a waiting batch expires after this */
	int64_t max_pending;       /* batches one agent may have waiting unreviewed */
	int line, col;             /* where it is defined, for messages */
};

struct policy_audience {
	const char *const *competitor_domains;
	int ncompetitor_domains;
	int64_t touch_window_days;  /* at most max_touches per contact per window */
	int64_t max_touches;
};

enum policy_tls { TLS_NONE, TLS_STARTTLS, TLS_IMPLICIT };

struct policy_smtp {
	const char *host;          /* NULL = not configured */
	int port;
	enum policy_tls tls;
	const char *username;
	const char *password_env;  /* name of the environment variable holding it */
	const char *from;
	int64_t timeout_seconds;
	int64_t max_attempts;      /* delivery retries with back-off before "failed" */
};

/* Where airlock points a person when something waits for them. */
struct policy_notify {
	const char *webhook;     /* Slack-compatible incoming webhook; NULL = none */
	const char *console_url; /* base of links, e.g. https://airlock.example:8750;
				    NULL = airlock serve's own address */
};

/* An upstream MCP server (upstreams: in the policy) whose tools airlock
 * passes on, each tool with the effect its calls have. A tool the policy
 * does not list is neither shown nor callable. */
enum policy_transport { UPSTREAM_STDIO, UPSTREAM_HTTP };

/* How the calls of an upstream write tool become a batch (a tool entry
 * written as a mapping): where its arguments name the records and the
 * fields it writes, how to read a record's current values, how to undo. */
enum policy_upstream_action {
	UPSTREAM_NONE,   /* no mapping: calls are held (refused) */
	UPSTREAM_UPDATE, /* field changes: staged like propose_changes */
	UPSTREAM_CREATE, /* irreversible: blocked for a person */
	UPSTREAM_DELETE, /* irreversible: blocked for a person */
	UPSTREAM_SEND,   /* irreversible: blocked for a person */
};

struct policy_upstream_map {
	enum policy_upstream_action action;
	/* JSON pointers into the arguments, a segment "*" standing for every
	 * element of an array: where record ids are */
	const char *const *records;
	int nrecords;
	/* where the fields written are: one pointer to an object of field →
	 * new value (fields_object), or pointers each naming one field (its
	 * last segment) */
	const char *const *fields;
	int nfields;
	int fields_object;
	/* arguments that are neither records nor fields but context the policy
	 * fixes (HubSpot's objectType): pointer → the only text allowed there */
	const char *const *fixed;
	const char *const *fixed_values;
	int nfixed;
	/* the before-value read: an upstream tool, its arguments as JSON text
	 * (any string "{id}" in them standing for the record id) and a pointer
	 * into its result (structuredContent, else its first text as JSON) to
	 * the record's object; NULL tool for none (update needs one) */
	const char *before_tool;
	const char *before_args;
	const char *before_path;
	/* undo: NULL = irreversible; "" = the same tool with the before-values;
	 * else the name of an inverse tool called the same way */
	const char *undo_tool;
	int line;
};

struct policy_upstream_tool {
	const char *name;          /* the upstream's name for it */
	enum policy_effect effect; /* read, draft, write or send */
	int line;
	struct policy_upstream_map map; /* action UPSTREAM_NONE when not mapped */
};

struct policy_upstream {
	const char *name; /* [a-z0-9_-], 1-32: the agent sees NAME__TOOL */
	enum policy_transport transport;
	const char *command;             /* stdio: the program (no shell) */
	const char *const *args;         /* stdio: its arguments */
	int nargs;
	const char *const *env_names;    /* stdio: variables set in its environment, */
	const char *const *env_from;     /* each copied from this variable of airlock's */
	int nenv;
	const char *url;                 /* http: the Streamable HTTP endpoint */
	const char *const *header_names; /* http: request headers, */
	const char *const *header_env;   /* each the value of this environment variable */
	int nheaders;
	int64_t timeout_seconds;         /* per request; 30s when absent */
	int64_t max_message;             /* largest answer accepted; 4 MiB when absent */
	struct policy_upstream_tool *tools;
	int ntools;
	int line, col;
};

struct policy {
	const char *path;
	struct policy_workflow *workflows;
	int nworkflows;
	struct policy_audience audience;
	struct policy_smtp smtp;
	struct policy_notify notify;
	/* drift: thresholds of the drift monitor, key → text value, each checked
	 * by drift_config_set() (drift.h names the keys). */
	const char *const *drift_keys;
	const char *const *drift_values;
	int ndrift;
	/* defaults.evidence_max_age: evidence observed longer ago is flagged in
	 * a batch's summary (summary.h); 180 days when absent */
	int64_t evidence_max_age;
	struct policy_upstream *upstreams; /* upstreams: (policy_upstream_tool names each tool) */
	int nupstreams;
	char digest[65];           /* hex BLAKE2b-256 of the file bytes: its version */
};

/* Loads and checks path. On any problem returns AIRLOCK_EINVAL with the
 * first problem in err ("airlock.yaml:12:5: stage_max must be a positive
 * integer") and *out NULL. A missing file is AIRLOCK_ENOTFOUND, an
 * unreadable one AIRLOCK_EIO, one over 1 MiB AIRLOCK_EINVAL.
 *
 * What the file may say (policy_default_yaml() is the worked example):
 * version: 1 and workflows are required. A workflow needs effect and tools;
 * write workflows need fields (account fields that are neither system fields
 * nor id, custom.NAME, custom.*) and, when reversible, stage_max; fields,
 * stage_max, unattended and unattended_max are refused on read and draft
 * workflows; a send is never reversible; unattended_max needs unattended:
 * true and may not exceed stage_max. Tools must be known (the MCP tool
 * names) and sit in a workflow of their own effect. Absent values: ttl 7d,
 * max_pending_batches 20, sampling 0.95 / 0.05 (or `defaults:`),
 * evidence_max_age 180d (`defaults:` only),
 * reversible false, unattended false; audience 1 touch per 14 days; smtp
 * host NULL (not configured), else port 25/587/465 by tls, timeout 30s,
 * max_attempts 5; notify: webhook and console_url NULL, each an http:// or
 * https:// URL when given. */
int policy_load(const char *path, struct policy **out, struct err *err);

/* Checks path and reports every problem: *problems gets a JSON array of
 * {"file","line","col","message"} (empty when the file is good). Returns 0
 * when the file could be read at all (even with problems), <0 otherwise. */
int policy_check(const char *path, json_t **problems, struct err *err);

void policy_free(struct policy *p);

/* The default policy file: commented YAML a user can read as documentation.
 * Static storage. */
const char *policy_default_yaml(void);

const struct policy_workflow *policy_workflow(const struct policy *p, const char *name);
/* The workflow a tool belongs to (first one naming it); NULL when none. */
const struct policy_workflow *policy_workflow_for_tool(const struct policy *p, const char *tool);

/* Which workflow judges a tool call. A tool belongs to exactly one workflow,
 * except a routed tool (policy_tool_routed: propose_changes), whose calls
 * name their workflow in a `workflow` argument and which may therefore be
 * listed in several. workflow is that argument (NULL when the call gives
 * none): the named workflow when it lists the tool, else NULL (the gate
 * refuses such a call whole); with no argument, policy_workflow_for_tool.
 * policy_load refuses a non-routed tool listed in two workflows, a tool it
 * does not know, and a tool in a workflow of the wrong effect. */
const struct policy_workflow *policy_workflow_for_call(const struct policy *p, const char *tool,
						       const char *workflow);
/* 1 when wf lists tool. */
int policy_workflow_has_tool(const struct policy_workflow *wf, const char *tool);
/* 1 when calls of this tool name their workflow (propose_changes). */
int policy_tool_routed(const char *tool);
/* The effect calls of a known tool have (policy_load keeps each tool in a
 * workflow of that effect); AIRLOCK_ENOTFOUND for a tool it does not know. */
int policy_tool_effect(const char *tool, enum policy_effect *out);
/* A did-you-mean for a workflow name the policy does not have: the workflow
 * listing tool (with the tool's effect) closest to name once case and
 * surrounding blanks are ignored, within 2 edits or a third of its length;
 * NULL when none is that close. */
const struct policy_workflow *policy_workflow_suggest(const struct policy *p, const char *tool,
						      const char *name);
/* 1 when the workflow may write field (exact, or via a "custom.*" entry). */
int policy_field_allowed(const struct policy_workflow *wf, const char *field);
const char *policy_effect_name(enum policy_effect e);
/* The upstream of that name, and the listed tool of an upstream; NULL when
 * the policy has none. */
const struct policy_upstream *policy_upstream(const struct policy *p, const char *name);
const struct policy_upstream_tool *policy_upstream_tool(const struct policy_upstream *u,
							const char *tool);

/* Worst-case unattended blast radius of one workflow: records (or messages)
 * one agent action can alter before a human sees it, with the reason.
 * *flagged is 1 when a write or send goes through unattended with no cap. */
int64_t policy_radius(const struct policy_workflow *wf, const char **why, int *flagged);
/* policy_radius() of an unattended write or send with no cap: no limit. */
#define POLICY_RADIUS_UNBOUNDED INT64_MAX

enum decision_kind {
	DECISION_DRAFT,   /* stored as a draft; the book does not change */
	DECISION_STAGED,  /* staged: awaits a sample audit */
	DECISION_BLOCKED, /* awaits a human's approve / reject */
	DECISION_ALLOWED  /* applied unattended: only when the policy says so explicitly */
};

struct decision_input {
	const struct policy_workflow *wf; /* NULL = unknown workflow → blocked */
	int64_t radius;            /* distinct records this proposal alters (after refusals) */
	int64_t cumulative;        /* the running total: distinct records of this agent's batches
				      of this workflow that wait for a person (staged, sampled,
				      blocked), this proposal's included (radius.h) */
	int64_t pending_batches;   /* batches of this agent waiting unreviewed, before this one */
};

#define DECISION_REASONS_MAX 4
#define DECISION_REASON_LEN 200

struct decision {
	enum decision_kind kind;
	int nreasons;
	char reasons[DECISION_REASONS_MAX][DECISION_REASON_LEN];
};

/* The flowchart: read → ALLOWED (nothing changes), draft → DRAFT, write/send:
 * reversible and cumulative ≤ stage_max and pending < max_pending → STAGED,
 * else BLOCKED; unattended only when wf->unattended and radius ≤
 * unattended_max. Reasons are sentences an agent and a reviewer can read.
 * p may be NULL (fail closed). Never fails.
 * Blocked as well: in NULL or in->wf NULL, a wf that is not one of p's,
 * radius < 0, cumulative < radius, pending_batches < 0. Unattended is judged
 * per action (radius, not cumulative); over unattended_max the normal flow
 * applies; no unattended_max means no cap (policy_radius flags it). Every
 * reason that applies is given (at most DECISION_REASONS_MAX). */
void policy_decide(const struct policy *p, const struct decision_input *in, struct decision *out);
const char *policy_decision_name(enum decision_kind k);

#endif
