#include "netlink/nldecode.h"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* libmnl trusts the framing more than it should (both found by fuzz/fuzz_netlink.c):
 * mnl_nlmsg_ok() compares nlmsg_len as a signed int, so a message claiming 2 GiB or more passes
 * and the walk runs off the buffer; and attributes are walked up to the 4-byte ALIGNED end of a
 * message, so an unaligned last message lets an attribute (and a "NUL-terminated" string in it)
 * extend past the datagram. The kernel always frames aligned; check every frame ourselves. */
bool nl_frames_ok(const void *buf, size_t n)
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

bool nl_link_usable(unsigned ifi_flags)
{
	return (ifi_flags & IFF_UP) && (ifi_flags & IFF_RUNNING);
}

bool nl_decode_addr(const struct nlmsghdr *nlh, struct ip_addr *out, int *ifindex)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *local = NULL, *address = NULL, *attr;
	/* libmnl checks the message frame, not that the fixed header fits in it (fuzz_netlink) */
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return false;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return false;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa))
	{
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

/* The caller checked that the ifinfomsg fits. */
static void decode_link(const struct nlmsghdr *nlh, struct vip_event *ev)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	ev->kind = VIP_EV_LINK;
	ev->ifindex = ifi->ifi_index;
	ev->link_flags = ifi->ifi_flags;
	ev->link_gone = nlh->nlmsg_type == RTM_DELLINK;
	ev->link_up = !ev->link_gone && nl_link_usable(ifi->ifi_flags);
	mnl_attr_for_each(attr, nlh, sizeof(*ifi))
	{
		if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(ev->ifname, sizeof(ev->ifname), "%s", mnl_attr_get_str(attr));
	}
}

struct events_ctx {
	vip_event_cb cb;
	void *arg;
	size_t n;
};

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct events_ctx *c = data;
	struct vip_event ev = { 0 };
	switch (nlh->nlmsg_type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		if (!nl_decode_addr(nlh, &ev.addr, &ev.ifindex))
			return MNL_CB_OK;
		ev.kind = nlh->nlmsg_type == RTM_DELADDR ? VIP_EV_ADDR_DEL : VIP_EV_ADDR_ADD;
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
			return MNL_CB_OK; /* too short to say which link (fuzz_netlink) */
		decode_link(nlh, &ev);
		break;
	default: return MNL_CB_OK;
	}
	c->n++;
	c->cb(c->arg, &ev);
	return MNL_CB_OK;
}

size_t nl_decode_events(const void *buf, size_t n, vip_event_cb cb, void *arg)
{
	struct events_ctx c = { .cb = cb, .arg = arg };
	if (nl_frames_ok(buf, n))
		mnl_cb_run(buf, n, 0, 0, event_cb, &c);
	return c.n;
}

int nl_decode_reply(const void *buf, size_t n, unsigned seq, unsigned portid, mnl_cb_t cb, void *data)
{
	if (!nl_frames_ok(buf, n))
		return MNL_CB_OK; /* not the kernel's: it frames correctly */
	return mnl_cb_run(buf, n, seq, portid, cb, data);
}

int nl_addr_find_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_addr_find *f = data;
	struct ip_addr got;
	int ifindex;
	if (nlh->nlmsg_type == RTM_NEWADDR && nl_decode_addr(nlh, &got, &ifindex) &&
	    ifindex == f->ifindex && ip_addr_equal(&got, f->want) && !f->found) {
		f->found = true;
		f->prefix = got.prefix;
	}
	return MNL_CB_OK;
}

int nl_link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_link *c = data;
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return MNL_CB_OK;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	c->got = true;
	c->flags = ifi->ifi_flags;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi))
	{
		if (mnl_attr_get_type(attr) != IFLA_ADDRESS)
			continue;
		c->mac_len = mnl_attr_get_payload_len(attr);
		if (c->mac_len == 6)
			memcpy(c->mac, mnl_attr_get_payload(attr), 6);
	}
	return MNL_CB_OK;
}
