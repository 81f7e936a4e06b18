/* VRRP advert decoder/validator (src/vrrp/packet.c): v2/v3, IPv4/IPv6, multicast/unicast.
 *
 * Input: a configuration header (flags, TTL, VRID, interval, addresses, VIPs, password) then the
 * VRRP message as it would come off a raw socket. Flag bit 7 patches in a correct checksum so
 * the fuzzer reaches the checks after it. Invariants: decode never reads outside the message;
 * an accepted advert agrees with its own length and with the receiver's VRID/version; and what
 * vrrp_encode() builds from the same configuration is always accepted (round trip). */
#include <sys/socket.h>

#include "fuzz.h"
#include "vrrp/packet.h"

#define MAX_VIPS 3

struct setup {
	uint8_t flags, ttl, vrid, prio, n_vips;
	uint32_t interval_ms; /* as config validation allows: v2 1..255 s, v3 10..40950 ms */
	struct ip_addr src, dst, local, vips[MAX_VIPS];
	char pass[9];
};

static void read_addr(struct fz *f, uint8_t family, struct ip_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	fz_bytes(f, a->b, ip_addr_len(family));
}

static void read_setup(struct fz *f, struct setup *s)
{
	memset(s, 0, sizeof(*s));
	s->flags = fz_u8(f);
	s->ttl = fz_u8(f);
	s->vrid = fz_u8(f);
	s->prio = fz_u8(f);
	uint16_t iv = fz_u16(f);
	s->interval_ms = s->flags & 1 ? (uint32_t)(iv % 4095 + 1) * 10 : (uint32_t)(iv % 255 + 1) * 1000;
	uint8_t family = s->flags & 2 ? AF_INET6 : AF_INET;
	read_addr(f, family, &s->src);
	read_addr(f, family, &s->dst);
	read_addr(f, family, &s->local);
	s->n_vips = fz_u8(f) % (MAX_VIPS + 1);
	for (uint8_t i = 0; i < s->n_vips; i++)
		read_addr(f, family, &s->vips[i]);
	if (s->flags & 8)
		fz_bytes(f, s->pass, 8);
}

static void fill_rx(const struct setup *s, struct vrrp_rx *rx, const uint8_t *msg, size_t len)
{
	*rx = (struct vrrp_rx){
		.bytes = msg,
		.len = len,
		.ttl = s->ttl,
		.src = s->src,
		.dst = s->dst,
		.version = s->flags & 1 ? 3 : 2,
		.vrid = s->vrid,
		.family = s->src.family,
		.min_ttl = s->flags & 4 ? 1 : 0,
		.interval_ms = s->interval_ms,
		.auth_pass = s->pass,
		.local = s->flags & 32 ? &s->local : NULL,
		.peers = s->flags & 4 ? &s->src : NULL,
		.n_peers = s->flags & 4 ? 1 : 0,
		.vips = s->flags & 16 ? s->vips : NULL,
		.n_vips = s->n_vips,
	};
}

/* What we would send, with this setup, must pass our own receive checks. */
static void round_trip(const struct setup *s)
{
	uint8_t version = s->flags & 1 ? 3 : 2;
	uint32_t interval_ms = s->interval_ms;
	struct vrrp_encode e = {
		.version = version,
		.family = s->src.family,
		.vrid = s->vrid,
		.priority = s->prio,
		.interval_ms = interval_ms,
		.addrs = s->vips,
		.n_addrs = s->n_vips,
		.auth_pass = s->pass,
		.src = s->src,
		.dst = s->dst,
		.v3_msg_only_checksum = s->flags & 64,
	};
	uint8_t buf[VRRP_MAX_PKT];
	int n = vrrp_encode(&e, buf, sizeof(buf));
	FZ_ASSERT(n > 0);
	uint8_t *msg = malloc((size_t)n);
	memcpy(msg, buf, (size_t)n);
	struct vrrp_rx rx;
	fill_rx(s, &rx, msg, (size_t)n);
	rx.ttl = 255;
	rx.local = NULL;
	struct vrrp_advert a;
	enum vrrp_drop d = vrrp_decode(&rx, &a);
	if (d != VRRP_OK)
		fprintf(stderr, "round trip dropped: %s\n", vrrp_drop_name(d));
	FZ_ASSERT(d == VRRP_OK);
	FZ_ASSERT(a.priority == s->prio && a.vrid == s->vrid && a.n_addrs == s->n_vips);
	FZ_ASSERT(a.interval_ms == interval_ms);
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct setup s;
	read_setup(&f, &s);
	size_t len;
	uint8_t *msg = fz_rest(&f, &len, 0);
	bool pseudo = s.src.family == AF_INET6 || ((s.flags & 1) && !(s.flags & 64));
	if ((s.flags & 128) && len >= VRRP_HDR_LEN) {
		msg[6] = msg[7] = 0;
		uint16_t ck = vrrp_checksum(&s.src, &s.dst, msg, len, pseudo);
		msg[6] = (uint8_t)(ck >> 8);
		msg[7] = (uint8_t)ck;
	}
	struct vrrp_rx rx;
	fill_rx(&s, &rx, msg, len);
	struct vrrp_advert a;
	enum vrrp_drop d = vrrp_decode(&rx, &a);
	FZ_ASSERT((unsigned)d < VRRP_DROP__COUNT);
	FZ_ASSERT(strcmp(vrrp_drop_name(d), "unknown") != 0);
	if (d == VRRP_OK) {
		size_t alen = ip_addr_len(s.src.family);
		FZ_ASSERT(len == VRRP_HDR_LEN + a.n_addrs * alen + (a.version == 2 ? VRRP_AUTH_LEN : 0));
		FZ_ASSERT(a.version == rx.version && a.vrid == s.vrid && a.type == VRRP_TYPE_ADVERT);
		FZ_ASSERT(a.addrs == msg + VRRP_HDR_LEN);
		FZ_ASSERT(a.interval_ms > 0);
		char txt[64];
		ip_addr_format(&a.src, IP_FMT_ADDR, txt, sizeof(txt));
	}
	free(msg);
	round_trip(&s);
	return 0;
}
