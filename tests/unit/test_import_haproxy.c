/* buoy import, HAProxy reader (src/import/haproxy.c): defaults inherited as HAProxy does,
 * frontend/backend/listen in mode tcp, server options, checks, timeouts, and every construct
 * that does not convert named with its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "import_test_util.h"

static const struct cfg_backend *backend(const struct imported *im, const char *name)
{
	if (!im->c)
		imported_print(im);
	assert_non_null(im->c);
	for (size_t i = 0; i < im->c->n_backends; i++)
		if (strcmp(im->c->backends[i].name, name) == 0)
			return &im->c->backends[i];
	fail_msg("no backend %s", name);
	return NULL;
}

static const struct cfg_listener *listener(const struct imported *im, const char *name)
{
	for (size_t i = 0; i < im->c->n_listeners; i++)
		if (strcmp(im->c->listeners[i].name, name) == 0)
			return &im->c->listeners[i];
	fail_msg("no listener %s", name);
	return NULL;
}

static const char *const cfg =
	"global\n"                                         /* 1 */
	"    log /dev/log local0\n"                        /* 2 */
	"    maxconn 4000 # the process limit\n"           /* 3 */
	"defaults\n"                                       /* 4 */
	"    mode tcp\n"                                   /* 5 */
	"    timeout connect 3s\n"                         /* 6 */
	"    timeout client 1m\n"                          /* 7 */
	"    timeout server 90s\n"                         /* 8 */
	"    retries 2\n"                                  /* 9 */
	"    option redispatch\n"                          /* 10 */
	"    default-server inter 500ms fall 4 rise 3\n"   /* 11 */
	"frontend api\n"                                   /* 12 */
	"    bind 198.18.0.100:6443 defer-accept\n"        /* 13 */
	"    bind :::7443 v4v6\n"                          /* 14 */
	"    default_backend other\n"                      /* 15 */
	"    use_backend apis\n"                           /* 16 */
	"    use_backend other if { src 198.18.0.0/16 }\n" /* 17 */
	"backend apis\n"                                   /* 18 */
	"    balance source\n"                             /* 19 */
	"    timeout queue 7s\n"                           /* 20 */
	"    option httpchk GET /readyz\n"                 /* 21 */
	"    http-check expect status 200\n"               /* 22 */
	"    server a 198.18.0.21:6443 check check-ssl verify none weight 5 maxconn 100\n"
	"    server b 198.18.0.22:6443 check check-ssl verify none backup\n" /* 24 */
	"    server c 2001:db8::23:6443 check check-ssl disabled\n"          /* 25 */
	"backend other\n"                                                    /* 26 */
	"    server x 198.18.0.31:80\n"                                      /* 27 */
	"defaults\n"                                                         /* 28 */
	"    mode http\n"                                                    /* 29 */
	"frontend web\n"                                                     /* 30 */
	"    bind *:80\n"                                                    /* 31 */
	"    default_backend other\n"                                        /* 32 */
	"listen etcd\n"                                                      /* 33 */
	"    mode tcp\n"                                                     /* 34 */
	"    bind *:2379\n"                                                  /* 35 */
	"    balance leastconn\n"                                            /* 36 */
	"    server e1 198.18.0.41:2379 check\n"                             /* 37 */
	"    server e2 198.18.0.42:2379\n"                                   /* 38 */
	"userlist admins\n"                                                  /* 39 */
	"    user a password x\n";                                           /* 40 */

