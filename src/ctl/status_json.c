/* The status document. Field names are an interface (docs/status.md): add, never rename. */
#include <arpa/inet.h>
#include <inttypes.h>

#include "ctl/status.h"

/* Emits `,"key":` (comma only after the first member of an object). */
static void key(struct strbuf *b, bool *first, const char *k)
{
	if (!*first)
		sb_putc(b, ',');
	*first = false;
	sb_json_str(b, k);
	sb_putc(b, ':');
}

static void kv_str(struct strbuf *b, bool *first, const char *k, const char *v)
{
	key(b, first, k);
	sb_json_str(b, v);
}

static void kv_u64(struct strbuf *b, bool *first, const char *k, uint64_t v)
{
	key(b, first, k);
	sb_printf(b, "%" PRIu64, v);
}

static void kv_i64(struct strbuf *b, bool *first, const char *k, int64_t v)
{
	key(b, first, k);
	sb_printf(b, "%" PRId64, v);
}

static void kv_bool(struct strbuf *b, bool *first, const char *k, bool v)
{
	key(b, first, k);
	sb_puts(b, v ? "true" : "false");
}

/* An "ago" time: null when it never happened. */
static void kv_ago(struct strbuf *b, bool *first, const char *k, uint64_t v)
{
	key(b, first, k);
	if (v == SNAP_NEVER)
		sb_puts(b, "null");
	else
		sb_printf(b, "%" PRIu64, v);
}

static void server_json(struct strbuf *b, const struct snap_server *s)
{
	bool f = true;
	sb_putc(b, '{');
	kv_str(b, &f, "address", s->address);
	kv_str(b, &f, "state", snap_server_state(s));
	kv_bool(b, &f, "eligible", s->eligible);
	kv_u64(b, &f, "weight", s->weight);
	kv_bool(b, &f, "backup", s->backup);
	kv_bool(b, &f, "drained", s->drained);
	kv_bool(b, &f, "passive_down", s->passive_down);
	key(b, &f, "health");
	bool h = true;
	sb_putc(b, '{');
	kv_bool(b, &h, "up", s->health_up);
	kv_str(b, &h, "last_result", s->last_result);
	kv_str(b, &h, "reason", s->reason);
	kv_ago(b, &h, "last_check_ago_ms", s->last_check_ago_ms);
	kv_ago(b, &h, "last_change_ago_ms", s->last_change_ago_ms);
	kv_u64(b, &h, "last_duration_us", s->last_duration_us);
	kv_u64(b, &h, "consecutive_ok", s->consecutive_ok);
	kv_u64(b, &h, "consecutive_fail", s->consecutive_fail);
	kv_u64(b, &h, "checks_total", s->checks_total);
	kv_u64(b, &h, "checks_failed_total", s->checks_failed_total);
	sb_putc(b, '}');
	kv_u64(b, &f, "active_connections", s->active);
	kv_u64(b, &f, "connections_total", s->connections_total);
	kv_u64(b, &f, "connect_failures_total", s->connect_failures_total);
	kv_u64(b, &f, "bytes_to_server", s->bytes_to_server);
	kv_u64(b, &f, "bytes_from_server", s->bytes_from_server);
	sb_putc(b, '}');
}

static void discover_json(struct strbuf *b, bool *f, const struct snap_backend *be)
{
	const struct discover_status *d = &be->discover;
	bool g = true;
	key(b, f, "discover");
	sb_putc(b, '{');
	kv_str(b, &g, "kind", d->kind);
	kv_str(b, &g, "source", d->source);
	kv_str(b, &g, "state", d->state);
	kv_str(b, &g, "api", d->api);
	kv_str(b, &g, "resource_version", d->rv);
	kv_u64(b, &g, "last_update_unix_ms", d->last_update_unix_ms);
	kv_str(b, &g, "last_error", d->last_error);
	kv_u64(b, &g, "servers", d->n_servers);
	kv_u64(b, &g, "events_total", d->events_total);
	kv_u64(b, &g, "applies_total", d->applies_total);
	kv_u64(b, &g, "errors_total", d->errors_total);
	kv_u64(b, &g, "relists_total", d->relists_total);
	sb_putc(b, '}');
}

