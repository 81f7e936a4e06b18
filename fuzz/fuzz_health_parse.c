/* Health-check HTTP status-line parser (src/health/parse.c), fed the way sockets deliver bytes.
 *
 * Input: one byte choosing the chunk size pattern, then the response bytes. Invariants: the
 * result does not depend on how the bytes are split (one call, fuzzer-chosen chunks, one byte at
 * a time all agree on result, status and error); DONE means a status 100..999 that is not an
 * interim 1xx; ERROR always carries a reason with a message; the parser never consumes bytes
 * after DONE/ERROR. */
#include "fuzz.h"
#include "health/parse.h"

struct outcome {
	enum hsp_result r;
	unsigned status;
	enum hsp_error err;
};

static struct outcome run(const uint8_t *b, size_t len, uint8_t pattern)
{
	struct http_status_parser p;
	hsp_init(&p);
	enum hsp_result r = HSP_NEED_MORE;
	size_t off = 0, i = 0;
	while (off < len && r == HSP_NEED_MORE) {
		size_t chunk = pattern == 0   ? len
			       : pattern == 1 ? 1
					      : (size_t)((pattern >> (i++ % 7)) & 7) + 1;
		if (chunk > len - off)
			chunk = len - off;
		/* each chunk in its own exact-size block: an over-read is caught */
		uint8_t *c = malloc(chunk);
		memcpy(c, b + off, chunk);
		r = hsp_feed(&p, c, chunk);
		free(c);
		off += chunk;
	}
	if (r == HSP_NEED_MORE)
		r = hsp_finish(&p);
	FZ_ASSERT(hsp_feed(&p, "HTTP/1.1 200 OK\r\n", 17) == r); /* sticky once decided */
	FZ_ASSERT(hsp_feed(&p, NULL, 0) == r);
	return (struct outcome){ r, r == HSP_DONE ? p.status : 0, r == HSP_ERROR ? p.err : HSP_ERR_NONE };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t pattern = fz_u8(&f);
	size_t len;
	uint8_t *b = fz_rest(&f, &len, 0);
	struct outcome whole = run(b, len, 0);
	struct outcome bytewise = run(b, len, 1);
	struct outcome chunked = run(b, len, pattern | 2);
	FZ_ASSERT(whole.r == bytewise.r && whole.r == chunked.r);
	FZ_ASSERT(whole.status == bytewise.status && whole.status == chunked.status);
	FZ_ASSERT(whole.err == bytewise.err && whole.err == chunked.err);
	FZ_ASSERT(whole.r == HSP_DONE || whole.r == HSP_ERROR);
	if (whole.r == HSP_DONE) {
		FZ_ASSERT(whole.status >= 100 && whole.status <= 999);
		FZ_ASSERT(whole.status == 101 || whole.status >= 200);
		(void)health_status_expected(NULL, 0, whole.status);
	} else {
		FZ_ASSERT(whole.err != HSP_ERR_NONE);
		const char *m = hsp_strerror(whole.err);
		FZ_ASSERT(m && *m);
	}
	free(b);
	return 0;
}
