/* The byte pump: moves bytes between two connected, non-blocking sockets, full duplex and
 * half-close aware. Small messages go through recv/send and a scratch buffer, bulk through
 * zero-copy splice() and pooled pipes. It knows nothing of servers, backends or workers: each
 * call returns a verdict and only the caller acts on it (closes, counts, logs).
 *
 * The caller registers both fds edge-triggered for EPOLLIN | EPOLLOUT | EPOLLRDHUP and passes
 * every event on; a pump runs until its source is drained (EAGAIN, or a short read when no FIN
 * is pending) or its destination says EAGAIN. */
#ifndef BUOY_RELAY_H
#define BUOY_RELAY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_SCRATCH (16u * 1024)

enum relay_verdict {
	RELAY_GOING, /* more to come: wait for the next event */
	RELAY_DONE,  /* both directions ended with a FIN, every byte delivered */
	RELAY_RESET, /* a socket failed (reset, error) or memory ran out */
};

/* What relays of one thread share: free pipes and the recv buffer for small messages. */
struct relay_pool {
	struct {
		int r, w;
	} * pipes;
	size_t n_pipes, cap_pipes;
	char *scratch; /* RELAY_SCRATCH bytes */
};

/* One direction: bytes read from its source, parked in a pipe or buffer, written to its
 * destination. */
struct relay_half {
	int pipe_r, pipe_w; /* -1 when no pipe is held (idle connections hold none) */
	uint32_t in_pipe;   /* bytes parked in the pipe */
	bool eof;           /* source saw FIN */
	bool done;          /* FIN forwarded (shutdown(SHUT_WR) on the destination) */
	bool bulk;          /* splice mode; small messages go through recv/send */
	bool fin_pending;   /* RDHUP seen on the source: read to EOF, trust no short read */
	bool drained;       /* source read to EAGAIN or a short read, no readable edge since */
	uint32_t buf_off, buf_len; /* bytes a slow destination has not taken yet */
	char *buf;
	uint64_t bytes; /* delivered, not yet taken by relay_take_bytes */
};

struct relay {
	struct relay_pool *pool;
	int cfd, sfd; /* client and server sockets; sfd is -1 until relay_start */
	struct relay_half c2s, s2c;
};

int relay_pool_init(struct relay_pool *rp, size_t max_pipes);
void relay_pool_free(struct relay_pool *rp);

/* A relay for client socket cfd that holds nothing yet. */
void relay_init(struct relay *r, struct relay_pool *rp, int cfd);
/* Right after accept: takes what the client already sent, so the server connect can carry the
 * handshake's last ACK on that data. Returns 1 if the client closed before sending anything,
 * -1 if the client socket failed, 0 otherwise. */
int relay_early_read(struct relay *r);
/* Bytes from the client wait to go out (read at accept, or parked). */
static inline bool relay_client_spoke(const struct relay *r)
{
	return r->c2s.buf_len || r->c2s.in_pipe;
}
/* Starts relaying to server socket sfd. client_ev: the client's events seen since accept;
 * server_ev: the event that reported the connect (it may carry data already). */
enum relay_verdict relay_start(struct relay *r, int sfd, uint32_t client_ev, uint32_t server_ev);
/* An epoll event on cfd (from_client) or sfd. */
enum relay_verdict relay_on_event(struct relay *r, bool from_client, uint32_t ev);
/* Bytes delivered each way since the last call (inline: the worker asks after every event). */
static inline void relay_take_bytes(struct relay *r, uint64_t *to_server, uint64_t *from_server)
{
	*to_server = r->c2s.bytes;
	*from_server = r->s2c.bytes;
	r->c2s.bytes = r->s2c.bytes = 0;
}
/* Both sockets read dry (EAGAIN or a short read), nothing parked, no FIN seen, not in splice
 * mode: the fast path may take the pair over (the kernel then sees every later byte). */
static inline bool relay_half_quiet(const struct relay_half *h)
{
	return h->drained && !h->fin_pending && !h->eof && !h->bulk && !h->buf_len && !h->in_pipe;
}
static inline bool relay_quiet(const struct relay *r)
{
	return relay_half_quiet(&r->c2s) && relay_half_quiet(&r->s2c);
}
/* Gives back pipes and buffers (a pipe still holding bytes is closed, not pooled). The fds
 * stay the caller's. */
void relay_release(struct relay *r);

#endif
