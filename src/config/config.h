/* The typed, validated configuration every other module reads.
 * config_load() fills it from YAML (libcyaml) and validates; errors carry file:line:col. */
#ifndef BUOY_CONFIG_H
#define BUOY_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/inet.h"

#define BUOY_DEFAULT_CONFIG "/etc/buoy/buoy.yaml"
/* control.socket when the config does not say; also the CLI's when there is no config file */
#define BUOY_DEFAULT_CONTROL_SOCKET "/run/buoy/buoy.sock"

/* A resolved socket address plus the text it came from (for logs and status). */
struct cfg_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64]; /* canonical "1.2.3.4:80" / "[2001:db8::1]:80" */
};

enum balance_algo { BALANCE_ROUNDROBIN, BALANCE_LEASTCONN, BALANCE_SOURCE, BALANCE_RANDOM };
/* "roundrobin" "leastconn" "source" "random": the YAML word, also status's "balance" value
 * ("unknown" out of range). from_name: false for any other word. */
const char *balance_algo_name(enum balance_algo a);
bool balance_algo_from_name(const char *s, enum balance_algo *out);

/* fast_path: "off" "auto" "sockmap" (docs/fastpath.md): the relay only; the kernel path when it
 * loads, else the relay; the kernel path or no start. */
enum cfg_fast_path { CFG_FAST_PATH_OFF, CFG_FAST_PATH_AUTO, CFG_FAST_PATH_SOCKMAP };
const char *cfg_fast_path_name(enum cfg_fast_path m);
bool cfg_fast_path_from_name(const char *s, enum cfg_fast_path *out);

struct cfg_server {
	struct cfg_addr addr;
	uint32_t weight;    /* default 1, 1..256 */
	uint32_t max_conns; /* 0 = unlimited */
	bool backup;
	bool discovered; /* put there by discovery: starts down, whatever initial_state says */
};

enum health_type { HEALTH_TCP, HEALTH_TLS, HEALTH_HTTP, HEALTH_HTTPS, HEALTH_NONE, HEALTH_UDP };
/* "tcp" "tls" "http" "https" "none" "udp": the YAML word, also status's "health" type and the log's
 * check= ("unknown" out of range). from_name: false for any other word. */
const char *health_type_name(enum health_type t);
bool health_type_from_name(const char *s, enum health_type *out);
bool health_type_uses_tls(enum health_type t);  /* tls, https: a TLS handshake, an SSL_CTX */
bool health_type_uses_http(enum health_type t); /* http, https: a GET and expect_status */

struct status_range {
	uint16_t lo, hi;
};

#define CFG_MAX_EXPECT 16
#define CFG_MAX_INTERCEPT 16 /* addresses per listener */
struct cfg_health {
	enum health_type type; /* default tcp */
	char *path;            /* default "/readyz" */
	char *host;            /* Host header / SNI; NULL = server address */
	struct status_range expect[CFG_MAX_EXPECT];
	size_t n_expect;      /* default one range 200-200 */
	uint64_t interval_ms; /* default 1000 */
	uint64_t timeout_ms;  /* default 1000 */
	uint32_t rise, fall;  /* default 2, 2 */
	uint16_t port;        /* 0 = the server's port */
	bool verify;          /* default false */
	char *ca_file, *cert_file, *key_file;
	bool initial_up; /* default true */
	/* udp: a datagram of these bytes (send: text, or send_hex); any reply is up, an ICMP
	 * port unreachable or silence until timeout is down */
	uint8_t *udp_send;
	size_t udp_send_len;
};
#define CFG_MAX_UDP_SEND 1024
/* The defaults config_load gives an empty health: block (the builder starts from them), for
 * code that builds one by hand. path points at static text: never pass the result to
 * config_free (the loader's own path is a copy). */
void cfg_health_defaults(struct cfg_health *h);

