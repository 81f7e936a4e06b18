/* A point-in-time copy of everything an operator can ask about: the input of the status JSON,
 * the status table and the Prometheus formatter (all pure: snapshot in, text out).
 * Taken on the main thread; strings point into the config / module state, which outlive the
 * synchronous formatting that follows. Times are "ago" values relative to the snapshot. */
#ifndef BUOY_CTL_SNAPSHOT_H
#define BUOY_CTL_SNAPSHOT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bgp/bgp.h"
#include "intercept/intercept.h"
#include "sync/sync.h"
#include "discover/discover.h"
#include "core/hist.h"

#define SNAP_NEVER UINT64_MAX /* an "ago" value for something that never happened */

struct snap_server {
	const char *address; /* "198.18.0.21:6443": also the SERVER argument of drain */
	uint32_t weight;
	bool backup;
	bool health_up;          /* active checks say up */
	bool passive_down;       /* taken out by max_fails/fail_timeout */
	bool drained;            /* operator drain */
	bool eligible;           /* gets new connections now */
	const char *reason;      /* last check's reason, "" before the first check */
	const char *last_result; /* "none" "ok" "fail" */
	uint64_t last_check_ago_ms, last_change_ago_ms; /* SNAP_NEVER = never */
	uint64_t last_duration_us;
	uint32_t consecutive_ok, consecutive_fail;
	uint64_t checks_total, checks_failed_total;
	uint32_t active;
	uint64_t connections_total, connect_failures_total;
	uint64_t bytes_to_server, bytes_from_server;
	struct duration_hist check_duration;
};

struct snap_backend {
	const char *name;
	const char *balance;     /* "roundrobin" ... */
	const char *health_type; /* "tcp" "tls" "http" "https" "none" */
	uint32_t queue_length;
	uint64_t queue_timeouts_total, queue_full_total, no_server_total;
	struct snap_server *servers;
	size_t n_servers;
	bool has_discover; /* a discover: block runs: `discover` holds its state */
	struct discover_status discover;
};

#define SNAP_UDP_DROPS 6 /* enum udp_drop (proxy/proxy.h) */
struct snap_udp {
	uint64_t sessions_total, sessions_active;
	uint64_t datagrams_in, datagrams_out, bytes_in, bytes_out; /* in: client -> server */
	uint64_t drops[SNAP_UDP_DROPS];
};

struct snap_listener {
	const char *name, *bind, *backend;
	bool udp; /* protocol udp: `udp` holds its counters, the TCP ones stay 0 */
	uint64_t accepted_total, rejected_total, empty_total;
	uint64_t fast_path_total, fast_path_active; /* connections moved to the kernel path */
	struct snap_udp u;
};
/* The drop reasons' names ("session_cap" ...), index as snap_udp.drops. */
const char *snap_udp_drop_name(size_t i);

/* A labelled counter (VRRP transitions by target state, drops by reason). */
struct snap_count {
	const char *label;
	uint64_t value;
};

struct snap_tracker {
	const char *kind; /* "backend" "script" "interface" */
	const char *name;
	bool ok;           /* state == "up" */
	const char *state; /* "init" (no result yet) "up" "down" */
	int32_t weight;
};

#define SNAP_VRRP_MAX_VIPS 16
#define SNAP_VRRP_MAX_COUNTS 24
#define SNAP_VRRP_MAX_TRACKERS 32

/* Filled by the VRRP module's snapshot hook (see struct ctl_sources). */
struct snap_vrrp {
	const char *name, *interface;
	const char *state; /* lower case: "init" "backup" "master" "fault" */
	uint8_t version, router_id;
	uint8_t base_priority, effective_priority;
	bool unfit; /* tracked backends down: advertises VRRP_PRIO_UNFIT */
	const char *vips[SNAP_VRRP_MAX_VIPS];
	size_t n_vips;
	uint64_t state_since_ago_ms;
	char master_address[64]; /* as seen in adverts ("" unknown); ourselves when master */
	uint8_t master_priority;
	uint64_t adverts_received_total, adverts_sent_total;
	struct snap_count transitions[SNAP_VRRP_MAX_COUNTS]; /* label = state entered */
	size_t n_transitions;
	struct snap_count drops[SNAP_VRRP_MAX_COUNTS]; /* label = drop reason */
	size_t n_drops;
	struct snap_tracker trackers[SNAP_VRRP_MAX_TRACKERS];
	size_t n_trackers;
};

/* Filled from intercept.h's getters; present = interception was configured at some point. */
struct snap_intercept {
	bool present;
	struct intercept_status st;
	struct intercept_item_status *items;
};

/* Filled from bgp.h's status getters; present = a bgp: section runs. */
struct snap_bgp {
	bool present;
	int64_t now_unix; /* for session uptimes */
	struct bgp_status st;
	struct bgp_peer_status *peers;
	struct bgp_announce_status *announce;
};

struct snap_sync_peer {
	struct sync_peer_status st;
	uint64_t last_message_ago_ms; /* from st.last_ms; SNAP_NEVER = none yet */
};

/* Filled from sync.h's status getters; present = a sync: section runs. */
struct snap_sync {
	bool present;
	struct sync_status st;
	struct snap_count rejected[SYNC_REJECT__COUNT]; /* label = reason, every one (zeros too) */
	size_t n_rejected;
	struct snap_sync_peer peers[SYNC_MAX_PEERS];
	size_t n_peers;
};

/* Objects reloads and discovery replaced (reload.h, core/grace.h). */
struct snap_reclaim {
	uint64_t pending;     /* retired, still held by a connection or in a grace period */
	uint64_t freed_total; /* retired objects freed so far */
	uint64_t configs;     /* config objects alive (the one in force, and any still held) */
};

/* The kernel fast path (proxy.h proxy_fast_path). */
struct snap_fast_path {
	const char *mode;   /* "off" "auto" "sockmap" */
	bool active;        /* the program is loaded: connections move to it */
	const char *reason; /* why not, "" when active or off */
	uint64_t sockets;   /* entries in the sockhash now */
};

struct snapshot {
	const char *node;
	const char *version;
	uint64_t uptime_ms;
	int64_t start_time_unix; /* wall-clock start, seconds */
	struct snap_listener *listeners;
	size_t n_listeners;
	struct snap_backend *backends;
	size_t n_backends;
	struct snap_vrrp *vrrp;
	size_t n_vrrp;
	struct snap_bgp bgp;
	struct snap_sync sync;
	struct snap_intercept intercept;
	struct snap_reclaim reclaim;
	struct snap_fast_path fast_path;
};

/* "up" / "down" / "drained": what an operator reads first. */
const char *snap_server_state(const struct snap_server *s);

/* Frees the arrays (not the strings they point to). */
void snapshot_free(struct snapshot *s);

#endif
