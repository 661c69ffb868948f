/* audit_sign.c — the database's Ed25519 signing key and signed checkpoints
 * of the log's head. Part of the audit module (audit.h).
 *
 * A checkpoint is worth something only when it is kept away from the
 * database (another machine, a ticket, an email): whoever can rewrite the
 * whole chain can also rewrite a checkpoint stored beside it, but cannot
 * forge the signature without the key, nor change a copy they cannot
 * reach. */
#include "audit.h"
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FORMAT "airlock.key.v1"
#define KEY_FILE_MAX 4096
#define CHECKPOINT_FILE_MAX 65536

struct keypair {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
};

/* The folder of the keys of databases that are not files:
 * ${XDG_CONFIG_HOME:-$HOME/.config}/airlock/keys (the home of the user's
 * configuration, as ssh and gpg keep theirs under $HOME). */
static int key_dir(char *out, size_t size, struct err *err)
{
	const char *cfg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd *pw;
	int n;

	if (cfg && cfg[0] == '/') {
		n = snprintf(out, size, "%s/airlock/keys", cfg);
	} else {
		if (!home || home[0] != '/') {
			pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || home[0] != '/')
			return err_set(err, AIRLOCK_ENOTFOUND,
				       "no place for the signing key of a PostgreSQL database: set "
				       "AIRLOCK_KEY to its file (or XDG_CONFIG_HOME or HOME)");
		n = snprintf(out, size, "%s/.config/airlock/keys", home);
	}
	if (n < 0 || (size_t)n >= size)
		return err_set(err, AIRLOCK_EINVAL, "the key folder's path is too long");
	return 0;
}

int audit_key_path(const char *db_path, char *out, size_t size, struct err *err)
{
	const char *env = getenv("AIRLOCK_KEY");
	unsigned char h[8];
	char dir[4096], hexh[17];
	int n, rc;

	if (env && *env) {
		n = snprintf(out, size, "%s", env);
	} else if (!store_target_is_pg(db_path)) {
		n = snprintf(out, size, "%s.key", db_path);
	} else {
		/* a URL is no place for a file ("postgres://h/db.key" would land
		 * in a folder named "postgres:"): one key per URL in the user's
		 * configuration, named by a hash of the URL as session files are */
		if ((rc = key_dir(dir, sizeof dir, err)) || (rc = audit_sodium_ready(err)))
			return rc;
		crypto_generichash(h, sizeof h, (const unsigned char *)db_path, strlen(db_path),
				   NULL, 0);
		sodium_bin2hex(hexh, sizeof hexh, h, sizeof h);
		n = snprintf(out, size, "%s/%s.key", dir, hexh);
	}
	if (n < 0 || (size_t)n >= size)
		return err_set(err, AIRLOCK_EINVAL, "%s: path too long for a key file", db_path);
	return 0;
}

/* Makes the folders of path's parent (0700: they hold secret keys) when the
 * key is in the default folder of a PostgreSQL database's keys. */
