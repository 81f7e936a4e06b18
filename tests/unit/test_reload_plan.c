/* reload_plan: which listeners, backends, servers and VRRP instances a reload keeps, changes,
 * adds and removes. Configs are built by hand (no YAML loader needed). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "reload_plan.h"

static struct cfg_addr addr(const char *ip, int port)
{
	struct cfg_addr a;
	memset(&a, 0, sizeof(a));
	struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	a.len = sizeof(*sin);
	snprintf(a.text, sizeof(a.text), "%s:%d", ip, port);
	return a;
}

static struct cfg_server srv(const char *ip, uint32_t weight)
{
	return (struct cfg_server){ .addr = addr(ip, 6443), .weight = weight };
}

static struct cfg_backend backend(const char *name, struct cfg_server *s, size_t n)
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
		.health = { .type = HEALTH_TCP,
			    .interval_ms = 1000,
			    .timeout_ms = 1000,
			    .rise = 2,
			    .fall = 2,
			    .initial_up = true,
			    .n_expect = 1,
			    .expect = { { 200, 200 } } }
	};
}

static struct cfg_listener listener(const char *name, const char *ip, int port, const char *be, size_t idx)
{
	return (struct cfg_listener){
		.name = (char *)name, .bind = addr(ip, port), .backend = (char *)be, .backend_idx = idx
	};
}

static struct cfg_vip vip(const char *text)
{
	struct cfg_vip v;
	memset(&v, 0, sizeof(v));
	v.addr.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.100", &v.addr.v4);
	v.addr.prefix = 24;
	snprintf(v.text, sizeof(v.text), "%s", text);
	return v;
}

/* ---- the fixture: an "old" config and a "new" one the tests edit ---- */

struct two {
	struct cfg_server os[3], ns[4], oe[1], ne[1];
	struct cfg_backend ob[2], nb[2];
	struct cfg_listener ol[2], nl[2];
	struct cfg_vip vips[2];
	struct cfg_vrrp ov[2], nv[2];
	struct config o, n;
};

static void two_init(struct two *t)
{
	memset(t, 0, sizeof(*t));
	t->os[0] = srv("198.18.0.21", 1);
	t->os[1] = srv("198.18.0.22", 1);
	t->os[2] = srv("198.18.0.23", 1);
	memcpy(t->ns, t->os, sizeof(t->os));
	t->oe[0] = t->ne[0] = srv("198.18.0.31", 1);
	t->ob[0] = backend("api", t->os, 3);
	t->ob[1] = backend("etcd", t->oe, 1);
	t->nb[0] = backend("api", t->ns, 3);
	t->nb[1] = backend("etcd", t->ne, 1);
	t->ol[0] = t->nl[0] = listener("api", "198.18.0.100", 6443, "api", 0);
	t->ol[1] = t->nl[1] = listener("etcd", "198.18.0.100", 2379, "etcd", 1);
	t->vips[0] = t->vips[1] = vip("198.18.0.100/24");
	t->ov[0] = (struct cfg_vrrp){
		.name = "api",
		.interface = "eth0",
		.router_id = 51,
		.priority = 110,
		.version = 3,
		.family = AF_INET,
		.advert_interval_ms = 200,
		.preempt = true,
		.vips = &t->vips[0],
		.n_vips = 1,
		.garp = { 5, 10, 5000, 60000 }
	};
	t->ov[1] = t->ov[0];
	t->ov[1].name = "other";
	t->ov[1].router_id = 52;
	t->nv[0] = t->ov[0];
	t->nv[0].vips = &t->vips[1];
	t->nv[1] = t->ov[1];
	t->o = (struct config){
		.listeners = t->ol,
		.n_listeners = 2,
		.backends = t->ob,
		.n_backends = 2,
		.vrrp = t->ov,
		.n_vrrp = 2,
		.workers = 2
	};
	t->n = (struct config){
		.listeners = t->nl,
		.n_listeners = 2,
		.backends = t->nb,
		.n_backends = 2,
		.vrrp = t->nv,
		.n_vrrp = 2,
		.workers = 2
	};
}

