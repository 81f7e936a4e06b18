/* The informer view and the merge rule (discover/merge.c): LIST replaces, ADDED/MODIFIED put,
 * DELETED removes, BOOKMARK moves the resourceVersion only, 410 asks for a re-list, other ERRORs
 * fail the watch; the flattened set is sorted and deduplicated; an empty candidate is never
 * applied; plus a random event sequence checked against a naive model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "discover/merge.h"

static struct kube_ep EP(const char *ip, uint16_t port) {
	struct kube_ep e = { .port = port };
	assert_int_equal(ip_addr_parse(ip, &e.ip), 0);
	return e;
}

static void
assert_ip(const struct kube_ep *e, const char *ip)
{
	struct kube_ep want = EP(ip, 1);
	assert_int_equal(ip_addr_cmp(&e->ip, &want.ip), 0);
}

static struct kube_event EV(
	enum kube_ev_type t, const char *name, const char *rv, size_t n, const struct kube_ep *eps) {
	struct kube_event ev = { .type = t };
	snprintf(ev.obj.name, sizeof(ev.obj.name), "%s", name);
	snprintf(ev.obj.rv, sizeof(ev.obj.rv), "%s", rv);
	ev.obj.n = n;
	if (n)
		memcpy(ev.obj.eps, eps, n * sizeof(*eps));
	return ev;
}

static void
view_informer_rules(void **state)
{
	(void)state;
	struct disc_view v;
	struct kube_list l = { .n = 1 };
	snprintf(l.rv, sizeof(l.rv), "100");
	snprintf(l.items[0].name, sizeof(l.items[0].name), "kubernetes");
	l.items[0].n = 2;
	l.items[0].eps[0] = EP("198.18.0.22", 6443);
	l.items[0].eps[1] = EP("198.18.0.21", 6443);
	disc_view_from_list(&v, &l);
	struct disc_set s;
	disc_view_flatten(&v, &s);
	assert_int_equal(s.n, 2);
	assert_ip(&s.eps[0], "198.18.0.21"); /* sorted */
	assert_string_equal(v.rv, "100");

	/* a second slice with an overlap: union, no duplicate */
	struct kube_ep two[] = { EP("198.18.0.21", 6443), EP("198.18.0.24", 6443) };
	struct kube_event ev = EV(KUBE_EV_ADDED, "kubernetes-2", "101", 2, two);
	assert_int_equal(disc_view_apply(&v, &ev), DISC_EV_OK);
	disc_view_flatten(&v, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(v.rv, "101");
	/* same address, other port: a different server */
	struct kube_ep p[] = { EP("198.18.0.21", 443) };
	ev = EV(KUBE_EV_MODIFIED, "kubernetes-2", "102", 1, p);
	assert_int_equal(disc_view_apply(&v, &ev), DISC_EV_OK);
	disc_view_flatten(&v, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.eps[0].port, 443);
	/* bookmark: rv only */
	ev = EV(KUBE_EV_BOOKMARK, "", "150", 0, NULL);
	assert_int_equal(disc_view_apply(&v, &ev), DISC_EV_OK);
	assert_string_equal(v.rv, "150");
	assert_int_equal(v.n, 2);
	/* delete, and delete of an unknown name */
	ev = EV(KUBE_EV_DELETED, "kubernetes-2", "151", 0, NULL);
	assert_int_equal(disc_view_apply(&v, &ev), DISC_EV_OK);
	ev = EV(KUBE_EV_DELETED, "nope", "152", 0, NULL);
	assert_int_equal(disc_view_apply(&v, &ev), DISC_EV_OK);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.rv, "152");
	/* errors */
	ev = (struct kube_event){ .type = KUBE_EV_ERROR, .code = 410 };
	assert_int_equal(disc_view_apply(&v, &ev), DISC_EV_RELIST);
	ev.code = 500;
	assert_int_equal(disc_view_apply(&v, &ev), DISC_EV_FAIL);
	assert_string_equal(v.rv, "152"); /* untouched by errors */
	assert_int_equal(v.n, 1);
	/* more objects than fit: fail, the view stays whole */
	for (int i = 0; v.n < KUBE_MAX_ITEMS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		ev = EV(KUBE_EV_ADDED, name, "200", 0, NULL);
		assert_int_equal(disc_view_apply(&v, &ev), DISC_EV_OK);
	}
	ev = EV(KUBE_EV_ADDED, "one-too-many", "201", 0, NULL);
	assert_int_equal(disc_view_apply(&v, &ev), DISC_EV_FAIL);
	assert_int_equal(v.n, KUBE_MAX_ITEMS);
}

