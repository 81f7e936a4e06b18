/* UDP listeners: sessions, batches, replies from the VIP (see udp.h). Worker threads. */
#include "proxy/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/udp_session.h"
#include "proxy/worker.h"

#define UDP_BATCH 32
#define UDP_BUF 65536 /* the largest datagram: never cut a legitimate one */
#define UDP_ROUNDS 8  /* batches per wakeup before other sockets get their turn */
#define UDP_SWEEP_MAX_MS 1000

static const char *const drop_names[UDP_DROP_N] = {
	[UDP_DROP_SESSION_CAP] = "session_cap",
	[UDP_DROP_NO_SERVER] = "no_server",
	[UDP_DROP_LOCAL] = "local",
	[UDP_DROP_TO_SERVER] = "to_server",
	[UDP_DROP_TO_CLIENT] = "to_client",
	[UDP_DROP_TRUNCATED] = "truncated",
};

const char *udp_drop_name(enum udp_drop d) { return d < UDP_DROP_N ? drop_names[d] : "unknown"; }

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message, aligned as a cmsghdr (whose
 * glibc type ends in a flexible array: it cannot be a member here). */
union pktinfo_ctl {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	size_t align;
};

/* One worker's buffers for every UDP socket it reads (one callback at a time). */
struct udp_batch {
	struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
	struct iovec iov[UDP_BATCH], oiov[UDP_BATCH];
	struct sockaddr_storage name[UDP_BATCH];
	union pktinfo_ctl ctl[UDP_BATCH];
	uint8_t data[UDP_BATCH][UDP_BUF]; /* calloc'd: pages become resident as datagrams fill them */
};

/* A session's server side, parallel to the table's entry of the same index. */
struct udp_peer {
	struct io io; /* the socket connected to the server */
	struct udp_listen *u;
	struct server *srv;           /* NULL: no session here */
	const struct server_set *set; /* the backend's set srv was last found in */
	struct sockaddr_in6 client;
	socklen_t client_len;
	union pktinfo_ctl ctl; /* the address the client sent to (wildcard bind), for replies */
	size_t ctl_len;        /* 0 = none */
};

struct udp_listen {
	struct listen_sock *ls;
	struct worker *w;
	struct listener *l;
	struct udp_table t;
	struct udp_peer *peers;
	struct timer sweep;
	bool pktinfo;           /* wildcard bind: replies name their source address */
	uint64_t cap_logged_ms; /* the last "udp session cap" log line (one per second) */
};

static void count_drop(struct udp_listen *u, enum udp_drop d, uint64_t n)
{
	atomic_fetch_add_explicit(&u->l->stats.udp_drops[d], n, memory_order_relaxed);
}

/* ---------- the listening socket (main thread) ---------- */

int udp_listen_socket(const struct cfg_listener *lc)
{
	const struct sockaddr_storage *ss = &lc->bind.ss;
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	struct ip_addr local;
	uint16_t port;
	sockaddr_tuple(ss, &local, &port);
	bool any = ip_addr_is_any(&local);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	/* FREEBIND: a VIP can be bound before it exists; PKTINFO: a wildcard learns which of
	 * its addresses a client wrote to, to answer from it */
	if (ss->ss_family == AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		if (any)
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	} else {
		int v6only = !any; /* "[::]" is every address, v4 included, as for TCP */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
		if (any) {
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		}
	}
	if (bind(fd, (const struct sockaddr *)ss, lc->bind.len) < 0)
		goto fail;
	return fd;
fail:;
	int err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* ---------- per-listener state (worker thread) ---------- */

static void sweep_cb(struct loop *l, struct timer *t);

static struct udp_listen *udp_listen_new(struct listen_sock *ls)
{
	struct worker *w = ls->w;
	if (!w->udp_batch && !(w->udp_batch = calloc(1, sizeof(*w->udp_batch))))
		return NULL;
	struct udp_listen *u = calloc(1, sizeof(*u));
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)(uintptr_t)u ^ mono_ms(); /* not a secret, only not fixed */
	if (!u || udp_table_init(&u->t, ls->l->cfg->max_sessions, seed) < 0) {
		free(u);
		return NULL;
	}
	if (!(u->peers = calloc(u->t.cap, sizeof(*u->peers)))) {
		udp_table_free(&u->t);
		free(u);
		return NULL;
	}
	u->ls = ls;
	u->w = w;
	u->l = ls->l;
	u->pktinfo = ls->l->local_any;
	timer_init(&u->sweep, sweep_cb, u);
	return u;
}

