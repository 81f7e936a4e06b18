/* rtnetlink decoding, pure: bytes in, events and answers out. No socket, no clock, no log.
 *
 * The shell (vip.c: the monitor and the address requests; link.c: the link queries; nlreq.c:
 * the request socket) reads datagrams and hands them here. Everything here takes a buffer as
 * recv() returned it, or one message of it, and reads nothing outside it whoever sent it: the
 * unit test (test_regress_netlink.c) and the fuzzer (fuzz/fuzz_netlink.c) point here. */
#ifndef BUOY_NLDECODE_H
#define BUOY_NLDECODE_H
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "core/inet.h"

/* ---- events, as the monitor reports them ---- */

enum vip_event_kind {
	VIP_EV_ADDR_DEL, /* an address was removed from ifindex */
	VIP_EV_ADDR_ADD, /* an address was added to ifindex */
	VIP_EV_LINK,     /* link state of ifindex is now link_up (sent on every RTM_NEWLINK/DELLINK,
	                    * consumers compare with what they knew) */
	VIP_EV_RESYNC,   /* the kernel dropped events (socket overrun): re-query everything */
};

struct vip_event {
	enum vip_event_kind kind;
	int ifindex;
	struct ip_addr addr;      /* ADDR_* */
	bool link_up;             /* LINK: IFF_UP && IFF_RUNNING */
	bool link_gone;           /* LINK: RTM_DELLINK, the interface was deleted */
	unsigned link_flags;      /* LINK: IFF_* */
	char ifname[IF_NAMESIZE]; /* LINK: when the kernel said it; ADDR_*: may be "" */
};

typedef void (*vip_event_cb)(void *arg, const struct vip_event *ev);

/* ---- decoders ---- */

/* Every frame of the datagram fits in it, 4-byte aligned, with a length libmnl's signed compare
 * cannot misread. The kernel always frames so: a datagram failing this is not the kernel's and
 * is dropped whole. A trailing piece shorter than a header is ignored (libmnl does too). */
bool nl_frames_ok(const void *buf, size_t n);

/* Link usable for VRRP: administratively up and carrier (IFF_UP && IFF_RUNNING). */
bool nl_link_usable(unsigned ifi_flags);

/* One monitor datagram: calls cb once per address (RTM_NEWADDR/DELADDR) or link
 * (RTM_NEWLINK/DELLINK) event in it; messages too short for their fixed header, or of another
 * family or type, are skipped. A badly framed datagram yields nothing. Returns the number of
 * events reported. */
size_t nl_decode_events(const void *buf, size_t n, vip_event_cb cb, void *arg);

/* An RTM_*ADDR message into an address and its ifindex; false if it carries none we read
 * (not AF_INET/AF_INET6, short header, no or wrong-sized IFA_LOCAL/IFA_ADDRESS). */
bool nl_decode_addr(const struct nlmsghdr *nlh, struct ip_addr *out, int *ifindex);

/* ---- request replies ---- */

/* One datagram of a request's reply: cb on each message of the request (seq, portid) until the
 * ack or the end of a dump. Returns MNL_CB_OK (1: read on), MNL_CB_STOP (0: complete) or
 * MNL_CB_ERROR (-1, errno set: the kernel's error, or a reply that is not ours). A badly framed
 * datagram is not the kernel's: it is skipped (MNL_CB_OK). cb may be NULL (an ack only). */
int nl_decode_reply(const void *buf, size_t n, unsigned seq, unsigned portid, mnl_cb_t cb, void *data);

/* Message parsers for cb (mnl_cb_t: MNL_CB_OK always; anything they cannot read is skipped). */

/* RTM_GETADDR dump: is `want` (prefix ignored) on ifindex, and with which prefix. */
struct nl_addr_find {
	int ifindex;                /* in */
	const struct ip_addr *want; /* in */
	bool found;                 /* out: the first match wins */
	uint8_t prefix;             /* out */
};
int nl_addr_find_cb(const struct nlmsghdr *nlh, void *nl_addr_find);

/* RTM_GETLINK by index: flags and hardware address. */
struct nl_link {
	bool got;       /* a whole RTM_NEWLINK was seen */
	unsigned flags; /* IFF_* */
	uint8_t mac[6]; /* when mac_len == 6 */
	size_t mac_len; /* IFLA_ADDRESS length, 0 = none */
};
int nl_link_cb(const struct nlmsghdr *nlh, void *nl_link);

#endif
