/* test_smtp.c — message text (headers, encoded words, quoted-printable),
 * address checks, and how each answer of a scripted relay on 127.0.0.1 is
 * classified: sent, retry, rejected, or unknown. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "smtp.h"

static void test_addresses(void **state)
{
	static const char *const good[] = {"bob@acme.test", "a.b+tag@sub.example.co",
					   "o'neil@x-y.test", "x@a.b", NULL};
	static const char *const bad[] = {"",
					  "bob",
					  "@acme.test",
					  "bob@",
					  "bob@acme",
					  "bob@@acme.test",
					  ".bob@acme.test",
					  "bob.@acme.test",
					  "b..ob@acme.test",
					  "bob smith@acme.test",
					  "bob@acme..test",
					  "bob@-acme.test",
					  "bob@acme-.test",
					  "\"bob\"@acme.test",
					  "bob@acme.test\r\nBcc: x@y.test",
					  "bob@ac_me.test",
					  "<bob@acme.test>",
					  "bøb@acme.test",
					  NULL};
	char longlocal[80];
	int i;

	(void)state;
	for (i = 0; good[i]; i++)
		if (!smtp_address_valid(good[i]))
			fail_msg("'%s' should be valid", good[i]);
	for (i = 0; bad[i]; i++)
		if (smtp_address_valid(bad[i]))
			fail_msg("'%s' should be invalid", bad[i]);
	memset(longlocal, 'a', 65);
	memcpy(longlocal + 65, "@x.test", 8);
	assert_false(smtp_address_valid(longlocal));
	assert_false(smtp_address_valid(NULL));
}

static void test_from_address(void **state)
{
	char addr[SMTP_ADDRESS_MAX + 1];
	struct err err = {0};

	(void)state;
	assert_ok(smtp_from_address("Sales Team <sales@example.com>", addr, sizeof addr, &err),
		  &err);
	assert_string_equal(addr, "sales@example.com");
	assert_ok(smtp_from_address("sales@example.com", addr, sizeof addr, &err), &err);
	assert_string_equal(addr, "sales@example.com");
	assert_int_equal(smtp_from_address("Sales <sales@example.com", addr, sizeof addr, &err),
			 AIRLOCK_EINVAL);
	assert_string_equal(
	    err.msg, "from: 'Sales <sales@example.com' must be ADDRESS or \"Name <ADDRESS>\"");
	assert_int_equal(smtp_from_address("", addr, sizeof addr, &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "from: no sender address configured");
	assert_int_equal(smtp_from_address("<x>", addr, sizeof addr, &err), AIRLOCK_EINVAL);
	assert_string_equal(err.msg, "from: 'x' is not a valid e-mail address");
}

/* Decodes quoted-printable text with CRLF line ends back to \n text. */
static char *qp_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	while (*s) {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
			s += 3;
		} else if (s[0] == '=') {
			unsigned v;

			assert_int_equal(sscanf(s + 1, "%2X", &v), 1);
			*o++ = (char)v;
			s += 3;
		} else if (s[0] == '\r' && s[1] == '\n') {
			*o++ = '\n';
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* Decodes a folded header of encoded words; each word must be ≤ 75
 * characters and hold whole UTF-8 characters. */
static void decode_words(const char *v, char *out, size_t len)
{
	size_t o = 0;

	while (*v) {
		const char *end;
		unsigned char bin[128];
		size_t blen;

		while (*v == ' ' || *v == '\r' || *v == '\n')
			v++;
		if (!*v)
			break;
		assert_memory_equal(v, "=?UTF-8?B?", 10);
		end = strstr(v + 10, "?=");
		assert_non_null(end);
		assert_true(end + 2 - v <= 75);
		assert_int_equal(sodium_base642bin(bin, sizeof bin, v + 10, (size_t)(end - v - 10),
						   NULL, &blen, NULL,
						   sodium_base64_VARIANT_ORIGINAL),
				 0);
		assert_true(blen == 0 || (bin[0] & 0xC0) != 0x80); /* not mid-character */
		assert_true(o + blen < len);
		memcpy(out + o, bin, blen);
		o += blen;
		v = end + 2;
	}
	out[o] = '\0';
}

/* The value of header name (unfolded, raw), or fails. */
static void header(const char *msg, const char *name, char *out, size_t len)
{
	char key[64];
	const char *p, *end;
	size_t n;

	snprintf(key, sizeof key, "\r\n%s: ", name);
	if (!strncmp(msg, key + 2, strlen(key) - 2))
		p = msg + strlen(key) - 2;
	else {
		p = strstr(msg, key);
		if (!p)
			fail_msg("no %s header in:\n%s", name, msg);
		p += strlen(key);
	}
	end = p;
	while (!(end[0] == '\r' && end[1] == '\n' && end[2] != ' '))
		end++;
	n = (size_t)(end - p);
	assert_true(n < len);
	memcpy(out, p, n);
	out[n] = '\0';
}

static void check_lines(const char *msg)
{
	const char *p = msg, *nl;

	for (; *p; p = nl + 2) {
		nl = strstr(p, "\r\n");
		assert_non_null(nl); /* every line ends with CRLF */
		assert_true(nl - p <= 78);
		assert_null(memchr(p, '\n', (size_t)(nl - p))); /* no bare LF */
		assert_null(memchr(p, '\r', (size_t)(nl - p)));
	}
}

static void test_format_plain(void **state)
{
	struct smtp_message m = {0};
	struct err err = {0};
	char *msg = NULL, v[512], *body;
	size_t len;

	(void)state;
	m.from = "\"Sales Team\" <sales@example.com>";
	m.to_address = "bob@acme.test";
	m.to_name = "Bob \"the builder\" Smith";
	m.subject = "A quick question";
	m.body = "Hi Bob,\n.\n..hidden\nend with space \nand tab\t\nx=1\r\n"
		 "ünïcödé ✓\n";
	m.message_id = "<dr_1.1.abc@example.com>";
	m.date = 1795000000;
	m.draft_id = "dr_1";
	assert_ok(smtp_format(&m, &msg, &len, &err), &err);
	assert_int_equal(len, strlen(msg));
	check_lines(msg);
	header(msg, "Message-ID", v, sizeof v);
	assert_string_equal(v, "<dr_1.1.abc@example.com>");
	header(msg, "Date", v, sizeof v);
	assert_string_equal(v, "Wed, 18 Nov 2026 11:06:40 +0000");
	header(msg, "From", v, sizeof v);
	assert_string_equal(v, "\"Sales Team\" <sales@example.com>");
	header(msg, "To", v, sizeof v);
	assert_string_equal(v, "\"Bob \\\"the builder\\\" Smith\" <bob@acme.test>");
	header(msg, "Subject", v, sizeof v);
	assert_string_equal(v, "A quick question");
	header(msg, "MIME-Version", v, sizeof v);
	assert_string_equal(v, "1.0");
	header(msg, "Content-Type", v, sizeof v);
	assert_string_equal(v, "text/plain; charset=utf-8");
	header(msg, "Content-Transfer-Encoding", v, sizeof v);
	assert_string_equal(v, "quoted-printable");
	header(msg, "X-Airlock-Draft", v, sizeof v);
	assert_string_equal(v, "dr_1");
	body = strstr(msg, "\r\n\r\n");
	assert_non_null(body);
	/* no line of the body starts with '.', so no dot-stuffing is needed */
	assert_null(strstr(body, "\r\n."));
	assert_non_null(strstr(body, "=2E\r\n=2E.hidden"));
	assert_non_null(strstr(body, "space=20\r\n"));
	assert_non_null(strstr(body, "tab=09\r\n"));
	body = qp_decode(body + 4);
	assert_string_equal(body, "Hi Bob,\n.\n..hidden\nend with space \nand tab\t\nx=1\n"
				  "ünïcödé ✓\n");
	free(body);
	free(msg);
}

static void test_format_encoded_words_and_long_lines(void **state)
{
	struct smtp_message m = {0};
	struct err err = {0};
	char *msg = NULL, v[2048], dec[1024], subject[400], body[3000], *b;
	size_t len, i;

	(void)state;
	/* a long subject of 2- and 3-byte characters */
	for (len = 0, i = 0; i < 40; i++)
		len +=
		    (size_t)snprintf(subject + len, sizeof subject - len, "%s", i % 2 ? "é" : "✓");
	snprintf(subject + len, sizeof subject - len, " — fin");
	for (i = 0; i < sizeof body - 1; i++)
		body[i] = (char)('a' + i % 26);
	body[sizeof body - 1] = '\0';
	body[1000] = ' ';
	m.from = "Zoë Café <zoe@example.com>";
	m.to_address = "bob@acme.test";
	m.to_name = "Jürgen";
	m.subject = subject;
	m.body = body;
	m.message_id = "<x.1.2@example.com>";
	m.date = 0;
	assert_ok(smtp_format(&m, &msg, &len, &err), &err);
	check_lines(msg);
	header(msg, "Subject", v, sizeof v);
	assert_non_null(strstr(v, "\r\n ")); /* folded */
	decode_words(v, dec, sizeof dec);
	assert_string_equal(dec, subject);
	header(msg, "From", v, sizeof v);
	assert_non_null(strstr(v, " <zoe@example.com>"));
	*strstr(v, " <zoe@example.com>") = '\0';
	decode_words(v, dec, sizeof dec);
	assert_string_equal(dec, "Zoë Café");
	header(msg, "To", v, sizeof v);
	*strstr(v, " <bob@acme.test>") = '\0';
	decode_words(v, dec, sizeof dec);
	assert_string_equal(dec, "Jürgen");
	b = qp_decode(strstr(msg, "\r\n\r\n") + 4);
	assert_int_equal(strlen(b), strlen(body) + 1); /* a final line end is added */
	assert_memory_equal(b, body, strlen(body));
	free(b);
	free(msg);
	/* a subject that looks like an encoded word is encoded itself */
	m.subject = "=?UTF-8?B?SGk=?=";
	assert_ok(smtp_format(&m, &msg, &len, &err), &err);
	header(msg, "Subject", v, sizeof v);
	decode_words(v, dec, sizeof dec);
	assert_string_equal(dec, "=?UTF-8?B?SGk=?=");
	free(msg);
}

static void test_format_folds_long_ascii_headers(void **state)
{
	struct smtp_message m = {0};
	struct err err = {0};
	char *msg = NULL, v[1024], subject[260], name[120];
	size_t len, i, o;

	(void)state;
	for (len = 0, i = 0; len + 12 < sizeof subject; i++)
		len += (size_t)snprintf(subject + len, sizeof subject - len, "word%zu ", i);
	subject[len - 1] = '\0';
	for (i = 0; i + 1 < sizeof name; i++)
		name[i] = (char)(i % 7 == 6 ? ' ' : 'a' + i % 26);
	name[sizeof name - 1] = '\0';
	m.from = "sales@example.com";
	m.to_address = "bob@acme.test";
	m.to_name = name;
	m.subject = subject;
	m.body = "x";
	m.message_id = "<a@b>";
	assert_ok(smtp_format(&m, &msg, &len, &err), &err);
	check_lines(msg);
	header(msg, "Subject", v, sizeof v);
	assert_non_null(strstr(v, "\r\n "));
	for (i = 0, o = 0; v[i]; i++) /* unfold */
		if (!(v[i] == '\r' && v[i + 1] == '\n'))
			v[o++] = v[i];
		else
			i++;
	v[o] = '\0';
	assert_string_equal(v, subject);
	header(msg, "To", v, sizeof v);
	*strstr(v, "<bob@acme.test>") = '\0'; /* decode_words skips the fold before it */
	{
		char dec[256];

		decode_words(v, dec, sizeof dec);
		assert_string_equal(dec, name);
	}
	free(msg);
}

static void test_format_refuses_injection(void **state)
{
	struct smtp_message m = {0};
	struct err err = {0};
	char *msg = (char *)1;
	size_t len;

	(void)state;
	m.from = "sales@example.com";
	m.to_address = "bob@acme.test";
	m.subject = "Hi\r\nBcc: all@example.com";
	m.body = "x";
	m.message_id = "<a@b>";
	assert_int_equal(smtp_format(&m, &msg, &len, &err), AIRLOCK_EINVAL);
	assert_null(msg);
	assert_string_equal(err.msg, "subject must be one line");
	m.subject = "Hi";
	m.to_address = "bob@acme.test>\r\nBcc: all@example.com";
	assert_int_equal(smtp_format(&m, &msg, &len, &err), AIRLOCK_EINVAL);
	m.to_address = "bob@acme.test";
	m.message_id = "no-brackets";
	assert_int_equal(smtp_format(&m, &msg, &len, &err), AIRLOCK_EINVAL);
	/* a name with line breaks cannot break out of the To header */
	m.message_id = "<a@b>";
	m.to_name = "Bob\r\nBcc: all@example.com";
	assert_ok(smtp_format(&m, &msg, &len, &err), &err);
	check_lines(msg);
	assert_null(strstr(msg, "\r\nBcc:"));
	free(msg);
}

/* Found by fuzz_smtp: a message id (or a subject word) too long for one
 * header line made a line past RFC 5322's 998 bytes, which relays refuse
 * or cut. A long id is refused; a word too long to fold is sent as encoded
 * words, which fold anywhere. */
static void test_format_keeps_lines_within_998(void **state)
{
	struct smtp_message m = {0};
	struct err err = {0};
	char *msg = (char *)1, id[1100], subject[1300];
	size_t len;

	(void)state;
	m.from = "sales@example.com";
	m.to_address = "bob@acme.test";
	m.subject = "Hi";
	m.body = "x";
	id[0] = '<';
	memset(id + 1, 'x', 1000);
	memcpy(id + 1001, "@example.com>", 14);
	m.message_id = id;
	assert_int_equal(smtp_format(&m, &msg, &len, &err), AIRLOCK_EINVAL);
	assert_null(msg);
	m.message_id = "<a b@example.com>";
	assert_int_equal(smtp_format(&m, &msg, &len, &err), AIRLOCK_EINVAL);
	m.message_id = "<a@b>";
	memset(subject, 'y', sizeof subject - 1);
	subject[sizeof subject - 1] = '\0';
	m.subject = subject;
	assert_ok(smtp_format(&m, &msg, &len, &err), &err);
	check_lines(msg);
	assert_non_null(strstr(msg, "Subject: =?UTF-8?B?"));
	free(msg);
}

/* ---- a scripted relay ----------------------------------------------------- */

enum data_end { END_REPLY, END_CLOSE, END_SILENT };

struct script {
	int greeting;  /* 220, or 421 */
	int rcpt;      /* 250, 451, 550 */
	int data_code; /* answer to the end of the data when END_REPLY */
	enum data_end end;
};

static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	char c;

	while (n + 1 < len) {
		if (read(fd, &c, 1) != 1)
			return -1;
		buf[n++] = c;
		if (c == '\n')
			break;
	}
	buf[n] = '\0';
	return (int)n;
}

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		_exit(3);
}

