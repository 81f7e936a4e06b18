/* bird.conf from buoy's config: pure (config and the announcement set in, text out).
 *
 * What the generated file does, and why:
 *  - one `protocol bgp` per peer (eBGP or iBGP by ASN), IPv4 or IPv6 channel by the peer's
 *    address family, exporting only buoy's announced VIPs, importing nothing;
 *  - announced VIPs are routes of one `protocol static` per family ("buoy_vips4"/"buoy_vips6");
 *    a withdrawal is the same file without that route plus BIRD's own `configure` (a CLI
 *    `disable` would be undone by the next configure); BGP protocols are unchanged by it, so
 *    no session restarts;
 *  - short connect-delay, connect-retry and error-wait times (BIRD's 5 s / 120 s / 60-300 s
 *    would delay a start and keep a flapped peer down for minutes), no graceful restart (a
 *    router would keep a dead LB's route);
 *  - BFD (`protocol bfd`) with buoy's intervals for peers that ask for it, never `bfd graceful`;
 *  - `local port N` so buoy's BIRD need not hold :179 next to another speaker (BIRD 2 has no
 *    `listen bgp`, and a BGP protocol without its listening socket stays down);
 *  - no `protocol kernel`: buoy's BIRD never touches the host's routing tables.
 * Return convention: 0, or -1 when `out` ran out of memory. */
#ifndef BUOY_BGP_BIRDCONF_H
#define BUOY_BGP_BIRDCONF_H
#include <netinet/in.h>
#include <stdbool.h>

#include "config/config.h"
#include "core/strbuf.h"

/* The BIRD protocol names buoy gives each peer: "buoy_" + cfg peer name (validated to
 * [A-Za-z0-9_.-], with '.' and '-' written as '_'). At least 6 + 64 bytes. */
void birdconf_peer_proto(const struct cfg_bgp_peer *p, char *buf, size_t len);

/* announced[i] is cfg->announce[i]'s verdict now (n = b->n_announce). router_id is resolved by
 * the caller (b->router_id or the node's primary IPv4). */
int birdconf_render(const struct cfg_bgp *b, struct in_addr router_id, const bool *announced,
		    struct strbuf *out);

#endif
