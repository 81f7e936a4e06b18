/* The check shell against tiny in-process servers on 127.0.0.1, all on one event loop:
 * http 200/500/302/garbage/blackhole, refused, flips with rise/fall, logs, all-down, stop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "health/check.h"

/* ---- tiny test servers ---- */

enum mode { M_REPLY, M_BLACKHOLE, M_ACCEPT_ONLY };

#define MAX_CONNS 256
struct conn {
	struct io io;
	struct tsrv *srv;
	char req[1024];
	size_t len;
};

struct tsrv {
	struct io lio;
	uint16_t port;
	enum mode mode;
	const char *reply; /* M_REPLY: written after the request's empty line */
	char last_req[1024];
	unsigned accepted;
	struct conn *conns[MAX_CONNS];
	size_t n_conns;
};

static struct loop *L;

static void conn_close(struct conn *c)
{
	loop_del(L, &c->io);
	close(c->io.fd);
	c->io.fd = -1;
}

static void conn_read(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	(void)ev;
	struct conn *c = io->arg;
	ssize_t n = read(io->fd, c->req + c->len, sizeof(c->req) - 1 - c->len);
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (c->srv->mode == M_REPLY && strstr(c->req, "\r\n\r\n")) {
		snprintf(c->srv->last_req, sizeof(c->srv->last_req), "%s", c->req);
		ssize_t w = write(io->fd, c->srv->reply, strlen(c->srv->reply));
		(void)w;
		conn_close(c);
	}
}

