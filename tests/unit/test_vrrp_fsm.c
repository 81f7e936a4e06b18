/* VRRP state machine: one table row per transition of the RFC 5798 6.4 state tables (plus the
 * Fault state and the RFC 9568 / keepalived extensions), then sequences for preempt_delay,
 * timing formulas and counters. Actions are compared as a compact string, e.g.
 * "md:0 adv:100 add garp adver:+1000 notify:MASTER" (deadlines relative to the input time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "vrrp/fsm.h"

#define LOCAL "198.18.0.10"

static struct ip_addr A(const char *s) {
	struct ip_addr a;
	assert_int_equal(ip_addr_parse(s, &a), 0);
	return a;
}

static void
fmt_actions(const struct vrrp_actions *acts, uint64_t now, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < acts->n && off < len; i++) {
		const struct vrrp_action *a = &acts->v[i];
		char one[48];
		switch (a->type) {
		case VRRP_ACT_SEND_ADVERT: snprintf(one, sizeof(one), "adv:%u", a->priority); break;
		case VRRP_ACT_ADD_VIPS: snprintf(one, sizeof(one), "add"); break;
		case VRRP_ACT_DEL_VIPS: snprintf(one, sizeof(one), "del"); break;
		case VRRP_ACT_GARP: snprintf(one, sizeof(one), "garp"); break;
		case VRRP_ACT_ARM_ADVER:
		case VRRP_ACT_ARM_MASTER_DOWN: {
			const char *n = a->type == VRRP_ACT_ARM_ADVER ? "adver" : "md";
			if (a->deadline_ms)
				snprintf(one, sizeof(one), "%s:+%llu", n,
					 (unsigned long long)(a->deadline_ms - now));
			else
				snprintf(one, sizeof(one), "%s:0", n);
			break;
		}
		case VRRP_ACT_NOTIFY:
			snprintf(one, sizeof(one), "notify:%s", vrrp_state_names[a->state]);
			break;
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", one);
	}
}

enum input { IN_STARTUP, IN_SHUTDOWN, IN_ADVERT, IN_TIMER, IN_FAULT_ON, IN_FAULT_OFF, IN_PRIO };

struct row {
	const char *name;
	enum vrrp_state from; /* reached by: INIT as is; BACKUP via startup; MASTER via the
				 * master-down timer; FAULT via fault-on then startup */
	uint8_t version;      /* 0 = 3 */
	uint8_t prio;         /* 0 = 100 */
	uint32_t interval;    /* 0 = 1000 ms */
	bool no_preempt;
	bool pre_fault; /* INIT only: a tracker holds us in fault before startup */
	enum input in;
	uint64_t at;      /* ms after reaching `from` */
	uint8_t arg;      /* advert priority / new priority */
	const char *src;  /* advert source (default 198.18.0.20, higher than ours) */
	uint32_t adv_int; /* advert interval (default = ours) */
	enum vrrp_state to;
	const char *want;
};

