/* The BGP engine: announcements gated by the trackers, addresses on lo, lifecycle (bgp.h). */
#include "bgp/bgp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bgp/birdconf.h"
#include "core/log.h"
#include "netlink/link.h"

/* ---- router id: the node's primary IPv4 ---- */

/* The source address the kernel would use towards the first IPv4 peer (a UDP connect sends
 * nothing), else the first IPv4 address of an up, non-loopback interface. */
static int find_router_id(const struct cfg_bgp *c, struct in_addr *out)
{
	for (size_t i = 0; i < c->n_peers; i++) {
		if (c->peers[i].addr.family != AF_INET)
			continue;
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_storage sa;
		socklen_t salen = ip_addr_to_sockaddr(&c->peers[i].addr, 179, &sa);
		struct sockaddr_in me;
		socklen_t len = sizeof(me);
		int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, salen) == 0 &&
			 getsockname(fd, (struct sockaddr *)&me, &len) == 0 && me.sin_addr.s_addr;
		if (fd >= 0)
			close(fd);
		if (ok) {
			*out = me.sin_addr;
			return 0;
		}
	}
	struct ifaddrs *ifa;
	if (getifaddrs(&ifa) < 0)
		return -1;
	int rc = -1;
	for (struct ifaddrs *p = ifa; p && rc < 0; p = p->ifa_next) {
		if (!p->ifa_addr || p->ifa_addr->sa_family != AF_INET ||
		    (p->ifa_flags & IFF_LOOPBACK) || !(p->ifa_flags & IFF_UP))
			continue;
		*out = ((struct sockaddr_in *)p->ifa_addr)->sin_addr;
		rc = 0;
	}
	freeifaddrs(ifa);
	return rc;
}

/* ---- announcements ---- */

static void describe_unfit(struct bgp_ann *a)
{
	size_t off = 0;
	a->why[0] = 0;
	size_t n = a->track ? track_set_count(a->track) : 0;
	for (size_t i = 0; i < n; i++) {
		const struct tracker *t = track_set_get(a->track, i);
		if (t->weight != 0 || t->rf.state == TRACK_UP)
			continue;
		int w = snprintf(a->why + off, sizeof(a->why) - off, "%s%s", off ? "," : "", t->name);
		if (w < 0 || (size_t)w >= sizeof(a->why) - off)
			break;
		off += (size_t)w;
	}
}

static void gate_one(struct bgp *b, struct bgp_ann *a, uint64_t now)
{
	struct track_result r = a->track ? track_set_result(a->track) : (struct track_result){ 0 };
	bool fit = !r.fault;
	bool degraded = r.unfit && !r.fault; /* not strict: announced, but a worse path */
	if (degraded != a->degraded) {
		if (degraded)
			describe_unfit(a);
		log_info("bgp announcement changed", "prefix=%s degraded=%s%s%s",
			 a->cfg->prefix.text, degraded ? "true" : "false",
			 degraded && *a->why ? " down=" : "", degraded ? a->why : "");
		a->degraded = degraded;
	}
	struct gate_verdict v = gate_decide(&a->gate, fit, b->stopping, b->b->hold_down_ms, now);
	a->reason = v.reason;
	if (v.reason == GATE_UNFIT)
		describe_unfit(a);
	if (v.recheck_at_ms && (!timer_armed(&b->recheck) || b->recheck.when_ms > v.recheck_at_ms))
		timer_arm(b->loop, &b->recheck, v.recheck_at_ms);
	if (v.changed)
		log_info("bgp announcement changed", "prefix=%s want=%s reason=%s%s%s",
			 a->cfg->prefix.text, a->gate.announced ? "announce" : "withdraw",
			 gate_reason_name(v.reason), *a->why && v.reason == GATE_UNFIT ? " down=" : "",
			 v.reason == GATE_UNFIT ? a->why : "");
}

/* Decides every gate; when the announced set changed, writes bird.conf and asks BIRD. */
static void regate(struct bgp *b)
{
	uint64_t now = loop_now(b->loop);
	bool changed = false, withdrew = false;
	for (size_t i = 0; i < b->n_ann; i++) {
		struct bgp_ann *a = &b->ann[i];
		gate_one(b, a, now);
		if (a->gate.announced != b->file_set[i]) {
			changed = true;
			withdrew |= !a->gate.announced && b->bird_set[i];
		}
		changed |= a->gate.announced && a->degraded != b->file_degraded[i];
	}
	if (!changed)
		return;
	if (bird_write_conf(b) < 0) {
		if (withdrew)
			bird_kill(b, "cannot write the withdrawal"); /* its sessions take the route */
		return;
	}
	if (withdrew && !b->withdraw_pending_since)
		b->withdraw_pending_since = now;
	if (child_running(&b->child))
		timer_arm_in(b->loop, &b->poll, 0);
}

