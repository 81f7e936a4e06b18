/* GET /metrics over HTTP/1.x on the main loop: one request per connection, then close. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sock.h"
#include "ctl/ctl.h"
#include "ctl/metrics.h"
#include "ctl/oneshot.h"

#define METRICS_MAX_REQUEST 8192
#define METRICS_TIMEOUT_MS 5000
#define METRICS_MAX_CONNS 32

struct metrics_server {
	struct oneshot *os;
	const struct ctl_sources *src;
	struct loop *loop;
};

static bool head_complete(const char *buf, size_t len)
{
	(void)len;
	return strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n");
}

static bool is_token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
}

int metrics_http_route(const char *req, size_t len, bool *head_only)
{
	*head_only = false;
	const char *eol = memchr(req, '\n', len);
	if (!eol)
		return 400;
	size_t line_len = (size_t)(eol - req);
	if (line_len && req[line_len - 1] == '\r')
		line_len--;
	/* METHOD SP TARGET SP HTTP/1.x */
	const char *sp1 = memchr(req, ' ', line_len);
	if (!sp1 || sp1 == req)
		return 400;
	for (const char *p = req; p < sp1; p++)
		if (!is_token_char(*p))
			return 400;
	const char *target = sp1 + 1;
	const char *sp2 = memchr(target, ' ', line_len - (size_t)(target - req));
	if (!sp2 || sp2 == target || target[0] != '/')
		return 400;
	const char *version = sp2 + 1;
	size_t vlen = line_len - (size_t)(version - req);
	if (vlen != 8 || strncmp(version, "HTTP/1.", 7) != 0 ||
	    (version[7] != '0' && version[7] != '1'))
		return 400;
	size_t mlen = (size_t)(sp1 - req);
	bool get = mlen == 3 && strncmp(req, "GET", 3) == 0;
	bool head = mlen == 4 && strncmp(req, "HEAD", 4) == 0;
	const char *q = memchr(target, '?', (size_t)(sp2 - target));
	size_t plen = (size_t)((q ? q : sp2) - target);
	if (plen != 8 || strncmp(target, "/metrics", 8) != 0)
		return 404;
	if (!get && !head)
		return 405;
	*head_only = head;
	return 200;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

void metrics_http_response(struct strbuf *out, int status, const char *body, size_t body_len, bool head_only)
{
	sb_printf(out,
		  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		  "Connection: close\r\n\r\n",
		  status, reason_phrase(status),
		  status == 200 ? METRICS_CONTENT_TYPE : "text/plain; charset=utf-8", body_len,
		  status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only)
		sb_putn(out, body, body_len);
}

static void metrics_handle(
	void *arg, enum oneshot_event ev, const char *req, size_t len, struct strbuf *out)
{
	struct metrics_server *m = arg;
	bool head = false;
	int status = ev == ONESHOT_TOO_LARGE ? 431
		     : ev == ONESHOT_EOF     ? 400
					     : metrics_http_route(req, len, &head);
	if (ev == ONESHOT_EOF && len == 0)
		return;
	if (status != 200) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "%s\n", reason_phrase(status));
		metrics_http_response(out, status, msg, (size_t)n, false);
		return;
	}
	struct snapshot s;
	struct strbuf body = { 0 };
	if (snapshot_take(&s, m->src, loop_now(m->loop)) == 0) {
		metrics_format(&s, &body);
		snapshot_free(&s);
	} else {
		body.oom = true;
	}
	if (body.oom)
		metrics_http_response(out, 500, "out of memory\n", 14, false);
	else
		metrics_http_response(out, 200, sb_str(&body), body.len, head);
	sb_free(&body);
}

struct metrics_server *metrics_server_start(struct loop *l, const struct ctl_sources *src)
{
	const struct cfg_addr *a = &src->cfg->metrics_listen;
	if (!src->cfg->metrics_enabled)
		return NULL;
	struct metrics_server *m = calloc(1, sizeof(*m));
	int fd = m ? sock_listen((const struct sockaddr *)&a->ss, a->len, 64, NULL, NULL) : -1;
	if (fd < 0) {
		log_error("metrics listener failed", "listen=%s reason=\"%s\"", a->text,
			  strerror(m ? errno : ENOMEM));
		free(m);
		return NULL;
	}
	*m = (struct metrics_server){ .src = src, .loop = l };
	struct oneshot_cfg cfg = {
		.what = "metrics",
		.max_request = METRICS_MAX_REQUEST,
		.timeout_ms = METRICS_TIMEOUT_MS,
		.max_conns = METRICS_MAX_CONNS,
		.complete = head_complete,
		.handle = metrics_handle,
		.arg = m,
	};
	m->os = oneshot_start(l, fd, &cfg);
	if (!m->os) {
		log_error("metrics listener failed", "listen=%s reason=\"%s\"", a->text,
			  strerror(errno));
		free(m);
		return NULL;
	}
	log_info("metrics listening", "listen=%s path=/metrics", a->text);
	return m;
}

void metrics_server_stop(struct metrics_server *m)
{
	if (!m)
		return;
	oneshot_stop(m->os);
	free(m);
}
