/* cmd_mcp.c — `airlock mcp`: one MCP connector over stdio.
 *
 * Newline-delimited JSON-RPC on stdin and stdout. stdout carries protocol
 * messages only; everything a person should read goes to stderr. End of
 * input ends the session cleanly. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mcp.h"
#include "upstream.h"

struct line_reader {
	char *buf;
	size_t len, cap;
	int too_long; /* the line passed MCP_MAX_MESSAGE and was dropped */
};

/* Reads one line without its newline. Returns 1 on a line, 0 at end of
 * input. A line longer than the limit is consumed and flagged, so a runaway
 * client cannot make us allocate without bound. */
static int read_line(FILE *in, struct line_reader *r)
{
	int c;

	r->len = 0;
	r->too_long = 0;
	while ((c = getc_unlocked(in)) != EOF) {
		if (c == '\n')
			return 1;
		if (r->too_long)
			continue;
		if (r->len + 1 >= r->cap) {
			size_t ncap = r->cap ? r->cap * 2 : 4096;
			char *nb;

			if (ncap > MCP_MAX_MESSAGE + 2)
				ncap = MCP_MAX_MESSAGE + 2;
			if (r->len + 1 >= ncap) {
				r->too_long = 1;
				continue;
			}
			nb = realloc(r->buf, ncap);
			if (!nb) {
				r->too_long = 1;
				continue;
			}
			r->buf = nb;
			r->cap = ncap;
		}
		r->buf[r->len++] = (char)c;
	}
	return r->len > 0 || r->too_long;
}

static int write_line(const char *msg)
{
	if (fputs(msg, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
		return -1;
	return 0;
}

static void notify_stdout(void *ctx, const char *msg)
{
	(void)ctx;
	write_line(msg);
}

static int blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

int cmd_mcp(struct cli *cli, int argc, char **argv)
{
	enum { OPT_CONNECTOR = 0x2001, OPT_AGENT, OPT_IV };
	static const struct option opts[] = {
		CLI_COMMON_OPTIONS,
		{"connector", required_argument, NULL, OPT_CONNECTOR},
		{"agent", required_argument, NULL, OPT_AGENT},
		{"instruction-version", required_argument, NULL, OPT_IV},
		{NULL, 0, NULL, 0}};
	const char *connector = NULL, *agent = NULL, *iv = NULL;
	struct line_reader lr = {0};
	struct mcp_server srv;
	struct mcp_session ses;
	struct err err = {0};
	char dbabs[PATH_MAX], polabs[PATH_MAX];
	enum mcp_connector kind;
	struct store *s;
	char *reply;
	int c, h, rc = CLI_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == OPT_CONNECTOR)
			connector = optarg;
		else if (c == OPT_AGENT)
			agent = optarg;
		else if (c == OPT_IV)
			iv = optarg;
		else if ((h = cli_common_option(cli, c, optarg)) < 0)
			return CLI_OK;
		else if (h == 0)
			return cli_usage(cli, "unknown option");
	}
	if (optind < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
	if (!connector || mcp_connector_parse(connector, &kind))
		return cli_usage(cli, "--connector must be read or write");
	if (!agent || !mcp_agent_valid(agent))
		return cli_usage(cli, "--agent NAME is required: 1 to 64 letters, digits, '.', '_' "
				      "or '-'");
	if (iv && (!*iv || strlen(iv) > 200))
		return cli_usage(cli, "--instruction-version must be 1 to 200 characters");
	if (!cli_policy(cli, 1))
		return CLI_FAIL;
	s = cli_server_store(cli);
	if (!s)
		return CLI_FAIL;
	if (mcp_server_init(&srv, kind, s, iv, &err))
		return cli_fail_err(cli, &err);
	if (mcp_server_set_policy(&srv, cli->policy, &err)) {
		mcp_server_free(&srv);
		return cli_fail_err(cli, &err);
	}
	mcp_session_init(&ses, agent);
	ses.notify = notify_stdout;
	/* absolute paths: a client's log must say exactly which files */
	fprintf(stderr, "airlock mcp: %s connector for %s on %s with policy %s (stdio)\n",
		mcp_connector_name(kind), ses.principal,
		realpath(store_path(s), dbabs) ? dbabs : store_path(s),
		realpath(cli_policy_path(cli), polabs) ? polabs : cli_policy_path(cli));
	while (read_line(stdin, &lr)) {
		if (lr.too_long) {
			mcp_handle(&srv, &ses, "", MCP_MAX_MESSAGE + 1, &reply);
		} else {
			if (blank(lr.buf, lr.len))
				continue;
			mcp_handle(&srv, &ses, lr.buf, lr.len, &reply);
		}
		if (reply && write_line(reply)) {
			free(reply);
			rc = cli_fail(cli, "cannot write to standard output");
			break;
		}
		free(reply);
	}
	if (ferror(stdin))
		rc = cli_fail(cli, "cannot read standard input");
	free(lr.buf);
	mcp_server_free(&srv);
	upstream_shared_close(); /* stops the stdio upstreams it started */
	return rc;
}
