#include "health/parse.h"

#include <string.h>

/* One state per position of the status-line grammar, then the interim-header skipper. */
enum {
	ST_NAME,         /* "HTTP/" — line_len says how far */
	ST_MAJOR,        /* '1' */
	ST_DOT,          /* '.' */
	ST_MINOR,        /* digit */
	ST_SP,           /* at least one SP */
	ST_SP_MORE,      /* more SP, or the first status digit */
	ST_STATUS,       /* remaining status digits */
	ST_AFTER_STATUS, /* SP, CR or LF */
	ST_REASON,       /* reason phrase up to CR or LF */
	ST_CR,           /* LF after CR of the status line */
	ST_HDR_START,    /* interim response: start of a header line (or the empty line) */
	ST_HDR_LINE,     /* interim response: inside a header line */
	ST_HDR_CR,       /* interim response: LF after CR inside a header line */
	ST_HDR_END_CR,   /* interim response: LF after CR of the empty line */
	ST_DONE,
	ST_ERROR,
};

static const char http_name[] = "HTTP/";

void hsp_init(struct http_status_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = ST_NAME;
}

static enum hsp_result fail(struct http_status_parser *p, enum hsp_error e)
{
	p->state = ST_ERROR;
	p->err = e;
	return HSP_ERROR;
}

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* The status line ended. A 1xx other than 101 is interim: skip its headers and start over. */
static enum hsp_result status_line_done(struct http_status_parser *p)
{
	if (p->status >= 100 && p->status <= 199 && p->status != 101) {
		p->interim_len += p->line_len;
		p->line_len = 0;
		p->state = ST_HDR_START;
		return HSP_NEED_MORE;
	}
	p->state = ST_DONE;
	return HSP_DONE;
}

static void restart_status_line(struct http_status_parser *p)
{
	p->state = ST_NAME;
	p->line_len = 0;
	p->digits = 0;
	p->status = 0;
	p->minor = 0;
}

/* Interim 1xx response headers: we only need to find the empty line that ends them. */
static enum hsp_result step_interim(struct http_status_parser *p, uint8_t c)
{
	if (++p->interim_len > HSP_MAX_INTERIM)
		return fail(p, HSP_ERR_TOO_LONG);
	switch (p->state) {
	case ST_HDR_START:
		if (c == '\r')
			p->state = ST_HDR_END_CR;
		else if (c == '\n')
			restart_status_line(p);
		else if (c == ' ' || c == '\t' || c == ':')
			return fail(p, HSP_ERR_BAD_HEADER); /* obsolete folding / empty field name */
		else
			p->state = ST_HDR_LINE;
		return HSP_NEED_MORE;
	case ST_HDR_LINE:
		if (c == '\r')
			p->state = ST_HDR_CR;
		else if (c == '\n')
			p->state = ST_HDR_START;
		else if (c == 0)
			return fail(p, HSP_ERR_BAD_HEADER);
		return HSP_NEED_MORE;
	case ST_HDR_CR:
		if (c != '\n')
			return fail(p, HSP_ERR_BAD_EOL);
		p->state = ST_HDR_START;
		return HSP_NEED_MORE;
	case ST_HDR_END_CR:
		if (c != '\n')
			return fail(p, HSP_ERR_BAD_EOL);
		restart_status_line(p);
		return HSP_NEED_MORE;
	default: return fail(p, HSP_ERR_BAD_HEADER); /* unreachable */
	}
}

