/* Listening sockets, one way for the proxy, metrics and control servers. */
#ifndef BUOY_SOCK_H
#define BUOY_SOCK_H
#include <sys/socket.h>

/* socket (non-blocking, close-on-exec), SO_REUSEADDR for TCP, opts(fd, arg) if given (a
 * failure there fails the call), bind, listen. Returns the fd, or -1 with the errno of the
 * step that failed and nothing left open. */
int sock_listen(const struct sockaddr *sa, socklen_t len, int backlog,
		int (*opts)(int fd, void *arg), void *arg);

#endif
