/* The defaults of the sections engines read field by field, written once: the builders start
 * from these (validate.c, validate_vrrp.c, validate_sync.c), and code that builds a struct by hand (tests) calls
 * the same functions. Engines apply no default of their own. */
#include "config/config.h"

#include <string.h>

void cfg_health_defaults(struct cfg_health *h)
{
	*h = (struct cfg_health){
		.type = HEALTH_TCP,
		.path = "/readyz",
		.expect = { { 200, 200 } },
		.n_expect = 1,
		.interval_ms = 1000,
		.timeout_ms = 1000,
		.rise = 2,
		.fall = 2,
		.initial_up = true,
	};
}

void cfg_track_script_defaults(struct cfg_track_script *s)
{
	*s = (struct cfg_track_script){
		.interval_ms = 2000,
		.timeout_ms = 2000,
		.rise = 1,
		.fall = 1,
	};
}

void cfg_sync_defaults(struct cfg_sync *s)
{
	*s = (struct cfg_sync){
		.port = 9255,
		.interval_ms = 100,
		.refresh_ms = 10000,
		.max_entries = 100000,
		.tickle_rate = 10000,
		.peer_timeout_ms = 1000,
	};
}
