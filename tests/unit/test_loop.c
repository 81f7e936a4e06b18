/* The event loop's deferred frees: not during the batch that deferred them (nor its due
 * timers), before the next wait, from loop_free when the loop never runs again, and those a
 * free defers in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"

struct obj {
	struct loop_deferred reap;
	int *freed;        /* counter the free bumps */
	struct obj *chain; /* deferred by this one's free */
};

static void obj_free(struct loop *l, struct loop_deferred *d)
{
	struct obj *o = container_of(d, struct obj, reap);
	(*o->freed)++;
	if (o->chain)
		loop_defer(l, &o->chain->reap, obj_free);
	free(o);
}

static struct obj *obj_new(int *freed)
{
	struct obj *o = calloc(1, sizeof(*o));
	assert_non_null(o);
	o->freed = freed;
	return o;
}

/* Two fds ready in one batch: the first defers an object, the second and a due timer still
 * see it; the next iteration sees it freed. */
struct scene {
	struct loop *l;
	struct io a, b, later;
	struct timer now;
	int freed;
	int seen_by_b, seen_by_timer, seen_later;
};

static void on_a(struct loop *l, struct io *io, uint32_t ev)
{
	(void)ev;
	struct scene *s = io->arg;
	uint64_t v;
	assert_int_equal(read(io->fd, &v, sizeof(v)), sizeof(v));
	loop_defer(l, &obj_new(&s->freed)->reap, obj_free);
	timer_arm(l, &s->now, loop_now(l));
}

static void on_b(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	(void)ev;
	struct scene *s = io->arg;
	uint64_t v;
	assert_int_equal(read(io->fd, &v, sizeof(v)), sizeof(v));
	s->seen_by_b = s->freed;
	uint64_t one = 1; /* wakes the next iteration */
	assert_int_equal(write(s->later.fd, &one, sizeof(one)), sizeof(one));
}

static void on_timer(struct loop *l, struct timer *t)
{
	(void)l;
	struct scene *s = t->arg;
	s->seen_by_timer = s->freed;
}

static void on_later(struct loop *l, struct io *io, uint32_t ev)
{
	(void)ev;
	struct scene *s = io->arg;
	s->seen_later = s->freed;
	loop_stop(l);
}

static void test_freed_after_the_batch(void **state)
{
	(void)state;
	struct scene s = { .l = loop_new() };
	assert_non_null(s.l);
	struct io *ios[] = { &s.a, &s.b, &s.later };
	void (*cbs[])(struct loop *, struct io *, uint32_t) = { on_a, on_b, on_later };
	for (int i = 0; i < 3; i++) {
		*ios[i] = (struct io){ .fd = eventfd(0, EFD_NONBLOCK), .cb = cbs[i], .arg = &s };
		assert_true(ios[i]->fd >= 0);
		assert_int_equal(loop_add(s.l, ios[i], EPOLLIN), 0);
	}
	timer_init(&s.now, on_timer, &s);
	uint64_t one = 1; /* a and b ready before the wait: one batch */
	assert_int_equal(write(s.a.fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(write(s.b.fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(loop_run(s.l), 0);
	assert_int_equal(s.seen_by_b, 0);     /* the batch that deferred it */
	assert_int_equal(s.seen_by_timer, 0); /* a timer due in that iteration */
	assert_int_equal(s.seen_later, 1);    /* the next iteration */
	assert_int_equal(s.freed, 1);
	for (int i = 0; i < 3; i++)
		close(ios[i]->fd);
	loop_free(s.l);
}

static void test_loop_free_drains_and_chains(void **state)
{
	(void)state;
	struct loop *l = loop_new();
	assert_non_null(l);
	int freed = 0;
	struct obj *o = obj_new(&freed);
	o->chain = obj_new(&freed);
	o->chain->chain = obj_new(&freed);
	loop_defer(l, &o->reap, obj_free);
	loop_defer(l, &obj_new(&freed)->reap, obj_free);
	assert_int_equal(freed, 0);
	loop_free(l); /* a loop that never runs again: nothing leaks (LeakSanitizer agrees) */
	assert_int_equal(freed, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_freed_after_the_batch),
		cmocka_unit_test(test_loop_free_drains_and_chains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
