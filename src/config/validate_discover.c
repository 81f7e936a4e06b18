/* backends[].discover: (src/discover/): the kind, the kubeconfig path and the timers. Pure: the
 * kubeconfig is read by discovery itself at every (re)connect, not here, so buoy starts (static
 * servers) before kubeadm has written admin.conf, and a kubeconfig fixed later is picked up
 * without a reload. */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

const char *discover_kind_name(enum discover_kind k)
{
	return k == DISCOVER_APISERVER ? "apiserver" : k == DISCOVER_ETCD ? "etcd" : "unknown";
}

static void build_kind(
	const struct raw_discover *rd, const char *p, struct cfg_diag *d, struct cfg_discover *x)
{
	if (!rd->kind || !strcmp(rd->kind, "apiserver"))
		x->kind = DISCOVER_APISERVER;
	else if (!strcmp(rd->kind, "etcd"))
		x->kind = DISCOVER_ETCD;
	else
		cfg_err(d, p, "kind", "unknown kind \"%s\" (expected apiserver or etcd)", rd->kind);
	if (!rd->api || !strcmp(rd->api, "auto"))
		x->api = DISCOVER_API_AUTO;
	else if (!strcmp(rd->api, "endpointslices"))
		x->api = DISCOVER_API_ENDPOINTSLICES;
	else if (!strcmp(rd->api, "endpoints"))
		x->api = DISCOVER_API_ENDPOINTS;
	else
		cfg_err(d, p, "api",
			"unknown api \"%s\" (expected auto, endpointslices, endpoints)", rd->api);
}

/* Keys that mean something for one kind only are errors on the other: a typo'd block should
 * not look accepted. */
static void check_kind_keys(
	const struct raw_discover *rd, const char *p, struct cfg_diag *d, enum discover_kind k)
{
	if (k == DISCOVER_APISERVER) {
		if (rd->interval)
			cfg_err(d, p, "interval", "only for kind etcd (the apiserver list is watched)");
		if (rd->ca_file || rd->cert_file || rd->key_file)
			cfg_err(d, p,
				rd->ca_file     ? "ca_file"
				: rd->cert_file ? "cert_file"
						: "key_file",
				"only for kind etcd (apiserver credentials come from the kubeconfig)");
	} else {
		if (rd->kubeconfig || rd->context || rd->api || rd->stall_timeout)
			cfg_err(d, p,
				rd->kubeconfig ? "kubeconfig"
				: rd->context  ? "context"
				: rd->api      ? "api"
					       : "stall_timeout",
				"only for kind apiserver");
	}
}

void cfg_build_discover(const struct raw_discover *rd, const char *prefix, struct cfg_diag *d,
			const struct cfg_health *h, struct cfg_discover **out)
{
	*out = NULL;
	if (!rd)
		return;
	char p[256];
	cfg_path_join(p, sizeof(p), prefix, "discover");
	struct cfg_discover *x = calloc(1, sizeof(*x));
	if (!x) {
		cfg_err(d, p, NULL, "out of memory");
		return;
	}
	*out = x;
	build_kind(rd, p, d, x);
	check_kind_keys(rd, p, d, x->kind);
	cv_str(d, p, "kubeconfig", rd->kubeconfig, x->kind == DISCOVER_APISERVER, NULL, &x->kubeconfig);
	if (x->kubeconfig && x->kubeconfig[0] != '/')
		cfg_err(d, p, "kubeconfig", "must be an absolute path");
	cv_str(d, p, "context", rd->context, false, NULL, &x->context);
	cv_duration(d, p, "timeout", rd->timeout, 100, 600000, 5000, &x->timeout_ms);
	cv_duration(d, p, "stall_timeout", rd->stall_timeout, 500, 3600000, 90000, &x->stall_ms);
	cv_duration(d, p, "retry", rd->retry, 10, 30000, 1000, &x->retry_ms);
	cv_duration(d, p, "interval", rd->interval, 100, 3600000, 10000, &x->interval_ms);
	cv_str(d, p, "ca_file", rd->ca_file, false, h->ca_file, &x->ca_file);
	cv_str(d, p, "cert_file", rd->cert_file, false, h->cert_file, &x->cert_file);
	cv_str(d, p, "key_file", rd->key_file, false, h->key_file, &x->key_file);
	if (!x->cert_file != !x->key_file)
		cfg_err(d, p, x->cert_file ? "cert_file" : "key_file",
			"cert_file and key_file go together (a client certificate needs its key)");
}

void cfg_free_discover(struct cfg_discover *x)
{
	if (!x)
		return;
	free(x->kubeconfig);
	free(x->context);
	free(x->ca_file);
	free(x->cert_file);
	free(x->key_file);
	free(x);
}
