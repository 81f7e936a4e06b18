/* The fast path's stream verdict (issue 21): bytes arriving on a socket of the sockhash go
 * straight to its peer's egress, without waking buoy. Built with clang -target bpf; buoy loads
 * the skeleton's ELF bytes with libbpf, through dlopen (src/proxy/fastpath.c). No pinning: the
 * maps and the program live as long as buoy's file descriptors. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "proxy/fastpath_key.h"

/* Two sockhashes: fp_socks carries the verdict (its sockets' bytes are redirected), fp_targets
 * none (where bytes may go). buoy puts both sockets of a pair in fp_targets first, then in
 * fp_socks: no byte can meet a peer that is not a target yet. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, FP_MAX_SOCKETS);
	__type(key, unsigned long long); /* socket cookie */
	__type(value, unsigned int);     /* fd, from user space */
} fp_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, FP_MAX_SOCKETS);
	__type(key, unsigned long long);
	__type(value, unsigned int);
} fp_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_SOCKETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, unsigned long long);
	__type(value, struct fp_peer);
} fp_peers SEC(".maps");

SEC("sk_skb/stream_verdict")
int fp_verdict(struct __sk_buff *skb)
{
	/* A bare FIN comes as an empty skb. Its FIN is already in the socket's state (buoy reads
	 * the EOF and passes it on). The skb itself must go: redirected, the peer's psock sends 0
	 * bytes and takes that for a broken pipe (EPIPE, its redirects stop); passed, it may queue
	 * behind bytes waiting for this socket's egress, with the same end for this socket. */
	if (skb->len == 0)
		return SK_DROP;
	unsigned long long cookie = bpf_get_socket_cookie(skb);
	struct fp_peer *p = bpf_map_lookup_elem(&fp_peers, &cookie);
	if (!p)
		return SK_PASS;
	/* a socket that once kept bytes for buoy keeps all later ones too: nothing redirected
	 * may overtake bytes buoy has still to forward (it happens only when the peer left the
	 * targets: closed or reset; buoy then resets the pair) */
	if (p->passed == 0 && bpf_sk_redirect_hash(skb, &fp_targets, &p->peer, 0) == SK_PASS) {
		__sync_fetch_and_add(&p->bytes, skb->len);
		return SK_PASS;
	}
	__sync_fetch_and_add(&p->passed, skb->len);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Apache-2.0"; /* the project's; no GPL-only helper is used */
