/* notifier_fixture.c - the notifier tests' fixtures: an alert, a loop, servers on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "notifier_fixture.h"
#include "xalloc.h"

#ifndef ESCALATOR_SOURCE_DIR
#define ESCALATOR_SOURCE_DIR "."
#endif

/* A delivery with ordinary values. */
struct delivery
fixture_delivery(enum channel kind)
{
	struct delivery d = {
	    .id = 42,
	    .uid = "esc-1a2b3c4d5e6f-42",
	    .kind = kind,
	    .recipient = kind == CHANNEL_GOVUK_NOTIFY ? "iro.manager@council.example"
	                                              : "https://hooks.example/x",
	    .attempts = 1,
	    .rule = "cic-first-review",
	    .title = "First Child in Care review",
	    .case_ref = "C1042",
	    .stage = "overdue",
	    .start = "2026-10-01",
	    .due = "2026-10-29",
	    .fires = "2026-10-30T08:00:00",
	    .days_late = 12,
	    .status = "12 working days overdue",
	    .subject = "subject",
	    .body = "body",
	    .expected = "hold the review within 5 working days",
	};
	if (kind == CHANNEL_GOVUK_NOTIFY) {
		d.secret = FIXTURE_API_KEY;
		d.template_id = FIXTURE_TEMPLATE;
		d.base_url = "https://api.notifications.service.gov.uk";
	}
	return d;
}

/* s, or when len > 0 a string of len bytes that starts with s. */
static char *
fixture_long(const char *s, size_t len)
{
	char *v;

	if (len == 0)
		return xstrdup(s);
	v = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		v[i] = i < strlen(s) ? s[i] : (char)('a' + i % 26);
	v[len] = '\0';
	return v;
}

/* An owned digest of nitems items through every section. */
struct delivery *
fixture_digest(enum channel kind, size_t nitems, size_t valuelen)
{
	static const char *const labels[] = {
	    "Escalated: service manager", "Overdue: team manager", "Reminder: IRO",
	    "Escalated: head of service", "Overdue: team manager", "Service notice"};
	struct delivery *d = xcalloc(1, sizeof *d), proto = fixture_delivery(kind);

	d->id = 7001;
	d->uid = xstrdup("esc-1a2b3c4d5e6f-7001");
	d->kind = kind;
	d->recipient = xstrdup(proto.recipient);
	if (kind == CHANNEL_EMAIL)
		d->recipient = (free(d->recipient), xstrdup("iro.manager@council.example"));
	d->secret = xstrdup_or_null(proto.secret);
	d->template_id = xstrdup_or_null(proto.template_id);
	d->base_url = xstrdup_or_null(proto.base_url);
	d->attempts = 1;
	d->digest = true;
	d->contact = xstrdup("iro_team");
	d->part = d->parts = 1;
	d->items = xcalloc(nitems + 1, sizeof *d->items);
	for (size_t i = 0; i < nitems; i++) {
		struct delivery *it = xcalloc(1, sizeof *it);
		char ref[32];
		int k = (int)(i % 6);

		snprintf(ref, sizeof ref, "C%04zu", 1000 + i);
		it->id = (long long)(8000 + i);
		it->rule = xstrdup(k == 5 ? "escalator-undeliverable" : "cic-first-review");
		it->title = fixture_long(k == 5 ? "An alert nobody could be sent"
		                                : "First Child in Care review",
		                         valuelen);
		it->case_ref = fixture_long(ref, valuelen);
		it->stage = xstrdup(k == 0 ? "escalated" : k == 2 ? "reminder" : "overdue");
		it->label = xstrdup(labels[k]);
		it->start = xstrdup("2026-10-01");
		it->due = xstrdup("2026-10-29");
		it->fires = xstrdup("2026-11-05T08:00:00");
		it->days_late = k == 2 ? 0 : (int)(12 - i % 7);
		it->status = xstrdup(k == 2 ? "due in 3 working days" : "12 working days overdue");
		it->expected =
		    fixture_long("Hold the review now and record why it was late.", valuelen);
		it->urgency = k == 0 || k == 3 ? DELIVERY_ESCALATION
		              : k == 2         ? DELIVERY_REMINDER
		                               : DELIVERY_OVERDUE;
		it->notice = k == 5;
		it->case_url =
		    k == 5 ? NULL : xasprintf("https://cms.council.example/case/%s", ref);
		if (k != 4 && k != 5) {
			it->subject =
			    xasprintf("%s: First Child in Care review for %s", labels[k], ref);
			it->body = xstrdup("First Child in Care review\n\nCase: C1000\n");
		}
		if (k == 3) {
			it->copied = xstrdup("Overdue: team manager");
			it->copied_on = xstrdup("2026-10-30");
		}
		if (k == 4) {
			it->closed = true;
			it->closed_on = xstrdup("2026-11-20");
			it->closed_late = 15;
		}
		it->history = xcalloc(2, sizeof *it->history);
		it->nhistory = 2;
		it->history[0].stage = xstrdup("Reminder: IRO");
		it->history[0].when = xstrdup("2026-10-22T08:00:04Z");
		it->history[0].recipient = fixture_long("jo.iro@council.example", valuelen);
		it->history[0].status = xstrdup("sent");
		it->history[1].stage = xstrdup(labels[k]);
		it->history[1].when = xstrdup("2026-10-30T08:00:02Z");
		it->history[1].recipient = xstrdup("tm.north@council.example");
		it->history[1].status = xstrdup(k == 1 ? "failed" : "sent");
		it->history[1].copied = k == 3;
		d->items[d->nitems++] = it;
	}
	return d;
}

