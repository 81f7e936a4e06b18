/* Pure comparison of two configs for reload (see reload_plan.h). */
#include "reload_plan.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Family, address and port (not padding bytes). Both unset is equal. */
static bool sa_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return true;
}

bool cfg_listener_same(const struct cfg_listener *a, const struct cfg_listener *b)
{
	return streq(a->name, b->name) && streq(a->bind.text, b->bind.text) &&
	       sa_equal(&a->bind.ss, &b->bind.ss) && streq(a->backend, b->backend) &&
	       a->protocol == b->protocol &&
	       /* a UDP listener's settings are its workers' session tables': a change rebinds */
	       (a->protocol == PROTO_TCP ||
		(a->udp_idle_timeout_ms == b->udp_idle_timeout_ms &&
		 a->proxy_responses == b->proxy_responses && a->max_sessions == b->max_sessions));
}

static bool health_equal(const struct cfg_health *a, const struct cfg_health *b)
{
	if (a->n_expect != b->n_expect)
		return false;
	for (size_t i = 0; i < a->n_expect && i < CFG_MAX_EXPECT; i++)
		if (a->expect[i].lo != b->expect[i].lo || a->expect[i].hi != b->expect[i].hi)
			return false;
	return a->type == b->type && streq(a->path, b->path) && streq(a->host, b->host) &&
	       a->interval_ms == b->interval_ms && a->timeout_ms == b->timeout_ms &&
	       a->rise == b->rise && a->fall == b->fall && a->port == b->port &&
	       a->verify == b->verify && streq(a->ca_file, b->ca_file) &&
	       streq(a->cert_file, b->cert_file) && streq(a->key_file, b->key_file) &&
	       a->initial_up == b->initial_up && a->udp_send_len == b->udp_send_len &&
	       (!a->udp_send_len || !memcmp(a->udp_send, b->udp_send, a->udp_send_len));
}

static bool discover_equal(const struct cfg_discover *a, const struct cfg_discover *b)
{
	if (!a || !b)
		return a == b;
	return a->kind == b->kind && streq(a->kubeconfig, b->kubeconfig) &&
	       streq(a->context, b->context) && a->api == b->api && a->timeout_ms == b->timeout_ms &&
	       a->stall_ms == b->stall_ms && a->retry_ms == b->retry_ms &&
	       a->interval_ms == b->interval_ms && streq(a->ca_file, b->ca_file) &&
	       streq(a->cert_file, b->cert_file) && streq(a->key_file, b->key_file);
}

bool cfg_backend_settings_equal(const struct cfg_backend *a, const struct cfg_backend *b)
{
	return streq(a->name, b->name) && a->balance == b->balance &&
	       a->connect_timeout_ms == b->connect_timeout_ms && a->retries == b->retries &&
	       a->max_fails == b->max_fails && a->fail_timeout_ms == b->fail_timeout_ms &&
	       a->idle_timeout_ms == b->idle_timeout_ms &&
	       a->queue_timeout_ms == b->queue_timeout_ms && a->max_queue == b->max_queue &&
	       health_equal(&a->health, &b->health) && discover_equal(a->discover, b->discover);
}

bool cfg_server_equal(const struct cfg_server *a, const struct cfg_server *b)
{
	return streq(a->addr.text, b->addr.text) && a->weight == b->weight &&
	       a->max_conns == b->max_conns && a->backup == b->backup;
}

static bool vips_equal(const struct cfg_vrrp *a, const struct cfg_vrrp *b)
{
	if (a->n_vips != b->n_vips || a->n_unicast_peers != b->n_unicast_peers)
		return false;
	for (size_t i = 0; i < a->n_vips; i++)
		if (!streq(a->vips[i].text, b->vips[i].text) ||
		    a->vips[i].addr.prefix != b->vips[i].addr.prefix ||
		    !ip_addr_equal(&a->vips[i].addr, &b->vips[i].addr))
			return false;
	for (size_t i = 0; i < a->n_unicast_peers; i++)
		if (!ip_addr_equal(&a->unicast_peers[i], &b->unicast_peers[i]))
			return false;
	return ip_addr_equal(&a->unicast_source, &b->unicast_source);
}