static void decide_never_empty(void **state)
{
	(void)state;
	struct disc_set applied = { .n = 0 }, cand = { .n = 0 };
	assert_int_equal(disc_decide(&applied, &cand), DISC_KEEP_EMPTY); /* even at the start */
	cand.n = 1;
	cand.eps[0] = EP("198.18.0.21", 6443);
	assert_int_equal(disc_decide(&applied, &cand), DISC_APPLY);
	applied = cand;
	assert_int_equal(disc_decide(&applied, &cand), DISC_SAME);
	cand.n = 0;
	assert_int_equal(disc_decide(&applied, &cand), DISC_KEEP_EMPTY);
	cand.n = 1;
	cand.eps[0].port = 6444;
	assert_int_equal(disc_decide(&applied, &cand), DISC_APPLY);
	assert_string_equal(disc_verdict_name(DISC_KEEP_EMPTY), "empty list not applied");
}

static void etcd_set(void **state)
{
	(void)state;
	struct etcd_members m = { .n = 3 };
	m.eps[0] = EP("198.18.0.33", 2379);
	m.eps[1] = EP("198.18.0.31", 2379);
	m.eps[2] = EP("198.18.0.33", 2379);
	struct disc_set s;
	disc_set_from_etcd(&s, &m);
	assert_int_equal(s.n, 2);
	assert_ip(&s.eps[0], "198.18.0.31");
	struct disc_set t = { .n = 3 };
	t.eps[0] = m.eps[2];
	t.eps[1] = m.eps[0];
	t.eps[2] = m.eps[1];
	disc_set_normalize(&t);
	assert_true(disc_set_equal(&s, &t));
}

/* Random ADDED/MODIFIED/DELETED/BOOKMARK over 4 names and 8 addresses, compared with a model
 * that keeps a bitmask per name. */
static void random_against_model(void **state)
{
	(void)state;
	srand(1818);
	struct disc_view v;
	memset(&v, 0, sizeof(v));
	unsigned model[4] = { 0 };
	int present[4] = { 0 };
	for (int step = 0; step < 20000; step++) {
		int name = rand() % 4, t = rand() % 4;
		char nm[8], rv[16];
		snprintf(nm, sizeof(nm), "s%d", name);
		snprintf(rv, sizeof(rv), "%d", step);
		struct kube_ep eps[8];
		size_t n = 0;
		unsigned mask = (unsigned)rand() & 0xff;
		for (int a = 0; a < 8; a++)
			if (mask & (1u << a)) {
				char ip[32];
				snprintf(ip, sizeof(ip), "198.18.0.%d", 20 + a);
				eps[n++] = EP(ip, 6443);
			}
		struct kube_event ev = EV(
			t == 0   ? KUBE_EV_ADDED
			: t == 1 ? KUBE_EV_MODIFIED
			: t == 2 ? KUBE_EV_DELETED
				 : KUBE_EV_BOOKMARK,
			t == 3 ? "" : nm, rv, t < 2 ? n : 0, eps);
		assert_int_equal(disc_view_apply(&v, &ev), DISC_EV_OK);
		if (t < 2) {
			model[name] = mask;
			present[name] = 1;
		} else if (t == 2) {
			model[name] = 0;
			present[name] = 0;
		}
		unsigned all = 0;
		int objs = 0;
		for (int i = 0; i < 4; i++) {
			all |= model[i];
			objs += present[i];
		}
		struct disc_set s;
		disc_view_flatten(&v, &s);
		assert_int_equal(v.n, objs);
		assert_int_equal(s.n, __builtin_popcount(all));
		for (size_t i = 0; i < s.n; i++) {
			unsigned last = ntohl(s.eps[i].ip.v4.s_addr) & 0xff;
			assert_true(all & (1u << (last - 20)));
			if (i)
				assert_true(ntohl(s.eps[i - 1].ip.v4.s_addr) <
					    ntohl(s.eps[i].ip.v4.s_addr));
		}
		assert_string_equal(v.rv, rv);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(view_informer_rules),
		cmocka_unit_test(decide_never_empty),
		cmocka_unit_test(etcd_set),
		cmocka_unit_test(random_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
