/* BIRD control-socket replies (src/bgp/birdctl.c): replies captured from BIRD 2.0.12, fed whole,
 * split at every byte and one byte at a time; the row parsers; garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bgp/birdctl.h"

/* Captured with a python client on BIRD 2.0.12's socket (`show protocols`, `show bfd
 * sessions`, `configure`, a bad command), in one stream as the socket delivers it. */
static const char REPLIES[] =
	"0001 BIRD 2.0.12 ready.\n"
	"2002-Name       Proto      Table      State  Since         Info\n"
	"1002-device1    Device     ---        up     1796343733    \n"
	" buoy_bfd   BFD        ---        up     1796343733    \n"
	" buoy_vips4 Static     master4    up     1796343733    \n"
	" buoy_rt    BGP        ---        up     1796343738    Established   \n"
	" buoy_rt6   BGP        ---        start  1796343741    Idle          Error: BFD session down\n"
	"0000 \n"
	"1020-buoy_bfd:\n"
	" IP address                Interface  State      Since         Interval  Timeout\n"
	" 198.18.1.0                veth-lb    Up         1796343734      0.100    0.300\n"
	" 2001:db8:1:1::1           up0        Down       1796343735      1.000    0.000\n"
	"0000 \n"
	"0002-Reading configuration from t.conf\n"
	"0003 Reconfigured\n"
	"9001 syntax error, unexpected CF_SYM_UNDEFINED\n";

struct seen {
	struct birdctl_line l[32];
	size_t n;
};

static void collect(void *arg, const struct birdctl_line *l)
{
	struct seen *s = arg;
	assert_true(s->n < 32);
	s->l[s->n++] = *l;
}

static void check_lines(const struct seen *s)
{
	assert_int_equal(s->n, 16);
	assert_int_equal(s->l[0].code, 1);
	assert_true(s->l[0].last);
	assert_string_equal(s->l[0].text, "BIRD 2.0.12 ready.");
	assert_int_equal(s->l[1].code, 2002);
	assert_int_equal(s->l[3].code, 1002);       /* continuation keeps the code */
	assert_false(s->l[3].last);
	assert_int_equal(s->l[7].code, 0);
	assert_true(s->l[7].last);
	assert_int_equal(s->l[8].code, 1020);
	assert_string_equal(s->l[8].text, "buoy_bfd:");
	assert_int_equal(s->l[10].code, 1020);
	assert_int_equal(s->l[14].code, 3);
	assert_true(s->l[14].last);
	assert_int_equal(s->l[15].code, 9001);
}

static void feed_in_chunks(size_t chunk, struct seen *s)
{
	struct birdctl_reader r = { 0 };
	size_t len = strlen(REPLIES);
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		assert_int_equal(birdctl_feed(&r, REPLIES + off, n, collect, s), 0);
	}
}

static void test_whole_and_one_byte_at_a_time(void **st)
{
	(void)st;
	struct seen a = { 0 }, b = { 0 };
	feed_in_chunks(strlen(REPLIES), &a);
	feed_in_chunks(1, &b);
	check_lines(&a);
	check_lines(&b);
}

static void test_split_at_every_byte(void **st)
{
	(void)st;
	size_t len = strlen(REPLIES);
	for (size_t cut = 1; cut < len; cut++) {
		struct birdctl_reader r = { 0 };
		struct seen s = { 0 };
		assert_int_equal(birdctl_feed(&r, REPLIES, cut, collect, &s), 0);
		assert_int_equal(birdctl_feed(&r, REPLIES + cut, len - cut, collect, &s), 0);
		check_lines(&s);
	}
}

static void test_protocol_rows(void **st)
{
	(void)st;
	struct birdctl_proto p;
	assert_int_equal(birdctl_parse_proto("buoy_rt    BGP        ---        up     1796343738    Established   ", &p), 0);
	assert_string_equal(p.name, "buoy_rt");
	assert_string_equal(p.proto, "BGP");
	assert_string_equal(p.state, "up");
	assert_int_equal(p.since_unix, 1796343738);
	assert_string_equal(p.info, "Established");
	assert_int_equal(birdctl_parse_proto("buoy_rt6   BGP        ---        start  1796343741    Idle          Error: BFD session down", &p), 0);
	assert_string_equal(p.state, "start");
	assert_string_equal(p.info, "Idle          Error: BFD session down");
	assert_int_equal(birdctl_parse_proto("device1    Device     ---        up     1796343733    ", &p), 0);
	assert_string_equal(p.info, "");
	assert_int_equal(birdctl_parse_proto("x BGP --- up 2026-12-04 Active", &p), 0);
	assert_int_equal(p.since_unix, -1);          /* not Unix seconds: unknown, not garbage */
	assert_int_equal(birdctl_parse_proto("Name       Proto      Table      State  Since         Info", &p), -1);
	assert_int_equal(birdctl_parse_proto("too few words", &p), -1);
	assert_int_equal(birdctl_parse_proto("", &p), -1);
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	char line[400];
	snprintf(line, sizeof(line), "%s BGP --- up 1 Established", longname);
	assert_int_equal(birdctl_parse_proto(line, &p), -1); /* longer than the field: refused */
}

static void test_bfd_rows(void **st)
{
	(void)st;
	struct birdctl_bfd b;
	assert_int_equal(birdctl_parse_bfd("198.18.1.0                veth-lb    Up         1796343734      0.100    0.300", &b), 0);
	assert_string_equal(b.address, "198.18.1.0");
	assert_string_equal(b.interface, "veth-lb");
	assert_string_equal(b.state, "Up");
	assert_int_equal(b.since_unix, 1796343734);
	assert_int_equal(birdctl_parse_bfd("2001:db8:1:1::1           up0        Down       1796343735      1.000    0.000", &b), 0);
	assert_string_equal(b.state, "Down");
	assert_int_equal(birdctl_parse_bfd("buoy_bfd:", &b), -1);
	assert_int_equal(birdctl_parse_bfd("IP address                Interface  State      Since         Interval  Timeout", &b), -1);
}

static void test_garbage_is_sticky(void **st)
{
	(void)st;
	const char *bad[] = { "HTTP/1.1 200 OK\n", "12 short\n", " continuation first\n",
			      "0001x\n", "abcd-xyz\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct birdctl_reader r = { 0 };
		struct seen s = { 0 };
		assert_int_equal(birdctl_feed(&r, bad[i], strlen(bad[i]), collect, &s), -1);
		assert_int_equal(s.n, 0);
		assert_int_equal(birdctl_feed(&r, "0001 ok\n", 8, collect, &s), -1);
	}
	struct birdctl_reader r = { 0 };
	struct seen s = { 0 };
	char big[BIRDCTL_MAX_LINE + 10];
	memset(big, 'x', sizeof(big));
	memcpy(big, "1002-", 5);
	assert_int_equal(birdctl_feed(&r, big, sizeof(big), collect, &s), -1); /* no newline in sight */
	struct birdctl_reader z = { 0 };
	assert_int_equal(birdctl_feed(&z, "0001 a\0b\n", 9, collect, &s), -1);     /* a NUL */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_and_one_byte_at_a_time),
		cmocka_unit_test(test_split_at_every_byte),
		cmocka_unit_test(test_protocol_rows),
		cmocka_unit_test(test_bfd_rows),
		cmocka_unit_test(test_garbage_is_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
