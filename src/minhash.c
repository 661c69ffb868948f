/* minhash.c — word hashing, one-permutation MinHash with densification,
 * banded LSH over a time-ordered stream, distinct-n-gram ratio. */
#include "minhash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define GOLDEN 0x9e3779b97f4a7c15ULL

/* splitmix64's finaliser: every input bit affects every output bit, which
 * FNV alone does not give the high bits the sketch bins are taken from. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static int word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

size_t minhash_words(const char *text, size_t len, uint64_t *out, size_t max)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	size_t n = 0;
	uint64_t h;

	while (p < end) {
		while (p < end && !word_byte(*p))
			p++;
		if (p == end)
			break;
		h = FNV_OFFSET;
		while (p < end && word_byte(*p)) {
			unsigned char c = *p++;

			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			h = (h ^ c) * FNV_PRIME;
		}
		if (n < max)
			out[n] = mix64(h);
		n++;
	}
	return n;
}

/* An order-sensitive hash of k consecutive word hashes. */
static uint64_t combine(const uint64_t *w, size_t k)
{
	uint64_t h = w[0];
	size_t j;

	for (j = 1; j < k; j++)
		h = mix64(h * GOLDEN + w[j]);
	return mix64(h ^ (uint64_t)k);
}

size_t minhash_shingles(const uint64_t *words, size_t nwords, int k, uint64_t *out, size_t max)
{
	size_t i, n = 0, kk = k < 1 ? 1 : (size_t)k;

	if (nwords == 0 || max == 0)
		return 0;
	if (nwords < kk) {
		out[0] = combine(words, nwords);
		return 1;
	}
	for (i = 0; i + kk <= nwords && n < max; i++)
		out[n++] = combine(words + i, kk);
	return n;
}

int minhash_sketch(const uint64_t *shingles, size_t n, int hashes, uint16_t *sig)
{
	uint32_t mins[MINHASH_MAX];
	unsigned char filled[MINHASH_MAX];
	uint64_t bins = (uint64_t)hashes;
	size_t i;
	int b, a, any = 0;

	if (hashes < 1 || hashes > MINHASH_MAX)
		return -1;
	memset(filled, 0, sizeof filled);
	for (b = 0; b < hashes; b++)
		mins[b] = UINT32_MAX;
	for (i = 0; i < n; i++) {
		uint64_t h = shingles[i];
		uint32_t bin = (uint32_t)(((h >> 32) * bins) >> 32), v = (uint32_t)h;

		if (!filled[bin] || v < mins[bin])
			mins[bin] = v;
		filled[bin] = 1;
		any = 1;
	}
	if (!any) {
		memset(sig, 0, (size_t)hashes * sizeof sig[0]);
		return -1;
	}
	/* An empty bin borrows from a bin chosen by a hash of (bin, attempt)
	 * alone, so two texts with the same empty bins borrow alike; after
	 * many misses (only for nearly empty sketches) the next filled bin. */
	for (b = 0; b < hashes; b++) {
		int from = -1;

		if (filled[b]) {
			sig[b] = (uint16_t)mins[b];
			continue;
		}
		for (a = 1; a <= 4 * hashes && from < 0; a++) {
			uint64_t h = mix64(((uint64_t)b << 32) + (uint64_t)a + GOLDEN);
			int j = (int)(((h >> 32) * bins) >> 32);

			if (filled[j])
				from = j;
		}
		for (a = 1; from < 0 && a < hashes; a++)
			if (filled[(b + a) % hashes])
				from = (b + a) % hashes;
		sig[b] = (uint16_t)mins[from];
	}
	return 0;
}

double minhash_similarity(const uint16_t *a, const uint16_t *b, int hashes)
{
	int i, eq = 0;

	if (hashes < 1)
		return 0.0;
	for (i = 0; i < hashes; i++)
		eq += a[i] == b[i];
	return (double)eq / hashes;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

double minhash_jaccard(uint64_t *a, size_t na, uint64_t *b, size_t nb)
{
	size_t i = 0, j = 0, inter = 0, uni = 0;

	qsort(a, na, sizeof a[0], cmp_u64);
	qsort(b, nb, sizeof b[0], cmp_u64);
	while (i < na || j < nb) {
		uint64_t v;

		if (j >= nb || (i < na && a[i] < b[j]))
			v = a[i];
		else
			v = b[j];
		if (i < na && j < nb && a[i] == v && b[j] == v)
			inter++;
		uni++;
		while (i < na && a[i] == v)
			i++;
		while (j < nb && b[j] == v)
			j++;
	}
	return uni ? (double)inter / (double)uni : 1.0;
}

/* The n-gram set: open addressing, a slot belongs to the current block when
 * its generation matches, so a reset costs nothing however large the set
 * grew. */
struct minhash_ngrams {
	uint64_t *keys;
	uint32_t *gen;
	size_t mask;
	size_t used;
	uint32_t cur;
	uint64_t distinct, total;
};

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n && p < ((size_t)1 << 40))
		p <<= 1;
	return p;
}

