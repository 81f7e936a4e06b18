/* Chunked transfer decoding and newline-delimited framing (see stream.h). */
#include "discover/stream.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	CK_SIZE,
	CK_EXT,
	CK_SIZE_LF,
	CK_DATA,
	CK_DATA_CR,
	CK_DATA_LF,
	CK_TRAILER,
	CK_TRAILER_LF,
	CK_DONE,
	CK_ERROR
};

#define CK_MAX_DIGITS 15 /* < 2^60: no overflow */
#define CK_MAX_LINE 4096 /* size line with extensions, or one trailer line */

void chunked_init(struct chunked *c) { memset(c, 0, sizeof(*c)); }

static int hexval(uint8_t b)
{
	if (b >= '0' && b <= '9')
		return b - '0';
	b |= 0x20;
	return b >= 'a' && b <= 'f' ? b - 'a' + 10 : -1;
}

/* One byte of everything but chunk data. Returns the new state. */
static uint8_t ck_step(struct chunked *c, uint8_t b)
{
	if (++c->line > CK_MAX_LINE)
		return CK_ERROR;
	switch (c->state) {
	case CK_SIZE:
		if (hexval(b) >= 0) {
			if (++c->digits > CK_MAX_DIGITS)
				return CK_ERROR;
			c->remain = c->remain << 4 | (uint64_t)hexval(b);
			return CK_SIZE;
		}
		if (!c->digits)
			return CK_ERROR;
		return b == ';' || b == ' ' || b == '\t' ? CK_EXT
		       : b == '\r'                       ? CK_SIZE_LF
							 : CK_ERROR;
	case CK_EXT: return b == '\r' ? CK_SIZE_LF : b == '\n' ? CK_ERROR : CK_EXT;
	case CK_SIZE_LF:
		if (b != '\n')
			return CK_ERROR;
		c->line = 0;
		return c->remain ? CK_DATA : CK_TRAILER;
	case CK_DATA_CR: return b == '\r' ? CK_DATA_LF : CK_ERROR;
	case CK_DATA_LF:
		if (b != '\n')
			return CK_ERROR;
		c->line = 0;
		c->digits = 0;
		return CK_SIZE;
	case CK_TRAILER: /* a trailer field line, or the empty line that ends the message */
		return b == '\r' ? CK_TRAILER_LF : b == '\n' ? CK_ERROR : CK_TRAILER;
	case CK_TRAILER_LF:
		if (b != '\n')
			return CK_ERROR;
		if (c->line == 2)
			return CK_DONE;
		c->line = 0;
		return CK_TRAILER;
	}
	return CK_ERROR;
}

enum chunked_result chunked_feed(
	struct chunked *c, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen, size_t *used)
{
	size_t i = 0, o = 0;
	while (i < len && c->state != CK_DONE && c->state != CK_ERROR) {
		if (c->state == CK_DATA) {
			size_t k = len - i < c->remain ? len - i : (size_t)c->remain;
			memmove(out + o, in + i, k);
			o += k;
			i += k;
			c->remain -= k;
			if (!c->remain)
				c->state = CK_DATA_CR;
			continue;
		}
		c->state = ck_step(c, in[i++]);
	}
	*outlen = o;
	*used = i;
	return c->state == CK_DONE    ? CHUNKED_DONE
	       : c->state == CK_ERROR ? CHUNKED_ERROR
				      : CHUNKED_NEED_MORE;
}

void ndjson_init(struct ndjson *s, size_t max) { *s = (struct ndjson){ .max = max }; }

void ndjson_free(struct ndjson *s)
{
	free(s->buf);
	*s = (struct ndjson){ .max = s->max };
}

void ndjson_reset(struct ndjson *s) { s->len = 0; }

static int emit(const char *p, size_t n, ndjson_line_fn fn, void *ctx)
{
	if (n && p[n - 1] == '\r')
		n--;
	return n ? fn(p, n, ctx) : 0;
}

static int append(struct ndjson *s, const char *p, size_t n)
{
	if (!n)
		return 0;
	if (n > s->max - s->len)
		return -1;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n)
			cap *= 2;
		char *b = realloc(s->buf, cap);
		if (!b)
			return -1;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

int ndjson_feed(struct ndjson *s, const void *data, size_t len, ndjson_line_fn fn, void *ctx)
{
	const char *p = data;
	while (len) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl ? (size_t)(nl - p) : len;
		int rc;
		if (!nl) /* a partial line waits for the rest */
			return append(s, p, n);
		if (s->len) { /* the end of a buffered line */
			if (append(s, p, n))
				return -1;
			size_t whole = s->len;
			s->len = 0;
			rc = emit(s->buf, whole, fn, ctx);
		} else {
			if (n > s->max)
				return -1;
			rc = emit(p, n, fn, ctx);
		}
		if (rc)
			return rc;
		p += n + 1;
		len -= n + 1;
	}
	return 0;
}

/* One header field line [p, e) (no CRLF): Transfer-Encoding and Content-Length matter. */
static int head_field(const char *p, const char *e, struct http_head *h)
{
	const char *colon = memchr(p, ':', (size_t)(e - p));
	if (!colon || colon == p)
		return -1;
	size_t klen = (size_t)(colon - p);
	const char *v = colon + 1;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	const char *ve = e;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	if (klen == 17 && !strncasecmp(p, "transfer-encoding", 17))
		h->chunked = ve - v >= 7 && !strncasecmp(ve - 7, "chunked", 7);
	else if (klen == 14 && !strncasecmp(p, "content-length", 14)) {
		int64_t n = 0;
		if (v == ve || ve - v > 15)
			return -1;
		for (const char *q = v; q < ve; q++) {
			if (*q < '0' || *q > '9')
				return -1;
			n = n * 10 + (*q - '0');
		}
		h->content_length = n;
	}
	return 0;
}

long http_head_parse(const char *buf, size_t len, struct http_head *h)
{
	*h = (struct http_head){ .content_length = -1 };
	size_t scan = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	const char *end = NULL;
	for (size_t i = 3; i < scan && !end; i++)
		if (!memcmp(buf + i - 3, "\r\n\r\n", 4))
			end = buf + i + 1;
	if (!end)
		return len >= HTTP_HEAD_MAX ? -1 : 0;
	/* "HTTP/1.x SSS" */
	if ((size_t)(end - buf) < 16 || memcmp(buf, "HTTP/1.", 7) || buf[8] != ' ')
		return -1;
	unsigned st = 0;
	for (int i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		st = st * 10 + (unsigned)(buf[i] - '0');
	}
	if (st < 100 || (buf[12] != ' ' && buf[12] != '\r'))
		return -1;
	h->status = st;
	const char *p = memchr(buf, '\n', (size_t)(end - buf)) + 1;
	while (p < end - 2) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || nl == p || nl[-1] != '\r' || head_field(p, nl - 1, h) < 0)
			return -1;
		p = nl + 1;
	}
	return end - buf;
}
