/* mcp_int_upstream.h — between mcp.c and mcp_upstream.c only: the policy's
 * upstream tools on a connector (mcp_upstream.c says what is shown and what
 * a call does). */
#ifndef AIRLOCK_MCP_INT_UPSTREAM_H
#define AIRLOCK_MCP_INT_UPSTREAM_H

#include "mcp.h"

/* Appends to list (a tools/list array) the upstream tools shown on srv's
 * connector: listed in the policy for it, present upstream, trusted and
 * unchanged. An upstream that is down contributes nothing. */
int mcp_upstream_append(struct mcp_server *srv, struct mcp_session *ses, json_t *list);

/* Runs upstream tool name (NAME__TOOL). AIRLOCK_ENOTFOUND when the policy
 * lists no such tool for this connector (the caller's "unknown tool");
 * else 0 with *result the structured result, or a tool-level failure. */
int mcp_upstream_run(struct mcp_server *srv, struct mcp_session *ses, const char *name,
		     json_t *args, json_t **result, struct err *err);

#endif
