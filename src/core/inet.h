/* Internet addresses and the Internet checksum, pure: one IP address type (with its prefix
 * length) for the whole program, its one parser, formatter and equality, and the RFC 1071
 * checksum that every packet builder shares. No sockets, no allocation.
 *
 * The address is in network byte order. A plain address (no "/N") carries the host length
 * (32 or 128) as its prefix: VIPs need one, and packets, peers and sources ignore it. */
#ifndef BUOY_INET_H
#define BUOY_INET_H
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ip_addr {
	uint8_t family; /* AF_INET or AF_INET6; 0 = none (unknown, unset) */
	uint8_t prefix; /* 0..32 or 0..128 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16]; /* the first ip_addr_len(family) bytes */
	};
};

/* Enough for ip_addr_format() in either form, with the NUL. */
#define IP_ADDR_STRLEN (INET6_ADDRSTRLEN + 4)

/* Address bytes of a family: 4, 16, or 0 for anything else. */
size_t ip_addr_len(int family);

/* "198.18.0.100/24", "2001:db8::100/64", or without "/N" the host length. The prefix is 1 to 3
 * decimal digits, at most the host length; no brackets, no spaces, no zone. 0 or -EINVAL. */
int ip_addr_parse(const char *s, struct ip_addr *out);

enum ip_fmt {
	IP_FMT_ADDR,   /* "198.18.0.100" (family 0: "-") */
	IP_FMT_PREFIX, /* "198.18.0.100/24" */
};
/* Into buf (IP_ADDR_STRLEN is enough); an unknown family reads "-". Returns buf. */
const char *ip_addr_format(const struct ip_addr *a, enum ip_fmt fmt, char *buf, size_t len);

/* Same family and address; the prefix is ignored. Two family-0 addresses are equal. */
bool ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b);
/* The unspecified address, 0.0.0.0 or :: (false for family 0). */
bool ip_addr_is_any(const struct ip_addr *a);
/* Numeric order (family first), prefix ignored: <0, 0, >0. */
int ip_addr_cmp(const struct ip_addr *a, const struct ip_addr *b);

/* sockaddr_in / sockaddr_in6 (the port is dropped) -> address with the host prefix.
 * 0, or -EAFNOSUPPORT with *out zeroed (family 0). */
int ip_addr_from_sockaddr(const struct sockaddr *sa, struct ip_addr *out);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4
 * peer) becomes that IPv4 address with the host prefix; any other address is left as is. */
void ip_addr_unmap(struct ip_addr *a);

/* The reverse, with a port (host order): fills *out (zeroed first) and returns the length to
 * pass with it, 0 for family 0. */
socklen_t ip_addr_to_sockaddr(const struct ip_addr *a, uint16_t port, struct sockaddr_storage *out);

/* ---- the Internet checksum (RFC 1071) ---- */

/* Adds len bytes to a running one's-complement sum, as big-endian 16-bit words; an odd last
 * byte is padded with zero, so only the last piece of a message may have an odd length. */
uint32_t inet_sum(uint32_t sum, const void *data, size_t len);
/* Folds the carries and complements: the value for the checksum field (sums to 0 on receive). */
uint16_t inet_csum(uint32_t sum);

#endif
