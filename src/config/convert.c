/* The value converters both builders stand on (validate.c, validate_vrrp.c, validate_bgp.c):
 * raw text in, typed value out, "PREFIX.KEY: problem" reported at the value's position. Pure. */
#include "config/convert.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- scalars ---- */

static bool parse_u64(const char *s, uint64_t *out)
{
	if (!isdigit((unsigned char)*s))
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

bool cv_uint(struct cfg_diag *d, const char *prefix, const char *key, const char *s, uint64_t lo,
	     uint64_t hi, uint64_t def, uint64_t *out)
{
	uint64_t v;
	*out = def;
	if (!s)
		return true;
	if (!parse_u64(s, &v)) {
		cfg_err(d, prefix, key, "expected a whole number %llu..%llu, got \"%s\"",
			(unsigned long long)lo, (unsigned long long)hi, s);
		return false;
	}
	if (v < lo || v > hi) {
		cfg_err(d, prefix, key, "%s is out of range %llu..%llu", s, (unsigned long long)lo,
			(unsigned long long)hi);
		return false;
	}
	*out = v;
	return true;
}

bool cv_int(struct cfg_diag *d, const char *prefix, const char *key, const char *s, int64_t lo,
	    int64_t hi, int64_t def, int64_t *out)
{
	uint64_t mag;
	*out = def;
	if (!s)
		return true;
	bool neg = *s == '-';
	const char *digits = (*s == '-' || *s == '+') ? s + 1 : s;
	if (!parse_u64(digits, &mag) || mag > (uint64_t)INT64_MAX) {
		cfg_err(d, prefix, key, "expected a whole number %lld..%lld, got \"%s\"",
			(long long)lo, (long long)hi, s);
		return false;
	}
	int64_t v = neg ? -(int64_t)mag : (int64_t)mag;
	if (v < lo || v > hi) {
		cfg_err(d, prefix, key, "%s is out of range %lld..%lld", s, (long long)lo,
			(long long)hi);
		return false;
	}
	*out = v;
	return true;
}

bool cv_bool(struct cfg_diag *d, const char *prefix, const char *key, const char *s, bool def, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
	*out = def;
	if (!s)
		return true;
	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return true;
		}
	}
	cfg_err(d, prefix, key, "expected true or false, got \"%s\"", s);
	return false;
}

static void fmt_ms(char *buf, size_t len, uint64_t ms)
{
	if (ms && ms % 3600000 == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms && ms % 60000 == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms && ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}

bool cv_duration(struct cfg_diag *d, const char *prefix, const char *key, const char *s,
		 uint64_t lo, uint64_t hi, uint64_t def, uint64_t *out)
{
	uint64_t v, bare;
	*out = def;
	if (!s)
		return true;
	if (parse_u64(s, &bare)) {
		cfg_err(d, prefix, key,
			"duration \"%s\" has no unit (write e.g. \"%ss\" or \"%sms\")", s, s, s);
		return false;
	}
	if (parse_duration_ms(s, &v) < 0) {
		cfg_err(d, prefix, key, "invalid duration \"%s\" (expected e.g. 250ms, 2s, 1m, 1h)", s);
		return false;
	}
	if (v < lo || v > hi) {
		char a[32], b[32];
		fmt_ms(a, sizeof(a), lo);
		fmt_ms(b, sizeof(b), hi);
		cfg_err(d, prefix, key, "%s is out of range %s..%s", s, a, b);
		return false;
	}
	*out = v;
	return true;
}

bool cv_str(struct cfg_diag *d, const char *prefix, const char *key, const char *s, bool required,
	    const char *def, char **out)
{
	*out = NULL;
	if (!s && required) {
		cfg_err(d, prefix, NULL, "missing required key \"%s\"", key);
		return false;
	}
	if (s && !*s && required) {
		cfg_err(d, prefix, key, "must not be empty");
		return false;
	}
	if (!s)
		s = def;
	*out = s ? strdup(s) : NULL;
	return true;
}

bool cv_name(struct cfg_diag *d, const char *prefix, const char *key, const char *s, char **out)
{
	if (!cv_str(d, prefix, key, s, true, NULL, out))
		return false;
	size_t len = strlen(s);
	bool ok = len <= 63;
	for (const char *p = s; *p && ok; p++)
		ok = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.';
	if (!ok)
		cfg_err(d, prefix, key, "name \"%s\" must be 1..63 letters, digits, '-', '_' or '.'", s);
	return ok;
}

bool cv_hostport(struct cfg_diag *d, const char *prefix, const char *key, const char *s,
		 struct cfg_addr *out)
{
	if (!s) {
		cfg_err(d, prefix, NULL, "missing required key \"%s\"", key);
		return false;
	}
	if (parse_hostport(s, out) < 0) {
		cfg_err(d, prefix, key,
			"invalid address \"%s\" (expected IPv4:port, [IPv6]:port or :port)", s);
		return false;
	}
	return true;
}

/* ---- addresses ---- */

bool cfg_is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == 0;
	static const struct in6_addr any = IN6ADDR_ANY_INIT;
	return !memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &any, sizeof(any));
}