/* Give d an answer link and three answers (one amended). */
void
fixture_answers(struct delivery *d, const char *link)
{
	static const struct delivery_response proto[3] = {
	    {"Jo Bloggs", "Overdue: team manager", "acknowledged", NULL, NULL, FIXTURE_AMENDED_NOTE,
	     "2026-12-03T10:15:00Z", true},
	    {"Jo Bloggs", "Overdue: team manager", "agreed", "2026-12-14", NULL,
	     "Review booked with the IRO", "2026-12-03T11:00:00Z", false},
	    {"sm.north@council.example", "Escalated: service manager", "disagree", NULL,
	     FIXTURE_REASON, FIXTURE_NOTE, "2026-12-04T09:30:00Z", false},
	};

	fixture_answers_clear(d);
	d->response_link = xstrdup_or_null(link);
	d->responses = xcalloc(3, sizeof *d->responses);
	for (size_t i = 0; i < 3; i++) {
		struct delivery_response *r = &d->responses[i];

		r->who = xstrdup_or_null(proto[i].who);
		r->stage = xstrdup_or_null(proto[i].stage);
		r->kind = xstrdup_or_null(proto[i].kind);
		r->agreed_on = xstrdup_or_null(proto[i].agreed_on);
		r->reason = xstrdup_or_null(proto[i].reason);
		r->note = xstrdup_or_null(proto[i].note);
		r->answered_at = xstrdup_or_null(proto[i].answered_at);
		r->amended = proto[i].amended;
	}
	d->nresponses = 3;
}

/* Free what fixture_answers gave d. */
void
fixture_answers_clear(struct delivery *d)
{
	for (size_t i = 0; i < d->nresponses; i++) {
		struct delivery_response *r = &d->responses[i];

		free(r->who);
		free(r->stage);
		free(r->kind);
		free(r->agreed_on);
		free(r->reason);
		free(r->note);
		free(r->answered_at);
	}
	free(d->responses);
	free(d->response_link);
	d->responses = NULL;
	d->nresponses = 0;
	d->response_link = NULL;
}

/* Parse text as JSON, failing the test if it is not. */
json_t *
fixture_parse_json(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (j == NULL)
		fail_msg("not JSON (%s): %.200s", err.text, text);
	return j;
}

/* A JSON object from text (a delivery's fields), failing the test if it is not one. */
json_t *
fixture_json_object(const char *text)
{
	json_t *o = fixture_parse_json(text);

	if (!json_is_object(o))
		fail_msg("not a JSON object: %.200s", text);
	return o;
}

/* Remove one entry found by nftw (deepest first). */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* The source tree: $SRCDIR (set by CTest) or the one this test was built from. */
static const char *
srcdir(void)
{
	const char *s = getenv("SRCDIR");

	return s != NULL && *s != '\0' ? s : ESCALATOR_SOURCE_DIR;
}

