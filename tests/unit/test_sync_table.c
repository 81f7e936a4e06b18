/* Sync tables: tuple equality and VIP match (prefix and unused bytes ignored, ports ignored for
 * the VIP), the own table's return codes, pending order and batching, resync, a tuple changed
 * on re-open, the refresh walk (chunks, entries removed under the cursor and added meanwhile,
 * restart), the VIP filter, caps; the peer table's add/refresh/del/prune/clear/take_on; and two
 * random-operation runs past several thousand entries checked against a plain array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "sync/table.h"

static struct ip_addr A(const char *s) {
	struct ip_addr a;
	assert_int_equal(ip_addr_parse(s, &a), 0);
	return a;
}

static struct sync_tuple
T(const char *vip, uint16_t vport, const char *client, uint16_t cport) {
	return (struct sync_tuple){ .vip = A(vip), .vport = vport, .client = A(client), .cport = cport };
}

/* IPv4 tuple number i (distinct for i < 65536) on vip 198.18.200.1:443, client port cport. */
static struct sync_tuple
TI(unsigned i, uint16_t cport) {
	char c[32];
	snprintf(c, sizeof(c), "198.18.%u.%u", (i >> 8) & 255, i & 255);
	return T("198.18.200.1", 443, c, cport);
}

/* The number TI() encoded in a tuple. */
static unsigned
TI_num(const struct sync_tuple *t)
{
	return (unsigned)t->client.b[2] << 8 | t->client.b[3];
}

#define MAXC 64
struct coll {
	struct sync_tuple t[MAXC];
	size_t n;
};

static void collect(void *arg, const struct sync_tuple *t)
{
	struct coll *c = arg;
	assert_true(c->n < MAXC);
	c->t[c->n++] = *t;
}

static void assert_tuple(const struct sync_tuple *a, const struct sync_tuple *b)
{
	assert_true(sync_tuple_equal(a, b));
}

static bool is_pow2(size_t x) { return x && (x & (x - 1)) == 0; }

/* ---- tuples ---- */

static void test_tuple_equal_on(void **state)
{
	(void)state;
	struct sync_tuple a = T("198.18.0.100", 6443, "198.18.0.50", 40000);
	struct sync_tuple b = a;
	b.vip.prefix = 24;
	b.client.prefix = 7;
	b.vip.b[9] = 0xaa; /* bytes past an IPv4 address never count */
	b.client.b[15] = 0x55;
	assert_true(sync_tuple_equal(&a, &b));
	b = a;
	b.vport++;
	assert_false(sync_tuple_equal(&a, &b));
	b = a;
	b.cport++;
	assert_false(sync_tuple_equal(&a, &b));
	b = a;
	b.client.b[3]++;
	assert_false(sync_tuple_equal(&a, &b));
	b = a;
	b.vip.b[0]++;
	assert_false(sync_tuple_equal(&a, &b));
	struct sync_tuple m = T("::ffff:198.18.0.100", 6443, "::ffff:198.18.0.50", 40000);
	assert_false(sync_tuple_equal(&a, &m));

	struct sync_tuple s = T("2001:db8::100", 443, "2001:db8::7", 51234);
	struct sync_tuple s2 = s;
	s2.vip.prefix = 64;
	assert_true(sync_tuple_equal(&s, &s2));
	s2.client.b[15]++;
	assert_false(sync_tuple_equal(&s, &s2));

	struct ip_addr vips[] = { A("198.18.0.1"), A("198.18.0.100/24"), A("2001:db8::100/64") };
	assert_true(sync_tuple_on(&a, vips, 3));
	assert_true(sync_tuple_on(&a, vips + 1, 1));
	assert_false(sync_tuple_on(&a, vips, 1));
	assert_false(sync_tuple_on(&a, vips, 0));
	assert_false(sync_tuple_on(&a, NULL, 0));
	assert_true(sync_tuple_on(&s, vips, 3));
	assert_false(sync_tuple_on(&s, vips, 2));
	assert_false(sync_tuple_on(&m, vips, 3)); /* a mapped address is not the IPv4 one */
}

/* ---- own table ---- */

static void test_own_init(void **state)
{
	(void)state;
	struct own_table t;
	assert_int_equal(own_init(&t, 0), -1);
	own_free(&t); /* safe after a failed init */
	assert_int_equal(own_init(&t, 1), 0);
	assert_int_equal(t.n, 0);
	assert_true(is_pow2(t.n_idx));
	assert_int_equal(own_pending(&t), 0);
	assert_int_equal(own_close(&t, 0, 0, NULL), 0);
	own_free(&t);
	own_free(&t); /* twice: the first left it empty */
}

static void test_own_open_close_codes(void **state)
{
	(void)state;
	struct own_table t;
	struct sync_tuple a = TI(1, 1000), b = TI(2, 1000), out, got[4];
	assert_int_equal(own_init(&t, 100), 0);

	assert_int_equal(own_close(&t, 0, 1, &out), 0); /* unknown */
	assert_int_equal(own_open(&t, 0, 1, &a, NULL, NULL), 0);
	assert_int_equal(own_open(&t, 0, 1, &a, NULL, NULL), 1); /* kept */
	assert_int_equal(t.n, 1);
	assert_int_equal(own_pending(&t), 1);
	assert_int_equal(own_close(&t, 1, 1, &out), 0); /* another worker's id 1 */
	assert_int_equal(own_close(&t, 0, 2, &out), 0);

	memset(&out, 0xee, sizeof(out));
	struct sync_tuple untouched = out;
	assert_int_equal(own_close(&t, 0, 1, &out), 1); /* never announced */
	assert_memory_equal(&out, &untouched, sizeof(out));
	assert_int_equal(t.n, 0);
	assert_int_equal(own_pending(&t), 0);
	assert_int_equal(own_close(&t, 0, 1, &out), 0);

	assert_int_equal(own_open(&t, 0, 1, &a, NULL, NULL), 0);
	assert_int_equal(own_open(&t, 7, 1, &b, NULL, NULL), 0); /* same id, other worker */
	assert_int_equal(own_take_pending(&t, got, 4), 2);
	assert_tuple(&got[0], &a);
	assert_tuple(&got[1], &b);
	assert_int_equal(own_close(&t, 0, 1, &out), 2); /* announced: its tuple */
	assert_tuple(&out, &a);
	assert_int_equal(own_close(&t, 0, 1, &out), 0);
	assert_int_equal(own_close(&t, 7, 1, NULL), 2); /* out may be NULL */
	assert_int_equal(t.n, 0);
	own_free(&t);
}

