/* log.c - journald-friendly logging to stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Escape control characters as \xNN. */
char *
log_escape(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n * 4 + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += sprintf(o, "\\x%02x", *p);
		else
			*o++ = (char)*p;
	}
	*o = '\0';
	return out;
}

/* Quote a value for a key=value field when it is not plain. */
char *
log_quote(const char *s)
{
	size_t n = strlen(s);
	bool plain = n > 0;
	char *out, *o;

	for (const char *p = s; *p != '\0' && plain; p++)
		if (*p == ' ' || *p == '"' || *p == '\\' || *p == '=' || (unsigned char)*p < 0x20 ||
		    *p == 0x7f)
			plain = false;
	if (plain)
		return xstrdup(s);
	out = o = xmalloc(n * 4 + 3);
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f)
			o += sprintf(o, "\\x%02x", *p);
		else
			*o++ = (char)*p;
	}
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
