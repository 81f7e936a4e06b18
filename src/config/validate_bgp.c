/* The bgp: section: conversion, defaults, and the checks `buoy check` promises (duplicate
 * peers and prefixes, host-length prefixes, a VIP that is not also VRRP's, a gate for every
 * announcement). Pure. */
#include "config/config_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BGP_ITEMS 64

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
}

static bool is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Whole seconds: BIRD's BGP timers have no finer unit. */
static void cv_seconds(struct cfg_diag *d, const char *p, const char *key, const char *s,
		       uint64_t lo, uint64_t hi, uint64_t def, uint64_t *out)
{
	if (cv_duration(d, p, key, s, lo, hi, def, out) && *out % 1000)
		cfg_err(d, p, key, "BIRD takes whole seconds, got %s", s);
}

static bool cv_ipaddr(struct cfg_diag *d, const char *p, const char *key, const char *s,
		      bool required, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (!s) {
		if (required)
			cfg_err(d, p, NULL, "missing required key \"%s\"", key);
		return false;
	}
	if (parse_ip(s, out) < 0) {
		cfg_err(d, p, key, "invalid IP address \"%s\"", s);
		return false;
	}
	return true;
}

static void build_timers(const struct raw_bgp *r, struct cfg_diag *d, struct cfg_bgp *b)
{
	uint64_t u;
	cv_uint(d, "bgp", "listen_port", r->listen_port, 1, 65535, 179, &u);
	b->listen_port = (uint16_t)u;
	cv_seconds(d, "bgp", "hold_time", r->hold_time, 3000, 65535000, 0, &b->hold_time_ms);
	cv_seconds(d, "bgp", "keepalive", r->keepalive, 1000, 65535000, 0, &b->keepalive_ms);
	if (b->hold_time_ms && b->keepalive_ms && b->keepalive_ms >= b->hold_time_ms)
		cfg_err(d, "bgp", "keepalive", "must be shorter than hold_time");
	cv_seconds(d, "bgp", "connect_retry", r->connect_retry, 1000, 3600000, 5000,
		   &b->connect_retry_ms);
	const struct raw_bgp_error_wait *ew = r->error_wait;
	cv_seconds(d, "bgp.error_wait", "min", ew ? ew->min : NULL, 1000, 3600000, 1000,
		   &b->error_wait_min_ms);
	cv_seconds(d, "bgp.error_wait", "max", ew ? ew->max : NULL, 1000, 3600000, 10000,
		   &b->error_wait_max_ms);
	if (b->error_wait_min_ms > b->error_wait_max_ms)
		cfg_err(d, "bgp.error_wait", "min", "must not exceed max");
	cv_duration(d, "bgp.bfd", "interval", r->bfd ? r->bfd->interval : NULL, 10, 10000, 100,
		    &b->bfd_interval_ms);
	cv_uint(d, "bgp.bfd", "multiplier", r->bfd ? r->bfd->multiplier : NULL, 1, 255, 3, &u);
	b->bfd_multiplier = (uint32_t)u;
	cv_duration(d, "bgp", "hold_down", r->hold_down, 0, 3600000, 2000, &b->hold_down_ms);
	cv_duration(d, "bgp", "shutdown_delay", r->shutdown_delay, 0, 60000, 2000,
		    &b->shutdown_delay_ms);
}

static void build_peer(const struct raw_bgp_peer *r, size_t i, struct cfg_diag *d,
		       struct cfg_bgp_peer *p)
{
	char pp[64], def[32];
	uint64_t u;
	snprintf(pp, sizeof(pp), "bgp.peers[%zu]", i);
	snprintf(def, sizeof(def), "peer%zu", i + 1);
	if (r->name)
		cv_name(d, pp, "name", r->name, &p->name);
	else
		p->name = strdup(def);
	if (cv_ipaddr(d, pp, "address", r->address, true, &p->addr))
		format_sockaddr((struct sockaddr *)&p->addr, p->text, sizeof(p->text));
	if (p->addr.ss_family == AF_INET6) /* format_sockaddr writes "[addr]:0" */
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&p->addr)->sin6_addr, p->text,
			  sizeof(p->text));
	else if (p->addr.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&p->addr)->sin_addr, p->text,
			  sizeof(p->text));
	if (!r->asn)
		cfg_err(d, pp, NULL, "missing required key \"asn\" (the peer's AS number)");
	cv_uint(d, pp, "asn", r->asn, 1, UINT32_MAX, 0, &u);
	p->asn = (uint32_t)u;
	cv_uint(d, pp, "port", r->port, 1, 65535, 179, &u);
	p->port = (uint16_t)u;
	cv_str(d, pp, "password", r->password, false, NULL, &p->password);
	if (p->password && (!*p->password || strlen(p->password) > 80 ||
			    strpbrk(p->password, "\"\\\n\r")))
		cfg_err(d, pp, "password", "must be 1..80 characters without quotes, backslashes "
			"or line breaks");
	cv_bool(d, pp, "bfd", r->bfd, true, &p->bfd);
	cv_uint(d, pp, "multihop", r->multihop, 2, 255, 0, &u);
	p->multihop = (uint8_t)u;
	cv_bool(d, pp, "passive", r->passive, false, &p->passive);
	if (cv_ipaddr(d, pp, "source", r->source, false, &p->source) &&
	    p->addr.ss_family && p->source.ss_family != p->addr.ss_family)
		cfg_err(d, pp, "source", "is not of the peer address's family");
}