static void test_own_pending_order(void **state)
{
	(void)state;
	struct own_table t;
	struct sync_tuple got[16];
	assert_int_equal(own_init(&t, 100), 0);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(
			own_open(&t, i % 3, i, (struct sync_tuple[]){ TI(i, 1000) }, NULL, NULL), 0);
	assert_int_equal(own_pending(&t), 10);
	assert_int_equal(own_close(&t, 1, 4, NULL), 1); /* leaves the middle of the queue */
	assert_int_equal(own_close(&t, 0, 0, NULL), 1); /* the head */
	assert_int_equal(own_close(&t, 0, 9, NULL), 1); /* the tail */
	assert_int_equal(own_pending(&t), 7);

	assert_int_equal(own_take_pending(&t, got, 0), 0);
	assert_int_equal(own_take_pending(&t, got, 3), 3);
	assert_int_equal(TI_num(&got[0]), 1);
	assert_int_equal(TI_num(&got[1]), 2);
	assert_int_equal(TI_num(&got[2]), 3);
	assert_int_equal(own_pending(&t), 4);
	assert_int_equal(own_open(&t, 2, 20, (struct sync_tuple[]){ TI(20, 1000) }, NULL, NULL), 0);
	assert_int_equal(own_take_pending(&t, got, 16), 5);
	const unsigned want[] = { 5, 6, 7, 8, 20 };
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(TI_num(&got[i]), want[i]);
	assert_int_equal(own_pending(&t), 0);
	assert_int_equal(own_take_pending(&t, got, 16), 0);
	assert_int_equal(t.n, 8);
	own_free(&t);
}

static void test_own_open_close_before_take(void **state)
{
	(void)state;
	struct own_table t;
	struct sync_tuple a = TI(1, 1000), got[4];
	assert_int_equal(own_init(&t, 100), 0);
	assert_int_equal(own_open(&t, 3, 42, &a, NULL, NULL), 0);
	assert_int_equal(own_close(&t, 3, 42, NULL), 1);
	assert_int_equal(own_take_pending(&t, got, 4), 0); /* nothing to send at all */
	assert_int_equal(own_pending(&t), 0);
	assert_int_equal(t.n, 0);
	assert_null(t.all_head);
	assert_null(t.all_tail);
	assert_null(t.pend_head);
	assert_null(t.pend_tail);
	own_free(&t);
}

static void test_own_resync(void **state)
{
	(void)state;
	struct own_table t;
	struct coll gone = { .n = 0 };
	struct sync_tuple got[8];
	assert_int_equal(own_init(&t, 100), 0);
	/* worker 1: ids 1, 2 announced, 3 not; worker 2: id 1 announced */
	assert_int_equal(own_open(&t, 1, 1, (struct sync_tuple[]){ TI(1, 1000) }, NULL, NULL), 0);
	assert_int_equal(own_open(&t, 1, 2, (struct sync_tuple[]){ TI(2, 1000) }, NULL, NULL), 0);
	assert_int_equal(own_open(&t, 2, 1, (struct sync_tuple[]){ TI(4, 1000) }, NULL, NULL), 0);
	assert_int_equal(own_take_pending(&t, got, 8), 3);
	assert_int_equal(own_open(&t, 1, 3, (struct sync_tuple[]){ TI(3, 1000) }, NULL, NULL), 0);

	/* an end without a begin removes nothing */
	assert_int_equal(own_resync_end(&t, 1, collect, &gone), 0);

	own_resync_begin(&t, 1);
	assert_int_equal(own_open(&t, 1, 1, (struct sync_tuple[]){ TI(1, 1000) }, collect, &gone), 1);
	assert_int_equal(own_open(&t, 1, 5, (struct sync_tuple[]){ TI(5, 1000) }, collect, &gone), 0);
	assert_int_equal(gone.n, 0);
	/* another worker's end leaves worker 1's stale marks alone and removes nothing of its own */
	assert_int_equal(own_resync_end(&t, 2, collect, &gone), 0);
	assert_int_equal(t.n, 5);
	assert_int_equal(own_resync_end(&t, 1, collect, &gone), 2); /* ids 2 and 3 */
	assert_int_equal(gone.n, 1);                                /* only 2 was announced */
	assert_int_equal(TI_num(&gone.t[0]), 2);
	assert_int_equal(t.n, 3);
	assert_int_equal(own_pending(&t), 1); /* 3 left the queue, 5 is on it */
	assert_int_equal(own_take_pending(&t, got, 8), 1);
	assert_int_equal(TI_num(&got[0]), 5);
	assert_int_equal(own_close(&t, 1, 1, NULL), 2); /* kept, still announced */
	assert_int_equal(own_close(&t, 1, 2, NULL), 0);
	assert_int_equal(own_close(&t, 1, 3, NULL), 0);
	assert_int_equal(own_close(&t, 2, 1, NULL), 2);

	/* a second resync: gone may be NULL, and everything of the worker goes */
	own_resync_begin(&t, 1);
	assert_int_equal(own_resync_end(&t, 1, NULL, NULL), 1);
	assert_int_equal(t.n, 0);
	/* the mark is gone with the resync: a later end removes nothing */
	assert_int_equal(own_open(&t, 1, 9, (struct sync_tuple[]){ TI(9, 1000) }, NULL, NULL), 0);
	assert_int_equal(own_resync_end(&t, 1, NULL, NULL), 0);
	assert_int_equal(t.n, 1);
	own_free(&t);
}

