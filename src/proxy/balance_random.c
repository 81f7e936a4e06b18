/* Power of two choices: draw two candidates at random, each with probability proportional to
 * its weight, and take the one with fewer active connections per unit of weight. Nearly as
 * even as leastconn, without every worker herding onto the same least-loaded server. Pure
 * apart from the xorshift64* generator kept in lb_state. */
#include "proxy/balance.h"

static uint64_t rng_next(struct lb_state *st)
{
	uint64_t x = st->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	st->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, bound) without a division (Lemire's multiply-shift). */
static uint64_t rng_below(struct lb_state *st, uint64_t bound)
{
	return (uint64_t)(((unsigned __int128)rng_next(st) * bound) >> 64);
}

/* One candidate drawn by weight, leaving out `skip` (pass -1 to leave out none). */
static int weighted_draw(struct lb_state *st, const struct lb_server *v, const bool *cand, size_t n, int skip)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		if (cand[i] && (int)i != skip)
			total += v[i].weight;
	if (total == 0)
		return LB_NONE;
	uint64_t r = rng_below(st, total);
	for (size_t i = 0; i < n; i++) {
		if (!cand[i] || (int)i == skip)
			continue;
		if (r < v[i].weight)
			return (int)i;
		r -= v[i].weight;
	}
	return LB_NONE; /* not reached */
}

int lb_pick_random(struct lb_state *st, const struct lb_server *v, const bool *cand, size_t n)
{
	int a = weighted_draw(st, v, cand, n, -1);
	if (a < 0)
		return a;
	int b = weighted_draw(st, v, cand, n, a);
	if (b < 0)
		return a; /* a single candidate */
	uint64_t la = (uint64_t)v[a].active * v[b].weight;
	uint64_t lb = (uint64_t)v[b].active * v[a].weight;
	/* on a tie keep the first draw: it alone is weight-proportional, so idle backends
	 * still see their configured shares */
	return lb < la ? b : a;
}
