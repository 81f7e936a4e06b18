/* Loading: YAML text -> libyaml tree (positions, structural check) -> libcyaml raw image
 * (strings) -> validate.c (typed struct config). Every error carries FILE:LINE:COL. */
#include "config/config_internal.h"

#include <cyaml/cyaml.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define MAX_CONFIG_BYTES (4u << 20)
#define MAX_EXPANDED_NODES 100000u
#define MAX_FLOW_DEPTH 1000

/* ---- libcyaml schema: every scalar is a string, every key optional; types, ranges and
 * required keys are checked in validate.c where the error can name the value's position. ---- */

#define STR(key, st, m) CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_OPTIONAL, st, m, 0, CYAML_UNLIMITED)
#define MAP(key, st, m, fields) \
	CYAML_FIELD_MAPPING_PTR(key, CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER_NULL, st, m, fields)
#define SEQ(key, st, m, entry) \
	CYAML_FIELD_SEQUENCE(key, CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER_NULL, st, m, entry, 0, \
			     CYAML_UNLIMITED)

static const cyaml_schema_value_t string_entry = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t server_fields[] = {
	STR("address", struct raw_server, address),
	STR("weight", struct raw_server, weight),
	STR("max_conns", struct raw_server, max_conns),
	STR("backup", struct raw_server, backup),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t server_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_server, server_fields),
};

static const cyaml_schema_field_t health_fields[] = {
	STR("type", struct raw_health, type),
	STR("path", struct raw_health, path),
	STR("host", struct raw_health, host),
	CYAML_FIELD_IGNORE("expect_status", CYAML_FLAG_OPTIONAL),
	STR("interval", struct raw_health, interval),
	STR("timeout", struct raw_health, timeout),
	STR("rise", struct raw_health, rise),
	STR("fall", struct raw_health, fall),
	STR("port", struct raw_health, port),
	STR("verify", struct raw_health, verify),
	STR("ca_file", struct raw_health, ca_file),
	STR("cert_file", struct raw_health, cert_file),
	STR("key_file", struct raw_health, key_file),
	STR("initial_state", struct raw_health, initial_state),
	STR("send", struct raw_health, send),
	STR("send_hex", struct raw_health, send_hex),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t discover_fields[] = {
	STR("kind", struct raw_discover, kind),
	STR("kubeconfig", struct raw_discover, kubeconfig),
	STR("context", struct raw_discover, context),
	STR("api", struct raw_discover, api),
	STR("timeout", struct raw_discover, timeout),
	STR("stall_timeout", struct raw_discover, stall_timeout),
	STR("retry", struct raw_discover, retry),
	STR("interval", struct raw_discover, interval),
	STR("ca_file", struct raw_discover, ca_file),
	STR("cert_file", struct raw_discover, cert_file),
	STR("key_file", struct raw_discover, key_file),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t backend_fields[] = {
	STR("name", struct raw_backend, name),
	STR("balance", struct raw_backend, balance),
	SEQ("servers", struct raw_backend, servers, &server_entry),
	STR("connect_timeout", struct raw_backend, connect_timeout),
	STR("retries", struct raw_backend, retries),
	STR("max_fails", struct raw_backend, max_fails),
	STR("fail_timeout", struct raw_backend, fail_timeout),
	STR("idle_timeout", struct raw_backend, idle_timeout),
	STR("queue_timeout", struct raw_backend, queue_timeout),
	STR("max_queue", struct raw_backend, max_queue),
	MAP("health", struct raw_backend, health, health_fields),
	MAP("discover", struct raw_backend, discover, discover_fields),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t backend_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_backend, backend_fields),
};

static const cyaml_schema_field_t listener_fields[] = {
	STR("name", struct raw_listener, name),
	STR("bind", struct raw_listener, bind),
	STR("backend", struct raw_listener, backend),
	STR("defer_accept", struct raw_listener, defer_accept),
	STR("protocol", struct raw_listener, protocol),
	STR("udp_idle_timeout", struct raw_listener, udp_idle_timeout),
	STR("proxy_responses", struct raw_listener, proxy_responses),
	STR("max_sessions", struct raw_listener, max_sessions),
	CYAML_FIELD_IGNORE("intercept", CYAML_FLAG_OPTIONAL),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t listener_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_listener, listener_fields),
};

