#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_free(struct strbuf *b)
{
	free(b->p);
	*b = (struct strbuf){ 0 };
}

void sb_reset(struct strbuf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->p)
		b->p[0] = '\0';
}

/* Room for `more` bytes plus the terminating NUL. */
static bool sb_reserve(struct strbuf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void sb_putn(struct strbuf *b, const char *s, size_t n)
{
	if (!sb_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_puts(struct strbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }
void sb_putc(struct strbuf *b, char c) { sb_putn(b, &c, 1); }

void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sb_putn(b, small, (size_t)n);
		return;
	}
	if (!sb_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sb_json_str(struct strbuf *b, const char *s)
{
	if (!s) {
		sb_puts(b, "null");
		return;
	}
	sb_putc(b, '"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		switch (*c) {
		case '"': sb_puts(b, "\\\""); break;
		case '\\': sb_puts(b, "\\\\"); break;
		case '\n': sb_puts(b, "\\n"); break;
		case '\r': sb_puts(b, "\\r"); break;
		case '\t': sb_puts(b, "\\t"); break;
		default:
			if (*c < 0x20 || *c == 0x7f)
				sb_printf(b, "\\u%04x", *c);
			else
				sb_putc(b, (char)*c);
		}
	}
	sb_putc(b, '"');
}

void sb_prom_label(struct strbuf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			sb_puts(b, "\\\\");
		else if (*s == '"')
			sb_puts(b, "\\\"");
		else if (*s == '\n')
			sb_puts(b, "\\n");
		else
			sb_putc(b, *s);
	}
}

const char *sb_str(const struct strbuf *b) { return b->len ? b->p : ""; }
