/* fuzz_smtp_harness.h — e-mail addresses and the message text (headers in
 * RFC 2047 encoded words, quoted-printable bodies) under fuzzing; shared by
 * fuzz/fuzz_smtp.c and tests/test_fuzz.c.
 *
 * One input: up to seven NUL-separated parts, From, To address, To name,
 * Subject, Body, Message-ID, draft id; a part left out takes a valid
 * default, so the fuzzer reaches smtp_format's encoders at once.
 * Oracles beyond the sanitizers:
 *   - an address smtp_address_valid accepts holds no byte that could end
 *     or break a header or an SMTP command (controls, space, <>()[],;:\"),
 *     fits 254 bytes with a local part of at most 64;
 *   - smtp_from_address gives an address smtp_address_valid accepts;
 *   - a formatted message: every line ends CRLF (no bare CR or LF), is at
 *     most 998 bytes, headers are printable ASCII, each header line starts
 *     with one of the headers airlock writes or folds (space); exactly one
 *     From, To, Subject, Message-ID and Date;
 *   - the Subject decodes (unfolded, encoded words joined) to the subject
 *     given, control characters as spaces;
 *   - the quoted-printable body decodes to the body given (CRLF as LF),
 *     its lines within 76 characters, none starting with '.', no white
 *     space before a line end. */
#ifndef AIRLOCK_FUZZ_SMTP_HARNESS_H
#define AIRLOCK_FUZZ_SMTP_HARNESS_H

#include <sodium.h>

#include "smtp.h"

#include "fuzz_common.h"

struct fuzz_smtp {
	int unused;
};

__attribute__((unused)) static void fuzz_smtp_init(struct fuzz_smtp *f)
{
	(void)f;
	if (sodium_init() < 0)
		fuzz_die("smtp", "sodium_init", NULL);
}

__attribute__((unused)) static void fuzz_smtp_fini(struct fuzz_smtp *f)
{
	(void)f;
}

static void fuzz_smtp_check_address(const char *a)
{
	const char *at = strrchr(a, '@'), *p;

	if (!smtp_address_valid(a))
		return;
	if (!at || strlen(a) > SMTP_ADDRESS_MAX || at - a > 64 || at == a)
		fuzz_die("smtp", "an accepted address without its shape", a);
	for (p = a; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("<>()[],;:\\\"", *p))
			fuzz_die("smtp", "an accepted address holds a byte that breaks a header", a);
}

static int fuzz_smtp_hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes the quoted-printable body [p, end) into out (CRLF → LF). */
static void fuzz_smtp_check_body(const char *p, const char *end, const char *body)
{
	char *dec = malloc((size_t)(end - p) + 1), *want = malloc(strlen(body) + 2);
	size_t n = 0, w = 0, col = 0;
	const char *b;

	if (!dec || !want)
		fuzz_die("smtp", "out of memory", NULL);
	while (p < end) {
		if (p[0] == '\r' && p + 1 < end && p[1] == '\n') {
			if (col > 76)
				fuzz_die("smtp", "a body line longer than 76", body);
			if (col > 0 && (p[-1] == ' ' || p[-1] == '\t'))
				fuzz_die("smtp", "white space before a body line end", body);
			dec[n++] = '\n';
			p += 2;
			col = 0;
			continue;
		}
		if (col == 0 && *p == '.')
			fuzz_die("smtp", "a body line starts with '.'", body);
		if (*p == '=') {
			if (p + 2 < end && p[1] == '\r' && p[2] == '\n') { /* soft break */
				if (col + 1 > 76)
					fuzz_die("smtp", "a soft-broken line longer than 76", body);
				p += 3;
				col = 0;
				continue;
			}
			if (p + 2 >= end || fuzz_smtp_hex(p[1]) < 0 || fuzz_smtp_hex(p[2]) < 0)
				fuzz_die("smtp", "a bad =XX in the body", body);
			dec[n++] = (char)(fuzz_smtp_hex(p[1]) * 16 + fuzz_smtp_hex(p[2]));
			p += 3;
			col += 3;
			continue;
		}
		if ((unsigned char)*p > 126 || ((unsigned char)*p < 32 && *p != '\t'))
			fuzz_die("smtp", "a raw byte in the quoted-printable body", body);
		dec[n++] = *p++;
		col++;
	}
	if (col > 0)
		fuzz_die("smtp", "the body does not end with CRLF", body);
	for (b = body; *b; b++) {
		if (b[0] == '\r' && b[1] == '\n')
			continue;
		want[w++] = *b;
	}
	if (w > 0 && want[w - 1] != '\n')
		want[w++] = '\n';
	if (n != w || memcmp(dec, want, n) != 0)
		fuzz_die("smtp", "the body does not decode to what was given", body);
	free(dec);
	free(want);
}

