/* drift_sources.c — where the numbers come from: one collect function per
 * table, each reading its rows of the pass once.
 *
 *   batch         proposal volume, overreach refusals; instruction-version
 *                 and policy changes
 *   batch_item    tier mix and tier-1 share per workflow, cited signal
 *                 kinds, sample-audit failures
 *   draft         near-duplicate rate (MinHash + LSH), distinct-n-gram
 *                 ratio; instruction-version changes
 *   brief         cited signal kinds
 *   action_log    agent call volume and tool mix, audience refusals;
 *                 imports and instruction-version changes
 *
 * None of these tables is drift's: each is read through its owner's scan
 * (staging_scan_batches/_items, outreach_scan_drafts/_briefs, audit_scan,
 * book_signal_kind), which hands over typed rows; a missing table skips its
 * source. */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "book.h"
#include "drift_int.h"
#include "outreach.h"
#include "staging.h"
#include "minhash.h"
#include "tools.h"

#define MAX_WORDS 2000 /* words of a draft considered; the rest is ignored */
#define LSH_MAX_CHECKS 64

static int is_agent(const char *principal)
{
	return principal && !strncmp(principal, "agent:", 6);
}

/* The kind of a cited signal, looked up once per id: the signal's kind,
 * "(unknown signal)" when no signal has that id (evidence that does not
 * exist is worth seeing), or "(not a signal id)". */
static int evidence_kind(struct drift_ctx *c, json_t *item, const char **kind, struct err *err)
{
	const char *id = json_string_value(item);
	char buf[256];
	json_t *hit;
	int rc, found;

	if (!id && json_is_object(item)) {
		id = json_string_value(json_object_get(item, "signal_id"));
		if (!id)
			id = json_string_value(json_object_get(item, "id"));
	}
	if (!id) {
		*kind = "(not a signal id)";
		return 0;
	}
	hit = json_object_get(c->signal_kinds, id);
	if (hit) {
		*kind = json_string_value(hit);
		return 0;
	}
	rc = book_signal_kind(c->store, id, &found, buf, sizeof buf, err);
	if (rc == AIRLOCK_EINVAL) { /* a kind too long to be one the book holds */
		err_clear(err);
		found = 0;
		rc = 0;
	}
	if (rc)
		return rc;
	json_object_set_new(c->signal_kinds, id, json_string(found ? buf : "(unknown signal)"));
	hit = json_object_get(c->signal_kinds, id);
	*kind = hit ? json_string_value(hit) : "(unknown signal)";
	if (!hit)
		c->oom = 1;
	return 0;
}

/* Adds the kinds of the signals an evidence array cites; "(none)" for an
 * empty or missing one. */
static int add_evidence(struct drift_ctx *c, struct drift_series *s, int win, const char *text,
			struct err *err)
{
	json_error_t jerr;
	json_t *ev = text ? json_loads(text, 0, &jerr) : NULL, *item;
	const char *kind;
	size_t i;
	int rc = 0;

	if (!json_is_array(ev) || json_array_size(ev) == 0) {
		drift_add_category(c, s, win, "(none)", 1);
		json_decref(ev);
		return 0;
	}
	json_array_foreach(ev, i, item)
	{
		rc = evidence_kind(c, item, &kind, err);
		if (rc)
			break;
		drift_add_category(c, s, win, kind, 1);
	}
	json_decref(ev);
	return rc;
}

/* Refusal rules that mean the agent reached past what it was given. */
static int is_overreach(const char *rule)
{
	return rule && (!strcmp(rule, "outside_scope") || !strcmp(rule, "field_not_allowed") ||
			!strcmp(rule, "unknown_field"));
}

struct batches_pass {
	struct drift_ctx *c;
	struct drift_series *vol, *over;
};

static int batch_row(const struct staging_batch_row *row, void *ctx, struct err *err)
{
	struct batches_pass *p = ctx;
	struct drift_ctx *c = p->c;
	json_error_t jerr;
	json_t *r, *it;
	int64_t t;
	size_t i, n_over = 0;
	int win;

	(void)err;
	if (drift_time(row->created_at, &t) || (win = drift_window_of(c, t)) < 0)
		return 0;
	r = row->refused ? json_loads(row->refused, 0, &jerr) : NULL;
	if (!p->vol) {
		p->vol = drift_series_get(c, DM_PROPOSAL_VOLUME, NULL);
		p->over = drift_series_get(c, DM_OVERREACH_RATE, NULL);
	}
	drift_add_count(p->vol, win, 1);
	json_array_foreach(r, i, it)
	{
		n_over += is_overreach(json_string_value(json_object_get(it, "rule")));
	}
	drift_add_trials(p->over, win, (double)n_over, (double)row->items + (double)json_array_size(r));
	json_decref(r);
	drift_saw_version(c, t, "instruction_version", row->principal, row->instruction_version);
	drift_saw_version(c, t, "policy", "", row->policy_digest);
	return 0;
}

