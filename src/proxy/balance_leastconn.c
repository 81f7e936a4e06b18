/* Weighted least connections: the candidate with the fewest active connections per unit of
 * weight. Ratios are compared by cross-multiplying (a1*w2 vs a2*w1), exact in 64 bits.
 * Ties are settled by smooth weighted round robin among the tied servers, so an idle backend
 * spreads short connections by weight instead of sending them all to server 0. Pure. */
#include "proxy/balance.h"

#include <stdlib.h>

/* <0 when a is less loaded than b per unit of weight, 0 when equal. */
static int load_cmp(const struct lb_server *a, const struct lb_server *b)
{
	uint64_t la = (uint64_t)a->active * b->weight;
	uint64_t lb = (uint64_t)b->active * a->weight;
	return (la > lb) - (la < lb);
}

#define LC_STACK_SERVERS 256

int lb_pick_leastconn(struct lb_state *st, const struct lb_server *v, const bool *cand, size_t n)
{
	int best = LB_NONE;
	size_t ties = 0;
	for (size_t i = 0; i < n; i++) {
		if (!cand[i])
			continue;
		int c = best < 0 ? -1 : load_cmp(&v[i], &v[best]);
		if (c < 0) {
			best = (int)i;
			ties = 1;
		} else if (c == 0) {
			ties++;
		}
	}
	if (ties <= 1)
		return best;

	bool stack_tied[LC_STACK_SERVERS];
	bool *tied = n <= LC_STACK_SERVERS ? stack_tied : malloc(n * sizeof(*tied));
	if (!tied)
		return best;
	for (size_t i = 0; i < n; i++)
		tied[i] = cand[i] && load_cmp(&v[i], &v[best]) == 0;
	int pick = lb_pick_rr(st, v, tied, n);
	if (tied != stack_tied)
		free(tied);
	return pick;
}
