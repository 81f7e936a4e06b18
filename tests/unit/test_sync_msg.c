/* Sync message codec: a hand-written byte vector (its HMAC computed independently, with
 * Python's hmac module), round trips of delta and full messages with IPv4 and IPv6 entries,
 * 0 and SYNC_MAX_ENTRIES entries, one test per drop reason (a field changed, then the MAC made
 * right again so the check after it is reached), every flipped bit and every truncation of a
 * valid message, and the replay/order rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "sync/msg.h"

static const uint8_t KEY[] = "0123456789abcdef";
#define KEYLEN 16

static struct ip_addr A(const char *s) {
	struct ip_addr a;
	assert_int_equal(ip_addr_parse(s, &a), 0);
	return a;
}

static struct sync_entry
E(uint8_t op, const char *vip, uint16_t vport, const char *client, uint16_t cport) {
	return (struct sync_entry){ .op = op, .vip = A(vip), .vport = vport, .client = A(client), .cport = cport };
}

static struct sync_hdr
H(uint8_t kind, uint8_t flags, const char *node, uint64_t epoch, uint64_t seq) {
	struct sync_hdr h = { .kind = kind, .flags = flags, .epoch = epoch, .seq = seq };
	snprintf(h.node, sizeof(h.node), "%s", node);
	return h;
}

/* Delta from "lb1", epoch 0x0102030405060708, seq 5: add 198.18.0.100:6443 <- 198.18.0.50:40000,
 * del [2001:db8::100]:443 <- [2001:db8::7]:51234. Key "0123456789abcdef". */
/* clang-format off */
static const uint8_t SMALL[] = {
	'B', 'S', 'Y', '1', 1, 1, 0, 3,                  /* magic, version, delta, flags, node_len */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  /* epoch */
	0, 0, 0, 0, 0, 0, 0, 5,                          /* seq */
	0, 2, 0, 0,                                      /* count, reserved */
	'l', 'b', '1',                                   /* node */
	1, 4,                                            /* add, IPv4 */
	198, 18, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                  /* vip */
	0x19, 0x2b,                                                           /* 6443 */
	198, 18, 0, 50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                   /* client */
	0x9c, 0x40,                                                           /* 40000 */
	2, 6,                                                                 /* del, IPv6 */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,     /* vip */
	0x01, 0xbb,                                                           /* 443 */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07,        /* client */
	0xc8, 0x22,                                                           /* 51234 */
	/* HMAC-SHA256 */
	0xd8, 0x80, 0x7a, 0x22, 0x2f, 0xa1, 0xa3, 0x1a, 0x77, 0xb6, 0x2a, 0x9c, 0x2d, 0x4d, 0xc3, 0xe8,
	0xdc, 0x36, 0xdb, 0x3c, 0xe6, 0xdb, 0xa2, 0x9a, 0xde, 0x2c, 0x3d, 0x04, 0x14, 0x1f, 0x91, 0xc6,
};
/* clang-format on */

static size_t small(uint8_t *buf, size_t cap)
{
	struct sync_hdr h = H(SYNC_KIND_DELTA, 0, "lb1", 0x0102030405060708ULL, 5);
	struct sync_entry e[2] = {
		E(SYNC_OP_ADD, "198.18.0.100", 6443, "198.18.0.50", 40000),
		E(SYNC_OP_DEL, "2001:db8::100", 443, "2001:db8::7", 51234),
	};
	return sync_encode(&h, e, 2, KEY, KEYLEN, buf, cap);
}

/* After a test changed a byte: the MAC made right again, so the checks after it run. */
static void remac(uint8_t *buf, size_t len)
{
	assert_true(sync_mac(KEY, KEYLEN, buf, len - SYNC_MAC_LEN, buf + len - SYNC_MAC_LEN));
}

