/* scope.c — parse, match and print the scope filter language (scope.h). */
#include "scope.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "book.h"

enum tok_kind { T_END, T_WORD, T_STRING, T_LPAREN, T_RPAREN, T_COMMA, T_OP };
enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
static const char *const op_text[] = {"=", "!=", "<", "<=", ">", ">="};

struct token {
	enum tok_kind kind;
	size_t pos; /* byte offset in the source */
	int op;	    /* T_OP */
	char *text; /* T_WORD, T_STRING: unescaped, in the parser's scratch */
};

enum node_kind { N_OR, N_AND, N_NOT, N_CMP, N_IN, N_BOOL };
enum vkind { V_NULL, V_TEXT, V_INT, V_REAL, V_BOOL };

struct value {
	enum vkind kind;
	int64_t i;
	double d;
	int b;
	int has_num, has_bool; /* custom fields: the word also reads as these */
	char *s;	       /* canonical text, owned */
};

struct node {
	enum node_kind kind;
	int k0, nk;		    /* N_OR, N_AND: kids[k0 .. k0+nk); N_NOT: kids[k0] */
	const struct book_field *f; /* NULL for custom.NAME */
	char *custom;		    /* NAME of custom.NAME, owned */
	int op;
	int negate; /* NOT IN */
	int v0, nv; /* vals[v0 .. v0+nv) */
};

struct scope {
	struct node *nodes;
	int nnodes, ncap;
	int *kids;
	int nkids, kcap;
	struct value *vals;
	int nvals, vcap;
	int root;
};

struct parser {
	const char *src;
	struct token *toks;
	int ntoks, at;
	char *scratch;
	struct scope *sc;
	int depth;
	struct err *err;
};

/* ---- errors with a position ------------------------------------------- */

