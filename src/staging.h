/* staging.h — batches of proposed changes and the human verbs on them.
 *
 * Owns: the batch and batch_item tables (migrations 20–29), the state
 * machine, apply (one transaction, optimistic concurrency on record
 * versions), undo (before-images restored exactly, one transaction), expiry,
 * and separation of duties: only human principals may approve, reject,
 * apply or undo, and never a batch they proposed themselves.
 *
 *   staged → sampled → approved → applied → undone
 *   staged | sampled → blocked (a sample failed)
 *   blocked → approved | rejected;  staged | sampled → rejected
 *   any waiting state (staged, sampled, blocked, approved) → expired
 *
 * Never: decides whether a proposal may be staged (gate.h and policy.h do);
 * it carries out what was decided. Never touches the book's tables itself:
 * apply and undo write records through book_change/book_reparent and read
 * them through book.h, and the radius ledger only through radius.h
 * (scripts/owners.sh keeps it so). Every state change writes its action-log
 * entry in the same transaction. A batch that stops waiting for a person
 * (staged, sampled or blocked → approved, rejected, expired) releases its
 * records from its agent's running total (radius_release) in that same
 * transaction: a decision on one batch releases nothing else.
 *
 * Batches are JSON objects (jansson); json_t ** outputs are new references
 * the caller must json_decref(). */
#ifndef AIRLOCK_STAGING_H
#define AIRLOCK_STAGING_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

enum staging_state {
	STAGE_STAGED,
	STAGE_SAMPLED,
	STAGE_BLOCKED,
	STAGE_APPROVED,
	STAGE_APPLIED,
	STAGE_UNDONE,
	STAGE_REJECTED,
	STAGE_EXPIRED,
	STAGE_STATE_COUNT
};

const char *staging_state_name(enum staging_state s);
int staging_state_parse(const char *name, enum staging_state *out);
/* 1 when a batch in state s waits for a person (staged, sampled, blocked):
 * its records count in its agent's running total (radius.h). */
int staging_state_waits(enum staging_state s);
/* 1 when from → to is an edge of the state machine. */
int staging_transition_ok(enum staging_state from, enum staging_state to);

/* What a new batch is. Strings are copied; JSON values are borrowed. */
struct staging_spec {
	const char *principal;           /* who proposed: "agent:NAME" or "human:NAME" */
	const char *surface;             /* "mcp:write", "cli" */
	const char *workflow;
	const char *tool;
	const char *action;              /* "update" or "merge" */
	const char *instruction_version; /* the connector's pin; NULL = unpinned */
	const char *instruction_claim;   /* what the agent said it was; never the version */
	const char *scope;
	const char *rationale;
	const char *policy_digest;
	enum staging_state state;        /* STAGE_STAGED, STAGE_BLOCKED or STAGE_APPROVED */
	json_t *reasons;                 /* array of strings: why this decision */
	json_t *refused;                 /* array of refused items with their reasons */
	int64_t ttl_seconds;             /* 0 = never expires */
	int64_t radius;
};

/* Creates a batch with its items, in one transaction with its log entry.
 * items: array of {"record_id", "changes": {field: value}, "before": {image},
 * "version": N, "reasons": [..], "evidence": [..]}; an item may carry
 * "before_text", the image's JSON text as the book read it with the same
 * row (book_get_many's images), stored in place of a dump of "before". */
int staging_create(struct store *s, const struct staging_spec *spec, json_t *items,
		   int64_t *batch_id, struct err *err);

/* The batch with its items (and their before/after values). */
int staging_get(struct store *s, int64_t batch_id, json_t **out, struct err *err);
/* The batch header without items (cheap). */
int staging_get_header(struct store *s, int64_t batch_id, json_t **out, struct err *err);

/* Batches that wait for a person (staged, sampled, blocked, approved),
 * oldest first. */
int staging_queue(struct store *s, json_t **out, struct err *err);

/* Batches of one principal, newest first, at most limit. */
int staging_list_by_principal(struct store *s, const char *principal, int limit, json_t **out,
			      struct err *err);

/* Batches of this principal waiting unreviewed (staged, sampled, blocked). */
int staging_pending_count(struct store *s, const char *principal, int64_t *out, struct err *err);

/* Moves waiting batches past their expiry to "expired", logging each.
 * *n (may be NULL) gets how many expired. */
int staging_expire(struct store *s, int64_t *n, struct err *err);

