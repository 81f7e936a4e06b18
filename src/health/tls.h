/* OpenSSL glue for health checks: the per-backend client context and error texts. */
#ifndef BUOY_HEALTH_TLS_H
#define BUOY_HEALTH_TLS_H
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "config/config.h"

/* One client SSL_CTX for a backend's checks: verify mode and CA (ca_file or the system store),
 * client certificate/key. Returns NULL and writes why into err (a "TLS: ..." text). */
SSL_CTX *health_tls_ctx_new(const struct cfg_health *cfg, const char *backend, char *err, size_t errlen);

/* What `run` would load besides the YAML, read now (as haproxy -c does): the TLS files of every
 * TLS health check. bad(arg, index, backend, why) for each backend whose files do not load.
 * Returns how many failed. */
size_t health_tls_preflight(
	const struct config *c,
	void (*bad)(void *arg, size_t i, const struct cfg_backend *b, const char *why), void *arg);

/* A new SSL on fd for one check: SNI = host when it is a DNS name, and when verifying, the
 * certificate must match host (name or IP literal) or, without host, the server's IP `ip`. */
SSL *health_tls_new(SSL_CTX *ctx, int fd, const char *host, const char *ip, bool verify);

/* "TLS: certificate verify failed (self-signed certificate)", "TLS: connection closed during
 * handshake", ... for a failed SSL call with return value ret in `stage` ("handshake", "read").
 * Drains OpenSSL's error queue. */
void health_tls_reason(SSL *ssl, int ret, int saved_errno, const char *stage, char *buf, size_t len);

/* True when s is an IPv4 or IPv6 literal (SNI must not carry one, RFC 6066). */
bool health_is_ip_literal(const char *s);

#endif
