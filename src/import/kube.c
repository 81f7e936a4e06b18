/* k0s (ClusterConfig, or the k0sctl Cluster that embeds one) and kube-vip (the env of its
 * static-pod manifest) -> import model. Both find the apiservers through Kubernetes, so the
 * servers come from --server (or k0sctl's controller hosts when they are IP literals). */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "import/import.h"

struct kube {
	struct imp_model *m;
	const char *file;
	yaml_document_t *doc;
};

static int line_of(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value of `key` in a mapping, or NULL. */
static yaml_node_t *get(struct kube *k, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *s = scalar(yaml_document_get_node(k->doc, p->key));
		if (s && strcmp(s, key) == 0)
			return yaml_document_get_node(k->doc, p->value);
	}
	return NULL;
}

static yaml_node_t *path(struct kube *k, yaml_node_t *n, const char *const *keys)
{
	for (; *keys && n; keys++)
		n = get(k, n, *keys);
	return n;
}

static size_t seq_len(const yaml_node_t *n)
{
	return n && n->type == YAML_SEQUENCE_NODE
		       ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
		       : 0;
}

static yaml_node_t *seq_at(struct kube *k, yaml_node_t *n, size_t i)
{
	return yaml_document_get_node(k->doc, n->data.sequence.items.start[i]);
}

static bool truthy(const char *s)
{
	return s && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "yes") == 0);
}

/* Every key of a mapping that the reader did not use: a warning each. */
static void unknown_keys(struct kube *k, yaml_node_t *map, const char *const *known, const char *what)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(k->doc, p->key);
		const char *s = scalar(kn);
		bool ok = false;
		for (size_t i = 0; known[i] && s && !ok; i++)
			ok = strcmp(s, known[i]) == 0;
		if (!ok)
			imp_warn(k->m, k->file, line_of(kn), "%s.%s has no buoy equivalent", what,
				 s ? s : "?");
	}
}

static struct imp_backend *apiservers(
	struct kube *k, const char *name, const char *port, char **hosts, size_t n_hosts, int line)
{
	struct imp_model *m = k->m;
	struct imp_backend *b = imp_backend_add(m, name);
	b->health.set = true;
	b->health.type = "https";
	b->health.path = "/readyz";
	imp_note(m, &b->notes, "the apiservers' own readiness: GET /readyz over TLS");
	for (size_t i = 0; i < n_hosts; i++) {
		struct imp_server *s = imp_push(m, &b->servers, &b->n_servers, sizeof(*s));
		/* "ADDR:PORT" and "[V6]:PORT" as given; a bare address gets the apiserver port */
		char *h = hosts[i], *colon = strchr(h, ':');
		bool has_port = strchr(h, ']') || (colon && colon == strrchr(h, ':'));
		s->address = has_port ? h : imp_hostport(m, h, port);
	}
	if (!n_hosts)
		imp_fatal(m, k->file, line,
			  "the apiservers are found through Kubernetes; name them with --server "
			  "ADDR (each control-plane node's address)");
	return b;
}

/* ---- k0s ---- */

