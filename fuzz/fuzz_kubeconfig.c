/* kubeconfig reader (src/discover/kubeconfig.c). Input: one byte choosing whether to name a
 * context, then the kubeconfig text. Invariants: on success the server splits as https, and
 * credentials are present (a client certificate with its key, or a token); on failure an error
 * with text and nothing left allocated (LeakSanitizer checks the frees). */
#include "discover/kubeconfig.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t setup = fz_u8(&f);
	size_t len;
	uint8_t *b = fz_rest(&f, &len, 0);
	static struct kubeconfig kc;
	char err[256] = "";
	int rc = kubeconfig_parse((const char *)b, len, setup & 1 ? "/etc/kubernetes" : NULL,
				  setup & 2 ? "b" : NULL, &kc, err, sizeof(err));
	if (rc == 0) {
		char host[KC_SERVER_LEN];
		unsigned port;
		FZ_ASSERT(kubeconfig_server_split(kc.server, host, sizeof(host), &port) == 0);
		FZ_ASSERT(port >= 1 && port <= 65535);
		FZ_ASSERT((kc.cert.data || kc.cert.path[0]) == (kc.key.data || kc.key.path[0]));
		FZ_ASSERT(kc.cert.data || kc.cert.path[0] || kc.token.data || kc.token.path[0]);
		FZ_ASSERT(!kc.ca.data || kc.ca.data[kc.ca.len] == 0);
		kubeconfig_free(&kc);
	} else {
		FZ_ASSERT(rc == -1 && err[0]);
		FZ_ASSERT(!kc.ca.data && !kc.cert.data && !kc.key.data && !kc.token.data);
	}
	free(b);
	return 0;
}
