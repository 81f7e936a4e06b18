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
#include "core/grace.h"
#include "core/hist.h"
#include "proxy/passive.h"

enum check_result { CHECK_NONE, CHECK_OK, CHECK_FAIL };

/* Active health state of one server; written only by the main thread (health/). */
struct server_health {
	bool up; /* mirrored into server.active_up for workers */
	uint32_t consecutive_ok;
	uint32_t consecutive_fail;
	uint64_t last_check_ms; /* monotonic, 0 = never */
	uint64_t next_due_ms;   /* when its next check starts, 0 = none scheduled yet: a restart
				 * (reload, discovery change) resumes the schedule, never delays it */
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
	uint32_t n_sets;             /* main: sets (published or retired) that list it; a
				      * removed server is freed with the last of them */
};

/* A server as workers see it in a set: the per-server settings a reload may change. */
struct server_slot {
	struct server *s;
	uint32_t weight;    /* >= 1 */
	uint32_t max_conns; /* 0 = unlimited */
	bool backup;
};

/* What workers read of a backend: settings and servers, immutable once published. A reload
 * publishes a new set with one atomic store; the old one is retired, never changed, so a
 * worker holding it reads a consistent snapshot. A connection or UDP session holds the set it
 * was dispatched with (set_hold), and through it its server, backend and config strings; a
 * retired set is freed once its grace period is over (core/grace.h) and nothing holds it. */
struct server_set {
	struct cfg_backend cfg; /* `servers` inside is not used */
	_Atomic uint32_t refs;  /* connections and sessions on it */
	uint64_t id;            /* unique per process: worker state is keyed by it, never by
				 * the address (a freed set's may come back) */
	struct backend *b;
	const struct config *owner; /* where cfg's strings live: held while published/retired */
	uint64_t retired_epoch;     /* grace_retire()'s, once retired */
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
	uint32_t n_sets;      /* main: its sets not yet freed */
	uint32_t n_listeners; /* main: listeners pointing at it (proxy) */
	struct backend *retired_next;
};

/* Every backend of the current config, in config order. Main thread only: workers reach
 * backends through their listeners and connections, never through the pool. */
struct pool {
	struct backend **backends;
	size_t n_backends;
	size_t next_idx;      /* backend.idx values handed out so far */
	uint64_t next_set_id; /* server_set.id values handed out so far */
	struct grace *grace;  /* the workers' grace periods; NULL: none run (pool_set_grace) */
	/* retired, freed by pool_reclaim when unused (a removed server goes with its last set) */
	struct backend *retired_backends;
	struct server_set *retired_sets;
	uint64_t freed_total; /* sets, servers and backends pool_reclaim freed */
};

struct pool *pool_new(const struct config *c);
void pool_free(struct pool *p);
/* From proxy_start on, retirements wait for the workers' grace periods. */
void pool_set_grace(struct pool *p, struct grace *g);
/* Frees retired sets no connection holds any more once their grace period is over, and with
 * them removed servers and backends nothing else lists. Returns how many retired objects are
 * still pending. Main thread, cheap; called after every reload and on a timer while pending. */
size_t pool_reclaim(struct pool *p);
size_t pool_retired_count(const struct pool *p); /* pending, without a pass */
/* A listener began / stopped pointing at b (a retired b waits for its listeners). */
void pool_backend_listener(struct pool *p, struct backend *b, bool add);

/* Worker side: a connection takes the set it is dispatched with, drops it as its last access. */
static inline struct server_set *set_hold(struct server_set *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed); /* grace covers the load */
	return s;
}
static inline void set_drop(const struct server_set *s)
{
	if (s) /* release: our reads of it happen before the main thread's free */
		atomic_fetch_sub_explicit(&((struct server_set *)s)->refs, 1, memory_order_release);
}
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