static void test_own_reopen_tuple_change(void **state)
{
	(void)state;
	struct own_table t;
	struct coll gone = { .n = 0 };
	struct sync_tuple a = TI(1, 1000), a2 = TI(1, 2000), b = TI(2, 1000), b2 = TI(2, 2000);
	struct sync_tuple c = TI(3, 1000), got[8], out;
	assert_int_equal(own_init(&t, 100), 0);
	assert_int_equal(own_open(&t, 0, 1, &a, collect, &gone), 0);
	assert_int_equal(own_take_pending(&t, got, 8), 1);

	/* same tuple: kept, still announced, nothing to send */
	assert_int_equal(own_open(&t, 0, 1, &a, collect, &gone), 1);
	assert_int_equal(gone.n, 0);
	assert_int_equal(own_pending(&t), 0);

	/* announced, new tuple: the old one is gone, the new one pending */
	assert_int_equal(own_open(&t, 0, 1, &a2, collect, &gone), 1);
	assert_int_equal(gone.n, 1);
	assert_tuple(&gone.t[0], &a);
	assert_int_equal(own_pending(&t), 1);
	assert_int_equal(t.n, 1);

	/* not announced, new tuple: no gone(), keeps its place in the queue */
	assert_int_equal(own_open(&t, 0, 2, &b, collect, &gone), 0);
	assert_int_equal(own_open(&t, 0, 3, &c, collect, &gone), 0);
	assert_int_equal(own_open(&t, 0, 2, &b2, collect, &gone), 1);
	assert_int_equal(gone.n, 1);
	assert_int_equal(own_take_pending(&t, got, 8), 3);
	assert_tuple(&got[0], &a2);
	assert_tuple(&got[1], &b2);
	assert_tuple(&got[2], &c);

	/* the old tuple is forgotten: each_on sees the new one only */
	struct ip_addr vip = A("198.18.200.1");
	struct coll seen = { .n = 0 };
	assert_int_equal(own_each_on(&t, &vip, 1, collect, &seen), 3);
	assert_tuple(&seen.t[0], &a2);

	/* gone may be NULL */
	assert_int_equal(own_open(&t, 0, 1, &a, NULL, NULL), 1);
	assert_int_equal(own_pending(&t), 1);
	assert_int_equal(own_close(&t, 0, 1, &out), 1); /* re-opened, not announced again yet */
	assert_int_equal(own_close(&t, 0, 2, &out), 2);
	assert_tuple(&out, &b2);
	own_free(&t);
}

/* Walks the refresh to its end in chunks of max, collecting TI numbers into seen[]. */
static size_t refresh_all(struct own_table *t, size_t max, unsigned *seen, size_t cap)
{
	struct sync_tuple got[64];
	size_t k = 0;
	bool last = false;
	while (!last) {
		size_t n = own_refresh_next(t, got, max, &last);
		assert_true(n <= max);
		for (size_t i = 0; i < n; i++) {
			assert_true(k < cap);
			seen[k++] = TI_num(&got[i]);
		}
	}
	assert_false(t->refreshing);
	assert_null(t->cursor);
	return k;
}

static void test_own_refresh_walk(void **state)
{
	(void)state;
	struct own_table t;
	struct sync_tuple got[8];
	bool last = false;
	unsigned seen[64];
	assert_int_equal(own_init(&t, 100), 0);

	/* no refresh in progress: nothing, and over */
	assert_int_equal(own_refresh_next(&t, got, 8, &last), 0);
	assert_true(last);
	/* an empty table: one empty last chunk */
	own_refresh_start(&t);
	last = false;
	assert_int_equal(own_refresh_next(&t, got, 8, &last), 0);
	assert_true(last);

	/* ids 0..9 announced, 10 and 11 not */
	for (unsigned i = 0; i < 12; i++)
		assert_int_equal(own_open(&t, 0, i, (struct sync_tuple[]){ TI(i, 1000) }, NULL, NULL), 0);
	assert_int_equal(own_take_pending(&t, got, 8), 8);
	assert_int_equal(own_take_pending(&t, got, 2), 2);

	own_refresh_start(&t);
	assert_int_equal(own_refresh_next(&t, got, 3, &last), 3);
	assert_false(last);
	assert_int_equal(TI_num(&got[0]), 0);
	assert_int_equal(TI_num(&got[2]), 2);
	/* the cursor is on 3: remove it, one behind (1), one ahead (6) */
	assert_int_equal(own_close(&t, 0, 3, NULL), 2);
	assert_int_equal(own_close(&t, 0, 1, NULL), 2);
	assert_int_equal(own_close(&t, 0, 6, NULL), 2);
	/* added meanwhile: 20 announced, 21 not */
	assert_int_equal(own_open(&t, 0, 20, (struct sync_tuple[]){ TI(20, 1000) }, NULL, NULL), 0);
	assert_int_equal(own_open(&t, 0, 10, (struct sync_tuple[]){ TI(10, 1000) }, NULL, NULL), 1);
	/* pending: 10, 11, 20; takes 10 and 11, leaves 20 */
	assert_int_equal(own_take_pending(&t, got, 2), 2);
	assert_int_equal(own_refresh_next(&t, got, 3, &last), 3);
	assert_false(last);
	assert_int_equal(TI_num(&got[0]), 4);
	assert_int_equal(TI_num(&got[1]), 5);
	assert_int_equal(TI_num(&got[2]), 7);
	/* 10's tuple changes: unannounced again, the walk skips it */
	assert_int_equal(own_open(&t, 0, 10, (struct sync_tuple[]){ TI(30, 1000) }, NULL, NULL), 1);
	assert_int_equal(own_take_pending(&t, got, 1), 1); /* 20 */
	size_t k = refresh_all(&t, 2, seen, 64);
	const unsigned want[] = { 8, 9, 11, 20 };
	assert_int_equal(k, 4);
	for (size_t i = 0; i < k; i++)
		assert_int_equal(seen[i], want[i]);
	/* done: further calls say so */
	assert_int_equal(own_refresh_next(&t, got, 8, &last), 0);
	assert_true(last);
	own_free(&t);
}

