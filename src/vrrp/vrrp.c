#include "vrrp/vrrp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "vrrp/garp.h"
#include "netlink/link.h"
#include "vrrp/notify.h"
#include "track/track.h"
#include "netlink/vip.h"
#include "vrrp/vrrp_io.h"

#define RX_BUF 8192 /* > VRRP_MAX_PKT + a 60-byte IPv4 header: oversize shows as MSG_TRUNC */
#define RX_BURST 64 /* packets per readiness event, so one flood cannot starve the loop */

struct vrrp_inst {
	struct vrrp_set *set;
	const struct cfg_vrrp *cfg;
	const struct config *owner; /* where cfg lives: held (a kept instance keeps its own) */
	int ifindex;
	int family;
	struct io io;       /* the raw socket */
	struct timer timer; /* the FSM's earliest deadline */
	struct vrrp_fsm fsm;
	struct ip_addr primary; /* family 0: not found yet */
	struct ip_addr *vips;   /* with prefixes: in adverts and on the interface */
	size_t n_vips;
	struct ip_addr *peers;
	size_t n_peers;
	struct garp_announcer garp;
	bool garp_ok, garp_active;
	struct track_set *track;
	struct track_result track_res;
	struct notifier *notifier;
	bool link_up;
	bool send_failing; /* log a send error once until a send works again */
	uint64_t adverts_rx, adverts_tx, send_errors, vip_restores;
	uint64_t drops[VRRP_DROP__COUNT];
	bool retired;              /* a reload stopped it: ignore late events */
	enum vrrp_state reported;  /* the state the observer last heard of */
	struct loop_deferred reap; /* freed after the batch that retired it */
};

struct vrrp_set {
	struct loop *loop;
	const struct config *cfg; /* held */
	struct pool *pool;
	struct vrrp_inst **inst; /* each allocated on its own: a reload keeps some */
	size_t n;
	struct vip_monitor mon;
	bool mon_open;
	bool stopped;
	vrrp_observer_fn observer;
	void *observer_arg;
};

static uint8_t rx_buf[RX_BUF];

/* ---- addresses ---- */

/* The source of our adverts and our tie-break identity: unicast_source, else the first IPv4
 * address of the interface that is not a VIP; for IPv6 the link-local address in multicast
 * (RFC 5798 5.1.2.2) and the first global one in unicast (peers may be configured with it, as
 * keepalived's unicast_src_ip). Labelled IPv4 addresses show up as "eth0:x". */
static int find_primary_addr(struct vrrp_inst *in)
{
	const struct cfg_vrrp *c = in->cfg;
	if (c->unicast_source.family == in->family) {
		in->primary = c->unicast_source;
		return 0;
	}
	int rc = vrrp_io_primary(
		in->family, c->interface, in->n_peers == 0, in->vips, in->n_vips, &in->primary);
	if (rc < 0)
		memset(&in->primary, 0, sizeof(in->primary));
	return rc;
}

static int find_primary(struct vrrp_inst *in)
{
	int rc = find_primary_addr(in);
	if (rc == 0) {
		in->fsm.cfg.primary = in->primary; /* the tie-break identity follows the source */
		/* as master we are the master: a new IPv6 link-local (interface re-created) shows in
		 * the state log and in status, not the address the transition remembered */
		if (in->fsm.state == VRRP_STATE_MASTER)
			in->fsm.master_addr = in->primary;
	}
	return rc;
}

/* ---- sending ---- */

static void send_failed(struct vrrp_inst *in, const struct ip_addr *dst, int err)
{
	in->send_errors++;
	if (in->send_failing)
		return;
	in->send_failing = true;
	char d[64];
	log_warn("vrrp advert send failed", "instance=%s dst=%s error=\"%s\"", in->cfg->name,
		 ip_addr_format(dst, IP_FMT_ADDR, d, sizeof(d)), strerror(-err));
}

