/* cmd_show.c — `airlock show BATCH`: a reviewable diff in the spirit of
 * `terraform plan`: per record, field old → new, reason, evidence. */
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "cli.h"
#include "cmd_show.h"
#include "policy.h"
#include "staging.h"
#include "summary.h"
#include "text.h"
#include "upwrite.h"

static void value_text(json_t *v, char *buf, size_t len)
{
	char *t;

	if (!v || json_is_null(v))
		(void)snprintf(buf, len, "(empty)");
	else if (json_is_string(v))
		(void)snprintf(buf, len, "%s", json_string_value(v));
	else {
		t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		(void)snprintf(buf, len, "%s", t ? t : "?");
		free(t);
	}
}

/* The evidence a proposal cites, with each signal's own text, so a reviewer
 * judges the item without leaving the page. Book text is shown, never run. */
static void print_evidence(struct store *s, json_t *evidence, const struct paint *p)
{
	struct err err = {0};
	json_t *v, *sig = NULL;
	size_t i;

	json_array_foreach(evidence, i, v)
	{
		const char *id = json_string_value(v);

		/* the signal's text was imported: escaped like the batch's own */
		if (id && book_get(s, BOOK_SIGNAL, id, &sig, &err) == 0 &&
		    text_json_escape(sig, NULL) == 0) {
			printf("        %sevidence %s: %s %.10s \"%s\"%s\n", p->dim, id,
			       json_string_value(json_object_get(sig, "kind")),
			       json_string_value(json_object_get(sig, "observed_at")),
			       json_string_value(json_object_get(sig, "detail"))
				       ? json_string_value(json_object_get(sig, "detail"))
				       : "",
			       p->off);
		} else {
			char buf[200];

			value_text(v, buf, sizeof buf);
			printf("        %sevidence %s (not a known signal)%s\n", p->dim, buf, p->off);
		}
		json_decref(sig);
		sig = NULL;
	}
}

/* One message of a send batch: who receives it, the subject, the first
 * lines of the body, as the reviewer must read them before approving. */
static void print_send_item(json_t *it, const struct paint *p)
{
	json_t *d = json_object_get(it, "before"), *r;
	const char *body = json_string_value(json_object_get(d, "body"));
	size_t i;
	int lines = 0;

	printf("  %s✉%s draft %s  account %s  audience: %s\n", p->head, p->off,
	       json_string_value(json_object_get(it, "record_id")),
	       json_string_value(json_object_get(d, "account_id"))
		       ? json_string_value(json_object_get(d, "account_id"))
		       : "?",
	       json_string_value(json_object_get(d, "audience"))
		       ? json_string_value(json_object_get(d, "audience"))
		       : "-");
	json_array_foreach(json_object_get(d, "recipients"), i, r)
		printf("      to: %s <%s>\n", json_string_value(json_object_get(r, "name"))
					       ? json_string_value(json_object_get(r, "name"))
					       : "",
		       json_string_value(json_object_get(r, "address")));
	printf("      subject: %s\n", json_string_value(json_object_get(d, "subject"))
					 ? json_string_value(json_object_get(d, "subject"))
					 : "");
	while (body && *body && lines < 4) {
		const char *nl = strchr(body, '\n');
		int len = nl ? (int)(nl - body) : (int)strlen(body);

		printf("      %s| %.*s%s\n", p->dim, len > 100 ? 100 : len, body, p->off);
		body = nl ? nl + 1 : body + len;
		lines++;
	}
}

/* 1 when the batch's recorded sample drew item idx (1-based). */
int show_item_drawn(json_t *b, int64_t idx)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(b, "sample"), "items"), i, v)
		if (json_integer_value(v) == idx)
			return 1;
	return 0;
}

/* Why a waiting item will conflict when the CRM moved the record: the
 * newest `import --refresh` values since the batch was staged. */