/* Priority 100, 1 s: Skew = 156*1000/256 = 609 ms, Master_Down_Interval = 3609 ms. */
static const struct row rows[] = {
	/* Initialize (RFC 5798 6.4.1) */
	{ "init startup -> backup", VRRP_STATE_INIT, .in = IN_STARTUP, .to = VRRP_STATE_BACKUP,
	  .want = "md:+3609 notify:BACKUP" },
	{ "init startup owner -> master", VRRP_STATE_INIT, .prio = 255, .in = IN_STARTUP,
	  .to = VRRP_STATE_MASTER, .want = "adv:255 add garp adver:+1000 notify:MASTER" },
	{ "init startup in fault -> fault", VRRP_STATE_INIT, .pre_fault = true, .in = IN_STARTUP,
	  .to = VRRP_STATE_FAULT, .want = "notify:FAULT" },
	{ "init startup v2 2s", VRRP_STATE_INIT, .version = 2, .interval = 2000, .in = IN_STARTUP,
	  .to = VRRP_STATE_BACKUP, .want = "md:+6609 notify:BACKUP" },
	{ "init startup v3 2s", VRRP_STATE_INIT, .interval = 2000, .in = IN_STARTUP,
	  .to = VRRP_STATE_BACKUP, .want = "md:+7218 notify:BACKUP" },
	{ "init startup v3 200ms", VRRP_STATE_INIT, .interval = 200, .in = IN_STARTUP,
	  .to = VRRP_STATE_BACKUP, .want = "md:+721 notify:BACKUP" },
	{ "init ignores advert", VRRP_STATE_INIT, .in = IN_ADVERT, .arg = 100,
	  .to = VRRP_STATE_INIT, .want = "" },
	{ "init ignores timer", VRRP_STATE_INIT, .in = IN_TIMER, .at = 99999, .to = VRRP_STATE_INIT,
	  .want = "" },
	{ "init shutdown", VRRP_STATE_INIT, .in = IN_SHUTDOWN, .to = VRRP_STATE_INIT, .want = "" },
	{ "init fault on", VRRP_STATE_INIT, .in = IN_FAULT_ON, .to = VRRP_STATE_INIT, .want = "" },

	/* Backup (RFC 5798 6.4.2) */
	{ "backup shutdown", VRRP_STATE_BACKUP, .in = IN_SHUTDOWN, .to = VRRP_STATE_INIT,
	  .want = "md:0 notify:INIT" },
	{ "backup master down -> master", VRRP_STATE_BACKUP, .in = IN_TIMER, .at = 3609,
	  .to = VRRP_STATE_MASTER, .want = "md:0 adv:100 add garp adver:+1000 notify:MASTER" },
	{ "backup timer not yet due", VRRP_STATE_BACKUP, .in = IN_TIMER, .at = 3608,
	  .to = VRRP_STATE_BACKUP, .want = "" },
	{ "backup advert prio 0 -> skew", VRRP_STATE_BACKUP, .in = IN_ADVERT, .arg = 0,
	  .to = VRRP_STATE_BACKUP, .want = "md:+609" },
	{ "backup advert higher resets", VRRP_STATE_BACKUP, .in = IN_ADVERT, .arg = 120,
	  .to = VRRP_STATE_BACKUP, .want = "md:+3609" },
	{ "backup advert equal resets", VRRP_STATE_BACKUP, .in = IN_ADVERT, .arg = 100,
	  .src = "198.18.0.5", .to = VRRP_STATE_BACKUP, .want = "md:+3609" },
	{ "backup advert lower preempt discards", VRRP_STATE_BACKUP, .in = IN_ADVERT, .arg = 90,
	  .to = VRRP_STATE_BACKUP, .want = "" },
	{ "backup advert lower no preempt resets", VRRP_STATE_BACKUP, .no_preempt = true,
	  .in = IN_ADVERT, .arg = 90, .to = VRRP_STATE_BACKUP, .want = "md:+3609" },
	{ "backup v3 adopts master interval", VRRP_STATE_BACKUP, .in = IN_ADVERT, .arg = 120,
	  .adv_int = 500, .to = VRRP_STATE_BACKUP, .want = "md:+1804" },
	{ "backup v2 keeps own interval", VRRP_STATE_BACKUP, .version = 2, .interval = 2000,
	  .in = IN_ADVERT, .arg = 120, .adv_int = 1000, .to = VRRP_STATE_BACKUP, .want = "md:+6609" },
	{ "backup prio 0 v3 200ms skew", VRRP_STATE_BACKUP, .interval = 200, .in = IN_ADVERT,
	  .arg = 0, .to = VRRP_STATE_BACKUP, .want = "md:+121" },
	{ "backup fault on -> fault", VRRP_STATE_BACKUP, .in = IN_FAULT_ON, .to = VRRP_STATE_FAULT,
	  .want = "md:0 notify:FAULT" },
	{ "backup fault off no-op", VRRP_STATE_BACKUP, .in = IN_FAULT_OFF, .to = VRRP_STATE_BACKUP,
	  .want = "" },
	{ "backup priority change quiet", VRRP_STATE_BACKUP, .in = IN_PRIO, .arg = 150,
	  .to = VRRP_STATE_BACKUP, .want = "" },
	{ "backup startup again no-op", VRRP_STATE_BACKUP, .in = IN_STARTUP,
	  .to = VRRP_STATE_BACKUP, .want = "" },

	/* Master (RFC 5798 6.4.3, RFC 9568) */
	{ "master adver timer", VRRP_STATE_MASTER, .in = IN_TIMER, .at = 1000,
	  .to = VRRP_STATE_MASTER, .want = "adv:100 adver:+1000" },
	{ "master timer not yet due", VRRP_STATE_MASTER, .in = IN_TIMER, .at = 999,
	  .to = VRRP_STATE_MASTER, .want = "" },
	{ "master shutdown -> prio 0", VRRP_STATE_MASTER, .in = IN_SHUTDOWN, .to = VRRP_STATE_INIT,
	  .want = "adver:0 adv:0 del notify:INIT" },
	{ "master advert prio 0 answers", VRRP_STATE_MASTER, .in = IN_ADVERT, .arg = 0,
	  .to = VRRP_STATE_MASTER, .want = "adv:100 adver:+1000" },
	{ "master advert higher -> backup", VRRP_STATE_MASTER, .in = IN_ADVERT, .arg = 120,
	  .to = VRRP_STATE_BACKUP, .want = "adv:100 adver:0 del md:+3609 notify:BACKUP" },
	{ "master advert higher v3 interval", VRRP_STATE_MASTER, .in = IN_ADVERT, .arg = 120,
	  .adv_int = 500, .to = VRRP_STATE_BACKUP, .want = "adv:100 adver:0 del md:+1804 notify:BACKUP" },
	{ "master equal prio higher addr -> backup", VRRP_STATE_MASTER, .in = IN_ADVERT, .arg = 100,
	  .src = "198.18.0.20", .to = VRRP_STATE_BACKUP,
	  .want = "adv:100 adver:0 del md:+3609 notify:BACKUP" },
	{ "master equal prio lower addr answers", VRRP_STATE_MASTER, .in = IN_ADVERT, .arg = 100,
	  .src = "198.18.0.5", .to = VRRP_STATE_MASTER, .want = "adv:100 adver:+1000 garp" },
	{ "master lower prio answers + garp", VRRP_STATE_MASTER, .in = IN_ADVERT, .arg = 90,
	  .to = VRRP_STATE_MASTER, .want = "adv:100 adver:+1000 garp" },
	{ "master fault on -> fault", VRRP_STATE_MASTER, .in = IN_FAULT_ON, .to = VRRP_STATE_FAULT,
	  .want = "adver:0 adv:0 del notify:FAULT" },
	{ "master fault off no-op", VRRP_STATE_MASTER, .in = IN_FAULT_OFF, .to = VRRP_STATE_MASTER,
	  .want = "" },
	{ "master priority drop advertised", VRRP_STATE_MASTER, .in = IN_PRIO, .arg = 80,
	  .to = VRRP_STATE_MASTER, .want = "adv:80 adver:+1000" },
	{ "master priority same", VRRP_STATE_MASTER, .in = IN_PRIO, .arg = 100,
	  .to = VRRP_STATE_MASTER, .want = "" },
	{ "master priority 0 clamps to 1", VRRP_STATE_MASTER, .in = IN_PRIO, .arg = 0,
	  .to = VRRP_STATE_MASTER, .want = "adv:1 adver:+1000" },
	{ "master priority 255 clamps to 254", VRRP_STATE_MASTER, .in = IN_PRIO, .arg = 255,
	  .to = VRRP_STATE_MASTER, .want = "adv:254 adver:+1000" },
	{ "owner priority never changes", VRRP_STATE_MASTER, .prio = 255, .in = IN_PRIO, .arg = 10,
	  .to = VRRP_STATE_MASTER, .want = "" },
	{ "owner hears 254 answers", VRRP_STATE_MASTER, .prio = 255, .in = IN_ADVERT, .arg = 254,
	  .to = VRRP_STATE_MASTER, .want = "adv:255 adver:+1000 garp" },
	{ "master startup again no-op", VRRP_STATE_MASTER, .in = IN_STARTUP,
	  .to = VRRP_STATE_MASTER, .want = "" },

	/* Fault (keepalived) */
	{ "fault ignores advert", VRRP_STATE_FAULT, .in = IN_ADVERT, .arg = 200,
	  .to = VRRP_STATE_FAULT, .want = "" },
	{ "fault ignores timer", VRRP_STATE_FAULT, .in = IN_TIMER, .at = 99999,
	  .to = VRRP_STATE_FAULT, .want = "" },
	{ "fault off -> backup", VRRP_STATE_FAULT, .in = IN_FAULT_OFF, .to = VRRP_STATE_BACKUP,
	  .want = "md:+3609 notify:BACKUP" },
	{ "fault off owner -> master", VRRP_STATE_FAULT, .prio = 255, .in = IN_FAULT_OFF,
	  .to = VRRP_STATE_MASTER, .want = "adv:255 add garp adver:+1000 notify:MASTER" },
	{ "fault on again", VRRP_STATE_FAULT, .in = IN_FAULT_ON, .to = VRRP_STATE_FAULT, .want = "" },
	{ "fault shutdown", VRRP_STATE_FAULT, .in = IN_SHUTDOWN, .to = VRRP_STATE_INIT,
	  .want = "notify:INIT" },
};

