/*
 * test_transport.c - unit tests for notifiers/transport.c: real HTTP transfers on one curl
 * multi handle driven by libevent, against an evhttp server on 127.0.0.1 in the same loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "transport.h"
#include "utf8.h"
#include "xalloc.h"

/* curl_multi_add_handle, wrapped (-Wl,--wrap) so a test can make curl refuse a transfer. */
CURLMcode __real_curl_multi_add_handle(CURLM *multi, CURL *easy);
CURLMcode __wrap_curl_multi_add_handle(CURLM *multi, CURL *easy);
static CURLMcode refuse_add = CURLM_OK;

CURLMcode
__wrap_curl_multi_add_handle(CURLM *multi, CURL *easy)
{
	if (refuse_add != CURLM_OK)
		return refuse_add;
	return __real_curl_multi_add_handle(multi, easy);
}

/* What the server saw. */
struct server {
	struct evhttp *http;
	int port;
	int requests; /* requests received, answered or not */
	int held;     /* requests to /hold, never answered */
	char method[8];
	char x_test[128]; /* the last X-Test header, "" if none */
	int injected;     /* a request carried an "Injected" header */
	char body[1024];  /* the last request's body */
};

/* One test's event loop, transport and server. */
struct fixture {
	struct event_base *base;
	struct transport *tp;
	struct event *guard; /* ends a loop that would otherwise hang */
	int timed_out;
	struct server srv;
	int done_calls;     /* done functions called, all transfers together */
	size_t running[16]; /* transport_running seen by each done function, in order */
};

/* What one transfer's done function saw. */
struct result {
	struct fixture *fx;
	int calls;
	CURLcode rc;
	long status;
	char error[CURL_ERROR_SIZE];
	int inside_start;          /* called from inside transport_start */
	size_t running_after_next; /* transport_running after then_start_next */
	char body[256];
	size_t len;
	/* Something to do inside the done function. */
	void (*then)(struct result *r);
	struct result *next; /* for then: a transfer to start */
	const char *next_path;
};

/* Counts how often a transfer freed it. */
struct probe {
	int freed;
};

static int in_start; /* inside transport_start, as called by start() */

/* transfer_keep's free function for a probe: count, free nothing. */
static void
probe_free(void *p)
{
	((struct probe *)p)->freed++;
}

/* The server: answer "/hold" never, "/status/N" with N, anything else 200 "hello <path>". */
static void
server_cb(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req), *out;
	const char *x = evhttp_find_header(h, "X-Test");
	size_t n = evbuffer_get_length(in);
	int status = 200;

	srv->requests++;
	snprintf(srv->method, sizeof srv->method, "%s",
	         evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET");
	snprintf(srv->x_test, sizeof srv->x_test, "%s", x ? x : "");
	if (evhttp_find_header(h, "Injected") != NULL)
		srv->injected = 1;
	if (n >= sizeof srv->body)
		n = sizeof srv->body - 1;
	evbuffer_copyout(in, srv->body, n);
	srv->body[n] = '\0';
	if (strcmp(uri, "/hold") == 0) {
		srv->held++;
		return; /* evhttp frees it with the connection */
	}
	if (strncmp(uri, "/status/", 8) == 0)
		status = atoi(uri + 8);
	out = evbuffer_new();
	evbuffer_add_printf(out, "hello %s", uri);
	evhttp_send_reply(req, status, "Whatever", out);
	evbuffer_free(out);
}

/* The guard timer fired: the test would have hung. */
static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fixture *fx = arg;

	(void)fd;
	(void)what;
	fx->timed_out = 1;
	event_base_loopbreak(fx->base);
}

/* An event loop, a transport on it and a server on 127.0.0.1 (any free port). */
static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof *fx);
	struct evhttp_bound_socket *bound;
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	refuse_add = CURLM_OK;
	in_start = 0;
	fx->base = event_base_new();
	fx->tp = transport_new(fx->base);
	fx->guard = evtimer_new(fx->base, guard_cb, fx);
	fx->srv.http = evhttp_new(fx->base);
	if (fx->base == NULL || fx->guard == NULL || fx->srv.http == NULL)
		return -1;
	evhttp_set_gencb(fx->srv.http, server_cb, &fx->srv);
	if ((bound = evhttp_bind_socket_with_handle(fx->srv.http, "127.0.0.1", 0)) == NULL)
		return -1;
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &len) != 0)
		return -1;
	fx->srv.port = ntohs(sin.sin_port);
	*state = fx;
	return 0;
}

