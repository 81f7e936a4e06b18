/* Config validation: each kind of mistake is reported at the exact line:col of the offending key
 * or value, with a message that names it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "core/log.h"

#include "config_test_util.h"

/* The YAML documents below keep one source line per YAML line. */
/* clang-format off */

static void test_unknown_key_top(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS BASE_BACKENDS "colour: red\n", 7, 1, "unknown key \"colour\"");
	expect_error("nod: lb1\n" BASE_LISTENERS BASE_BACKENDS, 1, 1, "did you mean \"node\"?");
}

static void test_listener_defer_accept_not_bool(void **state)
{
	(void)state;
	expect_error("listeners:\n"
		"  - { name: api, bind: \"198.18.0.100:6443\", backend: api, defer_accept: 1s }\n"
		BASE_BACKENDS,
		2, 73, "listeners[0].defer_accept: expected true or false, got \"1s\"");
}

static void test_listener_udp_keys(void **state)
{
	(void)state;
	expect_error("listeners:\n"
		"  - { name: dns, bind: \"198.18.0.100:53\", backend: api, protocol: sctp }\n"
		BASE_BACKENDS,
		2, 67, "listeners[0].protocol: expected tcp or udp, got \"sctp\"");
	expect_error("listeners:\n"
		"  - { name: api, bind: \"198.18.0.100:53\", backend: api, proxy_responses: 1 }\n"
		BASE_BACKENDS,
		2, 74, "listeners[0].proxy_responses: only for a listener with protocol: udp");
	expect_error("listeners:\n"
		"  - { name: dns, bind: \"198.18.0.100:53\", backend: api, protocol: udp,\n"
		"      udp_idle_timeout: 30 }\n"
		BASE_BACKENDS,
		3, 25, "listeners[0].udp_idle_timeout");
	expect_error("listeners:\n"
		"  - { name: dns, bind: \"198.18.0.100:53\", backend: api, protocol: udp,\n"
		"      max_sessions: 0 }\n"
		BASE_BACKENDS,
		3, 21, "listeners[0].max_sessions");
	expect_error("listeners:\n"
		"  - { name: dns, bind: \"198.18.0.100:53\", backend: api, protocol: udp,\n"
		"      defer_accept: true }\n"
		BASE_BACKENDS,
		3, 21, "listeners[0].defer_accept: only for a TCP listener");
	expect_error("listeners:\n"
		"  - { name: dns, bind: \"198.18.0.100:53\", backend: api, protocol: udp }\n"
		"  - { name: dns2, bind: \"198.18.0.100:53\", backend: api, protocol: udp }\n"
		BASE_BACKENDS,
		3, 25, "listeners[1].bind: 198.18.0.100:53 is already bound by listeners[0]");
	/* the udp health check's datagram */
	expect_error(BASE_LISTENERS BASE_BACKENDS
		"    health: { type: http, send: ping }\n",
		7, 33, "backends[0].health.send: only for type: udp");
	expect_error(BASE_LISTENERS BASE_BACKENDS
		"    health: { type: udp }\n",
		7, 21, "a udp check needs one of send (text) or send_hex");
	expect_error(BASE_LISTENERS BASE_BACKENDS
		"    health: { type: udp, send_hex: \"00fg\" }\n",
		7, 36, "backends[0].health.send_hex: not a hex digit at offset 3");
	expect_error(BASE_LISTENERS BASE_BACKENDS
		"    health: { type: udp, send_hex: \"0\" }\n",
		7, 36, "backends[0].health.send_hex: expected 1 to 1024 bytes as pairs of hex digits");
	struct config *hc = expect_ok(BASE_LISTENERS BASE_BACKENDS
		"    health: { type: udp, send_hex: \"00Ff10\" }\n");
	assert_int_equal(hc->backends[0].health.type, HEALTH_UDP);
	assert_int_equal(hc->backends[0].health.udp_send_len, 3);
	assert_memory_equal(hc->backends[0].health.udp_send, "\x00\xff\x10", 3);
	config_free(hc);
	/* TCP and UDP on one address:port (DNS), the defaults, and values */
	struct config *c = expect_ok("listeners:\n"
		"  - { name: dns-tcp, bind: \"198.18.0.100:53\", backend: api }\n"
		"  - { name: dns, bind: \"198.18.0.100:53\", backend: api, protocol: udp }\n"
		"  - { name: ntp, bind: \"198.18.0.100:123\", backend: api, protocol: udp,\n"
		"      udp_idle_timeout: 5s, proxy_responses: 1, max_sessions: 50 }\n"
		BASE_BACKENDS);
	assert_int_equal(c->listeners[0].protocol, PROTO_TCP);
	assert_int_equal(c->listeners[1].protocol, PROTO_UDP);
	assert_int_equal(c->listeners[1].udp_idle_timeout_ms, 30000);
	assert_int_equal(c->listeners[1].proxy_responses, 0);
	assert_int_equal(c->listeners[1].max_sessions, 10000);
	assert_int_equal(c->listeners[2].udp_idle_timeout_ms, 5000);
	assert_int_equal(c->listeners[2].proxy_responses, 1);
	assert_int_equal(c->listeners[2].max_sessions, 50);
	config_free(c);
}

