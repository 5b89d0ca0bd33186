/*
 * email_mime.c - the message itself: every header (values cleaned, RFC 2047
 * encoded and folded) and the multipart/alternative body, a text/plain and a
 * text/html part made by digest_text and digest_html.
 */
#include "email.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"
#include "utf8.h"
#include "xalloc.h"

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
	if (smtp->reply_to != NULL) {
		v = transport_clean_text(smtp->reply_to, 254, 1);
		if (*v != '\0')
			l = transport_add_header(l, xasprintf("Reply-To: %s", v));
		free(v);
	}
	v = transport_clean_text(d->recipient, 254, 1);
	l = transport_add_header(l, xasprintf("To: %s", v));
	free(v);
	if (d->digest) {
		v = digest_subject(d);
		l = add_clean(l, "Subject", v, 0);
		free(v);
	} else {
		l = add_clean(l, "Subject", subject != NULL ? subject : "escalator alert", 0);
	}
	v = email_date(now);
	l = transport_add_header(l, xasprintf("Date: %s", v));
	free(v);
	v = email_message_id(d->uid, smtp->from);
	l = transport_add_header(l, xasprintf("Message-ID: %s", v));
	free(v);
	l = transport_add_header(l, xstrdup("MIME-Version: 1.0"));
	/* curl's MIME layer adds "; boundary=..." and writes the two parts (email_build_mime). */
	l = transport_add_header(l, xstrdup("Content-Type: multipart/alternative"));
	/* RFC 3834: tells auto-responders not to answer. */
	l = transport_add_header(l, xstrdup("Auto-Submitted: auto-generated"));
	if (d->digest) {
		/* Many cases, rules and stages: how many items, not which. */
		l = transport_add_header(l, xasprintf("X-Escalator-Digest: %zu", d->nitems));
	} else {
		l = add_clean(l, "X-Escalator-Rule", d->rule, 0);
		l = add_clean(l, "X-Escalator-Case", d->case_ref, 1);
		l = add_clean(l, "X-Escalator-Stage", d->stage, 0);
	}
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

/* Add one text part of type to mime: body with CRLF line ends, quoted-printable. */
static CURLcode
email_add_part(curl_mime *mime, const char *text, const char *type)
{
	curl_mimepart *part = curl_mime_addpart(mime);
	char *body;
	CURLcode rc;

	if (part == NULL)
		fatalx("curl_mime_addpart failed");
	body = email_build_body(text);
	rc = curl_mime_data(part, body, CURL_ZERO_TERMINATED);
	free(body);
	if (rc == CURLE_OK)
		rc = curl_mime_type(part, type);
	/* Quoted-printable: 7-bit lines of at most 76 characters, whatever the values hold. */
	if (rc == CURLE_OK)
		rc = curl_mime_encoder(part, "quoted-printable");
	return rc;
}

/* Fill mime with the message's two alternatives, plain text first. */
CURLcode
email_build_mime(curl_mime *mime, const struct delivery *d)
{
	char *text = digest_text(d), *html = digest_html(d);
	CURLcode rc;

	rc = email_add_part(mime, text, "text/plain; charset=UTF-8");
	if (rc == CURLE_OK)
		rc = email_add_part(mime, html, "text/html; charset=UTF-8");
	free(text);
	free(html);
	return rc;
}
