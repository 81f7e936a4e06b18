/* Announcing a VIP's new home: gratuitous ARP (IPv4) and unsolicited neighbour advertisement
 * (IPv6), sent as whole Ethernet frames on an AF_PACKET socket so the bytes are exactly ours.
 *
 * Three layers:
 *  - frame builders (pure, unit-tested byte by byte),
 *  - the burst schedule (pure, time passed in): `garp: {repeat, interval, delay, refresh}` —
 *    a burst of `repeat` rounds `interval` apart on becoming master, a second burst `delay`
 *    later, a refresh burst every `refresh` while master, a fresh burst on demand;
 *  - struct garp_announcer: the thin shell (socket + loop timer) the VRRP owner drives. */
#ifndef BUOY_GARP_H
#define BUOY_GARP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/loop.h"
#include "netlink/vip.h"

#define GARP_ARP_FRAME_LEN 60 /* 14 Ethernet + 28 ARP, padded to the 60-byte minimum */
#define GARP_NA_FRAME_LEN 86  /* 14 Ethernet + 40 IPv6 + 24 NA + 8 target LL option */

/* Broadcast ARP request, sender IP = target IP = vip, sender MAC = mac, target MAC zero.
 * Returns the frame length or 0 if cap is too small. */
size_t garp_build_arp(uint8_t *buf, size_t cap, const uint8_t mac[6], const struct in_addr *vip);

/* Unsolicited NA to ff02::1 (33:33:00:00:00:01), hop limit 255, flags Override (and Router = 0,
 * Solicited = 0), target = vip, target link-layer address option = mac, ICMPv6 checksum filled.
 * src is the IPv6 source (the interface's link-local address, or the vip itself). */
size_t garp_build_na(uint8_t *buf, size_t cap, const uint8_t mac[6], const struct in6_addr *src,
		     const struct in6_addr *vip);

/* Internet checksum of an ICMPv6 message with its pseudo-header (exposed for tests). */
uint16_t garp_icmp6_csum(
	const struct in6_addr *src, const struct in6_addr *dst, const uint8_t *msg, size_t len);

/* ---- the burst schedule (pure) ---- */

struct garp_sched {
	struct cfg_garp cfg;
	bool active;              /* master: schedule running */
	uint32_t rounds_left;     /* in the current burst */
	uint64_t next_round_ms;   /* when the next round of the current burst is due */
	uint64_t second_burst_ms; /* 0 = none pending */
	uint64_t refresh_ms;      /* next refresh burst, 0 = none */
};

/* Became master at now: a burst starts at once, the second burst and refresh are planned. */
void garp_sched_start(struct garp_sched *s, const struct cfg_garp *cfg, uint64_t now_ms);
/* Left master: nothing more is due. */
void garp_sched_stop(struct garp_sched *s);
/* A fresh burst now (lower-priority advert heard, VIP put back, link came back). Restarts the
 * refresh period. No effect when not active. */
void garp_sched_burst(struct garp_sched *s, uint64_t now_ms);
/* How many rounds (one frame per VIP each) to send now; advances the schedule. 0 or 1; all of
 * `repeat` at once only with interval 0. A late poll sends one round and spaces the rest
 * `interval` from now (spacing is the point of a burst). */
uint32_t garp_sched_poll(struct garp_sched *s, uint64_t now_ms);
/* Absolute ms of the next thing due, or UINT64_MAX when nothing is. */
uint64_t garp_sched_next(const struct garp_sched *s);

/* ---- the shell ---- */

struct garp_announcer {
	struct loop *loop;
	int fd; /* AF_PACKET SOCK_RAW, protocol 0: send only */
	int ifindex;
	uint8_t mac[6];
	struct ip_addr *vips; /* copy */
	size_t n_vips;
	struct garp_sched sched;
	struct cfg_garp cfg;
	struct timer timer;
	uint64_t frames_sent_total;
	uint64_t send_errors_total;
	bool failing; /* last round had an error (log once per episode) */
};

/* Opens the socket on ifindex and reads its MAC. vips is copied. 0 or -errno. */
int garp_announcer_init(struct garp_announcer *g, struct loop *l, int ifindex,
			const struct cfg_garp *cfg, const struct ip_addr *vips, size_t n_vips);
void garp_announcer_free(struct garp_announcer *g);
/* Call after the VIPs were added on becoming master: first round goes out immediately. */
void garp_announcer_master(struct garp_announcer *g);
/* Call when leaving master. */
void garp_announcer_stop(struct garp_announcer *g);
/* A fresh burst now (only while master). */
void garp_announcer_burst(struct garp_announcer *g);
/* One round now, outside any schedule (tools, tests). Returns frames sent. Re-reads the MAC. */
int garp_send_round(struct garp_announcer *g);

#endif
