/* A worker: accept, pick a server, connect with retries, queue when servers are full,
 * hand established pairs to relay.c. One thread, one epoll loop, no locks on the data path. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/worker.h"

#define ACCEPT_BATCH 64
#define PIPE_POOL_MAX 256
#define PAUSE_MS 100
#define QUEUE_POLL_MS 20

static void conn_on_event(struct loop *l, struct io *io, uint32_t ev);
static void conn_on_timer(struct loop *l, struct timer *t);
static void conn_dispatch(struct conn *c);

/* ---------- pipes ---------- */

bool worker_get_pipe(struct worker *w, struct half *h)
{
	if (w->n_pipes) {
		struct pipe_pair pp = w->pipes[--w->n_pipes];
		h->pipe_r = pp.r;
		h->pipe_w = pp.w;
		return true;
	}
	int fds[2];
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return false;
	h->pipe_r = fds[0];
	h->pipe_w = fds[1];
	return true;
}

void worker_put_pipe(struct worker *w, struct half *h)
{
	if (h->pipe_r < 0)
		return;
	if (w->n_pipes < w->cap_pipes) {
		w->pipes[w->n_pipes++] = (struct pipe_pair){ h->pipe_r, h->pipe_w };
	} else {
		close(h->pipe_r);
		close(h->pipe_w);
	}
	h->pipe_r = h->pipe_w = -1;
}

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

