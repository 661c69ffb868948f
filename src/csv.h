/* csv.h — RFC 4180 CSV: a streaming reader and a record writer.
 *
 * Owns: the byte-level format only. The reader takes bytes from a FILE* one
 * buffer at a time and hands out one record (an array of fields) per call,
 * with the physical line the record starts on, so a caller can point a user
 * at the exact place in the file. It knows nothing about headers, columns'
 * meaning or the book (that is import.h).
 *
 * Reading accepts: quoted fields with doubled quotes (""), commas and line
 * breaks (CR, LF or CRLF) inside quotes (kept as they are), record ends of
 * CR, LF or CRLF, a UTF-8 byte order mark at the very start (skipped), no
 * line break after the last record, and blank lines between records
 * (skipped: a blank line is not a record). It rejects, with
 * "LINE: what is wrong": bytes that are not UTF-8 or a NUL byte (naming the
 * column), a quote left open at the end of the file, a quote inside an
 * unquoted field, text after a closing quote, a field longer than
 * max_field, a record with more than max_fields fields or longer than
 * max_record.
 *
 * Writing quotes a field only when it must: when it holds a comma, a quote,
 * CR or LF, starts or ends with a space or tab, or starts with a byte order
 * mark; a record of one empty field is written as "" so it does not read
 * back as a blank line. Records end with CRLF, as RFC 4180 says; the reader
 * takes any line ending, so files written here read back field for field.
 *
 * Never: trims, re-encodes or otherwise changes field bytes; it reads only
 * what it is given, never seeks.
 *
 * Ownership: the reader owns the record it returns; its fields stay valid
 * until the next csv_read() or csv_reader_free(). The FILE* stays the
 * caller's (never closed here). */
#ifndef AIRLOCK_CSV_H
#define AIRLOCK_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define CSV_MAX_FIELD ((size_t)1 << 20)   /* 1 MiB per field */
#define CSV_MAX_FIELDS 1024               /* fields per record */
#define CSV_MAX_RECORD ((size_t)16 << 20) /* 16 MiB per record, all fields */

enum { CSV_EOF = 0, CSV_RECORD = 1 };

struct csv_limits {
	size_t max_field;
	int max_fields;
	size_t max_record;
};

struct csv_record {
	long line;          /* physical line (1-based) the record starts on */
	int nfields;        /* ≥ 1 */
	char **fields;      /* NUL-terminated; a field never contains a NUL byte */
	const size_t *lens; /* byte length of each field */
};

struct csv_reader;

/* Starts reading f. limits NULL means the CSV_MAX_* defaults. */
int csv_reader_new(struct csv_reader **out, FILE *f, const struct csv_limits *limits,
		   struct err *err);

/* Reads the next record into *rec: CSV_RECORD, CSV_EOF at the end of the
 * input, or a negative AIRLOCK_E* code (AIRLOCK_EINVAL for bad CSV,
 * AIRLOCK_EIO for a read error) with err saying "LINE: what is wrong". After
 * an error the reader must not be read again. */
int csv_read(struct csv_reader *r, struct csv_record *rec, struct err *err);

/* Gives the columns names, so errors say "column 'Website' (3)" rather than
 * "column 3". The names are copied. */
int csv_reader_name_columns(struct csv_reader *r, const struct csv_record *header,
			    struct err *err);

/* Bytes consumed from the input so far (for progress). */
uint64_t csv_reader_offset(const struct csv_reader *r);

void csv_reader_free(struct csv_reader *r);

/* Writes one record of n fields ending in CRLF. lens may be NULL (fields
 * are then NUL-terminated); a NULL field is written empty. AIRLOCK_EIO when
 * the stream reports a write error. */
int csv_write_record(FILE *f, const char *const *fields, const size_t *lens, int n,
		     struct err *err);

/* 1 when the bytes are valid UTF-8 (no overlongs, surrogates or code points
 * past U+10FFFF); *bad gets the offset of the first invalid byte. */
int csv_utf8_valid(const char *s, size_t len, size_t *bad);

#endif
