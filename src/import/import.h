/* buoy import: keepalived.conf, haproxy.cfg and nginx `stream` configs turned into buoy.yaml.
 *
 * Contract: one reader per format fills an intermediate model (struct imp_model) from text;
 * the emitter writes it as a commented buoy.yaml. Pure apart from includes, which the readers
 * resolve through imp_model.read_file (NULL: includes are refused with a warning, as the
 * fuzzers and unit tests run them). Not thread-safe; one model per conversion.
 *
 * Every source construct either becomes model data or a warning (file:line: why) that the
 * emitter also writes as a comment: nothing is dropped silently. An error (a construct that
 * would make the result behave wrongly on the wire, e.g. VRRP AH authentication) is a warning
 * with `fatal` set. Memory: everything hangs off the model's arena; imp_model_free frees it. */
#ifndef BUOY_IMPORT_H
#define BUOY_IMPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"

struct imp_notes {
	char **v;
	size_t n;
};

struct imp_server {
	char *address;      /* "198.18.0.21:6443" / "[2001:db8::1]:6443" */
	unsigned weight;    /* 0 = unset (buoy's 1) */
	unsigned max_conns; /* 0 = unlimited */
	bool backup;
	bool disabled; /* emitted commented out */
	struct imp_notes notes;
};

struct imp_health {
	bool set;
	char *type;                       /* "tcp" "tls" "http" "https" "none" */
	char *path;                       /* http(s) */
	char *expect;                     /* "200" / "200-399" as written, NULL = default */
	uint64_t interval_ms, timeout_ms; /* 0 = unset */
	unsigned rise, fall, port;        /* 0 = unset */
	int verify;                       /* -1 unset, 0, 1 */
	struct imp_notes notes;
};

struct imp_backend {
	char *name;
	char *balance;                                                 /* NULL = roundrobin */
	uint64_t connect_timeout_ms, idle_timeout_ms, fail_timeout_ms; /* 0 = unset */
	int64_t queue_timeout_ms;                                      /* -1 unset */
	int retries, max_fails;                                        /* -1 unset */
	struct imp_health health;
	struct imp_server *servers;
	size_t n_servers;
	struct imp_notes notes;
};

struct imp_listener {
	char *name, *bind, *backend;
	char *intercept;   /* "VIP:PORT" redirected to bind, or NULL */
	bool defer_accept; /* HAProxy's defer-accept, nginx's deferred */
	struct imp_notes notes;
};

struct imp_script {
	const char *file; /* where the vrrp_script is defined */
	int line;
	char *name, *command, *user;
	uint64_t interval_ms, timeout_ms;
	int weight;
	unsigned rise, fall;
};

struct imp_iface {
	char *name;
	int weight;
};

struct imp_vrrp {
	char *name, *interface;
	unsigned router_id, priority, version; /* 0 = unset */
	uint64_t advert_ms;                    /* 0 = unset */
	int preempt;                           /* -1 unset */
	uint64_t preempt_delay_ms;
	char **vips;
	size_t n_vips;
	char *label, *unicast_source, *auth_pass, *notify;
	char **peers;
	size_t n_peers;
	struct imp_script *scripts;
	size_t n_scripts;
	struct imp_iface *ifaces;
	size_t n_ifaces;
	char **track_backends;
	size_t n_track_backends;
	struct imp_notes notes;
};

struct imp_bgp_peer {
	char *address, *asn, *password;
	unsigned multihop; /* 0 = directly connected */
	bool no_bfd;       /* bfd: false (buoy's default is on) */
};

struct imp_bgp {
	char *asn, *router_id;
	uint64_t hold_ms, keepalive_ms; /* 0 = unset */
	struct imp_bgp_peer *peers;
	size_t n_peers;
	char **announce; /* prefixes */
	size_t n_announce;
	struct imp_notes notes;
};

struct imp_warning {
	char *where; /* "keepalived.conf:12" */
	char *why;
	bool fatal;
};

