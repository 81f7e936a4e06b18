/* Chunked decoding and NDJSON framing (discover/stream.c): a watch body decoded whole, split at
 * every byte, one byte at a time and in place; malformed chunk syntax; long lines; and the two
 * layers stacked over random chunkings of a random event stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "discover/stream.h"

/* "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\"" + ":3}\n" in three chunks, an extension, a trailer */
static const char BODY[] =
	"8\r\n{\"a\":1}\n\r\n"
	"e;ext=\"x\"\r\n{\"b\":2}\r\n\n{\"c\"\r\n"
	"4\r\n:3}\n\r\n"
	"0\r\nX-Trailer: y\r\n\r\n";
static const char PAYLOAD[] = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n";

/* Decodes in pieces of `step` bytes (0: all at once); returns the result, payload in out. */
static enum chunked_result decode(const char *in, size_t len, size_t step, char *out, size_t *olen)
{
	struct chunked c;
	chunked_init(&c);
	enum chunked_result r = CHUNKED_NEED_MORE;
	size_t off = 0;
	*olen = 0;
	while (off < len && r == CHUNKED_NEED_MORE) {
		size_t k = step && step < len - off ? step : len - off, o, used;
		uint8_t *piece = malloc(k);
		memcpy(piece, in + off, k);
		r = chunked_feed(&c, piece, k, piece, &o, &used); /* in place */
		memcpy(out + *olen, piece, o);
		free(piece);
		*olen += o;
		assert_true(used == k || r != CHUNKED_NEED_MORE);
		off += used;
	}
	return r;
}

static void chunked_every_split(void **state)
{
	(void)state;
	char out[256];
	size_t olen;
	size_t len = sizeof(BODY) - 1;
	for (size_t step = 0; step <= len; step++) {
		assert_int_equal(decode(BODY, len, step, out, &olen), CHUNKED_DONE);
		assert_int_equal(olen, sizeof(PAYLOAD) - 1);
		assert_memory_equal(out, PAYLOAD, olen);
	}
	/* incomplete: every prefix needs more */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(decode(BODY, cut, 1, out, &olen), CHUNKED_NEED_MORE);
	/* sticky once done: nothing consumed after */
	struct chunked c;
	chunked_init(&c);
	size_t o, used;
	uint8_t buf[64];
	memcpy(buf, "0\r\n\r\nextra", 10);
	assert_int_equal(chunked_feed(&c, buf, 10, buf, &o, &used), CHUNKED_DONE);
	assert_int_equal(used, 5);
	assert_int_equal(chunked_feed(&c, buf, 10, buf, &o, &used), CHUNKED_DONE);
	assert_int_equal(used, 0);
}

static void chunked_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"\r\n",                      /* no size */
		"g\r\n",                     /* not hex */
		"5\nhello\r\n",              /* bare LF after size */
		"5\r\nhelloX\r\n",           /* no CRLF after data */
		"5\r\nhello\rX",             /* CR not followed by LF */
		"1000000000000000\r\n",      /* 16 hex digits: too big */
		"0\r\nbad\ntrailer\r\n\r\n", /* bare LF in trailer */
		"-1\r\n",
	};
	char out[64];
	size_t olen;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (size_t step = 0; step < 3; step++)
			assert_int_equal(decode(bad[i], strlen(bad[i]), step, out, &olen), CHUNKED_ERROR);
	/* an extension line without end is bounded */
	char *longext = malloc(5000);
	memcpy(longext, "1;", 2);
	memset(longext + 2, 'x', 4998);
	assert_int_equal(decode(longext, 5000, 0, out, &olen), CHUNKED_ERROR);
	free(longext);
	/* upper-case hex and a large (but valid) size */
	assert_int_equal(decode("A\r\n0123456789\r\n0\r\n\r\n", 20, 1, out, &olen), CHUNKED_DONE);
	assert_int_equal(olen, 10);
}

struct lines {
	char text[4096];
	size_t len;
	int count;
	int stop_at;
};

static int on_line(const char *line, size_t len, void *ctx)
{
	struct lines *l = ctx;
	assert_true(len > 0);
	assert_null(memchr(line, '\n', len));
	assert_true(line[len - 1] != '\r');
	memcpy(l->text + l->len, line, len);
	l->len += len;
	l->text[l->len++] = '|';
	l->count++;
	return l->count == l->stop_at ? 7 : 0;
}

static void ndjson_every_split(void **state)
{
	(void)state;
	const char *in = PAYLOAD;
	size_t len = strlen(in);
	for (size_t step = 1; step <= len; step++) {
		struct ndjson s;
		struct lines l = { .stop_at = -1 };
		ndjson_init(&s, 64);
		for (size_t off = 0; off < len; off += step)
			assert_int_equal(ndjson_feed(&s, in + off, off + step > len ? len - off : step,
						     on_line, &l),
					 0);
		assert_int_equal(l.count, 3);
		assert_memory_equal(l.text, "{\"a\":1}|{\"b\":2}|{\"c\":3}|", l.len);
		ndjson_free(&s);
	}
}

