/* `buoy import`: reads the given files, writes buoy.yaml to stdout and every warning to stderr
 * as FILE:LINE: why. The result is loaded by buoy's own config loader before it is printed:
 * what import writes passes `buoy check`, or the exit status says it does not. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "import/import.h"

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct strbuf b = { 0 };
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && b.len < (16u << 20))
		sb_putn(&b, buf, n);
	bool bad = ferror(f) || b.oom;
	fclose(f);
	if (bad) {
		sb_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.p ? b.p : calloc(1, 1);
}

static void usage(FILE *f)
{
	fputs("usage: buoy import [--keepalived FILE] [--haproxy FILE] [--nginx FILE]\n"
	      "                   [--k0s FILE] [--kube-vip FILE] [--server ADDR]...\n"
	      "                   [--node NAME] [--strict]\n"
	      "Writes a commented buoy.yaml to stdout; what does not carry over is a comment\n"
	      "there and a warning on stderr (FILE:LINE: why).\n"
	      "  --node NAME  keepalived's config id for @NAME lines (keepalived -i), and `node`\n"
	      "  --server ADDR  an apiserver (k0s and kube-vip find them through Kubernetes);\n"
	      "               repeat it for each control-plane node\n"
	      "  --strict     any warning is an error\n"
	      "exit status: 0 complete, 1 converted with warnings, 2 error\n",
	      f);
}

typedef int (*reader_fn)(struct imp_model *, const char *, const char *, size_t);

static int run_reader(struct imp_model *m, reader_fn fn, const char *path)
{
	size_t len;
	char *text = read_all(path, &len);
	if (!text) {
		fprintf(stderr, "buoy import: %s: %s\n", path, strerror(errno ? errno : EIO));
		return -1;
	}
	fn(m, path, text, len);
	free(text);
	return 0;
}

/* The output through buoy's loader: its errors become fatal warnings of the import. */
static void verify(struct imp_model *m, const struct strbuf *out)
{
	struct config_errors errs = { 0 };
	struct config *c = config_load_buf("imported.yaml", sb_str(out), out->len, &errs);
	for (size_t i = 0; i < errs.n; i++) {
		char line[1024];
		config_error_format(&errs.v[i], line, sizeof(line));
		imp_fatal(m, "buoy check", 0, "%s", line);
	}
	config_errors_free(&errs);
	config_free(c);
}

#define N_KINDS 5
static const reader_fn readers[N_KINDS] = {
	imp_keepalived, imp_haproxy, imp_nginx, imp_k0s, imp_kube_vip
};

/* The buoy.yaml to stdout, the warnings to stderr; the exit status. */
static int convert(struct imp_model *m, const char *const files[N_KINDS], const char *node, bool strict)
{
	m->node = node;
	m->read_file = read_all;
	for (int i = 0; i < N_KINDS; i++)
		if (files[i]) {
			imp_note(m, &m->notes, "from %s", files[i]);
			if (run_reader(m, readers[i], files[i]) < 0)
				return 2;
		}
	if (node)
		m->out_node = (char *)node;
	imp_finalize(m);
	struct strbuf out = { 0 };
	imp_emit(m, &out);
	size_t n_before = m->n_warnings;
	verify(m, &out);
	if (m->n_warnings != n_before) {
		sb_reset(&out); /* again, with the loader's errors in the header */
		imp_emit(m, &out);
	}
	fwrite(sb_str(&out), 1, out.len, stdout);
	for (size_t i = 0; i < m->n_warnings; i++)
		fprintf(stderr, "%s: %s%s\n", m->warnings[i].where,
			m->warnings[i].fatal ? "error: " : "warning: ", m->warnings[i].why);
	sb_free(&out);
	int rc = imp_status(m);
	return strict && rc == 1 ? 2 : rc;
}

int import_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keepalived", required_argument, NULL, 'k' },
		{ "haproxy", required_argument, NULL, 'p' },
		{ "nginx", required_argument, NULL, 'n' },
		{ "k0s", required_argument, NULL, '0' },
		{ "kube-vip", required_argument, NULL, 'v' },
		{ "server", required_argument, NULL, 'S' },
		{ "node", required_argument, NULL, 'N' },
		{ "strict", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char kinds[N_KINDS] = { 'k', 'p', 'n', '0', 'v' };
	const char *files[N_KINDS] = { NULL };
	const char *node = NULL;
	bool strict = false, any = false;
	struct imp_model m;
	imp_model_init(&m);
	int o, rc = -1;
	optind = 2;
	while (rc < 0 && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *k = memchr(kinds, o, N_KINDS);
		if (k) {
			files[k - kinds] = optarg;
			any = true;
		} else if (o == 'S') {
			*(char **)imp_push(&m, &m.servers, &m.n_servers, sizeof(char *)) = optarg;
		} else if (o == 'N') {
			node = optarg;
		} else if (o == 's') {
			strict = true;
		} else {
			usage(o == 'h' ? stdout : stderr);
			rc = o == 'h' ? 0 : 2;
		}
	}
	if (rc < 0 && (optind < argc || !any)) {
		usage(stderr);
		rc = 2;
	}
	if (rc < 0)
		rc = convert(&m, files, node, strict);
	imp_model_free(&m);
	return rc;
}
