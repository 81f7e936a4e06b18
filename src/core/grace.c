/* Grace periods (see grace.h). */
#include "core/grace.h"

#include <stdlib.h>

int grace_init(struct grace *g, _Atomic uint64_t *const *qs, size_t n)
{
	*g = (struct grace){ .n = n, .qs = qs };
	g->snap = calloc(n ? n : 1, sizeof(*g->snap));
	return g->snap ? 0 : -1;
}

void grace_free(struct grace *g)
{
	free(g->snap);
	g->snap = NULL;
}

uint64_t grace_retire(struct grace *g)
{
	if (!g)
		return 0;
	atomic_thread_fence(memory_order_seq_cst); /* the unpublishing stores come first */
	return ++g->epoch;
}

/* Worker i has been idle, or has started a new iteration, since the snapshot. */
static int passed(const struct grace *g, size_t i)
{
	return (g->snap[i] & 1) || atomic_load(g->qs[i]) != g->snap[i];
}

uint64_t grace_poll(struct grace *g)
{
	if (!g)
		return UINT64_MAX;
	if (g->waiting) {
		for (size_t i = 0; i < g->n; i++)
			if (!passed(g, i))
				return g->done;
		g->done = g->waiting;
		g->waiting = 0;
	}
	if (g->epoch > g->done) {
		g->waiting = g->epoch;
		for (size_t i = 0; i < g->n; i++)
			g->snap[i] = atomic_load(g->qs[i]);
		/* a worker idle right now (odd) holds nothing: the period may already be over */
		size_t k = 0;
		while (k < g->n && (g->snap[k] & 1))
			k++;
		if (k == g->n) {
			g->done = g->waiting;
			g->waiting = 0;
		}
	}
	return g->done;
}
