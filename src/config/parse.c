/* Small pure parsers for config values: durations, addresses, prefixes.
 * No DNS, no clock, no sockets: the text alone decides. */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/inet.h"

/* "250ms" "2s" "1.5s" "1m" "1h". A unit is mandatory: a bare "2" is ambiguous (seconds? ms?),
 * and guessing wrong by a factor of 1000 on a timeout is the kind of bug we refuse to ship. */
int parse_duration_ms(const char *s, uint64_t *out_ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60000 },
		{ "h", 3600000 },
	};
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	uint64_t whole = 0, frac = 0, frac_div = 1;
	const char *p = s;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (frac_div >= 1000000000ULL)
				return -1; /* more precision than anyone needs */
			frac = frac * 10 + (uint64_t)(*p - '0');
			frac_div *= 10;
		}
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		uint64_t mul = units[i].ms;
		/* cap at ~100 years so later arithmetic (now + timeout) cannot overflow */
		if (whole > 3155760000000ULL / mul)
			return -1;
		uint64_t fr = frac * mul;
		if (fr % frac_div != 0)
			return -1; /* "1.5ms": sub-millisecond precision is not representable */
		*out_ms = whole * mul + fr / frac_div;
		return 0;
	}
	return -1;
}

static int parse_port(const char *s, uint16_t *out)
{
	if (!*s || strlen(s) > 5)
		return -1;
	unsigned long v = 0;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Address only, no port, no prefix. Accepts "1.2.3.4", "2001:db8::1" and "[2001:db8::1]". */
int parse_ip_addr(const char *s, struct ip_addr *out)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = s ? strlen(s) : 0;
	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(buf) || strchr(s, '/'))
		return -1;
	memcpy(buf, s, n + 1);
	if (buf[0] == '[') {
		if (buf[n - 1] != ']')
			return -1;
		buf[n - 1] = '\0';
		memmove(buf, buf + 1, n - 1);
		if (!strchr(buf, ':'))
			return -1; /* brackets are for IPv6 only */
	}
	return ip_addr_parse(buf, out) < 0 ? -1 : 0;
}

/* "1.2.3.4:80", "[2001:db8::1]:80", "0.0.0.0:80", "[::]:80", and ":6443" = "[::]:6443"
 * (all addresses; with Linux's default net.ipv6.bindv6only=0 that includes IPv4). */
const char *format_ip(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET
				? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
				: (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	if ((ss->ss_family != AF_INET && ss->ss_family != AF_INET6) ||
	    !inet_ntop(ss->ss_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

uint16_t cfg_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

int parse_hostport(const char *s, struct cfg_addr *out)
{
	if (!s)
		return -1;
	const char *colon = strrchr(s, ':');
	if (!colon)
		return -1;
	uint16_t port;
	if (parse_port(colon + 1, &port) < 0)
		return -1;
	size_t hostlen = (size_t)(colon - s);
	char host[INET6_ADDRSTRLEN + 2];
	if (hostlen >= sizeof(host))
		return -1;
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';
	memset(out, 0, sizeof(*out));
	struct ip_addr a = { .family = AF_INET6, .v6 = IN6ADDR_ANY_INIT }; /* ":port" */
	/* unbracketed IPv6 ("::1:80") is ambiguous: insist on brackets */
	if (hostlen && (parse_ip_addr(host, &a) < 0 || (host[0] != '[' && a.family != AF_INET)))
		return -1;
	out->len = ip_addr_to_sockaddr(&a, port, &out->ss);
	format_sockaddr((struct sockaddr *)&out->ss, out->text, sizeof(out->text));
	return 0;
}

/* "198.18.0.100/24", "2001:db8::100/64"; without "/N" the full host prefix. The one address
 * parser (core/inet.h), plus what a VIP or an announced prefix may not be. */
int parse_cidr(const char *s, struct cfg_vip *out)
{
	memset(out, 0, sizeof(*out));
	if (ip_addr_parse(s, &out->addr) < 0 || out->addr.prefix == 0) {
		memset(out, 0, sizeof(*out));
		return -1; /* /0 on a VIP would claim the whole address space */
	}
	ip_addr_format(&out->addr, IP_FMT_PREFIX, out->text, sizeof(out->text));
	return 0;
}

void format_sockaddr(const struct sockaddr *sa, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	if (len == 0)
		return;
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &v4->sin_addr, addr, sizeof(addr));
		snprintf(buf, len, "%s:%u", addr, ntohs(v4->sin_port));
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &v6->sin6_addr, addr, sizeof(addr));
		snprintf(buf, len, "[%s]:%u", addr, ntohs(v6->sin6_port));
	} else {
		snprintf(buf, len, "-");
	}
}
