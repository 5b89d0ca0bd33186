/*
 * listen.c - the HTTP listener on the daemon's own loop (libevent's evhttp:
 * no thread, no second loop). Routes: /r/<token> (respond.c), /metrics and
 * /healthz (metrics.c); anything else is 404. Meant for a reverse proxy on
 * the same host, which adds TLS and single sign-on.
 *
 * Limits, so that no client can hold up deliveries or exhaust the process:
 * - headers (with the request line) 8 KiB and a body 16 KiB, else 413;
 * - a connection that sends or receives nothing for 10 s is closed
 *   (evhttp_set_timeout: an idle timeout per read and write, from accept;
 *   a client that trickles a byte every few seconds is bounded only by the
 *   header and body limits, which is why a proxy belongs in front);
 * - at most LISTEN_MAX_CONNS connections that have sent a request are kept;
 *   a request on one more is answered 503 and its connection closed.
 *   libevent 2.1 has no evhttp_set_max_connections (2.2 has) and no public
 *   way to refuse a connection when it is accepted, so a connection is
 *   counted from its first request (evhttp_connection_set_closecb says when
 *   it goes); connections that never send a request are bounded by the
 *   timeout alone. If the process runs out of descriptors, accepting pauses
 *   for a second instead of spinning.
 */
#include "listen.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/buffer.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "daemon_impl.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"
#include "respond_page.h"
#include "xalloc.h"

#define LISTEN_MAX_HEADERS 8192
#define LISTEN_MAX_BODY RESPOND_BODY_MAX
#define LISTEN_TIMEOUT 10
#define LISTEN_MAX_CONNS 64
#define LISTEN_BACKLOG 128

/* What every HTML page carries: no outside resources, no framing, the token not leaked. */
#define LISTEN_CSP                                                                                 \
	"default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'self'; "      \
	"frame-ancestors 'none'; base-uri 'none'"

struct listener {
	struct daemon *dm;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *resume_ev; /* accepting again after running out of descriptors */
	time_t last_full;        /* when that was last logged */
	char *host;              /* the address bound, as configured */
	int port;
	char *name; /* host:port as people write it, for the log */
	/* The connections that have sent a request, until they close. */
	struct evhttp_connection *conns[LISTEN_MAX_CONNS];
	size_t nconns;
};

/* libevent's own warnings, as our log lines (its default writes bare lines to stderr). */
static void
listen_event_log_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warn("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

/* A connection counted in l->conns has closed. */
static void
listen_conn_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct listener *l = arg;

	for (size_t i = 0; i < l->nconns; i++) {
		if (l->conns[i] == evcon) {
			l->conns[i] = l->conns[--l->nconns];
			return;
		}
	}
}

/* Count req's connection; false when there are already too many. */
static bool
listen_conn_admit(struct listener *l, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	if (evcon == NULL)
		return true;
	for (size_t i = 0; i < l->nconns; i++)
		if (l->conns[i] == evcon)
			return true;
	if (l->nconns == LISTEN_MAX_CONNS)
		return false;
	l->conns[l->nconns++] = evcon;
	evhttp_connection_set_closecb(evcon, listen_conn_closed_cb, l);
	return true;
}

