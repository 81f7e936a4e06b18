/* buoy import, keepalived reader (src/import/keepalived.c, tree.c): the write-ups' configs
 * against their hand conversions in examples/migrated/, keepalived's own samples (Debian's
 * keepalived package), and each keyword, default and warning on small inputs. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "import_test_util.h"

#define DATA "tests/data/import/"
#define SAMPLES "/usr/share/doc/keepalived/samples"

static const struct cfg_vrrp *one_vrrp(const struct imported *im)
{
	if (!im->c)
		imported_print(im);
	assert_non_null(im->c);
	assert_int_equal(im->c->n_vrrp, 1);
	return &im->c->vrrp[0];
}

/* 001 (unicast, PASS, a vrrp_script) + its HAProxy: the hand conversions, both nodes. */
static void test_unicast_pair_matches_hand_conversion(void **state)
{
	(void)state;
	static const char *const nodes[] = { "lb1", "lb2" };
	for (int n = 0; n < 2; n++) {
		char ka[128], hand[128];
		snprintf(ka, sizeof(ka), DATA "001-%s.keepalived.conf", nodes[n]);
		snprintf(hand, sizeof(hand), "examples/migrated/keepalived-haproxy-unicast-%s.yaml",
			 nodes[n]);
		struct imported im;
		import_files(&im, NULL, imp_keepalived, ka, imp_haproxy, DATA "001-haproxy.cfg");
		const struct cfg_vrrp *v = one_vrrp(&im);
		struct config *h = load_file(hand);
		assert_vrrp_same(v, &h->vrrp[0]);
		assert_int_equal(v->priority, n == 0 ? 120 : 100);
		/* the script checked haproxy, which buoy replaces: its backends are tracked */
		assert_int_equal(v->n_track_scripts, 0);
		assert_int_equal(v->n_track_backends, 1);
		assert_string_equal(v->track_backends[0].name, h->vrrp[0].track_backends[0].name);
		assert_int_equal(im.c->n_backends, 1);
		assert_backend_same(&im.c->backends[0], &h->backends[0]);
		/* HAProxy's default check: every 2s, rise 2, fall 3 (the hand file says so) */
		assert_int_equal(im.c->backends[0].health.interval_ms, 2000);
		assert_int_equal(im.c->backends[0].health.rise, 2);
		assert_int_equal(im.c->backends[0].health.fall, 3);
		assert_int_equal(listener_port(&im.c->listeners[0]), listener_port(&h->listeners[0]));
		assert_int_equal(im.status, 0);
		config_free(h);
		imported_free(&im);
	}
}

/* One file with @node lines gives, per --node, what that node's own file gives. */
static void test_conditional_pair_equals_two_files(void **state)
{
	(void)state;
	static const char *const nodes[] = { "haproxy-lb1", "haproxy-lb2" };
	for (int n = 0; n < 2; n++) {
		char ka[128];
		snprintf(ka, sizeof(ka), DATA "001-lb%d.keepalived.conf", n + 1);
		struct imported pair, own;
		import_files(&pair, nodes[n], imp_keepalived, DATA "001-pair.keepalived.conf", NULL, NULL);
		import_files(&own, NULL, imp_keepalived, ka, NULL, NULL);
		assert_vrrp_same(one_vrrp(&pair), one_vrrp(&own));
		assert_int_equal(pair.c->vrrp[0].n_track_scripts, 1);
		assert_int_equal(pair.c->vrrp[0].track_scripts[0].rise, 3);
		assert_int_equal(pair.c->vrrp[0].track_scripts[0].fall, 2);
		assert_int_equal(pair.c->vrrp[0].track_scripts[0].interval_ms, 2000);
		/* no haproxy.cfg imported: the haproxy check stays, with a warning */
		char where[160];
		snprintf(where, sizeof(where), "%s:3", ka);
		assert_warned(&own, where, "checks the proxy buoy replaces");
		imported_free(&pair);
		imported_free(&own);
	}
}

