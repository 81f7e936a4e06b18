/* Connection sync messages, pure: the codec for the UDP datagrams in which load balancers tell
 * their peers which client connections (VIP:port <-> client:port) they hold, so that the node
 * that takes a VIP over can tickle the old holder's clients (sync/tickle.h). No sockets, no
 * clock, no allocation of ours (OpenSSL's one-shot HMAC() may allocate inside). Any thread;
 * nothing is kept between calls, the caller owns every buffer.
 *
 * Wire format, version 1. All integers big-endian. One datagram = one message.
 *
 *   off  len  field
 *     0    4  magic "BSY1"
 *     4    1  version             1
 *     5    1  kind                1 = delta (adds/removes since the sender's last message),
 *                                 2 = full (one chunk of a periodic full refresh)
 *     6    1  flags               bit 0 LAST chunk of the refresh, bit 1 FIRST chunk (both
 *                                 set: a one-chunk refresh), full only; bit 2 WITHDRAWN (the
 *                                 sender carries no anycast traffic now), either kind;
 *                                 others 0
 *     7    1  node_len            N, 1..63
 *     8    8  epoch               sender's start time, ms since the Unix epoch, >= 1
 *    16    8  seq                 1, 2, ... per epoch, +1 per message (full chunks included)
 *    24    2  count               C entries, 0..SYNC_MAX_ENTRIES
 *    26    2  reserved            0
 *    28    N  node                the sender's name: printable ASCII, no space, no NUL
 *  28+N  38C  entries             C x 38 bytes:
 *                                   +0  1  op        1 = add, 2 = del (full: add only)
 *                                   +1  1  family    4 or 6 (the IP version, not AF_*)
 *                                   +2 16  vip       IPv4: 4 bytes then 12 zero bytes
 *                                  +18  2  vip port  non-zero
 *                                  +20 16  client    as vip
 *                                  +36  2  client port  non-zero
 *  end-32  32 mac                 HMAC-SHA256(key, every byte before it)
 *
 * The header before the node name is fixed (28 bytes), so the MAC's place follows from the
 * datagram's length alone: the decoder checks magic, version and the length bounds, then the
 * MAC, and only then reads any other field. A message with a wrong key never yields entries.
 * Total length = 28 + N + 38C + 32 <= SYNC_MAX_MSG (1400: a 1500 MTU minus IPv6 and UDP).
 *
 * Every byte is checked on receive (reserved, flags, padding, ...), so a message that decodes
 * re-encodes to the same bytes, and an encoder can only produce what the decoder accepts.
 *
 * Replay and order are per peer (sync_fresh): (epoch, seq) must grow. The codec knows nothing
 * about peers; the caller keeps one struct sync_seen per sender node name. */
#ifndef BUOY_SYNC_MSG_H
#define BUOY_SYNC_MSG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/inet.h"

#define SYNC_MAGIC "BSY1"
#define SYNC_VERSION 1
#define SYNC_HDR_LEN 28 /* before the node name */
#define SYNC_NODE_MAX 63
#define SYNC_ENTRY_LEN 38
#define SYNC_MAC_LEN 32
#define SYNC_MAX_MSG 1400
/* With the longest node name: 33. A sender may always put this many in one message. */
#define SYNC_MAX_ENTRIES \
	((SYNC_MAX_MSG - SYNC_HDR_LEN - SYNC_NODE_MAX - SYNC_MAC_LEN) / SYNC_ENTRY_LEN)
#define SYNC_MIN_MSG (SYNC_HDR_LEN + 1 + SYNC_MAC_LEN)

enum sync_kind { SYNC_KIND_DELTA = 1, SYNC_KIND_FULL = 2 };
enum sync_op { SYNC_OP_ADD = 1, SYNC_OP_DEL = 2 };
#define SYNC_F_LAST 0x01      /* full: the last chunk of this refresh */
#define SYNC_F_FIRST 0x02     /* full: the first chunk of this refresh */
#define SYNC_F_WITHDRAWN 0x04 /* any: the sender announces no anycast VIP now (sync.h) */

struct sync_hdr {
	uint8_t kind;                 /* enum sync_kind */
	uint8_t flags;                /* SYNC_F_*: LAST and FIRST full only */
	char node[SYNC_NODE_MAX + 1]; /* NUL-terminated */
	uint64_t epoch, seq;          /* both >= 1 */
};

