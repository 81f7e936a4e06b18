/* Worker functions, for listener.c. The types are in conn.h. */
#ifndef BUOY_WORKER_H
#define BUOY_WORKER_H
#include "proxy/conn.h"

/* TCP keepalive (60s idle, 10s x 6 probes) and TCP_NODELAY; accepted sockets inherit them. */
void set_keepalive(int fd);
int worker_init(struct worker *w, struct proxy *p, size_t id);
/* Worker thread: makes its sockets match the published listener table. */
void worker_apply_listeners(struct worker *w);
void listen_sock_init(struct listen_sock *ls, struct worker *w, struct listener *l, int fd);
void *worker_main(void *arg);
void worker_destroy(struct worker *w);

#endif