static void srv_accept(struct loop *l, struct io *io, uint32_t ev)
{
	(void)ev;
	struct tsrv *s = io->arg;
	int fd;
	while ((fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		s->accepted++;
		if (s->mode == M_ACCEPT_ONLY || s->n_conns == MAX_CONNS) {
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		c->io = (struct io){ .fd = fd, .cb = conn_read, .arg = c };
		c->srv = s;
		s->conns[s->n_conns++] = c;
		loop_add(l, &c->io, EPOLLIN);
	}
}

static int listen_any(uint16_t *port, int backlog)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return fd;
}

static void srv_start(struct tsrv *s, enum mode m, const char *reply)
{
	memset(s, 0, sizeof(*s));
	s->mode = m;
	s->reply = reply;
	s->lio = (struct io){ .fd = listen_any(&s->port, 64), .cb = srv_accept, .arg = s };
	loop_add(L, &s->lio, EPOLLIN);
}

static void srv_stop(struct tsrv *s)
{
	for (size_t i = 0; i < s->n_conns; i++) {
		if (s->conns[i]->io.fd >= 0)
			conn_close(s->conns[i]);
		free(s->conns[i]);
	}
	loop_del(L, &s->lio);
	close(s->lio.fd);
}

/* A port with nothing listening: bind, read the port, close. */
static uint16_t closed_port(void)
{
	uint16_t port;
	close(listen_any(&port, 1));
	return port;
}

/* ---- pool by hand (no config loader needed) ---- */

struct fixture {
	struct pool pool;
	struct backend b;
	struct backend *bp[1];
	struct server servers[8];
	struct server *sp[8];
};

static void fixture_init(struct fixture *f, enum health_type type, const uint16_t *ports, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->b.cfg.name = "apiservers";
	/* config's defaults (path /readyz, rise/fall 2, expect 200, initial up), faster timers */
	cfg_health_defaults(&f->b.cfg.health);
	f->b.cfg.health.type = type;
	f->b.cfg.health.interval_ms = 50;
	f->b.cfg.health.timeout_ms = 150;
	f->b.servers = f->sp;
	f->b.n_servers = n;
	for (size_t i = 0; i < n; i++) {
		struct server *s = &f->servers[i];
		struct sockaddr_in *sin = (struct sockaddr_in *)&s->cfg.addr.ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(ports[i]);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->cfg.addr.len = sizeof(*sin);
		snprintf(s->cfg.addr.text, sizeof(s->cfg.addr.text), "127.0.0.1:%u", ports[i]);
		s->backend = &f->b;
		s->key = 1000 + i;
		f->sp[i] = s;
	}
	f->bp[0] = &f->b;
	f->pool.backends = f->bp;
	f->pool.n_backends = 1;
}

/* ---- stderr capture, to assert on the log lines ---- */

static int saved_stderr = -1;
static FILE *capture;

static void capture_start(void)
{
	fflush(stderr);
	capture = tmpfile();
	saved_stderr = dup(2);
	dup2(fileno(capture), 2);
}

static char *capture_stop(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	long n = ftell(capture) > 0 ? ftell(capture) : lseek(fileno(capture), 0, SEEK_END);
	char *s = calloc(1, (size_t)n + 1);
	lseek(fileno(capture), 0, SEEK_SET);
	ssize_t r = read(fileno(capture), s, (size_t)n);
	(void)r;
	fclose(capture);
	fputs(s, stderr); /* keep the log visible in the test output */
	return s;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void stop_cb(struct loop *l, struct timer *t)
{
	(void)t;
	loop_stop(l);
}

static void run_for(uint64_t ms)
{
	struct timer t;
	timer_init(&t, stop_cb, NULL);
	loop_update_now(L);
	timer_arm_in(L, &t, ms);
	loop_run(L);
	timer_cancel(L, &t);
}

static int setup(void **state)
{
	(void)state;
	L = loop_new();
	return L ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	loop_free(L);
	return 0;
}

/* ---- tests ---- */

static void test_http_ok_and_request(void **state)
{
	(void)state;
	struct tsrv s;
	srv_start(&s, M_REPLY, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	struct fixture f;
	fixture_init(&f, HEALTH_HTTP, &s.port, 1);
	struct health *h = health_start(L, &f.pool);
	assert_non_null(h);
	run_for(400);
	struct server_health *sh = &f.servers[0].health;
	assert_true(sh->up);
	assert_true(atomic_load(&f.servers[0].active_up));
	assert_int_equal(sh->last_result, CHECK_OK);
	assert_string_equal(sh->reason, "HTTP 200");
	/* interval 50ms ±15% over 400ms: about 7 checks, never a burst */
	assert_in_range(sh->checks_total, 4, 10);
	assert_int_equal(sh->checks_failed_total, 0);
	char want[200];
	snprintf(want, sizeof(want),
		 "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUser-Agent: buoy\r\nConnection: close\r\n\r\n",
		 s.port);
	assert_string_equal(s.last_req, want);
	assert_false(health_backend_all_down(&f.b));
	assert_int_equal(health_backend_up_count(&f.b), 1);
	/* every finished check is in the duration histogram; loopback checks take < 1s */
	const struct duration_hist *d = &sh->check_duration;
	assert_int_equal(d->count, sh->checks_total);
	assert_int_equal(duration_hist_cumulative(d, DURATION_HIST_BOUNDS - 1), d->count);
	assert_true(d->sum_us > 0);
	health_stop(h);
	srv_stop(&s);
}

static void test_http_500_refused_garbage_blackhole(void **state)
{
	(void)state;
	struct tsrv s500, sgarb, sblack, sok, sclose;
	srv_start(&s500, M_REPLY, "HTTP/1.1 500 Internal Server Error\r\n\r\n");
	srv_start(&sgarb, M_REPLY, "SSH-2.0-OpenSSH_9.2\r\n");
	srv_start(&sblack, M_BLACKHOLE, NULL);
	srv_start(&sok, M_REPLY, "HTTP/1.0 200 OK\r\n\r\n");
	srv_start(&sclose, M_REPLY, ""); /* reads the request, closes without a word */
	uint16_t ports[] = {
		s500.port, closed_port(), sgarb.port, sblack.port, sok.port, sclose.port
	};
	struct fixture f;
	fixture_init(&f, HEALTH_HTTP, ports, 6);
	capture_start();
	struct health *h = health_start(L, &f.pool);
	assert_non_null(h);
	uint64_t t0 = mono_ms();
	run_for(600);
	/* a blackholed check never holds the loop: the 600ms run ends on time */
	assert_in_range(mono_ms() - t0, 590, 1500); /* slack for a loaded machine */
	health_stop(h);
	char *log = capture_stop();
	assert_false(f.servers[5].health.up);
	assert_string_equal(
		f.servers[5].health.reason, "bad response: connection closed without a response");

	assert_false(f.servers[0].health.up);
	assert_string_equal(f.servers[0].health.reason, "HTTP 500");
	assert_false(f.servers[1].health.up);
	assert_string_equal(f.servers[1].health.reason, "connection refused");
	assert_false(f.servers[2].health.up);
	assert_string_equal(f.servers[2].health.reason, "bad response: not an HTTP/1.x response");
	assert_false(f.servers[3].health.up);
	assert_string_equal(f.servers[3].health.reason, "timeout waiting for response");
	assert_true(f.servers[4].health.up);
	for (int i = 0; i < 4; i++)
		assert_false(atomic_load(&f.servers[i].active_up));
	assert_true(atomic_load(&f.servers[4].active_up));

	/* each transition logged exactly once; the provisional initial up falls at the first failure */
	char line[200];
	snprintf(line, sizeof(line),
		 "msg=\"server down\" backend=apiservers server=127.0.0.1:%u reason=\"HTTP 500\" checks_failed=1",
		 ports[0]);
	assert_int_equal(count(log, line), 1);
	snprintf(line, sizeof(line), "server=127.0.0.1:%u reason=\"connection refused\"", ports[1]);
	assert_int_equal(count(log, line), 1);
	snprintf(line, sizeof(line), "server=127.0.0.1:%u reason=\"timeout waiting for response\"",
		 ports[3]);
	assert_int_equal(count(log, line), 1);
	assert_int_equal(count(log, "msg=\"server down\""), 5);
	assert_int_equal(count(log, "msg=\"server up\""), 0);
	assert_int_equal(count(log, "msg=\"backend down\""), 0);
	/* the blackhole was abandoned: nothing still open on our side after stop */
	assert_true(sblack.accepted >= 2);
	free(log);
	srv_stop(&s500);
	srv_stop(&sgarb);
	srv_stop(&sblack);
	srv_stop(&sok);
	srv_stop(&sclose);
}

static void test_flip_fall_and_rise(void **state)
{
	(void)state;
	struct tsrv s;
	srv_start(&s, M_REPLY, "HTTP/1.1 200 OK\r\n\r\n");
	struct fixture f;
	fixture_init(&f, HEALTH_HTTP, &s.port, 1);
	f.b.cfg.health.fall = 3;
	capture_start();
	struct health *h = health_start(L, &f.pool);
	run_for(200);
	assert_true(f.servers[0].health.up);
	s.reply = "HTTP/1.1 503 Service Unavailable\r\n\r\n";
	run_for(400);
	assert_false(f.servers[0].health.up);
	assert_string_equal(f.servers[0].health.reason, "HTTP 503");
	s.reply = "HTTP/1.1 200 OK\r\n\r\n";
	run_for(400);
	health_stop(h);
	char *log = capture_stop();
	assert_true(f.servers[0].health.up);
	assert_int_equal(count(log, "msg=\"server down\""), 1);
	assert_int_equal(count(log, "reason=\"HTTP 503\" checks_failed=3 check=http"), 1);
	assert_int_equal(count(log, "msg=\"server up\""), 1);
	assert_int_equal(count(log, "reason=\"HTTP 200\" checks_ok=2 check=http"), 1);
	/* the single server down made the backend down, and it came back */
	assert_true(count(log, "msg=\"backend down\" backend=apiservers") >= 1);
	assert_int_equal(count(log, "msg=\"backend up\" backend=apiservers"), 1);
	free(log);
	srv_stop(&s);
}

static void test_expect_range_port_override_initial_down(void **state)
{
	(void)state;
	struct tsrv s;
	srv_start(&s, M_REPLY, "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n");
	uint16_t traffic_port = closed_port();
	struct fixture f;
	fixture_init(&f, HEALTH_HTTP, &traffic_port, 1);
	f.b.cfg.health.port = s.port; /* check another port than traffic */
	f.b.cfg.health.expect[0] = (struct status_range){ 200, 399 };
	f.b.cfg.health.initial_up = false;
	f.b.cfg.health.host = "apiserver.example";
	f.b.cfg.health.path = "/livez?verbose";
	capture_start();
	struct health *h = health_start(L, &f.pool);
	assert_false(f.servers[0].health.up);
	assert_false(atomic_load(&f.servers[0].active_up));
	assert_true(health_backend_all_down(&f.b));
	run_for(400);
	char *log = capture_stop();
	/* logged under the server's own address, with the port actually checked */
	char line[160];
	snprintf(line, sizeof(line),
		 "msg=\"server up\" backend=apiservers server=127.0.0.1:%u reason=\"HTTP 302\" checks_ok=2 check=http checked=127.0.0.1:%u",
		 traffic_port, s.port);
	assert_non_null(strstr(log, line));
	free(log);
	assert_true(f.servers[0].health.up);
	assert_true(atomic_load(&f.servers[0].active_up));
	assert_string_equal(f.servers[0].health.reason, "HTTP 302");
	assert_non_null(
		strstr(s.last_req, "GET /livez?verbose HTTP/1.1\r\nHost: apiserver.example\r\n"));
	assert_false(health_backend_all_down(&f.b));
	health_stop(h);
	srv_stop(&s);
}

static void test_tcp_checks_and_all_down(void **state)
{
	(void)state;
	struct tsrv s;
	srv_start(&s, M_ACCEPT_ONLY, NULL);
	uint16_t ports[] = { s.port, closed_port() };
	struct fixture f;
	fixture_init(&f, HEALTH_TCP, ports, 2);
	struct health *h = health_start(L, &f.pool);
	run_for(300);
	assert_true(f.servers[0].health.up);
	assert_string_equal(f.servers[0].health.reason, "connected");
	assert_false(f.servers[1].health.up);
	assert_false(health_backend_all_down(&f.b));
	health_stop(h);

	/* now both refused: all down, logged as an error at most once per interval (50ms) */
	uint16_t dead[] = { closed_port(), closed_port() };
	fixture_init(&f, HEALTH_TCP, dead, 2);
	capture_start();
	h = health_start(L, &f.pool);
	run_for(500);
	health_stop(h);
	char *log = capture_stop();
	assert_true(health_backend_all_down(&f.b));
	assert_true(f.b.all_down_logged);
	unsigned n = count(
		log, "level=error msg=\"backend down\" backend=apiservers servers=2 servers_up=0");
	assert_in_range(n, 3, 11);
	/* and the checks go on while everything is down */
	assert_true(f.servers[0].health.checks_total >= 6);
	free(log);
	srv_stop(&s);
}

/* ---- udp: an echo on the loop, a socket that never answers, a closed port ---- */

static char udp_seen[64];

static void udp_echo(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	(void)ev;
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(io->fd, udp_seen, sizeof(udp_seen) - 1, 0, (struct sockaddr *)&from, &fl);
	if (n > 0) {
		udp_seen[n] = 0;
		sendto(io->fd, "ok", 2, 0, (struct sockaddr *)&from, fl);
	}
}

static int udp_bound(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_udp_check(void **state)
{
	(void)state;
	uint16_t ports[3];
	struct io echo = { .fd = udp_bound(&ports[0]), .cb = udp_echo };
	assert_int_equal(loop_add(L, &echo, EPOLLIN), 0);
	int silent = udp_bound(&ports[1]);
	close(udp_bound(&ports[2])); /* nothing listens there: ICMP port unreachable */
	struct fixture f;
	fixture_init(&f, HEALTH_UDP, ports, 3);
	f.b.cfg.health.udp_send = (uint8_t *)"ping";
	f.b.cfg.health.udp_send_len = 4;
	struct health *h = health_start(L, &f.pool);
	run_for(400);
	health_stop(h);
	assert_string_equal(udp_seen, "ping");
	assert_true(f.servers[0].health.up);
	assert_string_equal(f.servers[0].health.reason, "reply");
	assert_false(f.servers[1].health.up);
	assert_string_equal(f.servers[1].health.reason, "timeout waiting for response");
	assert_false(f.servers[2].health.up);
	assert_string_equal(f.servers[2].health.reason, "port unreachable");
	loop_del(L, &echo);
	close(echo.fd);
	close(silent);
}

static void test_tcp_connect_timeout(void **state)
{
	(void)state;
	/* a listener with a full accept queue that never accepts: SYNs are dropped */
	uint16_t port;
	int lfd = listen_any(&port, 0);
	int fillers[4];
	for (int i = 0; i < 4; i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in a = {
			.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)
		};
		connect(fillers[i], (struct sockaddr *)&a, sizeof(a));
	}
	usleep(50000);
	struct fixture f;
	fixture_init(&f, HEALTH_TCP, &port, 1);
	f.b.cfg.health.timeout_ms = 100;
	struct health *h = health_start(L, &f.pool);
	run_for(400);
	health_stop(h);
	assert_false(f.servers[0].health.up);
	assert_string_equal(f.servers[0].health.reason, "timeout connecting");
	for (int i = 0; i < 4; i++)
		close(fillers[i]);
	close(lfd);
}

static void test_setup_errors_and_none(void **state)
{
	(void)state;
	uint16_t port = closed_port();
	struct fixture f;
	fixture_init(&f, HEALTH_HTTPS, &port, 1);
	f.b.cfg.health.verify = true;
	f.b.cfg.health.ca_file = "/nonexistent/ca.pem";
	capture_start();
	assert_null(health_start(L, &f.pool));
	char *log = capture_stop();
	assert_non_null(strstr(
		log,
		"msg=\"health check setup failed\" backend=apiservers reason=\"TLS: backend apiservers: /nonexistent/ca.pem: No such file or directory\""));
	free(log);

	/* a file that is there but is not PEM: the cause, not OpenSSL's generic "PEM lib" */
	char junk[] = "/tmp/buoy-health-junk-XXXXXX";
	int jfd = mkstemp(junk);
	assert_true(jfd >= 0);
	assert_int_equal(write(jfd, "garbage\n", 8), 8);
	close(jfd);
	fixture_init(&f, HEALTH_TLS, &port, 1);
	f.b.cfg.health.cert_file = junk;
	f.b.cfg.health.key_file = junk;
	capture_start();
	assert_null(health_start(L, &f.pool));
	log = capture_stop();
	assert_non_null(strstr(log, ": no start line\""));
	free(log);
	unlink(junk);

	/* a path that would inject a header never reaches a check: config refuses it */
	const char *inject =
		"listeners: [ { name: a, bind: \":80\", backend: b } ]\n"
		"backends:\n"
		"  - name: b\n"
		"    servers: [ { address: \"127.0.0.1:80\" } ]\n"
		"    health: { type: http, path: \"/readyz HTTP/1.1\\r\\nX: y\" }\n";
	struct config_errors errs;
	assert_null(config_load_buf("buoy.yaml", inject, strlen(inject), &errs));
	assert_int_equal(errs.n, 1);
	assert_int_equal(errs.v[0].line, 5);
	assert_non_null(strstr(errs.v[0].msg, "backends[0].health.path: must start with '/' and "
					      "contain no spaces or control characters"));
	config_errors_free(&errs);

	/* type none: nothing is checked, servers stay as the pool made them */
	fixture_init(&f, HEALTH_NONE, &port, 1);
	atomic_store(&f.servers[0].active_up, true);
	f.servers[0].health.up = true;
	struct health *h = health_start(L, &f.pool);
	assert_non_null(h);
	run_for(100);
	assert_int_equal(f.servers[0].health.checks_total, 0);
	assert_false(health_backend_all_down(&f.b));
	health_stop(h);
}

/* IPv6: the check connects to [::1], logs the bracketed address and sends it as Host. */
static void test_ipv6_server(void **state)
{
	(void)state;
	int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = in6addr_loopback };
	socklen_t al = sizeof(a);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (lfd >= 0)
			close(lfd);
		skip(); /* no IPv6 loopback here */
	}
	assert_int_equal(listen(lfd, 16), 0);
	getsockname(lfd, (struct sockaddr *)&a, &al);
	struct tsrv s;
	memset(&s, 0, sizeof(s));
	s.mode = M_REPLY;
	s.reply = "HTTP/1.1 503 Unavailable\r\n\r\n";
	s.lio = (struct io){ .fd = lfd, .cb = srv_accept, .arg = &s };
	loop_add(L, &s.lio, EPOLLIN);

	uint16_t port = ntohs(a.sin6_port);
	struct fixture f;
	fixture_init(&f, HEALTH_HTTP, &port, 1);
	memcpy(&f.servers[0].cfg.addr.ss, &a, sizeof(a));
	f.servers[0].cfg.addr.len = sizeof(a);
	snprintf(f.servers[0].cfg.addr.text, sizeof(f.servers[0].cfg.addr.text), "[::1]:%u", port);
	capture_start();
	struct health *h = health_start(L, &f.pool);
	run_for(200);
	health_stop(h);
	char *log = capture_stop();
	char want[160];
	snprintf(want, sizeof(want), "server=[::1]:%u reason=\"HTTP 503\"", port);
	assert_non_null(strstr(log, want));
	snprintf(want, sizeof(want), "Host: [::1]:%u\r\n", port);
	assert_non_null(strstr(s.last_req, want));
	free(log);
	srv_stop(&s);
}

static void test_stop_with_checks_in_flight(void **state)
{
	(void)state;
	struct tsrv s;
	srv_start(&s, M_BLACKHOLE, NULL);
	uint16_t ports[] = { s.port, s.port, s.port };
	struct fixture f;
	fixture_init(&f, HEALTH_HTTP, ports, 3);
	f.b.cfg.health.timeout_ms = 10000;
	struct health *h = health_start(L, &f.pool);
	run_for(150); /* all three connected, waiting for an answer that never comes */
	assert_int_equal(s.accepted, 3);
	health_stop(h); /* must close the sockets and cancel the timers (ASan/LSan check the rest) */
	run_for(50);
	/* our side closed: the server reads EOF on every connection */
	for (size_t i = 0; i < s.n_conns; i++)
		assert_int_equal(s.conns[i]->io.fd, -1);
	srv_stop(&s);
}

static struct health *stop_target;

static void stop_on_read(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	(void)ev;
	char b[8];
	ssize_t r = read(io->fd, b, sizeof(b));
	(void)r;
	health_stop(stop_target); /* as a reload does, from inside a loop callback */
	stop_target = NULL;
}

/* health_stop() inside a callback while the same epoll batch still holds events for the checks'
 * sockets: those late events must land on live, idle check objects (ASan would see a
 * use-after-free otherwise), and be ignored. */
static void test_stop_inside_a_callback_of_the_same_batch(void **state)
{
	(void)state;
	struct tsrv s;
	srv_start(&s, M_BLACKHOLE, NULL);
	uint16_t ports[] = { s.port, s.port, s.port };
	struct fixture f;
	fixture_init(&f, HEALTH_HTTP, ports, 3);
	f.b.cfg.health.timeout_ms = 10000;
	struct health *h = health_start(L, &f.pool);
	run_for(150); /* all three checks sent their request and wait for the answer */
	assert_int_equal(s.accepted, 3);

	int pfd[2];
	assert_int_equal(pipe2(pfd, O_NONBLOCK | O_CLOEXEC), 0);
	struct io pio = { .fd = pfd[0], .cb = stop_on_read };
	loop_add(L, &pio, EPOLLIN);
	stop_target = h;
	/* the pipe becomes ready first, then the three check sockets: one batch, stop first */
	assert_int_equal(write(pfd[1], "x", 1), 1);
	const char *ok = "HTTP/1.1 200 OK\r\n\r\n";
	for (size_t i = 0; i < s.n_conns; i++)
		assert_int_equal(write(s.conns[i]->io.fd, ok, strlen(ok)), (ssize_t)strlen(ok));
	usleep(20000);
	run_for(50);
	assert_null(stop_target);
	/* stopped before their answers were read: no result was recorded */
	for (int i = 0; i < 3; i++)
		assert_int_equal(f.servers[i].health.checks_total, 0);
	loop_del(L, &pio);
	close(pfd[0]);
	close(pfd[1]);
	srv_stop(&s);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the daemon does (health_start's contract) */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_http_ok_and_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_500_refused_garbage_blackhole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_fall_and_rise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expect_range_port_override_initial_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_checks_and_all_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_connect_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setup_errors_and_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_checks_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_stop_inside_a_callback_of_the_same_batch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
