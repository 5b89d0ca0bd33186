/* test_http.c - unit tests for notifiers/http.c: request options, response kept, classification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "curlrec.h"
#include "http.h"
#include "transport.h"
#include "xalloc.h"

/* A GET (no body, no headers): TLS verified, no redirects, the timeouts, no CA file. */
static void
test_request_get(void **state)
{
	struct notifier_settings s = {.connect_timeout = 4, .delivery_timeout = 9};
	struct transfer *t = transfer_new();
	char *cause = NULL;

	curlrec_clear();
	assert_non_null(
	    http_request(t, &s, "https://api.example/v2/x?reference=r", NULL, NULL, 0, &cause));
	assert_null(cause);
	assert_string_equal(curlrec_find(CURLOPT_URL)->str, "https://api.example/v2/x?reference=r");
	assert_string_equal(curlrec_find(CURLOPT_PROTOCOLS_STR)->str, "http,https");
	assert_int_equal(curlrec_find(CURLOPT_FOLLOWLOCATION)->num, 0);
	assert_int_equal(curlrec_find(CURLOPT_SSL_VERIFYPEER)->num, 1);
	assert_int_equal(curlrec_find(CURLOPT_SSL_VERIFYHOST)->num, 2);
	assert_int_equal(curlrec_find(CURLOPT_SSLVERSION)->num, CURL_SSLVERSION_TLSv1_2);
	assert_int_equal(curlrec_find(CURLOPT_CONNECTTIMEOUT)->num, 4);
	assert_int_equal(curlrec_find(CURLOPT_TIMEOUT)->num, 9);
	assert_null(curlrec_find(CURLOPT_CAINFO));
	assert_null(curlrec_find(CURLOPT_POSTFIELDS));
	assert_null(curlrec_find(CURLOPT_HTTPHEADER));
	assert_non_null(curlrec_find(CURLOPT_WRITEFUNCTION));
	/* No proxy configured: none at all, whatever http_proxy/https_proxy/ALL_PROXY say. */
	assert_string_equal(curlrec_find(CURLOPT_PROXY)->str, "");
	transfer_free(t);
	curlrec_clear();
}

/* A POST: the body and its exact size, the headers given, the CA file. */
static void
test_request_post(void **state)
{
	struct notifier_settings s = {.ca_file = "/etc/escalator/ca.pem",
	                              .connect_timeout = 4,
	                              .delivery_timeout = 9,
	                              .proxy = "http://proxy.council.example:3128"};
	struct transfer *t = transfer_new();
	struct curl_slist *h = http_json_headers(NULL);
	char *cause = NULL, *body = xstrdup("{\"a\":1}");

	transfer_keep(t, body, free);
	transfer_keep_slist(t, h);
	curlrec_clear();
	assert_non_null(http_request(t, &s, "http://127.0.0.1:9/x", body, h, 0, &cause));
	assert_string_equal(curlrec_find(CURLOPT_POSTFIELDS)->str, "{\"a\":1}");
	assert_int_equal(curlrec_find(CURLOPT_POSTFIELDSIZE_LARGE)->num, 7);
	assert_ptr_equal(curlrec_find(CURLOPT_HTTPHEADER)->ptr, h);
	assert_string_equal(curlrec_find(CURLOPT_CAINFO)->str, "/etc/escalator/ca.pem");
	/* The proxy configured is the one used. */
	assert_string_equal(curlrec_find(CURLOPT_PROXY)->str, "http://proxy.council.example:3128");
	transfer_free(t);
	curlrec_clear();
}

