/* review.c — human verbs: staging plus outreach for send batches. */
#include "review.h"

#include <stdlib.h>
#include <string.h>

#include "autonomy.h"
#include "book.h"
#include "clock.h"
#include "fmt.h"
#include "gate.h"
#include "notify.h"
#include "reliability.h"
#include "sampling.h"
#include "seedcheck.h"
#include "staging.h"
#include "summary.h"
#include "upwrite.h"

void review_smtp(const struct policy *p, struct outreach_smtp *smtp)
{
	memset(smtp, 0, sizeof *smtp);
	if (!p || !p->smtp.host)
		return;
	smtp->host = p->smtp.host;
	smtp->port = p->smtp.port;
	smtp->tls = p->smtp.tls == TLS_STARTTLS  ? SMTP_TLS_STARTTLS
		    : p->smtp.tls == TLS_IMPLICIT ? SMTP_TLS_TLS
						  : SMTP_TLS_NONE;
	smtp->username = p->smtp.username;
	smtp->password = p->smtp.password_env ? getenv(p->smtp.password_env) : NULL;
	smtp->from = p->smtp.from;
	smtp->timeout_seconds = p->smtp.timeout_seconds;
	smtp->max_attempts = (int)p->smtp.max_attempts;
}

/* The action of a batch ("update", "merge", "send") and, for a send, its
 * draft ids. */
static int batch_action(struct store *s, int64_t id, char *action, size_t len, json_t **drafts,
			struct err *err)
{
	json_t *b, *it;
	size_t i;
	int rc;

	if (drafts)
		*drafts = NULL;
	/* the header only: a batch may hold 100,000 items, and only a send
	 * (at most a hundred drafts) needs them */
	rc = staging_get_header(s, id, &b, err);
	if (rc)
		return rc;
	/* a header or draft list cut short by a failed allocation would apply
	 * a send as a plain update: the batch applied, its drafts never
	 * approved */
	if (!json_string_value(json_object_get(b, "action"))) {
		json_decref(b);
		return err_set(err, AIRLOCK_ENOMEM, "out of memory");
	}
	/* a cut action could read as another one */
	rc = fmt_buf(action, len, err, "batch action", "%s",
		     json_string_value(json_object_get(b, "action")));
	json_decref(b);
	if (rc)
		return AIRLOCK_ECORRUPT;
	if (strcmp(action, "send") != 0 || !drafts)
		return 0;
	rc = staging_get(s, id, &b, err);
	if (rc)
		return rc;
	*drafts = json_array();
	json_array_foreach(json_object_get(b, "item_list"), i, it)
		if (!*drafts || json_array_append(*drafts, json_object_get(it, "record_id")))
			rc = AIRLOCK_ENOMEM;
	if (!rc && json_array_size(*drafts) == 0)
		rc = AIRLOCK_ENOMEM; /* a send batch always holds its drafts */
	json_decref(b);
	if (rc) {
		json_decref(*drafts);
		*drafts = NULL;
		return err_set(err, rc, "out of memory");
	}
	return 0;
}

int review_approve(struct review *r, int64_t batch_id, const char *principal, struct err *err)
{
	char gap[200], msg[ERR_MSG_MAX];
	struct err gerr = {0};
	int rc = staging_expire(r->store, NULL, err);

	if (!rc)
		rc = staging_approve(r->store, batch_id, principal, r->surface, err);
	/* an unfinished sample: say how this surface overrides it */
	if (rc == AIRLOCK_ESTATE &&
	    !staging_sample_gap(r->store, batch_id, gap, sizeof gap, &gerr) && gap[0]) {
		(void)snprintf(msg, sizeof msg, "%s", err->msg);
		if (r->surface && !strcmp(r->surface, "cli"))
			err_set(err, rc, "%s: airlock approve %lld --override --reason TEXT", msg,
				(long long)batch_id);
		else
			err_set(err, rc,
				"%s: POST /api/batches/%lld/approve {\"override\": true, \"reason\":"
				" \"...\"}",
				msg, (long long)batch_id);
	}
	return rc;
}

int review_approve_override(struct review *r, int64_t batch_id, const char *principal,
			    const char *reason, struct err *err)
{
	int rc = staging_expire(r->store, NULL, err);

	return rc ? rc
		  : staging_approve_override(r->store, batch_id, principal, r->surface, reason, err);
}

int review_reject(struct review *r, int64_t batch_id, const char *principal, const char *reason,
		  struct err *err)
{
	char action[16];
	json_t *drafts = NULL;
	int rc;

