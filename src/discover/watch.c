/* One watcher's connection: pick a static server, TCP connect, TLS (credentials from the
 * kubeconfig or the etcd files), one HTTP/1.1 request, the response head, then either a whole
 * body (LIST, member-list) or the chunked NDJSON stream of a WATCH. Non-blocking, on the main
 * loop; every step under a deadline (timeout), the stream under the stall timeout. */
#include "discover/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/log.h"
#include "core/version.h"
#include "health/tls.h"

#define BACKOFF_MAX_MS 30000
#define WATCH_SECONDS 300 /* the server ends a watch after this; buoy re-watches from its rv */

static void dw_io(struct loop *l, struct io *io, uint32_t ev);

static const char *const slices_path =
	"/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
	"?labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes";
static const char *const endpoints_path =
	"/api/v1/namespaces/default/endpoints?fieldSelector=metadata.name%3Dkubernetes";

void dw_close(struct dwatch *w)
{
	if (w->ssl) {
		SSL_free(w->ssl);
		w->ssl = NULL;
	}
	if (w->io.fd >= 0) {
		loop_del(w->loop, &w->io);
		close(w->io.fd);
		w->io.fd = -1;
	}
	timer_cancel(w->loop, &w->deadline);
	timer_cancel(w->loop, &w->retry);
	w->len = 0;
	w->head_done = false;
	ndjson_reset(&w->nd);
	w->state = DW_IDLE;
}

void dw_fail(struct dwatch *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->last_error, sizeof(w->last_error), fmt, ap);
	va_end(ap);
	w->errors_total++;
	log_warn("discovery failed, last good list kept",
		 "backend=%s via=%s reason=\"%s\" retry_ms=%llu", w->backend,
		 w->via.len ? w->via.text : "-", w->last_error, (unsigned long long)w->backoff_ms);
	dw_close(w);
	SSL_CTX_free(w->ctx); /* the next attempt reads the credentials again: a fix is picked up */
	w->ctx = NULL;
	w->state = DW_BACKOFF;
	timer_arm_in(w->loop, &w->retry, w->backoff_ms);
	w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
}

void dw_on_success(struct dwatch *w)
{
	w->backoff_ms = w->cfg.retry_ms;
	w->last_error[0] = 0;
}

static void on_deadline(struct loop *l, struct timer *t)
{
	(void)l;
	struct dwatch *w = t->arg;
	if (w->state == DW_STREAM)
		dw_fail(w, "watch stalled: no bytes for %llu ms", (unsigned long long)w->cfg.stall_ms);
	else
		dw_fail(w, "timeout after %llu ms", (unsigned long long)w->cfg.timeout_ms);
}

static void on_retry(struct loop *l, struct timer *t)
{
	(void)l;
	dw_begin(t->arg);
}

/* ---- credentials ---- */

static int read_file(const char *path, char **out, size_t *len, size_t max)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char *b = malloc(max + 1);
	size_t n = b ? fread(b, 1, max + 1, f) : 0;
	fclose(f);
	if (!b || n > max) {
		free(b);
		errno = EFBIG;
		return -1;
	}
	b[n] = 0;
	*out = b;
	*len = n;
	return 0;
}

static int ctx_pem(SSL_CTX *ctx, const struct kc_blob *b, int what)
{
	if (!b->data && !b->path[0])
		return 0;
	if (b->path[0])
		return what == 0   ? SSL_CTX_load_verify_locations(ctx, b->path, NULL) == 1 ? 0 : -1
		       : what == 1 ? SSL_CTX_use_certificate_chain_file(ctx, b->path) == 1 ? 0 : -1
		       : SSL_CTX_use_PrivateKey_file(ctx, b->path, SSL_FILETYPE_PEM) == 1
			       ? 0
			       : -1;
	BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
	int rc = -1;
	if (what == 0) {
		X509 *x;
		X509_STORE *st = SSL_CTX_get_cert_store(ctx);
		int n = 0;
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			n += X509_STORE_add_cert(st, x) == 1;
			X509_free(x);
		}
		ERR_clear_error(); /* the end of the PEM data */
		rc = n ? 0 : -1;
	} else if (what == 1) {
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		rc = x && SSL_CTX_use_certificate(ctx, x) == 1 ? 0 : -1;
		X509_free(x);
	} else {
		EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		rc = k && SSL_CTX_use_PrivateKey(ctx, k) == 1 ? 0 : -1;
		EVP_PKEY_free(k);
	}
	BIO_free(bio);
	return rc;
}