static enum sync_verdict dec(const uint8_t *buf, size_t len, size_t cap)
{
	struct sync_hdr h;
	struct sync_entry out[SYNC_MAX_ENTRIES + 1];
	size_t n = 99;
	enum sync_verdict v = sync_decode(buf, len, KEY, KEYLEN, &h, out, cap, &n);
	if (v != SYNC_OK)
		assert_int_equal(n, 0);
	return v;
}

static void assert_entry_equal(const struct sync_entry *a, const struct sync_entry *b)
{
	assert_int_equal(a->op, b->op);
	assert_true(ip_addr_equal(&a->vip, &b->vip));
	assert_true(ip_addr_equal(&a->client, &b->client));
	assert_int_equal(a->vport, b->vport);
	assert_int_equal(a->cport, b->cport);
}

static void test_exact_bytes(void **state)
{
	(void)state;
	uint8_t buf[SYNC_MAX_MSG];
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(sizeof(SMALL), 28 + 3 + 2 * 38 + 32);
	assert_int_equal(small(buf, sizeof(buf)), sizeof(SMALL));
	assert_memory_equal(buf, SMALL, sizeof(SMALL));
	assert_int_equal(buf[sizeof(SMALL)], 0xaa); /* nothing past the message */
	/* and the hand-written bytes decode */
	struct sync_hdr h;
	struct sync_entry out[4];
	size_t n;
	assert_int_equal(sync_decode(SMALL, sizeof(SMALL), KEY, KEYLEN, &h, out, 4, &n), SYNC_OK);
	assert_int_equal(n, 2);
	assert_string_equal(h.node, "lb1");
	assert_int_equal(h.kind, SYNC_KIND_DELTA);
	assert_int_equal(h.flags, 0);
	assert_true(h.epoch == 0x0102030405060708ULL);
	assert_int_equal(h.seq, 5);
	struct sync_entry want = E(SYNC_OP_DEL, "2001:db8::100", 443, "2001:db8::7", 51234);
	assert_entry_equal(&out[1], &want);
	assert_int_equal(out[0].vip.prefix, 32);
	assert_int_equal(out[1].client.prefix, 128);
	/* exactly the length: one byte less of cap does not fit */
	assert_int_equal(small(buf, sizeof(SMALL) - 1), 0);
}

static void round_trip(const struct sync_hdr *h, const struct sync_entry *e, size_t n)
{
	uint8_t buf[SYNC_MAX_MSG], again[SYNC_MAX_MSG];
	size_t len = sync_encode(h, e, n, KEY, KEYLEN, buf, sizeof(buf));
	assert_int_equal(len, SYNC_HDR_LEN + strlen(h->node) + n * SYNC_ENTRY_LEN + SYNC_MAC_LEN);
	assert_true(len <= SYNC_MAX_MSG);
	struct sync_hdr g;
	struct sync_entry out[SYNC_MAX_ENTRIES];
	size_t m;
	assert_int_equal(sync_decode(buf, len, KEY, KEYLEN, &g, out, SYNC_MAX_ENTRIES, &m), SYNC_OK);
	assert_int_equal(m, n);
	assert_int_equal(g.kind, h->kind);
	assert_int_equal(g.flags, h->flags);
	assert_string_equal(g.node, h->node);
	assert_true(g.epoch == h->epoch && g.seq == h->seq);
	for (size_t i = 0; i < n; i++)
		assert_entry_equal(&out[i], &e[i]);
	/* decode then encode: the same bytes */
	assert_int_equal(sync_encode(&g, out, m, KEY, KEYLEN, again, sizeof(again)), len);
	assert_memory_equal(buf, again, len);
}

static void test_round_trip_delta_mixed(void **state)
{
	(void)state;
	struct sync_entry e[] = {
		E(SYNC_OP_ADD, "198.18.0.100", 6443, "198.18.3.4", 1),
		E(SYNC_OP_ADD, "2001:db8::100", 6443, "2001:db8:ffff::1", 65535),
		E(SYNC_OP_DEL, "198.18.0.100", 6443, "198.19.255.254", 33000),
		E(SYNC_OP_DEL, "2001:db8::100", 80, "2001:db8::2", 2),
	};
	struct sync_hdr h = H(SYNC_KIND_DELTA, 0, "lb-1.example_node", 1764835200000ULL, 42);
	round_trip(&h, e, 4);
}

