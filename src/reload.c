/* Hot reload: the shell around reload_plan.c (see reload.h). */
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "discover/discover.h"
#include "health/check.h"
#include "health/state.h"
#include "health/tls.h"
#include "intercept/intercept.h"
#include "proxy/pool.h"
#include "proxy/proxy.h"
#include "reload_plan.h"
#include "bgp/bgp.h"
#include "sync/sync.h"
#include "vrrp/vrrp.h"

static void fail_line(struct strbuf *out, const char *source, const char *line)
{
	char safe[1024];
	health_reason_copy(safe, sizeof(safe), line); /* quotes would break the logfmt value */
	log_error("reload failed", "source=%s error=\"%s\"", source, safe);
	sb_printf(out, "%s\n", line);
}

struct fail_to {
	struct strbuf *out;
	const char *source;
};

static void fail_emit(void *arg, const char *line)
{
	struct fail_to *f = arg;
	fail_line(f->out, f->source, line);
}

/* TLS files of health checks are read when checks start, after the commit: read them now so a
 * missing CA or key rejects the reload instead of leaving a backend unchecked. */
struct preflight_ctx {
	const struct config *c;
	const char *source;
	struct strbuf *out;
};

static void preflight_bad(void *arg, size_t i, const struct cfg_backend *b, const char *why)
{
	(void)i;
	struct preflight_ctx *p = arg;
	char line[700];
	snprintf(line, sizeof(line), "%s: backend %s: health check: %s", p->c->file, b->name, why);
	fail_line(p->out, p->source, line);
}

static int preflight_health(const struct config *c, const char *source, struct strbuf *out)
{
	struct preflight_ctx p = { c, source, out };
	return health_tls_preflight(c, preflight_bad, &p) ? -1 : 0;
}

/* Settings only a restart applies: kept as they run, said in the log and to the caller. */
static void warn_restart_only(const struct reload_plan *p, struct strbuf *out)
{
	const char *what[] = {
		p->workers_changed ? "workers" : NULL,
		p->control_changed ? "control.socket" : NULL,
		p->metrics_changed ? "metrics" : NULL,
		p->user_changed ? "user" : NULL,
		p->fast_path_changed ? "fast_path" : NULL,
	};
	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		if (!what[i])
			continue;
		log_warn("reload keeps setting", "setting=%s reason=\"needs a restart\"", what[i]);
		sb_printf(out, "note: %s changed: kept as it runs until a restart\n", what[i]);
	}
}

/* VRRP: unchanged instances keep running as they are; changed, added and removed ones are
 * re-initialised / started / stopped by vrrp_reload(). */
static int apply_vrrp(
	struct running *run, const struct config *nc, const struct reload_plan *p, struct strbuf *out)
{
	if (!run->vrrp && nc->n_vrrp == 0)
		return 0;
	bool any = p->vrrp.changed || p->vrrp.added || p->vrrp.removed;
	if (!any)
		return 0;
	if (!run->vrrp) {
		run->vrrp = vrrp_start(run->loop, nc, run->pool);
		if (!run->vrrp) {
			sb_puts(out, "error: vrrp could not start (see log)\n");
			return -1;
		}
		return 0;
	}
	bool *keep = calloc(nc->n_vrrp ? nc->n_vrrp : 1, sizeof(*keep));
	bool *update = calloc(nc->n_vrrp ? nc->n_vrrp : 1, sizeof(*update));
	if (!keep || !update) {
		free(keep);
		free(update);
		return -1;
	}
	for (size_t i = 0; i < nc->n_vrrp; i++) {
		update[i] = p->vrrp_change[i] == RELOAD_UPDATED; /* in place: no VIP move */
		keep[i] = p->vrrp_change[i] == RELOAD_KEPT || update[i];
	}
	int rc = vrrp_reload(run->vrrp, nc, p->vrrp_old, keep, update);
	free(keep);
	free(update);
	if (rc < 0)
		sb_puts(out, "error: a vrrp instance could not start (see log)\n");
	return rc;
}

/* BGP: started, stopped, or handed the new config (its trackers name backends, so also when
 * only backends changed; an unchanged bird.conf costs BIRD nothing). */
static int apply_bgp(struct running *run, const struct config *nc, struct strbuf *out)
{
	if (!nc->bgp) {
		bgp_free(run->bgp);
		run->bgp = NULL;
		return 0;
	}
	if (run->bgp) {
		if (bgp_reload(run->bgp, nc) == 0)
			return 0;
		sb_puts(out, "error: bgp reload failed (see log)\n");
		return -1;
	}
	run->bgp = bgp_start(run->loop, nc, run->pool);
	if (!run->bgp) {
		sb_puts(out, "error: bgp could not start (see log)\n");
		return -1;
	}
	return 0;
}

/* nftables redirects: one atomic transaction; refused, the old rules stay (said in out). Runs
 * after the proxy commit, so a new listener is bound before traffic is sent to it. */