static void test_unknown_key_nested(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers:\n"
		"      - { address: \"198.18.0.21:6443\" }\n"
		"    colour: blue\n",
		7, 5, "unknown key \"colour\" in backends[0]");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers:\n"
		"      - { address: \"198.18.0.21:6443\", wieght: 2 }\n",
		6, 40, "unknown key \"wieght\" in backends[0].servers[0] (did you mean \"weight\"?)");
	expect_error(BASE_LISTENERS BASE_BACKENDS
		"vrrp:\n"
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100]\n"
		"    garp: { repeats: 3 }\n",
		12, 13, "unknown key \"repeats\" in vrrp[0].garp");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	expect_error("node: a\n" BASE_LISTENERS BASE_BACKENDS "node: b\n", 8, 1,
		     "duplicate key \"node\"");
}

static void test_wrong_shape(void **state)
{
	(void)state;
	expect_error("node: [a, b]\n" BASE_LISTENERS BASE_BACKENDS, 1, 7,
		     "node: expected a single value, got a list");
	expect_error(BASE_LISTENERS "backends: { name: api }\n", 3, 11,
		     "backends: expected a list, got a mapping");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers: \"198.18.0.21:6443\"\n",
		5, 14, "backends[0].servers: expected a list, got a single value");
	expect_error("- a\n- b\n", 1, 1, "document: expected a mapping, got a list");
	expect_error(BASE_LISTENERS "backends:\n  - api\n", 4, 5,
		     "backends[0]: expected a mapping, got a single value");
}

static void test_yaml_syntax_error(void **state)
{
	(void)state;
	expect_error("node: lb1\nlisteners: [\n  - a\n", 3, 3, "YAML syntax error");
	expect_error("node: a\n  bad: b\n", 2, 6, "YAML syntax error: mapping values are not allowed");
}

static void test_empty_document(void **state)
{
	(void)state;
	struct config_errors e;
	assert_null(load("", &e));
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.v[0].msg, "empty configuration"));
	config_errors_free(&e);
	expect_error("node: lb1\n", 1, 1, "nothing to do");
}

static void test_duration_without_unit(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    connect_timeout: 2\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 22, "backends[0].connect_timeout: duration \"2\" has no unit");
	expect_error("shutdown_grace: 30\n" BASE_LISTENERS BASE_BACKENDS, 1, 17, "has no unit");
}

static void test_bad_duration(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { interval: 1sec }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 25, "backends[0].health.interval: invalid duration \"1sec\"");
}

