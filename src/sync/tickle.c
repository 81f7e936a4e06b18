#include "sync/tickle.h"

#include <string.h>
#include <sys/socket.h>

#define TCP_PROTO 6
#define TCP_FLAG_ACK 0x10

/* Why seq 0 / ack 0 work. The new holder knows neither of the connection's sequence numbers,
 * and needs none: it only has to make the client speak.
 *  - seq 0 lies outside the client's receive window unless RCV.NXT happens to be within one
 *    window of 2^32 (odds window/2^32). A segment outside the window is not acceptable, and
 *    the client must answer it with an ACK carrying its own SND.NXT and RCV.NXT (RFC 793 p.69,
 *    RFC 5961 §4/§5: the "challenge ACK").
 *  - in the rare case seq 0 is in the window, ack 0 is almost surely outside
 *    [SND.UNA - MAX.SND.WND, SND.NXT], and RFC 5961 §5.2 makes the client discard the segment
 *    and send the same challenge ACK.
 * That ACK reaches whoever holds the VIP now: the new holder, which has no socket for it, so
 * its kernel answers RST with seq = the client's ACK field, exactly the client's RCV.NXT, which
 * passes even RFC 5961 §3's strict RST check. The client's connection fails at once. A
 * segment with data or any other flag could instead be taken for an attack or change state;
 * a bare ACK is the one segment every TCP must answer and never acts on. */
size_t tickle_build_tcp(uint8_t *buf, size_t cap, const struct ip_addr *vip, uint16_t vport,
			const struct ip_addr *client, uint16_t cport)
{
	size_t alen = ip_addr_len(vip->family);
	if (cap < TICKLE_TCP_LEN || !alen || vip->family != client->family || !vport || !cport)
		return 0;
	memset(buf, 0, TICKLE_TCP_LEN);
	buf[0] = (uint8_t)(vport >> 8);
	buf[1] = (uint8_t)vport;
	buf[2] = (uint8_t)(cport >> 8);
	buf[3] = (uint8_t)cport;
	/* seq (4..7) and ack (8..11) stay 0, see above */
	buf[12] = 5 << 4; /* data offset: 5 words, no options */
	buf[13] = TCP_FLAG_ACK;
	buf[14] = (uint8_t)(TICKLE_WINDOW >> 8);
	buf[15] = (uint8_t)TICKLE_WINDOW;
	/* checksum 16..17 below, urgent pointer 18..19 zero. The pseudo-header: IPv4 has src,
	 * dst, zero, protocol, 16-bit length; IPv6 src, dst, 32-bit length, 3 zeros, next header.
	 * Both come to the same 16-bit words for a length below 65536. */
	uint32_t sum = inet_sum(0, vip->b, alen);
	sum = inet_sum(sum, client->b, alen);
	sum += TCP_PROTO + TICKLE_TCP_LEN;
	uint16_t ck = inet_csum(inet_sum(sum, buf, TICKLE_TCP_LEN));
	buf[16] = (uint8_t)(ck >> 8);
	buf[17] = (uint8_t)ck;
	return TICKLE_TCP_LEN;
}

size_t tickle_build_ipv4(uint8_t *buf, size_t cap, const struct ip_addr *vip, uint16_t vport,
			 const struct ip_addr *client, uint16_t cport)
{
	if (cap < TICKLE_IPV4_LEN || vip->family != AF_INET)
		return 0;
	if (!tickle_build_tcp(buf + 20, cap - 20, vip, vport, client, cport))
		return 0;
	memset(buf, 0, 20);
	buf[0] = 0x45; /* version 4, IHL 5 */
	buf[2] = 0;
	buf[3] = TICKLE_IPV4_LEN;
	/* ID 4..5 zero: the kernel picks one (and DF makes the datagram atomic, RFC 6864) */
	buf[6] = 0x40; /* DF, fragment offset 0 */
	buf[8] = TICKLE_TTL;
	buf[9] = TCP_PROTO;
	memcpy(buf + 12, vip->b, 4);
	memcpy(buf + 16, client->b, 4);
	uint16_t ck = inet_csum(inet_sum(0, buf, 20));
	buf[10] = (uint8_t)(ck >> 8);
	buf[11] = (uint8_t)ck;
	return TICKLE_IPV4_LEN;
}

size_t tickle_build_ipv6(uint8_t *buf, size_t cap, const struct ip_addr *vip, uint16_t vport,
			 const struct ip_addr *client, uint16_t cport)
{
	if (cap < TICKLE_IPV6_LEN || vip->family != AF_INET6)
		return 0;
	if (!tickle_build_tcp(buf + 40, cap - 40, vip, vport, client, cport))
		return 0;
	memset(buf, 0, 40);
	buf[0] = 0x60; /* version 6; traffic class and flow label 0 */
	buf[5] = TICKLE_TCP_LEN;
	buf[6] = TCP_PROTO;
	buf[7] = TICKLE_TTL;
	memcpy(buf + 8, vip->b, 16);
	memcpy(buf + 24, client->b, 16);
	return TICKLE_IPV6_LEN;
}
