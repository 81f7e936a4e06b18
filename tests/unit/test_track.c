/* Trackers: the effective-priority table (keepalived semantics), rise/fall sequences, and the
 * shell around them: script trackers on a real loop (exit codes, timeout killing the whole
 * process group, script security), interface and backend trackers, change callbacks. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"
#include "vrrp/notify.h"
#include "core/spawn.h"
#include "track/track.h"

#define U TRACK_UP
#define D TRACK_DOWN
#define I TRACK_INIT

struct prio_case {
	const char *what;
	uint8_t base;
	size_t n;
	struct track_input in[4];
	uint8_t want_prio;
	bool want_fault;
	bool want_unfit;
};

static const struct prio_case prio_cases[] = {
	{ "no trackers", 100, 0, { { 0 } }, 100, false, false },
	{ "weight 0 up", 100, 1, { { 0, U, false } }, 100, false, false },
	{ "weight 0 down faults", 100, 1, { { 0, D, false } }, 100, true, false },
	{ "weight 0 init faults", 100, 1, { { 0, I, false } }, 100, true, false },
	{ "positive up adds", 100, 1, { { 20, U, false } }, 120, false, false },
	{ "positive down adds nothing", 100, 1, { { 20, D, false } }, 100, false, false },
	{ "positive init adds nothing", 100, 1, { { 20, I, false } }, 100, false, false },
	{ "negative down subtracts", 100, 1, { { -30, D, false } }, 70, false, false },
	{ "negative up subtracts nothing", 100, 1, { { -30, U, false } }, 100, false, false },
	{ "negative init subtracts nothing", 100, 1, { { -30, I, false } }, 100, false, false },
	{ "sum of several", 100, 3, { { 10, U, false }, { -20, D, false }, { 5, U, false } }, 95, false, false },
	{ "mixed, one fault", 100, 3, { { 10, U, false }, { 0, D, false }, { -5, D, false } }, 105, true, false },
	{ "clamp high", 200, 2, { { 50, U, false }, { 40, U, false } }, 254, false, false },
	{ "clamp exactly 254", 204, 1, { { 50, U, false } }, 254, false, false },
	{ "clamp low", 50, 2, { { -40, D, false }, { -40, D, false } }, 1, false, false },
	{ "clamp low exactly 1", 41, 1, { { -40, D, false } }, 1, false, false },
	{ "clamp way low", 10, 1, { { -254, D, false } }, 1, false, false },
	{ "base 254 + positive stays 254", 254, 1, { { 1, U, false } }, 254, false, false },
	{ "base 1 - negative stays 1", 1, 1, { { -1, D, false } }, 1, false, false },
	{ "255 ignores positive", 255, 1, { { 10, U, false } }, 255, false, false },
	{ "255 ignores negative", 255, 1, { { -100, D, false } }, 255, false, false },
	{ "255 still faults on weight 0", 255, 1, { { 0, D, false } }, 255, true, false },
	{ "huge weights do not wrap",
	  100,
	  4,
	  { { 2000000000, U, false },
	    { 2000000000, U, false },
	    { 2000000000, U, false },
	    { 2000000000, U, false } },
	  254,
	  false,
	  false },
	{ "huge negative do not wrap",
	  100,
	  2,
	  { { -2000000000, D, false }, { -2000000000, D, false } },
	  1,
	  false,
	  false },
	{ "backup drops below peer", 110, 1, { { -20, D, false } }, 90, false, false },
	{ "all ok, all counted",
	  100,
	  4,
	  { { 1, U, false }, { 2, U, false }, { 3, U, false }, { 0, U, false } },
	  106,
	  false,
	  false },
	/* soft (backend, not strict): unfit, never fault */
	{ "soft down is unfit", 100, 1, { { 0, D, true } }, 100, false, true },
	{ "soft init is unfit", 100, 1, { { 0, I, true } }, 100, false, true },
	{ "soft up is fit", 100, 1, { { 0, U, true } }, 100, false, false },
	{ "soft and hard down", 100, 2, { { 0, D, true }, { 0, D, false } }, 100, true, true },
	{ "soft down, weights still count", 100, 2, { { 0, D, true }, { -30, D, false } }, 70, false, true },
	{ "255 soft down is unfit", 255, 1, { { 0, D, true } }, 255, false, true },
};