static void print_crm_refresh(struct store *s, const char *record_id, const char *since,
			      const struct paint *p)
{
	struct store_stmt *st;
	struct err e = {0};
	json_t *crm, *v;
	const char *k;
	char nv[256];

	if (!record_id || !since ||
	    store_prepare(s, "SELECT at,crm FROM crm_refresh WHERE record_id=?1 AND at>=?2"
			     " ORDER BY log_seq DESC LIMIT 1", &st, &e))
		return;
	store_bind_text(st, 1, record_id);
	store_bind_text(st, 2, since);
	if (store_step(st, &e) == STORE_ROW) {
		printf("      %schanged in the CRM (import --refresh at %s):%s\n", p->bad,
		       store_col_text(st, 0), p->off);
		crm = json_loads(store_col_text(st, 1), 0, NULL);
		json_object_foreach(crm, k, v)
		{
			value_text(v, nv, sizeof nv);
			printf("        CRM %s: %s%s%s\n", k, p->new, nv, p->off);
		}
		json_decref(crm);
	}
	store_done(st);
}

/* One item as a reviewer judges it: its number (1-based, the one judge
 * takes and refusals name), whether the sample drew it, the record's name,
 * each field old → new, the reason and the text of its evidence. */
void show_item(struct store *s, json_t *b, json_t *it, const struct paint *p)
{
	json_t *ch = json_object_get(it, "changes"), *before = json_object_get(it, "before"), *v;
	const char *k, *ist = json_string_value(json_object_get(it, "state"));
	const char *state = json_string_value(json_object_get(b, "state"));
	json_t *cv = json_object_get(it, "current_version");
	int64_t idx = json_integer_value(json_object_get(it, "idx"));
	char ov[256], nv[256], num[48];

	(void)snprintf(num, sizeof num, "#%lld%s", (long long)idx,
		       show_item_drawn(b, idx) ? " ★drawn" : "");
	if (!strcmp(json_string_value(json_object_get(b, "action")), "send")) {
		printf("  %s%s%s", p->head, num, p->off);
		print_send_item(it, p);
		return;
	}
	/* an upstream's record is named by the tool that writes it
	 * (upwrite_describe), not as one of the book's accounts */
	printf("  %s%s ~%s %s %s  %s (%s, %s)%s%s%s\n", p->head, num, p->off,
	       json_string_value(json_object_get(b, "record_kind"))
		       ? json_string_value(json_object_get(b, "record_kind"))
		       : "account",
	       json_string_value(json_object_get(it, "record_id")),
	       /* an upstream's record may have no name */
	       json_string_value(json_object_get(before, "name"))
		       ? json_string_value(json_object_get(before, "name"))
		       : "-",
	       json_string_value(json_object_get(before, "segment"))
		       ? json_string_value(json_object_get(before, "segment"))
		       : "-",
	       json_string_value(json_object_get(before, "region"))
		       ? json_string_value(json_object_get(before, "region"))
		       : "-",
	       strcmp(ist, "pending") ? "  [" : "", strcmp(ist, "pending") ? ist : "",
	       strcmp(ist, "pending") ? "]" : "");
	if (!strcmp(state, "approved") || !strcmp(state, "staged") || !strcmp(state, "sampled") ||
	    !strcmp(state, "blocked")) {
		if (json_integer_value(cv) != json_integer_value(json_object_get(it, "version")))
			printf("      %schanged since staged (version %lld → %lld): will "
			       "conflict%s\n",
			       p->bad, (long long)json_integer_value(json_object_get(it, "version")),
			       (long long)json_integer_value(cv), p->off);
		if (json_integer_value(cv) != json_integer_value(json_object_get(it, "version")))
			print_crm_refresh(s, json_string_value(json_object_get(it, "record_id")),
					  json_string_value(json_object_get(b, "created_at")), p);
	}
	json_object_foreach(ch, k, v)
	{
		json_t *old = !strncmp(k, "custom.", 7)
				      ? json_object_get(json_object_get(before, "custom"), k + 7)
				      : json_object_get(before, k);

		value_text(old, ov, sizeof ov);
		value_text(v, nv, sizeof nv);
		printf("      %s: %s%s%s → %s%s%s\n", k, p->old, ov, p->off, p->new, nv, p->off);
	}
	{
		size_t j;
		json_t *r;

		json_array_foreach(json_object_get(it, "reasons"), j, r)
			printf("        reason: %s\n", json_string_value(r));
	}
	print_evidence(s, json_object_get(it, "evidence"), p);
	if (json_is_string(json_object_get(it, "verdict")))
		printf("        sample verdict: %s by %s\n",
		       json_string_value(json_object_get(it, "verdict")),
		       json_string_value(json_object_get(it, "verdict_by")));
}

