/* rtnetlink parsing in src/vrrp/vip.c: the monitor's event decoder (RTM_NEWADDR/DELADDR/
 * NEWLINK/DELLINK), the address lookup and the link query reply parsers.
 *
 * Those callbacks are static, so this target compiles vip.c itself (the fuzz build links it
 * instead of libbuoy.a's copy). Input: a receive buffer as recv() would return it from a
 * NETLINK_ROUTE socket. The monitor reads with plain recv(), so any local process that knows the
 * port id can send it such a buffer; the kernel's own messages are trusted only as far as
 * libmnl's framing checks go. Invariants: nothing is read outside the buffer; an address event
 * carries AF_INET/AF_INET6; interface names are NUL-terminated. */
#include "vrrp/vip.c"

#include "fuzz.h"

static void on_event(void *arg, const struct vip_event *ev)
{
	(void)arg;
	switch (ev->kind) {
	case VIP_EV_ADDR_ADD:
	case VIP_EV_ADDR_DEL: {
		FZ_ASSERT(ev->addr.family == AF_INET || ev->addr.family == AF_INET6);
		char buf[INET6_ADDRSTRLEN + 8];
		ip_addr_format(&ev->addr, IP_FMT_PREFIX, buf, sizeof(buf));
		break;
	}
	case VIP_EV_LINK:
		FZ_ASSERT(memchr(ev->ifname, 0, sizeof(ev->ifname)) != NULL);
		break;
	case VIP_EV_RESYNC:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	size_t len;
	/* exact size, so over-reads show; malloc's alignment suits struct nlmsghdr */
	uint8_t *exact = fz_rest(&f, &len, 0);

	struct vip_monitor m = { .cb = on_event };
	monitor_dispatch(&m, exact, len);
	if (!nl_frames_ok(exact, len)) { /* nl_request() drops such a reply too */
		free(exact);
		return 0;
	}

	struct ip_addr want;
	ip_addr_parse("198.18.0.100/24", &want);
	struct find_ctx fc = { .ifindex = 2, .want = &want };
	mnl_cb_run(exact, len, 0, 0, find_cb, &fc);

	struct link_ctx lc = { 0 };
	mnl_cb_run(exact, len, 0, 0, link_cb, &lc);
	FZ_ASSERT(lc.mac_len != 6 || lc.got);
	free(exact);
	return 0;
}