void set_keepalive(int fd)
{
	int one = 1, idle = 60, intvl = 10, cnt = 6;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	/* we forward what arrives as it arrives: Nagle would only add latency */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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

void conn_close(struct conn *c, const char *why)
{
	struct worker *w = c->w;
	if (c->state == CONN_CLOSED)
		return;
	if (why)
		log_debug("connection closed", "backend=%s server=%s reason=\"%s\"", c->b->cfg.name,
			  c->srv ? c->srv->cfg.addr.text : "-", why);
	if (c->state == CONN_QUEUED) {
		queue_unlink(&w->queues[c->b->idx], c);
		atomic_fetch_sub_explicit(&c->b->queue_len, 1, memory_order_relaxed);
	} else {
		list_unlink(&w->conns, c);
	}
	relay_flush_counters(c);
	relay_release_pipes(c);
	timer_cancel(w->loop, &c->timer);
	close(c->cio.fd); /* close() also drops the fd from epoll */
	if (c->sio.fd >= 0)
		close(c->sio.fd);
	bool freed_slot = c->counted_active;
	server_release(c);
	c->state = CONN_CLOSED;
	atomic_fetch_sub_explicit(&w->n_conns, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&w->p->total_conns, 1, memory_order_relaxed);
	/* freed after this epoll batch: a later event in the batch may still name it */
	c->next = w->dead;
	w->dead = c;
	if (!timer_armed(&w->reaper))
		timer_arm(w->loop, &w->reaper, 0);
	if (freed_slot && w->queues[c->b->idx].len)
		dispatch_queue(w, c->b);
}

static void reaper_cb(struct loop *l, struct timer *t)
{
	(void)l;
	struct worker *w = t->arg;
	while (w->dead) {
		struct conn *c = w->dead;
		w->dead = c->next;
		free(c);
	}
}

/* Builds the balancer's view. fail_open: ignore health (every server down: try them all). */
static size_t build_view(struct conn *c, struct lb_server *v, bool fail_open, uint64_t now)
{
	struct backend *b = c->b;
	size_t n_up = 0;
	for (size_t i = 0; i < b->n_servers; i++) {
		struct server *s = &b->servers[i];
		bool tried = c->tried & (1ull << (i < 63 ? i : 63));
		bool ok = fail_open ? !atomic_load_explicit(&s->drained, memory_order_relaxed)
				    : server_eligible(s, now);
		uint32_t active = atomic_load_explicit(&s->active, memory_order_relaxed);
		v[i] = (struct lb_server){
			.weight = s->cfg.weight ? s->cfg.weight : 1,
			.active = active,
			.key = s->key,
			.up = ok && !tried,
			.full = s->cfg.max_conns && active >= s->cfg.max_conns,
			.backup = s->cfg.backup,
		};
		n_up += ok;
	}
	return n_up;
}

static int pick_server(struct conn *c)
{
	struct backend *b = c->b;
	struct lb_server stackv[64];
	struct lb_server *v = b->n_servers <= 64 ? stackv : calloc(b->n_servers, sizeof(*v));
	if (!v)
		return LB_NONE;
	uint64_t now = loop_now(c->w->loop);
	size_t eligible = build_view(c, v, false, now);
	if (eligible == 0) /* all down: fail open, like k0s, rather than refuse everything */
		build_view(c, v, true, now);
	int idx = lb_pick(&c->w->lb[b->idx], v, b->n_servers, c->client_hash);
	if (v != stackv)
		free(v);
	return idx;
}

static void conn_fail(struct conn *c, const char *why)
{
	atomic_fetch_add_explicit(&c->b->no_server_total, 1, memory_order_relaxed);
	log_warn("connection failed", "backend=%s reason=\"%s\" tries=%u", c->b->cfg.name, why,
		 c->tries);
	conn_close(c, why);
}

/* Starts a non-blocking connect to server index idx. Returns 0, or -1 if it failed at once. */
static int conn_connect(struct conn *c, int idx)
{
	struct worker *w = c->w;
	struct server *s = &c->b->servers[idx];
	c->srv = s;
	c->tries++;
	c->tried |= 1ull << (idx < 63 ? idx : 63);
	atomic_fetch_add_explicit(&s->active, 1, memory_order_relaxed);
	c->counted_active = true;
	int fd = socket(s->cfg.addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	set_keepalive(fd);
	c->sio.fd = fd;
	if (connect(fd, (struct sockaddr *)&s->cfg.addr.ss, s->cfg.addr.len) < 0 &&
	    errno != EINPROGRESS)
		return -1;
	c->state = CONN_CONNECTING;
	if (loop_add(w->loop, &c->sio, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0)
		return -1;
	timer_arm_in(w->loop, &c->timer, c->b->cfg.connect_timeout_ms);
	return 0;
}

/* A connect attempt failed: count it against the server and try the next one. */
static void conn_retry(struct conn *c, const char *why)
{
	struct worker *w = c->w;
	struct server *s = c->srv;
	log_info("connect failed", "backend=%s server=%s reason=\"%s\" try=%u", c->b->cfg.name,
		 s->cfg.addr.text, why, c->tries);
	server_connect_failed(s, loop_now(w->loop), why);
	server_release(c);
	if (c->sio.fd >= 0) {
		close(c->sio.fd);
		c->sio.fd = -1;
	}
	c->srv = NULL;
	timer_cancel(w->loop, &c->timer);
	if (c->tries > c->b->cfg.retries) {
		conn_fail(c, "retries exhausted");
		return;
	}
	conn_dispatch(c);
}

static void conn_connected(struct conn *c)
{
	timer_cancel(c->w->loop, &c->timer);
	server_connect_ok(c->srv);
	atomic_fetch_add_explicit(&c->srv->conns_total, 1, memory_order_relaxed);
	c->last_active = loop_now(c->w->loop);
	timer_arm(c->w->loop, &c->timer, c->last_active + c->b->cfg.idle_timeout_ms);
	relay_start(c);
}

static void conn_enqueue(struct conn *c)
{
	struct worker *w = c->w;
	list_unlink(&w->conns, c);
	c->state = CONN_QUEUED;
	queue_push(&w->queues[c->b->idx], c);
	atomic_fetch_add_explicit(&c->b->queue_len, 1, memory_order_relaxed);
	timer_arm_in(w->loop, &c->timer, c->b->cfg.queue_timeout_ms);
	if (!timer_armed(&w->queue_poll))
		timer_arm_in(w->loop, &w->queue_poll, QUEUE_POLL_MS);
}

/* Picks a server and connects; loops over servers that fail at once. */
static void conn_dispatch(struct conn *c)
{
	for (;;) {
		int idx = pick_server(c);
		if (idx == LB_FULL) {
			if (c->state != CONN_QUEUED)
				conn_enqueue(c);
			return;
		}
		if (idx < 0) {
			conn_fail(c, c->tries ? "no server left to try" : "no server available");
			return;
		}
		if (c->state == CONN_QUEUED) {
			struct worker *w = c->w;
			queue_unlink(&w->queues[c->b->idx], c);
			atomic_fetch_sub_explicit(&c->b->queue_len, 1, memory_order_relaxed);
			timer_cancel(w->loop, &c->timer);
			list_push(&w->conns, c);
			c->state = CONN_CONNECTING;
		}
		if (conn_connect(c, idx) == 0)
			return;
		int err = errno;
		log_info("connect failed", "backend=%s server=%s reason=\"%s\" try=%u",
			 c->b->cfg.name, c->srv->cfg.addr.text, strerror(err), c->tries);
		server_connect_failed(c->srv, loop_now(c->w->loop), strerror(err));
		server_release(c);
		if (c->sio.fd >= 0) {
			close(c->sio.fd);
			c->sio.fd = -1;
		}
		c->srv = NULL;
		if (c->tries > c->b->cfg.retries) {
			conn_fail(c, "retries exhausted");
			return;
		}
	}
}

static void dispatch_queue(struct worker *w, struct backend *b)
{
	struct wqueue *q = &w->queues[b->idx];
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
	for (size_t i = 0; i < w->p->pool->n_backends; i++) {
		if (w->queues[i].len)
			dispatch_queue(w, &w->p->pool->backends[i]);
		waiting |= w->queues[i].len != 0;
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
		log_warn("queue timeout", "backend=%s queue_timeout_ms=%llu", c->b->cfg.name,
			 (unsigned long long)c->b->cfg.queue_timeout_ms);
		conn_close(c, "queue timeout");
		break;
	case CONN_CONNECTING:
		conn_retry(c, "connect timeout");
		break;
	case CONN_RELAY: {
		/* lazy idle timer: data events only stamp last_active; re-arm here if needed */
		uint64_t deadline = c->last_active + c->b->cfg.idle_timeout_ms;
		if (loop_now(l) >= deadline)
			conn_close(c, "idle timeout");
		else
			timer_arm(l, t, deadline);
		break;
	}
	case CONN_CLOSED:
		break;
	}
}

static void conn_on_event(struct loop *l, struct io *io, uint32_t ev)
{
	struct conn *c = io->arg;
	switch (c->state) {
	case CONN_RELAY:
		relay_on_event(l, io, ev);
		break;
	case CONN_CONNECTING:
		if (io == &c->sio && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
			/* writable without error or hangup means connected: SO_ERROR only for the reason */
			if (!(ev & (EPOLLERR | EPOLLHUP))) {
				conn_connected(c);
				break;
			}
			int err = 0;
			socklen_t len = sizeof(err);
			getsockopt(c->sio.fd, SOL_SOCKET, SO_ERROR, &err, &len);
			conn_retry(c, strerror(err ? err : ECONNREFUSED));
		} else if (io == &c->cio && (ev & (EPOLLHUP | EPOLLERR))) {
			conn_close(c, "client gone while connecting");
		}
		break;
	case CONN_QUEUED:
		if (ev & (EPOLLHUP | EPOLLERR))
			conn_close(c, "client gone while queued");
		break;
	case CONN_CLOSED:
		break;
	}
}

/* ---------- accepting ---------- */

static void listener_pause(struct worker *w, struct listen_sock *ls)
{
	if (ls->paused || ls->io.fd < 0)
		return;
	loop_del(w->loop, &ls->io);
	ls->paused = true;
	if (!timer_armed(&w->resume))
		timer_arm_in(w->loop, &w->resume, PAUSE_MS);
}

static void resume_cb(struct loop *l, struct timer *t)
{
	struct worker *w = t->arg;
	if (atomic_load(&w->stop_accepting))
		return;
	for (size_t i = 0; i < w->n_ls; i++) {
		struct listen_sock *ls = &w->ls[i];
		if (ls->paused && ls->io.fd >= 0 && loop_add(l, &ls->io, EPOLLIN) == 0)
			ls->paused = false;
	}
}

static bool over_global_limit(struct worker *w)
{
	uint32_t max = w->p->cfg->max_conns;
	return max && atomic_load_explicit(&w->p->total_conns, memory_order_relaxed) >= max;
}

static void accept_one(struct worker *w, struct listen_sock *ls, int fd,
		       const struct sockaddr_storage *peer)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->w = w;
	c->b = ls->b;
	c->listener = ls->idx;
	c->cio = (struct io){ .fd = fd, .cb = conn_on_event, .arg = c };
	c->sio = (struct io){ .fd = -1, .cb = conn_on_event, .arg = c };
	c->c2s.pipe_r = c->c2s.pipe_w = c->s2c.pipe_r = c->s2c.pipe_w = -1;
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
	atomic_fetch_add_explicit(&w->p->lstats[ls->idx].accepted_total, 1, memory_order_relaxed);
	list_push(&w->conns, c);
	c->state = CONN_CONNECTING;
	if (loop_add(w->loop, &c->cio, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) < 0) {
		conn_close(c, "epoll");
		return;
	}
	conn_dispatch(c);
}

static void listener_on_event(struct loop *l, struct io *io, uint32_t ev)
{
	(void)ev;
	struct listen_sock *ls = io->arg;
	struct worker *w = ls->w;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		if (over_global_limit(w)) {
			listener_pause(w, ls); /* clients wait in the kernel backlog */
			return;
		}
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(io->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			accept_one(w, ls, fd, &peer);
			continue;
		}
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* out of descriptors: back off instead of spinning on a ready listener */
			uint64_t now = loop_now(l);
			if (now - w->last_emfile_log >= 1000) {
				log_error("accept paused", "listener=%s reason=\"%s\" pause_ms=%d",
					  w->p->cfg->listeners[ls->idx].name, strerror(errno), PAUSE_MS);
				w->last_emfile_log = now;
			}
			listener_pause(w, ls);
			return;
		}
		log_error("accept failed", "listener=%s reason=\"%s\"",
			  w->p->cfg->listeners[ls->idx].name, strerror(errno));
		return;
	}
}