static void where(const char *src, size_t pos, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < pos && src[i]; i++) {
		if (src[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)src[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
	/* a continuation byte at pos itself belongs to the previous character */
}

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	where(p->src, pos, &line, &col);
	return err_set(p->err, AIRLOCK_EINVAL, "scope:%d:%d: %s", line, col, msg);
}

static int oom(struct parser *p)
{
	return err_set(p->err, AIRLOCK_ENOMEM, "out of memory");
}

/* ---- lexer -------------------------------------------------------------- */

static int is_word_byte(unsigned char c)
{
	if (c <= ' ' || c == 0x7f)
		return 0;
	return !strchr("()=!<>,\"'", c);
}

/* C0 controls but tab, and DEL: never inside a value, quoted or not. */
static int is_control(unsigned char c)
{
	return (c < ' ' && c != '\t') || c == 0x7f;
}

static int is_keyword(const char *w)
{
	return !strcasecmp(w, "AND") || !strcasecmp(w, "OR") || !strcasecmp(w, "NOT") ||
	       !strcasecmp(w, "IN");
}

static const char *tok_desc(const struct token *t, char *buf, size_t len)
{
	switch (t->kind) {
	case T_END:
		return "the end";
	case T_LPAREN:
		return "'('";
	case T_RPAREN:
		return "')'";
	case T_COMMA:
		return "','";
	case T_OP:
		(void)snprintf(buf, len, "'%s'", op_text[t->op]);
		return buf;
	case T_STRING:
		(void)snprintf(buf, len, "\"%.60s\"", t->text);
		return buf;
	case T_WORD:
		(void)snprintf(buf, len, "'%.60s'", t->text);
		return buf;
	}
	return "?";
}

/* Splits the whole source into tokens up front: the source is at most
 * SCOPE_MAX_LEN bytes, so there are at most that many tokens, and every
 * unescaped text fits in a scratch buffer of twice the source length. */
static int lex(struct parser *p)
{
	const char *s = p->src;
	size_t n = strlen(s), i = 0, o = 0;

	p->toks = calloc(n + 1, sizeof *p->toks);
	p->scratch = malloc(2 * n + 2);
	if (!p->toks || !p->scratch)
		return oom(p);
	while (1) {
		struct token *t = &p->toks[p->ntoks];
		unsigned char c;

		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
			i++;
		t->pos = i;
		if (i >= n) {
			t->kind = T_END;
			p->ntoks++;
			return 0;
		}
		c = (unsigned char)s[i];
		if (c == '(' || c == ')' || c == ',') {
			t->kind = c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_COMMA;
			i++;
		} else if (c == '=' || c == '<' || c == '>' || c == '!') {
			t->kind = T_OP;
			if (c == '=')
				t->op = OP_EQ;
			else if (c == '!' && s[i + 1] == '=')
				t->op = OP_NE;
			else if (c == '!')
				return fail_at(p, i, "unexpected '!' (use NOT, or != to compare)");
			else if (c == '<')
				t->op = s[i + 1] == '=' ? OP_LE : OP_LT;
			else
				t->op = s[i + 1] == '=' ? OP_GE : OP_GT;
			i += (t->op == OP_EQ || t->op == OP_LT || t->op == OP_GT) ? 1 : 2;
			if (s[i] == '=' || s[i] == '<' || s[i] == '>' || s[i] == '!')
				return fail_at(p, t->pos, "unknown operator starting '%c%c'", c,
					       s[i]);
		} else if (c == '"' || c == '\'') {
			t->kind = T_STRING;
			t->text = p->scratch + o;
			for (i++; i < n && s[i] != (char)c; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				/* refused escaped too: its canonical text would not
				 * parse, and no book value holds one */
				if (is_control((unsigned char)s[i]))
					return fail_at(p, i,
						       "control character 0x%02x in a quoted value",
						       (unsigned char)s[i]);
				p->scratch[o++] = s[i];
			}
			if (i >= n)
				return fail_at(p, t->pos, "unterminated quoted value (missing %c)",
					       c);
			p->scratch[o++] = '\0';
			i++;
		} else if (is_word_byte(c)) {
			t->kind = T_WORD;
			t->text = p->scratch + o;
			while (i < n && is_word_byte((unsigned char)s[i]))
				p->scratch[o++] = s[i++];
			p->scratch[o++] = '\0';
		} else {
			return fail_at(p, i, "unexpected character 0x%02x", c);
		}
		p->ntoks++;
	}
}

/* ---- building the tree -------------------------------------------------- */

static int new_node(struct parser *p, enum node_kind kind)
{
	struct scope *sc = p->sc;

	if (sc->nnodes == sc->ncap) {
		int cap = sc->ncap ? 2 * sc->ncap : 16;
		struct node *nn = realloc(sc->nodes, (size_t)cap * sizeof *nn);

		if (!nn)
			return oom(p);
		sc->nodes = nn;
		sc->ncap = cap;
	}
	memset(&sc->nodes[sc->nnodes], 0, sizeof sc->nodes[0]);
	sc->nodes[sc->nnodes].kind = kind;
	return sc->nnodes++;
}

static int push_kid(struct parser *p, int kid)
{
	struct scope *sc = p->sc;

	if (sc->nkids == sc->kcap) {
		int cap = sc->kcap ? 2 * sc->kcap : 16;
		int *nk = realloc(sc->kids, (size_t)cap * sizeof *nk);

		if (!nk)
			return oom(p);
		sc->kids = nk;
		sc->kcap = cap;
	}
	sc->kids[sc->nkids++] = kid;
	return 0;
}

static struct value *new_value(struct parser *p)
{
	struct scope *sc = p->sc;

	if (sc->nvals == sc->vcap) {
		int cap = sc->vcap ? 2 * sc->vcap : 8;
		struct value *nv = realloc(sc->vals, (size_t)cap * sizeof *nv);

		if (!nv) {
			oom(p);
			return NULL;
		}
		sc->vals = nv;
		sc->vcap = cap;
	}
	memset(&sc->vals[sc->nvals], 0, sizeof sc->vals[0]);
	return &sc->vals[sc->nvals++];
}

static struct token *peek(struct parser *p)
{
	return &p->toks[p->at];
}
static struct token *next(struct parser *p)
{
	return &p->toks[p->at < p->ntoks - 1 ? p->at++ : p->at];
}

static int peek_keyword(struct parser *p, const char *kw)
{
	struct token *t = peek(p);

	return t->kind == T_WORD && !strcasecmp(t->text, kw);
}

/* Edit distance, for "did you mean"; both words are short. */
static int distance(const char *a, const char *b)
{
	int row[65], i, j, la = (int)strlen(a), lb = (int)strlen(b);

	if (la > 64 || lb > 64)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		int diag = row[0], tmp;

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			int best = diag + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			diag = tmp;
		}
	}
	return row[lb];
}