static void k0s_vrrp(struct kube *k, yaml_node_t *inst, size_t idx)
{
	struct imp_model *m = k->m;
	static const char *const known[] = {
		"virtualIPs", "authPass", "interface", "virtualRouterID", "advertIntervalSeconds",
		NULL
	};
	unknown_keys(k, inst, known, "vrrpInstances[]");
	struct imp_vrrp *v = imp_push(m, &m->vrrp, &m->n_vrrp, sizeof(*v));
	v->name = idx ? imp_printf(m, "k0s-cplb-%zu", idx + 1) : "k0s-cplb";
	v->version = 2; /* k0s runs keepalived with its defaults */
	v->priority = 100;
	v->preempt = 0; /* "a VIP only moves if there is a problem with the current leader" */
	imp_note(m, &v->notes, "k0s: every controller equal, no preemption; VRRPv2 for PASS");
	const char *vrid = scalar(get(k, inst, "virtualRouterID"));
	unsigned u;
	v->router_id = vrid && imp_uint(vrid, 1, 255, &u) == 0 ? u : 51 + (unsigned)idx;
	const char *adv = scalar(get(k, inst, "advertIntervalSeconds"));
	v->advert_ms = adv && imp_uint(adv, 1, 255, &u) == 0 ? u * 1000 : 1000;
	const char *pass = scalar(get(k, inst, "authPass"));
	if (pass)
		v->auth_pass = imp_printf(m, "%.8s", pass);
	const char *ifname = scalar(get(k, inst, "interface"));
	if (ifname) {
		v->interface = imp_strdup(m, ifname);
	} else {
		v->interface = "eth0";
		imp_warn(m, k->file, line_of(inst),
			 "no interface: k0s takes the default route's; eth0 written, check it");
	}
	yaml_node_t *vips = get(k, inst, "virtualIPs");
	for (size_t i = 0; i < seq_len(vips); i++) {
		const char *ip = scalar(seq_at(k, vips, i));
		if (ip)
			*(char **)imp_push(m, &v->vips, &v->n_vips, sizeof(char *)) = imp_strdup(m, ip);
	}
}

static void k0s_spec(struct kube *k, yaml_node_t *spec, char **hosts, size_t n_hosts)
{
	struct imp_model *m = k->m;
	static const char *const cplb_path[] = { "network", "controlPlaneLoadBalancing", NULL };
	yaml_node_t *cplb = path(k, spec, cplb_path);
	const char *port = scalar(path(k, spec, (const char *const[]){ "api", "port", NULL }));
	port = port ? port : "6443";
	yaml_node_t *nllb = get(k, get(k, spec, "network"), "nodeLocalLoadBalancing");
	if (nllb && truthy(scalar(get(k, nllb, "enabled"))))
		imp_warn(m, k->file, line_of(nllb),
			 "nodeLocalLoadBalancing runs on the workers: give them a node-local buoy "
			 "(examples/node-local.yaml), not this file");
	if (!cplb || !truthy(scalar(get(k, cplb, "enabled")))) {
		imp_fatal(m, k->file, line_of(spec), "controlPlaneLoadBalancing is not enabled");
		return;
	}
	static const char *const cplb_known[] = { "enabled", "type", "keepalived", NULL };
	static const char *const ka_known[] = { "vrrpInstances", "virtualServers", NULL };
	unknown_keys(k, cplb, cplb_known, "controlPlaneLoadBalancing");
	yaml_node_t *ka = get(k, cplb, "keepalived");
	unknown_keys(k, ka, ka_known, "keepalived");
	yaml_node_t *insts = get(k, ka, "vrrpInstances");
	for (size_t i = 0; i < seq_len(insts); i++)
		k0s_vrrp(k, seq_at(k, insts, i), i);
	if (!m->n_vrrp) {
		imp_fatal(m, k->file, line_of(cplb), "no keepalived.vrrpInstances");
		return;
	}
	struct imp_backend *b = apiservers(k, "kube-apiserver", port, hosts, n_hosts, line_of(cplb));
	*(char **)imp_push(m, &m->vrrp[0].track_backends, &m->vrrp[0].n_track_backends,
			   sizeof(char *)) = b->name;
	struct imp_listener *l = imp_push(m, &m->listeners, &m->n_listeners, sizeof(*l));
	l->name = b->name;
	l->backend = b->name;
	yaml_node_t *vs = get(k, ka, "virtualServers");
	const char *vip = m->vrrp[0].n_vips ? m->vrrp[0].vips[0] : "";
	char *addr = imp_printf(m, "%.*s", (int)strcspn(vip, "/"), vip);
	if (seq_len(vs)) {
		/* IPVS (DR) to the apiservers on VIP:port: buoy proxies on VIP:port instead */
		imp_warn(m, k->file, line_of(vs),
			 "virtualServers: LVS DR forwarding has no buoy equivalent; buoy proxies "
			 "on the VIP (the apiservers must not bind the VIP's port)");
		l->bind = imp_hostport(m, addr, port);
	} else {
		/* k0s's userspace proxy: :6444 behind a redirect of VIP:port */
		l->bind = ":6444";
		l->intercept = imp_hostport(m, addr, port);
		imp_note(m, &l->notes,
			 "k0s's userspace proxy port; VIP:%s is redirected here "
			 "(nftables, prerouting and output)",
			 port);
	}
}

