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
#include "ctl/hist.h"
#include "proxy/passive.h"

enum check_result { CHECK_NONE, CHECK_OK, CHECK_FAIL };

/* Active health state of one server; written only by the main thread (health/). */
struct server_health {
	bool up;                       /* mirrored into server.active_up for workers */
	uint32_t consecutive_ok;
	uint32_t consecutive_fail;
	uint64_t last_check_ms;        /* monotonic, 0 = never */
	uint64_t last_change_ms;
	uint64_t last_duration_us;
	enum check_result last_result;
	char reason[128];              /* "HTTP 500", "connection refused", "timeout", TLS error */
	uint64_t checks_total, checks_failed_total;
	/* every check's duration, for buoy_health_check_duration_seconds: the health module calls
	 * duration_hist_observe(&h->check_duration, duration_us) per finished check */
	struct duration_hist check_duration;
};

struct server {
	struct cfg_server cfg;         /* address, weight, max_conns, backup */
	struct backend *backend;
	uint64_t key;                  /* lb_hash of the address, for source hashing */

	_Atomic bool active_up;        /* health checks say up */
	_Atomic bool drained;          /* operator: no new connections */
	_Atomic uint64_t passive_down_until;
	_Atomic uint32_t active;       /* connections now */
	_Atomic uint64_t conns_total;
	_Atomic uint64_t connect_failures_total;
	_Atomic uint64_t bytes_to_server, bytes_from_server;

	pthread_mutex_t passive_lock;
	struct passive passive;
	struct server_health health;   /* main thread only */
};

struct backend {
	struct cfg_backend cfg;        /* servers pointer inside is not used at run time */
	struct server *servers;
	size_t n_servers;
	size_t idx;
	_Atomic uint32_t queue_len;
	_Atomic uint64_t queue_timeouts_total;
	_Atomic uint64_t no_server_total;
	bool all_down_logged;          /* main thread */
};

struct pool {
	struct backend *backends;
	size_t n_backends;
};

struct pool *pool_new(const struct config *c);
void pool_free(struct pool *p);
struct backend *pool_find_backend(struct pool *p, const char *name);
struct server *backend_find_server(struct backend *b, const char *addr_text);

/* Eligible for new connections: active check up, passive not out, not drained. */
bool server_eligible(struct server *s, uint64_t now_ms);
/* Any server of the backend (primary or backup) eligible. */
bool backend_has_eligible(struct backend *b, uint64_t now_ms);

/* Passive accounting, thread-safe. Logs the transition once. */
void server_connect_failed(struct server *s, uint64_t now_ms, const char *reason);
void server_connect_ok(struct server *s);

#endif
