/* keepalived.conf -> import model: global_defs, vrrp_script, vrrp_instance, vrrp_sync_group and
 * LVS virtual_server blocks. keepalived's own defaults apply where the file is silent
 * (VRRPv2, advert_int 1, priority 100, or 255 for `state MASTER` without one). */
#include <stdlib.h>
#include <string.h>

#include "import/import.h"

struct kctx {
	struct imp_model *m;
	const struct imp_stmt *root;
	unsigned version; /* global_defs vrrp_version, default 2 */
};

static bool is(const struct imp_stmt *s, const char *kw)
{
	return s->argc && strcmp(s->argv[0], kw) == 0;
}

static const char *arg(const struct imp_stmt *s, size_t i)
{
	return i < s->argc ? s->argv[i] : NULL;
}

static void unsupported(struct kctx *k, const struct imp_stmt *s, const char *why)
{
	imp_warn(k->m, s->file, s->line, "%s: %s", s->argc ? s->argv[0] : "{", why);
}

static void bad_value(struct kctx *k, const struct imp_stmt *s)
{
	imp_warn(k->m, s->file, s->line, "%s: invalid or missing value%s%s",
		 s->argc ? s->argv[0] : "", s->argc > 1 ? " " : "", s->argc > 1 ? s->argv[1] : "");
}

static bool want_uint(struct kctx *k, const struct imp_stmt *s, unsigned lo, unsigned hi, unsigned *out)
{
	if (imp_uint(arg(s, 1), lo, hi, out) == 0)
		return true;
	bad_value(k, s);
	return false;
}

static bool want_int(struct kctx *k, const struct imp_stmt *s, size_t i, int *out)
{
	const char *a = arg(s, i);
	unsigned u;
	bool neg = a && a[0] == '-';
	if (a && imp_uint(a + neg, 0, 254, &u) == 0) {
		*out = neg ? -(int)u : (int)u;
		return true;
	}
	bad_value(k, s);
	return false;
}

/* keepalived durations are seconds, fractions allowed */
static bool want_secs(struct kctx *k, const struct imp_stmt *s, uint64_t *ms)
{
	if (imp_duration(arg(s, 1), 1000, ms) == 0 && !strpbrk(s->argv[1], "hmsud"))
		return true;
	bad_value(k, s);
	return false;
}

/* ---- global_defs ---- */

static void global_defs(struct kctx *k, const struct imp_stmt *g)
{
	struct imp_model *m = k->m;
	for (size_t i = 0; i < g->n_kids; i++) {
		const struct imp_stmt *s = &g->kids[i];
		if (is(s, "router_id") && arg(s, 1)) {
			if (!m->out_node)
				m->out_node = imp_strdup(m, s->argv[1]);
		} else if (is(s, "script_user") && arg(s, 1)) {
			m->script_user = imp_strdup(m, s->argv[1]);
			if (arg(s, 2))
				unsupported(k, s,
					    "the group is not carried over (buoy runs scripts "
					    "with the user's own groups)");
		} else if (is(s, "enable_script_security")) {
			imp_note(m, &m->notes,
				 "enable_script_security: buoy always runs scripts as script_user "
				 "(default nobody), never as root");
		} else if (is(s, "vrrp_version")) {
			want_uint(k, s, 2, 3, &k->version);
		} else if (s->argc) {
			unsupported(k, s, "global setting with no buoy equivalent");
		}
	}
}

/* ---- vrrp_script ---- */

static const struct imp_stmt *find_block(struct kctx *k, const char *kw, const char *name)
{
	for (size_t i = 0; i < k->root->n_kids; i++) {
		const struct imp_stmt *s = &k->root->kids[i];
		if (is(s, kw) && arg(s, 1) && strcmp(s->argv[1], name) == 0)
			return s;
	}
	return NULL;
}

