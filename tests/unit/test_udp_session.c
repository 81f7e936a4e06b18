/* The UDP session table (proxy/udp_session.c): keys, cap, LRU expiry, proxy_responses, and a
 * random-operation run checked against a plain model. Time is injected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/udp_session.h"

static struct ip_addr v4(uint32_t host)
{
	struct ip_addr a = { .family = AF_INET, .prefix = 32 };
	a.v4.s_addr = htonl(0xc6120000u | (host & 0x1ffff)); /* 198.18.0.0/15 */
	return a;
}

static struct ip_addr v6(uint32_t host)
{
	struct ip_addr a = { .family = AF_INET6, .prefix = 128 };
	a.b[0] = 0x20, a.b[1] = 0x01, a.b[2] = 0x0d, a.b[3] = 0xb8;
	memcpy(&a.b[12], &host, 4);
	return a;
}

static void test_bad_cap(void **s)
{
	(void)s;
	struct udp_table t;
	assert_int_equal(udp_table_init(&t, 0, 1), -1);
	assert_int_equal(udp_table_init(&t, UDP_SESS_MAX_CAP + 1, 1), -1);
	assert_int_equal(udp_table_init(&t, 1, 1), 0);
	udp_table_free(&t);
}

static void test_key_is_address_and_port(void **s)
{
	(void)s;
	struct udp_table t;
	assert_int_equal(udp_table_init(&t, 16, 42), 0);
	struct ip_addr a = v4(1), b = v4(2), a6 = v6(1);
	assert_int_equal(udp_table_find(&t, &a, 53), UDP_SESS_NONE);
	uint32_t i1 = udp_table_insert(&t, &a, 53, 10);
	uint32_t i2 = udp_table_insert(&t, &a, 54, 10);
	uint32_t i3 = udp_table_insert(&t, &b, 53, 10);
	/* the same 4 bytes in a v6 address are another client */
	memcpy(a6.b, a.b, 4);
	memset(a6.b + 4, 0, 12);
	uint32_t i4 = udp_table_insert(&t, &a6, 53, 10);
	assert_int_not_equal(i1, UDP_SESS_NONE);
	assert_true(i1 != i2 && i1 != i3 && i2 != i3 && i4 != i1);
	assert_int_equal(udp_table_find(&t, &a, 53), i1);
	assert_int_equal(udp_table_find(&t, &a, 54), i2);
	assert_int_equal(udp_table_find(&t, &b, 53), i3);
	assert_int_equal(udp_table_find(&t, &a6, 53), i4);
	assert_int_equal(udp_table_find(&t, &b, 54), UDP_SESS_NONE);
	assert_int_equal(t.n, 4);
	struct udp_sess *x = udp_table_at(&t, i2);
	assert_true(x->used);
	assert_int_equal(x->port, 54);
	assert_true(ip_addr_equal(&x->addr, &a));
	udp_table_remove(&t, i1);
	assert_int_equal(udp_table_find(&t, &a, 53), UDP_SESS_NONE);
	assert_int_equal(udp_table_find(&t, &a, 54), i2);
	assert_int_equal(t.n, 3);
	udp_table_remove(&t, i1); /* twice: nothing */
	assert_int_equal(t.n, 3);
	udp_table_free(&t);
}

/* A spoofed-source flood: a million distinct clients into a table of 1000. It never holds more
 * than cap, never touches an entry beyond cap, and counts every refusal. */
static void test_flood_is_capped(void **s)
{
	(void)s;
	struct udp_table t;
	assert_int_equal(udp_table_init(&t, 1000, 7), 0);
	uint32_t ok = 0;
	for (uint32_t k = 0; k < 1000000; k++) {
		struct ip_addr a = v4(k);
		if (udp_table_insert(&t, &a, (uint16_t)(k >> 17), k / 1000) != UDP_SESS_NONE)
			ok++;
	}
	assert_int_equal(ok, 1000);
	assert_int_equal(t.n, 1000);
	assert_int_equal(t.hw, 1000);
	assert_int_equal(t.full_total, 1000000 - 1000);
	/* expiry frees them; new clients then get the same entries back (hw does not grow) */
	uint32_t gone = 0, i;
	while ((i = udp_table_next_expired(&t, 1000000, 30000)) != UDP_SESS_NONE) {
		udp_table_remove(&t, i);
		gone++;
	}
	assert_int_equal(gone, 1000);
	assert_int_equal(t.n, 0);
	for (uint32_t k = 0; k < 1000; k++) {
		struct ip_addr a = v6(k);
		assert_int_not_equal(udp_table_insert(&t, &a, 1, 2000000), UDP_SESS_NONE);
	}
	assert_int_equal(t.hw, 1000);
	assert_int_equal(t.full_total, 1000000 - 1000);
	udp_table_free(&t);
}