struct imp_model {
	/* inputs */
	const char *node; /* --node: keepalived's config_id for @host lines; output `node` */
	char **servers;   /* --server: the apiservers k0s and kube-vip find through Kubernetes */
	size_t n_servers;
	char *(*read_file)(const char *path, size_t *len); /* malloc'd text, NULL on error */
	/* outputs */
	char *out_node, *script_user, *user;
	unsigned workers, max_conns; /* 0 = unset */
	struct imp_vrrp *vrrp;
	size_t n_vrrp;
	struct imp_listener *listeners;
	size_t n_listeners;
	struct imp_backend *backends;
	size_t n_backends;
	struct imp_bgp *bgp;    /* NULL: none */
	struct imp_notes notes; /* header comments */
	struct imp_warning *warnings;
	size_t n_warnings;
	/* arena */
	void **arena;
	size_t n_arena, cap_arena;
};

void imp_model_init(struct imp_model *m);
void imp_model_free(struct imp_model *m);

/* Readers: `file` names the source in warnings and resolves relative includes. Return 0, or
 * -1 when the text could not be read at all (a fatal warning says why). */
int imp_keepalived(struct imp_model *m, const char *file, const char *text, size_t len);
int imp_haproxy(struct imp_model *m, const char *file, const char *text, size_t len);
int imp_nginx(struct imp_model *m, const char *file, const char *text, size_t len);
/* k0s: a ClusterConfig or a k0sctl Cluster; kube-vip: its static-pod manifest (YAML). */
int imp_k0s(struct imp_model *m, const char *file, const char *text, size_t len);
int imp_kube_vip(struct imp_model *m, const char *file, const char *text, size_t len);

/* After every reader: a VRRP script that checks the proxy buoy replaces (haproxy, nginx)
 * becomes a tracker of the imported backends. */
void imp_finalize(struct imp_model *m);

/* The buoy.yaml text, warnings included as comments. */
void imp_emit(const struct imp_model *m, struct strbuf *out);

/* 0 complete, 1 warnings, 2 a fatal warning. */
int imp_status(const struct imp_model *m);

/* `buoy import ...` (src/import/cli.c). */
int import_main(int argc, char **argv);

/* ---- shared by the readers (src/import/model.c) ---- */
void *imp_alloc(struct imp_model *m, size_t n);
char *imp_strdup(struct imp_model *m, const char *s);
char *imp_printf(struct imp_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a zeroed element to a growable array (*v, *n) of `size` bytes each. */
void *imp_push(struct imp_model *m, void *vp, size_t *n, size_t size);
void imp_note(struct imp_model *m, struct imp_notes *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void imp_warn(struct imp_model *m, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void imp_fatal(struct imp_model *m, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A buoy name (A-Z a-z 0-9 - _ ., 1..63) from any text. */
char *imp_name(struct imp_model *m, const char *s);
struct imp_backend *imp_backend_find(struct imp_model *m, const char *name);
struct imp_backend *imp_backend_add(struct imp_model *m, const char *name);
/* A number with an optional unit (us ms s m h d); bare numbers are in `unit_ms`. -1: bad. */
int imp_duration(const char *s, uint64_t unit_ms, uint64_t *out_ms);
/* An unsigned decimal in lo..hi; -1: bad. */
int imp_uint(const char *s, unsigned lo, unsigned hi, unsigned *out);
/* "ADDR:PORT" as buoy writes it from an address and port given apart (IPv6 bracketed). */
char *imp_hostport(struct imp_model *m, const char *addr, const char *port);

/* ---- the statement tree of keepalived and nginx (src/import/tree.c) ---- */
struct imp_stmt {
	const char *file;
	int line;
	char **argv;
	size_t argc;
	bool block; /* had { ... } */
	struct imp_stmt *kids;
	size_t n_kids;
};

enum imp_syntax { IMP_SYNTAX_KEEPALIVED, IMP_SYNTAX_NGINX };

/* Parses text into root's kids: keepalived (a statement per line; # and ! comments; include,
 * $VAR=value, $VAR, @node / @^node lines expanded as keepalived does) or nginx (statements end
 * with `;`; ' and " quoting with \ escapes; include). Unbalanced braces are a fatal warning. */
void imp_tree_parse(struct imp_model *m, enum imp_syntax syn, const char *file, const char *text,
		    size_t len, struct imp_stmt *root);

#endif