static void test_wrong_type_integer(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers: [{ address: \"198.18.0.21:6443\", weight: heavy }]\n",
		5, 54, "backends[0].servers[0].weight: expected a whole number 1..256, got \"heavy\"");
	expect_error("workers: 1.5\n" BASE_LISTENERS BASE_BACKENDS, 1, 10, "expected a whole number");
	expect_error("max_conns: -1\n" BASE_LISTENERS BASE_BACKENDS, 1, 12, "expected a whole number");
}

static void test_wrong_type_bool(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers: [{ address: \"198.18.0.21:6443\", backup: maybe }]\n",
		5, 54, "backends[0].servers[0].backup: expected true or false, got \"maybe\"");
}

static void test_weight_range(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers:\n"
		"      - { address: \"198.18.0.21:6443\", weight: 0 }\n"
		"      - { address: \"198.18.0.22:6443\", weight: 257 }\n",
		6, 48, "backends[0].servers[0].weight: 0 is out of range 1..256");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers:\n"
		"      - { address: \"198.18.0.21:6443\", weight: 0 }\n"
		"      - { address: \"198.18.0.22:6443\", weight: 257 }\n",
		7, 48, "backends[0].servers[1].weight: 257 is out of range 1..256");
}

static void test_bad_enums(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    balance: fastest\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 14, "unknown balance \"fastest\"");
	expect_error("fast_path: ebpf\n" BASE_LISTENERS BASE_BACKENDS, 1, 12,
		     "fast_path: unknown mode \"ebpf\" (expected off, auto, sockmap)");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { type: grpc, initial_state: maybe }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 21, "backends[0].health.type: unknown type \"grpc\"");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { type: grpc, initial_state: maybe }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 42, "initial_state: expected up or down");
	expect_error("log: { level: loud }\n" BASE_LISTENERS BASE_BACKENDS, 1, 15,
		     "log.level: unknown level \"loud\"");
	expect_error("log: { format: json }\n" BASE_LISTENERS BASE_BACKENDS, 1, 16,
		     "log.format: unknown format");
}

static void test_bad_server_address(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers:\n"
		"      - { address: \"198.18.0.21\" }\n",
		6, 20, "backends[0].servers[0].address: invalid address \"198.18.0.21\"");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers:\n"
		"      - address: 2001:db8::1:443\n",
		6, 18, "invalid address \"2001:db8::1:443\"");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers:\n"
		"      - address: \"0.0.0.0:6443\"\n",
		6, 18, "a server needs a specific address");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers:\n"
		"      - { weight: 2 }\n",
		6, 9, "backends[0].servers[0]: missing required key \"address\"");
}

static void test_bad_bind_and_metrics(void **state)
{
	(void)state;
	expect_error(BASE_BACKENDS
		"listeners:\n"
		"  - { name: api, bind: \"198.18.0.100:99999\", backend: api }\n",
		6, 24, "listeners[0].bind: invalid address");
	expect_error("metrics: { listen: localhost:9254 }\n" BASE_LISTENERS BASE_BACKENDS, 1, 20,
		     "metrics.listen: invalid address \"localhost:9254\"");
}

static void test_duplicate_server_address(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers:\n"
		"      - { address: \"198.18.0.21:6443\" }\n"
		"      - { address: \"198.18.0.22:6443\" }\n"
		"      - { address: \"198.18.0.21:6443\" }\n",
		8, 20, "backends[0].servers[2].address: duplicate server 198.18.0.21:6443 (also servers[0])");
}

static void test_backend_without_servers(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS "backends:\n  - name: api\n    servers: []\n", 5, 14,
		     "backends[0].servers: a backend needs at least one server");
	expect_error(BASE_LISTENERS "backends:\n  - name: api\n", 4, 5,
		     "backends[0].servers: a backend needs at least one server");
}

static void test_listener_missing_backend(void **state)
{
	(void)state;
	expect_error(BASE_BACKENDS
		"listeners:\n"
		"  - { name: api, bind: \"198.18.0.100:6443\", backend: apiservrs }\n",
		6, 54, "listeners[0].backend: no backend named \"apiservrs\" (defined: api)");
	expect_error(BASE_BACKENDS
		"listeners:\n"
		"  - { name: api, bind: \"198.18.0.100:6443\" }\n",
		6, 5, "listeners[0]: missing required key \"backend\"");
}