static void fsm_for(struct vrrp_fsm *f, uint8_t version, uint8_t prio, uint32_t interval,
		    bool preempt, uint64_t preempt_delay)
{
	struct vrrp_fsm_cfg cfg = {
		.version = version,
		.priority = prio,
		.adver_int_ms = interval,
		.preempt = preempt,
		.preempt_delay_ms = preempt_delay,
		.primary = A(LOCAL)
	};
	vrrp_fsm_init(f, &cfg);
}

/* Drives a fresh FSM into `from`; returns the time at which it got there. */
static uint64_t reach(struct vrrp_fsm *f, const struct row *r)
{
	struct vrrp_actions acts;
	uint64_t t = 1000;
	if (r->from == VRRP_STATE_INIT) {
		if (r->pre_fault)
			vrrp_fsm_set_fault(f, t, true, &acts);
		return t;
	}
	if (r->from == VRRP_STATE_FAULT)
		vrrp_fsm_set_fault(f, t, true, &acts);
	vrrp_fsm_startup(f, t, &acts);
	if (r->from == VRRP_STATE_MASTER && f->state != VRRP_STATE_MASTER) {
		t = f->master_down_deadline_ms;
		vrrp_fsm_on_timer(f, t, &acts);
	}
	assert_int_equal(f->state, r->from);
	return t;
}