static bool trackers_equal(const struct cfg_vrrp *a, const struct cfg_vrrp *b)
{
	if (a->n_track_ifaces != b->n_track_ifaces || a->n_track_scripts != b->n_track_scripts ||
	    a->n_track_backends != b->n_track_backends || a->track_strict != b->track_strict)
		return false;
	for (size_t i = 0; i < a->n_track_ifaces; i++)
		if (!streq(a->track_ifaces[i].name, b->track_ifaces[i].name) ||
		    a->track_ifaces[i].weight != b->track_ifaces[i].weight)
			return false;
	for (size_t i = 0; i < a->n_track_backends; i++)
		if (!streq(a->track_backends[i].name, b->track_backends[i].name) ||
		    a->track_backends[i].weight != b->track_backends[i].weight)
			return false;
	for (size_t i = 0; i < a->n_track_scripts; i++) {
		const struct cfg_track_script *x = &a->track_scripts[i], *y = &b->track_scripts[i];
		if (!streq(x->name, y->name) || !streq(x->command, y->command) ||
		    x->interval_ms != y->interval_ms || x->timeout_ms != y->timeout_ms ||
		    x->weight != y->weight || x->rise != y->rise || x->fall != y->fall ||
		    !streq(x->user, y->user))
			return false;
	}
	return true;
}

static bool bgp_peer_equal(const struct cfg_bgp_peer *a, const struct cfg_bgp_peer *b)
{
	return streq(a->name, b->name) && ip_addr_equal(&a->addr, &b->addr) && a->asn == b->asn &&
	       a->port == b->port && streq(a->password, b->password) && a->bfd == b->bfd &&
	       a->multihop == b->multihop && a->passive == b->passive &&
	       ip_addr_equal(&a->source, &b->source);
}

static bool bgp_announce_equal(const struct cfg_bgp_announce *a, const struct cfg_bgp_announce *b)
{
	if (!streq(a->prefix.text, b->prefix.text) || a->n_track_backends != b->n_track_backends ||
	    a->track_strict != b->track_strict || a->has_med != b->has_med || a->med != b->med ||
	    a->n_communities != b->n_communities)
		return false;
	for (size_t i = 0; i < a->n_track_backends; i++)
		if (!streq(a->track_backends[i].name, b->track_backends[i].name))
			return false;
	for (size_t i = 0; i < a->n_communities; i++)
		if (a->communities[i].asn != b->communities[i].asn ||
		    a->communities[i].value != b->communities[i].value)
			return false;
	return true;
}

bool cfg_bgp_equal(const struct cfg_bgp *a, const struct cfg_bgp *b)
{
	if (!a || !b)
		return a == b;
	if (a->asn != b->asn || a->router_id.s_addr != b->router_id.s_addr ||
	    a->listen_port != b->listen_port || a->hold_time_ms != b->hold_time_ms ||
	    a->keepalive_ms != b->keepalive_ms || a->connect_retry_ms != b->connect_retry_ms ||
	    a->error_wait_min_ms != b->error_wait_min_ms ||
	    a->error_wait_max_ms != b->error_wait_max_ms ||
	    a->bfd_interval_ms != b->bfd_interval_ms || a->bfd_multiplier != b->bfd_multiplier ||
	    a->hold_down_ms != b->hold_down_ms || a->shutdown_delay_ms != b->shutdown_delay_ms ||
	    !streq(a->bird, b->bird) || !streq(a->run_dir, b->run_dir) ||
	    a->n_peers != b->n_peers || a->n_announce != b->n_announce)
		return false;
	for (size_t i = 0; i < a->n_peers; i++)
		if (!bgp_peer_equal(&a->peers[i], &b->peers[i]))
			return false;
	for (size_t i = 0; i < a->n_announce; i++)
		if (!bgp_announce_equal(&a->announce[i], &b->announce[i]))
			return false;
	return true;
}