static void test_duplicate_names(void **state)
{
	(void)state;
	expect_error(BASE_BACKENDS
		"  - name: api\n"
		"    servers: [{ address: \"198.18.0.22:6443\" }]\n"
		BASE_LISTENERS,
		5, 11, "backends[1].name: duplicate backend name \"api\" (also backends[0])");
	expect_error(BASE_BACKENDS
		"listeners:\n"
		"  - { name: api, bind: \"198.18.0.100:6443\", backend: api }\n"
		"  - { name: api, bind: \"198.18.0.100:6444\", backend: api }\n",
		7, 13, "listeners[1].name: duplicate listener name \"api\"");
	expect_error(BASE_BACKENDS
		"vrrp:\n"
		"  - { name: v, interface: eth0, router_id: 1, virtual_ips: [198.18.0.100] }\n"
		"  - { name: v, interface: eth1, router_id: 2, virtual_ips: [198.18.0.101] }\n",
		7, 13, "vrrp[1].name: duplicate vrrp instance name \"v\"");
}

static void test_bad_name_characters(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: \"api servers\"\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		4, 11, "name \"api servers\" must be 1..63 letters");
}

static void test_duplicate_bind(void **state)
{
	(void)state;
	expect_error(BASE_BACKENDS
		"listeners:\n"
		"  - { name: a, bind: \"198.18.0.100:6443\", backend: api }\n"
		"  - { name: b, bind: \"198.18.0.100:6443\", backend: api }\n",
		7, 22, "listeners[1].bind: 198.18.0.100:6443 is already bound by listeners[0]");
}

static void test_expect_status_out_of_range(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { expect_status: 600 }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 30, "backends[0].health.expect_status: status \"600\" must be within 100..599");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { expect_status: [200, \"399-200\"] }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 36, "backends[0].health.expect_status[1]: status \"399-200\"");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { expect_status: [200, 99] }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 36, "expect_status[1]: status \"99\" must be within 100..599");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { expect_status: ok }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 30, "expected a status code or a range");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { expect_status: { lo: 200 } }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 30, "expect_status: expected a status code");
}

static void test_health_ranges(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { rise: 0, fall: 1 }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 21, "backends[0].health.rise: 0 is out of range 1..1000");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { port: 70000 }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 21, "health.port: 70000 is out of range 1..65535");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { path: readyz }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 21, "health.path: must start with '/'");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { cert_file: /c.crt }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 26, "cert_file and key_file go together");
}

static void test_router_id_and_priority_range(void **state)
{
	(void)state;
	expect_error(VRRP_HEAD
		"  - { name: v, interface: eth0, router_id: 0, virtual_ips: [198.18.0.100] }\n",
		8, 44, "vrrp[0].router_id: 0 is out of range 1..255");
	expect_error(VRRP_HEAD
		"  - { name: v, interface: eth0, router_id: 256, virtual_ips: [198.18.0.100] }\n",
		8, 44, "router_id: 256 is out of range 1..255");
	expect_error(VRRP_HEAD
		"  - { name: v, interface: eth0, virtual_ips: [198.18.0.100] }\n",
		8, 5, "vrrp[0]: missing required key \"router_id\"");
	expect_error(VRRP_HEAD
		"  - { name: v, interface: eth0, router_id: 1, priority: 0, virtual_ips: [198.18.0.100] }\n",
		8, 57, "vrrp[0].priority: 0 is out of range 1..255");
	expect_error(VRRP_HEAD
		"  - { name: v, interface: eth0, router_id: 1, version: 4, virtual_ips: [198.18.0.100] }\n",
		8, 56, "vrrp[0].version: expected 2 or 3");
	expect_error(VRRP_HEAD
		"  - { name: v, interface: eth0, router_id: 1, version: 2, virtual_ips: [\"2001:db8::100/64\"] }\n",
		8, 56, "vrrp[0].version: VRRPv2 (RFC 3768) is IPv4 only");
}