static void vrrp_script(struct kctx *k, const struct imp_stmt *def, struct imp_script *sc)
{
	sc->name = imp_strdup(k->m, def->argv[1]);
	sc->file = def->file;
	sc->line = def->line;
	sc->interval_ms = 1000; /* keepalived's default interval */
	for (size_t i = 0; i < def->n_kids; i++) {
		const struct imp_stmt *s = &def->kids[i];
		unsigned u;
		if (is(s, "script") && arg(s, 1)) {
			/* several words form the command line, as keepalived joins them */
			struct strbuf c = { 0 };
			for (size_t a = 1; a < s->argc; a++)
				sb_printf(&c, "%s%s", a > 1 ? " " : "", s->argv[a]);
			sc->command = imp_strdup(k->m, sb_str(&c));
			sb_free(&c);
		} else if (is(s, "interval")) {
			want_secs(k, s, &sc->interval_ms);
		} else if (is(s, "timeout")) {
			want_secs(k, s, &sc->timeout_ms);
		} else if (is(s, "weight")) {
			want_int(k, s, 1, &sc->weight);
			if (arg(s, 2))
				unsupported(k, s, "`reverse` has no buoy equivalent");
		} else if (is(s, "rise") && want_uint(k, s, 1, 1000, &u)) {
			sc->rise = u;
		} else if (is(s, "fall") && want_uint(k, s, 1, 1000, &u)) {
			sc->fall = u;
		} else if (is(s, "user") && arg(s, 1)) {
			sc->user = imp_strdup(k->m, s->argv[1]);
			if (arg(s, 2))
				unsupported(k, s, "the group is not carried over");
		} else if (s->argc && !is(s, "rise") && !is(s, "fall")) {
			unsupported(k, s, "vrrp_script setting with no buoy equivalent");
		}
	}
	if (!sc->command) {
		imp_warn(k->m, def->file, def->line, "vrrp_script %s has no script", sc->name);
		sc->command = imp_strdup(k->m, "false");
	}
	if (sc->timeout_ms > sc->interval_ms) {
		imp_warn(k->m, def->file, def->line,
			 "vrrp_script %s: timeout longer than interval; buoy caps it at the interval",
			 sc->name);
		sc->timeout_ms = sc->interval_ms;
	}
}

static void track_scripts(struct kctx *k, struct imp_vrrp *v, const struct imp_stmt *blk)
{
	for (size_t i = 0; i < blk->n_kids; i++) {
		const struct imp_stmt *s = &blk->kids[i];
		const struct imp_stmt *def = s->argc ? find_block(k, "vrrp_script", s->argv[0]) : NULL;
		if (!def) {
			imp_warn(k->m, s->file, s->line, "track_script %s: no such vrrp_script",
				 s->argc ? s->argv[0] : "");
			continue;
		}
		struct imp_script *sc = imp_push(k->m, &v->scripts, &v->n_scripts, sizeof(*sc));
		vrrp_script(k, def, sc);
		if (arg(s, 1) && strcmp(s->argv[1], "weight") == 0)
			want_int(k, s, 2, &sc->weight);
	}
}

static void track_interfaces(struct kctx *k, struct imp_vrrp *v, const struct imp_stmt *blk)
{
	for (size_t i = 0; i < blk->n_kids; i++) {
		const struct imp_stmt *s = &blk->kids[i];
		struct imp_iface *f = imp_push(k->m, &v->ifaces, &v->n_ifaces, sizeof(*f));
		f->name = imp_strdup(k->m, s->argv[0]);
		if (arg(s, 1) && strcmp(s->argv[1], "weight") == 0)
			want_int(k, s, 2, &f->weight);
		else if (arg(s, 1))
			unsupported(k, s, "unknown track_interface option");
	}
}

/* One virtual_ipaddress line: ADDR[/LEN] [dev IF] [label L] [brd|scope|...]. */
static void vip_line(struct kctx *k, struct imp_vrrp *v, const struct imp_stmt *s)
{
	const char *a = s->argv[0];
	char *vip = strchr(a, '/') ? imp_strdup(k->m, a)
				   : imp_printf(k->m, "%s/%d", a, strchr(a, ':') ? 128 : 32);
	/* keepalived adds an address once; buoy refuses it twice, in any instance */
	for (size_t i = 0; i < k->m->n_vrrp; i++)
		for (size_t j = 0; j < k->m->vrrp[i].n_vips; j++)
			if (strcmp(k->m->vrrp[i].vips[j], vip) == 0) {
				imp_warn(k->m, s->file, s->line,
					 "%s is already a VIP (of %s); listed once", vip,
					 k->m->vrrp[i].name);
				return;
			}
	*(char **)imp_push(k->m, &v->vips, &v->n_vips, sizeof(char *)) = vip;
	for (size_t i = 1; i < s->argc; i++) {
		const char *o = s->argv[i], *val = arg(s, i + 1);
		if (strcmp(o, "dev") == 0 && val) {
			if (v->interface && strcmp(val, v->interface) != 0)
				unsupported(k, s,
					    "a VIP on another interface than the instance's; "
					    "buoy puts every VIP on `interface`");
			i++;
		} else if (strcmp(o, "label") == 0 && val) {
			if (v->label && strcmp(v->label, val) != 0)
				unsupported(k, s, "buoy has one label per instance; the first is kept");
			else
				v->label = imp_strdup(k->m, val);
			i++;
		} else if ((strcmp(o, "brd") == 0 || strcmp(o, "broadcast") == 0 ||
			    strcmp(o, "scope") == 0) &&
			   val) {
			imp_note(k->m, &v->notes, "%s:%d: %s %s: the kernel's default is used",
				 s->file, s->line, o, val);
			i++;
		} else {
			imp_warn(k->m, s->file, s->line,
				 "virtual_ipaddress option %s has no buoy equivalent", o);
		}
	}
}

