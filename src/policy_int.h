/* policy_int.h — what the policy_*.c files share; no other module includes
 * it (SQLite's *Int.h habit).
 *
 * policy_yaml.c reads YAML strictly (problems at FILE:LINE:COL, typed
 * values, known keys), policy_schema.c knows what the keys of airlock.yaml
 * mean, policy.c reads the file, hashes it and answers the public API. A
 * policy and everything it points to live in one arena freed by
 * policy_free(). */
#ifndef AIRLOCK_POLICY_INT_H
#define AIRLOCK_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "policy.h"

#define POLICY_FILE_MAX (1024 * 1024) /* a policy is a page of YAML, not a megabyte */
#define POLICY_PROBLEM_LEN 300
#define POLICY_PROBLEMS_MAX 200 /* past this, the rest is noise */
#define POLICY_WORKFLOWS_MAX 1000

struct policy_problem {
	int line, col; /* 1-based */
	int seq;       /* order found, to keep the sort stable */
	char msg[POLICY_PROBLEM_LEN];
};

struct policy_problems {
	struct policy_problem *v;
	int n, cap;
	int oom; /* an allocation failed: the list is incomplete */
};

/* Parses and checks len bytes of YAML read from path (the name used in the
 * policy, not reopened). Every problem found goes into pp, sorted by
 * position. *out gets the policy when there is no problem, else NULL.
 * Returns 0, or AIRLOCK_ENOMEM (then *out is NULL). */
int policy_parse(const char *path, const unsigned char *buf, size_t len, struct policy **out,
		 struct policy_problems *pp);

void policy_problems_free(struct policy_problems *pp);

/* ---- between policy_yaml.c and policy_schema.c ---- */

struct arena_block;

struct policy_impl {
	struct policy pub; /* first: a struct policy * is a struct policy_impl * */
	struct arena_block *blocks;
};

/* One parse: the document, where problems go, the policy being built. */
struct policy_ctx {
	const unsigned char *buf; /* the file's bytes, for positions given as offsets */
	size_t len;
	yaml_document_t *doc;
	struct policy_problems *pp;
	struct policy_impl *pi;
	int oom;
	/* what workflows inherit: built-in values, then `defaults` */
	int64_t ttl, pending;
	struct policy_sampling sampling;
};

/* A key and its value in a mapping; k NULL when the key is absent. typo is
 * an unknown key already reported as a likely misspelling of this one, so
 * its absence is not reported a second time. */
struct policy_kv {
	yaml_node_t *k, *v;
	yaml_node_t *typo;
};

/* Absent and not misspelled: worth a "missing" problem. */
#define POLICY_ABSENT(kv) (!(kv).k && !(kv).typo)

/* Zeroed memory that lives as long as the policy; NULL when out of memory. */
void *policy_arena_alloc(struct policy_impl *pi, size_t n);
char *policy_arena_strdup(struct policy_impl *pi, const char *s);

/* Problems at a node (NULL: 1:1), at a mark, or about a key's value (at the
 * value, or at the key when the value is empty). */
void policy_problem_at(struct policy_ctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void policy_problem_mark(struct policy_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void policy_problem_kv(struct policy_ctx *c, const struct policy_kv *kv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "KEY must be EXPECTED, not 'VALUE'" at the value. */
void policy_bad_value(struct policy_ctx *c, const struct policy_kv *kv, const char *expected);

/* 1 when walking on is pointless: the problem list is full or memory ran
 * out. Every loop over a list checks it, so aliases to a long list cannot
 * multiply the work. */
int policy_stop(const struct policy_ctx *c);

yaml_node_t *policy_node(struct policy_ctx *c, int id);
int policy_is_empty(const yaml_node_t *n);
/* A scalar's text (NULL for other nodes, or text holding a NUL byte). */
const char *policy_scalar(const yaml_node_t *n);
/* The same, only for unquoted scalars: the only ones that are numbers. */
const char *policy_plain(const yaml_node_t *n);
/* How a value reads in a message: 'text', a list, a mapping, an empty value. */
const char *policy_describe(const yaml_node_t *n, char *buf, size_t len);

/* Typed values: 0 and *out set, or -1 after a problem naming the key. */
int policy_val_int(struct policy_ctx *c, const struct policy_kv *kv, int64_t min, int64_t max,
		   const char *expected, int64_t *out);
int policy_val_bool(struct policy_ctx *c, const struct policy_kv *kv, int *out);
int policy_val_fraction(struct policy_ctx *c, const struct policy_kv *kv, double *out);
int policy_val_duration(struct policy_ctx *c, const struct policy_kv *kv, int64_t *out);
int policy_val_string(struct policy_ctx *c, const struct policy_kv *kv, const char **out);

/* " (did you mean 'x'?)" when s is a likely typo of one of names, else "". */
const char *policy_hint(char *buf, size_t len, const char *s, const char *const *names, int n);

/* Sorts a mapping into its known keys: out[i] is keys[i]'s pair (k NULL when
 * absent). Unknown, duplicate and non-text keys are problems; where names
 * the mapping in them ("in workflow 'retier'"). */
void policy_map_keys(struct policy_ctx *c, yaml_node_t *map, const char *where,
		     const char *const *keys, int nkeys, struct policy_kv *out);
/* 1 when kv's value is a mapping / a list; else a problem. */
int policy_want_map(struct policy_ctx *c, const struct policy_kv *kv, const char *expected);
int policy_want_seq(struct policy_ctx *c, const struct policy_kv *kv, const char *expected);
int policy_seq_len(const yaml_node_t *n);
int policy_map_len(const yaml_node_t *n);

/* policy_schema.c: the whole file, from its root node. */
void policy_schema_root(struct policy_ctx *c, yaml_node_t *root);

/* policy_upstream.c: the upstreams: section (policy.h's struct
 * policy_upstream). */
void policy_schema_upstreams(struct policy_ctx *c, const struct policy_kv *in);

#endif
