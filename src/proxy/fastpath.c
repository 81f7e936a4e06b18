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

#include <dlfcn.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

#include <bpf/libbpf.h> /* types only: the functions come through dlopen */

#include "proxy/fastpath.h"
#include "fastpath.skel.h"

/* ---------- pure ---------- */

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

int fp_start_decision(enum cfg_fast_path mode, int load_result)
{
	if (mode == CFG_FAST_PATH_OFF)
		return 0;
	if (load_result == 0)
		return 1;
	return mode == CFG_FAST_PATH_SOCKMAP ? -1 : 0;
}

/* ---------- the shell ---------- */

/* libbpf is loaded only when fast_path asks for it (dlopen): the daemon does not link it, so a
 * host or image without libbpf1 still runs buoy, and the relay. It does what only it does
 * well: parse the ELF, relocate and load the program, create the maps. The map updates and
 * the attach are single bpf(2) calls, made directly. */
struct libbpf {
	void *dl;
	libbpf_print_fn_t (*set_print)(libbpf_print_fn_t fn);
	struct bpf_object *(*open_mem)(const void *buf, size_t sz, const struct bpf_object_open_opts *opts);
	int (*load)(struct bpf_object *obj);
	void (*close)(struct bpf_object *obj);
	struct bpf_map *(*find_map)(const struct bpf_object *obj, const char *name);
	struct bpf_program *(*find_prog)(const struct bpf_object *obj, const char *name);
	int (*map_fd)(const struct bpf_map *map);
	int (*prog_fd)(const struct bpf_program *prog);
};

struct fastpath {
	struct libbpf lib;
	struct bpf_object *obj;
	int socks_fd, targets_fd, peers_fd, prog_fd;
};

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0; /* buoy logs one line of its own */
}

static int lib_open(struct libbpf *l)
{
	l->dl = dlopen("libbpf.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!l->dl)
		return -1;
	struct {
		void **fn;
		const char *name;
	} syms[] = {
		{ (void **)&l->set_print, "libbpf_set_print" },
		{ (void **)&l->open_mem, "bpf_object__open_mem" },
		{ (void **)&l->load, "bpf_object__load" },
		{ (void **)&l->close, "bpf_object__close" },
		{ (void **)&l->find_map, "bpf_object__find_map_by_name" },
		{ (void **)&l->find_prog, "bpf_object__find_program_by_name" },
		{ (void **)&l->map_fd, "bpf_map__fd" },
		{ (void **)&l->prog_fd, "bpf_program__fd" },
	};
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (!(*syms[i].fn = dlsym(l->dl, syms[i].name))) {
			dlclose(l->dl);
			l->dl = NULL;
			return -1;
		}
	return 0;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int map_update(int fd, const void *key, const void *value, uint64_t flags)
{
	union bpf_attr a = {
		.map_fd = (uint32_t)fd,
		.key = (uint64_t)(uintptr_t)key,
		.value = (uint64_t)(uintptr_t)value,
		.flags = flags
	};
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0 ? -errno : 0;
}

static int map_lookup(int fd, const void *key, void *value)
{
	union bpf_attr a = {
		.map_fd = (uint32_t)fd, .key = (uint64_t)(uintptr_t)key, .value = (uint64_t)(uintptr_t)value
	};
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) < 0 ? -errno : 0;
}

static void map_delete(int fd, const void *key)
{
	union bpf_attr a = { .map_fd = (uint32_t)fd, .key = (uint64_t)(uintptr_t)key };
	sys_bpf(BPF_MAP_DELETE_ELEM, &a);
}

static int map_next_key(int fd, const void *key, void *next)
{
	union bpf_attr a = {
		.map_fd = (uint32_t)fd, .key = (uint64_t)(uintptr_t)key, .next_key = (uint64_t)(uintptr_t)next
	};
	return sys_bpf(BPF_MAP_GET_NEXT_KEY, &a) < 0 ? -errno : 0;
}

static void fp_free(struct fastpath *fp)
{
	if (fp->obj)
		fp->lib.close(fp->obj); /* closes the maps and the program: nothing stays */
	if (fp->lib.dl)
		dlclose(fp->lib.dl);
	free(fp);
}

static int fail(struct fastpath *fp, const char **why, const char *msg, int err)
{
	*why = msg;
	fp_free(fp);
	return err < 0 ? err : -EINVAL;
}

int fastpath_open(struct fastpath **out, const char **why)
{
	*out = NULL;
	struct fastpath *fp = calloc(1, sizeof(*fp));
	if (!fp) {
		*why = "out of memory";
		return -ENOMEM;
	}
	if (lib_open(&fp->lib) < 0)
		return fail(fp, why, "libbpf.so.1 not found (install libbpf1)", -ENOENT);
	fp->lib.set_print(silent_print);
	size_t sz = 0;
	const void *elf = fastpath_bpf__elf_bytes(&sz);
	fp->obj = fp->lib.open_mem(elf, sz, NULL);
	if (!fp->obj)
		return fail(fp, why, "cannot open the BPF object", -errno);
	int err = fp->lib.load(fp->obj);
	if (err)
		return fail(fp, why,
			    err == -EPERM || err == -EACCES
				    ? "BPF refused (no CAP_BPF/CAP_NET_ADMIN, or a seccomp profile)"
				    : "the BPF program did not load",
			    err);
	struct bpf_map *socks = fp->lib.find_map(fp->obj, "fp_socks");
	struct bpf_map *targets = fp->lib.find_map(fp->obj, "fp_targets");
	struct bpf_map *peers = fp->lib.find_map(fp->obj, "fp_peers");
	struct bpf_program *prog = fp->lib.find_prog(fp->obj, "fp_verdict");
	if (!socks || !targets || !peers || !prog)
		return fail(fp, why, "the BPF object lacks a map or the program", -ENOENT);
	fp->socks_fd = fp->lib.map_fd(socks);
	fp->targets_fd = fp->lib.map_fd(targets);
	fp->peers_fd = fp->lib.map_fd(peers);
	fp->prog_fd = fp->lib.prog_fd(prog);
	union bpf_attr a = {
		.target_fd = (uint32_t)fp->socks_fd,
		.attach_bpf_fd = (uint32_t)fp->prog_fd,
		.attach_type = BPF_SK_SKB_STREAM_VERDICT
	};
	if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
		return fail(fp, why, "cannot attach the stream verdict to the sockhash", -errno);
	*out = fp;
	return 0;
}

void fastpath_close(struct fastpath *fp)
{
	if (fp)
		fp_free(fp);
}

uint64_t fastpath_cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len) < 0)
		return 0;
	return c;
}

