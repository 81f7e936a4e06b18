/* The control protocol's commands: one request line in, one response body out.
 * Wire framing (first line "ok"/"error") is added by control.c; see docs/status.md. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "ctl/ctl.h"
#include "ctl/status.h"
#include "proxy/pool.h"

#define CTL_MAX_ARGS 4

static const char ctl_help[] =
	"commands:\n"
	"  status [json|text]     state of VRRP instances, listeners, backends and servers\n"
	"  drain BACKEND SERVER   no new connections to SERVER; existing ones finish\n"
	"  enable BACKEND SERVER  undo drain\n"
	"  reload                 re-read the config file and apply it\n"
	"  help                   this text\n";

/* Splits on blanks in place; returns the number of words (at most max). */
static size_t split_words(char *line, char **argv, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save); w;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == max)
			return max + 1;
		argv[n++] = w;
	}
	return n;
}

/* "198.18.0.21" matches "198.18.0.21:6443"; "2001:db8::1" and "[2001:db8::1]" match
 * "[2001:db8::1]:6443". */
static bool host_matches(const char *addr_text, const char *arg)
{
	const char *colon = strrchr(addr_text, ':');
	if (!colon)
		return false;
	size_t host_len = (size_t)(colon - addr_text);
	if (strlen(arg) == host_len && strncmp(addr_text, arg, host_len) == 0)
		return true;
	return addr_text[0] == '[' && host_len >= 2 && strlen(arg) == host_len - 2 &&
	       strncmp(addr_text + 1, arg, host_len - 2) == 0;
}

static void list_names(struct strbuf *out, const char *what, const char *const *names, size_t n)
{
	sb_printf(out, " (%s:", what);
	for (size_t i = 0; i < n; i++)
		sb_printf(out, "%s %s", i ? "," : "", names[i]);
	sb_puts(out, n ? ")\n" : " none)\n");
}

static struct backend *find_backend(struct pool *p, const char *name, struct strbuf *out)
{
	struct backend *b = pool_find_backend(p, name);
	if (b)
		return b;
	sb_printf(out, "unknown backend \"%s\"", name);
	const char *names[64];
	size_t n = 0;
	for (size_t i = 0; i < p->n_backends && n < 64; i++)
		names[n++] = p->backends[i]->cfg.name;
	list_names(out, "backends", names, n);
	return NULL;
}

/* The exact address text, or the host alone when exactly one server has it. */
static struct server *find_server(struct backend *b, const char *arg, struct strbuf *out)
{
	struct server *s = backend_find_server(b, arg);
	if (s)
		return s;
	size_t matches = 0;
	for (size_t i = 0; i < b->n_servers; i++)
		if (host_matches(b->servers[i]->cfg.addr.text, arg)) {
			s = b->servers[i];
			matches++;
		}
	if (matches == 1)
		return s;
	sb_printf(out, "%s server \"%s\" in backend \"%s\"", matches ? "ambiguous" : "unknown", arg,
		  b->cfg.name);
	const char *names[64];
	size_t n = 0;
	for (size_t i = 0; i < b->n_servers && n < 64; i++)
		names[n++] = b->servers[i]->cfg.addr.text;
	list_names(out, "servers", names, n);
	return NULL;
}

static int cmd_drain(
	const struct ctl_sources *src, char **argv, size_t argc, bool drain, struct strbuf *out)
{
	if (argc != 3) {
		sb_printf(out, "usage: %s BACKEND SERVER\n", argv[0]);
		return -1;
	}
	struct backend *b = find_backend(src->pool, argv[1], out);
	struct server *s = b ? find_server(b, argv[2], out) : NULL;
	if (!s)
		return -1;
	bool was = atomic_exchange(&s->drained, drain);
	if (was != drain)
		log_info(drain ? "server drained" : "server enabled", "backend=%s server=%s active=%u",
			 b->cfg.name, s->cfg.addr.text, atomic_load(&s->active));
	sb_printf(out, "backend=%s server=%s %s%s\n", b->cfg.name, s->cfg.addr.text,
		  drain ? "drained" : "enabled", was == drain ? " (already)" : "");
	return 0;
}

static int cmd_status(
	const struct ctl_sources *src, char **argv, size_t argc, uint64_t now_ms, struct strbuf *out)
{
	bool text = argc == 2 && strcmp(argv[1], "text") == 0;
	if (argc > 2 || (argc == 2 && !text && strcmp(argv[1], "json") != 0)) {
		sb_puts(out, "usage: status [json|text]\n");
		return -1;
	}
	struct snapshot s;
	if (snapshot_take(&s, src, now_ms) < 0) {
		sb_puts(out, "out of memory\n");
		return -1;
	}
	if (text)
		status_format_text(&s, out);
	else
		status_format_json(&s, out);
	snapshot_free(&s);
	return 0;
}

static int cmd_reload(const struct ctl_sources *src, struct strbuf *out)
{
	if (!src->reload) {
		sb_puts(out, "reload is not supported by this daemon\n");
		return -1;
	}
	return src->reload(src->reload_arg, out) == 0 ? 0 : -1;
}

int ctl_execute(const struct ctl_sources *src, const char *line, uint64_t now_ms, struct strbuf *out)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", line);
	char *argv[CTL_MAX_ARGS];
	size_t argc = split_words(buf, argv, CTL_MAX_ARGS);
	if (argc == 0 || argc > CTL_MAX_ARGS) {
		sb_puts(out, argc ? "too many arguments\n" : "empty request\n");
		return -1;
	}
	if (strcmp(argv[0], "status") == 0)
		return cmd_status(src, argv, argc, now_ms, out);
	if (strcmp(argv[0], "drain") == 0 || strcmp(argv[0], "enable") == 0)
		return cmd_drain(src, argv, argc, argv[0][0] == 'd', out);
	if (strcmp(argv[0], "reload") == 0) {
		if (argc == 1)
			return cmd_reload(src, out);
		sb_puts(out, "usage: reload\n");
		return -1;
	}
	if (strcmp(argv[0], "help") == 0) {
		sb_puts(out, ctl_help);
		return 0;
	}
	sb_printf(out, "unknown command \"%s\"; try help\n", argv[0]);
	return -1;
}