	rc = staging_expire(r->store, NULL, err);
	if (!rc)
		rc = store_begin(r->store, err);
	if (rc)
		return rc;
	rc = batch_action(r->store, batch_id, action, sizeof action, &drafts, err);
	if (!rc)
		rc = staging_reject(r->store, batch_id, principal, r->surface, reason, err);
	/* the drafts go back to the rep, unsent */
	if (!rc && drafts)
		rc = outreach_send_reject(r->store, principal, drafts, reason, err);
	json_decref(drafts);
	if (rc) {
		store_rollback(r->store);
		return rc;
	}
	return store_commit(r->store, err);
}

int review_apply(struct review *r, int64_t batch_id, const char *principal, int skip_conflicts,
		 json_t **report, struct err *err)
{
	struct outreach_audience_rules rules;
	struct outreach_smtp smtp;
	struct err derr = {0};
	struct policy *fresh = NULL;
	const struct policy *p;
	char action[16];
	json_t *drafts = NULL, *delivery = NULL;
	int rc;

	*report = NULL;
	rc = staging_expire(r->store, NULL, err);
	if (!rc)
		rc = batch_action(r->store, batch_id, action, sizeof action, NULL, err);
	if (!rc && !strcmp(action, UPWRITE_ACTION))
		/* the upstream's calls are not one transaction: upwrite journals
		 * each and moves the batch once all are done */
		return upwrite_apply(r->store, r->policy, batch_id, principal, r->surface,
				     skip_conflicts, report, err);
	if (!rc)
		rc = store_begin(r->store, err);
	if (rc)
		return rc;
	rc = batch_action(r->store, batch_id, action, sizeof action, &drafts, err);
	if (!rc)
		rc = staging_apply(r->store, batch_id, principal, r->surface, skip_conflicts, report,
				   err);
	if (!rc && drafts)
		rc = outreach_send_approve(r->store, principal, drafts, err);
	if (rc) {
		store_rollback(r->store);
		goto out;
	}
	rc = store_commit(r->store, err);
	if (rc || !drafts)
		goto out;
	/* Delivery happens after the approval is durable, outside any
	 * transaction: each message's intent is committed before the relay is
	 * contacted (outreach.h). A relay problem leaves the messages pending.
	 * The audience rules are the policy file's as it is now: airlock serve
	 * loaded its copy when it started, and a competitor domain or touch
	 * rule added since must hold; a file that no longer loads sends
	 * nothing. */
	if (r->policy && r->policy->path && policy_load(r->policy->path, &fresh, &derr)) {
		char why[ERR_MSG_MAX + 96];

		(void)snprintf(
		    why, sizeof why,
		    "nothing was sent: the policy no longer loads (%s); the messages wait in"
		    " the outbox",
		    derr.msg);
		delivery = json_pack("{s:s}", "error", why);
		json_object_set_new(*report, "delivery", delivery);
		goto out;
	}
	p = fresh ? fresh : r->policy;
	review_smtp(p, &smtp);
	gate_audience_rules(p, &rules);
	if (!smtp.host)
		delivery = json_pack("{s:s}", "note",
				     r->policy ? "no SMTP relay in the policy: the messages wait in the"
						 " outbox (airlock outbox deliver)"
					       : "no policy loaded, so no SMTP relay: the messages wait"
						 " in the outbox (airlock outbox deliver)");
	else if (outreach_deliver(r->store, &rules, &smtp, principal, drafts, 0, &delivery, &derr))
		delivery = json_pack("{s:s}", "error", derr.msg);
	json_object_set_new(*report, "delivery", delivery);
out:
	policy_free(fresh);
	json_decref(drafts);
	return rc;
}

int review_undo(struct review *r, int64_t batch_id, const char *principal, int force,
		json_t **report, struct err *err)
{
	char action[16];
	int rc = batch_action(r->store, batch_id, action, sizeof action, NULL, err);

	if (!rc && !strcmp(action, UPWRITE_ACTION))
		return upwrite_undo(r->store, r->policy, batch_id, principal, r->surface, force,
				    report, err);
	if (rc && rc != AIRLOCK_ENOTFOUND)
		return rc;
	return staging_undo(r->store, batch_id, principal, r->surface, force, report, err);
}

/* The sampling policy of a workflow (the policy file's, else the defaults). */
static void sampling_for(const struct policy *p, const char *workflow,
			 struct sampling_policy *sp)
{
	const struct policy_workflow *wf = p ? policy_workflow(p, workflow) : NULL;

