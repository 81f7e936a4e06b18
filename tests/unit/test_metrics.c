/* Prometheus formatter: families, labels, escaping, histogram cumulation, VRRP hook. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctl/metrics.h"
#include "test_ctl_fixture.h"

static char *render(bool vrrp)
{
	struct snapshot s;
	fixture(&s, vrrp);
	struct strbuf b = { 0 };
	metrics_format(&s, &b);
	assert_false(b.oom);
	return b.p;
}

static void has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	}
	fail_msg("missing line: %s", line);
}

static void test_server_samples(void **st)
{
	(void)st;
	char *t = render(false);
	has_line(t, "buoy_build_info{version=\"1.2.3\",node=\"lb1\"} 1");
	has_line(t, "buoy_reclaim_pending 3");
	has_line(t, "buoy_fast_path_active 1");
	has_line(t, "buoy_fast_path_sockets 24");
	has_line(t, "# TYPE buoy_listener_fast_path_active gauge");
	has_line(t, "buoy_listener_fast_path_total{listener=\"api\",backend=\"apiservers\"} 900");
	has_line(t, "buoy_reclaim_freed_total 41");
	has_line(t, "buoy_reclaim_configs 2");
	has_line(t, "buoy_server_up{backend=\"apiservers\",server=\"198.18.0.21:6443\"} 1");
	has_line(t, "buoy_server_up{backend=\"apiservers\",server=\"198.18.0.22:6443\"} 0");
	has_line(t, "buoy_server_drained{backend=\"apiservers\",server=\"[2001:db8::23]:6443\"} 1");
	has_line(t, "buoy_server_active_connections{backend=\"apiservers\",server=\"198.18.0.21:6443\"} 3");
	has_line(t, "buoy_server_connections_total{backend=\"apiservers\",server=\"198.18.0.21:6443\"} 1234");
	has_line(t, "buoy_server_connect_failures_total{backend=\"apiservers\",server=\"198.18.0.21:6443\"} 1");
	has_line(t, "buoy_server_bytes_total{backend=\"apiservers\",server=\"198.18.0.21:6443\",direction=\"to_server\"} 4096");
	has_line(t, "buoy_server_bytes_total{backend=\"apiservers\",server=\"198.18.0.21:6443\",direction=\"from_server\"} 10485760");
	has_line(t, "buoy_listener_connections_total{listener=\"api\",backend=\"apiservers\"} 1240");
	has_line(t, "buoy_listener_empty_total{listener=\"api\",backend=\"apiservers\"} 2");
	has_line(t, "buoy_queue_length{backend=\"apiservers\"} 2");
	has_line(t, "buoy_queue_timeouts_total{backend=\"apiservers\"} 5");
	has_line(t, "buoy_queue_full_total{backend=\"apiservers\"} 9");
	has_line(t, "# TYPE buoy_server_connections_total counter");
	has_line(t, "# TYPE buoy_queue_length gauge");
	assert_null(strstr(t, "buoy_vrrp"));
	free(t);
}

static void test_histogram_cumulative(void **st)
{
	(void)st;
	char *t = render(false);
	const char *l = "backend=\"apiservers\",server=\"198.18.0.21:6443\"";
	char line[256];
	has_line(t, "# TYPE buoy_health_check_duration_seconds histogram");
	snprintf(line, sizeof(line), "buoy_health_check_duration_seconds_bucket{%s,le=\"0.001\"} 1", l);
	has_line(t, line);
	snprintf(line, sizeof(line), "buoy_health_check_duration_seconds_bucket{%s,le=\"0.0025\"} 2", l);
	has_line(t, line);
	snprintf(line, sizeof(line), "buoy_health_check_duration_seconds_bucket{%s,le=\"10\"} 2", l);
	has_line(t, line);
	snprintf(line, sizeof(line), "buoy_health_check_duration_seconds_bucket{%s,le=\"+Inf\"} 3", l);
	has_line(t, line);
	snprintf(line, sizeof(line), "buoy_health_check_duration_seconds_count{%s} 3", l);
	has_line(t, line);
	snprintf(line, sizeof(line), "buoy_health_check_duration_seconds_sum{%s} 20.002300", l);
	has_line(t, line);
	free(t);
}

static void test_label_escaping(void **st)
{
	(void)st;
	struct snapshot s;
	fixture(&s, false);
	s.node = "a\"b\\c\nd";
	struct strbuf b = { 0 };
	metrics_format(&s, &b);
	has_line(b.p, "buoy_build_info{version=\"1.2.3\",node=\"a\\\"b\\\\c\\nd\"} 1");
	sb_free(&b);
}

/* Every sample belongs to the family announced last (the text format requires grouping),
 * and each family is announced once. */
