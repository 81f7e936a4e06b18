/* VRRP codec: known-good byte vectors (built by hand from the RFC layouts and checksummed
 * independently), round trips for every version/family, and one test per drop reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "vrrp/packet.h"

static struct ip_addr A(const char *s) {
	struct ip_addr a;
	assert_int_equal(ip_addr_parse(s, &a), 0);
	return a;
}

/* v3, IPv4, VRID 51, prio 100, 1 s, VIP 198.18.0.100, 198.18.0.10 -> 224.0.0.18, pseudo-header. */
static const uint8_t V3V4[] = {
	0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0xfd, 0x44, 0xc6, 0x12, 0x00, 0x64
};
/* Same with the RFC 9568 message-only checksum. */
static const uint8_t V3V4_MSGONLY[] = {
	0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0xa3, 0xf0, 0xc6, 0x12, 0x00, 0x64
};
/* v2, IPv4, VRID 1, prio 200, PASS "secret", 1 s, VIP 198.18.0.100. */
static const uint8_t V2V4[] = {
	0x21, 0x01, 0xc8, 0x01, 0x01, 0x01, 0x13, 0x39, 0xc6, 0x12,
	0x00, 0x64, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x00, 0x00
};
/* v3, IPv6, VRID 7, prio 150, 200 ms, VIP 2001:db8::100, fe80::1 -> ff02::12. */
static const uint8_t V3V6[] = {
	0x31, 0x07, 0x96, 0x01, 0x00, 0x14, 0x0c, 0x0b, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00
};

struct fixture {
	struct ip_addr vip, src, dst;
	uint8_t buf[VRRP_MAX_PKT];
	struct vrrp_rx rx;
	struct vrrp_encode enc;
};

/* A v3 instance: what it encodes and what it expects to receive agree. */
static void setup_v3(struct fixture *f, int family, const char *vip, const char *src,
		     const char *dst, uint8_t vrid, uint8_t prio, uint32_t interval_ms)
{
	memset(f, 0, sizeof(*f));
	f->vip = A(vip);
	f->src = A(src);
	f->dst = A(dst);
	f->enc = (struct vrrp_encode){
		.version = 3,
		.family = family,
		.vrid = vrid,
		.priority = prio,
		.interval_ms = interval_ms,
		.addrs = &f->vip,
		.n_addrs = 1,
		.src = f->src,
		.dst = f->dst
	};
	f->rx = (struct vrrp_rx){
		.ttl = 255,
		.src = f->src,
		.dst = f->dst,
		.version = 3,
		.vrid = vrid,
		.family = family,
		.interval_ms = interval_ms,
		.vips = &f->vip,
		.n_vips = 1
	};
}

/* A v3 IPv4 instance matching V3V4. */
static void setup_v3v4(struct fixture *f)
{
	setup_v3(f, AF_INET, "198.18.0.100", "198.18.0.10", "224.0.0.18", 51, 100, 1000);
}

static void setup_v2v4(struct fixture *f)
{
	setup_v3v4(f);
	f->enc.version = f->rx.version = 2;
	f->enc.vrid = f->rx.vrid = 1;
	f->enc.priority = 200;
	f->enc.auth_pass = f->rx.auth_pass = "secret";
}

static void setup_v3v6(struct fixture *f)
{
	setup_v3(f, AF_INET6, "2001:db8::100", "fe80::1", "ff02::12", 7, 150, 200);
}

static void encode_matches(struct fixture *f, const uint8_t *want, size_t want_len)
{
	int n = vrrp_encode(&f->enc, f->buf, sizeof(f->buf));
	assert_int_equal(n, (int)want_len);
	assert_memory_equal(f->buf, want, want_len);
}

static void test_vectors_encode(void **state)
{
	(void)state;
	struct fixture f;
	setup_v3v4(&f);
	encode_matches(&f, V3V4, sizeof(V3V4));
	f.enc.v3_msg_only_checksum = true;
	encode_matches(&f, V3V4_MSGONLY, sizeof(V3V4_MSGONLY));
	setup_v2v4(&f);
	encode_matches(&f, V2V4, sizeof(V2V4));
	setup_v3v6(&f);
	encode_matches(&f, V3V6, sizeof(V3V6));
}

static enum vrrp_drop decode_bytes(struct fixture *f, const uint8_t *b, size_t n, struct vrrp_advert *a)
{
	memcpy(f->buf, b, n);
	f->rx.bytes = f->buf;
	f->rx.len = n;
	return vrrp_decode(&f->rx, a);
}

