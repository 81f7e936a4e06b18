/* Shared by the config unit tests: load YAML from a string and assert on errors by line:col. */
#ifndef BUOY_TEST_CONFIG_UTIL_H
#define BUOY_TEST_CONFIG_UTIL_H
static struct config *load(const char *yaml, struct config_errors *e)
{
	return config_load_buf("buoy.yaml", yaml, strlen(yaml), e);
}

static void dump_errors(const struct config_errors *e)
{
	for (size_t i = 0; i < e->n; i++) {
		char buf[512];
		config_error_format(&e->v[i], buf, sizeof(buf));
		fprintf(stderr, "    got: %s\n", buf);
	}
}

/* Asserts the config is rejected with (at least) this error at line:col. */
static void expect_error(const char *yaml, unsigned line, unsigned col, const char *substr)
{
	struct config_errors e;
	struct config *c = load(yaml, &e);
	bool found = false;
	for (size_t i = 0; i < e.n && !found; i++)
		found = e.v[i].line == line && e.v[i].col == col && strstr(e.v[i].msg, substr);
	if (!found || c) {
		fprintf(stderr, "    wanted %u:%u: ...%s...\n", line, col, substr);
		dump_errors(&e);
	}
	assert_null(c);
	assert_true(found);
	config_errors_free(&e);
}

static struct config *expect_ok(const char *yaml)
{
	struct config_errors e;
	struct config *c = load(yaml, &e);
	if (!c)
		dump_errors(&e);
	assert_non_null(c);
	assert_int_equal(e.n, 0);
	return c;
}

/* A valid base that bad cases extend; backends first so line numbers below stay obvious. */
#define BASE_BACKENDS \
	"backends:\n" \
	"  - name: api\n" \
	"    servers:\n" \
	"      - { address: \"198.18.0.21:6443\" }\n"
#define BASE_LISTENERS \
	"listeners:\n" \
	"  - { name: api, bind: \"198.18.0.100:6443\", backend: api }\n"

#define VRRP_HEAD BASE_LISTENERS BASE_BACKENDS "vrrp:\n" /* vrrp entries start on line 8 */

#endif
