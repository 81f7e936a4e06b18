#include <stdio.h>

#include "config/config.h"

struct config *config_load_reporting(const char *path)
{
	struct config_errors errs = { 0 };
	struct config *c = config_load(path, &errs);
	if (!c) {
		char line[1024];
		for (size_t i = 0; i < errs.n; i++) {
			config_error_format(&errs.v[i], line, sizeof(line));
			fprintf(stderr, "%s\n", line);
		}
		if (errs.n == 0)
			fprintf(stderr, "buoy: %s: cannot load config\n", path);
	}
	config_errors_free(&errs);
	return c;
}
