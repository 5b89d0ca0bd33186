/* notifier_fixture.h - a notifier on a real event loop, and test servers on 127.0.0.1. */
#ifndef ESCALATOR_NOTIFIER_FIXTURE_H
#define ESCALATOR_NOTIFIER_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/event.h>

#include "notifier.h"

/* Delivery ids a fixture records results for: 0 to MAXRESULTS - 1. */
#define MAXRESULTS 128

/* A test server process (tests/harness) and where it listens. */
struct server {
	pid_t pid;
	int out; /* read end of its stdout */
	int port;
};

/* What a finished delivery reported. */
struct outcome {
	int calls;
	enum delivery_status status;
	long code;
	int retry_after;
	char detail[512];
};

/* One test's loop, notifier and results. */
struct fixture {
	char dir[64];
	struct event_base *base;
	struct notifier *n;
	struct event *guard; /* ends a test that would otherwise hang */
	struct event *ticker;
	int ticks;
	struct outcome res[MAXRESULTS];
	size_t done, expect;
	int free_in_callback; /* notifier_free from the first callback */
	int resend;           /* send again from the callback this many times */
	char resend_url[128];
};

/*
 * Start python3 with args (NULL-terminated) in $SRCDIR/tests and wait for its
 * "READY <port>" line.
 */
void fixture_server_start(struct server *srv, const char *const *args);
/* Stop a server (SIGTERM, then SIGKILL) and reap it. */
void fixture_server_stop(struct server *srv);
/* A TCP port on 127.0.0.1 nothing listens on. */
int fixture_closed_port(void);
/* A listening socket that never accepts (close it after the test); its port in *port. */
int fixture_blackhole(int *port);

/* cmocka setup: a fresh event base, notifier, scratch directory and timers in *state. */
int fixture_setup(void **state);
/* cmocka teardown: free everything fixture_setup made. */
int fixture_teardown(void **state);
/* Run the loop until fx->expect callbacks have arrived (or the 90 s guard fires). */
void fixture_run(struct fixture *fx);
/* Configure fx->n with smtp, ca_file and both timeouts. */
void fixture_configure(struct fixture *fx, struct smtp_settings *smtp, const char *ca_file,
                       int timeout);

#endif
