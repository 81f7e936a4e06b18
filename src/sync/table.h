/* Connection sync's tables, pure: which client connections this node holds (own table, fed by
 * the workers' connection logs, proxy/connlog.h) and which each peer says it holds (peer table,
 * fed by sync messages, sync/msg.h). No sockets, no clock, no threads: the main thread's sync
 * engine (sync/sync.c) owns them and passes in what would be time (a refresh generation).
 *
 * Memory is bounded: every table has a cap on entries (the caller's config); an insert beyond
 * it fails and counts a cap hit. Entries are allocated one by one (malloc) and freed when
 * removed; the hash index grows by doubling and never shrinks below its initial size.
 * Return convention: as documented per function; -1 always means nothing changed.
 *
 * Where this contract was silent, table.c chose (safest reading):
 *  - the index starts at 256 buckets and doubles when n exceeds the bucket count; a failed
 *    doubling keeps the old index (the insert still succeeds, chains are only longer) and is
 *    tried again at the next insert; it never shrinks. The peer table's hash (FNV-1a plus the
 *    splitmix64 finalizer) starts from a seed the caller draws per process, so that clients
 *    choosing their ports cannot aim at one chain; the own table's keys are ours;
 *  - a callback (gone, fn) must not change the table it is called from; fn may be NULL (the
 *    functions then only count); gone() sees a tuple that is no longer in the table;
 *  - own_init/peer_init with cap 0 return -1; after -1 the table is empty and *_free is safe;
 *    *_free leaves an empty table (a second free is harmless);
 *  - the cap counts only inserts of a new key: re-opening or refreshing one at the cap works. */
#ifndef BUOY_SYNC_TABLE_H
#define BUOY_SYNC_TABLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/inet.h"

/* A connection as its client sees it. vip and client have the same family. */
struct sync_tuple {
	struct ip_addr vip, client; /* prefixes ignored in comparisons and hashes */
	uint16_t vport, cport;      /* host order */
};

bool sync_tuple_equal(const struct sync_tuple *a, const struct sync_tuple *b);
/* Is t->vip one of vips[0..n) (address only)? */
bool sync_tuple_on(const struct sync_tuple *t, const struct ip_addr *vips, size_t n);

typedef void (*sync_tuple_fn)(void *arg, const struct sync_tuple *t);

/* ---- own connections: keyed by (worker, id) of the connection log ---- */

struct own_entry; /* private to table.c */

struct own_table {
	struct own_entry **idx; /* hash buckets */
	size_t n_idx, n, cap;
	struct own_entry *all_head, *all_tail;   /* insertion order: the refresh walks it */
	struct own_entry *pend_head, *pend_tail; /* opened, not yet announced (no ADD sent) */
	struct own_entry *cursor; /* next entry of the refresh in progress; NULL = none/done */
	bool refreshing;
	uint64_t cap_hits;
};

/* cap: most entries (>= 1). 0 or -1 (out of memory). */
int own_init(struct own_table *t, size_t cap);
void own_free(struct own_table *t);

/* A connection opened: added as not yet announced. If (worker, id) is there already (a
 * resync re-opening it), it is kept (no longer stale) and 1 is returned; if its tuple
 * differs, the old tuple is replaced and the entry is treated as new (its old tuple goes to
 * gone(), if it had been announced). Returns 0 added, 1 kept, -1 at the cap (counted) or out of
 * memory. gone may be NULL. A changed tuple that had been announced goes to the pending list's
 * tail; one not yet announced keeps its place there (nothing was sent for the old tuple). The
 * entry keeps its place in insertion order (the refresh skips it until it is announced again). */
int own_open(struct own_table *t, uint32_t worker, uint64_t id, const struct sync_tuple *tu,
	     sync_tuple_fn gone, void *arg);

/* A connection closed. Returns 0 if unknown (an OPEN that was dropped, filtered or capped),
 * 1 if it was never announced (removed: peers never heard of it, nothing to send), 2 if it
 * was announced (removed; *out is its tuple: send a del). out may be NULL. */
int own_close(struct own_table *t, uint32_t worker, uint64_t id, struct sync_tuple *out);

/* Takes up to max entries not yet announced, oldest first, into out and marks them announced.
 * Returns how many. */
size_t own_take_pending(struct own_table *t, struct sync_tuple *out, size_t max);
/* How many wait to be announced (walks the pending list: the struct keeps no count). */
size_t own_pending(const struct own_table *t);

/* Resync of one worker (its connection log overflowed): begin marks every entry of the worker
 * stale; own_open of the same (worker, id) clears the mark; end removes what is still stale and
 * passes each removed entry that had been announced to gone() (send a del). Returns how many
 * were removed. A mark lasts until an end of that worker (a begin without an end leaves it; an
 * end without a begin removes nothing). */
void own_resync_begin(struct own_table *t, uint32_t worker);
size_t own_resync_end(struct own_table *t, uint32_t worker, sync_tuple_fn gone, void *arg);

/* Full refresh: start puts a cursor on the oldest entry; next copies up to max announced
 * entries from the cursor on into out and returns how many, and *last true when the walk
 * reached the end (then the refresh is over). Entries opened meanwhile may or may not be
 * included (they go out as deltas anyway); entries removed meanwhile are skipped safely. A
 * new start restarts the walk. *last turns true as soon as no announced entry is left after
 * the cursor (the chunk holding the last one says so; an empty table or one with nothing
 * announced gives one empty last chunk). Without a refresh in progress (never started, or
 * over): 0 and *last true. max 0 returns 0 without progress. */
void own_refresh_start(struct own_table *t);
size_t own_refresh_next(struct own_table *t, struct sync_tuple *out, size_t max, bool *last);

/* Calls fn for every entry whose vip is in vips[0..n) (announced or not), in insertion order.
 * Returns how many. */
size_t own_each_on(const struct own_table *t, const struct ip_addr *vips, size_t n,
		   sync_tuple_fn fn, void *arg);

/* Calls fn for, then removes, every entry whose vip is in vips[0..n), silently: their CLOSE
 * events will find nothing (own_close 0) and no del goes out (a handover: the new holder
 * tickles what it knows, and must not hear first that they are gone). Returns how many. */
size_t own_take_on(struct own_table *t, const struct ip_addr *vips, size_t n, sync_tuple_fn fn, void *arg);

/* ---- a peer's connections: keyed by the tuple ---- */

struct peer_entry; /* private to table.c */

struct peer_table {
	struct peer_entry **idx;
	size_t n_idx, n, cap;
	uint64_t cap_hits;
	uint64_t seed;
};

int peer_init(struct peer_table *t, size_t cap, uint64_t seed);
void peer_free(struct peer_table *t);
/* Adds or refreshes a tuple with refresh generation gen (the entry keeps the larger of its
 * gen and this one). Returns 0 added, 1 refreshed, -1 at the cap (counted) or out of memory. */
int peer_add(struct peer_table *t, const struct sync_tuple *tu, uint64_t gen);
/* Removes a tuple. true if it was there. */
bool peer_del(struct peer_table *t, const struct sync_tuple *tu);
/* Removes every entry whose gen is below gen (not confirmed by the refresh that began at gen).
 * Returns how many. */
size_t peer_prune(struct peer_table *t, uint64_t gen);
/* Removes everything (the peer restarted). */
void peer_clear(struct peer_table *t);
/* Calls fn for, then removes, every entry whose vip is in vips[0..n), in no particular order.
 * Returns how many. */
size_t peer_take_on(
	struct peer_table *t, const struct ip_addr *vips, size_t n, sync_tuple_fn fn, void *arg);

#endif
