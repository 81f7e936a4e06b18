/* The byte pump. See relay.h for the contract. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/relay.h"

#define SPLICE_CHUNK (1u << 20)
#define SMALL_READ 4096

/* ---------- the pool ---------- */

int relay_pool_init(struct relay_pool *rp, size_t max_pipes)
{
	*rp = (struct relay_pool){ .cap_pipes = max_pipes };
	rp->pipes = calloc(max_pipes ? max_pipes : 1, sizeof(*rp->pipes));
	rp->scratch = malloc(RELAY_SCRATCH);
	return rp->pipes && rp->scratch ? 0 : -1;
}

void relay_pool_free(struct relay_pool *rp)
{
	for (size_t i = 0; i < rp->n_pipes; i++) {
		close(rp->pipes[i].r);
		close(rp->pipes[i].w);
	}
	free(rp->pipes);
	free(rp->scratch);
	*rp = (struct relay_pool){ 0 };
}

static bool pipe_get(struct relay_pool *rp, struct relay_half *h)
{
	if (rp->n_pipes) {
		rp->n_pipes--;
		h->pipe_r = rp->pipes[rp->n_pipes].r;
		h->pipe_w = rp->pipes[rp->n_pipes].w;
		return true;
	}
	int fds[2];
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return false;
	h->pipe_r = fds[0];
	h->pipe_w = fds[1];
	return true;
}

/* Only an empty pipe goes back to the pool. */
static void pipe_put(struct relay_pool *rp, struct relay_half *h)
{
	if (h->pipe_r < 0)
		return;
	if (rp->n_pipes < rp->cap_pipes) {
		rp->pipes[rp->n_pipes].r = h->pipe_r;
		rp->pipes[rp->n_pipes].w = h->pipe_w;
		rp->n_pipes++;
	} else {
		close(h->pipe_r);
		close(h->pipe_w);
	}
	h->pipe_r = h->pipe_w = -1;
}

/* ---------- one direction ---------- */

/* What one job of a pump says: loop again, stop until the next edge, fail, or nothing to do
 * here (the next job runs). */
enum step { STEP_MORE, STEP_WAIT, STEP_FAIL, STEP_PASS };

/* Keeps what a slow destination did not take. */
static bool park(struct relay_half *h, const char *p, size_t len)
{
	h->buf = malloc(len);
	if (!h->buf)
		return false;
	memcpy(h->buf, p, len);
	h->buf_off = 0;
	h->buf_len = (uint32_t)len;
	return true;
}

/* Job 1: parked bytes go first, nothing read later may overtake them. */
static enum step send_parked(struct relay_half *h, int to)
{
	if (!h->buf_len)
		return STEP_PASS;
	ssize_t n = send(to, h->buf + h->buf_off, h->buf_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		h->buf_off += (uint32_t)n;
		h->buf_len -= (uint32_t)n;
		h->bytes += (uint64_t)n;
		if (h->buf_len == 0) {
			free(h->buf);
			h->buf = NULL;
		}
		return STEP_MORE;
	}
	if (n < 0 && errno == EINTR)
		return STEP_MORE;
	if (n < 0 && errno == EAGAIN)
		return STEP_WAIT; /* its EPOLLOUT edge brings us back */
	return STEP_FAIL;
}

/* Splice mode, for bulk: socket -> pipe -> socket without copying. Leaves the pipe to the pool
 * when the direction idles, so an idle connection holds no pipe. */
static enum step splice_burst(struct relay_pool *rp, struct relay_half *h, int from, int to)
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
				return STEP_WAIT; /* destination full: its EPOLLOUT edge resumes us */
			return STEP_FAIL;
		}
		if (h->eof || !h->bulk) {
			pipe_put(rp, h);
			return STEP_PASS; /* the burst is over: FIN or small reads follow */
		}
		if (h->pipe_r < 0 && !pipe_get(rp, h))
			return STEP_FAIL;
		ssize_t n = splice(from, NULL, h->pipe_w, NULL, SPLICE_CHUNK,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			h->in_pipe = (uint32_t)n;
			if (n < SMALL_READ)
				h->bulk = false; /* back to recv/send once the pipe is flushed */
			continue;
		}
		if (n == 0) {
			h->eof = true;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			pipe_put(rp, h);
			return STEP_WAIT;
		}
		return STEP_FAIL;
	}
}

/* Job 2: bulk. */
static enum step splice_bulk(struct relay *r, struct relay_half *h, int from, int to)
{
	if (!h->bulk && !h->in_pipe)
		return STEP_PASS;
	return splice_burst(r->pool, h, from, to);
}

/* After the last byte, the FIN. When the other way is finished too, close() sends it. */
static enum step forward_fin(struct relay *r, struct relay_half *h, int to)
{
	if (!h->eof)
		return STEP_PASS;
	if (!h->done) {
		struct relay_half *other = h == &r->c2s ? &r->s2c : &r->c2s;
		if (!other->done)
			shutdown(to, SHUT_WR);
		h->done = true;
	}
	return STEP_WAIT;
}

/* Job 3: small messages. recv into the scratch buffer and send at once (a short read means the
 * socket is drained, so no extra EAGAIN read: one syscall fewer per message than splice). A
 * read that fills the buffer switches to splice. With a FIN queued behind the data, read on to
 * the EOF first: the data then leaves with MSG_MORE and the FIN rides on its segment
 * (shutdown() or close() tacks it onto the unsent tail), one packet and one ACK fewer. */
