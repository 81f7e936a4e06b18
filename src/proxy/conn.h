/* The proxy's types: connections, listeners, workers. Types only; the functions are in
 * worker.h (worker.c: accept, queue, lifecycle) and listener.c (proxy.h). */
#ifndef BUOY_CONN_H
#define BUOY_CONN_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "proxy/balance.h"
#include "proxy/connlog.h"
#include "proxy/pool.h"
#include "proxy/proxy.h"
#include "proxy/relay.h"

enum conn_state { CONN_QUEUED, CONN_CONNECTING, CONN_RELAY, CONN_CLOSED };

struct worker;

struct conn {
	struct io cio, sio; /* client and server fds; io.arg points back here */
	struct timer timer; /* connect / queue / idle deadline */
	struct worker *w;
	struct backend *b;
	struct listener *l;     /* the listener that accepted it, held (listener_hold) */
	struct server_set *set; /* the backend's set this connection was dispatched with, held
				 * (set_hold): its settings (timeouts, retries), server indices,
				 * and through it srv, b and the config strings stay valid */
	struct server *srv;     /* NULL until a server is chosen */
	uint64_t last_active;
	uint64_t client_hash;
	uint64_t tried; /* servers of `set` already tried, bit i (>= 64 share bit 63) */
	uint32_t tries;
	enum conn_state state;
	bool counted_active;      /* srv->active was incremented */
	bool server_ka;           /* keepalive set on the server socket (see ka_sweep) */
	bool logged;              /* its OPEN is in the worker's connection log (accept's push
	                           * succeeded, or a resync reported it): its close is logged */
	uint8_t fp_flags;         /* FP_SEEN_*: what the relay carried, for the fast path */
	uint32_t early_ev;        /* client epoll events seen before the relay started */
	uint64_t queued_at;       /* first time it waited in a queue, 0 = never */
	struct relay relay;       /* the bytes; its fds are cio.fd and sio.fd */
	struct fp_conn *fp;       /* in the kernel fast path (worker_fp.c), else NULL */
	struct conn *next, *prev; /* worker's list: all conns, or a backend queue */
	struct loop_deferred reap;
};
/* `logged` and `fp_flags` sit in the padding after server_ka: connection sync costs no memory
 * per connection; the fast path costs its pointer (320 bytes on x86-64). */
_Static_assert(offsetof(struct conn, fp_flags) < offsetof(struct conn, early_ev),
	       "conn.fp_flags must stay in the padding before early_ev");
#define FP_SEEN_C2S 1u /* the relay delivered bytes client -> server */
#define FP_SEEN_S2C 2u /* and server -> client: the first exchange is done */
#define FP_NEVER 4u    /* stays in the relay (an insert failed) */

/* A connection in the kernel path: index 0 is the client socket, 1 the server socket. */
struct fp_conn {
	uint64_t cookie[2]; /* SO_COOKIE, the maps' keys */
	uint64_t base[2];   /* bytes written into each socket before the insert (FIN gate) */
	uint64_t taken[2];  /* the program's byte counts already added to the server's */
	uint32_t fin_wait;  /* ms until the next FIN gate check (doubles), 0 = none pending */
	bool fin[2];        /* FIN read on socket i */
	bool fwd[2];        /* socket i's FIN passed on: its peer shut down for writing */
};

/* One worker's socket of a listener: allocated by the main thread (fd bound), registered in
 * epoll and closed by the worker that owns it. */
struct listen_sock {
	struct io io;
	struct worker *w;
	struct listener *l;
	bool registered; /* in the worker's epoll (or paused) */
	bool paused;
	struct timer accept_soon; /* accepts run after the epoll batch, see listener_on_event */
	struct udp_listen *udp;   /* protocol udp: this worker's sessions (proxy/udp.c), created on
				   * the first datagram, freed when the socket closes */
};

/* A configured listener, shared by all workers. A reload keeps it (same name, bind and
 * backend) or retires it; a retired one is freed (proxy_reclaim) once every worker has closed
 * its socket, its grace period is over and no connection holds it. */
