#include "ctl/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vrrp/fsm.h"

/* Label lists are NULL-terminated key, value, key, value... */
#define LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void family(struct strbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void labels_put(struct strbuf *b, const char *const *labels, const char *extra_k, const char *extra_v)
{
	bool any = (labels && labels[0]) || extra_k;
	if (!any)
		return;
	sb_putc(b, '{');
	bool first = true;
	for (size_t i = 0; labels && labels[i]; i += 2) {
		sb_printf(b, "%s%s=\"", first ? "" : ",", labels[i]);
		sb_prom_label(b, labels[i + 1]);
		sb_putc(b, '"');
		first = false;
	}
	if (extra_k) {
		sb_printf(b, "%s%s=\"", first ? "" : ",", extra_k);
		sb_prom_label(b, extra_v);
		sb_putc(b, '"');
	}
	sb_putc(b, '}');
}

static void sample(struct strbuf *b, const char *name, const char *const *labels, uint64_t v)
{
	sb_puts(b, name);
	labels_put(b, labels, NULL, NULL);
	sb_printf(b, " %" PRIu64 "\n", v);
}

/* A family of one unlabelled sample. */
static void scalar(struct strbuf *b, const char *name, const char *type, const char *help, uint64_t v)
{
	family(b, name, type, help);
	sample(b, name, NULL, v);
}

/* name_bucket{...,le="..."} cumulative counts, then _sum (seconds) and _count. */
static void histogram(
	struct strbuf *b, const char *name, const char *const *labels, const struct duration_hist *h)
{
	for (size_t i = 0; i <= DURATION_HIST_BOUNDS; i++) {
		char le[32];
		if (i == DURATION_HIST_BOUNDS)
			snprintf(le, sizeof(le), "+Inf");
		else
			snprintf(le, sizeof(le), "%g", (double)duration_hist_bounds_us[i] / 1e6);
		sb_printf(b, "%s_bucket", name);
		labels_put(b, labels, "le", le);
		sb_printf(b, " %" PRIu64 "\n", duration_hist_cumulative(h, i));
	}
	sb_printf(b, "%s_sum", name);
	labels_put(b, labels, NULL, NULL);
	sb_printf(b, " %.6f\n", (double)h->sum_us / 1e6);
	sb_printf(b, "%s_count", name);
	labels_put(b, labels, NULL, NULL);
	sb_printf(b, " %" PRIu64 "\n", h->count);
}

/* Per-server families: one table row each, so a new one is one line here. */
typedef uint64_t (*server_get)(const struct snap_server *);
static uint64_t sv_up(const struct snap_server *s) { return s->health_up && !s->passive_down; }
static uint64_t sv_drained(const struct snap_server *s) { return s->drained; }
static uint64_t sv_eligible(const struct snap_server *s) { return s->eligible; }
static uint64_t sv_active(const struct snap_server *s) { return s->active; }
static uint64_t sv_conns(const struct snap_server *s) { return s->connections_total; }
static uint64_t sv_fails(const struct snap_server *s) { return s->connect_failures_total; }
static uint64_t sv_checks(const struct snap_server *s) { return s->checks_total; }
static uint64_t sv_checks_failed(const struct snap_server *s) { return s->checks_failed_total; }

static const struct {
	const char *name, *type, *help;
	server_get get;
} server_families[] = {
	{ "buoy_server_up", "gauge",
	  "1 if health checks (active and passive) say the server is up.", sv_up },
	{ "buoy_server_drained", "gauge", "1 if an operator drained the server.", sv_drained },
	{ "buoy_server_eligible", "gauge", "1 if the server gets new connections now.", sv_eligible },
	{ "buoy_server_active_connections", "gauge", "Connections to the server now.", sv_active },
	{ "buoy_server_connections_total", "counter", "Connections established to the server.", sv_conns },
	{ "buoy_server_connect_failures_total", "counter",
	  "Failed connection attempts to the server.", sv_fails },
	{ "buoy_server_health_checks_total", "counter", "Active health checks run.", sv_checks },
	{ "buoy_server_health_checks_failed_total", "counter", "Active health checks that failed.",
	  sv_checks_failed },
};

