/* bird.conf from config (src/bgp/birdconf.c): key lines of IPv4-only, IPv6-only and mixed
 * configs, BFD single-hop and multihop and none, passwords, MED and communities, nothing and
 * some announced, refused inputs; and every scenario's file parsed by the real BIRD
 * (`bird -p`; bird2 comes with scripts/deps test). Configs are filled in directly, not from YAML. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bgp/birdconf.h"

#define BIRD "/usr/sbin/bird"

static struct cfg_bgp_peer peers[6];
static struct cfg_bgp_community comms[2] = { { 65000, 100 }, { 65000, 200 } };
static struct cfg_track_backend tb = { .name = "apiservers" };
static struct cfg_bgp_announce ann[3];
static struct cfg_bgp cfg;
static bool announced[3];
static bool degraded[3];

static void set_ip(struct ip_addr *a, const char *s) { assert_int_equal(parse_ip_addr(s, a), 0); }

static void peer(size_t i, const char *name, const char *addr, uint32_t asn)
{
	peers[i] = (struct cfg_bgp_peer){ .name = (char *)name, .asn = asn, .port = 179, .bfd = true };
	set_ip(&peers[i].addr, addr);
	snprintf(peers[i].text, sizeof(peers[i].text), "%s", addr);
	cfg.n_peers = i + 1;
}

/* Three prefixes (v4 with MED and communities, v6, v4 plain) and buoy's defaults; no peers. */
static void base(void)
{
	memset(peers, 0, sizeof(peers));
	memset(ann, 0, sizeof(ann));
	memset(degraded, 0, sizeof(degraded));
	assert_int_equal(parse_cidr("198.18.200.1/32", &ann[0].prefix), 0);
	ann[0].track_backends = &tb;
	ann[0].n_track_backends = 1;
	ann[0].has_med = true;
	ann[0].med = 50;
	ann[0].communities = comms;
	ann[0].n_communities = 2;
	assert_int_equal(parse_cidr("2001:db8:200::1/128", &ann[1].prefix), 0);
	assert_int_equal(parse_cidr("198.18.200.2/32", &ann[2].prefix), 0);
	cfg = (struct cfg_bgp){
		.asn = 65001,
		.listen_port = 179,
		.connect_retry_ms = 5000,
		.error_wait_min_ms = 1000,
		.error_wait_max_ms = 10000,
		.bfd_interval_ms = 100,
		.bfd_multiplier = 3,
		.peers = peers,
		.announce = ann,
		.n_announce = 3,
	};
	announced[0] = announced[1] = announced[2] = true;
}

/* ---- scenarios: each leaves cfg and announced ready to render ---- */

static void sc_mixed(void)
{
	base();
	cfg.hold_time_ms = 9000;
	cfg.keepalive_ms = 3000;
	peer(0, "tor-1.a", "198.18.1.0", 65000);
	peer(1, "tor6", "2001:db8:1::1", 65000);
	peers[1].password = "s3cret";
	peer(2, "rr", "198.18.9.9", 65001);
	peers[2].port = 1179;
	peers[2].bfd = false;
	peers[2].multihop = 4;
	peers[2].passive = true;
	set_ip(&peers[2].source, "198.18.1.1");
	announced[2] = false;
}

static void sc_ipv4_only(void)
{
	base();
	peer(0, "rt", "198.18.1.2", 65000);
	announced[1] = false; /* an IPv4-only node has no IPv6 VIP to announce */
}

static void sc_ipv6_only(void)
{
	base();
	peer(0, "rt6", "2001:db8:1::2", 65001); /* iBGP */
	peers[0].password = "pa ss#word;{}";    /* all quotable */
	set_ip(&peers[0].source, "2001:db8:1::1");
	announced[0] = announced[2] = false;
}

static void sc_multihop_bfd_port(void)
{
	sc_mixed();
	cfg.listen_port = 1179;
	cfg.hold_time_ms = cfg.keepalive_ms = 0;
	peers[2].bfd = true;
	announced[1] = false;
	announced[2] = true;
}

static void sc_no_bfd(void)
{
	sc_mixed();
	for (size_t i = 0; i < cfg.n_peers; i++)
		peers[i].bfd = false;
}