void bgp_announce_confirmed(struct bgp *b)
{
	for (size_t i = 0; i < b->n_ann; i++) {
		struct bgp_ann *a = &b->ann[i];
		bool now = b->bird_set[i] && b->bird_ready;
		if (now == a->confirmed)
			continue;
		log_info("bgp announced", "prefix=%s announced=%s", a->cfg->prefix.text,
			 now ? "true" : "false");
		a->confirmed = now;
	}
}

static void on_track_change(void *arg, struct track_result r)
{
	(void)r;
	struct bgp_ann *a = arg;
	regate(a->bgp);
}

static void recheck_timer(struct loop *l, struct timer *t)
{
	(void)l;
	regate(t->arg);
}

/* ---- setup and teardown ---- */

static void lo_add(struct bgp *b, struct bgp_ann *a)
{
	struct ip_addr host = a->addr;
	host.prefix = a->addr.family == AF_INET ? 32 : 128;
	int rc = b->lo_ifindex > 0 ? vip_add(b->lo_ifindex, &host, NULL) : -ENODEV;
	if (rc < 0)
		log_error("bgp vip on lo failed", "prefix=%s err=\"%s\"", a->cfg->prefix.text,
			  strerror(-rc));
	a->on_lo = rc == 0;
}

static void lo_del(struct bgp *b, struct bgp_ann *a)
{
	if (a->on_lo && b->lo_ifindex > 0)
		vip_del(b->lo_ifindex, &a->addr);
	a->on_lo = false;
}

static void free_items(struct bgp *b)
{
	for (size_t i = 0; i < b->n_ann; i++)
		track_set_free(b->ann[i].track);
	free(b->ann);
	free(b->peers);
	free(b->file_set);
	free(b->asked_set);
	free(b->bird_set);
	free(b->file_degraded);
	b->file_degraded = NULL;
	b->ann = NULL;
	b->peers = NULL;
	b->file_set = b->asked_set = b->bird_set = NULL;
	b->n_ann = b->n_peers = 0;
}

static int alloc_items(struct bgp *b, const struct cfg_bgp *c)
{
	size_t na = c->n_announce ? c->n_announce : 1;
	b->ann = calloc(na, sizeof(*b->ann));
	b->peers = calloc(c->n_peers ? c->n_peers : 1, sizeof(*b->peers));
	b->file_set = calloc(na, sizeof(bool));
	b->asked_set = calloc(na, sizeof(bool));
	b->bird_set = calloc(na, sizeof(bool));
	b->file_degraded = calloc(na, sizeof(bool));
	if (!b->ann || !b->peers || !b->file_set || !b->asked_set || !b->bird_set || !b->file_degraded)
		return -1;
	b->n_ann = c->n_announce;
	b->n_peers = c->n_peers;
	return 0;
}

static void init_peer(struct bgp_peer *p, const struct cfg_bgp_peer *c, const struct bgp_peer *old)
{
	p->cfg = c;
	birdconf_peer_proto(c, p->proto, sizeof(p->proto));
	if (old) { /* a reload keeps what BIRD last said; the next poll corrects it */
		snprintf(p->state, sizeof(p->state), "%s", old->state);
		p->up = old->up;
		p->since_unix = old->since_unix;
		snprintf(p->bfd, sizeof(p->bfd), "%s", old->bfd);
	} else {
		snprintf(p->state, sizeof(p->state), "down");
		p->since_unix = -1;
	}
	if (!c->bfd)
		snprintf(p->bfd, sizeof(p->bfd), "off");
}

static void init_ann(
	struct bgp *b, struct bgp_ann *a, const struct cfg_bgp_announce *c, const struct bgp_ann *old)
{
	a->cfg = c;
	a->bgp = b;
	a->addr = c->prefix.addr;
	if (old) {
		a->gate = old->gate;
		a->on_lo = old->on_lo;
		a->confirmed = old->confirmed;
	}
	struct track_set_params tp = {
		.owner_kind = "announce",
		.owner = c->prefix.text,
		.base_priority = 100,
		.backends = c->track_backends,
		.n_backends = c->n_track_backends,
		.strict = c->track_strict,
		.script_user = b->cfg->script_user,
		.backend_ok = b->pool ? track_pool_backend_ok : NULL,
		.backend_arg = b->pool,
		.on_change = on_track_change,
		.arg = a,
	};
	a->track = c->n_track_backends ? track_set_new(b->loop, &tp) : NULL;
	if (!a->on_lo)
		lo_add(b, a);
}

