#include "vrrp/fsm.h"

#include <assert.h>
#include <string.h>

const char *const vrrp_state_names[VRRP_STATE__COUNT] = {
	[VRRP_STATE_INIT] = "INIT",
	[VRRP_STATE_BACKUP] = "BACKUP",
	[VRRP_STATE_MASTER] = "MASTER",
	[VRRP_STATE_FAULT] = "FAULT",
};

static const char *const state_labels[VRRP_STATE__COUNT] = {
	[VRRP_STATE_INIT] = "init",
	[VRRP_STATE_BACKUP] = "backup",
	[VRRP_STATE_MASTER] = "master",
	[VRRP_STATE_FAULT] = "fault",
};

const char *vrrp_state_label(enum vrrp_state s)
{
	return (size_t)s < VRRP_STATE__COUNT ? state_labels[s] : "unknown";
}

uint32_t vrrp_skew_ms(uint8_t version, uint8_t priority, uint32_t master_adver_int_ms)
{
	if (version == 2) /* RFC 3768: (256 - Priority) / 256 seconds */
		return (uint32_t)(256 - priority) * 1000u / 256u;
	/* RFC 5798: ((256 - Priority) * Master_Adver_Interval) / 256, scales with the interval */
	return (uint32_t)(((uint64_t)(256 - priority) * master_adver_int_ms) / 256u);
}

uint32_t vrrp_master_down_ms(uint8_t version, uint8_t priority, uint32_t master_adver_int_ms)
{
	return 3u * master_adver_int_ms + vrrp_skew_ms(version, priority, master_adver_int_ms);
}

uint64_t vrrp_fsm_next_deadline(const struct vrrp_fsm *f)
{
	uint64_t a = f->adver_deadline_ms, m = f->master_down_deadline_ms;
	if (!a)
		return m;
	if (!m)
		return a;
	return a < m ? a : m;
}

static void push(struct vrrp_actions *out, enum vrrp_action_type type, uint8_t prio,
		 uint64_t deadline, enum vrrp_state state)
{
	/* no event yields more than VRRP_MAX_ACTIONS: a ninth would be a bug in this file */
	assert(out->n < VRRP_MAX_ACTIONS);
	if (out->n < VRRP_MAX_ACTIONS)
		out->v[out->n++] = (struct vrrp_action){ type, prio, deadline, state };
}

static void send_advert(struct vrrp_actions *out, uint8_t prio)
{
	push(out, VRRP_ACT_SEND_ADVERT, prio, 0, 0);
}

/* Deadlines are never 0 when armed: 0 means "cancel" in actions. */
static uint64_t deadline(uint64_t now, uint64_t delta)
{
	uint64_t d = now + delta;
	return d ? d : 1;
}

static void arm_adver(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *out)
{
	f->adver_deadline_ms = deadline(now, f->cfg.adver_int_ms);
	push(out, VRRP_ACT_ARM_ADVER, 0, f->adver_deadline_ms, 0);
}

static void cancel_adver(struct vrrp_fsm *f, struct vrrp_actions *out)
{
	if (!f->adver_deadline_ms)
		return;
	f->adver_deadline_ms = 0;
	push(out, VRRP_ACT_ARM_ADVER, 0, 0, 0);
}

static void arm_master_down(struct vrrp_fsm *f, uint64_t delta, uint64_t now, struct vrrp_actions *out)
{
	f->master_down_deadline_ms = deadline(now, delta);
	push(out, VRRP_ACT_ARM_MASTER_DOWN, 0, f->master_down_deadline_ms, 0);
}

static void cancel_master_down(struct vrrp_fsm *f, struct vrrp_actions *out)
{
	if (!f->master_down_deadline_ms)
		return;
	f->master_down_deadline_ms = 0;
	push(out, VRRP_ACT_ARM_MASTER_DOWN, 0, 0, 0);
}

static void enter(struct vrrp_fsm *f, uint64_t now, enum vrrp_state s, struct vrrp_actions *out)
{
	f->state = s;
	f->state_since_ms = now;
	f->transitions[s]++;
	f->preempt_since_ms = 0;
	f->seen_master = false;
	if (s != VRRP_STATE_BACKUP)
		memset(&f->master_addr, 0, sizeof(f->master_addr));
	push(out, VRRP_ACT_NOTIFY, f->priority, 0, s);
}

