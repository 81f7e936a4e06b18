/* Listening sockets and the worker threads' lifecycle (the proxy object). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/worker.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

/* SO_REUSEPORT so each worker owns a socket; FREEBIND so a VIP can be bound before it exists. */
static int listen_socket(const struct cfg_addr *a)
{
	int fam = a->ss.ss_family;
	int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (fam == AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	} else {
		const struct sockaddr_in6 *s6 = (const void *)&a->ss;
		/* "[::]" means every address, v4 included; a specific v6 address means just that */
		int v6only = !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	}
	set_keepalive(fd); /* accepted sockets inherit it: no per-connection setsockopt */
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	if (listen(fd, 4096) < 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

static void proxy_destroy(struct proxy *p, size_t started)
{
	for (size_t i = 0; i < p->n_workers; i++)
		atomic_store(&p->workers[i].quit, true);
	for (size_t i = 0; i < p->n_workers; i++) {
		if (i < started) {
			loop_wake(p->workers[i].loop);
			pthread_join(p->workers[i].thread, NULL);
		}
		worker_destroy(&p->workers[i]);
	}
	free(p->workers);
	free(p->lstats);
	free(p);
}

struct proxy *proxy_start(const struct config *c, struct pool *pool)
{
	struct proxy *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = c;
	p->pool = pool;
	p->n_workers = c->workers ? c->workers : 1;
	p->workers = calloc(p->n_workers, sizeof(*p->workers));
	p->lstats = calloc(c->n_listeners ? c->n_listeners : 1, sizeof(*p->lstats));
	if (!p->workers || !p->lstats) {
		free(p->workers);
		free(p->lstats);
		free(p);
		return NULL;
	}
	for (size_t i = 0; i < p->n_workers; i++) {
		struct worker *w = &p->workers[i];
		w->ls = calloc(c->n_listeners ? c->n_listeners : 1, sizeof(*w->ls));
		if (!w->ls || worker_init(w, p, i) < 0) {
			log_error("worker init failed", "worker=%zu", i);
			proxy_destroy(p, 0);
			return NULL;
		}
		for (size_t j = 0; j < c->n_listeners; j++) {
			const struct cfg_listener *l = &c->listeners[j];
			int fd = listen_socket(&l->bind);
			if (fd < 0 || worker_add_listener(w, fd, j, &pool->backends[l->backend_idx]) < 0) {
				log_error("listen failed", "listener=%s bind=%s reason=\"%s\"", l->name,
					  l->bind.text, strerror(errno));
				if (fd >= 0)
					close(fd);
				proxy_destroy(p, 0);
				return NULL;
			}
		}
	}
	for (size_t j = 0; j < c->n_listeners; j++)
		log_info("listening", "listener=%s bind=%s backend=%s workers=%zu", c->listeners[j].name,
			 c->listeners[j].bind.text, c->listeners[j].backend, p->n_workers);
	for (size_t i = 0; i < p->n_workers; i++) {
		if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
			log_error("thread start failed", "worker=%zu", i);
			proxy_destroy(p, i);
			return NULL;
		}
	}
	return p;
}

static void signal_workers(struct proxy *p, _Atomic bool *(*field)(struct worker *))
{
	for (size_t i = 0; i < p->n_workers; i++) {
		atomic_store(field(&p->workers[i]), true);
		loop_wake(p->workers[i].loop);
	}
}

static _Atomic bool *f_stop(struct worker *w) { return &w->stop_accepting; }
static _Atomic bool *f_close(struct worker *w) { return &w->close_all; }

void proxy_stop_accepting(struct proxy *p) { signal_workers(p, f_stop); }
void proxy_close_all(struct proxy *p) { signal_workers(p, f_close); }

uint64_t proxy_active_conns(struct proxy *p)
{
	return atomic_load(&p->total_conns);
}

void proxy_free(struct proxy *p)
{
	if (p)
		proxy_destroy(p, p->n_workers);
}

size_t proxy_n_listeners(const struct proxy *p) { return p->cfg->n_listeners; }
const struct cfg_listener *proxy_listener_cfg(const struct proxy *p, size_t i)
{
	return &p->cfg->listeners[i];
}
struct listener_stats *proxy_listener_stats(struct proxy *p, size_t i) { return &p->lstats[i]; }
