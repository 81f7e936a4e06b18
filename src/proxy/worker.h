/* Worker functions, for listener.c. The types are in conn.h. */
#ifndef BUOY_WORKER_H
#define BUOY_WORKER_H
#include "proxy/conn.h"

/* TCP keepalive (60s idle, 10s x 6 probes) and TCP_NODELAY; accepted sockets inherit them. */
void set_keepalive(int fd);
int worker_init(struct worker *w, struct proxy *p, size_t id);
/* Worker thread: makes its sockets match the published listener table. */
void worker_apply_listeners(struct worker *w);
void listen_sock_init(struct listen_sock *ls, struct worker *w, struct listener *l, int fd);
void *worker_main(void *arg);
void worker_destroy(struct worker *w);
/* The worker's state for backend b (pick.c), grown on first sight of a backend a reload
 * added. NULL out of memory. */
struct wbackend *worker_backend(struct worker *w, struct backend *b);
/* A server index of `set` (b's current set) for a new client by b's balancer, this worker's
 * state; `tried` (bit i: server i) excluded; every server down: any not drained (fail open).
 * LB_NONE / LB_FULL as lb_pick. */
int worker_pick(struct worker *w, struct backend *b, const struct server_set *set, uint64_t tried,
		uint64_t client_hash);
/* Closes a connection (worker thread; a second call does nothing). why: debug log, or NULL. */
void conn_close(struct conn *c, const char *why);

/* ---- the kernel fast path, the workers' side (worker_fp.c) ---- */

/* After a relay event: moves the connection into the kernel path if the proxy has one, its
 * first exchange is done and both sockets are read dry. true if it moved. */
bool fp_conn_try_enter(struct conn *c);
/* An epoll event on a kernel-path connection: FIN (passed on through the gate), RST. */
void fp_conn_on_event(struct conn *c, bool from_client, uint32_t ev);
/* Its timer: FIN gate polls, and the idle timeout from the program's byte counters. */
void fp_conn_on_timer(struct conn *c, uint64_t now);
/* Periodic (ka_sweep): the program's counts to the server's counters. */
void fp_conn_sweep(struct conn *c, uint64_t now);
/* conn_close, after the sockets are closed: last counts, map entries, stats. */
void fp_conn_closed(struct conn *c);

/* ---- connection sync, the workers' side (connsync.c) ---- */

/* The worker's ring, NULL while sync is off. Acquire pairs with the enabling store (the ring
 * set up before it is used); on x86-64 it is the same plain load as a relaxed one (a relaxed
 * load plus an acquire fence when non-NULL would do too, but TSan cannot check fences). */
static inline struct connlog *worker_clog(struct worker *w)
{
	return atomic_load_explicit(&w->clog, memory_order_acquire);
}
/* A socket address as a tuple half: the address (an IPv4-mapped IPv6 one as IPv4: a [::]
 * listener's v4 clients) and the port in host order. */
void sockaddr_tuple(const struct sockaddr_storage *ss, struct ip_addr *a, uint16_t *port);
/* Logs the OPEN of a just-accepted connection. true if it is in the ring. */
bool conn_log_open(struct connlog *r, const struct conn *c, const struct listener *l,
		   const struct sockaddr_storage *peer);
/* Worker thread, when woken and on its sweep timer: a pending resync (if the ring has room)
 * and a pending reset of moved VIPs. */
void worker_resync(struct worker *w);
void worker_apply_reset(struct worker *w);
/* proxy_free, workers joined: the rings and any reset list no worker took. */
void proxy_sync_free(struct proxy *p);

#endif
