/* Control commands against a real pool, the control socket on a real loop, /metrics routing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctl/client.h"
#include "ctl/ctl.h"
#include "ctl/metrics.h"
#include "proxy/pool.h"

static struct cfg_server servers[3];
static struct cfg_backend backends[1];
static struct cfg_listener listeners[1];
static struct config cfg;

static void addr(struct cfg_addr *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->text, sizeof(a->text), "%s", text);
}

static struct pool *make_pool(const char *sock)
{
	addr(&servers[0].addr, "198.18.0.21:6443");
	addr(&servers[1].addr, "198.18.0.22:6443");
	addr(&servers[2].addr, "[2001:db8::23]:6443");
	for (int i = 0; i < 3; i++)
		servers[i].weight = 1;
	backends[0] = (struct cfg_backend){
		.name = "apiservers", .servers = servers, .n_servers = 3, .health = { .type = HEALTH_NONE }
	};
	listeners[0] = (struct cfg_listener){ .name = "api", .backend = "apiservers" };
	addr(&listeners[0].bind, "198.18.0.100:6443");
	cfg = (struct config){
		.node = "lb1",
		.control_socket = (char *)sock,
		.backends = backends,
		.n_backends = 1,
		.listeners = listeners,
		.n_listeners = 1
	};
	return pool_new(&cfg);
}

static int fake_reload(void *arg, struct strbuf *out)
{
	int *calls = arg;
	(*calls)++;
	sb_puts(out, "config.yaml:3:5: unknown key \"bogus\"\n");
	return -1;
}

static int exec(const struct ctl_sources *src, const char *line, struct strbuf *out)
{
	sb_reset(out);
	return ctl_execute(src, line, 1000, out);
}

static void test_drain_enable(void **st)
{
	(void)st;
	struct pool *p = make_pool(NULL);
	struct ctl_sources src = { .cfg = &cfg, .pool = p };
	struct strbuf out = { 0 };
	struct server *s = p->backends[0]->servers[1];
	assert_true(server_eligible(s, 1000));
	assert_int_equal(exec(&src, "drain apiservers 198.18.0.22:6443", &out), 0);
	assert_string_equal(sb_str(&out), "backend=apiservers server=198.18.0.22:6443 drained\n");
	assert_true(atomic_load(&s->drained));
	assert_false(server_eligible(s, 1000));
	assert_int_equal(exec(&src, "drain apiservers 198.18.0.22", &out), 0); /* host alone */
	assert_non_null(strstr(sb_str(&out), "(already)"));
	assert_int_equal(exec(&src, "enable apiservers 198.18.0.22:6443\n", &out), 0);
	assert_false(atomic_load(&s->drained));
	assert_true(server_eligible(s, 1000));
	/* IPv6 host without brackets */
	assert_int_equal(exec(&src, "drain apiservers 2001:db8::23", &out), 0);
	assert_true(atomic_load(&p->backends[0]->servers[2]->drained));
	/* status reflects it */
	assert_int_equal(exec(&src, "status", &out), 0);
	assert_non_null(strstr(
		sb_str(&out),
		"\"address\":\"[2001:db8::23]:6443\",\"state\":\"drained\",\"eligible\":false"));
	assert_int_equal(exec(&src, "status text", &out), 0);
	assert_non_null(strstr(sb_str(&out), "BACKEND     SERVER"));
	sb_free(&out);
	pool_free(p);
}

static void test_errors(void **st)
{
	(void)st;
	struct pool *p = make_pool(NULL);
	int calls = 0;
	struct ctl_sources src = { .cfg = &cfg, .pool = p };
	struct strbuf out = { 0 };
	assert_int_equal(exec(&src, "drain nope 198.18.0.22:6443", &out), -1);
	assert_string_equal(sb_str(&out), "unknown backend \"nope\" (backends: apiservers)\n");
	assert_int_equal(exec(&src, "drain apiservers 198.18.0.99:1", &out), -1);
	assert_string_equal(
		sb_str(&out),
		"unknown server \"198.18.0.99:1\" in backend \"apiservers\" "
		"(servers: 198.18.0.21:6443, 198.18.0.22:6443, [2001:db8::23]:6443)\n");
	assert_int_equal(exec(&src, "drain apiservers", &out), -1);
	assert_int_equal(exec(&src, "frobnicate", &out), -1);
	assert_non_null(strstr(sb_str(&out), "unknown command \"frobnicate\""));
	assert_int_equal(exec(&src, "", &out), -1);
	assert_int_equal(exec(&src, "status yaml", &out), -1);
	assert_int_equal(exec(&src, "reload", &out), -1); /* no callback */
	assert_int_equal(exec(&src, "reload now", &out), -1);
	assert_string_equal(sb_str(&out), "usage: reload\n");
	assert_int_equal(exec(&src, "a b c d e", &out), -1);
	assert_string_equal(sb_str(&out), "too many arguments\n");
	assert_int_equal(exec(&src, "help", &out), 0);
	assert_non_null(strstr(sb_str(&out), "drain BACKEND SERVER"));
	src.reload = fake_reload;
	src.reload_arg = &calls;
	assert_int_equal(exec(&src, "reload", &out), -1);
	assert_int_equal(calls, 1);
	assert_string_equal(sb_str(&out), "config.yaml:3:5: unknown key \"bogus\"\n");
	for (size_t i = 0; i < 3; i++)
		assert_false(atomic_load(&p->backends[0]->servers[i]->drained));
	sb_free(&out);
	pool_free(p);
}