static void test_expiry_is_least_recently_active_first(void **s)
{
	(void)s;
	struct udp_table t;
	assert_int_equal(udp_table_init(&t, 8, 3), 0);
	struct ip_addr a = v4(1), b = v4(2), c = v4(3);
	uint32_t ia = udp_table_insert(&t, &a, 1, 100);
	uint32_t ib = udp_table_insert(&t, &b, 1, 200);
	uint32_t ic = udp_table_insert(&t, &c, 1, 300);
	assert_int_equal(udp_table_next_expired(&t, 100 + 999, 1000), UDP_SESS_NONE);
	assert_int_equal(udp_table_next_expired(&t, 100 + 1000, 1000), ia); /* exactly idle_ms */
	udp_table_on_request(&t, ia, 1150); /* a is now the most recent */
	assert_int_equal(udp_table_next_expired(&t, 1199, 1000), UDP_SESS_NONE);
	assert_int_equal(udp_table_next_expired(&t, 1200, 1000), ib);
	assert_false(udp_table_on_reply(&t, ib, 1250, 0)); /* a reply is activity too */
	assert_int_equal(udp_table_next_expired(&t, 1300, 1000), ic);
	udp_table_remove(&t, ic);
	assert_int_equal(udp_table_next_expired(&t, 2149, 1000), UDP_SESS_NONE);
	assert_int_equal(udp_table_next_expired(&t, 2150, 1000), ia);
	udp_table_remove(&t, ia);
	assert_int_equal(udp_table_next_expired(&t, 2250, 1000), ib);
	udp_table_remove(&t, ib);
	assert_int_equal(udp_table_next_expired(&t, UINT64_MAX, 0), UDP_SESS_NONE);
	/* a clock behind the session's stamp is not idle (no wrap to a huge age) */
	uint32_t ia2 = udp_table_insert(&t, &a, 1, 5000);
	assert_int_equal(udp_table_next_expired(&t, 4000, 10), UDP_SESS_NONE);
	assert_int_equal(udp_table_next_expired(&t, 5010, 10), ia2);
	udp_table_free(&t);
}

static void test_proxy_responses(void **s)
{
	(void)s;
	struct udp_table t;
	assert_int_equal(udp_table_init(&t, 4, 3), 0);
	struct ip_addr a = v4(1);
	/* proxy_responses 1 (DNS): one query, one answer, done */
	uint32_t i = udp_table_insert(&t, &a, 5353, 0);
	udp_table_on_request(&t, i, 1);
	assert_true(udp_sess_unanswered(udp_table_at(&t, i), 1));
	assert_true(udp_table_on_reply(&t, i, 2, 1));
	assert_false(udp_sess_unanswered(udp_table_at(&t, i), 1));
	udp_table_remove(&t, i);
	/* two queries before any answer: done after the second answer */
	i = udp_table_insert(&t, &a, 5353, 0);
	udp_table_on_request(&t, i, 1);
	udp_table_on_request(&t, i, 2);
	assert_false(udp_table_on_reply(&t, i, 3, 1));
	assert_true(udp_sess_unanswered(udp_table_at(&t, i), 1));
	assert_true(udp_table_on_reply(&t, i, 4, 1));
	udp_table_remove(&t, i);
	/* proxy_responses 3: three answers per query */
	i = udp_table_insert(&t, &a, 5353, 0);
	udp_table_on_request(&t, i, 1);
	assert_false(udp_table_on_reply(&t, i, 2, 3));
	assert_false(udp_table_on_reply(&t, i, 3, 3));
	assert_true(udp_table_on_reply(&t, i, 4, 3));
	udp_table_remove(&t, i);
	/* 0 = unlimited: never done by replies, never "unanswered" (syslog sees no reply) */
	i = udp_table_insert(&t, &a, 5353, 0);
	udp_table_on_request(&t, i, 1);
	assert_false(udp_sess_unanswered(udp_table_at(&t, i), 0));
	for (int k = 0; k < 100; k++)
		assert_false(udp_table_on_reply(&t, i, 2, 0));
	/* a reply with no request counted (a server speaking first) does not end it */
	uint32_t j = udp_table_insert(&t, &a, 1, 0);
	assert_false(udp_table_on_reply(&t, j, 1, 1));
	udp_table_free(&t);
}