static void test_families_grouped(void **st)
{
	(void)st;
	struct snapshot s;
	fixture(&s, true);
	fixture_bgp(&s);
	fixture_sync(&s);
	struct strbuf b = { 0 };
	metrics_format(&s, &b);
	char *t = b.p;
	char fam[128] = "", seen[64][128];
	size_t nseen = 0;
	for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "# TYPE ", 7) == 0) {
			sscanf(line + 7, "%127s", fam);
			for (size_t i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], fam);
			assert_true(nseen < 64);
			strcpy(seen[nseen++], fam);
			continue;
		}
		if (line[0] == '#')
			continue;
		assert_true(strncmp(line, fam, strlen(fam)) == 0);
	}
	free(t);
}

static void test_vrrp(void **st)
{
	(void)st;
	char *t = render(true);
	has_line(t, "buoy_vrrp_state{instance=\"vi_1\",state=\"master\"} 1");
	has_line(t, "buoy_vrrp_state{instance=\"vi_1\",state=\"backup\"} 0");
	has_line(t, "buoy_vrrp_state{instance=\"vi_1\",state=\"fault\"} 0");
	has_line(t, "buoy_vrrp_priority{instance=\"vi_1\",kind=\"base\"} 110");
	has_line(t, "buoy_vrrp_priority{instance=\"vi_1\",kind=\"effective\"} 90");
	has_line(t, "buoy_vrrp_transitions_total{instance=\"vi_1\",to=\"master\"} 1");
	has_line(t, "buoy_vrrp_adverts_received_total{instance=\"vi_1\"} 17");
	has_line(t, "buoy_vrrp_adverts_dropped_total{instance=\"vi_1\",reason=\"checksum\"} 3");
	free(t);
}

static void test_bgp(void **st)
{
	(void)st;
	struct snapshot s;
	fixture(&s, false);
	struct strbuf b = { 0 };
	metrics_format(&s, &b);
	assert_null(strstr(b.p, "buoy_bgp")); /* no bgp: section, no families */
	sb_free(&b);
	fixture_bgp(&s);
	metrics_format(&s, &b);
	const char *t = b.p;
	has_line(t, "buoy_bgp_session_up{peer=\"tor1\",address=\"198.18.1.0\"} 1");
	has_line(t, "buoy_bgp_session_up{peer=\"tor2\",address=\"2001:db8:1::1\"} 0");
	has_line(t, "buoy_bgp_session_uptime_seconds{peer=\"tor1\",address=\"198.18.1.0\"} 90");
	has_line(t, "buoy_bgp_session_uptime_seconds{peer=\"tor2\",address=\"2001:db8:1::1\"} 0");
	has_line(t, "buoy_bgp_bfd_up{peer=\"tor1\",address=\"198.18.1.0\"} 1");
	assert_null(strstr(t, "buoy_bgp_bfd_up{peer=\"tor2\""));
	has_line(t, "buoy_vip_announced{prefix=\"198.18.200.1/32\"} 1");
	has_line(t, "buoy_vip_announced{prefix=\"2001:db8:200::1/128\"} 0");
	has_line(t, "buoy_bgp_bird_running 1");
	has_line(t, "buoy_bgp_bird_starts_total 2");
	has_line(t, "# TYPE buoy_vip_announced gauge");
	sb_free(&b);
}

