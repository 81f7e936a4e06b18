/* VIP addresses as vip.c and link.c take them: parse, format, compare (core/inet.h, tested
 * exhaustively in test_inet.c), from config, and read-only queries on lo. The netlink side is
 * covered by tests/integration/test_vipnet.py inside network namespaces. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "netlink/link.h"
#include "netlink/vip.h"

static void roundtrip(const char *in, const char *want)
{
	struct ip_addr a;
	char buf[64];
	if (ip_addr_parse(in, &a) != 0)
		fail_msg("parse %s failed", in);
	ip_addr_format(&a, IP_FMT_PREFIX, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("%s -> %s, want %s", in, buf, want);
}

static void test_parse_format(void **state)
{
	(void)state;
	roundtrip("198.18.0.100/24", "198.18.0.100/24");
	roundtrip("198.18.0.100", "198.18.0.100/32");
	roundtrip("198.18.0.100/0", "198.18.0.100/0");
	roundtrip("2001:db8::100/64", "2001:db8::100/64");
	roundtrip("2001:DB8:0::100", "2001:db8::100/128");
	roundtrip("2001:db8::1/128", "2001:db8::1/128");
}

static void test_parse_rejects(void **state)
{
	(void)state;
	static const char *bad[] = {
		"",
		"/24",
		"198.18.0.100/33",
		"198.18.0.100/",
		"198.18.0.1/2x",
		"2001:db8::1/129",
		"198.18.0.256/24",
		"host/24",
		"1.2.3.4/-1",
		"2001:db8::1::2/64"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ip_addr a;
		if (ip_addr_parse(bad[i], &a) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
	}
}

static void test_equal_ignores_prefix(void **state)
{
	(void)state;
	struct ip_addr a, b, c, d;
	assert_int_equal(ip_addr_parse("198.18.0.100/24", &a), 0);
	assert_int_equal(ip_addr_parse("198.18.0.100/32", &b), 0);
	assert_int_equal(ip_addr_parse("198.18.0.101/24", &c), 0);
	assert_int_equal(ip_addr_parse("::ffff:198.18.0.100", &d), 0);
	assert_true(ip_addr_equal(&a, &b));
	assert_false(ip_addr_equal(&a, &c));
	assert_false(ip_addr_equal(&a, &d)); /* different family */
}

/* The config's VIP is the address the calls take, prefix included: no bridge between them. */
static void test_from_cfg(void **state)
{
	(void)state;
	struct cfg_vip c;
	struct ip_addr a;
	char buf[IP_ADDR_STRLEN];
	assert_int_equal(parse_cidr("2001:db8::100/64", &c), 0);
	assert_int_equal(ip_addr_parse("2001:db8::100/64", &a), 0);
	assert_true(ip_addr_equal(&c.addr, &a));
	assert_int_equal(c.addr.prefix, 64);
	assert_string_equal(ip_addr_format(&c.addr, IP_FMT_PREFIX, buf, sizeof(buf)), c.text);
	assert_int_equal(parse_cidr("198.18.0.100/24", &c), 0);
	assert_int_equal(c.addr.family, AF_INET);
	assert_int_equal(c.addr.prefix, 24);
	assert_string_equal(ip_addr_format(&c.addr, IP_FMT_PREFIX, buf, sizeof(buf)), "198.18.0.100/24");
	assert_int_equal(parse_cidr("198.18.0.100/0", &c), -1);
	assert_int_equal(c.addr.family, 0);
}

static void test_lookups_on_lo(void **state)
{
	(void)state;
	/* Read-only queries against lo, present in every namespace. */
	int idx = link_ifindex("lo");
	assert_true(idx > 0);
	assert_int_equal(link_is_up(idx), 1);
	assert_int_equal(link_ifindex("buoy-no-such-if"), -ENODEV);
	struct ip_addr a;
	ip_addr_parse("127.0.0.1/8", &a);
	uint8_t prefix = 0;
	assert_int_equal(vip_present(idx, &a, &prefix), 1);
	assert_int_equal(prefix, 8);
	ip_addr_parse("198.18.255.254/32", &a);
	assert_int_equal(vip_present(idx, &a, NULL), 0);
	assert_true(vip_is_local(&a) != 1); /* routed elsewhere, or unreachable */
	ip_addr_parse("127.0.0.2/32", &a);  /* any address of 127/8 is local */
	assert_int_equal(vip_is_local(&a), 1);
	assert_true(link_is_up(999999) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),         cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_equal_ignores_prefix), cmocka_unit_test(test_from_cfg),
		cmocka_unit_test(test_lookups_on_lo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
