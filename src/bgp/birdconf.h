/* bird.conf from buoy's config: pure (config and the announcement set in, text out).
 *
 * What the generated file does, and why:
 *  - one `protocol bgp` per peer (eBGP or iBGP by ASN), IPv4 or IPv6 channel by the peer's
 *    address family, exporting only buoy's announced VIPs, importing nothing; `direct` unless
 *    multihop (BIRD makes iBGP multihop by default);
 *  - announced VIPs are `unreachable` routes of one `protocol static` per family
 *    (BIRDCONF_STATIC4/6); a withdrawal is the same file without that route plus BIRD's own
 *    `configure` (a CLI `disable` would be undone by the next configure); BGP protocols are
 *    unchanged by it, so no session restarts;
 *  - MED and communities are set in the export filter, per prefix;
 *  - short connect-delay, connect-retry and error-wait times (BIRD's 5 s / 120 s / 60-300 s
 *    would delay a start and keep a flapped peer down for minutes), no graceful restart (a
 *    router would keep a dead LB's route);
 *  - BFD (`protocol bfd`) with buoy's intervals for peers that ask for it, never `bfd graceful`;
 *  - `local port N` so buoy's BIRD need not hold :179 next to another speaker;
 *  - no `protocol kernel`: buoy's BIRD never touches the host's routing tables.
 *
 * BIRD 2.0.12 facts this relies on (checked with `bird -p` and with two BIRDs in namespaces):
 *  - no `listen bgp` in 2.x (a syntax error). `local [ADDR] port N as ASN` moves the listening
 *    socket; outgoing connections still go to `neighbor ... port P`.
 *    With :179 held by another process and no `local port`, every BGP protocol stays `down`
 *    with "Error: No listening socket" (log: "bind: Address already in use"): it does not
 *    fall back to outgoing-only sessions and does not retry the bind.
 *  - `timeformat protocol "%s"` prints the Since column of `show protocols` and of
 *    `show bfd sessions` as Unix seconds.
 *  - a static `route X unreachable` exported over eBGP and iBGP arrives with the session's
 *    local address as next hop (and the router installs "via <LB>"), even without
 *    `next hop self`, which is written anyway to say so. A MED set on the static route is
 *    dropped towards an eBGP peer (communities are kept); in the export filter both are sent.
 *  - symbols are at most 64 characters; two with one name are an error ("Symbol ... already
 *    defined"), so buoy's own symbols (below) never start with "buoy_", which is the peers'.
 *  - quoted strings have no escapes: a '"' ends one, a backslash is literal.
 *  - multihop BFD needs a local address ("Multihop BGP with BFD requires specified local
 *    address"): a multihop peer with bfd needs `source`.
 *
 * Return convention: 0; -1 when `out` ran out of memory or the config is one BIRD would
 * refuse (a password with '"', '\\', CR or LF; a multihop peer with bfd and no source), in
 * which case nothing was rendered (validation rejects both first). */
#ifndef BUOY_BGP_BIRDCONF_H
#define BUOY_BGP_BIRDCONF_H
#include <netinet/in.h>
#include <stdbool.h>

#include "config/config.h"
#include "core/strbuf.h"

/* buoy's own BIRD symbols: outside the "buoy_" namespace of the peers' protocols. */
#define BIRDCONF_STATIC4 "vips4"
#define BIRDCONF_STATIC6 "vips6"
#define BIRDCONF_EXPORT4 "export_vips4"
#define BIRDCONF_EXPORT6 "export_vips6"
#define BIRDCONF_EXPORT4_IBGP "export_vips4_ibgp"
#define BIRDCONF_EXPORT6_IBGP "export_vips6_ibgp"
/* A degraded announcement: the local AS this many more times (eBGP), LOCAL_PREF (iBGP; 100 is
 * the default), so a router prefers fit nodes and still uses this one when none is fit. */
#define BIRDCONF_PREPEND 3
#define BIRDCONF_DEGRADED_PREF 50
#define BIRDCONF_BFD "bfd1"

/* A peer's protocol name: "buoy_" + at most 59 characters + NUL. */
#define BIRDCONF_PROTO_LEN 80

/* The BIRD protocol names buoy gives each peer: "buoy_" + cfg peer name (validated to
 * [A-Za-z0-9_.-]; '.', '-' and anything else not a symbol character written as '_'). A buffer
 * of BIRDCONF_PROTO_LEN always holds it. */
void birdconf_peer_proto(const struct cfg_bgp_peer *p, char *buf, size_t len);

/* announced[i] is cfg->announce[i]'s verdict now (n = b->n_announce); degraded[i] (NULL = none)
 * announces it with a worse path. router_id is resolved by the caller (b->router_id or the
 * node's primary IPv4). */
int birdconf_render(const struct cfg_bgp *b, struct in_addr router_id, const bool *announced,
		    const bool *degraded, struct strbuf *out);

#endif
