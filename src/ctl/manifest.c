/* `buoy manifest`: deployment files printed from the binary, so they always match it.
 * The systemd unit's one source of truth is packaging/buoy.service, embedded at build time. */
#include <string.h>

#include "ctl/client.h"

/* The unit file's bytes: ctl_unit_text .. ctl_unit_end (assembled in from the source tree). */
__asm__(".section .rodata\n"
	".global ctl_unit_text\n"
	".global ctl_unit_end\n"
	"ctl_unit_text:\n"
	".incbin \"packaging/buoy.service\"\n"
	"ctl_unit_end:\n"
	".byte 0\n"
	".previous\n");
extern const char ctl_unit_text[], ctl_unit_end[];

#define UNIT_CONFIG "/etc/buoy/buoy.yaml"
#define UNIT_BIN "/usr/local/sbin/buoy"

/* The unit with the binary path and `-c /etc/buoy/buoy.yaml` replaced (NULL keeps them). */
void manifest_systemd(struct strbuf *out, const char *config_path, const char *bin_path)
{
	const char *p = ctl_unit_text, *end = ctl_unit_end;
	while (p < end) {
		const char *bin = bin_path ? strstr(p, UNIT_BIN) : NULL;
		const char *cfg = config_path ? strstr(p, " -c " UNIT_CONFIG) : NULL;
		const char *hit = !bin ? cfg : !cfg ? bin : bin < cfg ? bin : cfg;
		if (!hit || hit >= end) {
			sb_putn(out, p, (size_t)(end - p));
			break;
		}
		sb_putn(out, p, (size_t)(hit - p));
		if (hit == bin) {
			sb_puts(out, bin_path);
			p = hit + strlen(UNIT_BIN);
		} else {
			sb_puts(out, " -c ");
			sb_puts(out, config_path);
			p = hit + strlen(" -c " UNIT_CONFIG);
		}
	}
}

/* A YAML double-quoted scalar: JSON string syntax is valid YAML. */
static void yq(struct strbuf *out, const char *s) { sb_json_str(out, s); }

void manifest_static_pod(struct strbuf *out, const struct pod_options *o)
{
	sb_puts(out,
		"# buoy as a Kubernetes static Pod: save as /etc/kubernetes/manifests/buoy.yaml on\n"
		"# every control-plane node. The kubelet runs it before the API server is reachable.\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata:\n"
		"  name: buoy\n"
		"  namespace: kube-system\n"
		"  labels:\n"
		"    app.kubernetes.io/name: buoy\n"
		"spec:\n"
		"  hostNetwork: true\n"
		"  priorityClassName: system-node-critical\n"
		"  terminationGracePeriodSeconds: 45\n"
		"  containers:\n"
		"    - name: buoy\n"
		"      image: ");
	yq(out, o->image);
	sb_puts(out,
		"\n"
		"      imagePullPolicy: IfNotPresent\n"
		"      command: [\"buoy\", \"run\", \"-c\", \"/etc/buoy/buoy.yaml\"]\n"
		"      securityContext:\n"
		"        capabilities:\n"
		"          drop: [\"ALL\"]\n"
		"          add: [\"NET_ADMIN\", \"NET_RAW\", \"NET_BIND_SERVICE\"");
	/* root in the container, but switching to script_user needs these two */
	if (o->with_scripts)
		sb_puts(out, ", \"SETUID\", \"SETGID\"");
	/* fast_path: loading an sk_skb program takes CAP_BPF and CAP_NET_ADMIN (above) */
	if (o->with_fast_path)
		sb_puts(out, ", \"BPF\"");
	sb_puts(out, "]\n");
	if (o->probe_port) {
		/* a wedged main loop stops answering /metrics: the kubelet restarts buoy */
		sb_puts(out, "      livenessProbe:\n        httpGet:\n");
		if (o->probe_host) {
			sb_puts(out, "          host: ");
			yq(out, o->probe_host);
			sb_putc(out, '\n');
		}
		sb_printf(out,
			  "          port: %u\n          path: /metrics\n"
			  "        periodSeconds: 10\n        timeoutSeconds: 5\n        failureThreshold: 3\n",
			  o->probe_port);
	}
	sb_puts(out,
		"      volumeMounts:\n"
		"        - name: config\n"
		"          mountPath: /etc/buoy/buoy.yaml\n"
		"          readOnly: true\n"
		"        - name: run\n"
		"          mountPath: ");
	yq(out, o->socket_dir);
	for (size_t i = 0; i < o->n_files; i++) {
		sb_printf(out, "\n        - name: file-%zu\n          mountPath: ", i);
		yq(out, o->files[i]);
		sb_puts(out, "\n          readOnly: true");
	}
	sb_puts(out,
		"\n"
		"  volumes:\n"
		"    - name: config\n"
		"      hostPath:\n"
		"        path: ");
	yq(out, o->config_path);
	sb_puts(out,
		"\n"
		"        type: File\n"
		"    - name: run\n"
		"      hostPath:\n"
		"        path: ");
	yq(out, o->socket_dir);
	sb_puts(out, "\n"
		     "        type: DirectoryOrCreate\n");
	for (size_t i = 0; i < o->n_files; i++) {
		sb_printf(out, "    - name: file-%zu\n      hostPath:\n        path: ", i);
		yq(out, o->files[i]);
		sb_puts(out, "\n        type: File\n");
	}
}
