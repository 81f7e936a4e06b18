/* The compact human table of `buoy status`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "ctl/status.h"
#include "track/track.h"

#define TABLE_MAX_COLS 12
#define CELL_MAX 160

/* Rows of cells, printed with every column as wide as its widest cell. */
struct table {
	size_t ncols, nrows, cap;
	char (*cells)[CELL_MAX];
};

static char *table_cell(struct table *t, size_t row, size_t col)
{
	return t->cells[row * t->ncols + col];
}

/* Appends a row; returns false on allocation failure (the table is then printed without it). */
static bool table_row(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		void *p = realloc(t->cells, cap * t->ncols * CELL_MAX);
		if (!p)
			return false;
		t->cells = p;
		t->cap = cap;
	}
	for (size_t c = 0; c < t->ncols; c++)
		snprintf(table_cell(t, t->nrows, c), CELL_MAX, "%s", cells[c] ? cells[c] : "");
	t->nrows++;
	return true;
}

static void table_print(struct table *t, struct strbuf *b)
{
	size_t w[TABLE_MAX_COLS] = { 0 };
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t n = strlen(table_cell(t, r, c));
			if (n > w[c])
				w[c] = n;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = table_cell(t, r, c);
			if (c + 1 == t->ncols)
				sb_printf(b, "%s\n", cell);
			else
				sb_printf(b, "%-*s  ", (int)w[c], cell);
		}
	}
	free(t->cells);
	*t = (struct table){ 0 };
}

void format_bytes(uint64_t n, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	if (n < 1024) {
		snprintf(buf, len, "%" PRIu64, n);
		return;
	}
	double v = (double)n;
	size_t u = 0;
	for (v /= 1024; v >= 1024 && u + 1 < sizeof(units) - 1; u++)
		v /= 1024;
	snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

void format_ago(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;
	if (ms == SNAP_NEVER)
		snprintf(buf, len, "never");
	else if (ms < 1000)
		snprintf(buf, len, "%" PRIu64 "ms", ms);
	else if (s < 60)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "s", s, (ms % 1000) / 100);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, (s % 3600) / 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, (s % 86400) / 3600);
}

static void vrrp_table(const struct snapshot *s, struct strbuf *b)
{
	struct table t = { .ncols = 7 };
	table_row(&t, (const char *[]){ "VRRP", "STATE", "PRIO", "MASTER", "SINCE", "VIPS", "TRACKERS" });
	for (size_t i = 0; i < s->n_vrrp; i++) {
		const struct snap_vrrp *v = &s->vrrp[i];
		char prio[32], since[32], vips[CELL_MAX] = "", trk[CELL_MAX] = "", master[96];
		snprintf(prio, sizeof(prio), "%u/%u%s", v->effective_priority, v->base_priority,
			 v->unfit ? " UNFIT" : "");
		format_ago(v->state_since_ago_ms, since, sizeof(since));
		snprintf(master, sizeof(master), "%s", v->master_address[0] ? v->master_address : "-");
		for (size_t k = 0; k < v->n_vips; k++)
			snprintf(vips + strlen(vips), sizeof(vips) - strlen(vips), "%s%s",
				 k ? "," : "", v->vips[k]);
		for (size_t k = 0; k < v->n_trackers; k++)
			snprintf(trk + strlen(trk), sizeof(trk) - strlen(trk), "%s%s:%s=%s",
				 k ? "," : "", v->trackers[k].kind, v->trackers[k].name,
				 v->trackers[k].ok ? "ok"
				 : v->trackers[k].state && strcmp(v->trackers[k].state,
								  track_state_name(TRACK_INIT)) == 0
					 ? "init"
					 : "FAIL");
		table_row(&t, (const char *[]){ v->name, v->state, prio, master, since, vips,
						trk[0] ? trk : "-" });
	}
	table_print(&t, b);
}

static void intercept_table(const struct snapshot *s, struct strbuf *b)
{
	const struct snap_intercept *x = &s->intercept;
	if (x->st.error[0])
		sb_printf(b, "intercept: %s\n", x->st.error);
	struct table t = { .ncols = 4 };
	table_row(&t, (const char *[]){ "INTERCEPT", "LISTENER", "TO", "INSTALLED" });
	for (size_t i = 0; i < x->st.n_items; i++) {
		char to[16];
		snprintf(to, sizeof(to), ":%u", x->items[i].to_port);
		table_row(&t, (const char *[]){ x->items[i].address, x->items[i].listener, to,
						x->items[i].installed ? "yes" : "NO" });
	}
	table_print(&t, b);
}

