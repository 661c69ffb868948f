/* jsonrpc.c — JSON-RPC 2.0 message shapes (see jsonrpc.h). */
#include "jsonrpc.h"

#include <string.h>

int jsonrpc_parse(const char *text, size_t len, json_t **out, json_error_t *jerr)
{
	/* JSON_REJECT_DUPLICATES: two "method" keys could mean one thing to a
	 * proxy that logged the call and another to us. */
	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, jerr);
	return *out ? 0 : JSONRPC_PARSE_ERROR;
}

static int id_usable(json_t *id)
{
	/* JSON-RPC allows string, number or null; MCP narrows it to string or
	 * integer and forbids null. */
	return json_is_string(id) || json_is_integer(id);
}

static void invalid(struct jsonrpc_msg *out, int code, const char *why)
{
	out->kind = JSONRPC_INVALID;
	out->code = code;
	out->why = why;
}

void jsonrpc_classify(json_t *msg, struct jsonrpc_msg *out)
{
	json_t *v, *id, *method;

	memset(out, 0, sizeof *out);
	if (json_is_array(msg)) {
		invalid(out, JSONRPC_INVALID_REQUEST,
			"batch requests (JSON arrays) are not supported: MCP 2025-06-18 and later "
			"send one JSON-RPC message at a time");
		return;
	}
	if (!json_is_object(msg)) {
		invalid(out, JSONRPC_INVALID_REQUEST, "a JSON-RPC message must be a JSON object");
		return;
	}
	id = json_object_get(msg, "id");
	if (id && id_usable(id))
		out->id = id;
	v = json_object_get(msg, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
		invalid(out, JSONRPC_INVALID_REQUEST, "\"jsonrpc\" must be the string \"2.0\"");
		return;
	}
	if (id && !id_usable(id)) {
		out->id = NULL;
		invalid(out, JSONRPC_INVALID_REQUEST,
			"\"id\" must be a string or an integer (not null, a fraction, a boolean, "
			"an array or an object)");
		return;
	}
	method = json_object_get(msg, "method");
	if (!method) {
		if (id && (json_object_get(msg, "result") || json_object_get(msg, "error"))) {
			out->kind = JSONRPC_RESPONSE;
			return;
		}
		invalid(out, JSONRPC_INVALID_REQUEST,
			"a request needs a \"method\" (and a response a \"result\" or an \"error\")");
		return;
	}
	if (!json_is_string(method) || json_string_length(method) == 0) {
		invalid(out, JSONRPC_INVALID_REQUEST, "\"method\" must be a non-empty string");
		return;
	}
	out->method = json_string_value(method);
	out->params = json_object_get(msg, "params");
	if (out->params && !json_is_object(out->params) && !json_is_array(out->params)) {
		invalid(out, JSONRPC_INVALID_REQUEST, "\"params\" must be an object or an array");
		return;
	}
	out->kind = id ? JSONRPC_REQUEST : JSONRPC_NOTIFICATION;
}

static char *dump_steal(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

char *jsonrpc_result(json_t *id, json_t *result)
{
	json_t *o;

	if (!result)
		return NULL;
	o = json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "result",
		      result);
	return dump_steal(o);
}

char *jsonrpc_error(json_t *id, int code, const char *message, json_t *data)
{
	json_t *err, *o;

	err = json_pack("{s:i,s:s}", "code", code, "message", message ? message : "error");
	if (!err) {
		json_decref(data);
		return NULL;
	}
	if (data && json_object_set_new(err, "data", data)) {
		json_decref(err);
		return NULL;
	}
	o = json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", err);
	return dump_steal(o);
}

char *jsonrpc_notification(const char *method, json_t *params)
{
	json_t *o;

	if (!params)
		return NULL;
	o = json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method", method, "params", params);
	return dump_steal(o);
}
