/* Passive health (nginx max_fails/fail_timeout semantics), pure: time is an argument.
 * max_fails failures within fail_timeout take the server out for fail_timeout. */
#ifndef BUOY_PASSIVE_H
#define BUOY_PASSIVE_H
#include <stdbool.h>
#include <stdint.h>

struct passive {
	uint32_t fails;        /* failures in the current window */
	uint64_t window_start; /* ms of the first failure in the window */
	uint64_t down_until;   /* ms; server is out while now < down_until */
};

/* Records a failed connect. Returns true when this failure takes the server out. */
bool passive_on_failure(struct passive *p, uint64_t now, uint32_t max_fails, uint64_t fail_timeout_ms);
/* Records a successful connect: forgets earlier failures. */
void passive_on_success(struct passive *p);
/* True while passive accounting keeps the server out. max_fails 0 disables it. */
bool passive_is_down(const struct passive *p, uint64_t now, uint32_t max_fails);

#endif
