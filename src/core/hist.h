/* Fixed-bucket duration histogram (health check durations -> buoy_health_check_duration_seconds).
 * Pure and tiny so the health module can embed one per server and call duration_hist_observe()
 * on every finished check; the metrics formatter turns it into cumulative Prometheus buckets. */
#ifndef BUOY_CORE_HIST_H
#define BUOY_CORE_HIST_H
#include <stddef.h>
#include <stdint.h>

#define DURATION_HIST_BOUNDS 13
/* Upper bounds in microseconds (le="0.001" .. le="10"); a last, implicit bucket is +Inf. */
extern const uint64_t duration_hist_bounds_us[DURATION_HIST_BOUNDS];

struct duration_hist {
	uint64_t bucket[DURATION_HIST_BOUNDS + 1]; /* per-bucket (not cumulative) counts */
	uint64_t count;
	uint64_t sum_us;
};

void duration_hist_observe(struct duration_hist *h, uint64_t us);
/* Observations <= bound i (i == DURATION_HIST_BOUNDS: all). */
uint64_t duration_hist_cumulative(const struct duration_hist *h, size_t i);

#endif
