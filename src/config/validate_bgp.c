/* The bgp: section: conversion, defaults, and the checks `buoy check` promises (duplicate
 * peers and prefixes, host-length prefixes, a VIP that is not also VRRP's, a gate for every
 * announcement, nothing BIRD 2 would refuse). Pure. */
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BGP_ITEMS 64
#define BIRD_DEFAULT_HOLD_MS 240000
/* BIRD symbols are at most 64 bytes and a peer's protocol is "buoy_" + its name */
#define MAX_PEER_NAME 59
#define MAX_RUN_DIR 90 /* + "/bird.ctl" must fit a socket path */

/* Addresses no router would route to one host; NULL when usable. */
static const char *ip_unusable(const struct ip_addr *a)
{
	if (ip_addr_is_any(a))
		return "the unspecified address";
	if (a->family == AF_INET) {
		uint32_t h = ntohl(a->v4.s_addr);
		if ((h >> 24) == 127)
			return "a loopback address";
		return (h >> 28) >= 14 ? "a multicast or reserved address" : NULL;
	}
	if (IN6_IS_ADDR_LOOPBACK(&a->v6))
		return "a loopback address";
	if (IN6_IS_ADDR_MULTICAST(&a->v6))
		return "a multicast address";
	if (IN6_IS_ADDR_LINKLOCAL(&a->v6))
		return "link-local (BIRD needs an interface for it, which bgp: does not take)";
	return NULL;
}

/* Whole seconds: BIRD's BGP timers have no finer unit. */
static void cv_seconds(struct cfg_diag *d, const char *p, const char *key, const char *s,
		       uint64_t lo, uint64_t hi, uint64_t def, uint64_t *out)
{
	if (cv_duration(d, p, key, s, lo, hi, def, out) && *out % 1000)
		cfg_err(d, p, key, "BIRD takes whole seconds, got %s", s);
}

static bool cv_ipaddr(
	struct cfg_diag *d, const char *p, const char *key, const char *s, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return false;
	if (parse_ip_addr(s, out) < 0) {
		cfg_err(d, p, key, "invalid IP address \"%s\"", s);
		return false;
	}
	return true;
}

static void build_timers(const struct raw_bgp *r, struct cfg_diag *d, struct cfg_bgp *b)
{
	uint64_t u = 179;
	if (r->listen_port && !strcmp(r->listen_port, "0"))
		cfg_err(d, "bgp", "listen_port",
			"BIRD 2 needs a listening port for every session: "
			"use another port (e.g. 1179) beside a speaker that holds 179");
	else
		cv_uint(d, "bgp", "listen_port", r->listen_port, 1, 65535, 179, &u);
	b->listen_port = (uint16_t)u;
	cv_seconds(d, "bgp", "hold_time", r->hold_time, 3000, 65535000, 0, &b->hold_time_ms);
	cv_seconds(d, "bgp", "keepalive", r->keepalive, 1000, 65535000, 0, &b->keepalive_ms);
	uint64_t hold = b->hold_time_ms ? b->hold_time_ms : BIRD_DEFAULT_HOLD_MS;
	if (b->keepalive_ms && b->keepalive_ms >= hold)
		cfg_err(d, "bgp", "keepalive", "must be shorter than hold_time (%llus%s)",
			(unsigned long long)(hold / 1000), b->hold_time_ms ? "" : ", BIRD's default");
	cv_seconds(d, "bgp", "connect_retry", r->connect_retry, 1000, 3600000, 5000,
		   &b->connect_retry_ms);
	const struct raw_bgp_error_wait *ew = r->error_wait;
	cv_seconds(d, "bgp.error_wait", "min", ew ? ew->min : NULL, 1000, 3600000, 1000,
		   &b->error_wait_min_ms);
	cv_seconds(d, "bgp.error_wait", "max", ew ? ew->max : NULL, 1000, 3600000, 10000,
		   &b->error_wait_max_ms);
	if (b->error_wait_min_ms > b->error_wait_max_ms)
		cfg_err(d, "bgp.error_wait", ew && ew->min ? "min" : "max",
			"min (%llus) must not "
			"exceed max (%llus)",
			(unsigned long long)(b->error_wait_min_ms / 1000),
			(unsigned long long)(b->error_wait_max_ms / 1000));
	cv_duration(d, "bgp.bfd", "interval", r->bfd ? r->bfd->interval : NULL, 10, 10000, 100,
		    &b->bfd_interval_ms);
	cv_uint(d, "bgp.bfd", "multiplier", r->bfd ? r->bfd->multiplier : NULL, 1, 255, 3, &u);
	b->bfd_multiplier = (uint32_t)u;
	cv_duration(d, "bgp", "hold_down", r->hold_down, 0, 3600000, 2000, &b->hold_down_ms);
	cv_duration(d, "bgp", "shutdown_delay", r->shutdown_delay, 0, 60000, 2000, &b->shutdown_delay_ms);
}

