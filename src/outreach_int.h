/* outreach_int.h — what the outreach files share (outreach.c, the guard,
 * the outbox). Not for use outside src/outreach*.c. */
#ifndef AIRLOCK_OUTREACH_INT_H
#define AIRLOCK_OUTREACH_INT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "outreach.h"
#include "scope.h"

#define OUTREACH_ID_MAX 32 /* "dr_" + 12 hex + NUL fits with room */

/* "2026-11-26T07:03:00Z" for t (buf ≥ 21). */
void outreach_time(time_t t, char *buf, size_t len);

/* A new random id: prefix + 12 hex digits ("dr_3f9a0c12b7e4"). */
int outreach_new_id(const char *prefix, char *buf, size_t len, struct err *err);

/* "mcp:write" for an agent principal, "cli" for a human one. */
const char *outreach_surface(const char *principal);

/* One action-log entry in the caller's transaction. */
int outreach_log(struct store *s, const char *principal, const char *tool, json_t *args,
		 const char *instruction_version, const char *decision, json_t *reasons,
		 const char *summary, struct err *err);

/* What the guard needs to know about a draft. */
struct outreach_guard_in {
	const char *draft_id; /* NULL before the draft is stored */
	const char *account_id;
	const struct scope *audience;
	const char *audience_text; /* canonical, for messages */
	const char *workflow;	   /* may be NULL */
	int send_time;		   /* 1: only messages that may have reached the relay
				      count for touch_window; 0: queued ones too */
};

/* Runs every rule for the n recipients. For a draft not yet stored refs[i]
 * is a contact id or an e-mail address and addrs is NULL; for a stored
 * draft refs[i] is the stored contact id and addrs[i] the stored address,
 * which must still be the contact's. Findings are appended to findings;
 * when resolved is not NULL, one {"contact_id", "address", "name"} per
 * recipient that resolved to a contact is appended to it. A missing account
 * is AIRLOCK_EINVAL for a draft not yet stored, a finding for a stored one. */
int outreach_guard_run(struct store *s, const struct outreach_audience_rules *rules,
		       const struct outreach_guard_in *in, const char *const *refs,
		       const char *const *addrs, int n, json_t *findings, json_t *resolved,
		       struct err *err);

/* A stored draft with its recipients [{"contact_id", "address", "name"}]. */
struct outreach_draft_row {
	json_t *row;	    /* the draft's columns as an object */
	json_t *recipients; /* array */
	const char *id, *account_id, *audience, *workflow, *principal, *status, *subject,
	    *body; /* borrowed from row */
};

/* Loads a draft; AIRLOCK_ENOTFOUND names it. Release with
 * outreach_draft_row_release(). */
int outreach_draft_load(struct store *s, const char *id, struct outreach_draft_row *d,
			struct err *err);
void outreach_draft_row_release(struct outreach_draft_row *d);

/* The guard on a loaded draft (send_time as in outreach_guard_in): for every
 * recipient, or for the one message to contact_id at address when
 * contact_id is not NULL. A stored audience that no longer parses is an
 * outside_audience finding. */
int outreach_guard_loaded(struct store *s, const struct outreach_audience_rules *rules,
			  const struct outreach_draft_row *d, int send_time, const char *contact_id,
			  const char *address, json_t *findings, struct err *err);

/* The outbox rows of one draft, oldest first. */
int outreach_outbox_of_draft(struct store *s, const char *draft_id, json_t **out, struct err *err);

/* "rule: message" strings for findings (a new array). */
json_t *outreach_reasons(json_t *findings);

/* Sets a draft's status from its outbox rows (sent, failed, unknown,
 * blocked, or approved while messages are pending). */
int outreach_draft_rollup(struct store *s, const char *draft_id, struct err *err);

#endif
