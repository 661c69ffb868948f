/* cmd_outbox.c — `airlock outbox`: messages waiting, failed or of unknown
 * fate; delivering approved ones; a person's decisions on single messages.
 *
 * The relay comes from options and AIRLOCK_SMTP_* variables (the password
 * only from $AIRLOCK_SMTP_PASSWORD, never from the command line). The
 * audience rules are the policy's as it is when deliver runs: a deliver
 * that cannot load the policy sends nothing, and options may only tighten
 * the rules (more competitor domains, a longer window, fewer touches). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_identity.h"
#include "gate.h"
#include "policy.h"
#include "outreach.h"

#define MAX_COMPETITORS 64

static const char *s_(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

static long long id_of(json_t *o)
{
	return (long long)json_integer_value(json_object_get(o, "id"));
}

static void print_row(const char *label, json_t *o)
{
	printf("%-9s %-6lld %-28s %s", label, id_of(o), s_(o, "address"), s_(o, "draft_id"));
	if (*s_(o, "last_error"))
		printf("  %s", s_(o, "last_error"));
	else if (!strcmp(label, "sent"))
		printf("  %s", s_(o, "message_id"));
	putchar('\n');
}

static int print_list(json_t *rows)
{
	json_t *o;
	size_t i;
	int attention = 0;

	if (json_array_size(rows) == 0) {
		puts("the outbox is empty: nothing pending, failed or unknown");
		return 0;
	}
	printf("%-6s %-9s %-8s %-20s %-28s %s\n", "ID", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "TO",
	       "DRAFT / ERROR");
	json_array_foreach(rows, i, o)
	{
		const char *st = s_(o, "state");
		int pending = !strcmp(st, "intended");

		printf("%-6lld %-9s %-8lld %-20s %-28s %s", id_of(o), pending ? "pending" : st,
		       (long long)json_integer_value(json_object_get(o, "attempts")),
		       pending ? s_(o, "next_attempt_at") : "-", s_(o, "address"),
		       s_(o, "draft_id"));
		if (*s_(o, "last_error"))
			printf(" — %s", s_(o, "last_error"));
		putchar('\n');
		if (!strcmp(st, "unknown"))
			printf("       ↳ needs a person: 'airlock outbox mark-sent %lld' if the "
			       "relay has "
			       "it, else 'airlock outbox resend %lld --force'\n",
			       id_of(o), id_of(o));
		attention +=
		    !strcmp(st, "unknown") || !strcmp(st, "failed") || !strcmp(st, "blocked");
	}
	if (attention)
		printf("%d message%s need%s a person\n", attention, attention == 1 ? "" : "s",
		       attention == 1 ? "s" : "");
	return 0;
}

/* Prints a delivery report; returns how many messages were not sent. */
static int print_report(json_t *rep)
{
	static const char *const lists[] = {"recovered", "sent",    "retry",
					    "failed",	 "blocked", "unknown"};
	size_t i, k;
	json_t *o;
	int sent = (int)json_array_size(json_object_get(rep, "sent")), other = 0;

	for (k = 0; k < sizeof lists / sizeof lists[0]; k++)
		json_array_foreach(json_object_get(rep, lists[k]), i, o)
		{
			print_row(k == 0 ? "unknown" : lists[k], o);
			other += k != 1;
		}
	if (sent + other == 0)
		puts("nothing to deliver");
	else
		printf("delivered %d message%s; %d not delivered%s\n", sent, sent == 1 ? "" : "s",
		       other, other ? " (see 'airlock outbox')" : "");
	return other;
}

struct deliver_opts {
	struct outreach_smtp smtp;
	struct outreach_audience_rules rules;
	const char *competitors[MAX_COMPETITORS]; /* --competitor-domain, added to the policy's */
	int ncompetitors;
	long window, touches; /* --touch-window-days, --max-touches; -1 = the policy's */
	int now;
};

static int env_long(struct cli *cli, const char *name, long min, long max, long *out)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return 0;
	return cli_parse_long(cli, name, v, min, max, out);
}

