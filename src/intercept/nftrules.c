#include "intercept/nftrules.h"

#include <arpa/inet.h>
#include <stdio.h>

void nftrules_rule(const struct cfg_listener *l, const struct cfg_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	snprintf(buf, len, "%s daddr %s tcp dport %u redirect to :%u comment \"listener %s\"",
		 a->ss.ss_family == AF_INET ? "ip" : "ip6", format_ip(&a->ss, ip, sizeof(ip)),
		 cfg_port(&a->ss), cfg_port(&l->bind.ss), l->name ? l->name : "?");
}

static void head(bool owner, struct strbuf *o)
{
	sb_printf(o, "add table " NFTRULES_FAMILY " " NFTRULES_TABLE "%s\n",
		  owner ? " { flags owner; }" : "");
	sb_puts(o, "delete table " NFTRULES_FAMILY " " NFTRULES_TABLE "\n");
}

size_t nftrules_count(const struct config *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n_listeners; i++)
		n += c->listeners[i].n_intercept;
	return n;
}

static void chain(const struct config *c, long only, const char *name, const char *hook, struct strbuf *o)
{
	char rule[256];
	sb_printf(o, "\tchain %s {\n\t\ttype nat hook %s priority -100; policy accept;\n", name, hook);
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct cfg_listener *l = &c->listeners[i];
		if (only >= 0 && (size_t)only != i)
			continue;
		for (size_t k = 0; k < l->n_intercept; k++) {
			if (!l->intercept[k].ss.ss_family)
				continue;
			nftrules_rule(l, &l->intercept[k], rule, sizeof(rule));
			sb_printf(o, "\t\t%s\n", rule);
		}
	}
	sb_puts(o, "\t}\n");
}

int nftrules_render(const struct config *c, bool owner, long only_listener, struct strbuf *out)
{
	head(owner, out);
	if (nftrules_count(c)) {
		sb_puts(out, "table " NFTRULES_FAMILY " " NFTRULES_TABLE " {\n");
		if (owner)
			sb_puts(out, "\tflags owner;\n");
		chain(c, only_listener, "prerouting", "prerouting", out);
		chain(c, only_listener, "output", "output", out);
		sb_puts(out, "}\n");
	}
	return out->oom ? -1 : 0;
}

int nftrules_render_remove(bool owner, struct strbuf *out)
{
	head(owner, out);
	return out->oom ? -1 : 0;
}
