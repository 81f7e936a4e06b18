/* kubeconfig reader (discover/kubeconfig.c): admin.conf-shaped input with inline data, file
 * paths relative to the kubeconfig's folder, tokens, a named context, and every refusal with its
 * line:col and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "discover/kubeconfig.h"

static char err[256];
static struct kubeconfig kc;

static int parse(const char *y, const char *ctx)
{
	err[0] = 0;
	int rc = kubeconfig_parse(y, strlen(y), "/etc/kubernetes", ctx, &kc, err, sizeof(err));
	return rc;
}

/* kubeadm's admin.conf, with short stand-ins for the PEM blocks ("-----BEGIN CA-----\n" etc. in
 * base64, computed with `base64`). */
static const char ADMIN[] =
	"apiVersion: v1\n"
	"clusters:\n"
	"- cluster:\n"
	"    certificate-authority-data: LS0tLS1CRUdJTiBDQS0tLS0tCg==\n"
	"    server: https://198.18.0.100:6443\n"
	"  name: kubernetes\n"
	"contexts:\n"
	"- context:\n"
	"    cluster: kubernetes\n"
	"    user: kubernetes-admin\n"
	"  name: kubernetes-admin@kubernetes\n"
	"current-context: kubernetes-admin@kubernetes\n"
	"kind: Config\n"
	"preferences: {}\n"
	"users:\n"
	"- name: kubernetes-admin\n"
	"  user:\n"
	"    client-certificate-data: LS0tLS1CRUdJTiBDRVJULS0tLS0K\n"
	"    client-key-data: LS0tLS1CRUdJTiBLRVktLS0tLQ==\n";

static void admin_conf(void **state)
{
	(void)state;
	assert_int_equal(parse(ADMIN, NULL), 0);
	assert_string_equal(kc.context, "kubernetes-admin@kubernetes");
	assert_string_equal(kc.server, "https://198.18.0.100:6443");
	assert_false(kc.insecure);
	assert_string_equal(kc.ca.data, "-----BEGIN CA-----\n");
	assert_int_equal(kc.ca.len, 19);
	assert_string_equal(kc.cert.data, "-----BEGIN CERT-----\n");
	assert_int_equal(kc.cert.len, 21);
	assert_string_equal(kc.key.data, "-----BEGIN KEY-----");
	assert_int_equal(kc.key.len, 19);
	assert_null(kc.token.data);
	assert_string_equal(kc.ca.path, "");
	kubeconfig_free(&kc);
}

