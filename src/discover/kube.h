/* Kubernetes API objects buoy reads, decoded (pure; json-c; any input is safe, it is fuzzed).
 *
 * Which apiservers are live comes from the `default/kubernetes` service: the EndpointSlices
 * labelled kubernetes.io/service-name=kubernetes (discovery.k8s.io/v1), or the v1 Endpoints of the
 * same name on a cluster without the EndpointSlice API. Each decodes to one `kube_obj`: its name,
 * its resourceVersion and the endpoints that may take traffic:
 *   - EndpointSlice: addresses of endpoints whose conditions.ready is not false and
 *     conditions.terminating is not true (a missing ready means ready, as the API reference says
 *     consumers must read it); addressType FQDN is skipped (buoy dials addresses).
 *   - Endpoints: subsets[].addresses (notReadyAddresses are the not-ready ones).
 *   - the port: the TCP port named "https", else the only TCP port; none: the object has no
 *     usable endpoint (an error string says so).
 * LIST answers (…List kinds) give the collection's resourceVersion and every item; a WATCH line
 * gives one event: ADDED / MODIFIED / DELETED with an object, BOOKMARK with only a
 * resourceVersion, ERROR with a Status (code 410 = the resourceVersion is too old: re-list).
 *
 * No allocation survives a call; results are fixed-size (KUBE_MAX_*), and an object with more
 * endpoints than fit is an error rather than a silently shorter list. Return convention: 0, or -1
 * with a one-line reason in err (static or copied into the caller's buffer). */
#ifndef BUOY_DISCOVER_KUBE_H
#define BUOY_DISCOVER_KUBE_H
#include <stddef.h>
#include <stdint.h>

#include "core/inet.h"

#define KUBE_MAX_EPS 64   /* endpoints of one object (apiservers: a handful) */
#define KUBE_MAX_ITEMS 16 /* slices in one LIST answer */
#define KUBE_NAME_LEN 254 /* metadata.name: a DNS subdomain, 253 + NUL */
#define KUBE_RV_LEN 64    /* resourceVersion: opaque, short in practice */
#define KUBE_ERR_LEN 160

enum kube_kind { KUBE_ENDPOINTSLICE, KUBE_ENDPOINTS };

struct kube_ep {
	struct ip_addr ip;
	uint16_t port;
};

struct kube_obj {
	char name[KUBE_NAME_LEN];
	char rv[KUBE_RV_LEN];
	size_t n;
	struct kube_ep eps[KUBE_MAX_EPS];
};

struct kube_list {
	char rv[KUBE_RV_LEN];
	size_t n;
	struct kube_obj items[KUBE_MAX_ITEMS];
};

enum kube_ev_type {
	KUBE_EV_ADDED,
	KUBE_EV_MODIFIED,
	KUBE_EV_DELETED,
	KUBE_EV_BOOKMARK,
	KUBE_EV_ERROR
};

struct kube_event {
	enum kube_ev_type type;
	struct kube_obj obj;        /* ADDED/MODIFIED/DELETED: the object; BOOKMARK: only obj.rv */
	int code;                   /* ERROR: the Status code (410: re-list), 0 when absent */
	char message[KUBE_ERR_LEN]; /* ERROR: the Status message */
};

/* A LIST answer (EndpointSliceList / EndpointsList) in buf[0..len). */
int kube_decode_list(const char *buf, size_t len, enum kube_kind kind, struct kube_list *out,
		     char *err, size_t errlen);
/* One WATCH line (one JSON object) in buf[0..len). */
int kube_decode_event(const char *buf, size_t len, enum kube_kind kind, struct kube_event *out,
		      char *err, size_t errlen);
const char *kube_ev_name(enum kube_ev_type t);

/* ---- etcd (the v3 JSON gateway: POST /v3/cluster/member/list) ---- */
#define ETCD_MAX_MEMBERS 16

/* Members that serve clients: not learners, started (a member added but not started yet has
 * no name and no clientURLs), each client URL "scheme://host:port" with an IP host. */
struct etcd_members {
	size_t n;
	struct kube_ep eps[ETCD_MAX_MEMBERS * 2]; /* members can list several client URLs */
};
int etcd_decode_members(const char *buf, size_t len, struct etcd_members *out, char *err, size_t errlen);
/* "https://198.18.0.31:2379", "http://[2001:db8::31]:2379" -> address and port (no default
 * port: etcd always writes one). 0 or -1. */
int etcd_parse_url(const char *url, struct kube_ep *out);

#endif
