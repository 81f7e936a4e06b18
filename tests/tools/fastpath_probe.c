/* Proves on this kernel what docs/fastpath.md says about the sockmap fast path. Plays buoy by
 * hand on loopback: client A talks to "buoy's" socket a, buoy's socket b talks to server B;
 * a and b go into the fast path's sockhash as a pair. Each check prints "ok NAME" or
 * "FAIL NAME: why"; exit 0 only if all passed, 77 if the program cannot load here.
 * Usage: fastpath_probe [transfer|halfclose|rst|early|early-nokick|refused|churn N|all]
 *        fastpath_probe hold N SECONDS | pingpong N | bulk (measurements) */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proxy/fastpath.h"

static struct fastpath *fp;
static int failures;

static void check(int ok, const char *name, const char *why)
{
	if (ok)
		printf("ok %s\n", name);
	else
		printf("FAIL %s: %s\n", name, why);
	failures += !ok;
}

/* Two connected TCP sockets on loopback: *x is the connecting end, *y the accepted one. */
static void tcp_pair(int *x, int *y)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	if (l < 0 || bind(l, (void *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (void *)&sa, &len)) {
		perror("listen");
		exit(2);
	}
	*x = socket(AF_INET, SOCK_STREAM, 0);
	if (*x < 0 || connect(*x, (void *)&sa, sizeof(sa))) {
		perror("connect");
		exit(2);
	}
	*y = accept(l, NULL, NULL);
	if (*y < 0) {
		perror("accept");
		exit(2);
	}
	close(l);
}

struct quad {
	int A, a, b, B; /* client, buoy's client socket, buoy's server socket, server */
	uint64_t ca, cb;
};

static int quad_open(struct quad *q)
{
	tcp_pair(&q->A, &q->a);
	tcp_pair(&q->b, &q->B);
	return fastpath_add(fp, q->a, q->b, &q->ca, &q->cb);
}

static void quad_close(struct quad *q)
{
	close(q->A);
	close(q->a);
	close(q->b);
	close(q->B);
}

/* The pair is the only one in the maps: both sockhashes hold both sockets, fp_peers both. */
static void check_in_both(const char *name)
{
	long t, k, p;
	char why[96];
	fastpath_counts(fp, &t, &k, &p);
	snprintf(why, sizeof(why), "targets %ld, socks %ld, peers %ld", t, k, p);
	check(t == 2 && k == 2 && p == 2, name, why);
}

/* After close() (never a delete while open): both sockhashes empty by themselves, the peers
 * entries stay until fastpath_del. */
static void check_closed_leaves_maps(struct quad *q, const char *name)
{
	long t, k, p;
	char why[96];
	fastpath_counts(fp, &t, &k, &p);
	uint64_t bytes, passed;
	fastpath_del(fp, q->ca, &bytes, &passed);
	fastpath_del(fp, q->cb, &bytes, &passed);
	long t2, k2, p2;
	fastpath_counts(fp, &t2, &k2, &p2);
	snprintf(why, sizeof(why),
		 "after close: targets %ld, socks %ld, peers %ld; after del: peers %ld", t, k, p, p2);
	check(t == 0 && k == 0 && p == 2 && t2 == 0 && k2 == 0 && p2 == 0, name, why);
}

/* What buoy's worker waits with: epoll, EPOLLRDHUP only, edge-triggered. */
static uint32_t wait_rdhup(int fd, int ms)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLET };
	uint32_t got = 0;
	if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 && epoll_wait(ep, &ev, 1, ms) == 1)
		got = ev.events;
	if (ep >= 0)
		close(ep);
	return got;
}

static int wait_in(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	return poll(&p, 1, ms) > 0 ? p.revents : 0;
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 2654435761u >> 13); }

