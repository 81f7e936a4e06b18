#include "sync/sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/grow.h"
#include "core/log.h"
#include "proxy/connlog.h"
#include "proxy/proxy.h"
#include "sync/table.h"
#include "sync/tickler.h"

#define RX_BUF 2048
#define LOG_BATCH 256
#define REFRESH_MSGS_PER_TICK 64 /* per interval: 64 x 33 entries, a 100k table in ~5 s */
#define HANDOVER_MARGIN_MS 100   /* after one advert interval: the backup has taken over */
#define UDP_BUF (4 << 20)

struct peer {
	char node[SYNC_NODE_MAX + 1];
	struct ip_addr addr;
	struct sync_seen seen;
	struct peer_table tab;
	uint64_t gen;         /* refresh generations seen; delta adds carry the newest */
	uint64_t refresh_gen; /* gen of the refresh in progress (its FIRST), 0 = none */
	bool refresh_whole;   /* no message lost since that FIRST */
	uint64_t messages, gaps, refreshes, restarts, last_ms;
	bool lost;      /* anycast: silent for peer_timeout */
	bool withdrawn; /* anycast: its last message said it announces nothing */
};

struct sync {
	struct loop *loop;
	const struct config *cfg;
	const struct cfg_sync *sc;
	const struct config *held; /* cfg, held while running (config_hold) */
	struct proxy *proxy;
	struct io io;      /* UDP */
	int family;        /* of the UDP socket */
	struct tickler tk; /* raw sockets, paced rounds */
	uint64_t seed;     /* of the peer tables' hash */
	struct timer batch, refresh;
	uint64_t epoch, seq;
	struct ip_addr *vips; /* every VRRP VIP and anycast address: only connections to one are
	                       * synced */
	size_t n_vips;
	size_t n_anycast; /* the last n_anycast of vips are bgp: announce addresses */
	sync_serving_fn serving_fn;
	void *serving_arg;
	bool withdrawn;        /* anycast: we announce nothing (said in every message) */
	uint64_t last_sent_ms; /* anycast: a heartbeat goes when nothing else did for a while */
	struct own_table own;
	struct sync_tuple *dels; /* announced connections closed since the last batch */
	size_t n_dels, cap_dels;
	uint64_t *log_dropped; /* per worker, as last seen */
	size_t n_workers;
	struct peer *peers[SYNC_MAX_PEERS];
	size_t n_peers;
	bool refresh_first; /* the next refresh chunk is its FIRST */
	struct sync_status st;
};

static const char *const reject_names[SYNC_REJECT__COUNT - SYNC_VERDICT__COUNT] = {
	"unknown_source",
	"own_node",
	"too_many_peers",
	"replay",
};

const char *sync_reject_name(int reason)
{
	if (reason >= 0 && reason < SYNC_VERDICT__COUNT)
		return sync_verdict_name((enum sync_verdict)reason);
	if (reason >= SYNC_VERDICT__COUNT && reason < SYNC_REJECT__COUNT)
		return reject_names[reason - SYNC_VERDICT__COUNT];
	return "unknown";
}

/* ---------- sending ---------- */

static size_t per_message(const struct sync *s) { return sync_entries_per_msg(s->cfg->node); }

static void to_peer(struct sync *s, const struct ip_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
	if (s->family == AF_INET6 && a->family == AF_INET) {
		struct ip_addr m = { .family = AF_INET6, .prefix = 128 };
		m.b[10] = m.b[11] = 0xff; /* ::ffff:a.b.c.d on a dual-stack socket */
		memcpy(m.b + 12, a->b, 4);
		*len = ip_addr_to_sockaddr(&m, s->sc->port, ss);
		return;
	}
	*len = ip_addr_to_sockaddr(a, s->sc->port, ss);
}

