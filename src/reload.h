/* Hot reload (SIGHUP, `buoy reload`): load and validate the config file again; if it is
 * invalid, change nothing; if it is valid, apply the difference (reload_plan.h) to the running
 * modules without dropping a connection.
 *
 * Order: everything that can fail first (load, validate, TLS files of health checks, new
 * objects, binding added listeners in every worker), then the commit, which cannot fail:
 * publish the pool's new server sets, the workers' new listener table, restart health checks
 * (kept servers carry their state), re-initialise changed VRRP instances only.
 *
 * Memory: configs, server sets, servers, backends and listeners a reload replaces are retired,
 * not freed, until exit (a few KB per reload; a daemon reloads rarely). That is what lets
 * workers read them without locks or grace periods: nothing they can reach is ever freed.
 * Discovery applies through this path too (reload_apply_servers): about 2 KB stays retired per
 * applied membership change (measured: 10 000 changes, RSS 8.4 -> 30.3 MB, fds flat at 14). */
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
	struct config **retired;     /* earlier configs, freed by running_free_retired() */
	size_t n_retired;
};

/* Reloads from run->cfg->file. Returns 0 with a one-line summary in out, or -1 with every
 * error (one per line, config errors as FILE:LINE:COL: message) in out; nothing changed then —
 * except when the summary line ("reloaded ...") is there too: the new config is in force but a
 * part of it could not start (health checks, a VRRP instance), said on "error:" lines.
 * `source` ("SIGHUP", "control") goes into the log lines. */
int reload_run(struct running *run, const char *source, struct strbuf *out);
/* Same with an already loaded config (taken over on success, freed on failure). */
int reload_apply(struct running *run, struct config *nc, const char *source, struct strbuf *out);
void running_free_retired(struct running *run);
/* Discovery's apply (discover.h): the config in force with backend's servers replaced by
 * v[0..n), applied as a reload would (added servers start down and pass health checks first;
 * removed ones keep their connections). 0, or -1 with the reason in err. */
int reload_apply_servers(struct running *run, const char *backend, const struct cfg_server *v,
			 size_t n, char *err, size_t errlen);
/* Points run->vrrp's state changes at run->sync, and tells sync whether run->bgp carries
 * traffic (anycast peers hear it); after vrrp_start and sync_start, and by reloads. */
void running_watch_vrrp(struct running *run);

#endif
