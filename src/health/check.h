/* Active health checks: the shell around health/parse.c and health/state.c.
 *
 * Every server of every backend whose health.type is not `none` gets one check object with its
 * own timer on the main loop. A check is a non-blocking state machine:
 *   connect ─► [TLS handshake] ─► [send GET, read the status line] ─► result
 * and `timeout` bounds the whole of it. Results feed the rise/fall machine in the server's
 * `health` (proxy/pool.h, main-thread owned); its `up` is mirrored into the atomic `active_up`
 * that workers read. Every transition is logged once with the reason. The settings are the
 * backend's cfg_health as config built it (defaults applied, path and host checked there):
 * nothing here fills in or re-checks a value; hand-built ones start from cfg_health_defaults().
 *
 * Types: tcp (connect succeeds), tls (plus a TLS handshake), http / https (plus
 * `GET <path> HTTP/1.1`, Host <host>, Connection: close; the status must be in expect_status).
 * TLS: one SSL_CTX per backend, built once at start; SNI = health.host when it is a name;
 * verify (default off, like kubeadm's `verify none`) checks the chain against ca_file (or the
 * system store) and the name (health.host) or IP (the server address); cert_file/key_file give a
 * client certificate (etcd, apiservers without anonymous auth).
 */
#ifndef BUOY_HEALTH_CHECK_H
#define BUOY_HEALTH_CHECK_H
#include <stdbool.h>
#include <stddef.h>

#include "core/loop.h"
#include "proxy/pool.h"

struct health;

/* Starts checking every server of every backend with health checks, on loop l (the main
 * thread's). First checks are spread over one interval. Returns NULL (after logging why) when a
 * backend's TLS setup fails (unreadable ca/cert/key file) or a check request cannot be built. A
 * pool without any health-checked backend gives a valid, idle object. OpenSSL writes with
 * write(): the caller ignores SIGPIPE, as the daemon does. */
struct health *health_start(struct loop *l, struct pool *p);
/* Stops all checks, closes their sockets, frees everything. Server states stay as they are. */
void health_stop(struct health *h);

/* Main thread: the backend has active checks and none of its servers passes them. Buoy keeps
 * checking and (fail open) the data plane keeps trying them; VRRP tracking reads this. */
bool health_backend_all_down(const struct backend *b);
/* Main thread: servers of the backend the active checks call up. */
size_t health_backend_up_count(const struct backend *b);

#endif
