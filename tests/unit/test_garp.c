/* Gratuitous ARP / unsolicited NA frames byte by byte, the ICMPv6 checksum against a value
 * computed independently, and the burst schedule (initial burst, second burst after delay,
 * periodic refresh, on-demand burst, stop, late polls, interval 0). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vrrp/garp.h"

static const uint8_t MAC[6] = { 0x02, 0x42, 0xc6, 0x12, 0x00, 0x0b };

static void test_arp_frame(void **state)
{
	(void)state;
	uint8_t buf[128];
	memset(buf, 0xaa, sizeof(buf));
	struct in_addr vip;
	inet_pton(AF_INET, "198.18.0.100", &vip);
	assert_int_equal(garp_build_arp(buf, sizeof(buf), MAC, &vip), 60);
	static const uint8_t want[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,             /* broadcast */
		0x02, 0x42, 0xc6, 0x12, 0x00, 0x0b,             /* our MAC */
		0x08, 0x06,                                     /* ARP */
		0x00, 0x01, 0x08, 0x00, 6,    4,    0x00, 0x01, /* Ethernet/IPv4, request */
		0x02, 0x42, 0xc6, 0x12, 0x00, 0x0b,             /* sender MAC */
		198,  18,   0,    100,                          /* sender IP = VIP */
		0,    0,    0,    0,    0,    0,                /* target MAC */
		198,  18,   0,    100,                          /* target IP = VIP */
	};
	assert_memory_equal(buf, want, sizeof(want));
	for (size_t i = 42; i < 60; i++)
		assert_int_equal(buf[i], 0); /* padding zeroed */
	assert_int_equal(buf[60], 0xaa);     /* nothing written past the frame */
	assert_int_equal(garp_build_arp(buf, 59, MAC, &vip), 0);
}

static void test_na_frame(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct in6_addr src, vip;
	inet_pton(AF_INET6, "fe80::42:c6ff:fe12:b", &src);
	inet_pton(AF_INET6, "2001:db8::100", &vip);
	assert_int_equal(garp_build_na(buf, sizeof(buf), MAC, &src, &vip), 86);
	static const uint8_t eth[14] = {
		0x33, 0x33, 0, 0, 0, 1, 0x02, 0x42, 0xc6, 0x12, 0x00, 0x0b, 0x86, 0xdd
	};
	assert_memory_equal(buf, eth, 14);
	const uint8_t *ip = buf + 14;
	assert_int_equal(ip[0], 0x60);
	assert_int_equal(ip[1] | ip[2] | ip[3], 0);
	assert_int_equal(ip[4] << 8 | ip[5], 32); /* payload length */
	assert_int_equal(ip[6], 58);              /* ICMPv6 */
	assert_int_equal(ip[7], 255);             /* hop limit */
	assert_memory_equal(ip + 8, &src, 16);
	struct in6_addr all;
	inet_pton(AF_INET6, "ff02::1", &all);
	assert_memory_equal(ip + 24, &all, 16);
	const uint8_t *icmp = ip + 40;
	assert_int_equal(icmp[0], 136);
	assert_int_equal(icmp[1], 0);
	assert_int_equal(icmp[2] << 8 | icmp[3], 0x9ba6); /* computed independently (python) */
	assert_int_equal(icmp[4], 0x20);                  /* O=1, R=0, S=0 */
	assert_int_equal(icmp[5] | icmp[6] | icmp[7], 0);
	assert_memory_equal(icmp + 8, &vip, 16);
	assert_int_equal(icmp[24], 2); /* target link-layer address */
	assert_int_equal(icmp[25], 1);
	assert_memory_equal(icmp + 26, MAC, 6);
	/* Verifying with the checksum in place gives zero, as a receiver does. */
	assert_int_equal(garp_icmp6_csum(&src, &all, icmp, 32), 0);
	assert_int_equal(garp_build_na(buf, 85, MAC, &src, &vip), 0);
}

static void test_icmp6_csum_odd_and_fold(void **state)
{
	(void)state;
	struct in6_addr a, b;
	memset(&a, 0xff, sizeof(a));
	memset(&b, 0xff, sizeof(b));
	uint8_t msg[3] = { 0xff, 0xff, 0xff };
	/* Everything 0xffff folds to 0xffff; the odd byte pads with zero: sum = 0xff00 + tail. */
	uint16_t c = garp_icmp6_csum(&a, &b, msg, sizeof(msg));
	/* 16 words 0xffff + length 3 + next header 58 + 0xffff + 0xff00 */
	uint32_t sum = 16u * 0xffff + 3 + 58 + 0xffff + 0xff00;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(c, (uint16_t)~sum);
}

static const struct cfg_garp DEF = { .repeat = 5, .interval_ms = 10, .delay_ms = 5000, .refresh_ms = 60000 };