	sampling_policy_default(sp);
	if (wf && wf->sampling.confidence > 0)
		sp->confidence = wf->sampling.confidence;
	if (wf && wf->sampling.defect_rate > 0)
		sp->target = wf->sampling.defect_rate;
}

/* The policy's check_every for a workflow (0: off). */
static int64_t check_every_for(const struct policy *p, const char *workflow)
{
	const struct policy_workflow *wf = p ? policy_workflow(p, workflow) : NULL;

	return wf ? wf->sampling.check_every : 0;
}

/* The number this sample has among the workflow's (1 for its first). */
static int sample_number(struct store *s, const char *workflow, int64_t *nth, struct err *err)
{
	struct store_stmt *st;
	int rc;

	rc = store_prepare(s, "SELECT count(*)+1 FROM batch WHERE workflow=?1 AND sample IS NOT NULL",
			   &st, err);
	if (rc)
		return rc;
	store_bind_text(st, 1, workflow);
	rc = store_step(st, err);
	if (rc == STORE_ROW) {
		*nth = store_col_int(st, 0);
		rc = 0;
	}
	store_done(st);
	return rc;
}

/* The items a check is made from: the slot's item first, then the batch's
 * next ones (a check that says what one of them says is no check). */
#define REVIEW_CHECK_ITEMS 32
/* The slot record's signals a check may cite, newest first. */
#define REVIEW_CHECK_SIGNALS 200

/* The policy's min_catch_rate for a workflow (0: off). */
static double min_catch_for(const struct policy *p, const char *workflow)
{
	const struct policy_workflow *wf = p ? policy_workflow(p, workflow) : NULL;

	return wf ? wf->sampling.min_catch_rate : 0;
}

/* A finished sample becomes the workflow's evidence, weighed by its
 * reviewer's record on seeded checks (reliability.h): from a reviewer the
 * checks show to be waving items through, passes count for nothing (the
 * workflow never moves toward reduced inspection on them) while a fail
 * still counts, since a fault found is a fault. The reviewer is the one
 * whose verdict finished the sample. *discounted is 1 when the passes
 * were left out. */
