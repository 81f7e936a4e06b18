#include "netlink/vip.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "netlink/nlreq.h"

/* ---- synchronous requests ---- */

int vip_present(int ifindex, const struct ip_addr *a, uint8_t *prefix_out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)a->family;
	struct nl_addr_find f = { .ifindex = ifindex, .want = a };
	int rc = nl_request(nlh, nl_addr_find_cb, &f);
	if (rc < 0)
		return rc;
	if (f.found && prefix_out)
		*prefix_out = f.prefix;
	return f.found ? 1 : 0;
}

static int route_type_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWROUTE && mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct rtmsg)) {
		const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
		*(int *)data = rt->rtm_type;
	}
	return MNL_CB_OK;
}

int vip_is_local(const struct ip_addr *a)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (uint8_t)a->family;
	rt->rtm_dst_len = (uint8_t)(ip_addr_len(a->family) * 8);
	mnl_attr_put(nlh, RTA_DST, ip_addr_len(a->family), a->b);
	int type = -1;
	int rc = nl_request(nlh, route_type_cb, &type);
	if (rc < 0)
		return rc;
	return type == RTN_LOCAL;
}

static struct nlmsghdr *put_addr_msg(
	char *buf, uint16_t type, uint16_t flags, int ifindex, const struct ip_addr *a, uint8_t prefix)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)a->family;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, ip_addr_len(a->family), a->b);
	return nlh;
}

int vip_add(int ifindex, const struct ip_addr *a, const char *label)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh =
		put_addr_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, a, a->prefix);
	/* IFA_ADDRESS = IFA_LOCAL: no peer; the kernel derives the prefix route from it. */
	mnl_attr_put(nlh, IFA_ADDRESS, ip_addr_len(a->family), a->b);
	if (a->family == AF_INET6) {
		struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	} else if (label && *label) {
		mnl_attr_put_strz(nlh, IFA_LABEL, label);
	}
	int rc = nl_request(nlh, NULL, NULL);
	return rc == -EEXIST ? 0 : rc;
}

static int del_once(int ifindex, const struct ip_addr *a, uint8_t prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = put_addr_msg(buf, RTM_DELADDR, 0, ifindex, a, prefix);
	int rc = nl_request(nlh, NULL, NULL);
	return rc == -EADDRNOTAVAIL || rc == -ENOENT ? 0 : rc;
}

int vip_del(int ifindex, const struct ip_addr *a)
{
	/* IPv6 deletion matches on the prefix too, so delete with the prefix the address actually
	 * has; repeat in case it is on the interface more than once (bounded). */
	for (int i = 0; i < 8; i++) {
		uint8_t prefix;
		int p = vip_present(ifindex, a, &prefix);
		if (p <= 0)
			return p;
		int rc = del_once(ifindex, a, prefix);
		if (rc < 0)
			return rc;
	}
	return -EBUSY;
}

int vip_remove_stale(int ifindex, const struct ip_addr *a, size_t n)
{
	int removed = 0;
	for (size_t i = 0; i < n; i++) {
		int p = vip_present(ifindex, &a[i], NULL);
		if (p < 0)
			return p;
		if (!p)
			continue;
		int rc = vip_del(ifindex, &a[i]);
		if (rc < 0)
			return rc;
		char txt[IP_ADDR_STRLEN];
		log_info("removed stale vip", "vip=%s ifindex=%d",
			 ip_addr_format(&a[i], IP_FMT_PREFIX, txt, sizeof(txt)), ifindex);
		removed++;
	}
	return removed;
}

/* ---- the monitor ---- */

static void monitor_read(struct loop *l, struct io *io, uint32_t events)
{
	(void)l;
	(void)events;
	struct vip_monitor *m = io->arg;
	char buf[NL_RECV_SIZE];
	for (int burst = 0; burst < 64; burst++) {
		struct sockaddr_nl from = { 0 };
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(io->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0 && errno == ENOBUFS) {
			/* Events were lost; the owner must re-read the truth from the kernel. */
			m->overruns_total++;
			log_warn("netlink monitor overrun", "overruns=%llu",
				 (unsigned long long)m->overruns_total);
			struct vip_event ev = { .kind = VIP_EV_RESYNC };
			m->cb(m->arg, &ev);
			continue;
		}
		if (n <= 0)
			return; /* EAGAIN (drained) or EINTR: level-triggered, we come back */
		/* Any local process may unicast to our port id; only the kernel (port 0) speaks
		 * for links and addresses. A forged "link down" would otherwise move the VIP. */
		if (from.nl_pid != 0) {
			if (m->forged_total++ == 0) /* once at warn: a flood must not flood the log */
				log_warn("netlink message not from the kernel ignored",
					 "sender_port=%u", (unsigned)from.nl_pid);
			continue;
		}
		m->events_total += nl_decode_events(buf, (size_t)n, m->cb, m->arg);
	}
}

int vip_monitor_open(struct vip_monitor *m, struct loop *l, vip_event_cb cb, void *arg)
{
	memset(m, 0, sizeof(*m));
	m->io.fd = -1;
	m->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->nl)
		return -errno;
	if (mnl_socket_bind(m->nl, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
			    MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;
		mnl_socket_close(m->nl);
		m->nl = NULL;
		return e;
	}
	int fd = mnl_socket_get_fd(m->nl);
	int rcvbuf = 1 << 20;
	/* FORCE works as root (past rmem_max); fall back to the plain, capped option. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	m->cb = cb;
	m->arg = arg;
	m->io.fd = fd;
	m->io.cb = monitor_read;
	m->io.arg = m;
	if (loop_add(l, &m->io, EPOLLIN) < 0) {
		int e = -errno;
		mnl_socket_close(m->nl);
		m->nl = NULL;
		m->io.fd = -1;
		return e;
	}
	return 0;
}

void vip_monitor_close(struct vip_monitor *m, struct loop *l)
{
	if (!m->nl)
		return;
	loop_del(l, &m->io);
	mnl_socket_close(m->nl);
	m->nl = NULL;
	m->io.fd = -1;
}