/* Free the transport (if a test has not), the server and the loop. */
static int
teardown(void **state)
{
	struct fixture *fx = *state;

	transport_free(fx->tp);
	evhttp_free(fx->srv.http);
	event_free(fx->guard);
	event_base_free(fx->base);
	free(fx);
	refuse_add = CURLM_OK;
	return 0;
}

/* CURLOPT_WRITEFUNCTION: keep the start of the response body. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct result *r = arg;
	size_t n = size * nmemb, room = sizeof r->body - 1 - r->len;

	memcpy(r->body + r->len, data, n < room ? n : room);
	r->len += n < room ? n : room;
	r->body[r->len] = '\0';
	return n;
}

/* The done function: record what it saw, then do the test's extra step. */
static void
done_cb(struct transfer *t, CURLcode rc, void *arg)
{
	struct result *r = arg;
	struct fixture *fx = r->fx;

	r->calls++;
	r->rc = rc;
	r->inside_start = in_start;
	curl_easy_getinfo(transfer_easy(t), CURLINFO_RESPONSE_CODE, &r->status);
	snprintf(r->error, sizeof r->error, "%s", transfer_error(t));
	if (fx->done_calls < (int)(sizeof fx->running / sizeof fx->running[0]))
		fx->running[fx->done_calls] = fx->tp != NULL ? transport_running(fx->tp) : 999;
	fx->done_calls++;
	if (r->then != NULL)
		r->then(r);
}

/* A transfer of url to r, through no proxy whatever the environment says. */
static struct transfer *
new_transfer_url(struct result *r, const char *url)
{
	struct transfer *t = transfer_new();
	CURL *e = transfer_easy(t);

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	transfer_set_done(t, done_cb, r);
	return t;
}

/* A GET of path on the test server. */
static struct transfer *
new_get(struct fixture *fx, struct result *r, const char *path)
{
	char *url = xasprintf("http://127.0.0.1:%d%s", fx->srv.port, path);
	struct transfer *t;

	r->fx = fx;
	t = new_transfer_url(r, url);
	free(url); /* curl copies it */
	return t;
}

/* transport_start, which must accept t; notes that done functions run inside it. */
static void
start(struct fixture *fx, struct transfer *t)
{
	char *cause = NULL;
	int rc;

	in_start = 1;
	rc = transport_start(fx->tp, t, &cause);
	in_start = 0;
	if (rc != 0)
		fail_msg("transport_start: %s", cause);
	assert_null(cause);
}

/* Run the loop until *counter reaches n; fail after 20 s (something hangs). */
static void
run_until(struct fixture *fx, const int *counter, int n)
{
	struct timeval tv = {20, 0};

	evtimer_add(fx->guard, &tv);
	while (*counter < n && !fx->timed_out)
		event_base_loop(fx->base, EVLOOP_ONCE);
	evtimer_del(fx->guard);
	if (fx->timed_out)
		fail_msg("the loop did not get there: %d of %d", *counter, n);
}

/* Let the loop handle whatever is ready now (closed connections, late callbacks). */
static void
run_pending(struct fixture *fx)
{
	for (int i = 0; i < 20; i++)
		event_base_loop(fx->base, EVLOOP_NONBLOCK);
}

