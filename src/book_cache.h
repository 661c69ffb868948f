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
 * and not from the columns. Each object says whether its account is merged
 * into another: a page with no filter but its cursor reads its ids from
 * the id index alone, merged ones among them, and leaves those out here. An insert needs no new generation: an id the
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

/* Writes kept objects of a page to *out (a buffer of cap bytes holding
 * *len; grown with realloc when needed), for the n ids (ids[i], lens[i])
 * read in page order from a snapshot of generation gen: each kept object
 * in turn, joined by ',' (*count is how many the page has so far, across
 * calls), leaving out merged accounts unless include_merged, until *count
 * reaches want; one more such account among the ids then sets *more and
 * ends the look. *last is the index of the last id written (SIZE_MAX:
 * none). Returns 1 when done with these ids, 0 when one of them is not
 * kept (nothing written; counts a miss for book_cache_worth_trying), -1
 * when out of memory (nothing written). A page may be written in several
 * calls of one snapshot; a 0 from any of them means the whole page is to
 * be written from its columns. */
int book_cache_write(int64_t gen, const char *const *ids, const size_t *lens, size_t n,
		     int include_merged, size_t want, char **out, size_t *len, size_t *cap,
		     size_t *count, int *more, size_t *last);

/* A page was written from the cache (book_cache_counts). */
void book_cache_hit(void);

/* Keeps the object obj (len bytes) of account id, merged into another or
 * not, for gen (a different gen than the kept one drops everything first).
 * Returns 1 when that object for id and gen was kept already, else 0. */
int book_cache_put(int64_t gen, const char *id, size_t id_len, const char *obj, size_t len,
		   int merged);

/* A page written from its columns had all its objects kept already
 * (every book_cache_put returned 1): trying the cache pays again. */
void book_cache_all_kept(void);

/* Pages written from the cache, and pages that looked and missed, since
 * the process began (tests: that a page came from where they expect). */
void book_cache_counts(uint64_t *hits, uint64_t *misses);

/* Drops everything and frees the arena (tests, and the process's end). */
void book_cache_drop(void);

#endif
