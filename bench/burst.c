/* Connection burst for bench.sh: opens N TCP connections to HOST:PORT as fast as possible, sends
 * one HTTP request on each and times connect() -> first response byte. All connections stay
 * open until every one is answered (or the deadline passes), so the proxy really holds N at once.
 *   burst HOST PORT N TIMEOUT_MS  ->  "BURST <served> <p50_ms> <p99_ms> <max_ms>"
 * A deliberately tiny epoll client: the measure must not be the client's own scheduling. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char REQ[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

struct conn {
	int fd;
	int state;
	double t0, dt;
}; /* state 0 connecting, 1 sent, 2 done, 3 failed */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Advances one connection; returns 1 when it has just finished (answered or failed). */
static int on_event(int ep, struct conn *c, uint32_t ev)
{
	if (c->state == 0) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || (ev & EPOLLERR) || send(c->fd, REQ, sizeof(REQ) - 1, MSG_NOSIGNAL) < 0) {
			c->state = 3;
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			return 1;
		}
		c->state = 1;
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
	} else if (c->state == 1) {
		char buf[512];
		ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
		if (r > 0) {
			c->dt = now_ms() - c->t0;
			c->state = 2;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->state = 3;
		}
		if (c->state >= 2) {
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: burst HOST PORT N TIMEOUT_MS\n");
		return 2;
	}
	int n = atoi(argv[3]);
	double deadline = now_ms() + atof(argv[4]);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (n <= 0 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "burst: bad arguments\n");
		return 2;
	}
	struct conn *c = calloc((size_t)n, sizeof(*c));
	int ep = epoll_create1(0);
	int pending = 0;
	for (int i = 0; i < n; i++) {
		c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		c[i].state = 3;
		if (c[i].fd < 0)
			continue;
		c[i].t0 = now_ms();
		if (connect(c[i].fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
			continue;
		c[i].state = 0;
		struct epoll_event e = { .events = EPOLLOUT, .data.ptr = &c[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &e);
		pending++;
	}
	struct epoll_event evs[256];
	while (pending > 0 && now_ms() < deadline) {
		int k = epoll_wait(ep, evs, 256, 100);
		for (int j = 0; j < k; j++) {
			pending -= on_event(ep, evs[j].data.ptr, evs[j].events);
		}
	}
	double *t = calloc((size_t)n, sizeof(*t));
	int served = 0;
	for (int i = 0; i < n; i++)
		if (c[i].state == 2)
			t[served++] = c[i].dt;
	qsort(t, (size_t)served, sizeof(*t), cmp_double);
	if (served)
		printf("BURST %d %.2f %.2f %.2f\n", served, t[served / 2],
		       t[(size_t)(0.99 * (served - 1))], t[served - 1]);
	else
		printf("BURST 0 nan nan nan\n");
	for (int i = 0; i < n; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	return 0;
}
