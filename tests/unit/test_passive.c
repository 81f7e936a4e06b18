/* Passive health accounting (nginx max_fails/fail_timeout), with injected time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy/passive.h"

#define FT 10000 /* fail_timeout, ms */

static void test_single_failure_takes_out_with_max_fails_1(void **s)
{
	(void)s;
	struct passive p = { 0 };
	assert_false(passive_is_down(&p, 5000, 1));
	assert_true(passive_on_failure(&p, 5000, 1, FT));
	assert_int_equal(p.down_until, 5000 + FT);
	assert_true(passive_is_down(&p, 5000, 1));
	assert_true(passive_is_down(&p, 5000 + FT - 1, 1));
	assert_false(passive_is_down(&p, 5000 + FT, 1));
}

static void test_failure_at_time_zero(void **s)
{
	(void)s;
	struct passive p = { 0 };
	assert_false(passive_on_failure(&p, 0, 2, FT));
	assert_true(passive_on_failure(&p, 1, 2, FT));
	assert_true(passive_is_down(&p, 1, 2));
	assert_int_equal(p.down_until, 1 + FT);
}

static void test_max_fails_within_window(void **s)
{
	(void)s;
	struct passive p = { 0 };
	assert_false(passive_on_failure(&p, 1000, 3, FT));
	assert_false(passive_is_down(&p, 1000, 3));
	assert_false(passive_on_failure(&p, 2000, 3, FT));
	assert_false(passive_is_down(&p, 2000, 3));
	assert_true(passive_on_failure(&p, 10999, 3, FT)); /* last ms of the window */
	assert_true(passive_is_down(&p, 10999, 3));
	assert_int_equal(p.down_until, 10999 + FT);
}

static void test_failures_spread_outside_window_do_not_take_out(void **s)
{
	(void)s;
	struct passive p = { 0 };
	/* one failure every fail_timeout: never 3 inside one window */
	for (uint64_t t = 0; t < 20 * FT; t += FT)
		assert_false(passive_on_failure(&p, t, 3, FT));
	assert_false(passive_is_down(&p, 20 * FT, 3));
	/* window opened at 19*FT with one failure; two more inside it take the server out */
	assert_false(passive_on_failure(&p, 19 * FT + 1, 3, FT));
	assert_true(passive_on_failure(&p, 19 * FT + 2, 3, FT));
}

static void test_window_restarts_at_boundary(void **s)
{
	(void)s;
	struct passive p = { 0 };
	assert_false(passive_on_failure(&p, 0, 2, FT));
	/* exactly fail_timeout later: the old window is over, this opens a new one */
	assert_false(passive_on_failure(&p, FT, 2, FT));
	assert_int_equal(p.window_start, FT);
	assert_int_equal(p.fails, 1);
	assert_true(passive_on_failure(&p, FT + 1, 2, FT));
}

static void test_success_resets(void **s)
{
	(void)s;
	struct passive p = { 0 };
	assert_false(passive_on_failure(&p, 100, 3, FT));
	assert_false(passive_on_failure(&p, 200, 3, FT));
	passive_on_success(&p);
	assert_int_equal(p.fails, 0);
	assert_false(passive_on_failure(&p, 300, 3, FT));
	assert_false(passive_on_failure(&p, 400, 3, FT));
	assert_false(passive_is_down(&p, 400, 3));
	assert_true(passive_on_failure(&p, 500, 3, FT));
}

static void test_failures_while_down_do_not_extend(void **s)
{
	(void)s;
	struct passive p = { 0 };
	assert_true(passive_on_failure(&p, 1000, 1, FT));
	/* connects already in flight fail while the server is out: no new transition */
	assert_false(passive_on_failure(&p, 1500, 1, FT));
	assert_false(passive_on_failure(&p, 1000 + FT - 1, 1, FT));
	assert_int_equal(p.down_until, 1000 + FT);
	assert_false(passive_is_down(&p, 1000 + FT, 1));
}

static void test_back_after_expiry_needs_fresh_failures(void **s)
{
	(void)s;
	struct passive p = { 0 };
	assert_false(passive_on_failure(&p, 0, 2, FT));
	assert_true(passive_on_failure(&p, 10, 2, FT));
	assert_false(passive_is_down(&p, 10 + FT, 2));
	assert_false(passive_on_failure(&p, 10 + FT, 2, FT));
	assert_false(passive_is_down(&p, 10 + FT, 2));
	assert_true(passive_on_failure(&p, 20 + FT, 2, FT));
	assert_true(passive_is_down(&p, 20 + FT, 2));
	assert_int_equal(p.down_until, 20 + 2 * FT);
}

static void test_max_fails_zero_disables(void **s)
{
	(void)s;
	struct passive p = { 0 };
	for (uint64_t t = 0; t < 1000; t++)
		assert_false(passive_on_failure(&p, t, 0, FT));
	assert_int_equal(p.fails, 0);
	assert_false(passive_is_down(&p, 999, 0));
	/* state left by an earlier config with max_fails > 0 is ignored once disabled */
	p.down_until = 1u << 30;
	assert_false(passive_is_down(&p, 5, 0));
	assert_true(passive_is_down(&p, 5, 1));
}

static void test_zero_fail_timeout(void **s)
{
	(void)s;
	struct passive p = { 0 };
	/* fail_timeout 0: never out for any time, each failure its own window */
	assert_false(passive_on_failure(&p, 100, 2, 0));
	assert_false(passive_on_failure(&p, 100, 2, 0));
	assert_false(passive_is_down(&p, 100, 2));
	assert_true(passive_on_failure(&p, 100, 1, 0));
	assert_false(passive_is_down(&p, 100, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_failure_takes_out_with_max_fails_1),
		cmocka_unit_test(test_failure_at_time_zero),
		cmocka_unit_test(test_max_fails_within_window),
		cmocka_unit_test(test_failures_spread_outside_window_do_not_take_out),
		cmocka_unit_test(test_window_restarts_at_boundary),
		cmocka_unit_test(test_success_resets),
		cmocka_unit_test(test_failures_while_down_do_not_extend),
		cmocka_unit_test(test_back_after_expiry_needs_fresh_failures),
		cmocka_unit_test(test_max_fails_zero_disables),
		cmocka_unit_test(test_zero_fail_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
