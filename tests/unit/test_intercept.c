/* Interception (issue 15): listeners[].intercept from YAML (one address or a list), every
 * refusal at its line:col, the nftables ruleset text (src/intercept/nftrules.c), the real
 * libnftables parsing that text (dry run, root only), and reload_plan seeing a change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <nftables/libnftables.h>

#include "config/config.h"
#include "intercept/nftrules.h"
#include "reload_plan.h"
#include "config_test_util.h"

#define API_BACKEND \
	"backends:\n" \
	"  - name: api\n" \
	"    servers:\n" \
	"      - { address: \"198.18.0.21:6443\" }\n"
/* listeners start on line 6 */
#define LHEAD API_BACKEND "listeners:\n"

static const char *const two = LHEAD
	"  - { name: apiserver, bind: \":6444\", backend: api,\n"
	"      intercept: [\"198.18.0.100:6443\", \"[2001:db8::100]:6443\"] }\n"
	"  - { name: etcd, bind: \"0.0.0.0:12379\", backend: api, intercept: 198.18.0.100:2379 }\n"
	"  - { name: plain, bind: \"198.18.0.100:9000\", backend: api }\n";

static void test_parse_forms(void **st)
{
	(void)st;
	struct config *c = expect_ok(two);
	assert_int_equal(c->listeners[0].n_intercept, 2);
	assert_string_equal(c->listeners[0].intercept[0].text, "198.18.0.100:6443");
	assert_string_equal(c->listeners[0].intercept[1].text, "[2001:db8::100]:6443");
	assert_int_equal(c->listeners[1].n_intercept, 1); /* a single string */
	assert_string_equal(c->listeners[1].intercept[0].text, "198.18.0.100:2379");
	assert_int_equal(c->listeners[2].n_intercept, 0);
	assert_int_equal(nftrules_count(c), 3);
	config_free(c);
}

static void test_errors(void **st)
{
	(void)st;
	expect_error(LHEAD "  - { name: a, bind: \"198.18.0.10:6444\", backend: api, "
			   "intercept: \"198.18.0.100:6443\" }\n",
		     6, 67, "listeners[0].intercept: needs the listener bound to every address");
	expect_error(LHEAD "  - { name: a, bind: \":6443\", backend: api, "
			   "intercept: \"198.18.0.100:6443\" }\n",
		     6, 56, "the listener already receives 198.18.0.100:6443 on its own port 6443");
	expect_error(LHEAD "  - { name: a, bind: \":6444\", backend: api, intercept: \":6443\" }\n",
		     6, 56, "intercept a specific address (the VIP), not every address");
	expect_error(LHEAD "  - { name: a, bind: \"0.0.0.0:6444\", backend: api, "
			   "intercept: \"[2001:db8::100]:6443\" }\n",
		     6, 63, "is IPv6 but the listener is bound to 0.0.0.0 only");
	expect_error(LHEAD "  - { name: a, bind: \":6444\", backend: api, "
			   "intercept: \"198.18.0.21:6443\" }\n",
		     6, 56, "is also a server of backend \"api\"");
	expect_error(LHEAD "  - { name: a, bind: \":6444\", backend: api, intercept: vip:6443 }\n",
		     6, 56, "listeners[0].intercept: invalid address \"vip:6443\"");
	expect_error(LHEAD "  - { name: a, bind: \":6444\", backend: api, intercept: 198.18.0.100 }\n",
		     6, 56, "invalid address");
	expect_error(LHEAD "  - { name: a, bind: \":6444\", backend: api,\n"
			   "      intercept: [198.18.0.100:6443, { x: 1 }] }\n",
		     7, 38, "listeners[0].intercept[1]: expected an address:port, got a mapping");
	expect_error(LHEAD "  - { name: a, bind: \":6444\", backend: api, intercept: { x: 1 } }\n",
		     6, 56, "expected an address:port or a list of them, got a mapping");
	expect_error(
		LHEAD
		"  - { name: a, bind: \":6444\", backend: api, intercept: 198.18.0.100:6443 }\n"
		"  - { name: b, bind: \":6445\", backend: api, intercept: 198.18.0.100:6443 }\n",
		7, 56,
		"listeners[1].intercept: 198.18.0.100:6443 is already intercepted by "
		"listeners[0]");
	expect_error(LHEAD "  - { name: a, bind: \":6444\", backend: api,\n"
			   "      intercept: [198.18.0.100:6443, 198.18.0.100:6443] }\n",
		     7, 38, "listeners[0].intercept[1]: 198.18.0.100:6443 is already intercepted");
}