static void sc_nothing_announced(void)
{
	sc_mixed();
	announced[0] = announced[1] = announced[2] = false;
}

/* Peers named like buoy's own symbols and BIRD's default names, and a 59-character name. */
static void sc_awkward_names(void)
{
	static char longname[60];
	memset(longname, 'n', sizeof(longname) - 1);
	base();
	peer(0, "vips4", "198.18.1.2", 65000);
	peer(1, "vips6", "2001:db8:1::2", 65000);
	peer(2, "bfd1", "198.18.1.3", 65000);
	peer(3, "export_vips4", "198.18.1.4", 65000);
	peer(4, "device1", "198.18.1.5", 65000);
	peer(5, longname, "198.18.1.6", 65000);
}

/* Backends down, not strict: still announced, with a worse path (prepend / LOCAL_PREF). */
static void sc_degraded(void)
{
	sc_mixed();
	announced[2] = true;
	degraded[0] = degraded[1] = true;
}

static const struct scenario {
	const char *name;
	void (*setup)(void);
} scenarios[] = {
	{ "mixed", sc_mixed },
	{ "ipv4 only", sc_ipv4_only },
	{ "ipv6 only", sc_ipv6_only },
	{ "multihop bfd, listen port", sc_multihop_bfd_port },
	{ "no bfd", sc_no_bfd },
	{ "nothing announced", sc_nothing_announced },
	{ "awkward names", sc_awkward_names },
	{ "degraded", sc_degraded },
};

static char *render(void)
{
	struct strbuf sb = { 0 };
	struct in_addr rid;
	inet_pton(AF_INET, "198.18.1.1", &rid);
	assert_int_equal(birdconf_render(&cfg, rid, announced, degraded, &sb), 0);
	assert_false(sb.oom);
	return sb.p;
}

static void has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("missing \"%s\" in:\n%s", needle, text);
}

static void lacks(const char *text, const char *needle)
{
	if (strstr(text, needle))
		fail_msg("unexpected \"%s\" in:\n%s", needle, text);
}

static void test_mixed(void **st)
{
	(void)st;
	sc_mixed();
	char *t = render();
	has(t, "router id 198.18.1.1;\n");
	has(t, "timeformat protocol \"%s\";\n");
	has(t, "protocol device { scan time 10; }\n");
	has(t, "protocol bgp buoy_tor_1_a {\n\tlocal as 65001;\n\tneighbor 198.18.1.0 port 179 as 65000;\n\tdirect;\n");
	has(t,
	    "\tconnect delay time 1;\n\tconnect retry time 5;\n\terror wait time 1, 10;\n\thold time 9;\n\tkeepalive time 3;\n"
	    "\tgraceful restart off;\n\tbfd on;\n"
	    "\tipv4 { import none; export filter export_vips4; next hop self; };\n");
	has(t, "protocol bgp buoy_tor6 {");
	has(t, "\tpassword \"s3cret\";\n");
	has(t, "\tipv6 { import none; export filter export_vips6; next hop self; };\n");
	has(t, "protocol bgp buoy_rr {\n\tlocal 198.18.1.1 as 65001;\n\tneighbor 198.18.9.9 port 1179 as 65001;\n"
	       "\tmultihop 4;\n\tpassive on;\n");
	has(t, "\tbfd off;\n");
	has(t, "protocol bfd bfd1 {\n\tinterface \"*\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };\n}\n");
	lacks(t, "multihop {"); /* the multihop peer has no BFD */
	has(t, "protocol static vips4 {\n\tipv4 { import all; };\n\troute 198.18.200.1/32 unreachable;\n}\n");
	has(t, "protocol static vips6 {\n\tipv6 { import all; };\n\troute 2001:db8:200::1/128 unreachable;\n}\n");
	has(t, "filter export_vips4 {\n\tif proto != \"vips4\" then reject;\n");
	has(t, "filter export_vips6 {\n\tif proto != \"vips6\" then reject;\n\taccept;\n}\n");
	lacks(t, "198.18.200.2/32"); /* not announced, and no attributes to set */
	has(t, "\tif net = 198.18.200.1/32 then { bgp_med = 50; bgp_community.add((65000,100)); "
	       "bgp_community.add((65000,200)); }\n");
	lacks(t, "protocol kernel"); /* never touches the host's routes */
	lacks(t, "graceful restart on");
	lacks(t, "local port"); /* 179 is BIRD's own default */
	free(t);
}

