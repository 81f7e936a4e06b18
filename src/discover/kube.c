/* Kubernetes and etcd JSON decoding (see kube.h). json-c: Debian's, small, reads a counted
 * buffer (json_tokener_parse_ex) and bounds nesting depth, which matters for untrusted input. */
#include "discover/kube.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_DEPTH 32 /* Kubernetes objects nest ~6 deep */

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The whole buffer as one JSON value; NULL (and err) on a syntax error or trailing bytes. */
static json_object *parse(const char *buf, size_t len, char *err, size_t errlen)
{
	if (len > INT32_MAX) {
		fail(err, errlen, "JSON document too large");
		return NULL;
	}
	json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || e != json_tokener_success) {
		json_object_put(o);
		fail(err, errlen, "bad JSON: %s",
		     e == json_tokener_continue ? "truncated" : json_tokener_error_desc(e));
		return NULL;
	}
	for (; used < len; used++)
		if (!strchr(" \t\r\n", buf[used])) {
			json_object_put(o);
			fail(err, errlen, "bad JSON: trailing bytes after the value");
			return NULL;
		}
	return o;
}

static json_object *get(json_object *o, const char *key, json_type want)
{
	json_object *v;
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_is_type(v, want) ? v : NULL;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key, json_type_string);
	return v ? json_object_get_string(v) : NULL;
}

/* A boolean field: 1, 0, or dflt when absent or null; -1 when some other type. */
static int get_bool(json_object *o, const char *key, int dflt)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return dflt;
	return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : -1;
}

static const char *get_str_idx(json_object *arr, size_t i)
{
	json_object *v = json_object_array_get_idx(arr, i);
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int copy_str(char *dst, size_t cap, const char *src, const char *what, char *err, size_t errlen)
{
	if (!src) {
		dst[0] = 0;
		return 0;
	}
	size_t n = strlen(src);
	if (n >= cap)
		return fail(err, errlen, "%s longer than %zu bytes", what, cap - 1);
	memcpy(dst, src, n + 1);
	return 0;
}

static int meta(json_object *o, struct kube_obj *out, char *err, size_t errlen)
{
	json_object *m = get(o, "metadata", json_type_object);
	if (copy_str(out->name, sizeof(out->name), get_str(m, "name"), "metadata.name", err, errlen) ||
	    copy_str(out->rv, sizeof(out->rv), get_str(m, "resourceVersion"),
		     "metadata.resourceVersion", err, errlen))
		return -1;
	return 0;
}

/* The port of a ports[] array: TCP named "https", else the only TCP one; 0 if none. */
static uint16_t pick_port(json_object *ports)
{
	size_t n = ports ? json_object_array_length(ports) : 0, tcp = 0;
	uint16_t only = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(ports, i);
		const char *proto = get_str(p, "protocol");
		json_object *num = get(p, "port", json_type_int);
		if ((proto && strcmp(proto, "TCP")) || !num)
			continue;
		int64_t v = json_object_get_int64(num);
		if (v < 1 || v > 65535)
			continue;
		const char *name = get_str(p, "name");
		if (name && !strcmp(name, "https"))
			return (uint16_t)v;
		tcp++;
		only = (uint16_t)v;
	}
	return tcp == 1 ? only : 0;
}

/* pick_port of a slice's or subset's ports, or an error naming the object. */
static int need_port(json_object *parent, struct kube_obj *out, uint16_t *port, char *err, size_t errlen)
{
	*port = pick_port(get(parent, "ports", json_type_array));
	if (*port)
		return 0;
	return fail(err, errlen, "%s: no port named https and not exactly one TCP port", out->name);
}

static int add_ep(struct kube_obj *out, const char *ip, uint16_t port, char *err, size_t errlen)
{
	struct kube_ep ep = { .port = port };
	if (!ip || ip_addr_parse(ip, &ep.ip) || strchr(ip, '/'))
		return fail(err, errlen, "%s: bad address \"%.64s\"", out->name, ip ? ip : "(none)");
	for (size_t i = 0; i < out->n; i++)
		if (ip_addr_equal(&out->eps[i].ip, &ep.ip) && out->eps[i].port == port)
			return 0;
	if (out->n == KUBE_MAX_EPS)
		return fail(err, errlen, "%s: more than %d endpoints", out->name, KUBE_MAX_EPS);
	out->eps[out->n++] = ep;
	return 0;
}

