/* Virtual IPs on the node, through rtnetlink (libmnl): add/remove/query an address, and a
 * monitor socket on the event loop that reports deleted addresses and link changes so the VRRP
 * owner can put a VIP back (keepalived issues #836 #2564) or go to Fault. The bytes are decoded
 * by nldecode.h (pure); interface queries are link.h.
 *
 * Requests (add/del/query) are short synchronous netlink round trips to the kernel on a socket
 * opened for the call (nlreq.h): they never wait on the network, only on the kernel, like every
 * other syscall on the loop. Return convention: 0 (or a count / boolean) on success, -errno on
 * failure. */
#ifndef BUOY_VIP_H
#define BUOY_VIP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/inet.h"
#include "core/loop.h"
#include "netlink/nldecode.h"

/* Adds the address on the interface. IPv6 addresses get IFA_F_NODAD so they are usable at once
 * (a VIP is by definition a moved address; DAD would delay it by a second and fail against the
 * old holder). `label` (IPv4 only, at most IFNAMSIZ-1 chars; by convention "IFNAME:xxx", which
 * is what iproute2 and ifconfig expect to display it) may be NULL. Already present -> 0. */
int vip_add(int ifindex, const struct ip_addr *a, const char *label);
/* Removes the address whatever prefix it was added with. Not present -> 0. */
int vip_del(int ifindex, const struct ip_addr *a);
/* 1 if the address is on the interface (any prefix), 0 if not, -errno. *prefix_out (may be NULL)
 * gets the prefix it is configured with. */
int vip_present(int ifindex, const struct ip_addr *a, uint8_t *prefix_out);
/* 1 if the kernel routes the address to this host (RTM_GETROUTE: type RTN_LOCAL), 0 if not,
 * -errno. An IPv6 address is in the interface list a moment before its local route is in
 * (the kernel finishes adding it from a work queue): until then what is sent to it is dropped. */
int vip_is_local(const struct ip_addr *a);

/* At startup: removes any of these addresses still on the interface (left by a crashed run).
 * Returns how many were removed, or -errno on the first failure. The caller must not call this
 * for an address-owner instance (priority 255), whose addresses are the interface's own. */
int vip_remove_stale(int ifindex, const struct ip_addr *a, size_t n);

/* ---- the monitor ---- */

/* Events (struct vip_event, vip_event_cb) are defined with their decoder in nldecode.h. */

struct vip_monitor {
	struct io io; /* non-blocking NETLINK_ROUTE socket on the loop */
	struct mnl_socket *nl;
	vip_event_cb cb;
	void *arg;
	uint64_t events_total;
	uint64_t overruns_total; /* ENOBUFS seen (each followed by a RESYNC event) */
	uint64_t forged_total;   /* messages from a process, not the kernel: ignored */
};

/* Opens the monitor (RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR) and registers it on
 * the loop. One monitor per process is enough: events carry the ifindex, dispatch on it. */
int vip_monitor_open(struct vip_monitor *m, struct loop *l, vip_event_cb cb, void *arg);
void vip_monitor_close(struct vip_monitor *m, struct loop *l);

#endif