static void backend_json(struct strbuf *b, const struct snap_backend *be)
{
	bool f = true;
	size_t eligible = 0;
	for (size_t i = 0; i < be->n_servers; i++)
		eligible += be->servers[i].eligible;
	sb_putc(b, '{');
	kv_str(b, &f, "name", be->name);
	kv_str(b, &f, "balance", be->balance);
	kv_str(b, &f, "health_check", be->health_type);
	kv_u64(b, &f, "eligible_servers", eligible);
	kv_u64(b, &f, "queue_length", be->queue_length);
	kv_u64(b, &f, "queue_timeouts_total", be->queue_timeouts_total);
	kv_u64(b, &f, "queue_full_total", be->queue_full_total);
	kv_u64(b, &f, "no_server_total", be->no_server_total);
	if (be->has_discover)
		discover_json(b, &f, be);
	key(b, &f, "servers");
	sb_putc(b, '[');
	for (size_t i = 0; i < be->n_servers; i++) {
		if (i)
			sb_putc(b, ',');
		server_json(b, &be->servers[i]);
	}
	sb_puts(b, "]}");
}

static void listener_json(struct strbuf *b, const struct snap_listener *l)
{
	bool f = true;
	sb_putc(b, '{');
	kv_str(b, &f, "name", l->name);
	kv_str(b, &f, "bind", l->bind);
	kv_str(b, &f, "backend", l->backend);
	kv_str(b, &f, "protocol", l->udp ? "udp" : "tcp");
	if (!l->udp) {
		kv_u64(b, &f, "accepted_total", l->accepted_total);
		kv_u64(b, &f, "rejected_total", l->rejected_total);
		kv_u64(b, &f, "empty_total", l->empty_total);
		kv_u64(b, &f, "fast_path_total", l->fast_path_total);
		kv_u64(b, &f, "fast_path_active", l->fast_path_active);
		sb_putc(b, '}');
		return;
	}
	kv_u64(b, &f, "sessions_total", l->u.sessions_total);
	kv_u64(b, &f, "sessions_active", l->u.sessions_active);
	kv_u64(b, &f, "datagrams_in_total", l->u.datagrams_in);
	kv_u64(b, &f, "datagrams_out_total", l->u.datagrams_out);
	kv_u64(b, &f, "bytes_in_total", l->u.bytes_in);
	kv_u64(b, &f, "bytes_out_total", l->u.bytes_out);
	key(b, &f, "drops");
	bool g = true;
	sb_putc(b, '{');
	for (size_t d = 0; d < SNAP_UDP_DROPS; d++)
		kv_u64(b, &g, snap_udp_drop_name(d), l->u.drops[d]);
	sb_puts(b, "}}");
}

static void counts_json(struct strbuf *b, const struct snap_count *c, size_t n)
{
	bool f = true;
	sb_putc(b, '{');
	for (size_t i = 0; i < n; i++)
		kv_u64(b, &f, c[i].label, c[i].value);
	sb_putc(b, '}');
}

static void vrrp_json(struct strbuf *b, const struct snap_vrrp *v)
{
	bool f = true;
	sb_putc(b, '{');
	kv_str(b, &f, "name", v->name);
	kv_str(b, &f, "interface", v->interface);
	kv_u64(b, &f, "router_id", v->router_id);
	kv_u64(b, &f, "version", v->version);
	kv_str(b, &f, "state", v->state);
	kv_ago(b, &f, "state_since_ago_ms", v->state_since_ago_ms);
	kv_u64(b, &f, "base_priority", v->base_priority);
	kv_u64(b, &f, "effective_priority", v->effective_priority);
	kv_bool(b, &f, "unfit", v->unfit);
	key(b, &f, "vips");
	sb_putc(b, '[');
	for (size_t i = 0; i < v->n_vips; i++) {
		if (i)
			sb_putc(b, ',');
		sb_json_str(b, v->vips[i]);
	}
	sb_putc(b, ']');
	key(b, &f, "master");
	bool m = true;
	sb_putc(b, '{');
	kv_str(b, &m, "address", v->master_address[0] ? v->master_address : NULL);
	kv_u64(b, &m, "priority", v->master_priority);
	sb_putc(b, '}');
	key(b, &f, "trackers");
	sb_putc(b, '[');
	for (size_t i = 0; i < v->n_trackers; i++) {
		bool t = true;
		sb_puts(b, i ? ",{" : "{");
		kv_str(b, &t, "kind", v->trackers[i].kind);
		kv_str(b, &t, "name", v->trackers[i].name);
		kv_bool(b, &t, "ok", v->trackers[i].ok);
		kv_str(b, &t, "state",
		       v->trackers[i].state ? v->trackers[i].state : (v->trackers[i].ok ? "up" : "down"));
		kv_i64(b, &t, "weight", v->trackers[i].weight);
		sb_putc(b, '}');
	}
	sb_putc(b, ']');
	kv_u64(b, &f, "adverts_received_total", v->adverts_received_total);
	kv_u64(b, &f, "adverts_sent_total", v->adverts_sent_total);
	key(b, &f, "transitions_total");
	counts_json(b, v->transitions, v->n_transitions);
	key(b, &f, "adverts_dropped_total");
	counts_json(b, v->drops, v->n_drops);
	sb_putc(b, '}');
}