static void send_advert(struct vrrp_inst *in, uint8_t prio)
{
	if (!in->primary.family && find_primary(in) < 0) {
		send_failed(in, &in->primary, -EADDRNOTAVAIL);
		return;
	}
	const struct cfg_vrrp *c = in->cfg;
	struct ip_addr mcast;
	vrrp_io_group(in->family, &mcast);
	const struct ip_addr *dsts = in->n_peers ? in->peers : &mcast;
	size_t n = in->n_peers ? in->n_peers : 1;
	uint8_t pkt[VRRP_MAX_PKT];

	for (size_t i = 0; i < n; i++) {
		/* the pseudo-header checksum differs per destination */
		struct vrrp_encode e = {
			.version = c->version,
			.family = (uint8_t)in->family,
			.vrid = c->router_id,
			.priority = prio,
			.interval_ms = (uint32_t)c->advert_interval_ms,
			.addrs = in->vips,
			.n_addrs = in->n_vips,
			.auth_pass = c->auth_pass,
			.src = in->primary,
			.dst = dsts[i]
		};
		int len = vrrp_encode(&e, pkt, sizeof(pkt));
		int rc = len < 0 ? -EINVAL
				 : vrrp_io_send(in->io.fd, in->family, in->ifindex, &in->primary,
						&dsts[i], pkt, (size_t)len);
		if (rc < 0) {
			if (rc == -EADDRNOTAVAIL || rc == -EINVAL)
				memset(&in->primary, 0, sizeof(in->primary)); /* look again next time */
			send_failed(in, &dsts[i], rc);
			continue;
		}
		in->send_failing = false;
		in->adverts_tx++;
	}
}

/* ---- actions ---- */

static void vips_add(struct vrrp_inst *in)
{
	char buf[80];
	for (size_t i = 0; i < in->n_vips; i++) {
		int rc = vip_add(in->ifindex, &in->vips[i], in->cfg->label);
		if (rc < 0)
			log_error("vip add failed", "instance=%s vip=%s error=\"%s\"", in->cfg->name,
				  ip_addr_format(&in->vips[i], IP_FMT_PREFIX, buf, sizeof(buf)),
				  strerror(-rc));
	}
}

static void vips_del(struct vrrp_inst *in)
{
	char buf[80];
	if (in->garp_ok && in->garp_active)
		garp_announcer_stop(&in->garp);
	in->garp_active = false;
	if (in->cfg->priority == 255)
		return; /* the address owner's addresses are its own; never remove them */
	for (size_t i = 0; i < in->n_vips; i++) {
		int rc = vip_del(in->ifindex, &in->vips[i]);
		if (rc < 0)
			log_error("vip del failed", "instance=%s vip=%s error=\"%s\"", in->cfg->name,
				  ip_addr_format(&in->vips[i], IP_FMT_PREFIX, buf, sizeof(buf)),
				  strerror(-rc));
	}
}

static void garp(struct vrrp_inst *in)
{
	if (!in->garp_ok)
		return;
	if (!in->garp_active)
		garp_announcer_master(&in->garp);
	else
		garp_announcer_burst(&in->garp);
	in->garp_active = true;
}

/* keepalived's notify words: STOP for Initialize. */
static const char *notify_word(enum vrrp_state s)
{
	return s == VRRP_STATE_INIT ? "STOP" : vrrp_state_names[s];
}

static void on_state(struct vrrp_inst *in, enum vrrp_state s)
{
	char m[64];
	log_info("vrrp state", "instance=%s state=%s priority=%u master=%s", in->cfg->name,
		 vrrp_state_names[s], in->fsm.priority,
		 ip_addr_format(&in->fsm.master_addr, IP_FMT_ADDR, m, sizeof(m)));
	if (in->notifier)
		notifier_run(in->notifier, in->cfg->name, notify_word(s), in->fsm.priority);
	enum vrrp_state from = in->reported;
	in->reported = s;
	if (in->set->observer && from != s)
		in->set->observer(in->set->observer_arg, in->cfg, from, s);
}

