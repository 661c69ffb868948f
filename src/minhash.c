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

/* Word bytes folded to lowercase; 0 for bytes that separate words. ASCII
 * letters and digits are word bytes, and so is every byte >= 0x80, so a
 * UTF-8 word stays whole. */
static const unsigned char word_fold[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
    0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};

size_t minhash_words(const char *text, size_t len, uint64_t *out, size_t max)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	size_t n = 0;

	while (p < end) {
		uint64_t acc = 0, h = 0;
		unsigned c, nb = 0, total = 0;

		while (p < end && !word_fold[*p])
			p++;
		if (p == end)
			break;
		/* up to 8 bytes are packed as they are, so short words never
		 * collide; longer ones are folded in 8 bytes at a time */
		while (p < end && (c = word_fold[*p]) != 0) {
			acc = acc << 8 | c;
			p++;
			total++;
			if (++nb == 8) {
				h = mix64(h ^ acc) + GOLDEN;
				acc = 0;
				nb = 0;
			}
		}
		if (n < max)
			out[n] = mix64(h ^ acc ^ (uint64_t)(total & 0xff) << 56);
		n++;
	}
	return n;
}

/* An order-sensitive hash of k (at most MINHASH_MAX_GRAM) consecutive word
 * hashes: a different odd multiplier per position, then one mix. */
static uint64_t combine(const uint64_t *w, size_t k)
{
	static const uint64_t mul[MINHASH_MAX_GRAM] = {
	    0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL,
	    0xd6e8feb86659fd93ULL, 0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL,
	    0x8ebc6af09c88c6e3ULL, 0x589965cc75374cc3ULL, 0x1d8e4e27c47d124fULL,
	    0xff51afd7ed558ccdULL,
	};
	uint64_t h = k;
	size_t j;

	for (j = 0; j < k; j++)
		h += w[j] * mul[j];
	return mix64(h);
}

