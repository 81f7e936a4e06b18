/* UDP listeners (protocol: udp), the shell around the pure session table (udp_session.h), as
 * nginx stream proxies UDP. Worker threads only, except udp_listen_socket (main thread).
 *
 * Each worker owns one SO_REUSEPORT socket per UDP listener (the kernel hashes a client's
 * address and port to one of them, so a session lives in one worker) and, per listener, a
 * session table. A client's first datagram picks a server with the backend's balancer
 * (worker_pick: `source` keeps a client on one server) and opens a socket connected to it, of the
 * session's own; its later datagrams go there, and what the server sends back goes to the client
 * from the listener's socket (the VIP; on a wildcard bind, from the address the client sent to,
 * by IP_PKTINFO). recvmmsg reads both sides in batches; a run of datagrams of one session goes
 * out in one sendmmsg. Nothing is buffered: what cannot be sent at once is dropped and counted.
 *
 * A session ends after udp_idle_timeout without a datagram either way, after proxy_responses
 * replies per datagram, on an ICMP port unreachable from its server, or when its server is out
 * (health, passive, drained; a reload removed it) at the client's next datagram, which then
 * picks again (unless every server is out: the balancer fails open and the session stays). Passive
 * failures: an ICMP port unreachable; a session ending idle still waiting for replies the user
 * said to expect (proxy_responses > 0).
 *
 * Memory: the table is capped at max_sessions per worker and sessions across workers at
 * max_sessions (listener_stats.udp_sessions_active); a new client beyond it is dropped and counted
 * (UDP_DROP_SESSION_CAP), so a spoofed-source flood costs at most that. */
#ifndef BUOY_UDP_H
#define BUOY_UDP_H
#include <stdint.h>

#include "proxy/conn.h"

/* A bound, non-blocking UDP socket for the listener (SO_REUSEPORT, FREEBIND; IP_PKTINFO on a
 * wildcard). -1 with errno on error. */
int udp_listen_socket(const struct cfg_listener *lc);
/* The listening socket's epoll callback (listen_sock.io.cb for a UDP listener). */
void udp_on_readable(struct loop *l, struct io *io, uint32_t events);
/* The worker closes the listener's socket: its sessions end now. */
void udp_listen_close(struct listen_sock *ls);
/* worker_destroy: the worker's batch buffers. */
void udp_worker_free(struct worker *w);

#endif
