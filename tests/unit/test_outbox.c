/*
 * test_outbox.c - unit tests for daemon/outbox.c: deliveries taken from a
 * real state store (in a scratch directory) and sent by the real notifier to
 * an HTTP receiver on 127.0.0.1 in the same event loop (libevent's evhttp);
 * what became of each is read back from the state store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alertstore.h"
#include "config.h"
#include "outbox.h"
#include "queue.h"
#include "statestore.h"
#include "store_fixture.h"
#include "xalloc.h"

#define HOOK_SECRET "hook-secret-0123"
#define MAXREQ 64

/* One request the receiver got. */
struct hook_request {
	char *path;
	char *body;
	char *delivery;  /* X-Escalator-Delivery */
	char *timestamp; /* X-Escalator-Timestamp */
	char *signature; /* X-Escalator-Signature */
};

/* Requests to one path not yet answered, and the most at once. */
struct hook_path {
	char path[16];
	int open, most;
};

/* The receiver: answers by path (/busy 503, /gone 404, /hang never, else 200). */
struct hook {
	struct event_base *base;
	struct evhttp *http;
	int port;
	long long delay_ms; /* answer this long after the request */
	struct hook_path paths[8];
	struct hook_request req[MAXREQ];
	size_t nreq;
};

/* One test: the store fixture, a loop, the receiver, a configuration and the outbox. */
struct ofix {
	struct fixture *fx;
	struct event_base *base;
	struct hook hook;
	struct contact contacts[8];
	struct config cfg;
	struct outbox *ob;
	int idle;  /* times the outbox said it had nothing to do */
	char *url; /* http://127.0.0.1:<port> */
};

/* A request waiting for its delayed answer. */
struct hook_reply {
	struct hook_path *p;
	struct evhttp_request *req;
	int code;
};

/* The counts of path. */
static struct hook_path *
hook_path(struct hook *h, const char *path)
{
	size_t i;

	for (i = 0; i < 8 && h->paths[i].path[0] != '\0'; i++)
		if (strcmp(h->paths[i].path, path) == 0)
			return &h->paths[i];
	if (i == 8)
		fail_msg("more than 8 paths");
	snprintf(h->paths[i].path, sizeof h->paths[i].path, "%s", path);
	return &h->paths[i];
}

/* Answer a request to p with code. */
static void
hook_answer(struct hook_path *p, struct evhttp_request *req, int code)
{
	struct evbuffer *out = evbuffer_new();

	evbuffer_add_printf(out, code == 200 ? "ok" : "no such hook");
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Not OK", out);
	evbuffer_free(out);
	p->open--;
}

/* Timer: send a delayed answer. */
static void
hook_reply_cb(evutil_socket_t fd, short events, void *arg)
{
	struct hook_reply *r = arg;

	hook_answer(r->p, r->req, r->code);
	free(r);
}

/* A copy of header name of req, or NULL. */
static char *
hook_header(struct evhttp_request *req, const char *name)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);

	return xstrdup_or_null(v);
}

/* evhttp: record a request and answer it (or not). */
static void
hook_cb(struct evhttp_request *req, void *arg)
{
	struct hook *h = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct hook_request *r;
	const char *path = evhttp_request_get_uri(req);
	struct hook_path *p = hook_path(h, path);
	int code = 200;

	if (h->nreq == MAXREQ)
		fail_msg("more than %d requests", MAXREQ);
	r = &h->req[h->nreq++];
	r->path = xstrdup(path);
	r->body = xmalloc(len + 1);
	evbuffer_copyout(in, r->body, len);
	r->body[len] = '\0';
	r->delivery = hook_header(req, "X-Escalator-Delivery");
	r->timestamp = hook_header(req, "X-Escalator-Timestamp");
	r->signature = hook_header(req, "X-Escalator-Signature");
	if (++p->open > p->most)
		p->most = p->open;
	if (strcmp(path, "/hang") == 0)
		return;
	if (strcmp(path, "/busy") == 0)
		code = 503;
	else if (strcmp(path, "/gone") == 0)
		code = 404;
	if (h->delay_ms > 0) {
		struct hook_reply *rp = xcalloc(1, sizeof *rp);
		struct timeval tv = {0, (suseconds_t)(h->delay_ms * 1000)};

		rp->p = p;
		rp->req = req;
		rp->code = code;
		event_base_once(h->base, -1, EV_TIMEOUT, hook_reply_cb, rp, &tv);
	} else
		hook_answer(p, req, code);
}