static int parse_tls(struct cli *cli, const char *v, enum smtp_tls *out)
{
	if (!strcmp(v, "none"))
		*out = SMTP_TLS_NONE;
	else if (!strcmp(v, "starttls"))
		*out = SMTP_TLS_STARTTLS;
	else if (!strcmp(v, "tls"))
		*out = SMTP_TLS_TLS;
	else
		return cli_usage(cli, "--tls: '%s' is not none, starttls or tls", v);
	return 0;
}

/* Defaults, then AIRLOCK_SMTP_* variables; options override both later. */
static int deliver_defaults(struct cli *cli, struct deliver_opts *d)
{
	const char *tls = getenv("AIRLOCK_SMTP_TLS");
	long v;
	int rc;

	d->smtp.host = getenv("AIRLOCK_SMTP_HOST");
	d->smtp.port = 25;
	d->smtp.username = getenv("AIRLOCK_SMTP_USER");
	d->smtp.password = getenv("AIRLOCK_SMTP_PASSWORD");
	d->smtp.from = getenv("AIRLOCK_SMTP_FROM");
	d->window = -1;
	d->touches = -1;
	if (tls && *tls && (rc = parse_tls(cli, tls, &d->smtp.tls)))
		return rc;
	v = 25;
	if ((rc = env_long(cli, "AIRLOCK_SMTP_PORT", 1, 65535, &v)))
		return rc;
	d->smtp.port = (int)v;
	return 0;
}

/* The policy's audience rules, tightened by the options. The list of
 * competitor domains is allocated into *all (the caller frees it). */
static int deliver_rules(struct cli *cli, struct deliver_opts *d, const char ***all)
{
	const struct policy *p = cli_policy(cli, 0);
	const struct outreach_audience_rules *r = &d->rules;
	const char **list;
	int i;

	*all = NULL;
	if (!p)
		return cli_fail(cli,
				"deliver: nothing was sent: the audience rules come from the policy,"
				" and %s does not load: %s",
				cli_policy_path(cli), cli->policy_err);
	gate_audience_rules(p, &d->rules);
	if (d->window >= 0 && d->window < r->touch_window_days)
		return cli_usage(cli,
				 "--touch-window-days %ld is looser than the policy's %lld: options"
				 " may only tighten the policy's audience rules",
				 d->window, (long long)r->touch_window_days);
	if (d->touches >= 0 && (d->touches == 0 || d->touches > r->max_touches))
		return cli_usage(cli,
				 "--max-touches %ld is looser than the policy's %lld: options may"
				 " only tighten the policy's audience rules",
				 d->touches, (long long)r->max_touches);
	if (d->window >= 0)
		d->rules.touch_window_days = d->window;
	if (d->touches >= 0)
		d->rules.max_touches = d->touches;
	list = calloc((size_t)r->n + (size_t)d->ncompetitors + 1, sizeof *list);
	if (!list)
		return cli_fail(cli, "out of memory");
	for (i = 0; i < r->n; i++)
		list[i] = r->competitor_domains[i];
	for (i = 0; i < d->ncompetitors; i++)
		list[r->n + i] = d->competitors[i];
	d->rules.competitor_domains = list;
	d->rules.n = r->n + d->ncompetitors;
	*all = list;
	return 0;
}

