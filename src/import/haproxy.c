/* haproxy.cfg -> import model: global/defaults/frontend/backend/listen in `mode tcp`.
 * A frontend, backend or listen section starts from the defaults section above it (HAProxy's
 * inheritance); a listen section is a frontend and a backend of the same name. HAProxy's own
 * defaults apply where the file is silent (mode tcp, inter 2s, rise 2, fall 3, retries 3). */
#include <stdlib.h>
#include <string.h>

#include "import/import.h"

struct hsrv {
	int check, backup, disabled, check_ssl, verify; /* -1 unset */
	uint64_t inter_ms;
	unsigned fall, rise, weight, maxconn, port;
	bool weight_set;
};

struct hline {
	const char *file;
	int line;
	char **argv;
	size_t argc;
};

struct hproxy {
	enum { HP_DEFAULTS, HP_FRONTEND, HP_BACKEND, HP_LISTEN } kind;
	char *name;
	const char *file;
	int line;
	char *mode;
	char *balance;
	int balance_line;
	uint64_t t_connect, t_client, t_server, t_queue, t_check;
	int retries, redispatch;
	char *httpchk_path, *httpchk_method, *expect;
	bool httpchk;
	struct hsrv dflt;
	struct hline *binds, *servers;
	size_t n_binds, n_servers;
	char *use_backend;
};

struct hctx {
	struct imp_model *m;
	struct hproxy defaults;
	struct hproxy *px;
	size_t n_px;
};

static bool eq(const char *a, const char *b) { return a && strcmp(a, b) == 0; }

static void warn_line(struct hctx *h, const struct hline *l, const char *why)
{
	imp_warn(h->m, l->file, l->line, "%s: %s", l->argv[0], why);
}

static void dflt_init(struct hproxy *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = HP_DEFAULTS;
	p->retries = -1;
	p->redispatch = -1;
	p->dflt = (struct hsrv){
		.check = -1, .backup = -1, .disabled = -1, .check_ssl = -1, .verify = -1
	};
}

/* Splits one line as HAProxy does: blanks separate words, "..." and '...' quote, \ escapes,
 * an unquoted # starts a comment. */
static void split(struct imp_model *m, const char *s, struct hline *out)
{
	char *buf = imp_alloc(m, strlen(s) + 1);
	size_t n = 0;
	char quote = 0;
	bool in_word = false;
	for (; *s; s++) {
		char c = *s;
		if (!quote && (c == ' ' || c == '\t' || c == '\r' || c == '#')) {
			if (in_word) {
				buf[n] = 0;
				*(char **)imp_push(m, &out->argv, &out->argc, sizeof(char *)) =
					imp_strdup(m, buf);
				n = 0;
				in_word = false;
			}
			if (c == '#')
				return;
			continue;
		}
		in_word = true;
		if (c == '\\' && s[1] && quote != '\'') {
			buf[n++] = *++s;
		} else if (!quote && (c == '"' || c == '\'')) {
			quote = c;
		} else if (quote == c) {
			quote = 0;
		} else {
			buf[n++] = c;
		}
	}
	if (in_word) {
		buf[n] = 0;
		*(char **)imp_push(m, &out->argv, &out->argc, sizeof(char *)) = imp_strdup(m, buf);
	}
}

/* ---- server and default-server options ---- */

static bool want_dur(struct hctx *h, const struct hline *l, size_t i, uint64_t *ms)
{
	if (i < l->argc && imp_duration(l->argv[i], 1, ms) == 0)
		return true;
	imp_warn(h->m, l->file, l->line, "%s: invalid duration %s", l->argv[i - 1],
		 i < l->argc ? l->argv[i] : "(missing)");
	return false;
}

static bool want_num(struct hctx *h, const struct hline *l, size_t i, unsigned hi, unsigned *v)
{
	if (i < l->argc && imp_uint(l->argv[i], 0, hi, v) == 0)
		return true;
	imp_warn(h->m, l->file, l->line, "%s: invalid number %s", l->argv[i - 1],
		 i < l->argc ? l->argv[i] : "(missing)");
	return false;
}

