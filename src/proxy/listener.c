/* Listening sockets and the worker threads' lifecycle (the proxy object). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sock.h"
#include "proxy/fastpath.h"
#include "proxy/udp.h"
#include "proxy/worker.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

/* TCP_DEFER_ACCEPT 1: the listener wakes when the client's first bytes (or FIN) arrive; a
 * client that stays silent is accepted after the first SYN-ACK retransmit, ~1 s (HAProxy's
 * defer-accept). A probe that connects and closes then never costs a server connection. */
static void set_defer_accept(int fd, bool on)
{
	int secs = on ? 1 : 0;
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs));
}

/* SO_REUSEPORT so each worker owns a socket; FREEBIND so a VIP can be bound before it exists. */
static int listen_opts(int fd, void *arg)
{
	const struct cfg_listener *lc = arg;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		return -1;
	if (lc->bind.ss.ss_family == AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	} else {
		const struct sockaddr_in6 *s6 = (const void *)&lc->bind.ss;
		/* "[::]" means every address, v4 included; a specific v6 address means just that */
		int v6only = !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	}
	set_keepalive(fd); /* accepted sockets inherit it: no per-connection setsockopt */
	set_defer_accept(fd, lc->defer_accept);
	return 0;
}

static int listen_socket(const struct cfg_listener *lc)
{
	return sock_listen(
		(const struct sockaddr *)&lc->bind.ss, lc->bind.len, 4096, listen_opts, (void *)lc);
}

/* ---------- listeners and tables (main thread) ---------- */

static struct listener *listener_new(struct proxy *p, const struct cfg_listener *cfg, struct backend *b)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->cfg = cfg;
	l->b = b;
	sockaddr_tuple(&cfg->bind.ss, &l->local, &l->lport);
	l->local_any = ip_addr_is_any(&l->local);
	l->socks = calloc(p->n_workers, sizeof(*l->socks));
	if (!l->socks) {
		free(l);
		return NULL;
	}
	for (size_t i = 0; i < p->n_workers; i++)
		listen_sock_init(&l->socks[i], &p->workers[i], l, -1);
	return l;
}

/* Only for listeners no worker has registered (never published, or workers joined). */
static void listener_free(struct listener *l, size_t n_workers)
{
	for (size_t i = 0; i < n_workers; i++)
		if (l->socks[i].io.fd >= 0)
			close(l->socks[i].io.fd);
	free(l->socks);
	free(l);
}

/* A published listener: also lets go of its config and backend. */
static void listener_release(struct proxy *p, struct listener *l)
{
	const struct config *owner = l->owner;
	pool_backend_listener(p->pool, l->b, false);
	listener_free(l, p->n_workers);
	config_release(owner);
}

size_t proxy_retired_count(const struct proxy *p)
{
	size_t n = 0;
	for (const struct listener *l = p->retired_listeners; l; l = l->retired_next)
		n++;
	for (const struct listener_table *t = p->retired_tables; t; t = t->retired_next)
		n++;
	return n;
}

uint64_t proxy_freed_total(const struct proxy *p) { return p->freed_total; }

/* Every worker has applied table generation gen: none reads an older table or socket. */
static bool all_applied(const struct proxy *p, uint64_t gen)
{
	for (size_t i = 0; i < p->n_workers; i++)
		if (atomic_load_explicit(&p->workers[i].lt_ack, memory_order_acquire) < gen)
			return false;
	return true;
}

size_t proxy_reclaim(struct proxy *p)
{
	uint64_t done = grace_poll(&p->grace);
	size_t pending = 0;
	for (struct listener **pp = &p->retired_listeners; *pp;) {
		struct listener *l = *pp;
		if (l->retired_epoch <= done && all_applied(p, l->retired_gen) &&
		    atomic_load_explicit(&l->refs, memory_order_acquire) == 0) {
			*pp = l->retired_next;
			listener_release(p, l);
			p->freed_total++;
		} else {
			pp = &l->retired_next;
			pending++;
		}
	}
	for (struct listener_table **pp = &p->retired_tables; *pp;) {
		struct listener_table *t = *pp;
		if (all_applied(p, t->retired_gen)) {
			*pp = t->retired_next;
			free(t);
			p->freed_total++;
		} else {
			pp = &t->retired_next;
			pending++;
		}
	}
	return pending;
}

