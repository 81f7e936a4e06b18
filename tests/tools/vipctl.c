/* vipctl: drives buoy's node-side VRRP modules (vip, garp, spawn/track, notify) without the
 * daemon, for the integration tests (tests/integration/test_vipnet.py). Run inside a test
 * namespace. Output is one line per fact, flushed at once, for the tests to parse.
 *
 *   vipctl add IF CIDR [LABEL]         add a VIP                         exit 0 / 1
 *   vipctl del IF CIDR                 remove it
 *   vipctl present IF CIDR             exit 0 if present (prints "present PREFIX"), 3 if not
 *   vipctl stale IF CIDR...            remove leftovers, prints "removed N"
 *   vipctl link IF                     prints "up" / "down"
 *   vipctl garp IF REPEAT INTERVAL_MS CIDR...   one burst through garp_announcer, then exit
 *   vipctl monitor MS [restore IF CIDR]         prints events for MS ms; with restore, puts the
 *                                      address back whenever it is deleted (the owner's job)
 *   vipctl script TIMEOUT_MS CMD       runs CMD like a track script, prints "result R status S
 *                                      ms T pgid P"
 *   vipctl notify CMD INSTANCE STATE PRIO       runs a notification, waits for it
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "vrrp/garp.h"
#include "vrrp/notify.h"
#include "core/spawn.h"
#include "netlink/link.h"
#include "netlink/vip.h"

static int usage(void)
{
	fprintf(stderr, "usage: vipctl add|del|present|stale|link|garp|monitor|script|notify ...\n");
	return 2;
}

static int ifindex_or_die(const char *name)
{
	int idx = link_ifindex(name);
	if (idx < 0) {
		fprintf(stderr, "vipctl: no interface %s\n", name);
		exit(1);
	}
	return idx;
}

static struct ip_addr addr_or_die(const char *s)
{
	struct ip_addr a;
	if (ip_addr_parse(s, &a) < 0) {
		fprintf(stderr, "vipctl: bad address %s\n", s);
		exit(2);
	}
	return a;
}

static int report(const char *what, int rc)
{
	if (rc < 0) {
		printf("error %s %s\n", what, strerror(-rc));
		return 1;
	}
	printf("ok %s\n", what);
	return 0;
}

static void stop_cb(struct loop *l, struct timer *t)
{
	(void)t;
	loop_stop(l);
}

static void run_loop_for(struct loop *l, uint64_t ms)
{
	struct timer t;
	timer_init(&t, stop_cb, NULL);
	loop_update_now(l);
	timer_arm_in(l, &t, ms);
	loop_run(l);
	timer_cancel(l, &t);
}

static int cmd_garp(int argc, char **argv)
{
	if (argc < 6)
		return usage();
	int idx = ifindex_or_die(argv[2]);
	struct cfg_garp cfg = {
		.repeat = (uint32_t)atoi(argv[3]), .interval_ms = (uint64_t)atoll(argv[4])
	};
	size_t n = (size_t)(argc - 5);
	struct ip_addr *v = calloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = addr_or_die(argv[5 + i]);
	struct loop *l = loop_new();
	struct garp_announcer g;
	int rc = garp_announcer_init(&g, l, idx, &cfg, v, n);
	if (rc < 0)
		return report("garp", rc);
	garp_announcer_master(&g);
	run_loop_for(l, cfg.repeat * cfg.interval_ms + 50);
	printf("sent %llu errors %llu\n", (unsigned long long)g.frames_sent_total,
	       (unsigned long long)g.send_errors_total);
	garp_announcer_free(&g);
	loop_free(l);
	free(v);
	return 0;
}

struct mon {
	int restore_if;
	struct ip_addr restore;
	int restored;
};

static void on_event(void *arg, const struct vip_event *ev)
{
	struct mon *m = arg;
	char txt[64];
	switch (ev->kind) {
	case VIP_EV_ADDR_DEL:
	case VIP_EV_ADDR_ADD:
		printf("addr %s %s ifindex %d\n", ev->kind == VIP_EV_ADDR_DEL ? "deleted" : "added",
		       ip_addr_format(&ev->addr, IP_FMT_PREFIX, txt, sizeof(txt)), ev->ifindex);
		if (ev->kind == VIP_EV_ADDR_DEL && m->restore_if == ev->ifindex &&
		    ip_addr_equal(&ev->addr, &m->restore)) {
			int rc = vip_add(ev->ifindex, &m->restore, NULL);
			printf("restore %s %s\n",
			       ip_addr_format(&m->restore, IP_FMT_PREFIX, txt, sizeof(txt)),
			       rc < 0 ? strerror(-rc) : "ok");
		}
		break;
	case VIP_EV_LINK:
		printf("link %d %s %s%s\n", ev->ifindex, ev->ifname, ev->link_up ? "up" : "down",
		       ev->link_gone ? " gone" : "");
		break;
	case VIP_EV_RESYNC: printf("resync\n"); break;
	}
	fflush(stdout);
}

static int cmd_monitor(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	struct mon m = { 0 };
	if (argc >= 6 && strcmp(argv[3], "restore") == 0) {
		m.restore_if = ifindex_or_die(argv[4]);
		m.restore = addr_or_die(argv[5]);
	}
	struct loop *l = loop_new();
	struct vip_monitor mon;
	int rc = vip_monitor_open(&mon, l, on_event, &m);
	if (rc < 0)
		return report("monitor", rc);
	printf("ready\n");
	fflush(stdout);
	run_loop_for(l, (uint64_t)atoll(argv[2]));
	vip_monitor_close(&mon, l);
	loop_free(l);
	return 0;
}

struct wait_child {
	bool done;
	enum spawn_result r;
	int status;
};

static void child_done(struct child *c, enum spawn_result r, int status, void *arg)
{
	(void)c;
	struct wait_child *w = arg;
	w->done = true;
	w->r = r;
	w->status = status;
	loop_stop(c->loop);
}

static int cmd_script(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	char why[256];
	if (spawn_command_secure(argv[3], why, sizeof(why)) < 0) {
		printf("refused %s\n", why);
		return 1;
	}
	struct spawn_user u;
	spawn_user_lookup(NULL, &u);
	struct loop *l = loop_new();
	struct child c;
	struct wait_child w = { 0 };
	uint64_t t0 = mono_ms();
	int rc = child_spawn_shell(l, &c, argv[3], NULL, 0, &u, (uint64_t)atoll(argv[2]), child_done, &w);
	if (rc < 0)
		return report("spawn", rc);
	printf("pgid %d\n", c.pid);
	fflush(stdout);
	run_loop_for(l, (uint64_t)atoll(argv[2]) + SPAWN_KILL_GRACE_MS + 5000);
	static const char *names[] = { "exited", "signaled", "timeout", "failed" };
	printf("result %s status %d ms %llu\n", w.done ? names[w.r] : "running", w.status,
	       (unsigned long long)(mono_ms() - t0));
	child_abort(&c);
	loop_free(l);
	return 0;
}

static int cmd_notify(int argc, char **argv)
{
	if (argc < 6)
		return usage();
	struct loop *l = loop_new();
	struct notifier *n = notifier_new(l, argv[2], NULL);
	int rc = notifier_run(n, argv[3], argv[4], (unsigned)atoi(argv[5]));
	if (rc < 0)
		return report("notify", rc);
	for (int i = 0; i < 100 && notifier_running(n); i++)
		run_loop_for(l, 50);
	printf("runs %llu failures %llu\n", (unsigned long long)notifier_runs_total(n),
	       (unsigned long long)notifier_failures_total(n));
	notifier_free(n);
	loop_free(l);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	if (!strcmp(cmd, "add") && argc >= 4) {
		struct ip_addr a = addr_or_die(argv[3]);
		return report("add", vip_add(ifindex_or_die(argv[2]), &a, argc > 4 ? argv[4] : NULL));
	}
	if (!strcmp(cmd, "del") && argc >= 4) {
		struct ip_addr a = addr_or_die(argv[3]);
		return report("del", vip_del(ifindex_or_die(argv[2]), &a));
	}
	if (!strcmp(cmd, "present") && argc >= 4) {
		struct ip_addr a = addr_or_die(argv[3]);
		uint8_t prefix = 0;
		int p = vip_present(ifindex_or_die(argv[2]), &a, &prefix);
		if (p < 0)
			return report("present", p);
		if (p)
			printf("present %u\n", prefix);
		else
			printf("absent\n");
		return p ? 0 : 3;
	}
	if (!strcmp(cmd, "stale") && argc >= 4) {
		int idx = ifindex_or_die(argv[2]);
		size_t n = (size_t)(argc - 3);
		struct ip_addr *v = calloc(n, sizeof(*v));
		for (size_t i = 0; i < n; i++)
			v[i] = addr_or_die(argv[3 + i]);
		int r = vip_remove_stale(idx, v, n);
		free(v);
		if (r < 0)
			return report("stale", r);
		printf("removed %d\n", r);
		return 0;
	}
	if (!strcmp(cmd, "link") && argc >= 3) {
		int up = link_is_up(ifindex_or_die(argv[2]));
		if (up < 0)
			return report("link", up);
		printf("%s\n", up ? "up" : "down");
		return 0;
	}
	if (!strcmp(cmd, "garp"))
		return cmd_garp(argc, argv);
	if (!strcmp(cmd, "monitor"))
		return cmd_monitor(argc, argv);
	if (!strcmp(cmd, "script"))
		return cmd_script(argc, argv);
	if (!strcmp(cmd, "notify"))
		return cmd_notify(argc, argv);
	return usage();
}