static const cyaml_schema_field_t garp_fields[] = {
	STR("repeat", struct raw_garp, repeat),
	STR("interval", struct raw_garp, interval),
	STR("delay", struct raw_garp, delay),
	STR("refresh", struct raw_garp, refresh),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t script_fields[] = {
	STR("name", struct raw_track_script, name),
	STR("command", struct raw_track_script, command),
	STR("interval", struct raw_track_script, interval),
	STR("timeout", struct raw_track_script, timeout),
	STR("weight", struct raw_track_script, weight),
	STR("rise", struct raw_track_script, rise),
	STR("fall", struct raw_track_script, fall),
	STR("user", struct raw_track_script, user),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t script_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_track_script, script_fields),
};

static const cyaml_schema_field_t track_fields[] = {
	CYAML_FIELD_IGNORE("interfaces", CYAML_FLAG_OPTIONAL),
	SEQ("scripts", struct raw_track, scripts, &script_entry),
	CYAML_FIELD_IGNORE("backends", CYAML_FLAG_OPTIONAL),
	STR("strict", struct raw_track, strict),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t vrrp_fields[] = {
	STR("name", struct raw_vrrp, name),
	STR("interface", struct raw_vrrp, interface),
	STR("router_id", struct raw_vrrp, router_id),
	STR("priority", struct raw_vrrp, priority),
	STR("version", struct raw_vrrp, version),
	STR("advert_interval", struct raw_vrrp, advert_interval),
	STR("preempt", struct raw_vrrp, preempt),
	STR("preempt_delay", struct raw_vrrp, preempt_delay),
	SEQ("virtual_ips", struct raw_vrrp, virtual_ips, &string_entry),
	STR("label", struct raw_vrrp, label),
	STR("unicast_source", struct raw_vrrp, unicast_source),
	SEQ("unicast_peers", struct raw_vrrp, unicast_peers, &string_entry),
	STR("auth_pass", struct raw_vrrp, auth_pass),
	MAP("garp", struct raw_vrrp, garp, garp_fields),
	MAP("track", struct raw_vrrp, track, track_fields),
	STR("notify", struct raw_vrrp, notify),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t vrrp_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_vrrp, vrrp_fields),
};