static int key_dir_make(const char *db_path, struct err *err)
{
	char dir[4096], *p;
	const char *env = getenv("AIRLOCK_KEY");
	int rc;

	if ((env && *env) || !store_target_is_pg(db_path))
		return 0;
	if ((rc = key_dir(dir, sizeof dir, err)))
		return rc;
	for (p = dir + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return err_set(err, AIRLOCK_EIO, "cannot create %s: %s", dir,
				       strerror(errno));
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Writes the new key to a private temporary file and links it into place:
 * link() fails if the key appeared meanwhile, so an existing key is never
 * replaced, and no reader ever sees half a key. */
int audit_key_init(const char *db_path, int *created, struct err *err)
{
	char path[4096], tmp[4200] = "";
	char pkhex[crypto_sign_PUBLICKEYBYTES * 2 + 1], skhex[crypto_sign_SECRETKEYBYTES * 2 + 1];
	struct keypair kp;
	struct stat sb;
	char *text = NULL;
	json_t *o = NULL;
	int fd = -1, rc, have_tmp = 0;

	if (created)
		*created = 0;
	if ((rc = audit_key_path(db_path, path, sizeof path, err)))
		return rc;
	if (stat(path, &sb) == 0)
		return 0;
	if (errno != ENOENT)
		return err_set(err, AIRLOCK_EIO, "%s: %s", path, strerror(errno));
	if ((rc = audit_sodium_ready(err)) || (rc = key_dir_make(db_path, err)))
		return rc;
	crypto_sign_keypair(kp.pk, kp.sk);
	sodium_bin2hex(pkhex, sizeof pkhex, kp.pk, sizeof kp.pk);
	sodium_bin2hex(skhex, sizeof skhex, kp.sk, sizeof kp.sk);
	o = json_pack("{s:s,s:s,s:s}", "format", KEY_FORMAT, "public_key", pkhex, "secret_key",
		      skhex);
	text = o ? store_json_dump(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (!text) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	(void)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path); /* path < 4096 */
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = err_set(err, AIRLOCK_EIO, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	have_tmp = 1;
	if (fchmod(fd, 0600) || write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1) ||
	    fsync(fd)) {
		rc = err_set(err, AIRLOCK_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		rc = err_set(err, AIRLOCK_EIO, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (link(tmp, path)) {
		if (errno != EEXIST)
			rc = err_set(err, AIRLOCK_EIO, "cannot create %s: %s", path,
				     strerror(errno));
		goto out;
	}
	if (created)
		*created = 1;
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlink(tmp);
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	json_decref(o);
	sodium_memzero(&kp, sizeof kp);
	sodium_memzero(skhex, sizeof skhex);
	return rc;
}

/* Reads a small file whole, NUL-terminated, into *out (caller frees). */
static int read_small_file(const char *path, size_t max, int private_key, char **out,
			   struct err *err)
{
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	ssize_t r;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno == ENOENT ? AIRLOCK_ENOTFOUND : AIRLOCK_EIO, "%s: %s",
			       path, strerror(errno));
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		rc = err_set(err, AIRLOCK_EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if (private_key && (sb.st_mode & 077)) {
		rc = err_set(err, AIRLOCK_EDENIED,
			     "%s: permissions %03o are too open: the signing key must be readable "
			     "by its owner only (chmod 600 %s)",
			     path, (unsigned)(sb.st_mode & 0777), path);
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		rc = err_set(err, AIRLOCK_EINVAL, "%s: %lld bytes is too large (at most %zu)", path,
			     (long long)sb.st_size, max);
		goto out;
	}
	buf = malloc(max + 1);
	if (!buf) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	while (got < max) {
		r = read(fd, buf + got, max - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(err, AIRLOCK_EIO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	buf = NULL;
out:
	if (buf) {
		sodium_memzero(buf, max + 1);
		free(buf);
	}
	close(fd);
	return rc;
}

/* Decodes exactly `len` bytes of lowercase or uppercase hex. */
static int hex_field(const json_t *o, const char *key, unsigned char *out, size_t len)
{
	const char *hex = json_string_value(json_object_get(o, key));
	size_t got = 0;

	if (!hex || strlen(hex) != len * 2)
		return -1;
	if (sodium_hex2bin(out, len, hex, len * 2, NULL, &got, NULL) || got != len)
		return -1;
	return 0;
}

static int key_load(const char *db_path, int need_secret, struct keypair *kp, struct err *err)
{
	unsigned char derived[crypto_sign_PUBLICKEYBYTES];
	char path[4096], *text = NULL;
	json_t *o = NULL;
	int rc;

	if ((rc = audit_key_path(db_path, path, sizeof path, err)))
		return rc;
	rc = read_small_file(path, KEY_FILE_MAX, need_secret, &text, err);
	if (rc == AIRLOCK_ENOTFOUND)
		return err_set(err, rc, "%s: no signing key%s; run 'airlock init' to create it%s",
			       path,
			       store_target_is_pg(db_path) ? " for this PostgreSQL database" : "",
			       store_target_is_pg(db_path)
				   ? ", or set AIRLOCK_KEY to the key file made where it was"
				     " initialised"
				   : "");
	if (rc)
		return rc;
	o = json_loads(text, 0, NULL);
	if (!o || strcmp(json_string_value(json_object_get(o, "format")) ?: "", KEY_FORMAT) ||
	    hex_field(o, "public_key", kp->pk, sizeof kp->pk) ||
	    (need_secret && hex_field(o, "secret_key", kp->sk, sizeof kp->sk))) {
		rc = err_set(err, AIRLOCK_EINVAL, "%s: not an airlock signing key (%s)", path,
			     KEY_FORMAT);
		goto out;
	}
	if (need_secret) {
		crypto_sign_ed25519_sk_to_pk(derived, kp->sk);
		if (memcmp(derived, kp->pk, sizeof derived)) {
			rc = err_set(err, AIRLOCK_EINVAL,
				     "%s: the public key does not belong to the secret key", path);
			goto out;
		}
	}
out:
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	json_decref(o);
	if (rc)
		sodium_memzero(kp, sizeof *kp);
	return rc;
}

/* What the signature covers; see audit.h. Returns the length. */
static size_t checkpoint_message(const struct audit_checkpoint *cp, unsigned char *msg, size_t size)
{
	size_t n = sizeof AUDIT_CHECKPOINT_FORMAT; /* with its NUL */
	size_t at = strlen(cp->at);
	int i;

	if (n + 8 + AUDIT_HASH_BYTES + at > size)
		return 0;
	memcpy(msg, AUDIT_CHECKPOINT_FORMAT, n);
	for (i = 0; i < 8; i++)
		msg[n++] = (unsigned char)((uint64_t)cp->seq >> (56 - 8 * i));
	memcpy(msg + n, cp->head, AUDIT_HASH_BYTES);
	n += AUDIT_HASH_BYTES;
	memcpy(msg + n, cp->at, at);
	return n + at;
}

int audit_checkpoint_load(const char *path, struct audit_checkpoint *cp, struct err *err)
{
	json_error_t jerr;
	json_t *o = NULL, *seq;
	const char *at, *what = NULL;
	char *text = NULL;
	int rc;

	memset(cp, 0, sizeof *cp);
	rc = read_small_file(path, CHECKPOINT_FILE_MAX, 0, &text, err);
	if (rc)
		return rc;
	o = json_loads(text, 0, &jerr);
	if (!o) {
		rc =
		    err_set(err, AIRLOCK_EINVAL, "%s:%d: not JSON: %s", path, jerr.line, jerr.text);
		goto out;
	}
	seq = json_object_get(o, "seq");
	at = json_string_value(json_object_get(o, "at"));
	if (strcmp(json_string_value(json_object_get(o, "format")) ?: "", AUDIT_CHECKPOINT_FORMAT))
		what = "format must be \"" AUDIT_CHECKPOINT_FORMAT "\"";
	else if (!json_is_integer(seq) || json_integer_value(seq) < 0)
		what = "seq must be a whole number of at least 0";
	else if (hex_field(o, "head", cp->head, sizeof cp->head))
		what = "head must be 64 hex digits";
	else if (!at || strlen(at) >= sizeof cp->at)
		what = "at must be a time";
	else if (hex_field(o, "public_key", cp->public_key, sizeof cp->public_key))
		what = "public_key must be 64 hex digits";
	else if (hex_field(o, "signature", cp->signature, sizeof cp->signature))
		what = "signature must be 128 hex digits";
	if (what) {
		rc = err_set(err, AIRLOCK_EINVAL, "%s: not an airlock checkpoint: %s", path, what);
		goto out;
	}
	cp->seq = json_integer_value(seq);
	(void)snprintf(cp->at, sizeof cp->at, "%s", at); /* length checked above */
out:
	free(text);
	json_decref(o);
	return rc;
}

int audit_checkpoint_check_signature(const char *db_path, const char *cp_path,
				     struct audit_checkpoint *cp, struct audit_verify_result *r)
{
	unsigned char msg[128];
	char have[crypto_sign_PUBLICKEYBYTES * 2 + 1], want[sizeof have];
	struct keypair kp;
	struct err kerr = {0};
	size_t len = checkpoint_message(cp, msg, sizeof msg);

	if (!len || crypto_sign_verify_detached(cp->signature, msg, len, cp->public_key) != 0)
		return audit_verify_fail(r, AUDIT_BAD_SIGNATURE, cp->seq,
					 "checkpoint %s: the signature does not match its content "
					 "(the checkpoint was altered)",
					 cp_path);
	if (key_load(db_path, 0, &kp, &kerr) == 0) {
		if (memcmp(kp.pk, cp->public_key, sizeof kp.pk) != 0) {
			sodium_bin2hex(have, sizeof have, cp->public_key, sizeof cp->public_key);
			sodium_bin2hex(want, sizeof want, kp.pk, sizeof kp.pk);
			return audit_verify_fail(r, AUDIT_BAD_SIGNATURE, cp->seq,
						 "checkpoint %s: signed by key %.16s…, not this "
						 "database's key %.16s…",
						 cp_path, have, want);
		}
		cp->key_local = 1;
	}
	return 0;
}

int audit_checkpoint_make(struct store *s, json_t **out, struct audit_verify_result *r,
			  struct err *err)
{
	struct audit_checkpoint cp = {0};
	unsigned char msg[128];
	char head[AUDIT_HASH_HEX], pk[crypto_sign_PUBLICKEYBYTES * 2 + 1];
	char sig[crypto_sign_BYTES * 2 + 1];
	struct keypair kp;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = audit_verify(s, NULL, r, err)))
		return rc;
	if (!r->ok)
		return err_set(err, AIRLOCK_ECORRUPT, "the log is damaged, nothing was signed: %s",
			       r->message);
	if ((rc = key_load(store_path(s), 1, &kp, err)))
		return rc;
	cp.seq = r->head_seq;
	memcpy(cp.head, r->head, sizeof cp.head);
	audit_now(cp.at);
	len = checkpoint_message(&cp, msg, sizeof msg);
	crypto_sign_detached(cp.signature, NULL, msg, len, kp.sk);
	sodium_memzero(&kp.sk, sizeof kp.sk);
	audit_hash_hex(cp.head, head);
	sodium_bin2hex(pk, sizeof pk, kp.pk, sizeof kp.pk);
	sodium_bin2hex(sig, sizeof sig, cp.signature, sizeof cp.signature);
	*out = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s}", "format", AUDIT_CHECKPOINT_FORMAT, "seq",
			 (json_int_t)cp.seq, "head", head, "at", cp.at, "public_key", pk,
			 "signature", sig);
	if (!*out)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	return 0;
}
