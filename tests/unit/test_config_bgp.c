/* The bgp: section (src/config/validate_bgp.c): every default, every key set, the gate derived
 * from the listeners, and each mistake at its line:col with the key path. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "config_test_util.h"

/* The YAML documents below keep one source line per YAML line. */
/* clang-format off */

/* node line 1, listeners 2-4, backends 5-9, bgp: line 10; HEAD adds asn (11), keys follow on 12 */
#define HEAD0 \
	"node: lb1\n" \
	"listeners:\n" \
	"  - { name: api, bind: \"198.18.200.1:6443\", backend: api }\n" \
	"  - { name: etcd6, bind: \"[2001:db8:200::1]:2379\", backend: etcd }\n" \
	"backends:\n" \
	"  - name: api\n" \
	"    servers: [ { address: \"198.18.0.21:6443\" } ]\n" \
	"  - name: etcd\n" \
	"    servers: [ { address: \"198.18.0.21:2379\" } ]\n" \
	"bgp:\n"
#define HEAD HEAD0 "  asn: 65001\n"
#define PEER "  peers: [ { address: 198.18.1.0, asn: 65000 } ]\n"
#define ANN "  announce: [ { prefix: 198.18.200.1/32 } ]\n"
#define PEERS "  peers:\n"        /* then one peer per line */
#define ANNS "  announce:\n"

/* A UDP listener on the anycast VIP gates its announcement like a TCP one (DNS beside the
 * apiservers: both backends count). */
static void test_udp_listener_gates(void **st)
{
	(void)st;
	struct config *c = expect_ok(
		"node: lb1\n"
		"listeners:\n"
		"  - { name: api, bind: \"198.18.200.1:6443\", backend: api }\n"
		"  - { name: dns, protocol: udp, bind: \"198.18.200.1:53\", backend: dns }\n"
		"backends:\n"
		"  - name: api\n"
		"    servers: [ { address: \"198.18.0.21:6443\" } ]\n"
		"  - name: dns\n"
		"    servers: [ { address: \"198.18.0.21:53\" } ]\n"
		"bgp:\n"
		"  asn: 65001\n" PEER ANN);
	const struct cfg_bgp_announce *a = &c->bgp->announce[0];
	assert_true(a->track_from_listeners);
	assert_int_equal(a->n_track_backends, 2);
	assert_string_equal(a->track_backends[0].name, "api");
	assert_string_equal(a->track_backends[1].name, "dns");
	assert_int_equal(a->track_backends[1].backend_idx, 1);
	config_free(c);
}

static void test_defaults(void **st)
{
	(void)st;
	struct config *c = expect_ok(HEAD PEER ANN);
	const struct cfg_bgp *b = c->bgp;
	assert_non_null(b);
	assert_int_equal(b->asn, 65001);
	assert_int_equal(b->router_id.s_addr, 0);
	assert_int_equal(b->listen_port, 179);
	assert_int_equal(b->hold_time_ms, 0);
	assert_int_equal(b->keepalive_ms, 0);
	assert_int_equal(b->connect_retry_ms, 5000);
	assert_int_equal(b->error_wait_min_ms, 1000);
	assert_int_equal(b->error_wait_max_ms, 10000);
	assert_int_equal(b->bfd_interval_ms, 100);
	assert_int_equal(b->bfd_multiplier, 3);
	assert_int_equal(b->hold_down_ms, 2000);
	assert_int_equal(b->shutdown_delay_ms, 2000);
	assert_string_equal(b->bird, "bird");
	assert_string_equal(b->run_dir, "/run/buoy/bird-lb1");
	assert_int_equal(b->n_peers, 1);
	const struct cfg_bgp_peer *p = &b->peers[0];
	assert_string_equal(p->name, "peer1");
	assert_int_equal(p->addr.family, AF_INET);
	assert_int_equal(((const struct sockaddr_in *)&p->addr)->sin_port, 0);
	assert_string_equal(p->text, "198.18.1.0");
	assert_int_equal(p->asn, 65000);
	assert_int_equal(p->port, 179);
	assert_null(p->password);
	assert_true(p->bfd);
	assert_int_equal(p->multihop, 0);
	assert_false(p->passive);
	assert_int_equal(p->source.family, 0);
	assert_int_equal(b->n_announce, 1);
	const struct cfg_bgp_announce *a = &b->announce[0];
	assert_string_equal(a->prefix.text, "198.18.200.1/32");
	assert_int_equal(a->prefix.addr.prefix, 32);
	assert_true(a->track_from_listeners);
	assert_int_equal(a->n_track_backends, 1);
	assert_string_equal(a->track_backends[0].name, "api");
	assert_int_equal(a->track_backends[0].backend_idx, 0);
	assert_int_equal(a->track_backends[0].weight, 0);
	assert_false(a->has_med);
	assert_int_equal(a->n_communities, 0);
	config_free(c);
}