static void test_vectors_decode(void **state)
{
	(void)state;
	struct fixture f;
	struct vrrp_advert a;

	setup_v3v4(&f);
	assert_int_equal(decode_bytes(&f, V3V4, sizeof(V3V4), &a), VRRP_OK);
	assert_int_equal(a.version, 3);
	assert_int_equal(a.vrid, 51);
	assert_int_equal(a.priority, 100);
	assert_int_equal(a.interval_ms, 1000);
	assert_int_equal(a.n_addrs, 1);
	assert_memory_equal(a.addrs, f.vip.b, 4);
	assert_false(a.checksum_msg_only);
	assert_true(ip_addr_equal(&a.src, &f.src));

	/* RFC 9568 message-only checksum is accepted on receive, and flagged */
	assert_int_equal(decode_bytes(&f, V3V4_MSGONLY, sizeof(V3V4_MSGONLY), &a), VRRP_OK);
	assert_true(a.checksum_msg_only);

	setup_v2v4(&f);
	assert_int_equal(decode_bytes(&f, V2V4, sizeof(V2V4), &a), VRRP_OK);
	assert_int_equal(a.version, 2);
	assert_int_equal(a.priority, 200);
	assert_int_equal(a.auth_type, VRRP_AUTH_PASS);
	assert_int_equal(a.interval_ms, 1000);

	setup_v3v6(&f);
	assert_int_equal(decode_bytes(&f, V3V6, sizeof(V3V6), &a), VRRP_OK);
	assert_int_equal(a.interval_ms, 200);
	assert_int_equal(a.priority, 150);
	assert_memory_equal(a.addrs, f.vip.b, 16);
}

/* Every version x family x auth combination survives encode -> decode. */
static void test_round_trips(void **state)
{
	(void)state;
	struct fixture f;
	struct vrrp_advert a;
	struct ip_addr vips6[3] = { A("2001:db8::1"), A("2001:db8::2"), A("2001:db8:1::ff") };
	struct ip_addr vips4[3] = { A("198.18.0.1"), A("198.18.0.2"), A("198.19.255.254") };
	const char *passes[] = { NULL, "", "x", "12345678", "123456789" };

	for (int version = 2; version <= 3; version++) {
		for (int fam = 0; fam < 2; fam++) {
			for (size_t p = 0; p < 5; p++) {
				fam ? setup_v3v6(&f) : setup_v3v4(&f);
				f.enc.addrs = f.rx.vips = fam ? vips6 : vips4;
				f.enc.n_addrs = f.rx.n_vips = 3;
				f.enc.version = f.rx.version = (uint8_t)version;
				f.enc.interval_ms = f.rx.interval_ms = version == 2 ? 3000 : 40950;
				f.enc.auth_pass = f.rx.auth_pass = version == 2 ? passes[p] : NULL;
				int n = vrrp_encode(&f.enc, f.buf, sizeof(f.buf));
				assert_true(n > 0);
				f.rx.bytes = f.buf;
				f.rx.len = (size_t)n;
				assert_int_equal(vrrp_decode(&f.rx, &a), VRRP_OK);
				assert_int_equal(a.n_addrs, 3);
				assert_int_equal(a.interval_ms, f.enc.interval_ms);
				assert_int_equal(a.priority, f.enc.priority);
				assert_memory_equal(
					a.addrs, fam ? (void *)&vips6[0].b : (void *)&vips4[0].b,
					fam ? 16 : 4);
			}
		}
	}
}

static void test_encode_limits(void **state)
{
	(void)state;
	struct fixture f;
	setup_v3v4(&f);
	f.enc.interval_ms = 5; /* below 1 cs -> 1 cs */
	assert_int_equal(vrrp_encode(&f.enc, f.buf, sizeof(f.buf)), 12);
	assert_int_equal(f.buf[5], 1);
	f.enc.interval_ms = 100000; /* above 4095 cs -> clamped */
	vrrp_encode(&f.enc, f.buf, sizeof(f.buf));
	assert_int_equal((f.buf[4] << 8) | f.buf[5], 4095);
	assert_int_equal(vrrp_encode(&f.enc, f.buf, 11), -1); /* does not fit */
	f.enc.version = 4;
	assert_int_equal(vrrp_encode(&f.enc, f.buf, sizeof(f.buf)), -1);
	f.enc.version = 3;
	f.enc.family = AF_INET6; /* VIP family mismatch */
	assert_int_equal(vrrp_encode(&f.enc, f.buf, sizeof(f.buf)), -1);
}

/* Each drop reason, provoked by one change to a good v3 IPv4 or v2 packet. */
static enum vrrp_drop good_then(struct fixture *f, void (*mutate)(struct fixture *, int *len))
{
	int n = vrrp_encode(&f->enc, f->buf, sizeof(f->buf));
	assert_true(n > 0);
	mutate(f, &n);
	f->rx.bytes = f->buf;
	f->rx.len = (size_t)n;
	return vrrp_decode(&f->rx, NULL);
}

