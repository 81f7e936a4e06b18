/* The byte layers under a WATCH (pure, incremental; any input is safe, both are fuzzed).
 *
 * A watch answer is HTTP/1.1 `Transfer-Encoding: chunked` whose payload is newline-delimited
 * JSON, one event per line, and the chunk boundaries have nothing to do with the lines: one chunk
 * may carry half an event or three. So two small machines, each fed bytes as they come:
 *   - `chunked`: RFC 9112 section 7.1 decoding (hex size, extensions ignored, trailers skipped);
 *   - `ndjson`: joins bytes into lines and hands each complete non-empty line (without its LF or
 *     CR LF) to a callback; a line longer than `max` is an error, not an allocation without end.
 * The result never depends on how the input is split. */
#ifndef BUOY_DISCOVER_STREAM_H
#define BUOY_DISCOVER_STREAM_H
#include <stddef.h>
#include <stdint.h>

enum chunked_result { CHUNKED_NEED_MORE = 0, CHUNKED_DONE = 1, CHUNKED_ERROR = -1 };

struct chunked {
	uint8_t state;
	uint8_t digits;  /* of the size line */
	uint64_t remain; /* data bytes left in the current chunk */
	uint32_t line;   /* bytes of the current size or trailer line */
};

void chunked_init(struct chunked *c);
/* Decodes in[0..len) into out (room for len bytes; out may equal in: it never writes ahead of
 * what it has read). *outlen = bytes written, *used = bytes of in consumed (all of them unless
 * DONE or ERROR). Once DONE or ERROR it stays so and consumes nothing. */
enum chunked_result chunked_feed(
	struct chunked *c, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen, size_t *used);

struct ndjson {
	char *buf;
	size_t len, cap, max;
};

/* Called per line; a nonzero return stops the feed and is returned by it. */
typedef int (*ndjson_line_fn)(const char *line, size_t len, void *ctx);

void ndjson_init(struct ndjson *s, size_t max);
void ndjson_free(struct ndjson *s);
/* Forget a partial line (a new connection starts clean). */
void ndjson_reset(struct ndjson *s);
/* 0; the callback's nonzero value; -1 when a line passes max bytes or memory runs out. */
int ndjson_feed(struct ndjson *s, const void *data, size_t len, ndjson_line_fn fn, void *ctx);

/* An HTTP/1.1 response head: status line and header fields up to the empty line. */
struct http_head {
	unsigned status;
	int chunked;            /* Transfer-Encoding ends in chunked */
	int64_t content_length; /* -1 when absent */
};
#define HTTP_HEAD_MAX 16384
/* buf[0..len) holds the start of a response: >0 the head's length (body follows), 0 need more
 * (and len < HTTP_HEAD_MAX), -1 malformed or too long. */
long http_head_parse(const char *buf, size_t len, struct http_head *h);

#endif