static void test_no_bgp_section(void **st)
{
	(void)st;
	struct config *c = expect_ok(BASE_LISTENERS BASE_BACKENDS);
	assert_null(c->bgp);
	config_free(c);
}

static void test_everything_set(void **st)
{
	(void)st;
	struct config *c = expect_ok(HEAD
		"  router_id: 198.18.1.1\n"
		"  listen_port: 1179\n"
		"  hold_time: 9s\n"
		"  keepalive: 3s\n"
		"  connect_retry: 2s\n"
		"  error_wait: { min: 2s, max: 20s }\n"
		"  bfd: { interval: 50ms, multiplier: 5 }\n"
		"  hold_down: 0s\n"
		"  shutdown_delay: 1m\n"
		"  bird: /usr/sbin/bird\n"
		"  run_dir: /run/buoy/b\n"
		PEERS
		"    - { name: tor-1.a, address: \"2001:db8:1::1\", asn: 4294967295, port: 1179,\n"
		"        password: pw, bfd: false, multihop: 255, passive: true, source: \"2001:db8:1::2\" }\n"
		"    - { address: 198.18.1.0, asn: 1, multihop: 2, source: 198.18.9.1 }\n"
		ANNS
		"    - { prefix: \"2001:db8:200::1\", med: 4294967295, communities: [\"65000:1\", \"0:65535\"] }\n"
		"    - { prefix: 198.18.200.9, track: { backends: [api, { name: etcd, weight: 0 }], strict: true } }\n"
		"    - { prefix: 198.18.200.8, med: 0, track: { backends: [] } }\n");
	const struct cfg_bgp *b = c->bgp;
	char rid[16];
	inet_ntop(AF_INET, &b->router_id, rid, sizeof(rid));
	assert_string_equal(rid, "198.18.1.1");
	assert_int_equal(b->listen_port, 1179);
	assert_int_equal(b->hold_time_ms, 9000);
	assert_int_equal(b->keepalive_ms, 3000);
	assert_int_equal(b->connect_retry_ms, 2000);
	assert_int_equal(b->error_wait_min_ms, 2000);
	assert_int_equal(b->error_wait_max_ms, 20000);
	assert_int_equal(b->bfd_interval_ms, 50);
	assert_int_equal(b->bfd_multiplier, 5);
	assert_int_equal(b->hold_down_ms, 0);
	assert_int_equal(b->shutdown_delay_ms, 60000);
	assert_string_equal(b->bird, "/usr/sbin/bird");
	assert_string_equal(b->run_dir, "/run/buoy/b");
	assert_int_equal(b->n_peers, 2);
	const struct cfg_bgp_peer *p = &b->peers[0];
	assert_string_equal(p->name, "tor-1.a");
	assert_int_equal(p->addr.family, AF_INET6);
	assert_string_equal(p->text, "2001:db8:1::1");
	assert_int_equal(p->asn, 4294967295u);
	assert_int_equal(p->port, 1179);
	assert_string_equal(p->password, "pw");
	assert_false(p->bfd);
	assert_int_equal(p->multihop, 255);
	assert_true(p->passive);
	assert_int_equal(p->source.family, AF_INET6);
	assert_string_equal(b->peers[1].name, "peer2");   /* default names count from 1 */
	assert_int_equal(b->peers[1].multihop, 2);
	const struct cfg_bgp_announce *a = b->announce;
	assert_int_equal(b->n_announce, 3);
	assert_string_equal(a[0].prefix.text, "2001:db8:200::1/128");
	assert_true(a[0].track_from_listeners);
	assert_false(a[0].track_strict);  /* default: degraded, not withdrawn */
	assert_true(a[1].track_strict);
	assert_int_equal(a[0].n_track_backends, 1);
	assert_string_equal(a[0].track_backends[0].name, "etcd");
	assert_int_equal(a[0].track_backends[0].backend_idx, 1);
	assert_true(a[0].has_med);
	assert_int_equal(a[0].med, 4294967295u);
	assert_int_equal(a[0].n_communities, 2);
	assert_int_equal(a[0].communities[0].asn, 65000);
	assert_int_equal(a[0].communities[0].value, 1);
	assert_int_equal(a[0].communities[1].asn, 0);
	assert_int_equal(a[0].communities[1].value, 65535);
	assert_false(a[1].track_from_listeners);
	assert_int_equal(a[1].n_track_backends, 2);
	assert_string_equal(a[1].track_backends[0].name, "api");
	assert_int_equal(a[1].track_backends[1].backend_idx, 1);
	assert_true(a[2].has_med);
	assert_int_equal(a[2].med, 0);
	assert_false(a[2].track_from_listeners);     /* `backends: []`: explicitly ungated */
	assert_int_equal(a[2].n_track_backends, 0);
	config_free(c);
}

