/* The data plane: N worker threads, each with its own epoll loop and SO_REUSEPORT listeners,
 * relaying client connections to servers picked by the backend's balancer. */
#ifndef BUOY_PROXY_H
#define BUOY_PROXY_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "proxy/pool.h"

struct listener_stats {
	_Atomic uint64_t accepted_total;
	_Atomic uint64_t rejected_total; /* accepted, closed unserved: no server / every try
	                                    * failed / queue timeout (at max_conns buoy stops
	                                    * accepting: those wait in the kernel's backlog) */
	_Atomic uint64_t empty_total;    /* closed by the client before its first byte */
};

struct proxy;

/* Binds every listener in every worker and starts the threads. NULL on error (logged). */
struct proxy *proxy_start(const struct config *c, struct pool *pool);
/* Reload, in two steps like pool_update: prepare binds the listeners the new config adds, in
 * every worker (SO_REUSEPORT), and fails (err says why; nothing changed) on a bind error.
 * listener_old[i] is the index of the current listener new listener i keeps (same name, bind,
 * backend: its sockets stay open, nothing is refused), or -1; NULL = all new. backends: the
 * backend object of each new config backend (pool_update_backends()).
 * commit publishes the new listener table: workers open the added sockets and close removed
 * ones (taking what waits in their accept queue first); their connections drain. With
 * threads_running it waits (bounded) until every worker has applied it. Cannot fail. */
struct proxy_update;
struct proxy_update *proxy_update_prepare(
	struct proxy *p, const struct config *c, struct backend *const *backends,
	const int *listener_old, char *err, size_t len);
void proxy_update_commit(
	struct proxy *p, struct proxy_update *u, const struct config *c, bool threads_running);
void proxy_update_abort(struct proxy *p, struct proxy_update *u);
/* Worker threads (fixed at start). */
size_t proxy_n_workers(const struct proxy *p);

/* Stop accepting: close listening sockets; established connections go on. Thread-safe. */
void proxy_stop_accepting(struct proxy *p);
/* Close every connection now (end of shutdown_grace). */
void proxy_close_all(struct proxy *p);
/* Connections in flight (relaying, connecting or queued) across all workers. */
uint64_t proxy_active_conns(struct proxy *p);
/* Stops and joins the workers, frees everything. */
void proxy_free(struct proxy *p);

size_t proxy_n_listeners(const struct proxy *p);
const struct cfg_listener *proxy_listener_cfg(const struct proxy *p, size_t i);
struct listener_stats *proxy_listener_stats(struct proxy *p, size_t i);

#endif
