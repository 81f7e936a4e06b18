/* Balancers: tier selection, every algorithm's distribution, weights, smoothness, stickiness,
 * minimal disruption, load preference, and the address hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/balance.h"

#define NPICKS 100000
static const enum balance_algo ALL_ALGOS[] = {
	BALANCE_ROUNDROBIN,
	BALANCE_LEASTCONN,
	BALANCE_SOURCE,
	BALANCE_RANDOM,
};

static uint64_t key_of(size_t i)
{
	char addr[32];
	int len = snprintf(addr, sizeof(addr), "198.18.0.%zu:6443", 10 + i);
	return lb_hash_bytes(addr, (size_t)len);
}

static void servers_init(struct lb_server *v, size_t n, const uint32_t *weights)
{
	for (size_t i = 0; i < n; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].weight = weights ? weights[i] : 1;
		v[i].key = key_of(i);
		v[i].up = true;
	}
}

static uint64_t client_hash(uint32_t i)
{
	unsigned char ip[4] = { 198, 18, (unsigned char)(i >> 8), (unsigned char)i };
	uint32_t hi = i >> 16;
	/* beyond 65536 clients, vary a third byte as IPv4 would */
	ip[1] = (unsigned char)(18 + hi);
	return lb_hash_bytes(ip, sizeof(ip));
}

/* Picks NPICKS times; source sees a different client each pick; counts per server. */
static void count_picks(enum balance_algo algo, struct lb_server *v, size_t n, size_t *count, size_t picks)
{
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, algo, n, 42), 0);
	memset(count, 0, n * sizeof(*count));
	for (size_t k = 0; k < picks; k++) {
		int r = lb_pick(&st, v, n, client_hash((uint32_t)k));
		assert_true(r >= 0 && (size_t)r < n);
		count[r]++;
	}
	lb_state_free(&st);
}

/* |observed share - expected share| within tol (absolute fraction of all picks). */
static void assert_shares(const size_t *count, const uint32_t *weights, size_t n, size_t picks, double tol)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += weights[i];
	for (size_t i = 0; i < n; i++) {
		double want = (double)weights[i] / (double)total;
		double got = (double)count[i] / (double)picks;
		if (got < want - tol || got > want + tol)
			fail_msg("server %zu: share %.4f, want %.4f +- %.4f", i, got, want, tol);
	}
}

/* ---------- hash ---------- */

static void test_hash_stable_and_spread(void **s)
{
	(void)s;
	assert_int_equal(lb_hash_bytes("198.18.0.1", 10), lb_hash_bytes("198.18.0.1", 10));
	assert_int_not_equal(lb_hash_bytes("198.18.0.1", 10), lb_hash_bytes("198.18.0.2", 10));
	assert_int_not_equal(lb_hash_bytes("", 0), lb_hash_bytes("\0", 1));
	/* avalanche: flipping one input bit flips about half of the output bits */
	uint64_t flips = 0, trials = 0;
	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t x = i * 2654435761u;
		uint64_t h = lb_hash_bytes(&x, sizeof(x));
		for (int b = 0; b < 32; b++) {
			uint32_t y = x ^ (1u << b);
			flips += (uint64_t)__builtin_popcountll(h ^ lb_hash_bytes(&y, sizeof(y)));
			trials++;
		}
	}
	double mean = (double)flips / (double)trials;
	assert_true(mean > 31.0 && mean < 33.0);
	/* sequential addresses land evenly in 16 buckets by the low bits */
	size_t bucket[16] = { 0 };
	for (uint32_t i = 0; i < 160000; i++)
		bucket[client_hash(i) & 15]++;
	for (int b = 0; b < 16; b++)
		assert_true(bucket[b] > 9500 && bucket[b] < 10500);
}

/* ---------- tiers, full, none: every algorithm ---------- */