/* 0.0.0.0 serves IPv4 VIPs only; [::] (and ":port") is bound dual-stack and serves both. */
static void test_gate_from_wildcard_listeners(void **st)
{
	(void)st;
	struct config *c = expect_ok(
		"listeners:\n"
		"  - { name: a, bind: \"0.0.0.0:6443\", backend: api }\n"
		"  - { name: b, bind: \"198.18.200.1:443\", backend: api }\n"
		"  - { name: c, bind: \"198.18.200.1:2379\", backend: etcd }\n"
		"  - { name: d, bind: \"198.18.200.2:80\", backend: web }\n"
		"  - { name: e, bind: \"[2001:db8:200::9]:80\", backend: web }\n"
		"backends:\n"
		"  - { name: api, servers: [ { address: \"198.18.0.21:6443\" } ] }\n"
		"  - { name: etcd, servers: [ { address: \"198.18.0.21:2379\" } ] }\n"
		"  - { name: web, servers: [ { address: \"198.18.0.21:80\" } ] }\n"
		"bgp:\n"
		"  asn: 65001\n"
		PEER
		ANNS
		"    - { prefix: 198.18.200.1 }\n"
		"    - { prefix: 198.18.200.3, track: {} }\n"
		"    - { prefix: \"2001:db8:200::9\" }\n");
	const struct cfg_bgp_announce *a = c->bgp->announce;
	assert_int_equal(a[0].n_track_backends, 2);   /* api once (0.0.0.0 and :443), etcd */
	assert_string_equal(a[0].track_backends[0].name, "api");
	assert_string_equal(a[0].track_backends[1].name, "etcd");
	assert_true(a[1].track_from_listeners);       /* `track: {}` names no backends */
	assert_int_equal(a[1].n_track_backends, 1);
	assert_string_equal(a[1].track_backends[0].name, "api");
	assert_int_equal(a[2].n_track_backends, 1);   /* 0.0.0.0 does not serve IPv6 */
	assert_string_equal(a[2].track_backends[0].name, "web");
	config_free(c);

	c = expect_ok("listeners: [ { name: a, bind: \":6443\", backend: api } ]\n"
		      "backends: [ { name: api, servers: [ { address: \"198.18.0.21:6443\" } ] } ]\n"
		      "bgp:\n  asn: 65001\n" PEER
		      "  announce: [ { prefix: 198.18.200.1 }, { prefix: \"2001:db8::1\" } ]\n");
	assert_string_equal(c->bgp->announce[0].track_backends[0].name, "api");
	assert_string_equal(c->bgp->announce[1].track_backends[0].name, "api");
	config_free(c);
}

/* An announcer without listeners (the VIP is served by something else) is something to do. */
static void test_bgp_without_listeners(void **st)
{
	(void)st;
	struct config *c = expect_ok(
		"backends: [ { name: api, servers: [ { address: \"198.18.0.21:6443\" } ] } ]\n"
		"bgp:\n  asn: 65001\n" PEER
		"  announce: [ { prefix: 198.18.200.1, track: { backends: [api] } } ]\n");
	assert_int_equal(c->n_listeners, 0);
	assert_int_equal(c->bgp->announce[0].n_track_backends, 1);
	config_free(c);
}