/* 002 (colocated): PASS cut to 8 characters as keepalived sends it, a bare VIP is /32. */
static void test_colocated_matches_hand_conversion(void **state)
{
	(void)state;
	struct imported im;
	import_files(&im, NULL, imp_keepalived, DATA "002-keepalived.conf", imp_haproxy,
		     DATA "002-haproxy.cfg");
	struct config *h = load_file("examples/migrated/keepalived-haproxy-colocated.yaml");
	assert_vrrp_same(one_vrrp(&im), &h->vrrp[0]);
	assert_string_equal(im.c->vrrp[0].auth_pass, "password");
	assert_backend_same(&im.c->backends[0], &h->backends[0]);
	assert_int_equal(im.c->backends[0].health.fall, h->backends[0].health.fall);
	assert_int_equal(im.c->backends[0].health.rise, h->backends[0].health.rise);
	assert_int_equal(im.c->backends[0].health.interval_ms, h->backends[0].health.interval_ms);
	assert_string_equal(im.c->listeners[0].bind.text, h->listeners[0].bind.text);
	config_free(h);
	imported_free(&im);
}

/* 000 (keepalived + nginx stream). The hand file corrects the article's etcd server on the
 * apiserver port (11.11.11.2:6443 -> :6001); import keeps what the source says. */
static void test_nginx_pair_matches_hand_conversion(void **state)
{
	(void)state;
	struct imported im;
	import_files(&im, NULL, imp_keepalived, DATA "000-keepalived.conf", imp_nginx,
		     DATA "000-nginx.conf");
	struct config *h = load_file("examples/migrated/keepalived-nginx-lb1.yaml");
	assert_vrrp_same(one_vrrp(&im), &h->vrrp[0]);
	assert_string_equal(im.c->node, h->node);
	assert_int_equal(im.c->n_backends, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct cfg_backend *a = &im.c->backends[i];
		const struct cfg_backend *b = &h->backends[strcmp(a->name, "k8s") == 0 ? 0 : 1];
		assert_string_equal(a->name, b->name);
		assert_int_equal(a->max_fails, b->max_fails);
		assert_int_equal(a->fail_timeout_ms, b->fail_timeout_ms);
		if (strcmp(a->name, "k8s") == 0)
			assert_backend_same(a, b);
		else
			assert_string_equal(a->servers[1].addr.text, "11.11.11.2:6443");
	}
	for (size_t i = 0; i < im.c->n_listeners; i++)
		assert_int_equal(listener_port(&im.c->listeners[i]),
				 strcmp(im.c->listeners[i].name, "k8s") == 0 ? 6443 : 4001);
	config_free(h);
	imported_free(&im);
}

/* Every sample of Debian's keepalived converts to a config the loader takes, or fails with a
 * fatal warning that names a line; a sample with a vrrp_instance yields VRRP instances. */
static void test_debian_samples(void **state)
{
	(void)state;
	DIR *d = opendir(SAMPLES);
	if (!d) /* scripts/deps test installs keepalived: its absence is a failure, not a skip */
		fail_msg(SAMPLES " missing: install keepalived (scripts/deps test)");
	struct dirent *e;
	int n = 0, ok = 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "keepalived.conf.", 16) != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), SAMPLES "/%s", e->d_name);
		size_t len;
		char *text = read_text(path, &len);
		assert_non_null(text);
		struct imported im;
		import_files(&im, NULL, imp_keepalived, path, NULL, NULL);
		n++;
		if (im.c) {
			ok++;
			if (strstr(text, "vrrp_instance"))
				assert_true(im.c->n_vrrp > 0);
		} else {
			/* what was not carried over (here: everything) is named by line */
			bool named = false;
			for (size_t i = 0; i < im.m.n_warnings; i++)
				named |= strchr(im.m.warnings[i].where, ':') != NULL;
			if (!named) {
				fprintf(stderr, "    %s: refused without a line-numbered reason\n",
					path);
				imported_print(&im);
			}
			assert_true(named);
			assert_true(im.errs.n > 0);
			assert_true(!strstr(text, "vrrp_instance") || im.status != 0);
		}
		free(text);
		imported_free(&im);
	}
	closedir(d);
	fprintf(stderr, "    %d keepalived samples, %d convert to a valid config\n", n, ok);
	assert_true(n >= 20);
	assert_true(ok >= n - 4);
}

