/* upstream_pin.h — the upstream tool definitions a person trusted, and the
 * alerts raised when an upstream shows a different one (migration 33).
 *
 * Owns: the upstream_pin and upstream_alert tables. A pin is the hash
 * (upstream.h's upstream_tool_hash) and text of one tool's definition as a
 * person saw it when running `airlock upstream trust`; a tool whose current
 * definition does not match its pin is hidden and refused by the
 * connectors, and the first sight of each changed definition is an alert
 * row and an action-log entry, until the tool is trusted again.
 *
 * Never: trusts anything on its own: only upstream_pin_trust, called for a
 * human principal by the CLI, writes a pin. */
#ifndef AIRLOCK_UPSTREAM_PIN_H
#define AIRLOCK_UPSTREAM_PIN_H

#include <jansson.h>

#include "err.h"
#include "store.h"

enum upstream_pin_state {
	UPSTREAM_PIN_OK,     /* the definition is the one trusted */
	UPSTREAM_PIN_NONE,   /* never trusted */
	UPSTREAM_PIN_CHANGED /* trusted, and now different */
};

/* Compares def (a tool definition from upstream) with its pin. For
 * UPSTREAM_PIN_CHANGED, raises the alert once per changed definition
 * (principal and surface name who saw it, for the log). */
int upstream_pin_check(struct store *s, const char *upstream, json_t *def, const char *principal,
		       const char *surface, enum upstream_pin_state *out, struct err *err);
/* The same for a definition whose hash (upstream_tool_hash) the caller
 * has already. */
int upstream_pin_check_hashed(struct store *s, const char *upstream, json_t *def,
			      const char *hash, const char *principal, const char *surface,
			      enum upstream_pin_state *out, struct err *err);

/* What changed between the pin of def's tool and def: a JSON object of
 * member → {"was","now"} (a new reference), or JSON null when never
 * trusted. */
int upstream_pin_diff(struct store *s, const char *upstream, json_t *def, json_t **out,
		      struct err *err);

/* Pins each definition of defs (an array) for upstream, resolves its
 * alerts, and logs one entry, all in one transaction. principal must be a
 * human ("human:NAME"). */
int upstream_pin_trust(struct store *s, const char *upstream, json_t *defs, const char *principal,
		       const char *surface, struct err *err);

/* Open alerts (unresolved), as a JSON array of {id, upstream, tool,
 * first_seen} (a new reference). */
int upstream_pin_alerts(struct store *s, json_t **out, struct err *err);

#endif
