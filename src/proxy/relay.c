/* Moving bytes: full duplex, half-close aware, zero-copy splice() through per-direction pipes.
 * Edge-triggered epoll: every pump runs until the source or the destination says EAGAIN. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/worker.h"

#define SPLICE_CHUNK (1u << 20)

enum pump_result { PUMP_OK, PUMP_ERROR };

/* Moves what it can from `from` to `to`. Leaves the pipe to the pool when the direction idles,
 * so an idle connection holds no pipe. */
static enum pump_result pump(struct conn *c, struct half *h, int from, int to)
{
	for (;;) {
		if (h->in_pipe) {
			ssize_t n = splice(h->pipe_r, NULL, to, NULL, h->in_pipe,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				h->in_pipe -= (uint32_t)n;
				h->bytes += (uint64_t)n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return PUMP_OK; /* destination full: its EPOLLOUT edge resumes us */
			return PUMP_ERROR;
		}
		if (h->eof) {
			if (!h->done) {
				shutdown(to, SHUT_WR);
				h->done = true;
			}
			worker_put_pipe(c->w, h);
			return PUMP_OK;
		}
		if (h->pipe_r < 0 && !worker_get_pipe(c->w, h))
			return PUMP_ERROR;
		ssize_t n = splice(from, NULL, h->pipe_w, NULL, SPLICE_CHUNK,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			h->in_pipe = (uint32_t)n;
			continue;
		}
		if (n == 0) {
			h->eof = true;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			worker_put_pipe(c->w, h);
			return PUMP_OK;
		}
		return PUMP_ERROR;
	}
}

void relay_flush_counters(struct conn *c)
{
	if (!c->srv)
		return;
	if (c->c2s.bytes) {
		atomic_fetch_add_explicit(&c->srv->bytes_to_server, c->c2s.bytes, memory_order_relaxed);
		c->c2s.bytes = 0;
	}
	if (c->s2c.bytes) {
		atomic_fetch_add_explicit(&c->srv->bytes_from_server, c->s2c.bytes, memory_order_relaxed);
		c->s2c.bytes = 0;
	}
}

void relay_release_pipes(struct conn *c)
{
	/* a pipe with bytes still parked cannot be reused: close it */
	struct half *hs[2] = { &c->c2s, &c->s2c };
	for (int i = 0; i < 2; i++) {
		struct half *h = hs[i];
		if (h->pipe_r < 0)
			continue;
		if (h->in_pipe) {
			close(h->pipe_r);
			close(h->pipe_w);
			h->pipe_r = h->pipe_w = -1;
			h->in_pipe = 0;
		} else {
			worker_put_pipe(c->w, h);
		}
	}
}

static void relay_step(struct conn *c, bool run_c2s, bool run_s2c)
{
	c->last_active = loop_now(c->w->loop);
	if (run_c2s && !c->c2s.done && pump(c, &c->c2s, c->cio.fd, c->sio.fd) != PUMP_OK) {
		conn_close(c, "reset");
		return;
	}
	if (run_s2c && !c->s2c.done && pump(c, &c->s2c, c->sio.fd, c->cio.fd) != PUMP_OK) {
		conn_close(c, "reset");
		return;
	}
	relay_flush_counters(c);
	if (c->c2s.done && c->s2c.done)
		conn_close(c, NULL);
}

void relay_start(struct conn *c)
{
	c->state = CONN_RELAY;
	/* the client may have sent (or closed) while we connected: its edge is gone, so look now */
	relay_step(c, true, true);
}

/* Called by worker.c for fd events of a connection in the relay state. */
void relay_on_event(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	struct conn *c = io->arg;
	bool is_client = io == &c->cio;
	bool readable = ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
	bool writable = ev & (EPOLLOUT | EPOLLHUP | EPOLLERR);
	/* this fd is the source of one direction and the destination of the other; the latter
	 * only needs work when bytes are parked for it */
	struct half *out = is_client ? &c->s2c : &c->c2s;
	bool run_in = readable;
	bool run_out = writable && out->in_pipe;
	if (!run_in && !run_out)
		return;
	relay_step(c, is_client ? run_in : run_out, is_client ? run_out : run_in);
}