/* Recompute the checksum after a mutation so that only the intended check fails. */
static void refix(struct fixture *f, int n)
{
	bool pseudo = f->enc.family == AF_INET6 || f->enc.version == 3;
	f->buf[6] = f->buf[7] = 0;
	uint16_t c = vrrp_checksum(&f->src, &f->dst, f->buf, (size_t)n, pseudo);
	f->buf[6] = (uint8_t)(c >> 8);
	f->buf[7] = (uint8_t)c;
}

/* One mutation per line: a table in all but name. */
/* clang-format off */
static void m_none(struct fixture *f, int *n) { (void)f; (void)n; }
static void m_ttl(struct fixture *f, int *n) { (void)n; f->rx.ttl = 64; }
static void m_own(struct fixture *f, int *n) { (void)n; f->rx.local = &f->src; }
static void m_family(struct fixture *f, int *n) { (void)n; f->rx.src = A("fe80::1"); }
static void m_version(struct fixture *f, int *n) { f->buf[0] = 0x21; refix(f, *n); }
static void m_version0(struct fixture *f, int *n) { f->buf[0] = 0x01; refix(f, *n); }
static void m_type(struct fixture *f, int *n) { f->buf[0] = 0x32; refix(f, *n); }
static void m_vrid(struct fixture *f, int *n) { f->buf[1] = 52; refix(f, *n); }
static void m_short(struct fixture *f, int *n) { (void)f; *n = 7; }
static void m_truncated(struct fixture *f, int *n) { (*n)--; refix(f, *n); }
static void m_oversize(struct fixture *f, int *n) { f->buf[(*n)++] = 0; refix(f, *n); }
static void m_count_len(struct fixture *f, int *n) { f->buf[3] = 2; refix(f, *n); }
static void m_checksum(struct fixture *f, int *n) { (void)n; f->buf[7] ^= 1; }
static void m_body(struct fixture *f, int *n) { (void)n; f->buf[2] ^= 1; }
static void m_interval0(struct fixture *f, int *n) { f->buf[5] = 0; refix(f, *n); }
static void m_dst(struct fixture *f, int *n) { (void)n; f->rx.dst = A("198.18.0.99"); }
static void m_addr(struct fixture *f, int *n) { f->buf[11] = 101; refix(f, *n); }
static void m_addr_owner(struct fixture *f, int *n)
{
	f->buf[11] = 101;
	f->buf[2] = 255;
	refix(f, *n);
}
static void m_two_vips(struct fixture *f, int *n)
{
	(void)n;
	static struct ip_addr two[2];
	two[0] = f->vip;
	two[1] = A("198.18.0.101");
	f->rx.vips = two;
	f->rx.n_vips = 2;
}
static void m_peer(struct fixture *f, int *n)
{
	(void)n;
	static struct ip_addr peers[2];
	peers[0] = A("198.18.0.11");
	peers[1] = A("198.18.0.12");
	f->rx.peers = peers;
	f->rx.n_peers = 2;
}
static void m_peer_ok(struct fixture *f, int *n)
{
	m_peer(f, n);
	((struct ip_addr *)f->rx.peers)[1] = f->src;
}
static void m_min_ttl(struct fixture *f, int *n) { m_ttl(f, n); f->rx.min_ttl = 1; }
/* clang-format on */

struct drop_case {
	const char *name;
	void (*setup)(struct fixture *);
	void (*mutate)(struct fixture *, int *);
	enum vrrp_drop want;
};

static void test_drop_reasons(void **state)
{
	(void)state;
	static const struct drop_case cases[] = {
		{ "good v3", setup_v3v4, m_none, VRRP_OK },
		{ "good v2", setup_v2v4, m_none, VRRP_OK },
		{ "good v6", setup_v3v6, m_none, VRRP_OK },
		{ "ttl 64", setup_v3v4, m_ttl, VRRP_DROP_TTL },
		{ "ttl 64 v6", setup_v3v6, m_ttl, VRRP_DROP_TTL },
		{ "ttl relaxed", setup_v3v4, m_min_ttl, VRRP_OK },
		{ "own", setup_v3v4, m_own, VRRP_DROP_OWN },
		{ "family", setup_v3v4, m_family, VRRP_DROP_SOURCE },
		{ "not a peer", setup_v3v4, m_peer, VRRP_DROP_SOURCE },
		{ "a peer", setup_v3v4, m_peer_ok, VRRP_OK },
		{ "v2 to v3", setup_v3v4, m_version, VRRP_DROP_VERSION },
		{ "v3 to v2", setup_v2v4, m_version0, VRRP_DROP_VERSION },
		{ "type 2", setup_v3v4, m_type, VRRP_DROP_TYPE },
		{ "vrid", setup_v3v4, m_vrid, VRRP_DROP_VRID },
		{ "short", setup_v3v4, m_short, VRRP_DROP_LENGTH },
		{ "truncated", setup_v3v4, m_truncated, VRRP_DROP_LENGTH },
		{ "truncated v2", setup_v2v4, m_truncated, VRRP_DROP_LENGTH },
		{ "oversize", setup_v3v4, m_oversize, VRRP_DROP_LENGTH },
		{ "count vs length", setup_v3v4, m_count_len, VRRP_DROP_LENGTH },
		{ "checksum", setup_v3v4, m_checksum, VRRP_DROP_CHECKSUM },
		{ "checksum v2", setup_v2v4, m_checksum, VRRP_DROP_CHECKSUM },
		{ "checksum v6", setup_v3v6, m_checksum, VRRP_DROP_CHECKSUM },
		{ "body changed", setup_v3v4, m_body, VRRP_DROP_CHECKSUM },
		{ "pseudo dst", setup_v3v4, m_dst, VRRP_DROP_CHECKSUM },
		{ "interval 0", setup_v3v4, m_interval0, VRRP_DROP_INTERVAL },
		{ "vip count", setup_v3v4, m_two_vips, VRRP_DROP_ADDR_COUNT },
		{ "vip list", setup_v3v4, m_addr, VRRP_DROP_ADDR_LIST },
		{ "vip list owner", setup_v3v4, m_addr_owner, VRRP_OK },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture f;
		cases[i].setup(&f);
		enum vrrp_drop got = good_then(&f, cases[i].mutate);
		if (got != cases[i].want)
			fail_msg("%s: got %s want %s", cases[i].name, vrrp_drop_name(got),
				 vrrp_drop_name(cases[i].want));
	}
}