static void run_actions(struct vrrp_inst *in, const struct vrrp_actions *a)
{
	struct loop *l = in->set->loop;
	for (size_t i = 0; i < a->n; i++) {
		const struct vrrp_action *act = &a->v[i];
		switch (act->type) {
		case VRRP_ACT_SEND_ADVERT: send_advert(in, act->priority); break;
		case VRRP_ACT_ADD_VIPS: vips_add(in); break;
		case VRRP_ACT_DEL_VIPS: vips_del(in); break;
		case VRRP_ACT_GARP: garp(in); break;
		case VRRP_ACT_NOTIFY: on_state(in, act->state); break;
		case VRRP_ACT_ARM_ADVER:
		case VRRP_ACT_ARM_MASTER_DOWN: break; /* one loop timer, re-armed below */
		}
	}
	uint64_t d = vrrp_fsm_next_deadline(&in->fsm);
	if (d)
		timer_arm(l, &in->timer, d);
	else
		timer_cancel(l, &in->timer);
}

static void on_timer(struct loop *l, struct timer *t)
{
	struct vrrp_inst *in = t->arg;
	struct vrrp_actions a;
	vrrp_fsm_on_timer(&in->fsm, loop_now(l), &a);
	run_actions(in, &a);
}

static bool can_be_unfit(const struct cfg_vrrp *c)
{
	for (size_t i = 0; i < c->n_track_backends && !c->track_strict; i++)
		if (c->track_backends[i].weight == 0)
			return true;
	return false;
}

/* Trackers and the link together decide priority and Fault. */
static void apply_health(struct vrrp_inst *in)
{
	struct vrrp_actions a;
	uint64_t now = loop_now(in->set->loop);
	uint8_t prio = in->cfg->priority;
	if (in->track)
		prio = vrrp_unfit_priority(
			in->track_res.priority, in->track_res.unfit, can_be_unfit(in->cfg));
	vrrp_fsm_set_priority(&in->fsm, now, prio, &a);
	run_actions(in, &a);
	vrrp_fsm_set_fault(&in->fsm, now, in->track_res.fault || !in->link_up, &a);
	run_actions(in, &a);
}

static void on_track_change(void *arg, struct track_result r)
{
	struct vrrp_inst *in = arg;
	if (in->retired)
		return;
	log_info("vrrp priority", "instance=%s priority=%u fault=%s unfit=%s", in->cfg->name,
		 vrrp_unfit_priority(r.priority, r.unfit, can_be_unfit(in->cfg)),
		 r.fault ? "true" : "false", r.unfit ? "true" : "false");
	in->track_res = r;
	if (!in->set->stopped)
		apply_health(in);
}

/* ---- receiving ---- */

static void count_drop(struct vrrp_inst *in, enum vrrp_drop d, const struct ip_addr *src)
{
	char s[64];
	if (in->drops[d]++ == 0) /* first of each kind at warn, the rest at debug */
		log_warn("vrrp advert dropped", "instance=%s reason=%s src=%s", in->cfg->name,
			 vrrp_drop_name(d), ip_addr_format(src, IP_FMT_ADDR, s, sizeof(s)));
	else
		log_debug("vrrp advert dropped", "instance=%s reason=%s src=%s", in->cfg->name,
			  vrrp_drop_name(d), ip_addr_format(src, IP_FMT_ADDR, s, sizeof(s)));
}