static void test_required_keys(void **st)
{
	(void)st;
	expect_error(HEAD PEER, 11, 3, "bgp.announce: at least one prefix is required");
	expect_error(HEAD ANN, 11, 3, "bgp.peers: at least one peer is required");
	expect_error(HEAD "  peers: []\n" ANN, 12, 10, "bgp.peers: at least one peer is required");
	expect_error(HEAD PEER "  announce: []\n", 13, 13, "bgp.announce: at least one prefix");
	expect_error(HEAD0 PEER ANN, 11, 3, "bgp: missing required key \"asn\"");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0 }\n" ANN, 13, 7,
		     "bgp.peers[0]: missing required key \"asn\"");
	expect_error(HEAD PEERS "    - { asn: 1 }\n" ANN, 13, 7,
		     "bgp.peers[0]: missing required key \"address\"");
	expect_error(HEAD PEER ANNS "    - { med: 1 }\n", 14, 7,
		     "bgp.announce[0]: missing required key \"prefix\"");
}

static void test_global_errors(void **st)
{
	(void)st;
	expect_error(HEAD "  asn: 0\n" PEER ANN, 12, 3, "duplicate key \"asn\" in bgp");
	expect_error(HEAD0 "  asn: 0\n" PEER ANN, 11, 8, "bgp.asn: 0 is out of range 1..4294967295");
	expect_error(HEAD0 "  asn: 4294967296\n" PEER ANN, 11, 8, "bgp.asn: 4294967296 is out of range");
	expect_error(HEAD0 "  asn: AS65001\n" PEER ANN, 11, 8, "bgp.asn: expected a whole number");
	expect_error(HEAD "  router_id: 2001:db8::1\n" PEER ANN, 12, 14,
		     "bgp.router_id: expected a non-zero IPv4 address, got \"2001:db8::1\"");
	expect_error(HEAD "  router_id: 0.0.0.0\n" PEER ANN, 12, 14, "bgp.router_id: expected a non-zero");
	expect_error(HEAD "  listen_port: 0\n" PEER ANN, 12, 16,
		     "bgp.listen_port: BIRD 2 needs a listening port");
	expect_error(HEAD "  listen_port: 65536\n" PEER ANN, 12, 16, "out of range 1..65535");
	expect_error(HEAD "  bird: \"\"\n" PEER ANN, 12, 9, "bgp.bird: must not be empty");
	expect_error(HEAD "  run_dir: relative\n" PEER ANN, 12, 12, "bgp.run_dir: must be an absolute");
	expect_error(HEAD "  run_dir: /run/buoy/a-directory-name-far-far-longer-than-what-fits-in-a-unix-socket-path-with-bird.ctl\n"
		     PEER ANN, 12, 12, "at most 90 characters");
	expect_error("node: a/b\n" BASE_LISTENERS BASE_BACKENDS "bgp:\n  asn: 1\n" PEER ANN, 9, 3,
		     "bgp: the default run_dir /run/buoy/bird-a/b is no directory name");
	expect_error(HEAD "  colour: red\n" PEER ANN, 12, 3, "unknown key \"colour\" in bgp");
	expect_error(HEAD "  holdtime: 9s\n" PEER ANN, 12, 3, "did you mean \"hold_time\"?");
	expect_error(HEAD "  peers: { address: 198.18.1.0 }\n" ANN, 12, 10, "bgp.peers");
}