static enum step read_burst(struct relay *r, struct relay_half *h, int from, int to)
{
	/* no edge since the last drain: a read would only say EAGAIN */
	if (h->drained && !h->fin_pending)
		return STEP_WAIT;
	char *buf = r->pool->scratch;
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
		ssize_t m = send(to, buf, got, MSG_NOSIGNAL | MSG_DONTWAIT | (eof ? MSG_MORE : 0));
		if (m < 0 && errno != EAGAIN && errno != EINTR)
			return STEP_FAIL;
		if (m < 0)
			m = 0;
		h->bytes += (uint64_t)m;
		if ((size_t)m < got && !park(h, buf + m, got - (size_t)m))
			return STEP_FAIL;
	}
	if (err)
		return STEP_FAIL; /* what came before the error has been passed on */
	if (eof) {
		h->eof = true;
		return STEP_MORE;
	}
	if (got == RELAY_SCRATCH) {
		h->bulk = true;
		return STEP_MORE;
	}
	/* EAGAIN, or a short read with no FIN announced: drained (a full destination's EPOLLOUT
	 * edge brings us back for parked bytes; the source's next edge for more) */
	h->drained = true;
	return STEP_WAIT;
}

/* Moves what it can from `from` to `to`. Returns false on failure. */
static bool pump(struct relay *r, struct relay_half *h, int from, int to)
{
	for (;;) {
		enum step s = send_parked(h, to);
		if (s == STEP_PASS)
			s = splice_bulk(r, h, from, to);
		if (s == STEP_PASS)
			s = forward_fin(r, h, to);
		if (s == STEP_PASS)
			s = read_burst(r, h, from, to);
		if (s != STEP_MORE)
			return s != STEP_FAIL;
	}
}

static enum relay_verdict step(struct relay *r, bool run_c2s, bool run_s2c)
{
	if (run_c2s && !r->c2s.done && !pump(r, &r->c2s, r->cfd, r->sfd))
		return RELAY_RESET;
	if (run_s2c && !r->s2c.done && !pump(r, &r->s2c, r->sfd, r->cfd))
		return RELAY_RESET;
	return r->c2s.done && r->s2c.done ? RELAY_DONE : RELAY_GOING;
}

/* ---------- the connection ---------- */

void relay_init(struct relay *r, struct relay_pool *rp, int cfd)
{
	*r = (struct relay){ .pool = rp, .cfd = cfd, .sfd = -1 };
	r->c2s.pipe_r = r->c2s.pipe_w = r->s2c.pipe_r = r->s2c.pipe_w = -1;
}

int relay_early_read(struct relay *r)
{
	char *buf = r->pool->scratch;
	ssize_t n;
	do
		n = recv(r->cfd, buf, RELAY_SCRATCH, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		if (!park(&r->c2s, buf, (size_t)n))
			return -1;
		r->c2s.drained = (size_t)n < RELAY_SCRATCH;
	} else if (n == 0) {
		return 1; /* FIN before any byte: nothing to relay */
	} else if (errno != EAGAIN) {
		return -1;
	}
	return 0;
}

enum relay_verdict relay_start(struct relay *r, int sfd, uint32_t client_ev, uint32_t server_ev)
{
	const uint32_t rd = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
	const uint32_t fin = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
	r->sfd = sfd;
	/* edge-triggered: the client's edges came while we connected, and the server's may have
	 * come with the connect; read where they said there is something, no blind reads */
	if (client_ev & fin)
		r->c2s.fin_pending = true;
	if (server_ev & fin)
		r->s2c.fin_pending = true;
	bool c2s = client_ev & rd, s2c = server_ev & rd;
	if (c2s)
		r->c2s.drained = false;
	if (s2c)
		r->s2c.drained = false;
	c2s |= r->c2s.buf_len != 0; /* read at accept: goes out now, with the handshake's ACK */
	if (!c2s && !s2c)
		return RELAY_GOING;
	return step(r, c2s, s2c);
}

enum relay_verdict relay_on_event(struct relay *r, bool from_client, uint32_t ev)
{
	bool readable = ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
	bool writable = ev & (EPOLLOUT | EPOLLHUP | EPOLLERR);
	/* this fd is the source of one direction and the destination of the other; the latter
	 * only needs work when bytes are parked for it */
	struct relay_half *in = from_client ? &r->c2s : &r->s2c;
	struct relay_half *out = from_client ? &r->s2c : &r->c2s;
	bool run_in = readable;
	bool run_out = writable && (out->in_pipe || out->buf_len);
	if (!run_in && !run_out)
		return RELAY_GOING;
	if (readable)
		in->drained = false;
	/* a FIN (or error) is queued behind this fd's data: no short-read shortcut for it any more,
	 * since no further edge will tell us about it */
	if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		in->fin_pending = true;
	return step(r, from_client ? run_in : run_out, from_client ? run_out : run_in);
}

void relay_release(struct relay *r)
{
	struct relay_half *hs[2] = { &r->c2s, &r->s2c };
	for (int i = 0; i < 2; i++) {
		struct relay_half *h = hs[i];
		free(h->buf);
		h->buf = NULL;
		h->buf_len = 0;
		if (h->pipe_r < 0)
			continue;
		if (h->in_pipe) { /* bytes still parked: the pipe cannot be reused */
			close(h->pipe_r);
			close(h->pipe_w);
			h->pipe_r = h->pipe_w = -1;
			h->in_pipe = 0;
		} else {
			pipe_put(r->pool, h);
		}
	}
}