static const cyaml_schema_field_t bgp_peer_fields[] = {
	STR("name", struct raw_bgp_peer, name),
	STR("address", struct raw_bgp_peer, address),
	STR("asn", struct raw_bgp_peer, asn),
	STR("port", struct raw_bgp_peer, port),
	STR("password", struct raw_bgp_peer, password),
	STR("bfd", struct raw_bgp_peer, bfd),
	STR("multihop", struct raw_bgp_peer, multihop),
	STR("passive", struct raw_bgp_peer, passive),
	STR("source", struct raw_bgp_peer, source),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t bgp_peer_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_bgp_peer, bgp_peer_fields),
};
static const cyaml_schema_field_t bgp_track_fields[] = {
	CYAML_FIELD_IGNORE("backends", CYAML_FLAG_OPTIONAL),
	STR("strict", struct raw_bgp_track, strict),
	CYAML_FIELD_END,
};
static const cyaml_schema_field_t bgp_announce_fields[] = {
	STR("prefix", struct raw_bgp_announce, prefix),
	MAP("track", struct raw_bgp_announce, track, bgp_track_fields),
	STR("med", struct raw_bgp_announce, med),
	SEQ("communities", struct raw_bgp_announce, communities, &string_entry),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t bgp_announce_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_bgp_announce, bgp_announce_fields),
};
static const cyaml_schema_field_t bgp_error_wait_fields[] = {
	STR("min", struct raw_bgp_error_wait, min),
	STR("max", struct raw_bgp_error_wait, max),
	CYAML_FIELD_END,
};
static const cyaml_schema_field_t bgp_bfd_fields[] = {
	STR("interval", struct raw_bgp_bfd, interval),
	STR("multiplier", struct raw_bgp_bfd, multiplier),
	CYAML_FIELD_END,
};
static const cyaml_schema_field_t bgp_fields[] = {
	STR("asn", struct raw_bgp, asn),
	STR("router_id", struct raw_bgp, router_id),
	STR("listen_port", struct raw_bgp, listen_port),
	STR("hold_time", struct raw_bgp, hold_time),
	STR("keepalive", struct raw_bgp, keepalive),
	STR("connect_retry", struct raw_bgp, connect_retry),
	MAP("error_wait", struct raw_bgp, error_wait, bgp_error_wait_fields),
	MAP("bfd", struct raw_bgp, bfd, bgp_bfd_fields),
	STR("hold_down", struct raw_bgp, hold_down),
	STR("shutdown_delay", struct raw_bgp, shutdown_delay),
	STR("bird", struct raw_bgp, bird),
	STR("run_dir", struct raw_bgp, run_dir),
	SEQ("peers", struct raw_bgp, peers, &bgp_peer_entry),
	SEQ("announce", struct raw_bgp, announce, &bgp_announce_entry),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t sync_fields[] = {
	STR("key_file", struct raw_sync, key_file),
	STR("port", struct raw_sync, port),
	STR("source", struct raw_sync, source),
	SEQ("peers", struct raw_sync, peers, &string_entry),
	STR("interval", struct raw_sync, interval),
	STR("refresh", struct raw_sync, refresh),
	STR("max_entries", struct raw_sync, max_entries),
	STR("tickle_rate", struct raw_sync, tickle_rate),
	STR("peer_timeout", struct raw_sync, peer_timeout),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t log_fields[] = {
	STR("level", struct raw_log, level),
	STR("format", struct raw_log, format),
	CYAML_FIELD_END,
};
static const cyaml_schema_field_t control_fields[] = {
	STR("socket", struct raw_control, socket),
	CYAML_FIELD_END,
};
static const cyaml_schema_field_t metrics_fields[] = {
	STR("listen", struct raw_metrics, listen),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t top_fields[] = {
	STR("node", struct raw_config, node),
	MAP("log", struct raw_config, log, log_fields),
	MAP("control", struct raw_config, control, control_fields),
	MAP("metrics", struct raw_config, metrics, metrics_fields),
	STR("user", struct raw_config, user),
	STR("script_user", struct raw_config, script_user),
	STR("max_conns", struct raw_config, max_conns),
	STR("workers", struct raw_config, workers),
	STR("shutdown_grace", struct raw_config, shutdown_grace),
	STR("fast_path", struct raw_config, fast_path),
	SEQ("vrrp", struct raw_config, vrrp, &vrrp_entry),
	SEQ("listeners", struct raw_config, listeners, &listener_entry),
	SEQ("backends", struct raw_config, backends, &backend_entry),
	MAP("bgp", struct raw_config, bgp, bgp_fields),
	MAP("sync", struct raw_config, sync, sync_fields),
	CYAML_FIELD_END,
};
static const cyaml_schema_value_t top_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_config, top_fields),
};

/* ---- libcyaml log capture ---- */

struct cyaml_log {
	char **lines;
	size_t n;
};

static void cyaml_log_capture(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	(void)level;
	struct cyaml_log *log = ctx;
	char *line = NULL;
	if (vasprintf(&line, fmt, args) < 0)
		return;
	size_t len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	char **v = realloc(log->lines, (log->n + 1) * sizeof(*v));
	if (!v) {
		free(line);
		return;
	}
	log->lines = v;
	log->lines[log->n++] = line;
}

static void cyaml_log_free(struct cyaml_log *log)
{
	for (size_t i = 0; i < log->n; i++)
		free(log->lines[i]);
	free(log->lines);
}

/* Backtrace frames come innermost first: "  in mapping field 'weight' (line: 5, column: 30)". */
static void cyaml_frames(char *const *lines, size_t n, char *path, size_t plen, struct cfg_pos *pos)
{
	path[0] = '\0';
	*pos = (struct cfg_pos){ 0, 0 };
	for (size_t i = n; i-- > 0;) {
		const char *l = lines[i];
		const char *lc = strstr(l, "(line: ");
		unsigned line, col;
		if (!lc || sscanf(lc, "(line: %u, column: %u)", &line, &col) != 2)
			continue;
		*pos = (struct cfg_pos){ line, col }; /* ends at the innermost frame */
		const char *q = strchr(l, '\'');
		const char *qe = q ? strchr(q + 1, '\'') : NULL;
		if (!q || !qe)
			continue;
		char seg[128];
		size_t used = strlen(path);
		if (strstr(l, "sequence entry"))
			snprintf(seg, sizeof(seg), "[%ld]", strtol(q + 1, NULL, 10) - 1);
		else
			snprintf(seg, sizeof(seg), "%s%.*s", used ? "." : "", (int)(qe - q - 1), q + 1);
		snprintf(path + used, plen - used, "%s", seg);
	}
}

void cfg_cyaml_translate(struct cfg_diag *d, char *const *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *l = lines[i];
		if (strncmp(l, "Load: ", 6) != 0 || !strcmp(l, "Load: Backtrace:"))
			continue;
		const char *what = l + 6;
		size_t end = i + 1;
		if (end < n && !strcmp(lines[end], "Load: Backtrace:"))
			end++;
		size_t first = end;
		while (end < n && strncmp(lines[end], "  in ", 5) == 0)
			end++;
		char path[256];
		struct cfg_pos pos;
		cyaml_frames(lines + first, end - first, path, sizeof(path), &pos);
		const char *key;
		if ((key = strstr(what, "Unexpected key: ")))
			cfg_diag_add(d, pos.line, pos.col, "unknown key \"%s\"%s%s", key + 16,
				     *path ? " in " : "", path);
		else
			cfg_diag_add(d, pos.line, pos.col, "%s%s%s", path, *path ? ": " : "", what);
		i = end - 1;
	}
}

