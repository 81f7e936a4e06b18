/* Tickle ACK builders: a known connection's bytes field by field (checksums computed
 * independently, with Python), every checksum verified the receiver's way (the sum over the
 * header, or pseudo-header + segment, including the checksum folds to 0xffff), the IPv4 packet
 * read back by a small parser of the test's own, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "sync/tickle.h"

static struct ip_addr A(const char *s) {
	struct ip_addr a;
	assert_int_equal(ip_addr_parse(s, &a), 0);
	return a;
}

/* The one's-complement sum, written again here rather than taken from core/inet.c. */
static uint16_t
fold(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len % 2)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The sum a receiver computes over pseudo-header + segment: 0xffff when the checksum is right. */
static uint16_t tcp_verify(
	const struct ip_addr *src, const struct ip_addr *dst, const uint8_t *seg, size_t len)
{
	uint8_t ph[40];
	size_t n;
	if (src->family == AF_INET) {
		memcpy(ph, src->b, 4);
		memcpy(ph + 4, dst->b, 4);
		ph[8] = 0;
		ph[9] = 6;
		ph[10] = (uint8_t)(len >> 8);
		ph[11] = (uint8_t)len;
		n = 12;
	} else {
		memcpy(ph, src->b, 16);
		memcpy(ph + 16, dst->b, 16);
		ph[32] = ph[33] = 0;
		ph[34] = (uint8_t)(len >> 8);
		ph[35] = (uint8_t)len;
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = 6;
		n = 40;
	}
	uint32_t sum = fold(ph, n, 0);
	return fold(seg, len, sum);
}

static void check_tcp_fields(const uint8_t *t, uint16_t sport, uint16_t dport)
{
	assert_int_equal(t[0] << 8 | t[1], sport);
	assert_int_equal(t[2] << 8 | t[3], dport);
	for (int i = 4; i < 12; i++)
		assert_int_equal(t[i], 0); /* seq 0, ack 0 */
	assert_int_equal(t[12], 0x50);     /* data offset 5, reserved 0 */
	assert_int_equal(t[13], 0x10);     /* ACK only */
	assert_int_equal(t[14] << 8 | t[15], 65535);
	assert_int_equal(t[18] | t[19], 0); /* urgent pointer */
}

static void test_tcp_ipv4_bytes(void **state)
{
	(void)state;
	struct ip_addr vip = A("198.18.0.100"), cl = A("198.18.0.50");
	uint8_t buf[64];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(tickle_build_tcp(buf, sizeof(buf), &vip, 6443, &cl, 40000), 20);
	static const uint8_t want[20] = {
		0x19, 0x2b, 0x9c, 0x40,             /* 6443 -> 40000 */
		0,    0,    0,    0,    0, 0, 0, 0, /* seq, ack */
		0x50, 0x10, 0xff, 0xff,             /* offset 5, ACK, window 65535 */
		0x6d, 0xae, 0,    0,                /* checksum (computed with Python), urgent */
	};
	assert_memory_equal(buf, want, 20);
	assert_int_equal(buf[20], 0xaa);
	check_tcp_fields(buf, 6443, 40000);
	assert_int_equal(tcp_verify(&vip, &cl, buf, 20), 0xffff);
}

static void test_tcp_ipv6(void **state)
{
	(void)state;
	struct ip_addr vip = A("2001:db8::100"), cl = A("2001:db8::7");
	uint8_t buf[20];
	assert_int_equal(tickle_build_tcp(buf, sizeof(buf), &vip, 443, &cl, 51234), 20);
	check_tcp_fields(buf, 443, 51234);
	assert_int_equal(buf[16] << 8 | buf[17], 0x897e); /* computed with Python */
	assert_int_equal(tcp_verify(&vip, &cl, buf, 20), 0xffff);
	/* the pseudo-header matters: the same segment from another source does not verify */
	struct ip_addr other = A("2001:db8::101");
	assert_int_not_equal(tcp_verify(&other, &cl, buf, 20), 0xffff);
	/* many connections, all verify (carries folded right, odd and even ports) */
	for (uint32_t i = 1; i < 2000; i += 7) {
		struct ip_addr c = cl;
		c.b[13] = (uint8_t)(i * 37);
		c.b[14] = (uint8_t)(i >> 3);
		c.b[15] = (uint8_t)(0xff - i);
		assert_int_equal(
			tickle_build_tcp(buf, 20, &vip, (uint16_t)(i * 31 + 1), &c, (uint16_t)(65535 - i)),
			20);
		assert_int_equal(tcp_verify(&vip, &c, buf, 20), 0xffff);
	}
}