/* The batch's summary (summary.h) as a block of lines over its items. */
void show_summary(struct cli *cli, struct store *s, json_t *b, const struct paint *p)
{
	struct policy *pol = cli_policy(cli, 0);
	struct summary_opts o = {pol ? pol->evidence_max_age : SUMMARY_EVIDENCE_MAX_AGE, 0};
	struct err err = {0};
	json_t *sum = NULL, *v;
	size_t i;

	if (summary_batch(s, b, &o, &sum, &err) || cli_escape(cli, sum) != CLI_OK) {
		printf("summary: not available (%s)\n", err.msg[0] ? err.msg : "escaping failed");
		json_decref(sum);
		return;
	}
	printf("%ssummary%s\n", p->head, p->off);
	json_array_foreach(json_object_get(sum, "lines"), i, v)
		printf("  %s%s%s\n", i ? p->bad : "", json_string_value(v), i ? p->off : "");
	json_decref(sum);
}

const struct paint *show_paint(void)
{
	static const struct paint color = {"\033[31m", "\033[32m", "\033[1m", "\033[2m",
					   "\033[33m", "\033[0m"};
	static const struct paint plain = {"", "", "", "", "", ""};

	return cli_color() ? &color : &plain;
}

static const char *verbs_for(const char *state)
{
	if (!strcmp(state, "staged"))
		return "airlock sample (then judge), reject; or approve --override --reason TEXT";
	if (!strcmp(state, "sampled"))
		return "airlock judge, reject; or approve --override --reason TEXT";
	if (!strcmp(state, "blocked"))
		return "airlock approve, reject";
	if (!strcmp(state, "approved"))
		return "airlock apply";
	if (!strcmp(state, "applied"))
		return "airlock undo";
	return "none: the batch is finished";
}

