/* Incremental HTTP/1.x response status-line parser for health checks (pure).
 *
 * Feed it the bytes of a response as they arrive, in chunks of any size (a single byte at a
 * time works); it answers NEED_MORE until the final status line is complete, then DONE with the
 * status code, or ERROR with a reason. It never reads past the `len` it is given and keeps no
 * pointer into the caller's buffer, so any input is safe (it is fuzzed).
 *
 * Only the status line matters: health checks send `Connection: close` and drop the rest of the
 * response, so headers and body (chunked or not) after the final status line are never looked
 * at. Interim 1xx responses (100 Continue, 103 Early Hints; not 101) are skipped, header block
 * and all, and the parser waits for the final status line.
 *
 * Strictness (RFC 9112 section 4): "HTTP/1.<digit>" exactly (case-sensitive, as nginx and HAProxy
 * do), one or more SP, exactly three digits 100..999, then SP + reason phrase, or the end of the
 * line (a missing reason phrase is accepted). Lines end in CRLF or a bare LF; a CR not followed
 * by LF is an error. The reason phrase may hold HTAB, SP, VCHAR and obs-text, not other controls.
 */
#ifndef BUOY_HEALTH_PARSE_H
#define BUOY_HEALTH_PARSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define HSP_MAX_LINE 1024    /* status line, CRLF included */
#define HSP_MAX_INTERIM 8192 /* all bytes of skipped 1xx responses together */

enum hsp_result { HSP_NEED_MORE = 0, HSP_DONE = 1, HSP_ERROR = -1 };

enum hsp_error {
	HSP_ERR_NONE,
	HSP_ERR_BAD_VERSION, /* not "HTTP/1.x" */
	HSP_ERR_BAD_STATUS,  /* not exactly 3 digits, or below 100 */
	HSP_ERR_BAD_REASON,  /* control character in the reason phrase */
	HSP_ERR_BAD_EOL,     /* CR not followed by LF */
	HSP_ERR_TOO_LONG,   /* status line > HSP_MAX_LINE, or interim responses > HSP_MAX_INTERIM */
	HSP_ERR_BAD_HEADER, /* malformed header block of an interim response */
	HSP_ERR_EMPTY,      /* connection closed before any byte */
	HSP_ERR_TRUNCATED,  /* connection closed in the middle of the status line */
};

struct http_status_parser {
	uint8_t state;
	uint8_t digits;  /* status digits seen */
	uint16_t status; /* valid once DONE */
	uint8_t minor;   /* HTTP/1.<minor> */
	enum hsp_error err;
	uint32_t line_len;    /* bytes of the current status line */
	uint32_t interim_len; /* bytes of skipped 1xx responses */
	uint64_t total;       /* bytes consumed */
};

void hsp_init(struct http_status_parser *p);
/* Consumes up to len bytes. Once DONE or ERROR, further calls return the same result and read
 * nothing. `buf` may be NULL when len is 0. */
enum hsp_result hsp_feed(struct http_status_parser *p, const void *buf, size_t len);
/* The peer closed the connection: returns DONE if a status was parsed, else ERROR
 * (EMPTY or TRUNCATED unless an earlier error is already recorded). */
enum hsp_result hsp_finish(struct http_status_parser *p);
/* "bad HTTP version", "status line too long", ... (static strings). */
const char *hsp_strerror(enum hsp_error e);

/* True when status falls in one of the ranges; with n == 0 the default is 200 only. */
bool health_status_expected(const struct status_range *r, size_t n, unsigned status);

#endif
