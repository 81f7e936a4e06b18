/* Each enum's words, written once beside the enum: round trips, refusals, the predicates, the
 * lower-case VRRP labels against the log names; the one printer of a failed load; the bounded
 * list helper of the config toolkit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/convert.h"
#include "track/track.h"
#include "vrrp/fsm.h"

static void test_balance_names(void **state)
{
	(void)state;
	static const char *const want[] = { "roundrobin", "leastconn", "source", "random" };
	for (enum balance_algo a = BALANCE_ROUNDROBIN; a <= BALANCE_RANDOM; a++) {
		enum balance_algo got = BALANCE_RANDOM + 1;
		assert_string_equal(balance_algo_name(a), want[a]);
		assert_true(balance_algo_from_name(want[a], &got));
		assert_int_equal(got, a);
	}
	enum balance_algo keep = BALANCE_SOURCE;
	assert_false(balance_algo_from_name("RoundRobin", &keep));
	assert_false(balance_algo_from_name("", &keep));
	assert_false(balance_algo_from_name(NULL, &keep));
	assert_int_equal(keep, BALANCE_SOURCE);
	assert_string_equal(balance_algo_name((enum balance_algo)99), "unknown");
}

static void test_health_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		bool tls, http;
	} want[] = {
		[HEALTH_TCP] = { "tcp", false, false },   [HEALTH_TLS] = { "tls", true, false },
		[HEALTH_HTTP] = { "http", false, true },  [HEALTH_HTTPS] = { "https", true, true },
		[HEALTH_NONE] = { "none", false, false },
	};
	for (enum health_type t = HEALTH_TCP; t <= HEALTH_NONE; t++) {
		enum health_type got = HEALTH_NONE + 1;
		assert_string_equal(health_type_name(t), want[t].name);
		assert_true(health_type_from_name(want[t].name, &got));
		assert_int_equal(got, t);
		assert_int_equal(health_type_uses_tls(t), want[t].tls);
		assert_int_equal(health_type_uses_http(t), want[t].http);
	}
	enum health_type keep = HEALTH_HTTP;
	assert_false(health_type_from_name("HTTPS", &keep));
	assert_false(health_type_from_name("grpc", &keep));
	assert_int_equal(keep, HEALTH_HTTP);
	assert_string_equal(health_type_name((enum health_type) - 1), "unknown");
}

/* Status and metric labels are the log names in lower case, and never change. */
static void test_vrrp_state_labels(void **state)
{
	(void)state;
	static const char *const want[] = { "init", "backup", "master", "fault" };
	for (enum vrrp_state s = 0; s < VRRP_STATE__COUNT; s++) {
		assert_string_equal(vrrp_state_label(s), want[s]);
		assert_int_equal(strcasecmp(vrrp_state_label(s), vrrp_state_names[s]), 0);
	}
	assert_string_equal(vrrp_state_label(VRRP_STATE__COUNT), "unknown");
}

static void test_track_names(void **state)
{
	(void)state;
	assert_string_equal(track_state_name(TRACK_INIT), "init");
	assert_string_equal(track_state_name(TRACK_UP), "up");
	assert_string_equal(track_state_name(TRACK_DOWN), "down");
	assert_string_equal(track_kind_name(TRACK_IFACE), "interface");
	assert_string_equal(track_kind_name(TRACK_SCRIPT), "script");
	assert_string_equal(track_kind_name(TRACK_BACKEND), "backend");
	assert_string_equal(track_state_name((enum track_state)7), "unknown");
}

struct lines {
	char text[4][256];
	size_t n;
};

static void collect(void *arg, const char *line)
{
	struct lines *l = arg;
	if (l->n < 4)
		snprintf(l->text[l->n++], sizeof(l->text[0]), "%s", line);
}

static void test_errors_report(void **state)
{
	(void)state;
	const char *yaml = "listeners:\n  - { name: a, bind: \":80\", backend: b, colour: red }\n";
	struct config_errors e;
	struct lines l = { 0 };
	assert_null(config_load_buf("x.yaml", yaml, strlen(yaml), &e));
	config_errors_report(&e, "x.yaml", collect, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(e.n, 2);
	assert_string_equal(l.text[0], "x.yaml:2:38: listeners[0].backend: no backend named \"b\" "
				       "(defined: none)");
	assert_string_equal(l.text[1], "x.yaml:2:41: unknown key \"colour\" in listeners[0]");
	config_errors_free(&e);
	l.n = 0;
	config_errors_report(&e, "gone.yaml", collect, &l); /* failed without an error: say so */
	assert_int_equal(l.n, 1);
	assert_string_equal(l.text[0], "gone.yaml: cannot load config");
}

static void test_list_new(void **state)
{
	(void)state;
	struct config_errors e = { 0 };
	struct cfg_diag d = { &e, "x.yaml", NULL, NULL };
	size_t n = 99;
	assert_null(cfg_list_new(&d, "p", "k", 0, 4, "things", sizeof(int), &n));
	assert_int_equal(n, 99); /* empty: nothing, no error */
	assert_int_equal(e.n, 0);
	int *v = cfg_list_new(&d, "p", "k", 4, 4, "things", sizeof(int), &n);
	assert_non_null(v);
	assert_int_equal(n, 4);
	assert_int_equal(v[0] | v[3], 0); /* zeroed */
	free(v);
	assert_null(cfg_list_new(&d, "p", "k", 5, 4, "things", sizeof(int), NULL));
	assert_int_equal(e.n, 1);
	assert_string_equal(e.v[0].msg, "p.k: at most 4 things");
	config_errors_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balance_names),     cmocka_unit_test(test_health_names),
		cmocka_unit_test(test_vrrp_state_labels), cmocka_unit_test(test_track_names),
		cmocka_unit_test(test_errors_report),     cmocka_unit_test(test_list_new),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
