/* VRRP instances: conversion, defaults and the checks `buoy check` promises (VRID clash on one
 * interface, one address family per instance, auth only with v2, interval ranges). Pure. */
#include "config/config_internal.h"

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VIPS 64
#define MAX_PEERS 64

static const char *family_name(int af) { return af == AF_INET6 ? "IPv6" : "IPv4"; }

static void build_vips(const struct raw_vrrp *rv, const char *p, struct cfg_diag *d, struct cfg_vrrp *v)
{
	if (!rv->virtual_ips_count) {
		cfg_err(d, p, "virtual_ips", "an instance needs at least one address");
		return;
	}
	v->vips = cfg_list_new(d, p, "virtual_ips", rv->virtual_ips_count, MAX_VIPS,
			       "addresses per instance", sizeof(*v->vips), NULL);
	if (!v->vips)
		return;
	for (size_t i = 0; i < rv->virtual_ips_count; i++) {
		char item[128];
		snprintf(item, sizeof(item), "%s.virtual_ips[%zu]", p, i);
		struct cfg_vip *vip = &v->vips[v->n_vips];
		if (parse_cidr(rv->virtual_ips[i], vip) < 0) {
			cfg_err(d, item, NULL, "invalid address \"%s\" (expected e.g. 198.18.0.100/24)",
				rv->virtual_ips[i]);
			continue;
		}
		if (!v->family) {
			v->family = vip->addr.family;
		} else if (vip->addr.family != v->family) {
			cfg_err(d, item, NULL,
				"%s is %s but the instance's first address is %s: one "
				"instance carries one address family (use a second instance)",
				vip->text, family_name(vip->addr.family), family_name(v->family));
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < v->n_vips && !dup; j++)
			dup = ip_addr_equal(&v->vips[j].addr, &vip->addr);
		if (dup) {
			cfg_err(d, item, NULL, "duplicate address %s", vip->text);
			continue;
		}
		v->n_vips++;
	}
}

static void build_unicast(const struct raw_vrrp *rv, const char *p, struct cfg_diag *d, struct cfg_vrrp *v)
{
	if (rv->unicast_source) {
		if (parse_ip_addr(rv->unicast_source, &v->unicast_source) < 0)
			cfg_err(d, p, "unicast_source", "invalid address \"%s\"", rv->unicast_source);
		else if (v->family && v->unicast_source.family != v->family)
			cfg_err(d, p, "unicast_source", "%s address for an %s instance",
				family_name(v->unicast_source.family), family_name(v->family));
	}
	v->unicast_peers = cfg_list_new(
		d, p, "unicast_peers", rv->unicast_peers_count, MAX_PEERS, "peers",
		sizeof(*v->unicast_peers), NULL);
	if (!v->unicast_peers)
		return;
	for (size_t i = 0; i < rv->unicast_peers_count; i++) {
		char item[128];
		snprintf(item, sizeof(item), "%s.unicast_peers[%zu]", p, i);
		struct ip_addr *peer = &v->unicast_peers[v->n_unicast_peers];
		const char *s = rv->unicast_peers[i];
		bool dup = false;
		if (parse_ip_addr(s, peer) < 0) {
			cfg_err(d, item, NULL, "invalid address \"%s\"", s);
			continue;
		}
		if (v->family && peer->family != v->family) {
			cfg_err(d, item, NULL, "%s peer %s for an %s instance",
				family_name(peer->family), s, family_name(v->family));
			continue;
		}
		for (size_t j = 0; j < v->n_unicast_peers && !dup; j++)
			dup = ip_addr_equal(&v->unicast_peers[j], peer);
		if (dup || ip_addr_equal(peer, &v->unicast_source)) {
			cfg_err(d, item, NULL,
				dup ? "duplicate peer %s" : "peer %s is the unicast_source", s);
			continue;
		}
		v->n_unicast_peers++;
	}
}

