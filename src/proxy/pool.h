/* Backends and servers at run time: configuration plus shared state.
 * Workers read server state lock-free (atomics); the main thread (health checks, control)
 * writes it. Passive-failure accounting takes a tiny per-server lock, only on failures. */
#ifndef BUOY_POOL_H
#define BUOY_POOL_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/hist.h"
#include "proxy/passive.h"

enum check_result { CHECK_NONE, CHECK_OK, CHECK_FAIL };

/* Active health state of one server; written only by the main thread (health/). */
struct server_health {
	bool up; /* mirrored into server.active_up for workers */
	uint32_t consecutive_ok;
	uint32_t consecutive_fail;
	uint64_t last_check_ms; /* monotonic, 0 = never */
	uint64_t last_change_ms;
	uint64_t last_duration_us;
	enum check_result last_result;
	char reason[128]; /* "HTTP 500", "connection refused", "timeout", TLS error */
	uint64_t checks_total, checks_failed_total;
	/* every check's duration, for buoy_health_check_duration_seconds: the health module calls
	 * duration_hist_observe(&h->check_duration, duration_us) per finished check */
	struct duration_hist check_duration;
};

/* One server of a backend. Allocated on its own and never moved: workers keep pointers to it
 * (connections count against it) across reloads. A reload that keeps the server (same address
 * in the same backend) keeps this object, hence its health, passive state and counters. */
struct server {
	struct cfg_server cfg; /* address (never changes); weight/max_conns/backup are the
					* main thread's copy: workers read the set's (server_slot) */
	struct backend *backend;
	uint64_t key; /* lb_hash of the address, for source hashing */

	_Atomic bool active_up; /* health checks say up */
	_Atomic bool drained;   /* operator: no new connections */
	_Atomic uint64_t passive_down_until;
	_Atomic uint32_t active; /* connections now */
	_Atomic uint64_t conns_total;
	_Atomic uint64_t connect_failures_total;
	_Atomic uint64_t bytes_to_server, bytes_from_server;

	pthread_mutex_t passive_lock;
	struct passive passive;
	struct server_health health; /* main thread only */
	bool health_started;         /* main: health/ initialised `health`; a reload keeps it */
	bool removed;                /* main: a reload took it out; its connections finish */
	struct server *retired_next; /* main: retired objects are freed at exit */
};

/* A server as workers see it in a set: the per-server settings a reload may change. */
struct server_slot {
	struct server *s;
	uint32_t weight;    /* >= 1 */
	uint32_t max_conns; /* 0 = unlimited */
	bool backup;
};

/* What workers read of a backend: settings and servers, immutable once published. A reload
 * publishes a new set with one atomic store; the old one is retired (kept until exit), never
 * changed, so a worker holding it during one callback reads a consistent snapshot. */
struct server_set {
	struct cfg_backend cfg; /* `servers` inside is not used */
	struct server_set *retired_next;
	size_t n;
	struct server_slot v[];
};

/* A backend, identified by its name. Never moved or freed while the daemon runs: listeners and
 * connections point at it. Workers read only `set`, `idx` and the atomic counters. */
struct backend {
	struct cfg_backend cfg;  /* main thread's copy (health, control, VRRP tracking) */
	struct server **servers; /* main thread: current servers, config order (== set's) */
	size_t n_servers;
	_Atomic(struct server_set *) set;
	size_t idx; /* unique for the process lifetime: per-worker state index */
	_Atomic uint32_t queue_len;
	_Atomic uint64_t queue_timeouts_total;
	_Atomic uint64_t queue_full_total; /* closed unserved: the queue was at max_queue */
	_Atomic uint64_t no_server_total;
	bool all_down_logged; /* main thread */
	bool removed;         /* main: a reload took it out */
	struct backend *retired_next;
};

/* Every backend of the current config, in config order. Main thread only: workers reach
 * backends through their listeners and connections, never through the pool. */
struct pool {
	struct backend **backends;
	size_t n_backends;
	size_t next_idx; /* backend.idx values handed out so far */
	/* retired objects, freed by pool_free (at exit) when no worker runs any more */
	struct backend *retired_backends;
	struct server *retired_servers;
	struct server_set *retired_sets;
};

struct pool *pool_new(const struct config *c);
void pool_free(struct pool *p);
struct backend *pool_find_backend(struct pool *p, const char *name);
struct server *backend_find_server(struct backend *b, const char *addr_text);

/* A reload of the pool, in two steps so that nothing is changed until everything needed has
 * been allocated: pool_update_prepare() builds the new objects (kept backends and servers are
 * matched by name / address), then either pool_update_commit() publishes them (cannot fail) or
 * pool_update_abort() throws them away. The config must live as long as the pool. */
struct pool_update;
struct pool_update *pool_update_prepare(struct pool *p, const struct config *c);
/* The backend object each new config backend will use (kept or new), by config index. */
struct backend *const *pool_update_backends(const struct pool_update *u);
void pool_update_commit(struct pool *p, struct pool_update *u);
void pool_update_abort(struct pool_update *u);

static inline struct server_set *backend_set(struct backend *b)
{
	return atomic_load_explicit(&b->set, memory_order_acquire);
}

/* Eligible for new connections: active check up, passive not out, not drained. */
bool server_eligible(struct server *s, uint64_t now_ms);
/* Any current server of the backend (primary or backup) eligible. Main thread. */
bool backend_has_eligible(struct backend *b, uint64_t now_ms);

/* Passive accounting, thread-safe; the set's cfg gives max_fails / fail_timeout. Logs the
 * transition once. */
void server_connect_failed(
	struct server *s, const struct cfg_backend *cfg, uint64_t now_ms, const char *reason);
void server_connect_ok(struct server *s);

#endif
