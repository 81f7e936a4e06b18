/* Kubernetes/etcd JSON decoding (discover/kube.c): EndpointSlice and Endpoints objects shaped as
 * the API reference documents them, every ready/terminating combination, port choice, LIST and
 * every WATCH event type, 410 Status, garbage, and the etcd member list (learners, unstarted
 * members, IPv6 URLs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "discover/kube.h"

static char err[KUBE_ERR_LEN];

static void assert_ep(const struct kube_ep *e, const char *ip, uint16_t port)
{
	char buf[IP_ADDR_STRLEN];
	assert_string_equal(ip_addr_format(&e->ip, IP_FMT_ADDR, buf, sizeof(buf)), ip);
	assert_int_equal(e->port, port);
}

static int event(const char *s, enum kube_kind k, struct kube_event *ev)
{
	err[0] = 0;
	return kube_decode_event(s, strlen(s), k, ev, err, sizeof(err));
}

#define SLICE(eps, ports) \
	"{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{" \
	"\"name\":\"kubernetes\",\"namespace\":\"default\",\"resourceVersion\":\"4711\",\"labels\":{" \
	"\"kubernetes.io/service-name\":\"kubernetes\"}},\"addressType\":\"IPv4\",\"endpoints\":" eps \
	",\"ports\":" ports "}"
#define HTTPS_PORT "[{\"name\":\"https\",\"port\":6443,\"protocol\":\"TCP\"}]"

static void slice_ready_rules(void **state)
{
	(void)state;
	struct kube_event ev;
	const char *s = "{\"type\":\"ADDED\",\"object\":" SLICE(
		"[{\"addresses\":[\"198.18.0.21\"],\"conditions\":{\"ready\":true}},"
		"{\"addresses\":[\"198.18.0.22\"],\"conditions\":{\"ready\":false}},"
		"{\"addresses\":[\"198.18.0.23\"],\"conditions\":{\"ready\":true,\"terminating\":true}},"
		"{\"addresses\":[\"198.18.0.24\"],\"conditions\":{}},"
		"{\"addresses\":[\"198.18.0.25\"]},"
		"{\"addresses\":[\"198.18.0.26\"],\"conditions\":{\"ready\":null,\"terminating\":false}},"
		"{\"addresses\":[\"198.18.0.27\",\"198.18.0.28\"],\"conditions\":{\"serving\":true}},"
		"{\"addresses\":[]}]",
		HTTPS_PORT) "}";
	assert_int_equal(event(s, KUBE_ENDPOINTSLICE, &ev), 0);
	assert_int_equal(ev.type, KUBE_EV_ADDED);
	assert_string_equal(ev.obj.name, "kubernetes");
	assert_string_equal(ev.obj.rv, "4711");
	/* not ready (22) and terminating (23) are out; missing ready means ready; first address */
	assert_int_equal(ev.obj.n, 5);
	assert_ep(&ev.obj.eps[0], "198.18.0.21", 6443);
	assert_ep(&ev.obj.eps[1], "198.18.0.24", 6443);
	assert_ep(&ev.obj.eps[2], "198.18.0.25", 6443);
	assert_ep(&ev.obj.eps[3], "198.18.0.26", 6443);
	assert_ep(&ev.obj.eps[4], "198.18.0.27", 6443); /* not 28: one pod, its first address */
}

static void slice_first_address_and_v6(void **state)
{
	(void)state;
	struct kube_event ev;
	const char *s =
		"{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"EndpointSlice\",\"metadata\":{"
		"\"name\":\"kubernetes-v6\",\"resourceVersion\":\"9\"},\"addressType\":\"IPv6\","
		"\"endpoints\":[{\"addresses\":[\"2001:db8::21\",\"2001:db8::99\"]},"
		"{\"addresses\":[\"2001:db8::21\"]}],\"ports\":[{\"port\":443}]}}";
	assert_int_equal(event(s, KUBE_ENDPOINTSLICE, &ev), 0);
	assert_int_equal(ev.type, KUBE_EV_MODIFIED);
	assert_int_equal(ev.obj.n, 1); /* duplicate folded */
	assert_ep(&ev.obj.eps[0], "2001:db8::21", 443);
}

