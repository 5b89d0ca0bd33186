/* log.h - journald-friendly logging to stderr. */
#ifndef ESCALATOR_LOG_H
#define ESCALATOR_LOG_H

#include <syslog.h>

#include "diag.h"

/*
 * Decide the output format: "<N>message" priority prefixes when stderr is
 * the journal (JOURNAL_STREAM is set), "escalatord: level: message" otherwise.
 */
void log_init(void);
/* Log messages at or below this priority (default LOG_INFO). */
void log_set_level(int pri);
/* Log one line; control characters in it are escaped so a line stays a line. */
void log_msg(int pri, const char *fmt, ...) PRINTFLIKE(2, 3);
/* Log each entry of a diagnostic list (errors at LOG_ERR, warnings at LOG_WARNING). */
void log_diag(const struct diag *d);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * A value for a key=value log field: as is when it is plain, otherwise in
 * double quotes with '"' and '\' escaped. Allocated.
 */
char *log_quote(const char *s);
/* Escape control characters and invalid bytes as \xNN. Allocated. */
char *log_escape(const char *s);

#endif
