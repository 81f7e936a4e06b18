/* Grace periods for objects that worker threads read without locks (RCU's quiescent-state
 * scheme, userspace-RCU's QSBR flavour). Each worker's loop bumps its counter when it goes to
 * sleep in epoll_wait (odd: idle) and when it wakes (even: busy), with full barriers. A pointer
 * a worker loaded inside a callback is dead once that worker has been idle or has begun a new
 * iteration: so an object unpublished before grace_retire() returned epoch e, and not held by
 * anything counted elsewhere (reference counts), may be freed once grace_done() >= e.
 * Main thread only, except the counters. */
#ifndef BUOY_GRACE_H
#define BUOY_GRACE_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct grace {
	size_t n;
	_Atomic uint64_t *const *qs; /* each worker's counter (loop_set_quiescent) */
	uint64_t *snap;              /* the counters when the pending period began */
	uint64_t epoch;              /* the last epoch grace_retire handed out */
	uint64_t waiting;            /* the epoch the pending period covers; 0: none pending */
	uint64_t done;               /* every epoch <= done has had its grace period */
};

/* An object's epoch while the commit that retires it runs: it gets grace_retire()'s once the
 * commit has unpublished everything. */
#define GRACE_UNSTAMPED UINT64_MAX

/* Counters of n workers (not copied: they must outlive g). 0, or -1 out of memory. */
int grace_init(struct grace *g, _Atomic uint64_t *const *qs, size_t n);
void grace_free(struct grace *g);
/* Call after unpublishing objects: their epoch. g NULL (no workers): 0, always done. */
uint64_t grace_retire(struct grace *g);
/* Advances: finishes the pending period when every worker has passed a quiescent point since
 * it began, and begins one for later retirements. Returns grace_done(). Never blocks. */
uint64_t grace_poll(struct grace *g);
static inline uint64_t grace_done(const struct grace *g) { return g ? g->done : UINT64_MAX; }

/* The worker's side (core/loop.c): idle before epoll_wait, busy after. */
static inline void grace_quiescent(_Atomic uint64_t *qs)
{
	if (qs)
		atomic_fetch_add(qs, 1); /* seq_cst: a full barrier (lock xadd on x86) */
}

#endif
