/* The config loader + validator (src/config: config_load_buf): YAML text in, a config or a list
 * of errors out. Config files come from the operator, not the network, but a loader that
 * crashes or leaks on a typo takes the data plane down with it (reload). Invariants: exactly one
 * of (config, errors) comes back; every error has a message and formats as FILE:LINE:COL. */
#include "config/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	struct fz f = { data, size };
	size_t len;
	char *yaml = (char *)fz_rest(&f, &len, 0);
	struct config_errors errs = { 0 };
	struct config *c = config_load_buf("fuzz.yaml", yaml, len, &errs);
	FZ_ASSERT((c != NULL) != (errs.n > 0));
	for (size_t i = 0; i < errs.n; i++) {
		FZ_ASSERT(errs.v[i].msg && errs.v[i].msg[0]);
		char line[512];
		config_error_format(&errs.v[i], line, sizeof(line));
		FZ_ASSERT(strncmp(line, "fuzz.yaml:", 10) == 0);
	}
	config_free(c);
	config_errors_free(&errs);
	free(yaml);
	return 0;
}
