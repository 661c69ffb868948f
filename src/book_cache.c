/* book_cache.c — account objects kept between pages (book_cache.h). */
#include "book_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* 16 MiB holds some 45,000 accounts' objects as bookgen writes them
 * (~360 bytes with the id); serve's RSS at 1M accounts stays within its
 * 64 MB (bench/README.md, round 10 of issue 15). */
size_t book_cache_bytes = 16u << 20;

struct slot {
	uint64_t hash;
	uint32_t epoch; /* kept when equal to the cache's: a drop is epoch++ */
	uint32_t off;   /* the id, then the object, in the arena */
	uint32_t len;   /* the object's */
	uint16_t id_len;
	uint8_t merged; /* the account is merged into another (merged_into) */
};

#define PROBES 16

static struct {
	pthread_mutex_t lock;
	char *arena;
	size_t size, used; /* the arena's size when made, and bytes in use */
	struct slot *slot;
	size_t nslot;      /* a power of two */
	uint32_t epoch;
	int64_t gen;
	unsigned skip, skip_left; /* book_cache_worth_trying */
	uint64_t hits, misses;
} c = {.lock = PTHREAD_MUTEX_INITIALIZER, .epoch = 1};

static uint64_t hash_id(const char *id, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)id[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

/* Everything dropped: O(1) (the slots of an older epoch are empty). */
static void forget(void)
{
	c.used = 0;
	if (++c.epoch == 0) { /* wrapped: clear the stamps for real */
		if (c.slot)
			memset(c.slot, 0, c.nslot * sizeof *c.slot);
		c.epoch = 1;
	}
}

static void release(void)
{
	free(c.arena);
	free(c.slot);
	c.arena = NULL;
	c.slot = NULL;
	c.size = c.used = c.nslot = 0;
	forget();
}

/* Makes the arena for book_cache_bytes (or remakes it after a test changed
 * it). 0 when the cache can be used. */
static int ready(void)
{
	size_t n = 64;

	if (c.arena && c.size == book_cache_bytes)
		return 0;
	release();
	if (book_cache_bytes == 0 || book_cache_bytes > UINT32_MAX)
		return -1;
	while (n < book_cache_bytes / 192)
		n *= 2;
	c.arena = malloc(book_cache_bytes);
	c.slot = calloc(n, sizeof *c.slot);
	if (!c.arena || !c.slot) {
		release();
		return -1;
	}
	c.size = book_cache_bytes;
	c.nslot = n;
	return 0;
}

/* The slot of id in the current epoch, or the first free one on its probe
 * path (*found 0), or NULL when the path is full of other ids. id NULL:
 * the first slot with this hash and id length, its id not compared (a
 * candidate, whose bytes the caller asks of memory before comparing). */
static struct slot *find(const char *id, size_t n, uint64_t h, int *found)
{
	size_t i;

	*found = 0;
	for (i = 0; i < PROBES; i++) {
		struct slot *s = &c.slot[(h + i) & (c.nslot - 1)];

		if (s->epoch != c.epoch)
			return s;
		if (s->hash == h && s->id_len == n && (!id || memcmp(c.arena + s->off, id, n) == 0)) {
			*found = 1;
			return s;
		}
	}
	return NULL;
}

int book_cache_worth_trying(void)
{
	int yes;

	pthread_mutex_lock(&c.lock);
	yes = c.skip_left == 0;
	if (!yes)
		c.skip_left--;
	pthread_mutex_unlock(&c.lock);
	return yes;
}

void book_cache_all_kept(void)
{
	pthread_mutex_lock(&c.lock);
	c.skip = c.skip_left = 0;
	pthread_mutex_unlock(&c.lock);
}

static void missed(void)
{
	c.skip = c.skip < 64 ? c.skip * 2 + 1 : 127;
	c.skip_left = c.skip;
}

int book_cache_write(int64_t gen, const char *const *ids, const size_t *lens, size_t n,
		     int include_merged, size_t want, char **out, size_t *len, size_t *cap,
		     size_t *count, int *more, size_t *last)
{
	struct slot *hit[256];
	uint64_t h[256];
	size_t i, need, k = 0, at[256];
	int found;

	*last = SIZE_MAX;
	if (n > sizeof hit / sizeof hit[0])
		return 0;
	pthread_mutex_lock(&c.lock);
	if (!c.arena || gen != c.gen || book_cache_bytes != c.size)
		goto miss;
	/* The slots and then the objects of a page are far apart in the
	 * arena: each is asked of memory ahead (prefetch) so that the page's
	 * cache misses overlap instead of coming one after another (~100 ns
	 * each, 40 a page): every id's candidate slot first, then their ids
	 * compared. */
	for (i = 0; i < n; i++) {
		h[i] = hash_id(ids[i], lens[i]);
		__builtin_prefetch(&c.slot[h[i] & (c.nslot - 1)]);
	}
	for (i = 0; i < n; i++) {
		hit[i] = find(NULL, lens[i], h[i], &found);
		if (!found)
			goto miss;
		__builtin_prefetch(c.arena + hit[i]->off);
		__builtin_prefetch(c.arena + hit[i]->off + 64);
	}
	need = *len + 1; /* the terminating NUL the caller writes */
	for (i = 0; i < n && !*more; i++) {
		if (memcmp(c.arena + hit[i]->off, ids[i], lens[i]) != 0) {
			hit[i] = find(ids[i], lens[i], h[i], &found);
			if (!found)
				goto miss;
		}
		if (hit[i]->merged && !include_merged)
			continue;
		if (*count + k == want) {
			*more = 1;
			break;
		}
		at[k++] = i;
		need += hit[i]->len + 1;
	}
	if (need > *cap) {
		size_t ncap = *cap ? *cap : 64;
		char *p;

		while (ncap < need)
			ncap *= 2;
		p = realloc(*out, ncap);
		if (!p) {
			pthread_mutex_unlock(&c.lock);
			return -1;
		}
		*out = p;
		*cap = ncap;
	}
	for (i = 0; i < k; i++) {
		const struct slot *s = hit[at[i]];

		if (*count + i)
			(*out)[(*len)++] = ',';
		memcpy(*out + *len, c.arena + s->off + s->id_len, s->len);
		*len += s->len;
	}
	*count += k;
	if (k)
		*last = at[k - 1];
	pthread_mutex_unlock(&c.lock);
	return 1;
miss:
	c.misses++;
	missed();
	pthread_mutex_unlock(&c.lock);
	return 0;
}

void book_cache_hit(void)
{
	pthread_mutex_lock(&c.lock);
	c.hits++;
	pthread_mutex_unlock(&c.lock);
}

int book_cache_put(int64_t gen, const char *id, size_t id_len, const char *obj, size_t len,
		   int merged)
{
	uint64_t h = hash_id(id, id_len);
	struct slot *s;
	int found = 0;

	pthread_mutex_lock(&c.lock);
	if (ready())
		goto out;
	if (gen != c.gen) {
		forget();
		c.gen = gen;
	}
	s = find(id, id_len, h, &found);
	if (found) {
		found = s->merged == (merged != 0); /* kept as it is now */
		goto out;
	}
	if (id_len > UINT16_MAX || id_len + len > c.size / 16)
		goto out;
	if (c.used + id_len + len > c.size) { /* full: start again */
		forget();
		s = find(id, id_len, h, &found);
	}
	if (!s)
		goto out;
	memcpy(c.arena + c.used, id, id_len);
	memcpy(c.arena + c.used + id_len, obj, len);
	s->hash = h;
	s->epoch = c.epoch;
	s->off = (uint32_t)c.used;
	s->len = (uint32_t)len;
	s->id_len = (uint16_t)id_len;
	s->merged = merged != 0;
	c.used += id_len + len;
out:
	pthread_mutex_unlock(&c.lock);
	return found;
}

void book_cache_counts(uint64_t *hits, uint64_t *misses)
{
	pthread_mutex_lock(&c.lock);
	*hits = c.hits;
	*misses = c.misses;
	pthread_mutex_unlock(&c.lock);
}

void book_cache_drop(void)
{
	pthread_mutex_lock(&c.lock);
	release();
	c.skip = c.skip_left = 0;
	pthread_mutex_unlock(&c.lock);
}
