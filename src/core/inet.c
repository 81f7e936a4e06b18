#include "core/inet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

size_t ip_addr_len(int family) { return family == AF_INET6 ? 16 : family == AF_INET ? 4 : 0; }

/* "/N": 1 to 3 digits, at most max. */
static int parse_prefix(const char *p, unsigned max, uint8_t *out)
{
	unsigned v = 0;
	size_t n = 0;
	for (; p[n]; n++) {
		if (n == 3 || p[n] < '0' || p[n] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(p[n] - '0');
	}
	if (n == 0 || v > max)
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

int ip_addr_parse(const char *s, struct ip_addr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	memset(out, 0, sizeof(*out));
	if (!s)
		return -EINVAL;
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &out->v4) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, &out->v6) == 1)
		out->family = AF_INET6;
	else
		goto bad;
	out->prefix = (uint8_t)(ip_addr_len(out->family) * 8);
	if (slash && parse_prefix(slash + 1, out->prefix, &out->prefix) < 0)
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

const char *ip_addr_format(const struct ip_addr *a, enum ip_fmt fmt, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	if (!ip_addr_len(a->family) || !inet_ntop(a->family, a->b, host, sizeof(host)))
		snprintf(buf, len, "-");
	else if (fmt == IP_FMT_PREFIX)
		snprintf(buf, len, "%s/%u", host, a->prefix);
	else
		snprintf(buf, len, "%s", host);
	return buf;
}

bool ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, ip_addr_len(a->family)) == 0;
}

bool ip_addr_is_any(const struct ip_addr *a)
{
	static const uint8_t zero[16];
	size_t n = ip_addr_len(a->family);
	return n && memcmp(a->b, zero, n) == 0;
}

int ip_addr_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	/* network byte order compares numerically with memcmp */
	return memcmp(a->b, b->b, ip_addr_len(a->family));
}

int ip_addr_from_sockaddr(const struct sockaddr *sa, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET)
		out->v4 = ((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		out->v6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return -EAFNOSUPPORT;
	out->family = (uint8_t)sa->sa_family;
	out->prefix = (uint8_t)(ip_addr_len(out->family) * 8);
	return 0;
}

void ip_addr_unmap(struct ip_addr *a)
{
	if (a->family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->v6))
		return;
	struct ip_addr v4 = { .family = AF_INET, .prefix = 32 };
	memcpy(v4.b, a->b + 12, 4);
	*a = v4;
}

socklen_t ip_addr_to_sockaddr(const struct ip_addr *a, uint16_t port, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (a->family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)out;
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		v4->sin_addr = a->v4;
		return sizeof(*v4);
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		v6->sin6_addr = a->v6;
		return sizeof(*v6);
	}
	return 0;
}

uint32_t inet_sum(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t inet_csum(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