static void test_timer_errors(void **st)
{
	(void)st;
	expect_error(HEAD "  hold_time: 1500ms\n" PEER ANN, 12, 14,
		     "bgp.hold_time: 1500ms is out of range 3s..65535s");
	expect_error(HEAD "  hold_time: 3500ms\n" PEER ANN, 12, 14,
		     "bgp.hold_time: BIRD takes whole seconds, got 3500ms");
	expect_error(HEAD "  hold_time: 9\n" PEER ANN, 12, 14, "has no unit");
	expect_error(HEAD "  hold_time: 9s\n  keepalive: 9s\n" PEER ANN, 13, 14,
		     "bgp.keepalive: must be shorter than hold_time (9s)");
	expect_error(HEAD "  keepalive: 4m\n" PEER ANN, 12, 14,
		     "must be shorter than hold_time (240s, BIRD's default)");
	expect_error(HEAD "  keepalive: 0s\n" PEER ANN, 12, 14, "out of range 1s..");
	expect_error(HEAD "  connect_retry: 0s\n" PEER ANN, 12, 18, "bgp.connect_retry: 0s is out of range 1s..1h");
	expect_error(HEAD "  connect_retry: 2h\n" PEER ANN, 12, 18, "out of range 1s..1h");
	expect_error(HEAD "  error_wait: { min: 20s, max: 10s }\n" PEER ANN, 12, 22,
		     "bgp.error_wait.min: min (20s) must not exceed max (10s)");
	expect_error(HEAD "  error_wait: { max: 500ms }\n" PEER ANN, 12, 22,
		     "bgp.error_wait.max: 500ms is out of range 1s..1h");
	expect_error(HEAD "  error_wait: { min: 11s }\n" PEER ANN, 12, 22, "must not exceed max (10s)");
	expect_error(HEAD "  error_wait: { mni: 1s }\n" PEER ANN, 12, 17,
		     "unknown key \"mni\" in bgp.error_wait (did you mean \"min\"?)");
	expect_error(HEAD "  bfd: { interval: 5ms }\n" PEER ANN, 12, 20,
		     "bgp.bfd.interval: 5ms is out of range 10ms..10s");
	expect_error(HEAD "  bfd: { multiplier: 0 }\n" PEER ANN, 12, 22,
		     "bgp.bfd.multiplier: 0 is out of range 1..255");
	expect_error(HEAD "  bfd: { multiplier: 256 }\n" PEER ANN, 12, 22, "out of range 1..255");
	expect_error(HEAD "  bfd: true\n" PEER ANN, 12, 8, "bgp.bfd");
	expect_error(HEAD "  hold_down: 2h\n" PEER ANN, 12, 14, "bgp.hold_down: 2h is out of range 0ms..1h");
	expect_error(HEAD "  shutdown_delay: 2m\n" PEER ANN, 12, 19,
		     "bgp.shutdown_delay: 2m is out of range 0ms..1m");
}

static void test_peer_errors(void **st)
{
	(void)st;
	expect_error(HEAD PEERS "    - { address: 198.18.1, asn: 1 }\n" ANN, 13, 18,
		     "bgp.peers[0].address: invalid IP address \"198.18.1\"");
	expect_error(HEAD PEERS "    - { address: \"198.18.1.0:179\", asn: 1 }\n" ANN, 13, 18,
		     "invalid IP address");
	expect_error(HEAD PEERS "    - { address: 0.0.0.0, asn: 1 }\n" ANN, 13, 18,
		     "bgp.peers[0].address: 0.0.0.0 is the unspecified address");
	expect_error(HEAD PEERS "    - { address: 224.0.0.5, asn: 1 }\n" ANN, 13, 18, "multicast");
	expect_error(HEAD PEERS "    - { address: \"fe80::1\", asn: 1 }\n" ANN, 13, 18,
		     "fe80::1 is link-local (BIRD needs an interface");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 0 }\n" ANN, 13, 35,
		     "bgp.peers[0].asn: 0 is out of range 1..4294967295");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 70000000000 }\n" ANN, 13, 35,
		     "out of range");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, port: 0 }\n" ANN, 13, 44,
		     "bgp.peers[0].port: 0 is out of range 1..65535");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, password: 'a\"b' }\n" ANN, 13, 48,
		     "bgp.peers[0].password: must be 1..80 characters without quotes");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, password: \"\" }\n" ANN, 13, 48,
		     "must be 1..80");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, password: "
		     "\"123456789012345678901234567890123456789012345678901234567890123456789012345678901\" }\n"
		     ANN, 13, 48, "must be 1..80");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, multihop: 1 }\n" ANN, 13, 48,
		     "bgp.peers[0].multihop: 1 is out of range 2..255");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, multihop: 2 }\n" ANN, 13, 48,
		     "bgp.peers[0].multihop: a multihop peer with BFD needs \"source\"");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, bfd: maybe }\n" ANN, 13, 43,
		     "bgp.peers[0].bfd: expected true or false");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, passive: 1 }\n" ANN, 13, 47,
		     "bgp.peers[0].passive: expected true or false");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, source: \"2001:db8::1\" }\n" ANN,
		     13, 46, "bgp.peers[0].source: 2001:db8::1 is not of the family of the peer's "
		     "address 198.18.1.0");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, source: 198.18.1.0 }\n" ANN,
		     13, 46, "source: 198.18.1.0 is the peer's own address");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, source: x }\n" ANN,
		     13, 46, "bgp.peers[0].source: invalid IP address \"x\"");
	expect_error(HEAD PEERS "    - { address: 198.18.1.0, asn: 1, ttl: 2 }\n" ANN, 13, 38,
		     "unknown key \"ttl\" in bgp.peers[0]");
}