static void handle_packet(struct vrrp_inst *in, struct vrrp_rx *rx)
{
	const struct cfg_vrrp *c = in->cfg;
	rx->version = c->version;
	rx->vrid = c->router_id;
	rx->family = (uint8_t)in->family;
	rx->interval_ms = (uint32_t)c->advert_interval_ms;
	rx->auth_pass = c->auth_pass;
	/* Multicast: TTL/hop limit 255 (RFC). Unicast: any, as keepalived (it sends IPv6 unicast
	 * with the default hop limit and routed peers are legitimate); the source check guards. */
	rx->min_ttl = in->n_peers ? 1 : 255;
	rx->local = in->primary.family ? &in->primary : NULL;
	rx->peers = in->peers;
	rx->n_peers = in->n_peers;
	rx->vips = in->vips;
	rx->n_vips = in->n_vips;

	struct vrrp_advert adv;
	enum vrrp_drop d = vrrp_decode(rx, &adv);
	if (d != VRRP_OK) {
		count_drop(in, d, &rx->src);
		return;
	}
	in->adverts_rx++;
	struct vrrp_fsm_advert fa = {
		.priority = adv.priority, .interval_ms = adv.interval_ms, .src = adv.src
	};
	struct vrrp_actions a;
	vrrp_fsm_on_advert(&in->fsm, loop_now(in->set->loop), &fa, &a);
	run_actions(in, &a);
}

static void on_readable(struct loop *l, struct io *io, uint32_t events)
{
	(void)l;
	(void)events;
	struct vrrp_inst *in = io->arg;
	if (in->retired)
		return;
	for (int i = 0; i < RX_BURST; i++) {
		struct vrrp_rx rx;
		switch (vrrp_io_recv(io->fd, in->family, rx_buf, sizeof(rx_buf), &rx)) {
		case VRRP_IO_NONE: return;
		case VRRP_IO_SKIP: break;
		case VRRP_IO_TRUNCATED: count_drop(in, VRRP_DROP_LENGTH, &rx.src); break;
		case VRRP_IO_PACKET: handle_packet(in, &rx); break;
		}
	}
}

/* ---- netlink events: link state, deleted VIPs ---- */

static void restore_vips(struct vrrp_inst *in)
{
	char buf[80];
	bool any = false;
	for (size_t i = 0; i < in->n_vips; i++) {
		if (vip_present(in->ifindex, &in->vips[i], NULL) != 0)
			continue;
		log_warn("vip missing while master, restoring", "instance=%s vip=%s", in->cfg->name,
			 ip_addr_format(&in->vips[i], IP_FMT_PREFIX, buf, sizeof(buf)));
		if (vip_add(in->ifindex, &in->vips[i], in->cfg->label) == 0) {
			in->vip_restores++;
			any = true;
		}
	}
	if (any)
		garp(in);
}

static void set_link(struct vrrp_inst *in, bool up)
{
	if (up == in->link_up)
		return;
	in->link_up = up;
	log_info("vrrp link", "instance=%s interface=%s up=%s", in->cfg->name, in->cfg->interface,
		 up ? "true" : "false");
	if (!up)
		memset(&in->primary, 0, sizeof(in->primary)); /* IPv6 link-local may change */
	apply_health(in);
}

/* GARP / unsolicited NA on in->ifindex; if that fails the instance runs on without (logged). */
static void start_garp(struct vrrp_inst *in)
{
	const struct cfg_vrrp *c = in->cfg;
	int rc = garp_announcer_init(&in->garp, in->set->loop, in->ifindex, &c->garp, in->vips, in->n_vips);
	in->garp_ok = rc == 0;
	if (rc < 0)
		log_warn("garp disabled", "instance=%s error=\"%s\"", c->name, strerror(-rc));
}

/* A new announcer (another ifindex, other settings); not announcing until told. */
static void restart_garp(struct vrrp_inst *in)
{
	if (in->garp_ok)
		garp_announcer_free(&in->garp);
	in->garp_active = false;
	start_garp(in);
}

/* The interface was deleted and created again under the same name, with a new ifindex: the raw
 * socket (bound and joined to the group on the old one) and the GARP socket are useless. Open
 * them on the new one; the link events that follow decide the state as for any link. */
