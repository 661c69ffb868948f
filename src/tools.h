/* tools.h — the one tool registry: every MCP tool airlock serves is a row
 * here, and every layer that needs to know about a tool asks the registry
 * (the MCP layer's tools/list and tools/call, the gate's workflow check and
 * dispatch, the policy's tool lists and `policy check`, `propose --tool`,
 * help text, drift). A tool's name is written once, in its row.
 *
 * Owns: the rows (airlock's own, defined in mcp_tools.c and registered
 * with tools_builtin(), and rows added at run time with tools_add(), e.g.
 * an upstream server's tools), whether a
 * row is hidden, and a generation number that changes whenever the set of
 * visible rows does, so a layer that caches what it built from the rows
 * knows to build again.
 *
 * Never: decides anything about a call (the gate does), parses a policy,
 * or forgets a row while the process runs (a row that must go is hidden:
 * pointers to rows stay valid until tools_reset()).
 *
 * Ownership: tools_add() copies every string of the row; ctx and the
 * function pointers are the caller's and must outlive the row. Rows found
 * by tools_find()/tools_at() are the registry's, valid until tools_reset().
 * Lookups may run on any thread while one thread adds or hides rows. */
#ifndef AIRLOCK_TOOLS_H
#define AIRLOCK_TOOLS_H

#include <jansson.h>

#include "err.h"
#include "policy.h"

/* Most rows the registry holds, built-in ones included. */
#define TOOLS_MAX 512
/* Longest tool name: [A-Za-z0-9_.-], 1 to 64 characters. */
#define TOOLS_NAME_MAX 64

/* Same values as mcp.h's enum mcp_connector. */
enum tools_connector { TOOLS_READ = 0, TOOLS_WRITE = 1 };

/* What the gate does with a write tool's call. */
enum tools_gate {
	TOOLS_GATE_NONE,    /* a read tool: never reaches the gate */
	TOOLS_GATE_CHANGES, /* field changes staged as a batch (propose_changes) */
	TOOLS_GATE_MERGE,   /* merges, approved by a person */
	TOOLS_GATE_DRAFT,   /* an email draft checked against the audience rules */
	TOOLS_GATE_BRIEF,   /* a research brief; the book untouched */
	TOOLS_GATE_SEND,    /* a request to send drafts */
	TOOLS_GATE_HOOK,    /* the row's gate_fn decides (rows added at run time) */
};

/* How the MCP layer budgets a read tool, and which calls it runs apart
 * from the cheap ones (mcp_call_expensive). */
enum tools_cost {
	TOOLS_LOOKUP, /* bounded by its arguments */
	TOOLS_SCAN,   /* can grow with the book */
	TOOLS_WAIT,   /* waits on another server (an upstream's tool): apart
			 from the cheap ones, at the CPU's normal priority */
};

/* What the value found by a row's fields pointers is. */
enum tools_fields_kind {
	TOOLS_FIELDS_NONE,  /* the tool writes no named fields */
	TOOLS_FIELDS_NAME,  /* a string naming one field (propose_changes' item.field) */
	TOOLS_FIELDS_KEYS,  /* an object whose keys are the fields written */
};

struct mcp_server;
struct mcp_session;
struct gate;
struct gate_call;
struct tools_row;

/* Runs a read tool (or any tool not through the gate) whose arguments
 * already passed its schema; *result is the structuredContent. */
typedef int (*tools_run_fn)(struct mcp_server *srv, struct mcp_session *ses,
			    const struct tools_row *row, json_t *args, json_t **result,
			    struct err *err);
/* Decides a TOOLS_GATE_HOOK call as the gate's dispatch would. */
typedef int (*tools_gate_fn)(struct gate *g, const struct gate_call *call,
			     const struct tools_row *row, json_t *args, json_t **result,
			     struct err *err);

