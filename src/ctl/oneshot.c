#include "ctl/oneshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

struct oneshot_conn {
	struct io io;
	struct timer timer;
	struct oneshot *o;
	char *in; /* max_request + 1 bytes */
	size_t in_len;
	struct strbuf out;
	size_t out_off;
	bool writing;
	struct oneshot_conn *next, *prev;
};

struct oneshot {
	struct loop *loop;
	struct io lio;
	struct oneshot_cfg cfg;
	struct oneshot_conn *conns;
	size_t n_conns;
};

static void conn_free(struct oneshot_conn *c)
{
	struct oneshot *o = c->o;
	loop_del(o->loop, &c->io);
	close(c->io.fd);
	timer_cancel(o->loop, &c->timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		o->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	o->n_conns--;
	sb_free(&c->out);
	free(c->in);
	free(c);
}

static void on_timeout(struct loop *l, struct timer *t)
{
	(void)l;
	struct oneshot_conn *c = t->arg;
	log_debug("client timed out", "what=%s", c->o->cfg.what);
	conn_free(c);
}

/* Writes what it can; frees the connection when everything is out (or the peer is gone). */
static void conn_write(struct oneshot_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->io.fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return; /* EPOLLOUT will call us again */
		break;
	}
	shutdown(c->io.fd, SHUT_WR);
	conn_free(c);
}

static void conn_respond(struct oneshot_conn *c, enum oneshot_event ev)
{
	c->in[c->in_len] = '\0';
	c->o->cfg.handle(c->o->cfg.arg, ev, c->in, c->in_len, &c->out);
	if (c->out.len == 0 || c->out.oom) {
		conn_free(c);
		return;
	}
	c->writing = true;
	loop_mod(c->o->loop, &c->io, EPOLLOUT);
	conn_write(c);
}

static void conn_read(struct oneshot_conn *c)
{
	struct oneshot *o = c->o;
	for (;;) {
		if (c->in_len == o->cfg.max_request) {
			conn_respond(c, ONESHOT_TOO_LARGE);
			return;
		}
		ssize_t n = recv(c->io.fd, c->in + c->in_len, o->cfg.max_request - c->in_len, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			c->in[c->in_len] = '\0';
			if (o->cfg.complete(c->in, c->in_len)) {
				conn_respond(c, ONESHOT_REQUEST);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n == 0) {
			conn_respond(c, ONESHOT_EOF);
			return;
		}
		conn_free(c); /* reset */
		return;
	}
}

static void on_conn(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	struct oneshot_conn *c = io->arg;
	if (c->writing) {
		conn_write(c);
		return;
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(c);
}

static void add_conn(struct oneshot *o, int fd)
{
	struct oneshot_conn *c = calloc(1, sizeof(*c));
	char *in = malloc(o->cfg.max_request + 1);
	if (!c || !in) {
		free(c);
		free(in);
		close(fd);
		return;
	}
	c->in = in;
	c->o = o;
	c->io = (struct io){ .fd = fd, .cb = on_conn, .arg = c };
	if (loop_add(o->loop, &c->io, EPOLLIN) < 0) {
		free(in);
		free(c);
		close(fd);
		return;
	}
	timer_init(&c->timer, on_timeout, c);
	timer_arm_in(o->loop, &c->timer, o->cfg.timeout_ms);
	c->next = o->conns;
	if (o->conns)
		o->conns->prev = c;
	o->conns = c;
	o->n_conns++;
}

static void on_accept(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	(void)ev;
	struct oneshot *o = io->arg;
	for (int i = 0; i < 64; i++) { /* bounded: the main loop has other work */
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept failed", "what=%s reason=\"%s\"", o->cfg.what,
					 strerror(errno));
			return;
		}
		if (o->n_conns >= o->cfg.max_conns) {
			close(fd);
			continue;
		}
		add_conn(o, fd);
	}
}

struct oneshot *oneshot_start(struct loop *l, int listen_fd, const struct oneshot_cfg *cfg)
{
	struct oneshot *o = calloc(1, sizeof(*o));
	if (!o) {
		close(listen_fd);
		return NULL;
	}
	o->loop = l;
	o->cfg = *cfg;
	o->lio = (struct io){ .fd = listen_fd, .cb = on_accept, .arg = o };
	if (loop_add(l, &o->lio, EPOLLIN) < 0) {
		close(listen_fd);
		free(o);
		return NULL;
	}
	return o;
}

void oneshot_stop(struct oneshot *o)
{
	if (!o)
		return;
	while (o->conns)
		conn_free(o->conns);
	loop_del(o->loop, &o->lio);
	close(o->lio.fd);
	free(o);
}

size_t oneshot_conns(const struct oneshot *o) { return o ? o->n_conns : 0; }
