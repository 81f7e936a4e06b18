#include "core/version.h"
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "bgp/bgp.h"
#include "intercept/intercept.h"
#include "intercept/nftrules.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/privdrop.h"
#include "core/spawn.h"
#include "ctl/ctl.h"
#include "discover/discover.h"
#include "health/check.h"
#include "proxy/pool.h"
#include "proxy/proxy.h"
#include "reload.h"
#include "sync/sync.h"
#include "vrrp/vrrp.h"

#define DRAIN_POLL_MS 50

struct daemon {
	struct running run; /* cfg, loop, pool, proxy, health, vrrp: reload swaps them */
	struct io sig_io;
	struct timer drain;
	uint64_t drain_deadline;
	bool stopping;
	bool accept_stopped;
	int exit_code;
	/* CTL: what `buoy status` and /metrics read; a reload updates it in place */
	struct ctl_sources ctl_src;
	struct ctl_server *ctl;
	struct metrics_server *metrics;
};

/* The redirect goes first: VIP:port is then served where the VIP is (on the holder by its own
 * server), never redirected to a port that no longer accepts. */
static void stop_accepting(struct daemon *d)
{
	if (d->accept_stopped)
		return;
	intercept_remove(d->run.intercept);
	proxy_stop_accepting(d->run.proxy);
	d->accept_stopped = true;
}

static void drain_tick(struct loop *l, struct timer *t)
{
	struct daemon *d = t->arg;
	if (!d->accept_stopped) {
		/* BGP: the router moves new flows away during the shutdown delay; serve them */
		if (loop_now(l) < bgp_stop_due(d->run.bgp)) {
			timer_arm_in(l, t, DRAIN_POLL_MS);
			return;
		}
		stop_accepting(d);
		d->drain_deadline = loop_now(l) + d->run.cfg->shutdown_grace_ms;
	}
	uint64_t left = proxy_active_conns(d->run.proxy);
	/* VRRP: let STOP notifications finish; sync: the handover tickles */
	if (left == 0 && !vrrp_busy(d->run.vrrp) && !sync_busy(d->run.sync)) {
		log_info("drained", "connections=0");
		loop_stop(l);
		return;
	}
	if (loop_now(l) >= d->drain_deadline) {
		log_warn("shutdown grace expired", "closing=%llu", (unsigned long long)left);
		proxy_close_all(d->run.proxy);
		loop_stop(l);
		return;
	}
	timer_arm_in(l, t, DRAIN_POLL_MS);
}

static void begin_shutdown(struct daemon *d, int signo)
{
	if (d->stopping) {
		log_warn("second signal, closing now", "signal=%s", strsignal(signo));
		d->drain_deadline = 0;
		stop_accepting(d);
		return;
	}
	d->stopping = true;
	log_info("shutting down", "signal=%s grace_ms=%llu connections=%llu", strsignal(signo),
		 (unsigned long long)d->run.cfg->shutdown_grace_ms,
		 (unsigned long long)proxy_active_conns(d->run.proxy));
	/* hand the VIP over first (priority 0 advert, VIPs removed), then stop accepting */
	if (d->run.vrrp)
		vrrp_shutdown(d->run.vrrp);
	bgp_shutdown(d->run.bgp); /* withdraw, then stop accepting after its delay (drain_tick) */
	d->drain_deadline = loop_now(d->run.loop) + d->run.cfg->shutdown_grace_ms;
	timer_arm_in(d->run.loop, &d->drain, 0);
}

/* Discovery changed a backend's servers: applied like a reload of the config in force. */
static int daemon_discovered(
	void *arg, const char *backend, const struct cfg_server *v, size_t n, char *err, size_t errlen)
{
	struct daemon *d = arg;
	if (d->stopping) {
		snprintf(err, errlen, "shutting down");
		return -1;
	}
	int rc = reload_apply_servers(&d->run, backend, v, n, err, errlen);
	d->ctl_src.cfg = d->run.cfg;
	return rc;
}