static const char MULTI[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: a\n"
	"clusters:\n"
	"- name: c1\n"
	"  cluster: {server: 'https://[2001:db8::100]:6443', certificate-authority: pki/ca.crt}\n"
	"- name: c2\n"
	"  cluster:\n"
	"    server: https://api.example\n"
	"    insecure-skip-tls-verify: true\n"
	"contexts:\n"
	"- {name: a, context: {cluster: c1, user: u1}}\n"
	"- {name: b, context: {cluster: c2, user: u2}}\n"
	"users:\n"
	"- name: u1\n"
	"  user: {client-certificate: /abs/buoy.crt, client-key: buoy.key}\n"
	"- name: u2\n"
	"  user: {token: abc.def, tokenFile: /ignored}\n"
	"- name: u3\n"
	"  user: {tokenFile: tok}\n";

static void contexts_files_tokens(void **state)
{
	(void)state;
	assert_int_equal(parse(MULTI, NULL), 0);
	assert_string_equal(kc.server, "https://[2001:db8::100]:6443");
	assert_string_equal(kc.ca.path, "/etc/kubernetes/pki/ca.crt"); /* relative to the file */
	assert_null(kc.ca.data);
	assert_string_equal(kc.cert.path, "/abs/buoy.crt");
	assert_string_equal(kc.key.path, "/etc/kubernetes/buoy.key");
	kubeconfig_free(&kc);
	assert_int_equal(parse(MULTI, "b"), 0);
	assert_true(kc.insecure);
	assert_string_equal(kc.token.data, "abc.def"); /* token wins over tokenFile */
	assert_string_equal(kc.token.path, "");
	kubeconfig_free(&kc);
}

struct bad_case {
	const char *yaml;
	const char *want; /* substring of the error */
};

static void refusals(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{ "a: [", "bad YAML" },
		{ "- 1\n", "not a kubeconfig" },
		{ "clusters: []\n", "current-context" },
		{ "current-context: x\ncontexts: []\n", "no context named \"x\"" },
		{ "current-context: x\ncontexts:\n- {name: x, context: {cluster: c}}\n",
		  "3:22: contexts[0].context.user" },
		{ "current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: u}}\n",
		  "no cluster named \"c\"" },
		{ "current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		  "clusters:\n- {name: c, cluster: {server: 'http://198.18.0.1'}}\n",
		  "5:31: clusters[0].cluster.server: expected https" },
		{ "current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		  "clusters:\n- {name: c, cluster: {}}\n",
		  "clusters[0].cluster.server: missing" },
		{ "current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		  "clusters:\n- {name: c, cluster: {server: 'https://h', certificate-authority-data: "
		  "'!!!!'}}\n",
		  "certificate-authority-data: bad base64" },
		{ "current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		  "clusters:\n- {name: c, cluster: {server: 'https://h'}}\n",
		  "no user named \"u\"" },
		{ "current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		  "clusters:\n- {name: c, cluster: {server: 'https://h'}}\n"
		  "users:\n- name: u\n  user:\n    exec: {command: aws}\n",
		  "9:11: users[0].user.exec: not supported" },
		{ "current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		  "clusters:\n- {name: c, cluster: {server: 'https://h'}}\n"
		  "users:\n- {name: u, user: {client-certificate: a.crt}}\n",
		  "client-certificate and client-key go together" },
		{ "current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		  "clusters:\n- {name: c, cluster: {server: 'https://h'}}\n"
		  "users:\n- {name: u, user: {}}\n",
		  "no credentials" },
		{ "current-context: x\ncontexts:\n- {name: x, context: {cluster: c, user: u}}\n"
		  "clusters:\n- {name: c, cluster: {server: 'https://h'}}\n"
		  "users:\n- {name: u, user: {token: ''}}\n",
		  "users[0].user.token: expected a non-empty string" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(cases[i].yaml, NULL) != -1 || !strstr(err, cases[i].want))
			fail_msg("case %zu: err \"%s\", want \"%s\"", i, err, cases[i].want);
		assert_null(kc.ca.data); /* freed on failure */
		assert_null(kc.token.data);
	}
}

static void server_split(void **state)
{
	(void)state;
	char host[64];
	unsigned port;
	assert_int_equal(
		kubeconfig_server_split("https://198.18.0.100:6443", host, sizeof(host), &port), 0);
	assert_string_equal(host, "198.18.0.100");
	assert_int_equal(port, 6443);
	assert_int_equal(
		kubeconfig_server_split("https://api.example/prefix", host, sizeof(host), &port), 0);
	assert_string_equal(host, "api.example");
	assert_int_equal(port, 443);
	assert_int_equal(
		kubeconfig_server_split("https://[2001:db8::1]:8443", host, sizeof(host), &port), 0);
	assert_string_equal(host, "2001:db8::1");
	static const char *const bad[] = {
		"http://h",     "https://",        "https://:1",
		"https://h:0",  "https://h:70000", "https://h:12x",
		"https://[::1", "https://u@h",     "https://h:1234567"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(kubeconfig_server_split(bad[i], host, sizeof(host), &port), -1);
	assert_int_equal(kubeconfig_server_split("https://a-very-long-name", host, 8, &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(admin_conf),
		cmocka_unit_test(contexts_files_tokens),
		cmocka_unit_test(refusals),
		cmocka_unit_test(server_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
