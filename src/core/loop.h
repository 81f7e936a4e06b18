/* The event loop: epoll (edge- or level-triggered per fd) plus a binary-heap timer queue.
 * One loop per thread; nothing here is thread-safe except loop_wake(). */
#ifndef BUOY_LOOP_H
#define BUOY_LOOP_H
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
	uint64_t when_ms;                  /* absolute, CLOCK_MONOTONIC ms */
	void (*cb)(struct loop *l, struct timer *t);
	void *arg;
	size_t heap_idx;                   /* 0 = not armed; heap is 1-based */
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

/* Runs until loop_stop(); returns 0, or -1 on an epoll error. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);
/* Thread-safe: makes a blocked loop_run() return from epoll_wait and run the wake callback. */
void loop_wake(struct loop *l);
void loop_set_wake_cb(struct loop *l, void (*cb)(struct loop *, void *), void *arg);

#endif