/* The child: one connection, then exit. */
static void relay(int lfd, const struct script *sc)
{
	char line[1024], reply[64];
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		_exit(2);
	snprintf(reply, sizeof reply, "%d test relay\r\n", sc->greeting);
	say(fd, reply);
	if (sc->greeting != 220)
		_exit(0);
	while (read_line(fd, line, sizeof line) > 0) {
		if (!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "HELO", 4) ||
		    !strncasecmp(line, "MAIL", 4)) {
			say(fd, "250 ok\r\n");
		} else if (!strncasecmp(line, "RCPT", 4)) {
			snprintf(reply, sizeof reply, "%d rcpt\r\n", sc->rcpt);
			say(fd, reply);
		} else if (!strncasecmp(line, "DATA", 4)) {
			say(fd, "354 go ahead\r\n");
			while (read_line(fd, line, sizeof line) > 0 && strcmp(line, ".\r\n") != 0)
				;
			if (sc->end == END_CLOSE)
				_exit(0);
			if (sc->end == END_SILENT) {
				sleep(5);
				_exit(0);
			}
			snprintf(reply, sizeof reply, "%d data\r\n", sc->data_code);
			say(fd, reply);
		} else if (!strncasecmp(line, "QUIT", 4)) {
			say(fd, "221 bye\r\n");
			_exit(0);
		} else {
			say(fd, "502 no\r\n");
		}
	}
	_exit(0);
}

