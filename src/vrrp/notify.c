#include "vrrp/notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct notify_slot {
	struct child child;
	struct notifier *n;
	char what[96]; /* "instance state priority", for the log */
};

struct notifier {
	struct loop *loop;
	char *command; /* NULL: nothing to run */
	bool refused;
	struct spawn_user user;
	struct notify_slot slots[NOTIFY_MAX_RUNNING];
	uint64_t runs_total, failures_total, dropped_total;
};

struct notifier *notifier_new(struct loop *l, const char *command, const char *script_user)
{
	struct notifier *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->loop = l;
	for (size_t i = 0; i < NOTIFY_MAX_RUNNING; i++) {
		n->slots[i].n = n;
		n->slots[i].child.io.fd = -1;
	}
	if (!command || !*command)
		return n;
	n->command = strdup(command);
	if (!n->command) {
		free(n);
		return NULL;
	}
	char why[256];
	if (spawn_command_secure(command, why, sizeof(why)) < 0) {
		log_error("notify command refused", "command=\"%s\" reason=\"%s\"", command, why);
		n->refused = true;
	} else if (spawn_user_lookup(script_user, &n->user) < 0) {
		log_error("notify user unknown", "user=%s", script_user ? script_user : "nobody");
		n->refused = true;
	}
	return n;
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < NOTIFY_MAX_RUNNING; i++)
		child_abort(&n->slots[i].child);
	free(n->command);
	free(n);
}

static void notify_done(struct child *c, enum spawn_result r, int status, void *arg)
{
	(void)c;
	struct notify_slot *s = arg;
	if (r == SPAWN_EXITED && status == 0)
		return;
	s->n->failures_total++;
	log_warn("notify command failed", "args=\"%s\" result=%s status=%d", s->what,
		 r == SPAWN_EXITED     ? "exit"
		 : r == SPAWN_SIGNALED ? "signal"
		 : r == SPAWN_TIMEOUT  ? "timeout"
				       : "failed",
		 status);
}

int notifier_run(struct notifier *n, const char *instance, const char *state, unsigned priority)
{
	if (!n->command)
		return 0;
	if (n->refused)
		return -EPERM;
	struct notify_slot *s = NULL;
	for (size_t i = 0; i < NOTIFY_MAX_RUNNING && !s; i++)
		if (!child_running(&n->slots[i].child))
			s = &n->slots[i];
	if (!s) {
		n->dropped_total++;
		log_warn("notify dropped, too many running", "instance=%s state=%s", instance, state);
		return -EBUSY;
	}
	char prio[16];
	snprintf(prio, sizeof(prio), "%u", priority);
	snprintf(s->what, sizeof(s->what), "%s %s %s", instance, state, prio);
	char *args[] = { (char *)instance, (char *)state, prio };
	int rc = child_spawn_shell(
		n->loop, &s->child, n->command, args, 3, &n->user, NOTIFY_TIMEOUT_MS, notify_done, s);
	if (rc < 0) {
		n->failures_total++;
		log_error("notify spawn failed", "args=\"%s\" err=\"%s\"", s->what, strerror(-rc));
		return rc;
	}
	n->runs_total++;
	return 0;
}

uint64_t notifier_runs_total(const struct notifier *n) { return n->runs_total; }
uint64_t notifier_failures_total(const struct notifier *n) { return n->failures_total; }
uint64_t notifier_dropped_total(const struct notifier *n) { return n->dropped_total; }

size_t notifier_running(const struct notifier *n)
{
	size_t k = 0;
	for (size_t i = 0; i < NOTIFY_MAX_RUNNING; i++)
		k += child_running(&n->slots[i].child);
	return k;
}