static uint32_t master_down_ms(const struct vrrp_fsm *f)
{
	return vrrp_master_down_ms(f->cfg.version, f->priority, f->master_adver_int_ms);
}

/* Order matters: advert first (peers stop their timers), then addresses, then GARP. */
static void become_master(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *out)
{
	cancel_master_down(f, out);
	send_advert(out, f->priority);
	push(out, VRRP_ACT_ADD_VIPS, 0, 0, 0);
	push(out, VRRP_ACT_GARP, 0, 0, 0);
	arm_adver(f, now, out);
	enter(f, now, VRRP_STATE_MASTER, out);
	f->master_addr = f->cfg.primary;
	f->master_priority = f->priority;
}

static void become_backup(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *out)
{
	if (f->state == VRRP_STATE_MASTER) {
		cancel_adver(f, out);
		push(out, VRRP_ACT_DEL_VIPS, 0, 0, 0);
	}
	arm_master_down(f, master_down_ms(f), now, out);
	enter(f, now, VRRP_STATE_BACKUP, out);
}

/* Initialize -> Master / Backup (RFC 5798 6.4.1), or Fault if a tracker holds us down. */
static void leave_init(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *out)
{
	if (f->fault) {
		enter(f, now, VRRP_STATE_FAULT, out);
		return;
	}
	f->master_adver_int_ms = f->cfg.adver_int_ms;
	if (f->priority == 255)
		become_master(f, now, out);
	else
		become_backup(f, now, out);
}

uint8_t vrrp_unfit_priority(uint8_t weighted, bool unfit, bool can_be_unfit)
{
	if (weighted == 255) /* the address owner */
		return 255;
	if (unfit)
		return VRRP_PRIO_UNFIT;
	return can_be_unfit && weighted <= VRRP_PRIO_UNFIT ? VRRP_PRIO_UNFIT + 1 : weighted;
}

void vrrp_fsm_init(struct vrrp_fsm *f, const struct vrrp_fsm_cfg *cfg)
{
	memset(f, 0, sizeof(*f));
	f->cfg = *cfg;
	f->priority = cfg->priority ? cfg->priority : 1;
	f->master_adver_int_ms = cfg->adver_int_ms;
	f->state = VRRP_STATE_INIT;
}

void vrrp_fsm_startup(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *out)
{
	out->n = 0;
	if (f->state == VRRP_STATE_INIT)
		leave_init(f, now, out);
}

void vrrp_fsm_shutdown(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *out)
{
	out->n = 0;
	switch (f->state) {
	case VRRP_STATE_MASTER:
		cancel_adver(f, out);
		send_advert(out, 0); /* backups take over after Skew_Time, not 3 intervals */
		push(out, VRRP_ACT_DEL_VIPS, 0, 0, 0);
		break;
	case VRRP_STATE_BACKUP: cancel_master_down(f, out); break;
	case VRRP_STATE_FAULT: break;
	default: return;
	}
	enter(f, now, VRRP_STATE_INIT, out);
}

/* A backup preempting a lower-priority master first waits preempt_delay (keepalived). */
static bool preempt_held(struct vrrp_fsm *f, uint64_t now)
{
	if (!f->cfg.preempt_delay_ms)
		return false;
	if (!f->preempt_since_ms)
		f->preempt_since_ms = now ? now : 1;
	return now < f->preempt_since_ms + f->cfg.preempt_delay_ms;
}

static void backup_on_advert(
	struct vrrp_fsm *f, uint64_t now, const struct vrrp_fsm_advert *a, struct vrrp_actions *out)
{
	if (a->priority == 0) { /* master is leaving: take over after Skew_Time */
		arm_master_down(f, vrrp_skew_ms(f->cfg.version, f->priority, f->master_adver_int_ms),
				now, out);
		return;
	}
	bool lower = a->priority < f->priority;
	if (lower && f->cfg.preempt && !preempt_held(f, now))
		return; /* discard: the master-down timer runs out and we preempt */
	if (lower && a->priority == VRRP_PRIO_UNFIT)
		return; /* an unfit master: take over even without preempt (same timer) */
	if (!lower)
		f->preempt_since_ms = 0;
	if (f->cfg.version == 3 && a->interval_ms)
		f->master_adver_int_ms = a->interval_ms;
	f->master_addr = a->src;
	f->master_priority = a->priority;
	f->seen_master = true;
	arm_master_down(f, master_down_ms(f), now, out);
}