static void test_none_when_nothing_up(void **s)
{
	(void)s;
	for (size_t a = 0; a < 4; a++) {
		struct lb_server v[4];
		servers_init(v, 4, NULL);
		v[2].backup = v[3].backup = true;
		for (size_t i = 0; i < 4; i++)
			v[i].up = false;
		struct lb_state st;
		assert_int_equal(lb_state_init(&st, ALL_ALGOS[a], 4, 1), 0);
		assert_int_equal(lb_pick(&st, v, 4, 7), LB_NONE);
		assert_int_equal(lb_pick(&st, v, 0, 7), LB_NONE);
		/* down and full: still "none", nothing to queue for */
		for (size_t i = 0; i < 4; i++)
			v[i].full = true;
		assert_int_equal(lb_pick(&st, v, 4, 7), LB_NONE);
		lb_state_free(&st);
	}
}

static void test_full_skipped_and_all_full(void **s)
{
	(void)s;
	for (size_t a = 0; a < 4; a++) {
		struct lb_server v[3];
		servers_init(v, 3, NULL);
		v[0].full = true;
		v[2].full = true;
		struct lb_state st;
		assert_int_equal(lb_state_init(&st, ALL_ALGOS[a], 3, 1), 0);
		for (uint32_t k = 0; k < 1000; k++)
			assert_int_equal(lb_pick(&st, v, 3, client_hash(k)), 1);
		v[1].full = true;
		for (uint32_t k = 0; k < 100; k++)
			assert_int_equal(lb_pick(&st, v, 3, client_hash(k)), LB_FULL);
		/* a full server that is down does not count as up */
		v[0].up = v[1].up = false;
		assert_int_equal(lb_pick(&st, v, 3, 1), LB_FULL);
		v[2].up = false;
		assert_int_equal(lb_pick(&st, v, 3, 1), LB_NONE);
		lb_state_free(&st);
	}
}

static void test_backup_only_when_no_primary_up(void **s)
{
	(void)s;
	for (size_t a = 0; a < 4; a++) {
		struct lb_server v[5];
		servers_init(v, 5, NULL);
		v[1].backup = v[3].backup = true; /* primaries 0, 2, 4 */
		struct lb_state st;
		assert_int_equal(lb_state_init(&st, ALL_ALGOS[a], 5, 3), 0);
		size_t count[5] = { 0 };
		for (uint32_t k = 0; k < 3000; k++)
			count[lb_pick(&st, v, 5, client_hash(k))]++;
		assert_int_equal(count[1] + count[3], 0);
		assert_true(count[0] > 0 && count[2] > 0 && count[4] > 0);

		/* one primary left: it takes everything */
		v[0].up = v[4].up = false;
		for (uint32_t k = 0; k < 1000; k++)
			assert_int_equal(lb_pick(&st, v, 5, client_hash(k)), 2);

		/* the last primary full: queue for it, do not spill onto backups */
		v[2].full = true;
		assert_int_equal(lb_pick(&st, v, 5, 9), LB_FULL);

		/* no primary up: both backups are used */
		v[2].up = false;
		memset(count, 0, sizeof(count));
		for (uint32_t k = 0; k < 3000; k++)
			count[lb_pick(&st, v, 5, client_hash(k))]++;
		assert_int_equal(count[0] + count[2] + count[4], 0);
		assert_true(count[1] > 1000 && count[3] > 1000);

		/* a backup excluded (already tried): the other one */
		v[1].up = false;
		for (uint32_t k = 0; k < 100; k++)
			assert_int_equal(lb_pick(&st, v, 5, client_hash(k)), 3);
		v[3].full = true;
		assert_int_equal(lb_pick(&st, v, 5, 9), LB_FULL);
		v[3].up = false;
		assert_int_equal(lb_pick(&st, v, 5, 9), LB_NONE);

		/* a primary comes back: backups stop at once */
		v[1].up = v[3].up = true;
		v[3].full = false;
		v[4].up = true;
		for (uint32_t k = 0; k < 1000; k++)
			assert_int_equal(lb_pick(&st, v, 5, client_hash(k)), 4);
		lb_state_free(&st);
	}
}