static int unknown_field(struct parser *p, const struct token *t)
{
	const struct book_field *fs;
	const char *best = NULL;
	int n, i, d, bestd = 3;

	fs = book_fields(BOOK_ACCOUNT, &n);
	for (i = 0; i < n; i++) {
		if (fs[i].type == BOOK_JSON)
			continue;
		d = distance(t->text, fs[i].name);
		if (d < bestd && d < (int)strlen(fs[i].name)) {
			bestd = d;
			best = fs[i].name;
		}
	}
	if (best)
		return fail_at(p, t->pos, "unknown field '%.60s' (did you mean '%s'?)", t->text,
			       best);
	return fail_at(p, t->pos,
		       "unknown field '%.60s' (account fields, or custom.NAME for a custom field)",
		       t->text);
}

/* Resolves a field word to the catalogue or custom.NAME. */
static int resolve_field(struct parser *p, const struct token *t, struct node *n)
{
	const char *w = t->text;
	size_t i;

	if (t->kind != T_WORD)
		return fail_at(p, t->pos, "expected a field name");
	if (!strncmp(w, "custom.", 7)) {
		const char *name = w + 7;

		if (!*name || strlen(name) > 64)
			return fail_at(p, t->pos, "custom field name must be 1 to 64 characters");
		for (i = 0; name[i]; i++) {
			char c = name[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '_' || c == '-'))
				return fail_at(p, t->pos,
					       "custom field name '%.64s' may hold only letters, "
					       "digits, '_' and '-'",
					       name);
		}
		n->custom = strdup(name);
		return n->custom ? 0 : oom(p);
	}
	n->f = book_field_find(BOOK_ACCOUNT, w);
	if (n->f && n->f->type == BOOK_JSON)
		return fail_at(p, t->pos, "'%s' holds the custom fields: name one as custom.NAME",
			       w);
	if (!n->f)
		return unknown_field(p, t);
	return 0;
}

/* Shortest text that reads back as the same double. */
static void format_real(double d, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%.15g", d);
	if (strtod(buf, NULL) != d)
		(void)snprintf(buf, len, "%.17g", d);
}

/* What a bare word compared with a custom field also reads as: a number
 * (v->has_num, v->i or INT64_MIN when not whole, v->d) and true/false
 * (v->has_bool, v->b). The printer asks the same question to know when a
 * text value must keep its quotes. */
static void custom_word(const char *w, struct value *v)
{
	char *end;
	long long ll;
	double d;

	errno = 0;
	ll = strtoll(w, &end, 10);
	if (!errno && !*end && end != w) {
		v->has_num = 1;
		v->i = ll;
		v->d = (double)ll;
	} else {
		errno = 0;
		d = strtod(w, &end);
		if (!errno && !*end && end != w && isfinite(d)) {
			v->has_num = 1;
			v->d = d;
			v->i = INT64_MIN; /* not whole */
		}
	}
	if (!strcasecmp(w, "true") || !strcasecmp(w, "false")) {
		v->has_bool = 1;
		v->b = !strcasecmp(w, "true");
	}
}

/* Checks one value token against the node's field and stores it. */
static int parse_value(struct parser *p, struct node *n, int op)
{
	struct token *t = next(p);
	struct value *v;
	char buf[64], desc[96];
	json_t *j = NULL;
	struct err e = {0};

	if (t->kind != T_WORD && t->kind != T_STRING)
		return fail_at(p, t->pos, "expected a value, found %s",
			       tok_desc(t, desc, sizeof desc));
	if (t->kind == T_WORD && is_keyword(t->text))
		return fail_at(p, t->pos,
			       "expected a value, found the keyword %s (quote it to mean the word)",
			       t->text);
	v = new_value(p);
	if (!v)
		return AIRLOCK_ENOMEM;
	if (!n->f) {
		/* custom: the text, and whatever else the word reads as */
		v->kind = t->text[0] ? V_TEXT : V_NULL;
		/* a quoted value is text only: "03" is not the number 3 */
		if (t->kind == T_WORD)
			custom_word(t->text, v);
		if (op != OP_EQ && op != OP_NE && v->kind == V_NULL)
			return fail_at(p, t->pos, "'%s' needs a value", op_text[op]);
		v->s = strdup(t->text);
		return v->s ? 0 : oom(p);
	}
	if (book_value_parse(n->f, t->text, &j, &e))
		return e.code == AIRLOCK_ENOMEM ? oom(p) : fail_at(p, t->pos, "%s", e.msg);
	if (json_is_null(j)) {
		v->kind = V_NULL;
		v->s = strdup("");
	} else if (json_is_integer(j)) {
		v->kind = V_INT;
		v->i = json_integer_value(j);
		v->d = (double)v->i;
		(void)snprintf(buf, sizeof buf, "%lld", (long long)v->i);
		v->s = strdup(buf);
	} else if (json_is_real(j)) {
		v->kind = V_REAL;
		v->d = json_real_value(j);
		format_real(v->d, buf, sizeof buf);
		v->s = strdup(buf);
	} else if (json_is_boolean(j)) {
		v->kind = V_BOOL;
		v->b = json_is_true(j);
		v->s = strdup(v->b ? "true" : "false");
	} else {
		v->kind = V_TEXT;
		v->s = strdup(json_string_value(j));
	}
	json_decref(j);
	if (!v->s)
		return oom(p);
	if (op != OP_EQ && op != OP_NE && v->kind == V_NULL)
		return fail_at(p, t->pos, "'%s' needs a value", op_text[op]);
	return 0;
}