static void run_row(const struct row *r)
{
	struct vrrp_fsm f;
	struct vrrp_actions acts = { .n = 0 };
	uint32_t interval = r->interval ? r->interval : 1000;
	fsm_for(&f, r->version ? r->version : 3, r->prio ? r->prio : 100, interval, !r->no_preempt, 0);
	uint64_t now = reach(&f, r) + r->at;
	struct vrrp_fsm_advert adv = {
		.priority = r->arg,
		.interval_ms = r->adv_int ? r->adv_int : interval,
		.src = A(r->src ? r->src : "198.18.0.20")
	};
	switch (r->in) {
	case IN_STARTUP: vrrp_fsm_startup(&f, now, &acts); break;
	case IN_SHUTDOWN: vrrp_fsm_shutdown(&f, now, &acts); break;
	case IN_ADVERT: vrrp_fsm_on_advert(&f, now, &adv, &acts); break;
	case IN_TIMER: vrrp_fsm_on_timer(&f, now, &acts); break;
	case IN_FAULT_ON: vrrp_fsm_set_fault(&f, now, true, &acts); break;
	case IN_FAULT_OFF: vrrp_fsm_set_fault(&f, now, false, &acts); break;
	case IN_PRIO: vrrp_fsm_set_priority(&f, now, r->arg, &acts); break;
	}
	char got[256];
	fmt_actions(&acts, now, got, sizeof(got));
	if (strcmp(got, r->want) != 0 || f.state != r->to)
		fail_msg("%s: got [%s] state %s, want [%s] state %s", r->name, got,
			 vrrp_state_names[f.state], r->want, vrrp_state_names[r->to]);
	/* the fsm's own deadlines agree with what it told the shell */
	if (f.state == VRRP_STATE_MASTER)
		assert_true(f.adver_deadline_ms > 0 && f.master_down_deadline_ms == 0);
	if (f.state == VRRP_STATE_BACKUP)
		assert_true(f.master_down_deadline_ms > 0 && f.adver_deadline_ms == 0);
	if (f.state == VRRP_STATE_INIT || f.state == VRRP_STATE_FAULT)
		assert_int_equal(vrrp_fsm_next_deadline(&f), 0);
}

static void test_state_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
}

/* Every (state, input) pair appears in the table at least once. */
static void test_table_covers_all_pairs(void **state)
{
	(void)state;
	bool seen[VRRP_STATE__COUNT][IN_PRIO + 1] = { { false } };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		seen[rows[i].from][rows[i].in] = true;
	for (int s = 0; s < VRRP_STATE__COUNT; s++)
		for (int in = 0; in <= IN_PRIO; in++)
			if (!seen[s][in] && !(s == VRRP_STATE_INIT && in == IN_FAULT_OFF) &&
			    !(s == VRRP_STATE_INIT && in == IN_PRIO) &&
			    !(s == VRRP_STATE_FAULT && (in == IN_STARTUP || in == IN_PRIO)))
				fail_msg("no row for state %s input %d", vrrp_state_names[s], in);
}

static void expect(struct vrrp_fsm *f, uint64_t now, struct vrrp_actions *acts, enum vrrp_state st,
		   const char *want)
{
	char got[256];
	fmt_actions(acts, now, got, sizeof(got));
	assert_string_equal(got, want);
	assert_int_equal(f->state, st);
}

