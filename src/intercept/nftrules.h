/* The nftables ruleset that redirects intercepted VIP:port to buoy's listeners — pure text,
 * applied by intercept.c through libnftables (the nftables project's own library).
 *
 * buoy owns one table, `inet buoy`, and nothing else: two nat chains, `prerouting` (clients
 * elsewhere, while this node holds the VIP) and `output` (clients on this node itself:
 * kubelet, kubectl, controllers; k0s's PREROUTING-only rule misses them). A rule per address:
 *
 *   ip daddr 198.18.0.100 tcp dport 6443 redirect to :6444 comment "listener apiserver"
 *
 * `redirect` rewrites the destination to the node's own address (127.0.0.1/::1 from output, the
 * incoming interface's address from prerouting): the listener is bound to every address.
 * buoy's own connections go to the servers' node addresses and never match.
 *
 * The table is replaced in one transaction ("add table" makes the "delete" safe when it is
 * missing), so there is never a moment without rules nor a duplicate. With `owner` the table
 * has nftables' `flags owner` (Linux >= 5.12): the kernel deletes it when buoy's netlink socket
 * closes, so a crashed buoy leaves no redirect to a closed port behind: VIP:6443 is served where
 * the VIP is (on the crashed holder by its own apiserver, until VRRP moves the VIP). */
#ifndef BUOY_INTERCEPT_NFTRULES_H
#define BUOY_INTERCEPT_NFTRULES_H
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "core/strbuf.h"

#define NFTRULES_FAMILY "inet"
#define NFTRULES_TABLE "buoy"

/* One rule's text, without the chain (as above). */
void nftrules_rule(const struct cfg_listener *l, const struct cfg_addr *a, char *buf, size_t len);

/* The transaction that replaces the table with every listener's rules (only_listener >= 0:
 * only that listener's, for finding which one the kernel refuses). With no interception at all
 * it only removes the table. 0, or -1 out of memory. */
int nftrules_render(const struct config *c, bool owner, long only_listener, struct strbuf *out);

/* The transaction that removes the table (no error when it is missing). */
int nftrules_render_remove(bool owner, struct strbuf *out);

/* Number of interceptions in c (all listeners). */
size_t nftrules_count(const struct config *c);

#endif
