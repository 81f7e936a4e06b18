/* Private to src/bgp: the engine's state, shared by bgp.c (announcements, lifecycle) and
 * bird.c (the BIRD child and its control socket). */
#ifndef BUOY_BGP_INTERNAL_H
#define BUOY_BGP_INTERNAL_H
#include <limits.h>
#include <netinet/in.h>

#include "bgp/bgp.h"
#include "bgp/birdctl.h"
#include "bgp/gate.h"
#include "core/spawn.h"
#include "track/track.h"
#include "netlink/vip.h"

struct bgp_ann {
	const struct cfg_bgp_announce *cfg;
	struct bgp *bgp;
	struct track_set *track;
	struct gate gate;
	enum gate_reason reason;
	char why[160]; /* for status: the reason with the failing trackers */
	struct ip_addr addr;
	bool on_lo;           /* we added it (removed at exit) */
	bool confirmed;       /* announced in the config BIRD last confirmed */
	bool degraded;        /* unfit, not strict: announced with a worse path */
	char reason_buf[200]; /* status text, filled by bgp_get_announce */
};

struct bgp_peer {
	const struct cfg_bgp_peer *cfg;
	char proto[80]; /* BIRD protocol name */
	char state[32]; /* BIRD's info column, or "down" */
	bool up;
	int64_t since_unix;
	char bfd[16];
};

enum bird_cmd { CMD_NONE, CMD_GREETING, CMD_CONFIGURE, CMD_PROTOCOLS, CMD_BFD };

struct bgp {
	struct loop *loop;
	const struct config *cfg;
	const struct cfg_bgp *b;
	const struct config *held; /* cfg's strings: held while running (config_hold) */
	struct pool *pool;
	struct in_addr router_id;
	char bird_path[PATH_MAX], conf_path[PATH_MAX], sock_path[PATH_MAX];
	struct bgp_ann *ann;
	size_t n_ann;
	struct bgp_peer *peers;
	size_t n_peers;
	struct timer recheck; /* hold-down ends */
	bool stopping;
	uint64_t stop_due_ms;
	int lo_ifindex;

	/* bird.conf generations: written, loaded by the running BIRD, asked by `configure` */
	uint64_t conf_gen, bird_gen, asked_gen;
	bool *file_set;                  /* announced[] as written in the file (n_ann) */
	bool *asked_set;                 /* file_set when `configure` was sent (n_ann) */
	bool *bird_set;                  /* as in the config BIRD runs (n_ann) */
	bool *file_degraded;             /* degraded[] as written in the file (n_ann) */
	uint64_t withdraw_pending_since; /* 0 = none: BIRD still exports something we withdrew */

	/* the child */
	struct child child;
	struct timer restart;
	uint64_t backoff_ms;
	uint64_t bird_started_ms;
	bool bird_ready; /* greeted us since it started: it has read its file */
	uint64_t bird_starts_total;
	char bird_error[160];

	/* the control socket */
	struct io ctl; /* fd -1 = closed */
	struct birdctl_reader rd;
	enum bird_cmd cmd;
	uint64_t cmd_sent_ms;
	int reply_code; /* last line's code of the current reply */
	char reply_text[160];
	bool want_bfd_next;
	struct timer poll;
	uint64_t configures_total, configure_failures_total, ctl_errors_total;
};

/* bird.c */
void bird_start(struct bgp *b);
void bird_stop(struct bgp *b);                  /* SIGKILL and reap, no restart */
void bird_kill(struct bgp *b, const char *why); /* SIGKILL; restarted by the supervisor */
void bird_poll(struct loop *l, struct timer *t);
void bird_restart_timer(struct loop *l, struct timer *t);
void bird_ctl_close(struct bgp *b);
/* Rewrites bird.conf from the gates; returns 0 or -1 (logged). */
int bird_write_conf(struct bgp *b);
void bird_note_error(struct bgp *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* bgp.c */
void bgp_announce_confirmed(struct bgp *b); /* BIRD now runs file_set */

#endif
