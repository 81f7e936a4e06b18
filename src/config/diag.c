/* The diagnostic sink: every config problem becomes one struct config_error with its position. */
#include "config/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfg_path_join(char *buf, size_t len, const char *prefix, const char *key)
{
	if (prefix && *prefix && key && *key)
		snprintf(buf, len, "%s.%s", prefix, key);
	else
		snprintf(buf, len, "%s", prefix && *prefix ? prefix : key ? key : "");
}

static void diag_vadd(struct cfg_diag *d, unsigned line, unsigned col, const char *fmt, va_list ap)
{
	struct config_errors *e = d->errs;
	struct config_error *v = realloc(e->v, (e->n + 1) * sizeof(*v));
	if (!v)
		return;
	e->v = v;
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	e->v[e->n++] = (struct config_error){ strdup(d->file ? d->file : "-"), line, col, msg };
}

void cfg_diag_add(struct cfg_diag *d, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(d, line, col, fmt, ap);
	va_end(ap);
}

void cfg_err(struct cfg_diag *d, const char *prefix, const char *key, const char *fmt, ...)
{
	char path[256], full[1024];
	cfg_path_join(path, sizeof(path), prefix, key);
	struct cfg_pos pos = { 0, 0 };
	if (!d->locate || !d->locate(d->locate_ctx, path, &pos))
		pos = (struct cfg_pos){ 0, 0 };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(full, sizeof(full), fmt, ap);
	va_end(ap);
	cfg_diag_add(d, pos.line, pos.col, "%s%s%s", path, *path ? ": " : "", full);
}

/* Edit distance, for "did you mean" on unknown keys and names; both are short. */
size_t cfg_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

void config_errors_free(struct config_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->v[i].file);
		free(errs->v[i].msg);
	}
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}