static int parse_in_list(struct parser *p, struct node *nd, int at)
{
	struct token *t = next(p);
	int rc;

	if (t->kind != T_LPAREN)
		return fail_at(p, t->pos, "expected '(' after IN");
	p->sc->nodes[at].v0 = p->sc->nvals;
	for (;;) {
		rc = parse_value(p, nd, OP_EQ);
		if (rc)
			return rc;
		nd = &p->sc->nodes[at];
		nd->nv++;
		t = next(p);
		if (t->kind == T_RPAREN)
			return 0;
		if (t->kind != T_COMMA) {
			char desc[96];

			return fail_at(p, t->pos, "expected ',' or ')' in the IN list, found %s",
				       tok_desc(t, desc, sizeof desc));
		}
	}
}

/* FIELD op VALUE | FIELD [NOT] IN (...) | FIELD */
static int parse_pred(struct parser *p)
{
	struct token *ft = next(p), *t;
	struct node tmp = {0};
	int at, rc;

	rc = resolve_field(p, ft, &tmp);
	if (rc)
		return rc;
	at = new_node(p, N_CMP);
	if (at < 0) {
		free(tmp.custom);
		return at;
	}
	p->sc->nodes[at].f = tmp.f;
	p->sc->nodes[at].custom = tmp.custom;
	t = peek(p);
	if (t->kind == T_OP) {
		struct node *nd = &p->sc->nodes[at];
		int op = t->op;

		next(p);
		if (op >= OP_LT && nd->f && nd->f->type != BOOK_INT && nd->f->type != BOOK_REAL &&
		    nd->f->type != BOOK_TIME)
			return fail_at(p, t->pos,
				       "'%s' needs a number or date field; %s is not one",
				       op_text[op], nd->f->name);
		nd->op = op;
		nd->v0 = p->sc->nvals;
		nd->nv = 1;
		rc = parse_value(p, nd, op);
		return rc ? rc : at;
	}
	if (peek_keyword(p, "IN") ||
	    (peek_keyword(p, "NOT") && p->at + 1 < p->ntoks && p->toks[p->at + 1].kind == T_WORD &&
	     !strcasecmp(p->toks[p->at + 1].text, "IN"))) {
		p->sc->nodes[at].kind = N_IN;
		if (peek_keyword(p, "NOT")) {
			p->sc->nodes[at].negate = 1;
			next(p);
		}
		next(p);
		rc = parse_in_list(p, &p->sc->nodes[at], at);
		return rc ? rc : at;
	}
	if (tmp.f && tmp.f->type != BOOK_BOOL)
		return fail_at(p, ft->pos, "%s needs a comparison, such as %s=VALUE", tmp.f->name,
			       tmp.f->name);
	p->sc->nodes[at].kind = N_BOOL;
	return at;
}

static int parse_or(struct parser *p);