static void intercept_json(struct strbuf *b, const struct snap_intercept *x)
{
	bool f = true;
	sb_putc(b, '{');
	kv_str(b, &f, "table", "inet buoy");
	kv_bool(b, &f, "owner", x->st.owner);
	kv_str(b, &f, "error", x->st.error[0] ? x->st.error : NULL);
	kv_u64(b, &f, "applies_total", x->st.applies_total);
	kv_u64(b, &f, "failures_total", x->st.failures_total);
	key(b, &f, "rules");
	sb_putc(b, '[');
	for (size_t i = 0; i < x->st.n_items; i++) {
		bool g = true;
		sb_puts(b, i ? ",{" : "{");
		kv_str(b, &g, "listener", x->items[i].listener);
		kv_str(b, &g, "address", x->items[i].address);
		kv_u64(b, &g, "to_port", x->items[i].to_port);
		kv_bool(b, &g, "installed", x->items[i].installed);
		sb_putc(b, '}');
	}
	sb_puts(b, "]}");
}

static int64_t peer_uptime(const struct snap_bgp *g, const struct bgp_peer_status *p)
{
	return p->up && p->since_unix >= 0 && g->now_unix >= p->since_unix ? g->now_unix - p->since_unix : 0;
}

static void bgp_json(struct strbuf *b, const struct snap_bgp *g)
{
	bool f = true;
	char rid[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &g->st.router_id, rid, sizeof(rid));
	sb_putc(b, '{');
	kv_str(b, &f, "router_id", rid);
	kv_bool(b, &f, "bird_running", g->st.bird_running);
	kv_i64(b, &f, "bird_pid", g->st.bird_pid);
	kv_str(b, &f, "bird_error", g->st.bird_error);
	kv_u64(b, &f, "bird_starts_total", g->st.bird_starts_total);
	kv_u64(b, &f, "configures_total", g->st.configures_total);
	kv_u64(b, &f, "configure_failures_total", g->st.configure_failures_total);
	kv_u64(b, &f, "control_errors_total", g->st.ctl_errors_total);
	key(b, &f, "peers");
	sb_putc(b, '[');
	for (size_t i = 0; i < g->st.n_peers; i++) {
		const struct bgp_peer_status *p = &g->peers[i];
		bool t = true;
		sb_puts(b, i ? ",{" : "{");
		kv_str(b, &t, "name", p->name);
		kv_str(b, &t, "address", p->address);
		kv_u64(b, &t, "asn", p->asn);
		kv_str(b, &t, "state", p->state);
		kv_bool(b, &t, "up", p->up);
		kv_i64(b, &t, "uptime_s", peer_uptime(g, p));
		kv_str(b, &t, "bfd", p->bfd);
		sb_putc(b, '}');
	}
	sb_putc(b, ']');
	key(b, &f, "announce");
	sb_putc(b, '[');
	for (size_t i = 0; i < g->st.n_announce; i++) {
		const struct bgp_announce_status *a = &g->announce[i];
		bool t = true;
		sb_puts(b, i ? ",{" : "{");
		kv_str(b, &t, "prefix", a->prefix);
		kv_bool(b, &t, "announced", a->announced);
		kv_bool(b, &t, "wanted", a->wanted);
		kv_bool(b, &t, "degraded", a->degraded);
		kv_str(b, &t, "reason", a->reason);
		sb_putc(b, '}');
	}
	sb_puts(b, "]}");
}

