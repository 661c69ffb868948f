/* cli.h — the `airlock <verb>` frame shared by every cmd_<verb>.c.
 *
 * Owns: the verb table, the options every verb takes (--db, --json, --help,
 * --as), opening the store, and printing results and errors the same way
 * everywhere. Exit codes: 0 ok, 1 failure, 2 usage error.
 *
 * Never: decides anything about the book; it calls the modules that do. This
 * is the only layer that may exit the process (via main's return). */
#ifndef AIRLOCK_CLI_H
#define AIRLOCK_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "err.h"
#include "store.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli {
	const char *verb;
	const char *argv0;     /* how the binary was run ("./airlock"), for hints */
	const char *db_path;   /* --db, else $AIRLOCK_DB, else ./airlock.db */
	const char *as;        /* --as NAME: the human principal; default the OS user */
	const char *policy_path; /* --policy, else $AIRLOCK_POLICY, else ./airlock.yaml */
	int json;              /* --json */
	int create_db;         /* cli_store() may create the database (init, demo) */
	struct store *store;   /* opened by cli_store(), closed by main */
	struct policy *policy; /* loaded by cli_policy(), freed by main */
	int policy_tried;
	char policy_err[ERR_MSG_MAX]; /* why it did not load, when it did not */
	char policy_near_db[4096]; /* the policy found next to the database */
	char principal[128];
	int identified;        /* principal checked by cli_person (cli_identity.h) */
};

struct cli_command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *summary;   /* one line for `airlock help` */
	const char *usage;     /* full text for `airlock VERB --help` */
};

/* Long options every verb accepts; put CLI_COMMON_OPTIONS first in a verb's
 * option array and pass unknown results to cli_common_option(). */
#define CLI_OPT_DB 0x1001
#define CLI_OPT_JSON 0x1002
#define CLI_OPT_HELP 'h'
#define CLI_OPT_AS 0x1003
#define CLI_OPT_POLICY 0x1004
#define CLI_COMMON_OPTIONS                                                                      \
	{"db", required_argument, NULL, CLI_OPT_DB}, {"json", no_argument, NULL, CLI_OPT_JSON},     \
		{"help", no_argument, NULL, CLI_OPT_HELP}, {"as", required_argument, NULL, CLI_OPT_AS}, \
		{"policy", required_argument, NULL, CLI_OPT_POLICY}

/* Handles a common option. Returns 1 if handled, -1 after printing help
 * (the verb should return CLI_OK), 0 when c is not a common option. */
int cli_common_option(struct cli *cli, int c, const char *arg);