/* The JSON headers, in order; the delivery id is cleaned to one line of ASCII. */
static void
test_json_headers(void **state)
{
	static const char *want[] = {"Content-Type: application/json", "User-Agent: escalatord",
	                             "Expect:", "X-Escalator-Delivery: d1 X-Evil: ?"};
	struct curl_slist *h = http_json_headers("d1\r\nX-Evil: \xc3\xa9"), *it = h;

	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++, it = it->next) {
		assert_non_null(it);
		assert_string_equal(it->data, want[i]);
	}
	assert_null(it);
	curl_slist_free_all(h);
	h = http_json_headers(NULL);
	assert_string_equal(h->next->next->data, "Expect:");
	assert_null(h->next->next->next);
	curl_slist_free_all(h);
}

/* At most max_response bytes of the body are kept, however much arrives. */
static void
test_response_kept(void **state)
{
	struct notifier_settings s = {.connect_timeout = 4, .delivery_timeout = 9};
	struct transfer *t = transfer_new();
	struct http_response resp;
	struct http_state *st;
	curl_write_callback write_cb;
	const void *fn;
	char chunk[700], *cause = NULL;

	memset(chunk, 'r', sizeof chunk);
	curlrec_clear();
	st = http_request(t, &s, "http://127.0.0.1:9/", NULL, NULL, 1000, &cause);
	assert_non_null(st);
	http_get_response(t, st, &resp);
	assert_string_equal(resp.body, "");
	assert_int_equal(resp.len, 0);
	fn = curlrec_find(CURLOPT_WRITEFUNCTION)->ptr;
	memcpy(&write_cb, &fn, sizeof write_cb);
	/* Every byte is taken (curl would fail the transfer otherwise), only 1000 kept. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    write_cb(chunk, 1, sizeof chunk, (void *)curlrec_find(CURLOPT_WRITEDATA)->ptr),
		    sizeof chunk);
	http_get_response(t, st, &resp);
	assert_int_equal(resp.len, 1000);
	assert_int_equal(strlen(resp.body), 1000);
	assert_int_equal(resp.code, 0);
	assert_null(resp.retry_after);
	transfer_free(t);
	curlrec_clear();
}

/* A transfer that failed before any answer: a temporary failure with curl's own text. */
static void
test_finish_no_answer(void **state)
{
	struct notifier_settings s = {.connect_timeout = 4, .delivery_timeout = 9};
	struct transfer *t = transfer_new();
	struct delivery_result r;
	struct http_state *st;
	char *cause = NULL, *detail;

	st = http_request(t, &s, "http://127.0.0.1:9/", NULL, NULL, 0, &cause);
	detail = http_finish(t, st, CURLE_COULDNT_CONNECT, &r);
	assert_ptr_equal(detail, r.detail);
	assert_int_equal(r.status, DELIVERY_RETRY);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.detail, curl_easy_strerror(CURLE_COULDNT_CONNECT));
	free(detail);
	transfer_free(t);
	curlrec_clear();
}

/* An HTTP result and what it should become. */
struct classify_case {
	CURLcode rc;
	long code;
	const char *body, *retry_after;
	enum delivery_status status;
	int retry;
	const char *detail;
};

