/* A worker: accept, pick a server, connect with retries, queue when servers are full, run the
 * relay (relay.c) on established pairs and act on its verdicts. One thread, one epoll loop, no
 * locks on the data path. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/udp.h"
#include "proxy/worker.h"

#define ACCEPT_BATCH 64
#define PIPE_POOL_MAX 256
#define PAUSE_MS 100
#define QUEUE_POLL_MS 20

static void conn_on_event(struct loop *l, struct io *io, uint32_t ev);
static void conn_on_timer(struct loop *l, struct timer *t);
static void conn_dispatch(struct conn *c);

/* ---------- lists ---------- */

static void list_push(struct conn **head, struct conn *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
}

static void list_unlink(struct conn **head, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

static void queue_push(struct wqueue *q, struct conn *c)
{
	c->next = NULL;
	c->prev = q->tail;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->len++;
}

static void queue_unlink(struct wqueue *q, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		q->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		q->tail = c->prev;
	c->next = c->prev = NULL;
	q->len--;
}

/* ---------- socket options ---------- */

#define KA_IDLE_S 60
#define KA_INTVL_S 10
#define KA_CNT 6
#define KA_SWEEP_MS 5000

static void set_nodelay(int fd)
{
	/* we forward what arrives as it arrives: Nagle would only add latency */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Keepalive on a connected socket, timed from its last received segment as if set at once. */
static void set_keepalive_late(int fd)
{
	/* TCP_KEEPIDLE last: on a socket with SO_KEEPALIVE on, Linux re-arms the timer for
	 * idle time minus the time since the last segment received */
	int one = 1, idle = KA_IDLE_S, intvl = KA_INTVL_S, cnt = KA_CNT;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
}

void set_keepalive(int fd)
{
	set_keepalive_late(fd);
	set_nodelay(fd);
}

/* Server sockets get keepalive here, not at connect: a connection younger than the sweep period
 * (most short ones) never pays the 4 setsockopt calls, and one that lives on gets it well before
 * its first probe would be due (KA_SWEEP_MS << KA_IDLE_S), timed from its last segment. */
static void ka_sweep_cb(struct loop *l, struct timer *t)
{
	struct worker *w = t->arg;
	worker_resync(w); /* a resync that found the ring too full tries again here */
	uint64_t now = loop_now(l);
	for (struct conn *c = w->conns; c; c = c->next) {
		if (!c->server_ka && c->sio.fd >= 0 && c->state == CONN_RELAY) {
			set_keepalive_late(c->sio.fd);
			c->server_ka = true;
		}
		if (c->fp) /* byte counters within a sweep period of the truth */
			fp_conn_sweep(c, now);
	}
	timer_arm_in(l, t, KA_SWEEP_MS);
}

/* ---------- connection lifecycle ---------- */

static void server_release(struct conn *c)
{
	if (c->counted_active) {
		atomic_fetch_sub_explicit(&c->srv->active, 1, memory_order_relaxed);
		c->counted_active = false;
	}
}

static void dispatch_queue(struct worker *w, struct backend *b);

/* After the batch: its set and listener are dropped as the very last access (pool.h). */
static void conn_free(struct loop *l, struct loop_deferred *d)
{
	(void)l;
	struct conn *c = container_of(d, struct conn, reap);
	set_drop(c->set);
	listener_drop(c->l);
	free(c);
}

/* The relay's byte counts go to the server's counters. */
static void flush_counters(struct conn *c)
{
	uint64_t to, from;
	relay_take_bytes(&c->relay, &to, &from);
	c->fp_flags |= (to ? FP_SEEN_C2S : 0) | (from ? FP_SEEN_S2C : 0);
	if (!c->srv)
		return;
	if (to)
		atomic_fetch_add_explicit(&c->srv->bytes_to_server, to, memory_order_relaxed);
	if (from)
		atomic_fetch_add_explicit(&c->srv->bytes_from_server, from, memory_order_relaxed);
}

/* Its OPEN was logged: the CLOSE too, unless sync was turned off meanwhile. */
static void conn_log_close(struct conn *c)
{
	struct connlog *r = worker_clog(c->w);
	if (r) {
		struct connlog_ev e = { .op = CONNLOG_CLOSE, .id = (uint64_t)(uintptr_t)c };
		connlog_push(r, &e);
	}
}

void conn_close(struct conn *c, const char *why)
{
	struct worker *w = c->w;
	if (c->state == CONN_CLOSED)
		return;
	if (c->logged)
		conn_log_close(c);
	if (why)
		log_debug("connection closed", "backend=%s server=%s reason=\"%s\"",
			  c->set->cfg.name, c->srv ? c->srv->cfg.addr.text : "-", why);
	struct wqueue *q = &w->wb[c->b->idx].q; /* exists: every conn went through pick_server */
	if (c->state == CONN_QUEUED) {
		queue_unlink(q, c);
		atomic_fetch_sub_explicit(&c->b->queue_len, 1, memory_order_relaxed);
	} else {
		list_unlink(&w->conns, c);
	}
	flush_counters(c);
	relay_release(&c->relay);
	timer_cancel(w->loop, &c->timer);
	close(c->cio.fd); /* close() also drops the fd from epoll */
	if (c->sio.fd >= 0)
		close(c->sio.fd);
	if (c->fp)
		fp_conn_closed(c);
	bool freed_slot = c->counted_active;
	server_release(c);
	c->state = CONN_CLOSED;
	atomic_fetch_sub_explicit(&w->n_conns, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&w->p->total_conns, 1, memory_order_relaxed);
	/* freed after this epoll batch: a later event in the batch may still name it */
	loop_defer(w->loop, &c->reap, conn_free);
	if (freed_slot && q->len)
		dispatch_queue(w, c->b);
}

/* Picks from the backend's current set. A reload between two tries of one connection gives a
 * new set whose indices mean other servers: forget which were tried (tries stay bounded). */
static int pick_server(struct conn *c)
{
	struct server_set *set = backend_set(c->b);
	if (set != c->set) {
		set_drop(c->set); /* not read again: c->srv is NULL between attempts */
		c->set = set_hold(set);
		c->tried = 0;
	}
	return worker_pick(c->w, c->b, set, c->tried, c->client_hash);
}

/* Closed unserved (no server, retries exhausted, queue timeout): the listener's rejected_total. */
static void count_rejected(struct conn *c)
{
	if (c->l)
		atomic_fetch_add_explicit(&c->l->stats.rejected_total, 1, memory_order_relaxed);
}

static void conn_fail(struct conn *c, const char *why)
{
	atomic_fetch_add_explicit(&c->b->no_server_total, 1, memory_order_relaxed);
	count_rejected(c);
	log_warn("connection failed", "backend=%s reason=\"%s\" tries=%u", c->set->cfg.name, why,
		 c->tries);
	conn_close(c, why);
}

/* Starts a non-blocking connect to server index idx. Returns 0, or -1 if it failed at once. */
static int conn_connect(struct conn *c, int idx)
{
	struct worker *w = c->w;
	struct server *s = c->set->v[idx].s;
	c->srv = s;
	c->tries++;
	c->tried |= 1ull << (idx < 63 ? idx : 63);
	atomic_fetch_add_explicit(&s->active, 1, memory_order_relaxed);
	c->counted_active = true;
	int fd = socket(s->cfg.addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	set_nodelay(fd); /* keepalive follows in ka_sweep if the connection lives on */
	c->server_ka = false;
	if (relay_client_spoke(&c->relay)) {
		/* the client spoke first: hold the handshake's last ACK and send it with its data
		 * (the kernel's delayed-ACK path in SYN-SENT), one packet fewer per connection.
		 * Not when the client has said nothing yet: a server that speaks first would wait
		 * up to 200 ms for that ACK. (Holding it always and forcing it out at connect when
		 * there was still no data measured no better: the back side then stays in delayed-ACK
		 * mode and the origin's tail-loss probes resend its FIN more often.) */
		int zero = 0;
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
	}
	c->sio.fd = fd;
	if (connect(fd, (struct sockaddr *)&s->cfg.addr.ss, s->cfg.addr.len) < 0 && errno != EINPROGRESS)
		return -1;
	c->state = CONN_CONNECTING;
	if (loop_add(w->loop, &c->sio, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0)
		return -1;
	timer_arm_in(w->loop, &c->timer, c->set->cfg.connect_timeout_ms);
	return 0;
}

/* Gives up the current server attempt: its slot, its socket, its connect timer. */
static void drop_attempt(struct conn *c)
{
	server_release(c);
	if (c->sio.fd >= 0) {
		close(c->sio.fd); /* also leaves epoll */
		c->sio.fd = -1;
	}
	c->srv = NULL;
	timer_cancel(c->w->loop, &c->timer);
}

/* A connect attempt failed: counted against the server. Returns false when the retries are
 * used up (the connection is then closed), true when the next server may be tried. */
static bool attempt_failed(struct conn *c, const char *why)
{
	log_info("connect failed", "backend=%s server=%s reason=\"%s\" try=%u", c->set->cfg.name,
		 c->srv->cfg.addr.text, why, c->tries);
	server_connect_failed(c->srv, &c->set->cfg, loop_now(c->w->loop), why);
	drop_attempt(c);
	if (c->tries > c->set->cfg.retries) {
		conn_fail(c, "retries exhausted");
		return false;
	}
	return true;
}

static void conn_retry(struct conn *c, const char *why)
{
	if (attempt_failed(c, why))
		conn_dispatch(c);
}

/* Only the worker acts on what the relay says. */
static void relay_verdict(struct conn *c, enum relay_verdict v)
{
	if (v == RELAY_RESET) {
		conn_close(c, "reset"); /* conn_close flushes the counters */
	} else if (v == RELAY_DONE) {
		conn_close(c, NULL);
	} else {
		flush_counters(c);
		fp_conn_try_enter(c);
	}
}

static void conn_connected(struct conn *c, uint32_t ev)
{
	timer_cancel(c->w->loop, &c->timer);
	server_connect_ok(c->srv);
	atomic_fetch_add_explicit(&c->srv->conns_total, 1, memory_order_relaxed);
	c->last_active = loop_now(c->w->loop);
	timer_arm(c->w->loop, &c->timer, c->last_active + c->set->cfg.idle_timeout_ms);
	c->state = CONN_RELAY;
	relay_verdict(c, relay_start(&c->relay, c->sio.fd, c->early_ev, ev));
}

static void conn_enqueue(struct conn *c)
{
	struct worker *w = c->w;
	list_unlink(&w->conns, c);
	c->state = CONN_QUEUED;
	queue_push(&w->wb[c->b->idx].q, c);
	atomic_fetch_add_explicit(&c->b->queue_len, 1, memory_order_relaxed);
	if (!c->queued_at) /* a requeue (local shortage) keeps the first deadline */
		c->queued_at = loop_now(w->loop);
	timer_arm(w->loop, &c->timer, c->queued_at + c->set->cfg.queue_timeout_ms);
	if (!timer_armed(&w->queue_poll))
		timer_arm_in(w->loop, &w->queue_poll, QUEUE_POLL_MS);
}

/* The backend's max_queue, counted over all workers (HAProxy's maxqueue): a burst beyond it is
 * closed at once instead of waiting queue_timeout for slots it would not get. */
static bool queue_full(const struct conn *c)
{
	uint32_t max = c->set->cfg.max_queue;
	return max && atomic_load_explicit(&c->b->queue_len, memory_order_relaxed) >= max;
}

static void conn_reject_full(struct conn *c)
{
	atomic_fetch_add_explicit(&c->b->queue_full_total, 1, memory_order_relaxed);
	count_rejected(c);
	log_warn("queue full", "backend=%s max_queue=%u", c->set->cfg.name, c->set->cfg.max_queue);
	conn_close(c, "queue full");
}

/* Picks a server and connects; loops over servers that fail at once. */
static void listener_pause(struct worker *w, struct listen_sock *ls);

/* Our own shortage (fds, memory, ports) says nothing about the server: it is not counted
 * against it. The client waits in the queue (up to queue_timeout) and the worker stops
 * accepting for a moment, as for EMFILE on accept(), instead of accepting and dropping. */
static void conn_local_shortage(struct conn *c, int err)
{
	struct worker *w = c->w;
	uint64_t now = loop_now(w->loop);
	if (now - w->last_emfile_log >= 1000) {
		log_error("accept paused", "backend=%s reason=\"%s\" where=connect pause_ms=%d",
			  c->set->cfg.name, strerror(err), PAUSE_MS);
		w->last_emfile_log = now;
	}
	drop_attempt(c);
	c->tries = 0;
	c->tried = 0;
	for (size_t i = 0; w->lt && i < w->lt->n; i++)
		listener_pause(w, &w->lt->v[i]->socks[w->id]);
	conn_enqueue(c);
}

static bool local_error(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM ||
	       err == EADDRNOTAVAIL || err == ENOSPC;
}

static void conn_dispatch(struct conn *c)
{
	for (;;) {
		int idx = pick_server(c);
		if (idx == LB_FULL) {
			if (c->state == CONN_QUEUED)
				return; /* waits on where it is */
			if (queue_full(c))
				conn_reject_full(c);
			else
				conn_enqueue(c);
			return;
		}
		if (idx < 0) {
			conn_fail(c, c->tries ? "no server left to try" : "no server available");
			return;
		}
		if (c->state == CONN_QUEUED) {
			struct worker *w = c->w;
			queue_unlink(&w->wb[c->b->idx].q, c);
			atomic_fetch_sub_explicit(&c->b->queue_len, 1, memory_order_relaxed);
			timer_cancel(w->loop, &c->timer);
			list_push(&w->conns, c);
			c->state = CONN_CONNECTING;
		}
		if (conn_connect(c, idx) == 0)
			return;
		int err = errno;
		if (local_error(err)) {
			conn_local_shortage(c, err);
			return;
		}
		if (!attempt_failed(c, strerror(err)))
			return;
	}
}

static void dispatch_queue(struct worker *w, struct backend *b)
{
	struct wqueue *q = &w->wb[b->idx].q;
	while (q->head) {
		struct conn *c = q->head;
		conn_dispatch(c);
		if (c->state == CONN_QUEUED)
			return; /* still full */
	}
}

static void queue_poll_cb(struct loop *l, struct timer *t)
{
	struct worker *w = t->arg;
	bool waiting = false;
	for (size_t i = 0; i < w->n_wb; i++) {
		if (w->wb[i].q.len)
			dispatch_queue(w, w->wb[i].b);
		waiting |= w->wb[i].q.len != 0;
	}
	if (waiting)
		timer_arm_in(l, t, QUEUE_POLL_MS);
}

static void conn_on_timer(struct loop *l, struct timer *t)
{
	struct conn *c = t->arg;
	switch (c->state) {
	case CONN_QUEUED:
		atomic_fetch_add_explicit(&c->b->queue_timeouts_total, 1, memory_order_relaxed);
		count_rejected(c);
		log_warn("queue timeout", "backend=%s queue_timeout_ms=%llu", c->set->cfg.name,
			 (unsigned long long)c->set->cfg.queue_timeout_ms);
		conn_close(c, "queue timeout");
		break;
	case CONN_CONNECTING: conn_retry(c, "connect timeout"); break;
	case CONN_RELAY: {
		if (c->fp) {
			fp_conn_on_timer(c, loop_now(l));
			break;
		}
		/* lazy idle timer: data events only stamp last_active; re-arm here if needed */
		uint64_t deadline = c->last_active + c->set->cfg.idle_timeout_ms;
		if (loop_now(l) >= deadline)
			conn_close(c, "idle timeout");
		else
			timer_arm(l, t, deadline);
		break;
	}
	case CONN_CLOSED: break;
	}
}

/* The client hung up before its first byte (a probe that connected, then closed while we
 * were connecting or queued): nothing will ever be relayed. Peek, so bytes stay for the relay. */
static bool client_left_silent(const struct conn *c, uint32_t ev)
{
	if (!(ev & EPOLLRDHUP) || relay_client_spoke(&c->relay))
		return false;
	char b;
	return recv(c->cio.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void conn_on_event(struct loop *l, struct io *io, uint32_t ev)
{
	struct conn *c = io->arg;
	switch (c->state) {
	case CONN_RELAY:
		c->last_active = loop_now(l); /* the idle timer looks at it lazily */
		if (c->fp)
			fp_conn_on_event(c, io == &c->cio, ev);
		else
			relay_verdict(c, relay_on_event(&c->relay, io == &c->cio, ev));
		break;
	case CONN_CONNECTING:
		if (io == &c->sio && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
			/* writable without error or hangup means connected: SO_ERROR only for the reason */
			if (!(ev & (EPOLLERR | EPOLLHUP))) {
				conn_connected(c, ev);
				break;
			}
			int err = 0;
			socklen_t len = sizeof(err);
			getsockopt(c->sio.fd, SOL_SOCKET, SO_ERROR, &err, &len);
			conn_retry(c, strerror(err ? err : ECONNREFUSED));
		} else if (io == &c->cio) {
			c->early_ev |= ev; /* the relay reads what these announced once it starts */
			if (ev & (EPOLLHUP | EPOLLERR))
				conn_close(c, "client gone while connecting");
			else if (client_left_silent(c, ev)) /* drop the half-open server socket */
				conn_close(c, "client closed before sending");
		}
		break;
	case CONN_QUEUED:
		c->early_ev |= ev;
		if (ev & (EPOLLHUP | EPOLLERR))
			conn_close(c, "client gone while queued");
		else if (client_left_silent(c, ev))
			conn_close(c, "client closed before sending");
		break;
	case CONN_CLOSED: break;
	}
}

/* ---------- accepting ---------- */

static void listener_pause(struct worker *w, struct listen_sock *ls)
{
	if (ls->paused || !ls->registered)
		return;
	loop_del(w->loop, &ls->io);
	ls->paused = true;
	if (!timer_armed(&w->resume))
		timer_arm_in(w->loop, &w->resume, PAUSE_MS);
}

static void resume_cb(struct loop *l, struct timer *t)
{
	struct worker *w = t->arg;
	if (atomic_load(&w->stop_accepting) || !w->lt)
		return;
	for (size_t i = 0; i < w->lt->n; i++) {
		struct listen_sock *ls = &w->lt->v[i]->socks[w->id];
		if (ls->paused && ls->registered && loop_add(l, &ls->io, EPOLLIN) == 0)
			ls->paused = false;
	}
}

static bool over_global_limit(struct worker *w)
{
	uint32_t max = atomic_load_explicit(&w->p->max_conns, memory_order_relaxed);
	return max && atomic_load_explicit(&w->p->total_conns, memory_order_relaxed) >= max;
}

static void accept_one(struct worker *w, struct listen_sock *ls, int fd, const struct sockaddr_storage *peer)
{
	struct backend *b = ls->l->b;
	struct conn *c = worker_backend(w, b) ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		close(fd);
		return;
	}
	c->w = w;
	c->b = b;
	c->l = listener_hold(ls->l);
	c->set = set_hold(backend_set(b));
	c->cio = (struct io){ .fd = fd, .cb = conn_on_event, .arg = c };
	c->sio = (struct io){ .fd = -1, .cb = conn_on_event, .arg = c };
	relay_init(&c->relay, &w->relay_pool, fd);
	timer_init(&c->timer, conn_on_timer, c);
	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)peer;
		c->client_hash = lb_hash_bytes(&a->sin_addr, sizeof(a->sin_addr));
	} else {
		const struct sockaddr_in6 *a = (const void *)peer;
		c->client_hash = lb_hash_bytes(&a->sin6_addr, sizeof(a->sin6_addr));
	}
	/* keepalive and TCP_NODELAY are inherited from the listening socket */
	atomic_fetch_add_explicit(&w->n_conns, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->p->total_conns, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ls->l->stats.accepted_total, 1, memory_order_relaxed);
	list_push(&w->conns, c);
	c->state = CONN_CONNECTING;
	/* connection sync: logged before the early read, whose close pairs with it */
	struct connlog *r = worker_clog(w);
	if (r)
		c->logged = conn_log_open(r, c, ls->l, peer);
	int early = relay_early_read(&c->relay);
	if (early != 0) {
		/* A client that closes before its first byte (a TCP probe, a scanner) gets no server
		 * connection: no backend socket, no "handshake error: EOF" in the apiserver's log. */
		if (early > 0)
			atomic_fetch_add_explicit(&ls->l->stats.empty_total, 1, memory_order_relaxed);
		conn_close(c, early > 0 ? "client closed before sending" : "reset");
		return;
	}
	if (loop_add(w->loop, &c->cio, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
		conn_close(c, "epoll");
		return;
	}
	conn_dispatch(c);
}

/* Accepts up to `batch` connections. Returns false when the listener should not be read on. */
static bool accept_batch(struct loop *l, struct listen_sock *ls, int batch)
{
	struct worker *w = ls->w;
	for (int i = 0; i < batch; i++) {
		if (over_global_limit(w)) {
			listener_pause(w, ls); /* clients wait in the kernel backlog */
			return false;
		}
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(ls->io.fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			accept_one(w, ls, fd, &peer);
			continue;
		}
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return false;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* out of descriptors: back off instead of spinning on a ready listener */
			uint64_t now = loop_now(l);
			if (now - w->last_emfile_log >= 1000) {
				log_error("accept paused", "listener=%s reason=\"%s\" pause_ms=%d",
					  ls->l->cfg->name, strerror(errno), PAUSE_MS);
				w->last_emfile_log = now;
			}
			listener_pause(w, ls);
			return false;
		}
		log_error("accept failed", "listener=%s reason=\"%s\"", ls->l->cfg->name,
			  strerror(errno));
		return false;
	}
	return true;
}

static void accept_soon_cb(struct loop *l, struct timer *t)
{
	struct listen_sock *ls = t->arg;
	if (ls->registered && !ls->paused && ls->io.fd >= 0)
		accept_batch(l, ls, ACCEPT_BATCH);
}

/* New connections wait until the events of established ones in this batch are handled (a
 * zero-delay timer runs right after the batch): data moves first, and a client that connects
 * has more time to send its first bytes, which then ride on the server handshake (measured:
 * +3-5 % connections/s, Connection: close). The listener is level-triggered, so whatever this
 * batch of accepts leaves is reported again. */
static void listener_on_event(struct loop *l, struct io *io, uint32_t ev)
{
	(void)ev;
	struct listen_sock *ls = io->arg;
	if (!timer_armed(&ls->accept_soon))
		timer_arm(l, &ls->accept_soon, 0);
}

/* ---------- listeners and reload ---------- */

void listen_sock_init(struct listen_sock *ls, struct worker *w, struct listener *l, int fd)
{
	bool udp = l->cfg->protocol == PROTO_UDP;
	*ls = (struct listen_sock){
		.io = { .fd = fd, .cb = udp ? udp_on_readable : listener_on_event, .arg = ls },
		.w = w,
		.l = l,
	};
	timer_init(&ls->accept_soon, accept_soon_cb, ls);
}

/* drain: take what already waits in the accept queue first (closing a listening socket resets
 * the connections queued on it; a removed listener's clients were accepted by the kernel). */
static void listen_sock_close(struct worker *w, struct listen_sock *ls, bool drain)
{
	if (ls->io.fd < 0)
		return;
	bool udp = ls->l->cfg->protocol == PROTO_UDP;
	if (drain && !udp && !atomic_load(&w->stop_accepting))
		accept_batch(w->loop, ls, 4096);
	if (udp)
		udp_listen_close(ls); /* datagrams have no queue to hand over */
	if (ls->registered && !ls->paused)
		loop_del(w->loop, &ls->io);
	timer_cancel(w->loop, &ls->accept_soon);
	close(ls->io.fd);
	ls->io.fd = -1;
	ls->registered = false;
}

static bool table_has(const struct listener_table *t, const struct listener *l)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (t->v[i] == l)
			return true;
	return false;
}

void worker_apply_listeners(struct worker *w)
{
	struct listener_table *t = atomic_load_explicit(&w->p->lt_pub, memory_order_acquire);
	if (!t || t == w->lt || w->accepting_closed)
		return;
	for (size_t i = 0; w->lt && i < w->lt->n; i++)
		if (!table_has(t, w->lt->v[i]))
			listen_sock_close(w, &w->lt->v[i]->socks[w->id], true);
	for (size_t i = 0; i < t->n; i++) {
		struct listen_sock *ls = &t->v[i]->socks[w->id];
		if (ls->registered || ls->io.fd < 0)
			continue;
		if (loop_add(w->loop, &ls->io, EPOLLIN) == 0)
			ls->registered = true;
		else
			log_error("listen failed", "listener=%s worker=%zu reason=\"%s\"",
				  t->v[i]->cfg->name, w->id, strerror(errno));
	}
	w->lt = t;
	atomic_store_explicit(&w->lt_ack, t->gen, memory_order_release);
}

/* ---------- thread control ---------- */

static void close_listeners(struct worker *w)
{
	for (size_t i = 0; w->lt && i < w->lt->n; i++)
		listen_sock_close(w, &w->lt->v[i]->socks[w->id], false);
	w->accepting_closed = true;
}

static void close_all_conns(struct worker *w)
{
	while (w->conns)
		conn_close(w->conns, "shutdown");
	for (size_t i = 0; i < w->n_wb; i++)
		while (w->wb[i].q.head)
			conn_close(w->wb[i].q.head, "shutdown");
}

static void worker_wake(struct loop *l, void *arg)
{
	struct worker *w = arg;
	if (atomic_load(&w->stop_accepting) && !w->accepting_closed)
		close_listeners(w);
	worker_apply_listeners(w);
	worker_resync(w);
	worker_apply_reset(w);
	if (atomic_load(&w->close_all))
		close_all_conns(w);
	if (atomic_load(&w->quit))
		loop_stop(l);
}

int worker_init(struct worker *w, struct proxy *p, size_t id)
{
	w->p = p;
	w->id = id;
	w->loop = loop_new();
	if (!w->loop || relay_pool_init(&w->relay_pool, PIPE_POOL_MAX) < 0)
		return -1;
	timer_init(&w->resume, resume_cb, w);
	timer_init(&w->queue_poll, queue_poll_cb, w);
	timer_init(&w->ka_sweep, ka_sweep_cb, w);
	loop_set_wake_cb(w->loop, worker_wake, w);
	loop_set_quiescent(w->loop, &w->qs);
	return 0;
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	worker_apply_listeners(w);
	timer_arm_in(w->loop, &w->ka_sweep, KA_SWEEP_MS);
	loop_run(w->loop);
	close_listeners(w);
	close_all_conns(w);
	return NULL; /* worker_destroy's loop_free frees them */
}

void worker_destroy(struct worker *w)
{
	relay_pool_free(&w->relay_pool);
	udp_worker_free(w);
	for (size_t i = 0; i < w->n_wb; i++)
		lb_state_free(&w->wb[i].lb);
	free(w->wb);
	loop_free(w->loop);
}
