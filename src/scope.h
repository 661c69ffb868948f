/* scope.h — a small filter language over account fields: the audience of an
 * outreach draft and the declared scope of a proposal.
 *
 *   segment=mid-market AND region=EMEA
 *   lifecycle=prospect AND segment IN (smb, mid-market)
 *   tier<=2 AND NOT do_not_contact
 *   (region="New York" OR region!=EMEA) AND custom.plan=gold
 *
 * Grammar (keywords AND, OR, NOT, IN are case-insensitive; NOT binds tighter
 * than AND, AND tighter than OR):
 *   expr    := and { OR and }
 *   and     := unary { AND unary }
 *   unary   := NOT unary | '(' expr ')' | pred
 *   pred    := FIELD op VALUE | FIELD [NOT] IN '(' VALUE {',' VALUE} ')' | FIELD
 *   op      := = | != | < | <= | > | >=
 *   VALUE   := bare word (mid-market, 2, 2026-01-31) | "quoted" | 'quoted'
 * FIELD is an account field of the book catalogue (book_field_find) or
 * custom.NAME. Values are checked against the field's type and allowed
 * values when parsed; < <= > >= need a number or date field; a bare FIELD is
 * only for yes/no fields ("do_not_contact" means do_not_contact=true).
 *
 * Matching: text comparisons ignore ASCII case, enum values are exact; a
 * missing or null field is equal only to "" (region=""), so `!=` and NOT IN
 * are true for it and < <= > >= false. custom.NAME compares by the JSON type
 * the account holds (string, number or true/false).
 *
 * Owns: the parsed tree (struct scope), freed by scope_free().
 * Never: touches the store; scope_match() never allocates, so it can run on
 * every item of every proposal.
 *
 * Bounded: text of at most SCOPE_MAX_LEN bytes, at most SCOPE_MAX_DEPTH
 * nested parentheses or NOTs. */
#ifndef AIRLOCK_SCOPE_H
#define AIRLOCK_SCOPE_H

#include <jansson.h>

#include "err.h"

#define SCOPE_MAX_LEN 4096
#define SCOPE_MAX_DEPTH 32

struct scope;

/* Parses text into *out (the caller frees it with scope_free). On failure
 * *out is NULL, the return is AIRLOCK_EINVAL (or AIRLOCK_ENOMEM) and err
 * says what and where: "scope:1:19: unknown field 'regoin' (did you mean
 * 'region'?)". Columns count characters from 1. */
int scope_parse(const char *text, struct scope **out, struct err *err);

/* 1 when the account (a JSON object as book_get() returns it) is inside the
 * scope, else 0. A NULL or non-object account matches nothing. */
int scope_match(const struct scope *s, json_t *account);

void scope_free(struct scope *s);

/* Adds to names (a JSON object used as a set) the name of every account
 * field scope_match reads: a built-in field's name, "custom" for a custom
 * field. Returns 0, or AIRLOCK_ENOMEM. */
int scope_fields(const struct scope *s, json_t *names);

/* The canonical text of the scope: keywords upper case, values normalised
 * (tier<=02 → tier<=2), quoted only when needed, parentheses only where
 * precedence needs them. Parsing it again gives the same text. Returns a
 * string the caller frees with free(), or NULL when out of memory. */
char *scope_to_string(const struct scope *s);

#endif
