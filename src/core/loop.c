#include "core/loop.h"

#include "core/grace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

struct loop {
	int epfd;
	bool stop;
	uint64_t now;
	struct timer **heap; /* 1-based min-heap on when_ms */
	size_t heap_len, heap_cap;
	struct io wake_io;
	void (*wake_cb)(struct loop *, void *);
	void *wake_arg;
	struct epoll_event *batch; /* events being dispatched, so loop_del() can void later ones */
	int batch_i, batch_n;
	struct loop_deferred *deferred;
	_Atomic uint64_t *qs; /* grace.h: bumped around epoll_wait; NULL = not counted */
};

uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t loop_now(struct loop *l) { return l->now; }
void loop_set_quiescent(struct loop *l, _Atomic uint64_t *qs) { l->qs = qs; }
uint64_t loop_update_now(struct loop *l) { return l->now = mono_ms(); }

static void wake_read(struct loop *l, struct io *io, uint32_t ev)
{
	(void)ev;
	uint64_t v;
	while (read(io->fd, &v, sizeof(v)) > 0)
		;
	if (l->wake_cb)
		l->wake_cb(l, l->wake_arg);
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wake_io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->epfd < 0 || l->wake_io.fd < 0) {
		loop_free(l);
		return NULL;
	}
	l->wake_io.cb = wake_read;
	l->now = mono_ms();
	loop_add(l, &l->wake_io, EPOLLIN);
	return l;
}

static void run_deferred(struct loop *l)
{
	/* fn may defer more: take the list each round until it stays empty */
	while (l->deferred) {
		struct loop_deferred *d = l->deferred;
		l->deferred = NULL;
		while (d) {
			struct loop_deferred *next = d->next;
			d->fn(l, d);
			d = next;
		}
	}
}

void loop_defer(struct loop *l, struct loop_deferred *d,
		void (*fn)(struct loop *l, struct loop_deferred *d))
{
	d->fn = fn;
	d->next = l->deferred;
	l->deferred = d;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	run_deferred(l); /* the loop still works for them */
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wake_io.fd >= 0)
		close(l->wake_io.fd);
	free(l->heap);
	free(l);
}

int loop_add(struct loop *l, struct io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev);
}

int loop_mod(struct loop *l, struct io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev);
}

int loop_del(struct loop *l, struct io *io)
{
	/* the io may be freed after this: forget its events still waiting in this batch */
	for (int i = l->batch_i + 1; i < l->batch_n; i++)
		if (l->batch[i].data.ptr == io)
			l->batch[i].data.ptr = NULL;
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

void loop_set_wake_cb(struct loop *l, void (*cb)(struct loop *, void *), void *arg)
{
	l->wake_cb = cb;
	l->wake_arg = arg;
}

void loop_wake(struct loop *l)
{
	uint64_t one = 1;
	ssize_t r = write(l->wake_io.fd, &one, sizeof(one));
	(void)r;
}

void loop_stop(struct loop *l) { l->stop = true; }

/* ---- timer heap ---- */

static void heap_set(struct loop *l, size_t i, struct timer *t)
{
	l->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct loop *l, size_t i)
{
	struct timer *t = l->heap[i];
	while (i > 1 && l->heap[i / 2]->when_ms > t->when_ms) {
		heap_set(l, i, l->heap[i / 2]);
		i /= 2;
	}
	heap_set(l, i, t);
}

static void heap_down(struct loop *l, size_t i)
{
	struct timer *t = l->heap[i];
	for (;;) {
		size_t c = i * 2;
		if (c > l->heap_len)
			break;
		if (c + 1 <= l->heap_len && l->heap[c + 1]->when_ms < l->heap[c]->when_ms)
			c++;
		if (l->heap[c]->when_ms >= t->when_ms)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void timer_init(struct timer *t, void (*cb)(struct loop *, struct timer *), void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
}

void timer_cancel(struct loop *l, struct timer *t)
{
	size_t i = t->heap_idx;
	if (!i)
		return;
	struct timer *last = l->heap[l->heap_len--];
	t->heap_idx = 0;
	if (i <= l->heap_len) {
		heap_set(l, i, last);
		heap_up(l, i);
		heap_down(l, last->heap_idx);
	}
}

void timer_arm(struct loop *l, struct timer *t, uint64_t when_ms)
{
	if (t->heap_idx) {
		uint64_t old = t->when_ms;
		t->when_ms = when_ms;
		if (when_ms < old)
			heap_up(l, t->heap_idx);
		else
			heap_down(l, t->heap_idx);
		return;
	}
	if (l->heap_len + 1 >= l->heap_cap) {
		size_t cap = l->heap_cap ? l->heap_cap * 2 : 64;
		struct timer **h = realloc(l->heap, cap * sizeof(*h));
		if (!h)
			abort(); /* out of memory for a timer: nothing sane to do */
		l->heap = h;
		l->heap_cap = cap;
	}
	t->when_ms = when_ms;
	l->heap_len++;
	heap_set(l, l->heap_len, t);
	heap_up(l, l->heap_len);
}

void timer_arm_in(struct loop *l, struct timer *t, uint64_t delay_ms)
{
	timer_arm(l, t, l->now + delay_ms);
}

static void run_timers(struct loop *l)
{
	while (l->heap_len && l->heap[1]->when_ms <= l->now) {
		struct timer *t = l->heap[1];
		timer_cancel(l, t);
		t->cb(l, t);
	}
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	l->stop = false;
	while (!l->stop) {
		int timeout = -1;
		if (l->heap_len) {
			uint64_t w = l->heap[1]->when_ms;
			timeout = w <= l->now ? 0 : (int)(w - l->now > 60000 ? 60000 : w - l->now);
		}
		grace_quiescent(l->qs); /* idle: holds no pointer of a callback */
		int n = epoll_wait(l->epfd, evs, LOOP_MAX_EVENTS, timeout);
		grace_quiescent(l->qs);
		if (n < 0 && errno != EINTR)
			return -1;
		loop_update_now(l);
		l->batch = evs;
		l->batch_n = n;
		for (l->batch_i = 0; l->batch_i < n; l->batch_i++) {
			struct io *io = evs[l->batch_i].data.ptr;
			if (io)
				io->cb(l, io, evs[l->batch_i].events);
		}
		l->batch_n = 0;
		run_timers(l);
		run_deferred(l);
	}
	return 0;
}