static void test_peer_names(void **st)
{
	(void)st;
	expect_error(HEAD PEERS "    - { name: \"tor 1\", address: 198.18.1.0, asn: 1 }\n" ANN, 13, 15,
		     "bgp.peers[0].name: name \"tor 1\" must be");
	expect_error(HEAD PEERS "    - { name: abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij,"
		     " address: 198.18.1.0, asn: 1 }\n" ANN, 13, 15,
		     "bgp.peers[0].name: at most 59 characters");
	expect_error(HEAD PEERS
		     "    - { name: a, address: 198.18.1.0, asn: 1 }\n"
		     "    - { name: a, address: 198.18.1.2, asn: 2 }\n" ANN, 14, 15,
		     "bgp.peers[1].name: duplicate peer name \"a\" (also bgp.peers[0])");
	expect_error(HEAD PEERS
		     "    - { name: tor-1, address: 198.18.1.0, asn: 1 }\n"
		     "    - { name: tor.1, address: 198.18.1.2, asn: 2 }\n" ANN, 14, 15,
		     "\"tor.1\" and bgp.peers[0]'s \"tor-1\" are one name to BIRD");
	expect_error(HEAD PEERS
		     "    - { name: peer2, address: 198.18.1.0, asn: 1 }\n"
		     "    - { address: 198.18.1.2, asn: 2 }\n" ANN, 14, 7,
		     "duplicate peer name \"peer2\" (also bgp.peers[0]; unnamed peers are peer<N>)");
	expect_error(HEAD PEERS
		     "    - { address: 198.18.1.0, asn: 1 }\n"
		     "    - { address: \"198.18.1.0\", asn: 2 }\n" ANN, 14, 18,
		     "bgp.peers[1].address: 198.18.1.0 is also bgp.peers[0]");
	expect_error(HEAD PEERS
		     "    - { address: \"2001:db8::1\", asn: 1 }\n"
		     "    - { address: \"2001:DB8:0::1\", asn: 1 }\n" ANN, 14, 18,
		     "2001:db8::1 is also bgp.peers[0]");
}

static void test_announce_errors(void **st)
{
	(void)st;
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.0/24 }\n", 14, 17,
		     "bgp.announce[0].prefix: an anycast VIP is one address: /32, got 198.18.200.0/24");
	expect_error(HEAD PEER ANNS "    - { prefix: \"2001:db8:200::/64\" }\n", 14, 17,
		     "one address: /128");
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.1/33 }\n", 14, 17,
		     "bgp.announce[0].prefix: invalid address \"198.18.200.1/33\"");
	expect_error(HEAD PEER ANNS "    - { prefix: 127.0.0.1, track: { backends: [] } }\n", 14, 17,
		     "127.0.0.1 is a loopback address");
	expect_error(HEAD PEER ANNS "    - { prefix: \"::\", track: { backends: [] } }\n", 14, 17,
		     ":: is the unspecified address");
	expect_error(HEAD PEER ANNS
		     "    - { prefix: 198.18.200.1 }\n"
		     "    - { prefix: 198.18.200.1/32 }\n", 15, 17,
		     "bgp.announce[1].prefix: 198.18.200.1 is also bgp.announce[0]");
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.1, med: -1 }\n", 14, 36,
		     "bgp.announce[0].med: expected a whole number 0..4294967295");
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.1, med: 4294967296 }\n", 14, 36,
		     "out of range");
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.1, communities: [\"1:70000\"] }\n",
		     14, 45, "bgp.announce[0].communities[0]: expected \"ASN:VALUE\" with both "
		     "0..65535, got \"1:70000\"");
	const char *bad[] = { "65000", "65000:", ":1", "a:1", "1:+2", "-1:2", " 1:2", "1:2:3",
			      "065000:1x", "123456:1", NULL };
	for (size_t i = 0; bad[i]; i++) {
		char yaml[512];
		snprintf(yaml, sizeof(yaml), HEAD PEER ANNS
			 "    - { prefix: 198.18.200.1, communities: [\"1:2\", \"%s\"] }\n", bad[i]);
		expect_error(yaml, 14, 52, "communities[1]: expected \"ASN:VALUE\"");
	}
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.1, communities: \"1:2\" }\n", 14, 44,
		     "bgp.announce[0].communities: expected a list");
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.1, gate: [api] }\n", 14, 31,
		     "unknown key \"gate\" in bgp.announce[0]");
}

