/* Balancer front: state, tier selection (primaries, else backups), full-server skipping,
 * dispatch to one algorithm per file, and the hash used for source affinity. Pure. */
#include "proxy/balance.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

int lb_state_init(struct lb_state *st, enum balance_algo algo, size_t n, uint64_t seed)
{
	memset(st, 0, sizeof(*st));
	st->algo = algo;
	st->current = calloc(n ? n : 1, sizeof(*st->current));
	if (!st->current)
		return -1;
	st->n = n;
	/* xorshift must never hold 0; scramble so nearby seeds give unrelated streams */
	st->rng = lb_hash_bytes(&seed, sizeof(seed));
	if (st->rng == 0)
		st->rng = 0x9e3779b97f4a7c15ull;
	return 0;
}

void lb_state_free(struct lb_state *st)
{
	free(st->current);
	st->current = NULL;
	st->n = 0;
}

/* A reload may hand a state a longer server list: grow it (new servers start at weight 0). */
static int lb_state_fit(struct lb_state *st, size_t n)
{
	if (n <= st->n)
		return 0;
	int64_t *cur = realloc(st->current, n * sizeof(*cur));
	if (!cur)
		return -1;
	memset(cur + st->n, 0, (n - st->n) * sizeof(*cur));
	st->current = cur;
	st->n = n;
	return 0;
}

/* Fills cand[] for the tier in use. Returns the number of candidates, or LB_NONE / LB_FULL. */
static int lb_candidates(const struct lb_server *v, size_t n, bool *cand)
{
	bool primary_up = false, any_up = false;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].up)
			continue;
		any_up = true;
		if (!v[i].backup)
			primary_up = true;
	}
	if (!any_up)
		return LB_NONE;
	int count = 0;
	for (size_t i = 0; i < n; i++) {
		cand[i] = v[i].up && !v[i].full && v[i].backup != primary_up;
		count += cand[i];
	}
	return count ? count : LB_FULL;
}

static int lb_dispatch(struct lb_state *st, const struct lb_server *v, const bool *cand, size_t n,
		       uint64_t client_hash)
{
	switch (st->algo) {
	case BALANCE_LEASTCONN: return lb_pick_leastconn(st, v, cand, n);
	case BALANCE_SOURCE: return lb_pick_source(v, cand, n, client_hash);
	case BALANCE_RANDOM: return lb_pick_random(st, v, cand, n);
	case BALANCE_ROUNDROBIN:
	default: return lb_pick_rr(st, v, cand, n);
	}
}

#define LB_STACK_SERVERS 256

int lb_pick(struct lb_state *st, const struct lb_server *v, size_t n, uint64_t client_hash)
{
	if (n == 0)
		return LB_NONE;
	if (lb_state_fit(st, n) < 0)
		return LB_NONE;
	bool stack_cand[LB_STACK_SERVERS];
	bool *cand = n <= LB_STACK_SERVERS ? stack_cand : malloc(n * sizeof(*cand));
	if (!cand)
		return LB_NONE;
	int r = lb_candidates(v, n, cand);
	if (r > 0)
		r = lb_dispatch(st, v, cand, n, client_hash);
	if (cand != stack_cand)
		free(cand);
	return r;
}

/* FNV-1a spreads every byte into the state; the splitmix64 finalizer then avalanches it so
 * that addresses differing in one bit give unrelated hashes (rendezvous needs that). */
uint64_t lb_hash_bytes(const void *p, size_t len)
{
	uint64_t h = hash_fnv1a(HASH_FNV_OFFSET, p, len);
	return hash_mix64(h ^ len);
}