static void ndjson_limits_and_stop(void **state)
{
	(void)state;
	struct ndjson s;
	struct lines l = { .stop_at = -1 };
	ndjson_init(&s, 8);
	assert_int_equal(ndjson_feed(&s, "12345678\n", 9, on_line, &l), 0); /* exactly max */
	assert_int_equal(ndjson_feed(&s, "123456789\n", 10, on_line, &l), -1);
	ndjson_reset(&s);
	assert_int_equal(ndjson_feed(&s, "12345", 5, on_line, &l), 0);
	assert_int_equal(ndjson_feed(&s, "6789", 4, on_line, &l), -1); /* across feeds too */
	ndjson_reset(&s);
	/* a partial line is dropped by reset (a new connection) */
	assert_int_equal(ndjson_feed(&s, "abc", 3, on_line, &l), 0);
	ndjson_reset(&s);
	l = (struct lines){ .stop_at = 2 };
	assert_int_equal(ndjson_feed(&s, "x\ny\nz\n", 6, on_line, &l), 7); /* callback stops it */
	assert_memory_equal(l.text, "x|y|", 4);
	ndjson_free(&s);
}

/* Both layers, random events and random chunk sizes: the lines that come out are the lines
 * that went in. */
static void stacked_random(void **state)
{
	(void)state;
	srand(18);
	for (int round = 0; round < 200; round++) {
		char payload[2048];
		size_t plen = 0;
		int nlines = 1 + rand() % 20;
		for (int i = 0; i < nlines; i++)
			plen += (size_t)snprintf(
				payload + plen, sizeof(payload) - plen,
				"{\"type\":\"MODIFIED\",\"n\":%d}%s", rand(),
				rand() % 2 ? "\r\n" : "\n");
		char body[8192];
		size_t blen = 0, off = 0;
		while (off < plen) {
			size_t k = 1 + (size_t)rand() % 40;
			if (k > plen - off)
				k = plen - off;
			blen += (size_t)snprintf(body + blen, sizeof(body) - blen, "%zx\r\n", k);
			memcpy(body + blen, payload + off, k);
			blen += k;
			memcpy(body + blen, "\r\n", 2);
			blen += 2;
			off += k;
		}
		memcpy(body + blen, "0\r\n\r\n", 5);
		blen += 5;
		struct chunked c;
		struct ndjson s;
		struct lines l = { .stop_at = -1 };
		chunked_init(&c);
		ndjson_init(&s, 256);
		enum chunked_result r = CHUNKED_NEED_MORE;
		for (off = 0; off < blen && r == CHUNKED_NEED_MORE;) {
			size_t k = 1 + (size_t)rand() % 50, o, used;
			if (k > blen - off)
				k = blen - off;
			uint8_t tmp[64];
			r = chunked_feed(&c, (const uint8_t *)body + off, k, tmp, &o, &used);
			assert_int_equal(ndjson_feed(&s, tmp, o, on_line, &l), 0);
			off += used;
		}
		assert_int_equal(r, CHUNKED_DONE);
		assert_int_equal(l.count, nlines);
		ndjson_free(&s);
	}
}

static void http_head(void **state)
{
	(void)state;
	struct http_head h;
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Transfer-Encoding:  gzip, chunked \r\n\r\n5\r\nhello";
	long n = http_head_parse(ok, strlen(ok), &h);
	assert_int_equal(n, strstr(ok, "5\r\n") - ok);
	assert_int_equal(h.status, 200);
	assert_true(h.chunked);
	assert_int_equal(h.content_length, -1);
	for (size_t cut = 0; cut < (size_t)n; cut++) /* every prefix of the head needs more */
		assert_int_equal(http_head_parse(ok, cut, &h), 0);
	const char *cl = "HTTP/1.0 401 Unauthorized\r\ncontent-length: 12\r\n\r\n";
	assert_int_equal(http_head_parse(cl, strlen(cl), &h), (long)strlen(cl));
	assert_int_equal(h.status, 401);
	assert_false(h.chunked);
	assert_int_equal(h.content_length, 12);
	const char *nr = "HTTP/1.1 404\r\n\r\n";
	assert_int_equal(http_head_parse(nr, strlen(nr), &h), (long)strlen(nr));
	assert_int_equal(h.status, 404);
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",               /* not 1.x */
		"HTTP/1.1 20x OK\r\n\r\n",             /* status digits */
		"HTTP/1.1 099 Low\r\n\r\n",            /* below 100 */
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", /* header without ':' */
		"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n", /* bare LF inside the head */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(http_head_parse(bad[i], strlen(bad[i]), &h), -1);
	/* no end of head within HTTP_HEAD_MAX: an error, not a wait without end */
	char *big = malloc(HTTP_HEAD_MAX + 10);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 21);
	memset(big + 21, 'a', HTTP_HEAD_MAX - 11);
	assert_int_equal(http_head_parse(big, HTTP_HEAD_MAX + 10, &h), -1);
	assert_int_equal(http_head_parse(big, HTTP_HEAD_MAX - 1, &h), 0);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chunked_every_split), cmocka_unit_test(chunked_bad),
		cmocka_unit_test(ndjson_every_split),  cmocka_unit_test(ndjson_limits_and_stop),
		cmocka_unit_test(stacked_random),      cmocka_unit_test(http_head),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
