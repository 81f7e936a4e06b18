#include "vrrp/vip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"

/* Big enough for one kernel dump batch (libmnl's MNL_SOCKET_DUMP_SIZE, absent in older
 * releases). */
#define NL_RECV_SIZE 32768

/* ---- addresses ---- */

int vip_from_cfg(const struct cfg_vip *c, struct ip_addr *out)
{
	int rc = ip_addr_from_sockaddr((const struct sockaddr *)&c->ss, out);
	if (rc == 0)
		out->prefix = c->prefix;
	return rc;
}

/* ---- synchronous requests ---- */

/* libmnl trusts the framing more than it should (both found by fuzz/fuzz_netlink.c):
 * mnl_nlmsg_ok() compares nlmsg_len as a signed int, so a message claiming 2 GiB or more passes
 * and the walk runs off the buffer; and attributes are walked up to the 4-byte ALIGNED end of a
 * message, so an unaligned last message lets an attribute (and a "NUL-terminated" string in it)
 * extend past the datagram. The kernel always frames aligned; check every frame ourselves. */
static bool nl_frames_ok(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)p;
		if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > n || NLMSG_ALIGN(h->nlmsg_len) > n)
			return false;
		size_t step = NLMSG_ALIGN(h->nlmsg_len);
		if (step >= n)
			break;
		p += step;
		n -= step;
	}
	return true;
}

/* Sends one request and runs cb on every reply until the ack/done. Always asks for an ack so a
 * single-message reply (RTM_GETLINK by index) also terminates. Returns 0 or -errno. */
static int nl_request(struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	int rc = 0;
	/* Connected to the kernel (port 0), the socket gets no unicast from other processes: a
	 * local process cannot race a forged reply in (the kernel refuses it, ECONNREFUSED). */
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    connect(mnl_socket_get_fd(nl), (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		rc = -errno;
		goto out;
	}
	static unsigned seq_counter;
	req->nlmsg_seq = (unsigned)time(NULL) + ++seq_counter;
	req->nlmsg_flags |= NLM_F_ACK;
	unsigned portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	char buf[NL_RECV_SIZE];
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (!nl_frames_ok(buf, (size_t)n))
			continue; /* not the kernel's: it frames correctly */
		int r = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, portid, cb, data);
		if (r < 0) {
			rc = errno ? -errno : -EIO;
			break;
		}
		if (r == MNL_CB_STOP)
			break;
	}
out:
	mnl_socket_close(nl);
	return rc;
}

/* Attributes of an RTM_*ADDR message into an address. Returns false if it carries none. */
static bool parse_addr_msg(const struct nlmsghdr *nlh, struct ip_addr *out, int *ifindex)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *local = NULL, *address = NULL, *attr;
	/* libmnl checks the message frame, not that the fixed header fits in it (fuzz_netlink) */
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return false;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return false;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		uint16_t type = mnl_attr_get_type(attr);
		if (type == IFA_LOCAL)
			local = attr;
		else if (type == IFA_ADDRESS)
			address = attr;
	}
	/* IFA_LOCAL is the local side when there is a peer; otherwise both are equal. */
	const struct nlattr *a = local ? local : address;
	if (!a || mnl_attr_get_payload_len(a) != ip_addr_len(ifa->ifa_family))
		return false;
	memset(out, 0, sizeof(*out));
	out->family = ifa->ifa_family;
	out->prefix = ifa->ifa_prefixlen;
	memcpy(out->b, mnl_attr_get_payload(a), ip_addr_len(ifa->ifa_family));
	*ifindex = (int)ifa->ifa_index;
	return true;
}

struct find_ctx {
	int ifindex;
	const struct ip_addr *want;
	bool found;
	uint8_t prefix;
};

static int find_cb(const struct nlmsghdr *nlh, void *data)
{
	struct find_ctx *f = data;
	struct ip_addr got;
	int ifindex;
	if (nlh->nlmsg_type == RTM_NEWADDR && parse_addr_msg(nlh, &got, &ifindex) &&
	    ifindex == f->ifindex && ip_addr_equal(&got, f->want) && !f->found) {
		f->found = true;
		f->prefix = got.prefix;
	}
	return MNL_CB_OK;
}