static void bgp_tables(const struct snapshot *s, struct strbuf *b)
{
	const struct snap_bgp *g = &s->bgp;
	if (!g->st.bird_running || *g->st.bird_error)
		sb_printf(b, "bird: %s%s%s\n", g->st.bird_running ? "running" : "NOT RUNNING",
			  *g->st.bird_error ? ", " : "", g->st.bird_error);
	struct table t = { .ncols = 6 };
	table_row(&t, (const char *[]){ "BGP PEER", "ADDRESS", "ASN", "STATE", "SINCE", "BFD" });
	for (size_t i = 0; i < g->st.n_peers; i++) {
		const struct bgp_peer_status *p = &g->peers[i];
		char asn[16], since[32] = "-";
		snprintf(asn, sizeof(asn), "%u", p->asn);
		if (p->since_unix >= 0 && g->now_unix >= p->since_unix)
			format_ago((uint64_t)(g->now_unix - p->since_unix) * 1000, since, sizeof(since));
		table_row(&t, (const char *[]){ p->name, p->address, asn, p->state, since,
						*p->bfd ? p->bfd : "-" });
	}
	table_print(&t, b);
	sb_putc(b, '\n');
	struct table a = { .ncols = 3 };
	table_row(&a, (const char *[]){ "ANNOUNCE", "ANNOUNCED", "REASON" });
	for (size_t i = 0; i < g->st.n_announce; i++) {
		const struct bgp_announce_status *x = &g->announce[i];
		table_row(&a,
			  (const char *[]){
				  x->prefix,
				  !x->announced ? "NO"
				  : x->degraded ? "DEGRADED"
						: "yes",
				  x->reason });
	}
	table_print(&a, b);
}

/* UDP listeners: sessions, datagrams each way, drops by reason ("-" when none). */
static void udp_listener_table(const struct snapshot *s, struct strbuf *b, bool gap)
{
	struct table t = { .ncols = 8 };
	table_row(&t, (const char *[]){ "UDP LISTENER", "BIND", "BACKEND", "SESSIONS", "ACTIVE",
					"DGRAMS IN", "DGRAMS OUT", "DROPS" });
	for (size_t i = 0; i < s->n_listeners; i++) {
		const struct snap_listener *l = &s->listeners[i];
		if (!l->udp)
			continue;
		char tot[24], act[24], in[24], out[24], drops[256] = "-";
		snprintf(tot, sizeof(tot), "%" PRIu64, l->u.sessions_total);
		snprintf(act, sizeof(act), "%" PRIu64, l->u.sessions_active);
		snprintf(in, sizeof(in), "%" PRIu64, l->u.datagrams_in);
		snprintf(out, sizeof(out), "%" PRIu64, l->u.datagrams_out);
		size_t off = 0;
		for (size_t d = 0; d < SNAP_UDP_DROPS && off < sizeof(drops); d++)
			if (l->u.drops[d])
				off += (size_t)snprintf(
					drops + off, sizeof(drops) - off, "%s%s=%" PRIu64,
					off ? " " : "", snap_udp_drop_name(d), l->u.drops[d]);
		table_row(&t, (const char *[]){ l->name, l->bind, l->backend, tot, act, in, out, drops });
	}
	if (gap)
		sb_putc(b, '\n');
	table_print(&t, b);
}

static void listener_table(const struct snapshot *s, struct strbuf *b)
{
	struct table t = { .ncols = 6 };
	table_row(&t, (const char *[]){ "LISTENER", "BIND", "BACKEND", "ACCEPTED", "REJECTED", "EMPTY" });
	size_t n_udp = 0;
	for (size_t i = 0; i < s->n_listeners; i++) {
		const struct snap_listener *l = &s->listeners[i];
		char acc[24], rej[24], emp[24];
		if (l->udp) {
			n_udp++;
			continue;
		}
		snprintf(acc, sizeof(acc), "%" PRIu64, l->accepted_total);
		snprintf(rej, sizeof(rej), "%" PRIu64, l->rejected_total);
		snprintf(emp, sizeof(emp), "%" PRIu64, l->empty_total);
		table_row(&t, (const char *[]){ l->name, l->bind, l->backend, acc, rej, emp });
	}
	if (n_udp < s->n_listeners || !n_udp)
		table_print(&t, b);
	else
		free(t.cells);
	if (n_udp)
		udp_listener_table(s, b, n_udp < s->n_listeners);
}

