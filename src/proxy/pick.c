/* Server picks for both protocols (TCP connections in worker.c, UDP sessions in udp.c): the
 * worker's per-backend balancer state and the balancer's view of a server set. Worker thread. */
#include <stdlib.h>
#include <string.h>

#include "proxy/worker.h"

/* The worker's state for backend b, grown on first sight of a backend a reload added. */
struct wbackend *worker_backend(struct worker *w, struct backend *b)
{
	if (b->idx >= w->n_wb) {
		size_t n = b->idx + 1 > 2 * w->n_wb ? b->idx + 1 : 2 * w->n_wb;
		struct wbackend *wb = realloc(w->wb, n * sizeof(*wb));
		if (!wb)
			return NULL;
		memset(wb + w->n_wb, 0, (n - w->n_wb) * sizeof(*wb));
		w->wb = wb;
		w->n_wb = n;
	}
	struct wbackend *x = &w->wb[b->idx];
	x->b = b;
	return x;
}

/* The balancer state for the backend's current set; a new set (reload) starts a fresh one. */
static struct lb_state *lb_for(struct worker *w, struct wbackend *x, const struct server_set *set)
{
	if (x->lb_set_id == set->id)
		return &x->lb;
	lb_state_free(&x->lb);
	x->lb_set_id = 0;
	if (lb_state_init(&x->lb, set->cfg.balance, set->n,
			  0x9e3779b97f4a7c15ull * (w->id + 1) + x->b->idx) < 0)
		return NULL;
	x->lb_set_id = set->id;
	return &x->lb;
}

/* Builds the balancer's view of `set`; `tried` servers are excluded. fail_open: ignore health
 * (every server down: try them all). */
static size_t build_view(
	const struct server_set *set, uint64_t tried, struct lb_server *v, bool fail_open, uint64_t now)
{
	size_t n_up = 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct server_slot *sl = &set->v[i];
		struct server *s = sl->s;
		bool was_tried = tried & (1ull << (i < 63 ? i : 63));
		bool ok = fail_open ? !atomic_load_explicit(&s->drained, memory_order_relaxed)
				    : server_eligible(s, now);
		uint32_t active = atomic_load_explicit(&s->active, memory_order_relaxed);
		v[i] = (struct lb_server){
			.weight = sl->weight,
			.active = active,
			.key = s->key,
			.up = ok && !was_tried,
			.full = sl->max_conns && active >= sl->max_conns,
			.backup = sl->backup,
		};
		n_up += ok;
	}
	return n_up;
}

int worker_pick(struct worker *w, struct backend *b, const struct server_set *set, uint64_t tried,
		uint64_t client_hash)
{
	struct wbackend *x = worker_backend(w, b);
	struct lb_state *lb = x ? lb_for(w, x, set) : NULL;
	if (!lb)
		return LB_NONE;
	struct lb_server stackv[64];
	struct lb_server *v = set->n <= 64 ? stackv : calloc(set->n, sizeof(*v));
	if (!v)
		return LB_NONE;
	uint64_t now = loop_now(w->loop);
	size_t eligible = build_view(set, tried, v, false, now);
	if (eligible == 0) /* all down: fail open, like k0s, rather than refuse everything */
		build_view(set, tried, v, true, now);
	int idx = lb_pick(lb, v, set->n, client_hash);
	if (v != stackv)
		free(v);
	return idx;
}
