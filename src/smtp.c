/* smtp.c — RFC 5322 message text and libcurl's SMTP client (smtp.h). */
#include "smtp.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

/* ---- addresses ---------------------------------------------------------- */

static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

int smtp_address_valid(const char *addr)
{
	const char *at, *p;
	size_t llen, label = 0;
	int dots = 0;

	if (!addr || strlen(addr) > SMTP_ADDRESS_MAX)
		return 0;
	at = strrchr(addr, '@');
	if (!at)
		return 0;
	llen = (size_t)(at - addr);
	if (llen == 0 || llen > 64 || addr[0] == '.' || at[-1] == '.')
		return 0;
	for (p = addr; p < at; p++) {
		if (*p == '.' && p[1] == '.')
			return 0;
		if (*p != '.' && !is_atext((unsigned char)*p))
			return 0;
	}
	for (p = at + 1;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return 0;
			if (*p == '\0')
				break;
			dots++;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)))
			return 0;
		label++;
	}
	return dots > 0;
}

int smtp_from_address(const char *from, char *addr, size_t len, struct err *err)
{
	const char *lt, *gt;
	size_t n;

	if (!from || !*from)
		return err_set(err, AIRLOCK_EINVAL, "from: no sender address configured");
	lt = strrchr(from, '<');
	if (lt) {
		gt = strchr(lt, '>');
		if (!gt || gt[1] != '\0')
			return err_set(err, AIRLOCK_EINVAL,
				       "from: '%s' must be ADDRESS or \"Name <ADDRESS>\"", from);
		n = (size_t)(gt - lt - 1);
		from = lt + 1;
	} else {
		n = strlen(from);
	}
	if (n >= len || n > SMTP_ADDRESS_MAX)
		return err_set(err, AIRLOCK_EINVAL, "from: address is too long");
	memcpy(addr, from, n);
	addr[n] = '\0';
	if (!smtp_address_valid(addr))
		return err_set(err, AIRLOCK_EINVAL, "from: '%s' is not a valid e-mail address",
			       addr);
	return 0;
}

/* ---- a growing buffer with a cap ---------------------------------------- */

#define MESSAGE_MAX (4u << 20) /* far above any draft: drafts are capped at 100 KB */

struct out {
	char *p;
	size_t len, cap;
	int failed;
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (n > MESSAGE_MAX || o->len + n + 1 > MESSAGE_MAX) {
		o->failed = 1;
		return;
	}
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		char *np;