static void test_ipv4_only(void **st)
{
	(void)st;
	sc_ipv4_only();
	char *t = render();
	has(t, "protocol bgp buoy_rt {\n\tlocal as 65001;\n\tneighbor 198.18.1.2 port 179 as 65000;\n");
	has(t, "\troute 198.18.200.1/32 unreachable;\n\troute 198.18.200.2/32 unreachable;\n}\n");
	has(t, "protocol static vips6 {\n\tipv6 { import all; };\n}\n"); /* empty, still valid */
	lacks(t, "ipv6 { import none");
	lacks(t, "password");
	free(t);
}

static void test_ipv6_only(void **st)
{
	(void)st;
	sc_ipv6_only();
	char *t = render();
	has(t, "protocol bgp buoy_rt6 {\n\tlocal 2001:db8:1::1 as 65001;\n\tneighbor 2001:db8:1::2 port 179 as 65001;\n"
	       "\tpassword \"pa ss#word;{}\";\n\tdirect;\n"); /* iBGP, still direct */
	has(t, "protocol static vips4 {\n\tipv4 { import all; };\n}\n");
	has(t, "\troute 2001:db8:200::1/128 unreachable;\n");
	has(t, "\tipv6 { import none; export filter export_vips6_ibgp; next hop self; };\n");
	lacks(t, "hold time");
	lacks(t, "keepalive time");
	free(t);
}

static void test_multihop_bfd_and_listen_port(void **st)
{
	(void)st;
	sc_multihop_bfd_port();
	char *t = render();
	has(t, "\tlocal port 1179 as 65001;\n");
	has(t, "\tlocal 198.18.1.1 port 1179 as 65001;\n");
	has(t, "\tinterface \"*\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };\n"
	       "\tmultihop { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };\n");
	lacks(t, "hold time"); /* BIRD's default */
	has(t, "\troute 198.18.200.2/32 unreachable;\n");
	lacks(t, "2001:db8:200::1/128 unreachable");
	free(t);
}

static void test_no_bfd_at_all(void **st)
{
	(void)st;
	sc_no_bfd();
	char *t = render();
	lacks(t, "protocol bfd");
	lacks(t, "bfd on");
	free(t);
}

static void test_nothing_and_some_announced(void **st)
{
	(void)st;
	sc_nothing_announced();
	char *t = render();
	lacks(t, "route ");
	has(t, "protocol static vips4 {\n\tipv4 { import all; };\n}\n");
	has(t, "protocol static vips6 {\n\tipv6 { import all; };\n}\n");
	/* the filter keeps the MED line: it applies whenever the route comes back */
	has(t, "\tif net = 198.18.200.1/32 then { bgp_med = 50;");
	free(t);
	announced[2] = true;
	t = render();
	has(t, "protocol static vips4 {\n\tipv4 { import all; };\n\troute 198.18.200.2/32 unreachable;\n}\n");
	lacks(t, "198.18.200.1/32 unreachable");
	free(t);
}

static void refused(void)
{
	struct strbuf sb = { 0 };
	struct in_addr rid = { 0 };
	assert_int_equal(birdconf_render(&cfg, rid, announced, NULL, &sb), -1);
	assert_int_equal(sb.len, 0); /* nothing half-written */
	sb_free(&sb);
}

static void test_refused_inputs(void **st)
{
	(void)st;
	const char *bad[] = { "a\"; import all; \"", "back\\slash", "new\nline", "cr\r" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sc_mixed();
		peers[1].password = (char *)bad[i];
		refused();
	}
	sc_mixed();
	peers[2].bfd = true; /* multihop BFD needs a local address */
	memset(&peers[2].source, 0, sizeof(peers[2].source));
	refused();
}