/* Sends n bytes from `from`, reads them on `to` slowly (a small buffer, pauses), compares. */
static int transfer(int from, int to, size_t n, int slow)
{
	unsigned char buf[65536];
	size_t sent = 0, got = 0;
	int rcv = 4096;
	if (slow)
		setsockopt(to, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	while (got < n) {
		if (sent < n) {
			size_t k = n - sent < sizeof(buf) ? n - sent : sizeof(buf);
			for (size_t i = 0; i < k; i++)
				buf[i] = pattern(sent + i);
			ssize_t m = send(from, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (m > 0)
				sent += (size_t)m;
			else if (m < 0 && errno != EAGAIN)
				return -1;
		}
		if (!wait_in(to, 2000) && sent == n)
			return -2; /* stalled */
		if (slow)
			usleep(200);
		ssize_t r = recv(to, buf, slow ? 1024 : sizeof(buf), MSG_DONTWAIT);
		if (r == 0)
			return -3;
		if (r < 0 && errno != EAGAIN)
			return -4;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(got + (size_t)i))
				return -5;
		if (r > 0)
			got += (size_t)r;
	}
	return 0;
}

static void t_transfer(void)
{
	struct quad q;
	int add = quad_open(&q);
	check(add == 0, "insert pair", strerror(-add));
	check(transfer(q.A, q.B, 16u << 20, 0) == 0, "16 MiB client->server byte-exact", "mismatch");
	check(transfer(q.B, q.A, 16u << 20, 0) == 0, "16 MiB server->client byte-exact", "mismatch");
	check(transfer(q.A, q.B, 256u << 10, 1) == 0, "256 KiB to a slow reader byte-exact",
	      "mismatch or stall");
	struct fp_peer v;
	fastpath_read(fp, q.ca, &v);
	check(v.bytes == (16u << 20) + (256u << 10), "program counts bytes", "count differs");
	check(wait_in(q.a, 0) == 0 && wait_in(q.b, 0) == 0, "buoy not woken by data",
	      "buoy's sockets readable");
	quad_close(&q);
	check_closed_leaves_maps(&q, "closed sockets leave both sockhashes");
}

/* A's FIN: a sees EOF on its own recv (nothing to read), buoy shuts b's write side, B sees
 * EOF; the other way keeps flowing. */
static void t_halfclose(int client_first)
{
	struct quad q;
	quad_open(&q);
	check_in_both("pair in both sockhashes");
	int src = client_first ? q.A : q.B, mid = client_first ? q.a : q.b;
	int other = client_first ? q.b : q.a, dst = client_first ? q.B : q.A;
	check(transfer(src, dst, 100000, 0) == 0, "data before FIN", "mismatch");
	shutdown(src, SHUT_WR);
	uint32_t ev = wait_rdhup(mid, 2000);
	char c;
	check((ev & EPOLLRDHUP) && recv(mid, &c, 1, MSG_DONTWAIT) == 0, "FIN seen by buoy",
	      "no EPOLLRDHUP/EOF on buoy's socket");
	shutdown(other, SHUT_WR);
	check(wait_in(dst, 2000) && recv(dst, &c, 1, MSG_DONTWAIT) == 0,
	      "FIN reaches the other end", "no EOF");
	check(transfer(dst, src, 1u << 20, 0) == 0, "other way flows after half-close", "mismatch");
	quad_close(&q);
	check_closed_leaves_maps(&q, "closed sockets leave both sockhashes");
}

static void t_rst(int client_first)
{
	struct quad q;
	quad_open(&q);
	check_in_both("pair in both sockhashes");
	int src = client_first ? q.A : q.B, mid = client_first ? q.a : q.b;
	int other = client_first ? q.b : q.a, dst = client_first ? q.B : q.A;
	struct linger lg = { 1, 0 };
	setsockopt(src, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(src);
	check(wait_rdhup(mid, 2000) & (EPOLLERR | EPOLLHUP), "RST wakes an EPOLLRDHUP-only waiter",
	      "no EPOLLERR/EPOLLHUP");
	char c;
	ssize_t r = recv(mid, &c, 1, MSG_DONTWAIT);
	check(r < 0 && errno == ECONNRESET, "RST seen by buoy", "no ECONNRESET");
	setsockopt(other, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(other);
	wait_in(dst, 2000);
	r = recv(dst, &c, 1, MSG_DONTWAIT);
	check(r < 0 && errno == ECONNRESET, "RST reaches the other end", "no ECONNRESET");
	if (client_first) {
		close(q.a);
		close(q.B);
	} else {
		close(q.A);
		close(q.b);
	}
	check_closed_leaves_maps(&q, "reset sockets leave both sockhashes");
}

/* Bytes queued on both buoy sockets before the insert (client's on a, server's on b). The
 * verdict runs from the socket's data_ready, which the next segment calls: without a kick they
 * wait for it (kick=0 shows that this kernel still needs the kick), with fastpath_add's
 * SO_RCVLOWAT kick they go at the insert. Then later bytes follow in order. */
static void t_early(int kick)
{
	struct quad q;
	tcp_pair(&q.A, &q.a);
	tcp_pair(&q.b, &q.B);
	send(q.A, "early", 5, 0);
	send(q.B, "reply", 5, 0);
	usleep(20000);
	int err = kick ? fastpath_add(fp, q.a, q.b, &q.ca, &q.cb)
		       : fastpath_insert(fp, q.a, q.b, &q.ca, &q.cb);
	check(err == 0, "insert pair", strerror(-err));
	int to_server = wait_in(q.B, 200) != 0, to_client = wait_in(q.A, 0) != 0, inq = -1;
	ioctl(q.a, SIOCINQ, &inq);
	printf("# early kick=%d: forwarded at insert: to server %d, to client %d; buoy's client "
	       "socket: SIOCINQ %d, poll %#x\n",
	       kick, to_server, to_client, inq, wait_in(q.a, 0));
	if (kick) {
		check(to_server && to_client, "queued-before-insert bytes go at the insert (kick)",
		      "they wait for the next segment");
	} else {
		check(!to_server && !to_client, "without the kick they wait (why the kick exists)",
		      "forwarded without a kick: this kernel does not need it any more");
		fastpath_kick(q.a);
		fastpath_kick(q.b);
		check(wait_in(q.B, 200) && wait_in(q.A, 200), "a late kick sends them",
		      "still waiting");
	}
	char buf[16];
	check(recv(q.a, buf, sizeof(buf), MSG_DONTWAIT) < 0 &&
		      recv(q.b, buf, sizeof(buf), MSG_DONTWAIT) < 0,
	      "nothing left for buoy", "bytes left on buoy's sockets");
	send(q.A, "late", 4, 0);
	send(q.B, "more", 4, 0);
	usleep(20000);
	char got[16], back[16];
	ssize_t m = recv(q.B, got, sizeof(got), MSG_DONTWAIT);
	ssize_t r = recv(q.A, back, sizeof(back), MSG_DONTWAIT);
	check(m == 9 && !memcmp(got, "earlylate", 9) && r == 9 && !memcmp(back, "replymore", 9),
	      "then the kernel path, in order", "out of order or missing");
	quad_close(&q);
	check_closed_leaves_maps(&q, "closed sockets leave both sockhashes");
}

/* A socket that got a FIN since the last read cannot go in (sockhash takes ESTABLISHED
 * only): the insert fails whole, nothing stays in any map, the relay reads on. */
static void t_refused(int client_fin)
{
	struct quad q;
	tcp_pair(&q.A, &q.a);
	tcp_pair(&q.b, &q.B);
	int end = client_fin ? q.A : q.B, mid = client_fin ? q.a : q.b;
	send(end, "x", 1, 0);
	shutdown(end, SHUT_WR);
	usleep(20000);
	int err = fastpath_add(fp, q.a, q.b, &q.ca, &q.cb);
	long t, k, p;
	fastpath_counts(fp, &t, &k, &p);
	char why[96], c[2];
	snprintf(why, sizeof(why), "add %d, targets %ld, socks %ld, peers %ld", err, t, k, p);
	check(err < 0 && err != FASTPATH_ADD_PARTIAL && t == 0 && k == 0 && p == 0,
	      client_fin ? "insert after the client's FIN fails whole"
			 : "insert after the server's FIN fails whole",
	      why);
	check(recv(mid, c, 2, MSG_DONTWAIT) == 1 && c[0] == 'x' && recv(mid, c, 1, MSG_DONTWAIT) == 0,
	      "the relay still reads the byte and the EOF", "lost");
	quad_close(&q);
}

static double now_s(void);

/* Holds n pairs in the maps for `secs` seconds (memory: bpftool map show while it runs). */
static void t_hold(int n, int secs)
{
	struct quad *qs = calloc((size_t)n, sizeof(*qs));
	int in = 0;
	for (; qs && in < n; in++)
		if (quad_open(&qs[in]) != 0)
			break;
	double t0 = now_s();
	long k = fastpath_count(fp);
	printf("# hold: %d pairs in for %d s; fastpath_count %ld in %.0f us\n", in, secs, k,
	       (now_s() - t0) * 1e6);
	sleep((unsigned)secs);
	for (int i = 0; i < in; i++)
		quad_close(&qs[i]);
	free(qs);
	check(in == n, "hold pairs", "an insert failed (open files limit?)");
}

static void t_churn(int n)
{
	double in_bpf = 0;
	for (int i = 0; i < n; i++) {
		struct quad q;
		tcp_pair(&q.A, &q.a);
		tcp_pair(&q.b, &q.B);
		double t0 = now_s();
		if (fastpath_add(fp, q.a, q.b, &q.ca, &q.cb)) {
			check(0, "churn insert", "insert failed");
			return;
		}
		in_bpf += now_s() - t0;
		send(q.A, "x", 1, 0);
		char c;
		wait_in(q.B, 1000);
		recv(q.B, &c, 1, 0);
		uint64_t bytes, passed;
		quad_close(&q); /* first: a live socket never leaves a sockhash */
		t0 = now_s();
		fastpath_del(fp, q.ca, &bytes, &passed);
		fastpath_del(fp, q.cb, &bytes, &passed);
		in_bpf += now_s() - t0;
	}
	char why[96];
	long t, k, p;
	fastpath_counts(fp, &t, &k, &p);
	printf("# churn: %d pairs, insert + delete %.1f us per pair (wall, this thread)\n", n,
	       in_bpf / n * 1e6);
	snprintf(why, sizeof(why), "targets %ld, socks %ld, peers %ld left", t, k, p);
	check(t == 0 && k == 0 && p == 0, "map empty after churn", why);
}

/* ---------- a measurement, not a check ---------- */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Busy CPU time of the whole machine, in seconds (all of /proc/stat's cpu line but idle and
 * iowait): the kernel path's work runs in softirq and kworkers, not in this process. */
static double machine_busy_s(void)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return 0;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		       &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 8)
		return 0;
	unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

/* A user-space relay like buoy's small-message path: poll, recv, send. */
static void user_relay(int a, int b)
{
	char buf[16384];
	struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
	for (;;) {
		if (poll(p, 2, -1) < 0)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			ssize_t n = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				_exit(0);
			if (n > 0 && send(p[1 - i].fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
				_exit(1);
		}
	}
}

static void t_direct(int n)
{
	int A, B, one = 1;
	tcp_pair(&A, &B);
	setsockopt(A, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(B, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	char req[100], resp[100];
	memset(req, 'q', sizeof(req));
	double t0 = now_s(), c0 = machine_busy_s();
	for (int i = 0; i < n; i++) {
		send(A, req, sizeof(req), 0);
		recv(B, resp, sizeof(resp), MSG_WAITALL);
		send(B, resp, sizeof(resp), 0);
		recv(A, req, sizeof(req), MSG_WAITALL);
	}
	double dt = now_s() - t0, dc = machine_busy_s() - c0;
	printf("# pingpong direct: %d round trips, %.0f per s, %.1f us each, machine CPU %.1f us "
	       "each\n",
	       n, n / dt, dt / n * 1e6, dc / n * 1e6);
	close(A);
	close(B);
}

/* 256 MiB one way through the kernel path or the user relay: MB/s and machine CPU per GB. */
static void t_bulk(int kernel)
{
	struct quad q;
	tcp_pair(&q.A, &q.a);
	tcp_pair(&q.b, &q.B);
	pid_t child = -1;
	if (kernel) {
		fastpath_add(fp, q.a, q.b, &q.ca, &q.cb);
	} else {
		child = fork();
		if (child == 0)
			user_relay(q.a, q.b);
	}
	pid_t reader = fork();
	if (reader == 0) {
		static char sink[1 << 16];
		while (recv(q.B, sink, sizeof(sink), 0) > 0)
			;
		_exit(0);
	}
	close(q.B);
	static char src[1 << 16];
	size_t total = 256u << 20, sent = 0;
	double t0 = now_s(), c0 = machine_busy_s();
	while (sent < total) {
		ssize_t m = send(q.A, src, sizeof(src), MSG_NOSIGNAL);
		if (m <= 0)
			break;
		sent += (size_t)m;
	}
	shutdown(q.A, SHUT_WR);
	if (kernel) {
		/* buoy's job at FIN, simplified: wait until the pair is idle, then pass it on */
		while (wait_in(q.a, 100) == 0)
			;
		struct fp_peer v;
		for (int i = 0; i < 1000; i++) {
			fastpath_read(fp, q.ca, &v);
			int outq = 0;
			ioctl(q.b, SIOCOUTQ, &outq);
			if (v.bytes == sent && outq == 0)
				break;
			usleep(1000);
		}
		shutdown(q.b, SHUT_WR);
	} else {
		waitpid(child, NULL, 0); /* the relay exits at the client's EOF */
		child = -1;
		shutdown(q.b, SHUT_WR);
	}
	waitpid(reader, NULL, 0);
	double dt = now_s() - t0, dc = machine_busy_s() - c0;
	printf("# bulk %s: %zu MiB, %.0f MB/s, machine CPU %.2f s per GB\n", kernel ? "kernel" : "user",
	       sent >> 20, (double)sent / dt / 1e6, dc / ((double)sent / 1e9));
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	close(q.A);
	close(q.a);
	close(q.b);
}

/* n request/response round trips of 100 bytes through the kernel path or a user-space relay. */
static void t_pingpong(int n, int kernel)
{
	struct quad q;
	tcp_pair(&q.A, &q.a);
	tcp_pair(&q.b, &q.B);
	int one = 1;
	setsockopt(q.A, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(q.B, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(q.a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(q.b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pid_t child = -1;
	if (kernel) {
		fastpath_add(fp, q.a, q.b, &q.ca, &q.cb);
	} else {
		child = fork();
		if (child == 0)
			user_relay(q.a, q.b);
	}
	char req[100], resp[100];
	memset(req, 'q', sizeof(req));
	double t0 = now_s(), c0 = machine_busy_s();
	int ok = 1;
	for (int i = 0; i < n && ok; i++) {
		ok = send(q.A, req, sizeof(req), 0) == sizeof(req) &&
		     recv(q.B, resp, sizeof(resp), MSG_WAITALL) == sizeof(resp) &&
		     send(q.B, resp, sizeof(resp), 0) == sizeof(resp) &&
		     recv(q.A, req, sizeof(req), MSG_WAITALL) == sizeof(req);
	}
	double dt = now_s() - t0, dc = machine_busy_s() - c0;
	printf("# pingpong %s: %d round trips, %.0f per s, %.1f us each, machine CPU %.1f us each\n",
	       kernel ? "kernel" : "user", n, n / dt, dt / n * 1e6, dc / n * 1e6);
	check(ok, kernel ? "pingpong through the kernel path" : "pingpong through user space",
	      "a round trip failed");
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	quad_close(&q);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	const char *why = "";
	setvbuf(stdout, NULL, _IOLBF, 0);
	int err = fastpath_open(&fp, &why);
	if (err) {
		printf("skip: %s (%s)\n", why, strerror(-err));
		return 77;
	}
	int all = !strcmp(what, "all");
	if (all || !strcmp(what, "transfer"))
		t_transfer();
	if (all || !strcmp(what, "halfclose")) {
		t_halfclose(1);
		t_halfclose(0);
	}
	if (all || !strcmp(what, "rst")) {
		t_rst(1);
		t_rst(0);
	}
	if (all || !strcmp(what, "early"))
		t_early(1);
	if (all || !strcmp(what, "early-nokick"))
		t_early(0);
	if (all || !strcmp(what, "refused")) {
		t_refused(1);
		t_refused(0);
	}
	if (all || !strcmp(what, "churn"))
		t_churn(argc > 2 ? atoi(argv[2]) : 1000);
	if (!strcmp(what, "hold"))
		t_hold(argc > 2 ? atoi(argv[2]) : 1000, argc > 3 ? atoi(argv[3]) : 5);
	if (!strcmp(what, "pingpong")) {
		int n = argc > 2 ? atoi(argv[2]) : 20000;
		t_pingpong(n, 0);
		t_pingpong(n, 1);
		t_direct(n);
	}
	if (!strcmp(what, "bulk")) {
		t_bulk(0);
		t_bulk(1);
	}
	fastpath_close(fp);
	return failures ? 1 : 0;
}