/* The outbox has nothing in flight and nothing due: stop the loop. */
static void
idle_cb(void *arg)
{
	struct ofix *of = arg;

	of->idle++;
	event_base_loopbreak(of->base);
}

/* The webhook contacts other than "hook", each at /<name> of the receiver. */
static const char *const hook_names[] = {"busy", "gone", "a", "b", "hang"};

/* Store fixture, loop, receiver on 127.0.0.1, configuration (a webhook and a Teams contact). */
static int
osetup(void **state)
{
	struct ofix *of = xcalloc(1, sizeof *of);
	struct evhttp_bound_socket *sock;
	struct sockaddr_in sin;
	socklen_t slen = sizeof sin;
	void *fxs;

	if (setup(&fxs) != 0)
		return -1;
	of->fx = fxs;
	of->base = event_base_new();
	of->hook.base = of->base;
	of->hook.http = evhttp_new(of->base);
	sock = evhttp_bind_socket_with_handle(of->hook.http, "127.0.0.1", 0);
	if (of->base == NULL || sock == NULL)
		return -1;
	evhttp_set_gencb(of->hook.http, hook_cb, &of->hook);
	getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sin, &slen);
	of->hook.port = ntohs(sin.sin_port);
	of->url = xasprintf("http://127.0.0.1:%d", of->hook.port);

	of->contacts[0] = (struct contact){.name = "hook",
	                                   .kind = CHANNEL_WEBHOOK,
	                                   .address = "hook",
	                                   .url = xasprintf("%s/hook", of->url),
	                                   .secret = HOOK_SECRET};
	of->contacts[1] = (struct contact){.name = "managers",
	                                   .kind = CHANNEL_TEAMS,
	                                   .address = "managers",
	                                   .url = xasprintf("%s/teams", of->url)};
	/* Webhook contacts (recorded by name) for the receiver's other paths. */
	for (size_t i = 0; i < sizeof hook_names / sizeof hook_names[0]; i++)
		of->contacts[2 + i] =
		    (struct contact){.name = (char *)hook_names[i],
		                     .kind = CHANNEL_WEBHOOK,
		                     .address = (char *)hook_names[i],
		                     .url = xasprintf("%s/%s", of->url, hook_names[i]),
		                     .secret = HOOK_SECRET};
	of->cfg.contacts = of->contacts;
	of->cfg.ncontacts = 2 + sizeof hook_names / sizeof hook_names[0];
	of->cfg.max_deliveries = CONFIG_DEFAULT_MAX_DELIVERIES;
	of->cfg.max_per_destination = CONFIG_DEFAULT_MAX_PER_DESTINATION;
	of->cfg.connect_timeout = 5;
	of->cfg.delivery_timeout = 10;
	of->cfg.retry_min = CONFIG_DEFAULT_RETRY_MIN;
	of->cfg.retry_max = CONFIG_DEFAULT_RETRY_MAX;
	of->fx->ss = open_store(of->fx, false);
	*state = of;
	return 0;
}

/* Free the outbox before the receiver (transfers in flight are aborted), then the rest. */
static int
oteardown(void **state)
{
	struct ofix *of = *state;
	void *fxs = of->fx;

	outbox_free(of->ob);
	evhttp_free(of->hook.http);
	event_base_free(of->base);
	for (size_t i = 0; i < of->hook.nreq; i++) {
		free(of->hook.req[i].path);
		free(of->hook.req[i].body);
		free(of->hook.req[i].delivery);
		free(of->hook.req[i].timestamp);
		free(of->hook.req[i].signature);
	}
	for (size_t i = 0; i < of->cfg.ncontacts; i++)
		free(of->contacts[i].url);
	free(of->url);
	free(of);
	return teardown(&fxs);
}

/* Make the outbox with the configuration as it now is. */
static void
start_outbox(struct ofix *of)
{
	of->ob = outbox_new(of->base, of->fx->ss, idle_cb, of);
	outbox_configure(of->ob, &of->cfg);
}