static int collect_batches(struct drift_ctx *c, struct err *err)
{
	struct batches_pass p = {c, NULL, NULL};

	return staging_scan_batches(c->store, c->from, c->to, batch_row, &p, err);
}

/* The tier a change sets, as a category. */
static const char *tier_category(json_t *v)
{
	static const char *const names[] = {"1", "2", "3", "4"};
	json_int_t n;

	if (json_is_null(v))
		return "none";
	if (!json_is_integer(v))
		return "other";
	n = json_integer_value(v);
	return n >= 1 && n <= 4 ? names[n - 1] : "other";
}

struct items_pass {
	struct drift_ctx *c;
	struct drift_series *kinds, *audit;
};

static int item_row(const struct staging_item_row *row, void *ctx, struct err *err)
{
	struct items_pass *p = ctx;
	struct drift_ctx *c = p->c;
	json_error_t jerr;
	json_t *ch, *tier;
	int64_t t;
	int win, rc;

	if (drift_time(row->created_at, &t) || (win = drift_window_of(c, t)) < 0)
		return 0;
	ch = row->changes ? json_loads(row->changes, 0, &jerr) : NULL;
	tier = json_object_get(ch, "tier");
	if (tier) {
		const char *cat = tier_category(tier);

		drift_add_category(c, drift_series_get(c, DM_TIER_MIX, row->workflow), win, cat, 1);
		drift_add_trials(drift_series_get(c, DM_TIER1_SHARE, row->workflow), win,
				 !strcmp(cat, "1"), 1);
	}
	json_decref(ch);
	if (!p->kinds) {
		p->kinds = drift_series_get(c, DM_PROPOSAL_SIGNALS, NULL);
		p->audit = drift_series_get(c, DM_AUDIT_FAILURE_RATE, NULL);
	}
	rc = add_evidence(c, p->kinds, win, row->evidence, err);
	if (rc)
		return rc;
	if (row->verdict)
		drift_add_trials(p->audit, win, !strcmp(row->verdict, "fail"), 1);
	return 0;
}

static int collect_items(struct drift_ctx *c, struct err *err)
{
	struct items_pass p = {c, NULL, NULL};

	return staging_scan_items(c->store, c->from, c->to, item_row, &p, err);
}

struct briefs_pass {
	struct drift_ctx *c;
	struct drift_series *kinds;
};

static int brief_row(const struct outreach_brief_scan_row *row, void *ctx, struct err *err)
{
	struct briefs_pass *p = ctx;
	int64_t t;
	int win;

	if (drift_time(row->created_at, &t) || (win = drift_window_of(p->c, t)) < 0)
		return 0;
	if (!p->kinds)
		p->kinds = drift_series_get(p->c, DM_BRIEF_SIGNALS, NULL);
	return add_evidence(p->c, p->kinds, win, row->evidence, err);
}

static int collect_briefs(struct drift_ctx *c, struct err *err)
{
	struct briefs_pass p = {c, NULL};

	return outreach_scan_briefs(c->store, c->from, c->to, brief_row, &p, err);
}

struct log_pass {
	struct drift_ctx *c;
	struct drift_series *calls, *tools, *aud;
	signed char guarded[DRIFT_MAX_CATS + 1];
	struct drift_time_memo tm;
};

static int log_row(const struct audit_scan_row *row, void *ctx, struct err *err)
{
	struct log_pass *p = ctx;
	struct drift_ctx *c = p->c;
	int64_t t;
	int win, k;

	(void)err;
	if (!row->tool || drift_time_memo(&p->tm, row->at, &t) || (win = drift_window_of(c, t)) < 0)
		return 0;
	if (!is_agent(row->principal)) {
		if (!strcmp(row->tool, "import"))
			drift_add_event(c, t, "import", "an import by %s",
					row->principal ? row->principal : "?");
		return 0;
	}
	if (!p->calls) {
		p->calls = drift_series_get(c, DM_AGENT_CALLS, NULL);
		p->tools = drift_series_get(c, DM_TOOL_MIX, NULL);
		p->aud = drift_series_get(c, DM_AUDIENCE_REFUSAL_RATE, NULL);
	}
	drift_add_count(p->calls, win, 1);
	/* whether a tool is one the audience guard judges, decided once per
	 * tool rather than once per row */
	k = drift_add_category(c, p->tools, win, row->tool, 1);
	if (k >= 0 && !p->guarded[k])
		p->guarded[k] = tools_find(row->tool) && tools_find(row->tool)->audience ? 1 : -1;
	if (k >= 0 && p->guarded[k] > 0)
		drift_add_trials(p->aud, win, row->decision && !strcmp(row->decision, "refused"), 1);
	drift_saw_version(c, t, "instruction_version", row->principal, row->instruction_version);
	return 0;
}