static void authentication(struct kctx *k, struct imp_vrrp *v, const struct imp_stmt *blk)
{
	const char *type = NULL, *pass = NULL;
	for (size_t i = 0; i < blk->n_kids; i++) {
		const struct imp_stmt *s = &blk->kids[i];
		if (is(s, "auth_type"))
			type = arg(s, 1);
		else if (is(s, "auth_pass"))
			pass = arg(s, 1);
		else
			unsupported(k, s, "unknown authentication setting");
	}
	if (type && strcmp(type, "AH") == 0) {
		imp_fatal(k->m, blk->file, blk->line,
			  "auth_type AH (IPsec AH) is not supported by buoy (RFC 3768 dropped it; "
			  "keepalived peers with AH would not accept buoy's adverts)");
		return;
	}
	if (!pass)
		return;
	if (type && strcmp(type, "PASS") != 0) {
		unsupported(k, blk, "unknown auth_type");
		return;
	}
	/* keepalived sends the first 8 characters; buoy refuses longer ones */
	v->auth_pass = imp_printf(k->m, "%.8s", pass);
	if (strlen(pass) > 8)
		imp_note(k->m, &v->notes, "%s:%d: auth_pass cut to 8 characters, as keepalived sends it",
			 blk->file, blk->line);
}

static void notify(struct kctx *k, struct imp_vrrp *v, const struct imp_stmt *s)
{
	/* keepalived's `notify` gets "INSTANCE NAME STATE PRIORITY", buoy's "NAME STATE
	 * PRIORITY"; notify_master & co. get nothing: neither runs unchanged */
	imp_warn(k->m, s->file, s->line,
		 "%s: buoy has one `notify` command called with NAME STATE PRIORITY; rewrite "
		 "the script and set `notify`",
		 s->argv[0]);
	(void)v;
}

static void unicast_peers(struct kctx *k, struct imp_vrrp *v, const struct imp_stmt *blk)
{
	for (size_t i = 0; i < blk->n_kids; i++) {
		const struct imp_stmt *s = &blk->kids[i];
		*(char **)imp_push(k->m, &v->peers, &v->n_peers, sizeof(char *)) =
			imp_strdup(k->m, s->argv[0]);
		if (s->argc > 1)
			unsupported(k, s,
				    "per-peer options (min_ttl/max_ttl) have no buoy "
				    "equivalent");
	}
}

/* A keyword of vrrp_instance that takes one statement (not a block). */
static bool instance_scalar(struct kctx *k, struct imp_vrrp *v, const struct imp_stmt *s, const char **state)
{
	struct imp_model *m = k->m;
	unsigned u;
	if (is(s, "state")) {
		*state = arg(s, 1);
		imp_note(m, &v->notes, "%s:%d: state %s: buoy starts as backup; priority decides",
			 s->file, s->line, arg(s, 1) ? arg(s, 1) : "");
	} else if (is(s, "interface") && arg(s, 1)) {
		v->interface = imp_strdup(m, s->argv[1]);
	} else if (is(s, "virtual_router_id") && want_uint(k, s, 1, 255, &u)) {
		v->router_id = u;
	} else if (is(s, "priority") && want_uint(k, s, 1, 255, &u)) {
		v->priority = u;
	} else if (is(s, "advert_int")) {
		want_secs(k, s, &v->advert_ms);
	} else if (is(s, "version") && want_uint(k, s, 2, 3, &u)) {
		v->version = u;
	} else if (is(s, "nopreempt")) {
		v->preempt = 0;
	} else if (is(s, "preempt")) {
		v->preempt = 1;
	} else if (is(s, "preempt_delay")) {
		want_secs(k, s, &v->preempt_delay_ms);
	} else if (is(s, "unicast_src_ip") && arg(s, 1)) {
		v->unicast_source = imp_strdup(m, s->argv[1]);
	} else if (is(s, "notify") || is(s, "notify_master") || is(s, "notify_backup") ||
		   is(s, "notify_fault") || is(s, "notify_stop")) {
		notify(k, v, s);
	} else if (is(s, "garp_master_delay") || is(s, "garp_master_refresh") ||
		   is(s, "garp_master_repeat")) {
		imp_warn(m, s->file, s->line,
			 "%s: set garp.delay/refresh/repeat by hand (buoy: 5s/60s/5)", s->argv[0]);
	} else {
		return false;
	}
	return true;
}