static int parse_unary(struct parser *p)
{
	struct token *t = peek(p);
	char desc[96];
	int at, kid, rc;

	if ((peek_keyword(p, "NOT") || t->kind == T_LPAREN) && ++p->depth > SCOPE_MAX_DEPTH)
		return fail_at(p, t->pos, "nested too deeply (at most %d levels)", SCOPE_MAX_DEPTH);
	if (peek_keyword(p, "NOT")) {
		next(p);
		kid = parse_unary(p);
		if (kid < 0)
			return kid;
		at = new_node(p, N_NOT);
		if (at < 0)
			return at;
		p->sc->nodes[at].k0 = p->sc->nkids;
		p->sc->nodes[at].nk = 1;
		rc = push_kid(p, kid);
		p->depth--;
		return rc ? rc : at;
	}
	if (t->kind == T_LPAREN) {
		next(p);
		kid = parse_or(p);
		if (kid < 0)
			return kid;
		if (peek(p)->kind != T_RPAREN) {
			int line, col;

			where(p->src, t->pos, &line, &col);
			return fail_at(p, peek(p)->pos,
				       "expected ')' to close the '(' at %d:%d, found %s", line,
				       col, tok_desc(peek(p), desc, sizeof desc));
		}
		next(p);
		p->depth--;
		return kid;
	}
	if (t->kind != T_WORD || is_keyword(t->text))
		return fail_at(p, t->pos, "expected a field, NOT or '(', found %s",
			       tok_desc(t, desc, sizeof desc));
	return parse_pred(p);
}

/* Parses `sub { KW sub }` into one n-ary node; a kid of the same kind (from
 * parentheses) is spliced in, so equal meanings get equal trees. */
static int parse_list(struct parser *p, const char *kw, enum node_kind kind,
		      int (*sub)(struct parser *))
{
	int *tmp = NULL, n = 0, cap = 0, kid, at, i, j, rc = 0;

	for (;;) {
		kid = sub(p);
		if (kid < 0) {
			rc = kid;
			goto out;
		}
		if (n == cap) {
			int ncap = cap ? 2 * cap : 8;
			int *nt = realloc(tmp, (size_t)ncap * sizeof *nt);

			if (!nt) {
				rc = oom(p);
				goto out;
			}
			tmp = nt;
			cap = ncap;
		}
		tmp[n++] = kid;
		if (!peek_keyword(p, kw))
			break;
		next(p);
	}
	if (n == 1) {
		rc = tmp[0];
		goto out;
	}
	at = new_node(p, kind);
	if (at < 0) {
		rc = at;
		goto out;
	}
	p->sc->nodes[at].k0 = p->sc->nkids;
	for (i = 0; i < n; i++) {
		const struct node *k = &p->sc->nodes[tmp[i]];

		if (k->kind == kind) {
			int k0 = k->k0, nk = k->nk;

			for (j = 0; j < nk && rc == 0; j++)
				rc = push_kid(p, p->sc->kids[k0 + j]);
		} else {
			rc = push_kid(p, tmp[i]);
		}
		if (rc)
			goto out;
	}
	p->sc->nodes[at].nk = p->sc->nkids - p->sc->nodes[at].k0;
	rc = at;
out:
	free(tmp);
	return rc;
}

static int parse_and(struct parser *p)
{
	return parse_list(p, "AND", N_AND, parse_unary);
}
static int parse_or(struct parser *p)
{
	return parse_list(p, "OR", N_OR, parse_and);
}

/* The canonical text may be longer than the source (spaces after commas,
 * escapes): a scope whose canonical text would not parse again is refused
 * here, so every accepted scope can be stored and read back. */
static int check_canonical_len(const struct scope *sc, struct err *err)
{
	char *c = scope_to_string(sc);
	size_t len;

	if (!c)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	len = strlen(c);
	free(c);
	if (len > SCOPE_MAX_LEN)
		return err_set(err, AIRLOCK_EINVAL,
			       "scope is too long once written out canonically (%zu bytes, at "
			       "most %d)",
			       len, SCOPE_MAX_LEN);
	return 0;
}