/* Start python3 with args (NULL-terminated) in $SRCDIR/tests and wait for "READY <port>". */
void
fixture_server_start(struct server *srv, const char *const *args)
{
	char *cwd = xasprintf("%s/tests", srcdir()), line[256];
	const char *argv[32];
	size_t argc = 0, len = 0;
	int fds[2];
	struct timespec t0, t1;

	argv[argc++] = "/usr/bin/python3";
	for (; *args != NULL && argc < 31; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	assert_int_equal(pipe(fds), 0);
	srv->pid = fork();
	assert_true(srv->pid >= 0);
	if (srv->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		if (chdir(cwd) != 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	srv->out = fds[0];
	free(cwd);

	/* Read its first line; the servers need a moment to import and bind. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {.fd = srv->out, .events = POLLIN};
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 30)
			fail_msg("%s %s: no READY line within 30 seconds", argv[1], argv[2]);
		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = read(srv->out, line + len, sizeof line - 1 - len);
		if (n <= 0)
			fail_msg("%s %s exited before it was ready", argv[1], argv[2]);
		len += (size_t)n;
		line[len] = '\0';
		if (strchr(line, '\n') != NULL)
			break;
		assert_true(len < sizeof line - 1);
	}
	if (sscanf(line, "READY %d", &srv->port) != 1 || srv->port <= 0)
		fail_msg("unexpected first line from the server: %s", line);
}

/* Stop a server (SIGTERM, then SIGKILL) and reap it. */
void
fixture_server_stop(struct server *srv)
{
	int status;

	if (srv->pid <= 0)
		return;
	kill(srv->pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(srv->pid, &status, WNOHANG) == srv->pid)
			goto reaped;
		usleep(50000);
	}
	kill(srv->pid, SIGKILL);
	waitpid(srv->pid, &status, 0);
reaped:
	close(srv->out);
	srv->pid = 0;
}

/* A TCP port on 127.0.0.1 nothing listens on. */
int
fixture_closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* A listening socket that never accepts: connections succeed, nothing is ever answered. */
int
fixture_blackhole(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* The notifier's callback: record the outcome; stop the loop when all have arrived. */
static void
done_cb(void *arg, long long id, const struct delivery_result *r)
{
	struct fixture *fx = arg;
	struct outcome *o;

	assert_true(id >= 0 && id < MAXRESULTS);
	o = &fx->res[id];
	o->calls++;
	o->status = r->status;
	o->code = r->code;
	o->retry_after = r->retry_after;
	assert_non_null(r->detail);
	assert_null(strpbrk(r->detail, "\r\n"));
	snprintf(o->detail, sizeof o->detail, "%s", r->detail);
	fx->done++;
	if (fx->free_in_callback) {
		/* Allowed: aborts the rest without callbacks. */
		notifier_free(fx->n);
		fx->n = NULL;
		event_base_loopexit(fx->base, NULL);
		return;
	}
	if (fx->resend > 0) {
		struct delivery d = {.id = id + 1,
		                     .uid = "chained",
		                     .kind = CHANNEL_WEBHOOK,
		                     .recipient = fx->resend_url,
		                     .rule = "r"};
		char *cause = NULL;

		fx->resend--;
		fx->expect++;
		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
	if (fx->done >= fx->expect)
		event_base_loopbreak(fx->base);
}

/* The safety net: a test that takes this long has failed. */
static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fixture *fx = arg;

	event_base_loopbreak(fx->base);
}

/* Counts loop iterations while transfers run: proof that nothing blocks the loop. */
static void
ticker_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fixture *fx = arg;

	fx->ticks++;
}

/* A fresh event base, notifier, scratch directory and timers. */
int
fixture_setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof *fx);
	struct timeval guard = {90, 0}, tick = {0, 10000};

	snprintf(fx->dir, sizeof fx->dir, "/tmp/test_notifier.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->n = notifier_new(fx->base, done_cb, fx);
	fx->guard = evtimer_new(fx->base, guard_cb, fx);
	evtimer_add(fx->guard, &guard);
	fx->ticker = event_new(fx->base, -1, EV_PERSIST, ticker_cb, fx);
	evtimer_add(fx->ticker, &tick);
	*state = fx;
	return 0;
}

/* Free everything the fixture made. */
int
fixture_teardown(void **state)
{
	struct fixture *fx = *state;

	notifier_free(fx->n);
	event_free(fx->guard);
	event_free(fx->ticker);
	event_base_free(fx->base);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* Run the loop until fx->expect callbacks have arrived (or the guard fires). */
void
fixture_run(struct fixture *fx)
{
	event_base_dispatch(fx->base);
	if (fx->done < fx->expect)
		fail_msg("only %zu of %zu deliveries finished", fx->done, fx->expect);
}

/* Configure fx->n with an smtp url and the given TLS and auth settings. */
void
fixture_configure(struct fixture *fx, struct smtp_settings *smtp, const char *ca_file, int timeout)
{
	struct notifier_settings s = {.smtp = smtp,
	                              .ca_file = ca_file,
	                              .connect_timeout = timeout,
	                              .delivery_timeout = timeout};

	notifier_configure(fx->n, &s);
}
