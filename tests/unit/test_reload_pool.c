/* pool_update: a reload updates backends in place. Kept servers are the same objects (health,
 * passive state, counters, in-flight count); added ones start fresh; removed ones leave the
 * published set but stay valid for connections still on them; settings come with a new set. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/pool.h"

static struct cfg_server srv(const char *ip, uint32_t weight)
{
	struct cfg_server s;
	memset(&s, 0, sizeof(s));
	struct sockaddr_in *sin = (struct sockaddr_in *)&s.addr.ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(6443);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	s.addr.len = sizeof(*sin);
	snprintf(s.addr.text, sizeof(s.addr.text), "%s:6443", ip);
	s.weight = weight;
	return s;
}

static struct cfg_backend backend(const char *name, struct cfg_server *s, size_t n, enum health_type ht)
{
	return (struct cfg_backend){
		.name = (char *)name,
		.servers = s,
		.n_servers = n,
		.connect_timeout_ms = 2000,
		.retries = 2,
		.max_fails = 1,
		.fail_timeout_ms = 10000,
		.idle_timeout_ms = 3600000,
		.queue_timeout_ms = 5000,
		.health = { .type = ht, .initial_up = true }
	};
}

static void test_kept_servers_are_the_same_objects(void **state)
{
	(void)state;
	struct cfg_server s1[] = { srv("198.18.0.21", 1), srv("198.18.0.22", 1), srv("198.18.0.23", 1) };
	struct cfg_backend b1[] = { backend("api", s1, 3, HEALTH_TCP) };
	struct config c1 = { .backends = b1, .n_backends = 1 };
	struct pool *p = pool_new(&c1);
	assert_non_null(p);
	struct backend *api = p->backends[0];
	struct server *s21 = api->servers[0], *s22 = api->servers[1], *s23 = api->servers[2];
	struct server_set *set1 = backend_set(api);
	assert_int_equal(set1->n, 3);
	/* state the reload must keep */
	s21->health.up = false;
	s21->health_started = true;
	atomic_store(&s21->active_up, false);
	atomic_store(&s21->conns_total, 42);
	atomic_store(&s22->active, 3);
	atomic_store(&s23->active, 1); /* a connection still on a server being removed */

	/* .22 weight 5, .23 removed, .24 added; balance and timeout changed */
	struct cfg_server s2[] = { srv("198.18.0.21", 1), srv("198.18.0.22", 5), srv("198.18.0.24", 1) };
	struct cfg_backend b2[] = { backend("api", s2, 3, HEALTH_TCP) };
	b2[0].balance = BALANCE_LEASTCONN;
	b2[0].connect_timeout_ms = 500;
	struct config c2 = { .backends = b2, .n_backends = 1 };
	struct pool_update *u = pool_update_prepare(p, &c2);
	assert_non_null(u);
	assert_ptr_equal(pool_update_backends(u)[0], api);
	assert_ptr_equal(backend_set(api), set1); /* nothing published before commit */
	pool_update_commit(p, u);

	assert_ptr_equal(p->backends[0], api); /* updated in place */
	struct server_set *set2 = backend_set(api);
	assert_ptr_not_equal(set2, set1);
	assert_int_equal(set2->n, 3);
	assert_int_equal(set2->cfg.balance, BALANCE_LEASTCONN);
	assert_int_equal(set2->cfg.connect_timeout_ms, 500);
	assert_ptr_equal(set2->v[0].s, s21);
	assert_ptr_equal(set2->v[1].s, s22);
	assert_int_equal(set2->v[1].weight, 5);
	assert_int_equal(s22->cfg.weight, 5);
	struct server *s24 = set2->v[2].s;
	assert_ptr_not_equal(s24, s23);
	assert_string_equal(s24->cfg.addr.text, "198.18.0.24:6443");
	assert_true(atomic_load(&s24->active_up)); /* initial_state up */
	assert_false(s24->health_started);
	/* kept state */
	assert_false(s21->health.up);
	assert_false(atomic_load(&s21->active_up));
	assert_true(s21->health_started);
	assert_int_equal(atomic_load(&s21->conns_total), 42);
	assert_int_equal(atomic_load(&s22->active), 3);
	/* the removed server: out of the set and the main thread's list, still valid memory */
	assert_true(s23->removed);
	assert_null(backend_find_server(api, "198.18.0.23:6443"));
	assert_int_equal(atomic_load(&s23->active), 1);
	atomic_fetch_sub(&s23->active, 1);
	/* the old set is untouched (a worker may still be reading it) */
	assert_int_equal(set1->n, 3);
	assert_ptr_equal(set1->v[2].s, s23);
	assert_int_equal(api->n_servers, 3);
	assert_ptr_equal(api->servers[2], s24);
	pool_free(p); /* frees retired objects too (ASan/LSan checks that in `make check`) */
}

static void test_backends_added_removed_get_stable_indices(void **state)
{
	(void)state;
	struct cfg_server sa[] = { srv("198.18.0.21", 1) }, sb[] = { srv("198.18.0.31", 1) };
	struct cfg_backend b1[] = {
		backend("api", sa, 1, HEALTH_NONE), backend("etcd", sb, 1, HEALTH_NONE)
	};
	struct config c1 = { .backends = b1, .n_backends = 2 };
	struct pool *p = pool_new(&c1);
	struct backend *api = p->backends[0], *etcd = p->backends[1];
	assert_int_equal(api->idx, 0);
	assert_int_equal(etcd->idx, 1);

	struct cfg_backend b2[] = {
		backend("etcd2", sb, 1, HEALTH_NONE), backend("api", sa, 1, HEALTH_NONE)
	};
	struct config c2 = { .backends = b2, .n_backends = 2 };
	pool_update_commit(p, pool_update_prepare(p, &c2));
	assert_ptr_equal(p->backends[1], api);
	assert_int_equal(api->idx, 0);            /* per-worker state stays where it is */
	assert_int_equal(p->backends[0]->idx, 2); /* never reuses etcd's index */
	assert_true(etcd->removed);
	assert_non_null(backend_set(etcd)); /* its connections keep their set */
	assert_null(pool_find_backend(p, "etcd"));
	assert_ptr_equal(pool_find_backend(p, "etcd2"), p->backends[0]);
	pool_free(p);
}

