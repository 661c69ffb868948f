/* csv.c — RFC 4180 reader and writer (see csv.h for what is accepted). */
#include "csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CSV_INBUF 65536
#define CSV_QUOTE_EXAMPLE "(quote the field and double its quotes: \"5\"\" screen\")"

struct csv_reader {
	FILE *f;
	struct csv_limits lim;
	unsigned char in[CSV_INBUF];
	size_t ipos, ilen;
	uint64_t base; /* input offset of in[0] */
	int eof, started, failed;
	long line;     /* physical line of the next unread byte */
	long rec_line; /* line the current record starts on */

	char *buf; /* the record's fields, each NUL-terminated */
	size_t len, cap;
	size_t fstart; /* offset of the current field in buf */
	int nfields, fcap;
	size_t *off, *lens;
	char **fields;

	char **names;
	int nnames;
};

/* Bytes that end a run of plain field bytes: 1 outside quotes, 2 inside. */
static unsigned char stop[256];
static int stop_ready;

static void stop_init(void)
{
	if (stop_ready)
		return;
	stop[','] = 1;
	stop['"'] = 3;
	stop['\r'] = 3;
	stop['\n'] = 3;
	stop[0] = 3;
	stop_ready = 1;
}

int csv_reader_new(struct csv_reader **out, FILE *f, const struct csv_limits *limits,
		   struct err *err)
{
	struct csv_reader *r;

	*out = NULL;
	stop_init();
	r = calloc(1, sizeof *r);
	if (!r)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	r->f = f;
	r->lim.max_field = CSV_MAX_FIELD;
	r->lim.max_fields = CSV_MAX_FIELDS;
	r->lim.max_record = CSV_MAX_RECORD;
	if (limits)
		r->lim = *limits;
	r->line = 1;
	*out = r;
	return 0;
}

static void free_names(struct csv_reader *r)
{
	int i;

	for (i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	r->names = NULL;
	r->nnames = 0;
}

void csv_reader_free(struct csv_reader *r)
{
	if (!r)
		return;
	free_names(r);
	free(r->buf);
	free(r->off);
	free(r->lens);
	free(r->fields);
	free(r);
}

uint64_t csv_reader_offset(const struct csv_reader *r) { return r->base + r->ipos; }

int csv_reader_name_columns(struct csv_reader *r, const struct csv_record *header,
			    struct err *err)
{
	int i;

	free_names(r);
	r->names = calloc((size_t)header->nfields, sizeof *r->names);
	if (!r->names)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; i < header->nfields; i++) {
		r->names[i] = strdup(header->fields[i]);
		if (!r->names[i]) {
			r->nnames = i;
			free_names(r);
			return err_set(err, AIRLOCK_ENOMEM, "out of memory");
		}
	}
	r->nnames = header->nfields;
	return 0;
}

/* "'Website' (3)" when the columns have names, else "3". */
static const char *column(const struct csv_reader *r, int idx, char *buf, size_t len)
{
	if (idx < r->nnames && r->names[idx][0])
		(void)snprintf(buf, len, "'%.200s' (%d)", r->names[idx], idx + 1);
	else
		(void)snprintf(buf, len, "%d", idx + 1);
	return buf;
}

/* Stops the reader for good with "LINE: what" (LINE = the record's). */
static int fail(struct csv_reader *r, struct err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct csv_reader *r, struct err *err, int code, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->failed = 1;
	return err_set(err, code, "%ld: %s", r->rec_line, msg);
}

/* 1 when a byte is available at in[ipos], 0 at the end of input. */
static int fill(struct csv_reader *r, struct err *err)
{
	if (r->ipos < r->ilen)
		return 1;
	if (r->eof)
		return 0;
	r->base += r->ilen;
	r->ipos = 0;
	r->ilen = fread(r->in, 1, sizeof r->in, r->f);
	if (r->ilen == 0) {
		if (ferror(r->f))
			return fail(r, err, AIRLOCK_EIO, "cannot read: %s", strerror(errno));
		r->eof = 1;
		return 0;
	}
	return 1;
}

/* Consumes the line break starting with c (CR, LF or CRLF) as one line. */
static int eat_newline(struct csv_reader *r, int c, struct err *err)
{
	int rc;

	r->ipos++;
	r->line++;
	if (c == '\r') {
		rc = fill(r, err);
		if (rc < 0)
			return rc;
		if (rc > 0 && r->in[r->ipos] == '\n')
			r->ipos++;
	}
	return 0;
}

