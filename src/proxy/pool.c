#include "proxy/pool.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proxy/balance.h"

static uint64_t addr_key(const struct cfg_addr *a)
{
	return lb_hash_bytes(a->text, strlen(a->text));
}

struct pool *pool_new(const struct config *c)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->backends = calloc(c->n_backends ? c->n_backends : 1, sizeof(*p->backends));
	if (!p->backends) {
		free(p);
		return NULL;
	}
	p->n_backends = c->n_backends;
	for (size_t i = 0; i < c->n_backends; i++) {
		struct backend *b = &p->backends[i];
		b->cfg = c->backends[i];
		b->idx = i;
		b->n_servers = c->backends[i].n_servers;
		b->servers = calloc(b->n_servers ? b->n_servers : 1, sizeof(*b->servers));
		if (!b->servers) {
			pool_free(p);
			return NULL;
		}
		for (size_t j = 0; j < b->n_servers; j++) {
			struct server *s = &b->servers[j];
			s->cfg = c->backends[i].servers[j];
			s->backend = b;
			s->key = addr_key(&s->cfg.addr);
			bool up = b->cfg.health.type == HEALTH_NONE || b->cfg.health.initial_up;
			s->health.up = up;
			atomic_store(&s->active_up, up);
			pthread_mutex_init(&s->passive_lock, NULL);
		}
	}
	return p;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_backends; i++) {
		for (size_t j = 0; j < p->backends[i].n_servers; j++)
			pthread_mutex_destroy(&p->backends[i].servers[j].passive_lock);
		free(p->backends[i].servers);
	}
	free(p->backends);
	free(p);
}

struct backend *pool_find_backend(struct pool *p, const char *name)
{
	for (size_t i = 0; i < p->n_backends; i++)
		if (strcmp(p->backends[i].cfg.name, name) == 0)
			return &p->backends[i];
	return NULL;
}

struct server *backend_find_server(struct backend *b, const char *addr_text)
{
	for (size_t i = 0; i < b->n_servers; i++)
		if (strcmp(b->servers[i].cfg.addr.text, addr_text) == 0)
			return &b->servers[i];
	return NULL;
}

bool server_eligible(struct server *s, uint64_t now_ms)
{
	if (!atomic_load_explicit(&s->active_up, memory_order_relaxed))
		return false;
	if (atomic_load_explicit(&s->drained, memory_order_relaxed))
		return false;
	return now_ms >= atomic_load_explicit(&s->passive_down_until, memory_order_relaxed);
}

bool backend_has_eligible(struct backend *b, uint64_t now_ms)
{
	for (size_t i = 0; i < b->n_servers; i++)
		if (server_eligible(&b->servers[i], now_ms))
			return true;
	return false;
}

void server_connect_failed(struct server *s, uint64_t now_ms, const char *reason)
{
	atomic_fetch_add_explicit(&s->connect_failures_total, 1, memory_order_relaxed);
	struct backend *b = s->backend;
	if (b->cfg.max_fails == 0)
		return;
	pthread_mutex_lock(&s->passive_lock);
	bool down = passive_on_failure(&s->passive, now_ms, b->cfg.max_fails, b->cfg.fail_timeout_ms);
	if (down)
		atomic_store(&s->passive_down_until, s->passive.down_until);
	pthread_mutex_unlock(&s->passive_lock);
	if (down)
		log_warn("server down", "backend=%s server=%s reason=\"%s\" source=passive for_ms=%llu",
			 b->cfg.name, s->cfg.addr.text, reason,
			 (unsigned long long)b->cfg.fail_timeout_ms);
}

void server_connect_ok(struct server *s)
{
	/* cheap racy peek first: the lock is only taken when there is something to forget */
	if (s->passive.fails == 0)
		return;
	pthread_mutex_lock(&s->passive_lock);
	passive_on_success(&s->passive);
	pthread_mutex_unlock(&s->passive_lock);
}