static void rebind(struct vrrp_inst *in, int ifindex)
{
	struct vrrp_set *s = in->set;
	const struct cfg_vrrp *c = in->cfg;
	struct io old = in->io;
	int fd = vrrp_io_open(in->family, c->interface, ifindex, in->n_peers > 0);
	int err = fd < 0 ? -fd : 0;
	if (fd >= 0) {
		in->io.fd = fd;
		if (loop_add(s->loop, &in->io, EPOLLIN) < 0) {
			err = errno;
			close(fd);
			in->io = old;
		}
	}
	if (err) { /* e.g. no IPv6 on it yet: the next link event tries again */
		log_warn("vrrp rebind failed", "instance=%s interface=%s ifindex=%d error=\"%s\"",
			 c->name, c->interface, ifindex, strerror(err));
		return;
	}
	loop_del(s->loop, &old);
	close(old.fd);
	log_warn("vrrp interface recreated", "instance=%s interface=%s ifindex=%d old_ifindex=%d",
		 c->name, c->interface, ifindex, in->ifindex);
	in->ifindex = ifindex;
	restart_garp(in);
	memset(&in->primary, 0, sizeof(in->primary)); /* found again before the next send */
}

static void inst_on_event(struct vrrp_inst *in, const struct vip_event *ev)
{
	if (ev->kind == VIP_EV_RESYNC) {
		int idx = link_ifindex(in->cfg->interface); /* events were lost: maybe a re-creation */
		if (idx > 0 && idx != in->ifindex)
			rebind(in, idx);
		if (in->track)
			track_set_on_link(in->track, in->ifindex, link_is_up(in->ifindex) == 1);
		set_link(in, link_is_up(in->ifindex) == 1);
		if (in->fsm.state == VRRP_STATE_MASTER)
			restore_vips(in);
		return;
	}
	if (ev->kind == VIP_EV_LINK) {
		if (in->track)
			track_set_on_link(in->track, ev->ifindex, ev->link_up);
		if (ev->ifindex != in->ifindex && !ev->link_gone &&
		    strcmp(ev->ifname, in->cfg->interface) == 0)
			rebind(in, ev->ifindex);
		if (ev->ifindex == in->ifindex)
			set_link(in, ev->link_up && !ev->link_gone);
		return;
	}
	if (ev->kind == VIP_EV_ADDR_DEL && ev->ifindex == in->ifindex &&
	    in->fsm.state == VRRP_STATE_MASTER) {
		for (size_t i = 0; i < in->n_vips; i++)
			if (ip_addr_equal(&ev->addr, &in->vips[i])) {
				restore_vips(in);
				break;
			}
	}
}

static void on_netlink(void *arg, const struct vip_event *ev)
{
	struct vrrp_set *s = arg;
	if (s->stopped)
		return;
	for (size_t i = 0; i < s->n; i++)
		inst_on_event(s->inst[i], ev);
}

/* ---- lifecycle ---- */

static int load_addresses(struct vrrp_inst *in)
{
	const struct cfg_vrrp *c = in->cfg;
	in->n_vips = c->n_vips;
	in->vips = calloc(c->n_vips ? c->n_vips : 1, sizeof(*in->vips));
	in->n_peers = c->n_unicast_peers;
	in->peers = calloc(in->n_peers ? in->n_peers : 1, sizeof(*in->peers));
	if (!in->vips || !in->peers)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_vips; i++)
		in->vips[i] = c->vips[i].addr;
	for (size_t i = 0; i < in->n_peers; i++)
		in->peers[i] = c->unicast_peers[i];
	in->family = c->family ? c->family : c->n_vips ? in->vips[0].family : AF_INET;
	return 0;
}

static void start_track(struct vrrp_inst *in)
{
	struct vrrp_set *s = in->set;
	const struct cfg_vrrp *c = in->cfg;
	struct track_set_params tp = track_params_vrrp(c, s->cfg->script_user);
	tp.backend_ok = s->pool ? track_pool_backend_ok : NULL;
	tp.backend_arg = s->pool;
	tp.on_change = on_track_change;
	tp.arg = in;
	in->track = track_set_new(s->loop, &tp);
	if (in->track)
		in->track_res = track_set_result(in->track);
	else
		in->track_res = (struct track_result){ .priority = c->priority };
}