static void test_exclusions_respected(void **s)
{
	(void)s;
	for (size_t a = 0; a < 4; a++) {
		struct lb_server v[4];
		uint32_t w[4] = { 1, 2, 3, 4 };
		servers_init(v, 4, w);
		v[1].up = false; /* e.g. tried already on this connection */
		size_t count[4];
		count_picks(ALL_ALGOS[a], v, 4, count, 20000);
		assert_int_equal(count[1], 0);
		assert_true(count[0] > 0 && count[2] > 0 && count[3] > 0);
	}
}

static void test_only_primary_backup_mix_single(void **s)
{
	(void)s;
	/* only backups configured: they are the tier */
	for (size_t a = 0; a < 4; a++) {
		struct lb_server v[2];
		servers_init(v, 2, NULL);
		v[0].backup = v[1].backup = true;
		size_t count[2];
		count_picks(ALL_ALGOS[a], v, 2, count, 10000);
		assert_true(count[0] > 4000 && count[1] > 4000);
	}
}

/* ---------- roundrobin ---------- */

static void test_rr_nginx_sequence(void **s)
{
	(void)s;
	struct lb_server v[3];
	uint32_t w[3] = { 5, 1, 1 };
	servers_init(v, 3, w);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_ROUNDROBIN, 3, 0), 0);
	const int want[] = { 0, 0, 1, 0, 2, 0, 0 };
	for (int round = 0; round < 3; round++)
		for (size_t k = 0; k < 7; k++)
			assert_int_equal(lb_pick(&st, v, 3, 0), want[k]);
	lb_state_free(&st);
}

static void test_rr_equal_weights_cycle(void **s)
{
	(void)s;
	struct lb_server v[4];
	servers_init(v, 4, NULL);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_ROUNDROBIN, 4, 0), 0);
	for (int k = 0; k < 400; k++)
		assert_int_equal(lb_pick(&st, v, 4, 0), k % 4);
	lb_state_free(&st);
}

static void test_rr_weights_exact_and_smooth(void **s)
{
	(void)s;
	struct lb_server v[3];
	uint32_t w[3] = { 1, 2, 3 };
	servers_init(v, 3, w);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_ROUNDROBIN, 3, 0), 0);
	/* every window of sum(weights) picks holds each server exactly weight times */
	for (int window = 0; window < NPICKS / 6; window++) {
		size_t c[3] = { 0 };
		for (int k = 0; k < 6; k++)
			c[lb_pick(&st, v, 3, 0)]++;
		assert_int_equal(c[0], 1);
		assert_int_equal(c[1], 2);
		assert_int_equal(c[2], 3);
	}
	lb_state_free(&st);

	/* 1:1:3: the heavy server is interleaved, never three in a row */
	uint32_t w2[3] = { 1, 1, 3 };
	servers_init(v, 3, w2);
	assert_int_equal(lb_state_init(&st, BALANCE_ROUNDROBIN, 3, 0), 0);
	int run = 0, max_run = 0, prev = -1;
	size_t c[3] = { 0 };
	for (int k = 0; k < NPICKS; k++) {
		int r = lb_pick(&st, v, 3, 0);
		c[r]++;
		run = r == prev ? run + 1 : 1;
		if (run > max_run)
			max_run = run;
		prev = r;
	}
	assert_true(max_run <= 2);
	assert_shares(c, w2, 3, NPICKS, 0.0001);
	lb_state_free(&st);
}

static void test_rr_distribution_many_servers(void **s)
{
	(void)s;
	/* more servers than the on-stack candidate buffer: the heap path */
	enum { N = 300 };
	struct lb_server *v = calloc(N, sizeof(*v));
	uint32_t *w = calloc(N, sizeof(*w));
	size_t *c = calloc(N, sizeof(*c));
	assert_non_null(v);
	for (size_t i = 0; i < N; i++)
		w[i] = 1 + (uint32_t)(i % 3);
	servers_init(v, N, w);
	count_picks(BALANCE_ROUNDROBIN, v, N, c, 600 * 100);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(c[i], w[i] * 100);
	free(v);
	free(w);
	free(c);
}

