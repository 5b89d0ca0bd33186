/* email.c - one alert as an RFC 5322 message over SMTP (one recipient per delivery). */
#include "email.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "email_impl.h"
#include "utf8.h"
#include "xalloc.h"

/* Longest detail given back in a delivery_result. */
#define EMAIL_DETAIL_MAX 300

/* A growing string. */
struct buf {
	char *s;
	size_t len, cap;
};

/* Append n bytes to b. */
static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 128;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* Append a string to b. */
static void
buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* The text of b, "" when nothing was added; b is given up. */
static char *
buf_take(struct buf *b)
{
	if (b->s == NULL)
		return xstrdup("");
	return b->s;
}

/* Does value need RFC 2047 encoding (non-ASCII, or text a reader would decode as an encoded-word)?
 */
static int
needs_encoding(const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++)
		if (*p >= 0x7f || *p < 0x20)
			return 1;
	return strstr(value, "=?") != NULL;
}

/* Unstructured header "Name: value", encoded and folded when needed. */
char *
email_header(const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value), col;
	const char *p = value, *end = value + vlen;
	struct buf b = {0};

	if (!needs_encoding(value) && nlen + 2 + vlen <= EMAIL_LINE_MAX)
		return xasprintf("%s: %s", name, value);
	if (nlen + 1 + 1 + 12 + 8 > EMAIL_LINE_MAX)
		fatalx("header name %s is too long to fold", name);

	buf_puts(&b, name);
	buf_puts(&b, ":");
	col = nlen + 1;
	while (p < end) {
		/* " =?UTF-8?B?" + base64 + "?=": at most 75 characters per word (RFC 2047 2). */
		size_t word_max = EMAIL_LINE_MAX - col - 1, b64_max, n;
		unsigned char out[80];
		int olen;

		if (word_max > 75)
			word_max = 75;
		b64_max = (word_max - 12) / 4 * 4;
		n = b64_max / 4 * 3;
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		/* Never split a UTF-8 character between two words. */
		while (n > 0 && p + n < end && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
		olen = EVP_EncodeBlock(out, (const unsigned char *)p, (int)n);
		buf_puts(&b, " =?UTF-8?B?");
		buf_add(&b, (const char *)out, (size_t)olen);
		buf_puts(&b, "?=");
		p += n;
		if (p < end) {
			/* Fold: the next word starts on a continuation line. */
			buf_puts(&b, "\r\n");
			col = 0;
		}
	}
	return buf_take(&b);
}

/* RFC 5322 date-time in local time, independent of the locale. */
char *
email_date(time_t t)
{
	static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	long off;
	char sign = '+';

	if (localtime_r(&t, &tm) == NULL)
		gmtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	if (off < 0) {
		sign = '-';
		off = -off;
	}
	return xasprintf("%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
	                 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	                 tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
}

/* Is c allowed in an RFC 5322 atext? */
static int
is_atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$&'*+-/=?^_`{|}~", c) != NULL);
}

/* Is d a plausible domain name (letters, digits, '-', '.' between labels)? */
static int
valid_domain(const char *d)
{
	size_t len = strlen(d);

	if (len == 0 || len > 253 || d[0] == '.' || d[len - 1] == '.' || strstr(d, "..") != NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *)d; *p != '\0'; p++)
		if (!isalnum(*p) && *p != '-' && *p != '.')
			return 0;
	return 1;
}

/* "<uid@domain>" with the uid %-encoded into atext (so distinct uids stay distinct). */
char *
email_message_id(const char *uid, const char *from)
{
	const char *at = from != NULL ? strrchr(from, '@') : NULL;
	const char *domain = at != NULL && valid_domain(at + 1) ? at + 1 : "escalator.invalid";
	struct buf b = {0};
	char *id;

	buf_puts(&b, "<");
	for (const unsigned char *p = (const unsigned char *)(uid ? uid : ""); *p != '\0'; p++) {
		char hex[4];

		if (b.len > EMAIL_HEADER_MAX)
			break;
		if (is_atext(*p)) {
			buf_add(&b, (const char *)p, 1);
		} else {
			snprintf(hex, sizeof hex, "%%%02X", *p);
			buf_add(&b, hex, 3);
		}
	}
	if (b.len == 1)
		buf_puts(&b, "escalator");
	buf_puts(&b, "@");
	buf_puts(&b, domain);
	buf_puts(&b, ">");
	id = buf_take(&b);
	return id;
}

