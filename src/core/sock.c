#include "core/sock.h"

#include <errno.h>
#include <unistd.h>

int sock_listen(const struct sockaddr *sa, socklen_t len, int backlog,
		int (*opts)(int fd, void *arg), void *arg)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	if (sa->sa_family != AF_UNIX) /* a restart binds at once over TIME_WAIT connections */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((opts && opts(fd, arg) < 0) || bind(fd, sa, len) < 0 || listen(fd, backlog) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