static void master_on_advert(
	struct vrrp_fsm *f, uint64_t now, const struct vrrp_fsm_advert *a, struct vrrp_actions *out)
{
	if (a->priority == 0) { /* a leaving peer: make sure everyone hears the master now */
		send_advert(out, f->priority);
		arm_adver(f, now, out);
		return;
	}
	int cmp = ip_addr_cmp(&a->src, &f->cfg.primary);
	if (a->priority > f->priority || (a->priority == f->priority && cmp > 0)) {
		/* One last advert of ours (lower than the winner's) before yielding: the winner
		 * hears a lower priority and answers with a GARP burst, so neighbours that followed
		 * our GARP during a split brain move back even if we stopped advertising first
		 * (keepalived's vrrp_higher_prio_send_advert). */
		send_advert(out, f->priority);
		if (f->cfg.version == 3 && a->interval_ms)
			f->master_adver_int_ms = a->interval_ms;
		become_backup(f, now, out);
		f->master_addr = a->src;
		f->master_priority = a->priority;
		f->seen_master = true;
		return;
	}
	/* Lower priority (or equal from a lower address): answer at once (RFC 9568) and
	 * re-announce our VIPs in case the other side had claimed them. */
	send_advert(out, f->priority);
	arm_adver(f, now, out);
	push(out, VRRP_ACT_GARP, 0, 0, 0);
}

void vrrp_fsm_on_advert(
	struct vrrp_fsm *f, uint64_t now, const struct vrrp_fsm_advert *a, struct vrrp_actions *out)
{
	out->n = 0;
	if (f->state == VRRP_STATE_BACKUP)
		backup_on_advert(f, now, a, out);
	else if (f->state == VRRP_STATE_MASTER)
		master_on_advert(f, now, a, out);
	/* Initialize and Fault ignore adverts */
}

void vrrp_fsm_on_timer(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *out)
{
	out->n = 0;
	if (f->state == VRRP_STATE_MASTER && f->adver_deadline_ms && now >= f->adver_deadline_ms) {
		send_advert(out, f->priority);
		arm_adver(f, now, out);
	} else if (f->state == VRRP_STATE_BACKUP && f->master_down_deadline_ms &&
		   now >= f->master_down_deadline_ms) {
		/* At startup with no master heard, preempt_delay also applies (keepalived). */
		if (!f->seen_master && f->cfg.preempt_delay_ms && !f->preempt_since_ms &&
		    f->priority != 255) {
			f->preempt_since_ms = now;
			arm_master_down(f, f->cfg.preempt_delay_ms, now, out);
			return;
		}
		become_master(f, now, out);
	}
}

void vrrp_fsm_set_fault(struct vrrp_fsm *f, uint64_t now, bool fault, struct vrrp_actions *out)
{
	out->n = 0;
	f->fault = fault;
	if (!fault) {
		if (f->state == VRRP_STATE_FAULT)
			leave_init(f, now, out);
		return;
	}
	switch (f->state) {
	case VRRP_STATE_MASTER:
		cancel_adver(f, out);
		send_advert(out, 0);
		push(out, VRRP_ACT_DEL_VIPS, 0, 0, 0);
		break;
	case VRRP_STATE_BACKUP: cancel_master_down(f, out); break;
	default: return; /* Initialize: remembered for startup; Fault: already there */
	}
	enter(f, now, VRRP_STATE_FAULT, out);
}

void vrrp_fsm_set_priority(struct vrrp_fsm *f, uint64_t now, uint8_t prio, struct vrrp_actions *out)
{
	out->n = 0;
	if (f->cfg.priority == 255)
		return; /* the address owner's priority never changes */
	if (prio == 0)
		prio = 1;
	if (prio == 255)
		prio = 254;
	if (prio == f->priority)
		return;
	f->priority = prio;
	if (f->state == VRRP_STATE_MASTER) { /* let backups re-elect without waiting */
		f->master_priority = prio;
		send_advert(out, prio);
		arm_adver(f, now, out);
	}
}
