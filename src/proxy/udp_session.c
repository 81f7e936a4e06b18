/* UDP session table (see udp_session.h). Pure. */
#include "proxy/udp_session.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

int udp_table_init(struct udp_table *t, uint32_t cap, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0 || cap > UDP_SESS_MAX_CAP)
		return -1;
	uint32_t nb = 1;
	while (nb < cap) /* load factor <= 1: chains stay short */
		nb <<= 1;
	/* calloc: large blocks are fresh zero pages, resident only once touched */
	t->v = calloc(cap, sizeof(*t->v));
	t->heads = calloc(nb, sizeof(*t->heads));
	if (!t->v || !t->heads) {
		udp_table_free(t);
		return -1;
	}
	t->mask = nb - 1;
	t->cap = cap;
	t->seed = seed;
	return 0;
}

void udp_table_free(struct udp_table *t)
{
	free(t->v);
	free(t->heads);
	memset(t, 0, sizeof(*t));
}

static uint32_t bucket(const struct udp_table *t, const struct ip_addr *a, uint16_t port)
{
	uint64_t h = hash_fnv1a(HASH_FNV_OFFSET ^ t->seed, &a->family, 1);
	h = hash_fnv1a(h, a->b, ip_addr_len(a->family));
	h = hash_fnv1a(h, &port, sizeof(port));
	return (uint32_t)hash_mix64(h) & t->mask;
}

static bool same(const struct udp_sess *s, const struct ip_addr *a, uint16_t port)
{
	return s->port == port && ip_addr_equal(&s->addr, a);
}

uint32_t udp_table_find(const struct udp_table *t, const struct ip_addr *a, uint16_t port)
{
	for (uint32_t l = t->heads[bucket(t, a, port)]; l; l = t->v[l - 1].hnext)
		if (same(&t->v[l - 1], a, port))
			return l - 1;
	return UDP_SESS_NONE;
}

/* ---- LRU list ---- */

static void lru_unlink(struct udp_table *t, uint32_t i)
{
	struct udp_sess *s = &t->v[i];
	if (s->lprev)
		t->v[s->lprev - 1].lnext = s->lnext;
	else
		t->lru_head = s->lnext;
	if (s->lnext)
		t->v[s->lnext - 1].lprev = s->lprev;
	else
		t->lru_tail = s->lprev;
	s->lprev = s->lnext = 0;
}

static void lru_append(struct udp_table *t, uint32_t i)
{
	struct udp_sess *s = &t->v[i];
	s->lnext = 0;
	s->lprev = t->lru_tail;
	if (t->lru_tail)
		t->v[t->lru_tail - 1].lnext = i + 1;
	else
		t->lru_head = i + 1;
	t->lru_tail = i + 1;
}

static void touch(struct udp_table *t, uint32_t i, uint64_t now)
{
	t->v[i].last_active = now;
	if (t->lru_tail != i + 1) { /* the busiest session is usually already last */
		lru_unlink(t, i);
		lru_append(t, i);
	}
}

/* ---- insert / remove ---- */

uint32_t udp_table_insert(struct udp_table *t, const struct ip_addr *a, uint16_t port, uint64_t now)
{
	uint32_t i;
	if (t->free_head) {
		i = t->free_head - 1;
		t->free_head = t->v[i].hnext;
	} else if (t->hw < t->cap) {
		i = t->hw++;
	} else {
		t->full_total++;
		return UDP_SESS_NONE;
	}
	struct udp_sess *s = &t->v[i];
	*s = (struct udp_sess){ .addr = *a, .port = port, .used = true, .last_active = now };
	uint32_t b = bucket(t, a, port);
	s->hnext = t->heads[b];
	t->heads[b] = i + 1;
	lru_append(t, i);
	t->n++;
	return i;
}

void udp_table_remove(struct udp_table *t, uint32_t i)
{
	struct udp_sess *s = &t->v[i];
	if (!s->used)
		return;
	uint32_t *link = &t->heads[bucket(t, &s->addr, s->port)];
	while (*link != i + 1)
		link = &t->v[*link - 1].hnext;
	*link = s->hnext;
	lru_unlink(t, i);
	*s = (struct udp_sess){ .hnext = t->free_head };
	t->free_head = i + 1;
	t->n--;
}

/* ---- datagrams and expiry ---- */

void udp_table_on_request(struct udp_table *t, uint32_t i, uint64_t now)
{
	t->v[i].requests++;
	touch(t, i, now);
}

bool udp_table_on_reply(struct udp_table *t, uint32_t i, uint64_t now, uint32_t proxy_responses)
{
	struct udp_sess *s = &t->v[i];
	s->replies++;
	touch(t, i, now);
	return proxy_responses && s->requests && s->replies >= s->requests * proxy_responses;
}

uint32_t udp_table_next_expired(const struct udp_table *t, uint64_t now, uint64_t idle_ms)
{
	if (!t->lru_head)
		return UDP_SESS_NONE;
	const struct udp_sess *s = &t->v[t->lru_head - 1];
	/* a clock read before last_active (another thread's stamp) is not idle */
	return now >= s->last_active && now - s->last_active >= idle_ms ? t->lru_head - 1 : UDP_SESS_NONE;
}

bool udp_sess_unanswered(const struct udp_sess *s, uint32_t proxy_responses)
{
	return proxy_responses && s->replies < s->requests * proxy_responses;
}