static void test_effective_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(prio_cases) / sizeof(prio_cases[0]); i++) {
		const struct prio_case *c = &prio_cases[i];
		struct track_result r = track_effective(c->base, c->in, c->n);
		if (r.priority != c->want_prio || r.fault != c->want_fault || r.unfit != c->want_unfit)
			fail_msg("%s: got prio %u fault %d unfit %d, want %u %d %d", c->what, r.priority,
				 r.fault, r.unfit, c->want_prio, c->want_fault, c->want_unfit);
	}
}

/* Feeds a string of results ('1' ok, '0' fail) and checks the state after each ("UDI"). */
static void rf_seq(uint32_t rise, uint32_t fall, const char *results, const char *want)
{
	struct track_rf rf = { 0 };
	assert_int_equal(strlen(results), strlen(want));
	for (size_t i = 0; results[i]; i++) {
		enum track_state before = rf.state;
		bool changed = track_rf_update(&rf, results[i] == '1', rise, fall);
		char got = rf.state == TRACK_UP ? 'U' : rf.state == TRACK_DOWN ? 'D' : 'I';
		if (got != want[i] || changed != (before != rf.state))
			fail_msg("rise %u fall %u results %s: step %zu got %c want %c", rise, fall,
				 results, i, got, want[i]);
	}
}

static void test_rise_fall(void **state)
{
	(void)state;
	rf_seq(1, 1, "1010", "UDUD");
	rf_seq(2, 2, "1", "U"); /* first result decides at once */
	rf_seq(2, 2, "0", "D");
	rf_seq(2, 2, "10011", "UUDDU");
	rf_seq(3, 2, "0110111", "DDDDDDU");
	rf_seq(2, 3, "1000", "UUUD");
	rf_seq(2, 3, "10010001", "UUUUUUDD");
	rf_seq(0, 0, "1010", "UDUD"); /* 0 behaves as 1 */
	rf_seq(5, 1, "01111011111", "DDDDDDDDDDU");
	rf_seq(1, 4, "1000100001", "UUUUUUUUDU");
}

static void test_rf_changed_flag(void **state)
{
	(void)state;
	struct track_rf rf = { 0 };
	assert_true(track_rf_update(&rf, true, 2, 2));
	assert_false(track_rf_update(&rf, true, 2, 2));
	assert_false(track_rf_update(&rf, false, 2, 2));
	assert_true(track_rf_update(&rf, false, 2, 2));
	assert_false(track_rf_update(&rf, false, 2, 2));
}

/* ---- the shell, on a real loop ---- */

struct watch {
	struct loop *loop;
	int changes;
	struct track_result last;
	uint64_t deadline;
};

static void on_change(void *arg, struct track_result r)
{
	struct watch *w = arg;
	w->changes++;
	w->last = r;
}

static void stop_timer(struct loop *l, struct timer *t)
{
	(void)t;
	loop_stop(l);
}

/* Runs the loop for ms milliseconds (bounded). */
static void run_for(struct loop *l, uint64_t ms)
{
	struct timer t;
	timer_init(&t, stop_timer, NULL);
	loop_update_now(l);
	timer_arm_in(l, &t, ms);
	loop_run(l);
	timer_cancel(l, &t);
}

/* A script as config builds it (rise/fall 1, weight 0 unless given), run every interval_ms and
 * given as long (the loader's timeout defaults to the interval). */
static struct cfg_track_script script(const char *name, const char *cmd, uint64_t interval_ms, int32_t weight)
{
	struct cfg_track_script s;
	cfg_track_script_defaults(&s);
	s.name = (char *)name;
	s.command = (char *)cmd;
	s.interval_ms = s.timeout_ms = interval_ms;
	s.weight = weight;
	return s;
}