static void test_own_refresh_edges(void **state)
{
	(void)state;
	struct own_table t;
	struct sync_tuple got[8];
	bool last = true;
	unsigned seen[64];
	assert_int_equal(own_init(&t, 100), 0);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(own_open(&t, 0, i, (struct sync_tuple[]){ TI(i, 1000) }, NULL, NULL), 0);
	/* nothing announced: one empty last chunk */
	own_refresh_start(&t);
	assert_int_equal(own_refresh_next(&t, got, 8, &last), 0);
	assert_true(last);

	assert_int_equal(own_take_pending(&t, got, 4), 4); /* 0..3 announced, 4, 5 not */
	/* a chunk that takes the last announced entry says last, even with unannounced ones after */
	own_refresh_start(&t);
	assert_int_equal(own_refresh_next(&t, got, 2, &last), 2);
	assert_false(last);
	assert_int_equal(own_refresh_next(&t, got, 2, &last), 2);
	assert_true(last);
	assert_int_equal(TI_num(&got[1]), 3);

	/* restart in the middle: from the oldest again */
	own_refresh_start(&t);
	assert_int_equal(own_refresh_next(&t, got, 3, &last), 3);
	assert_false(last);
	own_refresh_start(&t);
	assert_int_equal(refresh_all(&t, 3, seen, 64), 4);
	assert_int_equal(seen[0], 0);
	assert_int_equal(seen[3], 3);

	/* max 0 makes no progress but is harmless */
	own_refresh_start(&t);
	assert_int_equal(own_refresh_next(&t, got, 0, &last), 0);
	assert_false(last);
	/* everything removed under the walk: it ends */
	for (unsigned i = 0; i < 6; i++)
		assert_true(own_close(&t, 0, i, NULL) > 0);
	assert_null(t.cursor);
	assert_int_equal(own_refresh_next(&t, got, 8, &last), 0);
	assert_true(last);
	own_free(&t);
}

/* Random closes and opens during a walk over thousands of entries: every entry announced at the
 * start and never removed comes out exactly once, and nothing comes out twice. */
static void test_own_refresh_random(void **state)
{
	(void)state;
	enum { N = 3000, MORE = 1000 };
	struct own_table t;
	struct sync_tuple got[33];
	static unsigned count[N + MORE];
	static bool closed[N + MORE];
	memset(count, 0, sizeof(count));
	memset(closed, 0, sizeof(closed));
	srandom(7);
	assert_int_equal(own_init(&t, N + MORE), 0);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(
			own_open(&t, i % 4, i, (struct sync_tuple[]){ TI(i, 1000) }, NULL, NULL), 0);
	while (own_pending(&t))
		own_take_pending(&t, got, 33);
	own_refresh_start(&t);
	bool last = false;
	unsigned next_new = N;
	while (!last) {
		size_t n = own_refresh_next(&t, got, 33, &last);
		for (size_t i = 0; i < n; i++) {
			unsigned x = TI_num(&got[i]);
			assert_false(closed[x]);
			count[x]++;
		}
		for (int j = 0; j < 10; j++) {
			unsigned x = (unsigned)random() % next_new;
			if (!closed[x]) {
				assert_int_equal(own_close(&t, x % 4, x, NULL), 2);
				closed[x] = true;
			}
		}
		if (next_new < N + MORE) {
			for (int j = 0; j < 5; j++, next_new++)
				assert_int_equal(
					own_open(&t, next_new % 4, next_new,
						 (struct sync_tuple[]){ TI(next_new, 1000) }, NULL, NULL),
					0);
			own_take_pending(&t, got, 33);
		}
	}
	for (unsigned i = 0; i < N + MORE; i++) {
		assert_true(count[i] <= 1);
		if (i < N && !closed[i])
			assert_int_equal(count[i], 1);
	}
	own_free(&t);
}

