/* test_mcp_fuzz.c — replays the fuzz corpus (fuzz/corpus/mcp) and every
 * crasher make fuzz kept (fuzz/regress/mcp) through the MCP handler under
 * the sanitizers, so a fixed crash stays fixed. */
#include "testutil.h"

#include <dirent.h>

#include "../fuzz/fuzz_mcp_harness.h"

static int replay_dir(struct fuzz_mcp *f, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	unsigned char *buf;
	FILE *fp;
	long n;
	int count = 0;

	if (!d)
		fail_msg("cannot open %s (run the tests from the repository root)", dir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		fp = fopen(path, "rb");
		assert_non_null(fp);
		assert_int_equal(fseek(fp, 0, SEEK_END), 0);
		n = ftell(fp);
		assert_true(n >= 0 && n < (8L << 20));
		rewind(fp);
		buf = malloc((size_t)n + 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
		fclose(fp);
		fuzz_mcp_one(f, buf, (size_t)n);
		free(buf);
		count++;
	}
	closedir(d);
	return count;
}

static void test_corpus(void **state)
{
	struct fuzz_mcp f;

	(void)state;
	fuzz_mcp_init(&f);
	assert_true(replay_dir(&f, "fuzz/corpus/mcp") > 10);
	fuzz_mcp_fini(&f);
}

static void test_regressions(void **state)
{
	struct fuzz_mcp f;

	(void)state;
	fuzz_mcp_init(&f);
	replay_dir(&f, "fuzz/regress/mcp");
	fuzz_mcp_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_regressions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