/* The test's own reading of an IPv4 + TCP packet. */
struct parsed {
	unsigned version, ihl, tos, total, id, flags, frag, ttl, proto;
	uint8_t src[4], dst[4];
	unsigned sport, dport, seq, ack, doff, tcp_flags, window;
};

static void parse_ipv4(const uint8_t *p, size_t len, struct parsed *o)
{
	assert_true(len >= 20);
	o->version = p[0] >> 4;
	o->ihl = p[0] & 15;
	o->tos = p[1];
	o->total = (unsigned)(p[2] << 8 | p[3]);
	o->id = (unsigned)(p[4] << 8 | p[5]);
	o->flags = p[6] >> 5;
	o->frag = (unsigned)((p[6] & 0x1f) << 8 | p[7]);
	o->ttl = p[8];
	o->proto = p[9];
	memcpy(o->src, p + 12, 4);
	memcpy(o->dst, p + 16, 4);
	const uint8_t *t = p + o->ihl * 4;
	assert_true(len >= o->ihl * 4 + 20u);
	o->sport = (unsigned)(t[0] << 8 | t[1]);
	o->dport = (unsigned)(t[2] << 8 | t[3]);
	o->seq = (unsigned)t[4] << 24 | (unsigned)t[5] << 16 | (unsigned)t[6] << 8 | t[7];
	o->ack = (unsigned)t[8] << 24 | (unsigned)t[9] << 16 | (unsigned)t[10] << 8 | t[11];
	o->doff = t[12] >> 4;
	o->tcp_flags = t[13] & 0x3f;
	o->window = (unsigned)(t[14] << 8 | t[15]);
}

static void test_ipv4_packet(void **state)
{
	(void)state;
	struct ip_addr vip = A("198.18.0.100"), cl = A("198.18.0.50");
	uint8_t buf[41];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(tickle_build_ipv4(buf, sizeof(buf), &vip, 6443, &cl, 40000), 40);
	assert_int_equal(buf[40], 0xaa);
	static const uint8_t want_ip[20] = {
		0x45, 0x00, 0x00, 0x28, /* v4, IHL 5, TOS 0, length 40 */
		0x00, 0x00, 0x40, 0x00, /* ID 0, DF */
		0x40, 0x06, 0xae, 0x15, /* TTL 64, TCP, checksum (computed with Python) */
		198,  18,   0,    100,  /* src: the VIP */
		198,  18,   0,    50,   /* dst: the client */
	};
	assert_memory_equal(buf, want_ip, 20);
	assert_int_equal(fold(buf, 20, 0), 0xffff); /* header checksum verifies */
	assert_int_equal(tcp_verify(&vip, &cl, buf + 20, 20), 0xffff);
	assert_int_equal(buf[36], 0x6d); /* the same segment as tickle_build_tcp */
	assert_int_equal(buf[37], 0xae);

	struct parsed p;
	parse_ipv4(buf, 40, &p);
	assert_int_equal(p.version, 4);
	assert_int_equal(p.ihl, 5);
	assert_int_equal(p.tos, 0);
	assert_int_equal(p.total, 40);
	assert_int_equal(p.id, 0);
	assert_int_equal(p.flags, 2); /* DF, not MF */
	assert_int_equal(p.frag, 0);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.proto, 6);
	assert_memory_equal(p.src, vip.b, 4);
	assert_memory_equal(p.dst, cl.b, 4);
	assert_int_equal(p.sport, 6443);
	assert_int_equal(p.dport, 40000);
	assert_int_equal(p.seq, 0);
	assert_int_equal(p.ack, 0);
	assert_int_equal(p.doff, 5);
	assert_int_equal(p.tcp_flags, 0x10);
	assert_int_equal(p.window, 65535);
}