/* One socket per worker (SO_REUSEPORT group). On failure err says why; sockets opened so far
 * stay in l->socks for listener_free. */
static int listener_bind(struct proxy *p, struct listener *l, char *err, size_t len)
{
	for (size_t i = 0; i < p->n_workers; i++) {
		int fd = l->cfg->protocol == PROTO_UDP ? udp_listen_socket(l->cfg) : listen_socket(l->cfg);
		if (fd < 0) {
			snprintf(err, len, "listener %s: bind %s: %s", l->cfg->name,
				 l->cfg->bind.text, strerror(errno));
			return -1;
		}
		l->socks[i].io.fd = fd;
	}
	return 0;
}

static bool table_has_listener(const struct listener_table *t, const struct listener *l)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i] == l)
			return true;
	return false;
}

static struct listener_table *table_new(size_t n, uint64_t gen)
{
	struct listener_table *t = calloc(1, sizeof(*t) + (n ? n : 1) * sizeof(t->v[0]));
	if (t) {
		t->n = n;
		t->gen = gen;
	}
	return t;
}

struct proxy_update {
	struct listener_table *t;
	bool *added; /* t->v[i] is new: free it on abort */
};

void proxy_update_abort(struct proxy *p, struct proxy_update *u)
{
	if (!u)
		return;
	for (size_t i = 0; u->t && i < u->t->n; i++)
		if (u->added[i] && u->t->v[i])
			listener_free(u->t->v[i], p->n_workers);
	free(u->t);
	free(u->added);
	free(u);
}

struct proxy_update *proxy_update_prepare(
	struct proxy *p, const struct config *c, struct backend *const *backends,
	const int *listener_old, char *err, size_t len)
{
	struct proxy_update *u = calloc(1, sizeof(*u));
	uint64_t gen = p->lt ? p->lt->gen + 1 : 1;
	if (!u || !(u->t = table_new(c->n_listeners, gen)) ||
	    !(u->added = calloc(c->n_listeners ? c->n_listeners : 1, sizeof(*u->added)))) {
		snprintf(err, len, "out of memory");
		proxy_update_abort(p, u);
		return NULL;
	}
	for (size_t j = 0; j < c->n_listeners; j++) {
		int old = listener_old ? listener_old[j] : -1;
		if (old >= 0 && p->lt && (size_t)old < p->lt->n) {
			u->t->v[j] = p->lt->v[old]; /* same name, bind, backend: same sockets */
			continue;
		}
		const struct cfg_listener *lc = &c->listeners[j];
		u->added[j] = true;
		u->t->v[j] = listener_new(p, lc, backends[lc->backend_idx]);
		if (!u->t->v[j]) {
			snprintf(err, len, "out of memory");
			proxy_update_abort(p, u);
			return NULL;
		}
		if (listener_bind(p, u->t->v[j], err, len) < 0) {
			proxy_update_abort(p, u);
			return NULL;
		}
	}
	return u;
}

static void log_listener(const struct proxy *p, const struct listener *l, const char *msg)
{
	const struct cfg_listener *c = l->cfg;
	if (c->protocol == PROTO_UDP)
		log_info(msg,
			 "listener=%s protocol=udp bind=%s backend=%s workers=%zu "
			 "udp_idle_timeout_ms=%llu proxy_responses=%u max_sessions=%u",
			 c->name, c->bind.text, c->backend, p->n_workers,
			 (unsigned long long)c->udp_idle_timeout_ms, c->proxy_responses,
			 c->max_sessions);
	else
		log_info(msg, "listener=%s bind=%s backend=%s workers=%zu defer_accept=%d", c->name,
			 c->bind.text, c->backend, p->n_workers, c->defer_accept);
}

static void wake_all(struct proxy *p)
{
	for (size_t i = 0; i < p->n_workers; i++)
		loop_wake(p->workers[i].loop);
}