static void stop_loop(struct loop *l, struct timer *t)
{
	(void)t;
	loop_stop(l);
}

/* Runs the loop for ms milliseconds. */
static void spin(struct loop *l, uint64_t ms)
{
	struct timer t;
	timer_init(&t, stop_loop, NULL);
	loop_update_now(l);
	timer_arm_in(l, &t, ms);
	loop_run(l);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_socket_server(void **st)
{
	(void)st;
	char dir[] = "/tmp/buoyt-ctl-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[100];
	snprintf(path, sizeof(path), "%s/sub/dir/buoy.sock", dir);
	struct pool *p = make_pool(path);
	struct loop *l = loop_new();
	struct ctl_sources src = { .cfg = &cfg, .pool = p };

	/* a stale socket file from a crashed run is replaced */
	char subdir[300];
	snprintf(subdir, sizeof(subdir), "%s/sub", dir);
	mkdir(subdir, 0755);
	snprintf(subdir, sizeof(subdir), "%s/sub/dir", dir);
	mkdir(subdir, 0755);
	int stale = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(stale, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(stale);

	struct ctl_server *s = ctl_server_start(l, &src);
	assert_non_null(s);
	struct stat stt;
	assert_int_equal(stat(path, &stt), 0);
	assert_true(S_ISSOCK(stt.st_mode));
	assert_int_equal(stt.st_mode & 0777, 0600);
	/* a second daemon on the same path is refused, the first keeps its socket */
	assert_null(ctl_server_start(l, &src));
	assert_int_equal(stat(path, &stt), 0);

	int fd = connect_unix(path);
	assert_int_equal(write(fd, "drain apiservers 198.18.0.21:6443\n", 34), 34);
	int fd2 = connect_unix(path); /* a request without newline, then EOF */
	assert_int_equal(write(fd2, "bogus", 5), 5);
	shutdown(fd2, SHUT_WR);
	int idle = connect_unix(path); /* says nothing: timed out, never blocks others */
	spin(l, 100);
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "ok\nbackend=apiservers server=198.18.0.21:6443 drained\n");
	assert_int_equal(read(fd, buf, sizeof(buf)), 0); /* closed after one response */
	assert_true(atomic_load(&p->backends[0]->servers[0]->drained));
	n = read(fd2, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "error\nunknown command \"bogus\"; try help\n");
	close(fd);
	close(fd2);
	close(idle);

	ctl_server_stop(s);
	assert_int_equal(stat(path, &stt), -1); /* removed at exit */

	/* missing parent directories are created 0755 even under a strict umask */
	char path2[100], made[100];
	snprintf(path2, sizeof(path2), "%s/new/run/b.sock", dir);
	cfg.control_socket = path2;
	mode_t old = umask(077);
	s = ctl_server_start(l, &src);
	umask(old);
	assert_non_null(s);
	snprintf(made, sizeof(made), "%s/new/run", dir);
	assert_int_equal(stat(made, &stt), 0);
	assert_int_equal(stt.st_mode & 0777, 0755);
	assert_int_equal(stat(path2, &stt), 0);
	assert_int_equal(stt.st_mode & 0777, 0600);
	ctl_server_stop(s);
	rmdir(made);
	snprintf(made, sizeof(made), "%s/new", dir);
	rmdir(made);
	/* a path that is not a socket is never removed */
	snprintf(path2, sizeof(path2), "%s/plain", dir);
	FILE *f = fopen(path2, "w");
	fclose(f);
	cfg.control_socket = path2;
	assert_null(ctl_server_start(l, &src));
	assert_int_equal(stat(path2, &stt), 0);
	unlink(path2);
	loop_free(l);
	pool_free(p);
	rmdir(subdir);
	snprintf(subdir, sizeof(subdir), "%s/sub", dir);
	rmdir(subdir);
	rmdir(dir);
}

static void test_http_route(void **st)
{
	(void)st;
	bool head;
	struct {
		const char *req;
		int want;
		bool head;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, false },
		{ "GET /metrics HTTP/1.0\n\n", 200, false },
		{ "GET /metrics?x=1 HTTP/1.1\r\n\r\n", 200, false },
		{ "HEAD /metrics HTTP/1.1\r\n\r\n", 200, true },
		{ "GET / HTTP/1.1\r\n\r\n", 404, false },
		{ "GET /metricsx HTTP/1.1\r\n\r\n", 404, false },
		{ "POST /metrics HTTP/1.1\r\n\r\n", 405, false },
		{ "GET /metrics HTTP/2.0\r\n\r\n", 400, false },
		{ "GET /metrics\r\n\r\n", 400, false },
		{ "GET metrics HTTP/1.1\r\n\r\n", 400, false },
		{ " /metrics HTTP/1.1\r\n\r\n", 400, false },
		{ "G\x01T /metrics HTTP/1.1\r\n\r\n", 400, false },
		{ "\r\n\r\n", 400, false },
		{ "garbage", 400, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = metrics_http_route(cases[i].req, strlen(cases[i].req), &head);
		if (got != cases[i].want)
			fail_msg("case %zu: %s -> %d, want %d", i, cases[i].req, got, cases[i].want);
		assert_int_equal(head, cases[i].head);
	}
	struct strbuf out = { 0 };
	metrics_http_response(&out, 200, "a 1\n", 4, false);
	assert_string_equal(
		sb_str(&out),
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
		"charset=utf-8\r\nContent-Length: 4\r\nConnection: close\r\n\r\na 1\n");
	sb_free(&out);
}

static void test_manifest_systemd(void **st)
{
	(void)st;
	struct strbuf out = { 0 };
	manifest_systemd(&out, "/srv/lb.yaml", "/opt/bin/buoy");
	const char *u = sb_str(&out);
	assert_non_null(strstr(u, "[Service]\n"));
	assert_non_null(strstr(u, "ExecStartPre=/opt/bin/buoy check -c /srv/lb.yaml\n"));
	assert_non_null(strstr(u, "ExecStart=/opt/bin/buoy run -c /srv/lb.yaml\n"));
	assert_non_null(strstr(u, "ExecReload=/bin/kill -HUP $MAINPID\n"));
	assert_null(strstr(u, "/etc/buoy/buoy.yaml"));
	assert_null(strstr(u, "/usr/local"));
	sb_reset(&out);
	manifest_systemd(&out, NULL, NULL); /* verbatim */
	assert_non_null(
		strstr(sb_str(&out), "ExecStart=/usr/local/sbin/buoy run -c /etc/buoy/buoy.yaml\n"));
	assert_non_null(strstr(sb_str(&out), "[Install]\nWantedBy=multi-user.target\n"));
	sb_free(&out);
}

/* Random bytes and mutated valid requests: no crash, always a defined answer (run under ASan
 * by `make check`). */
static void test_random_requests(void **st)
{
	(void)st;
	struct pool *p = make_pool(NULL);
	struct ctl_sources src = { .cfg = &cfg, .pool = p };
	struct strbuf out = { 0 };
	static const char *const seeds[] = {
		"GET /metrics HTTP/1.1\r\n\r\n", "drain apiservers 198.18.0.21", "status text",
		"enable apiservers [2001:db8::23]:6443"
	};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char buf[200];
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t len = x % (sizeof(buf) - 1);
		const char *seed = seeds[(x >> 20) % 4];
		for (size_t k = 0; k < len; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[k] = (i & 1) && k < strlen(seed) && (x & 7) ? seed[k] : (char)(x >> 32);
		}
		buf[len] = '\0';
		bool head;
		int code = metrics_http_route(buf, len, &head);
		assert_true(code == 200 || code == 400 || code == 404 || code == 405);
		sb_reset(&out);
		int rc = ctl_execute(&src, buf, 1000, &out);
		assert_true(rc == 0 || rc == -1);
		assert_true(out.len > 0);
	}
	sb_free(&out);
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain_enable),     cmocka_unit_test(test_errors),
		cmocka_unit_test(test_socket_server),    cmocka_unit_test(test_http_route),
		cmocka_unit_test(test_manifest_systemd), cmocka_unit_test(test_random_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