static void server_metrics(struct strbuf *b, const struct snapshot *s)
{
	for (size_t f = 0; f < sizeof(server_families) / sizeof(server_families[0]); f++) {
		family(b, server_families[f].name, server_families[f].type, server_families[f].help);
		for (size_t i = 0; i < s->n_backends; i++)
			for (size_t j = 0; j < s->backends[i].n_servers; j++) {
				const struct snap_server *sv = &s->backends[i].servers[j];
				sample(b, server_families[f].name,
				       LABELS("backend", s->backends[i].name, "server", sv->address),
				       server_families[f].get(sv));
			}
	}
	family(b, "buoy_server_bytes_total", "counter",
	       "Bytes relayed, direction=to_server (client to server) or from_server.");
	for (size_t i = 0; i < s->n_backends; i++)
		for (size_t j = 0; j < s->backends[i].n_servers; j++) {
			const struct snap_server *sv = &s->backends[i].servers[j];
			const char *bn = s->backends[i].name;
			sample(b, "buoy_server_bytes_total",
			       LABELS("backend", bn, "server", sv->address, "direction", "to_server"),
			       sv->bytes_to_server);
			sample(b, "buoy_server_bytes_total",
			       LABELS("backend", bn, "server", sv->address, "direction", "from_server"),
			       sv->bytes_from_server);
		}
	family(b, "buoy_health_check_duration_seconds", "histogram",
	       "Duration of active health checks.");
	for (size_t i = 0; i < s->n_backends; i++)
		for (size_t j = 0; j < s->backends[i].n_servers; j++) {
			const struct snap_server *sv = &s->backends[i].servers[j];
			histogram(b, "buoy_health_check_duration_seconds",
				  LABELS("backend", s->backends[i].name, "server", sv->address),
				  &sv->check_duration);
		}
}

typedef uint64_t (*backend_get)(const struct snap_backend *);
static uint64_t be_queue(const struct snap_backend *b) { return b->queue_length; }
static uint64_t be_qto(const struct snap_backend *b) { return b->queue_timeouts_total; }
static uint64_t be_qfull(const struct snap_backend *b) { return b->queue_full_total; }
static uint64_t be_nosrv(const struct snap_backend *b) { return b->no_server_total; }

static const struct {
	const char *name, *type, *help;
	backend_get get;
} backend_families[] = {
	{ "buoy_queue_length", "gauge", "Connections waiting for a server slot (max_conns).", be_queue },
	{ "buoy_queue_timeouts_total", "counter", "Queued connections closed after queue_timeout.",
	  be_qto },
	{ "buoy_queue_full_total", "counter",
	  "Connections closed unserved because the backend's queue was at max_queue.", be_qfull },
	{ "buoy_backend_no_server_total", "counter",
	  "Connections closed unserved because no server was available or every try failed (retries exhausted).",
	  be_nosrv },
};

static void backend_metrics(struct strbuf *b, const struct snapshot *s)
{
	for (size_t f = 0; f < sizeof(backend_families) / sizeof(backend_families[0]); f++) {
		family(b, backend_families[f].name, backend_families[f].type, backend_families[f].help);
		for (size_t i = 0; i < s->n_backends; i++)
			sample(b, backend_families[f].name, LABELS("backend", s->backends[i].name),
			       backend_families[f].get(&s->backends[i]));
	}
}

/* Discovery per backend: where its servers come from, and how the watch goes. */
static void discover_metrics(struct strbuf *b, const struct snapshot *s)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} fam[] = {
		{ "buoy_discover_servers", "gauge",
		  "Servers discovery applied to the backend (0: the static list is in use).",
		  offsetof(struct discover_status, n_servers) },
		{ "buoy_discover_events_total", "counter", "Watch events received.",
		  offsetof(struct discover_status, events_total) },
		{ "buoy_discover_applies_total", "counter", "Server lists applied to the backend.",
		  offsetof(struct discover_status, applies_total) },
		{ "buoy_discover_errors_total", "counter",
		  "Discovery failures (unreachable, TLS, HTTP, garbage, stall); the last good list stayed.",
		  offsetof(struct discover_status, errors_total) },
		{ "buoy_discover_relists_total", "counter", "Re-lists after 410 Gone.",
		  offsetof(struct discover_status, relists_total) },
		{ "buoy_discover_last_update_timestamp_seconds", "gauge",
		  "When the API last answered with a usable list (0: never).",
		  offsetof(struct discover_status, last_update_unix_ms) },
	};
	bool any = false;
	for (size_t i = 0; i < s->n_backends; i++)
		any |= s->backends[i].has_discover;
	if (!any)
		return;
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		family(b, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < s->n_backends; i++) {
			const struct snap_backend *be = &s->backends[i];
			if (!be->has_discover)
				continue;
			const char *base = (const char *)&be->discover + fam[f].off;
			uint64_t v = fam[f].off == offsetof(struct discover_status, n_servers)
					     ? *(const size_t *)base
					     : *(const uint64_t *)base;
			if (fam[f].off == offsetof(struct discover_status, last_update_unix_ms))
				v /= 1000;
			sample(b, fam[f].name, LABELS("backend", be->name), v);
		}
	}
	family(b, "buoy_discover_healthy", "gauge",
	       "1 when the last discovery attempt succeeded (last_error empty).");
	for (size_t i = 0; i < s->n_backends; i++)
		if (s->backends[i].has_discover)
			sample(b, "buoy_discover_healthy", LABELS("backend", s->backends[i].name),
			       !s->backends[i].discover.last_error[0]);
}