static void test_rr_server_comes_back(void **s)
{
	(void)s;
	struct lb_server v[3];
	servers_init(v, 3, NULL);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_ROUNDROBIN, 3, 0), 0);
	v[1].up = false;
	for (int k = 0; k < 1000; k++)
		assert_int_not_equal(lb_pick(&st, v, 3, 0), 1);
	v[1].up = true;
	size_t c[3] = { 0 };
	for (int k = 0; k < 3000; k++)
		c[lb_pick(&st, v, 3, 0)]++;
	for (int i = 0; i < 3; i++)
		assert_true(c[i] >= 999 && c[i] <= 1001);
	lb_state_free(&st);
}

static void test_state_grows_with_server_list(void **s)
{
	(void)s;
	struct lb_server v[6];
	servers_init(v, 6, NULL);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_ROUNDROBIN, 2, 0), 0);
	size_t c[6] = { 0 };
	for (int k = 0; k < 600; k++)
		c[lb_pick(&st, v, 6, 0)]++;
	for (int i = 0; i < 6; i++)
		assert_int_equal(c[i], 100);
	assert_int_equal(st.n, 6);
	lb_state_free(&st);
}

/* ---------- leastconn ---------- */

static void test_leastconn_prefers_least_loaded(void **s)
{
	(void)s;
	struct lb_server v[4];
	servers_init(v, 4, NULL);
	v[0].active = 5;
	v[1].active = 3;
	v[2].active = 1;
	v[3].active = 4;
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_LEASTCONN, 4, 0), 0);
	for (int k = 0; k < 100; k++)
		assert_int_equal(lb_pick(&st, v, 4, 0), 2);
	v[2].up = false; /* excluded: next least loaded */
	assert_int_equal(lb_pick(&st, v, 4, 0), 1);
	v[1].full = true;
	assert_int_equal(lb_pick(&st, v, 4, 0), 3);
	lb_state_free(&st);
}

static void test_leastconn_weighted_ratio(void **s)
{
	(void)s;
	struct lb_server v[3];
	uint32_t w[3] = { 1, 2, 3 };
	servers_init(v, 3, w);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_LEASTCONN, 3, 0), 0);
	/* 5/1 > 9/2 > 13/3... per unit of weight server 2 is least loaded */
	v[0].active = 5;
	v[1].active = 9;
	v[2].active = 13;
	assert_int_equal(lb_pick(&st, v, 3, 0), 2);
	v[2].active = 14; /* 14/3 > 9/2: server 1 */
	assert_int_equal(lb_pick(&st, v, 3, 0), 1);

	/* connections held open: active counts end up proportional to the weights */
	for (int i = 0; i < 3; i++)
		v[i].active = 0;
	for (int k = 0; k < 60000; k++)
		v[lb_pick(&st, v, 3, 0)].active++;
	assert_true(v[0].active >= 9999 && v[0].active <= 10001);
	assert_true(v[1].active >= 19999 && v[1].active <= 20001);
	assert_true(v[2].active >= 29999 && v[2].active <= 30001);
	lb_state_free(&st);
}

static void test_leastconn_ties_rotate_by_weight(void **s)
{
	(void)s;
	/* short connections: every server idle at each pick. Ties must not all go to server 0 */
	struct lb_server v[3];
	servers_init(v, 3, NULL);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_LEASTCONN, 3, 0), 0);
	for (int k = 0; k < 300; k++)
		assert_int_equal(lb_pick(&st, v, 3, 0), k % 3);
	uint32_t w[3] = { 1, 2, 3 };
	servers_init(v, 3, w);
	size_t c[3] = { 0 };
	for (int k = 0; k < NPICKS; k++)
		c[lb_pick(&st, v, 3, 0)]++;
	assert_shares(c, w, 3, NPICKS, 0.001);
	/* tie only between 1 and 2 (server 0 busier): they alternate */
	servers_init(v, 3, NULL);
	v[0].active = 1;
	memset(c, 0, sizeof(c));
	for (int k = 0; k < 1000; k++)
		c[lb_pick(&st, v, 3, 0)]++;
	assert_int_equal(c[0], 0);
	assert_true(c[1] >= 499 && c[1] <= 501);
	lb_state_free(&st);
}

