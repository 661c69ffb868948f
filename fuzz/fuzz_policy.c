/* fuzz_policy.c — libFuzzer target over fuzz_policy_harness.h (what one input is
 * and the oracles are said there). Build and run: make fuzz. */
#include "fuzz_policy_harness.h"

static struct fuzz_policy fuzz;

static void cleanup(void) { fuzz_policy_fini(&fuzz); }

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_policy_init(&fuzz);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	fuzz_policy_one(&fuzz, data, size);
	return 0;
}
