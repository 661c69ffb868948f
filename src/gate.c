/* gate.c — PLACEHOLDER until the gate lands: fails closed on every call. */
#include "gate.h"

int gate_call_tool(struct gate *g, const struct gate_call *call, json_t *args, json_t **result,
		   struct err *err)
{
	(void)g;
	(void)call;
	(void)args;
	*result = json_pack("{s:s,s:[s]}", "decision", "blocked", "reasons",
			    "the gate is not built yet: nothing is allowed");
	(void)err;
	return 0;
}

int gate_batch_status(struct gate *g, const char *principal, const char *batch_id,
		      json_t **result, struct err *err)
{
	(void)g;
	(void)principal;
	(void)batch_id;
	*result = json_pack("{s:[]}", "batches");
	(void)err;
	return 0;
}
