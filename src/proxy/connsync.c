/* Connection sync, the workers' side: the proxy_connlog_* and proxy_reset_* API (main thread)
 * and what a worker does for them (worker thread): the OPEN of an accepted connection, a
 * resync of its log, the reset of connections to moved VIPs. The hot hooks (one relaxed load
 * per accept, one flag test per close) are in worker.c; everything here is off the data path.
 *
 * Ownership: the rings (proxy.logs, one per worker) are allocated by the first enable and
 * freed by proxy_free only, so a worker may use a ring it loaded even after a disable. A reset
 * list is handed over through worker.reset_req: whoever takes the pointer owns and frees it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "proxy/worker.h"

#define DRAIN_BATCH 256

void sockaddr_tuple(const struct sockaddr_storage *ss, struct ip_addr *a, uint16_t *port)
{
	*port = cfg_port(ss);
	ip_addr_from_sockaddr((const struct sockaddr *)ss, a);
	ip_addr_unmap(a); /* a [::] listener's IPv4 clients, as VRRP's IPv4 VIPs are written */
}

static bool local_of(int fd, struct ip_addr *a, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	sockaddr_tuple(&ss, a, port);
	return true;
}

/* ---------- worker thread ---------- */

bool conn_log_open(struct connlog *r, const struct conn *c, const struct listener *l,
		   const struct sockaddr_storage *peer)
{
	struct connlog_ev e = { .op = CONNLOG_OPEN, .id = (uint64_t)(uintptr_t)c };
	if (!l->local_any) { /* the listener's own address: no syscall */
		e.local = l->local;
		e.lport = l->lport;
	} else if (!local_of(c->cio.fd, &e.local, &e.lport)) {
		return false; /* a resync reports it, if it lives that long */
	}
	sockaddr_tuple(peer, &e.peer, &e.pport);
	return connlog_push(r, &e);
}

/* The rare path: the tuple from the socket. A connection whose peer is gone already (reset)
 * is left out, and its close is not logged. */
static void resync_one(struct connlog *r, struct conn *c)
{
	struct connlog_ev e = { .op = CONNLOG_OPEN, .id = (uint64_t)(uintptr_t)c };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	c->logged = local_of(c->cio.fd, &e.local, &e.lport) &&
		    getpeername(c->cio.fd, (struct sockaddr *)&ss, &len) == 0;
	if (!c->logged)
		return;
	sockaddr_tuple(&ss, &e.peer, &e.pport);
	c->logged = connlog_push(r, &e); /* room was checked: cannot fail */
}

void worker_resync(struct worker *w)
{
	if (!atomic_load_explicit(&w->resync, memory_order_relaxed))
		return;
	struct connlog *r = worker_clog(w);
	if (!r) { /* sync off: nothing to rebuild */
		atomic_store_explicit(&w->resync, false, memory_order_relaxed);
		return;
	}
	/* every connection, queued ones too: n_conns counts exactly those in w->conns and the
	 * queues. All or nothing: a resync cut by a full ring would only need another. */
	uint64_t n = atomic_load_explicit(&w->n_conns, memory_order_relaxed);
	if (connlog_room(r) < n + 2)
		return; /* the flag stays: the sweep timer tries again */
	/* cleared first: a request made while we push gets a resync of its own */
	atomic_store_explicit(&w->resync, false, memory_order_relaxed);
	struct connlog_ev mark = { .op = CONNLOG_RESYNC_BEGIN };
	connlog_push(r, &mark);
	for (size_t i = 0; i < w->n_wb; i++)
		for (struct conn *c = w->wb[i].q.head; c; c = c->next)
			resync_one(r, c);
	for (struct conn *c = w->conns; c; c = c->next)
		resync_one(r, c);
	mark.op = CONNLOG_RESYNC_END;
	connlog_push(r, &mark);
	log_debug("connection log resynced", "worker=%zu connections=%llu", w->id,
		  (unsigned long long)n);
}

