/* nginx.conf `stream { }` -> import model: upstream blocks become backends, server blocks
 * listeners. `http { }` is skipped with a warning. nginx's own defaults apply where the file
 * is silent (max_fails 1, fail_timeout 10s, proxy_connect_timeout 60s, proxy_timeout 10m). */
#include <stdlib.h>
#include <string.h>

#include "import/import.h"

struct nctx {
	struct imp_model *m;
	int anon; /* upstreams made for `proxy_pass ADDR:PORT` */
};

static bool is(const struct imp_stmt *s, const char *kw)
{
	return s->argc && strcmp(s->argv[0], kw) == 0;
}

static void warn(struct nctx *n, const struct imp_stmt *s, const char *why)
{
	imp_warn(n->m, s->file, s->line, "%s: %s", s->argc ? s->argv[0] : "{", why);
}

static bool dur(struct nctx *n, const struct imp_stmt *s, const char *v, uint64_t *ms)
{
	if (v && imp_duration(v, 1000, ms) == 0)
		return true;
	warn(n, s, "invalid duration");
	return false;
}

/* `server ADDR [weight=N] [max_fails=N] [fail_timeout=T] [backup] [down] [max_conns=N]` */
static void upstream_server(struct nctx *n, struct imp_backend *b, const struct imp_stmt *s, bool *first)
{
	struct imp_model *m = n->m;
	if (s->argc < 2) {
		warn(n, s, "no address");
		return;
	}
	struct imp_server *sv = imp_push(m, &b->servers, &b->n_servers, sizeof(*sv));
	const char *a = s->argv[1];
	const char *colon = strrchr(a, ':');
	sv->address =
		colon && (a[0] != '[' || colon[-1] == ']') ? imp_strdup(m, a) : imp_printf(m, "%s:80", a);
	unsigned mf = 1;
	uint64_t ft = 10000;
	for (size_t i = 2; i < s->argc; i++) {
		const char *o = s->argv[i], *eqs = strchr(o, '=');
		const char *v = eqs ? eqs + 1 : NULL;
		unsigned u;
		if (strncmp(o, "weight=", 7) == 0 && imp_uint(v, 1, 256, &u) == 0)
			sv->weight = u;
		else if (strncmp(o, "max_fails=", 10) == 0 && imp_uint(v, 0, 1000, &u) == 0)
			mf = u;
		else if (strncmp(o, "fail_timeout=", 13) == 0)
			dur(n, s, v, &ft);
		else if (strncmp(o, "max_conns=", 10) == 0 && imp_uint(v, 0, 10000000, &u) == 0)
			sv->max_conns = u;
		else if (strcmp(o, "backup") == 0)
			sv->backup = true;
		else if (strcmp(o, "down") == 0) {
			sv->disabled = true;
			imp_warn(m, s->file, s->line,
				 "server %s down: written commented out (or `buoy drain` it)", a);
		} else
			imp_warn(m, s->file, s->line, "server option %s has no buoy equivalent", o);
	}
	/* per server in nginx, per backend in buoy: the first server's values */
	if (*first) {
		b->max_fails = (int)mf;
		b->fail_timeout_ms = ft;
		*first = false;
	} else if ((int)mf != b->max_fails || ft != b->fail_timeout_ms) {
		imp_warn(m, s->file, s->line,
			 "max_fails/fail_timeout differ from the first server's; buoy has one pair "
			 "per backend (the first server's)");
	}
}

static void upstream(struct nctx *n, const struct imp_stmt *u)
{
	struct imp_model *m = n->m;
	struct imp_backend *b = imp_backend_add(m, u->argc > 1 ? u->argv[1] : "upstream");
	/* nginx open source has passive checks only; a TCP connect check is what buoy adds */
	b->health.set = true;
	b->health.type = "tcp";
	imp_note(m, &b->notes,
		 "%s:%d: nginx had passive checks only (max_fails); buoy adds a TCP connect check "
		 "(health: { type: none } for nginx's behaviour)",
		 u->file, u->line);
	bool first = true;
	for (size_t i = 0; i < u->n_kids; i++) {
		const struct imp_stmt *s = &u->kids[i];
		if (is(s, "server"))
			upstream_server(n, b, s, &first);
		else if (is(s, "least_conn"))
			b->balance = "leastconn";
		else if (is(s, "hash") && s->argc >= 2 && strcmp(s->argv[1], "$remote_addr") == 0) {
			b->balance = "source";
			if (s->argc == 2)
				imp_note(m, &b->notes,
					 "hash $remote_addr: buoy's source hash is consistent (a "
					 "removed server moves only its own clients)");
		} else if (is(s, "hash"))
			warn(n, s, "only `hash $remote_addr` converts (source); roundrobin used");
		else if (is(s, "random")) {
			b->balance = "random";
			if (s->argc > 1 && strcmp(s->argv[1], "two") != 0)
				warn(n, s, "buoy's random is power of two choices");
		} else if (is(s, "zone"))
			imp_note(m, &b->notes,
				 "zone: buoy shares server state between its "
				 "workers itself");
		else if (s->argc)
			warn(n, s, "upstream setting with no buoy equivalent");
	}
}