/* Append "Name: value" with value cleaned, encoded and folded; nothing if value is NULL. */
static struct curl_slist *
add_clean(struct curl_slist *list, const char *name, const char *value, int ascii_only)
{
	char *v;

	if (value == NULL)
		return list;
	v = transport_clean_text(value, EMAIL_HEADER_MAX, ascii_only);
	list = transport_add_header(list, email_header(name, v));
	free(v);
	return list;
}

/* "From: "name" <address>", the name quoted, or encoded when it is not plain ASCII. */
static char *
from_header(const char *from_name, const char *from)
{
	char *name = transport_clean_text(from_name ? from_name : "escalator", 64, 0);
	char *addr = transport_clean_text(from, 254, 1), *h;
	struct buf b = {0};
	const char *last;

	if (!needs_encoding(name)) {
		buf_puts(&b, "From: \"");
		for (const char *p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_puts(&b, "\\");
			buf_add(&b, p, 1);
		}
		buf_puts(&b, "\" <");
		buf_puts(&b, addr);
		buf_puts(&b, ">");
		h = buf_take(&b);
	} else {
		h = email_header("From", name);
		last = strrchr(h, '\n');
		last = last != NULL ? last + 1 : h;
		buf_puts(&b, h);
		/* The address goes on its own line if it would make this one too long. */
		if (strlen(last) + 3 + strlen(addr) > EMAIL_LINE_MAX)
			buf_puts(&b, "\r\n");
		buf_puts(&b, " <");
		buf_puts(&b, addr);
		buf_puts(&b, ">");
		free(h);
		h = buf_take(&b);
	}
	free(name);
	free(addr);
	return h;
}

/* Every header of the message for d. */
struct curl_slist *
email_build_headers(const struct smtp_settings *smtp, const struct delivery *d, time_t now)
{
	struct curl_slist *l = NULL;
	const char *subject = d->subject != NULL ? d->subject : d->title;
	char *v;

	l = transport_add_header(l, from_header(smtp->from_name, smtp->from));
	v = transport_clean_text(d->recipient, 254, 1);
	l = transport_add_header(l, xasprintf("To: %s", v));
	free(v);
	l = add_clean(l, "Subject", subject != NULL ? subject : "escalator alert", 0);
	v = email_date(now);
	l = transport_add_header(l, xasprintf("Date: %s", v));
	free(v);
	v = email_message_id(d->uid, smtp->from);
	l = transport_add_header(l, xasprintf("Message-ID: %s", v));
	free(v);
	/* RFC 3834: tells auto-responders not to answer. */
	l = transport_add_header(l, xstrdup("Auto-Submitted: auto-generated"));
	l = add_clean(l, "X-Escalator-Rule", d->rule, 0);
	l = add_clean(l, "X-Escalator-Case", d->case_ref, 1);
	l = add_clean(l, "X-Escalator-Stage", d->stage, 0);
	l = add_clean(l, "X-Escalator-Delivery", d->uid, 1);
	return l;
}

/* The body, valid UTF-8 with CRLF line endings. */
char *
email_build_body(const char *body)
{
	char *valid = utf8_sanitize(body != NULL ? body : "");
	struct buf b = {0};

	for (const char *p = valid; *p != '\0'; p++) {
		if (*p == '\r') {
			if (p[1] == '\n')
				p++;
			buf_puts(&b, "\r\n");
		} else if (*p == '\n') {
			buf_puts(&b, "\r\n");
		} else {
			buf_add(&b, p, 1);
		}
	}
	if (b.len < 2 || strcmp(b.s + b.len - 2, "\r\n") != 0)
		buf_puts(&b, "\r\n");
	free(valid);
	return buf_take(&b);
}

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
	curl_mimepart *part;
	const char *optname = "";
	char *v, *body;
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
	if ((part = curl_mime_addpart(mime)) == NULL)
		fatalx("curl_mime_addpart failed");
	body = email_build_body(d->body);
	rc = curl_mime_data(part, body, CURL_ZERO_TERMINATED);
	free(body);
	if (rc != CURLE_OK ||
	    (rc = curl_mime_type(part, "text/plain; charset=UTF-8")) != CURLE_OK ||
	    (rc = curl_mime_encoder(part, "quoted-printable")) != CURLE_OK) {
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
