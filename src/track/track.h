/* Trackers: is this node fit to serve an address? One verdict for both engines that move
 * addresses: a VRRP instance's effective priority or FAULT, and whether a BGP announcement is
 * made (src/bgp: announced only while no weight-0 tracker is failing). keepalived semantics:
 *
 *  weight 0   failure -> the instance goes to FAULT; for a backend tracker (unless `strict`)
 *             the node is only UNFIT instead: it gives the address away to a node that can
 *             serve, and keeps it when none can (all apiservers unready at once must not take
 *             the VIP off every node; the proxy fails open). VRRP advertises an unfit node at
 *             VRRP_PRIO_UNFIT (1); BGP announces it with a longer AS path / lower
 *             LOCAL_PREF, so the router prefers fit nodes.
 *  weight > 0 added to the priority while the tracker is OK
 *  weight < 0 added (i.e. subtracted) while the tracker is failing
 *  the result is clamped to 1..254; a base priority of 255 (address owner) never changes
 *  (a weight-0 failure still faults it).
 *
 * A tracker that has not reported yet (a script that has not finished its first run) is
 * TRACK_INIT: it faults a weight-0 instance (we do not claim the VIP before we know) and adds or
 * subtracts nothing for a weighted one. The first result then decides at once; after that a
 * tracker needs `rise` consecutive successes to go up and `fall` consecutive failures to go down.
 *
 * Pure parts: track_effective(), track_rf_update(). The shell: struct track_set, one per VRRP
 * instance, with interface trackers (fed by the owner from the netlink monitor), script trackers
 * (run on the loop via spawn.h) and backend trackers (polled through a callback). */
#ifndef BUOY_TRACK_TRACK_H
#define BUOY_TRACK_TRACK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/loop.h"
#include "core/spawn.h"

enum track_state { TRACK_INIT, TRACK_UP, TRACK_DOWN };
/* "init" "up" "down": the log's state= and status's tracker state ("unknown" out of range). */
const char *track_state_name(enum track_state s);

struct track_input {
	int32_t weight;
	enum track_state state;
	bool soft; /* weight 0 and not up -> unfit, not fault */
};

struct track_result {
	uint8_t priority; /* effective priority, 1..255 (weights only) */
	bool fault;       /* some hard weight-0 tracker is not up */
	bool unfit;       /* some soft weight-0 tracker is not up */
};

/* Pure. base is 1..255. */
struct track_result track_effective(uint8_t base, const struct track_input *t, size_t n);

/* Rise/fall counting, pure. */
struct track_rf {
	enum track_state state;
	uint32_t n_ok, n_fail; /* consecutive results of each kind */
};
/* Feeds one result; returns true when state changed. rise/fall 0 are treated as 1. */
bool track_rf_update(struct track_rf *s, bool ok, uint32_t rise, uint32_t fall);

/* ---- the shell ---- */

enum track_kind { TRACK_IFACE, TRACK_SCRIPT, TRACK_BACKEND };
/* "interface" "script" "backend": the log's kind= and status's tracker kind. */
const char *track_kind_name(enum track_kind k);

struct track_set;

struct tracker {
	enum track_kind kind;
	const char *name; /* interface, script name, backend name */
	int32_t weight;
	bool soft; /* backend tracker, weight 0, not strict */
	struct track_rf rf;
	struct track_set *set;
	/* iface */
	int ifindex; /* 0 = not found (counts as down) */
	/* backend */
	size_t backend_idx;
	/* script */
	const struct cfg_track_script *script;
	struct spawn_user user;
	bool insecure; /* refused by spawn_command_secure: always down */
	struct child child;
	struct timer next_run;
	uint64_t runs_total, failures_total, timeouts_total;
};

/* Asked for each backend tracker on every poll: does backend (index into config.backends /
 * pool.backends, and its name) have an eligible server now? */
typedef bool (*track_backend_ok_fn)(void *arg, size_t backend_idx, const char *name, uint64_t now_ms);
/* Told when the effective priority or the fault flag changed (not on every poll). */
typedef void (*track_change_cb)(void *arg, struct track_result r);

struct track_set_params {
	const char *owner_kind; /* log key: "instance" (VRRP), "announce" (BGP) */
	const char *owner;      /* its value: the instance name, the prefix */
	uint8_t base_priority;  /* 1..255; BGP: any (only the fault flag is read) */
	/* the trackers (config arrays as config built them, defaults applied: hand-built scripts
	 * start from cfg_track_script_defaults(); must outlive the set) */
	const struct cfg_track_iface *ifaces;
	size_t n_ifaces;
	const struct cfg_track_script *scripts;
	size_t n_scripts;
	const struct cfg_track_backend *backends;
	size_t n_backends;
	bool strict;                    /* weight-0 backend trackers fault (not only unfit) */
	const char *script_user;        /* global default (config.script_user), NULL = nobody */
	track_backend_ok_fn backend_ok; /* NULL: backend trackers count as up */
	void *backend_arg;
	uint64_t backend_poll_ms; /* 0 = 100 ms */
	track_change_cb on_change;
	void *arg;
};

/* The parameters for a VRRP instance's trackers (cfg must outlive the set). */
struct track_set_params track_params_vrrp(const struct cfg_vrrp *v, const char *script_user);

/* Builds the trackers, looks interfaces up, checks scripts' security and users. Scripts start
 * running at once. Returns NULL on allocation failure only (an insecure script or unknown user
 * is logged and that tracker stays down). */
struct track_set *track_set_new(struct loop *l, const struct track_set_params *p);
/* A reload: each tracker of ts takes the state (and counters) of old's tracker of the same
 * kind and name (scripts: same command), so an unchanged script is not back to INIT (which
 * would fault a weight-0 instance until its next run). Recomputes without notifying. */
void track_set_inherit(struct track_set *ts, const struct track_set *old);
/* Kills running scripts (process groups) and frees. */
void track_set_free(struct track_set *ts);
/* Current result (also valid right after track_set_new, before any callback). */
struct track_result track_set_result(const struct track_set *ts);
/* Feed from the netlink monitor: link state of ifindex (all interface trackers on it). */
void track_set_on_link(struct track_set *ts, int ifindex, bool up);
/* Re-evaluate backend trackers now (e.g. right after a health change) instead of on the poll. */
void track_set_poll_backends(struct track_set *ts);
/* Trackers, for status output. */
size_t track_set_count(const struct track_set *ts);
const struct tracker *track_set_get(const struct track_set *ts, size_t i);

/* A ready backend_ok for a struct pool (proxy/pool.h): backend_has_eligible(). arg = pool. */
bool track_pool_backend_ok(void *pool, size_t backend_idx, const char *name, uint64_t now_ms);

#endif