/* Kick the outbox and run the loop until it says it is idle (at most 20 s). */
static void
run_until_idle(struct ofix *of)
{
	time_t end = time(NULL) + 20;

	of->idle = 0;
	outbox_kick(of->ob);
	while (of->idle == 0) {
		if (time(NULL) > end)
			fail_msg("the outbox did not settle in 20 s (%zu requests)", of->hook.nreq);
		event_base_loop(of->base, EVLOOP_ONCE);
	}
}

/* Record an alert of case_ref told to the webhook contacts at paths[0..n) of the receiver. */
static long long
record_hooks(struct ofix *of, const char *case_ref, const char *const *paths, size_t n)
{
	struct recipient rc[4];
	bool none[4] = {false, false, false, false};
	struct alert a = make_alert(of->fx, case_ref, 1, 0);

	assert_true(n <= 4);
	/* Recorded by the contact's name ("/busy" is the contact "busy"). */
	for (size_t i = 0; i < n; i++)
		rc[i] = (struct recipient){CHANNEL_WEBHOOK, paths[i] + 1, paths[i] + 1};
	a.fields = "{\"team\":\"North\"}";
	a.recipients = rc;
	a.nrecipients = n;
	return record(of->fx->ss, &a, none);
}

/* HMAC-SHA256 of "timestamp.body" under the hook's secret, as "sha256=<hex>". */
static void
expected_signature(const char *timestamp, const char *body, char out[7 + 65])
{
	char *msg = xasprintf("%s.%s", timestamp, body);
	unsigned char mac[32];
	unsigned int len = sizeof mac;

	HMAC(EVP_sha256(), HOOK_SECRET, (int)strlen(HOOK_SECRET), (const unsigned char *)msg,
	     strlen(msg), mac, &len);
	strcpy(out, "sha256=");
	for (size_t i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
	free(msg);
}

/*
 * Each delivery goes out once, signed, with its stable id and the alert's
 * parsed fields; it is recorded as sent with an audit row, and the outbox
 * says it is idle.
 */
static void
test_outbox_webhooks(void **state)
{
	static const char *const hook[] = {"/hook"};
	struct ofix *of = *state;
	char *instance, *prefix, want[7 + 65];
	bool seen[4] = {false, false, false, false};

	for (int i = 0; i < 3; i++) {
		char case_ref[16];

		snprintf(case_ref, sizeof case_ref, "W%d", i);
		record_hooks(of, case_ref, hook, 1);
	}
	start_outbox(of);
	run_until_idle(of);

	instance = query1(of->fx->path, "SELECT value FROM meta WHERE key = 'instance'");
	prefix = xasprintf("esc-%s-", instance);
	assert_int_equal(of->hook.nreq, 3);
	for (size_t i = 0; i < of->hook.nreq; i++) {
		struct hook_request *r = &of->hook.req[i];
		json_t *j = json_loads(r->body, 0, NULL);
		int id;

		assert_non_null(j);
		assert_string_equal(r->path, "/hook");
		/* Deliveries 1-3, each once, by their stable id. */
		assert_non_null(r->delivery);
		assert_int_equal(strncmp(r->delivery, prefix, strlen(prefix)), 0);
		id = atoi(r->delivery + strlen(prefix));
		assert_true(id >= 1 && id <= 3 && !seen[id]);
		seen[id] = true;
		assert_string_equal(json_string_value(json_object_get(j, "delivery")), r->delivery);
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(j, "fields"), "team")),
		    "North");
		assert_non_null(r->signature);
		expected_signature(r->timestamp, r->body, want);
		assert_string_equal(r->signature, want);
		json_decref(j);
	}
	free(prefix);
	free(instance);
	expect_sql(of->fx->path,
	           "SELECT group_concat(status || ':' || attempts || ':' || in_flight, ' ') FROM "
	           "delivery",
	           "sent:1:0 sent:1:0 sent:1:0");
	expect_sql(
	    of->fx->path,
	    "SELECT count(*) || ':' || count(DISTINCT delivery_id) FROM audit WHERE result = "
	    "'sent' AND recipient = 'hook (127.0.0.1)'",
	    "3:3");
	/* The URL (it may carry a token) is in neither table: the contact's name and host. */
	expect_sql(of->fx->path,
	           "SELECT (SELECT count(*) FROM audit WHERE recipient LIKE '%://%') + (SELECT "
	           "count(*) FROM delivery WHERE recipient LIKE '%://%')",
	           "0");
	assert_int_equal(queue_depth(of->fx->ss), 0);
	assert_int_equal(outbox_in_flight(of->ob), 0);
}

