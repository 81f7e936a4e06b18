/* The data plane: N worker threads, each with its own epoll loop and SO_REUSEPORT listeners,
 * relaying client connections to servers picked by the backend's balancer. */
#ifndef BUOY_PROXY_H
#define BUOY_PROXY_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/inet.h"
#include "proxy/pool.h"

struct listener_stats {
	_Atomic uint64_t accepted_total;
	_Atomic uint64_t rejected_total; /* accepted, closed unserved: no server / every try
	                                    * failed / queue timeout (at max_conns buoy stops
	                                    * accepting: those wait in the kernel's backlog) */
	_Atomic uint64_t empty_total;    /* closed by the client before its first byte */
	/* protocol udp (proxy/udp.c); "in" is client -> server, "out" server -> client */
	_Atomic uint64_t udp_sessions_total;
	_Atomic uint64_t udp_sessions_active; /* all workers: the max_sessions cap counts it */
	_Atomic uint64_t udp_datagrams_in, udp_datagrams_out;
	_Atomic uint64_t udp_bytes_in, udp_bytes_out;
	_Atomic uint64_t udp_drops[6]; /* by enum udp_drop */
	/* the kernel fast path: connections moved there, and there now */
	_Atomic uint64_t fast_path_total, fast_path_active;
};

/* Why a UDP listener dropped a datagram (udp_drop_name: the metrics' reason label). */
enum udp_drop {
	UDP_DROP_SESSION_CAP, /* a new client while max_sessions are open */
	UDP_DROP_NO_SERVER,   /* no server to pick (all down, drained, or at max_conns) */
	UDP_DROP_LOCAL,       /* our own shortage: socket, connect (fds, memory, ports) */
	UDP_DROP_TO_SERVER,   /* sending to the server failed (buffer full, unreachable) */
	UDP_DROP_TO_CLIENT,   /* sending the reply to the client failed */
	UDP_DROP_TRUNCATED,   /* larger than the buffer (64 KiB): cut, not forwarded */
	UDP_DROP_N
};
_Static_assert(UDP_DROP_N == 6, "listener_stats.udp_drops size");
const char *udp_drop_name(enum udp_drop d);

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
/* Frees retired listeners (every worker closed its socket, grace period over, no connection
 * holds one) and listener tables every worker has moved past. Returns how many are pending.
 * Main thread; with pool_reclaim after reloads and on a timer (reload.h). */
size_t proxy_reclaim(struct proxy *p);
size_t proxy_retired_count(const struct proxy *p); /* pending, without a pass */
uint64_t proxy_freed_total(const struct proxy *p);

/* ---- connection sync: the workers' side (proxy/connlog.h, proxy/connsync.c) ---- */

struct connlog_ev; /* proxy/connlog.h */
/* Connection sync: workers log opens and closes of client connections from now on (rings
 * allocated on first call, kept until proxy_free). Main thread. 0, or -1 out of memory.
 * Connections accepted before are not logged until a resync reports them. */
int proxy_connlog_enable(struct proxy *p);
/* Workers stop logging (a worker may still push what it was pushing). Events already in the
 * rings stay there for proxy_connlog_drain; a later enable logs the CLOSE of a connection
 * opened before, whose OPEN may have been discarded: the consumer ignores unknown ids. */
void proxy_connlog_disable(struct proxy *p);
typedef void (*proxy_connlog_fn)(void *arg, uint32_t worker, const struct connlog_ev *e);
/* Main thread: every worker's pending events, each worker's in its order. Returns how many.
 * Drains each ring until it is empty, at most one ring's capacity per worker per call, so a
 * busy worker cannot keep the caller here. 0 when never enabled. */
size_t proxy_connlog_drain(struct proxy *p, proxy_connlog_fn fn, void *arg);
/* Sum of events lost to full rings; and the per-worker count (for deciding a resync). */
uint64_t proxy_connlog_dropped(const struct proxy *p);
uint64_t proxy_connlog_dropped_of(const struct proxy *p, uint32_t worker);
/* Asks worker `worker` to resync its log (see connlog.h): RESYNC_BEGIN, an OPEN for every
 * connection it holds (relaying, connecting or queued; those accepted before the log was
 * enabled or whose OPEN was dropped included), RESYNC_END, pushed together once the ring has
 * room for all of them, retried every few seconds until then. Ignored while sync is off.
 * Main thread; returns at once. */
void proxy_connlog_resync(struct proxy *p, uint32_t worker);
/* Moved VIPs: every worker closes with a reset (SO_LINGER 0: RST, not FIN) each client
 * connection whose local address is one of addrs[0..n) (ports and prefixes ignored), counted
 * in proxy_reset_total. Main thread; returns at once (workers apply it when woken). Each
 * worker gets its own copy of the list and frees it once applied; a call before a worker
 * applied the previous one adds to it. */
void proxy_reset_local(struct proxy *p, const struct ip_addr *addrs, size_t n);
uint64_t proxy_reset_total(const struct proxy *p);

/* The kernel fast path as it runs. sockets walks the sockhash (one bpf() call per entry). */
struct proxy_fast_path {
	enum cfg_fast_path mode; /* asked for */
	bool active;             /* loaded: connections move to it after their first exchange */
	const char *reason;      /* why not (static), NULL */
	uint64_t sockets;
};
void proxy_fast_path(struct proxy *p, struct proxy_fast_path *out);

size_t proxy_n_listeners(const struct proxy *p);
const struct cfg_listener *proxy_listener_cfg(const struct proxy *p, size_t i);
struct listener_stats *proxy_listener_stats(struct proxy *p, size_t i);

#endif
