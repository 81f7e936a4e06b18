#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define SPAWN_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int spawn_user_lookup(const char *name, struct spawn_user *out)
{
	memset(out, 0, sizeof(*out));
	if (!name || !*name)
		name = "nobody";
	snprintf(out->name, sizeof(out->name), "%s", name);
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	out->uid = pw.pw_uid;
	out->gid = pw.pw_gid;
	out->set = true;
	return 0;
}

/* ---- script security ---- */

static void set_why(char *why, size_t len, const char *fmt, const char *a)
{
	if (why && len)
		snprintf(why, len, fmt, a);
}

/* The program word of a shell command, quotes around it removed. */
static int first_word(const char *cmd, char *out, size_t len)
{
	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	char quote = 0;
	if (*cmd == '\'' || *cmd == '"')
		quote = *cmd++;
	size_t n = 0;
	while (cmd[n] &&
	       (quote ? cmd[n] != quote
		      : (cmd[n] != ' ' && cmd[n] != '\t' && cmd[n] != ';' && cmd[n] != '\n')))
		n++;
	if (n == 0 || n >= len)
		return -EINVAL;
	memcpy(out, cmd, n);
	out[n] = '\0';
	return 0;
}

int spawn_resolve_program(const char *word, char *out, size_t len)
{
	if (strchr(word, '/')) {
		snprintf(out, len, "%s", word);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	const char *dirs = SPAWN_PATH;
	while (*dirs) {
		const char *colon = strchr(dirs, ':');
		size_t dl = colon ? (size_t)(colon - dirs) : strlen(dirs);
		int w = snprintf(out, len, "%.*s/%s", (int)dl, dirs, word);
		if (w > 0 && (size_t)w < len && access(out, X_OK) == 0)
			return 0;
		dirs += dl + (colon ? 1 : 0);
	}
	return -ENOENT;
}

/* Writable by someone other than root? Group-writable is fine for group root. */
static bool writable_by_non_root(const struct stat *st)
{
	if (st->st_uid != 0)
		return true;
	if ((st->st_mode & S_IWGRP) && st->st_gid != 0)
		return true;
	return (st->st_mode & S_IWOTH) != 0;
}

int spawn_command_secure(const char *command, char *why, size_t why_len)
{
	char word[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	if (!command || first_word(command, word, sizeof(word)) < 0) {
		set_why(why, why_len, "cannot find the program in the command%s", "");
		return -EINVAL;
	}
	int rc = spawn_resolve_program(word, path, sizeof(path));
	if (rc < 0) {
		set_why(why, why_len, "program %s not found or not executable", word);
		return rc;
	}
	/* Symlinks resolved: what runs is the real file, and every directory above it. */
	if (!realpath(path, real)) {
		set_why(why, why_len, "cannot resolve %s", path);
		return -errno;
	}
	struct stat st;
	if (stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
		set_why(why, why_len, "%s is not a regular file", real);
		return -EPERM;
	}
	if (writable_by_non_root(&st)) {
		set_why(why, why_len, "%s is writable by a non-root user", real);
		return -EPERM;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", real);
	for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
		if (slash == dir)
			slash[1] = '\0'; /* "/" itself, then stop */
		else
			*slash = '\0';
		if (stat(dir, &st) < 0) {
			set_why(why, why_len, "cannot stat %s", dir);
			return -errno;
		}
		/* A sticky directory (like /tmp) lets others add files but not replace root's. */
		if (st.st_uid != 0 || (writable_by_non_root(&st) && !(st.st_mode & S_ISVTX))) {
			set_why(why, why_len, "directory %s is writable by a non-root user", dir);
			return -EPERM;
		}
		if (strcmp(dir, "/") == 0)
			break;
	}
	return 0;
}

/* ---- running children ---- */

/* In the forked child: only async-signal-safe calls until execve. */
static void __attribute__((noreturn))
child_exec(char *const argv[], char *const envp[], const struct spawn_user *u, pid_t parent,
	   bool supervised)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL); /* an ignored SIGPIPE would survive exec */
	setpgid(0, 0);
	int devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
	}
	syscall(SYS_close_range, 3, ~0U, 0);
	if (supervised) {
		/* A crashed or SIGKILLed buoy must not leave its engine (and its routes) behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(127); /* the parent died before the line above */
	} else {
		/* Capabilities buoy kept after dropping root (NET_ADMIN, NET_RAW) are not the
		 * script's. */
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	}
	/* Decided now, not at lookup: buoy may have dropped root since. Only root can switch; an
	 * unprivileged buoy runs scripts as itself, which is no more privilege than it has. */
	if (u && u->set && geteuid() == 0) {
		gid_t g = u->gid;
		if (setgroups(1, &g) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0)
			_exit(126); /* never run a script with more privilege than asked */
	}
	execve(argv[0], argv, envp);
	_exit(127);
}

