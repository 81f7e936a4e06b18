#include "core/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"

#define KEPT_CAPS ((1ULL << CAP_NET_ADMIN) | (1ULL << CAP_NET_RAW) | (1ULL << CAP_NET_BIND_SERVICE))

uint64_t privdrop_kept_caps(void) { return KEPT_CAPS; }

/* The highest capability this kernel knows; the bounding set must be cut up to it. */
static int cap_last(void)
{
	int last = CAP_LAST_CAP;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last > 63 ? 63 : last;
}

/* glibc has no capset() wrapper; the raw syscall sets the calling thread only. */
static int set_caps(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)prm, .inheritable = (uint32_t)inh },
		{ .effective = (uint32_t)(eff >> 32),
		  .permitted = (uint32_t)(prm >> 32),
		  .inheritable = (uint32_t)(inh >> 32) },
	};
	return (int)syscall(SYS_capset, &h, d);
}

static int get_caps(uint64_t *eff, uint64_t *prm)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	*eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	*prm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	return 0;
}

static int fail(const char *step, const char *user)
{
	log_error("privilege drop failed", "user=%s step=%s reason=\"%s\"", user, step, strerror(errno));
	return -1;
}

/* Bounding set first (needs CAP_SETPCAP, which goes away with root). */
static int cut_bounding_set(void)
{
	int last = cap_last();
	for (int c = 0; c <= last; c++)
		if (!(KEPT_CAPS & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return -1;
	return 0;
}

/* Switch ids keeping the permitted set (KEEPCAPS, this thread only), then narrow it. The
 * setres[ug]id/setgroups wrappers apply to every thread (glibc); threads without KEEPCAPS lose
 * all capabilities on the uid change, which is what the workers should have. */
static int switch_ids(const char *user, uid_t uid, gid_t gid)
{
	if (cut_bounding_set() < 0)
		return fail("bounding set", user);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail("keepcaps", user);
	if (setgroups(1, &gid) < 0)
		return fail("setgroups", user);
	if (setresgid(gid, gid, gid) < 0)
		return fail("setresgid", user);
	if (setresuid(uid, uid, uid) < 0)
		return fail("setresuid", user);
	if (set_caps(KEPT_CAPS, KEPT_CAPS, 0) < 0)
		return fail("capset", user);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return 0;
}

/* Trust, but verify: root must not be reachable again, and the set must be exactly ours. */
static int verify(const char *user, uid_t uid)
{
	uint64_t eff = 0, prm = 0;
	if (get_caps(&eff, &prm) < 0)
		return fail("capget", user);
	if (eff != KEPT_CAPS || prm != KEPT_CAPS) {
		errno = EPERM;
		return fail("capabilities not as expected", user);
	}
	if (getuid() != uid || geteuid() != uid || setuid(0) == 0) {
		errno = EPERM;
		return fail("root still reachable", user);
	}
	return 0;
}

int privdrop_apply(const char *user)
{
	if (!user)
		return 0;
	struct passwd pw, *res = NULL;
	char buf[4096];
	int e = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (e != 0 || !res) {
		errno = e ? e : ENOENT;
		return fail("user lookup", user);
	}
	if (geteuid() != 0) {
		if (geteuid() == pw.pw_uid)
			return 0; /* started as that user already (systemd User=, a container) */
		errno = EPERM;
		return fail("not root", user);
	}
	if (pw.pw_uid == 0) {
		log_warn("user is root: privileges not dropped", "user=%s", user);
		return 0;
	}
	if (switch_ids(user, pw.pw_uid, pw.pw_gid) < 0 || verify(user, pw.pw_uid) < 0)
		return -1;
	log_info("privileges dropped", "user=%s uid=%u gid=%u caps=net_admin,net_raw,net_bind_service",
		 user, (unsigned)pw.pw_uid, (unsigned)pw.pw_gid);
	return 0;
}