int scope_parse(const char *text, struct scope **out, struct err *err)
{
	struct parser p = {0};
	char desc[96];
	size_t len;
	int rc;

	*out = NULL;
	if (!text)
		return err_set(err, AIRLOCK_EINVAL, "scope is missing");
	len = strnlen(text, SCOPE_MAX_LEN + 1);
	if (len > SCOPE_MAX_LEN)
		return err_set(err, AIRLOCK_EINVAL, "scope is too long (more than %d bytes)",
			       SCOPE_MAX_LEN);
	p.src = text;
	p.err = err;
	p.sc = calloc(1, sizeof *p.sc);
	if (!p.sc)
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	rc = lex(&p);
	if (rc)
		goto out;
	if (p.toks[0].kind == T_END) {
		rc = err_set(err, AIRLOCK_EINVAL, "scope is empty");
		goto out;
	}
	rc = parse_or(&p);
	if (rc < 0)
		goto out;
	p.sc->root = rc;
	rc = 0;
	if (peek(&p)->kind != T_END) {
		struct token *t = peek(&p);
		const struct token *prev = &p.toks[p.at - 1];

		if (t->kind == T_WORD && !is_keyword(t->text) &&
		    (prev->kind == T_WORD || prev->kind == T_STRING))
			rc = fail_at(
			    &p, t->pos,
			    "unexpected %s: quote a value that holds spaces (\"New York\"), "
			    "or join conditions with AND / OR",
			    tok_desc(t, desc, sizeof desc));
		else
			rc = fail_at(&p, t->pos, "unexpected %s", tok_desc(t, desc, sizeof desc));
	}
	if (rc == 0)
		rc = check_canonical_len(p.sc, err);
out:
	free(p.toks);
	free(p.scratch);
	if (rc) {
		scope_free(p.sc);
		return rc;
	}
	*out = p.sc;
	return 0;
}

void scope_free(struct scope *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < s->nnodes; i++)
		free(s->nodes[i].custom);
	for (i = 0; i < s->nvals; i++)
		free(s->vals[i].s);
	free(s->nodes);
	free(s->kids);
	free(s->vals);
	free(s);
}

int scope_fields(const struct scope *s, json_t *names)
{
	int i;

	for (i = 0; s && i < s->nnodes; i++) {
		const struct node *n = &s->nodes[i];

		/* each comparison's field, as field_of() reads it */
		if ((n->kind == N_CMP || n->kind == N_IN || n->kind == N_BOOL) &&
		    json_object_set_new(names, n->f ? n->f->name : "custom", json_true()))
			return AIRLOCK_ENOMEM;
	}
	return 0;
}

/* ---- matching (no allocation) ------------------------------------------- */

static json_t *field_of(const struct node *n, json_t *acct)
{
	json_t *c;

	if (n->f)
		return json_object_get(acct, n->f->name);
	c = json_object_get(acct, "custom");
	return json_is_object(c) ? json_object_get(c, n->custom) : NULL;
}

static int ord3(double a, double b)
{
	return a < b ? -1 : a > b;
}
static int ord3i(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* Compares the account's value v with x: returns 1 and sets *ord (-1, 0, 1)
 * when the two are comparable, 0 when they are not (missing value, wrong
 * type). */
static int compare(const struct node *n, json_t *v, const struct value *x, int *ord)
{
	int text_ci = n->f ? n->f->type == BOOK_TEXT : 1;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		if (x->kind == V_INT || x->kind == V_REAL || x->kind == V_BOOL || x->kind == V_NULL)
			return 0;
		*ord = text_ci ? strcasecmp(json_string_value(v), x->s)
			       : strcmp(json_string_value(v), x->s);
		*ord = (*ord > 0) - (*ord < 0);
		return 1;
	}
	if (json_is_integer(v)) {
		if (n->f && n->f->type == BOOK_BOOL && x->kind == V_BOOL) {
			*ord = (json_integer_value(v) != 0) == x->b ? 0 : 1;
			return 1;
		}
		if (x->kind == V_INT || (x->has_num && x->i != INT64_MIN)) {
			*ord = ord3i(json_integer_value(v), x->i);
			return 1;
		}
		if (x->kind == V_REAL || x->has_num) {
			*ord = ord3((double)json_integer_value(v), x->d);
			return 1;
		}
		return 0;
	}
	if (json_is_real(v)) {
		if (x->kind == V_INT || x->kind == V_REAL || x->has_num) {
			*ord = ord3(json_real_value(v), x->d);
			return 1;
		}
		return 0;
	}
	if (json_is_boolean(v)) {
		if (x->kind == V_BOOL || x->has_bool) {
			*ord = json_is_true(v) == x->b ? 0 : 1;
			return 1;
		}
		return 0;
	}
	return 0;
}

static int equal(const struct node *n, json_t *v, const struct value *x)
{
	int ord;

	if (x->kind == V_NULL)
		return !v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v));
	return compare(n, v, x, &ord) && ord == 0;
}

