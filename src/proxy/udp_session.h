/* UDP sessions, pure: the table a worker keeps per UDP listener, keyed by the client's address
 * and port. No sockets, no clock: time is an argument. One worker thread owns a table.
 *
 * Memory is bounded by construction: `cap` entries of a fixed size, allocated once and never
 * moved (callers keep parallel arrays indexed like it), touched only as they are first used, so
 * a flood of spoofed sources costs at most cap entries; an insert beyond cap is refused and
 * counted (full_total). A session carries no payload: datagrams are forwarded, never buffered.
 *
 * Sessions end (the caller removes them) when idle for the listener's udp_idle_timeout
 * (udp_table_next_expired, oldest first: an LRU list makes each expiry O(1)) or when the replies
 * a user expects have come (nginx's proxy_responses: udp_table_on_reply says so).
 * Return convention: indices, UDP_SESS_NONE for "none". */
#ifndef BUOY_UDP_SESSION_H
#define BUOY_UDP_SESSION_H
#include <stdbool.h>
#include <stdint.h>

#include "core/inet.h"

#define UDP_SESS_NONE UINT32_MAX
#define UDP_SESS_MAX_CAP (1u << 24) /* entries per table */

struct udp_sess {
	struct ip_addr addr; /* the client */
	uint16_t port;       /* the client's, host order */
	bool used;
	/* links are index + 1, so that zeroed (untouched) memory reads "none" */
	uint32_t hnext;        /* hash chain, or free list when unused */
	uint32_t lprev, lnext; /* LRU list, least recently active first */
	uint64_t last_active;  /* ms */
	uint64_t requests;     /* datagrams from the client */
	uint64_t replies;      /* datagrams from the server */
};

struct udp_table {
	struct udp_sess *v; /* cap entries */
	uint32_t *heads;    /* buckets (power of two), index + 1 */
	uint32_t mask;
	uint32_t cap, n;
	uint32_t hw;        /* entries [hw, cap) were never used */
	uint32_t free_head; /* index + 1 */
	uint32_t lru_head, lru_tail;
	uint64_t seed;       /* per process: a client cannot aim at one bucket */
	uint64_t full_total; /* inserts refused at cap */
};

/* cap 1..UDP_SESS_MAX_CAP. 0, or -1 (bad cap, out of memory). */
int udp_table_init(struct udp_table *t, uint32_t cap, uint64_t seed);
void udp_table_free(struct udp_table *t);

uint32_t udp_table_find(const struct udp_table *t, const struct ip_addr *a, uint16_t port);
/* A new session (not already present: callers find first), active at now with no datagram
 * counted yet. UDP_SESS_NONE at cap (full_total counts it). */
uint32_t udp_table_insert(struct udp_table *t, const struct ip_addr *a, uint16_t port, uint64_t now);
void udp_table_remove(struct udp_table *t, uint32_t i);

/* A datagram from the client, at now. */
void udp_table_on_request(struct udp_table *t, uint32_t i, uint64_t now);
/* A datagram from the server, at now. True when the session is done: proxy_responses > 0 and
 * every request has had that many replies (nginx: the expected responses came). */
bool udp_table_on_reply(struct udp_table *t, uint32_t i, uint64_t now, uint32_t proxy_responses);
/* The least recently active session if it has been idle idle_ms or more at now, else NONE.
 * Callers remove it and ask again. */
uint32_t udp_table_next_expired(const struct udp_table *t, uint64_t now, uint64_t idle_ms);
/* A session that ends by expiry still waiting for replies the user said to expect: the server
 * did not answer (a passive failure). Never with proxy_responses 0 (syslog: no reply is normal). */
bool udp_sess_unanswered(const struct udp_sess *s, uint32_t proxy_responses);

static inline struct udp_sess *udp_table_at(struct udp_table *t, uint32_t i) { return &t->v[i]; }

#endif
