/* kubeconfig reading (see kubeconfig.h). libyaml's document API: a kubeconfig is small and read
 * once per (re)start of discovery, so a whole tree is simpler than events. */
#include "discover/kubeconfig.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct kc_ctx {
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int kc_fail(struct kc_ctx *c, const yaml_node_t *at, const char *fmt, ...)
{
	if (!c->err || !c->errlen)
		return -1;
	int n = 0;
	if (at)
		n = snprintf(c->err, c->errlen, "%zu:%zu: ", at->start_mark.line + 1,
			     at->start_mark.column + 1);
	if (n < 0 || (size_t)n >= c->errlen)
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static yaml_node_t *node(struct kc_ctx *c, int id) { return yaml_document_get_node(c->doc, id); }

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value under key in a mapping node, NULL when absent (or when m is not a mapping). */
static yaml_node_t *map_get(struct kc_ctx *c, const yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = scalar(node(c, p->key));
		if (k && !strcmp(k, key))
			return node(c, p->value);
	}
	return NULL;
}

/* In a sequence of {name: X, <field>: {...}}, the <field> mapping of the entry named name;
 * *idx its index. */
static yaml_node_t *named(
	struct kc_ctx *c, const yaml_node_t *seq, const char *field, const char *name, size_t *idx)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	size_t i = 0;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++, i++) {
		yaml_node_t *e = node(c, *it);
		const char *n = scalar(map_get(c, e, "name"));
		if (n && !strcmp(n, name)) {
			*idx = i;
			return map_get(c, e, field);
		}
	}
	return NULL;
}

