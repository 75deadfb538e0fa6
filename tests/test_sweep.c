/*
 * tests/test_sweep.c - the value lists of `odpsim sweep --grid`
 * (sweep_expand_values): lists, ranges of powers and of steps, units,
 * and the one-line errors of malformed lists.  The campaigns themselves
 * are tested from the command line (tests/sweep.sh, tests/sweep_slurm.sh).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sim/system/sweep.h"

static void expect(const char *spec, const char *joined)
{
	GError *e = NULL;
	char **v = sweep_expand_values(spec, &e);
	ck_assert_msg(v, "'%s': %s", spec, e ? e->message : "");
	char *j = g_strjoinv(" ", v);
	ck_assert_msg(!strcmp(j, joined), "'%s' -> '%s', expected '%s'", spec,
		      j, joined);
	g_free(j);
	g_strfreev(v);
}

static void refuse(const char *spec, const char *msg)
{
	GError *e = NULL;
	char **v = sweep_expand_values(spec, &e);
	ck_assert_msg(!v, "'%s' accepted", spec);
	ck_assert_msg(strstr(e->message, msg), "'%s': '%s' lacks '%s'", spec,
		      e->message, msg);
	ck_assert_msg(!strchr(e->message, '\n'), "%s", e->message);
	g_error_free(e);
	g_strfreev(v);
}

START_TEST(lists_and_ranges)
{
	expect("pin,odp", "pin odp");
	expect(" 1 , 2 ,3", "1 2 3");
	expect("1024..524288*2",
	       "1024 2048 4096 8192 16384 32768 65536 131072 262144 524288");
	expect("1024..5000*2", "1024 2048 4096");
	expect("0..1:0.1", "0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1");
	expect("1..4", "1 2 3 4");
	expect("4KiB..64KiB*4", "4KiB 16KiB 64KiB");
	expect("10us..30us:10us", "10us 20us 30us");
	expect("1..3*1.5", "1 1.5 2.25");
	expect("7,1..4*2,100", "7 1 2 4 100");
	expect("5..5:1", "5");
}
END_TEST

START_TEST(malformed)
{
	refuse("", "no value");
	refuse("1,,2", "an empty value");
	refuse("1,2,1", "'1,2,1': the value '1' is given twice");
	refuse("1..4*2,2", "the value '2' is given twice");
	refuse("4..1*2", "'4..1*2': LO is above HI");
	refuse("1..8*1", "the factor must be above 1");
	refuse("0..8*2", "a range of powers starts above 0");
	refuse("1..8:0", "the step must be above 0");
	refuse("1..8:-1", "the step must be above 0");
	refuse("4KiB..64KiB*2KiB", "the factor is a plain number");
	refuse("4KiB..64MB*2", "give both ends in the same unit");
	refuse("1us..5us:1ms", "the step is a number in the unit of the ends");
	refuse("a..b", "expected LO..HI*FACTOR or LO..HI:STEP");
	refuse("1..1000000*1.00001", "more than 100000 values");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sweep");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, lists_and_ranges);
	tcase_add_test(tc, malformed);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
