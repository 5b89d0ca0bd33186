/*
 * email.c - one alert or digest sent over SMTP (one recipient per delivery):
 * the transfer's options, the server's replies, and what became of it. The
 * message itself is built by email_mime.c.
 */
#include "email.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "email_impl.h"
#include "xalloc.h"

/* Longest detail given back in a delivery_result. */
#define EMAIL_DETAIL_MAX 300

/* Classify a finished SMTP transfer. */
char *
email_classify(CURLcode rc, long code, const char *command, const char *reply, const char *errbuf,
               struct delivery_result *r)
{
	char *detail, *text;

	command = command != NULL ? command : "";
	reply = reply != NULL ? reply : "";
	memset(r, 0, sizeof *r);
	r->code = code;
	r->status = DELIVERY_RETRY;
	if (rc == CURLE_OK) {
		r->status = DELIVERY_SENT;
		detail = *reply != '\0' ? xstrdup(reply) : xasprintf("SMTP %ld", code);
	} else if (rc == CURLE_LOGIN_DENIED) {
		/* Never the reply: a server could echo what it was sent. */
		if (code != 0)
			detail = xasprintf("authentication failed (SMTP %ld): check username and "
			                   "password_file",
			                   code);
		else
			detail = xstrdup("authentication failed: check username and password_file");
	} else if (rc == CURLE_USE_SSL_FAILED) {
		if (strcmp(command, "STARTTLS") == 0 && *reply != '\0')
			detail = xasprintf("the server refused STARTTLS (starttls = required): %s",
			                   reply);
		else
			detail =
			    xstrdup("the server does not offer STARTTLS (starttls = required)");
	} else if (code >= 400 && code <= 599) {
		/* A permanent refusal of this recipient or this message: retrying cannot help. */
		if (code >= 500 && (strcmp(command, "RCPT") == 0 || strcmp(command, "DATA") == 0))
			r->status = DELIVERY_FAILED;
		text = *reply != '\0' ? xstrdup(reply) : xasprintf("SMTP %ld", code);
		detail = *command != '\0' ? xasprintf("%s: %s", command, text) : xstrdup(text);
		free(text);
	} else if (errbuf != NULL && *errbuf != '\0') {
		detail = xstrdup(errbuf);
	} else {
		detail = xstrdup(curl_easy_strerror(rc));
	}
	text = transport_clean_text(detail, EMAIL_DETAIL_MAX, 0);
	free(detail);
	r->detail = text;
	return text;
}

/* Record one line of the server's reply (pingpong protocols pass replies as headers). */
static void
email_reply_line(struct email_state *st, const char *line, size_t len)
{
	size_t have;
	int more;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len == 0)
		return;
	/* "250-..." continues a reply, "250 ok" ends it: decided before the code is dropped. */
	more = len >= 4 && line[3] == '-';
	if (st->reply_done) {
		st->reply[0] = '\0';
		st->reply_done = 0;
	}
	have = strlen(st->reply);
	if (have > 0) {
		/* Continuation: "550-first" then "550 last": keep the text, drop the code. */
		if (len > 4 && isdigit((unsigned char)line[0]))
			line += 4, len -= 4;
		if (have + 1 < sizeof st->reply)
			st->reply[have++] = ' ';
	}
	if (len > sizeof st->reply - 1 - have)
		len = sizeof st->reply - 1 - have;
	memcpy(st->reply + have, line, len);
	st->reply[have + len] = '\0';
	if (!more)
		st->reply_done = 1;
}

/* CURLOPT_HEADERFUNCTION: the server's reply lines. */
size_t
email_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct email_state *st = arg;
	size_t len = size * n, start = 0;

	if (st->quit)
		return len;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			email_reply_line(st, data + start, i + 1 - start);
			start = i + 1;
		}
	}
	if (start < len)
		email_reply_line(st, data + start, len - start);
	return len;
}