/* backends[].discover: where the server list follows the cluster (src/discover/). The static
 * servers stay the seed and the fallback, and discovery reaches the API through them. */
enum discover_kind { DISCOVER_APISERVER, DISCOVER_ETCD };
enum discover_api { DISCOVER_API_AUTO, DISCOVER_API_ENDPOINTSLICES, DISCOVER_API_ENDPOINTS };
struct cfg_discover {
	enum discover_kind kind;
	char *kubeconfig;      /* apiserver: required */
	char *context;         /* NULL = current-context */
	enum discover_api api; /* default auto: EndpointSlices, Endpoints on a 404 */
	uint64_t timeout_ms;   /* connect + one request (LIST, member/list); default 5000 */
	uint64_t stall_ms;     /* a watch silent this long is dropped; default 90000 */
	uint64_t retry_ms;     /* first retry after a failure, doubling to 30 s; default 1000 */
	uint64_t interval_ms;  /* etcd: member/list every; default 10000 */
	char *ca_file, *cert_file, *key_file; /* etcd: default the health check's */
};
const char *discover_kind_name(enum discover_kind k);

struct cfg_backend {
	char *name;
	enum balance_algo balance; /* default roundrobin */
	struct cfg_server *servers;
	size_t n_servers;
	uint64_t connect_timeout_ms; /* default 2000 */
	uint32_t retries;            /* default n_servers - 1 */
	bool retries_default;        /* not set in the file: follows the server count */
	uint32_t max_fails;          /* default 1; 0 disables passive checks */
	uint64_t fail_timeout_ms;    /* default 10000 */
	uint64_t idle_timeout_ms;    /* default 3600000 */
	uint64_t queue_timeout_ms;   /* default 5000 */
	uint32_t max_queue;          /* waiting connections, all workers; 0 = no cap of its own */
	struct cfg_health health;
	struct cfg_discover *discover; /* NULL: the static servers only */
};

enum listener_proto { PROTO_TCP, PROTO_UDP };

/* UDP listener defaults (nginx stream: proxy_timeout, proxy_responses) */
#define CFG_UDP_IDLE_TIMEOUT_MS 30000
#define CFG_UDP_MAX_SESSIONS 10000

struct cfg_listener {
	char *name;
	enum listener_proto protocol; /* default tcp */
	struct cfg_addr bind;         /* host may be a wildcard: "0.0.0.0", "[::]", ":6443" */
	char *backend;                /* name */
	size_t backend_idx;           /* index into config.backends, resolved by validation */
	bool defer_accept;            /* TCP_DEFER_ACCEPT: woken when the client speaks first */
	struct cfg_addr *intercept;   /* VIP:port that nftables redirects to this listener (bound
	                              * to every address, another port); src/intercept/ */
	size_t n_intercept;
	/* protocol udp (proxy/udp.c): sessions keyed by client addr:port */
	uint64_t udp_idle_timeout_ms; /* a session ends idle this long, default 30 s */
	uint32_t proxy_responses;     /* replies per datagram that end a session; 0 = unlimited */
	uint32_t max_sessions;        /* sessions at once, all workers; default 10000 */
};

struct cfg_track_script {
	char *name;           /* defaults to the command */
	char *command;        /* run with /bin/sh -c */
	uint64_t interval_ms; /* default 2000 */
	uint64_t timeout_ms;  /* default = interval */
	int32_t weight;       /* default 0: failure -> FAULT */
	uint32_t rise, fall;  /* default 1, 1 */
	char *user;           /* NULL = global script_user */
};
/* The defaults of a script with only a command (the builder starts from them), for code that
 * builds one by hand: it sets name and command, and timeout_ms too when it changes interval_ms
 * (the loader's timeout defaults to the interval given). */
void cfg_track_script_defaults(struct cfg_track_script *s);

struct cfg_track_iface {
	char *name;
	int32_t weight;
}; /* weight 0: down -> FAULT */
struct cfg_track_backend {
	char *name;
	int32_t weight;
	size_t backend_idx;
};