static struct cfg_vrrp vrrp_with_scripts(struct cfg_track_script *s, size_t n, uint8_t prio)
{
	struct cfg_vrrp v = { 0 };
	v.name = "vi";
	v.priority = prio;
	v.track_scripts = s;
	v.n_track_scripts = n;
	return v;
}

static void test_script_tracker_results(void **state)
{
	(void)state;
	struct loop *l = loop_new();
	struct cfg_track_script s[2] = {
		script("ok", "/bin/true", 50, 10),
		script("bad", "/bin/false", 50, -30),
	};
	struct cfg_vrrp v = vrrp_with_scripts(s, 2, 100);
	struct watch w = { .loop = l };
	struct track_set_params p = track_params_vrrp(&v, "root");
	p.on_change = on_change;
	p.arg = &w;
	struct track_set *ts = track_set_new(l, &p);
	assert_non_null(ts);
	assert_int_equal(track_set_result(ts).priority, 100); /* both init: nothing applied */
	run_for(l, 400);
	struct track_result r = track_set_result(ts);
	assert_int_equal(r.priority, 80);
	assert_false(r.fault);
	assert_true(w.changes >= 1);
	assert_int_equal(w.last.priority, 80);
	assert_true(track_set_get(ts, 0)->runs_total >= 3); /* it keeps running */
	track_set_free(ts);
	loop_free(l);
}

/* A reload rebuilds the set: an unchanged weight-0 script keeps its UP state (no Fault until
 * its next run), a changed command starts from INIT. */
static void test_inherit_across_reload(void **state)
{
	(void)state;
	struct loop *l = loop_new();
	struct cfg_track_script s[1] = { script("ok", "/bin/true", 50, 0) };
	struct cfg_vrrp v = vrrp_with_scripts(s, 1, 100);
	struct track_set_params p = track_params_vrrp(&v, "root");
	struct track_set *old = track_set_new(l, &p);
	assert_true(track_set_result(old).fault); /* INIT faults a weight-0 instance */
	run_for(l, 300);
	assert_false(track_set_result(old).fault);
	struct track_set *ts = track_set_new(l, &p);
	assert_true(track_set_result(ts).fault); /* fresh: INIT again */
	track_set_inherit(ts, old);
	assert_false(track_set_result(ts).fault);
	assert_true(track_set_get(ts, 0)->runs_total >= 1);
	track_set_free(ts);
	struct cfg_track_script s2[1] = { s[0] };
	s2[0].command = "/bin/false";
	struct cfg_vrrp v2 = vrrp_with_scripts(s2, 1, 100);
	p = track_params_vrrp(&v2, "root");
	ts = track_set_new(l, &p);
	track_set_inherit(ts, old);
	assert_true(track_set_result(ts).fault); /* another command: nothing inherited */
	track_set_free(ts);
	track_set_free(old);
	loop_free(l);
}

/* Alive and not a zombie (an orphan killed by us waits for init to reap it). */
static bool pid_alive(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] != 'Z';
}

static void test_script_timeout_kills_group(void **state)
{
	(void)state;
	char dir[] = "/tmp/buoy-track-XXXXXX";
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0755);
	char pidfile[256];
	snprintf(pidfile, sizeof(pidfile), "%s/pids", dir);
	/* The script ignores SIGTERM (so SIGKILL must follow) and leaves a background child in its
	 * group: the whole group must die. */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "/bin/sh -c 'trap \"\" TERM; sleep 30 & echo $! > %s; sleep 30'",
		 pidfile);
	struct loop *l = loop_new();
	struct cfg_track_script s = script("slow", cmd, 10000, 0);
	s.timeout_ms = 200;
	struct cfg_vrrp v = vrrp_with_scripts(&s, 1, 100);
	struct watch w = { .loop = l };
	struct track_set_params p = track_params_vrrp(&v, "root");
	p.on_change = on_change;
	p.arg = &w;
	struct track_set *ts = track_set_new(l, &p);
	assert_true(track_set_result(ts).fault); /* init faults a weight-0 instance */
	uint64_t t0 = mono_ms();
	run_for(l, 200 + SPAWN_KILL_GRACE_MS + 400);
	const struct tracker *t = track_set_get(ts, 0);
	assert_int_equal(t->timeouts_total, 1);
	assert_int_equal(t->rf.state, TRACK_DOWN);
	assert_true(track_set_result(ts).fault);
	assert_true(mono_ms() - t0 < 200 + SPAWN_KILL_GRACE_MS + 1000);
	FILE *f = fopen(pidfile, "r");
	assert_non_null(f);
	int bg = 0;
	assert_int_equal(fscanf(f, "%d", &bg), 1);
	fclose(f);
	/* The background sleep was in the group: gone (it is not our child, init reaps it). */
	for (int i = 0; i < 100 && pid_alive(bg); i++)
		usleep(10000);
	assert_false(pid_alive(bg));
	track_set_free(ts);
	loop_free(l);
	unlink(pidfile);
	rmdir(dir);
}

