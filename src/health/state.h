/* Active health state of one server: the rise/fall state machine (pure, time injected).
 *
 * It works on struct server_health (proxy/pool.h), the per-server state other modules read.
 * - A down server comes up after `rise` consecutive successful checks.
 * - An up server goes down after `fall` consecutive failed checks.
 * - initial_state up (the default) is provisional, like HAProxy's `init-state up`: the server
 *   forwards at once, but the first check decides — a failure takes it out immediately, a
 *   success confirms it, and from then on it needs `fall` failures.
 * - initial_state down: the server needs `rise` successes like any server that comes back.
 */
#ifndef BUOY_HEALTH_STATE_H
#define BUOY_HEALTH_STATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/pool.h"

enum health_change { HEALTH_NO_CHANGE, HEALTH_BECAME_UP, HEALTH_BECAME_DOWN };

void health_state_init(struct server_health *h, bool initial_up);

/* Records one finished check (also into h->check_duration, the metrics histogram). `reason` says what happened ("HTTP 500", "timeout", "HTTP 200");
 * it is copied (truncated, quotes and control characters replaced so it is safe inside a
 * logfmt value). Returns whether the server changed state. */
enum health_change health_state_record(
	struct server_health *h, uint32_t rise, uint32_t fall, bool ok, const char *reason,
	uint64_t now_ms, uint64_t duration_us);

/* Delay until the next check: interval ± up to HEALTH_JITTER_PCT percent, drawn from *seed
 * (advanced; deterministic), so N servers configured alike are not checked in lockstep. */
#define HEALTH_JITTER_PCT 15
uint64_t health_jitter_delay(uint64_t interval_ms, uint64_t *seed);
/* Delay before a server's first check: spread over [0, interval) from *seed. */
uint64_t health_first_delay(uint64_t interval_ms, uint64_t *seed);
/* Delay before a server's first check when checks (re)start at now_ms: a server with a check
 * already due at due_ms keeps that time (0 if it is past: a check a restart cut short runs
 * again at once), at most interval_ms away; one never scheduled (due_ms 0) is spread as
 * health_first_delay. So restarts, however frequent, never starve a server of checks. */
uint64_t health_start_delay(uint64_t due_ms, uint64_t now_ms, uint64_t interval_ms, uint64_t *seed);
/* A seed from a server's identity (address hash, index): never 0. */
uint64_t health_seed(uint64_t key, uint64_t index);

/* Copies reason into dst (size len), replacing '"', '\\' and control characters by '\''/'?'. */
void health_reason_copy(char *dst, size_t len, const char *reason);

#endif
