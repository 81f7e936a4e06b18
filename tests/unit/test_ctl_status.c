/* Status JSON (well-formed, stable names, escaping, nulls) and the human table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctl/status.h"
#include "test_ctl_fixture.h"

/* A strict little JSON recogniser: returns the position after one value, or NULL. */
static const char *json_value(const char *p);

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p && *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *json_container(const char *p, char close, bool object)
{
	p = ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = json_string(ws(p));
			if (!p || *(p = ws(p)) != ':')
				return NULL;
			p++;
		}
		p = json_value(p);
		if (!p)
			return NULL;
		p = ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p)
{
	p = ws(p);
	if (*p == '{')
		return json_container(p, '}', true);
	if (*p == '[')
		return json_container(p, ']', false);
	if (*p == '"')
		return json_string(p);
	for (const char *const *lit = (const char *const[]){ "true", "false", "null", NULL }; *lit;
	     lit++)
		if (strncmp(p, *lit, strlen(*lit)) == 0)
			return p + strlen(*lit);
	const char *s = p;
	if (*p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
		p++;
	return p > s ? p : NULL;
}

static char *render_json(bool vrrp)
{
	struct snapshot s;
	fixture(&s, vrrp);
	struct strbuf b = { 0 };
	status_format_json(&s, &b);
	assert_false(b.oom);
	const char *end = json_value(b.p);
	assert_non_null(end);
	assert_string_equal(ws(end), "");
	return b.p;
}

static void test_json_fields(void **st)
{
	(void)st;
	char *j = render_json(false);
	assert_non_null(strstr(j, "{\"node\":\"lb1\",\"version\":\"1.2.3\",\"uptime_s\":3723,"));
	assert_non_null(strstr(j, "\"vrrp\":[]"));
	assert_non_null(strstr(j, "\"reclaim\":{\"pending\":3,\"freed_total\":41,\"configs\":2}"));
	assert_non_null(strstr(
		j, "\"listeners\":[{\"name\":\"api\",\"bind\":\"198.18.0.100:6443\","
		   "\"backend\":\"apiservers\",\"protocol\":\"tcp\",\"accepted_total\":1240,\"rejected_total\":6,"
		   "\"empty_total\":2,\"fast_path_total\":900,\"fast_path_active\":12}]"));
	assert_non_null(strstr(
		j, "\"fast_path\":{\"mode\":\"auto\",\"active\":true,\"reason\":\"\",\"sockets\":24}"));
	assert_non_null(
		strstr(j, "\"address\":\"198.18.0.21:6443\",\"state\":\"up\",\"eligible\":true"));
	assert_non_null(
		strstr(j, "\"address\":\"198.18.0.22:6443\",\"state\":\"down\",\"eligible\":false"));
	assert_non_null(strstr(j, "\"state\":\"drained\""));
	assert_non_null(strstr(j, "\"reason\":\"HTTP 500\""));
	assert_non_null(strstr(j, "\"last_check_ago_ms\":null"));
	assert_non_null(strstr(j, "\"last_check_ago_ms\":300"));
	assert_non_null(strstr(j, "\"queue_length\":2"));
	assert_non_null(strstr(j, "\"eligible_servers\":1"));
	assert_non_null(strstr(
		j, "\"active_connections\":3,\"connections_total\":1234,"
		   "\"connect_failures_total\":1,\"bytes_to_server\":4096,"
		   "\"bytes_from_server\":10485760"));
	/* quotes and backslashes in a check reason stay valid JSON */
	assert_non_null(strstr(j, "\"reason\":\"say \\\"hi\\\"\\\\\""));
	free(j);
}

static void test_json_vrrp(void **st)
{
	(void)st;
	char *j = render_json(true);
	assert_non_null(
		strstr(j, "\"vrrp\":[{\"name\":\"vi_1\",\"interface\":\"eth0\",\"router_id\":51,"));
	assert_non_null(strstr(
		j, "\"state\":\"master\",\"state_since_ago_ms\":5000,\"base_priority\":110,"
		   "\"effective_priority\":90,\"unfit\":false,\"vips\":[\"198.18.0.100/24\"]"));
	assert_non_null(strstr(j, "\"master\":{\"address\":\"198.18.0.11\",\"priority\":90}"));
	assert_non_null(strstr(
		j, "\"trackers\":[{\"kind\":\"backend\",\"name\":\"apiservers\",\"ok\":false,\"state\":\"down\",\"weight\":-20}]"));
	assert_non_null(strstr(j, "\"transitions_total\":{\"backup\":1,\"master\":1}"));
	assert_non_null(strstr(j, "\"adverts_dropped_total\":{\"checksum\":3}"));
	free(j);
}

static void test_json_bgp(void **st)
{
	(void)st;
	struct snapshot s;
	fixture(&s, false);
	fixture_bgp(&s);
	struct strbuf b = { 0 };
	status_format_json(&s, &b);
	const char *j = b.p;
	assert_non_null(json_value(j));
	assert_non_null(strstr(
		j, "\"bgp\":{\"router_id\":\"198.18.1.1\",\"bird_running\":true,\"bird_pid\":42,"));
	assert_non_null(
		strstr(j, "\"peers\":[{\"name\":\"tor1\",\"address\":\"198.18.1.0\",\"asn\":65000,"
			  "\"state\":\"Established\",\"up\":true,\"uptime_s\":90,\"bfd\":\"up\"}"));
	assert_non_null(strstr(j, "\"announce\":[{\"prefix\":\"198.18.200.1/32\",\"announced\":true,"
				  "\"wanted\":true,\"degraded\":false,\"reason\":\"announced\"}"));
	assert_non_null(strstr(j, "\"reason\":\"no eligible server: apiservers\""));
	sb_free(&b);
	fixture(&s, false); /* no section: no key */
	status_format_json(&s, &b);
	assert_null(strstr(b.p, "\"bgp\""));
	sb_free(&b);
}

static void test_text_bgp(void **st)
{
	(void)st;
	struct snapshot s;
	fixture(&s, false);
	fixture_bgp(&s);
	struct strbuf b = { 0 };
	status_format_text(&s, &b);
	const char *t = b.p;
	assert_non_null(strstr(t, "BGP PEER"));
	assert_non_null(strstr(t, "tor1      198.18.1.0     65000  Established  1m30s  up\n"));
	assert_non_null(strstr(t, "198.18.200.1/32      yes        announced\n"));
	assert_non_null(strstr(t, "2001:db8:200::1/128  NO         no eligible server: apiservers\n"));
	sb_free(&b);
}

static void test_json_sync(void **st)
{
	(void)st;
	struct snapshot s;
	fixture(&s, true);
	fixture_sync(&s);
	struct strbuf b = { 0 };
	status_format_json(&s, &b);
	assert_false(b.oom);
	const char *j = b.p, *end = json_value(j);
	assert_non_null(end);
	assert_string_equal(ws(end), "");
	assert_non_null(strstr(
		j, "\"sync\":{\"port\":7946,\"peers_configured\":2,\"local_connections\":5,"
		   "\"local_cap_hits_total\":1,\"log_dropped_total\":0,\"messages_sent_total\":80,"
		   "\"bytes_sent_total\":9000,\"send_errors_total\":0,"
		   "\"messages_received_total\":45,\"rejected\":{\"bad_magic\":0,"));
	assert_non_null(strstr(
		j, "\"unknown_source\":0,\"own_node\":0,\"too_many_peers\":0,\"replay\":1},"
		   "\"takeovers_total\":1,\"tickles_sent_total\":12,\"tickle_errors_total\":0,"
		   "\"tickles_pending\":4,\"resets_total\":6,\"peers_lost_total\":0,\"peers\":["));
	assert_non_null(strstr(j, "\"bad_mac\":2,"));
	assert_null(strstr(j, "\"rejected\":{\"ok\"")); /* SYNC_OK is not a rejection */
	for (size_t r = 0; r < sizeof(fx_sync_reasons) / sizeof(fx_sync_reasons[0]); r++) {
		char k[64];
		snprintf(k, sizeof(k), "\"%s\":", fx_sync_reasons[r]);
		assert_non_null(strstr(j, k));
	}
	assert_non_null(strstr(
		j, "\"peers\":[{\"node\":\"lb2\",\"address\":\"198.18.0.12\",\"connections\":3,"
		   "\"messages_total\":40,\"cap_hits_total\":0,\"gaps_total\":1,"
		   "\"refreshes_total\":2,\"restarts_total\":0,\"last_message_age_ms\":200,"
		   "\"lost\":false,\"withdrawn\":false},"
		   "{\"node\":\"lb\\\"3\",\"address\":\"2001:db8::13\",\"connections\":7,"));
	assert_non_null(strstr(j, "\"last_message_age_ms\":61000,\"lost\":true,\"withdrawn\":false}]}"));
	sb_free(&b);
	s.sync.peers[0].last_message_ago_ms = SNAP_NEVER; /* no message yet: null */
	s.sync.n_peers = 1;
	status_format_json(&s, &b);
	assert_non_null(strstr(b.p, "\"last_message_age_ms\":null,\"lost\":false"));
	assert_non_null(json_value(b.p));
	sb_free(&b);
	fixture(&s, true); /* no section: no key */
	status_format_json(&s, &b);
	assert_null(strstr(b.p, "\"sync\""));
	sb_free(&b);
}

static void test_text_sync(void **st)
{
	(void)st;
	struct snapshot s;
	fixture(&s, true);
	fixture_sync(&s);
	struct strbuf b = { 0 };
	status_format_text(&s, &b);
	const char *t = b.p;
	assert_non_null(strstr(
		t, "\nsync: port 7946, 2 peers configured, 5 local connections\n"
		   "SYNC PEER  ADDRESS       CONNS  LAST_MESSAGE\n"
		   "lb2        198.18.0.12   3      200ms\n"
		   "lb\"3       2001:db8::13  7      1m01s (lost)\n"
		   "tickles sent 12, rejected 3 (bad_mac 2, replay 1)\n\n"));
	sb_free(&b);
	/* quiet: no reason listed; errors only when there are some */
	s.sync.n_peers = 0;
	for (size_t i = 0; i < s.sync.n_rejected; i++)
		s.sync.rejected[i].value = 0;
	s.sync.st.tickle_errors_total = 2;
	s.sync.st.log_dropped_total = 8;
	status_format_text(&s, &b);
	assert_non_null(strstr(
		b.p, "SYNC PEER  ADDRESS  CONNS  LAST_MESSAGE\n"
		     "tickles sent 12, rejected 0, tickle errors 2, "
		     "log events dropped 8\n"));
	sb_free(&b);
	fixture(&s, true);
	status_format_text(&s, &b);
	assert_null(strstr(b.p, "sync"));
	sb_free(&b);
}

/* The fixture's reason list is the engine's, in order: the label values are a contract. */
static void test_sync_reason_names(void **st)
{
	(void)st;
	assert_int_equal(SYNC_REJECT__COUNT - 1, sizeof(fx_sync_reasons) / sizeof(fx_sync_reasons[0]));
	for (int r = 1; r < SYNC_REJECT__COUNT; r++)
		assert_string_equal(sync_reject_name(r), fx_sync_reasons[r - 1]);
	assert_string_equal(sync_reject_name(SYNC_REJECT__COUNT), "unknown");
}

static void test_json_control_chars(void **st)
{
	(void)st;
	struct snapshot s;
	fixture(&s, false);
	s.node = "a\x01\tb";
	struct strbuf b = { 0 };
	status_format_json(&s, &b);
	assert_non_null(strstr(b.p, "\"node\":\"a\\u0001\\tb\""));
	assert_non_null(json_value(b.p));
	sb_free(&b);
}

static void test_text_table(void **st)
{
	(void)st;
	struct snapshot s;
	fixture(&s, true);
	struct strbuf b = { 0 };
	status_format_text(&s, &b);
	const char *t = b.p;
	assert_non_null(strstr(t, "node lb1  version 1.2.3  uptime 1h02m\n"));
	assert_non_null(strstr(
		t, "vi_1  master  90/110  198.18.0.11  5.0s   198.18.0.100/24  backend:apiservers=FAIL\n"));
	assert_non_null(strstr(t, "api       198.18.0.100:6443  apiservers  1240      6         2\n"));
	assert_non_null(strstr(t, "apiservers  roundrobin  https  1/3       2      5\n"));
	assert_non_null(strstr(
		t, "198.18.0.21:6443     up                HTTP 200 (7 ok, 300ms ago)    3       1234   4.0K       10M          1\n"));
	assert_non_null(strstr(t, "HTTP 500 (4 fail, 100ms ago)"));
	assert_non_null(strstr(t, "drained (backup)"));
	assert_non_null(strstr(t, "4.0K       10M"));
	assert_non_null(strstr(
		t, "\nreplaced by reloads or discovery and still in use: 3 objects, 2 configs in memory\n"));
	assert_non_null(strstr(t, "fast path (auto): 12 connections in the kernel now, 900 moved "
				  "there in all\n"));
	sb_free(&b);
	s.reclaim.pending = 0; /* the usual case: no line */
	s.fast_path.active = false;
	s.fast_path.reason = "BPF refused";
	status_format_text(&s, &b);
	assert_null(strstr(b.p, "still in use"));
	assert_non_null(strstr(b.p, "fast path (auto): not in use: BPF refused\n"));
	sb_free(&b);
	s.fast_path.mode = "off"; /* the default: no line */
	status_format_text(&s, &b);
	assert_null(strstr(b.p, "fast path"));
	sb_free(&b);
}

static void test_format_helpers(void **st)
{
	(void)st;
	char buf[32];
	format_bytes(0, buf, sizeof(buf));
	assert_string_equal(buf, "0");
	format_bytes(1023, buf, sizeof(buf));
	assert_string_equal(buf, "1023");
	format_bytes(1536, buf, sizeof(buf));
	assert_string_equal(buf, "1.5K");
	format_bytes(3ull << 30, buf, sizeof(buf));
	assert_string_equal(buf, "3.0G");
	format_ago(SNAP_NEVER, buf, sizeof(buf));
	assert_string_equal(buf, "never");
	format_ago(999, buf, sizeof(buf));
	assert_string_equal(buf, "999ms");
	format_ago(61000, buf, sizeof(buf));
	assert_string_equal(buf, "1m01s");
	format_ago(90061000, buf, sizeof(buf));
	assert_string_equal(buf, "1d01h");
}

static void test_strbuf_growth(void **st)
{
	(void)st;
	struct strbuf b = { 0 };
	assert_string_equal(sb_str(&b), "");
	for (int i = 0; i < 1000; i++)
		sb_printf(&b, "%0300d", i);
	assert_int_equal(b.len, 300000);
	assert_int_equal(b.p[b.len], '\0');
	sb_reset(&b);
	assert_string_equal(sb_str(&b), "");
	sb_free(&b);
}

static void test_udp_listener(void **st)
{
	(void)st;
	struct snapshot s;
	struct snap_listener two[2];
	fixture_udp(&s, two);
	struct strbuf b = { 0 };
	status_format_json(&s, &b);
	assert_false(b.oom);
	assert_non_null(json_value(b.p));
	assert_non_null(strstr(
		b.p,
		"{\"name\":\"dns\",\"bind\":\"198.18.0.100:53\",\"backend\":\"apiservers\","
		"\"protocol\":\"udp\",\"sessions_total\":70,\"sessions_active\":3,"
		"\"datagrams_in_total\":71,\"datagrams_out_total\":69,\"bytes_in_total\":2840,"
		"\"bytes_out_total\":5520,\"drops\":{\"session_cap\":5,\"no_server\":0,"
		"\"local\":0,\"to_server\":0,\"to_client\":2,\"truncated\":0}}"));
	free(b.p);
	b = (struct strbuf){ 0 };
	status_format_text(&s, &b);
	assert_false(b.oom);
	assert_non_null(strstr(b.p, "UDP LISTENER"));
	assert_non_null(strstr(b.p, "session_cap=5 to_client=2\n"));
	const char *row = strstr(b.p, "\ndns ");
	assert_non_null(row);
	assert_non_null(strstr(row, " 70 "));
	/* the TCP table does not list it */
	const char *tcp = strstr(b.p, "LISTENER  ");
	assert_true(tcp && tcp < strstr(b.p, "UDP LISTENER"));
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_listener),      cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_json_vrrp),         cmocka_unit_test(test_json_control_chars),
		cmocka_unit_test(test_json_bgp),          cmocka_unit_test(test_text_bgp),
		cmocka_unit_test(test_json_sync),         cmocka_unit_test(test_text_sync),
		cmocka_unit_test(test_sync_reason_names), cmocka_unit_test(test_text_table),
		cmocka_unit_test(test_format_helpers),    cmocka_unit_test(test_strbuf_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
