/* test_oauth.c - unit tests for notifiers/oauth.c: token requests and answers, cache, broker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <signal.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "notifier.h"
#include "notifier_fixture.h"
#include "oauth.h"
#include "xalloc.h"

/* The form body: every value escaped, the grant and scope as Exchange Online wants them. */
static void
test_oauth_request(void **state)
{
	char *b = oauth_request_body("6731de76-14a6", "a+b/c=d&e~f g",
	                             "https://outlook.office365.com/.default");

	assert_string_equal(b, "grant_type=client_credentials&client_id=6731de76-14a6&"
	                       "client_secret=a%2Bb%2Fc%3Dd%26e~f%20g&scope=https%3A%2F%2Foutlook."
	                       "office365.com%2F.default");
	free(b);
}

/* v2.0 (number) and v1.0 (string) expires_in; missing token_type is accepted. */
static void
test_oauth_parse_ok(void **state)
{
	static const char v2[] = "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
	                         "\"ext_expires_in\":3599,\"access_token\":\"eyJ0.abc.def\"}";
	static const char v1[] = "{\"token_type\":\"bearer\",\"expires_in\":\"3600\","
	                         "\"access_token\":\"tok1\"}";
	struct oauth_result r;

	assert_int_equal(oauth_parse_response(200, v2, strlen(v2), &r), 0);
	assert_string_equal(r.token, "eyJ0.abc.def");
	assert_int_equal(r.expires_in, 3599);
	assert_null(r.error);
	oauth_result_clear(&r);
	assert_int_equal(oauth_parse_response(200, v1, strlen(v1), &r), 0);
	assert_int_equal(r.expires_in, 3600);
	oauth_result_clear(&r);
	assert_int_equal(oauth_parse_response(200, "{\"access_token\":\"t\"}", 20, &r), 0);
	assert_true(r.expires_in > 0);
	oauth_result_clear(&r);
}

/*
 * A client secret (or a token) the endpoint echoes is redacted before the
 * error text is shortened: a secret straddling the cut leaves no part behind.
 */
static void
test_oauth_redacted_before_cut(void **state)
{
	static const char secret[] = "cs~Q8x7ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd";
	const char *const secrets[] = {secret, NULL};
	struct oauth_result r;
	char *body, pad[300];

	(void)state;
	for (size_t at = 150; at < 300; at += 7) {
		memset(pad, 'x', at);
		pad[at] = '\0';
		body = xasprintf("{\"error\":\"invalid_client\",\"error_description\":\"%s%s "
		                 "and the rest\",\"access_token\":\"tok-SECRETTOKEN-123456\"}",
		                 pad, secret);
		assert_int_equal(
		    oauth_parse_response_redacted(401, body, strlen(body), secrets, &r), -1);
		/* No 6 characters of the secret in a row survive, wherever the cut falls. */
		for (size_t i = 0; i + 6 <= strlen(secret); i++) {
			char part[7];

			memcpy(part, secret + i, 6);
			part[6] = '\0';
			if (strstr(r.error, part) != NULL)
				fail_msg("at %zu: \"%s\" of the secret in: %s", at, part, r.error);
		}
		oauth_result_clear(&r);
		free(body);
	}
	/* A token in a non-JSON error line is redacted as well as the secret. */
	body = xasprintf("proxy says: bad request %s", secret);
	assert_int_equal(oauth_parse_response_redacted(502, body, strlen(body), secrets, &r), -1);
	assert_non_null(strstr(r.error, "[redacted]"));
	assert_null(strstr(r.error, "cs~Q8x7"));
	oauth_result_clear(&r);
	free(body);
	/* A token that is part of "[redacted]" itself: replaced once, no endless loop. */
	body =
	    xstrdup("{\"error\":\"x\",\"error_description\":\"a token of a: a\",\"access_token\":"
	            "\"a\"}");
	assert_int_equal(oauth_parse_response_redacted(400, body, strlen(body), NULL, &r), -1);
	assert_string_equal(r.error, "HTTP 400: x: [redacted] token of [redacted]: [redacted]");
	oauth_result_clear(&r);
	free(body);
}

