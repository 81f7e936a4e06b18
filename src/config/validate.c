/* Conversion of the raw (all-strings) image into struct config, with defaults and semantic
 * validation. Pure: the caller passes system defaults and a position locator. Every problem is
 * reported, not just the first, each at the position of the value that causes it. */
#include "config/config_internal.h"

#include <stdatomic.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* ---- global keys ---- */

static void build_globals(const struct raw_config *raw, const struct cfg_defaults *defs,
			  struct cfg_diag *d, struct config *c)
{
	uint64_t u;
	cv_str(d, "", "node", raw->node, false, defs->node, &c->node);
	if (c->node && !*c->node)
		cfg_err(d, "", "node", "must not be empty");
	const struct raw_log *lg = raw->log;
	enum log_level lvl = LOG_LVL_INFO;
	if (lg && lg->level && log_level_parse(lg->level, &lvl) < 0)
		cfg_err(d, "log", "level",
			"unknown level \"%s\" (expected debug, info, warn, error)", lg->level);
	c->log_level = (int)lvl;
	cv_str(d, "log", "format", lg ? lg->format : NULL, false, "logfmt", &c->log_format);
	if (c->log_format && strcmp(c->log_format, "logfmt") != 0)
		cfg_err(d, "log", "format", "unknown format \"%s\" (expected logfmt)", c->log_format);
	cv_str(d, "control", "socket", raw->control ? raw->control->socket : NULL, false,
	       BUOY_DEFAULT_CONTROL_SOCKET, &c->control_socket);
	if (c->control_socket && (c->control_socket[0] != '/' || strlen(c->control_socket) > 107))
		cfg_err(d, "control", "socket", "must be an absolute path of at most 107 bytes");
	if (raw->metrics && raw->metrics->listen) {
		c->metrics_enabled = cv_hostport(
			d, "metrics", "listen", raw->metrics->listen, &c->metrics_listen);
	}
	cv_str(d, "", "user", raw->user, false, NULL, &c->user);
	if (c->user && !*c->user)
		cfg_err(d, "", "user", "must not be empty (omit it to keep the current user)");
	cv_str(d, "", "script_user", raw->script_user, false, "nobody", &c->script_user);
	if (c->script_user && !*c->script_user)
		cfg_err(d, "", "script_user", "must not be empty");
	cv_uint(d, "", "max_conns", raw->max_conns, 0, 10000000, 0, &u);
	c->max_conns = (uint32_t)u;
	cv_uint(d, "", "workers", raw->workers, 1, 1024, defs->workers ? defs->workers : 1, &u);
	c->workers = (uint32_t)u;
	cv_duration(d, "", "shutdown_grace", raw->shutdown_grace, 0, 86400000, 30000,
		    &c->shutdown_grace_ms);
	c->fast_path = CFG_FAST_PATH_OFF;
	if (raw->fast_path && !cfg_fast_path_from_name(raw->fast_path, &c->fast_path))
		cfg_err(d, "", "fast_path", "unknown mode \"%s\" (expected off, auto, sockmap)",
			raw->fast_path);
}

/* ---- backends ---- */

/* "200" or "200-399", digits only: no signs, spaces or more than 3 digits a side. */
static int parse_status_range(const char *s, unsigned *lo, unsigned *hi)
{
	unsigned *out = lo;
	for (int part = 0; part < 2; part++) {
		unsigned v = 0, n = 0;
		for (; isdigit((unsigned char)*s) && n < 4; s++, n++)
			v = v * 10 + (unsigned)(*s - '0');
		if (n == 0 || n > 3)
			return -1;
		*out = v;
		if (*s == '\0') {
			if (part == 0)
				*hi = v;
			return 0;
		}
		if (*s++ != '-' || part == 1)
			return -1;
		out = hi;
	}
	return -1;
}