static bool reset_if_local(struct conn *c, const struct reset_list *rl)
{
	struct ip_addr a;
	uint16_t port;
	if (!local_of(c->cio.fd, &a, &port))
		return false;
	for (size_t i = 0; i < rl->n; i++) {
		if (!ip_addr_equal(&a, &rl->v[i]))
			continue;
		/* linger 0: close() sends a RST, so the client knows at once this path is gone */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(c->cio.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		conn_close(c, "vip moved");
		return true;
	}
	return false;
}

void worker_apply_reset(struct worker *w)
{
	if (!atomic_load_explicit(&w->reset_req, memory_order_relaxed))
		return;
	struct reset_list *rl = atomic_exchange_explicit(&w->reset_req, NULL, memory_order_acquire);
	if (!rl)
		return;
	uint64_t n = 0;
	/* Queued ones first: closing one frees no server slot, so nothing else moves. Then the
	 * others: closing one may dispatch queued connections (none matches any more) onto the
	 * head of w->conns or close them, never touching the `next` held here. */
	for (size_t i = 0; i < w->n_wb; i++)
		for (struct conn *c = w->wb[i].q.head, *next; c; c = next) {
			next = c->next;
			n += reset_if_local(c, rl);
		}
	for (struct conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		n += reset_if_local(c, rl);
	}
	if (n) {
		atomic_fetch_add_explicit(&w->p->reset_total, n, memory_order_relaxed);
		log_info("connections reset", "worker=%zu reason=\"vip moved\" count=%llu", w->id,
			 (unsigned long long)n);
	}
	free(rl);
}

/* ---------- main thread ---------- */

int proxy_connlog_enable(struct proxy *p)
{
	if (!p->logs) {
		struct connlog *logs = calloc(p->n_workers, sizeof(*logs));
		if (!logs)
			return -1;
		for (size_t i = 0; i < p->n_workers; i++) {
			if (connlog_init(&logs[i], CONNLOG_CAP) < 0) {
				while (i--)
					connlog_free(&logs[i]);
				free(logs);
				return -1;
			}
		}
		p->logs = logs;
	}
	/* release: a worker that sees the pointer sees an initialised ring */
	for (size_t i = 0; i < p->n_workers; i++)
		atomic_store_explicit(&p->workers[i].clog, &p->logs[i], memory_order_release);
	return 0;
}

void proxy_connlog_disable(struct proxy *p)
{
	for (size_t i = 0; i < p->n_workers; i++)
		atomic_store_explicit(&p->workers[i].clog, NULL, memory_order_relaxed);
}

size_t proxy_connlog_drain(struct proxy *p, proxy_connlog_fn fn, void *arg)
{
	if (!p->logs)
		return 0;
	struct connlog_ev buf[DRAIN_BATCH];
	size_t total = 0;
	for (size_t i = 0; i < p->n_workers; i++) {
		struct connlog *r = &p->logs[i];
		for (size_t got = 0; got <= r->mask;) {
			size_t k = connlog_drain(r, buf, DRAIN_BATCH);
			for (size_t j = 0; j < k; j++)
				fn(arg, (uint32_t)i, &buf[j]);
			got += k;
			total += k;
			if (k < DRAIN_BATCH)
				break;
		}
	}
	return total;
}

uint64_t proxy_connlog_dropped_of(const struct proxy *p, uint32_t worker)
{
	if (!p->logs || worker >= p->n_workers)
		return 0;
	return atomic_load_explicit(&p->logs[worker].dropped, memory_order_relaxed);
}

uint64_t proxy_connlog_dropped(const struct proxy *p)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < p->n_workers; i++)
		sum += proxy_connlog_dropped_of(p, (uint32_t)i);
	return sum;
}

void proxy_connlog_resync(struct proxy *p, uint32_t worker)
{
	if (worker >= p->n_workers)
		return;
	atomic_store_explicit(&p->workers[worker].resync, true, memory_order_relaxed);
	loop_wake(p->workers[worker].loop);
}

void proxy_reset_local(struct proxy *p, const struct ip_addr *addrs, size_t n)
{
	if (!n)
		return;
	for (size_t i = 0; i < p->n_workers; i++) {
		struct worker *w = &p->workers[i];
		/* a list the worker has not taken yet: the new one adds to it */
		struct reset_list *old =
			atomic_exchange_explicit(&w->reset_req, NULL, memory_order_acquire);
		size_t m = n + (old ? old->n : 0);
		struct reset_list *rl = malloc(sizeof(*rl) + m * sizeof(rl->v[0]));
		if (!rl) {
			log_error("reset of moved VIPs failed", "worker=%zu reason=\"%s\"", i,
				  strerror(ENOMEM));
			atomic_store_explicit(&w->reset_req, old, memory_order_release);
			continue;
		}
		rl->n = m;
		if (old)
			memcpy(rl->v, old->v, old->n * sizeof(rl->v[0]));
		memcpy(rl->v + (m - n), addrs, n * sizeof(rl->v[0]));
		free(old);
		atomic_store_explicit(&w->reset_req, rl, memory_order_release);
		loop_wake(w->loop);
	}
}

uint64_t proxy_reset_total(const struct proxy *p)
{
	return atomic_load_explicit(&p->reset_total, memory_order_relaxed);
}

void proxy_sync_free(struct proxy *p)
{
	for (size_t i = 0; i < p->n_workers; i++)
		free(atomic_exchange(&p->workers[i].reset_req, NULL));
	for (size_t i = 0; p->logs && i < p->n_workers; i++)
		connlog_free(&p->logs[i]);
	free(p->logs);
	p->logs = NULL;
}