static void child_finish(struct child *c)
{
	if (c->io.fd >= 0) {
		loop_del(c->loop, &c->io);
		close(c->io.fd);
		c->io.fd = -1;
	}
	timer_cancel(c->loop, &c->timeout);
	c->pid = 0;
}

static void child_readable(struct loop *l, struct io *io, uint32_t events)
{
	(void)l;
	(void)events;
	struct child *c = io->arg;
	/* The leader is a zombie now, so its pid (= the group id) cannot be reused yet: safe to
	 * clean up whatever a timed-out script left in its group. */
	if (c->timed_out)
		kill(-c->pid, SIGKILL);
	siginfo_t info = { 0 };
	enum spawn_result r;
	int status;
	if (waitid(P_PIDFD, (id_t)io->fd, &info, WEXITED | WNOHANG) < 0) {
		r = SPAWN_FAILED;
		status = errno;
	} else if (info.si_pid == 0) {
		return; /* spurious */
	} else if (c->timed_out) {
		r = SPAWN_TIMEOUT;
		status = info.si_status;
	} else if (info.si_code == CLD_EXITED) {
		r = SPAWN_EXITED;
		status = info.si_status;
	} else {
		r = SPAWN_SIGNALED;
		status = info.si_status;
	}
	child_finish(c);
	c->cb(c, r, status, c->arg);
}

static void child_timeout(struct loop *l, struct timer *t)
{
	struct child *c = t->arg;
	if (!c->pid)
		return;
	if (!c->timed_out) {
		c->timed_out = true;
		kill(-c->pid, SIGTERM);
		timer_arm_in(l, &c->timeout, SPAWN_KILL_GRACE_MS);
		return;
	}
	c->kill_sent = true;
	kill(-c->pid, SIGKILL);
}

static int spawn(struct loop *l, struct child *c, char *const argv[], const struct spawn_user *u,
		 uint64_t timeout_ms, child_done_cb cb, void *arg, bool supervised)
{
	static char *const min_env[] = { "PATH=" SPAWN_PATH, NULL };
	pid_t parent = getpid();
	memset(c, 0, sizeof(*c));
	c->io.fd = -1;
	c->loop = l;
	c->cb = cb;
	c->arg = arg;
	timer_init(&c->timeout, child_timeout, c);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_exec(argv, min_env, u, parent, supervised);
	setpgid(pid, pid); /* also here: no window where kill(-pid) misses the group */
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		int e = -errno;
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0); /* just killed: returns at once */
		return e;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	c->pid = pid;
	c->io.fd = fd;
	c->io.cb = child_readable;
	c->io.arg = c;
	if (loop_add(l, &c->io, EPOLLIN) < 0) {
		int e = -errno;
		child_abort(c);
		return e;
	}
	if (timeout_ms)
		timer_arm_in(l, &c->timeout, timeout_ms);
	return 0;
}

int child_spawn(struct loop *l, struct child *c, char *const argv[], const struct spawn_user *u,
		uint64_t timeout_ms, child_done_cb cb, void *arg)
{
	return spawn(l, c, argv, u, timeout_ms, cb, arg, false);
}

int child_spawn_supervised(struct loop *l, struct child *c, char *const argv[], child_done_cb cb, void *arg)
{
	return spawn(l, c, argv, NULL, 0, cb, arg, true);
}

int child_spawn_shell(
	struct loop *l, struct child *c, const char *cmd, char *const args[], size_t n_args,
	const struct spawn_user *u, uint64_t timeout_ms, child_done_cb cb, void *arg)
{
	char **argv = calloc(n_args + 5, sizeof(*argv));
	char *script = NULL;
	if (!argv)
		return -ENOMEM;
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	if (n_args) {
		if (asprintf(&script, "%s \"$@\"", cmd) < 0) {
			free(argv);
			return -ENOMEM;
		}
		argv[2] = script;
		argv[3] = "sh"; /* $0 */
		for (size_t i = 0; i < n_args; i++)
			argv[4 + i] = args[i];
	} else {
		argv[2] = (char *)cmd;
	}
	int rc = child_spawn(l, c, argv, u, timeout_ms, cb, arg);
	free(script);
	free(argv);
	return rc;
}

void child_abort(struct child *c)
{
	if (!c->pid)
		return;
	kill(-c->pid, SIGKILL);
	if (c->io.fd >= 0) {
		siginfo_t info;
		waitid(P_PIDFD, (id_t)c->io.fd, &info, WEXITED);
	} else {
		waitpid(c->pid, NULL, 0);
	}
	child_finish(c);
}
