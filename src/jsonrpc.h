/* jsonrpc.h — JSON-RPC 2.0 messages: classify one decoded message, build
 * responses and notifications.
 *
 * Owns: the JSON-RPC error codes and the shape rules (jsonrpc "2.0", id a
 * string or an integer, method a string, params an object or array).
 *
 * Never: knows anything about MCP methods or transports. Batches (arrays)
 * are classified as invalid: MCP since 2025-06-18 does not allow them.
 *
 * jsonrpc_classify() borrows from the message: the pointers in struct
 * jsonrpc_msg live as long as the json_t they came from. Every char * the
 * builders return is malloc'd and the caller frees it (NULL when out of
 * memory). */
#ifndef AIRLOCK_JSONRPC_H
#define AIRLOCK_JSONRPC_H

#include <jansson.h>
#include <stddef.h>

enum {
	JSONRPC_PARSE_ERROR = -32700,
	JSONRPC_INVALID_REQUEST = -32600,
	JSONRPC_METHOD_NOT_FOUND = -32601,
	JSONRPC_INVALID_PARAMS = -32602,
	JSONRPC_INTERNAL_ERROR = -32603
};

enum jsonrpc_kind {
	JSONRPC_REQUEST,      /* method + id: answer it */
	JSONRPC_NOTIFICATION, /* method, no id: never answer */
	JSONRPC_RESPONSE,     /* result or error with an id: a reply to us */
	JSONRPC_INVALID       /* answer with an error (code, why) */
};

struct jsonrpc_msg {
	enum jsonrpc_kind kind;
	json_t *id;         /* borrowed; NULL when absent or unusable */
	const char *method; /* borrowed */
	json_t *params;     /* borrowed; NULL when absent */
	int code;           /* JSONRPC_INVALID: the error code */
	const char *why;    /* JSONRPC_INVALID: static text */
};

/* Decodes text (exactly len bytes, which need not be NUL-terminated) into
 * *out (a new reference). A message that is not JSON yields NULL and
 * JSONRPC_PARSE_ERROR with jerr filled. Duplicate keys are refused. */
int jsonrpc_parse(const char *text, size_t len, json_t **out, json_error_t *jerr);

/* Sorts a decoded message into request / notification / response / invalid. */
void jsonrpc_classify(json_t *msg, struct jsonrpc_msg *out);

/* {"jsonrpc":"2.0","id":id,"result":result}; steals result. */
char *jsonrpc_result(json_t *id, json_t *result);
/* {"jsonrpc":"2.0","id":id|null,"error":{"code","message"[,"data"]}};
 * steals data (may be NULL). */
char *jsonrpc_error(json_t *id, int code, const char *message, json_t *data);
/* {"jsonrpc":"2.0","method":method,"params":params}; steals params. */
char *jsonrpc_notification(const char *method, json_t *params);

#endif
