#include "core/hist.h"

/* 1 ms .. 10 s: a health check that takes longer than its timeout is cut off anyway. */
const uint64_t duration_hist_bounds_us[DURATION_HIST_BOUNDS] = {
	1000,   2500,   5000,    10000,   25000,   50000,    100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

void duration_hist_observe(struct duration_hist *h, uint64_t us)
{
	size_t i = 0;
	while (i < DURATION_HIST_BOUNDS && us > duration_hist_bounds_us[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_us += us;
}

uint64_t duration_hist_cumulative(const struct duration_hist *h, size_t i)
{
	uint64_t n = 0;
	for (size_t k = 0; k <= i && k <= DURATION_HIST_BOUNDS; k++)
		n += h->bucket[k];
	return n;
}
