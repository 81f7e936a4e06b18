/* Balancers: pure functions that pick a server from a read-only view.
 * One file per algorithm (balance_rr.c, balance_leastconn.c, balance_hash.c, balance_random.c).
 * Callers (workers) build the view from the pool; each worker keeps its own lb_state. */
#ifndef BUOY_BALANCE_H
#define BUOY_BALANCE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define LB_NONE (-1) /* no server is up (after exclusions): fail / try nothing */
#define LB_FULL (-2) /* servers are up but every one is at max_conns: queue */

struct lb_server {
	uint32_t weight; /* >= 1 */
	uint32_t active; /* current connections (leastconn, random) */
	uint64_t key;    /* stable per-server hash of its address (source hashing) */
	bool up;         /* eligible and not excluded by this connection's earlier tries */
	bool full;       /* at max_conns */
	bool backup;     /* used only when no primary is up */
};

struct lb_state {
	enum balance_algo algo;
	size_t n;         /* servers this state was sized for */
	int64_t *current; /* smooth weighted round robin, one per server */
	uint64_t rng;     /* xorshift64* state for random; never 0 */
};

int lb_state_init(struct lb_state *st, enum balance_algo algo, size_t n, uint64_t seed);
void lb_state_free(struct lb_state *st);

/* Picks a server index, or LB_NONE / LB_FULL. `client_hash` is lb_hash_addr() of the
 * client address (used by source). Servers in the chosen tier (primaries if any primary is
 * up, else backups) that are full are skipped. */
int lb_pick(struct lb_state *st, const struct lb_server *v, size_t n, uint64_t client_hash);

/* Per-algorithm picks; lb_pick() selects the tier and dispatches. `cand` marks the servers
 * to consider (up, !full, in tier); at least one is set. */
int lb_pick_rr(struct lb_state *st, const struct lb_server *v, const bool *cand, size_t n);
int lb_pick_leastconn(struct lb_state *st, const struct lb_server *v, const bool *cand, size_t n);
int lb_pick_source(const struct lb_server *v, const bool *cand, size_t n, uint64_t client_hash);
int lb_pick_random(struct lb_state *st, const struct lb_server *v, const bool *cand, size_t n);

/* Stable 64-bit hash of an address's bytes (not the port for clients: see callers). */
uint64_t lb_hash_bytes(const void *p, size_t len);

#endif
