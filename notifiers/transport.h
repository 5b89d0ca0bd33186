/* transport.h - one libcurl multi handle driven by a libevent event_base (curl's hiperfifo). */
#ifndef ESCALATOR_TRANSPORT_H
#define ESCALATOR_TRANSPORT_H

#include <curl/curl.h>
#include <event2/event.h>
#include <stddef.h>

struct transport;
struct transfer;

/*
 * Called from the event loop when a started transfer has finished, with curl's
 * result. The transfer (and everything it keeps) is freed when this returns.
 */
typedef void (*transfer_done_fn)(struct transfer *t, CURLcode rc, void *arg);

/* A transport on base: one multi handle, one timer, one event per socket. */
struct transport *transport_new(struct event_base *base);
/*
 * Abort every transfer in flight (their done functions are not called) and
 * free everything. May be called from inside a done function.
 */
void transport_free(struct transport *tp);
/*
 * Hand t to the multi handle; it is driven by the event loop from now on and
 * its done function is called later, never from inside this call. Returns 0,
 * or -1 with *cause set, and t freed, if curl refused it.
 */
int transport_start(struct transport *tp, struct transfer *t, char **cause);
/* Transfers started and not yet finished. */
size_t transport_running(const struct transport *tp);

/* A new transfer: an easy handle with its error buffer, CURLOPT_PRIVATE and CURLOPT_NOSIGNAL set.
 */
struct transfer *transfer_new(void);
/* Free a transfer that was never started (or finished): the easy handle, then everything kept. */
void transfer_free(struct transfer *t);
/* The transfer's easy handle, to set options on before it is started. */
CURL *transfer_easy(struct transfer *t);
/* curl's error buffer text for this transfer ("" if none). */
const char *transfer_error(const struct transfer *t);
/* Set the function called when the transfer finishes. */
void transfer_set_done(struct transfer *t, transfer_done_fn fn, void *arg);
/* Keep p until the transfer is freed, then call free_fn(p) (after the easy handle is cleaned up).
 */
void transfer_keep(struct transfer *t, void *p, void (*free_fn)(void *));
/* Keep a header or recipient list until the transfer is freed. */
void transfer_keep_slist(struct transfer *t, struct curl_slist *l);
/* Keep a MIME structure until the transfer is freed. */
void transfer_keep_mime(struct transfer *t, curl_mime *m);

/*
 * Inside a setup function with CURL *easy, CURLcode rc, const char *optname
 * and a fail: label: set an option, or jump to fail with the option's name.
 */
#define TRANSFER_SETOPT(opt, val)                                                                  \
	do {                                                                                       \
		if ((rc = curl_easy_setopt(easy, opt, val)) != CURLE_OK) {                         \
			optname = #opt;                                                            \
			goto fail;                                                                 \
		}                                                                                  \
	} while (0)

/*
 * A copy of s fit for a header value or a one-line detail: invalid UTF-8
 * replaced by U+FFFD, each run of control characters (C0, DEL, C1) by one
 * space, non-ASCII characters by '?' when ascii_only, surrounding spaces
 * dropped, cut to at most max bytes on a character boundary. NULL gives "".
 */
char *transport_clean_text(const char *s, size_t max, int ascii_only);
/* Append the header line s to list, then free s. Never fails (out of memory is fatal). */
struct curl_slist *transport_add_header(struct curl_slist *list, char *s);

#endif
