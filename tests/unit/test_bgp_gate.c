/* The announcement gate (src/bgp/gate.c): a table of (fit, stopping, time) sequences with the
 * expected announce/withdraw decisions, plus a random-input invariant test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "bgp/gate.h"

#define HOLD 2000

struct step {
	uint64_t now;
	bool fit, stopping;
	bool announced; /* expected after the step */
	enum gate_reason reason;
	uint64_t recheck;
};

static void run(const struct step *s, size_t n)
{
	struct gate g = { 0 };
	bool was = false;
	for (size_t i = 0; i < n; i++) {
		struct gate_verdict v = gate_decide(&g, s[i].fit, s[i].stopping, HOLD, s[i].now);
		print_message("step %zu at %llu\n", i, (unsigned long long)s[i].now);
		assert_int_equal(g.announced, s[i].announced);
		assert_int_equal(v.reason, s[i].reason);
		assert_int_equal(v.recheck_at_ms, s[i].recheck);
		assert_int_equal(v.changed, was != s[i].announced);
		was = g.announced;
	}
}

static void test_first_announce_is_immediate(void **st)
{
	(void)st;
	const struct step s[] = {
		{ 0, false, false, false, GATE_UNFIT, 0 }, /* not fit at start: no hold-down */
		{ 10, true, false, true, GATE_ANNOUNCED, 0 },
		{ 20, true, false, true, GATE_ANNOUNCED, 0 },
	};
	run(s, 3);
}

static void test_withdraw_then_hold_down(void **st)
{
	(void)st;
	const struct step s[] = {
		{ 0, true, false, true, GATE_ANNOUNCED, 0 },
		{ 1000, false, false, false, GATE_UNFIT, 0 }, /* withdrawn at once */
		{ 1500, true, false, false, GATE_HOLD_DOWN, 3000 },
		{ 2999, true, false, false, GATE_HOLD_DOWN, 3000 },
		{ 3000, true, false, true, GATE_ANNOUNCED, 0 },
		{ 3100, false, false, false, GATE_UNFIT, 0 },
		{ 3200, false, false, false, GATE_UNFIT, 0 }, /* unfit again: hold from 3100 */
		{ 5099, true, false, false, GATE_HOLD_DOWN, 5100 },
		{ 5100, true, false, true, GATE_ANNOUNCED, 0 },
	};
	run(s, sizeof(s) / sizeof(s[0]));
}

static void test_stopping_withdraws_and_stays_down(void **st)
{
	(void)st;
	const struct step s[] = {
		{ 0, true, false, true, GATE_ANNOUNCED, 0 },
		{ 10, true, true, false, GATE_STOPPING, 0 },
		{ 99999, true, true, false, GATE_STOPPING, 0 },
	};
	run(s, 3);
}

static void test_reason_names(void **st)
{
	(void)st;
	assert_string_equal(gate_reason_name(GATE_ANNOUNCED), "announced");
	assert_string_equal(gate_reason_name(GATE_UNFIT), "unfit");
	assert_string_equal(gate_reason_name(GATE_HOLD_DOWN), "hold-down");
	assert_string_equal(gate_reason_name(GATE_STOPPING), "stopping");
}

/* Invariants over random inputs: never announced while unfit or stopping; never announced
 * within HOLD of a withdrawal; always announced when fit, not stopping and the hold is over. */
static void test_random_invariants(void **st)
{
	(void)st;
	srand(7);
	for (int run_i = 0; run_i < 200; run_i++) {
		struct gate g = { 0 };
		uint64_t now = 0, last_withdraw = 0;
		bool ever = false;
		for (int i = 0; i < 200; i++) {
			now += (uint64_t)(rand() % 1500);
			bool fit = rand() % 3 != 0, stop = rand() % 50 == 0;
			bool was = g.announced;
			struct gate_verdict v = gate_decide(&g, fit, stop, HOLD, now);
			if (was && !g.announced) {
				last_withdraw = now;
				ever = true;
			}
			if (!fit || stop)
				assert_false(g.announced);
			if (g.announced && !was && ever)
				assert_true(now >= last_withdraw + HOLD);
			if (fit && !stop && (!ever || now >= last_withdraw + HOLD))
				assert_true(g.announced);
			if (v.reason == GATE_HOLD_DOWN)
				assert_int_equal(v.recheck_at_ms, last_withdraw + HOLD);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_announce_is_immediate),
		cmocka_unit_test(test_withdraw_then_hold_down),
		cmocka_unit_test(test_stopping_withdraws_and_stays_down),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_random_invariants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
