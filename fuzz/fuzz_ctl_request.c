/* The control-socket request executor (src/ctl/commands.c: ctl_execute) against a small real
 * pool, as the socket server calls it: one NUL-terminated request of at most 1 KiB. The socket is
 * root-only (0600), but a parser that crashes on a typo is still a bug. Invariants: a response
 * body always comes back, ok or error; drain/enable only ever touch the named server. */
#include <stdatomic.h>

#include "ctl/ctl.h"
#include "fuzz.h"
#include "proxy/pool.h"

static struct cfg_server servers[3];
static struct cfg_backend backends[1];
static struct cfg_listener listeners[1];
static struct config cfg;
static struct pool *pool;

static void text(struct cfg_addr *a, const char *t)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->text, sizeof(a->text), "%s", t);
}

static int refuse_reload(void *arg, struct strbuf *out)
{
	(void)arg;
	sb_puts(out, "reload refused by the fuzzer\n");
	return -1;
}

static void setup(void)
{
	text(&servers[0].addr, "198.18.0.21:6443");
	text(&servers[1].addr, "198.18.0.22:6443");
	text(&servers[2].addr, "[2001:db8::23]:6443");
	for (int i = 0; i < 3; i++)
		servers[i].weight = 1;
	backends[0] = (struct cfg_backend){
		.name = "apiservers", .servers = servers, .n_servers = 3, .health = { .type = HEALTH_NONE }
	};
	listeners[0] = (struct cfg_listener){ .name = "api", .backend = "apiservers" };
	text(&listeners[0].bind, "198.18.0.100:6443");
	cfg = (struct config){
		.node = "lb1", .backends = backends, .n_backends = 1, .listeners = listeners, .n_listeners = 1
	};
	pool = pool_new(&cfg);
	if (!pool)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1024)
		return 0;
	if (!pool)
		setup();
	struct fz f = { data, size };
	size_t len;
	char *req = (char *)fz_rest(&f, &len, 1);
	struct ctl_sources src = { .cfg = &cfg, .pool = pool, .reload = refuse_reload };
	struct strbuf out = { 0 };
	int rc = ctl_execute(&src, req, 1000, &out);
	FZ_ASSERT(rc == 0 || rc == -1);
	FZ_ASSERT(out.oom || out.len > 0);
	sb_free(&out);
	free(req);
	for (size_t i = 0; i < pool->backends[0]->n_servers; i++)
		atomic_store(&pool->backends[0]->servers[i]->drained, false);
	return 0;
}