static void build_expect(
	const struct raw_health *rh, const char *prefix, struct cfg_diag *d, struct cfg_health *h)
{
	if (!rh || !rh->expect_present)
		return;
	char path[256];
	cfg_path_join(path, sizeof(path), prefix, "expect_status");
	h->n_expect = 0;
	if (rh->expect_count == 0)
		cfg_err(d, path, NULL, "must list at least one status");
	if (rh->expect_count > CFG_MAX_EXPECT)
		cfg_err(d, path, NULL, "at most %d entries", CFG_MAX_EXPECT);
	for (unsigned i = 0; i < rh->expect_count && i < CFG_MAX_EXPECT; i++) {
		char item[272];
		if (rh->expect_is_list)
			snprintf(item, sizeof(item), "%s[%u]", path, i);
		else
			snprintf(item, sizeof(item), "%s", path);
		const char *s = rh->expect[i];
		unsigned lo, hi;
		if (parse_status_range(s, &lo, &hi) < 0) {
			cfg_err(d, item, NULL,
				"expected a status code or a range like \"200-399\", got \"%s\"", s);
			continue;
		}
		if (lo < 100 || hi > 599 || lo > hi) {
			cfg_err(d, item, NULL, "status \"%s\" must be within 100..599 (low-high)", s);
			continue;
		}
		h->expect[h->n_expect++] = (struct status_range){ (uint16_t)lo, (uint16_t)hi };
	}
}

static bool bad_http_token(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return true; /* would break or inject into the request line/headers */
	return false;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The udp check's datagram: send (text) or send_hex ("0a1b..."), one of them, only for udp. */
static void build_udp_send(
	const struct raw_health *rh, const char *p, struct cfg_diag *d, struct cfg_health *h)
{
	const char *txt = rh ? rh->send : NULL, *hex = rh ? rh->send_hex : NULL;
	if (h->type != HEALTH_UDP) {
		if (txt || hex)
			cfg_err(d, p, txt ? "send" : "send_hex", "only for type: udp");
		return;
	}
	if (!txt == !hex) {
		cfg_err(d, p, txt ? "send_hex" : "type",
			"a udp check needs one of send (text) or send_hex (the datagram to send)");
		return;
	}
	size_t n = txt ? strlen(txt) : strlen(hex) / 2;
	if ((hex && strlen(hex) % 2) || n == 0 || n > CFG_MAX_UDP_SEND) {
		cfg_err(d, p, txt ? "send" : "send_hex", "expected 1 to %d bytes%s",
			CFG_MAX_UDP_SEND, hex ? " as pairs of hex digits" : "");
		return;
	}
	if (!(h->udp_send = malloc(n)))
		return;
	h->udp_send_len = n;
	for (size_t i = 0; i < n; i++) {
		if (txt) {
			h->udp_send[i] = (uint8_t)txt[i];
			continue;
		}
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			cfg_err(d, p, "send_hex", "not a hex digit at offset %zu",
				hi < 0 ? 2 * i : 2 * i + 1);
			return;
		}
		h->udp_send[i] = (uint8_t)(hi << 4 | lo);
	}
}

static void build_health(
	const struct raw_health *rh, const char *prefix, struct cfg_diag *d, struct cfg_health *h)
{
	char p[256];
	uint64_t u;
	cfg_path_join(p, sizeof(p), prefix, "health");
	cfg_health_defaults(h);
	if (rh && rh->type && !health_type_from_name(rh->type, &h->type))
		cfg_err(d, p, "type",
			"unknown type \"%s\" (expected tcp, tls, http, https, udp, none)", rh->type);
	cv_str(d, p, "path", rh ? rh->path : NULL, false, h->path, &h->path);
	if (h->path && (h->path[0] != '/' || bad_http_token(h->path)))
		cfg_err(d, p, "path", "must start with '/' and contain no spaces or control characters");
	cv_str(d, p, "host", rh ? rh->host : NULL, false, h->host, &h->host);
	if (h->host && (!*h->host || bad_http_token(h->host)))
		cfg_err(d, p, "host", "must be a non-empty name without spaces");
	build_expect(rh, p, d, h);
	build_udp_send(rh, p, d, h);
	cv_duration(d, p, "interval", rh ? rh->interval : NULL, 10, 3600000, h->interval_ms,
		    &h->interval_ms);
	cv_duration(d, p, "timeout", rh ? rh->timeout : NULL, 1, 3600000, h->timeout_ms, &h->timeout_ms);
	cv_uint(d, p, "rise", rh ? rh->rise : NULL, 1, 1000, h->rise, &u);
	h->rise = (uint32_t)u;
	cv_uint(d, p, "fall", rh ? rh->fall : NULL, 1, 1000, h->fall, &u);
	h->fall = (uint32_t)u;
	cv_uint(d, p, "port", rh ? rh->port : NULL, 1, 65535, h->port, &u);
	h->port = (uint16_t)u;
	cv_bool(d, p, "verify", rh ? rh->verify : NULL, h->verify, &h->verify);
	cv_str(d, p, "ca_file", rh ? rh->ca_file : NULL, false, h->ca_file, &h->ca_file);
	cv_str(d, p, "cert_file", rh ? rh->cert_file : NULL, false, h->cert_file, &h->cert_file);
	cv_str(d, p, "key_file", rh ? rh->key_file : NULL, false, h->key_file, &h->key_file);
	if (!h->cert_file != !h->key_file)
		cfg_err(d, p, h->cert_file ? "cert_file" : "key_file",
			"cert_file and key_file go together (a client certificate needs its key)");
	if (rh && rh->initial_state) {
		if (!strcmp(rh->initial_state, "down"))
			h->initial_up = false;
		else if (strcmp(rh->initial_state, "up") != 0)
			cfg_err(d, p, "initial_state", "expected up or down, got \"%s\"",
				rh->initial_state);
	}
}