/* Live (not zombie) processes in a process group, from /proc: a killed orphan stays a zombie
 * until init reaps it, and kill(-pgid, 0) would still succeed on it. */
static int group_live(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		char path[300], buf[512];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *rp = strrchr(buf, ')');
		char st;
		int ppid, pg;
		if (rp && sscanf(rp + 1, " %c %d %d", &st, &ppid, &pg) == 3 && pg == pgid && st != 'Z')
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

struct done {
	bool done;
	enum spawn_result r;
	int status;
};

static void spawn_done(struct child *c, enum spawn_result r, int status, void *arg)
{
	struct done *d = arg;
	d->done = true;
	d->r = r;
	d->status = status;
	loop_stop(c->loop);
}

static void test_spawn_escalates_to_sigkill(void **state)
{
	(void)state;
	/* The leader itself ignores SIGTERM: only the SIGKILL after the grace ends it. */
	char *argv[] = { "/bin/sh", "-c", "trap '' TERM; sleep 30 & sleep 30", NULL };
	struct loop *l = loop_new();
	struct child c;
	struct done d = { 0 };
	uint64_t t0 = mono_ms();
	assert_int_equal(child_spawn(l, &c, argv, NULL, 100, spawn_done, &d), 0);
	pid_t pgid = c.pid;
	run_for(l, 100 + SPAWN_KILL_GRACE_MS + 1000);
	uint64_t took = mono_ms() - t0;
	assert_true(d.done);
	assert_int_equal(d.r, SPAWN_TIMEOUT);
	assert_int_equal(d.status, SIGKILL);
	assert_true(took >= 100 + SPAWN_KILL_GRACE_MS);
	assert_true(took < 100 + SPAWN_KILL_GRACE_MS + 500);
	assert_false(child_running(&c));
	for (int i = 0; i < 100 && group_live(pgid); i++)
		usleep(10000);
	assert_int_equal(group_live(pgid), 0); /* the whole group is gone */
	/* A normal exit reports its code; a signal reports the signal. */
	char *ok[] = { "/bin/sh", "-c", "exit 7", NULL };
	d.done = false;
	assert_int_equal(child_spawn(l, &c, ok, NULL, 0, spawn_done, &d), 0);
	run_for(l, 2000);
	assert_true(d.done);
	assert_int_equal(d.r, SPAWN_EXITED);
	assert_int_equal(d.status, 7);
	char *sig[] = { "/bin/sh", "-c", "kill -USR1 $$", NULL };
	d.done = false;
	assert_int_equal(child_spawn(l, &c, sig, NULL, 0, spawn_done, &d), 0);
	run_for(l, 2000);
	assert_true(d.done);
	assert_int_equal(d.r, SPAWN_SIGNALED);
	assert_int_equal(d.status, SIGUSR1);
	loop_free(l);
}

static void test_script_security(void **state)
{
	(void)state;
	char why[256];
	assert_int_equal(spawn_command_secure("/bin/true", why, sizeof(why)), 0);
	assert_int_equal(spawn_command_secure("true --x", why, sizeof(why)), 0); /* via PATH */
	assert_int_equal(spawn_command_secure("  '/bin/sh' -c x", why, sizeof(why)), 0);
	assert_true(spawn_command_secure("/nonexistent/x", why, sizeof(why)) < 0);
	assert_true(spawn_command_secure("no-such-program-buoy", why, sizeof(why)) < 0);
	assert_true(spawn_command_secure("", why, sizeof(why)) < 0);

	char dir[] = "/tmp/buoy-sec-XXXXXX";
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0755);
	char path[256];
	snprintf(path, sizeof(path), "%s/check.sh", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	chmod(path, 0755);
	if (geteuid() == 0) { /* root-owned in a root-owned 0755 dir below sticky /tmp: fine */
		assert_int_equal(spawn_command_secure(path, why, sizeof(why)), 0);
	}
	chmod(path, 0757); /* world-writable file */
	assert_true(spawn_command_secure(path, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "writable"));
	chmod(path, 0755);
	chmod(dir, 0777); /* world-writable, non-sticky directory: the file can be swapped */
	assert_true(spawn_command_secure(path, why, sizeof(why)) < 0);
	if (geteuid() == 0) /* as non-root the file's owner is refused first */
		assert_non_null(strstr(why, "directory"));
	chmod(dir, 0755);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0); /* owned by nobody */
		assert_true(spawn_command_secure(path, why, sizeof(why)) < 0);
	}
	/* An insecure script is never run and keeps the tracker down. */
	chmod(path, 0777);
	struct loop *l = loop_new();
	struct cfg_track_script s = script("insecure", path, 50, -10);
	struct cfg_vrrp v = vrrp_with_scripts(&s, 1, 100);
	struct track_set_params p = track_params_vrrp(&v, "root");
	struct track_set *ts = track_set_new(l, &p);
	assert_true(track_set_get(ts, 0)->insecure);
	assert_int_equal(track_set_result(ts).priority, 90);
	run_for(l, 150);
	assert_int_equal(track_set_get(ts, 0)->runs_total, 0);
	track_set_free(ts);
	loop_free(l);
	unlink(path);
	rmdir(dir);
}

