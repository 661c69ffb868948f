/* reviewer.c — reviewer credentials, sessions and login links (reviewer.h). */
#include "reviewer.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"

unsigned long long reviewer_pwhash_opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
size_t reviewer_pwhash_memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;

static const char *const role_names[] = {"viewer", "reviewer", "admin"};

const char *reviewer_role_name(enum reviewer_role role)
{
	return role >= REVIEWER_VIEWER && role <= REVIEWER_ADMIN ? role_names[role] : "?";
}

int reviewer_role_parse(const char *text, enum reviewer_role *out, struct err *err)
{
	int i;

	for (i = 0; text && i < 3; i++)
		if (!strcmp(text, role_names[i])) {
			*out = (enum reviewer_role)i;
			return 0;
		}
	return err_set(err, AIRLOCK_EINVAL, "role must be viewer, reviewer or admin, not '%s'",
		       text ? text : "");
}

int reviewer_role_allows(enum reviewer_role role, enum reviewer_role need)
{
	return role >= need;
}

int reviewer_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > REVIEWER_NAME_MAX)
		return 0;
	for (; *name; name++) {
		char c = *name;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '@'))
			return 0;
	}
	return 1;
}

static void now_text(long offset, char *buf, size_t len)
{
	clock_format(clock_now() + offset, buf, len);
}

/* 32 random bytes as hex (the secret), and the hex BLAKE2b of that text. */
static void new_secret(char secret[REVIEWER_SECRET_HEX], char hash[REVIEWER_SECRET_HEX])
{
	unsigned char raw[32], h[32];

	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(secret, REVIEWER_SECRET_HEX, raw, sizeof raw);
	crypto_generichash(h, sizeof h, (const unsigned char *)secret, strlen(secret), NULL, 0);
	sodium_bin2hex(hash, REVIEWER_SECRET_HEX, h, sizeof h);
	sodium_memzero(raw, sizeof raw);
}

/* The stored hash of a presented secret; -1 when it is not 64 hex digits
 * (then nothing can match, and no lookup is needed). */
static int secret_hash(const char *secret, char hash[REVIEWER_SECRET_HEX])
{
	unsigned char h[32];
	size_t i;

	if (!secret || strlen(secret) != 64)
		return -1;
	for (i = 0; i < 64; i++) {
		char c = secret[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
	}
	crypto_generichash(h, sizeof h, (const unsigned char *)secret, 64, NULL, 0);
	sodium_bin2hex(hash, REVIEWER_SECRET_HEX, h, sizeof h);
	return 0;
}

/* libsodium must be set up before its randomness or hashing is used;
 * sodium_init() is cheap and safe to call again, from any thread. */
static int sodium_ready(struct err *err)
{
	return sodium_init() < 0 ? err_set(err, AIRLOCK_EIO, "cannot initialise libsodium") : 0;
}

static int step_done(struct store_stmt *st, struct err *err)
{
	int rc = store_step(st, err);

	store_done(st);
	return rc == STORE_DONE ? 0 : rc < 0 ? rc : err_set(err, AIRLOCK_EIO, "unexpected row");
}

/* Whether an active reviewer of this name exists (1), a disabled one (2),
 * none (0); negative on error. */
static int reviewer_status(struct store *s, const char *name, struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s, "SELECT disabled_at IS NULL FROM reviewer WHERE name=?1", &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, name);
	rc = store_step(st, err);
	if (rc == STORE_ROW)
		rc = store_col_int(st, 0) ? 1 : 2;
	store_done(st);
	return rc;
}