static void build_servers(
	const struct raw_backend *rb, const char *prefix, struct cfg_diag *d, struct cfg_backend *b)
{
	if (!rb->servers_count) {
		cfg_err(d, prefix, "servers", "a backend needs at least one server");
		return;
	}
	b->servers = cfg_list_new(d, prefix, "servers", rb->servers_count, CFG_MAX_LIST,
				  "servers per backend", sizeof(*b->servers), &b->n_servers);
	for (size_t i = 0; i < b->n_servers; i++) {
		const struct raw_server *rs = &rb->servers[i];
		struct cfg_server *s = &b->servers[i];
		char p[256];
		uint64_t u;
		snprintf(p, sizeof(p), "%s.servers[%zu]", prefix, i);
		if (cv_hostport(d, p, "address", rs->address, &s->addr)) {
			if (cfg_is_wildcard(&s->addr.ss))
				cfg_err(d, p, "address",
					"a server needs a specific address, not \"%s\"", rs->address);
			for (size_t j = 0; j < i; j++) {
				if (!strcmp(b->servers[j].addr.text, s->addr.text)) {
					cfg_err(d, p, "address",
						"duplicate server %s (also servers[%zu])",
						s->addr.text, j);
					break;
				}
			}
		}
		cv_uint(d, p, "weight", rs->weight, 1, 256, 1, &u);
		s->weight = (uint32_t)u;
		cv_uint(d, p, "max_conns", rs->max_conns, 0, 10000000, 0, &u);
		s->max_conns = (uint32_t)u;
		cv_bool(d, p, "backup", rs->backup, false, &s->backup);
	}
}

static void build_backend(
	const struct raw_backend *rb, size_t idx, struct cfg_diag *d, struct cfg_backend *b)
{
	char p[64];
	uint64_t u;
	snprintf(p, sizeof(p), "backends[%zu]", idx);
	cv_name(d, p, "name", rb->name, &b->name);
	b->balance = BALANCE_ROUNDROBIN;
	if (rb->balance && !balance_algo_from_name(rb->balance, &b->balance))
		cfg_err(d, p, "balance",
			"unknown balance \"%s\" (expected roundrobin, leastconn, source, random)",
			rb->balance);
	build_servers(rb, p, d, b);
	cv_duration(d, p, "connect_timeout", rb->connect_timeout, 1, 3600000, 2000,
		    &b->connect_timeout_ms);
	uint64_t def_retries = b->n_servers ? b->n_servers - 1 : 0;
	cv_uint(d, p, "retries", rb->retries, 0, 100, def_retries, &u);
	b->retries = (uint32_t)u;
	b->retries_default = !rb->retries;
	cv_uint(d, p, "max_fails", rb->max_fails, 0, 1000, 1, &u);
	b->max_fails = (uint32_t)u;
	cv_duration(d, p, "fail_timeout", rb->fail_timeout, 1, 86400000, 10000, &b->fail_timeout_ms);
	cv_duration(d, p, "idle_timeout", rb->idle_timeout, 1, 7 * 86400000ULL, 3600000,
		    &b->idle_timeout_ms);
	cv_duration(d, p, "queue_timeout", rb->queue_timeout, 0, 3600000, 5000, &b->queue_timeout_ms);
	cv_uint(d, p, "max_queue", rb->max_queue, 0, 10000000, 0, &u);
	b->max_queue = (uint32_t)u;
	build_health(rb->health, p, d, &b->health);
	cfg_build_discover(rb->discover, p, d, &b->health, &b->discover);
}

