#include "health/state.h"

#include <string.h>

void health_state_init(struct server_health *h, bool initial_up)
{
	memset(h, 0, sizeof(*h));
	h->up = initial_up;
	h->last_result = CHECK_NONE;
}

void health_reason_copy(char *dst, size_t len, const char *reason)
{
	if (!len)
		return;
	size_t i = 0;
	for (; reason && reason[i] && i + 1 < len; i++) {
		unsigned char c = (unsigned char)reason[i];
		if (c == '"' || c == '\\')
			c = '\'';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		dst[i] = (char)c;
	}
	dst[i] = '\0';
}

enum health_change health_state_record(
	struct server_health *h, uint32_t rise, uint32_t fall, bool ok, const char *reason,
	uint64_t now_ms, uint64_t duration_us)
{
	/* a provisional initial "up" has never been checked: its first failure decides */
	bool provisional = h->up && h->last_result == CHECK_NONE;
	if (rise == 0)
		rise = 1;
	if (fall == 0)
		fall = 1;

	h->last_check_ms = now_ms;
	h->last_duration_us = duration_us;
	duration_hist_observe(&h->check_duration, duration_us);
	h->last_result = ok ? CHECK_OK : CHECK_FAIL;
	h->checks_total++;
	health_reason_copy(h->reason, sizeof(h->reason), reason);

	if (ok) {
		h->consecutive_fail = 0;
		if (h->consecutive_ok < UINT32_MAX)
			h->consecutive_ok++;
		if (!h->up && h->consecutive_ok >= rise) {
			h->up = true;
			h->last_change_ms = now_ms;
			return HEALTH_BECAME_UP;
		}
		return HEALTH_NO_CHANGE;
	}
	h->checks_failed_total++;
	h->consecutive_ok = 0;
	if (h->consecutive_fail < UINT32_MAX)
		h->consecutive_fail++;
	if (h->up && (provisional || h->consecutive_fail >= fall)) {
		h->up = false;
		h->last_change_ms = now_ms;
		return HEALTH_BECAME_DOWN;
	}
	return HEALTH_NO_CHANGE;
}

/* splitmix64: tiny, well mixed, and any seed (even 0) gives a good sequence. */
static uint64_t next_rand(uint64_t *seed)
{
	uint64_t z = (*seed += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t health_seed(uint64_t key, uint64_t index)
{
	uint64_t s = key ^ (index * 0xd1b54a32d192ed03ull);
	uint64_t r = next_rand(&s);
	return r ? r : 1;
}

uint64_t health_jitter_delay(uint64_t interval_ms, uint64_t *seed)
{
	uint64_t span = interval_ms * HEALTH_JITTER_PCT / 100; /* ± span */
	if (span == 0)
		return interval_ms ? interval_ms : 1;
	uint64_t off = next_rand(seed) % (2 * span + 1);
	uint64_t d = interval_ms - span + off;
	return d ? d : 1;
}

uint64_t health_start_delay(uint64_t due_ms, uint64_t now_ms, uint64_t interval_ms, uint64_t *seed)
{
	if (!due_ms)
		return health_first_delay(interval_ms, seed);
	if (due_ms <= now_ms)
		return 0;
	return due_ms - now_ms < interval_ms ? due_ms - now_ms : interval_ms;
}

uint64_t health_first_delay(uint64_t interval_ms, uint64_t *seed)
{
	if (interval_ms == 0)
		return 0;
	return next_rand(seed) % interval_ms;
}