static int copy_name(struct kc_ctx *c, const yaml_node_t *n, const char *key, char *dst, size_t cap)
{
	const char *s = scalar(n);
	if (!s || !*s)
		return kc_fail(c, n, "%s: expected a non-empty string", key);
	if (strlen(s) >= cap)
		return kc_fail(c, n, "%s: longer than %zu bytes", key, cap - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* base64 (whitespace ignored) -> a NUL-terminated heap block. */
static int b64(struct kc_ctx *c, const yaml_node_t *n, const char *key, struct kc_blob *out)
{
	const char *s = scalar(n);
	if (!s)
		return kc_fail(c, n, "%s: expected a string", key);
	size_t len = strlen(s), k = 0, pad = 0;
	char *clean = malloc(len + 1);
	uint8_t *dec = malloc(len / 4 * 3 + 1);
	if (!clean || !dec) {
		free(clean);
		free(dec);
		return kc_fail(c, n, "%s: out of memory", key);
	}
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", s[i]))
			clean[k++] = s[i];
	for (size_t i = k; i > 0 && pad < 2 && clean[i - 1] == '='; i--)
		pad++;
	int n_out = k % 4 ? -1 : EVP_DecodeBlock(dec, (const unsigned char *)clean, (int)k);
	free(clean);
	if (n_out < 0 || !k) {
		free(dec);
		return kc_fail(c, n, "%s: bad base64", key);
	}
	out->len = (size_t)n_out - pad; /* EVP_DecodeBlock counts padding as zero bytes */
	dec[out->len] = 0;
	out->data = (char *)dec;
	return 0;
}

static int path(struct kc_ctx *c, const yaml_node_t *n, const char *key, const char *base,
		struct kc_blob *out)
{
	const char *s = scalar(n);
	if (!s || !*s)
		return kc_fail(c, n, "%s: expected a file path", key);
	int w = s[0] == '/' || !base || !*base
			? snprintf(out->path, sizeof(out->path), "%s", s)
			: snprintf(out->path, sizeof(out->path), "%s/%s", base, s);
	if (w < 0 || (size_t)w >= sizeof(out->path))
		return kc_fail(c, n, "%s: path too long", key);
	return 0;
}

/* One credential given either as key (a path) or key-data (inline base64); data wins, as in
 * client-go. */
static int blob(struct kc_ctx *c, const yaml_node_t *m, const char *where, const char *key,
		const char *base, struct kc_blob *out)
{
	char full[160], dkey[64];
	snprintf(dkey, sizeof(dkey), "%s-data", key);
	yaml_node_t *d = map_get(c, m, dkey), *f = map_get(c, m, key);
	if (d) {
		snprintf(full, sizeof(full), "%s.%s", where, dkey);
		return b64(c, d, full, out);
	}
	if (f) {
		snprintf(full, sizeof(full), "%s.%s", where, key);
		return path(c, f, full, base, out);
	}
	return 0;
}

static int read_cluster(struct kc_ctx *c, const yaml_node_t *cl, const char *where,
			const char *base, struct kubeconfig *out)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.server", where);
	yaml_node_t *srv = map_get(c, cl, "server");
	if (!srv)
		return kc_fail(c, cl, "%s: missing", key);
	if (copy_name(c, srv, key, out->server, sizeof(out->server)))
		return -1;
	char host[KC_SERVER_LEN];
	unsigned port;
	if (kubeconfig_server_split(out->server, host, sizeof(host), &port))
		return kc_fail(c, srv, "%s: expected https://host[:port]", key);
	const char *ins = scalar(map_get(c, cl, "insecure-skip-tls-verify"));
	out->insecure = ins && !strcmp(ins, "true");
	return blob(c, cl, where, "certificate-authority", base, &out->ca);
}

static int read_user(struct kc_ctx *c, const yaml_node_t *u, const char *where, const char *base,
		     struct kubeconfig *out)
{
	static const char *const refused[] = { "exec", "auth-provider", "username", "password" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		yaml_node_t *n = map_get(c, u, refused[i]);
		if (n)
			return kc_fail(c, n, "%s.%s: not supported (use a client certificate or a token)",
				       where, refused[i]);
	}
	if (blob(c, u, where, "client-certificate", base, &out->cert) ||
	    blob(c, u, where, "client-key", base, &out->key))
		return -1;
	yaml_node_t *tok = map_get(c, u, "token"), *tf = map_get(c, u, "tokenFile");
	char key[96];
	if (tok) {
		snprintf(key, sizeof(key), "%s.token", where);
		const char *s = scalar(tok);
		if (!s || !*s)
			return kc_fail(c, tok, "%s: expected a non-empty string", key);
		out->token.data = strdup(s);
		out->token.len = strlen(s);
		if (!out->token.data)
			return kc_fail(c, tok, "%s: out of memory", key);
	} else if (tf) {
		snprintf(key, sizeof(key), "%s.tokenFile", where);
		if (path(c, tf, key, base, &out->token))
			return -1;
	}
	bool cert = out->cert.data || out->cert.path[0], keyp = out->key.data || out->key.path[0];
	if (cert != keyp)
		return kc_fail(c, u, "%s: client-certificate and client-key go together", where);
	bool token = out->token.data || out->token.path[0];
	if (!cert && !token)
		return kc_fail(c, u, "%s: no credentials (client certificate or token)", where);
	return 0;
}

/* The context's cluster and user names, then those entries. */
static int resolve(struct kc_ctx *c, const yaml_node_t *root, const char *base, const char *want,
		   struct kubeconfig *out)
{
	if (!root || root->type != YAML_MAPPING_NODE)
		return kc_fail(c, root, "not a kubeconfig (expected a mapping)");
	if (want) {
		if (strlen(want) >= sizeof(out->context))
			return kc_fail(c, NULL, "context name too long");
		strcpy(out->context, want);
	} else if (copy_name(c, map_get(c, root, "current-context") ?: root, "current-context",
			     out->context, sizeof(out->context)))
		return -1;
	size_t i = 0;
	yaml_node_t *ctx = named(c, map_get(c, root, "contexts"), "context", out->context, &i);
	if (!ctx)
		return kc_fail(c, root, "contexts: no context named \"%s\"", out->context);
	char cname[KC_NAME_LEN], uname[KC_NAME_LEN], where[64];
	snprintf(where, sizeof(where), "contexts[%zu].context", i);
	char k1[96], k2[96];
	snprintf(k1, sizeof(k1), "%s.cluster", where);
	snprintf(k2, sizeof(k2), "%s.user", where);
	if (copy_name(c, map_get(c, ctx, "cluster") ?: ctx, k1, cname, sizeof(cname)) ||
	    copy_name(c, map_get(c, ctx, "user") ?: ctx, k2, uname, sizeof(uname)))
		return -1;
	yaml_node_t *cl = named(c, map_get(c, root, "clusters"), "cluster", cname, &i);
	if (!cl)
		return kc_fail(c, root, "clusters: no cluster named \"%s\"", cname);
	snprintf(where, sizeof(where), "clusters[%zu].cluster", i);
	if (read_cluster(c, cl, where, base, out))
		return -1;
	yaml_node_t *u = named(c, map_get(c, root, "users"), "user", uname, &i);
	if (!u)
		return kc_fail(c, root, "users: no user named \"%s\"", uname);
	snprintf(where, sizeof(where), "users[%zu].user", i);
	return read_user(c, u, where, base, out);
}

int kubeconfig_parse(const char *buf, size_t len, const char *base_dir, const char *context,
		     struct kubeconfig *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	yaml_parser_t p;
	yaml_document_t doc;
	struct kc_ctx c = { &doc, err, errlen };
	if (!yaml_parser_initialize(&p))
		return kc_fail(&c, NULL, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &doc)) {
		int rc = kc_fail(&c, NULL, "%zu:%zu: bad YAML: %s", p.problem_mark.line + 1,
				 p.problem_mark.column + 1, p.problem ? p.problem : "?");
		yaml_parser_delete(&p);
		return rc;
	}
	int rc = resolve(&c, yaml_document_get_root_node(&doc), base_dir, context, out);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	if (rc)
		kubeconfig_free(out);
	return rc;
}

void kubeconfig_free(struct kubeconfig *k)
{
	struct kc_blob *b[] = { &k->ca, &k->cert, &k->key, &k->token };
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		if (b[i]->data)
			OPENSSL_cleanse(b[i]->data, b[i]->len); /* keys and tokens: leave no copy */
		free(b[i]->data);
		b[i]->data = NULL;
		b[i]->len = 0;
	}
}

int kubeconfig_server_split(const char *server, char *host, size_t hostlen, unsigned *port)
{
	if (strncmp(server, "https://", 8))
		return -1;
	const char *h = server + 8, *end, *rest;
	if (*h == '[') {
		end = strchr(++h, ']');
		if (!end)
			return -1;
		rest = end + 1;
	} else {
		end = h + strcspn(h, ":/");
		rest = end;
	}
	size_t n = (size_t)(end - h);
	if (!n || n >= hostlen || memchr(h, '@', n) || memchr(h, '?', n) || memchr(h, '#', n))
		return -1;
	*port = 443;
	if (*rest == ':') {
		unsigned v = 0;
		size_t d = 0;
		for (rest++; *rest >= '0' && *rest <= '9' && d < 6; rest++, d++)
			v = v * 10 + (unsigned)(*rest - '0');
		if (!d || v < 1 || v > 65535)
			return -1;
		*port = v;
	}
	if (*rest && *rest != '/')
		return -1;
	memcpy(host, h, n);
	host[n] = 0;
	return 0;
}