static void test_own_each_on(void **state)
{
	(void)state;
	struct own_table t;
	struct sync_tuple tu[] = {
		T("198.18.0.100", 6443, "198.18.0.50", 40000),
		T("198.18.0.100", 443, "198.18.0.51", 40001), /* same vip, other port */
		T("198.18.0.101", 6443, "198.18.0.50", 40000),
		T("2001:db8::100", 443, "2001:db8::7", 51234),
		T("2001:db8::100", 80, "2001:db8::8", 51235),
		T("2001:db8::101", 443, "2001:db8::7", 51234),
		T("::ffff:198.18.0.100", 6443, "::ffff:198.18.0.50", 40000),
	};
	assert_int_equal(own_init(&t, 100), 0);
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(own_open(&t, 0, i, &tu[i], NULL, NULL), 0);
	struct sync_tuple got[8];
	assert_int_equal(own_take_pending(&t, got, 3), 3); /* announced or not: both count */

	struct ip_addr v4 = A("198.18.0.100/24"), v6 = A("2001:db8::100/64");
	struct ip_addr both[] = { A("198.18.0.100"), A("2001:db8::100") };
	struct coll c = { .n = 0 };
	assert_int_equal(own_each_on(&t, &v4, 1, collect, &c), 2);
	assert_int_equal(c.n, 2);
	assert_tuple(&c.t[0], &tu[0]);
	assert_tuple(&c.t[1], &tu[1]);
	c.n = 0;
	assert_int_equal(own_each_on(&t, &v6, 1, collect, &c), 2);
	assert_tuple(&c.t[0], &tu[3]);
	assert_tuple(&c.t[1], &tu[4]);
	c.n = 0;
	assert_int_equal(own_each_on(&t, both, 2, collect, &c), 4);
	assert_int_equal(own_each_on(&t, both, 2, NULL, NULL), 4); /* fn may be NULL */
	assert_int_equal(own_each_on(&t, both, 0, collect, &c), 0);
	struct ip_addr none = A("198.18.9.9");
	assert_int_equal(own_each_on(&t, &none, 1, collect, &c), 0);
	assert_int_equal(t.n, 7); /* nothing removed */
	own_free(&t);
}

/* A handover: the VIP's entries leave silently, announced or not; their closes find nothing
 * and send no del; the rest stay, pending ones still pending. */
