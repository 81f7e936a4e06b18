/* Regressions found by fuzz/fuzz_netlink.c and by reading the monitor after it:
 *  - a RTM_NEWLINK/RTM_NEWADDR whose payload is shorter than its fixed header (ifinfomsg,
 *    ifaddrmsg) was read past its end and reported as an event with garbage flags;
 *  - the monitor accepted messages unicast by any local process (sender port != 0): a forged
 *    "link down" put VRRP in Fault and moved the VIP; request sockets could get forged replies;
 *  - libmnl's framing checks let a 2 GiB nlmsg_len or an unaligned last message walk past the
 *    datagram.
 * The decoders are vrrp/nldecode.h (pure); the sockets are vip.c's monitor and nlreq.c. */
#include <errno.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "core/loop.h"
#include "netlink/link.h"
#include "netlink/nldecode.h"
#include "netlink/vip.h"

static int events;
static struct vip_event last;

static void on_event(void *arg, const struct vip_event *ev)
{
	(void)arg;
	events++;
	last = *ev;
}

static size_t put_msg(uint8_t *buf, uint16_t type, const void *payload, size_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	memset(h, 0, sizeof(*h));
	h->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + len);
	h->nlmsg_type = type;
	memcpy(buf + NLMSG_HDRLEN, payload, len);
	return NLMSG_ALIGN(h->nlmsg_len);
}

static void test_short_link_message_is_ignored(void **st)
{
	(void)st;
	uint8_t *buf = calloc(1, 64);
	struct ifinfomsg ifi = { .ifi_index = 2, .ifi_flags = IFF_UP | IFF_RUNNING };
	/* 8 of the 16 bytes of ifinfomsg: the crasher from the fuzzer, in short */
	size_t n = put_msg(buf, RTM_NEWLINK, &ifi, 8);
	events = 0;
	nl_decode_events(buf, n, on_event, NULL);
	assert_int_equal(events, 0);
	n = put_msg(buf, RTM_DELLINK, &ifi, 4);
	nl_decode_events(buf, n, on_event, NULL);
	assert_int_equal(events, 0);
	struct nl_link lc = { 0 };
	n = put_msg(buf, RTM_NEWLINK, &ifi, 8);
	mnl_cb_run(buf, n, 0, 0, nl_link_cb, &lc);
	assert_false(lc.got);
	/* the whole header: reported */
	n = put_msg(buf, RTM_NEWLINK, &ifi, sizeof(ifi));
	nl_decode_events(buf, n, on_event, NULL);
	assert_int_equal(events, 1);
	assert_int_equal(last.ifindex, 2);
	assert_true(last.link_up);
	free(buf);
}

static void test_short_addr_message_is_ignored(void **st)
{
	(void)st;
	uint8_t *buf = calloc(1, 64);
	struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = 24, .ifa_index = 2 };
	size_t n = put_msg(buf, RTM_DELADDR, &ifa, 4);
	events = 0;
	nl_decode_events(buf, n, on_event, NULL);
	assert_int_equal(events, 0);
	free(buf);
}

/* A process (here: us, through a second netlink socket) unicasts a "link down" to the
 * monitor's port id. The kernel delivers it; the monitor must not believe it. */
static void test_forged_link_down_from_a_process_is_ignored(void **st)
{
	(void)st;
	struct loop *l = loop_new();
	assert_non_null(l);
	struct vip_monitor m;
	if (vip_monitor_open(&m, l, on_event, NULL) < 0) {
		loop_free(l);
		skip(); /* no NETLINK_ROUTE here */
	}
	unsigned portid = mnl_socket_get_portid(m.nl);
	struct mnl_socket *evil = mnl_socket_open(NETLINK_ROUTE);
	assert_non_null(evil);
	assert_int_equal(mnl_socket_bind(evil, 0, MNL_SOCKET_AUTOPID), 0);
	uint8_t buf[64];
	struct ifinfomsg ifi = { .ifi_index = 1, .ifi_flags = 0 }; /* "lo is down" */
	size_t n = put_msg(buf, RTM_NEWLINK, &ifi, sizeof(ifi));
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = portid };
	ssize_t sent = sendto(mnl_socket_get_fd(evil), buf, n, 0, (struct sockaddr *)&to, sizeof(to));
	assert_int_equal(sent, (ssize_t)n);
	events = 0;
	/* the message is queued on the monitor's socket now: read it as the loop would */
	m.io.cb(l, &m.io, EPOLLIN);
	assert_int_equal(events, 0);
	assert_int_equal(m.forged_total, 1);
	mnl_socket_close(evil);
	vip_monitor_close(&m, l);
	loop_free(l);
}

/* fuzz_netlink crash-413d9e17: nlmsg_len 0xd8000034 passes libmnl's signed length check and
 * its walk reads gigabytes past the datagram. */