static void advert_i(
	struct vrrp_fsm *f, uint64_t now, uint8_t prio, uint32_t interval, struct vrrp_actions *acts)
{
	struct vrrp_fsm_advert a = { .priority = prio, .interval_ms = interval, .src = A("198.18.0.20") };
	vrrp_fsm_on_advert(f, now, &a, acts);
}

static void advert(struct vrrp_fsm *f, uint64_t now, uint8_t prio, struct vrrp_actions *acts)
{
	advert_i(f, now, prio, 1000, acts);
}

/* preempt_delay: a higher backup keeps accepting a lower master for the delay, then lets the
 * master-down timer run out: takeover after delay + Master_Down_Interval. */
static void test_preempt_delay(void **state)
{
	(void)state;
	struct vrrp_fsm f;
	struct vrrp_actions a;
	fsm_for(&f, 3, 100, 1000, true, 5000);
	vrrp_fsm_startup(&f, 0, &a);
	advert(&f, 1000, 90, &a);
	expect(&f, 1000, &a, VRRP_STATE_BACKUP, "md:+3609"); /* held back */
	advert(&f, 5999, 90, &a);
	expect(&f, 5999, &a, VRRP_STATE_BACKUP, "md:+3609");
	advert(&f, 6000, 90, &a);
	expect(&f, 6000, &a, VRRP_STATE_BACKUP, ""); /* delay over: discard */
	vrrp_fsm_on_timer(&f, 9607, &a);             /* deadline set by the 5999 advert */
	expect(&f, 9607, &a, VRRP_STATE_BACKUP, "");
	vrrp_fsm_on_timer(&f, 9608, &a);
	expect(&f, 9608, &a, VRRP_STATE_MASTER, "md:0 adv:100 add garp adver:+1000 notify:MASTER");
}

/* A higher priority master between lower adverts restarts the preempt delay. */
static void test_preempt_delay_resets(void **state)
{
	(void)state;
	struct vrrp_fsm f;
	struct vrrp_actions a;
	fsm_for(&f, 3, 100, 1000, true, 5000);
	vrrp_fsm_startup(&f, 0, &a);
	advert(&f, 1000, 90, &a);
	advert(&f, 2000, 120, &a);
	advert(&f, 6500, 90, &a);
	expect(&f, 6500, &a, VRRP_STATE_BACKUP, "md:+3609");
}

/* At startup with no master heard, preempt_delay is added to the first takeover. */
static void test_preempt_delay_startup(void **state)
{
	(void)state;
	struct vrrp_fsm f;
	struct vrrp_actions a;
	fsm_for(&f, 3, 100, 1000, true, 2000);
	vrrp_fsm_startup(&f, 0, &a);
	vrrp_fsm_on_timer(&f, 3609, &a);
	expect(&f, 3609, &a, VRRP_STATE_BACKUP, "md:+2000");
	vrrp_fsm_on_timer(&f, 5609, &a);
	expect(&f, 5609, &a, VRRP_STATE_MASTER, "md:0 adv:100 add garp adver:+1000 notify:MASTER");
}

/* preempt: false keeps a lower master; when it leaves (prio 0) we take over after Skew. */
static void test_no_preempt_then_handover(void **state)
{
	(void)state;
	struct vrrp_fsm f;
	struct vrrp_actions a;
	fsm_for(&f, 3, 200, 200, false, 0);
	vrrp_fsm_startup(&f, 0, &a);
	for (uint64_t t = 100; t < 5000; t += 200) {
		advert_i(&f, t, 50, 200, &a);
		assert_int_equal(f.state, VRRP_STATE_BACKUP);
	}
	struct vrrp_fsm_advert leave = { .priority = 0, .interval_ms = 200, .src = A("198.18.0.20") };
	vrrp_fsm_on_advert(&f, 5000, &leave, &a);
	/* skew for prio 200 at 200 ms: 56*200/256 = 43 */
	expect(&f, 5000, &a, VRRP_STATE_BACKUP, "md:+43");
	vrrp_fsm_on_timer(&f, 5043, &a);
	assert_int_equal(f.state, VRRP_STATE_MASTER);
}

/* An unfit master (priority 1): a fit backup takes over even with preempt off and
 * preempt_delay set, by the master-down timer; an unfit backup (1) keeps following it. */