int vip_present(int ifindex, const struct ip_addr *a, uint8_t *prefix_out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)a->family;
	struct find_ctx f = { .ifindex = ifindex, .want = a };
	int rc = nl_request(nlh, find_cb, &f);
	if (rc < 0)
		return rc;
	if (f.found && prefix_out)
		*prefix_out = f.prefix;
	return f.found ? 1 : 0;
}

static struct nlmsghdr *put_addr_msg(char *buf, uint16_t type, uint16_t flags, int ifindex,
				     const struct ip_addr *a, uint8_t prefix)
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
	struct nlmsghdr *nlh = put_addr_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex,
					    a, a->prefix);
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
		char txt[INET6_ADDRSTRLEN + 8];
		log_info("removed stale vip", "vip=%s ifindex=%d",
			 ip_addr_format(&a[i], IP_FMT_PREFIX, txt, sizeof(txt)), ifindex);
		removed++;
	}
	return removed;
}

/* ---- links ---- */

int vip_ifindex(const char *ifname)
{
	unsigned idx = ifname ? if_nametoindex(ifname) : 0;
	return idx ? (int)idx : -ENODEV;
}

struct link_ctx {
	bool got;
	unsigned flags;
	uint8_t mac[6];
	size_t mac_len;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_ctx *c = data;
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return MNL_CB_OK;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	c->got = true;
	c->flags = ifi->ifi_flags;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(attr) != IFLA_ADDRESS)
			continue;
		c->mac_len = mnl_attr_get_payload_len(attr);
		if (c->mac_len == 6)
			memcpy(c->mac, mnl_attr_get_payload(attr), 6);
	}
	return MNL_CB_OK;
}

static int link_query(int ifindex, struct link_ctx *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	memset(c, 0, sizeof(*c));
	int rc = nl_request(nlh, link_cb, c);
	if (rc < 0)
		return rc;
	return c->got ? 0 : -ENODEV;
}

static bool flags_up(unsigned flags)
{
	return (flags & IFF_UP) && (flags & IFF_RUNNING);
}

int vip_link_is_up(int ifindex)
{
	struct link_ctx c;
	int rc = link_query(ifindex, &c);
	return rc < 0 ? rc : flags_up(c.flags);
}

int vip_link_mac(int ifindex, uint8_t mac[6])
{
	struct link_ctx c;
	int rc = link_query(ifindex, &c);
	if (rc < 0)
		return rc;
	if (c.mac_len != 6)
		return -EINVAL;
	memcpy(mac, c.mac, 6);
	return 0;
}

/* ---- the monitor ---- */

static void emit_link(struct vip_monitor *m, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	struct vip_event ev = { .kind = VIP_EV_LINK, .ifindex = ifi->ifi_index };
	ev.link_flags = ifi->ifi_flags;
	ev.link_gone = nlh->nlmsg_type == RTM_DELLINK;
	ev.link_up = !ev.link_gone && flags_up(ifi->ifi_flags);
	mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(ev.ifname, sizeof(ev.ifname), "%s", mnl_attr_get_str(attr));
	}
	m->cb(m->arg, &ev);
}

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct vip_monitor *m = data;
	struct vip_event ev = { 0 };
	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		if (!parse_addr_msg(nlh, &ev.addr, &ev.ifindex))
			return MNL_CB_OK;
		ev.kind = nlh->nlmsg_type == RTM_DELADDR ? VIP_EV_ADDR_DEL : VIP_EV_ADDR_ADD;
		m->events_total++;
		m->cb(m->arg, &ev);
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
			return MNL_CB_OK; /* too short to say which link (fuzz_netlink) */
		m->events_total++;
		emit_link(m, nlh);
		break;
	}
	return MNL_CB_OK;
}

/* One datagram from the monitor socket (the kernel's, see monitor_read). */
static void monitor_dispatch(struct vip_monitor *m, const void *buf, size_t n)
{
	if (nl_frames_ok(buf, n))
		mnl_cb_run(buf, n, 0, 0, monitor_cb, m);
}

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
				log_warn("netlink message not from the kernel ignored", "sender_port=%u",
					 (unsigned)from.nl_pid);
			continue;
		}
		monitor_dispatch(m, buf, (size_t)n);
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
