/* test_notifier.c - end-to-end tests of notifiers/ on a real event loop against local test servers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "chat.h"
#include "govuk_notify.h"
#include "notifier.h"
#include "notifier_fixture.h"
#include "xalloc.h"

#define NWEBHOOKS 50
#define NEMAILS 20

/* A Python script: an SMTP sink that refuses RCPT or the message, or never answers the message. */
static const char refusing_smtp[] =
    "import signal, sys, threading\n"
    "from harness.smtp_sink import SmtpSink\n"
    "fault = (int(sys.argv[2]), sys.argv[3]) if len(sys.argv) > 3 else None\n"
    "kw = {'rcpt': {'fail_rcpt': fault}, 'data': {'fail_data': fault},\n"
    "      'hang': {'hang': 'after_data'}}[sys.argv[1]]\n"
    "s = SmtpSink(**kw).start()\n"
    "stop = threading.Event()\n"
    "signal.signal(signal.SIGTERM, lambda *a: stop.set())\n"
    "print('READY %d' % s.port, flush=True)\n"
    "while not stop.wait(1):\n"
    "    pass\n"
    "s.stop()\n";

/* Number of lines in path, 0 if it does not exist. */
static size_t
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		if (c == '\n')
			n++;
	fclose(f);
	return n;
}

/* Wait (up to 10 s) for path to hold want lines: the servers write after they answer. */
static void
wait_lines(const char *path, size_t want)
{
	for (int i = 0; i < 200 && count_lines(path) < want; i++)
		usleep(50000);
	assert_int_equal(count_lines(path), want);
}

/* Parse every JSON line of path. */
static json_t *
read_jsonl(const char *path)
{
	FILE *f = fopen(path, "r");
	json_t *all = json_array();
	char *line = NULL;
	size_t cap = 0;

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		json_error_t err;
		json_t *j = json_loads(line, 0, &err);

		if (j == NULL)
			fail_msg("%s: %s", path, err.text);
		json_array_append_new(all, j);
	}
	free(line);
	fclose(f);
	return all;
}

/* The value of header name (any case) in a JSON object of headers, or NULL. */
static const char *
json_header(const json_t *headers, const char *name)
{
	json_t *h = (json_t *)headers;

	for (void *it = json_object_iter(h); it != NULL; it = json_object_iter_next(h, it))
		if (strcasecmp(json_object_iter_key(it), name) == 0)
			return json_string_value(json_object_iter_value(it));
	return NULL;
}

/* "sha256=<hex>" of HMAC-SHA256(secret, msg), computed here with EVP_Q_mac. */
static void
expected_signature(const char *secret, const char *msg, char *out)
{
	unsigned char mac[32];
	size_t len = 0;

	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, strlen(secret),
	                          (const unsigned char *)msg, strlen(msg), mac, sizeof mac, &len));
	memcpy(out, "sha256=", 7);
	for (size_t i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
}

/* Check the webhooks the HTTP sink recorded: one per delivery, signed where a secret was given. */
static void
check_webhooks(const char *path)
{
	json_t *all = read_jsonl(path);
	int seen[NWEBHOOKS] = {0};
	size_t i;

	assert_int_equal(json_array_size(all), NWEBHOOKS);
	for (i = 0; i < json_array_size(all); i++) {
		const json_t *req = json_array_get(all, i);
		const json_t *h = json_object_get(req, "headers");
		const char *body = json_string_value(json_object_get(req, "body"));
		const char *uid = json_header(h, "X-Escalator-Delivery");
		const char *ts = json_header(h, "X-Escalator-Timestamp");
		const char *sig = json_header(h, "X-Escalator-Signature");
		json_t *j = json_loads(body, 0, NULL);
		int k;

		assert_string_equal(json_string_value(json_object_get(req, "method")), "POST");
		assert_string_equal(json_header(h, "Content-Type"), "application/json");
		assert_string_equal(json_header(h, "User-Agent"), "escalatord");
		assert_non_null(uid);
		assert_non_null(ts);
		assert_int_equal(sscanf(uid, "wh-%d", &k), 1);
		assert_true(k >= 0 && k < NWEBHOOKS);
		seen[k]++;
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "delivery")), uid);
		assert_string_equal(json_string_value(json_object_get(j, "case")),
		                    "C\xc3\xa9-1\r\n2");
		if (k % 2 == 0) {
			char *msg = xasprintf("%s.%s", ts, body), want[7 + 65];

			expected_signature("hook-secret", msg, want);
			assert_non_null(sig);
			assert_string_equal(sig, want);
			assert_int_equal(
			    json_integer_value(json_object_get(json_object_get(j, "fields"), "n")),
			    k);
			free(msg);
		} else {
			assert_null(sig);
			assert_null(json_object_get(j, "fields"));
		}
		json_decref(j);
	}
	for (int k = 0; k < NWEBHOOKS; k++)
		assert_int_equal(seen[k], 1);
	json_decref(all);
}

