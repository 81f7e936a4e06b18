/* The byte pump on real TCP pairs over loopback, driven by an edge-triggered epoll loop the
 * way a worker drives it: half-close both ways, the FIN held behind parked bytes, a reset,
 * splice <-> recv/send switching, the early read, and large transfers checked byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "proxy/relay.h"

/* client app <-> crel [relay] srel <-> server app */
struct rig {
	int capp, crel, srel, sapp;
	int ep;
	struct relay_pool pool;
	struct relay r;
	enum relay_verdict v;
	bool saw_bulk, saw_buf, saw_pipe; /* c2s, sampled after every event */
};

static int listener(int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	if (rcvbuf) /* accepted sockets inherit it; it must be set before the handshake */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* A connected pair: *conn the connecting side, *acc the accepted side. */
static void tcp_pair(int *conn, int *acc, int acc_rcvbuf, int conn_sndbuf)
{
	int l = listener(acc_rcvbuf);
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	*conn = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*conn >= 0);
	if (conn_sndbuf)
		setsockopt(*conn, SOL_SOCKET, SO_SNDBUF, &conn_sndbuf, sizeof(conn_sndbuf));
	assert_int_equal(connect(*conn, (struct sockaddr *)&a, sizeof(a)), 0);
	*acc = accept(l, NULL, NULL);
	assert_true(*acc >= 0);
	close(l);
}

static void watch(struct rig *g, int fd, uint32_t tag)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u32 = tag };
	assert_int_equal(epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &e), 0);
}

/* server_buf: the server side's socket buffers (0: the kernel's); small ones make it slow, so
 * the relay must park bytes. */
static void rig_open(struct rig *g, int server_buf)
{
	memset(g, 0, sizeof(*g));
	tcp_pair(&g->capp, &g->crel, 0, 0);
	tcp_pair(&g->srel, &g->sapp, server_buf, server_buf);
	/* the relay's sockets are non-blocking, as the worker's are */
	fcntl(g->crel, F_SETFL, O_NONBLOCK);
	fcntl(g->srel, F_SETFL, O_NONBLOCK);
	assert_int_equal(relay_pool_init(&g->pool, 4), 0);
	relay_init(&g->r, &g->pool, g->crel);
	g->ep = epoll_create1(0);
	assert_true(g->ep >= 0);
}

