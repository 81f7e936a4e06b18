/* The kernel fast path: pure helpers and the libbpf shell. See fastpath.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "proxy/fastpath.h"
#include "fastpath.skel.h"

/* ---------- pure ---------- */

int fp_mode_parse(const char *s)
{
	if (!strcmp(s, "off"))
		return FP_OFF;
	if (!strcmp(s, "auto"))
		return FP_AUTO;
	if (!strcmp(s, "sockmap"))
		return FP_SOCKMAP;
	return -1;
}

const char *fp_mode_name(enum fp_mode m)
{
	return m == FP_AUTO ? "auto" : m == FP_SOCKMAP ? "sockmap" : "off";
}

void fp_pair_entries(uint64_t client_cookie, uint64_t server_cookie, struct fp_peer *client,
		     struct fp_peer *server)
{
	*client = (struct fp_peer){ .peer = server_cookie };
	*server = (struct fp_peer){ .peer = client_cookie };
}

uint64_t fp_bytes_delta(uint64_t now, uint64_t *taken)
{
	uint64_t d = now >= *taken ? now - *taken : now;
	*taken = now;
	return d;
}

bool fp_fin_ready(uint64_t written_base, uint64_t written_now, uint64_t redirected)
{
	return written_now >= written_base && written_now - written_base >= redirected;
}

int fp_start_decision(enum fp_mode mode, int load_result)
{
	if (mode == FP_OFF)
		return 0;
	if (load_result == 0)
		return 1;
	return mode == FP_SOCKMAP ? -1 : 0;
}

/* ---------- the shell ---------- */

struct fastpath {
	struct fastpath_bpf *skel;
	int socks_fd, peers_fd, prog_fd;
};

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0; /* buoy logs one line of its own */
}

int fastpath_open(struct fastpath **out, const char **why)
{
	*out = NULL;
	libbpf_set_print(silent_print);
	struct fastpath *fp = calloc(1, sizeof(*fp));
	if (!fp) {
		*why = "out of memory";
		return -ENOMEM;
	}
	fp->skel = fastpath_bpf__open();
	if (!fp->skel) {
		*why = "cannot open the BPF object";
		free(fp);
		return -errno ? -errno : -EINVAL;
	}
	int err = fastpath_bpf__load(fp->skel);
	if (err) {
		*why = err == -EPERM || err == -EACCES
			       ? "BPF refused (no CAP_BPF/CAP_NET_ADMIN, or "
				 "a seccomp profile)"
			       : "the BPF program did not load";
		fastpath_bpf__destroy(fp->skel);
		free(fp);
		return err;
	}
	fp->socks_fd = bpf_map__fd(fp->skel->maps.fp_socks);
	fp->peers_fd = bpf_map__fd(fp->skel->maps.fp_peers);
	fp->prog_fd = bpf_program__fd(fp->skel->progs.fp_verdict);
	if (bpf_prog_attach(fp->prog_fd, fp->socks_fd, BPF_SK_SKB_STREAM_VERDICT, 0) < 0) {
		err = -errno;
		*why = "cannot attach the stream verdict to the sockhash";
		fastpath_bpf__destroy(fp->skel);
		free(fp);
		return err;
	}
	*out = fp;
	return 0;
}

void fastpath_close(struct fastpath *fp)
{
	if (!fp)
		return;
	fastpath_bpf__destroy(fp->skel); /* closes the maps and the program: nothing stays */
	free(fp);
}

uint64_t fastpath_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len) < 0)
		return 0;
	return c;
}

int fastpath_add(struct fastpath *fp, int cfd, int sfd, uint64_t *ccookie, uint64_t *scookie)
{
	uint64_t cc = fastpath_cookie(cfd), sc = fastpath_cookie(sfd);
	if (!cc || !sc)
		return -EINVAL;
	struct fp_peer pc, ps;
	fp_pair_entries(cc, sc, &pc, &ps);
	uint32_t cv = (uint32_t)cfd, sv = (uint32_t)sfd;
	if (bpf_map_update_elem(fp->peers_fd, &cc, &pc, BPF_NOEXIST) < 0)
		return -errno;
	if (bpf_map_update_elem(fp->peers_fd, &sc, &ps, BPF_NOEXIST) < 0)
		goto fail_peers;
	if (bpf_map_update_elem(fp->socks_fd, &sc, &sv, BPF_NOEXIST) < 0)
		goto fail_socks;
	if (bpf_map_update_elem(fp->socks_fd, &cc, &cv, BPF_NOEXIST) < 0)
		goto fail_sock_s;
	*ccookie = cc;
	*scookie = sc;
	return 0;
fail_sock_s:;
	int err = -errno;
	bpf_map_delete_elem(fp->socks_fd, &sc);
	bpf_map_delete_elem(fp->peers_fd, &sc);
	bpf_map_delete_elem(fp->peers_fd, &cc);
	return err;
fail_socks:
	err = -errno;
	bpf_map_delete_elem(fp->peers_fd, &sc);
	bpf_map_delete_elem(fp->peers_fd, &cc);
	return err;
fail_peers:
	err = -errno;
	bpf_map_delete_elem(fp->peers_fd, &cc);
	return err;
}

int fastpath_read(struct fastpath *fp, uint64_t cookie, struct fp_peer *out)
{
	return bpf_map_lookup_elem(fp->peers_fd, &cookie, out) < 0 ? -errno : 0;
}

int fastpath_del(struct fastpath *fp, uint64_t cookie, uint64_t *bytes, uint64_t *passed)
{
	struct fp_peer v = { 0 };
	int err = fastpath_read(fp, cookie, &v);
	*bytes = v.bytes;
	*passed = v.passed;
	bpf_map_delete_elem(fp->socks_fd, &cookie); /* closing the socket does it too */
	bpf_map_delete_elem(fp->peers_fd, &cookie);
	return err;
}

long fastpath_count(struct fastpath *fp)
{
	uint64_t key, next;
	long n = 0;
	void *prev = NULL;
	while (bpf_map_get_next_key(fp->socks_fd, prev, &next) == 0) {
		n++;
		key = next;
		prev = &key;
	}
	return n;
}

uint64_t fastpath_written(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int outq = 0;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || ioctl(fd, SIOCOUTQ, &outq) < 0)
		return 0;
	return ti.tcpi_bytes_acked + (uint64_t)outq;
}