static const struct bgp_ann *find_old_ann(
	const struct bgp_ann *v, size_t n, const struct cfg_bgp_announce *c)
{
	for (size_t i = 0; i < n; i++)
		if (ip_addr_equal(&v[i].addr, &c->prefix.addr))
			return &v[i];
	return NULL;
}

static const struct bgp_peer *find_old_peer(
	const struct bgp_peer *v, size_t n, const struct cfg_bgp_peer *c)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].cfg->name, c->name) == 0)
			return &v[i];
	return NULL;
}

/* Builds peers and announcements for cfg, carrying state over from the old arrays. */
static int build_items(struct bgp *b, const struct cfg_bgp *c, const struct bgp_ann *oa,
		       size_t n_oa, const struct bgp_peer *op, size_t n_op)
{
	if (alloc_items(b, c) < 0)
		return -1;
	for (size_t i = 0; i < c->n_peers; i++)
		init_peer(&b->peers[i], &c->peers[i], find_old_peer(op, n_op, &c->peers[i]));
	for (size_t i = 0; i < c->n_announce; i++)
		init_ann(b, &b->ann[i], &c->announce[i], find_old_ann(oa, n_oa, &c->announce[i]));
	return 0;
}

static int set_paths(struct bgp *b, const struct config *cfg)
{
	const char *dir = cfg->bgp->run_dir; /* config always sets it */
	mkdir("/run/buoy", 0755);            /* the default's parent */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_error("bgp run_dir failed", "dir=%s err=\"%s\"", dir, strerror(errno));
		return -1;
	}
	int w1 = snprintf(b->conf_path, sizeof(b->conf_path), "%s/bird.conf", dir);
	int w2 = snprintf(b->sock_path, sizeof(b->sock_path), "%s/bird.ctl", dir);
	if (w1 < 0 || w2 < 0 || (size_t)w1 >= sizeof(b->conf_path) || w2 >= 100) {
		log_error("bgp run_dir failed", "dir=%s err=\"path too long\"", dir);
		return -1;
	}
	return 0;
}

struct bgp *bgp_start(struct loop *l, const struct config *cfg, struct pool *pool)
{
	struct bgp *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	*b = (struct bgp){ .loop = l, .cfg = cfg, .b = cfg->bgp, .pool = pool, .ctl.fd = -1 };
	b->child.io.fd = -1;
	timer_init(&b->recheck, recheck_timer, b);
	timer_init(&b->restart, bird_restart_timer, b);
	timer_init(&b->poll, bird_poll, b);
	b->router_id = cfg->bgp->router_id;
	if (!b->router_id.s_addr && find_router_id(cfg->bgp, &b->router_id) < 0) {
		log_error("bgp start failed",
			  "reason=\"no IPv4 address for the router id: set bgp.router_id\"");
		free(b);
		return NULL;
	}
	b->lo_ifindex = link_ifindex("lo");
	if (set_paths(b, cfg) < 0 || build_items(b, cfg->bgp, NULL, 0, NULL, 0) < 0) {
		free_items(b);
		free(b);
		return NULL;
	}
	char rid[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &b->router_id, rid, sizeof(rid));
	log_info("bgp started", "asn=%u router_id=%s peers=%zu announce=%zu", cfg->bgp->asn, rid,
		 b->n_peers, b->n_ann);
	for (size_t i = 0; i < b->n_ann; i++)
		gate_one(b, &b->ann[i], loop_now(l));
	if (bird_write_conf(b) < 0) {
		bgp_free(b);
		return NULL;
	}
	bird_start(b);
	b->held = config_hold(cfg);
	return b;
}

