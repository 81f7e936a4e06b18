#include "vrrp/packet.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

const char *const vrrp_drop_names[VRRP_DROP__COUNT] = {
	[VRRP_OK] = "ok",
	[VRRP_DROP_TTL] = "ttl",
	[VRRP_DROP_OWN] = "own",
	[VRRP_DROP_SOURCE] = "source",
	[VRRP_DROP_VERSION] = "version",
	[VRRP_DROP_TYPE] = "type",
	[VRRP_DROP_VRID] = "vrid",
	[VRRP_DROP_LENGTH] = "length",
	[VRRP_DROP_CHECKSUM] = "checksum",
	[VRRP_DROP_AUTH] = "auth",
	[VRRP_DROP_INTERVAL] = "interval",
	[VRRP_DROP_ADDR_COUNT] = "addr_count",
	[VRRP_DROP_ADDR_LIST] = "addr_list",
};

const char *vrrp_drop_name(enum vrrp_drop d)
{
	return (unsigned)d < VRRP_DROP__COUNT ? vrrp_drop_names[d] : "unknown";
}

uint16_t vrrp_checksum(const struct ip_addr *src, const struct ip_addr *dst, const uint8_t *data,
		       size_t len, bool pseudo)
{
	uint32_t sum = 0;
	if (pseudo) {
		size_t alen = ip_addr_len(src->family);
		sum = inet_sum(sum, src->b, alen);
		sum = inet_sum(sum, dst->b, alen);
		/* IPv4: zero, proto, 16-bit length; IPv6: 32-bit length, 3 zero, next header.
		 * Both reduce to the same 16-bit words for lengths < 65536. */
		sum += VRRP_PROTO;
		sum += (uint32_t)len;
	}
	return inet_csum(inet_sum(sum, data, len));
}

/* The v2 PASS field: the password, zero padded, truncated to 8 bytes (no NUL needed). */
static void pass_bytes(const char *pass, uint8_t out[VRRP_AUTH_LEN])
{
	size_t n = strnlen(pass, VRRP_AUTH_LEN);
	memset(out, 0, VRRP_AUTH_LEN);
	memcpy(out, pass, n);
}

static size_t encoded_len(uint8_t version, size_t alen, size_t n)
{
	return VRRP_HDR_LEN + n * alen + (version == 2 ? VRRP_AUTH_LEN : 0);
}

int vrrp_encode(const struct vrrp_encode *e, uint8_t *buf, size_t cap)
{
	size_t alen = ip_addr_len(e->family);
	if (!alen || (e->version != 2 && e->version != 3) || e->n_addrs > VRRP_MAX_ADDRS)
		return -1;
	size_t len = encoded_len(e->version, alen, e->n_addrs);
	if (len > cap)
		return -1;
	memset(buf, 0, len);
	buf[0] = (uint8_t)(e->version << 4 | VRRP_TYPE_ADVERT);
	buf[1] = e->vrid;
	buf[2] = e->priority;
	buf[3] = (uint8_t)e->n_addrs;
	if (e->version == 3) {
		uint32_t cs = e->interval_ms / 10;
		if (cs < 1)
			cs = 1;
		if (cs > VRRP_V3_MAX_INT_CS)
			cs = VRRP_V3_MAX_INT_CS;
		buf[4] = (uint8_t)(cs >> 8);
		buf[5] = (uint8_t)cs;
	} else {
		uint32_t s = e->interval_ms / 1000;
		bool pass = e->auth_pass && e->auth_pass[0];
		buf[4] = pass ? VRRP_AUTH_PASS : VRRP_AUTH_NONE;
		buf[5] = (uint8_t)(s < 1 ? 1 : s > 255 ? 255 : s);
		if (pass)
			pass_bytes(e->auth_pass, buf + len - VRRP_AUTH_LEN);
	}
	for (size_t i = 0; i < e->n_addrs; i++) {
		if (e->addrs[i].family != e->family)
			return -1;
		memcpy(buf + VRRP_HDR_LEN + i * alen, e->addrs[i].b, alen);
	}
	/* v2 over IPv4 has no pseudo-header; IPv6 always has one; v3 IPv4 by default. */
	bool pseudo = e->family == AF_INET6 || (e->version == 3 && !e->v3_msg_only_checksum);
	uint16_t ck = vrrp_checksum(&e->src, &e->dst, buf, len, pseudo);
	buf[6] = (uint8_t)(ck >> 8);
	buf[7] = (uint8_t)ck;
	return (int)len;
}

static bool from_peer(const struct vrrp_rx *rx)
{
	for (size_t i = 0; i < rx->n_peers; i++)
		if (ip_addr_equal(&rx->peers[i], &rx->src))
			return true;
	return false;
}

