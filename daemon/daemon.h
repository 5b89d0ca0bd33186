/* daemon.h - the long-running service: event loop, timers, signals, systemd. */
#ifndef ESCALATOR_DAEMON_H
#define ESCALATOR_DAEMON_H

#include <stdbool.h>

#include "engine.h"
#include "evaluate.h"

/*
 * Run on the loaded (and activated) engine e until SIGTERM/SIGINT; config_path
 * is reloaded on SIGHUP. With once, evaluate a single time, deliver what is
 * due and return when only deliveries waiting for a retry are left. Takes
 * ownership of e. on_alert (may be NULL) is also told about each alert
 * recorded, with the state store as its arg. Returns the process exit status.
 */
int daemon_run(const char *config_path, struct engine *e, bool once, evaluate_alert_fn on_alert);

#endif