/* k0sctl's Cluster: the controllers' ssh addresses are the apiservers. */
static size_t k0sctl_hosts(struct kube *k, yaml_node_t *spec, char ***hosts)
{
	yaml_node_t *list = get(k, spec, "hosts");
	size_t n = 0;
	for (size_t i = 0; i < seq_len(list); i++) {
		yaml_node_t *h = seq_at(k, list, i);
		const char *role = scalar(get(k, h, "role"));
		const char *addr = scalar(get(k, get(k, h, "ssh"), "address"));
		if (!role || strncmp(role, "controller", 10) != 0 || !addr)
			continue;
		*(char **)imp_push(k->m, hosts, &n, sizeof(char *)) = imp_strdup(k->m, addr);
		if (!strpbrk(addr, ":") && strspn(addr, "0123456789.") != strlen(addr))
			imp_warn(k->m, k->file, line_of(h),
				 "controller %s: buoy needs IP addresses, not names", addr);
	}
	return n;
}

/* ---- kube-vip ---- */

static const char *env(struct kube *k, yaml_node_t *list, const char *name, int *line)
{
	for (size_t i = 0; i < seq_len(list); i++) {
		yaml_node_t *e = seq_at(k, list, i);
		const char *n = scalar(get(k, e, "name"));
		if (n && strcmp(n, name) == 0) {
			*line = line_of(e);
			return scalar(get(k, e, "value"));
		}
	}
	return NULL;
}

static struct imp_vrrp *kube_vip_vrrp(struct kube *k, const char *ifname, char *prefix)
{
	struct imp_model *m = k->m;
	struct imp_vrrp *v = imp_push(m, &m->vrrp, &m->n_vrrp, sizeof(*v));
	v->name = "kube-vip";
	v->interface = ifname ? imp_strdup(m, ifname) : "eth0";
	if (!ifname)
		imp_warn(m, k->file, 0, "no vip_interface: eth0 written, check it");
	v->router_id = 51;
	v->priority = 100;
	v->preempt = 0; /* a leader keeps the lease until it fails */
	imp_note(m, &v->notes,
		 "kube-vip's leader election becomes VRRP: every node equal, no "
		 "preemption; router_id 51 is new (kube-vip has none)");
	*(char **)imp_push(m, &v->vips, &v->n_vips, sizeof(char *)) = prefix;
	return v;
}