size_t minhash_shingles(const uint64_t *words, size_t nwords, int k, uint64_t *out, size_t max)
{
	size_t i, n = 0, kk = k < 1 ? 1 : k > MINHASH_MAX_GRAM ? MINHASH_MAX_GRAM : (size_t)k;

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

/* The bin an empty bin borrows from on attempt a: a hash of (bin,
 * attempt) only, the same for every text. */
static int borrow_bin(int b, int a, uint64_t bins)
{
	uint32_t x = (uint32_t)b * 0x9e3779b1u + (uint32_t)a * 0x85ebca77u + 0x27d4eb2fu;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	x *= 0x297a2d39u;
	x ^= x >> 15;
	return (int)(((uint64_t)x * bins) >> 32);
}

/* borrow_bin() for the first BORROW_TAB attempts, per thread for the
 * last `hashes` asked: a sketch of a short text has about half its bins
 * empty, and hashing (bin, attempt) for each of them, round after round,
 * was most of the sketch's time. Same answers as borrow_bin(). */
#define BORROW_TAB 8
static __thread struct {
	int hashes;
	uint8_t bin[BORROW_TAB + 1][MINHASH_MAX];
} borrow_tab;

static void borrow_tab_fill(int hashes)
{
	int a, b;

	for (a = 1; a <= BORROW_TAB; a++)
		for (b = 0; b < hashes; b++)
			borrow_tab.bin[a][b] = (uint8_t)borrow_bin(b, a, (uint64_t)hashes);
	borrow_tab.hashes = hashes;
}

int minhash_sketch(const uint64_t *shingles, size_t n, int hashes, uint16_t *sig)
{
	uint32_t mins[MINHASH_MAX];
	uint64_t bins = (uint64_t)hashes;
	size_t i;
	int b, a;

	if (hashes < 1 || hashes > MINHASH_MAX)
		return -1;
	if (n == 0) {
		memset(sig, 0, (size_t)hashes * sizeof sig[0]);
		return -1;
	}
	/* UINT32_MAX marks an empty bin, so no value may be it */
	for (b = 0; b < hashes; b++)
		mins[b] = UINT32_MAX;
	for (i = 0; i < n; i++) {
		uint64_t h = shingles[i];
		uint32_t bin = (uint32_t)(((h >> 32) * bins) >> 32), v = (uint32_t)h;

		v -= v == UINT32_MAX;
		mins[bin] = v < mins[bin] ? v : mins[bin];
	}
	/* An empty bin borrows from a bin chosen by a hash of (bin, attempt)
	 * alone, so two texts with the same empty bins borrow alike. Done in
	 * rounds over the bins still empty, without branches on the data: a
	 * bin's first probe finds a filled bin as often as bins are filled,
	 * and few need a third. After 4 * hashes attempts (only for nearly
	 * empty sketches) the next filled bin. */
	{
		uint32_t val[MINHASH_MAX];
		int left[MINHASH_MAX], nleft = 0, m;

		for (b = 0; b < hashes; b++) {
			val[b] = mins[b];
			left[nleft] = b;
			nleft += mins[b] == UINT32_MAX;
		}
		if (nleft > 0 && borrow_tab.hashes != hashes)
			borrow_tab_fill(hashes);
		for (a = 1; nleft > 0 && a <= 4 * hashes; a++) {
			for (m = 0, i = 0; i < (size_t)nleft; i++) {
				int k = left[i];
				uint32_t v = mins[a <= BORROW_TAB ? borrow_tab.bin[a][k]
								 : borrow_bin(k, a, bins)];

				val[k] = v;
				left[m] = k;
				m += v == UINT32_MAX;
			}
			nleft = m;
		}
		for (i = 0; i < (size_t)nleft; i++)
			for (a = 1; a < hashes && val[left[i]] == UINT32_MAX; a++)
				val[left[i]] = mins[(left[i] + a) % hashes];
		for (b = 0; b < hashes; b++)
			sig[b] = (uint16_t)val[b];
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
	size_t i, nn = n < 1 ? 1 : n > MINHASH_MAX_GRAM ? MINHASH_MAX_GRAM : (size_t)n;

	for (i = 0; i + nn <= nwords; i++)
		if (minhash_ngrams_add_hash(g, combine(words + i, nn)))
			return -1;
	return 0;
}

int minhash_ngrams_add_hashes(struct minhash_ngrams *g, const uint64_t *grams, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (minhash_ngrams_add_hash(g, grams[i]))
			return -1;
	return 0;
}

int minhash_ngrams_add_hash(struct minhash_ngrams *g, uint64_t h)
{
	size_t s;

	if ((g->used + 1) * 2 > g->mask + 1 && ngrams_grow(g))
		return -1;
	g->total++;
	for (s = h & g->mask; g->gen[s] == g->cur; s = (s + 1) & g->mask)
		if (g->keys[s] == h)
			return 0;
	g->keys[s] = h;
	g->gen[s] = g->cur;
	g->used++;
	g->distinct++;
	return 0;
}

double minhash_ngrams_ratio(const struct minhash_ngrams *g)
{
	return g->total ? (double)g->distinct / (double)g->total : 1.0;
}

uint64_t minhash_ngrams_total(const struct minhash_ngrams *g)
{
	return g->total;
}

/* The LSH index: one open-addressing table of band keys (a 32-bit
 * fingerprint is enough: a false match only adds a candidate, which the
 * full-sketch comparison then turns down), each slot holding the newest
 * entry of its bucket; entries chain to the previous one per band. A slot
 * whose newest entry is past the horizon is free for another key, and a
 * key is looked for in at most LSH_PROBES slots, so the table only needs
 * room for the keys of one horizon. */
#define LSH_PROBES 8

/* Each entry has one record of `stride` bytes (a multiple of a cache
 * line): its time, the query that last looked at it, its 2-bit prefilter,
 * and its link to the previous entry of its bucket in every band — kept
 * together so that a step along a bucket touches one record, not four
 * arrays. */
#define REC_T 0	    /* int64_t */
#define REC_STAMP 8 /* uint32_t */
#define REC_PRE 16  /* uint64_t[pre_words] */

/* A bucket: the key's fingerprint (0 = never used), its newest entry and
 * that entry's time, so whether the bucket is still live is known without
 * fetching the entry. */
struct lsh_slot {
	uint32_t fp;
	uint32_t head;
	int64_t t;
};

struct minhash_lsh {
	const uint16_t *sigs;
	size_t cap, next, mask, stride, prev_off;
	int hashes, bands, rows, need, max_checks;
	int pre_words, pre_need; /* the 2-bit prefilter: words per entry, agreements needed */
	int64_t horizon;
	unsigned char *recs;	/* cap * stride */
	struct lsh_slot *slots; /* mask + 1 */
	uint64_t checks;
	uint64_t ahead[MINHASH_MAX]; /* band keys of entry `next`, computed one entry early */
	size_t ahead_of;	     /* the entry `ahead` belongs to; SIZE_MAX: none */
};

static unsigned char *rec(const struct minhash_lsh *l, size_t i)
{
	return l->recs + i * l->stride;
}

static int64_t *rec_t(const struct minhash_lsh *l, size_t i)
{
	return (int64_t *)(void *)(rec(l, i) + REC_T);
}

static uint32_t *rec_stamp(const struct minhash_lsh *l, size_t i)
{
	return (uint32_t *)(void *)(rec(l, i) + REC_STAMP);
}

static uint64_t *rec_pre(const struct minhash_lsh *l, size_t i)
{
	return (uint64_t *)(void *)(rec(l, i) + REC_PRE);
}

static uint32_t *rec_prev(const struct minhash_lsh *l, size_t i)
{
	return (uint32_t *)(void *)(rec(l, i) + l->prev_off);
}

struct minhash_lsh *minhash_lsh_new(const uint16_t *sigs, size_t capacity, size_t live, int hashes,
				    int bands, double threshold, int64_t horizon, int max_checks)
{
	struct minhash_lsh *l;
	size_t slots, n = capacity ? capacity : 1;

	if (live == 0 || live > capacity)
		live = capacity;
	if (hashes < 1 || hashes > MINHASH_MAX || bands < 1 || hashes % bands || capacity >= NONE)
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
	l->ahead_of = SIZE_MAX;
	/* Two bits of every position agree when the position does, and by
	 * chance one time in four when it does not: at Jaccard j a share
	 * p = j + (1 - j) / 4 of them agree. Needing 3 standard deviations
	 * fewer than at the threshold loses about one near-duplicate in a
	 * thousand and turns away most of what merely shares a band. */
	{
		double p = threshold + (1 - threshold) / 4, e = p * hashes;

		l->pre_words = (hashes * 2 + 63) / 64;
		l->pre_need = (int)floor(e - 3 * sqrt(hashes * p * (1 - p)));
	}
	l->prev_off = REC_PRE + (size_t)l->pre_words * sizeof(uint64_t);
	l->stride = (l->prev_off + (size_t)bands * sizeof(uint32_t) + 63) / 64 * 64;
	slots = pow2_at_least(live * (size_t)bands * 2);
	l->mask = slots - 1;
	if (n > SIZE_MAX / l->stride) {
		free(l);
		return NULL;
	}
	l->recs = aligned_alloc(64, n * l->stride);
	l->slots = calloc(slots, sizeof l->slots[0]);
	if (!l->recs || !l->slots) {
		minhash_lsh_free(l);
		return NULL;
	}
	return l;
}

void minhash_lsh_free(struct minhash_lsh *l)
{
	if (!l)
		return;
	free(l->recs);
	free(l->slots);
	free(l);
}

static uint64_t band_key(const uint16_t *sig, int band, int rows)
{
	const uint16_t *v = sig + band * rows;
	uint64_t h = mix64((uint64_t)band + GOLDEN), w;
	int r = 0;

	/* four positions to a multiply */
	for (; r + 4 <= rows; r += 4) {
		memcpy(&w, v + r, sizeof w);
		h = (h ^ w) * 0xd6e8feb86659fd93ULL;
	}
	for (; r < rows; r++)
		h = (h ^ v[r]) * FNV_PRIME;
	return mix64(h);
}

/* The low two bits of every position, packed 32 to a word. Each word is
 * built in a register: or-ing into memory position by position made every
 * step wait for the store of the one before. */
static void pre_pack(const struct minhash_lsh *l, const uint16_t *sig, uint64_t *out)
{
	int w, i, end;

	for (w = 0; w < l->pre_words; w++) {
		uint64_t x = 0;

		end = (w + 1) * 32 < l->hashes ? (w + 1) * 32 : l->hashes;
		for (i = end - 1; i >= w * 32; i--)
			x = x << 2 | (uint64_t)(sig[i] & 3);
		out[w] = x;
	}
}

/* 1 when enough 2-bit lanes agree for the pair to be worth comparing. */
static int pre_agrees(const struct minhash_lsh *l, const uint64_t *a, const uint64_t *b)
{
	const uint64_t m1 = 0x5555555555555555ULL;
	int w, miss = 0;

	for (w = 0; w < l->pre_words; w++) {
		uint64_t z = a[w] ^ b[w], d = (z | z >> 1) & m1;

		/* lanes that differ, counted: pairs, nibbles, bytes, then a sum */
		d = (d & 0x3333333333333333ULL) + (d >> 2 & 0x3333333333333333ULL);
		d = (d + (d >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
		miss += (int)((d * 0x0101010101010101ULL) >> 56);
	}
	/* lanes beyond `hashes` in the last word are zero on both sides */
	return l->hashes - miss >= l->pre_need;
}

/* 1 when at least `need` positions agree. Compares four positions per
 * 64-bit word and gives up as soon as too many disagree, so a candidate
 * that is not a near-duplicate costs a fraction of a full comparison. */
static int agrees(const struct minhash_lsh *l, const uint16_t *a, const uint16_t *b)
{
	const uint64_t low = 0x7fff7fff7fff7fffULL, ones = 0x0001000100010001ULL;
	int i = 0, miss = 0, allowed = l->hashes - l->need;

	for (; i + 4 <= l->hashes; i += 4) {
		uint64_t x, y, z, nz;

		memcpy(&x, a + i, sizeof x);
		memcpy(&y, b + i, sizeof y);
		z = x ^ y;
		/* the top bit of each 16-bit lane: set when the lane differs */
		nz = (((z & low) + low) | z) >> 15 & ones;
		miss += (int)((nz * ones) >> 48);
		if (miss > allowed)
			return 0;
	}
	for (; i < l->hashes; i++)
		miss += a[i] != b[i];
	return miss <= allowed;
}

/* The slot of band key `key` for an entry at time t: *found is 1 when it
 * holds that key's live bucket; otherwise the slot is where the key goes
 * (never used, or past the horizon, or — when LSH_PROBES slots are all
 * live with other keys — the one with the oldest entry). */
static size_t lsh_slot(const struct minhash_lsh *l, uint64_t key, uint32_t f, int64_t t, int *found)
{
	size_t s = key & l->mask, spare = SIZE_MAX, oldest = s;
	int64_t oldest_t = INT64_MAX;
	int p;

	*found = 0;
	for (p = 0; p < LSH_PROBES; p++, s = (s + 1) & l->mask) {
		const struct lsh_slot *sl = &l->slots[s];

		if (!sl->fp)
			return spare != SIZE_MAX ? spare
						 : s; /* the key is never past an unused slot */
		if (sl->fp == f) {
			*found = t - sl->t <= l->horizon;
			return s;
		}
		if (t - sl->t > l->horizon && spare == SIZE_MAX)
			spare = s;
		if (sl->t < oldest_t) {
			oldest_t = sl->t;
			oldest = s;
		}
	}
	return spare != SIZE_MAX ? spare : oldest;
}

int minhash_lsh_add(struct minhash_lsh *l, size_t i, int64_t t)
{
	uint64_t keys[MINHASH_MAX], *pre;
	uint32_t *prev;
	const uint16_t *sig;
	int b, found = 0, budget = l->max_checks, live;

	if (i != l->next || i >= l->cap || (i > 0 && t < *rec_t(l, i - 1)))
		return -1;
	sig = l->sigs + i * (size_t)l->hashes;
	pre = rec_pre(l, i);
	prev = rec_prev(l, i);
	pre_pack(l, sig, pre);
	*rec_t(l, i) = t;
	*rec_stamp(l, i) = 0;
	/* This entry's band keys were computed, and their slots fetched, while
	 * the previous entry was judged; this entry does the same for the
	 * next one, so the slots' memory latency is hidden. */
	if (l->ahead_of == i)
		memcpy(keys, l->ahead, (size_t)l->bands * sizeof keys[0]);
	else
		for (b = 0; b < l->bands; b++)
			keys[b] = band_key(sig, b, l->rows);
	if (i + 1 < l->cap) {
		const uint16_t *next_sig = sig + l->hashes;

		for (b = 0; b < l->bands; b++) {
			l->ahead[b] = band_key(next_sig, b, l->rows);
			__builtin_prefetch(&l->slots[l->ahead[b] & l->mask]);
		}
		l->ahead_of = i + 1;
	}
	for (b = 0; b < l->bands; b++) {
		uint64_t key = keys[b];
		uint32_t f = (uint32_t)(key >> 32), j, next;
		struct lsh_slot *sl;

		if (f == 0)
			f = 1;
		sl = &l->slots[lsh_slot(l, key, f, t, &live)];
		prev[b] = live ? sl->head : NONE;
		for (j = prev[b]; !found && j != NONE && budget > 0; j = next) {
			uint32_t *stamp = rec_stamp(l, j);

			if (t - *rec_t(l, j) > l->horizon)
				break;
			next = rec_prev(l, j)[b];
			if (next != NONE) { /* while this one is judged */
				__builtin_prefetch(rec(l, next));
				__builtin_prefetch(l->sigs + (size_t)next * (size_t)l->hashes);
			}
			if (*stamp == (uint32_t)i + 1 || j == i)
				continue;
			*stamp = (uint32_t)i + 1;
			budget--;
			if (!pre_agrees(l, pre, rec_pre(l, j)))
				continue;
			l->checks++;
			found = agrees(l, sig, l->sigs + (size_t)j * (size_t)l->hashes);
		}
		sl->fp = f;
		sl->head = (uint32_t)i;
		sl->t = t;
	}
	l->next++;
	return found;
}

uint64_t minhash_lsh_checks(const struct minhash_lsh *l)
{
	return l->checks;
}

double minhash_lsh_candidate_probability(double j, int hashes, int bands)
{
	double r = (double)hashes / bands;

	return 1.0 - pow(1.0 - pow(j, r), bands);
}