static enum smtp_outcome run_script(const struct script *sc, char *msg, size_t len)
{
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof a;
	struct smtp_relay r = {0};
	enum smtp_outcome out;
	struct err err = {0};
	int lfd = socket(AF_INET, SOCK_STREAM, 0), status;
	const char *data = "Subject: t\r\n\r\nhello\r\n";
	pid_t pid;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		relay(lfd, sc);
	close(lfd);
	r.host = "127.0.0.1";
	r.port = ntohs(a.sin_port);
	r.timeout_seconds = 2;
	assert_ok(
	    smtp_send(&r, "sales@example.com", "bob@acme.test", data, strlen(data), &out, &err),
	    &err);
	snprintf(msg, len, "%s", err.msg);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return out;
}

static void test_relay_answers(void **state)
{
	struct script ok = {220, 250, 250, END_REPLY};
	struct script busy = {421, 250, 250, END_REPLY};
	struct script rcpt_temp = {220, 451, 250, END_REPLY};
	struct script rcpt_perm = {220, 550, 250, END_REPLY};
	struct script data_temp = {220, 250, 451, END_REPLY};
	struct script data_perm = {220, 250, 554, END_REPLY};
	struct script closed = {220, 250, 250, END_CLOSE};
	struct script silent = {220, 250, 250, END_SILENT};
	char msg[ERR_MSG_MAX];

	(void)state;
	assert_int_equal(run_script(&ok, msg, sizeof msg), SMTP_SENT);
	assert_int_equal(run_script(&busy, msg, sizeof msg), SMTP_RETRY);
	assert_int_equal(run_script(&rcpt_temp, msg, sizeof msg), SMTP_RETRY);
	assert_non_null(strstr(msg, "(last reply 451)"));
	assert_int_equal(run_script(&rcpt_perm, msg, sizeof msg), SMTP_REJECTED);
	assert_non_null(strstr(msg, "relay 127.0.0.1:"));
	assert_int_equal(run_script(&data_temp, msg, sizeof msg), SMTP_RETRY);
	assert_int_equal(run_script(&data_perm, msg, sizeof msg), SMTP_REJECTED);
	/* the whole message went out, and no answer came: it may have arrived */
	assert_int_equal(run_script(&closed, msg, sizeof msg), SMTP_UNKNOWN);
	assert_int_equal(run_script(&silent, msg, sizeof msg), SMTP_UNKNOWN);
}