struct cfg_garp {
	uint32_t repeat;      /* default 5 */
	uint64_t interval_ms; /* default 10 */
	uint64_t delay_ms;    /* default 5000: second burst after becoming master */
	uint64_t refresh_ms;  /* default 60000; 0 = off */
};

/* A VIP or an announced prefix: the address with its prefix length, and its text. */
struct cfg_vip {
	struct ip_addr addr;       /* prefix 1..32 / 1..128 */
	char text[IP_ADDR_STRLEN]; /* "198.18.0.100/24" */
};

struct cfg_vrrp {
	char *name;
	char *interface;
	uint8_t router_id;           /* 1..255 */
	uint8_t priority;            /* 1..255, default 100 */
	uint8_t version;             /* 2 or 3, default 3 */
	int family;                  /* AF_INET / AF_INET6, from the VIPs */
	uint64_t advert_interval_ms; /* default 200 (v3: 10ms..40950ms in cs; v2: whole s) */
	bool preempt;                /* default true */
	uint64_t preempt_delay_ms;   /* default 0 */
	struct cfg_vip *vips;
	size_t n_vips;
	char *label;                   /* optional address label */
	struct ip_addr unicast_source; /* family 0 = unset */
	struct ip_addr *unicast_peers;
	size_t n_unicast_peers; /* 0 = multicast */
	char auth_pass[9];      /* v2 PASS auth, "" = none */
	struct cfg_garp garp;
	struct cfg_track_iface *track_ifaces;
	size_t n_track_ifaces;
	struct cfg_track_script *track_scripts;
	size_t n_track_scripts;
	struct cfg_track_backend *track_backends;
	size_t n_track_backends;
	bool track_strict; /* default false: a weight-0 backend tracker that fails makes
	                              * the node unfit (VRRP_PRIO_UNFIT, gives the VIP only to a
	                              * node that can serve); true: Fault (keepalived weight 0) */
	char *notify;      /* command, or NULL */
};

/* ---- bgp: active/active anycast through a supervised BIRD (src/bgp/) ---- */

struct cfg_bgp_peer {
	char *name;                /* BIRD protocol / status name; default "peer<N>" (1-based);
	                              * <= 59 chars, unique even with '-' and '.' read as '_' */
	struct ip_addr addr;       /* the router's address */
	char text[IP_ADDR_STRLEN]; /* "198.18.1.1" / "2001:db8::1" */
	uint32_t asn;              /* 1..4294967295 */
	uint16_t port;             /* the peer's BGP port, default 179 */
	char *password;            /* TCP MD5 (RFC 2385); NULL = none */
	bool bfd;                  /* default true */
	uint8_t multihop;          /* 0 = directly connected (default); else the TTL, 2..255 */
	bool passive;              /* default false: only accept the peer's connection */
	struct ip_addr source;     /* local address; family 0 = BIRD picks */
};

struct cfg_bgp_community {
	uint16_t asn, value;
}; /* "65000:100" */

struct cfg_bgp_announce {
	struct cfg_vip prefix; /* /32 or /128 (prefix defaults to the host length) */
	struct cfg_track_backend *track_backends;
	size_t n_track_backends;   /* default: the backends of the listeners bound on the
	                              * address, on 0.0.0.0 (IPv4) or on [::] (bound dual-stack:
	                              * serves both); `backends: []` = 0, ungated; weight unused */
	bool track_from_listeners; /* true when derived as above (for `buoy check` output) */
	bool track_strict;         /* default false: backends down -> still announced, with a
	                              * longer AS path (eBGP) / lower LOCAL_PREF (iBGP), so the
	                              * router prefers fit nodes and keeps this one when none is;
	                              * true: withdrawn */
	bool has_med;
	uint32_t med; /* BGP MULTI_EXIT_DISC; absent = not sent */
	struct cfg_bgp_community *communities;
	size_t n_communities;
};