bool cfg_vrrp_same_election(const struct cfg_vrrp *a, const struct cfg_vrrp *b)
{
	return streq(a->name, b->name) && streq(a->interface, b->interface) &&
	       a->router_id == b->router_id && a->version == b->version && a->family == b->family &&
	       a->advert_interval_ms == b->advert_interval_ms &&
	       (a->priority == 255) == (b->priority == 255) && streq(a->label, b->label) &&
	       strcmp(a->auth_pass, b->auth_pass) == 0 && vips_equal(a, b);
}

bool cfg_vrrp_equal(const struct cfg_vrrp *a, const struct cfg_vrrp *b)
{
	return cfg_vrrp_same_election(a, b) && a->priority == b->priority &&
	       a->preempt == b->preempt && a->preempt_delay_ms == b->preempt_delay_ms &&
	       a->garp.repeat == b->garp.repeat && a->garp.interval_ms == b->garp.interval_ms &&
	       a->garp.delay_ms == b->garp.delay_ms && a->garp.refresh_ms == b->garp.refresh_ms &&
	       streq(a->notify, b->notify) && trackers_equal(a, b);
}

/* ---- matching ---- */

static int *ints(size_t n)
{
	int *v = malloc((n ? n : 1) * sizeof(*v));
	for (size_t i = 0; v && i < n; i++)
		v[i] = -1;
	return v;
}

/* removed[i] = old item i continued by none of the new ones. */
static bool *removed_of(const int *from, size_t n_new, size_t n_old)
{
	bool *r = malloc((n_old ? n_old : 1) * sizeof(*r));
	if (!r)
		return NULL;
	for (size_t i = 0; i < n_old; i++)
		r[i] = true;
	for (size_t i = 0; i < n_new; i++)
		if (from[i] >= 0)
			r[from[i]] = false;
	return r;
}

static size_t count_true(const bool *v, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += v[i];
	return c;
}

static void count_change(struct reload_counts *c, enum reload_change ch)
{
	if (ch == RELOAD_KEPT)
		c->kept++;
	else if (ch == RELOAD_CHANGED || ch == RELOAD_UPDATED)
		c->changed++;
	else
		c->added++;
}

static int plan_listeners(const struct config *o, const struct config *n, struct reload_plan *p)
{
	if (!(p->listener_old = ints(n->n_listeners)))
		return -1;
	for (size_t i = 0; i < n->n_listeners; i++)
		for (size_t j = 0; j < o->n_listeners; j++)
			if (cfg_listener_same(&n->listeners[i], &o->listeners[j])) {
				p->listener_old[i] = (int)j;
				break;
			}
	for (size_t i = 0; i < n->n_listeners; i++) {
		int j = p->listener_old[i];
		if (j < 0)
			p->listeners.added++;
		else if (n->listeners[i].defer_accept != o->listeners[j].defer_accept)
			p->listeners.changed++; /* same sockets, option set on them at commit */
		else
			p->listeners.kept++;
	}
	if (!(p->listener_removed = removed_of(p->listener_old, n->n_listeners, o->n_listeners)))
		return -1;
	p->listeners.removed = count_true(p->listener_removed, o->n_listeners);
	return 0;
}

/* Servers of new backend `nb` against old backend `ob` (NULL when the backend is new). Each
 * old server continues at most one new one (first unmatched with the same address). */
static int plan_servers(const struct cfg_backend *nb, const struct cfg_backend *ob,
			struct reload_plan *p, size_t i, bool *any_change)
{
	size_t n_old = ob ? ob->n_servers : 0;
	p->server_old[i] = ints(nb->n_servers);
	p->server_change[i] = calloc(nb->n_servers ? nb->n_servers : 1, sizeof(enum reload_change));
	bool *taken = calloc(n_old ? n_old : 1, sizeof(*taken));
	if (!p->server_old[i] || !p->server_change[i] || !taken) {
		free(taken);
		return -1;
	}
	for (size_t s = 0; s < nb->n_servers; s++) {
		enum reload_change ch = RELOAD_ADDED;
		for (size_t t = 0; t < n_old; t++) {
			if (taken[t] || strcmp(nb->servers[s].addr.text, ob->servers[t].addr.text) != 0)
				continue;
			taken[t] = true;
			p->server_old[i][s] = (int)t;
			ch = cfg_server_equal(&nb->servers[s], &ob->servers[t]) ? RELOAD_KEPT : RELOAD_CHANGED;
			break;
		}
		p->server_change[i][s] = ch;
		count_change(&p->servers, ch);
		*any_change |= ch != RELOAD_KEPT;
	}
	size_t gone = n_old - count_true(taken, n_old);
	p->servers.removed += gone;
	*any_change |= gone > 0;
	free(taken);
	return 0;
}