static void test_advert_interval_ranges(void **state)
{
	(void)state;
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100]\n"
		"    version: 2\n"
		"    advert_interval: 500ms\n",
		13, 22, "vrrp[0].advert_interval: 500ms is out of range 1s..255s");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100]\n"
		"    version: 2\n"
		"    advert_interval: 1.5s\n",
		13, 22, "VRRPv2 needs whole seconds");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100]\n"
		"    advert_interval: 41s\n",
		12, 22, "vrrp[0].advert_interval: 41s is out of range 10ms..40950ms");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100]\n"
		"    advert_interval: 5ms\n",
		12, 22, "out of range 10ms..40950ms");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100]\n"
		"    advert_interval: 15ms\n",
		12, 22, "VRRPv3 needs a multiple of 10ms");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100]\n"
		"    advert_interval: 1\n",
		12, 22, "has no unit");
}

static void test_vrid_clash(void **state)
{
	(void)state;
	expect_error(VRRP_HEAD
		"  - { name: a, interface: eth0, router_id: 51, virtual_ips: [198.18.0.100/24] }\n"
		"  - { name: b, interface: eth0, router_id: 51, virtual_ips: [198.18.0.101/24] }\n",
		9, 44, "vrrp[1].router_id: router_id 51 on eth0 (IPv4) is already used by vrrp[0] \"a\"");
	/* other interface or other family: no clash */
	struct config *c = expect_ok(VRRP_HEAD
		"  - { name: a, interface: eth0, router_id: 51, virtual_ips: [198.18.0.100/24] }\n"
		"  - { name: b, interface: eth1, router_id: 51, virtual_ips: [198.18.0.101/24] }\n"
		"  - { name: c, interface: eth0, router_id: 51, virtual_ips: [\"2001:db8::1/64\"] }\n");
	config_free(c);
}

static void test_mixed_families(void **state)
{
	(void)state;
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips:\n"
		"      - 198.18.0.100/24\n"
		"      - 2001:db8::100/64\n",
		13, 9, "vrrp[0].virtual_ips[1]: 2001:db8::100/64 is IPv6 but the instance's first "
		"address is IPv4");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    unicast_peers: [\"2001:db8::12\"]\n",
		12, 21, "vrrp[0].unicast_peers[0]: IPv6 peer 2001:db8::12 for an IPv4 instance");
}

static void test_auth_pass(void **state)
{
	(void)state;
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    auth_pass: secret\n",
		12, 16, "vrrp[0].auth_pass: authentication exists only in VRRPv2");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    version: 2\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    auth_pass: 123456789\n",
		13, 16, "auth_pass: at most 8 characters");
}

static void test_bad_vips(void **state)
{
	(void)state;
	expect_error(VRRP_HEAD
		"  - { name: v, interface: eth0, router_id: 1, virtual_ips: [198.18.0.300/24] }\n",
		8, 61, "vrrp[0].virtual_ips[0]: invalid address \"198.18.0.300/24\"");
	expect_error(VRRP_HEAD
		"  - { name: v, interface: eth0, router_id: 1, virtual_ips: [] }\n",
		8, 60, "vrrp[0].virtual_ips: an instance needs at least one address");
	expect_error(VRRP_HEAD
		"  - { name: v, interface: eth0, router_id: 1, virtual_ips: [198.18.0.1, 198.18.0.1/24] }\n",
		8, 73, "duplicate address 198.18.0.1/24");
	expect_error(VRRP_HEAD
		"  - { name: a, interface: eth0, router_id: 1, virtual_ips: [198.18.0.1] }\n"
		"  - { name: b, interface: eth0, router_id: 2, virtual_ips: [198.18.0.1] }\n",
		9, 61, "vrrp[1].virtual_ips[0]: 198.18.0.1/32 is also in vrrp[0]");
}

static void test_bad_interface_name(void **state)
{
	(void)state;
	expect_error(VRRP_HEAD
		"  - { name: v, interface: averyveryverylongname, router_id: 1, virtual_ips: [198.18.0.1] }\n",
		8, 27, "vrrp[0].interface: \"averyveryverylongname\" is not a valid interface name");
}

