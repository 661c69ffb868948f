/* test_fmt.c — a text that does not fit is an error, never a shorter text. */
#include "testutil.h"

#include "fmt.h"

static void test_fits_exactly(void **state)
{
	char buf[8];
	struct err err = {0};

	(void)state;
	assert_ok(fmt_buf(buf, sizeof buf, &err, "id", "%s-%d", "abcd", 12), &err);
	assert_string_equal(buf, "abcd-12");
}

/* one byte too long: the caller gets an error naming the value, and an
 * empty buffer, so a caller that ignores the code still holds no cut id */
static void test_one_byte_too_long(void **state)
{
	char buf[8] = "old";
	struct err err = {0};

	(void)state;
	assert_int_equal(fmt_buf(buf, sizeof buf, &err, "record id", "%s", "abcdefgh"),
			 AIRLOCK_EINVAL);
	assert_string_equal(buf, "");
	assert_string_equal(err.msg, "record id is too long (8 bytes, at most 7)");
	/* no err: the code alone */
	assert_int_equal(fmt_buf(buf, sizeof buf, NULL, "x", "%s", "abcdefgh"), AIRLOCK_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fits_exactly),
	    cmocka_unit_test(test_one_byte_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