/* Errors: the identity platform's AADSTS code and first line, never the rest. */
static void
test_oauth_parse_errors(void **state)
{
	static const char aad[] =
	    "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client "
	    "secret provided.\\r\\nTrace ID: 0e4c\\r\\nCorrelation ID: 9b2f\\r\\nTimestamp: x\","
	    "\"error_codes\":[7000215],\"trace_id\":\"0e4c\"}";
	static const char codes_only[] =
	    "{\"error\":\"unauthorized_client\",\"error_description\":"
	    "\"The client is not authorised\",\"error_codes\":[700016]}";
	struct oauth_result r;

	assert_int_equal(oauth_parse_response(401, aad, strlen(aad), &r), -1);
	assert_string_equal(r.code, "AADSTS7000215");
	assert_string_equal(
	    r.error, "HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided.");
	assert_null(r.token);
	oauth_result_clear(&r);

	assert_int_equal(oauth_parse_response(400, codes_only, strlen(codes_only), &r), -1);
	assert_string_equal(r.code, "AADSTS700016");
	oauth_result_clear(&r);

	assert_int_equal(oauth_parse_response(500, "<html>\n<h1>Oops</h1>", 20, &r), -1);
	assert_string_equal(r.error, "HTTP 500: <html>");
	assert_string_equal(r.code, "");
	oauth_result_clear(&r);

	assert_int_equal(oauth_parse_response(200, "{\"token_type\":\"Bearer\"}", 23, &r), -1);
	assert_non_null(strstr(r.error, "no access_token"));
	oauth_result_clear(&r);
	assert_int_equal(
	    oauth_parse_response(200, "{\"token_type\":\"mac\",\"access_token\":\"t\"}", 39, &r),
	    -1);
	oauth_result_clear(&r);
	assert_int_equal(oauth_parse_response(503, NULL, 0, &r), -1);
	assert_string_equal(r.error, "HTTP 503");
	oauth_result_clear(&r);
}

/* Cached until shortly before expiry, refreshed ahead of time. */
static void
test_oauth_cache(void **state)
{
	struct oauth_cache c = {0};
	long long usable, refresh;

	oauth_times(3599, 0, &usable, &refresh);
	assert_int_equal(usable, (3599 - 60) * 1000LL);
	assert_int_equal(refresh, (3599 - 300) * 1000LL);
	oauth_times(10, 1000, &usable, &refresh);
	assert_int_equal(usable, 1000 + 8000);
	assert_int_equal(refresh, 1000 + 5000);

	assert_null(oauth_cache_get(&c, 0));
	assert_true(oauth_cache_refresh_due(&c, 0));
	oauth_cache_store(&c, xstrdup("tok"), 10, 1000);
	assert_string_equal(oauth_cache_get(&c, 1000), "tok");
	assert_false(oauth_cache_refresh_due(&c, 5999));
	assert_true(oauth_cache_refresh_due(&c, 6000));
	assert_string_equal(oauth_cache_get(&c, 8999), "tok"); /* still handed out */
	assert_null(oauth_cache_get(&c, 9000));                /* too close to expiry */
	oauth_cache_store(&c, xstrdup("tok2"), 3600, 9000);
	assert_string_equal(oauth_cache_get(&c, 9000), "tok2");
	oauth_cache_clear(&c);
	assert_null(oauth_cache_get(&c, 9000));
}

/* What the notifier logged (OAuth token events). */
static int nlogs;
static char last_log[512];

/* notifier_log_fn: count and keep the last line. */
static void
log_cb(void *arg, int pri, const char *msg)
{
	nlogs++;
	snprintf(last_log, sizeof last_log, "%s", msg);
}

/* An xoauth2 smtp configuration whose token endpoint is at token_port. */
static void
configure_xoauth2(struct fixture *fx, int token_port, int timeout)
{
	struct smtp_settings sc = {.url = "smtp://127.0.0.1:2525",
	                           .from = "alerts@council.example",
	                           .username = "alerts@council.example",
	                           .starttls = STARTTLS_REQUIRED,
	                           .auth = SMTP_AUTH_XOAUTH2,
	                           .client_id = "app",
	                           .client_secret = "cs~TOKENSECRET",
	                           .scope = "https://outlook.office365.com/.default"};

	sc.token_url = xasprintf("http://127.0.0.1:%d/tenant/oauth2/v2.0/token", token_port);
	fixture_configure(fx, &sc, NULL, timeout);
	free(sc.token_url);
	nlogs = 0;
	last_log[0] = '\0';
	notifier_set_log(fx->n, log_cb, fx);
}

/* An email of delivery id k. */
static struct delivery
xoauth2_email(int k)
{
	struct delivery d = {.id = k,
	                     .uid = "x",
	                     .kind = CHANNEL_EMAIL,
	                     .recipient = "tm@council.example",
	                     .subject = "s",
	                     .body = "b"};
	return d;
}

/* Send emails 0 to count - 1: each one is started, or waits for a token. */
static void
send_xoauth2(struct fixture *fx, int count)
{
	char *cause = NULL;

	for (int k = 0; k < count; k++) {
		struct delivery d = xoauth2_email(k);

		assert_int_equal(notifier_send(fx->n, &d, &cause), 0);
	}
}