typedef uint64_t (*listener_get)(const struct snap_listener *);
static uint64_t li_acc(const struct snap_listener *l) { return l->accepted_total; }
static uint64_t li_rej(const struct snap_listener *l) { return l->rejected_total; }
static uint64_t li_empty(const struct snap_listener *l) { return l->empty_total; }
static uint64_t li_fp(const struct snap_listener *l) { return l->fast_path_total; }
static uint64_t li_fp_now(const struct snap_listener *l) { return l->fast_path_active; }

static const struct {
	const char *name, *type, *help;
	listener_get get;
} listener_families[] = {
	{ "buoy_listener_connections_total", "counter", "Connections accepted by the listener.", li_acc },
	{ "buoy_listener_rejected_total", "counter",
	  "Connections accepted and closed unserved: no server available, every try failed, the queue was full or timed out.",
	  li_rej },
	{ "buoy_listener_empty_total", "counter",
	  "Connections the client closed before sending a byte (TCP probes): no server connection was opened.",
	  li_empty },
	{ "buoy_listener_fast_path_total", "counter",
	  "Connections moved to the kernel fast path (after their first exchange).", li_fp },
	{ "buoy_listener_fast_path_active", "gauge", "Connections in the kernel fast path now.",
	  li_fp_now },
};

/* UDP listeners' families, present only when one is configured. */
static void udp_listener_metrics(struct strbuf *b, const struct snapshot *s)
{
	bool any = false;
	for (size_t i = 0; i < s->n_listeners; i++)
		any |= s->listeners[i].udp;
	if (!any)
		return;
#define EACH_UDP(l) \
	for (const struct snap_listener *l = s->listeners; l < s->listeners + s->n_listeners; l++) \
		if (l->udp)
	family(b, "buoy_listener_udp_sessions_total", "counter",
	       "UDP sessions opened (a new client address:port).");
	EACH_UDP(l)
	sample(b, "buoy_listener_udp_sessions_total",
	       LABELS("listener", l->name, "backend", l->backend), l->u.sessions_total);
	family(b, "buoy_listener_udp_sessions", "gauge",
	       "UDP sessions open now (max_sessions caps it).");
	EACH_UDP(l)
	sample(b, "buoy_listener_udp_sessions", LABELS("listener", l->name, "backend", l->backend),
	       l->u.sessions_active);
	family(b, "buoy_listener_udp_datagrams_total", "counter",
	       "UDP datagrams relayed: direction in = client to server, out = server to client.");
	EACH_UDP(l)
	{
		sample(b, "buoy_listener_udp_datagrams_total",
		       LABELS("listener", l->name, "backend", l->backend, "direction", "in"),
		       l->u.datagrams_in);
		sample(b, "buoy_listener_udp_datagrams_total",
		       LABELS("listener", l->name, "backend", l->backend, "direction", "out"),
		       l->u.datagrams_out);
	}
	family(b, "buoy_listener_udp_bytes_total", "counter",
	       "UDP payload bytes relayed, by direction.");
	EACH_UDP(l)
	{
		sample(b, "buoy_listener_udp_bytes_total",
		       LABELS("listener", l->name, "backend", l->backend, "direction", "in"),
		       l->u.bytes_in);
		sample(b, "buoy_listener_udp_bytes_total",
		       LABELS("listener", l->name, "backend", l->backend, "direction", "out"),
		       l->u.bytes_out);
	}
	family(b, "buoy_listener_udp_drops_total", "counter",
	       "UDP datagrams dropped, by reason: session_cap, no_server, local, to_server, to_client, truncated.");
	EACH_UDP(l)
	for (size_t d = 0; d < SNAP_UDP_DROPS; d++)
		sample(b, "buoy_listener_udp_drops_total",
		       LABELS("listener", l->name, "backend", l->backend, "reason",
			      snap_udp_drop_name(d)),
		       l->u.drops[d]);
#undef EACH_UDP
}