static void test_ipv6_packet(void **state)
{
	(void)state;
	struct ip_addr vip = A("2001:db8::100"), cl = A("2001:db8::7");
	uint8_t buf[61];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(tickle_build_ipv6(buf, sizeof(buf), &vip, 443, &cl, 51234), 60);
	assert_int_equal(buf[60], 0xaa);
	static const uint8_t want_ip[8] = {
		0x60, 0,  0, 0,  /* version 6, traffic class 0, flow label 0 */
		0,    20, 6, 64, /* payload length 20, next header TCP, hop limit 64 */
	};
	assert_memory_equal(buf, want_ip, 8);
	assert_memory_equal(buf + 8, vip.b, 16);
	assert_memory_equal(buf + 24, cl.b, 16);
	uint8_t seg[20];
	assert_int_equal(tickle_build_tcp(seg, sizeof(seg), &vip, 443, &cl, 51234), 20);
	assert_memory_equal(buf + 40, seg, 20);
	assert_int_equal(buf[56] << 8 | buf[57], 0x897e); /* as in test_tcp_ipv6 */
	assert_int_equal(tcp_verify(&vip, &cl, buf + 40, 20), 0xffff);
}

static void test_refusals(void **state)
{
	(void)state;
	struct ip_addr v4 = A("198.18.0.100"), c4 = A("198.18.0.50");
	struct ip_addr v6 = A("2001:db8::100"), c6 = A("2001:db8::7");
	struct ip_addr none = { 0 };
	uint8_t buf[64];
	assert_int_equal(tickle_build_tcp(buf, 19, &v4, 1, &c4, 1), 0);
	assert_int_equal(tickle_build_tcp(buf, 20, &v4, 1, &c6, 1), 0); /* family mismatch */
	assert_int_equal(tickle_build_tcp(buf, 20, &none, 1, &none, 1), 0);
	assert_int_equal(tickle_build_tcp(buf, 20, &v4, 0, &c4, 1), 0);
	assert_int_equal(tickle_build_tcp(buf, 20, &v4, 1, &c4, 0), 0);
	assert_int_equal(tickle_build_ipv4(buf, 39, &v4, 1, &c4, 1), 0);
	assert_int_equal(tickle_build_ipv4(buf, 64, &v6, 1, &c6, 1), 0); /* IPv4 only */
	assert_int_equal(tickle_build_ipv4(buf, 64, &v4, 1, &c6, 1), 0);
	assert_int_equal(tickle_build_ipv4(buf, 64, &v4, 0, &c4, 1), 0);
	assert_int_equal(tickle_build_ipv4(buf, 40, &v4, 1, &c4, 1), 40);
	assert_int_equal(tickle_build_ipv6(buf, 59, &v6, 1, &c6, 1), 0);
	assert_int_equal(tickle_build_ipv6(buf, 64, &v4, 1, &c4, 1), 0); /* IPv6 only */
	assert_int_equal(tickle_build_ipv6(buf, 64, &v6, 1, &c4, 1), 0);
	assert_int_equal(tickle_build_ipv6(buf, 64, &v6, 1, &c6, 0), 0);
	assert_int_equal(tickle_build_ipv6(buf, 60, &v6, 1, &c6, 1), 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_ipv4_bytes), cmocka_unit_test(test_tcp_ipv6),
		cmocka_unit_test(test_ipv4_packet),    cmocka_unit_test(test_ipv6_packet),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
