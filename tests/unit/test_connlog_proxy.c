/* Connection sync's worker hooks on a real proxy over loopback: 2 workers listening on
 * 127.0.0.1, a backend that only listens (the kernel completes its handshakes). Opens and
 * closes are logged with the client's tuple and paired ids; a resync reports what a worker
 * holds, those accepted before the log was enabled included; a reset of moved VIPs resets the
 * clients of that address only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/log.h"
#include "proxy/connlog.h"
#include "proxy/pool.h"
#include "proxy/proxy.h"

#define WAIT_MS 3000

struct rec {
	size_t n;
	uint32_t worker[64];
	struct connlog_ev v[64];
};

static void on_ev(void *arg, uint32_t worker, const struct connlog_ev *e)
{
	struct rec *r = arg;
	assert_true(r->n < 64);
	r->worker[r->n] = worker;
	r->v[r->n++] = *e;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Drains until `want` events (of op, 0 = any) were recorded or WAIT_MS passed. */
static size_t count_op(const struct rec *r, uint8_t op)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += !op || r->v[i].op == op;
	return n;
}

static void drain_until(struct proxy *p, struct rec *r, uint8_t op, size_t want)
{
	for (int t = 0; t < WAIT_MS && count_op(r, op) < want; t += 5) {
		proxy_connlog_drain(p, on_ev, r);
		sleep_ms(5);
	}
	proxy_connlog_drain(p, on_ev, r);
	assert_int_equal(count_op(r, op), want);
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static int tcp_listen(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {
		.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)
	};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 64), 0);
	return fd;
}

/* A client of the proxy that says something, so the deferred accept fires at once. */
static int client(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {
		.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)
	};
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(send(fd, "hi", 2, 0), 2);
	return fd;
}

static struct ip_addr loopback(void)
{
	struct ip_addr a;
	assert_int_equal(ip_addr_parse("127.0.0.1", &a), 0);
	return a;
}

struct rig {
	struct config *cfg;
	struct pool *pool;
	struct proxy *p;
	int backend;
	uint16_t port;
	int stop[2]; /* a pipe: the backend thread ends when it is closed */
	pthread_t backend_thread;
};

/* The backend: accepts, reads and discards, closes when the proxy does (the client's FIN
 * reaches it through the relay; then the proxy sees ours and closes the connection). */
static void *backend_main(void *arg)
{
	struct rig *g = arg;
	struct pollfd pf[34] = {
		{ .fd = g->stop[0], .events = POLLIN }, { .fd = g->backend, .events = POLLIN }
	};
	nfds_t n = 2;
	for (;;) {
		assert_true(poll(pf, n, -1) > 0);
		if (pf[0].revents)
			break;
		if ((pf[1].revents & POLLIN) && n < 34) {
			pf[n++] = (struct pollfd){
				.fd = accept(g->backend, NULL, NULL), .events = POLLIN
			};
			assert_true(pf[n - 1].fd >= 0);
		}
		for (nfds_t i = 2; i < n; i++) {
			char buf[256];
			if (!pf[i].revents || recv(pf[i].fd, buf, sizeof(buf), 0) > 0)
				continue;
			close(pf[i].fd);
			pf[i--] = pf[--n];
		}
	}
	for (nfds_t i = 2; i < n; i++)
		close(pf[i].fd);
	return NULL;
}

/* host: the listener's bind address ("127.0.0.1", or a wildcard) */
static void rig_start(struct rig *g, const char *host)
{
	log_set_level(LOG_LVL_WARN);
	g->backend = tcp_listen(0);
	int probe = tcp_listen(0); /* a free port for the proxy (SO_REUSEPORT is not set here) */
	g->port = port_of(probe);
	close(probe);
	char yaml[1024];
	snprintf(yaml, sizeof(yaml),
		 "workers: \"2\"\n"
		 "listeners:\n"
		 "  - { name: t, bind: \"%s:%u\", backend: b, defer_accept: \"false\" }\n"
		 "backends:\n"
		 "  - name: b\n"
		 "    health: { type: none }\n"
		 "    servers:\n"
		 "      - { address: \"127.0.0.1:%u\" }\n",
		 host, g->port, port_of(g->backend));
	struct config_errors e;
	g->cfg = config_load_buf("buoy.yaml", yaml, strlen(yaml), &e);
	for (size_t i = 0; !g->cfg && i < e.n; i++) {
		char buf[512];
		config_error_format(&e.v[i], buf, sizeof(buf));
		fprintf(stderr, "    %s\n", buf);
	}
	assert_non_null(g->cfg);
	config_hold(g->cfg); /* as the daemon does: sets and listeners hold it too */
	g->pool = pool_new(g->cfg);
	assert_non_null(g->pool);
	g->p = proxy_start(g->cfg, g->pool);
	assert_non_null(g->p);
	assert_int_equal(pipe(g->stop), 0);
	assert_int_equal(pthread_create(&g->backend_thread, NULL, backend_main, g), 0);
}

