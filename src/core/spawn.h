/* Running a helper program (track script, notify command) without ever blocking the loop:
 * fork + exec in its own process group, as an unprivileged user, watched through a pidfd on the
 * loop (no SIGCHLD handler, no signal mask games, and only our own children are reaped).
 * A timeout sends SIGTERM to the whole process group, then SIGKILL after a grace period.
 * Also the script-security check (keepalived's enable_script_security). */
#ifndef BUOY_CORE_SPAWN_H
#define BUOY_CORE_SPAWN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/loop.h"

#define SPAWN_KILL_GRACE_MS 1000 /* SIGTERM -> SIGKILL */

struct spawn_user {
	bool set; /* false: keep the current credentials */
	uid_t uid;
	gid_t gid;
	char name[64];
};

/* Looks the user up once (NSS may block: call at startup/reload, not per run).
 * NULL or "" -> "nobody". The switch happens in the child only if buoy is still root then
 * (after `user:` dropped privileges, scripts run as buoy's user); ambient capabilities are
 * always cleared for the child. 0 or -ENOENT. */
int spawn_user_lookup(const char *name, struct spawn_user *out);

/* Refuses a command whose program (its first word, resolved through PATH when it has no '/')
 * could be replaced by someone other than root: the file and each directory on its real path
 * must be owned by root and not group/other-writable (sticky directories like /tmp are allowed
 * for the directories, never for the file). Returns 0 if safe, else -errno with a reason in
 * why (may be NULL). */
int spawn_command_secure(const char *command, char *why, size_t why_len);

/* A program name as spawn runs it: with a '/' as is, else searched in the fixed PATH children
 * get. 0 (out holds the path of an executable) or -errno. */
int spawn_resolve_program(const char *word, char *out, size_t len);

enum spawn_result { SPAWN_EXITED, SPAWN_SIGNALED, SPAWN_TIMEOUT, SPAWN_FAILED };

struct child;
/* status: exit code for EXITED, signal number for SIGNALED, errno for FAILED. */
typedef void (*child_done_cb)(struct child *c, enum spawn_result r, int status, void *arg);

struct child {
	pid_t pid;            /* 0 = not running */
	struct io io;         /* the pidfd */
	struct timer timeout; /* SIGTERM at timeout, then SIGKILL */
	bool timed_out;
	bool kill_sent;
	struct loop *loop;
	child_done_cb cb;
	void *arg;
};

/* Starts argv[0] (a path) with argv, envp NULL = a minimal PATH-only environment, as user u
 * (NULL = unchanged), in a new process group, stdin/stdout from /dev/null, stderr inherited.
 * timeout_ms 0 = no timeout. cb runs from the loop once the child is reaped.
 * 0 or -errno (then cb is never called). */
int child_spawn(struct loop *l, struct child *c, char *const argv[], const struct spawn_user *u,
		uint64_t timeout_ms, child_done_cb cb, void *arg);
/* A long-running engine (BIRD): as buoy's own user with buoy's capabilities, killed by the
 * kernel (SIGKILL) when buoy dies, however it dies. No timeout. 0 or -errno. */
int child_spawn_supervised(
	struct loop *l, struct child *c, char *const argv[], child_done_cb cb, void *arg);
/* Convenience: /bin/sh -c CMD. With n_args > 0 the args are appended as positional parameters
 * ($1..), never parsed by the shell: sh -c 'CMD "$@"' sh args... */
int child_spawn_shell(
	struct loop *l, struct child *c, const char *cmd, char *const args[], size_t n_args,
	const struct spawn_user *u, uint64_t timeout_ms, child_done_cb cb, void *arg);
static inline bool child_running(const struct child *c) { return c->pid > 0; }
/* Shutdown: SIGKILL the group and reap now (blocks only on an already-killed child). No cb. */
void child_abort(struct child *c);

#endif
