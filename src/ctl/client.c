#include "core/version.h"
#include "ctl/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"

#define CTL_CLIENT_TIMEOUT_MS 30000 /* a reload may take a moment */
#define CTL_MAX_RESPONSE (64u << 20)

static const char *const cli_commands[] = { "status", "drain", "enable", "reload", "manifest" };

bool ctl_cli_command(const char *cmd)
{
	for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++)
		if (strcmp(cmd, cli_commands[i]) == 0)
			return true;
	return false;
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;
	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? 0 : -1;
}

static int read_all(int fd, int timeout_ms, struct strbuf *resp)
{
	char buf[16384];
	for (;;) {
		if (wait_fd(fd, POLLIN, timeout_ms) < 0)
			return -1;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		sb_putn(resp, buf, (size_t)n);
		if (resp->oom || resp->len > CTL_MAX_RESPONSE) {
			errno = EMSGSIZE;
			return -1;
		}
	}
}

int ctl_request(const char *path, const char *line, int timeout_ms, struct strbuf *body)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		sb_printf(body, "control socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		sb_printf(body,
			  "cannot connect to control socket %s: %s (is buoy running? "
			  "use -c FILE or --socket PATH)\n",
			  path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct strbuf resp = { 0 };
	size_t len = strlen(line);
	int rc = -1;
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1 || read_all(fd, timeout_ms, &resp) < 0) {
		sb_printf(body, "control socket %s: %s\n", path, strerror(errno));
		goto out;
	}
	const char *r = sb_str(&resp);
	const char *nl = strchr(r, '\n');
	if (!nl || (strncmp(r, "ok\n", 3) != 0 && strncmp(r, "error\n", 6) != 0)) {
		sb_printf(body, "control socket %s: malformed response\n", path);
		goto out;
	}
	sb_putn(body, nl + 1, resp.len - (size_t)(nl + 1 - r));
	rc = r[0] == 'o' ? 0 : 1;
out:
	sb_free(&resp);
	close(fd);
	return rc;
}

struct cli_opts {
	const char *config; /* -c; NULL = default */
	const char *socket; /* --socket */
	const char *image;  /* --image */
	bool json;
};

static void cli_usage(FILE *f)
{
	fprintf(f,
		"usage: buoy status [--json] [-c FILE | --socket PATH]\n"
		"       buoy drain BACKEND SERVER [-c FILE | --socket PATH]\n"
		"       buoy enable BACKEND SERVER [-c FILE | --socket PATH]\n"
		"       buoy reload [-c FILE | --socket PATH]\n"
		"       buoy manifest static-pod [-c FILE] [--image IMAGE]\n"
		"       buoy manifest systemd [-c FILE]\n"
		"SERVER is the server's address as in the config (198.18.0.21:6443), or its host alone\n"
		"when that is unique. The socket is control.socket from the config (default " CTL_DEFAULT_SOCKET
		").\n");
}

/* Options anywhere on the line; the words left over stay in argv[optind..]. */
static int parse_opts(int argc, char **argv, struct cli_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "image", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	optind = 2;
	int c;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 's': o->socket = optarg; break;
		case 'j': o->json = true; break;
		case 'i': o->image = optarg; break;
		case 'h': cli_usage(stdout); return 1;
		default: cli_usage(stderr); return -1;
		}
	}
	return 0;
}

static char *config_socket(const struct config *c)
{
	return strdup(c->control_socket && *c->control_socket ? c->control_socket : CTL_DEFAULT_SOCKET);
}

/* The socket path: --socket, else control.socket of -c FILE (or of the default config when it
 * exists), else the built-in default. Returns NULL after reporting a broken config. */
static char *socket_path(const struct cli_opts *o)
{
	if (o->socket)
		return strdup(o->socket);
	const char *file = o->config;
	if (!file && access(BUOY_DEFAULT_CONFIG, R_OK) == 0)
		file = BUOY_DEFAULT_CONFIG;
	if (!file)
		return strdup(CTL_DEFAULT_SOCKET);
	struct config *c = config_load_reporting(file);
	char *p = c ? config_socket(c) : NULL;
	config_free(c);
	return p;
}

/* Track scripts or notify commands: buoy (root in the container) must switch to script_user. */
static bool config_runs_scripts(const struct config *c)
{
	for (size_t i = 0; i < c->n_vrrp; i++)
		if (c->vrrp[i].n_track_scripts || c->vrrp[i].notify)
			return true;
	return false;
}

#define POD_MAX_FILES 64

static void add_file(const char **files, size_t *n, const char *f)
{
	if (!f || *n == POD_MAX_FILES)
		return;
	if (f[0] != '/') {
		/* the container's working directory is /, not the one this command runs in */
		fprintf(stderr, "buoy: %s is a relative path: not mounted; make it absolute\n", f);
		return;
	}
	for (size_t i = 0; i < *n; i++)
		if (strcmp(files[i], f) == 0)
			return;
	files[(*n)++] = f;
}