static void slice_ports(void **state)
{
	(void)state;
	struct kube_event ev;
	/* https wins over other TCP ports; UDP ignored; a single TCP port is taken */
	assert_int_equal(
		event("{\"type\":\"ADDED\",\"object\":" SLICE(
			      "[{\"addresses\":[\"198.18.0.21\"]}]",
			      "[{\"name\":\"metrics\",\"port\":9000},{\"name\":\"https\",\"port\":"
			      "6443}]") "}",
		      KUBE_ENDPOINTSLICE, &ev),
		0);
	assert_ep(&ev.obj.eps[0], "198.18.0.21", 6443);
	assert_int_equal(
		event("{\"type\":\"ADDED\",\"object\":" SLICE(
			      "[{\"addresses\":[\"198.18.0.21\"]}]",
			      "[{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"},{\"name\":"
			      "\"api\",\"port\":8443,\"protocol\":\"TCP\"}]") "}",
		      KUBE_ENDPOINTSLICE, &ev),
		0);
	assert_ep(&ev.obj.eps[0], "198.18.0.21", 8443);
	/* two TCP ports, none named https: ambiguous */
	assert_int_equal(
		event("{\"type\":\"ADDED\",\"object\":" SLICE(
			      "[{\"addresses\":[\"198.18.0.21\"]}]",
			      "[{\"name\":\"a\",\"port\":1},{\"name\":\"b\",\"port\":2}]") "}",
		      KUBE_ENDPOINTSLICE, &ev),
		-1);
	assert_non_null(strstr(err, "port"));
	/* out of range */
	assert_int_equal(
		event("{\"type\":\"ADDED\",\"object\":" SLICE(
			      "[{\"addresses\":[\"198.18.0.21\"]}]", "[{\"port\":70000}]") "}",
		      KUBE_ENDPOINTSLICE, &ev),
		-1);
	/* no endpoints: no port needed, empty object */
	assert_int_equal(
		event("{\"type\":\"ADDED\",\"object\":" SLICE("[]", "[]") "}", KUBE_ENDPOINTSLICE, &ev),
		0);
	assert_int_equal(ev.obj.n, 0);
}

static void slice_fqdn_skipped_and_bad_address(void **state)
{
	(void)state;
	struct kube_event ev;
	assert_int_equal(
		event("{\"type\":\"ADDED\",\"object\":{\"kind\":\"EndpointSlice\",\"metadata\":{"
		      "\"name\":\"x\"},\"addressType\":\"FQDN\",\"endpoints\":[{\"addresses\":"
		      "[\"api.example\"]}],\"ports\":[{\"port\":6443}]}}",
		      KUBE_ENDPOINTSLICE, &ev),
		0);
	assert_int_equal(ev.obj.n, 0);
	assert_int_equal(
		event("{\"type\":\"ADDED\",\"object\":" SLICE(
			      "[{\"addresses\":[\"198.18.0.300\"]}]", HTTPS_PORT) "}",
		      KUBE_ENDPOINTSLICE, &ev),
		-1);
	assert_non_null(strstr(err, "bad address"));
	assert_int_equal(
		event("{\"type\":\"ADDED\",\"object\":" SLICE(
			      "[{\"addresses\":[\"198.18.0.0/24\"]}]", HTTPS_PORT) "}",
		      KUBE_ENDPOINTSLICE, &ev),
		-1);
	assert_int_equal(
		event("{\"type\":\"ADDED\",\"object\":" SLICE(
			      "[{\"addresses\":[\"198.18.0.1\"],\"conditions\":{\"ready\":\"yes\"}}]",
			      HTTPS_PORT) "}",
		      KUBE_ENDPOINTSLICE, &ev),
		-1);
}

static void endpoints_v1(void **state)
{
	(void)state;
	struct kube_event ev;
	const char *s =
		"{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Endpoints\",\"apiVersion\":\"v1\","
		"\"metadata\":{\"name\":\"kubernetes\",\"namespace\":\"default\","
		"\"resourceVersion\":\"77\"},\"subsets\":[{\"addresses\":[{\"ip\":\"198.18.0.21\"},"
		"{\"ip\":\"198.18.0.22\"}],\"notReadyAddresses\":[{\"ip\":\"198.18.0.23\"}],"
		"\"ports\":[{\"name\":\"https\",\"port\":6443,\"protocol\":\"TCP\"}]},"
		"{\"notReadyAddresses\":[{\"ip\":\"198.18.0.24\"}],\"ports\":[]}]}}";
	assert_int_equal(event(s, KUBE_ENDPOINTS, &ev), 0);
	assert_string_equal(ev.obj.rv, "77");
	assert_int_equal(ev.obj.n, 2);
	assert_ep(&ev.obj.eps[0], "198.18.0.21", 6443);
	assert_ep(&ev.obj.eps[1], "198.18.0.22", 6443);
	/* an Endpoints object where a slice is expected */
	assert_int_equal(event(s, KUBE_ENDPOINTSLICE, &ev), -1);
	assert_non_null(strstr(err, "kind Endpoints"));
}

