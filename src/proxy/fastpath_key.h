/* What buoy and its sockmap verdict program share (src/bpf/fastpath.bpf.c): the value of the
 * peers map, keyed by a socket's cookie (SO_COOKIE). Plain fixed-width types only: this header
 * is compiled for the BPF target too. */
#ifndef BUOY_FASTPATH_KEY_H
#define BUOY_FASTPATH_KEY_H

/* Sockets each map holds (a pair is two): the proxy caps pairs in the kernel path below half.
 * Measured (bpftool memlock, 6.18): 4 MiB of buckets per map whatever the load, then 56 B per
 * sockhash entry and 88 B per peers entry; 131 008 pairs fill them at about 62 MiB. */
#define FP_MAX_SOCKETS 262144

/* peers[cookie of a socket] = where its incoming bytes go, and how many went there */
struct fp_peer {
	unsigned long long peer;   /* the cookie of the socket its bytes are redirected to */
	unsigned long long bytes;  /* bytes redirected from this socket (counted by the program) */
	unsigned long long passed; /* bytes the program left on this socket (peer not in the map
	                            * yet): buoy reads them with recv() and forwards them itself */
};

#endif