/* ---- listeners ---- */

/* protocol, and the keys only a UDP listener has (or only TCP: defer_accept). */
static void build_listener_udp(
	const struct raw_listener *rl, const char *p, struct cfg_diag *d, struct cfg_listener *l)
{
	uint64_t u;
	l->protocol = PROTO_TCP;
	if (rl->protocol && !strcmp(rl->protocol, "udp"))
		l->protocol = PROTO_UDP;
	else if (rl->protocol && strcmp(rl->protocol, "tcp") != 0)
		cfg_err(d, p, "protocol", "expected tcp or udp, got \"%s\"", rl->protocol);
	bool udp = l->protocol == PROTO_UDP;
	const char *udp_only[] = { rl->udp_idle_timeout, rl->proxy_responses, rl->max_sessions };
	const char *udp_names[] = { "udp_idle_timeout", "proxy_responses", "max_sessions" };
	for (size_t i = 0; i < 3 && !udp; i++)
		if (udp_only[i])
			cfg_err(d, p, udp_names[i], "only for a listener with protocol: udp");
	if (udp && l->defer_accept)
		cfg_err(d, p, "defer_accept", "only for a TCP listener");
	cv_duration(d, p, "udp_idle_timeout", rl->udp_idle_timeout, 1, 86400000,
		    CFG_UDP_IDLE_TIMEOUT_MS, &l->udp_idle_timeout_ms);
	cv_uint(d, p, "proxy_responses", rl->proxy_responses, 0, 1000000, 0, &u);
	l->proxy_responses = (uint32_t)u;
	cv_uint(d, p, "max_sessions", rl->max_sessions, 1, 1000000, CFG_UDP_MAX_SESSIONS, &u);
	l->max_sessions = (uint32_t)u;
}

static void build_listener(const struct raw_listener *rl, size_t idx, const struct config *c,
			   struct cfg_diag *d, struct cfg_listener *l)
{
	char p[64];
	snprintf(p, sizeof(p), "listeners[%zu]", idx);
	cv_name(d, p, "name", rl->name, &l->name);
	cv_bool(d, p, "defer_accept", rl->defer_accept, false, &l->defer_accept);
	build_listener_udp(rl, p, d, l);
	if (cv_hostport(d, p, "bind", rl->bind, &l->bind)) {
		for (size_t j = 0; j < idx; j++) {
			/* DNS listens on TCP and UDP at one address:port */
			if (c->listeners[j].bind.len && c->listeners[j].protocol == l->protocol &&
			    !strcmp(c->listeners[j].bind.text, l->bind.text)) {
				cfg_err(d, p, "bind", "%s is already bound by listeners[%zu]",
					l->bind.text, j);
				break;
			}
		}
	}
	if (!cv_str(d, p, "backend", rl->backend, true, NULL, &l->backend) || !*rl->backend)
		return;
	l->backend_idx = cfg_backend_ref(d, p, "backend", c, l->backend);
}

/* A redirected connection arrives on 127.0.0.1/::1 (from the node itself) or on the incoming
 * interface's own address: the listener must be bound to every address, on another port. */