static int plan_backends(const struct config *o, const struct config *n, struct reload_plan *p)
{
	size_t nb = n->n_backends ? n->n_backends : 1;
	p->backend_old = ints(n->n_backends);
	p->backend_change = calloc(nb, sizeof(*p->backend_change));
	p->server_old = calloc(nb, sizeof(*p->server_old));
	p->server_change = calloc(nb, sizeof(*p->server_change));
	if (!p->backend_old || !p->backend_change || !p->server_old || !p->server_change)
		return -1;
	for (size_t i = 0; i < n->n_backends; i++) {
		const struct cfg_backend *b = &n->backends[i], *ob = NULL;
		for (size_t j = 0; j < o->n_backends && !ob; j++)
			if (streq(b->name, o->backends[j].name)) {
				p->backend_old[i] = (int)j;
				ob = &o->backends[j];
			}
		bool changed = ob && !cfg_backend_settings_equal(b, ob);
		if (plan_servers(b, ob, p, i, &changed) < 0)
			return -1;
		p->backend_change[i] = !ob ? RELOAD_ADDED : changed ? RELOAD_CHANGED : RELOAD_KEPT;
		count_change(&p->backends, p->backend_change[i]);
	}
	if (!(p->backend_removed = removed_of(p->backend_old, n->n_backends, o->n_backends)))
		return -1;
	p->backends.removed = count_true(p->backend_removed, o->n_backends);
	for (size_t j = 0; j < o->n_backends; j++)
		if (p->backend_removed[j])
			p->servers.removed += o->backends[j].n_servers;
	return 0;
}

static int plan_vrrp(const struct config *o, const struct config *n, struct reload_plan *p)
{
	p->vrrp_old = ints(n->n_vrrp);
	p->vrrp_change = calloc(n->n_vrrp ? n->n_vrrp : 1, sizeof(*p->vrrp_change));
	if (!p->vrrp_old || !p->vrrp_change)
		return -1;
	/* scripts and notify commands run as script_user: a new one re-initialises them all */
	bool scripts_user_same = streq(o->script_user, n->script_user);
	for (size_t i = 0; i < n->n_vrrp; i++) {
		p->vrrp_change[i] = RELOAD_ADDED;
		for (size_t j = 0; j < o->n_vrrp; j++)
			if (streq(n->vrrp[i].name, o->vrrp[j].name)) {
				p->vrrp_old[i] = (int)j;
				bool same = scripts_user_same &&
					    cfg_vrrp_equal(&n->vrrp[i], &o->vrrp[j]);
				p->vrrp_change[i] =
					same ? RELOAD_KEPT
					: cfg_vrrp_same_election(&n->vrrp[i], &o->vrrp[j])
						? RELOAD_UPDATED
						: RELOAD_CHANGED;
				break;
			}
		count_change(&p->vrrp, p->vrrp_change[i]);
	}
	if (!(p->vrrp_removed = removed_of(p->vrrp_old, n->n_vrrp, o->n_vrrp)))
		return -1;
	p->vrrp.removed = count_true(p->vrrp_removed, o->n_vrrp);
	return 0;
}

