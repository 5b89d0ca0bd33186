/* notifier_fixture.h - the notifier tests' fixtures: an alert, a loop, servers on 127.0.0.1. */
#ifndef ESCALATOR_NOTIFIER_FIXTURE_H
#define ESCALATOR_NOTIFIER_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#include "notifier.h"

/* A made-up GOV.UK Notify API key, its service id and secret, and a template id. */
#define FIXTURE_SERVICE_ID "26785a09-ab16-4eb0-8407-a37497a57506"
#define FIXTURE_SECRET "3d844edf-8d35-48ac-975b-e847b4f122b0"
#define FIXTURE_API_KEY "escalator_live-" FIXTURE_SERVICE_ID "-" FIXTURE_SECRET
#define FIXTURE_TEMPLATE "f33517ff-2a88-4f6e-b855-c550268ce08a"

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

/* A delivery of kind with ordinary values (Notify: FIXTURE_API_KEY and FIXTURE_TEMPLATE). */
struct delivery fixture_delivery(enum channel kind);
/*
 * An owned digest (free it with delivery_free) of kind to the contact
 * "iro_team" (email: iro.manager@council.example) holding nitems items that
 * cycle through every section: an escalation, an overdue alert, a reminder,
 * a copied recipient's alert, a closed clock and a notice to the admin, each
 * with a history of two stages and a case_url. valuelen > 0 makes each item's
 * case reference, title, expected and history recipient that many bytes
 * long (limits tests).
 */
struct delivery *fixture_digest(enum channel kind, size_t nitems, size_t valuelen);
/*
 * Where fixture_answers says the recipient answers, and the three answers it
 * gives: the first (FIXTURE_AMENDED_NOTE) replaced by the second, an agreed
 * date; the third a disagreement (FIXTURE_REASON, FIXTURE_NOTE).
 */
#define FIXTURE_LINK                                                                               \
	"https://escalator.council.example/r/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf"
#define FIXTURE_AMENDED_NOTE "first thoughts, since replaced"
#define FIXTURE_NOTE "Minutes are on the case file"
#define FIXTURE_REASON "The review was held on 2 Dec"
/*
 * Give d (owned copies: free them with delivery_free, or fixture_answers_clear
 * for a delivery on the stack) the answer link link (NULL: none) and three
 * answers, oldest first: "Jo Bloggs" acknowledged at "Overdue: team manager"
 * on 2026-12-03 (amended), then agreed for 2026-12-14 with a note; then
 * "sm.north@council.example" disagreed at "Escalated: service manager" on
 * 2026-12-04 with FIXTURE_REASON and FIXTURE_NOTE.
 */
void fixture_answers(struct delivery *d, const char *link);
/* Free what fixture_answers gave d, leaving it without answers or link. */
void fixture_answers_clear(struct delivery *d);
/* text parsed as JSON; fails the test if it is not. */
json_t *fixture_parse_json(const char *text);
/* A JSON object from text (a delivery's fields), failing the test if it is not one. */
json_t *fixture_json_object(const char *text);

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