/* Human verbs. principal must be "human:NAME" and not the batch's proposer
 * (AIRLOCK_EDENIED otherwise); an illegal transition is AIRLOCK_ESTATE with
 * the current state named.
 *
 * staging_approve() approves plainly a batch the policy blocked (it has no
 * sample; a clean sample approves a batch by itself). A staged batch never
 * sampled, a sampled one with verdicts missing, or one
 * blocked by a failed sample is AIRLOCK_ESTATE, saying what is unfinished:
 * approving past the sample is a distinct act, staging_approve_override(),
 * with a reason (1 to STAGING_OVERRIDE_REASON_MAX bytes). The override is
 * recorded on the batch ("override": {"override": true, "reason",
 * "skipped"}) and in its log entry (decision "override"); it is no audit,
 * so it adds nothing to the workflow's evidence (autonomy.h). An override
 * of a batch with nothing to override is AIRLOCK_EINVAL. */
#define STAGING_OVERRIDE_REASON_MAX 2000
int staging_approve(struct store *s, int64_t batch_id, const char *principal,
		    const char *surface, struct err *err);
int staging_approve_override(struct store *s, int64_t batch_id, const char *principal,
			     const char *surface, const char *reason, struct err *err);
/* What a plain approve of the batch would skip, as a sentence in buf
 * ("the sample audit of batch 12 is unfinished: 1 of 45 drawn item(s)
 * judged"); empty when nothing. */
int staging_sample_gap(struct store *s, int64_t batch_id, char *buf, size_t len,
		       struct err *err);
int staging_reject(struct store *s, int64_t batch_id, const char *principal,
		   const char *surface, const char *reason, struct err *err);

/* Applies an approved batch in one transaction. An item whose record
 * version differs from the one staged is a conflict: by default nothing is
 * applied and AIRLOCK_ECONFLICT is returned with *report listing them;
 * with skip_conflicts the rest is applied and those items are marked.
 * A merge item is also re-checked against the book as it is then: its
 * survivor exists and is not merged, its source is not merged, and
 * following merged_into from the survivor never reaches the source (no
 * cycle); otherwise it is a conflict with a "rule" and a "reason". Every
 * contact and signal on the source at apply time moves to the survivor.
 * *report (may be NULL): {"applied": N, "conflicts": [{record_id, ...}]}. */
int staging_apply(struct store *s, int64_t batch_id, const char *principal, const char *surface,
		  int skip_conflicts, json_t **report, struct err *err);

/* The principal recorded when the policy itself lets a batch through. */
#define STAGING_UNATTENDED "policy:unattended"

/* Applies a batch created approved because the policy lets its workflow
 * through unattended (spec.state = STAGE_APPROVED); refuses any other. */
int staging_apply_unattended(struct store *s, int64_t batch_id, json_t **report, struct err *err);

/* Undoes an applied batch in one transaction, restoring before-images.
 * Records changed after the apply are refused (AIRLOCK_ECONFLICT, listed in
 * *report) unless force. A merge's undo clears merged_into and moves back
 * exactly the contacts and signals it moved; when one of them is no longer
 * on the survivor (a later merge took it on) the undo is refused even with
 * force, naming the later batch to undo first. */
int staging_undo(struct store *s, int64_t batch_id, const char *principal, const char *surface,
		 int force, json_t **report, struct err *err);

/* A batch carried out elsewhere than the book (action "upstream":
 * upwrite.h calls the upstream): staging_external_check() checks, without
 * changing anything, that principal may move it to `to` (STAGE_APPLIED or
 * STAGE_UNDONE) now; staging_external_done() makes that move in one
 * transaction with its log entry once every record is done, marking the
 * items in conflicts (from apply, may be NULL) as conflicts. staging_apply
 * and staging_undo refuse such a batch: they would write the book. */
int staging_external_check(struct store *s, int64_t batch_id, const char *principal,
			   enum staging_state to, struct err *err);
int staging_external_done(struct store *s, int64_t batch_id, const char *principal,
			  const char *surface, enum staging_state to, int64_t n, json_t *conflicts,
			  struct err *err);
/* Inside the caller's transaction, as the first call of an upstream apply
 * is journaled: the batch must still be approved and unexpired, and from
 * then on it no longer expires (expires_at is cleared). An apply that has
 * begun calling the upstream is finished by resuming it, never cut off half
 * done by its time-to-live; a batch whose apply never called still
 * expires. */
int staging_external_begin(struct store *s, int64_t batch_id, struct err *err);