static void start_helpers(struct vrrp_inst *in)
{
	start_garp(in);
	in->notifier = notifier_new(in->set->loop, in->cfg->notify, in->set->cfg->script_user);
	start_track(in);
}

/* A reload that keeps the election identity: new notify, garp, trackers, script_user,
 * priority and preempt settings, in place; the state (and the VIP) stays. */
static void inst_update(struct vrrp_inst *in, const struct cfg_vrrp *c)
{
	struct vrrp_set *s = in->set;
	in->cfg = c;
	config_release(in->owner);
	in->owner = config_hold(s->cfg); /* vrrp_reload set it to c's config */
	if (in->notifier)
		notifier_free(in->notifier);
	in->notifier = notifier_new(s->loop, c->notify, s->cfg->script_user);
	bool active = in->garp_active;
	restart_garp(in);
	if (active && in->garp_ok) { /* master: the refresh schedule goes on with the new one */
		garp_announcer_master(&in->garp);
		in->garp_active = true;
	}
	struct track_set *old = in->track;
	in->track = NULL;
	start_track(in);
	track_set_inherit(in->track, old); /* an unchanged script is not back to INIT */
	if (in->track)
		in->track_res = track_set_result(in->track);
	track_set_free(old);
	in->fsm.cfg.priority = c->priority;
	in->fsm.cfg.preempt = c->preempt;
	in->fsm.cfg.preempt_delay_ms = c->preempt_delay_ms;
	log_info("vrrp updated", "instance=%s priority=%u preempt=%s", c->name, c->priority,
		 c->preempt ? "true" : "false");
	if (!s->stopped)
		apply_health(in);
}

static int inst_start(struct vrrp_set *s, struct vrrp_inst *in, const struct cfg_vrrp *c)
{
	char p[64];
	in->set = s;
	in->cfg = c;
	in->owner = config_hold(s->cfg); /* c is s->cfg's (vrrp_start, vrrp_reload) */
	in->io.fd = -1;
	int rc = load_addresses(in);
	if (rc < 0)
		return rc;
	in->ifindex = link_ifindex(c->interface);
	if (in->ifindex < 0)
		return in->ifindex;
	if (c->priority != 255) {
		int n = vip_remove_stale(in->ifindex, in->vips, in->n_vips);
		if (n > 0)
			log_warn("removed stale vips", "instance=%s count=%d", c->name, n);
	}
	if (find_primary(in) < 0)
		log_warn("no primary address yet", "instance=%s interface=%s", c->name, c->interface);
	rc = vrrp_io_open(in->family, c->interface, in->ifindex, in->n_peers > 0);
	if (rc < 0)
		return rc;
	in->io.fd = rc;
	in->io.cb = on_readable;
	in->io.arg = in;
	if (loop_add(s->loop, &in->io, EPOLLIN) < 0)
		return -errno;
	timer_init(&in->timer, on_timer, in);
	start_helpers(in);

	struct vrrp_fsm_cfg fc = {
		.version = c->version,
		.priority = c->priority,
		.adver_int_ms = (uint32_t)c->advert_interval_ms,
		.preempt = c->preempt,
		.preempt_delay_ms = c->preempt_delay_ms,
		.primary = in->primary
	};
	vrrp_fsm_init(&in->fsm, &fc);
	in->link_up = link_is_up(in->ifindex) == 1;
	log_info("vrrp instance",
		 "instance=%s interface=%s vrid=%u version=%u priority=%u "
		 "primary=%s mode=%s link_up=%s",
		 c->name, c->interface, c->router_id, c->version, c->priority,
		 ip_addr_format(&in->primary, IP_FMT_ADDR, p, sizeof(p)),
		 in->n_peers ? "unicast" : "multicast", in->link_up ? "true" : "false");
	apply_health(in);
	struct vrrp_actions a;
	vrrp_fsm_startup(&in->fsm, loop_now(s->loop), &a);
	run_actions(in, &a);
	return 0;
}

