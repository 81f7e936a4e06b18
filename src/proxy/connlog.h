/* The connection log: how a worker tells the main thread which client connections it opens
 * and closes, for connection sync (sync/sync.h). One single-producer single-consumer ring per
 * worker: the worker pushes (accept, close), the main thread drains in batches. Lock-free,
 * bounded, no allocation after connlog_init.
 *
 * An OPEN carries the connection's 4-tuple as the client sees it: local = the address and port
 * the client connected to (the VIP, when the listener is bound to one or to a wildcard), peer =
 * the client. A CLOSE carries only the id it was opened with (the worker's struct conn
 * pointer): the consumer keeps the tuple. Ids are unique among open connections of one worker;
 * a freed id may come back in a later OPEN, which the ring's order keeps unambiguous.
 *
 * A full ring drops the event and counts it (connlog.dropped); it never blocks a worker. The
 * consumer then asks that worker for a resync (proxy_connlog_resync): the worker pushes
 * RESYNC_BEGIN, an OPEN for every connection it logs, and RESYNC_END, all at once when the
 * ring has room for them (else it tries again later). Between the markers the consumer
 * rebuilds its view of that worker: entries not re-opened are gone. */
#ifndef BUOY_CONNLOG_H
#define BUOY_CONNLOG_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/inet.h"

#define CONNLOG_CAP 8192 /* events per worker ring; a power of two */

enum connlog_op {
	CONNLOG_OPEN = 1,
	CONNLOG_CLOSE = 2,
	CONNLOG_RESYNC_BEGIN = 3,
	CONNLOG_RESYNC_END = 4,
};

struct connlog_ev {
	uint8_t op;                 /* enum connlog_op */
	uint16_t lport, pport;      /* host order; OPEN only */
	uint64_t id;                /* the worker's id for the connection */
	struct ip_addr local, peer; /* OPEN only */
};

struct connlog {
	_Atomic uint32_t head; /* next slot the producer writes */
	_Atomic uint32_t tail; /* next slot the consumer reads */
	uint32_t mask;
	_Atomic uint64_t dropped; /* events lost to a full ring */
	struct connlog_ev *v;
};

/* cap: a power of two >= 2. 0, or -1 (out of memory, bad cap). */
int connlog_init(struct connlog *r, uint32_t cap);
void connlog_free(struct connlog *r);
/* Producer (one thread). false when full (counted in dropped). */
bool connlog_push(struct connlog *r, const struct connlog_ev *e);
/* Producer: free slots now (the consumer may free more meanwhile, never fewer). */
size_t connlog_room(const struct connlog *r);
/* Consumer (one thread): copies up to max events, oldest first, into out. Returns how many. */
size_t connlog_drain(struct connlog *r, struct connlog_ev *out, size_t max);

#endif