int reviewer_add(struct store *s, const char *name, enum reviewer_role role, const char *password,
		 const char *created_by, struct err *err)
{
	char hash[crypto_pwhash_STRBYTES], now[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc, status;

	if (sodium_ready(err))
		return AIRLOCK_EIO;
	if (!reviewer_name_valid(name))
		return err_set(
		    err, AIRLOCK_EINVAL,
		    "reviewer name '%.80s': 1 to %d letters, digits, '.', '_', '-' or '@'",
		    name ? name : "", REVIEWER_NAME_MAX);
	if (password && strlen(password) < REVIEWER_PASSWORD_MIN)
		return err_set(err, AIRLOCK_EINVAL, "the password is shorter than %d characters",
			       REVIEWER_PASSWORD_MIN);
	if (password && strlen(password) > REVIEWER_PASSWORD_MAX)
		return err_set(err, AIRLOCK_EINVAL, "the password is longer than %d bytes",
			       REVIEWER_PASSWORD_MAX);
	if (password && crypto_pwhash_str(hash, password, strlen(password),
					  reviewer_pwhash_opslimit, reviewer_pwhash_memlimit) != 0)
		return err_set(err, AIRLOCK_ENOMEM, "cannot hash the password (out of memory)");
	now_text(0, now, sizeof now);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	status = reviewer_status(s, name, err);
	if (status < 0) {
		rc = status;
		goto rollback;
	}
	if (status == 1) {
		rc = err_set(err, AIRLOCK_EEXIST,
			     "reviewer '%s' exists (airlock reviewer remove %s, then add again)",
			     name, name);
		goto rollback;
	}
	rc = store_prepare(s,
			   status == 2
			       ? "UPDATE reviewer SET role=?2,pw_hash=?3,created_at=?4,"
				 "created_by=?5,disabled_at=NULL WHERE name=?1"
			       : "INSERT INTO reviewer(name,role,pw_hash,created_at,created_by)"
				 " VALUES(?1,?2,?3,?4,?5)",
			   &st, err);
	if (rc)
		goto rollback;
	store_bind_text(st, 1, name);
	store_bind_text(st, 2, reviewer_role_name(role));
	store_bind_text(st, 3, password ? hash : NULL);
	store_bind_text(st, 4, now);
	store_bind_text(st, 5, created_by ? created_by : "unknown");
	rc = step_done(st, err);
	if (rc)
		goto rollback;
	sodium_memzero(hash, sizeof hash);
	return store_commit(s, err);
rollback:
	sodium_memzero(hash, sizeof hash);
	store_rollback(s);
	return rc;
}

int reviewer_link_create(struct store *s, const char *name, char token[REVIEWER_SECRET_HEX],
			 struct err *err)
{
	char hash[REVIEWER_SECRET_HEX], now[CLOCK_TEXT_LEN], until[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc;

	token[0] = '\0';
	if (sodium_ready(err))
		return AIRLOCK_EIO;
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = reviewer_status(s, name, err);
	if (rc >= 0 && rc != 1)
		rc = err_set(err, AIRLOCK_ENOTFOUND, "there is no reviewer '%s'", name);
	if (rc < 0)
		goto rollback;
	new_secret(token, hash);
	now_text(0, now, sizeof now);
	now_text(REVIEWER_LINK_SECONDS, until, sizeof until);
	rc = store_prepare(s,
			   "INSERT INTO reviewer_link(token_hash,name,created_at,expires_at)"
			   " VALUES(?1,?2,?3,?4)",
			   &st, err);
	if (rc)
		goto rollback;
	store_bind_text(st, 1, hash);
	store_bind_text(st, 2, name);
	store_bind_text(st, 3, now);
	store_bind_text(st, 4, until);
	rc = step_done(st, err);
	if (rc)
		goto rollback;
	return store_commit(s, err);
rollback:
	token[0] = '\0';
	store_rollback(s);
	return rc;
}

static int exec_name(struct store *s, const char *sql, const char *name, const char *now,
		     struct err *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	if (rc)
		return rc;
	store_bind_text(st, 1, name);
	if (now)
		store_bind_text(st, 2, now);
	return step_done(st, err);
}

int reviewer_remove(struct store *s, const char *name, struct err *err)
{
	char now[CLOCK_TEXT_LEN];
	int rc;

	now_text(0, now, sizeof now);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = reviewer_status(s, name, err);
	if (rc >= 0 && rc != 1)
		rc = err_set(err, AIRLOCK_ENOTFOUND, "there is no reviewer '%s'", name);
	if (rc >= 0)
		rc = exec_name(s, "UPDATE reviewer SET disabled_at=?2,pw_hash=NULL WHERE name=?1",
			       name, now, err);
	if (!rc)
		rc = exec_name(s, "DELETE FROM reviewer_session WHERE name=?1", name, NULL, err);
	if (!rc)
		rc = exec_name(s, "DELETE FROM reviewer_link WHERE name=?1", name, NULL, err);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	return store_commit(s, err);
}

int reviewer_list(struct store *s, json_t **out, struct err *err)
{
	struct store_stmt *st;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	rc = store_prepare(s,
			   "SELECT r.name,r.role,r.created_at,r.created_by,r.disabled_at,"
			   "r.pw_hash IS NOT NULL,(SELECT count(*) FROM reviewer_session x"
			   " WHERE x.name=r.name) FROM reviewer r ORDER BY r.name",
			   &st, err);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	while ((rc = store_step(st, err)) == STORE_ROW)
		json_array_append_new(
		    arr,
		    json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:b,s:I}", "name", store_col_text(st, 0),
			      "role", store_col_text(st, 1), "created_at", store_col_text(st, 2),
			      "created_by", store_col_text(st, 3), "disabled_at",
			      store_col_text(st, 4), "password", (int)store_col_int(st, 5),
			      "sessions", (json_int_t)store_col_int(st, 6)));
	store_done(st);
	if (rc != STORE_DONE) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* Counts this attempt against name before its password is checked, in one
 * write transaction with the count of the minute's earlier ones, so that
 * simultaneous attempts cannot all see room under the limit. The row is
 * taken back when the password is right (session_create). Rows older than
 * the minute that counts are pruned here, so the table holds at most a
 * minute of attempts, known names or not. AIRLOCK_EBUSY when the name has
 * had its REVIEWER_FAILURES_PER_MINUTE. */
static int reserve_attempt(struct store *s, const char *name, char at[CLOCK_TEXT_LEN],
			   struct err *err)
{
	char since[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int64_t n = 0;
	int rc;

	now_text(0, at, CLOCK_TEXT_LEN);
	now_text(-60, since, sizeof since);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = exec_name(s, "DELETE FROM reviewer_failure WHERE at<=?2 AND ?1=?1", "", since, err);
	if (!rc)
		rc = store_prepare(s, "SELECT count(*) FROM reviewer_failure WHERE name=?1", &st,
				   err);
	if (!rc) {
		store_bind_text(st, 1, name);
		rc = store_step(st, err);
		n = rc == STORE_ROW ? store_col_int(st, 0) : 0;
		store_done(st);
		rc = rc < 0 ? rc : 0;
	}
	if (!rc && n >= REVIEWER_FAILURES_PER_MINUTE)
		rc = err_set(err, AIRLOCK_EBUSY,
			     "too many failed sign-ins for '%s': wait a minute and try again", name);
	if (!rc)
		rc = exec_name(s, "INSERT INTO reviewer_failure(name,at) VALUES(?1,?2)", name, at,
			       err);
	if (rc) {
		store_rollback(s);
		return rc;
	}
	return store_commit(s, err);
}

/* A hash to verify against when the name is unknown, so that an unknown
 * name costs the same time as a wrong password. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

int reviewer_dummy_hash(char *out, size_t len)
{
	/* Written, not computed: the verify's cost comes from the parameters in
	 * the text (the same as crypto_pwhash_str writes for a real password),
	 * and a random salt and random 32-byte tag match no password, the way a
	 * hash of a random password would. Computing one took an Argon2id run
	 * (64 MiB touched) at every server start. */
	unsigned char salt[crypto_pwhash_SALTBYTES], tag[32];
	char salt64[sizeof salt * 4 / 3 + 4], tag64[sizeof tag * 4 / 3 + 4];

	randombytes_buf(salt, sizeof salt);
	randombytes_buf(tag, sizeof tag);
	sodium_bin2base64(salt64, sizeof salt64, salt, sizeof salt,
			  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_bin2base64(tag64, sizeof tag64, tag, sizeof tag,
			  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	return fmt_buf(out, len, NULL, "dummy hash", "%sv=19$m=%zu,t=%llu,p=1$%s$%s",
		       crypto_pwhash_argon2id_STRPREFIX, reviewer_pwhash_memlimit / 1024, reviewer_pwhash_opslimit, salt64, tag64);
}

static void make_dummy(void)
{
	if (reviewer_dummy_hash(dummy_hash, sizeof dummy_hash))
		dummy_hash[0] = '\0';
}

void reviewer_prepare(void)
{
	if (sodium_init() >= 0)
		pthread_once(&dummy_once, make_dummy);
}

/* Creates the session row for an authenticated reviewer; attempt_at, when
 * not NULL, is the time of its counted attempt, taken back in the same
 * transaction. */
static int session_create(struct store *s, const char *name, const char *role,
			  const char *attempt_at, struct reviewer_session *out, struct err *err)
{
	char hash[REVIEWER_SECRET_HEX], unused[REVIEWER_SECRET_HEX], now[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc;

	memset(out, 0, sizeof *out);
	new_secret(out->id, hash);
	new_secret(out->csrf, unused);
	if (fmt_buf(out->name, sizeof out->name, err, "reviewer name", "%s", name) ||
	    fmt_buf(out->principal, sizeof out->principal, err, "reviewer principal", "human:%s",
		    name))
		return AIRLOCK_EINVAL;
	if (reviewer_role_parse(role, &out->role, err))
		return AIRLOCK_ECORRUPT;
	now_text(0, now, sizeof now);
	now_text(REVIEWER_SESSION_SECONDS, out->expires_at, sizeof out->expires_at);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = exec_name(s, "DELETE FROM reviewer_session WHERE expires_at<=?2 AND ?1=?1", "", now,
		       err);
	if (!rc)
		rc = store_prepare(s,
				   "INSERT INTO reviewer_session(id_hash,name,csrf,created_at,"
				   "expires_at) VALUES(?1,?2,?3,?4,?5)",
				   &st, err);
	if (!rc) {
		store_bind_text(st, 1, hash);
		store_bind_text(st, 2, name);
		store_bind_text(st, 3, out->csrf);
		store_bind_text(st, 4, now);
		store_bind_text(st, 5, out->expires_at);
		rc = step_done(st, err);
	}
	/* one of possibly equal rows: each engine names a row by its own
	 * address (SQLite's rowid, PostgreSQL's ctid; the table has no key) */
	if (!rc && attempt_at)
		rc = exec_name(s,
			       strcmp(store_backend_name(s), "postgres") == 0
				   ? "DELETE FROM reviewer_failure WHERE ctid=(SELECT ctid FROM"
				     " reviewer_failure WHERE name=?1 AND at=?2 LIMIT 1)"
				   : "DELETE FROM reviewer_failure WHERE rowid=(SELECT rowid FROM"
				     " reviewer_failure WHERE name=?1 AND at=?2 LIMIT 1)",
			       name, attempt_at, err);
	if (rc) {
		store_rollback(s);
		memset(out, 0, sizeof *out);
		return rc;
	}
	rc = store_commit(s, err);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

int reviewer_login_password(struct store *s, const char *name, const char *password,
			    struct reviewer_session *out, struct err *err)
{
	char stored[crypto_pwhash_STRBYTES] = "", role[16] = "", at[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc, found = 0, good;

	memset(out, 0, sizeof *out);
	if (sodium_ready(err))
		return AIRLOCK_EIO;
	if (!reviewer_name_valid(name) || !password || strlen(password) > REVIEWER_PASSWORD_MAX)
		return err_set(err, AIRLOCK_EDENIED, "wrong name or password");
	rc = reserve_attempt(s, name, at, err);
	if (rc)
		return rc;
	rc = store_prepare(s,
			   "SELECT pw_hash,role FROM reviewer WHERE name=?1 AND disabled_at IS NULL"
			   " AND pw_hash IS NOT NULL",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, name);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		found = snprintf(stored, sizeof stored, "%s", store_col_text(st, 0)) <
			(int)sizeof stored;
		/* an unknown role is refused by the role parser; a cut one could parse */
		if (fmt_buf(role, sizeof role, NULL, "role", "%s", store_col_text(st, 1)))
			found = 0;
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (!found) {
		pthread_once(&dummy_once, make_dummy);
		(void)snprintf(stored, sizeof stored, "%s", dummy_hash);
	}
	good = stored[0] && crypto_pwhash_str_verify(stored, password, strlen(password)) == 0;
	sodium_memzero(stored, sizeof stored);
	if (!found || !good)
		return err_set(err, AIRLOCK_EDENIED, "wrong name or password");
	return session_create(s, name, role, at, out, err);
}

int reviewer_login_link(struct store *s, const char *token, struct reviewer_session *out,
			struct err *err)
{
	char hash[REVIEWER_SECRET_HEX], now[CLOCK_TEXT_LEN], name[REVIEWER_NAME_MAX + 1] = "",
										      role[16] = "";
	struct store_stmt *st;
	int rc;

	memset(out, 0, sizeof *out);
	if (sodium_ready(err))
		return AIRLOCK_EIO;
	if (secret_hash(token, hash))
		return err_set(err, AIRLOCK_EDENIED, "this login link is not valid");
	now_text(0, now, sizeof now);
	rc = store_begin(s, err);
	if (rc)
		return rc;
	rc = store_prepare(
	    s,
	    "SELECT l.name,r.role FROM reviewer_link l JOIN reviewer r ON r.name=l.name"
	    " WHERE l.token_hash=?1 AND l.used_at IS NULL AND l.expires_at>?2"
	    " AND r.disabled_at IS NULL",
	    &st, err);
	if (rc)
		goto rollback;
	store_bind_text(st, 1, hash);
	store_bind_text(st, 2, now);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		rc =
		    fmt_buf(name, sizeof name, err, "reviewer name", "%s", store_col_text(st, 0)) ||
			    fmt_buf(role, sizeof role, err, "reviewer role", "%s",
				    store_col_text(st, 1))
			? AIRLOCK_ECORRUPT
			: 0;
	} else if (rc == STORE_DONE)
		rc = err_set(err, AIRLOCK_EDENIED,
			     "this login link is not valid: used, expired or unknown (ask for a new"
			     " one: airlock reviewer add NAME --link)");
	store_done(st);
	if (rc)
		goto rollback;
	rc =
	    exec_name(s, "UPDATE reviewer_link SET used_at=?2 WHERE token_hash=?1", hash, now, err);
	if (!rc)
		rc = session_create(s, name, role, NULL, out, err);
	if (rc)
		goto rollback;
	return store_commit(s, err);
rollback:
	store_rollback(s);
	memset(out, 0, sizeof *out);
	return rc;
}

int reviewer_session_get(struct store *s, const char *id, struct reviewer_session *out,
			 struct err *err)
{
	char hash[REVIEWER_SECRET_HEX], now[CLOCK_TEXT_LEN];
	struct store_stmt *st;
	int rc;

	memset(out->csrf, 0, sizeof out->csrf);
	if (sodium_ready(err))
		return AIRLOCK_EIO;
	if (secret_hash(id, hash))
		return err_set(err, AIRLOCK_EDENIED, "not signed in");
	now_text(0, now, sizeof now);
	rc = store_prepare(s,
			   "SELECT s.name,s.csrf,s.expires_at,r.role FROM reviewer_session s JOIN"
			   " reviewer r ON r.name=s.name WHERE s.id_hash=?1 AND s.expires_at>?2"
			   " AND r.disabled_at IS NULL",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, hash);
	store_bind_text(st, 2, now);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		rc = fmt_buf(out->name, sizeof out->name, err, "session reviewer name", "%s",
			     store_col_text(st, 0)) ||
			     fmt_buf(out->csrf, sizeof out->csrf, err, "session csrf token", "%s",
				     store_col_text(st, 1)) ||
			     fmt_buf(out->expires_at, sizeof out->expires_at, err, "session expiry",
				     "%s", store_col_text(st, 2)) ||
			     fmt_buf(out->principal, sizeof out->principal, err,
				     "session principal", "human:%s", out->name)
			 ? AIRLOCK_ECORRUPT
			 : reviewer_role_parse(store_col_text(st, 3), &out->role, err);
	} else if (rc == STORE_DONE)
		rc = err_set(err, AIRLOCK_EDENIED, "not signed in, or the session ended");
	store_done(st);
	return rc;
}

int reviewer_session_end(struct store *s, const char *id, struct err *err)
{
	char hash[REVIEWER_SECRET_HEX];

	if (secret_hash(id, hash))
		return 0;
	return exec_name(s, "DELETE FROM reviewer_session WHERE id_hash=?1", hash, NULL, err);
}

int reviewer_csrf_ok(const struct reviewer_session *rs, const char *token)
{
	if (!token || strlen(token) != 64 || strlen(rs->csrf) != 64)
		return 0;
	return sodium_memcmp(token, rs->csrf, 64) == 0;
}

int reviewer_count_active(struct store *s, int64_t *n, struct err *err)
{
	return store_query_int(s, "SELECT count(*) FROM reviewer WHERE disabled_at IS NULL", n, err);
}