/* ---- polymorphic values libcyaml cannot express, read from the tree ---- */

static int extract_expect(yaml_document_t *doc, const char *path, struct raw_health *h, struct cfg_diag *d)
{
	yaml_node_t *n = ydoc_find(doc, path, true);
	if (!n || ydoc_is_null(n))
		return 0;
	h->expect_present = true;
	if (n->type == YAML_MAPPING_NODE) {
		cfg_err(d, path, NULL, "expected a status code, a range like \"200-399\" or a list");
		return -1;
	}
	h->expect_is_list = n->type == YAML_SEQUENCE_NODE;
	size_t count =
		h->expect_is_list ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start) : 1;
	h->expect = calloc(count ? count : 1, sizeof(char *));
	if (!h->expect)
		return -1;
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *it =
			h->expect_is_list ? yaml_document_get_node(doc, n->data.sequence.items.start[i]) : n;
		if (it->type != YAML_SCALAR_NODE) {
			char sub[256];
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			cfg_err(d, sub, NULL, "expected a status code or a range, got %s",
				ydoc_kind(it));
			return -1;
		}
		h->expect[h->expect_count++] = strdup((const char *)it->data.scalar.value);
	}
	return 0;
}

static int extract_ref(yaml_document_t *doc, yaml_node_t *it, const char *path,
		       struct raw_track_ref *r, struct cfg_diag *d)
{
	if (it->type == YAML_SCALAR_NODE) {
		r->name = strdup((const char *)it->data.scalar.value);
		return 0;
	}
	if (it->type != YAML_MAPPING_NODE) {
		cfg_err(d, path, NULL, "expected a name or {name, weight}, got %s", ydoc_kind(it));
		return -1;
	}
	r->is_map = true;
	int rc = 0;
	for (yaml_node_pair_t *p = it->data.mapping.pairs.start; p < it->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const char *ks = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		char **slot = !strcmp(ks, "name")     ? &r->name
			      : !strcmp(ks, "weight") ? &r->weight
						      : NULL;
		if (!slot || *slot) {
			cfg_diag_add(d, (unsigned)k->start_mark.line + 1,
				     (unsigned)k->start_mark.column + 1,
				     "%s key \"%s\" in %s (expected name, weight)",
				     slot ? "duplicate" : "unknown", ks, path);
			rc = -1;
		} else if (v->type != YAML_SCALAR_NODE) {
			char sub[256];
			cfg_path_join(sub, sizeof(sub), path, ks);
			cfg_err(d, sub, NULL, "expected a single value, got %s", ydoc_kind(v));
			rc = -1;
		} else {
			*slot = strdup((const char *)v->data.scalar.value);
		}
	}
	return rc;
}

