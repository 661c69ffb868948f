/* policy.c — loading a policy file, looking things up in it, the blast
 * radius of a workflow, and policy_decide(). The YAML itself is
 * policy_yaml.c and policy_schema.c. */
#include "policy_int.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"

/* Reads the whole file (at most POLICY_FILE_MAX bytes). */
static int read_file(const char *path, unsigned char **out, size_t *len, struct err *err)
{
	unsigned char *buf = NULL;
	size_t n = 0, got, cap = 4096;
	struct stat sb;
	FILE *f;
	int rc = 0;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f)
		return err_set(err, errno == ENOENT ? AIRLOCK_ENOTFOUND : AIRLOCK_EIO,
			       "cannot read %s: %s%s", path, strerror(errno),
			       errno == ENOENT ? " (run 'airlock init' to write the default policy)"
					       : "");
	/* sized by the file, grown while it reads (a file may grow meanwhile):
	 * a megabyte per load made every load (and every fuzz run) pay for a
	 * page of YAML as if it were the largest allowed */
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= 0 &&
	    sb.st_size < POLICY_FILE_MAX)
		cap = (size_t)sb.st_size + 1;
	for (;;) {
		unsigned char *grown = realloc(buf, cap);

		if (!grown) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory reading %s", path);
			goto out;
		}
		buf = grown;
		while (n < cap && (got = fread(buf + n, 1, cap - n, f)) > 0)
			n += got;
		if (n < cap || cap == POLICY_FILE_MAX + 1 || ferror(f))
			break;
		cap = cap > (POLICY_FILE_MAX + 1) / 2 ? POLICY_FILE_MAX + 1 : cap * 2;
	}
	if (ferror(f)) {
		rc = err_set(err, AIRLOCK_EIO, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (n > POLICY_FILE_MAX) {
		rc = err_set(err, AIRLOCK_EINVAL,
			     "%s: larger than %d bytes; a policy is a page of "
			     "YAML",
			     path, POLICY_FILE_MAX);
		goto out;
	}
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* Reads and parses path; *out is the policy when it has no problem. */
static int parse_file(const char *path, struct policy **out, struct policy_problems *pp,
		      struct err *err)
{
	unsigned char *buf, hash[crypto_generichash_BYTES];
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = read_file(path, &buf, &len, err);
	if (rc)
		return rc;
	rc = policy_parse(path, buf, len, out, pp);
	if (rc) {
		err_set(err, rc, "out of memory checking %s", path);
	} else if (*out) {
		/* BLAKE2b-256 of the exact bytes: the policy's version in the log */
		if (sodium_init() < 0 ||
		    crypto_generichash(hash, sizeof hash, buf, len, NULL, 0) != 0) {
			policy_free(*out);
			*out = NULL;
			rc = err_set(err, AIRLOCK_EIO, "cannot hash %s: libsodium failed", path);
		} else {
			sodium_bin2hex((*out)->digest, sizeof(*out)->digest, hash, sizeof hash);
		}
	}
	free(buf);
	return rc;
}

int policy_load(const char *path, struct policy **out, struct err *err)
{
	struct policy_problems pp = {0};
	int rc;

	rc = parse_file(path, out, &pp, err);
	if (rc == 0 && !*out) {
		rc =
		    err_set(err, AIRLOCK_EINVAL, "%s:%d:%d: %s%s", path, pp.v[0].line, pp.v[0].col,
			    pp.v[0].msg, pp.n > 1 ? " (and more: see 'airlock policy check')" : "");
	}
	policy_problems_free(&pp);
	return rc;
}

/* Replaces each byte that is not part of valid UTF-8 with '?': a problem
 * quoting the file's text, cut to fit inside a character, must still be a
 * JSON string (else the check answered "out of memory"). */
static void utf8_scrub(char *s)
{
	size_t len = strlen(s), off = 0, bad;

	while (off < len && !csv_utf8_valid(s + off, len - off, &bad)) {
		s[off + bad] = '?';
		off += bad + 1;
	}
}

int policy_check(const char *path, json_t **problems, struct err *err)
{
	struct policy_problems pp = {0};
	struct policy *p = NULL;
	json_t *a = NULL, *o;
	char *file = NULL;
	int rc, i;

	*problems = NULL;
	rc = parse_file(path, &p, &pp, err);
	if (rc)
		goto out;
	a = json_array();
	file = strdup(path);
	if (!a || !file) {
		rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
		goto out;
	}
	utf8_scrub(file);
	for (i = 0; i < pp.n; i++) {
		utf8_scrub(pp.v[i].msg);
		o = json_pack("{s:s,s:i,s:i,s:s}", "file", file, "line", pp.v[i].line, "col",
			      pp.v[i].col, "message", pp.v[i].msg);
		if (!o || json_array_append_new(a, o)) {
			rc = err_set(err, AIRLOCK_ENOMEM, "out of memory");
			goto out;
		}
	}
	*problems = a;
	a = NULL;
out:
	free(file);
	json_decref(a);
	policy_free(p);
	policy_problems_free(&pp);
	return rc;
}

const struct policy_workflow *policy_workflow(const struct policy *p, const char *name)
{
	int i;

	if (!p || !name)
		return NULL;
	for (i = 0; i < p->nworkflows; i++)
		if (strcmp(p->workflows[i].name, name) == 0)
			return &p->workflows[i];
	return NULL;
}

int policy_workflow_has_tool(const struct policy_workflow *wf, const char *tool)
{
	int i;

	if (!wf || !tool)
		return 0;
	for (i = 0; i < wf->ntools; i++)
		if (strcmp(wf->tools[i], tool) == 0)
			return 1;
	return 0;
}

const struct policy_workflow *policy_workflow_for_tool(const struct policy *p, const char *tool)
{
	int i;

	if (!p || !tool)
		return NULL;
	for (i = 0; i < p->nworkflows; i++)
		if (policy_workflow_has_tool(&p->workflows[i], tool))
			return &p->workflows[i];
	return NULL;
}

const struct policy_workflow *policy_workflow_for_call(const struct policy *p, const char *tool,
						       const char *workflow)
{
	const struct policy_workflow *wf;

	if (!workflow)
		return policy_workflow_for_tool(p, tool);
	wf = policy_workflow(p, workflow);
	return policy_workflow_has_tool(wf, tool) ? wf : NULL;
}

#define POLICY_NAME_MAX 64 /* longest name compared for a did-you-mean */

/* Edit distance of a and b after folding case and trimming blanks, or -1
 * when either is too long to compare (a did-you-mean needs no more). */
static int name_distance(const char *a, const char *b)
{
	char x[POLICY_NAME_MAX + 1], y[POLICY_NAME_MAX + 1];
	int prev[POLICY_NAME_MAX + 1], cur[POLICY_NAME_MAX + 1];
	size_t n = 0, m = 0, i, j, la, lb;

	while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')
		a++;
	while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r')
		b++;
	la = strlen(a);
	lb = strlen(b);
	while (la && (a[la - 1] == ' ' || a[la - 1] == '\t' || a[la - 1] == '\n' || a[la - 1] == '\r'))
		la--;
	while (lb && (b[lb - 1] == ' ' || b[lb - 1] == '\t' || b[lb - 1] == '\n' || b[lb - 1] == '\r'))
		lb--;
	if (la > POLICY_NAME_MAX || lb > POLICY_NAME_MAX)
		return -1;
	for (i = 0; i < la; i++)
		x[n++] = (char)((a[i] >= 'A' && a[i] <= 'Z') ? a[i] - 'A' + 'a' : a[i]);
	for (j = 0; j < lb; j++)
		y[m++] = (char)((b[j] >= 'A' && b[j] <= 'Z') ? b[j] - 'A' + 'a' : b[j]);
	for (j = 0; j <= m; j++)
		prev[j] = (int)j;
	for (i = 1; i <= n; i++) {
		cur[0] = (int)i;
		for (j = 1; j <= m; j++) {
			int best = prev[j - 1] + (x[i - 1] != y[j - 1]);

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		memcpy(prev, cur, (m + 1) * sizeof prev[0]);
	}
	return prev[m];
}

const struct policy_workflow *policy_workflow_suggest(const struct policy *p, const char *tool,
						      const char *name)
{
	const struct policy_workflow *best = NULL;
	enum policy_effect e;
	int i, dist, bestd = -1;

	if (!p || !tool || !name || policy_tool_effect(tool, &e))
		return NULL;
	for (i = 0; i < p->nworkflows; i++) {
		const struct policy_workflow *wf = &p->workflows[i];

		if (!policy_workflow_has_tool(wf, tool) || wf->effect != e)
			continue;
		dist = name_distance(name, wf->name);
		/* a slip, not another word: at most 2 edits, or a third of the name */
		if (dist < 0 || (dist > 2 && dist * 3 > (int)strlen(wf->name)))
			continue;
		if (bestd < 0 || dist < bestd) {
			bestd = dist;
			best = wf;
		}
	}
	return best;
}

int policy_field_allowed(const struct policy_workflow *wf, const char *field)
{
	int i;

	if (!wf || !field || wf->effect != EFFECT_WRITE || strcmp(field, "custom.*") == 0)
		return 0; /* "custom.*" is a pattern of the policy, never a field */
	for (i = 0; i < wf->nfields; i++) {
		if (strcmp(wf->fields[i], field) == 0)
			return 1;
		/* custom.* covers custom.NAME, never a built-in field */
		if (strcmp(wf->fields[i], "custom.*") == 0 && strncmp(field, "custom.", 7) == 0 &&
		    field[7] != '\0' && strcmp(field + 7, "*") != 0)
			return 1;
	}
	return 0;
}

const char *policy_effect_name(enum policy_effect e)
{
	switch (e) {
	case EFFECT_READ:
		return "read";
	case EFFECT_DRAFT:
		return "draft";
	case EFFECT_WRITE:
		return "write";
	case EFFECT_SEND:
		return "send";
	}
	return "unknown";
}

const char *policy_decision_name(enum decision_kind k)
{
	switch (k) {
	case DECISION_DRAFT:
		return "draft";
	case DECISION_STAGED:
		return "staged";
	case DECISION_BLOCKED:
		return "blocked";
	case DECISION_ALLOWED:
		return "allowed";
	}
	return "blocked";
}

int64_t policy_radius(const struct policy_workflow *wf, const char **why, int *flagged)
{
	const char *w;
	int64_t r = 0;
	int f = 0;

	if (!wf) {
		w = "no such workflow: its calls are blocked";
	} else if (wf->effect == EFFECT_READ) {
		w = "reads change nothing";
	} else if (wf->effect == EFFECT_DRAFT) {
		w = "drafts wait for a person; the book does not change and nothing is sent";
	} else if (wf->effect != EFFECT_WRITE && wf->effect != EFFECT_SEND) {
		w = "unknown effect: its calls are blocked";
	} else if (wf->unattended && wf->unattended_max <= 0) {
		r = POLICY_RADIUS_UNBOUNDED;
		f = 1;
		w = wf->effect == EFFECT_SEND
			? "unattended with no unattended_max: one action can send any number "
			  "of messages with no person approving"
			: "unattended with no unattended_max: one action can alter any number "
			  "of records with no person looking";
	} else if (wf->unattended) {
		r = wf->unattended_max;
		w = wf->effect == EFFECT_SEND
			? "unattended: up to unattended_max messages per action go out with no "
			  "person approving; more are staged or blocked"
			: "unattended: up to unattended_max records per action apply with no "
			  "person looking; more are staged or blocked";
	} else if (!wf->reversible) {
		w = wf->effect == EFFECT_SEND
			? "sends cannot be undone: every one is blocked until "
			  "a person approves it"
			: "irreversible: every batch is blocked until a person "
			  "approves it";
	} else {
		w = "staged: nothing applies until a sample audit passes; past stage_max "
		    "(counting the agent's running total) it is blocked for a person";
	}
	if (why)
		*why = w;
	if (flagged)
		*flagged = f;
	return r;
}

static void reason(struct decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(struct decision *d, const char *fmt, ...)
{
	va_list ap;

	if (d->nreasons >= DECISION_REASONS_MAX)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(d->reasons[d->nreasons++], DECISION_REASON_LEN, fmt, ap);
	va_end(ap);
}

#define BLOCKED_FOR_HUMAN "blocked for a human's approval"

/* Write and send: unattended within its cap, else staged when small and
 * reversible, else blocked — every reason that applies is given. */
static void decide_change(const struct policy_workflow *wf, const struct decision_input *in,
			  struct decision *out)
{
	long long r = in->radius, cum = in->cumulative;
	int blocked = 0;

	if (wf->unattended) {
		if (wf->unattended_max <= 0) {
			out->kind = DECISION_ALLOWED;
			reason(out,
			       "workflow '%s' runs unattended with no unattended_max: radius "
			       "%lld applied with no human",
			       wf->name, r);
			return;
		}
		if (r <= wf->unattended_max) {
			out->kind = DECISION_ALLOWED;
			reason(out,
			       "radius %lld is within unattended_max %lld for workflow '%s', "
			       "which runs unattended: applied with no human",
			       r, (long long)wf->unattended_max, wf->name);
			return;
		}
		reason(out,
		       "radius %lld exceeds unattended_max %lld for workflow '%s': not "
		       "applied unattended",
		       r, (long long)wf->unattended_max, wf->name);
	}
	if (!wf->reversible) {
		blocked = 1;
		if (wf->effect == EFFECT_SEND)
			reason(out,
			       "workflow '%s' sends %lld message%s, which cannot be "
			       "unsent: " BLOCKED_FOR_HUMAN,
			       wf->name, r, r == 1 ? "" : "s");
		else
			reason(out,
			       "workflow '%s' is irreversible (%lld records): " BLOCKED_FOR_HUMAN,
			       wf->name, r);
	} else if (wf->stage_max <= 0) {
		blocked = 1;
		reason(out, "workflow '%s' has no stage_max: " BLOCKED_FOR_HUMAN, wf->name);
	} else if (cum > wf->stage_max) {
		blocked = 1;
		if (cum == r)
			reason(out,
			       "radius %lld exceeds stage_max %lld for workflow "
			       "'%s': " BLOCKED_FOR_HUMAN,
			       r, (long long)wf->stage_max, wf->name);
		else
			reason(out,
			       "radius %lld (running total %lld waiting for a person) exceeds "
			       "stage_max %lld for workflow '%s': " BLOCKED_FOR_HUMAN,
			       r, cum, (long long)wf->stage_max, wf->name);
	}
	if (in->pending_batches >= wf->max_pending) {
		blocked = 1;
		reason(out,
		       "%lld batches of this agent already wait unreviewed, and "
		       "max_pending_batches is %lld for workflow '%s': " BLOCKED_FOR_HUMAN,
		       (long long)in->pending_batches, (long long)wf->max_pending, wf->name);
	}
	if (blocked) {
		out->kind = DECISION_BLOCKED;
		return;
	}
	out->kind = DECISION_STAGED;
	reason(out,
	       "radius %lld (running total %lld waiting for a person) is within "
	       "stage_max %lld for workflow '%s' and can be undone: staged for a sample audit "
	       "(%.4g%% confidence, %.4g%% tolerated defects)",
	       r, cum, (long long)wf->stage_max, wf->name, wf->sampling.confidence * 100,
	       wf->sampling.defect_rate * 100);
}

void policy_decide(const struct policy *p, const struct decision_input *in, struct decision *out)
{
	const struct policy_workflow *wf = in ? in->wf : NULL;
	uintptr_t w = (uintptr_t)wf, lo, hi;

	out->kind = DECISION_BLOCKED;
	out->nreasons = 0;
	if (!p) {
		reason(out, "no policy is loaded, so nothing may change: " BLOCKED_FOR_HUMAN);
		return;
	}
	if (!wf) {
		reason(out, "the call belongs to no workflow of the policy: " BLOCKED_FOR_HUMAN);
		return;
	}
	lo = (uintptr_t)p->workflows;
	hi = (uintptr_t)(p->workflows + p->nworkflows);
	if (w < lo || w >= hi || (w - lo) % sizeof *wf != 0) {
		reason(out, "the workflow is not one of the loaded policy's: " BLOCKED_FOR_HUMAN);
		return;
	}
	if (in->radius < 0 || in->cumulative < in->radius || in->pending_batches < 0) {
		reason(out,
		       "inconsistent totals (radius %lld, cumulative %lld, pending "
		       "%lld): " BLOCKED_FOR_HUMAN,
		       (long long)in->radius, (long long)in->cumulative,
		       (long long)in->pending_batches);
		return;
	}
	switch (wf->effect) {
	case EFFECT_READ:
		out->kind = DECISION_ALLOWED;
		reason(out, "workflow '%s' only reads: allowed", wf->name);
		return;
	case EFFECT_DRAFT:
		out->kind = DECISION_DRAFT;
		reason(out,
		       "workflow '%s' drafts: stored for a person to review; the book does "
		       "not change",
		       wf->name);
		return;
	case EFFECT_WRITE:
	case EFFECT_SEND:
		decide_change(wf, in, out);
		return;
	}
	reason(out, "workflow '%s' has an unknown effect: " BLOCKED_FOR_HUMAN, wf->name);
}
