#include "vrrp/vrrp_io.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

static const uint8_t MCAST4[4] = { 224, 0, 0, 18 };
static const uint8_t MCAST6[16] = { 0xff, 0x02, [15] = 0x12 };

void vrrp_io_group(int family, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)family;
	if (family == AF_INET)
		memcpy(out->b, MCAST4, 4);
	else
		memcpy(out->b, MCAST6, 16);
}

static int setopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val));
}

static int open4(int fd, int ifindex, bool unicast)
{
	if (unicast)
		return setopt(fd, IPPROTO_IP, IP_TTL, 255);
	struct ip_mreqn mr = { .imr_ifindex = ifindex };
	memcpy(&mr.imr_multiaddr, MCAST4, 4);
	if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0 ||
	    setopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, 255) < 0 ||
	    setopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0) < 0)
		return -1;
	return 0;
}

static int open6(int fd, int ifindex, bool unicast)
{
	if (setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) < 0 ||
	    setopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) < 0)
		return -1;
	if (unicast)
		return setopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
	struct ipv6_mreq mr = { .ipv6mr_interface = (unsigned)ifindex };
	memcpy(&mr.ipv6mr_multiaddr, MCAST6, 16);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0 ||
	    setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex) < 0 ||
	    setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255) < 0 ||
	    setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) < 0)
		return -1;
	return 0;
}

int vrrp_io_open(int family, const char *ifname, int ifindex, bool unicast)
{
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_PROTO);
	if (fd < 0)
		return -errno;
	int rc = setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1);
	if (rc == 0)
		rc = family == AF_INET ? open4(fd, ifindex, unicast) : open6(fd, ifindex, unicast);
	if (rc < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void put_cmsg(struct msghdr *msg, int level, int type, const void *data, size_t len)
{
	struct cmsghdr *cm = CMSG_FIRSTHDR(msg);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
	msg->msg_controllen = CMSG_SPACE(len);
}

int vrrp_io_send(int fd, int family, int ifindex, const struct ip_addr *src,
		 const struct ip_addr *dst, const uint8_t *pkt, size_t len)
{
	struct sockaddr_storage to = { 0 };
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	memset(&cbuf, 0, sizeof(cbuf));
	struct iovec iov = { .iov_base = (void *)pkt, .iov_len = len };
	struct msghdr msg = {
		.msg_name = &to,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf)
	};
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&to;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, dst->b, 4);
		msg.msg_namelen = sizeof(*s4);
		struct in_pktinfo pi = { .ipi_ifindex = ifindex }; /* ipi_spec_dst = source */
		memcpy(&pi.ipi_spec_dst, src->b, 4);
		put_cmsg(&msg, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&to;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, dst->b, 16);
		if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) || IN6_IS_ADDR_MULTICAST(&s6->sin6_addr))
			s6->sin6_scope_id = (uint32_t)ifindex;
		msg.msg_namelen = sizeof(*s6);
		struct in6_pktinfo pi = { .ipi6_ifindex = (unsigned)ifindex };
		memcpy(&pi.ipi6_addr, src->b, 16);
		put_cmsg(&msg, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
	return sendmsg(fd, &msg, 0) < 0 ? -errno : 0;
}

/* IPv4 raw sockets deliver the IP header: TTL, source and destination come from it. */
static bool parse_rx4(struct vrrp_rx *rx, const uint8_t *b, size_t n)
{
	if (n < 20 || (b[0] >> 4) != 4)
		return false;
	size_t ihl = (size_t)(b[0] & 0x0f) * 4;
	size_t tot = (size_t)(b[2] << 8 | b[3]);
	if (ihl < 20 || ihl > n || tot < ihl)
		return false;
	if (tot > n)
		tot = n;
	rx->ttl = b[8];
	rx->src.family = rx->dst.family = AF_INET;
	memcpy(rx->src.b, b + 12, 4);
	memcpy(rx->dst.b, b + 16, 4);
	rx->bytes = b + ihl;
	rx->len = tot - ihl;
	return true;
}

/* IPv6 raw sockets deliver the payload; hop limit and destination come as ancillary data. */
static void parse_cmsg6(struct vrrp_rx *rx, struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != IPPROTO_IPV6)
			continue;
		if (cm->cmsg_type == IPV6_HOPLIMIT) {
			int hl;
			memcpy(&hl, CMSG_DATA(cm), sizeof(hl));
			rx->ttl = (uint8_t)(hl < 0 ? 0 : hl > 255 ? 255 : hl);
		} else if (cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			rx->dst.family = AF_INET6;
			memcpy(rx->dst.b, &pi.ipi6_addr, 16);
		}
	}
}

enum vrrp_io_rx vrrp_io_recv(int fd, int family, uint8_t *buf, size_t cap, struct vrrp_rx *rx)
{
	struct sockaddr_storage from;
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf)
	};
	ssize_t n = recvmsg(fd, &msg, 0);
	if (n < 0)
		return VRRP_IO_NONE; /* EAGAIN, or an error we cannot act on: the next event retries */
	memset(rx, 0, sizeof(*rx));
	ip_addr_from_sockaddr((const struct sockaddr *)&from, &rx->src);
	if (msg.msg_flags & MSG_TRUNC)
		return VRRP_IO_TRUNCATED;
	if (family == AF_INET)
		return parse_rx4(rx, buf, (size_t)n) ? VRRP_IO_PACKET : VRRP_IO_SKIP;
	rx->bytes = buf;
	rx->len = (size_t)n;
	parse_cmsg6(rx, &msg);
	return VRRP_IO_PACKET;
}

static bool excluded(const struct ip_addr *a, const struct ip_addr *ex, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ip_addr_equal(&ex[i], a))
			return true;
	return false;
}

int vrrp_io_primary(int family, const char *ifname, bool link_local, const struct ip_addr *exclude,
		    size_t n_exclude, struct ip_addr *out)
{
	struct ifaddrs *ifa;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	size_t nlen = strlen(ifname);
	int rc = -EADDRNOTAVAIL;
	for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_addr || p->ifa_addr->sa_family != family)
			continue;
		if (strncmp(p->ifa_name, ifname, nlen) != 0 ||
		    (p->ifa_name[nlen] && p->ifa_name[nlen] != ':'))
			continue;
		struct ip_addr a;
		ip_addr_from_sockaddr(p->ifa_addr, &a);
		bool ll = a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80;
		if ((family == AF_INET6 && ll != link_local) || excluded(&a, exclude, n_exclude))
			continue;
		*out = a;
		rc = 0;
		break;
	}
	freeifaddrs(ifa);
	return rc;
}