static void events_bookmark_deleted_error(void **state)
{
	(void)state;
	struct kube_event ev;
	assert_int_equal(
		event("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"EndpointSlice\",\"apiVersion\":"
		      "\"discovery.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"12345\","
		      "\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}",
		      KUBE_ENDPOINTSLICE, &ev),
		0);
	assert_int_equal(ev.type, KUBE_EV_BOOKMARK);
	assert_string_equal(ev.obj.rv, "12345");
	assert_int_equal(
		event("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}", KUBE_ENDPOINTSLICE, &ev),
		-1);
	assert_int_equal(event("{\"type\":\"DELETED\",\"object\":" SLICE("[]", "[]") "}\r\n",
			       KUBE_ENDPOINTSLICE, &ev),
			 0);
	assert_int_equal(ev.type, KUBE_EV_DELETED);
	assert_string_equal(ev.obj.name, "kubernetes");
	assert_int_equal(
		event("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
		      "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource "
		      "version: 1 (4711)\",\"reason\":\"Expired\",\"code\":410}}",
		      KUBE_ENDPOINTSLICE, &ev),
		0);
	assert_int_equal(ev.type, KUBE_EV_ERROR);
	assert_int_equal(ev.code, 410);
	assert_string_equal(ev.message, "too old resource version: 1 (4711)");
	assert_string_equal(kube_ev_name(ev.type), "ERROR");
}

static void garbage(void **state)
{
	(void)state;
	struct kube_event ev;
	static const char *const bad[] = {
		"",
		"{",
		"not json",
		"{\"type\":\"ADDED\"}",
		"{\"type\":\"UPSERTED\",\"object\":{}}",
		"{\"type\":7,\"object\":{}}",
		"[1,2,3]",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}", /* no name */
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}} trailing",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}{}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}",
		"\"ADDED\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(event(bad[i], KUBE_ENDPOINTSLICE, &ev), -1);
		assert_true(err[0] != 0);
	}
	/* nesting beyond the tokener's depth is refused, not recursed into */
	char deep[400];
	memset(deep, '[', 200);
	memset(deep + 200, ']', 199);
	deep[399] = 0;
	assert_int_equal(event(deep, KUBE_ENDPOINTSLICE, &ev), -1);
	/* a NUL inside the counted buffer is not the end of it */
	const char withnul[] =
		"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}\0x";
	assert_int_equal(
		kube_decode_event(withnul, sizeof(withnul) - 1, KUBE_ENDPOINTSLICE, &ev, err, sizeof(err)),
		-1);
}

