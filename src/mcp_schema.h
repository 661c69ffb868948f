/* mcp_schema.h — checks tool arguments against the JSON Schema a tool
 * declares, so what an agent sends is exactly what tools/list promised.
 *
 * Owns: the subset of JSON Schema (2020-12) airlock's tool schemas use:
 * type (one or a list), properties, required, additionalProperties (false or
 * a schema), enum, minimum, maximum, minLength, maxLength (in characters),
 * items, minItems, maxItems. Annotations (title, description, default,
 * examples) are ignored. Any other keyword in a schema is a programming
 * error that mcp_schema_check reports rather than silently skipping.
 *
 * Enum strings match regardless of case, and such a value is rewritten to
 * the enum's spelling; an unknown argument or enum value is answered with
 * the closest name ("did you mean") or the list of names there are.
 *
 * Never: changes a value otherwise, or decides anything beyond shape. */
#ifndef AIRLOCK_MCP_SCHEMA_H
#define AIRLOCK_MCP_SCHEMA_H

#include <jansson.h>

#include "err.h"

/* 0 when value satisfies schema; otherwise AIRLOCK_EINVAL with a message
 * naming the argument by its path from the top ("argument 'items[3].field':
 * ...", array elements numbered from 1: items[1] is the first), or the
 * schema keyword airlock does not understand. */
int mcp_schema_check(json_t *schema, json_t *value, struct err *err);

#endif
