/* The control socket: a unix stream socket, one request line per connection.
 * Response: a first line "ok" or "error", then the body (JSON, a table, or messages). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sock.h"
#include "ctl/ctl.h"
#include "ctl/oneshot.h"

#define CTL_MAX_REQUEST 1024
#define CTL_TIMEOUT_MS 5000
#define CTL_MAX_CONNS 16

struct ctl_server {
	struct oneshot *os;
	const struct ctl_sources *src;
	struct loop *loop;
	char *path;
	dev_t dev;
	ino_t ino;     /* of our socket file: never unlink someone else's */
	bool made_dir; /* we created the socket's directory (chowned with it) */
};

static bool line_complete(const char *buf, size_t len) { return memchr(buf, '\n', len) != NULL; }

static void ctl_handle(void *arg, enum oneshot_event ev, const char *req, size_t len, struct strbuf *out)
{
	struct ctl_server *s = arg;
	struct strbuf body = { 0 };
	int rc;
	if (ev == ONESHOT_TOO_LARGE) {
		sb_puts(&body, "request too long\n");
		rc = -1;
	} else if (ev == ONESHOT_EOF && len == 0) {
		return; /* a connect-and-close probe: nothing to say */
	} else {
		rc = ctl_execute(s->src, req, loop_now(s->loop), &body);
	}
	if (body.oom) {
		rc = -1;
		sb_reset(&body);
		sb_puts(&body, "out of memory\n");
	}
	sb_puts(out, rc == 0 ? "ok\n" : "error\n");
	sb_putn(out, sb_str(&body), body.len);
	sb_free(&body);
}

/* mkdir -p for the socket's directory; new components get 0755. Returns 1 when the socket's
 * own directory was created here, 0 when it existed, -1 on error. */
static int make_parent_dirs(const char *path)
{
	int made = 0;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(dir, 0755) == 0) {
				chmod(dir, 0755); /* exactly 0755 whatever the umask */
				made = 1;
			} else if (errno != EEXIST) {
				return -1;
			} else {
				made = 0;
			}
			*p = c;
			if (c == '\0')
				return made;
		}
	}
}

/* An existing socket file: in use by a live buoy (error) or stale (removed). */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		errno = EADDRINUSE; /* another daemon answers there */
		return -1;
	}
	return unlink(path);
}

static int listen_unix(const char *path, struct stat *st, bool *made_dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int made = make_parent_dirs(path);
	if (made < 0 || clear_stale(path, &sa) < 0)
		return -1;
	*made_dir = made == 1;
	/* the umask makes the file 0600 from its first moment; chmod makes sure */
	mode_t old = umask(0177);
	int fd = sock_listen((struct sockaddr *)&sa, sizeof(sa), 16, NULL, NULL);
	umask(old);
	if (fd < 0)
		return -1;
	if (chmod(path, 0600) < 0 || stat(path, st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

struct ctl_server *ctl_server_start(struct loop *l, const struct ctl_sources *src)
{
	const char *path = src->cfg->control_socket;
	errno = 0;
	if (!path || !*path)
		return NULL;
	struct ctl_server *s = calloc(1, sizeof(*s));
	char *copy = strdup(path);
	struct stat st;
	bool made_dir = false;
	int fd = s && copy ? listen_unix(path, &st, &made_dir) : -1;
	if (fd < 0) {
		log_error("control socket failed", "path=%s reason=\"%s\"", path,
			  strerror(errno ? errno : ENOMEM));
		free(copy);
		free(s);
		return NULL;
	}
	*s = (struct ctl_server){
		.src = src, .loop = l, .path = copy, .dev = st.st_dev, .ino = st.st_ino, .made_dir = made_dir
	};
	struct oneshot_cfg cfg = {
		.what = "control",
		.max_request = CTL_MAX_REQUEST,
		.timeout_ms = CTL_TIMEOUT_MS,
		.max_conns = CTL_MAX_CONNS,
		.complete = line_complete,
		.handle = ctl_handle,
		.arg = s,
	};
	s->os = oneshot_start(l, fd, &cfg);
	if (!s->os) {
		log_error("control socket failed", "path=%s reason=\"%s\"", path, strerror(errno));
		unlink(path);
		free(copy);
		free(s);
		return NULL;
	}
	log_info("control socket listening", "path=%s", path);
	return s;
}

int ctl_server_chown(struct ctl_server *s, uid_t uid, gid_t gid)
{
	if (!s)
		return 0;
	if (chown(s->path, uid, gid) < 0)
		return -1;
	if (!s->made_dir)
		return 0; /* someone else's directory: removing the socket at exit is up to its mode */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", s->path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return chown(dir, uid, gid);
}

void ctl_server_stop(struct ctl_server *s)
{
	if (!s)
		return;
	oneshot_stop(s->os);
	struct stat st;
	if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino &&
	    unlink(s->path) < 0)
		log_warn("control socket not removed", "path=%s reason=\"%s\"", s->path,
			 strerror(errno));
	free(s->path);
	free(s);
}
