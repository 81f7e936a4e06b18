#include "sync/msg.h"

#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char *const verdict_names[SYNC_VERDICT__COUNT] = {
	[SYNC_OK] = "ok",
	[SYNC_BAD_MAGIC] = "bad_magic",
	[SYNC_BAD_VERSION] = "bad_version",
	[SYNC_TRUNCATED] = "truncated",
	[SYNC_BAD_MAC] = "bad_mac",
	[SYNC_BAD_HEADER] = "bad_header",
	[SYNC_BAD_NODE] = "bad_node",
	[SYNC_BAD_COUNT] = "bad_count",
	[SYNC_BAD_ENTRY] = "bad_entry",
};

const char *sync_verdict_name(enum sync_verdict v)
{
	return (unsigned)v < SYNC_VERDICT__COUNT ? verdict_names[v] : "unknown";
}

/* ---- big-endian helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static bool node_byte_ok(uint8_t c) { return c > 0x20 && c < 0x7f; }

static bool node_bytes_ok(const uint8_t *p, size_t len)
{
	if (len < 1 || len > SYNC_NODE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!node_byte_ok(p[i]))
			return false;
	return true;
}

bool sync_node_valid(const char *node)
{
	return node && node_bytes_ok((const uint8_t *)node, strnlen(node, SYNC_NODE_MAX + 1));
}

bool sync_mac(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
	      uint8_t mac[SYNC_MAC_LEN])
{
	unsigned int maclen = 0;
	if (!key || keylen == 0 || keylen > INT_MAX)
		return false;
	if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, mac, &maclen))
		return false;
	return maclen == SYNC_MAC_LEN;
}

/* Header fields after the MAC matched (or before encoding). */
static bool hdr_ok(uint8_t kind, uint8_t flags, uint64_t epoch, uint64_t seq)
{
	if (kind == SYNC_KIND_DELTA && (flags & (SYNC_F_LAST | SYNC_F_FIRST)))
		return false;
	if (kind != SYNC_KIND_DELTA && kind != SYNC_KIND_FULL)
		return false;
	if (flags & ~(SYNC_F_LAST | SYNC_F_FIRST | SYNC_F_WITHDRAWN))
		return false;
	return epoch != 0 && seq != 0;
}

/* An address a connection can have: not unspecified, not multicast (nor IPv4 broadcast). */
static bool host_addr_ok(const struct ip_addr *a)
{
	if (ip_addr_is_any(a))
		return false;
	if (a->family == AF_INET)
		return (a->b[0] & 0xf0) != 0xe0 &&
		       !(a->b[0] == 255 && a->b[1] == 255 && a->b[2] == 255 && a->b[3] == 255);
	return a->b[0] != 0xff;
}

static bool entry_ok(const struct sync_entry *e, uint8_t kind)
{
	if (e->op != SYNC_OP_ADD && e->op != SYNC_OP_DEL)
		return false;
	if (kind == SYNC_KIND_FULL && e->op != SYNC_OP_ADD)
		return false;
	if (e->vip.family != e->client.family)
		return false;
	if (e->vip.family != AF_INET && e->vip.family != AF_INET6)
		return false;
	if (!e->vport || !e->cport)
		return false;
	return host_addr_ok(&e->vip) && host_addr_ok(&e->client);
}

static void put_addr(uint8_t *p, const struct ip_addr *a)
{
	memset(p, 0, 16);
	memcpy(p, a->b, ip_addr_len(a->family));
}

size_t sync_entries_per_msg(const char *node)
{
	if (!sync_node_valid(node))
		return 0;
	size_t n = (SYNC_MAX_MSG - SYNC_HDR_LEN - strlen(node) - SYNC_MAC_LEN) / SYNC_ENTRY_LEN;
	return n < SYNC_MAX_ENTRIES ? n : SYNC_MAX_ENTRIES;
}

