/* snapshot_take: copies pool, proxy, VRRP, BGP, sync and interception state into a struct
 * snapshot (main thread). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/version.h"
#include "ctl/ctl.h"
#include "proxy/pool.h"
#include "proxy/proxy.h"
#include "sync/sync.h"
#include "track/track.h"
#include "vrrp/vrrp.h"

static const char *const result_names[] = { "none", "ok", "fail" };

#define NAME(tab, i) ((size_t)(i) < sizeof(tab) / sizeof(tab[0]) ? tab[i] : "unknown")

static uint64_t ago(uint64_t now_ms, uint64_t t_ms)
{
	if (t_ms == 0)
		return SNAP_NEVER;
	return now_ms > t_ms ? now_ms - t_ms : 0;
}

static void take_server(struct snap_server *o, struct server *s, uint64_t now_ms)
{
	const struct server_health *h = &s->health;
	uint64_t down_until = atomic_load_explicit(&s->passive_down_until, memory_order_relaxed);
	*o = (struct snap_server){
		.address = s->cfg.addr.text,
		.weight = s->cfg.weight,
		.backup = s->cfg.backup,
		.health_up = atomic_load_explicit(&s->active_up, memory_order_relaxed),
		.passive_down = now_ms < down_until,
		.drained = atomic_load_explicit(&s->drained, memory_order_relaxed),
		.eligible = server_eligible(s, now_ms),
		.reason = h->reason,
		.last_result = NAME(result_names, h->last_result),
		.last_check_ago_ms = ago(now_ms, h->last_check_ms),
		.last_change_ago_ms = ago(now_ms, h->last_change_ms),
		.last_duration_us = h->last_duration_us,
		.consecutive_ok = h->consecutive_ok,
		.consecutive_fail = h->consecutive_fail,
		.checks_total = h->checks_total,
		.checks_failed_total = h->checks_failed_total,
		.active = atomic_load_explicit(&s->active, memory_order_relaxed),
		.connections_total = atomic_load_explicit(&s->conns_total, memory_order_relaxed),
		.connect_failures_total =
			atomic_load_explicit(&s->connect_failures_total, memory_order_relaxed),
		.bytes_to_server = atomic_load_explicit(&s->bytes_to_server, memory_order_relaxed),
		.bytes_from_server = atomic_load_explicit(&s->bytes_from_server, memory_order_relaxed),
		.check_duration = h->check_duration,
	};
}

static void take_discover(struct snap_backend *ob, const struct discover *d)
{
	for (size_t k = 0; k < discover_count(d); k++) {
		discover_get(d, k, &ob->discover);
		if (!strcmp(ob->discover.backend, ob->name)) {
			ob->has_discover = true;
			return;
		}
	}
}

static int take_backends(struct snapshot *o, struct pool *p, const struct discover *d, uint64_t now_ms)
{
	o->backends = calloc(p->n_backends ? p->n_backends : 1, sizeof(*o->backends));
	if (!o->backends)
		return -1;
	o->n_backends = p->n_backends;
	for (size_t i = 0; i < p->n_backends; i++) {
		struct backend *b = p->backends[i];
		struct snap_backend *ob = &o->backends[i];
		*ob = (struct snap_backend){
			.name = b->cfg.name,
			.balance = balance_algo_name(b->cfg.balance),
			.health_type = health_type_name(b->cfg.health.type),
			.queue_length = atomic_load_explicit(&b->queue_len, memory_order_relaxed),
			.queue_timeouts_total =
				atomic_load_explicit(&b->queue_timeouts_total, memory_order_relaxed),
			.queue_full_total = atomic_load_explicit(&b->queue_full_total, memory_order_relaxed),
			.no_server_total = atomic_load_explicit(&b->no_server_total, memory_order_relaxed),
		};
		take_discover(ob, d);
		ob->servers = calloc(b->n_servers ? b->n_servers : 1, sizeof(*ob->servers));
		if (!ob->servers)
			return -1;
		ob->n_servers = b->n_servers;
		for (size_t j = 0; j < b->n_servers; j++)
			take_server(&ob->servers[j], b->servers[j], now_ms);
	}
	return 0;
}

_Static_assert(SNAP_UDP_DROPS == UDP_DROP_N, "snap_udp.drops mirrors listener_stats");

const char *snap_udp_drop_name(size_t i) { return udp_drop_name((enum udp_drop)i); }

static void take_udp(struct snap_udp *o, struct listener_stats *st)
{
#define LD(f) atomic_load_explicit(&st->f, memory_order_relaxed)
	*o = (struct snap_udp){
		.sessions_total = LD(udp_sessions_total),
		.sessions_active = LD(udp_sessions_active),
		.datagrams_in = LD(udp_datagrams_in),
		.datagrams_out = LD(udp_datagrams_out),
		.bytes_in = LD(udp_bytes_in),
		.bytes_out = LD(udp_bytes_out),
	};
	for (size_t d = 0; d < UDP_DROP_N; d++)
		o->drops[d] = LD(udp_drops[d]);
#undef LD
}

static int take_listeners(struct snapshot *o, const struct ctl_sources *src)
{
	size_t n = src->proxy ? proxy_n_listeners(src->proxy) : src->cfg->n_listeners;
	o->listeners = calloc(n ? n : 1, sizeof(*o->listeners));
	if (!o->listeners)
		return -1;
	o->n_listeners = n;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_listener *l =
			src->proxy ? proxy_listener_cfg(src->proxy, i) : &src->cfg->listeners[i];
		struct snap_listener *ol = &o->listeners[i];
		*ol = (struct snap_listener){
			.name = l->name, .bind = l->bind.text, .backend = l->backend
		};
		ol->udp = l->protocol == PROTO_UDP;
		struct listener_stats *st = src->proxy ? proxy_listener_stats(src->proxy, i) : NULL;
		if (st && ol->udp)
			take_udp(&ol->u, st);
		else if (st) {
			ol->accepted_total =
				atomic_load_explicit(&st->accepted_total, memory_order_relaxed);
			ol->rejected_total =
				atomic_load_explicit(&st->rejected_total, memory_order_relaxed);
			ol->empty_total = atomic_load_explicit(&st->empty_total, memory_order_relaxed);
			ol->fast_path_total =
				atomic_load_explicit(&st->fast_path_total, memory_order_relaxed);
			ol->fast_path_active =
				atomic_load_explicit(&st->fast_path_active, memory_order_relaxed);
		}
	}
	return 0;
}

static const struct cfg_vrrp *vrrp_cfg(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->n_vrrp; i++)
		if (strcmp(c->vrrp[i].name, name) == 0)
			return &c->vrrp[i];
	return NULL;
}

static void take_vrrp_one(
	struct snap_vrrp *o, const struct vrrp_status *st, const struct config *c, uint64_t now_ms)
{
	*o = (struct snap_vrrp){
		.name = st->name,
		.interface = st->interface,
		.state = vrrp_state_label(st->state),
		.version = st->version,
		.router_id = st->vrid,
		.base_priority = st->base_priority,
		.effective_priority = st->effective_priority,
		.unfit = st->unfit,
		.state_since_ago_ms = ago(now_ms, st->state_since_ms),
		.master_priority = st->master_priority,
		.adverts_received_total = st->adverts_rx_total,
		.adverts_sent_total = st->adverts_tx_total,
	};
	memcpy(o->master_address, st->master, sizeof(o->master_address));
	o->master_address[sizeof(o->master_address) - 1] = '\0';
	const struct cfg_vrrp *cv = vrrp_cfg(c, st->name);
	for (size_t k = 0; cv && k < cv->n_vips && k < SNAP_VRRP_MAX_VIPS; k++)
		o->vips[o->n_vips++] = cv->vips[k].text;
	for (size_t k = 0; k < VRRP_STATE__COUNT && k < SNAP_VRRP_MAX_COUNTS; k++)
		o->transitions[o->n_transitions++] = (struct snap_count){
			vrrp_state_label(k), st->transitions_total[k]
		};
	for (size_t k = 1; k < VRRP_DROP__COUNT && o->n_drops < SNAP_VRRP_MAX_COUNTS; k++)
		o->drops[o->n_drops++] = (struct snap_count){ vrrp_drop_names[k], st->drops_total[k] };
}

static void take_trackers(struct snap_vrrp *o, const struct track_set *ts)
{
	size_t n = ts ? track_set_count(ts) : 0;
	for (size_t k = 0; k < n && o->n_trackers < SNAP_VRRP_MAX_TRACKERS; k++) {
		const struct tracker *t = track_set_get(ts, k);
		if (!t)
			continue;
		o->trackers[o->n_trackers++] = (struct snap_tracker){
			.kind = track_kind_name(t->kind),
			.name = t->name,
			.ok = t->rf.state == TRACK_UP,
			.state = track_state_name(t->rf.state),
			.weight = t->weight,
		};
	}
}

static int take_vrrp(struct snapshot *o, const struct ctl_sources *src, uint64_t now_ms)
{
	size_t n = src->vrrp ? vrrp_count(src->vrrp) : 0;
	if (n == 0)
		return 0;
	o->vrrp = calloc(n, sizeof(*o->vrrp));
	if (!o->vrrp)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct vrrp_status st;
		if (vrrp_get_status(src->vrrp, i, &st) < 0)
			continue;
		take_vrrp_one(&o->vrrp[o->n_vrrp], &st, src->cfg, now_ms);
		take_trackers(&o->vrrp[o->n_vrrp++], vrrp_track_set(src->vrrp, i));
	}
	return 0;
}

static int take_intercept(struct snapshot *o, const struct ctl_sources *src)
{
	if (!src->intercept)
		return 0;
	struct snap_intercept *x = &o->intercept;
	intercept_get_status(src->intercept, &x->st);
	x->items = calloc(x->st.n_items ? x->st.n_items : 1, sizeof(*x->items));
	if (!x->items)
		return -1;
	for (size_t i = 0; i < x->st.n_items; i++)
		intercept_get_item(src->intercept, i, &x->items[i]);
	x->present = true;
	return 0;
}

static int take_bgp(struct snapshot *o, const struct ctl_sources *src)
{
	if (!src->bgp)
		return 0;
	struct snap_bgp *g = &o->bgp;
	bgp_get_status(src->bgp, &g->st);
	g->present = true;
	g->now_unix = (int64_t)time(NULL);
	g->peers = calloc(g->st.n_peers ? g->st.n_peers : 1, sizeof(*g->peers));
	g->announce = calloc(g->st.n_announce ? g->st.n_announce : 1, sizeof(*g->announce));
	if (!g->peers || !g->announce)
		return -1;
	for (size_t i = 0; i < g->st.n_peers; i++)
		bgp_get_peer(src->bgp, i, &g->peers[i]);
	for (size_t i = 0; i < g->st.n_announce; i++)
		bgp_get_announce(src->bgp, i, &g->announce[i]);
	return 0;
}

static void take_sync(struct snapshot *o, const struct ctl_sources *src, uint64_t now_ms)
{
	if (!src->sync)
		return;
	struct snap_sync *y = &o->sync;
	sync_get_status(src->sync, &y->st);
	y->present = true;
	for (int r = 1; r < SYNC_REJECT__COUNT; r++) /* [0] is SYNC_OK: not a rejection */
		y->rejected[y->n_rejected++] = (struct snap_count){
			sync_reject_name(r), y->st.rejected_total[r]
		};
	for (size_t i = 0; i < y->st.n_peers && y->n_peers < SYNC_MAX_PEERS; i++) {
		struct snap_sync_peer *p = &y->peers[y->n_peers];
		if (sync_get_peer(src->sync, i, &p->st) < 0)
			continue;
		p->last_message_ago_ms = ago(now_ms, p->st.last_ms);
		y->n_peers++;
	}
}