static void server_opts(struct hctx *h, const struct hline *l, size_t i, struct hsrv *o)
{
	static const char *const ignored[] = { "resolvers", "init-addr", "resolve-prefer", NULL };
	for (; i < l->argc; i++) {
		const char *k = l->argv[i];
		if (eq(k, "check") || eq(k, "no-check")) {
			o->check = eq(k, "check");
		} else if (eq(k, "backup")) {
			o->backup = 1;
		} else if (eq(k, "disabled") || eq(k, "enabled")) {
			o->disabled = eq(k, "disabled");
		} else if (eq(k, "check-ssl")) {
			o->check_ssl = 1;
		} else if (eq(k, "verify") && i + 1 < l->argc) {
			o->verify = eq(l->argv[++i], "required");
		} else if (eq(k, "inter")) {
			want_dur(h, l, ++i, &o->inter_ms);
		} else if (eq(k, "fall")) {
			want_num(h, l, ++i, 1000, &o->fall);
		} else if (eq(k, "rise")) {
			want_num(h, l, ++i, 1000, &o->rise);
		} else if (eq(k, "weight")) {
			o->weight_set = want_num(h, l, ++i, 256, &o->weight);
		} else if (eq(k, "maxconn")) {
			want_num(h, l, ++i, 10000000, &o->maxconn);
		} else if (eq(k, "port")) {
			want_num(h, l, ++i, 65535, &o->port);
		} else if (eq(k, "ssl")) {
			imp_warn(h->m, l->file, l->line,
				 "server option ssl: buoy does not encrypt traffic to servers (L4)");
		} else {
			bool arg = false;
			for (size_t j = 0; ignored[j]; j++)
				arg |= eq(k, ignored[j]);
			imp_warn(h->m, l->file, l->line, "server option %s has no buoy equivalent", k);
			i += arg ||
			     (i + 1 < l->argc && l->argv[i + 1][0] >= '0' && l->argv[i + 1][0] <= '9');
		}
	}
}

/* ---- section keywords ---- */

static void timeout(struct hctx *h, struct hproxy *p, const struct hline *l)
{
	static const char *const names[] = { "connect", "client", "server", "queue", "check" };
	uint64_t *slots[] = { &p->t_connect, &p->t_client, &p->t_server, &p->t_queue, &p->t_check };
	const char *which = l->argc > 1 ? l->argv[1] : "";
	for (size_t i = 0; i < 5; i++)
		if (eq(which, names[i])) {
			want_dur(h, l, 2, slots[i]);
			return;
		}
	warn_line(h, l, "this timeout has no buoy equivalent");
}

static void httpchk(struct hctx *h, struct hproxy *p, const struct hline *l)
{
	p->httpchk = true;
	p->httpchk_path = "/";
	p->httpchk_method = "OPTIONS";
	if (l->argc == 3) {
		p->httpchk_path = l->argv[2];
	} else if (l->argc >= 4) {
		p->httpchk_method = l->argv[2];
		p->httpchk_path = l->argv[3];
	}
	if (!eq(p->httpchk_method, "GET"))
		imp_note(h->m, &h->m->notes,
			 "%s:%d: option httpchk %s: buoy's HTTP check always sends GET", l->file,
			 l->line, p->httpchk_method);
}

