/* The kernel fast path (issue 21, experimental, off by default): once a connection's relay is
 * quiet, its client and server sockets go into a BPF sockhash whose stream verdict redirects
 * each socket's incoming bytes to its peer's egress. buoy then only watches for FIN, RST and
 * timeouts (proxy/worker_fp.c). See docs/fastpath.md for what the kernel does.
 *
 * Layers: fp_* pure helpers (no syscalls; unit-tested), then the shell: fastpath_open loads
 * libbpf (dlopen: the daemon does not link it) and through it the program (no pinning:
 * everything dies with the process); fastpath_add and fastpath_del put a pair in and take it
 * out. Thread-safe: the maps are kernel objects, each call is a bpf() syscall.
 * Returns: 0 or -errno. */
#ifndef BUOY_FASTPATH_H
#define BUOY_FASTPATH_H
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "proxy/fastpath_key.h"

/* Pairs the maps hold; the proxy keeps fewer than this in the kernel path at once, so an
 * insert never fails for room. */
#define FASTPATH_MAX_PAIRS (FP_MAX_SOCKETS / 2 - 64)

/* The two peers entries of a pair: each socket's bytes go to the other. */
void fp_pair_entries(uint64_t client_cookie, uint64_t server_cookie, struct fp_peer *client,
		     struct fp_peer *server);

/* Bytes counted by the program since the last fold: delta from a counter reading and what was
 * already taken (a counter never goes back; a smaller reading means a new entry: all of it). */
uint64_t fp_bytes_delta(uint64_t now, uint64_t *taken);

/* A FIN seen on one socket may be forwarded (shutdown(SHUT_WR) of its peer) only once every
 * byte the program redirected has reached the peer's send queue: a redirected skb waits in the
 * peer's psock backlog until a kernel worker writes it, a shutdown before that can lose it.
 * written_base: the peer's bytes written (tcpi_bytes_acked + SIOCOUTQ) at insertion;
 * written_now: the same now; redirected: the source's program count. */
bool fp_fin_ready(uint64_t written_base, uint64_t written_now, uint64_t redirected);

/* Whether a start with `mode`, given the load result (0 or -errno), serves through the fast
 * path (1), the relay (0), or must fail (-1). */
int fp_start_decision(enum cfg_fast_path mode, int load_result);

struct fastpath;

/* Loads libbpf and the program and attaches it; *why gets a static reason on failure
 * ("libbpf.so.1 not found", "BPF refused ...": no CAP_BPF/CAP_NET_ADMIN or a seccomp filter). */
int fastpath_open(struct fastpath **out, const char **why);
void fastpath_close(struct fastpath *fp);
/* Inserts a pair whose sockets the caller read dry, then kicks both (fastpath_kick).
 * Order: both peers entries, both sockets into fp_targets (no program), then the server
 * socket, then the client socket into fp_socks (the verdict): no byte can meet a peer that is
 * not a target yet. Each map holds FP_MAX_SOCKETS; the caller keeps at most
 * FASTPATH_MAX_PAIRS pairs in, so no insert fails for room.
 * Results, and what the pair is then:
 *   0: in; *ccookie, *scookie set. The caller watches for FIN/RST only, close()s the sockets
 *      (that takes them out of both sockhashes), then fastpath_del()s both cookies.
 *   -errno: nothing of the pair is in any map, no byte moved: the relay goes on. E.g.
 *      -EOPNOTSUPP when a socket left ESTABLISHED (a FIN came since the last read), -ENOMEM.
 *   FASTPATH_ADD_PARTIAL: the server socket is in fp_socks and may have redirected bytes, the
 *      client socket is not; neither may leave a sockhash alive (its psock's queued bytes
 *      would go), so there is no undo. fastpath_add already deleted both peers entries and set
 *      SO_LINGER 0 on both sockets: the caller must close() both without reading or writing
 *      again (the ends see a reset, not a clean end), and never calls fastpath_del for them. */
#define FASTPATH_ADD_PARTIAL (-100000)
int fastpath_add(struct fastpath *fp, int cfd, int sfd, uint64_t *ccookie, uint64_t *scookie);
/* fastpath_add without the kicks: same results. For fastpath_probe, which shows with it that
 * the kick is needed; buoy calls fastpath_add. */
int fastpath_insert(struct fastpath *fp, int cfd, int sfd, uint64_t *ccookie, uint64_t *scookie);
/* Runs the verdict over bytes already in fd's receive queue (SO_RCVLOWAT 1: the kernel calls
 * the socket's data_ready). Without it they wait for the next segment. */
void fastpath_kick(int fd);
/* Takes one socket's entries out (after close(): a live socket's psock may hold bytes);
 * *bytes, *passed: what the program counted for it. */
int fastpath_del(struct fastpath *fp, uint64_t cookie, uint64_t *bytes, uint64_t *passed);
/* Reads one socket's counters without removing it. */
int fastpath_read(struct fastpath *fp, uint64_t cookie, struct fp_peer *out);
/* Sockets in the targets map (walks the keys, one bpf() call each; tests and status). */
long fastpath_count(struct fastpath *fp);
/* Entries in each map (walks all three; tests). */
void fastpath_counts(struct fastpath *fp, long *targets, long *socks, long *peers);
uint64_t fastpath_cookie(int fd);
/* Bytes ever written into fd's send queue, as far as TCP can tell (acked + still queued). */
uint64_t fastpath_written(int fd);

#endif