struct tools_row {
	const char *name;  /* unique across both connectors */
	const char *title;
	enum tools_connector connector;
	enum policy_effect effect; /* the effect its workflow must have */
	int read_only, destructive, idempotent, open_world; /* MCP annotations */
	int routed;   /* calls name their workflow, so several workflows may list it */
	int audience; /* the audience guard judges its recipients (drift counts refusals) */
	enum tools_cost cost;
	/* with TOOLS_SCAN: the call is expensive only when this string argument
	 * is non-empty; NULL: every call is */
	const char *scan_arg;
	const char *description;
	const char *input_schema;  /* JSON text; the policy adds enums (mcp_tools_policy) */
	const char *output_schema; /* JSON text */
	/* JSON array of the JSON pointers under which every string of the
	 * result is third-party text; NULL when there is none */
	const char *untrusted;
	/* JSON object text: top-level string argument -> what of the book
	 * (book_values: region, segment, lifecycle, kind) whose current values
	 * tools/list shows as the argument's enum; NULL when none */
	const char *book_enums;
	tools_run_fn run;     /* read tools; NULL for a gated tool */
	enum tools_gate gate; /* write tools */
	tools_gate_fn gate_fn; /* TOOLS_GATE_HOOK only */
	/* Write tools: JSON array text of JSON pointers into the arguments,
	 * a segment "*" standing for every element of an array: where the
	 * records a call touches are named (propose_changes: items, every
	 * element, record_id), and where the fields it writes are (fields_kind
	 * says what is found there). */
	const char *records;
	const char *fields;
	enum tools_fields_kind fields_kind;
	void *ctx; /* the adder's, borrowed */
};

/* Adds a copy of row. AIRLOCK_EEXIST when a row of that name exists,
 * AIRLOCK_EINVAL when the row is inconsistent (bad name, schema that is not
 * a JSON object, a read tool with another effect or without run, a write
 * tool without a gate, ...), AIRLOCK_ENOMEM, or AIRLOCK_EBUSY when the
 * registry is full. The new row is visible at once. */
int tools_add(const struct tools_row *row, struct err *err);
/* Puts a copy of row in the place of the row of the same name, shown (an
 * upstream tool whose new definition a person trusted while airlock runs).
 * Same checks as tools_add; AIRLOCK_ENOTFOUND when no row has that name,
 * AIRLOCK_EDENIED for airlock's own rows. A thread that found the old row
 * may go on using it: it is kept until tools_reset (at most TOOLS_MAX
 * replacements per process, then AIRLOCK_EBUSY). */
int tools_replace(const struct tools_row *row, struct err *err);
/* The row named name, hidden or not, or NULL. */
const struct tools_row *tools_find(const char *name);
/* The name of airlock's own row the gate dispatches as kind g (draft_email
 * for TOOLS_GATE_DRAFT, ...), for the modules behind the gate that log a
 * call under its tool's name: the name is written once, in its row. "?"
 * when no built-in row has that kind. */
const char *tools_gate_name(enum tools_gate g);
/* Number of rows (hidden ones included) and the i-th, in the order they
 * were added (airlock's own first); NULL past the end. */
int tools_count(void);
const struct tools_row *tools_at(int i);
/* A hidden row is in no tools/list, and calls of it are refused; the
 * policy may still name it. Returns AIRLOCK_ENOTFOUND for an unknown name. */
int tools_hide(const char *name, int hidden, struct err *err);
int tools_hidden(const struct tools_row *row);
/* Changes whenever a row is added or hidden or shown. */
unsigned tools_generation(void);
/* The write tool `propose --tool` defaults to: the first visible write row. */
const struct tools_row *tools_default_write(void);
/* Writes the visible rows of a connector as "a, b, c" + conj + "d" into
 * buf (conj e.g. " or "). Returns the length it needed (as snprintf). */
int tools_names(enum tools_connector c, const char *conj, char *buf, size_t len);
/* Tests only: forgets every row added at run time and shows every row. */
void tools_reset(void);

/* Registers rows of static storage, kept as they are (not copied) and
 * never forgotten, not even by tools_reset(): airlock's own tools, which
 * mcp_tools.c registers before main() runs, so every layer finds them
 * without the registry depending on the MCP layer. Same checks and answers
 * as tools_add(). */
int tools_builtin(const struct tools_row *rows, int n, struct err *err);

#endif