/* Sample audit hooks (the audit module draws; staging records):
 * staging_mark_sampled() stores the drawn item indexes and the seed and
 * moves staged → sampled; staging_judge() records a verdict on one item:
 * a fail blocks the batch, and when every drawn item has passed the batch
 * becomes approved. */
int staging_mark_sampled(struct store *s, int64_t batch_id, const char *principal,
			 const char *surface, json_t *sample, struct err *err);
int staging_judge(struct store *s, int64_t batch_id, int64_t item, const char *principal,
		  const char *surface, int pass, const char *note, json_t **result,
		  struct err *err);

/* Seeded checks (issue 21; review_sample draws them). A check is one
 * synthetic wrong item (seedcheck.h) shown in a sample in the place of one
 * drawn item, its slot: while the batch is sampled and the check unjudged,
 * staging_get() shows the slot's item with the check's changes, reasons
 * and evidence, exactly as a drawn item shows; staging_judge() on the slot
 * records the verdict on the check (its result gains "seeded_check":
 * {"caught", "kind", "note"}: revealed), never on the real item. The check
 * lives in its own table (migration 27): apply, export and undo read only
 * batch_item, so it can never be applied or sent, and it holds no record
 * of the running radius. The sample is not finished (no approval) until
 * the check is judged; a missed check (passed) does not fail the batch but
 * blocks it for a second reviewer: the person who missed it can no longer
 * approve it (AIRLOCK_EDENIED), another person approves it plainly or
 * rejects it. Once judged, or once the sample ends without it, staging_get()
 * shows the slot's real item and adds "seeded_check": {"slot", "kind",
 * "verdict", "caught", "item", "note"}.
 *
 * staging_seeded_add() records the check (an object with "kind") for slot
 * in the transaction of staging_mark_sampled(), with the secret seed it was
 * made from (hex); the slot's real item stops counting as drawn. */
int staging_seeded_add(struct store *s, int64_t batch_id, int64_t slot, json_t *check,
		       const char *seed_hex, struct err *err);
/* Applies the view of the check described above to a batch from
 * staging_get (done by staging_get itself). */
int staging_seeded_overlay(struct store *s, json_t *b, struct err *err);
/* Up to limit items of the batch from item number `from` on (then from the
 * start), as seedcheck.h wants them: {record_id, changes, before, reasons,
 * evidence}. *out is the caller's. */
int staging_items_from(struct store *s, int64_t batch_id, int64_t from, int limit,
		       json_t **out, struct err *err);

/* Invariant I8, checkable on any database (a test harness calls it after
 * every step): no account is merged into a merged or missing account, so
 * no chain of merged_into is longer than one and none loops; no contact or
 * signal sits on a merged account. Apply re-checks every merge against the
 * book as it is then, and undo of a merge refuses what would break it, so
 * airlock never breaks it; an import or a hand edit could. Returns 0 when
 * it holds, AIRLOCK_ECORRUPT naming the first breach otherwise. *violations
 * (may be NULL; the caller owns it) lists up to 100 breaches as {"rule":
 * merge_cycle | merged_into_merged | merged_into_missing |
 * contact_on_merged | signal_on_merged, "record_id", "points_to",
 * "detail"}. Reads only. */
int staging_check_merges(struct store *s, json_t **violations, struct err *err);

/* Parses "12" or "B12" into a batch id. */
int staging_parse_id(const char *text, int64_t *out, struct err *err);

/* Read-only scans for other modules' statistics (drift), so that they need
 * not know staging's tables. Rows are borrowed: valid during the call only;
 * a text column may be NULL. fn's non-zero return stops the scan and is
 * returned. */
struct staging_batch_row {
	const char *created_at, *principal, *instruction_version, *policy_digest;
	const char *refused; /* JSON array of refused items, as stored */
	int64_t items;
};
/* Every batch created in [from, to), in storage order. */
int staging_scan_batches(struct store *s, const char *from, const char *to,
			 int (*fn)(const struct staging_batch_row *row, void *ctx, struct err *err),
			 void *ctx, struct err *err);
struct staging_item_row {
	const char *created_at, *workflow; /* the batch's */
	const char *changes, *evidence;    /* JSON, as stored */
	const char *verdict;               /* sample verdict: NULL, "pass", "fail" */
};
/* Every item of the batches created in [from, to), in storage order. */
int staging_scan_items(struct store *s, const char *from, const char *to,
		       int (*fn)(const struct staging_item_row *row, void *ctx, struct err *err),
		       void *ctx, struct err *err);

#endif