static void test_identical_configs_keep_everything(void **state)
{
	(void)state;
	struct two t;
	two_init(&t);
	struct reload_plan p;
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_int_equal(p.listener_old[0], 0);
	assert_int_equal(p.listener_old[1], 1);
	assert_int_equal(p.listeners.kept, 2);
	assert_int_equal(p.backends.kept, 2);
	assert_int_equal(p.backends.changed + p.backends.added + p.backends.removed, 0);
	assert_int_equal(p.servers.kept, 4);
	assert_int_equal(p.vrrp.kept, 2);
	assert_int_equal(p.vrrp_change[0], RELOAD_KEPT);
	assert_false(p.workers_changed || p.control_changed || p.metrics_changed ||
		     p.user_changed || p.fast_path_changed);
	assert_false(p.global_changed);
	assert_true(reload_plan_is_noop(&p));
	char buf[400];
	reload_plan_summary(&p, buf, sizeof(buf));
	assert_string_equal(
		buf,
		"listeners_kept=2 listeners_changed=0 listeners_added=0 "
		"listeners_removed=0 backends_kept=2 backends_changed=0 "
		"backends_added=0 backends_removed=0 servers_kept=4 "
		"servers_changed=0 servers_added=0 servers_removed=0 vrrp_kept=2 "
		"vrrp_changed=0 vrrp_added=0 vrrp_removed=0");
	reload_plan_free(&p);
}

static void test_listener_identity_is_name_bind_backend(void **state)
{
	(void)state;
	struct two t;
	two_init(&t);
	t.nl[0] = listener("api", "198.18.0.100", 7443, "api", 0);  /* new port */
	t.nl[1] = listener("etcd", "198.18.0.100", 2379, "api", 0); /* other backend */
	struct reload_plan p;
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_int_equal(p.listener_old[0], -1);
	assert_int_equal(p.listener_old[1], -1);
	assert_true(p.listener_removed[0] && p.listener_removed[1]);
	assert_int_equal(p.listeners.added, 2);
	assert_int_equal(p.listeners.removed, 2);
	reload_plan_free(&p);

	/* order does not matter: a swapped list keeps both */
	two_init(&t);
	t.nl[0] = t.ol[1];
	t.nl[1] = t.ol[0];
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_int_equal(p.listener_old[0], 1);
	assert_int_equal(p.listener_old[1], 0);
	assert_int_equal(p.listeners.kept, 2);
	reload_plan_free(&p);
}

static void test_listener_option_change_keeps_the_sockets(void **state)
{
	(void)state;
	struct two t;
	two_init(&t);
	t.nl[1].defer_accept = true;
	struct reload_plan p;
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_int_equal(p.listener_old[1], 1); /* continued, not rebound */
	assert_int_equal(p.listeners.kept, 1);
	assert_int_equal(p.listeners.changed, 1);
	assert_int_equal(p.listeners.added + p.listeners.removed, 0);
	assert_false(reload_plan_is_noop(&p)); /* the commit must run to apply it */
	reload_plan_free(&p);
}

/* A UDP listener: the protocol is part of its identity, and so are its session settings
 * (its workers' tables are sized and timed by them): a change rebinds. Same settings: kept. */
static void test_udp_listener_identity(void **state)
{
	(void)state;
	struct two t;
	struct reload_plan p;
	two_init(&t);
	t.nl[1].protocol = PROTO_UDP; /* same name, bind, backend, other protocol */
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_int_equal(p.listener_old[0], 0);
	assert_int_equal(p.listener_old[1], -1);
	reload_plan_free(&p);

	for (int k = 0; k < 4; k++) {
		two_init(&t);
		for (int side = 0; side < 2; side++) {
			struct cfg_listener *l = side ? &t.nl[1] : &t.ol[1];
			l->protocol = PROTO_UDP;
			l->udp_idle_timeout_ms = 30000;
			l->max_sessions = 10000;
		}
		if (k == 1)
			t.nl[1].udp_idle_timeout_ms = 5000;
		else if (k == 2)
			t.nl[1].proxy_responses = 1;
		else if (k == 3)
			t.nl[1].max_sessions = 10;
		assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
		assert_int_equal(p.listener_old[1], k == 0 ? 1 : -1);
		assert_int_equal(p.listeners.kept, k == 0 ? 2 : 1);
		reload_plan_free(&p);
	}
}