/* The files a container needs from the host besides the config (pod_options.files). */
static size_t config_files(const struct config *c, const char **files)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n_backends; i++) {
		const struct cfg_health *h = &c->backends[i].health;
		add_file(files, &n, h->ca_file);
		add_file(files, &n, h->cert_file);
		add_file(files, &n, h->key_file);
	}
	if (c->sync)
		add_file(files, &n, c->sync->key_file);
	return n;
}

/* The liveness probe's target: the metrics address (wildcards: no host, the pod IP = the node). */
static void metrics_probe_target(const struct cfg_addr *a, char *host, size_t len, unsigned *port)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
		*port = ntohs(in->sin_port);
		if (in->sin_addr.s_addr != htonl(INADDR_ANY))
			inet_ntop(AF_INET, &in->sin_addr, host, (socklen_t)len);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
		*port = ntohs(in6->sin6_port);
		if (!IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			inet_ntop(AF_INET6, &in6->sin6_addr, host, (socklen_t)len);
	}
}

static int run_request(const struct cli_opts *o, const char *line)
{
	char *path = socket_path(o);
	if (!path)
		return 1;
	struct strbuf body = { 0 };
	int rc = ctl_request(path, line, CTL_CLIENT_TIMEOUT_MS, &body);
	free(path);
	if (rc == 0) {
		fputs(sb_str(&body), stdout);
	} else {
		fputs("buoy: ", stderr);
		fputs(sb_str(&body), stderr);
		if (body.len == 0 || body.p[body.len - 1] != '\n')
			fputc('\n', stderr);
	}
	sb_free(&body);
	return rc == 0 ? 0 : 1;
}

static int cli_manifest(const struct cli_opts *o, int nargs, char **args)
{
	if (nargs != 1 || (strcmp(args[0], "static-pod") != 0 && strcmp(args[0], "systemd") != 0)) {
		cli_usage(stderr);
		return 2;
	}
	const char *file = o->config ? o->config : BUOY_DEFAULT_CONFIG;
	char abs[PATH_MAX];
	if (file[0] != '/' && realpath(file, abs))
		file = abs; /* a hostPath / ExecStart needs an absolute path */
	struct strbuf out = { 0 };
	if (strcmp(args[0], "systemd") == 0) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0)
			self[n] = '\0';
		/* the unit runs this very binary, wherever it is installed */
		manifest_systemd(&out, o->config ? file : NULL, n > 0 ? self : NULL);
	} else {
		struct config *c = config_load_reporting(file);
		if (!c)
			return 1;
		char *sock = o->socket ? strdup(o->socket) : config_socket(c);
		char *slash = sock ? strrchr(sock, '/') : NULL;
		if (slash && slash != sock)
			*slash = '\0';
		char image[96];
		snprintf(image, sizeof(image), "buoy:%s", buoy_version);
		struct pod_options po = {
			.config_path = file,
			.image = o->image ? o->image : image,
			.socket_dir = sock ? sock : "/run/buoy",
			.with_scripts = config_runs_scripts(c),
			.with_fast_path = c->fast_path != CFG_FAST_PATH_OFF,
		};
		const char *files[POD_MAX_FILES];
		po.n_files = config_files(c, files);
		po.files = files;
		char host[INET6_ADDRSTRLEN] = "";
		if (c->metrics_enabled)
			metrics_probe_target(&c->metrics_listen, host, sizeof(host), &po.probe_port);
		po.probe_host = host[0] ? host : NULL;
		manifest_static_pod(&out, &po);
		free(sock);
		config_free(c);
	}
	fputs(sb_str(&out), stdout);
	sb_free(&out);
	return 0;
}

int ctl_cli(const char *cmd, int argc, char **argv)
{
	struct cli_opts o = { 0 };
	int r = parse_opts(argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : 2;
	int nargs = argc - optind;
	char **args = argv + optind;
	if (strcmp(cmd, "manifest") == 0)
		return cli_manifest(&o, nargs, args);
	char line[1024];
	if (strcmp(cmd, "status") == 0 && nargs == 0)
		snprintf(line, sizeof(line), "status %s", o.json ? "json" : "text");
	else if ((strcmp(cmd, "drain") == 0 || strcmp(cmd, "enable") == 0) && nargs == 2)
		snprintf(line, sizeof(line), "%s %s %s", cmd, args[0], args[1]);
	else if (strcmp(cmd, "reload") == 0 && nargs == 0)
		snprintf(line, sizeof(line), "reload");
	else {
		cli_usage(stderr);
		return 2;
	}
	if (strpbrk(line, "\n\r")) {
		fprintf(stderr, "buoy: arguments must not contain line breaks\n");
		return 2;
	}
	return run_request(&o, line);
}