/*
 * A token request that fails: every email waiting on it is a temporary
 * failure, the failure is logged once (without the secret), and for a few
 * seconds new emails fail at once rather than ask again.
 */
static void
test_xoauth2_token_failure(void **state)
{
	struct fixture *fx = *state;
	struct delivery d;
	char *cause = NULL;

	configure_xoauth2(fx, fixture_closed_port(), 5);
	send_xoauth2(fx, 3);
	/* Waiting for the token counts as in flight. */
	assert_int_equal(notifier_in_flight(fx->n), 3);
	fx->expect = 3;
	fixture_run(fx);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(fx->res[k].status, DELIVERY_RETRY);
		assert_non_null(strstr(fx->res[k].detail, "no OAuth access token"));
		assert_null(strstr(fx->res[k].detail, "TOKENSECRET"));
	}
	assert_int_equal(nlogs, 1);
	assert_non_null(strstr(last_log, "oauth token=failed"));
	assert_non_null(strstr(last_log, "waiting=3"));
	assert_null(strstr(last_log, "TOKENSECRET"));
	d = xoauth2_email(3);
	assert_int_equal(notifier_send(fx->n, &d, &cause), -1);
	assert_non_null(strstr(cause, "no OAuth access token"));
	free(cause);
	assert_int_equal(notifier_in_flight(fx->n), 0);
}

/* notifier_free while emails wait for a token that never comes: no callbacks, no leaks. */
static void
test_xoauth2_free_waiting(void **state)
{
	struct fixture *fx = *state;
	int port, hole = fixture_blackhole(&port);
	struct timeval soon = {0, 200000};

	configure_xoauth2(fx, port, 30);
	send_xoauth2(fx, 4);
	event_base_loopexit(fx->base, &soon);
	event_base_dispatch(fx->base);
	assert_int_equal(notifier_in_flight(fx->n), 4);
	notifier_free(fx->n);
	fx->n = NULL;
	event_base_loopexit(fx->base, &soon);
	event_base_dispatch(fx->base);
	assert_int_equal(fx->done, 0);
	close(hole);
}

/* notifier_free from the first callback of a failed token request: no more callbacks. */
static void
test_xoauth2_free_in_callback(void **state)
{
	struct fixture *fx = *state;

	configure_xoauth2(fx, fixture_closed_port(), 5);
	send_xoauth2(fx, 3);
	fx->free_in_callback = 1;
	fx->expect = 1;
	fixture_run(fx);
	assert_null(fx->n);
	assert_int_equal(fx->done, 1);
}

/*
 * Other credentials while a token request is on its way: its answer is
 * stale, and the emails waiting on it get what a request with the new
 * credentials (here, to a closed port) brings.
 */
static void
test_xoauth2_credentials_change(void **state)
{
	struct fixture *fx = *state;
	int port, hole = fixture_blackhole(&port), closed = fixture_closed_port();
	char *url = xasprintf("127.0.0.1:%d/", closed);

	configure_xoauth2(fx, port, 1);
	send_xoauth2(fx, 2);
	configure_xoauth2(fx, closed, 1);
	fx->expect = 2;
	fixture_run(fx);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(fx->res[k].status, DELIVERY_RETRY);
		assert_non_null(strstr(fx->res[k].detail, "no OAuth access token"));
		/* The closed port's refusal, not the first request's timeout. */
		if (strstr(fx->res[k].detail, "onnect") == NULL ||
		    strstr(fx->res[k].detail, "timed out") != NULL)
			fail_msg("detail: %s", fx->res[k].detail);
	}
	/* Logged once, for the request with the new credentials. */
	assert_int_equal(nlogs, 1);
	assert_non_null(strstr(last_log, "oauth token=failed"));
	assert_non_null(strstr(last_log, url));
	assert_non_null(strstr(last_log, "waiting=2"));
	free(url);
	close(hole);
}

/* Run every test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_oauth_request),
	    cmocka_unit_test(test_oauth_parse_ok),
	    cmocka_unit_test(test_oauth_parse_errors),
	    cmocka_unit_test(test_oauth_redacted_before_cut),
	    cmocka_unit_test(test_oauth_cache),
	    cmocka_unit_test_setup_teardown(test_xoauth2_token_failure, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_xoauth2_free_waiting, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_xoauth2_free_in_callback, fixture_setup,
	                                    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_xoauth2_credentials_change, fixture_setup,
	                                    fixture_teardown),
	};

	/* A server that dies must not kill the test with SIGPIPE (curl also sets MSG_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