static void test_own_take_on(void **state)
{
	(void)state;
	struct own_table t;
	struct sync_tuple tu[] = {
		T("198.18.0.100", 6443, "198.18.0.50", 40000),
		T("198.18.0.101", 6443, "198.18.0.50", 40001),
		T("198.18.0.100", 443, "198.18.0.51", 40002),
		T("198.18.0.101", 443, "198.18.0.52", 40003),
	};
	assert_int_equal(own_init(&t, 100), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(own_open(&t, 1, i, &tu[i], NULL, NULL), 0);
	struct sync_tuple got[4];
	assert_int_equal(own_take_pending(&t, got, 2), 2); /* 0 and 1 announced */
	struct ip_addr v = A("198.18.0.100");
	struct coll c = { .n = 0 };
	assert_int_equal(own_take_on(&t, &v, 1, collect, &c), 2);
	assert_int_equal(c.n, 2);
	assert_tuple(&c.t[0], &tu[0]);
	assert_tuple(&c.t[1], &tu[2]);
	assert_int_equal(t.n, 2);
	assert_int_equal(own_close(&t, 1, 0, NULL), 0); /* gone silently: no del */
	assert_int_equal(own_close(&t, 1, 2, NULL), 0);
	assert_int_equal(own_pending(&t), 1); /* 3 is still to be announced */
	assert_int_equal(own_take_pending(&t, got, 4), 1);
	assert_tuple(&got[0], &tu[3]);
	bool last = false;
	own_refresh_start(&t);
	assert_int_equal(own_refresh_next(&t, got, 4, &last), 2); /* 1 and 3 */
	assert_true(last);
	assert_int_equal(own_take_on(&t, &v, 1, NULL, NULL), 0);
	own_free(&t);
}

static void test_own_cap(void **state)
{
	(void)state;
	struct own_table t;
	assert_int_equal(own_init(&t, 3), 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(own_open(&t, 0, i, (struct sync_tuple[]){ TI(i, 1000) }, NULL, NULL), 0);
	assert_int_equal(own_open(&t, 0, 3, (struct sync_tuple[]){ TI(3, 1000) }, NULL, NULL), -1);
	assert_int_equal(t.cap_hits, 1);
	assert_int_equal(own_open(&t, 1, 0, (struct sync_tuple[]){ TI(4, 1000) }, NULL, NULL), -1);
	assert_int_equal(t.cap_hits, 2);
	assert_int_equal(t.n, 3);
	assert_int_equal(own_pending(&t), 3);
	/* re-opening one that is there is no insert */
	assert_int_equal(own_open(&t, 0, 1, (struct sync_tuple[]){ TI(1, 1000) }, NULL, NULL), 1);
	assert_int_equal(own_open(&t, 0, 1, (struct sync_tuple[]){ TI(1, 2000) }, NULL, NULL), 1);
	assert_int_equal(t.cap_hits, 2);
	/* the capped one is unknown */
	assert_int_equal(own_close(&t, 0, 3, NULL), 0);
	assert_int_equal(own_close(&t, 0, 0, NULL), 1);
	assert_int_equal(own_open(&t, 0, 3, (struct sync_tuple[]){ TI(3, 1000) }, NULL, NULL), 0);
	assert_int_equal(t.cap_hits, 2);
	own_free(&t);
}

/* ---- peer table ---- */

static void test_peer_basic(void **state)
{
	(void)state;
	struct peer_table t;
	struct sync_tuple a = T("198.18.0.100", 6443, "198.18.0.50", 40000);
	struct sync_tuple b = T("2001:db8::100", 443, "2001:db8::7", 51234);
	struct sync_tuple c = T("198.18.0.100", 443, "198.18.0.51", 40001);
	assert_int_equal(peer_init(&t, 0, 0x1234), -1);
	peer_free(&t);
	assert_int_equal(peer_init(&t, 100, 0x1234), 0);

	assert_false(peer_del(&t, &a));
	assert_int_equal(peer_add(&t, &a, 5), 0);
	struct sync_tuple a2 = a;
	a2.vip.prefix = 24; /* the same connection */
	a2.client.b[12] = 0x7f;
	assert_int_equal(peer_add(&t, &a2, 3), 1); /* refreshed, gen stays 5 */
	assert_int_equal(peer_add(&t, &b, 7), 0);
	assert_int_equal(peer_add(&t, &c, 4), 0);
	assert_int_equal(t.n, 3);

	assert_int_equal(peer_prune(&t, 5), 1); /* c (4) */
	assert_int_equal(t.n, 2);
	assert_false(peer_del(&t, &c));
	assert_int_equal(peer_add(&t, &a, 9), 1); /* gen rises to 9 */
	assert_int_equal(peer_prune(&t, 8), 1);   /* b (7) */
	assert_false(peer_del(&t, &b));
	assert_int_equal(peer_prune(&t, 9), 0); /* a (9) is not below 9 */
	assert_int_equal(peer_prune(&t, 0), 0);
	assert_true(peer_del(&t, &a2));
	assert_false(peer_del(&t, &a));
	assert_int_equal(t.n, 0);

	assert_int_equal(peer_add(&t, &a, 1), 0);
	assert_int_equal(peer_add(&t, &b, 1), 0);
	peer_clear(&t);
	assert_int_equal(t.n, 0);
	assert_false(peer_del(&t, &a));
	assert_int_equal(peer_add(&t, &a, 1), 0); /* usable after a clear */
	assert_int_equal(t.n, 1);
	peer_free(&t);
	peer_free(&t);
}

static void test_peer_take_on(void **state)
{
	(void)state;
	struct peer_table t;
	struct sync_tuple tu[] = {
		T("198.18.0.100", 6443, "198.18.0.50", 40000),
		T("198.18.0.100", 443, "198.18.0.51", 40001),
		T("198.18.0.101", 6443, "198.18.0.50", 40000),
		T("2001:db8::100", 443, "2001:db8::7", 51234),
		T("2001:db8::100", 80, "2001:db8::8", 51235),
		T("2001:db8::101", 443, "2001:db8::7", 51234),
	};
	assert_int_equal(peer_init(&t, 100, 0x1234), 0);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(peer_add(&t, &tu[i], 1), 0);

	struct ip_addr v4 = A("198.18.0.100/24"), v6 = A("2001:db8::100");
	struct coll c = { .n = 0 };
	assert_int_equal(peer_take_on(&t, &v4, 1, collect, &c), 2);
	assert_int_equal(c.n, 2);
	for (size_t i = 0; i < c.n; i++)
		assert_true(sync_tuple_equal(&c.t[i], &tu[0]) || sync_tuple_equal(&c.t[i], &tu[1]));
	assert_false(sync_tuple_equal(&c.t[0], &c.t[1]));
	assert_int_equal(t.n, 4);
	assert_false(peer_del(&t, &tu[0]));
	assert_false(peer_del(&t, &tu[1]));
	/* taken: a second take finds nothing */
	assert_int_equal(peer_take_on(&t, &v4, 1, collect, &c), 0);
	assert_int_equal(peer_take_on(&t, &v6, 1, NULL, NULL), 2); /* fn may be NULL */
	assert_int_equal(t.n, 2);
	assert_int_equal(peer_take_on(&t, &v6, 0, collect, &c), 0);
	assert_true(peer_del(&t, &tu[2]));
	assert_true(peer_del(&t, &tu[5]));
	peer_free(&t);
}

static void test_peer_cap(void **state)
{
	(void)state;
	struct peer_table t;
	assert_int_equal(peer_init(&t, 2, 0x1234), 0);
	assert_int_equal(peer_add(&t, (struct sync_tuple[]){ TI(1, 1000) }, 1), 0);
	assert_int_equal(peer_add(&t, (struct sync_tuple[]){ TI(2, 1000) }, 1), 0);
	assert_int_equal(peer_add(&t, (struct sync_tuple[]){ TI(3, 1000) }, 1), -1);
	assert_int_equal(t.cap_hits, 1);
	assert_int_equal(peer_add(&t, (struct sync_tuple[]){ TI(2, 1000) }, 2), 1); /* refresh at cap */
	assert_int_equal(t.cap_hits, 1);
	assert_false(peer_del(&t, (struct sync_tuple[]){ TI(3, 1000) }));
	assert_true(peer_del(&t, (struct sync_tuple[]){ TI(1, 1000) }));
	assert_int_equal(peer_add(&t, (struct sync_tuple[]){ TI(3, 1000) }, 1), 0);
	assert_int_equal(peer_add(&t, (struct sync_tuple[]){ TI(4, 1000) }, 1), -1);
	assert_int_equal(t.cap_hits, 2);
	peer_free(&t);
}

/* ---- random operations against a plain array ---- */

enum { MODEL_N = 6000 };

struct own_model {
	bool present, sent, stale;
	uint16_t cport;    /* the tuple is TI(i, cport) */
	uint64_t pend_seq; /* order on the pending list */
};

static uint32_t worker_of(unsigned i) { return i % 5; }

static void model_gone(void *arg, const struct sync_tuple *t)
{
	struct coll *c = arg;
	c->n++;
	c->t[0] = *t;
}

static void test_own_model(void **state)
{
	(void)state;
	static struct own_model m[MODEL_N];
	memset(m, 0, sizeof(m));
	struct own_table t;
	struct sync_tuple got[40];
	uint64_t seq = 0;
	size_t n = 0, pend = 0, max_n = 0;
	srandom(12345);
	assert_int_equal(own_init(&t, MODEL_N), 0);
	for (int op = 0; op < 120000; op++) {
		unsigned i = (unsigned)random() % MODEL_N;
		int r = (int)(random() % 100);
		/* opens dominate for the first half (the table fills), closes for the second */
		int open_share = op < 60000 ? 85 : 30;
		if (op % 2000 == 1999)
			r = -1; /* a resync now and then */
		if (r < 0) {
			/* a resync of one worker, most of its entries re-opened unchanged */
			uint32_t w = (uint32_t)random() % 5;
			own_resync_begin(&t, w);
			for (unsigned x = w; x < MODEL_N; x += 5)
				if (m[x].present)
					m[x].stale = true;
			for (unsigned x = w; x < MODEL_N; x += 5)
				if (m[x].present && random() % 10) {
					assert_int_equal(
						own_open(&t, w, x,
							 (struct sync_tuple[]){ TI(x, m[x].cport) },
							 NULL, NULL),
						1);
					m[x].stale = false;
				}
			size_t want = 0, want_gone = 0;
			for (unsigned x = w; x < MODEL_N; x += 5)
				if (m[x].present && m[x].stale) {
					want++;
					want_gone += m[x].sent;
					pend -= !m[x].sent;
					n--;
					m[x].present = m[x].stale = false;
				}
			struct coll gone = { .n = 0 };
			assert_int_equal(own_resync_end(&t, w, model_gone, &gone), want);
			assert_int_equal(gone.n, want_gone);
		} else if (r < open_share) {
			uint16_t cport = (uint16_t)(1000 + random() % 3);
			struct coll gone = { .n = 0 };
			int ret = own_open(&t, worker_of(i), i,
					   (struct sync_tuple[]){ TI(i, cport) }, model_gone, &gone);
			if (!m[i].present) {
				assert_int_equal(ret, 0);
				m[i] = (struct own_model){
					.present = true, .cport = cport, .pend_seq = seq++
				};
				n++;
				pend++;
				assert_int_equal(gone.n, 0);
			} else {
				assert_int_equal(ret, 1);
				m[i].stale = false;
				if (m[i].cport != cport && m[i].sent) {
					assert_int_equal(gone.n, 1);
					assert_int_equal(TI_num(&gone.t[0]), i);
					assert_int_equal(gone.t[0].cport, m[i].cport);
					m[i].sent = false;
					m[i].pend_seq = seq++;
					pend++;
				} else {
					assert_int_equal(gone.n, 0);
				}
				m[i].cport = cport;
			}
		} else if (r < 95) {
			struct sync_tuple out;
			int ret = own_close(&t, worker_of(i), i, &out);
			if (!m[i].present) {
				assert_int_equal(ret, 0);
			} else if (!m[i].sent) {
				assert_int_equal(ret, 1);
				pend--;
			} else {
				assert_int_equal(ret, 2);
				assert_int_equal(TI_num(&out), i);
				assert_int_equal(out.cport, m[i].cport);
			}
			if (m[i].present)
				n--;
			m[i].present = false;
		} else {
			size_t max = (size_t)random() % 40;
			size_t k = own_take_pending(&t, got, max);
			assert_int_equal(k, max < pend ? max : pend);
			uint64_t prev = 0;
			for (size_t j = 0; j < k; j++) {
				unsigned x = TI_num(&got[j]);
				assert_true(m[x].present && !m[x].sent);
				assert_int_equal(got[j].cport, m[x].cport);
				assert_true(j == 0 || m[x].pend_seq > prev);
				prev = m[x].pend_seq;
				m[x].sent = true;
			}
			pend -= k;
			/* the oldest ones: nothing left on the queue is older than the last taken */
			if (k)
				for (unsigned x = 0; x < MODEL_N; x++)
					if (m[x].present && !m[x].sent)
						assert_true(m[x].pend_seq > prev);
		}
		assert_int_equal(t.n, n);
		assert_true(t.n <= t.n_idx && is_pow2(t.n_idx));
		if (n > max_n)
			max_n = n;
		if (op % 1000 == 0)
			assert_int_equal(own_pending(&t), pend);
	}
	assert_true(max_n > 4000); /* grew past several thousand */
	assert_true(t.n_idx >= 4096);
	assert_int_equal(t.cap_hits, 0);

	/* membership, then every entry through the VIP filter */
	struct ip_addr vip = A("198.18.200.1");
	assert_int_equal(own_each_on(&t, &vip, 1, NULL, NULL), n);
	for (unsigned x = 0; x < MODEL_N; x++) {
		int ret = own_close(&t, worker_of(x), x, NULL);
		assert_int_equal(ret, !m[x].present ? 0 : m[x].sent ? 2 : 1);
	}
	assert_int_equal(t.n, 0);
	assert_int_equal(own_pending(&t), 0);
	assert_null(t.all_head);
	own_free(&t);
}

struct peer_model {
	bool present;
	uint64_t gen;
};

/* Tuple i of the peer model: IPv4 for even i, IPv6 for odd i. */
static struct sync_tuple peer_tuple(unsigned i)
{
	if (i % 2 == 0)
		return TI(i, 2000);
	char c[48];
	snprintf(c, sizeof(c), "2001:db8::%x:%x", i >> 16, i & 0xffff);
	return T("2001:db8::100", 443, c, 2000);
}

static unsigned peer_num(const struct sync_tuple *t)
{
	if (t->client.family == AF_INET)
		return TI_num(t);
	return (unsigned)t->client.b[12] << 24 | (unsigned)t->client.b[13] << 16 |
	       (unsigned)t->client.b[14] << 8 | t->client.b[15];
}

static void peer_model_take(void *arg, const struct sync_tuple *t)
{
	struct peer_model *m = arg;
	unsigned x = peer_num(t);
	assert_true(x < MODEL_N && m[x].present);
	m[x].present = false;
}

static void test_peer_model(void **state)
{
	(void)state;
	static struct peer_model m[MODEL_N];
	memset(m, 0, sizeof(m));
	struct peer_table t;
	size_t n = 0, max_n = 0;
	uint64_t gen = 1;
	srandom(54321);
	assert_int_equal(peer_init(&t, MODEL_N, 0x1234), 0);
	for (int op = 0; op < 100000; op++) {
		unsigned i = (unsigned)random() % MODEL_N;
		struct sync_tuple tu = peer_tuple(i);
		int r = (int)(random() % 1000);
		if (op % 15000 == 14999)
			r = 1000; /* a prune now and then */
		else if (op % 40000 == 39999)
			r = 1001; /* a take now and then */
		if (r < (op < 50000 ? 850 : 400)) {
			uint64_t g = gen - (uint64_t)(random() % 2); /* sometimes an older gen */
			int ret = peer_add(&t, &tu, g);
			assert_int_equal(ret, m[i].present ? 1 : 0);
			if (!m[i].present) {
				m[i] = (struct peer_model){ .present = true, .gen = g };
				n++;
			} else if (g > m[i].gen) {
				m[i].gen = g;
			}
		} else if (r < 990) {
			assert_int_equal(peer_del(&t, &tu), m[i].present);
			n -= m[i].present;
			m[i].present = false;
		} else if (r < 1000) {
			gen++;
		} else if (r == 1000) {
			uint64_t below = gen - (uint64_t)(random() % 20);
			size_t want = 0;
			for (unsigned x = 0; x < MODEL_N; x++)
				if (m[x].present && m[x].gen < below) {
					m[x].present = false;
					want++;
				}
			assert_int_equal(peer_prune(&t, below), want);
			n -= want;
		} else {
			/* take everything on the IPv6 vip: every odd tuple */
			struct ip_addr v6 = A("2001:db8::100");
			size_t want = 0;
			for (unsigned x = 1; x < MODEL_N; x += 2)
				want += m[x].present;
			assert_int_equal(peer_take_on(&t, &v6, 1, peer_model_take, m), want);
			n -= want;
		}
		assert_int_equal(t.n, n);
		assert_true(t.n <= t.n_idx && is_pow2(t.n_idx));
		if (n > max_n)
			max_n = n;
	}
	assert_true(max_n > 4000);
	assert_int_equal(t.cap_hits, 0);
	for (unsigned x = 0; x < MODEL_N; x++) {
		struct sync_tuple tu = peer_tuple(x);
		if (m[x].present) /* a re-add at its gen is a refresh */
			assert_int_equal(peer_add(&t, &tu, m[x].gen), 1);
		assert_int_equal(peer_del(&t, &tu), m[x].present);
	}
	assert_int_equal(t.n, 0);
	peer_free(&t);
}

/* Exact gens survive growth: prune at every gen removes exactly the ones below it. */
static void test_peer_prune_gens(void **state)
{
	(void)state;
	struct peer_table t;
	assert_int_equal(peer_init(&t, 10000, 0x1234), 0);
	for (unsigned i = 0; i < 5000; i++)
		assert_int_equal(peer_add(&t, (struct sync_tuple[]){ peer_tuple(i) }, i / 1000 + 1), 0);
	for (unsigned i = 0; i < 5000; i += 3) /* a lower gen never lowers */
		assert_int_equal(peer_add(&t, (struct sync_tuple[]){ peer_tuple(i) }, 0), 1);
	assert_true(t.n_idx >= 4096);
	for (uint64_t g = 2; g <= 6; g++) {
		assert_int_equal(peer_prune(&t, g), 1000);
		assert_int_equal(t.n, 5000 - 1000 * (g - 1));
	}
	peer_free(&t);
}

/* Both tables freed full (LeakSanitizer checks under `make check`). */
static void test_free_with_entries(void **state)
{
	(void)state;
	struct own_table o;
	struct peer_table p;
	struct sync_tuple got[8];
	assert_int_equal(own_init(&o, 1000), 0);
	assert_int_equal(peer_init(&p, 1000, 0x1234), 0);
	for (unsigned i = 0; i < 600; i++) {
		assert_int_equal(
			own_open(&o, i % 2, i, (struct sync_tuple[]){ TI(i, 1000) }, NULL, NULL), 0);
		assert_int_equal(peer_add(&p, (struct sync_tuple[]){ peer_tuple(i) }, 1), 0);
	}
	own_take_pending(&o, got, 8); /* some announced, most pending */
	own_refresh_start(&o);        /* and a refresh in progress */
	bool last;
	own_refresh_next(&o, got, 4, &last);
	own_free(&o);
	peer_free(&p);
	assert_null(o.idx);
	assert_null(p.idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tuple_equal_on),
		cmocka_unit_test(test_own_init),
		cmocka_unit_test(test_own_open_close_codes),
		cmocka_unit_test(test_own_pending_order),
		cmocka_unit_test(test_own_open_close_before_take),
		cmocka_unit_test(test_own_resync),
		cmocka_unit_test(test_own_reopen_tuple_change),
		cmocka_unit_test(test_own_refresh_walk),
		cmocka_unit_test(test_own_refresh_edges),
		cmocka_unit_test(test_own_refresh_random),
		cmocka_unit_test(test_own_each_on),
		cmocka_unit_test(test_own_take_on),
		cmocka_unit_test(test_own_cap),
		cmocka_unit_test(test_peer_basic),
		cmocka_unit_test(test_peer_take_on),
		cmocka_unit_test(test_peer_cap),
		cmocka_unit_test(test_own_model),
		cmocka_unit_test(test_peer_model),
		cmocka_unit_test(test_peer_prune_gens),
		cmocka_unit_test(test_free_with_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