static void rig_close(struct rig *g)
{
	relay_release(&g->r);
	relay_pool_free(&g->pool);
	close(g->ep);
	int fds[] = { g->capp, g->crel, g->srel, g->sapp };
	for (size_t i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void sample(struct rig *g)
{
	/* a pipe exists only once splice ran; the bulk flag alone can rise and fall within one
	 * event when the relay drains a whole burst at once */
	g->saw_bulk |= g->r.c2s.bulk || g->r.c2s.pipe_r >= 0 || g->pool.n_pipes > 0;
	g->saw_buf |= g->r.c2s.buf_len != 0;
	g->saw_pipe |= g->r.c2s.in_pipe != 0;
}

/* The worker's connect: the client's edges so far, then the server's, then relay_start. */
static void rig_start(struct rig *g)
{
	g->crel = g->r.cfd;
	watch(g, g->crel, 0);
	watch(g, g->srel, 1);
	uint32_t ev[2] = { 0, 0 };
	struct epoll_event e[4];
	int n = epoll_wait(g->ep, e, 4, 0);
	for (int i = 0; i < n; i++)
		ev[e[i].data.u32] |= e[i].events;
	g->v = relay_start(&g->r, g->srel, ev[0], ev[1]);
	sample(g);
}

/* Runs the loop until the verdict is not GOING, or `done` says stop, or nothing happens for
 * quiet_ms, or limit_ms passed. */
static void drive(struct rig *g, int quiet_ms, int limit_ms, bool (*done)(struct rig *))
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (g->v == RELAY_GOING && !(done && done(g))) {
		struct epoll_event e[4];
		int n = epoll_wait(g->ep, e, 4, quiet_ms);
		if (n == 0 && quiet_ms >= 0 && !done)
			return;
		for (int i = 0; i < n && g->v == RELAY_GOING; i++) {
			g->v = relay_on_event(&g->r, e[i].data.u32 == 0, e[i].events);
			sample(g);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > limit_ms)
			fail_msg("relay still busy after %d ms", limit_ms);
	}
}

static bool never(struct rig *g)
{
	(void)g;
	return false;
}

static void quiet(struct rig *g) { drive(g, 100, 5000, NULL); }

static void send_all(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads exactly n bytes that must already be there (after quiet()). */
static void expect_bytes(int fd, const char *want, size_t n)
{
	char buf[256];
	assert_true(n <= sizeof(buf));
	size_t got = 0;
	while (got < n) {
		ssize_t m = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (m <= 0)
			fail_msg("wanted %zu bytes, got %zu (recv %zd errno %d)", n, got, m, errno);
		got += (size_t)m;
	}
	assert_memory_equal(buf, want, n);
}

static void expect_nothing(int fd)
{
	char b;
	ssize_t m = recv(fd, &b, 1, MSG_DONTWAIT);
	assert_int_equal(m, -1);
	assert_int_equal(errno, EAGAIN);
}

static void expect_eof(int fd)
{
	char b;
	assert_int_equal(recv(fd, &b, 1, MSG_DONTWAIT), 0);
}

static void test_small_messages_both_ways(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, 0);
	rig_start(&g);
	for (int i = 0; i < 3; i++) {
		send_all(g.capp, "ping", 4);
		quiet(&g);
		expect_bytes(g.sapp, "ping", 4);
		send_all(g.sapp, "pong!", 5);
		quiet(&g);
		expect_bytes(g.capp, "pong!", 5);
	}
	assert_int_equal(g.v, RELAY_GOING);
	assert_false(g.saw_bulk); /* small messages never take the splice path */
	uint64_t to, from;
	relay_take_bytes(&g.r, &to, &from);
	assert_int_equal(to, 12);
	assert_int_equal(from, 15);
	relay_take_bytes(&g.r, &to, &from); /* taken once */
	assert_int_equal(to + from, 0);
	rig_close(&g);
}

/* One side finishes sending, the other goes on; the relay ends only when both have. */
static void half_close(bool client_first)
{
	struct rig g;
	rig_open(&g, 0);
	rig_start(&g);
	int first = client_first ? g.capp : g.sapp, second = client_first ? g.sapp : g.capp;
	send_all(first, "last words", 10);
	shutdown(first, SHUT_WR);
	quiet(&g);
	expect_bytes(second, "last words", 10);
	expect_eof(second);    /* the FIN came through, after the data */
	expect_nothing(first); /* ... and only that way */
	assert_int_equal(g.v, RELAY_GOING);
	/* the other way still flows */
	send_all(second, "reply", 5);
	quiet(&g);
	expect_bytes(first, "reply", 5);
	send_all(second, "more", 4);
	shutdown(second, SHUT_WR);
	quiet(&g);
	assert_int_equal(g.v, RELAY_DONE);
	/* the last data was sent with MSG_MORE so that the FIN rides on it: the caller's close()
	 * of both relay sockets sends them, as the worker does on DONE */
	close(g.crel);
	close(g.srel);
	g.crel = g.srel = -1;
	expect_bytes(first, "more", 4);
	expect_eof(first);
	rig_close(&g);
}

static void test_half_close_client_first(void **state)
{
	(void)state;
	half_close(true);
}

static void test_half_close_server_first(void **state)
{
	(void)state;
	half_close(false);
}

static void test_peer_reset(void **state)
{
	(void)state;
	for (int server = 0; server < 2; server++) {
		struct rig g;
		rig_open(&g, 0);
		rig_start(&g);
		send_all(g.capp, "x", 1);
		quiet(&g);
		int *victim = server ? &g.sapp : &g.capp;
		struct linger lg = { .l_onoff = 1, .l_linger = 0 }; /* close() sends RST */
		setsockopt(*victim, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(*victim);
		*victim = -1;
		drive(&g, 1000, 5000, NULL);
		assert_int_equal(g.v, RELAY_RESET);
		rig_close(&g);
	}
}

/* Bytes the client sends before the server connect goes out with relay_start. */
static void test_early_read(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, 0);
	send_all(g.capp, "GET /", 5);
	usleep(20000);
	assert_int_equal(relay_early_read(&g.r), 0);
	assert_true(relay_client_spoke(&g.r));
	rig_start(&g);
	expect_bytes(g.sapp, "GET /", 5);
	assert_false(relay_client_spoke(&g.r));
	rig_close(&g);

	rig_open(&g, 0); /* a probe: connects, closes, says nothing */
	shutdown(g.capp, SHUT_WR);
	usleep(20000);
	assert_int_equal(relay_early_read(&g.r), 1);
	assert_false(relay_client_spoke(&g.r));
	rig_close(&g);
}

/* ---------- bulk, with app threads ---------- */

/* A reproducible byte stream per seed, so readers check without storing. */
static uint8_t pattern(uint32_t seed, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ seed;
	x ^= x >> 29;
	return (uint8_t)(x * 0xbf58476d1ce4e5b9ull >> 56);
}

struct app {
	pthread_t t;
	int fd;
	uint32_t seed;
	uint64_t n;    /* writer: the stream's length; reader: bytes received */
	uint64_t skip; /* writer: bytes of the stream already sent */
	size_t chunk;  /* writer's send size */
	bool shut;     /* writer: shutdown(SHUT_WR) when done */
	bool ok, eof;  /* reader: every byte matched; saw EOF */
};

static void *writer(void *arg)
{
	struct app *a = arg;
	char buf[65536];
	for (uint64_t off = a->skip; off < a->n;) {
		size_t k = a->n - off < a->chunk ? (size_t)(a->n - off) : a->chunk;
		for (size_t i = 0; i < k; i++)
			buf[i] = (char)pattern(a->seed, off + i);
		ssize_t m = send(a->fd, buf, k, MSG_NOSIGNAL);
		if (m <= 0)
			return NULL;
		off += (uint64_t)m;
	}
	if (a->shut)
		shutdown(a->fd, SHUT_WR);
	return NULL;
}

static void *reader(void *arg)
{
	struct app *a = arg;
	char buf[65536];
	a->ok = true;
	for (;;) {
		ssize_t m = recv(a->fd, buf, sizeof(buf), 0);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0) {
			a->eof = m == 0;
			return NULL;
		}
		for (ssize_t i = 0; i < m; i++)
			if ((uint8_t)buf[i] != pattern(a->seed, a->n + (uint64_t)i))
				a->ok = false;
		a->n += (uint64_t)m;
	}
}

