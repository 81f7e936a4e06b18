/* The VRRP shell: one instance per `vrrp:` entry, each with a raw IP socket (protocol 112) on its
 * interface, a timer on the main loop, and the pure cores (packet.c, fsm.c) making decisions.
 * It carries out the FSM's actions: adverts on the wire, VIPs via netlink (vip.h), GARP/NA
 * (garp.h), trackers (track.h) and notify commands (notify.h).
 *
 * Wire decisions (documented for operators in docs, repeated here for maintainers):
 *   - Multicast: 224.0.0.18 / ff02::12 joined on the interface, TTL/hop limit 255, loop off.
 *   - Unicast (unicast_peers set): one copy per peer, TTL 255, from unicast_source (or the
 *     interface's primary address). Received adverts must come from a configured peer.
 *   - Received multicast adverts need TTL/hop limit 255 (RFC 5798: the sender is on-link).
 *     Unicast adverts are accepted with any TTL: they must come from a configured peer, and a
 *     routed unicast path (keepalived's unicast_ttl below 255) must keep working.
 *   - IPv6 checksums are computed and verified by us, not by IPV6_CHECKSUM: the kernel would
 *     silently drop bad packets (no counter), and it cannot produce the per-peer pseudo-header
 *     checksum we need for logging what went wrong.
 *   - The source address (and tie-break address) is the interface's primary address: the first
 *     IPv4 address that is not one of our VIPs, or the IPv6 link-local address. */
#ifndef BUOY_VRRP_H
#define BUOY_VRRP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/loop.h"
#include "vrrp/fsm.h"
#include "vrrp/packet.h"

struct pool;
struct vrrp_set;

/* Starts every configured instance (c->vrrp). Returns a set (possibly with 0 instances), or
 * NULL if an instance could not be started (unknown interface, socket error); logged. pool may be
 * NULL (backend trackers then count as up). The set holds c (config_hold); pool must outlive it. */
struct vrrp_set *vrrp_start(struct loop *l, const struct config *c, struct pool *pool);
/* Told of every state change of every instance, after the change's actions ran (VIPs added
 * and GARP sent, or VIPs removed), on the main loop: for engines that act when a VIP moves
 * (sync/). One observer per set; NULL fn removes it. Changes during vrrp_start happen before
 * anyone can observe them. */
typedef void (*vrrp_observer_fn)(
	void *arg, const struct cfg_vrrp *inst, enum vrrp_state from, enum vrrp_state to);
void vrrp_set_observer(struct vrrp_set *s, vrrp_observer_fn fn, void *arg);
/* Graceful stop: a master sends a priority-0 advert (backups take over after Skew_Time) and
 * removes its VIPs; notify STOP. Timers are cancelled; safe to call twice. */
void vrrp_shutdown(struct vrrp_set *s);
/* After vrrp_shutdown(): true while notify commands (the STOP notifications) still run, so the
 * daemon can let them finish before exiting (they are killed by vrrp_free()). */
bool vrrp_busy(const struct vrrp_set *s);
/* Closes sockets, stops trackers, frees. Call vrrp_shutdown() first for a clean hand-over. */
void vrrp_free(struct vrrp_set *s);
/* Reload (src/reload.c): new instance i continues old instance old_of_new[i] (-1: none) as it
 * is when keep[i] (no VIP flap); with update[i] too (same election identity, other settings:
 * priority, preempt, garp, notify, trackers, script_user) it stays in its state and takes the
 * new settings in place (a priority change is advertised at once, as a tracker's would be);
 * other old instances hand over and stop (priority-0 advert, VIPs removed), other new ones
 * start. The set and each instance hold the config they point into. Returns 0, or a negative
 * errno when an instance could not start (logged; the others run). update may be NULL. */
int vrrp_reload(struct vrrp_set *s, const struct config *c, const int *old_of_new, const bool *keep,
		const bool *update);

/* Read-only view of one instance, for the control socket and /metrics. */
struct vrrp_status {
	const char *name;
	const char *interface;
	uint8_t vrid, version;
	int family;
	bool unicast;
	enum vrrp_state state;
	uint8_t base_priority, effective_priority;
	bool fault; /* a tracker or the link holds it in Fault */
	bool unfit; /* its tracked backends are down (advertises 1) */
	bool link_up;
	uint64_t state_since_ms; /* monotonic (loop_now clock) */
	char master[64];         /* current master's address, "" if unknown */
	uint8_t master_priority;
	uint32_t adver_int_ms;        /* ours */
	uint32_t master_adver_int_ms; /* learned from the master (v3) */
	char primary[64];             /* our source / tie-break address */
	uint64_t adverts_rx_total;    /* accepted */
	uint64_t adverts_tx_total;    /* packets sent (one per peer in unicast) */
	uint64_t send_errors_total;
	uint64_t drops_total[VRRP_DROP__COUNT]; /* index by enum vrrp_drop; [VRRP_OK] unused */
	uint64_t transitions_total[VRRP_STATE__COUNT]; /* times each state was entered */
	uint64_t vip_restores_total; /* VIPs put back after someone deleted them */
};

size_t vrrp_count(const struct vrrp_set *s);
/* Fills out for instance i; 0, or -1 if i is out of range. */
int vrrp_get_status(const struct vrrp_set *s, size_t i, struct vrrp_status *out);

struct track_set;
/* Instance i's trackers (track_set_count / track_set_get in track.h), NULL if none/out of range. */
const struct track_set *vrrp_track_set(const struct vrrp_set *s, size_t i);

#endif
