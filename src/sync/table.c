#include "sync/table.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

#define INITIAL_BUCKETS 256 /* a power of two; the index doubles when n exceeds it */

/* An own entry is on three lists: its hash chain, the "all" list (insertion order, walked by
 * the refresh and by resync_end) and, while not announced, the pending list. */
struct own_entry {
	struct own_entry *hnext;
	struct own_entry *all_prev, *all_next;
	struct own_entry *pend_prev, *pend_next;
	struct sync_tuple tu;
	uint64_t id;
	uint32_t worker;
	bool sent;  /* announced: an add went out, so a removal must send a del */
	bool stale; /* resync in progress for its worker and not re-opened yet */
};

struct peer_entry {
	struct peer_entry *hnext;
	uint64_t gen;
	struct sync_tuple tu;
};

/* ---- hashing ---- */

/* Over exactly what sync_tuple_equal compares: family and ip_addr_len(family) address bytes of
 * both addresses, and the ports (prefixes and unused address bytes never count), so that equal
 * tuples hash alike. FNV-1a spreads the bytes, the finalizer fixes its weak low bits (the
 * bucket is taken from the low bits). */
static uint64_t tuple_hash(const struct sync_tuple *t, uint64_t seed)
{
	uint8_t ports[4] = {
		(uint8_t)(t->vport >> 8), (uint8_t)t->vport, (uint8_t)(t->cport >> 8), (uint8_t)t->cport
	};
	uint64_t h = HASH_FNV_OFFSET ^ seed;
	h = hash_fnv1a(h, &t->vip.family, 1);
	h = hash_fnv1a(h, t->vip.b, ip_addr_len(t->vip.family));
	h = hash_fnv1a(h, &t->client.family, 1);
	h = hash_fnv1a(h, t->client.b, ip_addr_len(t->client.family));
	h = hash_fnv1a(h, ports, sizeof(ports));
	return hash_mix64(h);
}

static uint64_t own_hash(uint32_t worker, uint64_t id)
{
	return hash_mix64(id ^ hash_mix64((uint64_t)worker + HASH_GOLDEN));
}

bool sync_tuple_equal(const struct sync_tuple *a, const struct sync_tuple *b)
{
	return a->vport == b->vport && a->cport == b->cport && ip_addr_equal(&a->vip, &b->vip) &&
	       ip_addr_equal(&a->client, &b->client);
}

bool sync_tuple_on(const struct sync_tuple *t, const struct ip_addr *vips, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ip_addr_equal(&t->vip, &vips[i]))
			return true;
	return false;
}

/* ---- own table ---- */

int own_init(struct own_table *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0)
		return -1;
	t->idx = calloc(INITIAL_BUCKETS, sizeof(*t->idx));
	if (!t->idx)
		return -1;
	t->n_idx = INITIAL_BUCKETS;
	t->cap = cap;
	return 0;
}

void own_free(struct own_table *t)
{
	struct own_entry *e = t->all_head;
	while (e) {
		struct own_entry *next = e->all_next;
		free(e);
		e = next;
	}
	free(t->idx);
	memset(t, 0, sizeof(*t));
}

static struct own_entry **own_slot(const struct own_table *t, uint32_t worker, uint64_t id)
{
	struct own_entry **p = &t->idx[own_hash(worker, id) & (t->n_idx - 1)];
	while (*p && ((*p)->worker != worker || (*p)->id != id))
		p = &(*p)->hnext;
	return p;
}

/* Doubles the index. A failed allocation keeps the old one: still correct, only the chains
 * grow longer; the next insert tries again. */
static void own_grow(struct own_table *t)
{
	size_t n_idx = t->n_idx * 2;
	struct own_entry **idx = calloc(n_idx, sizeof(*idx));
	if (!idx)
		return;
	for (struct own_entry *e = t->all_head; e; e = e->all_next) {
		struct own_entry **b = &idx[own_hash(e->worker, e->id) & (n_idx - 1)];
		e->hnext = *b;
		*b = e;
	}
	free(t->idx);
	t->idx = idx;
	t->n_idx = n_idx;
}

static void pend_push(struct own_table *t, struct own_entry *e)
{
	e->pend_next = NULL;
	e->pend_prev = t->pend_tail;
	if (t->pend_tail)
		t->pend_tail->pend_next = e;
	else
		t->pend_head = e;
	t->pend_tail = e;
}

