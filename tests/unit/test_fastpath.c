/* The fast path's pure pieces: mode names, pair entries, counter folding, the FIN gate and the
 * start decision. The kernel side is proven by tests/tools/fastpath_probe.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proxy/fastpath.h"

static void test_modes_round_trip(void **s)
{
	(void)s;
	const char *names[] = { "off", "auto", "sockmap" };
	for (int i = 0; i < 3; i++) {
		enum cfg_fast_path m = CFG_FAST_PATH_SOCKMAP + 1;
		assert_true(cfg_fast_path_from_name(names[i], &m));
		assert_string_equal(cfg_fast_path_name(m), names[i]);
	}
	enum cfg_fast_path m;
	assert_false(cfg_fast_path_from_name("on", &m));
	assert_false(cfg_fast_path_from_name("", &m));
}

static void test_pair_entries_point_at_each_other(void **s)
{
	(void)s;
	struct fp_peer c = { .bytes = 9, .passed = 9 }, v = { .bytes = 9 };
	fp_pair_entries(11, 22, &c, &v);
	assert_int_equal(c.peer, 22);
	assert_int_equal(v.peer, 11);
	assert_int_equal(c.bytes + c.passed + v.bytes + v.passed, 0);
}

static void test_bytes_delta_folds_once(void **s)
{
	(void)s;
	uint64_t taken = 0;
	assert_int_equal(fp_bytes_delta(100, &taken), 100);
	assert_int_equal(fp_bytes_delta(100, &taken), 0);
	assert_int_equal(fp_bytes_delta(250, &taken), 150);
	/* a new entry (counter restarted): all of it is new */
	assert_int_equal(fp_bytes_delta(30, &taken), 30);
	assert_int_equal(taken, 30);
}

static void test_fin_waits_for_redirected_bytes(void **s)
{
	(void)s;
	assert_true(fp_fin_ready(1000, 1000, 0));
	assert_false(fp_fin_ready(1000, 1500, 501));
	assert_true(fp_fin_ready(1000, 1501, 501));
	assert_true(fp_fin_ready(1000, 9000, 501));
	assert_false(fp_fin_ready(1000, 999, 0)); /* a reading that went back: not trusted */
}

static void test_start_decision(void **s)
{
	(void)s;
	assert_int_equal(fp_start_decision(CFG_FAST_PATH_OFF, 0), 0);
	assert_int_equal(fp_start_decision(CFG_FAST_PATH_OFF, -1), 0);
	assert_int_equal(fp_start_decision(CFG_FAST_PATH_AUTO, 0), 1);
	assert_int_equal(fp_start_decision(CFG_FAST_PATH_AUTO, -1), 0);
	assert_int_equal(fp_start_decision(CFG_FAST_PATH_SOCKMAP, 0), 1);
	assert_int_equal(fp_start_decision(CFG_FAST_PATH_SOCKMAP, -1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes_round_trip),
		cmocka_unit_test(test_pair_entries_point_at_each_other),
		cmocka_unit_test(test_bytes_delta_folds_once),
		cmocka_unit_test(test_fin_waits_for_redirected_bytes),
		cmocka_unit_test(test_start_decision),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
