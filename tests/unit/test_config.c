/* Config loader + validator: a full config round-trips every field, a minimal one gets every
 * default, and each kind of mistake is reported at the exact line:col with a clear message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "core/log.h"

#include "config_test_util.h"

/* The YAML documents below keep one source line per YAML line. */
/* clang-format off */

static void test_parse_duration(void **state)
{
	(void)state;
	uint64_t ms;
	assert_int_equal(parse_duration_ms("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(parse_duration_ms("2s", &ms), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(parse_duration_ms("1m", &ms), 0);
	assert_int_equal(ms, 60000);
	assert_int_equal(parse_duration_ms("1h", &ms), 0);
	assert_int_equal(ms, 3600000);
	assert_int_equal(parse_duration_ms("1.5s", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(parse_duration_ms("0s", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(parse_duration_ms("2", &ms), -1);       /* no unit: error */
	assert_int_equal(parse_duration_ms("0", &ms), -1);
	assert_int_equal(parse_duration_ms("", &ms), -1);
	assert_int_equal(parse_duration_ms("s", &ms), -1);
	assert_int_equal(parse_duration_ms("-1s", &ms), -1);
	assert_int_equal(parse_duration_ms("1 s", &ms), -1);
	assert_int_equal(parse_duration_ms("1sec", &ms), -1);
	assert_int_equal(parse_duration_ms("1.5ms", &ms), -1);   /* sub-millisecond */
	assert_int_equal(parse_duration_ms("1.s", &ms), -1);
	assert_int_equal(parse_duration_ms("99999999999999999999s", &ms), -1);
	assert_int_equal(parse_duration_ms(NULL, &ms), -1);
}

static void test_parse_hostport(void **state)
{
	(void)state;
	struct cfg_addr a;
	assert_int_equal(parse_hostport("198.18.0.21:6443", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 6443);
	assert_string_equal(a.text, "198.18.0.21:6443");
	assert_int_equal(parse_hostport("[2001:db8::1]:80", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	assert_string_equal(a.text, "[2001:db8::1]:80");
	assert_int_equal(parse_hostport("[2001:DB8:0::1]:80", &a), 0);
	assert_string_equal(a.text, "[2001:db8::1]:80");      /* canonical */
	assert_int_equal(parse_hostport("0.0.0.0:80", &a), 0);
	assert_string_equal(a.text, "0.0.0.0:80");
	assert_int_equal(parse_hostport("[::]:80", &a), 0);
	assert_string_equal(a.text, "[::]:80");
	assert_int_equal(parse_hostport(":6443", &a), 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_string_equal(a.text, "[::]:6443");
	const char *bad[] = { "198.18.0.21", "198.18.0.21:", "198.18.0.21:0", "198.18.0.21:65536",
			      "198.18.0.21:http", "2001:db8::1:80", "[2001:db8::1]", "[198.18.0.1]:80",
			      "1.2.3:80", "host.example:80", "", ":", "[::1]:80x", "1.2.3.4:-1",
			      "198.18.0.1/32:80", "[2001:db8::1/64]:80", NULL };
	for (size_t i = 0; bad[i]; i++) {
		if (parse_hostport(bad[i], &a) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(parse_hostport(NULL, &a), -1);
}

static void test_parse_ip_cidr(void **state)
{
	(void)state;
	struct ip_addr ip;
	struct cfg_vip v;
	assert_int_equal(parse_ip_addr("198.18.0.12", &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_int_equal(parse_ip_addr("2001:db8::12", &ip), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(parse_ip_addr("[2001:db8::12]", &ip), 0);
	assert_int_equal(parse_ip_addr("198.18.0.12:80", &ip), -1);
	assert_int_equal(parse_ip_addr("[198.18.0.12]", &ip), -1);
	assert_int_equal(parse_ip_addr("", &ip), -1);
	assert_int_equal(parse_ip_addr("[2001:db8::12]", &ip), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(ip.prefix, 128);
	assert_int_equal(parse_ip_addr("198.18.0.12", &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_int_equal(parse_ip_addr("198.18.0.12/32", &ip), -1);    /* no prefix here */
	assert_int_equal(ip.family, 0);
	assert_int_equal(parse_ip_addr("[2001:db8::12]/128", &ip), -1);
	assert_int_equal(parse_ip_addr("[198.18.0.12]", &ip), -1);
	assert_int_equal(parse_ip_addr("[2001:db8::12", &ip), -1);
	assert_int_equal(parse_ip_addr("[]", &ip), -1);
	assert_int_equal(parse_ip_addr(NULL, &ip), -1);
	assert_int_equal(parse_cidr("198.18.0.100/24", &v), 0);
	assert_int_equal(v.addr.prefix, 24);
	assert_string_equal(v.text, "198.18.0.100/24");
	assert_int_equal(parse_cidr("198.18.0.100", &v), 0);
	assert_int_equal(v.addr.prefix, 32);
	assert_int_equal(parse_cidr("2001:db8::100/64", &v), 0);
	assert_int_equal(v.addr.family, AF_INET6);
	assert_int_equal(v.addr.prefix, 64);
	assert_int_equal(parse_cidr("2001:db8::100", &v), 0);
	assert_int_equal(v.addr.prefix, 128);
	assert_int_equal(parse_cidr("198.18.0.100/33", &v), -1);
	assert_int_equal(parse_cidr("198.18.0.100/0", &v), -1);
	assert_int_equal(parse_cidr("198.18.0.100/", &v), -1);
	assert_int_equal(parse_cidr("198.18.0.100/2x", &v), -1);
	assert_int_equal(parse_cidr("2001:db8::1/129", &v), -1);
	assert_int_equal(parse_cidr("[2001:db8::1]/64", &v), -1);
}

static void test_format_sockaddr(void **state)
{
	(void)state;
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons(80) };
	inet_pton(AF_INET, "198.18.0.1", &v4.sin_addr);
	char buf[64];
	format_sockaddr((struct sockaddr *)&v4, buf, sizeof(buf));
	assert_string_equal(buf, "198.18.0.1:80");
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
	format_sockaddr((struct sockaddr *)&v6, buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::1]:443");
	struct sockaddr none = { .sa_family = AF_UNSPEC };
	format_sockaddr(&none, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	format_sockaddr((struct sockaddr *)&v6, buf, 8);          /* truncates, stays terminated */
	assert_int_equal(strlen(buf), 7);
}

static const char FULL[] =
	"node: lb1\n"
	"log: { level: debug, format: logfmt }\n"
	"control: { socket: /run/buoy/test.sock }\n"
	"metrics: { listen: \"127.0.0.1:9254\" }\n"
	"user: buoy\n"
	"script_user: checker\n"
	"max_conns: 5000\n"
	"workers: 3\n"
	"shutdown_grace: 45s\n"
	"vrrp:\n"
	"  - name: apiserver\n"
	"    interface: eth0\n"
	"    router_id: 51\n"
	"    priority: 110\n"
	"    version: 2\n"
	"    advert_interval: 2s\n"
	"    preempt: false\n"
	"    preempt_delay: 10s\n"
	"    virtual_ips: [198.18.0.100/24, 198.18.0.101]\n"
	"    label: eth0:vip\n"
	"    unicast_source: 198.18.0.11\n"
	"    unicast_peers: [198.18.0.12, 198.18.0.13]\n"
	"    auth_pass: s3cret\n"
	"    garp: { repeat: 3, interval: 20ms, delay: 2s, refresh: 0s }\n"
	"    track:\n"
	"      interfaces: [eth0, { name: eth1, weight: -20 }]\n"
	"      scripts:\n"
	"        - { name: chk, command: /usr/local/bin/chk, interval: 1s, timeout: 500ms,\n"
	"            weight: 10, rise: 2, fall: 3, user: root }\n"
	"        - { command: \"/bin/true\" }\n"
	"      backends: [apiservers, { name: etcd, weight: -50 }]\n"
	"      strict: true\n"
	"    notify: /usr/local/bin/notify\n"
	"  - name: apiserver6\n"
	"    interface: eth0\n"
	"    router_id: 51\n"
	"    virtual_ips: [\"2001:db8::100/64\"]\n"
	"listeners:\n"
	"  - { name: apiserver, bind: \"198.18.0.100:6443\", backend: apiservers }\n"
	"  - { name: etcd, bind: \"[2001:db8::100]:2379\", backend: etcd, defer_accept: yes }\n"
	"  - { name: local, bind: \":16443\", backend: apiservers }\n"
	"backends:\n"
	"  - name: apiservers\n"
	"    balance: leastconn\n"
	"    connect_timeout: 500ms\n"
	"    retries: 1\n"
	"    max_fails: 3\n"
	"    fail_timeout: 30s\n"
	"    idle_timeout: 2h\n"
	"    queue_timeout: 1s\n"
	"    max_queue: 64\n"
	"    health:\n"
	"      type: https\n"
	"      path: /livez\n"
	"      host: kubernetes.default\n"
	"      expect_status: [200, \"300-399\"]\n"
	"      interval: 2s\n"
	"      timeout: 800ms\n"
	"      rise: 3\n"
	"      fall: 4\n"
	"      port: 6444\n"
	"      verify: true\n"
	"      ca_file: /etc/kubernetes/pki/ca.crt\n"
	"      cert_file: /etc/buoy/client.crt\n"
	"      key_file: /etc/buoy/client.key\n"
	"      initial_state: down\n"
	"    servers:\n"
	"      - { address: \"198.18.0.21:6443\", weight: 256, max_conns: 100 }\n"
	"      - { address: \"198.18.0.22:6443\", backup: yes }\n"
	"  - name: etcd\n"
	"    balance: source\n"
	"    health: { type: http, expect_status: 204 }\n"
	"    servers:\n"
	"      - { address: \"[2001:db8::21]:2379\" }\n"
	"      - { address: \"[2001:db8::22]:2379\" }\n"
	"      - { address: \"[2001:db8::23]:2379\" }\n";

static void test_full_config_round_trip(void **state)
{
	(void)state;
	struct config *c = expect_ok(FULL);
	assert_string_equal(c->file, "buoy.yaml");
	assert_string_equal(c->node, "lb1");
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
	assert_string_equal(c->log_format, "logfmt");
	assert_string_equal(c->control_socket, "/run/buoy/test.sock");
	assert_true(c->metrics_enabled);
	assert_string_equal(c->metrics_listen.text, "127.0.0.1:9254");
	assert_string_equal(c->user, "buoy");
	assert_string_equal(c->script_user, "checker");
	assert_int_equal(c->max_conns, 5000);
	assert_int_equal(c->workers, 3);
	assert_int_equal(c->shutdown_grace_ms, 45000);

	assert_int_equal(c->n_listeners, 3);
	assert_string_equal(c->listeners[0].name, "apiserver");
	assert_string_equal(c->listeners[0].bind.text, "198.18.0.100:6443");
	assert_string_equal(c->listeners[0].backend, "apiservers");
	assert_int_equal(c->listeners[0].backend_idx, 0);
	assert_string_equal(c->listeners[1].bind.text, "[2001:db8::100]:2379");
	assert_int_equal(c->listeners[1].backend_idx, 1);
	assert_false(c->listeners[0].defer_accept); /* off unless asked for */
	assert_true(c->listeners[1].defer_accept);
	assert_string_equal(c->listeners[2].bind.text, "[::]:16443");

	assert_int_equal(c->n_backends, 2);
	const struct cfg_backend *b = &c->backends[0];
	assert_string_equal(b->name, "apiservers");
	assert_int_equal(b->balance, BALANCE_LEASTCONN);
	assert_int_equal(b->connect_timeout_ms, 500);
	assert_int_equal(b->retries, 1);
	assert_int_equal(b->max_fails, 3);
	assert_int_equal(b->fail_timeout_ms, 30000);
	assert_int_equal(b->idle_timeout_ms, 7200000);
	assert_int_equal(b->queue_timeout_ms, 1000);
	assert_int_equal(b->max_queue, 64);
	assert_int_equal(b->n_servers, 2);
	assert_string_equal(b->servers[0].addr.text, "198.18.0.21:6443");
	assert_int_equal(b->servers[0].weight, 256);
	assert_int_equal(b->servers[0].max_conns, 100);
	assert_false(b->servers[0].backup);
	assert_int_equal(b->servers[1].weight, 1);
	assert_true(b->servers[1].backup);
	const struct cfg_health *h = &b->health;
	assert_int_equal(h->type, HEALTH_HTTPS);
	assert_string_equal(h->path, "/livez");
	assert_string_equal(h->host, "kubernetes.default");
	assert_int_equal(h->n_expect, 2);
	assert_int_equal(h->expect[0].lo, 200);
	assert_int_equal(h->expect[0].hi, 200);
	assert_int_equal(h->expect[1].lo, 300);
	assert_int_equal(h->expect[1].hi, 399);
	assert_int_equal(h->interval_ms, 2000);
	assert_int_equal(h->timeout_ms, 800);
	assert_int_equal(h->rise, 3);
	assert_int_equal(h->fall, 4);
	assert_int_equal(h->port, 6444);
	assert_true(h->verify);
	assert_string_equal(h->ca_file, "/etc/kubernetes/pki/ca.crt");
	assert_string_equal(h->cert_file, "/etc/buoy/client.crt");
	assert_string_equal(h->key_file, "/etc/buoy/client.key");
	assert_false(h->initial_up);
	b = &c->backends[1];
	assert_int_equal(b->balance, BALANCE_SOURCE);
	assert_int_equal(b->retries, 2);                 /* default: servers - 1 */
	assert_int_equal(b->health.type, HEALTH_HTTP);
	assert_int_equal(b->health.n_expect, 1);
	assert_int_equal(b->health.expect[0].lo, 204);
	assert_int_equal(b->health.expect[0].hi, 204);
	assert_string_equal(b->servers[2].addr.text, "[2001:db8::23]:2379");

	assert_int_equal(c->n_vrrp, 2);
	const struct cfg_vrrp *v = &c->vrrp[0];
	assert_string_equal(v->name, "apiserver");
	assert_string_equal(v->interface, "eth0");
	assert_int_equal(v->router_id, 51);
	assert_int_equal(v->priority, 110);
	assert_int_equal(v->version, 2);
	assert_int_equal(v->family, AF_INET);
	assert_int_equal(v->advert_interval_ms, 2000);
	assert_false(v->preempt);
	assert_int_equal(v->preempt_delay_ms, 10000);
	assert_int_equal(v->n_vips, 2);
	assert_string_equal(v->vips[0].text, "198.18.0.100/24");
	assert_int_equal(v->vips[0].addr.prefix, 24);
	assert_string_equal(v->vips[1].text, "198.18.0.101/32");
	assert_string_equal(v->label, "eth0:vip");
	assert_int_equal(v->unicast_source.family, AF_INET);
	assert_int_equal(v->n_unicast_peers, 2);
	assert_int_equal(v->unicast_peers[1].family, AF_INET);
	assert_string_equal(v->auth_pass, "s3cret");
	assert_int_equal(v->garp.repeat, 3);
	assert_int_equal(v->garp.interval_ms, 20);
	assert_int_equal(v->garp.delay_ms, 2000);
	assert_int_equal(v->garp.refresh_ms, 0);
	assert_int_equal(v->n_track_ifaces, 2);
	assert_string_equal(v->track_ifaces[0].name, "eth0");
	assert_int_equal(v->track_ifaces[0].weight, 0);
	assert_string_equal(v->track_ifaces[1].name, "eth1");
	assert_int_equal(v->track_ifaces[1].weight, -20);
	assert_int_equal(v->n_track_scripts, 2);
	assert_string_equal(v->track_scripts[0].name, "chk");
	assert_string_equal(v->track_scripts[0].command, "/usr/local/bin/chk");
	assert_int_equal(v->track_scripts[0].interval_ms, 1000);
	assert_int_equal(v->track_scripts[0].timeout_ms, 500);
	assert_int_equal(v->track_scripts[0].weight, 10);
	assert_int_equal(v->track_scripts[0].rise, 2);
	assert_int_equal(v->track_scripts[0].fall, 3);
	assert_string_equal(v->track_scripts[0].user, "root");
	assert_string_equal(v->track_scripts[1].name, "/bin/true");  /* defaults to the command */
	assert_int_equal(v->track_scripts[1].interval_ms, 2000);
	assert_int_equal(v->track_scripts[1].timeout_ms, 2000);      /* defaults to the interval */
	assert_int_equal(v->track_scripts[1].weight, 0);
	assert_int_equal(v->track_scripts[1].rise, 1);
	assert_int_equal(v->track_scripts[1].fall, 1);
	assert_null(v->track_scripts[1].user);
	assert_int_equal(v->n_track_backends, 2);
	assert_string_equal(v->track_backends[0].name, "apiservers");
	assert_int_equal(v->track_backends[0].backend_idx, 0);
	assert_int_equal(v->track_backends[0].weight, 0);
	assert_int_equal(v->track_backends[1].backend_idx, 1);
	assert_int_equal(v->track_backends[1].weight, -50);
	assert_true(v->track_strict);
	assert_string_equal(v->notify, "/usr/local/bin/notify");
	v = &c->vrrp[1];                   /* same VRID on eth0 is fine in the other family */
	assert_int_equal(v->family, AF_INET6);
	assert_false(v->track_strict);     /* default: unfit, not Fault */
	assert_int_equal(v->router_id, 51);
	config_free(c);
}

static void test_defaults(void **state)
{
	(void)state;
	struct config *c = expect_ok(
		"listeners:\n"
		"  - { name: api, bind: \"198.18.0.100:6443\", backend: api }\n"
		"backends:\n"
		"  - name: api\n"
		"    servers:\n"
		"      - { address: \"198.18.0.21:6443\" }\n"
		"      - { address: \"198.18.0.22:6443\" }\n"
		"      - { address: \"198.18.0.23:6443\" }\n"
		"vrrp:\n"
		"  - { name: vip, interface: eth0, router_id: 7, virtual_ips: [198.18.0.100/24] }\n");
	char host[256];
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_string_equal(c->node, host);
	assert_int_equal(c->log_level, LOG_LVL_INFO);
	assert_string_equal(c->log_format, "logfmt");
	assert_string_equal(c->control_socket, "/run/buoy/buoy.sock");
	assert_false(c->metrics_enabled);
	assert_null(c->user);
	assert_string_equal(c->script_user, "nobody");
	assert_int_equal(c->max_conns, 0);
	assert_int_equal(c->workers, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
	assert_int_equal(c->shutdown_grace_ms, 30000);
	const struct cfg_backend *b = &c->backends[0];
	assert_int_equal(b->balance, BALANCE_ROUNDROBIN);
	assert_int_equal(b->connect_timeout_ms, 2000);
	assert_int_equal(b->retries, 2);
	assert_int_equal(b->max_fails, 1);
	assert_int_equal(b->fail_timeout_ms, 10000);
	assert_int_equal(b->idle_timeout_ms, 3600000);
	assert_int_equal(b->queue_timeout_ms, 5000);
	assert_int_equal(b->max_queue, 0);               /* no cap of its own */
	assert_int_equal(b->servers[0].weight, 1);
	assert_int_equal(b->servers[0].max_conns, 0);
	assert_false(b->servers[0].backup);
	const struct cfg_health *h = &b->health;
	assert_int_equal(h->type, HEALTH_TCP);
	assert_string_equal(h->path, "/readyz");
	assert_null(h->host);
	assert_int_equal(h->n_expect, 1);
	assert_int_equal(h->expect[0].lo, 200);
	assert_int_equal(h->expect[0].hi, 200);
	assert_int_equal(h->interval_ms, 1000);
	assert_int_equal(h->timeout_ms, 1000);
	assert_int_equal(h->rise, 2);
	assert_int_equal(h->fall, 2);
	assert_int_equal(h->port, 0);
	assert_false(h->verify);
	assert_null(h->ca_file);
	assert_null(h->cert_file);
	assert_null(h->key_file);
	assert_true(h->initial_up);
	const struct cfg_vrrp *v = &c->vrrp[0];
	assert_int_equal(v->priority, 100);
	assert_int_equal(v->version, 3);
	assert_int_equal(v->family, AF_INET);
	assert_int_equal(v->advert_interval_ms, 200);
	assert_true(v->preempt);
	assert_int_equal(v->preempt_delay_ms, 0);
	assert_null(v->label);
	assert_int_equal(v->unicast_source.family, 0);
	assert_int_equal(v->n_unicast_peers, 0);
	assert_string_equal(v->auth_pass, "");
	assert_int_equal(v->garp.repeat, 5);
	assert_int_equal(v->garp.interval_ms, 10);
	assert_int_equal(v->garp.delay_ms, 5000);
	assert_int_equal(v->garp.refresh_ms, 60000);
	assert_int_equal(v->n_track_ifaces + v->n_track_scripts + v->n_track_backends, 0);
	assert_null(v->notify);
	config_free(c);
}

/* cfg_health_defaults and cfg_track_script_defaults are what the loader gives: code that builds
 * a config by hand (tests) gets the same values the engines see in production. */
static void test_hand_built_defaults_match_loader(void **state)
{
	(void)state;
	struct config *c = expect_ok(
		"listeners:\n"
		"  - { name: api, bind: \"198.18.0.100:6443\", backend: api }\n"
		"backends:\n"
		"  - { name: api, servers: [ { address: \"198.18.0.21:6443\" } ], health: {} }\n"
		"vrrp:\n"
		"  - name: vip\n"
		"    interface: eth0\n"
		"    router_id: 7\n"
		"    virtual_ips: [198.18.0.100/24]\n"
		"    track: { scripts: [ { command: /bin/true } ] }\n");
	struct cfg_health h;
	cfg_health_defaults(&h);
	const struct cfg_health *lh = &c->backends[0].health;
	assert_int_equal(lh->type, h.type);
	assert_string_equal(lh->path, h.path);
	assert_true(lh->path != h.path);               /* the loader's is its own copy */
	assert_null(h.host);
	assert_null(lh->host);
	assert_int_equal(lh->n_expect, h.n_expect);
	assert_memory_equal(lh->expect, h.expect, sizeof(h.expect));
	assert_int_equal(lh->interval_ms, h.interval_ms);
	assert_int_equal(lh->timeout_ms, h.timeout_ms);
	assert_int_equal(lh->rise, h.rise);
	assert_int_equal(lh->fall, h.fall);
	assert_int_equal(lh->port, h.port);
	assert_int_equal(lh->verify, h.verify);
	assert_int_equal(lh->initial_up, h.initial_up);
	assert_true(!h.ca_file && !h.cert_file && !h.key_file);
	struct cfg_track_script s;
	cfg_track_script_defaults(&s);
	const struct cfg_track_script *ls = &c->vrrp[0].track_scripts[0];
	assert_string_equal(ls->name, "/bin/true");    /* the name defaults to the command */
	assert_int_equal(ls->interval_ms, s.interval_ms);
	assert_int_equal(ls->timeout_ms, s.timeout_ms);
	assert_int_equal(ls->weight, s.weight);
	assert_int_equal(ls->rise, s.rise);
	assert_int_equal(ls->fall, s.fall);
	assert_null(ls->user);
	assert_null(s.user);
	config_free(c);
}

static void test_v2_default_interval_and_single_server_retries(void **state)
{
	(void)state;
	struct config *c = expect_ok(BASE_BACKENDS
		"vrrp:\n"
		"  - { name: v, interface: eth0, router_id: 7, version: 2, virtual_ips: [198.18.0.100] }\n");
	assert_int_equal(c->vrrp[0].advert_interval_ms, 1000);  /* v2 counts whole seconds */
	assert_int_equal(c->backends[0].retries, 0);
	assert_int_equal(c->n_listeners, 0);
	config_free(c);
}

static void test_empty_sections_and_node_local(void **state)
{
	(void)state;
	struct config *c = expect_ok(BASE_LISTENERS BASE_BACKENDS "vrrp:\n");
	assert_int_equal(c->n_vrrp, 0);
	config_free(c);
}

static void test_expect_status_forms(void **state)
{
	(void)state;
	struct config *c = expect_ok(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { type: http, expect_status: \"200-399\" }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n");
	assert_int_equal(c->backends[0].health.n_expect, 1);
	assert_int_equal(c->backends[0].health.expect[0].lo, 200);
	assert_int_equal(c->backends[0].health.expect[0].hi, 399);
	config_free(c);
	c = expect_ok(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health:\n"
		"      expect_status:\n"
		"        - 200\n"
		"        - 204\n"
		"        - 300-302\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n");
	assert_int_equal(c->backends[0].health.n_expect, 3);
	assert_int_equal(c->backends[0].health.expect[1].lo, 204);
	assert_int_equal(c->backends[0].health.expect[2].lo, 300);
	assert_int_equal(c->backends[0].health.expect[2].hi, 302);
	config_free(c);
}

static void test_example_file_loads(void **state)
{
	(void)state;
	struct config_errors e;
	struct config *c = config_load("examples/buoy.yaml", &e);
	if (!c)
		dump_errors(&e);
	assert_non_null(c);
	assert_string_equal(c->file, "examples/buoy.yaml");
	assert_int_equal(c->n_vrrp, 1);
	assert_string_equal(c->vrrp[0].vips[0].text, "198.18.0.100/24");
	assert_true(c->n_backends >= 2);
	assert_int_equal(c->backends[0].n_servers, 3);
	assert_string_equal(c->backends[0].servers[0].addr.text, "198.18.0.21:6443");
	assert_string_equal(c->backends[0].servers[2].addr.text, "198.18.0.23:6443");
	config_free(c);
}

static void test_missing_file(void **state)
{
	(void)state;
	struct config_errors e;
	assert_null(config_load("/nonexistent/buoy.yaml", &e));
	assert_int_equal(e.n, 1);
	char buf[256];
	config_error_format(&e.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "/nonexistent/buoy.yaml: cannot open: No such file or directory");
	config_errors_free(&e);
}

static void test_every_unknown_key_reported(void **state)
{
	(void)state;
	struct config_errors e;
	assert_null(load("a: 1\n" BASE_LISTENERS BASE_BACKENDS "b: 2\nlog: { c: 3 }\n", &e));
	assert_int_equal(e.n, 3);
	assert_int_equal(e.v[0].line, 1);
	assert_int_equal(e.v[1].line, 8);
	assert_int_equal(e.v[2].line, 9);
	assert_int_equal(e.v[2].col, 8);
	assert_non_null(strstr(e.v[2].msg, "unknown key \"c\" in log"));
	config_errors_free(&e);
}

static void test_unknown_key_and_semantic_error_together(void **state)
{
	(void)state;
	struct config_errors e;
	assert_null(load("colour: red\n" BASE_BACKENDS
			 "listeners:\n"
			 "  - { name: api, bind: \"198.18.0.100:6443\", backend: nope }\n", &e));
	assert_int_equal(e.n, 2);
	assert_non_null(strstr(e.v[0].msg, "unknown key"));
	assert_non_null(strstr(e.v[1].msg, "no backend named \"nope\""));
	config_errors_free(&e);
}

static void test_errors_sorted_and_formatted(void **state)
{
	(void)state;
	struct config_errors e;
	assert_null(load(BASE_LISTENERS
			 "backends:\n"
			 "  - name: api\n"
			 "    connect_timeout: 2\n"
			 "    servers: [{ address: \"198.18.0.21:6443\", weight: 0 }]\n"
			 "    retries: x\n", &e));
	assert_int_equal(e.n, 3);
	for (size_t i = 1; i < e.n; i++)
		assert_true(e.v[i - 1].line <= e.v[i].line);
	char buf[512];
	config_error_format(&e.v[0], buf, sizeof(buf));
	assert_string_equal(buf, "buoy.yaml:5:22: backends[0].connect_timeout: duration \"2\" has "
			    "no unit (write e.g. \"2s\" or \"2ms\")");
	config_errors_free(&e);
	assert_int_equal(e.n, 0);
}

static void test_cyaml_log_translation(void **state)
{
	(void)state;
	struct config_errors errs = { 0 };
	struct cfg_diag d = { &errs, "x.yaml", NULL, NULL };
	char *lines[] = {
		"Load: Unexpected key: colour",
		"Load: Backtrace:",
		"  in mapping (line: 3, column: 11)",
		"  in sequence entry '1' (line: 3, column: 5)",
		"  in mapping field 'backends' (line: 3, column: 3)",
		"Load: Invalid INT value: 'abc'",
		"Load: Backtrace:",
		"  in mapping field 'weight' (line: 5, column: 30)",
		"  in sequence entry '2' (line: 5, column: 9)",
		"  in mapping field 'servers' (line: 5, column: 7)",
	};
	cfg_cyaml_translate(&d, lines, sizeof(lines) / sizeof(lines[0]));
	assert_int_equal(errs.n, 2);
	assert_int_equal(errs.v[0].line, 3);
	assert_int_equal(errs.v[0].col, 11);
	assert_string_equal(errs.v[0].msg, "unknown key \"colour\" in backends[0]");
	assert_int_equal(errs.v[1].line, 5);
	assert_int_equal(errs.v[1].col, 30);
	assert_string_equal(errs.v[1].msg, "servers[1].weight: Invalid INT value: 'abc'");
	config_errors_free(&errs);
}

static void test_alias_bomb_is_bounded(void **state)
{
	(void)state;
	char yaml[4096];
	size_t n = (size_t)snprintf(yaml, sizeof(yaml), "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
			"a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
			i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	struct config_errors e;
	assert_null(config_load_buf("bomb.yaml", yaml, n, &e));
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.v[0].msg, "document too large"));
	config_errors_free(&e);
}

static void test_null_sections(void **state)
{
	(void)state;
	expect_error(BASE_LISTENERS BASE_BACKENDS "vrrp: ~\n", 7, 7,
		     "vrrp: expected a list, got null (leave the value empty or remove the key)");
	expect_error("log: null\n" BASE_LISTENERS BASE_BACKENDS, 1, 6, "log: expected a mapping, got null");
	struct config *c = expect_ok("log:\ncontrol:\nmetrics:\n" BASE_LISTENERS BASE_BACKENDS
				     "vrrp:\n");
	assert_false(c->metrics_enabled);
	assert_string_equal(c->control_socket, "/run/buoy/buoy.sock");
	config_free(c);
}

static void test_anchors_and_aliases_work(void **state)
{
	(void)state;
	struct config *c = expect_ok(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: &chk { type: http, path: /healthz, rise: 3 }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n"
		"  - name: api2\n"
		"    health: *chk\n"
		"    servers: [{ address: \"198.18.0.22:6443\" }]\n");
	assert_int_equal(c->backends[1].health.type, HEALTH_HTTP);
	assert_string_equal(c->backends[1].health.path, "/healthz");
	assert_int_equal(c->backends[1].health.rise, 3);
	config_free(c);
	/* an alias of a bad value is reported where the anchored value is */
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: &chk { rise: x }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n"
		"  - name: api2\n"
		"    health: *chk\n"
		"    servers: [{ address: \"198.18.0.22:6443\" }]\n",
		5, 26, "backends[1].health.rise: expected a whole number");
	/* merge keys are not part of the contract */
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - &b { name: api, servers: [{ address: \"198.18.0.21:6443\" }] }\n"
		"  - { <<: *b, name: api2 }\n",
		5, 7, "unknown key \"<<\" in backends[1]");
}

static void test_deep_nesting_rejected_quickly(void **state)
{
	(void)state;
	size_t depth = 50000, n = 0;
	char *yaml = malloc(2 * depth + 16);
	n += (size_t)sprintf(yaml, "node: ");
	memset(yaml + n, '[', depth);
	n += depth;
	memset(yaml + n, ']', depth);
	n += depth;
	struct config_errors e;
	assert_null(config_load_buf("deep.yaml", yaml, n, &e));
	assert_int_equal(e.n, 1);
	assert_int_equal(e.v[0].line, 1);
	assert_int_equal(e.v[0].col, 7 + 1000);
	assert_non_null(strstr(e.v[0].msg, "nested deeper than 1000 levels"));
	config_errors_free(&e);
	free(yaml);
	/* brackets inside quotes and comments do not count */
	struct config *c = expect_ok("node: \"[[[[[[[[[[\" # [[[[[[[[[[[\n" BASE_LISTENERS BASE_BACKENDS);
	assert_string_equal(c->node, "[[[[[[[[[[");
	config_free(c);
	/* moderately nested but schema-valid shapes still get the normal error */
	expect_error("node: [[[[1]]]]\n" BASE_LISTENERS BASE_BACKENDS, 1, 7, "expected a single value");
}

static void test_list_size_limits(void **state)
{
	(void)state;
	size_t cap = 64 * 1100 + 256;
	char *yaml = malloc(cap);
	size_t n = (size_t)snprintf(yaml, cap, BASE_LISTENERS "backends:\n  - name: api\n    servers:\n");
	for (int i = 0; i < 1025; i++)
		n += (size_t)snprintf(yaml + n, cap - n, "      - { address: \"198.18.%d.%d:6443\" }\n",
				      i / 250, i % 250 + 1);
	expect_error(yaml, 6, 7, "backends[0].servers: at most 1024 servers per backend");
	free(yaml);
}

static void test_more_backend_values(void **state)
{
	(void)state;
	struct config *c = expect_ok(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    max_fails: 0\n"
		"    queue_timeout: 0s\n"
		"    retries: 0\n"
		"    balance: random\n"
		"    health: { type: none, verify: on }\n"
		"    servers: [{ address: \"[2001:db8::21]:6443\", backup: False }]\n");
	assert_int_equal(c->backends[0].max_fails, 0);
	assert_int_equal(c->backends[0].queue_timeout_ms, 0);
	assert_int_equal(c->backends[0].retries, 0);
	assert_int_equal(c->backends[0].balance, BALANCE_RANDOM);
	assert_int_equal(c->backends[0].health.type, HEALTH_NONE);
	assert_true(c->backends[0].health.verify);
	assert_false(c->backends[0].servers[0].backup);
	config_free(c);
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    connect_timeout: 0s\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 22, "connect_timeout: 0s is out of range 1ms..1h");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    retries: 101\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 14, "retries: 101 is out of range 0..100");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    max_queue: 10000001\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 16, "max_queue: 10000001 is out of range 0..10000000");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    health: { host: \"a b\" }\n"
		"    servers: [{ address: \"198.18.0.21:6443\" }]\n",
		5, 21, "health.host: must be a non-empty name without spaces");
	expect_error(BASE_LISTENERS
		"backends:\n"
		"  - name: api\n"
		"    servers: [{ address: \"198.18.0.21:6443\", max_conns: many }]\n",
		5, 57, "servers[0].max_conns: expected a whole number");
	expect_error(BASE_BACKENDS
		"listeners:\n"
		"  - { bind: \"198.18.0.100:6443\", backend: api }\n",
		6, 5, "listeners[0]: missing required key \"name\"");
}

static void test_vrrp_ipv6_instance(void **state)
{
	(void)state;
	struct config *c = expect_ok(VRRP_HEAD
		"  - name: v6\n"
		"    interface: eth0\n"
		"    router_id: 9\n"
		"    advert_interval: 40950ms\n"
		"    virtual_ips: [\"2001:db8::100/64\", \"2001:db8::101\"]\n"
		"    unicast_source: \"2001:db8::11\"\n"
		"    unicast_peers: [\"2001:db8::12\"]\n");
	const struct cfg_vrrp *v = &c->vrrp[0];
	assert_int_equal(v->family, AF_INET6);
	assert_int_equal(v->advert_interval_ms, 40950);
	assert_int_equal(v->n_vips, 2);
	assert_string_equal(v->vips[1].text, "2001:db8::101/128");
	assert_int_equal(v->unicast_source.family, AF_INET6);
	assert_int_equal(v->n_unicast_peers, 1);
	config_free(c);
}

static void test_load_file_errors_name_the_file(void **state)
{
	(void)state;
	char path[] = "/tmp/buoy-test-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *yaml = BASE_BACKENDS BASE_LISTENERS "colour: red\n";
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	struct config_errors e;
	assert_null(config_load(path, &e));
	assert_int_equal(e.n, 1);
	char buf[512], want[512];
	config_error_format(&e.v[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s:7:1: unknown key \"colour\"", path);
	assert_string_equal(buf, want);
	config_errors_free(&e);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_hostport),
		cmocka_unit_test(test_parse_ip_cidr),
		cmocka_unit_test(test_format_sockaddr),
		cmocka_unit_test(test_full_config_round_trip),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_hand_built_defaults_match_loader),
		cmocka_unit_test(test_v2_default_interval_and_single_server_retries),
		cmocka_unit_test(test_empty_sections_and_node_local),
		cmocka_unit_test(test_expect_status_forms),
		cmocka_unit_test(test_example_file_loads),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_load_file_errors_name_the_file),
		cmocka_unit_test(test_every_unknown_key_reported),
		cmocka_unit_test(test_unknown_key_and_semantic_error_together),
		cmocka_unit_test(test_errors_sorted_and_formatted),
		cmocka_unit_test(test_cyaml_log_translation),
		cmocka_unit_test(test_alias_bomb_is_bounded),
		cmocka_unit_test(test_null_sections),
		cmocka_unit_test(test_anchors_and_aliases_work),
		cmocka_unit_test(test_deep_nesting_rejected_quickly),
		cmocka_unit_test(test_list_size_limits),
		cmocka_unit_test(test_more_backend_values),
		cmocka_unit_test(test_vrrp_ipv6_instance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
/* clang-format on */
