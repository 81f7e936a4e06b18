/* The event loop: epoll (edge- or level-triggered per fd) plus a binary-heap timer queue.
 * One loop per thread; nothing here is thread-safe except loop_wake(). */
#ifndef BUOY_LOOP_H
#define BUOY_LOOP_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;

/* An fd registration: embed it in your object; epoll's data.ptr points at it. */
struct io {
	int fd;
	void (*cb)(struct loop *l, struct io *io, uint32_t events);
	void *arg;
};

struct timer {
	uint64_t when_ms; /* absolute, CLOCK_MONOTONIC ms */
	void (*cb)(struct loop *l, struct timer *t);
	void *arg;
	size_t heap_idx; /* 0 = not armed; heap is 1-based */
};

struct loop *loop_new(void);
void loop_free(struct loop *l);

int loop_add(struct loop *l, struct io *io, uint32_t events);
int loop_mod(struct loop *l, struct io *io, uint32_t events);
/* Also voids the io's events still pending in the batch being dispatched, so the caller may
 * free it at once. (close() without loop_del() does not: free such objects after the batch.) */
int loop_del(struct loop *l, struct io *io);

void timer_init(struct timer *t, void (*cb)(struct loop *, struct timer *), void *arg);
void timer_arm(struct loop *l, struct timer *t, uint64_t when_ms);
void timer_arm_in(struct loop *l, struct timer *t, uint64_t delay_ms);
void timer_cancel(struct loop *l, struct timer *t);
static inline bool timer_armed(const struct timer *t) { return t->heap_idx != 0; }

/* Monotonic ms, cached once per loop iteration (cheap on the data path). */
uint64_t loop_now(struct loop *l);
uint64_t loop_update_now(struct loop *l);
uint64_t mono_ms(void);

/* Freeing after the batch (nginx's posted events, Redis's beforeSleep): an object that events
 * already fetched in this batch, or timers due in this iteration, may still name is handed to
 * the loop, which calls fn once the iteration is over, or from loop_free(). Embed the node in
 * the object: no allocation, cannot fail. fn gets a loop that still works (loop_del,
 * timer_cancel). */
struct loop_deferred {
	struct loop_deferred *next;
	void (*fn)(struct loop *l, struct loop_deferred *d);
};
void loop_defer(struct loop *l, struct loop_deferred *d,
		void (*fn)(struct loop *l, struct loop_deferred *d));
/* The object a node (or an io, a timer) is embedded in. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Runs until loop_stop(); returns 0, or -1 on an epoll error. Deferred frees are drained at the
 * end of every iteration, so none is left when it returns. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);
/* Thread-safe: makes a blocked loop_run() return from epoll_wait and run the wake callback. */
void loop_wake(struct loop *l);
void loop_set_wake_cb(struct loop *l, void (*cb)(struct loop *, void *), void *arg);
/* A worker's grace-period counter (core/grace.h), bumped on each side of epoll_wait. Set
 * before loop_run, from the thread that will run it. */
void loop_set_quiescent(struct loop *l, _Atomic uint64_t *qs);

#endif