static void test_unfit_master_is_taken_over(void **state)
{
	(void)state;
	struct vrrp_fsm f;
	struct vrrp_actions a;
	fsm_for(&f, 3, 100, 1000, false, 5000);
	vrrp_fsm_startup(&f, 0, &a);
	advert(&f, 1000, 100, &a);
	expect(&f, 1000, &a, VRRP_STATE_BACKUP, "md:+3609");
	advert(&f, 2000, VRRP_PRIO_UNFIT, &a);
	expect(&f, 2000, &a, VRRP_STATE_BACKUP, ""); /* discarded */
	advert(&f, 3000, VRRP_PRIO_UNFIT, &a);
	expect(&f, 3000, &a, VRRP_STATE_BACKUP, "");
	vrrp_fsm_on_timer(&f, 4609, &a); /* deadline of the 1000 advert */
	expect(&f, 4609, &a, VRRP_STATE_MASTER, "md:0 adv:100 add garp adver:+1000 notify:MASTER");

	/* ourselves unfit: an unfit master is followed, not taken over */
	fsm_for(&f, 3, 100, 1000, true, 0);
	vrrp_fsm_startup(&f, 0, &a);
	vrrp_fsm_set_priority(&f, 10, VRRP_PRIO_UNFIT, &a);
	advert(&f, 1000, VRRP_PRIO_UNFIT, &a);
	expect(&f, 1000, &a, VRRP_STATE_BACKUP, "md:+3996");
}

/* Every node recovers at about once: the unfit master that recovers within the master-down
 * interval keeps the VIP (its advert at full priority re-arms the backup's timer). */
static void test_unfit_master_recovering_keeps_vip(void **state)
{
	(void)state;
	struct vrrp_fsm f;
	struct vrrp_actions a;
	fsm_for(&f, 3, 90, 1000, true, 0);
	vrrp_fsm_startup(&f, 0, &a);
	advert(&f, 1000, VRRP_PRIO_UNFIT, &a);
	expect(&f, 1000, &a, VRRP_STATE_BACKUP, ""); /* we are fit (90): the master is not */
	advert(&f, 2000, 100, &a);                   /* it recovered first */
	assert_int_equal(f.state, VRRP_STATE_BACKUP);
	for (uint64_t t = 3000; t < 20000; t += 1000) {
		advert(&f, t, 100, &a);
		vrrp_fsm_on_timer(&f, t + 1, &a);
		assert_int_equal(f.state, VRRP_STATE_BACKUP);
	}
}

/* A master that becomes unfit advertises 1 at once; a fit master ignores an unfit one's
 * advert but answers it (RFC 9568), so the unfit one hears the higher priority. */
static void test_unfit_master_advertises_at_once(void **state)
{
	(void)state;
	struct vrrp_fsm f;
	struct vrrp_actions a;
	fsm_for(&f, 3, 100, 1000, true, 0);
	vrrp_fsm_startup(&f, 0, &a);
	vrrp_fsm_on_timer(&f, 3609, &a);
	assert_int_equal(f.state, VRRP_STATE_MASTER);
	vrrp_fsm_set_priority(&f, 4000, VRRP_PRIO_UNFIT, &a);
	expect(&f, 4000, &a, VRRP_STATE_MASTER, "adv:1 adver:+1000");
	vrrp_fsm_set_priority(&f, 4100, 100, &a);
	advert(&f, 4200, VRRP_PRIO_UNFIT, &a);
	expect(&f, 4200, &a, VRRP_STATE_MASTER, "adv:100 adver:+1000 garp");
}

static void test_unfit_priority(void **state)
{
	(void)state;
	assert_int_equal(vrrp_unfit_priority(100, false, true), 100);
	assert_int_equal(vrrp_unfit_priority(100, true, true), VRRP_PRIO_UNFIT);
	assert_int_equal(vrrp_unfit_priority(1, false, true), 2);    /* fit never looks unfit */
	assert_int_equal(vrrp_unfit_priority(1, false, false), 1);   /* keepalived's clamp */
	assert_int_equal(vrrp_unfit_priority(255, true, true), 255); /* the address owner */
	assert_int_equal(vrrp_unfit_priority(254, true, true), VRRP_PRIO_UNFIT);
}