static void build_peer_addrs(
	const struct raw_bgp_peer *r, const char *pp, struct cfg_diag *d, struct cfg_bgp_peer *p)
{
	const char *why;
	if (!r->address)
		cfg_err(d, pp, NULL, "missing required key \"address\" (the router's address)");
	if (cv_ipaddr(d, pp, "address", r->address, &p->addr)) {
		ip_addr_format(&p->addr, IP_FMT_ADDR, p->text, sizeof(p->text));
		if ((why = ip_unusable(&p->addr)))
			cfg_err(d, pp, "address", "%s is %s", p->text, why);
	}
	char s[IP_ADDR_STRLEN];
	if (!cv_ipaddr(d, pp, "source", r->source, &p->source) || !p->addr.family)
		return;
	ip_addr_format(&p->source, IP_FMT_ADDR, s, sizeof(s));
	if (p->source.family != p->addr.family)
		cfg_err(d, pp, "source", "%s is not of the family of the peer's address %s", s, p->text);
	else if (ip_addr_equal(&p->source, &p->addr))
		cfg_err(d, pp, "source", "%s is the peer's own address", s);
	else if ((why = ip_unusable(&p->source)))
		cfg_err(d, pp, "source", "%s is %s", s, why);
}

static void build_peer(const struct raw_bgp_peer *r, size_t i, struct cfg_diag *d, struct cfg_bgp_peer *p)
{
	char pp[64];
	uint64_t u;
	snprintf(pp, sizeof(pp), "bgp.peers[%zu]", i);
	if (!r->name) {
		if (asprintf(&p->name, "peer%zu", i + 1) < 0)
			p->name = NULL;
	} else if (cv_name(d, pp, "name", r->name, &p->name) && strlen(p->name) > MAX_PEER_NAME) {
		cfg_err(d, pp, "name",
			"at most %d characters (BIRD's protocol name is \"buoy_\" + "
			"the name, at most 64)",
			MAX_PEER_NAME);
	}
	build_peer_addrs(r, pp, d, p);
	if (!r->asn)
		cfg_err(d, pp, NULL, "missing required key \"asn\" (the peer's AS number)");
	cv_uint(d, pp, "asn", r->asn, 1, UINT32_MAX, 0, &u);
	p->asn = (uint32_t)u;
	cv_uint(d, pp, "port", r->port, 1, 65535, 179, &u);
	p->port = (uint16_t)u;
	cv_str(d, pp, "password", r->password, false, NULL, &p->password);
	if (p->password &&
	    (!*p->password || strlen(p->password) > 80 || strpbrk(p->password, "\"\\\n\r")))
		cfg_err(d, pp, "password",
			"must be 1..80 characters without quotes, backslashes "
			"or line breaks (a TCP-MD5 key)");
	cv_bool(d, pp, "bfd", r->bfd, true, &p->bfd);
	cv_uint(d, pp, "multihop", r->multihop, 2, 255, 0, &u);
	p->multihop = (uint8_t)u;
	if (p->multihop && p->bfd && !p->source.family && !r->source)
		cfg_err(d, pp, "multihop",
			"a multihop peer with BFD needs \"source\" (BIRD's "
			"multihop BFD requires the local address); set source, or bfd: false");
	cv_bool(d, pp, "passive", r->passive, false, &p->passive);
}

/* birdconf writes '-' and '.' in a protocol name as '_' (BIRD symbols allow neither). */
static bool same_bird_name(const char *x, const char *y)
{
	if (!x || !y || strlen(x) != strlen(y))
		return false;
	for (; *x; x++, y++)
		if (*x != *y && !(strchr("-._", *x) && strchr("-._", *y)))
			return false;
	return true;
}

