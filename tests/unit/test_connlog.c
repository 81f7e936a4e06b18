/* The connection log's SPSC ring: order, a full ring drops and counts, wrap-around, partial
 * drains, and a producer and a consumer thread racing over a million sequenced events. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "proxy/connlog.h"

static struct connlog_ev ev(uint64_t id)
{
	return (struct connlog_ev){ .op = CONNLOG_OPEN, .id = id, .lport = (uint16_t)id };
}

static void test_bad_cap(void **state)
{
	(void)state;
	struct connlog r;
	assert_int_equal(connlog_init(&r, 0), -1);
	assert_int_equal(connlog_init(&r, 1), -1);
	assert_int_equal(connlog_init(&r, 12), -1);
	assert_int_equal(connlog_init(&r, 2), 0);
	assert_int_equal(connlog_room(&r), 2);
	connlog_free(&r);
}

static void test_push_drain_order(void **state)
{
	(void)state;
	struct connlog r;
	assert_int_equal(connlog_init(&r, 8), 0);
	struct connlog_ev out[8];
	assert_int_equal(connlog_drain(&r, out, 8), 0);
	for (uint64_t i = 1; i <= 5; i++)
		assert_true(connlog_push(&r, &(struct connlog_ev){ .op = CONNLOG_CLOSE, .id = i }));
	assert_int_equal(connlog_room(&r), 3);
	assert_int_equal(connlog_drain(&r, out, 8), 5);
	for (uint64_t i = 0; i < 5; i++) {
		assert_int_equal(out[i].id, i + 1);
		assert_int_equal(out[i].op, CONNLOG_CLOSE);
	}
	assert_int_equal(connlog_room(&r), 8);
	assert_int_equal(connlog_drain(&r, out, 8), 0);
	connlog_free(&r);
}

static void test_full_drops_and_counts(void **state)
{
	(void)state;
	struct connlog r;
	assert_int_equal(connlog_init(&r, 4), 0);
	for (uint64_t i = 0; i < 4; i++)
		assert_true(connlog_push(&r, &(struct connlog_ev){ .id = i }));
	assert_int_equal(connlog_room(&r), 0);
	assert_false(connlog_push(&r, &(struct connlog_ev){ .id = 100 }));
	assert_false(connlog_push(&r, &(struct connlog_ev){ .id = 101 }));
	assert_int_equal(atomic_load(&r.dropped), 2);
	struct connlog_ev out[8];
	assert_int_equal(connlog_drain(&r, out, 8), 4); /* the dropped ones are not there */
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(out[i].id, i);
	assert_true(connlog_push(&r, &(struct connlog_ev){ .id = 5 })); /* room again */
	assert_int_equal(atomic_load(&r.dropped), 2);
	connlog_free(&r);
}

static void test_wrap_around(void **state)
{
	(void)state;
	struct connlog r;
	assert_int_equal(connlog_init(&r, 8), 0);
	uint64_t next_in = 0, next_out = 0;
	struct connlog_ev out[8];
	/* 1000 rounds of 5 in, 5 out: the indices go round the 8 slots many times */
	for (int round = 0; round < 1000; round++) {
		for (int k = 0; k < 5; k++) {
			struct connlog_ev e = ev(next_in++);
			assert_true(connlog_push(&r, &e));
		}
		size_t n = connlog_drain(&r, out, 8);
		assert_int_equal(n, 5);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(out[k].id, next_out++);
	}
	/* indices near the uint32_t wrap */
	atomic_store(&r.head, UINT32_MAX - 2);
	atomic_store(&r.tail, UINT32_MAX - 2);
	for (int k = 0; k < 8; k++) {
		struct connlog_ev e = ev(1000 + k);
		assert_true(connlog_push(&r, &e));
	}
	assert_false(connlog_push(&r, &(struct connlog_ev){ .id = 9 }));
	assert_int_equal(connlog_drain(&r, out, 8), 8);
	for (int k = 0; k < 8; k++)
		assert_int_equal(out[k].id, 1000 + k);
	assert_int_equal(connlog_room(&r), 8);
	connlog_free(&r);
}