/* A GET: done once, later, from the loop, with curl's result, status and body. */
static void
test_transport_get(void **state)
{
	struct fixture *fx = *state;
	struct result r = {0};
	struct probe p = {0};
	struct transfer *t = new_get(fx, &r, "/hello");

	transfer_keep(t, &p, probe_free);
	assert_int_equal(transport_running(fx->tp), 0);
	start(fx, t);
	assert_int_equal(transport_running(fx->tp), 1);
	/* Nothing has happened yet: the done function waits for the loop. */
	assert_int_equal(r.calls, 0);
	assert_int_equal(fx->srv.requests, 0);
	run_until(fx, &r.calls, 1);
	run_pending(fx);
	assert_int_equal(r.calls, 1);
	assert_false(r.inside_start);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello /hello");
	assert_string_equal(r.error, "");
	assert_int_equal(fx->running[0], 0); /* no longer counted when done runs */
	assert_int_equal(transport_running(fx->tp), 0);
	assert_int_equal(fx->srv.requests, 1);
	assert_string_equal(fx->srv.method, "GET");
	assert_int_equal(p.freed, 1);
}

/* The transport does not judge HTTP statuses: a 503 is a finished transfer like any other. */
static void
test_transport_http_error_status(void **state)
{
	struct fixture *fx = *state;
	struct result r = {0};

	start(fx, new_get(fx, &r, "/status/503"));
	run_until(fx, &r.calls, 1);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 503);
}