struct cfg_bgp {
	uint32_t asn;               /* local AS, 1..4294967295 */
	struct in_addr router_id;   /* s_addr 0 = the node's primary IPv4, found at start */
	uint16_t listen_port;       /* BIRD's listening port, 1..65535, default 179; another lets it
	                              * run beside a BGP speaker that holds :179 (BIRD 2 cannot
	                              * run a session without a listening socket) */
	uint64_t hold_time_ms;      /* 0 = BIRD's default (240 s); else 3 s..65535 s, whole s */
	uint64_t keepalive_ms;      /* 0 = BIRD's default (hold / 3); whole seconds */
	uint64_t connect_retry_ms;  /* default 5000 (BIRD's 120 s is far too long for a VIP) */
	uint64_t error_wait_min_ms; /* default 1000 (BIRD: 60 s) */
	uint64_t error_wait_max_ms; /* default 10000 (BIRD: 300 s) */
	uint64_t bfd_interval_ms;   /* default 100 (tx and rx) */
	uint32_t bfd_multiplier;    /* default 3 */
	uint64_t hold_down_ms; /* a withdrawn VIP stays withdrawn at least this; default 2000 */
	uint64_t shutdown_delay_ms; /* SIGTERM: withdraw, wait this, then stop; default 2000 */
	char *bird;                 /* the BIRD binary; default "bird" (searched in PATH) */
	char *run_dir;              /* bird.conf and the control socket; default
	                              * /run/buoy/bird-<node> */
	struct cfg_bgp_peer *peers;
	size_t n_peers; /* >= 1 */
	struct cfg_bgp_announce *announce;
	size_t n_announce; /* >= 1 */
};

/* ---- sync: connection sync between LBs and tickle ACKs on takeover (src/sync/) ---- */

struct cfg_sync {
	char *key_file; /* required: the shared secret's file */
	uint8_t *key;   /* its bytes, trailing "\n" / "\r\n" removed; >= 16 of them */
	size_t key_len;
	uint16_t port;            /* UDP, default 9255 */
	struct ip_addr source;    /* bind address; family 0 = wildcard */
	struct ip_addr *peers;    /* default: every vrrp instance's unicast_peers, deduplicated */
	size_t n_peers;           /* >= 1 after validation */
	bool peers_from_vrrp;     /* peers: was omitted */
	uint64_t interval_ms;     /* opens/closes are sent in batches this often, default 100ms */
	uint64_t refresh_ms;      /* full refresh period, default 10s */
	uint32_t max_entries;     /* per peer table and for our own, default 100000 */
	uint32_t tickle_rate;     /* tickle ACKs per second, default 10000 */
	uint64_t peer_timeout_ms; /* anycast (bgp:): a peer silent this long is lost, default 1s;
	                           * heartbeats go every quarter of it */
};
/* The defaults of the scalar keys (port, interval, refresh, max_entries, tickle_rate; the
 * builder starts from them), for code that builds one by hand. Pointers are NULL. */
void cfg_sync_defaults(struct cfg_sync *s);

struct config {
	char *file;           /* the path it was loaded from */
	char *node;           /* default: hostname */
	int log_level;        /* enum log_level, default info */
	char *log_format;     /* "logfmt" */
	char *control_socket; /* default /run/buoy/buoy.sock */
	bool metrics_enabled;
	struct cfg_addr metrics_listen;
	char *user;                   /* drop privileges to this user; NULL = stay */
	char *script_user;            /* default "nobody" */
	uint32_t max_conns;           /* global, 0 = unlimited */
	uint32_t workers;             /* default: number of CPUs */
	uint64_t shutdown_grace_ms;   /* default 30000 */
	enum cfg_fast_path fast_path; /* default off; only a restart changes it */

