/* The CLI side of the control socket (`buoy status|drain|enable|reload`) and `buoy manifest`. */
#ifndef BUOY_CTL_CLIENT_H
#define BUOY_CTL_CLIENT_H
#include <stdbool.h>

#include "config/config.h"
#include "core/strbuf.h"

#define CTL_DEFAULT_SOCKET BUOY_DEFAULT_CONTROL_SOCKET /* no config file to read it from */

/* true for the commands ctl_cli() runs. */
bool ctl_cli_command(const char *cmd);
/* argc/argv as main() got them (argv[1] == cmd). Returns the process exit code:
 * 0 ok, 1 the daemon answered with an error or could not be reached, 2 usage. */
int ctl_cli(const char *cmd, int argc, char **argv);

/* One request to the socket at path; the response body (after the ok/error line) goes to body.
 * Returns 0 for "ok", 1 for "error", -1 when the socket cannot be used (message in body). */
int ctl_request(const char *path, const char *line, int timeout_ms, struct strbuf *body);

/* `buoy manifest`: static Pod YAML for /etc/kubernetes/manifests, and the systemd unit. */
struct pod_options {
	const char *config_path; /* absolute, on the host */
	const char *image;
	const char *socket_dir; /* the control socket's directory, shared with the host */
	bool with_scripts;      /* adds SETUID/SETGID: track scripts/notify run as script_user */
	bool with_fast_path;    /* adds BPF: fast_path auto/sockmap loads its program at start */
	const char *probe_host; /* metrics address for the liveness probe; NULL = any */
	unsigned probe_port;    /* 0 = no liveness probe (metrics off) */
	/* Files the config names (CA, client certificate and key, sync key): the image has none
	 * of them, so each is mounted read-only at its own path. Absolute, no duplicates. */
	const char *const *files;
	size_t n_files;
};
void manifest_static_pod(struct strbuf *out, const struct pod_options *o);
/* The unit of packaging/buoy.service; config_path / bin_path replace /etc/buoy/buoy.yaml and
 * /usr/local/sbin/buoy when not NULL. */
void manifest_systemd(struct strbuf *out, const char *config_path, const char *bin_path);

#endif
