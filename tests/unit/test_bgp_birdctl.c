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

/* Raw bytes read by a python client from BIRD 2.0.12's socket (namespaces, buoy's rendered
 * config, a router BIRD; `show protocols`, `show bfd sessions`, `configure`, `configure check`,
 * a bad command, `show bfd sessions` without BFD), in one stream as the socket delivers it.
 * Two sessions up, one down (no route), BFD up and down, a multihop BFD session. */
static const char UP[] =
	"0001 BIRD 2.0.12 ready.\n"
	"2002-Name       Proto      Table      State  Since         Info\n"
	"1002-device1    Device     ---        up     1796350941    \n"
	" bfd1       BFD        ---        up     1796350941    \n"
	" vips4      Static     master4    up     1796350941    \n"
	" vips6      Static     master6    up     1796350941    \n"
	" buoy_rt4   BGP        ---        up     1796350942    Established   \n"
	" buoy_rt6   BGP        ---        up     1796350942    Established   \n"
	" buoy_gone  BGP        ---        start  1796350941    Connect       Socket: No route to host\n"
	"0000 \n"
	"1020-bfd1:\n"
	" IP address                Interface  State      Since         Interval  Timeout\n"
	" 198.18.1.2                v-lb       Up         1796350942      0.100    0.300\n"
	" 2001:db8:1::2             v-lb       Up         1796350942      0.100    0.300\n"
	" 198.18.1.9                v-lb       Down       1796350941      1.000    0.000\n"
	" 198.18.7.7                ---        Down       1796350974      1.000    0.000\n"
	"0000 \n"
	"0002-Reading configuration from lb.conf\n"
	"0003 Reconfigured\n"
	"0002-Reading configuration from lb.conf\n"
	"0020 Configuration OK\n"
	"9001 syntax error, unexpected CF_SYM_UNDEFINED\n"
	"9001 There is no BFD protocol running\n";

/* Failures, captured the same way: the router's side while BFD packets are dropped, the LB's
 * BFD in Init, and a BIRD started where :179 is taken, with a 64-character protocol name. */
static const char DOWN[] =
	"0001 BIRD 2.0.12 ready.\n"
	"2002-Name       Proto      Table      State  Since         Info\n"
	"1002-device1    Device     ---        up     1796350643    \n"
	" direct1    Direct     ---        up     1796350643    \n"
	" k4         Kernel     master4    up     1796350643    \n"
	" bfd1       BFD        ---        up     1796350643    \n"
	" lb4        BGP        ---        start  1796351053    Idle          Error: BFD session down\n"
	" lb6        BGP        ---        up     1796350942    Established   \n"
	"0000 \n"
	"1020-bfd1:\n"
	" IP address                Interface  State      Since         Interval  Timeout\n"
	" 2001:db8:1::2             v-lb       Up         1796350942      0.100    0.300\n"
	" 198.18.1.2                v-lb       Init       1796351054      1.000    3.000\n"
	"0000 \n"
	"2002-Name       Proto      Table      State  Since         Info\n"
	"1002-device1    Device     ---        up     1796351066    \n"
	" buoy_rt4   BGP        ---        start  1796351066    Idle          \n"
	" buoy_nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn BGP        ---        down   1796351066    Error: No listening socket\n"
	"0000 \n"
	"1020-bfd1:\n"
	" IP address                Interface  State      Since         Interval  Timeout\n"
	"0000 \n";

#define MAX_SEEN 64

struct seen {
	struct birdctl_line l[MAX_SEEN];
	size_t n;
	size_t protos, bfds; /* rows the parsers took */
};

static void collect(void *arg, const struct birdctl_line *l)
{
	struct seen *s = arg;
	assert_true(s->n < MAX_SEEN);
	s->l[s->n++] = *l;
	struct birdctl_proto p;
	struct birdctl_bfd b;
	if (l->code == 1002 && birdctl_parse_proto(l->text, &p) == 0)
		s->protos++;
	if (l->code == 1020 && birdctl_parse_bfd(l->text, &b) == 0)
		s->bfds++;
}