static int decode_slice(json_object *o, struct kube_obj *out, char *err, size_t errlen)
{
	const char *type = get_str(o, "addressType");
	if (type && strcmp(type, "IPv4") && strcmp(type, "IPv6"))
		return 0; /* FQDN: nothing buoy can dial */
	json_object *eps = get(o, "endpoints", json_type_array);
	size_t n = eps ? json_object_array_length(eps) : 0;
	if (!n)
		return 0;
	uint16_t port;
	if (need_port(o, out, &port, err, errlen))
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(eps, i);
		json_object *cond = get(e, "conditions", json_type_object);
		int ready = cond ? get_bool(cond, "ready", 1) : 1;
		int term = cond ? get_bool(cond, "terminating", 0) : 0;
		if (ready < 0 || term < 0)
			return fail(err, errlen, "%s: conditions not boolean", out->name);
		if (!ready || term)
			continue;
		json_object *addrs = get(e, "addresses", json_type_array);
		size_t na = addrs ? json_object_array_length(addrs) : 0;
		/* all addresses of an endpoint are one pod; the API says use the first */
		if (na && add_ep(out, get_str_idx(addrs, 0), port, err, errlen))
			return -1;
	}
	return 0;
}

static int decode_endpoints(json_object *o, struct kube_obj *out, char *err, size_t errlen)
{
	json_object *subsets = get(o, "subsets", json_type_array);
	size_t n = subsets ? json_object_array_length(subsets) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(subsets, i);
		json_object *addrs = get(s, "addresses", json_type_array);
		size_t na = addrs ? json_object_array_length(addrs) : 0;
		if (!na)
			continue;
		uint16_t port;
		if (need_port(s, out, &port, err, errlen))
			return -1;
		for (size_t k = 0; k < na; k++)
			if (add_ep(out, get_str(json_object_array_get_idx(addrs, k), "ip"), port,
				   err, errlen))
				return -1;
	}
	return 0;
}

static int decode_obj(json_object *o, enum kube_kind kind, struct kube_obj *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *want = kind == KUBE_ENDPOINTSLICE ? "EndpointSlice" : "Endpoints";
	const char *k = get_str(o, "kind");
	if (!json_object_is_type(o, json_type_object))
		return fail(err, errlen, "object is not a JSON object");
	if (k && strcmp(k, want)) /* items of a List may omit kind */
		return fail(err, errlen, "kind %.40s, expected %s", k, want);
	if (meta(o, out, err, errlen))
		return -1;
	if (!out->name[0])
		return fail(err, errlen, "%s without metadata.name", want);
	return kind == KUBE_ENDPOINTSLICE
		       ? decode_slice(o, out, err, errlen)
		       : decode_endpoints(o, out, err, errlen);
}