/* Random inserts, lookups, requests, removals and expiries in a small table (many collisions,
 * the free list in constant use) against a plain array model. */
#define MODEL_N 64
struct model {
	bool present;
	uint32_t idx;
	uint64_t last;
};

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void check_model(struct udp_table *t, struct model *m, uint64_t now, uint64_t idle)
{
	uint32_t n = 0;
	uint64_t oldest = UINT64_MAX;
	for (uint32_t k = 0; k < MODEL_N; k++) {
		struct ip_addr a = k & 1 ? v6(k / 2) : v4(k / 2);
		uint32_t i = udp_table_find(t, &a, (uint16_t)k);
		if (!m[k].present) {
			assert_int_equal(i, UDP_SESS_NONE);
			continue;
		}
		n++;
		assert_int_equal(i, m[k].idx);
		assert_int_equal(udp_table_at(t, i)->last_active, m[k].last);
		if (m[k].last < oldest)
			oldest = m[k].last;
	}
	assert_int_equal(t->n, n);
	assert_true(t->hw <= t->cap);
	uint32_t e = udp_table_next_expired(t, now, idle);
	if (n && now - oldest >= idle) {
		assert_int_not_equal(e, UDP_SESS_NONE);
		assert_int_equal(udp_table_at(t, e)->last_active, oldest);
	} else {
		assert_int_equal(e, UDP_SESS_NONE);
	}
}

static void test_random_against_model(void **s)
{
	(void)s;
	struct udp_table t;
	assert_int_equal(udp_table_init(&t, 24, 99), 0);
	struct model m[MODEL_N] = { 0 };
	uint64_t x = 0x1234567, now = 1, full = 0;
	const uint64_t idle = 50;
	for (int step = 0; step < 200000; step++) {
		now += rnd(&x) % 3;
		uint32_t k = (uint32_t)(rnd(&x) % MODEL_N);
		struct ip_addr a = k & 1 ? v6(k / 2) : v4(k / 2);
		switch (rnd(&x) % 4) {
		case 0:
		case 1:
			if (m[k].present) {
				udp_table_on_request(&t, m[k].idx, now);
				m[k].last = now;
				break;
			}
			uint32_t i = udp_table_insert(&t, &a, (uint16_t)k, now);
			if (i == UDP_SESS_NONE) {
				assert_int_equal(t.n, t.cap);
				full++;
			} else {
				m[k] = (struct model){ .present = true, .idx = i, .last = now };
			}
			break;
		case 2:
			if (m[k].present) {
				udp_table_remove(&t, m[k].idx);
				m[k].present = false;
			}
			break;
		default: {
			uint32_t e = udp_table_next_expired(&t, now, idle);
			if (e != UDP_SESS_NONE) {
				const struct udp_sess *es = udp_table_at(&t, e);
				uint32_t kk = es->port;
				assert_true(m[kk].present && m[kk].idx == e);
				udp_table_remove(&t, e);
				m[kk].present = false;
			}
		}
		}
		if (step % 97 == 0)
			check_model(&t, m, now, idle);
	}
	assert_int_equal(t.full_total, full);
	assert_true(full > 0); /* the run did reach the cap */
	udp_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_cap),
		cmocka_unit_test(test_key_is_address_and_port),
		cmocka_unit_test(test_flood_is_capped),
		cmocka_unit_test(test_expiry_is_least_recently_active_first),
		cmocka_unit_test(test_proxy_responses),
		cmocka_unit_test(test_random_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