		while (cap < o->len + n + 1)
			cap *= 2;
		np = realloc(o->p, cap);
		if (!np) {
			o->failed = 1;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/* ---- headers ------------------------------------------------------------ */

static int needs_encoding(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x7f || (unsigned char)*s < ' ')
			return 1;
	return 0;
}

#define LINE_MAX_SOFT 78 /* RFC 5322 2.1.1: lines SHOULD be at most 78 */
#define WORD_LINE_MAX 76 /* RFC 2047 2: a line holding encoded words */
#define LINE_MAX_HARD 998 /* RFC 5322 2.1.1: lines MUST be at most 998 */
#define MESSAGE_ID_MAX 900 /* "Message-ID: " and the id within 998 */

/* "<left@right>": at most MESSAGE_ID_MAX bytes, printable ASCII without
 * spaces (it goes on a header line as it is). */
static int message_id_valid(const char *id)
{
	size_t n;

	if (!id || id[0] != '<' || (n = strlen(id)) < 5 || n > MESSAGE_ID_MAX || id[n - 1] != '>' ||
	    !strchr(id, '@'))
		return 0;
	for (; *id; id++)
		if ((unsigned char)*id <= ' ' || (unsigned char)*id >= 0x7f)
			return 0;
	return 1;
}

/* Writes s as RFC 2047 encoded words ("=?UTF-8?B?...?="), each filling the
 * rest of its line and split on UTF-8 character boundaries, one per folded
 * line. *col is the column the header is at, and is updated. Control
 * characters become spaces. */
static void put_encoded_words(struct out *o, const char *s, size_t *col)
{
	unsigned char chunk[45];
	char b64[sodium_base64_ENCODED_LEN(45, sodium_base64_VARIANT_ORIGINAL)];
	size_t n = strlen(s), i = 0, k, maxraw;

	while (i < n) {
		if (*col + 12 + 16 > WORD_LINE_MAX) {
			out_str(o, "\r\n ");
			*col = 1;
		}
		maxraw = (WORD_LINE_MAX - *col - 12) / 4 * 3;
		if (maxraw > sizeof chunk)
			maxraw = sizeof chunk;
		k = 0;
		while (i < n) {
			size_t clen = 1, j;
			unsigned char c = (unsigned char)s[i];

			if (c >= 0xF0)
				clen = 4;
			else if (c >= 0xE0)
				clen = 3;
			else if (c >= 0xC0)
				clen = 2;
			if (i + clen > n)
				clen = n - i;
			if (k + clen > maxraw)
				break;
			for (j = 0; j < clen; j++) {
				c = (unsigned char)s[i + j];
				chunk[k++] = (c < ' ' || c == 0x7f) ? ' ' : c;
			}
			i += clen;
		}
		sodium_bin2base64(b64, sizeof b64, chunk, k, sodium_base64_VARIANT_ORIGINAL);
		out_str(o, "=?UTF-8?B?");
		out_str(o, b64);
		out_str(o, "?=");
		*col += 12 + strlen(b64);
	}
}

/* The longest run of bytes without a space: a word folding cannot split. */
static size_t longest_word(const char *s)
{
	size_t best = 0, n;

	while (*s) {
		n = strcspn(s, " ");
		if (n > best)
			best = n;
		s += n;
		s += *s == ' ';
	}
	return best;
}

/* Unstructured text (a subject): as it is when plain ASCII, folded at
 * spaces to keep lines short; encoded words otherwise, and when a word is
 * too long for any line (RFC 5322 2.1.1: at most 998 bytes). */
static void put_unstructured(struct out *o, const char *s, size_t *col)
{
	const char *p = s;

	if (needs_encoding(s) || strstr(s, "=?") || *col + 1 + longest_word(s) > LINE_MAX_HARD) {
		put_encoded_words(o, s, col);
		return;
	}
	while (*p) {
		size_t w = strcspn(p + 1, " ") + 1; /* a space and the word after it */

		if (p != s && *p == ' ' && *col + w > LINE_MAX_SOFT) {
			out_str(o, "\r\n");
			*col = 0;
		}
		out_put(o, p, w);
		*col += w;
		p += w;
	}
}

/* A display name: a quoted string when short plain ASCII, else encoded
 * words (which fold). */
static void put_display_name(struct out *o, const char *name, size_t *col)
{
	const char *c;

	if (needs_encoding(name) || strlen(name) > 60) {
		put_encoded_words(o, name, col);
		return;
	}
	out_put(o, "\"", 1);
	for (c = name; *c; c++) {
		if (*c == '"' || *c == '\\') {
			out_put(o, "\\", 1);
			(*col)++;
		}
		out_put(o, c, 1);
	}
	out_put(o, "\"", 1);
	*col += strlen(name) + 2;
}

static void put_mailbox(struct out *o, const char *name, const char *addr, size_t col)
{
	if (name && *name) {
		put_display_name(o, name, &col);
		out_str(o, col + 3 + strlen(addr) > LINE_MAX_SOFT ? "\r\n <" : " <");
		out_str(o, addr);
		out_str(o, ">");
	} else {
		out_str(o, addr);
	}
}

/* The display name of a From value, trimmed, or "" (into buf). */
static void from_name(const char *from, char *buf, size_t len)
{
	const char *lt = strrchr(from, '<');
	size_t a = 0, b;

	buf[0] = '\0';
	if (!lt)
		return;
	b = (size_t)(lt - from);
	while (a < b && (from[a] == ' ' || from[a] == '\t'))
		a++;
	while (b > a && (from[b - 1] == ' ' || from[b - 1] == '\t'))
		b--;
	if (b - a >= 2 && from[a] == '"' && from[b - 1] == '"') {
		a++;
		b--;
	}
	if (b - a >= len)
		b = a + len - 1;
	memcpy(buf, from + a, b - a);
	buf[b - a] = '\0';
}

/* ---- body ------------------------------------------------------------------ */

/* Quoted-printable (RFC 2045 6.7) with CRLF line ends, soft breaks keeping
 * lines within 76 characters, trailing white space and a leading '.'
 * encoded. */
static void put_quoted_printable(struct out *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		char enc[4];
		size_t elen;
		int at_eol;

		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n') {
			out_str(o, "\r\n");
			col = 0;
			continue;
		}
		at_eol = p[1] == '\0' || p[1] == '\n' || (p[1] == '\r' && p[2] == '\n');
		if ((*p >= 33 && *p <= 126 && *p != '=' && !(*p == '.' && col == 0)) ||
		    ((*p == ' ' || *p == '\t') && !at_eol)) {
			enc[0] = (char)*p;
			elen = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 15];
			elen = 3;
		}
		/* room for the soft break '=' at the end of a line */
		if (col + elen > 75 && !(at_eol && col + elen <= 76)) {
			out_str(o, "=\r\n");
			col = 0;
			if (enc[0] == '.' && elen == 1) {
				memcpy(enc, "=2E", 3);
				elen = 3;
			}
		}
		out_put(o, enc, elen);
		col += elen;
	}
	if (col > 0)
		out_str(o, "\r\n");
}

