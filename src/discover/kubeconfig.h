/* kubeconfig reader (pure: text in, struct out; libyaml; any input is safe, it is fuzzed).
 *
 * The parts of a kubeconfig (clientcmd v1) buoy uses to reach the API: the context
 * (current-context unless one is named), its cluster's server, certificate-authority(-data) and
 * insecure-skip-tls-verify, its user's client-certificate(-data) / client-key(-data) or token /
 * tokenFile. *-data fields are base64 and come back decoded (PEM text); file fields come back as
 * paths, made absolute against base_dir as kubectl does (relative to the kubeconfig's folder).
 * Auth plugins (exec, auth-provider) and username/password are refused with a clear error:
 * buoy runs unattended and cannot prompt or run credential helpers.
 *
 * Errors name line:col (1-based) in the kubeconfig and the key, e.g.
 * "12:7: users[0].user.client-key-data: bad base64". 0 or -1 (err filled). */
#ifndef BUOY_DISCOVER_KUBECONFIG_H
#define BUOY_DISCOVER_KUBECONFIG_H
#include <stdbool.h>
#include <stddef.h>

#define KC_PATH_LEN 4096
#define KC_NAME_LEN 256
#define KC_SERVER_LEN 512

struct kc_blob {
	char path[KC_PATH_LEN]; /* "" unless given as a file */
	char *data;             /* decoded *-data, NUL-terminated; NULL unless given inline */
	size_t len;
};

struct kubeconfig {
	char context[KC_NAME_LEN];
	char server[KC_SERVER_LEN]; /* "https://host[:port]" */
	bool insecure;              /* insecure-skip-tls-verify */
	struct kc_blob ca, cert, key, token;
};

int kubeconfig_parse(const char *buf, size_t len, const char *base_dir, const char *context,
		     struct kubeconfig *out, char *err, size_t errlen);
void kubeconfig_free(struct kubeconfig *k);

/* "https://host:port/..." -> host (brackets removed for IPv6) and port (443 when absent).
 * 0 or -1 (not https, or malformed). */
int kubeconfig_server_split(const char *server, char *host, size_t hostlen, unsigned *port);

#endif
