/* text.h — what a person sees of text an agent or the book supplied.
 *
 * Owns: the one definition of "text that can steer a terminal or a reader":
 * C0 controls, DEL, C1 controls (U+0080–U+009F), bidirectional marks,
 * embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E,
 * U+2066–U+2069), line and paragraph separators (U+2028, U+2029) and bytes
 * that are not UTF-8 (overlong forms, surrogates, past U+10FFFF, stray
 * continuation bytes). Two uses of it:
 *  - at the door, text_check() refuses such text in an argument, naming it;
 *  - at every printer, text_escape() turns it into visible escapes: ESC is
 *    "\e", the other bytes below 0x80 and invalid bytes "\xHH", the code
 *    points "\uHHHH". Nothing else changes (a backslash stays a backslash).
 *
 * Never: interprets, drops or reorders what it escapes, and never touches
 * a string that has nothing to escape (ordinary non-ASCII text stays as
 * written). It knows no terminal, page or protocol; the printers do. */
#ifndef AIRLOCK_TEXT_H
#define AIRLOCK_TEXT_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

/* Flags for text_escape() and text_check(). */
#define TEXT_LINES 0x1 /* escape: keep '\n'; check: allow '\t', '\n', '\r' */

/* The escaped form of len bytes at s, NUL-terminated, malloc'd (the caller
 * frees it). NULL only when memory runs out. s may contain NUL bytes. */
char *text_escape(const char *s, size_t len, int flags);

/* The escaped form of the C string s in buf (size n ≥ 1), cut at a whole
 * escape or character when it does not fit (the cut is marked "…" when
 * there is room). Returns buf, so it can be a printf argument; s NULL gives
 * "". */
const char *text_escape_buf(char *buf, size_t n, const char *s, int flags);

/* 1 when text_escape() would change len bytes at s, else 0. */
int text_needs_escape(const char *s, size_t len, int flags);

/* Refuses text an agent must not hand a person: returns 0, or AIRLOCK_EINVAL
 * with "NAME contains control character 0xHH", "NAME contains
 * bidirectional or separator character U+HHHH" or "NAME is not valid UTF-8
 * at byte N". With TEXT_LINES tabs and line ends pass. */
int text_check(const char *name, const char *s, size_t len, int flags, struct err *err);

/* Escapes, in place, every string and object key in v for a terminal:
 * TEXT_LINES for the values of the keys named in multiline (NULL-ended,
 * may be NULL), one-line for the rest. Returns 0 or AIRLOCK_ENOMEM. */
int text_json_escape(json_t *v, const char *const *multiline);

/* json_dumps(v, flags) with the characters above that JSON leaves raw
 * (DEL, C1, bidirectional, separators) written as \u escapes: the document
 * means the same to a JSON reader and steers no terminal. malloc'd; NULL
 * when v cannot be dumped or memory runs out. */
char *text_json_dumps(const json_t *v, size_t flags);

#endif