/* Prints "airlock: VERB: message" on stderr; returns CLI_FAIL. */
int cli_fail(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for an err; returns CLI_FAIL. */
int cli_fail_err(struct cli *cli, const struct err *err);
/* Prints the message and "see 'airlock VERB --help'"; returns CLI_USAGE. */
int cli_usage(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Opens the store once (on first call) and returns it; NULL after printing
 * the error. Only with cli->create_db set is a missing database created
 * (store_create); otherwise it is an error that says to run 'airlock init'. */
struct store *cli_store(struct cli *cli);

/* cli_store for a verb that serves (serve, mcp): NULL after printing why,
 * also when this user cannot write the database, its -wal/-shm or its
 * folder (a server must refuse to start, not fail on its first call);
 * warns like cli_warn_modes. */
struct store *cli_server_store(struct cli *cli);

/* One warning line on stderr for each of the database, its -wal and -shm
 * and the log's signing key that others may read or write. */
void cli_warn_modes(struct cli *cli, const char *db_path);

/* The policy file: --policy, else $AIRLOCK_POLICY, else ./airlock.yaml;
 * for the servers (mcp, serve), which clients start from any directory,
 * airlock.yaml next to the database when the working directory has none. */
const char *cli_policy_path(struct cli *cli);

/* The policy, loaded once. NULL when it does not load: with required, the
 * error is printed (the verb must stop: airlock never serves with a policy
 * that does not check); otherwise NULL is returned quietly and the caller
 * works without one (e.g. a person rejecting a batch). */
struct policy *cli_policy(struct cli *cli, int required);

/* Who acts: after cli_person() (cli_identity.h) the person it checked;
 * before, --as read by cli_identity_parse ("agent:NAME" in any case is an
 * agent), else the OS user, as "human:NAME" ("human:invalid" for a name
 * that does not read: the verbs that act check with cli_person first). */
const char *cli_principal(struct cli *cli);

/* Reads a whole batch id argument ("12" or "B12"); prints usage on error. */
int cli_batch_arg(struct cli *cli, int argc, char **argv, int64_t *id);

/* Parses the verb's options: the common ones plus `extra` (may be NULL).
 * Returns the option character for an extra option, -1 at the end, or
 * stores a CLI exit status in *done and returns -2 (help shown, or a usage
 * error). */
int cli_getopt(struct cli *cli, int argc, char **argv, const struct option *extra, int *done);

/* Prints each workflow's inspection level and evidence (earned autonomy),
 * when the database exists; returns the list (may be NULL) for --json. */
json_t *cli_autonomy(struct cli *cli, int print);

struct review;
/* The frame of a verb that changes one batch and reports on it (apply,
 * undo): one boolean flag (--FLAG), the batch id, run(review, id, principal,
 * flag, &report, err). Prints --json reports and failures (listing the
 * conflicts) itself; on success returns CLI_OK with *report and *id for the
 * verb to print. Any other return is the exit status. */
typedef int (*cli_batch_fn)(struct review *r, int64_t id, const char *principal, int flag,
			    json_t **report, struct err *err);
int cli_batch_verb(struct cli *cli, int argc, char **argv, const char *flag, cli_batch_fn run,
		   int64_t *id, json_t **report);

/* Lists {"conflicts": [...]} of an apply/undo report, one line each. */
void cli_print_conflicts(json_t *report);

/* Escapes every string and key of v in place for a terminal (text.h), the
 * values of "body" and "text" keeping their line breaks: call it on what a
 * verb got from the book, the log or an agent before printing it as text.
 * Returns CLI_OK, or CLI_FAIL after printing the error. */
int cli_escape(struct cli *cli, json_t *v);

/* Prints a JSON value to stdout (pretty, one document). Steals no reference. */
int cli_print_json(struct cli *cli, json_t *v);

/* 1 when stdout / stderr is a terminal and NO_COLOR is unset. */
int cli_color(void);
int cli_stderr_tty(void);

/* Parses a whole positive number option; on error prints usage. */
int cli_parse_long(struct cli *cli, const char *opt, const char *arg, long min, long max,
		   long *out);

const struct cli_command *cli_find(const char *name);
/* Help text names tools only through these marks, which cli_put_usage()
 * replaces with the tool registry's rows (tools.h): the visible tools of a
 * connector as "a, b and c" (a choice of write tools: "a, b or c"), and
 * the default tool of `propose --tool`. */
#define CLI_READ_TOOLS "@READ_TOOLS@"
#define CLI_WRITE_TOOLS "@WRITE_TOOLS@"
#define CLI_WRITE_TOOL_CHOICE "@WRITE_TOOL_CHOICE@"
#define CLI_DEFAULT_WRITE_TOOL "@DEFAULT_WRITE_TOOL@"
/* Prints a verb's usage to stdout, the marks replaced. */
void cli_put_usage(const char *usage);
extern const struct cli_command cli_commands[];

/* The verbs, one file each. */
int cmd_help(struct cli *cli, int argc, char **argv);
int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_demo(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_propose(struct cli *cli, int argc, char **argv);
int cmd_queue(struct cli *cli, int argc, char **argv);
int cmd_show(struct cli *cli, int argc, char **argv);
int cmd_approve(struct cli *cli, int argc, char **argv);
int cmd_reject(struct cli *cli, int argc, char **argv);
int cmd_apply(struct cli *cli, int argc, char **argv);
int cmd_undo(struct cli *cli, int argc, char **argv);
int cmd_sample(struct cli *cli, int argc, char **argv);
int cmd_judge(struct cli *cli, int argc, char **argv);
int cmd_policy(struct cli *cli, int argc, char **argv);
int cmd_upstream(struct cli *cli, int argc, char **argv);
int cmd_radius(struct cli *cli, int argc, char **argv);
int cmd_mcp(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_token(struct cli *cli, int argc, char **argv);
int cmd_drafts(struct cli *cli, int argc, char **argv);
int cmd_briefs(struct cli *cli, int argc, char **argv);
int cmd_outbox(struct cli *cli, int argc, char **argv);
int cmd_log(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);
int cmd_sql(struct cli *cli, int argc, char **argv);
int cmd_migrate(struct cli *cli, int argc, char **argv);
int cmd_drift(struct cli *cli, int argc, char **argv);
int cmd_reviewer(struct cli *cli, int argc, char **argv);
int cmd_login(struct cli *cli, int argc, char **argv);
int cmd_logout(struct cli *cli, int argc, char **argv);

#endif
