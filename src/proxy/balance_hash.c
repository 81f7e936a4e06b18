/* Source affinity by weighted rendezvous (highest random weight) hashing: each server scores
 * the client as -weight / ln(u), u a uniform (0,1) drawn from hash(client, server); the highest
 * score wins. A server's score does not depend on the others, so removing one server moves
 * only the clients it had, and each server's share is its weight over the total. Pure. */
#include "proxy/balance.h"

#include "core/hash.h"

/* ln(u) for u = odd / 2^54, u in (0,1). Written out instead of libm's log() so that every
 * node computes bit-identical scores whatever its libm: two balancers behind one VIP must
 * send a client to the same server. ln(m) uses the atanh series, |z| < 1/3, 14 terms. */
static double ln_dyadic(uint64_t odd)
{
	int p = 63 - __builtin_clzll(odd);
	double m = (double)odd / (double)(1ull << p); /* in [1, 2) */
	double z = (m - 1.0) / (m + 1.0), z2 = z * z, term = z, sum = 0;
	for (int k = 0; k < 14; k++) {
		sum += term / (double)(2 * k + 1);
		term *= z2;
	}
	return (double)(p - 54) * 0.69314718055994530942 + 2.0 * sum;
}

static double rendezvous_score(uint64_t client_hash, const struct lb_server *s)
{
	uint64_t h = hash_mix64(client_hash ^ hash_mix64(s->key + HASH_GOLDEN));
	/* 53 random bits, centred in their interval: u = (2k+1)/2^54 is never 0 or 1 */
	return -(double)s->weight / ln_dyadic(((h >> 11) << 1) | 1);
}

int lb_pick_source(const struct lb_server *v, const bool *cand, size_t n, uint64_t client_hash)
{
	int best = LB_NONE;
	double best_score = 0;
	for (size_t i = 0; i < n; i++) {
		if (!cand[i])
			continue;
		double score = rendezvous_score(client_hash, &v[i]);
		if (best < 0 || score > best_score) {
			best = (int)i;
			best_score = score;
		}
	}
	return best;
}