/* bgp_peers: "ADDR:AS[:PASSWORD[:MULTIHOP]],..." (IPv6 addresses in brackets). */
static void bgp_peer_list(struct kube *k, struct imp_bgp *b, const char *list, int line)
{
	struct imp_model *m = k->m;
	char *dup = imp_strdup(m, list), *save = NULL;
	for (char *item = strtok_r(dup, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct imp_bgp_peer *p = imp_push(m, &b->peers, &b->n_peers, sizeof(*p));
		char *rest = item;
		if (item[0] == '[' && strchr(item, ']')) {
			p->address = item + 1;
			rest = strchr(item, ']');
			*rest++ = 0;
		} else {
			p->address = item;
			rest = strchr(item, ':');
			if (rest)
				*rest++ = 0;
		}
		char *f[3] = { NULL, NULL, NULL };
		for (int i = 0; i < 3 && rest && *rest; i++) {
			if (*rest == ':')
				rest++;
			f[i] = rest;
			rest = strchr(rest, ':');
			if (rest)
				*rest++ = 0;
		}
		p->asn = f[0] && *f[0] ? f[0] : "65000";
		p->password = f[1] && *f[1] ? f[1] : NULL;
		if (f[2] && truthy(f[2]))
			p->multihop = 2; /* kube-vip's multihop is on/off; a TTL of 2 */
		if (!f[0])
			imp_warn(m, k->file, line, "bgp_peers %s: no AS, 65000 written", p->address);
	}
}

static void kube_vip_bgp(struct kube *k, yaml_node_t *envs, char *prefix)
{
	struct imp_model *m = k->m;
	struct imp_bgp *b = imp_alloc(m, sizeof(*b));
	m->bgp = b;
	int line = 0;
	const char *as = env(k, envs, "bgp_as", &line);
	b->asn = imp_strdup(m, as ? as : "65000"); /* kube-vip's default */
	const char *rid = env(k, envs, "bgp_routerid", &line);
	b->router_id = rid ? imp_strdup(m, rid) : NULL;
	const char *hold = env(k, envs, "bgp_hold_time", &line);
	const char *ka = env(k, envs, "bgp_keepalive_interval", &line);
	if (hold && imp_duration(hold, 1000, &b->hold_ms) < 0)
		imp_warn(m, k->file, line, "bgp_hold_time %s: not a number of seconds", hold);
	if (ka && imp_duration(ka, 1000, &b->keepalive_ms) < 0)
		imp_warn(m, k->file, line, "bgp_keepalive_interval %s: not a number of seconds", ka);
	const char *peer = env(k, envs, "bgp_peeraddress", &line);
	if (peer) {
		struct imp_bgp_peer *p = imp_push(m, &b->peers, &b->n_peers, sizeof(*p));
		p->address = imp_strdup(m, peer);
		const char *pas = env(k, envs, "bgp_peeras", &line);
		p->asn = imp_strdup(m, pas ? pas : "65000");
		const char *pw = env(k, envs, "bgp_peerpass", &line);
		p->password = pw ? imp_strdup(m, pw) : NULL;
	}
	const char *peers = env(k, envs, "bgp_peers", &line);
	if (peers)
		bgp_peer_list(k, b, peers, line);
	if (!b->n_peers)
		imp_fatal(m, k->file, line, "bgp_enable without bgp_peeraddress or bgp_peers");
	for (size_t i = 0; i < b->n_peers; i++)
		b->peers[i].no_bfd = true; /* kube-vip runs none: the routers may not either */
	*(char **)imp_push(m, &b->announce, &b->n_announce, sizeof(char *)) = prefix;
	imp_note(m, &b->notes,
		 "kube-vip in BGP mode: every node announces the VIP; buoy withdraws it while "
		 "no apiserver is ready. kube-vip ran no BFD: bfd: true once the routers do");
}

static void kube_vip(struct kube *k, yaml_node_t *envs, char **hosts, size_t n_hosts)
{
	struct imp_model *m = k->m;
	/* what converts; vip_arp, vip_startleader, vip_leaderelection, cp_enable and lb_type tcp
	 * are what buoy always does (gratuitous ARP, an election, the control-plane VIP, TCP) */
	static const char *const used[] = {
		"vip_address",
		"address",
		"vip_interface",
		"vip_arp",
		"lb_enable",
		"lb_port",
		"lb_backendport",
		"port",
		"vip_cidr",
		"vip_subnet",
		"cp_enable",
		"vip_leaderelection",
		"vip_startleader",
		"lb_name",
		"lb_bindtovip",
		"lb_type",
		"bgp_enable",
		"bgp_routerid",
		"bgp_as",
		"bgp_peeraddress",
		"bgp_peeras",
		"bgp_peerpass",
		"bgp_peers",
		"bgp_hold_time",
		"bgp_keepalive_interval",
		NULL
	};
	for (size_t i = 0; i < seq_len(envs); i++) {
		yaml_node_t *e = seq_at(k, envs, i);
		const char *n = scalar(get(k, e, "name"));
		bool ok = false;
		for (size_t j = 0; used[j] && n && !ok; j++)
			ok = strcmp(n, used[j]) == 0;
		if (!ok)
			imp_warn(m, k->file, line_of(e), "kube-vip %s has no buoy equivalent",
				 n ? n : "?");
	}
	int line = 0;
	const char *vip = env(k, envs, "vip_address", &line);
	vip = vip ? vip : env(k, envs, "address", &line);
	const char *cidr = env(k, envs, "vip_cidr", &line);
	cidr = cidr ? cidr : env(k, envs, "vip_subnet", &line);
	const char *ifname = env(k, envs, "vip_interface", &line);
	if (!vip) {
		imp_fatal(m, k->file, 0, "no vip_address");
		return;
	}
	char *prefix = imp_printf(m, "%s/%s", vip, cidr ? cidr : strchr(vip, ':') ? "128" : "32");
	struct imp_vrrp *v = NULL;
	if (truthy(env(k, envs, "bgp_enable", &line)))
		kube_vip_bgp(k, envs, prefix);
	else
		v = kube_vip_vrrp(k, ifname, prefix);
	/* 0.1.x had no lb_enable: its lb_* settings turned the balancer on */
	const char *lb_type = env(k, envs, "lb_type", &line);
	if (lb_type && strcmp(lb_type, "tcp") != 0)
		imp_warn(m, k->file, line, "lb_type %s: buoy balances TCP", lb_type);
	if (!truthy(env(k, envs, "lb_enable", &line)) && !truthy(env(k, envs, "lb_bindtovip", &line)))
		return;
	const char *port = env(k, envs, "lb_port", &line);
	const char *bport = env(k, envs, "lb_backendport", &line);
	port = port ? port : env(k, envs, "port", &line);
	struct imp_backend *b = apiservers(k, "kube-vip-lb", bport ? bport : "6443", hosts, n_hosts, line);
	struct imp_listener *l = imp_push(m, &m->listeners, &m->n_listeners, sizeof(*l));
	l->name = b->name;
	l->backend = b->name;
	l->bind = imp_hostport(m, vip, port ? port : "6443");
	if (v) /* a BGP announcement is gated by its listeners' backends by itself */
		*(char **)imp_push(m, &v->track_backends, &v->n_track_backends, sizeof(char *)) = b->name;
}

static int kube(struct imp_model *m, const char *file, const char *text, size_t len, bool vip)
{
	yaml_parser_t p;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&p))
		return -1;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &doc)) {
		imp_fatal(m, file, (int)p.problem_mark.line + 1, "YAML: %s",
			  p.problem ? p.problem : "unreadable");
		yaml_parser_delete(&p);
		return -1;
	}
	struct kube k = { .m = m, .file = file, .doc = &doc };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (vip) {
		static const char *const c0[] = { "spec", "containers", NULL };
		yaml_node_t *cs = path(&k, root, c0);
		yaml_node_t *envs = seq_len(cs) ? get(&k, seq_at(&k, cs, 0), "env") : NULL;
		if (!envs)
			imp_fatal(m, file, line_of(root), "no spec.containers[0].env");
		else
			kube_vip(&k, envs, m->servers, m->n_servers);
	} else {
		yaml_node_t *spec = get(&k, root, "spec");
		static const char *const embedded[] = { "k0s", "config", "spec", NULL };
		char **hosts = m->servers;
		size_t n = m->n_servers;
		if (path(&k, spec, embedded)) { /* k0sctl */
			if (!n)
				n = k0sctl_hosts(&k, spec, &hosts);
			spec = path(&k, spec, embedded);
		}
		if (!spec)
			imp_fatal(m, file, line_of(root), "no spec: not a k0s ClusterConfig");
		else
			k0s_spec(&k, spec, hosts, n);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return 0;
}

int imp_k0s(struct imp_model *m, const char *file, const char *text, size_t len)
{
	return kube(m, file, text, len, false);
}

int imp_kube_vip(struct imp_model *m, const char *file, const char *text, size_t len)
{
	return kube(m, file, text, len, true);
}
