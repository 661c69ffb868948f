/* outreach.h — drafts, research briefs, the audience guard, and sending
 * approved drafts through an SMTP relay exactly once.
 *
 * Owns: the tables draft, draft_recipient, brief, outbox and touch
 * (migrations 40–49), the audience guard, the outbox state machine and the
 * draft status roll-up.
 *
 * Never: changes the book, decides whether a send needs approval (that is
 * the gate and the policy), or resends a message whose outcome is unknown
 * without a human saying so. Configuration comes in through the structs
 * below, filled by the caller from the policy file; this module reads no
 * files and no environment.
 *
 * Every state change is appended to the action log (audit_append) in the
 * same transaction as the change. Every json_t ** out parameter returns a
 * new reference the caller must json_decref(); on failure it is NULL.
 *
 * Guard rules (each finding names one): do_not_contact, unsubscribed,
 * competitor, customer_prospecting, outside_audience, not_a_contact,
 * touch_window. A finding is {"rule", "message", "account_id",
 * "contact_id"?, "address"?}. */
/* clang-format off */
/* Lifecycle of a draft:
 *   draft ──request──▶ send_requested ──approve──▶ approved ──deliver──▶ sent
 *     │                     │ reject → draft               ├─▶ failed  (a message failed for good)
 *     └─discard─▶ discarded                                 ├─▶ unknown (a message's fate is unknown)
 *                                                           └─▶ blocked (the guard stopped every message)
 * One outbox row per message (per recipient of an approved draft):
 *   intended ──claim (committed)──▶ sending ──▶ sent
 *      ▲  │                            ├──▶ intended again, attempts+1, next_attempt_at (retry)
 *      │  └─guard finding─▶ blocked    ├──▶ failed (5xx, or max_attempts reached)
 *      │                               └──▶ unknown (no final answer, or airlock died)
 *      └── resend (failed, blocked; unknown only with force)   mark-sent: unknown/failed → sent
 */
/* clang-format on */
#ifndef AIRLOCK_OUTREACH_H
#define AIRLOCK_OUTREACH_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "smtp.h"
#include "store.h"

#define OUTREACH_MAX_RECIPIENTS 50
#define OUTREACH_MAX_SUBJECT 250
#define OUTREACH_MAX_BODY (100 * 1024)
#define OUTREACH_MAX_BRIEF (64 * 1024)
#define OUTREACH_MAX_IDS 100 /* drafts in one request_send */

struct outreach_audience_rules {
	const char *const *competitor_domains; /* "rival.com" also covers mail.rival.com */
	int n;				       /* entries in competitor_domains */
	int64_t touch_window_days;	       /* the window D; ≤ 0 turns the rule off */
	int64_t max_touches;		       /* at most N messages per contact per D days */
};

struct outreach_smtp {
	const char *host;
	int port;
	enum smtp_tls tls; /* SMTP_TLS_NONE, SMTP_TLS_STARTTLS, SMTP_TLS_TLS */
	const char *username;
	const char *password;	    /* already resolved from the secret store */
	const char *from;	    /* "addr" or "Name <addr>"; its domain names Message-IDs */
	int64_t timeout_seconds;    /* per message; 0 = 60 */
	int max_attempts;	    /* 0 = 5 */
	int64_t retry_base_seconds; /* first back-off, doubled each attempt, at most
				       6 h; 0 = 60 */
};

/* draft_email. args: {"account_id", "contacts": [contact id or e-mail of one
 * of the account's contacts, ...] (alias "contact_ids"), "subject", "body",
 * "audience": scope text (scope.h), "workflow"?, "instruction_version"?}.
 * The guard runs first. A draft that fails it is NOT stored: *result is
 * {"draft_id": null, "status": "refused", "findings": [...], "reasons":
 * ["rule: message", ...], "next": "..."} and the refusal is logged. Otherwise
 * *result is {"draft_id", "status": "draft", "account_id", "recipients":
 * [{"contact_id", "address"}], "audience" (canonical), "messages": N,
 * "findings": []}. Both return 0. AIRLOCK_EINVAL when an argument is wrong
 * (err names it: "audience: scope:1:19: unknown field 'regoin'"), and then
 * nothing is stored. */
int outreach_draft_create(struct store *s, const struct outreach_audience_rules *rules,
			  const char *principal, const char *instruction_version, json_t *args,
			  json_t **result, struct err *err);

/* save_brief. args: {"account_id", "text", "evidence": [signal ids of that
 * account] (alias "signal_ids"), "instruction_version"?}. *result is
 * {"brief_id", "account_id", "evidence"}. */
int outreach_brief_create(struct store *s, const char *principal, const char *instruction_version,
			  json_t *args, json_t **result, struct err *err);

/* The guard on draft_email arguments, without storing anything: *findings
 * is an array, empty when every recipient may be written to. */
int outreach_guard_args(struct store *s, const struct outreach_audience_rules *rules, json_t *args,
			json_t **findings, struct err *err);

/* The guard on a stored draft against the book as it is now (send time):
 * the stored addresses must still be the contacts' addresses. */
int outreach_guard_draft(struct store *s, const struct outreach_audience_rules *rules,
			 const char *draft_id, json_t **findings, struct err *err);