int kube_decode_list(const char *buf, size_t len, enum kube_kind kind, struct kube_list *out,
		     char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_object *root = parse(buf, len, err, errlen);
	if (!root)
		return -1;
	int rc = -1;
	const char *want = kind == KUBE_ENDPOINTSLICE ? "EndpointSliceList" : "EndpointsList";
	const char *k = get_str(root, "kind");
	json_object *items = get(root, "items", json_type_array);
	json_object *m = get(root, "metadata", json_type_object);
	if (k && !strcmp(k, "Status")) {
		fail(err, errlen, "API error: %.100s", get_str(root, "message") ?: "(no message)");
		goto out;
	}
	if (!k || strcmp(k, want) || !items) {
		fail(err, errlen, "not an %s", want);
		goto out;
	}
	if (copy_str(out->rv, sizeof(out->rv), get_str(m, "resourceVersion"),
		     "metadata.resourceVersion", err, errlen))
		goto out;
	if (!out->rv[0]) {
		fail(err, errlen, "%s without metadata.resourceVersion", want);
		goto out;
	}
	size_t n = json_object_array_length(items);
	if (n > KUBE_MAX_ITEMS) {
		fail(err, errlen, "%zu items, at most %d", n, KUBE_MAX_ITEMS);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (decode_obj(json_object_array_get_idx(items, i), kind, &out->items[i], err, errlen))
			goto out;
	out->n = n;
	rc = 0;
out:
	json_object_put(root);
	return rc;
}

static const char *const ev_names[] = { "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR" };

const char *kube_ev_name(enum kube_ev_type t)
{
	return (unsigned)t < sizeof(ev_names) / sizeof(ev_names[0]) ? ev_names[t] : "?";
}

static int decode_status(json_object *o, struct kube_event *out)
{
	json_object *code = get(o, "code", json_type_int);
	int64_t c = code ? json_object_get_int64(code) : 0;
	out->code = c >= 0 && c <= 999 ? (int)c : 0;
	const char *msg = get_str(o, "message");
	snprintf(out->message, sizeof(out->message), "%s", msg ? msg : "");
	return 0;
}

int kube_decode_event(const char *buf, size_t len, enum kube_kind kind, struct kube_event *out,
		      char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_object *root = parse(buf, len, err, errlen);
	if (!root)
		return -1;
	int rc = -1;
	const char *type = get_str(root, "type");
	json_object *obj = get(root, "object", json_type_object);
	size_t t = 0;
	while (type && t < sizeof(ev_names) / sizeof(ev_names[0]) && strcmp(type, ev_names[t]))
		t++;
	if (!type || t == sizeof(ev_names) / sizeof(ev_names[0]) || !obj) {
		fail(err, errlen, "not a watch event");
		goto out;
	}
	out->type = (enum kube_ev_type)t;
	if (out->type == KUBE_EV_ERROR)
		rc = decode_status(obj, out);
	else if (out->type == KUBE_EV_BOOKMARK) {
		/* a bookmark's object is a shell: its kind and resourceVersion only */
		rc = meta(obj, &out->obj, err, errlen);
		if (!rc && !out->obj.rv[0])
			rc = fail(err, errlen, "BOOKMARK without resourceVersion");
	} else
		rc = decode_obj(obj, kind, &out->obj, err, errlen);
out:
	json_object_put(root);
	return rc;
}

int etcd_parse_url(const char *url, struct kube_ep *out)
{
	const char *h = strstr(url, "://");
	if (!h)
		return -1;
	h += 3;
	char host[IP_ADDR_STRLEN];
	const char *end, *colon;
	if (*h == '[') {
		end = strchr(++h, ']');
		if (!end || end[1] != ':')
			return -1;
		colon = end + 1;
	} else {
		colon = strrchr(h, ':');
		end = colon;
		if (!colon || memchr(h, ':', (size_t)(colon - h)))
			return -1;
	}
	size_t hl = (size_t)(end - h);
	if (!hl || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	char *stop;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &stop, 10);
	if (stop == colon + 1 || (*stop && *stop != '/') || errno || port < 1 || port > 65535 ||
	    colon[1] == '+' || colon[1] == '-' || colon[1] == ' ')
		return -1;
	memset(out, 0, sizeof(*out));
	if (strchr(host, '/') || ip_addr_parse(host, &out->ip))
		return -1;
	out->port = (uint16_t)port;
	return 0;
}

int etcd_decode_members(const char *buf, size_t len, struct etcd_members *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_object *root = parse(buf, len, err, errlen);
	if (!root)
		return -1;
	int rc = -1;
	json_object *members = get(root, "members", json_type_array);
	size_t n = members ? json_object_array_length(members) : 0;
	if (!members) {
		fail(err, errlen, "no members in the answer%s%.100s",
		     get_str(root, "message") ? ": " : "", get_str(root, "message") ?: "");
		goto out;
	}
	if (n > ETCD_MAX_MEMBERS) {
		fail(err, errlen, "%zu members, at most %d", n, ETCD_MAX_MEMBERS);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(members, i);
		if (get_bool(m, "isLearner", 0) == 1)
			continue;
		json_object *urls = get(m, "clientURLs", json_type_array);
		size_t nu = urls ? json_object_array_length(urls) : 0;
		for (size_t k = 0; k < nu; k++) {
			struct kube_ep ep;
			const char *u = get_str_idx(urls, k);
			if (!u || etcd_parse_url(u, &ep)) {
				fail(err, errlen, "bad client URL \"%.80s\"", u ? u : "(not a string)");
				goto out;
			}
			size_t j = 0;
			while (j < out->n &&
			       !(ip_addr_equal(&out->eps[j].ip, &ep.ip) && out->eps[j].port == ep.port))
				j++;
			if (j == out->n && out->n < sizeof(out->eps) / sizeof(out->eps[0]))
				out->eps[out->n++] = ep;
		}
	}
	rc = 0;
out:
	json_object_put(root);
	return rc;
}
