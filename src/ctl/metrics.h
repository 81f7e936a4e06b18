/* Prometheus text exposition format 0.0.4, pure: a snapshot in, the /metrics body out.
 * The metric names and labels are documented in docs/status.md. */
#ifndef BUOY_CTL_METRICS_H
#define BUOY_CTL_METRICS_H
#include "ctl/snapshot.h"
#include "ctl/strbuf.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

void metrics_format(const struct snapshot *s, struct strbuf *out);

#endif
