/* fuzz_mcp.c — libFuzzer target for the MCP message handler (mcp_handle).
 * Build and run: make fuzz (clang -fsanitize=fuzzer,address,undefined). */
#include "fuzz_mcp_harness.h"

static struct fuzz_mcp fuzz;

static void cleanup(void) { fuzz_mcp_fini(&fuzz); }

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_mcp_init(&fuzz);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	fuzz_mcp_one(&fuzz, data, size);
	return 0;
}