static void check_intercept_one(
	struct cfg_diag *d, const char *ip, const struct config *c, const struct cfg_listener *l,
	size_t idx, const struct cfg_addr *a)
{
	if (cfg_is_wildcard(&a->ss)) {
		cfg_err(d, ip, NULL,
			"%s: intercept a specific address (the VIP), not every address", a->text);
		return;
	}
	if (!l->bind.len)
		return;
	uint16_t port = cfg_port(&a->ss);
	if (!cfg_is_wildcard(&l->bind.ss)) {
		cfg_err(d, ip, NULL,
			"needs the listener bound to every address (e.g. bind: \":%u\"): "
			"redirected connections arrive on 127.0.0.1 / ::1 or on the interface's own "
			"address, not on %s",
			cfg_port(&l->bind.ss), l->bind.text);
		return;
	}
	if (a->ss.ss_family == AF_INET6 && l->bind.ss.ss_family == AF_INET)
		cfg_err(d, ip, NULL,
			"%s is IPv6 but the listener is bound to 0.0.0.0 only: bind "
			"\":%u\" (both families)",
			a->text, cfg_port(&l->bind.ss));
	else if (port == cfg_port(&l->bind.ss))
		cfg_err(d, ip, NULL,
			"the listener already receives %s on its own port %u: bind "
			"another port (e.g. 6444) or drop intercept",
			a->text, port);
	for (size_t j = 0; j < c->n_listeners && j <= idx; j++) {
		const struct cfg_listener *o = &c->listeners[j];
		for (size_t k = 0; k < o->n_intercept && &o->intercept[k] != a; k++)
			if (!strcmp(o->intercept[k].text, a->text)) {
				cfg_err(d, ip, NULL, "%s is already intercepted by listeners[%zu]",
					a->text, j);
				return;
			}
	}
	if (l->backend_idx >= c->n_backends)
		return;
	const struct cfg_backend *b = &c->backends[l->backend_idx];
	for (size_t k = 0; k < b->n_servers; k++)
		if (!strcmp(b->servers[k].addr.text, a->text))
			cfg_err(d, ip, NULL,
				"%s is also a server of backend \"%s\": buoy's own "
				"connections to it would be redirected to itself",
				a->text, b->name);
}

static void build_intercept(const struct raw_listener *rl, size_t idx, const struct config *c,
			    struct cfg_diag *d, struct cfg_listener *l)
{
	char p[64], ip[96];
	snprintf(p, sizeof(p), "listeners[%zu]", idx);
	if (l->protocol == PROTO_UDP && rl->intercept_count) {
		cfg_err(d, p, "intercept", "only for a TCP listener (the redirect is TCP's)");
		return;
	}
	l->intercept = cfg_list_new(d, p, "intercept", rl->intercept_count, CFG_MAX_INTERCEPT,
				    "addresses", sizeof(*l->intercept), &l->n_intercept);
	for (size_t i = 0; i < l->n_intercept; i++) {
		if (rl->intercept_count > 1)
			snprintf(ip, sizeof(ip), "%s.intercept[%zu]", p, i);
		else
			snprintf(ip, sizeof(ip), "%s.intercept", p);
		if (parse_hostport(rl->intercept[i], &l->intercept[i]) < 0 ||
		    !cfg_port(&l->intercept[i].ss)) {
			cfg_err(d, ip, NULL,
				"invalid address \"%s\" (expected VIP:port or "
				"[VIP6]:port)",
				rl->intercept[i]);
			memset(&l->intercept[i], 0, sizeof(l->intercept[i]));
			continue;
		}
		check_intercept_one(d, ip, c, l, idx, &l->intercept[i]);
	}
}

size_t cfg_build(const struct raw_config *raw, const struct cfg_defaults *defs, struct cfg_diag *d,
		 struct config *c)
{
	size_t before = d->errs->n;
	build_globals(raw, defs, d, c);
	if (!cfg_list_ok(d, "", "backends", raw->backends_count, CFG_MAX_LIST, "entries") ||
	    !cfg_list_ok(d, "", "listeners", raw->listeners_count, CFG_MAX_LIST, "entries") ||
	    !cfg_list_ok(d, "", "vrrp", raw->vrrp_count, CFG_MAX_LIST, "entries"))
		return d->errs->n - before; /* cross-checks below are quadratic */
	c->backends = cfg_list_new(d, "", "backends", raw->backends_count, CFG_MAX_LIST, "entries",
				   sizeof(*c->backends), &c->n_backends);
	for (size_t i = 0; i < c->n_backends; i++)
		build_backend(&raw->backends[i], i, d, &c->backends[i]);
	cfg_check_unique(d, "backends", "backend", c->backends, c->n_backends, sizeof(*c->backends),
			 offsetof(struct cfg_backend, name));
	c->listeners = cfg_list_new(d, "", "listeners", raw->listeners_count, CFG_MAX_LIST,
				    "entries", sizeof(*c->listeners), &c->n_listeners);
	for (size_t i = 0; i < c->n_listeners; i++)
		build_listener(&raw->listeners[i], i, c, d, &c->listeners[i]);
	for (size_t i = 0; i < c->n_listeners; i++)
		build_intercept(&raw->listeners[i], i, c, d, &c->listeners[i]);
	cfg_check_unique(d, "listeners", "listener", c->listeners, c->n_listeners,
			 sizeof(*c->listeners), offsetof(struct cfg_listener, name));
	cfg_build_vrrp(raw, d, c);
	cfg_build_bgp(raw, d, c);
	cfg_build_sync(raw, d, c);
	if (!raw->listeners_count && !raw->vrrp_count && !raw->bgp)
		cfg_err(d, "", NULL, "nothing to do: define listeners, vrrp instances and/or bgp");
	return d->errs->n - before;
}

