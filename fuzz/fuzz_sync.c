/* Connection sync message decoder (src/sync/msg.c) with a fixed key.
 *
 * Input: a flags byte, a cap byte, then the datagram. Flag bit 0 patches in the correct HMAC
 * over everything before the last 32 bytes, so the fuzzer gets past the MAC to the field
 * checks; bit 1 makes the caller's room cap % (SYNC_MAX_ENTRIES + 1) entries instead of the
 * most. Invariants: decode never reads outside the datagram (it sits in a heap block of exactly
 * its size); a rejected datagram yields no entries; an accepted one agrees with its own length,
 * re-encodes to the very same bytes, and is refused under any other key; the tickle builders
 * accept every connection it carries. */
#include <sys/socket.h>

#include "fuzz.h"
#include "sync/msg.h"
#include "sync/tickle.h"

static const uint8_t KEY[] = "buoy-fuzz-sync-key";
#define KEYLEN (sizeof(KEY) - 1)

static void check_ok(const uint8_t *msg, size_t len, const struct sync_hdr *h,
		     const struct sync_entry *e, size_t n, size_t cap)
{
	FZ_ASSERT(n <= cap && n <= SYNC_MAX_ENTRIES);
	FZ_ASSERT(len == SYNC_HDR_LEN + strlen(h->node) + n * SYNC_ENTRY_LEN + SYNC_MAC_LEN);
	FZ_ASSERT(sync_node_valid(h->node));
	FZ_ASSERT(h->kind == SYNC_KIND_DELTA || h->kind == SYNC_KIND_FULL);
	uint8_t again[SYNC_MAX_MSG];
	size_t alen = sync_encode(h, e, n, KEY, KEYLEN, again, sizeof(again));
	FZ_ASSERT(alen == len);
	FZ_ASSERT(memcmp(again, msg, len) == 0);

	static const uint8_t other[] = "buoy-fuzz-sync-kez";
	struct sync_hdr h2;
	struct sync_entry e2[SYNC_MAX_ENTRIES];
	size_t n2 = 1;
	FZ_ASSERT(sync_decode(msg, len, other, KEYLEN, &h2, e2, SYNC_MAX_ENTRIES, &n2) == SYNC_BAD_MAC);
	FZ_ASSERT(n2 == 0);

	for (size_t i = 0; i < n; i++) {
		uint8_t pkt[TICKLE_IPV4_LEN];
		FZ_ASSERT(tickle_build_tcp(pkt, sizeof(pkt), &e[i].vip, e[i].vport, &e[i].client,
					   e[i].cport) == TICKLE_TCP_LEN);
		if (e[i].vip.family == AF_INET)
			FZ_ASSERT(tickle_build_ipv4(pkt, sizeof(pkt), &e[i].vip, e[i].vport,
						    &e[i].client, e[i].cport) == TICKLE_IPV4_LEN);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t flags = fz_u8(&f);
	uint8_t capb = fz_u8(&f);
	size_t cap = flags & 2 ? capb % (SYNC_MAX_ENTRIES + 1) : SYNC_MAX_ENTRIES;
	size_t len;
	uint8_t *msg = fz_rest(&f, &len, 0);
	if ((flags & 1) && len >= SYNC_MAC_LEN)
		FZ_ASSERT(sync_mac(KEY, KEYLEN, msg, len - SYNC_MAC_LEN, msg + len - SYNC_MAC_LEN));

	struct sync_hdr h;
	struct sync_entry e[SYNC_MAX_ENTRIES];
	size_t n = 12345;
	enum sync_verdict v = sync_decode(msg, len, KEY, KEYLEN, &h, e, cap, &n);
	FZ_ASSERT((unsigned)v < SYNC_VERDICT__COUNT);
	FZ_ASSERT(strcmp(sync_verdict_name(v), "unknown") != 0);
	if (v == SYNC_OK)
		check_ok(msg, len, &h, e, n, cap);
	else
		FZ_ASSERT(n == 0);
	free(msg);
	return 0;
}
