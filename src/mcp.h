/* mcp.h — the MCP connectors: one transport-independent message handler
 * that stdio (cmd_mcp.c), Streamable HTTP (mcp_http.c) and the fuzzer share.
 *
 * Owns: the MCP lifecycle (initialize / notifications/initialized with
 * version negotiation 2025-11-25, 2025-06-18, 2025-03-26), the stateless
 * revision 2026-07-28 (server/discover, per-request _meta, resultType),
 * ping, logging/setLevel and notifications/message, tools/list and
 * tools/call for the two connectors: read (research tools over the book)
 * and write (propose/draft tools, every call through gate_call_tool()).
 *
 * Never: exposes a tool that approves, judges, applies or undoes anything;
 * puts a write tool on the read connector; lets a tool's arguments or book
 * data pick the principal (it comes from the transport: --agent on stdio,
 * the bearer token on HTTP). Every tools/call is recorded with
 * audit_append() once, on either connector.
 *
 * Ownership: a struct mcp_server borrows its store (the caller closes it
 * after mcp_server_free()). Replies are malloc'd strings the caller frees.
 * A server and its sessions are used by one thread at a time. */
#ifndef AIRLOCK_MCP_H
#define AIRLOCK_MCP_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "gate.h"
#include "store.h"
#include "version.h"

#define MCP_SERVER_NAME "airlock"
#define MCP_SERVER_VERSION AIRLOCK_VERSION
/* The newest revision with an initialize handshake, and the stateless one. */
#define MCP_LATEST_SESSION_VERSION "2025-11-25"
#define MCP_STATELESS_VERSION "2026-07-28"
/* JSON-RPC errors the 2026-07-28 revision defines. */
#define MCP_ERR_HEADER_MISMATCH (-32020)
#define MCP_ERR_UNSUPPORTED_VERSION (-32022)
/* Largest message mcp_handle() accepts; transports refuse larger ones first. */
#define MCP_MAX_MESSAGE (4u * 1024u * 1024u)

enum mcp_connector { MCP_READ, MCP_WRITE };

struct audit_queue;
struct mcp_deferred;

struct mcp_server {
	enum mcp_connector connector;
	struct store *store;                     /* borrowed */
	struct gate gate;                        /* .policy NULL until a policy is wired */
	const char *default_instruction_version; /* borrowed; may be NULL */
	json_t *tools;                           /* the tools/list array */
	json_t *schemas;                         /* tool name → inputSchema */
	unsigned tools_gen; /* the registry's generation tools was built from */
	struct audit_queue *logq; /* borrowed; when set, read calls are logged through it
				     (group commit) instead of on store */
	/* With logq: a successful read does not wait here for its entry to
	 * be committed; its answer is left in deferred instead (HTTP). */
	int defer_reads;
	struct mcp_deferred *deferred; /* the caller's to take after each call */
	/* the tools/call under way (its id, borrowed) and its entry when an
	 * upstream read logged it as it went out (mcp_int_upstream.h) */
	json_t *call_id;
	struct mcp_deferred *prelogged;
	/* Set by a tool that wrote its whole structured result as JSON text
	 * (search_accounts, the busiest read); do_tools_call sends and frees
	 * it, and the tool's json_t result then holds only what the log's
	 * summary needs. Such a tool writes its row's untrusted marker into
	 * the text itself: mcp_tool_run adds it only to a json_t result
	 * (test_mcp: test_every_read_tool_marks_its_text). One call at a
	 * time per server. */
	char *result_text;
	/* Tests only: AIRLOCK_TEST_TOOL_DELAY="TOOL:MS" makes every call of
	 * TOOL take MS more milliseconds (a slow call that costs no CPU). */
	char test_delay_tool[32];
	unsigned test_delay_ms;
};

/* What a session knows; for HTTP one per Mcp-Session-Id, for stdio one per
 * process. The stateless revision uses a throw-away copy per request. */
struct mcp_session {
	char principal[128];      /* "agent:NAME", set by the transport */
	int initialized;          /* initialize answered */
	int client_ready;         /* notifications/initialized received */
	int stateless;            /* this request speaks 2026-07-28 */
	char protocol_version[16];
	int log_level;            /* -1: send no notifications/message */
	char client_name[64];
	/* Where notifications/message go (stdio writes a line; HTTP may stream
	 * them as SSE events). NULL drops them. msg is valid during the call. */
	void (*notify)(void *ctx, const char *msg);
	void *notify_ctx;
	unsigned tools_seen; /* tool registry generation at its last tools/list; 0: none */
};

/* Builds the server for one connector. */
int mcp_server_init(struct mcp_server *srv, enum mcp_connector connector, struct store *store,
		    const char *default_instruction_version, struct err *err);
void mcp_server_free(struct mcp_server *srv);
/* Gives the server the policy the gate decides by, and writes the policy
 * into the write tools' schemas: the workflows each tool may be called
 * under (an enum), what each may write and its limits (the description),
 * and the fields propose_changes may name. These are what tools/list shows;
 * the gate, not the schema check, refuses a workflow or field outside them
 * (logged, with a did-you-mean). p may be NULL (no policy). */