/* Two FSMs wired back to back converge to exactly one master, the higher priority. */
static void test_two_nodes_elect_one(void **state)
{
	(void)state;
	struct vrrp_fsm n[2];
	struct vrrp_actions a;
	struct vrrp_fsm_cfg cfg = { .version = 3, .adver_int_ms = 100, .preempt = true };
	cfg.priority = 100;
	cfg.primary = A("198.18.0.1");
	vrrp_fsm_init(&n[0], &cfg);
	cfg.priority = 100; /* equal: the higher address must win */
	cfg.primary = A("198.18.0.2");
	vrrp_fsm_init(&n[1], &cfg);
	vrrp_fsm_startup(&n[0], 0, &a);
	vrrp_fsm_startup(&n[1], 0, &a);
	/* Timers firing at the same ms all run before any advert is delivered, so both nodes
	 * become master at once and the tie-break on the address has to settle it. */
	for (uint64_t t = 0; t < 3000; t++) {
		struct vrrp_fsm_advert sent[2][VRRP_MAX_ACTIONS];
		size_t n_sent[2] = { 0, 0 };
		for (int i = 0; i < 2; i++) {
			uint64_t d = vrrp_fsm_next_deadline(&n[i]);
			if (!d || d > t)
				continue;
			vrrp_fsm_on_timer(&n[i], t, &a);
			for (size_t k = 0; k < a.n; k++)
				if (a.v[k].type == VRRP_ACT_SEND_ADVERT)
					sent[i][n_sent[i]++] = (struct vrrp_fsm_advert){
						a.v[k].priority, 100, n[i].cfg.primary
					};
		}
		/* deliver, including answers (bounded: one round of replies per ms) */
		for (int i = 0; i < 2; i++)
			for (size_t k = 0; k < n_sent[i]; k++) {
				struct vrrp_actions b;
				vrrp_fsm_on_advert(&n[1 - i], t, &sent[i][k], &b);
				for (size_t m = 0; m < b.n; m++)
					if (b.v[m].type == VRRP_ACT_SEND_ADVERT) {
						struct vrrp_fsm_advert r = {
							b.v[m].priority, 100, n[1 - i].cfg.primary
						};
						struct vrrp_actions c;
						vrrp_fsm_on_advert(&n[i], t, &r, &c);
					}
			}
		assert_false(t > 400 && n[0].state == n[1].state);
	}
	assert_int_equal(n[1].state, VRRP_STATE_MASTER);
	assert_int_equal(n[0].state, VRRP_STATE_BACKUP);
	assert_true(ip_addr_equal(&n[0].master_addr, &n[1].cfg.primary));
}

static void test_formulas(void **state)
{
	(void)state;
	assert_int_equal(vrrp_skew_ms(3, 100, 1000), 609);
	assert_int_equal(vrrp_skew_ms(3, 100, 200), 121);
	assert_int_equal(vrrp_skew_ms(3, 255, 1000), 3);
	assert_int_equal(vrrp_skew_ms(3, 1, 40950), 40790);
	assert_int_equal(vrrp_skew_ms(2, 100, 5000), 609); /* v2: independent of the interval */
	assert_int_equal(vrrp_skew_ms(2, 254, 1000), 7);
	assert_int_equal(vrrp_master_down_ms(3, 100, 200), 721);
	assert_int_equal(vrrp_master_down_ms(2, 100, 1000), 3609);
}

static void test_counters_and_master_info(void **state)
{
	(void)state;
	struct vrrp_fsm f;
	struct vrrp_actions a;
	fsm_for(&f, 3, 100, 1000, true, 0);
	vrrp_fsm_startup(&f, 10, &a);
	advert(&f, 20, 120, &a);
	assert_true(ip_addr_equal(&f.master_addr, &(struct ip_addr){ 0 }) == false);
	assert_int_equal(f.master_priority, 120);
	vrrp_fsm_on_timer(&f, 20 + 3609, &a);
	assert_int_equal(f.state, VRRP_STATE_MASTER);
	assert_int_equal(f.state_since_ms, 3629);
	struct ip_addr me = A(LOCAL);
	assert_true(ip_addr_equal(&f.master_addr, &me));
	vrrp_fsm_set_fault(&f, 4000, true, &a);
	vrrp_fsm_set_fault(&f, 4100, false, &a);
	assert_int_equal(f.transitions[VRRP_STATE_BACKUP], 2);
	assert_int_equal(f.transitions[VRRP_STATE_MASTER], 1);
	assert_int_equal(f.transitions[VRRP_STATE_FAULT], 1);
	assert_int_equal(f.transitions[VRRP_STATE_INIT], 0);
}

/* Property test: 200k random inputs against one FSM, checking invariants after each step with a
 * model of what the shell would have done (VIPs present, timer armed). */
struct model {
	bool vips;
	uint64_t timer; /* what the shell would have armed: earliest of the two deadlines */
	uint64_t adver, md;
};

static uint32_t lcg(uint32_t *x)
{
	*x = *x * 1664525u + 1013904223u;
	return *x >> 8;
}