static void send_msg(
	struct sync *s, uint8_t kind, uint8_t flags, const struct sync_tuple *t, size_t n, uint8_t op)
{
	if (s->withdrawn)
		flags |= SYNC_F_WITHDRAWN;
	s->last_sent_ms = loop_now(s->loop);
	struct sync_hdr h = { .kind = kind, .flags = flags, .epoch = s->epoch, .seq = ++s->seq };
	snprintf(h.node, sizeof(h.node), "%s", s->cfg->node);
	struct sync_entry e[SYNC_MAX_ENTRIES];
	for (size_t i = 0; i < n; i++)
		e[i] = (struct sync_entry){
			.op = op,
			.vip = t[i].vip,
			.client = t[i].client,
			.vport = t[i].vport,
			.cport = t[i].cport
		};
	uint8_t buf[SYNC_MAX_MSG];
	size_t len = sync_encode(&h, e, n, s->sc->key, s->sc->key_len, buf, sizeof(buf));
	if (!len) {
		s->st.send_errors_total++; /* an entry the codec refuses: nothing we can send */
		return;
	}
	for (size_t i = 0; i < s->sc->n_peers; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		to_peer(s, &s->sc->peers[i], &ss, &sl);
		if (sendto(s->io.fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0) {
			s->st.send_errors_total++;
			continue;
		}
		s->st.messages_sent_total++;
		s->st.bytes_sent_total += len;
	}
}

/* Changes since the last batch: dels first (a closed and reopened 4-tuple ends up present). */
static void send_deltas(struct sync *s)
{
	size_t per = per_message(s);
	for (size_t i = 0; i < s->n_dels; i += per) {
		size_t n = s->n_dels - i < per ? s->n_dels - i : per;
		send_msg(s, SYNC_KIND_DELTA, 0, s->dels + i, n, SYNC_OP_DEL);
	}
	s->n_dels = 0;
	struct sync_tuple t[SYNC_MAX_ENTRIES];
	size_t n;
	while ((n = own_take_pending(&s->own, t, per)) > 0)
		send_msg(s, SYNC_KIND_DELTA, 0, t, n, SYNC_OP_ADD);
}

static void send_refresh(struct sync *s)
{
	size_t per = per_message(s);
	for (int i = 0; i < REFRESH_MSGS_PER_TICK && s->own.refreshing; i++) {
		struct sync_tuple t[SYNC_MAX_ENTRIES];
		bool last = false;
		size_t n = own_refresh_next(&s->own, t, per, &last);
		uint8_t flags =
			(uint8_t)((s->refresh_first ? SYNC_F_FIRST : 0) | (last ? SYNC_F_LAST : 0));
		s->refresh_first = false;
		send_msg(s, SYNC_KIND_FULL, flags, t, n, SYNC_OP_ADD); /* the last ends own.refreshing */
	}
}

/* ---------- the workers' logs ---------- */

static void queue_del(void *arg, const struct sync_tuple *t)
{
	struct sync *s = arg;
	if (grow((void **)&s->dels, &s->cap_dels, s->n_dels + 1, sizeof(*s->dels)))
		s->dels[s->n_dels++] = *t;
}

static void on_log(void *arg, uint32_t worker, const struct connlog_ev *e)
{
	struct sync *s = arg;
	switch (e->op) {
	case CONNLOG_OPEN: {
		struct sync_tuple t = {
			.vip = e->local, .client = e->peer, .vport = e->lport, .cport = e->pport
		};
		if (!sync_tuple_on(&t, s->vips, s->n_vips))
			return; /* not to a VIP: no other node can take it over */
		own_open(&s->own, worker, e->id, &t, queue_del, s);
		return;
	}
	case CONNLOG_CLOSE: {
		struct sync_tuple t;
		if (own_close(&s->own, worker, e->id, &t) == 2)
			queue_del(s, &t);
		return;
	}
	case CONNLOG_RESYNC_BEGIN: own_resync_begin(&s->own, worker); return;
	case CONNLOG_RESYNC_END: own_resync_end(&s->own, worker, queue_del, s); return;
	default: return;
	}
}

/* A worker whose log overflowed since the last batch rebuilds our view of it. */
static void check_log_losses(struct sync *s)
{
	for (uint32_t w = 0; w < s->n_workers; w++) {
		uint64_t d = proxy_connlog_dropped_of(s->proxy, w);
		if (d != s->log_dropped[w]) {
			log_warn("sync log overflow", "worker=%u lost=%llu", w,
				 (unsigned long long)(d - s->log_dropped[w]));
			s->log_dropped[w] = d;
			proxy_connlog_resync(s->proxy, w);
		}
	}
}

static void anycast_check(struct sync *s);
static void peer_gone(struct sync *s, struct peer *p, const char *why);

static void on_batch(struct loop *l, struct timer *t)
{
	struct sync *s = t->arg;
	proxy_connlog_drain(s->proxy, on_log, s);
	check_log_losses(s);
	send_deltas(s);
	send_refresh(s);
	anycast_check(s);
	timer_arm_in(l, t, s->sc->interval_ms);
}

static void on_refresh(struct loop *l, struct timer *t)
{
	struct sync *s = t->arg;
	if (!s->own.refreshing) { /* a refresh still walking is finished first */
		own_refresh_start(&s->own);
		s->refresh_first = true;
	}
	timer_arm_in(l, t, s->sc->refresh_ms);
}

/* ---------- receiving ---------- */

static bool from_peer(const struct sync *s, const struct sockaddr_storage *ss, struct ip_addr *a)
{
	if (ip_addr_from_sockaddr((const struct sockaddr *)ss, a) < 0)
		return false;
	ip_addr_unmap(a); /* a dual-stack socket's IPv4 peer */
	for (size_t i = 0; i < s->sc->n_peers; i++)
		if (ip_addr_equal(a, &s->sc->peers[i]))
			return true;
	/* a master's datagrams may leave from the VIP it holds (IPv6 source selection picks it
	 * on the same prefix): a VIP of ours is a peer's address too */
	for (size_t i = 0; i < s->n_vips; i++)
		if (ip_addr_equal(a, &s->vips[i]))
			return true;
	return false;
}

static struct peer *peer_of(struct sync *s, const char *node)
{
	for (size_t i = 0; i < s->n_peers; i++)
		if (!strcmp(s->peers[i]->node, node))
			return s->peers[i];
	if (s->n_peers == SYNC_MAX_PEERS)
		return NULL;
	struct peer *p = calloc(1, sizeof(*p));
	if (!p || peer_init(&p->tab, s->sc->max_entries, s->seed) < 0) {
		free(p);
		return NULL;
	}
	snprintf(p->node, sizeof(p->node), "%s", node);
	s->peers[s->n_peers++] = p;
	log_info("sync peer", "node=%s", node);
	return p;
}

static void apply(struct peer *p, const struct sync_hdr *h, const struct sync_entry *e, size_t n)
{
	if (h->kind == SYNC_KIND_FULL && (h->flags & SYNC_F_FIRST)) {
		p->refresh_gen = ++p->gen;
		p->refresh_whole = true;
	}
	for (size_t i = 0; i < n; i++) {
		struct sync_tuple t = {
			.vip = e[i].vip, .client = e[i].client, .vport = e[i].vport, .cport = e[i].cport
		};
		if (e[i].op == SYNC_OP_DEL)
			peer_del(&p->tab, &t);
		else
			peer_add(&p->tab, &t, p->gen);
	}
	if (h->kind == SYNC_KIND_FULL && (h->flags & SYNC_F_LAST)) {
		if (p->refresh_gen && p->refresh_whole) {
			peer_prune(&p->tab, p->refresh_gen);
			p->refreshes++;
		}
		p->refresh_gen = 0;
	}
}

/* Every check before a single entry is believed; see sync.h. */
static void on_datagram(struct sync *s, const uint8_t *buf, size_t len, const struct sockaddr_storage *ss)
{
	s->st.messages_received_total++;
	struct ip_addr src;
	if (!from_peer(s, ss, &src)) {
		s->st.rejected_total[SYNC_REJECT_UNKNOWN_SOURCE]++;
		return;
	}
	struct sync_hdr h;
	struct sync_entry e[SYNC_MAX_ENTRIES];
	size_t n = 0;
	enum sync_verdict v =
		sync_decode(buf, len, s->sc->key, s->sc->key_len, &h, e, SYNC_MAX_ENTRIES, &n);
	if (v != SYNC_OK) {
		s->st.rejected_total[v]++;
		return;
	}
	if (!strcmp(h.node, s->cfg->node)) {
		s->st.rejected_total[SYNC_REJECT_OWN_NODE]++;
		return;
	}
	struct peer *p = peer_of(s, h.node);
	if (!p) {
		s->st.rejected_total[SYNC_REJECT_TOO_MANY_PEERS]++;
		return;
	}
	struct sync_seen was = p->seen;
	if (!sync_fresh(&p->seen, h.epoch, h.seq)) {
		s->st.rejected_total[SYNC_REJECT_REPLAY]++;
		return;
	}
	if (was.epoch && h.epoch != was.epoch) { /* it restarted: what it held is gone */
		peer_clear(&p->tab);
		p->refresh_gen = 0;
		p->restarts++;
		log_info("sync peer restarted", "node=%s", p->node);
	} else if (was.epoch && h.seq != was.seq + 1) {
		p->gaps += h.seq - was.seq - 1;
		p->refresh_whole = false;
	}
	p->addr = src;
	p->messages++;
	p->last_ms = loop_now(s->loop);
	if (p->lost) {
		p->lost = false;
		log_info("sync peer back", "node=%s", p->node);
	}
	bool withdrawn = h.flags & SYNC_F_WITHDRAWN, was_withdrawn = p->withdrawn;
	p->withdrawn = withdrawn;
	apply(p, &h, e, n);
	if (withdrawn && !was_withdrawn)
		peer_gone(s, p, "withdrawn");
}

static void on_udp(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	(void)ev;
	struct sync *s = io->arg;
	static uint8_t buf[RX_BUF];
	for (int i = 0; i < 256; i++) { /* bounded: the loop has other work */
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(io->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return;
		on_datagram(s, buf, (size_t)n, &ss);
	}
}

/* ---------- tickles ---------- */

static void vips_of(const struct cfg_vrrp *inst, struct ip_addr *out)
{
	for (size_t i = 0; i < inst->n_vips; i++)
		out[i] = inst->vips[i].addr;
}

static void takeover(struct sync *s, const struct cfg_vrrp *inst, const struct ip_addr *vips)
{
	uint64_t now = loop_now(s->loop);
	struct tickle_round *r = tickle_round_new(now, false);
	if (!r)
		return;
	tickle_round_wait_local(r, vips, inst->n_vips, now + TICKLE_LOCAL_WAIT_MS);
	for (size_t i = 0; i < s->n_peers; i++)
		peer_take_on(&s->peers[i]->tab, vips, inst->n_vips, tickle_round_collect, r);
	if (tickle_round_len(r)) {
		s->st.takeovers_total++;
		log_info("sync takeover", "instance=%s tickles=%zu rate=%u", inst->name,
			 tickle_round_len(r), s->sc->tickle_rate);
	}
	tickler_add(&s->tk, r);
}

static void handover(struct sync *s, const struct cfg_vrrp *inst, const struct ip_addr *vips)
{
	struct tickle_round *r = tickle_round_new(
		loop_now(s->loop) + inst->advert_interval_ms + HANDOVER_MARGIN_MS, true);
	if (r) {
		own_take_on(&s->own, vips, inst->n_vips, tickle_round_collect, r);
		if (tickle_round_len(r))
			log_info("sync handover", "instance=%s connections=%zu", inst->name,
				 tickle_round_len(r));
		tickler_add(&s->tk, r);
	}
	proxy_reset_local(s->proxy, vips, inst->n_vips);
}

/* Anycast: a peer no longer carries traffic (silent: its node or its link died; or it said it
 * withdrew). The router has moved its flows to the nodes left, which have no socket for them:
 * tickle its clients, so that their challenge ACKs reach one of us and are answered by RST.
 * Our own clients too: with hash-threshold ECMP a changed next-hop set moves some flows
 * between the nodes left; a tickled client whose flow still reaches us answers with an ACK
 * our socket takes as a duplicate, harmless. */
static void peer_gone(struct sync *s, struct peer *p, const char *why)
{
	if (!s->n_anycast)
		return;
	const struct ip_addr *any = s->vips + s->n_vips - s->n_anycast;
	struct tickle_round *r = tickle_round_new(loop_now(s->loop), false);
	if (!r)
		return;
	size_t theirs = peer_take_on(&p->tab, any, s->n_anycast, tickle_round_collect, r);
	size_t ours = s->withdrawn ? 0 : own_each_on(&s->own, any, s->n_anycast, tickle_round_collect, r);
	s->st.peers_lost_total++;
	if (tickle_round_len(r))
		s->st.takeovers_total++;
	log_info("sync anycast peer gone", "node=%s why=%s tickles=%zu theirs=%zu ours=%zu",
		 p->node, why, tickle_round_len(r), theirs, ours);
	tickler_add(&s->tk, r);
}

/* Every batch, with anycast addresses: our own state into the next message, a heartbeat when
 * nothing went for a quarter of peer_timeout, and the peers that fell silent. */
static void anycast_check(struct sync *s)
{
	if (!s->n_anycast)
		return;
	uint64_t now = loop_now(s->loop);
	bool withdrawn = s->serving_fn && !s->serving_fn(s->serving_arg);
	if (withdrawn != s->withdrawn) {
		s->withdrawn = withdrawn;
		log_info("sync anycast", "announcing=%s", withdrawn ? "no" : "yes");
		s->last_sent_ms = 0; /* peers hear it now */
	}
	if (now - s->last_sent_ms >= s->sc->peer_timeout_ms / 4)
		send_msg(s, SYNC_KIND_DELTA, 0, NULL, 0, SYNC_OP_ADD);
	for (size_t i = 0; i < s->n_peers; i++) {
		struct peer *p = s->peers[i];
		if (p->lost || now - p->last_ms < s->sc->peer_timeout_ms)
			continue;
		p->lost = true;
		if (!p->withdrawn) /* a withdrawn peer's clients were tickled then */
			peer_gone(s, p, "silent");
	}
}

void sync_set_serving(struct sync *s, sync_serving_fn fn, void *arg)
{
	if (!s)
		return;
	s->serving_fn = fn;
	s->serving_arg = arg;
}

void sync_on_vrrp(struct sync *s, const struct cfg_vrrp *inst, enum vrrp_state from, enum vrrp_state to)
{
	if (!s || !inst->n_vips || from == to)
		return;
	struct ip_addr *vips = calloc(inst->n_vips, sizeof(*vips));
	if (!vips)
		return;
	vips_of(inst, vips);
	/* what the workers logged so far is in the tables before they are read */
	proxy_connlog_drain(s->proxy, on_log, s);
	if (to == VRRP_STATE_MASTER)
		takeover(s, inst, vips);
	else if (from == VRRP_STATE_MASTER)
		handover(s, inst, vips);
	free(vips);
}

bool sync_busy(const struct sync *s) { return s && tickler_busy(&s->tk); }

/* ---------- start, stop, status ---------- */

static int open_udp(struct sync *s)
{
	s->family = s->sc->source.family ? s->sc->source.family : AF_INET6;
	int fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && !s->sc->source.family) { /* no IPv6 in this kernel */
		s->family = AF_INET;
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return -1;
	int zero = 0, one = 1, buf = UDP_BUF;
	if (s->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)s->family };
	socklen_t sl;
	if (s->sc->source.family) {
		sl = ip_addr_to_sockaddr(&s->sc->source, s->sc->port, &ss);
	} else if (s->family == AF_INET6) {
		struct ip_addr any = { .family = AF_INET6 };
		sl = ip_addr_to_sockaddr(&any, s->sc->port, &ss);
	} else {
		struct ip_addr any = { .family = AF_INET };
		sl = ip_addr_to_sockaddr(&any, s->sc->port, &ss);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	s->io = (struct io){ .fd = fd, .cb = on_udp, .arg = s };
	return loop_add(s->loop, &s->io, EPOLLIN);
}

static int set_vips(struct sync *s, const struct config *c)
{
	size_t n = 0, n_any = c->bgp ? c->bgp->n_announce : 0;
	for (size_t i = 0; i < c->n_vrrp; i++)
		n += c->vrrp[i].n_vips;
	struct ip_addr *v = calloc(n + n_any ? n + n_any : 1, sizeof(*v));
	if (!v)
		return -1;
	n = 0;
	for (size_t i = 0; i < c->n_vrrp; i++)
		for (size_t j = 0; j < c->vrrp[i].n_vips; j++)
			v[n++] = c->vrrp[i].vips[j].addr;
	for (size_t i = 0; i < n_any; i++) /* last: peer_gone takes them as one slice */
		v[n++] = c->bgp->announce[i].prefix.addr;
	free(s->vips);
	s->vips = v;
	s->n_vips = n;
	s->n_anycast = n_any;
	return 0;
}

static bool needs_family(const struct config *c, int family)
{
	for (size_t i = 0; i < c->n_vrrp; i++)
		if (c->vrrp[i].family == family)
			return true;
	for (size_t i = 0; c->bgp && i < c->bgp->n_announce; i++)
		if (c->bgp->announce[i].prefix.addr.family == family)
			return true;
	return false;
}

struct sync *sync_start(struct loop *l, const struct config *c, struct proxy *p)
{
	struct sync *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = l;
	s->cfg = c;
	s->sc = c->sync;
	s->proxy = p;
	s->io.fd = s->tk.raw4 = s->tk.raw6 = -1; /* sync_free before tickler_open closes none */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->epoch = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != sizeof(s->seed))
		s->seed = hash_mix64(s->epoch ^ (uint64_t)getpid()); /* no entropy yet: still varies */
	s->n_workers = proxy_n_workers(p);
	timer_init(&s->batch, on_batch, s);
	timer_init(&s->refresh, on_refresh, s);
	const char *what = "memory";
	if (own_init(&s->own, s->sc->max_entries) < 0 || set_vips(s, c) < 0 ||
	    !(s->log_dropped = calloc(s->n_workers ? s->n_workers : 1, sizeof(uint64_t))))
		goto fail;
	what = "udp socket";
	if (open_udp(s) < 0)
		goto fail;
	what = "raw socket";
	if (tickler_open(&s->tk, l, needs_family(c, AF_INET), needs_family(c, AF_INET6),
			 s->sc->tickle_rate) < 0)
		goto fail;
	what = "connection log";
	if (proxy_connlog_enable(p) < 0)
		goto fail;
	for (uint32_t w = 0; w < s->n_workers; w++) {
		s->log_dropped[w] = proxy_connlog_dropped_of(p, w);
		proxy_connlog_resync(p, w); /* after a reload: take their connections in again */
	}
	timer_arm_in(l, &s->batch, s->sc->interval_ms);
	timer_arm_in(l, &s->refresh, 0);
	s->st.port = s->sc->port;
	log_info("sync started", "port=%u peers=%zu interval_ms=%llu refresh_ms=%llu", s->sc->port,
		 s->sc->n_peers, (unsigned long long)s->sc->interval_ms,
		 (unsigned long long)s->sc->refresh_ms);
	s->held = config_hold(c);
	return s;
fail:
	log_error("sync start failed", "what=\"%s\" error=\"%s\"", what, strerror(errno));
	sync_free(s, true);
	return NULL;
}

void sync_free(struct sync *s, bool keep_log)
{
	if (!s)
		return;
	if (!keep_log)
		proxy_connlog_disable(s->proxy);
	timer_cancel(s->loop, &s->batch);
	timer_cancel(s->loop, &s->refresh);
	if (s->io.fd >= 0) {
		loop_del(s->loop, &s->io);
		close(s->io.fd);
	}
	tickler_close(&s->tk);
	for (size_t i = 0; i < s->n_peers; i++) {
		peer_free(&s->peers[i]->tab);
		free(s->peers[i]);
	}
	own_free(&s->own);
	free(s->dels);
	free(s->vips);
	free(s->log_dropped);
	config_release(s->held);
	free(s);
}

int sync_reload(struct sync *s, const struct config *c)
{
	const struct cfg_sync *n = c->sync;
	if (n->port != s->sc->port || !ip_addr_equal(&n->source, &s->sc->source) ||
	    (needs_family(c, AF_INET) && !tickler_can(&s->tk, AF_INET)) ||
	    (needs_family(c, AF_INET6) && !tickler_can(&s->tk, AF_INET6)))
		return -1; /* other sockets: the caller starts a new engine */
	if (set_vips(s, c) < 0)
		return -1;
	s->cfg = c;
	s->sc = n;
	config_release(s->held);
	s->held = config_hold(c);
	s->tk.rate = n->tickle_rate;
	s->own.cap = n->max_entries; /* a smaller cap keeps what is there, refuses new entries */
	for (size_t i = 0; i < s->n_peers; i++)
		s->peers[i]->tab.cap = n->max_entries;
	timer_arm_in(s->loop, &s->batch, n->interval_ms);
	timer_arm_in(s->loop, &s->refresh, 0); /* peers learn the new VIP set's view at once */
	return 0;
}

void sync_get_status(const struct sync *s, struct sync_status *out)
{
	*out = s->st;
	out->tickles_sent_total = s->tk.sent_total;
	out->tickle_errors_total = s->tk.errors_total;
	out->tickles_pending = s->tk.pending;
	out->n_peers_cfg = s->sc->n_peers;
	out->local_connections = s->own.n;
	out->local_cap_hits_total = s->own.cap_hits;
	out->log_dropped_total = proxy_connlog_dropped(s->proxy);
	out->resets_total = proxy_reset_total(s->proxy);
	out->n_peers = s->n_peers;
}

int sync_get_peer(const struct sync *s, size_t i, struct sync_peer_status *out)
{
	if (!s || i >= s->n_peers)
		return -1;
	const struct peer *p = s->peers[i];
	*out = (struct sync_peer_status){
		.connections = p->tab.n,
		.messages_total = p->messages,
		.cap_hits_total = p->tab.cap_hits,
		.gaps_total = p->gaps,
		.refreshes_total = p->refreshes,
		.restarts_total = p->restarts,
		.last_ms = p->last_ms,
		.lost = p->lost,
		.withdrawn = p->withdrawn,
	};
	snprintf(out->node, sizeof(out->node), "%s", p->node);
	ip_addr_format(&p->addr, IP_FMT_ADDR, out->addr, sizeof(out->addr));
	return 0;
}