static int extract_refs(yaml_document_t *doc, const char *path, struct raw_track_ref **out,
			unsigned *count, struct cfg_diag *d)
{
	yaml_node_t *n = ydoc_find(doc, path, true);
	if (!n || ydoc_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_err(d, path, NULL, "expected a list, got %s", ydoc_kind(n));
		return -1;
	}
	size_t len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*out = calloc(len ? len : 1, sizeof(**out));
	if (!*out)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < len; i++) {
		char sub[256];
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		yaml_node_t *it = yaml_document_get_node(doc, n->data.sequence.items.start[i]);
		if (extract_ref(doc, it, sub, &(*out)[i], d) < 0)
			rc = -1;
		*count = (unsigned)i + 1;
	}
	return rc;
}

/* One scalar or a list of scalars (e.g. `intercept: "VIP:6443"` or a list of them). */
static int extract_strings(yaml_document_t *doc, const char *path, const char *what, char ***out,
			   unsigned *count, struct cfg_diag *d)
{
	yaml_node_t *n = ydoc_find(doc, path, true);
	if (!n || ydoc_is_null(n))
		return 0;
	bool list = n->type == YAML_SEQUENCE_NODE;
	if (!list && n->type != YAML_SCALAR_NODE) {
		cfg_err(d, path, NULL, "expected %s or a list of them, got %s", what, ydoc_kind(n));
		return -1;
	}
	size_t len = list ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start) : 1;
	*out = calloc(len ? len : 1, sizeof(**out));
	if (!*out)
		return -1;
	for (size_t i = 0; i < len; i++) {
		yaml_node_t *it = list ? yaml_document_get_node(doc, n->data.sequence.items.start[i]) : n;
		if (it->type != YAML_SCALAR_NODE) {
			char sub[256];
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			cfg_err(d, sub, NULL, "expected %s, got %s", what, ydoc_kind(it));
			return -1;
		}
		(*out)[i] = strdup((const char *)it->data.scalar.value);
		*count = (unsigned)i + 1;
	}
	return 0;
}

static int extract_polymorphic(yaml_document_t *doc, struct raw_config *raw, struct cfg_diag *d)
{
	int rc = 0;
	char path[128];
	for (unsigned i = 0; i < raw->listeners_count; i++) {
		snprintf(path, sizeof(path), "listeners[%u].intercept", i);
		rc |= extract_strings(doc, path, "an address:port", &raw->listeners[i].intercept,
				      &raw->listeners[i].intercept_count, d);
	}
	for (unsigned i = 0; i < raw->backends_count; i++) {
		if (!raw->backends[i].health)
			continue;
		snprintf(path, sizeof(path), "backends[%u].health.expect_status", i);
		rc |= extract_expect(doc, path, raw->backends[i].health, d);
	}
	for (unsigned i = 0; i < raw->vrrp_count; i++) {
		struct raw_track *t = raw->vrrp[i].track;
		if (!t)
			continue;
		snprintf(path, sizeof(path), "vrrp[%u].track.interfaces", i);
		rc |= extract_refs(doc, path, &t->interfaces, &t->interfaces_count, d);
		snprintf(path, sizeof(path), "vrrp[%u].track.backends", i);
		rc |= extract_refs(doc, path, &t->backends, &t->backends_count, d);
	}
	for (unsigned i = 0; raw->bgp && i < raw->bgp->announce_count; i++) {
		struct raw_bgp_track *t = raw->bgp->announce[i].track;
		if (!t)
			continue;
		snprintf(path, sizeof(path), "bgp.announce[%u].track.backends", i);
		t->backends_present = ydoc_find(doc, path, true) != NULL;
		rc |= extract_refs(doc, path, &t->backends, &t->backends_count, d);
	}
	return rc;
}

static void free_refs(struct raw_track_ref *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(r[i].name);
		free(r[i].weight);
	}
	free(r);
}

static void free_polymorphic(struct raw_config *raw)
{
	for (unsigned i = 0; i < raw->listeners_count; i++) {
		for (unsigned j = 0; j < raw->listeners[i].intercept_count; j++)
			free(raw->listeners[i].intercept[j]);
		free(raw->listeners[i].intercept);
	}
	for (unsigned i = 0; i < raw->backends_count; i++) {
		struct raw_health *h = raw->backends[i].health;
		if (!h)
			continue;
		for (unsigned j = 0; j < h->expect_count; j++)
			free(h->expect[j]);
		free(h->expect);
	}
	for (unsigned i = 0; i < raw->vrrp_count; i++) {
		struct raw_track *t = raw->vrrp[i].track;
		if (!t)
			continue;
		free_refs(t->interfaces, t->interfaces_count);
		free_refs(t->backends, t->backends_count);
	}
	for (unsigned i = 0; raw->bgp && i < raw->bgp->announce_count; i++)
		if (raw->bgp->announce[i].track)
			free_refs(raw->bgp->announce[i].track->backends,
				  raw->bgp->announce[i].track->backends_count);
}