static int apply_intercept(
	struct running *run, const struct config *nc, const struct reload_plan *p, struct strbuf *out)
{
	char err[300];
	if (!p->intercept_changed)
		return 0;
	if (!run->intercept && !(run->intercept = intercept_new())) {
		sb_puts(out, "error: intercept: out of memory\n");
		return -1;
	}
	if (intercept_apply(run->intercept, nc, err, sizeof(err)) == 0)
		return 0;
	sb_printf(out, "error: intercept not updated, the old redirects stay: %s\n", err);
	return -1;
}

/* Connection sync: updated in place, or a new engine (bound before the old one goes, whose
 * workers' logs it takes over), or stopped. */
static int apply_sync(struct running *run, const struct config *nc, struct strbuf *out)
{
	if (!nc->sync) {
		sync_free(run->sync, false);
		run->sync = NULL;
		return 0;
	}
	if (run->sync && sync_reload(run->sync, nc) == 0)
		return 0;
	struct sync *s = sync_start(run->loop, nc, run->proxy);
	if (!s) {
		sb_puts(out, "error: sync could not start (see log)\n");
		return -1;
	}
	sync_free(run->sync, true);
	run->sync = s;
	return 0;
}

static void on_vrrp_change(void *arg, const struct cfg_vrrp *inst, enum vrrp_state from, enum vrrp_state to)
{
	struct running *run = arg;
	sync_on_vrrp(run->sync, inst, from, to);
}

/* Anycast: we carry traffic when BIRD runs, a session is up and something is announced. */
static bool bgp_serving(void *arg)
{
	struct running *run = arg;
	if (!run->bgp)
		return false;
	struct bgp_status st;
	bgp_get_status(run->bgp, &st);
	bool up = false, announced = false;
	for (size_t i = 0; st.bird_running && i < st.n_peers && !up; i++) {
		struct bgp_peer_status p;
		bgp_get_peer(run->bgp, i, &p);
		up = p.up;
	}
	for (size_t i = 0; up && i < st.n_announce && !announced; i++) {
		struct bgp_announce_status a;
		bgp_get_announce(run->bgp, i, &a);
		announced = a.announced;
	}
	return up && announced;
}

void running_watch_vrrp(struct running *run)
{
	vrrp_set_observer(run->vrrp, on_vrrp_change, run);
	sync_set_serving(run->sync, bgp_serving, run);
}

/* The pass while something is pending: soon after a change (grace periods end within a worker
 * iteration), then less often while only long-lived connections hold what is left. */
#define RECLAIM_MS 250
#define RECLAIM_MAX_MS 4000

void running_release_dropped(struct running *run)
{
	for (size_t i = 0; i < run->n_dropped; i++)
		config_release(run->dropped[i]);
	free(run->dropped);
	run->dropped = NULL;
	run->n_dropped = 0;
}

size_t running_reclaim(struct running *run)
{
	running_release_dropped(run); /* what still points into them holds them */
	/* listeners first: a removed backend waits for them as well as for its sets */
	size_t pending = (run->proxy ? proxy_reclaim(run->proxy) : 0) + pool_reclaim(run->pool);
	if (!pending || pending < run->reclaim_last) /* progress: keep looking soon */
		run->reclaim_ms = RECLAIM_MS;
	else if (run->reclaim_ms < RECLAIM_MAX_MS)
		run->reclaim_ms *= 2;
	run->reclaim_last = pending;
	if (pending && !timer_armed(&run->reclaim))
		timer_arm_in(run->loop, &run->reclaim, run->reclaim_ms);
	return pending;
}

static void reclaim_tick(struct loop *l, struct timer *t)
{
	(void)l;
	running_reclaim(t->arg);
}

void running_init(struct running *run)
{
	timer_init(&run->reclaim, reclaim_tick, run);
	run->reclaim_ms = RECLAIM_MS;
}

/* Everything is prepared: swap. The new config is in force afterwards (held; the caller
 * releases *old when nothing reads it any more); returns -1 when a part could not start
 * (health checks, a VRRP instance: logged, said in out). */
static int commit(
	struct running *run, struct config *nc, const struct reload_plan *p, struct pool_update *pu,
	struct proxy_update *xu, struct strbuf *out, struct config **old)
{
	health_stop(run->health); /* its check objects point at servers being retired */
	run->health = NULL;
	pool_update_commit(run->pool, pu);
	proxy_update_commit(run->proxy, xu, nc, true);
	int rc = 0;
	run->health = health_start(run->loop, run->pool);
	if (!run->health) {
		log_error("health checks not restarted", "reason=\"see above\"");
		sb_puts(out, "error: health checks could not start (see log)\n");
		rc = -1;
	}
	if (apply_sync(run, nc, out) < 0) /* first: it hears the handovers vrrp makes */
		rc = -1;
	if (apply_vrrp(run, nc, p, out) < 0)
		rc = -1;
	running_watch_vrrp(run);
	if (apply_bgp(run, nc, out) < 0)
		rc = -1;
	if (apply_intercept(run, nc, p, out) < 0)
		rc = -1;
	log_set_level((enum log_level)nc->log_level);
	warn_restart_only(p, out);
	*old = run->cfg;
	run->cfg = nc;
	config_hold(nc);
	return rc;
}