static void feed_in_chunks(const char *stream, size_t chunk, struct seen *s)
{
	struct birdctl_reader r = { 0 };
	size_t len = strlen(stream);
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		assert_int_equal(birdctl_feed(&r, stream + off, n, collect, s), 0);
	}
}

static void same_lines(const struct seen *a, const struct seen *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->protos, b->protos);
	assert_int_equal(a->bfds, b->bfds);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->l[i].code, b->l[i].code);
		assert_int_equal(a->l[i].last, b->l[i].last);
		assert_string_equal(a->l[i].text, b->l[i].text);
	}
}

static void check_up(const struct seen *s)
{
	assert_int_equal(s->n, 23);
	assert_int_equal(s->protos, 7);
	assert_int_equal(s->bfds, 4);
	assert_int_equal(s->l[0].code, 1);
	assert_true(s->l[0].last);
	assert_string_equal(s->l[0].text, "BIRD 2.0.12 ready.");
	assert_int_equal(s->l[1].code, 2002);
	assert_false(s->l[1].last);
	assert_int_equal(s->l[3].code, 1002); /* continuation keeps the code */
	assert_false(s->l[3].last);
	assert_string_equal(s->l[3].text, "bfd1       BFD        ---        up     1796350941    ");
	assert_int_equal(s->l[9].code, 0);
	assert_true(s->l[9].last);
	assert_string_equal(s->l[9].text, "");
	assert_int_equal(s->l[10].code, 1020);
	assert_string_equal(s->l[10].text, "bfd1:");
	assert_int_equal(s->l[15].code, 1020);
	assert_int_equal(s->l[18].code, 3);
	assert_true(s->l[18].last);
	assert_string_equal(s->l[18].text, "Reconfigured");
	assert_int_equal(s->l[20].code, 20);
	assert_int_equal(s->l[21].code, 9001);
	assert_true(s->l[22].last);
	assert_string_equal(s->l[22].text, "There is no BFD protocol running");
}

static void check_down(const struct seen *s)
{
	assert_int_equal(s->n, 22);
	assert_int_equal(s->protos, 9);
	assert_int_equal(s->bfds, 2);
}

static void test_whole_and_one_byte_at_a_time(void **st)
{
	(void)st;
	static struct seen a, b, c, d;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	feed_in_chunks(UP, strlen(UP), &a);
	feed_in_chunks(UP, 1, &b);
	check_up(&a);
	same_lines(&a, &b);
	feed_in_chunks(DOWN, strlen(DOWN), &c);
	feed_in_chunks(DOWN, 1, &d);
	check_down(&c);
	same_lines(&c, &d);
}

static void split_everywhere(const char *stream, const struct seen *whole)
{
	static struct seen s;
	size_t len = strlen(stream);
	for (size_t cut = 1; cut < len; cut++) {
		struct birdctl_reader r = { 0 };
		memset(&s, 0, sizeof(s));
		assert_int_equal(birdctl_feed(&r, stream, cut, collect, &s), 0);
		assert_int_equal(birdctl_feed(&r, stream + cut, len - cut, collect, &s), 0);
		same_lines(whole, &s);
	}
}

static void test_split_at_every_byte(void **st)
{
	(void)st;
	static struct seen up, down;
	memset(&up, 0, sizeof(up));
	memset(&down, 0, sizeof(down));
	feed_in_chunks(UP, strlen(UP), &up);
	feed_in_chunks(DOWN, strlen(DOWN), &down);
	split_everywhere(UP, &up);
	split_everywhere(DOWN, &down);
}

/* The rows as the splitter hands them over (code and separator removed). */
static void proto_row(const char *text, const char *name, const char *state, int64_t since, const char *info)
{
	struct birdctl_proto p;
	assert_int_equal(birdctl_parse_proto(text, &p), 0);
	assert_string_equal(p.name, name);
	assert_string_equal(p.state, state);
	assert_int_equal(p.since_unix, since);
	assert_string_equal(p.info, info);
}

