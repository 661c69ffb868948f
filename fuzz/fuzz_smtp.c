/* fuzz_smtp.c — libFuzzer target over fuzz_smtp_harness.h (what one input is
 * and the oracles are said there). Build and run: make fuzz. */
#include "fuzz_smtp_harness.h"

static struct fuzz_smtp fuzz;

static void cleanup(void) { fuzz_smtp_fini(&fuzz); }

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_smtp_init(&fuzz);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	fuzz_smtp_one(&fuzz, data, size);
	return 0;
}