struct vrrp_set *vrrp_start(struct loop *l, const struct config *c, struct pool *pool)
{
	struct vrrp_set *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = l;
	s->cfg = config_hold(c);
	s->pool = pool;
	if (c->n_vrrp == 0)
		return s;
	s->inst = calloc(c->n_vrrp, sizeof(*s->inst));
	if (!s->inst || vip_monitor_open(&s->mon, l, on_netlink, s) < 0) {
		log_error("vrrp start failed", "reason=\"netlink monitor: %s\"", strerror(errno));
		vrrp_free(s);
		return NULL;
	}
	s->mon_open = true;
	for (size_t i = 0; i < c->n_vrrp; i++) {
		s->n = i + 1;
		s->inst[i] = calloc(1, sizeof(*s->inst[i]));
		int rc = s->inst[i] ? inst_start(s, s->inst[i], &c->vrrp[i]) : -ENOMEM;
		if (rc < 0) {
			log_error("vrrp start failed", "instance=%s interface=%s error=\"%s\"",
				  c->vrrp[i].name, c->vrrp[i].interface, strerror(-rc));
			vrrp_shutdown(s);
			vrrp_free(s);
			return NULL;
		}
	}
	return s;
}

static void inst_shutdown(struct vrrp_set *s, struct vrrp_inst *in)
{
	if (!in || !in->cfg || in->io.fd < 0)
		return;
	struct vrrp_actions a;
	vrrp_fsm_shutdown(&in->fsm, loop_now(s->loop), &a);
	run_actions(in, &a);
	timer_cancel(s->loop, &in->timer);
}

static void inst_free(struct loop *l, struct vrrp_inst *in)
{
	if (!in)
		return;
	if (in->track)
		track_set_free(in->track);
	if (in->notifier)
		notifier_free(in->notifier);
	if (in->garp_ok)
		garp_announcer_free(&in->garp);
	if (in->io.fd >= 0) {
		loop_del(l, &in->io);
		close(in->io.fd);
	}
	timer_cancel(l, &in->timer);
	free(in->vips);
	free(in->peers);
	config_release(in->owner);
	free(in);
}

static void inst_reap(struct loop *l, struct loop_deferred *d)
{
	inst_free(l, container_of(d, struct vrrp_inst, reap));
}

/* The loop may still hold events naming this instance in the batch being run (a reload runs
 * inside a callback): hand over now, free after the batch. */
static void inst_retire(struct vrrp_set *s, struct vrrp_inst *in)
{
	if (!in)
		return;
	inst_shutdown(s, in);
	in->retired = true;
	loop_defer(s->loop, &in->reap, inst_reap);
}

void vrrp_set_observer(struct vrrp_set *s, vrrp_observer_fn fn, void *arg)
{
	if (!s)
		return;
	s->observer = fn;
	s->observer_arg = arg;
}

void vrrp_shutdown(struct vrrp_set *s)
{
	if (!s || s->stopped)
		return;
	s->stopped = true;
	for (size_t i = 0; i < s->n; i++)
		inst_shutdown(s, s->inst[i]);
}

bool vrrp_busy(const struct vrrp_set *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->inst[i] && s->inst[i]->notifier && notifier_running(s->inst[i]->notifier))
			return true;
	return false;
}

void vrrp_free(struct vrrp_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->inst && i < s->n; i++)
		inst_free(s->loop, s->inst[i]);
	if (s->mon_open)
		vip_monitor_close(&s->mon, s->loop);
	free(s->inst);
	config_release(s->cfg);
	free(s);
}

/* Reload: instance i of c continues old instance old_of_new[i] unchanged when keep[i] (state,
 * VIPs, socket untouched: no flap); every other old instance hands over (priority-0 advert,
 * VIPs removed) and is freed; every other new one starts fresh. */