static void check_peers(const struct raw_bgp *r, struct cfg_diag *d, const struct cfg_bgp *b)
{
	for (size_t i = 0; i < b->n_peers; i++) {
		const struct cfg_bgp_peer *p = &b->peers[i], *q;
		char pp[64];
		snprintf(pp, sizeof(pp), "bgp.peers[%zu]", i);
		for (size_t j = 0; j < i; j++) {
			q = &b->peers[j];
			if (p->addr.family && ip_addr_equal(&p->addr, &q->addr))
				cfg_err(d, pp, "address", "%s is also bgp.peers[%zu]", p->text, j);
			if (!same_bird_name(p->name, q->name))
				continue;
			if (strcmp(p->name, q->name))
				cfg_err(d, pp, "name",
					"\"%s\" and bgp.peers[%zu]'s \"%s\" are one name "
					"to BIRD ('-' and '.' become '_')",
					p->name, j, q->name);
			else
				cfg_err(d, pp, "name",
					"duplicate peer name \"%s\" (also bgp.peers[%zu]%s)", p->name,
					j, r->peers[i].name ? "" : "; unnamed peers are peer<N>");
		}
	}
}

/* A listener on the address serves it, and so does one on 0.0.0.0 (IPv4) or on [::], which
 * listeners bind dual-stack (proxy/listener.c). */
static bool listener_serves(const struct cfg_listener *l, const struct ip_addr *vip)
{
	struct ip_addr bind;
	if (ip_addr_from_sockaddr((const struct sockaddr *)&l->bind.ss, &bind) < 0)
		return false;
	if (bind.family == AF_INET6 && ip_addr_is_any(&bind))
		return true;
	return bind.family == vip->family && (ip_addr_equal(&bind, vip) || ip_addr_is_any(&bind));
}

static void track_from_listeners(const struct config *c, struct cfg_bgp_announce *a)
{
	a->track_from_listeners = true;
	if (!c->n_listeners)
		return;
	a->track_backends = calloc(c->n_listeners, sizeof(*a->track_backends));
	if (!a->track_backends)
		return;
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct cfg_listener *l = &c->listeners[i];
		if (!l->backend || l->backend_idx >= c->n_backends ||
		    !listener_serves(l, &a->prefix.addr))
			continue;
		bool dup = false;
		for (size_t k = 0; k < a->n_track_backends && !dup; k++)
			dup = a->track_backends[k].backend_idx == l->backend_idx;
		if (dup)
			continue;
		struct cfg_track_backend *t = &a->track_backends[a->n_track_backends];
		if (!(t->name = strdup(l->backend)))
			return;
		t->backend_idx = l->backend_idx;
		a->n_track_backends++;
	}
}

static void build_track(const struct raw_bgp_track *t, const char *ap, struct cfg_diag *d,
			const struct config *c, struct cfg_bgp_announce *a)
{
	if (!t->backends_count)
		return; /* `backends: []`: announced whenever buoy runs */
	a->track_backends = calloc(t->backends_count, sizeof(*a->track_backends));
	if (!a->track_backends)
		return;
	for (size_t i = 0; i < t->backends_count; i++) {
		char bp[128];
		int64_t w;
		snprintf(bp, sizeof(bp), "%s.track.backends[%zu]", ap, i);
		const char *key = t->backends[i].is_map ? "name" : NULL;
		if (cv_int(d, bp, "weight", t->backends[i].weight, INT32_MIN, INT32_MAX, 0, &w) && w)
			cfg_err(d, bp, "weight",
				"bgp announcements have no priority: weight must be "
				"absent or 0");
		struct cfg_track_backend *tb = &a->track_backends[a->n_track_backends];
		if (!cv_str(d, bp, key ? key : "", t->backends[i].name, true, NULL, &tb->name))
			continue;
		a->n_track_backends++;
		tb->backend_idx = cfg_backend_ref(d, bp, key, c, tb->name);
	}
}