/* v3 carries the interval in centiseconds (12 bits); v2 in whole seconds (8 bits). */
static void build_timing(const struct raw_vrrp *rv, const char *p, struct cfg_diag *d, struct cfg_vrrp *v)
{
	bool ok;
	if (v->version == 2) {
		ok = cv_duration(d, p, "advert_interval", rv->advert_interval, 1000, 255000, 1000,
				 &v->advert_interval_ms);
		if (ok && v->advert_interval_ms % 1000)
			cfg_err(d, p, "advert_interval",
				"VRRPv2 needs whole seconds (1s..255s), got %s", rv->advert_interval);
	} else {
		ok = cv_duration(d, p, "advert_interval", rv->advert_interval, 10, 40950, 200,
				 &v->advert_interval_ms);
		if (ok && v->advert_interval_ms % 10)
			cfg_err(d, p, "advert_interval", "VRRPv3 needs a multiple of 10ms, got %s",
				rv->advert_interval);
	}
	cv_bool(d, p, "preempt", rv->preempt, true, &v->preempt);
	cv_duration(d, p, "preempt_delay", rv->preempt_delay, 0, 1000000, 0, &v->preempt_delay_ms);
	const struct raw_garp *g = rv->garp;
	char gp[96];
	uint64_t u;
	snprintf(gp, sizeof(gp), "%s.garp", p);
	cv_uint(d, gp, "repeat", g ? g->repeat : NULL, 0, 100, 5, &u);
	v->garp.repeat = (uint32_t)u;
	cv_duration(d, gp, "interval", g ? g->interval : NULL, 1, 10000, 10, &v->garp.interval_ms);
	cv_duration(d, gp, "delay", g ? g->delay : NULL, 0, 3600000, 5000, &v->garp.delay_ms);
	cv_duration(d, gp, "refresh", g ? g->refresh : NULL, 0, 86400000, 60000, &v->garp.refresh_ms);
}

static void build_auth(const struct raw_vrrp *rv, const char *p, struct cfg_diag *d, struct cfg_vrrp *v)
{
	const char *s = rv->auth_pass;
	if (!s || !*s)
		return;
	if (v->version == 3)
		cfg_err(d, p, "auth_pass",
			"authentication exists only in VRRPv2 (RFC 5798 removed "
			"it): remove auth_pass or set version: 2");
	else if (strlen(s) > 8)
		cfg_err(d, p, "auth_pass", "at most 8 characters (VRRPv2 simple password), got %zu",
			strlen(s));
	else
		memcpy(v->auth_pass, s, strlen(s) + 1);
}

static bool cv_ifname(struct cfg_diag *d, const char *p, const char *key, const char *s, char **out)
{
	if (!cv_str(d, p, key, s, true, NULL, out))
		return false;
	if (strlen(s) >= IFNAMSIZ || strchr(s, '/') || strchr(s, ' ')) {
		cfg_err(d, p, key, "\"%s\" is not a valid interface name", s);
		return false;
	}
	return true;
}

static void build_track_scripts(
	const struct raw_track *t, const char *p, struct cfg_diag *d, struct cfg_vrrp *v)
{
	if (!t->scripts_count)
		return;
	v->track_scripts = calloc(t->scripts_count, sizeof(*v->track_scripts));
	if (!v->track_scripts)
		return;
	v->n_track_scripts = t->scripts_count;
	for (size_t i = 0; i < t->scripts_count; i++) {
		const struct raw_track_script *rs = &t->scripts[i];
		struct cfg_track_script *s = &v->track_scripts[i];
		char sp[128];
		uint64_t u;
		int64_t w;
		snprintf(sp, sizeof(sp), "%s.track.scripts[%zu]", p, i);
		cfg_track_script_defaults(s);
		cv_str(d, sp, "command", rs->command, true, NULL, &s->command);
		cv_str(d, sp, "name", rs->name, false, rs->command, &s->name);
		if (s->name && !*s->name)
			cfg_err(d, sp, "name", "must not be empty");
		cv_duration(d, sp, "interval", rs->interval, 10, 3600000, s->interval_ms,
			    &s->interval_ms);
		/* the timeout defaults to the interval given, not to the default interval */
		cv_duration(d, sp, "timeout", rs->timeout, 1, 3600000, s->interval_ms, &s->timeout_ms);
		cv_int(d, sp, "weight", rs->weight, -254, 254, s->weight, &w);
		s->weight = (int32_t)w;
		cv_uint(d, sp, "rise", rs->rise, 1, 1000, s->rise, &u);
		s->rise = (uint32_t)u;
		cv_uint(d, sp, "fall", rs->fall, 1, 1000, s->fall, &u);
		s->fall = (uint32_t)u;
		cv_str(d, sp, "user", rs->user, false, s->user, &s->user);
		if (s->user && !*s->user)
			cfg_err(d, sp, "user", "must not be empty");
	}
}