int vrrp_reload(struct vrrp_set *s, const struct config *c, const int *old_of_new, const bool *keep,
		const bool *update)
{
	if (s->stopped)
		return -ECANCELED;
	struct vrrp_inst **nv = calloc(c->n_vrrp ? c->n_vrrp : 1, sizeof(*nv));
	if (!nv ||
	    (c->n_vrrp && !s->mon_open && vip_monitor_open(&s->mon, s->loop, on_netlink, s) < 0)) {
		free(nv);
		return -ENOMEM;
	}
	s->mon_open = s->mon_open || c->n_vrrp;
	for (size_t i = 0; i < c->n_vrrp; i++)
		if (keep[i] && old_of_new[i] >= 0 && (size_t)old_of_new[i] < s->n) {
			nv[i] = s->inst[old_of_new[i]];
			s->inst[old_of_new[i]] = NULL;
		}
	for (size_t i = 0; i < s->n; i++)
		inst_retire(s, s->inst[i]);
	free(s->inst);
	config_release(s->cfg); /* retired instances hold their own until freed */
	s->cfg = config_hold(c);
	for (size_t i = 0; update && i < c->n_vrrp; i++)
		if (nv[i] && update[i])
			inst_update(nv[i], &c->vrrp[i]);
	int failed = 0;
	size_t n = 0;
	for (size_t i = 0; i < c->n_vrrp; i++) {
		struct vrrp_inst *in = nv[i];
		if (!in && (in = calloc(1, sizeof(*in)))) {
			int rc = inst_start(s, in, &c->vrrp[i]);
			if (rc < 0) {
				log_error("vrrp start failed", "instance=%s interface=%s error=\"%s\"",
					  c->vrrp[i].name, c->vrrp[i].interface, strerror(-rc));
				inst_retire(s, in);
				in = NULL;
			}
		}
		failed += !in;
		if (in)
			nv[n++] = in; /* compact: status lists the running ones */
	}
	s->inst = nv;
	s->n = n;
	return failed ? -EINVAL : 0;
}

size_t vrrp_count(const struct vrrp_set *s) { return s ? s->n : 0; }

int vrrp_get_status(const struct vrrp_set *s, size_t i, struct vrrp_status *out)
{
	if (!s || i >= s->n)
		return -1;
	const struct vrrp_inst *in = s->inst[i];
	const struct vrrp_fsm *f = &in->fsm;
	memset(out, 0, sizeof(*out));
	out->name = in->cfg->name;
	out->interface = in->cfg->interface;
	out->vrid = in->cfg->router_id;
	out->version = in->cfg->version;
	out->family = in->family;
	out->unicast = in->n_peers > 0;
	out->state = f->state;
	out->base_priority = in->cfg->priority;
	out->effective_priority = f->priority;
	out->fault = f->fault;
	out->unfit = in->track && in->track_res.unfit;
	out->link_up = in->link_up;
	out->state_since_ms = f->state_since_ms;
	if (f->master_addr.family)
		ip_addr_format(&f->master_addr, IP_FMT_ADDR, out->master, sizeof(out->master));
	out->master_priority = f->master_priority;
	out->adver_int_ms = f->cfg.adver_int_ms;
	out->master_adver_int_ms = f->master_adver_int_ms;
	if (in->primary.family)
		ip_addr_format(&in->primary, IP_FMT_ADDR, out->primary, sizeof(out->primary));
	out->adverts_rx_total = in->adverts_rx;
	out->adverts_tx_total = in->adverts_tx;
	out->send_errors_total = in->send_errors;
	memcpy(out->drops_total, in->drops, sizeof(out->drops_total));
	memcpy(out->transitions_total, f->transitions, sizeof(out->transitions_total));
	out->vip_restores_total = in->vip_restores;
	return 0;
}

const struct track_set *vrrp_track_set(const struct vrrp_set *s, size_t i)
{
	return s && i < s->n ? s->inst[i]->track : NULL;
}
