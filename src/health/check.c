#include "health/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "core/log.h"
#include "health/parse.h"
#include "health/state.h"
#include "health/tls.h"

enum phase { PH_IDLE, PH_CONNECT, PH_TLS, PH_SEND, PH_RECV };

struct hc_backend;

/* One server's check: at most one in flight, then the timer for the next. */
struct hc_server {
	struct hc_backend *hb;
	struct server *s;
	struct io io;    /* fd -1 while idle */
	uint32_t events; /* epoll interest now registered */
	enum phase phase;
	struct timer next;     /* when the next check starts */
	struct timer deadline; /* `timeout` of the running check */
	SSL *ssl;
	struct sockaddr_storage addr; /* server address, port replaced by health.port */
	socklen_t addr_len;
	const char *name; /* the server as configured: logs ("198.18.0.21:6443") */
	char target[64];  /* what is checked (port override applied): default Host */
	char ip[48];      /* "198.18.0.21": certificate IP check */
	char *request;    /* http/https only */
	size_t request_len, sent;
	struct http_status_parser parser;
	uint64_t started_ms, started_us;
	uint64_t seed; /* jitter */
};

struct hc_backend {
	struct health *h;
	struct backend *b;
	const char *name;
	enum health_type type;
	uint64_t interval_ms, timeout_ms;
	uint32_t rise, fall;
	bool verify;
	uint16_t port;     /* health.port: 0 = the server's own */
	char *host;        /* copied: the config may be freed after start */
	uint8_t *udp_send; /* udp: the datagram, copied too */
	size_t udp_send_len;
	struct status_range expect[CFG_MAX_EXPECT];
	size_t n_expect;
	SSL_CTX *ctx; /* tls/https only */
	struct hc_server *servers;
	size_t n_servers;
	bool all_down;
	uint64_t all_down_logged_ms;
};

struct health {
	struct loop *l;
	struct pool *p;
	struct hc_backend *backends;
	size_t n_backends;
	/* health_stop() may run inside a loop callback (a reload): events the loop already
	 * fetched in the same batch can still name a check's io, so the memory outlives it */
	struct loop_deferred reap;
};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* "connection refused", "no route to host": errno text as people say it (lower case). */
static void errno_reason(int err, const char *prefix, char *buf, size_t len)
{
	const char *t;
	switch (err) {
	case ECONNREFUSED: t = "connection refused"; break;
	case ECONNRESET: t = "connection reset"; break;
	case ETIMEDOUT: t = "timeout"; break;
	case EHOSTUNREACH: t = "host unreachable"; break;
	case ENETUNREACH: t = "network unreachable"; break;
	case EPIPE: t = "connection closed"; break;
	default: t = NULL; break;
	}
	char tmp[96];
	if (!t) {
		snprintf(tmp, sizeof(tmp), "%s", strerror(err));
		if (tmp[0] >= 'A' && tmp[0] <= 'Z' && !(tmp[1] >= 'A' && tmp[1] <= 'Z'))
			tmp[0] = (char)(tmp[0] - 'A' + 'a');
		t = tmp;
	}
	snprintf(buf, len, "%s%s", prefix, t);
}

/* ---- one check, start to finish ---- */

static void check_start(struct loop *l, struct timer *t);
static void check_io(struct loop *l, struct io *io, uint32_t events);

static void set_interest(struct hc_server *cs, uint32_t events)
{
	if (cs->events == events)
		return;
	struct loop *l = cs->hb->h->l;
	if (loop_mod(l, &cs->io, events) == 0)
		cs->events = events;
}

static void close_check(struct hc_server *cs)
{
	struct loop *l = cs->hb->h->l;
	if (cs->ssl) {
		/* best effort close_notify once the handshake is done; never waits. (A session
		 * that failed fatally was freed before we got here.) */
		if (SSL_is_init_finished(cs->ssl)) {
			ERR_clear_error();
			SSL_shutdown(cs->ssl);
		}
		SSL_free(cs->ssl);
		cs->ssl = NULL;
		ERR_clear_error();
	}
	if (cs->io.fd >= 0) {
		loop_del(l, &cs->io);
		close(cs->io.fd);
		cs->io.fd = -1;
	}
	cs->events = 0;
	cs->phase = PH_IDLE;
	timer_cancel(l, &cs->deadline);
}