static void test_track_errors(void **st)
{
	(void)st;
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.7 }\n", 14, 17,
		     "bgp.announce[0].prefix: no listener binds 198.18.200.7 and no track.backends "
		     "given: nothing would gate the announcement");
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.7, track: {} }\n", 14, 17,
		     "no listener binds 198.18.200.7");
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.1, track: { backends: [apx] } }\n",
		     14, 51, "bgp.announce[0].track.backends[0]: no backend named \"apx\" (did you "
		     "mean \"api\"?)");
	expect_error(HEAD PEER ANNS
		     "    - { prefix: 198.18.200.1, track: { backends: [api, { name: kube } ] } }\n",
		     14, 64, "bgp.announce[0].track.backends[1].name: no backend named \"kube\" "
		     "(defined: api, etcd)");
	expect_error(HEAD PEER ANNS
		     "    - { prefix: 198.18.200.1, track: { backends: [{ name: api, weight: -5 }] } }\n",
		     14, 72, "bgp.announce[0].track.backends[0].weight: bgp announcements have no "
		     "priority: weight must be absent or 0");
	expect_error(HEAD PEER ANNS
		     "    - { prefix: 198.18.200.1, track: { backends: [{ name: api, weight: 1000 }] } }\n",
		     14, 72, "weight must be absent or 0");
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.1, track: { backends: api } }\n",
		     14, 50, "bgp.announce[0].track.backends: expected a list");
	expect_error(HEAD PEER ANNS "    - { prefix: 198.18.200.1, track: { scripts: [] } }\n",
		     14, 40, "unknown key \"scripts\" in bgp.announce[0].track");
	expect_error(HEAD PEER ANNS
		     "    - { prefix: 198.18.200.1, track: { backends: [{ name: api, wait: 1 }] } }\n",
		     14, 64, "unknown key \"wait\" in bgp.announce[0].track.backends[0]");
}

/* One address cannot float by VRRP and be anycast by BGP. */
static void test_vip_is_vrrp_or_bgp(void **st)
{
	(void)st;
	expect_error(HEAD PEER ANN
		     "vrrp:\n"
		     "  - { name: v, interface: eth0, router_id: 5, virtual_ips: [198.18.200.1/24] }\n",
		     13, 25, "bgp.announce[0].prefix: 198.18.200.1 is also a virtual_ip of vrrp[0]: "
		     "one address cannot float by VRRP and be anycast by BGP");
	struct config *c = expect_ok(HEAD PEER ANN
		"vrrp:\n"
		"  - { name: v, interface: eth0, router_id: 5, virtual_ips: [198.18.200.2/24] }\n");
	assert_int_equal(c->n_vrrp, 1);
	assert_int_equal(c->bgp->n_announce, 1);
	config_free(c);
}

/* The backend-name lookup is shared: listeners and VRRP trackers get the same hints. */
static void test_backend_hints_shared(void **st)
{
	(void)st;
	expect_error(BASE_BACKENDS "listeners:\n  - { name: a, bind: \":1\", backend: apj }\n", 6, 37,
		     "listeners[0].backend: no backend named \"apj\" (did you mean \"api\"?)");
	expect_error(VRRP_HEAD "  - { name: v, interface: eth0, router_id: 5, virtual_ips: [198.18.0.1],"
		     " track: { backends: [ap] } }\n", 8, 94,
		     "vrrp[0].track.backends[0]: no backend named \"ap\" (did you mean \"api\"?)");
	expect_error(VRRP_HEAD "  - { name: v, interface: eth0, router_id: 5, virtual_ips: [198.18.0.1],"
		     " track: { backends: [x] } }\n", 8, 94, "no backend named \"x\" (defined: api)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_udp_listener_gates),
		cmocka_unit_test(test_no_bgp_section),
		cmocka_unit_test(test_everything_set),
		cmocka_unit_test(test_gate_from_wildcard_listeners),
		cmocka_unit_test(test_bgp_without_listeners),
		cmocka_unit_test(test_required_keys),
		cmocka_unit_test(test_global_errors),
		cmocka_unit_test(test_timer_errors),
		cmocka_unit_test(test_peer_errors),
		cmocka_unit_test(test_peer_names),
		cmocka_unit_test(test_announce_errors),
		cmocka_unit_test(test_track_errors),
		cmocka_unit_test(test_vip_is_vrrp_or_bgp),
		cmocka_unit_test(test_backend_hints_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
/* clang-format on */
