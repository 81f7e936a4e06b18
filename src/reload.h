/* Hot reload (SIGHUP, `buoy reload`): load and validate the config file again; if it is
 * invalid, change nothing; if it is valid, apply the difference (reload_plan.h) to the running
 * modules without dropping a connection.
 *
 * Order: everything that can fail first (load, validate, TLS files of health checks, new
 * objects, binding added listeners in every worker), then the commit, which cannot fail:
 * publish the pool's new server sets, the workers' new listener table, restart health checks
 * (kept servers carry their state), re-initialise changed VRRP instances only.
 *
 * Memory: server sets, servers, backends, listeners and listener tables a reload replaces are
 * retired: workers read them without locks, so they are freed only once every worker has passed
 * a quiescent point (core/grace.h) and no connection holds them (a connection holds its set and
 * listener, and through the set its server, backend and config strings). Configs are reference
 * counted on the main thread (config_hold): the daemon holds the one in force, and every set,
 * listener, VRRP instance, sync, bgp and discovery hold the one they point into. A pass runs
 * after every reload and then while anything is pending, every 250 ms backing off to 4 s while
 * nothing more can go (running_reclaim). Discovery
 * applies through this path too (reload_apply_servers), so membership changes cost nothing
 * once their connections are gone. */
#ifndef BUOY_RELOAD_H
#define BUOY_RELOAD_H
#include <stddef.h>

#include "config/config.h"
#include "core/loop.h"
#include "core/strbuf.h"

struct pool;
struct proxy;
struct health;
struct vrrp_set;
struct bgp;
struct intercept;
struct sync;
struct discover;

/* What runs: the daemon's modules, swapped or updated in place by a reload. */
struct running {
	struct loop *loop;
	struct config *cfg;          /* in force */
	struct pool *pool;           /* updated in place (same object) */
	struct proxy *proxy;         /* same object */
	struct health *health;       /* restarted */
	struct vrrp_set *vrrp;       /* same object, or a new one; NULL = no VRRP */
	struct bgp *bgp;             /* same object, started or stopped; NULL = no bgp: */
	struct intercept *intercept; /* created with the first interception; NULL = never any */
	struct sync *sync;           /* NULL = no sync: section */
	struct discover *discover;   /* NULL = no backend has discover: */
	struct timer reclaim;        /* the next reclaim pass, while something is pending */
	uint64_t reclaim_ms;         /* its period: 250 ms, doubling to 4 s while nothing goes */
	size_t reclaim_last;         /* pending after the last pass */
	struct config **dropped;     /* configs replaced in this batch: released by the next pass */
	size_t n_dropped;
};

/* Reloads from run->cfg->file. Returns 0 with a one-line summary in out, or -1 with every
 * error (one per line, config errors as FILE:LINE:COL: message) in out; nothing changed then —
 * except when the summary line ("reloaded ...") is there too: the new config is in force but a
 * part of it could not start (health checks, a VRRP instance), said on "error:" lines.
 * `source` ("SIGHUP", "control") goes into the log lines. */
int reload_run(struct running *run, const char *source, struct strbuf *out);
/* Same with an already loaded config (taken over on success, freed on failure). */
int reload_apply(struct running *run, struct config *nc, const char *source, struct strbuf *out);
/* Frees what reloads retired and nothing uses any more (see above); arms run->reclaim while
 * something is pending. Returns how many retired objects are pending. */
size_t running_reclaim(struct running *run);
/* Before the first reclaim: the timer. */
void running_init(struct running *run);
/* At exit, after the modules are freed: the daemon's holds on replaced configs. */
void running_release_dropped(struct running *run);
/* Discovery's apply (discover.h): the config in force with backend's servers replaced by
 * v[0..n), applied as a reload would (added servers start down and pass health checks first;
 * removed ones keep their connections). 0, or -1 with the reason in err. */
int reload_apply_servers(struct running *run, const char *backend, const struct cfg_server *v,
			 size_t n, char *err, size_t errlen);
/* Points run->vrrp's state changes at run->sync, and tells sync whether run->bgp carries
 * traffic (anycast peers hear it); after vrrp_start and sync_start, and by reloads. */
void running_watch_vrrp(struct running *run);

#endif