/* RFC 5798 5.2.8 / RFC 9568: returns false if neither accepted form matches. */
static bool checksum_ok(const struct vrrp_rx *rx, struct vrrp_advert *a)
{
	if (rx->family == AF_INET6)
		return vrrp_checksum(&rx->src, &rx->dst, rx->bytes, rx->len, true) == 0;
	if (a->version == 2)
		return vrrp_checksum(NULL, NULL, rx->bytes, rx->len, false) == 0;
	if (vrrp_checksum(&rx->src, &rx->dst, rx->bytes, rx->len, true) == 0)
		return true;
	if (vrrp_checksum(NULL, NULL, rx->bytes, rx->len, false) == 0) {
		a->checksum_msg_only = true;
		return true;
	}
	return false;
}

static enum vrrp_drop check_v2_auth(const struct vrrp_rx *rx, const struct vrrp_advert *a)
{
	bool want_pass = rx->auth_pass && rx->auth_pass[0];
	if (a->auth_type != (want_pass ? VRRP_AUTH_PASS : VRRP_AUTH_NONE))
		return VRRP_DROP_AUTH;
	if (want_pass) {
		uint8_t want[VRRP_AUTH_LEN] = { 0 };
		pass_bytes(rx->auth_pass, want);
		if (memcmp(want, rx->bytes + rx->len - VRRP_AUTH_LEN, VRRP_AUTH_LEN) != 0)
			return VRRP_DROP_AUTH;
	}
	return VRRP_OK;
}

/* RFC 5798 7.1 "MAY verify": a mismatch is fatal unless the sender is the address owner. */
static enum vrrp_drop check_addrs(const struct vrrp_rx *rx, const struct vrrp_advert *a)
{
	if (!rx->vips || a->priority == 255)
		return VRRP_OK;
	if (a->n_addrs != rx->n_vips)
		return VRRP_DROP_ADDR_COUNT;
	size_t alen = ip_addr_len(rx->family);
	for (size_t i = 0; i < a->n_addrs; i++) {
		bool found = false;
		for (size_t j = 0; j < rx->n_vips && !found; j++)
			found = rx->vips[j].family == rx->family &&
				memcmp(rx->vips[j].b, a->addrs + i * alen, alen) == 0;
		if (!found)
			return VRRP_DROP_ADDR_LIST;
	}
	return VRRP_OK;
}

/* Header fields that need only the fixed 8 bytes. */
static enum vrrp_drop decode_header(const struct vrrp_rx *rx, struct vrrp_advert *a)
{
	const uint8_t *p = rx->bytes;
	if (rx->len < VRRP_HDR_LEN)
		return VRRP_DROP_LENGTH;
	a->version = p[0] >> 4;
	a->type = p[0] & 0x0f;
	a->vrid = p[1];
	a->priority = p[2];
	a->n_addrs = p[3];
	a->checksum = (uint16_t)(p[6] << 8 | p[7]);
	if (a->version != rx->version)
		return VRRP_DROP_VERSION;
	if (a->type != VRRP_TYPE_ADVERT)
		return VRRP_DROP_TYPE;
	if (a->vrid != rx->vrid)
		return VRRP_DROP_VRID;
	if (a->version == 3) {
		a->interval_ms = (uint32_t)((p[4] & 0x0f) << 8 | p[5]) * 10;
	} else {
		a->auth_type = p[4];
		a->interval_ms = (uint32_t)p[5] * 1000;
	}
	size_t alen = ip_addr_len(rx->family);
	if (rx->len != encoded_len(a->version, alen, a->n_addrs))
		return VRRP_DROP_LENGTH;
	a->addrs = p + VRRP_HDR_LEN;
	return VRRP_OK;
}

enum vrrp_drop vrrp_decode(const struct vrrp_rx *rx, struct vrrp_advert *out)
{
	struct vrrp_advert a = { 0 };
	uint8_t min_ttl = rx->min_ttl ? rx->min_ttl : 255;
	enum vrrp_drop d;

	if (rx->ttl < min_ttl)
		return VRRP_DROP_TTL;
	if (rx->local && ip_addr_equal(rx->local, &rx->src))
		return VRRP_DROP_OWN;
	if (rx->src.family != rx->family || !ip_addr_len(rx->family))
		return VRRP_DROP_SOURCE;
	if (rx->n_peers && !from_peer(rx))
		return VRRP_DROP_SOURCE;
	if ((d = decode_header(rx, &a)) != VRRP_OK)
		return d;
	if (!checksum_ok(rx, &a))
		return VRRP_DROP_CHECKSUM;
	if (a.version == 2) {
		if ((d = check_v2_auth(rx, &a)) != VRRP_OK)
			return d;
		if (a.interval_ms != (rx->interval_ms / 1000) * 1000)
			return VRRP_DROP_INTERVAL;
	} else if (a.interval_ms == 0) {
		return VRRP_DROP_INTERVAL; /* would make Master_Down_Interval zero */
	}
	if ((d = check_addrs(rx, &a)) != VRRP_OK)
		return d;
	a.family = rx->family;
	a.src = rx->src;
	if (out)
		*out = a;
	return VRRP_OK;
}
