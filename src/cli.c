/* cli.c — verb table, common options, output and error helpers. */
#include "cli.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>

#include "audit.h"
#include "autonomy.h"
#include "cli_identity.h"
#include "review.h"
#include "staging.h"
#include "policy.h"
#include "text.h"
#include "tools.h"

/* What every human verb's help says about who acts (cli_identity.h). */
#define WHO_ACTS                                                                       \
	"\n"                                                                           \
	"Who acts: while the book has no reviewer, --as NAME (default the OS user)\n"   \
	"is taken on trust, and the verb says so. Once 'airlock reviewer add' has\n"    \
	"added one, a reviewer must be signed in ('airlock login NAME'); --as may\n"   \
	"then only name that person. An agent (--as agent:NAME, in any case) never\n" \
	"acts as a person.\n"

/* The verb table (git's commands[]). Verbs not built yet are not listed. */
const struct cli_command cli_commands[] = {
	{"help", cmd_help, "show the verbs, or the help of one verb",
	 "usage: airlock help [VERB]\n"},
	{"init", cmd_init, "create the database and the default policy file",
	 "usage: airlock init [--db PATH] [--policy FILE] [--json]\n"
	 "\n"
	 "Creates the database at PATH (default ./airlock.db or $AIRLOCK_DB) and\n"
	 "applies every schema migration, then writes the default policy, commented\n"
	 "as documentation, to FILE (default ./airlock.yaml or $AIRLOCK_POLICY).\n"
	 "An existing policy file is never overwritten: it is kept as it is.\n"
	 "Safe to run again.\n"},
	{"demo", cmd_demo, "generate a realistic demo book and show it",
	 "usage: airlock demo [--accounts N] [--seed S] [--db PATH] [--json]\n"
	 "\n"
	 "Fills an empty database with a deterministic book: N accounts (default\n"
	 "4000) with contacts and signals, generated from seed S (default 1).\n"
	 "The same N and S always give the same book. Refuses a database that\n"
	 "already holds accounts.\n"},
	{"import", cmd_import, "import accounts, contacts or signals from CSV",
	 "usage: airlock import accounts|contacts|signals FILE.csv [--map MAP] [--map-file FILE]\n"
	 "                      [--dry-run] [--refresh] [--quiet] [--db PATH] [--json]\n"
	 "\n"
	 "Reads an RFC 4180 CSV file (FILE - is standard input): a header row, then\n"
	 "one record per row; quoted fields may hold commas, quotes (doubled) and\n"
	 "line breaks; UTF-8 with or without a byte order mark; any line ending.\n"
	 "New ids are added, known ids get the file's values (their version goes up\n"
	 "only when a value changes); fields the file has no column for are kept.\n"
	 "All in one transaction: a bad row stops the import with FILE:LINE: what is\n"
	 "wrong, and the book is left unchanged. The import is written to the\n"
	 "action log.\n"
	 "\n"
	 "Columns are matched to fields by name (any case). Other columns become\n"
	 "custom fields of accounts and contacts (a column custom.NAME sets the\n"
	 "custom field NAME); for signals they are an error. An empty value is\n"
	 "null (for lifecycle and yes/no fields, their default; for a custom field,\n"
	 "no value). Contacts and signals must name an existing account.\n"
	 "\n"
	 "  --map MAP   rename the file's columns onto airlock's fields:\n"
	 "              'Account ID=id,Account Name=name,Website=domain'\n"
	 "              (field: a built-in field, custom.NAME, or - to skip the\n"
	 "              column; write \\, \\= and \\\\ for a comma, equals sign or\n"
	 "              backslash in a column name). It may start with a preset,\n"
	 "              salesforce or hubspot, which later pairs override:\n"
	 "              'salesforce,Tier=tier'. Presets rename the standard\n"
	 "              columns of those CRMs' exports (Account ID, Account Name,\n"
	 "              Website, Type, Record ID, Company name, Lifecycle Stage,\n"
	 "              ...). A mapped import also maps values: lifecycle from\n"
	 "              Salesforce Type / HubSpot Lifecycle Stage (any case), region\n"
	 "              from a country column (ISO 3166 names and codes to NA, EMEA,\n"
	 "              APAC, LATAM), numbers like $1,200,000.00, the vendors' dates,\n"
	 "              Yes/No/1/0. A value that maps to nothing stops the import at\n"
	 "              FILE:LINE:COLUMN with the accepted values; an empty lifecycle,\n"
	 "              do_not_contact or unsubscribed is an error, never a default.\n"
	 "  --map-file FILE  a CSV map (header what,crm,airlock) with rows\n"
	 "              preset,salesforce,   column,CRM column,field\n"
	 "              value.FIELD,CRM value,airlock value   default.FIELD,,value\n"
	 "  --dry-run   check the whole file and print new/changed/unchanged and\n"
	 "              every value error; the book is not touched (exit 1 on errors)\n"
	 "  --refresh   (accounts) the file is the CRM's new truth: also reports the\n"
	 "              waiting batch items that now conflict (show gives the CRM's\n"
	 "              values), accounts deleted in the CRM (kept here), and changes\n"
	 "              applied here but not yet exported that the file overwrites\n"
	 "  --quiet     no progress bar (it is drawn only when stderr is a terminal)\n"
	 "  --json      print the summary as JSON: rows, inserted, updated, unchanged\n"
	 "\n"
	 "Importing changes the book: never an agent's act (--as agent:NAME is\n"
	 "refused), and once the book has reviewers, a signed-in admin's\n"
	 "('airlock login').\n"},
	{"export", cmd_export, "export accounts, contacts or signals as CSV",
	 "usage: airlock export accounts|contacts|signals [-o FILE] [--db PATH] [--json]\n"
	 "       airlock export changes [--since DATE | --batch N | --changeset N]\n"
	 "                      [--format salesforce|hubspot|airlock] -o DIR\n"
	 "\n"
	 "Writes the records as RFC 4180 CSV (CRLF line ends), ordered by id, to FILE\n"
	 "or standard output: the built-in fields, then one column per custom field\n"
	 "(sorted; named custom.NAME when NAME would read back as something else).\n"
	 "`airlock import` reads the file back to the same records, and exporting\n"
	 "those gives the same bytes. Airlock's own bookkeeping (version,\n"
	 "updated_at) is not exported; merged_into is, and imports back.\n"
	 "\n"
	 "export changes writes what people applied (and undid) as a change-set a\n"
	 "CRM's bulk tools load: DIR/accounts.csv (the CRM id, then only changed\n"
	 "columns, in the CRM's column names and values: the last mapped import in\n"
	 "reverse; Salesforce's #N/A clears a value) and DIR/merges.csv (survivor,\n"
	 "merged). Applied-then-undone changes cancel out. By default everything\n"
	 "since the last such change-set; --since DATE, --batch N, or --changeset N\n"
	 "(the same range again: the same bytes). Each change-set is logged with its\n"
	 "SHA-256. --format defaults to the preset of the last mapped import.\n"
	 "\n"
	 "  -o, --output FILE   write FILE (atomically: a failed export leaves no file)\n"
	 "  --json              with -o, print a JSON summary: kind, file, rows\n"},
	{"propose", cmd_propose, "run one write-tool call through the gate, as an agent would",
	 "usage: airlock propose FILE.json --as agent:NAME [--tool TOOL] [--instruction-version V]\n"
	 "\n"
	 "Runs one write-tool call through the gate exactly as the write connector\n"
	 "does. FILE.json (or - for stdin) holds the tool's arguments; TOOL is a\n"
	 "write tool (default " CLI_DEFAULT_WRITE_TOOL "):\n"
	 "  " CLI_WRITE_TOOL_CHOICE ".\n"
	 "Prints the gate's answer: staged, blocked, draft or refused, with the\n"
	 "refused items and why. A workflow the policy does not have (or one that\n"
	 "does not list the tool) refuses the call whole, with a did-you-mean and\n"
	 "the workflows that do list it.\n"
	 "\n"
	 "  --instruction-version V  the version pinned for this call; an\n"
	 "                  instruction_version in FILE is recorded only as a claim\n"
	 "  --policy FILE   the policy (default ./airlock.yaml or $AIRLOCK_POLICY);\n"
	 "                  a policy that does not load refuses everything\n"},
	{"queue", cmd_queue, "list the batches waiting for a person, oldest first",
	 "usage: airlock queue [--json]\n"
	 "\n"
	 "Batches that are staged (awaiting a sample audit), sampled, blocked\n"
	 "(awaiting approve/reject) or approved (awaiting apply), oldest first.\n"},
	{"show", cmd_show, "show a batch as a reviewable diff",
	 "usage: airlock show BATCH [--json] [--limit N] [--summary]\n"
	 "\n"
	 "First a summary: the moves grouped (field old -> new xcount), evidence\n"
	 "coverage and age, items whose reason and evidence disagree (a reason\n"
	 "naming a signal kind none of its evidence has, evidence older than the\n"
	 "policy's defaults.evidence_max_age, evidence about another record),\n"
	 "records other waiting batches also touch, and what a merge moves or a\n"
	 "send sends. Then per record, numbered #1.. as judge and refusals number\n"
	 "items (★drawn marks the sample): field old -> new, the reason and the\n"
	 "cited evidence with the signal's text; refused items and why; the verbs\n"
	 "allowed in its state.\n"
	 "  --limit N   show at most N records (default 50; 0 = all)\n"
	 "  --summary   only the summary (with --json: its object; --json alone adds\n"
	 "              it to the batch as \"summary\")\n"},
	{"sample", cmd_sample, "draw the sample audit of a staged batch",
	 "usage: airlock sample BATCH [--check] [--json] [--as NAME]\n"
	 "\n"
	 "Draws the items a reviewer reads before a staged batch may be applied.\n"
	 "The size is the exact zero-acceptance plan for the workflow's confidence\n"
	 "and tolerated defect rate (hypergeometric, for this batch size) at the\n"
	 "workflow's inspection level; the draw uses fresh random bytes whose seed\n"
	 "is recorded. Prints what a clean sample will support, e.g. \"zero bad\n"
	 "items in 56 of 500 => with 95% confidence fewer than 25 (5%) of the\n"
	 "batch are wrong\". Then the batch summary and each drawn item as show\n"
	 "prints it (name, old -> new, reason, evidence text).\n"
	 "  --check   re-derive the recorded draw from its seed and compare\n" WHO_ACTS},
	{"judge", cmd_judge, "record a verdict on sampled items",
	 "usage: airlock judge BATCH ITEM... pass|fail [--note TEXT] [--as NAME]\n"
	 "\n"
	 "Each listed item (numbered as show prints them) gets the verdict, each\n"
	 "recorded and logged as its own act; there is no \"all\": list what you\n"
	 "read. Judging stops when the batch leaves the sampled state.\n"
	 "One fail sends the whole batch back to a person (blocked). When every\n"
	 "drawn item has passed, the batch is approved and may be applied. Items\n"
	 "outside the sample may be judged too. Verdicts are the workflow's\n"
	 "evidence for earned autonomy.\n" WHO_ACTS},
	{"approve", cmd_approve, "approve a batch (a person other than its proposer)",
	 "usage: airlock approve BATCH [--as NAME] [--override --reason TEXT]\n"
	 "\n"
	 "Approves a batch the policy blocked. A batch whose sample audit was never\n"
	 "drawn, is unfinished or failed is refused, saying what is unfinished:\n"
	 "approving past it is an override, recorded on the batch and in the log,\n"
	 "shown by show, and counted as no audit in the workflow's evidence.\n"
	 "  --override       approve past the sample audit\n"
	 "  --reason TEXT    why (required with --override, at most 2000 bytes)\n" WHO_ACTS},
	{"reject", cmd_reject, "reject a batch, with a reason",
	 "usage: airlock reject BATCH --reason TEXT [--as NAME]\n" WHO_ACTS},
	{"apply", cmd_apply, "apply an approved batch in one transaction",
	 "usage: airlock apply BATCH [--skip-conflicts] [--as NAME]\n"
	 "\n"
	 "Applies every item or none. A record changed since it was staged is a\n"
	 "conflict: by default nothing is applied and the conflicts are listed;\n"
	 "--skip-conflicts applies the rest and marks those items. A merge is\n"
	 "re-checked against the book as it is now: a merge into an account merged\n"
	 "since, of an account merged since or holding merged accounts, or one that\n"
	 "would close a cycle is a conflict, with its reason.\n" WHO_ACTS},
	{"undo", cmd_undo, "undo an applied batch, restoring the before-images",
	 "usage: airlock undo BATCH [--force] [--as NAME]\n"
	 "\n"
	 "Restores every record's before-image in one transaction. Records changed\n"
	 "after the apply are listed and nothing is undone, unless --force. A merge's\n"
	 "undo moves back exactly the contacts and signals it moved; while one of\n"
	 "them sits elsewhere (a later merge took it on) it is refused, even with\n"
	 "--force, naming the batch to undo first.\n" WHO_ACTS},
	{"policy", cmd_policy, "check the policy file (airlock.yaml), or replay history under another",
	 "usage: airlock policy check [FILE] [--policy FILE] [--json]\n"
	 "       airlock policy replay NEW.yaml [--since AGE] [--db PATH] [--json]\n"
	 "\n"
	 "Reads the policy (FILE, else --policy, $AIRLOCK_POLICY or ./airlock.yaml)\n"
	 "and reports every problem as FILE:LINE:COL: message: unknown keys, wrong\n"
	 "types, values out of range, a tool in two workflows, fields a workflow\n"
	 "may not write, YAML syntax errors. Prints \"FILE: ok (N workflows)\" when\n"
	 "there is none.\n"
	 "\n"
	 "When the policy names upstreams, each is started (or reached) and its\n"
	 "tools compared with the policy: tools listed but absent upstream, and\n"
	 "tools offered upstream but not listed (never shown nor callable), are\n"
	 "reported as warnings; they do not change the exit status.\n"
	 "\n"
	 "replay decides every logged proposal (since AGE: 30d, 12h, a date) again\n"
	 "under NEW with the gate's own decision, from what the gate knew then, and\n"
	 "reports the decisions that change (staged, blocked, allowed, refused), the\n"
	 "running radius and the reviewers' load per day, old and new side by side.\n"
	 "Nothing is written but one log entry saying a replay ran.\n"
	 "\n"
	 "exit status: 0 no problem, 1 problems (or the file cannot be read),\n"
	 "2 usage error\n"},
	{"upstream", cmd_upstream, "list upstream MCP servers' tools; trust their definitions",
	 "usage: airlock upstream list [NAME] [--policy FILE] [--json]\n"
	 "       airlock upstream trust NAME [--policy FILE] [--as NAME] [--json]\n"
	 "\n"
	 "list starts (or reaches) each upstream the policy names and shows its tools:\n"
	 "for each tool the policy lists, its effect and whether its definition is\n"
	 "trusted, untrusted (never trusted) or changed since it was trusted (with\n"
	 "what changed); then tools listed but absent upstream and tools offered but\n"
	 "not listed. An upstream that cannot start shows why and the end of its\n"
	 "stderr.\n"
	 "\n"
	 "trust shows the same and records a hash of each listed tool's definition\n"
	 "(name, title, description, schemas, annotations) as it is now. Only\n"
	 "trusted tools whose definition is unchanged are shown to the agent and\n"
	 "callable; a definition that changes later hides the tool and raises an\n"
	 "alert (in the log) until a person trusts it again. An operator verb.\n" WHO_ACTS},
	{"radius", cmd_radius, "show the worst-case unattended blast radius per workflow",
	 "usage: airlock radius [--policy FILE] [--json]\n"
	 "\n"
	 "Before anything runs: for every workflow of the policy, the largest\n"
	 "number of records (or messages) one unattended agent action can alter,\n"
	 "and why. Staged and blocked workflows have radius 0: nothing applies\n"
	 "until a person looks. A write or send workflow that runs unattended with\n"
	 "no unattended_max is flagged (marked !).\n"
	 "\n"
	 "exit status: 0 nothing flagged, 1 something flagged (or the policy has\n"
	 "problems), 2 usage error\n"},
	{"mcp", cmd_mcp, "serve one MCP connector (read or write) over stdio",
	 "usage: airlock mcp --connector read|write --agent NAME [--instruction-version V]\n"
	 "                   [--db PATH]\n"
	 "\n"
	 "Speaks MCP (newline-delimited JSON-RPC 2.0) on standard input and output for\n"
	 "one agent. The read connector has research tools:\n"
	 "  " CLI_READ_TOOLS ";\n"
	 "the write connector has propose/draft tools:\n"
	 "  " CLI_WRITE_TOOLS ",\n"
	 "each of which goes through the gate: nothing is changed or sent without\n"
	 "review. Every tool call is recorded in the action log as agent:NAME.\n"
	 "Standard output carries protocol messages only; logs go to standard error.\n"
	 "End of input ends the session.\n"
	 "\n"
	 "  --connector read|write    which tool set to serve\n"
	 "  --agent NAME              who the agent is (letters, digits, . _ -)\n"
	 "  --instruction-version V   the instruction version pinned on write calls\n"
	 "                            (an agent's instruction_version argument is\n"
	 "                            recorded only as its claim)\n"
	 "\n"
	 "Example client configuration (Claude Desktop, Cursor, ...):\n"
	 "  {\"command\": \"airlock\", \"args\": [\"mcp\", \"--connector\", \"read\",\n"
	 "   \"--agent\", \"researcher\", \"--db\", \"/path/to/airlock.db\"]}\n"},
	{"serve", cmd_serve, "serve the review console and the MCP connectors over HTTP",
	 "usage: airlock serve [--listen ADDR:PORT [--insecure-http]] [--threads N]\n"
	 "                     [--tls-cert FILE --tls-key FILE]\n"
	 "                     [--no-auth [--agent NAME]]\n"
	 "                     [--public-url URL] [--instruction-version V] [--db PATH]\n"
	 "                     [--scan-budget MS] [--lookup-budget MS] [LIMITS]\n"
	 "\n"
	 "Serves the reviewers' console at / (sign in with a credential from 'airlock\n"
	 "reviewer add'; its JSON API is under /api/) and MCP over Streamable HTTP:\n"
	 "the read connector at /mcp/read and the\n"
	 "write connector at /mcp/write (POST one JSON-RPC message, JSON answer;\n"
	 "Mcp-Session-Id from initialize; DELETE ends a session). Each request needs\n"
	 "'Authorization: Bearer TOKEN' with a token of that connector (airlock token\n"
	 "create, or OAuth 2.1: clients that follow the MCP authorization spec find\n"
	 "/.well-known/oauth-protected-resource, register, and an admin consents in\n"
	 "the console); the token's agent is who acts. Requests whose Host or Origin is\n"
	 "not this server are refused (DNS rebinding). SIGINT or SIGTERM stops it\n"
	 "cleanly.\n"
	 "\n"
	 "  --listen ADDR:PORT   default 127.0.0.1:8750; PORT 0 picks a free port\n"
	 "  --insecure-http      allow a --listen address that is not loopback; airlock\n"
	 "                       speaks plain HTTP, so put a TLS proxy in front\n"	 "  --tls-cert FILE      serve HTTPS with this certificate chain (PEM) and\n"
	 "  --tls-key FILE       its private key (PEM); any --listen address is then\n"
	 "                       allowed, and the session cookie is Secure\n"
	 "  --threads N          threads that answer requests, first come first served\n"
	 "                       (default 4)\n"
	 "  --slow-threads N     threads of their own for expensive MCP calls\n"
	 "                       (book_stats, text search, calls of over 100 items or\n"
	 "                       64 KiB), so a cheap call never queues behind them;\n"
	 "                       at most N run at once, at a lower CPU priority\n"
	 "                       (default 1)\n"
	 "  --no-auth            no tokens (for the conformance suite); loopback only;\n"
	 "                       the agent is --agent NAME (default 'anonymous')\n"
	 "  --public-url URL     where reviewers reach this server (links in\n"
	 "                       notifications; https makes the session cookie Secure);\n"
	 "                       default the policy's notify.console_url, else the\n"
	 "                       listen address\n"
	 "  --scan-budget MS     how long search_accounts and book_stats may run before\n"
	 "                       the call is stopped with an error (default 2000; 0 =\n"
	 "                       no limit)\n"
	 "  --lookup-budget MS   the same for the other read tools (default 1000)\n"
	 "\n"
	 "Limits, so that no one client starves the others:\n"
	 "  --max-connections N          open connections in all (default 2048)\n"
	 "  --connections-per-address N  open connections from one client address\n"
	 "                               (default 64)\n"
	 "  --head-timeout S     seconds a request's head may take, from the connection's\n"
	 "                       start or its previous answer (so also how long a\n"
	 "                       kept-alive connection waits idle), however slowly it\n"
	 "                       trickles in (default 10)\n"
	 "  --body-min-rate B    bytes/s a request body must average once it has had\n"
	 "                       --head-timeout seconds (default 1024)\n"
	 "  --sessions-per-token N   open MCP sessions per token; a new one ends the\n"
	 "                       token's least recently used (default 100)\n"
	 "  --session-idle-minutes M  an MCP session unused this long ends (default 30);\n"
	 "                       evictions and expiries are logged (tool session_limit)\n"
	 "  --signins-per-address N   console sign-in attempts per minute from one\n"
	 "                       address (IPv6: one /64) (default 20); one name has 5\n"
	 "                       failures a minute; passwords are checked one at a time\n"
	 "                       on their own thread, and a full queue answers 503\n"
	 "\n"
	 "When the policy has notify.webhook, what waits for a person (a blocked\n"
	 "batch, a staged batch or a sample to judge, a send to approve) is posted\n"
	 "there as a Slack-compatible message with a link to the console, retried\n"
	 "with back-off.\n"},
	{"reviewer", cmd_reviewer, "add, list or remove the people who may use the console",
	 "usage: airlock reviewer add NAME [--role viewer|reviewer|admin]\n"
	 "                            [--password-stdin | --link] [--json]\n"
	 "       airlock reviewer list [--json]\n"
	 "       airlock reviewer remove NAME\n"
	 "\n"
	 "A reviewer signs in to the console of 'airlock serve' and acts there as\n"
	 "human:NAME, with the same rules as on the command line: nobody approves,\n"
	 "samples or judges their own proposal. Roles: viewer reads; reviewer also\n"
	 "samples, judges, approves, rejects, applies, undoes and edits drafts\n"
	 "(the default); admin also lists the reviewers in the console.\n"
	 "\n"
	 "  --password-stdin   read the password from the first line of standard\n"
	 "                     input (at least 8 characters); only an Argon2id hash\n"
	 "                     is kept\n"
	 "  --link             (the default) print a one-time login link, valid 24\n"
	 "                     hours, to the console at the policy's\n"
	 "                     notify.console_url (else http://127.0.0.1:8750)\n"
	 "\n"
	 "Five failed sign-ins for one name in a minute lock that name for the\n"
	 "rest of the minute. remove ends the reviewer's sessions at once. Adding\n"
	 "and removing are recorded in the action log.\n"
	 "\n"
	 "The first reviewer of a book needs no sign-in and must be an admin\n"
	 "(--role admin). After that only a signed-in admin ('airlock login') adds\n"
	 "or removes reviewers, and from then on the command line's human verbs\n"
	 "need a signed-in reviewer too (see 'airlock login --help'). An agent\n"
	 "principal (--as agent:NAME, in any case) is always refused.\n"},
	{"login", cmd_login, "sign in as a reviewer, for the human verbs of the command line",
	 "usage: airlock login NAME [--password-stdin] [--print]\n"
	 "       airlock login --link LINK [--print]\n"
	 "\n"
	 "Signs a reviewer in (see 'airlock reviewer') with the console's rules: the\n"
	 "password (asked without echo on a terminal, else the first line of standard\n"
	 "input) is checked against its Argon2id hash, or a one-time LINK (or its\n"
	 "token) from 'airlock reviewer add --link' is used up; five failures for a\n"
	 "name in a minute lock it for the rest of the minute. The session lasts 12\n"
	 "hours; only its hash is in the database, and 'airlock logout' or 'airlock\n"
	 "reviewer remove' ends it at once. Its secret goes to a file only you can\n"
	 "read, one per database: $XDG_RUNTIME_DIR/airlock/session-HASH, else\n"
	 "~/.airlock/session-HASH. $AIRLOCK_SESSION, when set, is used instead.\n"
	 "\n"
	 "Once a book has reviewers, the human verbs (sample, judge, approve, reject,\n"
	 "apply, undo, drafts discard, outbox deliver/resend/mark-sent/cancel, drift\n"
	 "ack) need a signed-in reviewer or admin, and the operator verbs (reviewer\n"
	 "add/remove, token create/revoke, import, drift baseline, log checkpoint)\n"
	 "an admin; --as may only name the person signed in. With no reviewer (a new\n"
	 "book, the demo) --as is taken on trust, and the verbs say so. The first\n"
	 "'reviewer add' needs no sign-in and must make an admin. An agent principal\n"
	 "(agent:NAME, any case) is never accepted by these verbs.\n"
	 "\n"
	 "What this does not stop: anyone who can write the database file, or who\n"
	 "runs as your OS user while you are signed in (and can read your session\n"
	 "file). Run agents as another OS user for that.\n"
	 "\n"
	 "  --print   print the session's secret instead of writing the file, for\n"
	 "            export AIRLOCK_SESSION=$(airlock login NAME --print)\n"},
	{"logout", cmd_logout, "end the command line's sign-in session",
	 "usage: airlock logout\n"
	 "\n"
	 "Ends the session of 'airlock login' in the database (a copy of its secret\n"
	 "stops working) and removes the session file.\n"},
	{"token", cmd_token, "create, list or revoke connector tokens",
	 "usage: airlock token create --connector read|write --agent NAME [--json]\n"
	 "       airlock token list [--json]\n"
	 "       airlock token revoke ID\n"
	 "\n"
	 "A token lets one agent use one HTTP connector of airlock serve. create\n"
	 "prints the token once on standard output; airlock keeps only its hash.\n"
	 "list shows ids, connectors and agents (never secrets), OAuth grants\n"
	 "(ids oauth-...) among them; revoke stops a token, or a grant with all its\n"
	 "access and refresh tokens, at once. Creating and revoking are recorded in\n"
	 "the action log.\n"
	 "\n"
	 "create and revoke are an operator's: never an agent's (--as agent:NAME is\n"
	 "refused), and once the book has reviewers, only a signed-in admin's\n"
	 "('airlock login').\n"},
	{"drafts", cmd_drafts, "e-mail drafts agents wrote, and their status",
	 "usage: airlock drafts [--account ID] [--status S] [--limit N] [--json]\n"
	 "       airlock drafts ID [--json]\n"
	 "       airlock drafts discard ID [--as NAME]\n"
	 "\n"
	 "Lists drafts, newest first (default 100), or shows one in full: recipients,\n"
	 "declared audience, body, guard findings and its outbox messages. A draft\n"
	 "that fails the audience guard is never stored: the agent is told why.\n"
	 "\n"
	 "  --status S   draft, send_requested, approved, sent, failed, unknown,\n"
	 "               blocked or discarded\n"
	 "  discard ID   drop a draft (or a requested send) that was not sent\n"},
	{"briefs", cmd_briefs, "research briefs agents saved",
	 "usage: airlock briefs [--account ID] [--limit N] [--json]\n"
	 "       airlock briefs ID [--json]\n"
	 "\n"
	 "Lists research briefs, newest first (default 100), or shows one in full\n"
	 "with the signals it cites.\n"},
	{"outbox", cmd_outbox, "messages pending, failed or of unknown fate; deliver them",
	 "usage: airlock outbox [--all] [--json]\n"
	 "       airlock outbox deliver [--now] [relay options] [audience options] [--json]\n"
	 "       airlock outbox resend ID [--force]\n"
	 "       airlock outbox mark-sent ID\n"
	 "       airlock outbox cancel ID\n"
	 "\n"
	 "Lists the messages that are pending (with their next attempt), failed,\n"
	 "blocked by the audience guard at send time, or unknown: airlock stopped\n"
	 "while handing them to the relay, so they may or may not have arrived.\n"
	 "Unknown messages are never sent again on their own: check the relay, then\n"
	 "'mark-sent ID' if it has the message, or 'resend ID --force' if not.\n"
	 "--all lists sent and cancelled messages too.\n"
	 "\n"
	 "deliver sends every approved message that is due, one per recipient with\n"
	 "a stable Message-ID, exactly once: the audience guard runs again first,\n"
	 "with the policy's audience rules as they are now (a policy that does not\n"
	 "load sends nothing; the options below may only tighten its rules);\n"
	 "a failure is retried later with back-off and reported, never lost. Exit\n"
	 "status 1 when any message was not delivered.\n"
	 "  --now                  ignore back-off: try every pending message now\n"
	 "  --host H, --port P     the SMTP relay ($AIRLOCK_SMTP_HOST, _PORT; port 25)\n"
	 "  --tls none|starttls|tls  ($AIRLOCK_SMTP_TLS; default none)\n"
	 "  --user U               AUTH user ($AIRLOCK_SMTP_USER); the password only\n"
	 "                         from $AIRLOCK_SMTP_PASSWORD\n"
	 "  --from ADDR            sender, 'Name <addr>' or addr ($AIRLOCK_SMTP_FROM)\n"
	 "  --timeout S            per message (default 60)\n"
	 "  --max-attempts N       before a message is failed (default 5)\n"
	 "  --retry-base S         first back-off, doubled each attempt (default 60)\n"
	 "  --competitor-domain D  (repeatable) also never write to D or its subdomains\n"
	 "  --touch-window-days D, --max-touches N\n"
	 "                         at most N messages per contact per D days; only a\n"
	 "                         longer window or fewer touches than the policy's\n"
	 "                         (audience: touch_window_days, max_touches_per_contact)\n"
	 WHO_ACTS},
	{"log", cmd_log, "show the action log, or sign a checkpoint of it",
	 "usage: airlock log [--record ID] [--batch ID] [--tool T] [--principal P]\n"
	 "                   [--since TIME] [--limit N] [--db PATH] [--json]\n"
	 "       airlock log checkpoint [-o FILE] [--db PATH] [--json]\n"
	 "\n"
	 "Shows the action log, newest entry first: every agent call and every\n"
	 "human verb, one hash-chained entry each. The filters combine:\n"
	 "\n"
	 "  --record ID      entries that concern book record ID\n"
	 "  --batch ID       entries about batch ID\n"
	 "  --tool T         entries of tool or verb T (propose_changes, approve, ...)\n"
	 "  --principal P    entries by P (agent:NAME, human:NAME)\n"
	 "  --since TIME     entries at or after TIME: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]\n"
	 "                   (UTC), or an age: 30m, 12h, 7d, 2w\n"
	 "  --limit N        the newest N entries only\n"
	 "  --json           the entries as JSON, with each entry's hash\n"
	 "\n"
	 "'log checkpoint' checks the whole chain, then signs its head (seq and hash)\n"
	 "with the database's key (DB.key, made by 'airlock init') and writes the\n"
	 "checkpoint to FILE, or to standard output. Keep checkpoints away from the\n"
	 "database: 'airlock verify --checkpoint FILE' then detects a rewrite of the\n"
	 "whole log. Taking a checkpoint is itself logged.\n"},
	{"migrate", cmd_migrate, "copy the database to another engine (SQLite to PostgreSQL)",
	 "usage: airlock migrate --to TARGET [--db PATH] [--json]\n"
	 "\n"
	 "Copies everything in the database (the book, batches, the action log,\n"
	 "connector tokens, reviewers) into TARGET, an empty database: a\n"
	 "postgres://USER@HOST:PORT/DB URL (or another SQLite file). The source's\n"
	 "action log is verified first and the copy's after; both must verify and\n"
	 "end at the same head, or nothing is kept. The source is not changed.\n"
	 "Stop the servers on the source first; then point them at TARGET with\n"
	 "--db or $AIRLOCK_DB.\n"},
	{"sql", cmd_sql, "run one SQL statement on the database and print its rows",
	 "usage: airlock sql [--write] [--header] [--raw] [--db PATH|URL] [--json] STATEMENT "
	 "[VALUE...]\n"
	 "\n"
	 "Runs STATEMENT on the database (a SQLite file, or a postgres:// URL) and\n"
	 "prints each row on a line, columns separated by '|', NULL as nothing,\n"
	 "blobs as x'hex', control characters as \\xNN. VALUEs bind to ?1, ?2 ...\n"
	 "as text. For operators and tests, in place of each engine's own shell.\n"
	 "\n"
	 "  --write   commit what the statement changed; without it the statement\n"
	 "            runs in a transaction that is rolled back, so a look cannot\n"
	 "            change the book (the action log stays append-only either way)\n"
	 "  --header  print the column names first\n"
	 "  --raw     print text as stored, control characters and backslashes\n"
	 "            unescaped (as sqlite3 -batch does: for scripts, not terminals)\n"
	 "  --json    {\"rows\": [{column: value}], \"changes\": N, \"committed\": bool}\n"},
	{"verify", cmd_verify, "check that the action log was not edited",
	 "usage: airlock verify [--checkpoint FILE] [--db PATH] [--json]\n"
	 "       airlock verify --invariants [--instruction-version V] [--policy FILE]\n"
	 "\n"
	 "Recomputes the action log's hash chain from the first entry and checks\n"
	 "every entry's columns against its hashed body. Prints 'N entries, head\n"
	 "HASH' and exits 0 when the log is intact; otherwise names the first entry\n"
	 "that was edited, deleted, inserted or moved, and exits 1.\n"
	 "\n"
	 "  --checkpoint FILE  also check a checkpoint from 'airlock log checkpoint':\n"
	 "                     its signature (against DB.key when present) and that\n"
	 "                     the log still has the signed hash at the signed entry\n"
	 "  --invariants       also check airlock's guarantees against the stored\n"
	 "                     rows (docs/THREATS.md): staged records within\n"
	 "                     stage_max (I1), fields within each workflow's\n"
	 "                     allow-list (I2), sent messages within the audience\n"
	 "                     rules (I4), human verbs by a person other than the\n"
	 "                     proposer (I5), instruction versions (I6, with\n"
	 "                     --instruction-version), evidence of the item's own\n"
	 "                     record (I7), merges without chains or cycles (I8).\n"
	 "                     Lists each violation with its rows; exits 1 on any.\n"
	 "                     Needs the policy (--policy) for I1, I2 and I4\n"
	 "  --instruction-version V\n"
	 "                     with --invariants: the version the connectors were\n"
	 "                     started with; every agent batch, draft, brief and\n"
	 "                     call must record exactly it (I6)\n"},
	{"drift", cmd_drift, "aggregates per window against a reference, and drift alerts",
	 "usage: airlock drift [--window W] [--windows N] [--reference N] [--json]\n"
	 "       airlock drift baseline [--from T --to T | --clear] [--as NAME]\n"
	 "       airlock drift ack ALERT --cause TEXT [--as NAME]\n"
	 "\n"
	 "Prints each metric of the current window (UTC days by default) against\n"
	 "its reference: value, reference, change and test, a sparkline of the\n"
	 "recent windows on a terminal, then the alerts with their likely causes\n"
	 "(an instruction-version change, an import, a policy change). Metrics:\n"
	 "tier-1 share and tier mix of proposals per workflow, signal kinds that\n"
	 "proposals and briefs cite, near-duplicate rate and distinct-n-gram ratio\n"
	 "of drafts, proposal and agent-call volume, tool mix, overreach, audience\n"
	 "refusal and sample-audit failure rates. Alerts are stored so that they\n"
	 "can be acknowledged; a shift must hold two windows unless it is large.\n"
	 "\n"
	 "  --window W      1h, 6h, 12h, 1d (default), 7d ...\n"
	 "  --windows N     windows shown and judged (default 14)\n"
	 "  --reference N   previous windows pooled as the reference (default 7)\n"
	 "\n"
	 "baseline: pins the reference to [--from, --to) (YYYY-MM-DD or\n"
	 "YYYY-MM-DDTHH:MM:SSZ; default: the previous N windows); --clear returns\n"
	 "to the rolling reference. ack: records a person's explanation of alert\n"
	 "ALERT (A3). Both only for people, never agents, and both are logged;\n"
	 "baseline, like import and log checkpoint, needs an admin once the book\n"
	 "has reviewers.\n" WHO_ACTS},
	{NULL, NULL, NULL, NULL},
};