/* Takes a pair's peers and targets entries out: only while neither socket is in fp_socks, so
 * no byte was redirected and the targets' psocks hold nothing. */
static void pair_rollback(struct fastpath *fp, uint64_t cc, uint64_t sc)
{
	map_delete(fp->targets_fd, &cc);
	map_delete(fp->targets_fd, &sc);
	map_delete(fp->peers_fd, &cc);
	map_delete(fp->peers_fd, &sc);
}

/* A pair half in fp_socks: bytes may have moved and its sockets cannot leave the maps alive.
 * Their close() must reset (SO_LINGER 0): a FIN would tell the ends that all arrived. */
static int pair_partial(struct fastpath *fp, int cfd, int sfd, uint64_t cc, uint64_t sc)
{
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(cfd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	setsockopt(sfd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	/* the peers entries are not the psock's: deleting them is safe, and the caller has no
	 * cookies to delete them with */
	map_delete(fp->peers_fd, &cc);
	map_delete(fp->peers_fd, &sc);
	return FASTPATH_ADD_PARTIAL;
}

int fastpath_insert(struct fastpath *fp, int cfd, int sfd, uint64_t *ccookie, uint64_t *scookie)
{
	uint64_t cc = fastpath_cookie(cfd), sc = fastpath_cookie(sfd);
	if (!cc || !sc)
		return -EINVAL;
	struct fp_peer pc, ps;
	fp_pair_entries(cc, sc, &pc, &ps);
	uint32_t cv = (uint32_t)cfd, sv = (uint32_t)sfd;
	int err;
	if ((err = map_update(fp->peers_fd, &cc, &pc, BPF_NOEXIST)) < 0)
		return err;
	/* a socket past ESTABLISHED (a FIN came since the last read) fails with EOPNOTSUPP here */
	if ((err = map_update(fp->peers_fd, &sc, &ps, BPF_NOEXIST)) < 0 ||
	    (err = map_update(fp->targets_fd, &cc, &cv, BPF_NOEXIST)) < 0 ||
	    (err = map_update(fp->targets_fd, &sc, &sv, BPF_NOEXIST)) < 0 ||
	    (err = map_update(fp->socks_fd, &sc, &sv, BPF_NOEXIST)) < 0) {
		pair_rollback(fp, cc, sc);
		return err;
	}
	/* the server socket redirects from here on: no way back */
	if (map_update(fp->socks_fd, &cc, &cv, BPF_NOEXIST) < 0)
		return pair_partial(fp, cfd, sfd, cc, sc);
	*ccookie = cc;
	*scookie = sc;
	return 0;
}

void fastpath_kick(int fd)
{
	/* tcp_set_rcvlowat() calls tcp_data_ready(), which is the verdict's data_ready once the
	 * socket is in fp_socks: bytes queued before the insert go now, not with the next
	 * segment. 1 is TCP's default low-water mark: nothing else changes. */
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
}

int fastpath_add(struct fastpath *fp, int cfd, int sfd, uint64_t *ccookie, uint64_t *scookie)
{
	int err = fastpath_insert(fp, cfd, sfd, ccookie, scookie);
	if (err < 0)
		return err;
	fastpath_kick(sfd);
	fastpath_kick(cfd);
	return 0;
}

int fastpath_read(struct fastpath *fp, uint64_t cookie, struct fp_peer *out)
{
	return map_lookup(fp->peers_fd, &cookie, out);
}

int fastpath_del(struct fastpath *fp, uint64_t cookie, uint64_t *bytes, uint64_t *passed)
{
	struct fp_peer v = { 0 };
	int err = fastpath_read(fp, cookie, &v);
	*bytes = v.bytes;
	*passed = v.passed;
	map_delete(fp->socks_fd, &cookie); /* closing the socket does it too */
	map_delete(fp->targets_fd, &cookie);
	map_delete(fp->peers_fd, &cookie);
	return err;
}

static long map_count(int fd)
{
	uint64_t key, next;
	long n = 0;
	void *prev = NULL;
	while (map_next_key(fd, prev, &next) == 0) {
		n++;
		key = next;
		prev = &key;
	}
	return n;
}

long fastpath_count(struct fastpath *fp) { return map_count(fp->targets_fd); }

void fastpath_counts(struct fastpath *fp, long *targets, long *socks, long *peers)
{
	*targets = map_count(fp->targets_fd);
	*socks = map_count(fp->socks_fd);
	*peers = map_count(fp->peers_fd);
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