static void test_ruleset_text(void **st)
{
	(void)st;
	struct config *c = expect_ok(two);
	struct strbuf b = { 0 };
	assert_int_equal(nftrules_render(c, true, -1, &b), 0);
	const char *want =
		"add table inet buoy { flags owner; }\n"
		"delete table inet buoy\n"
		"table inet buoy {\n"
		"\tflags owner;\n"
		"\tchain prerouting {\n"
		"\t\ttype nat hook prerouting priority -100; policy accept;\n"
		"\t\tip daddr 198.18.0.100 tcp dport 6443 redirect to :6444 comment \"listener apiserver\"\n"
		"\t\tip6 daddr 2001:db8::100 tcp dport 6443 redirect to :6444 comment \"listener apiserver\"\n"
		"\t\tip daddr 198.18.0.100 tcp dport 2379 redirect to :12379 comment \"listener etcd\"\n"
		"\t}\n"
		"\tchain output {\n"
		"\t\ttype nat hook output priority -100; policy accept;\n"
		"\t\tip daddr 198.18.0.100 tcp dport 6443 redirect to :6444 comment \"listener apiserver\"\n"
		"\t\tip6 daddr 2001:db8::100 tcp dport 6443 redirect to :6444 comment \"listener apiserver\"\n"
		"\t\tip daddr 198.18.0.100 tcp dport 2379 redirect to :12379 comment \"listener etcd\"\n"
		"\t}\n"
		"}\n";
	assert_string_equal(sb_str(&b), want);

	sb_reset(&b); /* one listener alone, unowned */
	assert_int_equal(nftrules_render(c, false, 1, &b), 0);
	assert_non_null(strstr(sb_str(&b), "add table inet buoy\n"));
	assert_null(strstr(sb_str(&b), "owner"));
	assert_null(strstr(sb_str(&b), "listener apiserver"));
	assert_non_null(strstr(sb_str(&b), "listener etcd"));

	sb_reset(&b);
	assert_int_equal(nftrules_render_remove(true, &b), 0);
	assert_string_equal(sb_str(&b), "add table inet buoy { flags owner; }\ndelete table inet buoy\n");
	sb_free(&b);
	config_free(c);

	c = expect_ok(LHEAD "  - { name: a, bind: \":6444\", backend: api }\n");
	b = (struct strbuf){ 0 }; /* nothing intercepted: only the removal */
	assert_int_equal(nftrules_render(c, true, -1, &b), 0);
	assert_string_equal(sb_str(&b), "add table inet buoy { flags owner; }\ndelete table inet buoy\n");
	sb_free(&b);
	config_free(c);
}

/* The real library parses what we render (dry run: nothing reaches the kernel's tables). */
static void test_libnftables_accepts(void **st)
{
	(void)st;
	if (geteuid() != 0) /* the dry run still reads the kernel's ruleset over netlink */
		fail_msg("needs root (CAP_NET_ADMIN), as `sudo make test` runs");
	struct config *c = expect_ok(two);
	struct strbuf b = { 0 };
	assert_int_equal(nftrules_render(c, true, -1, &b), 0);
	struct nft_ctx *n = nft_ctx_new(NFT_CTX_DEFAULT);
	nft_ctx_buffer_error(n);
	nft_ctx_set_dry_run(n, true);
	int rc = nft_run_cmd_from_buffer(n, sb_str(&b));
	if (rc)
		fprintf(stderr, "%s\n", nft_ctx_get_error_buffer(n));
	assert_int_equal(rc, 0);
	nft_ctx_free(n);
	sb_free(&b);
	config_free(c);
}

static void test_reload_plan_sees_change(void **st)
{
	(void)st;
	struct config *a = expect_ok(two);
	struct config *same = expect_ok(two);
	struct config *other = expect_ok(
		LHEAD
		"  - { name: apiserver, bind: \":6444\", backend: api, intercept: 198.18.0.100:6443 }\n"
		"  - { name: etcd, bind: \"0.0.0.0:12379\", backend: api, intercept: 198.18.0.100:2379 }\n"
		"  - { name: plain, bind: \"198.18.0.100:9000\", backend: api }\n");
	struct reload_plan p;
	assert_int_equal(reload_plan_make(a, same, &p), 0);
	assert_false(p.intercept_changed);
	assert_true(reload_plan_is_noop(&p));
	reload_plan_free(&p);
	assert_int_equal(reload_plan_make(a, other, &p), 0);
	assert_true(p.intercept_changed);
	assert_false(reload_plan_is_noop(&p));
	char sum[400];
	reload_plan_summary(&p, sum, sizeof(sum));
	assert_non_null(strstr(sum, " intercept=changed"));
	reload_plan_free(&p);
	config_free(a);
	config_free(same);
	config_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_ruleset_text),
		cmocka_unit_test(test_libnftables_accepts),
		cmocka_unit_test(test_reload_plan_sees_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