static void test_drain_small_max(void **state)
{
	(void)state;
	struct connlog r;
	assert_int_equal(connlog_init(&r, 16), 0);
	for (uint64_t i = 0; i < 10; i++) {
		struct connlog_ev e = ev(i);
		assert_true(connlog_push(&r, &e));
	}
	struct connlog_ev out[3];
	uint64_t want = 0;
	size_t n;
	while ((n = connlog_drain(&r, out, 3)) > 0) {
		assert_true(n <= 3);
		for (size_t k = 0; k < n; k++) {
			assert_int_equal(out[k].id, want);
			assert_int_equal(out[k].lport, (uint16_t)want);
			want++;
		}
	}
	assert_int_equal(want, 10);
	assert_int_equal(connlog_drain(&r, out, 0), 0);
	connlog_free(&r);
}

/* ---- two threads ---- */

#define STRESS_N 1000000u
#define STRESS_LIMIT_S 20

struct stress {
	struct connlog r;
	_Atomic bool done;
	bool retry; /* push again until it fits: nothing may go missing */
	uint64_t pushed, failed;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *producer(void *arg)
{
	struct stress *s = arg;
	for (uint64_t i = 0; i < STRESS_N; i++) {
		struct connlog_ev e = {
			.op = CONNLOG_OPEN, .id = i, .lport = (uint16_t)i, .pport = (uint16_t)(i >> 16)
		};
		memcpy(e.local.b, &i, sizeof(i)); /* a payload the consumer checks */
		bool ok;
		while (!(ok = connlog_push(&s->r, &e)) && s->retry)
			s->failed++;
		s->pushed += ok;
		s->failed += !ok;
	}
	atomic_store_explicit(&s->done, true, memory_order_release);
	return NULL;
}

/* The consumer drains while the producer pushes; ids must come in order, each once, with
 * every missing one counted as dropped. */
static void two_threads(bool retry)
{
	struct stress s = { .retry = retry };
	assert_int_equal(connlog_init(&s.r, 1024), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, producer, &s), 0);
	struct connlog_ev out[64];
	uint64_t got = 0, next = 0, gaps = 0;
	double deadline = now_s() + STRESS_LIMIT_S;
	for (;;) {
		bool done = atomic_load_explicit(&s.done, memory_order_acquire);
		size_t n = connlog_drain(&s.r, out, 64);
		for (size_t k = 0; k < n; k++) {
			uint64_t id = out[k].id, payload;
			memcpy(&payload, out[k].local.b, sizeof(payload));
			assert_int_equal(payload, id); /* the slot was complete when handed over */
			assert_int_equal(out[k].lport, (uint16_t)id);
			assert_int_equal(out[k].pport, (uint16_t)(id >> 16));
			assert_true(id >= next); /* in order, never twice */
			gaps += id - next;
			next = id + 1;
			got++;
		}
		if (done && n == 0)
			break;
		assert_true(now_s() < deadline);
	}
	pthread_join(t, NULL);
	gaps += STRESS_N - next; /* dropped after the last one seen */
	uint64_t dropped = atomic_load(&s.r.dropped);
	assert_int_equal(dropped, s.failed);
	assert_int_equal(got, s.pushed);
	assert_int_equal(got, STRESS_N - (retry ? 0 : dropped));
	assert_int_equal(gaps, retry ? 0 : dropped); /* each missing id was counted */
	printf("    two threads%s: %llu events, %llu dropped\n", retry ? " (retrying)" : "",
	       (unsigned long long)got, (unsigned long long)dropped);
	connlog_free(&s.r);
}

static void test_two_threads_dropping(void **state)
{
	(void)state;
	two_threads(false);
}

static void test_two_threads_retrying(void **state)
{
	(void)state;
	two_threads(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_cap),
		cmocka_unit_test(test_push_drain_order),
		cmocka_unit_test(test_full_drops_and_counts),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_drain_small_max),
		cmocka_unit_test(test_two_threads_dropping),
		cmocka_unit_test(test_two_threads_retrying),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
