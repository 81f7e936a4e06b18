#include "health/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* The oldest queued OpenSSL error as text (the cause: "bad decrypt" rather than the "PEM lib"
 * stacked on top of it), "" when the queue is empty. Clears the queue. */
static void last_ssl_error(char *buf, size_t len)
{
	unsigned long e, last = 0;
	while ((e = ERR_get_error()) != 0)
		if (!last)
			last = e;
	buf[0] = '\0';
	if (!last)
		return;
	const char *r = ERR_reason_error_string(last);
	if (r)
		snprintf(buf, len, "%s", r);
	else
		ERR_error_string_n(last, buf, len);
}

/* OpenSSL's text for a missing file is "system lib": say what is wrong with it ourselves. */
static bool readable(const char *path, const char *backend, char *err, size_t errlen)
{
	if (!path || access(path, R_OK) == 0)
		return true;
	snprintf(err, errlen, "TLS: backend %s: %s: %s", backend, path, strerror(errno));
	return false;
}

/* An encrypted key must fail to load, never prompt on a terminal (that would block the loop). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

SSL_CTX *health_tls_ctx_new(const struct cfg_health *cfg, const char *backend, char *err, size_t errlen)
{
	if (!readable(cfg->verify ? cfg->ca_file : NULL, backend, err, errlen) ||
	    !readable(cfg->cert_file, backend, err, errlen) ||
	    !readable(cfg->key_file, backend, err, errlen))
		return NULL;
	char why[200];
	const char *what = "context";
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		goto fail;
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* a server closing without close_notify after the response is normal for Connection: close */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, cfg->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if (cfg->verify) {
		what = cfg->ca_file ? cfg->ca_file : "system CA store";
		int ok = cfg->ca_file ? SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL)
				      : SSL_CTX_set_default_verify_paths(ctx);
		if (ok != 1)
			goto fail;
	}
	if (cfg->cert_file) {
		what = cfg->cert_file;
		if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
			goto fail;
		what = cfg->key_file ? cfg->key_file : cfg->cert_file;
		if (SSL_CTX_use_PrivateKey_file(ctx, what, SSL_FILETYPE_PEM) != 1)
			goto fail;
		if (SSL_CTX_check_private_key(ctx) != 1)
			goto fail;
	}
	return ctx;
fail:
	last_ssl_error(why, sizeof(why));
	snprintf(err, errlen, "TLS: backend %s: %s: %s", backend, what,
		 why[0] ? why : "cannot set up TLS");
	SSL_CTX_free(ctx);
	return NULL;
}

size_t health_tls_preflight(
	const struct config *c,
	void (*bad)(void *arg, size_t i, const struct cfg_backend *b, const char *why), void *arg)
{
	size_t n_bad = 0;
	for (size_t i = 0; i < c->n_backends; i++) {
		const struct cfg_backend *b = &c->backends[i];
		if (!health_type_uses_tls(b->health.type))
			continue;
		char err[512];
		SSL_CTX *ctx = health_tls_ctx_new(&b->health, b->name, err, sizeof(err));
		if (ctx) {
			SSL_CTX_free(ctx);
			continue;
		}
		bad(arg, i, b, err);
		n_bad++;
	}
	return n_bad;
}

bool health_is_ip_literal(const char *s)
{
	unsigned char tmp[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

SSL *health_tls_new(SSL_CTX *ctx, int fd, const char *host, const char *ip, bool verify)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1)
		goto fail;
	bool host_is_ip = host && health_is_ip_literal(host);
	if (host && !host_is_ip && SSL_set_tlsext_host_name(ssl, host) != 1)
		goto fail;
	if (verify) {
		X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
		const char *want = host ? host : ip;
		int ok = (host && !host_is_ip) ? X509_VERIFY_PARAM_set1_host(param, want, 0)
					       : X509_VERIFY_PARAM_set1_ip_asc(param, want);
		if (ok != 1)
			goto fail;
	}
	SSL_set_connect_state(ssl);
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

void health_tls_reason(SSL *ssl, int ret, int saved_errno, const char *stage, char *buf, size_t len)
{
	char why[200];
	int err = SSL_get_error(ssl, ret);
	last_ssl_error(why, sizeof(why));
	/* without VERIFY_PEER OpenSSL still records a verify result but goes on: not the cause */
	long vr = SSL_get_verify_result(ssl);
	if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) && vr != X509_V_OK) {
		snprintf(buf, len, "TLS: certificate verify failed (%s)",
			 X509_verify_cert_error_string(vr));
		return;
	}
	if (why[0]) {
		snprintf(buf, len, "TLS: %s", why);
		return;
	}
	if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && saved_errno == 0))
		snprintf(buf, len, "TLS: connection closed during %s", stage);
	else if (err == SSL_ERROR_SYSCALL)
		snprintf(buf, len, "TLS: %s during %s", strerror(saved_errno), stage);
	else
		snprintf(buf, len, "TLS: error %d during %s", err, stage);
}
