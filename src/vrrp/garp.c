#include "vrrp/garp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/inet.h"
#include "core/log.h"
#include "netlink/link.h"

static const uint8_t mac_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_all_nodes[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

static uint8_t *put_eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	p = put_bytes(p, dst, 6);
	p = put_bytes(p, src, 6);
	return put16(p, type);
}

size_t garp_build_arp(uint8_t *buf, size_t cap, const uint8_t mac[6], const struct in_addr *vip)
{
	if (cap < GARP_ARP_FRAME_LEN)
		return 0;
	static const uint8_t zero_mac[6];
	memset(buf, 0, GARP_ARP_FRAME_LEN);
	uint8_t *p = put_eth(buf, mac_broadcast, mac, ETH_P_ARP);
	p = put16(p, 1);        /* hardware: Ethernet */
	p = put16(p, ETH_P_IP); /* protocol: IPv4 */
	*p++ = 6;
	*p++ = 4;
	p = put16(p, 1); /* request: understood by every stack, RFC 5227 style */
	p = put_bytes(p, mac, 6);
	p = put_bytes(p, vip, 4); /* network order already */
	p = put_bytes(p, zero_mac, 6);
	put_bytes(p, vip, 4);
	return GARP_ARP_FRAME_LEN;
}

uint16_t garp_icmp6_csum(
	const struct in6_addr *src, const struct in6_addr *dst, const uint8_t *msg, size_t len)
{
	uint8_t tail[8] = { 0 }; /* upper-layer length (32 bit), 3 zero bytes, next header */
	tail[0] = (uint8_t)(len >> 24);
	tail[1] = (uint8_t)(len >> 16);
	tail[2] = (uint8_t)(len >> 8);
	tail[3] = (uint8_t)len;
	tail[7] = IPPROTO_ICMPV6;
	uint32_t sum = inet_sum(0, src, 16);
	sum = inet_sum(sum, dst, 16);
	sum = inet_sum(sum, tail, sizeof(tail));
	return inet_csum(inet_sum(sum, msg, len));
}

size_t garp_build_na(uint8_t *buf, size_t cap, const uint8_t mac[6], const struct in6_addr *src,
		     const struct in6_addr *vip)
{
	if (cap < GARP_NA_FRAME_LEN)
		return 0;
	struct in6_addr all_nodes;
	inet_pton(AF_INET6, "ff02::1", &all_nodes);
	const size_t icmp_len = 32;
	memset(buf, 0, GARP_NA_FRAME_LEN);
	uint8_t *p = put_eth(buf, mac_all_nodes, mac, ETH_P_IPV6);
	*p++ = 0x60; /* version 6, traffic class 0, flow label 0 */
	p += 3;
	p = put16(p, (uint16_t)icmp_len);
	*p++ = IPPROTO_ICMPV6;
	*p++ = 255; /* hop limit: receivers drop NDP with anything else */
	p = put_bytes(p, src, 16);
	p = put_bytes(p, &all_nodes, 16);
	uint8_t *icmp = p;
	*p++ = 136; /* neighbour advertisement */
	*p++ = 0;
	p += 2;    /* checksum, below */
	*p = 0x20; /* Override; not Router, not Solicited (unsolicited) */
	p += 4;
	p = put_bytes(p, vip, 16);
	*p++ = 2; /* option: target link-layer address */
	*p++ = 1; /* length in units of 8 bytes */
	put_bytes(p, mac, 6);
	uint16_t c = garp_icmp6_csum(src, &all_nodes, icmp, icmp_len);
	put16(icmp + 2, c);
	return GARP_NA_FRAME_LEN;
}

/* ---- the burst schedule ---- */

static void sched_begin_burst(struct garp_sched *s, uint64_t at_ms)
{
	s->rounds_left = s->cfg.repeat;
	s->next_round_ms = at_ms;
}

void garp_sched_start(struct garp_sched *s, const struct cfg_garp *cfg, uint64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->active = true;
	sched_begin_burst(s, now_ms);
	s->second_burst_ms = cfg->delay_ms ? now_ms + cfg->delay_ms : 0;
	s->refresh_ms = cfg->refresh_ms ? now_ms + cfg->refresh_ms : 0;
}

void garp_sched_stop(struct garp_sched *s)
{
	s->active = false;
	s->rounds_left = 0;
	s->second_burst_ms = 0;
	s->refresh_ms = 0;
}

void garp_sched_burst(struct garp_sched *s, uint64_t now_ms)
{
	if (!s->active)
		return;
	sched_begin_burst(s, now_ms);
	s->refresh_ms = s->cfg.refresh_ms ? now_ms + s->cfg.refresh_ms : 0;
}

uint32_t garp_sched_poll(struct garp_sched *s, uint64_t now_ms)
{
	if (!s->active)
		return 0;
	if (s->second_burst_ms && now_ms >= s->second_burst_ms) {
		s->second_burst_ms = 0;
		sched_begin_burst(s, now_ms);
	}
	if (s->refresh_ms && now_ms >= s->refresh_ms) {
		sched_begin_burst(s, now_ms);
		s->refresh_ms += s->cfg.refresh_ms;
		if (s->refresh_ms <= now_ms) /* far behind (suspended?): no catch-up storm */
			s->refresh_ms = now_ms + s->cfg.refresh_ms;
	}
	if (!s->rounds_left || now_ms < s->next_round_ms)
		return 0;
	if (s->cfg.interval_ms == 0) {
		uint32_t n = s->rounds_left;
		s->rounds_left = 0;
		return n;
	}
	/* One round per poll even when late: the spacing is the point of a burst. */
	s->rounds_left--;
	s->next_round_ms = now_ms + s->cfg.interval_ms;
	return 1;
}

