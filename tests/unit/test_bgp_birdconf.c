/* bird.conf from config (src/bgp/birdconf.c): key lines for IPv4/IPv6 peers, BFD single and
 * multihop, passwords, MED and communities, the announced set; and every rendered file is
 * checked by the real BIRD (`bird -p`) when it is installed. */
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

static struct cfg_bgp_peer peers[3];
static struct cfg_bgp_community comms[2] = { { 65000, 100 }, { 65000, 200 } };
static struct cfg_track_backend tb = { .name = "apiservers" };
static struct cfg_bgp_announce ann[3];
static struct cfg_bgp cfg;

static void set_ip(struct sockaddr_storage *ss, const char *s)
{
	assert_int_equal(parse_ip(s, ss), 0);
}

static void setup_cfg(void)
{
	memset(peers, 0, sizeof(peers));
	memset(ann, 0, sizeof(ann));
	peers[0] = (struct cfg_bgp_peer){ .name = "tor-1.a", .asn = 65000, .port = 179, .bfd = true };
	set_ip(&peers[0].addr, "198.18.1.0");
	peers[1] = (struct cfg_bgp_peer){ .name = "tor6", .asn = 65000, .port = 179, .bfd = true,
					  .password = "s3cret" };
	set_ip(&peers[1].addr, "2001:db8:1::1");
	peers[2] = (struct cfg_bgp_peer){ .name = "rr", .asn = 65001, .port = 1179, .bfd = false,
					  .multihop = 4, .passive = true };
	set_ip(&peers[2].addr, "198.18.9.9");
	set_ip(&peers[2].source, "198.18.1.1");
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
		.asn = 65001, .listen_port = 179, .connect_retry_ms = 5000,
		.error_wait_min_ms = 1000, .error_wait_max_ms = 10000, .bfd_interval_ms = 100,
		.bfd_multiplier = 3, .hold_time_ms = 9000, .keepalive_ms = 3000,
		.peers = peers, .n_peers = 3, .announce = ann, .n_announce = 3,
	};
}

static char *render(const bool *announced)
{
	struct strbuf sb = { 0 };
	struct in_addr rid;
	inet_pton(AF_INET, "198.18.1.1", &rid);
	assert_int_equal(birdconf_render(&cfg, rid, announced, &sb), 0);
	assert_false(sb.oom);
	return sb.p;
}

static void has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("missing \"%s\" in:\n%s", needle, text);
}

/* The real parser, when BIRD is installed: the generated syntax is BIRD's, not ours. */
static void bird_accepts(const char *text)
{
	if (access(BIRD, X_OK) != 0)
		return;
	char path[] = "/tmp/buoy-birdconf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), BIRD " -p -c %s 2>&1", path);
	FILE *p = popen(cmd, "r");
	char out[512] = "";
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	int rc = pclose(p);
	unlink(path);
	if (rc != 0)
		fail_msg("bird -p refused the generated config: %s\n%s", out, text);
}

static void test_full_config(void **st)
{
	(void)st;
	setup_cfg();
	bool a[3] = { true, true, false };
	char *t = render(a);
	has(t, "router id 198.18.1.1;\n");
	has(t, "timeformat protocol \"%s\";\n");
	has(t, "protocol bgp buoy_tor_1_a {\n\tlocal as 65001;\n\tneighbor 198.18.1.0 port 179 as 65000;\n\tdirect;\n");
	has(t, "\tconnect delay time 1;\n\tconnect retry time 5;\n\terror wait time 1, 10;\n\thold time 9;\n\tkeepalive time 3;\n"
	       "\tgraceful restart off;\n\tbfd on;\n"
	       "\tipv4 { import none; export filter buoy_export4; next hop self; };\n");
	has(t, "protocol bgp buoy_tor6 {");
	has(t, "\tpassword \"s3cret\";\n");
	has(t, "\tipv6 { import none; export filter buoy_export6; next hop self; };\n");
	has(t, "protocol bgp buoy_rr {\n\tlocal 198.18.1.1 as 65001;\n\tneighbor 198.18.9.9 port 1179 as 65001;\n"
	       "\tmultihop 4;\n\tpassive on;\n");
	has(t, "\tbfd off;\n");
	has(t, "\tinterface \"*\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };\n");
	assert_null(strstr(t, "multihop {")); /* the multihop peer has no BFD */
	has(t, "protocol static buoy_vips4 {\n\tipv4 { import all; };\n\troute 198.18.200.1/32 unreachable;\n}\n");
	has(t, "protocol static buoy_vips6 {\n\tipv6 { import all; };\n\troute 2001:db8:200::1/128 unreachable;\n}\n");
	assert_null(strstr(t, "198.18.200.2/32")); /* not announced, and no attributes to set */
	has(t, "\tif net = 198.18.200.1/32 then { bgp_med = 50; bgp_community.add((65000,100)); "
	       "bgp_community.add((65000,200)); }\n");
	assert_null(strstr(t, "protocol kernel")); /* never touches the host's routes */
	assert_null(strstr(t, "graceful restart on"));
	bird_accepts(t);
	free(t);
}

static void test_nothing_announced_is_valid(void **st)
{
	(void)st;
	setup_cfg();
	bool a[3] = { false, false, false };
	char *t = render(a);
	assert_null(strstr(t, "route "));
	has(t, "protocol static buoy_vips4 {\n\tipv4 { import all; };\n}\n");
	bird_accepts(t);
	free(t);
}

static void test_listen_port_and_multihop_bfd(void **st)
{
	(void)st;
	setup_cfg();
	cfg.listen_port = 1179;
	cfg.hold_time_ms = cfg.keepalive_ms = 0;
	peers[2].bfd = true;
	bool a[3] = { true, false, true };
	char *t = render(a);
	has(t, "\tlocal port 1179 as 65001;\n");
	has(t, "\tmultihop { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };\n");
	assert_null(strstr(t, "hold time"));       /* BIRD's default */
	has(t, "\troute 198.18.200.2/32 unreachable;\n");
	bird_accepts(t);
	free(t);
}

static void test_no_bfd_at_all(void **st)
{
	(void)st;
	setup_cfg();
	for (size_t i = 0; i < 3; i++)
		peers[i].bfd = false;
	bool a[3] = { true, true, true };
	char *t = render(a);
	assert_null(strstr(t, "protocol bfd"));
	bird_accepts(t);
	free(t);
}

static void test_unsafe_password_is_refused(void **st)
{
	(void)st;
	setup_cfg();
	peers[1].password = "a\"; import all; \"";
	bool a[3] = { true, true, true };
	struct strbuf sb = { 0 };
	struct in_addr rid = { 0 };
	assert_int_equal(birdconf_render(&cfg, rid, a, &sb), -1);
	sb_free(&sb);
}

static void test_peer_proto_names(void **st)
{
	(void)st;
	char buf[80];
	struct cfg_bgp_peer p = { .name = "tor-1.example" };
	birdconf_peer_proto(&p, buf, sizeof(buf));
	assert_string_equal(buf, "buoy_tor_1_example");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_nothing_announced_is_valid),
		cmocka_unit_test(test_listen_port_and_multihop_bfd),
		cmocka_unit_test(test_no_bfd_at_all),
		cmocka_unit_test(test_unsafe_password_is_refused),
		cmocka_unit_test(test_peer_proto_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
