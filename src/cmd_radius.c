/* cmd_radius.c — `airlock radius`: before anything runs, the largest number
 * of records (or messages) one unattended agent action can alter under the
 * policy, per workflow, and why. A write or send let through unattended
 * with no cap is flagged, and the exit status says so (1), so a CI job can
 * refuse such a policy. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "policy.h"

static const char *reversible_text(const struct policy_workflow *wf)
{
	if (wf->effect == EFFECT_READ || wf->effect == EFFECT_DRAFT)
		return "-";
	return wf->reversible ? "yes" : "no";
}

static void radius_text(int64_t r, char *buf, size_t len)
{
	if (r == POLICY_RADIUS_UNBOUNDED)
		(void)snprintf(buf, len, "unbounded");
	else
		(void)snprintf(buf, len, "%lld", (long long)r);
}

static int print_json(struct cli *cli, const struct policy *p)
{
	const struct policy_workflow *wf;
	json_t *o, *a, *w;
	const char *why;
	int i, flagged, nflagged = 0, rc;
	int64_t r;

	a = json_array();
	o = json_pack("{s:s,s:s,s:o}", "policy", p->path, "digest", p->digest, "workflows", a);
	if (!o)
		return cli_fail(cli, "out of memory");
	for (i = 0; i < p->nworkflows; i++) {
		wf = &p->workflows[i];
		r = policy_radius(wf, &why, &flagged);
		nflagged += flagged;
		w = json_pack(
		    "{s:s,s:s,s:b,s:o,s:b,s:o,s:o,s:b,s:b,s:s}", "name", wf->name, "effect",
		    policy_effect_name(wf->effect), "reversible", wf->reversible, "stage_max",
		    wf->stage_max > 0 ? json_integer(wf->stage_max) : json_null(), "unattended",
		    wf->unattended, "unattended_max",
		    wf->unattended_max > 0 ? json_integer(wf->unattended_max) : json_null(),
		    "radius", r == POLICY_RADIUS_UNBOUNDED ? json_null() : json_integer(r),
		    "unbounded", r == POLICY_RADIUS_UNBOUNDED, "flagged", flagged, "why", why);
		if (!w || json_array_append_new(a, w)) {
			json_decref(o);
			return cli_fail(cli, "out of memory");
		}
	}
	w = cli_autonomy(cli, 0);
	json_object_set_new(o, "autonomy", w ? w : json_array());
	if (json_object_set_new(o, "flagged", json_integer(nflagged))) {
		json_decref(o);
		return cli_fail(cli, "out of memory");
	}
	rc = cli_print_json(cli, o);
	json_decref(o);
	return rc == CLI_OK && nflagged ? CLI_FAIL : rc;
}

static int print_table(const struct policy *p)
{
	const struct policy_workflow *wf;
	char rad[32], sm[32];
	const char *why;
	int i, flagged, nflagged = 0, width = 8;

	for (i = 0; i < p->nworkflows; i++)
		if ((int)strlen(p->workflows[i].name) > width)
			width = (int)strlen(p->workflows[i].name);
	printf("policy %s (digest %.16s)\n\n", p->path, p->digest);
	printf("  %-*s  %-6s  %-10s  %-9s  %-9s  %s\n", width, "WORKFLOW", "EFFECT", "REVERSIBLE",
	       "STAGE_MAX", "RADIUS", "WHY");
	for (i = 0; i < p->nworkflows; i++) {
		wf = &p->workflows[i];
		radius_text(policy_radius(wf, &why, &flagged), rad, sizeof rad);
		nflagged += flagged;
		if (wf->stage_max > 0)
			(void)snprintf(sm, sizeof sm, "%lld", (long long)wf->stage_max);
		else
			(void)snprintf(sm, sizeof sm, "-");
		printf("%s %-*s  %-6s  %-10s  %-9s  %-9s  %s\n", flagged ? "!" : " ", width,
		       wf->name, policy_effect_name(wf->effect), reversible_text(wf), sm, rad, why);
	}
	printf("\nradius: the records (or messages) one agent action can alter before a "
	       "person sees it.\n");
	if (nflagged) {
		printf("! %d workflow%s flagged: %s a write or a send through unattended with no "
		       "cap; set unattended_max, or remove unattended: true\n",
		       nflagged, nflagged == 1 ? "" : "s", nflagged == 1 ? "it lets" : "they let");
		return CLI_FAIL;
	}
	printf("nothing is flagged: no write or send goes through unattended without a cap.\n");
	return CLI_OK;
}

int cmd_radius(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct policy *p;
	int c, h, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		h = cli_common_option(cli, c, optarg);
		if (h < 0)
			return CLI_OK;
		if (h == 0)
			return cli_usage(cli, "unknown option");
	}
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	if (policy_load(cli_policy_path(cli), &p, &err))
		return cli_fail_err(cli, &err);
	rc = cli->json ? print_json(cli, p) : print_table(p);
	if (!cli->json)
		json_decref(cli_autonomy(cli, 1));
	policy_free(p);
	return rc;
}