/* ---- freeing ---- */

static void free_health(struct cfg_health *h)
{
	free(h->path);
	free(h->host);
	free(h->ca_file);
	free(h->cert_file);
	free(h->key_file);
	free(h->udp_send);
}

static _Atomic size_t live_configs; /* refcounted ones: loaded or derived, not yet freed */

size_t config_live_count(void) { return live_configs; }
void config_note_loaded(void) { live_configs++; }

const struct config *config_hold(const struct config *c)
{
	if (c)
		((struct config *)c)->refs++; /* the count is not part of what const protects */
	return c;
}

void config_release(const struct config *c)
{
	struct config *m = (struct config *)c;
	if (!m || !m->refs)
		return;
	if (--m->refs == 0 && m->refcounted)
		config_free(m);
}

struct config *config_derive(const struct config *c)
{
	struct config *d = malloc(sizeof(*d));
	struct cfg_backend *b = calloc(c->n_backends ? c->n_backends : 1, sizeof(*b));
	if (!d || !b)
		goto fail;
	*d = *c;
	d->base = config_hold(c->base ? c->base : c);
	d->refs = 0;
	d->refcounted = true;
	live_configs++;
	d->backends = b;
	for (size_t i = 0; i < c->n_backends; i++) {
		b[i] = c->backends[i];
		b[i].servers = NULL;
		if (config_set_servers(d, i, c->backends[i].servers, c->backends[i].n_servers) < 0)
			goto fail_servers;
	}
	return d;
fail_servers:
	for (size_t i = 0; i < c->n_backends; i++)
		free(b[i].servers);
	config_release(d->base);
fail:
	free(b);
	free(d);
	return NULL;
}

int config_set_servers(struct config *c, size_t bi, const struct cfg_server *v, size_t n)
{
	struct cfg_server *s = malloc((n ? n : 1) * sizeof(*s));
	if (!s)
		return -1;
	memcpy(s, v, n * sizeof(*s));
	free(c->backends[bi].servers);
	c->backends[bi].servers = s;
	c->backends[bi].n_servers = n;
	if (c->backends[bi].retries_default) /* a discovered list: every other server, as loaded */
		c->backends[bi].retries = (uint32_t)(n ? n - 1 : 0);
	return 0;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	if (c->refcounted)
		live_configs--;
	if (c->base) { /* derived: the rest is base's */
		for (size_t i = 0; i < c->n_backends; i++)
			free(c->backends[i].servers);
		free(c->backends);
		const struct config *base = c->base;
		free(c);
		config_release(base);
		return;
	}
	for (size_t i = 0; i < c->n_listeners; i++) {
		free(c->listeners[i].name);
		free(c->listeners[i].backend);
		free(c->listeners[i].intercept);
	}
	free(c->listeners);
	for (size_t i = 0; i < c->n_backends; i++) {
		free(c->backends[i].name);
		free(c->backends[i].servers);
		free_health(&c->backends[i].health);
		cfg_free_discover(c->backends[i].discover);
	}
	free(c->backends);
	cfg_free_vrrp(c->vrrp, c->n_vrrp);
	cfg_free_bgp(c->bgp);
	cfg_free_sync(c->sync);
	free(c->file);
	free(c->node);
	free(c->log_format);
	free(c->control_socket);
	free(c->user);
	free(c->script_user);
	free(c);
}