static void listener_metrics(struct strbuf *b, const struct snapshot *s)
{
	udp_listener_metrics(b, s);
	for (size_t f = 0; f < sizeof(listener_families) / sizeof(listener_families[0]); f++) {
		family(b, listener_families[f].name, listener_families[f].type,
		       listener_families[f].help);
		for (size_t i = 0; i < s->n_listeners; i++)
			if (!s->listeners[i].udp)
				sample(b, listener_families[f].name,
				       LABELS("listener", s->listeners[i].name, "backend",
					      s->listeners[i].backend),
				       listener_families[f].get(&s->listeners[i]));
	}
}

static void bgp_metrics(struct strbuf *b, const struct snapshot *s)
{
	const struct snap_bgp *g = &s->bgp;
	if (!g->present)
		return;
	scalar(b, "buoy_bgp_bird_running", "gauge", "1 while buoy's BIRD child runs.",
	       g->st.bird_running);
	scalar(b, "buoy_bgp_bird_starts_total", "counter",
	       "BIRD child starts (the first and every restart).", g->st.bird_starts_total);
	scalar(b, "buoy_bgp_configure_failures_total", "counter",
	       "configure commands BIRD refused.", g->st.configure_failures_total);
	family(b, "buoy_bgp_session_up", "gauge",
	       "1 while the BGP session with the peer is Established.");
	for (size_t i = 0; i < g->st.n_peers; i++)
		sample(b, "buoy_bgp_session_up",
		       LABELS("peer", g->peers[i].name, "address", g->peers[i].address),
		       g->peers[i].up);
	family(b, "buoy_bgp_session_uptime_seconds", "gauge",
	       "Seconds the session has been Established (0 when down).");
	for (size_t i = 0; i < g->st.n_peers; i++) {
		const struct bgp_peer_status *p = &g->peers[i];
		uint64_t up = p->up && p->since_unix >= 0 && g->now_unix >= p->since_unix
				      ? (uint64_t)(g->now_unix - p->since_unix)
				      : 0;
		sample(b, "buoy_bgp_session_uptime_seconds",
		       LABELS("peer", p->name, "address", p->address), up);
	}
	family(b, "buoy_bgp_bfd_up", "gauge",
	       "1 while the peer's BFD session is Up (peers with bfd: false are not listed).");
	for (size_t i = 0; i < g->st.n_peers; i++)
		if (strcmp(g->peers[i].bfd, "off") != 0)
			sample(b, "buoy_bgp_bfd_up",
			       LABELS("peer", g->peers[i].name, "address", g->peers[i].address),
			       strcmp(g->peers[i].bfd, "up") == 0);
	family(b, "buoy_vip_announced", "gauge",
	       "1 while the anycast VIP is announced by BGP (BIRD confirmed it).");
	for (size_t i = 0; i < g->st.n_announce; i++)
		sample(b, "buoy_vip_announced", LABELS("prefix", g->announce[i].prefix, NULL, NULL),
		       g->announce[i].announced);
	family(b, "buoy_bgp_announce_degraded", "gauge",
	       "1 while the VIP is announced with a worse path (its backends are down; the router prefers fit nodes).");
	for (size_t i = 0; i < g->st.n_announce; i++)
		sample(b, "buoy_bgp_announce_degraded",
		       LABELS("prefix", g->announce[i].prefix, NULL, NULL), g->announce[i].degraded);
}

typedef uint64_t (*sync_peer_get)(const struct sync_peer_status *);
static uint64_t sp_conns(const struct sync_peer_status *p) { return p->connections; }
static uint64_t sp_msgs(const struct sync_peer_status *p) { return p->messages_total; }
static uint64_t sp_caps(const struct sync_peer_status *p) { return p->cap_hits_total; }
static uint64_t sp_gaps(const struct sync_peer_status *p) { return p->gaps_total; }
static uint64_t sp_restarts(const struct sync_peer_status *p) { return p->restarts_total; }