static void list_slices(void **state)
{
	(void)state;
	struct kube_list l;
	const char *s =
		"{\"kind\":\"EndpointSliceList\",\"apiVersion\":\"discovery.k8s.io/v1\","
		"\"metadata\":{\"resourceVersion\":\"500\"},\"items\":[" SLICE(
			"[{\"addresses\":[\"198.18.0.21\"]},{\"addresses\":[\"198.18.0.22\"]}]",
			HTTPS_PORT) "," SLICE("[{\"addresses\":[\"198.18.0.23\"]}]", HTTPS_PORT) "]}";
	assert_int_equal(kube_decode_list(s, strlen(s), KUBE_ENDPOINTSLICE, &l, err, sizeof(err)), 0);
	assert_string_equal(l.rv, "500");
	assert_int_equal(l.n, 2);
	assert_int_equal(l.items[0].n, 2);
	assert_ep(&l.items[1].eps[0], "198.18.0.23", 6443);
	/* wrong kind, missing rv, a Status instead of a list */
	assert_int_equal(kube_decode_list(s, strlen(s), KUBE_ENDPOINTS, &l, err, sizeof(err)), -1);
	const char *norv = "{\"kind\":\"EndpointSliceList\",\"metadata\":{},\"items\":[]}";
	assert_int_equal(
		kube_decode_list(norv, strlen(norv), KUBE_ENDPOINTSLICE, &l, err, sizeof(err)), -1);
	const char *st = "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"endpointslices is "
			 "forbidden\",\"reason\":\"Forbidden\",\"code\":403}";
	assert_int_equal(kube_decode_list(st, strlen(st), KUBE_ENDPOINTSLICE, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "forbidden"));
	const char *eps =
		"{\"kind\":\"EndpointsList\",\"metadata\":{\"resourceVersion\":\"3\"},\"items\":"
		"[{\"metadata\":{\"name\":\"kubernetes\"},\"subsets\":[{\"addresses\":[{\"ip\":"
		"\"198.18.0.21\"}],\"ports\":[{\"port\":6443}]}]}]}";
	assert_int_equal(kube_decode_list(eps, strlen(eps), KUBE_ENDPOINTS, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_ep(&l.items[0].eps[0], "198.18.0.21", 6443);
}

static void list_limits(void **state)
{
	(void)state;
	struct kube_list l;
	char buf[8192];
	int n = snprintf(buf, sizeof(buf),
			 "{\"kind\":\"EndpointSliceList\",\"metadata\":{"
			 "\"resourceVersion\":\"1\"},\"items\":[");
	for (int i = 0; i <= KUBE_MAX_ITEMS; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      "%s{\"metadata\":{\"name\":\"s%d\"}}", i ? "," : "", i);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "]}");
	assert_int_equal(kube_decode_list(buf, (size_t)n, KUBE_ENDPOINTSLICE, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "items"));
	/* KUBE_MAX_EPS + 1 endpoints in one slice: refused, not truncated */
	n = snprintf(buf, sizeof(buf),
		     "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"s\"},"
		     "\"ports\":[{\"port\":1}],\"endpoints\":[");
	for (int i = 0; i <= KUBE_MAX_EPS; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      "%s{\"addresses\":[\"198.18.1.%d\"]}", i ? "," : "", i);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "]}}");
	struct kube_event ev;
	assert_int_equal(
		kube_decode_event(buf, (size_t)n, KUBE_ENDPOINTSLICE, &ev, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
}

static void etcd_members(void **state)
{
	(void)state;
	struct etcd_members m;
	const char *s =
		"{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"raft_term\":\"3\"},"
		"\"members\":[{\"ID\":\"11\",\"name\":\"e1\",\"peerURLs\":[\"https://198.18.0.31:2380\"],"
		"\"clientURLs\":[\"https://198.18.0.31:2379\"]},"
		"{\"ID\":\"12\",\"name\":\"e2\",\"clientURLs\":[\"https://198.18.0.32:2379\","
		"\"https://[2001:db8::32]:2379\"]},"
		"{\"ID\":\"13\",\"name\":\"e3\",\"clientURLs\":[\"https://198.18.0.33:2379\"],"
		"\"isLearner\":true},"
		"{\"ID\":\"14\",\"peerURLs\":[\"https://198.18.0.34:2380\"]}]}";
	assert_int_equal(etcd_decode_members(s, strlen(s), &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 3); /* learner 33 and unstarted 34 left out */
	assert_ep(&m.eps[0], "198.18.0.31", 2379);
	assert_ep(&m.eps[1], "198.18.0.32", 2379);
	assert_ep(&m.eps[2], "2001:db8::32", 2379);
	const char *bad = "{\"members\":[{\"name\":\"e\",\"clientURLs\":[\"https://etcd-1:2379\"]}]}";
	assert_int_equal(etcd_decode_members(bad, strlen(bad), &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "etcd-1"));
	const char *none = "{\"error\":\"etcdserver: permission denied\",\"code\":7,\"message\":"
			   "\"etcdserver: permission denied\"}";
	assert_int_equal(etcd_decode_members(none, strlen(none), &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "permission denied"));
}

static void etcd_urls(void **state)
{
	(void)state;
	struct kube_ep e;
	assert_int_equal(etcd_parse_url("http://198.18.0.1:2379", &e), 0);
	assert_ep(&e, "198.18.0.1", 2379);
	assert_int_equal(etcd_parse_url("https://[2001:db8::1]:2379/", &e), 0);
	assert_ep(&e, "2001:db8::1", 2379);
	static const char *const bad[] = {
		"198.18.0.1:2379",
		"https://198.18.0.1",
		"https://:2379",
		"https://198.18.0.1:0",
		"https://198.18.0.1:65536",
		"https://198.18.0.1:-1",
		"https://198.18.0.1:23x",
		"https://[2001:db8::1]2379",
		"https://2001:db8::1:2379",
		"https://[2001:db8::1:2379",
		"https://198.18.0.1:+80"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(etcd_parse_url(bad[i], &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slice_ready_rules),
		cmocka_unit_test(slice_first_address_and_v6),
		cmocka_unit_test(slice_ports),
		cmocka_unit_test(slice_fqdn_skipped_and_bad_address),
		cmocka_unit_test(endpoints_v1),
		cmocka_unit_test(events_bookmark_deleted_error),
		cmocka_unit_test(garbage),
		cmocka_unit_test(list_slices),
		cmocka_unit_test(list_limits),
		cmocka_unit_test(etcd_members),
		cmocka_unit_test(etcd_urls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
