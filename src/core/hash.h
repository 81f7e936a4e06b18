/* Non-cryptographic hashing, pure and header-only: FNV-1a to spread bytes into a state, and
 * splitmix64's finalizer to avalanche it (every input bit reaches every output bit, which the
 * low bits of FNV alone do not). Shared by the balancers (proxy/) and sync's tables. Values
 * must not change: the source balancer's choice depends on them across nodes. */
#ifndef BUOY_HASH_H
#define BUOY_HASH_H
#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_OFFSET 0xcbf29ce484222325ULL
#define HASH_FNV_PRIME 0x100000001b3ULL
#define HASH_GOLDEN 0x9e3779b97f4a7c15ULL /* 2^64 / phi: spreads small keys before mixing */

static inline uint64_t hash_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Continues FNV-1a state h over n bytes (start with HASH_FNV_OFFSET). */
static inline uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= HASH_FNV_PRIME;
	}
	return h;
}

#endif