static void test_sync(void **st)
{
	(void)st;
	struct snapshot s;
	fixture(&s, true);
	struct strbuf b = { 0 };
	metrics_format(&s, &b);
	assert_null(strstr(b.p, "sync")); /* no sync: section, no families */
	assert_null(strstr(b.p, "tickle"));
	sb_free(&b);
	fixture_sync(&s);
	metrics_format(&s, &b);
	const char *t = b.p;
	has_line(t, "# TYPE buoy_sync_local_connections gauge");
	has_line(t, "buoy_sync_local_connections 5");
	has_line(t, "# TYPE buoy_sync_peer_connections gauge");
	has_line(t, "buoy_sync_peer_connections{peer=\"lb2\"} 3");
	has_line(t, "buoy_sync_peer_connections{peer=\"lb\\\"3\"} 7"); /* escaped */
	has_line(t, "# TYPE buoy_sync_messages_sent_total counter");
	has_line(t, "buoy_sync_messages_sent_total 80");
	has_line(t, "buoy_sync_bytes_sent_total 9000");
	has_line(t, "buoy_sync_send_errors_total 0");
	has_line(t, "buoy_sync_messages_received_total 45");
	has_line(t, "buoy_sync_peer_messages_total{peer=\"lb2\"} 40");
	has_line(t, "# TYPE buoy_sync_rejected_total counter");
	for (size_t r = 0; r < sizeof(fx_sync_reasons) / sizeof(fx_sync_reasons[0]); r++) {
		char line[128];
		uint64_t v = strcmp(fx_sync_reasons[r], "bad_mac") == 0 ? 2
			     : strcmp(fx_sync_reasons[r], "replay") == 0
				     ? 1
				     : 0;
		snprintf(line, sizeof(line), "buoy_sync_rejected_total{reason=\"%s\"} %llu",
			 fx_sync_reasons[r], (unsigned long long)v);
		has_line(t, line);
	}
	has_line(t, "buoy_sync_cap_hits_total{peer=\"lb\\\"3\"} 9");
	has_line(t, "buoy_sync_local_cap_hits_total 1");
	has_line(t, "buoy_sync_log_dropped_total 0");
	has_line(t, "buoy_sync_gaps_total{peer=\"lb2\"} 1");
	has_line(t, "buoy_sync_peer_restarts_total{peer=\"lb\\\"3\"} 1");
	has_line(t, "buoy_tickles_sent_total 12");
	has_line(t, "buoy_tickle_errors_total 0");
	has_line(t, "# TYPE buoy_tickles_pending gauge");
	has_line(t, "buoy_tickles_pending 4");
	has_line(t, "buoy_sync_takeovers_total 1");
	has_line(t, "buoy_sync_resets_total 6");
	sb_free(&b);
}

static void test_hist_observe(void **st)
{
	(void)st;
	struct duration_hist h = { 0 };
	duration_hist_observe(&h, 1000); /* exactly on a bound: le is inclusive */
	duration_hist_observe(&h, 1001);
	duration_hist_observe(&h, 0);
	assert_int_equal(duration_hist_cumulative(&h, 0), 2);
	assert_int_equal(duration_hist_cumulative(&h, 1), 3);
	assert_int_equal(duration_hist_cumulative(&h, DURATION_HIST_BOUNDS), 3);
	assert_int_equal(h.count, 3);
	assert_int_equal(h.sum_us, 2001);
}

static void test_udp_listener(void **st)
{
	(void)st;
	struct snapshot s;
	struct snap_listener two[2];
	fixture_udp(&s, two);
	struct strbuf b = { 0 };
	metrics_format(&s, &b);
	assert_false(b.oom);
	const char *t = b.p;
	has_line(t, "buoy_listener_udp_sessions_total{listener=\"dns\",backend=\"apiservers\"} 70");
	has_line(t, "buoy_listener_udp_sessions{listener=\"dns\",backend=\"apiservers\"} 3");
	has_line(t, "buoy_listener_udp_datagrams_total{listener=\"dns\",backend=\"apiservers\",direction=\"in\"} 71");
	has_line(t, "buoy_listener_udp_datagrams_total{listener=\"dns\",backend=\"apiservers\",direction=\"out\"} 69");
	has_line(t, "buoy_listener_udp_bytes_total{listener=\"dns\",backend=\"apiservers\",direction=\"out\"} 5520");
	has_line(t, "buoy_listener_udp_drops_total{listener=\"dns\",backend=\"apiservers\",reason=\"session_cap\"} 5");
	has_line(t, "buoy_listener_udp_drops_total{listener=\"dns\",backend=\"apiservers\",reason=\"to_server\"} 0");
	/* TCP families do not list the UDP listener, and the UDP ones not the TCP listener */
	assert_null(strstr(t, "buoy_listener_connections_total{listener=\"dns\""));
	assert_null(strstr(t, "buoy_listener_udp_sessions_total{listener=\"api\""));
	free(b.p);
	/* no UDP listener: no UDP family at all */
	t = render(false);
	assert_null(strstr(t, "buoy_listener_udp"));
	free((char *)t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_samples), cmocka_unit_test(test_histogram_cumulative),
		cmocka_unit_test(test_label_escaping), cmocka_unit_test(test_families_grouped),
		cmocka_unit_test(test_vrrp),           cmocka_unit_test(test_bgp),
		cmocka_unit_test(test_udp_listener),   cmocka_unit_test(test_sync),
		cmocka_unit_test(test_hist_observe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