/* Steps time 1 ms at a time from `from` to `to`, polling like a perfect timer would, and
 * records the times at which rounds went out. */
static size_t simulate(struct garp_sched *s, uint64_t from, uint64_t to, uint64_t *times, size_t cap)
{
	size_t n = 0;
	for (uint64_t t = from; t <= to; t++) {
		uint32_t r = garp_sched_poll(s, t);
		for (uint32_t i = 0; i < r && n < cap; i++)
			times[n++] = t;
	}
	return n;
}

static void test_sched_default(void **state)
{
	(void)state;
	struct garp_sched s;
	uint64_t t[64];
	garp_sched_start(&s, &DEF, 1000);
	assert_int_equal(garp_sched_next(&s), 1000);
	size_t n = simulate(&s, 1000, 1000 + 130000, t, 64);
	/* burst at 1000, second at 6000, refreshes at 61000 and 121000: 4 bursts x 5 */
	assert_int_equal(n, 20);
	static const uint64_t starts[4] = { 1000, 6000, 61000, 121000 };
	for (size_t b = 0; b < 4; b++)
		for (size_t i = 0; i < 5; i++)
			assert_int_equal(t[b * 5 + i], starts[b] + i * 10);
	assert_int_equal(garp_sched_next(&s), 181000);
}

static void test_sched_stop_and_burst(void **state)
{
	(void)state;
	struct garp_sched s;
	uint64_t t[64];
	garp_sched_start(&s, &DEF, 0);
	assert_int_equal(simulate(&s, 0, 25, t, 64), 3); /* 0, 10, 20 */
	garp_sched_stop(&s);
	assert_int_equal(garp_sched_next(&s), UINT64_MAX);
	assert_int_equal(simulate(&s, 26, 200000, t, 64), 0);
	garp_sched_burst(&s, 300000); /* not master: ignored */
	assert_int_equal(garp_sched_poll(&s, 300000), 0);

	garp_sched_start(&s, &DEF, 0);
	assert_int_equal(simulate(&s, 0, 100, t, 64), 5);
	garp_sched_burst(&s, 3000); /* lower-priority advert heard */
	assert_int_equal(garp_sched_next(&s), 3000);
	size_t n = simulate(&s, 101, 70000, t, 64);
	/* on-demand burst at 3000, second burst still at 5000, refresh restarted: 63000 */
	assert_int_equal(n, 15);
	assert_int_equal(t[0], 3000);
	assert_int_equal(t[4], 3040);
	assert_int_equal(t[5], 5000);
	assert_int_equal(t[10], 63000);
}

static void test_sched_interval_zero_and_no_extras(void **state)
{
	(void)state;
	struct garp_sched s;
	struct cfg_garp c = { .repeat = 3, .interval_ms = 0, .delay_ms = 0, .refresh_ms = 0 };
	garp_sched_start(&s, &c, 50);
	assert_int_equal(garp_sched_poll(&s, 50), 3);
	assert_int_equal(garp_sched_poll(&s, 50), 0);
	assert_int_equal(garp_sched_next(&s), UINT64_MAX); /* no delay burst, no refresh */
	c.repeat = 0;                                      /* garp off */
	garp_sched_start(&s, &c, 50);
	assert_int_equal(garp_sched_poll(&s, 50), 0);
	assert_int_equal(garp_sched_next(&s), UINT64_MAX);
}

static void test_sched_late_poll(void **state)
{
	(void)state;
	struct garp_sched s;
	garp_sched_start(&s, &DEF, 0);
	assert_int_equal(garp_sched_poll(&s, 0), 1);
	/* The loop was busy for 100 ms: one round now, the rest spaced from now. */
	assert_int_equal(garp_sched_poll(&s, 100), 1);
	assert_int_equal(garp_sched_next(&s), 110);
	assert_int_equal(garp_sched_poll(&s, 105), 0);
	assert_int_equal(garp_sched_poll(&s, 110), 1);
	/* Suspended for 10 minutes: one refresh burst, not ten. */
	uint64_t t[64];
	size_t n = simulate(&s, 111, 130, t, 64);
	assert_int_equal(n, 2);
	n = simulate(&s, 600000, 600100, t, 64);
	assert_int_equal(n, 5);
	assert_int_equal(garp_sched_next(&s), 660000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_frame),
		cmocka_unit_test(test_na_frame),
		cmocka_unit_test(test_icmp6_csum_odd_and_fold),
		cmocka_unit_test(test_sched_default),
		cmocka_unit_test(test_sched_stop_and_burst),
		cmocka_unit_test(test_sched_interval_zero_and_no_extras),
		cmocka_unit_test(test_sched_late_poll),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
