/* Private to src/config: the raw (untyped) YAML image libcyaml fills, the builders' entry points
 * and the YAML position index. Every scalar is kept as text here so that conversion and range
 * checks happen in one place (convert.h, called by the builders) with the position of the
 * offending value. The layers: load.c -> validate*.c -> convert.c -> diag.c. */
#ifndef BUOY_CONFIG_INTERNAL_H
#define BUOY_CONFIG_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/config.h"
#include "config/convert.h"
#include "config/diag.h"

/* ---- raw image (libcyaml). NULL = key absent. ---- */

struct raw_server {
	char *address, *weight, *max_conns, *backup;
};

struct raw_health {
	char *type, *path, *host, *interval, *timeout, *rise, *fall, *port, *verify;
	char *ca_file, *cert_file, *key_file, *initial_state;
	char *send, *send_hex; /* type udp */
	/* expect_status: int, "200-399", or a list of those; filled from the YAML tree */
	char **expect;
	unsigned expect_count;
	bool expect_is_list;
	bool expect_present;
};

struct raw_discover {
	char *kind, *kubeconfig, *context, *api, *timeout, *stall_timeout, *retry, *interval;
	char *ca_file, *cert_file, *key_file;
};

struct raw_backend {
	char *name, *balance;
	struct raw_server *servers;
	unsigned servers_count;
	char *connect_timeout, *retries, *max_fails, *fail_timeout, *idle_timeout, *queue_timeout,
		*max_queue;
	struct raw_health *health;
	struct raw_discover *discover;
};

struct raw_listener {
	char *name, *bind, *backend, *defer_accept;
	char *protocol, *udp_idle_timeout, *proxy_responses, *max_sessions;
	char **intercept; /* one "VIP:port" or a list; filled from the YAML tree */
	unsigned intercept_count;
};

struct raw_garp {
	char *repeat, *interval, *delay, *refresh;
};

struct raw_track_script {
	char *name, *command, *interval, *timeout, *weight, *rise, *fall, *user;
};

/* track.interfaces / track.backends items: "eth0" or {name: eth0, weight: -20} */
struct raw_track_ref {
	char *name, *weight;
	bool is_map;
};

struct raw_track {
	struct raw_track_script *scripts;
	unsigned scripts_count;
	struct raw_track_ref *interfaces; /* filled from the YAML tree */
	unsigned interfaces_count;
	struct raw_track_ref *backends; /* filled from the YAML tree */
	unsigned backends_count;
	char *strict;
};

struct raw_vrrp {
	char *name, *interface, *router_id, *priority, *version, *advert_interval;
	char *preempt, *preempt_delay;
	char **virtual_ips;
	unsigned virtual_ips_count;
	char *label, *unicast_source;
	char **unicast_peers;
	unsigned unicast_peers_count;
	char *auth_pass;
	struct raw_garp *garp;
	struct raw_track *track;
	char *notify;
};

struct raw_bgp_peer {
	char *name, *address, *asn, *port, *password, *bfd, *multihop, *passive, *source;
};
/* track.backends is filled from the YAML tree (names or {name: x} maps, like VRRP's);
 * present even when empty: `backends: []` means ungated, no key means "from the listeners" */
struct raw_bgp_track {
	struct raw_track_ref *backends;
	unsigned backends_count;
	bool backends_present;
	char *strict;
};
struct raw_bgp_announce {
	char *prefix, *med;
	struct raw_bgp_track *track;
	char **communities;
	unsigned communities_count;
};
struct raw_bgp_error_wait {
	char *min, *max;
};
struct raw_bgp_bfd {
	char *interval, *multiplier;
};
struct raw_bgp {
	char *asn, *router_id, *listen_port, *hold_time, *keepalive, *connect_retry;
	struct raw_bgp_error_wait *error_wait;
	struct raw_bgp_bfd *bfd;
	char *hold_down, *shutdown_delay, *bird, *run_dir;
	struct raw_bgp_peer *peers;
	unsigned peers_count;
	struct raw_bgp_announce *announce;
	unsigned announce_count;
};