/* The subject every email in the concurrent test gets, for delivery k. */
static char *
email_subject(int k)
{
	return xasprintf("R\xc3\xa9vision en retard \xe2\x80\x94 premi\xc3\xa8re revue du dossier "
	                 "C%d, \xc3\xa9tape 2 \xe2\x80\x94 r\xc3\xa9ponse attendue",
	                 k);
}

/* Check the emails the SMTP sink recorded: headers decode to what was sent. */
static void
check_emails(const char *path)
{
	json_t *all = read_jsonl(path);
	int seen[NEMAILS] = {0};
	size_t i;

	assert_int_equal(json_array_size(all), NEMAILS);
	for (i = 0; i < json_array_size(all); i++) {
		const json_t *m = json_array_get(all, i);
		const char *mid = json_string_value(json_object_get(m, "message_id"));
		const char *body = json_string_value(json_object_get(m, "body"));
		json_t *rcpts = json_object_get(m, "rcpt_tos");
		char *want;
		int k;

		assert_non_null(mid);
		assert_int_equal(sscanf(mid, "<em-%d@council.example>", &k), 1);
		assert_true(k >= 0 && k < NEMAILS);
		seen[k]++;
		assert_string_equal(json_string_value(json_object_get(m, "mail_from")),
		                    "alerts@council.example");
		assert_int_equal(json_array_size(rcpts), 1);
		want = xasprintf("tm%d@council.example", k);
		assert_string_equal(json_string_value(json_array_get(rcpts, 0)), want);
		assert_string_equal(json_string_value(json_object_get(m, "to")), want);
		free(want);
		want = email_subject(k);
		assert_string_equal(json_string_value(json_object_get(m, "subject")), want);
		free(want);
		assert_string_equal(json_string_value(json_object_get(m, "from")),
		                    "escalator <alerts@council.example>");
		assert_non_null(strstr(body, "Case C"));
		assert_non_null(strstr(body, "\xc3\xa9t\xc3\xa9 d\xc3\xa9pass\xc3\xa9"));
		assert_null(strstr(json_string_value(json_object_get(m, "data")), "\nBcc"));
	}
	for (int k = 0; k < NEMAILS; k++)
		assert_int_equal(seen[k], 1);
	json_decref(all);
}

/* 50 webhooks and 20 emails at once through one notifier on one loop: every one is accepted. */
static void
test_concurrent(void **state)
{
	struct fixture *fx = *state;
	struct server http = {0}, smtp = {0};
	char *http_out = xasprintf("%s/http.jsonl", fx->dir);
	char *smtp_out = xasprintf("%s/smtp.jsonl", fx->dir);
	const char *http_args[] = {"-m", "harness.http_sink", "--port", "0", "--out", http_out,
	                           NULL};
	const char *smtp_args[] = {"-m", "harness.smtp_sink", "--port", "0", "--out", smtp_out,
	                           NULL};
	struct smtp_settings sc = {.from = "alerts@council.example",
	                           .from_name = "escalator",
	                           .starttls = STARTTLS_OPPORTUNISTIC};
	char url[128];

	fixture_server_start(&http, http_args);
	fixture_server_start(&smtp, smtp_args);
	sc.url = xasprintf("smtp://127.0.0.1:%d", smtp.port);
	fixture_configure(fx, &sc, NULL, 20);
	free(sc.url);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/iro", http.port);

	for (int k = 0; k < NWEBHOOKS + NEMAILS; k++) {
		struct delivery d = {.id = k,
		                     .rule = "cic-first-review",
		                     .title = "First review",
		                     .case_ref = "C\xc3\xa9-1\r\n2",
		                     .stage = "overdue",
		                     .start = "2026-10-01",
		                     .due = "2026-10-29",
		                     .fires = "2026-10-30T08:00:00",
		                     .days_late = 1};
		char *uid, *rcpt = NULL, *subject = NULL, *cause = NULL;
		json_t *fields = NULL;

		if (k < NWEBHOOKS) {
			uid = xasprintf("wh-%d", k);
			d.kind = CHANNEL_WEBHOOK;
			d.recipient = url;
			if (k % 2 == 0) {
				d.secret = "hook-secret";
				fields = json_pack("{s:i, s:s}", "n", k, "team", "North");
				d.fields = fields;
			}
		} else {
			uid = xasprintf("em-%d", k - NWEBHOOKS);
			rcpt = xasprintf("tm%d@council.example", k - NWEBHOOKS);
			subject = email_subject(k - NWEBHOOKS);
			d.kind = CHANNEL_EMAIL;
			d.recipient = rcpt;
			d.subject = subject;
			d.body = "Case C1042: le d\xc3\xa9lai a \xc3\xa9t\xc3\xa9 "
			         "d\xc3\xa9pass\xc3\xa9.\n"
			         ".\nA line with a lone dot above.\n";
		}
		d.uid = uid;
		if (notifier_send(fx->n, &d, &cause) != 0)
			fail_msg("notifier_send %d: %s", k, cause);
		free(uid);
		free(rcpt);
		free(subject);
		json_decref(fields);
	}
	/* Nothing finishes inside notifier_send: results only come from the loop. */
	assert_int_equal(fx->done, 0);
	assert_int_equal(notifier_in_flight(fx->n), NWEBHOOKS + NEMAILS);
	fx->expect = NWEBHOOKS + NEMAILS;
	fixture_run(fx);
	assert_int_equal(notifier_in_flight(fx->n), 0);
	for (int k = 0; k < NWEBHOOKS + NEMAILS; k++) {
		if (fx->res[k].calls != 1 || fx->res[k].status != DELIVERY_SENT)
			fail_msg("delivery %d: %d calls, status %d: %s", k, fx->res[k].calls,
			         fx->res[k].status, fx->res[k].detail);
		assert_int_equal(fx->res[k].code, k < NWEBHOOKS ? 200 : 250);
	}
	wait_lines(http_out, NWEBHOOKS);
	wait_lines(smtp_out, NEMAILS);
	fixture_server_stop(&http);
	fixture_server_stop(&smtp);
	check_webhooks(http_out);
	check_emails(smtp_out);
	free(http_out);
	free(smtp_out);
}

