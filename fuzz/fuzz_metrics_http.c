/* The /metrics HTTP request router (src/ctl/metrics_http.c: metrics_http_route), as the oneshot
 * server calls it: a NUL-terminated request of at most 8 KiB. Invariants: only 200/400/404/405
 * come back, 200 only for GET or HEAD of /metrics, and the request line is never read past. */
#include <stdbool.h>

#include "ctl/metrics.h"
#include "core/strbuf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	struct fz f = { data, size };
	size_t len;
	char *req = (char *)fz_rest(&f, &len, 1);
	bool head = false;
	int status = metrics_http_route(req, len, &head);
	FZ_ASSERT(status == 200 || status == 400 || status == 404 || status == 405);
	if (status == 200) {
		FZ_ASSERT((head && strncmp(req, "HEAD /metrics", 13) == 0) ||
			  (!head && strncmp(req, "GET /metrics", 12) == 0));
	} else {
		FZ_ASSERT(!head);
	}
	struct strbuf out = { 0 };
	metrics_http_response(&out, status, "x\n", 2, head);
	FZ_ASSERT(out.oom || strncmp(sb_str(&out), "HTTP/1.1 ", 9) == 0);
	sb_free(&out);
	free(req);
	return 0;
}
