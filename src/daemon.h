/* `buoy run`: the main thread — signals, health checks, VRRP, control — around the workers. */
#ifndef BUOY_DAEMON_H
#define BUOY_DAEMON_H
#include "config/config.h"

/* Runs until SIGTERM/SIGINT and a graceful drain; returns the process exit code. */
int daemon_run(struct config *cfg); /* takes cfg over (config_hold/config_release) */

#endif
