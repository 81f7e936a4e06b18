/* The BGP anycast engine (shell): every healthy load balancer announces the VIP at once and the
 * upstream router spreads flows over them (ECMP). No BGP code here: buoy runs BIRD 2 as a
 * supervised child and steers it through its own config file and control socket.
 *
 * Main thread only. Owns: the BIRD child (restarted with backoff, killed by the kernel if buoy
 * dies: core/spawn.h child_spawn_supervised), bird.conf and the control socket in run_dir, one
 * track set per announcement (track/track.h: the same fitness verdict as VRRP) with its gate
 * (gate.h), and the announced addresses on `lo` (so the node accepts the VIP's traffic; they
 * stay there while buoy runs, announced or not, so a withdrawn node still finishes its
 * connections). Reads the config and the pool: it holds the config it runs (config_hold), and
 * bgp_reload moves the hold to the new one.
 *
 * Announce/withdraw = rewrite bird.conf with the announced set (birdconf.h) and send
 * `configure`. A withdrawal that BIRD has not confirmed within BGP_WITHDRAW_DEADLINE_MS (hung,
 * garbage on the socket, config refused) kills BIRD: its sessions drop, so nothing unfit stays
 * announced; it is restarted from the current file. Return convention: pointers NULL on
 * failure (logged), ints 0 or -1. */
#ifndef BUOY_BGP_H
#define BUOY_BGP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/loop.h"

#define BGP_WITHDRAW_DEADLINE_MS 3000
#define BGP_POLL_MS 500 /* session / BFD state poll of the control socket */

struct pool;
struct bgp;

/* cfg->bgp must be set. Starts BIRD (a missing binary is logged and retried: the listeners
 * keep serving). NULL only when the run directory or the router id cannot be had. */
struct bgp *bgp_start(struct loop *l, const struct config *cfg, struct pool *pool);
/* A reload: the new config (nc->bgp set) replaces the old; sessions whose settings did not
 * change stay up (BIRD's own reconfigure). A changed binary or run_dir restarts BIRD. */
int bgp_reload(struct bgp *b, const struct config *nc);
/* SIGTERM: withdraw everything now. bgp_stop_due() says when the shutdown delay is over. */
void bgp_shutdown(struct bgp *b);
uint64_t bgp_stop_due(const struct bgp *b);
/* Kills BIRD, removes the addresses from lo. NULL is fine. */
void bgp_free(struct bgp *b);

/* ---- status (strings point into the engine or the config: valid until the next loop turn) */
struct bgp_peer_status {
	const char *name, *address;
	uint32_t asn;
	bool up;            /* Established */
	const char *state;  /* BIRD's: "Established" "Active" "Connect" "Idle" ...;
	                                * "down" while BIRD does not run */
	int64_t since_unix; /* when the state began; -1 unknown */
	const char *bfd;    /* "up" "down" "init" "admindown" "off" (not asked) "" */
};
struct bgp_announce_status {
	const char *prefix;
	bool announced;     /* in the config BIRD confirmed, and wanted */
	bool wanted;        /* the gate says announce */
	bool degraded;      /* announced with a worse path: its backends are down */
	const char *reason; /* "announced", "no eligible server: apiservers", ... */
};
struct bgp_status {
	bool bird_running;
	int bird_pid;
	const char *bird_error; /* "" or why BIRD is not running / not answering */
	uint64_t bird_starts_total, configures_total, configure_failures_total, ctl_errors_total;
	uint32_t router_id; /* network order */
	size_t n_peers, n_announce;
};
void bgp_get_status(const struct bgp *b, struct bgp_status *out);
void bgp_get_peer(const struct bgp *b, size_t i, struct bgp_peer_status *out);
void bgp_get_announce(const struct bgp *b, size_t i, struct bgp_announce_status *out);

#endif