/* A temporary failure waits for its back-off; a permanent one is never tried again. */
static void
test_outbox_retry_and_failed(void **state)
{
	static const char *const paths[] = {"/busy", "/gone"};
	struct ofix *of = *state;
	long long now = (long long)time(NULL);
	char *next;

	record_hooks(of, "R1", paths, 2);
	start_outbox(of);
	run_until_idle(of);
	assert_int_equal(of->hook.nreq, 2);
	expect_sql(of->fx->path,
	           "SELECT status || ':' || attempts || ':' || in_flight || ':' || last_error FROM "
	           "delivery WHERE recipient = 'busy'",
	           "pending:1:0:HTTP 503: no such hook");
	expect_sql(of->fx->path,
	           "SELECT status || ':' || attempts || ':' || last_error FROM delivery WHERE "
	           "recipient = 'gone'",
	           "failed:1:HTTP 404: no such hook");
	expect_sql(
	    of->fx->path,
	    "SELECT group_concat(result, ',') FROM (SELECT * FROM audit ORDER BY delivery_id)",
	    "retry,failed");
	/* Back-off: retry_min (30 s) with +-20% jitter, from now. */
	next = query1(of->fx->path, "SELECT next_attempt FROM delivery WHERE recipient = 'busy'");
	assert_true(atoll(next) >= now + 24 && atoll(next) <= now + 37);
	free(next);
	assert_int_equal(queue_depth(of->fx->ss), 1);
	/* Nothing is due: another kick sends nothing. */
	run_until_idle(of);
	assert_int_equal(of->hook.nreq, 2);
}

/*
 * Each destination has its share of the slots: with two per destination and
 * answers that take a while, no more than two wait at one receiver, and every
 * delivery still goes out, each once.
 */
static void
test_outbox_share(void **state)
{
	static const char *const a[] = {"/a"}, *const b[] = {"/b"};
	struct ofix *of = *state;

	of->cfg.max_per_destination = 2;
	of->hook.delay_ms = 300;
	for (int i = 0; i < 6; i++) {
		char case_ref[16];

		snprintf(case_ref, sizeof case_ref, "S%d", i);
		record_hooks(of, case_ref, i % 2 == 0 ? a : b, 1);
	}
	start_outbox(of);
	run_until_idle(of);
	assert_int_equal(of->hook.nreq, 6);
	assert_string_equal(hook_path(&of->hook, "/a")->path, "/a");
	assert_int_equal(hook_path(&of->hook, "/a")->most, 2);
	assert_int_equal(hook_path(&of->hook, "/b")->most, 2);
	expect_sql(of->fx->path,
	           "SELECT count(*) FROM delivery WHERE status = 'sent' AND attempts = 1", "6");
	expect_sql(of->fx->path, "SELECT count(DISTINCT delivery_id) FROM audit", "6");
}

/*
 * A Teams contact recorded by name goes to its URL, shows the alert's status
 * as recorded (or, for an alert recorded before alerts kept one, as made up
 * from what was recorded), and the audit trail names the contact, never the
 * URL.
 */
static void
test_outbox_teams_status(void **state)
{
	static const struct recipient managers = {CHANNEL_TEAMS, "managers", "managers"};
	struct ofix *of = *state;
	bool none[4] = {false, false, false, false};
	struct alert a = make_alert(of->fx, "T1", 1, 0);
	bool seen1 = false, seen2 = false;

	a.recipients = &managers;
	a.nrecipients = 1;
	a.status = "3 working days overdue";
	record(of->fx->ss, &a, none);
	a = make_alert(of->fx, "T2", 1, 0);
	a.recipients = &managers;
	a.nrecipients = 1;
	a.days_late = 0;
	record(of->fx->ss, &a, none);
	exec_sql(of->fx->path, "UPDATE alert SET status = NULL WHERE case_ref = 'T2'");
	start_outbox(of);
	run_until_idle(of);
	assert_int_equal(of->hook.nreq, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(of->hook.req[i].path, "/teams");
		seen1 |=
		    strstr(of->hook.req[i].body, "\"Case T1: 3 working days overdue\"") != NULL;
		seen2 |= strstr(of->hook.req[i].body, "\"Case T2: due 2027-01-20\"") != NULL;
	}
	assert_true(seen1);
	assert_true(seen2);
	expect_sql(of->fx->path, "SELECT group_concat(recipient || ':' || result) FROM audit",
	           "managers:sent,managers:sent");
}