static void test_sections_and_inheritance(void **state)
{
	(void)state;
	struct imported im;
	import_text(&im, NULL, imp_haproxy, cfg);
	const struct cfg_backend *a = backend(&im, "apis");
	assert_int_equal(a->balance, BALANCE_SOURCE);
	assert_int_equal(a->connect_timeout_ms, 3000); /* from defaults */
	assert_int_equal(a->idle_timeout_ms, 60000);   /* timeout client, shorter than server */
	assert_int_equal(a->queue_timeout_ms, 7000);
	assert_int_equal(a->retries, 2);
	assert_int_equal(a->max_fails, 0); /* HAProxy has no passive checks by default */
	assert_int_equal(a->health.type, HEALTH_HTTPS);
	assert_string_equal(a->health.path, "/readyz");
	assert_int_equal(a->health.interval_ms, 500);
	assert_int_equal(a->health.rise, 3);
	assert_int_equal(a->health.fall, 4);
	assert_false(a->health.verify);
	assert_int_equal(a->n_servers, 2); /* c is disabled: written commented out */
	assert_int_equal(a->servers[0].weight, 5);
	assert_int_equal(a->servers[0].max_conns, 100);
	assert_true(a->servers[1].backup);
	assert_non_null(strstr(sb_str(&im.yaml), "# - { address: \"[2001:db8::23]:6443\""));
	assert_warned(&im, "test.conf:25", "disabled server c");

	/* unconditional use_backend wins over default_backend; conditional ones are named */
	const struct cfg_listener *l = listener(&im, "api");
	assert_string_equal(l->backend, "apis");
	assert_string_equal(l->bind.text, "198.18.0.100:6443");
	assert_true(l->defer_accept);
	assert_false(listener(&im, "api-2")->defer_accept);
	assert_string_equal(listener(&im, "api-2")->bind.text, "[::]:7443");
	assert_warned(&im, "test.conf:17", "conditional");
	assert_warned(&im, "test.conf:14", "bind option v4v6");

	/* `other`: no check -> no health check and no passive one, as HAProxy */
	const struct cfg_backend *o = backend(&im, "other");
	assert_int_equal(o->health.type, HEALTH_NONE);
	assert_int_equal(o->max_fails, 0);

	/* the second defaults section resets: web is mode http, skipped */
	assert_warned(&im, "test.conf:30", "mode http");
	for (size_t i = 0; i < im.c->n_listeners; i++)
		assert_string_not_equal(im.c->listeners[i].name, "web");

	/* listen: a frontend and a backend; defaults of line 28 (no timeouts) */
	const struct cfg_backend *e = backend(&im, "etcd");
	assert_int_equal(e->balance, BALANCE_LEASTCONN);
	assert_int_equal(e->connect_timeout_ms, 2000); /* buoy's default: nothing inherited */
	assert_int_equal(e->health.type, HEALTH_TCP);
	assert_int_equal(e->health.interval_ms, 2000); /* HAProxy's inter */
	assert_int_equal(e->health.rise, 2);
	assert_int_equal(e->health.fall, 3);
	assert_string_equal(listener(&im, "etcd")->bind.text, "0.0.0.0:2379");
	assert_warned(&im, "test.conf:38", "with and without `check`");

	assert_warned(&im, "test.conf:2", "log");
	assert_warned(&im, "test.conf:39", "userlist");
	assert_int_equal(im.c->max_conns, 4000);
	assert_int_equal(im.status, 1);
	imported_free(&im);
}

static void test_balance_and_quoting(void **state)
{
	(void)state;
	static const struct {
		const char *word;
		enum balance_algo want;
		bool warns;
	} cases[] = {
		{ "roundrobin", BALANCE_ROUNDROBIN, false },
		{ "static-rr", BALANCE_ROUNDROBIN, false },
		{ "leastconn", BALANCE_LEASTCONN, false },
		{ "random", BALANCE_RANDOM, false },
		{ "source", BALANCE_SOURCE, false },
		{ "uri", BALANCE_ROUNDROBIN, true },
		{ "first", BALANCE_ROUNDROBIN, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 "listen \"x y\" 198.18.0.1:80 # comment\n"
			 "  balance %s\n"
			 "  server 's 1' 198.18.0.2:80 weight 0\n",
			 cases[i].word);
		struct imported im;
		import_text(&im, NULL, imp_haproxy, text);
		const struct cfg_backend *b = backend(&im, "x-y");
		assert_int_equal(b->balance, cases[i].want);
		assert_int_equal(warned(&im, "test.conf:2", "balance"), cases[i].warns);
		assert_warned(&im, "test.conf:3", "weight 0");
		assert_string_equal(im.c->listeners[0].bind.text, "198.18.0.1:80");
		imported_free(&im);
	}
}

/* 001's haproxy.cfg: what examples/migrated/ says of it. */
static void test_seed(void **state)
{
	(void)state;
	struct imported im;
	import_files(&im, NULL, imp_haproxy, "tests/data/import/001-haproxy.cfg", NULL, NULL);
	struct config *h = load_file("examples/migrated/keepalived-haproxy-unicast-lb1.yaml");
	assert_backend_same(backend(&im, "k8s-managers"), &h->backends[0]);
	assert_string_equal(im.c->listeners[0].name, "k8s-managers.kacangisnuts.com");
	assert_string_equal(im.c->listeners[0].bind.text, "0.0.0.0:6443"); /* bind *:6443 */
	assert_int_equal(im.status, 0);
	config_free(h);
	imported_free(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections_and_inheritance),
		cmocka_unit_test(test_balance_and_quoting),
		cmocka_unit_test(test_seed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