static void check_step(const struct vrrp_fsm *f, enum vrrp_state before,
		       const struct vrrp_actions *a, struct model *m)
{
	bool notified = false, advert_sent = false;
	for (size_t i = 0; i < a->n; i++) {
		const struct vrrp_action *x = &a->v[i];
		switch (x->type) {
		case VRRP_ACT_SEND_ADVERT:
			assert_true(x->priority == f->priority || x->priority == 0);
			/* priority 0 only when leaving master */
			if (x->priority == 0)
				assert_int_equal(before, VRRP_STATE_MASTER);
			advert_sent = true;
			break;
		case VRRP_ACT_ADD_VIPS:
			assert_true(advert_sent); /* advert first, then addresses */
			assert_false(m->vips);
			m->vips = true;
			break;
		case VRRP_ACT_DEL_VIPS:
			assert_true(m->vips);
			m->vips = false;
			break;
		case VRRP_ACT_GARP: assert_true(m->vips); break;
		case VRRP_ACT_ARM_ADVER: m->adver = x->deadline_ms; break;
		case VRRP_ACT_ARM_MASTER_DOWN: m->md = x->deadline_ms; break;
		case VRRP_ACT_NOTIFY:
			assert_int_equal(x->state, f->state);
			assert_int_equal(i, a->n - 1); /* the notification comes last */
			notified = true;
			break;
		}
	}
	assert_int_equal(notified, before != f->state);
	assert_int_equal(m->vips, f->state == VRRP_STATE_MASTER);
	assert_int_equal(m->adver, f->adver_deadline_ms);
	assert_int_equal(m->md, f->master_down_deadline_ms);
	assert_int_equal(f->adver_deadline_ms != 0, f->state == VRRP_STATE_MASTER);
	assert_int_equal(f->master_down_deadline_ms != 0, f->state == VRRP_STATE_BACKUP);
}

static void test_random_inputs_keep_invariants(void **state)
{
	(void)state;
	uint32_t seed = 12345;
	for (int run = 0; run < 20; run++) {
		struct vrrp_fsm f;
		struct vrrp_actions a;
		struct model m = { 0 };
		uint8_t prio = (uint8_t)(1 + lcg(&seed) % 254);
		fsm_for(&f, (uint8_t)(2 + lcg(&seed) % 2), prio, 100 * (1 + lcg(&seed) % 10),
			lcg(&seed) % 2, (lcg(&seed) % 3) * 500);
		uint64_t now = 1;
		for (int step = 0; step < 10000; step++) {
			enum vrrp_state before = f.state;
			now += lcg(&seed) % 300;
			uint32_t r = lcg(&seed) % 100;
			if (r < 5) {
				vrrp_fsm_startup(&f, now, &a);
			} else if (r < 7) {
				vrrp_fsm_shutdown(&f, now, &a);
			} else if (r < 12) {
				vrrp_fsm_set_fault(&f, now, lcg(&seed) % 2, &a);
			} else if (r < 15) {
				vrrp_fsm_set_priority(&f, now, (uint8_t)(lcg(&seed) % 256), &a);
			} else if (r < 55) {
				uint64_t d = vrrp_fsm_next_deadline(&f);
				if (d && d > now)
					now = d;
				vrrp_fsm_on_timer(&f, now, &a);
			} else {
				char src[32];
				snprintf(src, sizeof(src), "198.18.0.%u", 1 + lcg(&seed) % 20);
				struct vrrp_fsm_advert adv = {
					.priority = (uint8_t)(lcg(&seed) % 256),
					.interval_ms = 10 * (1 + lcg(&seed) % 100),
					.src = A(src)
				};
				vrrp_fsm_on_advert(&f, now, &adv, &a);
			}
			check_step(&f, before, &a, &m);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_table),
		cmocka_unit_test(test_table_covers_all_pairs),
		cmocka_unit_test(test_preempt_delay),
		cmocka_unit_test(test_preempt_delay_resets),
		cmocka_unit_test(test_preempt_delay_startup),
		cmocka_unit_test(test_no_preempt_then_handover),
		cmocka_unit_test(test_unfit_master_is_taken_over),
		cmocka_unit_test(test_unfit_master_recovering_keeps_vip),
		cmocka_unit_test(test_unfit_master_advertises_at_once),
		cmocka_unit_test(test_unfit_priority),
		cmocka_unit_test(test_two_nodes_elect_one),
		cmocka_unit_test(test_formulas),
		cmocka_unit_test(test_counters_and_master_info),
		cmocka_unit_test(test_random_inputs_keep_invariants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