static void build_track_ifaces(
	const struct raw_track *t, const char *p, struct cfg_diag *d, struct cfg_vrrp *v)
{
	if (!t->interfaces_count)
		return;
	v->track_ifaces = calloc(t->interfaces_count, sizeof(*v->track_ifaces));
	if (!v->track_ifaces)
		return;
	v->n_track_ifaces = t->interfaces_count;
	for (size_t i = 0; i < t->interfaces_count; i++) {
		char ip[128];
		int64_t w;
		snprintf(ip, sizeof(ip), "%s.track.interfaces[%zu]", p, i);
		const char *key = t->interfaces[i].is_map ? "name" : NULL;
		if (cv_ifname(d, ip, key ? key : "", t->interfaces[i].name, &v->track_ifaces[i].name)) {
			for (size_t j = 0; j < i; j++) {
				const char *o = v->track_ifaces[j].name;
				if (o && !strcmp(o, v->track_ifaces[i].name)) {
					cfg_err(d, ip, key, "interface \"%s\" is tracked twice", o);
					break;
				}
			}
		}
		cv_int(d, ip, "weight", t->interfaces[i].weight, -254, 254, 0, &w);
		v->track_ifaces[i].weight = (int32_t)w;
	}
}

static void build_track_backends(
	const struct raw_track *t, const char *p, struct cfg_diag *d, const struct config *c,
	struct cfg_vrrp *v)
{
	if (!t->backends_count)
		return;
	v->track_backends = calloc(t->backends_count, sizeof(*v->track_backends));
	if (!v->track_backends)
		return;
	v->n_track_backends = t->backends_count;
	for (size_t i = 0; i < t->backends_count; i++) {
		struct cfg_track_backend *tb = &v->track_backends[i];
		char bp[128];
		int64_t w;
		snprintf(bp, sizeof(bp), "%s.track.backends[%zu]", p, i);
		const char *key = t->backends[i].is_map ? "name" : NULL;
		cv_int(d, bp, "weight", t->backends[i].weight, -254, 254, 0, &w);
		tb->weight = (int32_t)w;
		if (!cv_str(d, bp, key ? key : "", t->backends[i].name, true, NULL, &tb->name))
			continue;
		tb->backend_idx = cfg_backend_ref(d, bp, key, c, tb->name);
	}
}

static void build_instance(const struct raw_vrrp *rv, size_t idx, const struct config *c,
			   struct cfg_diag *d, struct cfg_vrrp *v)
{
	char p[64];
	uint64_t u;
	snprintf(p, sizeof(p), "vrrp[%zu]", idx);
	cv_name(d, p, "name", rv->name, &v->name);
	cv_ifname(d, p, "interface", rv->interface, &v->interface);
	if (!rv->router_id)
		cfg_err(d, p, NULL, "missing required key \"router_id\" (the VRID, 1..255)");
	cv_uint(d, p, "router_id", rv->router_id, 1, 255, 0, &u);
	v->router_id = (uint8_t)u;
	cv_uint(d, p, "priority", rv->priority, 1, 255, 100, &u);
	v->priority = (uint8_t)u;
	if (rv->version && strcmp(rv->version, "2") && strcmp(rv->version, "3"))
		cfg_err(d, p, "version", "expected 2 or 3, got \"%s\"", rv->version);
	v->version = rv->version && !strcmp(rv->version, "2") ? 2 : 3;
	build_vips(rv, p, d, v);
	if (v->version == 2 && v->family == AF_INET6)
		cfg_err(d, p, "version",
			"VRRPv2 (RFC 3768) is IPv4 only: no peer can take IPv6 "
			"addresses in v2 adverts; use version 3");
	build_unicast(rv, p, d, v);
	build_timing(rv, p, d, v);
	build_auth(rv, p, d, v);
	cv_str(d, p, "label", rv->label, false, NULL, &v->label);
	if (v->label && (!*v->label || strlen(v->label) >= IFNAMSIZ))
		cfg_err(d, p, "label", "must be 1..%d characters", IFNAMSIZ - 1);
	cv_str(d, p, "notify", rv->notify, false, NULL, &v->notify);
	if (v->notify && !*v->notify)
		cfg_err(d, p, "notify", "must not be empty");
	if (rv->track) {
		build_track_ifaces(rv->track, p, d, v);
		build_track_scripts(rv->track, p, d, v);
		build_track_backends(rv->track, p, d, c, v);
		char tp[80];
		snprintf(tp, sizeof(tp), "%s.track", p);
		cv_bool(d, tp, "strict", rv->track->strict, false, &v->track_strict);
	}
}