struct listener {
	const struct cfg_listener *cfg; /* into owner */
	const struct config *owner;     /* held while the listener lives */
	_Atomic uint32_t refs;          /* connections accepted on it (listener_hold) */
	uint64_t retired_gen;           /* the table generation that dropped it */
	uint64_t retired_epoch;         /* grace_retire()'s */
	struct backend *b;
	struct listener_stats stats;
	struct listen_sock *socks; /* one per worker */
	struct ip_addr local;      /* the bind address, v4-mapped unmapped (connection log) */
	uint16_t lport;            /* the bind port, host order */
	bool local_any;            /* bound to a wildcard: getsockname() says the local address */
	struct listener *retired_next;
};

static inline struct listener *listener_hold(struct listener *l)
{
	atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed); /* grace covers the load */
	return l;
}
static inline void listener_drop(struct listener *l)
{
	if (l)
		atomic_fetch_sub_explicit(&l->refs, 1, memory_order_release);
}

/* The listeners workers should serve, immutable once published (proxy.lt_pub). A worker
 * notices a new table when woken, opens/closes its sockets to match and acknowledges gen. */
struct listener_table {
	uint64_t gen;
	uint64_t retired_gen; /* the table that replaced it: freed once every worker applied it */
	struct listener_table *retired_next;
	size_t n;
	struct listener *v[];
};

struct wqueue {
	struct conn *head, *tail;
	size_t len;
};

/* A worker's own state for one backend, indexed by backend.idx, grown when first needed. */
struct wbackend {
	struct backend *b;
	struct lb_state lb;
	uint64_t lb_set_id; /* server_set.id lb was sized for; a new set resets it */
	struct wqueue q;    /* connections waiting for a slot */
};

struct worker {
	struct proxy *p;
	size_t id;
	pthread_t thread;
	struct loop *loop;
	struct listener_table *lt; /* the table this worker's sockets match */
	_Atomic uint64_t lt_ack;   /* lt->gen, for the main thread */
	_Atomic uint64_t qs;       /* grace.h: bumped around each epoll_wait */
	struct wbackend *wb;
	size_t n_wb;
	struct conn *conns; /* everything not queued, for close_all */
	struct timer resume, queue_poll, ka_sweep;
	struct relay_pool relay_pool; /* pipes and scratch buffer of this worker's relays */
	struct udp_batch *udp_batch;  /* recvmmsg/sendmmsg buffers of its UDP listeners, lazily */
	uint64_t last_emfile_log;
	_Atomic uint64_t n_conns;
	_Atomic bool stop_accepting, close_all, quit;
	bool accepting_closed;
	/* connection sync (connsync.c): the ring this worker logs into, NULL = sync off (set by
	 * the main thread; the ring outlives any load of it, until proxy_free); a resync request;
	 * and a pending reset of moved VIPs (handed over: whoever takes the pointer frees it) */
	_Atomic(struct connlog *) clog;
	_Atomic bool resync;
	_Atomic(struct reset_list *) reset_req;
};

/* Local addresses whose connections a worker resets (proxy_reset_local). */
struct reset_list {
	size_t n;
	struct ip_addr v[];
};

struct proxy {
	const struct config *cfg; /* main thread: the config in force */
	struct pool *pool;
	struct worker *workers;
	size_t n_workers;
	struct listener_table *lt;               /* main thread: current table */
	_Atomic(struct listener_table *) lt_pub; /* what workers apply */
	struct listener_table *retired_tables;
	struct listener *retired_listeners;
	struct grace grace;           /* the workers' grace periods (core/grace.h) */
	_Atomic uint64_t **qs;        /* each worker's counter, for grace */
	uint64_t freed_total;         /* listeners and tables proxy_reclaim freed */
	_Atomic uint32_t max_conns;   /* global, 0 = unlimited */
	_Atomic uint64_t total_conns; /* for global max_conns */
	struct connlog *logs; /* one per worker, allocated by the first proxy_connlog_enable */
	_Atomic uint64_t reset_total; /* connections reset by proxy_reset_local */
	/* the kernel fast path (worker_fp.c), set at start: NULL = the relay only */
	struct fastpath *fp;
	enum cfg_fast_path fp_mode;
	const char *fp_reason;     /* why it is not in use (static), NULL when it is */
	_Atomic uint64_t fp_conns; /* connections in it now, all workers (the maps' cap) */
};

#endif