static int sample_evidence(struct review *r, const char *workflow,
			   const struct sampling_policy *sp, const char *principal, int64_t passed,
			   int failed, int missed_check, int *discounted, struct err *err)
{
	struct reliability rel;
	enum sampling_level level;
	int rc;

	*discounted = 0;
	rc = reliability_get(r->store, principal, workflow, &rel, err);
	if (rc)
		return rc;
	/* passes next to a passed check are the rubber stamp's: not evidence */
	if (!missed_check &&
	    reliability_weight(&rel, min_catch_for(r->policy, workflow), sp->confidence) > 0)
		return autonomy_sample(r->store, workflow, sp, passed, failed, &level, err);
	*discounted = 1;
	rc = reliability_discount(r->store, principal, workflow, err);
	if (!rc && failed)
		rc = autonomy_sample(r->store, workflow, sp, 0, 1, &level, err);
	return rc;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex(const char *h, unsigned char *b, size_t n)
{
	size_t i;

	if (!h || strlen(h) != 2 * n)
		return -1;
	for (i = 0; i < 2 * n; i++) {
		char c = h[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return -1;
		b[i / 2] = (unsigned char)(i % 2 ? (b[i / 2] | v) : v << 4);
	}
	return 0;
}

int review_sample(struct review *r, int64_t batch_id, const char *principal, json_t **result,
		  struct err *err)
{
	unsigned char seed[SAMPLING_SEED_BYTES];
	char seedhex[2 * SAMPLING_SEED_BYTES + 1], statement[300];
	unsigned char cseed[SAMPLING_SEED_BYTES];
	char cseedhex[2 * SAMPLING_SEED_BYTES + 1];
	struct sampling_policy sp;
	struct sampling_state st;
	json_t *b = NULL, *items = NULL, *sample = NULL, *near = NULL, *check = NULL,
	       *sigs = NULL;
	const char *workflow, *action;
	int64_t N, n, m, i, *drawn = NULL, nth = 0, pos = 0, slot = 0;
	int rc, due;

	*result = NULL;
	rc = staging_expire(r->store, NULL, err);
	if (!rc)
		rc = staging_get_header(r->store, batch_id, &b, err);
	if (rc)
		return rc;
	workflow = json_string_value(json_object_get(b, "workflow"));
	action = json_string_value(json_object_get(b, "action"));
	N = json_integer_value(json_object_get(b, "items"));
	sampling_for(r->policy, workflow, &sp);
	rc = autonomy_get(r->store, workflow, &st, err);
	if (!rc)
		rc = sample_number(r->store, workflow ? workflow : "", &nth, err);
	if (rc)
		goto out;
	n = sampling_level_plan_size(st.level, N, sp.target, sp.confidence);
	if (n < 1)
		n = N < 1 ? 0 : 1;
	/* a seeded check takes the place of one more drawn item: the draw is
	 * n + 1 from the public seed, and a secret seed picks which of them
	 * shows the check, so nothing in the sample tells it apart. Every
	 * sample of a workflow with checks on draws n + 1, the check due or
	 * not, and states n: the size of a sample does not say whether it
	 * holds a check. Only an update batch gets one (a send or merge is
	 * read whole by a person). */
	m = n;
	if (action && !strcmp(action, "update") && N > n && check_every_for(r->policy, workflow) > 0)
		m = n + 1;
	due = m > n && seedcheck_due(check_every_for(r->policy, workflow), nth);
	drawn = calloc((size_t)(m > 0 ? m : 1), sizeof *drawn);
	if (!drawn) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	rc = sampling_seed(seed, err);
	if (!rc)
		rc = sampling_draw(N, m, seed, drawn, err);
	if (!rc && due) {
		rc = sampling_seed(cseed, err);
		if (!rc)
			rc = sampling_draw(m, 1, cseed, &pos, err);
		if (!rc) {
			slot = drawn[pos] + 1;
			rc = staging_items_from(r->store, batch_id, slot, REVIEW_CHECK_ITEMS, &near,
						err);
		}
		if (!rc)
			rc = book_signals(r->store,
					  json_string_value(json_object_get(json_array_get(near, 0),
									    "record_id")),
					  NULL, REVIEW_CHECK_SIGNALS, &sigs, err);
		if (!rc) {
			struct seedcheck_book bk = {sigs, clock_now(),
						    r->policy ? r->policy->evidence_max_age
							      : SUMMARY_EVIDENCE_MAX_AGE};

			rc = seedcheck_make_at(near, 0, &bk, cseed, &check, err);
			/* no check this batch allows: the extra item is read as a
			 * real one, which only adds assurance */
			if (rc == AIRLOCK_ENOTFOUND) {
				rc = 0;
				slot = 0;
			}
		}
		hex(cseed, sizeof cseed, cseedhex);
	}
	if (rc)
		goto out;
	items = json_array();
	for (i = 0; i < m; i++)
		json_array_append_new(items, json_integer(drawn[i] + 1));
	hex(seed, sizeof seed, seedhex);
	/* the statement counts only the real items read: never overstated */
	sampling_statement(statement, sizeof statement, N,
			   sampling_level_fraction(st.level, sp.target), n, 0);
	sample = json_pack("{s:I,s:I,s:I,s:s,s:f,s:f,s:s,s:O,s:s}", "batch_id",
			   (json_int_t)batch_id, "N", (json_int_t)N, "n", (json_int_t)m, "level",
			   sampling_level_name(st.level), "confidence", sp.confidence, "defect_rate",
			   sampling_level_fraction(st.level, sp.target), "seed", seedhex, "items", items,
			   "statement", statement);
	rc = store_begin(r->store, err);
	if (rc)
		goto out;
	rc = staging_mark_sampled(r->store, batch_id, principal, r->surface, sample, err);
	if (!rc && slot)
		rc = staging_seeded_add(r->store, batch_id, slot, check, cseedhex, err);
	if (!rc)
		rc = notify_batch(r->store, r->policy, batch_id, "sampled", workflow,
				  json_string_value(json_object_get(b, "principal")),
				  json_string_value(json_object_get(b, "action")),
				  json_integer_value(json_object_get(b, "radius")), err);
	if (rc)
		store_rollback(r->store);
	else
		rc = store_commit(r->store, err);
	if (!rc) {
		*result = sample;
		sample = NULL;
	}
out:
	free(drawn);
	json_decref(items);
	json_decref(sample);
	json_decref(near);
	json_decref(sigs);
	json_decref(check);
	json_decref(b);
	return rc;
}

int review_sample_check(struct review *r, int64_t batch_id, struct err *err)
{
	unsigned char seed[SAMPLING_SEED_BYTES];
	json_t *b = NULL, *sample, *items;
	int64_t N, n, i, *drawn = NULL;
	int rc;

	rc = staging_get_header(r->store, batch_id, &b, err);
	if (rc)
		return rc;
	sample = json_object_get(b, "sample");
	items = json_object_get(sample, "items");
	N = json_integer_value(json_object_get(sample, "N"));
	n = (int64_t)json_array_size(items);
	if (!json_is_object(sample) ||
	    unhex(json_string_value(json_object_get(sample, "seed")), seed, sizeof seed)) {
		rc = err_set(err, AIRLOCK_ENOTFOUND, "batch %lld has no recorded sample",
			     (long long)batch_id);
		goto out;
	}
	drawn = calloc((size_t)(n > 0 ? n : 1), sizeof *drawn);
	rc = drawn ? sampling_draw(N, n, seed, drawn, err)
		   : err_set(err, AIRLOCK_ENOMEM, "out of memory");
	for (i = 0; !rc && i < n; i++)
		if (drawn[i] + 1 != json_integer_value(json_array_get(items, (size_t)i)))
			rc = err_set(err, AIRLOCK_ECORRUPT,
				     "batch %lld: drawn item %lld is %lld, but the seed gives %lld",
				     (long long)batch_id, (long long)i + 1,
				     (long long)json_integer_value(json_array_get(items, (size_t)i)),
				     (long long)drawn[i] + 1);
out:
	free(drawn);
	json_decref(b);
	return rc;
}

int review_judge(struct review *r, int64_t batch_id, int64_t item, const char *principal,
		 int pass, const char *note, json_t **result, struct err *err)
{
	struct sampling_policy sp;
	char statement[300];
	json_t *b = NULL, *res = NULL, *sample;
	const char *workflow, *state;
	int64_t N, n;
	int rc, discounted = 0;

	*result = NULL;
	rc = store_begin(r->store, err);
	if (rc)
		return rc;
	rc = staging_get_header(r->store, batch_id, &b, err);
	if (rc)
		goto rollback;
	workflow = json_string_value(json_object_get(b, "workflow"));
	sampling_for(r->policy, workflow, &sp);
	rc = staging_judge(r->store, batch_id, item, principal, r->surface, pass, note, &res, err);
	state = json_string_value(json_object_get(res, "state"));
	/* the sample is complete: its verdicts and outcome become the
	 * workflow's evidence together, so a sample a person approves past
	 * unfinished (an override) adds none */
	/* a verdict on a seeded check is the reviewer's record, in the
	 * transaction of the verdict */
	if (!rc && json_object_get(res, "seeded_check"))
		rc = reliability_record(
			r->store, principal, workflow,
			json_is_true(json_object_get(json_object_get(res, "seeded_check"), "caught")),
			err);
	if (!rc && state && (!strcmp(state, "approved") || !strcmp(state, "blocked")))
		rc = sample_evidence(r, workflow, &sp, principal,
				     json_integer_value(json_object_get(res, "passed")),
				     json_integer_value(json_object_get(res, "failed")) > 0,
				     json_is_true(json_object_get(res, "check_missed")), &discounted,
				     err);
	if (!rc && state && !strcmp(state, "blocked"))
		rc = notify_batch(r->store, r->policy, batch_id, "blocked", workflow,
				  json_string_value(json_object_get(b, "principal")),
				  json_string_value(json_object_get(b, "action")),
				  json_integer_value(json_object_get(b, "radius")), err);
	if (rc)
		goto rollback;
	rc = store_commit(r->store, err);
	if (rc)
		goto out;
	sample = json_object_get(b, "sample");
	N = json_integer_value(json_object_get(sample, "N"));
	n = (int64_t)json_array_size(json_object_get(sample, "items")) -
	    json_integer_value(json_object_get(res, "unjudged"));
	sampling_statement(statement, sizeof statement, N,
			   json_real_value(json_object_get(sample, "defect_rate")), n, pass ? 0 : 1);
	json_object_set_new(res, "statement", json_string(statement));
	if (discounted)
		json_object_set_new(res, "evidence",
				    json_string(json_is_true(json_object_get(res, "check_missed"))
							? "not counted: a seeded check in this sample"
							  " was passed"
							: "not counted: your catch rate on seeded checks"
							  " is below the policy's min_catch_rate"));
	*result = res;
	res = NULL;
	goto out;
rollback:
	store_rollback(r->store);
out:
	json_decref(res);
	json_decref(b);
	return rc;
}
