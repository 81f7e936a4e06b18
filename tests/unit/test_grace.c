/* Grace periods (core/grace.h): a period ends only when every worker has been idle or begun a
 * new iteration since it started; epochs retired later wait for a later period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/grace.h"

static _Atomic uint64_t c0, c1;
static _Atomic uint64_t *const qs[2] = { &c0, &c1 };

static void test_busy_worker_holds_the_period(void **state)
{
	(void)state;
	struct grace g;
	c0 = 2; /* busy */
	c1 = 5; /* idle */
	assert_int_equal(grace_init(&g, qs, 2), 0);
	assert_int_equal(grace_poll(&g), 0); /* nothing retired */
	uint64_t e = grace_retire(&g);
	assert_int_equal(e, 1);
	assert_int_equal(grace_poll(&g), 0); /* worker 0 busy since before */
	assert_int_equal(grace_poll(&g), 0);
	uint64_t e2 = grace_retire(&g); /* during the period: needs the next one */
	grace_quiescent(&c0);           /* worker 0 sleeps: 3 */
	/* period 1 ends; period 2 starts with both idle: over at once */
	assert_int_equal(grace_poll(&g), e2);
	grace_quiescent(&c0); /* wakes: 4, busy */
	grace_quiescent(&c1); /* wakes: 6, busy */
	uint64_t e3 = grace_retire(&g);
	assert_int_equal(grace_poll(&g), 2);
	grace_quiescent(&c1); /* worker 1 passes; worker 0 still in its callback */
	assert_int_equal(grace_poll(&g), 2);
	grace_quiescent(&c0);
	assert_int_equal(grace_poll(&g), e3);
	grace_free(&g);
}

static void test_no_workers(void **state)
{
	(void)state;
	struct grace g;
	assert_int_equal(grace_init(&g, NULL, 0), 0);
	uint64_t e = grace_retire(&g);
	assert_int_equal(grace_poll(&g), e);
	grace_free(&g);
	assert_int_equal(grace_retire(NULL), 0);
	assert_true(grace_done(NULL) >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_worker_holds_the_period),
		cmocka_unit_test(test_no_workers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