/* `listen [ADDR:]PORT [udp] [...]` */
static void listen(struct nctx *n, const struct imp_stmt *s, const char *name, const char *backend, int idx)
{
	struct imp_model *m = n->m;
	const char *a = s->argc > 1 ? s->argv[1] : "";
	bool deferred = false;
	for (size_t i = 2; i < s->argc; i++) {
		if (strcmp(s->argv[i], "udp") == 0) {
			warn(n, s, "UDP listeners have no buoy equivalent (TCP only)");
			return;
		}
		if (strcmp(s->argv[i], "deferred") == 0)
			deferred = true;
		else
			imp_warn(m, s->file, s->line, "listen option %s has no buoy equivalent",
				 s->argv[i]);
	}
	struct imp_listener *l = imp_push(m, &m->listeners, &m->n_listeners, sizeof(*l));
	l->defer_accept = deferred;
	l->name = idx ? imp_name(m, imp_printf(m, "%s-%d", name, idx + 1)) : imp_name(m, name);
	l->backend = imp_name(m, backend);
	const char *colon = strrchr(a, ':');
	if (a[0] == '[' || (colon && a[0] != '*'))
		l->bind = imp_strdup(m, a);
	else if (a[0] == '*')
		l->bind = imp_printf(m, "0.0.0.0%s", colon ? colon : ":");
	else /* a bare port: nginx binds IPv4's wildcard */
		l->bind = imp_printf(m, "0.0.0.0:%s", a);
}

static void server(struct nctx *n, const struct imp_stmt *srv)
{
	struct imp_model *m = n->m;
	const char *pass = NULL;
	for (size_t i = 0; i < srv->n_kids; i++)
		if (is(&srv->kids[i], "proxy_pass") && srv->kids[i].argc > 1)
			pass = srv->kids[i].argv[1];
	if (!pass) {
		imp_warn(m, srv->file, srv->line, "stream server without proxy_pass: skipped");
		return;
	}
	struct imp_backend *b = imp_backend_find(m, imp_name(m, pass));
	if (!b) { /* proxy_pass ADDR:PORT: a backend of one */
		b = imp_backend_add(m, imp_printf(m, "upstream%d", ++n->anon));
		struct imp_server *sv = imp_push(m, &b->servers, &b->n_servers, sizeof(*sv));
		sv->address = imp_strdup(m, pass);
		b->health.set = true;
		b->health.type = "tcp";
	}
	int n_listen = 0;
	for (size_t i = 0; i < srv->n_kids; i++) {
		const struct imp_stmt *s = &srv->kids[i];
		unsigned u;
		if (is(s, "listen"))
			listen(n, s, b->name, b->name, n_listen++);
		else if (is(s, "proxy_pass"))
			continue;
		else if (is(s, "proxy_connect_timeout") && s->argc > 1)
			dur(n, s, s->argv[1], &b->connect_timeout_ms);
		else if (is(s, "proxy_timeout") && s->argc > 1)
			dur(n, s, s->argv[1], &b->idle_timeout_ms);
		else if (is(s, "proxy_next_upstream") && s->argc > 1) {
			if (strcmp(s->argv[1], "off") == 0)
				b->retries = 0;
		} else if (is(s, "proxy_next_upstream_tries") && s->argc > 1 &&
			   imp_uint(s->argv[1], 0, 101, &u) == 0) {
			if (u) /* tries count the first attempt; 0 = unlimited (buoy's default) */
				b->retries = (int)u - 1;
		} else if (s->argc)
			warn(n, s, "stream server setting with no buoy equivalent");
	}
	if (!b->connect_timeout_ms)
		imp_note(m, &b->notes, "nginx's proxy_connect_timeout default is 60s, buoy's 2s");
}

static void stream(struct nctx *n, const struct imp_stmt *st)
{
	/* upstreams first: a server's proxy_pass names one defined anywhere in the block */
	for (size_t i = 0; i < st->n_kids; i++)
		if (is(&st->kids[i], "upstream"))
			upstream(n, &st->kids[i]);
	for (size_t i = 0; i < st->n_kids; i++) {
		const struct imp_stmt *s = &st->kids[i];
		if (is(s, "server") && s->block)
			server(n, s);
		else if (!is(s, "upstream") && s->argc)
			warn(n, s, "stream setting with no buoy equivalent");
	}
}

int imp_nginx(struct imp_model *m, const char *file, const char *text, size_t len)
{
	struct imp_stmt root;
	imp_tree_parse(m, IMP_SYNTAX_NGINX, file, text, len, &root);
	struct nctx n = { .m = m };
	for (size_t i = 0; i < root.n_kids; i++) {
		const struct imp_stmt *s = &root.kids[i];
		unsigned u;
		if (is(s, "stream"))
			stream(&n, s);
		else if (is(s, "http"))
			warn(&n, s, "HTTP (L7) configuration is not converted; skipped");
		else if (is(s, "worker_processes") && s->argc > 1 &&
			 imp_uint(s->argv[1], 1, 1024, &u) == 0)
			m->workers = u;
		else if (is(s, "worker_processes") || is(s, "load_module"))
			continue; /* `auto` is buoy's default; the stream module is built in */
		else if (is(s, "events"))
			/* nginx requires the block; what it holds tunes nginx's own workers */
			for (size_t k = 0; k < s->n_kids; k++)
				warn(&n, &s->kids[k], "nginx event setting with no buoy equivalent");
		else if (is(s, "user") && s->argc > 1)
			m->user = imp_strdup(m, s->argv[1]);
		else if (s->argc)
			warn(&n, s, "no buoy equivalent");
	}
	return 0;
}