size_t sync_encode(const struct sync_hdr *h, const struct sync_entry *e, size_t n,
		   const uint8_t *key, size_t keylen, uint8_t *out, size_t cap)
{
	if (n > SYNC_MAX_ENTRIES || (n && !e) || !sync_node_valid(h->node))
		return 0;
	if (!hdr_ok(h->kind, h->flags, h->epoch, h->seq))
		return 0;
	size_t nlen = strlen(h->node);
	size_t len = SYNC_HDR_LEN + nlen + n * SYNC_ENTRY_LEN + SYNC_MAC_LEN;
	if (len > cap || len > SYNC_MAX_MSG)
		return 0;
	memcpy(out, SYNC_MAGIC, 4);
	out[4] = SYNC_VERSION;
	out[5] = h->kind;
	out[6] = h->flags;
	out[7] = (uint8_t)nlen;
	put64(out + 8, h->epoch);
	put64(out + 16, h->seq);
	put16(out + 24, (uint16_t)n);
	put16(out + 26, 0);
	memcpy(out + SYNC_HDR_LEN, h->node, nlen);
	uint8_t *p = out + SYNC_HDR_LEN + nlen;
	for (size_t i = 0; i < n; i++, p += SYNC_ENTRY_LEN) {
		if (!entry_ok(&e[i], h->kind))
			return 0;
		p[0] = e[i].op;
		p[1] = e[i].vip.family == AF_INET ? 4 : 6;
		put_addr(p + 2, &e[i].vip);
		put16(p + 18, e[i].vport);
		put_addr(p + 20, &e[i].client);
		put16(p + 36, e[i].cport);
	}
	if (!sync_mac(key, keylen, out, len - SYNC_MAC_LEN, out + len - SYNC_MAC_LEN))
		return 0;
	return len;
}

/* 16 wire bytes of a family-4/6 address: false if an IPv4 address has non-zero padding. */
static bool get_addr(const uint8_t *p, int family, struct ip_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	size_t alen = ip_addr_len(family);
	a->prefix = (uint8_t)(alen * 8);
	memcpy(a->b, p, alen);
	for (size_t i = alen; i < 16; i++)
		if (p[i])
			return false;
	return true;
}

static bool get_entry(const uint8_t *p, uint8_t kind, struct sync_entry *e)
{
	int family = p[1] == 4 ? AF_INET : p[1] == 6 ? AF_INET6 : 0;
	if (!family)
		return false;
	e->op = p[0];
	if (!get_addr(p + 2, family, &e->vip) || !get_addr(p + 20, family, &e->client))
		return false;
	e->vport = get16(p + 18);
	e->cport = get16(p + 36);
	return entry_ok(e, kind);
}

enum sync_verdict sync_decode(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen,
			      struct sync_hdr *h, struct sync_entry *out, size_t cap, size_t *n)
{
	*n = 0;
	if (len < 4 || memcmp(buf, SYNC_MAGIC, 4) != 0)
		return SYNC_BAD_MAGIC;
	if (len < 5 || buf[4] != SYNC_VERSION)
		return SYNC_BAD_VERSION;
	if (len < SYNC_MIN_MSG || len > SYNC_MAX_MSG)
		return SYNC_TRUNCATED;
	/* Nothing past the version is read before this. */
	uint8_t mac[SYNC_MAC_LEN];
	if (!sync_mac(key, keylen, buf, len - SYNC_MAC_LEN, mac) ||
	    CRYPTO_memcmp(mac, buf + len - SYNC_MAC_LEN, SYNC_MAC_LEN) != 0)
		return SYNC_BAD_MAC;

	uint8_t kind = buf[5], flags = buf[6];
	uint64_t epoch = get64(buf + 8), seq = get64(buf + 16);
	if (!hdr_ok(kind, flags, epoch, seq) || get16(buf + 26) != 0)
		return SYNC_BAD_HEADER;
	size_t nlen = buf[7];
	if (nlen < 1 || nlen > SYNC_NODE_MAX)
		return SYNC_BAD_NODE;
	if (SYNC_HDR_LEN + nlen + SYNC_MAC_LEN > len)
		return SYNC_TRUNCATED;
	if (!node_bytes_ok(buf + SYNC_HDR_LEN, nlen))
		return SYNC_BAD_NODE;
	size_t count = get16(buf + 24);
	if (count > SYNC_MAX_ENTRIES || count > cap)
		return SYNC_BAD_COUNT;
	if (len != SYNC_HDR_LEN + nlen + count * SYNC_ENTRY_LEN + SYNC_MAC_LEN)
		return SYNC_TRUNCATED;

	const uint8_t *p = buf + SYNC_HDR_LEN + nlen;
	for (size_t i = 0; i < count; i++, p += SYNC_ENTRY_LEN)
		if (!get_entry(p, kind, &out[i]))
			return SYNC_BAD_ENTRY;
	h->kind = kind;
	h->flags = flags;
	memcpy(h->node, buf + SYNC_HDR_LEN, nlen);
	h->node[nlen] = 0;
	h->epoch = epoch;
	h->seq = seq;
	*n = count;
	return SYNC_OK;
}

bool sync_fresh(struct sync_seen *s, uint64_t epoch, uint64_t seq)
{
	if (epoch < s->epoch || (epoch == s->epoch && seq <= s->seq))
		return false;
	s->epoch = epoch;
	s->seq = seq;
	return true;
}
