#include "netlink/link.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>

#include "netlink/nldecode.h"
#include "netlink/nlreq.h"

int link_ifindex(const char *ifname)
{
	unsigned idx = ifname ? if_nametoindex(ifname) : 0;
	return idx ? (int)idx : -ENODEV;
}

static int link_query(int ifindex, struct nl_link *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	memset(c, 0, sizeof(*c));
	int rc = nl_request(nlh, nl_link_cb, c);
	if (rc < 0)
		return rc;
	return c->got ? 0 : -ENODEV;
}

int link_is_up(int ifindex)
{
	struct nl_link c;
	int rc = link_query(ifindex, &c);
	return rc < 0 ? rc : nl_link_usable(c.flags);
}

int link_mac(int ifindex, uint8_t mac[6])
{
	struct nl_link c;
	int rc = link_query(ifindex, &c);
	if (rc < 0)
		return rc;
	if (c.mac_len != 6)
		return -EINVAL;
	memcpy(mac, c.mac, 6);
	return 0;
}