/* keepalived's defaults where the file is silent, and each instance keyword. */
static void test_instance_keywords(void **state)
{
	(void)state;
	struct imported im;
	import_text(
		&im, NULL, imp_keepalived,
		"vrrp_instance A {\n"
		"  state MASTER\n"
		"  interface eth0\n"
		"  virtual_router_id 7\n"
		"  nopreempt\n"
		"  preempt_delay 3\n"
		"  virtual_ipaddress {\n"
		"    198.18.0.100/24 dev eth0 label eth0:v\n"
		"    198.18.0.101\n"
		"    198.18.0.101 brd 198.18.0.255\n"
		"  }\n"
		"  track_interface {\n"
		"    eth1\n"
		"    eth2 weight -20\n"
		"  }\n"
		"}\n"
		"vrrp_instance B {\n"
		"  interface eth0\n"
		"  virtual_router_id 8\n"
		"  version 3\n"
		"  advert_int 0.5\n"
		"  priority 90\n"
		"  preempt_delay 2.5\n"
		"  authentication { auth_type PASS\n auth_pass secret }\n"
		"  virtual_ipaddress { 2001:db8::100 }\n"
		"}\n");
	assert_non_null(im.c);
	const struct cfg_vrrp *a = &im.c->vrrp[0], *b = &im.c->vrrp[1];
	assert_int_equal(a->priority, 255); /* state MASTER without priority: the owner */
	assert_int_equal(a->version, 2);
	assert_int_equal(a->advert_interval_ms, 1000);
	assert_false(a->preempt);
	assert_int_equal(a->preempt_delay_ms, 0); /* ignored with nopreempt, as keepalived */
	assert_int_equal(a->n_vips, 2);
	assert_string_equal(a->vips[1].text, "198.18.0.101/32");
	assert_string_equal(a->label, "eth0:v");
	assert_int_equal(a->n_track_ifaces, 2);
	assert_int_equal(a->track_ifaces[1].weight, -20);
	assert_warned(&im, "test.conf:10", "already a VIP");
	assert_int_equal(b->priority, 90);
	assert_int_equal(b->version, 3);
	assert_int_equal(b->advert_interval_ms, 500);
	assert_true(b->preempt);
	assert_int_equal(b->preempt_delay_ms, 2500);
	assert_string_equal(b->vips[0].text, "2001:db8::100/128");
	assert_string_equal(b->auth_pass, ""); /* VRRPv3 has none: dropped, said */
	assert_warned(&im, "test.conf:17", "VRRPv3");
	assert_int_equal(im.status, 1);
	imported_free(&im);
}

static void test_ah_is_an_error(void **state)
{
	(void)state;
	struct imported im;
	import_text(&im, NULL, imp_keepalived,
		    "vrrp_instance A {\n interface eth0\n virtual_router_id 7\n"
		    " authentication {\n  auth_type AH\n  auth_pass x\n }\n"
		    " virtual_ipaddress { 198.18.0.1 }\n}\n");
	assert_warned(&im, "test.conf:4", "AH");
	assert_int_equal(im.status, 2);
	imported_free(&im);
}

/* `{` on the next line, one-line blocks, quotes, ! and # comments, $VAR and ${VAR},
 * @id / @^id lines, and what is not understood named with its line. */