/* Reads the kubeconfig again and builds the TLS context and the token. */
static int load_kubeconfig(struct dwatch *w, SSL_CTX *ctx)
{
	char *text, err[256], dir[KC_PATH_LEN];
	size_t len;
	if (read_file(w->cfg.kubeconfig, &text, &len, 1u << 20) < 0) {
		dw_fail(w, "kubeconfig %s: %s", w->cfg.kubeconfig, strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", w->cfg.kubeconfig);
	struct kubeconfig kc;
	int rc = kubeconfig_parse(text, len, dirname(dir), w->cfg.context, &kc, err, sizeof(err));
	free(text);
	if (rc < 0) {
		dw_fail(w, "kubeconfig %s:%s", w->cfg.kubeconfig, err);
		return -1;
	}
	const char *bad =
		ctx_pem(ctx, &kc.ca, 0)     ? "certificate-authority"
		: ctx_pem(ctx, &kc.cert, 1) ? "client-certificate"
		: ctx_pem(ctx, &kc.key, 2)
			? "client-key"
			: NULL;
	if (!bad && kc.token.data)
		w->token = strdup(kc.token.data);
	else if (!bad && kc.token.path[0] && read_file(kc.token.path, &w->token, &len, 65536) == 0)
		w->token[strcspn(w->token, "\r\n")] = 0;
	else if (!bad && kc.token.path[0])
		bad = "tokenFile";
	SSL_CTX_set_verify(ctx, kc.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	if (!bad && !kc.insecure && !kc.ca.data && !kc.ca.path[0])
		SSL_CTX_set_default_verify_paths(ctx);
	kubeconfig_server_split(kc.server, w->host, sizeof(w->host), &w->port);
	kubeconfig_free(&kc);
	if (bad) {
		char why[160];
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		ERR_clear_error();
		dw_fail(w, "kubeconfig %s: %s does not load (%s)", w->cfg.kubeconfig, bad, why);
		return -1;
	}
	return 0;
}

static int load_etcd_files(struct dwatch *w, SSL_CTX *ctx)
{
	struct kc_blob ca = { 0 }, cert = { 0 }, key = { 0 };
	snprintf(ca.path, sizeof(ca.path), "%s", w->cfg.ca_file ? w->cfg.ca_file : "");
	snprintf(cert.path, sizeof(cert.path), "%s", w->cfg.cert_file ? w->cfg.cert_file : "");
	snprintf(key.path, sizeof(key.path), "%s", w->cfg.key_file ? w->cfg.key_file : "");
	SSL_CTX_set_verify(ctx, ca.path[0] ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	const char *bad =
		ctx_pem(ctx, &ca, 0)     ? "ca_file"
		: ctx_pem(ctx, &cert, 1) ? "cert_file"
		: ctx_pem(ctx, &key, 2)  ? "key_file"
					 : NULL;
	w->host[0] = 0; /* the member's certificate must name its IP */
	if (bad) {
		ERR_clear_error();
		dw_fail(w, "etcd %s does not load", bad);
		return -1;
	}
	return 0;
}

/* ---- the request ---- */

static void build_request(struct dwatch *w, const struct cfg_addr *via)
{
	char auth[8192] = "";
	if (w->token && strlen(w->token) < sizeof(auth) - 32)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", w->token);
	const char *host = w->host[0] ? w->host : via->text;
	int n;
	if (w->cfg.kind == DISCOVER_ETCD) {
		n = snprintf(w->req, sizeof(w->req),
			     "POST /v3/cluster/member/list HTTP/1.1\r\nHost: %s\r\n"
			     "User-Agent: buoy/%s\r\nContent-Type: application/json\r\n"
			     "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
			     via->text, buoy_version);
	} else {
		const char *path = w->kind == KUBE_ENDPOINTSLICE ? slices_path : endpoints_path;
		char q[256] = "";
		if (w->watching)
			snprintf(q, sizeof(q),
				 "&watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s",
				 WATCH_SECONDS, w->view.rv);
		n = snprintf(w->req, sizeof(w->req),
			     "GET %s%s HTTP/1.1\r\nHost: %s%s%s:%u\r\nUser-Agent: buoy/%s\r\n"
			     "Accept: application/json\r\n%sConnection: close\r\n\r\n",
			     path, q, strchr(host, ':') && w->host[0] ? "[" : "", host,
			     strchr(host, ':') && w->host[0] ? "]" : "", w->port, buoy_version, auth);
	}
	w->req_len = n > 0 && (size_t)n < sizeof(w->req) ? (size_t)n : 0;
	w->req_off = 0;
	OPENSSL_cleanse(auth, sizeof(auth));
}

/* The next place to reach the API: the static seeds in turn, then the servers discovery last
 * applied, so that a cluster whose seeds were all replaced is still followed. Always directly:
 * never through the VIP this daemon serves. */
static bool next_via(struct dwatch *w)
{
	size_t n_disc = w->have_applied ? w->applied.n : 0;
	if (!w->n_statics && !n_disc)
		return false;
	size_t k = w->next_static++ % (w->n_statics + n_disc);
	if (k < w->n_statics)
		w->via = w->statics[k];
	else
		dw_ep_addr(&w->applied.eps[k - w->n_statics], &w->via);
	return true;
}

void dw_begin(struct dwatch *w)
{
	dw_close(w);
	w->via.len = 0;
	if (!next_via(w)) {
		dw_fail(w, "no static server to reach the API through");
		return;
	}
	if (!w->ctx) {
		free(w->token);
		w->token = NULL;
		SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
		if (!ctx) {
			dw_fail(w, "TLS: out of memory");
			return;
		}
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		if ((w->cfg.kind == DISCOVER_APISERVER ? load_kubeconfig(w, ctx) : load_etcd_files(w, ctx)) <
		    0) {
			SSL_CTX_free(ctx);
			return;
		}
		w->ctx = ctx;
	}
	const struct cfg_addr *via = &w->via;
	if (w->cfg.kind == DISCOVER_ETCD || !w->port)
		w->port = ntohs(((const struct sockaddr_in *)&via->ss)->sin_port);
	build_request(w, via);
	if (!w->req_len || (w->token && strlen(w->token) >= 8192 - 32)) {
		dw_fail(w, "token or request too long");
		return;
	}
	int fd = socket(via->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		dw_fail(w, "socket: %s", strerror(errno));
		return;
	}
	w->io.fd = fd;
	if (connect(fd, (const struct sockaddr *)&via->ss, via->len) < 0 && errno != EINPROGRESS) {
		dw_fail(w, "connect %s: %s", via->text, strerror(errno));
		return;
	}
	char ip[IP_ADDR_STRLEN];
	struct ip_addr a;
	ip_addr_from_sockaddr((const struct sockaddr *)&via->ss, &a);
	ip_addr_format(&a, IP_FMT_ADDR, ip, sizeof(ip));
	w->ssl = health_tls_new(w->ctx, fd, w->host[0] ? w->host : NULL, ip,
				SSL_CTX_get_verify_mode(w->ctx) & SSL_VERIFY_PEER);
	if (!w->ssl || loop_add(w->loop, &w->io, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
		dw_fail(w, "TLS setup failed");
		return;
	}
	w->state = DW_CONNECTING;
	chunked_init(&w->ck);
	timer_arm_in(w->loop, &w->deadline, w->cfg.timeout_ms);
}

/* ---- the response ---- */

static int buf_append(struct dwatch *w, const char *p, size_t n)
{
	if (!n)
		return 0;
	if (w->len + n > DW_BODY_MAX)
		return -1;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 16384;
		while (cap < w->len + n)
			cap *= 2;
		char *b = realloc(w->buf, cap);
		if (!b)
			return -1;
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

/* The head is in: decide what the body is. 0 go on, -1 handled (failed or restarted). */
static int on_head(struct dwatch *w)
{
	unsigned st = w->head.status;
	if (st == 200 && (w->head.chunked || (!w->watching && w->head.content_length >= 0)))
		return 0;
	if (st == 200) {
		dw_fail(w, "HTTP 200 without a body length");
		return -1;
	}
	if (st == 404 && w->cfg.kind == DISCOVER_APISERVER && w->kind == KUBE_ENDPOINTSLICE &&
	    w->cfg.api == DISCOVER_API_AUTO) {
		log_info("discovery: no EndpointSlice API, using Endpoints", "backend=%s", w->backend);
		w->kind = KUBE_ENDPOINTS;
		w->watching = false;
		dw_begin(w);
		return -1;
	}
	if (st == 410 && w->watching) {
		w->relists_total++;
		w->watching = false;
		dw_begin(w);
		return -1;
	}
	dw_fail(w, "HTTP %u%s", st,
		st == 401   ? " Unauthorized (bad token or client certificate)"
		: st == 403 ? " Forbidden (the user may not list/watch this resource)"
			    : "");
	return -1;
}

/* Body bytes (after the head). 0 go on, 1 the body is complete, -1 handled. */
static int on_body_bytes(struct dwatch *w, char *p, size_t n)
{
	if (!w->head.chunked) { /* a LIST with Content-Length */
		size_t want = (size_t)w->head.content_length - w->len;
		if (buf_append(w, p, n < want ? n : want) < 0) {
			dw_fail(w, "response larger than %u bytes", DW_BODY_MAX);
			return -1;
		}
		return w->len == (size_t)w->head.content_length;
	}
	size_t out, used;
	enum chunked_result r = chunked_feed(&w->ck, (uint8_t *)p, n, (uint8_t *)p, &out, &used);
	if (r == CHUNKED_ERROR) {
		dw_fail(w, "bad chunked encoding");
		return -1;
	}
	if (w->watching) {
		int rc = ndjson_feed(&w->nd, p, out, dw_on_line, w);
		if (rc)
			return rc < 0 && w->state == DW_STREAM
				       ? (dw_fail(w, "watch event too long"), -1)
				       : -1;
	} else if (buf_append(w, p, out) < 0) {
		dw_fail(w, "response larger than %u bytes", DW_BODY_MAX);
		return -1;
	}
	return r == CHUNKED_DONE;
}

/* Bytes read from TLS. 0 go on, -1 handled (the watcher may have restarted). */
static int on_bytes(struct dwatch *w, char *p, size_t n)
{
	if (!w->head_done) {
		if (buf_append(w, p, n) < 0)
			return dw_fail(w, "response head too large"), -1;
		long h = http_head_parse(w->buf, w->len, &w->head);
		if (h < 0)
			return dw_fail(w, "bad HTTP response"), -1;
		if (!h)
			return 0;
		w->head_done = true;
		if (on_head(w) < 0)
			return -1;
		size_t rest = w->len - (size_t)h;
		char *tmp = rest ? malloc(rest) : NULL;
		if (rest && !tmp)
			return dw_fail(w, "out of memory"), -1;
		if (rest)
			memcpy(tmp, w->buf + h, rest);
		w->len = 0;
		if (w->watching) {
			dw_on_success(w); /* a watch is up: the API answers again */
			w->state = DW_STREAM;
			timer_arm_in(w->loop, &w->deadline, w->cfg.stall_ms);
		} else
			w->state = DW_BODY;
		int rc = rest ? on_bytes(w, tmp, rest) : 0;
		free(tmp);
		return rc;
	}
	if (w->state == DW_STREAM)
		timer_arm_in(w->loop, &w->deadline, w->cfg.stall_ms);
	int rc = on_body_bytes(w, p, n);
	if (rc <= 0)
		return rc;
	if (w->watching) { /* the server ended the watch (timeoutSeconds): watch on */
		dw_begin(w);
		return -1;
	}
	dw_on_body(w, w->buf, w->len);
	return -1;
}

static int tls_error(struct dwatch *w, int ret, const char *stage)
{
	char why[200];
	health_tls_reason(w->ssl, ret, errno, stage, why, sizeof(why));
	dw_fail(w, "%s", why);
	return -1;
}

/* Handshake, then the request. 0 go on (or wait), -1 handled. */
static int drive_out(struct dwatch *w)
{
	if (w->state == DW_CONNECTING || w->state == DW_TLS) {
		w->state = DW_TLS;
		ERR_clear_error();
		int r = SSL_do_handshake(w->ssl);
		if (r != 1) {
			int e = SSL_get_error(w->ssl, r);
			return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE
				       ? 0
				       : tls_error(w, r, "handshake");
		}
		w->state = DW_SEND;
	}
	while (w->state == DW_SEND && w->req_off < w->req_len) {
		ERR_clear_error();
		int r = SSL_write(w->ssl, w->req + w->req_off, (int)(w->req_len - w->req_off));
		if (r <= 0) {
			int e = SSL_get_error(w->ssl, r);
			return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE
				       ? 0
				       : tls_error(w, r, "write");
		}
		w->req_off += (size_t)r;
	}
	if (w->state == DW_SEND) {
		w->state = DW_HEAD;
		loop_mod(w->loop, &w->io, EPOLLIN | EPOLLRDHUP);
	}
	return 0;
}

static void drive_in(struct dwatch *w)
{
	char buf[16384];
	for (int rounds = 0; rounds < 64; rounds++) { /* bounded: other events get their turn */
		ERR_clear_error();
		int r = SSL_read(w->ssl, buf, sizeof(buf));
		if (r <= 0) {
			int e = SSL_get_error(w->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			if (e == SSL_ERROR_ZERO_RETURN ||
			    (e == SSL_ERROR_SYSCALL && !ERR_peek_error()))
				dw_fail(w, w->state == DW_STREAM ? "watch closed by the server"
								 : "connection closed mid-response");
			else
				tls_error(w, r, "read");
			return;
		}
		if (on_bytes(w, buf, (size_t)r) < 0)
			return;
	}
}

static void dw_io(struct loop *l, struct io *io, uint32_t ev)
{
	(void)l;
	(void)ev;
	struct dwatch *w = io->arg;
	if (w->state == DW_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			dw_fail(w, "connect: %s", strerror(err));
			return;
		}
	}
	if (w->state <= DW_SEND && drive_out(w) < 0)
		return;
	if (w->state >= DW_HEAD || (w->state == DW_TLS && SSL_want_read(w->ssl)))
		drive_in(w);
}

void dw_init(struct dwatch *w, struct discover *d, struct loop *l)
{
	w->d = d;
	w->loop = l;
	w->io.fd = -1;
	w->io.cb = dw_io;
	w->io.arg = w;
	timer_init(&w->deadline, on_deadline, w);
	timer_init(&w->retry, on_retry, w);
	ndjson_init(&w->nd, DW_LINE_MAX);
	w->backoff_ms = w->cfg.retry_ms;
	w->kind = w->cfg.api == DISCOVER_API_ENDPOINTS ? KUBE_ENDPOINTS : KUBE_ENDPOINTSLICE;
}

void dw_free_conn(struct dwatch *w)
{
	dw_close(w);
	SSL_CTX_free(w->ctx);
	w->ctx = NULL;
	if (w->token)
		OPENSSL_cleanse(w->token, strlen(w->token));
	free(w->token);
	w->token = NULL;
	free(w->buf);
	w->buf = NULL;
	w->cap = 0;
	ndjson_free(&w->nd);
}