/* Two instances with one VRID, one family, one interface would fight over the same virtual
 * router (and its virtual MAC); the same VIP in two instances would flap between them. */
static void check_clashes(struct cfg_diag *d, const struct config *c)
{
	for (size_t i = 0; i < c->n_vrrp; i++) {
		const struct cfg_vrrp *a = &c->vrrp[i];
		char p[64];
		snprintf(p, sizeof(p), "vrrp[%zu]", i);
		for (size_t j = 0; j < i; j++) {
			const struct cfg_vrrp *b = &c->vrrp[j];
			if (a->router_id && a->router_id == b->router_id && a->interface &&
			    b->interface && !strcmp(a->interface, b->interface) &&
			    a->family == b->family) {
				cfg_err(d, p, "router_id",
					"router_id %u on %s (%s) is already used by "
					"vrrp[%zu]%s%s%s",
					a->router_id, a->interface, family_name(a->family), j,
					b->name ? " \"" : "", b->name ? b->name : "",
					b->name ? "\"" : "");
				break;
			}
		}
		for (size_t k = 0; k < a->n_vips; k++) {
			for (size_t j = 0; j < i; j++) {
				for (size_t m = 0; m < c->vrrp[j].n_vips; m++) {
					if (ip_addr_equal(&a->vips[k].addr, &c->vrrp[j].vips[m].addr)) {
						char item[128];
						snprintf(item, sizeof(item), "%s.virtual_ips[%zu]",
							 p, k);
						cfg_err(d, item, NULL, "%s is also in vrrp[%zu]",
							a->vips[k].text, j);
					}
				}
			}
		}
	}
}

void cfg_build_vrrp(const struct raw_config *raw, struct cfg_diag *d, struct config *c)
{
	c->vrrp = cfg_list_new(d, "", "vrrp", raw->vrrp_count, CFG_MAX_LIST, "entries",
			       sizeof(*c->vrrp), &c->n_vrrp);
	for (size_t i = 0; i < c->n_vrrp; i++)
		build_instance(&raw->vrrp[i], i, c, d, &c->vrrp[i]);
	cfg_check_unique(d, "vrrp", "vrrp instance", c->vrrp, c->n_vrrp, sizeof(*c->vrrp),
			 offsetof(struct cfg_vrrp, name));
	check_clashes(d, c);
}

void cfg_free_vrrp(struct cfg_vrrp *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].interface);
		free(v[i].vips);
		free(v[i].label);
		free(v[i].unicast_peers);
		for (size_t j = 0; j < v[i].n_track_ifaces; j++)
			free(v[i].track_ifaces[j].name);
		free(v[i].track_ifaces);
		for (size_t j = 0; j < v[i].n_track_scripts; j++) {
			free(v[i].track_scripts[j].name);
			free(v[i].track_scripts[j].command);
			free(v[i].track_scripts[j].user);
		}
		free(v[i].track_scripts);
		for (size_t j = 0; j < v[i].n_track_backends; j++)
			free(v[i].track_backends[j].name);
		free(v[i].track_backends);
		free(v[i].notify);
	}
	free(v);
}