int reload_apply(struct running *run, struct config *nc, const char *source, struct strbuf *out)
{
	uint64_t t0 = mono_ms();
	struct reload_plan plan;
	char err[512];
	/* what discovery applied survives a reload of the file (the file's list is the seed) */
	if (discover_overlay(run->discover, nc) < 0 || reload_plan_make(run->cfg, nc, &plan) < 0) {
		fail_line(out, source, "out of memory");
		config_free(nc);
		return -1;
	}
	struct pool_update *pu = NULL;
	struct proxy_update *xu = NULL;
	if (reload_plan_is_noop(&plan)) {
		/* nothing to do: keep everything, retire nothing (periodic reloads cost nothing) */
		log_info("reloaded", "source=%s file=%s unchanged=true duration_ms=%llu", source,
			 nc->file, (unsigned long long)(mono_ms() - t0));
		sb_printf(out, "reloaded %s: unchanged\n", nc->file);
		reload_plan_free(&plan);
		config_free(nc);
		return 0;
	}
	if (preflight_health(nc, source, out) < 0)
		goto fail;
	if (!(pu = pool_update_prepare(run->pool, nc))) {
		fail_line(out, source, "out of memory");
		goto fail;
	}
	xu = proxy_update_prepare(
		run->proxy, nc, pool_update_backends(pu), plan.listener_old, err, sizeof(err));
	if (!xu) {
		char line[600];
		snprintf(line, sizeof(line), "%s: %s", nc->file, err);
		fail_line(out, source, line);
		goto fail;
	}
	struct config *old = NULL;
	int rc = commit(run, nc, &plan, pu, xu, out, &old);
	if (run->discover && strcmp(source, "discovery"))
		discover_reconfigure(run->discover, run->cfg);
	/* released by a pass after this batch: a late event of it may still read it */
	struct config **v = realloc(run->dropped, (run->n_dropped + 1) * sizeof(*v));
	if (v) {
		v[run->n_dropped++] = old;
		run->dropped = v;
	} /* else: it stays held (leaked) rather than freed under a reader */
	run->reclaim_ms = RECLAIM_MS;
	timer_arm_in(run->loop, &run->reclaim, 0);
	char sum[400];
	reload_plan_summary(&plan, sum, sizeof(sum));
	uint64_t ms = mono_ms() - t0;
	log_info("reloaded", "source=%s file=%s %s duration_ms=%llu", source, run->cfg->file, sum,
		 (unsigned long long)ms);
	sb_printf(out, "reloaded %s: %s duration_ms=%llu\n", run->cfg->file, sum,
		  (unsigned long long)ms);
	reload_plan_free(&plan);
	return rc; /* -1: applied, but a part did not start (exit non-zero so it is seen) */
fail:
	pool_update_abort(pu);
	log_warn("reload rejected, old config kept", "source=%s file=%s", source, nc->file);
	reload_plan_free(&plan);
	config_free(nc);
	return -1;
}

int reload_run(struct running *run, const char *source, struct strbuf *out)
{
	const char *path = run->cfg->file ? run->cfg->file : BUOY_DEFAULT_CONFIG;
	log_info("reloading", "source=%s file=%s", source, path);
	struct config_errors errs = { 0 };
	struct config *nc = config_load(path, &errs);
	if (!nc) {
		struct fail_to f = { out, source };
		config_errors_report(&errs, path, fail_emit, &f);
		log_warn("reload rejected, old config kept", "source=%s file=%s errors=%zu", source,
			 path, errs.n);
		config_errors_free(&errs);
		return -1;
	}
	config_errors_free(&errs);
	return reload_apply(run, nc, source, out);
}

int reload_apply_servers(struct running *run, const char *backend, const struct cfg_server *v,
			 size_t n, char *err, size_t errlen)
{
	size_t bi = 0;
	while (bi < run->cfg->n_backends && strcmp(run->cfg->backends[bi].name, backend))
		bi++;
	if (bi == run->cfg->n_backends) {
		snprintf(err, errlen, "no backend %s", backend);
		return -1;
	}
	struct config *nc = config_derive(run->cfg);
	if (!nc || config_set_servers(nc, bi, v, n) < 0) {
		config_free(nc);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct strbuf out = { 0 };
	int rc = reload_apply(run, nc, "discovery", &out);
	if (rc < 0)
		snprintf(err, errlen, "%s", sb_str(&out));
	sb_free(&out);
	return rc;
}
