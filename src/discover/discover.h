/* Discovery, the shell (main thread): per backend with a `discover:` block, a watcher that keeps
 * the backend's server list following the cluster, never making anything depend on the API.
 *
 * apiserver: reads the kubeconfig (at every (re)connect, so a fixed file is picked up), then
 * LIST + WATCH (resourceVersion, bookmarks, re-list on 410: the client-go informer contract) of
 * the `default/kubernetes` EndpointSlices, or its v1 Endpoints (api: endpoints, or auto after a
 * 404), over HTTPS to the backend's STATIC servers directly, one after the other (never the VIP:
 * nothing to bootstrap). etcd: POST /v3/cluster/member/list every interval to the static
 * servers, with the backend's client certificate.
 *
 * Applying (merge.h's rule): a non-empty set that differs from the last applied one is handed
 * to `apply` (the daemon's reload path: added servers start DOWN and take traffic only after
 * buoy's own health checks pass; removed servers keep their established connections); backup
 * servers of the static list are kept. Any failure (unreachable, TLS, HTTP status, garbage,
 * stall, empty list) keeps the last applied set (the static one until the first success),
 * records the reason for status and retries with a doubling backoff (retry .. 30 s).
 *
 * Ownership: the watchers' strings live in the config of the last discover_start/reconfigure,
 * which discovery holds (config_hold) until the next one. */
#ifndef BUOY_DISCOVER_H
#define BUOY_DISCOVER_H
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/loop.h"
#include "discover/kube.h"

struct discover;

/* Replace backend's servers by v[0..n): 0, or -1 with a reason in err. */
typedef int (*discover_apply_fn)(
	void *arg, const char *backend, const struct cfg_server *v, size_t n, char *err, size_t errlen);

/* Starts a watcher per backend with discover:. Never NULL unless out of memory. */
struct discover *discover_start(struct loop *l, const struct config *c, discover_apply_fn fn, void *arg);
/* A new config is in force: watchers of removed backends stop, of changed discover: blocks
 * restart (keeping their last applied set), new ones start. */
void discover_reconfigure(struct discover *d, const struct config *c);
/* Before a reload applies nc: backends whose watcher holds an applied set get it instead of
 * the file's static servers (backups kept), so a reload does not undo discovery; the watcher
 * takes the file's static servers as the ones to reach the API through. -1: no memory. */
int discover_overlay(struct discover *d, struct config *nc);
void discover_free(struct discover *d);

/* For status and metrics. */
struct discover_status {
	const char *backend;
	const char *kind;   /* "apiserver" / "etcd" */
	const char *source; /* "static" until a set was applied, then "discovered" */
	const char *state;  /* "connecting" "listing" "watching" "polling" "backoff" */
	const char *api;    /* "endpointslices" / "endpoints" / "member-list" */
	char rv[KUBE_RV_LEN];
	uint64_t last_update_unix_ms; /* 0 = never */
	char last_error[200];         /* "" = none since the last success */
	size_t n_servers;             /* applied set (0 while static) */
	uint64_t events_total, applies_total, errors_total, relists_total;
};
size_t discover_count(const struct discover *d);
void discover_get(const struct discover *d, size_t i, struct discover_status *out);

#endif
