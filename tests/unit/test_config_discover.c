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

/* A derived config shares everything but the server lists; replacing one backend's servers
 * leaves the base alone, and a `retries` the file did not set follows the count. Freed in
 * either order (LeakSanitizer checks nothing is left). */
static void derive_and_replace(void **state)
{
	(void)state;
	struct config *c = expect_ok(
		HEAD "    discover: { kubeconfig: /k }\n"
		     "  - name: fixed\n    retries: 1\n"
		     "    servers: [ { address: \"198.18.0.31:2379\" } ]\n");
	assert_int_equal(c->backends[0].retries, 0);
	assert_true(c->backends[0].retries_default);
	assert_false(c->backends[1].retries_default);
	config_hold(c); /* the daemon's hold */
	size_t live = config_live_count();
	struct config *d = config_derive(c);
	assert_non_null(d);
	assert_ptr_equal(d->base, c);
	assert_int_equal(c->refs, 2); /* a derived config holds its base */
	assert_int_equal(config_live_count(), live + 1);
	assert_ptr_equal(d->backends[0].name, c->backends[0].name); /* shared */
	assert_ptr_not_equal(d->backends[0].servers, c->backends[0].servers);
	struct cfg_server v[3] = {
		c->backends[0].servers[0], c->backends[0].servers[0], c->backends[0].servers[0]
	};
	snprintf(v[1].addr.text, sizeof(v[1].addr.text), "198.18.0.22:6443");
	snprintf(v[2].addr.text, sizeof(v[2].addr.text), "198.18.0.23:6443");
	v[1].discovered = v[2].discovered = true;
	assert_int_equal(config_set_servers(d, 0, v, 3), 0);
	assert_int_equal(d->backends[0].n_servers, 3);
	assert_int_equal(d->backends[0].retries, 2);
	assert_int_equal(c->backends[0].n_servers, 1); /* the base is untouched */
	assert_int_equal(c->backends[0].retries, 0);
	assert_int_equal(config_set_servers(d, 1, v, 3), 0);
	assert_int_equal(d->backends[1].retries, 1); /* set in the file: kept */
	struct config *dd = config_derive(d);        /* of a derived one: the same base */
	assert_ptr_equal(dd->base, c);
	assert_int_equal(dd->backends[0].n_servers, 3);
	assert_string_equal(dd->backends[0].servers[2].addr.text, "198.18.0.23:6443");
	assert_int_equal(c->refs, 3);
	config_free(d);
	config_free(dd);
	assert_int_equal(c->refs, 1);
	assert_int_equal(config_live_count(), live);
	config_release(c); /* the last holder frees it (LeakSanitizer: nothing left) */
	assert_int_equal(config_live_count(), live - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(absent_and_defaults),
		cmocka_unit_test(every_key),
		cmocka_unit_test(mistakes),
		cmocka_unit_test(derive_and_replace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