/* ---- entry points ---- */

static void defaults_from_system(struct cfg_defaults *defs, char *host, size_t hostlen)
{
	if (gethostname(host, hostlen) != 0)
		snprintf(host, hostlen, "localhost");
	host[hostlen - 1] = '\0';
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	defs->node = host;
	defs->workers = cpus > 0 ? (uint32_t)cpus : 1;
}

static int parse_tree(const char *yaml, size_t len, yaml_document_t *doc, struct cfg_diag *d)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		cfg_diag_add(d, 0, 0, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	int ok = yaml_parser_load(&parser, doc);
	if (!ok) {
		cfg_diag_add(d, (unsigned)parser.problem_mark.line + 1,
			     (unsigned)parser.problem_mark.column + 1, "YAML syntax error: %s%s%s",
			     parser.problem ? parser.problem : "unknown", parser.context ? " " : "",
			     parser.context ? parser.context : "");
	}
	yaml_parser_delete(&parser);
	return ok ? 0 : -1;
}

static struct raw_config *load_raw(const char *yaml, size_t len, bool lenient, struct cfg_diag *d)
{
	struct cyaml_log log = { 0 };
	cyaml_config_t cc = {
		.log_fn = cyaml_log_capture,
		.log_ctx = &log,
		.mem_fn = cyaml_mem,
		.log_level = CYAML_LOG_WARNING,
		.flags = lenient ? CYAML_CFG_IGNORE_UNKNOWN_KEYS : CYAML_CFG_DEFAULT,
	};
	struct raw_config *raw = NULL;
	cyaml_err_t err = cyaml_load_data(
		(const uint8_t *)yaml, len, &cc, &top_schema, (cyaml_data_t **)&raw, NULL);
	if (err != CYAML_OK) {
		/* when the tree walk already explained the problem, libcyaml's view adds nothing */
		if (!lenient) {
			size_t before = d->errs->n;
			cfg_cyaml_translate(d, log.lines, log.n);
			if (d->errs->n == before)
				cfg_diag_add(d, 0, 0, "%s", cyaml_strerror(err));
		}
		raw = NULL;
	}
	cyaml_log_free(&log);
	return raw;
}

static void raw_free(struct raw_config *raw)
{
	if (!raw)
		return;
	cyaml_config_t cc = { .mem_fn = cyaml_mem, .log_level = CYAML_LOG_ERROR };
	free_polymorphic(raw);
	cyaml_free(&cc, &top_schema, raw, 0);
}

/* Stable by position; errors without a position (file-level) go last. */
static void sort_errors(struct config_errors *errs)
{
	for (size_t i = 1; i < errs->n; i++) {
		struct config_error e = errs->v[i];
		uint64_t ke = e.line ? ((uint64_t)e.line << 32 | e.col) : UINT64_MAX;
		size_t j = i;
		while (j > 0) {
			struct config_error *p = &errs->v[j - 1];
			uint64_t kp = p->line ? ((uint64_t)p->line << 32 | p->col) : UINT64_MAX;
			if (kp <= ke)
				break;
			errs->v[j] = *p;
			j--;
		}
		errs->v[j] = e;
	}
}