static void test_peer_proto_names(void **st)
{
	(void)st;
	char buf[BIRDCONF_PROTO_LEN];
	struct cfg_bgp_peer p = { .name = "tor-1.example" };
	birdconf_peer_proto(&p, buf, sizeof(buf));
	assert_string_equal(buf, "buoy_tor_1_example");
	p.name = "x\"; } protocol kernel {";
	birdconf_peer_proto(&p, buf, sizeof(buf));
	assert_string_equal(buf, "buoy_x_____protocol_kernel__");
	char longname[60];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[59] = 0;
	p.name = longname;
	birdconf_peer_proto(&p, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 64);
	birdconf_peer_proto(&p, buf, 8); /* truncates, never overflows */
	assert_string_equal(buf, "buoy_nn");
}

/* ---- the real parser: the generated syntax is BIRD's, not ours ---- */

static int bird_parse(const char *text, char *out, size_t out_len)
{
	char path[] = "/tmp/buoy-birdconf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), BIRD " -p -c %s 2>&1", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, out_len - 1, p);
	out[n] = 0;
	int rc = pclose(p);
	unlink(path);
	return rc;
}

static void test_degraded(void **st)
{
	(void)st;
	sc_degraded();
	char *t = render();
	/* eBGP: the local AS three more times; the MED stays */
	has(t,
	    "filter export_vips4 {\n\tif proto != \"vips4\" then reject;\n"
	    "\tif net = 198.18.200.1/32 then { bgp_med = 50; bgp_community.add((65000,100)); "
	    "bgp_community.add((65000,200)); bgp_path.prepend(65001); bgp_path.prepend(65001); "
	    "bgp_path.prepend(65001); }\n");
	has(t, "\tif net = 2001:db8:200::1/128 then { bgp_path.prepend(65001);");
	/* iBGP (rr, AS 65001): a prepended own AS would be a loop there; LOCAL_PREF instead */
	has(t, "filter export_vips4_ibgp {\n");
	has(t, "bgp_community.add((65000,200)); bgp_local_pref = 50; }\n");
	has(t, "protocol bgp buoy_rr {");
	has(t, "\tipv4 { import none; export filter export_vips4_ibgp; next hop self; };\n");
	has(t, "\tipv4 { import none; export filter export_vips4; next hop self; };\n");
	lacks(t, "export_vips6_ibgp"); /* no IPv6 iBGP peer */
	free(t);
	sc_mixed(); /* not degraded: no prepend anywhere */
	t = render();
	lacks(t, "prepend");
	lacks(t, "bgp_local_pref");
	free(t);
}

static void test_bird_parses_every_scenario(void **st)
{
	(void)st;
	if (access(BIRD, X_OK) != 0) /* scripts/deps test installs bird2 */
		fail_msg("%s not found: install bird2 (sudo scripts/deps test)", BIRD);
	char out[512];
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		scenarios[i].setup();
		char *t = render();
		if (bird_parse(t, out, sizeof(out)) != 0)
			fail_msg("bird -p refused scenario \"%s\": %s\n%s", scenarios[i].name, out, t);
		free(t);
	}
	/* and the check is real: what birdconf refuses, BIRD refuses too */
	sc_mixed(); /* the multihop peer without BFD, then its bfd line turned on by hand */
	memset(&peers[2].source, 0, sizeof(peers[2].source));
	char *t = render();
	char *bfd_off = strstr(t, "\tbfd off;");
	assert_non_null(bfd_off);
	memcpy(bfd_off, "\tbfd on; ", 9);
	assert_int_not_equal(bird_parse(t, out, sizeof(out)), 0);
	has(out, "Multihop BGP with BFD requires specified local address");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_ipv4_only),
		cmocka_unit_test(test_ipv6_only),
		cmocka_unit_test(test_multihop_bfd_and_listen_port),
		cmocka_unit_test(test_no_bfd_at_all),
		cmocka_unit_test(test_nothing_and_some_announced),
		cmocka_unit_test(test_refused_inputs),
		cmocka_unit_test(test_peer_proto_names),
		cmocka_unit_test(test_degraded),
		cmocka_unit_test(test_bird_parses_every_scenario),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