/* The backends of the listeners bound on the address or on the wildcard of its family. */
static void track_from_listeners(const struct config *c, struct cfg_bgp_announce *a)
{
	a->track_backends = calloc(c->n_listeners ? c->n_listeners : 1, sizeof(*a->track_backends));
	if (!a->track_backends)
		return;
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct cfg_listener *l = &c->listeners[i];
		if (!l->backend || l->backend_idx >= c->n_backends ||
		    l->bind.ss.ss_family != a->prefix.ss.ss_family ||
		    !(same_ip(&l->bind.ss, &a->prefix.ss) || is_any(&l->bind.ss)))
			continue;
		bool dup = false;
		for (size_t k = 0; k < a->n_track_backends && !dup; k++)
			dup = a->track_backends[k].backend_idx == l->backend_idx;
		if (dup)
			continue;
		struct cfg_track_backend *t = &a->track_backends[a->n_track_backends++];
		t->name = strdup(l->backend);
		t->backend_idx = l->backend_idx;
	}
	a->track_from_listeners = true;
}

static void build_track(const struct raw_bgp_track *t, const char *ap, struct cfg_diag *d,
			const struct config *c, struct cfg_bgp_announce *a)
{
	a->track_backends = calloc(t->backends_count ? t->backends_count : 1,
				   sizeof(*a->track_backends));
	if (!a->track_backends)
		return;
	for (size_t i = 0; i < t->backends_count; i++) {
		char bp[128];
		int64_t w;
		snprintf(bp, sizeof(bp), "%s.track.backends[%zu]", ap, i);
		const char *key = t->backends[i].is_map ? "name" : NULL;
		if (cv_int(d, bp, "weight", t->backends[i].weight, -254, 254, 0, &w) && w != 0)
			cfg_err(d, bp, "weight", "bgp announcements have no priority: weight must be "
				"absent or 0");
		struct cfg_track_backend *tb = &a->track_backends[a->n_track_backends];
		if (!cv_str(d, bp, key ? key : "", t->backends[i].name, true, NULL, &tb->name))
			continue;
		a->n_track_backends++;
		size_t j = 0;
		while (j < c->n_backends && !(c->backends[j].name && !strcmp(c->backends[j].name, tb->name)))
			j++;
		if (j == c->n_backends)
			cfg_err(d, bp, key, "no backend named \"%s\"", tb->name);
		tb->backend_idx = j;
	}
}

static void build_communities(const struct raw_bgp_announce *r, const char *ap,
			      struct cfg_diag *d, struct cfg_bgp_announce *a)
{
	if (!r->communities_count)
		return;
	a->communities = calloc(r->communities_count, sizeof(*a->communities));
	if (!a->communities)
		return;
	for (size_t i = 0; i < r->communities_count; i++) {
		char cp[128];
		unsigned x, y;
		char tail;
		snprintf(cp, sizeof(cp), "%s.communities[%zu]", ap, i);
		if (sscanf(r->communities[i], "%u:%u%c", &x, &y, &tail) != 2 || x > 65535 ||
		    y > 65535 || strchr(r->communities[i], '-') || strchr(r->communities[i], '+')) {
			cfg_err(d, cp, NULL, "expected \"ASN:VALUE\" with both 0..65535, got \"%s\"",
				r->communities[i]);
			continue;
		}
		a->communities[a->n_communities++] = (struct cfg_bgp_community){ (uint16_t)x,
										 (uint16_t)y };
	}
}