int snapshot_take(struct snapshot *o, const struct ctl_sources *src, uint64_t now_ms)
{
	*o = (struct snapshot){
		.node = src->cfg->node ? src->cfg->node : "",
		.version = buoy_version,
		.uptime_ms = now_ms > src->started_ms ? now_ms - src->started_ms : 0,
		.start_time_unix = src->started_unix,
	};
	if (take_listeners(o, src) < 0 || take_backends(o, src->pool, src->discover, now_ms) < 0 ||
	    take_vrrp(o, src, now_ms) < 0 || take_bgp(o, src) < 0 || take_intercept(o, src) < 0) {
		snapshot_free(o);
		return -1;
	}
	take_sync(o, src, now_ms);
	o->reclaim = (struct snap_reclaim){
		.pending = pool_retired_count(src->pool) +
			   (src->proxy ? proxy_retired_count(src->proxy) : 0),
		.freed_total = src->pool->freed_total + (src->proxy ? proxy_freed_total(src->proxy) : 0),
		.configs = config_live_count(),
	};
	struct proxy_fast_path fp = { .mode = src->cfg->fast_path };
	if (src->proxy)
		proxy_fast_path(src->proxy, &fp);
	o->fast_path = (struct snap_fast_path){
		.mode = cfg_fast_path_name(fp.mode),
		.active = fp.active,
		.reason = fp.reason ? fp.reason : "",
		.sockets = fp.sockets,
	};
	return 0;
}
