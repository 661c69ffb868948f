/* book_cache.h — account objects kept between pages of search_accounts
 * (book.c's own, not for other modules).
 *
 * A page of the read connector is the same few accounts' JSON over and
 * over: an agent walks the book, and walks it again. book_search_json keeps
 * each account's object here, keyed by its id and by the book's generation
 * (book_gen, schema.c migration 62: a number every UPDATE or DELETE of an
 * account moves, in the same transaction, by a trigger, whoever writes: the
 * tools, apply, undo, import, `airlock sql --write`, the sqlite3 shell). A
 * page reads its ids and the generation from its own snapshot; when every
 * id's object is kept for that generation, the page is written from here
 * and not from the columns. An insert needs no new generation: an id the
 * snapshot did not have before is not kept, and one deleted and inserted
 * again was deleted (which moved it).
 *
 * Bounded: book_cache_bytes of objects at most (one arena; when full, or
 * the generation differs, everything is dropped at once). Thread-safe (one
 * mutex, held for lookups and copies only, never while SQL runs). Nothing
 * here is an error: out of memory, an object too large, or a cache turned
 * off (book_cache_bytes = 0) each mean the page is written from its
 * columns, as it always can be. */
#ifndef AIRLOCK_BOOK_CACHE_H
#define AIRLOCK_BOOK_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* The arena's size (bytes); 0 turns the cache off. Read when the arena is
 * made or dropped: only tests change it, between pages. */
extern size_t book_cache_bytes;

/* Whether a page should look its ids up first: after pages that missed,
 * fewer pages try (each miss costs its ids' query), until a page written
 * from its columns finds every one of its objects kept. */
int book_cache_worth_trying(void);

/* Appends to *out (a buffer of cap bytes holding *len) the objects of the n
 * ids (ids[i], lens[i]) joined by ',', when every one is kept for gen; the
 * buffer is grown with realloc when needed. Returns 1 when written, 0 when
 * one is missing (nothing written), -1 when out of memory (nothing
 * written). Counts a miss for book_cache_worth_trying. */
int book_cache_write(int64_t gen, const char *const *ids, const size_t *lens, size_t n,
		     char **out, size_t *len, size_t *cap);

/* Keeps the object obj (len bytes) of account id for gen (a different gen
 * than the kept one drops everything first). Returns 1 when an object for
 * id and gen was kept already, else 0. */
int book_cache_put(int64_t gen, const char *id, size_t id_len, const char *obj, size_t len);

/* A page written from its columns had all its objects kept already
 * (every book_cache_put returned 1): trying the cache pays again. */
void book_cache_all_kept(void);

/* Pages written from the cache, and pages that looked and missed, since
 * the process began (tests: that a page came from where they expect). */
void book_cache_counts(uint64_t *hits, uint64_t *misses);

/* Drops everything and frees the arena (tests, and the process's end). */
void book_cache_drop(void);

#endif