struct minhash_ngrams *minhash_ngrams_new(size_t expected)
{
	struct minhash_ngrams *g = calloc(1, sizeof *g);
	size_t cap = pow2_at_least(expected < SIZE_MAX / 4 ? expected * 2 : SIZE_MAX / 2);

	if (!g)
		return NULL;
	g->keys = calloc(cap, sizeof g->keys[0]);
	g->gen = calloc(cap, sizeof g->gen[0]);
	if (!g->keys || !g->gen) {
		minhash_ngrams_free(g);
		return NULL;
	}
	g->mask = cap - 1;
	g->cur = 1;
	return g;
}

void minhash_ngrams_free(struct minhash_ngrams *g)
{
	if (!g)
		return;
	free(g->keys);
	free(g->gen);
	free(g);
}

void minhash_ngrams_reset(struct minhash_ngrams *g)
{
	g->cur++;
	if (g->cur == 0) { /* the generation wrapped: clear for real */
		memset(g->gen, 0, (g->mask + 1) * sizeof g->gen[0]);
		g->cur = 1;
	}
	g->used = 0;
	g->distinct = 0;
	g->total = 0;
}

/* Doubles the table, keeping the current generation's keys. */
static int ngrams_grow(struct minhash_ngrams *g)
{
	size_t cap = (g->mask + 1) * 2, i, s;
	uint64_t *keys = calloc(cap, sizeof keys[0]);
	uint32_t *gen = calloc(cap, sizeof gen[0]);

	if (!keys || !gen || cap < g->mask + 1) {
		free(keys);
		free(gen);
		return -1;
	}
	for (i = 0; i <= g->mask; i++) {
		if (g->gen[i] != g->cur)
			continue;
		for (s = g->keys[i] & (cap - 1); gen[s] == g->cur; s = (s + 1) & (cap - 1))
			;
		keys[s] = g->keys[i];
		gen[s] = g->cur;
	}
	free(g->keys);
	free(g->gen);
	g->keys = keys;
	g->gen = gen;
	g->mask = cap - 1;
	return 0;
}

int minhash_ngrams_add(struct minhash_ngrams *g, const uint64_t *words, size_t nwords, int n)
{
	size_t i, s, nn = n < 1 ? 1 : (size_t)n;

	for (i = 0; i + nn <= nwords; i++) {
		uint64_t h = combine(words + i, nn);

		if ((g->used + 1) * 2 > g->mask + 1 && ngrams_grow(g))
			return -1;
		g->total++;
		for (s = h & g->mask; g->gen[s] == g->cur; s = (s + 1) & g->mask)
			if (g->keys[s] == h)
				break;
		if (g->gen[s] == g->cur)
			continue;
		g->keys[s] = h;
		g->gen[s] = g->cur;
		g->used++;
		g->distinct++;
	}
	return 0;
}

double minhash_ngrams_ratio(const struct minhash_ngrams *g)
{
	return g->total ? (double)g->distinct / (double)g->total : 1.0;
}

uint64_t minhash_ngrams_total(const struct minhash_ngrams *g) { return g->total; }

/* The LSH index: one open-addressing table of band keys (a 32-bit
 * fingerprint is enough: a false match only adds a candidate, which the
 * full-sketch comparison then turns down), each slot holding the newest
 * entry of its bucket; entries chain to the previous one per band. */
struct minhash_lsh {
	const uint16_t *sigs;
	size_t cap, next, mask;
	int hashes, bands, rows, need, max_checks;
	int64_t horizon;
	int64_t *times;
	uint32_t *prev;  /* cap * bands */
	uint32_t *stamp; /* cap: last query that compared this entry */
	uint32_t *fp;    /* mask + 1 fingerprints, 0 = empty */
	uint32_t *head;  /* mask + 1 newest entries */
	uint64_t checks;
};