int mcp_server_set_policy(struct mcp_server *srv, const struct policy *p, struct err *err);

const char *mcp_connector_name(enum mcp_connector c); /* "read" / "write" */
int mcp_connector_parse(const char *s, enum mcp_connector *out);

/* 1 when name is a usable agent name: 1–64 of [A-Za-z0-9._-]. */
int mcp_agent_valid(const char *name);

/* A fresh session for principal "agent:NAME" (agent given without prefix). */
void mcp_session_init(struct mcp_session *s, const char *agent);

/* Handles one JSON-RPC message of len bytes. *reply gets the response to
 * send, or NULL when there is none (notifications, responses). Returns 0
 * when the reply is a result or there is none, else the JSON-RPC error code
 * in the reply (negative), so a transport can pick its status code. */
int mcp_handle(struct mcp_server *srv, struct mcp_session *ses, const char *msg, size_t len,
	       char **reply);
/* A read's answer that may leave only once its log entry is committed
 * (srv->defer_reads): after mcp_handle_json, a non-NULL srv->deferred
 * (reset it to NULL) replaces the reply. then calls fn(ctx, reply) once the
 * entry is committed, with the answer, or has failed, with a tool error
 * saying the result is withheld: at once on this thread when that is
 * already known, else on the log's writer thread. fn owns reply (NULL when
 * out of memory). wait blocks until then and returns the reply. Either
 * frees d. */
struct mcp_deferred;
typedef void (*mcp_deferred_fn)(void *ctx, char *reply);
void mcp_deferred_then(struct mcp_deferred *d, mcp_deferred_fn fn, void *ctx);
char *mcp_deferred_wait(struct mcp_deferred *d);

/* The same for a message already decoded (borrowed). */
int mcp_handle_json(struct mcp_server *srv, struct mcp_session *ses, json_t *msg, char **reply);

/* 1 when a message (decoded, borrowed) is a call whose cost grows with the
 * book or with its own size: book_stats, a search_accounts text match, a
 * call with an argument array of more than MCP_EXPENSIVE_ITEMS items; 2
 * when it calls a tool that waits on another server (TOOLS_WAIT: an
 * upstream's), whatever its arguments; 0 otherwise. A
 * transport runs these apart from the cheap ones (http.h's lanes), so a
 * lookup never waits behind a scan. Decided from the message alone, before
 * any authentication or schema check: a wrong guess changes only where the
 * call waits, never what it may do. */
#define MCP_EXPENSIVE_ITEMS 100
int mcp_call_expensive(json_t *msg);

/* 1 when version is one initialize can agree on. */
int mcp_version_supported(const char *version);
/* The protocol version in a request's params._meta, or NULL. */
const char *mcp_meta_version(json_t *msg);

/* mcp_tools.c: airlock's own tools, as rows of the tool registry
 * (tools.h); every function here reads the registry, so rows added there
 * at run time are served like airlock's own. */
struct tools_row;
/* A visible tool of this connector, or NULL. */
const struct tools_row *mcp_tool_find(enum mcp_connector c, const char *name);
/* The connector that has a visible tool of this name, or -1. */
int mcp_tool_connector(const char *name);
/* Builds the tools/list array and the name → inputSchema map from the
 * registry's visible rows of connector c. */
int mcp_tools_build(enum mcp_connector c, json_t **list, json_t **schemas, struct err *err);
/* A copy of the built list with the book's current values as enums
 * (region, segment, lifecycle, signal kind), for tools/list. */
int mcp_tools_book(json_t *list, struct store *s, json_t **out, struct err *err);
/* The policy's workflows into the built schemas (mcp_server_set_policy). */
int mcp_tools_policy(json_t *list, const struct policy *p, struct err *err);
/* Runs a tool whose arguments already passed its schema. *result is the
 * structuredContent; a negative return is a tool-level failure (err says
 * why); *decision, *reasons, *batch_id (borrowed from *result) are for the
 * action log. */
int mcp_tool_run(struct mcp_server *srv, struct mcp_session *ses, const struct tools_row *t,
		 json_t *args, json_t **result, struct err *err);
int mcp_tool_is_write(const struct tools_row *t);

/* Time budgets of the read tools, in milliseconds: a call still running at
 * its budget is stopped (store_budget) and fails with "NAME took longer
 * than its 2 s budget; narrow the query", and its thread is free again.
 * Scans are the tools whose cost can grow with the book (search_accounts,
 * book_stats); lookups are the others. Write tools run to their end: they
 * are bounded by stage_max, and a write stopped midway would lose its
 * transaction. Process-wide; set before serving. ms <= 0: no budget. */
enum mcp_budget_class { MCP_BUDGET_LOOKUP, MCP_BUDGET_SCAN, MCP_BUDGET_CLASSES };
#define MCP_BUDGET_LOOKUP_MS 1000
#define MCP_BUDGET_SCAN_MS 2000
void mcp_budget_set(enum mcp_budget_class c, int ms);
int mcp_budget_get(enum mcp_budget_class c);
const char *mcp_tool_name(const struct tools_row *t);

#endif
