/* VRRP advertisement codec (RFC 3768 v2, RFC 5798 v3, RFC 9568), pure: no sockets, no clock.
 *
 * Checksums, as keepalived puts them on the wire:
 *   v2 IPv4  - over the VRRP message only (RFC 3768).
 *   v3 IPv4  - over the IPv4 pseudo-header + message (RFC 5798 5.2.8). On receive the RFC 9568
 *              message-only form is accepted too (older peers, keepalived's compat mode).
 *   IPv6     - always over the IPv6 pseudo-header + message (RFC 8200 8.1), v2 or v3.
 * We never let the kernel do it (IPV6_CHECKSUM) so that bad checksums reach us and are counted.
 *
 * Receive validation runs in RFC order (RFC 5798 7.1 / RFC 3768 7.1) and stops at the first
 * failure; the reason is returned so the shell can count drops per reason. */
#ifndef BUOY_VRRP_PACKET_H
#define BUOY_VRRP_PACKET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/inet.h"

#define VRRP_PROTO 112
#define VRRP_TYPE_ADVERT 1
#define VRRP_HDR_LEN 8
#define VRRP_AUTH_LEN 8 /* v2 only: always present on the wire */
#define VRRP_MAX_ADDRS 255
#define VRRP_MAX_PKT (VRRP_HDR_LEN + VRRP_MAX_ADDRS * 16 + VRRP_AUTH_LEN)
#define VRRP_V3_MAX_INT_CS 4095 /* 12-bit field, centiseconds */

enum vrrp_auth_type { VRRP_AUTH_NONE = 0, VRRP_AUTH_PASS = 1 };

/* Why a received packet was dropped. VRRP_OK (0) means accepted. Keep in sync with
 * vrrp_drop_names[]; the names are metric label values, so never rename one. */
enum vrrp_drop {
	VRRP_OK = 0,
	VRRP_DROP_TTL,     /* TTL / hop limit below the required minimum (255) */
	VRRP_DROP_OWN,     /* our own advert looped back */
	VRRP_DROP_SOURCE,  /* unicast mode: sender is not a configured peer; or wrong family */
	VRRP_DROP_VERSION, /* not the configured VRRP version */
	VRRP_DROP_TYPE,    /* not an advertisement (type 1) */
	VRRP_DROP_VRID,    /* another virtual router's advert */
	VRRP_DROP_LENGTH,  /* truncated, oversize, or length disagrees with the address count */
	VRRP_DROP_CHECKSUM,
	VRRP_DROP_AUTH,       /* v2: auth type or password mismatch */
	VRRP_DROP_INTERVAL,   /* v2: advert interval differs from ours; v3: interval 0 */
	VRRP_DROP_ADDR_COUNT, /* address count differs from our VIP count (sender not owner) */
	VRRP_DROP_ADDR_LIST,  /* addresses differ from our VIPs (sender not owner) */
	VRRP_DROP__COUNT
};

extern const char *const vrrp_drop_names[VRRP_DROP__COUNT];
const char *vrrp_drop_name(enum vrrp_drop d);

/* What we send. addrs are the VIPs (all of `family`). src/dst feed the pseudo-header. */
struct vrrp_encode {
	uint8_t version; /* 2 or 3 */
	uint8_t family;  /* AF_INET / AF_INET6 */
	uint8_t vrid;
	uint8_t priority;
	uint32_t interval_ms; /* v3: rounded down to cs; v2: rounded down to s (min 1) */
	const struct ip_addr *addrs;
	size_t n_addrs;
	const char *auth_pass; /* v2: NULL or "" = auth type 0, else type 1 (<= 8 bytes) */
	struct ip_addr src, dst;
	bool v3_msg_only_checksum; /* RFC 9568 form for v3 IPv4 (not the default) */
};

/* Encodes into buf; returns the length written, or -1 if it does not fit / bad input. */
int vrrp_encode(const struct vrrp_encode *e, uint8_t *buf, size_t cap);

/* What we know about a received packet and what we expect. */
struct vrrp_rx {
	const uint8_t *bytes; /* the VRRP message (after the IP header) */
	size_t len;
	uint8_t ttl;             /* IPv4 TTL or IPv6 hop limit */
	struct ip_addr src, dst; /* from the IP header / IP_PKTINFO */

	/* configuration of the receiving instance */
	uint8_t version, vrid, family;
	uint8_t min_ttl;             /* 0 is taken as 255 (RFC); see vrrp_rx_min_ttl() */
	uint32_t interval_ms;        /* v2 interval check */
	const char *auth_pass;       /* v2: NULL/"" = expect type 0 */
	const struct ip_addr *local; /* our own primary address (loop detection), may be NULL */
	const struct ip_addr *peers; /* unicast peers; n_peers 0 = multicast */
	size_t n_peers;
	const struct ip_addr *vips; /* our VIPs, for the count/list checks; NULL = skip */
	size_t n_vips;
};

/* A decoded, validated advertisement. addrs points into the received bytes. */
struct vrrp_advert {
	uint8_t version, type, vrid, priority, n_addrs, auth_type;
	uint16_t checksum;
	bool checksum_msg_only; /* v3 IPv4 sent with the RFC 9568 message-only checksum */
	uint32_t interval_ms;   /* v3: cs * 10; v2: s * 1000 */
	uint8_t family;
	const uint8_t *addrs; /* n_addrs * (4|16) bytes */
	struct ip_addr src;
};

enum vrrp_drop vrrp_decode(const struct vrrp_rx *rx, struct vrrp_advert *out);

/* The RFC 1071 Internet checksum of the concatenation of an optional pseudo-header and data. */
uint16_t vrrp_checksum(const struct ip_addr *src, const struct ip_addr *dst, const uint8_t *data,
		       size_t len, bool pseudo);

#endif