static void test_track_backend_missing(void **state)
{
	(void)state;
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track: { backends: [api, apiservers] }\n",
		12, 30, "vrrp[0].track.backends[1]: no backend named \"apiservers\"");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track:\n"
		"      backends:\n"
		"        - { name: nope, weight: -10 }\n",
		14, 19, "vrrp[0].track.backends[0].name: no backend named \"nope\"");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track: { backends: [api], strict: maybe }\n",
		12, 39, "vrrp[0].track.strict: expected true or false");
}

static void test_track_forms_errors(void **state)
{
	(void)state;
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track:\n"
		"      interfaces: [{ name: eth0, wait: 1 }]\n",
		13, 34, "unknown key \"wait\" in vrrp[0].track.interfaces[0]");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track:\n"
		"      interfaces: [{ name: eth0, weight: 300 }]\n",
		13, 42, "vrrp[0].track.interfaces[0].weight: 300 is out of range -254..254");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track:\n"
		"      interfaces: eth0\n",
		13, 19, "vrrp[0].track.interfaces: expected a list");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track:\n"
		"      scripts:\n"
		"        - { name: chk, interval: 2 }\n",
		14, 11, "vrrp[0].track.scripts[0]: missing required key \"command\"");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track:\n"
		"      scripts:\n"
		"        - { name: chk, interval: 2, command: /bin/true }\n",
		14, 34, "vrrp[0].track.scripts[0].interval: duration \"2\" has no unit");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track:\n"
		"      scripts:\n"
		"        - { command: /bin/true, rise: 0 }\n",
		14, 39, "vrrp[0].track.scripts[0].rise: 0 is out of range 1..1000");
}

static void test_more_global_errors(void **state)
{
	(void)state;
	expect_error("control: { socket: buoy.sock }\n" BASE_LISTENERS BASE_BACKENDS, 1, 20,
		     "control.socket: must be an absolute path");
	expect_error("workers: 0\n" BASE_LISTENERS BASE_BACKENDS, 1, 10, "workers: 0 is out of range 1..1024");
	expect_error("node: \"\"\n" BASE_LISTENERS BASE_BACKENDS, 1, 7, "node: must not be empty");
	expect_error("script_user: \"\"\n" BASE_LISTENERS BASE_BACKENDS, 1, 14,
		     "script_user: must not be empty");
	expect_error("shutdown_grace: 2d\n" BASE_LISTENERS BASE_BACKENDS, 1, 17, "invalid duration \"2d\"");
	struct config *c = expect_ok("metrics: { listen: \":9254\" }\nmax_conns: 0\n"
				     BASE_LISTENERS BASE_BACKENDS);
	assert_true(c->metrics_enabled);
	assert_string_equal(c->metrics_listen.text, "[::]:9254");
	config_free(c);
}

