/* mcp_int_upstream.h — between mcp.c and mcp_upstream.c only: the policy's
 * upstream tools as rows of the tool registry (mcp_upstream.c says what is
 * shown and what a call does). */
#ifndef AIRLOCK_MCP_INT_UPSTREAM_H
#define AIRLOCK_MCP_INT_UPSTREAM_H

#include "mcp.h"

/* Makes a registry row for each tool the policy lists that its upstream
 * offers (once per process; an upstream that is down is tried again at the
 * next refresh), and hides every such row whose definition is untrusted,
 * changed since it was trusted, or gone; shows it again once trusted, made
 * afresh from the definition a person trusted while airlock runs. Run
 * before each tools/list; tools_fresh then rebuilds. */
void mcp_upstream_refresh(struct mcp_server *srv, struct mcp_session *ses);
/* Before a tools/call of name: the refresh above when name is an upstream
 * tool's that is not shown now (a shown one is checked by the call). */
void mcp_upstream_refresh_call(struct mcp_server *srv, struct mcp_session *ses, const char *name);

/* An upstream read whose request has left (tool its agent-facing name,
 * args the call's): its action log entry is submitted now, so the log
 * commits it while the upstream answers, and the answer, once back, leaves when that
 * entry is committed (at once, mostly) instead of waiting for an entry
 * submitted after it. The entry is the one a successful read gets; a call
 * that fails upstream gets its error entry as well. Does nothing outside
 * a tools/call of a read connector whose reads are deferred (HTTP). */
void mcp_upstream_prelog(struct mcp_server *srv, struct mcp_session *ses, const char *tool,
			 json_t *args);

#endif
