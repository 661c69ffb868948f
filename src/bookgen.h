/* bookgen.h — the deterministic demo book behind `airlock demo`.
 *
 * Owns: the word lists, a small seeded PRNG (splitmix64 → xoshiro256**) and
 * the rules that turn (accounts, seed) into a realistic book: fictional
 * companies with skewed segments, regions, tiers and lifecycles, their
 * contacts, and recent signals with readable details.
 *
 * The same accounts and seed give identical rows on every run and machine:
 * nothing depends on the clock, the locale or floating point (all arithmetic
 * is integer); every date is relative to BOOKGEN_EPOCH, which is also the
 * updated_at of every generated record.
 *
 * Never: writes into a database that already holds accounts, or writes other
 * than through book.h. */
#ifndef AIRLOCK_BOOKGEN_H
#define AIRLOCK_BOOKGEN_H

#include <stdint.h>

#include "err.h"
#include "store.h"

#define BOOKGEN_DEFAULT_ACCOUNTS 4000
#define BOOKGEN_DEFAULT_SEED 1
#define BOOKGEN_MAX_ACCOUNTS 1000000
#define BOOKGEN_EPOCH "2026-11-01T00:00:00Z"

struct bookgen_opts {
	int64_t accounts; /* 1 .. BOOKGEN_MAX_ACCOUNTS */
	uint64_t seed;
	/* Called every 1,000 accounts and once at the end, inside the
	 * transaction; may be NULL. */
	void (*progress)(void *ctx, int64_t done, int64_t total);
	void *progress_ctx;
};

struct bookgen_summary {
	int64_t accounts, contacts, signals;
};

/* The defaults: BOOKGEN_DEFAULT_ACCOUNTS accounts, BOOKGEN_DEFAULT_SEED. */
void bookgen_opts_init(struct bookgen_opts *o);

/* Generates the book into s in one transaction (nested in the caller's if it
 * holds one). opts NULL means the defaults; out may be NULL. A database that
 * already holds accounts is AIRLOCK_EEXIST and is left as it was; so is the
 * book after any other failure. */
int bookgen_generate(struct store *s, const struct bookgen_opts *opts, struct bookgen_summary *out,
		     struct err *err);

#endif