static enum hsp_result step_status_line(struct http_status_parser *p, uint8_t c)
{
	if (++p->line_len > HSP_MAX_LINE)
		return fail(p, HSP_ERR_TOO_LONG);
	switch (p->state) {
	case ST_NAME:
		if (c != (uint8_t)http_name[p->line_len - 1])
			return fail(p, HSP_ERR_BAD_VERSION);
		if (p->line_len == sizeof(http_name) - 1)
			p->state = ST_MAJOR;
		return HSP_NEED_MORE;
	case ST_MAJOR:
		if (c != '1')
			return fail(p, HSP_ERR_BAD_VERSION);
		p->state = ST_DOT;
		return HSP_NEED_MORE;
	case ST_DOT:
		if (c != '.')
			return fail(p, HSP_ERR_BAD_VERSION);
		p->state = ST_MINOR;
		return HSP_NEED_MORE;
	case ST_MINOR:
		if (!is_digit(c))
			return fail(p, HSP_ERR_BAD_VERSION);
		p->minor = (uint8_t)(c - '0');
		p->state = ST_SP;
		return HSP_NEED_MORE;
	case ST_SP:
		if (c != ' ')
			return fail(p, HSP_ERR_BAD_VERSION); /* "HTTP/1.10", "HTTP/1.1x" */
		p->state = ST_SP_MORE;
		return HSP_NEED_MORE;
	case ST_SP_MORE:
		if (c == ' ')
			return HSP_NEED_MORE;
		p->state = ST_STATUS;
		/* c is the first status digit */
		__attribute__((fallthrough));
	case ST_STATUS:
		if (!is_digit(c))
			return fail(p, HSP_ERR_BAD_STATUS);
		p->status = (uint16_t)(p->status * 10 + (c - '0'));
		if (++p->digits == 3) {
			if (p->status < 100)
				return fail(p, HSP_ERR_BAD_STATUS);
			p->state = ST_AFTER_STATUS;
		}
		return HSP_NEED_MORE;
	case ST_AFTER_STATUS:
		if (c == ' ') {
			p->state = ST_REASON;
			return HSP_NEED_MORE;
		}
		if (c == '\r') {
			p->state = ST_CR;
			return HSP_NEED_MORE;
		}
		if (c == '\n')
			return status_line_done(p);
		return fail(p, HSP_ERR_BAD_STATUS); /* a 4th digit, "200OK" */
	case ST_REASON:
		if (c == '\r') {
			p->state = ST_CR;
			return HSP_NEED_MORE;
		}
		if (c == '\n')
			return status_line_done(p);
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, HSP_ERR_BAD_REASON);
		return HSP_NEED_MORE;
	case ST_CR:
		if (c != '\n')
			return fail(p, HSP_ERR_BAD_EOL);
		return status_line_done(p);
	default: return fail(p, HSP_ERR_BAD_VERSION); /* unreachable */
	}
}

enum hsp_result hsp_feed(struct http_status_parser *p, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	for (size_t i = 0; i < len; i++) {
		if (p->state == ST_DONE || p->state == ST_ERROR)
			break;
		enum hsp_result r =
			p->state >= ST_HDR_START ? step_interim(p, b[i]) : step_status_line(p, b[i]);
		p->total++;
		if (r != HSP_NEED_MORE)
			return r;
	}
	if (p->state == ST_DONE)
		return HSP_DONE;
	if (p->state == ST_ERROR)
		return HSP_ERROR;
	return HSP_NEED_MORE;
}

enum hsp_result hsp_finish(struct http_status_parser *p)
{
	if (p->state == ST_DONE)
		return HSP_DONE;
	if (p->state == ST_ERROR)
		return HSP_ERROR;
	return fail(p, p->total == 0 ? HSP_ERR_EMPTY : HSP_ERR_TRUNCATED);
}

const char *hsp_strerror(enum hsp_error e)
{
	switch (e) {
	case HSP_ERR_NONE: return "no error";
	case HSP_ERR_BAD_VERSION: return "not an HTTP/1.x response";
	case HSP_ERR_BAD_STATUS: return "bad status code";
	case HSP_ERR_BAD_REASON: return "control character in reason phrase";
	case HSP_ERR_BAD_EOL: return "bad line ending";
	case HSP_ERR_TOO_LONG: return "status line too long";
	case HSP_ERR_BAD_HEADER: return "bad header in interim response";
	case HSP_ERR_EMPTY: return "connection closed without a response";
	case HSP_ERR_TRUNCATED: return "connection closed inside the status line";
	}
	return "unknown error";
}

bool health_status_expected(const struct status_range *r, size_t n, unsigned status)
{
	if (n == 0)
		return status == 200;
	if (n > CFG_MAX_EXPECT)
		n = CFG_MAX_EXPECT;
	for (size_t i = 0; i < n; i++)
		if (status >= r[i].lo && status <= r[i].hi)
			return true;
	return false;
}
