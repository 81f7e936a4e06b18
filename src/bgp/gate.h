/* Whether an anycast VIP is announced now: pure (fitness and time in, decision out).
 *
 * A VIP is announced while its trackers say the node is fit (track/track.h: no weight-0
 * tracker failing, i.e. its listeners' backends have an eligible server) and buoy is not
 * stopping. Once withdrawn it stays withdrawn for hold_down_ms even if fit again, so a flapping
 * backend does not make the router churn its ECMP set (every change of the next-hop set moves
 * flows on a hash-threshold router). The first announcement after start has no hold-down. */
#ifndef BUOY_BGP_GATE_H
#define BUOY_BGP_GATE_H
#include <stdbool.h>
#include <stdint.h>

enum gate_reason {
	GATE_ANNOUNCED, /* fit, announced */
	GATE_UNFIT,     /* a tracker says no (the caller names which) */
	GATE_HOLD_DOWN, /* fit again, waiting out hold_down after a withdrawal */
	GATE_STOPPING,  /* buoy is shutting down */
};

struct gate {
	bool announced;
	bool ever_withdrawn;
	uint64_t withdrawn_at_ms;
};

struct gate_verdict {
	bool changed; /* announced flipped */
	enum gate_reason reason;
	uint64_t recheck_at_ms; /* HOLD_DOWN: decide again then; else 0 */
};

struct gate_verdict gate_decide(
	struct gate *g, bool fit, bool stopping, uint64_t hold_down_ms, uint64_t now_ms);
const char *gate_reason_name(enum gate_reason r);

#endif
