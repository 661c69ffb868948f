/* cli_identity.h — who is acting on the command line.
 *
 * Owns: reading --as (an agent is "agent:NAME" in any case and with any
 * surrounding space; anything else is a person's name), the sign-in session
 * of `airlock login` (its secret in $AIRLOCK_SESSION, else in a 0600 file
 * under $XDG_RUNTIME_DIR/airlock/ or ~/.airlock/, one per database), and the
 * check every human or operator verb makes before it acts (cli_person).
 *
 * The rule: while the book has no active reviewer (a fresh install, `make
 * demo`), --as is taken on trust and the verb says so once on stderr (the
 * OS user, when --as is not given, quietly). Once
 * `airlock reviewer add` has added one, a human verb needs a signed-in
 * reviewer (`airlock login`, with the console's rules: Argon2id passwords,
 * one-time links, lockout after failed attempts), --as must then name that
 * person or be left out, and operator verbs need an admin. An agent
 * principal never passes, whatever the book holds.
 *
 * Never: writes a session secret anywhere but the session file (0600, in a
 * 0700 folder) or standard output of `login --print`; trusts a session file
 * another user could read or replace; lets a verb act after a failed check
 * (cli_person returns the exit status to return). */
#ifndef AIRLOCK_CLI_IDENTITY_H
#define AIRLOCK_CLI_IDENTITY_H

#include <stddef.h>

#include "cli.h"
#include "err.h"
#include "reviewer.h"

enum cli_need {
	CLI_NEED_PERSON, /* a human verb: a reviewer (or admin) once reviewers exist */
	CLI_NEED_ADMIN	 /* an operator verb: an admin once reviewers exist */
};

/* Reads an --as value into "agent:NAME" or "human:NAME" (len ≥ 80).
 * Surrounding space is dropped; "agent:" and "human:" are matched in any
 * case; a person's name is 1 to 64 letters, digits, '.', '_', '-' or '@'
 * (so never one holding ':', space or a control character), an agent's the
 * same without '@'. AIRLOCK_EINVAL names what is wrong. */
int cli_identity_parse(const char *as, char *principal, size_t len, struct err *err);

/* 1 when principal is an agent's ("agent:..."). */
int cli_identity_is_agent(const char *principal);

/* The check of a human (CLI_NEED_PERSON) or operator (CLI_NEED_ADMIN) verb,
 * made once per process: afterwards cli_principal() is the person who acts.
 * Returns CLI_OK, or the exit status after printing why (a usage error for
 * a malformed --as). Opens the store. */
int cli_person(struct cli *cli, enum cli_need need);

/* For verbs that set a book up (init, demo): an agent --as is refused; once
 * the book has reviewers, an admin must be signed in (cli_person); before,
 * nothing is said. Returns CLI_OK or the exit status after printing why. */
int cli_operator_setup(struct cli *cli);

/* The session file of this database: $XDG_RUNTIME_DIR/airlock/session-H or
 * ~/.airlock/session-H, H a hash of the database's full path. */
int cli_session_path(struct cli *cli, char *buf, size_t len, struct err *err);

/* The session secret: $AIRLOCK_SESSION when set, else the session file's.
 * AIRLOCK_ENOTFOUND when there is none; AIRLOCK_EDENIED for a session file
 * that is not a regular file of this user readable by nobody else. */
int cli_session_read(struct cli *cli, char secret[REVIEWER_SECRET_HEX], struct err *err);

/* Writes the secret to the session file (0600, replacing it atomically). */
int cli_session_write(struct cli *cli, const char *secret, char *path, size_t len, struct err *err);

#endif
