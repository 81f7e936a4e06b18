/* UDP load for bench/udp_bench.sh, on loopback only.
 *
 *   udpblast echo PORT SECONDS
 *       an origin: echoes every datagram to 127.0.0.1:PORT back to its sender (recvmmsg /
 *       sendmmsg batches), for SECONDS, then exits.
 *   udpblast blast PORT CLIENTS WINDOW SECONDS SIZE
 *       closed-loop load on 127.0.0.1:PORT: CLIENTS sockets (one source port each, so one proxy
 *       session each), each keeping WINDOW datagrams of SIZE bytes in flight and sending one
 *       more per reply. A socket without a reply for 200 ms counts its window as lost and sends
 *       a new one. Prints: sent= replies= lost= seconds= dps= loss=
 *
 * Closed loop: the rate is what the proxy sustains, and loss stays near zero for every proxy
 * (an open-loop blaster would measure mostly socket-buffer overflow). Bounded by SECONDS. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXSZ 2048
#define STALL_MS 200

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int echo(int port, int seconds)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = loopback(port);
	int big = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("bind");
		return 1;
	}
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	static char buf[BATCH][MAXSZ];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in from[BATCH];
	uint64_t end = now_ms() + (uint64_t)seconds * 1000;
	while (now_ms() < end) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], MAXSZ };
			m[i].msg_hdr = (struct msghdr){
				.msg_name = &from[i],
				.msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i],
				.msg_iovlen = 1
			};
		}
		int n = recvmmsg(fd, m, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		sendmmsg(fd, m, (unsigned)n, 0);
	}
	return 0;
}

struct client {
	int fd;
	uint32_t outstanding;
	uint64_t last_reply;
};

static uint64_t sent, replies, lost;

static void send_n(struct client *c, uint32_t n, const char *payload, size_t size)
{
	struct mmsghdr m[BATCH];
	struct iovec iov = { (void *)payload, size };
	while (n) {
		uint32_t k = n < BATCH ? n : BATCH;
		for (uint32_t i = 0; i < k; i++)
			m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1 };
		int r = sendmmsg(c->fd, m, k, MSG_DONTWAIT);
		if (r <= 0)
			return; /* the stall check refills it */
		sent += (uint64_t)r;
		c->outstanding += (uint32_t)r;
		n -= (uint32_t)r;
	}
}

static int blast(int port, int nclients, int window, int seconds, int size)
{
	if (nclients < 1 || window < 1 || size < 1 || size > MAXSZ) {
		fprintf(stderr, "blast: bad arguments\n");
		return 2;
	}
	static char payload[MAXSZ], buf[BATCH][MAXSZ];
	memset(payload, 'x', sizeof(payload));
	struct client *cl = calloc((size_t)nclients, sizeof(*cl));
	int ep = epoll_create1(0);
	struct sockaddr_in dst = loopback(port);
	for (int i = 0; i < nclients; i++) {
		cl[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (cl[i].fd < 0 || connect(cl[i].fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			perror("socket");
			return 1;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cl[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev);
	}
	uint64_t t0 = now_ms(), end = t0 + (uint64_t)seconds * 1000, last_check = t0;
	for (int i = 0; i < nclients; i++) {
		cl[i].last_reply = t0;
		send_n(&cl[i], (uint32_t)window, payload, (size_t)size);
	}
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	struct epoll_event evs[256];
	uint64_t now;
	while ((now = now_ms()) < end) {
		int ne = epoll_wait(ep, evs, 256, 50);
		for (int e = 0; e < ne; e++) {
			struct client *c = evs[e].data.ptr;
			for (int i = 0; i < BATCH; i++) {
				iov[i] = (struct iovec){ buf[i], MAXSZ };
				m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
			}
			int n = recvmmsg(c->fd, m, BATCH, MSG_DONTWAIT, NULL);
			if (n <= 0)
				continue;
			replies += (uint64_t)n;
			c->outstanding = c->outstanding > (uint32_t)n ? c->outstanding - (uint32_t)n : 0;
			c->last_reply = now;
			send_n(c, (uint32_t)n, payload, (size_t)size);
		}
		if (now - last_check >= STALL_MS) {
			last_check = now;
			for (int i = 0; i < nclients; i++)
				if (now - cl[i].last_reply >= STALL_MS) {
					lost += cl[i].outstanding;
					cl[i].outstanding = 0;
					cl[i].last_reply = now;
					send_n(&cl[i], (uint32_t)window, payload, (size_t)size);
				}
		}
	}
	double secs = (double)(now_ms() - t0) / 1000.0;
	printf("sent=%llu replies=%llu lost=%llu seconds=%.2f dps=%.0f loss=%.5f\n",
	       (unsigned long long)sent, (unsigned long long)replies, (unsigned long long)lost,
	       secs, (double)replies / secs, sent ? (double)lost / (double)sent : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "echo"))
		return echo(atoi(argv[2]), atoi(argv[3]));
	if (argc == 7 && !strcmp(argv[1], "blast"))
		return blast(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
	fprintf(stderr, "usage: udpblast echo PORT SECONDS | blast PORT CLIENTS WINDOW SECONDS SIZE\n");
	return 2;
}