static void test_send_refuses_bad_configuration(void **state)
{
	struct smtp_relay r = {0};
	enum smtp_outcome out;
	struct err err = {0};

	(void)state;
	r.host = "127.0.0.1/x";
	r.port = 25;
	assert_int_equal(smtp_send(&r, "a@b.test", "c@d.test", "x", 1, &out, &err), AIRLOCK_EINVAL);
	r.host = "127.0.0.1";
	r.port = 0;
	assert_int_equal(smtp_send(&r, "a@b.test", "c@d.test", "x", 1, &out, &err), AIRLOCK_EINVAL);
	r.port = 25;
	assert_int_equal(smtp_send(&r, "a@b.test", "c d@d.test", "x", 1, &out, &err),
			 AIRLOCK_EINVAL);
	assert_string_equal(smtp_outcome_name(SMTP_UNKNOWN), "unknown");
}

/* A relay name and EHLO name that are each valid but together too long for
 * the URL handed to libcurl: refused with a clear error, never cut into
 * another host or EHLO name (nothing is sent). */
static void test_send_refuses_a_url_it_would_cut(void **state)
{
	struct smtp_relay r = {0};
	enum smtp_outcome out;
	struct err err = {0};
	char host[254], helo[254];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof host - 1; i++)
		host[i] = i % 5 == 4 ? ':' : 'a';
	host[sizeof host - 1] = '\0';
	for (i = 0; i < sizeof helo - 1; i++)
		helo[i] = i % 10 == 9 ? '.' : 'h';
	helo[sizeof helo - 1] = '\0';
	assert_true(smtp_host_valid(host) && smtp_host_valid(helo));
	r.host = host;
	r.helo = helo;
	r.port = 65535;
	r.tls = SMTP_TLS_TLS;
	r.timeout_seconds = 1;
	assert_int_equal(smtp_send(&r, "a@b.test", "c@d.test", "x", 1, &out, &err), AIRLOCK_EINVAL);
	assert_non_null(strstr(err.msg, "smtp relay URL is too long"));
	assert_int_not_equal(out, SMTP_SENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_from_address),
	    cmocka_unit_test(test_format_plain),
	    cmocka_unit_test(test_format_encoded_words_and_long_lines),
	    cmocka_unit_test(test_format_folds_long_ascii_headers),
	    cmocka_unit_test(test_format_refuses_injection),
	    cmocka_unit_test(test_format_keeps_lines_within_998),
	    cmocka_unit_test(test_relay_answers),
	    cmocka_unit_test(test_send_refuses_bad_configuration),
	    cmocka_unit_test(test_send_refuses_a_url_it_would_cut),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
