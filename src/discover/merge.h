/* What discovery would give a backend, and whether to give it (pure).
 *
 * `disc_view` mirrors the watched objects the way a client-go informer's store does: a LIST
 * replaces it whole, ADDED/MODIFIED put one object by name, DELETED removes it, BOOKMARK only
 * moves the resourceVersion on; an ERROR event with code 410 means "re-list", any other ERROR is
 * a failure of this watch (the view is kept).
 *
 * `disc_set` is the flattened result: the union of every object's endpoints, sorted and without
 * duplicates, so two sets compare with memcmp-like equality.
 *
 * The merge rule (`disc_decide`), the "never worse than static" contract:
 *   - an empty candidate is never applied (it would empty the backend): KEEP_EMPTY;
 *   - a candidate equal to what is applied changes nothing: SAME;
 *   - otherwise APPLY. The shell then swaps the backend's server list; added servers start DOWN
 *     and must pass buoy's own health checks before they take traffic.
 * Failures (API unreachable, garbage, stall) never reach here: the shell keeps the last applied
 * set and only records the reason. */
#ifndef BUOY_DISCOVER_MERGE_H
#define BUOY_DISCOVER_MERGE_H
#include <stdbool.h>

#include "discover/kube.h"

#define DISC_MAX_SERVERS 64

struct disc_set {
	size_t n;
	struct kube_ep eps[DISC_MAX_SERVERS];
};

struct disc_view {
	char rv[KUBE_RV_LEN];
	size_t n;
	struct kube_obj objs[KUBE_MAX_ITEMS];
};

enum disc_ev_result {
	DISC_EV_OK,     /* the view changed or moved on */
	DISC_EV_RELIST, /* 410 Gone: LIST again (resourceVersion too old) */
	DISC_EV_FAIL,   /* an ERROR event, or more objects than fit: restart the watch */
};

void disc_view_from_list(struct disc_view *v, const struct kube_list *l);
enum disc_ev_result disc_view_apply(struct disc_view *v, const struct kube_event *ev);
/* The union of the view's endpoints. */
void disc_view_flatten(const struct disc_view *v, struct disc_set *out);

void disc_set_from_etcd(struct disc_set *out, const struct etcd_members *m);
/* Sorts and removes duplicates (kept to DISC_MAX_SERVERS: the rest dropped, lowest first kept). */
void disc_set_normalize(struct disc_set *s);
bool disc_set_equal(const struct disc_set *a, const struct disc_set *b);

enum disc_verdict { DISC_APPLY, DISC_SAME, DISC_KEEP_EMPTY };
enum disc_verdict disc_decide(const struct disc_set *applied, const struct disc_set *candidate);
const char *disc_verdict_name(enum disc_verdict v);

#endif