/* SIGHUP and `buoy reload`. Returns 0 or -1 with every error, one per line, in out. */
static int daemon_reload_from(struct daemon *d, const char *source, struct strbuf *out)
{
	if (d->stopping) {
		log_warn("reload refused", "source=%s reason=\"shutting down\"", source);
		sb_puts(out, "reload refused: shutting down\n");
		return -1;
	}
	int rc = reload_run(&d->run, source, out);
	for (size_t i = 0; i < d->run.cfg->n_backends && !d->run.discover; i++)
		if (d->run.cfg->backends[i].discover) /* the first discover: block, by a reload */
			d->run.discover = discover_start(d->run.loop, d->run.cfg, daemon_discovered, d);
	d->ctl_src.discover = d->run.discover;
	/* the control socket and /metrics read through ctl_src: point it at what now runs */
	d->ctl_src.cfg = d->run.cfg;
	d->ctl_src.vrrp = d->run.vrrp;
	d->ctl_src.bgp = d->run.bgp;
	d->ctl_src.sync = d->run.sync;
	d->ctl_src.intercept = d->run.intercept;
	return rc;
}

static int daemon_reload(void *arg, struct strbuf *out)
{
	return daemon_reload_from(arg, "control", out);
}

/* CTL: the control socket and /metrics on the main loop. Either failing is fatal: an operator
 * must be able to see and steer what runs. Started before the listeners and VRRP so that a
 * second daemon started by mistake (same socket) gives up before it touches anything; the
 * proxy and vrrp pointers are filled in once they exist (requests are only served in loop_run). */
static int start_ctl(struct daemon *d)
{
	d->ctl_src = (struct ctl_sources){
		.cfg = d->run.cfg,
		.pool = d->run.pool,
		.started_ms = loop_now(d->run.loop),
		.started_unix = (int64_t)time(NULL),
		.reload = daemon_reload,
		.reload_arg = d,
	};
	d->ctl = ctl_server_start(d->run.loop, &d->ctl_src);
	if (!d->ctl && d->run.cfg->control_socket && *d->run.cfg->control_socket)
		return -1;
	d->metrics = metrics_server_start(d->run.loop, &d->ctl_src);
	if (!d->metrics && d->run.cfg->metrics_enabled)
		return -1;
	return 0;
}

/* The control socket belongs to the user buoy runs as (docs/status.md). */
static int own_control_socket(struct daemon *d, const char *user)
{
	struct spawn_user u;
	if (spawn_user_lookup(user, &u) < 0)
		return 0; /* privdrop_apply reports the unknown user */
	if (ctl_server_chown(d->ctl, u.uid, u.gid) < 0) {
		log_error("startup failed", "reason=\"control socket owner\" user=%s err=\"%s\"",
			  user, strerror(errno));
		return -1;
	}
	return 0;
}

static void on_signal(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	(void)ev;
	struct daemon *d = io->arg;
	struct signalfd_siginfo si;
	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT: begin_shutdown(d, (int)si.ssi_signo); break;
		case SIGHUP: {
			struct strbuf out = { 0 };
			daemon_reload_from(d, "SIGHUP", &out); /* logged; nobody to answer */
			sb_free(&out);
			break;
		}
		default: break;
		}
	}
}

/* Signals are blocked in every thread (set before the workers start) and read from a signalfd. */
static int setup_signals(struct daemon *d)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN); /* splice/send to a reset peer must not kill us */
	d->sig_io.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->sig_io.cb = on_signal;
	d->sig_io.arg = d;
	if (d->sig_io.fd < 0)
		return -1;
	return loop_add(d->run.loop, &d->sig_io, EPOLLIN);
}

