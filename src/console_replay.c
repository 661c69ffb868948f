/* console_replay.c — policy replay in the console (issue 21), beside the
 * CLI's `airlock policy replay`:
 *   GET  /api/replay   the last replay run (from the log, whoever ran it and
 *                      from where): {"run": {seq, at, principal, surface,
 *                      policy, digest, since}, "report"} or {"run": null}
 *   POST /api/replay   admin only: {"policy": "<the candidate's YAML>",
 *                      "name"?: "what to call it", "since"?: "30d"} replays
 *                      under it against the policy in force and answers
 *                      as GET does for the run it logged.
 * Nothing is written but the one log entry a replay records (replay_log).
 * The candidate is loaded by policy_load() from a private temporary file,
 * removed at once; its messages name the candidate, not that file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "console_int.h"
#include "fmt.h"
#include "http.h"
#include "policy.h"
#include "replay.h"

/* A candidate larger than this is refused (a policy is a page of YAML). */
#define REPLAY_POLICY_MAX (256 * 1024)
#define REPLAY_NAME_MAX 120

struct last {
	json_t *out;
};

static int take_last(void *ctx, int64_t seq, json_t *entry, const unsigned char hash[AUDIT_HASH_BYTES])
{
	struct last *l = ctx;
	json_t *args = json_object_get(entry, "args");

	(void)hash;
	l->out = json_pack("{s:{s:I,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?},s:O?}", "run", "seq",
			   (json_int_t)seq, "at", json_object_get(entry, "at"), "principal",
			   json_object_get(entry, "principal"), "surface",
			   json_object_get(entry, "surface"), "policy", json_object_get(args, "policy"),
			   "digest", json_object_get(args, "digest"), "since",
			   json_object_get(args, "since"), "report", json_object_get(args, "report"));
	return 1; /* the newest is the one */
}

/* The newest replay run with seq ≤ upto (0: any) into *out. */
static int last_run(struct store *s, int64_t upto, json_t **out, struct err *err)
{
	struct audit_filter f = {0};
	struct last l = {NULL};
	int rc;

	f.tool = "policy replay";
	f.limit = 1;
	f.before_seq = upto ? upto + 1 : 0;
	rc = audit_query(s, &f, take_last, &l, err);
	if (rc < 0) {
		json_decref(l.out);
		return rc;
	}
	*out = l.out ? l.out : json_pack("{s:n}", "run");
	return *out ? 0 : err_set(err, AIRLOCK_ENOMEM, "out of memory");
}

/* The candidate's text in a private file policy_load() can read. */
static int candidate_load(const char *text, const char *name, struct policy **cand,
			  struct err *err)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	size_t len = strlen(text);
	FILE *f;
	int fd, rc;

	if (fmt_buf(path, sizeof path, err, "the temporary file's name", "%s/airlock-replay-XXXXXX",
		    dir && *dir ? dir : "/tmp"))
		return err->code;
	fd = mkstemp(path);
	if (fd < 0)
		return err_set(err, AIRLOCK_EIO, "cannot make a temporary file for the candidate");
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		return err_set(err, AIRLOCK_EIO, "cannot write the candidate");
	}
	rc = fwrite(text, 1, len, f) == len ? 0 : -1;
	rc = fclose(f) || rc ? err_set(err, AIRLOCK_EIO, "cannot write the candidate") : 0;
	if (!rc)
		rc = policy_load(path, cand, err);
	unlink(path);
	/* the message names the candidate, not the file it passed through */
	if (rc && err) {
		char *at = strstr(err->msg, path);

		if (at) {
			char msg[sizeof err->msg];
			size_t pl = strlen(path);

			(void)snprintf(msg, sizeof msg, "%.*s%s%s", (int)(at - err->msg), err->msg, name,
				       at + pl);
			(void)snprintf(err->msg, sizeof err->msg, "%s", msg);
		}
	}
	return rc;
}

static void replay_post(struct console_req *r)
{
	struct err err = {0};
	struct policy *cand = NULL;
	json_t *body, *out = NULL, *report = NULL;
	const char *text, *name, *since_arg;
	char since[AUDIT_TIME_MAX];
	int64_t seq = 0;

	if (!console_need(r, REVIEWER_ADMIN))
		return;
	body = console_body(r);
	if (!body)
		return;
	text = json_string_value(json_object_get(body, "policy"));
	name = json_string_value(json_object_get(body, "name"));
	since_arg = json_string_value(json_object_get(body, "since"));
	if (!name || !*name)
		name = "candidate.yaml";
	if (since_arg && !*since_arg)
		since_arg = NULL;
	if (!text || !*text) {
		console_error(r->res, 400, "policy: give the candidate policy's YAML text");
		goto out;
	}
	if (strlen(text) > REPLAY_POLICY_MAX) {
		console_error(r->res, 400, "policy: %zu bytes; a candidate may have %d",
			      strlen(text), REPLAY_POLICY_MAX);
		goto out;
	}
	if (strlen(name) > REPLAY_NAME_MAX || strpbrk(name, "/\\\n\r")) {
		console_error(r->res, 400, "name: a file name of at most %d characters, no path",
			      REPLAY_NAME_MAX);
		goto out;
	}
	if (since_arg && audit_parse_time(since_arg, since, &err)) {
		console_error(r->res, 400, "since: %s", err.msg);
		goto out;
	}
	if (json_object_get(body, "since") && !since_arg && !json_is_string(json_object_get(body, "since"))) {
		console_error(r->res, 400, "since: an age (30d) or a date");
		goto out;
	}
	if (candidate_load(text, name, &cand, &err)) {
		console_fail(r->res, &err);
		goto out;
	}
	if (replay_run(r->s, r->policy, cand, since_arg ? since : NULL, &report, &err) ||
	    replay_log(r->s, r->who.principal, "console", name, cand->digest, since_arg, report, &seq,
		       &err) ||
	    last_run(r->s, seq, &out, &err)) {
		console_fail(r->res, &err);
		goto out;
	}
	console_json(r->res, 200, out);
out:
	policy_free(cand);
	json_decref(report);
	json_decref(body);
}

void console_api_replay(struct console_req *r)
{
	struct err err = {0};
	json_t *out = NULL;

	if (!r->get) {
		if (strcmp(r->req->method, "POST") != 0) {
			console_error(r->res, 405, "GET or POST /api/replay");
			return;
		}
		replay_post(r);
		return;
	}
	if (last_run(r->s, 0, &out, &err))
		console_fail(r->res, &err);
	else
		console_json(r->res, 200, out);
}