static void run(struct app *a, void *(*fn)(void *))
{
	assert_int_equal(pthread_create(&a->t, NULL, fn, a), 0);
}

/* Lets a writer fill the relay's receive queue before the relay reads: its first read then
 * fills the scratch buffer and bulk mode starts whatever the scheduler does. */
static void let_it_queue(void) { usleep(100 * 1000); }

static bool c2s_done(struct rig *g) { return g->r.c2s.done; }

/* A slow server: the relay parks what it cannot send and forwards the FIN only after it.
 * bulk: the bytes wait in a pipe (splice); small: in the parked buffer (recv/send). */
static void fin_after_parked(bool bulk)
{
	const uint64_t total = bulk ? 4u << 20 : 256u << 10;
	struct rig g;
	/* room for a splice burst to start before the destination fills (bulk), or none */
	rig_open(&g, bulk ? 65536 : 4096);
	rig_start(&g);
	struct app w = { .fd = g.capp, .seed = 7, .n = total, .chunk = 65536, .shut = true };
	if (bulk) {
		run(&w, writer);
		let_it_queue();
		quiet(&g); /* the server app reads nothing yet: the destination fills */
	} else {
		/* small writes, each relayed before the next, until one does not fit */
		uint64_t off = 0;
		while (!g.saw_buf && off < total) {
			char b[700];
			for (size_t i = 0; i < sizeof(b); i++)
				b[i] = (char)pattern(7, off + i);
			send_all(g.capp, b, sizeof(b));
			off += sizeof(b);
			quiet(&g);
		}
		w.skip = off; /* the rest from a thread: the relay reads no more, the writer blocks */
		run(&w, writer);
		quiet(&g);
	}
	assert_true(bulk ? g.saw_pipe : g.saw_buf);
	assert_false(g.r.c2s.done); /* no FIN ahead of parked bytes */
	struct app rd = { .fd = g.sapp, .seed = 7 };
	run(&rd, reader);
	drive(&g, 100, 20000, c2s_done);
	pthread_join(w.t, NULL);
	pthread_join(rd.t, NULL);
	assert_int_equal(rd.n, total);
	assert_true(rd.ok);
	assert_true(rd.eof);
	rig_close(&g);
}