/* The tool lists are long: wrapped at 76 columns, continued with the
 * indent of the line they start on. */
static void put_wrapped(const char *list, size_t col, size_t indent)
{
	const char *p = list, *sp;
	size_t n;

	while (*p) {
		sp = strstr(p, " ");
		n = sp ? (size_t)(sp - p) : strlen(p);
		if (p != list && col + 1 + n > 76) {
			printf("\n%*s", (int)indent, "");
			col = indent;
		} else if (p != list) {
			putchar(' ');
			col++;
		}
		fwrite(p, 1, n, stdout);
		col += n;
		p += n;
		while (*p == ' ')
			p++;
	}
}

void cli_put_usage(const char *usage)
{
	static const struct {
		const char *mark;
		int what; /* 0: read tools, 1: write tools, 2: the default write tool */
		const char *conj;
	} marks[] = {{CLI_READ_TOOLS, 0, " and "},
		     {CLI_WRITE_TOOLS, 1, " and "},
		     {CLI_WRITE_TOOL_CHOICE, 1, " or "},
		     {CLI_DEFAULT_WRITE_TOOL, 2, NULL}};
	const struct tools_row *dflt;
	const char *p = usage, *line = usage, *m;
	char names[2048];
	size_t i, best_i = 0, indent;

	while (*p) {
		const char *best = NULL;

		for (i = 0; i < sizeof marks / sizeof marks[0]; i++) {
			m = strstr(p, marks[i].mark);
			if (m && (!best || m < best)) {
				best = m;
				best_i = i;
			}
		}
		if (!best) {
			fputs(p, stdout);
			return;
		}
		fwrite(p, 1, (size_t)(best - p), stdout);
		for (m = p; m < best; m++)
			if (*m == '\n')
				line = m + 1;
		for (indent = 0; line[indent] == ' '; indent++)
			;
		if (marks[best_i].what == 2) {
			dflt = tools_default_write();
			fputs(dflt ? dflt->name : "none", stdout);
		} else {
			tools_names(marks[best_i].what ? TOOLS_WRITE : TOOLS_READ, marks[best_i].conj,
				    names, sizeof names);
			put_wrapped(names, (size_t)(best - line), indent);
		}
		p = best + strlen(marks[best_i].mark);
	}
}