static bool fake_backend_ok(void *arg, size_t idx, const char *name, uint64_t now)
{
	(void)name;
	(void)now;
	const bool *ok = arg;
	return ok[idx];
}

static void test_backend_and_iface_trackers(void **state)
{
	(void)state;
	struct loop *l = loop_new();
	bool ok[2] = { true, true };
	struct cfg_track_backend b[2] = {
		{ .name = "api", .weight = 0, .backend_idx = 0 },
		{ .name = "etcd", .weight = -50, .backend_idx = 1 }
	};
	struct cfg_track_iface ifc[1] = { { .name = "lo", .weight = 5 } };
	struct cfg_vrrp v = {
		.name = "vi",
		.priority = 100,
		.track_backends = b,
		.n_track_backends = 2,
		.track_ifaces = ifc,
		.n_track_ifaces = 1
	};
	struct watch w = { .loop = l };
	struct track_set_params p = track_params_vrrp(&v, NULL);
	p.backend_ok = fake_backend_ok;
	p.backend_arg = ok;
	p.backend_poll_ms = 20;
	p.on_change = on_change;
	p.arg = &w;
	struct track_set *ts = track_set_new(l, &p);
	assert_int_equal(track_set_count(ts), 3);
	/* lo is up in any namespace: +5 */
	assert_int_equal(track_set_result(ts).priority, 105);
	assert_false(track_set_result(ts).fault);
	ok[1] = false;
	run_for(l, 60);
	assert_int_equal(track_set_result(ts).priority, 55);
	ok[0] = false;
	track_set_poll_backends(ts);
	assert_true(w.last.unfit); /* a backend tracker: unfit, not fault (not strict) */
	assert_false(w.last.fault);
	int changes = w.changes;
	track_set_poll_backends(ts); /* no change, no callback */
	assert_int_equal(w.changes, changes);
	ok[0] = ok[1] = true;
	track_set_poll_backends(ts);
	assert_int_equal(w.last.priority, 105);
	assert_false(w.last.fault);
	track_set_on_link(ts, track_set_get(ts, 0)->ifindex, false);
	assert_int_equal(w.last.priority, 100);
	assert_false(w.last.fault);
	track_set_on_link(ts, track_set_get(ts, 0)->ifindex, true);
	assert_int_equal(w.last.priority, 105);
	assert_false(w.last.unfit);
	track_set_free(ts);

	v.track_strict = true; /* strict: keepalived's weight 0, Fault */
	p = track_params_vrrp(&v, NULL);
	p.backend_ok = fake_backend_ok;
	p.backend_arg = ok;
	p.on_change = on_change;
	p.arg = &w;
	ts = track_set_new(l, &p);
	ok[0] = false;
	track_set_poll_backends(ts);
	assert_true(w.last.fault);
	assert_false(w.last.unfit);
	track_set_free(ts);
	loop_free(l);
}

