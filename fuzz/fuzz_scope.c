/* fuzz_scope.c — libFuzzer target over fuzz_scope_harness.h: the scope
 * language, with its round-trip property as the oracle. make fuzz. */
#include "fuzz_scope_harness.h"

static struct fuzz_scope fuzz;

static void cleanup(void) { fuzz_scope_fini(&fuzz); }

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_scope_init(&fuzz);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char why[4096];

	if (fuzz_scope_one(&fuzz, data, size, why, sizeof why)) {
		fprintf(stderr, "fuzz_scope: %s\n", why);
		abort();
	}
	return 0;
}