/* Several transfers at once: each done once; transport_running counts down to 0. */
static void
test_transport_concurrent(void **state)
{
	struct fixture *fx = *state;
	struct result r[6] = {{0}};
	struct probe p[6] = {{0}};
	size_t seen[6] = {0};

	for (int i = 0; i < 6; i++) {
		char path[32];
		struct transfer *t;

		snprintf(path, sizeof path, "/t%d", i);
		t = new_get(fx, &r[i], path);
		transfer_keep(t, &p[i], probe_free);
		start(fx, t);
		assert_int_equal(transport_running(fx->tp), (size_t)i + 1);
	}
	run_until(fx, &fx->done_calls, 6);
	run_pending(fx);
	assert_int_equal(fx->done_calls, 6);
	assert_int_equal(fx->srv.requests, 6);
	for (int i = 0; i < 6; i++) {
		char want[32];

		snprintf(want, sizeof want, "hello /t%d", i);
		assert_int_equal(r[i].calls, 1);
		assert_false(r[i].inside_start);
		assert_int_equal(r[i].rc, CURLE_OK);
		assert_string_equal(r[i].body, want);
		assert_int_equal(p[i].freed, 1);
		/* The k-th done function to run sees 6 - k - 1 transfers still running. */
		assert_true(fx->running[i] < 6);
		seen[fx->running[i]]++;
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(transport_running(fx->tp), 0);
}

/* then: start r->next, a GET of r->next_path, from inside the done function. */
static void
then_start_next(struct result *r)
{
	start(r->fx, new_get(r->fx, r->next, r->next_path));
	r->running_after_next = transport_running(r->fx->tp);
}

/* A done function may start the next transfer; its own done function runs later. */
static void
test_transport_start_from_done(void **state)
{
	struct fixture *fx = *state;
	struct result first = {0}, second = {0};

	first.then = then_start_next;
	first.next = &second;
	first.next_path = "/second";
	start(fx, new_get(fx, &first, "/first"));
	run_until(fx, &second.calls, 1);
	run_pending(fx);
	assert_int_equal(first.calls, 1);
	assert_int_equal(second.calls, 1);
	assert_false(second.inside_start);
	assert_int_equal(first.running_after_next, 1);
	assert_string_equal(second.body, "hello /second");
	assert_int_equal(fx->srv.requests, 2);
	assert_int_equal(transport_running(fx->tp), 0);
}

/* then: free the whole transport from inside a done function. */
static void
then_free_transport(struct result *r)
{
	transport_free(r->fx->tp);
	r->fx->tp = NULL;
}

/*
 * transport_free inside a done function: safe (ASan would see a use after free); the other
 * transfers, finished or not, are dropped without their done functions, and what they
 * keep is freed once.
 */
static void
test_transport_free_inside_done(void **state)
{
	struct fixture *fx = *state;
	struct result r[4] = {{0}};
	struct probe p[4] = {{0}};
	static const char *const paths[] = {"/a", "/b", "/hold", "/hold"};
	struct transfer *t;

	for (int i = 0; i < 4; i++) {
		t = new_get(fx, &r[i], paths[i]);
		r[i].then = then_free_transport;
		transfer_keep(t, &p[i], probe_free);
		transfer_keep(t, xstrdup(paths[i]), free);
		transfer_keep_slist(t, transport_add_header(NULL, xstrdup("X-Test: kept")));
		start(fx, t);
	}
	run_until(fx, &fx->done_calls, 1);
	run_pending(fx);
	assert_null(fx->tp);
	assert_int_equal(fx->done_calls, 1);
	assert_int_equal(r[0].calls + r[1].calls, 1);
	assert_int_equal(r[2].calls + r[3].calls, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(p[i].freed, 1);
}

/* transport_free with transfers in flight: no done function runs, everything kept is freed. */
static void
test_transport_free_in_flight(void **state)
{
	struct fixture *fx = *state;
	struct result r[2] = {{0}};
	struct probe p[2] = {{0}};

	for (int i = 0; i < 2; i++) {
		struct transfer *t = new_get(fx, &r[i], "/hold");
		struct curl_slist *h = transport_add_header(NULL, xstrdup("X-Test: held"));

		curl_easy_setopt(transfer_easy(t), CURLOPT_HTTPHEADER, h);
		transfer_keep_slist(t, h);
		transfer_keep(t, &p[i], probe_free);
		start(fx, t);
	}
	run_until(fx, &fx->srv.held, 2);
	assert_string_equal(fx->srv.x_test, "held");
	assert_int_equal(transport_running(fx->tp), 2);
	transport_free(fx->tp);
	fx->tp = NULL;
	run_pending(fx);
	assert_int_equal(fx->done_calls, 0);
	assert_int_equal(p[0].freed, 1);
	assert_int_equal(p[1].freed, 1);
	transport_free(NULL);
}

/* Freed before the loop ever ran: nothing was sent, nothing is called. */
static void
test_transport_free_before_loop(void **state)
{
	struct fixture *fx = *state;
	struct result r = {0};
	struct probe p = {0};
	struct transfer *t = new_get(fx, &r, "/never");

	transfer_keep(t, &p, probe_free);
	start(fx, t);
	transport_free(fx->tp);
	fx->tp = NULL;
	run_pending(fx);
	assert_int_equal(r.calls, 0);
	assert_int_equal(p.freed, 1);
	assert_int_equal(fx->srv.requests, 0);
}

/* A port nobody listens on: done once with CURLE_COULDNT_CONNECT and curl's error text. */
static void
test_transport_connect_refused(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof sin;
	struct result r = {.fx = fx};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	char *url;

	/* A port that was free a moment ago, closed again. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	close(s);
	url = xasprintf("http://127.0.0.1:%d/", ntohs(sin.sin_port));
	start(fx, new_transfer_url(&r, url));
	free(url);
	run_until(fx, &r.calls, 1);
	run_pending(fx);
	assert_int_equal(r.calls, 1);
	assert_false(r.inside_start);
	assert_int_equal(r.rc, CURLE_COULDNT_CONNECT);
	assert_int_equal(r.status, 0);
	assert_true(strlen(r.error) > 0);
	assert_int_equal(transport_running(fx->tp), 0);
}

/*
 * Transfers curl fails at its first step (an unknown scheme, a malformed URL): still done
 * once, from the loop, never from inside transport_start.
 */
static void
test_transport_fails_at_once(void **state)
{
	struct fixture *fx = *state;
	struct result bad_scheme = {.fx = fx}, bad_url = {.fx = fx};

	start(fx, new_transfer_url(&bad_scheme, "nosuchscheme://127.0.0.1/"));
	start(fx, new_transfer_url(&bad_url, "http://[127.0.0.1/"));
	assert_int_equal(fx->done_calls, 0);
	assert_int_equal(transport_running(fx->tp), 2);
	run_until(fx, &fx->done_calls, 2);
	run_pending(fx);
	assert_int_equal(bad_scheme.calls, 1);
	assert_int_equal(bad_url.calls, 1);
	assert_false(bad_scheme.inside_start);
	assert_false(bad_url.inside_start);
	assert_int_equal(bad_scheme.rc, CURLE_UNSUPPORTED_PROTOCOL);
	assert_int_equal(bad_url.rc, CURLE_URL_MALFORMAT);
	assert_true(strlen(bad_scheme.error) > 0);
	assert_int_equal(transport_running(fx->tp), 0);
	assert_int_equal(fx->srv.requests, 0);
}

/* A server that never answers: curl's own timeout ends the transfer (the timer path). */
static void
test_transport_timeout(void **state)
{
	struct fixture *fx = *state;
	struct result r = {0};
	struct transfer *t = new_get(fx, &r, "/hold");

	curl_easy_setopt(transfer_easy(t), CURLOPT_TIMEOUT_MS, 50L);
	start(fx, t);
	run_until(fx, &r.calls, 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	assert_true(strlen(r.error) > 0);
	assert_int_equal(fx->srv.held, 1);
	assert_int_equal(transport_running(fx->tp), 0);
}

/* curl refuses the transfer: -1 with the reason, the transfer freed, nothing running. */
static void
test_transport_start_refused(void **state)
{
	struct fixture *fx = *state;
	struct result r = {0};
	struct probe p = {0};
	struct transfer *t = new_get(fx, &r, "/refused");
	char *cause = NULL;

	transfer_keep(t, &p, probe_free);
	transfer_keep(t, xstrdup("freed with the transfer"), free);
	refuse_add = CURLM_OUT_OF_MEMORY;
	assert_int_equal(transport_start(fx->tp, t, &cause), -1);
	refuse_add = CURLM_OK;
	assert_non_null(cause);
	assert_string_equal(cause, "curl_multi_add_handle: Out of memory");
	free(cause);
	assert_int_equal(p.freed, 1);
	assert_int_equal(transport_running(fx->tp), 0);
	run_pending(fx);
	assert_int_equal(r.calls, 0);
	assert_int_equal(fx->srv.requests, 0);

	/* The transport still works. */
	start(fx, new_get(fx, &r, "/after"));
	run_until(fx, &r.calls, 1);
	assert_string_equal(r.body, "hello /after");
}

/* Headers and a MIME body kept by the transfer reach the server; a header cannot be forged. */
static void
test_transport_headers_and_mime(void **state)
{
	struct fixture *fx = *state;
	struct result r = {0};
	struct probe p = {0};
	struct transfer *t = new_get(fx, &r, "/post");
	CURL *e = transfer_easy(t);
	struct curl_slist *h = NULL;
	char *value = transport_clean_text("case A01\r\nInjected: yes", 200, 1);
	curl_mime *mime = curl_mime_init(e);
	curl_mimepart *part = curl_mime_addpart(mime);

	h = transport_add_header(h, xasprintf("X-Test: %s", value));
	h = transport_add_header(h, xstrdup("Expect:"));
	free(value);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	transfer_keep_slist(t, h);
	curl_mime_name(part, "field");
	curl_mime_data(part, "the-field-value", CURL_ZERO_TERMINATED);
	curl_easy_setopt(e, CURLOPT_MIMEPOST, mime);
	transfer_keep_mime(t, mime);
	transfer_keep(t, &p, probe_free);
	start(fx, t);
	run_until(fx, &r.calls, 1);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(fx->srv.method, "POST");
	assert_string_equal(fx->srv.x_test, "case A01 Injected: yes");
	assert_false(fx->srv.injected);
	assert_non_null(strstr(fx->srv.body, "name=\"field\""));
	assert_non_null(strstr(fx->srv.body, "the-field-value"));
	assert_int_equal(p.freed, 1);
}

/* What a transfer keeps is freed once when it is freed, started or not; NULL is not kept. */
static void
test_transport_keep(void **state)
{
	struct probe p[20] = {{0}}, never = {0};
	struct transfer *t = transfer_new();

	(void)state;
	for (int i = 0; i < 20; i++) /* beyond the first allocation of the list */
		transfer_keep(t, &p[i], probe_free);
	transfer_keep(t, NULL, probe_free);
	transfer_keep(t, xstrdup("a string"), free);
	transfer_keep_slist(t, curl_slist_append(NULL, "X-A: 1"));
	transfer_keep_slist(t, NULL);
	transfer_keep_mime(t, curl_mime_init(transfer_easy(t)));
	assert_string_equal(transfer_error(t), "");
	for (int i = 0; i < 20; i++)
		assert_int_equal(p[i].freed, 0);
	transfer_free(t);
	for (int i = 0; i < 20; i++)
		assert_int_equal(p[i].freed, 1);
	assert_int_equal(never.freed, 0);
	transfer_free(NULL);
}

/* transport_add_header appends a copy of the line and frees the original. */
static void
test_transport_add_header(void **state)
{
	struct curl_slist *l = NULL;

	(void)state;
	l = transport_add_header(l, xstrdup("Content-Type: application/json"));
	l = transport_add_header(l, xasprintf("Authorization: Bearer %s", "token"));
	l = transport_add_header(l, xstrdup(""));
	assert_non_null(l);
	assert_string_equal(l->data, "Content-Type: application/json");
	assert_string_equal(l->next->data, "Authorization: Bearer token");
	assert_string_equal(l->next->next->data, "");
	assert_null(l->next->next->next);
	curl_slist_free_all(l);
}

/* One case of transport_clean_text: in, cut to max, ascii_only, gives want. */
struct clean_case {
	const char *in;
	size_t max;
	int ascii_only;
	const char *want;
};

/* Assert every case of a table. */
static void
expect_clean(const struct clean_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *got = transport_clean_text(c[i].in, c[i].max, c[i].ascii_only);

		if (strcmp(got, c[i].want) != 0)
			fail_msg("clean(\"%s\", %zu, %d) = \"%s\", expected \"%s\"",
			         c[i].in ? c[i].in : "(null)", c[i].max, c[i].ascii_only, got,
			         c[i].want);
		free(got);
	}
}

/* Control characters: each run becomes one space; at the ends they go, with the spaces. */
static void
test_transport_clean_controls(void **state)
{
	static const struct clean_case cases[] = {
	    {NULL, 100, 0, ""},
	    {"", 100, 0, ""},
	    {"Review overdue", 100, 0, "Review overdue"},
	    {"a\r\nb", 100, 0, "a b"},
	    {"a\r\n\t\x01\x1f\x7f b", 100, 0, "a  b"},
	    {"a\x7fz", 100, 0, "a z"},
	    {"\r\n  x  \r\n", 100, 0, "x"},
	    {"\n x", 100, 0, "x"},
	    {"two  spaces", 100, 0, "two  spaces"},
	    {"\r\n\t", 100, 0, ""},
	    {"   ", 100, 0, ""},
	    /* C1 controls (U+0080-U+009F): NEL, and both ends of the range. */
	    {"a\xc2\x85z", 100, 0, "a z"},
	    {"a\xc2\x80\xc2\x9fz", 100, 1, "a z"},
	    /* U+00A0 is not a control character. */
	    {"a\xc2\xa0z", 100, 0, "a\xc2\xa0z"},
	    /* A header injection attempt ends up on one line. */
	    {"A01\r\nBcc: victim@example.com", 100, 0, "A01 Bcc: victim@example.com"},
	};

	(void)state;
	expect_clean(cases, sizeof cases / sizeof cases[0]);
}

/* Invalid UTF-8 becomes U+FFFD; with ascii_only every non-ASCII character becomes '?'. */
static void
test_transport_clean_utf8(void **state)
{
	static const struct clean_case cases[] = {
	    {"caf\xe9", 100, 0, "caf\xef\xbf\xbd"},
	    {"caf\xe9", 100, 1, "caf?"},
	    /* An overlong '/' and a UTF-16 surrogate: one U+FFFD per byte. */
	    {"\xc0\xaf\xed\xa0\x80", 100, 0,
	     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {"Zo\xc3\xab pays 5 \xe2\x82\xac \xf0\x9f\x98\x80", 100, 0,
	     "Zo\xc3\xab pays 5 \xe2\x82\xac \xf0\x9f\x98\x80"},
	    {"Zo\xc3\xab pays 5 \xe2\x82\xac \xf0\x9f\x98\x80", 100, 1, "Zo? pays 5 ? ?"},
	};

	(void)state;
	expect_clean(cases, sizeof cases / sizeof cases[0]);
}

/* The cut: at most max bytes, never inside a character, no trailing space left. */
static void
test_transport_clean_cut(void **state)
{
	static const struct clean_case cases[] = {
	    {"Hello world", 0, 0, ""},
	    {"Hello world", 5, 0, "Hello"},
	    {"Hello world", 6, 0, "Hello"},
	    {"Hello world", 7, 0, "Hello w"},
	    {"Hello world", 11, 0, "Hello world"},
	    /* "Zoë" is Z, o and a two-byte ë. */
	    {"Zo\xc3\xab", 3, 0, "Zo"},
	    {"Zo\xc3\xab", 4, 0, "Zo\xc3\xab"},
	    {"Zo\xc3\xab", 3, 1, "Zo?"},
	    {"\xe2\x82\xac\xe2\x82\xac", 5, 0, "\xe2\x82\xac"},
	    {"\xf0\x9f\x98\x80", 3, 0, ""},
	    {"caf\xe9", 5, 0, "caf"}, /* U+FFFD is three bytes */
	    /* The space a control run leaves counts too. */
	    {"ab\ncd", 3, 0, "ab"},
	    {"ab\ncd", 4, 0, "ab c"},
	};

	(void)state;
	expect_clean(cases, sizeof cases / sizeof cases[0]);
}

/* Many generated strings: the result is valid UTF-8, has no control, and fits. */
static void
test_transport_clean_property(void **state)
{
	static const char *const pieces[] = {
	    "a",
	    " ",
	    "\n",
	    "\r",
	    "\t",
	    "\x7f",
	    "\xc2\x85",
	    "\xc2\xa0",
	    "\xc3\xab",
	    "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80",
	    "\xff",
	    "\x80",
	    "\xe2\x82",
	    "\xc0\xaf",
	    "\xed\xa0\x80",
	    "Z",
	};
	unsigned seed = 12345;

	(void)state;
	for (int n = 0; n < 3000; n++) {
		char in[128] = "";
		size_t max = 0;
		int ascii = 0;

		for (int k = 0; k < 12; k++) {
			seed = seed * 1103515245u + 12345u;
			strcat(in, pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])]);
		}
		seed = seed * 1103515245u + 12345u;
		max = (seed >> 16) % 40;
		ascii = (seed >> 8) & 1;

		char *out = transport_clean_text(in, max, ascii);
		size_t len = strlen(out);

		assert_true(len <= max);
		if (len > 0)
			assert_true(out[0] != ' ' && out[len - 1] != ' ');
		for (const unsigned char *p = (const unsigned char *)out; *p != '\0';) {
			size_t l = utf8_seq_len(p);

			assert_true(l > 0);
			assert_true(*p >= 0x20 && *p != 0x7f);
			assert_false(p[0] == 0xc2 && p[1] < 0xa0);
			if (ascii)
				assert_int_equal(l, 1);
			p += l;
		}
		free(out);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_transport_get),
	    T(test_transport_http_error_status),
	    T(test_transport_concurrent),
	    T(test_transport_start_from_done),
	    T(test_transport_free_inside_done),
	    T(test_transport_free_in_flight),
	    T(test_transport_free_before_loop),
	    T(test_transport_connect_refused),
	    T(test_transport_fails_at_once),
	    T(test_transport_timeout),
	    T(test_transport_start_refused),
	    T(test_transport_headers_and_mime),
	    cmocka_unit_test(test_transport_keep),
	    cmocka_unit_test(test_transport_add_header),
	    cmocka_unit_test(test_transport_clean_controls),
	    cmocka_unit_test(test_transport_clean_utf8),
	    cmocka_unit_test(test_transport_clean_cut),
	    cmocka_unit_test(test_transport_clean_property),
	};

	return cmocka_run_group_tests_name("transport", tests, NULL, NULL);
}