static void instance_block(struct kctx *k, struct imp_vrrp *v, const struct imp_stmt *s)
{
	if (is(s, "virtual_ipaddress")) {
		for (size_t i = 0; i < s->n_kids; i++)
			if (s->kids[i].argc)
				vip_line(k, v, &s->kids[i]);
	} else if (is(s, "virtual_ipaddress_excluded")) {
		unsupported(k, s,
			    "addresses outside the advert have no buoy equivalent; add them "
			    "to virtual_ips (peers see them in the advert) or a second instance");
	} else if (is(s, "unicast_peer")) {
		unicast_peers(k, v, s);
	} else if (is(s, "authentication")) {
		authentication(k, v, s);
	} else if (is(s, "track_script")) {
		track_scripts(k, v, s);
	} else if (is(s, "track_interface")) {
		track_interfaces(k, v, s);
	} else {
		unsupported(k, s, "vrrp_instance block with no buoy equivalent");
	}
}

static void vrrp_instance(struct kctx *k, const struct imp_stmt *blk)
{
	struct imp_model *m = k->m;
	struct imp_vrrp *v = imp_push(m, &m->vrrp, &m->n_vrrp, sizeof(*v));
	v->name = imp_name(m, arg(blk, 1) ? blk->argv[1] : "vrrp");
	v->preempt = -1;
	const char *state = NULL;
	/* interface first: a virtual_ipaddress `dev` is compared with it */
	for (size_t i = 0; i < blk->n_kids; i++)
		if (is(&blk->kids[i], "interface") && arg(&blk->kids[i], 1))
			v->interface = imp_strdup(m, blk->kids[i].argv[1]);
	for (size_t i = 0; i < blk->n_kids; i++) {
		const struct imp_stmt *s = &blk->kids[i];
		if (s->block)
			instance_block(k, v, s);
		else if (s->argc && !instance_scalar(k, v, s, &state))
			unsupported(k, s, "vrrp_instance setting with no buoy equivalent");
	}
	if (!v->version)
		v->version = k->version;
	if (!v->advert_ms)
		v->advert_ms = 1000; /* keepalived's default, not buoy's 200ms */
	if (v->version == 2 && v->advert_ms % 1000) {
		imp_warn(m, blk->file, blk->line,
			 "advert_int %llums is not whole seconds, which VRRPv2 needs; rounded up",
			 (unsigned long long)v->advert_ms);
		v->advert_ms = (v->advert_ms / 1000 + 1) * 1000;
	}
	if (!v->priority)
		v->priority = state && strcmp(state, "MASTER") == 0 ? 255 : 100;
	if (v->auth_pass && v->version == 3) {
		imp_warn(m, blk->file, blk->line,
			 "authentication with VRRPv3: keepalived ignores it, so does buoy");
		v->auth_pass = NULL;
	}
	if (v->preempt_delay_ms && v->preempt == 0)
		v->preempt_delay_ms = 0; /* keepalived ignores it with nopreempt too */
}

static void sync_group(struct kctx *k, const struct imp_stmt *blk)
{
	imp_warn(k->m, blk->file, blk->line,
		 "vrrp_sync_group %s: buoy has no sync groups; each instance is elected on its "
		 "own. Put VIPs that must move together in one instance, or make every instance "
		 "track the same backends so they fail over together",
		 arg(blk, 1) ? blk->argv[1] : "");
}

/* ---- LVS virtual_server -> listener + backend ---- */