/* Every proxied connection needs two descriptors: take the whole hard limit, as haproxy does,
 * rather than stalling at ~500 connections under a shell's default soft limit of 1024. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_info("open files limit raised", "from=%llu to=%llu", (unsigned long long)was,
			 (unsigned long long)rl.rlim_max);
}

int daemon_run(struct config *cfg)
{
	struct daemon d = { .run.cfg = cfg, .sig_io.fd = -1 };
	config_hold(cfg); /* the daemon's hold on the config in force; released at exit */
	log_set_level((enum log_level)cfg->log_level);
	raise_nofile();
	d.run.loop = loop_new();
	if (!d.run.loop || setup_signals(&d) < 0) {
		log_error("startup failed", "reason=\"%s\"", strerror(errno));
		config_release(cfg);
		return 1;
	}
	timer_init(&d.drain, drain_tick, &d);
	running_init(&d.run);
	d.run.pool = pool_new(cfg);
	if (!d.run.pool) {
		log_error("startup failed", "reason=\"out of memory\"");
		config_release(cfg);
		return 1;
	}
	if (start_ctl(&d) < 0) {
		log_error("startup failed", "reason=\"control or metrics\"");
		d.exit_code = 1;
		goto out;
	}
	d.run.proxy = proxy_start(cfg, d.run.pool);
	if (!d.run.proxy) {
		d.exit_code = 1;
		goto out;
	}
	if (nftrules_count(cfg)) { /* after the listeners are bound: a redirect never hits a closed port */
		char err[300];
		d.run.intercept = intercept_new();
		if (!d.run.intercept || intercept_apply(d.run.intercept, cfg, err, sizeof(err)) < 0) {
			log_error("startup failed", "reason=\"intercept\" err=\"%s\"",
				  d.run.intercept ? err : "out of memory");
			d.exit_code = 1;
			goto out;
		}
	}
	d.run.health = health_start(d.run.loop, d.run.pool);
	if (!d.run.health) { /* e.g. an unreadable TLS file: running unchecked would mislead */
		log_error("startup failed", "reason=\"health checks\"");
		d.exit_code = 1;
		goto out;
	}
	if (cfg->n_vrrp) {
		d.run.vrrp = vrrp_start(d.run.loop, cfg, d.run.pool);
		if (!d.run.vrrp) {
			log_error("startup failed", "reason=\"vrrp\"");
			d.exit_code = 1;
			goto out;
		}
	}
	if (cfg->sync) { /* raw sockets: before the privilege drop */
		d.run.sync = sync_start(d.run.loop, cfg, d.run.proxy);
		if (!d.run.sync) {
			log_error("startup failed", "reason=\"sync\"");
			d.exit_code = 1;
			goto out;
		}
	}
	running_watch_vrrp(&d.run);
	if (cfg->bgp) {
		d.run.bgp = bgp_start(d.run.loop, cfg, d.run.pool);
		if (!d.run.bgp) {
			log_error("startup failed", "reason=\"bgp\"");
			d.exit_code = 1;
			goto out;
		}
	}
	/* after everything it may reload is up; never waited for: the API is not needed */
	for (size_t i = 0; i < cfg->n_backends && !d.run.discover; i++)
		if (cfg->backends[i].discover &&
		    !(d.run.discover = discover_start(d.run.loop, cfg, daemon_discovered, &d))) {
			log_error("startup failed", "reason=\"discovery: out of memory\"");
			d.exit_code = 1;
			goto out;
		}
	d.ctl_src.discover = d.run.discover;
	/* every socket that needs root exists now: drop to cfg->user (core/privdrop.h) */
	if (cfg->user && own_control_socket(&d, cfg->user) < 0) {
		d.exit_code = 1;
		goto out;
	}
	if (privdrop_apply(cfg->user) < 0) {
		log_error("startup failed", "reason=\"privilege drop\"");
		d.exit_code = 1;
		goto out;
	}
	d.ctl_src.proxy = d.run.proxy;
	d.ctl_src.vrrp = d.run.vrrp;
	d.ctl_src.bgp = d.run.bgp;
	d.ctl_src.sync = d.run.sync;
	d.ctl_src.intercept = d.run.intercept;
	log_info("started", "node=%s version=%s listeners=%zu backends=%zu workers=%u", cfg->node,
		 buoy_version, cfg->n_listeners, cfg->n_backends, cfg->workers);
	loop_run(d.run.loop);
out:
	discover_free(d.run.discover); /* its apply calls reach the modules below */
	ctl_server_stop(d.ctl);
	metrics_server_stop(d.metrics);
	intercept_free(d.run.intercept); /* before the listeners close */
	sync_free(d.run.sync, false);    /* before the workers' logs go */
	proxy_free(d.run.proxy);
	health_stop(d.run.health);
	vrrp_free(d.run.vrrp);
	bgp_free(d.run.bgp);
	pool_free(d.run.pool);
	timer_cancel(d.run.loop, &d.run.reclaim);
	running_release_dropped(&d.run);
	config_release(d.run.cfg); /* every other holder is gone: this frees it */
	close(d.sig_io.fd);
	loop_free(d.run.loop);
	log_info("stopped", "exit=%d", d.exit_code);
	return d.exit_code;
}
