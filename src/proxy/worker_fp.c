/* The workers' side of the kernel fast path (issue 21, docs/fastpath.md). A relayed connection
 * whose first exchange is done, with both sockets read dry, goes into the BPF sockhash: the
 * kernel then moves its bytes socket to socket. The worker only reads FIN and RST, passes a
 * FIN on once every byte before it reached the peer's send queue, and reads the program's byte
 * counters for the server's counters and for the idle timeout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/fastpath.h"
#include "proxy/worker.h"

#define FIN_POLL_FIRST_MS 1
#define FIN_POLL_MAX_MS 1000
#define IDLE_CHECKS 4 /* the idle deadline is checked this often per idle_timeout */
#define IDLE_CHECK_MIN_MS 100

static int sock_fd(const struct conn *c, int i) { return i ? c->sio.fd : c->cio.fd; }

/* The program's counts to the server's counters; true if anything moved since the last call. */
static bool fold(struct conn *c, const struct fp_peer v[2])
{
	struct fp_conn *f = c->fp;
	uint64_t to = fp_bytes_delta(v[0].bytes, &f->taken[0]);
	uint64_t from = fp_bytes_delta(v[1].bytes, &f->taken[1]);
	if (to)
		atomic_fetch_add_explicit(&c->srv->bytes_to_server, to, memory_order_relaxed);
	if (from)
		atomic_fetch_add_explicit(&c->srv->bytes_from_server, from, memory_order_relaxed);
	return to || from;
}

/* Reads both counters and folds them; a change counts as activity for the idle timeout. */
static bool poll_counters(struct conn *c, uint64_t now)
{
	struct fastpath *fp = c->w->p->fp;
	struct fp_peer v[2];
	if (fastpath_read(fp, c->fp->cookie[0], &v[0]) < 0 ||
	    fastpath_read(fp, c->fp->cookie[1], &v[1]) < 0)
		return false;
	if (fold(c, v))
		c->last_active = now;
	return true;
}

void fp_conn_sweep(struct conn *c, uint64_t now) { poll_counters(c, now); }

static void arm(struct conn *c, uint64_t now)
{
	uint64_t idle = c->set->cfg.idle_timeout_ms;
	uint64_t check = idle / IDLE_CHECKS < IDLE_CHECK_MIN_MS ? IDLE_CHECK_MIN_MS : idle / IDLE_CHECKS;
	uint64_t at = now + check;
	if (at > c->last_active + idle)
		at = c->last_active + idle;
	if (c->fp->fin_wait && now + c->fp->fin_wait < at)
		at = now + c->fp->fin_wait;
	timer_arm(c->w->loop, &c->timer, at);
}

bool fp_conn_try_enter(struct conn *c)
{
	struct proxy *p = c->w->p;
	if (!p->fp || c->fp || (c->fp_flags & FP_NEVER) ||
	    (c->fp_flags & (FP_SEEN_C2S | FP_SEEN_S2C)) != (FP_SEEN_C2S | FP_SEEN_S2C) ||
	    !relay_quiet(&c->relay))
		return false;
	/* the relay's "drained" is as of its last read: bytes may have come since (measured: up
	 * to 1 MiB under bulk). Insert only with both receive queues empty; the next event
	 * tries again. */
	int inq[2] = { -1, -1 };
	if (ioctl(c->cio.fd, SIOCINQ, &inq[0]) < 0 || ioctl(c->sio.fd, SIOCINQ, &inq[1]) < 0 ||
	    inq[0] || inq[1])
		return false;
	/* the maps are sized for FASTPATH_MAX_PAIRS: beyond, the relay carries the rest */
	if (atomic_fetch_add_explicit(&p->fp_conns, 1, memory_order_relaxed) >= FASTPATH_MAX_PAIRS)
		goto release;
	struct fp_conn *f = calloc(1, sizeof(*f));
	if (!f)
		goto release;
	/* before the insert: from then on the kernel writes into these sockets too */
	f->base[0] = fastpath_written(c->cio.fd);
	f->base[1] = fastpath_written(c->sio.fd);
	int err = fastpath_add(p->fp, c->cio.fd, c->sio.fd, &f->cookie[0], &f->cookie[1]);
	if (err < 0) {
		free(f);
		atomic_fetch_sub_explicit(&p->fp_conns, 1, memory_order_relaxed);
		if (err == FASTPATH_ADD_PARTIAL) {
			conn_close(c, "fast path insert failed");
			return false;
		}
		c->fp_flags |= FP_NEVER;
		log_debug("fast path insert failed", "backend=%s reason=\"%s\"", c->set->cfg.name,
			  strerror(-err));
		return false;
	}
	c->fp = f;
	relay_release(&c->relay); /* nothing parked: gives its pipes back */
	/* Only FIN (RDHUP) from now on; errors and hangups come regardless. Not EPOLLIN: the
	 * psock's data_ready still wakes the socket's waiters after each redirect, and EPOLLOUT
	 * comes with the kernel's writes: both would wake the worker for every message. */
	loop_mod(c->w->loop, &c->cio, EPOLLRDHUP | EPOLLET);
	loop_mod(c->w->loop, &c->sio, EPOLLRDHUP | EPOLLET);
	atomic_fetch_add_explicit(&c->l->stats.fast_path_total, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->l->stats.fast_path_active, 1, memory_order_relaxed);
	uint64_t now = loop_now(c->w->loop);
	c->last_active = now;
	arm(c, now);
	return true;
release:
	atomic_fetch_sub_explicit(&p->fp_conns, 1, memory_order_relaxed);
	return false;
}