struct config *config_load_buf(const char *name, const char *yaml, size_t len, struct config_errors *errs)
{
	yaml_document_t doc;
	struct cfg_diag d = { errs, name, ydoc_locate, &doc };
	struct config *cfg = NULL;
	errs->v = NULL;
	errs->n = 0;
	struct cfg_pos deep;
	if (!ydoc_flow_depth_ok(yaml, len, MAX_FLOW_DEPTH, &deep)) {
		cfg_diag_add(&d, deep.line, deep.col, "nested deeper than %d levels", MAX_FLOW_DEPTH);
		return NULL;
	}
	if (parse_tree(yaml, len, &doc, &d) < 0)
		return NULL;
	if (!yaml_document_get_root_node(&doc) || ydoc_is_null(yaml_document_get_root_node(&doc))) {
		cfg_diag_add(&d, 0, 0, "empty configuration (define listeners and/or vrrp)");
		goto out;
	}
	if (ydoc_too_big(&doc, MAX_EXPANDED_NODES)) {
		cfg_diag_add(&d, 1, 1,
			     "document too large: over %u values with aliases expanded, or "
			     "nested deeper than %d levels",
			     MAX_EXPANDED_NODES, YDOC_MAX_DEPTH);
		goto out;
	}
	size_t structural = ydoc_check(&doc, &top_schema, &d);
	struct raw_config *raw = load_raw(yaml, len, structural > 0, &d);
	if (raw) {
		/* keep going after extraction errors: the user wants every problem in one pass */
		extract_polymorphic(&doc, raw, &d);
		char host[256];
		struct cfg_defaults defs;
		defaults_from_system(&defs, host, sizeof(host));
		cfg = calloc(1, sizeof(*cfg));
		if (cfg)
			cfg_build(raw, &defs, &d, cfg);
		else
			cfg_diag_add(&d, 0, 0, "out of memory");
	}
	raw_free(raw);
out:
	yaml_document_delete(&doc);
	if (errs->n > 0 || !cfg) {
		config_free(cfg);
		sort_errors(errs);
		return NULL;
	}
	cfg->file = strdup(name);
	cfg->refcounted = true;
	config_note_loaded();
	return cfg;
}

/* Secrets (VRRP auth_pass, BGP peer passwords) in a file every local user can read, and a
 * secret file of its own (sync.key_file) every local user can read: a warning per secret, not
 * an error (the file may be on a single-user box). Returns how many. */
static int check_world_readable_secrets(const struct config *c, const char *path)
{
	struct stat st;
	int n = 0;
	if (c && c->sync && c->sync->key_file && stat(c->sync->key_file, &st) == 0 &&
	    (st.st_mode & S_IROTH)) {
		n++;
		log_warn("sync key_file is world-readable", "file=%s mode=%04o hint=\"chmod 600 %s\"",
			 c->sync->key_file, (unsigned)(st.st_mode & 07777), c->sync->key_file);
	}
	if (!c || !path || stat(path, &st) < 0 || !(st.st_mode & S_IROTH))
		return n;
	for (size_t i = 0; i < c->n_vrrp; i++) {
		if (!c->vrrp[i].auth_pass[0])
			continue;
		n++;
		log_warn("auth_pass in a world-readable config file",
			 "file=%s instance=%s mode=%04o "
			 "hint=\"chmod o-r %s\"",
			 path, c->vrrp[i].name, (unsigned)(st.st_mode & 07777), path);
	}
	for (size_t i = 0; c->bgp && i < c->bgp->n_peers; i++) {
		if (!c->bgp->peers[i].password)
			continue;
		n++;
		log_warn("bgp password in a world-readable config file",
			 "file=%s peer=%s mode=%04o "
			 "hint=\"chmod o-r %s\"",
			 path, c->bgp->peers[i].name, (unsigned)(st.st_mode & 07777), path);
	}
	return n;
}

struct config *config_load(const char *path, struct config_errors *errs)
{
	errs->v = NULL;
	errs->n = 0;
	struct cfg_diag d = { errs, path, NULL, NULL };
	FILE *f = fopen(path, "rb");
	if (!f) {
		cfg_diag_add(&d, 0, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	char *buf = malloc(MAX_CONFIG_BYTES + 1);
	size_t len = buf ? fread(buf, 1, MAX_CONFIG_BYTES + 1, f) : 0;
	int rerr = ferror(f);
	fclose(f);
	if (!buf || rerr || len > MAX_CONFIG_BYTES) {
		cfg_diag_add(&d, 0, 0, "%s",
			     !buf   ? "out of memory"
			     : rerr ? "read error"
				    : "file too large (over 4 MiB)");
		free(buf);
		return NULL;
	}
	struct config *cfg = config_load_buf(path, buf, len, errs);
	free(buf);
	check_world_readable_secrets(cfg, path); /* a warning, not an error */
	return cfg;
}