static void test_abort_changes_nothing(void **state)
{
	(void)state;
	struct cfg_server s1[] = { srv("198.18.0.21", 1) };
	struct cfg_backend b1[] = { backend("api", s1, 1, HEALTH_NONE) };
	struct config c1 = { .backends = b1, .n_backends = 1 };
	struct pool *p = pool_new(&c1);
	struct server_set *set = backend_set(p->backends[0]);
	struct cfg_server s2[] = { srv("198.18.0.21", 1), srv("198.18.0.22", 1) };
	struct cfg_backend b2[] = {
		backend("api", s2, 2, HEALTH_NONE), backend("new", s2, 1, HEALTH_NONE)
	};
	struct config c2 = { .backends = b2, .n_backends = 2 };
	pool_update_abort(pool_update_prepare(p, &c2));
	assert_int_equal(p->n_backends, 1);
	assert_ptr_equal(backend_set(p->backends[0]), set);
	assert_int_equal(p->backends[0]->n_servers, 1);
	pool_free(p);
}

static void test_health_none_forgets_check_state(void **state)
{
	(void)state;
	struct cfg_server s1[] = { srv("198.18.0.21", 1) };
	struct cfg_backend b1[] = { backend("api", s1, 1, HEALTH_TCP) };
	struct config c1 = { .backends = b1, .n_backends = 1 };
	struct pool *p = pool_new(&c1);
	struct server *s = p->backends[0]->servers[0];
	s->health.up = false;
	s->health_started = true;
	atomic_store(&s->active_up, false);
	struct cfg_backend b2[] = { backend("api", s1, 1, HEALTH_NONE) };
	struct config c2 = { .backends = b2, .n_backends = 1 };
	pool_update_commit(p, pool_update_prepare(p, &c2));
	assert_ptr_equal(p->backends[0]->servers[0], s);
	assert_true(atomic_load(&s->active_up)); /* nothing checks it any more: it is up */
	assert_false(s->health_started);
	pool_free(p);
}

/* Retired sets go once no connection holds them and the workers' grace period is over; a
 * removed server goes with its last set, a removed backend with its last set and listener;
 * each set holds the config its strings live in. */
static void test_reclaim_waits_for_holders_and_grace(void **state)
{
	(void)state;
	static _Atomic uint64_t w0;
	static _Atomic uint64_t *const qs[1] = { &w0 };
	struct grace g;
	assert_int_equal(grace_init(&g, qs, 1), 0);
	w0 = 2; /* the worker is busy in a callback */
	struct cfg_server s1[] = { srv("198.18.0.21", 1), srv("198.18.0.22", 1) };
	struct cfg_backend b1[] = {
		backend("api", s1, 2, HEALTH_NONE), backend("etcd", s1, 1, HEALTH_NONE)
	};
	struct config c1 = { .backends = b1, .n_backends = 2 };
	struct pool *p = pool_new(&c1);
	pool_set_grace(p, &g);
	assert_int_equal(c1.refs, 2); /* two sets */
	struct backend *etcd = p->backends[1];
	pool_backend_listener(p, etcd, true);
	struct server_set *old = set_hold(backend_set(p->backends[0])); /* a connection on it */

	struct cfg_backend b2[] = { backend("api", s1, 1, HEALTH_NONE) }; /* .22 and etcd go */
	struct config c2 = { .backends = b2, .n_backends = 1 };
	pool_update_commit(p, pool_update_prepare(p, &c2));
	assert_int_equal(c2.refs, 1);
	assert_int_equal(pool_reclaim(p), 3); /* 2 sets and etcd: grace not over */
	assert_int_equal(p->freed_total, 0);
	grace_quiescent(&w0); /* the worker sleeps */
	/* etcd's set: freed; etcd waits for its listener; api's old set is held */
	assert_int_equal(pool_reclaim(p), 2);
	assert_int_equal(p->freed_total, 2); /* the set and etcd's server */
	assert_int_equal(c1.refs, 1);
	pool_backend_listener(p, etcd, false); /* freed now */
	assert_int_equal(pool_retired_count(p), 1);
	assert_int_equal(p->freed_total, 3);
	assert_true(old->v[1].s->removed); /* .22 still valid for the connection */
	assert_int_equal(old->v[1].s->n_sets, 1);
	set_drop(old);
	assert_int_equal(pool_reclaim(p), 0);
	assert_int_equal(p->freed_total, 5); /* the set and .22 */
	assert_int_equal(c1.refs, 0);
	pool_free(p);
	assert_int_equal(c2.refs, 0);
	grace_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_servers_are_the_same_objects),
		cmocka_unit_test(test_backends_added_removed_get_stable_indices),
		cmocka_unit_test(test_abort_changes_nothing),
		cmocka_unit_test(test_health_none_forgets_check_state),
		cmocka_unit_test(test_reclaim_waits_for_holders_and_grace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