/* ---- lists and references ---- */

bool cfg_list_ok(struct cfg_diag *d, const char *prefix, const char *key, size_t n, size_t max,
		 const char *what)
{
	if (n <= max)
		return true;
	cfg_err(d, prefix, key, "at most %zu %s", max, what);
	return false;
}

void *cfg_list_new(struct cfg_diag *d, const char *prefix, const char *key, size_t n, size_t max,
		   const char *what, size_t size, size_t *count)
{
	if (!n || !cfg_list_ok(d, prefix, key, n, max, what))
		return NULL;
	void *v = calloc(n, size);
	if (v && count)
		*count = n;
	return v;
}

void cfg_check_unique(struct cfg_diag *d, const char *list, const char *what, const void *arr,
		      size_t n, size_t stride, size_t name_off)
{
	for (size_t i = 0; i < n; i++) {
		const char *a = *(char *const *)((const char *)arr + i * stride + name_off);
		for (size_t j = 0; a && j < i; j++) {
			const char *b = *(char *const *)((const char *)arr + j * stride + name_off);
			if (b && !strcmp(a, b)) {
				char p[64];
				snprintf(p, sizeof(p), "%s[%zu]", list, i);
				cfg_err(d, p, "name", "duplicate %s name \"%s\" (also %s[%zu])",
					what, a, list, j);
				break;
			}
		}
	}
}

size_t cfg_backend_ref(struct cfg_diag *d, const char *prefix, const char *key,
		       const struct config *c, const char *name)
{
	for (size_t j = 0; j < c->n_backends; j++)
		if (c->backends[j].name && !strcmp(c->backends[j].name, name))
			return j;
	const char *guess = NULL;
	size_t best = strlen(name) / 2 + 1; /* no "did you mean" from two unrelated short names */
	if (best > 3)
		best = 3;
	for (size_t j = 0; j < c->n_backends; j++) {
		size_t dist = c->backends[j].name ? cfg_edit_distance(name, c->backends[j].name) : 99;
		if (dist < best) {
			best = dist;
			guess = c->backends[j].name;
		}
	}
	if (guess) {
		cfg_err(d, prefix, key, "no backend named \"%s\" (did you mean \"%s\"?)", name, guess);
		return c->n_backends;
	}
	char known[256] = "";
	for (size_t j = 0; j < c->n_backends && strlen(known) < 200; j++) {
		if (c->backends[j].name)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 *known ? ", " : "", c->backends[j].name);
	}
	cfg_err(d, prefix, key, "no backend named \"%s\" (defined: %s)", name, *known ? known : "none");
	return c->n_backends;
}

/* Names must be unique within their list: they are how logs, metrics and the CLI refer to them. */