int bgp_reload(struct bgp *b, const struct config *nc)
{
	char old_bird[PATH_MAX], old_conf[PATH_MAX];
	snprintf(old_bird, sizeof(old_bird), "%s", b->b->bird ? b->b->bird : "bird");
	snprintf(old_conf, sizeof(old_conf), "%s", b->conf_path);
	struct bgp old = *b;
	for (size_t i = 0; i < old.n_ann; i++) {
		track_set_free(old.ann[i].track);
		old.ann[i].track = NULL;
	}
	b->cfg = nc;
	b->b = nc->bgp;
	b->ann = NULL;
	b->peers = NULL;
	if (set_paths(b, nc) < 0 ||
	    build_items(b, nc->bgp, old.ann, old.n_ann, old.peers, old.n_peers) < 0) {
		log_error("bgp reload failed", "reason=\"out of memory or run_dir\"");
		free_items(b);
		*b = old; /* keep running the old set, without trackers: withdraw nothing new */
		return -1;
	}
	/* addresses no longer announced leave lo */
	for (size_t i = 0; i < old.n_ann; i++) {
		bool kept = false;
		for (size_t j = 0; j < b->n_ann && !kept; j++)
			kept = ip_addr_equal(&b->ann[j].addr, &old.ann[i].addr);
		if (!kept)
			lo_del(b, &old.ann[i]);
	}
	/* carry the sets BIRD has over to the new indexes */
	for (size_t j = 0; j < b->n_ann; j++) {
		const struct bgp_ann *o = find_old_ann(old.ann, old.n_ann, b->ann[j].cfg);
		size_t k = o ? (size_t)(o - old.ann) : 0;
		b->bird_set[j] = o ? old.bird_set[k] : false;
		b->asked_set[j] = o ? old.asked_set[k] : false;
		b->file_set[j] = !b->ann[j].gate.announced; /* force a rewrite below */
	}
	bool withdrew_removed = false;
	for (size_t i = 0; i < old.n_ann; i++)
		withdrew_removed |= old.bird_set[i] && !find_old_ann(b->ann, b->n_ann, old.ann[i].cfg);
	free(old.ann);
	free(old.peers);
	free(old.file_set);
	free(old.asked_set);
	free(old.bird_set);
	free(old.file_degraded);
	bool restart = strcmp(old_bird, b->b->bird ? b->b->bird : "bird") != 0 ||
		       strcmp(old_conf, b->conf_path) != 0;
	regate(b);
	if (b->conf_gen == old.conf_gen) /* nothing flipped: still rewrite for peer changes */
		bird_write_conf(b);
	if (withdrew_removed && !b->withdraw_pending_since)
		b->withdraw_pending_since = loop_now(b->loop);
	if (restart) {
		log_info("bgp bird restart", "reason=\"binary or run_dir changed\"");
		bird_stop(b);
		bird_start(b);
	} else {
		timer_arm_in(b->loop, &b->poll, 0);
	}
	config_release(b->held); /* nothing points into the old config any more */
	b->held = config_hold(nc);
	return 0;
}

void bgp_shutdown(struct bgp *b)
{
	if (!b || b->stopping)
		return;
	b->stopping = true;
	b->stop_due_ms = loop_now(b->loop) + b->b->shutdown_delay_ms;
	log_info("bgp withdrawing", "delay_ms=%llu", (unsigned long long)b->b->shutdown_delay_ms);
	regate(b);
}

uint64_t bgp_stop_due(const struct bgp *b) { return b ? b->stop_due_ms : 0; }

void bgp_free(struct bgp *b)
{
	if (!b)
		return;
	bird_stop(b);
	timer_cancel(b->loop, &b->recheck);
	for (size_t i = 0; i < b->n_ann; i++)
		lo_del(b, &b->ann[i]);
	unlink(b->sock_path);
	free_items(b);
	config_release(b->held);
	free(b);
}

/* ---- status ---- */

void bgp_get_status(const struct bgp *b, struct bgp_status *out)
{
	*out = (struct bgp_status){
		.bird_running = child_running(&b->child),
		.bird_pid = (int)b->child.pid,
		.bird_error = b->bird_error,
		.bird_starts_total = b->bird_starts_total,
		.configures_total = b->configures_total,
		.configure_failures_total = b->configure_failures_total,
		.ctl_errors_total = b->ctl_errors_total,
		.router_id = b->router_id.s_addr,
		.n_peers = b->n_peers,
		.n_announce = b->n_ann,
	};
}

void bgp_get_peer(const struct bgp *b, size_t i, struct bgp_peer_status *out)
{
	const struct bgp_peer *p = &b->peers[i];
	*out = (struct bgp_peer_status){
		.name = p->cfg->name,
		.address = p->cfg->text,
		.asn = p->cfg->asn,
		.up = p->up,
		.state = p->state,
		.since_unix = p->since_unix,
		.bfd = p->bfd,
	};
}

void bgp_get_announce(const struct bgp *b, size_t i, struct bgp_announce_status *out)
{
	struct bgp_ann *a = (struct bgp_ann *)&b->ann[i]; /* reason_buf is a status cache */
	const char *reason = gate_reason_name(a->reason);
	if (a->reason == GATE_UNFIT && *a->why) {
		snprintf(a->reason_buf, sizeof(a->reason_buf), "no eligible server: %s", a->why);
		reason = a->reason_buf;
	} else if (a->gate.announced && !a->confirmed) {
		reason = child_running(&b->child) ? "waiting for bird" : "bird not running";
	} else if (a->gate.announced && a->degraded) {
		snprintf(a->reason_buf, sizeof(a->reason_buf), "degraded, no eligible server: %s",
			 a->why);
		reason = a->reason_buf;
	}
	*out = (struct bgp_announce_status){
		.prefix = a->cfg->prefix.text,
		.announced = a->confirmed && a->gate.announced,
		.wanted = a->gate.announced,
		.degraded = a->gate.announced && a->degraded,
		.reason = reason,
	};
}