int smtp_format(const struct smtp_message *m, char **out, size_t *len, struct err *err)
{
	struct out o = {0};
	char addr[SMTP_ADDRESS_MAX + 1], name[256], date[64];
	struct tm tm;
	size_t col;
	int rc;

	*out = NULL;
	*len = 0;
	rc = smtp_from_address(m->from, addr, sizeof addr, err);
	if (rc)
		return rc;
	if (!smtp_address_valid(m->to_address))
		return err_set(err, AIRLOCK_EINVAL, "'%s' is not a valid e-mail address",
			       m->to_address ? m->to_address : "");
	if (!m->subject || strchr(m->subject, '\n') || strchr(m->subject, '\r'))
		return err_set(err, AIRLOCK_EINVAL, "subject must be one line");
	if (!message_id_valid(m->message_id))
		return err_set(err, AIRLOCK_EINVAL,
			       "message id must be <...@...>, at most %d bytes, no spaces",
			       MESSAGE_ID_MAX);
	gmtime_r(&m->date, &tm);
	/* the C locale's day and month names, as RFC 5322 wants */
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	out_str(&o, "Message-ID: ");
	out_str(&o, m->message_id);
	out_str(&o, "\r\nDate: ");
	out_str(&o, date);
	out_str(&o, "\r\nFrom: ");
	from_name(m->from, name, sizeof name);
	put_mailbox(&o, name, addr, 6);
	out_str(&o, "\r\nTo: ");
	put_mailbox(&o, m->to_name, m->to_address, 4);
	out_str(&o, "\r\nSubject: ");
	col = 9;
	put_unstructured(&o, m->subject, &col);
	out_str(&o, "\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n");
	/* a header line stays far below RFC 5322's 998 bytes */
	if (m->draft_id && !needs_encoding(m->draft_id) && strlen(m->draft_id) <= MESSAGE_ID_MAX) {
		out_str(&o, "X-Airlock-Draft: ");
		out_str(&o, m->draft_id);
		out_str(&o, "\r\n");
	}
	out_str(&o, "\r\n");
	put_quoted_printable(&o, m->body ? m->body : "");
	if (o.failed) {
		free(o.p);
		return err_set(err, AIRLOCK_ENOMEM, "message too large or out of memory");
	}
	*out = o.p;
	*len = o.len;
	return 0;
}

/* ---- sending -------------------------------------------------------------- */

struct upload {
	const char *data;
	size_t len, off;
	int eof; /* curl has read the whole message */
};

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct upload *u = ud;
	size_t room = size * nmemb, n = u->len - u->off;

	if (n > room)
		n = room;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	if (n == 0)
		u->eof = 1;
	return n;
}