/* ---- notify ---- */

static void test_notify_args_not_shell_parsed(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* the script must live in a root-owned directory to pass the check */
	char dir[] = "/tmp/buoy-notify-XXXXXX";
	assert_non_null(mkdtemp(dir));
	chmod(dir, 0755);
	char script[256], out[300], pwned[300];
	snprintf(script, sizeof(script), "%s/notify.sh", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(pwned, sizeof(pwned), "%s/pwned", dir);
	FILE *f = fopen(script, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\nprintf '%%s|' \"$@\" >> %s\n", out);
	fclose(f);
	chmod(script, 0755);
	struct loop *l = loop_new();
	struct notifier *n = notifier_new(l, script, "root");
	assert_non_null(n);
	char evil[400];
	snprintf(evil, sizeof(evil), "x; touch %s", pwned);
	assert_int_equal(notifier_run(n, evil, "MASTER", 110), 0);
	assert_int_equal(notifier_running(n), 1);
	run_for(l, 300);
	assert_int_equal(notifier_running(n), 0);
	assert_int_equal(notifier_runs_total(n), 1);
	assert_int_equal(notifier_failures_total(n), 0);
	assert_int_not_equal(access(pwned, F_OK), 0);
	char buf[512] = { 0 };
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	char want[512];
	snprintf(want, sizeof(want), "%s|MASTER|110|", evil);
	assert_string_equal(buf, want);
	notifier_free(n);
	loop_free(l);
	unlink(out);
	unlink(script);
	rmdir(dir);
}

static void test_notify_null_and_refused(void **state)
{
	(void)state;
	struct loop *l = loop_new();
	struct notifier *n = notifier_new(l, NULL, NULL);
	assert_int_equal(notifier_run(n, "a", "MASTER", 1), 0);
	assert_int_equal(notifier_runs_total(n), 0);
	notifier_free(n);
	n = notifier_new(l, "/nonexistent/notify", NULL);
	assert_true(notifier_run(n, "a", "MASTER", 1) < 0);
	notifier_free(n);
	loop_free(l);
}

static void test_notify_bounded(void **state)
{
	(void)state;
	struct loop *l = loop_new();
	struct notifier *n = notifier_new(l, "sleep 5;", "root");
	for (int i = 0; i < NOTIFY_MAX_RUNNING; i++)
		assert_int_equal(notifier_run(n, "a", "BACKUP", 1), 0);
	assert_true(notifier_run(n, "a", "BACKUP", 1) < 0);
	assert_int_equal(notifier_dropped_total(n), 1);
	notifier_free(n); /* kills and reaps them all */
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_effective_table),
		cmocka_unit_test(test_rise_fall),
		cmocka_unit_test(test_rf_changed_flag),
		cmocka_unit_test(test_script_tracker_results),
		cmocka_unit_test(test_inherit_across_reload),
		cmocka_unit_test(test_script_timeout_kills_group),
		cmocka_unit_test(test_spawn_escalates_to_sigkill),
		cmocka_unit_test(test_script_security),
		cmocka_unit_test(test_backend_and_iface_trackers),
		cmocka_unit_test(test_notify_args_not_shell_parsed),
		cmocka_unit_test(test_notify_null_and_refused),
		cmocka_unit_test(test_notify_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
