#include "bgp/gate.h"

struct gate_verdict gate_decide(
	struct gate *g, bool fit, bool stopping, uint64_t hold_down_ms, uint64_t now_ms)
{
	struct gate_verdict v = { 0 };
	bool was = g->announced;
	if (stopping || !fit) {
		v.reason = stopping ? GATE_STOPPING : GATE_UNFIT;
		if (was) {
			g->announced = false;
			g->ever_withdrawn = true;
			g->withdrawn_at_ms = now_ms;
		}
	} else if (!was && g->ever_withdrawn && now_ms < g->withdrawn_at_ms + hold_down_ms) {
		v.reason = GATE_HOLD_DOWN;
		v.recheck_at_ms = g->withdrawn_at_ms + hold_down_ms;
	} else {
		v.reason = GATE_ANNOUNCED;
		g->announced = true;
	}
	v.changed = was != g->announced;
	return v;
}

const char *gate_reason_name(enum gate_reason r)
{
	switch (r) {
	case GATE_ANNOUNCED: return "announced";
	case GATE_UNFIT: return "unfit";
	case GATE_HOLD_DOWN: return "hold-down";
	case GATE_STOPPING: return "stopping";
	}
	return "?";
}