static void test_servers_added_removed_changed(void **state)
{
	(void)state;
	struct two t;
	two_init(&t);
	/* api: .21 kept, .22 weight 5 (changed), .23 removed, .24 and .25 added */
	t.ns[0] = t.os[0];
	t.ns[1] = srv("198.18.0.22", 5);
	t.ns[2] = srv("198.18.0.24", 1);
	t.ns[3] = srv("198.18.0.25", 1);
	t.nb[0].n_servers = 4;
	struct reload_plan p;
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_int_equal(p.backend_old[0], 0);
	assert_int_equal(p.backend_change[0], RELOAD_CHANGED); /* its servers changed */
	assert_int_equal(p.backend_change[1], RELOAD_KEPT);
	assert_int_equal(p.server_old[0][0], 0);
	assert_int_equal(p.server_change[0][0], RELOAD_KEPT);
	assert_int_equal(p.server_old[0][1], 1);
	assert_int_equal(p.server_change[0][1], RELOAD_CHANGED);
	assert_int_equal(p.server_old[0][2], -1);
	assert_int_equal(p.server_change[0][2], RELOAD_ADDED);
	assert_int_equal(p.server_old[0][3], -1);
	assert_int_equal(p.servers.kept, 2); /* .21 and etcd's */
	assert_int_equal(p.servers.changed, 1);
	assert_int_equal(p.servers.added, 2);
	assert_int_equal(p.servers.removed, 1);
	assert_false(reload_plan_is_noop(&p));
	reload_plan_free(&p);
}

static void test_backend_settings_changes(void **state)
{
	(void)state;
	struct two t;
	struct reload_plan p;
	struct cfg_backend edits[10];
	struct cfg_discover d1 = { .kind = DISCOVER_APISERVER, .kubeconfig = "/k" }, d2 = d1;
	d2.stall_ms = 5000;
	for (int i = 0; i < 10; i++) {
		two_init(&t);
		edits[i] = t.nb[0];
	}
	edits[0].balance = BALANCE_LEASTCONN;
	edits[1].connect_timeout_ms = 1000;
	edits[2].retries = 0;
	edits[3].max_fails = 3;
	edits[4].health.interval_ms = 250;
	edits[5].health.path = "/livez";
	edits[6].health.type = HEALTH_NONE;
	edits[7].max_queue = 10;
	edits[8].discover = &d1; /* discovery added */
	edits[9].discover = &d2;
	for (int i = 0; i < 10; i++) {
		two_init(&t);
		t.nb[0] = edits[i];
		t.nb[0].servers = t.ns;
		assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
		assert_int_equal(p.backend_change[0], RELOAD_CHANGED);
		assert_int_equal(p.servers.kept, 4); /* servers themselves are kept */
		reload_plan_free(&p);
	}
	assert_false(cfg_backend_settings_equal(&edits[5], &t.ob[0]));
	two_init(&t);
	assert_true(cfg_backend_settings_equal(&t.nb[0], &t.ob[0]));
	assert_false(cfg_backend_settings_equal(&edits[8], &edits[9])); /* a discover key */
	struct cfg_backend same = edits[8];
	struct cfg_discover d3 = d1;
	same.discover = &d3;
	assert_true(cfg_backend_settings_equal(&edits[8], &same));
}

