/* Tickle ACKs, pure: the packet the new holder of a VIP sends to each client of a connection
 * that went through the old holder (connection sync, sync/msg.h), so that an idle client
 * learns at once that its connection is gone. Packet builders only: no sockets, no clock, no
 * allocation; any thread. The caller owns the buffers.
 *
 * The segment goes from VIP:vport to client:cport with only ACK set, seq 0, ack 0, no options.
 * The client answers with an ACK carrying its real numbers (RFC 793 / RFC 5961 challenge ACK,
 * see tickle.c); that answer reaches the new holder, which has no socket for it, so its kernel
 * answers RST with seq = the client's ack, which the client accepts: the connection fails and
 * the client reconnects, through the new holder.
 *
 * Whole packets, for SOCK_RAW IPPROTO_RAW sockets (IP_HDRINCL, and IPV6_HDRINCL which
 * IPPROTO_RAW implies on AF_INET6): such a socket receives nothing (an IPPROTO_TCP raw socket
 * would get a copy of every TCP packet of the host) and may send from an address the host no
 * longer holds (the old holder's handover tickles, sync.h).
 *  - IPv4 (tickle_build_ipv4): Linux fills in the IP ID when it is 0 (then recomputes the
 *    header checksum); everything else is sent as built.
 *  - IPv6 (tickle_build_ipv6): sent as built; the TCP checksum covers the pseudo-header with
 *    the VIP as source (tickle_build_tcp).
 * Clients see the tickle's ACK rate-limited per socket (Linux: net.ipv4.tcp_invalid_ratelimit,
 * 500 ms), so a resend sooner than that is wasted. */
#ifndef BUOY_SYNC_TICKLE_H
#define BUOY_SYNC_TICKLE_H
#include <stddef.h>
#include <stdint.h>

#include "core/inet.h"

#define TICKLE_TCP_LEN 20
#define TICKLE_IPV4_LEN 40 /* 20 IPv4 + 20 TCP */
#define TICKLE_IPV6_LEN 60 /* 40 IPv6 + 20 TCP */
#define TICKLE_TTL 64
#define TICKLE_WINDOW 65535

/* The 20-byte TCP segment, checksum over the IPv4 or IPv6 pseudo-header (src vip, dst client).
 * Ports in host order, non-zero. Returns TICKLE_TCP_LEN, or 0 if cap is too small, the families
 * differ or are neither AF_INET nor AF_INET6, or a port is 0. */
size_t tickle_build_tcp(uint8_t *buf, size_t cap, const struct ip_addr *vip, uint16_t vport,
			const struct ip_addr *client, uint16_t cport);

/* The whole IPv4 packet: header (version 4, IHL 5, TOS 0, total length 40, ID 0, DF, TTL 64,
 * protocol 6, header checksum, src vip, dst client) then the segment of tickle_build_tcp.
 * Returns TICKLE_IPV4_LEN, or 0 as tickle_build_tcp does or if the family is not AF_INET. */
size_t tickle_build_ipv4(uint8_t *buf, size_t cap, const struct ip_addr *vip, uint16_t vport,
			 const struct ip_addr *client, uint16_t cport);

/* The whole IPv6 packet: header (version 6, traffic class 0, flow label 0, payload length 20,
 * next header 6, hop limit 64, src vip, dst client) then the segment of tickle_build_tcp.
 * Returns TICKLE_IPV6_LEN, or 0 as tickle_build_tcp does or if the family is not AF_INET6. */
size_t tickle_build_ipv6(uint8_t *buf, size_t cap, const struct ip_addr *vip, uint16_t vport,
			 const struct ip_addr *client, uint16_t cport);

#endif