static void test_leastconn_churn_stays_balanced(void **s)
{
	(void)s;
	/* random arrivals and departures: each arrival goes to a least loaded server */
	struct lb_server v[4];
	servers_init(v, 4, NULL);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_LEASTCONN, 4, 0), 0);
	uint64_t x = 12345;
	for (int k = 0; k < NPICKS; k++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		size_t victim = (x >> 33) % 4;
		if ((x >> 62) == 0 && v[victim].active > 0) {
			v[victim].active--;
			continue;
		}
		uint32_t lo = v[0].active;
		for (int i = 1; i < 4; i++)
			lo = v[i].active < lo ? v[i].active : lo;
		int r = lb_pick(&st, v, 4, 0);
		/* a departure can open a gap; every pick goes to a least loaded server */
		assert_int_equal(v[r].active, lo);
		v[r].active++;
	}
	lb_state_free(&st);
}

/* ---------- source ---------- */

static void test_source_sticky(void **s)
{
	(void)s;
	struct lb_server v[5];
	servers_init(v, 5, NULL);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_SOURCE, 5, 0), 0);
	for (uint32_t c = 0; c < 1000; c++) {
		uint64_t h = client_hash(c);
		int first = lb_pick(&st, v, 5, h);
		/* load and other state do not move a client */
		v[(c + 1) % 5].active += 7;
		for (int k = 0; k < 5; k++)
			assert_int_equal(lb_pick(&st, v, 5, h), first);
	}
	/* a fresh state (another worker, another node) agrees */
	struct lb_state st2;
	assert_int_equal(lb_state_init(&st2, BALANCE_SOURCE, 5, 99), 0);
	for (uint32_t c = 0; c < 1000; c++)
		assert_int_equal(lb_pick(&st2, v, 5, client_hash(c)), lb_pick(&st, v, 5, client_hash(c)));
	lb_state_free(&st);
	lb_state_free(&st2);
}

static void test_source_distribution_and_weights(void **s)
{
	(void)s;
	struct lb_server v[3];
	uint32_t eq[3] = { 1, 1, 1 };
	size_t c[3];
	servers_init(v, 3, eq);
	count_picks(BALANCE_SOURCE, v, 3, c, NPICKS);
	assert_shares(c, eq, 3, NPICKS, 0.01);
	uint32_t w[3] = { 1, 2, 3 };
	servers_init(v, 3, w);
	count_picks(BALANCE_SOURCE, v, 3, c, NPICKS);
	assert_shares(c, w, 3, NPICKS, 0.01);
	uint32_t w4[4] = { 10, 1, 100, 5 };
	struct lb_server v4[4];
	size_t c4[4];
	servers_init(v4, 4, w4);
	count_picks(BALANCE_SOURCE, v4, 4, c4, NPICKS);
	assert_shares(c4, w4, 4, NPICKS, 0.01);
}