static int collect_log(struct drift_ctx *c, struct err *err)
{
	struct log_pass p;

	memset(&p, 0, sizeof p);
	p.c = c;
	return audit_scan(c->store, c->from, c->to, log_row, &p, err);
}

/* One draft as the near-duplicate pass needs it. */
struct draft_rec {
	int64_t t;
	int win;	/* -1: before the pass, read only as lookback */
	uint32_t order; /* scan order, to keep equal times stable */
};

static int cmp_draft(const void *x, const void *y)
{
	const struct draft_rec *a = x, *b = y;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Everything the drafts pass owns, freed in one place. */
struct drafts_pass {
	uint64_t *words, *shingles;
	uint16_t *sigs;
	struct draft_rec *recs;
	size_t n, cap;
	struct minhash_ngrams **blocks;
	int *in_block, *full_blocks;
	int sorted;
};

static void drafts_release(struct drafts_pass *p, int nwin)
{
	int i;

	free(p->words);
	free(p->shingles);
	free(p->sigs);
	free(p->recs);
	for (i = 0; p->blocks && i < nwin; i++)
		minhash_ngrams_free(p->blocks[i]);
	free(p->blocks);
	free(p->in_block);
	free(p->full_blocks);
}

static int drafts_grow(struct drafts_pass *p, int hashes)
{
	size_t cap = p->cap ? p->cap * 2 : 1024;
	uint16_t *sigs;
	struct draft_rec *recs;

	if (cap > SIZE_MAX / ((size_t)hashes * sizeof *sigs) || cap >= UINT32_MAX)
		return -1;
	sigs = realloc(p->sigs, cap * (size_t)hashes * sizeof *sigs);
	if (!sigs)
		return -1;
	p->sigs = sigs;
	recs = realloc(p->recs, cap * sizeof *recs);
	if (!recs)
		return -1;
	p->recs = recs;
	p->cap = cap;
	return 0;
}

/* The distinct-n-gram ratio of a window, judged per block of ngram_block
 * drafts so that it does not fall just because a window had more drafts. */
static int drafts_ngrams(struct drift_ctx *c, struct drafts_pass *p, struct drift_series *s,
			 int win, size_t nwords, size_t nshingles)
{
	const struct drift_config *cfg = c->cfg;
	int rc;

	if (!p->blocks[win]) {
		p->blocks[win] = minhash_ngrams_new((size_t)cfg->ngram_block * 200);
		if (!p->blocks[win])
			return -1;
	}
	/* n-grams of the shingles' length are the shingles: hashed once */
	if (cfg->ngram_words == cfg->shingle_words && nwords >= (size_t)cfg->shingle_words)
		rc = minhash_ngrams_add_hashes(p->blocks[win], p->shingles, nshingles);
	else
		rc = minhash_ngrams_add(p->blocks[win], p->words, nwords, cfg->ngram_words);
	if (rc)
		return -1;
	if (++p->in_block[win] == cfg->ngram_block) {
		drift_add_value(s, win, minhash_ngrams_ratio(p->blocks[win]), p->in_block[win]);
		minhash_ngrams_reset(p->blocks[win]);
		p->in_block[win] = 0;
		p->full_blocks[win]++;
	}
	return 0;
}

struct drafts_read_pass {
	struct drift_ctx *c;
	struct drafts_pass *p;
	struct drift_series *distinct;
	struct drift_time_memo tm;
};

static int draft_row(const struct outreach_draft_scan_row *row, void *ctx, struct err *err)
{
	struct drafts_read_pass *r = ctx;
	struct drift_ctx *c = r->c;
	struct drafts_pass *p = r->p;
	const struct drift_config *cfg = c->cfg;
	size_t nw, ns;
	int64_t t;
	int win;

	if (!row->body || drift_time_memo(&r->tm, row->created_at, &t))
		return 0;
	win = drift_window_of(c, t);
	if (win >= 0)
		drift_saw_version(c, t, "instruction_version", row->principal,
				  row->instruction_version);
	nw = minhash_words(row->body, row->body_len, p->words, MAX_WORDS);
	if (nw > MAX_WORDS)
		nw = MAX_WORDS;
	if (nw == 0)
		return 0; /* an empty draft is not judged */
	if (p->n == p->cap && drafts_grow(p, cfg->minhash_hashes))
		goto oom;
	ns = minhash_shingles(p->words, nw, cfg->shingle_words, p->shingles, MAX_WORDS);
	minhash_sketch(p->shingles, ns, cfg->minhash_hashes,
		       p->sigs + p->n * (size_t)cfg->minhash_hashes);
	p->recs[p->n].t = t;
	p->recs[p->n].win = win;
	p->recs[p->n].order = (uint32_t)p->n;
	if (p->n && t < p->recs[p->n - 1].t)
		p->sorted = 0;
	p->n++;
	if (win >= 0 && drafts_ngrams(c, p, r->distinct, win, nw, ns))
		goto oom;
	return 0;
oom:
	return err_set(err, AIRLOCK_ENOMEM, "out of memory reading drafts");
}

/* Reads the drafts of the pass (and of one window before it, as lookback),
 * sketching each body; then walks them in time order through the LSH
 * index. */
static int drafts_read(struct drift_ctx *c, struct drafts_pass *p, struct drift_series *distinct,
		       struct err *err)
{
	struct drafts_read_pass r = {c, p, distinct, {{0}, 0, 0}};

	return outreach_scan_drafts(c->store, c->lead_from, c->to, draft_row, &r, err);
}

/* Puts the sketches in time order when the table did not return them so. */
static int drafts_sort(struct drafts_pass *p, int hashes)
{
	uint16_t *sorted;
	size_t i, h = (size_t)hashes;

	if (p->sorted || p->n < 2)
		return 0;
	qsort(p->recs, p->n, sizeof p->recs[0], cmp_draft);
	sorted = malloc((p->n ? p->n : 1) * h * sizeof *sorted);
	if (!sorted)
		return -1;
	for (i = 0; i < p->n; i++)
		memcpy(sorted + i * h, p->sigs + (size_t)p->recs[i].order * h, h * sizeof *sorted);
	free(p->sigs);
	p->sigs = sorted;
	return 0;
}

/* The most drafts any horizon-long span holds: what the LSH index must
 * keep apart at once. */
static size_t drafts_live(const struct drafts_pass *p, int64_t horizon)
{
	size_t i, lo = 0, most = 0;

	for (i = 0; i < p->n; i++) {
		while (p->recs[i].t - p->recs[lo].t > horizon)
			lo++;
		if (i - lo + 1 > most)
			most = i - lo + 1;
	}
	return most;
}

static int collect_drafts(struct drift_ctx *c, struct err *err)
{
	const struct drift_config *cfg = c->cfg;
	struct drafts_pass p = {0};
	struct drift_series *distinct = NULL, *dup = NULL;
	struct minhash_lsh *lsh = NULL;
	size_t i;
	int rc = 0, w;

	p.sorted = 1;
	p.words = malloc(MAX_WORDS * sizeof *p.words);
	p.shingles = malloc(MAX_WORDS * sizeof *p.shingles);
	p.blocks = calloc((size_t)c->nwin, sizeof *p.blocks);
	p.in_block = calloc((size_t)c->nwin, sizeof *p.in_block);
	p.full_blocks = calloc((size_t)c->nwin, sizeof *p.full_blocks);
	distinct = drift_series_get(c, DM_DISTINCT_NGRAMS, NULL);
	dup = drift_series_get(c, DM_DUPLICATE_RATE, NULL);
	if (!p.words || !p.shingles || !p.blocks || !p.in_block || !p.full_blocks || !distinct ||
	    !dup) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	rc = drafts_read(c, &p, distinct, err);
	if (rc)
		goto out;
	/* a window too small for one full block is judged on what it has;
	 * leftovers of a window with full blocks still count as its drafts */
	for (w = 0; w < c->nwin; w++) {
		if (p.in_block[w] && !p.full_blocks[w])
			drift_add_value(distinct, w, minhash_ngrams_ratio(p.blocks[w]),
					p.in_block[w]);
		else if (p.in_block[w])
			distinct->support[w] += p.in_block[w];
	}
	if (drafts_sort(&p, cfg->minhash_hashes)) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory sorting drafts");
		goto out;
	}
	lsh = minhash_lsh_new(p.sigs, p.n, drafts_live(&p, cfg->window_seconds),
			      cfg->minhash_hashes, cfg->lsh_bands, cfg->duplicate_jaccard,
			      cfg->window_seconds, LSH_MAX_CHECKS);
	if (!lsh) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory for the duplicate index");
		goto out;
	}
	for (i = 0; i < p.n; i++) {
		int found = minhash_lsh_add(lsh, i, p.recs[i].t);

		if (found < 0) {
			rc = err_set(err, AIRLOCK_ECORRUPT, "drafts out of time order");
			goto out;
		}
		if (p.recs[i].win >= 0)
			drift_add_trials(dup, p.recs[i].win, found, 1);
	}
out:
	minhash_lsh_free(lsh);
	drafts_release(&p, c->nwin);
	return rc;
}

const struct drift_source drift_sources[] = {
    {"batches", "batch", collect_batches},     {"proposal items", "batch_item", collect_items},
    {"drafts", "draft", collect_drafts},       {"briefs", "brief", collect_briefs},
    {"action log", "action_log", collect_log},
};

const int drift_source_count = sizeof drift_sources / sizeof drift_sources[0];
