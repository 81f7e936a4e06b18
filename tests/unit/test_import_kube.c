/* buoy import, k0s and kube-vip readers (src/import/kube.c): the write-ups' configs against
 * examples/migrated/, the apiservers from --server or k0sctl's controllers, and what does not
 * convert named with its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "import_test_util.h"

#define DATA "tests/data/import/"

/* The files with --server ADDR... (m.servers) set before the reader runs. */
static void import_with_servers(
	struct imported *im, imp_reader fn, const char *path, const char *node, char **servers, size_t n)
{
	memset(im, 0, sizeof(*im));
	imp_model_init(&im->m);
	im->m.node = node;
	im->m.servers = servers;
	im->m.n_servers = n;
	size_t len;
	char *t = read_text(path, &len);
	assert_non_null(t);
	fn(&im->m, path, t, len);
	free(t);
	im->m.out_node = (char *)node;
	import_finish(im);
}

static void test_k0s_matches_hand_conversion(void **state)
{
	(void)state;
	char *servers[] = { "10.0.0.11", "10.0.0.12", "10.0.0.13:6443" };
	struct imported im;
	import_with_servers(&im, imp_k0s, DATA "003-k0s.yaml", "controller-0", servers, 3);
	assert_non_null(im.c);
	struct config *h = load_file("examples/migrated/k0s-cplb.yaml");
	assert_vrrp_same(&im.c->vrrp[0], &h->vrrp[0]);
	assert_string_equal(im.c->node, h->node);
	assert_backend_same(&im.c->backends[0], &h->backends[0]);
	assert_int_equal(im.c->backends[0].health.type, h->backends[0].health.type);
	const struct cfg_listener *a = &im.c->listeners[0], *b = &h->listeners[0];
	assert_string_equal(a->bind.text, b->bind.text);
	assert_int_equal(a->n_intercept, 1);
	assert_string_equal(a->intercept[0].text, b->intercept[0].text);
	assert_string_equal(im.c->vrrp[0].track_backends[0].name, a->backend);
	assert_warned(&im, DATA "003-k0s.yaml:15", "no interface");
	config_free(h);
	imported_free(&im);
}

/* k0sctl: the controllers' ssh addresses are the apiservers; names are not addresses. */
static void test_k0sctl(void **state)
{
	(void)state;
	struct imported im;
	import_with_servers(&im, imp_k0s, DATA "003-k0sctl.yaml", NULL, NULL, 0);
	assert_null(im.c);
	assert_warned(&im, DATA "003-k0sctl.yaml:9", "controller-0.k0s.lab: buoy needs IP");
	assert_warned(&im, DATA "003-k0sctl.yaml:36", "nodeLocalLoadBalancing");
	assert_non_null(strstr(sb_str(&im.yaml), "\"controller-0.k0s.lab:6443\""));
	imported_free(&im);
	char *servers[] = { "198.18.0.11" };
	import_with_servers(&im, imp_k0s, DATA "003-k0sctl.yaml", NULL, servers, 1);
	assert_non_null(im.c);
	assert_string_equal(im.c->backends[0].servers[0].addr.text, "198.18.0.11:6443");
	imported_free(&im);
	import_text(&im, NULL, imp_k0s,
		    "spec:\n  network:\n    controlPlaneLoadBalancing:\n"
		    "      enabled: false\n");
	assert_warned(&im, "test.conf:2", "not enabled");
	assert_int_equal(im.status, 2);
	imported_free(&im);
	import_text(&im, NULL, imp_k0s, "spec: [\n");
	assert_warned(&im, NULL, "YAML");
	imported_free(&im);
}

/* kube-vip 0.1.5: apiservers on 6444 as the article's kubeadm init says (its manifest's
 * lb_backendport 6443 contradicts it: --server with the port wins). */