/* Ends session i. failed: a passive failure against its server, `why` the reason. */
static void session_close(struct udp_listen *u, uint32_t i, const char *why, bool failed)
{
	struct udp_peer *p = &u->peers[i];
	struct server *s = p->srv;
	if (failed)
		server_connect_failed(s, &backend_set(u->l->b)->cfg, loop_now(u->w->loop), why);
	if (why)
		log_debug("udp session closed", "listener=%s server=%s reason=\"%s\"",
			  u->l->cfg->name, s->cfg.addr.text, why);
	/* close() takes it out of epoll; an event of this batch still naming the slot finds
	 * srv NULL, or a new session's socket with nothing (EAGAIN) or its own data to read */
	close(p->io.fd);
	p->io.fd = -1;
	p->srv = NULL;
	atomic_fetch_sub_explicit(&s->active, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&u->l->stats.udp_sessions_active, 1, memory_order_relaxed);
	udp_table_remove(&u->t, i);
	set_drop(p->set); /* the last access to it, and through it to s (pool.h) */
	p->set = NULL;
}

void udp_listen_close(struct listen_sock *ls)
{
	struct udp_listen *u = ls->udp;
	if (!u)
		return;
	for (uint32_t i = 0; i < u->t.hw; i++)
		if (u->peers[i].srv) {
			loop_del(u->w->loop, &u->peers[i].io); /* the memory goes now */
			session_close(u, i, NULL, false);
		}
	timer_cancel(u->w->loop, &u->sweep);
	udp_table_free(&u->t);
	free(u->peers);
	free(u);
	ls->udp = NULL;
}

void udp_worker_free(struct worker *w)
{
	free(w->udp_batch);
	w->udp_batch = NULL;
}

/* Idle sessions end; one still waiting for expected replies counts against its server. */
static void sweep_cb(struct loop *l, struct timer *t)
{
	struct udp_listen *u = t->arg;
	uint64_t now = loop_now(l), idle = u->l->cfg->udp_idle_timeout_ms;
	uint32_t i;
	while ((i = udp_table_next_expired(&u->t, now, idle)) != UDP_SESS_NONE) {
		bool unanswered = udp_sess_unanswered(udp_table_at(&u->t, i), u->l->cfg->proxy_responses);
		session_close(u, i, unanswered ? "no reply" : "idle", unanswered);
	}
	if (u->t.n)
		timer_arm_in(l, t, idle / 2 < UDP_SWEEP_MAX_MS ? idle / 2 + 1 : UDP_SWEEP_MAX_MS);
}

/* ---------- server -> client ---------- */

static void peer_on_event(struct loop *l, struct io *io, uint32_t ev);

