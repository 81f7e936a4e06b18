/* Backends and servers at run time, and their update on reload (RCU style: workers read an
 * immutable server set published with one atomic store; a replaced set is retired and freed
 * once the workers' grace period is over and no connection holds it; removed servers and
 * backends go with their last set). */
#include "proxy/pool.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proxy/balance.h"

static uint64_t addr_key(const struct cfg_addr *a)
{
	return lb_hash_bytes(a->text, strlen(a->text));
}

struct pool_update {
	size_t n;                  /* backends of the new config */
	struct backend **backends; /* kept or new object per config backend */
	bool *is_new;
	struct server_set **sets; /* the set each will publish */
	struct server ***servers; /* main thread's server array each will hold */
	struct server **fresh;    /* servers allocated by this update (freed on abort) */
	size_t n_fresh;
	const struct config *c; /* held by each set at commit */
};

static struct server *server_new(
	struct backend *b, const struct cfg_backend *bc, const struct cfg_server *sc)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *sc;
	s->backend = b;
	s->key = addr_key(&s->cfg.addr);
	bool up = bc->health.type == HEALTH_NONE || (bc->health.initial_up && !sc->discovered);
	s->health.up = up;
	atomic_store(&s->active_up, up);
	pthread_mutex_init(&s->passive_lock, NULL);
	return s;
}

static void server_free(struct server *s)
{
	pthread_mutex_destroy(&s->passive_lock);
	free(s);
}

/* The kept server for address `text` among the old ones not taken yet, or NULL. */
static struct server *take_old_server(struct backend *b, bool *taken, const char *text)
{
	for (size_t i = 0; b && i < b->n_servers; i++)
		if (!taken[i] && strcmp(b->servers[i]->cfg.addr.text, text) == 0) {
			taken[i] = true;
			return b->servers[i];
		}
	return NULL;
}

/* Builds new backend i's set and server array; kept servers are reused. */
static int prepare_servers(struct pool_update *u, size_t i, const struct cfg_backend *bc)
{
	struct backend *b = u->backends[i];
	struct backend *old = u->is_new[i] ? NULL : b;
	size_t n = bc->n_servers;
	struct server_set *set = calloc(1, sizeof(*set) + (n ? n : 1) * sizeof(set->v[0]));
	struct server **arr = calloc(n ? n : 1, sizeof(*arr));
	bool *taken = calloc(old && old->n_servers ? old->n_servers : 1, sizeof(*taken));
	u->sets[i] = set;
	u->servers[i] = arr;
	if (!set || !arr || !taken) {
		free(taken);
		return -1;
	}
	set->cfg = *bc;
	set->b = b;
	set->n = n;
	for (size_t j = 0; j < n; j++) {
		const struct cfg_server *sc = &bc->servers[j];
		struct server *s = take_old_server(old, taken, sc->addr.text);
		if (!s) {
			s = server_new(b, bc, sc);
			if (!s) {
				free(taken);
				return -1;
			}
			u->fresh[u->n_fresh++] = s;
		}
		arr[j] = s;
		set->v[j] = (struct server_slot){
			.s = s,
			.weight = sc->weight ? sc->weight : 1,
			.max_conns = sc->max_conns,
			.backup = sc->backup
		};
	}
	free(taken);
	return 0;
}

static int prepare_alloc(struct pool_update *u, const struct config *c)
{
	size_t n = c->n_backends ? c->n_backends : 1, servers = 1;
	for (size_t i = 0; i < c->n_backends; i++)
		servers += c->backends[i].n_servers;
	u->n = c->n_backends;
	u->backends = calloc(n, sizeof(*u->backends));
	u->is_new = calloc(n, sizeof(*u->is_new));
	u->sets = calloc(n, sizeof(*u->sets));
	u->servers = calloc(n, sizeof(*u->servers));
	u->fresh = calloc(servers, sizeof(*u->fresh));
	return u->backends && u->is_new && u->sets && u->servers && u->fresh ? 0 : -1;
}

struct pool_update *pool_update_prepare(struct pool *p, const struct config *c)
{
	struct pool_update *u = calloc(1, sizeof(*u));
	if (!u || prepare_alloc(u, c) < 0)
		goto fail;
	u->c = c;
	for (size_t i = 0; i < c->n_backends; i++) {
		struct backend *b = pool_find_backend(p, c->backends[i].name);
		if (!b) {
			if (!(b = calloc(1, sizeof(*b))))
				goto fail;
			u->is_new[i] = true;
		}
		u->backends[i] = b;
		if (prepare_servers(u, i, &c->backends[i]) < 0)
			goto fail;
	}
	return u;
fail:
	pool_update_abort(u);
	return NULL;
}