static int eval(const struct scope *s, int i, json_t *acct)
{
	const struct node *n = &s->nodes[i];
	json_t *v;
	int k, ord;

	switch (n->kind) {
	case N_OR:
		for (k = 0; k < n->nk; k++)
			if (eval(s, s->kids[n->k0 + k], acct))
				return 1;
		return 0;
	case N_AND:
		for (k = 0; k < n->nk; k++)
			if (!eval(s, s->kids[n->k0 + k], acct))
				return 0;
		return 1;
	case N_NOT:
		return !eval(s, s->kids[n->k0], acct);
	case N_BOOL:
		v = field_of(n, acct);
		return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
	case N_IN:
		v = field_of(n, acct);
		for (k = 0; k < n->nv; k++)
			if (equal(n, v, &s->vals[n->v0 + k]))
				return !n->negate;
		return n->negate;
	case N_CMP:
		v = field_of(n, acct);
		if (n->op == OP_EQ)
			return equal(n, v, &s->vals[n->v0]);
		if (n->op == OP_NE)
			return !equal(n, v, &s->vals[n->v0]);
		if (!compare(n, v, &s->vals[n->v0], &ord))
			return 0;
		switch (n->op) {
		case OP_LT:
			return ord < 0;
		case OP_LE:
			return ord <= 0;
		case OP_GT:
			return ord > 0;
		case OP_GE:
			return ord >= 0;
		}
	}
	return 0;
}

int scope_match(const struct scope *s, json_t *account)
{
	if (!s || !json_is_object(account))
		return 0;
	return eval(s, s->root, account);
}

/* ---- printing ----------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Writes v bare when it reads back as the same value, else quoted. For a
 * custom field a bare word also reads as a number or true/false, so text
 * that was quoted ("03") keeps its quotes. */
static void put_value(struct buf *b, const struct node *n, const struct value *v)
{
	const char *c, *s = v->s;
	int quote = !*s || is_keyword(s);

	if (!n->f && !quote) {
		struct value bare = {0};

		custom_word(s, &bare);
		quote = bare.has_num != v->has_num || bare.has_bool != v->has_bool;
	}

	for (c = s; *c && !quote; c++)
		if (!is_word_byte((unsigned char)*c))
			quote = 1;
	if (!quote) {
		puts_(b, s);
		return;
	}
	put(b, "\"", 1);
	for (c = s; *c; c++) {
		if (*c == '"' || *c == '\\')
			put(b, "\\", 1);
		put(b, c, 1);
	}
	put(b, "\"", 1);
}

static void put_field(struct buf *b, const struct node *n)
{
	if (n->f) {
		puts_(b, n->f->name);
	} else {
		puts_(b, "custom.");
		puts_(b, n->custom);
	}
}

enum { PREC_OR = 1, PREC_AND = 2, PREC_NOT = 3, PREC_ATOM = 4 };

static void put_node(struct buf *b, const struct scope *s, int i, int parent)
{
	const struct node *n = &s->nodes[i];
	int k, prec = n->kind == N_OR	 ? PREC_OR
		      : n->kind == N_AND ? PREC_AND
		      : n->kind == N_NOT ? PREC_NOT
					 : PREC_ATOM;

	if (prec < parent)
		put(b, "(", 1);
	switch (n->kind) {
	case N_OR:
	case N_AND:
		for (k = 0; k < n->nk; k++) {
			if (k)
				puts_(b, n->kind == N_OR ? " OR " : " AND ");
			put_node(b, s, s->kids[n->k0 + k], prec);
		}
		break;
	case N_NOT:
		puts_(b, "NOT ");
		put_node(b, s, s->kids[n->k0], PREC_NOT);
		break;
	case N_BOOL:
		put_field(b, n);
		break;
	case N_CMP:
		put_field(b, n);
		puts_(b, op_text[n->op]);
		put_value(b, n, &s->vals[n->v0]);
		break;
	case N_IN:
		put_field(b, n);
		puts_(b, n->negate ? " NOT IN (" : " IN (");
		for (k = 0; k < n->nv; k++) {
			if (k)
				puts_(b, ", ");
			put_value(b, n, &s->vals[n->v0 + k]);
		}
		put(b, ")", 1);
		break;
	}
	if (prec < parent)
		put(b, ")", 1);
}

char *scope_to_string(const struct scope *s)
{
	struct buf b = {0};

	if (!s)
		return NULL;
	put_node(&b, s, s->root, 0);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
