/* core/inet: the one IP address type (parse, format, equality, order, from sockaddr) and the
 * RFC 1071 Internet checksum against published vectors. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "core/inet.h"

static struct ip_addr P(const char *s) {
	struct ip_addr a;
	if (ip_addr_parse(s, &a) != 0)
		fail_msg("parse %s failed", s);
	return a;
}

/* in -> (family, prefix) -> both text forms */
static void
expect(const char *in, int family, unsigned prefix, const char *addr, const char *pfx)
{
	struct ip_addr a = P(in);
	char buf[IP_ADDR_STRLEN];
	if (a.family != family || a.prefix != prefix)
		fail_msg("%s: family %d prefix %u, want %d /%u", in, a.family, a.prefix, family, prefix);
	if (strcmp(ip_addr_format(&a, IP_FMT_ADDR, buf, sizeof(buf)), addr) != 0)
		fail_msg("%s -> %s, want %s", in, buf, addr);
	if (strcmp(ip_addr_format(&a, IP_FMT_PREFIX, buf, sizeof(buf)), pfx) != 0)
		fail_msg("%s -> %s, want %s", in, buf, pfx);
}

static void test_parse_format_v4(void **state)
{
	(void)state;
	expect("198.18.0.100", AF_INET, 32, "198.18.0.100", "198.18.0.100/32");
	expect("198.18.0.100/24", AF_INET, 24, "198.18.0.100", "198.18.0.100/24");
	expect("198.18.0.100/0", AF_INET, 0, "198.18.0.100", "198.18.0.100/0");
	expect("198.18.0.100/32", AF_INET, 32, "198.18.0.100", "198.18.0.100/32");
	expect("0.0.0.0", AF_INET, 32, "0.0.0.0", "0.0.0.0/32");
	expect("255.255.255.255/1", AF_INET, 1, "255.255.255.255", "255.255.255.255/1");
	expect("198.18.0.1/024", AF_INET, 24, "198.18.0.1", "198.18.0.1/24");
	struct ip_addr a = P("198.18.0.1");
	assert_int_equal(a.v4.s_addr, htonl(0xc6120001));
	static const uint8_t want[4] = { 198, 18, 0, 1 };
	assert_memory_equal(a.b, want, 4);
}