/* Bounded: workers apply a table within one loop iteration; a stuck one must not hang us. */
#define APPLY_WAIT_MS 1000
static bool wait_applied(struct proxy *p, uint64_t gen)
{
	uint64_t deadline = mono_ms() + APPLY_WAIT_MS;
	for (;;) {
		size_t done = 0;
		for (size_t i = 0; i < p->n_workers; i++)
			done += atomic_load_explicit(&p->workers[i].lt_ack, memory_order_acquire) >= gen ||
				atomic_load(&p->workers[i].stop_accepting); /* shutting down: never applies */
		if (done == p->n_workers)
			return true;
		if (mono_ms() >= deadline)
			return false;
		struct timespec ts = { 0, 200 * 1000 };
		nanosleep(&ts, NULL);
	}
}

void proxy_update_commit(struct proxy *p, struct proxy_update *u, const struct config *c, bool threads_running)
{
	struct listener_table *old = p->lt;
	for (size_t i = 0; old && i < old->n; i++)
		if (!table_has_listener(u->t, old->v[i])) {
			log_listener(p, old->v[i], "listener removed");
			old->v[i]->retired_gen = u->t->gen;
			old->v[i]->retired_epoch = GRACE_UNSTAMPED;
			old->v[i]->retired_next = p->retired_listeners;
			p->retired_listeners = old->v[i];
		}
	for (size_t i = 0; i < u->t->n; i++) {
		if (u->added[i]) {
			u->t->v[i]->owner = config_hold(c);
			pool_backend_listener(p->pool, u->t->v[i]->b, true);
			log_listener(p, u->t->v[i], old ? "listener added" : "listening");
			continue;
		}
		/* a kept listener's options apply to its sockets in place: no rebind, no lost queue */
		for (size_t k = 0; k < p->n_workers && c->listeners[i].protocol == PROTO_TCP; k++)
			if (u->t->v[i]->socks[k].io.fd >= 0)
				set_defer_accept(u->t->v[i]->socks[k].io.fd, c->listeners[i].defer_accept);
	}
	p->cfg = c;
	atomic_store(&p->max_conns, c->max_conns);
	p->lt = u->t;
	atomic_store_explicit(&p->lt_pub, u->t, memory_order_release);
	uint64_t epoch = grace_retire(&p->grace); /* unpublished: their grace period starts */
	for (struct listener *l = p->retired_listeners; l && l->retired_epoch == GRACE_UNSTAMPED;
	     l = l->retired_next)
		l->retired_epoch = epoch;
	if (old) {
		old->retired_gen = u->t->gen;
		old->retired_next = p->retired_tables;
		p->retired_tables = old;
	}
	if (threads_running) {
		wake_all(p);
		if (!wait_applied(p, u->t->gen))
			log_warn("workers slow to apply listeners", "wait_ms=%d", APPLY_WAIT_MS);
	}
	free(u->added);
	free(u);
}

/* ---------- the proxy object ---------- */

static void proxy_destroy(struct proxy *p, size_t started)
{
	for (size_t i = 0; i < p->n_workers; i++)
		atomic_store(&p->workers[i].quit, true);
	for (size_t i = 0; i < p->n_workers; i++) {
		if (i < started) {
			loop_wake(p->workers[i].loop);
			pthread_join(p->workers[i].thread, NULL);
		}
	}
	/* workers are gone; their loops' deferred frees drop the listeners connections held */
	for (size_t i = 0; i < p->n_workers; i++)
		worker_destroy(&p->workers[i]);
	/* close what they did not (never applied tables) and free */
	for (size_t i = 0; p->lt && i < p->lt->n; i++)
		listener_release(p, p->lt->v[i]);
	free(p->lt);
	while (p->retired_listeners) {
		struct listener *l = p->retired_listeners;
		p->retired_listeners = l->retired_next;
		listener_release(p, l);
	}
	while (p->retired_tables) {
		struct listener_table *t = p->retired_tables;
		p->retired_tables = t->retired_next;
		free(t);
	}
	proxy_sync_free(p);
	fastpath_close(p->fp); /* the maps and the program go with their fds: nothing pinned */
	pool_set_grace(p->pool, NULL);
	grace_free(&p->grace);
	free(p->qs);
	free(p->workers);
	free(p);
}

/* At start only: loading needs CAP_BPF and CAP_NET_ADMIN, which privdrop gives up later (the
 * workers' map updates need none). auto falls back to the relay with one line saying why. */
