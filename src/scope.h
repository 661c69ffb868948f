/* scope.h — INTERIM: a filter over account fields ("segment=smb AND
 * region=EMEA"), replaced by the full scope module when outreach lands. */
#ifndef AIRLOCK_SCOPE_H
#define AIRLOCK_SCOPE_H

#include <jansson.h>

#include "err.h"

struct scope;

int scope_parse(const char *text, struct scope **out, struct err *err);
/* 1 when the account (a book image) lies inside the scope. */
int scope_match(const struct scope *sc, json_t *account);
void scope_free(struct scope *sc);

#endif