static const struct {
	const char *name, *type, *help;
	sync_peer_get get;
} sync_peer_families[] = {
	{ "buoy_sync_peer_connections", "gauge", "Connections the peer node holds, as it told us.",
	  sp_conns },
	{ "buoy_sync_peer_messages_total", "counter", "Sync messages accepted from the peer node.",
	  sp_msgs },
	{ "buoy_sync_cap_hits_total", "counter",
	  "Peer connections not stored: its table was at sync max_entries.", sp_caps },
	{ "buoy_sync_gaps_total", "counter",
	  "Sync messages from the peer lost in between (seq jumps).", sp_gaps },
	{ "buoy_sync_peer_restarts_total", "counter",
	  "Times the peer node restarted (a new epoch after the first).", sp_restarts },
};

static void sync_metrics(struct strbuf *b, const struct snapshot *s)
{
	const struct snap_sync *y = &s->sync;
	if (!y->present)
		return;
	scalar(b, "buoy_sync_local_connections", "gauge",
	       "This node's connections to a VRRP VIP or anycast address, as announced to peers.",
	       y->st.local_connections);
	scalar(b, "buoy_sync_local_cap_hits_total", "counter",
	       "This node's connections not tracked: its table was at sync max_entries.",
	       y->st.local_cap_hits_total);
	scalar(b, "buoy_sync_log_dropped_total", "counter",
	       "Connection log events the workers lost (full ring; a resync follows).",
	       y->st.log_dropped_total);
	scalar(b, "buoy_sync_messages_sent_total", "counter",
	       "Sync datagrams sent (one per peer per message).", y->st.messages_sent_total);
	scalar(b, "buoy_sync_bytes_sent_total", "counter", "Sync bytes sent.", y->st.bytes_sent_total);
	scalar(b, "buoy_sync_send_errors_total", "counter", "Sync datagrams the kernel refused.",
	       y->st.send_errors_total);
	scalar(b, "buoy_sync_messages_received_total", "counter",
	       "Sync datagrams read, accepted or not.", y->st.messages_received_total);
	family(b, "buoy_sync_rejected_total", "counter", "Sync datagrams not used, by reason.");
	for (size_t i = 0; i < y->n_rejected; i++)
		sample(b, "buoy_sync_rejected_total", LABELS("reason", y->rejected[i].label),
		       y->rejected[i].value);
	for (size_t f = 0; f < sizeof(sync_peer_families) / sizeof(sync_peer_families[0]); f++) {
		family(b, sync_peer_families[f].name, sync_peer_families[f].type,
		       sync_peer_families[f].help);
		for (size_t i = 0; i < y->n_peers; i++)
			sample(b, sync_peer_families[f].name, LABELS("peer", y->peers[i].st.node),
			       sync_peer_families[f].get(&y->peers[i].st));
	}
	scalar(b, "buoy_sync_takeovers_total", "counter",
	       "VRRP takeovers that tickled the peers' clients.", y->st.takeovers_total);
	scalar(b, "buoy_sync_peers_lost_total", "counter",
	       "Anycast peers gone (silent for peer_timeout, or withdrawn): their clients tickled.",
	       y->st.peers_lost_total);
	scalar(b, "buoy_sync_resets_total", "counter",
	       "Own connections closed at once on a VRRP handover.", y->st.resets_total);
	scalar(b, "buoy_tickles_sent_total", "counter", "Tickle ACKs sent to clients.",
	       y->st.tickles_sent_total);
	scalar(b, "buoy_tickle_errors_total", "counter", "Tickle ACKs the kernel refused.",
	       y->st.tickle_errors_total);
	scalar(b, "buoy_tickles_pending", "gauge", "Tickle ACKs queued now (both rounds).",
	       y->st.tickles_pending);
}

static void intercept_metrics(struct strbuf *b, const struct snapshot *s)
{
	const struct snap_intercept *x = &s->intercept;
	if (!x->present)
		return;
	family(b, "buoy_intercept_installed", "gauge",
	       "1 while nftables redirects the address to the listener (table inet buoy).");
	for (size_t i = 0; i < x->st.n_items; i++)
		sample(b, "buoy_intercept_installed",
		       LABELS("listener", x->items[i].listener, "address", x->items[i].address),
		       x->items[i].installed);
	scalar(b, "buoy_intercept_failures_total", "counter",
	       "nftables transactions the kernel refused (start, reload).", x->st.failures_total);
}