/* request_send. args: {"draft_ids": [...]} (1..OUTREACH_MAX_IDS). Every draft
 * must be in status draft and, for an agent, be its own. The guard runs
 * again; if any draft has findings nothing changes and *result is
 * {"status": "refused", "findings": [{"draft_id", ...}], "reasons": [...]}.
 * Otherwise every draft becomes send_requested (one transaction) and
 * *result is {"status": "send_requested", "draft_ids": [...], "messages": N}
 * — N, the number of messages, is the radius of the send. A refusal is
 * logged here, with instruction_version (the connector's pin, never the
 * agent's claim; NULL when none); a request is not: the caller (the gate)
 * judges it and logs that one decision, with its batch, in the same
 * transaction. */
int outreach_send_request(struct store *s, const struct outreach_audience_rules *rules,
			  const char *principal, const char *instruction_version, json_t *args,
			  json_t **result, struct err *err);

/* Human decisions on requested sends: approve (send_requested → approved,
 * ready for outreach_deliver) or reject (send_requested → draft). draft_ids
 * is a JSON array of ids; all change or none. */
int outreach_send_approve(struct store *s, const char *principal, json_t *draft_ids,
			  struct err *err);
int outreach_send_reject(struct store *s, const char *principal, json_t *draft_ids,
			 const char *reason, struct err *err);

/* A rep drops a draft that was not sent (draft, send_requested). */
int outreach_draft_discard(struct store *s, const char *principal, const char *draft_id,
			   struct err *err);

enum {
	OUTREACH_DELIVER_NOW = 1 /* ignore back-off: try every pending message now */
};

/* Delivers approved messages that are due: first marks as unknown any
 * message left in sending by an airlock that died, then writes an outbox
 * row (intended, with its stable Message-ID) for each recipient of each
 * approved draft that has none, then for each due message: runs the guard
 * (a finding blocks that message), records it as sending and commits, hands
 * it to the relay, and records the outcome. draft_ids (a JSON array, or
 * NULL for every approved draft) limits the run. *report is {"sent": [...],
 * "retry": [...], "failed": [...], "blocked": [...], "unknown": [...],
 * "recovered": [...]}, each a list of outbox rows. rules are the policy's
 * audience rules as they are now (gate_audience_rules), never defaults;
 * NULL is AIRLOCK_EINVAL and nothing is sent. AIRLOCK_ESTATE when
 * called inside a transaction: the intent must be committed before the
 * relay is contacted. */
int outreach_deliver(struct store *s, const struct outreach_audience_rules *rules,
		     const struct outreach_smtp *smtp, const char *principal, json_t *draft_ids,
		     int flags, json_t **report, struct err *err);

/* Marks as unknown every message in sending whose sender is gone: its claim
 * expired, or it was a process on this host that no longer runs. *recovered
 * (may be NULL) gets the rows. */
int outreach_recover(struct store *s, const char *principal, json_t **recovered, struct err *err);

/* Human verbs on one outbox row. resend: failed, blocked or cancelled →
 * intended (due now, same Message-ID); unknown only with force, because the
 * relay may already have it. mark_sent: unknown or failed → sent (a person
 * checked the relay). cancel: intended, failed, blocked or unknown →
 * cancelled. AIRLOCK_ESTATE names the state when the change is not allowed. */
int outreach_outbox_resend(struct store *s, const char *principal, int64_t id, int force,
			   struct err *err);
int outreach_outbox_mark_sent(struct store *s, const char *principal, int64_t id, struct err *err);
int outreach_outbox_cancel(struct store *s, const char *principal, int64_t id, struct err *err);

/* Outbox rows, oldest first: those needing attention or still pending
 * (intended, sending, unknown, failed, blocked), or every row when all. */
int outreach_outbox_list(struct store *s, int all, json_t **out, struct err *err);

struct outreach_filter {
	const char *account_id; /* NULL = any */
	const char *status;	/* NULL = any */
	int limit;		/* 0 = 100 */
};

/* Drafts, newest first, without bodies; one draft in full (body, findings,
 * outbox rows). AIRLOCK_EINVAL for an unknown status. */
int outreach_drafts_list(struct store *s, const struct outreach_filter *f, json_t **out,
			 struct err *err);
int outreach_draft_get(struct store *s, const char *id, json_t **out, struct err *err);

/* Briefs, newest first (f->status is not used); one brief in full. */
int outreach_briefs_list(struct store *s, const struct outreach_filter *f, json_t **out,
			 struct err *err);
int outreach_brief_get(struct store *s, const char *id, json_t **out, struct err *err);

/* Read-only scans for other modules' statistics (drift), so that they need
 * not know outreach's tables. Rows are borrowed: valid during the call
 * only; a text column may be NULL. fn's non-zero return stops the scan and
 * is returned. */
struct outreach_brief_scan_row {
	const char *created_at;
	const char *evidence; /* JSON array, as stored */
};
/* Every brief created in [from, to), in storage order. */
int outreach_scan_briefs(struct store *s, const char *from, const char *to,
			 int (*fn)(const struct outreach_brief_scan_row *row, void *ctx, struct err *err),
			 void *ctx, struct err *err);
struct outreach_draft_scan_row {
	const char *created_at, *principal, *instruction_version;
	const char *body; /* NULL for none */
	size_t body_len;  /* bytes of body */
};
/* Every draft created in [from, to), in storage order. */
int outreach_scan_drafts(struct store *s, const char *from, const char *to,
			 int (*fn)(const struct outreach_draft_scan_row *row, void *ctx, struct err *err),
			 void *ctx, struct err *err);

#endif
