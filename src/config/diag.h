/* Private to src/config: the diagnostic sink every config stage reports into (the loader, the
 * YAML tree check, the converters and the builders), each problem at file:line:col. Pure: the
 * position comes from a locator the loader passes in. */
#ifndef BUOY_CONFIG_DIAG_H
#define BUOY_CONFIG_DIAG_H
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct cfg_pos {
	unsigned line, col;
};

/* Finds the position of the value at `path` ("backends[0].servers[1].address"), or of the
 * nearest enclosing node that exists. Returns false when nothing matched. */
typedef bool (*cfg_locate_fn)(void *ctx, const char *path, struct cfg_pos *out);

struct cfg_diag {
	struct config_errors *errs;
	const char *file;
	cfg_locate_fn locate;
	void *locate_ctx;
};

void cfg_diag_add(struct cfg_diag *d, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "PREFIX.KEY: message" at the position of PREFIX.KEY (key may be NULL or ""). */
void cfg_err(struct cfg_diag *d, const char *prefix, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void cfg_path_join(char *buf, size_t len, const char *prefix, const char *key);
/* Levenshtein distance for "did you mean" hints; strings over 64 bytes are "far" (99). */
size_t cfg_edit_distance(const char *a, const char *b);

#endif
