/* log.c - journald-friendly logging to stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static bool log_journal;
static int log_level = LOG_INFO;

/* Decide the output format from the environment. */
void
log_init(void)
{
	const char *js = getenv("JOURNAL_STREAM");

	log_journal = js != NULL && *js != '\0';
}

/* Set the most verbose priority that is logged. */
void
log_set_level(int pri)
{
	log_level = pri;
}

/*
 * Append s to o escaped: C0 and C1 control characters, DEL, bytes that are
 * not valid UTF-8, line and paragraph separators and bidirectional controls
 * become \xNN, so a line stays one valid UTF-8 line that journald stores as
 * text and that reads in the order it was written. With quote, '"' and '\'
 * are escaped too.
 */
static char *
log_escape_into(char *o, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t len = utf8_seq_len(p);

		if (len == 0 || *p < 0x20 || *p == 0x7f ||
		    (len == 2 && p[0] == 0xc2 && p[1] < 0xa0) ||
		    utf8_hidden(p, len) != UTF8_PLAIN) {
			/* An invalid byte, a control or a hidden layout character: escape every
			 * byte. */
			size_t n = len == 0 ? 1 : len;
			for (size_t i = 0; i < n; i++)
				o += sprintf(o, "\\x%02x", p[i]);
			p += n;
			continue;
		}
		if (quote && (*p == '"' || *p == '\\'))
			*o++ = '\\';
		memcpy(o, p, len);
		o += len;
		p += len;
	}
	*o = '\0';
	return o;
}

/* Escape control characters and invalid UTF-8 as \xNN. */
char *
log_escape(const char *s)
{
	char *out = xmalloc(strlen(s) * 4 + 1);

	log_escape_into(out, s, false);
	return out;
}

/* Quote a value for a key=value field when it is not plain. */
char *
log_quote(const char *s)
{
	size_t n = strlen(s);
	bool plain = n > 0;
	char *out, *o;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && plain; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == '=' || *p >= 0x7f)
			plain = false;
	if (plain)
		return xstrdup(s);
	out = o = xmalloc(n * 4 + 3);
	*o++ = '"';
	o = log_escape_into(o, s, true);
	*o++ = '"';
	*o = '\0';
	return out;
}

/* Name of a priority for plain output. */
static const char *
log_level_name(int pri)
{
	switch (pri) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error: ";
	case LOG_WARNING:
		return "warning: ";
	case LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

/* Log one line. */
void
log_msg(int pri, const char *fmt, ...)
{
	va_list ap;
	char *raw, *esc;

	if (pri > log_level)
		return;
	va_start(ap, fmt);
	raw = xvasprintf(fmt, ap);
	va_end(ap);
	esc = log_escape(raw);
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", pri, esc);
	else
		fprintf(stderr, "escalatord: %s%s\n", log_level_name(pri), esc);
	fflush(stderr);
	free(esc);
	free(raw);
}

/* Log each entry of a diagnostic list. */
void
log_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_msg(d->v[i].level == DIAG_ERROR ? LOG_ERR : LOG_WARNING, "%s", d->v[i].text);
}
