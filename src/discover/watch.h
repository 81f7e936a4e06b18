/* Private to src/discover: one watcher (watch.c: connection, HTTP, TLS; discover.c: module). */
#ifndef BUOY_DISCOVER_WATCH_H
#define BUOY_DISCOVER_WATCH_H
#include <openssl/ssl.h>

#include "discover/discover.h"
#include "discover/kubeconfig.h"
#include "discover/merge.h"
#include "discover/stream.h"

enum dw_state { DW_IDLE, DW_BACKOFF, DW_CONNECTING, DW_TLS, DW_SEND, DW_HEAD, DW_BODY, DW_STREAM };

#define DW_BODY_MAX (8u << 20) /* a LIST answer; kubernetes' own is a few KB */
#define DW_LINE_MAX (1u << 20) /* one watch event */

struct dwatch {
	struct discover *d;
	struct loop *loop;
	char *backend;
	struct cfg_discover cfg;       /* copy; strings point into the config discover holds */
	struct cfg_addr *statics;      /* the static primaries: where the API is reached first */
	size_t n_statics, next_static; /* next_static turns over statics, then applied */
	struct cfg_addr via;           /* where the current attempt goes */
	struct cfg_server *backups;    /* static backup servers, kept beside the discovered ones */
	size_t n_backups;

	/* connection */
	enum dw_state state;
	bool watching; /* this request is the WATCH (else LIST / member-list) */
	enum kube_kind kind;
	struct io io;
	SSL_CTX *ctx;
	SSL *ssl;
	struct timer deadline, retry;
	uint64_t backoff_ms;
	char host[KC_SERVER_LEN]; /* kubeconfig server host: SNI and certificate name */
	unsigned port;
	char *token;
	char req[12288]; /* bound service-account tokens are 1-2 KB; room for more */
	size_t req_len, req_off;
	char *buf; /* head, then a LIST body */
	size_t len, cap;
	struct http_head head;
	bool head_done;
	struct chunked ck;
	struct ndjson nd;

	/* what it knows */
	struct disc_view view;
	struct disc_set applied;
	bool have_applied;
	bool empty_kept; /* the API's current answer is empty: not applied (status says so) */
	uint64_t last_update_unix_ms;
	char last_error[200];
	uint64_t events_total, applies_total, errors_total, relists_total;
};

/* An endpoint as a server address ("ip:port", "[ip6]:port"). discover.c */
void dw_ep_addr(const struct kube_ep *e, struct cfg_addr *out);

/* watch.c */
void dw_init(struct dwatch *w, struct discover *d, struct loop *l); /* after cfg is set */
void dw_free_conn(struct dwatch *w);
void dw_begin(struct dwatch *w); /* connect and send the next request now */
void dw_close(struct dwatch *w); /* drop the connection, no timers left */
void dw_fail(struct dwatch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* discover.c: a complete LIST/member-list body, one watch line */
int dw_on_body(struct dwatch *w, const char *body, size_t len);
int dw_on_line(const char *line, size_t len, void *arg);
void dw_on_success(struct dwatch *w);

#endif
