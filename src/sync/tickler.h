/* Paced rounds of tickle ACKs (the shell over sync/tickle.h's packet builders; main thread).
 * A round is a list of connections whose clients get one tickle each, from a due time on, at
 * `rate` per second in TICKLE_TICK_MS steps, through raw IPPROTO_RAW sockets (which may send
 * from an address the host no longer holds: the old holder's handover tickles). Every round is
 * queued twice: as given, and again TICKLE_AGAIN_MS later (a client answers one invalid
 * segment per 500 ms per socket, and the first round may meet a stale ARP cache).
 *
 * A round may wait for IPv6 addresses to be routed here (RTN_LOCAL) before its first tickle,
 * at most until a deadline: Linux lists a new IPv6 address a moment before it installs its
 * local route (it finishes the add from a work queue), and a tickle sent in that moment makes
 * the kernel solicit the client's MAC from the VIP; the client's answer, addressed to the VIP,
 * is dropped, and the neighbour entry stays unresolved for a second (measured: most first
 * IPv6 rounds were lost before the wait). */
#ifndef BUOY_SYNC_TICKLER_H
#define BUOY_SYNC_TICKLER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/inet.h"
#include "core/loop.h"
#include "sync/table.h"

#define TICKLE_AGAIN_MS 1000 /* the second round, after the client's 500 ms rate limit */
#define TICKLE_TICK_MS 10
#define TICKLE_LOCAL_WAIT_MS 200 /* at most, for a taken-over IPv6 VIP to be routed here */

struct tickle_round;

struct tickler {
	struct loop *loop;
	int raw4, raw6; /* -1: that family cannot be tickled */
	uint32_t rate;  /* tickles per second */
	struct tickle_round **rounds;
	size_t n_rounds, cap_rounds;
	struct timer tick;
	uint64_t sent_total, errors_total, pending;
};

/* Opens the raw sockets asked for (CAP_NET_RAW). 0, or -1 with errno (nothing left open). */
int tickler_open(struct tickler *t, struct loop *l, bool v4, bool v6, uint32_t rate);
/* Drops the queued rounds, closes the sockets. A second close is harmless. */
void tickler_close(struct tickler *t);
bool tickler_can(const struct tickler *t, int family);

/* A new round due at loop time `due`; handover marks it as one the shutdown waits for. NULL
 * when out of memory. */
struct tickle_round *tickle_round_new(uint64_t due, bool handover);
/* Its first tickle waits until each IPv6 address of vips[0..n) is routed here, or until
 * loop time `deadline`. */
void tickle_round_wait_local(
	struct tickle_round *r, const struct ip_addr *vips, size_t n, uint64_t deadline);
/* A sync_tuple_fn: adds the connection to the round (arg); dropped when out of memory. */
void tickle_round_collect(void *round, const struct sync_tuple *t);
size_t tickle_round_len(const struct tickle_round *r);
/* Queues r and its copy TICKLE_AGAIN_MS later; takes r (an empty one is freed). */
void tickler_add(struct tickler *t, struct tickle_round *r);
/* Are handover rounds still queued (the daemon's shutdown waits for them)? */
bool tickler_busy(const struct tickler *t);

#endif