static void test_kube_vip_matches_hand_conversion(void **state)
{
	(void)state;
	char *servers[] = { "198.18.0.21:6444", "198.18.0.22:6444", "198.18.0.23:6444" };
	struct imported im;
	import_with_servers(&im, imp_kube_vip, DATA "004-kube-vip.yaml", "controlPlane01", servers, 3);
	assert_non_null(im.c);
	struct config *h = load_file("examples/migrated/kube-vip.yaml");
	assert_vrrp_same(&im.c->vrrp[0], &h->vrrp[0]);
	assert_backend_same(&im.c->backends[0], &h->backends[0]);
	assert_string_equal(im.c->listeners[0].bind.text, h->listeners[0].bind.text);
	assert_warned(&im, DATA "004-kube-vip.yaml:25", "vip_addpeerstolb");
	assert_int_equal(im.status, 1);
	config_free(h);
	imported_free(&im);
	/* a bare --server gets lb_backendport */
	char *bare[] = { "198.18.0.21" };
	import_with_servers(&im, imp_kube_vip, DATA "004-kube-vip.yaml", NULL, bare, 1);
	assert_string_equal(im.c->backends[0].servers[0].addr.text, "198.18.0.21:6443");
	imported_free(&im);
	import_with_servers(&im, imp_kube_vip, DATA "004-kube-vip.yaml", NULL, NULL, 0);
	assert_null(im.c);
	assert_int_equal(im.status, 2);
	assert_warned(&im, NULL, "--server");
	imported_free(&im);
}

/* kube-vip in BGP mode: no VRRP, the VIP announced, peers from both forms. */
static void test_kube_vip_bgp(void **state)
{
	(void)state;
	char *servers[] = { "198.18.0.21" };
	struct imported im;
	memset(&im, 0, sizeof(im));
	imp_model_init(&im.m);
	im.m.servers = servers;
	im.m.n_servers = 1;
	const char *y =
		"spec:\n  containers:\n  - env:\n"
		"    - { name: vip_address, value: 198.18.200.1 }\n"
		"    - { name: lb_enable, value: \"true\" }\n"
		"    - { name: bgp_enable, value: \"true\" }\n"
		"    - { name: bgp_routerid, value: 198.18.0.1 }\n"
		"    - { name: bgp_as, value: \"65001\" }\n"
		"    - { name: bgp_peeraddress, value: 198.18.1.1 }\n"
		"    - { name: bgp_peeras, value: \"65000\" }\n"
		"    - { name: bgp_peers, value: \"198.18.1.2:65002:s3cret:true,"
		"[2001:db8::1]:65003\" }\n"
		"    - { name: bgp_hold_time, value: \"30\" }\n"
		"    - { name: bgp_sourceif, value: eth1 }\n";
	imp_kube_vip(&im.m, "vip.yaml", y, strlen(y));
	import_finish(&im);
	if (!im.c)
		imported_print(&im);
	assert_non_null(im.c);
	assert_int_equal(im.c->n_vrrp, 0);
	assert_non_null(im.c->bgp);
	assert_int_equal(im.c->bgp->asn, 65001);
	assert_int_equal(im.c->bgp->hold_time_ms, 30000);
	assert_int_equal(im.c->bgp->n_peers, 3);
	assert_string_equal(im.c->bgp->peers[0].text, "198.18.1.1");
	assert_int_equal(im.c->bgp->peers[0].asn, 65000);
	assert_string_equal(im.c->bgp->peers[1].password, "s3cret");
	assert_int_equal(im.c->bgp->peers[1].multihop, 2);
	assert_false(im.c->bgp->peers[1].bfd);
	assert_string_equal(im.c->bgp->peers[2].text, "2001:db8::1");
	assert_int_equal(im.c->bgp->peers[2].asn, 65003);
	assert_int_equal(im.c->bgp->n_announce, 1);
	assert_string_equal(im.c->bgp->announce[0].prefix.text, "198.18.200.1/32");
	assert_string_equal(im.c->listeners[0].bind.text, "198.18.200.1:6443");
	assert_warned(&im, "vip.yaml:13", "bgp_sourceif");
	imported_free(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k0s_matches_hand_conversion),
		cmocka_unit_test(test_k0sctl),
		cmocka_unit_test(test_kube_vip_matches_hand_conversion),
		cmocka_unit_test(test_kube_vip_bgp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