static void test_fin_waits_for_parked_pipe(void **state)
{
	(void)state;
	fin_after_parked(true);
}

static void test_fin_waits_for_parked_buffer(void **state)
{
	(void)state;
	fin_after_parked(false);
}

/* A burst switches to splice; the next small message switches back to recv/send, and an idle
 * direction holds no pipe. */
static void test_splice_and_back(void **state)
{
	(void)state;
	struct rig g;
	rig_open(&g, 0);
	rig_start(&g);
	struct app rd = { .fd = g.sapp, .seed = 3 };
	run(&rd, reader);
	struct app w = { .fd = g.capp, .seed = 3, .n = 1u << 20, .chunk = 65536 };
	run(&w, writer);
	let_it_queue();
	drive(&g, 200, 10000, NULL);
	pthread_join(w.t, NULL);
	drive(&g, 200, 10000, NULL);
	assert_true(g.saw_bulk);
	assert_int_equal(g.r.c2s.pipe_r, -1);
	assert_int_equal(g.pool.n_pipes, 1); /* the pipe went back to the pool */
	/* a small tail of the same stream: splice reads it short and leaves bulk mode */
	w.n = (1u << 20) + 10;
	for (uint64_t i = 1u << 20; i < w.n; i++) {
		char c = (char)pattern(3, i);
		send_all(g.capp, &c, 1);
		drive(&g, 50, 5000, NULL);
	}
	assert_false(g.r.c2s.bulk);
	shutdown(g.capp, SHUT_WR);
	drive(&g, 100, 5000, c2s_done);
	pthread_join(rd.t, NULL);
	assert_int_equal(rd.n, w.n);
	assert_true(rd.ok);
	assert_true(rd.eof);
	uint64_t to, from;
	relay_take_bytes(&g.r, &to, &from);
	assert_int_equal(to, w.n);
	assert_int_equal(from, 0);
	rig_close(&g);
}

/* Both ways at once, odd write sizes, byte-exact, ending in DONE. */
static void test_large_transfer_both_ways(void **state)
{
	(void)state;
	const uint64_t total = 16u << 20;
	struct rig g;
	rig_open(&g, 0);
	rig_start(&g);
	struct app wc = { .fd = g.capp, .seed = 11, .n = total, .chunk = 1000, .shut = true };
	struct app ws = { .fd = g.sapp, .seed = 12, .n = total + 333, .chunk = 65536, .shut = true };
	struct app rs = { .fd = g.sapp, .seed = 11 }, rc = { .fd = g.capp, .seed = 12 };
	run(&rs, reader);
	run(&rc, reader);
	run(&wc, writer);
	run(&ws, writer);
	let_it_queue();
	drive(&g, 100, 60000, never);
	assert_int_equal(g.v, RELAY_DONE);
	close(g.crel); /* as the worker does on DONE: the last FIN goes out with close() */
	close(g.srel);
	g.crel = g.srel = -1;
	pthread_join(wc.t, NULL);
	pthread_join(ws.t, NULL);
	pthread_join(rs.t, NULL);
	pthread_join(rc.t, NULL);
	assert_int_equal(rs.n, total);
	assert_true(rs.ok && rs.eof);
	assert_int_equal(rc.n, total + 333);
	assert_true(rc.ok && rc.eof);
	assert_true(g.saw_bulk);
	uint64_t to, from;
	relay_take_bytes(&g.r, &to, &from);
	assert_int_equal(to, total);
	assert_int_equal(from, total + 333);
	rig_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_messages_both_ways),
		cmocka_unit_test(test_half_close_client_first),
		cmocka_unit_test(test_half_close_server_first),
		cmocka_unit_test(test_peer_reset),
		cmocka_unit_test(test_early_read),
		cmocka_unit_test(test_fin_waits_for_parked_pipe),
		cmocka_unit_test(test_fin_waits_for_parked_buffer),
		cmocka_unit_test(test_splice_and_back),
		cmocka_unit_test(test_large_transfer_both_ways),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
