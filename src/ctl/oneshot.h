/* One request per connection, on the main loop: read until the request is complete (bounded
 * size, bounded time), build the whole response, write it, close. Shared by the control socket
 * and /metrics; both are tiny, rare and must never block or pile up. */
#ifndef BUOY_CTL_ONESHOT_H
#define BUOY_CTL_ONESHOT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/strbuf.h"

enum oneshot_event {
	ONESHOT_REQUEST,   /* req[0..len) is a complete request (NUL-terminated) */
	ONESHOT_TOO_LARGE, /* max_request bytes without a complete request */
	ONESHOT_EOF,       /* the client closed early; req holds what came (maybe nothing) */
};

struct oneshot_cfg {
	const char *what;    /* for logs: "control" "metrics" */
	size_t max_request;  /* bytes */
	uint64_t timeout_ms; /* whole exchange; a slow client is closed without answer */
	size_t max_conns;    /* more are accepted and closed at once */
	/* true when buf[0..len) (NUL-terminated) holds a complete request */
	bool (*complete)(const char *buf, size_t len);
	/* Writes the response to out; an empty out closes without answering. */
	void (*handle)(void *arg, enum oneshot_event ev, const char *req, size_t len, struct strbuf *out);
	void *arg;
};

struct oneshot;

/* Takes ownership of listen_fd (non-blocking, listening). NULL on error (fd closed). */
struct oneshot *oneshot_start(struct loop *l, int listen_fd, const struct oneshot_cfg *cfg);
void oneshot_stop(struct oneshot *o);
/* Connections open now (for tests and logs). */
size_t oneshot_conns(const struct oneshot *o);

#endif