static void test_backends_added_removed_by_name(void **state)
{
	(void)state;
	struct two t;
	two_init(&t);
	t.nb[1].name = "etcd2"; /* renamed: one removed, one added */
	t.nl[1].backend = "etcd2";
	struct reload_plan p;
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_int_equal(p.backend_old[1], -1);
	assert_int_equal(p.backend_change[1], RELOAD_ADDED);
	assert_true(p.backend_removed[1]);
	assert_false(p.backend_removed[0]);
	assert_int_equal(p.backends.added, 1);
	assert_int_equal(p.backends.removed, 1);
	assert_int_equal(p.servers.added, 1);     /* etcd2's server is new */
	assert_int_equal(p.servers.removed, 1);   /* etcd's goes with its backend */
	assert_int_equal(p.listeners.removed, 1); /* the etcd listener names another backend */
	reload_plan_free(&p);
}

/* Settings a running instance takes in place (no handover) versus its election identity. */
static void test_vrrp_updated_in_place_or_reinitialised(void **state)
{
	(void)state;
	struct cfg_vip other = vip("198.18.0.101/24");
	struct cfg_track_backend tb = { .name = "api" };
	for (int k = 0; k < 14; k++) {
		struct two t;
		two_init(&t);
		enum reload_change want = RELOAD_UPDATED;
		switch (k) {
		case 0: t.nv[0].priority = 100; break;
		case 1: t.nv[0].preempt = false; break;
		case 2: t.nv[0].preempt_delay_ms = 5000; break;
		case 3: t.nv[0].garp.repeat = 2; break;
		case 4: t.nv[0].notify = "/usr/local/bin/n"; break;
		case 5:
			t.nv[0].track_backends = &tb;
			t.nv[0].n_track_backends = 1;
			break;
		case 6: t.nv[0].track_strict = true; break;
		case 7: t.n.script_user = "root"; break;
		case 8:
			t.nv[0].router_id = 60;
			want = RELOAD_CHANGED;
			break;
		case 9:
			t.nv[0].interface = "eth1";
			want = RELOAD_CHANGED;
			break;
		case 10:
			t.nv[0].vips = &other;
			want = RELOAD_CHANGED;
			break;
		case 11:
			t.nv[0].priority = 255;
			want = RELOAD_CHANGED;
			break; /* becomes the owner */
		case 12:
			t.nv[0].advert_interval_ms = 1000;
			want = RELOAD_CHANGED;
			break;
		case 13:
			t.nv[0].version = 2;
			want = RELOAD_CHANGED;
			break;
		}
		struct reload_plan p;
		assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
		if (p.vrrp_change[0] != want)
			fail_msg("case %d: got %d want %d", k, p.vrrp_change[0], want);
		assert_int_equal(p.vrrp.changed, k == 7 ? 2 : 1); /* script_user: both instances */
		assert_false(reload_plan_is_noop(&p));
		reload_plan_free(&p);
	}
}

static void test_vrrp_kept_changed_added_removed(void **state)
{
	(void)state;
	struct two t;
	two_init(&t);
	t.nv[0].router_id = 53; /* changed: another election */
	t.nv[1].name = "third"; /* "other" removed, "third" added */
	struct reload_plan p;
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_int_equal(p.vrrp_old[0], 0);
	assert_int_equal(p.vrrp_change[0], RELOAD_CHANGED);
	assert_int_equal(p.vrrp_old[1], -1);
	assert_int_equal(p.vrrp_change[1], RELOAD_ADDED);
	assert_true(p.vrrp_removed[1]);
	assert_int_equal(p.vrrp.changed, 1);
	assert_int_equal(p.vrrp.added, 1);
	assert_int_equal(p.vrrp.removed, 1);
	reload_plan_free(&p);

	/* same settings in another config object: kept (the VIP array is a different copy) */
	two_init(&t);
	assert_true(cfg_vrrp_equal(&t.ov[0], &t.nv[0]));
	struct cfg_vrrp v = t.ov[0];
	struct cfg_vip other = vip("198.18.0.101/24");
	v.vips = &other;
	assert_false(cfg_vrrp_equal(&t.ov[0], &v));
	v = t.ov[0];
	v.advert_interval_ms = 1000;
	assert_false(cfg_vrrp_equal(&t.ov[0], &v));
	struct cfg_track_backend tb = { .name = "api", .weight = -50 };
	v = t.ov[0];
	v.track_backends = &tb;
	v.n_track_backends = 1;
	assert_false(cfg_vrrp_equal(&t.ov[0], &v));
	/* a new script_user re-initialises every instance (scripts run as it) */
	t.n.script_user = "buoy-scripts";
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_int_equal(p.vrrp.changed, 2);
	reload_plan_free(&p);
}

