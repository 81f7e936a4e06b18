#include "ctl/snapshot.h"

#include <stdlib.h>

const char *snap_server_state(const struct snap_server *s)
{
	if (s->drained)
		return "drained";
	return s->health_up && !s->passive_down ? "up" : "down";
}

void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n_backends; i++)
		free(s->backends[i].servers);
	free(s->backends);
	free(s->listeners);
	free(s->vrrp);
	free(s->bgp.peers);
	free(s->bgp.announce);
	free(s->intercept.items);
	*s = (struct snapshot){ 0 };
}