/* v2-only checks: auth type, password, interval. */
static void test_drop_v2(void **state)
{
	(void)state;
	struct fixture f;
	setup_v2v4(&f);
	f.rx.auth_pass = "other";
	assert_int_equal(good_then(&f, m_none), VRRP_DROP_AUTH);
	setup_v2v4(&f);
	f.rx.auth_pass = NULL; /* we expect type 0, sender uses PASS */
	assert_int_equal(good_then(&f, m_none), VRRP_DROP_AUTH);
	setup_v2v4(&f);
	f.enc.auth_pass = NULL; /* we expect PASS, sender uses type 0 */
	assert_int_equal(good_then(&f, m_none), VRRP_DROP_AUTH);
	setup_v2v4(&f);
	f.enc.auth_pass = "secret-but-longer"; /* only 8 bytes on the wire */
	f.rx.auth_pass = "secret-b";
	assert_int_equal(good_then(&f, m_none), VRRP_OK);
	setup_v2v4(&f);
	f.enc.interval_ms = 2000;
	assert_int_equal(good_then(&f, m_none), VRRP_DROP_INTERVAL);
	/* v3 adopts the master's interval instead of dropping */
	setup_v3v4(&f);
	f.enc.interval_ms = 2000;
	assert_int_equal(good_then(&f, m_none), VRRP_OK);
}

static void test_names(void **state)
{
	(void)state;
	for (int i = 0; i < VRRP_DROP__COUNT; i++)
		assert_non_null(vrrp_drop_names[i]);
	assert_string_equal(vrrp_drop_name(VRRP_DROP_TTL), "ttl");
	assert_string_equal(vrrp_drop_name(VRRP_DROP_VRID), "vrid");
	assert_string_equal(vrrp_drop_name(VRRP_DROP_ADDR_COUNT), "addr_count");
	assert_string_equal(vrrp_drop_name(VRRP_DROP__COUNT), "unknown");
}

static void test_addr_helpers(void **state)
{
	(void)state;
	char buf[64];
	struct ip_addr a = A("198.18.0.2"), b = A("198.18.0.10"), c = A("2001:db8::1");
	assert_true(ip_addr_cmp(&a, &b) < 0);
	assert_true(ip_addr_cmp(&b, &a) > 0);
	assert_int_equal(ip_addr_cmp(&a, &a), 0);
	assert_false(ip_addr_equal(&a, &c));
	assert_string_equal(ip_addr_format(&c, IP_FMT_ADDR, buf, sizeof(buf)), "2001:db8::1");
	assert_int_equal(ip_addr_parse("nope", &a), -EINVAL);
	/* RFC 1071 example-style check: a buffer with its checksum sums to zero */
	uint8_t d[6] = { 0x45, 0x00, 0x12, 0x34, 0, 0 };
	uint16_t ck = vrrp_checksum(NULL, NULL, d, 6, false);
	d[4] = (uint8_t)(ck >> 8);
	d[5] = (uint8_t)ck;
	assert_int_equal(vrrp_checksum(NULL, NULL, d, 6, false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_encode), cmocka_unit_test(test_vectors_decode),
		cmocka_unit_test(test_round_trips),    cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_drop_reasons),   cmocka_unit_test(test_drop_v2),
		cmocka_unit_test(test_names),          cmocka_unit_test(test_addr_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