/* "HTTP 200 (3 ok, 0.4s ago)", "timeout (2 fail, 1.0s ago)", "no check", "pending". */
static void check_cell(const struct snap_backend *be, const struct snap_server *sv, char *buf, size_t len)
{
	char ago[32];
	if (strcmp(be->health_type, health_type_name(HEALTH_NONE)) == 0) {
		snprintf(buf, len, "no check");
		return;
	}
	if (sv->last_check_ago_ms == SNAP_NEVER) {
		snprintf(buf, len, "pending");
		return;
	}
	format_ago(sv->last_check_ago_ms, ago, sizeof(ago));
	bool ok = strcmp(sv->last_result, "ok") == 0;
	snprintf(buf, len, "%s (%u %s, %s ago)", sv->reason[0] ? sv->reason : sv->last_result,
		 ok ? sv->consecutive_ok : sv->consecutive_fail, ok ? "ok" : "fail", ago);
}

static void server_row(struct table *t, const struct snap_backend *be, const struct snap_server *sv)
{
	char check[CELL_MAX], active[16], total[24], to[16], from[16], fails[24], state[32];
	snprintf(state, sizeof(state), "%s%s%s", snap_server_state(sv),
		 sv->backup ? " (backup)" : "", sv->passive_down && !sv->drained ? " (passive)" : "");
	check_cell(be, sv, check, sizeof(check));
	snprintf(active, sizeof(active), "%u", sv->active);
	snprintf(total, sizeof(total), "%" PRIu64, sv->connections_total);
	format_bytes(sv->bytes_to_server, to, sizeof(to));
	format_bytes(sv->bytes_from_server, from, sizeof(from));
	snprintf(fails, sizeof(fails), "%" PRIu64, sv->connect_failures_total);
	table_row(t, (const char *[]){
			     be->name, sv->address, state, check, active, total, to, from, fails });
}

static void backend_tables(const struct snapshot *s, struct strbuf *b)
{
	struct table t = { .ncols = 6 };
	table_row(&t, (const char *[]){
			      "BACKEND", "BALANCE", "CHECK", "ELIGIBLE", "QUEUE", "QUEUE_TIMEOUTS" });
	for (size_t i = 0; i < s->n_backends; i++) {
		const struct snap_backend *be = &s->backends[i];
		size_t el = 0;
		for (size_t j = 0; j < be->n_servers; j++)
			el += be->servers[j].eligible;
		char elig[32], q[16], qt[24];
		snprintf(elig, sizeof(elig), "%zu/%zu", el, be->n_servers);
		snprintf(q, sizeof(q), "%u", be->queue_length);
		snprintf(qt, sizeof(qt), "%" PRIu64, be->queue_timeouts_total);
		table_row(&t, (const char *[]){ be->name, be->balance, be->health_type, elig, q, qt });
	}
	table_print(&t, b);
	for (size_t i = 0; i < s->n_backends; i++) {
		const struct discover_status *d = &s->backends[i].discover;
		if (s->backends[i].has_discover)
			sb_printf(b, "discover %s: %s, %s via %s, rv %s, %zu servers%s%s\n",
				  s->backends[i].name, d->source, d->state, d->api,
				  d->rv[0] ? d->rv : "-", d->n_servers,
				  d->last_error[0] ? ", error: " : "", d->last_error);
	}
	sb_putc(b, '\n');
	t = (struct table){ .ncols = 9 };
	table_row(&t, (const char *[]){ "BACKEND", "SERVER", "STATE", "CHECK", "ACTIVE", "CONNS",
					"TO_SERVER", "FROM_SERVER", "CONNECT_FAILS" });
	for (size_t i = 0; i < s->n_backends; i++)
		for (size_t j = 0; j < s->backends[i].n_servers; j++)
			server_row(&t, &s->backends[i], &s->backends[i].servers[j]);
	table_print(&t, b);
}

