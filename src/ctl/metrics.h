/* Prometheus text exposition format 0.0.4, pure: a snapshot in, the /metrics body out.
 * The metric names and labels are documented in docs/status.md. */
#ifndef BUOY_CTL_METRICS_H
#define BUOY_CTL_METRICS_H
#include "ctl/snapshot.h"
#include "core/strbuf.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

void metrics_format(const struct snapshot *s, struct strbuf *out);

/* Routing of one HTTP request head (pure): 200 for GET/HEAD /metrics (a query string is
 * ignored), 404 another path, 405 another method, 400 anything malformed. *head_only is set
 * for HEAD. */
int metrics_http_route(const char *req, size_t len, bool *head_only);
/* A complete HTTP response with the given status and body into out. */
void metrics_http_response(
	struct strbuf *out, int status, const char *body, size_t body_len, bool head_only);

#endif