/* Sends n datagrams received from the server (bt->in, bt->iov) to the session's client. */
static void reply_batch(struct udp_listen *u, struct udp_peer *p, struct udp_batch *bt, int n)
{
	int m = 0;
	uint64_t bytes = 0;
	for (int k = 0; k < n; k++) {
		if (bt->in[k].msg_hdr.msg_flags & MSG_TRUNC) {
			count_drop(u, UDP_DROP_TRUNCATED, 1);
			continue;
		}
		bt->oiov[m] = (struct iovec){ bt->data[k], bt->in[k].msg_len };
		bt->out[m].msg_hdr = (struct msghdr){
			.msg_name = &p->client,
			.msg_namelen = p->client_len,
			.msg_iov = &bt->oiov[m],
			.msg_iovlen = 1,
			.msg_control = p->ctl_len ? p->ctl.buf : NULL,
			.msg_controllen = p->ctl_len,
		};
		bytes += bt->in[k].msg_len;
		m++;
	}
	int sent = m ? sendmmsg(u->ls->io.fd, bt->out, (unsigned)m, MSG_DONTWAIT) : 0;
	if (sent < 0)
		sent = 0;
	for (int k = sent; k < m; k++)
		bytes -= bt->out[k].msg_hdr.msg_iov->iov_len;
	if (sent < m)
		count_drop(u, UDP_DROP_TO_CLIENT, (uint64_t)(m - sent));
	struct listener_stats *st = &u->l->stats;
	atomic_fetch_add_explicit(&st->udp_datagrams_out, (uint64_t)sent, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->udp_bytes_out, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->srv->bytes_from_server, bytes, memory_order_relaxed);
}

static void prep_recv(struct udp_batch *bt, bool names, bool ctl)
{
	for (int k = 0; k < UDP_BATCH; k++) {
		bt->iov[k] = (struct iovec){ bt->data[k], UDP_BUF };
		bt->in[k].msg_hdr = (struct msghdr){
			.msg_name = names ? &bt->name[k] : NULL,
			.msg_namelen = names ? sizeof(bt->name[k]) : 0,
			.msg_iov = &bt->iov[k],
			.msg_iovlen = 1,
			.msg_control = ctl ? bt->ctl[k].buf : NULL,
			.msg_controllen = ctl ? sizeof(bt->ctl[k].buf) : 0,
		};
	}
}

static void peer_on_event(struct loop *l, struct io *io, uint32_t ev)
{
	(void)ev;
	struct udp_peer *p = io->arg;
	struct udp_listen *u = p->u;
	struct udp_batch *bt = u->w->udp_batch;
	uint32_t i = (uint32_t)(p - u->peers);
	for (int round = 0; round < UDP_ROUNDS && p->srv; round++) {
		prep_recv(bt, false, false);
		int n = recvmmsg(io->fd, bt->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			/* the kernel's report of an ICMP port unreachable for what we sent */
			if (errno == ECONNREFUSED)
				session_close(u, i, "port unreachable", true);
			return;
		}
		if (n == 0)
			return;
		reply_batch(u, p, bt, n);
		server_connect_ok(p->srv);
		uint64_t now = loop_now(l);
		bool done = false;
		for (int k = 0; k < n; k++)
			done |= udp_table_on_reply(&u->t, i, now, u->l->cfg->proxy_responses);
		if (done) {
			session_close(u, i, NULL, false);
			return;
		}
		if (n < UDP_BATCH)
			return;
	}
}

/* ---------- client -> server ---------- */

/* The address the client wrote to (wildcard bind), as a control message for the replies. */
static void keep_pktinfo(struct udp_peer *p, struct msghdr *mh)
{
	p->ctl_len = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		struct cmsghdr *o = (struct cmsghdr *)p->ctl.buf;
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr; /* answer from it; the route picks the device */
			pi.ipi_ifindex = 0;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			p->ctl_len = CMSG_SPACE(sizeof(pi));
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi6_ifindex = 0;
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			p->ctl_len = CMSG_SPACE(sizeof(pi));
		}
	}
}

