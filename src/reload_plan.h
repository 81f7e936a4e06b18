/* What a reload changes: the new config compared with the running one, item by item (pure).
 *
 * Identity: a listener is kept when its name, bind and backend are the same (its sockets stay
 * open); a backend is matched by name, a server by address within its backend, a VRRP instance
 * by name. A matched item is "changed" when any of its settings differ: a changed backend is
 * updated in place (its kept servers keep health state and counters), a changed VRRP instance
 * is re-initialised, a changed listener does not exist (it is a removed one plus an added one). */
#ifndef BUOY_RELOAD_PLAN_H
#define BUOY_RELOAD_PLAN_H
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* VRRP: UPDATED = same election identity (cfg_vrrp_same_election), other settings applied in
 * place; CHANGED = re-initialised (a priority-0 handover). Counted as changed either way. */
enum reload_change { RELOAD_KEPT, RELOAD_CHANGED, RELOAD_ADDED, RELOAD_UPDATED };

struct reload_counts {
	size_t kept, changed, added, removed;
};

struct reload_plan {
	/* index of the old item each new item continues, or -1 (added) */
	int *listener_old, *backend_old, *vrrp_old;
	enum reload_change *backend_change, *vrrp_change;
	/* per new backend, per server: old server index in backend_old's list, or -1 */
	int **server_old;
	enum reload_change **server_change;
	/* old items that are gone */
	bool *listener_removed, *backend_removed, *vrrp_removed;
	struct reload_counts listeners, backends, servers, vrrp;
	/* settings only a restart applies (kept as they are, with a warning) */
	bool workers_changed, control_changed, metrics_changed, user_changed;
	bool fast_path_changed; /* the BPF program loads at start only (it needs CAP_BPF) */
	/* settings a reload applies that live outside listeners/backends/VRRP (log level,
	 * max_conns, shutdown_grace, node, script_user) */
	bool global_changed;
	bool bgp_changed;       /* any bgp: setting, or the section added/removed */
	bool intercept_changed; /* the listeners' nftables redirects */
	size_t n_backends_new;  /* length of server_old / server_change */
};

/* Fills plan (free with reload_plan_free). Returns 0, or -1 when out of memory. */
int reload_plan_make(const struct config *old, const struct config *neu, struct reload_plan *plan);
void reload_plan_free(struct reload_plan *plan);
/* Nothing to apply: every item kept, no setting changed (a periodic reload of the same file). */
bool reload_plan_is_noop(const struct reload_plan *plan);
/* "listeners kept=1 added=0 removed=1 backends kept=... servers ... vrrp ..." */
void reload_plan_summary(const struct reload_plan *plan, char *buf, size_t len);

bool cfg_listener_same(const struct cfg_listener *a, const struct cfg_listener *b);
/* Backend settings other than the server list. */
bool cfg_backend_settings_equal(const struct cfg_backend *a, const struct cfg_backend *b);
/* Same address; then weight, max_conns, backup decide "changed". */
bool cfg_server_equal(const struct cfg_server *a, const struct cfg_server *b);
bool cfg_vrrp_equal(const struct cfg_vrrp *a, const struct cfg_vrrp *b);
/* What the election and its packets are: name, interface, VRID, version, family, advert
 * interval, VIPs, label, unicast source/peers, auth, and whether it owns the addresses (255).
 * The rest (priority, preempt, garp, notify, trackers) a running instance takes in place. */
bool cfg_vrrp_same_election(const struct cfg_vrrp *a, const struct cfg_vrrp *b);
/* Both NULL is equal. */
bool cfg_bgp_equal(const struct cfg_bgp *a, const struct cfg_bgp *b);

#endif
