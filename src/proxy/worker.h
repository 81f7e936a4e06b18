/* Worker internals shared by worker.c (accept, queue, lifecycle) and relay.c (bytes). */
#ifndef BUOY_WORKER_H
#define BUOY_WORKER_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "proxy/balance.h"
#include "proxy/pool.h"
#include "proxy/proxy.h"

enum conn_state { CONN_QUEUED, CONN_CONNECTING, CONN_RELAY, CONN_CLOSED };

/* One direction of a relay: bytes read from `from`, parked in a pipe, written to `to`. */
struct half {
	int pipe_r, pipe_w;      /* -1 when no pipe is held (idle connections hold none) */
	uint32_t in_pipe;        /* bytes parked in the pipe */
	bool eof;                /* read side saw FIN */
	bool done;               /* FIN forwarded (shutdown(SHUT_WR) on the other side) */
	bool bulk;               /* splice mode; small messages go through recv/send */
	bool fin_pending;        /* RDHUP seen on the source: read to EOF, trust no short read */
	bool drained;            /* source read to EAGAIN or a short read, no readable edge since */
	uint32_t buf_off, buf_len; /* bytes a slow destination has not taken yet */
	char *buf;
	uint64_t bytes;          /* not yet added to the server counters */
};

struct worker;

struct conn {
	struct io cio, sio;       /* client and server fds; io.arg points back here */
	struct timer timer;       /* connect / queue / idle deadline */
	struct worker *w;
	struct backend *b;
	struct listener_stats *lstats; /* of the listener that accepted it (retired, never freed) */
	struct server_set *set;   /* the backend's set this connection was dispatched with: its
				   * settings (timeouts, retries) and server indices; sets are
				   * retired, never freed, while the daemon runs */
	struct server *srv;       /* NULL until a server is chosen */
	uint64_t last_active;
	uint64_t client_hash;
	uint64_t tried;           /* servers of `set` already tried, bit i (>= 64 share bit 63) */
	uint32_t tries;
	enum conn_state state;
	bool counted_active;      /* srv->active was incremented */
	bool server_ka;           /* keepalive set on the server socket (see ka_sweep) */
	uint32_t early_ev;        /* client epoll events seen before the relay started */
	uint64_t queued_at;       /* first time it waited in a queue, 0 = never */
	struct half c2s, s2c;
	struct conn *next, *prev; /* worker's list: all conns, or a backend queue */
};

struct pipe_pair { int r, w; };

/* One worker's socket of a listener: allocated by the main thread (fd bound), registered in
 * epoll and closed by the worker that owns it. */
struct listen_sock {
	struct io io;
	struct worker *w;
	struct listener *l;
	bool registered;          /* in the worker's epoll (or paused) */
	bool paused;
	struct timer accept_soon; /* accepts run after the epoll batch, see listener_on_event */
};

/* A configured listener, shared by all workers. Never freed while the daemon runs: a reload
 * keeps it (same name, bind and backend) or retires it. */
struct listener {
	const struct cfg_listener *cfg; /* into a config that lives until exit */
	struct backend *b;
	struct listener_stats stats;
	struct listen_sock *socks;      /* one per worker */
	struct listener *retired_next;
};

/* The listeners workers should serve, immutable once published (proxy.lt_pub). A worker
 * notices a new table when woken, opens/closes its sockets to match and acknowledges gen. */
struct listener_table {
	uint64_t gen;
	struct listener_table *retired_next;
	size_t n;
	struct listener *v[];
};

struct wqueue { struct conn *head, *tail; size_t len; };

/* A worker's own state for one backend, indexed by backend.idx, grown when first needed. */
struct wbackend {
	struct backend *b;
	struct lb_state lb;
	const struct server_set *lb_set; /* the set lb was sized for; a new set resets it */
	struct wqueue q;                 /* connections waiting for a slot */
};

struct worker {
	struct proxy *p;
	size_t id;
	pthread_t thread;
	struct loop *loop;
	struct listener_table *lt;   /* the table this worker's sockets match */
	_Atomic uint64_t lt_ack;     /* lt->gen, for the main thread */
	struct wbackend *wb;
	size_t n_wb;
	struct conn *conns;       /* everything not queued, for close_all */
	struct conn *dead;        /* closed this iteration, freed after the batch */
	struct timer reaper, resume, queue_poll, ka_sweep;
	char *scratch;            /* recv buffer for small messages, RELAY_SCRATCH bytes */
	struct pipe_pair *pipes;  /* free pipes */
	size_t n_pipes, cap_pipes;
	uint64_t last_emfile_log;
	_Atomic uint64_t n_conns;
	_Atomic bool stop_accepting, close_all, quit;
	bool accepting_closed;
};

struct proxy {
	const struct config *cfg;       /* main thread: the config in force */
	struct pool *pool;
	struct worker *workers;
	size_t n_workers;
	struct listener_table *lt;      /* main thread: current table */
	_Atomic(struct listener_table *) lt_pub; /* what workers apply */
	struct listener_table *retired_tables;
	struct listener *retired_listeners;
	_Atomic uint32_t max_conns;     /* global, 0 = unlimited */
	_Atomic uint64_t total_conns;   /* for global max_conns */
};

/* relay.c */
#define RELAY_SCRATCH (16u * 1024)
/* Right after accept: takes what the client already sent, so the server connect can carry the
 * handshake's last ACK on that data. Returns 1 if the client closed before sending anything,
 * -1 if the client socket failed, 0 otherwise. */
int relay_early_read(struct conn *c);
/* server_ev: the event that reported the connect (it may carry data already). */
void relay_start(struct conn *c, uint32_t server_ev);
void relay_on_event(struct loop *l, struct io *io, uint32_t ev);
void relay_flush_counters(struct conn *c);
void relay_release_pipes(struct conn *c);

/* worker.c */
void conn_close(struct conn *c, const char *why);
bool worker_get_pipe(struct worker *w, struct half *h);
void worker_put_pipe(struct worker *w, struct half *h);
/* TCP keepalive (60s idle, 10s x 6 probes) and TCP_NODELAY; accepted sockets inherit them. */
void set_keepalive(int fd);
/* Keepalive on a connected socket, timed from its last received segment as if set at once. */
void set_keepalive_late(int fd);
int worker_init(struct worker *w, struct proxy *p, size_t id);
/* Worker thread: makes its sockets match the published listener table. */
void worker_apply_listeners(struct worker *w);
void listen_sock_init(struct listen_sock *ls, struct worker *w, struct listener *l, int fd);
void *worker_main(void *arg);
void worker_destroy(struct worker *w);

#endif
