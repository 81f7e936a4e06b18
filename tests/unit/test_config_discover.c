/* backends[].discover (src/config/validate_discover.c): defaults, every key, etcd credentials
 * defaulting to the health check's, and each mistake at its line:col with the key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "config_test_util.h"

/* backends[0].discover starts on line 6 */
#define HEAD \
	BASE_LISTENERS \
	"backends:\n" \
	"  - name: api\n" \
	"    servers: [ { address: \"198.18.0.21:6443\" } ]\n"

static void absent_and_defaults(void **state)
{
	(void)state;
	struct config *c = expect_ok(HEAD);
	assert_null(c->backends[0].discover);
	config_free(c);
	c = expect_ok(HEAD "    discover: { kubeconfig: /etc/kubernetes/admin.conf }\n");
	const struct cfg_discover *x = c->backends[0].discover;
	assert_non_null(x);
	assert_int_equal(x->kind, DISCOVER_APISERVER);
	assert_string_equal(x->kubeconfig, "/etc/kubernetes/admin.conf");
	assert_null(x->context);
	assert_int_equal(x->api, DISCOVER_API_AUTO);
	assert_int_equal(x->timeout_ms, 5000);
	assert_int_equal(x->stall_ms, 90000);
	assert_int_equal(x->retry_ms, 1000);
	assert_string_equal(discover_kind_name(x->kind), "apiserver");
	config_free(c);
}

static void every_key(void **state)
{
	(void)state;
	struct config *c = expect_ok(
		HEAD
		"    discover:\n"
		"      kind: apiserver\n"
		"      kubeconfig: /etc/buoy/kubeconfig\n"
		"      context: buoy\n"
		"      api: endpoints\n"
		"      timeout: 2s\n"
		"      stall_timeout: 3s\n"
		"      retry: 250ms\n");
	const struct cfg_discover *x = c->backends[0].discover;
	assert_string_equal(x->context, "buoy");
	assert_int_equal(x->api, DISCOVER_API_ENDPOINTS);
	assert_int_equal(x->timeout_ms, 2000);
	assert_int_equal(x->stall_ms, 3000);
	assert_int_equal(x->retry_ms, 250);
	config_free(c);
	c = expect_ok(HEAD "    health: { type: tls, ca_file: /pki/ca.crt, cert_file: /pki/c.crt, "
			   "key_file: /pki/c.key }\n"
			   "    discover: { kind: etcd, interval: 2s }\n");
	x = c->backends[0].discover;
	assert_int_equal(x->kind, DISCOVER_ETCD);
	assert_int_equal(x->interval_ms, 2000);
	assert_string_equal(x->ca_file, "/pki/ca.crt"); /* the backend's own credentials */
	assert_string_equal(x->cert_file, "/pki/c.crt");
	assert_string_equal(x->key_file, "/pki/c.key");
	config_free(c);
	c = expect_ok(
		HEAD "    health: { type: tls, ca_file: /pki/ca.crt }\n"
		     "    discover: { kind: etcd, ca_file: /other/ca.crt, cert_file: /o/c.crt, "
		     "key_file: /o/c.key }\n");
	assert_string_equal(c->backends[0].discover->ca_file, "/other/ca.crt");
	config_free(c);
}

static void mistakes(void **state)
{
	(void)state;
	expect_error(HEAD "    discover: {}\n", 6, 15, "missing required key \"kubeconfig\"");
	expect_error(HEAD "    discover: { kubeconfig: admin.conf }\n", 6, 29, "absolute path");
	expect_error(HEAD "    discover: { kind: consul }\n", 6, 23, "expected apiserver or etcd");
	expect_error(HEAD "    discover: { kubeconfig: /k, api: nodes }\n", 6, 38, "expected auto");
	expect_error(HEAD "    discover: { kubeconfig: /k, timeout: 5 }\n", 6, 42, "timeout");
	expect_error(HEAD "    discover: { kubeconfig: /k, interval: 1s }\n", 6, 43, "only for kind etcd");
	expect_error(HEAD "    discover: { kubeconfig: /k, ca_file: /x }\n", 6, 42, "only for kind etcd");
	expect_error(HEAD "    discover: { kind: etcd, kubeconfig: /k }\n", 6, 41,
		     "only for kind apiserver");
	expect_error(HEAD "    discover: { kind: etcd, cert_file: /c }\n", 6, 40, "go together");
	expect_error(HEAD "    discover: { kubeconfig: /k, watch: yes }\n", 6, 33, "watch");
	expect_error(HEAD "    discover: { kubeconfig: /k, stall_timeout: 1ms }\n", 6, 48,
		     "stall_timeout");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(absent_and_defaults),
		cmocka_unit_test(every_key),
		cmocka_unit_test(mistakes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