static bool proxy_line(struct hctx *h, struct hproxy *p, struct hline *l)
{
	char *k = l->argv[0], *a1 = l->argc > 1 ? l->argv[1] : NULL;
	if (eq(k, "mode") && a1) {
		p->mode = a1;
	} else if (eq(k, "balance") && a1) {
		p->balance = a1;
		p->balance_line = l->line;
	} else if (eq(k, "timeout")) {
		timeout(h, p, l);
	} else if (eq(k, "retries")) {
		unsigned u;
		if (want_num(h, l, 1, 100, &u))
			p->retries = (int)u;
	} else if (eq(k, "option") && eq(a1, "redispatch")) {
		p->redispatch = 1;
	} else if (eq(k, "option") && eq(a1, "httpchk")) {
		httpchk(h, p, l);
	} else if (eq(k, "http-check") && eq(a1, "expect") && l->argc == 4 && eq(l->argv[2], "status")) {
		p->expect = l->argv[3];
	} else if (eq(k, "default-server")) {
		server_opts(h, l, 1, &p->dflt);
	} else if (p->kind != HP_DEFAULTS && eq(k, "bind") && a1) {
		*(struct hline *)imp_push(h->m, &p->binds, &p->n_binds, sizeof(*l)) = *l;
	} else if (p->kind != HP_DEFAULTS && eq(k, "server") && l->argc >= 3) {
		*(struct hline *)imp_push(h->m, &p->servers, &p->n_servers, sizeof(*l)) = *l;
	} else if (eq(k, "default_backend") && a1) {
		if (!p->use_backend)
			p->use_backend = a1;
	} else if (eq(k, "use_backend") && a1) {
		if (l->argc > 2) /* `if`/`unless`: a content rule */
			warn_line(h, l,
				  "conditional rules have no buoy equivalent (L4: one backend "
				  "per listener)");
		else
			p->use_backend = a1; /* unconditional: always wins over default_backend */
	} else {
		return false;
	}
	return true;
}

static void global_line(struct hctx *h, const struct hline *l)
{
	struct imp_model *m = h->m;
	unsigned u;
	if (eq(l->argv[0], "nbthread") && want_num(h, l, 1, 1024, &u) && u)
		m->workers = u;
	else if (eq(l->argv[0], "maxconn") && want_num(h, l, 1, 10000000, &u))
		m->max_conns = u; /* the process's limit, buoy's global one */
	else if (eq(l->argv[0], "user") && l->argc > 1)
		m->user = imp_strdup(m, l->argv[1]);
	else if (eq(l->argv[0], "daemon") || eq(l->argv[0], "master-worker"))
		imp_note(m, &m->notes, "%s:%d: %s: buoy runs in the foreground under systemd",
			 l->file, l->line, l->argv[0]);
	else
		warn_line(h, l, "global setting with no buoy equivalent");
}

/* ---- model ---- */

static const char *balance(struct hctx *h, const struct hproxy *p)
{
	const char *b = p->balance;
	if (!b || eq(b, "roundrobin") || eq(b, "static-rr"))
		return "roundrobin";
	if (eq(b, "leastconn") || eq(b, "source") || eq(b, "random"))
		return b;
	imp_warn(h->m, p->file, p->balance_line, "balance %s has no buoy equivalent; roundrobin", b);
	return "roundrobin";
}

/* "ADDR:PORT" from HAProxy's address forms (IPv6 with its port after the last colon). */
static char *address(struct hctx *h, const char *a)
{
	if (strncmp(a, "ipv4@", 5) == 0 || strncmp(a, "ipv6@", 5) == 0)
		a += 5;
	const char *colon = strrchr(a, ':');
	if (!colon || a[0] == '[')
		return imp_strdup(h->m, a);
	char *host = imp_printf(h->m, "%.*s", (int)(colon - a), a);
	return imp_hostport(h->m, *host ? host : NULL, colon + 1);
}

static void health(struct hctx *h, const struct hproxy *p, struct imp_backend *b, int checked,
		   const struct hsrv *first)
{
	struct imp_health *hc = &b->health;
	hc->set = true;
	if (!checked) {
		/* HAProxy counts an unchecked server as up; no passive checks unless `observe` */
		hc->type = "none";
		b->max_fails = 0;
		imp_note(h->m, &b->notes, "no `check`: servers count as up, as in HAProxy");
		return;
	}
	bool tls = first->check_ssl == 1;
	hc->type = p->httpchk ? (tls ? "https" : "http") : (tls ? "tls" : "tcp");
	hc->path = p->httpchk ? p->httpchk_path : NULL;
	hc->expect = p->expect;
	hc->interval_ms = first->inter_ms ? first->inter_ms : 2000;
	hc->timeout_ms = p->t_check ? p->t_check : hc->interval_ms;
	hc->rise = first->rise ? first->rise : 2;
	hc->fall = first->fall ? first->fall : 3;
	hc->port = first->port;
	if (tls)
		hc->verify = first->verify == 1;
	b->max_fails = 0; /* HAProxy: only the active check takes a server out */
}

