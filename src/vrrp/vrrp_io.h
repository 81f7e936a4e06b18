/* Raw VRRP sockets (IP protocol 112) for the VRRP shell (vrrp.c): open one on an interface
 * (multicast group joined, or unicast), send one advert with a pinned source address, receive one
 * packet with its TTL / hop limit and addresses, and find the interface's primary address.
 * Internal to src/vrrp. Every function returns 0 or -errno unless said otherwise. */
#ifndef BUOY_VRRP_IO_H
#define BUOY_VRRP_IO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "vrrp/packet.h"

/* 224.0.0.18 / ff02::12 of the given family. */
void vrrp_io_group(int family, struct ip_addr *out);

/* Non-blocking raw socket bound to ifname. Multicast: joins the group on ifindex, TTL/hop limit
 * 255, loop off. Unicast: TTL/hop limit 255. IPv6 asks for hop limit and destination as
 * ancillary data; IPV6_CHECKSUM is not set (we verify and count checksums ourselves).
 * Returns the fd or -errno. */
int vrrp_io_open(int family, const char *ifname, int ifindex, bool unicast);

/* One packet to dst from src (IP_PKTINFO / IPV6_PKTINFO pin the source: the checksum covers it). */
int vrrp_io_send(int fd, int family, int ifindex, const struct ip_addr *src,
		 const struct ip_addr *dst, const uint8_t *pkt, size_t len);

enum vrrp_io_rx {
	VRRP_IO_NONE,      /* nothing (more) to read */
	VRRP_IO_PACKET,    /* rx filled: bytes, len, ttl, src, dst */
	VRRP_IO_TRUNCATED, /* larger than buf: rx.src filled */
	VRRP_IO_SKIP,      /* not a parseable IP packet */
};

/* Reads one packet into buf; rx->bytes points into buf. */
enum vrrp_io_rx vrrp_io_recv(int fd, int family, uint8_t *buf, size_t cap, struct vrrp_rx *rx);

/* The interface's first address of `family` that is not in `exclude`: for IPv6 a link-local one
 * when link_local, else a global one. Labelled IPv4 addresses ("eth0:x") count as ifname's. */
int vrrp_io_primary(int family, const char *ifname, bool link_local, const struct ip_addr *exclude,
		    size_t n_exclude, struct ip_addr *out);

#endif