struct sync_entry {
	uint8_t op; /* enum sync_op */
	/* Same family. Encode ignores the prefix; decode sets the host length (32/128). */
	struct ip_addr vip, client;
	uint16_t vport, cport; /* host order, non-zero */
};

/* Why a received datagram was dropped. SYNC_OK (0) means accepted. The names are metric label
 * values (sync_verdict_name): never rename one. First failure wins, checked in this order, except
 * that the exact length (SYNC_TRUNCATED) is checked once node_len and count are known. */
enum sync_verdict {
	SYNC_OK = 0,
	SYNC_BAD_MAGIC,   /* not "BSY1" (or shorter than the magic) */
	SYNC_BAD_VERSION, /* not version 1 */
	SYNC_TRUNCATED,   /* length wrong: below the minimum, above SYNC_MAX_MSG, or not what
			   * node_len and count say (short, or trailing bytes) */
	SYNC_BAD_MAC,     /* HMAC mismatch (wrong key, any changed bit), or no key */
	SYNC_BAD_HEADER,  /* kind, flags, reserved, epoch 0 or seq 0 */
	SYNC_BAD_NODE,    /* node_len 0 or > 63, or a byte not printable / a space */
	SYNC_BAD_COUNT,   /* count > SYNC_MAX_ENTRIES or > the caller's cap */
	SYNC_BAD_ENTRY,   /* op, family, non-zero padding, zero port, unspecified or multicast
			   * address, a del in a full message */
	SYNC_VERDICT__COUNT
};

const char *sync_verdict_name(enum sync_verdict v); /* "unknown" out of range */

/* Is this a node name the wire can carry (1..63 printable non-space bytes)? */
bool sync_node_valid(const char *node);

/* How many entries a message from node may carry: what fits SYNC_MAX_MSG after its name, and
 * never more than SYNC_MAX_ENTRIES, which every decoder accepts (a short name fits 35, and a
 * receiver's array holds 33). 0 for an invalid name. */
size_t sync_entries_per_msg(const char *node);

/* Encodes one message into out. key/keylen: the shared secret (keylen >= 1). Returns the bytes
 * written, or 0 if the input is invalid (n > SYNC_MAX_ENTRIES, bad kind/flags/node, epoch or
 * seq 0, an entry the decoder would refuse, family mismatch between vip and client) or the
 * message does not fit cap. Nothing is promised about out on 0. */
size_t sync_encode(const struct sync_hdr *h, const struct sync_entry *e, size_t n,
		   const uint8_t *key, size_t keylen, uint8_t *out, size_t cap);

/* Decodes and authenticates one datagram of len bytes. On SYNC_OK, *h is the header and
 * out[0..*n) the entries (*n <= cap). On any other verdict *n is 0, *h is untouched, and out
 * may hold garbage (never entries of an unauthenticated message: they are read only after the
 * MAC matched). Never reads outside buf[0..len). */
enum sync_verdict sync_decode(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen,
			      struct sync_hdr *h, struct sync_entry *out, size_t cap, size_t *n);

/* HMAC-SHA256 of data under key into mac (exposed for tests and the fuzzer). false on an
 * OpenSSL failure or keylen 0. */
bool sync_mac(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
	      uint8_t mac[SYNC_MAC_LEN]);

/* ---- replay and order, per peer ---- */

/* The newest (epoch, seq) accepted from one peer; {0, 0} = nothing yet. */
struct sync_seen {
	uint64_t epoch, seq;
};

/* Call after sync_decode said SYNC_OK, before acting on the message. Accepts a larger epoch
 * (the peer restarted: its seq starts over, and the caller should forget what the old epoch
 * said) or the same epoch with a larger seq, and records it in *s. Refuses (false, *s
 * unchanged) a replay, a reordered message, or an older epoch. A gap in seq (seq > s->seq + 1)
 * is accepted: the caller sees it by comparing with s->seq beforehand (a lost datagram; a full
 * refresh that spans a gap must not be used to prune). */
bool sync_fresh(struct sync_seen *s, uint64_t epoch, uint64_t seq);

#endif
