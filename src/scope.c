/* scope.c — INTERIM: conjunctions of field=value only. */
#include "scope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"

#define SCOPE_MAX_TERMS 16

struct scope {
	int n;
	char field[SCOPE_MAX_TERMS][256];
	char value[SCOPE_MAX_TERMS][256];
};

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n && (s[n - 1] == ' '))
		s[--n] = '\0';
	while (s[i] == ' ')
		i++;
	memmove(s, s + i, n - i + 1);
}

int scope_parse(const char *text, struct scope **out, struct err *err)
{
	struct scope *sc;
	const char *p = text, *and;
	char term[256], *eq;

	*out = NULL;
	if (!text || !*text)
		return err_set(err, AIRLOCK_EINVAL, "scope is empty");
	sc = calloc(1, sizeof *sc);
	if (!sc)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (;;) {
		size_t len;

		and = strstr(p, " AND ");
		len = and ? (size_t)(and - p) : strlen(p);
		if (len >= sizeof term || sc->n == SCOPE_MAX_TERMS) {
			free(sc);
			return err_set(err, AIRLOCK_EINVAL, "scope: too long");
		}
		memcpy(term, p, len);
		term[len] = '\0';
		eq = strchr(term, '=');
		if (!eq) {
			free(sc);
			return err_set(err, AIRLOCK_EINVAL, "scope: '%s' is not field=value", term);
		}
		*eq = '\0';
		snprintf(sc->field[sc->n], sizeof sc->field[0], "%s", term);
		snprintf(sc->value[sc->n], sizeof sc->value[0], "%s", eq + 1);
		trim(sc->field[sc->n]);
		trim(sc->value[sc->n]);
		if (!book_field_find(BOOK_ACCOUNT, sc->field[sc->n])) {
			err_set(err, AIRLOCK_EINVAL, "scope: unknown field '%s'", sc->field[sc->n]);
			free(sc);
			return AIRLOCK_EINVAL;
		}
		sc->n++;
		if (!and)
			break;
		p = and + 5;
	}
	*out = sc;
	return 0;
}

int scope_match(const struct scope *sc, json_t *account)
{
	char buf[64];
	int i;

	for (i = 0; i < sc->n; i++) {
		json_t *v = json_object_get(account, sc->field[i]);
		const char *have = NULL;

		if (json_is_string(v))
			have = json_string_value(v);
		else if (json_is_integer(v)) {
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			have = buf;
		} else if (json_is_boolean(v))
			have = json_is_true(v) ? "true" : "false";
		if (!have || strcmp(have, sc->value[i]) != 0)
			return 0;
	}
	return 1;
}

void scope_free(struct scope *sc) { free(sc); }