static void rig_stop(struct rig *g)
{
	proxy_free(g->p);
	close(g->stop[1]);
	pthread_join(g->backend_thread, NULL);
	close(g->stop[0]);
	pool_free(g->pool);
	assert_int_equal(g->cfg->refs, 1); /* every set and listener let go */
	config_release(g->cfg);
	close(g->backend);
}

/* The OPEN of client fd: the tuple it connected with. */
static const struct connlog_ev *open_of(const struct rec *r, int fd, uint32_t *worker)
{
	uint16_t cport = port_of(fd);
	struct ip_addr lo = loopback();
	const struct connlog_ev *found = NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct connlog_ev *e = &r->v[i];
		if (e->op != CONNLOG_OPEN || e->pport != cport)
			continue;
		assert_null(found); /* once */
		found = e;
		*worker = r->worker[i];
		assert_true(ip_addr_equal(&e->peer, &lo));
		assert_true(ip_addr_equal(&e->local, &lo));
		assert_int_equal(e->local.family, AF_INET);
	}
	assert_non_null(found);
	return found;
}

/* The client sees a reset (within WAIT_MS), not an end of stream. */
static void expect_reset(int fd)
{
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char b;
	errno = 0;
	assert_int_equal(recv(fd, &b, 1, 0), -1);
	assert_int_equal(errno, ECONNRESET);
}

static bool has_close(const struct rec *r, uint32_t worker, uint64_t id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].op == CONNLOG_CLOSE && r->worker[i] == worker && r->v[i].id == id)
			return true;
	return false;
}

static void test_open_close_reset(void **state)
{
	(void)state;
	struct rig g;
	rig_start(&g, "127.0.0.1");
	struct rec r = { 0 };
	assert_int_equal(proxy_connlog_drain(g.p, on_ev, &r), 0); /* never enabled */
	assert_int_equal(proxy_connlog_enable(g.p), 0);

	int fds[3];
	for (int i = 0; i < 3; i++)
		fds[i] = client(g.port);
	drain_until(g.p, &r, CONNLOG_OPEN, 3);
	uint64_t ids[3];
	uint32_t workers[3];
	for (int i = 0; i < 3; i++) {
		const struct connlog_ev *e = open_of(&r, fds[i], &workers[i]);
		assert_int_equal(e->lport, g.port);
		ids[i] = e->id;
		for (int k = 0; k < i; k++)
			assert_false(ids[k] == ids[i] && workers[k] == workers[i]);
	}

	/* the client closes two: their CLOSEs carry the ids they were opened with */
	close(fds[0]);
	close(fds[1]);
	drain_until(g.p, &r, CONNLOG_CLOSE, 2);
	assert_true(has_close(&r, workers[0], ids[0]));
	assert_true(has_close(&r, workers[1], ids[1]));

	/* another address moved: nothing happens; ours moved: the client gets a reset */
	struct ip_addr other, lo = loopback();
	assert_int_equal(ip_addr_parse("127.0.0.2", &other), 0);
	proxy_reset_local(g.p, &other, 1);
	sleep_ms(50);
	assert_int_equal(proxy_reset_total(g.p), 0);
	proxy_reset_local(g.p, &lo, 1);
	expect_reset(fds[2]);
	drain_until(g.p, &r, CONNLOG_CLOSE, 3);
	assert_true(has_close(&r, workers[2], ids[2]));
	assert_int_equal(proxy_reset_total(g.p), 1);
	assert_int_equal(proxy_connlog_dropped(g.p), 0);
	close(fds[2]);
	rig_stop(&g);
}