/* Send status with body (NUL-terminated, or NULL) of content type type; log the request. */
static void
listen_send(struct evhttp_request *req, const char *path, int status, const char *type,
            const char *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evhttp_request_get_output_buffer(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char len[32];

	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	if (type != NULL) {
		evhttp_add_header(h, "Content-Type", type);
		if (strncmp(type, "text/html", 9) == 0) {
			evhttp_add_header(h, "Content-Security-Policy", LISTEN_CSP);
			evhttp_add_header(h, "X-Frame-Options", "DENY");
		}
	}
	if (body != NULL) {
		/* HEAD: the length GET would send, no body (evhttp would send the buffer). */
		snprintf(len, sizeof len, "%zu", strlen(body));
		evhttp_add_header(h, "Content-Length", len);
		if (cmd != EVHTTP_REQ_HEAD)
			evbuffer_add(buf, body, strlen(body));
	}
	evhttp_send_reply(req, status, NULL, NULL);
	log_debug("http %s %s %d",
	          cmd == EVHTTP_REQ_GET    ? "GET"
	          : cmd == EVHTTP_REQ_HEAD ? "HEAD"
	          : cmd == EVHTTP_REQ_POST ? "POST"
	                                   : "other",
	          path, status);
}

/* A plain-text reply. */
static void
listen_text(struct evhttp_request *req, const char *path, int status, const char *text)
{
	listen_send(req, path, status, "text/plain; charset=utf-8", text);
}

/* /healthz: 200 "ok", or 503 with the reason. */
static void
listen_healthz(struct listener *l, struct evhttp_request *req)
{
	char *reason = NULL, *text;

	if (metrics_health(l->dm, &reason) == 0) {
		listen_text(req, "/healthz", 200, "ok\n");
	} else {
		text = xasprintf("%s\n", reason != NULL ? reason : "unhealthy");
		listen_text(req, "/healthz", 503, text);
		free(text);
	}
	free(reason);
}

/* /metrics: the Prometheus text format. */
static void
listen_metrics(struct listener *l, struct evhttp_request *req)
{
	char *text = metrics_render(l->dm);

	listen_send(req, "/metrics", 200, "text/plain; version=0.0.4; charset=utf-8", text);
	free(text);
}

/* Was ?recorded=1 asked for (the page after an answer was recorded)? */
static bool
listen_recorded(const struct evhttp_uri *uri)
{
	const char *query = evhttp_uri_get_query(uri);
	struct evkeyvalq q;
	const char *v;
	bool yes;

	if (query == NULL || evhttp_parse_query_str(query, &q) != 0)
		return false;
	yes = (v = evhttp_find_header(&q, "recorded")) != NULL && strcmp(v, "1") == 0;
	evhttp_clear_headers(&q);
	return yes;
}

/* /r/<token>: the answer page (GET) or an answer (POST). */
static void
listen_respond(struct listener *l, struct evhttp_request *req, const char *token,
               const struct evhttp_uri *uri)
{
	const struct config *cfg = engine_config(l->dm->engine);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	struct respond_reply r;

	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && l->dm->standby) {
		/*
		 * Another node leads and records answers: say so, and let a reverse
		 * proxy (proxy_next_upstream http_503) or the person try it there.
		 */
		memset(&r, 0, sizeof r);
		r.status = 503;
		r.body =
		    respond_refusal("This answer was not recorded yet",
		                    "This escalator server is standing by while the other one "
		                    "records answers. Go back, and send your answer again in a "
		                    "minute.");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "30");
	} else if (evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
		size_t len = evbuffer_get_length(body);
		/* evhttp has refused a longer body (413); this makes it one piece. */
		const char *bytes = len > 0 ? (const char *)evbuffer_pullup(body, -1) : "";

		respond_post(cfg, l->dm->ss, token, evhttp_find_header(in, "Origin"),
		             evhttp_find_header(in, "Content-Type"), bytes, len, clock_now(), &r);
	} else {
		respond_get(cfg, l->dm->ss, token, listen_recorded(uri), clock_now(), &r);
	}
	if (r.location != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Location", r.location);
	/* The token is a capability: it never reaches the log. */
	listen_send(req, "/r/…", r.status, r.body != NULL ? "text/html; charset=utf-8" : NULL,
	            r.body);
	respond_reply_free(&r);
}

/* Every request: count its connection, route it. */
static void
listen_request_cb(struct evhttp_request *req, void *arg)
{
	struct listener *l = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
	char *shown;

	if (!listen_conn_admit(l, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "5");
		listen_text(
		    req, "(over the connection limit)", 503,
		    "escalator is busy: too many open connections. Try again in a minute.\n");
		return;
	}
	if (path == NULL)
		path = "";
	if (strncmp(path, "/r/", 3) == 0 && (get || cmd == EVHTTP_REQ_POST)) {
		listen_respond(l, req, path + 3, uri);
	} else if (strcmp(path, "/healthz") == 0 && get) {
		listen_healthz(l, req);
	} else if (strcmp(path, "/metrics") == 0 && get) {
		listen_metrics(l, req);
	} else {
		/* Only the path, cut short and quoted: it is whatever the client sent. */
		char cut[101];

		snprintf(cut, sizeof cut, "%s", path);
		shown = log_quote(cut);
		listen_text(req, shown, 404, "Not found.\n");
		free(shown);
	}
}