const struct cli_command *cli_find(const char *name)
{
	const struct cli_command *c;

	for (c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cli_common_option(struct cli *cli, int c, const char *arg)
{
	const struct cli_command *cmd;

	switch (c) {
	case CLI_OPT_DB:
		cli->db_path = arg;
		return 1;
	case CLI_OPT_JSON:
		cli->json = 1;
		return 1;
	case CLI_OPT_AS:
		cli->as = arg;
		return 1;
	case CLI_OPT_POLICY:
		cli->policy_path = arg;
		return 1;
	case CLI_OPT_HELP:
		cmd = cli_find(cli->verb);
		if (cmd)
			cli_put_usage(cmd->usage);
		return -1;
	}
	return 0;
}

int cli_batch_arg(struct cli *cli, int argc, char **argv, int64_t *id)
{
	struct err err = {0};

	if (optind >= argc)
		return cli_usage(cli, "which batch? give its id");
	if (optind + 1 < argc)
		return cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
	if (staging_parse_id(argv[optind], id, &err))
		return cli_usage(cli, "%s", err.msg);
	return 0;
}

int cli_getopt(struct cli *cli, int argc, char **argv, const struct option *extra, int *done)
{
	static const struct option common[] = {CLI_COMMON_OPTIONS};
	struct option all[40];
	size_t n = 0, i;
	int c, h;

	for (i = 0; i < sizeof common / sizeof common[0]; i++)
		all[n++] = common[i];
	for (i = 0; extra && extra[i].name && n < 39; i++)
		all[n++] = extra[i];
	memset(&all[n], 0, sizeof all[n]);
	opterr = 0;
	c = getopt_long(argc, argv, "h", all, NULL);
	if (c == -1)
		return -1;
	h = cli_common_option(cli, c, optarg);
	if (h < 0) {
		*done = CLI_OK;
		return -2;
	}
	if (h > 0)
		return cli_getopt(cli, argc, argv, extra, done);
	if (c == '?' || c == ':') {
		*done = cli_usage(cli, "unknown option or missing value: '%s'", argv[optind - 1]);
		return -2;
	}
	return c;
}

/* Messages often quote what an agent or the book wrote (an id, a reason):
 * they are escaped like every other text a person reads. */
static void say_escaped(const char *fmt, va_list ap)
{
	char msg[4096], shown[8192];

	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	fputs(text_escape_buf(shown, sizeof shown, msg, TEXT_LINES), stderr);
}

int cli_fail(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "airlock: %s: ", cli->verb);
	va_start(ap, fmt);
	say_escaped(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

int cli_fail_err(struct cli *cli, const struct err *err)
{
	return cli_fail(cli, "%s", err->msg[0] ? err->msg : err_name(err->code));
}

int cli_usage(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "airlock: %s: ", cli->verb);
	va_start(ap, fmt);
	say_escaped(fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'airlock %s --help'\n", cli->verb);
	return CLI_USAGE;
}

struct store *cli_store(struct cli *cli)
{
	struct err err = {0};

	if (cli->store)
		return cli->store;
	if (store_open_with(&cli->store, store_target(cli->db_path),
			    &(struct store_options){.create = cli->create_db}, &err)) {
		cli_fail_err(cli, &err);
		return NULL;
	}
	return cli->store;
}

void cli_warn_modes(struct cli *cli, const char *db_path)
{
	static const char *const sides[] = {"", "-wal", "-shm"};
	char path[4200];
	struct stat sb;
	size_t i;
	int n;

	for (i = 0; i <= sizeof sides / sizeof sides[0]; i++) {
		if (i < sizeof sides / sizeof sides[0])
			n = snprintf(path, sizeof path, "%s%s", db_path, sides[i]);
		else
			n = audit_key_path(db_path, path, sizeof path, NULL) ? -1 : 0;
		if (n < 0 || (size_t)n >= sizeof path || stat(path, &sb) != 0)
			continue;
		if (sb.st_mode & 077)
			fprintf(stderr,
				"airlock: %s: warning: %s has mode %03o: others on this host can "
				"read the book, the action log or credentials in it (chmod 600 %s)\n",
				cli->verb, path, (unsigned)(sb.st_mode & 0777), path);
	}
}

struct store *cli_server_store(struct cli *cli)
{
	struct err err = {0};
	struct store *s = cli_store(cli);

	if (!s)
		return NULL;
	if (store_writable(s, &err)) {
		cli_fail(cli, "%s; not starting", err.msg);
		return NULL;
	}
	cli_warn_modes(cli, store_path(s));
	return s;
}

const char *cli_policy_path(struct cli *cli)
{
	const char *path = cli->policy_path;

	if (!path || !*path)
		path = getenv("AIRLOCK_POLICY");
	if (!path || !*path)
		path = POLICY_DEFAULT_PATH;
	else
		return path;
	/* A client (Claude Desktop, Claude Code) starts the server with cwd /:
	 * the policy that belongs to a book is the one init wrote beside it. */
	if ((!strcmp(cli->verb, "mcp") || !strcmp(cli->verb, "serve")) &&
	    access(path, F_OK) != 0) {
		/* (a PostgreSQL URL is no folder: its '/' are not one) */
		const char *db = store_target(cli->db_path);
		const char *slash = store_target_is_pg(db) ? NULL : strrchr(db, '/');
		int n;

		if (slash) {
			n = snprintf(cli->policy_near_db, sizeof cli->policy_near_db, "%.*s/%s",
				     (int)(slash - db), db, POLICY_DEFAULT_PATH);
			if (n > 0 && (size_t)n < sizeof cli->policy_near_db &&
			    access(cli->policy_near_db, F_OK) == 0)
				return cli->policy_near_db;
		}
	}
	return path;
}

struct policy *cli_policy(struct cli *cli, int required)
{
	struct err err = {0};

	if (!cli->policy_tried) {
		cli->policy_tried = 1;
		if (policy_load(cli_policy_path(cli), &cli->policy, &err)) {
			cli->policy = NULL;
			(void)snprintf(cli->policy_err, sizeof cli->policy_err, "%s", err.msg);
			if (required && access(cli_policy_path(cli), F_OK) != 0 &&
			    (!strcmp(cli->verb, "mcp") || !strcmp(cli->verb, "serve")))
				/* not "run airlock init": that would make a second,
				 * default policy beside the real one */
				cli_fail(cli, "no policy: %s does not exist here, nor beside the "
					      "database; pass --policy FILE (the airlock.yaml that "
					      "'airlock init' wrote next to the book)",
					 cli_policy_path(cli));
			else if (required)
				cli_fail(cli, "%s (airlock does not run with a policy that does not"
					      " check: see 'airlock policy check')",
					 err.msg);
		}
	} else if (!cli->policy && required)
		cli_fail(cli, "no usable policy at %s", cli_policy_path(cli));
	return cli->policy;
}

const char *cli_principal(struct cli *cli)
{
	const char *name = cli->as;
	struct passwd *pw;
	struct err err = {0};

	if (cli->identified)
		return cli->principal;
	if (!name) {
		pw = getpwuid(getuid());
		name = pw ? pw->pw_name : "unknown";
	}
	if (cli_identity_parse(name, cli->principal, sizeof cli->principal, &err))
		(void)snprintf(cli->principal, sizeof cli->principal, "human:invalid");
	return cli->principal;
}

int cli_escape(struct cli *cli, json_t *v)
{
	static const char *const lines[] = {"body", "text", NULL};

	if (text_json_escape(v, lines))
		return cli_fail(cli, "out of memory");
	return CLI_OK;
}

/* JSON escapes C0 controls itself; text_json_dumps also writes DEL, C1 and
 * bidirectional characters as \u escapes, so that `--json` piped to a
 * terminal steers it no more than the plain output does. */
int cli_print_json(struct cli *cli, json_t *v)
{
	char *doc = text_json_dumps(v, JSON_INDENT(2));
	int bad = !doc || fputs(doc, stdout) == EOF || fputc('\n', stdout) == EOF;

	free(doc);
	if (bad)
		return cli_fail(cli, "cannot write output");
	return CLI_OK;
}

json_t *cli_autonomy(struct cli *cli, int print)
{
	const char *path = store_target(cli->db_path);
	struct err err = {0};
	json_t *list = NULL, *w;
	size_t i;

	/* before anything runs there is no database, and no evidence yet */
	if (!store_target_exists(path) || !cli_store(cli) ||
	    autonomy_list(cli->store, 0.95, &list, &err))
		return NULL;
	if (!print)
		return list;
	printf("\nearned autonomy (sample audits so far; the level sets the sample size):\n");
	if (json_array_size(list) == 0)
		printf("  no sample audit yet: every workflow is at normal inspection\n");
	json_array_foreach(list, i, w)
		printf("  %-14s %-9s %lld item(s) inspected, %lld defect(s), 95%% upper bound %.1f%%,"
		       " %lld clean batch(es) in a row\n",
		       json_string_value(json_object_get(w, "workflow")),
		       json_string_value(json_object_get(w, "level")),
		       (long long)json_integer_value(json_object_get(w, "inspected")),
		       (long long)json_integer_value(json_object_get(w, "defects")),
		       100 * json_real_value(json_object_get(w, "upper_bound")),
		       (long long)json_integer_value(json_object_get(w, "clean_run")));
	json_array_foreach(list, i, w)
		if (json_integer_value(json_object_get(w, "discounted_samples")) > 0)
			printf("  %-14s %lld sample(s) left out of this evidence: their reviewer's"
			       " catch rate on seeded checks is below the policy's min_catch_rate\n",
			       json_string_value(json_object_get(w, "workflow")),
			       (long long)json_integer_value(json_object_get(w, "discounted_samples")));
	return list;
}

int cli_batch_verb(struct cli *cli, int argc, char **argv, const char *flag, cli_batch_fn run,
		   int64_t *id, json_t **report)
{
	const struct option extra[] = {{flag, no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	struct err err = {0};
	struct store *s;
	int c, done = 0, rc, on = 0;

	*report = NULL;
	while ((c = cli_getopt(cli, argc, argv, extra, &done)) != -1) {
		if (c == -2)
			return done;
		if (c == 'f')
			on = 1;
	}
	rc = cli_batch_arg(cli, argc, argv, id);
	if (rc)
		return rc;
	s = cli_store(cli);
	if (!s)
		return CLI_FAIL;
	rc = cli_person(cli, CLI_NEED_PERSON);
	if (rc)
		return rc;
	struct review r = {s, cli_policy(cli, 0), "cli"};

	rc = run(&r, *id, cli_principal(cli), on, report, &err);
	if (cli->json && *report)
		cli_print_json(cli, *report);
	else if (*report && cli_escape(cli, *report)) {
		json_decref(*report);
		*report = NULL;
		return CLI_FAIL;
	}
	if (rc) {
		if (!cli->json)
			cli_print_conflicts(*report);
		json_decref(*report);
		*report = NULL;
		return cli_fail_err(cli, &err);
	}
	return CLI_OK;
}

void cli_print_conflicts(json_t *report)
{
	json_t *c, *list = json_object_get(report, "conflicts");
	size_t i;

	if (!list)
		list = json_object_get(report, "overwritten");
	json_array_foreach(list, i, c)
	{
		json_t *cur = json_object_get(c, "current_version");

		/* a merge the book no longer allows says why, not a version */
		if (json_is_string(json_object_get(c, "reason"))) {
			printf("  item %lld  account %s: %s\n",
			       (long long)json_integer_value(json_object_get(c, "item")),
			       json_string_value(json_object_get(c, "record_id")),
			       json_string_value(json_object_get(c, "reason")));
			continue;
		}

		printf("  item %lld  account %s: version %lld expected, ",
		       (long long)json_integer_value(json_object_get(c, "item")),
		       json_string_value(json_object_get(c, "record_id")),
		       (long long)json_integer_value(json_object_get(c, "expected_version")));
		if (json_is_null(cur))
			printf("record gone\n");
		else
			printf("now %lld\n", (long long)json_integer_value(cur));
	}
}

int cli_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

int cli_stderr_tty(void) { return isatty(STDERR_FILENO); }

int cli_parse_long(struct cli *cli, const char *opt, const char *arg, long min, long max,
		   long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < min || v > max)
		return cli_usage(cli, "%s: '%s' is not a whole number from %ld to %ld", opt, arg, min,
				 max);
	*out = v;
	return 0;
}

int cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct cli_command *c;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cli_put_usage(cli_find("help")->usage);
		return CLI_OK;
	}
	if (argc > 1) {
		c = cli_find(argv[1]);
		if (!c)
			return cli_usage(cli, "unknown verb '%s'", argv[1]);
		cli_put_usage(c->usage);
		return CLI_OK;
	}
	fputs("usage: airlock <verb> [options]\n"
	      "\n"
	      "airlock stages, logs, samples and gates every write or send an AI agent\n"
	      "proposes against a sales book, and can undo what it applied.\n"
	      "\n"
	      "verbs:\n",
	      stdout);
	for (c = cli_commands; c->name; c++)
		printf("  %-10s %s\n", c->name, c->summary);
	fputs("\n"
	      "options every verb takes:\n"
	      "  --db PATH   the database (default ./airlock.db, or $AIRLOCK_DB)\n"
	      "  --json      machine-readable output, where the verb prints data\n"
	      "  --as NAME   who is acting (default: the OS user); once the book has\n"
	      "              reviewers, only the person signed in ('airlock login')\n"
	      "  --policy FILE  the policy (default ./airlock.yaml, or $AIRLOCK_POLICY)\n"
	      "  --help      the verb's own help\n"
	      "\n"
	      "exit codes: 0 ok, 1 failure, 2 usage error\n",
	      stdout);
	return CLI_OK;
}