static void sync_json(struct strbuf *b, const struct snap_sync *y)
{
	bool f = true;
	sb_putc(b, '{');
	kv_u64(b, &f, "port", y->st.port);
	kv_u64(b, &f, "peers_configured", y->st.n_peers_cfg);
	kv_u64(b, &f, "local_connections", y->st.local_connections);
	kv_u64(b, &f, "local_cap_hits_total", y->st.local_cap_hits_total);
	kv_u64(b, &f, "log_dropped_total", y->st.log_dropped_total);
	kv_u64(b, &f, "messages_sent_total", y->st.messages_sent_total);
	kv_u64(b, &f, "bytes_sent_total", y->st.bytes_sent_total);
	kv_u64(b, &f, "send_errors_total", y->st.send_errors_total);
	kv_u64(b, &f, "messages_received_total", y->st.messages_received_total);
	key(b, &f, "rejected");
	counts_json(b, y->rejected, y->n_rejected);
	kv_u64(b, &f, "takeovers_total", y->st.takeovers_total);
	kv_u64(b, &f, "tickles_sent_total", y->st.tickles_sent_total);
	kv_u64(b, &f, "tickle_errors_total", y->st.tickle_errors_total);
	kv_u64(b, &f, "tickles_pending", y->st.tickles_pending);
	kv_u64(b, &f, "resets_total", y->st.resets_total);
	kv_u64(b, &f, "peers_lost_total", y->st.peers_lost_total);
	key(b, &f, "peers");
	sb_putc(b, '[');
	for (size_t i = 0; i < y->n_peers; i++) {
		const struct snap_sync_peer *p = &y->peers[i];
		bool t = true;
		sb_puts(b, i ? ",{" : "{");
		kv_str(b, &t, "node", p->st.node);
		kv_str(b, &t, "address", p->st.addr);
		kv_u64(b, &t, "connections", p->st.connections);
		kv_u64(b, &t, "messages_total", p->st.messages_total);
		kv_u64(b, &t, "cap_hits_total", p->st.cap_hits_total);
		kv_u64(b, &t, "gaps_total", p->st.gaps_total);
		kv_u64(b, &t, "refreshes_total", p->st.refreshes_total);
		kv_u64(b, &t, "restarts_total", p->st.restarts_total);
		kv_ago(b, &t, "last_message_age_ms", p->last_message_ago_ms);
		kv_bool(b, &t, "lost", p->st.lost);
		kv_bool(b, &t, "withdrawn", p->st.withdrawn);
		sb_putc(b, '}');
	}
	sb_puts(b, "]}");
}

void status_format_json(const struct snapshot *s, struct strbuf *b)
{
	bool f = true;
	sb_putc(b, '{');
	kv_str(b, &f, "node", s->node);
	kv_str(b, &f, "version", s->version);
	kv_u64(b, &f, "uptime_s", s->uptime_ms / 1000);
	kv_i64(b, &f, "start_time_unix", s->start_time_unix);
	key(b, &f, "vrrp");
	sb_putc(b, '[');
	for (size_t i = 0; i < s->n_vrrp; i++) {
		if (i)
			sb_putc(b, ',');
		vrrp_json(b, &s->vrrp[i]);
	}
	sb_putc(b, ']');
	if (s->bgp.present) {
		key(b, &f, "bgp");
		bgp_json(b, &s->bgp);
	}
	if (s->sync.present) {
		key(b, &f, "sync");
		sync_json(b, &s->sync);
	}
	if (s->intercept.present) {
		key(b, &f, "intercept");
		intercept_json(b, &s->intercept);
	}
	key(b, &f, "fast_path");
	bool fp = true;
	sb_putc(b, '{');
	kv_str(b, &fp, "mode", s->fast_path.mode);
	kv_bool(b, &fp, "active", s->fast_path.active);
	kv_str(b, &fp, "reason", s->fast_path.reason);
	kv_u64(b, &fp, "sockets", s->fast_path.sockets);
	sb_putc(b, '}');
	key(b, &f, "reclaim");
	bool r = true;
	sb_putc(b, '{');
	kv_u64(b, &r, "pending", s->reclaim.pending);
	kv_u64(b, &r, "freed_total", s->reclaim.freed_total);
	kv_u64(b, &r, "configs", s->reclaim.configs);
	sb_putc(b, '}');
	key(b, &f, "listeners");
	sb_putc(b, '[');
	for (size_t i = 0; i < s->n_listeners; i++) {
		if (i)
			sb_putc(b, ',');
		listener_json(b, &s->listeners[i]);
	}
	sb_putc(b, ']');
	key(b, &f, "backends");
	sb_putc(b, '[');
	for (size_t i = 0; i < s->n_backends; i++) {
		if (i)
			sb_putc(b, ',');
		backend_json(b, &s->backends[i]);
	}
	sb_puts(b, "]}\n");
}