static const char *lvs_balance(const char *algo)
{
	static const char *const map[][2] = {
		{ "rr", "roundrobin" }, { "wrr", "roundrobin" }, { "lc", "leastconn" },
		{ "wlc", "leastconn" }, { "sh", "source" },      { "mh", "source" }
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(algo, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

/* TCP_CHECK / HTTP_GET / SSL_GET of a real_server: the backend's health (buoy checks every
 * server the same way, so the first checker decides and others are compared with it). */
static void lvs_checker(struct kctx *k, struct imp_backend *b, const struct imp_stmt *c)
{
	struct imp_health h = { .set = true, .verify = -1 };
	h.type = imp_strdup(
		k->m, is(c, "TCP_CHECK")  ? "tcp"
		      : is(c, "HTTP_GET") ? "http"
					  : "https");
	unsigned u;
	for (size_t i = 0; i < c->n_kids; i++) {
		const struct imp_stmt *s = &c->kids[i];
		if (is(s, "connect_timeout")) {
			want_secs(k, s, &h.timeout_ms);
		} else if (is(s, "connect_port") && want_uint(k, s, 1, 65535, &u)) {
			h.port = u;
		} else if ((is(s, "retry") || is(s, "nb_get_retry")) && want_uint(k, s, 0, 999, &u)) {
			h.fall = u + 1; /* the failed check plus its retries */
		} else if (is(s, "delay_before_retry") || is(s, "connect_ip")) {
			unsupported(k, s, "checker setting with no buoy equivalent");
		} else if (is(s, "url") && h.path) {
			unsupported(k, s, "buoy checks one URL; the first is kept");
		} else if (is(s, "url") && strcmp(h.type, "tcp") != 0) {
			for (size_t j = 0; j < s->n_kids; j++) {
				const struct imp_stmt *t = &s->kids[j];
				if (is(t, "path") && arg(t, 1))
					h.path = imp_strdup(k->m, t->argv[1]);
				else if (is(t, "status_code") && arg(t, 1))
					h.expect = imp_strdup(k->m, t->argv[1]);
				else if (t->argc)
					unsupported(k, t, "url check setting with no buoy equivalent");
			}
		} else if (s->argc) {
			unsupported(k, s, "checker setting with no buoy equivalent");
		}
	}
	if (!h.path && strcmp(h.type, "tcp") != 0)
		h.path = imp_strdup(k->m, "/");
	h.interval_ms = b->health.interval_ms;
	if (h.fall == 0)
		h.fall = 2; /* keepalived's default retry 1 */
	h.rise = 1;         /* keepalived puts a server back on its first good check */
	if (!b->health.set || !b->health.type) {
		b->health = h;
		return;
	}
	if (strcmp(b->health.type, h.type) != 0)
		imp_warn(k->m, c->file, c->line,
			 "%s differs from the first server's check; buoy checks every server of a "
			 "backend alike (the first one's kept)",
			 c->argv[0]);
}

static void real_server(struct kctx *k, struct imp_backend *b, const struct imp_stmt *rs)
{
	if (rs->argc < 3) {
		bad_value(k, rs);
		return;
	}
	struct imp_server *sv = imp_push(k->m, &b->servers, &b->n_servers, sizeof(*sv));
	sv->address = imp_hostport(k->m, rs->argv[1], rs->argv[2]);
	bool checked = false;
	unsigned u;
	for (size_t i = 0; i < rs->n_kids; i++) {
		const struct imp_stmt *s = &rs->kids[i];
		if (is(s, "weight") && want_uint(k, s, 0, 65535, &u)) {
			if (u == 0 || u > 256)
				imp_warn(k->m, s->file, s->line,
					 "weight %u outside buoy's 1..256; %s used", u,
					 u ? "256" : "backup");
			sv->weight = u > 256 ? 256 : u ? u : 0;
			sv->backup = u == 0;
		} else if (is(s, "TCP_CHECK") || is(s, "HTTP_GET") || is(s, "SSL_GET")) {
			lvs_checker(k, b, s);
			checked = true;
		} else if (s->argc) {
			unsupported(k, s, "real_server setting with no buoy equivalent");
		}
	}
	if (!checked && b->health.type)
		imp_warn(k->m, rs->file, rs->line,
			 "real_server without a checker: buoy checks it like the others");
}

static void virtual_server(struct kctx *k, const struct imp_stmt *vs)
{
	struct imp_model *m = k->m;
	if (vs->argc != 3 || strcmp(vs->argv[1], "fwmark") == 0 || strcmp(vs->argv[1], "group") == 0) {
		unsupported(k, vs,
			    "only `virtual_server IP PORT` converts (fwmark and groups "
			    "have no buoy equivalent)");
		return;
	}
	char *name = imp_name(m, imp_printf(m, "vs-%s-%s", vs->argv[1], vs->argv[2]));
	struct imp_backend *b = imp_backend_add(m, name);
	b->health.set = true;
	b->health.interval_ms = 60000; /* keepalived's delay_loop default */
	struct imp_listener *l = imp_push(m, &m->listeners, &m->n_listeners, sizeof(*l));
	l->name = name;
	l->backend = name;
	l->bind = imp_hostport(m, vs->argv[1], vs->argv[2]);
	imp_note(m, &l->notes,
		 "%s:%d: virtual_server: buoy proxies the TCP connection where LVS forwarded "
		 "packets; the servers see buoy's address, not the client's",
		 vs->file, vs->line);
	for (size_t i = 0; i < vs->n_kids; i++) {
		const struct imp_stmt *s = &vs->kids[i];
		if (is(s, "delay_loop")) {
			want_secs(k, s, &b->health.interval_ms);
		} else if ((is(s, "lb_algo") || is(s, "lvs_sched")) && arg(s, 1)) {
			const char *bal = lvs_balance(s->argv[1]);
			if (!bal)
				unsupported(k, s, "scheduler with no buoy equivalent; roundrobin used");
			b->balance = bal ? imp_strdup(m, bal) : NULL;
		} else if ((is(s, "lb_kind") || is(s, "lvs_method")) && arg(s, 1)) {
			if (strcmp(s->argv[1], "NAT") != 0)
				imp_warn(m, s->file, s->line,
					 "LVS %s forwarding has no buoy equivalent: buoy proxies "
					 "(servers answer buoy, not the client)",
					 s->argv[1]);
		} else if (is(s, "protocol") && arg(s, 1)) {
			if (strcmp(s->argv[1], "TCP") != 0)
				unsupported(k, s, "buoy balances TCP only");
		} else if (is(s, "real_server")) {
			real_server(k, b, s);
		} else if (is(s, "sorry_server") && s->argc >= 3) {
			/* used when every real server is down: a backup server in buoy */
			struct imp_server *sv = imp_push(m, &b->servers, &b->n_servers, sizeof(*sv));
			sv->address = imp_hostport(m, s->argv[1], s->argv[2]);
			sv->backup = true;
			imp_note(m, &sv->notes, "sorry_server");
		} else if (is(s, "persistence_timeout")) {
			unsupported(k, s,
				    "no timed persistence in buoy; `balance: source` keeps each "
				    "client on one server for as long as it is up");
		} else if (s->argc) {
			unsupported(k, s, "virtual_server setting with no buoy equivalent");
		}
	}
	/* health.interval came from delay_loop; a checker may have been read before it */
	for (size_t i = 0; i < vs->n_kids; i++)
		if (is(&vs->kids[i], "delay_loop"))
			want_secs(k, &vs->kids[i], &b->health.interval_ms);
	if (!b->health.type)
		b->health.type = imp_strdup(m, "none");
}

int imp_keepalived(struct imp_model *m, const char *file, const char *text, size_t len)
{
	struct imp_stmt root;
	imp_tree_parse(m, IMP_SYNTAX_KEEPALIVED, file, text, len, &root);
	struct kctx k = { .m = m, .root = &root, .version = 2 };
	for (size_t i = 0; i < root.n_kids; i++)
		if (is(&root.kids[i], "global_defs"))
			global_defs(&k, &root.kids[i]);
	for (size_t i = 0; i < root.n_kids; i++) {
		const struct imp_stmt *s = &root.kids[i];
		if (is(s, "global_defs") || is(s, "vrrp_script"))
			continue; /* read above / when tracked */
		if (is(s, "vrrp_instance"))
			vrrp_instance(&k, s);
		else if (is(s, "vrrp_sync_group"))
			sync_group(&k, s);
		else if (is(s, "virtual_server"))
			virtual_server(&k, s);
		else if (s->argc)
			unsupported(&k, s, "no buoy equivalent");
	}
	for (size_t i = 0; i < root.n_kids; i++) {
		const struct imp_stmt *s = &root.kids[i];
		bool used = false;
		for (size_t v = 0; is(s, "vrrp_script") && v < m->n_vrrp && !used; v++)
			for (size_t j = 0; j < m->vrrp[v].n_scripts && !used; j++)
				used = arg(s, 1) && strcmp(m->vrrp[v].scripts[j].name, s->argv[1]) == 0;
		if (is(s, "vrrp_script") && !used)
			imp_warn(m, s->file, s->line, "vrrp_script %s is tracked by no instance",
				 arg(s, 1) ? s->argv[1] : "");
	}
	return 0;
}
