/* rtnetlink decoding in src/vrrp/nldecode.c: the monitor's event decoder (RTM_NEWADDR/DELADDR/
 * NEWLINK/DELLINK), the request reply framing, the address lookup and the link query parsers.
 *
 * Input: a receive buffer as recv() would return it from a NETLINK_ROUTE socket. The monitor
 * reads with plain recv(), so any local process that knows the port id can send it such a buffer
 * (vip.c drops those by sender; the decoder must hold anyway); the kernel's own messages are
 * trusted only as far as nl_frames_ok() goes. Invariants: nothing is read outside the buffer; an
 * address event carries AF_INET/AF_INET6; interface names are NUL-terminated; the event count
 * is the number of events reported. */
#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "netlink/nldecode.h"

static size_t reported;

static void on_event(void *arg, const struct vip_event *ev)
{
	(void)arg;
	reported++;
	switch (ev->kind) {
	case VIP_EV_ADDR_ADD:
	case VIP_EV_ADDR_DEL: {
		FZ_ASSERT(ev->addr.family == AF_INET || ev->addr.family == AF_INET6);
		char buf[IP_ADDR_STRLEN];
		ip_addr_format(&ev->addr, IP_FMT_PREFIX, buf, sizeof(buf));
		break;
	}
	case VIP_EV_LINK: FZ_ASSERT(memchr(ev->ifname, 0, sizeof(ev->ifname)) != NULL); break;
	case VIP_EV_RESYNC: break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	size_t len;
	/* exact size, so over-reads show; malloc's alignment suits struct nlmsghdr */
	uint8_t *exact = fz_rest(&f, &len, 0);

	reported = 0;
	FZ_ASSERT(nl_decode_events(exact, len, on_event, NULL) == reported);
	if (!nl_frames_ok(exact, len)) {
		FZ_ASSERT(reported == 0);
		/* nl_request() skips such a reply too */
		FZ_ASSERT(nl_decode_reply(exact, len, 0, 0, NULL, NULL) == MNL_CB_OK);
		free(exact);
		return 0;
	}

	struct ip_addr want;
	ip_addr_parse("198.18.0.100/24", &want);
	struct nl_addr_find fc = { .ifindex = 2, .want = &want };
	nl_decode_reply(exact, len, 0, 0, nl_addr_find_cb, &fc);

	struct nl_link lc = { 0 };
	nl_decode_reply(exact, len, 0, 0, nl_link_cb, &lc);
	FZ_ASSERT(lc.mac_len != 6 || lc.got);
	free(exact);
	return 0;
}