/*
 * A delivery that cannot be sent as recorded is not sent, and the others of
 * the same cycle go out: its fields damaged, a temporary failure with the
 * reason; its contact gone (removed on reload), a permanent failure naming it.
 */
static void
test_outbox_cannot_send(void **state)
{
	static const char *const hook[] = {"/hook"};
	static const struct recipient gone = {CHANNEL_TEAMS, "former_team", "former_team"};
	struct ofix *of = *state;
	bool none[4] = {false, false, false, false};
	struct alert a = make_alert(of->fx, "G1", 1, 0);

	record_hooks(of, "D1", hook, 1);
	record_hooks(of, "OK", hook, 1);
	exec_sql(of->fx->path, "UPDATE alert SET fields = '{\"team\": ' WHERE case_ref = 'D1'");
	a.recipients = &gone;
	a.nrecipients = 1;
	record(of->fx->ss, &a, none);
	start_outbox(of);
	run_until_idle(of);
	assert_int_equal(of->hook.nreq, 1);
	assert_non_null(strstr(of->hook.req[0].body, "\"case\":\"OK\""));
	expect_sql(
	    of->fx->path,
	    "SELECT d.status || ':' || d.attempts || ':' || (d.last_error LIKE 'the alert''s "
	    "fields are not valid JSON: %') FROM delivery d JOIN alert a ON a.id = "
	    "d.alert_id WHERE a.case_ref = 'D1'",
	    "pending:1:1");
	expect_sql(of->fx->path,
	           "SELECT d.status || ':' || d.last_error FROM delivery d JOIN alert a ON a.id = "
	           "d.alert_id WHERE a.case_ref = 'G1'",
	           "failed:there is no teams contact \"former_team\" in the configuration any "
	           "more (removed on reload); this delivery will not be sent");
	expect_sql(of->fx->path,
	           "SELECT group_concat(result) FROM (SELECT * FROM audit ORDER BY result)",
	           "failed,retry,sent");
}

/* exec_sql with a printf format. */
static void PRINTFLIKE(2, 3) exec_sql_fmt(const char *path, const char *fmt, ...)
{
	va_list ap;
	char *sql;

	va_start(ap, fmt);
	sql = xvasprintf(fmt, ap);
	va_end(ap);
	exec_sql(path, sql);
	free(sql);
}

/*
 * Webhook deliveries follow their contact by name at each attempt: a pending
 * one goes to the contact's URL as it is now, signed with its secret. A store
 * written by an older escalatord (the URL recorded): the contact with that URL
 * gets it; a URL no contact has is failed for good, naming only its host. A
 * webhook contact that is gone fails its deliveries for good, naming it.
 */
static void
test_outbox_webhook_follows_contact(void **state)
{
	static const char *const hook[] = {"/hook"};
	struct ofix *of = *state;
	char *old_url;

	/* Recorded for "hook" at /hook; its URL moves to /moved before the attempt. */
	record_hooks(of, "M1", hook, 1);
	free(of->contacts[0].url);
	of->contacts[0].url = xasprintf("%s/moved", of->url);
	/* Recorded as URLs, as older versions did: one a contact has, one none has. */
	record_hooks(of, "U1", hook, 1);
	old_url = xasprintf("%s/moved", of->url);
	exec_sql_fmt(of->fx->path,
	             "UPDATE delivery SET recipient = '%s' WHERE alert_id = (SELECT "
	             "id FROM alert WHERE case_ref = 'U1')",
	             old_url);
	record_hooks(of, "U2", hook, 1);
	exec_sql_fmt(of->fx->path,
	             "UPDATE delivery SET recipient = '%s/secret-token-path' WHERE "
	             "alert_id = (SELECT id FROM alert WHERE case_ref = 'U2')",
	             of->url);
	/* Recorded for a contact that is not configured any more. */
	record_hooks(of, "X1", hook, 1);
	exec_sql(of->fx->path, "UPDATE delivery SET recipient = 'removed_hook' WHERE alert_id = "
	                       "(SELECT id FROM alert WHERE case_ref = 'X1')");
	start_outbox(of);
	run_until_idle(of);

	assert_int_equal(of->hook.nreq, 2);
	for (size_t i = 0; i < of->hook.nreq; i++) {
		assert_string_equal(of->hook.req[i].path, "/moved");
		assert_non_null(of->hook.req[i].signature);
	}
	expect_sql(of->fx->path,
	           "SELECT group_concat(a.case_ref || ':' || d.status, ' ') FROM delivery d JOIN "
	           "alert a ON a.id = d.alert_id ORDER BY a.case_ref",
	           "M1:sent U1:sent U2:failed X1:failed");
	expect_sql(of->fx->path,
	           "SELECT d.last_error FROM delivery d JOIN alert a ON a.id = d.alert_id WHERE "
	           "a.case_ref = 'X1'",
	           "there is no webhook contact \"removed_hook\" in the configuration any more "
	           "(removed on reload); this delivery will not be sent");
	expect_sql(
	    of->fx->path,
	    "SELECT (d.last_error LIKE '%127.0.0.1%') || (d.last_error LIKE '%secret-token%') "
	    "FROM delivery d JOIN alert a ON a.id = d.alert_id WHERE a.case_ref = 'U2'",
	    "10");
	expect_sql(of->fx->path,
	           "SELECT count(*) FROM audit WHERE recipient LIKE '%://%' OR detail LIKE "
	           "'%secret-token%'",
	           "0");
	free(old_url);
}

