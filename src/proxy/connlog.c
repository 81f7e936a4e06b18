/* The connection log's ring (connlog.h): a single-producer single-consumer queue. head is
 * written only by the producer, tail only by the consumer; each publishes with a release store
 * and reads the other's index with an acquire load, so a slot's contents are visible before
 * the index that hands it over. Indices run freely (uint32_t wraps); a slot is v[i & mask]. */
#include <stdlib.h>
#include <string.h>

#include "proxy/connlog.h"

int connlog_init(struct connlog *r, uint32_t cap)
{
	memset(r, 0, sizeof(*r));
	if (cap < 2 || (cap & (cap - 1)) || cap > (1u << 31))
		return -1;
	r->v = calloc(cap, sizeof(*r->v));
	if (!r->v)
		return -1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->dropped, 0);
	r->mask = cap - 1;
	return 0;
}

void connlog_free(struct connlog *r)
{
	free(r->v);
	r->v = NULL;
}

bool connlog_push(struct connlog *r, const struct connlog_ev *e)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed); /* our own */
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (head - tail > r->mask) {
		atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
		return false;
	}
	r->v[head & r->mask] = *e;
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

size_t connlog_room(const struct connlog *r)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	return (size_t)r->mask + 1 - (head - tail);
}

size_t connlog_drain(struct connlog *r, struct connlog_ev *out, size_t max)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed); /* our own */
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t n = head - tail;
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++)
		out[i] = r->v[(tail + i) & r->mask];
	/* release: our reads of the slots are done before the producer may reuse them */
	atomic_store_explicit(&r->tail, tail + (uint32_t)n, memory_order_release);
	return n;
}