/* The SMTP verb line starts with, from a fixed list; NULL for anything else. */
const char *
email_command(const char *line, size_t len)
{
	static const char *verbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT",
	                              "DATA", "RSET", "VRFY",     "EXPN", "NOOP", "QUIT"};

	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		size_t n = strlen(verbs[i]);

		if (len >= n && strncasecmp(line, verbs[i], n) == 0 &&
		    (len == n || line[n] == ' ' || line[n] == '\r' || line[n] == '\n'))
			return verbs[i];
	}
	return NULL;
}

/*
 * CURLOPT_DEBUGFUNCTION: remember which command the next reply answers. Only
 * known verbs are kept, so AUTH LOGIN's base64 credential lines never are.
 */
int
email_debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *arg)
{
	struct email_state *st = arg;
	const char *verb;

	if (type != CURLINFO_HEADER_OUT || st->quit)
		return 0;
	if ((verb = email_command(data, size)) == NULL)
		return 0;
	if (strcmp(verb, "QUIT") == 0) {
		/* The QUIT exchange says nothing about the delivery. */
		st->quit = 1;
		return 0;
	}
	snprintf(st->command, sizeof st->command, "%s", verb);
	return 0;
}

/* Set up t to send d through s->smtp. */
struct email_state *
email_setup(struct transfer *t, const struct notifier_settings *s, const struct delivery *d,
            time_t now, char **cause)
{
	const struct smtp_settings *smtp = s->smtp;
	CURL *easy = transfer_easy(t);
	struct email_state *st;
	struct curl_slist *rcpt, *headers;
	curl_mime *mime;
	const char *optname = "";
	char *v;
	long use_ssl;
	CURLcode rc;

	st = xcalloc(1, sizeof *st);
	transfer_keep(t, st, free);

	TRANSFER_SETOPT(CURLOPT_URL, smtp->url);
	TRANSFER_SETOPT(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	v = xasprintf("<%s>", smtp->from);
	rc = curl_easy_setopt(easy, CURLOPT_MAIL_FROM, v);
	free(v);
	if (rc != CURLE_OK) {
		optname = "CURLOPT_MAIL_FROM";
		goto fail;
	}
	v = xasprintf("<%s>", d->recipient);
	rcpt = curl_slist_append(NULL, v);
	free(v);
	if (rcpt == NULL)
		fatalx("out of memory building the recipient list");
	transfer_keep_slist(t, rcpt);
	TRANSFER_SETOPT(CURLOPT_MAIL_RCPT, rcpt);

	/*
	 * TLS: smtps:// always, STARTTLS unless opportunistic; a password or a
	 * bearer token never goes out in clear.
	 */
	if (strncasecmp(smtp->url, "smtps://", 8) == 0 || smtp->starttls == STARTTLS_REQUIRED ||
	    ((smtp->username != NULL || smtp->auth == SMTP_AUTH_XOAUTH2) &&
	     !smtp->allow_plaintext_auth))
		use_ssl = (long)CURLUSESSL_ALL;
	else
		use_ssl = (long)CURLUSESSL_TRY;
	TRANSFER_SETOPT(CURLOPT_USE_SSL, use_ssl);
	TRANSFER_SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	TRANSFER_SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	TRANSFER_SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (s->ca_file != NULL)
		TRANSFER_SETOPT(CURLOPT_CAINFO, s->ca_file);
	/*
	 * Never CURLOPT_HTTPAUTH on SMTP: it changes which SASL mechanisms curl
	 * offers (with CURLAUTH_BEARER, curl 7.88 picks OAUTHBEARER, which
	 * Exchange Online does not take: curl issue 10259). XOAUTH2 is chosen
	 * with the login options instead; the bearer token is set by
	 * email_set_bearer once it is known.
	 */
	if (smtp->auth == SMTP_AUTH_XOAUTH2) {
		st->xoauth2 = 1;
		TRANSFER_SETOPT(CURLOPT_USERNAME,
		                smtp->username != NULL ? smtp->username : smtp->from);
		TRANSFER_SETOPT(CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
	} else if (smtp->username != NULL) {
		TRANSFER_SETOPT(CURLOPT_USERNAME, smtp->username);
		TRANSFER_SETOPT(CURLOPT_PASSWORD, smtp->password != NULL ? smtp->password : "");
	}
	/* The proxy configured, or none: "" keeps curl off the *_proxy environment variables. */
	TRANSFER_SETOPT(CURLOPT_PROXY, s->proxy != NULL ? s->proxy : "");
	/* SMTP through an HTTP proxy only as a CONNECT tunnel (TLS still ends at the server). */
	if (s->proxy != NULL)
		TRANSFER_SETOPT(CURLOPT_HTTPPROXYTUNNEL, 1L);
	TRANSFER_SETOPT(CURLOPT_CONNECTTIMEOUT, (long)s->connect_timeout);
	TRANSFER_SETOPT(CURLOPT_TIMEOUT, (long)s->delivery_timeout);
	/*
	 * curl waits for the reply after the message, and for QUIT when a cached
	 * connection is closed, in a blocking poll (curl issues 4015, 8555): this
	 * bounds the QUIT wait (default 120 s) like the rest of the delivery.
	 */
	TRANSFER_SETOPT(CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)s->delivery_timeout);

	headers = email_build_headers(smtp, d, now);
	transfer_keep_slist(t, headers);
	TRANSFER_SETOPT(CURLOPT_HTTPHEADER, headers);

	if ((mime = curl_mime_init(easy)) == NULL)
		fatalx("curl_mime_init failed");
	transfer_keep_mime(t, mime);
	if ((rc = email_build_mime(mime, d)) != CURLE_OK) {
		optname = "the message body";
		goto fail;
	}
	TRANSFER_SETOPT(CURLOPT_MIMEPOST, mime);

	TRANSFER_SETOPT(CURLOPT_HEADERFUNCTION, email_header_cb);
	TRANSFER_SETOPT(CURLOPT_HEADERDATA, st);
	/* The debug function tells which command a reply answers; nothing is printed. */
	TRANSFER_SETOPT(CURLOPT_DEBUGFUNCTION, email_debug_cb);
	TRANSFER_SETOPT(CURLOPT_DEBUGDATA, st);
	TRANSFER_SETOPT(CURLOPT_VERBOSE, 1L);
	return st;

fail:
	*cause = xasprintf("cannot set up the email: %s: %s", optname, curl_easy_strerror(rc));
	return NULL;
}

/* Give the transfer the OAuth access token to log in with (curl keeps a copy). */
int
email_set_bearer(struct transfer *t, const char *token)
{
	return curl_easy_setopt(transfer_easy(t), CURLOPT_XOAUTH2_BEARER, token) == CURLE_OK ? 0
	                                                                                     : -1;
}

/* Did st log in with a token the server refused? */
int
email_token_refused(const struct email_state *st, CURLcode rc)
{
	return st->xoauth2 && rc == CURLE_LOGIN_DENIED;
}

/* Classify the finished transfer t. */
char *
email_finish(struct transfer *t, struct email_state *st, CURLcode rc, struct delivery_result *r)
{
	long code = 0;
	char *detail;

	curl_easy_getinfo(transfer_easy(t), CURLINFO_RESPONSE_CODE, &code);
	if (email_token_refused(st, rc)) {
		/* Never the reply: a server could echo what it was sent. */
		memset(r, 0, sizeof *r);
		r->status = DELIVERY_RETRY;
		r->code = code;
		char smtp_code[32] = "";

		if (code != 0)
			snprintf(smtp_code, sizeof smtp_code, " (SMTP %ld)", code);
		detail = xasprintf(
		    "authentication failed%s: the mailbox refused the OAuth token; check that SMTP "
		    "AUTH is on for the mailbox and the app has SMTP.SendAsApp and an Exchange "
		    "service principal with access to it",
		    smtp_code);
		r->detail = detail;
		return detail;
	}
	return email_classify(rc, code, st->command, st->reply, transfer_error(t), r);
}
