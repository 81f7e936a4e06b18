/* The import model's arena, warnings and small value parsers shared by the readers. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/import.h"

void imp_model_init(struct imp_model *m) { memset(m, 0, sizeof(*m)); }

void imp_model_free(struct imp_model *m)
{
	for (size_t i = 0; i < m->n_arena; i++)
		free(m->arena[i]);
	free(m->arena);
	memset(m, 0, sizeof(*m));
}

/* A one-shot command: running out of memory ends it, like any CLI tool would. */
static void *oom_check(void *p)
{
	if (!p) {
		fputs("buoy import: out of memory\n", stderr);
		abort();
	}
	return p;
}

static void arena_keep(struct imp_model *m, void *p)
{
	if (m->n_arena == m->cap_arena) {
		m->cap_arena = m->cap_arena ? m->cap_arena * 2 : 64;
		m->arena = oom_check(realloc(m->arena, m->cap_arena * sizeof(*m->arena)));
	}
	m->arena[m->n_arena++] = p;
}

void *imp_alloc(struct imp_model *m, size_t n)
{
	void *p = oom_check(calloc(1, n ? n : 1));
	arena_keep(m, p);
	return p;
}

char *imp_strdup(struct imp_model *m, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = imp_alloc(m, n);
	memcpy(p, s, n);
	return p;
}

static char *imp_vprintf(struct imp_model *m, const char *fmt, va_list ap)
{
	char *p = NULL;
	if (vasprintf(&p, fmt, ap) < 0)
		oom_check(NULL);
	arena_keep(m, p);
	return p;
}

char *imp_printf(struct imp_model *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = imp_vprintf(m, fmt, ap);
	va_end(ap);
	return p;
}

/* Arrays grow by doubling; the old block stays in the arena until the model is freed (the
 * import is one-shot, and this keeps every pointer handed out valid). */
void *imp_push(struct imp_model *m, void *vp, size_t *n, size_t size)
{
	void **v = vp;
	/* capacity 4, 8, 16, ...: full exactly when n is 0 or a power of two from 4 */
	if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
		size_t ncap = *n ? *n * 2 : 4;
		void *nv = imp_alloc(m, ncap * size);
		if (*n)
			memcpy(nv, *v, *n * size);
		*v = nv;
	}
	void *e = (char *)*v + *n * size;
	memset(e, 0, size);
	(*n)++;
	return e;
}

void imp_note(struct imp_model *m, struct imp_notes *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = imp_vprintf(m, fmt, ap);
	va_end(ap);
	*(char **)imp_push(m, &n->v, &n->n, sizeof(char *)) = s;
}

static void warn_v(struct imp_model *m, bool fatal, const char *file, int line, const char *fmt, va_list ap)
{
	struct imp_warning *w = imp_push(m, &m->warnings, &m->n_warnings, sizeof(*w));
	w->where = line > 0 ? imp_printf(m, "%s:%d", file, line) : imp_strdup(m, file);
	w->why = imp_vprintf(m, fmt, ap);
	w->fatal = fatal;
}

void imp_warn(struct imp_model *m, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	warn_v(m, false, file, line, fmt, ap);
	va_end(ap);
}

void imp_fatal(struct imp_model *m, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	warn_v(m, true, file, line, fmt, ap);
	va_end(ap);
}

int imp_status(const struct imp_model *m)
{
	int rc = 0;
	for (size_t i = 0; i < m->n_warnings; i++)
		rc = m->warnings[i].fatal ? 2 : (rc ? rc : 1);
	return rc;
}

char *imp_name(struct imp_model *m, const char *s)
{
	size_t n = strlen(s);
	if (n > 63)
		n = 63;
	char *p = imp_alloc(m, n + 2);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		p[i] = isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' ? c : '-';
	}
	if (!n)
		p[0] = 'x';
	return p;
}

struct imp_backend *imp_backend_find(struct imp_model *m, const char *name)
{
	for (size_t i = 0; i < m->n_backends; i++)
		if (strcmp(m->backends[i].name, name) == 0)
			return &m->backends[i];
	return NULL;
}

struct imp_backend *imp_backend_add(struct imp_model *m, const char *name)
{
	struct imp_backend *b = imp_push(m, &m->backends, &m->n_backends, sizeof(*b));
	b->name = imp_name(m, name);
	b->queue_timeout_ms = -1;
	b->retries = -1;
	b->max_fails = -1;
	b->health.verify = -1;
	return b;
}

int imp_duration(const char *s, uint64_t unit_ms, uint64_t *out_ms)
{
	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0 || v > 1e12)
		return -1;
	static const struct {
		const char *unit;
		double ms;
	} units[] = { { "us", 0.001 },  { "ms", 1 },       { "s", 1000 }, { "m", 60000 },
		      { "h", 3600000 }, { "d", 86400000 }, { "", 0 } };
	double mult = (double)unit_ms;
	if (*end) {
		mult = -1;
		for (size_t i = 0; units[i].unit[0]; i++)
			if (strcmp(end, units[i].unit) == 0)
				mult = units[i].ms;
		if (mult < 0)
			return -1;
	}
	*out_ms = (uint64_t)(v * mult + 0.5);
	return 0;
}

int imp_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

char *imp_hostport(struct imp_model *m, const char *addr, const char *port)
{
	if (!addr || !*addr || strcmp(addr, "*") == 0)
		return imp_printf(m, ":%s", port);
	if (strchr(addr, ':') && addr[0] != '[')
		return imp_printf(m, "[%s]:%s", addr, port);
	return imp_printf(m, "%s:%s", addr, port);
}

static bool checks_proxy(const struct imp_script *s)
{
	static const char *const proxies[] = { "haproxy", "nginx", "envoy", NULL };
	for (size_t i = 0; proxies[i]; i++)
		if (strstr(s->command, proxies[i]) || (s->name && strstr(s->name, proxies[i])))
			return true;
	return false;
}

void imp_finalize(struct imp_model *m)
{
	for (size_t i = 0; i < m->n_vrrp; i++) {
		struct imp_vrrp *v = &m->vrrp[i];
		size_t kept = 0;
		for (size_t k = 0; k < v->n_scripts; k++) {
			struct imp_script *s = &v->scripts[k];
			if (!checks_proxy(s)) {
				v->scripts[kept++] = *s;
				continue;
			}
			if (!m->n_backends) {
				v->scripts[kept++] = *s;
				imp_warn(m, s->file, s->line,
					 "%s checks the proxy buoy replaces: once it is gone the "
					 "instance fails; track buoy's backends instead",
					 s->name ? s->name : s->command);
				continue;
			}
			/* buoy is the proxy: what matters is whether it reaches a server */
			imp_note(m, &v->notes,
				 "vrrp_script %s (%s, weight %d) checked the proxy; buoy is the proxy "
				 "and tracks its backends instead",
				 s->name ? s->name : "", s->command, s->weight);
			for (size_t j = 0; j < m->n_backends; j++)
				if (v->n_track_backends < m->n_backends)
					*(char **)imp_push(m, &v->track_backends, &v->n_track_backends,
							   sizeof(char *)) = m->backends[j].name;
		}
		v->n_scripts = kept;
	}
}