static void test_protocol_rows(void **st)
{
	(void)st;
	proto_row("buoy_rt4   BGP        ---        up     1796350942    Established   ",
		  "buoy_rt4", "up", 1796350942, "Established");
	proto_row("buoy_gone  BGP        ---        start  1796350941    Connect       Socket: No route to host",
		  "buoy_gone", "start", 1796350941, "Connect       Socket: No route to host");
	proto_row("lb4        BGP        ---        start  1796351053    Idle          Error: BFD session down",
		  "lb4", "start", 1796351053, "Idle          Error: BFD session down");
	proto_row("device1    Device     ---        up     1796350941    ", "device1", "up",
		  1796350941, "");
	/* a 64-character name is followed by one space; the row still parses whole */
	proto_row("buoy_nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn BGP        ---        down   1796351066    Error: No listening socket",
		  "buoy_nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", "down",
		  1796351066, "Error: No listening socket");
	struct birdctl_proto p;
	assert_int_equal(
		birdctl_parse_proto("vips4      Static     master4    up     1796350941    ", &p), 0);
	assert_string_equal(p.proto, "Static");
	/* not Unix seconds (another timeformat): unknown, not garbage */
	proto_row("x BGP --- up 2026-12-04 Active", "x", "up", -1, "Active");
	proto_row("x BGP --- up -5 Active", "x", "up", -1, "Active");
	assert_int_equal(
		birdctl_parse_proto("Name       Proto      Table      State  Since         Info", &p),
		-1);
	assert_int_equal(birdctl_parse_proto("too few words", &p), -1);
	assert_int_equal(birdctl_parse_proto("", &p), -1);
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	char line[400];
	snprintf(line, sizeof(line), "%s BGP --- up 1 Established", longname);
	assert_int_equal(birdctl_parse_proto(line, &p), -1); /* longer than the field: refused */
}

static void bfd_row(const char *text, const char *addr, const char *iface, const char *state, int64_t since)
{
	struct birdctl_bfd b;
	assert_int_equal(birdctl_parse_bfd(text, &b), 0);
	assert_string_equal(b.address, addr);
	assert_string_equal(b.interface, iface);
	assert_string_equal(b.state, state);
	assert_int_equal(b.since_unix, since);
}

static void test_bfd_rows(void **st)
{
	(void)st;
	bfd_row("198.18.1.2                v-lb       Up         1796350942      0.100    0.300",
		"198.18.1.2", "v-lb", "Up", 1796350942);
	bfd_row("2001:db8:1::2             v-lb       Up         1796350942      0.100    0.300",
		"2001:db8:1::2", "v-lb", "Up", 1796350942);
	bfd_row("198.18.1.9                v-lb       Down       1796350941      1.000    0.000",
		"198.18.1.9", "v-lb", "Down", 1796350941);
	bfd_row("198.18.1.2                v-lb       Init       1796351054      1.000    3.000",
		"198.18.1.2", "v-lb", "Init", 1796351054);
	bfd_row("198.18.7.7                ---        Down       1796350974      1.000    0.000",
		"198.18.7.7", "---", "Down", 1796350974); /* multihop: no interface */
	struct birdctl_bfd b;
	assert_int_equal(birdctl_parse_bfd("bfd1:", &b), -1);
	assert_int_equal(
		birdctl_parse_bfd("IP address                Interface  State      Since         Interval  Timeout",
				  &b),
		-1);
	assert_int_equal(birdctl_parse_bfd("198.18.1.2 v-lb", &b), -1);
	assert_int_equal(birdctl_parse_bfd("", &b), -1);
}

static void test_garbage_is_sticky(void **st)
{
	(void)st;
	const char *bad[] = {
		"HTTP/1.1 200 OK\n", "12 short\n", " continuation first\n", "0001x\n", "abcd-xyz\n"
	};
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
	assert_int_equal(birdctl_feed(&z, "0001 a\0b\n", 9, collect, &s), -1); /* a NUL */
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
