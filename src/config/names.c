/* The words of config's enums, each table once: the YAML value, also the status JSON value and
 * the log word, so a name never differs between what the user writes and what buoy shows. */
#include "config/config.h"

#include <string.h>

static const char *const balance_names[] = {
	[BALANCE_ROUNDROBIN] = "roundrobin",
	[BALANCE_LEASTCONN] = "leastconn",
	[BALANCE_SOURCE] = "source",
	[BALANCE_RANDOM] = "random",
};

static const char *const fast_path_names[] = {
	[CFG_FAST_PATH_OFF] = "off",
	[CFG_FAST_PATH_AUTO] = "auto",
	[CFG_FAST_PATH_SOCKMAP] = "sockmap",
};

static const char *const health_names[] = {
	[HEALTH_TCP] = "tcp",     [HEALTH_TLS] = "tls",   [HEALTH_HTTP] = "http",
	[HEALTH_HTTPS] = "https", [HEALTH_NONE] = "none", [HEALTH_UDP] = "udp",
};

#define N(tab) (sizeof(tab) / sizeof(tab[0]))

static int index_of(const char *const *tab, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (!strcmp(s, tab[i]))
			return (int)i;
	return -1;
}

const char *balance_algo_name(enum balance_algo a)
{
	return (size_t)a < N(balance_names) ? balance_names[a] : "unknown";
}

bool balance_algo_from_name(const char *s, enum balance_algo *out)
{
	int i = index_of(balance_names, N(balance_names), s);
	if (i >= 0)
		*out = (enum balance_algo)i;
	return i >= 0;
}

const char *cfg_fast_path_name(enum cfg_fast_path m)
{
	return (size_t)m < N(fast_path_names) ? fast_path_names[m] : "unknown";
}

bool cfg_fast_path_from_name(const char *s, enum cfg_fast_path *out)
{
	int i = index_of(fast_path_names, N(fast_path_names), s);
	if (i >= 0)
		*out = (enum cfg_fast_path)i;
	return i >= 0;
}

const char *health_type_name(enum health_type t)
{
	return (size_t)t < N(health_names) ? health_names[t] : "unknown";
}

bool health_type_from_name(const char *s, enum health_type *out)
{
	int i = index_of(health_names, N(health_names), s);
	if (i >= 0)
		*out = (enum health_type)i;
	return i >= 0;
}

bool health_type_uses_tls(enum health_type t) { return t == HEALTH_TLS || t == HEALTH_HTTPS; }
bool health_type_uses_http(enum health_type t) { return t == HEALTH_HTTP || t == HEALTH_HTTPS; }