static int fast_path_open(struct proxy *p, enum cfg_fast_path mode)
{
	p->fp_mode = mode;
	if (mode == CFG_FAST_PATH_OFF)
		return 0;
	const char *why = "unknown";
	int err = fastpath_open(&p->fp, &why);
	int use = fp_start_decision(mode, err);
	if (use > 0) {
		log_info("fast path on", "fast_path=%s", cfg_fast_path_name(mode));
		return 0;
	}
	p->fp_reason = why;
	if (use < 0) {
		log_error("fast path unavailable", "fast_path=sockmap reason=\"%s\" error=\"%s\"",
			  why, strerror(-err));
		return -1;
	}
	log_warn("fast path unavailable", "fast_path=auto reason=\"%s\" error=\"%s\" using=relay",
		 why, strerror(-err));
	return 0;
}

struct proxy *proxy_start(const struct config *c, struct pool *pool)
{
	struct proxy *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = c;
	p->pool = pool;
	p->n_workers = c->workers; /* config: 1..1024 */
	p->workers = calloc(p->n_workers, sizeof(*p->workers));
	if (!p->workers) {
		free(p);
		return NULL;
	}
	p->qs = calloc(p->n_workers, sizeof(*p->qs));
	if (!p->qs || grace_init(&p->grace, (_Atomic uint64_t *const *)p->qs, p->n_workers) < 0) {
		proxy_destroy(p, 0);
		return NULL;
	}
	pool_set_grace(pool, &p->grace);
	if (fast_path_open(p, c->fast_path) < 0) {
		proxy_destroy(p, 0);
		return NULL;
	}
	for (size_t i = 0; i < p->n_workers; i++) {
		p->qs[i] = &p->workers[i].qs;
		if (worker_init(&p->workers[i], p, i) < 0) {
			log_error("worker init failed", "worker=%zu", i);
			proxy_destroy(p, 0);
			return NULL;
		}
	}
	/* like a reload where every listener is new; the pool's backends are in config order */
	char err[256];
	struct proxy_update *u = proxy_update_prepare(p, c, pool->backends, NULL, err, sizeof(err));
	if (!u) {
		log_error("listen failed", "reason=\"%s\"", err);
		proxy_destroy(p, 0);
		return NULL;
	}
	proxy_update_commit(p, u, c, false);
	for (size_t i = 0; i < p->n_workers; i++) {
		if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
			log_error("thread start failed", "worker=%zu", i);
			proxy_destroy(p, i);
			return NULL;
		}
	}
	return p;
}

static void signal_workers(struct proxy *p, _Atomic bool *(*field)(struct worker *))
{
	for (size_t i = 0; i < p->n_workers; i++) {
		atomic_store(field(&p->workers[i]), true);
		loop_wake(p->workers[i].loop);
	}
}

static _Atomic bool *f_stop(struct worker *w) { return &w->stop_accepting; }
static _Atomic bool *f_close(struct worker *w) { return &w->close_all; }

void proxy_stop_accepting(struct proxy *p) { signal_workers(p, f_stop); }
void proxy_close_all(struct proxy *p) { signal_workers(p, f_close); }

uint64_t proxy_active_conns(struct proxy *p) { return atomic_load(&p->total_conns); }

void proxy_free(struct proxy *p)
{
	if (p)
		proxy_destroy(p, p->n_workers);
}

size_t proxy_n_listeners(const struct proxy *p) { return p->lt ? p->lt->n : 0; }
const struct cfg_listener *proxy_listener_cfg(const struct proxy *p, size_t i)
{
	return p->lt->v[i]->cfg;
}
struct listener_stats *proxy_listener_stats(struct proxy *p, size_t i)
{
	return &p->lt->v[i]->stats;
}
size_t proxy_n_workers(const struct proxy *p) { return p->n_workers; }

void proxy_fast_path(struct proxy *p, struct proxy_fast_path *out)
{
	long n = p->fp ? fastpath_count(p->fp) : 0;
	*out = (struct proxy_fast_path){
		.mode = p->fp_mode,
		.active = p->fp != NULL,
		.reason = p->fp_reason,
		.sockets = n > 0 ? (uint64_t)n : 0,
	};
}