/*
 * The listener of this process, for listen_accept_error_cb: evhttp gives the
 * connection listener its own argument (the evhttp), and there is one
 * listener at a time.
 */
static struct listener *listen_current;

/* accept() failed: out of descriptors pauses accepting for a second; the rest is logged. */
static void
listen_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener *l = listen_current;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {1, 0};

	if (l == NULL)
		return;
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_warn("listener: accept: %s", strerror(err));
		return;
	}
	/* The listening socket stays readable: without a pause the loop would spin. */
	evconnlistener_disable(lev);
	evtimer_add(l->resume_ev, &tv);
	if (clock_now() - l->last_full >= 60) {
		log_warn("listener: cannot accept connections (%s): pausing for a second",
		         strerror(err));
		l->last_full = clock_now();
	}
}

/* A second after running out of descriptors: accept again. */
static void
listen_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	struct listener *l = arg;

	evconnlistener_enable(evhttp_bound_socket_get_listener(l->bound));
}

/* A listening socket on host:port (non-blocking, close-on-exec), or -1 with *cause set. */
static int
listen_socket(const char *host, int port, char **cause)
{
	struct addrinfo hints, *res = NULL, *ai;
	char service[16];
	int fd = -1, err = 0, rc, one = 1;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(service, sizeof service, "%d", port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
		*cause = xasprintf("cannot listen on %s port %d: %s", host, port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		/* A restart binds again at once, though the last run's connections linger. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0 && (err == EPERM || err == EACCES))
		/* Under the shipped unit, SocketBindDeny= refuses any port but its own. */
		*cause =
		    xasprintf("cannot listen on %s port %d: %s (the systemd unit allows only the "
		              "port in its SocketBindAllow=: change it with systemctl edit "
		              "escalatord; ports below 1024 need privileges escalatord does not "
		              "have)",
		              host, port, strerror(err));
	else if (fd < 0)
		*cause = xasprintf("cannot listen on %s port %d: %s", host, port, strerror(err));
	return fd;
}

struct listener *
listener_start(struct daemon *dm, char **cause)
{
	const struct config *cfg = engine_config(dm->engine);
	struct listener *l;
	int fd;

	if (cfg->listen_host == NULL) {
		*cause = xstrdup("listen is not set");
		return NULL;
	}
	if ((fd = listen_socket(cfg->listen_host, cfg->listen_port, cause)) < 0)
		return NULL;
	event_set_log_callback(listen_event_log_cb);
	l = xcalloc(1, sizeof *l);
	l->dm = dm;
	l->host = xstrdup(cfg->listen_host);
	l->port = cfg->listen_port;
	l->name = xasprintf(strchr(l->host, ':') != NULL ? "[%s]:%d" : "%s:%d", l->host, l->port);
	if ((l->http = evhttp_new(dm->base)) == NULL)
		fatalx("cannot create the HTTP listener");
	evhttp_set_max_headers_size(l->http, LISTEN_MAX_HEADERS);
	evhttp_set_max_body_size(l->http, LISTEN_MAX_BODY);
	evhttp_set_timeout(l->http, LISTEN_TIMEOUT);
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	/* A body over the limit is read and dropped, so the browser sees the 413 (not a reset). */
	evhttp_set_flags(l->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_default_content_type(l->http, "text/plain; charset=utf-8");
	evhttp_set_gencb(l->http, listen_request_cb, l);
	/* (It fails only when out of memory; the socket is then closed or lost with it.) */
	if ((l->bound = evhttp_accept_socket_with_handle(l->http, fd)) == NULL)
		fatalx("cannot accept HTTP connections on %s port %d", l->host, l->port);
	l->resume_ev = evtimer_new(dm->base, listen_resume_cb, l);
	listen_current = l;
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(l->bound),
	                            listen_accept_error_cb);
	return l;
}

bool
listener_at(const struct listener *l, const char *host, int port)
{
	return l != NULL && host != NULL && strcmp(l->host, host) == 0 && l->port == port;
}

const char *
listener_name(const struct listener *l)
{
	return l->name;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (listen_current == l)
		listen_current = NULL;
	/* Closes every connection (their close callbacks still find l) and the socket. */
	if (l->http != NULL)
		evhttp_free(l->http);
	if (l->resume_ev != NULL)
		event_free(l->resume_ev);
	free(l->host);
	free(l->name);
	free(l);
}
