/* Discovery, the module (see discover.h): watchers per backend, what a LIST / event / member
 * list means for the backend (merge.h's rule), the apply call, reloads, status. */
#include "discover/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

struct discover {
	struct loop *loop;
	discover_apply_fn apply;
	void *arg;
	struct dwatch **w;
	size_t n;
	const struct config *held; /* the last reconfigure's: the watchers' strings live there */
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Hands `set` (plus the static backups) to the daemon. */
static void apply_set(struct dwatch *w, const struct disc_set *set, const char *why)
{
	enum disc_verdict v = disc_decide(&w->applied, set);
	w->empty_kept = v == DISC_KEEP_EMPTY;
	if (v == DISC_KEEP_EMPTY) {
		log_warn("discovery: empty list not applied", "backend=%s rv=%s", w->backend,
			 w->view.rv[0] ? w->view.rv : "-");
		return;
	}
	w->last_update_unix_ms = wall_ms();
	w->last_error[0] = 0;
	if (v == DISC_SAME && w->have_applied)
		return;
	size_t n = set->n + w->n_backups;
	struct cfg_server *sv = calloc(n, sizeof(*sv));
	if (!sv)
		return;
	for (size_t i = 0; i < set->n; i++) {
		dw_ep_addr(&set->eps[i], &sv[i].addr);
		sv[i].weight = 1;
		sv[i].discovered = true;
	}
	memcpy(sv + set->n, w->backups, w->n_backups * sizeof(*sv));
	struct disc_set before = w->applied;
	bool had = w->have_applied;
	w->applied = *set; /* first: the reload's overlay reads it */
	w->have_applied = true;
	char err[512] = "";
	if (w->d->apply(w->d->arg, w->backend, sv, n, err, sizeof(err)) < 0) {
		w->applied = before;
		w->have_applied = had;
		snprintf(w->last_error, sizeof(w->last_error), "apply failed: %.150s", err);
		log_error("discovery: apply failed", "backend=%s reason=\"%s\"", w->backend, err);
	} else {
		w->applies_total++;
		log_info("discovery applied", "backend=%s servers=%zu rv=%s via=%s", w->backend,
			 set->n, w->view.rv[0] ? w->view.rv : "-", why);
	}
	free(sv);
}

int dw_on_body(struct dwatch *w, const char *body, size_t len)
{
	char err[KUBE_ERR_LEN];
	struct disc_set set;
	if (w->cfg.kind == DISCOVER_ETCD) {
		struct etcd_members m;
		if (etcd_decode_members(body, len, &m, err, sizeof(err)) < 0) {
			dw_fail(w, "member list: %s", err);
			return -1;
		}
		dw_close(w);
		dw_on_success(w);
		disc_set_from_etcd(&set, &m);
		apply_set(w, &set, "member-list");
		w->state = DW_BACKOFF; /* the next poll */
		timer_arm_in(w->loop, &w->retry, w->cfg.interval_ms);
		return 0;
	}
	struct kube_list *l = malloc(sizeof(*l));
	if (!l || kube_decode_list(body, len, w->kind, l, err, sizeof(err)) < 0) {
		free(l);
		dw_fail(w, "LIST: %s", l ? err : "out of memory");
		return -1;
	}
	disc_view_from_list(&w->view, l);
	free(l);
	dw_on_success(w);
	disc_view_flatten(&w->view, &set);
	apply_set(w, &set, "list");
	w->watching = true; /* then WATCH from the list's resourceVersion */
	dw_begin(w);
	return 0;
}

int dw_on_line(const char *line, size_t len, void *arg)
{
	struct dwatch *w = arg;
	char err[KUBE_ERR_LEN];
	struct kube_event *ev = malloc(sizeof(*ev));
	if (!ev || kube_decode_event(line, len, w->kind, ev, err, sizeof(err)) < 0) {
		free(ev);
		dw_fail(w, "watch event: %s", ev ? err : "out of memory");
		return 1;
	}
	w->events_total++;
	enum disc_ev_result r = disc_view_apply(&w->view, ev);
	int type = ev->type, code = ev->code;
	char msg[KUBE_ERR_LEN];
	snprintf(msg, sizeof(msg), "%s", ev->message);
	free(ev);
	if (r == DISC_EV_RELIST) {
		log_info("discovery: resourceVersion expired, re-listing", "backend=%s", w->backend);
		w->relists_total++;
		w->watching = false;
		dw_begin(w);
		return 1;
	}
	if (r == DISC_EV_FAIL) {
		if (type == KUBE_EV_ERROR)
			dw_fail(w, "watch ERROR %d: %s", code, msg);
		else
			dw_fail(w, "watch: more than %d objects", KUBE_MAX_ITEMS);
		return 1;
	}
	if (type != KUBE_EV_BOOKMARK) {
		struct disc_set set;
		disc_view_flatten(&w->view, &set);
		apply_set(w, &set, kube_ev_name((enum kube_ev_type)type));
	}
	return 0;
}

/* ---- the module ---- */

/* The static primaries and backups of b; a list made only of discovered servers (a config
 * discovery derived, or overlaid) leaves the ones already known. */
void dw_ep_addr(const struct kube_ep *e, struct cfg_addr *out)
{
	char ip[IP_ADDR_STRLEN];
	ip_addr_format(&e->ip, IP_FMT_ADDR, ip, sizeof(ip));
	out->len = ip_addr_to_sockaddr(&e->ip, e->port, &out->ss);
	snprintf(out->text, sizeof(out->text), e->ip.family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		 e->port);
}

static void dw_statics(struct dwatch *w, const struct cfg_backend *b)
{
	size_t n = 0;
	for (size_t i = 0; i < b->n_servers; i++)
		n += !b->servers[i].backup && !b->servers[i].discovered;
	if (!n && w->statics)
		return;
	struct cfg_addr *st = calloc(n ? n : 1, sizeof(*st));
	struct cfg_server *bk = calloc(b->n_servers ? b->n_servers : 1, sizeof(*bk));
	if (!st || !bk) {
		free(st);
		free(bk);
		return;
	}
	free(w->statics);
	free(w->backups);
	w->statics = st;
	w->backups = bk;
	w->n_statics = w->n_backups = 0;
	for (size_t i = 0; i < b->n_servers; i++) {
		const struct cfg_server *s = &b->servers[i];
		if (s->backup)
			w->backups[w->n_backups++] = *s;
		else if (!s->discovered)
			w->statics[w->n_statics++] = s->addr;
	}
}

static void dw_setup(struct dwatch *w, const struct cfg_backend *b)
{
	w->cfg = *b->discover;
	dw_statics(w, b);
}

static struct dwatch *dw_new(struct discover *d, const struct cfg_backend *b)
{
	struct dwatch *w = calloc(1, sizeof(*w));
	if (!w || !(w->backend = strdup(b->name))) {
		free(w);
		return NULL;
	}
	dw_setup(w, b);
	dw_init(w, d, d->loop);
	log_info("discovery started", "backend=%s kind=%s static_servers=%zu", w->backend,
		 discover_kind_name(w->cfg.kind), w->n_statics);
	dw_begin(w);
	return w;
}

static void dw_free(struct dwatch *w)
{
	dw_free_conn(w);
	free(w->statics);
	free(w->backups);
	free(w->backend);
	free(w);
}

struct discover *discover_start(struct loop *l, const struct config *c, discover_apply_fn fn, void *arg)
{
	struct discover *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->loop = l;
	d->apply = fn;
	d->arg = arg;
	discover_reconfigure(d, c);
	return d;
}

static bool same_cfg(const struct cfg_discover *a, const struct cfg_discover *b)
{
	return !memcmp(a, b, sizeof(*a)) ||
	       (a->kind == b->kind && a->api == b->api && a->timeout_ms == b->timeout_ms &&
		a->stall_ms == b->stall_ms && a->retry_ms == b->retry_ms &&
		a->interval_ms == b->interval_ms && !strcmp(a->kubeconfig ?: "", b->kubeconfig ?: "") &&
		!strcmp(a->context ?: "", b->context ?: "") &&
		!strcmp(a->ca_file ?: "", b->ca_file ?: "") &&
		!strcmp(a->cert_file ?: "", b->cert_file ?: "") &&
		!strcmp(a->key_file ?: "", b->key_file ?: ""));
}

void discover_reconfigure(struct discover *d, const struct config *c)
{
	struct dwatch **nw = calloc(c->n_backends ? c->n_backends : 1, sizeof(*nw));
	size_t n = 0;
	if (!nw)
		return;
	for (size_t i = 0; i < c->n_backends; i++) {
		const struct cfg_backend *b = &c->backends[i];
		if (!b->discover)
			continue;
		struct dwatch *w = NULL;
		for (size_t k = 0; k < d->n && !w; k++)
			if (d->w[k] && !strcmp(d->w[k]->backend, b->name)) {
				w = d->w[k];
				d->w[k] = NULL;
			}
		if (w && !same_cfg(&w->cfg, b->discover)) {
			log_info("discovery restarted", "backend=%s reason=\"discover: changed\"",
				 w->backend);
			dw_free_conn(w);
			dw_setup(w, b);
			dw_init(w, d, d->loop);
			dw_begin(w);
		} else if (w) {
			dw_setup(w, b); /* the static servers may have changed */
		} else
			w = dw_new(d, b);
		if (w)
			nw[n++] = w;
	}
	for (size_t k = 0; k < d->n; k++)
		if (d->w[k]) {
			log_info("discovery stopped", "backend=%s", d->w[k]->backend);
			dw_free(d->w[k]);
		}
	free(d->w);
	d->w = nw;
	d->n = n;
	config_hold(c);
	config_release(d->held);
	d->held = c;
}

int discover_overlay(struct discover *d, struct config *nc)
{
	for (size_t i = 0; d && i < nc->n_backends; i++) {
		struct cfg_backend *b = &nc->backends[i];
		struct dwatch *w = NULL;
		for (size_t k = 0; b->discover && k < d->n && !w; k++)
			if (!strcmp(d->w[k]->backend, b->name))
				w = d->w[k];
		if (w)
			dw_statics(w, b); /* the file's static list: where the API is reached */
		if (!w || !w->have_applied)
			continue;
		size_t n = w->applied.n, nb = 0;
		struct cfg_server *sv = calloc(n + b->n_servers, sizeof(*sv));
		if (!sv)
			return -1;
		for (size_t k = 0; k < n; k++) {
			dw_ep_addr(&w->applied.eps[k], &sv[k].addr);
			sv[k].weight = 1;
			sv[k].discovered = true;
		}
		for (size_t k = 0; k < b->n_servers; k++)
			if (b->servers[k].backup)
				sv[n + nb++] = b->servers[k];
		int rc = config_set_servers(nc, i, sv, n + nb);
		free(sv);
		if (rc < 0)
			return -1;
	}
	return 0;
}

void discover_free(struct discover *d)
{
	if (!d)
		return;
	for (size_t k = 0; k < d->n; k++)
		dw_free(d->w[k]);
	free(d->w);
	config_release(d->held);
	free(d);
}

size_t discover_count(const struct discover *d) { return d ? d->n : 0; }

void discover_get(const struct discover *d, size_t i, struct discover_status *o)
{
	static const char *const states[] = {
		"idle",       "backoff",    "connecting", "connecting",
		"connecting", "requesting", "listing",    "watching"
	};
	const struct dwatch *w = d->w[i];
	memset(o, 0, sizeof(*o));
	o->backend = w->backend;
	o->kind = discover_kind_name(w->cfg.kind);
	o->source = w->have_applied ? "discovered" : "static";
	o->state = states[w->state];
	if (w->cfg.kind == DISCOVER_ETCD)
		o->state = w->state == DW_BACKOFF && !w->last_error[0] ? "polling" : o->state;
	else if (w->state >= DW_SEND && w->state <= DW_BODY)
		o->state = w->watching ? "watching" : "listing";
	o->api = w->cfg.kind == DISCOVER_ETCD ? "member-list"
		 : w->kind == KUBE_ENDPOINTSLICE
			 ? "endpointslices"
			 : "endpoints";
	memcpy(o->rv, w->view.rv, sizeof(o->rv));
	o->last_update_unix_ms = w->last_update_unix_ms;
	if (w->last_error[0] || !w->empty_kept)
		snprintf(o->last_error, sizeof(o->last_error), "%s", w->last_error);
	else
		snprintf(o->last_error, sizeof(o->last_error),
			 "the API lists no ready %s: empty list not applied, last good list kept",
			 w->cfg.kind == DISCOVER_ETCD ? "member" : "apiserver");
	o->n_servers = w->have_applied ? w->applied.n : 0;
	o->events_total = w->events_total;
	o->applies_total = w->applies_total;
	o->errors_total = w->errors_total;
	o->relists_total = w->relists_total;
}