/* ---------- thread control ---------- */

static void close_listeners(struct worker *w)
{
	for (size_t i = 0; i < w->n_ls; i++) {
		struct listen_sock *ls = &w->ls[i];
		if (ls->io.fd < 0)
			continue;
		if (!ls->paused)
			loop_del(w->loop, &ls->io);
		close(ls->io.fd);
		ls->io.fd = -1;
	}
	w->accepting_closed = true;
}

static void close_all_conns(struct worker *w)
{
	while (w->conns)
		conn_close(w->conns, "shutdown");
	for (size_t i = 0; i < w->p->pool->n_backends; i++)
		while (w->queues[i].head)
			conn_close(w->queues[i].head, "shutdown");
}

static void worker_wake(struct loop *l, void *arg)
{
	struct worker *w = arg;
	if (atomic_load(&w->stop_accepting) && !w->accepting_closed)
		close_listeners(w);
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
	size_t nb = p->pool->n_backends ? p->pool->n_backends : 1;
	w->lb = calloc(nb, sizeof(*w->lb));
	w->queues = calloc(nb, sizeof(*w->queues));
	w->cap_pipes = PIPE_POOL_MAX;
	w->pipes = calloc(w->cap_pipes, sizeof(*w->pipes));
	w->scratch = malloc(RELAY_SCRATCH);
	if (!w->loop || !w->lb || !w->queues || !w->pipes || !w->scratch)
		return -1;
	for (size_t i = 0; i < p->pool->n_backends; i++) {
		struct backend *b = &p->pool->backends[i];
		if (lb_state_init(&w->lb[i], b->cfg.balance, b->n_servers,
				  0x9e3779b97f4a7c15ull * (id + 1) + i) < 0)
			return -1;
	}
	timer_init(&w->reaper, reaper_cb, w);
	timer_init(&w->resume, resume_cb, w);
	timer_init(&w->queue_poll, queue_poll_cb, w);
	loop_set_wake_cb(w->loop, worker_wake, w);
	return 0;
}

int worker_add_listener(struct worker *w, int fd, size_t idx, struct backend *b)
{
	struct listen_sock *ls = &w->ls[w->n_ls++];
	*ls = (struct listen_sock){ .io = { .fd = fd, .cb = listener_on_event, .arg = ls },
				    .idx = idx, .b = b, .w = w };
	return loop_add(w->loop, &ls->io, EPOLLIN);
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	loop_run(w->loop);
	close_listeners(w);
	close_all_conns(w);
	reaper_cb(w->loop, &w->reaper);
	return NULL;
}

void worker_destroy(struct worker *w)
{
	for (size_t i = 0; i < w->n_pipes; i++) {
		close(w->pipes[i].r);
		close(w->pipes[i].w);
	}
	free(w->pipes);
	free(w->scratch);
	if (w->lb)
		for (size_t i = 0; i < w->p->pool->n_backends; i++)
			lb_state_free(&w->lb[i]);
	free(w->lb);
	free(w->queues);
	free(w->ls);
	loop_free(w->loop);
}