/* Every HTTP status class is classified as the brief says. */
static void
test_classify(void **state)
{
	static const struct classify_case cases[] = {
	    {CURLE_OK, 200, "ok", NULL, DELIVERY_SENT, 0, "HTTP 200"},
	    {CURLE_OK, 201, "", NULL, DELIVERY_SENT, 0, "HTTP 201"},
	    {CURLE_OK, 204, NULL, NULL, DELIVERY_SENT, 0, "HTTP 204"},
	    {CURLE_OK, 301, "Moved\n<html>", NULL, DELIVERY_FAILED, 0, "HTTP 301: Moved"},
	    {CURLE_OK, 400, "\n  bad request: no \"rule\"\r\nmore", NULL, DELIVERY_FAILED, 0,
	     "HTTP 400: bad request: no \"rule\""},
	    {CURLE_OK, 404, "Not Found", "60", DELIVERY_FAILED, 0, "HTTP 404: Not Found"},
	    {CURLE_OK, 408, "", NULL, DELIVERY_RETRY, 0, "HTTP 408"},
	    {CURLE_OK, 429, "slow down", "120", DELIVERY_RETRY, 120, "HTTP 429: slow down"},
	    {CURLE_OK, 429, "", "999999", DELIVERY_RETRY, 86400, "HTTP 429"},
	    {CURLE_OK, 500, "boom\x1b[0m\x01", NULL, DELIVERY_RETRY, 0, "HTTP 500: boom [0m"},
	    {CURLE_OK, 503, "maintenance", " 30 ", DELIVERY_RETRY, 30, "HTTP 503: maintenance"},
	    {CURLE_OK, 503, "", "soon", DELIVERY_RETRY, 0, "HTTP 503"},
	    {CURLE_COULDNT_CONNECT, 0, NULL, NULL, DELIVERY_RETRY, 0,
	     "Failed to connect to 127.0.0.1 port 9: Connection refused"},
	    {CURLE_OPERATION_TIMEDOUT, 0, NULL, NULL, DELIVERY_RETRY, 0, "Timeout was reached"},
	    {CURLE_PEER_FAILED_VERIFICATION, 0, NULL, NULL, DELIVERY_RETRY, 0,
	     "SSL certificate problem"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct classify_case *c = &cases[i];
		const char *errbuf = "";
		struct delivery_result r;
		char *detail;

		if (c->rc == CURLE_COULDNT_CONNECT || c->rc == CURLE_PEER_FAILED_VERIFICATION)
			errbuf = c->detail;
		detail = http_classify(c->rc, c->code, c->body, c->body ? strlen(c->body) : 0,
		                       c->retry_after, 1000, errbuf, &r);
		assert_ptr_equal(detail, r.detail);
		assert_int_equal(r.status, c->status);
		assert_int_equal(r.code, c->code);
		assert_int_equal(r.retry_after, c->retry);
		assert_string_equal(r.detail, c->detail);
		free(detail);
	}
}

/* A long response line is cut; the detail stays one bounded line. */
static void
test_classify_long_body(void **state)
{
	char body[2000];
	struct delivery_result r;
	char *detail;

	memset(body, 'x', sizeof body);
	body[500] = '\n';
	detail = http_classify(CURLE_OK, 400, body, sizeof body, NULL, 0, "", &r);
	assert_true(strlen(detail) <= 300);
	assert_true(strlen(detail) >= 200);
	assert_null(strchr(detail, '\n'));
	free(detail);
}

/* Retry-After: delay-seconds, HTTP-dates, and junk. */
static void
test_retry_after(void **state)
{
	time_t now = 1793347200; /* Fri, 30 Oct 2026 08:00:00 GMT */

	assert_int_equal(http_retry_after(NULL, now), 0);
	assert_int_equal(http_retry_after("", now), 0);
	assert_int_equal(http_retry_after("0", now), 0);
	assert_int_equal(http_retry_after("45", now), 45);
	assert_int_equal(http_retry_after("86400", now), 86400);
	assert_int_equal(http_retry_after("86401", now), 86400);
	assert_int_equal(http_retry_after("99999999999999999999999", now), 86400);
	assert_int_equal(http_retry_after("-5", now), 0);
	assert_int_equal(http_retry_after("12abc", now), 0);
	assert_int_equal(http_retry_after("Fri, 30 Oct 2026 08:10:00 GMT", now), 600);
	assert_int_equal(http_retry_after("Fri, 30 Oct 2026 07:00:00 GMT", now), 0);
	assert_int_equal(http_retry_after("Sat, 30 Oct 2027 08:00:00 GMT", now), 86400);
}

/* Run every test. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_get),        cmocka_unit_test(test_request_post),
	    cmocka_unit_test(test_json_headers),       cmocka_unit_test(test_response_kept),
	    cmocka_unit_test(test_finish_no_answer),   cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_classify_long_body), cmocka_unit_test(test_retry_after),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