/*
 * Freed with a delivery in flight (shutdown): the transfer is abandoned and
 * the delivery stays pending under its lease, to be sent again after a
 * restart.
 */
static void
test_outbox_free_in_flight(void **state)
{
	static const char *const hang[] = {"/hang"};
	struct ofix *of = *state;
	time_t end = time(NULL) + 10;
	char *cause = NULL;

	record_hooks(of, "H1", hang, 1);
	start_outbox(of);
	outbox_kick(of->ob);
	while (of->hook.nreq == 0 && time(NULL) < end)
		event_base_loop(of->base, EVLOOP_ONCE);
	assert_int_equal(of->hook.nreq, 1);
	assert_int_equal(outbox_in_flight(of->ob), 1);
	outbox_free(of->ob);
	of->ob = NULL;
	expect_sql(of->fx->path,
	           "SELECT status || ':' || attempts || ':' || in_flight FROM delivery",
	           "pending:1:1");
	expect_sql(of->fx->path, "SELECT count(*) FROM audit", "0");
	assert_int_equal(queue_reset_in_flight(of->fx->ss, &cause), 1);
}

/* Add the contact "ops", a webhook at path of the receiver (recorded by name), as the admin. */
static void
admin_at(struct ofix *of, const char *path)
{
	size_t n = 2 + sizeof hook_names / sizeof hook_names[0];

	assert_true(n < sizeof of->contacts / sizeof of->contacts[0]);
	of->contacts[n] = (struct contact){.name = "ops",
	                                   .kind = CHANNEL_WEBHOOK,
	                                   .address = "ops",
	                                   .url = xasprintf("%s%s", of->url, path)};
	of->cfg.ncontacts = n + 1;
	of->cfg.admin = "ops";
}

/*
 * A delivery refused for good is reported to the admin (rule, case, stage,
 * where: the host, never the URL), through the outbox like any alert; a
 * notice that fails is not itself reported (no loop).
 */
static void
test_outbox_failed_told(void **state)
{
	static const char *const gone[] = {"/gone"};
	struct ofix *of = *state;
	char *where = xasprintf("webhook 127.0.0.1:%d", of->hook.port);
	char *key = xasprintf("cic-first-review/F1/overdue %s", where);
	char *body;

	admin_at(of, "/hook");
	record_hooks(of, "F1", gone, 1);
	start_outbox(of);
	run_until_idle(of);
	/* The delivery, then the notice to the admin in the same run. */
	assert_int_equal(of->hook.nreq, 2);
	assert_string_equal(of->hook.req[1].path, "/hook");
	assert_non_null(strstr(of->hook.req[1].body, "escalator-delivery-failed"));
	expect_sql(of->fx->path,
	           "SELECT case_ref FROM alert WHERE rule = 'escalator-delivery-failed'", key);
	free(key);
	body = query1(of->fx->path, "SELECT subject || body FROM alert WHERE rule = "
	                            "'escalator-delivery-failed'");
	assert_non_null(strstr(body, "Delivery failed: cic-first-review case F1 stage overdue"));
	free(where);
	where = xasprintf("(webhook at 127.0.0.1:%d)", of->hook.port);
	assert_non_null(strstr(body, where));
	assert_non_null(strstr(body, "HTTP 404"));
	assert_null(strstr(body, "/gone"));
	free(body);
	free(where);
	expect_sql(of->fx->path,
	           "SELECT d.status FROM alert a JOIN delivery d ON d.alert_id = a.id WHERE a.rule "
	           "= 'escalator-delivery-failed'",
	           "sent");

	/* The same failure again the same day: not told twice. */
	record_hooks(of, "F1", gone, 1);
	run_until_idle(of);
	assert_int_equal(of->hook.nreq, 3);
	expect_sql(of->fx->path,
	           "SELECT count(*) FROM alert WHERE rule = 'escalator-delivery-failed'", "1");
}

