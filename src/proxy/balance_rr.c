/* Smooth weighted round robin (the nginx scheme): every pick, each candidate's current weight
 * grows by its weight; the largest wins and pays back the total. Over any window of
 * sum(weights) picks each server gets exactly its weight, and heavy servers are interleaved
 * with light ones instead of picked in bursts (5:1:1 gives a a b a c a a). Pure. */
#include "proxy/balance.h"

int lb_pick_rr(struct lb_state *st, const struct lb_server *v, const bool *cand, size_t n)
{
	int64_t total = 0;
	int best = LB_NONE;
	for (size_t i = 0; i < n; i++) {
		if (!cand[i])
			continue;
		st->current[i] += v[i].weight;
		total += v[i].weight;
		/* strict '>': on ties the lowest index wins, which keeps sequences reproducible */
		if (best < 0 || st->current[i] > st->current[best])
			best = (int)i;
	}
	if (best >= 0)
		st->current[best] -= total;
	return best;
}
