/*
 * email.h - one alert or digest as an RFC 5322 message over SMTP (one
 * recipient per delivery): multipart/alternative, a text/plain and a
 * text/html part (digest_text, digest_html).
 */
#ifndef ESCALATOR_EMAIL_H
#define ESCALATOR_EMAIL_H

#include <curl/curl.h>
#include <stddef.h>
#include <time.h>

#include "notifier.h"
#include "transport.h"

/* Longest header value taken from a delivery, in bytes (cut on a UTF-8 boundary). */
#define EMAIL_HEADER_MAX 200
/* Longest line of a header we build (RFC 5322 2.1.1 "SHOULD"). */
#define EMAIL_LINE_MAX 78

/* Per-delivery SMTP state: the last command sent and the server's last reply. */
struct email_state;

/*
 * "Name: value" for an unstructured header. value must already be clean (see
 * transport_clean_text). Printable ASCII that fits on one line is used as is;
 * anything else becomes RFC 2047 encoded-words (=?UTF-8?B?...?=), each holding
 * whole characters, folded so that no line is longer than EMAIL_LINE_MAX.
 */
char *email_header(const char *name, const char *value);
/* The RFC 5322 date-time for t in local time ("Tue, 01 Dec 2026 08:00:00 +0000"). */
char *email_date(time_t t);
/* "<uid@domain>": uid with bytes outside atext %-encoded, the domain taken from from. */
char *email_message_id(const char *uid, const char *from);
/*
 * Every header of the message for d, each value sanitised: one list entry per
 * header, folded lines joined by CRLF + space. From, Reply-To (when smtp sets
 * reply_to), To, Subject (a digest's: digest_subject), Date, Message-ID,
 * MIME-Version, Content-Type (multipart/alternative: curl adds the boundary),
 * Auto-Submitted, then for a single alert X-Escalator-Rule, -Case and -Stage,
 * for a digest X-Escalator-Digest (its number of items), and
 * X-Escalator-Delivery.
 */
struct curl_slist *email_build_headers(const struct smtp_settings *smtp, const struct delivery *d,
                                       time_t now);
/* The body as valid UTF-8 with CRLF line endings and a final CRLF. */
char *email_build_body(const char *body);
/*
 * Add the message's two alternatives to mime (made with curl_mime_init on the
 * transfer's handle): digest_text(d) as text/plain and digest_html(d) as
 * text/html, both UTF-8, CRLF line ends, quoted-printable. CURLE_OK or curl's
 * error.
 */
CURLcode email_build_mime(curl_mime *mime, const struct delivery *d);
/*
 * The SMTP verb a command line sent by curl starts with ("MAIL", "RCPT",
 * "DATA"...), or NULL if it is not one of the known verbs (AUTH LOGIN's
 * base64 credential lines are not, so they are never remembered).
 */
const char *email_command(const char *line, size_t len);
/*
 * Classify a finished SMTP transfer: rc from curl, code the last SMTP reply
 * code (CURLINFO_RESPONSE_CODE), command the last SMTP command sent ("RCPT",
 * "DATA"...), reply the server's last reply text, errbuf curl's error buffer.
 * Fills r; returns the allocated one-line detail r->detail points to.
 */
char *email_classify(CURLcode rc, long code, const char *command, const char *reply,
                     const char *errbuf, struct delivery_result *r);

/*
 * Set up t to send d through s->smtp (which must not be NULL). Everything the
 * transfer needs is kept by t. Returns the state email_finish needs, or NULL
 * with *cause set.
 */
struct email_state *email_setup(struct transfer *t, const struct notifier_settings *s,
                                const struct delivery *d, time_t now, char **cause);
/* Set the OAuth access token of an xoauth2 email (before it is started). Returns 0 or -1. */
int email_set_bearer(struct transfer *t, const char *token);
/* Did st log in with an OAuth token that the server refused (rc from curl)? */
int email_token_refused(const struct email_state *st, CURLcode rc);
/* Classify the finished transfer t; returns the allocated detail r->detail points to. */
char *email_finish(struct transfer *t, struct email_state *st, CURLcode rc,
                   struct delivery_result *r);

#endif