static void test_source_minimal_disruption(void **s)
{
	(void)s;
	enum { N = 5, CLIENTS = 10000 };
	struct lb_server v[N];
	servers_init(v, N, NULL);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_SOURCE, N, 0), 0);
	int before[CLIENTS];
	for (uint32_t c = 0; c < CLIENTS; c++)
		before[c] = lb_pick(&st, v, N, client_hash(c));
	for (size_t gone = 0; gone < N; gone++) {
		v[gone].up = false;
		size_t moved = 0;
		for (uint32_t c = 0; c < CLIENTS; c++) {
			int now = lb_pick(&st, v, N, client_hash(c));
			assert_int_not_equal(now, (int)gone);
			if (now != before[c]) {
				/* only the removed server's clients move */
				assert_int_equal(before[c], (int)gone);
				moved++;
			} else {
				assert_int_not_equal(before[c], (int)gone);
			}
		}
		assert_true(moved > CLIENTS / N - 300 && moved < CLIENTS / N + 300);
		/* its clients spread over the four others, not all onto one */
		size_t dest[N] = { 0 };
		for (uint32_t c = 0; c < CLIENTS; c++)
			if (before[c] == (int)gone)
				dest[lb_pick(&st, v, N, client_hash(c))]++;
		for (size_t i = 0; i < N; i++)
			if (i != gone)
				assert_true(dest[i] > moved / 8);
		/* and back: everyone returns to where they were */
		v[gone].up = true;
		for (uint32_t c = 0; c < CLIENTS; c++)
			assert_int_equal(lb_pick(&st, v, N, client_hash(c)), before[c]);
	}
	lb_state_free(&st);
}

static void test_source_adding_server_moves_only_to_it(void **s)
{
	(void)s;
	enum { CLIENTS = 10000 };
	struct lb_server v[5];
	servers_init(v, 5, NULL);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_SOURCE, 5, 0), 0);
	int before[CLIENTS];
	for (uint32_t c = 0; c < CLIENTS; c++)
		before[c] = lb_pick(&st, v, 4, client_hash(c)); /* only the first four exist */
	size_t moved = 0;
	for (uint32_t c = 0; c < CLIENTS; c++) {
		int now = lb_pick(&st, v, 5, client_hash(c));
		if (now != before[c]) {
			assert_int_equal(now, 4);
			moved++;
		}
	}
	assert_true(moved > 1700 && moved < 2300);
	lb_state_free(&st);
}

static void test_source_full_server_moves_only_its_clients(void **s)
{
	(void)s;
	struct lb_server v[3];
	servers_init(v, 3, NULL);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_SOURCE, 3, 0), 0);
	v[0].full = true;
	for (uint32_t c = 0; c < 3000; c++) {
		uint64_t h = client_hash(c);
		v[0].full = false;
		int home = lb_pick(&st, v, 3, h);
		v[0].full = true;
		int now = lb_pick(&st, v, 3, h);
		assert_int_not_equal(now, 0);
		if (home != 0)
			assert_int_equal(now, home);
	}
	lb_state_free(&st);
}

/* ---------- random (power of two choices) ---------- */

static void test_random_distribution_weights(void **s)
{
	(void)s;
	struct lb_server v[3];
	uint32_t eq[3] = { 1, 1, 1 }, w[3] = { 1, 2, 3 };
	size_t c[3];
	servers_init(v, 3, eq);
	count_picks(BALANCE_RANDOM, v, 3, c, NPICKS);
	assert_shares(c, eq, 3, NPICKS, 0.01);
	servers_init(v, 3, w);
	count_picks(BALANCE_RANDOM, v, 3, c, NPICKS);
	assert_shares(c, w, 3, NPICKS, 0.01);
}

static void test_random_prefers_less_loaded(void **s)
{
	(void)s;
	struct lb_server v[3];
	servers_init(v, 3, NULL);
	v[0].active = 100;
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_RANDOM, 3, 5), 0);
	/* two distinct draws: the busy server always loses against either other one */
	for (int k = 0; k < 10000; k++)
		assert_int_not_equal(lb_pick(&st, v, 3, 0), 0);
	/* with the load per weight equal, it is picked again */
	v[0].weight = 100;
	v[1].active = v[2].active = 1;
	size_t c[3] = { 0 };
	for (int k = 0; k < 10000; k++)
		c[lb_pick(&st, v, 3, 0)]++;
	assert_true(c[0] > 9000);
	lb_state_free(&st);
}

