/* Interface queries: name to index, usable for VRRP, hardware address. What VRRP, GARP, the
 * interface trackers and BGP ask of a link, through rtnetlink (nlreq.h): synchronous round
 * trips to the kernel, never to the network. Link changes as they happen come from the monitor
 * (vip.h). Return convention: as said per call, -errno on failure. */
#ifndef BUOY_LINK_H
#define BUOY_LINK_H
#include <stdint.h>

/* Interface name -> ifindex (> 0), or -ENODEV. */
int link_ifindex(const char *ifname);
/* Link usable for VRRP: administratively up and carrier (IFF_UP && IFF_RUNNING).
 * Returns 1 up, 0 down, -errno. */
int link_is_up(int ifindex);
/* The interface's hardware (MAC) address; 0 or -errno (-EINVAL if not 6 bytes). */
int link_mac(int ifindex, uint8_t mac[6]);

#endif