static void test_round_trip_full_and_empty(void **state)
{
	(void)state;
	struct sync_entry e[] = {
		E(SYNC_OP_ADD, "2001:db8::100", 6443, "2001:db8::9", 40001),
		E(SYNC_OP_ADD, "198.18.0.100", 6443, "198.18.0.9", 40002),
	};
	struct sync_hdr h = H(SYNC_KIND_FULL, SYNC_F_FIRST, "lb2", 7, 1);
	round_trip(&h, e, 2);
	h = H(SYNC_KIND_FULL, SYNC_F_LAST, "lb2", 7, 2);
	round_trip(&h, e, 2);
	h = H(SYNC_KIND_FULL, SYNC_F_FIRST | SYNC_F_LAST, "lb2", 7, 3); /* "I hold nothing" */
	round_trip(&h, NULL, 0);
	h = H(SYNC_KIND_DELTA, 0, "x", UINT64_MAX, UINT64_MAX);
	round_trip(&h, NULL, 0);
}

static void test_round_trip_max(void **state)
{
	(void)state;
	assert_int_equal(SYNC_MAX_ENTRIES, 33);
	struct sync_entry e[SYNC_MAX_ENTRIES + 1];
	char name[SYNC_NODE_MAX + 1];
	memset(name, 'n', SYNC_NODE_MAX);
	name[SYNC_NODE_MAX] = 0;
	for (size_t i = 0; i <= SYNC_MAX_ENTRIES; i++) {
		char c[64];
		snprintf(c, sizeof(c), i % 2 ? "2001:db8::%zx" : "198.18.1.%zu", i + 1);
		e[i] = E(SYNC_OP_ADD, i % 2 ? "2001:db8::100" : "198.18.0.100", 6443, c,
			 (uint16_t)(30000 + i));
	}
	struct sync_hdr h = H(SYNC_KIND_FULL, SYNC_F_LAST, name, 1, 9);
	round_trip(&h, e, SYNC_MAX_ENTRIES);
	uint8_t buf[4096];
	assert_int_equal(sync_encode(&h, e, SYNC_MAX_ENTRIES + 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
}

/* The sender's batch size: a one-letter name would fit 35 entries, but the receiver decodes into
 * SYNC_MAX_ENTRIES (ASan once caught the sender overflowing a 33-entry array); every count it
 * gives encodes within SYNC_MAX_MSG and decodes. */
static void test_entries_per_msg(void **state)
{
	(void)state;
	char toolong[SYNC_NODE_MAX + 2], name[SYNC_NODE_MAX + 1];
	assert_int_equal(sync_entries_per_msg(""), 0);
	memset(toolong, 'n', sizeof(toolong) - 1);
	toolong[sizeof(toolong) - 1] = 0; /* 64 bytes */
	assert_int_equal(sync_entries_per_msg(toolong), 0);
	memset(name, 'n', sizeof(name));
	struct sync_entry e[SYNC_MAX_ENTRIES];
	for (size_t i = 0; i < SYNC_MAX_ENTRIES; i++) {
		char c[64];
		snprintf(c, sizeof(c), "2001:db8::%zx", i + 1);
		e[i] = E(SYNC_OP_ADD, "2001:db8::100", 6443, c, (uint16_t)(30000 + i));
	}
	for (size_t len = 1; len <= SYNC_NODE_MAX; len++) {
		name[len] = 0;
		size_t n = sync_entries_per_msg(name);
		assert_true(n >= 1 && n <= SYNC_MAX_ENTRIES);
		assert_int_equal(n, SYNC_MAX_ENTRIES); /* 33 fit even with the longest name */
		struct sync_hdr h = H(SYNC_KIND_FULL, 0, name, 1, 1);
		uint8_t buf[SYNC_MAX_MSG];
		size_t w = sync_encode(&h, e, n, KEY, KEYLEN, buf, sizeof(buf));
		assert_true(w > 0 && w <= SYNC_MAX_MSG);
		struct sync_hdr g;
		struct sync_entry out[SYNC_MAX_ENTRIES];
		size_t m = 0;
		assert_int_equal(sync_decode(buf, w, KEY, KEYLEN, &g, out, SYNC_MAX_ENTRIES, &m), SYNC_OK);
		assert_int_equal(m, n);
		name[len] = 'n';
	}
}

static void test_encode_refuses(void **state)
{
	(void)state;
	uint8_t buf[SYNC_MAX_MSG];
	struct sync_entry ok = E(SYNC_OP_ADD, "198.18.0.100", 6443, "198.18.0.50", 40000);
	struct sync_hdr h = H(SYNC_KIND_DELTA, 0, "lb1", 1, 1);
	assert_int_not_equal(sync_encode(&h, &ok, 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
	assert_int_equal(sync_encode(&h, &ok, 1, KEY, 0, buf, sizeof(buf)), 0); /* no key */
	static const char *const bad_nodes[] = {
		"",
		"lb 1",
		"lb\t1",
		"l\x7f",
		"\xc3\xa9t\xc3\xa9",
		"0123456789012345678901234567890123456789012345678901234567890123", /* 64 */
	};
	for (size_t i = 0; i < sizeof(bad_nodes) / sizeof(bad_nodes[0]); i++) {
		struct sync_hdr b = h;
		memset(b.node, 0, sizeof(b.node));
		memcpy(b.node, bad_nodes[i], strnlen(bad_nodes[i], SYNC_NODE_MAX));
		if (strlen(bad_nodes[i]) > SYNC_NODE_MAX)
			b.node[SYNC_NODE_MAX] = 'x'; /* not NUL-terminated within the field */
		assert_false(sync_node_valid(b.node));
		assert_int_equal(sync_encode(&b, &ok, 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
	}
	struct sync_hdr b = H(SYNC_KIND_DELTA, SYNC_F_LAST, "lb1", 1, 1); /* flags on a delta */
	assert_int_equal(sync_encode(&b, &ok, 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
	b = H(3, 0, "lb1", 1, 1);
	assert_int_equal(sync_encode(&b, &ok, 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
	b = H(SYNC_KIND_FULL, 8, "lb1", 1, 1); /* unknown flag */
	assert_int_equal(sync_encode(&b, &ok, 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
	b = H(SYNC_KIND_DELTA, 0, "lb1", 0, 1);
	assert_int_equal(sync_encode(&b, &ok, 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
	b = H(SYNC_KIND_DELTA, 0, "lb1", 1, 0);
	assert_int_equal(sync_encode(&b, &ok, 1, KEY, KEYLEN, buf, sizeof(buf)), 0);

	struct sync_entry bad[] = {
		E(SYNC_OP_ADD, "198.18.0.100", 6443, "2001:db8::1", 40000), /* family mismatch */
		E(SYNC_OP_ADD, "198.18.0.100", 0, "198.18.0.50", 40000),
		E(SYNC_OP_ADD, "198.18.0.100", 6443, "198.18.0.50", 0),
		E(SYNC_OP_ADD, "0.0.0.0", 6443, "198.18.0.50", 40000),
		E(SYNC_OP_ADD, "198.18.0.100", 6443, "224.0.0.18", 40000),
		E(SYNC_OP_ADD, "198.18.0.100", 6443, "255.255.255.255", 40000),
		E(SYNC_OP_ADD, "::", 6443, "2001:db8::1", 40000),
		E(SYNC_OP_ADD, "2001:db8::100", 6443, "ff02::1", 40000),
		E(0, "198.18.0.100", 6443, "198.18.0.50", 40000),
		E(3, "198.18.0.100", 6443, "198.18.0.50", 40000),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sync_encode(&h, &bad[i], 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
	struct sync_entry none = { .op = SYNC_OP_ADD, .vport = 1, .cport = 1 }; /* family 0 */
	assert_int_equal(sync_encode(&h, &none, 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
	struct sync_entry del = E(SYNC_OP_DEL, "198.18.0.100", 6443, "198.18.0.50", 40000);
	assert_int_not_equal(sync_encode(&h, &del, 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
	b = H(SYNC_KIND_FULL, 0, "lb1", 1, 1); /* a del in a full message */
	assert_int_equal(sync_encode(&b, &del, 1, KEY, KEYLEN, buf, sizeof(buf)), 0);
}

static void test_wrong_key(void **state)
{
	(void)state;
	struct sync_hdr h = { .kind = 99 };
	struct sync_entry out[4];
	memset(out, 0, sizeof(out));
	size_t n = 7;
	static const uint8_t other[] = "0123456789abcdeF";
	assert_int_equal(sync_decode(SMALL, sizeof(SMALL), other, KEYLEN, &h, out, 4, &n), SYNC_BAD_MAC);
	assert_int_equal(n, 0);
	assert_int_equal(h.kind, 99);   /* header untouched */
	assert_int_equal(out[0].op, 0); /* no entries read */
	assert_int_equal(sync_decode(SMALL, sizeof(SMALL), KEY, KEYLEN - 1, &h, out, 4, &n), SYNC_BAD_MAC);
	assert_int_equal(sync_decode(SMALL, sizeof(SMALL), KEY, 0, &h, out, 4, &n), SYNC_BAD_MAC);
	assert_int_equal(out[0].op, 0);
}

static void test_every_bit_flip(void **state)
{
	(void)state;
	uint8_t buf[sizeof(SMALL)];
	for (size_t bit = 0; bit < sizeof(SMALL) * 8; bit++) {
		memcpy(buf, SMALL, sizeof(buf));
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		enum sync_verdict v = dec(buf, sizeof(buf), 4);
		assert_int_not_equal(v, SYNC_OK);
		if (bit >= 5 * 8) /* past magic and version: the MAC catches it */
			assert_int_equal(v, SYNC_BAD_MAC);
	}
}

static void test_every_truncation(void **state)
{
	(void)state;
	for (size_t len = 0; len < sizeof(SMALL); len++) {
		enum sync_verdict v = dec(SMALL, len, 4);
		enum sync_verdict want =
			len < 4              ? SYNC_BAD_MAGIC
			: len < 5            ? SYNC_BAD_VERSION
			: len < SYNC_MIN_MSG ? SYNC_TRUNCATED
					     : SYNC_BAD_MAC;
		assert_int_equal(v, want);
	}
	/* cut short at an entry boundary and made authentic again: the count disagrees */
	uint8_t buf[sizeof(SMALL)];
	memcpy(buf, SMALL, sizeof(SMALL));
	size_t len = sizeof(SMALL) - SYNC_ENTRY_LEN;
	remac(buf, len);
	assert_int_equal(dec(buf, len, 4), SYNC_TRUNCATED);
	/* so short the node name does not fit */
	memcpy(buf, SMALL, sizeof(SMALL));
	buf[7] = 40;
	remac(buf, SYNC_MIN_MSG + 10);
	assert_int_equal(dec(buf, SYNC_MIN_MSG + 10, 4), SYNC_TRUNCATED);
}

static void test_trailing_byte(void **state)
{
	(void)state;
	uint8_t buf[sizeof(SMALL) + 1];
	memcpy(buf, SMALL, sizeof(SMALL));
	buf[sizeof(SMALL)] = 0;
	assert_int_equal(dec(buf, sizeof(buf), 4), SYNC_BAD_MAC);
	/* one byte after the entries, authenticated: the length still disagrees with count */
	memcpy(buf, SMALL, sizeof(SMALL) - SYNC_MAC_LEN);
	buf[sizeof(SMALL) - SYNC_MAC_LEN] = 0;
	remac(buf, sizeof(buf));
	assert_int_equal(dec(buf, sizeof(buf), 4), SYNC_TRUNCATED);
}

static void test_oversize(void **state)
{
	(void)state;
	uint8_t buf[SYNC_MAX_MSG + 1];
	memset(buf, 0, sizeof(buf));
	memcpy(buf, SMALL, sizeof(SMALL) - SYNC_MAC_LEN);
	remac(buf, sizeof(buf));
	assert_int_equal(dec(buf, sizeof(buf), SYNC_MAX_ENTRIES), SYNC_TRUNCATED);
}

/* One byte of SMALL set to val, the MAC fixed: the verdict. */
static enum sync_verdict patched(size_t off, uint8_t val, size_t cap)
{
	uint8_t buf[sizeof(SMALL)];
	memcpy(buf, SMALL, sizeof(SMALL));
	buf[off] = val;
	remac(buf, sizeof(buf));
	return dec(buf, sizeof(buf), cap);
}

static void test_counts(void **state)
{
	(void)state;
	assert_int_equal(patched(25, 2, 4), SYNC_OK);        /* the baseline, re-MAC'd */
	assert_int_equal(patched(25, 3, 4), SYNC_TRUNCATED); /* more than what follows */
	assert_int_equal(patched(25, 1, 4), SYNC_TRUNCATED); /* fewer: trailing bytes */
	assert_int_equal(patched(25, 0, 4), SYNC_TRUNCATED);
	assert_int_equal(patched(25, 2, 1), SYNC_BAD_COUNT); /* more than the caller's room */
	assert_int_equal(patched(25, 2, 2), SYNC_OK);
	assert_int_equal(patched(25, SYNC_MAX_ENTRIES + 1, SYNC_MAX_ENTRIES + 1), SYNC_BAD_COUNT);
	uint8_t buf[sizeof(SMALL)];
	memcpy(buf, SMALL, sizeof(SMALL));
	buf[24] = buf[25] = 0xff; /* absurd */
	remac(buf, sizeof(buf));
	assert_int_equal(dec(buf, sizeof(buf), SYNC_MAX_ENTRIES + 1), SYNC_BAD_COUNT);
}

static void test_magic_version(void **state)
{
	(void)state;
	assert_int_equal(patched(0, 'X', 4), SYNC_BAD_MAGIC);
	assert_int_equal(patched(3, '2', 4), SYNC_BAD_MAGIC);
	assert_int_equal(patched(4, 2, 4), SYNC_BAD_VERSION);
	assert_int_equal(patched(4, 0, 4), SYNC_BAD_VERSION);
}

static void test_bad_header(void **state)
{
	(void)state;
	assert_int_equal(patched(5, 0, 4), SYNC_BAD_HEADER); /* kind */
	assert_int_equal(patched(5, 3, 4), SYNC_BAD_HEADER);
	assert_int_equal(patched(6, SYNC_F_LAST, 4), SYNC_BAD_HEADER); /* flags on a delta */
	assert_int_equal(patched(6, SYNC_F_FIRST, 4), SYNC_BAD_HEADER);
	assert_int_equal(patched(6, SYNC_F_WITHDRAWN, 4), SYNC_OK); /* allowed on both kinds */
	assert_int_equal(patched(6, 0x08, 4), SYNC_BAD_HEADER);
	assert_int_equal(patched(26, 1, 4), SYNC_BAD_HEADER); /* reserved */
	assert_int_equal(patched(27, 0x80, 4), SYNC_BAD_HEADER);
	uint8_t buf[sizeof(SMALL)];
	memcpy(buf, SMALL, sizeof(SMALL));
	memset(buf + 8, 0, 8); /* epoch 0 */
	remac(buf, sizeof(buf));
	assert_int_equal(dec(buf, sizeof(buf), 4), SYNC_BAD_HEADER);
	memcpy(buf, SMALL, sizeof(SMALL));
	buf[23] = 0; /* seq 0 */
	remac(buf, sizeof(buf));
	assert_int_equal(dec(buf, sizeof(buf), 4), SYNC_BAD_HEADER);
}

/* A one-entry full message, to test flags and the del rule. */
static size_t full_one(uint8_t *buf, uint8_t flags)
{
	struct sync_hdr h = H(SYNC_KIND_FULL, flags, "lb1", 3, 3);
	struct sync_entry e = E(SYNC_OP_ADD, "198.18.0.100", 6443, "198.18.0.50", 40000);
	return sync_encode(&h, &e, 1, KEY, KEYLEN, buf, SYNC_MAX_MSG);
}

static void test_full_flags_and_del(void **state)
{
	(void)state;
	uint8_t buf[SYNC_MAX_MSG];
	for (uint8_t f = 0; f <= 7; f++) { /* LAST, FIRST, WITHDRAWN in every mix */
		size_t len = full_one(buf, f);
		assert_int_not_equal(len, 0);
		assert_int_equal(dec(buf, len, 1), SYNC_OK);
	}
	size_t len = full_one(buf, 0);
	buf[6] = 8; /* unknown flag */
	remac(buf, len);
	assert_int_equal(dec(buf, len, 1), SYNC_BAD_HEADER);
	len = full_one(buf, 0);
	buf[28 + 3] = SYNC_OP_DEL; /* a del in a full message */
	remac(buf, len);
	assert_int_equal(dec(buf, len, 1), SYNC_BAD_ENTRY);
}

static void test_bad_node(void **state)
{
	(void)state;
	assert_int_equal(patched(7, 0, 4), SYNC_BAD_NODE);  /* node_len 0 */
	assert_int_equal(patched(7, 64, 4), SYNC_BAD_NODE); /* > 63 */
	assert_int_equal(patched(7, 255, 4), SYNC_BAD_NODE);
	assert_int_equal(patched(28, ' ', 4), SYNC_BAD_NODE);
	assert_int_equal(patched(29, 0, 4), SYNC_BAD_NODE);
	assert_int_equal(patched(30, 0x7f, 4), SYNC_BAD_NODE);
	assert_int_equal(patched(30, 0xc3, 4), SYNC_BAD_NODE);
	assert_int_equal(patched(30, '~', 4), SYNC_OK);
}

static void test_bad_entry(void **state)
{
	(void)state;
	const size_t e0 = 28 + 3, e1 = e0 + SYNC_ENTRY_LEN;
	assert_int_equal(patched(e0, 0, 4), SYNC_BAD_ENTRY); /* op */
	assert_int_equal(patched(e0, 3, 4), SYNC_BAD_ENTRY);
	assert_int_equal(patched(e1, SYNC_OP_ADD, 4), SYNC_OK);
	assert_int_equal(patched(e0 + 1, 0, 4), SYNC_BAD_ENTRY); /* family */
	assert_int_equal(patched(e0 + 1, 2, 4), SYNC_BAD_ENTRY); /* AF_INET is not 4 */
	assert_int_equal(patched(e0 + 1, 10, 4), SYNC_BAD_ENTRY);
	/* IPv4 padding, in the vip and in the client, every byte */
	for (size_t i = 4; i < 16; i++) {
		assert_int_equal(patched(e0 + 2 + i, 1, 4), SYNC_BAD_ENTRY);
		assert_int_equal(patched(e0 + 20 + i, 0x80, 4), SYNC_BAD_ENTRY);
	}
	/* an IPv4 entry read as IPv6 is a valid other address (non-zero padding is not needed) */
	assert_int_equal(patched(e0 + 1, 6, 4), SYNC_OK);
	/* zero ports */
	uint8_t buf[sizeof(SMALL)];
	static const size_t port_offs[] = { e0 + 18, e0 + 36, e1 + 18, e1 + 36 };
	for (size_t i = 0; i < 4; i++) {
		memcpy(buf, SMALL, sizeof(SMALL));
		buf[port_offs[i]] = buf[port_offs[i] + 1] = 0;
		remac(buf, sizeof(buf));
		assert_int_equal(dec(buf, sizeof(buf), 4), SYNC_BAD_ENTRY);
	}
	/* unspecified and multicast addresses */
	memcpy(buf, SMALL, sizeof(SMALL));
	memset(buf + e0 + 20, 0, 4); /* client 0.0.0.0 */
	remac(buf, sizeof(buf));
	assert_int_equal(dec(buf, sizeof(buf), 4), SYNC_BAD_ENTRY);
	assert_int_equal(patched(e0 + 2, 224, 4), SYNC_BAD_ENTRY);   /* vip 224.18.0.100 */
	assert_int_equal(patched(e1 + 20, 0xff, 4), SYNC_BAD_ENTRY); /* client ff01:db8::7 */
	memcpy(buf, SMALL, sizeof(SMALL));
	memset(buf + e1 + 2, 0, 16); /* vip :: */
	remac(buf, sizeof(buf));
	assert_int_equal(dec(buf, sizeof(buf), 4), SYNC_BAD_ENTRY);
}

static void test_verdict_names(void **state)
{
	(void)state;
	for (int i = 0; i < SYNC_VERDICT__COUNT; i++) {
		const char *a = sync_verdict_name((enum sync_verdict)i);
		assert_non_null(a);
		assert_string_not_equal(a, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(a, sync_verdict_name((enum sync_verdict)j));
	}
	assert_string_equal(sync_verdict_name(SYNC_OK), "ok");
	assert_string_equal(sync_verdict_name(SYNC_BAD_MAC), "bad_mac");
	assert_string_equal(sync_verdict_name(SYNC_TRUNCATED), "truncated");
	assert_string_equal(sync_verdict_name(SYNC_VERDICT__COUNT), "unknown");
	assert_string_equal(sync_verdict_name((enum sync_verdict) - 1), "unknown");
}

static void test_fresh(void **state)
{
	(void)state;
	struct sync_seen s = { 0, 0 };
	assert_true(sync_fresh(&s, 1000, 1)); /* first message */
	assert_true(s.epoch == 1000 && s.seq == 1);
	assert_true(sync_fresh(&s, 1000, 2));       /* increasing */
	assert_true(sync_fresh(&s, 1000, 5));       /* a gap (lost datagrams) is fine */
	assert_false(sync_fresh(&s, 1000, 5));      /* replay of the same */
	assert_false(sync_fresh(&s, 1000, 3));      /* older: reordered or replayed */
	assert_true(s.epoch == 1000 && s.seq == 5); /* refusals change nothing */
	assert_true(sync_fresh(&s, 2000, 1));       /* the sender restarted: seq starts over */
	assert_true(s.epoch == 2000 && s.seq == 1);
	assert_false(sync_fresh(&s, 1000, 6)); /* the old epoch is gone for good */
	assert_false(sync_fresh(&s, 1999, UINT64_MAX));
	assert_true(sync_fresh(&s, 2000, UINT64_MAX));
	assert_false(sync_fresh(&s, 2000, UINT64_MAX));
	assert_true(sync_fresh(&s, UINT64_MAX, 1));
	assert_false(sync_fresh(&s, UINT64_MAX, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_entries_per_msg),
		cmocka_unit_test(test_round_trip_delta_mixed),
		cmocka_unit_test(test_round_trip_full_and_empty),
		cmocka_unit_test(test_round_trip_max),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_every_bit_flip),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_trailing_byte),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_magic_version),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_full_flags_and_del),
		cmocka_unit_test(test_bad_node),
		cmocka_unit_test(test_bad_entry),
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_fresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