static void test_resync_and_disable(void **state)
{
	(void)state;
	struct rig g;
	rig_start(&g, "127.0.0.1");
	/* two connections before the log is on: not logged, but a resync reports them */
	int fds[2] = { client(g.port), client(g.port) };
	for (int t = 0; t < WAIT_MS && proxy_active_conns(g.p) < 2; t += 5)
		sleep_ms(5);
	assert_int_equal(proxy_active_conns(g.p), 2);
	assert_int_equal(proxy_connlog_enable(g.p), 0);
	struct rec r = { 0 };
	for (uint32_t w = 0; w < proxy_n_workers(g.p); w++)
		proxy_connlog_resync(g.p, w);
	drain_until(g.p, &r, CONNLOG_RESYNC_END, 2);
	assert_int_equal(count_op(&r, CONNLOG_RESYNC_BEGIN), 2);
	assert_int_equal(count_op(&r, CONNLOG_OPEN), 2);
	/* per worker: BEGIN, its OPENs, END */
	for (uint32_t w = 0; w < 2; w++) {
		int phase = 0;
		for (size_t i = 0; i < r.n; i++) {
			if (r.worker[i] != w)
				continue;
			uint8_t op = r.v[i].op;
			if (phase == 0) {
				assert_int_equal(op, CONNLOG_RESYNC_BEGIN);
				phase = 1;
			} else if (phase == 1 && op == CONNLOG_RESYNC_END) {
				phase = 2;
			} else {
				assert_int_equal(phase, 1);
				assert_int_equal(op, CONNLOG_OPEN);
			}
		}
		assert_int_equal(phase, 2);
	}
	uint32_t w0;
	uint64_t id0 = open_of(&r, fds[0], &w0)->id;
	assert_int_equal(open_of(&r, fds[0], &w0)->lport, g.port);
	uint32_t w1;
	open_of(&r, fds[1], &w1);

	/* reported by the resync, so its close is logged */
	close(fds[0]);
	drain_until(g.p, &r, CONNLOG_CLOSE, 1);
	assert_true(has_close(&r, w0, id0));

	/* off: nothing more is logged */
	proxy_connlog_disable(g.p);
	size_t before = r.n;
	int fd3 = client(g.port);
	close(fds[1]);
	for (int t = 0; t < WAIT_MS && proxy_active_conns(g.p) != 1; t += 5)
		sleep_ms(5);
	assert_int_equal(proxy_active_conns(g.p), 1);
	proxy_connlog_resync(g.p, 0); /* ignored while off */
	sleep_ms(50);
	proxy_connlog_drain(g.p, on_ev, &r);
	assert_int_equal(r.n, before);
	close(fd3);
	rig_stop(&g);
}

/* "[::]" if this host has IPv6 (v4 clients then show as v4-mapped: logged as IPv4), else
 * "0.0.0.0". */
static const char *wildcard(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	bool v6 = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return v6 ? "[::]" : "0.0.0.0";
}

/* A wildcard listener: the local address comes from getsockname() on the accepted socket. */
static void test_wildcard_listener(void **state)
{
	(void)state;
	struct rig g;
	const char *host = wildcard();
	rig_start(&g, host);
	assert_int_equal(proxy_connlog_enable(g.p), 0);
	struct rec r = { 0 };
	int fds[2] = { client(g.port), client(g.port) };
	drain_until(g.p, &r, CONNLOG_OPEN, 2);
	uint32_t w[2];
	uint64_t ids[2];
	for (int i = 0; i < 2; i++) {
		const struct connlog_ev *e = open_of(&r, fds[i], &w[i]); /* 127.0.0.1, AF_INET */
		assert_int_equal(e->lport, g.port);
		ids[i] = e->id;
	}
	struct ip_addr lo = loopback();
	proxy_reset_local(g.p, &lo, 1);
	drain_until(g.p, &r, CONNLOG_CLOSE, 2);
	for (int i = 0; i < 2; i++) {
		assert_true(has_close(&r, w[i], ids[i]));
		expect_reset(fds[i]);
		close(fds[i]);
	}
	assert_int_equal(proxy_reset_total(g.p), 2);
	printf("    bound to %s\n", host);
	rig_stop(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_close_reset),
		cmocka_unit_test(test_resync_and_disable),
		cmocka_unit_test(test_wildcard_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
