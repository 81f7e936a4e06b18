/* `notify: COMMAND`: run on each VRRP transition as `COMMAND INSTANCE STATE PRIORITY`,
 * asynchronously (never blocks the loop), as the script user, with no shell injection: the
 * command is run as  /bin/sh -c 'COMMAND "$@"' sh INSTANCE STATE PRIORITY  so the arguments are
 * positional parameters, never parsed by the shell. STATE is MASTER, BACKUP, FAULT or STOP
 * (the words keepalived's notify scripts expect), lower-case accepted from the caller as given.
 *
 * Several notifications may run at once (a quick Backup->Master->Backup runs both); each is
 * bounded by a timeout (SIGTERM then SIGKILL to its process group) and reaped from the loop. */
#ifndef BUOY_NOTIFY_H
#define BUOY_NOTIFY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/spawn.h"

#define NOTIFY_TIMEOUT_MS 30000
#define NOTIFY_MAX_RUNNING \
	8 /* more pending at once: the oldest keep running, new ones
                                        * are dropped and counted (a flapping instance must not
                                        * fork-bomb the node) */

struct notifier;

/* command NULL/"" -> a notifier that does nothing. Checks the command's security
 * (spawn_command_secure) once; an insecure command is logged and never run. */
struct notifier *notifier_new(struct loop *l, const char *command, const char *script_user);
void notifier_free(struct notifier *n);
/* Starts COMMAND instance state priority. 0, or -errno (not started; logged). */
int notifier_run(struct notifier *n, const char *instance, const char *state, unsigned priority);
/* Counters for status/tests. */
uint64_t notifier_runs_total(const struct notifier *n);
uint64_t notifier_failures_total(const struct notifier *n); /* non-zero exit, signal, timeout */
uint64_t notifier_dropped_total(const struct notifier *n);
size_t notifier_running(const struct notifier *n);

#endif
