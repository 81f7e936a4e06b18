/* Shared by the import unit tests: run readers over files or strings, load the emitted
 * buoy.yaml with buoy's own loader, compare configs by what they do. */
#ifndef BUOY_TEST_IMPORT_UTIL_H
#define BUOY_TEST_IMPORT_UTIL_H
#include <string.h>

#include "config/config.h"
#include "import/import.h"

/* each test file uses some of these */
#define IMPORT_TEST_FN static __attribute__((unused))

IMPORT_TEST_FN char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct strbuf b = { 0 };
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_putn(&b, buf, n);
	fclose(f);
	*len = b.len;
	return b.p ? b.p : calloc(1, 1);
}

typedef int (*imp_reader)(struct imp_model *, const char *, const char *, size_t);

struct imported {
	struct imp_model m;
	struct strbuf yaml;
	struct config *c; /* NULL when the loader refused the output */
	struct config_errors errs;
	int status;
};

IMPORT_TEST_FN void imported_print(const struct imported *im)
{
	fprintf(stderr, "---- emitted:\n%s", sb_str(&im->yaml));
	for (size_t i = 0; i < im->errs.n; i++) {
		char buf[512];
		config_error_format(&im->errs.v[i], buf, sizeof(buf));
		fprintf(stderr, "    loader: %s\n", buf);
	}
}

IMPORT_TEST_FN void import_finish(struct imported *im)
{
	imp_finalize(&im->m);
	imp_emit(&im->m, &im->yaml);
	im->c = config_load_buf("imported.yaml", sb_str(&im->yaml), im->yaml.len, &im->errs);
	im->status = imp_status(&im->m);
}

IMPORT_TEST_FN void import_text(struct imported *im, const char *node, imp_reader fn, const char *text)
{
	memset(im, 0, sizeof(*im));
	imp_model_init(&im->m);
	im->m.node = node;
	fn(&im->m, "test.conf", text, strlen(text));
	import_finish(im);
}

/* Up to three files, each with its reader; includes are followed. */
IMPORT_TEST_FN void import_files(
	struct imported *im, const char *node, imp_reader f1, const char *p1, imp_reader f2,
	const char *p2)
{
	memset(im, 0, sizeof(*im));
	imp_model_init(&im->m);
	im->m.node = node;
	im->m.read_file = read_text;
	imp_reader fns[2] = { f1, f2 };
	const char *paths[2] = { p1, p2 };
	for (int i = 0; i < 2; i++) {
		if (!fns[i])
			continue;
		size_t len;
		char *t = read_text(paths[i], &len);
		assert_non_null(t);
		fns[i](&im->m, paths[i], t, len);
		free(t);
	}
	import_finish(im);
}

IMPORT_TEST_FN void imported_free(struct imported *im)
{
	config_free(im->c);
	config_errors_free(&im->errs);
	sb_free(&im->yaml);
	imp_model_free(&im->m);
}

/* A warning whose text contains `what`, at `where` (NULL: anywhere). */
IMPORT_TEST_FN bool warned(const struct imported *im, const char *where, const char *what)
{
	for (size_t i = 0; i < im->m.n_warnings; i++)
		if ((!where || strcmp(im->m.warnings[i].where, where) == 0) &&
		    strstr(im->m.warnings[i].why, what))
			return true;
	return false;
}

IMPORT_TEST_FN void dump_warnings(const struct imported *im)
{
	for (size_t i = 0; i < im->m.n_warnings; i++)
		fprintf(stderr, "    warning: %s: %s\n", im->m.warnings[i].where, im->m.warnings[i].why);
}

IMPORT_TEST_FN void assert_warned(const struct imported *im, const char *where, const char *what)
{
	if (!warned(im, where, what)) {
		fprintf(stderr, "    wanted warning %s: ...%s...\n", where ? where : "*", what);
		dump_warnings(im);
	}
	assert_true(warned(im, where, what));
}

IMPORT_TEST_FN struct config *load_file(const char *path)
{
	struct config_errors e;
	struct config *c = config_load(path, &e);
	assert_non_null(c);
	config_errors_free(&e);
	return c;
}

/* What decides an election, field by field. */
IMPORT_TEST_FN void assert_vrrp_same(const struct cfg_vrrp *a, const struct cfg_vrrp *b)
{
	assert_string_equal(a->interface, b->interface);
	assert_int_equal(a->router_id, b->router_id);
	assert_int_equal(a->priority, b->priority);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->advert_interval_ms, b->advert_interval_ms);
	assert_int_equal(a->preempt, b->preempt);
	assert_string_equal(a->auth_pass, b->auth_pass);
	assert_int_equal(a->n_vips, b->n_vips);
	for (size_t i = 0; i < a->n_vips; i++)
		assert_string_equal(a->vips[i].text, b->vips[i].text);
	assert_int_equal(a->unicast_source.family, b->unicast_source.family);
	assert_int_equal(a->n_unicast_peers, b->n_unicast_peers);
	for (size_t i = 0; i < a->n_unicast_peers; i++)
		assert_memory_equal(
			&a->unicast_peers[i], &b->unicast_peers[i], sizeof(a->unicast_peers[i]));
	if (a->label || b->label)
		assert_string_equal(a->label, b->label);
}

/* What decides where a connection goes (not how servers are checked: the hand conversions
 * ask /readyz where the originals connected, on purpose). */
IMPORT_TEST_FN void assert_backend_same(const struct cfg_backend *a, const struct cfg_backend *b)
{
	assert_int_equal(a->balance, b->balance);
	assert_int_equal(a->n_servers, b->n_servers);
	for (size_t i = 0; i < a->n_servers; i++) {
		assert_string_equal(a->servers[i].addr.text, b->servers[i].addr.text);
		assert_int_equal(a->servers[i].weight, b->servers[i].weight);
		assert_int_equal(a->servers[i].max_conns, b->servers[i].max_conns);
		assert_int_equal(a->servers[i].backup, b->servers[i].backup);
	}
}

IMPORT_TEST_FN uint16_t listener_port(const struct cfg_listener *l)
{
	return cfg_port(&l->bind.ss);
}
#endif