uint64_t garp_sched_next(const struct garp_sched *s)
{
	if (!s->active)
		return UINT64_MAX;
	uint64_t next = UINT64_MAX;
	if (s->rounds_left && s->next_round_ms < next)
		next = s->next_round_ms;
	if (s->second_burst_ms && s->second_burst_ms < next)
		next = s->second_burst_ms;
	if (s->refresh_ms && s->refresh_ms < next)
		next = s->refresh_ms;
	return next;
}

/* ---- the shell ---- */

/* The interface's link-local address, the usual NDP source; false if it has none (yet). */
static bool link_local_of(int ifindex, struct in6_addr *out)
{
	char name[IF_NAMESIZE];
	struct ifaddrs *ifa_list, *ifa;
	bool found = false;
	if (!if_indextoname((unsigned)ifindex, name) || getifaddrs(&ifa_list) < 0)
		return false;
	for (ifa = ifa_list; ifa && !found; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET6 ||
		    strcmp(ifa->ifa_name, name) != 0)
			continue;
		const struct in6_addr *a = &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
		if (IN6_IS_ADDR_LINKLOCAL(a)) {
			*out = *a;
			found = true;
		}
	}
	freeifaddrs(ifa_list);
	return found;
}

static int send_frame(struct garp_announcer *g, const uint8_t *frame, size_t len, uint16_t proto)
{
	struct sockaddr_ll sll = { 0 };
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = g->ifindex;
	sll.sll_protocol = htons(proto);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, frame, 6);
	if (sendto(g->fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		g->send_errors_total++;
		return -errno;
	}
	g->frames_sent_total++;
	return 0;
}

int garp_send_round(struct garp_announcer *g)
{
	uint8_t frame[GARP_NA_FRAME_LEN];
	struct in6_addr ll;
	bool have_ll = false, looked_ll = false;
	int sent = 0, err = 0;
	link_mac(g->ifindex, g->mac); /* the MAC may change (bond failover); keep old if not */
	for (size_t i = 0; i < g->n_vips; i++) {
		const struct ip_addr *a = &g->vips[i];
		int rc;
		if (a->family == AF_INET) {
			size_t n = garp_build_arp(frame, sizeof(frame), g->mac, &a->v4);
			rc = send_frame(g, frame, n, ETH_P_ARP);
		} else {
			if (!looked_ll) {
				have_ll = link_local_of(g->ifindex, &ll);
				looked_ll = true;
			}
			size_t n = garp_build_na(
				frame, sizeof(frame), g->mac, have_ll ? &ll : &a->v6, &a->v6);
			rc = send_frame(g, frame, n, ETH_P_IPV6);
		}
		if (rc < 0)
			err = rc;
		else
			sent++;
	}
	/* A down link fails every send: say so when it starts failing, not on every round. */
	if (err && !g->failing)
		log_warn("garp send failed", "ifindex=%d err=\"%s\"", g->ifindex, strerror(-err));
	g->failing = err != 0;
	return sent;
}

static void announcer_arm(struct garp_announcer *g)
{
	uint64_t next = garp_sched_next(&g->sched);
	if (next == UINT64_MAX)
		timer_cancel(g->loop, &g->timer);
	else
		timer_arm(g->loop, &g->timer, next);
}

static void announcer_run(struct garp_announcer *g)
{
	uint32_t rounds = garp_sched_poll(&g->sched, loop_now(g->loop));
	for (uint32_t i = 0; i < rounds; i++)
		garp_send_round(g);
	announcer_arm(g);
}

static void announcer_timer(struct loop *l, struct timer *t)
{
	(void)l;
	announcer_run(t->arg);
}

int garp_announcer_init(struct garp_announcer *g, struct loop *l, int ifindex,
			const struct cfg_garp *cfg, const struct ip_addr *vips, size_t n_vips)
{
	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->loop = l;
	g->ifindex = ifindex;
	g->cfg = *cfg;
	timer_init(&g->timer, announcer_timer, g);
	g->vips = calloc(n_vips ? n_vips : 1, sizeof(*vips));
	if (!g->vips)
		return -ENOMEM;
	if (n_vips)
		memcpy(g->vips, vips, n_vips * sizeof(*vips));
	g->n_vips = n_vips;
	int rc = link_mac(ifindex, g->mac);
	if (rc < 0)
		goto fail;
	/* Protocol 0: the socket receives nothing, it only sends our frames. */
	g->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (g->fd < 0) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	free(g->vips);
	g->vips = NULL;
	return rc;
}

void garp_announcer_free(struct garp_announcer *g)
{
	if (g->loop)
		timer_cancel(g->loop, &g->timer);
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	free(g->vips);
	g->vips = NULL;
}

void garp_announcer_master(struct garp_announcer *g)
{
	garp_sched_start(&g->sched, &g->cfg, loop_now(g->loop));
	announcer_run(g);
}

void garp_announcer_stop(struct garp_announcer *g)
{
	garp_sched_stop(&g->sched);
	timer_cancel(g->loop, &g->timer);
}

void garp_announcer_burst(struct garp_announcer *g)
{
	garp_sched_burst(&g->sched, loop_now(g->loop));
	announcer_run(g);
}
