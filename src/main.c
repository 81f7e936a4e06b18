/* buoy: floating VIP (VRRP) + health-checked L4 load balancer, one process, one config. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/version.h"
#include "config/config.h"
#include "intercept/nftrules.h"
#include "core/spawn.h"
#include "ctl/client.h"
#include "daemon.h"
#include "health/tls.h"
#include "import/import.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: buoy COMMAND [-c FILE]\n"
		"\n"
		"commands:\n"
		"  run                     run in the foreground (logs key=value lines to stderr)\n"
		"  check                   validate the config: exit 0 and a summary, or 1 and\n"
		"                          every error as FILE:LINE:COL: message\n"
		"  status [--json]         state of VRRP, listeners, backends, servers (control socket)\n"
		"  drain BACKEND SERVER    no new connections to SERVER; existing ones finish\n"
		"  enable BACKEND SERVER   undo drain\n"
		"  reload                  make the running daemon re-read its config (like SIGHUP)\n"
		"  import [--keepalived F] [--haproxy F] [--nginx F] [--k0s F] [--kube-vip F]\n"
		"         [--server ADDR]... [--node NAME] [--strict]\n"
		"                          convert existing configs to a commented buoy.yaml\n"
		"  manifest static-pod [--image IMG] | manifest systemd\n"
		"                          print a Kubernetes static Pod manifest / the systemd unit\n"
		"  version                 print the version\n"
		"  help                    this text\n"
		"\n"
		"options:\n"
		"  -c, --config FILE   config file (default " BUOY_DEFAULT_CONFIG ")\n"
		"  --socket PATH       control socket (default: control.socket of the config)\n");
}

/* What the BGP section will do: each announcement and its gate; a missing BIRD is a warning
 * (`run` keeps serving and retries), not an error. */
static void check_bgp(const struct cfg_bgp *b)
{
	for (size_t i = 0; i < b->n_announce; i++) {
		const struct cfg_bgp_announce *a = &b->announce[i];
		printf("  announce %s gated by", a->prefix.text);
		if (!a->n_track_backends)
			printf(" nothing (always announced while buoy runs)");
		for (size_t k = 0; k < a->n_track_backends; k++)
			printf("%s backend %s", k ? "," : "", a->track_backends[k].name);
		printf("%s\n", a->track_from_listeners ? " (from its listeners)" : "");
	}
	char path[4096];
	if (spawn_resolve_program(b->bird ? b->bird : "bird", path, sizeof(path)) < 0)
		fprintf(stderr,
			"warning: bgp: BIRD binary %s not found (install bird2): nothing "
			"will be announced\n",
			b->bird ? b->bird : "bird");
}

/* The nftables rules `run` will install (table inet buoy, chains prerouting and output). */
static void check_intercept(const struct config *c)
{
	char rule[256];
	for (size_t i = 0; i < c->n_listeners; i++)
		for (size_t k = 0; k < c->listeners[i].n_intercept; k++) {
			nftrules_rule(&c->listeners[i], &c->listeners[i].intercept[k], rule,
				      sizeof(rule));
			printf("  intercept (nftables " NFTRULES_FAMILY " " NFTRULES_TABLE
			       ", prerouting and output): %s\n",
			       rule);
		}
}

static void check_tls_bad(void *arg, size_t i, const struct cfg_backend *b, const char *why)
{
	(void)b;
	fprintf(stderr, "%s: backends[%zu].health: %s\n", (const char *)arg, i, why);
}

static int cmd_check(const char *path)
{
	struct config *c = config_load_reporting(path);
	if (!c)
		return 1;
	size_t bad = health_tls_preflight(c, check_tls_bad, (void *)path);
	if (bad) {
		config_free(c);
		return 1;
	}
	size_t servers = 0;
	for (size_t i = 0; i < c->n_backends; i++)
		servers += c->backends[i].n_servers;
	printf("%s: ok: node=%s listeners=%zu backends=%zu servers=%zu vrrp_instances=%zu", path,
	       c->node, c->n_listeners, c->n_backends, servers, c->n_vrrp);
	if (c->bgp)
		printf(" bgp_peers=%zu bgp_announce=%zu", c->bgp->n_peers, c->bgp->n_announce);
	putchar('\n');
	check_intercept(c);
	if (c->bgp)
		check_bgp(c->bgp);
	config_free(c);
	return 0;
}

static int cmd_run(const char *path)
{
	struct config *c = config_load_reporting(path);
	if (!c)
		return 1;
	return daemon_run(c); /* takes c over */
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	/* CTL: control-socket clients and manifests parse their own options (src/ctl/client.c) */
	if (ctl_cli_command(cmd))
		return ctl_cli(cmd, argc, argv);
	if (strcmp(cmd, "import") == 0)
		return import_main(argc, argv);
	const char *path = BUOY_DEFAULT_CONFIG;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	optind = 2;
	int o;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(path);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(path);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("buoy %s\n", buoy_version);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "buoy: unknown command \"%s\"\n\n", cmd);
	usage(stderr);
	return 2;
}