static void build_announce(const struct raw_bgp_announce *r, size_t i, struct cfg_diag *d,
			   const struct config *c, struct cfg_bgp_announce *a)
{
	char ap[64];
	bool ok = false;
	snprintf(ap, sizeof(ap), "bgp.announce[%zu]", i);
	if (!r->prefix) {
		cfg_err(d, ap, NULL, "missing required key \"prefix\" (the VIP, e.g. 198.18.200.1/32)");
	} else if (parse_cidr(r->prefix, &a->prefix) < 0) {
		cfg_err(d, ap, "prefix", "invalid address \"%s\" (expected e.g. 198.18.200.1/32)",
			r->prefix);
	} else if (a->prefix.prefix != (a->prefix.ss.ss_family == AF_INET ? 32 : 128)) {
		cfg_err(d, ap, "prefix", "an anycast VIP is one address: /%u, got %s",
			a->prefix.ss.ss_family == AF_INET ? 32 : 128, r->prefix);
	} else {
		ok = true;
	}
	uint64_t u;
	a->has_med = r->med != NULL;
	cv_uint(d, ap, "med", r->med, 0, UINT32_MAX, 0, &u);
	a->med = (uint32_t)u;
	build_communities(r, ap, d, a);
	if (r->track) {
		build_track(r->track, ap, d, c, a);
		return;
	}
	if (!ok)
		return;
	track_from_listeners(c, a);
	if (!a->n_track_backends)
		cfg_err(d, ap, "prefix", "no listener binds %s and no track.backends given: nothing "
			"would gate the announcement (track: { backends: [] } announces it always)",
			a->prefix.text);
}

static void check_clashes(struct cfg_diag *d, const struct config *c, const struct cfg_bgp *b)
{
	for (size_t i = 0; i < b->n_peers; i++) {
		char pp[64];
		snprintf(pp, sizeof(pp), "bgp.peers[%zu]", i);
		for (size_t j = 0; j < i; j++) {
			if (b->peers[i].addr.ss_family && same_ip(&b->peers[i].addr, &b->peers[j].addr))
				cfg_err(d, pp, "address", "%s is also bgp.peers[%zu]", b->peers[i].text, j);
			else if (b->peers[i].name && b->peers[j].name &&
				 !strcmp(b->peers[i].name, b->peers[j].name))
				cfg_err(d, pp, "name", "duplicate peer name \"%s\" (also bgp.peers[%zu])",
					b->peers[i].name, j);
		}
	}
	for (size_t i = 0; i < b->n_announce; i++) {
		const struct cfg_bgp_announce *a = &b->announce[i];
		char ap[64];
		snprintf(ap, sizeof(ap), "bgp.announce[%zu]", i);
		if (!a->prefix.ss.ss_family)
			continue;
		for (size_t j = 0; j < i; j++)
			if (same_ip(&a->prefix.ss, &b->announce[j].prefix.ss))
				cfg_err(d, ap, "prefix", "%s is also bgp.announce[%zu]", a->prefix.text, j);
		for (size_t v = 0; v < c->n_vrrp; v++)
			for (size_t k = 0; k < c->vrrp[v].n_vips; k++)
				if (same_ip(&a->prefix.ss, &c->vrrp[v].vips[k].ss))
					cfg_err(d, ap, "prefix", "%s is also a virtual_ip of vrrp[%zu]: an "
						"address floats by VRRP or is anycast by BGP, not both",
						a->prefix.text, v);
	}
}

static bool build_lists(const struct raw_bgp *r, struct cfg_diag *d, const struct config *c,
			struct cfg_bgp *b)
{
	if (!r->peers_count)
		cfg_err(d, "bgp", NULL, "missing required key \"peers\" (at least one router)");
	if (!r->announce_count)
		cfg_err(d, "bgp", NULL, "missing required key \"announce\" (at least one VIP)");
	if (r->peers_count > MAX_BGP_ITEMS || r->announce_count > MAX_BGP_ITEMS) {
		cfg_err(d, "bgp", r->peers_count > MAX_BGP_ITEMS ? "peers" : "announce",
			"at most %d entries", MAX_BGP_ITEMS);
		return false;
	}
	b->peers = calloc(r->peers_count ? r->peers_count : 1, sizeof(*b->peers));
	b->announce = calloc(r->announce_count ? r->announce_count : 1, sizeof(*b->announce));
	if (!b->peers || !b->announce)
		return false;
	b->n_peers = r->peers_count;
	b->n_announce = r->announce_count;
	for (size_t i = 0; i < b->n_peers; i++)
		build_peer(&r->peers[i], i, d, &b->peers[i]);
	for (size_t i = 0; i < b->n_announce; i++)
		build_announce(&r->announce[i], i, d, c, &b->announce[i]);
	return true;
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
	if (r->router_id && inet_pton(AF_INET, r->router_id, &b->router_id) != 1)
		cfg_err(d, "bgp", "router_id", "expected an IPv4 address, got \"%s\"", r->router_id);
	build_timers(r, d, b);
	cv_str(d, "bgp", "bird", r->bird, false, NULL, &b->bird);
	cv_str(d, "bgp", "run_dir", r->run_dir, false, NULL, &b->run_dir);
	if (b->run_dir && (b->run_dir[0] != '/' || strlen(b->run_dir) > 90))
		cfg_err(d, "bgp", "run_dir", "must be an absolute path of at most 90 characters "
			"(the control socket lives there)");
	if (build_lists(r, d, c, b))
		check_clashes(d, c, b);
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
