/* Least privilege: once its sockets exist, buoy stops being root.
 *
 * privdrop_apply() switches the whole process to the configured `user` (uid, gid, no
 * supplementary groups) and keeps exactly three capabilities in the calling (main) thread:
 *   CAP_NET_ADMIN         VIPs through netlink, after a reload too
 *   CAP_NET_RAW           VRRP raw sockets, gratuitous ARP / unsolicited NA
 *   CAP_NET_BIND_SERVICE  a reload may add a listener on a port below 1024 (bound here)
 * The bounding set is cut to the same three, so nothing the process execs can get more. Other
 * threads (proxy workers) change uid with it and keep no capability at all: they only relay on
 * sockets that already exist. Track/notify scripts then run as that user (only root could switch
 * to script_user), with no capability (spawn.c clears the ambient set). */
#ifndef BUOY_PRIVDROP_H
#define BUOY_PRIVDROP_H
#include <stdint.h>

/* The capability mask kept (bit n = capability n), for logs and tests. */
uint64_t privdrop_kept_caps(void);

/* Drops to `user` as above. NULL user: nothing to do (0). Already running as that user without
 * root: 0. Unknown user, not root and not that user, or any step failing: -1 (logged); the
 * caller must not go on running with more privilege than configured. Main thread, once. */
int privdrop_apply(const char *user);

#endif