static void test_huge_nlmsg_len_is_rejected(void **st)
{
	(void)st;
	static const uint8_t crash[] = {
		0x34, 0x00, 0x00, 0xd8, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x08, 0x00, 0x01, 0x00, 0xc6, 0x12, 0x00, 0x64, 0x08, 0x00, 0x02, 0x00, 0xc6, 0x12,
		0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x02, 0x18, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
		0x08, 0x00, 0x01, 0x00, 0xc6, 0x12, 0x00, 0x64, 0x08, 0x00, 0x02, 0x00, 0xc6, 0x12,
		0x00, 0x64, 0x09, 0x00, 0x03, 0x00, 0x65, 0x74, 0x68, 0x30, 0x00, 0x00, 0x00, 0x00,
	};
	assert_false(nl_frames_ok(crash, sizeof(crash)));
	events = 0;
	nl_decode_events(crash, sizeof(crash), on_event, NULL);
	assert_int_equal(events, 0);
	/* a well-framed batch still goes through, the trailing partial header is ignored */
	uint8_t buf[128] = { 0 };
	struct ifinfomsg ifi = { .ifi_index = 3, .ifi_flags = IFF_UP | IFF_RUNNING };
	size_t n = put_msg(buf, RTM_NEWLINK, &ifi, sizeof(ifi));
	n += put_msg(buf + n, RTM_DELLINK, &ifi, sizeof(ifi));
	assert_true(nl_frames_ok(buf, n));
	assert_true(nl_frames_ok(buf, n + 8));
	nl_decode_events(buf, n, on_event, NULL);
	assert_int_equal(events, 2);
	assert_true(last.link_gone);
	/* one frame longer than the datagram */
	((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)n + 4;
	assert_false(nl_frames_ok(buf, n));
}

/* fuzz_netlink crash-a410d2a8: a 55-byte RTM_NEWLINK ending in a 24-byte IFLA_IFNAME. libmnl
 * walks attributes to the aligned end (56), so the name's "terminating NUL" is byte 56 of a
 * 55-byte datagram. */
static void test_unaligned_last_message_is_rejected(void **st)
{
	(void)st;
	static const uint8_t crash[] = {
		0x37, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0xf8, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x56, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x03, 0x00, 0x65, 0x27, 0x26, 0x26, 0x26, 0x74,
		0x68, 0x30, 0x65, 0x74, 0x30, 0x65, 0x74, 0x68, 0x30, 0x65, 0x74, 0x68, 0x30,
	};
	assert_int_equal(sizeof(crash), 55);
	assert_false(nl_frames_ok(crash, sizeof(crash)));
	uint8_t *exact = malloc(sizeof(crash));
	memcpy(exact, crash, sizeof(crash));
	events = 0;
	nl_decode_events(exact, sizeof(crash), on_event, NULL);
	assert_int_equal(events, 0);
	free(exact);
}

/* nl_request() (nlreq.c) connects its socket to the kernel so that no process can slip a forged reply in
 * between its request and the kernel's answer. This is the kernel behaviour it relies on. */
static void test_kernel_connected_socket_refuses_process_unicast(void **st)
{
	(void)st;
	struct mnl_socket *req = mnl_socket_open(NETLINK_ROUTE);
	struct mnl_socket *evil = mnl_socket_open(NETLINK_ROUTE);
	if (!req || !evil)
		skip();
	assert_int_equal(mnl_socket_bind(req, 0, MNL_SOCKET_AUTOPID), 0);
	assert_int_equal(mnl_socket_bind(evil, 0, MNL_SOCKET_AUTOPID), 0);
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	assert_int_equal(connect(mnl_socket_get_fd(req), (struct sockaddr *)&kernel, sizeof(kernel)), 0);
	uint8_t buf[64];
	struct ifinfomsg ifi = { .ifi_index = 1 };
	size_t n = put_msg(buf, RTM_NEWLINK, &ifi, sizeof(ifi));
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = mnl_socket_get_portid(req) };
	ssize_t sent = sendto(mnl_socket_get_fd(evil), buf, n, 0, (struct sockaddr *)&to, sizeof(to));
	assert_int_equal(sent, -1);
	assert_int_equal(errno, ECONNREFUSED);
	mnl_socket_close(req);
	mnl_socket_close(evil);
	/* and a real request through it still works: lo exists everywhere */
	assert_int_equal(link_is_up(1) >= 0, 1);
}

/* A request's reply goes through the same framing check as the monitor: an address dump is
 * read (first match and its prefix), a badly framed datagram is skipped whole. */
static void test_reply_decoding(void **st)
{
	(void)st;
	uint8_t buf[128] = { 0 };
	struct {
		struct ifaddrmsg ifa;
		struct nlattr nla;
		uint8_t addr[4];
	} msg = { .ifa = { .ifa_family = AF_INET, .ifa_prefixlen = 24, .ifa_index = 2 },
		  .nla = { .nla_len = sizeof(struct nlattr) + 4, .nla_type = IFA_LOCAL },
		  .addr = { 198, 18, 0, 100 } };
	size_t n = put_msg(buf, RTM_NEWADDR, &msg, sizeof(msg));
	msg.ifa.ifa_prefixlen = 32;
	n += put_msg(buf + n, RTM_NEWADDR, &msg, sizeof(msg));
	struct ip_addr want;
	assert_int_equal(ip_addr_parse("198.18.0.100", &want), 0);
	struct nl_addr_find f = { .ifindex = 2, .want = &want };
	assert_int_equal(nl_decode_reply(buf, n, 0, 0, nl_addr_find_cb, &f), MNL_CB_OK);
	assert_true(f.found);
	assert_int_equal(f.prefix, 24);
	/* on another interface: not found */
	struct nl_addr_find g = { .ifindex = 3, .want = &want };
	nl_decode_reply(buf, n, 0, 0, nl_addr_find_cb, &g);
	assert_false(g.found);
	/* the same bytes, the first frame claiming more than the datagram: nothing read */
	((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)n + 4;
	struct nl_addr_find h = { .ifindex = 2, .want = &want };
	assert_int_equal(nl_decode_reply(buf, n, 0, 0, nl_addr_find_cb, &h), MNL_CB_OK);
	assert_false(h.found);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_link_message_is_ignored),
		cmocka_unit_test(test_short_addr_message_is_ignored),
		cmocka_unit_test(test_forged_link_down_from_a_process_is_ignored),
		cmocka_unit_test(test_huge_nlmsg_len_is_rejected),
		cmocka_unit_test(test_unaligned_last_message_is_rejected),
		cmocka_unit_test(test_kernel_connected_socket_refuses_process_unicast),
		cmocka_unit_test(test_reply_decoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
