/* The informer-style view and the merge rule (see merge.h). */
#include "discover/merge.h"

#include <stdlib.h>
#include <string.h>

void disc_view_from_list(struct disc_view *v, const struct kube_list *l)
{
	memcpy(v->rv, l->rv, sizeof(v->rv));
	v->n = l->n;
	memcpy(v->objs, l->items, l->n * sizeof(l->items[0]));
}

static size_t find(const struct disc_view *v, const char *name)
{
	size_t i = 0;
	while (i < v->n && strcmp(v->objs[i].name, name))
		i++;
	return i;
}

enum disc_ev_result disc_view_apply(struct disc_view *v, const struct kube_event *ev)
{
	if (ev->type == KUBE_EV_ERROR)
		return ev->code == 410 ? DISC_EV_RELIST : DISC_EV_FAIL;
	size_t i = find(v, ev->obj.name);
	switch (ev->type) {
	case KUBE_EV_ADDED:
	case KUBE_EV_MODIFIED:
		if (i == v->n) {
			if (v->n == KUBE_MAX_ITEMS)
				return DISC_EV_FAIL;
			v->n++;
		}
		v->objs[i] = ev->obj;
		break;
	case KUBE_EV_DELETED:
		if (i < v->n)
			memmove(&v->objs[i], &v->objs[i + 1], (v->n - i - 1) * sizeof(v->objs[0]));
		v->n -= i < v->n;
		break;
	default: /* BOOKMARK */ break;
	}
	if (ev->obj.rv[0])
		memcpy(v->rv, ev->obj.rv, sizeof(v->rv));
	return DISC_EV_OK;
}

static int ep_cmp(const void *a, const void *b)
{
	const struct kube_ep *x = a, *y = b;
	int c = ip_addr_cmp(&x->ip, &y->ip);
	return c ? c : (int)x->port - (int)y->port;
}

void disc_set_normalize(struct disc_set *s)
{
	if (!s->n)
		return;
	qsort(s->eps, s->n, sizeof(s->eps[0]), ep_cmp);
	size_t k = 1;
	for (size_t i = 1; i < s->n; i++)
		if (ep_cmp(&s->eps[i], &s->eps[k - 1]))
			s->eps[k++] = s->eps[i];
	s->n = k;
}

/* Appends into a scratch array big enough for everything, then normalizes into out. */
static void collect(struct disc_set *out, const struct kube_ep *const *lists, const size_t *ns, size_t nl)
{
	size_t total = 0;
	for (size_t i = 0; i < nl; i++)
		total += ns[i];
	struct kube_ep *all = total ? malloc(total * sizeof(*all)) : NULL;
	size_t k = 0;
	for (size_t i = 0; all && i < nl; i++)
		for (size_t j = 0; j < ns[i]; j++)
			all[k++] = lists[i][j];
	if (k)
		qsort(all, k, sizeof(*all), ep_cmp);
	out->n = 0;
	for (size_t i = 0; i < k && out->n < DISC_MAX_SERVERS; i++)
		if (!out->n || ep_cmp(&all[i], &out->eps[out->n - 1]))
			out->eps[out->n++] = all[i];
	free(all);
}

void disc_view_flatten(const struct disc_view *v, struct disc_set *out)
{
	const struct kube_ep *lists[KUBE_MAX_ITEMS];
	size_t ns[KUBE_MAX_ITEMS];
	for (size_t i = 0; i < v->n; i++) {
		lists[i] = v->objs[i].eps;
		ns[i] = v->objs[i].n;
	}
	collect(out, lists, ns, v->n);
}

void disc_set_from_etcd(struct disc_set *out, const struct etcd_members *m)
{
	const struct kube_ep *lists[1] = { m->eps };
	size_t ns[1] = { m->n };
	collect(out, lists, ns, 1);
}

bool disc_set_equal(const struct disc_set *a, const struct disc_set *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (ep_cmp(&a->eps[i], &b->eps[i]))
			return false;
	return true;
}

enum disc_verdict disc_decide(const struct disc_set *applied, const struct disc_set *candidate)
{
	if (!candidate->n)
		return DISC_KEEP_EMPTY;
	return disc_set_equal(applied, candidate) ? DISC_SAME : DISC_APPLY;
}

const char *disc_verdict_name(enum disc_verdict v)
{
	return v == DISC_APPLY ? "apply" : v == DISC_SAME ? "same" : "empty list not applied";
}
