/* Operator interfaces on the main loop: the control socket (`buoy status|drain|enable|reload`)
 * and the Prometheus endpoint (GET /metrics). Both read the daemon's state through one
 * struct ctl_sources that the daemon owns and updates on reload. */
#ifndef BUOY_CTL_H
#define BUOY_CTL_H
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "core/loop.h"
#include "ctl/snapshot.h"
#include "core/strbuf.h"

struct pool;
struct proxy;
struct vrrp_set;
struct bgp;
struct intercept;
struct sync;
struct discover;

struct ctl_sources {
	const struct config *cfg;
	struct pool *pool;
	struct proxy *proxy;         /* listener counters; NULL = none */
	struct vrrp_set *vrrp;       /* NULL = no VRRP */
	struct bgp *bgp;             /* NULL = no bgp: */
	struct sync *sync;           /* NULL = no sync: */
	struct intercept *intercept; /* NULL = no interception ever configured */
	struct discover *discover;   /* NULL = no discovery */
	uint64_t started_ms;         /* monotonic (loop clock) */
	int64_t started_unix;        /* wall clock, for buoy_start_time_seconds */
	/* `buoy reload`: apply the config file again. Returns 0 or -1; writes a summary or every
	 * error (one per line) to out. NULL: reload is refused. */
	int (*reload)(void *arg, struct strbuf *out);
	void *reload_arg;
};

/* Copies the current state (main thread). Returns 0, or -1 when out of memory. */
int snapshot_take(struct snapshot *s, const struct ctl_sources *src, uint64_t now_ms);

/* Runs one control request line ("status", "status text", "drain B S", "enable B S",
 * "reload", "help") and writes the response body to out. Returns 0 (ok) or -1 (error; out holds
 * the message). Used by the socket server; exposed for tests. */
int ctl_execute(const struct ctl_sources *src, const char *line, uint64_t now_ms, struct strbuf *out);

/* Control socket at src->cfg->control_socket: parent directory created (0755) if missing, a
 * stale socket replaced, mode 0600. Returns NULL (logged) on error, or when no path is set
 * (then errno is 0). */
struct ctl_server *ctl_server_start(struct loop *l, const struct ctl_sources *src);
/* Closes every connection, removes the socket file. NULL is fine. */
void ctl_server_stop(struct ctl_server *s);
/* Before a privilege drop: the socket (and its directory, when buoy created it) owned by the
 * user buoy will run as, so that user can remove it at exit (docs/status.md). 0 or -1. */
int ctl_server_chown(struct ctl_server *s, uid_t uid, gid_t gid);

/* HTTP on src->cfg->metrics_listen when src->cfg->metrics_enabled. NULL (logged) on error. */
struct metrics_server *metrics_server_start(struct loop *l, const struct ctl_sources *src);
void metrics_server_stop(struct metrics_server *m);

#endif
