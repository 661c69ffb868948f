/* reviewer.h — the people who may open the console: named credentials,
 * roles, sign-in sessions and one-time login links.
 *
 * Owns: the reviewer, reviewer_session, reviewer_link and reviewer_failure
 * tables (migration 60). Passwords are stored only as libsodium's
 * crypto_pwhash_str (Argon2id) text; session ids and login links are 256
 * random bits of which only a BLAKE2b-256 hash is stored, so a copy of the
 * database opens no session. Failed sign-ins are counted per name, known
 * or not, each counted before its password is checked and in the same
 * transaction as the check of the count (so simultaneous tries cannot pass
 * the limit): past REVIEWER_FAILURES_PER_MINUTE in a minute, that name is
 * refused for the rest of the minute whatever the password. The table keeps
 * one minute of failures.
 *
 * Never: stores or logs a password, a session id or a link; lets an agent
 * principal in (a reviewer's principal is always "human:NAME"); lets a
 * disabled reviewer's old session or link work.
 *
 * Roles: viewer reads; reviewer also acts on batches and drafts; admin also
 * sees the list of reviewers. Separation of duties is not here: staging.h
 * checks it for every surface alike.
 *
 * Memory: struct reviewer_session is plain data, caller-owned. json_t **
 * outputs are new references the caller must json_decref(). */
#ifndef AIRLOCK_REVIEWER_H
#define AIRLOCK_REVIEWER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "err.h"
#include "store.h"

#define REVIEWER_NAME_MAX 64
#define REVIEWER_SECRET_HEX 65 /* 32 bytes as hex, with the NUL */
#define REVIEWER_PASSWORD_MIN 8
#define REVIEWER_PASSWORD_MAX 1024
#define REVIEWER_SESSION_SECONDS (12 * 3600)
#define REVIEWER_LINK_SECONDS (24 * 3600)
#define REVIEWER_FAILURES_PER_MINUTE 5

enum reviewer_role { REVIEWER_VIEWER = 0, REVIEWER_REVIEWER = 1, REVIEWER_ADMIN = 2 };

const char *reviewer_role_name(enum reviewer_role role);
/* 0, or AIRLOCK_EINVAL naming the roles. */
int reviewer_role_parse(const char *text, enum reviewer_role *out, struct err *err);
/* 1 when name is 1..64 letters, digits, '.', '_', '-' or '@'. */
int reviewer_name_valid(const char *name);

/* A signed-in reviewer. id is the session's secret: filled only by the
 * login functions (it goes into the cookie once); reviewer_session_get
 * leaves it as given. */
struct reviewer_session {
	char id[REVIEWER_SECRET_HEX];
	char csrf[REVIEWER_SECRET_HEX];
	char name[REVIEWER_NAME_MAX + 1];
	char principal[REVIEWER_NAME_MAX + 8]; /* "human:NAME" */
	enum reviewer_role role;
	char expires_at[CLOCK_TEXT_LEN];
};

/* Argon2id cost for new hashes; verification uses the cost stored in each
 * hash. Default libsodium's "interactive" limits; tests may lower them
 * before hashing (never in the binary). */
extern unsigned long long reviewer_pwhash_opslimit;
extern size_t reviewer_pwhash_memlimit;

/* Adds a reviewer (re-enables a removed one with the new credential).
 * password NULL makes a link-only reviewer. AIRLOCK_EEXIST when an active
 * reviewer has the name; AIRLOCK_EINVAL for a bad name or a password
 * shorter than REVIEWER_PASSWORD_MIN. */
int reviewer_add(struct store *s, const char *name, enum reviewer_role role, const char *password,
		 const char *created_by, struct err *err);

/* A one-time login link secret for an active reviewer, valid
 * REVIEWER_LINK_SECONDS; token gets 64 hex characters. */
int reviewer_link_create(struct store *s, const char *name, char token[REVIEWER_SECRET_HEX],
			 struct err *err);

/* Disables a reviewer and ends its sessions and links. AIRLOCK_ENOTFOUND
 * when there is no active reviewer of that name. */
int reviewer_remove(struct store *s, const char *name, struct err *err);

/* [{"name","role","created_at","created_by","disabled_at","password":bool,
 *   "sessions": N}], by name. */
int reviewer_list(struct store *s, json_t **out, struct err *err);

/* Signs in with a password: a new session in *out. AIRLOCK_EDENIED
 * ("wrong name or password", the same for an unknown name) or AIRLOCK_EBUSY
 * when the name had too many failures this minute. */
int reviewer_login_password(struct store *s, const char *name, const char *password,
			    struct reviewer_session *out, struct err *err);

/* Makes the hash an unknown name's password is checked against (else it is
 * made on first use). Costs no hash: see reviewer_dummy_hash. Any thread. */
void reviewer_prepare(void);

/* Writes an Argon2id hash text with the current parameters
 * (reviewer_pwhash_opslimit/_memlimit), a random salt and a random tag: it
 * matches no password, and verifying against it costs what verifying a real
 * hash costs, but making it runs no hash. out ≥ crypto_pwhash_STRBYTES. */
int reviewer_dummy_hash(char *out, size_t len);

/* Signs in with a one-time link (used up by this call). AIRLOCK_EDENIED when
 * it is unknown, used, expired, or its reviewer removed. */
int reviewer_login_link(struct store *s, const char *token, struct reviewer_session *out,
			struct err *err);

/* The live session of id (a cookie's value). AIRLOCK_EDENIED when unknown,
 * expired or its reviewer was removed. */
int reviewer_session_get(struct store *s, const char *id, struct reviewer_session *out,
			 struct err *err);

/* Ends a session (sign out); an unknown id is not an error. */
int reviewer_session_end(struct store *s, const char *id, struct err *err);

/* 1 when token is the session's CSRF token (constant time). */
int reviewer_csrf_ok(const struct reviewer_session *rs, const char *token);

/* How many reviewers are active (not removed): 0 means nobody can sign in,
 * and the command line takes --as on trust (cli_identity.h). */
int reviewer_count_active(struct store *s, int64_t *n, struct err *err);

/* 1 when the role may do what needs `need`. */
int reviewer_role_allows(enum reviewer_role role, enum reviewer_role need);

#endif