struct minhash_lsh *minhash_lsh_new(const uint16_t *sigs, size_t capacity, int hashes, int bands,
				    double threshold, int64_t horizon, int max_checks)
{
	struct minhash_lsh *l;
	size_t slots;

	if (hashes < 1 || hashes > MINHASH_MAX || bands < 1 || hashes % bands ||
	    capacity >= NONE || capacity > SIZE_MAX / ((size_t)bands * 4 * sizeof(uint32_t)))
		return NULL;
	l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->sigs = sigs;
	l->cap = capacity;
	l->hashes = hashes;
	l->bands = bands;
	l->rows = hashes / bands;
	l->need = (int)ceil(threshold * hashes - 1e-9);
	l->horizon = horizon;
	l->max_checks = max_checks < 1 ? 1 : max_checks;
	slots = pow2_at_least(capacity * (size_t)bands * 2);
	l->mask = slots - 1;
	l->times = malloc((capacity ? capacity : 1) * sizeof l->times[0]);
	l->prev = malloc((capacity ? capacity : 1) * (size_t)bands * sizeof l->prev[0]);
	l->stamp = calloc(capacity ? capacity : 1, sizeof l->stamp[0]);
	l->fp = calloc(slots, sizeof l->fp[0]);
	l->head = malloc(slots * sizeof l->head[0]);
	if (!l->times || !l->prev || !l->stamp || !l->fp || !l->head) {
		minhash_lsh_free(l);
		return NULL;
	}
	return l;
}

void minhash_lsh_free(struct minhash_lsh *l)
{
	if (!l)
		return;
	free(l->times);
	free(l->prev);
	free(l->stamp);
	free(l->fp);
	free(l->head);
	free(l);
}

static uint64_t band_key(const uint16_t *sig, int band, int rows)
{
	uint64_t h = mix64((uint64_t)band + GOLDEN);
	int r;

	for (r = 0; r < rows; r++)
		h = (h ^ sig[band * rows + r]) * FNV_PRIME;
	return mix64(h);
}

static int agrees(const struct minhash_lsh *l, const uint16_t *a, const uint16_t *b)
{
	int i, eq = 0;

	for (i = 0; i < l->hashes; i++)
		eq += a[i] == b[i];
	return eq >= l->need;
}

int minhash_lsh_add(struct minhash_lsh *l, size_t i, int64_t t)
{
	const uint16_t *sig;
	int b, found = 0, budget = l->max_checks;

	if (i != l->next || i >= l->cap || (i > 0 && t < l->times[i - 1]))
		return -1;
	sig = l->sigs + i * (size_t)l->hashes;
	l->times[i] = t;
	for (b = 0; b < l->bands; b++) {
		uint64_t key = band_key(sig, b, l->rows);
		uint32_t f = (uint32_t)(key >> 32), j;
		size_t s;

		if (f == 0)
			f = 1;
		for (s = key & l->mask; l->fp[s] && l->fp[s] != f; s = (s + 1) & l->mask)
			;
		if (!l->fp[s]) {
			l->fp[s] = f;
			l->prev[i * (size_t)l->bands + (size_t)b] = NONE;
			l->head[s] = (uint32_t)i;
			continue;
		}
		for (j = l->head[s]; !found && j != NONE && budget > 0;
		     j = l->prev[(size_t)j * (size_t)l->bands + (size_t)b]) {
			if (t - l->times[j] > l->horizon)
				break;
			if (l->stamp[j] == (uint32_t)i + 1)
				continue;
			l->stamp[j] = (uint32_t)i + 1;
			budget--;
			l->checks++;
			found = agrees(l, sig, l->sigs + (size_t)j * (size_t)l->hashes);
		}
		l->prev[i * (size_t)l->bands + (size_t)b] = l->head[s];
		l->head[s] = (uint32_t)i;
	}
	l->next++;
	return found;
}

uint64_t minhash_lsh_checks(const struct minhash_lsh *l) { return l->checks; }

double minhash_lsh_candidate_probability(double j, int hashes, int bands)
{
	double r = (double)hashes / bands;

	return 1.0 - pow(1.0 - pow(j, r), bands);
}