static void test_syntax(void **state)
{
	(void)state;
	const char *conf =
		"$IF=eth9\n"
		"$VIPS=198.18.0.5/24 ${IF}\n"
		"! a comment\n"
		"vrrp_script s # another\n"
		"{\n"
		"  script \"/bin/check a b\"\n"
		"  interval 3\n"
		"  timeout 1\n"
		"  weight -30\n"
		"  user alice\n"
		"}\n"
		"vrrp_instance V {\n"
		"  interface $IF\n"
		"  virtual_router_id 9\n"
		"@lb1 priority 150\n"
		"@^lb1 priority 50\n"
		"  use_vmac\n"
		"  virtual_ipaddress { 198.18.0.5/24 }\n"
		"  track_script { s weight 10 }\n"
		"  notify_master /bin/true\n"
		"}\n"
		"vrrp_sync_group G { group { V } }\n";
	static const char *const nodes[] = { "lb1", "lb2" };
	for (int n = 0; n < 2; n++) {
		struct imported im;
		import_text(&im, nodes[n], imp_keepalived, conf);
		const struct cfg_vrrp *v = one_vrrp(&im);
		assert_string_equal(v->interface, "eth9");
		assert_int_equal(v->priority, n == 0 ? 150 : 50);
		assert_int_equal(v->n_track_scripts, 1);
		assert_string_equal(v->track_scripts[0].command, "/bin/check a b");
		assert_int_equal(v->track_scripts[0].interval_ms, 3000);
		assert_int_equal(v->track_scripts[0].timeout_ms, 1000);
		assert_int_equal(v->track_scripts[0].weight, 10); /* track_script's own weight */
		assert_string_equal(v->track_scripts[0].user, "alice");
		assert_warned(&im, "test.conf:17", "use_vmac");
		assert_warned(&im, "test.conf:20", "notify_master");
		assert_warned(&im, "test.conf:22", "sync group");
		imported_free(&im);
	}
	struct imported im;
	import_text(&im, NULL, imp_keepalived, conf);
	assert_warned(&im, "test.conf:15", "--node");
	imported_free(&im);
	/* keepalived 2.2 reads $NAME up to a blank: `$V/24` is the unknown name "V/24", left
	 * as written, and keepalived then skips the address as invalid (checked with
	 * keepalived -t); ${V}/24 is the way to write it */
	import_text(&im, NULL, imp_keepalived,
		    "$V=198.18.0.9\nvrrp_instance V {\n interface eth0\n virtual_router_id 9\n"
		    " virtual_ipaddress {\n  ${V}/24\n  $V/24\n  $V\tlabel eth0:x\n }\n}\n");
	assert_null(im.c); /* "$V/24" is not an address */
	assert_non_null(strstr(sb_str(&im.yaml), "virtual_ips: [\"198.18.0.9/24\", \"$V/24\", "
						 "\"198.18.0.9/32\"]"));
	imported_free(&im);
	import_text(&im, NULL, imp_keepalived, "vrrp_instance V {\n interface eth0\n");
	assert_int_equal(im.status, 2);
	assert_warned(&im, "test.conf", "unclosed");
	imported_free(&im);
	/* fuzz_import_keepalived regress-crash: a block without a keyword inside a list */
	import_text(&im, NULL, imp_keepalived,
		    "vrrp_instance V {\n track_interface {\n {\n }\n }\n unicast_peer {\n {\n }\n"
		    " }\n}\n");
	assert_warned(&im, "test.conf:3", "a block without a keyword");
	imported_free(&im);
	/* fuzz_import_keepalived regress-crash-a9f6: `{` alone on its line, nested past the
	 * depth limit, overran the block stack */
	char deep[400] = "";
	for (int i = 0; i < 40; i++)
		strcat(deep, "a\n{\n");
	import_text(&im, NULL, imp_keepalived, deep);
	assert_warned(&im, "test.conf:63", "nested deeper than 32");
	assert_int_equal(im.status, 2);
	imported_free(&im);
	import_text(&im, NULL, imp_keepalived, "global_defs {\n}\n}\n");
	assert_warned(&im, "test.conf:3", "unbalanced }");
	imported_free(&im);
}

/* An LVS virtual_server: a listener and a backend, its checker as the health check, and
 * what LVS did that a proxy does not. */
