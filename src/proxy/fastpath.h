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
/* Inserts a pair whose sockets the caller read dry: peers entries, both sockets into the
 * targets map, then into the verdict map (no byte can meet a peer that is not a target yet),
 * then wakes each socket's verdict for bytes that came after the last read (SO_RCVLOWAT).
 * 0: in. -errno: nothing was inserted, the relay goes on. FASTPATH_ADD_PARTIAL: one socket
 * may redirect already and cannot be taken out without risk to its bytes: reset the pair. */
#define FASTPATH_ADD_PARTIAL (-100000)
int fastpath_add(struct fastpath *fp, int cfd, int sfd, uint64_t *ccookie, uint64_t *scookie);
/* Takes one socket's entries out (after close(): a live socket's psock may hold bytes);
 * *bytes, *passed: what the program counted for it. */
int fastpath_del(struct fastpath *fp, uint64_t cookie, uint64_t *bytes, uint64_t *passed);
/* Reads one socket's counters without removing it. */
int fastpath_read(struct fastpath *fp, uint64_t cookie, struct fp_peer *out);
/* Sockets in the targets map (walks the keys, one bpf() call each; tests and status). */
long fastpath_count(struct fastpath *fp);
uint64_t fastpath_cookie(int fd);
/* Bytes ever written into fd's send queue, as far as TCP can tell (acked + still queued). */
uint64_t fastpath_written(int fd);

#endif