static void test_parse_format_v6(void **state)
{
	(void)state;
	expect("2001:db8::100", AF_INET6, 128, "2001:db8::100", "2001:db8::100/128");
	expect("2001:DB8:0::100/64", AF_INET6, 64, "2001:db8::100", "2001:db8::100/64");
	expect("::/0", AF_INET6, 0, "::", "::/0");
	expect("::1", AF_INET6, 128, "::1", "::1/128");
	expect("fe80::1/10", AF_INET6, 10, "fe80::1", "fe80::1/10");
	expect("::ffff:198.18.0.100", AF_INET6, 128, "::ffff:198.18.0.100", "::ffff:198.18.0.100/128");
	expect("2001:db8:1:2:3:4:5:6/127", AF_INET6, 127, "2001:db8:1:2:3:4:5:6",
	       "2001:db8:1:2:3:4:5:6/127");
	/* the longest text form fits IP_ADDR_STRLEN */
	char buf[IP_ADDR_STRLEN];
	struct ip_addr a = P("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128");
	ip_addr_format(&a, IP_FMT_PREFIX, buf, sizeof(buf));
	assert_string_equal(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	a = P("2001:db8::1");
	assert_int_equal(a.b[0], 0x20);
	assert_int_equal(a.b[1], 0x01);
	assert_int_equal(a.b[15], 0x01);
	assert_memory_equal(&a.v6, a.b, 16);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	static const char *bad[] = {
		"",
		"/",
		"/24",
		"198.18.0.100/",
		"198.18.0.100/33",
		"198.18.0.100/2x",
		"198.18.0.100/-1",
		"198.18.0.100/+8",
		"198.18.0.100/ 8",
		"198.18.0.100/8 ",
		"198.18.0.100/0024",
		"198.18.0.100/24/24",
		"198.18.0.256",
		"198.18.0",
		"198.18.0.1.",
		" 198.18.0.1",
		"198.18.0.1 ",
		"host",
		"host/24",
		"2001:db8::1/129",
		"2001:db8::1::2/64",
		"[2001:db8::1]",
		"[2001:db8::1]/64",
		"fe80::1%eth0",
		"2001:db8::g",
		"198.18.0.1:80",
		"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:1",
		"0123456789012345678901234567890123456789012345678901234567890123456789",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ip_addr a;
		memset(&a, 0x5a, sizeof(a));
		if (ip_addr_parse(bad[i], &a) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		if (a.family != 0)
			fail_msg("\"%s\": family %d left behind", bad[i], a.family);
	}
	struct ip_addr a;
	assert_int_equal(ip_addr_parse(NULL, &a), -EINVAL);
}

static void test_format_unknown_and_short_buffer(void **state)
{
	(void)state;
	char buf[IP_ADDR_STRLEN];
	struct ip_addr none = { 0 };
	assert_string_equal(ip_addr_format(&none, IP_FMT_ADDR, buf, sizeof(buf)), "-");
	assert_string_equal(ip_addr_format(&none, IP_FMT_PREFIX, buf, sizeof(buf)), "-");
	struct ip_addr unix_ = { .family = AF_UNIX };
	assert_string_equal(ip_addr_format(&unix_, IP_FMT_ADDR, buf, sizeof(buf)), "-");
	/* truncated, always terminated */
	struct ip_addr a = P("198.18.0.100/24");
	char small[8];
	ip_addr_format(&a, IP_FMT_PREFIX, small, sizeof(small));
	assert_string_equal(small, "198.18.");
}

static void test_equal_and_order(void **state)
{
	(void)state;
	struct ip_addr a = P("198.18.0.100/24"), b = P("198.18.0.100/32"), c = P("198.18.0.101/24");
	struct ip_addr m = P("::ffff:198.18.0.100"), v6 = P("2001:db8::1/64");
	struct ip_addr v6b = P("2001:0db8:0:0::1"), none = { 0 }, none2 = { 0 };
	assert_true(ip_addr_equal(&a, &b)); /* prefix ignored */
	assert_false(ip_addr_equal(&a, &c));
	assert_false(ip_addr_equal(&a, &m)); /* mapped is another family */
	assert_true(ip_addr_equal(&v6, &v6b));
	assert_false(ip_addr_equal(&v6, &a));
	assert_true(ip_addr_equal(&none, &none2));
	assert_false(ip_addr_equal(&none, &a));
	/* bytes past the family's length do not count */
	struct ip_addr d = a;
	d.b[8] = 0xee;
	assert_true(ip_addr_equal(&a, &d));
	assert_int_equal(ip_addr_cmp(&a, &d), 0);
	/* numeric, not textual: .2 < .10 */
	struct ip_addr two = P("198.18.0.2"), ten = P("198.18.0.10");
	assert_true(ip_addr_cmp(&two, &ten) < 0);
	assert_true(ip_addr_cmp(&ten, &two) > 0);
	assert_int_equal(ip_addr_cmp(&a, &b), 0);
	assert_true(ip_addr_cmp(&a, &v6) < 0); /* AF_INET before AF_INET6 */
	assert_true(ip_addr_cmp(&v6, &a) > 0);
}

static void test_from_sockaddr(void **state)
{
	(void)state;
	char buf[IP_ADDR_STRLEN];
	struct ip_addr a;
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(80) };
	inet_pton(AF_INET, "198.18.0.7", &s4.sin_addr);
	assert_int_equal(ip_addr_from_sockaddr((struct sockaddr *)&s4, &a), 0);
	assert_string_equal(ip_addr_format(&a, IP_FMT_PREFIX, buf, sizeof(buf)), "198.18.0.7/32");
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	s6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::7", &s6->sin6_addr);
	assert_int_equal(ip_addr_from_sockaddr((struct sockaddr *)&ss, &a), 0);
	assert_string_equal(ip_addr_format(&a, IP_FMT_PREFIX, buf, sizeof(buf)), "2001:db8::7/128");
	struct ip_addr p = P("2001:db8::7");
	assert_true(ip_addr_equal(&a, &p));
	ss.ss_family = AF_UNIX;
	assert_int_equal(ip_addr_from_sockaddr((struct sockaddr *)&ss, &a), -EAFNOSUPPORT);
	assert_int_equal(a.family, 0);
	struct ip_addr back;
	assert_int_equal(ip_addr_to_sockaddr(&p, 179, &ss), sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(s6->sin6_port), 179);
	assert_int_equal(ip_addr_from_sockaddr((struct sockaddr *)&ss, &back), 0);
	assert_true(ip_addr_equal(&back, &p));
	struct ip_addr q = P("198.18.0.7/24");
	assert_int_equal(ip_addr_to_sockaddr(&q, 80, &ss), sizeof(struct sockaddr_in));
	assert_memory_equal(&ss, &s4, sizeof(s4));
	assert_int_equal(ip_addr_to_sockaddr(&a, 80, &ss), 0); /* a: family 0 from above */
	assert_int_equal(ss.ss_family, 0);
	assert_int_equal(ip_addr_len(AF_INET), 4);
	assert_int_equal(ip_addr_len(AF_INET6), 16);
	assert_int_equal(ip_addr_len(AF_UNIX), 0);
	assert_int_equal(ip_addr_len(0), 0);
}

static void test_is_any(void **state)
{
	(void)state;
	struct ip_addr a = P("0.0.0.0"), b = P("::"), c = P("0.0.0.1"), d = P("::1"), z = { 0 };
	struct ip_addr e = P("::ffff:0.0.0.0");
	assert_true(ip_addr_is_any(&a));
	assert_true(ip_addr_is_any(&b));
	assert_false(ip_addr_is_any(&c));
	assert_false(ip_addr_is_any(&d));
	assert_false(ip_addr_is_any(&e));
	assert_false(ip_addr_is_any(&z)); /* no family: no address at all */
}

/* RFC 1071 section 3 example: the one's-complement sum of these bytes is ddf2. */
static void test_checksum_rfc1071(void **state)
{
	(void)state;
	static const uint8_t d[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	assert_int_equal(inet_csum(inet_sum(0, d, sizeof(d))), (uint16_t)~0xddf2);
	/* summed in pieces (even lengths) gives the same */
	uint32_t s = inet_sum(0, d, 2);
	s = inet_sum(s, d + 2, 4);
	s = inet_sum(s, d + 6, 2);
	assert_int_equal(inet_csum(s), (uint16_t)~0xddf2);
}

/* An IPv4 header whose checksum field is b861 (a common textbook capture). */
static void test_checksum_ipv4_header(void **state)
{
	(void)state;
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	uint16_t c = inet_csum(inet_sum(0, h, sizeof(h)));
	assert_int_equal(c, 0xb861);
	h[10] = (uint8_t)(c >> 8);
	h[11] = (uint8_t)c;
	assert_int_equal(inet_csum(inet_sum(0, h, sizeof(h))), 0); /* as a receiver checks */
}

static void test_checksum_odd_empty_and_fold(void **state)
{
	(void)state;
	/* nothing: ~0 */
	assert_int_equal(inet_csum(inet_sum(0, "", 0)), 0xffff);
	/* an odd last byte is the high half of a zero-padded word */
	static const uint8_t odd[3] = { 0x12, 0x34, 0x56 };
	assert_int_equal(inet_csum(inet_sum(0, odd, 3)), (uint16_t) ~(0x1234 + 0x5600));
	/* carries wrap around more than once */
	uint8_t ff[64];
	memset(ff, 0xff, sizeof(ff));
	assert_int_equal(inet_csum(inet_sum(0, ff, sizeof(ff))), 0x0000);
	assert_int_equal(inet_csum(0x0001fffe), 0x0000); /* fffe + 1 = ffff -> ~ = 0 */
	assert_int_equal(inet_csum(0x0002ffff), (uint16_t)~0x0002);
}

static void test_unmap(void **state)
{
	(void)state;
	struct ip_addr a = P("::ffff:198.18.0.7"), want = P("198.18.0.7");
	ip_addr_unmap(&a);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.prefix, 32);
	assert_true(ip_addr_equal(&a, &want));
	const char *same[] = { "2001:db8::7", "::ffff:0:198.18.0.7", "198.18.0.7", "::" };
	for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
		struct ip_addr b = P(same[i]), c = b;
		ip_addr_unmap(&b);
		assert_memory_equal(&b, &c, sizeof(b));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format_v4),
		cmocka_unit_test(test_unmap),
		cmocka_unit_test(test_parse_format_v6),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_format_unknown_and_short_buffer),
		cmocka_unit_test(test_equal_and_order),
		cmocka_unit_test(test_from_sockaddr),
		cmocka_unit_test(test_is_any),
		cmocka_unit_test(test_checksum_rfc1071),
		cmocka_unit_test(test_checksum_ipv4_header),
		cmocka_unit_test(test_checksum_odd_empty_and_fold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