struct backend *const *pool_update_backends(const struct pool_update *u) { return u->backends; }

static void update_free(struct pool_update *u)
{
	free(u->backends);
	free(u->is_new);
	free(u->sets);
	free(u->servers);
	free(u->fresh);
	free(u);
}

void pool_update_abort(struct pool_update *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n_fresh; i++)
		server_free(u->fresh[i]);
	for (size_t i = 0; i < u->n; i++) {
		free(u->sets ? u->sets[i] : NULL);
		free(u->servers ? u->servers[i] : NULL);
		if (u->is_new && u->is_new[i])
			free(u->backends[i]);
	}
	update_free(u);
}

static bool in_new_array(struct server *s, struct server **arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (arr[i] == s)
			return true;
	return false;
}

static void retire_set(struct pool *p, struct server_set *set)
{
	if (!set)
		return;
	set->retired_epoch = GRACE_UNSTAMPED;
	set->retired_next = p->retired_sets;
	p->retired_sets = set;
}

/* Kept backend: mark servers the new config dropped (they go with their last set), retire the
 * old set. */
static void retire_old_parts(struct pool *p, struct backend *b, struct server **arr, size_t n)
{
	for (size_t j = 0; j < b->n_servers; j++) {
		struct server *s = b->servers[j];
		if (in_new_array(s, arr, n))
			continue;
		s->removed = true;
		log_info("server removed", "backend=%s server=%s active=%u", b->cfg.name,
			 s->cfg.addr.text, atomic_load(&s->active));
	}
	retire_set(p, backend_set(b));
	free(b->servers);
}

/* A backend the new config does not have: connections and queued clients keep its last set. */
static void retire_backend(struct pool *p, struct backend *b)
{
	b->removed = true;
	for (size_t j = 0; j < b->n_servers; j++)
		b->servers[j]->removed = true;
	retire_set(p, backend_set(b));
	b->retired_next = p->retired_backends;
	p->retired_backends = b;
	log_info("backend removed", "backend=%s servers=%zu", b->cfg.name, b->n_servers);
}

static bool update_has(const struct pool_update *u, const struct backend *b)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->backends[i] == b)
			return true;
	return false;
}

/* Kept servers take the new weight/max_conns/backup (for the main thread; workers read the
 * set). A backend that stops checking health forgets its check state: servers count as up. */
static void refresh_kept_server(struct server *s, const struct cfg_server *sc, const struct cfg_backend *bc)
{
	s->cfg.weight = sc->weight;
	s->cfg.max_conns = sc->max_conns;
	s->cfg.backup = sc->backup;
	if (bc->health.type == HEALTH_NONE) {
		s->health_started = false;
		s->health.up = true;
		atomic_store(&s->active_up, true);
	}
}

/* A set becomes live: it lists its servers, counts for its backend, holds its config. */
static void set_live(struct pool *p, struct server_set *set, const struct config *c)
{
	set->id = ++p->next_set_id;
	set->owner = config_hold(c);
	set->b->n_sets++;
	for (size_t j = 0; j < set->n; j++)
		set->v[j].s->n_sets++;
}

void pool_update_commit(struct pool *p, struct pool_update *u)
{
	for (size_t i = 0; i < p->n_backends; i++)
		if (!update_has(u, p->backends[i]))
			retire_backend(p, p->backends[i]);
	for (size_t i = 0; i < u->n; i++) {
		struct backend *b = u->backends[i];
		struct server_set *set = u->sets[i];
		set_live(p, set, u->c);
		if (u->is_new[i]) {
			b->idx = p->next_idx++;
		} else {
			retire_old_parts(p, b, u->servers[i], set->n);
			for (size_t j = 0; j < set->n; j++)
				refresh_kept_server(set->v[j].s, &set->cfg.servers[j], &set->cfg);
		}
		b->cfg = set->cfg;
		b->servers = u->servers[i];
		b->n_servers = set->n;
		atomic_store_explicit(&b->set, set, memory_order_release);
	}
	/* every old set is unpublished now: their grace period starts here */
	uint64_t epoch = grace_retire(p->grace);
	for (struct server_set *r = p->retired_sets; r && r->retired_epoch == GRACE_UNSTAMPED;
	     r = r->retired_next)
		r->retired_epoch = epoch;
	free(p->backends);
	p->backends = u->backends;
	p->n_backends = u->n;
	u->backends = NULL;
	update_free(u);
}

struct pool *pool_new(const struct config *c)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	struct pool_update *u = pool_update_prepare(p, c);
	if (!u) {
		free(p);
		return NULL;
	}
	pool_update_commit(p, u);
	return p;
}

