/* Moving bytes: full duplex, half-close aware. Small messages through recv/send and the worker's
 * scratch buffer, bulk through zero-copy splice() and pooled pipes. Edge-triggered epoll: a pump
 * runs until the source is drained (EAGAIN, or a short read when no FIN is pending) or the
 * destination says EAGAIN. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/worker.h"

#define SPLICE_CHUNK (1u << 20)
#define SMALL_READ 4096

enum pump_result { PUMP_OK, PUMP_ERROR };

/* Splice mode, for bulk: socket -> pipe -> socket without copying. Leaves the pipe to the pool
 * when the direction idles, so an idle connection holds no pipe. */
static enum pump_result pump_splice(struct conn *c, struct half *h, int from, int to)
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
		if (h->eof || !h->bulk) {
			worker_put_pipe(c->w, h);
			return PUMP_OK;
		}
		if (h->pipe_r < 0 && !worker_get_pipe(c->w, h))
			return PUMP_ERROR;
		ssize_t n = splice(from, NULL, h->pipe_w, NULL, SPLICE_CHUNK,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			h->in_pipe = (uint32_t)n;
			if (n < SMALL_READ)
				h->bulk = false; /* the burst is over: back to recv/send */
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

/* Keeps what a slow destination did not take. */
static bool park(struct half *h, const char *p, size_t len)
{
	h->buf = malloc(len);
	if (!h->buf)
		return false;
	memcpy(h->buf, p, len);
	h->buf_off = 0;
	h->buf_len = (uint32_t)len;
	return true;
}

/* Moves what it can from `from` to `to`. Small messages: recv into the worker's scratch buffer
 * and send at once (a short read means the socket is drained, so no extra EAGAIN read: one
 * syscall fewer per message than splice). A read that fills the buffer switches to splice.
 * With h->fin_pending a FIN may be queued behind the data: read on until EOF or EAGAIN, and
 * send the data and the FIN together. */
static enum pump_result pump(struct conn *c, struct half *h, int from, int to)
{
	for (;;) {
		if (h->buf_len) {
			ssize_t n = send(to, h->buf + h->buf_off, h->buf_len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				h->buf_off += (uint32_t)n;
				h->buf_len -= (uint32_t)n;
				h->bytes += (uint64_t)n;
				if (h->buf_len == 0) {
					free(h->buf);
					h->buf = NULL;
				}
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return PUMP_OK;
			return PUMP_ERROR;
		}
		if (h->bulk || h->in_pipe) {
			if (pump_splice(c, h, from, to) != PUMP_OK)
				return PUMP_ERROR;
			if (h->in_pipe || (h->bulk && !h->eof))
				return PUMP_OK; /* still bulk: splice stopped on EAGAIN */
		}
		if (h->eof) {
			if (!h->done) {
				/* when the other way is finished too, close() will send the FIN */
				struct half *other = h == &c->c2s ? &c->s2c : &c->c2s;
				if (!other->done)
					shutdown(to, SHUT_WR);
				h->done = true;
			}
			return PUMP_OK;
		}
		/* no edge since the last drain: a read would only say EAGAIN */
		if (h->drained && !h->fin_pending)
			return PUMP_OK;
		/* Read what is there. With a FIN queued behind the data, read on to the EOF first:
		 * the data then leaves with MSG_MORE and the FIN rides on its segment (shutdown() or
		 * close() tacks it onto the unsent tail), one packet and one ACK fewer per close. */
		char *buf = c->w->scratch;
		size_t got = 0;
		bool eof = false, err = false;
		for (;;) {
			ssize_t n = recv(from, buf + got, RELAY_SCRATCH - got, MSG_DONTWAIT);
			if (n > 0) {
				got += (size_t)n;
				if (got == RELAY_SCRATCH || !h->fin_pending)
					break;
				continue;
			}
			if (n == 0)
				eof = true;
			else if (errno == EINTR)
				continue;
			else if (errno != EAGAIN)
				err = true;
			break;
		}
		if (got) {
			int more = eof ? MSG_MORE : 0;
			ssize_t m = send(to, buf, got, MSG_NOSIGNAL | MSG_DONTWAIT | more);
			if (m < 0 && errno != EAGAIN && errno != EINTR)
				return PUMP_ERROR;
			if (m < 0)
				m = 0;
			h->bytes += (uint64_t)m;
			if ((size_t)m < got && !park(h, buf + m, got - (size_t)m))
				return PUMP_ERROR;
		}
		if (err)
			return PUMP_ERROR; /* what came before the error has been passed on */
		if (eof) {
			h->eof = true;
			continue;
		}
		if (got == RELAY_SCRATCH) {
			h->bulk = true;
			continue;
		}
		/* EAGAIN, or a short read with no FIN announced: drained (a full destination's
		 * EPOLLOUT edge brings us back for parked bytes; the source's next edge for more) */
		h->drained = true;
		return PUMP_OK;
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
		free(h->buf);
		h->buf = NULL;
		h->buf_len = 0;
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

int relay_early_read(struct conn *c)
{
	char *buf = c->w->scratch;
	ssize_t n;
	do
		n = recv(c->cio.fd, buf, RELAY_SCRATCH, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		if (!park(&c->c2s, buf, (size_t)n))
			return -1;
		c->c2s.drained = (size_t)n < RELAY_SCRATCH;
	} else if (n == 0) {
		return 1; /* FIN before any byte: nothing to relay */
	} else if (errno != EAGAIN) {
		return -1;
	}
	return 0;
}

void relay_start(struct conn *c, uint32_t server_ev)
{
	const uint32_t rd = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
	const uint32_t fin = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
	c->state = CONN_RELAY;
	/* edge-triggered: the client's edges came while we connected, and the server's may have
	 * come with the connect; read where they said there is something, no blind reads */
	if (c->early_ev & fin)
		c->c2s.fin_pending = true;
	if (server_ev & fin)
		c->s2c.fin_pending = true;
	bool c2s = c->early_ev & rd, s2c = server_ev & rd;
	if (c2s)
		c->c2s.drained = false;
	if (s2c)
		c->s2c.drained = false;
	c2s |= c->c2s.buf_len != 0; /* read at accept: goes out now, with the handshake's ACK */
	if (c2s || s2c)
		relay_step(c, c2s, s2c);
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
	bool run_out = writable && (out->in_pipe || out->buf_len);
	if (!run_in && !run_out)
		return;
	struct half *in = is_client ? &c->c2s : &c->s2c;
	if (readable)
		in->drained = false;
	/* a FIN (or error) is queued behind this fd's data: no short-read shortcut for it any more,
	 * since no further edge will tell us about it */
	if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		in->fin_pending = true;
	relay_step(c, is_client ? run_in : run_out, is_client ? run_out : run_in);
}
