#include "track/track.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proxy/pool.h"
#include "netlink/link.h"

/* ---- pure ---- */

struct track_result track_effective(uint8_t base, const struct track_input *t, size_t n)
{
	struct track_result r = { .priority = base };
	int64_t prio = base;
	for (size_t i = 0; i < n; i++) {
		if (t[i].weight == 0) {
			if (t[i].state != TRACK_UP)
				*(t[i].soft ? &r.unfit : &r.fault) = true;
		} else if (t[i].weight > 0 && t[i].state == TRACK_UP) {
			prio += t[i].weight;
		} else if (t[i].weight < 0 && t[i].state == TRACK_DOWN) {
			prio += t[i].weight;
		}
	}
	if (base == 255) /* the address owner always claims its own addresses */
		return r;
	if (prio < 1)
		prio = 1;
	if (prio > 254)
		prio = 254;
	r.priority = (uint8_t)prio;
	return r;
}

static const char *const state_names[] = { [TRACK_INIT] = "init", [TRACK_UP] = "up", [TRACK_DOWN] = "down" };
static const char *const
	kind_names[] = { [TRACK_IFACE] = "interface", [TRACK_SCRIPT] = "script", [TRACK_BACKEND] = "backend" };

const char *track_state_name(enum track_state s)
{
	return (size_t)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

const char *track_kind_name(enum track_kind k)
{
	return (size_t)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "unknown";
}

bool track_rf_update(struct track_rf *s, bool ok, uint32_t rise, uint32_t fall)
{
	if (rise == 0)
		rise = 1;
	if (fall == 0)
		fall = 1;
	if (ok) {
		if (s->n_ok < UINT32_MAX)
			s->n_ok++;
		s->n_fail = 0;
	} else {
		if (s->n_fail < UINT32_MAX)
			s->n_fail++;
		s->n_ok = 0;
	}
	enum track_state old = s->state;
	if (s->state == TRACK_INIT)
		s->state = ok ? TRACK_UP : TRACK_DOWN; /* the first result decides at once */
	else if (s->state == TRACK_DOWN && s->n_ok >= rise)
		s->state = TRACK_UP;
	else if (s->state == TRACK_UP && s->n_fail >= fall)
		s->state = TRACK_DOWN;
	return s->state != old;
}

/* ---- the shell ---- */

struct track_set {
	struct loop *loop;
	struct track_set_params p;
	struct tracker *t;
	size_t n;
	struct track_input *inputs; /* scratch for track_effective */
	struct timer backend_poll;
	size_t n_backends;
	struct track_result last;
};

static void recompute(struct track_set *ts, bool notify)
{
	for (size_t i = 0; i < ts->n; i++) {
		ts->inputs[i].weight = ts->t[i].weight;
		ts->inputs[i].state = ts->t[i].rf.state;
		ts->inputs[i].soft = ts->t[i].soft;
	}
	struct track_result r = track_effective(ts->p.base_priority, ts->inputs, ts->n);
	if (r.priority == ts->last.priority && r.fault == ts->last.fault && r.unfit == ts->last.unfit)
		return;
	log_info("track verdict", "%s=%s priority=%u fault=%s unfit=%s", ts->p.owner_kind,
		 ts->p.owner, r.priority, r.fault ? "true" : "false", r.unfit ? "true" : "false");
	ts->last = r;
	if (notify && ts->p.on_change)
		ts->p.on_change(ts->p.arg, r);
}

/* Sets a tracker's state directly (interfaces, backends: their source already debounces). */
static void set_state(struct tracker *t, enum track_state s)
{
	if (t->rf.state == s)
		return;
	log_info("tracker changed", "%s=%s kind=%s name=%s state=%s", t->set->p.owner_kind,
		 t->set->p.owner, track_kind_name(t->kind), t->name, track_state_name(s));
	t->rf.state = s;
}

static void script_start(struct tracker *t);

static void script_done(struct child *c, enum spawn_result r, int status, void *arg)
{
	(void)c;
	struct tracker *t = arg;
	struct track_set *ts = t->set;
	bool ok = r == SPAWN_EXITED && status == 0;
	t->runs_total++;
	if (!ok)
		t->failures_total++;
	if (r == SPAWN_TIMEOUT)
		t->timeouts_total++;
	if (track_rf_update(&t->rf, ok, t->script->rise, t->script->fall))
		log_info("track script changed", "%s=%s script=%s state=%s result=%s status=%d",
			 ts->p.owner_kind, ts->p.owner, t->name, track_state_name(t->rf.state),
			 r == SPAWN_EXITED     ? "exit"
			 : r == SPAWN_SIGNALED ? "signal"
			 : r == SPAWN_TIMEOUT  ? "timeout"
					       : "failed",
			 status);
	recompute(ts, true);
}

static void script_timer(struct loop *l, struct timer *tm)
{
	(void)l;
	script_start(tm->arg);
}

static void script_start(struct tracker *t)
{
	struct track_set *ts = t->set;
	/* The next run is planned from this start; a still-running script delays it (never two). */
	timer_arm_in(ts->loop, &t->next_run, t->script->interval_ms);
	if (child_running(&t->child))
		return;
	int rc = child_spawn_shell(ts->loop, &t->child, t->script->command, NULL, 0, &t->user,
				   t->script->timeout_ms, script_done, t);
	if (rc < 0) {
		log_error("track script spawn failed", "%s=%s script=%s err=\"%s\"",
			  ts->p.owner_kind, ts->p.owner, t->name, strerror(-rc));
		t->runs_total++;
		t->failures_total++;
		track_rf_update(&t->rf, false, t->script->rise, t->script->fall);
		recompute(ts, true);
	}
}

static void init_script(struct track_set *ts, struct tracker *t, const struct cfg_track_script *s)
{
	char why[256];
	t->kind = TRACK_SCRIPT;
	t->script = s;
	t->name = s->name;
	t->weight = s->weight;
	t->child.io.fd = -1;
	timer_init(&t->next_run, script_timer, t);
	if (spawn_command_secure(s->command, why, sizeof(why)) < 0) {
		log_error("track script refused", "%s=%s script=%s reason=\"%s\"", ts->p.owner_kind,
			  ts->p.owner, t->name, why);
		t->insecure = true;
		t->rf.state = TRACK_DOWN;
		return;
	}
	const char *user = s->user ? s->user : ts->p.script_user;
	if (spawn_user_lookup(user, &t->user) < 0) {
		log_error("track script user unknown", "%s=%s script=%s user=%s", ts->p.owner_kind,
			  ts->p.owner, t->name, user ? user : "nobody");
		t->insecure = true;
		t->rf.state = TRACK_DOWN;
		return;
	}
	timer_arm_in(ts->loop, &t->next_run, 0); /* first run on the next loop turn */
}

static void init_iface(struct tracker *t, const struct cfg_track_iface *c)
{
	t->kind = TRACK_IFACE;
	t->name = c->name;
	t->weight = c->weight;
	int idx = link_ifindex(c->name);
	t->ifindex = idx > 0 ? idx : 0;
	t->rf.state = t->ifindex && link_is_up(t->ifindex) == 1 ? TRACK_UP : TRACK_DOWN;
}

static void poll_backends(struct track_set *ts)
{
	uint64_t now = loop_now(ts->loop);
	for (size_t i = 0; i < ts->n; i++) {
		struct tracker *t = &ts->t[i];
		if (t->kind != TRACK_BACKEND)
			continue;
		bool ok = !ts->p.backend_ok ||
			  ts->p.backend_ok(ts->p.backend_arg, t->backend_idx, t->name, now);
		set_state(t, ok ? TRACK_UP : TRACK_DOWN);
	}
}

static void backend_timer(struct loop *l, struct timer *tm)
{
	struct track_set *ts = tm->arg;
	poll_backends(ts);
	recompute(ts, true);
	timer_arm_in(l, tm, ts->p.backend_poll_ms);
}

struct track_set_params track_params_vrrp(const struct cfg_vrrp *v, const char *script_user)
{
	return (struct track_set_params){
		.owner_kind = "instance",
		.owner = v->name,
		.base_priority = v->priority,
		.ifaces = v->track_ifaces,
		.n_ifaces = v->n_track_ifaces,
		.scripts = v->track_scripts,
		.n_scripts = v->n_track_scripts,
		.backends = v->track_backends,
		.n_backends = v->n_track_backends,
		.strict = v->track_strict,
		.script_user = script_user,
	};
}

struct track_set *track_set_new(struct loop *l, const struct track_set_params *p)
{
	struct track_set *ts = calloc(1, sizeof(*ts));
	if (!ts)
		return NULL;
	ts->loop = l;
	ts->p = *p;
	if (!ts->p.backend_poll_ms)
		ts->p.backend_poll_ms = 100;
	ts->n = p->n_ifaces + p->n_scripts + p->n_backends;
	ts->t = calloc(ts->n ? ts->n : 1, sizeof(*ts->t));
	ts->inputs = calloc(ts->n ? ts->n : 1, sizeof(*ts->inputs));
	if (!ts->t || !ts->inputs) {
		free(ts->t);
		free(ts->inputs);
		free(ts);
		return NULL;
	}
	timer_init(&ts->backend_poll, backend_timer, ts);
	size_t k = 0;
	for (size_t i = 0; i < p->n_ifaces; i++, k++) {
		ts->t[k].set = ts;
		init_iface(&ts->t[k], &p->ifaces[i]);
	}
	for (size_t i = 0; i < p->n_scripts; i++, k++) {
		ts->t[k].set = ts;
		init_script(ts, &ts->t[k], &p->scripts[i]);
	}
	for (size_t i = 0; i < p->n_backends; i++, k++) {
		struct tracker *t = &ts->t[k];
		t->set = ts;
		t->kind = TRACK_BACKEND;
		t->name = p->backends[i].name;
		t->weight = p->backends[i].weight;
		t->backend_idx = p->backends[i].backend_idx;
		t->soft = t->weight == 0 && !p->strict;
		ts->n_backends++;
	}
	poll_backends(ts);
	ts->last = (struct track_result){ .priority = p->base_priority };
	recompute(ts, false);
	if (ts->n_backends)
		timer_arm_in(l, &ts->backend_poll, ts->p.backend_poll_ms);
	return ts;
}

static bool same_tracker(const struct tracker *a, const struct tracker *b)
{
	if (a->kind != b->kind || !a->name || !b->name || strcmp(a->name, b->name))
		return false;
	return a->kind != TRACK_SCRIPT || !strcmp(a->script->command, b->script->command);
}

void track_set_inherit(struct track_set *ts, const struct track_set *old)
{
	if (!ts || !old)
		return;
	for (size_t i = 0; i < ts->n; i++) {
		struct tracker *t = &ts->t[i];
		for (size_t k = 0; k < old->n; k++) {
			const struct tracker *o = &old->t[k];
			if (!same_tracker(t, o) || t->insecure || o->insecure)
				continue;
			if (t->kind == TRACK_SCRIPT) {
				t->rf = o->rf;
				t->runs_total = o->runs_total;
				t->failures_total = o->failures_total;
				t->timeouts_total = o->timeouts_total;
			} else if (t->kind == TRACK_BACKEND && t->rf.state == TRACK_INIT) {
				t->rf = o->rf;
			}
			break;
		}
	}
	recompute(ts, false);
}

void track_set_free(struct track_set *ts)
{
	if (!ts)
		return;
	for (size_t i = 0; i < ts->n; i++) {
		struct tracker *t = &ts->t[i];
		if (t->kind != TRACK_SCRIPT)
			continue;
		timer_cancel(ts->loop, &t->next_run);
		child_abort(&t->child);
	}
	timer_cancel(ts->loop, &ts->backend_poll);
	free(ts->t);
	free(ts->inputs);
	free(ts);
}

struct track_result track_set_result(const struct track_set *ts) { return ts->last; }

void track_set_on_link(struct track_set *ts, int ifindex, bool up)
{
	bool touched = false;
	for (size_t i = 0; i < ts->n; i++) {
		struct tracker *t = &ts->t[i];
		if (t->kind != TRACK_IFACE)
			continue;
		if (t->ifindex != ifindex) {
			/* Missing at start, or deleted and re-created under a new index. */
			int idx = link_ifindex(t->name);
			if (idx != ifindex)
				continue;
			t->ifindex = idx;
		}
		set_state(t, up ? TRACK_UP : TRACK_DOWN);
		touched = true;
	}
	if (touched)
		recompute(ts, true);
}

void track_set_poll_backends(struct track_set *ts)
{
	poll_backends(ts);
	recompute(ts, true);
}

size_t track_set_count(const struct track_set *ts) { return ts->n; }

const struct tracker *track_set_get(const struct track_set *ts, size_t i)
{
	return i < ts->n ? &ts->t[i] : NULL;
}

bool track_pool_backend_ok(void *pool, size_t backend_idx, const char *name, uint64_t now_ms)
{
	struct pool *p = pool;
	struct backend *b = NULL;
	if (backend_idx < p->n_backends && name && p->backends[backend_idx]->cfg.name &&
	    strcmp(p->backends[backend_idx]->cfg.name, name) == 0)
		b = p->backends[backend_idx];
	else if (name)
		b = pool_find_backend(p, name);
	return b && backend_has_eligible(b, now_ms);
}