static void log_backend_state(struct hc_backend *hb, uint64_t now)
{
	size_t up = health_backend_up_count(hb->b);
	if (up == 0 && hb->n_servers > 0) {
		/* fail open: nothing changes for the data plane, but say it loudly, once per interval */
		if (!hb->all_down || now - hb->all_down_logged_ms >= hb->interval_ms) {
			log_error("backend down", "backend=%s servers=%zu servers_up=0 fail_open=true",
				  hb->name, hb->n_servers);
			hb->all_down_logged_ms = now;
		}
		hb->all_down = true;
	} else if (hb->all_down) {
		hb->all_down = false;
		log_info("backend up", "backend=%s servers=%zu servers_up=%zu", hb->name,
			 hb->n_servers, up);
	}
	hb->b->all_down_logged = hb->all_down;
}

static void check_done(struct hc_server *cs, bool ok, const char *reason)
{
	struct hc_backend *hb = cs->hb;
	struct loop *l = hb->h->l;
	struct server *s = cs->s;
	close_check(cs);
	uint64_t now = loop_now(l);
	uint64_t dur = mono_us() - cs->started_us;
	enum health_change c = health_state_record(&s->health, hb->rise, hb->fall, ok, reason, now, dur);
	atomic_store(&s->active_up, s->health.up);
	log_debug("health check", "backend=%s server=%s result=%s reason=\"%s\" duration_us=%llu",
		  hb->name, cs->name, ok ? "ok" : "fail", s->health.reason, (unsigned long long)dur);
	if (c == HEALTH_BECAME_DOWN)
		log_warn("server down", "backend=%s server=%s reason=\"%s\" checks_failed=%u check=%s%s%s",
			 hb->name, cs->name, s->health.reason, s->health.consecutive_fail,
			 health_type_name(hb->type), hb->port ? " checked=" : "",
			 hb->port ? cs->target : "");
	else if (c == HEALTH_BECAME_UP)
		log_info("server up", "backend=%s server=%s reason=\"%s\" checks_ok=%u check=%s%s%s",
			 hb->name, cs->name, s->health.reason, s->health.consecutive_ok,
			 health_type_name(hb->type), hb->port ? " checked=" : "",
			 hb->port ? cs->target : "");
	log_backend_state(hb, now);

	/* the period is measured from the start of this check, so checks do not drift by their
	 * duration; but never start the next one right on the heels of a slow one */
	uint64_t at = cs->started_ms + health_jitter_delay(hb->interval_ms, &cs->seed);
	uint64_t min_gap = hb->interval_ms / 10 ? hb->interval_ms / 10 : 1;
	if (at < now + min_gap)
		at = now + min_gap;
	timer_arm(l, &cs->next, at);
	s->health.next_due_ms = at;
}

static void check_fail_errno(struct hc_server *cs, int err, const char *prefix)
{
	char reason[128];
	errno_reason(err, prefix, reason, sizeof(reason));
	check_done(cs, false, reason);
}

static void check_fail_tls(struct hc_server *cs, int ret, int saved_errno, const char *stage)
{
	char reason[160];
	health_tls_reason(cs->ssl, ret, saved_errno, stage, reason, sizeof(reason));
	/* after a fatal TLS error the session must not be shut down: drop it now */
	SSL_free(cs->ssl);
	cs->ssl = NULL;
	check_done(cs, false, reason);
}

static void on_deadline(struct loop *l, struct timer *t)
{
	(void)l;
	struct hc_server *cs = t->arg;
	static const char *const what[] = {
		[PH_IDLE] = "timeout",
		[PH_CONNECT] = "timeout connecting",
		[PH_TLS] = "timeout in TLS handshake",
		[PH_SEND] = "timeout sending request",
		[PH_RECV] = "timeout waiting for response",
	};
	check_done(cs, false, what[cs->phase]);
}

static void on_status(struct hc_server *cs)
{
	char reason[64];
	unsigned st = cs->parser.status;
	snprintf(reason, sizeof(reason), "HTTP %u", st);
	check_done(cs, health_status_expected(cs->hb->expect, cs->hb->n_expect, st), reason);
}