static int do_deliver(struct cli *cli, struct store *s, struct deliver_opts *d)
{
	struct err err = {0};
	const char **competitors = NULL;
	json_t *rep = NULL;
	int rc, missed;

	if (!d->smtp.host || !*d->smtp.host)
		return cli_usage(cli,
				 "deliver: which relay? give --host (or set AIRLOCK_SMTP_HOST)");
	if (!d->smtp.from || !*d->smtp.from)
		return cli_usage(cli,
				 "deliver: which sender? give --from (or set AIRLOCK_SMTP_FROM)");
	rc = deliver_rules(cli, d, &competitors);
	if (!rc && outreach_deliver(s, &d->rules, &d->smtp, cli_principal(cli), NULL,
				    d->now ? OUTREACH_DELIVER_NOW : 0, &rep, &err))
		rc = cli_fail_err(cli, &err);
	free(competitors);
	if (rc)
		return rc;
	if (cli->json) {
		const char *key;
		json_t *k;

		rc = cli_print_json(cli, rep);
		missed = 0;
		json_object_foreach(rep, key, k)
		{
			if (strcmp(key, "sent") != 0)
				missed += (int)json_array_size(k);
		}
	} else {
		rc = cli_escape(cli, rep);
		missed = rc == CLI_OK ? print_report(rep) : 0;
	}
	json_decref(rep);
	if (rc == CLI_OK && missed)
		return cli_fail(cli, "%d message%s not delivered", missed,
				missed == 1 ? " was" : "s were");
	return rc;
}

static int one_message(struct cli *cli, struct store *s, const char *sub, const char *idtext,
		       int force)
{
	struct err err = {0};
	char *end;
	long long id;
	int rc;

	errno = 0;
	id = strtoll(idtext, &end, 10);
	if (errno || *end || end == idtext || id <= 0)
		return cli_usage(cli,
				 "%s: '%s' is not a message id (a number from 'airlock outbox')",
				 sub, idtext);
	if (!strcmp(sub, "resend"))
		rc = outreach_outbox_resend(s, cli_principal(cli), id, force, &err);
	else if (!strcmp(sub, "mark-sent"))
		rc = outreach_outbox_mark_sent(s, cli_principal(cli), id, &err);
	else
		rc = outreach_outbox_cancel(s, cli_principal(cli), id, &err);
	if (rc)
		return cli_fail_err(cli, &err);
	if (!strcmp(sub, "resend"))
		printf("message %lld queued again: 'airlock outbox deliver' sends it\n", id);
	else if (!strcmp(sub, "mark-sent"))
		printf("message %lld marked sent\n", id);
	else
		printf("message %lld cancelled\n", id);
	return CLI_OK;
}