/* The unfolded Subject value decodes to the subject given. */
static void fuzz_smtp_check_subject(const char *v, const char *subject)
{
	size_t n = strlen(v), sl = strlen(subject), i, k, got = 0;
	char *unf = malloc(n + 1), *dec = malloc(n + 1), *want = malloc(sl + 1);

	if (!unf || !dec || !want)
		fuzz_die("smtp", "out of memory", NULL);
	for (i = 0, k = 0; i < n; i++) {
		if (v[i] == '\r' && v[i + 1] == '\n')
			i++;
		else
			unf[k++] = v[i];
	}
	unf[k] = '\0';
	for (i = 0; i < sl; i++)
		want[i] = ((unsigned char)subject[i] < ' ' || subject[i] == 0x7f) ? ' ' : subject[i];
	want[sl] = '\0';
	if (!strncmp(unf, "=?UTF-8?B?", 10)) {
		const char *p = unf;

		while (*p) {
			const char *e;
			size_t bl = 0;

			if (strncmp(p, "=?UTF-8?B?", 10) || !(e = strstr(p + 10, "?=")))
				fuzz_die("smtp", "a subject that is not encoded words", unf);
			if (sodium_base642bin((unsigned char *)dec + got, n - got, p + 10,
					      (size_t)(e - p - 10), NULL, &bl, NULL,
					      sodium_base64_VARIANT_ORIGINAL) != 0)
				fuzz_die("smtp", "an encoded word that is not base64", unf);
			got += bl;
			p = e + 2;
			while (*p == ' ')
				p++;
		}
		if (got != sl || memcmp(dec, want, sl) != 0)
			fuzz_die("smtp", "the encoded subject does not decode to the subject", subject);
	} else if (strcmp(unf, subject) != 0) {
		fuzz_die("smtp", "the folded subject does not unfold to the subject", subject);
	}
	free(unf);
	free(dec);
	free(want);
}

static void fuzz_smtp_check_message(const char *msg, size_t len, const char *subject,
				    const char *body)
{
	static const char *const names[] = {"Message-ID: ", "Date: ", "From: ", "To: ",
					    "Subject: ", "MIME-Version: ", "Content-Type: ",
					    "Content-Transfer-Encoding: ", "X-Airlock-Draft: "};
	int seen[9] = {0}, last = -1, i;
	const char *p = msg, *end = msg + len, *eol, *hdr_end = NULL;
	char *subj = NULL;
	size_t slen = 0;

	if (strlen(msg) != len)
		fuzz_die("smtp", "a NUL byte in the message", NULL);
	for (p = msg; p < end; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if (!eol)
			fuzz_die("smtp", "the message does not end with CRLF", msg);
		if (memchr(p, '\r', (size_t)(eol - p)) || memchr(p, '\n', (size_t)(eol - p)))
			fuzz_die("smtp", "a bare CR or LF", msg);
		if (eol - p > 998)
			fuzz_die("smtp", "a line longer than 998 bytes", msg);
		if (hdr_end)
			continue;
		if (eol == p) {
			hdr_end = eol + 2;
			continue;
		}
		for (i = 0; i < eol - p; i++)
			if ((unsigned char)p[i] < ' ' || (unsigned char)p[i] > 126)
				fuzz_die("smtp", "a header byte that is not printable ASCII", msg);
		if (*p == ' ' || *p == '\t') {
			if (last < 0)
				fuzz_die("smtp", "a folded line before any header", msg);
		} else {
			for (i = 0; i < 9; i++)
				if (!strncmp(p, names[i], strlen(names[i])))
					break;
			if (i == 9)
				fuzz_die("smtp", "a header airlock does not write", msg);
			seen[i]++;
			last = i;
		}
		if (last == 4) { /* the Subject's value, folded lines joined with CRLF */
			const char *v = *p == ' ' ? p : p + strlen(names[4]);
			size_t vl = (size_t)(eol - v) + (*p == ' ' ? 0 : 0);
			char *ns = realloc(subj, slen + vl + 3);

			if (!ns)
				fuzz_die("smtp", "out of memory", NULL);
			subj = ns;
			if (*p == ' ') {
				memcpy(subj + slen, "\r\n", 2);
				slen += 2;
			}
			memcpy(subj + slen, v, vl);
			slen += vl;
			subj[slen] = '\0';
		}
	}
	if (!hdr_end)
		fuzz_die("smtp", "no blank line after the headers", msg);
	for (i = 0; i < 5; i++)
		if (seen[i] != 1)
			fuzz_die("smtp", "a header missing or given twice", names[i]);
	fuzz_smtp_check_subject(subj ? subj : "", subject);
	free(subj);
	fuzz_smtp_check_body(hdr_end, end, body);
}

__attribute__((unused)) static void fuzz_smtp_one(struct fuzz_smtp *f, const unsigned char *data,
						  size_t size)
{
	const char *part[7] = {"Ann Example <ann@example.com>", "bob@example.org", NULL, "Hello",
			       "Hi Bob,\nshort note.\n", "<d1.1@airlock>", "d1"};
	char *copy = malloc(size + 1), *p, *end, addr[SMTP_ADDRESS_MAX + 1];
	struct smtp_message m = {0};
	struct err err = {0};
	char *msg = NULL;
	size_t len = 0;
	int i = 0;

	(void)f;
	if (!copy)
		fuzz_die("smtp", "out of memory", NULL);
	memcpy(copy, data, size);
	copy[size] = '\0';
	end = copy + size;
	for (p = copy; i < 7 && p <= end; i++) {
		part[i] = p;
		p += strlen(p) + 1;
	}
	for (i = 0; i < 7; i++)
		if (part[i])
			fuzz_smtp_check_address(part[i]);
	(void)smtp_host_valid(part[1]);
	if (smtp_from_address(part[0], addr, sizeof addr, &err) == 0 && !smtp_address_valid(addr))
		fuzz_die("smtp", "smtp_from_address gave an invalid address", addr);
	m.from = part[0];
	m.to_address = part[1];
	m.to_name = part[2];
	m.subject = part[3];
	m.body = part[4];
	m.message_id = part[5];
	m.draft_id = part[6];
	m.date = (time_t)1767225600;
	if (smtp_format(&m, &msg, &len, &err) == 0)
		fuzz_smtp_check_message(msg, len, m.subject, m.body);
	else if (!err.msg[0])
		fuzz_die("smtp", "a refusal without a message", NULL);
	free(msg);
	free(copy);
}

#endif
