/* Connection sync and tickle ACKs, the shell (main thread): the load balancers of a VIP tell
 * each other which client connections they hold, so that the node that takes a VIP over can
 * make the old holder's idle clients fail at once (sync/tickle.h) instead of hanging until
 * their own timers fire.
 *
 * What it does, in order of the data:
 *  - Workers log opens and closes (proxy/connlog.h). Every `interval` the engine drains the
 *    logs into its own table (sync/table.h), keeping only connections to a VRRP VIP or an
 *    anycast (bgp: announce) address; a
 *    connection that opened and closed within one interval is never announced.
 *  - It sends the changes (sync/msg.h deltas) to every peer over UDP, authenticated with the
 *    shared key, and every `refresh` a full list in chunks (FIRST..LAST), so a restarted or
 *    lagging peer catches up and stale entries are pruned.
 *  - It receives the peers' messages: authenticated, from a configured peer address, not our
 *    own node name, fresh (per node: epoch and seq grow). Each peer's connections go into a
 *    table of its own, capped at `max_entries` (hits counted). A new epoch (the peer
 *    restarted) forgets the old entries; a full refresh seen whole, without a lost message,
 *    prunes what it did not list.
 *  - VRRP takeover (any state -> MASTER, sync_on_vrrp): one tickle ACK per peer connection on
 *    the instance's VIPs, at `tickle_rate` per second, and the same again after
 *    TICKLE_AGAIN_MS (a client answers one invalid segment per 500 ms per socket: a round
 *    that met a stale ARP cache is not wasted). The tickled entries leave the peer tables.
 *  - VRRP handover (MASTER -> anything; SIGTERM, a reload that removes the instance, a
 *    preemption, a fault): this node's own connections on those VIPs are closed at once
 *    (proxy_reset_local: their packets reach the new holder now, never us), and their clients
 *    are tickled from the VIP too, after the new holder has had time to take over
 *    (advert interval + 100 ms): a connection opened in the last interval is in no peer's
 *    table. The kernel cannot send a RST from an address the host no longer holds (measured);
 *    a raw IP_HDRINCL packet can.
 *  - Anycast (bgp: announce addresses are synced like VIPs): every node sends at least one
 *    message per quarter of `peer_timeout` (an empty delta as heartbeat), each saying whether
 *    it announces anything (SYNC_F_WITHDRAWN, from sync_set_serving's callback). A peer that
 *    falls silent for peer_timeout, or says it withdrew, is gone: the router has moved its
 *    flows to the nodes left, so each of them tickles that peer's clients, and its own (a
 *    changed ECMP set moves flows between the nodes left too; see peer_gone in sync.c).
 *
 * Threads: the main loop only. Owns its sockets (UDP; raw IPPROTO_RAW for IPv4 and IPv6,
 * opened at start: CAP_NET_RAW, kept after the privilege drop), tables and timers. Errors:
 * sync_start returns NULL (logged); at run time a failed send or a dropped message is counted,
 * never fatal. */
#ifndef BUOY_SYNC_H
#define BUOY_SYNC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/loop.h"
#include "sync/msg.h"
#include "sync/tickler.h"
#include "vrrp/fsm.h"

#define SYNC_MAX_PEERS 32 /* distinct sender node names remembered */

struct proxy;
struct sync;

/* Why a received datagram was not used: the codec's verdicts (sync/msg.h, same values), then
 * the engine's own. Metric label values (sync_reject_name): never rename one. */
enum sync_reject {
	SYNC_REJECT_UNKNOWN_SOURCE = SYNC_VERDICT__COUNT, /* not from a configured peer */
	SYNC_REJECT_OWN_NODE,                             /* carries our own node name */
	SYNC_REJECT_TOO_MANY_PEERS,                       /* a node beyond SYNC_MAX_PEERS */
	SYNC_REJECT_REPLAY,                               /* old epoch, or seq not growing */
	SYNC_REJECT__COUNT
};
const char *sync_reject_name(int reason); /* verdict or reject; "unknown" out of range */

/* Starts with c->sync (non-NULL): binds the UDP port, opens the raw sockets, enables the
 * workers' connection logs (and asks each for a resync: after a reload, their connections
 * are taken in again), arms the timers. NULL on error (logged). The engine holds c
 * (config_hold). */
struct sync *sync_start(struct loop *l, const struct config *c, struct proxy *p);
/* Stops: closes sockets, frees the tables. keep_log: leave the workers' logs on (a reload
 * starts a new engine at once); else they are disabled. */
void sync_free(struct sync *s, bool keep_log);
/* Reload with a new config whose sync: section exists: applied in place (tables, peers and
 * timers kept) when the port, the source and the raw sockets needed stay the same; -1 when
 * they do not (nothing changed: start a new engine, then free this one with keep_log). */
int sync_reload(struct sync *s, const struct config *c);
/* A VRRP instance went from `from` to `to` (called after its actions ran: VIPs added and
 * GARP sent, or VIPs removed). */
void sync_on_vrrp(struct sync *s, const struct cfg_vrrp *inst, enum vrrp_state from, enum vrrp_state to);
/* Anycast: fn says whether this node announces (carries traffic) now; asked every interval.
 * Without one, a node with bgp: announce addresses counts as announcing. */
typedef bool (*sync_serving_fn)(void *arg);
void sync_set_serving(struct sync *s, sync_serving_fn fn, void *arg);
/* Handover tickles still to send (the daemon's shutdown waits for them). */
bool sync_busy(const struct sync *s);

struct sync_peer_status {
	char node[SYNC_NODE_MAX + 1];
	char addr[IP_ADDR_STRLEN]; /* where its last message came from */
	uint64_t connections;      /* in its table now */
	uint64_t messages_total;   /* accepted */
	uint64_t cap_hits_total;   /* entries refused: its table was full */
	uint64_t gaps_total;       /* messages lost in between (seq jumps) */
	uint64_t refreshes_total;  /* full refreshes seen whole (pruning ones) */
	uint64_t restarts_total;   /* new epochs after the first */
	uint64_t last_ms;          /* loop time of its last accepted message */
	bool lost;                 /* anycast: silent for peer_timeout */
	bool withdrawn;            /* anycast: it says it announces nothing */
};

struct sync_status {
	uint16_t port;
	size_t n_peers_cfg;            /* configured peer addresses */
	uint64_t local_connections;    /* own table: connections to a VIP, this node */
	uint64_t local_cap_hits_total; /* own connections not tracked: table full */
	uint64_t log_dropped_total;    /* worker log events lost (full rings) */
	uint64_t messages_sent_total;  /* datagrams, one per peer per message */
	uint64_t bytes_sent_total;
	uint64_t send_errors_total;
	uint64_t messages_received_total;            /* datagrams read, accepted or not */
	uint64_t rejected_total[SYNC_REJECT__COUNT]; /* [SYNC_OK] unused */
	uint64_t takeovers_total;                    /* takeovers that tickled (any count) */
	uint64_t tickles_sent_total;
	uint64_t tickle_errors_total;
	uint64_t tickles_pending;  /* queued now, both rounds */
	uint64_t resets_total;     /* own connections closed on handover */
	uint64_t peers_lost_total; /* anycast: peers gone silent or withdrawn */
	size_t n_peers;            /* peer nodes heard from */
};

void sync_get_status(const struct sync *s, struct sync_status *out);
/* Peer i (0..n_peers), in the order first heard. 0, or -1 out of range. */
int sync_get_peer(const struct sync *s, size_t i, struct sync_peer_status *out);

#endif
