/* minhash.h — how alike texts are, cheaply: word hashing, word shingles,
 * MinHash sketches, a banded LSH index that finds earlier near-duplicates
 * in near-linear time, and the distinct-n-gram ratio of a body of text.
 *
 * Owns: nothing persistent. Everything here is a pure function of its
 * inputs (the LSH index is a plain in-memory structure the caller owns),
 * so the drift monitor can use it on a million drafts and the tests can
 * check it against hand-computed values.
 *
 * Never: touches the store, allocates behind the caller's back except in
 * the *_new functions, or keeps text: only 64-bit hashes of words.
 *
 * Sketches are one-permutation MinHash (one hash per shingle, the shingles
 * split into MINHASH_MAX-or-fewer bins by their hash, the minimum kept per
 * bin) with "optimal densification" for empty bins (Shrivastava, ICML 2017):
 * the chance that two sketches agree at a position equals the Jaccard
 * similarity of the two shingle sets, as with k independent permutations,
 * at the cost of one hash per shingle instead of k. Each position keeps the
 * low 16 bits of its minimum (b-bit MinHash): two different minima agree by
 * chance with probability 2^-16, a bias too small to matter at 0.8. */
#ifndef AIRLOCK_MINHASH_H
#define AIRLOCK_MINHASH_H

#include <stddef.h>
#include <stdint.h>

#define MINHASH_MAX 256	    /* most positions a sketch may have */
#define MINHASH_MAX_GRAM 10 /* most words in a shingle or n-gram */

/* Hashes the words of text (runs of ASCII letters and digits, folded to
 * lowercase, and of bytes >= 0x80 so UTF-8 words stay whole) into out, in
 * order. Returns how many words there are; only the first max are stored. */
size_t minhash_words(const char *text, size_t len, uint64_t *out, size_t max);

/* Hashes every run of k consecutive word hashes (1 <= k <= MINHASH_MAX_GRAM)
 * into out, in order;
 * a text of fewer than k words (but at least one) is one shingle of all its
 * words. Returns the count written (at most max; 0 for no words). */
size_t minhash_shingles(const uint64_t *words, size_t nwords, int k, uint64_t *out, size_t max);

/* Fills sig[0..hashes-1] (hashes in 1..MINHASH_MAX) with the sketch of the
 * shingle set. Returns 0, or -1 when there are no shingles (sig all zero). */
int minhash_sketch(const uint64_t *shingles, size_t n, int hashes, uint16_t *sig);

/* The share of positions where two sketches agree: an estimate of the
 * Jaccard similarity of the shingle sets. */
double minhash_similarity(const uint16_t *a, const uint16_t *b, int hashes);

/* The exact Jaccard similarity of two hash sets (duplicates ignored); for
 * tests and for checking the estimate. Sorts a and b in place. */
double minhash_jaccard(uint64_t *a, size_t na, uint64_t *b, size_t nb);

/* Distinct n-grams over all n-grams of a body of text, fed text by text:
 * 1.0 when nothing repeats, near 0 when everything does. The set is
 * reused between bodies (minhash_ngrams_reset) so a caller can judge a
 * stream in fixed-size blocks without allocating per block. */
struct minhash_ngrams;

/* A set for up to about `expected` n-grams (it grows past that). NULL on
 * allocation failure. */
struct minhash_ngrams *minhash_ngrams_new(size_t expected);
void minhash_ngrams_free(struct minhash_ngrams *g);
void minhash_ngrams_reset(struct minhash_ngrams *g);
/* Adds the n-grams (n >= 1) of one text, given as its word hashes. A text
 * of fewer than n words adds nothing. Returns 0, or -1 when out of memory
 * (the set stays usable with what it had). */
int minhash_ngrams_add(struct minhash_ngrams *g, const uint64_t *words, size_t nwords, int n);
/* The same for n-grams already hashed (e.g. the shingles of a text, when
 * n equals the shingle length), or one at a time. */
int minhash_ngrams_add_hashes(struct minhash_ngrams *g, const uint64_t *grams, size_t n);
int minhash_ngrams_add_hash(struct minhash_ngrams *g, uint64_t gram);
/* Distinct / total so far; 1.0 when nothing was added. */
double minhash_ngrams_ratio(const struct minhash_ngrams *g);
uint64_t minhash_ngrams_total(const struct minhash_ngrams *g);

/* A banded LSH index over sketches, for "does this text have an earlier
 * near-duplicate?" asked of a stream in time order. Each sketch is cut into
 * `bands` bands of hashes/bands positions; sketches sharing a whole band
 * are candidates, and a candidate counts when its full-sketch similarity
 * reaches the threshold. Only entries at most `horizon` time units older
 * than the one asked about are considered, and at most `max_checks`
 * candidates per query, newest first, so a stream of n entries costs
 * O(n * bands) whatever its content. */
struct minhash_lsh;

/* NULL on allocation failure or when bands does not divide hashes. The
 * index copies nothing: sketches stay owned by the caller and must live
 * as long as the index (it keeps pointers into `sigs`, an array of
 * capacity * hashes values the caller fills before the first add: the
 * index reads one entry ahead to hide memory latency). `live` is
 * the most entries any horizon-long span holds (0: capacity): the bucket
 * table is sized for those, not for the whole stream, and buckets whose
 * newest entry fell out of the horizon are reused, so the table stays in
 * cache. */
struct minhash_lsh *minhash_lsh_new(const uint16_t *sigs, size_t capacity, size_t live, int hashes,
				    int bands, double threshold, int64_t horizon, int max_checks);
void minhash_lsh_free(struct minhash_lsh *l);

/* Entry number i (entries are added 0, 1, 2 … with non-decreasing t; its
 * sketch is sigs[i * hashes …]): returns 1 when an earlier entry with
 * time >= t - horizon is a near-duplicate of it, else 0; then adds it to
 * the index. -1 when i is out of order or past capacity. */
int minhash_lsh_add(struct minhash_lsh *l, size_t i, int64_t t);

/* How many full-sketch comparisons the index has made (for tests and the
 * bench: near-linear means this stays a small multiple of the entries). */
uint64_t minhash_lsh_checks(const struct minhash_lsh *l);

/* The probability that two sketches of Jaccard similarity j share at least
 * one band: 1 - (1 - j^r)^b with r = hashes / bands. */
double minhash_lsh_candidate_probability(double j, int hashes, int bands);

#endif
