#include "sync/tickler.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/grow.h"
#include "core/log.h"
#include "netlink/vip.h"
#include "sync/tickle.h"

struct tickle_round {
	struct sync_tuple *v;
	size_t n, cap, next; /* targets sent from `next` on once `due` has come */
	uint64_t due;
	bool handover;
	struct ip_addr *local_wait; /* IPv6 addresses to be routed here before the first tickle */
	size_t n_local_wait;
	uint64_t local_deadline;
	bool waited;
};

static void round_free(struct tickle_round *r)
{
	if (r) {
		free(r->v);
		free(r->local_wait);
	}
	free(r);
}

struct tickle_round *tickle_round_new(uint64_t due, bool handover)
{
	struct tickle_round *r = calloc(1, sizeof(*r));
	if (r) {
		r->due = due;
		r->handover = handover;
	}
	return r;
}

void tickle_round_wait_local(struct tickle_round *r, const struct ip_addr *vips, size_t n, uint64_t deadline)
{
	free(r->local_wait);
	r->n_local_wait = 0;
	r->local_deadline = deadline;
	if (!n || !(r->local_wait = calloc(n, sizeof(*r->local_wait))))
		return;
	for (size_t i = 0; i < n; i++)
		if (vips[i].family == AF_INET6)
			r->local_wait[r->n_local_wait++] = vips[i];
}

void tickle_round_collect(void *round, const struct sync_tuple *t)
{
	struct tickle_round *r = round;
	if (grow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v)))
		r->v[r->n++] = *t;
}

size_t tickle_round_len(const struct tickle_round *r) { return r ? r->n : 0; }

static int open_raw(int family)
{
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -1;
	int buf = 1 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	return fd;
}

static void arm_tick(struct tickler *t)
{
	uint64_t due = UINT64_MAX;
	for (size_t i = 0; i < t->n_rounds; i++)
		if (t->rounds[i]->due < due)
			due = t->rounds[i]->due;
	uint64_t now = loop_now(t->loop);
	if (due == UINT64_MAX)
		timer_cancel(t->loop, &t->tick);
	else
		timer_arm(t->loop, &t->tick, due > now ? due : now);
}

static void send_tickle(struct tickler *tk, const struct sync_tuple *t)
{
	uint8_t pkt[TICKLE_IPV6_LEN];
	struct sockaddr_storage ss;
	socklen_t sl = ip_addr_to_sockaddr(&t->client, 0, &ss);
	size_t len = 0;
	int fd = -1;
	if (t->vip.family == AF_INET) {
		len = tickle_build_ipv4(pkt, sizeof(pkt), &t->vip, t->vport, &t->client, t->cport);
		fd = tk->raw4;
	} else {
		len = tickle_build_ipv6(pkt, sizeof(pkt), &t->vip, t->vport, &t->client, t->cport);
		fd = tk->raw6;
	}
	if (!len || fd < 0 || sendto(fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0) {
		tk->errors_total++;
		return;
	}
	tk->sent_total++;
}

/* True once every IPv6 address the round waits for is routed here, or the wait is over. */
static bool round_ready(struct tickle_round *r, uint64_t now)
{
	while (r->n_local_wait) {
		if (vip_is_local(&r->local_wait[r->n_local_wait - 1]) != 0) { /* or cannot tell */
			r->n_local_wait--;
		} else if (now < r->local_deadline) {
			r->waited = true;
			return false;
		} else {
			log_warn("sync tickles", "vip_routed=no waited_ms=%d", TICKLE_LOCAL_WAIT_MS);
			r->n_local_wait = 0;
			return true;
		}
	}
	if (r->waited)
		log_info("sync tickles", "vip_routed=yes waited_ms=%llu",
			 (unsigned long long)(now + TICKLE_LOCAL_WAIT_MS - r->local_deadline));
	r->waited = false;
	return true;
}

static void on_tick(struct loop *l, struct timer *tm)
{
	struct tickler *t = tm->arg;
	uint64_t now = loop_now(l);
	uint64_t budget = (uint64_t)t->rate * TICKLE_TICK_MS / 1000;
	if (!budget)
		budget = 1;
	bool more = false;
	for (size_t i = 0; i < t->n_rounds;) {
		struct tickle_round *r = t->rounds[i];
		if (r->due <= now && !round_ready(r, now)) {
			more = true;
			i++;
			continue;
		}
		while (r->due <= now && budget && r->next < r->n) {
			send_tickle(t, &r->v[r->next++]);
			t->pending--;
			budget--;
		}
		if (r->next == r->n) {
			round_free(r);
			t->rounds[i] = t->rounds[--t->n_rounds];
			continue;
		}
		more |= r->due <= now;
		i++;
	}
	if (more)
		timer_arm_in(l, tm, TICKLE_TICK_MS);
	else
		arm_tick(t);
}

void tickler_add(struct tickler *t, struct tickle_round *r)
{
	if (!r)
		return;
	struct tickle_round *again = r->n ? tickle_round_new(r->due + TICKLE_AGAIN_MS, r->handover) : NULL;
	if (again && (again->v = malloc(r->n * sizeof(*r->v)))) {
		memcpy(again->v, r->v, r->n * sizeof(*r->v));
		again->n = again->cap = r->n;
	} else {
		round_free(again);
		again = NULL;
	}
	struct tickle_round *add[2] = { r, again };
	for (int i = 0; i < 2; i++) {
		if (!add[i])
			continue;
		if (!add[i]->n ||
		    !grow((void **)&t->rounds, &t->cap_rounds, t->n_rounds + 1, sizeof(*t->rounds))) {
			round_free(add[i]);
			continue;
		}
		t->rounds[t->n_rounds++] = add[i];
		t->pending += add[i]->n;
	}
	arm_tick(t);
}

bool tickler_busy(const struct tickler *t)
{
	for (size_t i = 0; i < t->n_rounds; i++)
		if (t->rounds[i]->handover)
			return true;
	return false;
}

bool tickler_can(const struct tickler *t, int family)
{
	return (family == AF_INET ? t->raw4 : t->raw6) >= 0;
}

int tickler_open(struct tickler *t, struct loop *l, bool v4, bool v6, uint32_t rate)
{
	memset(t, 0, sizeof(*t));
	t->loop = l;
	t->rate = rate;
	t->raw4 = t->raw6 = -1;
	timer_init(&t->tick, on_tick, t);
	if ((v4 && (t->raw4 = open_raw(AF_INET)) < 0) || (v6 && (t->raw6 = open_raw(AF_INET6)) < 0)) {
		int e = errno;
		tickler_close(t);
		errno = e;
		return -1;
	}
	return 0;
}

void tickler_close(struct tickler *t)
{
	if (t->loop)
		timer_cancel(t->loop, &t->tick);
	if (t->raw4 >= 0)
		close(t->raw4);
	if (t->raw6 >= 0)
		close(t->raw6);
	t->raw4 = t->raw6 = -1;
	for (size_t i = 0; i < t->n_rounds; i++)
		round_free(t->rounds[i]);
	free(t->rounds);
	t->rounds = NULL;
	t->n_rounds = t->cap_rounds = 0;
	t->pending = 0;
}
