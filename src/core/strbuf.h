/* A growable text buffer for building responses (status JSON, metrics, tables).
 * Allocation failure is sticky: `oom` is set, later appends are dropped, and the caller sends an
 * error instead of a truncated document. */
#ifndef BUOY_CORE_STRBUF_H
#define BUOY_CORE_STRBUF_H
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *p; /* NUL-terminated when len > 0 */
	size_t len, cap;
	bool oom;
};

void sb_free(struct strbuf *b);
void sb_reset(struct strbuf *b);
void sb_putn(struct strbuf *b, const char *s, size_t n);
void sb_puts(struct strbuf *b, const char *s);
void sb_putc(struct strbuf *b, char c);
void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal, quotes included; NULL becomes null. */
void sb_json_str(struct strbuf *b, const char *s);
/* A Prometheus label value, without quotes: \\, \" and \n escaped. */
void sb_prom_label(struct strbuf *b, const char *s);
/* The contents as a C string ("" when empty). */
const char *sb_str(const struct strbuf *b);

#endif
