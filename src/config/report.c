/* Config errors as the lines people read: the one printer behind `buoy run`, `buoy check`, the
 * CLI's config look-ups (stderr) and a rejected reload (log and control-socket reply). */
#include <stdio.h>

#include "config/config.h"

void config_error_format(const struct config_error *e, char *buf, size_t len)
{
	if (e->line)
		snprintf(buf, len, "%s:%u:%u: %s", e->file ? e->file : "-", e->line, e->col, e->msg);
	else
		snprintf(buf, len, "%s: %s", e->file ? e->file : "-", e->msg);
}

void config_errors_report(
	const struct config_errors *errs, const char *path, config_line_fn emit, void *arg)
{
	char line[1024];
	for (size_t i = 0; i < errs->n; i++) {
		config_error_format(&errs->v[i], line, sizeof(line));
		emit(arg, line);
	}
	if (errs->n == 0) {
		snprintf(line, sizeof(line), "%s: cannot load config", path);
		emit(arg, line);
	}
}

static void to_stderr(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "%s\n", line);
}

struct config *config_load_reporting(const char *path)
{
	struct config_errors errs = { 0 };
	struct config *c = config_load(path, &errs);
	if (!c)
		config_errors_report(&errs, path, to_stderr, NULL);
	config_errors_free(&errs);
	return c;
}