int smtp_host_valid(const char *h)
{
	size_t n;

	if (!h || !*h || (n = strlen(h)) > 253)
		return 0;
	for (; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '.' || *h == '-' || *h == ':'))
			return 0;
	return 1;
}

const char *smtp_outcome_name(enum smtp_outcome o)
{
	switch (o) {
	case SMTP_SENT:
		return "sent";
	case SMTP_RETRY:
		return "retry";
	case SMTP_REJECTED:
		return "rejected";
	case SMTP_UNKNOWN:
		return "unknown";
	}
	return "?";
}

/* What a failed transfer means for the message. The read callback tells
 * whether the whole message was handed over; after that, only an explicit
 * 4xx/5xx answer proves the relay did not take it. */
static enum smtp_outcome classify(CURLcode rc, long code, int eof)
{
	if (rc == CURLE_OK)
		return SMTP_SENT;
	if (eof && !(code >= 400 && code <= 599))
		return SMTP_UNKNOWN;
	if (code >= 500 && code <= 599)
		return SMTP_REJECTED;
	return SMTP_RETRY;
}

int smtp_send(const struct smtp_relay *r, const char *mail_from, const char *rcpt, const char *data,
	      size_t len, enum smtp_outcome *outcome, struct err *err)
{
	static int global_ready;
	char url[512], from[SMTP_ADDRESS_MAX + 3], to[SMTP_ADDRESS_MAX + 3];
	char ebuf[CURL_ERROR_SIZE];
	struct upload up = {data, len, 0, 0};
	struct curl_slist *rcpts = NULL;
	CURL *c = NULL;
	CURLcode rc;
	long code = 0, timeout;
	int ret = 0;

	*outcome = SMTP_RETRY;
	if (!smtp_host_valid(r->host))
		return err_set(err, AIRLOCK_EINVAL, "smtp host '%s' is not a host name or address",
			       r->host ? r->host : "");
	if (r->port < 1 || r->port > 65535)
		return err_set(err, AIRLOCK_EINVAL, "smtp port %d is not 1-65535", r->port);
	if (!smtp_address_valid(mail_from) || !smtp_address_valid(rcpt))
		return err_set(err, AIRLOCK_EINVAL, "invalid sender or recipient address");
	if (!global_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return err_set(err, AIRLOCK_EIO, "cannot initialise libcurl");
		global_ready = 1;
	}
	/* a cut URL would name another relay or HELO name */
	if (fmt_buf(url, sizeof url, err, "smtp relay URL",
		    strchr(r->host, ':') ? "%s://[%s]:%d/%s" : "%s://%s:%d/%s",
		    r->tls == SMTP_TLS_TLS ? "smtps" : "smtp", r->host, r->port,
		    r->helo && smtp_host_valid(r->helo) ? r->helo : "localhost"))
		return AIRLOCK_EINVAL;
	/* valid addresses are at most SMTP_ADDRESS_MAX bytes */
	(void)snprintf(from, sizeof from, "<%s>", mail_from);
	(void)snprintf(to, sizeof to, "<%s>", rcpt);
	c = curl_easy_init();
	rcpts = curl_slist_append(NULL, to);
	if (!c || !rcpts) {
		ret = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	timeout = r->timeout_seconds > 0 ? r->timeout_seconds : 60;
	ebuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 30 ? timeout : 30L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_USE_SSL,
			 r->tls == SMTP_TLS_NONE ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	if (r->username && *r->username) {
		curl_easy_setopt(c, CURLOPT_USERNAME, r->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, r->password ? r->password : "");
	}
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &up);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	*outcome = classify(rc, code, up.eof);
	if (*outcome != SMTP_SENT) {
		if (code > 0)
			err_set(err, AIRLOCK_EIO, "relay %s:%d: %s (last reply %ld)", r->host,
				r->port, ebuf[0] ? ebuf : curl_easy_strerror(rc), code);
		else
			err_set(err, AIRLOCK_EIO, "relay %s:%d: %s", r->host, r->port,
				ebuf[0] ? ebuf : curl_easy_strerror(rc));
	}
out:
	curl_slist_free_all(rcpts);
	if (c)
		curl_easy_cleanup(c);
	return ret;
}