static void on_bad_response(struct hc_server *cs)
{
	char reason[96];
	snprintf(reason, sizeof(reason), "bad response: %s", hsp_strerror(cs->parser.err));
	check_done(cs, false, reason);
}

/* One read or write on the check's socket, through TLS when there is a session. */
enum io_outcome { IO_OK, IO_AGAIN, IO_EOF, IO_FAILED };

/* A plain recv/send that returned < 0: wait for `interest`, or fail the check with errno. */
static enum io_outcome sock_outcome(struct hc_server *cs, uint32_t interest)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		set_interest(cs, interest);
		return IO_AGAIN;
	}
	check_fail_errno(cs, errno, "");
	return IO_FAILED;
}

/* An SSL_read/SSL_write that returned r <= 0 (call it before anything can touch errno). */
static enum io_outcome ssl_outcome(struct hc_server *cs, int r, bool reading)
{
	int saved = errno, e = SSL_get_error(cs->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		set_interest(cs, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
		return IO_AGAIN;
	}
	if (reading && (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && saved == 0)))
		return IO_EOF;
	check_fail_tls(cs, r, saved, reading ? "read" : "write");
	return IO_FAILED;
}

/* Returns IO_OK with *n bytes, IO_AGAIN after setting the epoll interest, IO_EOF, or IO_FAILED
 * after finishing the check with the reason. */
