/* invariants.h — airlock's guarantees as checks that can be run against any
 * database state: what must hold whatever the agents called and whatever
 * order the people acted in. `airlock verify --invariants` runs them for an
 * operator; the randomized adversary (tests/test_adversary.c) runs them after
 * every step it takes.
 *
 * Owns: the definition of each invariant in terms of the stored rows.
 *   I1 staged-but-unreviewed records (distinct record ids of one agent's
 *      batches in staged or sampled, per workflow) ≤ the workflow's stage_max
 *   I2 no batch item writes a field outside its workflow's allow-list (and
 *      every batch names a workflow of the policy whose effect fits it)
 *   I3 no agent or book text reaches a terminal uninterpreted: checked where
 *      text is rendered (invariants_scan_terminal() on what a printer wrote)
 *   I4 every message the relay took passed the audience rules then
 *   I5 every human verb in the log is a person's, not the proposer's
 *   I6 the recorded instruction version is the connector's pin
 *   I7 every cited evidence id is a signal of the item's record
 *   I8 no account is merged into a merged account (no chain, no cycle) and
 *      no contact or signal stays on a merged account
 *
 * Never: writes. Every check is a plain SELECT (or an owner's read
 * function); it can run on a read-only copy of the database.
 *
 * Approximations (what is checked against today's state, not the state at
 * the time): I2 uses the current policy. I4 re-runs the rules on the book as
 * it is now, only for contacts and accounts whose row has not changed since
 * the message was sent (updated_at ≤ sent_at), so a later legitimate change
 * (a contact unsubscribing after the send) is never a violation; the touch
 * window is exact (touch rows are the history); competitor domains are the
 * current policy's. */
#ifndef AIRLOCK_INVARIANTS_H
#define AIRLOCK_INVARIANTS_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "store.h"

struct policy;

struct invariants_opts {
	/* The policy the gate judges with. NULL: I1, I2 and I4's policy rules
	 * are reported as unchecked (one "unchecked" entry), not as held. */
	const struct policy *policy;
	/* I6: the instruction version the connectors were started with
	 * (NULL = started with none). Checked only when pin_set. */
	const char *pin;
	int pin_set;
	/* At most this many violations are listed (0 = 1000). */
	int max;
};

/* Runs every invariant. *violations gets a new array of
 * {"invariant": "I1".."I8", "name": short name, "rows": {...}, "message"}
 * (empty when everything holds). *unchecked (may be NULL) gets a new array of
 * the invariants that could not be checked and why. Returns 0, or a negative
 * AIRLOCK_E* when the store could not be read (then both outputs are NULL). */
int invariants_check(struct store *s, const struct invariants_opts *o, json_t **violations,
		     json_t **unchecked, struct err *err);

/* I3 on rendered output: the offset of the first byte sequence a terminal
 * would interpret (C0 controls but \t \n, DEL, UTF-8 C1 controls, bidi
 * embeddings, overrides and isolates, LRM/RLM/ALM, line and paragraph
 * separators, and bytes that are not UTF-8), or -1 when there is none.
 * *what names it. */
long invariants_scan_terminal(const char *buf, size_t len, const char **what);

/* "I1" … "I8" → what it promises, one line (static storage); NULL if unknown. */
const char *invariants_describe(const char *id);

#endif