static void vrrp_metrics(struct strbuf *b, const struct snapshot *s)
{
	family(b, "buoy_vrrp_state", "gauge", "One-hot VRRP state: 1 for the current state label.");
	for (size_t i = 0; i < s->n_vrrp; i++)
		for (enum vrrp_state k = 0; k < VRRP_STATE__COUNT; k++)
			sample(b, "buoy_vrrp_state",
			       LABELS("instance", s->vrrp[i].name, "state", vrrp_state_label(k)),
			       s->vrrp[i].state && strcmp(s->vrrp[i].state, vrrp_state_label(k)) == 0);
	family(b, "buoy_vrrp_priority", "gauge",
	       "VRRP priority, kind=base (configured) or effective (trackers applied).");
	for (size_t i = 0; i < s->n_vrrp; i++) {
		sample(b, "buoy_vrrp_priority", LABELS("instance", s->vrrp[i].name, "kind", "base"),
		       s->vrrp[i].base_priority);
		sample(b, "buoy_vrrp_priority",
		       LABELS("instance", s->vrrp[i].name, "kind", "effective"),
		       s->vrrp[i].effective_priority);
	}
	family(b, "buoy_vrrp_unfit", "gauge",
	       "1 while the instance's tracked backends are all down: it advertises priority 1 and keeps the VIP only while no fit node can take it.");
	for (size_t i = 0; i < s->n_vrrp; i++)
		sample(b, "buoy_vrrp_unfit", LABELS("instance", s->vrrp[i].name), s->vrrp[i].unfit);
	family(b, "buoy_vrrp_transitions_total", "counter", "VRRP state changes, by the state entered.");
	for (size_t i = 0; i < s->n_vrrp; i++)
		for (size_t k = 0; k < s->vrrp[i].n_transitions; k++)
			sample(b, "buoy_vrrp_transitions_total",
			       LABELS("instance", s->vrrp[i].name, "to", s->vrrp[i].transitions[k].label),
			       s->vrrp[i].transitions[k].value);
	family(b, "buoy_vrrp_adverts_received_total", "counter", "VRRP adverts received and accepted.");
	for (size_t i = 0; i < s->n_vrrp; i++)
		sample(b, "buoy_vrrp_adverts_received_total", LABELS("instance", s->vrrp[i].name),
		       s->vrrp[i].adverts_received_total);
	family(b, "buoy_vrrp_adverts_sent_total", "counter", "VRRP adverts sent.");
	for (size_t i = 0; i < s->n_vrrp; i++)
		sample(b, "buoy_vrrp_adverts_sent_total", LABELS("instance", s->vrrp[i].name),
		       s->vrrp[i].adverts_sent_total);
	family(b, "buoy_vrrp_adverts_dropped_total", "counter", "VRRP packets dropped, by reason.");
	for (size_t i = 0; i < s->n_vrrp; i++)
		for (size_t k = 0; k < s->vrrp[i].n_drops; k++)
			sample(b, "buoy_vrrp_adverts_dropped_total",
			       LABELS("instance", s->vrrp[i].name, "reason", s->vrrp[i].drops[k].label),
			       s->vrrp[i].drops[k].value);
}

void metrics_format(const struct snapshot *s, struct strbuf *b)
{
	family(b, "buoy_build_info", "gauge", "Always 1; the labels say which buoy this is.");
	sample(b, "buoy_build_info", LABELS("version", s->version, "node", s->node), 1);
	scalar(b, "buoy_start_time_seconds", "gauge", "Start time of the daemon, Unix seconds.",
	       (uint64_t)(s->start_time_unix > 0 ? s->start_time_unix : 0));
	listener_metrics(b, s);
	backend_metrics(b, s);
	discover_metrics(b, s);
	server_metrics(b, s);
	if (s->n_vrrp) /* a node-local balancer has no VRRP families at all */
		vrrp_metrics(b, s);
	bgp_metrics(b, s);
	sync_metrics(b, s);
	intercept_metrics(b, s);
	scalar(b, "buoy_fast_path_active", "gauge",
	       "1 while the kernel fast path is loaded (fast_path: auto or sockmap).",
	       s->fast_path.active);
	scalar(b, "buoy_fast_path_sockets", "gauge", "Sockets in the fast path's sockhash now.",
	       s->fast_path.sockets);
	scalar(b, "buoy_reclaim_pending", "gauge",
	       "Objects reloads and discovery replaced that a connection or a grace period still holds.",
	       s->reclaim.pending);
	scalar(b, "buoy_reclaim_freed_total", "counter", "Replaced objects freed.",
	       s->reclaim.freed_total);
	scalar(b, "buoy_reclaim_configs", "gauge",
	       "Config objects alive: the one in force and any still held.", s->reclaim.configs);
}