static void test_expect_status_too_many(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { expect_status: [200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210,\n"
		"                              211, 212, 213, 214, 215, 216] }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 30, "expect_status: at most 16 entries");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { expect_status: [] }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 30, "expect_status: must list at least one status");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { expect_status: [[200]] }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 31, "expect_status[0]: expected a status code or a range, got a list");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { expect_status: \"200-\" }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 30, "expected a status code or a range like \"200-399\", got \"200-\"");
	const char *bad[] = { "\"200- 300\"", "\" 200\"", "\"+200\"", "\"2000\"", "\"200-300-400\"",
			      "\"-200\"", "\"200--300\"", "2e2", NULL };
	for (size_t i = 0; bad[i]; i++) {
		char yaml[512];
		snprintf(yaml, sizeof(yaml), BASE_LISTENERS
			 "backends:\n"
			 "  - name: api\n"
			 "    health: { expect_status: %s }\n"
			 "    servers: [{ address: \"198.18.0.21:6443\" }]\n", bad[i]);
		expect_error(yaml, 5, 30, "expected a status code or a range");
	}
}

static void test_more_vrrp_errors(void **state)
{
	(void)state;
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    unicast_source: \"2001:db8::11\"\n",
		12, 21, "vrrp[0].unicast_source: IPv6 address for an IPv4 instance");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    unicast_source: 198.18.0.11\n"
		"    unicast_peers: [198.18.0.12, 198.18.0.11, 198.18.0.12, nope]\n",
		13, 34, "unicast_peers[1]: peer 198.18.0.11 is the unicast_source");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    unicast_source: 198.18.0.11\n"
		"    unicast_peers: [198.18.0.12, 198.18.0.11, 198.18.0.12, nope]\n",
		13, 47, "unicast_peers[2]: duplicate peer 198.18.0.12");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    unicast_source: 198.18.0.11\n"
		"    unicast_peers: [198.18.0.12, 198.18.0.11, 198.18.0.12, nope]\n",
		13, 60, "unicast_peers[3]: invalid address \"nope\"");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    label: eth0-very-long-label\n",
		12, 12, "vrrp[0].label: must be 1..15 characters");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    preempt: sometimes\n",
		12, 14, "vrrp[0].preempt: expected true or false");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    garp: { repeat: 101, interval: 0ms }\n",
		12, 21, "vrrp[0].garp.repeat: 101 is out of range 0..100");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    garp: { repeat: 101, interval: 0ms }\n",
		12, 36, "vrrp[0].garp.interval: 0ms is out of range 1ms..10s");
	expect_error(VRRP_HEAD
		"  - name: v\n"
		"    interface: eth0\n"
		"    router_id: 1\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track: { interfaces: [eth0, eth0] }\n",
		12, 33, "track.interfaces[1]: interface \"eth0\" is tracked twice");
	expect_error(VRRP_HEAD
		"  - { interface: eth0, router_id: 1, virtual_ips: [198.18.0.100/24] }\n",
		8, 5, "vrrp[0]: missing required key \"name\"");
	expect_error(VRRP_HEAD
		"  - { name: v, router_id: 1, virtual_ips: [198.18.0.100/24] }\n",
		8, 5, "vrrp[0]: missing required key \"interface\"");
	expect_error(VRRP_HEAD
		"  - { name: v, interface: eth0, router_id: 1 }\n",
		8, 5, "vrrp[0].virtual_ips: an instance needs at least one address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_key_top),
		cmocka_unit_test(test_listener_defer_accept_not_bool),
		cmocka_unit_test(test_listener_udp_keys),
		cmocka_unit_test(test_unknown_key_nested),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_wrong_shape),
		cmocka_unit_test(test_yaml_syntax_error),
		cmocka_unit_test(test_empty_document),
		cmocka_unit_test(test_duration_without_unit),
		cmocka_unit_test(test_bad_duration),
		cmocka_unit_test(test_wrong_type_integer),
		cmocka_unit_test(test_wrong_type_bool),
		cmocka_unit_test(test_weight_range),
		cmocka_unit_test(test_bad_enums),
		cmocka_unit_test(test_bad_server_address),
		cmocka_unit_test(test_bad_bind_and_metrics),
		cmocka_unit_test(test_duplicate_server_address),
		cmocka_unit_test(test_backend_without_servers),
		cmocka_unit_test(test_listener_missing_backend),
		cmocka_unit_test(test_duplicate_names),
		cmocka_unit_test(test_bad_name_characters),
		cmocka_unit_test(test_duplicate_bind),
		cmocka_unit_test(test_expect_status_out_of_range),
		cmocka_unit_test(test_health_ranges),
		cmocka_unit_test(test_router_id_and_priority_range),
		cmocka_unit_test(test_advert_interval_ranges),
		cmocka_unit_test(test_vrid_clash),
		cmocka_unit_test(test_mixed_families),
		cmocka_unit_test(test_auth_pass),
		cmocka_unit_test(test_bad_vips),
		cmocka_unit_test(test_bad_interface_name),
		cmocka_unit_test(test_track_backend_missing),
		cmocka_unit_test(test_track_forms_errors),
		cmocka_unit_test(test_more_global_errors),
		cmocka_unit_test(test_expect_status_too_many),
		cmocka_unit_test(test_more_vrrp_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
/* clang-format on */