int cmd_outbox(struct cli *cli, int argc, char **argv)
{
	enum {
		OPT_ALL = 1,
		OPT_FORCE,
		OPT_NOW,
		OPT_HOST,
		OPT_PORT,
		OPT_TLS,
		OPT_USER,
		OPT_FROM,
		OPT_TIMEOUT,
		OPT_ATTEMPTS,
		OPT_RETRY,
		OPT_COMPETITOR,
		OPT_WINDOW,
		OPT_TOUCHES
	};
	static const struct option opts[] = {
	    CLI_COMMON_OPTIONS,
	    {"all", no_argument, NULL, OPT_ALL},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"now", no_argument, NULL, OPT_NOW},
	    {"host", required_argument, NULL, OPT_HOST},
	    {"port", required_argument, NULL, OPT_PORT},
	    {"tls", required_argument, NULL, OPT_TLS},
	    {"user", required_argument, NULL, OPT_USER},
	    {"from", required_argument, NULL, OPT_FROM},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"max-attempts", required_argument, NULL, OPT_ATTEMPTS},
	    {"retry-base", required_argument, NULL, OPT_RETRY},
	    {"competitor-domain", required_argument, NULL, OPT_COMPETITOR},
	    {"touch-window-days", required_argument, NULL, OPT_WINDOW},
	    {"max-touches", required_argument, NULL, OPT_TOUCHES},
	    {NULL, 0, NULL, 0}};
	struct deliver_opts d = {0};
	struct err err = {0};
	struct store *s;
	const char *sub = NULL;
	json_t *rows = NULL;
	int c, h, rc, all = 0, force = 0, deliver_opt = 0;
	long v;

	rc = deliver_defaults(cli, &d);
	if (rc)
		return rc;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		h = cli_common_option(cli, c, optarg);
		if (h < 0)
			return CLI_OK;
		if (h > 0)
			continue;
		deliver_opt += c >= OPT_NOW;
		switch (c) {
		case OPT_ALL:
			all = 1;
			break;
		case OPT_FORCE:
			force = 1;
			break;
		case OPT_NOW:
			d.now = 1;
			break;
		case OPT_HOST:
			d.smtp.host = optarg;
			break;
		case OPT_PORT:
			if ((rc = cli_parse_long(cli, "--port", optarg, 1, 65535, &v)))
				return rc;
			d.smtp.port = (int)v;
			break;
		case OPT_TLS:
			if ((rc = parse_tls(cli, optarg, &d.smtp.tls)))
				return rc;
			break;
		case OPT_USER:
			d.smtp.username = optarg;
			break;
		case OPT_FROM:
			d.smtp.from = optarg;
			break;
		case OPT_TIMEOUT:
			if ((rc = cli_parse_long(cli, "--timeout", optarg, 1, 3600, &v)))
				return rc;
			d.smtp.timeout_seconds = v;
			break;
		case OPT_ATTEMPTS:
			if ((rc = cli_parse_long(cli, "--max-attempts", optarg, 1, 100, &v)))
				return rc;
			d.smtp.max_attempts = (int)v;
			break;
		case OPT_RETRY:
			if ((rc = cli_parse_long(cli, "--retry-base", optarg, 1, 86400, &v)))
				return rc;
			d.smtp.retry_base_seconds = v;
			break;
		case OPT_COMPETITOR:
			if (d.ncompetitors >= MAX_COMPETITORS)
				return cli_usage(cli, "at most %d --competitor-domain",
						 MAX_COMPETITORS);
			d.competitors[d.ncompetitors++] = optarg;
			break;
		case OPT_WINDOW:
			if ((rc = cli_parse_long(cli, "--touch-window-days", optarg, 0, 3650, &v)))
				return rc;
			d.window = v;
			break;
		case OPT_TOUCHES:
			if ((rc = cli_parse_long(cli, "--max-touches", optarg, 0, 1000, &v)))
				return rc;
			d.touches = v;
			break;
		default:
			return cli_usage(cli, "unknown option");
		}
	}
	if (optind < argc)
		sub = argv[optind++];
	if (sub && strcmp(sub, "deliver") && strcmp(sub, "resend") && strcmp(sub, "mark-sent") &&
	    strcmp(sub, "cancel"))
		return cli_usage(
		    cli, "unknown subcommand '%s' (deliver, resend, mark-sent, cancel)", sub);
	if (deliver_opt && (!sub || strcmp(sub, "deliver")))
		return cli_usage(cli,
				 "relay and audience options go with 'airlock outbox deliver'");
	if (force && (!sub || strcmp(sub, "resend")))
		return cli_usage(cli, "--force goes with 'airlock outbox resend ID'");
	if (all && sub)
		return cli_usage(cli, "--all goes with 'airlock outbox' alone");
	if (sub && strcmp(sub, "deliver") && optind != argc - 1)
		return cli_usage(cli, "%s takes one message id", sub);
	if ((!sub || !strcmp(sub, "deliver")) && optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	/* sending, and deciding a message's fate, are a person's acts */
	if (sub && (rc = cli_person(cli, CLI_NEED_PERSON)) != CLI_OK)
		return rc;
	if (sub && !strcmp(sub, "deliver"))
		return do_deliver(cli, s, &d);
	if (sub)
		return one_message(cli, s, sub, argv[optind], force);
	/* listing is where a restart is noticed: a message left in sending by a
	 * dead airlock is turned into unknown here, so a person sees it */
	if (outreach_recover(s, cli_principal(cli), NULL, &err) ||
	    outreach_outbox_list(s, all, &rows, &err))
		return cli_fail_err(cli, &err);
	rc = cli->json		      ? cli_print_json(cli, rows)
	     : cli_escape(cli, rows) ? CLI_FAIL
				      : print_list(rows);
	json_decref(rows);
	return rc;
}
