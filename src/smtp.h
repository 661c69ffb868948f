/* smtp.h — one e-mail message: its RFC 5322 text, and its hand-over to an
 * SMTP relay through libcurl.
 *
 * Owns: address checks, header encoding (RFC 2047 encoded words, quoted
 * display names), quoted-printable bodies, and the classification of a
 * relay's answer into sent / retry / rejected / unknown.
 *
 * Never: decides whether a message may be sent, retries, or records
 * anything: that is outreach.h, which owns exactly-once delivery. Never
 * called inside a store transaction (it blocks on the network).
 *
 * Strings returned through char ** are malloc'd; the caller frees them. */
#ifndef AIRLOCK_SMTP_H
#define AIRLOCK_SMTP_H

#include <stddef.h>
#include <time.h>

#include "err.h"

#define SMTP_ADDRESS_MAX 254

enum smtp_tls {
	SMTP_TLS_NONE,	   /* plain SMTP (a relay on localhost) */
	SMTP_TLS_STARTTLS, /* plain connect, then STARTTLS, required (port 587) */
	SMTP_TLS_TLS	   /* TLS from the first byte (smtps, port 465) */
};

struct smtp_relay {
	const char *host;
	int port;
	enum smtp_tls tls;
	const char *username; /* NULL or "": no AUTH */
	const char *password;
	long timeout_seconds; /* the whole exchange for one message */
	const char *helo;     /* the name given in EHLO; NULL = "localhost" */
};

struct smtp_message {
	const char *from;	/* "addr" or "Display Name <addr>" */
	const char *to_address; /* checked with smtp_address_valid() */
	const char *to_name;	/* may be NULL */
	const char *subject;	/* one line, UTF-8 */
	const char *body;	/* UTF-8 text; \n or \r\n line ends */
	const char *message_id; /* "<...@...>", stable across retries */
	time_t date;
	const char *draft_id; /* X-Airlock-Draft header; may be NULL */
};

enum smtp_outcome {
	SMTP_SENT,     /* the relay answered 250 to the end of the data */
	SMTP_RETRY,    /* not delivered, worth trying again (network, 4xx) */
	SMTP_REJECTED, /* not delivered, and the relay said never (5xx) */
	SMTP_UNKNOWN   /* the whole message went out but no final answer came:
			  it may or may not have been accepted */
};

/* 1 when addr is a plain addr-spec airlock will send to: dot-atom local part
 * (at most 64), '@', a domain of dot-separated letters/digits/hyphens with at
 * least one dot; no quotes, spaces or control characters. */
int smtp_address_valid(const char *addr);

/* 1 when host is a host name, an IPv4 address or an IPv6 address (no
 * brackets, ports, slashes or spaces). */
int smtp_host_valid(const char *host);

/* Splits a From value ("addr" or "Name <addr>") into its address (copied to
 * addr, size ≥ SMTP_ADDRESS_MAX + 1); AIRLOCK_EINVAL when it holds none. */
int smtp_from_address(const char *from, char *addr, size_t len, struct err *err);

/* Builds the message text, CRLF line ends, headers Message-ID, Date, From,
 * To, Subject, MIME-Version, Content-Type text/plain; charset=utf-8,
 * Content-Transfer-Encoding: quoted-printable. A body line starting with '.'
 * is encoded so no dot-stuffing is needed. */
int smtp_format(const struct smtp_message *m, char **out, size_t *len, struct err *err);

/* Hands one message to the relay for one recipient. Returns 0 with *outcome
 * set (err says why for anything but SMTP_SENT), or a negative code when the
 * message could not even be attempted (bad configuration, no memory): then
 * nothing was sent. */
int smtp_send(const struct smtp_relay *r, const char *mail_from, const char *rcpt, const char *data,
	      size_t len, enum smtp_outcome *outcome, struct err *err);

const char *smtp_outcome_name(enum smtp_outcome o);

#endif
