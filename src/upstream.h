/* upstream.h — a client of one upstream MCP server (the policy's
 * upstreams:), over stdio (a command airlock starts) or Streamable HTTP
 * (libcurl): initialize, tools/list, tools/call.
 *
 * Owns: the child process of a stdio upstream (started on first use with a
 * small environment: PATH, HOME, LANG, TMPDIR and the variables the policy
 * names; restarted when it dies, with a back-off from 250 ms doubling to
 * 30 s; its stderr kept as a bounded tail), the HTTP session (Mcp-Session-Id,
 * headers whose values come from environment variables named in the
 * policy), and the upstream's tool definitions as of its latest start.
 *
 * Never: trusts what the upstream sends. Every answer is bounded in time
 * (the policy's timeout) and size (max_message per message, four times that
 * per request); a line that is not JSON-RPC, an answer too large or too
 * late fails the request and the stdio upstream is stopped and started
 * afresh on a later call. Never passes the agent's credentials upstream:
 * nothing of the caller's request but the tool name and its arguments goes
 * out. Knows nothing of the gate, the book or the log: callers decide what
 * may be called and record it.
 *
 * A struct upstream borrows its struct policy_upstream (the policy outlives
 * it) and may be shared by threads. Calls to a stdio upstream are in
 * flight at once on its one pipe, each answer handed to its caller by its
 * JSON-RPC id (a call that times out stops the child, and with it the
 * calls still out); HTTP calls run at once, each on a connection of
 * its own kept open for later calls (at most 64 kept idle). Results are new references the caller releases. */
#ifndef AIRLOCK_UPSTREAM_H
#define AIRLOCK_UPSTREAM_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "policy.h"

/* The agent sees upstream tool TOOL of upstream NAME as NAME__TOOL. */
#define UPSTREAM_SEP "__"
#define UPSTREAM_DEFAULT_TIMEOUT_S 30
#define UPSTREAM_DEFAULT_MAX_MESSAGE (4 * 1024 * 1024)
#define UPSTREAM_STDERR_TAIL 4096
/* A running upstream's tools are listed afresh when the list is this old
 * (at the next call that needs them): servers change tools without a
 * notification, and a changed definition must be found while airlock runs. */
#define UPSTREAM_RELIST_MS 5000

struct upstream;

/* A client for cfg; nothing is started until the first request. */
int upstream_open(const struct policy_upstream *cfg, struct upstream **out, struct err *err);
void upstream_free(struct upstream *u);

/* The upstream's tools (a JSON array of definitions, a new reference), as
 * listed at its latest start; starts it when it is not running. */
int upstream_tools(struct upstream *u, json_t **tools, struct err *err);

/* The upstream's tools listed afresh unless the list is under a second old
 * (a caller saw a definition it did not expect: a person may have trusted
 * what the upstream offers now). */
int upstream_relist(struct upstream *u, json_t **tools, struct err *err);

/* tools/call of tool with args (borrowed); *result is the upstream's
 * CallToolResult (an object, a new reference). A result with isError true
 * is still 0: the tool answered. */
int upstream_call(struct upstream *u, const char *tool, json_t *args, json_t **result,
		  struct err *err);
/* upstream_call, calling sent(ctx) on this thread once the request has left
 * for the upstream (never when it did not): what the caller need not do
 * before the answer (its log entry) is done while the upstream answers. */
int upstream_call_sent(struct upstream *u, const char *tool, json_t *args,
		       void (*sent)(void *ctx), void *ctx, json_t **result, struct err *err);

/* The last bytes the stdio upstream wrote to stderr, NUL-terminated into
 * buf (printable ASCII; anything else shown as '?'). */
void upstream_stderr(struct upstream *u, char *buf, size_t len);

/* The pin of a tool definition: hex BLAKE2b-256 of its name, title,
 * description, inputSchema, outputSchema and annotations, as compact JSON
 * with sorted keys (so key order upstream does not matter). */
int upstream_tool_hash(json_t *def, char hex[65], struct err *err);
/* Those members of def alone (a new reference): what is pinned and shown. */
json_t *upstream_tool_pinned(json_t *def);

/* One client per upstream of a policy, shared by every connector of the
 * process (a stdio upstream is started once, not once per thread). */
struct upstream *upstream_shared(const struct policy_upstream *cfg, struct err *err);
/* Stops every shared upstream (at exit). */
void upstream_shared_close(void);

/* What the policy and the upstream disagree on: *absent (listed, not
 * offered) and *unlisted (offered, not listed: never shown nor callable),
 * each a new JSON array of tool names. */
int upstream_inventory(const struct policy_upstream *cfg, json_t *tools, json_t **absent,
		       json_t **unlisted, struct err *err);

/* Splits an agent-facing name NAME__TOOL: the upstream name into ubuf and
 * a pointer to TOOL; NULL when name has no separator or parts that fit. */
const char *upstream_split(const char *name, char *ubuf, size_t len);

#endif
