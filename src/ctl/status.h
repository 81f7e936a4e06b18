/* `buoy status`: the snapshot as one JSON document (field names documented in docs/status.md
 * and stable) or as a compact human table. Pure. */
#ifndef BUOY_CTL_STATUS_H
#define BUOY_CTL_STATUS_H
#include "ctl/snapshot.h"
#include "core/strbuf.h"

void status_format_json(const struct snapshot *s, struct strbuf *out);
void status_format_text(const struct snapshot *s, struct strbuf *out);

/* "1.5K" "20M" "3.1G": bytes for humans. */
void format_bytes(uint64_t n, char *buf, size_t len);
/* "350ms" "12s" "5m03s" "2h10m" "3d04h"; SNAP_NEVER -> "never". */
void format_ago(uint64_t ms, char *buf, size_t len);

#endif