/* The nftables redirects in order: (address, the listener's port) pairs. */
static bool intercepts_equal(const struct config *o, const struct config *n)
{
	size_t i = 0, k = 0, j = 0, m = 0;
	for (;;) {
		while (i < o->n_listeners && k >= o->listeners[i].n_intercept) {
			i++;
			k = 0;
		}
		while (j < n->n_listeners && m >= n->listeners[j].n_intercept) {
			j++;
			m = 0;
		}
		if (i == o->n_listeners || j == n->n_listeners)
			return i == o->n_listeners && j == n->n_listeners;
		if (!streq(o->listeners[i].intercept[k].text, n->listeners[j].intercept[m].text) ||
		    cfg_port(&o->listeners[i].bind.ss) != cfg_port(&n->listeners[j].bind.ss) ||
		    !streq(o->listeners[i].name, n->listeners[j].name))
			return false;
		k++;
		m++;
	}
}

int reload_plan_make(const struct config *o, const struct config *n, struct reload_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->workers_changed = o->workers != n->workers;
	p->fast_path_changed = o->fast_path != n->fast_path;
	p->control_changed = !streq(o->control_socket, n->control_socket);
	p->metrics_changed =
		o->metrics_enabled != n->metrics_enabled ||
		(n->metrics_enabled && !streq(o->metrics_listen.text, n->metrics_listen.text));
	p->user_changed = !streq(o->user, n->user);
	p->global_changed =
		o->log_level != n->log_level || !streq(o->log_format, n->log_format) ||
		o->max_conns != n->max_conns || o->shutdown_grace_ms != n->shutdown_grace_ms ||
		!streq(o->node, n->node) || !streq(o->script_user, n->script_user);
	p->bgp_changed = !cfg_bgp_equal(o->bgp, n->bgp);
	p->intercept_changed = !intercepts_equal(o, n);
	p->n_backends_new = n->n_backends; /* server arrays are per new backend */
	if (plan_listeners(o, n, p) < 0 || plan_backends(o, n, p) < 0 || plan_vrrp(o, n, p) < 0) {
		reload_plan_free(p);
		return -1;
	}
	return 0;
}

void reload_plan_free(struct reload_plan *p)
{
	for (size_t i = 0; i < p->n_backends_new; i++) {
		free(p->server_old ? p->server_old[i] : NULL);
		free(p->server_change ? p->server_change[i] : NULL);
	}
	free(p->server_old);
	free(p->server_change);
	free(p->listener_old);
	free(p->backend_old);
	free(p->vrrp_old);
	free(p->backend_change);
	free(p->vrrp_change);
	free(p->listener_removed);
	free(p->backend_removed);
	free(p->vrrp_removed);
	memset(p, 0, sizeof(*p));
}

bool reload_plan_is_noop(const struct reload_plan *p)
{
	const struct reload_counts *c[] = { &p->listeners, &p->backends, &p->servers, &p->vrrp };
	for (size_t i = 0; i < 4; i++)
		if (c[i]->changed || c[i]->added || c[i]->removed)
			return false;
	return !p->workers_changed && !p->fast_path_changed && !p->control_changed &&
	       !p->metrics_changed && !p->user_changed && !p->global_changed && !p->bgp_changed &&
	       !p->intercept_changed;
}

static int counts(char *buf, size_t len, const char *what, const struct reload_counts *c)
{
	return snprintf(buf, len, "%s_kept=%zu %s_changed=%zu %s_added=%zu %s_removed=%zu", what,
			c->kept, what, c->changed, what, c->added, what, c->removed);
}

void reload_plan_summary(const struct reload_plan *p, char *buf, size_t len)
{
	const struct reload_counts *c[] = { &p->listeners, &p->backends, &p->servers, &p->vrrp };
	const char *names[] = { "listeners", "backends", "servers", "vrrp" };
	size_t off = 0;
	for (size_t i = 0; i < 4 && off + 1 < len; i++) {
		if (i)
			buf[off++] = ' ';
		int n = counts(buf + off, len - off, names[i], c[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (p->bgp_changed && off + 1 < len) {
		int n = snprintf(buf + off, len - off, " bgp=changed");
		if (n > 0)
			off += (size_t)n;
	}
	if (p->intercept_changed && off + 1 < len) {
		int n = snprintf(buf + off, len - off, " intercept=changed");
		if (n > 0)
			off += (size_t)n;
	}
	if (len)
		buf[off < len ? off : len - 1] = '\0';
}