static void test_virtual_server(void **state)
{
	(void)state;
	struct imported im;
	import_text(
		&im, NULL, imp_keepalived,
		"virtual_server 198.18.0.100 6443 {\n"
		"  delay_loop 5\n"
		"  lb_algo wlc\n"
		"  lb_kind DR\n"
		"  protocol TCP\n"
		"  real_server 198.18.0.21 6443 {\n"
		"    weight 3\n"
		"    SSL_GET {\n"
		"      url { path /readyz\n status_code 200 }\n"
		"      connect_timeout 2\n"
		"      retry 2\n"
		"    }\n"
		"  }\n"
		"  real_server 198.18.0.22 6443 {\n"
		"    SSL_GET { url { path /readyz }\n url { path /livez } }\n"
		"  }\n"
		"  sorry_server 198.18.0.99 6443\n"
		"  persistence_timeout 50\n"
		"}\n");
	assert_non_null(im.c);
	assert_int_equal(im.c->n_listeners, 1);
	assert_string_equal(im.c->listeners[0].bind.text, "198.18.0.100:6443");
	const struct cfg_backend *b = &im.c->backends[0];
	assert_int_equal(b->balance, BALANCE_LEASTCONN);
	assert_int_equal(b->n_servers, 3);
	assert_int_equal(b->servers[0].weight, 3);
	assert_true(b->servers[2].backup); /* the sorry_server */
	assert_string_equal(b->servers[2].addr.text, "198.18.0.99:6443");
	assert_warned(&im, "test.conf:17", "first is kept");
	assert_warned(&im, "test.conf:20", "balance: source");
	assert_int_equal(b->health.type, HEALTH_HTTPS);
	assert_string_equal(b->health.path, "/readyz");
	assert_int_equal(b->health.interval_ms, 5000);
	assert_int_equal(b->health.timeout_ms, 2000);
	assert_int_equal(b->health.fall, 3);
	assert_int_equal(b->health.rise, 1);
	assert_warned(&im, "test.conf:4", "LVS DR forwarding has no buoy equivalent");
	imported_free(&im);
}

static char tmpdir[] = "/tmp/buoy-test-import-XXXXXX";

static void write_file(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* include with a glob, relative to the including file, inside a block too. */
static void test_include(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	char sub[300], main_conf[300];
	snprintf(sub, sizeof(sub), "%s/conf.d", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file("conf.d/a.conf",
		   "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n"
		   " include ../vips.inc\n}\n");
	write_file("conf.d/b.conf",
		   "vrrp_instance B {\n interface eth0\n virtual_router_id 2\n"
		   " virtual_ipaddress { 198.18.0.2 }\n bogus_key 1\n}\n");
	write_file("vips.inc", "virtual_ipaddress {\n 198.18.0.1\n}\n");
	write_file("main.conf", "include conf.d/*.conf\ninclude none/*.conf\n");
	snprintf(main_conf, sizeof(main_conf), "%s/main.conf", tmpdir);
	struct imported im;
	import_files(&im, NULL, imp_keepalived, main_conf, NULL, NULL);
	assert_non_null(im.c);
	assert_int_equal(im.c->n_vrrp, 2);
	assert_string_equal(im.c->vrrp[0].vips[0].text, "198.18.0.1/32");
	char where[320];
	snprintf(where, sizeof(where), "%s/conf.d/b.conf:5", tmpdir);
	assert_warned(&im, where, "bogus_key");
	snprintf(where, sizeof(where), "%s:2", main_conf);
	assert_warned(&im, where, "matches no file");
	imported_free(&im);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unicast_pair_matches_hand_conversion),
		cmocka_unit_test(test_conditional_pair_equals_two_files),
		cmocka_unit_test(test_colocated_matches_hand_conversion),
		cmocka_unit_test(test_nginx_pair_matches_hand_conversion),
		cmocka_unit_test(test_debian_samples),
		cmocka_unit_test(test_instance_keywords),
		cmocka_unit_test(test_ah_is_an_error),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_virtual_server),
		cmocka_unit_test(test_include),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