void pool_set_grace(struct pool *p, struct grace *g) { p->grace = g; }

static void unlink_backend(struct pool *p, struct backend *b)
{
	struct backend **pp = &p->retired_backends;
	while (*pp && *pp != b)
		pp = &(*pp)->retired_next;
	if (*pp)
		*pp = b->retired_next;
}

/* A retired backend goes once no set of it and no listener is left. */
static void backend_maybe_free(struct pool *p, struct backend *b)
{
	if (!b->removed || b->n_sets || b->n_listeners)
		return;
	unlink_backend(p, b);
	free(b->servers);
	free(b);
	p->freed_total++;
}

/* The set's servers that were removed go with their last set, and so may its backend. */
static void set_free(struct pool *p, struct server_set *set)
{
	for (size_t j = 0; j < set->n; j++) {
		struct server *s = set->v[j].s;
		if (--s->n_sets == 0 && s->removed) {
			server_free(s);
			p->freed_total++;
		}
	}
	struct backend *b = set->b;
	b->n_sets--;
	config_release(set->owner);
	free(set);
	p->freed_total++;
	backend_maybe_free(p, b);
}

size_t pool_retired_count(const struct pool *p)
{
	size_t n = 0;
	for (const struct server_set *s = p->retired_sets; s; s = s->retired_next)
		n++;
	for (const struct backend *b = p->retired_backends; b; b = b->retired_next)
		n++;
	return n;
}

void pool_backend_listener(struct pool *p, struct backend *b, bool add)
{
	if (add) {
		b->n_listeners++;
		return;
	}
	b->n_listeners--;
	backend_maybe_free(p, b);
}

size_t pool_reclaim(struct pool *p)
{
	uint64_t done = grace_poll(p->grace);
	size_t pending = 0;
	struct server_set **pp = &p->retired_sets;
	while (*pp) {
		struct server_set *set = *pp;
		/* acquire: pairs with set_drop's release, the holder's last access */
		if (set->retired_epoch <= done &&
		    atomic_load_explicit(&set->refs, memory_order_acquire) == 0) {
			*pp = set->retired_next;
			set_free(p, set);
		} else {
			pp = &set->retired_next;
			pending++;
		}
	}
	for (struct backend *b = p->retired_backends; b; b = b->retired_next)
		pending++;
	return pending;
}

/* At exit (no worker runs): everything, held or not. */
void pool_free(struct pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_backends; i++) {
		struct backend *b = p->backends[i];
		for (size_t j = 0; j < b->n_servers; j++)
			b->servers[j]->removed = true;
		b->removed = true;
		b->n_listeners = 0;
		b->retired_next = p->retired_backends;
		p->retired_backends = b;
		retire_set(p, backend_set(b));
	}
	while (p->retired_sets) {
		struct server_set *set = p->retired_sets;
		p->retired_sets = set->retired_next;
		set_free(p, set);
	}
	while (p->retired_backends) { /* still counted by listeners (pool freed before the proxy) */
		struct backend *b = p->retired_backends;
		b->n_sets = b->n_listeners = 0;
		backend_maybe_free(p, b);
	}
	free(p->backends);
	free(p);
}

struct backend *pool_find_backend(struct pool *p, const char *name)
{
	for (size_t i = 0; i < p->n_backends; i++)
		if (strcmp(p->backends[i]->cfg.name, name) == 0)
			return p->backends[i];
	return NULL;
}

struct server *backend_find_server(struct backend *b, const char *addr_text)
{
	for (size_t i = 0; i < b->n_servers; i++)
		if (strcmp(b->servers[i]->cfg.addr.text, addr_text) == 0)
			return b->servers[i];
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
		if (server_eligible(b->servers[i], now_ms))
			return true;
	return false;
}

void server_connect_failed(
	struct server *s, const struct cfg_backend *cfg, uint64_t now_ms, const char *reason)
{
	atomic_fetch_add_explicit(&s->connect_failures_total, 1, memory_order_relaxed);
	if (cfg->max_fails == 0)
		return;
	pthread_mutex_lock(&s->passive_lock);
	bool down = passive_on_failure(&s->passive, now_ms, cfg->max_fails, cfg->fail_timeout_ms);
	if (down)
		atomic_store(&s->passive_down_until, s->passive.down_until);
	pthread_mutex_unlock(&s->passive_lock);
	if (down)
		log_warn("server down",
			 "backend=%s server=%s reason=\"%s\" source=passive for_ms=%llu", cfg->name,
			 s->cfg.addr.text, reason, (unsigned long long)cfg->fail_timeout_ms);
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