static void test_restart_only_settings_flagged(void **state)
{
	(void)state;
	struct two t;
	two_init(&t);
	t.n.workers = 4;
	t.n.control_socket = "/run/other.sock";
	t.n.metrics_enabled = true;
	t.n.metrics_listen = addr("127.0.0.1", 9254);
	t.n.user = "buoy";
	struct reload_plan p;
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_true(p.workers_changed && p.control_changed && p.metrics_changed && p.user_changed);
	assert_false(p.fast_path_changed);
	assert_false(reload_plan_is_noop(&p));
	reload_plan_free(&p);
	two_init(&t);
	t.n.fast_path = CFG_FAST_PATH_AUTO; /* the program loads at start only */
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_true(p.fast_path_changed);
	assert_false(reload_plan_is_noop(&p));
	reload_plan_free(&p);
	/* applied settings outside the items: not a no-op either */
	two_init(&t);
	t.n.max_conns = 100;
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_true(p.global_changed);
	assert_false(reload_plan_is_noop(&p));
	reload_plan_free(&p);
	two_init(&t);
	t.n.log_level = 1;
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_false(reload_plan_is_noop(&p));
	reload_plan_free(&p);
}

static void test_empty_to_full_and_back(void **state)
{
	(void)state;
	struct two t;
	two_init(&t);
	struct config empty = { .workers = 2 };
	struct reload_plan p;
	assert_int_equal(reload_plan_make(&empty, &t.n, &p), 0);
	assert_int_equal(p.listeners.added, 2);
	assert_int_equal(p.backends.added, 2);
	assert_int_equal(p.servers.added, 4);
	assert_int_equal(p.vrrp.added, 2);
	reload_plan_free(&p);
	assert_int_equal(reload_plan_make(&t.o, &empty, &p), 0);
	assert_int_equal(p.listeners.removed, 2);
	assert_int_equal(p.backends.removed, 2);
	assert_int_equal(p.servers.removed, 4);
	assert_int_equal(p.vrrp.removed, 2);
	reload_plan_free(&p);
}

static void test_duplicate_addresses_match_one_to_one(void **state)
{
	(void)state;
	struct two t;
	two_init(&t);
	t.os[1] = t.os[0]; /* .21 twice in the old list */
	t.ns[1] = t.os[0]; /* and twice in the new one, plus once more */
	t.ns[2] = t.os[0];
	struct reload_plan p;
	assert_int_equal(reload_plan_make(&t.o, &t.n, &p), 0);
	assert_int_equal(p.server_old[0][0], 0);
	assert_int_equal(p.server_old[0][1], 1);
	assert_int_equal(p.server_old[0][2], -1); /* the third copy is a new server */
	assert_int_equal(p.servers.removed, 1);   /* old .23 */
	reload_plan_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical_configs_keep_everything),
		cmocka_unit_test(test_listener_identity_is_name_bind_backend),
		cmocka_unit_test(test_listener_option_change_keeps_the_sockets),
		cmocka_unit_test(test_udp_listener_identity),
		cmocka_unit_test(test_servers_added_removed_changed),
		cmocka_unit_test(test_backend_settings_changes),
		cmocka_unit_test(test_backends_added_removed_by_name),
		cmocka_unit_test(test_vrrp_updated_in_place_or_reinitialised),
		cmocka_unit_test(test_vrrp_kept_changed_added_removed),
		cmocka_unit_test(test_restart_only_settings_flagged),
		cmocka_unit_test(test_empty_to_full_and_back),
		cmocka_unit_test(test_duplicate_addresses_match_one_to_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