static void backend(struct hctx *h, const struct hproxy *p)
{
	struct imp_model *m = h->m;
	struct imp_backend *b = imp_backend_add(m, p->name);
	b->balance = imp_strdup(m, balance(h, p));
	b->connect_timeout_ms = p->t_connect;
	b->idle_timeout_ms = p->t_server;
	if (p->t_queue || p->t_connect)
		b->queue_timeout_ms = (int64_t)(p->t_queue ? p->t_queue : p->t_connect);
	b->retries = p->retries >= 0 ? p->retries : 3;
	if (p->redispatch != 1)
		imp_note(m, &b->notes,
			 "no `option redispatch`: HAProxy retried the same server; buoy retries "
			 "go to other servers");
	int checked = -1;
	struct hsrv first = { 0 };
	for (size_t i = 0; i < p->n_servers; i++) {
		const struct hline *l = &p->servers[i];
		struct hsrv o = p->dflt;
		server_opts(h, l, 3, &o);
		struct imp_server *s = imp_push(m, &b->servers, &b->n_servers, sizeof(*s));
		s->address = address(h, l->argv[2]);
		s->backup = o.backup == 1;
		s->disabled = o.disabled == 1;
		s->max_conns = o.maxconn;
		if (o.weight_set && o.weight == 0)
			imp_warn(m, l->file, l->line,
				 "weight 0 (no new connections): use `buoy drain` after start");
		s->weight = o.weight_set && o.weight ? o.weight : 0;
		if (s->disabled)
			imp_warn(m, l->file, l->line, "disabled server %s: written commented out",
				 l->argv[1]);
		imp_note(m, &s->notes, "server %s", l->argv[1]);
		int c = o.check == 1;
		if (checked < 0) {
			checked = c;
			first = o;
		} else if (c != checked) {
			imp_warn(m, l->file, l->line,
				 "servers with and without `check`: buoy checks all or none (%s)",
				 checked ? "all" : "none");
		}
	}
	health(h, p, b, checked == 1, &first);
}

/* HAProxy's `*:PORT` and `:PORT` are IPv4 only; `:::PORT` is IPv6's wildcard */
static char *bind_address(struct hctx *h, const char *a)
{
	if (strncmp(a, ":::", 3) == 0)
		return imp_printf(h->m, "[::]:%s", a + 3);
	if (a[0] == '*' || a[0] == ':')
		return imp_printf(h->m, "0.0.0.0%s", a + (a[0] == '*'));
	return address(h, a);
}

static void listeners(struct hctx *h, const struct hproxy *p)
{
	struct imp_model *m = h->m;
	const char *target = p->kind == HP_LISTEN ? p->name : p->use_backend;
	if (!target) {
		imp_warn(m, p->file, p->line, "frontend %s has no backend", p->name);
		return;
	}
	for (size_t i = 0; i < p->n_binds; i++) {
		const struct hline *l = &p->binds[i];
		bool defer = false;
		for (size_t k = 2; k < l->argc; k++)
			if (eq(l->argv[k], "defer-accept"))
				defer = true;
			else
				imp_warn(m, l->file, l->line,
					 "bind option %s has no buoy equivalent", l->argv[k]);
		const char *a = l->argv[1];
		if (strchr(a, ',') || strchr(strrchr(a, ':') ? strrchr(a, ':') : a, '-')) {
			warn_line(h, l, "address lists and port ranges: one listener per address");
			continue;
		}
		struct imp_listener *li = imp_push(m, &m->listeners, &m->n_listeners, sizeof(*li));
		li->name = i ? imp_name(m, imp_printf(m, "%s-%zu", p->name, i + 1))
			     : imp_name(m, p->name);
		li->bind = bind_address(h, a);
		li->defer_accept = defer;
		li->backend = imp_name(m, target);
		/* an idle connection ends at the first of timeout client and timeout server */
		struct imp_backend *b = imp_backend_find(m, li->backend);
		if (b && p->t_client && (!b->idle_timeout_ms || p->t_client < b->idle_timeout_ms)) {
			b->idle_timeout_ms = p->t_client;
			imp_note(m, &b->notes, "idle_timeout: timeout client of %s, the shorter",
				 p->name);
		}
	}
}