	struct cfg_listener *listeners;
	size_t n_listeners;
	struct cfg_backend *backends;
	size_t n_backends;
	struct cfg_vrrp *vrrp;
	size_t n_vrrp;
	struct cfg_bgp *bgp;   /* NULL = no bgp: section */
	struct cfg_sync *sync; /* NULL = no sync: section (off) */
	/* A derived config (config_derive): owns only its backends array and their server
	 * arrays; everything else is base's, which it holds (config_hold). NULL for a loaded
	 * config. */
	const struct config *base;
	/* Holders at run time (reload.h: the daemon, server sets, listeners, VRRP instances,
	 * sync, bgp, discovery), main thread only. config_load and config_derive set refcounted;
	 * such a config is freed by the config_release that drops the last holder. */
	unsigned refs;
	bool refcounted;
};

/* One problem found while loading or validating. */
struct config_error {
	char *file;
	unsigned line, col; /* 1-based; 0 when unknown */
	char *msg;          /* "unknown key \"foo\"", "backends[0].connect_timeout: ..." */
};

struct config_errors {
	struct config_error *v;
	size_t n;
};

/* Loads and validates. On success returns a config (free with config_free) and errs->n == 0.
 * On failure returns NULL and fills errs with every problem found (free with config_errors_free). */
/* A copy of c that shares every string and section with it but owns its backends array and
 * each backend's server list, so that one backend's servers can be replaced
 * (config_set_servers) without touching c. NULL when out of memory. config_free frees only
 * what it owns. */
struct config *config_derive(const struct config *c);
/* Replaces backend bi's servers with v[0..n) (copied; n >= 1); a `retries` the file did not
 * set follows the new count (n - 1, as at load). 0 or -1 (out of memory). */
int config_set_servers(struct config *c, size_t bi, const struct cfg_server *v, size_t n);

struct config *config_load(const char *path, struct config_errors *errs);
/* Same, from a buffer; `name` is used as the file name in errors. */
struct config *config_load_buf(const char *name, const char *yaml, size_t len, struct config_errors *errs);
void config_free(struct config *c);
/* Adds a holder; returns c (NULL-safe). */
const struct config *config_hold(const struct config *c);
/* Drops a holder; the last one frees a refcounted config (NULL-safe). */
void config_release(const struct config *c);
/* Refcounted configs alive in this process (status: reclaim.configs). */
size_t config_live_count(void);
/* config_load() for the command line: on failure prints every error to stderr as
 * FILE:LINE:COL: message and returns NULL. */
struct config *config_load_reporting(const char *path);
void config_errors_free(struct config_errors *errs);
/* "FILE:LINE:COL: msg" into buf. */
void config_error_format(const struct config_error *e, char *buf, size_t len);
/* The one printer of a failed load: each error as "FILE:LINE:COL: msg" to emit, or
 * "PATH: cannot load config" when the load failed without one (out of memory). */
typedef void (*config_line_fn)(void *arg, const char *line);
void config_errors_report(
	const struct config_errors *errs, const char *path, config_line_fn emit, void *arg);

/* Small parsers shared with the rest of buoy (pure). Return 0 or -1. */
int parse_duration_ms(const char *s, uint64_t *out_ms);  /* "250ms" "2s" "1m" "1h" */
int parse_hostport(const char *s, struct cfg_addr *out); /* IPv4, [IPv6], wildcard */
uint16_t cfg_port(const struct sockaddr_storage *ss);    /* host order; 0 if no IP */
int parse_cidr(const char *s, struct cfg_vip *out);
/* An address alone, no port or prefix: "198.18.0.1", "2001:db8::1", "[2001:db8::1]". */
int parse_ip_addr(const char *s, struct ip_addr *out);
void format_sockaddr(const struct sockaddr *sa, char *buf, size_t len); /* with port */
/* The address alone ("198.18.0.1", "2001:db8::1"); "?" if not an IP. Returns buf. */
const char *format_ip(const struct sockaddr_storage *ss, char *buf, size_t len);

#endif
