/* The sync: section (src/config/validate_sync.c): every default, every key set, the peers
 * derived from VRRP's unicast_peers, the key file read at load, and each mistake at its
 * line:col with the key path. Keys live in temp files (mode 0600) the tests write. */
#include <arpa/inet.h>
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

#include "config/config.h"
#include "config_test_util.h"

#define KEY32 "0123456789abcdef0123456789abcdef"

static char dir[] = "/tmp/buoy-test-sync-XXXXXX";
static char key_ok[128], key_crlf[128], key_short[128], key_15nl[128], key_long[128],
	key_missing[128], key_16[128];

static void write_key(char *path, size_t len, const char *name, const void *bytes, size_t n)
{
	snprintf(path, len, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static int setup(void **st)
{
	(void)st;
	if (!mkdtemp(dir))
		return -1;
	write_key(key_ok, sizeof(key_ok), "ok", KEY32 "\n", 33);
	write_key(key_crlf, sizeof(key_crlf), "crlf", KEY32 "\r\n", 34);
	write_key(key_short, sizeof(key_short), "short", "0123456789abcde", 15);
	write_key(key_15nl, sizeof(key_15nl), "15nl", "0123456789abcde\n", 16);
	static char big[5000];
	memset(big, 'k', sizeof(big));
	write_key(key_long, sizeof(key_long), "long", big, 4097);
	snprintf(key_missing, sizeof(key_missing), "%s/missing", dir);
	/* made with mkstemp, as a tool would: exactly 16 bytes, no newline (the shortest key) */
	snprintf(key_16, sizeof(key_16), "%s/key16-XXXXXX", dir);
	int fd = mkstemp(key_16);
	if (fd < 0)
		return -1;
	bool ok = write(fd, "0123456789abcdef", 16) == 16 && fchmod(fd, 0600) == 0;
	close(fd);
	return ok ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The YAML documents below keep one source line per YAML line. */
/* clang-format off */

/* node 1, listeners 2-3, backends 4-7, sync: line 8, key_file 9 (value at col 13), keys from 10 */
#define HEAD \
	"node: lb1\n" \
	BASE_LISTENERS \
	BASE_BACKENDS \
	"sync:\n" \
	"  key_file: %s\n"
#define PEER "  peers: [198.18.0.12]\n"

/* vrrp on lines 8-10 with unicast peers; sync: line 11, key_file 12, keys from 13 */
#define HEAD_VRRP \
	"node: lb1\n" \
	BASE_LISTENERS \
	BASE_BACKENDS \
	"vrrp:\n" \
	"  - { name: a, interface: eth0, router_id: 51, virtual_ips: [198.18.0.100/24], unicast_peers: [198.18.0.12, 198.18.0.13] }\n" \
	"  - { name: b, interface: eth0, router_id: 52, virtual_ips: [198.18.0.101/24], unicast_peers: [198.18.0.13, 198.18.0.14] }\n" \
	"sync:\n" \
	"  key_file: %s\n"
/* clang-format on */

static char doc[4096];

static const char *fmt(const char *f, const char *key)
{
	snprintf(doc, sizeof(doc), f, key);
	return doc;
}

static void test_defaults(void **st)
{
	(void)st;
	struct config *c = expect_ok(fmt(HEAD PEER, key_ok));
	const struct cfg_sync *s = c->sync;
	assert_non_null(s);
	assert_string_equal(s->key_file, key_ok);
	assert_int_equal(s->key_len, 32); /* the newline is not part of the key */
	assert_memory_equal(s->key, KEY32, 32);
	assert_int_equal(s->port, 9255);
	assert_int_equal(s->source.family, 0);
	assert_int_equal(s->n_peers, 1);
	assert_false(s->peers_from_vrrp);
	assert_int_equal(s->peers[0].family, AF_INET);
	assert_int_equal(ntohl(s->peers[0].v4.s_addr), 0xc612000c);
	assert_int_equal(s->interval_ms, 100);
	assert_int_equal(s->refresh_ms, 10000);
	assert_int_equal(s->max_entries, 100000);
	assert_int_equal(s->tickle_rate, 10000);
	assert_int_equal(s->peer_timeout_ms, 1000);
	/* the builder starts from the defaults code that builds one by hand gets */
	struct cfg_sync d;
	cfg_sync_defaults(&d);
	assert_int_equal(d.port, s->port);
	assert_int_equal(d.interval_ms, s->interval_ms);
	assert_int_equal(d.refresh_ms, s->refresh_ms);
	assert_int_equal(d.max_entries, s->max_entries);
	assert_int_equal(d.tickle_rate, s->tickle_rate);
	assert_null(d.key);
	assert_null(d.peers);
	config_free(c);
}

static void test_no_sync_section(void **st)
{
	(void)st;
	struct config *c = expect_ok(BASE_LISTENERS BASE_BACKENDS);
	assert_null(c->sync);
	config_free(c);
}

static void test_everything_set(void **st)
{
	(void)st;
	struct config *c = expect_ok(fmt(
		HEAD
		"  port: 19255\n"
		"  source: 198.18.0.11\n"
		"  peers: [198.18.0.12, 198.18.0.13]\n"
		"  interval: 50ms\n"
		"  refresh: 30s\n"
		"  max_entries: 5000\n"
		"  tickle_rate: 200\n",
		key_crlf));
	const struct cfg_sync *s = c->sync;
	assert_int_equal(s->key_len, 32); /* "\r\n" removed */
	assert_memory_equal(s->key, KEY32, 32);
	assert_int_equal(s->port, 19255);
	assert_int_equal(s->source.family, AF_INET);
	assert_int_equal(ntohl(s->source.v4.s_addr), 0xc612000b);
	assert_int_equal(s->n_peers, 2);
	assert_int_equal(ntohl(s->peers[1].v4.s_addr), 0xc612000d);
	assert_int_equal(s->interval_ms, 50);
	assert_int_equal(s->refresh_ms, 30000);
	assert_int_equal(s->max_entries, 5000);
	assert_int_equal(s->tickle_rate, 200);
	config_free(c);

	c = expect_ok(fmt(
		HEAD "  source: \"2001:db8::11\"\n  peers: [\"2001:db8::12\", \"[2001:db8::13]\"]\n",
		key_ok));
	assert_int_equal(c->sync->source.family, AF_INET6);
	assert_int_equal(c->sync->n_peers, 2);
	assert_int_equal(c->sync->peers[1].family, AF_INET6);
	config_free(c);
}

static void test_peers_from_vrrp(void **st)
{
	(void)st;
	struct config *c = expect_ok(fmt(HEAD_VRRP, key_ok));
	const struct cfg_sync *s = c->sync;
	assert_true(s->peers_from_vrrp);
	assert_int_equal(s->n_peers, 3); /* .12 .13 .14: .13 once, in config order */
	assert_int_equal(ntohl(s->peers[0].v4.s_addr), 0xc612000c);
	assert_int_equal(ntohl(s->peers[1].v4.s_addr), 0xc612000d);
	assert_int_equal(ntohl(s->peers[2].v4.s_addr), 0xc612000e);
	config_free(c);

	/* peers: given beside vrrp wins */
	c = expect_ok(fmt(HEAD_VRRP "  peers: [198.18.0.99]\n", key_ok));
	assert_false(c->sync->peers_from_vrrp);
	assert_int_equal(c->sync->n_peers, 1);
	assert_int_equal(ntohl(c->sync->peers[0].v4.s_addr), 0xc6120063);
	config_free(c);
}

static void test_key_errors(void **st)
{
	(void)st;
	/* missing key_file: at the sync: mapping */
	expect_error(BASE_LISTENERS BASE_BACKENDS "sync:\n  peers: [198.18.0.12]\n", 8, 3,
		     "sync: missing required key \"key_file\"");
	expect_error(fmt(HEAD PEER, key_missing), 9, 13, "sync.key_file: cannot read");
	expect_error(fmt(HEAD PEER, key_missing), 9, 13, "No such file");
	expect_error(fmt(HEAD PEER, dir), 9, 13, "not a regular file");
	expect_error(fmt(HEAD PEER, key_short), 9, 13, "too short");
	/* 15 bytes and a newline: the newline does not count */
	expect_error(fmt(HEAD PEER, key_15nl), 9, 13, "too short");
	expect_error(fmt(HEAD PEER, key_long), 9, 13, "too long");
	struct config *c = expect_ok(fmt(HEAD PEER, key_16));
	assert_int_equal(c->sync->key_len, 16);
	assert_memory_equal(c->sync->key, "0123456789abcdef", 16);
	config_free(c);
	expect_error(fmt(HEAD PEER, ""), 9, 12, "sync.key_file: must not be empty");
}

static void test_error_names_file_line_col(void **st)
{
	(void)st;
	struct config_errors e;
	struct config *c = load(fmt(HEAD PEER, key_short), &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	char buf[512];
	config_error_format(&e.v[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "buoy.yaml:9:13: sync.key_file: "));
	config_errors_free(&e);
}

static void test_value_errors(void **st)
{
	(void)st;
	expect_error(fmt(HEAD PEER "  port: 0\n", key_ok), 11, 9, "sync.port: 0 is out of range 1..65535");
	expect_error(fmt(HEAD PEER "  port: 65536\n", key_ok), 11, 9, "out of range");
	expect_error(fmt(HEAD PEER "  port: http\n", key_ok), 11, 9, "expected a whole number");
	expect_error(fmt(HEAD PEER "  source: lb2\n", key_ok), 11, 11, "sync.source: invalid IP address");
	expect_error(fmt(HEAD PEER "  source: 198.18.0.11:9255\n", key_ok), 11, 11, "invalid IP address");
	expect_error(fmt(HEAD PEER "  interval: 5ms\n", key_ok), 11, 13,
		     "sync.interval: 5ms is out of range 10ms..10s");
	expect_error(fmt(HEAD PEER "  interval: 11s\n", key_ok), 11, 13, "out of range 10ms..10s");
	expect_error(fmt(HEAD PEER "  interval: 100\n", key_ok), 11, 13, "has no unit");
	expect_error(fmt(HEAD PEER "  refresh: 999ms\n", key_ok), 11, 12,
		     "sync.refresh: 999ms is out of range 1s..1h");
	expect_error(fmt(HEAD PEER "  refresh: 2h\n", key_ok), 11, 12, "out of range 1s..1h");
	expect_error(fmt(HEAD PEER "  interval: 2s\n  refresh: 2s\n", key_ok), 12, 12,
		     "sync.refresh: refresh (2000ms) must be longer than interval (2000ms)");
	expect_error(fmt(HEAD PEER "  interval: 10s\n", key_ok), 11, 13,
		     "sync.interval: refresh (10000ms) must be longer than interval (10000ms)");
	expect_error(fmt(HEAD PEER "  max_entries: 0\n", key_ok), 11, 16,
		     "sync.max_entries: 0 is out of range 1..10000000");
	expect_error(fmt(HEAD PEER "  max_entries: 10000001\n", key_ok), 11, 16, "out of range");
	expect_error(fmt(HEAD PEER "  peer_timeout: 50ms\n", key_ok), 11, 17,
		     "sync.peer_timeout: 50ms is out of range 100ms..1m");
	expect_error(fmt(HEAD PEER "  interval: 200ms\n  peer_timeout: 500ms\n", key_ok), 12, 17,
		     "sync.peer_timeout: peer_timeout (500ms) must be at least 3 x interval (200ms)");
	expect_error(fmt(HEAD PEER "  tickle_rate: 0\n", key_ok), 11, 16,
		     "sync.tickle_rate: 0 is out of range 1..1000000");
	expect_error(fmt(HEAD PEER "  tickle_rate: 1000001\n", key_ok), 11, 16, "out of range");
	expect_error(fmt(HEAD PEER "  bogus: 1\n", key_ok), 11, 3, "unknown key \"bogus\"");
}

static void test_peer_errors(void **st)
{
	(void)st;
	/* no vrrp instance, no peers */
	expect_error(fmt(HEAD, key_ok), 9, 3,
		     "sync.peers: required when no vrrp instance has unicast_peers");
	/* vrrp without unicast_peers (multicast) is no source of peers either */
	expect_error(
		fmt("node: lb1\n" BASE_LISTENERS BASE_BACKENDS "vrrp:\n"
		    "  - { name: a, interface: eth0, router_id: 51, virtual_ips: [198.18.0.100/24] }\n"
		    "sync:\n  key_file: %s\n",
		    key_ok),
		11, 3, "sync.peers: required when no vrrp instance has unicast_peers");
	expect_error(fmt(HEAD "  peers: [198.18.0.12, 198.18.0.12]\n", key_ok), 10, 24,
		     "sync.peers[1]: duplicate peer 198.18.0.12");
	expect_error(fmt(HEAD "  peers: [lb2]\n", key_ok), 10, 11,
		     "sync.peers[0]: invalid IP address \"lb2\"");
	expect_error(fmt(HEAD "  peers: [0.0.0.0]\n", key_ok), 10, 11, "the unspecified address");
	expect_error(fmt(HEAD "  peers: [224.0.0.18]\n", key_ok), 10, 11, "multicast");
	expect_error(fmt(HEAD "  peers: [\"ff02::12\"]\n", key_ok), 10, 11, "multicast");
	expect_error(
		fmt(HEAD "  source: 198.18.0.11\n  peers: [198.18.0.12, \"2001:db8::12\"]\n", key_ok),
		11, 24, "sync.peers[1]: peer 2001:db8::12 is not of the family of source 198.18.0.11");
	/* derived peers of another family: reported at source */
	expect_error(fmt(HEAD_VRRP "  source: \"2001:db8::11\"\n", key_ok), 13, 11,
		     "sync.source: peer 198.18.0.12 is not of the family of source 2001:db8::11");
}

static void test_node_name(void **st)
{
	(void)st;
	/* a name the wire cannot carry */
	expect_error(fmt("node: \"lb 1\"\n" BASE_LISTENERS BASE_BACKENDS "sync:\n  key_file: %s\n" PEER,
			 key_ok),
		     1, 7, "node: node name \"lb 1\" cannot be sent to sync peers");
	expect_error(fmt("node: \"l\xc3\xa9\"\n" BASE_LISTENERS BASE_BACKENDS "sync:\n  key_file: %s\n" PEER,
			 key_ok),
		     1, 7, "cannot be sent to sync peers");
	expect_error(fmt("node: "
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			 "\n" BASE_LISTENERS BASE_BACKENDS "sync:\n  key_file: %s\n" PEER,
			 key_ok),
		     1, 7, "cannot be sent to sync peers");
	/* the same name is fine without sync */
	struct config *c = expect_ok("node: \"lb 1\"\n" BASE_LISTENERS BASE_BACKENDS);
	config_free(c);
	/* 63 printable bytes are fine */
	c = expect_ok(fmt(
		"node: "
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"
		"\n" BASE_LISTENERS BASE_BACKENDS "sync:\n  key_file: %s\n" PEER,
		key_ok));
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_no_sync_section),
		cmocka_unit_test(test_everything_set),
		cmocka_unit_test(test_peers_from_vrrp),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_error_names_file_line_col),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_peer_errors),
		cmocka_unit_test(test_node_name),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