/* Elapsed seconds since t0. */
static double
since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A refused connection and a server that never answers: RETRY, and the loop keeps running. */
static void
test_refused_and_timeout(void **state)
{
	struct fixture *fx = *state;
	int port = fixture_closed_port(), hole_port, hole = fixture_blackhole(&hole_port);
	struct smtp_settings sc = {.from = "alerts@council.example",
	                           .starttls = STARTTLS_OPPORTUNISTIC};
	char url[4][128];
	struct timespec t0;
	char *cause = NULL;

	snprintf(url[0], sizeof url[0], "http://127.0.0.1:%d/", port);
	snprintf(url[1], sizeof url[1], "http://127.0.0.1:%d/", hole_port);
	sc.url = xasprintf("smtp://127.0.0.1:%d", port);
	fixture_configure(fx, &sc, NULL, 1);
	free(sc.url);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 0; k < 2; k++) {
		struct delivery d = {
		    .id = k, .uid = "u", .kind = CHANNEL_WEBHOOK, .recipient = url[k], .rule = "r"};

		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
	{
		struct delivery d = {.id = 2,
		                     .uid = "u",
		                     .kind = CHANNEL_EMAIL,
		                     .recipient = "tm@council.example",
		                     .subject = "s",
		                     .body = "b"};

		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
	/* The email to the black hole is configured separately: a second smtp url. */
	sc.url = xasprintf("smtp://127.0.0.1:%d", hole_port);
	fixture_configure(fx, &sc, NULL, 1);
	free(sc.url);
	{
		struct delivery d = {.id = 3,
		                     .uid = "u",
		                     .kind = CHANNEL_EMAIL,
		                     .recipient = "tm@council.example",
		                     .subject = "s",
		                     .body = "b"};

		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
	/* Sending returned at once, before any connection was even tried. */
	assert_true(since(&t0) < 0.5);
	assert_int_equal(fx->done, 0);
	fx->expect = 4;
	fixture_run(fx);
	assert_true(since(&t0) < 10);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(fx->res[k].calls, 1);
		if (fx->res[k].status != DELIVERY_RETRY)
			fail_msg("delivery %d: status %d: %s", k, fx->res[k].status,
			         fx->res[k].detail);
	}
	assert_non_null(strstr(fx->res[0].detail, "onnect"));
	assert_non_null(strstr(fx->res[2].detail, "onnect"));
	assert_non_null(strstr(fx->res[1].detail, "timed out"));
	assert_non_null(strstr(fx->res[3].detail, "timed out"));
	/* The 1 s timeouts ran on the loop: the 10 ms ticker kept firing meanwhile. */
	assert_true(fx->ticks >= 20);
	close(hole);
}

/* STARTTLS with a test CA and AUTH: accepted; a wrong password and an untrusted CA are RETRY. */
static void
test_starttls_auth(void **state)
{
	struct fixture *fx = *state;
	struct server smtp = {0};
	char *out = xasprintf("%s/smtp.jsonl", fx->dir), *pki = xasprintf("%s/pki", fx->dir);
	char *ca = xasprintf("%s/ca.pem", pki), *cause = NULL;
	const char *args[] = {"-m",
	                      "harness.smtp_sink",
	                      "--port",
	                      "0",
	                      "--starttls",
	                      "--pki-dir",
	                      pki,
	                      "--require-starttls",
	                      "--auth",
	                      "alerts:s3cret",
	                      "--require-auth",
	                      "--out",
	                      out,
	                      NULL};
	struct smtp_settings sc = {.from = "alerts@council.example",
	                           .from_name = "escalator",
	                           .username = "alerts",
	                           .starttls = STARTTLS_REQUIRED};
	json_t *all, *m;

	fixture_server_start(&smtp, args);
	sc.url = xasprintf("smtp://localhost:%d", smtp.port);
	for (int k = 0; k < 3; k++) {
		struct delivery d = {.id = k,
		                     .uid = "tls",
		                     .kind = CHANNEL_EMAIL,
		                     .recipient = "tm@council.example",
		                     .subject = "TLS test",
		                     .body = "hello"};

		/* 0: right password and CA; 1: wrong password; 2: system CAs only. */
		sc.password = k == 1 ? "wrong-hunter2" : "s3cret";
		fixture_configure(fx, &sc, k == 2 ? NULL : ca, 20);
		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
	fx->expect = 3;
	fixture_run(fx);
	fixture_server_stop(&smtp);
	if (fx->res[0].status != DELIVERY_SENT)
		fail_msg("STARTTLS + AUTH: %s", fx->res[0].detail);
	assert_int_equal(fx->res[1].status, DELIVERY_RETRY);
	assert_non_null(strstr(fx->res[1].detail, "authentication failed"));
	assert_non_null(strstr(fx->res[1].detail, "password_file"));
	assert_null(strstr(fx->res[1].detail, "hunter2"));
	assert_int_equal(fx->res[2].status, DELIVERY_RETRY);
	assert_non_null(strstr(fx->res[2].detail, "certificate"));

	all = read_jsonl(out);
	assert_int_equal(json_array_size(all), 1);
	m = json_array_get(all, 0);
	assert_true(json_is_true(json_object_get(m, "tls")));
	assert_string_equal(json_string_value(json_object_get(m, "auth_user")), "alerts");
	json_decref(all);
	free(sc.url);
	free(out);
	free(pki);
	free(ca);
}

/* HTTPS webhooks: accepted with the test CA, RETRY when the certificate cannot be verified. */
static void
test_webhook_tls(void **state)
{
	struct fixture *fx = *state;
	struct server https = {0};
	char *pki = xasprintf("%s/pki", fx->dir), *ca = xasprintf("%s/ca.pem", pki);
	const char *args[] = {"-m",    "harness.http_sink", "--port", "0",
	                      "--tls", "--pki-dir",         pki,      NULL};
	char url[128], *cause = NULL;

	fixture_server_start(&https, args);
	snprintf(url, sizeof url, "https://localhost:%d/hook", https.port);
	for (int k = 0; k < 2; k++) {
		struct delivery d = {.id = k,
		                     .uid = "tls",
		                     .kind = CHANNEL_WEBHOOK,
		                     .recipient = url,
		                     .rule = "r",
		                     .secret = "k"};
		struct notifier_settings s = {
		    .ca_file = k == 0 ? ca : NULL, .connect_timeout = 10, .delivery_timeout = 20};

		/* 0: the test CA; 1: the system's CAs only. */
		notifier_configure(fx->n, &s);
		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
	fx->expect = 2;
	fixture_run(fx);
	fixture_server_stop(&https);
	if (fx->res[0].status != DELIVERY_SENT)
		fail_msg("HTTPS with the test CA: %s", fx->res[0].detail);
	assert_int_equal(fx->res[1].status, DELIVERY_RETRY);
	assert_non_null(strstr(fx->res[1].detail, "certificate"));
	free(pki);
	free(ca);
}

/* starttls = required against a server without STARTTLS: RETRY, nothing sent in clear. */
static void
test_starttls_missing(void **state)
{
	struct fixture *fx = *state;
	struct server smtp = {0};
	char *out = xasprintf("%s/smtp.jsonl", fx->dir), *cause = NULL;
	const char *args[] = {"-m", "harness.smtp_sink", "--port", "0", "--out", out, NULL};
	struct smtp_settings sc = {.from = "alerts@council.example", .starttls = STARTTLS_REQUIRED};
	struct delivery d = {.id = 0,
	                     .uid = "nt",
	                     .kind = CHANNEL_EMAIL,
	                     .recipient = "tm@council.example",
	                     .subject = "s",
	                     .body = "b"};

	fixture_server_start(&smtp, args);
	sc.url = xasprintf("smtp://127.0.0.1:%d", smtp.port);
	fixture_configure(fx, &sc, NULL, 20);
	assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	fx->expect = 1;
	fixture_run(fx);
	fixture_server_stop(&smtp);
	assert_int_equal(fx->res[0].status, DELIVERY_RETRY);
	assert_string_equal(fx->res[0].detail,
	                    "the server does not offer STARTTLS (starttls = required)");
	assert_int_equal(count_lines(out), 0);
	free(sc.url);
	free(out);
}

/* A 5xx to RCPT or to the message is FAILED with the server's reply; a 4xx is RETRY. */
static void
test_smtp_refusals(void **state)
{
	static const struct {
		const char *where, *code, *text;
		enum delivery_status status;
		const char *detail;
	} cases[] = {
	    {"rcpt", "550", "5.1.1 No such user here", DELIVERY_FAILED,
	     "RCPT: 550 5.1.1 No such user here"},
	    {"rcpt", "450", "4.2.1 Mailbox busy", DELIVERY_RETRY, "RCPT: 450 4.2.1 Mailbox busy"},
	    {"data", "554", "5.7.1 Content refused", DELIVERY_FAILED,
	     "DATA: 554 5.7.1 Content refused"},
	};
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *args[] = {"-c",          refusing_smtp, cases[i].where,
		                      cases[i].code, cases[i].text, NULL};
		struct smtp_settings sc = {.from = "alerts@council.example",
		                           .starttls = STARTTLS_OPPORTUNISTIC};
		struct delivery d = {.id = (long long)i,
		                     .uid = "ref",
		                     .kind = CHANNEL_EMAIL,
		                     .recipient = "nobody@council.example",
		                     .subject = "s",
		                     .body = "b"};
		struct server smtp = {0};
		char *cause = NULL;

		fixture_server_start(&smtp, args);
		sc.url = xasprintf("smtp://127.0.0.1:%d", smtp.port);
		fixture_configure(fx, &sc, NULL, 20);
		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
		fx->expect++;
		fixture_run(fx);
		fixture_server_stop(&smtp);
		free(sc.url);
		assert_int_equal(fx->res[i].status, cases[i].status);
		assert_int_equal(fx->res[i].code, atoi(cases[i].code));
		assert_string_equal(fx->res[i].detail, cases[i].detail);
	}
}

/*
 * A server that never answers after the message: RETRY when delivery_timeout
 * runs out. libcurl (7.88, curl issue 8555) reads that last reply in a
 * blocking poll even on a multi handle, so the loop stalls for up to
 * delivery_timeout here; this test bounds the stall, it cannot prevent it.
 */
static void
test_hang_after_data(void **state)
{
	struct fixture *fx = *state;
	const char *args[] = {"-c", refusing_smtp, "hang", NULL};
	struct smtp_settings sc = {.from = "alerts@council.example",
	                           .starttls = STARTTLS_OPPORTUNISTIC};
	struct delivery d = {.id = 0,
	                     .uid = "hang",
	                     .kind = CHANNEL_EMAIL,
	                     .recipient = "tm@council.example",
	                     .subject = "s",
	                     .body = "b"};
	struct server smtp = {0};
	struct timespec t0;
	char *cause = NULL;

	fixture_server_start(&smtp, args);
	sc.url = xasprintf("smtp://127.0.0.1:%d", smtp.port);
	fixture_configure(fx, &sc, NULL, 2);
	free(sc.url);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	fx->expect = 1;
	fixture_run(fx);
	fixture_server_stop(&smtp);
	assert_true(since(&t0) < 5);
	assert_int_equal(fx->res[0].status, DELIVERY_RETRY);
	if (strstr(fx->res[0].detail, "timeout") == NULL &&
	    strstr(fx->res[0].detail, "timed out") == NULL)
		fail_msg("detail: %s", fx->res[0].detail);
}

/* HTTP 503 with Retry-After is RETRY with the delay; 404 is FAILED. */
static void
test_webhook_statuses(void **state)
{
	struct fixture *fx = *state;
	struct server a = {0}, b = {0};
	const char *args_a[] = {"-m",  "harness.http_sink", "--port", "0", "--status",
	                        "503", "--retry-after",     "120",    NULL};
	const char *args_b[] = {"-m", "harness.http_sink", "--port", "0", "--status", "404", NULL};
	char url[2][128], *cause = NULL;

	fixture_server_start(&a, args_a);
	fixture_server_start(&b, args_b);
	snprintf(url[0], sizeof url[0], "http://127.0.0.1:%d/x", a.port);
	snprintf(url[1], sizeof url[1], "http://127.0.0.1:%d/x", b.port);
	for (int k = 0; k < 2; k++) {
		struct delivery d = {.id = k,
		                     .uid = "st",
		                     .kind = CHANNEL_WEBHOOK,
		                     .recipient = url[k],
		                     .rule = "r"};

		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
	fx->expect = 2;
	fixture_run(fx);
	fixture_server_stop(&a);
	fixture_server_stop(&b);
	assert_int_equal(fx->res[0].status, DELIVERY_RETRY);
	assert_int_equal(fx->res[0].code, 503);
	assert_int_equal(fx->res[0].retry_after, 120);
	assert_int_equal(fx->res[1].status, DELIVERY_FAILED);
	assert_int_equal(fx->res[1].code, 404);
	assert_true(strncmp(fx->res[1].detail, "HTTP 404", 8) == 0);
}

/* A new delivery can be started from inside the callback. */
static void
test_send_from_callback(void **state)
{
	struct fixture *fx = *state;
	struct server http = {0};
	const char *args[] = {"-m", "harness.http_sink", "--port", "0", NULL};
	struct delivery d = {.id = 0, .uid = "first", .kind = CHANNEL_WEBHOOK, .rule = "r"};
	char *cause = NULL;

	fixture_server_start(&http, args);
	snprintf(fx->resend_url, sizeof fx->resend_url, "http://127.0.0.1:%d/chain", http.port);
	d.recipient = fx->resend_url;
	fx->resend = 4;
	assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	fx->expect = 1;
	fixture_run(fx);
	fixture_server_stop(&http);
	assert_int_equal(fx->done, 5);
	for (int k = 0; k < 5; k++) {
		assert_int_equal(fx->res[k].calls, 1);
		assert_int_equal(fx->res[k].status, DELIVERY_SENT);
	}
}

/* Deliveries that cannot start: -1 with a cause, and no callback ever. */
static void
test_cannot_start(void **state)
{
	struct fixture *fx = *state;
	struct delivery d = {.id = 0,
	                     .uid = "x",
	                     .kind = CHANNEL_EMAIL,
	                     .recipient = "tm@council.example",
	                     .subject = "s",
	                     .body = "b"};
	struct timeval soon = {0, 100000};
	char *cause = NULL;

	assert_int_equal(notifier_send(fx->n, &d, &cause), -1);
	assert_string_equal(cause, "email cannot be sent: no smtp server is configured");
	free(cause);
	cause = NULL;

	d.kind = CHANNEL_WEBHOOK;
	d.recipient = "ftp://hooks.council.example/x";
	assert_int_equal(notifier_send(fx->n, &d, &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;

	d.recipient = "https://hooks.council.example/x";
	d.fields = json_pack("[i]", 1);
	assert_int_equal(notifier_send(fx->n, &d, &cause), -1);
	assert_string_equal(cause, "webhook fields are not a JSON object");
	free(cause);
	json_decref(d.fields);

	assert_int_equal(notifier_in_flight(fx->n), 0);
	event_base_loopexit(fx->base, &soon);
	event_base_dispatch(fx->base);
	assert_int_equal(fx->done, 0);
}

/* notifier_free with transfers in flight aborts them without callbacks (and leaks nothing). */
static void
test_free_in_flight(void **state)
{
	struct fixture *fx = *state;
	int port, hole = fixture_blackhole(&port);
	struct timeval soon = {0, 300000};
	struct smtp_settings sc = {.from = "alerts@council.example",
	                           .starttls = STARTTLS_OPPORTUNISTIC};
	char url[128], *cause = NULL;
	struct timespec t0;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	sc.url = xasprintf("smtp://127.0.0.1:%d", port);
	fixture_configure(fx, &sc, NULL, 30);
	free(sc.url);
	for (int k = 0; k < 6; k++) {
		struct delivery d = {.id = k,
		                     .uid = "f",
		                     .kind = k % 2 ? CHANNEL_EMAIL : CHANNEL_WEBHOOK,
		                     .recipient = k % 2 ? "tm@council.example" : url,
		                     .subject = "s",
		                     .body = "b",
		                     .secret = "k"};

		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
	event_base_loopexit(fx->base, &soon);
	event_base_dispatch(fx->base);
	assert_int_equal(notifier_in_flight(fx->n), 6);
	/* Without care, curl finishes an aborted SMTP session in a blocking poll (30 s here). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	notifier_free(fx->n);
	fx->n = NULL;
	assert_true(since(&t0) < 2);
	event_base_loopexit(fx->base, &soon);
	event_base_dispatch(fx->base);
	assert_int_equal(fx->done, 0);
	close(hole);
}

/* notifier_free from inside a callback: the others are aborted, nothing else is called. */
static void
test_free_in_callback(void **state)
{
	struct fixture *fx = *state;
	int hole_port, hole = fixture_blackhole(&hole_port), port = fixture_closed_port();
	char url[2][128], *cause = NULL;

	snprintf(url[0], sizeof url[0], "http://127.0.0.1:%d/", port);
	snprintf(url[1], sizeof url[1], "http://127.0.0.1:%d/", hole_port);
	for (int k = 0; k < 4; k++) {
		struct delivery d = {.id = k,
		                     .uid = "c",
		                     .kind = CHANNEL_WEBHOOK,
		                     .recipient = url[k == 0 ? 0 : 1],
		                     .rule = "r"};

		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
	fx->free_in_callback = 1;
	fx->expect = 1;
	fixture_run(fx);
	assert_null(fx->n);
	assert_int_equal(fx->done, 1);
	assert_int_equal(fx->res[0].status, DELIVERY_RETRY);
	close(hole);
}

/* Teams, Slack and Notify (a send, and a lookup before a re-attempt) that cannot connect. */
static void
test_channels_unreachable(void **state)
{
	struct fixture *fx = *state;
	int port = fixture_closed_port();
	char url[128], *cause = NULL;

	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	for (int k = 0; k < 4; k++) {
		struct delivery d = {.id = k,
		                     .uid = "esc-ab-1",
		                     .kind = k == 0   ? CHANNEL_TEAMS
		                             : k == 1 ? CHANNEL_SLACK
		                                      : CHANNEL_GOVUK_NOTIFY,
		                     .recipient = k < 2 ? url : "iro@council.example",
		                     .attempts = k == 3 ? 2 : 1,
		                     .secret = "k-26785a09-ab16-4eb0-8407-a37497a57506-"
		                               "3d844edf-8d35-48ac-975b-e847b4f122b0",
		                     .template_id = "f33517ff-2a88-4f6e-b855-c550268ce08a",
		                     .base_url = url,
		                     .title = "t",
		                     .case_ref = "C1"};

		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
	fx->expect = 4;
	fixture_run(fx);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(fx->res[k].calls, 1);
		assert_int_equal(fx->res[k].status, DELIVERY_RETRY);
	}
	assert_non_null(strstr(fx->res[3].detail, "looking up the reference"));
	assert_null(strstr(fx->res[2].detail, "looking up the reference"));
}

/* Channel deliveries that cannot start: -1 with a cause (never the URL), no callback. */
static void
test_channels_cannot_start(void **state)
{
	struct fixture *fx = *state;
	struct delivery d = {.id = 0,
	                     .uid = "x",
	                     .kind = CHANNEL_GOVUK_NOTIFY,
	                     .recipient = "iro@council.example",
	                     .template_id = "f33517ff-2a88-4f6e-b855-c550268ce08a",
	                     .base_url = "https://api.notifications.service.gov.uk"};
	char *cause = NULL;

	assert_int_equal(notifier_send(fx->n, &d, &cause), -1);
	assert_non_null(strstr(cause, "no API key"));
	free(cause);
	d.secret = "not-a-key";
	assert_int_equal(notifier_send(fx->n, &d, &cause), -1);
	assert_non_null(strstr(cause, "does not hold a Notify API key"));
	free(cause);
	d.kind = CHANNEL_SLACK;
	d.recipient = "ftp://hooks.slack.example/T/B/SLACKSECRET";
	assert_int_equal(notifier_send(fx->n, &d, &cause), -1);
	assert_null(strstr(cause, "SLACKSECRET"));
	free(cause);
	assert_int_equal(notifier_in_flight(fx->n), 0);
}

/* How many times needle occurs in s. */
static size_t
occurrences(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The request of all (a JSON array of recorded requests) to path; fails the test if none. */
static const json_t *
request_to(const json_t *all, const char *path)
{
	size_t i;
	const json_t *req;

	json_array_foreach(all, i, req)
	{
		if (strcmp(json_string_value(json_object_get(req, "path")), path) == 0)
			return req;
	}
	fail_msg("nothing was sent to %s", path);
	return NULL;
}

/*
 * A digest at each HTTP channel's notifier_digest_limit, every value 2,000
 * bytes long, through notifier_send to a real HTTP server: one request each,
 * accepted, carrying every item within the channel's limits (the webhook
 * signed).
 */
static void
test_digest_channels(void **state)
{
	static const enum channel kinds[] = {CHANNEL_WEBHOOK, CHANNEL_TEAMS, CHANNEL_SLACK,
	                                     CHANNEL_GOVUK_NOTIFY};
	static const char *const paths[] = {"/hook", "/teams", "/slack", "/v2/notifications/email"};
	struct fixture *fx = *state;
	struct server http = {0};
	char *out = xasprintf("%s/http.jsonl", fx->dir), *cause = NULL, base[64];
	const char *args[] = {"-m", "harness.http_sink", "--port", "0", "--out", out, NULL};
	size_t n[4];
	json_t *all;

	fixture_server_start(&http, args);
	snprintf(base, sizeof base, "http://127.0.0.1:%d", http.port);
	for (int k = 0; k < 4; k++) {
		struct delivery *d;

		n[k] = (size_t)notifier_digest_limit(kinds[k]);
		d = fixture_digest(kinds[k], n[k], 2000);
		d->id = k;
		if (kinds[k] == CHANNEL_GOVUK_NOTIFY) {
			free(d->base_url);
			d->base_url = xstrdup(base);
		} else {
			free(d->recipient);
			d->recipient = xasprintf("%s%s", base, paths[k]);
		}
		if (kinds[k] == CHANNEL_WEBHOOK)
			d->secret = xstrdup("hook-secret");
		if (notifier_send(fx->n, d, &cause) != 0)
			fail_msg("%s digest: %s", channel_name(kinds[k]), cause);
		delivery_free(d);
	}
	fx->expect = 4;
	fixture_run(fx);
	for (int k = 0; k < 4; k++)
		if (fx->res[k].status != DELIVERY_SENT)
			fail_msg("%s digest: %s", channel_name(kinds[k]), fx->res[k].detail);
	wait_lines(out, 4);
	fixture_server_stop(&http);
	all = read_jsonl(out);

	/* The webhook: the digest JSON, every item, signed over the body received. */
	{
		const json_t *req = request_to(all, paths[0]), *h = json_object_get(req, "headers");
		const char *body = json_string_value(json_object_get(req, "body"));
		char *msg = xasprintf("%s.%s", json_header(h, "X-Escalator-Timestamp"), body);
		char want[7 + 65];
		json_t *j = fixture_parse_json(body);

		expected_signature("hook-secret", msg, want);
		assert_string_equal(json_header(h, "X-Escalator-Signature"), want);
		assert_string_equal(json_header(h, "X-Escalator-Delivery"),
		                    json_string_value(json_object_get(j, "delivery")));
		assert_true(json_is_true(json_object_get(j, "digest")));
		assert_string_equal(json_string_value(json_object_get(j, "contact")), "iro_team");
		assert_int_equal(json_array_size(json_object_get(j, "alerts")) +
		                     json_array_size(json_object_get(j, "closed")),
		                 n[0]);
		json_decref(j);
		free(msg);
	}
	/* Teams: one card, every item a line, a link for each with a case_url (not notices). */
	{
		const char *body =
		    json_string_value(json_object_get(request_to(all, paths[1]), "body"));
		json_t *j = fixture_parse_json(body);

		assert_true(strlen(body) <= CHAT_TEAMS_DIGEST_MAX);
		assert_int_equal(occurrences(body, "\"Action.OpenUrl\""), n[1] - n[1] / 6);
		assert_null(strstr(body, "more not shown"));
		json_decref(j);
	}
	/* Slack: every item a "• " line, within the block limit. */
	{
		const char *body =
		    json_string_value(json_object_get(request_to(all, paths[2]), "body"));
		json_t *j = fixture_parse_json(body);

		assert_true(strlen(body) <= CHAT_SLACK_DIGEST_MAX);
		assert_true(json_array_size(json_object_get(j, "blocks")) <= CHAT_SLACK_BLOCKS_MAX);
		assert_int_equal(occurrences(body, "\\u2022 ") + occurrences(body, "\xe2\x80\xa2 "),
		                 n[2]);
		assert_null(strstr(body, "more not shown"));
		json_decref(j);
	}
	/* Notify: the contact's template, the digest's personalisation, a JWT. */
	{
		const json_t *req = request_to(all, paths[3]);
		const char *auth = json_header(json_object_get(req, "headers"), "Authorization");
		json_t *j = fixture_parse_json(json_string_value(json_object_get(req, "body")));
		json_t *p = json_object_get(j, "personalisation");
		const char *text = json_string_value(json_object_get(p, "body"));
		char count[16];

		assert_non_null(auth);
		assert_true(strncmp(auth, "Bearer ey", 9) == 0);
		assert_string_equal(json_string_value(json_object_get(j, "template_id")),
		                    FIXTURE_TEMPLATE);
		snprintf(count, sizeof count, "%zu", n[3]);
		assert_string_equal(json_string_value(json_object_get(p, "count")), count);
		assert_true(strlen(text) <= GOVUK_DIGEST_BODY_MAX);
		assert_int_equal(occurrences(text, "\n* "), n[3]);
		assert_int_equal(occurrences(text, "# "), 6);
		json_decref(j);
	}
	json_decref(all);
	free(out);
}

/* Run every test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_concurrent, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_refused_and_timeout, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_starttls_auth, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_webhook_tls, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_starttls_missing, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_smtp_refusals, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_hang_after_data, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_webhook_statuses, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_send_from_callback, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_cannot_start, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_free_in_flight, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_free_in_callback, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_channels_unreachable, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_channels_cannot_start, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_digest_channels, fixture_setup, fixture_teardown),
	};

	/* A server that dies must not kill the test with SIGPIPE (curl also sets MSG_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