static int append(struct csv_reader *r, const void *p, size_t n, struct err *err)
{
	char cb[256];
	size_t need;
	char *nb;

	if (r->len - r->fstart + n > r->lim.max_field)
		return fail(r, err, AIRLOCK_EINVAL, "column %s: field is longer than %zu bytes",
			    column(r, r->nfields - 1, cb, sizeof cb), r->lim.max_field);
	need = r->len + n + 1; /* room for the field's NUL */
	if (need > r->lim.max_record)
		return fail(r, err, AIRLOCK_EINVAL, "record is longer than %zu bytes",
			    r->lim.max_record);
	if (need > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;

		while (cap < need)
			cap *= 2;
		nb = realloc(r->buf, cap);
		if (!nb)
			return fail(r, err, AIRLOCK_ENOMEM, "out of memory");
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	return 0;
}

static int field_begin(struct csv_reader *r, struct err *err)
{
	if (r->nfields >= r->lim.max_fields)
		return fail(r, err, AIRLOCK_EINVAL, "more than %d columns", r->lim.max_fields);
	if (r->nfields == r->fcap) {
		int cap = r->fcap ? r->fcap * 2 : 32;
		size_t *o, *l;
		char **fl;

		o = realloc(r->off, (size_t)cap * sizeof *o);
		if (o)
			r->off = o;
		l = realloc(r->lens, (size_t)cap * sizeof *l);
		if (l)
			r->lens = l;
		fl = realloc(r->fields, (size_t)cap * sizeof *fl);
		if (fl)
			r->fields = fl;
		if (!o || !l || !fl)
			return fail(r, err, AIRLOCK_ENOMEM, "out of memory");
		r->fcap = cap;
	}
	r->fstart = r->len;
	r->off[r->nfields++] = r->len;
	return 0;
}

static int field_end(struct csv_reader *r, struct err *err)
{
	char cb[256];
	size_t n = r->len - r->fstart, bad;
	int rc;

	/* makes sure the NUL fits, and that buf is allocated: an empty first
	 * field has appended nothing, and NULL + 0 is undefined */
	rc = append(r, "", 0, err);
	if (rc)
		return rc;
	if (!csv_utf8_valid(r->buf + r->fstart, n, &bad))
		return fail(r, err, AIRLOCK_EINVAL,
			    "column %s: invalid UTF-8 at byte %zu of the field (save the file as "
			    "UTF-8)",
			    column(r, r->nfields - 1, cb, sizeof cb), bad + 1);
	r->lens[r->nfields - 1] = n;
	r->buf[r->len++] = '\0';
	return 0;
}

/* Reads an unquoted field up to its end; *end gets ',', '\n' or EOF. */
static int read_plain(struct csv_reader *r, int *end, struct err *err)
{
	char cb[256];
	const unsigned char *p, *q, *e;
	int rc;

	for (;;) {
		rc = fill(r, err);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			*end = EOF;
			return 0;
		}
		p = r->in + r->ipos;
		e = r->in + r->ilen;
		for (q = p; q < e && !stop[*q]; q++)
			;
		if (q > p && (rc = append(r, p, (size_t)(q - p), err)))
			return rc;
		r->ipos += (size_t)(q - p);
		if (q == e)
			continue;
		switch (*q) {
		case ',':
			r->ipos++;
			*end = ',';
			return 0;
		case '\r':
		case '\n':
			*end = '\n';
			return eat_newline(r, *q, err);
		case '"':
			return fail(r, err, AIRLOCK_EINVAL,
				    "column %s: stray quote in an unquoted field " CSV_QUOTE_EXAMPLE,
				    column(r, r->nfields - 1, cb, sizeof cb));
		default:
			return fail(r, err, AIRLOCK_EINVAL, "column %s: NUL byte in the field",
				    column(r, r->nfields - 1, cb, sizeof cb));
		}
	}
}

/* After a closing quote: the field must end here. */
static int after_quote(struct csv_reader *r, int *end, struct err *err)
{
	char cb[256];
	int rc = fill(r, err), c;

	if (rc < 0)
		return rc;
	if (rc == 0) {
		*end = EOF;
		return 0;
	}
	c = r->in[r->ipos];
	if (c == ',') {
		r->ipos++;
		*end = ',';
		return 0;
	}
	if (c == '\r' || c == '\n') {
		*end = '\n';
		return eat_newline(r, c, err);
	}
	return fail(r, err, AIRLOCK_EINVAL,
		    "column %s: text after the closing quote " CSV_QUOTE_EXAMPLE,
		    column(r, r->nfields - 1, cb, sizeof cb));
}

/* Reads a quoted field; the opening quote is already consumed. Line breaks
 * inside are kept byte for byte and counted as lines. */