/* Passes on each FIN read whose bytes all reached the peer's send queue (fp_fin_ready); polls
 * with a backoff while the kernel is still writing them. Both passed on: the connection ends. */
static void forward_fins(struct conn *c, uint64_t now)
{
	struct fp_conn *f = c->fp;
	bool waiting = false;
	for (int i = 0; i < 2; i++) {
		if (!f->fin[i] || f->fwd[i])
			continue;
		struct fp_peer v;
		if (fastpath_read(c->w->p->fp, f->cookie[i], &v) < 0) {
			conn_close(c, "fast path entry lost");
			return;
		}
		int peer = sock_fd(c, 1 - i);
		if (!fp_fin_ready(f->base[1 - i], fastpath_written(peer), v.bytes)) {
			waiting = true;
			continue;
		}
		if (!f->fwd[1 - i]) /* the last FIN goes out with close() */
			shutdown(peer, SHUT_WR);
		f->fwd[i] = true;
	}
	if (f->fwd[0] && f->fwd[1]) {
		conn_close(c, NULL);
		return;
	}
	if (!waiting)
		f->fin_wait = 0;
	else if (!f->fin_wait)
		f->fin_wait = FIN_POLL_FIRST_MS;
	else if (f->fin_wait < FIN_POLL_MAX_MS)
		f->fin_wait *= 2;
	arm(c, now);
}

void fp_conn_on_event(struct conn *c, bool from_client, uint32_t ev)
{
	int i = from_client ? 0 : 1;
	if (ev & EPOLLERR) {
		conn_close(c, "reset");
		return;
	}
	/* only a FIN or a hangup is worth a read (the sockets are watched for EPOLLRDHUP) */
	if (!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) || c->fp->fin[i])
		return;
	ssize_t n;
	do
		n = recv(sock_fd(c, i), c->w->relay_pool.scratch, RELAY_SCRATCH, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n != 0) {
		/* an error, or bytes the program left to us: it does that only when the peer left
		 * the target map (closed or reset), so the pair is broken either way */
		conn_close(c, "reset");
		return;
	}
	c->fp->fin[i] = true;
	forward_fins(c, loop_now(c->w->loop));
}

void fp_conn_on_timer(struct conn *c, uint64_t now)
{
	if (c->fp->fin_wait) {
		forward_fins(c, now);
		if (c->state == CONN_CLOSED)
			return;
	}
	if (!poll_counters(c, now)) {
		conn_close(c, "fast path entry lost");
		return;
	}
	if (now >= c->last_active + c->set->cfg.idle_timeout_ms) {
		conn_close(c, "idle timeout");
		return;
	}
	arm(c, now);
}

void fp_conn_closed(struct conn *c)
{
	struct fp_conn *f = c->fp;
	struct fastpath *fp = c->w->p->fp;
	uint64_t bytes[2] = { 0, 0 }, passed;
	/* the sockets left the sockhashes with close(); their counts are still in the peers map */
	fastpath_del(fp, f->cookie[0], &bytes[0], &passed);
	fastpath_del(fp, f->cookie[1], &bytes[1], &passed);
	struct fp_peer v[2] = { { .bytes = bytes[0] }, { .bytes = bytes[1] } };
	fold(c, v);
	atomic_fetch_sub_explicit(&c->l->stats.fast_path_active, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&c->w->p->fp_conns, 1, memory_order_relaxed);
	free(f);
	c->fp = NULL;
}