struct raw_sync {
	char *key_file, *port, *source;
	char **peers; /* NULL = absent: the vrrp instances' unicast_peers */
	unsigned peers_count;
	char *interval, *refresh, *max_entries, *tickle_rate, *peer_timeout;
};

struct raw_log {
	char *level, *format;
};
struct raw_control {
	char *socket;
};
struct raw_metrics {
	char *listen;
};

struct raw_config {
	char *node;
	struct raw_log *log;
	struct raw_control *control;
	struct raw_metrics *metrics;
	char *user, *script_user, *max_conns, *workers, *shutdown_grace, *fast_path;
	struct raw_listener *listeners;
	unsigned listeners_count;
	struct raw_backend *backends;
	unsigned backends_count;
	struct raw_vrrp *vrrp;
	unsigned vrrp_count;
	struct raw_bgp *bgp;
	struct raw_sync *sync;
};

/* ---- the builders (validate*.c, pure) ---- */

/* Upper bound on listeners, backends, vrrp instances and servers per backend: far beyond any
 * real deployment, low enough that the quadratic duplicate checks stay instant. */
#define CFG_MAX_LIST 1024

struct cfg_defaults {
	const char *node; /* hostname */
	uint32_t workers; /* online CPUs */
};

/* Fills `out` from `raw`, applies defaults, validates; returns the number of errors added. */
size_t cfg_build(const struct raw_config *raw, const struct cfg_defaults *defs, struct cfg_diag *d,
		 struct config *out);

/* VRRP instances (validate_vrrp.c); backends must already be built for track.backends. */
void cfg_build_vrrp(const struct raw_config *raw, struct cfg_diag *d, struct config *c);
void cfg_free_vrrp(struct cfg_vrrp *v, size_t n);

/* The bgp: section (validate_bgp.c); listeners and VRRP must already be built. */
void cfg_build_bgp(const struct raw_config *raw, struct cfg_diag *d, struct config *c);
void cfg_free_bgp(struct cfg_bgp *b);

/* The sync: section (validate_sync.c); VRRP must already be built (peers default to its
 * unicast_peers). Reads the key file: a missing, unreadable or short key is an error. */
void cfg_build_sync(const struct raw_config *raw, struct cfg_diag *d, struct config *c);
void cfg_free_sync(struct cfg_sync *s);

/* A backend's discover: block (validate_discover.c); its health must already be built (etcd
 * credentials default to the health check's). NULL rd: *out stays NULL. */
void cfg_build_discover(const struct raw_discover *rd, const char *prefix, struct cfg_diag *d,
			const struct cfg_health *h, struct cfg_discover **out);
void cfg_free_discover(struct cfg_discover *x);

/* ---- YAML tree helpers (yamltree.c) ---- */

/* Structural check of the YAML tree against the libcyaml schema: unknown keys, duplicate keys,
 * mapping/sequence/scalar mismatches. Every problem is reported; returns how many. */
struct cyaml_schema_value;
size_t ydoc_check(yaml_document_t *doc, const struct cyaml_schema_value *schema, struct cfg_diag *d);
yaml_node_t *ydoc_find(yaml_document_t *doc, const char *path, bool exact);
bool ydoc_locate(void *doc, const char *path, struct cfg_pos *out);
/* True when the tree, aliases expanded, has more than `limit` nodes or nests deeper than
 * YDOC_MAX_DEPTH: such a file is rejected before libcyaml sees it. */
#define YDOC_MAX_DEPTH 64
bool ydoc_too_big(yaml_document_t *doc, size_t limit);
/* Pre-scan of the raw text: flow ([..] {..}) nesting deeper than max_depth makes libyaml slow. */
bool ydoc_flow_depth_ok(const char *s, size_t len, unsigned max_depth, struct cfg_pos *where);
bool ydoc_is_null(const yaml_node_t *n);
const char *ydoc_kind(const yaml_node_t *n);

/* Turns libcyaml's log lines ("Load: ...", "Load: Backtrace:", "  in mapping field 'x'
 * (line: 7, column: 5)") into errors; the fallback when libcyaml rejects what ydoc_check did not. */
void cfg_cyaml_translate(struct cfg_diag *d, char *const *lines, size_t n);

/* A loaded config counts in config_live_count (validate.c). */
void config_note_loaded(void);

#endif
