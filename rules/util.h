/* util.h - allocation helpers and the diagnostic list shared by every module. */
#ifndef ESCALATOR_UTIL_H
#define ESCALATOR_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTFLIKE(a, b)
#define NORETURN
#endif

/* Allocation wrappers: they never return NULL; out of memory is fatal. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTFLIKE(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PRINTFLIKE(1, 0);

/* Print a message to stderr and exit(2). For impossible states and OOM only. */
void fatalx(const char *fmt, ...) PRINTFLIKE(1, 2) NORETURN;

enum diag_level { DIAG_WARNING, DIAG_ERROR };

/* One message: "file:line: text" already formatted. */
struct diag_entry {
	enum diag_level level;
	char *text;
};

/*
 * A growing list of warnings and errors. Parsers keep going after an error and
 * append every problem they find, so a user sees all of them at once.
 */
struct diag {
	struct diag_entry *v;
	size_t n, cap;
	size_t errors, warnings;
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);
void diag_add(struct diag *d, enum diag_level level, const char *fmt, ...) PRINTFLIKE(3, 4);
void diag_addv(struct diag *d, enum diag_level level, const char *fmt, va_list ap) PRINTFLIKE(3, 0);
/* Append every entry of src to dst. */
void diag_merge(struct diag *dst, const struct diag *src);

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not valid UTF-8. */
size_t utf8_seq_len(const unsigned char *p);
/* A copy of s with every byte that is not part of valid UTF-8 replaced by U+FFFD. */
char *utf8_sanitize(const char *s);

#endif
