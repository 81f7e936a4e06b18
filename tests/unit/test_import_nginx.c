/* buoy import, nginx reader (src/import/nginx.c, tree.c): stream upstreams and servers, nginx's
 * tokenizer (quotes, escapes, comments, includes), and what does not convert, by line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static const char *const conf =
	"user www-data;\n"                                                      /* 1 */
	"worker_processes 3;\n"                                                 /* 2 */
	"events { worker_connections 768; }\n"                                  /* 3 */
	"http { server { listen 80; } }\n"                                      /* 4 */
	"stream {\n"                                                            /* 5 */
	"  upstream api {\n"                                                    /* 6 */
	"    hash $remote_addr consistent;\n"                                   /* 7 */
	"    zone api 64k;\n"                                                   /* 8 */
	"    server 198.18.0.21:6443 weight=2 max_fails=2 fail_timeout=30s;\n"  /* 9 */
	"    server [2001:db8::22]:6443 max_fails=2 fail_timeout=30s backup;\n" /* 10 */
	"    server 198.18.0.23:6443 down;\n"                                   /* 11 */
	"    server 198.18.0.24:6443 max_conns=5 slow_start=10s;\n"             /* 12 */
	"  }\n"                                                                 /* 13 */
	"  upstream \"r\" { random two; server 198.18.0.31:80; }\n"             /* 14 */
	"  server {\n"                                                          /* 15 */
	"    listen 198.18.0.100:6443;  # the VIP\n"                            /* 16 */
	"    listen 7443 deferred;\n"                                           /* 17 */
	"    listen 53 udp;\n"                                                  /* 18 */
	"    proxy_pass api;\n"                                                 /* 19 */
	"    proxy_connect_timeout 4s;\n"                                       /* 20 */
	"    proxy_timeout 30m;\n"                                              /* 21 */
	"    proxy_next_upstream_tries 3;\n"                                    /* 22 */
	"    ssl_preread on;\n"                                                 /* 23 */
	"  }\n"                                                                 /* 24 */
	"  server { listen [::]:80; proxy_pass r; proxy_next_upstream off; }\n" /* 25 */
	"  server { listen *:81; proxy_pass 198.18.0.51:8080; }\n"              /* 26 */
	"  server { listen 82; }\n"                                             /* 27 */
	"}\n";

static void test_stream(void **state)
{
	(void)state;
	struct imported im;
	import_text(&im, NULL, imp_nginx, conf);
	const struct cfg_backend *a = backend(&im, "api");
	assert_int_equal(a->balance, BALANCE_SOURCE);
	assert_int_equal(a->max_fails, 2);
	assert_int_equal(a->fail_timeout_ms, 30000);
	assert_int_equal(a->connect_timeout_ms, 4000);
	assert_int_equal(a->idle_timeout_ms, 1800000);
	assert_int_equal(a->retries, 2);   /* tries count the first attempt */
	assert_int_equal(a->n_servers, 3); /* the `down` one is commented out */
	assert_int_equal(a->servers[0].weight, 2);
	assert_string_equal(a->servers[1].addr.text, "[2001:db8::22]:6443");
	assert_true(a->servers[1].backup);
	assert_int_equal(a->servers[2].max_conns, 5);
	assert_warned(&im, "test.conf:11", "down");
	assert_warned(&im, "test.conf:12", "max_fails/fail_timeout differ");
	assert_warned(&im, "test.conf:12", "slow_start");
	const struct cfg_backend *r = backend(&im, "r");
	assert_int_equal(r->balance, BALANCE_RANDOM);
	assert_int_equal(r->retries, 0);
	const struct cfg_backend *u = backend(&im, "upstream1");
	assert_string_equal(u->servers[0].addr.text, "198.18.0.51:8080");

	const char *binds[] = { "198.18.0.100:6443", "0.0.0.0:7443", "[::]:80", "0.0.0.0:81" };
	assert_int_equal(im.c->n_listeners, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(im.c->listeners[i].bind.text, binds[i]);
		assert_int_equal(im.c->listeners[i].defer_accept, i == 1);
	}
	assert_warned(&im, "test.conf:18", "UDP");
	assert_warned(&im, "test.conf:23", "ssl_preread");
	assert_warned(&im, "test.conf:27", "without proxy_pass");
	assert_warned(&im, "test.conf:4", "HTTP (L7)");
	assert_warned(&im, "test.conf:3", "worker_connections");
	assert_string_equal(im.c->user, "www-data");
	assert_int_equal(im.c->workers, 3);
	assert_int_equal(im.status, 1);
	imported_free(&im);
}

/* nginx's tokenizer: quotes with escapes and `;` inside, a statement over lines, errors. */
static void test_tokens(void **state)
{
	(void)state;
	struct imported im;
	import_text(&im, NULL, imp_nginx,
		    "stream { upstream 'a\\'b;c' { server\n 198.18.0.1:1\n weight=3; }\n"
		    "server { listen 1; proxy_pass \"a'b;c\"; } }\n");
	const struct cfg_backend *b = backend(&im, "a-b-c");
	assert_int_equal(b->servers[0].weight, 3);
	assert_int_equal(im.c->n_listeners, 1);
	imported_free(&im);
	import_text(&im, NULL, imp_nginx, "stream { server { listen 1 }\n");
	assert_warned(&im, "test.conf:1", "missing \";\"");
	assert_int_equal(im.status, 2);
	imported_free(&im);
	/* fuzz_import_nginx regress-timeout: a NUL byte used to stop the tokenizer in place */
	static const char nul[] = "stream { upstream x { server 198.18.0.1:1;\0 } }";
	imp_model_init(&im.m);
	imp_nginx(&im.m, "nul.conf", nul, sizeof(nul) - 1);
	assert_int_equal(imp_status(&im.m), 0);
	imp_model_free(&im.m);
	import_text(&im, NULL, imp_nginx, "stream { upstream x { server \"198.18.0.1:1; } }");
	assert_warned(&im, "test.conf:1", "unterminated quote");
	imported_free(&im);
}

/* 000's stream block: backends as examples/migrated/keepalived-nginx-lb1.yaml has them. */
static void test_seed(void **state)
{
	(void)state;
	struct imported im;
	import_files(&im, NULL, imp_nginx, "tests/data/import/000-nginx.conf", NULL, NULL);
	struct config *h = load_file("examples/migrated/keepalived-nginx-lb1.yaml");
	assert_backend_same(backend(&im, "k8s"), &h->backends[0]);
	assert_int_equal(backend(&im, "k8s")->max_fails, 3);
	assert_int_equal(backend(&im, "k8s")->fail_timeout_ms, 5000);
	assert_int_equal(im.status, 0);
	config_free(h);
	imported_free(&im);
}

/* include, relative to the file, with a glob (like the conf.d glob of Debian's nginx.conf). */
static void test_include(void **state)
{
	(void)state;
	char dir[] = "/tmp/buoy-test-import-nginx-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], cmd[300];
	snprintf(path, sizeof(path), "%s/streams", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/streams/a.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("upstream u { server 198.18.0.9:9; }\nserver { listen 9; proxy_pass u; }\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/nginx.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("stream {\n  include streams/*.conf;\n}\n", f);
	fclose(f);
	struct imported im;
	import_files(&im, NULL, imp_nginx, path, NULL, NULL);
	assert_int_equal(backend(&im, "u")->n_servers, 1);
	assert_int_equal(im.c->n_listeners, 1);
	imported_free(&im);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_include),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