/* "0".."65535": digits only, no sign or space (sscanf would take both). */
static bool parse_u16(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;
	if (!n || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = (uint16_t)v;
	return v <= 65535;
}

static void build_communities(const struct raw_bgp_announce *r, const char *ap, struct cfg_diag *d,
			      struct cfg_bgp_announce *a)
{
	a->communities = cfg_list_new(d, ap, "communities", r->communities_count, MAX_BGP_ITEMS,
				      "communities", sizeof(*a->communities), NULL);
	if (!a->communities)
		return;
	for (size_t i = 0; i < r->communities_count; i++) {
		char cp[128];
		const char *s = r->communities[i], *colon = strchr(s, ':');
		struct cfg_bgp_community *cm = &a->communities[a->n_communities];
		snprintf(cp, sizeof(cp), "%s.communities[%zu]", ap, i);
		if (!colon || !parse_u16(s, (size_t)(colon - s), &cm->asn) ||
		    !parse_u16(colon + 1, strlen(colon + 1), &cm->value)) {
			cfg_err(d, cp, NULL, "expected \"ASN:VALUE\" with both 0..65535, got \"%s\"", s);
			continue;
		}
		a->n_communities++;
	}
}

/* One address, /32 or /128: the route buoy puts on lo and BIRD announces. */
static bool build_prefix(const struct raw_bgp_announce *r, const char *ap, struct cfg_diag *d,
			 struct cfg_bgp_announce *a)
{
	const char *why;
	char ip[64];
	if (!r->prefix) {
		cfg_err(d, ap, NULL, "missing required key \"prefix\" (the VIP, e.g. 198.18.200.1/32)");
		return false;
	}
	if (parse_cidr(r->prefix, &a->prefix) < 0) {
		cfg_err(d, ap, "prefix", "invalid address \"%s\" (expected e.g. 198.18.200.1/32)",
			r->prefix);
		return false;
	}
	unsigned host = (unsigned)ip_addr_len(a->prefix.addr.family) * 8;
	if (a->prefix.addr.prefix != host) {
		cfg_err(d, ap, "prefix", "an anycast VIP is one address: /%u, got %s", host, r->prefix);
		return false;
	}
	if ((why = ip_unusable(&a->prefix.addr))) {
		cfg_err(d, ap, "prefix", "%s is %s",
			ip_addr_format(&a->prefix.addr, IP_FMT_ADDR, ip, sizeof(ip)), why);
		return false;
	}
	return true;
}

static void build_announce(const struct raw_bgp_announce *r, size_t i, struct cfg_diag *d,
			   const struct config *c, struct cfg_bgp_announce *a)
{
	char ap[64], ip[64];
	uint64_t u;
	snprintf(ap, sizeof(ap), "bgp.announce[%zu]", i);
	bool ok = build_prefix(r, ap, d, a);
	a->has_med = r->med != NULL;
	cv_uint(d, ap, "med", r->med, 0, UINT32_MAX, 0, &u);
	a->med = (uint32_t)u;
	build_communities(r, ap, d, a);
	if (r->track) {
		char tp[80];
		snprintf(tp, sizeof(tp), "%s.track", ap);
		cv_bool(d, tp, "strict", r->track->strict, false, &a->track_strict);
	}
	if (r->track && r->track->backends_present) {
		build_track(r->track, ap, d, c, a);
		return;
	}
	if (!ok)
		return;
	track_from_listeners(c, a);
	if (!a->n_track_backends)
		cfg_err(d, ap, "prefix",
			"no listener binds %s and no track.backends given: nothing "
			"would gate the announcement (track: { backends: [] } announces it always)",
			ip_addr_format(&a->prefix.addr, IP_FMT_ADDR, ip, sizeof(ip)));
}

static void check_announce(struct cfg_diag *d, const struct config *c, const struct cfg_bgp *b)
{
	for (size_t i = 0; i < b->n_announce; i++) {
		const struct cfg_bgp_announce *a = &b->announce[i];
		char ap[64], ip[64];
		snprintf(ap, sizeof(ap), "bgp.announce[%zu]", i);
		if (!a->prefix.addr.family)
			continue;
		ip_addr_format(&a->prefix.addr, IP_FMT_ADDR, ip, sizeof(ip));
		for (size_t j = 0; j < i; j++)
			if (ip_addr_equal(&a->prefix.addr, &b->announce[j].prefix.addr))
				cfg_err(d, ap, "prefix", "%s is also bgp.announce[%zu]", ip, j);
		for (size_t v = 0; v < c->n_vrrp; v++)
			for (size_t k = 0; k < c->vrrp[v].n_vips; k++)
				if (ip_addr_equal(&a->prefix.addr, &c->vrrp[v].vips[k].addr))
					cfg_err(d, ap, "prefix",
						"%s is also a virtual_ip of vrrp[%zu]: one "
						"address cannot float by VRRP and be anycast by BGP",
						ip, v);
	}
}

static void build_lists(
	const struct raw_bgp *r, struct cfg_diag *d, const struct config *c, struct cfg_bgp *b)
{
	if (!r->peers_count)
		cfg_err(d, "bgp", "peers", "at least one peer is required (the routers to announce to)");
	if (!r->announce_count)
		cfg_err(d, "bgp", "announce", "at least one prefix is required (the VIPs to announce)");
	if (!cfg_list_ok(d, "bgp", "peers", r->peers_count, MAX_BGP_ITEMS, "entries") ||
	    !cfg_list_ok(d, "bgp", "announce", r->announce_count, MAX_BGP_ITEMS, "entries"))
		return; /* the duplicate checks are quadratic */
	b->peers = cfg_list_new(d, "bgp", "peers", r->peers_count, MAX_BGP_ITEMS, "entries",
				sizeof(*b->peers), &b->n_peers);
	b->announce = cfg_list_new(d, "bgp", "announce", r->announce_count, MAX_BGP_ITEMS,
				   "entries", sizeof(*b->announce), &b->n_announce);
	for (size_t i = 0; i < b->n_peers; i++)
		build_peer(&r->peers[i], i, d, &b->peers[i]);
	for (size_t i = 0; i < b->n_announce; i++)
		build_announce(&r->announce[i], i, d, c, &b->announce[i]);
	check_peers(r, d, b);
	check_announce(d, c, b);
}

static void build_paths(
	const struct raw_bgp *r, struct cfg_diag *d, const struct config *c, struct cfg_bgp *b)
{
	cv_str(d, "bgp", "bird", r->bird, false, "bird", &b->bird);
	if (b->bird && !*b->bird)
		cfg_err(d, "bgp", "bird", "must not be empty (default: bird, found in PATH)");
	if (r->run_dir) {
		cv_str(d, "bgp", "run_dir", r->run_dir, false, NULL, &b->run_dir);
		if (b->run_dir && (b->run_dir[0] != '/' || strlen(b->run_dir) > MAX_RUN_DIR))
			cfg_err(d, "bgp", "run_dir",
				"must be an absolute path of at most %d characters "
				"(the control socket lives there)",
				MAX_RUN_DIR);
		return;
	}
	if (!c->node || asprintf(&b->run_dir, "/run/buoy/bird-%s", c->node) < 0) {
		b->run_dir = NULL;
		return;
	}
	if (strchr(c->node, '/') || strlen(b->run_dir) > MAX_RUN_DIR)
		cfg_err(d, "bgp", NULL,
			"the default run_dir %s is no directory name of at most %d "
			"characters: set run_dir",
			b->run_dir, MAX_RUN_DIR);
}

void cfg_build_bgp(const struct raw_config *raw, struct cfg_diag *d, struct config *c)
{
	const struct raw_bgp *r = raw->bgp;
	if (!r)
		return;
	struct cfg_bgp *b = c->bgp = calloc(1, sizeof(*b));
	if (!b)
		return;
	uint64_t u;
	if (!r->asn)
		cfg_err(d, "bgp", NULL, "missing required key \"asn\" (this node's AS number)");
	cv_uint(d, "bgp", "asn", r->asn, 1, UINT32_MAX, 0, &u);
	b->asn = (uint32_t)u;
	if (r->router_id &&
	    (inet_pton(AF_INET, r->router_id, &b->router_id) != 1 || !b->router_id.s_addr))
		cfg_err(d, "bgp", "router_id", "expected a non-zero IPv4 address, got \"%s\"",
			r->router_id);
	build_timers(r, d, b);
	build_paths(r, d, c, b);
	build_lists(r, d, c, b);
}

void cfg_free_bgp(struct cfg_bgp *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_peers; i++) {
		free(b->peers[i].name);
		free(b->peers[i].password);
	}
	free(b->peers);
	for (size_t i = 0; i < b->n_announce; i++) {
		for (size_t k = 0; k < b->announce[i].n_track_backends; k++)
			free(b->announce[i].track_backends[k].name);
		free(b->announce[i].track_backends);
		free(b->announce[i].communities);
	}
	free(b->announce);
	free(b->bird);
	free(b->run_dir);
	free(b);
}
