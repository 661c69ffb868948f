/* test_fuzz.c — replays every fuzz harness's seed corpus (fuzz/corpus/NAME)
 * and every crasher make fuzz kept (fuzz/regress/NAME) through the same
 * harness code (fuzz/fuzz_NAME_harness.h), built here with gcc and the
 * sanitizers, so a fixed crash stays fixed and the oracles keep holding. */
#include "testutil.h"

#include <dirent.h>

#include "../fuzz/fuzz_csv_harness.h"
#include "../fuzz/fuzz_http_harness.h"
#include "../fuzz/fuzz_mcp_harness.h"
#include "../fuzz/fuzz_policy_harness.h"
#include "../fuzz/fuzz_scope_harness.h"
#include "../fuzz/fuzz_smtp_harness.h"

typedef void (*replay_fn)(void *h, const unsigned char *data, size_t size);

/* Feeds every file of dir to fn; returns how many. A missing regress
 * folder is fine (nothing crashed yet). */
static int replay_dir(const char *dir, replay_fn fn, void *h, int must_exist)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	unsigned char *buf;
	FILE *fp;
	long n;
	int count = 0;

	if (!d) {
		if (must_exist)
			fail_msg("cannot open %s (run the tests from the repository root)", dir);
		return 0;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		assert_true((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) <
			    sizeof path);
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
		fn(h, buf, (size_t)n);
		free(buf);
		count++;
	}
	closedir(d);
	return count;
}

static void mcp_one(void *h, const unsigned char *d, size_t n) { fuzz_mcp_one(h, d, n); }
static void http_one(void *h, const unsigned char *d, size_t n) { fuzz_http_one(h, d, n); }
static void csv_one(void *h, const unsigned char *d, size_t n) { fuzz_csv_one(h, d, n); }
static void policy_one(void *h, const unsigned char *d, size_t n) { fuzz_policy_one(h, d, n); }
static void smtp_one(void *h, const unsigned char *d, size_t n) { fuzz_smtp_one(h, d, n); }
static void scope_one(void *h, const unsigned char *d, size_t n)
{
	char why[4096];

	if (fuzz_scope_one(h, d, n, why, sizeof why))
		fail_msg("%s", why);
}

/* Replays fuzz/corpus/NAME (at least min inputs) and fuzz/regress/NAME. */
static void replay(const char *name, replay_fn fn, void *h, int min)
{
	char dir[128];

	snprintf(dir, sizeof dir, "fuzz/corpus/%s", name);
	assert_true(replay_dir(dir, fn, h, 1) >= min);
	snprintf(dir, sizeof dir, "fuzz/regress/%s", name);
	replay_dir(dir, fn, h, 0);
}

static void test_mcp(void **state)
{
	struct fuzz_mcp f;

	(void)state;
	fuzz_mcp_init(&f);
	replay("mcp", mcp_one, &f, 10);
	fuzz_mcp_fini(&f);
}

static void test_http(void **state)
{
	struct fuzz_http f;

	(void)state;
	fuzz_http_init(&f);
	replay("http", http_one, &f, 10);
	fuzz_http_fini(&f);
}

static void test_csv(void **state)
{
	struct fuzz_csv f;

	(void)state;
	fuzz_csv_init(&f);
	replay("csv", csv_one, &f, 10);
	fuzz_csv_fini(&f);
}

static void test_policy(void **state)
{
	struct fuzz_policy f;

	(void)state;
	fuzz_policy_init(&f);
	replay("policy", policy_one, &f, 5);
	fuzz_policy_fini(&f);
}

static void test_scope(void **state)
{
	struct fuzz_scope f;

	(void)state;
	fuzz_scope_init(&f);
	replay("scope", scope_one, &f, 10);
	fuzz_scope_fini(&f);
}

static void test_smtp(void **state)
{
	struct fuzz_smtp f;

	(void)state;
	fuzz_smtp_init(&f);
	replay("smtp", smtp_one, &f, 5);
	fuzz_smtp_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mcp),    cmocka_unit_test(test_http),
		cmocka_unit_test(test_csv),    cmocka_unit_test(test_policy),
		cmocka_unit_test(test_scope),  cmocka_unit_test(test_smtp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