static void pend_unlink(struct own_table *t, struct own_entry *e)
{
	if (e->pend_prev)
		e->pend_prev->pend_next = e->pend_next;
	else
		t->pend_head = e->pend_next;
	if (e->pend_next)
		e->pend_next->pend_prev = e->pend_prev;
	else
		t->pend_tail = e->pend_prev;
	e->pend_prev = e->pend_next = NULL;
}

/* Unlinks *slot's entry from everything and frees it; the cursor steps past it. */
static void own_remove(struct own_table *t, struct own_entry **slot)
{
	struct own_entry *e = *slot;
	*slot = e->hnext;
	if (t->cursor == e)
		t->cursor = e->all_next;
	if (e->all_prev)
		e->all_prev->all_next = e->all_next;
	else
		t->all_head = e->all_next;
	if (e->all_next)
		e->all_next->all_prev = e->all_prev;
	else
		t->all_tail = e->all_prev;
	if (!e->sent)
		pend_unlink(t, e);
	t->n--;
	free(e);
}

int own_open(struct own_table *t, uint32_t worker, uint64_t id, const struct sync_tuple *tu,
	     sync_tuple_fn gone, void *arg)
{
	struct own_entry **slot = own_slot(t, worker, id);
	struct own_entry *e = *slot;
	if (e) {
		e->stale = false;
		if (!sync_tuple_equal(&e->tu, tu)) {
			struct sync_tuple old = e->tu;
			e->tu = *tu;
			if (e->sent) {
				e->sent = false;
				pend_push(t, e);
				if (gone)
					gone(arg, &old);
			}
			/* an unannounced entry keeps its place on the pending list */
		}
		return 1;
	}
	if (t->n >= t->cap) {
		t->cap_hits++;
		return -1;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -1;
	*e = (struct own_entry){ .hnext = NULL, .tu = *tu, .id = id, .worker = worker };
	*slot = e;
	e->all_prev = t->all_tail;
	if (t->all_tail)
		t->all_tail->all_next = e;
	else
		t->all_head = e;
	t->all_tail = e;
	pend_push(t, e);
	if (++t->n > t->n_idx)
		own_grow(t);
	return 0;
}

int own_close(struct own_table *t, uint32_t worker, uint64_t id, struct sync_tuple *out)
{
	struct own_entry **slot = own_slot(t, worker, id);
	struct own_entry *e = *slot;
	if (!e)
		return 0;
	int ret = e->sent ? 2 : 1;
	if (ret == 2 && out)
		*out = e->tu;
	own_remove(t, slot);
	return ret;
}

size_t own_take_pending(struct own_table *t, struct sync_tuple *out, size_t max)
{
	size_t k = 0;
	while (k < max && t->pend_head) {
		struct own_entry *e = t->pend_head;
		pend_unlink(t, e);
		e->sent = true;
		out[k++] = e->tu;
	}
	return k;
}

size_t own_pending(const struct own_table *t)
{
	size_t k = 0;
	for (const struct own_entry *e = t->pend_head; e; e = e->pend_next)
		k++;
	return k;
}

void own_resync_begin(struct own_table *t, uint32_t worker)
{
	for (struct own_entry *e = t->all_head; e; e = e->all_next)
		if (e->worker == worker)
			e->stale = true;
}

size_t own_resync_end(struct own_table *t, uint32_t worker, sync_tuple_fn gone, void *arg)
{
	size_t k = 0;
	struct own_entry *next;
	for (struct own_entry *e = t->all_head; e; e = next) {
		next = e->all_next;
		if (e->worker != worker || !e->stale)
			continue;
		struct sync_tuple tu = e->tu;
		bool sent = e->sent;
		own_remove(t, own_slot(t, e->worker, e->id));
		k++;
		if (sent && gone)
			gone(arg, &tu);
	}
	return k;
}

void own_refresh_start(struct own_table *t)
{
	t->cursor = t->all_head;
	t->refreshing = true;
}

size_t own_refresh_next(struct own_table *t, struct sync_tuple *out, size_t max, bool *last)
{
	size_t k = 0;
	struct own_entry *e = t->cursor;
	if (!t->refreshing) {
		*last = true;
		return 0;
	}
	for (; e && k < max; e = e->all_next)
		if (e->sent)
			out[k++] = e->tu;
	/* step over unannounced entries, so that *last is true as soon as nothing is left */
	while (e && !e->sent)
		e = e->all_next;
	t->cursor = e;
	*last = e == NULL;
	if (*last)
		t->refreshing = false;
	return k;
}

size_t own_each_on(
	const struct own_table *t, const struct ip_addr *vips, size_t n, sync_tuple_fn fn, void *arg)
{
	size_t k = 0;
	for (const struct own_entry *e = t->all_head; e; e = e->all_next) {
		if (!sync_tuple_on(&e->tu, vips, n))
			continue;
		k++;
		if (fn)
			fn(arg, &e->tu);
	}
	return k;
}

size_t own_take_on(struct own_table *t, const struct ip_addr *vips, size_t n, sync_tuple_fn fn, void *arg)
{
	size_t k = 0;
	struct own_entry *next;
	for (struct own_entry *e = t->all_head; e; e = next) {
		next = e->all_next;
		if (!sync_tuple_on(&e->tu, vips, n))
			continue;
		struct sync_tuple tu = e->tu;
		own_remove(t, own_slot(t, e->worker, e->id));
		k++;
		if (fn)
			fn(arg, &tu);
	}
	return k;
}

/* ---- peer table ---- */

int peer_init(struct peer_table *t, size_t cap, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->seed = seed;
	if (cap == 0)
		return -1;
	t->idx = calloc(INITIAL_BUCKETS, sizeof(*t->idx));
	if (!t->idx)
		return -1;
	t->n_idx = INITIAL_BUCKETS;
	t->cap = cap;
	return 0;
}

void peer_clear(struct peer_table *t)
{
	for (size_t i = 0; i < t->n_idx; i++) {
		struct peer_entry *e = t->idx[i];
		while (e) {
			struct peer_entry *next = e->hnext;
			free(e);
			e = next;
		}
		t->idx[i] = NULL;
	}
	t->n = 0;
}

void peer_free(struct peer_table *t)
{
	peer_clear(t);
	free(t->idx);
	memset(t, 0, sizeof(*t));
}

static struct peer_entry **peer_slot(const struct peer_table *t, const struct sync_tuple *tu)
{
	struct peer_entry **p = &t->idx[tuple_hash(tu, t->seed) & (t->n_idx - 1)];
	while (*p && !sync_tuple_equal(&(*p)->tu, tu))
		p = &(*p)->hnext;
	return p;
}

static void peer_grow(struct peer_table *t)
{
	size_t n_idx = t->n_idx * 2;
	struct peer_entry **idx = calloc(n_idx, sizeof(*idx));
	if (!idx)
		return;
	for (size_t i = 0; i < t->n_idx; i++) {
		struct peer_entry *e = t->idx[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			struct peer_entry **b = &idx[tuple_hash(&e->tu, t->seed) & (n_idx - 1)];
			e->hnext = *b;
			*b = e;
		}
	}
	free(t->idx);
	t->idx = idx;
	t->n_idx = n_idx;
}

int peer_add(struct peer_table *t, const struct sync_tuple *tu, uint64_t gen)
{
	struct peer_entry **slot = peer_slot(t, tu);
	struct peer_entry *e = *slot;
	if (e) {
		if (gen > e->gen)
			e->gen = gen;
		return 1;
	}
	if (t->n >= t->cap) {
		t->cap_hits++;
		return -1;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -1;
	*e = (struct peer_entry){ .hnext = NULL, .gen = gen, .tu = *tu };
	*slot = e;
	if (++t->n > t->n_idx)
		peer_grow(t);
	return 0;
}

static void peer_remove(struct peer_table *t, struct peer_entry **slot)
{
	struct peer_entry *e = *slot;
	*slot = e->hnext;
	t->n--;
	free(e);
}

bool peer_del(struct peer_table *t, const struct sync_tuple *tu)
{
	struct peer_entry **slot = peer_slot(t, tu);
	if (!*slot)
		return false;
	peer_remove(t, slot);
	return true;
}

size_t peer_prune(struct peer_table *t, uint64_t gen)
{
	size_t k = 0;
	for (size_t i = 0; i < t->n_idx; i++) {
		struct peer_entry **p = &t->idx[i];
		while (*p) {
			if ((*p)->gen < gen) {
				peer_remove(t, p);
				k++;
			} else {
				p = &(*p)->hnext;
			}
		}
	}
	return k;
}

size_t peer_take_on(struct peer_table *t, const struct ip_addr *vips, size_t n, sync_tuple_fn fn, void *arg)
{
	size_t k = 0;
	for (size_t i = 0; i < t->n_idx; i++) {
		struct peer_entry **p = &t->idx[i];
		while (*p) {
			if (sync_tuple_on(&(*p)->tu, vips, n)) {
				if (fn)
					fn(arg, &(*p)->tu);
				peer_remove(t, p);
				k++;
			} else {
				p = &(*p)->hnext;
			}
		}
	}
	return k;
}
