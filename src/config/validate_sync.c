/* The sync: section: connection sync between load balancers and tickle ACKs on takeover
 * (src/sync/). Conversion, defaults (defaults.c), the peers derived from VRRP's unicast_peers,
 * and the shared key. Pure but for one read: the key file is read here, at load, so a missing
 * or short key refuses the load (and a reload) with the key's position. */
#include "config/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYNC_KEY_MIN 16
#define SYNC_KEY_MAX 4096
#define MAX_SYNC_PEERS 64
/* The wire's node name rule, the same as sync_node_valid() in sync/msg.h (config sits below
 * the engines and may not include it): 1..63 printable non-space ASCII bytes. */
#define SYNC_NODE_MAX 63

static bool sync_node_ok(const char *node)
{
	size_t len = node ? strnlen(node, SYNC_NODE_MAX + 1) : 0;
	if (len < 1 || len > SYNC_NODE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)node[i] <= 0x20 || (unsigned char)node[i] >= 0x7f)
			return false;
	return true;
}

/* The file's bytes, one trailing "\n" or "\r\n" removed; SYNC_KEY_MIN..SYNC_KEY_MAX remain. */
static void read_key(struct cfg_diag *d, struct cfg_sync *s)
{
	uint8_t buf[SYNC_KEY_MAX + 3]; /* + "\r\n" + one byte to see that it is too long */
	int fd = open(s->key_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		cfg_err(d, "sync", "key_file", "cannot read %s: %s", s->key_file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_err(d, "sync", "key_file", "%s is not a regular file", s->key_file);
		close(fd);
		return;
	}
	size_t len = 0;
	ssize_t got = 1;
	while (len < sizeof(buf) && got > 0) {
		got = read(fd, buf + len, sizeof(buf) - len);
		if (got < 0 && errno == EINTR)
			got = 1;
		else if (got > 0)
			len += (size_t)got;
	}
	int err = errno;
	close(fd);
	if (got < 0) {
		cfg_err(d, "sync", "key_file", "cannot read %s: %s", s->key_file, strerror(err));
		explicit_bzero(buf, sizeof(buf));
		return;
	}
	if (len && buf[len - 1] == '\n')
		len -= len > 1 && buf[len - 2] == '\r' ? 2 : 1;
	if (len < SYNC_KEY_MIN || len > SYNC_KEY_MAX) {
		cfg_err(d, "sync", "key_file",
			"the key in %s is %s (%d..%d bytes without the trailing newline; make one "
			"with: openssl rand -base64 32 > %s)",
			s->key_file, len < SYNC_KEY_MIN ? "too short" : "too long", SYNC_KEY_MIN,
			SYNC_KEY_MAX, s->key_file);
	} else if ((s->key = malloc(len))) {
		memcpy(s->key, buf, len);
		s->key_len = len;
	}
	explicit_bzero(buf, sizeof(buf));
}

static bool has_peer(const struct ip_addr *v, size_t n, const struct ip_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (ip_addr_equal(&v[i], a))
			return true;
	return false;
}

/* Every vrrp instance's unicast_peers, deduplicated, in config order. */
static void peers_from_vrrp(struct cfg_diag *d, const struct config *c, struct cfg_sync *s)
{
	size_t total = 0;
	for (size_t i = 0; i < c->n_vrrp; i++)
		total += c->vrrp[i].n_unicast_peers;
	s->peers_from_vrrp = true;
	if (!total || !(s->peers = calloc(total, sizeof(*s->peers))))
		return;
	for (size_t i = 0; i < c->n_vrrp; i++)
		for (size_t j = 0; j < c->vrrp[i].n_unicast_peers; j++) {
			const struct ip_addr *a = &c->vrrp[i].unicast_peers[j];
			if (a->family && !has_peer(s->peers, s->n_peers, a))
				s->peers[s->n_peers++] = *a;
		}
	if (s->n_peers > MAX_SYNC_PEERS)
		cfg_err(d, "sync", NULL,
			"at most %d peers (from the vrrp instances' unicast_peers)", MAX_SYNC_PEERS);
}

static void build_peers(
	const struct raw_sync *r, struct cfg_diag *d, const struct config *c, struct cfg_sync *s)
{
	if (!r->peers) {
		peers_from_vrrp(d, c, s);
		if (!s->n_peers)
			cfg_err(d, "sync", "peers",
				"required when no vrrp instance has unicast_peers (multicast sync is "
				"not supported yet)");
		return;
	}
	if (!r->peers_count) {
		cfg_err(d, "sync", "peers",
			"must not be empty (omit it to use the vrrp instances' unicast_peers)");
		return;
	}
	s->peers = cfg_list_new(
		d, "sync", "peers", r->peers_count, MAX_SYNC_PEERS, "peers", sizeof(*s->peers), NULL);
	for (size_t i = 0; s->peers && i < r->peers_count; i++) {
		char key[32], text[IP_ADDR_STRLEN];
		struct ip_addr a;
		snprintf(key, sizeof(key), "peers[%zu]", i);
		if (parse_ip_addr(r->peers[i], &a) < 0) {
			cfg_err(d, "sync", key, "invalid IP address \"%s\"", r->peers[i]);
			continue;
		}
		ip_addr_format(&a, IP_FMT_ADDR, text, sizeof(text));
		bool mcast = a.family == AF_INET ? (ntohl(a.v4.s_addr) >> 28) == 14
						 : IN6_IS_ADDR_MULTICAST(&a.v6);
		if (ip_addr_is_any(&a) || mcast)
			cfg_err(d, "sync", key, "%s is %s", text,
				mcast ? "a multicast address (multicast sync is not supported yet)"
				      : "the unspecified address");
		else if (has_peer(s->peers, s->n_peers, &a))
			cfg_err(d, "sync", key, "duplicate peer %s", text);
		else
			s->peers[s->n_peers++] = a;
	}
}

static void check_families(const struct raw_sync *r, struct cfg_diag *d, struct cfg_sync *s)
{
	if (!s->source.family)
		return;
	for (size_t i = 0; i < s->n_peers; i++) {
		if (s->peers[i].family == s->source.family)
			continue;
		char p[IP_ADDR_STRLEN], src[IP_ADDR_STRLEN], key[32];
		ip_addr_format(&s->peers[i], IP_FMT_ADDR, p, sizeof(p));
		ip_addr_format(&s->source, IP_FMT_ADDR, src, sizeof(src));
		snprintf(key, sizeof(key), "peers[%zu]", i);
		/* a derived peer has no position of its own: report it at source */
		cfg_err(d, "sync", r->peers ? key : "source",
			"peer %s is not of the family of source %s%s", p, src,
			r->peers ? "" : " (peers from the vrrp instances' unicast_peers)");
	}
}

void cfg_build_sync(const struct raw_config *raw, struct cfg_diag *d, struct config *c)
{
	const struct raw_sync *r = raw->sync;
	if (!r)
		return;
	struct cfg_sync *s = c->sync = malloc(sizeof(*s));
	if (!s)
		return;
	cfg_sync_defaults(s);
	uint64_t u;
	if (c->node && !sync_node_ok(c->node))
		cfg_err(d, raw->node ? "" : "sync", raw->node ? "node" : NULL,
			"node name \"%s\" cannot be sent to sync peers: it must be 1..%d printable "
			"ASCII characters without spaces%s",
			c->node, SYNC_NODE_MAX, raw->node ? "" : " (the hostname; set node:)");
	if (cv_str(d, "sync", "key_file", r->key_file, true, NULL, &s->key_file))
		read_key(d, s);
	cv_uint(d, "sync", "port", r->port, 1, 65535, s->port, &u);
	s->port = (uint16_t)u;
	if (r->source && parse_ip_addr(r->source, &s->source) < 0) {
		cfg_err(d, "sync", "source", "invalid IP address \"%s\"", r->source);
		memset(&s->source, 0, sizeof(s->source));
	}
	cv_duration(d, "sync", "interval", r->interval, 10, 10000, s->interval_ms, &s->interval_ms);
	cv_duration(d, "sync", "refresh", r->refresh, 1000, 3600000, s->refresh_ms, &s->refresh_ms);
	if (s->refresh_ms <= s->interval_ms)
		cfg_err(d, "sync", r->refresh ? "refresh" : "interval",
			"refresh (%llums) must be longer than interval (%llums)",
			(unsigned long long)s->refresh_ms, (unsigned long long)s->interval_ms);
	cv_uint(d, "sync", "max_entries", r->max_entries, 1, 10000000, s->max_entries, &u);
	s->max_entries = (uint32_t)u;
	cv_uint(d, "sync", "tickle_rate", r->tickle_rate, 1, 1000000, s->tickle_rate, &u);
	s->tickle_rate = (uint32_t)u;
	cv_duration(d, "sync", "peer_timeout", r->peer_timeout, 100, 60000, s->peer_timeout_ms,
		    &s->peer_timeout_ms);
	if (!r->peer_timeout && s->peer_timeout_ms < 4 * s->interval_ms)
		s->peer_timeout_ms = 4 * s->interval_ms; /* a long interval stretches the default */
	if (s->peer_timeout_ms < 3 * s->interval_ms)     /* heartbeats go from the batch timer */
		cfg_err(d, "sync", "peer_timeout",
			"peer_timeout (%llums) must be at least 3 x interval (%llums)",
			(unsigned long long)s->peer_timeout_ms, (unsigned long long)s->interval_ms);
	build_peers(r, d, c, s);
	check_families(r, d, s);
}

void cfg_free_sync(struct cfg_sync *s)
{
	if (!s)
		return;
	if (s->key)
		explicit_bzero(s->key, s->key_len);
	free(s->key);
	free(s->key_file);
	free(s->peers);
	free(s);
}