/* The admin's own notice failing for good is only logged: no notice of a notice. */
static void
test_outbox_failed_notice_no_loop(void **state)
{
	static const char *const gone[] = {"/gone"};
	struct ofix *of = *state;

	admin_at(of, "/gone");
	record_hooks(of, "F2", gone, 1);
	start_outbox(of);
	run_until_idle(of);
	assert_int_equal(of->hook.nreq, 2);
	expect_sql(of->fx->path,
	           "SELECT count(*) || ':' || group_concat(d.status) FROM alert a JOIN delivery d "
	           "ON d.alert_id = a.id WHERE a.rule LIKE 'escalator-%'",
	           "1:failed");
}

/*
 * Checked again just before sending: an email address outside allowed_domains
 * (changed on a reload) or not valid under the strict syntax fails for good,
 * is never sent, and the admin is told (the domain, never the address).
 */
static void
test_outbox_refused_at_send(void **state)
{
	static const char *const allowed[] = {"council.example"};
	static const struct recipient rc[] = {
	    {CHANNEL_EMAIL, "jane.smith@gmial.com", NULL},
	    {CHANNEL_EMAIL, "victim%evil.example@council.example", NULL},
	};
	struct ofix *of = *state;
	bool none[4] = {false, false, false, false};
	struct alert a = make_alert(of->fx, "E1", 1, 0);
	char *body;

	a.recipients = rc;
	a.nrecipients = 2;
	record(of->fx->ss, &a, none);
	of->cfg.allowed_domains = (char **)allowed;
	of->cfg.nallowed_domains = 1;
	admin_at(of, "/hook");
	start_outbox(of);
	run_until_idle(of);
	expect_sql(of->fx->path,
	           "SELECT group_concat(status || ':' || attempts || ':' || last_error, '|') FROM "
	           "(SELECT * FROM delivery WHERE kind = 'email' ORDER BY id)",
	           "failed:1:the recipient's domain gmial.com is not in allowed_domains; never "
	           "sent|failed:1:the recipient is not an email address escalator sends to (strict "
	           "syntax); never sent");
	/* Two notices (one per domain), sent to the admin's webhook; nothing else sent. */
	assert_int_equal(of->hook.nreq, 2);
	assert_string_equal(of->hook.req[0].path, "/hook");
	expect_sql(of->fx->path,
	           "SELECT group_concat(case_ref, '|') FROM (SELECT case_ref FROM alert WHERE rule "
	           "= 'escalator-delivery-failed' ORDER BY id)",
	           "cic-first-review/E1/overdue email gmial.com|cic-first-review/E1/overdue email "
	           "council.example");
	body = query1(of->fx->path, "SELECT group_concat(subject || body) FROM alert");
	assert_null(strstr(body, "jane.smith"));
	assert_null(strstr(body, "victim"));
	free(body);
	of->cfg.allowed_domains = NULL;
	of->cfg.nallowed_domains = 0;
}

/* Register one test with the outbox fixture. */
#define T(f) cmocka_unit_test_setup_teardown(f, osetup, oteardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_outbox_webhooks),
	    T(test_outbox_webhook_follows_contact),
	    T(test_outbox_retry_and_failed),
	    T(test_outbox_share),
	    T(test_outbox_teams_status),
	    T(test_outbox_cannot_send),
	    T(test_outbox_free_in_flight),
	    T(test_outbox_failed_told),
	    T(test_outbox_failed_notice_no_loop),
	    T(test_outbox_refused_at_send),
	};

	return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