static enum io_outcome check_read(struct hc_server *cs, char *buf, size_t len, size_t *n)
{
	if (!cs->ssl) {
		ssize_t r = recv(cs->io.fd, buf, len, 0);
		if (r > 0) {
			*n = (size_t)r;
			return IO_OK;
		}
		return r == 0 ? IO_EOF : sock_outcome(cs, EPOLLIN);
	}
	ERR_clear_error();
	int r = SSL_read(cs->ssl, buf, (int)len);
	if (r > 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	return ssl_outcome(cs, r, true);
}

static enum io_outcome check_write(struct hc_server *cs, const char *buf, size_t len, size_t *n)
{
	if (!cs->ssl) {
		ssize_t r = send(cs->io.fd, buf, len, MSG_NOSIGNAL);
		if (r >= 0) {
			*n = (size_t)r;
			return IO_OK;
		}
		return sock_outcome(cs, EPOLLOUT);
	}
	ERR_clear_error();
	int r = SSL_write(cs->ssl, buf, (int)len);
	if (r > 0) {
		*n = (size_t)r;
		return IO_OK;
	}
	return ssl_outcome(cs, r, false);
}

/* Reads until the status line is complete or bad, the peer closes, or nothing more is there.
 * Bounded: the parser gives up after HSP_MAX_LINE / HSP_MAX_INTERIM bytes. */
static void recv_drive(struct hc_server *cs)
{
	char buf[4096];
	for (;;) {
		size_t n = 0;
		enum io_outcome o = check_read(cs, buf, sizeof(buf), &n);
		if (o == IO_AGAIN || o == IO_FAILED)
			return;
		enum hsp_result res =
			o == IO_EOF ? hsp_finish(&cs->parser) : hsp_feed(&cs->parser, buf, n);
		if (res == HSP_DONE) {
			on_status(cs);
			return;
		}
		if (res == HSP_ERROR) {
			on_bad_response(cs);
			return;
		}
	}
}

static void send_drive(struct hc_server *cs)
{
	while (cs->sent < cs->request_len) {
		size_t n = 0;
		enum io_outcome o =
			check_write(cs, cs->request + cs->sent, cs->request_len - cs->sent, &n);
		if (o != IO_OK)
			return;
		cs->sent += n;
	}
	cs->phase = PH_RECV;
	recv_drive(cs);
}

static void begin_http(struct hc_server *cs)
{
	cs->phase = PH_SEND;
	cs->sent = 0;
	hsp_init(&cs->parser);
	send_drive(cs);
}

static void tls_drive(struct hc_server *cs)
{
	ERR_clear_error();
	int r = SSL_do_handshake(cs->ssl);
	if (r == 1) {
		if (cs->hb->type == HEALTH_TLS)
			check_done(cs, true, "TLS handshake ok");
		else
			begin_http(cs);
		return;
	}
	int saved = errno, e = SSL_get_error(cs->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		set_interest(cs, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
	else
		check_fail_tls(cs, r, saved, "handshake");
}

static void on_connected(struct hc_server *cs)
{
	struct hc_backend *hb = cs->hb;
	if (hb->type == HEALTH_HTTP) {
		begin_http(cs);
	} else if (health_type_uses_tls(hb->type)) {
		cs->ssl = health_tls_new(hb->ctx, cs->io.fd, hb->host, cs->ip, hb->verify);
		if (!cs->ssl) {
			check_done(cs, false, "TLS: cannot create session");
			return;
		}
		cs->phase = PH_TLS;
		tls_drive(cs);
	} else {
		check_done(cs, true, "connected");
	}
}

static void on_connect_ready(struct hc_server *cs, uint32_t events)
{
	int err = 0;
	socklen_t el = sizeof(err);
	if (getsockopt(cs->io.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err == 0 && (events & (EPOLLERR | EPOLLHUP)))
		err = ECONNREFUSED; /* HUP without a pending error: the peer said no */
	if (err)
		check_fail_errno(cs, err, "");
	else
		on_connected(cs);
}

/* udp: the reply (any datagram) or the kernel's report of an ICMP port unreachable. */
static void udp_recv(struct hc_server *cs)
{
	char b;
	ssize_t n = recv(cs->io.fd, &b, 1, MSG_DONTWAIT | MSG_TRUNC);
	if (n >= 0)
		check_done(cs, true, "reply");
	else if (errno == ECONNREFUSED)
		check_done(cs, false, "port unreachable");
	else if (errno != EAGAIN && errno != EINTR)
		check_fail_errno(cs, errno, "");
}

/* udp: one datagram of health.send on a connected socket, then wait for a reply. */
static void udp_start(struct hc_server *cs)
{
	struct loop *l = cs->hb->h->l;
	int fd = socket(cs->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		check_fail_errno(cs, errno, "socket: ");
		return;
	}
	cs->io.fd = fd;
	cs->phase = PH_RECV;
	timer_arm_in(l, &cs->deadline, cs->hb->timeout_ms);
	if (loop_add(l, &cs->io, EPOLLIN) < 0) {
		int err = errno;
		close(fd);
		cs->io.fd = -1;
		check_fail_errno(cs, err, "epoll: ");
		return;
	}
	cs->events = EPOLLIN;
	if (connect(fd, (struct sockaddr *)&cs->addr, cs->addr_len) < 0 ||
	    send(fd, cs->hb->udp_send, cs->hb->udp_send_len, MSG_DONTWAIT) < 0)
		check_fail_errno(cs, errno, "");
}

static void check_io(struct loop *l, struct io *io, uint32_t events)
{
	(void)l;
	struct hc_server *cs = io->arg;
	if (cs->hb->type == HEALTH_UDP) {
		if (cs->phase == PH_RECV)
			udp_recv(cs);
		return;
	}
	switch (cs->phase) {
	case PH_CONNECT: on_connect_ready(cs, events); break;
	case PH_TLS: tls_drive(cs); break;
	case PH_SEND: send_drive(cs); break;
	case PH_RECV: recv_drive(cs); break;
	case PH_IDLE: break;
	}
}

static void check_start(struct loop *l, struct timer *t)
{
	struct hc_server *cs = t->arg;
	cs->started_ms = loop_now(l);
	cs->started_us = mono_us();
	if (cs->hb->type == HEALTH_UDP) {
		udp_start(cs);
		return;
	}
	int fd = socket(cs->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		check_fail_errno(cs, errno, "socket: ");
		return;
	}
	int one = 1, zero = 0;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* tls/http/https checks speak first, right after the connect: their first bytes carry the
	 * handshake's last ACK (one packet fewer per check). Not for tcp checks, which send
	 * nothing: the server would see the connection only when the delayed ACK fires. */
	if (cs->hb->type != HEALTH_TCP)
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
	cs->io.fd = fd;
	cs->phase = PH_CONNECT;
	timer_arm_in(l, &cs->deadline, cs->hb->timeout_ms);
	if (loop_add(l, &cs->io, EPOLLOUT) < 0) {
		int err = errno;
		close(fd);
		cs->io.fd = -1;
		check_fail_errno(cs, err, "epoll: ");
		return;
	}
	cs->events = EPOLLOUT;
	if (connect(fd, (struct sockaddr *)&cs->addr, cs->addr_len) == 0)
		on_connected(cs);
	else if (errno != EINPROGRESS)
		check_fail_errno(cs, errno, "");
	/* else wait for EPOLLOUT: on_connect_ready reads SO_ERROR */
}

/* ---- setup ---- */

static int server_target(struct hc_server *cs, uint16_t port_override)
{
	memcpy(&cs->addr, &cs->s->cfg.addr.ss, sizeof(cs->addr));
	cs->addr_len = cs->s->cfg.addr.len;
	uint16_t port;
	if (cs->addr.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&cs->addr;
		if (port_override)
			sin->sin_port = htons(port_override);
		port = ntohs(sin->sin_port);
		inet_ntop(AF_INET, &sin->sin_addr, cs->ip, sizeof(cs->ip));
		snprintf(cs->target, sizeof(cs->target), "%s:%u", cs->ip, port);
	} else if (cs->addr.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cs->addr;
		if (port_override)
			sin6->sin6_port = htons(port_override);
		port = ntohs(sin6->sin6_port);
		inet_ntop(AF_INET6, &sin6->sin6_addr, cs->ip, sizeof(cs->ip));
		snprintf(cs->target, sizeof(cs->target), "[%s]:%u", cs->ip, port);
	} else {
		return -1;
	}
	if (!cs->addr_len)
		cs->addr_len = cs->addr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
							     : sizeof(struct sockaddr_in6);
	return 0;
}

static int build_request(struct hc_server *cs, const char *path)
{
	const char *host = cs->hb->host ? cs->hb->host : cs->target;
	const char *fmt = "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: buoy\r\nConnection: close\r\n\r\n";
	int n = snprintf(NULL, 0, fmt, path, host);
	if (n < 0 || !(cs->request = malloc((size_t)n + 1)))
		return -1;
	snprintf(cs->request, (size_t)n + 1, fmt, path, host);
	cs->request_len = (size_t)n;
	return 0;
}

static int server_init(struct hc_backend *hb, struct hc_server *cs, struct server *s, size_t idx,
		       const struct cfg_health *cfg)
{
	cs->hb = hb;
	cs->s = s;
	cs->io.fd = -1;
	cs->io.cb = check_io;
	cs->io.arg = cs;
	timer_init(&cs->next, check_start, cs);
	timer_init(&cs->deadline, on_deadline, cs);
	cs->name = s->cfg.addr.text;
	if (server_target(cs, cfg->port) < 0) {
		log_error("health check setup failed",
			  "backend=%s server=%s reason=\"unsupported address family\"", hb->name,
			  s->cfg.addr.text);
		return -1;
	}
	if (!cs->name[0])
		cs->name = cs->target;
	if (health_type_uses_http(hb->type) && build_request(cs, cfg->path) < 0)
		return -1;
	cs->seed = health_seed(s->key ? s->key : (uint64_t)idx + 1, hb->b->idx * 1000003u + idx);
	/* a reload restarts the checks of a server it keeps: its state carries over */
	if (!s->health_started)
		health_state_init(&s->health, cfg->initial_up && !s->cfg.discovered);
	s->health_started = true;
	atomic_store(&s->active_up, s->health.up);
	return 0;
}

static int backend_init(struct health *h, struct hc_backend *hb, struct backend *b)
{
	const struct cfg_health *cfg = &b->cfg.health;
	hb->h = h;
	hb->b = b;
	hb->name = b->cfg.name ? b->cfg.name : "?";
	hb->type = cfg->type;
	hb->interval_ms = cfg->interval_ms;
	hb->timeout_ms = cfg->timeout_ms;
	hb->rise = cfg->rise;
	hb->fall = cfg->fall;
	hb->verify = cfg->verify;
	hb->port = cfg->port;
	hb->n_expect = cfg->n_expect <= CFG_MAX_EXPECT ? cfg->n_expect : CFG_MAX_EXPECT;
	memcpy(hb->expect, cfg->expect, sizeof(hb->expect));
	if (cfg->host && !(hb->host = strdup(cfg->host)))
		return -1;
	if (cfg->udp_send_len) {
		if (!(hb->udp_send = malloc(cfg->udp_send_len)))
			return -1;
		memcpy(hb->udp_send, cfg->udp_send, cfg->udp_send_len);
		hb->udp_send_len = cfg->udp_send_len;
	}
	if (health_type_uses_tls(hb->type)) {
		char err[300];
		hb->ctx = health_tls_ctx_new(cfg, hb->name, err, sizeof(err));
		if (!hb->ctx) {
			health_reason_copy(err, sizeof(err), err);
			log_error("health check setup failed", "backend=%s reason=\"%s\"", hb->name, err);
			return -1;
		}
	}
	hb->n_servers = b->n_servers;
	hb->servers = calloc(b->n_servers ? b->n_servers : 1, sizeof(*hb->servers));
	if (!hb->servers)
		return -1;
	for (size_t i = 0; i < b->n_servers; i++)
		if (server_init(hb, &hb->servers[i], b->servers[i], i, cfg) < 0)
			return -1;
	return 0;
}

struct health *health_start(struct loop *l, struct pool *p)
{
	struct health *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->l = l;
	h->p = p;
	h->backends = calloc(p->n_backends ? p->n_backends : 1, sizeof(*h->backends));
	if (!h->backends) {
		free(h);
		return NULL;
	}
	for (size_t i = 0; i < p->n_backends; i++) {
		struct backend *b = p->backends[i];
		if (b->cfg.health.type == HEALTH_NONE)
			continue;
		struct hc_backend *hb = &h->backends[h->n_backends++];
		if (backend_init(h, hb, b) < 0) {
			health_stop(h);
			return NULL;
		}
	}
	for (size_t i = 0; i < h->n_backends; i++) {
		struct hc_backend *hb = &h->backends[i];
		for (size_t j = 0; j < hb->n_servers; j++) {
			struct hc_server *cs = &hb->servers[j];
			struct server_health *sh = &cs->s->health;
			uint64_t now = loop_now(l);
			uint64_t d = health_start_delay(sh->next_due_ms, now, hb->interval_ms, &cs->seed);
			timer_arm(l, &cs->next, now + d);
			sh->next_due_ms = now + d;
		}
		log_info("health checks started",
			 "backend=%s check=%s servers=%zu interval_ms=%llu timeout_ms=%llu rise=%u fall=%u",
			 hb->name, health_type_name(hb->type), hb->n_servers,
			 (unsigned long long)hb->interval_ms, (unsigned long long)hb->timeout_ms,
			 hb->rise, hb->fall);
	}
	return h;
}

static void health_free(struct health *h)
{
	for (size_t i = 0; i < h->n_backends; i++)
		free(h->backends[i].servers);
	free(h->backends);
	free(h);
}

static void health_reap(struct loop *l, struct loop_deferred *d)
{
	(void)l;
	health_free(container_of(d, struct health, reap));
}

void health_stop(struct health *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_backends; i++) {
		struct hc_backend *hb = &h->backends[i];
		for (size_t j = 0; hb->servers && j < hb->n_servers; j++) {
			struct hc_server *cs = &hb->servers[j];
			if (!cs->hb)
				continue; /* setup failed before this one */
			close_check(cs);  /* leaves it idle: check_io ignores a late event */
			timer_cancel(h->l, &cs->next);
			free(cs->request);
			cs->request = NULL;
		}
		free(hb->host);
		free(hb->udp_send);
		hb->udp_send = NULL;
		hb->host = NULL;
		SSL_CTX_free(hb->ctx);
		hb->ctx = NULL;
	}
	loop_defer(h->l, &h->reap, health_reap);
}

bool health_backend_all_down(const struct backend *b)
{
	if (b->cfg.health.type == HEALTH_NONE || b->n_servers == 0)
		return false;
	return health_backend_up_count(b) == 0;
}

size_t health_backend_up_count(const struct backend *b)
{
	size_t up = 0;
	for (size_t i = 0; i < b->n_servers; i++)
		up += b->servers[i]->health.up;
	return up;
}