static void test_random_held_connections_balanced(void **s)
{
	(void)s;
	/* p2c with connections held open keeps the spread tight (unlike pure random) */
	enum { N = 8, PICKS = 80000 };
	struct lb_server v[N];
	uint32_t w[N] = { 1, 1, 1, 1, 2, 2, 2, 2 };
	servers_init(v, N, w);
	struct lb_state st;
	assert_int_equal(lb_state_init(&st, BALANCE_RANDOM, N, 11), 0);
	for (int k = 0; k < PICKS; k++)
		v[lb_pick(&st, v, N, 0)].active++;
	/* expected 6667 per unit of weight */
	for (int i = 0; i < N; i++) {
		double per_w = (double)v[i].active / v[i].weight;
		assert_true(per_w > 6667 - 30 && per_w < 6667 + 30);
	}
	lb_state_free(&st);
}

static void test_random_seeded(void **s)
{
	(void)s;
	struct lb_server v[5];
	servers_init(v, 5, NULL);
	struct lb_state a, b, c;
	assert_int_equal(lb_state_init(&a, BALANCE_RANDOM, 5, 7), 0);
	assert_int_equal(lb_state_init(&b, BALANCE_RANDOM, 5, 7), 0);
	assert_int_equal(lb_state_init(&c, BALANCE_RANDOM, 5, 0), 0); /* seed 0 must work too */
	assert_int_not_equal(c.rng, 0);
	size_t same = 0, cc[5] = { 0 };
	for (int k = 0; k < 1000; k++) {
		int ra = lb_pick(&a, v, 5, 0);
		assert_int_equal(ra, lb_pick(&b, v, 5, 0));
		int rc = lb_pick(&c, v, 5, 0);
		same += ra == rc;
		cc[rc]++;
	}
	assert_true(same < 400); /* another seed gives another stream */
	for (int i = 0; i < 5; i++)
		assert_true(cc[i] > 120);
	lb_state_free(&a);
	lb_state_free(&b);
	lb_state_free(&c);
}

/* ---------- all algorithms: big weights and one server ---------- */

static void test_all_single_server_and_big_weights(void **s)
{
	(void)s;
	for (size_t a = 0; a < 4; a++) {
		struct lb_server v[2];
		uint32_t w[2] = { 256, 1 };
		servers_init(v, 1, w);
		size_t c[2];
		count_picks(ALL_ALGOS[a], v, 1, c, 1000);
		assert_int_equal(c[0], 1000);
		servers_init(v, 2, w);
		count_picks(ALL_ALGOS[a], v, 2, c, NPICKS);
		assert_shares(c, w, 2, NPICKS, 0.003);
		assert_true(c[1] > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_stable_and_spread),
		cmocka_unit_test(test_none_when_nothing_up),
		cmocka_unit_test(test_full_skipped_and_all_full),
		cmocka_unit_test(test_backup_only_when_no_primary_up),
		cmocka_unit_test(test_exclusions_respected),
		cmocka_unit_test(test_only_primary_backup_mix_single),
		cmocka_unit_test(test_rr_nginx_sequence),
		cmocka_unit_test(test_rr_equal_weights_cycle),
		cmocka_unit_test(test_rr_weights_exact_and_smooth),
		cmocka_unit_test(test_rr_distribution_many_servers),
		cmocka_unit_test(test_rr_server_comes_back),
		cmocka_unit_test(test_state_grows_with_server_list),
		cmocka_unit_test(test_leastconn_prefers_least_loaded),
		cmocka_unit_test(test_leastconn_weighted_ratio),
		cmocka_unit_test(test_leastconn_ties_rotate_by_weight),
		cmocka_unit_test(test_leastconn_churn_stays_balanced),
		cmocka_unit_test(test_source_sticky),
		cmocka_unit_test(test_source_distribution_and_weights),
		cmocka_unit_test(test_source_minimal_disruption),
		cmocka_unit_test(test_source_adding_server_moves_only_to_it),
		cmocka_unit_test(test_source_full_server_moves_only_its_clients),
		cmocka_unit_test(test_random_distribution_weights),
		cmocka_unit_test(test_random_prefers_less_loaded),
		cmocka_unit_test(test_random_held_connections_balanced),
		cmocka_unit_test(test_random_seeded),
		cmocka_unit_test(test_all_single_server_and_big_weights),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