/* A header line, one row per peer heard from, then the totals an operator checks after a
 * takeover (tickles) or when peers seem silent (rejections, by reason). */
static void sync_tables(const struct snapshot *s, struct strbuf *b)
{
	const struct snap_sync *y = &s->sync;
	sb_printf(b, "sync: port %u, %zu peers configured, %" PRIu64 " local connections\n",
		  y->st.port, y->st.n_peers_cfg, y->st.local_connections);
	struct table t = { .ncols = 4 };
	table_row(&t, (const char *[]){ "SYNC PEER", "ADDRESS", "CONNS", "LAST_MESSAGE" });
	for (size_t i = 0; i < y->n_peers; i++) {
		const struct snap_sync_peer *p = &y->peers[i];
		char conns[24], last[48];
		snprintf(conns, sizeof(conns), "%" PRIu64, p->st.connections);
		format_ago(p->last_message_ago_ms, last, sizeof(last));
		if (p->st.lost || p->st.withdrawn) /* anycast: why its clients were tickled */
			snprintf(last + strlen(last), sizeof(last) - strlen(last), " (%s)",
				 p->st.lost ? "lost" : "withdrawn");
		table_row(&t,
			  (const char *[]){ p->st.node, p->st.addr[0] ? p->st.addr : "-", conns, last });
	}
	table_print(&t, b);
	uint64_t rejected = 0;
	for (size_t i = 0; i < y->n_rejected; i++)
		rejected += y->rejected[i].value;
	sb_printf(b, "tickles sent %" PRIu64 ", rejected %" PRIu64, y->st.tickles_sent_total, rejected);
	const char *sep = " (";
	for (size_t i = 0; i < y->n_rejected; i++)
		if (y->rejected[i].value) {
			sb_printf(b, "%s%s %" PRIu64, sep, y->rejected[i].label, y->rejected[i].value);
			sep = ", ";
		}
	if (sep[0] == ',') /* some reason was listed */
		sb_putc(b, ')');
	if (y->st.tickle_errors_total)
		sb_printf(b, ", tickle errors %" PRIu64, y->st.tickle_errors_total);
	if (y->st.send_errors_total)
		sb_printf(b, ", send errors %" PRIu64, y->st.send_errors_total);
	if (y->st.log_dropped_total)
		sb_printf(b, ", log events dropped %" PRIu64, y->st.log_dropped_total);
	sb_putc(b, '\n');
}

void status_format_text(const struct snapshot *s, struct strbuf *b)
{
	char up[32];
	format_ago(s->uptime_ms, up, sizeof(up));
	sb_printf(b, "node %s  version %s  uptime %s\n\n", s->node, s->version, up);
	if (s->n_vrrp) {
		vrrp_table(s, b);
		sb_putc(b, '\n');
	}
	if (s->bgp.present) {
		bgp_tables(s, b);
		sb_putc(b, '\n');
	}
	if (s->sync.present) {
		sync_tables(s, b);
		sb_putc(b, '\n');
	}
	if (s->intercept.present && s->intercept.st.n_items) {
		intercept_table(s, b);
		sb_putc(b, '\n');
	}
	listener_table(s, b);
	/* only when asked for: the relay is the usual path */
	if (s->fast_path.mode && strcmp(s->fast_path.mode, "off") != 0) {
		uint64_t moved = 0, now = 0;
		for (size_t i = 0; i < s->n_listeners; i++) {
			moved += s->listeners[i].fast_path_total;
			now += s->listeners[i].fast_path_active;
		}
		if (s->fast_path.active)
			sb_printf(b,
				  "fast path (%s): %" PRIu64
				  " connections in the kernel now, %" PRIu64 " moved there in all\n",
				  s->fast_path.mode, now, moved);
		else
			sb_printf(b, "fast path (%s): not in use: %s\n", s->fast_path.mode,
				  s->fast_path.reason);
	}
	sb_putc(b, '\n');
	backend_tables(s, b);
	if (s->reclaim.pending) /* only while connections from before a change are open */
		sb_printf(b,
			  "\nreplaced by reloads or discovery and still in use: %" PRIu64
			  " objects, %" PRIu64 " configs in memory\n",
			  s->reclaim.pending, s->reclaim.configs);
}