static int read_quoted(struct csv_reader *r, int *end, struct err *err)
{
	char cb[256];
	const unsigned char *p, *q, *e;
	long opened = r->line;
	int rc, c;

	for (;;) {
		rc = fill(r, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return fail(r, err, AIRLOCK_EINVAL,
				    "column %s: the quote opened on line %ld is never closed "
				    "(the file ends inside a quoted field)",
				    column(r, r->nfields - 1, cb, sizeof cb), opened);
		p = r->in + r->ipos;
		e = r->in + r->ilen;
		for (q = p; q < e && stop[*q] != 3; q++)
			;
		if (q > p && (rc = append(r, p, (size_t)(q - p), err)))
			return rc;
		r->ipos += (size_t)(q - p);
		if (q == e)
			continue;
		c = *q;
		r->ipos++;
		if (c == '"') {
			rc = fill(r, err);
			if (rc < 0)
				return rc;
			if (rc > 0 && r->in[r->ipos] == '"') {
				r->ipos++;
				if ((rc = append(r, "\"", 1, err)))
					return rc;
				continue;
			}
			return after_quote(r, end, err);
		}
		if (c == 0)
			return fail(r, err, AIRLOCK_EINVAL, "column %s: NUL byte in the field",
				    column(r, r->nfields - 1, cb, sizeof cb));
		/* CR or LF inside quotes: kept, and a CRLF pair counts once */
		if ((rc = append(r, q, 1, err)))
			return rc;
		r->line++;
		if (c == '\r') {
			rc = fill(r, err);
			if (rc < 0)
				return rc;
			if (rc > 0 && r->in[r->ipos] == '\n') {
				r->ipos++;
				if ((rc = append(r, "\n", 1, err)))
					return rc;
			}
		}
	}
}

/* Skips a UTF-8 byte order mark at the very start of the input. */
static int skip_bom(struct csv_reader *r, struct err *err)
{
	static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
	int i, rc;

	r->started = 1;
	rc = fill(r, err);
	if (rc <= 0)
		return rc;
	/* the BOM may straddle a short first read from a pipe */
	for (i = 0; i < 3; i++) {
		if (r->ipos + (size_t)i >= r->ilen) {
			size_t have = r->ilen - r->ipos, got;

			memmove(r->in, r->in + r->ipos, have);
			r->base += r->ipos;
			r->ipos = 0;
			got = fread(r->in + have, 1, sizeof r->in - have, r->f);
			r->ilen = have + got;
			if (r->ilen <= (size_t)i)
				return 0;
		}
		if (r->in[r->ipos + (size_t)i] != bom[i])
			return 0;
	}
	r->ipos += 3;
	return 0;
}

/* Skips blank lines before a record; 0 at the end of input. */
static int skip_blank(struct csv_reader *r, struct err *err)
{
	int rc, c;

	for (;;) {
		rc = fill(r, err);
		if (rc <= 0)
			return rc;
		c = r->in[r->ipos];
		if (c != '\r' && c != '\n')
			return 1;
		rc = eat_newline(r, c, err);
		if (rc)
			return rc;
	}
}

int csv_read(struct csv_reader *r, struct csv_record *rec, struct err *err)
{
	int rc, end, i;

	memset(rec, 0, sizeof *rec);
	if (r->failed)
		return err_set(err, AIRLOCK_ESTATE, "%ld: the reader stopped at an earlier error",
			       r->rec_line);
	if (!r->started && (rc = skip_bom(r, err)))
		return rc;
	rc = skip_blank(r, err);
	if (rc <= 0)
		return rc;
	r->rec_line = r->line;
	r->len = 0;
	r->nfields = 0;
	do {
		if ((rc = field_begin(r, err)))
			return rc;
		rc = fill(r, err);
		if (rc < 0)
			return rc;
		if (rc > 0 && r->in[r->ipos] == '"') {
			r->ipos++;
			rc = read_quoted(r, &end, err);
		} else
			rc = read_plain(r, &end, err);
		if (rc || (rc = field_end(r, err)))
			return rc;
	} while (end == ',');
	for (i = 0; i < r->nfields; i++)
		r->fields[i] = r->buf + r->off[i];
	rec->line = r->rec_line;
	rec->nfields = r->nfields;
	rec->fields = r->fields;
	rec->lens = r->lens;
	return CSV_RECORD;
}

int csv_utf8_valid(const char *s, size_t len, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	uint64_t w;
	uint32_t cp, min;
	unsigned c;

	while (i < len) {
		/* plain ASCII eight bytes at a time: most CSV text is */
		while (i + 8 <= len) {
			memcpy(&w, p + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= len)
			break;
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
			min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2;
			cp = c & 0x0F;
			min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else
			goto invalid;
		if (len - i <= n)
			goto invalid;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				goto invalid;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			goto invalid;
		i += n + 1;
	}
	return 1;
invalid:
	if (bad)
		*bad = i;
	return 0;
}

static int needs_quotes(const char *s, size_t n, int alone)
{
	size_t i;

	if (n == 0)
		return alone;
	if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
		return 1;
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return 1;
	return 0;
}

int csv_write_record(FILE *f, const char *const *fields, const size_t *lens, int n,
		     struct err *err)
{
	const char *s, *q;
	size_t len;
	int i;

	for (i = 0; i < n; i++) {
		s = fields[i] ? fields[i] : "";
		len = lens && fields[i] ? lens[i] : strlen(s);
		if (i > 0)
			putc(',', f);
		if (!needs_quotes(s, len, n == 1)) {
			fwrite(s, 1, len, f);
			continue;
		}
		putc('"', f);
		while (len > 0 && (q = memchr(s, '"', len)) != NULL) {
			fwrite(s, 1, (size_t)(q - s) + 1, f);
			putc('"', f);
			len -= (size_t)(q - s) + 1;
			s = q + 1;
		}
		fwrite(s, 1, len, f);
		putc('"', f);
	}
	fputs("\r\n", f);
	if (ferror(f))
		return err_set(err, AIRLOCK_EIO, "cannot write: %s", strerror(errno));
	return 0;
}
