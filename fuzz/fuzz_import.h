/* Shared by the import fuzz targets (fuzz_import_{keepalived,haproxy,nginx}.c): a reader over
 * arbitrary text, with no file access (includes are refused with a warning).
 *
 * Invariants: the reader and the emitter never crash or leak; two runs give the same buoy.yaml
 * byte for byte; the emitted text is one YAML document whose structure the input cannot bend:
 * buoy's loader, given it, never reports an unknown or duplicate key (every value the input
 * controls is quoted); every warning names the input file. */
#ifndef BUOY_FUZZ_IMPORT_H
#define BUOY_FUZZ_IMPORT_H
#include "config/config.h"
#include "fuzz.h"
#include "import/import.h"

static void fz_import_once(int (*reader)(struct imp_model *, const char *, const char *, size_t),
			   const char *text, size_t len, const char *node, struct strbuf *out)
{
	struct imp_model m;
	imp_model_init(&m);
	m.node = node;
	reader(&m, "in.conf", text, len);
	imp_finalize(&m);
	for (size_t i = 0; i < m.n_warnings; i++)
		FZ_ASSERT(strncmp(m.warnings[i].where, "in.conf", 7) == 0);
	imp_emit(&m, out);
	imp_model_free(&m);
}

static int fz_import(int (*reader)(struct imp_model *, const char *, const char *, size_t),
		     const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	const char *node = fz_u8(&f) & 1 ? "lb1" : NULL;
	size_t len;
	uint8_t *text = fz_rest(&f, &len, 0);
	struct strbuf a = { 0 }, b = { 0 };
	fz_import_once(reader, (const char *)text, len, node, &a);
	fz_import_once(reader, (const char *)text, len, node, &b);
	FZ_ASSERT(a.len == b.len && memcmp(sb_str(&a), sb_str(&b), a.len) == 0);
	struct config_errors errs = { 0 };
	struct config *c = config_load_buf("out.yaml", sb_str(&a), a.len, &errs);
	for (size_t i = 0; i < errs.n; i++) {
		bool bent = strncmp(errs.v[i].msg, "unknown key", 11) == 0 ||
			    strncmp(errs.v[i].msg, "duplicate key", 13) == 0;
		if (bent)
			fprintf(stderr, "%s\n---\n%s\n", sb_str(&a), errs.v[i].msg);
		FZ_ASSERT(!bent);
	}
	config_errors_free(&errs);
	config_free(c);
	sb_free(&a);
	sb_free(&b);
	free(text);
	return 0;
}
#endif