static bool is_tcp(const struct hproxy *p) { return !p->mode || eq(p->mode, "tcp"); }

static void convert(struct hctx *h)
{
	for (size_t i = 0; i < h->n_px; i++) {
		const struct hproxy *p = &h->px[i];
		if (!is_tcp(p)) {
			imp_warn(h->m, p->file, p->line,
				 "%s: HAProxy `mode %s` proxies are L7; not converted", p->name,
				 p->mode);
			continue;
		}
		if (p->kind == HP_BACKEND || p->kind == HP_LISTEN)
			backend(h, p);
	}
	for (size_t i = 0; i < h->n_px; i++) {
		const struct hproxy *p = &h->px[i];
		if (is_tcp(p) && (p->kind == HP_FRONTEND || p->kind == HP_LISTEN))
			listeners(h, p);
	}
}

static struct hproxy *section(struct hctx *h, const struct hline *l, int *skip)
{
	static const char *const kinds[] = { "defaults", "frontend", "backend", "listen" };
	for (int k = 0; k < 4; k++) {
		if (!eq(l->argv[0], kinds[k]))
			continue;
		*skip = 0;
		if (k == HP_DEFAULTS) {
			dflt_init(&h->defaults);
			h->defaults.file = l->file;
			return &h->defaults;
		}
		struct hproxy *p = imp_push(h->m, &h->px, &h->n_px, sizeof(*p));
		*p = h->defaults;
		p->kind = k;
		p->name = l->argc > 1 ? l->argv[1] : "unnamed";
		p->file = l->file;
		p->line = l->line;
		if (k == HP_LISTEN && l->argc > 2) /* `listen NAME ADDR:PORT` */
			*(struct hline *)imp_push(h->m, &p->binds, &p->n_binds, sizeof(*l)) =
				(struct hline){ l->file, l->line, l->argv + 1, l->argc - 1 };
		return p;
	}
	*skip = !eq(l->argv[0], "global");
	if (*skip)
		imp_warn(h->m, l->file, l->line, "section %s has no buoy equivalent; skipped",
			 l->argv[0]);
	return NULL;
}

int imp_haproxy(struct imp_model *m, const char *file, const char *text, size_t len)
{
	struct hctx h = { .m = m };
	dflt_init(&h.defaults);
	struct hproxy *cur = NULL;
	int skip = 0, lineno = 0;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *raw = imp_alloc(m, n + 1);
		memcpy(raw, p, n);
		for (size_t i = 0; i < n; i++)
			raw[i] = raw[i] ? raw[i] : ' ';
		p += n + 1;
		lineno++;
		struct hline l = { .file = file, .line = lineno };
		split(m, raw, &l);
		if (!l.argc)
			continue;
		static const char *const sections[] = {
			"global",    "defaults", "frontend", "backend", "listen",
			"resolvers", "peers",    "userlist", "program", "http-errors",
			"mailers",   "cache",    "ring",     NULL
		};
		bool is_section = false;
		for (size_t i = 0; sections[i]; i++)
			is_section |= eq(l.argv[0], sections[i]);
		if (is_section) {
			cur = section(&h, &l, &skip);
			continue;
		}
		if (skip)
			continue;
		if (!cur)
			global_line(&h, &l);
		else if (!proxy_line(&h, cur, &l))
			warn_line(&h, &l, "no buoy equivalent");
	}
	convert(&h);
	return 0;
}