/* A socket of the session's own, connected to the server. -1 (errno) on failure. */
static int peer_socket(struct server *s)
{
	int fd = socket(s->cfg.addr.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&s->cfg.addr.ss, s->cfg.addr.len) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* A slot under the listener's max_sessions, all workers: taken first and given back on failure,
 * so that two workers racing for the last one cannot both get it. */
static bool cap_take(struct udp_listen *u)
{
	_Atomic uint64_t *n = &u->l->stats.udp_sessions_active;
	if (atomic_fetch_add_explicit(n, 1, memory_order_relaxed) < u->l->cfg->max_sessions)
		return true;
	atomic_fetch_sub_explicit(n, 1, memory_order_relaxed);
	count_drop(u, UDP_DROP_SESSION_CAP, 1);
	uint64_t now = loop_now(u->w->loop);
	if (!u->cap_logged_ms || now - u->cap_logged_ms >= 1000) { /* a flood: one line a second */
		u->cap_logged_ms = now;
		log_warn("udp session cap", "listener=%s max_sessions=%u worker=%zu dropped_total=%llu",
			 u->l->cfg->name, u->l->cfg->max_sessions, u->w->id,
			 (unsigned long long)atomic_load_explicit(
				 &u->l->stats.udp_drops[UDP_DROP_SESSION_CAP], memory_order_relaxed));
	}
	return false;
}

/* A new session for the datagram bt->in[k] from client a:port. Its index, or NONE (dropped). */
static uint32_t session_open(
	struct udp_listen *u, struct udp_batch *bt, int k, const struct ip_addr *a, uint16_t port)
{
	struct listener_stats *st = &u->l->stats;
	if (!cap_take(u))
		return UDP_SESS_NONE;
	uint32_t i = udp_table_insert(&u->t, a, port, loop_now(u->w->loop));
	const struct server_set *set = backend_set(u->l->b);
	int idx = i == UDP_SESS_NONE
			  ? LB_NONE
			  : worker_pick(u->w, u->l->b, set, 0, lb_hash_bytes(a->b, ip_addr_len(a->family)));
	int fd = idx >= 0 ? peer_socket(set->v[idx].s) : -1;
	struct udp_peer *p = i == UDP_SESS_NONE ? NULL : &u->peers[i];
	if (p)
		*p = (struct udp_peer){ .io = { .fd = fd, .cb = peer_on_event, .arg = p }, .u = u };
	if (fd < 0 || loop_add(u->w->loop, &p->io, EPOLLIN) < 0) {
		count_drop(u,
			   !p        ? UDP_DROP_SESSION_CAP
			   : idx < 0 ? UDP_DROP_NO_SERVER
				     : UDP_DROP_LOCAL,
			   1);
		if (fd >= 0)
			close(fd);
		if (p)
			udp_table_remove(&u->t, i);
		atomic_fetch_sub_explicit(&st->udp_sessions_active, 1, memory_order_relaxed);
		return UDP_SESS_NONE;
	}
	p->srv = set->v[idx].s;
	p->set = set_hold((struct server_set *)set);
	p->client_len = bt->in[k].msg_hdr.msg_namelen;
	if (p->client_len > sizeof(p->client))
		p->client_len = sizeof(p->client);
	memcpy(&p->client, &bt->name[k], p->client_len);
	if (u->pktinfo)
		keep_pktinfo(p, &bt->in[k].msg_hdr);
	atomic_fetch_add_explicit(&p->srv->active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->srv->conns_total, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->udp_sessions_total, 1, memory_order_relaxed);
	if (!timer_armed(&u->sweep))
		timer_arm_in(u->w->loop, &u->sweep, 1);
	return i;
}

/* Somewhere better to go. With every server out, the balancer fails open (worker_pick): a
 * session then stays where it is rather than being closed and reopened at every datagram. */
static bool set_has_eligible(const struct server_set *set, uint64_t now)
{
	for (size_t i = 0; i < set->n; i++)
		if (server_eligible(set->v[i].s, now))
			return true;
	return false;
}

/* The session's server may go on: it is eligible, or every server is out (fail open); and a
 * reload has not taken it out of the backend. */
static bool session_server_ok(struct udp_listen *u, struct udp_peer *p)
{
	const struct server_set *set = backend_set(u->l->b);
	if (set != p->set) {
		size_t k = 0;
		while (k < set->n && set->v[k].s != p->srv)
			k++;
		if (k == set->n)
			return false;
		set_drop(p->set);
		p->set = set_hold((struct server_set *)set);
	}
	uint64_t now = loop_now(u->w->loop);
	return server_eligible(p->srv, now) || !set_has_eligible(set, now);
}

/* The session of the datagram bt->in[k], opened if new; NONE when dropped. A session whose
 * server went out (health, passive, drain) ends here and the client picks again. */
static uint32_t session_of(struct udp_listen *u, struct udp_batch *bt, int k, uint32_t cur)
{
	struct ip_addr a;
	uint16_t port;
	sockaddr_tuple(&bt->name[k], &a, &port);
	if (cur != UDP_SESS_NONE && udp_table_at(&u->t, cur)->port == port &&
	    ip_addr_equal(&udp_table_at(&u->t, cur)->addr, &a))
		return cur; /* the run goes on (checked at its first datagram) */
	uint32_t i = udp_table_find(&u->t, &a, port);
	if (i != UDP_SESS_NONE && !session_server_ok(u, &u->peers[i])) {
		session_close(u, i, "server out", false);
		i = UDP_SESS_NONE;
	}
	return i != UDP_SESS_NONE ? i : session_open(u, bt, k, &a, port);
}

/* Sends the run bt->out[0..n) to session i's server. */
static void forward_run(struct udp_listen *u, uint32_t i, struct udp_batch *bt, int n)
{
	struct udp_peer *p = &u->peers[i];
	int sent = sendmmsg(p->io.fd, bt->out, (unsigned)n, MSG_DONTWAIT);
	int err = sent < 0 ? errno : 0;
	if (sent < 0)
		sent = 0;
	uint64_t bytes = 0;
	for (int k = 0; k < sent; k++)
		bytes += bt->out[k].msg_hdr.msg_iov->iov_len;
	struct listener_stats *st = &u->l->stats;
	atomic_fetch_add_explicit(&st->udp_datagrams_in, (uint64_t)sent, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->udp_bytes_in, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->srv->bytes_to_server, bytes, memory_order_relaxed);
	if (sent < n)
		count_drop(u, UDP_DROP_TO_SERVER, (uint64_t)(n - sent));
	if (err == ECONNREFUSED) /* an earlier datagram's ICMP port unreachable */
		session_close(u, i, "port unreachable", true);
}

static void forward_batch(struct udp_listen *u, struct udp_batch *bt, int n)
{
	uint64_t now = loop_now(u->w->loop);
	uint32_t cur = UDP_SESS_NONE;
	int run = 0;
	for (int k = 0; k < n; k++) {
		if (bt->in[k].msg_hdr.msg_flags & MSG_TRUNC) {
			count_drop(u, UDP_DROP_TRUNCATED, 1);
			continue;
		}
		uint32_t i = session_of(u, bt, k, cur);
		if (i != cur && run) {
			forward_run(u, cur, bt, run);
			run = 0;
		}
		cur = i;
		if (i == UDP_SESS_NONE)
			continue;
		bt->oiov[run] = (struct iovec){ bt->data[k], bt->in[k].msg_len };
		bt->out[run].msg_hdr = (struct msghdr){ .msg_iov = &bt->oiov[run], .msg_iovlen = 1 };
		run++;
		udp_table_on_request(&u->t, i, now);
	}
	if (run)
		forward_run(u, cur, bt, run);
}

/* A datagram we cannot serve (no memory for the session table): read and dropped, so that a
 * level-triggered socket does not spin. */
static void drop_one(struct listen_sock *ls)
{
	char b;
	if (recv(ls->io.fd, &b, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0)
		atomic_fetch_add_explicit(&ls->l->stats.udp_drops[UDP_DROP_LOCAL], 1, memory_order_relaxed);
}

void udp_on_readable(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	(void)ev;
	struct listen_sock *ls = io->arg;
	if (!ls->udp && !(ls->udp = udp_listen_new(ls))) {
		drop_one(ls);
		return;
	}
	struct udp_listen *u = ls->udp;
	struct udp_batch *bt = u->w->udp_batch;
	for (int round = 0; round < UDP_ROUNDS; round++) {
		prep_recv(bt, true, u->pktinfo);
		int n = recvmmsg(io->fd, bt->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		forward_batch(u, bt, n);
		if (n < UDP_BATCH)
			return;
	}
}
