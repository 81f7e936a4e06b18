/* The import model written as buoy.yaml: block style, every string double-quoted, the
 * readers' notes as comments above what they explain, the warnings in a header block. */
#include <stdio.h>
#include <string.h>

#include "import/import.h"

static void q(struct strbuf *o, const char *s)
{
	sb_putc(o, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			sb_printf(o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			sb_printf(o, "\\x%02x", c);
		else
			sb_putc(o, (char)c);
	}
	sb_putc(o, '"');
}

/* A comment line; line breaks in the text would end the comment, so they become spaces. */
static void comment(struct strbuf *o, const char *indent, const char *s)
{
	sb_printf(o, "%s# ", indent);
	for (; *s; s++)
		sb_putc(o, *s == '\n' || *s == '\r' ? ' ' : *s);
	sb_putc(o, '\n');
}

static void notes(struct strbuf *o, const char *indent, const struct imp_notes *n)
{
	for (size_t i = 0; i < n->n; i++)
		comment(o, indent, n->v[i]);
}

static void dur(struct strbuf *o, uint64_t ms)
{
	if (ms % 1000 == 0)
		sb_printf(o, "%llus", (unsigned long long)(ms / 1000));
	else
		sb_printf(o, "%llums", (unsigned long long)ms);
}

static void kv_str(struct strbuf *o, const char *ind, const char *k, const char *v)
{
	if (!v)
		return;
	sb_printf(o, "%s%s: ", ind, k);
	q(o, v);
	sb_putc(o, '\n');
}

static void kv_dur(struct strbuf *o, const char *ind, const char *k, uint64_t ms)
{
	if (!ms)
		return;
	sb_printf(o, "%s%s: ", ind, k);
	dur(o, ms);
	sb_putc(o, '\n');
}

static void str_list(struct strbuf *o, const char *ind, const char *k, char **v, size_t n)
{
	if (!n)
		return;
	sb_printf(o, "%s%s: [", ind, k);
	for (size_t i = 0; i < n; i++) {
		sb_puts(o, i ? ", " : "");
		q(o, v[i]);
	}
	sb_puts(o, "]\n");
}

static void track(struct strbuf *o, const struct imp_vrrp *v)
{
	if (!v->n_scripts && !v->n_ifaces && !v->n_track_backends)
		return;
	sb_puts(o, "    track:\n");
	str_list(o, "      ", "backends", v->track_backends, v->n_track_backends);
	if (v->n_ifaces) {
		sb_puts(o, "      interfaces:\n");
		for (size_t i = 0; i < v->n_ifaces; i++) {
			sb_puts(o, "        - { name: ");
			q(o, v->ifaces[i].name);
			sb_printf(o, ", weight: %d }\n", v->ifaces[i].weight);
		}
	}
	if (!v->n_scripts)
		return;
	sb_puts(o, "      scripts:\n");
	for (size_t i = 0; i < v->n_scripts; i++) {
		const struct imp_script *s = &v->scripts[i];
		sb_puts(o, "        - command: ");
		q(o, s->command);
		sb_putc(o, '\n');
		kv_str(o, "          ", "name", s->name);
		kv_dur(o, "          ", "interval", s->interval_ms);
		kv_dur(o, "          ", "timeout", s->timeout_ms);
		if (s->weight)
			sb_printf(o, "          weight: %d\n", s->weight);
		if (s->rise)
			sb_printf(o, "          rise: %u\n", s->rise);
		if (s->fall)
			sb_printf(o, "          fall: %u\n", s->fall);
		kv_str(o, "          ", "user", s->user);
	}
}

static void vrrp(struct strbuf *o, const struct imp_vrrp *v)
{
	notes(o, "  ", &v->notes);
	sb_printf(o, "  - name: %s\n", v->name);
	kv_str(o, "    ", "interface", v->interface);
	if (v->router_id)
		sb_printf(o, "    router_id: %u\n", v->router_id);
	if (v->priority)
		sb_printf(o, "    priority: %u\n", v->priority);
	if (v->version)
		sb_printf(o, "    version: %u\n", v->version);
	kv_dur(o, "    ", "advert_interval", v->advert_ms);
	if (v->preempt >= 0)
		sb_printf(o, "    preempt: %s\n", v->preempt ? "true" : "false");
	kv_dur(o, "    ", "preempt_delay", v->preempt_delay_ms);
	kv_str(o, "    ", "auth_pass", v->auth_pass);
	kv_str(o, "    ", "unicast_source", v->unicast_source);
	str_list(o, "    ", "unicast_peers", v->peers, v->n_peers);
	str_list(o, "    ", "virtual_ips", v->vips, v->n_vips);
	kv_str(o, "    ", "label", v->label);
	kv_str(o, "    ", "notify", v->notify);
	track(o, v);
}

static void health(struct strbuf *o, const struct imp_health *h)
{
	if (!h->set)
		return;
	notes(o, "    ", &h->notes);
	sb_puts(o, "    health:\n");
	sb_printf(o, "      type: %s\n", h->type ? h->type : "tcp");
	kv_str(o, "      ", "path", h->path);
	if (h->expect)
		sb_printf(o, "      expect_status: \"%s\"\n", h->expect);
	kv_dur(o, "      ", "interval", h->interval_ms);
	kv_dur(o, "      ", "timeout", h->timeout_ms);
	if (h->rise)
		sb_printf(o, "      rise: %u\n", h->rise);
	if (h->fall)
		sb_printf(o, "      fall: %u\n", h->fall);
	if (h->port)
		sb_printf(o, "      port: %u\n", h->port);
	if (h->verify >= 0)
		sb_printf(o, "      verify: %s\n", h->verify ? "true" : "false");
}

static void server(struct strbuf *o, const struct imp_server *s)
{
	notes(o, "      ", &s->notes);
	sb_printf(o, "      %s{ address: ", s->disabled ? "# - " : "- ");
	q(o, s->address);
	if (s->weight)
		sb_printf(o, ", weight: %u", s->weight);
	if (s->max_conns)
		sb_printf(o, ", max_conns: %u", s->max_conns);
	if (s->backup)
		sb_puts(o, ", backup: true");
	sb_puts(o, " }\n");
}

static void backend(struct strbuf *o, const struct imp_backend *b)
{
	notes(o, "  ", &b->notes);
	sb_printf(o, "  - name: %s\n", b->name);
	if (b->balance)
		sb_printf(o, "    balance: %s\n", b->balance);
	kv_dur(o, "    ", "connect_timeout", b->connect_timeout_ms);
	if (b->retries >= 0)
		sb_printf(o, "    retries: %d\n", b->retries);
	if (b->max_fails >= 0)
		sb_printf(o, "    max_fails: %d\n", b->max_fails);
	kv_dur(o, "    ", "fail_timeout", b->fail_timeout_ms);
	kv_dur(o, "    ", "idle_timeout", b->idle_timeout_ms);
	if (b->queue_timeout_ms >= 0) {
		sb_puts(o, "    queue_timeout: ");
		dur(o, (uint64_t)b->queue_timeout_ms);
		sb_putc(o, '\n');
	}
	health(o, &b->health);
	sb_puts(o, "    servers:\n");
	for (size_t i = 0; i < b->n_servers; i++)
		server(o, &b->servers[i]);
}

static void bgp(struct strbuf *o, const struct imp_bgp *b)
{
	sb_puts(o, "\n");
	notes(o, "", &b->notes);
	sb_printf(o, "bgp:\n  asn: %s\n", b->asn);
	kv_str(o, "  ", "router_id", b->router_id);
	kv_dur(o, "  ", "hold_time", b->hold_ms);
	kv_dur(o, "  ", "keepalive", b->keepalive_ms);
	sb_puts(o, "  peers:\n");
	for (size_t i = 0; i < b->n_peers; i++) {
		const struct imp_bgp_peer *p = &b->peers[i];
		sb_puts(o, "    - { address: ");
		q(o, p->address);
		sb_printf(o, ", asn: %s", p->asn);
		if (p->password) {
			sb_puts(o, ", password: ");
			q(o, p->password);
		}
		if (p->multihop)
			sb_printf(o, ", multihop: %u", p->multihop);
		if (p->no_bfd)
			sb_puts(o, ", bfd: false");
		sb_puts(o, " }\n");
	}
	sb_puts(o, "  announce:\n");
	for (size_t i = 0; i < b->n_announce; i++) {
		sb_puts(o, "    - { prefix: ");
		q(o, b->announce[i]);
		sb_puts(o, " }\n");
	}
}

void imp_emit(const struct imp_model *m, struct strbuf *o)
{
	sb_puts(o, "# Generated by `buoy import`. Review it, then run `buoy check -c FILE`.\n");
	notes(o, "", &m->notes);
	if (m->n_warnings) {
		sb_puts(o, "#\n# Not carried over (also printed on stderr):\n");
		for (size_t i = 0; i < m->n_warnings; i++) {
			char line[1024];
			snprintf(line, sizeof(line), "  %s: %s%s", m->warnings[i].where,
				 m->warnings[i].fatal ? "error: " : "", m->warnings[i].why);
			comment(o, "", line);
		}
	}
	sb_putc(o, '\n');
	kv_str(o, "", "node", m->out_node);
	kv_str(o, "", "user", m->user);
	kv_str(o, "", "script_user", m->script_user);
	if (m->workers)
		sb_printf(o, "workers: %u\n", m->workers);
	if (m->max_conns)
		sb_printf(o, "max_conns: %u\n", m->max_conns);
	if (m->n_vrrp) {
		sb_puts(o, "\nvrrp:\n");
		for (size_t i = 0; i < m->n_vrrp; i++)
			vrrp(o, &m->vrrp[i]);
	}
	if (m->bgp)
		bgp(o, m->bgp);
	if (m->n_listeners) {
		sb_puts(o, "\nlisteners:\n");
		for (size_t i = 0; i < m->n_listeners; i++) {
			const struct imp_listener *l = &m->listeners[i];
			notes(o, "  ", &l->notes);
			sb_printf(o, "  - { name: %s, bind: ", l->name);
			q(o, l->bind);
			sb_printf(o, ", backend: %s", l->backend);
			if (l->defer_accept)
				sb_puts(o, ", defer_accept: true");
			if (l->intercept) {
				sb_puts(o, ", intercept: ");
				q(o, l->intercept);
			}
			sb_puts(o, " }\n");
		}
	}
	if (m->n_backends) {
		sb_puts(o, "\nbackends:\n");
		for (size_t i = 0; i < m->n_backends; i++)
			backend(o, &m->backends[i]);
	}
}
