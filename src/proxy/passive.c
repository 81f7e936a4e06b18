/* Passive health: counts failed connects in a fixed window that opens at the first failure.
 * max_fails failures within fail_timeout take the server out for fail_timeout; the count then
 * restarts from zero, so a server that comes back needs max_fails fresh failures to leave again.
 * Pure: time is an argument (ms, monotonic). */
#include "proxy/passive.h"

bool passive_on_failure(struct passive *p, uint64_t now, uint32_t max_fails, uint64_t fail_timeout_ms)
{
	if (max_fails == 0)
		return false;
	/* connects that were already in flight when the server went out: it is out already */
	if (now < p->down_until)
		return false;
	if (p->fails == 0 || now - p->window_start >= fail_timeout_ms) {
		p->window_start = now;
		p->fails = 0;
	}
	p->fails++;
	if (p->fails < max_fails)
		return false;
	p->down_until = now + fail_timeout_ms;
	p->fails = 0;
	return true;
}

void passive_on_success(struct passive *p)
{
	p->fails = 0;
	p->window_start = 0;
}

bool passive_is_down(const struct passive *p, uint64_t now, uint32_t max_fails)
{
	if (max_fails == 0)
		return false;
	return now < p->down_until;
}