static void print_batch(struct cli *cli, struct store *s, json_t *b, long limit,
			const struct paint *p)
{
	json_t *items = json_object_get(b, "item_list"), *it, *refused, *v;
	const char *state = json_string_value(json_object_get(b, "state"));
	size_t i, n = json_array_size(items);

	printf("%sbatch %lld%s · %s · workflow %s · %s · %s\n", p->head,
	       (long long)json_integer_value(json_object_get(b, "id")), p->off, state,
	       json_string_value(json_object_get(b, "workflow")),
	       json_string_value(json_object_get(b, "principal")),
	       json_string_value(json_object_get(b, "action")));
	printf("instruction version: %s\n",
	       json_string_value(json_object_get(b, "instruction_version"))
		       ? json_string_value(json_object_get(b, "instruction_version"))
		       : "(none)");
	if (json_string_value(json_object_get(b, "instruction_claim")))
		printf("instruction version claimed by the agent (not the version): %s\n",
		       json_string_value(json_object_get(b, "instruction_claim")));
	printf("scope: %s\n", json_string_value(json_object_get(b, "scope"))
				      ? json_string_value(json_object_get(b, "scope"))
				      : "(none)");
	printf("rationale: %s\n", json_string_value(json_object_get(b, "rationale"))
					  ? json_string_value(json_object_get(b, "rationale"))
					  : "(none)");
	printf("radius: %lld record(s) · %zu item(s) · created %s · expires %s\n",
	       (long long)json_integer_value(json_object_get(b, "radius")), n,
	       json_string_value(json_object_get(b, "created_at")),
	       json_string_value(json_object_get(b, "expires_at"))
		       ? json_string_value(json_object_get(b, "expires_at"))
		       : "never");
	json_array_foreach(json_object_get(b, "reasons"), i, v)
		printf("why: %s\n", json_string_value(v));
	v = json_object_get(b, "override");
	if (json_is_object(v))
		printf("%sOVERRIDE: approved by %s past the sample audit (%s); reason: %s%s\n",
		       p->bad,
		       json_string_value(json_object_get(b, "decided_by"))
			       ? json_string_value(json_object_get(b, "decided_by"))
			       : "?",
		       json_string_value(json_object_get(v, "skipped"))
			       ? json_string_value(json_object_get(v, "skipped"))
			       : "?",
		       json_string_value(json_object_get(v, "reason"))
			       ? json_string_value(json_object_get(v, "reason"))
			       : "?",
		       p->off);
	printf("\n");
	show_summary(cli, s, b, p);
	printf("\nitems, numbered from 1 as judge and refusals number them (★drawn: in the "
	       "sample)\n");
	json_array_foreach(items, i, it)
	{
		if (limit > 0 && (long)i >= limit) {
			printf("  … %zu more: airlock show %lld --limit 0\n", n - i,
			       (long long)json_integer_value(json_object_get(b, "id")));
			break;
		}
		show_item(s, b, it, p);
	}
	refused = json_object_get(b, "refused");
	if (json_array_size(refused)) {
		printf("\n%srefused (%zu): not part of the batch%s\n", p->bad, json_array_size(refused),
		       p->off);
		json_array_foreach(refused, i, v)
			printf("  ✗ item %lld %s: [%s] %s\n",
			       (long long)json_integer_value(json_object_get(v, "item")),
			       json_string_value(json_object_get(v, "record_id"))
				       ? json_string_value(json_object_get(v, "record_id"))
				       : "",
			       json_string_value(json_object_get(v, "rule")),
			       json_string_value(json_object_get(v, "reason")));
	}
	printf("\nnext: %s\n", !strcmp(json_string_value(json_object_get(b, "action")), "send") &&
					 !strcmp(state, "applied")
				 ? "none: sent messages cannot be recalled"
				 : verbs_for(state));
}

int cmd_show(struct cli *cli, int argc, char **argv)
{
	static const struct option extra[] = {{"limit", required_argument, NULL, 'l'},
					      {"summary", no_argument, NULL, 's'},
					      {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct store *s;
	json_t *b;
	int64_t id;
	long limit = 50;
	int c, done = 0, rc, only_summary = 0;

	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 's')
			only_summary = 1;
		if (c == 'l' && cli_parse_long(cli, "--limit", optarg, 0, 100000000, &limit))
			return CLI_USAGE;
	}
	rc = cli_batch_arg(cli, argc, argv, &id);
	if (rc)
		return rc;
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	if (staging_expire(s, NULL, &err) || staging_get(s, id, &b, &err))
		return cli_fail_err(cli, &err);
	if (upwrite_describe(s, b, &err)) {
		json_decref(b);
		return cli_fail_err(cli, &err);
	}
	if (only_summary || cli->json) {
		struct policy *pol = cli_policy(cli, 0);
		struct summary_opts o = {pol ? pol->evidence_max_age : SUMMARY_EVIDENCE_MAX_AGE, 0};
		json_t *sum = NULL;

		if (summary_batch(s, b, &o, &sum, &err)) {
			json_decref(b);
			return cli_fail_err(cli, &err);
		}
		if (only_summary && cli->json)
			rc = cli_print_json(cli, sum);
		else if (cli->json) {
			json_object_set(b, "summary", sum);
			rc = cli_print_json(cli, b);
		} else if ((rc = cli_escape(cli, sum)) == CLI_OK) {
			size_t i;
			json_t *v;

			json_array_foreach(json_object_get(sum, "lines"), i, v)
				printf("%s\n", json_string_value(v));
		}
		json_decref(sum);
	} else if ((rc = cli_escape(cli, b)) == CLI_OK)
		print_batch(cli, s, b, limit, show_paint());
	json_decref(b);
	return rc;
}
